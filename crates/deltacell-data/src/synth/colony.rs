//! Agar-pad micro-colonies: rods that grow, divide and push each other apart, so that they pack
//! like real colonies (aligned domains, touching neighbours, an irregular outline).
//!
//! The mechanics are a minimal overlap-removal model: after every growth increment, pairs of
//! overlapping spherocylinders are pushed apart along the line joining their closest axis points,
//! with the matching rotation, for a few Jacobi iterations. It is not a physics engine, only what
//! it takes to get realistic packing.

use rand::Rng;

use crate::image::{Image, Labels};
use crate::random::SampleRng;

use super::render::{rasterise, render, Optics, Rod};
use super::scene::{raster_order, track_samples, CellView};
use super::{Movie, TrackingPair};

/// Growth per simulation sub-step (log length); a frame is several sub-steps.
const SUB_GROWTH: f32 = 0.05;
/// Relaxation iterations per sub-step.
const RELAX_ITERS: usize = 8;

#[derive(Clone, Copy, Debug)]
struct Cell {
    id: u32,
    parent: u32,
    born: u32,
    c: [f32; 2],
    ang: f32,
    len: f32,
    div_len: f32,
    r: f32,
    dens: f32,
    growth: f32,
}

impl Cell {
    fn half_axis(&self) -> [f32; 2] {
        let h = ((self.len - 2.0 * self.r) * 0.5).max(0.0);
        let (s, c) = self.ang.sin_cos();
        [c * h, s * h]
    }
}

#[derive(Clone, Debug)]
struct Colony {
    cells: Vec<Cell>,
    next_id: u32,
    frame: u32,
    r: f32,
    /// Extra spacing kept between neighbours by the relaxation, px (real packed cells are not
    /// in perfect contact: the narrow gaps between them light up in phase contrast).
    margin: f32,
}

impl Colony {
    /// `founders` cells near the origin, random orientations and cycle phases.
    fn new(rng: &mut SampleRng, founders: usize, r: f32) -> Colony {
        let mut col = Colony {
            cells: Vec::new(),
            next_id: 1,
            frame: 0,
            r,
            margin: rng.random_range(0.3..1.2),
        };
        let spread = 6.0 * r * (founders as f32 - 1.0).max(0.0);
        for _ in 0..founders {
            let c = [
                rng.random_range(-spread..=spread),
                rng.random_range(-spread..=spread),
            ];
            let ang = rng.random_range(0.0..std::f32::consts::PI);
            let cell = col.new_cell(rng, 0, c, ang, None);
            col.cells.push(cell);
        }
        col.relax(20);
        col
    }

    fn new_cell(
        &mut self,
        rng: &mut SampleRng,
        parent: u32,
        c: [f32; 2],
        ang: f32,
        len: Option<f32>,
    ) -> Cell {
        let r = self.r * rng.random_range(0.94..1.06);
        let div_len = r * rng.random_range(9.0..12.0);
        let len = len.unwrap_or_else(|| 0.5 * div_len * 2f32.powf(rng.random::<f32>()));
        let id = self.next_id;
        self.next_id += 1;
        Cell {
            id,
            parent,
            born: self.frame,
            c,
            ang,
            len,
            div_len,
            r,
            dens: rng.random_range(0.8..1.2),
            growth: rng.random_range(0.8..1.2),
        }
    }

    /// Grows every cell by `exp(g·its rate)`, divides those past their division length.
    fn grow(&mut self, rng: &mut SampleRng, g: f32) {
        let old = std::mem::take(&mut self.cells);
        for mut c in old {
            c.len *= (g * c.growth).exp();
            if c.len < c.div_len {
                self.cells.push(c);
                continue;
            }
            let (s, co) = c.ang.sin_cos();
            let q = c.len * 0.25;
            let l = c.len * 0.5 - 0.3;
            let a = c.ang + rng.random_range(-0.08..0.08);
            let b = c.ang + rng.random_range(-0.08..0.08);
            let mut m = c;
            m.c = [c.c[0] - co * q, c.c[1] - s * q];
            m.ang = a;
            m.len = l;
            m.div_len = 2.0 * l * rng.random_range(0.9..1.1);
            m.growth = (c.growth + rng.random_range(-0.1..0.1)).clamp(0.7, 1.3);
            let mut d = self.new_cell(rng, c.id, [c.c[0] + co * q, c.c[1] + s * q], b, Some(l));
            d.r = c.r;
            d.dens = (c.dens + rng.random_range(-0.05..0.05)).clamp(0.75, 1.25);
            self.cells.push(m);
            self.cells.push(d);
        }
    }

