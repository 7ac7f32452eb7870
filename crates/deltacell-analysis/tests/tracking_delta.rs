//! The tracker against DeLTA 3's own results: each ROI of
//! `../shared/data/delta-3.0.0a6/*/expected_results/Position000001.nc` is tracked again from
//! its stored images and segmentations, with "perfect" tracking outputs made from DeLTA's own
//! answer (for each cell of the previous frame, logits of +10 on the current cells that are
//! that cell or its daughter born now, −10 elsewhere), and the lineage, labels and features
//! are compared with DeLTA's. Plus unit tests on tiny literal masks.

mod common;
use common::shared;

use std::collections::{BTreeMap, BTreeSet};

use deltacell_analysis::features;
use deltacell_analysis::lineage::{CellId, Lineage};
use deltacell_analysis::results::{CellFeatures, PositionResults, RoiResults};
use deltacell_analysis::tracking::{RoiTracker, TrackingInputs, TrackingParams};
use deltacell_data::postprocess::label_seg;
use deltacell_data::{Mask, Plane};

const MM: &str = "data/delta-3.0.0a6/movie_mothermachine_tif/expected_results/Position000001.nc";
const TWO_D: &str = "data/delta-3.0.0a6/movie_2D_tif/expected_results/Position000001.nc";

/// Logits that say "these current cells" for a sample: `+10` on the pixels of the current
/// cells (DeLTA's `label_seg` numbering of `seg`) listed in `cells`, `−10` elsewhere, in the
/// sample's box.
fn logits_for(
    small: &Plane<u32>,
    cells: &BTreeSet<u32>,
    b: &deltacell_data::tiles::CroppingBox,
) -> Plane<f32> {
    let (h, w) = small.shape();
    let (bh, bw) = b.shape();
    Plane::from_fn(bh, bw, |r, c| {
        let (y, x) = (r as i64 + b.ytl, c as i64 + b.xtl);
        let inside = y >= 0 && x >= 0 && (y as usize) < h && (x as usize) < w;
        if inside && cells.contains(&small.get(y as usize, x as usize)) {
            10.0
        } else {
            -10.0
        }
    })
}

/// The stored id of each current small cell (`label_seg(seg)` numbering): the majority of
/// the stored labels under its pixels, mapped by `scaling`.
fn small_cell_ids(roi: &RoiResults, f: usize, small: &Plane<u32>) -> BTreeMap<u32, CellId> {
    let (h, w) = roi.labels.plane_shape();
    let labels = roi.labels.frame(f);
    let [sy, sx] = roi.scaling;
    let mut votes: BTreeMap<u32, BTreeMap<u16, usize>> = BTreeMap::new();
    for r in 0..small.height() {
        for c in 0..small.width() {
            let k = small.get(r, c);
            if k == 0 {
                continue;
            }
            let y = ((r as f64 * sy).round_ties_even() as usize).min(h - 1);
            let x = ((c as f64 * sx).round_ties_even() as usize).min(w - 1);
            let l = labels[y * w + x];
            if l != 0 {
                *votes.entry(k).or_default().entry(l).or_default() += 1;
            }
        }
    }
    votes
        .into_iter()
        .filter_map(|(k, v)| {
            let best = v
                .into_iter()
                .max_by_key(|&(l, n)| (n, std::cmp::Reverse(l)))?;
            Some((k, CellId::from(best.0)))
        })
        .collect()
}

/// DeLTA's answer as tracking outputs for `inputs` (frame `f` of `roi`).
fn perfect_outputs(roi: &RoiResults, f: usize, inputs: &TrackingInputs) -> Vec<Plane<f32>> {
    if f == 0 {
        return Vec::new();
    }
    let (h, w) = roi.labels.plane_shape();
    let prev_labels = Plane::from_vec(h, w, roi.labels.frame(f - 1).to_vec()).unwrap();
    let prev_ids = deltacell_analysis::labels::cells_in_frame(&prev_labels);
    let small = label_seg(inputs.seg());
    let ids = small_cell_ids(roi, f, &small);
    inputs
        .boxes()
        .iter()
        .zip(&prev_ids)
        .map(|(b, &prev)| {
            let prev = CellId::from(prev);
            let cell = roi.lineage.cell(prev).unwrap();
            let mut wanted: BTreeSet<CellId> = cell
                .divisions
                .iter()
                .filter(|(df, _)| *df == f)
                .map(|&(_, d)| d)
                .collect();
            if cell.last_frame >= f {
                wanted.insert(prev);
            }
            let cells: BTreeSet<u32> = ids
                .iter()
                .filter(|(_, id)| wanted.contains(id))
                .map(|(&k, _)| k)
                .collect();
            logits_for(&small, &cells, b)
        })
        .collect()
}

