//! The segmentation sample's fused warp: one pass that resamples the image bilinearly into the
//! batch's `x` and the mask and weights (read in place from their files' rasters) by the nearest
//! source pixel into `y`, channels last, with AVX2 gathers where the CPU has them. Used by
//! [`super::augment_seg_into`]; equal to [`super::geometric`]'s general warp followed by the
//! interleaving (test `seg_kernels_equal_warp_sample`).

use super::geometric::{floor_i32, Affine, RowMap, SourceMap, BLOCK};

/// The label side of a segmentation sample as a window of larger rasters: pixel `(r, c)` of
/// the sample is element `offset + r·stride + c` of `mask` (and of `weights`).
#[derive(Clone, Copy, Debug)]
pub(crate) struct LabelWindow<'a> {
    /// Binary mask (0/1).
    pub mask: &'a [u8],
    /// Weight map of the same layout; `None` = every weight is 1.
    pub weights: Option<&'a [f32]>,
    /// Elements between two rows.
    pub stride: usize,
    /// Element of pixel `(0, 0)`.
    pub offset: usize,
    /// What to write per pixel.
    pub channels: LabelChannels,
}

/// What [`warp_seg_into`] writes to `y`: the label only, or `[label, weight]` per pixel.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum LabelChannels {
    /// One channel: the mask as 0/1.
    Label,
    /// Two interleaved channels: the mask as 0/1, then its weight.
    LabelAndWeight,
}

/// Resamples one segmentation sample through `affine` straight into the batch's buffers:
/// `image` (`source` = `(height, width)`, row-major) bilinearly into `x` (`out_shape`,
/// row-major), and the mask and weights of `labels` (the same `source` shape, read through the
/// window) by the nearest source pixel into `y`, channels last. Exactly what
/// [`warp_sample`] computes for `[Image, Mask, Weights]` followed by the conversion of the mask
/// to `f32` and the interleaving, in one pass and without intermediate rasters (the source
/// coordinates of a pixel are computed once for both interpolations).
pub(crate) fn warp_seg_into(
    image: &[f32],
    source: (usize, usize),
    affine: &Affine,
    out_shape: (usize, usize),
    labels: &LabelWindow<'_>,
    x: &mut [f32],
    y: &mut [f32],
) {
    let (ho, wo) = out_shape;
    let c = match labels.channels {
        LabelChannels::Label => 1,
        LabelChannels::LabelAndWeight => 2,
    };
    assert!(
        source.0 > 0 && source.1 > 0 && image.len() == source.0 * source.1,
        "warp_seg_into: image of {} values for a {source:?} source",
        image.len()
    );
    assert!(
        x.len() == ho * wo && y.len() == ho * wo * c,
        "warp_seg_into: output buffers do not match {out_shape:?}"
    );
    let last = labels.offset + (source.0 - 1) * labels.stride + source.1 - 1;
    assert!(
        labels.stride >= source.1
            && last < labels.mask.len()
            && labels.weights.is_none_or(|w| last < w.len()),
        "warp_seg_into: label window outside its rasters"
    );
    if wo == 0 {
        return;
    }
    let map = SourceMap::new(affine, source);
    #[cfg(target_arch = "x86_64")]
    {
        if std::arch::is_x86_feature_detected!("avx2")
            && image.len() < i32::MAX as usize
            && labels.mask.len() < i32::MAX as usize
        {
            // SAFETY: AVX2 is available; the asserts above keep every index the coordinates
            // produce (clamped to the source shape, shifted by the window) inside the buffers,
            // and the lengths fit the gathers' 32-bit indices.
            unsafe { seg_kernel_avx2(image, &map, labels, c, x, y, wo) };
            return;
        }
    }
    seg_kernel(image, &map, labels, c, x, y, wo);
}

/// Per-block temporaries of the segmentation kernels (every entry is written before it is read).
struct SegScratch {
    base: [u32; BLOCK],
    step_x: [u32; BLOCK],
    step_y: [u32; BLOCK],
    near: [u32; BLOCK],
    ax: [f32; BLOCK],
    ay: [f32; BLOCK],
}

