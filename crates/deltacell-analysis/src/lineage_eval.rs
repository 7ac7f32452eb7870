//! Lineage scores: the Cell Tracking Challenge's DET, SEG, TRA and LNK, complete tracks (CT)
//! and division precision, recall and F1 (the CTC's branching correctness), per ROI and pooled.
//!
//! Both sides are [`CtcSequence`]s (convert a DeLTA lineage with [`crate::ctc::to_ctc`]). The
//! definitions are those of the CTC's evaluation software as py-ctcmetrics implements them;
//! every figure equals py-ctcmetrics' (1.3.3) on the same folders, and DET, TRA, LNK also
//! traccuracy's (0.4.3) wherever the two packages agree (see `docs/lineages.md` for where
//! they do not).
//!
//! * **Matching.** In each frame, a predicted region *matches* a reference region when it
//!   covers more than half of the reference's pixels (`2·|R∩P| > |R|`). A reference region
//!   matches at most one predicted region; a predicted one may match several.
//! * **Graphs.** Vertices are the regions of each frame. Edges: a *track link* joins a label in
//!   frame t to the same label in frame t+1; a *parent link* joins a parent track's last region
//!   to a child track's first region (every `P ≠ 0` of the tracking file, divisions and gaps
//!   alike).
//! * **AOGM** (Matula et al. 2015): NS = Σ over predicted regions of (matches − 1) for those
//!   with several; FN = unmatched reference regions; FP = predicted regions matching nothing;
//!   between predicted regions that match exactly one reference region, ED = predicted edges
//!   whose image is no reference edge, EC = those whose image is a reference edge of the other
//!   kind (track link vs parent link); EA = reference edges that are no predicted edge's image.
//!   DET = 1 − min(5·NS + 10·FN + FP, 10·V) / (10·V), TRA = 1 − min(AOGM, AOGM₀)/AOGM₀ with
//!   AOGM = 5·NS + 10·FN + FP + ED + 1.5·EA + EC and AOGM₀ = 10·V + 1.5·E (the empty result),
//!   LNK = 1 − min(ED + 1.5·EA + EC, 1.5·E)/(1.5·E); V and E count the reference graph.
//! * **SEG** = Σ IoU of matched pairs / number of reference regions, over the frames of the
//!   ground truth's `SEG/` (its tracking masks when it has none).
//! * **CT** = 2·T_rc/(T_r + T_c): T_rc counts reference tracks whose every region matches
//!   the same predicted track (uniquely) and that track begins and ends in the same frames.
//! * **Divisions**: a division is a track with more than one child. A predicted division
//!   matches a reference one when their parents end within `tolerance` frames, they have as
//!   many children, the parents match (uniquely) at the earlier of their last frames, and each
//!   reference child matches a distinct predicted child beginning within `tolerance` frames at
//!   the later of their first frames. Precision = TP/(TP+FP), recall = TP/(TP+FN),
//!   F1 = 2PR/(P+R) (the CTC's BC(i)).
//!
//! Pooled scores add the ROIs' error counts and their AOGM₀ (and TP/FP/FN, IoU sums, track
//! counts) before dividing: a pooled score is the score of all ROIs as one graph.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

use serde::Serialize;

use crate::ctc::{CtcSequence, CtcTrack};
use deltacell_data::image::Plane;

/// A region: `(frame, label)`.
pub type Vertex = (usize, u16);
/// A graph edge between two regions.
pub type Edge = (Vertex, Vertex);

/// Why two sequences cannot be compared.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum EvalError {
    /// Different numbers of frames.
    #[error("the prediction has {pred} frames, the ground truth {truth}")]
    Frames {
        /// Predicted frames.
        pred: usize,
        /// Ground-truth frames.
        truth: usize,
    },
    /// Masks of different shapes.
    #[error("frame {frame}: prediction {pred:?} and ground truth {truth:?} differ in shape (height, width)")]
    Shape {
        /// The frame.
        frame: usize,
        /// The predicted mask's shape.
        pred: (usize, usize),
        /// The reference mask's shape.
        truth: (usize, usize),
    },
    /// Ground-truth segmentation of a frame that the prediction does not have.
    #[error("ground-truth SEG frame {0} is beyond the prediction's frames")]
    SegFrame(usize),
}

