//! How good a segmentation or tracking prediction is, against ground truth.
//!
//! # Segmentation
//! * Pixel IoU and Dice of the cell/background masks.
//! * Instance matching: the intersection-over-union of every (true cell, predicted cell) pair,
//!   then an optimal one-to-one assignment (Hungarian algorithm) that first maximises the
//!   number of pairs with IoU ≥ the threshold and then their total IoU, as Cellpose's
//!   `metrics.average_precision` does (cost `−[IoU ≥ t] − IoU / (2·min(n_true, n_pred))`).
//!   A matched pair is a true positive; unmatched predictions are false positives and unmatched
//!   true cells false negatives. Precision `TP/(TP+FP)`, recall `TP/(TP+FN)`, F1, and the
//!   "average precision" of Cellpose, Omnipose and MiDAP: `TP/(TP+FP+FN)`, at IoU 0.5, 0.75, 0.9.
//! * Aggregated Jaccard index (Kumar et al. 2017): every true cell is paired with the predicted
//!   cell of highest IoU (predictions may be reused); `AJI = Σ|G∩S| / (Σ|G∪S| + Σ|unused S|)`.
//!   A true cell that no prediction touches adds its area to the denominator only.
//! * Overall figures pool the images: pixel counts and TP/FP/FN are summed over images before
//!   the ratios are taken (so large images weigh more, and an empty image costs nothing).
//!   Ratios with an empty denominator are 1 (nothing to find, nothing found).
//!
//! # Tracking
//! DeLTA's tracking output for one seed cell is one `mot_dau` mask holding the seed cell at
//! frame t and, after a division, its daughter. It is compared with the true `mot_dau` mask as
//! follows (DeLTA itself defines no tracking metric):
//! * both masks are split into 8-connected components (1 = the cell continues, 2 = it divided,
//!   0 = it left the chamber); components are matched one-to-one by IoU ≥ 0.5 (optimal
//!   assignment as above);
//! * the cell is found when at least one true component is matched; after a true division the
//!   daughter is found when both true components are matched;
//! * links: every component is a link from the seed to a cell at frame t; link precision =
//!   matched / predicted components, link recall = matched / true components;
//! * divisions: a seed whose mask has two or more components divided; a true division is
//!   recovered when the prediction also has two or more components and every true component is
//!   matched; division precision = recovered / predicted divisions, recall = recovered / true
//!   divisions;
//! * a seed is correct when the predicted and true components are equal in number and all
//!   matched; the tracking accuracy is the fraction of correct seeds.

use std::collections::HashMap;

use crate::image::{Labels, Mask};
use crate::morphology::{label, Connectivity};

mod folders;
pub use folders::{
    evaluate_seg_folders, evaluate_seg_folders_with, evaluate_track_folders, images_by_stem,
    pair_by_stem, SegPair, TrackPair,
};

/// IoU thresholds at which instance scores are reported.
pub const IOU_THRESHOLDS: [f64; 3] = [0.5, 0.75, 0.9];

fn ratio(num: f64, den: f64) -> f64 {
    if den > 0.0 {
        num / den
    } else {
        1.0
    }
}

/// Pixel IoU of two masks (`|P∩T| / |P∪T|`); 1 when both are empty. Shapes must agree.
///
/// ```
/// use deltacell_data::{metrics::pixel_iou, Mask, Plane};
/// let pred = Mask::from_plane(Plane::from_vec(1, 4, vec![1, 1, 0, 0])?);
/// let truth = Mask::from_plane(Plane::from_vec(1, 4, vec![0, 1, 1, 0])?);
/// assert_eq!(pixel_iou(&pred, &truth), 1.0 / 3.0); // 1 shared pixel of 3 in the union
/// # Ok::<(), deltacell_data::Error>(())
/// ```
pub fn pixel_iou(pred: &Mask, truth: &Mask) -> f64 {
    let (i, u, _, _) = pixel_counts(pred, truth);
    ratio(i as f64, u as f64)
}

