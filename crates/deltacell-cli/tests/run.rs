//! `deltacell run` on a synthetic movie with tiny trained models: the outputs of every position,
//! the same results for the same inputs, positions and frames selected, and every bad input
//! refused with one error naming it, exit 1 and nothing written. `deltacell training-set` on
//! DeLTA's expected results.

use std::path::{Path, PathBuf};

use std::sync::OnceLock;

mod common;

use common::{deltacell, fails, ok, MOVIE};

/// A synthetic movie (two chambers, as two positions) and tiny seg and track models, made once.
fn setup() -> &'static PathBuf {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap().keep();
        common::movie_and_models(&dir, 2);
        dir
    })
}

#[test]
fn run_writes_every_positions_outputs_and_repeats_itself() {
    let dir = setup();
    let out = ok(&deltacell(
        &[
            "run",
            "-c",
            "chambers.toml",
            "-i",
            MOVIE,
            "-o",
            "out1",
            "-q",
        ],
        dir,
    ));
    assert!(out.contains("position 1: 1 ROIs, 8 frames"), "{out}");
    assert!(out.contains("2 position(s)"), "{out}");
    for p in [1, 2] {
        for f in ["nc", "csv", "png"] {
            assert!(dir.join(format!("out1/Position{p:06}.{f}")).is_file());
        }
        assert!(
            dir.join(format!("out1/Position{p:06}.mp4")).is_file()
                || dir.join(format!("out1/Position{p:06}_movie.png")).is_file()
        );
        let labels = dir.join(format!("out1/Position{p:06}_labels"));
        assert_eq!(std::fs::read_dir(labels).unwrap().count(), 8);
    }
    // No temporary file is left.
    for e in std::fs::read_dir(dir.join("out1")).unwrap() {
        let name = e.unwrap().file_name();
        assert!(!name.to_string_lossy().starts_with('.'), "{name:?}");
    }
    // The same inputs give the same table and labels.
    ok(&deltacell(
        &[
            "run",
            "-c",
            "chambers.toml",
            "-i",
            MOVIE,
            "-o",
            "out2",
            "-q",
        ],
        dir,
    ));
    for f in ["Position000002.csv", "Position000002_labels/labels_005.tif"] {
        assert_eq!(
            std::fs::read(dir.join("out1").join(f)).unwrap(),
            std::fs::read(dir.join("out2").join(f)).unwrap(),
            "{f}"
        );
    }
    // Positions and frames.
    let out = ok(&deltacell(
        &[
            "run",
            "-c",
            "chambers.toml",
            "-i",
            MOVIE,
            "-o",
            "out3",
            "-q",
            "--positions",
            "2",
            "--frames",
            "3-5",
        ],
        dir,
    ));
    assert!(out.contains("position 2: 1 ROIs, 3 frames"), "{out}");
    assert!(!dir.join("out3/Position000001.nc").exists());
    let csv = std::fs::read_to_string(dir.join("out3/Position000002.csv")).unwrap();
    let frames: std::collections::BTreeSet<&str> = csv
        .lines()
        .skip(1)
        .map(|l| l.split(',').nth(3).unwrap())
        .collect();
    assert_eq!(frames.into_iter().collect::<Vec<_>>(), ["3", "4", "5"]);
}

