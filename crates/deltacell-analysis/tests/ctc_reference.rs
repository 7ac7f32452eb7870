//! Lineage scores against the reference implementations: each case is written as CTC folders,
//! read back, scored by deltacell and (when `DELTACELL_CTC_PYTHON` names a python with
//! py-ctcmetrics and traccuracy, as `.ci/run` sets up) by `scripts/ctc/reference_scores.py`.
//! The figures must agree within 1e-6; every figure of the three is printed side by side.
//!
//! Without the python the deltacell figures are still checked against values worked out by hand.

use std::path::{Path, PathBuf};
use std::process::Command;

use deltacell_analysis::ctc::{self, CtcLayout, CtcSequence, TrackedRoi};
use deltacell_analysis::lineage_eval::{evaluate, LineageScores};
use deltacell_analysis::Lineage;
use deltacell_data::image::{Labels, Plane};

const H: usize = 16;
const W: usize = 6;
const FRAMES: usize = 6;

/// A cell's rows `[top, bottom)` in each frame, drawn as a full-width block.
type Blocks = Vec<(u32, usize, usize, usize)>; // (cell, frame, top, bottom)

fn roi(lineage: Lineage, blocks: &Blocks) -> TrackedRoi {
    let mut planes = vec![Plane::filled(H, W, 0u32); FRAMES];
    for &(cell, t, top, bottom) in blocks {
        for r in top..bottom {
            for c in 0..W {
                planes[t].set(r, c, cell);
            }
        }
    }
    TrackedRoi {
        lineage,
        labels: planes.into_iter().map(Labels::from_plane).collect(),
    }
}

/// The ground truth: cell 1 (rows 0–6) divides at frame 3 (1 keeps rows 0–3, daughter 2 rows
/// 4–7); founder 3 (rows 10–13) in every frame; founder 4 enters at frame 3 (rows 14–16).
fn truth_lineage() -> Lineage {
    let mut l = Lineage::default();
    let a = l.new_cell(0, None);
    l.extend(a, 5);
    let b = l.new_cell(3, Some(a));
    l.extend(b, 5);
    let c = l.new_cell(0, None);
    l.extend(c, 5);
    let d = l.new_cell(3, None);
    l.extend(d, 5);
    l
}

fn truth_blocks() -> Blocks {
    let mut b = Vec::new();
    for t in 0..FRAMES {
        if t < 3 {
            b.push((1, t, 0, 7));
        } else {
            b.push((1, t, 0, 4));
            b.push((2, t, 4, 8));
            b.push((4, t, 14, 16));
        }
        b.push((3, t, 10, 14));
    }
    b
}

struct Case {
    name: &'static str,
    pred: TrackedRoi,
    /// DET, SEG, TRA, LNK, division F1 worked out by hand.
    expected: [Option<f64>; 5],
}