/// Dice coefficient of two masks (`2|P∩T| / (|P|+|T|)`); 1 when both are empty.
///
/// ```
/// use deltacell_data::{metrics::dice, Mask, Plane};
/// let pred = Mask::from_plane(Plane::from_vec(1, 4, vec![1, 1, 0, 0])?);
/// let truth = Mask::from_plane(Plane::from_vec(1, 4, vec![0, 1, 1, 0])?);
/// assert_eq!(dice(&pred, &truth), 0.5); // 2·1 / (2 + 2)
/// # Ok::<(), deltacell_data::Error>(())
/// ```
pub fn dice(pred: &Mask, truth: &Mask) -> f64 {
    let (i, _, p, t) = pixel_counts(pred, truth);
    ratio(2.0 * i as f64, (p + t) as f64)
}

/// (intersection, union, pred pixels, truth pixels).
fn pixel_counts(pred: &Mask, truth: &Mask) -> (u64, u64, u64, u64) {
    let (mut i, mut u, mut p, mut t) = (0u64, 0u64, 0u64, 0u64);
    for (&a, &b) in pred.as_slice().iter().zip(truth.as_slice()) {
        let (a, b) = (a != 0, b != 0);
        i += u64::from(a && b);
        u += u64::from(a || b);
        p += u64::from(a);
        t += u64::from(b);
    }
    (i, u, p, t)
}

/// Cell instances of a mask or label image: a raster with at most one nonzero value (a binary
/// mask, 0/1 or 0/255) is split into 8-connected components; anything else is taken as instance
/// labels and renumbered `1..=n` in order of first appearance.
pub fn instances(raster: &Labels) -> Labels {
    instances_with(raster, Connectivity::Eight)
}

/// [`instances`] with a choice of connectivity for binary masks: with [`Connectivity::Four`]
/// two cells that touch only at a corner (a diagonal step through a 1-px gap) are two objects.
///
/// ```
/// use deltacell_data::metrics::instances_with;
/// use deltacell_data::morphology::Connectivity;
/// use deltacell_data::{Labels, Plane};
/// let m = Labels::from_plane(Plane::from_vec(2, 2, vec![1, 0, 0, 1])?);
/// assert_eq!(instances_with(&m, Connectivity::Eight).max_label(), 1);
/// assert_eq!(instances_with(&m, Connectivity::Four).max_label(), 2);
/// # Ok::<(), deltacell_data::Error>(())
/// ```
pub fn instances_with(raster: &Labels, connectivity: Connectivity) -> Labels {
    let mut first = None;
    let binary = raster.as_slice().iter().all(|&v| {
        v == 0
            || match first {
                None => {
                    first = Some(v);
                    true
                }
                Some(f) => f == v,
            }
    });
    if binary {
        return label(&raster.to_mask(), connectivity).0;
    }
    compact(raster)
}

/// Renumbers labels `1..=n` in order of first appearance.
fn compact(raster: &Labels) -> Labels {
    let mut map: HashMap<u32, u32> = HashMap::new();
    Labels::from_plane(raster.map(|v| {
        if v == 0 {
            0
        } else {
            let n = map.len() as u32 + 1;
            *map.entry(v).or_insert(n)
        }
    }))
}

/// Areas and pairwise overlaps of two compact label images (labels `1..=n`).
struct Overlaps {
    true_area: Vec<u64>, // index l-1
    pred_area: Vec<u64>,
    /// (true index, pred index) → intersection.
    inter: HashMap<(usize, usize), u64>,
}

impl Overlaps {
    fn new(pred: &Labels, truth: &Labels) -> Self {
        let nt = truth.max_label() as usize;
        let np = pred.max_label() as usize;
        let mut true_area = vec![0u64; nt];
        let mut pred_area = vec![0u64; np];
        let mut inter = HashMap::new();
        for (&p, &t) in pred.as_slice().iter().zip(truth.as_slice()) {
            if t != 0 {
                true_area[t as usize - 1] += 1;
            }
            if p != 0 {
                pred_area[p as usize - 1] += 1;
            }
            if t != 0 && p != 0 {
                *inter.entry((t as usize - 1, p as usize - 1)).or_insert(0) += 1;
            }
        }
        Overlaps {
            true_area,
            pred_area,
            inter,
        }
    }

