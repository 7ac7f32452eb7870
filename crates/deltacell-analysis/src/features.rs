//! Per-cell features, measured as DeLTA 3.0.0a6 measures them, from a ROI's label stack, its
//! segmentation stack and its lineage.
//!
//! For each cell in each frame (DeLTA's `roi_features`, `find_poles`, `cell_width_length`,
//! `track_poles`, `division_poles`, `Lineage.compute_growthrates`):
//!
//! * **contour**: the cell's outer contour in the label image ([`crate::contour`]);
//!   **area** = `contourArea` (0.1 for a contour enclosing nothing, so that growth rates stay
//!   finite), **perimeter** = `arcLength`; **edges**: the ROI borders the contour reaches.
//! * **poles**: along the contour of the cell *at the segmentation's resolution* (the
//!   segmentation stack, labelled as DeLTA's `label_seg` does), the curvature (Savitzky–Golay
//!   derivatives of order 1 and 2, window `2·min(n/4, 5)+1`, polynomial order 2, wrapping
//!   around) has its first minimum at pole 1; pole 2 is the minimum over the opposite half of
//!   the contour (indices `p1 + n/4 ..= p1 + 3(n/4)`, wrapping). Both are brought back to the
//!   ROI's size by `scaling` and rounded (half to even). When the segmentation stack no longer
//!   matches the labels (labels corrected by hand), the label image itself is used.
//! * **length** and **width**: the cheapest 8-connected path from pole 1 to pole 2 through the
//!   cost `1 / (d + 0.001)`, `d` being each pixel's distance to the nearest pixel of another
//!   label or the background (Dijkstra, ties broken by (cost, row, column) as Python's heap
//!   does, in DeLTA's precision); length = the path's length (1 per straight step, √2 per
//!   diagonal one), width = 2 × the mean of `d` along it.
//! * **fluorescence**: the mean of each extra channel over the cell's pixels, times 65535.
//! * **new and old pole**: a cell that appears without a mother gets pole 1 as new pole, unless
//!   its old pole would then lie at or below it (larger row): then they swap. A cell that
//!   continues keeps the assignment that moves its poles least (sum of squared distances to the
//!   previous frame's poles). At a division, the two cells' poles that are closest to each
//!   other become their new poles.
//! * **growth rates** of length and area, 1/frame: the log of the value along the cell's
//!   ancestry (each division's jump removed by adding `ln(1 + daughter/mother)` after it), then
//!   the least-squares slope over a centred window of 9 frames (fewer near the ends: the first
//!   and last 9, or all of them when there are fewer), which is `scipy.signal.savgol_filter`
//!   with polynomial order 1 and derivative 1, as DeLTA's pipeline calls it.

use std::cmp::Ordering;
use std::collections::{BTreeMap, BinaryHeap};

use deltacell_data::{Mask, Plane};

use crate::contour::{arc_length, contour_area, first_contour, Point};
use crate::error::{Error, Result};
use crate::lineage::{CellId, Lineage};
use crate::results::{CellFeatures, Edges, Pole, RoiResults};

/// DeLTA's pipeline smooths growth rates over 9 frames (`Position.compute_growthrates`).
pub const GROWTH_RATE_WINDOW: usize = 9;

/// A cell's raw measurements in one frame, before the poles are oriented.
#[derive(Clone, Debug)]
struct Raw {
    features: CellFeatures,
    /// DeLTA's order of the cells in the frame (its temporary label numbers).
    rank: usize,
}

/// Recomputes every feature of every cell of `roi` from its label and segmentation stacks and
/// its lineage (growth rates included), replacing `roi.features`.
pub fn recompute(roi: &mut RoiResults) -> Result<()> {
    let mut features: BTreeMap<CellId, Vec<CellFeatures>> = BTreeMap::new();
    for f in 0..roi.frames() {
        let mut raw = frame_features(roi, f)?;
        let alive: Vec<CellId> = roi
            .lineage
            .cells()
            .filter(|c| c.first_frame <= f && f <= c.last_frame)
            .map(|c| c.id)
            .collect();
        for id in &alive {
            if !raw.contains_key(id) {
                return Err(Error::InvalidResults {
                    roi: roi.roi_nb,
                    problem: format!(
                        "cell {id} lives at frame index {f} but is not in that frame's labels"
                    ),
                });
            }
        }
        if let Some(id) = raw.keys().find(|id| !alive.contains(id)) {
            return Err(Error::InvalidResults {
                roi: roi.roi_nb,
                problem: format!(
                    "label {id} at frame index {f} is not a cell of the lineage alive then"
                ),
            });
        }
        for &id in &alive {
            let Some(cell) = roi.lineage.cell(id) else {
                continue;
            };
            if f == cell.first_frame {
                let mother_alive = cell
                    .mother
                    .and_then(|m| roi.lineage.cell(m))
                    .is_some_and(|m| m.first_frame < f && f <= m.last_frame);
                if mother_alive {
                    // Oriented with the mother's division below.
                    continue;
                }
                if let Some(r) = raw.get_mut(&id) {
                    let fe = &mut r.features;
                    if fe.old_pole[0] >= fe.new_pole[0] {
                        std::mem::swap(&mut fe.old_pole, &mut fe.new_pole);
                    }
                }
                continue;
            }
            let Some(prev) = features
                .get(&id)
                .and_then(|v| v.get(f - 1 - cell.first_frame))
            else {
                continue;
            };
            let (prev_old, prev_new) = (prev.old_pole, prev.new_pole);
            let daughter = cell
                .divisions
                .iter()
                .find(|(df, _)| *df == f)
                .map(|&(_, d)| d);
            match daughter {
                None => {
                    if let Some(r) = raw.get_mut(&id) {
                        track_poles(&mut r.features, prev_old, prev_new);
                    }
                }
                Some(d) => {
                    let (Some(a), Some(b)) = (raw.get(&id), raw.get(&d)) else {
                        continue;
                    };
                    // DeLTA passes the two cells in the order of its temporary labels.
                    let ((first, mut f1), (second, mut f2)) = if a.rank <= b.rank {
                        ((id, a.features.clone()), (d, b.features.clone()))
                    } else {
                        ((d, b.features.clone()), (id, a.features.clone()))
                    };
                    division_poles(&mut f1, &mut f2, prev_old, prev_new);
                    if let Some(r) = raw.get_mut(&first) {
                        r.features = f1;
                    }
                    if let Some(r) = raw.get_mut(&second) {
                        r.features = f2;
                    }
                }
            }
        }
        for id in alive {
            if let Some(r) = raw.remove(&id) {
                features.entry(id).or_default().push(r.features);
            }
        }
    }
    growth_rates(&roi.lineage, &mut features, GROWTH_RATE_WINDOW);
    roi.features = features;
    Ok(())
}

