//! Drift correction, as DeLTA 3 does it (`imgops.drift_template`, `compute_drift`,
//! `correct_drift`).
//!
//! The template is a region of the (rotated) reference frame: 2.5 % of the frame cut on every
//! side, and, unless the whole frame is asked for, only the part above the chambers. Each frame
//! is searched for the template with OpenCV's `matchTemplate(TM_CCOEFF_NORMED)` on 8-bit images
//! ([`match_template`]); the first maximum in row-major order ([`max_loc`], OpenCV's
//! `minMaxLoc`) minus the template's own corner is the frame's drift `(x, y)` in pixels, and
//! [`correct`] shifts the frame back by it.
//!
//! The API works frame by frame: build a [`DriftTemplate`] once from the reference, then call
//! [`DriftTemplate::drift`] on each frame as it is read.
//!
//! DeLTA's `Position.preprocess` chains the three pre-processing modules in this order:
//!
//! ```text
//! reference = frame 0, channel 0 (float32 in [0, 1])
//! angle     = rotation::deskew(&reference)                      (if correct_rotation)
//! every frame, every channel: rotation::rotate(&frame, angle);  reference likewise
//! boxes     = chambers::roi_boxes(&reference, &params, model)   (mother machine; else the whole frame)
//! template  = DriftTemplate::new(&boxes, &reference, whole_frame_drift)   (if correct_drift)
//! each frame t: (x, y) = template.drift(&channel 0 of t);
//!               every channel of t: correct(&plane, (x, y))
//! each ROI: CroppingBox { box }.crop(&corrected plane)          (zero padding outside)
//! ```
//!
//! [`match_template`] computes the correlation exactly, in integers (DeLTA's images are 8-bit
//! there): the cross-correlation directly with 16-bit products summed in 32 bits, the window
//! sums from integral images, the normalised score in `f64`. OpenCV computes in `float32` (with
//! a DFT), so its scores differ in the last bits; only a near-tie between two positions could
//! make the maxima differ.

use deltacell_data::tiles::CroppingBox;
use deltacell_data::Plane;

use crate::error::{Error, Result};
use crate::results::CropBox;
use crate::rotation::to_u8;

fn drift_error(problem: impl Into<String>) -> Error {
    Error::Preprocess {
        step: "drift",
        problem: problem.into(),
    }
}

/// Python's `slice(start, stop)` bound resolution on an axis of `len` elements (negative stops
/// count from the end), keeping a stop beyond the end (DeLTA's crop pads it with zeros).
fn resolve_stop(stop: i64, len: i64) -> i64 {
    if stop < 0 {
        (stop + len).max(0)
    } else {
        stop
    }
}

/// The drift template of a position: DeLTA's `drift_template(chamberboxes, reference,
/// whole_frame)` and the 8-bit template that `compute_drift` matches.
#[derive(Clone, Debug, PartialEq)]
pub struct DriftTemplate {
    /// DeLTA's box `(xtl, ytl, xbr, ybr)` as DeLTA writes it (`xbr = −x_cut`, and `ybr = −y_cut`
    /// for the whole frame: Python's negative slice ends).
    delta_box: CropBox,
    /// The template, 8 bits (`to_integer_values` of the crop of the reference).
    template: Plane<u8>,
    /// `(height, width)` of the reference.
    frame_shape: (usize, usize),
}