    fn iou(&self, t: usize, p: usize) -> f64 {
        let i = self.inter.get(&(t, p)).copied().unwrap_or(0);
        let u = self.true_area[t] + self.pred_area[p] - i;
        ratio(i as f64, u as f64)
    }

    /// Dense IoU matrix, rows = true cells, columns = predicted cells.
    fn iou_matrix(&self) -> Vec<Vec<f64>> {
        let mut m = vec![vec![0.0; self.pred_area.len()]; self.true_area.len()];
        for &(t, p) in self.inter.keys() {
            m[t][p] = self.iou(t, p);
        }
        m
    }
}

/// The IoU of every (true cell, predicted cell) pair of two label images: `m[t−1][p−1]`.
/// Labels must be compact (`1..=n`, e.g. from [`instances`]).
pub fn iou_matrix(pred: &Labels, truth: &Labels) -> Vec<Vec<f64>> {
    Overlaps::new(pred, truth).iou_matrix()
}

/// Minimum-cost one-to-one assignment on a rectangular cost matrix (Hungarian algorithm with
/// potentials, O(n²·m)). Returns `assign[row] = Some(col)` for every row that gets a column
/// (all rows when rows ≤ columns, otherwise all columns are used).
pub fn linear_sum_assignment(cost: &[Vec<f64>]) -> Vec<Option<usize>> {
    let rows = cost.len();
    let cols = cost.first().map_or(0, Vec::len);
    if rows == 0 || cols == 0 {
        return vec![None; rows];
    }
    // The algorithm needs rows ≤ columns: transpose otherwise.
    if rows > cols {
        let t: Vec<Vec<f64>> = (0..cols)
            .map(|c| (0..rows).map(|r| cost[r][c]).collect())
            .collect();
        let by_col = linear_sum_assignment(&t);
        let mut out = vec![None; rows];
        for (c, r) in by_col.into_iter().enumerate() {
            if let Some(r) = r {
                out[r] = Some(c);
            }
        }
        return out;
    }
    let (n, m) = (rows, cols);
    // 1-based arrays; u/v potentials, p[j] = row matched to column j, way = augmenting path.
    let mut u = vec![0.0f64; n + 1];
    let mut v = vec![0.0f64; m + 1];
    let mut p = vec![0usize; m + 1];
    let mut way = vec![0usize; m + 1];
    for i in 1..=n {
        p[0] = i;
        let mut j0 = 0usize;
        let mut minv = vec![f64::INFINITY; m + 1];
        let mut used = vec![false; m + 1];
        loop {
            used[j0] = true;
            let i0 = p[j0];
            let mut delta = f64::INFINITY;
            let mut j1 = 0usize;
            for j in 1..=m {
                if !used[j] {
                    let cur = cost[i0 - 1][j - 1] - u[i0] - v[j];
                    if cur < minv[j] {
                        minv[j] = cur;
                        way[j] = j0;
                    }
                    if minv[j] < delta {
                        delta = minv[j];
                        j1 = j;
                    }
                }
            }
            for j in 0..=m {
                if used[j] {
                    u[p[j]] += delta;
                    v[j] -= delta;
                } else {
                    minv[j] -= delta;
                }
            }
            j0 = j1;
            if p[j0] == 0 {
                break;
            }
        }
        loop {
            let j1 = way[j0];
            p[j0] = p[j1];
            j0 = j1;
            if j0 == 0 {
                break;
            }
        }
    }
    let mut out = vec![None; n];
    for j in 1..=m {
        if p[j] != 0 {
            out[p[j] - 1] = Some(j - 1);
        }
    }
    out
}

