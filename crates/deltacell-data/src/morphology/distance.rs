//! The exact Euclidean distance transform, in linear time.

use crate::image::{Mask, Plane};

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
