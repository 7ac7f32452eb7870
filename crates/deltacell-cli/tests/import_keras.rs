//! `deltacell import-keras` on DeLTA 2.0.7's small reference models.

use std::path::{Path, PathBuf};
use std::process::Command;

use deltacell_nn::run_dir::RunDir;
use deltacell_nn::Kind;

fn deltacell(args: &[&std::ffi::OsStr]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_deltacell"))
        .args(args)
        .output()
        .expect("runs")
}

fn reference(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/reference/delta-2.0.7/keras")
        .join(name)
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

fn import(model: &Path, kind: &str, out: &Path) -> std::process::Output {
    deltacell(&[
        "import-keras".as_ref(),
        model.as_os_str(),
        "--kind".as_ref(),
        kind.as_ref(),
        "--out".as_ref(),
        out.as_os_str(),
    ])
}

#[test]
fn imports_both_formats_into_a_run_dir() {
    let dir = tempfile::tempdir().unwrap();
    for (file, kind, levels) in [
        ("unet_track_levels3.hdf5", "track", 3),
        ("unet_seg_levels2.keras", "seg", 2),
    ] {
        let out_dir = dir.path().join(file);
        let out = import(&reference(file), kind, &out_dir);
        assert!(out.status.success(), "{}", text(&out.stderr));
        assert!(text(&out.stdout).contains(&format!("{levels} levels")));
        let info = RunDir::open(&out_dir).unwrap().model_info().unwrap();
        assert_eq!(info.architecture.levels(), levels);
        assert_eq!(info.architecture.kind, kind.parse::<Kind>().unwrap());
        assert!(out_dir.join("model.safetensors").is_file());
    }
}

#[test]
fn wrong_kind_fails_with_a_message() {
    let dir = tempfile::tempdir().unwrap();
    let out = import(
        &reference("unet_seg_levels2.hdf5"),
        "track",
        &dir.path().join("run"),
    );
    assert_eq!(out.status.code(), Some(1));
    let err = text(&out.stderr);
    assert!(err.contains("--kind track"), "{err}");
    assert!(err.contains("kind track expects 4"), "{err}");
    assert!(err.contains("import it as seg"), "{err}");
    assert!(!dir.path().join("run").join("model.safetensors").exists());
}

#[test]
fn truncated_file_fails_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    for file in ["unet_seg_levels2.hdf5", "unet_seg_levels2.keras"] {
        let bytes = std::fs::read(reference(file)).unwrap();
        let cut = dir.path().join(format!("cut-{file}"));
        std::fs::write(&cut, &bytes[..bytes.len() * 2 / 3]).unwrap();
        let out = import(&cut, "seg", &dir.path().join("run"));
        assert_eq!(out.status.code(), Some(1));
        let err = text(&out.stderr);
        assert!(err.contains(&format!("cut-{file}")), "{err}");
        assert!(err.contains("truncated"), "{err}");
    }
}

#[test]
fn not_a_unet_names_the_problem() {
    let dir = tempfile::tempdir().unwrap();
    let junk = dir.path().join("junk.hdf5");
    std::fs::write(&junk, b"this is not a model").unwrap();
    let out = import(&junk, "seg", &dir.path().join("run"));
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stderr).contains("junk.hdf5"));
}

