//! Elastic deformation on a coarse random grid (DeLTA's `elastic_deformation`, which calls the
//! `elasticdeform` package's `deform_grid` and, in the newest DeLTA, `smart_elastic_deform`).
//!
//! The algorithm, re-implemented from its description:
//! 1. a coarse displacement grid of `points = (py, px)` control points per axis, each component
//!    drawn from `N(0, sigma)` pixels (drawn by the caller, see [`Displacement::random`]);
//! 2. the grid spans the image (control point `j` sits at row `j·(H−1)/(py−1)`) and is upsampled
//!    to every pixel by *interpolating* cubic B-spline (the grid is prefiltered with mirror
//!    boundaries, as `scipy.ndimage.spline_filter1d` does, then evaluated at
//!    `linspace(0, p−1, n)`);
//! 3. each target is sampled at `(row + dy, col + dx)` with the border mode `nearest` (the
//!    coordinate is clamped into the image): images with a cubic B-spline *without* prefilter
//!    (DeLTA passes `prefilter=False`, which also smooths the image slightly), masks and weight
//!    maps with nearest neighbour;
//! 4. masks are labelled first and the labels warped, and afterwards every pixel where two
//!    different cells touch is cleared ([`clear_touching`]), so cells that the warp pushes
//!    together stay separated (newest DeLTA's `smart_elastic_deform`).

use rand_distr::{Distribution, Normal};

use crate::image::{Labels, Mask, Plane};
use crate::morphology::{label, Connectivity};
use crate::random::SampleRng;

/// A coarse displacement grid: `dy` and `dx` in pixels, each `py × px`, row-major.
#[derive(Clone, Debug, PartialEq)]
pub struct Displacement {
    /// Control points along rows.
    pub py: usize,
    /// Control points along columns.
    pub px: usize,
    /// Row displacement of each control point, in pixels.
    pub dy: Vec<f64>,
    /// Column displacement of each control point, in pixels.
    pub dx: Vec<f64>,
}

impl Displacement {
    /// Draws `N(0, sigma)` for every control point: all row components first, then all column
    /// components (numpy's `normal(0, sigma, (2, py, px))` order).
    pub fn random(rng: &mut SampleRng, sigma: f64, points: (usize, usize)) -> Self {
        let (py, px) = points;
        let n = py * px;
        let mut draw = |k: usize| -> Vec<f64> {
            match Normal::new(0.0, sigma) {
                Ok(d) => (0..k).map(|_| d.sample(rng)).collect(),
                Err(_) => vec![0.0; k],
            }
        };
        let dy = draw(n);
        let dx = draw(n);
        Displacement { py, px, dy, dx }
    }

    /// The dense displacement `(dy, dx)` at every pixel of a `(height, width)` image.
    pub fn dense(&self, shape: (usize, usize)) -> (Plane<f32>, Plane<f32>) {
        let (h, w) = shape;
        let cy = prefilter_2d(&self.dy, self.py, self.px);
        let cx = prefilter_2d(&self.dx, self.py, self.px);
        let rows = spline_taps(h, self.py);
        let cols32: Vec<([usize; 4], [f32; 4])> = spline_taps(w, self.px)
            .into_iter()
            .map(|(i, wt)| (i, wt.map(|v| v as f32)))
            .collect();
        // Pooled buffers: every value is overwritten below.
        let pooled = || {
            Plane::from_vec(h, w, super::scratch::take(h * w))
                .unwrap_or_else(|_| Plane::filled(h, w, 0f32))
        };
        let mut out_y = pooled();
        let mut out_x = pooled();
        let mut ty = vec![0f64; self.px];
        let mut tx = vec![0f64; self.px];
        for (r, (idx, wt)) in rows.iter().enumerate() {
            // Interpolate along rows first (one value per control column) ...
            for k in 0..self.px {
                let mut sy = 0.0;
                let mut sx = 0.0;
                for t in 0..4 {
                    sy += wt[t] * cy[idx[t] * self.px + k];
                    sx += wt[t] * cx[idx[t] * self.px + k];
                }
                ty[k] = sy;
                tx[k] = sx;
            }
            // ... then along the columns (f32 from here on: the hot per-pixel part).
            let (ty32, tx32): (Vec<f32>, Vec<f32>) = ty
                .iter()
                .zip(&tx)
                .map(|(&a, &b)| (a as f32, b as f32))
                .unzip();
            for (c, (oy, ox)) in out_y
                .row_mut(r)
                .iter_mut()
                .zip(out_x.row_mut(r).iter_mut())
                .enumerate()
            {
                let (i, wt) = &cols32[c];
                *oy = wt[0] * ty32[i[0]]
                    + wt[1] * ty32[i[1]]
                    + wt[2] * ty32[i[2]]
                    + wt[3] * ty32[i[3]];
                *ox = wt[0] * tx32[i[0]]
                    + wt[1] * tx32[i[1]]
                    + wt[2] * tx32[i[2]]
                    + wt[3] * tx32[i[3]];
            }
        }
        (out_y, out_x)
    }
}