/// [`recompute`] for every ROI of a position.
pub fn recompute_position(position: &mut crate::results::PositionResults) -> Result<()> {
    for roi in &mut position.rois {
        recompute(roi)?;
    }
    Ok(())
}

fn eucl2(a: Pole, b: Pole) -> f64 {
    // numpy: norm(a - b) ** 2, in double precision.
    let dy = f64::from(a[0]) - f64::from(b[0]);
    let dx = f64::from(a[1]) - f64::from(b[1]);
    let n = (dy * dy + dx * dx).sqrt();
    n * n
}

fn eucl(a: Pole, b: Pole) -> f64 {
    let dy = f64::from(a[0]) - f64::from(b[0]);
    let dx = f64::from(a[1]) - f64::from(b[1]);
    (dy * dy + dx * dx).sqrt()
}

/// DeLTA's `track_poles`: swaps the poles when that moves them less from the previous frame's.
pub fn track_poles(f: &mut CellFeatures, prev_old: Pole, prev_new: Pole) {
    if eucl2(f.old_pole, prev_old) + eucl2(f.new_pole, prev_new)
        >= eucl2(f.old_pole, prev_new) + eucl2(f.new_pole, prev_old)
    {
        std::mem::swap(&mut f.old_pole, &mut f.new_pole);
    }
}

/// DeLTA's `division_poles`: orients the poles of the two cells born of a division (their new
/// poles face each other). Returns whether the first cell is the mother (its old pole follows
/// the previous cell's old pole).
pub fn division_poles(
    f1: &mut CellFeatures,
    f2: &mut CellFeatures,
    prev_old: Pole,
    prev_new: Pole,
) -> bool {
    let old1_to_2 = eucl(f1.old_pole, f2.old_pole).min(eucl(f1.old_pole, f2.new_pole));
    let new1_to_2 = eucl(f1.new_pole, f2.old_pole).min(eucl(f1.new_pole, f2.new_pole));
    if old1_to_2 < new1_to_2 {
        std::mem::swap(&mut f1.old_pole, &mut f1.new_pole);
    }
    if eucl(f1.new_pole, f2.old_pole) < eucl(f1.new_pole, f2.new_pole) {
        std::mem::swap(&mut f2.old_pole, &mut f2.new_pole);
    }
    eucl2(f1.old_pole, prev_old) + eucl2(f2.old_pole, prev_new)
        < eucl2(f1.old_pole, prev_new) + eucl2(f2.old_pole, prev_old)
}

/// Bounding boxes `(rmin, rmax, cmin, cmax)` (inclusive) of every nonzero label of a plane of
/// width `w`.
pub(crate) fn label_boxes(labels: &[u16], w: usize) -> BTreeMap<u16, (usize, usize, usize, usize)> {
    let mut b: BTreeMap<u16, (usize, usize, usize, usize)> = BTreeMap::new();
    for (i, &l) in labels.iter().enumerate() {
        if l == 0 {
            continue;
        }
        let (r, c) = (i / w, i % w);
        let e = b.entry(l).or_insert((r, r, c, c));
        e.0 = e.0.min(r);
        e.1 = e.1.max(r);
        e.2 = e.2.min(c);
        e.3 = e.3.max(c);
    }
    b
}