    /// Removes overlaps: Jacobi iterations of pairwise pushes and rotations.
    fn relax(&mut self, iters: usize) {
        let n = self.cells.len();
        let mut dpos = vec![[0.0f32; 2]; n];
        let mut dang = vec![0.0f32; n];
        for _ in 0..iters {
            dpos.iter_mut().for_each(|d| *d = [0.0, 0.0]);
            dang.iter_mut().for_each(|d| *d = 0.0);
            let mut any = false;
            for i in 0..n {
                let ci = self.cells[i];
                let hi = ci.half_axis();
                let reach_i = 0.5 * ci.len;
                for j in i + 1..n {
                    let cj = self.cells[j];
                    let dy = ci.c[0] - cj.c[0];
                    let dx = ci.c[1] - cj.c[1];
                    let reach = reach_i + 0.5 * cj.len + self.margin;
                    if dy * dy + dx * dx >= reach * reach {
                        continue;
                    }
                    let hj = cj.half_axis();
                    let (pi, pj) = closest_points(
                        [ci.c[0] - hi[0], ci.c[1] - hi[1]],
                        [ci.c[0] + hi[0], ci.c[1] + hi[1]],
                        [cj.c[0] - hj[0], cj.c[1] - hj[1]],
                        [cj.c[0] + hj[0], cj.c[1] + hj[1]],
                    );
                    let v = [pi[0] - pj[0], pi[1] - pj[1]];
                    let d = (v[0] * v[0] + v[1] * v[1]).sqrt();
                    let ov = ci.r + cj.r + self.margin - d;
                    if ov <= 0.0 {
                        continue;
                    }
                    any = true;
                    // Direction: along the closest points, or across cell i when they coincide.
                    let nrm = if d > 1e-4 {
                        [v[0] / d, v[1] / d]
                    } else {
                        let (s, c) = ci.ang.sin_cos();
                        [-s, c]
                    };
                    let push = [nrm[0] * ov * 0.5, nrm[1] * ov * 0.5];
                    for (k, p, c, sign) in [(i, pi, ci, 1.0f32), (j, pj, cj, -1.0)] {
                        let dv = [push[0] * sign, push[1] * sign];
                        dpos[k][0] += dv[0];
                        dpos[k][1] += dv[1];
                        let lever = [p[0] - c.c[0], p[1] - c.c[1]];
                        // d(point)/d(angle) = (-lever_x, lever_y) in (row, col) coordinates.
                        let perp = [-lever[1], lever[0]];
                        let hl = 0.5 * c.len;
                        dang[k] += (perp[0] * dv[0] + perp[1] * dv[1]) / (hl * hl + c.r * c.r);
                    }
                }
            }
            if !any {
                break;
            }
            for (c, (d, a)) in self.cells.iter_mut().zip(dpos.iter().zip(&dang)) {
                c.c[0] += 0.6 * d[0];
                c.c[1] += 0.6 * d[1];
                c.ang += 0.6 * a;
            }
        }
    }

    /// One frame: `g` of log-growth in sub-steps, each followed by relaxation.
    fn step(&mut self, rng: &mut SampleRng, g: f32) {
        self.frame += 1;
        let subs = (g / SUB_GROWTH).ceil().max(1.0);
        for _ in 0..subs as usize {
            self.grow(rng, g / subs);
            self.relax(RELAX_ITERS);
        }
    }

    /// Grows (sub-step by sub-step, without counting frames) until at least `n` cells.
    fn grow_to(&mut self, rng: &mut SampleRng, n: usize) {
        while self.cells.len() < n {
            self.grow(rng, SUB_GROWTH);
            self.relax(RELAX_ITERS);
        }
        self.relax(3 * RELAX_ITERS);
    }

    /// Bounding box `(ymin, ymax, xmin, xmax)` of the cells.
    fn bounds(&self) -> [f32; 4] {
        let mut b = [
            f32::INFINITY,
            f32::NEG_INFINITY,
            f32::INFINITY,
            f32::NEG_INFINITY,
        ];
        for c in &self.cells {
            let e = 0.5 * c.len;
            b[0] = b[0].min(c.c[0] - e);
            b[1] = b[1].max(c.c[0] + e);
            b[2] = b[2].min(c.c[1] - e);
            b[3] = b[3].max(c.c[1] + e);
        }
        b
    }