impl DriftTemplate {
    /// DeLTA's `drift_template`: with `cut = (round(0.025·h), round(0.025·w))` (Python's
    /// rounding, half to even), the box spans columns `[x_cut, w − x_cut)` and rows
    /// `[y_cut, max(chamber ytl) − y_cut)`, or `[y_cut, h − y_cut)` when `whole_frame`. A
    /// negative bottom row counts from the frame's bottom, as Python's slices do (so chambers
    /// closer than `2·y_cut` to the top give DeLTA's nearly-whole-frame template).
    ///
    /// `reference` is the rotated first frame, values in `[0, 1]`; `chambers` are the ROI boxes
    /// (ignored when `whole_frame`). Fails when the reference is empty or out of range, when
    /// `chambers` is empty without `whole_frame`, when the template is empty, and when it is
    /// constant (no position can be matched).
    ///
    /// ```
    /// use deltacell_data::Plane;
    /// use deltacell_analysis::drift::DriftTemplate;
    /// use deltacell_analysis::results::CropBox;
    /// let reference = Plane::from_fn(80, 80, |r, c| ((r * r * 31 + c * c * 17 + r * c * 7) % 101) as f32 / 100.0);
    /// let chamber = CropBox { xtl: 10, ytl: 40, xbr: 20, ybr: 79 };
    /// let t = DriftTemplate::new(&[chamber], &reference, false)?;
    /// // cut = round(2.0) = 2: columns 2..78, rows 2..38.
    /// assert_eq!(t.template().shape(), (36, 76));
    /// assert_eq!(t.drift(&reference)?, (0, 0));
    /// # Ok::<(), deltacell_analysis::Error>(())
    /// ```
    pub fn new(chambers: &[CropBox], reference: &Plane<f32>, whole_frame: bool) -> Result<Self> {
        let (h, w) = reference.shape();
        if h == 0 || w == 0 {
            return Err(drift_error("empty reference frame"));
        }
        let y_cut = (h as f64 * 0.025).round_ties_even() as i64;
        let x_cut = (w as f64 * 0.025).round_ties_even() as i64;
        let ybr = if whole_frame {
            -y_cut
        } else {
            let top = chambers.iter().map(|b| b.ytl).max().ok_or_else(|| {
                drift_error("no chamber box to place the template above (and not whole frame)")
            })?;
            top - y_cut
        };
        let delta_box = CropBox {
            xtl: x_cut,
            ytl: y_cut,
            xbr: -x_cut,
            ybr,
        };
        let crop = CroppingBox {
            ytl: y_cut,
            xtl: x_cut,
            ybr: resolve_stop(ybr, h as i64),
            xbr: resolve_stop(-x_cut, w as i64),
        };
        if crop.ybr <= crop.ytl || crop.xbr <= crop.xtl {
            return Err(drift_error(format!(
                "empty drift template: rows {}..{}, columns {}..{} of a {h}×{w} frame",
                crop.ytl, crop.ybr, crop.xtl, crop.xbr
            )));
        }
        let template = to_u8(&crop.crop(reference))?;
        let first = template.as_slice()[0];
        if template.as_slice().iter().all(|&v| v == first) {
            return Err(drift_error(
                "constant drift template (a featureless reference frame): nothing to match",
            ));
        }
        Ok(DriftTemplate {
            delta_box,
            template,
            frame_shape: (h, w),
        })
    }

    /// DeLTA's template box, `xbr` and (for the whole frame) `ybr` negative as DeLTA stores them.
    pub fn delta_box(&self) -> CropBox {
        self.delta_box
    }

    /// The 8-bit template.
    pub fn template(&self) -> &Plane<u8> {
        &self.template
    }

    /// DeLTA's `compute_drift` for one frame (values in `[0, 1]`, the reference's shape, rotated
    /// as the reference): `(x, y)` drift in pixels, the template's best match in the frame minus
    /// the template's corner `(x_cut, y_cut)`. Fails on a frame of another shape, values out of
    /// range, or a constant frame.
    pub fn drift(&self, frame: &Plane<f32>) -> Result<(i64, i64)> {
        if frame.shape() != self.frame_shape {
            return Err(drift_error(format!(
                "frame of {}×{} pixels, the reference is {}×{} (height × width)",
                frame.height(),
                frame.width(),
                self.frame_shape.0,
                self.frame_shape.1
            )));
        }
        let image = to_u8(frame)?;
        let first = image.as_slice()[0];
        if image.as_slice().iter().all(|&v| v == first) {
            return Err(drift_error(
                "constant frame: the template cannot be located",
            ));
        }
        let scores = match_template(&image, &self.template)?;
        let (x, y) = max_loc(&scores);
        Ok((x as i64 - self.delta_box.xtl, y as i64 - self.delta_box.ytl))
    }
}

/// Dot product of two equally long rows of 8-bit values widened to 16 bits, summed in 32 bits
/// (exact for rows up to 33 000 pixels): AVX2 or SSE2 multiply-adds on x86-64, scalar
/// elsewhere. Integer arithmetic, so every path gives the same result.
fn dot(a: &[i16], b: &[i16]) -> i32 {
    #[cfg(target_arch = "x86_64")]
    {
        if std::arch::is_x86_feature_detected!("avx2") {
            // SAFETY: the CPU supports AVX2 (checked just above).
            return unsafe { x86::dot_avx2(a, b) };
        }
        x86::dot_sse2(a, b)
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        dot_scalar(a, b)
    }
}

