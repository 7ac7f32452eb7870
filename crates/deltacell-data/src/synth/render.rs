//! The phase-contrast image model shared by every synthetic kind.
//!
//! A scene is a set of rod-shaped cells ([`Rod`], a spherocylinder seen from above) plus an
//! optional "wall" phase map (the PDMS of a mother machine). The image is formed as
//!
//! ```text
//! φ   = Σ cells (optical thickness, flat-topped profile) + walls + faint texture
//! L   = 0.75·G_halo ∗ φ + 0.25·G_3·halo ∗ φ      (what the phase ring lets through)
//! I₀  = 1 − a·φ + h_out·max(L − φ, 0) + h_in·min(L − φ, 0)
//! I   = bg · illumination · (G_psf ∗ I₀) + shot and read noise
//! ```
//!
//! `L − φ` is a high-pass of the phase: negative inside a cell (darker), positive just outside
//! (the bright halo); in a dense colony the narrow gaps between cells light up. The bright side
//! is weighted much more than the dark side (`h_out` ≫ `h_in`), which is what real images show:
//! measured on the Omnipose E. coli phase images, the 1–3 px ring around cells is 1.9–2.0× the
//! background and the brightest 1 % of pixels 2.4–2.8×, while cell bodies sit at 0.2–0.9×.
//! Every parameter is drawn
//! per image (or per movie) by [`Optics::random`], so a network sees a spread of contrasts, halo
//! widths, blur, illumination gradients and noise levels.

use rand::Rng;
use rand_distr::{Distribution, StandardNormal};

use crate::image::{Image, Labels, Plane};
use crate::random::SampleRng;

/// A rod-shaped cell: a spherocylinder of radius `r` around the segment `a`–`b` (pixel units,
/// `(row, col)`), with relative optical density `dens` (≈ 1) and a division constriction `waist`
/// in `[0, 1)` (0 = none) at the middle of the axis.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) struct Rod {
    /// One end of the axis (centre of the first pole cap), `(row, col)` in pixels.
    pub(crate) a: [f32; 2],
    /// The other end of the axis, `(row, col)` in pixels.
    pub(crate) b: [f32; 2],
    /// Radius (half the cell width) in pixels.
    pub(crate) r: f32,
    /// Relative optical density, about 0.8–1.2.
    pub(crate) dens: f32,
    /// Depth of the septum constriction at mid-cell, 0 (none) to < 1.
    pub(crate) waist: f32,
}

impl Rod {
    /// A rod centred at `c` (row, col), with total length `len` (pole tip to pole tip, px),
    /// axis angle `angle` (radians, 0 = along the rows axis i.e. vertical) and radius `r`.
    pub(crate) fn centred(c: [f32; 2], angle: f32, len: f32, r: f32, dens: f32, waist: f32) -> Rod {
        let half = ((len - 2.0 * r) * 0.5).max(0.0);
        let (s, co) = angle.sin_cos();
        let d = [co * half, s * half];
        Rod {
            a: [c[0] - d[0], c[1] - d[1]],
            b: [c[0] + d[0], c[1] + d[1]],
            r,
            dens,
            waist,
        }
    }

    /// The rod moved by `(dy, dx)`.
    pub(crate) fn shifted(mut self, dy: f32, dx: f32) -> Rod {
        self.a[0] += dy;
        self.a[1] += dx;
        self.b[0] += dy;
        self.b[1] += dx;
        self
    }

    /// `(distance to the axis, local radius)` of point `p`: the radius is reduced near mid-cell
    /// by the constriction.
    #[inline]
    fn dist_radius(&self, p: [f32; 2]) -> (f32, f32) {
        let ab = [self.b[0] - self.a[0], self.b[1] - self.a[1]];
        let ap = [p[0] - self.a[0], p[1] - self.a[1]];
        let l2 = ab[0] * ab[0] + ab[1] * ab[1];
        let t = if l2 > 0.0 {
            ((ap[0] * ab[0] + ap[1] * ab[1]) / l2).clamp(0.0, 1.0)
        } else {
            0.0
        };
        let q = [ap[0] - t * ab[0], ap[1] - t * ab[1]];
        let d = (q[0] * q[0] + q[1] * q[1]).sqrt();
        let mut r = self.r;
        if self.waist > 0.0 {
            let s = (t - 0.5) * l2.sqrt();
            let w = 0.55 * self.r;
            r *= 1.0 - self.waist * (-(s * s) / (2.0 * w * w)).exp();
        }
        (d, r)
    }

