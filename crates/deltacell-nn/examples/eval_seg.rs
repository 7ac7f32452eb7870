//! Segment a movie with a trained model, post-process, save under DeLTA's names and score
//! against the ground truth: the counterpart of DeLTA's segmentation evaluation scripts
//! (`predict_generator_seg` → `model.predict` → `postprocess` → `save_result_seg`).
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

use anyhow::{ensure, Context, Result};
use deltacell_data::io::{self, Rescale};
use deltacell_data::metrics::{evaluate_seg, instances, ImageScores, SegEvaluation, SegMatch};
use deltacell_data::postprocess::{postprocess, PostprocessParams};
use deltacell_data::predict::{self, Fit};
use deltacell_data::report;
use deltacell_data::synth::{self, SynthKind};
use deltacell_data::Labels;
use deltacell_nn::infer::Predictor;
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

    // 2. The model and the input size it was trained at (from `model.toml`).
    let model = Predictor::load(run_dir, &device::cpu()).with_context(|| {
        format!(
            "loading {} (run the train_seg example first)",
            run_dir.display()
        )
    })?;
    ensure!(
        model.info().architecture.kind == Kind::Seg,
        "{} is not a segmentation model",
        run_dir.display()
    );
    let [h, w] = model.info().input_size;

    // 3. `predict_generator_seg`: the frames in sorted order, scaled to [0, 1] by the pixel
    //    type's maximum (as the training set was read), resized to the network input.
    //    (`Fit::Windows { min_overlap: 24 }` cuts large 2-D frames into overlapping tiles.)
    let files = predict::list_images(&frames_dir)?;
    let inputs = predict::read_seg_inputs(&files, (h, w), Fit::Resize, Rescale::DtypeMax)?;

    // 4. The network, batch by batch; channel 0 of the output, one plane per tile.
    let mut outputs = Vec::new();
    for batch in predict::seg_batches(&inputs, 8) {
        let logits = model.predict_logits(&batch)?;
        outputs.extend(predict::split_output(
            &logits,
            batch.n,
            (batch.height, batch.width),
            1,
            0,
        )?);
    }
    // Undo the fit: one logit plane per frame, of the frame's own size.
    let logits = predict::restore_seg_outputs(&inputs, outputs)?;

    // 5. DeLTA's `postprocess` (newest line, on logits): threshold at 0, opening with a 5×5
    //    square, objects under 20 px removed. Then `save_result_seg`'s names: the frame's stem,
    //    `.png`, here as 0/255 masks (`predict::save_seg` saves the probabilities instead).
    let out = dir.join("seg");
    std::fs::create_dir_all(&out)?;
    let params = PostprocessParams::logits(5, Some(20));
    let mut masks = Vec::new();
    for (input, logit) in inputs.iter().zip(&logits) {
        masks.push(predict::save_seg_mask(
            &out,
            &input.path,
            &postprocess(logit, &params),
        )?);
    }

    // 6. Score each frame against the true instance labels: cells are matched one-to-one by
    //    IoU; precision, recall, F1 and AP at IoU 0.5/0.75/0.9, pixel IoU, Dice, AJI.
    let mut per_image = Vec::new();
    let mut worst: Option<(f64, PathBuf, Labels, Labels, SegMatch)> = None;
    for (mask, frame) in masks.iter().zip(&files) {
        let name = predict::seg_output_name(frame);
        let pred = instances(&io::read_labels(mask)?);
        let truth = instances(&io::read_labels(movie.join("mm/labels").join(&name))?);
        let matched = evaluate_seg(&pred, &truth)?;
        let f1 = matched.scores.f1_50;
        if worst.as_ref().is_none_or(|(w, ..)| f1 < *w) {
            worst = Some((
                f1,
                frame.clone(),
                pred.clone(),
                truth.clone(),
                matched.clone(),
            ));
        }
        per_image.push(ImageScores {
            name: name.to_string_lossy().into_owned(),
            scores: matched.scores,
        });
    }
    let evaluation = SegEvaluation::from_images(per_image);
    let o = &evaluation.overall;
    println!(
        "{} frames: F1@0.5 {:.3}  precision {:.3}  recall {:.3}  pixel IoU {:.3}",
        evaluation.per_image.len(),
        o.f1_50,
        o.precision_50,
        o.recall_50,
        o.pixel_iou
    );

    // 7. A picture of the worst frame (the report module draws what `deltacell eval` shows).
    if let Some((_, frame, pred, truth, matched)) = worst {
        let image = io::read_image(&frame, Rescale::MinMax)?;
        report::segmentation_overlay(Some(&image), &pred, &truth, &matched)
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
