//! Helpers shared by the integration tests: the shared data folder and DeLTA 3's venv.

// Each test binary uses some of these.
#![allow(dead_code)]

use std::ffi::OsString;
use std::path::{Path, PathBuf};

/// `../shared/<rel>` next to the repository (DeLTA's reference data).
pub fn shared(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .join("../shared")
        .join(rel)
}

/// The Python of a venv with delta-microscopy 3.0.0a6 (`DELTACELL_DELTA3_PYTHON`); `None`,
/// with a printed reason, when it is not set (the test is skipped).
pub fn delta3_python() -> Option<OsString> {
    let py = std::env::var_os("DELTACELL_DELTA3_PYTHON");
    if py.is_none() {
        println!(
            "skipped: DELTACELL_DELTA3_PYTHON (a Python with delta-microscopy 3.0.0a6) is not set"
        );
    }
    py
}

/// Runs a Python `script` (`python -c SCRIPT ARGS…`) with `python`; its standard output. The
/// test fails with the script's standard error when the script fails.
pub fn run_python(python: &std::ffi::OsStr, script: &str, args: &[&std::ffi::OsStr]) -> String {
    let out = std::process::Command::new(python)
        .arg("-c")
        .arg(script)
        .args(args)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}