struct Tracked {
    lineage: Lineage,
    features: BTreeMap<CellId, Vec<CellFeatures>>,
    labels: Vec<Plane<u16>>,
    lost: usize,
}

fn track_roi(roi: &RoiResults, params: TrackingParams) -> Tracked {
    track_roi_with(roi, params, |_, _| {})
}

/// [`track_roi`], showing each frame's inputs to `on_inputs(frame, inputs)`.
fn track_roi_with(
    roi: &RoiResults,
    params: TrackingParams,
    mut on_inputs: impl FnMut(usize, &TrackingInputs),
) -> Tracked {
    let (h, w) = roi.labels.plane_shape();
    let (sh, sw) = roi.seg.plane_shape();
    let mut tracker = RoiTracker::new(roi.roi_nb, (h, w), params);
    assert_eq!(tracker.scaling(), roi.scaling, "roi {}", roi.roi_nb);
    let mut labels = Vec::new();
    let mut lost = 0;
    for f in 0..roi.frames() {
        let img = Plane::from_vec(h, w, roi.img.frame(f).to_vec()).unwrap();
        let seg = Mask::from_vec(sh, sw, roi.seg.frame(f).to_vec()).unwrap();
        let inputs = tracker.inputs(&img, &seg).unwrap();
        on_inputs(f, &inputs);
        let logits = perfect_outputs(roi, f, &inputs);
        let fluo: Vec<Plane<f32>> = (0..roi.fluo_channels.len())
            .map(|c| Plane::from_vec(h, w, roi.fluo_plane(f, c).to_vec()).unwrap())
            .collect();
        // Odd ROIs give the outputs by chunks of 3 samples, even ones all at once.
        let out = if roi.roi_nb % 2 == 1 {
            let mut inputs = inputs;
            for (c, chunk) in logits.chunks(3).enumerate() {
                inputs.add_outputs(3 * c, chunk).unwrap();
            }
            tracker.apply_scored(&inputs, &fluo).unwrap()
        } else {
            tracker.apply(&inputs, &logits, &fluo).unwrap()
        };
        assert_eq!(
            out.seg.as_slice(),
            roi.seg.frame(f),
            "roi {} frame {f}",
            roi.roi_nb
        );
        lost += out.lost_cells;
        labels.push(out.labels);
    }
    let (lineage, features) = tracker.finish();
    Tracked {
        lineage,
        features,
        labels,
        lost,
    }
}

/// Differences between two sets of features.
#[derive(Debug, Default)]
struct FeatureDiffs {
    values: usize,
    poles: usize,
    length: usize,
    width: usize,
    area: usize,
    perimeter: usize,
    edges: usize,
    fluo: usize,
    growth_rates_length: usize,
    growth_rates_area: usize,
    worst_length_rel: f64,
    worst_width_rel: f64,
    worst_fluo_rel: f64,
}

fn rel(a: f64, b: f64) -> f64 {
    if a == b {
        0.0
    } else {
        (a - b).abs() / b.abs().max(1e-12)
    }
}

/// Compares `ours` with `theirs`; values stored in single precision (DeLTA's file) are compared
/// after rounding ours to `f32` when `f32ed`.
fn compare_features(
    ours: &BTreeMap<CellId, Vec<CellFeatures>>,
    theirs: &BTreeMap<CellId, Vec<CellFeatures>>,
    f32ed: bool,
    d: &mut FeatureDiffs,
) {
    let round = |v: f64| if f32ed { f64::from(v as f32) } else { v };
    // Growth rates: as DeLTA's file stores them (single precision, 1e-4 /frame), or exactly.
    let tolerance = if f32ed { 1e-4 } else { 0.0 };
    assert_eq!(
        ours.keys().collect::<Vec<_>>(),
        theirs.keys().collect::<Vec<_>>()
    );
    for (id, fs) in theirs {
        assert_eq!(ours[id].len(), fs.len(), "cell {id}");
        for (a, b) in ours[id].iter().zip(fs) {
            d.values += 1;
            d.poles += usize::from(a.new_pole != b.new_pole || a.old_pole != b.old_pole);
            let (l, wd) = (rel(round(a.length), b.length), rel(round(a.width), b.width));
            d.length += usize::from(l > 1e-6);
            d.width += usize::from(wd > 1e-6);
            d.worst_length_rel = d.worst_length_rel.max(l);
            d.worst_width_rel = d.worst_width_rel.max(wd);
            d.area += usize::from(round(a.area) != b.area);
            d.perimeter += usize::from(rel(round(a.perimeter), b.perimeter) > 1e-6);
            d.edges += usize::from(a.edges != b.edges);
            let differs = |x: f64, y: f64| {
                let same = (x.is_nan() && y.is_nan()) || (round(x) - y).abs() <= tolerance;
                usize::from(!same)
            };
            d.growth_rates_length += differs(a.growthrate_length, b.growthrate_length);
            d.growth_rates_area += differs(a.growthrate_area, b.growthrate_area);
            for (x, y) in a.fluo.iter().zip(&b.fluo) {
                let r = rel(round(*x), *y);
                d.worst_fluo_rel = d.worst_fluo_rel.max(r);
                d.fluo += usize::from(r > 1e-3);
            }
        }
    }
}