    /// Pixel bounding box `(r0, r1, c0, c1)` (half-open), clipped to `(h, w)`; `None` if empty.
    fn bbox(&self, h: usize, w: usize, pad: f32) -> Option<(usize, usize, usize, usize)> {
        let e = self.r + pad;
        let r0 = (self.a[0].min(self.b[0]) - e).floor().max(0.0);
        let r1 = (self.a[0].max(self.b[0]) + e).ceil() + 1.0;
        let c0 = (self.a[1].min(self.b[1]) - e).floor().max(0.0);
        let c1 = (self.a[1].max(self.b[1]) + e).ceil() + 1.0;
        let (r1, c1) = (r1.min(h as f32), c1.min(w as f32));
        if r0 >= r1 || c0 >= c1 {
            return None;
        }
        Some((r0 as usize, r1 as usize, c0 as usize, c1 as usize))
    }
}

/// Imaging parameters of one image or one movie (drawn once, kept across its frames).
#[derive(Clone, Debug)]
pub(crate) struct Optics {
    /// Background level in `[0, 1]` (16-bit full scale).
    bg: f32,
    /// Absorption-like darkening per unit phase.
    absorb: f32,
    /// Strength of the bright (outside) and dark (inside) sides of the high-pass (halo) term.
    halo_out: f32,
    halo_in: f32,
    /// Width of the halo (low-pass sigma), px.
    sigma_halo: f32,
    /// Optical PSF sigma, px.
    sigma_psf: f32,
    /// Illumination: linear gradient per pixel along rows and columns, and vignetting strength.
    grad: [f32; 2],
    vignette: f32,
    /// Static background texture (phase units) amplitude and correlation length (px).
    texture: f32,
    texture_sigma: f32,
    texture_seed: u64,
    /// Shot-noise factor and read noise (both relative to full scale).
    shot: f32,
    read: f32,
    /// Exponent of the cell thickness profile (smaller = flatter-topped, darker edges).
    profile: f32,
}

impl Optics {
    /// Draws a plausible phase-contrast set-up. `scale` is the typical cell radius in pixels: the
    /// halo width follows it.
    pub(crate) fn random(rng: &mut SampleRng, scale: f32) -> Optics {
        Optics {
            bg: rng.random_range(0.12..0.32),
            absorb: rng.random_range(0.4..0.7),
            halo_out: rng.random_range(0.8..3.2),
            halo_in: rng.random_range(0.2..0.7),
            sigma_halo: scale * rng.random_range(0.45..0.9),
            sigma_psf: rng.random_range(0.7..1.3),
            grad: [
                rng.random_range(-0.15..0.15) / 256.0,
                rng.random_range(-0.15..0.15) / 256.0,
            ],
            vignette: rng.random_range(0.0..0.15),
            texture: rng.random_range(0.004..0.02),
            texture_sigma: rng.random_range(0.8..2.0),
            texture_seed: rng.random(),
            shot: rng.random_range(0.00005..0.0004),
            read: rng.random_range(0.001..0.004),
            profile: rng.random_range(0.25..0.5),
        }
    }
}

/// Adds the optical thickness of `rods` (shifted by `off`) into `phi` (max-combined, so touching
/// or slightly overlapping cells do not add up).
fn add_rods(phi: &mut Plane<f32>, rods: &[Rod], off: [f32; 2], profile: f32) {
    let (h, w) = phi.shape();
    let mut cell = Plane::filled(h, w, 0.0f32);
    for rod in rods {
        let rod = rod.shifted(off[0], off[1]);
        let Some((r0, r1, c0, c1)) = rod.bbox(h, w, 1.0) else {
            continue;
        };
        for y in r0..r1 {
            let row = cell.row_mut(y);
            for (x, v) in row.iter_mut().enumerate().take(c1).skip(c0) {
                let (d, r) = rod.dist_radius([y as f32, x as f32]);
                let u = d / r;
                if u < 1.0 {
                    let t = rod.dens * (1.0 - u * u).powf(profile);
                    if t > *v {
                        *v = t;
                    }
                }
            }
        }
    }
    for (p, c) in phi.as_mut_slice().iter_mut().zip(cell.as_slice()) {
        *p += c;
    }
}