impl SegScratch {
    fn new() -> Self {
        SegScratch {
            base: [0; BLOCK],
            step_x: [0; BLOCK],
            step_y: [0; BLOCK],
            near: [0; BLOCK],
            ax: [0.0; BLOCK],
            ay: [0.0; BLOCK],
        }
    }
}

/// The source coordinates of the `n` output pixels from column `first` of a row: bilinear
/// taps and weights (as in [`bilinear_row`]) and the nearest pixel in a raster of `stride`
/// elements per row (as in [`nearest_row`]), in one loop that the compiler vectorises.
#[inline(always)]
fn seg_coords(map: &RowMap, first: i32, n: usize, stride: i32, s: &mut SegScratch) {
    let (w, wm, hm) = (map.src_w, map.src_w - 1, map.src_h - 1);
    let (hix, hiy) = (map.src_w as f32 + 1.0, map.src_h as f32 + 1.0);
    for k in 0..n.next_multiple_of(8).min(BLOCK) {
        let xf = (first + k as i32) as f32;
        let sx = (map.m0 * xf + map.r0).clamp(-2.0, hix);
        let sy = (map.m3 * xf + map.r1).clamp(-2.0, hiy);
        let x0 = floor_i32(sx);
        let y0 = floor_i32(sy);
        s.ax[k] = sx - x0 as f32;
        s.ay[k] = sy - y0 as f32;
        let xa = x0.clamp(0, wm);
        let xb = (x0 + 1).clamp(0, wm);
        let ya = y0.clamp(0, hm) * w;
        let yb = (y0 + 1).clamp(0, hm) * w;
        s.base[k] = (ya + xa) as u32;
        s.step_x[k] = (xb - xa) as u32;
        s.step_y[k] = (yb - ya) as u32;
        let ix = floor_i32(sx + 0.5).clamp(0, wm);
        let iy = floor_i32(sy + 0.5).clamp(0, hm);
        s.near[k] = (iy * stride + ix) as u32;
    }
}

/// Pixels `from..n` of a block of [`seg_kernel`], one at a time: bilinear blend into `ob`,
/// labels (and weights) into `yb` (`c` channels per pixel).
#[inline(always)]
fn seg_pixels(
    image: &[f32],
    labels: &LabelWindow<'_>,
    c: usize,
    s: &SegScratch,
    from: usize,
    ob: &mut [f32],
    yb: &mut [f32],
) {
    let last = image.len() - 1;
    let mlast = labels.mask.len() - 1;
    for k in from..ob.len() {
        // In range by the clamps; `min` only spares the bounds checks.
        let i = s.base[k] as usize;
        let (dx, dy) = (s.step_x[k] as usize, s.step_y[k] as usize);
        let p00 = image[i.min(last)];
        let p01 = image[(i + dx).min(last)];
        let p10 = image[(i + dy).min(last)];
        let p11 = image[(i + dy + dx).min(last)];
        let top = p00 + s.ax[k] * (p01 - p00);
        let bot = p10 + s.ax[k] * (p11 - p10);
        ob[k] = top + s.ay[k] * (bot - top);
        let j = labels.offset + s.near[k] as usize;
        yb[k * c] = f32::from(labels.mask[j.min(mlast)]);
        if c == 2 {
            yb[k * c + 1] = match labels.weights {
                Some(wei) => wei[j.min(wei.len() - 1)],
                None => 1.0,
            };
        }
    }
}

/// The rows of [`warp_seg_into`] (portable): per block of pixels, the source coordinates
/// (vectorised), then pixel by pixel the taps, the blend and the label gathers. Coordinates,
/// taps and arithmetic are those of [`bilinear_row`] and [`nearest_row`].
fn seg_kernel(
    image: &[f32],
    map: &SourceMap,
    labels: &LabelWindow<'_>,
    c: usize,
    x: &mut [f32],
    y: &mut [f32],
    wo: usize,
) {
    let mut s = SegScratch::new();
    for (r, (xrow, yrow)) in x
        .chunks_exact_mut(wo)
        .zip(y.chunks_exact_mut(wo * c))
        .enumerate()
    {
        let row = map.row(r);
        for (b, ob) in xrow.chunks_mut(BLOCK).enumerate() {
            let n = ob.len();
            seg_coords(&row, (b * BLOCK) as i32, n, labels.stride as i32, &mut s);
            let yb = &mut yrow[b * BLOCK * c..(b * BLOCK + n) * c];
            seg_pixels(image, labels, c, &s, 0, ob, yb);
        }
    }
}

