//! Mother-machine chambers: cells stacked in a dead-end channel, growing, dividing and pushed
//! towards the open end; and full fields with a row of chambers (the ROI set).

use rand::Rng;
use rand_distr::{Distribution, Normal};

use crate::image::{Image, Labels, Mask, Plane};
use crate::random::SampleRng;

use super::render::{rasterise, render, Optics, Rod};
use super::scene::{raster_order, track_samples, CellView};
use super::{Movie, TrackingPair};

/// Height and width of one chamber image, DeLTA's mother-machine `target_size` (rows, cols).
pub const CHAMBER_SHAPE: (usize, usize) = (256, 32);

/// A channel in the PDMS: columns `cx ± hw`, closed (rounded corners of radius `rc`) at row
/// `top`, open at row `bottom`.
#[derive(Clone, Copy, Debug)]
struct Channel {
    cx: f32,
    hw: f32,
    top: f32,
    bottom: f32,
    rc: f32,
}

impl Channel {
    /// Signed distance (px) to the channel's border, negative inside (approximate outside the
    /// corners, exact enough for a one-pixel soft edge).
    fn sd(&self, y: f32, x: f32) -> f32 {
        let ax = (x - self.cx).abs();
        if y < self.top + self.rc && ax > self.hw - self.rc {
            let dy = y - (self.top + self.rc);
            let dx = ax - (self.hw - self.rc);
            let d = (dy * dy + dx * dx).sqrt() - self.rc;
            return d.max(y - self.bottom);
        }
        (ax - self.hw).max(self.top - y).max(y - self.bottom)
    }
}

/// The PDMS phase map: `phase` everywhere but inside the channels, with a soft one-pixel edge.
fn walls(h: usize, w: usize, channels: &[Channel], phase: f32) -> Plane<f32> {
    Plane::from_fn(h, w, |y, x| {
        let d = channels
            .iter()
            .map(|c| c.sd(y as f32, x as f32))
            .fold(f32::INFINITY, f32::min);
        // smoothstep over [-0.75, 0.75] px
        let t = ((d + 0.75) / 1.5).clamp(0.0, 1.0);
        phase * t * t * (3.0 - 2.0 * t)
    })
}

/// One cell of a chamber, described along the chamber axis.
#[derive(Clone, Copy, Debug)]
struct MmCell {
    id: u32,
    parent: u32,
    born: u32,
    /// Tip-to-tip length, px.
    len: f32,
    /// Length at which it divides, px.
    div_len: f32,
    r: f32,
    dens: f32,
    /// Lateral offset from the chamber axis, px, and tilt, radians.
    dx: f32,
    tilt: f32,
    /// Free space below it, px.
    gap: f32,
}

/// A chamber with its cells; cells stack from the closed end and are pushed out of the open end.
#[derive(Clone, Debug)]
struct MmChamber {
    ch: Channel,
    wall_phase: f32,
    cells: Vec<MmCell>,
    next_id: u32,
    frame: u32,
    /// Mean cell radius of this strain, px.
    r: f32,
}

impl MmChamber {
    /// A chamber with `n` cells at random cycle phases, for an image of shape `(h, w)`; the
    /// channel is centred on column `cx`, closed at row `top`, open at row `bottom`.
    fn new(rng: &mut SampleRng, n: usize, cx: f32, top: f32, bottom: f32, r: f32) -> MmChamber {
        let hw = r + rng.random_range(1.0..2.2);
        let sign = if rng.random_bool(0.6) { 1.0 } else { -1.0 };
        let mut c = MmChamber {
            ch: Channel {
                cx,
                hw,
                top,
                bottom,
                rc: hw * rng.random_range(0.4..1.0),
            },
            wall_phase: sign * rng.random_range(0.15..0.6),
            cells: Vec::with_capacity(n),
            next_id: 1,
            frame: 0,
            r,
        };
        for _ in 0..n {
            let cell = c.new_cell(rng, 0, None);
            c.cells.push(cell);
        }
        c
    }

