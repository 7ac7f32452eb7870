//! Runs every example script of `examples/` on synthetic data (tiny models, a few dozen steps)
//! and checks what it produced: the example files are compiled into this test as modules.

#[path = "../examples/eval_seg.rs"]
mod eval_seg;
#[path = "../examples/eval_track.rs"]
mod eval_track;
#[path = "../examples/train_rois.rs"]
mod train_rois;
#[path = "../examples/train_seg.rs"]
mod train_seg;
#[path = "../examples/train_seg_custom.rs"]
mod train_seg_custom;
#[path = "../examples/train_track.rs"]
mod train_track;

use std::path::Path;

use deltacell_nn::run_dir::{RunDir, CURVES_FILE, HISTORY_FILE, MODEL_FILE, MODEL_INFO_FILE};
use deltacell_nn::train::StopReason;

fn assert_run_dir(dir: &Path) {
    for f in [MODEL_FILE, MODEL_INFO_FILE, HISTORY_FILE, CURVES_FILE] {
        assert!(dir.join(f).is_file(), "{} missing", dir.join(f).display());
    }
    RunDir::open(dir).unwrap().model_info().unwrap();
}

fn assert_png_names(files: &[std::path::PathBuf], dir: &Path, pattern_cell: bool) {
    assert!(!files.is_empty());
    for f in files {
        assert_eq!(f.parent(), Some(dir), "{}", f.display());
        let name = f.file_name().unwrap().to_string_lossy();
        assert!(
            name.starts_with("Position000001_Chamber000001_Frame"),
            "{name}"
        );
        assert!(name.ends_with(".png"), "{name}");
        assert_eq!(name.contains("Cell"), pattern_cell, "{name}");
        assert!(std::fs::metadata(f).unwrap().len() > 0);
    }
}

#[test]
fn train_seg_short_script_trains_predicts_and_scores() {
    let tmp = tempfile::tempdir().unwrap();
    let (run_dir, f1) = train_seg::run(tmp.path()).unwrap();
    assert_run_dir(&run_dir);
    assert!((0.0..=1.0).contains(&f1), "F1 {f1}");
    let masks = deltacell_data::predict::list_images(&tmp.path().join("seg")).unwrap();
    assert_eq!(masks.len(), deltacell_data::synth::MOVIE_FRAMES);
    // The script stays as short as DeLTA's train_seg.py (about 40 lines of code).
    let text = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/train_seg.rs"),
    )
    .unwrap();
    let code = text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with("//"))
        .count();
    assert!(code <= 45, "examples/train_seg.rs has {code} lines of code");
}

#[test]
fn train_seg_custom_then_eval_seg() {
    let tmp = tempfile::tempdir().unwrap();
    let trained = train_seg_custom::run(&tmp.path().join("train")).unwrap();
    assert_eq!(trained.reason, StopReason::Completed);
    assert_eq!(trained.history.epochs.len(), 3);
    assert_eq!(trained.steps_logged, 3 * 8);
    let first = &trained.history.epochs[0];
    let last = trained.history.epochs.last().unwrap();
    assert!(first.loss.is_finite() && last.loss.is_finite());
    assert!(
        last.loss < first.loss,
        "training loss did not drop: {} -> {}",
        first.loss,
        last.loss
    );
    assert!(trained.history.epochs.iter().all(|r| r.val_loss.is_some()));
    assert_run_dir(&trained.run_dir);

    let out = tmp.path().join("eval");
    let ev = eval_seg::run(&out, &trained.run_dir).unwrap();
    // One mask per frame of the synthetic movie, under the frame's name.
    assert_eq!(ev.masks.len(), deltacell_data::synth::MOVIE_FRAMES);
    assert_png_names(&ev.masks, &out.join("seg"), false);
    for m in &ev.masks {
        let mask = deltacell_data::io::read_mask(m).unwrap();
        assert_eq!(mask.shape(), deltacell_data::synth::CHAMBER_SHAPE);
    }
    assert_eq!(ev.evaluation.per_image.len(), ev.masks.len());
    let o = &ev.evaluation.overall;
    assert!(o.sums.n_true > 0);
    for v in [
        o.f1_50,
        o.precision_50,
        o.recall_50,
        o.pixel_iou,
        o.dice,
        o.aji,
    ] {
        assert!((0.0..=1.0).contains(&v), "score {v} out of range");
    }
    assert!(out.join("overlay.png").is_file());
}

