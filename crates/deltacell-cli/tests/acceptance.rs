//! Acceptance of the foundation and weight-map issues, end to end on built-in data: every
//! `synth` kind passes `check`, and `weights` on a synthetic set writes `wei/` once.

use std::path::Path;
use std::process::{Command, Output};

fn deltacell(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_deltacell"))
        .args(args)
        .output()
        .expect("the deltacell binary runs")
}

fn text(out: &Output) -> String {
    format!(
        "{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

fn synth(kind: &str, n: &str, out: &Path) {
    let o = deltacell(&[
        "synth",
        "--kind",
        kind,
        "--n",
        n,
        "--seed",
        "7",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "synth {kind}: {}", text(&o));
}

#[test]
fn every_synth_kind_passes_check() {
    let tmp = tempfile::tempdir().unwrap();
    // (kind, n, extra check arguments): chamber sets look like segmentation sets, so the
    // layout is named; the others are guessed from their folders.
    let cases: [(&str, &str, &[&str]); 6] = [
        ("mm-seg", "6", &[]),
        ("2d-seg", "1", &[]),
        ("mm-track", "4", &[]),
        ("2d-track", "2", &[]),
        ("rois", "1", &["--kind", "rois"]),
        ("movie", "1", &[]),
    ];
    for (kind, n, extra) in cases {
        let out = tmp.path().join(kind);
        synth(kind, n, &out);
        let mut args = vec!["check", out.to_str().unwrap()];
        args.extend_from_slice(extra);
        let o = deltacell(&args);
        assert!(o.status.success(), "check {kind}: {}", text(&o));
        assert!(
            text(&o).contains("usable: yes"),
            "check {kind}: {}",
            text(&o)
        );
        let mut json_args = args.clone();
        json_args.push("--json");
        let j = deltacell(&json_args);
        let v: serde_json::Value = serde_json::from_slice(&j.stdout).unwrap();
        assert_eq!(v["usable"], serde_json::json!(true), "{kind}: {v}");
    }
}

#[test]
fn movie_check_fails_when_a_frame_mask_is_missing() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("movie");
    synth("movie", "1", &out);
    let victim = out.join("2d/seg/Position1_Chamber000001_Frame3.png");
    let victim = if victim.is_file() {
        victim
    } else {
        std::fs::read_dir(out.join("2d/seg"))
            .unwrap()
            .map(|e| e.unwrap().path())
            .min()
            .unwrap()
    };
    std::fs::remove_file(&victim).unwrap();
    let o = deltacell(&["check", out.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    let stem = victim.file_stem().unwrap().to_str().unwrap();
    assert!(text(&o).contains(stem), "{}", text(&o));
}

#[test]
fn weights_on_a_synth_set_are_written_once() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("mm-seg");
    synth("mm-seg", "5", &root);
    let r = root.to_str().unwrap();
    let first = deltacell(&["weights", r, "--kind", "seg"]);
    assert!(first.status.success(), "{}", text(&first));
    let wei: Vec<_> = std::fs::read_dir(root.join("wei"))
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|n| n.ends_with(".png"))
        .collect();
    assert_eq!(wei.len(), 5, "{wei:?}");
    let before = std::fs::read(root.join("wei").join(&wei[0])).unwrap();

    let second = deltacell(&["weights", r, "--kind", "seg"]);
    assert_eq!(second.status.code(), Some(1), "{}", text(&second));
    assert!(text(&second).contains("--force"), "{}", text(&second));
    assert_eq!(
        std::fs::read(root.join("wei").join(&wei[0])).unwrap(),
        before
    );

    let checked = deltacell(&["check", r]);
    assert!(checked.status.success(), "{}", text(&checked));
    assert!(!text(&checked).contains("stale"), "{}", text(&checked));
}
