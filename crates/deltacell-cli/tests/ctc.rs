//! `deltacell export-ctc`, `import-ctc` and `eval lineage` end to end on a synthetic movie's
//! ground truth (written by `synth --kind movie`), and their refusal of bad CTC folders.

use std::path::Path;
use std::process::{Command, Output};

fn deltacell(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_deltacell"))
        .args(args)
        .output()
        .expect("run deltacell")
}

fn ok(o: &Output) -> String {
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

fn eval_json(pred: &Path, truth: &Path) -> serde_json::Value {
    let out = ok(&deltacell(&[
        "eval",
        "lineage",
        "--pred",
        s(pred),
        "--truth",
        s(truth),
        "--json",
    ]));
    serde_json::from_str(&out).unwrap()
}

/// Copies a folder tree.
fn copy(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let p = e.unwrap().path();
        let t = to.join(p.file_name().unwrap());
        if p.is_dir() {
            copy(&p, &t);
        } else {
            std::fs::copy(&p, &t).unwrap();
        }
    }
}

#[test]
fn synthetic_truth_exports_imports_and_scores_one_against_itself() {
    let tmp = tempfile::tempdir().unwrap();
    let synth = tmp.path().join("synth");
    ok(&deltacell(&[
        "synth",
        "--kind",
        "movie",
        "--n",
        "2",
        "--seed",
        "5",
        "--out",
        s(&synth),
        "--quiet",
    ]));
    let truth = synth.join("mm/ctc");
    for roi in ["roi00", "roi01"] {
        assert!(truth.join(roi).join("TRA/man_track.txt").is_file());
        assert!(truth.join(roi).join("SEG/man_seg000.tif").is_file());
    }
    assert!(synth.join("2d/ctc/roi00/TRA/man_track000.tif").is_file());

    // Ground truth against itself.
    let v = eval_json(&truth, &truth);
    for key in ["DET", "SEG", "TRA", "LNK"] {
        assert_eq!(v[key], 1.0, "{key}: {v}");
    }
    assert_eq!(v["per_roi"].as_array().unwrap().len(), 2);
    for key in ["division_precision", "division_recall", "division_f1"] {
        assert!(v.get(key).is_some(), "{key} missing: {v}");
    }

    // As a result folder, then scored against the ground truth: still perfect.
    let res = tmp.path().join("res");
    ok(&deltacell(&["export-ctc", s(&truth), "--out", s(&res)]));
    assert!(res.join("roi00/res_track.txt").is_file() && res.join("roi01/mask007.tif").is_file());
    let v = eval_json(&res, &truth);
    assert_eq!(v["TRA"], 1.0, "{v}");

    // Into deltacell's lineages.
    let imp = tmp.path().join("imp");
    let out = ok(&deltacell(&["import-ctc", s(&res), "--out", s(&imp)]));
    assert!(out.contains("2 ROI(s)"), "{out}");
    let lineage = std::fs::read_to_string(imp.join("roi00/lineage.txt")).unwrap();
    assert!(lineage.lines().count() > 1, "{lineage}");
    assert!(imp.join("roi00/labels/labels007.tif").is_file());

    // A perturbed copy: drop one track's parent (a missed division or a broken gap link).
    let bad = tmp.path().join("perturbed");
    copy(&res, &bad);
    let track = bad.join("roi00/res_track.txt");
    let text = std::fs::read_to_string(&track).unwrap();
    let mut lines: Vec<String> = text.lines().map(String::from).collect();
    let k = lines
        .iter()
        .position(|l| !l.ends_with(" 0"))
        .expect("a track with a parent");
    let mut f: Vec<&str> = lines[k].split(' ').collect();
    f[3] = "0";
    lines[k] = f.join(" ");
    std::fs::write(&track, lines.join("\n") + "\n").unwrap();
    let v = eval_json(&bad, &truth);
    assert!(v["TRA"].as_f64().unwrap() < 1.0, "{v}");
    assert!(v["per_roi"][0]["LNK"].as_f64().unwrap() < 1.0, "{v}");
    assert_eq!(v["per_roi"][1]["TRA"], 1.0, "{v}");

    // The report: trees and kymographs.
    let rep = tmp.path().join("report");
    ok(&deltacell(&[
        "eval",
        "lineage",
        "--pred",
        s(&bad),
        "--truth",
        s(&truth),
        "--report",
        s(&rep),
    ]));
    let html = std::fs::read_to_string(rep.join("index.html")).unwrap();
    assert!(
        html.contains("tree_truth.png") && html.contains("kymograph.png"),
        "{html}"
    );
    assert!(rep.join("pictures/000_kymograph.png").is_file());
}