    fn views(&self, off: [f32; 2]) -> Vec<CellView> {
        self.cells
            .iter()
            .map(|c| {
                let q = c.len / c.div_len;
                let waist = if q > 0.8 { (q - 0.8) / 0.2 * 0.55 } else { 0.0 };
                CellView {
                    rod: Rod::centred(
                        [c.c[0] + off[0], c.c[1] + off[1]],
                        c.ang,
                        c.len,
                        c.r,
                        c.dens,
                        waist.min(0.55),
                    ),
                    id: c.id,
                    parent: c.parent,
                    born: c.born,
                }
            })
            .collect()
    }
}

/// Closest points between segments `p1–q1` and `p2–q2` (Ericson, Real-Time Collision Detection).
fn closest_points(p1: [f32; 2], q1: [f32; 2], p2: [f32; 2], q2: [f32; 2]) -> ([f32; 2], [f32; 2]) {
    let dot = |a: [f32; 2], b: [f32; 2]| a[0] * b[0] + a[1] * b[1];
    let d1 = [q1[0] - p1[0], q1[1] - p1[1]];
    let d2 = [q2[0] - p2[0], q2[1] - p2[1]];
    let r = [p1[0] - p2[0], p1[1] - p2[1]];
    let (a, e, f) = (dot(d1, d1), dot(d2, d2), dot(d2, r));
    const EPS: f32 = 1e-6;
    let (s, t) = if a <= EPS && e <= EPS {
        (0.0, 0.0)
    } else if a <= EPS {
        (0.0, (f / e).clamp(0.0, 1.0))
    } else {
        let c = dot(d1, r);
        if e <= EPS {
            ((-c / a).clamp(0.0, 1.0), 0.0)
        } else {
            let b = dot(d1, d2);
            let denom = a * e - b * b;
            let mut s = if denom > EPS {
                ((b * f - c * e) / denom).clamp(0.0, 1.0)
            } else {
                0.0
            };
            let mut t = (b * s + f) / e;
            if t < 0.0 {
                t = 0.0;
                s = (-c / a).clamp(0.0, 1.0);
            } else if t > 1.0 {
                t = 1.0;
                s = ((b - c) / a).clamp(0.0, 1.0);
            }
            (s, t)
        }
    };
    (
        [p1[0] + d1[0] * s, p1[1] + d1[1] * s],
        [p2[0] + d2[0] * t, p2[1] + d2[1] * t],
    )
}

/// A colony grown to `n_cells` cells (clamped to 1–400), from one founder (sometimes two, that
/// merge), placed so that it fits a `(h, w)` field where it can.
fn grown(rng: &mut SampleRng, (h, w): (usize, usize), n_cells: usize) -> (Colony, [f32; 2]) {
    let n_cells = n_cells.clamp(1, 400);
    // Cell radius: 4–5.5 px, smaller for large colonies so that they fit the field (a rod of
    // radius r covers about 22·r² px² of colony).
    let fit = (0.45 * (h * w) as f32 / (22.0 * n_cells as f32)).sqrt();
    let r_hi = fit.clamp(3.2, 5.5);
    let r = rng.random_range(r_hi.min(4.0) - 0.01..r_hi);
    let founders = if rng.random_bool(0.25) { 2 } else { 1 };
    let mut col = Colony::new(rng, founders, r);
    col.grow_to(rng, n_cells);
    let off = place(&col, rng, (h, w));
    (col, off)
}

/// An offset that puts the colony in a `(h, w)` field: centred, then moved at random by up to
/// half the free room.
fn place(col: &Colony, rng: &mut SampleRng, (h, w): (usize, usize)) -> [f32; 2] {
    let b = col.bounds();
    // Centre the colony, then move it randomly as far as it still fits (or keep it centred).
    let mut off = [
        h as f32 * 0.5 - 0.5 * (b[0] + b[1]),
        w as f32 * 0.5 - 0.5 * (b[2] + b[3]),
    ];
    let free = [
        ((h as f32 - (b[1] - b[0])) * 0.5 - 4.0).max(0.0),
        ((w as f32 - (b[3] - b[2])) * 0.5 - 4.0).max(0.0),
    ];
    off[0] += 0.5 * rng.random_range(-free[0]..=free[0]);
    off[1] += 0.5 * rng.random_range(-free[1]..=free[1]);
    off
}

/// Small unlabelled particles on the pad (dust, dead-cell fragments): they teach a network not to
/// call every dark spot a cell. Positions are in field coordinates (they drift with the stage).
fn debris(rng: &mut SampleRng, (h, w): (usize, usize), r: f32) -> Vec<Rod> {
    if h == 0 || w == 0 {
        return Vec::new();
    }
    let n = rng.random_range(0..=((h * w) / 40_000).max(2));
    (0..n)
        .map(|_| {
            let c = [
                rng.random_range(0.0..h as f32),
                rng.random_range(0.0..w as f32),
            ];
            let s = r * rng.random_range(0.3..0.6);
            Rod::centred(c, 0.0, 2.0 * s, s, rng.random_range(0.3..0.9), 0.0)
        })
        .collect()
}

