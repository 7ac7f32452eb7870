//! Hardening: no command can destroy input data, every stop is clean, every number is checked.
//! One test per defect found by hostile use of the commands, each running the real binary.

use std::collections::BTreeMap;
use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use deltacell_data::{io, Image, Mask, Plane};

mod common;

use common::{kill, spawn_quiet, wait, wait_for_file};

fn deltacell(args: &[&str], cwd: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_deltacell"))
        .args(args)
        .current_dir(cwd)
        .output()
        .expect("run deltacell")
}

fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

fn ok(args: &[&str], cwd: &Path) -> Output {
    let o = deltacell(args, cwd);
    assert!(o.status.success(), "deltacell {args:?}:\n{}", text(&o));
    o
}

/// Exit 1 (a clean refusal, not a panic, an abort or clap's 2) with `needle` in the message.
fn refused(args: &[&str], cwd: &Path, needle: &str) -> Output {
    let o = deltacell(args, cwd);
    assert_eq!(
        o.status.code(),
        Some(1),
        "deltacell {args:?}:\n{}",
        text(&o)
    );
    assert!(
        text(&o).contains(needle),
        "deltacell {args:?}: expected {needle:?} in\n{}",
        text(&o)
    );
    o
}

/// Every file under `dir` with its bytes.
fn snapshot(dir: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    let mut out = BTreeMap::new();
    let mut todo = vec![dir.to_path_buf()];
    while let Some(d) = todo.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                todo.push(p);
            } else {
                out.insert(p.clone(), std::fs::read(&p).unwrap());
            }
        }
    }
    out
}

fn temp_files(dir: &Path) -> Vec<PathBuf> {
    snapshot(dir)
        .into_keys()
        .filter(|p| p.to_string_lossy().ends_with(".tmp"))
        .collect()
}

/// A mother-machine-like segmentation set: `n` 64×16 chambers with two cells (`img/`, `seg/`).
fn seg_set(root: &Path, n: usize) {
    std::fs::create_dir_all(root.join("seg")).unwrap();
    std::fs::create_dir_all(root.join("img")).unwrap();
    for i in 0..n {
        let img = Image::from_plane(Plane::from_fn(64, 16, |r, c| {
            ((r + c + i) % 7) as f32 / 7.0
        }));
        let name = format!("Position01_Frame{i:03}.png");
        io::write_image(root.join("img").join(&name), &img, io::Depth::U16).unwrap();
        let m = Mask::from_fn(64, 16, |r, c| {
            (3..13).contains(&c) && ((2 + i..24).contains(&r) || (26..50).contains(&r))
        });
        io::write_mask(root.join("seg").join(&name), &m).unwrap();
    }
}

