//! Geometric operations on planes: flips, exact 90° rotations and DeLTA's affine warp
//! (rotation + zoom + shift in one resampling).
//!
//! The interpolation is chosen by the caller from the target's type: [`warp_bilinear`] for
//! intensity images, [`warp_nearest`] for masks, labels and weight maps.

use crate::image::Plane;

/// Mirrors every row (left ↔ right), numpy `fliplr`.
///
/// ```
/// use deltacell_data::{augment::geometric::flip_horizontal, Plane};
/// let mut p = Plane::from_vec(2, 3, vec![1, 2, 3, 4, 5, 6])?;
/// flip_horizontal(&mut p);
/// assert_eq!(p.as_slice(), &[3, 2, 1, 6, 5, 4]);
/// # Ok::<(), deltacell_data::Error>(())
/// ```
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
///
/// ```
/// use deltacell_data::{augment::geometric::flip_vertical, Plane};
/// let mut p = Plane::from_vec(2, 3, vec![1, 2, 3, 4, 5, 6])?;
/// flip_vertical(&mut p);
/// assert_eq!(p.as_slice(), &[4, 5, 6, 1, 2, 3]);
/// # Ok::<(), deltacell_data::Error>(())
/// ```
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
///
/// ```
/// use deltacell_data::{augment::geometric::rot90, Plane};
/// // 1 2 3        3 6
/// // 4 5 6   →    2 5
/// //              1 4
/// let p = Plane::from_vec(2, 3, vec![1, 2, 3, 4, 5, 6])?;
/// let r = rot90(&p, 1);
/// assert_eq!((r.height(), r.width()), (3, 2));
/// assert_eq!(r.as_slice(), &[3, 6, 2, 5, 1, 4]);
/// assert_eq!(rot90(&p, 4), p);
/// # Ok::<(), deltacell_data::Error>(())
/// ```
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
pub(crate) struct SourceMap {
    m: [f64; 6],
    pub(crate) src_w: usize,
    pub(crate) src_h: usize,
}

/// One output row of a [`SourceMap`]: source `(x, y)` of output column `x` is
/// `(m0·x + r0, m3·x + r1)` (computed in `f32`), clamped to `[−2, size + 1]` (far outside the
/// image every tap is the edge pixel anyway, and truncation of a value ≥ −2 shifted by +4 is a
/// floor without a library call).
#[derive(Clone, Copy)]
pub(crate) struct RowMap {
    pub(crate) m0: f32,
    pub(crate) m3: f32,
    pub(crate) r0: f32,
    pub(crate) r1: f32,
    pub(crate) src_w: i32,
    pub(crate) src_h: i32,
}

impl SourceMap {
    pub(crate) fn new(affine: &Affine, source: (usize, usize)) -> Self {
        SourceMap {
            m: affine.inverse,
            src_h: source.0,
            src_w: source.1,
        }
    }

    pub(crate) fn row(&self, y: usize) -> RowMap {
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
pub(crate) const BLOCK: usize = 64;

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

crate::simd::multiversion! {
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

crate::simd::multiversion! {
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
///
/// ```
/// use deltacell_data::augment::geometric::{warp_nearest, Affine};
/// use deltacell_data::Plane;
/// let mask = Plane::from_vec(2, 2, vec![0u8, 1, 1, 0])?;
/// // DeLTA's affine with no rotation, zoom 1 and no shift is the identity.
/// let same = warp_nearest(&mask, &Affine::delta((2, 2), 0.0, 1.0, (0.0, 0.0)));
/// assert_eq!(same, mask);
/// # Ok::<(), deltacell_data::Error>(())
/// ```
pub fn warp_nearest<T: Copy>(plane: &Plane<T>, affine: &Affine) -> Plane<T> {
    gather(plane, &nearest_index_map(plane.shape(), affine))
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
}
