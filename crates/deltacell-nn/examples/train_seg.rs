//! Train a segmentation U-Net the short way, as DeLTA's `train_seg.py` does it: a preset
//! configuration, a training set in DeLTA's layout, a training `Session` with a ready epoch
//! logger (what `deltacell train` runs); then segment
//! a movie with the best model and score it against the truth.
//!
//! ```sh
//! cargo run --release -p deltacell-nn --example train_seg -- [OUT_DIR]
//! ```
//!
//! `OUT_DIR` (default `target/example-runs/train_seg`) receives the synthetic training set
//! (`mm-seg/`), the run folder (`run/`), a held-out movie (`movie/`) and its masks (`seg/`).
//! Every knob wired by hand (augmentation, weights, loaders, the fit hook):
//! `train_seg_custom.rs`.

use std::path::{Path, PathBuf};

use anyhow::Result;
use deltacell_data::metrics::evaluate_seg_folders;
use deltacell_data::synth::{self, SynthKind};
use deltacell_nn::config::Config;
use deltacell_nn::infer::{predict_seg_folder, Predictor, SegPrediction};
use deltacell_nn::session::{Session, SessionOptions, TrainingSet, ValidationSteps};
use deltacell_nn::train::log_epochs;
use deltacell_nn::{device, Kind};

/// Trains under `dir`; returns the run folder and the movie's F1 at IoU 0.5.
pub fn run(dir: &Path) -> Result<(PathBuf, f64)> {
    // 1. A training set in DeLTA's layout (`img/`, `seg/`): synthetic here, your folder otherwise.
    let set = dir.join("mm-seg");
    synth::generate(SynthKind::MmSeg, 24, 1, &set, &|_, _| {})?;

    // 2. DeLTA's mother-machine recipe (augmentation, seg_weights on the fly, 5 % held out),
    //    shortened, with a small network and a larger learning rate for a quick run.
    let mut config = Config::preset("mothermachine")?;
    let m = config.model_mut(Kind::Seg)?;
    (m.epochs, m.steps_per_epoch, m.batch_size) = (3, 8, 4);
    (m.filters, m.learning_rate) = (Some(vec![8, 16]), 1e-3);

    // 3. A session (data, model and Adam, seed 1), then `run`: the best model by validation loss
    //    goes to `run/`, validated on one pass over the held-out files per epoch.
    let data = TrainingSet::Folder {
        train: set,
        val: None,
    };
    let mut options = SessionOptions::new(Kind::Seg, config, data, dir.join("run"));
    options.validation_steps = ValidationSteps::OnePass;
    Session::open(options)?.run(log_epochs)?;

    // 4. Segment a held-out movie (DeLTA's predict → postprocess → save) and score it.
    let movie = dir.join("movie");
    synth::generate(SynthKind::Movie, 1, 1001, &movie, &|_, _| {})?;
    let model = Predictor::load_kind(dir.join("run"), Kind::Seg, &device::cpu())?;
    let masks = dir.join("seg");
    let options = SegPrediction::default();
    predict_seg_folder(&model, &movie.join("mm/img"), &masks, &options, &mut |_| {})?;
    let (scores, _) = evaluate_seg_folders(&masks, &movie.join("mm/seg"))?;
    let o = scores.overall;
    println!("F1@0.5 {:.3}, pixel IoU {:.3}", o.f1_50, o.pixel_iou);
    Ok((dir.join("run"), o.f1_50))
}

#[allow(dead_code)] // `main` is unused when the tests include this file as a module.
fn main() -> Result<()> {
    let out = std::env::args().nth(1).map(PathBuf::from);
    run(&out.unwrap_or_else(|| PathBuf::from("target/example-runs/train_seg")))?;
    Ok(())
}