fn frame(
    col: &Colony,
    shape: (usize, usize),
    optics: &Optics,
    off: [f32; 2],
    gain: f32,
    rng: &mut SampleRng,
    junk: &[Rod],
) -> (Image, Labels, Vec<usize>, Vec<CellView>) {
    let views = col.views(off);
    let rods: Vec<Rod> = views.iter().map(|v| v.rod).collect();
    let mut all = rods.clone();
    all.extend(junk.iter().map(|d| d.shifted(off[0], off[1])));
    let img = render(shape, &all, None, optics, [0.0, 0.0], gain, rng);
    let (lab, own) = raster_order(&rasterise(shape.0, shape.1, &rods, [0.0, 0.0]));
    (img, lab, own, views)
}

/// An agar-pad micro-colony of about `n_cells` touching rods (clamped to 1–400; division may
/// overshoot by a few), grown by division and pushing, rendered as phase contrast in a field of
/// shape `(h, w)` (rows, cols).
///
/// Returns the image and raster-ordered instance labels with at least one background pixel
/// between touching cells (DeLTA's 2-D masks separate them). A colony larger than the field is
/// cut by its borders.
pub fn colony(rng: &mut SampleRng, shape: (usize, usize), n_cells: usize) -> (Image, Labels) {
    let (col, off) = grown(rng, shape, n_cells);
    let optics = Optics::random(rng, col.r);
    let junk = debris(rng, shape, col.r);
    let junk: Vec<Rod> = junk.iter().map(|d| d.shifted(-off[0], -off[1])).collect();
    let (img, lab, _, _) = frame(&col, shape, &optics, off, 1.0, rng, &junk);
    (img, lab)
}

/// Two consecutive frames of a colony of `n_cells` cells (clamped to 1–400) seen through a
/// window of shape `(h, w)` placed on a random part of it: between the frames cells grow by
/// 15–35 %, some divide, neighbours push each other, and the stage drifts by up to ±3 px.
pub fn colony_tracking_pair(
    rng: &mut SampleRng,
    shape: (usize, usize),
    n_cells: usize,
) -> TrackingPair {
    // Cells sized as for a 512×512 field; the window looks at a random point of the colony.
    let (mut col, _) = grown(rng, (2 * shape.0, 2 * shape.1), n_cells);
    let b = col.bounds();
    let cy = b[0] + rng.random_range(0.3..0.7) * (b[1] - b[0]);
    let cx = b[2] + rng.random_range(0.3..0.7) * (b[3] - b[2]);
    let off = [shape.0 as f32 * 0.5 - cy, shape.1 as f32 * 0.5 - cx];
    let optics = Optics::random(rng, col.r);
    let junk = debris(rng, shape, col.r);
    let junk: Vec<Rod> = junk.iter().map(|d| d.shifted(-off[0], -off[1])).collect();
    let (prev, plab, pown, pviews) = frame(&col, shape, &optics, off, 1.0, rng, &junk);
    let g = rng.random_range(0.15..0.35);
    col.step(rng, g);
    let drift = [rng.random_range(-3.0..3.0), rng.random_range(-3.0..3.0)];
    let gain = rng.random_range(0.97..1.03);
    let off2 = [off[0] + drift[0], off[1] + drift[1]];
    let (cur, clab, cown, cviews) = frame(&col, shape, &optics, off2, gain, rng, &junk);
    let samples = track_samples((&plab, &pown, &pviews), (&clab, &cown, &cviews), col.frame);
    TrackingPair {
        prev,
        prev_labels: plab,
        cur,
        cur_labels: clab,
        samples,
    }
}