#[test]
fn bad_ctc_folders_are_refused_with_file_and_line() {
    let tmp = tempfile::tempdir().unwrap();
    let synth = tmp.path().join("synth");
    ok(&deltacell(&[
        "synth",
        "--kind",
        "movie",
        "--n",
        "1",
        "--out",
        s(&synth),
        "--quiet",
    ]));
    let truth = synth.join("mm/ctc/roi00");
    let res = tmp.path().join("res");
    ok(&deltacell(&["export-ctc", s(&truth), "--out", s(&res)]));
    let roi = res.join("roi00");
    let track = roi.join("res_track.txt");
    let text = std::fs::read_to_string(&track).unwrap();
    let refused = |what: &str, expect: &[&str]| {
        let o = deltacell(&["eval", "lineage", "--pred", s(&roi), "--truth", s(&truth)]);
        assert_eq!(o.status.code(), Some(1), "{what}");
        let err = String::from_utf8_lossy(&o.stderr);
        for e in expect {
            assert!(err.contains(e), "{what}: {err}");
        }
    };

    // A track without children that ends a frame earlier than its masks say.
    let mut lines: Vec<String> = text.lines().map(String::from).collect();
    let fields: Vec<Vec<usize>> = lines
        .iter()
        .map(|l| l.split(' ').map(|x| x.parse().unwrap()).collect())
        .collect();
    let (k, last) = fields
        .iter()
        .enumerate()
        .find_map(|(k, f)| {
            let childless = !fields.iter().any(|g| g[3] == f[0]);
            (f[1] < f[2] && childless).then_some((k, f[2]))
        })
        .expect("a childless track of two frames or more");
    let mut f: Vec<String> = lines[k].split(' ').map(String::from).collect();
    f[2] = (last - 1).to_string();
    lines[k] = f.join(" ");
    std::fs::write(&track, lines.join("\n") + "\n").unwrap();
    refused(
        "track disagreeing with masks",
        &[
            &format!("res_track.txt:{}", k + 1),
            &format!("mask{last:03}.tif"),
        ],
    );

    // A parent that starts after its child.
    std::fs::write(&track, format!("{text}999 0 0 1\n")).unwrap();
    let n = text.lines().count() + 1;
    refused(
        "parent after child",
        &[&format!("res_track.txt:{n}"), "parent"],
    );

    // An 8-bit mask.
    std::fs::write(&track, &text).unwrap();
    let mut bytes = Vec::new();
    {
        let mut enc = tiff::encoder::TiffEncoder::new(std::io::Cursor::new(&mut bytes)).unwrap();
        enc.write_image::<tiff::encoder::colortype::Gray8>(2, 2, &[0, 1, 1, 0])
            .unwrap();
    }
    std::fs::write(roi.join("mask003.tif"), bytes).unwrap();
    refused("8-bit mask", &["mask003.tif", "16-bit"]);
}

