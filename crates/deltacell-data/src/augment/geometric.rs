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

/// Bilinear resampling through `affine` (OpenCV `warpAffine`, `INTER_LINEAR`,
/// `BORDER_REPLICATE`): each of the four taps is clamped to the image. Output shape = input shape.
///
/// OpenCV quantises coordinates to 1/32 pixel; this uses exact coordinates.
pub fn warp_bilinear(plane: &Plane<f32>, affine: &Affine) -> Plane<f32> {
    let mut out = Plane::filled(plane.height(), plane.width(), 0f32);
    warp_bilinear_impl::<false>(plane, affine, &mut [], out.as_mut_slice());
    out
}

/// [`warp_bilinear`] writing back into `plane` through a pooled temporary; when `index` is
/// given it is filled with the [`nearest_index_map`] of the same coordinates.
pub(crate) fn warp_bilinear_in_place(
    plane: &mut Plane<f32>,
    affine: &Affine,
    index: Option<&mut Vec<u32>>,
) {
    let mut tmp: Vec<f32> = super::scratch::take(plane.len());
    match index {
        Some(idx) => {
            idx.clear();
            idx.resize(plane.len(), 0);
            warp_bilinear_impl::<true>(plane, affine, idx, &mut tmp);
        }
        None => warp_bilinear_impl::<false>(plane, affine, &mut [], &mut tmp),
    }
    plane.as_mut_slice().copy_from_slice(&tmp);
    super::scratch::give(tmp);
}

/// [`warp_bilinear`] that also fills `index` with [`nearest_index_map`] from the same
/// coordinates (one pass instead of two when a sample has images and masks).
pub fn warp_bilinear_with_index(
    plane: &Plane<f32>,
    affine: &Affine,
    index: &mut Vec<u32>,
) -> Plane<f32> {
    index.clear();
    index.resize(plane.len(), 0);
    let mut out = Plane::filled(plane.height(), plane.width(), 0f32);
    warp_bilinear_impl::<true>(plane, affine, index, out.as_mut_slice());
    out
}

/// Per-row source coordinates of the affine map, in `f32`, shared by every resampler so that
/// bilinear and nearest agree on where each output pixel comes from.
struct Coords {
    m0: f32,
    m3: f32,
    rows: Vec<(f32, f32)>,
    lo: (f32, f32),
    hi: (f32, f32),
}

impl Coords {
    fn new(affine: &Affine, (h, w): (usize, usize)) -> Self {
        let m = affine.inverse;
        Coords {
            m0: m[0] as f32,
            m3: m[3] as f32,
            rows: (0..h)
                .map(|y| {
                    (
                        (m[1] * y as f64 + m[2]) as f32,
                        (m[4] * y as f64 + m[5]) as f32,
                    )
                })
                .collect(),
            // Coordinates are clamped to [−2, size + 1]: far outside the image every tap is the
            // edge pixel anyway, and truncation of a value ≥ −2 shifted by +4 is a floor without
            // a libm call.
            lo: (-2.0, -2.0),
            hi: (w as f32 + 1.0, h as f32 + 1.0),
        }
    }

    /// The clamped source `(x, y)` of output pixel `(x, row)`.
    #[inline(always)]
    fn at(&self, x: usize, row: (f32, f32)) -> (f32, f32) {
        (
            (self.m0 * x as f32 + row.0).clamp(self.lo.0, self.hi.0),
            (self.m3 * x as f32 + row.1).clamp(self.lo.1, self.hi.1),
        )
    }
}

/// Nearest source index from a clamped source coordinate: rounded half up, clamped to the image.
#[inline(always)]
fn nearest_of(sx: f32, sy: f32, wm: f32, hm: f32, w: usize) -> u32 {
    let x = (sx + 0.5).clamp(0.0, wm) as usize;
    let y = (sy + 0.5).clamp(0.0, hm) as usize;
    (y * w + x) as u32
}