/// `[dot(t, i[j..j + t.len()]) for j in 0..4]`: four neighbouring placements sharing the
/// template's loads (`i.len() ≥ t.len() + 3`).
fn dot4(t: &[i16], i: &[i16]) -> [i32; 4] {
    #[cfg(target_arch = "x86_64")]
    {
        if std::arch::is_x86_feature_detected!("avx2") && i.len() >= t.len() + 3 {
            // SAFETY: the CPU supports AVX2 (checked just above); `i` is long enough.
            return unsafe { x86::dot4_avx2(t, i) };
        }
    }
    [0, 1, 2, 3].map(|j| dot(t, &i[j..j + t.len()]))
}

/// The portable dot product (also the tail of the vector ones).
fn dot_scalar(a: &[i16], b: &[i16]) -> i32 {
    a.iter()
        .zip(b)
        .map(|(&x, &y)| i32::from(x) * i32::from(y))
        .sum()
}

#[cfg(target_arch = "x86_64")]
mod x86 {
    use std::arch::x86_64::{
        __m128i, __m256i, _mm256_add_epi32, _mm256_loadu_si256, _mm256_madd_epi16,
        _mm256_setzero_si256, _mm256_storeu_si256, _mm_add_epi32, _mm_loadu_si128, _mm_madd_epi16,
        _mm_setzero_si128, _mm_storeu_si128,
    };

    use super::dot_scalar;

    /// [`super::dot`] with 16 lanes. Pairs of 8-bit products (≤ 2·255²) summed in 32-bit lanes.
    ///
    /// # Safety
    /// The CPU must support AVX2.
    #[target_feature(enable = "avx2")]
    pub(super) unsafe fn dot_avx2(a: &[i16], b: &[i16]) -> i32 {
        let n = a.len().min(b.len());
        let chunks = n / 16;
        let mut acc = _mm256_setzero_si256();
        for k in 0..chunks {
            // SAFETY: `k·16 + 16 ≤ n`, so both 32-byte unaligned loads stay inside the slices.
            let (va, vb) = unsafe {
                (
                    _mm256_loadu_si256(a.as_ptr().add(k * 16).cast::<__m256i>()),
                    _mm256_loadu_si256(b.as_ptr().add(k * 16).cast::<__m256i>()),
                )
            };
            acc = _mm256_add_epi32(acc, _mm256_madd_epi16(va, vb));
        }
        let mut lanes = [0i32; 8];
        // SAFETY: `lanes` holds exactly 32 bytes; the store is unaligned.
        unsafe { _mm256_storeu_si256(lanes.as_mut_ptr().cast::<__m256i>(), acc) };
        lanes.iter().sum::<i32>() + dot_scalar(&a[chunks * 16..n], &b[chunks * 16..n])
    }

    /// [`super::dot4`] with 16 lanes: one template load feeds four multiply-adds.
    ///
    /// # Safety
    /// The CPU must support AVX2, and `i.len() ≥ t.len() + 3`.
    #[target_feature(enable = "avx2")]
    pub(super) unsafe fn dot4_avx2(t: &[i16], i: &[i16]) -> [i32; 4] {
        let n = t.len();
        let chunks = n / 16;
        let (mut a0, mut a1, mut a2, mut a3) = (
            _mm256_setzero_si256(),
            _mm256_setzero_si256(),
            _mm256_setzero_si256(),
            _mm256_setzero_si256(),
        );
        for k in 0..chunks {
            // SAFETY: `k·16 + 16 ≤ n` for the template, and `3 + k·16 + 16 ≤ n + 3 ≤ i.len()`
            // for the image row: every 32-byte unaligned load stays inside its slice.
            unsafe {
                let vt = _mm256_loadu_si256(t.as_ptr().add(k * 16).cast::<__m256i>());
                let p = i.as_ptr().add(k * 16);
                let v0 = _mm256_loadu_si256(p.cast::<__m256i>());
                let v1 = _mm256_loadu_si256(p.add(1).cast::<__m256i>());
                let v2 = _mm256_loadu_si256(p.add(2).cast::<__m256i>());
                let v3 = _mm256_loadu_si256(p.add(3).cast::<__m256i>());
                a0 = _mm256_add_epi32(a0, _mm256_madd_epi16(vt, v0));
                a1 = _mm256_add_epi32(a1, _mm256_madd_epi16(vt, v1));
                a2 = _mm256_add_epi32(a2, _mm256_madd_epi16(vt, v2));
                a3 = _mm256_add_epi32(a3, _mm256_madd_epi16(vt, v3));
            }
        }
        let mut out = [0i32; 4];
        for (j, a) in [a0, a1, a2, a3].into_iter().enumerate() {
            let mut lanes = [0i32; 8];
            // SAFETY: `lanes` holds exactly 32 bytes; the store is unaligned.
            unsafe { _mm256_storeu_si256(lanes.as_mut_ptr().cast::<__m256i>(), a) };
            out[j] = lanes.iter().sum::<i32>()
                + dot_scalar(&t[chunks * 16..], &i[j + chunks * 16..j + n]);
        }
        out
    }

