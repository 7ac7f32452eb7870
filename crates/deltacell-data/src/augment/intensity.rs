//! Intensity (photometric) operations. They apply to [`Image`] targets only, never to masks or
//! weight maps.
//!
//! * [`illumination_voodoo`]: a smooth random gain profile along the rows (DeLTA's
//!   `illumination_voodoo`, 5 control points), then the original intensity range is restored.
//! * [`histogram_voodoo`]: a random monotone tone curve (DeLTA's `histogram_voodoo`, 3 control
//!   points).
//! * [`add_gaussian_noise`], [`gaussian_blur`]: additive noise and a 5×5 Gaussian blur.
//!
//! The curves are monotone piecewise-cubic Hermite interpolants ([`Pchip`]) computed exactly as
//! SciPy's `PchipInterpolator` does (Fritsch–Carlson interior slopes, one-sided three-point end
//! slopes, extrapolation with the end polynomials), in `f64`.

use rand::Rng;

use crate::error::{Error, Result};
use crate::image::Image;
use crate::random::SampleRng;

/// A monotone piecewise-cubic Hermite interpolant (SciPy `PchipInterpolator`).
#[derive(Clone, Debug, PartialEq)]
pub struct Pchip {
    x: Vec<f64>,
    /// Per interval: the coefficients `(c0, c1, c2, c3)` of `c0 + c1·t + c2·t² + c3·t³`, `t = x − x_k`.
    coef: Vec<[f64; 4]>,
}

impl Pchip {
    /// Builds the interpolant through `(x[i], y[i])`.
    ///
    /// `x` must be strictly increasing and finite, with at least 2 knots, and `y` finite and as
    /// long as `x` ([`Error::OutOfRange`], [`Error::LengthMismatch`], [`Error::InvalidValue`]
    /// otherwise).
    ///
    /// ```
    /// use deltacell_data::{augment::intensity::Pchip, Error};
    /// let p = Pchip::new(&[0.0, 1.0, 2.0], &[0.0, 1.0, 4.0])?;
    /// assert_eq!((p.eval(0.0), p.eval(2.0)), (0.0, 4.0));
    /// let e = Pchip::new(&[0.0, 0.0], &[0.0, 1.0]).unwrap_err();
    /// assert!(matches!(e, Error::InvalidValue { .. }));
    /// # Ok::<(), deltacell_data::Error>(())
    /// ```
    pub fn new(x: &[f64], y: &[f64]) -> Result<Self> {
        let n = x.len();
        if n < 2 {
            return Err(Error::out_of_range(
                "number of PCHIP knots",
                n,
                "at least 2",
            ));
        }
        if y.len() != n {
            return Err(Error::LengthMismatch {
                what: "PCHIP values (one per knot)".into(),
                expected: n,
                found: y.len(),
            });
        }
        if let Some(k) = (0..n).find(|&k| !x[k].is_finite() || (k > 0 && x[k] <= x[k - 1])) {
            return Err(Error::InvalidValue {
                what: format!("PCHIP knot {k}"),
                value: x[k].to_string(),
                rule: "knots must be finite and strictly increasing",
            });
        }
        if let Some(k) = (0..n).find(|&k| !y[k].is_finite()) {
            return Err(Error::InvalidValue {
                what: format!("PCHIP value {k}"),
                value: y[k].to_string(),
                rule: "values must be finite",
            });
        }
        let h: Vec<f64> = x.windows(2).map(|w| w[1] - w[0]).collect();
        let m: Vec<f64> = (0..n - 1).map(|k| (y[k + 1] - y[k]) / h[k]).collect();
        let mut d = vec![0.0; n];
        if n == 2 {
            // SciPy: a straight line.
            d[0] = m[0];
            d[1] = m[0];
        } else {
            for k in 1..n - 1 {
                let (m0, m1) = (m[k - 1], m[k]);
                if sign(m0) != sign(m1) || m0 == 0.0 || m1 == 0.0 {
                    d[k] = 0.0;
                } else {
                    // Weighted harmonic mean (Fritsch–Carlson with Brodlie's weights).
                    let w1 = 2.0 * h[k] + h[k - 1];
                    let w2 = h[k] + 2.0 * h[k - 1];
                    d[k] = (w1 + w2) / (w1 / m0 + w2 / m1);
                }
            }
            d[0] = edge_slope(h[0], h[1], m[0], m[1]);
            d[n - 1] = edge_slope(h[n - 2], h[n - 3], m[n - 2], m[n - 3]);
        }
        let coef = (0..n - 1)
            .map(|k| {
                let hk = h[k];
                let c2 = (3.0 * m[k] - 2.0 * d[k] - d[k + 1]) / hk;
                let c3 = (d[k] + d[k + 1] - 2.0 * m[k]) / (hk * hk);
                [y[k], d[k], c2, c3]
            })
            .collect();
        Ok(Pchip {
            x: x.to_vec(),
            coef,
        })
    }

