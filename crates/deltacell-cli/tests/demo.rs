//! `deltacell demo`: the whole loop with `--quick` (a few minutes in the debug build the tests
//! use; the exit status is non-zero when a score is below the quick floors), and its guard
//! against clobbering a folder that is not a demo's.

use std::process::Command;

#[test]
fn demo_refuses_a_foreign_non_empty_folder() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("mine");
    std::fs::create_dir(&out).unwrap();
    std::fs::write(out.join("precious.txt"), "keep me").unwrap();
    let run = Command::new(env!("CARGO_BIN_EXE_deltacell"))
        .args(["demo", "--quick", "--quiet", "--out"])
        .arg(&out)
        .output()
        .unwrap();
    assert!(!run.status.success());
    let err = String::from_utf8_lossy(&run.stderr);
    assert!(err.contains("not empty"), "{err}");
    assert_eq!(
        std::fs::read_to_string(out.join("precious.txt")).unwrap(),
        "keep me"
    );
}

/// The number after `label` on the line of stdout that starts with `line`.
fn score(stdout: &str, line: &str, label: &str) -> f64 {
    let l = stdout
        .lines()
        .find(|l| l.starts_with(line))
        .unwrap_or_else(|| panic!("no line starting with {line:?} in:\n{stdout}"));
    let rest = &l[l
        .find(label)
        .unwrap_or_else(|| panic!("no {label:?} in {l:?}"))
        + label.len()..];
    rest.split_whitespace()
        .next()
        .and_then(|v| {
            v.trim_matches(|c: char| !c.is_ascii_digit() && c != '.')
                .parse()
                .ok()
        })
        .unwrap_or_else(|| panic!("no number after {label:?} in {l:?}"))
}

#[test]
fn demo_quick_runs_the_whole_loop() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("demo");
    let run = Command::new(env!("CARGO_BIN_EXE_deltacell"))
        .args(["demo", "--quick", "--quiet", "--out"])
        .arg(&out)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&run.stdout);
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert!(run.status.success(), "demo failed:\n{stdout}\n{stderr}");
    // Every stage ran and left its products.
    for stage in 1..=6 {
        assert!(
            stderr.contains(&format!("[{stage}/6]")),
            "stage {stage}:\n{stderr}"
        );
    }
    for f in [
        "runs/seg/model.safetensors",
        "runs/seg/history.csv",
        "runs/seg/curves.png",
        "runs/track/model.safetensors",
        "report/index.html",
        "report/seg/index.html",
        "report/track/index.html",
    ] {
        assert!(out.join(f).is_file(), "{f} missing");
    }
    let f1 = score(&stdout, "segmentation:", "F1@0.5");
    let acc = score(&stdout, "tracking:", "accuracy");
    assert!((0.5..=1.0).contains(&f1), "F1@0.5 {f1}");
    assert!((0.6..=1.0).contains(&acc), "tracking accuracy {acc}");
    assert!(stdout.contains("report/index.html"), "{stdout}");
}
