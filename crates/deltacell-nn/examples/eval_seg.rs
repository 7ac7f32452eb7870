//! Segment a movie with a trained model, post-process, save under DeLTA's names and score
//! against the ground truth: the counterpart of DeLTA's segmentation evaluation scripts
//! (`predict_generator_seg` → `model.predict` → `postprocess` → `save_result_seg`, one library
//! call: `deltacell_nn::infer::predict_seg_folder`).
//!
//! ```sh
//! cargo run --release -p deltacell-nn --example train_seg      # writes the model first
//! cargo run --release -p deltacell-nn --example eval_seg -- [OUT_DIR [RUN_DIR]]
//! ```
//!
//! `OUT_DIR` (default `target/example-runs/eval_seg`) receives a held-out synthetic movie
//! (`movie/`), the masks (`seg/`, one 0/255 PNG per frame under the frame's name) and
//! `overlay.png` (the worst frame: matched cells green, false positives red, misses blue).
//! `RUN_DIR` defaults to the `train_seg` example's run.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use deltacell_data::io::{self, Rescale};
use deltacell_data::metrics::{evaluate_seg_folders, SegEvaluation};
use deltacell_data::predict;
use deltacell_data::report;
use deltacell_data::synth::{self, SynthKind};
use deltacell_nn::infer::{predict_seg_folder, Predictor, SegOutput, SegPrediction};
use deltacell_nn::{device, Kind};

/// What the evaluation produced.
#[derive(Debug)]
pub struct Outcome {
    /// The masks written, one per frame, in frame order.
    pub masks: Vec<PathBuf>,
    /// Per-frame and pooled scores.
    pub evaluation: SegEvaluation,
}

/// Segments a synthetic chamber movie written under `dir` with the model in `run_dir`.
pub fn run(dir: &Path, run_dir: &Path) -> Result<Outcome> {
    // 1. A movie the model has never seen (another seed than the training set), with its
    //    ground truth: `movie/mm/img/` frames and `movie/mm/labels/` instance labels.
    let movie = dir.join("movie");
    synth::generate(SynthKind::Movie, 1, 1001, &movie, &|_, _| {})?;
    let frames_dir = movie.join("mm/img");

    // 2. The model (`Predictor::load_kind` refuses a run folder of another kind).
    let model = Predictor::load_kind(run_dir, Kind::Seg, &device::cpu()).with_context(|| {
        format!(
            "loading {} (run the train_seg example first)",
            run_dir.display()
        )
    })?;

    // 3. DeLTA's `predict_generator_seg` → `model.predict` → `postprocess` → `save_result_seg`
    //    in one call: frames in sorted order scaled by the pixel type's maximum, fitted to the
    //    network (resized here; windows for 2-D models), predicted in batches, stitched back,
    //    thresholded at 0.5, opened with a 5×5 square, objects under 20 px removed, saved as
    //    0/255 masks under the frames' names. `SegOutput::Probabilities` saves DeLTA's raw output.
    let out = dir.join("seg");
    let options = SegPrediction {
        output: SegOutput::Masks {
            threshold: 0.5,
            opening: Some(5),
            min_size: 20,
        },
        ..SegPrediction::default()
    };
    predict_seg_folder(&model, &frames_dir, &out, &options, &mut |_| {})?;
    let masks = predict::list_images(&out)?;

    // 4. Score each frame against the true instance labels: cells are matched one-to-one by
    //    IoU; precision, recall, F1 and AP at IoU 0.5/0.75/0.9, pixel IoU, Dice, AJI.
    let (evaluation, pairs) = evaluate_seg_folders(&out, &movie.join("mm/labels"))?;
    let o = &evaluation.overall;
    println!(
        "{} frames: F1@0.5 {:.3}  precision {:.3}  recall {:.3}  pixel IoU {:.3}",
        evaluation.per_image.len(),
        o.f1_50,
        o.precision_50,
        o.recall_50,
        o.pixel_iou
    );

    // 5. A picture of the worst frame (the report module draws what `deltacell eval` shows).
    let worst = pairs.iter().min_by(|a, b| {
        let (fa, fb) = (a.matched.scores.f1_50, b.matched.scores.f1_50);
        fa.total_cmp(&fb)
    });
    if let Some(w) = worst {
        let image = io::read_image(frames_dir.join(format!("{}.png", w.name)), Rescale::MinMax)?;
        report::segmentation_overlay(Some(&image), &w.pred, &w.truth, &w.matched)
            .save(dir.join("overlay.png"))?;
    }
    Ok(Outcome { masks, evaluation })
}

#[allow(dead_code)] // `main` is unused when the tests include this file as a module.
fn main() -> Result<()> {
    let mut args = std::env::args().skip(1).map(PathBuf::from);
    let dir = args
        .next()
        .unwrap_or_else(|| PathBuf::from("target/example-runs/eval_seg"));
    let run_dir = args
        .next()
        .unwrap_or_else(|| PathBuf::from("target/example-runs/train_seg/run"));
    let out = run(&dir, &run_dir)?;
    println!("{} masks in {}", out.masks.len(), dir.join("seg").display());
    Ok(())
}