fn cases() -> Vec<Case> {
    let truth = roi(truth_lineage(), &truth_blocks());
    let mut out = vec![Case {
        name: "perfect",
        pred: truth.clone(),
        expected: [Some(1.0), Some(1.0), Some(1.0), Some(1.0), Some(1.0)],
    }];

    // Missed division: the daughter is found but as a cell without mother.
    let mut l = Lineage::default();
    let a = l.new_cell(0, None);
    l.extend(a, 5);
    let b = l.new_cell(3, None);
    l.extend(b, 5);
    let c = l.new_cell(0, None);
    l.extend(c, 5);
    let d = l.new_cell(3, None);
    l.extend(d, 5);
    // The missing parent link costs EA = 1; the mother's continuation is a track link where
    // the truth has a parent link: EC = 1.
    out.push(Case {
        name: "missed division",
        pred: roi(l, &truth_blocks()),
        expected: [Some(1.0), Some(1.0), None, None, Some(0.0)],
    });

    // False division: the entering cell 4 is linked as a daughter of cell 3.
    let mut l = Lineage::default();
    let a = l.new_cell(0, None);
    l.extend(a, 5);
    let b = l.new_cell(3, Some(a));
    l.extend(b, 5);
    let c = l.new_cell(0, None);
    l.extend(c, 5);
    let d = l.new_cell(3, Some(c));
    l.extend(d, 5);
    out.push(Case {
        name: "false division",
        pred: roi(l, &truth_blocks()),
        expected: [Some(1.0), Some(1.0), None, None, Some(2.0 / 3.0)],
    });

    // Merged cell: mother and daughter segmented as one region (rows 0–8) from frame 3 on.
    let mut l = Lineage::default();
    let a = l.new_cell(0, None);
    l.extend(a, 5);
    let c = l.new_cell(0, None);
    l.extend(c, 5);
    let d = l.new_cell(3, None);
    l.extend(d, 5);
    let mut blocks: Blocks = Vec::new();
    for t in 0..FRAMES {
        blocks.push((1, t, 0, if t < 3 { 7 } else { 8 }));
        blocks.push((2, t, 10, 14));
        if t >= 3 {
            blocks.push((3, t, 14, 16));
        }
    }
    out.push(Case {
        name: "merged cell",
        pred: roi(l, &blocks),
        expected: [None, None, None, None, Some(0.0)],
    });

    // Split cell: cell 3 cut in two in frame 2, the lower half a one-frame cell.
    let mut l = truth_lineage();
    let x = l.new_cell(2, None);
    let _ = x;
    let mut blocks = truth_blocks();
    blocks.retain(|&(cell, t, ..)| !(cell == 3 && t == 2));
    blocks.push((3, 2, 10, 12));
    blocks.push((5, 2, 12, 14));
    out.push(Case {
        name: "split cell",
        pred: roi(l, &blocks),
        expected: [None, None, None, None, Some(1.0)],
    });

    // Gap: cell 3 missing from frame 2.
    let mut blocks = truth_blocks();
    blocks.retain(|&(cell, t, ..)| !(cell == 3 && t == 2));
    out.push(Case {
        name: "gap",
        pred: roi(truth_lineage(), &blocks),
        expected: [None, None, None, None, Some(1.0)],
    });
    out
}

fn write_pair(dir: &Path, pred: &CtcSequence, truth: &CtcSequence) -> (PathBuf, PathBuf) {
    let (p, t) = (dir.join("pred"), dir.join("truth"));
    ctc::write_ctc(&p, pred, CtcLayout::Result).unwrap();
    ctc::write_ctc(&t, truth, CtcLayout::Truth).unwrap();
    (p, t)
}

