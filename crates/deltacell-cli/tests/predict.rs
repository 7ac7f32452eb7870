//! `deltacell train` on synthetic sets, then `deltacell predict seg|track` on a synthetic movie.

use std::path::Path;
use std::process::Command;

fn deltacell(args: &[&str], cwd: &Path) -> std::process::Output {
    let out = Command::new(env!("CARGO_BIN_EXE_deltacell"))
        .args(args)
        .current_dir(cwd)
        .output()
        .expect("running deltacell");
    out
}

fn ok(args: &[&str], cwd: &Path) {
    let out = deltacell(args, cwd);
    assert!(
        out.status.success(),
        "deltacell {args:?} failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn names(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

#[test]
fn train_then_predict_seg_and_track() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    let q = ["--quiet"];
    ok(
        &[
            "synth", "--kind", "mm-seg", "--n", "12", "--out", "seg", "-q",
        ],
        d,
    );
    ok(&["weights", "--kind", "seg", "seg"], d);
    ok(
        &[
            "synth", "--kind", "mm-track", "--n", "12", "--out", "track", "-q",
        ],
        d,
    );
    ok(
        &[
            "synth", "--kind", "movie", "--n", "1", "--seed", "9", "--out", "movie", "-q",
        ],
        d,
    );
    let tiny = [
        "--preset",
        "mothermachine",
        "--filters",
        "4,8",
        "--epochs",
        "2",
        "--steps-per-epoch",
        "2",
        "--batch-size",
        "2",
    ];
    let mut a = vec!["train", "seg", "--data", "seg", "--out", "run-seg"];
    a.extend(tiny);
    a.extend(q);
    ok(&a, d);
    assert!(d.join("run-seg/model.safetensors").is_file());
    let mut a = vec!["train", "track", "--data", "track", "--out", "run-track"];
    a.extend(tiny);
    a.extend(q);
    ok(&a, d);

    // Segmentation: one 0/255 mask per input, under the input's name.
    ok(
        &[
            "predict",
            "seg",
            "--model",
            "run-seg",
            "--input",
            "movie/mm/img",
            "--out",
            "pseg",
            "-q",
        ],
        d,
    );
    let inputs = names(&d.join("movie/mm/img"));
    assert_eq!(names(&d.join("pseg")), inputs);
    for n in &inputs {
        let raw = deltacell_data::io::read_raw(d.join("pseg").join(n)).unwrap();
        let deltacell_data::io::RawPixels::U8(m) = raw else {
            panic!("{n}: not an 8-bit image");
        };
        assert_eq!(m.shape(), (256, 32));
        assert!(m.as_slice().iter().all(|&v| v == 0 || v == 255), "{n}");
    }

    // Tracking: DeLTA's per-cell names, one per cell of frames 1..=7.
    ok(
        &[
            "predict",
            "track",
            "--model",
            "run-track",
            "--images",
            "movie/mm/img",
            "--segs",
            "movie/mm/seg",
            "--out",
            "ptrack",
            "-q",
        ],
        d,
    );
    let got = names(&d.join("ptrack"));
    assert!(got.contains(&"Position000001_Chamber000001_Frame000001Cell000001.png".to_string()));
    // The truth has exactly one file per seed cell: the same names.
    assert_eq!(got, names(&d.join("movie/mm/mot_dau")));

    // Clear errors: wrong model kind, missing folder.
    let out = deltacell(
        &[
            "predict",
            "track",
            "--model",
            "run-seg",
            "--images",
            "movie/mm/img",
            "--segs",
            "movie/mm/seg",
            "--out",
            "x",
        ],
        d,
    );
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("seg model"));
    let out = deltacell(
        &[
            "predict", "seg", "--model", "run-seg", "--input", "nope", "--out", "x",
        ],
        d,
    );
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("not found"));
}