/// Error counts and totals from which every score follows (added over ROIs when pooling).
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize)]
pub struct Counts {
    /// Vertex split operations (5 each).
    pub ns: usize,
    /// Missed reference regions (10 each).
    pub fn_vertices: usize,
    /// Predicted regions matching nothing (1 each).
    pub fp_vertices: usize,
    /// Redundant predicted edges (1 each).
    pub ed: usize,
    /// Missing reference edges (1.5 each).
    pub ea: usize,
    /// Edges of the wrong kind (1 each).
    pub ec: usize,
    /// Reference regions.
    pub ref_vertices: usize,
    /// Reference edges.
    pub ref_edges: usize,
    /// Σ IoU of matched regions in the SEG frames.
    pub seg_iou_sum: f64,
    /// Reference regions in the SEG frames.
    pub seg_regions: usize,
    /// Reference tracks.
    pub ref_tracks: usize,
    /// Predicted tracks.
    pub pred_tracks: usize,
    /// Reference tracks reconstructed completely.
    pub complete_tracks: usize,
    /// Matched divisions.
    pub division_tp: usize,
    /// Predicted divisions not matched.
    pub division_fp: usize,
    /// Reference divisions not matched.
    pub division_fn: usize,
}

impl std::ops::AddAssign for Counts {
    fn add_assign(&mut self, o: Counts) {
        self.ns += o.ns;
        self.fn_vertices += o.fn_vertices;
        self.fp_vertices += o.fp_vertices;
        self.ed += o.ed;
        self.ea += o.ea;
        self.ec += o.ec;
        self.ref_vertices += o.ref_vertices;
        self.ref_edges += o.ref_edges;
        self.seg_iou_sum += o.seg_iou_sum;
        self.seg_regions += o.seg_regions;
        self.ref_tracks += o.ref_tracks;
        self.pred_tracks += o.pred_tracks;
        self.complete_tracks += o.complete_tracks;
        self.division_tp += o.division_tp;
        self.division_fp += o.division_fp;
        self.division_fn += o.division_fn;
    }
}

/// The scores, each in [0, 1] (higher is better), `None` where undefined (no reference region
/// for DET and TRA, no reference edge for LNK, no track for CT, no reference division for
/// recall and F1, no predicted division for precision).
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct LineageScores {
    /// Detection.
    #[serde(rename = "DET")]
    pub det: Option<f64>,
    /// Segmentation (mean IoU of the reference regions, 0 for a missed one).
    #[serde(rename = "SEG")]
    pub seg: f64,
    /// Tracking.
    #[serde(rename = "TRA")]
    pub tra: Option<f64>,
    /// Linking.
    #[serde(rename = "LNK")]
    pub lnk: Option<f64>,
    /// Complete tracks.
    #[serde(rename = "CT")]
    pub ct: Option<f64>,
    /// AOGM with the TRA weights.
    #[serde(rename = "AOGM")]
    pub aogm: f64,
    /// Division precision.
    pub division_precision: Option<f64>,
    /// Division recall.
    pub division_recall: Option<f64>,
    /// Division F1 (the CTC's branching correctness BC(tolerance)).
    pub division_f1: Option<f64>,
    /// The counts behind the scores.
    pub counts: Counts,
}

/// Weights of the CTC's AOGM: vertex split, false negative, false positive; edge deletion,
/// addition, semantics change.
pub const WEIGHTS: [f64; 6] = [5.0, 10.0, 1.0, 1.0, 1.5, 1.0];

impl LineageScores {
    /// The scores of given counts.
    ///
    /// ```
    /// use deltacell_analysis::lineage_eval::{Counts, LineageScores};
    /// let c = Counts { fn_vertices: 1, ea: 1, ref_vertices: 10, ref_edges: 8, seg_regions: 10, seg_iou_sum: 9.0, ..Counts::default() };
    /// let s = LineageScores::from_counts(c);
    /// assert_eq!(s.det, Some(0.9));
    /// assert_eq!(s.tra, Some(1.0 - 11.5 / 112.0));
    /// assert_eq!(s.seg, 0.9);
    /// ```
    pub fn from_counts(c: Counts) -> Self {
        let [w_ns, w_fn, w_fp, w_ed, w_ea, w_ec] = WEIGHTS;
        let aogm_d = w_ns * c.ns as f64 + w_fn * c.fn_vertices as f64 + w_fp * c.fp_vertices as f64;
        let aogm_a = w_ed * c.ed as f64 + w_ea * c.ea as f64 + w_ec * c.ec as f64;
        let det0 = w_fn * c.ref_vertices as f64;
        let lnk0 = w_ea * c.ref_edges as f64;
        let score = |err: f64, zero: f64| (zero > 0.0).then(|| 1.0 - err.min(zero) / zero);
        let tracks = c.ref_tracks + c.pred_tracks;
        let tp = c.division_tp as f64;
        let (n_pred, n_ref) = (c.division_tp + c.division_fp, c.division_tp + c.division_fn);
        let p = tp / n_pred.max(1) as f64;
        let r = tp / n_ref.max(1) as f64;
        LineageScores {
            det: score(aogm_d, det0),
            seg: c.seg_iou_sum / c.seg_regions.max(1) as f64,
            tra: score(aogm_d + aogm_a, det0 + lnk0),
            lnk: score(aogm_a, lnk0),
            ct: (tracks > 0).then(|| 2.0 * c.complete_tracks as f64 / tracks as f64),
            aogm: aogm_d + aogm_a,
            division_precision: (n_pred > 0).then_some(p),
            division_recall: (n_ref > 0).then_some(r),
            division_f1: (n_ref > 0).then(|| 2.0 * p * r / (p + r).max(1e-4)),
            counts: c,
        }
    }
}