#[test]
fn run_refuses_bad_input_naming_it() {
    let dir = setup();
    let run = |extra: &[&str], out: &str| {
        let mut a = vec!["run", "-c", "chambers.toml", "-i", MOVIE, "-o", out, "-q"];
        a.extend(extra);
        deltacell(&a, dir)
    };
    fails(
        &run(&["-C", "models.seg.min_aera=3"], "e1"),
        "models.seg.min_aera",
    );
    fails(
        &run(&["-C", "models.seg.min_area=big"], "e2"),
        "models.seg.min_area",
    );
    fails(
        &run(&["-C", "models.track.model_path=seg"], "e3"),
        "not a track model",
    );
    fails(
        &run(&["-C", "models.seg.model_path=nothing"], "e4"),
        "nothing",
    );
    fails(&run(&["--positions", "3"], "e5"), "not in the movie");
    fails(&run(&["--frames", "20-30"], "e6"), "no frame in the range");
    fails(&run(&[], "movie/mm/img/out"), "inside the input");
    fails(
        &deltacell(
            &[
                "run",
                "-c",
                "chambers.toml",
                "-i",
                "movie/Nothing{t}.png",
                "-o",
                "e7",
            ],
            dir,
        ),
        "matches the template",
    );
    fails(
        &deltacell(
            &["run", "-c", "mothermachine", "-i", MOVIE, "-o", "e8"],
            dir,
        ),
        "models.rois.model_path",
    );
    fails(
        &deltacell(&["run", "-c", "agar", "-i", MOVIE, "-o", "e9"], dir),
        "presets",
    );
    for e in [
        "e1",
        "e2",
        "e3",
        "e4",
        "e5",
        "e6",
        "e7",
        "e8",
        "e9",
        "movie/mm/img/out",
    ] {
        let d = dir.join(e);
        assert!(
            !d.exists() || std::fs::read_dir(&d).unwrap().next().is_none(),
            "{e} holds files"
        );
    }
    // A frame of another size.
    let odd = dir.join("odd");
    std::fs::create_dir_all(&odd).unwrap();
    for t in 1..=3 {
        let src = dir.join(format!(
            "movie/mm/img/Position000001_Chamber000001_Frame{t:06}.png"
        ));
        std::fs::copy(src, odd.join(format!("f{t}.png"))).unwrap();
    }
    let small = deltacell_data::Plane::filled(10, 10, 3u8);
    deltacell_data::io::write_png_u8(odd.join("f2.png"), &small).unwrap();
    fails(
        &deltacell(
            &[
                "run",
                "-c",
                "chambers.toml",
                "-i",
                "odd/f{t}.png",
                "-o",
                "e10",
            ],
            dir,
        ),
        "f2.png",
    );
}

#[test]
fn training_set_writes_deltas_layout_from_results() {
    let dir = tempfile::tempdir().unwrap();
    let nc = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/data/delta-3.0.0a6/movie_mothermachine_tif/expected_results/Position000001.nc");
    let nc = nc.to_str().unwrap();
    let out = ok(&deltacell(
        &["training-set", nc, "--kind", "seg", "--out", "seg"],
        dir.path(),
    ));
    assert!(out.contains("180 seg samples"), "{out}");
    ok(&deltacell(&["check", "seg", "--kind", "seg"], dir.path()));
    let again = deltacell(
        &["training-set", nc, "--kind", "seg", "--out", "seg"],
        dir.path(),
    );
    fails(&again, "--force");
}

/// Ctrl-C: the position in progress is dropped (none of its files, no temporary file), the
/// finished ones are complete, the exit code is 130.
#[cfg(unix)]
#[test]
fn ctrl_c_keeps_finished_positions_and_drops_the_one_in_progress() {
    use std::time::Duration;
    let dir = setup();
    let many = dir.join("many");
    if !many.is_dir() {
        ok(&deltacell(
            &[
                "synth", "--kind", "movie", "--n", "24", "--seed", "5", "--out", "many",
            ],
            dir,
        ));
    }
    let movie = "many/mm/img/Position{p}_Chamber000001_Frame{t}.png";
    let mut child = common::spawn_quiet(
        &[
            "run",
            "-c",
            "chambers.toml",
            "-i",
            movie,
            "-o",
            "stopped",
            "-q",
        ],
        dir,
    );
    common::wait_for_file(
        &dir.join("stopped/Position000002.nc"),
        Duration::from_secs(120),
        "no position finished",
    );
    common::kill(child.id(), "INT");
    let (code, _) = common::wait(&mut child, Duration::from_secs(180));
    assert_eq!(code, Some(130));
    let out = dir.join("stopped");
    let names: Vec<String> = std::fs::read_dir(&out)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert!(
        names.iter().all(|n| !n.starts_with('.')),
        "temporary files left: {names:?}"
    );
    let done: Vec<u32> = (1..=24)
        .filter(|p| out.join(format!("Position{p:06}.nc")).is_file())
        .collect();
    assert!(
        done.len() >= 2 && done.len() < 24,
        "stopped after {} positions",
        done.len()
    );
    for p in 1..=24u32 {
        let stem = format!("Position{p:06}");
        let files = names.iter().filter(|n| n.starts_with(&stem)).count();
        if done.contains(&p) {
            assert!(files >= 5, "{stem}: {files} outputs of a finished position");
        } else {
            assert_eq!(files, 0, "{stem}: outputs of a dropped position");
        }
    }
}
