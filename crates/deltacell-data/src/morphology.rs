//! Binary morphology on [`Mask`]s: the building blocks of DeLTA's weight maps.
//!
//! * [`label`]: connected components, 4- or 8-connectivity, numbered in raster order
//!   (scikit-image `measure.label`).
//! * [`squared_distance_to`] / [`distance_to`]: the exact Euclidean distance transform
//!   (scikit-image `medial_axis(..., return_distance=True)` / SciPy `distance_transform_edt` /
//!   OpenCV `distanceTransform(DIST_L2, DIST_MASK_PRECISE)`), in linear time.
//! * [`kernel`]: OpenCV's elliptic structuring element, and [`erode`], [`dilate`], [`close`] with
//!   OpenCV's anchor and border conventions.
//! * [`skeletonize`] (scikit-image's default 2-D thinning) and [`skeletonize_lee`]
//!   (scikit-image `skeletonize(method="lee")`), pixel-identical to scikit-image.
//!
//! Everything works on 0/1 [`Mask`]s; the pixels outside the image are background unless a
//! function says otherwise.

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

// ---------------------------------------------------------------------------------------------
// Euclidean distance transform
// ---------------------------------------------------------------------------------------------

/// The squared distance given to pixels when the image holds no feature pixel at all.
pub const NO_FEATURE: u32 = u32::MAX;

/// Exact squared Euclidean distance, in pixels², from every pixel to the nearest pixel where
/// `features` is 1 (0 on the features themselves); [`NO_FEATURE`] everywhere when `features` is
/// empty.
///
/// Felzenszwalb & Huttenlocher's lower envelope of parabolas (P. F. Felzenszwalb and
/// D. P. Huttenlocher, "Distance Transforms of Sampled Functions", *Theory of Computing* 8(19),
/// 2012): one pass along the columns, one along the rows, O(H·W) time. Integer arithmetic
/// throughout, so the result is exact and `sqrt` of it equals SciPy's `distance_transform_edt`
/// bit for bit.
///
/// ```
/// use deltacell_data::{Mask, morphology::squared_distance_to};
/// let m = Mask::from_vec(3, 4, vec![1, 0, 0, 0,
///                                   0, 0, 0, 0,
///                                   0, 0, 0, 1]).unwrap();
/// let d = squared_distance_to(&m);
/// assert_eq!(d.as_slice(), &[0, 1, 4, 4,
///                            1, 2, 2, 1,
///                            4, 4, 1, 0]);
/// ```
pub fn squared_distance_to(features: &Mask) -> Plane<u32> {
    let (h, w) = features.shape();
    let mut out = Plane::filled(h, w, 0u32);
    let mut scratch = EdtScratch::default();
    let f = features.as_slice();
    squared_edt(h, w, |i| f[i] != 0, out.as_mut_slice(), &mut scratch);
    out
}

/// Exact Euclidean distance, in pixels, from every pixel to the nearest pixel where `features`
/// is 1: 0 on the features, `f64::INFINITY` everywhere when there is no feature pixel.
///
/// DeLTA 2.0.7 obtains the same values as `medial_axis(features == 0, return_distance=True)[1]`
/// (with a feature pixel present).
///
/// ```
/// use deltacell_data::{Mask, morphology::distance_to};
/// let m = Mask::from_vec(1, 4, vec![0, 0, 0, 1]).unwrap();
/// assert_eq!(distance_to(&m).as_slice(), &[3.0, 2.0, 1.0, 0.0]);
/// let none = Mask::zeros(1, 2);
/// assert!(distance_to(&none).as_slice().iter().all(|d| d.is_infinite()));
/// ```
pub fn distance_to(features: &Mask) -> Plane<f64> {
    squared_distance_to(features).map(sq_to_dist)
}

/// `sqrt` of a squared distance from [`squared_distance_to`], `+inf` for [`NO_FEATURE`].
#[inline]
pub(crate) fn sq_to_dist(d2: u32) -> f64 {
    if d2 == NO_FEATURE {
        f64::INFINITY
    } else {
        f64::from(d2).sqrt()
    }
}