/// Cubic B-spline basis weights for the taps `floor(t)−1 ..= floor(t)+2` at fraction `f`.
#[inline]
pub(crate) fn bspline3_weights(f: f64) -> [f64; 4] {
    let g = 1.0 - f;
    let f2 = f * f;
    let f3 = f2 * f;
    [
        g * g * g / 6.0,
        (3.0 * f3 - 6.0 * f2 + 4.0) / 6.0,
        (-3.0 * f3 + 3.0 * f2 + 3.0 * f + 1.0) / 6.0,
        f3 / 6.0,
    ]
}

/// Mirror index (`scipy.ndimage` mode `mirror`: reflect about the edge sample).
#[inline]
fn mirror(mut i: isize, n: usize) -> usize {
    if n <= 1 {
        return 0;
    }
    let n = n as isize;
    let period = 2 * n - 2;
    i = i.rem_euclid(period);
    if i >= n {
        i = period - i;
    }
    i as usize
}

/// For each of `n` output positions spread over `p` control points (`linspace(0, p−1, n)`):
/// the 4 mirrored control indices and their cubic B-spline weights.
fn spline_taps(n: usize, p: usize) -> Vec<([usize; 4], [f64; 4])> {
    let pos = super::intensity::linspace(0.0, p.saturating_sub(1) as f64, n);
    pos.into_iter()
        .map(|t| {
            let f0 = t.floor();
            let base = f0 as isize - 1;
            let idx = std::array::from_fn(|k| mirror(base + k as isize, p));
            (idx, bspline3_weights(t - f0))
        })
        .collect()
}

/// Interpolating cubic B-spline coefficients of `values` along one axis with mirror boundaries:
/// solves `(c[k−1] + 4c[k] + c[k+1]) / 6 = v[k]` with `c[−1] = c[1]`, `c[n] = c[n−2]`.
pub(crate) fn prefilter_1d(values: &[f64]) -> Vec<f64> {
    let n = values.len();
    if n < 2 {
        return values.to_vec();
    }
    // Tridiagonal system (Thomas algorithm): diagonal 4, off-diagonals 1, except the mirrored
    // first/last rows whose single off-diagonal is 2.
    let mut sup = vec![0.0; n];
    let mut rhs: Vec<f64> = values.iter().map(|v| 6.0 * v).collect();
    let sub = |i: usize| if i == n - 1 { 2.0 } else { 1.0 };
    let sup_of = |i: usize| if i == 0 { 2.0 } else { 1.0 };
    let mut diag = 4.0;
    sup[0] = sup_of(0) / diag;
    rhs[0] /= diag;
    for i in 1..n {
        diag = 4.0 - sub(i) * sup[i - 1];
        if i < n - 1 {
            sup[i] = sup_of(i) / diag;
        }
        rhs[i] = (rhs[i] - sub(i) * rhs[i - 1]) / diag;
    }
    for i in (0..n - 1).rev() {
        rhs[i] -= sup[i] * rhs[i + 1];
    }
    rhs
}