/// A tiny segmentation model (2 levels, 4 and 8 filters, one step) in `cwd/run`.
fn tiny_model(cwd: &Path) -> PathBuf {
    ok(
        &[
            "train",
            "seg",
            "--preset",
            "mothermachine",
            "--data",
            "builtin:synth",
            "--out",
            "run",
            "--filters",
            "4,8",
            "--epochs",
            "1",
            "--steps-per-epoch",
            "1",
            "--batch-size",
            "1",
            "--val-steps",
            "1",
            "--quiet",
        ],
        cwd,
    );
    cwd.join("run")
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

#[test]
fn outputs_that_overlap_inputs_are_refused_and_nothing_is_written() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    let set = d.join("set");
    seg_set(&set, 3);
    let before = snapshot(&set);
    let img = set.join("img");
    let seg = set.join("seg");
    let msg = "choose an output outside the inputs";
    // predict seg: the folder itself, a folder inside it, a folder that contains it.
    for out in [img.clone(), img.join("masks"), set.clone(), d.to_path_buf()] {
        let o = refused(
            &[
                "predict",
                "seg",
                "--model",
                "nowhere",
                "--input",
                s(&img),
                "--out",
                s(&out),
            ],
            d,
            msg,
        );
        assert!(text(&o).contains(s(&img)), "{}", text(&o));
    }
    #[cfg(unix)]
    {
        // Through a symbolic link.
        let link = d.join("link");
        std::os::unix::fs::symlink(&img, &link).unwrap();
        refused(
            &[
                "predict",
                "seg",
                "--model",
                "nowhere",
                "--input",
                s(&img),
                "--out",
                s(&link),
            ],
            d,
            "output is the input",
        );
    }
    refused(
        &[
            "predict",
            "track",
            "--model",
            "nowhere",
            "--images",
            s(&img),
            "--segs",
            s(&seg),
            "--out",
            s(&seg),
        ],
        d,
        msg,
    );
    // augment: the set itself, a folder inside it, a sheet inside it.
    for args in [
        vec!["augment", s(&set), "--config", "seg", "--out-dir", s(&set)],
        vec![
            "augment",
            s(&set),
            "--config",
            "seg",
            "--out-dir",
            "set/aug",
        ],
        vec![
            "augment",
            s(&set),
            "--config",
            "seg",
            "--out",
            "set/img/sheet.png",
        ],
    ] {
        refused(&args, d, msg);
    }
    refused(
        &["batches", s(&set), "--kind", "seg", "--out", "set/b.png"],
        d,
        msg,
    );
    refused(
        &[
            "eval",
            "seg",
            "--pred",
            s(&seg),
            "--truth",
            s(&seg),
            "--report",
            "set/seg/r",
        ],
        d,
        msg,
    );
    refused(
        &[
            "train",
            "seg",
            "--preset",
            "mothermachine",
            "--data",
            s(&set),
            "--out",
            "set/run",
        ],
        d,
        msg,
    );
    refused(
        &[
            "import-keras",
            "set/img/Position01_Frame000.png",
            "--kind",
            "seg",
            "--out",
            "set",
        ],
        d,
        msg,
    );
    assert_eq!(snapshot(&set), before, "the input set was modified");
    // A non-empty folder elsewhere is not overwritten by `augment --out-dir` either.
    std::fs::create_dir_all(d.join("other")).unwrap();
    std::fs::write(d.join("other/keep.txt"), b"x").unwrap();
    refused(
        &["augment", s(&set), "--config", "seg", "--out-dir", "other"],
        d,
        "not empty",
    );
}

#[test]
fn sizes_that_cannot_fit_in_memory_are_refused_before_allocating() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    std::fs::write(
        d.join("big.toml"),
        "[models.seg]\ntarget_size = [262144, 262144]\n",
    )
    .unwrap();
    let o = refused(
        &[
            "train",
            "seg",
            "--preset",
            "mothermachine",
            "--config",
            "big.toml",
            "--data",
            "builtin:synth",
            "--out",
            "run",
        ],
        d,
        "would need",
    );
    assert!(text(&o).contains("available"), "{}", text(&o));
    assert!(!d.join("run").exists(), "a refused start left a run folder");
    // The dataset side (no network): a batch of huge samples.
    seg_set(&d.join("set"), 2);
    std::fs::write(
        d.join("data.toml"),
        "[models.seg]\ntarget_size = [262144, 262144]\n",
    )
    .unwrap();
    refused(
        &[
            "batches",
            "set",
            "--kind",
            "seg",
            "--config",
            "data.toml",
            "--out",
            "b.png",
        ],
        d,
        "would need",
    );
    assert!(!d.join("b.png").exists());
}

/// A reader that went away (`deltacell config show | head -c 0`, a failed script): the command
/// stops at its first print with SIGPIPE's exit status (141) and one line on stderr, never a
/// panic. The pipe's read end is closed before the command starts, so its first write fails.
#[cfg(unix)]
#[test]
fn a_closed_standard_output_stops_the_command_without_a_panic() {
    let tmp = tempfile::tempdir().unwrap();
    let (reader, writer) = std::io::pipe().unwrap();
    drop(reader);
    let o = Command::new(env!("CARGO_BIN_EXE_deltacell"))
        .args(["config", "show", "--preset", "2D"])
        .current_dir(tmp.path())
        .stdout(writer)
        .stderr(Stdio::piped())
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(141), "{err}");
    assert!(!err.contains("panicked"), "{err}");
    assert!(err.contains("standard output was closed"), "{err}");
}