/// Matched pairs `(true index, pred index, IoU)` (0-based) at IoU threshold `threshold`,
/// Cellpose's optimal matching (see the module docs).
///
/// Only pairs with IoU ≥ `threshold` can count, so the assignment is solved separately on each
/// connected group of such pairs (usually one true and one predicted cell): the number of
/// matches is the same as one assignment over all cells, at a fraction of the cost.
pub fn match_instances(iou: &[Vec<f64>], threshold: f64) -> Vec<(usize, usize, f64)> {
    let nt = iou.len();
    let np = iou.first().map_or(0, Vec::len);
    let edges: Vec<(usize, usize)> = (0..nt)
        .flat_map(|t| (0..np).map(move |p| (t, p)))
        .filter(|&(t, p)| iou[t][p] >= threshold)
        .collect();
    match_groups(&edges, nt, np, |t, p| iou[t][p], threshold)
}

/// Groups the candidate pairs into connected components and assigns within each.
fn match_groups(
    edges: &[(usize, usize)],
    nt: usize,
    np: usize,
    iou: impl Fn(usize, usize) -> f64,
    threshold: f64,
) -> Vec<(usize, usize, f64)> {
    // Union-find over nodes: true cells 0..nt, predicted cells nt..nt+np.
    let mut parent: Vec<usize> = (0..nt + np).collect();
    fn find(parent: &mut [usize], mut x: usize) -> usize {
        while parent[x] != x {
            parent[x] = parent[parent[x]];
            x = parent[x];
        }
        x
    }
    for &(t, p) in edges {
        let (a, b) = (find(&mut parent, t), find(&mut parent, nt + p));
        if a != b {
            parent[a] = b;
        }
    }
    let mut groups: HashMap<usize, (Vec<usize>, Vec<usize>)> = HashMap::new();
    for &(t, p) in edges {
        let root = find(&mut parent, t);
        let g = groups.entry(root).or_default();
        if !g.0.contains(&t) {
            g.0.push(t);
        }
        if !g.1.contains(&p) {
            g.1.push(p);
        }
    }
    let mut out = Vec::new();
    for (_, (rows, cols)) in groups {
        if rows.len() == 1 && cols.len() == 1 {
            out.push((rows[0], cols[0], iou(rows[0], cols[0])));
            continue;
        }
        let n_min = rows.len().min(cols.len()) as f64;
        let cost: Vec<Vec<f64>> = rows
            .iter()
            .map(|&t| {
                cols.iter()
                    .map(|&p| {
                        let x = iou(t, p);
                        -f64::from(u8::from(x >= threshold)) - x / (2.0 * n_min)
                    })
                    .collect()
            })
            .collect();
        for (r, c) in linear_sum_assignment(&cost).into_iter().enumerate() {
            if let Some(c) = c {
                let (t, p) = (rows[r], cols[c]);
                let x = iou(t, p);
                if x >= threshold {
                    out.push((t, p, x));
                }
            }
        }
    }
    out.sort_by_key(|&(t, p, _)| (t, p));
    out
}

/// True positives, false positives and false negatives at one IoU threshold.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Counts {
    /// Matched pairs.
    pub tp: u64,
    /// Unmatched predicted cells.
    pub fp: u64,
    /// Unmatched true cells.
    #[serde(rename = "fn")]
    pub fn_: u64,
}

impl Counts {
    /// `TP / (TP + FP)`; 1 when nothing was predicted.
    pub fn precision(&self) -> f64 {
        ratio(self.tp as f64, (self.tp + self.fp) as f64)
    }
    /// `TP / (TP + FN)`; 1 when there was nothing to find.
    pub fn recall(&self) -> f64 {
        ratio(self.tp as f64, (self.tp + self.fn_) as f64)
    }
    /// `2TP / (2TP + FP + FN)`.
    pub fn f1(&self) -> f64 {
        ratio(
            2.0 * self.tp as f64,
            (2 * self.tp + self.fp + self.fn_) as f64,
        )
    }
    /// Cellpose's average precision `TP / (TP + FP + FN)`.
    pub fn average_precision(&self) -> f64 {
        ratio(self.tp as f64, (self.tp + self.fp + self.fn_) as f64)
    }
    fn add(&mut self, o: &Counts) {
        self.tp += o.tp;
        self.fp += o.fp;
        self.fn_ += o.fn_;
    }
}