/// DeLTA's expected results of its shared mother-machine movie, position 1; `None` (the test
/// skipped, with a printed reason) when `../shared` is not there.
fn delta_results() -> Option<std::path::PathBuf> {
    let nc = Path::new(env!("CARGO_MANIFEST_DIR")).join(
        "../../../shared/data/delta-3.0.0a6/movie_mothermachine_tif/expected_results/Position000001.nc",
    );
    if !nc.is_file() {
        println!("skipped: {} not found", nc.display());
        return None;
    }
    Some(nc)
}

#[test]
fn delta_results_export_and_score_one_against_themselves() {
    let Some(nc) = delta_results() else {
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let truth = tmp.path().join("truth");
    let out = ok(&deltacell(&[
        "export-ctc",
        s(&nc),
        "--out",
        s(&truth),
        "--as-truth",
    ]));
    assert!(out.contains("18 ROI(s)"), "{out}");
    assert!(truth.join("roi17/TRA/man_track.txt").is_file());
    // The results file against its own export, and against itself.
    for pred in [nc.as_path(), truth.as_path()] {
        let v = eval_json(pred, &nc);
        assert_eq!(v["TRA"], 1.0, "{v}");
        assert_eq!(v["division_f1"], 1.0, "{v}");
        assert_eq!(v["per_roi"].as_array().unwrap().len(), 18);
    }
}

#[test]
fn a_results_file_goes_to_ctc_and_back_with_every_cell_mother_and_frame() {
    use deltacell_analysis::results::PositionResults;
    let Some(nc) = delta_results() else {
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let exported = tmp.path().join("ctc");
    ok(&deltacell(&["export-ctc", s(&nc), "--out", s(&exported)]));
    assert!(exported.join("deltacell-position.toml").is_file());
    let back = tmp.path().join("back").join("Position000001.nc");
    std::fs::create_dir_all(back.parent().unwrap()).unwrap();
    let out = ok(&deltacell(&["import-ctc", s(&exported), "--out", s(&back)]));
    assert!(out.contains("18 ROI(s)"), "{out}");
    let a = PositionResults::read(&nc).unwrap();
    let b = PositionResults::read(&back).unwrap();
    assert_eq!(a.position_nb, b.position_nb);
    assert_eq!(a.shape, b.shape);
    assert_eq!(a.drift, b.drift);
    assert_eq!(a.rotate, b.rotate);
    assert_eq!(a.rois.len(), b.rois.len());
    let mut cells = 0;
    for (ra, rb) in a.rois.iter().zip(&b.rois) {
        assert_eq!(ra.roi_nb, rb.roi_nb);
        assert_eq!(ra.bbox, rb.bbox);
        assert_eq!(ra.first_frame, rb.first_frame);
        // Every cell with its mother, its divisions, its first and last frames.
        assert_eq!(ra.lineage, rb.lineage, "ROI {}", ra.roi_nb);
        assert_eq!(ra.labels, rb.labels, "ROI {}", ra.roi_nb);
        // Areas come from the labels alone: the same.
        for (id, fa) in &ra.features {
            let fb = &rb.features[id];
            assert_eq!(fa.len(), fb.len());
            for (x, y) in fa.iter().zip(fb) {
                assert_eq!(x.area, y.area, "ROI {} cell {id}", ra.roi_nb);
            }
        }
        cells += ra.lineage.len();
    }
    assert!(cells > 100, "{cells}");
    // The imported file scores TRA 1 against the original.
    let v = eval_json(&back, &nc);
    assert_eq!(v["TRA"], 1.0, "{v}");
    // The lineage report shows a results file's movie frames (the original against a copy
    // missing one ROI's division would have errors; against itself: evenly spread frames).
    let report = tmp.path().join("report");
    ok(&deltacell(&[
        "eval",
        "lineage",
        "--pred",
        s(&nc),
        "--truth",
        s(&exported),
        "--report",
        s(&report),
    ]));
    let page = std::fs::read_to_string(report.join("index.html")).unwrap();
    assert!(page.contains("pictures/000_movie.png"), "no movie frames");
    assert!(report.join("pictures/017_movie.png").is_file());
}