/// Where the errors are, for pictures: reference vertices and edges that were missed,
/// predicted ones that are wrong, divisions (by their parent track's label and last frame).
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct ErrorSites {
    /// Reference regions no prediction matches.
    pub fn_vertices: Vec<Vertex>,
    /// Predicted regions matching nothing.
    pub fp_vertices: Vec<Vertex>,
    /// Predicted regions matching several reference regions (merged cells).
    pub ns_vertices: Vec<Vertex>,
    /// Reference edges missing from the prediction.
    pub ea_edges: Vec<Edge>,
    /// Predicted edges that are not in the reference.
    pub ed_edges: Vec<Edge>,
    /// Predicted edges of the wrong kind.
    pub ec_edges: Vec<Edge>,
    /// Reference divisions not found: `(parent label, its last frame)`.
    pub missed_divisions: Vec<Vertex>,
    /// Predicted divisions not in the reference: `(parent label, its last frame)`.
    pub false_divisions: Vec<Vertex>,
}

/// The evaluation of one ROI.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct RoiEvaluation {
    /// The scores.
    pub scores: LineageScores,
    /// Where the errors are.
    #[serde(skip)]
    pub errors: ErrorSites,
}

/// The matches of one frame.
struct FrameMatch {
    /// Reference label → predicted label it matches, with their IoU.
    ref_to_pred: HashMap<u16, (u16, f64)>,
    /// Predicted label → number of reference labels it matches.
    pred_count: HashMap<u16, usize>,
    /// Labels present.
    ref_labels: BTreeSet<u16>,
    pred_labels: BTreeSet<u16>,
}

impl FrameMatch {
    /// The predicted region matching reference `r`, if it matches no other reference region.
    fn unique(&self, r: u16) -> Option<u16> {
        self.ref_to_pred
            .get(&r)
            .map(|&(p, _)| p)
            .filter(|p| self.pred_count.get(p) == Some(&1))
    }
}

fn match_frame(truth: &Plane<u16>, pred: &Plane<u16>) -> FrameMatch {
    let mut overlap: HashMap<(u16, u16), usize> = HashMap::new();
    let mut size_r: HashMap<u16, usize> = HashMap::new();
    let mut size_p: HashMap<u16, usize> = HashMap::new();
    for (&r, &p) in truth.as_slice().iter().zip(pred.as_slice()) {
        if r != 0 {
            *size_r.entry(r).or_default() += 1;
            if p != 0 {
                *overlap.entry((r, p)).or_default() += 1;
            }
        }
        if p != 0 {
            *size_p.entry(p).or_default() += 1;
        }
    }
    let mut ref_to_pred = HashMap::new();
    let mut pred_count: HashMap<u16, usize> = HashMap::new();
    for (&(r, p), &n) in &overlap {
        if 2 * n > size_r[&r] {
            let union = size_r[&r] + size_p[&p] - n;
            ref_to_pred.insert(r, (p, n as f64 / union as f64));
            *pred_count.entry(p).or_default() += 1;
        }
    }
    FrameMatch {
        ref_to_pred,
        pred_count,
        ref_labels: size_r.keys().copied().collect(),
        pred_labels: size_p.keys().copied().collect(),
    }
}