    /// The interpolant at `t`; outside the knots the end polynomials are extended.
    #[inline]
    pub fn eval(&self, t: f64) -> f64 {
        let last = self.coef.len() - 1;
        let mut k = 0;
        while k < last && t >= self.x[k + 1] {
            k += 1;
        }
        let c = &self.coef[k];
        let dt = t - self.x[k];
        ((c[3] * dt + c[2]) * dt + c[1]) * dt + c[0]
    }
}

/// SciPy's one-sided three-point end slope with its shape-preserving corrections.
fn edge_slope(h0: f64, h1: f64, m0: f64, m1: f64) -> f64 {
    let d = ((2.0 * h0 + h1) * m0 - h0 * m1) / (h0 + h1);
    if sign(d) != sign(m0) {
        0.0
    } else if sign(m0) != sign(m1) && d.abs() > 3.0 * m0.abs() {
        3.0 * m0
    } else {
        d
    }
}

/// numpy's `sign`: −1, 0 or 1 (Rust's `signum` gives ±1 for zero).
fn sign(v: f64) -> i8 {
    if v > 0.0 {
        1
    } else if v < 0.0 {
        -1
    } else {
        0
    }
}

/// `n` evenly spaced values from `a` to `b` inclusive (numpy `linspace`).
pub(crate) fn linspace(a: f64, b: f64, n: usize) -> Vec<f64> {
    match n {
        0 => Vec::new(),
        1 => vec![a],
        _ => {
            let step = (b - a) / (n - 1) as f64;
            (0..n)
                .map(|i| if i == n - 1 { b } else { a + step * i as f64 })
                .collect()
        }
    }
}

/// Draws `n` control values uniformly in `[0.1, 0.9)` (DeLTA's `np.random.uniform(0.1, 0.9)`).
pub fn draw_control_points(rng: &mut SampleRng, n: usize) -> Vec<f64> {
    (0..n).map(|_| 0.1 + 0.8 * rng.random::<f64>()).collect()
}

/// DeLTA's `illumination_voodoo` with given control values (one per knot, knots evenly spaced
/// from row 0 to row `height − 1`): row `r` is multiplied by the PCHIP curve at `r`, then the
/// result is linearly remapped from its own `[min, max]` onto the original `[min, max]`.
///
/// Images with fewer than 2 rows, or fewer than 2 control values, are left unchanged.
pub fn illumination_voodoo_with_points(image: &mut Image, points: &[f64]) {
    let h = image.height();
    if h < 2 || points.len() < 2 || image.is_empty() {
        return;
    }
    let knots = linspace(0.0, (h - 1) as f64, points.len());
    let Ok(curve) = Pchip::new(&knots, points) else {
        return;
    };
    let w = image.width();
    // The curve is evaluated in f64 (once per row); the per-pixel work runs in f32, whose
    // rounding (~1e-7) is far below the 8/16-bit resolution of the images.
    let gains: Vec<f32> = (0..h).map(|r| curve.eval(r as f64) as f32).collect();
    let [omin, omax, nmin, nmax] = gain_extrema(image.as_slice(), w, &gains);
    if omin > omax || omin.is_nan() || omax.is_nan() {
        return; // NaN pixels: leave the image as it is
    }
    let span = nmax as f64 - nmin as f64;
    let scale = if span > 0.0 {
        ((omax as f64 - omin as f64) / span) as f32
    } else {
        0.0
    };
    apply_gains(image.as_mut_slice(), w, &gains, [omin, nmin, scale]);
}