struct Report {
    rois: usize,
    lineages_equal: usize,
    label_pixels: usize,
    label_pixels_differing: usize,
    lost: usize,
    vs_file: FeatureDiffs,
    vs_recomputed: FeatureDiffs,
}

fn check_position(rel_path: &str, params: TrackingParams) -> Report {
    let position = PositionResults::read(shared(rel_path)).unwrap();
    let mut report = Report {
        rois: 0,
        lineages_equal: 0,
        label_pixels: 0,
        label_pixels_differing: 0,
        lost: 0,
        vs_file: FeatureDiffs::default(),
        vs_recomputed: FeatureDiffs::default(),
    };
    for roi in &position.rois {
        let t = track_roi(roi, params);
        report.rois += 1;
        report.lost += t.lost;
        if t.lineage == roi.lineage {
            report.lineages_equal += 1;
        } else {
            eprintln!(
                "roi {}: lineage differs\nours:\n{}DeLTA:\n{}",
                roi.roi_nb, t.lineage, roi.lineage
            );
        }
        for (f, labels) in t.labels.iter().enumerate() {
            let stored = roi.labels.frame(f);
            report.label_pixels += stored.len();
            let diff = labels
                .as_slice()
                .iter()
                .zip(stored)
                .filter(|(a, b)| a != b)
                .count();
            if diff > 0 {
                eprintln!("roi {} frame {f}: {diff} label pixels differ", roi.roi_nb);
            }
            report.label_pixels_differing += diff;
        }
        if t.lineage != roi.lineage {
            continue;
        }
        // Against the file, and against DeLTA 3.0.0a6's features of the stored labels.
        let mut ours = t.features.clone();
        features::growth_rates(&t.lineage, &mut ours, features::GROWTH_RATE_WINDOW);
        compare_features(&ours, &roi.features, true, &mut report.vs_file);
        let mut recomputed = roi.clone();
        features::recompute(&mut recomputed).unwrap();
        compare_features(
            &ours,
            &recomputed.features,
            false,
            &mut report.vs_recomputed,
        );
    }
    println!(
        "{rel_path}: {} ROIs, lineages equal {}, label pixels differing {} of {}, cells lost in resizing {}",
        report.rois, report.lineages_equal, report.label_pixels_differing, report.label_pixels, report.lost
    );
    println!("against the file: {:#?}", report.vs_file);
    println!(
        "against DeLTA 3.0.0a6's features of the stored labels: {:#?}",
        report.vs_recomputed
    );
    report
}

/// All 18 chambers of DeLTA's mother-machine results (resized tracking).
#[test]
fn mother_machine_tracking_equals_deltas() {
    let r = check_position(MM, TrackingParams::mother_machine());
    assert_eq!(r.rois, 18);
    assert_eq!(r.lineages_equal, 18);
    assert_eq!(r.label_pixels_differing, 0);
    assert_eq!(r.lost, 0);
    // Everything but the poles (and the length and width measured between them) as stored.
    let f = &r.vs_file;
    assert_eq!(f.values, 938);
    assert_eq!(
        (f.area, f.perimeter, f.edges, f.fluo, f.growth_rates_area),
        (0, 0, 0, 0, 0)
    );
    // Everything, poles included, as DeLTA 3.0.0a6 measures the stored labels.
    let g = &r.vs_recomputed;
    assert_eq!(g.values, 938);
    assert_eq!(
        (
            g.poles,
            g.length,
            g.width,
            g.area,
            g.perimeter,
            g.edges,
            g.fluo
        ),
        (0, 0, 0, 0, 0, 0, 0)
    );
    assert_eq!((g.growth_rates_length, g.growth_rates_area), (0, 0));
}

/// DeLTA's 2-D results (4 frames, cropped tracking).
#[test]
fn two_d_tracking_equals_deltas() {
    let r = check_position(TWO_D, TrackingParams::two_d());
    assert_eq!(r.rois, 1);
    assert_eq!(r.lineages_equal, 1);
    assert_eq!(r.label_pixels_differing, 0);
    let f = &r.vs_file;
    assert!(f.values > 0);
    assert_eq!(
        (
            f.poles,
            f.length,
            f.width,
            f.area,
            f.perimeter,
            f.edges,
            f.fluo
        ),
        (0, 0, 0, 0, 0, 0, 0)
    );
    assert_eq!((f.growth_rates_length, f.growth_rates_area), (0, 0));
}

