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

/// A 6-sample mother-machine segmentation set made by `deltacell synth`.
fn synth_set(dir: &Path) -> String {
    let set = dir.join("set");
    let s = set.to_str().unwrap();
    let o = deltacell(&[
        "synth", "--kind", "mm-seg", "--n", "6", "--seed", "3", "--out", s, "--quiet",
    ]);
    assert!(o.status.success(), "{}", text(&o.stderr));
    s.to_string()
}

/// `deltacell train seg` on `set` into `out`: 3 epochs of 3 steps of 2 samples, a tiny U-Net.
fn train_tiny(set: &str, out: &Path, threads: &str, extra: &[&str]) -> std::process::Output {
    let mut args = vec![
        "train",
        "seg",
        "--preset",
        "mothermachine",
        "--data",
        set,
        "--out",
        out.to_str().unwrap(),
        "--filters",
        "4,8",
        "--epochs",
        "3",
        "--steps-per-epoch",
        "3",
        "--batch-size",
        "2",
        "--val-steps",
        "1",
        "--threads",
        threads,
        "--quiet",
    ];
    args.extend(extra);
    deltacell(&args)
}

/// `history.csv` without the timing columns.
fn history_without_times(run: &Path) -> Vec<String> {
    std::fs::read_to_string(run.join("history.csv"))
        .unwrap()
        .lines()
        .map(|l| {
            let f: Vec<&str> = l.split(',').collect();
            [&f[..5], &f[7..]].concat().join(",")
        })
        .collect()
}

/// Where `checkpoint.toml` says training continues.
fn next_position(run: &Path) -> (usize, usize) {
    let s = deltacell_nn::run_dir::RunDir::open(run)
        .unwrap()
        .checkpoint_state()
        .unwrap();
    (s.next_epoch, s.next_step)
}

/// Stopped in the middle of an epoch, resumed, stopped again, resumed to the end: the same
/// `model.safetensors` bytes, `model.toml` and history as the uninterrupted run (same seed,
/// same threads), on a real folder (the prefetching loader must continue where it stopped).
/// Two uninterrupted runs give the same bytes too.
#[test]
fn train_resumed_after_stops_gives_the_uninterrupted_model_bytes() {
    let dir = tempfile::tempdir().unwrap();
    let set = synth_set(dir.path());
    let whole = dir.path().join("whole");
    let o = train_tiny(&set, &whole, "2", &[]);
    assert!(o.status.success(), "{}", text(&o.stderr));
    let again = dir.path().join("again");
    let o = train_tiny(&set, &again, "2", &[]);
    assert!(o.status.success(), "{}", text(&o.stderr));
    let bytes = |run: &Path, f: &str| std::fs::read(run.join(f)).unwrap();
    assert!(
        bytes(&whole, "model.safetensors") == bytes(&again, "model.safetensors"),
        "two runs wrote different model.safetensors"
    );

    let stopped = dir.path().join("stopped");
    let stopped_ok = |o: &std::process::Output| {
        // Interrupted runs keep their checkpoint; they are not errors.
        assert!(
            matches!(o.status.code(), Some(0) | Some(130)),
            "{:?}: {}",
            o.status,
            text(&o.stderr)
        );
        assert!(
            text(&o.stderr).contains("interrupted"),
            "{}",
            text(&o.stderr)
        );
    };
    let o = train_tiny(&set, &stopped, "2", &["--stop-after-steps", "4"]);
    stopped_ok(&o);
    assert_eq!(next_position(&stopped), (1, 1));
    let o = train_tiny(
        &set,
        &stopped,
        "2",
        &["--resume", "--stop-after-steps", "3"],
    );
    stopped_ok(&o);
    assert_eq!(next_position(&stopped), (2, 1));
    // Resuming with another seed or epoch length would continue on other batches: refused.
    let o = train_tiny(&set, &stopped, "2", &["--resume", "--seed", "2"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(text(&o.stderr).contains("--seed 1"), "{}", text(&o.stderr));
    let o = train_tiny(&set, &stopped, "2", &["--resume", "--steps-per-epoch", "4"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        text(&o.stderr).contains("--steps-per-epoch 3"),
        "{}",
        text(&o.stderr)
    );
    let o = train_tiny(&set, &stopped, "2", &["--resume"]);
    assert!(o.status.success(), "{}", text(&o.stderr));
    assert_eq!(next_position(&stopped), (3, 0));

    assert!(
        bytes(&whole, "model.safetensors") == bytes(&stopped, "model.safetensors"),
        "the resumed run's model.safetensors differs from the uninterrupted run's"
    );
    assert_eq!(bytes(&whole, "model.toml"), bytes(&stopped, "model.toml"));
    assert_eq!(
        history_without_times(&whole),
        history_without_times(&stopped)
    );
}

/// The f32 values of a safetensors file's tensors (its header must equal `header`'s).
fn tensor_values(file: &Path, header: &[u8]) -> Vec<f32> {
    let b = std::fs::read(file).unwrap();
    let n = 8 + u64::from_le_bytes(b[..8].try_into().unwrap()) as usize;
    assert_eq!(&b[..n], header, "same tensors, names and offsets");
    b[n..]
        .chunks_exact(4)
        .map(|c| f32::from_le_bytes(c.try_into().unwrap()))
        .collect()
}

/// What the README promises across thread counts: not bit-identical (the CPU convolution
/// kernels split their sums by thread), equal to float rounding over a short run.
#[test]
fn train_with_one_or_two_threads_agrees_to_rounding() {
    let dir = tempfile::tempdir().unwrap();
    let set = synth_set(dir.path());
    let (one, two) = (dir.path().join("one"), dir.path().join("two"));
    for (run, threads) in [(&one, "1"), (&two, "2")] {
        let o = train_tiny(&set, run, threads, &[]);
        assert!(o.status.success(), "{}", text(&o.stderr));
    }
    let b = std::fs::read(two.join("model.safetensors")).unwrap();
    let header = &b[..8 + u64::from_le_bytes(b[..8].try_into().unwrap()) as usize];
    let v1 = tensor_values(&one.join("model.safetensors"), header);
    let v2 = tensor_values(&two.join("model.safetensors"), header);
    let worst = v1
        .iter()
        .zip(&v2)
        .map(|(a, b)| (a - b).abs() / a.abs().max(b.abs()).max(1e-3))
        .fold(0f32, f32::max);
    assert!(worst < 1e-4, "relative difference {worst}");
}