fn prefilter_2d(values: &[f64], py: usize, px: usize) -> Vec<f64> {
    let mut c = values.to_vec();
    for r in 0..py {
        let row = prefilter_1d(&c[r * px..(r + 1) * px]);
        c[r * px..(r + 1) * px].copy_from_slice(&row);
    }
    let mut col = vec![0.0; py];
    for k in 0..px {
        for r in 0..py {
            col[r] = c[r * px + k];
        }
        let f = prefilter_1d(&col);
        for r in 0..py {
            c[r * px + k] = f[r];
        }
    }
    c
}

/// Cubic B-spline weights in `f32` (the per-pixel hot path).
#[inline]
fn bspline3_weights_f32(f: f32) -> [f32; 4] {
    let g = 1.0 - f;
    let f2 = f * f;
    let f3 = f2 * f;
    const SIXTH: f32 = 1.0 / 6.0;
    [
        g * g * g * SIXTH,
        (3.0 * f3 - 6.0 * f2 + 4.0) * SIXTH,
        (-3.0 * f3 + 3.0 * f2 + 3.0 * f + 1.0) * SIXTH,
        f3 * SIXTH,
    ]
}

/// Samples an image at `(row + dy, col + dx)` with a cubic B-spline of the raw pixel values (no
/// prefilter), coordinates clamped into the image (mode `nearest`), support indices mirrored.
pub fn warp_cubic(plane: &Plane<f32>, dy: &Plane<f32>, dx: &Plane<f32>) -> Plane<f32> {
    let mut out = Plane::filled(plane.height(), plane.width(), 0f32);
    warp_cubic_into(plane, dy, dx, out.as_mut_slice());
    out
}

/// [`warp_cubic`] writing back into `plane` through a pooled temporary.
pub(crate) fn warp_cubic_in_place(plane: &mut Plane<f32>, dy: &Plane<f32>, dx: &Plane<f32>) {
    let mut tmp: Vec<f32> = super::scratch::take(plane.len());
    warp_cubic_into(plane, dy, dx, &mut tmp);
    plane.as_mut_slice().copy_from_slice(&tmp);
    super::scratch::give(tmp);
}

fn warp_cubic_into(plane: &Plane<f32>, dy: &Plane<f32>, dx: &Plane<f32>, out: &mut [f32]) {
    let (h, w) = plane.shape();
    let src = plane.as_slice();
    if h == 0 || w == 0 {
        return;
    }
    let (hm, wm) = ((h - 1) as f32, (w - 1) as f32);
    for r in 0..h {
        let (dyr, dxr) = (dy.row(r), dx.row(r));
        for (c, o) in out[r * w..(r + 1) * w].iter_mut().enumerate() {
            let sy = (r as f32 + dyr[c]).clamp(0.0, hm);
            let sx = (c as f32 + dxr[c]).clamp(0.0, wm);
            // Non-negative after the clamp, so truncation is the floor.
            let (iy, ix) = (sy as usize, sx as usize);
            let wy = bspline3_weights_f32(sy - iy as f32);
            let wx = bspline3_weights_f32(sx - ix as f32);
            let mut acc = 0f32;
            if iy >= 1 && ix >= 1 && iy + 2 < h && ix + 2 < w {
                let base = (iy - 1) * w + ix - 1;
                for (j, wyj) in wy.iter().enumerate() {
                    let row = &src[base + j * w..base + j * w + 4];
                    acc +=
                        wyj * (wx[0] * row[0] + wx[1] * row[1] + wx[2] * row[2] + wx[3] * row[3]);
                }
            } else {
                let (y0, x0) = (iy as isize - 1, ix as isize - 1);
                for (j, wyj) in wy.iter().enumerate() {
                    let yy = mirror(y0 + j as isize, h) * w;
                    let mut s = 0.0;
                    for (i, wxi) in wx.iter().enumerate() {
                        s += wxi * src[yy + mirror(x0 + i as isize, w)];
                    }
                    acc += wyj * s;
                }
            }
            *o = acc.clamp(0.0, 1.0);
        }
    }
}