/// The reference figures, or the reason they are not available.
fn reference(pred: &Path, truth: &Path, tolerance: usize) -> Result<serde_json::Value, String> {
    let python = std::env::var_os("DELTACELL_CTC_PYTHON")
        .ok_or("DELTACELL_CTC_PYTHON is not set (see .ci/run)")?;
    if !Path::new(&python).exists() {
        return Err(format!("DELTACELL_CTC_PYTHON={python:?} does not exist"));
    }
    let script =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scripts/ctc/reference_scores.py");
    let out = Command::new(&python)
        .arg(&script)
        .arg("--pred")
        .arg(pred)
        .arg("--truth")
        .arg(truth)
        .arg("--division-tolerance")
        .arg(tolerance.to_string())
        .output()
        .map_err(|e| format!("running {python:?}: {e}"))?;
    assert!(
        out.status.success(),
        "reference_scores.py failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    Ok(serde_json::from_slice(&out.stdout).expect("reference_scores.py prints JSON"))
}

fn num(v: &serde_json::Value, package: &str, key: &str) -> Option<f64> {
    v.get(package)
        .and_then(|p| p.get(key))
        .and_then(serde_json::Value::as_f64)
}

fn fmt(x: Option<f64>) -> String {
    x.map_or_else(|| "—".into(), |v| format!("{v:.6}"))
}

/// Compares deltacell's figures with both packages' (within 1e-6) and prints them side by
/// side. Returns the figures that traccuracy does not give but deltacell does.
fn compare(
    name: &str,
    ours: &LineageScores,
    refs: &serde_json::Value,
) -> Vec<(String, &'static str)> {
    let figures: [(&str, Option<f64>, &str, &str); 8] = [
        ("DET", ours.det, "DET", "DET"),
        ("SEG", Some(ours.seg), "SEG", ""),
        ("TRA", ours.tra, "TRA", "TRA"),
        ("LNK", ours.lnk, "LNK", "LNK"),
        ("CT", ours.ct, "CT", ""),
        (
            "division_precision",
            ours.division_precision,
            "",
            "division_precision",
        ),
        (
            "division_recall",
            ours.division_recall,
            "",
            "division_recall",
        ),
        ("division_f1", ours.division_f1, "BC", "division_f1"),
    ];
    println!("case {name}:");
    println!(
        "  {:<20} {:>12} {:>14} {:>12}",
        "figure", "deltacell", "py-ctcmetrics", "traccuracy"
    );
    let mut differ = Vec::new();
    for (label, mine, py_key, tr_key) in figures {
        let py = (!py_key.is_empty())
            .then(|| num(refs, "py_ctcmetrics", py_key))
            .flatten();
        let tr = (!tr_key.is_empty())
            .then(|| num(refs, "traccuracy", tr_key))
            .flatten();
        println!(
            "  {label:<20} {:>12} {:>14} {:>12}",
            fmt(mine),
            fmt(py),
            fmt(tr)
        );
        if !py_key.is_empty() {
            match (mine, py) {
                (Some(a), Some(b)) => assert!(
                    (a - b).abs() < 1e-6,
                    "{name}: {label} deltacell {a} vs py-ctcmetrics {b}"
                ),
                (None, None) => {}
                // py-ctcmetrics has no "undefined" for these: 0/max(n, 1).
                (None, Some(_)) | (Some(_), None) => {
                    panic!("{name}: {label} deltacell {mine:?} vs py-ctcmetrics {py:?}")
                }
            }
        }
        if !tr_key.is_empty() {
            match (mine, tr) {
                (Some(a), Some(b)) => assert!(
                    (a - b).abs() < 1e-6,
                    "{name}: {label} deltacell {a} vs traccuracy {b}"
                ),
                (None, None) => {}
                // traccuracy gives no figure where deltacell (as py-ctcmetrics) gives one.
                (Some(_), None) => differ.push((name.to_string(), label)),
                (None, Some(b)) => panic!("{name}: {label} deltacell none vs traccuracy {b}"),
            }
        }
    }
    for key in ["py_ctcmetrics_errors", "traccuracy_errors"] {
        if let Some(e) = refs.get(key) {
            println!("  {key}: {e}");
        }
    }
    differ
}

/// Figures that traccuracy 0.4.3 does not give where deltacell and py-ctcmetrics do (see
/// docs/lineages.md): its division F1 is undefined when precision and recall are both 0 (no
/// true division; py-ctcmetrics' BC is 0 then), and its division metrics refuse a matching in which one predicted region
/// matches two reference regions (a merged cell).
const TRACCURACY_GIVES_NONE: &[(&str, &str)] = &[
    ("missed division", "division_f1"),
    ("merged cell", "division_recall"),
    ("merged cell", "division_f1"),
];

#[test]
fn the_cases_score_as_the_reference_implementations() {
    let truth = ctc::to_ctc(&roi(truth_lineage(), &truth_blocks())).unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let mut unavailable = None;
    let mut differ = Vec::new();
    for (k, case) in cases().into_iter().enumerate() {
        let pred = ctc::to_ctc(&case.pred).unwrap();
        let (p, t) = write_pair(&tmp.path().join(k.to_string()), &pred, &truth);
        let (_, pred_read) = ctc::read_ctc(&p).unwrap();
        let (_, truth_read) = ctc::read_ctc(&t).unwrap();
        let ours = evaluate(&pred_read, &truth_read, 0).unwrap().scores;
        let hand = [
            ours.det,
            Some(ours.seg),
            ours.tra,
            ours.lnk,
            ours.division_f1,
        ];
        for (i, (e, got)) in case.expected.iter().zip(hand).enumerate() {
            if let Some(e) = e {
                let got = got.unwrap_or(f64::NAN);
                assert!(
                    (e - got).abs() < 1e-12,
                    "{}: figure {i}: expected {e}, got {got}",
                    case.name
                );
            }
        }
        if case.name != "perfect" {
            assert!(ours.tra.unwrap() < 1.0, "{}: TRA {:?}", case.name, ours.tra);
        }
        match reference(&p, &t, 0) {
            Ok(refs) => differ.extend(compare(case.name, &ours, &refs)),
            Err(reason) => unavailable = Some(reason),
        }
    }
    if let Some(reason) = unavailable {
        println!("reference implementations not run: {reason}");
    }
    let unexpected: Vec<_> = differ
        .iter()
        .filter(|(case, figure)| !TRACCURACY_GIVES_NONE.contains(&(case.as_str(), *figure)))
        .collect();
    assert!(
        unexpected.is_empty(),
        "traccuracy gives no figure for {unexpected:?}"
    );
}

/// Drops the mother of the first daughter (a missed division) and removes the first founder
/// that lives three frames or more from one middle frame (a gap).
fn perturb(roi: &TrackedRoi) -> TrackedRoi {
    let mut cells: Vec<deltacell_analysis::Cell> = roi.lineage.cells().cloned().collect();
    let mut labels = roi.labels.clone();
    if let Some(d) = cells.iter().position(|c| c.mother.is_some()) {
        let (m, id, born) = (cells[d].mother.unwrap(), cells[d].id, cells[d].first_frame);
        cells[d].mother = None;
        let mother = cells.iter_mut().find(|c| c.id == m).unwrap();
        mother.divisions.retain(|&(f, x)| (f, x) != (born, id));
    }
    if let Some(c) = cells
        .iter()
        .find(|c| c.last_frame >= c.first_frame + 2 && c.divisions.is_empty())
    {
        let t = c.first_frame + 1;
        let id = c.id;
        let plane = labels[t].plane().map(|v| if v == id { 0 } else { v });
        labels[t] = Labels::from_plane(plane);
    }
    TrackedRoi {
        lineage: Lineage::from_cells(cells).unwrap(),
        labels,
    }
}

#[test]
fn synthetic_movies_round_trip_and_score_as_the_reference_implementations() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("synth");
    deltacell_data::synth::generate(
        deltacell_data::synth::SynthKind::Movie,
        1,
        3,
        &out,
        &|_, _| {},
    )
    .unwrap();
    assert_eq!(ctc::write_synth_truth(&out).unwrap(), 2);
    let mut unavailable = None;
    for kind in ["mm", "2d"] {
        let dir = out.join(kind).join("ctc").join("roi00");
        let (layout, seq) = ctc::read_ctc(&dir).unwrap();
        assert_eq!(layout, CtcLayout::Truth);
        // The movie's own table, through the CTC and back: the same cells, mothers, frames.
        let movie = ctc::read_synth_movie(&out.join(kind), 1).unwrap();
        let back = ctc::from_ctc(&seq).unwrap();
        assert_eq!(back.lineage.len(), movie.lineage.len());
        for (a, b) in back.lineage.cells().zip(movie.lineage.cells()) {
            assert_eq!(
                (
                    a.mother.is_some(),
                    a.first_frame,
                    a.last_frame,
                    a.divisions.len()
                ),
                (
                    b.mother.is_some(),
                    b.first_frame,
                    b.last_frame,
                    b.divisions.len()
                ),
                "{kind}: cell {} vs {}",
                a.id,
                b.id
            );
        }
        assert_eq!(ctc::to_ctc(&back).unwrap().tracks, seq.tracks, "{kind}");
        // Against itself: 1 everywhere.
        let own = evaluate(&seq, &seq, 0).unwrap().scores;
        assert_eq!(
            (own.det, own.tra, own.lnk),
            (Some(1.0), Some(1.0), Some(1.0)),
            "{kind}"
        );
        // Against a perturbed copy.
        let pred = ctc::to_ctc(&perturb(&back)).unwrap();
        let (p, t) = write_pair(&tmp.path().join(kind), &pred, &seq);
        let ours = evaluate(&ctc::read_ctc(&p).unwrap().1, &seq, 0)
            .unwrap()
            .scores;
        assert!(ours.tra.unwrap() < 1.0, "{kind}: {ours:?}");
        match reference(&p, &t, 0) {
            Ok(refs) => {
                let missing = compare(&format!("synthetic {kind}, perturbed"), &ours, &refs);
                // Without predicted divisions traccuracy's F1 is undefined (see above).
                assert!(
                    missing.iter().all(|(_, f)| *f == "division_f1"),
                    "{missing:?}"
                );
            }
            Err(reason) => unavailable = Some(reason),
        }
    }
    if let Some(reason) = unavailable {
        println!("reference implementations not run: {reason}");
    }
}