/// The mask of `label` in its bounding box grown by 1 pixel (clipped to the plane), with the
/// box's origin.
fn crop_mask(
    labels: &[u16],
    w: usize,
    h: usize,
    label: u16,
    bb: (usize, usize, usize, usize),
) -> (Vec<u8>, usize, usize, usize, usize) {
    let r0 = bb.0.saturating_sub(1);
    let r1 = (bb.1 + 1).min(h - 1);
    let c0 = bb.2.saturating_sub(1);
    let c1 = (bb.3 + 1).min(w - 1);
    let (ch, cw) = (r1 - r0 + 1, c1 - c0 + 1);
    let mut m = vec![0u8; ch * cw];
    for r in 0..ch {
        for c in 0..cw {
            m[r * cw + c] = u8::from(labels[(r0 + r) * w + c0 + c] == label);
        }
    }
    (m, ch, cw, r0, c0)
}

/// DeLTA's `distance_transform_labels`: for each pixel of a cell, the Euclidean distance to the
/// nearest pixel that is not of that cell (outside the plane counts as not), single precision;
/// 0 on the background.
pub fn distance_map(labels: &[u16], h: usize, w: usize) -> Vec<f32> {
    let mut out = vec![0f32; h * w];
    for (&label, &bb) in &label_boxes(labels, w) {
        // A box grown by one pixel on every side (outside the plane included) holds the
        // nearest non-cell pixel of every cell pixel.
        let (r0, c0) = (bb.0 as i64 - 1, bb.2 as i64 - 1);
        let (ch, cw) = (bb.1 - bb.0 + 3, bb.3 - bb.2 + 3);
        let inside = |r: usize, c: usize| -> bool {
            let (y, x) = (r0 + r as i64, c0 + c as i64);
            y >= 0
                && x >= 0
                && (y as usize) < h
                && (x as usize) < w
                && labels[y as usize * w + x as usize] == label
        };
        let features = Mask::from_plane(Plane::from_fn(ch, cw, |r, c| u8::from(!inside(r, c))));
        let d2 = deltacell_data::morphology::squared_distance_to(&features);
        for r in 0..ch {
            for c in 0..cw {
                if inside(r, c) {
                    let (y, x) = ((r0 + r as i64) as usize, (c0 + c as i64) as usize);
                    out[y * w + x] += (f64::from(d2.get(r, c))).sqrt() as f32;
                }
            }
        }
    }
    out
}

/// numpy's pairwise summation (`np.sum` of a contiguous array), so that sums round as DeLTA's.
fn pairwise_sum<T: Copy + Default + std::ops::Add<Output = T>>(a: &[T]) -> T {
    let n = a.len();
    if n < 8 {
        let mut res = T::default();
        for &x in a {
            res = res + x;
        }
        res
    } else if n <= 128 {
        let mut r = [a[0], a[1], a[2], a[3], a[4], a[5], a[6], a[7]];
        let full = n - n % 8;
        let mut i = 8;
        while i < full {
            for j in 0..8 {
                r[j] = r[j] + a[i + j];
            }
            i += 8;
        }
        let mut res = ((r[0] + r[1]) + (r[2] + r[3])) + ((r[4] + r[5]) + (r[6] + r[7]));
        for &x in &a[full..] {
            res = res + x;
        }
        res
    } else {
        let mut n2 = n / 2;
        n2 -= n2 % 8;
        pairwise_sum(&a[..n2]) + pairwise_sum(&a[n2..])
    }
}

#[derive(PartialEq)]
struct Node(f64, u32, u32);

impl Eq for Node {}

impl Ord for Node {
    fn cmp(&self, other: &Self) -> Ordering {
        // Reversed: BinaryHeap pops the largest, Python's heapq the smallest tuple.
        other
            .0
            .total_cmp(&self.0)
            .then(other.1.cmp(&self.1))
            .then(other.2.cmp(&self.2))
    }
}