// ---------------------------------------------------------------------------------------------
// Tiny literal cases (cropped tracking: the crop boxes are the ROI's size, centred on each
// previous cell).

use deltacell_analysis::tracking::{ModelFit, TrackedFrame};
use deltacell_analysis::Error;

/// A mask from rows of `.` (background) and `#` (cell).
fn mask(rows: &[&str]) -> Mask {
    let w = rows[0].len();
    Mask::from_fn(rows.len(), w, |r, c| rows[r].as_bytes()[c] == b'#')
}

/// A segmentation model of the ROI's own size (scaling 1) and a tracking model of twice its
/// size that does not resize (factor 0.5): cropped tracking, in boxes that cover the ROI
/// wherever the previous cell is.
fn cropped(shape: (usize, usize)) -> TrackingParams {
    TrackingParams {
        seg: ModelFit {
            target_size: shape,
            tolerable_resizing_factor: 1.0,
        },
        track: ModelFit {
            target_size: (2 * shape.0, 2 * shape.1),
            tolerable_resizing_factor: 0.5,
        },
    }
}

/// Tracks one frame whose previous cell `k` (in the order of the samples) claims the current
/// cells containing the points `claims[k]` (`(row, col)`).
fn step(tracker: &mut RoiTracker, seg: &Mask, claims: &[&[(usize, usize)]]) -> TrackedFrame {
    let (h, w) = seg.shape();
    let img = Plane::filled(h, w, 0.5f32);
    let inputs = tracker.inputs(&img, seg).unwrap();
    assert_eq!(inputs.len(), claims.len());
    let small = label_seg(seg);
    let logits: Vec<Plane<f32>> = claims
        .iter()
        .zip(inputs.boxes())
        .map(|(points, b)| {
            let cells: BTreeSet<u32> = points.iter().map(|&(r, c)| small.get(r, c)).collect();
            logits_for(&small, &cells, b)
        })
        .collect();
    tracker.apply(&inputs, &logits, &[]).unwrap()
}

fn count(labels: &Plane<u16>, id: u16) -> usize {
    labels.as_slice().iter().filter(|&&l| l == id).count()
}

const ROD: [&str; 12] = [
    "........", "..###...", "..###...", "..###...", "..###...", "..###...", "..###...", "..###...",
    "..###...", "..###...", "........", "........",
];

#[test]
fn one_cell_is_tracked_and_keeps_its_old_pole() {
    let mut t = RoiTracker::new(0, (12, 8), cropped((12, 8)));
    assert!(!t.resized());
    let first = step(&mut t, &mask(&ROD), &[]);
    assert_eq!(count(&first.labels, 1), 27);
    // The rod slides one row down.
    let mut moved = ROD.to_vec();
    moved.rotate_right(1);
    let second = step(&mut t, &mask(&moved), &[&[(5, 3)]]);
    assert_eq!(count(&second.labels, 1), 27);
    assert_eq!(second.labels.get(1, 3), 0);
    let (lineage, features) = t.finish();
    assert_eq!(lineage.len(), 1);
    let cell = lineage.cell(1).unwrap();
    assert_eq!(
        (cell.first_frame, cell.last_frame, cell.mother),
        (0, 1, None)
    );
    let f = &features[&1];
    // A new cell's old pole is its upper one (DeLTA swaps when old[0] >= new[0]), and it
    // stays the upper one.
    assert!(f[0].old_pole[0] < f[0].new_pole[0], "{:?}", f[0]);
    assert!(f[1].old_pole[0] < f[1].new_pole[0], "{:?}", f[1]);
    assert_eq!(f[1].old_pole[0], f[0].old_pole[0] + 1);
    assert_eq!(f[0].area, f[1].area);
}

#[test]
fn at_a_division_the_cell_with_the_old_pole_is_the_mother() {
    let mut t = RoiTracker::new(0, (12, 8), cropped((12, 8)));
    step(&mut t, &mask(&ROD), &[]);
    let halves = [
        "........", "..###...", "..###...", "..###...", "..###...", "........", "..###...",
        "..###...", "..###...", "..###...", "........", "........",
    ];
    let out = step(&mut t, &mask(&halves), &[&[(2, 3), (8, 3)]]);
    let (lineage, features) = t.finish();
    assert_eq!(lineage.len(), 2);
    lineage.validate().unwrap();
    let d = lineage.cell(2).unwrap();
    assert_eq!((d.mother, d.first_frame), (Some(1), 1));
    assert_eq!(lineage.cell(1).unwrap().divisions, vec![(1, 2)]);
    // The mother keeps the upper half, where the old pole was.
    assert_eq!(out.labels.get(2, 3), 1);
    assert_eq!(out.labels.get(8, 3), 2);
    let (m, dd) = (&features[&1][1], &features[&2][0]);
    assert!(m.old_pole[0] <= 2 && m.new_pole[0] >= 3, "{m:?}");
    // The new poles face each other across the septum.
    assert!(dd.new_pole[0] <= 7 && dd.old_pole[0] >= 8, "{dd:?}");
}