#[cfg(unix)]
#[test]
fn signals_stop_commands_at_once_cleanly_with_the_shells_codes() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    for (signal, code) in [("INT", 130), ("TERM", 143)] {
        let out = d.join(format!("synth-{signal}"));
        let mut child = Command::new(env!("CARGO_BIN_EXE_deltacell"))
            .args([
                "synth",
                "--kind",
                "2d-seg",
                "--n",
                "20000",
                "-q",
                "--out",
                s(&out),
            ])
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        // Wait until it writes files, then interrupt it.
        let t0 = Instant::now();
        while !out.join("img").is_dir() || std::fs::read_dir(out.join("img")).unwrap().count() < 2 {
            assert!(
                t0.elapsed() < Duration::from_secs(60),
                "synth wrote nothing"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        kill(child.id(), signal);
        let (got, took) = wait(&mut child, Duration::from_secs(10));
        assert_eq!(got, Some(code), "SIGINT/SIGTERM exit code");
        assert!(took < Duration::from_secs(3), "took {took:?} to stop");
        assert!(temp_files(&out).is_empty(), "{:?}", temp_files(&out));
        // What was written is complete.
        for p in snapshot(&out.join("img")).keys() {
            io::read_raw(p).unwrap_or_else(|e| panic!("partial file {}: {e}", p.display()));
        }
    }
}

#[cfg(unix)]
#[test]
fn interrupted_training_keeps_a_checkpoint_and_exits_130() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    let mut child = spawn_quiet(
        &[
            "train",
            "seg",
            "--preset",
            "mothermachine",
            "--data",
            "builtin:synth",
            "--out",
            "run",
            "--filters",
            "4,8",
            "--epochs",
            "100000",
            "--steps-per-epoch",
            "2",
            "--batch-size",
            "1",
            "--val-steps",
            "1",
            "--quiet",
        ],
        d,
    );
    wait_for_file(
        &d.join("run/history.csv"),
        Duration::from_secs(120),
        "no epoch finished",
    );
    kill(child.id(), "INT");
    let (code, _) = wait(&mut child, Duration::from_secs(30));
    assert_eq!(code, Some(130));
    assert!(d.join("run/checkpoint.toml").is_file());
    assert!(temp_files(d).is_empty(), "{:?}", temp_files(d));
    // The checkpoint is accepted by --resume.
    let o = deltacell(
        &[
            "train",
            "seg",
            "--preset",
            "mothermachine",
            "--data",
            "builtin:synth",
            "--out",
            "run",
            "--filters",
            "4,8",
            "--epochs",
            "100000",
            "--steps-per-epoch",
            "2",
            "--batch-size",
            "1",
            "--val-steps",
            "1",
            "--quiet",
            "--resume",
            "--epochs",
            "1",
        ],
        d,
    );
    assert!(
        o.status.code() == Some(0) || o.status.code() == Some(2),
        "{}",
        text(&o)
    );
}

#[test]
fn stale_temporary_files_of_a_killed_run_are_removed_by_the_next() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    let run = tiny_model(d);
    seg_set(&d.join("set"), 2);
    std::fs::create_dir_all(d.join("masks")).unwrap();
    // What a SIGKILLed predict leaves: a temporary file of a process that no longer runs.
    let stale = d.join("masks/.deltacell-4194304-abcdef.tmp");
    std::fs::write(&stale, b"partial").unwrap();
    ok(
        &[
            "predict",
            "seg",
            "--model",
            s(&run),
            "--input",
            "set/img",
            "--out",
            "masks",
            "-q",
        ],
        d,
    );
    assert!(!stale.exists(), "the stale temporary file is still there");
    assert_eq!(std::fs::read_dir(d.join("masks")).unwrap().count(), 2);
}

#[cfg(unix)]
#[test]
fn written_files_get_the_umask_permissions() {
    use std::os::unix::fs::PermissionsExt;
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    for (umask, mode) in [("022", 0o644), ("027", 0o640)] {
        let out = d.join(format!("set{umask}"));
        let st = Command::new("sh")
            .arg("-c")
            .arg(format!(
                "umask {umask} && exec \"$0\" synth --kind mm-seg --n 2 -q --out \"$1\""
            ))
            .arg(env!("CARGO_BIN_EXE_deltacell"))
            .arg(&out)
            .status()
            .unwrap();
        assert!(st.success());
        for p in snapshot(&out).keys() {
            let m = std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
            assert_eq!(m, mode, "{} under umask {umask}: {m:o}", p.display());
        }
    }
}

