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
        let mut out_y = Plane::filled(h, w, 0f32);
        let mut out_x = Plane::filled(h, w, 0f32);
        if h == 0 || w == 0 {
            return (out_y, out_x);
        }
        let field = Field::new(self, shape);
        for r in 0..h {
            field.row(r, out_y.row_mut(r), out_x.row_mut(r));
        }
        (out_y, out_x)
    }
}

/// The upsampled displacement, evaluated separably: the spline is first interpolated along the
/// columns for every control row (`py × W` values, in `f64`), and each image row is then a
/// 4-tap combination of those rows (`f32`, vectorised).
struct Field {
    w: usize,
    /// `py × w`: the field along each control row, for `dy` and `dx`.
    along_y: Vec<f32>,
    along_x: Vec<f32>,
    rows: Vec<([usize; 4], [f32; 4])>,
}

impl Field {
    fn new(d: &Displacement, (h, w): (usize, usize)) -> Self {
        let cy = prefilter_2d(&d.dy, d.py, d.px);
        let cx = prefilter_2d(&d.dx, d.py, d.px);
        let cols = spline_taps(w, d.px);
        let mut along_y = vec![0f32; d.py * w];
        let mut along_x = vec![0f32; d.py * w];
        for j in 0..d.py {
            let (ry, rx) = (&cy[j * d.px..(j + 1) * d.px], &cx[j * d.px..(j + 1) * d.px]);
            for (c, (idx, wt)) in cols.iter().enumerate() {
                let (mut sy, mut sx) = (0.0, 0.0);
                for t in 0..4 {
                    sy += wt[t] * ry[idx[t]];
                    sx += wt[t] * rx[idx[t]];
                }
                along_y[j * w + c] = sy as f32;
                along_x[j * w + c] = sx as f32;
            }
        }
        let rows = spline_taps(h, d.py)
            .into_iter()
            .map(|(i, wt)| (i, wt.map(|v| v as f32)))
            .collect();
        Field {
            w,
            along_y,
            along_x,
            rows,
        }
    }

    /// `(dy, dx)` of image row `r` into `dy`, `dx` (each `w` long).
    fn row(&self, r: usize, dy: &mut [f32], dx: &mut [f32]) {
        let (idx, wt) = &self.rows[r];
        let w = self.w;
        combine4(&idx.map(|i| &self.along_y[i * w..(i + 1) * w]), wt, dy);
        combine4(&idx.map(|i| &self.along_x[i * w..(i + 1) * w]), wt, dx);
    }
}

