//! `deltacell demo`: the full run (`demo --quick`) takes longer than a test should in a debug
//! build (a few minutes); CI runs it from the README. Here: its guard against clobbering a
//! folder that is not a demo's.

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
