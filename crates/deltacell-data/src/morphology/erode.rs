//! Structuring elements, erosion, dilation, closing (OpenCV conventions).

use crate::image::{Mask, Plane};

/// A flat structuring element: a small 0/1 pattern with an anchor pixel.
#[derive(Clone, Debug, PartialEq)]
pub struct StructuringElement {
    pattern: Plane<u8>,
    anchor: (usize, usize),
}

impl StructuringElement {
    /// The pattern (1 = part of the element), `(height, width)` as given.
    pub fn pattern(&self) -> &Plane<u8> {
        &self.pattern
    }

    /// The anchor `(row, col)` inside the pattern (OpenCV's default: the centre,
    /// `(height / 2, width / 2)` rounded down).
    pub fn anchor(&self) -> (usize, usize) {
        self.anchor
    }

    /// Per pattern row: the row offset from the anchor and the inclusive column-offset range of
    /// its run of ones (an ellipse has one run per row). Rows without ones are skipped.
    fn row_runs(&self) -> Vec<(isize, isize, isize)> {
        let (ar, ac) = (self.anchor.0 as isize, self.anchor.1 as isize);
        let mut runs = Vec::new();
        for r in 0..self.pattern.height() {
            let row = self.pattern.row(r);
            let mut c = 0;
            while c < row.len() {
                if row[c] == 0 {
                    c += 1;
                    continue;
                }
                let start = c;
                while c < row.len() && row[c] != 0 {
                    c += 1;
                }
                runs.push((r as isize - ar, start as isize - ac, c as isize - 1 - ac));
            }
        }
        runs
    }
}

/// DeLTA's `kernel(n)`: OpenCV's `getStructuringElement(MORPH_ELLIPSE, (n, n))`, anchor at
/// `(n / 2, n / 2)`.
///
/// OpenCV's rule: with `r = c = n / 2` (integer division), row `i` has `dy = i − r` and
/// half-width `dx = round(c · sqrt((r² − dy²) / r²))` (`dx = 0` when `r = 0`); columns
/// `max(c − dx, 0) .. min(c + dx + 1, n)` are set. `n = 0` gives an empty element.
///
/// ```
/// use deltacell_data::morphology::kernel;
/// assert_eq!(kernel(2).pattern().as_slice(), &[0, 1,
///                                             1, 1]);
/// assert_eq!(kernel(3).pattern().as_slice(), &[0, 1, 0,
///                                             1, 1, 1,
///                                             0, 1, 0]);
/// assert_eq!(kernel(3).anchor(), (1, 1));
/// ```
pub fn kernel(n: usize) -> StructuringElement {
    let r = n / 2;
    let c = n / 2;
    let inv_r2 = if r > 0 { 1.0 / (r * r) as f64 } else { 0.0 };
    let mut pattern = Plane::filled(n, n, 0u8);
    for i in 0..n {
        let dy = i as i64 - r as i64;
        if dy.unsigned_abs() as usize > r {
            continue;
        }
        // OpenCV's saturate_cast<int>(double) rounds half to even.
        let dx = (c as f64 * (((r * r) as i64 - dy * dy) as f64 * inv_r2).sqrt()).round_ties_even()
            as i64;
        let j1 = (c as i64 - dx).max(0) as usize;
        let j2 = ((c as i64 + dx + 1) as usize).min(n);
        for j in j1..j2 {
            pattern.set(i, j, 1);
        }
    }
    StructuringElement {
        pattern,
        anchor: (n / 2, n / 2),
    }
}

/// Binary dilation with OpenCV's convention (`cv2.dilate`): `out(y, x) = max` of
/// `mask(y + i − ay, x + j − ax)` over the element's ones `(i, j)`, anchor `(ay, ax)`, the
/// element **not** reflected; pixels outside the image count as background.
///
/// ```
/// use deltacell_data::{Mask, morphology::{dilate, kernel}};
/// let m = Mask::from_vec(3, 3, vec![0, 0, 0, 0, 1, 0, 0, 0, 0]).unwrap();
/// assert_eq!(dilate(&m, &kernel(3)).as_slice(), &[0, 1, 0, 1, 1, 1, 0, 1, 0]);
/// ```
pub fn dilate(mask: &Mask, element: &StructuringElement) -> Mask {
    morph(mask, element, false)
}