/// When the 8 indices lie within 8 consecutive elements: the smallest, and every index minus it
/// (the permutation that picks the indexed values out of the 8 values loaded from the smallest).
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
#[inline]
/// # Safety
/// The CPU must support AVX2.
unsafe fn within8(
    index: std::arch::x86_64::__m256i,
) -> Option<(usize, std::arch::x86_64::__m256i)> {
    use std::arch::x86_64::*;
    let t = _mm256_min_epu32(index, _mm256_permute2x128_si256::<0x01>(index, index));
    let t = _mm256_min_epu32(t, _mm256_shuffle_epi32::<0b01_00_11_10>(t));
    let t = _mm256_min_epu32(t, _mm256_shuffle_epi32::<0b10_11_00_01>(t));
    let rel = _mm256_sub_epi32(index, t);
    // `rel` is below 2³¹ (indices are), so a signed comparison is exact.
    if _mm256_movemask_epi8(_mm256_cmpgt_epi32(rel, _mm256_set1_epi32(7))) != 0 {
        return None;
    }
    Some((
        _mm_cvtsi128_si32(_mm256_castsi256_si128(t)) as u32 as usize,
        rel,
    ))
}

/// The values at `index` and `index + 1` of `img` (`len` values) for 8 indices, as two
/// vectors (left taps, right taps): by two loads and permutations when the indices are within 8
/// consecutive elements (small rotations), else with two 64-bit gathers.
///
/// # Safety
/// AVX2; every `index + 1` must be below `len`, the length of the buffer `img` points to.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
#[inline]
unsafe fn pair_taps(
    img: *const f32,
    len: usize,
    index: std::arch::x86_64::__m256i,
) -> (std::arch::x86_64::__m256, std::arch::x86_64::__m256) {
    use std::arch::x86_64::*;
    // SAFETY: the caller guarantees AVX2, the only requirement of `within8`.
    if let Some((m, rel)) = unsafe { within8(index) } {
        if m + 9 <= len {
            // SAFETY: elements m..m + 9 are inside the buffer.
            let (a, b) = unsafe { (_mm256_loadu_ps(img.add(m)), _mm256_loadu_ps(img.add(m + 1))) };
            return (
                _mm256_permutevar8x32_ps(a, rel),
                _mm256_permutevar8x32_ps(b, rel),
            );
        }
    }
    let base = img as *const f64;
    // SAFETY: the caller guarantees the 8 bytes at every index are inside the buffer.
    let (lo, hi) = unsafe {
        (
            _mm256_castpd_ps(_mm256_i32gather_pd::<4>(
                base,
                _mm256_castsi256_si128(index),
            )),
            _mm256_castpd_ps(_mm256_i32gather_pd::<4>(
                base,
                _mm256_extracti128_si256::<1>(index),
            )),
        )
    };
    // lo = [a0 b0 a1 b1 | a2 b2 a3 b3], hi = [a4 b4 a5 b5 | a6 b6 a7 b7].
    let a = _mm256_shuffle_ps::<0b10_00_10_00>(lo, hi); // [a0 a1 a4 a5 | a2 a3 a6 a7]
    let b = _mm256_shuffle_ps::<0b11_01_11_01>(lo, hi);
    let order =
        |v: __m256| _mm256_castpd_ps(_mm256_permute4x64_pd::<0b11_01_10_00>(_mm256_castps_pd(v)));
    (order(a), order(b))
}

/// How many output rows ahead [`seg_kernel_avx2`] asks for the label rows it will read.
#[cfg(target_arch = "x86_64")]
const PREFETCH_ROWS: usize = 4;