crate::simd::multiversion! {
/// `out[c] = Σ_t wt[t]·rows[t][c]`.
fn combine4(rows: &[&[f32]; 4], wt: &[f32; 4], out: &mut [f32]) {
    let n = out.len();
    let [a, b, c, d] = rows.map(|r| &r[..n]);
    for i in 0..n {
        out[i] = wt[0] * a[i] + wt[1] * b[i] + wt[2] * c[i] + wt[3] * d[i];
    }
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
    let (h, w) = plane.shape();
    let mut out = Plane::filled(h, w, 0f32);
    let mut scratch = CubicScratch::new();
    for r in 0..h {
        cubic_row(
            plane.as_slice(),
            (h, w),
            r,
            dy.row(r),
            dx.row(r),
            out.row_mut(r),
            &mut scratch,
        );
    }
    out
}

/// Pixels per block of the row kernels (coordinates and weights in one vectorised loop, the
/// taps in a second).
const BLOCK: usize = 64;

/// The clamped source coordinate `(r + d)` in `[0, hi]`; NaN becomes 0.
#[inline(always)]
fn clamp_coord(v: f32, hi: f32) -> f32 {
    v.max(0.0).min(hi)
}

/// Per-block temporaries of [`cubic_row`] (every entry is written before it is read).
struct CubicScratch {
    wy: [[f32; BLOCK]; 4],
    wx: [[f32; BLOCK]; 4],
    iy: [i32; BLOCK],
    ix: [i32; BLOCK],
}

impl CubicScratch {
    fn new() -> Self {
        CubicScratch {
            wy: [[0.0; BLOCK]; 4],
            wx: [[0.0; BLOCK]; 4],
            iy: [0; BLOCK],
            ix: [0; BLOCK],
        }
    }
}

crate::simd::multiversion! {
/// Row `r` of [`warp_cubic`] (`dyr`, `dxr`: the displacement of that row).
/// `scratch` holds the per-block temporaries (one per warp, so that they are not zeroed again
/// for every row).
fn cubic_row(src: &[f32], shape: (usize, usize), r: usize, dyr: &[f32], dxr: &[f32], out: &mut [f32], scratch: &mut CubicScratch) {
    use super::geometric::floor_i32;
    let (h, w) = shape;
    let (hi, wi) = (h as i32, w as i32);
    let (hm, wm) = ((h - 1) as f32, (w - 1) as f32);
    let rf = r as f32;
    let CubicScratch { wy, wx, iy, ix } = scratch;
    for (b, ob) in out.chunks_mut(BLOCK).enumerate() {
        let c0 = b * BLOCK;
        let n = ob.len();
        let (dyb, dxb) = (&dyr[c0..c0 + n], &dxr[c0..c0 + n]);
        for k in 0..n {
            let sy = clamp_coord(rf + dyb[k], hm);
            let sx = clamp_coord((c0 + k) as i32 as f32 + dxb[k], wm);
            let (y0, x0) = (floor_i32(sy), floor_i32(sx));
            let vy = bspline3_weights_f32(sy - y0 as f32);
            let vx = bspline3_weights_f32(sx - x0 as f32);
            for t in 0..4 {
                wy[t][k] = vy[t];
                wx[t][k] = vx[t];
            }
            iy[k] = y0;
            ix[k] = x0;
        }
        for (k, o) in ob.iter_mut().enumerate() {
            let (y0, x0) = (iy[k], ix[k]);
            let vy = [wy[0][k], wy[1][k], wy[2][k], wy[3][k]];
            let vx = [wx[0][k], wx[1][k], wx[2][k], wx[3][k]];
            let rows: [[f32; 4]; 4] = if y0 >= 1 && x0 >= 1 && y0 + 2 < hi && x0 + 2 < wi {
                let base = (y0 - 1) as usize * w + (x0 - 1) as usize;
                let t = &src[base..base + 3 * w + 4];
                std::array::from_fn(|j| [t[j * w], t[j * w + 1], t[j * w + 2], t[j * w + 3]])
            } else {
                std::array::from_fn(|j| {
                    let yy = mirror(y0 as isize - 1 + j as isize, h) * w;
                    std::array::from_fn(|i| src[yy + mirror(x0 as isize - 1 + i as isize, w)])
                })
            };
            let mut a = [0f32; 4];
            for (i, ai) in a.iter_mut().enumerate() {
                *ai = vy[0] * rows[0][i] + vy[1] * rows[1][i] + vy[2] * rows[2][i] + vy[3] * rows[3][i];
            }
            let acc = vx[0] * a[0] + vx[1] * a[1] + vx[2] * a[2] + vx[3] * a[3];
            *o = acc.clamp(0.0, 1.0);
        }
    }
}
}

crate::simd::multiversion! {
/// Row `r` of [`nearest_index_map`].
fn nearest_row(shape: (usize, usize), r: usize, dyr: &[f32], dxr: &[f32], out: &mut [u32]) {
    use super::geometric::floor_i32;
    let (h, w) = shape;
    let (hm, wm) = ((h - 1) as f32, (w - 1) as f32);
    let rf = r as f32;
    let n = out.len();
    let (dyr, dxr) = (&dyr[..n], &dxr[..n]);
    for c in 0..n {
        let sy = floor_i32(clamp_coord(rf + dyr[c], hm) + 0.5).clamp(0, h as i32 - 1);
        let sx = floor_i32(clamp_coord(c as i32 as f32 + dxr[c], wm) + 0.5).clamp(0, w as i32 - 1);
        out[c] = (sy as u32) * w as u32 + sx as u32;
    }
}
}

/// For every pixel, the index of the input pixel that nearest-neighbour sampling at
/// `(row + dy, col + dx)` reads (coordinate clamped into the image, then rounded half up).
pub fn nearest_index_map(dy: &Plane<f32>, dx: &Plane<f32>) -> Vec<u32> {
    let (h, w) = dy.shape();
    let mut out = vec![0u32; h * w];
    for r in 0..h {
        nearest_row(
            (h, w),
            r,
            dy.row(r),
            dx.row(r),
            &mut out[r * w..(r + 1) * w],
        );
    }
    out
}

/// Samples at `(row + dy, col + dx)` with nearest neighbour (see [`nearest_index_map`]),
/// copying values: binary stays binary, labels stay labels.
pub fn warp_nearest<T: Copy>(plane: &Plane<T>, dy: &Plane<f32>, dx: &Plane<f32>) -> Plane<T> {
    super::geometric::gather(plane, &nearest_index_map(dy, dx))
}

/// Elastic deformation of every target of a sample by `disp`, row by row: the field of a row
/// is computed once, images are sampled with the cubic spline, weight maps and (labelled)
/// masks by the nearest pixel, then touching cells are separated. Equivalent to
/// [`warp_cubic`] / [`warp_nearest`] / [`warp_mask`] with [`Displacement::dense`], without the
/// dense planes.
pub(crate) fn warp_sample(targets: &mut [super::Target], disp: &Displacement) {
    use super::scratch;
    use super::Target;
    let Some(first) = targets.first() else {
        return;
    };
    let (h, w) = first.shape();
    if h == 0 || w == 0 {
        return;
    }
    let n = h * w;
    let field = Field::new(disp, (h, w));
    enum Job<'a> {
        Cubic(&'a [f32], Vec<f32>),
        Nearest(&'a [f32], Vec<f32>),
        Labels(Labels, Vec<u32>),
    }
    let mut jobs: Vec<Job<'_>> = targets
        .iter()
        .map(|t| match t {
            Target::Image(i) => Job::Cubic(i.as_slice(), scratch::take_uninit(n)),
            Target::Weights(wm) => Job::Nearest(wm.as_slice(), scratch::take_uninit(n)),
            Target::Mask(m) => {
                Job::Labels(label(m, Connectivity::Eight).0, scratch::take_uninit(n))
            }
        })
        .collect();
    let needs_index = jobs.iter().any(|j| !matches!(j, Job::Cubic(..)));
    let mut dyr = vec![0f32; w];
    let mut dxr = vec![0f32; w];
    let mut index = vec![0u32; w];
    let mut scratch = CubicScratch::new();
    for r in 0..h {
        field.row(r, &mut dyr, &mut dxr);
        if needs_index {
            nearest_row((h, w), r, &dyr, &dxr, &mut index);
        }
        let span = r * w..(r + 1) * w;
        for job in &mut jobs {
            match job {
                Job::Cubic(src, o) => cubic_row(
                    src,
                    (h, w),
                    r,
                    &dyr,
                    &dxr,
                    &mut o[span.clone()],
                    &mut scratch,
                ),
                Job::Nearest(src, o) => {
                    super::geometric::gather_row(src, &index, &mut o[span.clone()])
                }
                Job::Labels(l, o) => {
                    super::geometric::gather_row(l.as_slice(), &index, &mut o[span.clone()])
                }
            }
        }
    }
    enum Out {
        F32(Vec<f32>),
        Mask(Mask, Vec<u32>),
    }
    let outs: Vec<Out> = jobs
        .into_iter()
        .map(|j| match j {
            Job::Cubic(_, o) | Job::Nearest(_, o) => Out::F32(o),
            Job::Labels(l, o) => {
                scratch::give(l.into_plane().into_vec());
                let mask = match Plane::from_vec(h, w, o) {
                    Ok(p) => {
                        let warped = Labels::from_plane(p);
                        let m = clear_touching(&warped);
                        return Out::Mask(m, warped.into_plane().into_vec());
                    }
                    Err(_) => Mask::zeros(h, w),
                };
                Out::Mask(mask, Vec::new())
            }
        })
        .collect();
    for (t, out) in targets.iter_mut().zip(outs) {
        match (t, out) {
            (Target::Image(i), Out::F32(o)) => scratch::replace(i, (h, w), o),
            (Target::Weights(wm), Out::F32(o)) => scratch::replace(wm, (h, w), o),
            (Target::Mask(m), Out::Mask(new, buf)) => {
                *m = new;
                scratch::give(buf);
            }
            // Not produced above (one buffer kind per target kind).
            (_, Out::F32(o)) => scratch::give(o),
            (_, Out::Mask(_, buf)) => scratch::give(buf),
        }
    }
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
    // Interior pixels: the 8 neighbours by fixed offsets, no bounds arithmetic, no branch.
    for r in 1..h.saturating_sub(1) {
        clear_touching_row(
            &l[(r - 1) * w..r * w],
            &l[r * w..(r + 1) * w],
            &l[(r + 1) * w..(r + 2) * w],
            &mut out[r * w..(r + 1) * w],
        );
    }
    // The one-pixel frame, with clamped neighbourhoods.
    let differs = |n: u32, v: u32| n != 0 && n != v;
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

crate::simd::multiversion! {
/// Columns `1..w−1` of an interior row of [`clear_touching`].
fn clear_touching_row(up: &[u32], mid: &[u32], down: &[u32], out: &mut [u8]) {
    let w = mid.len();
    if w < 3 {
        return;
    }
    let (up, down, out) = (&up[..w], &down[..w], &mut out[..w]);
    for c in 1..w - 1 {
        let v = mid[c];
        let differs = |n: u32| (n != 0) & (n != v);
        let touching = differs(up[c - 1])
            | differs(up[c])
            | differs(up[c + 1])
            | differs(mid[c - 1])
            | differs(mid[c + 1])
            | differs(down[c - 1])
            | differs(down[c])
            | differs(down[c + 1]);
        out[c] = u8::from((v != 0) & !touching);
    }
}
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