    /// A fresh cell (a founder when `len` is `None`: random phase of its cycle).
    fn new_cell(&mut self, rng: &mut SampleRng, parent: u32, len: Option<f32>) -> MmCell {
        let r = self.r * rng.random_range(0.93..1.07);
        let div_len = r * rng.random_range(7.0..10.0);
        let len = len.unwrap_or_else(|| 0.5 * div_len * 2f32.powf(rng.random::<f32>()));
        let id = self.next_id;
        self.next_id += 1;
        let slack = (self.ch.hw - r - 0.4).max(0.0);
        MmCell {
            id,
            parent,
            born: self.frame,
            len,
            div_len,
            r,
            dens: rng.random_range(0.8..1.2),
            dx: rng.random_range(-slack..=slack),
            tilt: rng.random_range(-0.035..0.035),
            gap: rng.random_range(1.5..5.0),
        }
    }

    /// Squeezes cell lengths and gaps so that the last cell starts at least 12 rows above row
    /// `limit` (used where the number of visible cells is requested).
    fn fit(&mut self, limit: f32) {
        let room = limit - 12.0 - (self.ch.top + 0.8);
        let Some(last) = self.cells.last() else {
            return;
        };
        let used: f32 = self.cells.iter().map(|c| c.len + c.gap).sum::<f32>() - last.len - last.gap;
        if used > room {
            let k = (room / used).max(0.0);
            for c in &mut self.cells {
                c.len = (c.len * k).max(2.0 * c.r + 2.0);
                c.gap = (c.gap * k).max(1.2);
            }
        }
    }

    /// One frame of growth: every cell grows by `exp(g·noise)`, divides past its division length
    /// (the top daughter keeps the identity, as DeLTA's lineages do), and cells pushed past the
    /// open end leave.
    fn step(&mut self, rng: &mut SampleRng, g: f32) {
        self.frame += 1;
        let old = std::mem::take(&mut self.cells);
        let jitter = Normal::new(0.0f32, 0.25).unwrap_or_else(|_| unreachable!());
        for mut c in old {
            c.len *= (g * rng.random_range(0.75..1.25)).exp();
            let slack = (self.ch.hw - c.r - 0.4).max(0.0);
            c.dx = (c.dx + jitter.sample(rng)).clamp(-slack, slack);
            c.tilt = (c.tilt + 0.1 * jitter.sample(rng)).clamp(-0.04, 0.04);
            c.gap = (c.gap + jitter.sample(rng)).clamp(1.2, 6.0);
            if c.len >= c.div_len {
                let septum = rng.random_range(1.0..2.0);
                let l1 = (c.len - septum) * rng.random_range(0.47..0.53);
                let l2 = c.len - septum - l1;
                let mut d = self.new_cell(rng, c.id, Some(l2));
                d.r = c.r;
                d.dens = (c.dens + rng.random_range(-0.05..0.05)).clamp(0.75, 1.25);
                d.dx = c.dx;
                d.gap = c.gap;
                c.len = l1;
                c.div_len = 2.0 * l1 * rng.random_range(0.9..1.1);
                c.gap = septum;
                self.cells.push(c);
                self.cells.push(d);
            } else {
                self.cells.push(c);
            }
        }
        // Cells whose top pole is out of the open end have left.
        let mut y = self.ch.top + 0.8;
        let bottom = self.ch.bottom;
        self.cells.retain(|c| {
            let keep = y < bottom - 1.0;
            y += c.len + c.gap;
            keep
        });
    }

    /// The cells as rods (shifted by `off`), top to bottom.
    fn views(&self, off: [f32; 2]) -> Vec<CellView> {
        let mut y = self.ch.top + 0.8;
        self.cells
            .iter()
            .map(|c| {
                let centre = [y + 0.5 * c.len + off[0], self.ch.cx + c.dx + off[1]];
                y += c.len + c.gap;
                let q = c.len / c.div_len;
                let waist = if q > 0.8 { (q - 0.8) / 0.2 * 0.55 } else { 0.0 };
                CellView {
                    rod: Rod::centred(centre, c.tilt, c.len, c.r, c.dens, waist.min(0.55)),
                    id: c.id,
                    parent: c.parent,
                    born: c.born,
                }
            })
            .collect()
    }

    fn channel_at(&self, off: [f32; 2]) -> Channel {
        let mut ch = self.ch;
        ch.cx += off[1];
        ch.top += off[0];
        ch.bottom += off[0];
        ch
    }
}