/// Raw sums behind [`SegScores`], kept so that images can be pooled.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct SegSums {
    /// Pixels that are cell in both.
    pub intersection: u64,
    /// Pixels that are cell in either.
    pub union: u64,
    /// Cell pixels of the prediction.
    pub pred_pixels: u64,
    /// Cell pixels of the truth.
    pub true_pixels: u64,
    /// Number of predicted cells.
    pub n_pred: u64,
    /// Number of true cells.
    pub n_true: u64,
    /// Counts at IoU 0.5, 0.75, 0.9.
    pub counts: [Counts; 3],
    /// AJI numerator `Σ|G∩S|`.
    pub aji_intersection: u64,
    /// AJI denominator.
    pub aji_union: u64,
}

impl SegSums {
    fn add(&mut self, o: &SegSums) {
        self.intersection += o.intersection;
        self.union += o.union;
        self.pred_pixels += o.pred_pixels;
        self.true_pixels += o.true_pixels;
        self.n_pred += o.n_pred;
        self.n_true += o.n_true;
        for (a, b) in self.counts.iter_mut().zip(&o.counts) {
            a.add(b);
        }
        self.aji_intersection += o.aji_intersection;
        self.aji_union += o.aji_union;
    }
}

/// Segmentation scores of one image or of a whole set (the `eval seg --json` fields).
#[derive(Clone, Debug, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct SegScores {
    /// Pixel IoU of the masks.
    pub pixel_iou: f64,
    /// Dice of the masks.
    pub dice: f64,
    /// Precision at IoU 0.5.
    pub precision_50: f64,
    /// Recall at IoU 0.5.
    pub recall_50: f64,
    /// F1 at IoU 0.5.
    pub f1_50: f64,
    /// Average precision `TP/(TP+FP+FN)` at IoU 0.5.
    pub ap_50: f64,
    /// Average precision at IoU 0.75.
    pub ap_75: f64,
    /// Average precision at IoU 0.9.
    pub ap_90: f64,
    /// Aggregated Jaccard index.
    pub aji: f64,
    /// The counts the ratios come from.
    pub sums: SegSums,
}

impl SegScores {
    /// The ratios of `sums`.
    pub fn from_sums(sums: SegSums) -> Self {
        let c = &sums.counts;
        SegScores {
            pixel_iou: ratio(sums.intersection as f64, sums.union as f64),
            dice: ratio(
                2.0 * sums.intersection as f64,
                (sums.pred_pixels + sums.true_pixels) as f64,
            ),
            precision_50: c[0].precision(),
            recall_50: c[0].recall(),
            f1_50: c[0].f1(),
            ap_50: c[0].average_precision(),
            ap_75: c[1].average_precision(),
            ap_90: c[2].average_precision(),
            aji: ratio(sums.aji_intersection as f64, sums.aji_union as f64),
            sums,
        }
    }
}

/// The instance matching of one image, for drawing: which cells are matched at IoU 0.5.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct SegMatch {
    /// Scores of the image.
    pub scores: SegScores,
    /// For each true cell (label − 1): matched at IoU ≥ 0.5.
    pub true_matched: Vec<bool>,
    /// For each predicted cell (label − 1): matched at IoU ≥ 0.5.
    pub pred_matched: Vec<bool>,
}

