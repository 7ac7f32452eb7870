//! Connected components.

use super::Connectivity;
use crate::image::{Labels, Mask, Plane};

/// Labels the connected components of `mask` as `1..=n` in raster order: components are numbered
/// by the position of their first pixel in row-major scan, as scikit-image's `label` does.
///
/// Returns the labels and `n`. Union–find over the runs of cell pixels of each row, O(H·W).
///
/// ```
/// use deltacell_data::{Mask, morphology::{label, Connectivity}};
/// let m = Mask::from_vec(3, 3, vec![1, 0, 1,
///                                   0, 1, 0,
///                                   0, 0, 0]).unwrap();
/// let (l4, n4) = label(&m, Connectivity::Four);
/// assert_eq!(n4, 3);
/// assert_eq!(l4.as_slice(), &[1, 0, 2, 0, 3, 0, 0, 0, 0]);
/// let (_, n8) = label(&m, Connectivity::Eight);
/// assert_eq!(n8, 1);
/// ```
pub fn label(mask: &Mask, connectivity: Connectivity) -> (Labels, u32) {
    let (h, w) = mask.shape();
    let m = mask.as_slice();
    // Runs of cell pixels, in raster order: `(row, start, end)` with `end` exclusive. Each run
    // is a union–find node; a run is joined with the runs of the previous row it touches
    // (overlapping columns, or diagonal neighbours with 8-connectivity).
    let mut runs: Vec<(u32, u32, u32)> = Vec::new();
    let mut parent: Vec<u32> = Vec::new();
    fn find(parent: &mut [u32], mut x: u32) -> u32 {
        while parent[x as usize] != x {
            let p = parent[x as usize];
            parent[x as usize] = parent[p as usize];
            x = p;
        }
        x
    }
    fn union(parent: &mut [u32], a: u32, b: u32) {
        let ra = find(parent, a);
        let rb = find(parent, b);
        // Keep the smaller root, i.e. the component's first run in raster order.
        if ra < rb {
            parent[rb as usize] = ra;
        } else {
            parent[ra as usize] = rb;
        }
    }
    let slack = u32::from(connectivity == Connectivity::Eight);
    let mut prev = 0..0;
    for r in 0..h {
        let row = &m[r * w..(r + 1) * w];
        let first = runs.len();
        let mut j = prev.start;
        let mut c = 0;
        while c < w {
            while c < w && row[c] == 0 {
                c += 1;
            }
            if c == w {
                break;
            }
            let start = c;
            while c < w && row[c] != 0 {
                c += 1;
            }
            let (s, e) = (start as u32, c as u32);
            let id = runs.len() as u32;
            runs.push((r as u32, s, e));
            parent.push(id);
            // Previous-row runs entirely to the left can touch no later run either.
            while j < prev.end && runs[j].2 + slack <= s {
                j += 1;
            }
            let mut k = j;
            while k < prev.end && runs[k].1 < e + slack {
                union(&mut parent, k as u32, id);
                k += 1;
            }
        }
        prev = first..runs.len();
    }
    // Final numbering in order of first appearance (raster order of each component's first pixel).
    let mut out = vec![0u32; h * w];
    let mut final_of = vec![0u32; runs.len()];
    let mut n = 0u32;
    for (i, &(r, s, e)) in runs.iter().enumerate() {
        let root = find(&mut parent, i as u32) as usize;
        if final_of[root] == 0 {
            n += 1;
            final_of[root] = n;
        }
        let row = r as usize * w;
        out[row + s as usize..row + e as usize].fill(final_of[root]);
    }
    let plane = Plane::from_vec(h, w, out).unwrap_or_else(|_| Plane::filled(h, w, 0));
    (Labels::from_plane(plane), n)
}
