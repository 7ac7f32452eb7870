//! Geometric operations on planes: flips, exact 90° rotations and DeLTA's affine warp
//! (rotation + zoom + shift in one resampling).
//!
//! The interpolation is chosen by the caller from the target's type: [`warp_bilinear`] for
//! intensity images, [`warp_nearest`] for masks, labels and weight maps.

use crate::image::Plane;

/// Mirrors every row (left ↔ right), numpy `fliplr`.
pub fn flip_horizontal<T: Copy>(plane: &mut Plane<T>) {
    let w = plane.width();
    if w == 0 {
        return;
    }
    for row in plane.as_mut_slice().chunks_exact_mut(w) {
        row.reverse();
    }
}

/// Mirrors the row order (top ↔ bottom), numpy `flipud`.
pub fn flip_vertical<T: Copy>(plane: &mut Plane<T>) {
    let (h, w) = plane.shape();
    let data = plane.as_mut_slice();
    for r in 0..h / 2 {
        let (top, bottom) = data.split_at_mut((h - 1 - r) * w);
        top[r * w..(r + 1) * w].swap_with_slice(&mut bottom[..w]);
    }
}

/// Rotates by `k·90°` counter-clockwise, exactly (numpy `rot90(plane, k)`); odd `k` swap the
/// height and width.
pub fn rot90<T: Copy>(plane: &Plane<T>, k: u32) -> Plane<T> {
    let (h, w) = plane.shape();
    let src = plane.as_slice();
    match k % 4 {
        0 => plane.clone(),
        2 => {
            let mut data = src.to_vec();
            data.reverse();
            Plane::from_vec(h, w, data).unwrap_or_else(|_| plane.clone())
        }
        // Odd k: a transposition plus a flip, done in 32×32 blocks so that both the reads and
        // the writes stay within a few cache lines (a column walk of a 512-wide image misses
        // the cache on every pixel).
        odd => {
            if src.is_empty() {
                return Plane::from_vec(w, h, Vec::new()).unwrap_or_else(|_| plane.clone());
            }
            let mut data = src.to_vec(); // any initial values; every entry is overwritten
            const B: usize = 32;
            for i0 in (0..w).step_by(B) {
                for j0 in (0..h).step_by(B) {
                    for i in i0..(i0 + B).min(w) {
                        for j in j0..(j0 + B).min(h) {
                            // k = 1: out[i][j] = in[j][w−1−i]; k = 3: out[i][j] = in[h−1−j][i].
                            data[i * h + j] = if odd == 1 {
                                src[j * w + (w - 1 - i)]
                            } else {
                                src[(h - 1 - j) * w + i]
                            };
                        }
                    }
                }
            }
            Plane::from_vec(w, h, data).unwrap_or_else(|_| plane.clone())
        }
    }
}

/// An affine map between output and input pixel coordinates `(x, y)` = `(col, row)`.
///
/// Built with [`Affine::delta`], which follows DeLTA's newest `imgops.affine_transform`: the
/// forward matrix is OpenCV's `getRotationMatrix2D(centre, angle, zoom)` about the centre
/// `((W−1)/2, (H−1)/2)` with `(shift_x·zoom, shift_y·zoom)` subtracted from its translation, so a
/// positive angle turns the content counter-clockwise on screen, a zoom above 1 magnifies it, and
/// a positive shift moves it left/up. The stored matrix is the inverse (output → input), which
/// is what resampling needs.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Affine {
    /// Inverse map: `x_in = m[0]·x + m[1]·y + m[2]`, `y_in = m[3]·x + m[4]·y + m[5]`.
    pub inverse: [f64; 6],
}

impl Affine {
    /// DeLTA's affine transform for a `(height, width)` image: rotation by `angle_deg` degrees
    /// (counter-clockwise), magnification `zoom` (> 0, 1 = none) and a shift in pixels
    /// `(shift_x, shift_y)` (positive moves the content left / up).
    pub fn delta(shape: (usize, usize), angle_deg: f64, zoom: f64, shift: (f64, f64)) -> Self {
        let (h, w) = shape;
        let (cx, cy) = ((w as f64 - 1.0) / 2.0, (h as f64 - 1.0) / 2.0);
        let theta = angle_deg.to_radians();
        let a = zoom * theta.cos();
        let b = zoom * theta.sin();
        // Forward (input → output) matrix [[a, b, tx], [-b, a, ty]].
        let tx = (1.0 - a) * cx - b * cy - shift.0 * zoom;
        let ty = b * cx + (1.0 - a) * cy - shift.1 * zoom;
        // Inverse of [[a, b], [-b, a]] is [[a, -b], [b, a]] / (a² + b²).
        let det = a * a + b * b;
        let (ia, ib) = (a / det, b / det);
        Affine {
            inverse: [ia, -ib, -(ia * tx - ib * ty), ib, ia, -(ib * tx + ia * ty)],
        }
    }