/// Binary erosion with OpenCV's convention (`cv2.erode`): `out(y, x) = min` of
/// `mask(y + i − ay, x + j − ax)` over the element's ones; pixels outside the image count as
/// **foreground** (OpenCV's default border value for erosion), so objects touching the image
/// edge are not eroded from that side.
///
/// ```
/// use deltacell_data::{Mask, morphology::{erode, kernel}};
/// // kernel(2) = [[0,1],[1,1]] with anchor (1,1): a pixel survives when it, its upper and its
/// // left neighbour are set.
/// let m = Mask::from_vec(2, 3, vec![1, 1, 0, 1, 1, 1]).unwrap();
/// assert_eq!(erode(&m, &kernel(2)).as_slice(), &[1, 1, 0, 1, 1, 0]);
/// ```
pub fn erode(mask: &Mask, element: &StructuringElement) -> Mask {
    morph(mask, element, true)
}

/// Binary closing as OpenCV's `morphologyEx(MORPH_CLOSE)`: [`dilate`] then [`erode`] with the
/// same element and anchor and the same border conventions.
pub fn close(mask: &Mask, element: &StructuringElement) -> Mask {
    let (h, w) = mask.shape();
    if h == 0 || w == 0 {
        return mask.clone();
    }
    let runs = element.row_runs();
    let bits = BitRows::pack(mask);
    let dilated = bits.dilate(&runs);
    dilated.complement().dilate(&runs).complement().unpack()
}

/// Dilation (`erosion == false`) or erosion on bit-packed rows: each element row is one run of
/// columns, OR-ed horizontally with log₂(run length) word shifts, then the rows are OR-ed with
/// vertical offsets: O(H·W/64·rows·log run) word operations.
fn morph(mask: &Mask, element: &StructuringElement, erosion: bool) -> Mask {
    let (h, w) = mask.shape();
    if h == 0 || w == 0 {
        return mask.clone();
    }
    let runs = element.row_runs();
    let bits = BitRows::pack(mask);
    if erosion {
        // OpenCV erosion (outside = 1) is the complement of the dilation (outside = 0) of the
        // complement.
        bits.complement().dilate(&runs).complement().unpack()
    } else {
        bits.dilate(&runs).unpack()
    }
}

/// A binary raster packed 64 pixels to a word, row by row; bits past the width are always 0.
struct BitRows {
    h: usize,
    w: usize,
    /// Words per row.
    nw: usize,
    words: Vec<u64>,
}

impl BitRows {
    fn pack(mask: &Mask) -> Self {
        let (h, w) = mask.shape();
        let nw = w.div_ceil(64);
        let mut words = vec![0u64; h * nw];
        for r in 0..h {
            let dst = &mut words[r * nw..(r + 1) * nw];
            for (k, chunk) in mask.row(r).chunks(64).enumerate() {
                let mut word = 0u64;
                for (b, &v) in chunk.iter().enumerate() {
                    word |= u64::from(v != 0) << b;
                }
                dst[k] = word;
            }
        }
        BitRows { h, w, nw, words }
    }

    fn unpack(&self) -> Mask {
        let mut out = Mask::zeros(self.h, self.w);
        for r in 0..self.h {
            let src = &self.words[r * self.nw..(r + 1) * self.nw];
            for (k, chunk) in out.row_mut(r).chunks_mut(64).enumerate() {
                let word = src[k];
                for (b, v) in chunk.iter_mut().enumerate() {
                    *v = ((word >> b) & 1) as u8;
                }
            }
        }
        out
    }

    /// Mask of the valid bits of the last word of a row.
    fn last_mask(&self) -> u64 {
        match self.w % 64 {
            0 => u64::MAX,
            b => (1u64 << b) - 1,
        }
    }

    fn complement(mut self) -> Self {
        let last = self.last_mask();
        for row in self.words.chunks_exact_mut(self.nw) {
            for x in row.iter_mut() {
                *x = !*x;
            }
            row[self.nw - 1] &= last;
        }
        self
    }