/// Asks the cache for the label (and weight) rows that output row `r` reads when they are a
/// few rows of the window (small rotations: the rows under the output row's two ends), so that
/// the gathers of the label window, which usually lies in a file that is not in the cache,
/// do not wait for memory. Does nothing when `r` is past the end or the row reads many rows.
#[cfg(target_arch = "x86_64")]
#[inline(always)]
fn prefetch_labels(map: &SourceMap, labels: &LabelWindow<'_>, r: usize, ho: usize, wo: usize) {
    use std::arch::x86_64::{_mm_prefetch, _MM_HINT_T0};
    if r >= ho {
        return;
    }
    let row = map.row(r);
    let hm = row.src_h - 1;
    let hiy = row.src_h as f32 + 1.0;
    let at = |x: f32| floor_i32((row.m3 * x + row.r1).clamp(-2.0, hiy) + 0.5).clamp(0, hm);
    let (a, b) = (at(0.0), at((wo - 1) as f32));
    let (lo, hi) = (a.min(b) as usize, a.max(b) as usize);
    if hi - lo > 3 {
        return;
    }
    const LINE: usize = 64;
    let w = map.src_w;
    for sr in lo..=hi {
        let start = labels.offset + sr * labels.stride;
        let m = &labels.mask[start..start + w];
        for i in (0..w).step_by(LINE) {
            // SAFETY: a prefetch is a hint; the address is inside the slice.
            unsafe { _mm_prefetch::<_MM_HINT_T0>(m.as_ptr().add(i) as *const i8) };
        }
        if let Some(wei) = labels.weights {
            let v = &wei[start..start + w];
            for i in (0..w).step_by(LINE / 4) {
                // SAFETY: as above.
                unsafe { _mm_prefetch::<_MM_HINT_T0>(v.as_ptr().add(i) as *const i8) };
            }
        }
    }
}