/// Reusable buffers of [`squared_edt`] (so that per-cell windows allocate nothing).
#[derive(Default)]
pub(crate) struct EdtScratch {
    /// Envelope parabolas: root column and `f(root) + root²`.
    v: Vec<usize>,
    fv: Vec<i64>,
    /// Left boundary of each parabola's interval as the fraction `zn / zd` (`zd > 0`).
    zn: Vec<i64>,
    zd: Vec<i64>,
    /// A row's squared column distances, padded on both sides (short-range path).
    g: Vec<u32>,
}

/// Rasters at least this large run the row pass on the rayon pool.
const PARALLEL_EDT_PIXELS: usize = 1 << 16;

/// Squared EDT of an `h × w` raster whose feature pixels are those where `is_feature(index)`
/// holds (row-major index). Writes `out[0..h*w]`.
pub(crate) fn squared_edt(
    h: usize,
    w: usize,
    is_feature: impl Fn(usize) -> bool,
    out: &mut [u32],
    scratch: &mut EdtScratch,
) {
    debug_assert!(out.len() >= h * w);
    let out = &mut out[..h * w];
    if w == 0 {
        return;
    }
    // Pass 1, along columns: the vertical distance to the nearest feature in the same column
    // (NO_FEATURE = u32::MAX saturates). Two row-major sweeps keep memory access contiguous.
    for r in 0..h {
        let (prev, cur) = out.split_at_mut(r * w);
        let cur = &mut cur[..w];
        if r == 0 {
            for (c, o) in cur.iter_mut().enumerate() {
                *o = if is_feature(c) { 0 } else { NO_FEATURE };
            }
        } else {
            let prev = &prev[(r - 1) * w..];
            for (c, (o, &p)) in cur.iter_mut().zip(prev).enumerate() {
                *o = if is_feature(r * w + c) {
                    0
                } else {
                    p.saturating_add(1)
                };
            }
        }
    }
    for r in (0..h.saturating_sub(1)).rev() {
        let (cur, next) = out.split_at_mut((r + 1) * w);
        let cur = &mut cur[r * w..];
        for (o, &n) in cur.iter_mut().zip(&next[..w]) {
            *o = (*o).min(n.saturating_add(1));
        }
    }
    // Pass 2, along rows: lower envelope of the parabolas (c − q)² + g(q)².
    if h * w >= PARALLEL_EDT_PIXELS {
        use rayon::prelude::*;
        out.par_chunks_mut(w)
            .for_each_init(EdtScratch::default, |s, row| row_pass(row, s));
    } else {
        for row in out.chunks_exact_mut(w) {
            row_pass(row, scratch);
        }
    }
}

/// Rows whose column distances are all at most this use the short-range scan instead of the
/// envelope (dense features, e.g. skeletons: fewer, branch-free operations).
const SHORT_RANGE: u32 = 12;

fn row_pass(row: &mut [u32], scratch: &mut EdtScratch) {
    let w = row.len();
    if row.iter().all(|&g| g <= SHORT_RANGE) {
        // Every column distance is small: the nearest feature of column q is at some p with
        // |q − p| < g(q) ≤ SHORT_RANGE (any farther p gives at least g(q)², which p = q
        // already achieves). So a fixed window |q − p| < SHORT_RANGE gives the same minimum
        // (its extra terms are never smaller than g(q)²), and as one branch-free pass per
        // offset over the whole row it vectorises.
        const R: usize = SHORT_RANGE as usize - 1;
        // Outside the row: a square far above any in-window value (no overflow: 2³⁰ + R²).
        const FAR: u32 = 1 << 30;
        let sq = &mut scratch.g;
        sq.clear();
        sq.resize(w + 2 * R, FAR);
        for (o, &g) in sq[R..R + w].iter_mut().zip(row.iter()) {
            *o = g * g;
        }
        short_range_min(sq, row);
        return;
    }
    let EdtScratch { v, fv, zn, zd, .. } = scratch;
    v.resize(w, 0);
    fv.resize(w, 0);
    zn.resize(w, 0);
    zd.resize(w, 0);
    envelope_1d(row, v, fv, zn, zd);
}

crate::simd::multiversion! {
/// `row[q] = min over |d| ≤ R of d² + sq[q + R + d]` with `R = SHORT_RANGE − 1` (`sq`: the
/// squared column distances, padded by `R` far values on each side).
fn short_range_min(sq: &[u32], row: &mut [u32]) {
    const R: usize = SHORT_RANGE as usize - 1;
    let w = row.len();
    row.copy_from_slice(&sq[R..R + w]);
    for d in 1..=R {
        let dd = (d * d) as u32;
        let (left, right) = (&sq[R - d..R - d + w], &sq[R + d..R + d + w]);
        for ((o, &a), &b) in row.iter_mut().zip(left).zip(right) {
            let m = a.min(b) + dd;
            *o = (*o).min(m);
        }
    }
}
}