#[test]
fn a_cell_that_no_previous_cell_claims_is_a_new_cell_with_its_old_pole_up() {
    let mut t = RoiTracker::new(0, (12, 8), cropped((12, 8)));
    let top = [
        "........", "..###...", "..###...", "..###...", "..###...", "........", "........",
        "........", "........", "........", "........", "........",
    ];
    step(&mut t, &mask(&top), &[]);
    let two = [
        "........", "..###...", "..###...", "..###...", "..###...", "........", "...###..",
        "...###..", "...###..", "...###..", "...###..", "........",
    ];
    let out = step(&mut t, &mask(&two), &[&[(2, 3)]]);
    assert_eq!(out.labels.get(2, 3), 1);
    assert_eq!(out.labels.get(8, 4), 2);
    let (lineage, features) = t.finish();
    let c = lineage.cell(2).unwrap();
    assert_eq!((c.mother, c.first_frame, c.last_frame), (None, 1, 1));
    let f = &features[&2][0];
    assert!(f.old_pole[0] < f.new_pole[0], "{f:?}");
}

#[test]
fn a_cell_that_claims_nothing_ends() {
    let mut t = RoiTracker::new(0, (12, 8), cropped((12, 8)));
    let two = [
        "........", "..###...", "..###...", "..###...", "..###...", "........", "...###..",
        "...###..", "...###..", "...###..", "...###..", "........",
    ];
    step(&mut t, &mask(&two), &[]);
    let top = [
        "........", "..###...", "..###...", "..###...", "..###...", "........", "........",
        "........", "........", "........", "........", "........",
    ];
    // Sample order: the previous frame's cells by first pixel (cell 1, then cell 2).
    let out = step(&mut t, &mask(&top), &[&[(2, 3)], &[]]);
    assert_eq!(count(&out.labels, 2), 0);
    let (lineage, _) = t.finish();
    assert_eq!(lineage.cell(1).unwrap().last_frame, 1);
    assert_eq!(lineage.cell(2).unwrap().last_frame, 0);
}

#[test]
fn two_previous_cells_claiming_one_cell_it_goes_to_the_best_score() {
    let two = [
        "........", "..###...", "..###...", "..###...", "..###...", "........", "...###..",
        "...###..", "...###..", "...###..", "...###..", "........",
    ];
    // Both previous cells claim the one current cell fully: a tie goes to the first sample.
    let mut t = RoiTracker::new(0, (12, 8), cropped((12, 8)));
    step(&mut t, &mask(&two), &[]);
    let out = step(&mut t, &mask(&ROD), &[&[(5, 3)], &[(5, 3)]]);
    assert_eq!(count(&out.labels, 1), 27);
    let (lineage, _) = t.finish();
    assert_eq!(lineage.cell(2).unwrap().last_frame, 0);

    // Cell 2 claims it fully, cell 1 only its upper half (a score of 12/27 ≥ 0.2): cell 2 wins.
    let mut t = RoiTracker::new(0, (12, 8), cropped((12, 8)));
    step(&mut t, &mask(&two), &[]);
    let seg = mask(&ROD);
    let img = Plane::filled(12, 8, 0.5f32);
    let inputs = t.inputs(&img, &seg).unwrap();
    let half: BTreeSet<u32> = BTreeSet::from([1]);
    let small = label_seg(&seg);
    let upper = small.map(|l| if l == 1 { 1 } else { 0 });
    let upper = Plane::from_fn(12, 8, |r, c| if r <= 4 { upper.get(r, c) } else { 0 });
    let logits = vec![
        logits_for(&upper, &half, &inputs.boxes()[0]),
        logits_for(&small, &half, &inputs.boxes()[1]),
    ];
    let out = t.apply(&inputs, &logits, &[]).unwrap();
    assert_eq!(count(&out.labels, 2), 27);
    let (lineage, _) = t.finish();
    assert_eq!(lineage.cell(1).unwrap().last_frame, 0);
    assert_eq!(lineage.cell(2).unwrap().last_frame, 1);
}

#[test]
fn an_empty_frame_ends_every_cell_and_the_next_cells_are_new() {
    let mut t = RoiTracker::new(0, (12, 8), cropped((12, 8)));
    step(&mut t, &mask(&ROD), &[]);
    let empty = Mask::from_fn(12, 8, |_, _| false);
    let out = step(&mut t, &empty, &[&[]]);
    assert!(out.labels.as_slice().iter().all(|&l| l == 0));
    // No cell in the previous frame: no sample.
    let out = step(&mut t, &mask(&ROD), &[]);
    assert_eq!(count(&out.labels, 2), 27);
    let (lineage, features) = t.finish();
    assert_eq!(lineage.cell(1).unwrap().last_frame, 0);
    let c = lineage.cell(2).unwrap();
    assert_eq!((c.mother, c.first_frame), (None, 2));
    assert_eq!(features[&1].len(), 1);
}