/// Renders the scene to a phase-contrast image of shape `(h, w)`.
///
/// `off` shifts every rod (stage drift); `walls` (same shape) is added to the phase unshifted
/// (callers shift walls themselves); `gain` scales the brightness (frame-to-frame flicker); the
/// noise is drawn from `rng`.
pub(crate) fn render(
    (h, w): (usize, usize),
    rods: &[Rod],
    walls: Option<&Plane<f32>>,
    optics: &Optics,
    off: [f32; 2],
    gain: f32,
    rng: &mut SampleRng,
) -> Image {
    let mut phi = match walls {
        Some(wl) => wl.clone(),
        None => Plane::filled(h, w, 0.0f32),
    };
    add_rods(&mut phi, rods, off, optics.profile);
    // Static texture: smoothed white noise from the optics' own seed (the same in every frame).
    let mut trng = crate::random::stream(optics.texture_seed, 0, 0);
    let mut tex: Vec<f32> = (0..h * w)
        .map(|_| StandardNormal.sample(&mut trng))
        .collect();
    gaussian_blur(&mut tex, h, w, optics.texture_sigma);
    // Blurred white noise has std ≈ 1 / (2·sqrt(pi)·sigma); renormalise to `texture`.
    let norm = optics.texture * 2.0 * std::f32::consts::PI.sqrt() * optics.texture_sigma;
    for (p, t) in phi.as_mut_slice().iter_mut().zip(&tex) {
        *p += norm * t;
    }
    // The halo has a narrow and a wide component: the wide one makes the bright envelope around
    // a whole colony and the bright rims of chamber walls.
    let mut low = phi.as_slice().to_vec();
    gaussian_blur(&mut low, h, w, optics.sigma_halo);
    let mut wide = phi.as_slice().to_vec();
    gaussian_blur(&mut wide, h, w, 3.0 * optics.sigma_halo);
    for (l, wv) in low.iter_mut().zip(&wide) {
        *l = 0.75 * *l + 0.25 * wv;
    }
    let mut img: Vec<f32> = phi
        .as_slice()
        .iter()
        .zip(&low)
        .map(|(&p, &l)| {
            let hp = l - p;
            let halo = if hp > 0.0 {
                optics.halo_out * hp
            } else {
                optics.halo_in * hp
            };
            1.0 - optics.absorb * p + halo
        })
        .collect();
    gaussian_blur(&mut img, h, w, optics.sigma_psf);
    let (cy, cx) = (h as f32 * 0.5, w as f32 * 0.5);
    let rad2 = cy * cy + cx * cx;
    let bg = optics.bg * gain;
    for y in 0..h {
        let dy = y as f32 - cy;
        for x in 0..w {
            let dx = x as f32 - cx;
            let illum = 1.0 + optics.grad[0] * dy + optics.grad[1] * dx
                - optics.vignette * (dy * dy + dx * dx) / rad2;
            let v = &mut img[y * w + x];
            let s = (bg * illum * *v).max(0.0);
            let sd = (optics.shot * s + optics.read * optics.read).sqrt();
            let n: f32 = StandardNormal.sample(rng);
            *v = (s + sd * n).clamp(0.0, 1.0);
        }
    }
    Image::from_plane_unchecked(Plane::from_vec(h, w, img).unwrap_or_else(|_| unreachable!()))
}

/// Rasterises `rods` (shifted by `off`) into instance labels `1..=rods.len()` in the given order.
///
/// A pixel belongs to a rod when its centre is closer than `r − 0.5` to the axis (the mask sits
/// just inside the dark body, as hand-drawn DeLTA masks do). Afterwards no two different labels
/// touch, even diagonally: a pixel next to a pixel of a *smaller* label is cleared, which leaves
/// at least one background pixel between any two cells (DeLTA separates touching cells in its
/// masks).
pub(crate) fn rasterise(h: usize, w: usize, rods: &[Rod], off: [f32; 2]) -> Labels {
    let mut lab = Plane::filled(h, w, 0u32);
    let mut best = Plane::filled(h, w, f32::INFINITY);
    for (i, rod) in rods.iter().enumerate() {
        let rod = rod.shifted(off[0], off[1]);
        let Some((r0, r1, c0, c1)) = rod.bbox(h, w, 0.0) else {
            continue;
        };
        for y in r0..r1 {
            for x in c0..c1 {
                let (d, r) = rod.dist_radius([y as f32, x as f32]);
                // Normalised depth inside the rod: the pixel goes to the rod it is deepest in.
                let u = d / (r - 0.5).max(0.5);
                if u < 1.0 && u < best.get(y, x) {
                    best.set(y, x, u);
                    lab.set(y, x, i as u32 + 1);
                }
            }
        }
    }
    separate(&mut lab);
    Labels::from_plane(lab)
}