    /// True when the map is the identity (nothing to resample).
    pub fn is_identity(&self) -> bool {
        self.inverse == [1.0, 0.0, 0.0, 0.0, 1.0, 0.0]
            || self
                .inverse
                .iter()
                .zip([1.0, 0.0, 0.0, 0.0, 1.0, 0.0])
                .all(|(a, b)| (a - b).abs() < 1e-12)
    }
}

/// Exact flips and quarter turns that precede an affine warp (DeLTA's steps 6–8), folded into
/// the warp's coordinate map so that a sample is resampled once instead of copied three more
/// times.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PreTransform {
    /// Left-right flip first.
    pub horizontal_flip: bool,
    /// Then the up-down flip.
    pub vertical_flip: bool,
    /// Then `k` quarter turns counter-clockwise (numpy `rot90(·, k)`).
    pub quarter_turns: u32,
}

impl PreTransform {
    /// True when nothing is flipped or turned.
    pub fn is_identity(&self) -> bool {
        !self.horizontal_flip && !self.vertical_flip && self.quarter_turns % 4 == 0
    }

    /// The shape after the transform of a `(height, width)` raster.
    pub fn shape(&self, (h, w): (usize, usize)) -> (usize, usize) {
        if self.quarter_turns % 2 == 1 {
            (w, h)
        } else {
            (h, w)
        }
    }

    /// The map from `(x, y)` in the transformed frame to `(x, y)` in a `(height, width)` source,
    /// as `[a, b, c, d, e, f]`: `x_src = a·x + b·y + c`, `y_src = d·x + e·y + f` (integers).
    fn source_map(&self, (h, w): (usize, usize)) -> [f64; 6] {
        let (wm, hm) = (w as f64 - 1.0, h as f64 - 1.0);
        let map = |u: f64, v: f64| -> (f64, f64) {
            let (p, q) = match self.quarter_turns % 4 {
                0 => (u, v),
                1 => (wm - v, u),
                2 => (wm - u, hm - v),
                _ => (v, hm - u),
            };
            let q = if self.vertical_flip { hm - q } else { q };
            let p = if self.horizontal_flip { wm - p } else { p };
            (p, q)
        };
        let (c0, c1) = map(0.0, 0.0);
        let (a0, a1) = map(1.0, 0.0);
        let (b0, b1) = map(0.0, 1.0);
        [a0 - c0, b0 - c0, c0, a1 - c1, b1 - c1, c1]
    }

    /// `affine` (defined on the transformed frame) followed by the map back to the source: the
    /// inverse map that resamples the source in one pass.
    pub fn compose(&self, affine: &Affine, source: (usize, usize)) -> Affine {
        let p = self.source_map(source);
        let a = affine.inverse;
        Affine {
            inverse: [
                p[0] * a[0] + p[1] * a[3],
                p[0] * a[1] + p[1] * a[4],
                p[0] * a[2] + p[1] * a[5] + p[2],
                p[3] * a[0] + p[4] * a[3],
                p[3] * a[1] + p[4] * a[4],
                p[3] * a[2] + p[4] * a[5] + p[5],
            ],
        }
    }
}

/// Bilinear resampling through `affine` (OpenCV `warpAffine`, `INTER_LINEAR`,
/// `BORDER_REPLICATE`): each of the four taps is clamped to the image. Output shape = input shape.
///
/// OpenCV quantises coordinates to 1/32 pixel; this uses exact coordinates.
pub fn warp_bilinear(plane: &Plane<f32>, affine: &Affine) -> Plane<f32> {
    warp_bilinear_to(plane, affine, plane.shape())
}

/// [`warp_bilinear`] into an output of `out_shape` = `(height, width)` (e.g. with a
/// [`PreTransform::compose`]d map that includes a quarter turn).
pub fn warp_bilinear_to(
    plane: &Plane<f32>,
    affine: &Affine,
    out_shape: (usize, usize),
) -> Plane<f32> {
    let (h, w) = out_shape;
    let mut out = Plane::filled(h, w, 0f32);
    if h == 0 || w == 0 || plane.is_empty() {
        return out;
    }
    let map = SourceMap::new(affine, plane.shape());
    let mut scratch = BilinearScratch::new();
    for (y, row) in out.as_mut_slice().chunks_exact_mut(w).enumerate() {
        bilinear_row(plane.as_slice(), &map.row(y), row, &mut scratch);
    }
    out
}