#[test]
fn bad_inputs_are_typed_errors_and_change_nothing() {
    let mut t = RoiTracker::new(3, (12, 8), cropped((12, 8)));
    let seg = mask(&ROD);
    let img = Plane::filled(12, 8, 0.5f32);
    assert!(matches!(
        t.inputs(&Plane::filled(12, 9, 0.5f32), &seg),
        Err(Error::TrackingShape {
            roi: 3,
            frame: 0,
            expected: (12, 8),
            found: (12, 9),
            ..
        })
    ));
    assert!(matches!(
        t.inputs(&img, &Mask::from_fn(11, 8, |_, _| false)),
        Err(Error::TrackingShape { .. })
    ));
    let first = t.inputs(&img, &seg).unwrap();
    t.apply(&first, &[], &[Plane::filled(12, 8, 0.0)]).unwrap();
    let inputs = t.inputs(&img, &seg).unwrap();
    // One sample, no output.
    assert!(matches!(
        t.apply(&inputs, &[], &[Plane::filled(12, 8, 0.0)]),
        Err(Error::TrackingCount {
            expected: 1,
            found: 0,
            ..
        })
    ));
    // An output of the wrong size.
    assert!(matches!(
        t.apply(
            &inputs,
            &[Plane::filled(6, 8, 0.0)],
            &[Plane::filled(12, 8, 0.0)]
        ),
        Err(Error::TrackingShape { .. })
    ));
    let good = vec![Plane::filled(24, 16, 5.0f32)];
    // Another number of fluorescence channels than at the first frame.
    assert!(matches!(
        t.apply(&inputs, &good, &[]),
        Err(Error::TrackingCount { .. })
    ));
    // A fluorescence plane of the wrong size.
    assert!(matches!(
        t.apply(&inputs, &good, &[Plane::filled(1, 1, 0.0)]),
        Err(Error::TrackingShape { .. })
    ));
    // Inputs of a frame already tracked.
    assert!(matches!(
        t.apply(&first, &[], &[Plane::filled(12, 8, 0.0)]),
        Err(Error::TrackingCount { .. })
    ));
    // Samples past the end; outputs past the end; a sample without output.
    assert!(matches!(
        inputs.batch(0..2),
        Err(Error::TrackingCount { .. })
    ));
    let mut chunked = inputs.clone();
    assert!(matches!(
        chunked.add_outputs(1, &good),
        Err(Error::TrackingCount { .. })
    ));
    assert!(matches!(
        t.apply_scored(&chunked, &[Plane::filled(12, 8, 0.0)]),
        Err(Error::TrackingCount {
            expected: 1,
            found: 0,
            ..
        })
    ));
    assert_eq!(inputs.batch(0..1).unwrap().x.len(), 24 * 16 * 4);
    assert_eq!(t.frame(), 1);
    t.apply(&inputs, &good, &[Plane::filled(12, 8, 0.0)])
        .unwrap();
    assert_eq!(t.lineage().cell(1).unwrap().last_frame, 1);
}

/// Resized tracking: a thin cell just under another one is covered by it when the labels are
/// brought back to a chamber of 2 rows; DeLTA drops it from the segmentation.
#[test]
fn a_cell_lost_in_resizing_is_removed() {
    let fit = ModelFit {
        target_size: (16, 16),
        tolerable_resizing_factor: 1.0,
    };
    let params = TrackingParams {
        seg: fit,
        track: fit,
    };
    let mut t = RoiTracker::new(0, (2, 8), params);
    assert!(t.resized());
    assert_eq!(t.seg_shape(), (16, 16));
    let mut rows = vec!["................"; 16];
    for r in rows.iter_mut().take(3) {
        *r = "########........";
    }
    rows[4] = "########........";
    let seg = mask(&rows);
    let img = Plane::filled(2, 8, 0.5f32);
    let inputs = t.inputs(&img, &seg).unwrap();
    let out = t.apply(&inputs, &[], &[]).unwrap();
    assert_eq!(out.lost_cells, 1);
    assert_eq!(out.seg.count(), 24);
    assert_eq!(t.lineage().len(), 1);
    assert!(out.labels.as_slice().iter().all(|&l| l <= 1));
    assert!(count(&out.labels, 1) > 0);
}