/// Track links and parent links of a sequence: edge → is a parent link.
fn edges(tracks: &[CtcTrack], frames: &[&BTreeSet<u16>]) -> BTreeMap<Edge, bool> {
    let mut out = BTreeMap::new();
    for t in 0..frames.len().saturating_sub(1) {
        for &l in frames[t].intersection(frames[t + 1]) {
            out.insert(((t, l), (t + 1, l)), false);
        }
    }
    let by_label: HashMap<u16, &CtcTrack> = tracks.iter().map(|t| (t.label, t)).collect();
    for t in tracks {
        if let Some(p) = by_label.get(&t.parent) {
            out.insert(((p.end, p.label), (t.begin, t.label)), true);
        }
    }
    out
}

/// Tracks with more than one child, with their children (in label order).
fn divisions(tracks: &[CtcTrack]) -> BTreeMap<u16, Vec<&CtcTrack>> {
    let mut children: BTreeMap<u16, Vec<&CtcTrack>> = BTreeMap::new();
    let mut sorted: Vec<&CtcTrack> = tracks.iter().collect();
    sorted.sort_by_key(|t| t.label);
    for t in sorted {
        if t.parent != 0 {
            children.entry(t.parent).or_default().push(t);
        }
    }
    children.retain(|_, c| c.len() > 1);
    children
}