/// DeLTA's expected results of the shared mother-machine movie (position 1).
fn delta_results() -> Option<PathBuf> {
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join(
        "../../../shared/data/delta-3.0.0a6/movie_mothermachine_tif/expected_results/Position000001.nc",
    );
    p.is_file().then_some(p)
}

#[test]
fn delta_results_round_trip_and_score_as_the_reference_implementations() {
    let Some(path) = delta_results() else {
        println!("skipped: ../shared/data/delta-3.0.0a6/… (DeLTA's expected results) not found");
        return;
    };
    let rois = ctc::read_results_rois(&path).unwrap();
    assert!(!rois.is_empty());
    let tmp = tempfile::tempdir().unwrap();
    let (mut divisions, mut unavailable, mut compared) = (0, None, 0);
    let mut total_pred = Vec::new();
    let mut total_truth = Vec::new();
    for (name, roi) in &rois {
        // DeLTA → CTC → DeLTA keeps every cell, mother, division and frame.
        let seq = ctc::to_ctc(roi).unwrap();
        let back = ctc::from_ctc(&seq).unwrap();
        if roi
            .lineage
            .cells()
            .map(|c| c.id)
            .eq(1..=roi.lineage.len() as u32)
        {
            assert_eq!(back, *roi, "{name}");
        } else {
            assert_eq!(back.lineage.len(), roi.lineage.len(), "{name}");
            assert_eq!(ctc::to_ctc(&back).unwrap().tracks, seq.tracks, "{name}");
        }
        // Against itself.
        let own = evaluate(&seq, &seq, 0).unwrap().scores;
        assert_eq!(own.tra, Some(1.0), "{name}");
        let n_div: usize = roi.lineage.cells().map(|c| c.divisions.len()).sum();
        divisions += n_div;
        let pred = ctc::to_ctc(&perturb(roi)).unwrap();
        total_pred.push((name.clone(), pred.clone()));
        total_truth.push((name.clone(), seq.clone()));
        // The references on the first three ROIs with a division (each run takes seconds).
        if n_div == 0 || compared == 3 {
            continue;
        }
        compared += 1;
        let (p, t) = write_pair(&tmp.path().join(name), &pred, &seq);
        let ours = evaluate(&ctc::read_ctc(&p).unwrap().1, &seq, 0)
            .unwrap()
            .scores;
        assert!(ours.tra.unwrap() < 1.0, "{name}: {ours:?}");
        match reference(&p, &t, 0) {
            Ok(refs) => {
                let missing = compare(&format!("DeLTA position 1 {name}, perturbed"), &ours, &refs);
                assert!(
                    missing.iter().all(|(_, f)| *f == "division_f1"),
                    "{missing:?}"
                );
            }
            Err(reason) => unavailable = Some(reason),
        }
    }
    assert!(divisions > 0 && compared > 0);
    let pooled = deltacell_analysis::lineage_eval::evaluate_rois(&total_pred, &total_truth, 0)
        .unwrap()
        .pooled;
    println!(
        "DeLTA position 1, {} ROIs, {divisions} divisions, perturbed copy pooled: DET {} TRA {} LNK {} division F1 {}",
        rois.len(),
        fmt(pooled.det),
        fmt(pooled.tra),
        fmt(pooled.lnk),
        fmt(pooled.division_f1)
    );
    if let Some(reason) = unavailable {
        println!("reference implementations not run: {reason}");
    }
}