// ---------------------------------------------------------------------------------------------
// OpenCV's drawing and DeLTA's resize_labels and centroid, against DeLTA 3.0.0a6 itself
// (OpenCV 5.1), on random shapes; needs DELTACELL_DELTA3_PYTHON (a Python with
// delta-microscopy 3.0.0a6), skipped without it.

use deltacell_analysis::labels::{external_contours, fill_contour, resize_labels};
use deltacell_analysis::tracking::centroid;

/// A small deterministic generator (64-bit LCG, high bits).
struct Lcg(u64);

impl Lcg {
    fn below(&mut self, n: u64) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (self.0 >> 33) % n
    }
}

/// Random cells: a few rectangles with ragged borders, labelled by DeLTA's `label_seg`.
fn random_labels(rng: &mut Lcg, h: usize, w: usize) -> Plane<u16> {
    let mut m = Mask::from_fn(h, w, |_, _| false);
    for _ in 0..1 + rng.below(5) {
        let (r0, c0) = (rng.below(h as u64) as usize, rng.below(w as u64) as usize);
        let (rh, cw) = (1 + rng.below(12) as usize, 1 + rng.below(6) as usize);
        for r in r0..(r0 + rh).min(h) {
            for c in c0..(c0 + cw).min(w) {
                if rng.below(7) != 0 {
                    m.row_mut(r)[c] = 1;
                }
            }
        }
    }
    label_seg(&m).map(|l| l as u16)
}

#[test]
fn fill_polygon_resize_labels_and_centroid_equal_delta3s() {
    let Some(py) = common::delta3_python() else {
        return;
    };
    const SCRIPT: &str = r#"
import sys, numpy as np, cv2
from delta import imgops
out = []
for line in sys.stdin:
    v = line.split()
    kind, nums = v[0], [int(x) for x in v[1:]]
    if kind == "P":
        h, w = nums[0], nums[1]
        pts = np.array(nums[2:], dtype=np.int32).reshape(-1, 1, 2)
        img = np.zeros((h, w), np.uint16)
        cv2.drawContours(img, [pts], 0, 1, thickness=cv2.FILLED)
        out.append(" ".join(map(str, img.ravel())))
    elif kind == "R":
        h, w, H, W = nums[:4]
        labels = np.array(nums[4:], dtype=np.uint16).reshape(h, w)
        r = imgops.resize_labels(labels, (H, W))
        out.append(" ".join(map(str, r.ravel())))
    else:
        pts = np.array(nums, dtype=np.int32).reshape(-1, 1, 2)
        out.append(" ".join(map(str, imgops.centroid(pts))))
print("\n".join(out))
"#;
    let mut rng = Lcg(2026);
    let mut requests = String::new();
    let mut expected_shapes = Vec::new();
    let mut local: Vec<Vec<i64>> = Vec::new();
    // Polygons, some with vertices off the plane's edge rows and columns (not outside).
    for _ in 0..400 {
        let (h, w) = (4 + rng.below(30) as usize, 4 + rng.below(30) as usize);
        let n = 1 + rng.below(12) as usize;
        let pts: Vec<[i32; 2]> = (0..n)
            .map(|_| [rng.below(w as u64) as i32, rng.below(h as u64) as i32])
            .collect();
        let mut p = Plane::filled(h, w, 0u16);
        fill_contour(&mut p, &pts, (0, 0), 1);
        local.push(p.as_slice().iter().map(|&v| i64::from(v)).collect());
        expected_shapes.push(format!("polygon {pts:?} in {h}×{w}"));
        requests.push_str(&format!("P {h} {w}"));
        for q in &pts {
            requests.push_str(&format!(" {} {}", q[0], q[1]));
        }
        requests.push('\n');
    }
    // Label images resized up and down.
    for _ in 0..300 {
        let (h, w) = (6 + rng.below(40) as usize, 4 + rng.below(24) as usize);
        let (nh, nw) = (2 + rng.below(60) as usize, 2 + rng.below(40) as usize);
        let labels = random_labels(&mut rng, h, w);
        let r = resize_labels(&labels, (nh, nw));
        local.push(r.as_slice().iter().map(|&v| i64::from(v)).collect());
        expected_shapes.push(format!("labels {h}×{w} → {nh}×{nw}: {labels:?}"));
        requests.push_str(&format!("R {h} {w} {nh} {nw}"));
        for &l in labels.as_slice() {
            requests.push_str(&format!(" {l}"));
        }
        requests.push('\n');
        // And the centroid of each of its cells' contours.
        let mask: Vec<u8> = labels
            .as_slice()
            .iter()
            .map(|&l| u8::from(l != 0))
            .collect();
        for c in external_contours(&mask, h, w) {
            let (cx, cy) = centroid(&c);
            local.push(vec![cx, cy]);
            expected_shapes.push(format!("centroid of {c:?}"));
            requests.push('C');
            for q in &c {
                requests.push_str(&format!(" {} {}", q[0], q[1]));
            }
            requests.push('\n');
        }
    }
    let mut child = std::process::Command::new(py)
        .args(["-c", SCRIPT])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    {
        use std::io::Write;
        let mut stdin = child.stdin.take().unwrap();
        stdin.write_all(requests.as_bytes()).unwrap();
    }
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout);
    let theirs: Vec<Vec<i64>> = text
        .lines()
        .map(|l| l.split_whitespace().map(|x| x.parse().unwrap()).collect())
        .collect();
    assert_eq!(theirs.len(), local.len());
    let mut differing = 0;
    for ((a, b), what) in local.iter().zip(&theirs).zip(&expected_shapes) {
        if a != b {
            differing += 1;
            eprintln!("differs: {what}\nours:   {a:?}\nDeLTA's: {b:?}");
        }
    }
    println!(
        "{} polygons, label resizings and centroids: {differing} differ",
        local.len()
    );
    assert_eq!(differing, 0);
}