/// Scores one ROI's prediction against its ground truth.
///
/// # Errors
/// [`EvalError`] when the two differ in frames or shapes.
///
/// # Examples
/// A perfect prediction scores 1 everywhere:
/// ```
/// use deltacell_analysis::ctc::{CtcSequence, CtcTrack};
/// use deltacell_analysis::lineage_eval::evaluate;
/// use deltacell_data::image::Plane;
///
/// let m = |v: Vec<u16>| Plane::from_vec(1, 3, v).unwrap();
/// let seq = CtcSequence {
///     tracks: vec![CtcTrack { label: 1, begin: 0, end: 1, parent: 0 }],
///     masks: vec![m(vec![1, 1, 0]), m(vec![0, 1, 1])],
///     seg: vec![],
/// };
/// let s = evaluate(&seq, &seq, 0).unwrap().scores;
/// assert_eq!((s.det, s.seg, s.tra, s.lnk), (Some(1.0), 1.0, Some(1.0), Some(1.0)));
/// ```
pub fn evaluate(
    pred: &CtcSequence,
    truth: &CtcSequence,
    tolerance: usize,
) -> Result<RoiEvaluation, EvalError> {
    let n = truth.masks.len();
    if pred.masks.len() != n {
        return Err(EvalError::Frames {
            pred: pred.masks.len(),
            truth: n,
        });
    }
    for (frame, (p, r)) in pred.masks.iter().zip(&truth.masks).enumerate() {
        if p.shape() != r.shape() {
            return Err(EvalError::Shape {
                frame,
                pred: p.shape(),
                truth: r.shape(),
            });
        }
    }
    let matches: Vec<FrameMatch> = truth
        .masks
        .iter()
        .zip(&pred.masks)
        .map(|(r, p)| match_frame(r, p))
        .collect();
    let mut c = Counts::default();
    let mut errors = ErrorSites::default();

    // Vertices.
    for (t, m) in matches.iter().enumerate() {
        c.ref_vertices += m.ref_labels.len();
        for &r in &m.ref_labels {
            if !m.ref_to_pred.contains_key(&r) {
                c.fn_vertices += 1;
                errors.fn_vertices.push((t, r));
            }
        }
        for &p in &m.pred_labels {
            match m.pred_count.get(&p).copied().unwrap_or(0) {
                0 => {
                    c.fp_vertices += 1;
                    errors.fp_vertices.push((t, p));
                }
                1 => {}
                k => {
                    c.ns += k - 1;
                    errors.ns_vertices.push((t, p));
                }
            }
        }
    }

    // Edges.
    let ref_frames: Vec<&BTreeSet<u16>> = matches.iter().map(|m| &m.ref_labels).collect();
    let pred_frames: Vec<&BTreeSet<u16>> = matches.iter().map(|m| &m.pred_labels).collect();
    let ref_edges = edges(&truth.tracks, &ref_frames);
    let pred_edges = edges(&pred.tracks, &pred_frames);
    c.ref_edges = ref_edges.len();
    // Predicted vertex → the reference vertex it uniquely matches.
    let mut pred_to_ref: HashMap<Vertex, Vertex> = HashMap::new();
    for (t, m) in matches.iter().enumerate() {
        for (&r, &(p, _)) in &m.ref_to_pred {
            if m.pred_count.get(&p) == Some(&1) {
                pred_to_ref.insert((t, p), (t, r));
            }
        }
    }
    let mut hit: HashSet<Edge> = HashSet::new();
    for (&(u, v), &parent_link) in &pred_edges {
        let (Some(&ru), Some(&rv)) = (pred_to_ref.get(&u), pred_to_ref.get(&v)) else {
            continue;
        };
        match ref_edges.get(&(ru, rv)) {
            None => {
                c.ed += 1;
                errors.ed_edges.push((u, v));
            }
            Some(&ref_parent_link) => {
                hit.insert((ru, rv));
                if ref_parent_link != parent_link {
                    c.ec += 1;
                    errors.ec_edges.push((u, v));
                }
            }
        }
    }
    for e in ref_edges.keys() {
        if !hit.contains(e) {
            c.ea += 1;
            errors.ea_edges.push(*e);
        }
    }

    // SEG.
    let seg_frames: Vec<(usize, &Plane<u16>)> = if truth.seg.is_empty() {
        truth.masks.iter().enumerate().collect()
    } else {
        truth.seg.iter().map(|(t, m)| (*t, m)).collect()
    };
    for (t, r) in seg_frames {
        let p = pred.masks.get(t).ok_or(EvalError::SegFrame(t))?;
        if p.shape() != r.shape() {
            return Err(EvalError::Shape {
                frame: t,
                pred: p.shape(),
                truth: r.shape(),
            });
        }
        let m = if truth.seg.is_empty() {
            None
        } else {
            Some(match_frame(r, p))
        };
        let m = m.as_ref().unwrap_or(&matches[t]);
        c.seg_regions += m.ref_labels.len();
        c.seg_iou_sum += m.ref_to_pred.values().map(|&(_, iou)| iou).sum::<f64>();
    }

    // Complete tracks.
    let pred_by_label: HashMap<u16, &CtcTrack> = pred.tracks.iter().map(|t| (t.label, t)).collect();
    c.ref_tracks = truth.tracks.len();
    c.pred_tracks = pred.tracks.len();
    for rt in &truth.tracks {
        let mut assigned: BTreeSet<u16> = BTreeSet::new();
        for m in matches.iter().take(rt.end + 1).skip(rt.begin) {
            if m.ref_labels.contains(&rt.label) {
                assigned.insert(m.unique(rt.label).unwrap_or(0));
            }
        }
        let complete = match assigned.iter().collect::<Vec<_>>()[..] {
            [&p] if p != 0 => pred_by_label
                .get(&p)
                .is_some_and(|pt| pt.begin == rt.begin && pt.end == rt.end),
            _ => false,
        };
        if complete {
            c.complete_tracks += 1;
        }
    }

    // Divisions.
    let ref_div = divisions(&truth.tracks);
    let pred_div = divisions(&pred.tracks);
    let ref_tracks: HashMap<u16, &CtcTrack> = truth.tracks.iter().map(|t| (t.label, t)).collect();
    let mut matched_ref: BTreeSet<u16> = BTreeSet::new();
    let mut matched_pred: BTreeSet<u16> = BTreeSet::new();
    let mut tp = 0;
    for (&pl, pkids) in &pred_div {
        let Some(pt) = pred_by_label.get(&pl) else {
            continue;
        };
        for (&rl, rkids) in &ref_div {
            let Some(rt) = ref_tracks.get(&rl) else {
                continue;
            };
            if rt.end.abs_diff(pt.end) > tolerance || rkids.len() != pkids.len() {
                continue;
            }
            let last_common = rt.end.min(pt.end);
            if matches.get(last_common).and_then(|m| m.unique(rl)) != Some(pl) {
                continue;
            }
            let mut found: Vec<u16> = Vec::new();
            for rk in rkids {
                for pk in pkids {
                    if rk.begin.abs_diff(pk.begin) > tolerance {
                        continue;
                    }
                    let later = rk.begin.max(pk.begin);
                    if matches.get(later).and_then(|m| m.unique(rk.label)) == Some(pk.label) {
                        if !found.contains(&pk.label) {
                            found.push(pk.label);
                        }
                        break;
                    }
                }
            }
            if found.len() == rkids.len() {
                tp += 1;
                matched_ref.insert(rl);
                matched_pred.insert(pl);
            }
        }
    }
    c.division_tp = tp;
    c.division_fp = pred_div.len().saturating_sub(tp);
    c.division_fn = ref_div.len().saturating_sub(tp);
    for (&l, _) in ref_div.iter().filter(|(l, _)| !matched_ref.contains(l)) {
        errors
            .missed_divisions
            .push((ref_tracks.get(&l).map_or(0, |t| t.end), l));
    }
    for (&l, _) in pred_div.iter().filter(|(l, _)| !matched_pred.contains(l)) {
        errors
            .false_divisions
            .push((pred_by_label.get(&l).map_or(0, |t| t.end), l));
    }
    Ok(RoiEvaluation {
        scores: LineageScores::from_counts(c),
        errors,
    })
}