#[test]
fn train_track_then_eval_track() {
    let tmp = tempfile::tempdir().unwrap();
    let trained = train_track::run(&tmp.path().join("train")).unwrap();
    assert_eq!(trained.losses.len(), 24);
    assert!(trained.losses.iter().all(|l| l.is_finite()));
    let mean = |s: &[f64]| s.iter().sum::<f64>() / s.len() as f64;
    let (early, late) = (mean(&trained.losses[..8]), mean(&trained.losses[16..]));
    assert!(
        late < early,
        "tracking loss did not drop: {early} -> {late}"
    );
    assert_eq!(trained.history.epochs.len(), 3);
    assert_run_dir(&trained.run_dir);

    let out = tmp.path().join("eval");
    let ev = eval_track::run(&out, &trained.run_dir).unwrap();
    assert_png_names(&ev.outputs, &out.join("track"), true);
    assert_eq!(ev.scores.n_seeds as usize, ev.outputs.len());
    // Every seed has its thresholded mask under the same name.
    for f in &ev.outputs {
        assert!(out.join("masks").join(f.file_name().unwrap()).is_file());
    }
    let s = &ev.scores;
    for v in [s.accuracy, s.link_precision, s.link_recall, s.cell_found] {
        assert!((0.0..=1.0).contains(&v), "score {v} out of range");
    }
}

#[test]
fn train_rois_stops_through_its_hook() {
    // A threshold every finite loss beats: the hook stops after the first epoch.
    let tmp = tempfile::tempdir().unwrap();
    let out = train_rois::run(tmp.path(), f64::INFINITY).unwrap();
    assert_eq!(out.reason, StopReason::Interrupted);
    assert_eq!(out.history.epochs.len(), 1);
    assert_run_dir(&out.run_dir);
    // A threshold no loss reaches: early stopping or all 4 epochs, losses finite throughout.
    let tmp = tempfile::tempdir().unwrap();
    let out = train_rois::run(tmp.path(), 0.0).unwrap();
    assert!(matches!(
        out.reason,
        StopReason::Completed | StopReason::EarlyStopped
    ));
    assert!(out.history.epochs.len() >= 2);
    assert!(out
        .history
        .epochs
        .iter()
        .all(|r| r.loss.is_finite() && r.val_loss.is_some_and(f64::is_finite)));
}

/// The guide quotes the examples: every ```rust block of `docs/training-advanced.md` that names
/// an example file on its first line must appear in that file, line for line (indentation
/// aside), so the guide cannot drift from the code the tests run.
#[test]
fn guide_excerpts_match_the_examples() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let guide = std::fs::read_to_string(root.join("docs/training-advanced.md")).unwrap();
    let mut checked = 0;
    for block in guide.split("```rust\n").skip(1) {
        let body = &block[..block.find("```").expect("unclosed code block")];
        let mut lines = body.lines();
        let Some(file) = lines.next().and_then(|l| l.strip_prefix("// ")) else {
            continue;
        };
        let quoted: Vec<&str> = lines.map(str::trim).collect();
        let source = std::fs::read_to_string(root.join(file))
            .unwrap_or_else(|e| panic!("the guide quotes {file}: {e}"));
        let source: Vec<&str> = source.lines().map(str::trim).collect();
        assert!(
            !quoted.is_empty() && source.windows(quoted.len()).any(|w| w == quoted.as_slice()),
            "the guide's excerpt of {file} starting {:?} is not in the file",
            quoted.first()
        );
        checked += 1;
    }
    assert!(checked >= 8, "only {checked} excerpts found");
}