/// [`warp_nearest`] into an output of `out_shape` = `(height, width)`.
pub fn warp_nearest_to<T: Copy + Default>(
    plane: &Plane<T>,
    affine: &Affine,
    out_shape: (usize, usize),
) -> Plane<T> {
    let (h, w) = out_shape;
    let mut out = Plane::filled(h, w, T::default());
    if h == 0 || w == 0 || plane.is_empty() {
        return out;
    }
    let map = SourceMap::new(affine, plane.shape());
    let mut index = vec![0u32; w];
    for (y, row) in out.as_mut_slice().chunks_exact_mut(w).enumerate() {
        nearest_row(&map.row(y), &mut index);
        gather_row(plane.as_slice(), &index, row);
    }
    out
}

/// [`warp_bilinear`] that also fills `index` with [`nearest_index_map`] of the same map.
pub fn warp_bilinear_with_index(
    plane: &Plane<f32>,
    affine: &Affine,
    index: &mut Vec<u32>,
) -> Plane<f32> {
    nearest_index_map_into(plane.shape(), affine, index);
    warp_bilinear(plane, affine)
}

/// An affine inverse map and the source it reads, prepared for the row kernels.
struct SourceMap {
    m: [f64; 6],
    src_w: usize,
    src_h: usize,
}

/// One output row of a [`SourceMap`]: source `(x, y)` of output column `x` is
/// `(m0·x + r0, m3·x + r1)` (computed in `f32`), clamped to `[−2, size + 1]` (far outside the
/// image every tap is the edge pixel anyway, and truncation of a value ≥ −2 shifted by +4 is a
/// floor without a library call).
#[derive(Clone, Copy)]
struct RowMap {
    m0: f32,
    m3: f32,
    r0: f32,
    r1: f32,
    src_w: i32,
    src_h: i32,
}

impl SourceMap {
    fn new(affine: &Affine, source: (usize, usize)) -> Self {
        SourceMap {
            m: affine.inverse,
            src_h: source.0,
            src_w: source.1,
        }
    }

    fn row(&self, y: usize) -> RowMap {
        let m = self.m;
        RowMap {
            m0: m[0] as f32,
            m3: m[3] as f32,
            r0: (m[1] * y as f64 + m[2]) as f32,
            r1: (m[4] * y as f64 + m[5]) as f32,
            src_w: self.src_w as i32,
            src_h: self.src_h as i32,
        }
    }
}

/// `floor(v)` as an integer for `|v| ≤ 2²²`, without the saturating float-to-int conversion of
/// `as` (which the compiler does not vectorise): `v` is rounded to an integer by adding and
/// subtracting 1.5·2²³, corrected by one where that rounded up, and the integer read from the
/// bits. NaN gives an arbitrary integer (callers clamp the result).
#[inline(always)]
pub(crate) fn floor_i32(v: f32) -> i32 {
    const MAGIC: f32 = 12_582_912.0;
    let r = (v + MAGIC) - MAGIC;
    let f = if r > v { r - 1.0 } else { r };
    (f + MAGIC).to_bits() as i32 - 0x4B40_0000
}

/// Pixels per block of the row kernels: coordinates for a block are computed in one
/// vectorised loop, the taps loaded in a second (scalar loads), and combined in a third.
const BLOCK: usize = 64;

/// Per-block temporaries of [`bilinear_row`] (every entry is written before it is read).
pub(crate) struct BilinearScratch {
    base: [u32; BLOCK],
    step_x: [u32; BLOCK],
    step_y: [u32; BLOCK],
    ax: [f32; BLOCK],
    ay: [f32; BLOCK],
    taps: [[f32; BLOCK]; 4],
}

impl BilinearScratch {
    pub(crate) fn new() -> Self {
        BilinearScratch {
            base: [0; BLOCK],
            step_x: [0; BLOCK],
            step_y: [0; BLOCK],
            ax: [0.0; BLOCK],
            ay: [0.0; BLOCK],
            taps: [[0.0; BLOCK]; 4],
        }
    }
}

