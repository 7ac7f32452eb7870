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

use anyhow::{ensure, Context, Result};
use deltacell_data::io::{self, Rescale};
use deltacell_data::metrics::{compare_track, TrackScores};
use deltacell_data::predict::{self, TrackInputOptions};
use deltacell_data::synth::{self, SynthKind};
use deltacell_data::Mask;
use deltacell_nn::infer::Predictor;
use deltacell_nn::{device, Batch, Kind};

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

    let model = Predictor::load(run_dir, &device::cpu()).with_context(|| {
        format!(
            "loading {} (run the train_track example first)",
            run_dir.display()
        )
    })?;
    ensure!(
        model.info().architecture.kind == Kind::Track,
        "{} is not a tracking model",
        run_dir.display()
    );
    let [h, w] = model.info().input_size;

    // 2. `predict_compile_from_seg_track`: for every frame t > 1 and every cell of frame t−1
    //    (numbered as DeLTA does: 4-connected labels in raster order), one 4-channel input
    //    [image t, that cell at t−1, image t−1, all cells at t], frames resized to the input.
    let options = TrackInputOptions {
        target: (h, w),
        crop: false, // true: full resolution, a window centred on each cell (2-D)
        rescale: Rescale::DtypeMax,
    };
    let (inputs, samples) =
        predict::compile_tracking_inputs(&mm.join("img"), &mm.join("seg"), None, &options)?;
    println!("{} seed cells to track", samples.len());

    // 3. Predict in batches of 8 and save each output under the sample's per-cell name.
    let (track_dir, mask_dir) = (dir.join("track"), dir.join("masks"));
    std::fs::create_dir_all(&track_dir)?;
    std::fs::create_dir_all(&mask_dir)?;
    let per_sample = h * w * inputs.in_channels;
    let mut outputs = Vec::new();
    let mut seeds = Vec::new();
    for (k, chunk) in samples.chunks(8).enumerate() {
        let mut batch = Batch::zeros(chunk.len(), h, w, inputs.in_channels, 0);
        let start = k * 8 * per_sample;
        batch
            .x
            .copy_from_slice(&inputs.x[start..start + chunk.len() * per_sample]);
        let probabilities = model.predict_probabilities(&batch)?;
        let planes = predict::split_output(&probabilities, batch.n, (h, w), 1, 0)?;
        for (sample, plane) in chunk.iter().zip(&planes) {
            // DeLTA's `save_result_track`: the raw probability as an 8-bit PNG.
            outputs.push(predict::save_track(&track_dir, sample, plane)?);
            // The tracked cell (and its daughter, if it divided): probability above 0.5.
            let mask = Mask::from_plane(plane.map(|p| u8::from(p > 0.5)));
            let name = predict::seg_output_name(Path::new(&sample.name));
            io::write_mask(mask_dir.join(&name), &mask)?;
            // 4. Score: are the cell and its daughter found (IoU ≥ 0.5 with the truth)?
            let truth = io::read_mask(mm.join("mot_dau").join(&name))?;
            seeds.push(compare_track(&name.to_string_lossy(), &mask, &truth)?);
        }
    }
    let scores = TrackScores::from_seeds(seeds);
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