    /// [`super::dot`] with 8 lanes (SSE2, always present on x86-64).
    pub(super) fn dot_sse2(a: &[i16], b: &[i16]) -> i32 {
        let n = a.len().min(b.len());
        let chunks = n / 8;
        let mut lanes = [0i32; 4];
        // SAFETY: SSE2 is part of the x86-64 baseline; `k·8 + 8 ≤ n`, so both 16-byte
        // unaligned loads stay inside the slices; `lanes` holds exactly 16 bytes.
        unsafe {
            let mut acc = _mm_setzero_si128();
            for k in 0..chunks {
                let va = _mm_loadu_si128(a.as_ptr().add(k * 8).cast::<__m128i>());
                let vb = _mm_loadu_si128(b.as_ptr().add(k * 8).cast::<__m128i>());
                acc = _mm_add_epi32(acc, _mm_madd_epi16(va, vb));
            }
            _mm_storeu_si128(lanes.as_mut_ptr().cast::<__m128i>(), acc);
        }
        lanes.iter().sum::<i32>() + dot_scalar(&a[chunks * 8..n], &b[chunks * 8..n])
    }
}

/// OpenCV's `matchTemplate(image, template, TM_CCOEFF_NORMED)` on 8-bit images: for every
/// placement `(x, y)` of the template inside the image, the correlation coefficient
///
/// `R = Σ (T − mean T)(I − mean I) / √(Σ (T − mean T)² · Σ (I − mean I)²)`
///
/// over the window, in `[−1, 1]`; 0 where the window is constant (as OpenCV). The result has
/// `(h − th + 1) × (w − tw + 1)` scores. Fails when the template is empty, larger than the
/// image, or constant (OpenCV then returns all ones), or wider than 33 000 pixels.
///
/// ```
/// use deltacell_data::Plane;
/// use deltacell_analysis::drift::{match_template, max_loc};
/// let img = Plane::from_fn(6, 7, |r, c| ((r * r * 31 + c * c * 17 + r * c * 7) % 101) as u8 * 2);
/// let tpl = Plane::from_fn(3, 3, |r, c| img.get(r + 2, c + 1));
/// let s = match_template(&img, &tpl)?;
/// assert_eq!(s.shape(), (4, 5));
/// assert_eq!(max_loc(&s), (1, 2));
/// assert!((s.get(2, 1) - 1.0).abs() < 1e-12);
/// # Ok::<(), deltacell_analysis::Error>(())
/// ```
pub fn match_template(image: &Plane<u8>, template: &Plane<u8>) -> Result<Plane<f64>> {
    let (h, w) = image.shape();
    let (th, tw) = template.shape();
    if th == 0 || tw == 0 {
        return Err(drift_error("empty template"));
    }
    if th > h || tw > w {
        return Err(drift_error(format!(
            "template of {th}×{tw} pixels larger than the {h}×{w} image (height × width)"
        )));
    }
    if tw > 33_000 {
        return Err(drift_error(format!("template too wide: {tw} pixels")));
    }
    let n = (th * tw) as i128;
    let t_sum: i128 = template.as_slice().iter().map(|&v| i128::from(v)).sum();
    let t_sq: i128 = template
        .as_slice()
        .iter()
        .map(|&v| i128::from(v) * i128::from(v))
        .sum();
    let t_var = n * t_sq - t_sum * t_sum;
    if t_var == 0 {
        return Err(drift_error("constant template: every placement matches"));
    }
    // Integral images of the image and of its square, (h + 1) × (w + 1).
    let w1 = w + 1;
    let mut s1 = vec![0u64; (h + 1) * w1];
    let mut s2 = vec![0u64; (h + 1) * w1];
    for r in 0..h {
        let (mut a1, mut a2) = (0u64, 0u64);
        for (c, &v) in image.row(r).iter().enumerate() {
            a1 += u64::from(v);
            a2 += u64::from(v) * u64::from(v);
            s1[(r + 1) * w1 + c + 1] = s1[r * w1 + c + 1] + a1;
            s2[(r + 1) * w1 + c + 1] = s2[r * w1 + c + 1] + a2;
        }
    }
    let window = |s: &[u64], y: usize, x: usize| -> i128 {
        i128::from(s[(y + th) * w1 + x + tw]) + i128::from(s[y * w1 + x])
            - i128::from(s[y * w1 + x + tw])
            - i128::from(s[(y + th) * w1 + x])
    };
    let (ny, nx) = (h - th + 1, w - tw + 1);
    let img16: Vec<i16> = image.as_slice().iter().map(|&v| i16::from(v)).collect();
    let tpl16: Vec<i16> = template.as_slice().iter().map(|&v| i16::from(v)).collect();
    let mut cc = vec![0i64; ny * nx];
    for y in 0..ny {
        let out = &mut cc[y * nx..(y + 1) * nx];
        for r in 0..th {
            let t_row = &tpl16[r * tw..(r + 1) * tw];
            let i_row = &img16[(y + r) * w..(y + r + 1) * w];
            // Four placements at a time, then the rest one by one.
            let mut x = 0;
            while x + 4 <= nx {
                let d = dot4(t_row, &i_row[x..x + tw + 3]);
                for (o, v) in out[x..x + 4].iter_mut().zip(d) {
                    *o += i64::from(v);
                }
                x += 4;
            }
            for (o, x) in out[x..].iter_mut().zip(x..) {
                *o += i64::from(dot(t_row, &i_row[x..x + tw]));
            }
        }
    }
    let t_var = t_var as f64;
    Ok(Plane::from_fn(ny, nx, |y, x| {
        let i_sum = window(&s1, y, x);
        let i_sq = window(&s2, y, x);
        let i_var = n * i_sq - i_sum * i_sum;
        if i_var <= 0 {
            return 0.0;
        }
        let num = n * i128::from(cc[y * nx + x]) - t_sum * i_sum;
        num as f64 / (t_var * i_var as f64).sqrt()
    }))
}