impl PartialOrd for Node {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

/// DeLTA's `pathfinding`: the cheapest 8-connected path from `start` to `goal` (`(row, col)`)
/// through `cost` (per pixel, `h × w`), a step costing the target pixel's cost (× √2 when
/// diagonal). Distances are kept in single precision and compared in double, as DeLTA's
/// NumPy arrays do; the path includes both ends.
pub fn pathfinding(cost: &[f32], h: usize, w: usize, start: Pole, goal: Pole) -> Vec<Pole> {
    const DIRS: [(i32, i32); 8] = [
        (-1, 0),
        (-1, 1),
        (0, 1),
        (1, 1),
        (1, 0),
        (1, -1),
        (0, -1),
        (-1, -1),
    ];
    let sqrt2 = 2f64.sqrt();
    let idx = |p: Pole| p[0] as usize * w + p[1] as usize;
    let mut dist = vec![f32::INFINITY; h * w];
    let mut prev = vec![u32::MAX; h * w];
    dist[idx(start)] = 0.0;
    let mut queue = BinaryHeap::new();
    queue.push(Node(0.0, start[0] as u32, start[1] as u32));
    while let Some(Node(d, r, c)) = queue.pop() {
        if [r as i16, c as i16] == goal {
            break;
        }
        for (k, (dr, dc)) in DIRS.iter().enumerate() {
            let (nr, nc) = (r as i32 + dr, c as i32 + dc);
            if nr < 0 || nc < 0 || nr as usize >= h || nc as usize >= w {
                continue;
            }
            let n = nr as usize * w + nc as usize;
            let step = if k % 2 == 0 { 1.0 } else { sqrt2 };
            let nd = d + step * f64::from(cost[n]);
            if nd < f64::from(dist[n]) {
                dist[n] = nd as f32;
                prev[n] = (r as usize * w + c as usize) as u32;
                queue.push(Node(nd, nr as u32, nc as u32));
            }
        }
    }
    let mut path = vec![goal];
    let mut cur = idx(goal);
    let s = idx(start);
    while cur != s {
        let p = prev[cur];
        if p == u32::MAX {
            break;
        }
        cur = p as usize;
        path.push([(cur / w) as i16, (cur % w) as i16]);
    }
    path.reverse();
    path
}

/// Savitzky–Golay correlation weights (polynomial order 2) for windows `3, 5, … 11` and
/// derivatives 1 and 2, from offset `−m` to `+m`, as `scipy.signal.savgol_coeffs(w, 2, deriv)`
/// computes them (scipy 1.17.1, a least-squares solve; reversed for correlation). They equal
/// the exact fractions (`k / Σk²` and `2(k² − Σk²/w) / (Σk⁴ − (Σk²)²/w)`, see the tests) but
/// for their last bits, and those bits decide which of two mirror-image contour points has the
/// lower curvature, hence where DeLTA puts a pole.
#[rustfmt::skip]
const SAVGOL_BITS: [[&[u64]; 2]; 5] = [
    [&[0xbfe0000000000000, 0xbc90000000000000, 0x3fe0000000000001], &[0x3feffffffffffffe, 0xc000000000000001, 0x3ff0000000000001]],
    [&[0xbfc99999999999a0, 0xbfb9999999999991, 0x3caf259b6fec8f1b, 0x3fb99999999999a1, 0x3fc999999999999b], &[0x3fd2492492492491, 0xbfc2492492492495, 0xbfd2492492492493, 0xbfc2492492492495, 0x3fd2492492492490]],
    [&[0xbfbb6db6db6db6d9, 0xbfb249249249249b, 0xbfa24924924924ad, 0xbcaea06d8dd22d63, 0x3fa249249249247a, 0x3fb249249249248d, 0x3fbb6db6db6db6e2], &[0x3fbe79e79e79e798, 0xbc75c34e663253ec, 0xbfb2492492492492, 0xbfb8618618618616, 0xbfb2492492492491, 0x3c41e58cce6d609c, 0x3fbe79e79e79e79a]],
    [&[0xbfb1111111111112, 0xbfa999999999999c, 0xbfa1111111111114, 0xbf91111111111113, 0xbc50000000000000, 0x3f91111111111111, 0x3fa1111111111112, 0x3fa999999999999c, 0x3fb1111111111111], &[0x3faf07c1f07c1f08, 0x3f8f07c1f07c1f0e, 0xbf91bb4a4046ed21, 0xbfa2d6fee44b5bf8, 0xbfa62a1cd058a870, 0xbfa2d6fee44b5bf8, 0xbf91bb4a4046ed25, 0x3f8f07c1f07c1f13, 0x3faf07c1f07c1f07]],
    [&[0xbfa745d1745d1745, 0xbfa29e4129e4129e, 0xbf9bed61bed61bed, 0xbf929e4129e4129e, 0xbf829e4129e4129d, 0x3c307744c53fde22, 0x3f829e4129e4129e, 0x3f929e4129e4129e, 0x3f9bed61bed61bed, 0x3fa29e4129e4129e, 0x3fa745d1745d1745], &[0x3fa1e6efe35b4cfa, 0x3f8ca4b3055ee192, 0xbf63187758e9eba6, 0xbf8ca4b3055ee189, 0xbf957b8644072929, 0xbf97de952f24669f, 0xbf957b8644072927, 0xbf8ca4b3055ee18b, 0xbf63187758e9eba6, 0x3f8ca4b3055ee18d, 0x3fa1e6efe35b4cfb]],
];

/// `scipy.ndimage.correlate1d(x, weights, mode="wrap")` on a closed sequence, with its three
/// summation orders (symmetric, antisymmetric within `f64::EPSILON`, general), so that the
/// results round as scipy's do.
fn correlate_wrap(x: &[f64], fw: &[f64]) -> Vec<f64> {
    let n = x.len() as i64;
    let m = fw.len() / 2;
    let symmetric = (1..=m).all(|l| (fw[m + l] - fw[m - l]).abs() <= f64::EPSILON);
    let antisymmetric =
        !symmetric && (1..=m).all(|l| (fw[m + l] + fw[m - l]).abs() <= f64::EPSILON);
    let at = |i: i64| x[i.rem_euclid(n) as usize];
    let w = |j: i64| fw[(m as i64 + j) as usize];
    let m = m as i64;
    (0..n)
        .map(|i| {
            if symmetric {
                let mut o = at(i) * w(0);
                for j in -m..0 {
                    o += (at(i + j) + at(i - j)) * w(j);
                }
                o
            } else if antisymmetric {
                let mut o = at(i) * w(0);
                for j in -m..0 {
                    o += (at(i + j) - at(i - j)) * w(j);
                }
                o
            } else {
                let mut o = at(i + m) * w(m);
                for j in -m..m {
                    o += at(i + j) * w(j);
                }
                o
            }
        })
        .collect()
}

/// Curvature along a closed contour as DeLTA's `contour_curvature` computes it (negative at
/// convex tips for OpenCV's orientation): stride `min(n/4, 5)`, Savitzky–Golay derivatives of
/// order 1 and 2 over `2·stride + 1` points, `(x'y'' − y'x'') / max((x'² + y'²)^1.5, 1e-6)`.
/// Empty for fewer than 4 points.
pub fn curvature(contour: &[Point]) -> Vec<f64> {
    let n = contour.len();
    let stride = (n / 4).min(5);
    if stride == 0 {
        return Vec::new();
    }
    let weights = |deriv: usize| -> Vec<f64> {
        SAVGOL_BITS[stride - 1][deriv - 1]
            .iter()
            .map(|&b| f64::from_bits(b))
            .collect()
    };
    let (w1, w2) = (weights(1), weights(2));
    let xs: Vec<f64> = contour.iter().map(|p| f64::from(p[0])).collect();
    let ys: Vec<f64> = contour.iter().map(|p| f64::from(p[1])).collect();
    let (x1, y1) = (correlate_wrap(&xs, &w1), correlate_wrap(&ys, &w1));
    let (x2, y2) = (correlate_wrap(&xs, &w2), correlate_wrap(&ys, &w2));
    (0..n)
        .map(|i| {
            let cross = x1[i] * y2[i] - y1[i] * x2[i];
            let denom = (x1[i] * x1[i] + y1[i] * y1[i]).powf(1.5);
            cross / denom.max(1e-6)
        })
        .collect()
}

/// DeLTA's `find_poles`: the two poles `(y, x)` of a contour (see the module docs), or `None`
/// for a contour of fewer than 4 points.
pub fn find_poles(contour: &[Point]) -> Option<(Pole, Pole)> {
    let n = contour.len();
    if n < 4 {
        return None;
    }
    let curv = curvature(contour);
    let argmin = |it: &mut dyn Iterator<Item = usize>| -> Option<usize> {
        let mut best: Option<usize> = None;
        for i in it {
            if best.is_none_or(|b| curv[i] < curv[b]) {
                best = Some(i);
            }
        }
        best
    };
    let p1 = argmin(&mut (0..n))?;
    let q = n / 4;
    let p2 = argmin(&mut (p1 + q..=p1 + 3 * q).map(|i| (i % 65536) % n))?;
    let pole = |i: usize| [contour[i][1] as i16, contour[i][0] as i16];
    Some((pole(p1), pole(p2)))
}

/// A label frame's distance map and path cost, for [`FrameMaps::width_length`].
pub struct FrameMaps {
    h: usize,
    w: usize,
    dist: Vec<f32>,
    cost: Vec<f32>,
}

impl FrameMaps {
    /// The maps of a label plane (`h × w`, row-major): [`distance_map`] and its cost
    /// `1 / (d + 0.001)`, in single precision as DeLTA's.
    pub fn new(labels: &[u16], h: usize, w: usize) -> Self {
        let dist = distance_map(labels, h, w);
        let cost = dist.iter().map(|&d| 1.0f32 / (d + 1e-3f32)).collect();
        FrameMaps { h, w, dist, cost }
    }