/// Clears every labelled pixel that has an 8-neighbour with a smaller nonzero label (decided on
/// the labels before any clearing), so different labels never touch.
pub(crate) fn separate(lab: &mut Plane<u32>) {
    let (h, w) = lab.shape();
    let src = lab.clone();
    for y in 0..h {
        for x in 0..w {
            let v = src.get(y, x);
            if v == 0 {
                continue;
            }
            let mut clear = false;
            for yy in y.saturating_sub(1)..(y + 2).min(h) {
                for xx in x.saturating_sub(1)..(x + 2).min(w) {
                    let n = src.get(yy, xx);
                    if n != 0 && n < v {
                        clear = true;
                    }
                }
            }
            if clear {
                lab.set(y, x, 0);
            }
        }
    }
}

/// Index `i` reflected into `0..n` (`reflect101`: `-1 → 1`, `n → n-2`), for any `i`.
#[inline]
fn reflect(i: isize, n: usize) -> usize {
    let n = n as isize;
    if n == 1 {
        return 0;
    }
    let period = 2 * (n - 1);
    let mut j = i.rem_euclid(period);
    if j >= n {
        j = period - j;
    }
    j as usize
}

/// In-place separable Gaussian blur of a row-major `h × w` buffer, mirrored borders
/// (`reflect101`, like OpenCV's default). `sigma <= 0` is a no-op.
///
/// Up to `sigma = 2.5` the kernel is an exact sampled Gaussian (radius `3σ`); wider blurs are
/// three successive box blurs of matched variance (Kovesi's "boxes for Gauss"), whose cost does
/// not grow with `sigma`: the halo's wide component has `sigma` up to about 20 px.
pub(crate) fn gaussian_blur(data: &mut [f32], h: usize, w: usize, sigma: f32) {
    if sigma <= 0.0 || h == 0 || w == 0 {
        return;
    }
    if sigma > 2.5 {
        for r in box_radii(sigma) {
            box_blur(data, h, w, r);
        }
        return;
    }
    let rad = ((3.0 * sigma).ceil() as usize).max(1);
    let mut k: Vec<f32> = (0..=2 * rad)
        .map(|i| {
            let d = i as f32 - rad as f32;
            (-(d * d) / (2.0 * sigma * sigma)).exp()
        })
        .collect();
    let s: f32 = k.iter().sum();
    k.iter_mut().for_each(|v| *v /= s);
    // Horizontal pass, one padded row at a time, accumulated tap by tap over the whole row so
    // that the inner loop is a contiguous multiply-add (vectorises, unlike a per-pixel dot
    // product whose float sum cannot be reordered).
    let mut pad = vec![0.0f32; w + 2 * rad];
    for row in data.chunks_exact_mut(w) {
        for (i, p) in pad.iter_mut().enumerate() {
            *p = row[reflect(i as isize - rad as isize, w)];
        }
        row.iter_mut().for_each(|v| *v = 0.0);
        for (j, &kj) in k.iter().enumerate() {
            for (o, s) in row.iter_mut().zip(&pad[j..j + w]) {
                *o += kj * s;
            }
        }
    }
    // Vertical pass: accumulate whole rows (vectorises well).
    let src = data.to_vec();
    for y in 0..h {
        let out = &mut data[y * w..(y + 1) * w];
        out.iter_mut().for_each(|v| *v = 0.0);
        for (j, &kj) in k.iter().enumerate() {
            let yy = reflect(y as isize + j as isize - rad as isize, h);
            for (o, s) in out.iter_mut().zip(&src[yy * w..(yy + 1) * w]) {
                *o += kj * s;
            }
        }
    }
}

/// Radii of the three box blurs whose cascade has the variance of a Gaussian of `sigma`.
fn box_radii(sigma: f32) -> [usize; 3] {
    let n = 3.0f32;
    let ideal = (12.0 * sigma * sigma / n + 1.0).sqrt();
    let mut wl = ideal.floor() as i64;
    if wl % 2 == 0 {
        wl -= 1;
    }
    let wl = wl.max(1);
    let wu = wl + 2;
    let wlf = wl as f32;
    let m = ((12.0 * sigma * sigma - n * wlf * wlf - 4.0 * n * wlf - 3.0 * n) / (-4.0 * wlf - 4.0))
        .round() as i64;
    let mut out = [0usize; 3];
    for (i, o) in out.iter_mut().enumerate() {
        let width = if (i as i64) < m { wl } else { wu };
        *o = ((width - 1) / 2) as usize;
    }
    out
}

