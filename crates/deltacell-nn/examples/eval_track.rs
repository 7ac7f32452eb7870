//! Track the cells of a segmented movie with a trained model, save one output per cell under
//! DeLTA's names and score it: the counterpart of DeLTA's tracking evaluation scripts
//! (`predict_compile_from_seg_track` → `model.predict` → `save_result_track`).
//!
//! ```sh
//! cargo run --release -p deltacell-nn --example train_track    # writes the model first
//! cargo run --release -p deltacell-nn --example eval_track -- [OUT_DIR [RUN_DIR]]
//! ```
//!
//! `OUT_DIR` (default `target/example-runs/eval_track`) receives a held-out synthetic movie
//! (`movie/`), DeLTA's raw outputs (`track/`, 8-bit probabilities, one file per cell of every
//! frame t−1: `Position000001_Chamber000001_Frame000003Cell000002.png`) and the same outputs
//! thresholded at 0.5 (`masks/`), scored against the movie's `mot_dau/`. `RUN_DIR` defaults to
//! the `train_track` example's run.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use deltacell_data::metrics::{evaluate_track_folders, TrackScores};
use deltacell_data::predict;
use deltacell_data::synth::{self, SynthKind};
use deltacell_nn::infer::{predict_track_folder, Predictor, TrackOutput, TrackPrediction};
use deltacell_nn::{device, Kind};

/// What the evaluation produced.
#[derive(Debug)]
pub struct Outcome {
    /// The per-cell probability files written (DeLTA's `save_result_track`).
    pub outputs: Vec<PathBuf>,
    /// Scores over all seed cells.
    pub scores: TrackScores,
}

/// Tracks the cells of a synthetic chamber movie written under `dir` with the model in
/// `run_dir`.
pub fn run(dir: &Path, run_dir: &Path) -> Result<Outcome> {
    // 1. A held-out movie: frames `movie/mm/img/`, their segmentations `movie/mm/seg/` (here
    //    the ground truth; in practice the output of a segmentation model, see eval_seg), and
    //    the tracking truth `movie/mm/mot_dau/`.
    let movie = dir.join("movie");
    synth::generate(SynthKind::Movie, 1, 1002, &movie, &|_, _| {})?;
    let mm = movie.join("mm");

    let model = Predictor::load_kind(run_dir, Kind::Track, &device::cpu()).with_context(|| {
        format!(
            "loading {} (run the train_track example first)",
            run_dir.display()
        )
    })?;

    // 2. DeLTA's `predict_compile_from_seg_track` → `model.predict` → `save_result_track`, one
    //    call each way: for every frame t > 1 and every cell of frame t−1 (numbered as DeLTA
    //    does: 4-connected labels in raster order), one 4-channel input [image t, that cell at
    //    t−1, image t−1, all cells at t] (frames resized to the input; windows centred on each
    //    cell for 2-D models), predicted in batches of 8 and saved under the per-cell name:
    //    the raw probability (DeLTA's file) and the cells of frame t it attributes to the seed
    //    (mean probability ≥ 0.5, as DeLTA's pipeline reads it).
    let (track_dir, mask_dir) = (dir.join("track"), dir.join("masks"));
    let (images, segs) = (mm.join("img"), mm.join("seg"));
    for (out, output) in [
        (&track_dir, TrackOutput::Probabilities),
        (&mask_dir, TrackOutput::Cells { min_score: 0.5 }),
    ] {
        let options = TrackPrediction {
            output,
            ..TrackPrediction::default()
        };
        predict_track_folder(&model, &images, &segs, out, &options, &mut |_, _| {})?;
    }
    let outputs = predict::list_images(&track_dir)?;
    println!("{} seed cells tracked", outputs.len());

    // 3. Score: are the cell and its daughter found (IoU ≥ 0.5 with the truth)?
    let (scores, _) = evaluate_track_folders(&mask_dir, &mm.join("mot_dau"))?;
    println!(
        "{} seeds: accuracy {:.3}  link precision {:.3}  recall {:.3}  division recall {:.3}",
        scores.n_seeds,
        scores.accuracy,
        scores.link_precision,
        scores.link_recall,
        scores.division_recall
    );
    Ok(Outcome { outputs, scores })
}

#[allow(dead_code)] // `main` is unused when the tests include this file as a module.
fn main() -> Result<()> {
    let mut args = std::env::args().skip(1).map(PathBuf::from);
    let dir = args
        .next()
        .unwrap_or_else(|| PathBuf::from("target/example-runs/eval_track"));
    let run_dir = args
        .next()
        .unwrap_or_else(|| PathBuf::from("target/example-runs/train_track/run"));
    let out = run(&dir, &run_dir)?;
    println!(
        "{} outputs in {}",
        out.outputs.len(),
        dir.join("track").display()
    );
    Ok(())
}