/// A time series of a growing colony in a field of shape `(h, w)` over `n_frames` frames
/// (clamped to 2–64): it starts from 4–8 cells and grows by 28–42 % per frame.
pub fn colony_movie(rng: &mut SampleRng, shape: (usize, usize), n_frames: usize) -> Movie {
    let n_frames = n_frames.clamp(2, 64);
    let n0 = rng.random_range(4..=8);
    let r = rng.random_range(3.8..5.0);
    let mut col = Colony::new(rng, 1, r);
    col.grow_to(rng, n0);
    let optics = Optics::random(rng, col.r);
    let g = rng.random_range(0.25..0.35);
    let mut off = [
        shape.0 as f32 * 0.5 + rng.random_range(-10.0..10.0),
        shape.1 as f32 * 0.5 + rng.random_range(-10.0..10.0),
    ];
    let junk = debris(rng, shape, col.r);
    let junk: Vec<Rod> = junk.iter().map(|d| d.shifted(-off[0], -off[1])).collect();
    let mut movie = Movie::default();
    let mut prev: Option<(Labels, Vec<usize>, Vec<CellView>)> = None;
    for t in 0..n_frames {
        if t > 0 {
            col.step(rng, g);
            off[0] += rng.random_range(-1.5..1.5);
            off[1] += rng.random_range(-1.5..1.5);
        }
        let gain = rng.random_range(0.97..1.03);
        let (img, lab, own, views) = frame(&col, shape, &optics, off, gain, rng, &junk);
        movie.push_frame(img, &lab, &own, &views, prev.as_ref(), col.frame);
        prev = Some((lab, own, views));
    }
    movie
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::random::stream;

    #[test]
    fn closest_points_of_parallel_and_crossing_segments() {
        let (a, b) = closest_points([0.0, 0.0], [0.0, 10.0], [3.0, 2.0], [3.0, 5.0]);
        assert!((a[0] - 0.0).abs() < 1e-6 && (b[0] - 3.0).abs() < 1e-6);
        let (a, b) = closest_points([0.0, 0.0], [10.0, 10.0], [0.0, 10.0], [10.0, 0.0]);
        assert!((a[0] - 5.0).abs() < 1e-4 && (b[1] - 5.0).abs() < 1e-4);
    }

    #[test]
    fn tiny_or_empty_fields_do_not_panic() {
        for shape in [(0, 0), (1, 7), (8, 8)] {
            let (img, lab) = colony(&mut stream(1, 0, 0), shape, 5);
            assert_eq!((img.shape(), lab.shape()), (shape, shape));
            let p = colony_tracking_pair(&mut stream(1, 0, 1), shape, 5);
            assert_eq!(p.cur.shape(), shape);
            assert_eq!(colony_movie(&mut stream(1, 0, 2), shape, 2).frames.len(), 2);
        }
    }

    #[test]
    fn a_lone_cell_is_dark_with_a_bright_halo() {
        for seed in 0..4 {
            let (img, lab) = colony(&mut stream(seed, 0, 0), (96, 96), 1);
            let (h, w) = img.shape();
            let cells: Vec<(i64, i64)> = (0..h * w)
                .filter(|&i| lab.as_slice()[i] != 0)
                .map(|i| ((i / w) as i64, (i % w) as i64))
                .collect();
            assert!(!cells.is_empty());
            let (mut inner, mut ring, mut far) = (vec![], vec![], vec![]);
            for y in 0..h as i64 {
                for x in 0..w as i64 {
                    let d = cells
                        .iter()
                        .map(|&(cy, cx)| (cy - y).abs().max((cx - x).abs()))
                        .min()
                        .unwrap_or(i64::MAX);
                    let v = img.get(y as usize, x as usize);
                    match d {
                        0 => inner.push(v),
                        2..=3 => ring.push(v),
                        d if d > 20 => far.push(v),
                        _ => {}
                    }
                }
            }
            let mean = |v: &[f32]| v.iter().sum::<f32>() / v.len() as f32;
            let (c, r, b) = (mean(&inner), mean(&ring), mean(&far));
            assert!(c < 0.6 * b, "seed {seed}: cell {c} vs background {b}");
            assert!(r > b, "seed {seed}: halo {r} vs background {b}");
        }
    }

    #[test]
    fn relaxed_colony_has_little_overlap() {
        let mut rng = stream(3, 0, 0);
        let mut col = Colony::new(&mut rng, 1, 4.0);
        col.grow_to(&mut rng, 60);
        assert!(col.cells.len() >= 60);
        let mut worst = 0.0f32;
        for i in 0..col.cells.len() {
            for j in i + 1..col.cells.len() {
                let (ci, cj) = (col.cells[i], col.cells[j]);
                let (hi, hj) = (ci.half_axis(), cj.half_axis());
                let (p, q) = closest_points(
                    [ci.c[0] - hi[0], ci.c[1] - hi[1]],
                    [ci.c[0] + hi[0], ci.c[1] + hi[1]],
                    [cj.c[0] - hj[0], cj.c[1] - hj[1]],
                    [cj.c[0] + hj[0], cj.c[1] + hj[1]],
                );
                let d = ((p[0] - q[0]).powi(2) + (p[1] - q[1]).powi(2)).sqrt();
                worst = worst.max(ci.r + cj.r - d);
            }
        }
        assert!(worst < 2.0, "overlap {worst}");
    }
}