/// `train --init-from` fine-tunes an imported model: the run keeps the imported architecture,
/// and a model of the wrong kind is refused with a message.
#[test]
fn train_init_from_fine_tunes_an_imported_model() {
    let dir = tempfile::tempdir().unwrap();
    let imported = dir.path().join("imported");
    let out = import(&reference("unet_seg_levels2.hdf5"), "seg", &imported);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let set = dir.path().join("set");
    let run = |args: &[&str]| {
        let os: Vec<&std::ffi::OsStr> = args.iter().map(|a| a.as_ref()).collect();
        deltacell(&os)
    };
    let set_s = set.to_str().unwrap();
    let out = run(&[
        "synth", "--kind", "mm-seg", "--n", "6", "--seed", "3", "--out", set_s, "-q",
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let out = run(&["weights", set_s, "--kind", "seg"]);
    assert!(out.status.success(), "{}", text(&out.stderr));

    let tuned = dir.path().join("tuned");
    let (imp, tun) = (imported.to_str().unwrap(), tuned.to_str().unwrap());
    let out = run(&[
        "train",
        "seg",
        "--preset",
        "mothermachine",
        "--data",
        set_s,
        "--out",
        tun,
        "--init-from",
        imp,
        "--epochs",
        "1",
        "--steps-per-epoch",
        "2",
        "--batch-size",
        "2",
        "--quiet",
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let (_, info) = RunDir::open(&tuned)
        .unwrap()
        .load_best(&deltacell_nn::device::cpu())
        .unwrap();
    let (_, original) = RunDir::open(&imported)
        .unwrap()
        .load_best(&deltacell_nn::device::cpu())
        .unwrap();
    assert_eq!(info.architecture, original.architecture);
    assert_eq!(info.architecture.kind, Kind::Seg);

    let out = run(&[
        "train",
        "track",
        "--preset",
        "mothermachine",
        "--data",
        set_s,
        "--out",
        dir.path().join("wrong").to_str().unwrap(),
        "--init-from",
        imp,
        "--epochs",
        "1",
    ]);
    assert!(!out.status.success());
    assert!(
        text(&out.stderr).contains("holds a seg model"),
        "{}",
        text(&out.stderr)
    );
}

/// `bytes` with the first occurrence of `from` replaced by `to` (same length).
fn patched(bytes: &[u8], from: &[u8], to: &[u8]) -> Vec<u8> {
    assert_eq!(from.len(), to.len());
    let at = bytes
        .windows(from.len())
        .position(|w| w == from)
        .expect("pattern in the file");
    let mut out = bytes.to_vec();
    out[at..at + from.len()].copy_from_slice(to);
    out
}

#[test]
fn damaged_model_config_and_nan_weights_are_refused_by_name() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let original = std::fs::read(reference("unet_seg_levels2.hdf5")).unwrap();
    // model_config that is no longer JSON: refused, not replaced by a guess.
    let broken = d.join("broken_config.hdf5");
    std::fs::write(
        &broken,
        patched(&original, b"\"class_name\": ", b"\"class_name\"; "),
    )
    .unwrap();
    let out = import(&broken, "seg", &d.join("a"));
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    assert!(
        text(&out.stderr).contains("model_config") && text(&out.stderr).contains("JSON"),
        "{}",
        text(&out.stderr)
    );
    assert!(!d.join("a").exists());

    // NaN weights: import, put a NaN into the run folder's weights, export, import again.
    let good = d.join("good");
    assert!(import(&reference("unet_seg_levels2.hdf5"), "seg", &good)
        .status
        .success());
    let st = good.join("model.safetensors");
    let bytes = std::fs::read(&st).unwrap();
    let header = u64::from_le_bytes(bytes[..8].try_into().unwrap()) as usize;
    let mut nan = bytes.clone();
    nan[8 + header..8 + header + 4].copy_from_slice(&f32::NAN.to_le_bytes());
    std::fs::write(&st, nan).unwrap();
    let exported = d.join("nan.hdf5");
    let out = deltacell(&[
        "export-keras".as_ref(),
        good.as_os_str(),
        "--out".as_ref(),
        exported.as_os_str(),
    ]);
    if out.status.success() {
        let out = import(&exported, "seg", &d.join("b"));
        assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
        let err = text(&out.stderr);
        assert!(err.contains("NaN") && err.contains("layer"), "{err}");
        assert!(!d.join("b").exists());
    } else {
        // Refusing to export NaN weights is just as good.
        assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
        assert!(text(&out.stderr).contains("NaN"), "{}", text(&out.stderr));
    }
}
