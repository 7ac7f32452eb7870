//! `deltacell run --shard I/N` and `deltacell merge` on a synthetic movie of 4 positions with
//! tiny trained models: shards that split the positions without overlap, a re-run that skips
//! finished positions, changed models, configurations and inputs refused then redone with
//! `--redo`, a position killed mid-write redone, a failed position that does not stop the others
//! and that merge names, and the merged experiment equal to a single-process run's, byte for
//! byte.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

mod common;

use common::{deltacell, deltacell_env, fails, ok, MOVIE};

/// A synthetic movie of 4 positions and tiny seg and track models, made once.
fn setup() -> &'static PathBuf {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap().keep();
        common::movie_and_models(&dir, 4);
        // The single-process run every other run is compared with.
        ok(&deltacell(&run_args("one", &["--no-movie"]), &dir));
        ok(&deltacell(&["merge", "one"], &dir));
        dir
    })
}

fn run_args<'a>(out: &'a str, extra: &[&'a str]) -> Vec<&'a str> {
    let mut a = vec!["run", "-c", "chambers.toml", "-i", MOVIE, "-o", out, "-q"];
    a.extend(extra);
    a
}

fn names(dir: &Path) -> BTreeSet<String> {
    std::fs::read_dir(dir)
        .map(|r| {
            r.map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default()
}

fn same(a: &Path, b: &Path, file: &str) {
    assert_eq!(
        std::fs::read(a.join(file)).unwrap(),
        std::fs::read(b.join(file)).unwrap(),
        "{file} differs between {} and {}",
        a.display(),
        b.display()
    );
}

#[test]
fn shards_split_the_positions_and_merge_into_the_single_process_result() {
    let dir = setup();
    let mut seen: BTreeSet<String> = BTreeSet::new();
    for i in 0..3 {
        let shard = format!("{i}/3");
        let out = ok(&deltacell(
            &run_args("sharded", &["--no-movie", "--shard", &shard]),
            dir,
        ));
        // Shard i of 3 over positions 1..=4: indices ≡ i (mod 3).
        let mine: Vec<u32> = (1..=4u32).filter(|p| (p - 1) % 3 == i).collect();
        let now = names(&dir.join("sharded"));
        let new: BTreeSet<String> = now.difference(&seen).cloned().collect();
        assert!(
            seen.iter().all(|n| now.contains(n)),
            "a shard removed files"
        );
        let positions: BTreeSet<u32> = new
            .iter()
            .map(|n| {
                n["Position".len().."Position".len() + 6]
                    .parse::<u32>()
                    .unwrap()
            })
            .collect();
        assert_eq!(positions.into_iter().collect::<Vec<_>>(), mine, "{out}");
        seen = now;
    }
    // Merged: the same experiment table, index and per-position files as one process.
    let merged = ok(&deltacell(&["merge", "sharded"], dir));
    assert!(merged.contains("4 of 4 position(s) complete"), "{merged}");
    let (one, sharded) = (dir.join("one"), dir.join("sharded"));
    assert_eq!(names(&one), names(&sharded));
    for p in 1..=4 {
        for f in ["csv", "nc", "png", "fingerprint.json"] {
            same(&one, &sharded, &format!("Position{p:06}.{f}"));
        }
        same(
            &one,
            &sharded,
            &format!("Position{p:06}_labels/labels_003.tif"),
        );
    }
    same(&one, &sharded, "experiment.csv");
    same(&one, &sharded, "positions.csv");
    let table = std::fs::read_to_string(one.join("experiment.csv")).unwrap();
    let positions: BTreeSet<&str> = table
        .lines()
        .skip(1)
        .map(|l| l.split(',').next().unwrap())
        .collect();
    assert_eq!(
        positions.into_iter().collect::<Vec<_>>(),
        ["1", "2", "3", "4"]
    );

    // A re-submitted shard skips its finished positions; Slurm's variables pick the shard.
    let again = ok(&deltacell_env(
        &run_args("sharded", &["--no-movie"]),
        dir,
        &[
            ("SLURM_ARRAY_TASK_ID", "1"),
            ("SLURM_ARRAY_TASK_COUNT", "3"),
        ],
    ));
    assert_eq!(again.matches("skipped").count(), 1, "{again}");
    assert!(again.contains("position 2: skipped"), "{again}");
    // More shards than positions: an empty shard says so and succeeds.
    let empty = ok(&deltacell(
        &run_args("empty", &["--shard", "2/3", "--positions", "1-2"]),
        dir,
    ));
    assert!(empty.contains("no position to analyse"), "{empty}");
    // Bad shards and unknown positions fail before any work, writing nothing.
    // (A bad --shard is a usage error, clap's exit 2.)
    let bad = deltacell(&run_args("bad1", &["--shard", "3/3"]), dir);
    let err = String::from_utf8_lossy(&bad.stderr);
    assert_eq!(bad.status.code(), Some(2), "{err}");
    assert!(
        err.contains("shard 3/3: the shard index must be from 0 to 2"),
        "{err}"
    );
    fails(
        &deltacell_env(
            &run_args("bad2", &[]),
            dir,
            &[
                ("SLURM_ARRAY_TASK_ID", "x"),
                ("SLURM_ARRAY_TASK_COUNT", "3"),
            ],
        ),
        "SLURM_ARRAY_TASK_ID=x",
    );
    fails(
        &deltacell(
            &run_args("bad3", &["--positions", "2,9", "--shard", "0/2"]),
            dir,
        ),
        "position(s) 9 not in the movie",
    );
    for d in ["bad1", "bad2", "bad3"] {
        assert!(names(&dir.join(d)).is_empty(), "{d}");
    }
}

#[test]
fn changed_models_configurations_and_inputs_are_refused_then_redone() {
    let dir = setup();
    let nc = dir.join("changed/Position000001.nc");
    ok(&deltacell(
        &run_args("changed", &["--positions", "1", "--no-movie"]),
        dir,
    ));
    let before = std::fs::read(&nc).unwrap();

    // A configuration setting.
    let err = fails(
        &deltacell(
            &run_args(
                "changed",
                &[
                    "--positions",
                    "1",
                    "--no-movie",
                    "-C",
                    "models.seg.min_area=30",
                ],
            ),
            dir,
        ),
        "configuration",
    );
    assert!(
        err.contains("position 1") && err.contains("--redo"),
        "{err}"
    );
    // Other weights in a model of the same architecture.
    let seg2 = dir.join("seg2");
    if !seg2.is_dir() {
        std::fs::create_dir_all(&seg2).unwrap();
        for e in std::fs::read_dir(dir.join("seg")).unwrap() {
            let e = e.unwrap();
            if e.path().is_file() {
                std::fs::copy(e.path(), seg2.join(e.file_name())).unwrap();
            }
        }
        let w = seg2.join("model.safetensors");
        let mut bytes = std::fs::read(&w).unwrap();
        let last = bytes.len() - 1;
        bytes[last] ^= 0x01;
        std::fs::write(&w, bytes).unwrap();
    }
    let model = [
        "--positions",
        "1",
        "--no-movie",
        "-C",
        "models.seg.model_path=seg2",
    ];
    fails(&deltacell(&run_args("changed", &model), dir), "model seg");
    // Options: the results movie asked for now.
    fails(
        &deltacell(&run_args("changed", &["--positions", "1"]), dir),
        "outputs asked for",
    );
    assert_eq!(std::fs::read(&nc).unwrap(), before, "a refused run wrote");
    // --redo analyses it again with the other model.
    let mut redo = model.to_vec();
    redo.push("--redo");
    let out = ok(&deltacell(&run_args("changed", &redo), dir));
    assert!(out.contains("position 1: 1 ROIs"), "{out}");
    let fp = std::fs::read_to_string(dir.join("changed/Position000001.fingerprint.json")).unwrap();
    let again = ok(&deltacell(&run_args("changed", &model), dir));
    assert!(again.contains("position 1: skipped"), "{again}");
    assert!(fp.contains("\"seg\""), "{fp}");

    // An input frame changed on disk.
    let copy = dir.join("movie_copy");
    std::fs::create_dir_all(&copy).unwrap();
    for e in std::fs::read_dir(dir.join("movie/mm/img")).unwrap() {
        let e = e.unwrap();
        std::fs::copy(e.path(), copy.join(e.file_name())).unwrap();
    }
    let template = "movie_copy/Position{p}_Chamber000001_Frame{t}.png";
    let args = [
        "run",
        "-c",
        "chambers.toml",
        "-i",
        template,
        "-o",
        "input",
        "-q",
        "--positions",
        "1",
        "--no-movie",
    ];
    ok(&deltacell(&args, dir));
    std::fs::copy(
        copy.join("Position000002_Chamber000001_Frame000003.png"),
        copy.join("Position000001_Chamber000001_Frame000003.png"),
    )
    .unwrap();
    fails(&deltacell(&args, dir), "input frames");
}

#[test]
fn killed_positions_are_named_by_merge_and_redone_by_a_rerun() {
    let dir = setup();
    ok(&deltacell(&run_args("killed", &["--no-movie"]), dir));
    let out = dir.join("killed");
    // Position 2 killed while writing (everything but its results file), position 3 never
    // started.
    std::fs::remove_file(out.join("Position000002.nc")).unwrap();
    for n in names(&out) {
        if n.starts_with("Position000003") {
            let p = out.join(&n);
            if p.is_dir() {
                std::fs::remove_dir_all(p).unwrap();
            } else {
                std::fs::remove_file(p).unwrap();
            }
        }
    }
    let err = fails(&deltacell(&["merge", "killed"], dir), "not complete: 2, 3");
    assert!(err.contains("position 2: partial"), "{err}");
    assert!(err.contains("position 3: missing"), "{err}");
    assert!(!out.join("experiment.csv").exists());
    let index = std::fs::read_to_string(out.join("positions.csv")).unwrap();
    assert!(
        index.contains("\n2,partial,") && index.contains("\n3,missing,"),
        "{index}"
    );

    let rerun = ok(&deltacell(&run_args("killed", &["--no-movie"]), dir));
    assert_eq!(rerun.matches("skipped").count(), 2, "{rerun}");
    assert!(rerun.contains("position 2: 1 ROIs") && rerun.contains("position 3: 1 ROIs"));
    ok(&deltacell(&["merge", "killed"], dir));
    same(&dir.join("one"), &out, "experiment.csv");
    same(&dir.join("one"), &out, "positions.csv");
}

#[test]
fn a_failed_position_does_not_stop_the_others_and_merge_names_it() {
    let dir = setup();
    let copy = dir.join("movie_bad");
    std::fs::create_dir_all(&copy).unwrap();
    for e in std::fs::read_dir(dir.join("movie/mm/img")).unwrap() {
        let e = e.unwrap();
        std::fs::copy(e.path(), copy.join(e.file_name())).unwrap();
    }
    // Position 2's frame 4 of another size.
    let frame = copy.join("Position000002_Chamber000001_Frame000004.png");
    let good = std::fs::read(&frame).unwrap();
    let small = deltacell_data::Plane::filled(10, 10, 3u8);
    deltacell_data::io::write_png_u8(&frame, &small).unwrap();
    let args = [
        "run",
        "-c",
        "chambers.toml",
        "-i",
        "movie_bad/Position{p}_Chamber000001_Frame{t}.png",
        "-o",
        "failed",
        "-q",
        "--no-movie",
    ];
    let err = fails(&deltacell(&args, dir), "1 position(s) failed: 2");
    assert!(err.contains("Frame000004.png"), "{err}");
    let out = dir.join("failed");
    for p in [1, 3, 4] {
        assert!(out.join(format!("Position{p:06}.nc")).is_file());
    }
    let record = std::fs::read_to_string(out.join("Position000002.error.txt")).unwrap();
    assert!(record.contains("Frame000004.png"), "{record}");
    let err = fails(&deltacell(&["merge", "failed"], dir), "not complete: 2");
    assert!(err.contains("position 2: failed:"), "{err}");
    // The frame repaired: the rerun does position 2 alone and removes its failure record.
    std::fs::write(&frame, good).unwrap();
    let rerun = ok(&deltacell(&args, dir));
    assert_eq!(rerun.matches("skipped").count(), 3, "{rerun}");
    assert!(!out.join("Position000002.error.txt").exists());
    ok(&deltacell(&["merge", "failed"], dir));
}