/// Lanes of the reductions below (independent accumulators that the compiler keeps in one
/// vector register).
const LANES: usize = 16;

crate::simd::multiversion! {
/// `[min v, max v, min v·g, max v·g]` over the image (`g` = the gain of the pixel's row).
fn gain_extrema(values: &[f32], w: usize, gains: &[f32]) -> [f32; 4] {
    let mut lo = [f32::INFINITY; LANES];
    let mut hi = [f32::NEG_INFINITY; LANES];
    let mut glo = [f32::INFINITY; LANES];
    let mut ghi = [f32::NEG_INFINITY; LANES];
    for (row, &g) in values.chunks_exact(w).zip(gains) {
        let mut chunks = row.chunks_exact(LANES);
        for c in &mut chunks {
            for k in 0..LANES {
                let v = c[k];
                let p = v * g;
                lo[k] = if v < lo[k] { v } else { lo[k] };
                hi[k] = if v > hi[k] { v } else { hi[k] };
                glo[k] = if p < glo[k] { p } else { glo[k] };
                ghi[k] = if p > ghi[k] { p } else { ghi[k] };
            }
        }
        for (k, &v) in chunks.remainder().iter().enumerate() {
            let p = v * g;
            lo[k] = if v < lo[k] { v } else { lo[k] };
            hi[k] = if v > hi[k] { v } else { hi[k] };
            glo[k] = if p < glo[k] { p } else { glo[k] };
            ghi[k] = if p > ghi[k] { p } else { ghi[k] };
        }
    }
    let min_of = |a: [f32; LANES]| a.into_iter().fold(f32::INFINITY, |m, v| if v < m { v } else { m });
    let max_of =
        |a: [f32; LANES]| a.into_iter().fold(f32::NEG_INFINITY, |m, v| if v > m { v } else { m });
    [min_of(lo), max_of(hi), min_of(glo), max_of(ghi)]
}
}

crate::simd::multiversion! {
/// `v = clamp(omin + (v·g − nmin)·scale, 0, 1)` with `g` the gain of the pixel's row.
fn apply_gains(values: &mut [f32], w: usize, gains: &[f32], c: [f32; 3]) {
    let [omin, nmin, scale] = c;
    for (row, &g) in values.chunks_exact_mut(w).zip(gains) {
        for v in row {
            *v = (omin + (*v * g - nmin) * scale).clamp(0.0, 1.0);
        }
    }
}
}

/// DeLTA's `illumination_voodoo` (5 control points), drawing the control values from `rng`.
pub fn illumination_voodoo(image: &mut Image, rng: &mut SampleRng) {
    let points = draw_control_points(rng, 5);
    illumination_voodoo_with_points(image, &points);
}

/// DeLTA's `histogram_voodoo` with given interior control values: the tone curve passes through
/// `(0, 0)`, `(k/(n+1), sorted(points)[k−1])` and `(1, 1)` and every pixel is mapped through it.
pub fn histogram_voodoo_with_points(image: &mut Image, points: &[f64]) {
    let n = points.len();
    let knots = linspace(0.0, 1.0, n + 2);
    let mut values = Vec::with_capacity(n + 2);
    values.push(0.0);
    let mut sorted = points.to_vec();
    sorted.sort_by(f64::total_cmp);
    values.extend(sorted);
    values.push(1.0);
    let Ok(curve) = Pchip::new(&knots, &values) else {
        return;
    };
    // Knots are evenly spaced on [0, 1], so the interval is found by one multiplication; the
    // polynomial runs in f32 (rounding ~1e-7).
    let intervals = curve.coef.len();
    let coef: Vec<[f32; 4]> = curve.coef.iter().map(|c| c.map(|v| v as f32)).collect();
    let values = image.as_mut_slice();
    if intervals <= 4 {
        tone_curve_small::<4>(values, &coef);
    } else if intervals <= 16 {
        tone_curve_small::<16>(values, &coef);
    } else {
        let step = 1.0 / intervals as f32;
        let last = intervals - 1;
        for v in values {
            let t = *v;
            let k = ((t * intervals as f32).max(0.0) as usize).min(last);
            let c = &coef[k];
            let dt = t - k as f32 * step;
            *v = (((c[3] * dt + c[2]) * dt + c[1]) * dt + c[0]).clamp(0.0, 1.0);
        }
    }
}