    /// DeLTA's `cell_width_length`: `(width, length)` in pixels along the cheapest path from
    /// `p1` to `p2` (`(row, col)`, inside the plane).
    ///
    /// ```
    /// use deltacell_analysis::features::FrameMaps;
    /// // A 3 × 7 cell in a 5 × 9 plane: a straight centre line of 4 steps.
    /// let labels: Vec<u16> = (0..45).map(|i| u16::from((1..4).contains(&(i / 9)) && (1..8).contains(&(i % 9)))).collect();
    /// let (width, length) = FrameMaps::new(&labels, 5, 9).width_length([2, 2], [2, 6]);
    /// assert_eq!(length, 4.0);
    /// assert_eq!(width, 4.0);
    /// ```
    pub fn width_length(&self, p1: Pole, p2: Pole) -> (f64, f64) {
        let path = pathfinding(&self.cost, self.h, self.w, p1, p2);
        let along: Vec<f32> = path
            .iter()
            .map(|p| self.dist[p[0] as usize * self.w + p[1] as usize])
            .collect();
        let width = f64::from(2.0f32 * (pairwise_sum(&along) / along.len() as f32));
        let steps: Vec<f64> = path.windows(2).map(|s| eucl(s[0], s[1])).collect();
        (width, pairwise_sum(&steps))
    }
}

/// The poles `(pole 1, pole 2)` of every cell of frame `f` (index) of `roi`, before they are
/// told new from old: found at the segmentation's resolution when the segmentation stack
/// matches the labels, else on the labels (see the module docs).
pub fn raw_poles(roi: &RoiResults, f: usize) -> Result<BTreeMap<CellId, (Pole, Pole)>> {
    let (_, w) = roi.labels.plane_shape();
    let boxes = label_boxes(roi.labels.frame(f), w);
    let poles = seg_poles(roi, f, &boxes)?.map_or_else(|| label_poles(roi, f, &boxes), Ok)?;
    Ok(poles
        .into_iter()
        .map(|(id, (a, b, _))| (id, (a, b)))
        .collect())
}

/// Measures every cell of frame `f` of `roi` (poles not yet oriented).
fn frame_features(roi: &RoiResults, f: usize) -> Result<BTreeMap<CellId, Raw>> {
    let (h, w) = roi.labels.plane_shape();
    let labels = roi.labels.frame(f);
    let boxes = label_boxes(labels, w);
    if boxes.is_empty() {
        return Ok(BTreeMap::new());
    }
    let maps = FrameMaps::new(labels, h, w);
    let poles = seg_poles(roi, f, &boxes)?.map_or_else(|| label_poles(roi, f, &boxes), Ok)?;
    let nc = roi.fluo_channels.len();
    let mut out = BTreeMap::new();
    for (&label, &bb) in &boxes {
        let id = CellId::from(label);
        let cell_err = |problem: &str| Error::Cell {
            roi: roi.roi_nb,
            frame: f,
            cell: id,
            problem: problem.to_string(),
        };
        let (m, ch, cw, r0, c0) = crop_mask(labels, w, h, label, bb);
        let contour: Vec<Point> = first_contour(&m, ch, cw)
            .ok_or_else(|| cell_err("no pixel"))?
            .into_iter()
            .map(|p| [p[0] + c0 as i32, p[1] + r0 as i32])
            .collect();
        // DeLTA: a zero area would break the growth rates' logarithms.
        let a = contour_area(&contour);
        let area = if a == 0.0 { 0.1 } else { a };
        let perimeter = arc_length(&contour);
        let edges = Edges {
            minus_x: contour.iter().any(|p| p[0] == 0),
            plus_x: contour.iter().any(|p| p[0] as usize == w - 1),
            minus_y: contour.iter().any(|p| p[1] == 0),
            plus_y: contour.iter().any(|p| p[1] as usize == h - 1),
        };
        let &(p1, p2, rank) = poles
            .get(&id)
            .ok_or_else(|| cell_err("no poles (a contour of fewer than 4 points)"))?;
        let in_roi = |p: Pole| p[0] >= 0 && p[1] >= 0 && (p[0] as usize) < h && (p[1] as usize) < w;
        if !in_roi(p1) || !in_roi(p2) {
            return Err(cell_err(&format!(
                "poles {p1:?}, {p2:?} fall outside the {h}×{w} ROI (check the `scaling` attribute)"
            )));
        }
        let (width, length) = maps.width_length(p1, p2);
        let mut fluo = Vec::with_capacity(nc);
        for ch_i in 0..nc {
            let plane = roi.fluo_plane(f, ch_i);
            let (mut sum, mut count) = (0f64, 0usize);
            for r in bb.0..=bb.1 {
                for c in bb.2..=bb.3 {
                    if labels[r * w + c] == label {
                        sum += f64::from(plane[r * w + c]);
                        count += 1;
                    }
                }
            }
            fluo.push(65535.0 * sum / count as f64);
        }
        out.insert(
            id,
            Raw {
                features: CellFeatures {
                    new_pole: p1,
                    old_pole: p2,
                    length,
                    width,
                    area,
                    perimeter,
                    fluo,
                    edges,
                    growthrate_length: f64::NAN,
                    growthrate_area: f64::NAN,
                },
                rank,
            },
        );
    }
    Ok(out)
}

type PoleMap = BTreeMap<CellId, (Pole, Pole, usize)>;

/// Poles from the segmentation stack, as DeLTA finds them, when its cells map one to one onto
/// the frame's labels; `None` otherwise.
fn seg_poles(
    roi: &RoiResults,
    f: usize,
    boxes: &BTreeMap<u16, (usize, usize, usize, usize)>,
) -> Result<Option<PoleMap>> {
    let (hr, wr) = roi.seg.plane_shape();
    let (h, w) = roi.labels.plane_shape();
    if hr * wr == 0 {
        return Ok(None);
    }
    let seg = Mask::from_plane(Plane::from_fn(hr, wr, |r, c| roi.seg.frame(f)[r * wr + c]));
    let seg_labels = deltacell_data::postprocess::label_seg(&seg);
    let n = seg_labels.max_label() as usize;
    if n != boxes.len() {
        return Ok(None);
    }
    let labels = roi.labels.frame(f);
    let [sy, sx] = roi.scaling;
    let to_roi =
        |v: usize, s: f64, max: usize| ((v as f64 * s).round_ties_even() as usize).min(max - 1);
    // Votes: seg label → ROI label → count.
    let mut votes = vec![BTreeMap::<u16, usize>::new(); n + 1];
    for r in 0..hr {
        for c in 0..wr {
            let k = seg_labels.get(r, c) as usize;
            if k == 0 {
                continue;
            }
            let l = labels[to_roi(r, sy, h) * w + to_roi(c, sx, w)];
            if l != 0 {
                *votes[k].entry(l).or_default() += 1;
            }
        }
    }
    let mut map = PoleMap::new();
    for (k, v) in votes.iter().enumerate().skip(1) {
        let Some((&l, _)) = v.iter().max_by_key(|(l, n)| (**n, std::cmp::Reverse(**l))) else {
            return Ok(None);
        };
        let id = CellId::from(l);
        if map.contains_key(&id) {
            return Ok(None);
        }
        let mask: Vec<u8> = seg_labels
            .as_slice()
            .iter()
            .map(|&x| u8::from(x as usize == k))
            .collect();
        let Some(contour) = first_contour(&mask, hr, wr) else {
            return Ok(None);
        };
        let Some((p1, p2)) = find_poles(&contour) else {
            return Err(Error::Cell {
                roi: roi.roi_nb,
                frame: f,
                cell: id,
                problem: "its contour in the segmentation has fewer than 4 points: no poles".into(),
            });
        };
        let scale = |p: Pole| -> Pole {
            [
                (f64::from(p[0]) * sy).round_ties_even() as i16,
                (f64::from(p[1]) * sx).round_ties_even() as i16,
            ]
        };
        map.insert(id, (scale(p1), scale(p2), k));
    }
    Ok(Some(map))
}

/// Poles from the label image itself (scaling 1), ranked as DeLTA's `label_seg` would number
/// the cells (lowest point first; ties: the cell found later in a raster scan first).
fn label_poles(
    roi: &RoiResults,
    f: usize,
    boxes: &BTreeMap<u16, (usize, usize, usize, usize)>,
) -> Result<PoleMap> {
    let (h, w) = roi.labels.plane_shape();
    let labels = roi.labels.frame(f);
    let mut first_pixel: BTreeMap<u16, usize> = BTreeMap::new();
    for (i, &l) in labels.iter().enumerate() {
        if l != 0 {
            first_pixel.entry(l).or_insert(i);
        }
    }
    let mut order: Vec<u16> = boxes.keys().copied().collect();
    order.sort_by_key(|l| (boxes[l].1, std::cmp::Reverse(first_pixel[l])));
    let mut map = PoleMap::new();
    for (rank, &label) in order.iter().enumerate() {
        let id = CellId::from(label);
        let (m, ch, cw, r0, c0) = crop_mask(labels, w, h, label, boxes[&label]);
        let contour = first_contour(&m, ch, cw).unwrap_or_default();
        let Some((p1, p2)) = find_poles(&contour) else {
            return Err(Error::Cell {
                roi: roi.roi_nb,
                frame: f,
                cell: id,
                problem: "its contour has fewer than 4 points: no poles".into(),
            });
        };
        let shift = |p: Pole| [p[0] + r0 as i16, p[1] + c0 as i16];
        map.insert(id, (shift(p1), shift(p2), rank + 1));
    }
    Ok(map)
}

/// The least-squares slope of `y` against its index.
fn slope(y: &[f64]) -> f64 {
    let n = y.len() as f64;
    let mean_x = (n - 1.0) / 2.0;
    let mean_y = y.iter().sum::<f64>() / n;
    let (mut num, mut den) = (0.0, 0.0);
    for (i, &v) in y.iter().enumerate() {
        let dx = i as f64 - mean_x;
        num += dx * (v - mean_y);
        den += dx * dx;
    }
    num / den
}

/// `savgol_filter(values, min(window, n), polyorder 1, deriv 1)` (mode `interp`): the slope
/// over a centred window, or over the first or last window near the ends; NaN for fewer than 2
/// values.
///
/// ```
/// use deltacell_analysis::features::smoothed_slope;
/// let y = [0.0, 1.0, 2.0, 3.0];
/// assert_eq!(smoothed_slope(&y, 9), vec![1.0; 4]);
/// assert!(smoothed_slope(&[5.0], 9)[0].is_nan());
/// ```
pub fn smoothed_slope(values: &[f64], window: usize) -> Vec<f64> {
    let n = values.len();
    if n < 2 {
        return vec![f64::NAN; n];
    }
    let w = window.min(n);
    let half = w / 2;
    (0..n)
        .map(|i| {
            let s = if i < half {
                0
            } else if i >= n - half {
                n - w
            } else {
                i - half
            };
            slope(&values[s..s + w])
        })
        .collect()
}

/// The log values of `feature` along `id`'s ancestry up to `id`'s last frame (or up to the
/// birth of `until`), each division's jump removed; and the accumulated division term.
fn log_values(
    lineage: &Lineage,
    features: &BTreeMap<CellId, Vec<CellFeatures>>,
    id: CellId,
    until: Option<CellId>,
    value: fn(&CellFeatures) -> f64,
) -> (Vec<f64>, f64) {
    let Some(cell) = lineage.cell(id) else {
        return (Vec::new(), 0.0);
    };
    let (mut values, mut ratio) = match cell.mother {
        Some(m) => log_values(lineage, features, m, Some(id), value),
        None => (Vec::new(), 0.0),
    };
    let Some(own) = features.get(&id) else {
        return (values, ratio);
    };
    for (i, fe) in own.iter().enumerate() {
        let frame = cell.first_frame + i;
        let v = value(fe);
        if let Some(&(_, d)) = cell.divisions.iter().find(|(df, _)| *df == frame) {
            let dv = lineage
                .cell(d)
                .and_then(|dc| features.get(&d)?.get(frame.checked_sub(dc.first_frame)?))
                .map(value);
            if let Some(dv) = dv {
                if Some(d) == until {
                    ratio += (v / dv).ln_1p();
                    return (values, ratio);
                }
                ratio += (dv / v).ln_1p();
            }
        }
        values.push(v.ln() + ratio);
    }
    (values, ratio)
}

/// Fills the growth rates of length and area of every cell (DeLTA's
/// `Lineage.compute_growthrates`, see the module docs), `window` frames wide (≥ 3; DeLTA's
/// pipeline uses [`GROWTH_RATE_WINDOW`]).
pub fn growth_rates(
    lineage: &Lineage,
    features: &mut BTreeMap<CellId, Vec<CellFeatures>>,
    window: usize,
) {
    let mut rates: Vec<(CellId, Vec<f64>, Vec<f64>)> = Vec::new();
    for cell in lineage.cells() {
        let life = features.get(&cell.id).map_or(0, Vec::len);
        let per = |value: fn(&CellFeatures) -> f64| -> Vec<f64> {
            let (v, _) = log_values(lineage, features, cell.id, None, value);
            let s = smoothed_slope(&v, window);
            s[s.len().saturating_sub(life)..].to_vec()
        };
        rates.push((cell.id, per(|f| f.length), per(|f| f.area)));
    }
    for (id, gl, ga) in rates {
        if let Some(fs) = features.get_mut(&id) {
            for ((fe, l), a) in fs.iter_mut().zip(gl).zip(ga) {
                fe.growthrate_length = l;
                fe.growthrate_area = a;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_savitzky_golay_weights_are_the_exact_fractions_to_the_last_bits() {
        for m in 1..=5i64 {
            let w = (2 * m + 1) as f64;
            let s2: f64 = (-m..=m).map(|k| (k * k) as f64).sum();
            let s4: f64 = (-m..=m).map(|k| (k * k * k * k) as f64).sum();
            for (j, k) in (-m..=m).enumerate() {
                let d1 = f64::from_bits(SAVGOL_BITS[m as usize - 1][0][j]);
                let d2 = f64::from_bits(SAVGOL_BITS[m as usize - 1][1][j]);
                let k2 = (k * k) as f64;
                assert!((d1 - k as f64 / s2).abs() < 1e-15, "m {m} k {k}: {d1}");
                assert!((d2 - 2.0 * (k2 - s2 / w) / (s4 - s2 * s2 / w)).abs() < 1e-15);
            }
        }
    }

    #[test]
    fn pairwise_sum_matches_a_plain_sum_on_exact_values() {
        let v: Vec<f64> = (0..300).map(f64::from).collect();
        assert_eq!(pairwise_sum(&v), 44850.0);
    }

    #[test]
    fn a_straight_path_through_a_uniform_cost() {
        let cost = vec![1f32; 5 * 5];
        let p = pathfinding(&cost, 5, 5, [0, 0], [4, 4]);
        assert_eq!(p, vec![[0, 0], [1, 1], [2, 2], [3, 3], [4, 4]]);
        assert_eq!(pathfinding(&cost, 5, 5, [2, 2], [2, 2]), vec![[2, 2]]);
    }

    #[test]
    fn the_poles_of_a_rod_are_its_ends() {
        // A 5 × 20 rod with rounded corners.
        let (h, w) = (7, 24);
        let mut m = vec![0u8; h * w];
        for r in 1..6 {
            for c in 2..22 {
                let corner = (r == 1 || r == 5) && (c == 2 || c == 21);
                m[r * w + c] = u8::from(!corner);
            }
        }
        let c = first_contour(&m, h, w).unwrap();
        let (a, b) = find_poles(&c).unwrap();
        let (left, right) = if a[1] < b[1] { (a, b) } else { (b, a) };
        assert!(left[1] <= 3 && right[1] >= 20, "{a:?} {b:?}");
    }

    #[test]
    fn growth_rates_follow_an_exponential_across_a_division() {
        // A cell growing by 10 % per frame divides in two equal halves at frame 3.
        let mut lineage = Lineage::default();
        let m = lineage.new_cell(0, None);
        lineage.extend(m, 5);
        let d = lineage.new_cell(3, Some(m));
        lineage.extend(d, 5);
        let fe = |len: f64| CellFeatures {
            new_pole: [0, 0],
            old_pole: [0, 0],
            length: len,
            width: 1.0,
            area: len,
            perimeter: 1.0,
            fluo: vec![],
            edges: Edges::default(),
            growthrate_length: f64::NAN,
            growthrate_area: f64::NAN,
        };
        let g = 1.1f64;
        let mut features = BTreeMap::new();
        features.insert(
            m,
            (0..6)
                .map(|i| fe(if i < 3 { g.powi(i) } else { g.powi(i) / 2.0 }))
                .collect(),
        );
        features.insert(d, (3..6).map(|i| fe(g.powi(i) / 2.0)).collect());
        growth_rates(&lineage, &mut features, 9);
        for f in features.values().flatten() {
            assert!(
                (f.growthrate_length - g.ln()).abs() < 1e-12,
                "{}",
                f.growthrate_length
            );
        }
    }
}