/// One-dimensional squared distance transform, in place: `row[q]` holds the column distance
/// `g(q)` to the nearest feature ([`NO_FEATURE`] = none) and receives
/// `min_p (q − p)² + g(p)²` ([`NO_FEATURE`] when every `g` is infinite).
///
/// Felzenszwalb–Huttenlocher's lower envelope. Interval boundaries are kept as exact fractions
/// and compared by cross-multiplication (integer arithmetic only); the output pass converts each
/// boundary to its first integer column once, so filling the row is a tight loop.
fn envelope_1d(row: &mut [u32], v: &mut [usize], fv: &mut [i64], zn: &mut [i64], zd: &mut [i64]) {
    // Number of parabolas in the envelope.
    let mut k = 0usize;
    for (q, &g) in row.iter().enumerate() {
        if g == NO_FEATURE {
            continue;
        }
        let qi = q as i64;
        let fq = i64::from(g) * i64::from(g) + qi * qi;
        if k == 0 {
            v[0] = q;
            fv[0] = fq;
            // zd = 0 marks −∞: the first parabola is never removed.
            zn[0] = -1;
            zd[0] = 0;
            k = 1;
            continue;
        }
        loop {
            let top = k - 1;
            // Parabolas of v[top] and q meet at s = (fq − fv) / (2(q − v)).
            let (sn, sd) = (fq - fv[top], 2 * (qi - v[top] as i64));
            if zd[top] != 0 && sn * zd[top] <= zn[top] * sd {
                k -= 1; // v[top] is hidden from s on
                continue;
            }
            v[k] = q;
            fv[k] = fq;
            zn[k] = sn;
            zd[k] = sd;
            k += 1;
            break;
        }
    }
    if k == 0 {
        row.fill(NO_FEATURE);
        return;
    }
    let w = row.len() as i64;
    for j in 0..k {
        // Columns where parabola j is lowest: from its boundary up to the next one.
        let start = if j == 0 {
            0
        } else {
            // First integer column ≥ zn/zd (ties go to the later parabola: same value).
            (zn[j].div_euclid(zd[j]) + i64::from(zn[j].rem_euclid(zd[j]) != 0)).clamp(0, w)
        };
        let end = if j + 1 < k {
            (zn[j + 1].div_euclid(zd[j + 1]) + i64::from(zn[j + 1].rem_euclid(zd[j + 1]) != 0))
                .clamp(0, w)
        } else {
            w
        };
        let p = v[j] as i64;
        let fp = fv[j] - p * p;
        for q in start..end {
            let d = q - p;
            row[q as usize] = (d * d + fp) as u32;
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Structuring elements, erosion, dilation, closing (OpenCV conventions)
// ---------------------------------------------------------------------------------------------

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

// ---------------------------------------------------------------------------------------------
// Skeletonisation
// ---------------------------------------------------------------------------------------------

/// Neighbourhood code of an interior pixel of a zero-padded raster: bit 0 = north-west, then
/// clockwise: 1 = N, 2 = NE, 3 = E, 4 = SE, 5 = S, 6 = SW, 7 = W.
#[inline]
fn code8(p: &[u8], i: usize, pw: usize) -> usize {
    usize::from(p[i - pw - 1])
        | usize::from(p[i - pw]) << 1
        | usize::from(p[i - pw + 1]) << 2
        | usize::from(p[i + 1]) << 3
        | usize::from(p[i + pw + 1]) << 4
        | usize::from(p[i + pw]) << 5
        | usize::from(p[i + pw - 1]) << 6
        | usize::from(p[i - 1]) << 7
}

/// Zhang & Suen's deletion rule for a neighbourhood code: bit 0 = deletable in the first
/// sub-iteration, bit 1 = in the second.
fn zhang_suen_rule(n: usize) -> u8 {
    let b = |k: usize| (n >> k) & 1;
    // P2..P9 in Zhang & Suen's naming: N, NE, E, SE, S, SW, W, NW.
    let seq = [b(1), b(2), b(3), b(4), b(5), b(6), b(7), b(0), b(1)];
    let count = n.count_ones();
    let mut transitions = 0;
    let mut i = 0;
    while i < 8 {
        if seq[i] == 0 && seq[i + 1] == 1 {
            transitions += 1;
        }
        i += 1;
    }
    if !(2..=6).contains(&count) || transitions != 1 {
        return 0;
    }
    let (p2, p4, p6, p8) = (b(1), b(3), b(5), b(7));
    let mut r = 0;
    if p2 * p4 * p6 == 0 && p4 * p6 * p8 == 0 {
        r |= 1;
    }
    if p2 * p4 * p8 == 0 && p2 * p6 * p8 == 0 {
        r |= 2;
    }
    r
}

/// scikit-image's thinning lookup table (`_fast_skeletonize`, BSD-3-Clause) differs from the
/// plain Zhang–Suen rule on these 25 neighbourhoods: it deletes the corner pixels of diagonal
/// staircases (which the original rule leaves two pixels thick) and keeps a few end
/// configurations. `(code, deletable-in)` with bits as in [`zhang_suen_rule`]; found by comparing
/// the rule with scikit-image's table entry by entry. The full table is pinned by the parity
/// tests of `seg_weights_2D`.
const SKIMAGE_EXCEPTIONS: [(usize, u8); 25] = [
    (3, 1),
    (6, 1),
    (10, 3),
    (11, 1),
    (12, 1),
    (14, 1),
    (24, 2),
    (26, 2),
    (40, 3),
    (48, 0),
    (56, 2),
    (96, 2),
    (104, 2),
    (108, 2),
    (129, 0),
    (130, 3),
    (131, 1),
    (134, 1),
    (160, 3),
    (161, 1),
    (176, 2),
    (192, 2),
    (194, 1),
    (198, 1),
    (224, 2),
];

fn thinning_table() -> [u8; 256] {
    let mut t = [0u8; 256];
    let mut n = 0;
    while n < 256 {
        t[n] = zhang_suen_rule(n);
        n += 1;
    }
    let mut k = 0;
    while k < SKIMAGE_EXCEPTIONS.len() {
        t[SKIMAGE_EXCEPTIONS[k].0] = SKIMAGE_EXCEPTIONS[k].1;
        k += 1;
    }
    t
}

static THINNING: std::sync::LazyLock<[u8; 256]> = std::sync::LazyLock::new(thinning_table);

/// Copies `mask` into a zero-padded `(h+2) × (w+2)` buffer; returns it with the indices (in the
/// padded buffer) of the foreground pixels in raster order.
fn padded(mask: &Mask) -> (Vec<u8>, Vec<usize>) {
    let (h, w) = mask.shape();
    let pw = w + 2;
    let mut p = vec![0u8; (h + 2) * pw];
    let mut fg = Vec::new();
    for r in 0..h {
        for (c, &v) in mask.row(r).iter().enumerate() {
            if v != 0 {
                let i = (r + 1) * pw + c + 1;
                p[i] = 1;
                fg.push(i);
            }
        }
    }
    (p, fg)
}

fn unpad(p: &[u8], h: usize, w: usize) -> Mask {
    let pw = w + 2;
    let mut out = Mask::zeros(h, w);
    for r in 0..h {
        out.row_mut(r)
            .copy_from_slice(&p[(r + 1) * pw + 1..(r + 1) * pw + 1 + w]);
    }
    out
}

/// scikit-image's default 2-D skeleton (`skimage.morphology.skeletonize(image)`, the
/// Zhang–Suen thinning with scikit-image's lookup table), pixel-identical. Used by DeLTA's
/// `seg_weights_2D` and `estimate_seg2D_classweights`.
///
/// Each iteration has two parallel sub-iterations (every pixel is judged on the image as it
/// was at the start of the sub-iteration); it stops when an iteration deletes nothing. Pixels
/// outside the image are background. T. Y. Zhang and C. Y. Suen, "A fast parallel algorithm for
/// thinning digital patterns", *Communications of the ACM* 27(3), 1984.
///
/// ```
/// use deltacell_data::{Mask, morphology::skeletonize};
/// // scikit-image's own docstring example: an ellipse thins to a vertical segment.
/// let m = Mask::from_fn(9, 9, |r, c| {
///     let (r, c) = (r as f64 - 4.0, c as f64 - 4.0);
///     r * r / 3.0 + c * c < 9.0
/// });
/// let s = skeletonize(&m);
/// assert_eq!(s, Mask::from_fn(9, 9, |r, c| c == 4 && (3..=6).contains(&r)));
/// ```
pub fn skeletonize(mask: &Mask) -> Mask {
    let (h, w) = mask.shape();
    let pw = w + 2;
    let (mut p, mut fg) = padded(mask);
    let mut removed: Vec<usize> = Vec::new();
    loop {
        let mut any = false;
        for pass in [1u8, 2u8] {
            removed.clear();
            for &i in &fg {
                if THINNING[code8(&p, i, pw)] & pass != 0 {
                    removed.push(i);
                }
            }
            if !removed.is_empty() {
                any = true;
                for &i in &removed {
                    p[i] = 0;
                }
                fg.retain(|&i| p[i] != 0);
            }
        }
        if !any {
            break;
        }
    }
    unpad(&p, h, w)
}

/// Per neighbourhood code: is the centre an end point (exactly one 8-neighbour)?
fn lee_endpoint(n: usize) -> bool {
    n.count_ones() == 1
}

/// Per neighbourhood code: does deleting the centre keep the 8-connected Euler number? (Gray's
/// bit-quad count over the four 2×2 quads that hold the centre.) For a one-plane image this is
/// Lee et al.'s 26-connected Euler-invariance test.
fn lee_euler_invariant(n: usize) -> bool {
    let b = |k: usize| ((n >> k) & 1) as i32;
    // 3×3 neighbourhood, g[row][col], centre = 1.
    let g = [[b(0), b(1), b(2)], [b(7), 1, b(3)], [b(6), b(5), b(4)]];
    // Contribution of a quad (tl, tr, bl, br) to 4 × Euler number, 8-connectivity.
    fn quad(tl: i32, tr: i32, bl: i32, br: i32) -> i32 {
        let s = tl + tr + bl + br;
        if s == 1 {
            1
        } else if s == 3 {
            -1
        } else if s == 2 && tl == br {
            -2
        } else {
            0
        }
    }
    let mut delta = 0;
    let mut qr = 0;
    while qr < 2 {
        let mut qc = 0;
        while qc < 2 {
            let (tl, tr, bl, br) = (g[qr][qc], g[qr][qc + 1], g[qr + 1][qc], g[qr + 1][qc + 1]);
            // The centre is the corner of this quad at (1 - qr, 1 - qc).
            let before = quad(tl, tr, bl, br);
            let after = match (qr, qc) {
                (0, 0) => quad(tl, tr, bl, 0),
                (0, _) => quad(tl, tr, 0, br),
                (_, 0) => quad(tl, 0, bl, br),
                _ => quad(0, tr, bl, br),
            };
            delta += after - before;
            qc += 1;
        }
        qr += 1;
    }
    delta == 0
}

/// Per neighbourhood code: is the centre a simple point, i.e. do its 8-neighbours form at most
/// one 8-connected component once it is removed? (Lee et al.'s octree labelling, for one plane.)
fn lee_simple(n: usize) -> bool {
    // Ring cells in bit order (clockwise from NW). Two ring cells are 8-adjacent when they are
    // consecutive on the ring, or when both are edge cells (odd bits) around one corner, e.g.
    // N and E touch diagonally.
    let b = |k: usize| (n >> k) & 1 == 1;
    // Union-find over the 8 ring cells.
    let mut parent = [0usize; 8];
    let mut i = 0;
    while i < 8 {
        parent[i] = i;
        i += 1;
    }
    fn root(parent: &[usize; 8], mut x: usize) -> usize {
        while parent[x] != x {
            x = parent[x];
        }
        x
    }
    let mut k = 0;
    while k < 8 {
        let next = (k + 1) % 8;
        if b(k) && b(next) {
            let (ra, rb) = (root(&parent, k), root(&parent, next));
            if ra != rb {
                parent[ra] = rb;
            }
        }
        // Edge cell k (odd) and edge cell k+2 are diagonal neighbours around a corner.
        let next2 = (k + 2) % 8;
        if k % 2 == 1 && b(k) && b(next2) {
            let (ra, rb) = (root(&parent, k), root(&parent, next2));
            if ra != rb {
                parent[ra] = rb;
            }
        }
        k += 1;
    }
    let mut comps = 0;
    let mut i = 0;
    while i < 8 {
        if b(i) && root(&parent, i) == i {
            comps += 1;
        }
        i += 1;
    }
    comps <= 1
}

/// Bit 0: end point; bit 1: Euler invariant; bit 2: simple.
fn lee_table() -> [u8; 256] {
    let mut t = [0u8; 256];
    let mut n = 0;
    while n < 256 {
        t[n] = (lee_endpoint(n) as u8)
            | (lee_euler_invariant(n) as u8) << 1
            | (lee_simple(n) as u8) << 2;
        n += 1;
    }
    t
}

static LEE: std::sync::LazyLock<[u8; 256]> = std::sync::LazyLock::new(lee_table);

/// scikit-image's `skeletonize(image, method="lee")` for a 2-D image, pixel-identical: the
/// thinning of T.-C. Lee, R. L. Kashyap and C.-N. Chu ("Building skeleton models via 3-D medial
/// surface/axis thinning algorithms", *CVGIP: Graphical Models and Image Processing* 56(6),
/// 1994) as scikit-image runs it on a single plane. Used by DeLTA's `tracking_weights`.
///
/// Sweeps over the four border directions in the order north (upper neighbour background),
/// south, east, west; in each sweep it first collects every border pixel that is not an end
/// point, keeps the Euler number and is simple, then deletes them one by one in raster order,
/// re-checking simplicity on the current image. It stops after four sweeps in a row delete
/// nothing. Pixels outside the image are background.
///
/// ```
/// use deltacell_data::{Mask, morphology::skeletonize_lee};
/// let m = Mask::from_fn(5, 9, |r, c| (1..4).contains(&r) && (1..8).contains(&c));
/// let s = skeletonize_lee(&m);
/// assert!(s.count() > 0 && s.count() < m.count());
/// assert!(s.as_slice().iter().zip(m.as_slice()).all(|(&a, &b)| a <= b));
/// ```
pub fn skeletonize_lee(mask: &Mask) -> Mask {
    let (h, w) = mask.shape();
    let pw = w + 2;
    let (mut p, mut fg) = padded(mask);
    // Offsets of the neighbour that must be background for each border direction, in
    // scikit-image's order: row above, row below, column right, column left.
    let dirs: [isize; 4] = [-(pw as isize), pw as isize, 1, -1];
    let mut candidates: Vec<usize> = Vec::new();
    let mut unchanged = 0;
    while unchanged < dirs.len() {
        unchanged = 0;
        for &d in &dirs {
            candidates.clear();
            for &i in &fg {
                if p[(i as isize + d) as usize] != 0 {
                    continue;
                }
                let t = LEE[code8(&p, i, pw)];
                if t & 1 == 0 && t & 2 != 0 && t & 4 != 0 {
                    candidates.push(i);
                }
            }
            let mut changed = false;
            for &i in &candidates {
                if LEE[code8(&p, i, pw)] & 4 != 0 {
                    p[i] = 0;
                    changed = true;
                }
            }
            if changed {
                fg.retain(|&i| p[i] != 0);
            } else {
                unchanged += 1;
            }
        }
    }
    unpad(&p, h, w)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn u_shape_merges_into_one_component_numbered_first() {
        // A U shape whose arms are met first as two provisional labels.
        let m = Mask::from_vec(3, 5, vec![1, 0, 1, 0, 1, 1, 0, 1, 0, 1, 1, 1, 1, 0, 1]).unwrap();
        let (l, n) = label(&m, Connectivity::Four);
        assert_eq!(n, 2);
        assert_eq!(l.as_slice(), &[1, 0, 1, 0, 2, 1, 0, 1, 0, 2, 1, 1, 1, 0, 2]);
    }

    fn mask_strategy() -> impl Strategy<Value = Mask> {
        (1usize..14, 1usize..14).prop_flat_map(|(h, w)| {
            (
                proptest::collection::vec(prop_oneof![3 => Just(0u8), 1 => Just(1u8)], h * w),
                Just((h, w)),
            )
                .prop_map(|(v, (h, w))| Mask::from_vec(h, w, v).unwrap())
        })
    }

    fn brute_force_sq_edt(m: &Mask) -> Vec<u32> {
        let (h, w) = m.shape();
        let feats: Vec<(i64, i64)> = (0..h)
            .flat_map(|r| (0..w).map(move |c| (r, c)))
            .filter(|&(r, c)| m.get(r, c) != 0)
            .map(|(r, c)| (r as i64, c as i64))
            .collect();
        (0..h)
            .flat_map(|r| (0..w).map(move |c| (r as i64, c as i64)))
            .map(|(r, c)| {
                feats
                    .iter()
                    .map(|&(fr, fc)| ((fr - r).pow(2) + (fc - c).pow(2)) as u32)
                    .min()
                    .unwrap_or(NO_FEATURE)
            })
            .collect()
    }

    /// Flood fill from every unvisited pixel in raster order: the reference labelling.
    fn flood_fill_labels(m: &Mask, conn: Connectivity) -> (Vec<u32>, u32) {
        let (h, w) = m.shape();
        let mut out = vec![0u32; h * w];
        let mut n = 0;
        for start in 0..h * w {
            if m.as_slice()[start] == 0 || out[start] != 0 {
                continue;
            }
            n += 1;
            out[start] = n;
            let mut stack = vec![start];
            while let Some(i) = stack.pop() {
                let (r, c) = ((i / w) as i64, (i % w) as i64);
                for dr in -1..=1i64 {
                    for dc in -1..=1i64 {
                        if (dr, dc) == (0, 0) || (conn == Connectivity::Four && dr != 0 && dc != 0)
                        {
                            continue;
                        }
                        let (rr, cc) = (r + dr, c + dc);
                        if rr < 0 || cc < 0 || rr >= h as i64 || cc >= w as i64 {
                            continue;
                        }
                        let j = rr as usize * w + cc as usize;
                        if m.as_slice()[j] != 0 && out[j] == 0 {
                            out[j] = n;
                            stack.push(j);
                        }
                    }
                }
            }
        }
        (out, n)
    }

    fn naive_morph(m: &Mask, se: &StructuringElement, erosion: bool) -> Vec<u8> {
        let (h, w) = m.shape();
        let (ar, ac) = se.anchor();
        let pat = se.pattern();
        let mut out = vec![0u8; h * w];
        for r in 0..h {
            for c in 0..w {
                let mut v = erosion;
                for i in 0..pat.height() {
                    for j in 0..pat.width() {
                        if pat.get(i, j) == 0 {
                            continue;
                        }
                        let (sr, sc) = (
                            r as i64 + i as i64 - ar as i64,
                            c as i64 + j as i64 - ac as i64,
                        );
                        let s = if sr < 0 || sc < 0 || sr >= h as i64 || sc >= w as i64 {
                            erosion
                        } else {
                            m.get(sr as usize, sc as usize) != 0
                        };
                        v = if erosion { v && s } else { v || s };
                    }
                }
                out[r * w + c] = u8::from(v);
            }
        }
        out
    }

    proptest! {
        #[test]
        fn edt_equals_brute_force(m in mask_strategy()) {
            let d = squared_distance_to(&m);
            prop_assert_eq!(d.as_slice().to_vec(), brute_force_sq_edt(&m));
        }

        #[test]
        fn label_equals_flood_fill(m in mask_strategy()) {
            for conn in [Connectivity::Four, Connectivity::Eight] {
                let (l, n) = label(&m, conn);
                let (r, rn) = flood_fill_labels(&m, conn);
                prop_assert_eq!(n, rn);
                prop_assert_eq!(l.as_slice(), r.as_slice());
            }
        }

        #[test]
        fn erosion_and_dilation_equal_the_definition(m in mask_strategy(), n in 1usize..8) {
            let se = kernel(n);
            let (e, d) = (erode(&m, &se), dilate(&m, &se));
            prop_assert_eq!(e.as_slice().to_vec(), naive_morph(&m, &se, true));
            prop_assert_eq!(d.as_slice().to_vec(), naive_morph(&m, &se, false));
        }

        #[test]
        fn wide_morphology_equals_the_definition(
            v in proptest::collection::vec(prop_oneof![4 => Just(0u8), 1 => Just(1u8)], 9 * 150),
            n in 1usize..24,
        ) {
            let m = Mask::from_vec(9, 150, v).unwrap();
            let se = kernel(n);
            let (e, d) = (erode(&m, &se), dilate(&m, &se));
            prop_assert_eq!(e.as_slice().to_vec(), naive_morph(&m, &se, true));
            prop_assert_eq!(d.as_slice().to_vec(), naive_morph(&m, &se, false));
            let c = close(&m, &se);
            prop_assert_eq!(c, erode(&dilate(&m, &se), &se));
        }

        #[test]
        fn skeletons_are_subsets_and_keep_components(m in mask_strategy()) {
            for s in [skeletonize(&m), skeletonize_lee(&m)] {
                prop_assert!(s.as_slice().iter().zip(m.as_slice()).all(|(&a, &b)| a <= b));
            }
            // Lee's thinning preserves topology: the number of 8-components is unchanged.
            let lee = skeletonize_lee(&m);
            prop_assert_eq!(label(&lee, Connectivity::Eight).1, label(&m, Connectivity::Eight).1);
        }
    }

    #[test]
    fn edt_of_a_large_sparse_mask_equals_brute_force() {
        // Large enough for the parallel row pass.
        let (h, w) = (300usize, 260usize);
        let pts = [
            (0, 0),
            (17, 250),
            (150, 3),
            (299, 259),
            (120, 130),
            (121, 131),
            (260, 40),
        ];
        let m = Mask::from_fn(h, w, |r, c| pts.contains(&(r, c)));
        let d = squared_distance_to(&m);
        for r in (0..h).step_by(7) {
            for c in 0..w {
                let want = pts
                    .iter()
                    .map(|&(pr, pc)| (r.abs_diff(pr).pow(2) + c.abs_diff(pc).pow(2)) as u32)
                    .min()
                    .unwrap();
                assert_eq!(d.get(r, c), want, "({r}, {c})");
            }
        }
    }

    #[test]
    fn edt_of_empty_mask_is_no_feature() {
        let d = squared_distance_to(&Mask::zeros(3, 2));
        assert!(d.as_slice().iter().all(|&v| v == NO_FEATURE));
    }

    #[test]
    fn kernel_20_is_opencv_ellipse() {
        let k = kernel(20);
        assert_eq!(k.anchor(), (10, 10));
        // Row 0 (dy = -10) is the single anchor column, row 10 is full width.
        let row = |i: usize| k.pattern().row(i).to_vec();
        assert_eq!(row(0).iter().filter(|&&v| v == 1).count(), 1);
        assert_eq!(row(0)[10], 1);
        assert!(row(10).iter().all(|&v| v == 1));
        // dy = -6: dx = round(10 * sqrt(64/100)) = 8 → columns 2..=18.
        assert_eq!(row(4).iter().position(|&v| v == 1), Some(2));
        assert_eq!(row(4).iter().rposition(|&v| v == 1), Some(18));
    }

    #[test]
    fn zhang_skeleton_of_scikit_image_example_ellipse() {
        // scikit-image's own docstring example: (1/3)(r-4)² + (c-4)² < 9 on a 9×9 grid thins
        // to column 4, rows 3..=6.
        let m = Mask::from_fn(9, 9, |r, c| {
            let (r, c) = (r as f64 - 4.0, c as f64 - 4.0);
            r * r / 3.0 + c * c < 9.0
        });
        let s = skeletonize(&m);
        let expected = Mask::from_fn(9, 9, |r, c| c == 4 && (3..=6).contains(&r));
        assert_eq!(s, expected);
    }

    #[test]
    fn thinning_table_keeps_isolated_and_end_pixels() {
        assert_eq!(THINNING[0], 0);
        for k in 0..8 {
            assert_eq!(THINNING[1 << k], 0, "end point {k}");
        }
        // A 2×2 block is never erased completely.
        let m = Mask::from_vec(2, 2, vec![1; 4]).unwrap();
        assert!(skeletonize(&m).count() > 0);
        assert!(skeletonize_lee(&m).count() > 0);
    }

    #[test]
    fn lee_skeleton_of_a_bar_is_a_line() {
        let m = Mask::from_fn(7, 20, |r, c| (1..6).contains(&r) && (2..18).contains(&c));
        let s = skeletonize_lee(&m);
        assert!(s.count() >= 10);
        // One pixel thick: no 2×2 block of skeleton pixels.
        for r in 0..6 {
            for c in 0..19 {
                let block = s.get(r, c) + s.get(r + 1, c) + s.get(r, c + 1) + s.get(r + 1, c + 1);
                assert!(block < 4);
            }
        }
    }
}