/// [`seg_kernel`] with AVX2: the same coordinates (the same code, compiled for AVX2), the taps
/// and labels of 8 pixels at a time loaded with gather instructions and blended in registers.
/// The arithmetic is the same sequence of IEEE operations, so the results are identical.
///
/// # Safety
/// The CPU must support AVX2, and the buffers must be those checked by [`warp_seg_into`]
/// (every index the coordinates produce lies inside `image` and the label rasters).
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn seg_kernel_avx2(
    image: &[f32],
    map: &SourceMap,
    labels: &LabelWindow<'_>,
    c: usize,
    x: &mut [f32],
    y: &mut [f32],
    wo: usize,
) {
    use std::arch::x86_64::*;
    let mut s = SegScratch::new();
    // A mask byte is read as the 32-bit word that starts at it: only where 3 more bytes follow.
    let mask_words = labels.mask.len().saturating_sub(3) as i32;
    let offset = _mm256_set1_epi32(labels.offset as i32);
    let byte = _mm256_set1_epi32(0xff);
    let word_limit = _mm256_set1_epi32(mask_words - 1);
    let one = _mm256_set1_ps(1.0);
    let zero = _mm256_setzero_si256();
    // A pair of taps is read as the 8 bytes at the left tap: only where one more value follows.
    let pair_limit = _mm256_set1_epi32(image.len() as i32 - 2);
    let img = image.as_ptr();
    let mask = labels.mask.as_ptr() as *const i32;
    let ho = x.len() / wo;
    for (r, (xrow, yrow)) in x
        .chunks_exact_mut(wo)
        .zip(y.chunks_exact_mut(wo * c))
        .enumerate()
    {
        let row = map.row(r);
        prefetch_labels(map, labels, r + PREFETCH_ROWS, ho, wo);
        for (b, ob) in xrow.chunks_mut(BLOCK).enumerate() {
            let n = ob.len();
            seg_coords(&row, (b * BLOCK) as i32, n, labels.stride as i32, &mut s);
            let yb = &mut yrow[b * BLOCK * c..(b * BLOCK + n) * c];
            let mut k = 0;
            while k + 8 <= n {
                // SAFETY: `k + 8 <= n <= BLOCK` keeps the loads and stores inside the scratch
                // arrays, `ob` and `yb`; the gathered indices are in range (see the function's
                // contract), mask words are only gathered where 3 bytes follow every index.
                unsafe {
                    macro_rules! load {
                        ($a:expr) => {
                            _mm256_loadu_si256($a.as_ptr().add(k) as *const __m256i)
                        };
                    }
                    let i00 = load!(s.base);
                    let dx = load!(s.step_x);
                    let dy = load!(s.step_y);
                    let i10 = _mm256_add_epi32(i00, dy);
                    if _mm256_movemask_epi8(_mm256_cmpgt_epi32(i10, pair_limit)) != 0 {
                        break; // the last pixel of the image: the scalar loop below
                    }
                    // Both taps of a row at once: the 8 bytes at each index (this pixel and the
                    // next), then the right tap replaced by the left one where the column is
                    // clamped (dx = 0).
                    let (p00, p01) = pair_taps(img, image.len(), i00);
                    let (p10, p11) = pair_taps(img, image.len(), i10);
                    let clamped = _mm256_castsi256_ps(_mm256_cmpeq_epi32(dx, zero));
                    let p01 = _mm256_blendv_ps(p01, p00, clamped);
                    let p11 = _mm256_blendv_ps(p11, p10, clamped);
                    let ax = _mm256_loadu_ps(s.ax.as_ptr().add(k));
                    let ay = _mm256_loadu_ps(s.ay.as_ptr().add(k));
                    let top = _mm256_add_ps(p00, _mm256_mul_ps(ax, _mm256_sub_ps(p01, p00)));
                    let bot = _mm256_add_ps(p10, _mm256_mul_ps(ax, _mm256_sub_ps(p11, p10)));
                    let v = _mm256_add_ps(top, _mm256_mul_ps(ay, _mm256_sub_ps(bot, top)));
                    _mm256_storeu_ps(ob.as_mut_ptr().add(k), v);
                    let j = _mm256_add_epi32(load!(s.near), offset);
                    if _mm256_movemask_epi8(_mm256_cmpgt_epi32(j, word_limit)) != 0 {
                        break; // the last bytes of the mask: the scalar loop below
                    }
                    // Nearby indices (the usual case for small rotations): 8 consecutive
                    // values loaded and permuted; else gathers.
                    let near = within8(j);
                    let label = match near {
                        Some((m, rel)) if m + 8 <= labels.mask.len() => {
                            let bytes =
                                _mm_loadl_epi64(labels.mask.as_ptr().add(m) as *const __m128i);
                            let words =
                                _mm256_permutevar8x32_epi32(_mm256_cvtepu8_epi32(bytes), rel);
                            _mm256_cvtepi32_ps(words)
                        }
                        _ => {
                            let words = _mm256_i32gather_epi32::<1>(mask, j);
                            _mm256_cvtepi32_ps(_mm256_and_si256(words, byte))
                        }
                    };
                    if c == 1 {
                        _mm256_storeu_ps(yb.as_mut_ptr().add(k), label);
                    } else {
                        let wei = match (labels.weights, near) {
                            (Some(w), Some((m, rel))) if m + 8 <= w.len() => {
                                _mm256_permutevar8x32_ps(_mm256_loadu_ps(w.as_ptr().add(m)), rel)
                            }
                            (Some(w), _) => _mm256_i32gather_ps::<4>(w.as_ptr(), j),
                            (None, _) => one,
                        };
                        let lo = _mm256_unpacklo_ps(label, wei);
                        let hi = _mm256_unpackhi_ps(label, wei);
                        let out = yb.as_mut_ptr().add(2 * k);
                        _mm256_storeu_ps(out, _mm256_permute2f128_ps::<0x20>(lo, hi));
                        _mm256_storeu_ps(out.add(8), _mm256_permute2f128_ps::<0x31>(lo, hi));
                    }
                }
                k += 8;
            }
            seg_pixels(image, labels, c, &s, k, ob, yb);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::geometric::{warp_sample, PreTransform};
    use super::*;
    use crate::image::Plane;

    /// [`warp_seg_into`] (AVX2 where the CPU has it) and the portable kernel both equal
    /// [`warp_sample`] on `[Image, Mask, Weights]` followed by the interleaving, for windows of
    /// larger rasters, every label layout and maps with small and large rotations, flips and
    /// quarter turns (indices within and beyond 8 consecutive values).
    #[test]
    fn seg_kernels_equal_warp_sample() {
        use crate::augment::Target;
        use crate::image::{Image, Mask, WeightMap};
        let (fh, fw) = (41, 53);
        let img = Plane::from_fn(fh, fw, |r, c| ((r * 31 + c * 17) % 23) as f32 / 23.0);
        let mask = Plane::from_fn(fh, fw, |r, c| u8::from((r / 3 + c / 5) % 2 == 0));
        let wei = Plane::from_fn(fh, fw, |r, c| 1.0 + ((r * 7 + c * 3) % 11) as f32);
        for (h, w, y0, x0) in [
            (24, 16, 5, 7),
            (32, 32, 9, 21),
            (41, 53, 0, 0),
            (7, 9, 34, 44),
        ] {
            let b = crate::tiles::CroppingBox {
                ytl: y0,
                xtl: x0,
                ybr: y0 + h as i64,
                xbr: x0 + w as i64,
            };
            let image = b.crop(&img);
            for (angle, zoom, shift, pre) in [
                (1.3, 1.07, (0.4, -0.6), PreTransform::default()),
                (
                    -2.0,
                    1.15,
                    (0.0, 0.0),
                    PreTransform {
                        horizontal_flip: true,
                        vertical_flip: true,
                        quarter_turns: 0,
                    },
                ),
                (37.0, 0.9, (1.5, 2.5), PreTransform::default()),
                (
                    0.5,
                    1.0,
                    (0.0, 0.0),
                    PreTransform {
                        horizontal_flip: false,
                        vertical_flip: false,
                        quarter_turns: (h == w) as u32,
                    },
                ),
            ] {
                let map = pre.compose(
                    &Affine::delta(pre.shape((h, w)), angle, zoom, shift),
                    (h, w),
                );
                let out = pre.shape((h, w));
                let mut targets = vec![
                    Target::Image(Image::from_plane_unchecked(image.clone())),
                    Target::Mask(Mask::from_plane(b.crop(&mask))),
                    Target::Weights(WeightMap::from_plane(b.crop(&wei))),
                ];
                warp_sample(&mut targets, &map, out);
                let [Target::Image(ei), Target::Mask(em), Target::Weights(ew)] = &targets[..]
                else {
                    panic!("targets changed kind");
                };
                for weights in [true, false] {
                    for c in [1, 2] {
                        let labels = LabelWindow {
                            mask: mask.as_slice(),
                            weights: weights.then_some(wei.as_slice()),
                            stride: fw,
                            offset: y0 as usize * fw + x0 as usize,
                            channels: if c == 1 {
                                LabelChannels::Label
                            } else {
                                LabelChannels::LabelAndWeight
                            },
                        };
                        let n = out.0 * out.1;
                        let (mut x, mut y) = (vec![0f32; n], vec![0f32; n * c]);
                        warp_seg_into(image.as_slice(), (h, w), &map, out, &labels, &mut x, &mut y);
                        let (mut xp, mut yp) = (vec![0f32; n], vec![0f32; n * c]);
                        seg_kernel(
                            image.as_slice(),
                            &SourceMap::new(&map, (h, w)),
                            &labels,
                            c,
                            &mut xp,
                            &mut yp,
                            out.1,
                        );
                        let ctx = format!("{h}x{w} angle {angle} weights {weights} c {c}");
                        assert!(x == ei.as_slice() && xp == x, "image: {ctx}");
                        for i in 0..n {
                            let want = f32::from(em.as_slice()[i]);
                            assert!(y[i * c] == want && yp[i * c] == want, "label {i}: {ctx}");
                            if c == 2 {
                                let want = if weights { ew.as_slice()[i] } else { 1.0 };
                                assert!(
                                    y[i * 2 + 1] == want && yp[i * 2 + 1] == want,
                                    "weight {i}: {ctx}"
                                );
                            }
                        }
                    }
                }
            }
        }
    }
}