/// The tone curve of [`histogram_voodoo_with_points`] with at most `N` intervals: the interval's
/// coefficients are picked by `N` branch-free selects, so the loop over the pixels vectorises.
#[inline]
fn tone_curve_small<const N: usize>(values: &mut [f32], coef: &[[f32; 4]]) {
    let intervals = coef.len();
    let mut table = [[0f32; 4]; N];
    table[..intervals].copy_from_slice(coef);
    tone_curve_kernel(values, &table[..], intervals)
}

crate::simd::multiversion! {
fn tone_curve_kernel(values: &mut [f32], table: &[[f32; 4]], intervals: usize) {
    let step = 1.0 / intervals as f32;
    let scale = intervals as f32;
    let last = intervals as i32 - 1;
    match table.len() {
        4 => {
            let t4: [[f32; 4]; 4] = std::array::from_fn(|j| table[j]);
            for v in values.iter_mut() {
                *v = tone_point(*v, &t4, scale, step, last);
            }
        }
        _ => {
            let t16: [[f32; 4]; 16] = std::array::from_fn(|j| table.get(j).copied().unwrap_or_default());
            for v in values.iter_mut() {
                *v = tone_point(*v, &t16, scale, step, last);
            }
        }
    }
}
}

#[inline(always)]
fn tone_point<const N: usize>(
    t: f32,
    table: &[[f32; 4]; N],
    scale: f32,
    step: f32,
    last: i32,
) -> f32 {
    let k = super::geometric::floor_i32((t * scale).max(0.0)).clamp(0, last);
    let mut c = table[0];
    for (j, row) in table.iter().enumerate().skip(1) {
        if k >= j as i32 {
            c = *row;
        }
    }
    let dt = t - k as f32 * step;
    (((c[3] * dt + c[2]) * dt + c[1]) * dt + c[0]).clamp(0.0, 1.0)
}

/// DeLTA's `histogram_voodoo` (3 control points), drawing the control values from `rng`.
pub fn histogram_voodoo(image: &mut Image, rng: &mut SampleRng) {
    let points = draw_control_points(rng, 3);
    histogram_voodoo_with_points(image, &points);
}

/// Adds `N(0, sigma)` to every pixel and clips to `[0, 1]`.
///
/// One 64-bit key is drawn from `rng` per image and the per-pixel normals come from
/// [`crate::random::fill_standard_normal`] (bulk, vectorised, added as they are generated by
/// [`crate::random::add_scaled_standard_normal`]), so the noise depends only on the
/// sample's stream, as every other random decision.
pub fn add_gaussian_noise(image: &mut Image, sigma: f32, rng: &mut SampleRng) {
    if sigma <= 0.0 {
        return;
    }
    let key: u64 = rng.random();
    crate::random::add_scaled_standard_normal(key, image.as_mut_slice(), sigma);
}

/// OpenCV's 5-tap Gaussian kernel (`getGaussianKernel(5, sigma)`); `sigma <= 0` gives OpenCV's
/// fixed kernel `[1, 4, 6, 4, 1] / 16`.
pub fn gaussian_kernel5(sigma: f64) -> [f32; 5] {
    if sigma <= 0.0 {
        return [1.0 / 16.0, 4.0 / 16.0, 6.0 / 16.0, 4.0 / 16.0, 1.0 / 16.0];
    }
    let mut k = [0f64; 5];
    let s2 = 2.0 * sigma * sigma;
    for (i, v) in k.iter_mut().enumerate() {
        let x = i as f64 - 2.0;
        *v = (-x * x / s2).exp();
    }
    let sum: f64 = k.iter().sum();
    k.map(|v| (v / sum) as f32)
}