super::simd::multiversion! {
/// One output row of bilinear resampling with replicated borders (see [`RowMap`]).
/// `scratch` holds the per-block temporaries; it is passed in (one per warp, not one per row)
/// because zero-initialising ~2.5 KB per call costs as much as the work of a 32-pixel row.
fn bilinear_row(src: &[f32], map: &RowMap, out: &mut [f32], scratch: &mut BilinearScratch) {
    let (w, wm, hm) = (map.src_w, map.src_w - 1, map.src_h - 1);
    let (hix, hiy) = (map.src_w as f32 + 1.0, map.src_h as f32 + 1.0);
    let last = src.len() - 1;
    let BilinearScratch {
        base,
        step_x,
        step_y,
        ax,
        ay,
        taps,
    } = scratch;
    for (b, ob) in out.chunks_mut(BLOCK).enumerate() {
        let first = (b * BLOCK) as i32;
        let n = ob.len();
        // Whole vectors of 8, also past the row's end (those values are not used).
        for k in 0..n.next_multiple_of(8).min(BLOCK) {
            let xf = (first + k as i32) as f32;
            let sx = (map.m0 * xf + map.r0).clamp(-2.0, hix);
            let sy = (map.m3 * xf + map.r1).clamp(-2.0, hiy);
            let x0 = floor_i32(sx);
            let y0 = floor_i32(sy);
            ax[k] = sx - x0 as f32;
            ay[k] = sy - y0 as f32;
            let xa = x0.clamp(0, wm);
            let xb = (x0 + 1).clamp(0, wm);
            let ya = y0.clamp(0, hm) * w;
            let yb = (y0 + 1).clamp(0, hm) * w;
            base[k] = (ya + xa) as u32;
            step_x[k] = (xb - xa) as u32;
            step_y[k] = (yb - ya) as u32;
        }
        for k in 0..n {
            // In range by the clamps; `min` only spares the bounds checks.
            let i = base[k] as usize;
            let (dx, dy) = (step_x[k] as usize, step_y[k] as usize);
            taps[0][k] = src[i.min(last)];
            taps[1][k] = src[(i + dx).min(last)];
            taps[2][k] = src[(i + dy).min(last)];
            taps[3][k] = src[(i + dy + dx).min(last)];
        }
        let [t00, t01, t10, t11] = &taps;
        let (t00, t01, t10, t11) = (&t00[..n], &t01[..n], &t10[..n], &t11[..n]);
        let (ax, ay) = (&ax[..n], &ay[..n]);
        for k in 0..n {
            let (p00, p01, p10, p11) = (t00[k], t01[k], t10[k], t11[k]);
            let top = p00 + ax[k] * (p01 - p00);
            let bot = p10 + ax[k] * (p11 - p10);
            ob[k] = top + ay[k] * (bot - top);
        }
    }
}
}

super::simd::multiversion! {
/// One output row of nearest source indices (rounded half up, clamped to the image).
fn nearest_row(map: &RowMap, out: &mut [u32]) {
    let (hix, hiy) = (map.src_w as f32 + 1.0, map.src_h as f32 + 1.0);
    let (wm, hm) = (map.src_w - 1, map.src_h - 1);
    let w = map.src_w;
    for (x, o) in (0..out.len() as i32).zip(out.iter_mut()) {
        let xf = x as f32;
        let sx = (map.m0 * xf + map.r0).clamp(-2.0, hix);
        let sy = (map.m3 * xf + map.r1).clamp(-2.0, hiy);
        let ix = floor_i32(sx + 0.5).clamp(0, wm);
        let iy = floor_i32(sy + 0.5).clamp(0, hm);
        *o = (iy * w + ix) as u32;
    }
}
}

/// `out[i] = src[index[i]]` (indices in range; the `min` only spares the bounds checks).
#[inline]
pub(crate) fn gather_row<T: Copy>(src: &[T], index: &[u32], out: &mut [T]) {
    let last = src.len() - 1;
    for (o, &i) in out.iter_mut().zip(index) {
        *o = src[(i as usize).min(last)];
    }
}

/// For every output pixel, the index of the input pixel that nearest-neighbour resampling
/// through `affine` reads (OpenCV `INTER_NEAREST`, `BORDER_REPLICATE`: the source coordinate is
/// rounded half up and clamped to the image). Computed once and shared by all nearest targets.
pub fn nearest_index_map(shape: (usize, usize), affine: &Affine) -> Vec<u32> {
    let mut out = Vec::new();
    nearest_index_map_into(shape, affine, &mut out);
    out
}