/// The position `(x, y)` = `(column, row)` of the first maximum in row-major order (OpenCV's
/// `minMaxLoc` `maxLoc`); `(0, 0)` for an empty plane. NaN scores are skipped.
///
/// ```
/// use deltacell_data::Plane;
/// use deltacell_analysis::drift::max_loc;
/// let s = Plane::from_vec(2, 3, vec![0.1, 0.9, 0.2, 0.9, 0.3, 0.0])?;
/// assert_eq!(max_loc(&s), (1, 0));
/// # Ok::<(), deltacell_data::Error>(())
/// ```
pub fn max_loc(scores: &Plane<f64>) -> (usize, usize) {
    let w = scores.width().max(1);
    let mut best = f64::NEG_INFINITY;
    let mut at = 0usize;
    for (i, &v) in scores.as_slice().iter().enumerate() {
        if v > best {
            best = v;
            at = i;
        }
    }
    (at % w, at / w)
}

/// DeLTA's `_correct_drift(image, drift)`: `warpAffine` by the translation `(−x, −y)` with
/// replicated borders, which for DeLTA's integer drifts is an exact shift: output pixel
/// `(r, c)` is input pixel `(r + y, c + x)`, clamped to the image.
///
/// ```
/// use deltacell_data::Plane;
/// use deltacell_analysis::drift::correct;
/// let p = Plane::from_vec(2, 3, vec![1, 2, 3, 4, 5, 6])?;
/// assert_eq!(correct(&p, (1, 0)).as_slice(), &[2, 3, 3, 5, 6, 6]);
/// assert_eq!(correct(&p, (0, -1)).as_slice(), &[1, 2, 3, 1, 2, 3]);
/// # Ok::<(), deltacell_data::Error>(())
/// ```
pub fn correct<T: Copy>(plane: &Plane<T>, drift: (i64, i64)) -> Plane<T> {
    let (h, w) = plane.shape();
    if h == 0 || w == 0 || drift == (0, 0) {
        return plane.clone();
    }
    let (dx, dy) = drift;
    let cols: Vec<usize> = (0..w as i64)
        .map(|c| (c + dx).clamp(0, w as i64 - 1) as usize)
        .collect();
    Plane::from_fn(h, w, |r, c| {
        let sr = (r as i64 + dy).clamp(0, h as i64 - 1) as usize;
        plane.get(sr, cols[c])
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pattern(h: usize, w: usize) -> Plane<f32> {
        Plane::from_fn(h, w, |r, c| {
            ((r * r * 31 + c * c * 17 + r * c * 7) % 101) as f32 / 100.0
        })
    }

    #[test]
    fn drift_recovers_a_shift() {
        let reference = pattern(60, 80);
        let t = DriftTemplate::new(&[], &reference, true).unwrap();
        for shift in [(2i64, -1i64), (-1, 1), (0, 0)] {
            // A frame whose content moved by (x, y): frame(r, c) = reference(r − y, c − x).
            let frame = correct(&reference, (-shift.0, -shift.1));
            assert_eq!(t.drift(&frame).unwrap(), shift);
            // Correcting puts it back (away from the replicated border).
            let back = correct(&frame, shift);
            assert_eq!(back.get(30, 40), reference.get(30, 40));
        }
    }

    #[test]
    fn template_box_follows_delta() {
        let reference = pattern(520, 696);
        let chambers = [
            CropBox {
                xtl: 5,
                ytl: 120,
                xbr: 30,
                ybr: 400,
            },
            CropBox {
                xtl: 50,
                ytl: 131,
                xbr: 80,
                ybr: 401,
            },
        ];
        let t = DriftTemplate::new(&chambers, &reference, false).unwrap();
        assert_eq!(
            t.delta_box(),
            CropBox {
                xtl: 17,
                ytl: 13,
                xbr: -17,
                ybr: 118
            }
        );
        assert_eq!(t.template().shape(), (105, 662));
        let t = DriftTemplate::new(&chambers, &reference, true).unwrap();
        assert_eq!(t.template().shape(), (494, 662));
        // Chambers at the very top: Python's negative slice end counts from the bottom.
        let top = [CropBox {
            xtl: 5,
            ytl: 3,
            xbr: 30,
            ybr: 400,
        }];
        let t = DriftTemplate::new(&top, &reference, false).unwrap();
        assert_eq!(t.template().shape(), (520 - 10 - 13, 662));
    }

    #[test]
    fn bad_inputs_are_errors() {
        let reference = pattern(60, 80);
        assert!(DriftTemplate::new(&[], &reference, false).is_err());
        assert!(DriftTemplate::new(&[], &Plane::filled(0, 0, 0f32), true).is_err());
        assert!(DriftTemplate::new(&[], &Plane::filled(60, 80, 0.5f32), true).is_err());
        // Chambers at 2·y_cut: empty template.
        let b = [CropBox {
            xtl: 0,
            ytl: 4,
            xbr: 10,
            ybr: 50,
        }];
        assert!(DriftTemplate::new(&b, &reference, false).is_err());
        let t = DriftTemplate::new(&[], &reference, true).unwrap();
        assert!(t.drift(&pattern(50, 80)).is_err());
        assert!(t.drift(&Plane::filled(60, 80, 0.2f32)).is_err());
        let img = Plane::filled(4, 4, 3u8);
        let big = Plane::from_fn(5, 4, |r, _| r as u8);
        assert!(match_template(&img, &big).is_err());
        assert!(match_template(&img, &Plane::filled(0, 0, 0u8)).is_err());
        assert!(match_template(&big, &Plane::filled(2, 2, 1u8)).is_err());
    }

    #[test]
    fn dot_paths_agree() {
        let a: Vec<i16> = (0..77).map(|i| ((i * 37) % 256) as i16).collect();
        let b: Vec<i16> = (0..77).map(|i| ((i * 91 + 5) % 256) as i16).collect();
        for n in [0, 1, 7, 8, 15, 16, 17, 77] {
            let want = dot_scalar(&a[..n], &b[..n]);
            assert_eq!(dot(&a[..n], &b[..n]), want);
            if n + 3 <= a.len() {
                let four = dot4(&a[..n], &b[..n + 3]);
                for (j, v) in four.into_iter().enumerate() {
                    assert_eq!(v, dot_scalar(&a[..n], &b[j..j + n]));
                }
            }
            #[cfg(target_arch = "x86_64")]
            assert_eq!(x86::dot_sse2(&a[..n], &b[..n]), want);
        }
    }

    #[test]
    fn constant_windows_score_zero() {
        let mut img = Plane::filled(6, 6, 10u8);
        img.set(5, 5, 200);
        let tpl = Plane::from_fn(2, 2, |r, c| (r * 2 + c) as u8);
        let s = match_template(&img, &tpl).unwrap();
        assert_eq!(s.get(0, 0), 0.0);
        assert!(s.get(4, 4) != 0.0);
    }
}