#[test]
fn a_late_division_matches_within_the_tolerance() {
    // The daughter is missed at frame 3 and found, as a daughter, from frame 4.
    let mut l = Lineage::default();
    let a = l.new_cell(0, None);
    l.extend(a, 5);
    let b = l.new_cell(4, Some(a));
    l.extend(b, 5);
    let c = l.new_cell(0, None);
    l.extend(c, 5);
    let d = l.new_cell(3, None);
    l.extend(d, 5);
    let mut blocks = truth_blocks();
    blocks.retain(|&(cell, t, ..)| !(cell == 2 && t == 3));
    let pred = ctc::to_ctc(&roi(l, &blocks)).unwrap();
    let truth = ctc::to_ctc(&roi(truth_lineage(), &truth_blocks())).unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let (p, t) = write_pair(tmp.path(), &pred, &truth);
    for (tolerance, f1) in [(0, 0.0), (1, 1.0)] {
        let ours = evaluate(&pred, &truth, tolerance).unwrap().scores;
        assert_eq!(ours.division_f1, Some(f1), "tolerance {tolerance}");
        match reference(&p, &t, tolerance) {
            Ok(refs) => {
                let missing = compare(
                    &format!("late division, tolerance {tolerance}"),
                    &ours,
                    &refs,
                );
                // traccuracy's F1 is undefined when precision and recall are both 0.
                assert!(
                    missing
                        .iter()
                        .all(|(_, f)| *f == "division_f1" && f1 == 0.0),
                    "{missing:?}"
                );
            }
            Err(reason) => println!("reference implementations not run: {reason}"),
        }
    }
}