/// The tracking model's inputs (`get_tracking_inputs`: samples, channel order, crop boxes)
/// against DeLTA 3.0.0a6's own, on its stored results: the first 4 chambers of the
/// mother-machine position (resized) and the 2-D position (cropped). Needs
/// DELTACELL_DELTA3_PYTHON; skipped without it.
#[test]
fn tracking_inputs_equal_delta3s() {
    let Some(py) = common::delta3_python() else {
        return;
    };
    const SCRIPT: &str = r#"
import sys, numpy as np, netCDF4
from delta.pipeline import ROI
p, out, nmax = sys.argv[1], sys.argv[2], int(sys.argv[3])
with netCDF4.Dataset(p) as d:
    groups = sorted(d.groups)[:nmax]
with open(out, "wb") as fh:
    for g in groups:
        roi = ROI.load_netcdf(p, group=g)
        for f in range(len(roi.seg_stack)):
            x, boxes = roi.get_tracking_inputs(frame=roi.first_frame + f)
            coords = [v for b in boxes for v in (b.ytl, b.xtl, b.ybr, b.xbr)]
            print(int(g[3:]), f, x.shape[0], *coords)
            fh.write(np.ascontiguousarray(x, dtype="<f4").tobytes())
"#;
    let dir = tempfile::tempdir().unwrap();
    for (rel_path, params, rois) in [
        (MM, TrackingParams::mother_machine(), 4),
        (TWO_D, TrackingParams::two_d(), 1),
    ] {
        let bin = dir.path().join("inputs.f32");
        let rois_arg = rois.to_string();
        let stdout = common::run_python(
            &py,
            SCRIPT,
            &[
                shared(rel_path).as_os_str(),
                bin.as_os_str(),
                rois_arg.as_ref(),
            ],
        );
        let bytes = std::fs::read(&bin).unwrap();
        let theirs: Vec<f32> = bytes
            .chunks_exact(4)
            .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
            .collect();
        let headers = stdout
            .lines()
            .filter(|l| l.chars().next().is_some_and(|c| c.is_ascii_digit()))
            .collect::<Vec<_>>()
            .join("\n");
        let mut headers = headers.lines();
        let position = PositionResults::read(shared(rel_path)).unwrap();
        let (mut at, mut samples, mut worst_image, mut masks_differing) = (0usize, 0, 0f32, 0);
        for roi in position.rois.iter().take(rois) {
            track_roi_with(roi, params, |f, inputs| {
                let h: Vec<i64> = headers
                    .next()
                    .unwrap()
                    .split_whitespace()
                    .map(|v| v.parse().unwrap())
                    .collect();
                assert_eq!((h[0], h[1]), (i64::from(roi.roi_nb), f as i64));
                let b = inputs.all();
                assert_eq!(h[2] as usize, b.n, "roi {} frame {f}", roi.roi_nb);
                for (k, bx) in inputs.boxes().iter().enumerate() {
                    assert_eq!(&h[3 + 4 * k..7 + 4 * k], &[bx.ytl, bx.xtl, bx.ybr, bx.xbr]);
                }
                let theirs = &theirs[at..at + b.x.len()];
                at += b.x.len();
                samples += b.n;
                for (i, (&a, &t)) in b.x.iter().zip(theirs).enumerate() {
                    if i % 4 == 1 || i % 4 == 3 {
                        masks_differing += usize::from(a != t);
                    } else {
                        worst_image = worst_image.max((a - t).abs());
                    }
                }
            });
        }
        assert_eq!(at, theirs.len());
        println!(
            "{rel_path}: {samples} samples; seed and segmentation channels: {masks_differing} \
             pixels differ; image channels: largest difference {worst_image:e}"
        );
        assert!(samples > 0);
        assert_eq!(masks_differing, 0);
        assert!(worst_image <= 1e-6, "{worst_image}");
    }
}