#[test]
fn check_and_every_training_command_refuse_non_binary_masks_alike() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    seg_set(&d.join("set"), 3);
    // An anti-aliased mask: 0, 128 and 255.
    let bad = Plane::from_fn(64, 16, |r, c| match (r + c) % 3 {
        0 => 0u8,
        1 => 128,
        _ => 255,
    });
    io::write_png_u8(d.join("set/seg/Position01_Frame001.png"), &bad).unwrap();
    let name = "Position01_Frame001.png";
    refused(&["check", "set"], d, name);
    refused(&["weights", "set", "--kind", "seg"], d, name);
    refused(
        &["augment", "set", "--config", "seg", "--out", "a.png"],
        d,
        name,
    );
    refused(
        &["batches", "set", "--kind", "seg", "--out", "b.png"],
        d,
        name,
    );
    refused(
        &[
            "train",
            "seg",
            "--preset",
            "mothermachine",
            "--data",
            "set",
            "--out",
            "run",
            "--filters",
            "4,8",
            "--epochs",
            "1",
            "--steps-per-epoch",
            "1",
        ],
        d,
        name,
    );
    assert!(!d.join("set/wei").exists() && !d.join("run").exists());
    assert!(!d.join("a.png").exists() && !d.join("b.png").exists());
}

#[test]
fn check_and_every_training_command_refuse_stale_weights_alike() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    seg_set(&d.join("set"), 3);
    ok(&["weights", "set", "--kind", "seg"], d);
    ok(&["check", "set"], d);
    // Edit a mask after its weights were computed.
    let p = d.join("set/seg/Position01_Frame002.png");
    let m = io::read_binary_mask(&p).unwrap();
    io::write_mask(
        &p,
        &Mask::from_fn(64, 16, |r, c| m.get(r, c) != 0 || r == 60),
    )
    .unwrap();
    let stale = "stale weight map: wei/Position01_Frame002.png";
    refused(&["check", "set"], d, stale);
    refused(
        &["augment", "set", "--config", "seg", "--out", "a.png"],
        d,
        stale,
    );
    refused(
        &["batches", "set", "--kind", "seg", "--out", "b.png"],
        d,
        stale,
    );
    refused(
        &[
            "train",
            "seg",
            "--preset",
            "mothermachine",
            "--data",
            "set",
            "--out",
            "run",
            "--filters",
            "4,8",
            "--epochs",
            "1",
            "--steps-per-epoch",
            "1",
        ],
        d,
        stale,
    );
    // The fix the message gives works.
    ok(&["weights", "set", "--kind", "seg", "--force"], d);
    ok(&["check", "set"], d);
}

#[cfg(unix)]
#[test]
fn file_names_that_are_not_utf8_are_kept_or_refused_by_name() {
    use std::os::unix::ffi::OsStrExt;
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    seg_set(&d.join("set"), 2);
    let odd = OsStr::from_bytes(b"Position01_Frame\xff.png");
    for sub in ["img", "seg"] {
        std::fs::rename(
            d.join("set").join(sub).join("Position01_Frame001.png"),
            d.join("set").join(sub).join(odd),
        )
        .unwrap();
    }
    refused(&["weights", "set", "--kind", "seg"], d, "not valid UTF-8");
    let run = tiny_model(d);
    ok(
        &[
            "predict",
            "seg",
            "--model",
            s(&run),
            "--input",
            "set/img",
            "--out",
            "out",
            "-q",
        ],
        d,
    );
    let mut names: Vec<Vec<u8>> = std::fs::read_dir(d.join("out"))
        .unwrap()
        .map(|e| e.unwrap().file_name().as_bytes().to_vec())
        .collect();
    names.sort();
    assert_eq!(
        names,
        vec![
            b"Position01_Frame000.png".to_vec(),
            b"Position01_Frame\xff.png".to_vec()
        ]
    );
}

