//! The tracker against DeLTA 3's own results: each ROI of
//! `../shared/data/delta-3.0.0a6/*/expected_results/Position000001.nc` is tracked again from
//! its stored images and segmentations, with "perfect" tracking outputs made from DeLTA's own
//! answer (for each cell of the previous frame, logits of +10 on the current cells that are
//! that cell or its daughter born now, −10 elsewhere), and the lineage, labels and features
//! are compared with DeLTA's. Plus unit tests on tiny literal masks.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use deltacell_analysis::features;
use deltacell_analysis::lineage::{CellId, Lineage};
use deltacell_analysis::results::{CellFeatures, PositionResults, RoiResults};
use deltacell_analysis::tracking::{RoiTracker, TrackingInputs, TrackingParams};
use deltacell_data::postprocess::label_seg;
use deltacell_data::{Mask, Plane};

fn shared(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .join("../shared")
        .join(rel)
}

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
        let logits = perfect_outputs(roi, f, &inputs);
        let fluo: Vec<Plane<f32>> = (0..roi.fluo_channels.len())
            .map(|c| Plane::from_vec(h, w, roi.fluo_plane(f, c).to_vec()).unwrap())
            .collect();
        let out = tracker.apply(&inputs, &logits, &fluo).unwrap();
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
        compare_features(&t.features, &roi.features, true, &mut report.vs_file);
        let mut recomputed = roi.clone();
        features::recompute(&mut recomputed).unwrap();
        let mut ours = t.features.clone();
        features::growth_rates(&t.lineage, &mut ours, features::GROWTH_RATE_WINDOW);
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
    assert_eq!((f.area, f.perimeter, f.edges, f.fluo), (0, 0, 0, 0));
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
}