/// For every pixel, the index of the input pixel that nearest-neighbour sampling at
/// `(row + dy, col + dx)` reads (coordinate clamped into the image, then rounded half up).
pub fn nearest_index_map(dy: &Plane<f32>, dx: &Plane<f32>) -> Vec<u32> {
    let mut out = Vec::new();
    nearest_index_map_into(dy, dx, &mut out);
    out
}

/// [`nearest_index_map`] into a caller-provided buffer.
pub(crate) fn nearest_index_map_into(dy: &Plane<f32>, dx: &Plane<f32>, out: &mut Vec<u32>) {
    let (h, w) = dy.shape();
    out.clear();
    out.resize(h * w, 0);
    if h == 0 || w == 0 {
        return;
    }
    let (hm, wm) = ((h - 1) as f32, (w - 1) as f32);
    for (r, orow) in out.chunks_exact_mut(w).enumerate() {
        let (dyr, dxr) = (dy.row(r), dx.row(r));
        for (c, o) in orow.iter_mut().enumerate() {
            let sy = (((r as f32 + dyr[c]).clamp(0.0, hm) + 0.5) as usize).min(h - 1);
            let sx = (((c as f32 + dxr[c]).clamp(0.0, wm) + 0.5) as usize).min(w - 1);
            *o = (sy * w + sx) as u32;
        }
    }
}

/// Samples at `(row + dy, col + dx)` with nearest neighbour (see [`nearest_index_map`]),
/// copying values: binary stays binary, labels stay labels.
pub fn warp_nearest<T: Copy>(plane: &Plane<T>, dy: &Plane<f32>, dx: &Plane<f32>) -> Plane<T> {
    super::geometric::gather(plane, &nearest_index_map(dy, dx))
}

/// Pixels of a cell that have an 8-neighbour belonging to a *different* cell (DeLTA's
/// `detect_touching_cells`: grey dilation of the labels and of their inverse, both compared
/// with the pixel's own label).
pub fn touching_cells(labels: &Labels) -> Mask {
    let (h, w) = labels.shape();
    let l = labels.as_slice();
    Mask::from_fn(h, w, |r, c| {
        let v = l[r * w + c];
        if v == 0 {
            return false;
        }
        let (r0, r1) = (r.saturating_sub(1), (r + 1).min(h - 1));
        let (c0, c1) = (c.saturating_sub(1), (c + 1).min(w - 1));
        (r0..=r1).any(|rr| {
            (c0..=c1).any(|cc| {
                let n = l[rr * w + cc];
                n != 0 && n != v
            })
        })
    })
}

