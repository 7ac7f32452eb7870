//! Binary morphology on [`Mask`]s: connected-component labelling.

use crate::image::{Labels, Mask, Plane};

/// Pixel connectivity for labelling.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Connectivity {
    /// Edge neighbours only (scikit-image `connectivity=1`).
    Four,
    /// Edge and corner neighbours (scikit-image `connectivity=2`, OpenCV's default).
    Eight,
}

/// Labels the connected components of `mask` as `1..=n` in raster order: components are numbered
/// by the position of their first pixel in row-major scan, as scikit-image's `label` does.
///
/// Returns the labels and `n`. Two-pass union–find, O(H·W).
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
    let mut prov = vec![0u32; h * w];
    // parent[0] unused; provisional labels start at 1.
    let mut parent: Vec<u32> = vec![0];
    fn find(parent: &mut [u32], mut x: u32) -> u32 {
        while parent[x as usize] != x {
            let p = parent[x as usize];
            parent[x as usize] = parent[p as usize];
            x = p;
        }
        x
    }
    fn union(parent: &mut [u32], a: u32, b: u32) -> u32 {
        let ra = find(parent, a);
        let rb = find(parent, b);
        // Keep the smaller root so that roots follow raster order.
        if ra < rb {
            parent[rb as usize] = ra;
            ra
        } else {
            parent[ra as usize] = rb;
            rb
        }
    }
    for r in 0..h {
        for c in 0..w {
            let i = r * w + c;
            if m[i] == 0 {
                continue;
            }
            let mut cur = 0u32;
            let consider = |n: u32, cur: &mut u32, parent: &mut Vec<u32>| {
                if n != 0 {
                    *cur = if *cur == 0 {
                        find(parent, n)
                    } else {
                        union(parent, *cur, n)
                    };
                }
            };
            if c > 0 {
                consider(prov[i - 1], &mut cur, &mut parent);
            }
            if r > 0 {
                consider(prov[i - w], &mut cur, &mut parent);
                if connectivity == Connectivity::Eight {
                    if c > 0 {
                        consider(prov[i - w - 1], &mut cur, &mut parent);
                    }
                    if c + 1 < w {
                        consider(prov[i - w + 1], &mut cur, &mut parent);
                    }
                }
            }
            if cur == 0 {
                cur = parent.len() as u32;
                parent.push(cur);
            }
            prov[i] = cur;
        }
    }
    // Final numbering in order of first appearance (raster order of each component's first pixel).
    let mut final_of = vec![0u32; parent.len()];
    let mut n = 0u32;
    for v in prov.iter_mut() {
        if *v == 0 {
            continue;
        }
        let root = find(&mut parent, *v) as usize;
        if final_of[root] == 0 {
            n += 1;
            final_of[root] = n;
        }
        *v = final_of[root];
    }
    (
        Labels::from_plane(Plane::from_vec(h, w, prov).expect("shape")),
        n,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn u_shape_merges_into_one_component_numbered_first() {
        // A U shape whose arms are met first as two provisional labels.
        let m = Mask::from_vec(3, 5, vec![1, 0, 1, 0, 1, 1, 0, 1, 0, 1, 1, 1, 1, 0, 1]).unwrap();
        let (l, n) = label(&m, Connectivity::Four);
        assert_eq!(n, 2);
        assert_eq!(l.as_slice(), &[1, 0, 1, 0, 2, 1, 0, 1, 0, 2, 1, 1, 1, 0, 2]);
    }
}
