//! `deltacell export-keras`: the loop train → export → import-keras → predict, the
//! `--input-size` flag, and refusals (exit 1, nothing written).

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use deltacell_nn::run_dir::RunDir;

fn deltacell(args: &[&std::ffi::OsStr]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_deltacell"))
        .args(args)
        .output()
        .expect("runs")
}

fn run(args: &[&str]) -> Output {
    let os: Vec<&std::ffi::OsStr> = args.iter().map(|a| a.as_ref()).collect();
    deltacell(&os)
}

fn reference(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/reference/delta-2.0.7/keras")
        .join(name)
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

fn ok(out: &Output) {
    assert!(
        out.status.success(),
        "{}\n{}",
        text(&out.stdout),
        text(&out.stderr)
    );
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// Files of a folder with their bytes, sorted by name.
fn contents(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut v: Vec<(String, Vec<u8>)> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| {
            let p = e.unwrap().path();
            (
                p.file_name().unwrap().to_string_lossy().into_owned(),
                std::fs::read(&p).unwrap(),
            )
        })
        .collect();
    v.sort();
    v
}

/// Train a tiny model, export it in both formats, import each file back: `predict seg
/// --probabilities` writes the same images from the re-imported run folders as from the
/// original.
#[test]
fn train_export_import_predict_round_trip() {
    let dir = tempfile::tempdir().unwrap();
    let set = dir.path().join("set");
    ok(&run(&[
        "synth",
        "--kind",
        "mm-seg",
        "--n",
        "4",
        "--seed",
        "9",
        "--out",
        s(&set),
        "-q",
    ]));
    ok(&run(&["weights", s(&set), "--kind", "seg"]));
    let trained = dir.path().join("trained");
    ok(&run(&[
        "train",
        "seg",
        "--preset",
        "mothermachine",
        "--data",
        s(&set),
        "--out",
        s(&trained),
        "--filters",
        "4,8",
        "--epochs",
        "1",
        "--steps-per-epoch",
        "2",
        "--batch-size",
        "2",
        "--quiet",
    ]));
    let predicted = |model: &Path, out: &Path| {
        ok(&run(&[
            "predict",
            "seg",
            "--model",
            s(model),
            "--input",
            s(&set.join("img")),
            "--out",
            s(out),
            "--probabilities",
            "--quiet",
        ]));
        contents(out)
    };
    let original = predicted(&trained, &dir.path().join("pred"));
    assert_eq!(original.len(), 4);
    for ext in ["hdf5", "keras"] {
        let file = dir.path().join(format!("model.{ext}"));
        let out = run(&["export-keras", s(&trained), "--out", s(&file)]);
        ok(&out);
        let summary = text(&out.stdout);
        assert!(summary.contains("2 levels"), "{summary}");
        assert!(summary.contains("input 256×32×1"), "{summary}");
        // DeLTA 3's logits head for `.keras`, DeLTA 2.0.7's sigmoid for legacy HDF5.
        let head = if ext == "keras" {
            "logits output"
        } else {
            "sigmoid output"
        };
        assert!(summary.contains(head), "{summary}");
        let back = dir.path().join(format!("back-{ext}"));
        ok(&run(&[
            "import-keras",
            s(&file),
            "--kind",
            "seg",
            "--out",
            s(&back),
        ]));
        assert_eq!(
            predicted(&back, &dir.path().join(format!("pred-{ext}"))),
            original,
            ".{ext}"
        );
    }
}

#[test]
fn input_size_flag_is_declared_in_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let imported = dir.path().join("imported");
    ok(&run(&[
        "import-keras",
        s(&reference("unet_seg_levels2.hdf5")),
        "--kind",
        "seg",
        "--out",
        s(&imported),
    ]));
    let file = dir.path().join("wide.keras");
    let out = run(&[
        "export-keras",
        s(&imported),
        "--out",
        s(&file),
        "--input-size",
        "128,96",
    ]);
    ok(&out);
    assert!(text(&out.stdout).contains("input 128×96×1"));
    let back = dir.path().join("back");
    ok(&run(&[
        "import-keras",
        s(&file),
        "--kind",
        "seg",
        "--out",
        s(&back),
    ]));
    let info = RunDir::open(&back).unwrap().model_info().unwrap();
    assert_eq!(info.input_size, [128, 96]);
}

#[test]
fn refusals_exit_1_and_write_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let imported = dir.path().join("imported");
    ok(&run(&[
        "import-keras",
        s(&reference("unet_track_levels3.keras")),
        "--kind",
        "track",
        "--out",
        s(&imported),
    ]));
    let empty = dir.path().join("empty");
    std::fs::create_dir(&empty).unwrap();
    let out_dir = dir.path().join("out");
    std::fs::create_dir(&out_dir).unwrap();
    for (run_dir, out, extra, expect) in [
        (&empty, "m.hdf5", None, "no model in this run folder"),
        (&dir.path().join("missing"), "m.keras", None, "no model"),
        (&imported, "m.onnx", None, "unknown extension"),
        (&imported, "m.hdf5", Some("66,32"), "multiples of 4"),
        (&imported, "m.keras", Some("64,30"), "multiples of 4"),
    ] {
        let target = out_dir.join(out);
        let mut args = vec!["export-keras", s(run_dir), "--out", s(&target)];
        if let Some(size) = extra {
            args.extend(["--input-size", size]);
        }
        let res = run(&args);
        assert_eq!(res.status.code(), Some(1), "{args:?}");
        let err = text(&res.stderr);
        assert!(err.contains(expect), "{args:?}: {err}");
        assert!(contents(&out_dir).is_empty(), "{args:?} left files behind");
    }
    // A malformed size is a usage error.
    let res = run(&[
        "export-keras",
        s(&imported),
        "--out",
        s(&out_dir.join("m.hdf5")),
        "--input-size",
        "64",
    ]);
    assert!(!res.status.success());
    assert!(contents(&out_dir).is_empty());
}