/// Index reflection without repeating the edge pixel (OpenCV `BORDER_REFLECT_101`).
#[inline]
fn reflect101(mut i: isize, n: usize) -> usize {
    let n = n as isize;
    if n == 1 {
        return 0;
    }
    while i < 0 || i >= n {
        if i < 0 {
            i = -i;
        }
        if i >= n {
            i = 2 * n - 2 - i;
        }
    }
    i as usize
}

/// 5×5 Gaussian blur with standard deviation `sigma` in pixels on both axes (OpenCV
/// `GaussianBlur(img, (5, 5), sigma)`), borders reflected without repeating the edge pixel.
pub fn gaussian_blur(image: &mut Image, sigma: f64) {
    let (h, w) = image.shape();
    if h == 0 || w == 0 {
        return;
    }
    let k = gaussian_kernel5(sigma);
    let mut tmp: Vec<f32> = super::scratch::take_uninit(h * w);
    let mut padded: Vec<f32> = super::scratch::take_uninit(w + 4);
    // The reflected columns of the padded row: -2, -1, w, w + 1.
    let border = [-2, -1, w as isize, w as isize + 1].map(|c| reflect101(c, w));
    blur_plane(image.as_mut_slice(), &mut tmp, &mut padded, w, &k, border);
    super::scratch::give(padded);
    super::scratch::give(tmp);
}

/// Both passes of [`gaussian_blur`] over a whole `? × w` plane, in place (`tmp`: a plane of the
/// same size, `padded`: `w + 4` values, `border`: the source columns of the 4 padded ones).
/// Horizontal: `tmp[c] = Σ_j k[j]·padded[c + j]` with `padded` = the row with 2 reflected
/// pixels each side; vertical: `out[c] = clamp(Σ_j k[j]·tmp_{r+j−2}[c], 0, 1)` with reflected
/// rows. The sums run left to right, as in OpenCV's separable filter. With AVX2 the sums of 8
/// pixels are explicit vector operations (the same IEEE operations in the same order).
fn blur_plane(
    values: &mut [f32],
    tmp: &mut [f32],
    padded: &mut [f32],
    w: usize,
    k: &[f32; 5],
    border: [usize; 4],
) {
    #[cfg(target_arch = "x86_64")]
    {
        if std::arch::is_x86_feature_detected!("avx2") {
            // SAFETY: the CPU supports AVX2 (checked just above).
            unsafe { blur_plane_avx2(values, tmp, padded, w, k, border) };
            return;
        }
    }
    blur_passes(
        values,
        tmp,
        padded,
        w,
        k,
        border,
        taps5::<false>,
        taps5::<true>,
    );
}

/// [`blur_plane`] compiled for AVX2 with [`taps5_avx2`].
///
/// # Safety
/// The CPU must support AVX2.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn blur_plane_avx2(
    values: &mut [f32],
    tmp: &mut [f32],
    padded: &mut [f32],
    w: usize,
    k: &[f32; 5],
    border: [usize; 4],
) {
    blur_passes(
        values,
        tmp,
        padded,
        w,
        k,
        border,
        // SAFETY: this function only runs where AVX2 is available.
        |o, t, k| unsafe { taps5_avx2::<false>(o, t, k) },
        // SAFETY: as above.
        |o, t, k| unsafe { taps5_avx2::<true>(o, t, k) },
    );
}

