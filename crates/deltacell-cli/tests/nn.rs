//! `deltacell config show` and `deltacell train` on built-in synthetic data.

use std::path::Path;
use std::process::Command;

use deltacell_nn::config::Config;

fn deltacell(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_deltacell"))
        .args(args)
        .env("RAYON_NUM_THREADS", "2")
        .output()
        .expect("runs")
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

#[test]
fn config_show_prints_a_parseable_commented_preset() {
    for preset in ["2D", "mothermachine"] {
        let out = deltacell(&["config", "show", "--preset", preset]);
        assert!(out.status.success(), "{}", text(&out.stderr));
        let shown = text(&out.stdout);
        assert!(shown.lines().filter(|l| l.starts_with('#')).count() > 20);
        let parsed = Config::from_toml(&shown, Path::new("stdout"), None).unwrap();
        assert_eq!(parsed, Config::preset(preset).unwrap());
    }
    let out = deltacell(&["config", "show", "--preset", "3D"]);
    assert!(!out.status.success());
    assert!(text(&out.stderr).contains("3D"));
}

#[test]
fn config_file_with_unknown_key_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("c.toml");
    std::fs::write(&f, "[models.seg]\nepochs = 2\nlearning_rat = 0.1\n").unwrap();
    let out = deltacell(&[
        "config",
        "show",
        "--preset",
        "2D",
        "--config",
        f.to_str().unwrap(),
    ]);
    assert!(!out.status.success());
    assert!(
        text(&out.stderr).contains("learning_rat"),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn train_on_synth_writes_a_run_dir_and_resumes() {
    let dir = tempfile::tempdir().unwrap();
    let out_dir = dir.path().join("run");
    let out = out_dir.to_str().unwrap();
    let common = [
        "train",
        "seg",
        "--preset",
        "mothermachine",
        "--data",
        "builtin:synth",
        "--out",
        out,
        "--filters",
        "4,8",
        "--steps-per-epoch",
        "3",
        "--batch-size",
        "2",
        "--val-steps",
        "1",
        "--quiet",
    ];
    let mut args = common.to_vec();
    args.extend(["--epochs", "2"]);
    let o = deltacell(&args);
    assert!(o.status.success(), "{}", text(&o.stderr));
    assert!(text(&o.stderr).contains("epoch 2/2"), "{}", text(&o.stderr));
    for f in [
        "model.safetensors",
        "model.toml",
        "history.csv",
        "curves.png",
        "config.toml",
    ] {
        assert!(out_dir.join(f).is_file(), "{f}");
    }
    let info = std::fs::read_to_string(out_dir.join("model.toml")).unwrap();
    assert!(info.contains("head = \"logits\"") && info.contains("input_size = [256, 32]"));
    assert!(info.contains("synth:seed=1"), "{info}");

    // The same folder again without --resume is refused.
    let o = deltacell(&args);
    assert!(!o.status.success());
    assert!(text(&o.stderr).contains("--resume"));

    // Resume to 3 epochs.
    let mut args = common.to_vec();
    args.extend(["--epochs", "3", "--resume"]);
    let o = deltacell(&args);
    assert!(o.status.success(), "{}", text(&o.stderr));
    let history = std::fs::read_to_string(out_dir.join("history.csv")).unwrap();
    assert_eq!(history.lines().count(), 4, "{history}");

    // Resume with another architecture is refused.
    let mut args: Vec<&str> = common.to_vec();
    args[9] = "4,8,16";
    args.extend(["--epochs", "4", "--resume"]);
    let o = deltacell(&args);
    assert!(!o.status.success());
}

#[test]
fn train_reports_bad_inputs() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("run");
    // rois exists only for the mother machine
    let o = deltacell(&[
        "train",
        "rois",
        "--preset",
        "2D",
        "--data",
        "builtin:synth",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(!o.status.success());
    assert!(text(&o.stderr).contains("rois"), "{}", text(&o.stderr));
    // sizes that do not fit the levels
    let o = deltacell(&[
        "train",
        "seg",
        "--preset",
        "mothermachine",
        "--data",
        "builtin:synth",
        "--levels",
        "7",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(!o.status.success());
    assert!(text(&o.stderr).contains("multiple"), "{}", text(&o.stderr));
}