/// A 256×32 chamber drawn around a random strain; `n` cells (0 allowed).
fn chamber_256(rng: &mut SampleRng, n: usize) -> MmChamber {
    let (h, w) = CHAMBER_SHAPE;
    let r = rng.random_range(4.0..5.6);
    let cx = w as f32 * 0.5 - 0.5 + rng.random_range(-1.5..1.5);
    let top = rng.random_range(3.0..24.0);
    // The open end lies below the image: cells leave through the bottom border.
    MmChamber::new(rng, n, cx, top, h as f32 + 6.0, r)
}

/// Renders one frame of a chamber: image, raster-ordered labels, their owners and the views.
fn frame(
    c: &MmChamber,
    optics: &Optics,
    off: [f32; 2],
    gain: f32,
    rng: &mut SampleRng,
) -> (Image, Labels, Vec<usize>, Vec<CellView>) {
    let (h, w) = CHAMBER_SHAPE;
    let views = c.views(off);
    let rods: Vec<Rod> = views.iter().map(|v| v.rod).collect();
    let wl = walls(h, w, &[c.channel_at(off)], c.wall_phase);
    let img = render((h, w), &rods, Some(&wl), optics, [0.0, 0.0], gain, rng);
    let (lab, own) = raster_order(&rasterise(h, w, &rods, [0.0, 0.0]));
    (img, lab, own, views)
}

/// One 256×32 mother-machine chamber (rows × cols, closed end at the top) holding `n_cells`
/// rod-shaped cells (clamped to 0–12), rendered as phase contrast.
///
/// Returns the image and the instance labels (`1..=n`, numbered top to bottom, at least one
/// background pixel between cells). About a millisecond per chamber in release builds.
pub fn mm_chamber(rng: &mut SampleRng, n_cells: usize) -> (Image, Labels) {
    let mut c = chamber_256(rng, n_cells.min(12));
    c.fit(CHAMBER_SHAPE.0 as f32);
    let optics = Optics::random(rng, c.r);
    let (img, lab, _, _) = frame(&c, &optics, [0.0, 0.0], 1.0, rng);
    (img, lab)
}

/// Two consecutive frames of one 256×32 chamber holding `n_cells` cells (clamped to 1–12) at
/// frame t−1: between the frames cells grow by 10–35 %, some divide, cells are pushed down and
/// may leave through the open end, and the stage drifts by up to ±2 px.
pub fn mm_tracking_pair(rng: &mut SampleRng, n_cells: usize) -> TrackingPair {
    let mut c = chamber_256(rng, n_cells.clamp(1, 12));
    c.fit(CHAMBER_SHAPE.0 as f32);
    let optics = Optics::random(rng, c.r);
    let (prev, plab, pown, pviews) = frame(&c, &optics, [0.0, 0.0], 1.0, rng);
    let g = rng.random_range(0.1..0.35);
    c.step(rng, g);
    let drift = [rng.random_range(-2.0..2.0), rng.random_range(-1.0..1.0)];
    let gain = rng.random_range(0.97..1.03);
    let (cur, clab, cown, cviews) = frame(&c, &optics, drift, gain, rng);
    let samples = track_samples((&plab, &pown, &pviews), (&clab, &cown, &cviews), c.frame);
    TrackingPair {
        prev,
        prev_labels: plab,
        cur,
        cur_labels: clab,
        samples,
    }
}

/// A time series of one 256×32 chamber over `n_frames` frames (clamped to 2–64), starting from
/// 1–4 cells that grow by 12–25 % per frame and divide.
pub fn mm_movie(rng: &mut SampleRng, n_frames: usize) -> Movie {
    let n_frames = n_frames.clamp(2, 64);
    let n0 = rng.random_range(1..=4);
    let mut c = chamber_256(rng, n0);
    c.fit(CHAMBER_SHAPE.0 as f32);
    let optics = Optics::random(rng, c.r);
    let g = rng.random_range(0.12..0.25);
    let mut movie = Movie::default();
    let mut prev: Option<(Labels, Vec<usize>, Vec<CellView>)> = None;
    let mut drift = [0.0f32, 0.0];
    for t in 0..n_frames {
        if t > 0 {
            c.step(rng, g);
            drift[0] = (drift[0] + rng.random_range(-1.0..1.0)).clamp(-3.0, 3.0);
            drift[1] = (drift[1] + rng.random_range(-0.5..0.5)).clamp(-1.5, 1.5);
        }
        let gain = rng.random_range(0.97..1.03);
        let (img, lab, own, views) = frame(&c, &optics, drift, gain, rng);
        movie.push_frame(img, &lab, &own, &views, prev.as_ref(), c.frame);
        prev = Some((lab, own, views));
    }
    movie
}