/// Scores one image. `pred` and `truth` are instance labels (see [`instances`]) of the same
/// shape; a shape mismatch is an [`crate::Error::ShapeMismatch`]. Labels are renumbered in
/// order of first appearance: the `*_matched` vectors follow that numbering.
///
/// ```
/// use deltacell_data::metrics::{evaluate_seg, instances};
/// use deltacell_data::{Labels, Plane};
/// // Two true cells; the prediction finds the first exactly and misses the second.
/// let truth = instances(&Labels::from_plane(Plane::from_vec(1, 6, vec![1, 1, 0, 0, 2, 2])?));
/// let pred = instances(&Labels::from_plane(Plane::from_vec(1, 6, vec![1, 1, 0, 0, 0, 0])?));
/// let m = evaluate_seg(&pred, &truth)?;
/// assert_eq!((m.scores.precision_50, m.scores.recall_50), (1.0, 0.5));
/// assert!((m.scores.f1_50 - 2.0 / 3.0).abs() < 1e-12);
/// # Ok::<(), deltacell_data::Error>(())
/// ```
pub fn evaluate_seg(pred: &Labels, truth: &Labels) -> crate::Result<SegMatch> {
    if pred.shape() != truth.shape() {
        return Err(crate::Error::ShapeMismatch {
            context: "prediction vs truth".into(),
            expected: truth.shape(),
            found: pred.shape(),
        });
    }
    let (pred, truth) = (compact(pred), compact(truth));
    let (i, u, p, t) = pixel_counts(&pred.to_mask(), &truth.to_mask());
    let ov = Overlaps::new(&pred, &truth);
    let (nt, np) = (ov.true_area.len(), ov.pred_area.len());
    let mut counts = [Counts::default(); 3];
    let mut true_matched = vec![false; nt];
    let mut pred_matched = vec![false; np];
    for (k, &th) in IOU_THRESHOLDS.iter().enumerate() {
        let edges: Vec<(usize, usize)> = ov
            .inter
            .keys()
            .copied()
            .filter(|&(t, p)| ov.iou(t, p) >= th)
            .collect();
        let m = match_groups(&edges, nt, np, |t, p| ov.iou(t, p), th);
        let tp = m.len() as u64;
        counts[k] = Counts {
            tp,
            fp: np as u64 - tp,
            fn_: nt as u64 - tp,
        };
        if k == 0 {
            for &(a, b, _) in &m {
                true_matched[a] = true;
                pred_matched[b] = true;
            }
        }
    }
    // AJI: best prediction per true cell, predictions reusable.
    let (mut c, mut uu) = (0u64, 0u64);
    let mut used = vec![false; np];
    // Best prediction per true cell (highest IoU, then lowest label), from the overlaps only.
    let mut best: Vec<Option<(usize, f64)>> = vec![None; nt];
    for &(tcell, pcell) in ov.inter.keys() {
        let x = ov.iou(tcell, pcell);
        let better = match best[tcell] {
            None => true,
            Some((bp, bx)) => x > bx || (x == bx && pcell < bp),
        };
        if better {
            best[tcell] = Some((pcell, x));
        }
    }
    for (tcell, b) in best.iter().enumerate() {
        match b {
            Some((pcell, _)) => {
                let inter = ov.inter.get(&(tcell, *pcell)).copied().unwrap_or(0);
                c += inter;
                uu += ov.true_area[tcell] + ov.pred_area[*pcell] - inter;
                used[*pcell] = true;
            }
            None => uu += ov.true_area[tcell],
        }
    }
    for (pcell, &was_used) in used.iter().enumerate() {
        if !was_used {
            uu += ov.pred_area[pcell];
        }
    }
    let sums = SegSums {
        intersection: i,
        union: u,
        pred_pixels: p,
        true_pixels: t,
        n_pred: np as u64,
        n_true: nt as u64,
        counts,
        aji_intersection: c,
        aji_union: uu,
    };
    Ok(SegMatch {
        scores: SegScores::from_sums(sums),
        true_matched,
        pred_matched,
    })
}

/// Scores of one named image.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct ImageScores {
    /// The image's file stem.
    pub name: String,
    /// Its scores.
    #[serde(flatten)]
    pub scores: SegScores,
}

/// Scores of a set: the pooled figures at the top level and one entry per image.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct SegEvaluation {
    /// Pooled over all images (see the module docs).
    #[serde(flatten)]
    pub overall: SegScores,
    /// Per image, in the order given.
    pub per_image: Vec<ImageScores>,
}

impl SegEvaluation {
    /// Pools per-image scores.
    pub fn from_images(per_image: Vec<ImageScores>) -> Self {
        let mut sums = SegSums::default();
        for im in &per_image {
            sums.add(&im.scores.sums);
        }
        SegEvaluation {
            overall: SegScores::from_sums(sums),
            per_image,
        }
    }
}