    /// OpenCV dilation (outside = 0, element not reflected) with the element given as row runs
    /// `(dy, lo, hi)`: `out(y, x) = OR over runs of OR_{o = lo..=hi} in(y + dy, x + o)`.
    fn dilate(&self, runs: &[(isize, isize, isize)]) -> BitRows {
        let (h, nw) = (self.h, self.nw);
        let mut out = BitRows {
            h,
            w: self.w,
            nw,
            words: vec![0u64; h * nw],
        };
        let mut distinct: Vec<(isize, isize)> = runs.iter().map(|&(_, a, b)| (a, b)).collect();
        distinct.sort_unstable();
        distinct.dedup();
        let last = self.last_mask();
        let mut horiz = vec![0u64; h * nw];
        for &(lo, hi) in &distinct {
            let len = (hi - lo + 1) as usize;
            // The row sits `pad` words inside a zero buffer, so that no shift below drops bits
            // that a later shift would bring back into the image.
            let pad = (lo.unsigned_abs() + hi.unsigned_abs() + len) / 64 + 2;
            let pw = nw + 2 * pad;
            let (mut t1, mut t2) = (vec![0u64; pw], vec![0u64; pw]);
            for r in 0..h {
                t1.fill(0);
                t1[pad..pad + nw].copy_from_slice(&self.words[r * nw..(r + 1) * nw]);
                // acc(x) = OR_{k < span} src(x + k), doubling the span.
                let mut span = 1usize;
                while span * 2 <= len {
                    shift_or(&mut t1, &mut t2, span as isize, u64::MAX);
                    span *= 2;
                }
                if span < len {
                    // Overlapping final step: OR with the copy shifted by len − span covers
                    // offsets up to len − 1.
                    shift_or(&mut t1, &mut t2, (len - span) as isize, u64::MAX);
                }
                // horiz(x) = acc(x + lo).
                shift_into(&t1, lo, &mut t2, u64::MAX);
                let dst = &mut horiz[r * nw..(r + 1) * nw];
                dst.copy_from_slice(&t2[pad..pad + nw]);
                dst[nw - 1] &= last;
            }
            for &(dy, _, _) in runs.iter().filter(|&&(_, a, b)| (a, b) == (lo, hi)) {
                for r in 0..h {
                    let sr = r as isize + dy;
                    if sr < 0 || sr >= h as isize {
                        continue; // outside rows are background
                    }
                    let sr = sr as usize;
                    let (dst, src) = (
                        &mut out.words[r * nw..(r + 1) * nw],
                        &horiz[sr * nw..(sr + 1) * nw],
                    );
                    for (d, s) in dst.iter_mut().zip(src) {
                        *d |= s;
                    }
                }
            }
        }
        out
    }
}

/// `acc |= acc shifted so that bit x reads bit x + by`, using `tmp` as scratch.
fn shift_or(acc: &mut [u64], tmp: &mut [u64], by: isize, last: u64) {
    shift_into(acc, by, tmp, last);
    for (a, t) in acc.iter_mut().zip(tmp.iter()) {
        *a |= t;
    }
}

/// `dst(x) = src(x + by)` over one packed row (0 outside), bits past the width cleared.
fn shift_into(src: &[u64], by: isize, dst: &mut [u64], last: u64) {
    let nw = src.len();
    let q = (by.unsigned_abs() / 64) as isize;
    let b = (by.unsigned_abs() % 64) as u32;
    let get = |i: isize| -> u64 {
        if i >= 0 && (i as usize) < nw {
            src[i as usize]
        } else {
            0
        }
    };
    for (i, d) in dst.iter_mut().enumerate() {
        let i = i as isize;
        *d = if by >= 0 {
            let lo = get(i + q) >> b;
            let hi = if b == 0 {
                0
            } else {
                get(i + q + 1) << (64 - b)
            };
            lo | hi
        } else {
            let lo = get(i - q) << b;
            let hi = if b == 0 {
                0
            } else {
                get(i - q - 1) >> (64 - b)
            };
            lo | hi
        };
    }
    dst[nw - 1] &= last;
}
