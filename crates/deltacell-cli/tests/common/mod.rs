//! Helpers shared by the `run` and `shard` integration tests: the binary, its outcome, and a
//! synthetic mother-machine movie with tiny trained models.

// Each test binary uses some of these.
#![allow(dead_code)]

use std::path::Path;
use std::process::{Command, Output};

/// The movie template of [`movie_and_models`]'s movie.
pub const MOVIE: &str = "movie/mm/img/Position{p}_Chamber000001_Frame{t}.png";

/// Runs `deltacell` in `cwd` with `env` set and no Slurm array variable inherited.
pub fn deltacell_env(args: &[&str], cwd: &Path, env: &[(&str, &str)]) -> Output {
    let mut c = Command::new(env!("CARGO_BIN_EXE_deltacell"));
    c.args(args).current_dir(cwd);
    for k in [
        "SLURM_ARRAY_TASK_ID",
        "SLURM_ARRAY_TASK_COUNT",
        "SLURM_ARRAY_TASK_MIN",
        "SLURM_ARRAY_TASK_STEP",
    ] {
        c.env_remove(k);
    }
    c.envs(env.iter().copied());
    c.output().unwrap()
}

/// Runs `deltacell` in `cwd`.
pub fn deltacell(args: &[&str], cwd: &Path) -> Output {
    deltacell_env(args, cwd, &[])
}

/// Asserts success; the standard output.
pub fn ok(o: &Output) -> String {
    assert!(
        o.status.success(),
        "{}\n{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// Asserts exit status 1 with `needle` in the error and no panic; the standard error.
pub fn fails(o: &Output, needle: &str) -> String {
    let err = String::from_utf8_lossy(&o.stderr).into_owned();
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(err.contains(needle), "expected {needle:?} in: {err}");
    assert!(!err.contains("panicked"), "{err}");
    err
}

/// Writes into `dir` a synthetic movie of `positions` chambers (as positions, [`MOVIE`]), tiny
/// seg and track models (`seg/`, `track/`) and `chambers.toml`, a configuration that uses them.
pub fn movie_and_models(dir: &Path, positions: usize) {
    let tiny = [
        "--preset",
        "mothermachine",
        "--epochs",
        "1",
        "--steps-per-epoch",
        "2",
        "--batch-size",
        "1",
        "--filters",
        "4,8",
        "--quiet",
    ];
    let n = positions.to_string();
    ok(&deltacell(
        &[
            "synth", "--kind", "movie", "--n", &n, "--seed", "3", "--out", "movie",
        ],
        dir,
    ));
    ok(&deltacell(
        &["synth", "--kind", "mm-track", "--n", "4", "--out", "tset"],
        dir,
    ));
    let mut seg = vec!["train", "seg", "--data", "builtin:synth", "--out", "seg"];
    seg.extend(tiny);
    ok(&deltacell(&seg, dir));
    let mut track = vec!["train", "track", "--data", "tset", "--out", "track"];
    track.extend(tiny);
    ok(&deltacell(&track, dir));
    std::fs::write(
        dir.join("chambers.toml"),
        "[models.seg]\nmodel_path = \"seg\"\ntarget_size = [256, 32]\n\
         tolerable_resizing_factor = 2\n[models.track]\nmodel_path = \"track\"\n\
         target_size = [256, 32]\ntolerable_resizing_factor = 2\n",
    )
    .unwrap();
}

/// Starts `deltacell` in `cwd` with its output discarded (for tests that signal it).
pub fn spawn_quiet(args: &[&str], cwd: &Path) -> std::process::Child {
    Command::new(env!("CARGO_BIN_EXE_deltacell"))
        .args(args)
        .current_dir(cwd)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap()
}

/// Waits until `path` exists, at most `limit` (the test fails with `what` then).
pub fn wait_for_file(path: &Path, limit: std::time::Duration, what: &str) {
    let t0 = std::time::Instant::now();
    while !path.exists() {
        assert!(t0.elapsed() < limit, "{what}");
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
}

/// Sends `signal` (by name, e.g. "INT") to `pid` with kill(1).
pub fn kill(pid: u32, signal: &str) {
    let st = Command::new("kill")
        .args([format!("-{signal}"), pid.to_string()])
        .status()
        .expect("kill");
    assert!(st.success());
}

/// Waits for `child` at most `limit`; returns its exit code and how long it took.
pub fn wait(
    child: &mut std::process::Child,
    limit: std::time::Duration,
) -> (Option<i32>, std::time::Duration) {
    let t0 = std::time::Instant::now();
    loop {
        if let Some(st) = child.try_wait().unwrap() {
            return (st.code(), t0.elapsed());
        }
        if t0.elapsed() > limit {
            let _ = child.kill();
            panic!("the command did not stop within {limit:?} of the signal");
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
}