/// The two passes of [`blur_plane`], the sums of a row done by `horizontal` / `vertical`.
#[inline(always)]
#[allow(clippy::too_many_arguments)]
fn blur_passes(
    values: &mut [f32],
    tmp: &mut [f32],
    padded: &mut [f32],
    w: usize,
    k: &[f32; 5],
    border: [usize; 4],
    horizontal: impl Fn(&mut [f32], [&[f32]; 5], &[f32; 5]),
    vertical: impl Fn(&mut [f32], [&[f32]; 5], &[f32; 5]),
) {
    let h = values.len() / w;
    for (row, out) in values.chunks_exact(w).zip(tmp.chunks_exact_mut(w)) {
        padded[2..w + 2].copy_from_slice(row);
        padded[0] = row[border[0]];
        padded[1] = row[border[1]];
        padded[w + 2] = row[border[2]];
        padded[w + 3] = row[border[3]];
        let p = &padded[..w + 4];
        horizontal(
            out,
            [
                &p[..w],
                &p[1..w + 1],
                &p[2..w + 2],
                &p[3..w + 3],
                &p[4..w + 4],
            ],
            k,
        );
    }
    for (r, out) in values.chunks_exact_mut(w).enumerate() {
        let [a, b, c, d, e] = if r >= 2 && r + 2 < h {
            [r - 2, r - 1, r, r + 1, r + 2]
        } else {
            let at = |d: isize| reflect101(r as isize + d, h);
            [at(-2), at(-1), at(0), at(1), at(2)]
        };
        let row = |i: usize| &tmp[i * w..(i + 1) * w];
        vertical(out, [row(a), row(b), row(c), row(d), row(e)], k);
    }
}

/// `out[c] = Σ_j k[j]·taps[j][c]` (summed left to right), clamped to `[0, 1]` when `CLAMP`.
#[inline(always)]
fn taps5<const CLAMP: bool>(out: &mut [f32], taps: [&[f32]; 5], k: &[f32; 5]) {
    let n = out.len();
    let [t0, t1, t2, t3, t4] = taps;
    let (t0, t1, t2, t3, t4) = (&t0[..n], &t1[..n], &t2[..n], &t3[..n], &t4[..n]);
    for c in 0..n {
        let v = k[0] * t0[c] + k[1] * t1[c] + k[2] * t2[c] + k[3] * t3[c] + k[4] * t4[c];
        out[c] = if CLAMP { v.clamp(0.0, 1.0) } else { v };
    }
}