fn warp_bilinear_impl<const INDEX: bool>(
    plane: &Plane<f32>,
    affine: &Affine,
    index: &mut [u32],
    out: &mut [f32],
) {
    let (h, w) = plane.shape();
    if h == 0 || w == 0 {
        return;
    }
    let src = plane.as_slice();
    let coords = Coords::new(affine, (h, w));
    let (wm, hm) = (w as i32 - 1, h as i32 - 1);
    let (wmf, hmf) = (wm as f32, hm as f32);
    for (y, orow) in out.chunks_exact_mut(w).enumerate() {
        let row = coords.rows[y];
        for (x, o) in orow.iter_mut().enumerate() {
            let (sx, sy) = coords.at(x, row);
            if INDEX {
                index[y * w + x] = nearest_of(sx, sy, wmf, hmf, w);
            }
            let x0 = (sx + 4.0) as i32 - 4;
            let y0 = (sy + 4.0) as i32 - 4;
            let ax = sx - x0 as f32;
            let ay = sy - y0 as f32;
            if (x0 as u32) < wm as u32 && (y0 as u32) < hm as u32 {
                // All four taps inside (the common case): no clamping.
                let i = y0 as usize * w + x0 as usize;
                let (p00, p01, p10, p11) = (src[i], src[i + 1], src[i + w], src[i + w + 1]);
                let top = p00 + ax * (p01 - p00);
                let bot = p10 + ax * (p11 - p10);
                *o = top + ay * (bot - top);
                continue;
            }
            let xa = x0.clamp(0, wm) as usize;
            let xb = (x0 + 1).clamp(0, wm) as usize;
            let ya = y0.clamp(0, hm) as usize * w;
            let yb = (y0 + 1).clamp(0, hm) as usize * w;
            let top = src[ya + xa] + ax * (src[ya + xb] - src[ya + xa]);
            let bot = src[yb + xa] + ax * (src[yb + xb] - src[yb + xa]);
            *o = top + ay * (bot - top);
        }
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
    let coords = Coords::new(affine, shape);
    let (wmf, hmf) = ((w - 1) as f32, (h - 1) as f32);
    for (y, orow) in out.chunks_exact_mut(w).enumerate() {
        let row = coords.rows[y];
        for (x, o) in orow.iter_mut().enumerate() {
            let (sx, sy) = coords.at(x, row);
            *o = nearest_of(sx, sy, wmf, hmf, w);
        }
    }
}

/// Gathers `plane[index[i]]` into a plane of the same shape (see [`nearest_index_map`]).
pub fn gather<T: Copy>(plane: &Plane<T>, index: &[u32]) -> Plane<T> {
    let src = plane.as_slice();
    let data = index.iter().map(|&i| src[i as usize]).collect();
    Plane::from_vec(plane.height(), plane.width(), data).unwrap_or_else(|_| plane.clone())
}

/// [`gather`] writing back into `plane` through a pooled temporary (`index.len()` must equal
/// the plane's length).
pub(crate) fn gather_in_place<T: super::scratch::Pooled>(plane: &mut Plane<T>, index: &[u32]) {
    let mut tmp: Vec<T> = super::scratch::take(index.len());
    let src = plane.as_slice();
    for (t, &i) in tmp.iter_mut().zip(index) {
        *t = src[i as usize];
    }
    plane.as_mut_slice().copy_from_slice(&tmp);
    super::scratch::give(tmp);
}

/// Nearest-neighbour resampling through `affine` (OpenCV `warpAffine`, `INTER_NEAREST`,
/// `BORDER_REPLICATE`): the source coordinate is rounded half up and clamped to the image.
/// Values are copied, never mixed, so a binary mask stays binary.
pub fn warp_nearest<T: Copy>(plane: &Plane<T>, affine: &Affine) -> Plane<T> {
    gather(plane, &nearest_index_map(plane.shape(), affine))
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