/// The comparison of one seed cell's predicted `mot_dau` mask with the truth.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct SeedResult {
    /// The per-cell file name.
    pub name: String,
    /// Components of the true mask (0 = left, 1 = continues, 2 = divided).
    pub true_cells: u32,
    /// Components of the predicted mask.
    pub pred_cells: u32,
    /// True components matched at IoU ≥ 0.5.
    pub matched: u32,
    /// The cell was found (some true component matched).
    pub cell_found: bool,
    /// After a true division: the daughter was found too (both matched). `None` otherwise.
    pub daughter_found: Option<bool>,
    /// As many predicted as true components and all matched.
    pub correct: bool,
}

/// Compares one seed's predicted and true `mot_dau` masks (see the module docs).
///
/// ```
/// use deltacell_data::{metrics::compare_track, Mask, Plane};
/// // The tracked cell divided: mother and daughter, both found.
/// let truth = Mask::from_plane(Plane::from_vec(1, 5, vec![1, 1, 0, 1, 1])?);
/// let r = compare_track("a.png", &truth, &truth)?;
/// assert!(r.correct);
/// assert_eq!((r.true_cells, r.pred_cells), (2, 2));
/// # Ok::<(), deltacell_data::Error>(())
/// ```
pub fn compare_track(name: &str, pred: &Mask, truth: &Mask) -> crate::Result<SeedResult> {
    if pred.shape() != truth.shape() {
        return Err(crate::Error::ShapeMismatch {
            context: format!("{name}: prediction vs truth"),
            expected: truth.shape(),
            found: pred.shape(),
        });
    }
    let (pl, np) = label(pred, Connectivity::Eight);
    let (tl, nt) = label(truth, Connectivity::Eight);
    let m = match_instances(&iou_matrix(&pl, &tl), 0.5).len() as u32;
    Ok(SeedResult {
        name: name.to_string(),
        true_cells: nt,
        pred_cells: np,
        matched: m,
        cell_found: m > 0,
        daughter_found: (nt >= 2).then_some(m >= nt),
        correct: np == nt && m == nt,
    })
}

/// Tracking scores over a set of seed cells.
#[derive(Clone, Debug, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct TrackScores {
    /// Number of seed cells compared.
    pub n_seeds: u64,
    /// Fraction of seeds whose prediction is fully correct.
    pub accuracy: f64,
    /// Matched / predicted components.
    pub link_precision: f64,
    /// Matched / true components.
    pub link_recall: f64,
    /// Recovered / predicted divisions.
    pub division_precision: f64,
    /// Recovered / true divisions.
    pub division_recall: f64,
    /// Fraction of seeds with a true cell at frame t whose cell was found.
    pub cell_found: f64,
    /// Fraction of true divisions whose daughter was found.
    pub daughter_found: f64,
    /// Per seed, in the order given.
    pub per_seed: Vec<SeedResult>,
}

