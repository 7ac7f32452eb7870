//! `deltacell features`: DeLTA 3's own 2-D results recomputed into a new folder (netCDF and
//! CSV table), and an output folder that holds the input refused.

use std::path::{Path, PathBuf};
use std::process::Command;

fn shared(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .join("../shared")
        .join(rel)
}

const TWO_D: &str = "data/delta-3.0.0a6/movie_2D_tif/expected_results/Position000001.nc";

#[test]
fn features_recomputes_deltas_results_into_a_new_folder() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("recomputed");
    let o = Command::new(env!("CARGO_BIN_EXE_deltacell"))
        .arg("features")
        .arg(shared(TWO_D))
        .arg("-o")
        .arg(&out)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let stdout = String::from_utf8_lossy(&o.stdout);
    assert!(
        stdout.contains("position 1, 1 ROIs, 1 cells, 4 cell-frames"),
        "{stdout}"
    );
    assert!(out.join("Position000001.nc").is_file());
    let csv = std::fs::read_to_string(out.join("Position000001.csv")).unwrap();
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(lines.len(), 5, "{csv}");
    assert!(lines[0].starts_with("position,roi,cell,frame,mother,daughter,length,width,area"));
    // Frame 1 of cell 1: DeLTA's area and length, no mother.
    assert!(
        lines[1].starts_with("1,0,1,1,NA,NA,36.698486,6.961498,221,"),
        "{}",
        lines[1]
    );
}

#[test]
fn an_output_folder_holding_the_input_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("Position000001.nc");
    std::fs::copy(shared(TWO_D), &input).unwrap();
    let o = Command::new(env!("CARGO_BIN_EXE_deltacell"))
        .arg("features")
        .arg(&input)
        .arg("-o")
        .arg(dir.path())
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert!(stderr.contains("Position000001.nc"), "{stderr}");
    assert_eq!(
        std::fs::read(&input).unwrap(),
        std::fs::read(shared(TWO_D)).unwrap()
    );
}