/// [`taps5`] 8 values at a time with AVX2 (the same operations: multiply, add left to right,
/// `max(0, ·)` then `min(1, ·)`, which keep NaN like `clamp`).
///
/// # Safety
/// The CPU must support AVX2.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
#[inline]
unsafe fn taps5_avx2<const CLAMP: bool>(out: &mut [f32], taps: [&[f32]; 5], k: &[f32; 5]) {
    use std::arch::x86_64::*;
    let n = out.len();
    let [t0, t1, t2, t3, t4] = taps;
    let t = [&t0[..n], &t1[..n], &t2[..n], &t3[..n], &t4[..n]];
    let kv = [
        _mm256_set1_ps(k[0]),
        _mm256_set1_ps(k[1]),
        _mm256_set1_ps(k[2]),
        _mm256_set1_ps(k[3]),
        _mm256_set1_ps(k[4]),
    ];
    let (zero, one) = (_mm256_setzero_ps(), _mm256_set1_ps(1.0));
    let mut c = 0;
    while c + 8 <= n {
        // SAFETY: `c + 8 <= n` and every slice has `n` values.
        unsafe {
            let p0 = _mm256_mul_ps(kv[0], _mm256_loadu_ps(t[0].as_ptr().add(c)));
            let p1 = _mm256_mul_ps(kv[1], _mm256_loadu_ps(t[1].as_ptr().add(c)));
            let p2 = _mm256_mul_ps(kv[2], _mm256_loadu_ps(t[2].as_ptr().add(c)));
            let p3 = _mm256_mul_ps(kv[3], _mm256_loadu_ps(t[3].as_ptr().add(c)));
            let p4 = _mm256_mul_ps(kv[4], _mm256_loadu_ps(t[4].as_ptr().add(c)));
            let mut v = _mm256_add_ps(p0, p1);
            v = _mm256_add_ps(v, p2);
            v = _mm256_add_ps(v, p3);
            v = _mm256_add_ps(v, p4);
            if CLAMP {
                v = _mm256_min_ps(one, _mm256_max_ps(zero, v));
            }
            _mm256_storeu_ps(out.as_mut_ptr().add(c), v);
        }
        c += 8;
    }
    taps5::<CLAMP>(
        &mut out[c..],
        [&t[0][c..], &t[1][c..], &t[2][c..], &t[3][c..], &t[4][c..]],
        k,
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pchip_reproduces_a_line_and_is_monotone() {
        let p = Pchip::new(&[0.0, 1.0, 2.0, 3.0], &[0.0, 1.0, 2.0, 3.0]).unwrap();
        for i in 0..=30 {
            let t = i as f64 / 10.0;
            assert!((p.eval(t) - t).abs() < 1e-12);
        }
        let q = Pchip::new(&[0.0, 0.25, 0.5, 0.75, 1.0], &[0.0, 0.2, 0.21, 0.8, 1.0]).unwrap();
        let mut prev = -1.0;
        for i in 0..=1000 {
            let v = q.eval(i as f64 / 1000.0);
            assert!(v >= prev - 1e-12);
            prev = v;
        }
    }

    #[test]
    fn pchip_flat_where_data_has_an_extremum() {
        // SciPy: an interior knot where the slopes change sign gets derivative 0.
        let p = Pchip::new(&[0.0, 1.0, 2.0], &[0.0, 1.0, 0.0]).unwrap();
        let e = 1e-6;
        assert!((p.eval(1.0 + e) - p.eval(1.0 - e)).abs() < 1e-9);
        assert!(p.eval(1.0 + e) <= 1.0 && p.eval(1.0 - e) <= 1.0);
    }

    #[test]
    fn kernel_matches_opencv_formula() {
        let k = gaussian_kernel5(1.0);
        let e: Vec<f64> = (-2..=2)
            .map(|x: i32| (-(x * x) as f64 / 2.0).exp())
            .collect();
        let s: f64 = e.iter().sum();
        for i in 0..5 {
            assert!((k[i] as f64 - e[i] / s).abs() < 1e-7);
        }
        assert_eq!(reflect101(-1, 5), 1);
        assert_eq!(reflect101(-2, 5), 2);
        assert_eq!(reflect101(5, 5), 3);
        assert_eq!(reflect101(6, 5), 2);
    }

    #[test]
    fn blur_matches_a_naive_reflect101_convolution() {
        for (h, w) in [(7, 9), (3, 4), (1, 6), (12, 2)] {
            let img = Image::from_plane(crate::image::Plane::from_fn(h, w, |r, c| {
                ((r * 13 + c * 7) % 11) as f32 / 11.0
            }));
            let k = gaussian_kernel5(0.9);
            let mut out = img.clone();
            gaussian_blur(&mut out, 0.9);
            for r in 0..h {
                for c in 0..w {
                    let mut v = 0.0;
                    for (i, ki) in k.iter().enumerate() {
                        for (j, kj) in k.iter().enumerate() {
                            let rr = reflect101(r as isize + i as isize - 2, h);
                            let cc = reflect101(c as isize + j as isize - 2, w);
                            v += ki * kj * img.get(rr, cc);
                        }
                    }
                    assert!((out.get(r, c) - v).abs() < 1e-5, "{h}x{w} ({r}, {c})");
                }
            }
        }
    }

    #[test]
    fn blur_keeps_constants_and_mass_interior() {
        let mut img = Image::filled(7, 9, 0.4);
        gaussian_blur(&mut img, 1.3);
        assert!(img.as_slice().iter().all(|v| (v - 0.4).abs() < 1e-6));
        let mut d = Image::zeros(9, 9);
        d.set(4, 4, 1.0);
        gaussian_blur(&mut d, 1.0);
        let sum: f32 = d.as_slice().iter().sum();
        assert!((sum - 1.0).abs() < 1e-5);
        assert!(d.get(4, 4) > d.get(4, 5) && d.get(4, 5) > d.get(4, 6));
    }
}