/// A full field (shape `(h, w)`, at least 128×128) with a row of mother-machine chambers opening
/// onto a horizontal main channel, and the chamber mask (DeLTA's ROI training target: 1 inside
/// each chamber, from its closed end to the main channel).
pub fn rois_field(rng: &mut SampleRng, shape: (usize, usize)) -> (Image, Mask) {
    let (h, w) = (shape.0.max(128), shape.1.max(128));
    let r = rng.random_range(3.0..5.0);
    let hw = r + rng.random_range(1.0..2.2);
    let pitch = 2.0 * hw + rng.random_range(10.0..40.0);
    let top = rng.random_range(0.05..0.3) * h as f32;
    let trench = top + rng.random_range(0.45..0.65) * h as f32;
    let trench_bottom = trench + rng.random_range(0.15..0.35) * h as f32;
    let wall_phase = if rng.random_bool(0.6) { 1.0 } else { -1.0 } * rng.random_range(0.2..0.6);
    let mut x = rng.random_range(-hw..pitch - hw);
    let mut chambers = Vec::new();
    let mut rods = Vec::new();
    while x - hw < w as f32 {
        let n = rng.random_range(0..=8usize);
        let mut c = MmChamber::new(rng, n, x, top, trench, r);
        c.ch.hw = hw;
        c.wall_phase = wall_phase;
        c.fit(trench + 8.0);
        rods.extend(c.views([0.0, 0.0]).iter().map(|v| v.rod));
        chambers.push(c.ch);
        x += pitch;
    }
    // A few cells washed along the main channel.
    for _ in 0..rng.random_range(0..6) {
        let c = [
            rng.random_range(trench + r + 2.0..trench_bottom.max(trench + r + 3.0)),
            rng.random_range(0.0..w as f32),
        ];
        let ang = std::f32::consts::FRAC_PI_2 + rng.random_range(-0.6..0.6);
        rods.push(Rod::centred(
            c,
            ang,
            r * rng.random_range(5.0..9.0),
            r,
            1.0,
            0.0,
        ));
    }
    let main = Channel {
        cx: w as f32 * 0.5,
        hw: w as f32,
        top: trench,
        bottom: trench_bottom,
        rc: 0.0,
    };
    let mut all = chambers.clone();
    all.push(main);
    let wl = walls(h, w, &all, wall_phase);
    let optics = Optics::random(rng, r);
    let img = render((h, w), &rods, Some(&wl), &optics, [0.0, 0.0], 1.0, rng);
    // The ROI mask: chamber interiors, down to the main channel.
    let mask = Mask::from_fn(h, w, |y, x| {
        chambers
            .iter()
            .any(|c| c.sd(y as f32 + 0.5, x as f32 + 0.5) < 0.0)
    });
    (img, mask)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::random::stream;

    #[test]
    fn chamber_has_the_requested_cells_in_raster_order() {
        for n in 1..=8 {
            let (img, lab) = mm_chamber(&mut stream(5, 0, n as u64), n);
            assert_eq!(img.shape(), CHAMBER_SHAPE);
            assert_eq!(lab.max_label() as usize, n, "n = {n}");
        }
    }

    #[test]
    fn cells_are_darker_than_background() {
        let (img, lab) = mm_chamber(&mut stream(9, 0, 0), 4);
        let (mut cell, mut nc, mut bg, mut nb) = (0.0, 0, 0.0, 0);
        for (v, l) in img.as_slice().iter().zip(lab.as_slice()) {
            if *l != 0 {
                cell += v;
                nc += 1;
            } else {
                bg += v;
                nb += 1;
            }
        }
        assert!(cell / (nc as f32) < 0.7 * bg / (nb as f32));
    }
}