impl TrackScores {
    /// Pools per-seed results.
    pub fn from_seeds(per_seed: Vec<SeedResult>) -> Self {
        let (mut pred, mut truth, mut matched) = (0u64, 0u64, 0u64);
        let (mut pdiv, mut tdiv, mut rdiv) = (0u64, 0u64, 0u64);
        let (mut correct, mut present, mut found, mut dau) = (0u64, 0u64, 0u64, 0u64);
        for s in &per_seed {
            pred += u64::from(s.pred_cells);
            truth += u64::from(s.true_cells);
            matched += u64::from(s.matched);
            pdiv += u64::from(s.pred_cells >= 2);
            tdiv += u64::from(s.true_cells >= 2);
            rdiv += u64::from(s.true_cells >= 2 && s.pred_cells >= 2 && s.matched >= s.true_cells);
            correct += u64::from(s.correct);
            present += u64::from(s.true_cells > 0);
            found += u64::from(s.true_cells > 0 && s.cell_found);
            dau += u64::from(s.daughter_found == Some(true));
        }
        TrackScores {
            n_seeds: per_seed.len() as u64,
            accuracy: ratio(correct as f64, per_seed.len() as f64),
            link_precision: ratio(matched as f64, pred as f64),
            link_recall: ratio(matched as f64, truth as f64),
            division_precision: ratio(rdiv as f64, pdiv as f64),
            division_recall: ratio(rdiv as f64, tdiv as f64),
            cell_found: ratio(found as f64, present as f64),
            daughter_found: ratio(dau as f64, tdiv as f64),
            per_seed,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hungarian_finds_the_optimum() {
        let cost = vec![
            vec![4.0, 1.0, 3.0],
            vec![2.0, 0.0, 5.0],
            vec![3.0, 2.0, 2.0],
        ];
        let a = linear_sum_assignment(&cost);
        let total: f64 = a.iter().enumerate().map(|(r, c)| cost[r][c.unwrap()]).sum();
        assert_eq!(total, 5.0);
        // Rectangular both ways.
        let wide = vec![vec![1.0, 0.0, 5.0], vec![0.0, 3.0, 0.5]];
        assert_eq!(linear_sum_assignment(&wide), vec![Some(1), Some(0)]);
        let tall = vec![vec![1.0, 0.0], vec![0.0, 3.0], vec![9.0, -1.0]];
        assert_eq!(linear_sum_assignment(&tall), vec![None, Some(0), Some(1)]);
    }

    #[test]
    fn hungarian_matches_brute_force() {
        let mut rng = crate::random::seeded(3);
        use rand::Rng;
        for _ in 0..50 {
            let n = rng.random_range(1..6);
            let cost: Vec<Vec<f64>> = (0..n)
                .map(|_| (0..n).map(|_| rng.random_range(0..10) as f64).collect())
                .collect();
            let a = linear_sum_assignment(&cost);
            let got: f64 = a.iter().enumerate().map(|(r, c)| cost[r][c.unwrap()]).sum();
            // Brute force over permutations.
            fn best(cost: &[Vec<f64>], row: usize, used: &mut Vec<bool>) -> f64 {
                if row == cost.len() {
                    return 0.0;
                }
                let mut b = f64::INFINITY;
                for c in 0..cost.len() {
                    if !used[c] {
                        used[c] = true;
                        b = b.min(cost[row][c] + best(cost, row + 1, used));
                        used[c] = false;
                    }
                }
                b
            }
            assert_eq!(got, best(&cost, 0, &mut vec![false; n]));
        }
    }

    #[test]
    fn grouped_matching_counts_like_one_full_assignment() {
        use rand::Rng;
        let mut rng = crate::random::seeded(11);
        for _ in 0..200 {
            let (nt, np) = (rng.random_range(1..7), rng.random_range(1..7));
            let iou: Vec<Vec<f64>> = (0..nt)
                .map(|_| {
                    (0..np)
                        .map(|_| {
                            if rng.random::<f64>() < 0.4 {
                                [0.5, 0.6, 0.3, 0.8][rng.random_range(0..4)]
                            } else {
                                0.0
                            }
                        })
                        .collect()
                })
                .collect();
            let n_min = nt.min(np) as f64;
            let cost: Vec<Vec<f64>> = iou
                .iter()
                .map(|r| {
                    r.iter()
                        .map(|&x| -f64::from(u8::from(x >= 0.5)) - x / (2.0 * n_min))
                        .collect()
                })
                .collect();
            let full = linear_sum_assignment(&cost)
                .into_iter()
                .enumerate()
                .filter(|&(t, p)| p.is_some_and(|p| iou[t][p] >= 0.5))
                .count();
            assert_eq!(match_instances(&iou, 0.5).len(), full, "{iou:?}");
        }
    }

    #[test]
    fn matching_prefers_more_pairs_over_higher_iou() {
        // True 0 overlaps pred 0 (0.9) and pred 1 (0.6); true 1 overlaps only pred 0 (0.55).
        let iou = vec![vec![0.9, 0.6], vec![0.55, 0.0]];
        let m = match_instances(&iou, 0.5);
        assert_eq!(m.len(), 2);
        assert!(m.contains(&(0, 1, 0.6)) && m.contains(&(1, 0, 0.55)));
        assert_eq!(match_instances(&iou, 0.75).len(), 1);
    }
}