/// In-place box blur of radius `r` along rows then columns (running sums, mirrored borders).
fn box_blur(data: &mut [f32], h: usize, w: usize, r: usize) {
    if r == 0 {
        return;
    }
    let norm = 1.0 / (2 * r + 1) as f32;
    let ri = r as isize;
    // Rows: running sum over a padded copy.
    let mut pad = vec![0.0f32; w + 2 * r];
    for row in data.chunks_exact_mut(w) {
        for (i, p) in pad.iter_mut().enumerate() {
            *p = row[reflect(i as isize - ri, w)];
        }
        let mut acc: f32 = pad[..2 * r + 1].iter().sum();
        row[0] = acc * norm;
        for x in 1..w {
            acc += pad[x + 2 * r] - pad[x - 1];
            row[x] = acc * norm;
        }
    }
    // Columns: a running row-vector sum, add the incoming row, drop the outgoing one.
    let src = data.to_vec();
    let mut acc = vec![0.0f32; w];
    for j in -ri..=ri {
        let y = reflect(j, h);
        for (a, s) in acc.iter_mut().zip(&src[y * w..(y + 1) * w]) {
            *a += s;
        }
    }
    for y in 0..h {
        if y > 0 {
            let add = reflect(y as isize + ri, h);
            let sub = reflect(y as isize - ri - 1, h);
            let (add, sub) = (&src[add * w..(add + 1) * w], &src[sub * w..(sub + 1) * w]);
            for ((a, p), m) in acc.iter_mut().zip(add).zip(sub) {
                *a += p - m;
            }
        }
        for (o, a) in data[y * w..(y + 1) * w].iter_mut().zip(&acc) {
            *o = a * norm;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blur_preserves_constants_and_mass() {
        let mut c = vec![0.5f32; 20 * 7];
        gaussian_blur(&mut c, 20, 7, 2.0);
        assert!(c.iter().all(|v| (v - 0.5).abs() < 1e-5));
        let mut d = vec![0.0f32; 41 * 41];
        d[20 * 41 + 20] = 1.0;
        gaussian_blur(&mut d, 41, 41, 1.5);
        let s: f32 = d.iter().sum();
        assert!((s - 1.0).abs() < 1e-4, "{s}");
        assert!(d[20 * 41 + 20] > d[20 * 41 + 22]);
    }

    #[test]
    fn wide_blur_is_close_to_a_gaussian() {
        // Box cascade for sigma = 6 against the exact sampled kernel on an impulse.
        let (h, w, sigma) = (81usize, 81usize, 6.0f32);
        let mut d = vec![0.0f32; h * w];
        d[40 * w + 40] = 1.0;
        gaussian_blur(&mut d, h, w, sigma);
        let s: f32 = d.iter().sum();
        assert!((s - 1.0).abs() < 1e-3, "{s}");
        let g = |x: f32| {
            (-(x * x) / (2.0 * sigma * sigma)).exp() / (2.0 * std::f32::consts::PI * sigma * sigma)
        };
        for dx in [0usize, 3, 6, 12] {
            let got = d[40 * w + 40 + dx];
            let want = g(dx as f32);
            assert!(
                (got - want).abs() < 0.1 * g(0.0),
                "dx {dx}: {got} vs {want}"
            );
        }
        // Constants stay constant, also on a strip narrower than the kernel.
        let mut c = vec![0.25f32; 256 * 32];
        gaussian_blur(&mut c, 256, 32, 20.0);
        assert!(c.iter().all(|v| (v - 0.25).abs() < 1e-4));
    }

    #[test]
    fn touching_rods_are_separated_in_the_labels() {
        let a = Rod::centred([10.0, 10.0], 0.0, 14.0, 4.0, 1.0, 0.0);
        let b = Rod::centred([10.0, 18.0], 0.0, 14.0, 4.0, 1.0, 0.0);
        let lab = rasterise(24, 30, &[a, b], [0.0, 0.0]);
        let (h, w) = lab.shape();
        let mut seen = [false; 3];
        for y in 0..h {
            for x in 0..w {
                let v = lab.get(y, x);
                seen[v as usize] = true;
                for yy in y.saturating_sub(1)..(y + 2).min(h) {
                    for xx in x.saturating_sub(1)..(x + 2).min(w) {
                        let n = lab.get(yy, xx);
                        assert!(v == 0 || n == 0 || n == v, "labels touch at {y},{x}");
                    }
                }
            }
        }
        assert!(seen[1] && seen[2]);
    }
}