#[test]
fn a_folder_called_synth_is_a_folder_and_the_builtin_data_has_its_own_name() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    let args = [
        "train",
        "seg",
        "--preset",
        "mothermachine",
        "--data",
        "synth",
        "--out",
        "run",
        "--filters",
        "4,8",
        "--epochs",
        "1",
        "--steps-per-epoch",
        "1",
    ];
    refused(&args, d, "builtin:synth");
    std::fs::create_dir(d.join("synth")).unwrap();
    let o = refused(&args, d, "synth");
    assert!(text(&o).contains("not a training set"), "{}", text(&o));
    assert!(!d.join("run").exists());
}

#[test]
fn numbers_outside_their_range_are_refused_with_the_range() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    seg_set(&d.join("set"), 2);
    for (args, needle) in [
        (
            vec!["weights", "set", "--kind", "seg", "--classweights", "nan,1"],
            "finite",
        ),
        (
            vec!["weights", "set", "--kind", "seg", "--classweights=-1,1"],
            "> 0",
        ),
        (
            vec!["weights", "set", "--kind", "seg", "--classweights", "inf,1"],
            "finite",
        ),
        (
            vec!["weights", "set", "--kind", "seg", "--sigma", "0"],
            "> 0",
        ),
        (
            vec!["weights", "set", "--kind", "track", "--halo", "nan"],
            "finite",
        ),
        (
            vec![
                "predict",
                "seg",
                "--model",
                "m",
                "--input",
                "set/img",
                "--out",
                "o",
                "--threshold",
                "1.5",
            ],
            "(0, 1)",
        ),
        (
            vec![
                "train",
                "seg",
                "--data",
                "builtin:synth",
                "--out",
                "r",
                "--learning-rate",
                "nan",
            ],
            "finite",
        ),
        (
            vec![
                "train",
                "seg",
                "--data",
                "builtin:synth",
                "--out",
                "r",
                "--epochs",
                "0",
            ],
            ">= 1",
        ),
    ] {
        let o = deltacell(&args, d);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {}", text(&o));
        assert!(text(&o).contains(needle), "{args:?}: {}", text(&o));
    }
    assert!(!d.join("set/wei").exists() && !d.join("r").exists());
    // Configuration keys: the augmentation table is checked by `config show` and `train`.
    std::fs::write(
        d.join("zoom.toml"),
        "[models.seg.augmentation]\nzoom = -1\n",
    )
    .unwrap();
    refused(
        &[
            "config",
            "show",
            "--preset",
            "mothermachine",
            "--config",
            "zoom.toml",
        ],
        d,
        "zoom = -1",
    );
    std::fs::write(d.join("epochs.toml"), "[models.seg]\nepochs = 0\n").unwrap();
    refused(
        &[
            "config",
            "show",
            "--preset",
            "mothermachine",
            "--config",
            "epochs.toml",
        ],
        d,
        "epochs = 0",
    );
}

#[test]
fn errors_are_one_clean_line_and_a_refused_start_leaves_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    for args in [
        vec![
            "train",
            "seg",
            "--preset",
            "mothermachine",
            "--data",
            "nowhere",
            "--out",
            "run",
        ],
        vec![
            "predict", "seg", "--model", "nowhere", "--input", "nowhere", "--out", "out",
        ],
        vec!["weights", "nowhere", "--kind", "seg"],
        vec!["check", "nowhere"],
    ] {
        let o = deltacell(&args, d);
        assert_eq!(o.status.code(), Some(1), "{args:?}: {}", text(&o));
        let err = String::from_utf8_lossy(&o.stderr).into_owned();
        assert_eq!(err.matches("error:").count(), 1, "{args:?}: {err}");
        assert!(err.contains("nowhere"), "{args:?}: {err}");
        for debug in ["Os {", "kind:", "Error {", "Custom {"] {
            assert!(
                !err.contains(debug),
                "{args:?}: Debug-formatted error: {err}"
            );
        }
        // The cause is not repeated.
        let line = err.lines().find(|l| l.starts_with("error:")).unwrap();
        let cause = "No such file or directory";
        assert!(line.matches(cause).count() <= 1, "{args:?}: {line}");
    }
    assert!(!d.join("run").exists() && !d.join("out").exists());
}