/// [`nearest_index_map`] into a caller-provided buffer.
pub(crate) fn nearest_index_map_into(shape: (usize, usize), affine: &Affine, out: &mut Vec<u32>) {
    let (h, w) = shape;
    out.clear();
    out.resize(h * w, 0);
    if h == 0 || w == 0 {
        return;
    }
    let map = SourceMap::new(affine, shape);
    for (y, row) in out.chunks_exact_mut(w).enumerate() {
        nearest_row(&map.row(y), row);
    }
}

/// Gathers `plane[index[i]]` into a plane of the same shape (see [`nearest_index_map`]).
pub fn gather<T: Copy>(plane: &Plane<T>, index: &[u32]) -> Plane<T> {
    let src = plane.as_slice();
    let data = index.iter().map(|&i| src[i as usize]).collect();
    Plane::from_vec(plane.height(), plane.width(), data).unwrap_or_else(|_| plane.clone())
}

/// Nearest-neighbour resampling through `affine` (OpenCV `warpAffine`, `INTER_NEAREST`,
/// `BORDER_REPLICATE`): the source coordinate is rounded half up and clamped to the image.
/// Values are copied, never mixed, so a binary mask stays binary.
pub fn warp_nearest<T: Copy>(plane: &Plane<T>, affine: &Affine) -> Plane<T> {
    gather(plane, &nearest_index_map(plane.shape(), affine))
}

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
    if let Some((m, rel)) = within8(index) {
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

/// Resamples every target of a sample through `affine` in one pass, row by row: images
/// bilinearly, masks and weight maps by the nearest source pixel (indices computed once per row
/// and shared). `affine` maps output pixels of shape `out_shape` to the targets' current frame
/// (e.g. a [`PreTransform::compose`]d map). Buffers come from the per-thread pool and replace the
/// targets' own, which go back to the pool.
pub(crate) fn warp_sample(
    targets: &mut [super::Target],
    affine: &Affine,
    out_shape: (usize, usize),
) {
    use super::Target;
    let Some(first) = targets.first() else {
        return;
    };
    let source = first.shape();
    let (ho, wo) = out_shape;
    if source.0 == 0 || source.1 == 0 || ho == 0 || wo == 0 {
        return;
    }
    let map = SourceMap::new(affine, source);
    let n = ho * wo;
    /// A target's source pixels and its new buffer.
    enum Job<'a> {
        Bilinear(&'a [f32], Vec<f32>),
        NearestF32(&'a [f32], Vec<f32>),
        NearestU8(&'a [u8], Vec<u8>),
    }
    let mut jobs: Vec<Job<'_>> = targets
        .iter()
        .map(|t| match t {
            Target::Image(i) => Job::Bilinear(i.as_slice(), super::scratch::take_uninit(n)),
            Target::Weights(w) => Job::NearestF32(w.as_slice(), super::scratch::take_uninit(n)),
            Target::Mask(m) => Job::NearestU8(m.as_slice(), super::scratch::take_uninit(n)),
        })
        .collect();
    let needs_index = jobs.iter().any(|j| !matches!(j, Job::Bilinear(..)));
    let mut index: Vec<u32> = super::scratch::take_uninit(wo);
    let mut scratch = BilinearScratch::new();
    for y in 0..ho {
        let row = map.row(y);
        if needs_index {
            nearest_row(&row, &mut index);
        }
        let span = y * wo..(y + 1) * wo;
        for job in &mut jobs {
            match job {
                Job::Bilinear(src, o) => {
                    bilinear_row(src, &row, &mut o[span.clone()], &mut scratch)
                }
                Job::NearestF32(src, o) => gather_row(src, &index, &mut o[span.clone()]),
                Job::NearestU8(src, o) => gather_row(src, &index, &mut o[span.clone()]),
            }
        }
    }
    super::scratch::give(index);
    enum Out {
        F32(Vec<f32>),
        U8(Vec<u8>),
    }
    let outs: Vec<Out> = jobs
        .into_iter()
        .map(|j| match j {
            Job::Bilinear(_, o) | Job::NearestF32(_, o) => Out::F32(o),
            Job::NearestU8(_, o) => Out::U8(o),
        })
        .collect();
    for (t, out) in targets.iter_mut().zip(outs) {
        match (t, out) {
            (Target::Image(i), Out::F32(o)) => super::scratch::replace(i, (ho, wo), o),
            (Target::Weights(w), Out::F32(o)) => super::scratch::replace(w, (ho, wo), o),
            (Target::Mask(m), Out::U8(o)) => super::scratch::replace(m, (ho, wo), o),
            // Not produced above (one buffer kind per target kind).
            (_, Out::F32(o)) => super::scratch::give(o),
            (_, Out::U8(o)) => super::scratch::give(o),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ramp(h: usize, w: usize) -> Plane<u32> {
        Plane::from_fn(h, w, |r, c| (r * 10 + c) as u32)
    }

    #[test]
    fn rot90_matches_numpy_on_non_square() {
        let p = ramp(2, 3); // [[0,1,2],[10,11,12]]
        assert_eq!(rot90(&p, 1).as_slice(), &[2, 12, 1, 11, 0, 10]);
        assert_eq!(rot90(&p, 1).shape(), (3, 2));
        assert_eq!(rot90(&p, 2).as_slice(), &[12, 11, 10, 2, 1, 0]);
        assert_eq!(rot90(&p, 3).as_slice(), &[10, 0, 11, 1, 12, 2]);
        assert_eq!(rot90(&rot90(&p, 1), 3), p);
        // Larger than a block, non-square: against the definition.
        let big = ramp(70, 45);
        let r1 = rot90(&big, 1);
        let r3 = rot90(&big, 3);
        for i in 0..45 {
            for j in 0..70 {
                assert_eq!(r1.get(i, j), big.get(j, 44 - i));
                assert_eq!(r3.get(i, j), big.get(69 - j, i));
            }
        }
    }

    #[test]
    fn flips() {
        let mut p = ramp(3, 2);
        flip_vertical(&mut p);
        assert_eq!(p.as_slice(), &[20, 21, 10, 11, 0, 1]);
        flip_horizontal(&mut p);
        assert_eq!(p.as_slice(), &[21, 20, 11, 10, 1, 0]);
    }

    #[test]
    fn bilinear_matches_a_naive_replicate_reference() {
        let (h, w) = (9, 6);
        let p = Plane::from_fn(h, w, |r, c| ((r * 31 + c * 17) % 23) as f32 / 23.0);
        for (angle, zoom, shift) in [
            (7.0, 1.1, (1.3, -2.2)),
            (-33.0, 0.8, (-4.0, 3.5)),
            (180.0, 1.0, (0.5, 0.25)),
        ] {
            let a = Affine::delta((h, w), angle, zoom, shift);
            let out = warp_bilinear(&p, &a);
            let m = a.inverse;
            for y in 0..h {
                for x in 0..w {
                    let sx = m[0] * x as f64 + m[1] * y as f64 + m[2];
                    let sy = m[3] * x as f64 + m[4] * y as f64 + m[5];
                    let (fx, fy) = (sx.floor(), sy.floor());
                    let at = |yy: f64, xx: f64| {
                        p.get(
                            yy.clamp(0.0, (h - 1) as f64) as usize,
                            xx.clamp(0.0, (w - 1) as f64) as usize,
                        ) as f64
                    };
                    let (ax, ay) = (sx - fx, sy - fy);
                    let v = (1.0 - ay) * ((1.0 - ax) * at(fy, fx) + ax * at(fy, fx + 1.0))
                        + ay * ((1.0 - ax) * at(fy + 1.0, fx) + ax * at(fy + 1.0, fx + 1.0));
                    assert!(
                        (out.get(y, x) as f64 - v).abs() < 1e-4,
                        "({y}, {x}) {angle}"
                    );
                }
            }
        }
    }

    #[test]
    fn fused_index_equals_the_separate_map() {
        let p = Plane::from_fn(13, 8, |r, c| (r * 8 + c) as f32 / 104.0);
        for (angle, zoom, shift) in [(3.0, 1.2, (0.7, -1.5)), (-90.0, 1.0, (2.0, 1.0))] {
            let a = Affine::delta((13, 8), angle, zoom, shift);
            let mut idx = Vec::new();
            let fused = warp_bilinear_with_index(&p, &a, &mut idx);
            assert_eq!(fused, warp_bilinear(&p, &a));
            assert_eq!(idx, nearest_index_map((13, 8), &a));
        }
    }

    #[test]
    fn identity_affine() {
        let a = Affine::delta((5, 7), 0.0, 1.0, (0.0, 0.0));
        assert!(a.is_identity());
        let p = Plane::from_fn(5, 7, |r, c| (r * 7 + c) as f32);
        assert_eq!(warp_bilinear(&p, &a), p);
    }

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