/// Clears the touching pixels: `labels > 0` and not [`touching_cells`] (one fused pass).
pub fn clear_touching(labels: &Labels) -> Mask {
    let (h, w) = labels.shape();
    let l = labels.as_slice();
    let mut out = vec![0u8; h * w];
    // Interior pixels: the 8 neighbours by fixed offsets, no bounds arithmetic.
    let differs = |n: u32, v: u32| n != 0 && n != v;
    for r in 1..h.saturating_sub(1) {
        let (up, mid, down) = (
            &l[(r - 1) * w..r * w],
            &l[r * w..(r + 1) * w],
            &l[(r + 1) * w..(r + 2) * w],
        );
        let o = &mut out[r * w..(r + 1) * w];
        for c in 1..w.saturating_sub(1) {
            let v = mid[c];
            if v == 0 {
                continue;
            }
            let touching = differs(up[c - 1], v)
                | differs(up[c], v)
                | differs(up[c + 1], v)
                | differs(mid[c - 1], v)
                | differs(mid[c + 1], v)
                | differs(down[c - 1], v)
                | differs(down[c], v)
                | differs(down[c + 1], v);
            o[c] = u8::from(!touching);
        }
    }
    // The one-pixel frame, with clamped neighbourhoods.
    for r in 0..h {
        let frame_row = r == 0 || r + 1 >= h;
        let (r0, r1) = (r.saturating_sub(1), (r + 1).min(h - 1));
        for c in 0..w {
            if !(frame_row || c == 0 || c + 1 >= w) {
                continue;
            }
            let v = l[r * w + c];
            if v == 0 {
                continue;
            }
            let (c0, c1) = (c.saturating_sub(1), (c + 1).min(w - 1));
            let mut touching = false;
            for rr in r0..=r1 {
                for &n in &l[rr * w + c0..=rr * w + c1] {
                    touching |= differs(n, v);
                }
            }
            out[r * w + c] = u8::from(!touching);
        }
    }
    Mask::from_vec(h, w, out).unwrap_or_else(|_| Mask::zeros(h, w))
}

/// Warps a mask: label the cells (8-connected), warp the labels with nearest neighbour, clear the
/// pixels where different cells now touch.
pub fn warp_mask(mask: &Mask, dy: &Plane<f32>, dx: &Plane<f32>) -> Mask {
    warp_mask_with_index(mask, &nearest_index_map(dy, dx))
}

/// [`warp_mask`] with a precomputed [`nearest_index_map`].
pub fn warp_mask_with_index(mask: &Mask, index: &[u32]) -> Mask {
    let (labels, _) = label(mask, Connectivity::Eight);
    let (h, w) = mask.shape();
    let mut buf: Vec<u32> = super::scratch::take(index.len());
    let src = labels.as_slice();
    for (b, &i) in buf.iter_mut().zip(index) {
        *b = src[i as usize];
    }
    let Ok(plane) = Plane::from_vec(h, w, buf) else {
        return mask.clone();
    };
    let warped = Labels::from_plane(plane);
    let out = clear_touching(&warped);
    super::scratch::give(warped.into_plane().into_vec());
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefilter_interpolates_the_control_points() {
        let v = [0.3, -1.2, 2.0, 0.7, 0.1];
        let c = prefilter_1d(&v);
        for k in 0..v.len() {
            let at = |i: isize| c[mirror(i, v.len())];
            let s = (at(k as isize - 1) + 4.0 * at(k as isize) + at(k as isize + 1)) / 6.0;
            assert!((s - v[k]).abs() < 1e-12, "{k}: {s} vs {}", v[k]);
        }
        assert_eq!(mirror(-1, 5), 1);
        assert_eq!(mirror(5, 5), 3);
        assert_eq!(mirror(-6, 5), 2);
    }

    #[test]
    fn touching_detection() {
        let l = Labels::from_plane(Plane::from_vec(1, 5, vec![1, 1, 2, 0, 3]).unwrap());
        assert_eq!(touching_cells(&l).as_slice(), &[0, 1, 1, 0, 0]);
        assert_eq!(clear_touching(&l).as_slice(), &[1, 0, 0, 0, 1]);
    }

    #[test]
    fn fused_clearing_matches_the_definition() {
        // Pseudo-random labels 0..=3 on several shapes, including 1-pixel-wide ones.
        let mut x = 12345u32;
        for (h, w) in [(7, 9), (1, 6), (5, 1), (2, 2), (13, 4)] {
            let l = Labels::from_plane(Plane::from_fn(h, w, |_, _| {
                x = x.wrapping_mul(1_103_515_245).wrapping_add(12345);
                (x >> 16) % 4
            }));
            let t = touching_cells(&l);
            let expected = Mask::from_fn(h, w, |r, c| l.get(r, c) != 0 && t.get(r, c) == 0);
            assert_eq!(clear_touching(&l), expected, "{h}x{w}");
        }
    }
}