/// Scores of several ROIs and of all of them pooled (counts added before dividing).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct LineageEvaluation {
    /// The pooled scores.
    pub pooled: LineageScores,
    /// Each ROI's name and evaluation.
    pub per_roi: Vec<(String, RoiEvaluation)>,
}

/// Scores ROIs paired by position: `pred[i]` against `truth[i]`.
///
/// # Errors
/// [`EvalError`] of the first ROI that cannot be compared.
pub fn evaluate_rois(
    pred: &[(String, CtcSequence)],
    truth: &[(String, CtcSequence)],
    tolerance: usize,
) -> Result<LineageEvaluation, (String, EvalError)> {
    let mut total = Counts::default();
    let mut per_roi = Vec::with_capacity(truth.len());
    for ((_, p), (name, t)) in pred.iter().zip(truth) {
        let e = evaluate(p, t, tolerance).map_err(|e| (name.clone(), e))?;
        total += e.scores.counts;
        per_roi.push((name.clone(), e));
    }
    Ok(LineageEvaluation {
        pooled: LineageScores::from_counts(total),
        per_roi,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(v: Vec<u16>) -> Plane<u16> {
        Plane::from_vec(1, 4, v).unwrap()
    }
    fn t(label: u16, begin: usize, end: usize, parent: u16) -> CtcTrack {
        CtcTrack {
            label,
            begin,
            end,
            parent,
        }
    }

    /// One cell (1) in frames 0–1 dividing into 2 and 3 in frames 2–3.
    fn truth() -> CtcSequence {
        CtcSequence {
            tracks: vec![t(1, 0, 1, 0), t(2, 2, 3, 1), t(3, 2, 3, 1)],
            masks: vec![
                m(vec![1, 1, 0, 0]),
                m(vec![1, 1, 1, 0]),
                m(vec![2, 2, 3, 3]),
                m(vec![2, 2, 3, 3]),
            ],
            seg: vec![],
        }
    }

    #[test]
    fn a_perfect_prediction_scores_one() {
        let s = evaluate(&truth(), &truth(), 0).unwrap().scores;
        assert_eq!(s.det, Some(1.0));
        assert_eq!(s.tra, Some(1.0));
        assert_eq!(s.lnk, Some(1.0));
        assert_eq!(s.ct, Some(1.0));
        assert_eq!(s.division_f1, Some(1.0));
        assert_eq!(s.counts.ref_vertices, 6);
        assert_eq!(s.counts.ref_edges, 5);
    }

    #[test]
    fn a_missed_division_costs_edges_and_the_division() {
        // The cell is tracked as one track; the second daughter is a new track without parent.
        let pred = CtcSequence {
            tracks: vec![t(1, 0, 3, 0), t(5, 2, 3, 0)],
            masks: vec![
                m(vec![1, 1, 0, 0]),
                m(vec![1, 1, 1, 0]),
                m(vec![1, 1, 5, 5]),
                m(vec![1, 1, 5, 5]),
            ],
            seg: vec![],
        };
        let s = evaluate(&pred, &truth(), 0).unwrap().scores;
        // Predicted (1,1)→(2,1) maps onto the reference parent link 1→2 with the wrong kind.
        assert_eq!((s.counts.ed, s.counts.ea, s.counts.ec), (0, 1, 1));
        assert_eq!((s.counts.division_tp, s.counts.division_fn), (0, 1));
        assert_eq!(s.division_f1, Some(0.0));
        assert_eq!(s.division_precision, None);
        assert_eq!(s.det, Some(1.0));
    }

    #[test]
    fn a_merged_cell_is_a_split_operation() {
        let mut pred = truth();
        pred.tracks = vec![t(1, 0, 1, 0), t(2, 2, 3, 1)];
        pred.masks[2] = m(vec![2, 2, 2, 2]);
        pred.masks[3] = m(vec![2, 2, 2, 2]);
        let s = evaluate(&pred, &truth(), 0).unwrap().scores;
        assert_eq!(s.counts.ns, 2);
        assert!(s.det.unwrap() < 1.0);
    }
}
