//! `deltacell eval seg|track` on tiny hand-made sets.

use std::path::Path;
use std::process::Command;

use deltacell_data::{io, Mask, Plane};

fn deltacell(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_deltacell"))
        .args(args)
        .output()
        .unwrap()
}

/// A 32×24 mask with rectangular cells (r0, r1, c0, c1), end exclusive.
fn mask(rects: &[(usize, usize, usize, usize)]) -> Mask {
    Mask::from_plane(Plane::from_fn(32, 24, |r, c| {
        u8::from(
            rects
                .iter()
                .any(|&(r0, r1, c0, c1)| (r0..r1).contains(&r) && (c0..c1).contains(&c)),
        )
    }))
}

const CELLS: [(usize, usize, usize, usize); 3] = [(2, 8, 2, 10), (12, 18, 2, 10), (2, 8, 14, 22)];

fn write_set(dir: &Path, files: &[(&str, Mask)]) {
    std::fs::create_dir_all(dir).unwrap();
    for (name, m) in files {
        io::write_mask(dir.join(name), m).unwrap();
    }
}

fn json(out: &std::process::Output) -> serde_json::Value {
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

#[test]
fn seg_perfect_and_missing_cell() {
    let tmp = tempfile::tempdir().unwrap();
    let (truth, pred, pred2) = (
        tmp.path().join("t"),
        tmp.path().join("p"),
        tmp.path().join("q"),
    );
    write_set(
        &truth,
        &[("a.png", mask(&CELLS)), ("b.png", mask(&CELLS[..2]))],
    );
    // Predictions may be TIFF: matched by stem.
    write_set(
        &pred,
        &[("a.tif", mask(&CELLS)), ("b.png", mask(&CELLS[..2]))],
    );
    let v = json(&deltacell(&[
        "eval",
        "seg",
        "--pred",
        pred.to_str().unwrap(),
        "--truth",
        truth.to_str().unwrap(),
        "--json",
    ]));
    for k in [
        "pixel_iou",
        "dice",
        "precision_50",
        "recall_50",
        "f1_50",
        "ap_50",
        "ap_75",
        "ap_90",
        "aji",
    ] {
        assert_eq!(v[k].as_f64(), Some(1.0), "{k}");
    }
    assert_eq!(v["per_image"].as_array().unwrap().len(), 2);

    // One cell missing from image a: recall 4/5 overall, precision 1.
    write_set(
        &pred2,
        &[("a.png", mask(&CELLS[..2])), ("b.png", mask(&CELLS[..2]))],
    );
    let report = tmp.path().join("report");
    let v = json(&deltacell(&[
        "eval",
        "seg",
        "--pred",
        pred2.to_str().unwrap(),
        "--truth",
        truth.to_str().unwrap(),
        "--json",
        "--report",
        report.to_str().unwrap(),
    ]));
    assert!((v["recall_50"].as_f64().unwrap() - 0.8).abs() < 1e-12);
    assert_eq!(v["precision_50"].as_f64(), Some(1.0));
    assert!(v["f1_50"].as_f64().unwrap() < 1.0);
    let html = std::fs::read_to_string(report.join("index.html")).unwrap();
    // Worst image (a) first.
    let (ia, ib) = (html.find(">a<").unwrap(), html.find(">b<").unwrap());
    assert!(ia < ib);
    assert!(report.join("overlays/00000.png").is_file());
    assert!(report.join("overlays/00001.png").is_file());

    // The human-readable summary.
    let out = deltacell(&[
        "eval",
        "seg",
        "--pred",
        pred2.to_str().unwrap(),
        "--truth",
        truth.to_str().unwrap(),
    ]);
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stdout).contains("recall 0.8000"));
}

#[test]
fn seg_unmatched_file_is_an_error_naming_it() {
    let tmp = tempfile::tempdir().unwrap();
    let (truth, pred) = (tmp.path().join("t"), tmp.path().join("p"));
    write_set(&truth, &[("a.png", mask(&CELLS)), ("zz.png", mask(&CELLS))]);
    write_set(&pred, &[("a.png", mask(&CELLS))]);
    let out = deltacell(&[
        "eval",
        "seg",
        "--pred",
        pred.to_str().unwrap(),
        "--truth",
        truth.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("zz.png"));
}

#[test]
fn track_scores() {
    let tmp = tempfile::tempdir().unwrap();
    let (truth, pred) = (tmp.path().join("t"), tmp.path().join("p"));
    let div = mask(&CELLS[..2]);
    let one = mask(&CELLS[..1]);
    let n1 = "Position01_Chamber01_Frame001Cell000001.png";
    let n2 = "Position01_Chamber01_Frame001Cell000002.png";
    write_set(&truth, &[(n1, one.clone()), (n2, div.clone())]);
    write_set(&pred, &[(n1, one.clone()), (n2, one.clone())]);
    let report = tmp.path().join("r");
    let v = json(&deltacell(&[
        "eval",
        "track",
        "--pred",
        pred.to_str().unwrap(),
        "--truth",
        truth.to_str().unwrap(),
        "--json",
        "--report",
        report.to_str().unwrap(),
    ]));
    assert_eq!(v["n_seeds"].as_u64(), Some(2));
    assert_eq!(v["accuracy"].as_f64(), Some(0.5));
    assert_eq!(v["link_precision"].as_f64(), Some(1.0));
    assert!((v["link_recall"].as_f64().unwrap() - 2.0 / 3.0).abs() < 1e-12);
    assert_eq!(v["division_recall"].as_f64(), Some(0.0));
    assert_eq!(v["per_seed"][1]["daughter_found"].as_bool(), Some(false));
    assert!(report.join("index.html").is_file());
}

#[test]
fn seg_on_real_omnipose_label_masks() {
    // Instance-label TIFFs (touching cells): compared with themselves every figure is 1, and
    // their binary version (touching cells merge into one component) loses most cells.
    let masks = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/data/omnipose/test_files/masks");
    let tmp = tempfile::tempdir().unwrap();
    let (truth, pred) = (tmp.path().join("t"), tmp.path().join("p"));
    std::fs::create_dir_all(&truth).unwrap();
    std::fs::create_dir_all(&pred).unwrap();
    let name = "Sample000033_cp_masks.tif";
    std::fs::copy(masks.join(name), truth.join(name)).unwrap();
    let v = json(&deltacell(&[
        "eval",
        "seg",
        "--pred",
        truth.to_str().unwrap(),
        "--truth",
        truth.to_str().unwrap(),
        "--json",
    ]));
    assert_eq!(v["ap_90"].as_f64(), Some(1.0));
    assert!(v["per_image"][0]["sums"]["n_true"].as_u64().unwrap() > 20);
    let binary = io::read_mask(masks.join(name)).unwrap();
    io::write_mask(pred.join("Sample000033_cp_masks.png"), &binary).unwrap();
    let v = json(&deltacell(&[
        "eval",
        "seg",
        "--pred",
        pred.to_str().unwrap(),
        "--truth",
        truth.to_str().unwrap(),
        "--json",
    ]));
    assert_eq!(v["pixel_iou"].as_f64(), Some(1.0));
    assert!(v["recall_50"].as_f64().unwrap() < 1.0);
    assert!(v["aji"].as_f64().unwrap() < 1.0);
}
