//! Train a segmentation U-Net with every knob wired by hand: your own augmentation, online
//! weight maps, datasets, loaders and a `fit` hook. The short way (a preset configuration and
//! `TrainingData::fit`, as DeLTA's `train_seg.py`) is `train_seg.rs`.
//!
//! ```sh
//! cargo run --release -p deltacell-nn --example train_seg_custom -- [OUT_DIR]
//! ```
//!
//! `OUT_DIR` (default `target/example-runs/train_seg_custom`) receives the synthetic training set
//! (`mm-seg/`) and the run folder (`run/`: `model.safetensors`, `model.toml`, `history.csv`,
//! `curves.png`, a checkpoint). The `eval_seg` example predicts with that run.
//!
//! To train on your own data, point `SegmentationDataset::open_split` at a folder with `img/`
//! and `seg/` (DeLTA's layout) and use a full-size model (`UnetSpec::delta(Kind::Seg)`).

use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{ensure, Context, Result};
use deltacell_data::augment::{AugmentParams, ElasticParams, GridPoints};
use deltacell_data::dataset::{Loader, LoaderOptions, SegOptions, SegmentationDataset, Weights};
use deltacell_data::synth::{self, SynthKind};
use deltacell_data::weights::{SegWeightParams, WeightRecipe};
use deltacell_nn::history::History;
use deltacell_nn::run_dir::RunDir;
use deltacell_nn::train::{self, Control, Event, FitOptions, StopReason};
use deltacell_nn::{device, Batch, Kind, Trainer, UnetSpec};

/// Network input `(height, width)`: one 256×32 mother-machine chamber, as in DeLTA.
pub const TARGET: (usize, usize) = (256, 32);
const SEED: u64 = 1;
const EPOCHS: usize = 3;
const STEPS_PER_EPOCH: usize = 8;

/// What the run produced.
#[derive(Debug)]
pub struct Outcome {
    /// The run folder (give it to `eval_seg`, or to `deltacell predict seg --model`).
    pub run_dir: PathBuf,
    /// One record per epoch.
    pub history: History,
    /// Why training ended.
    pub reason: StopReason,
    /// Training steps logged by the callback.
    pub steps_logged: usize,
}

/// Trains a tiny segmentation U-Net on a synthetic mother-machine set written under `dir`.
pub fn run(dir: &Path) -> Result<Outcome> {
    // 1. A training set in DeLTA's layout: `img/` (16-bit phase contrast) and `seg/` (0/255
    //    masks) under matching names. No `wei/` folder: the weights are computed online below.
    let data = dir.join("mm-seg");
    synth::generate(SynthKind::MmSeg, 24, SEED, &data, &|_, _| {})?;

    // 2. Augmentation with DeLTA's keys (`AugmentParams::from_file("aug.toml")` reads the same
    //    keys from a file). Every operation is applied to the image, the mask and the weights
    //    together; intensity operations touch the image only.
    let augment = AugmentParams {
        rotation: 2.0, // degrees, angle ~ U(−2, 2)
        zoom: 0.15,    // magnification 1 + min(Exp(mean 0.05), 0.15)
        shift_x: 0.05, // `shiftX`: fraction of the width
        horizontal_flip: true,
        vertical_flip: true,
        illumination_voodoo: true,
        gaussian_noise: 0.03, // maximum noise σ, intensity units
        gaussian_blur: 1.0,   // maximum blur σ, pixels
        elastic_deformation: Some(ElasticParams {
            sigma: 2.0, // control-point displacement σ, pixels
            points: GridPoints::Rect([5, 2]),
        }),
        ..AugmentParams::default()
    };
    augment.validate()?;

    // 3. The dataset (DeLTA's `load_training_dataset_seg`): whole files resized to TARGET,
    //    DeLTA's `seg_weights` computed when a file is loaded (w0 12, σ 2 px), a quarter of the
    //    files held out for validation (split by file, seeded; validation is never augmented).
    let options = SegOptions {
        target_size: TARGET,
        crop: false,
        weights: Weights::Computed(WeightRecipe::Seg(SegWeightParams {
            classweights: (1.0, 1.0),
            w0: 12.0,
            sigma: 2.0,
        })),
        augment,
        ..SegOptions::default()
    };
    let splits = SegmentationDataset::open_split(&data, &options, 0.25, 0.0, SEED)?;
    let validation = splits.validation.context("no validation files")?;

    // 4. Loaders: worker threads build shuffled batches ahead of training. Sample i of epoch e
    //    always draws from the same random stream, whatever the number of workers.
    let mut train_loader = Loader::new(
        Arc::new(splits.train),
        LoaderOptions {
            batch_size: 4,
            seed: SEED,
            steps_per_epoch: Some(STEPS_PER_EPOCH),
            workers: 1,
            prefetch: 2,
            shuffle: Some(true),
        },
    )?;
    let val_loader = Loader::new(
        Arc::new(validation),
        LoaderOptions {
            batch_size: 4,
            seed: SEED,
            workers: 0,
            shuffle: Some(false),
            ..LoaderOptions::default()
        },
    )?;

    // 5. A tiny U-Net (DeLTA's has filters [64, 128, 256, 512, 1024]) and Adam; DeLTA's
    //    learning rate is 1e-4, a larger one makes a few dozen steps count.
    let spec = UnetSpec::with_filters(Kind::Seg, vec![8, 16]);
    let mut trainer = Trainer::new(spec, SEED, Some(1e-3), &device::cpu())?;

    // 6. `fit`: epochs, validation, best model by validation loss, history, curves and a
    //    checkpoint in the run folder.
    let run_dir = dir.join("run");
    let mut fit_options = FitOptions::new(EPOCHS, STEPS_PER_EPOCH);
    fit_options.validation_steps = val_loader.steps_per_epoch();
    fit_options.run_dir = Some(RunDir::create(&run_dir)?);
    fit_options.seed = SEED;
    fit_options.input_size = [TARGET.0, TARGET.1];
    fit_options.preset = Some("mothermachine".into());

    // Batch sources are closures `(epoch, step) -> Batch`: here the loaders; validation uses the
    // same in-order batches every epoch.
    let train_source = |_epoch: usize, _step: usize| -> deltacell_nn::Result<Batch> {
        Ok(train_loader.next_batch()?)
    };
    let mut val_source = |_epoch: usize, step: usize| -> deltacell_nn::Result<Batch> {
        Ok(val_loader.batch_at(0, step)?)
    };

    // The hook: log every epoch, count steps, and stop if the loss ever becomes NaN.
    let mut steps_logged = 0;
    let (history, reason) = train::fit(
        &mut trainer,
        train_source,
        Some(&mut val_source),
        &fit_options,
        |event: &Event<'_>| match event {
            Event::Step { stats, .. } => {
                steps_logged += 1;
                if stats.loss.is_finite() {
                    Control::Continue
                } else {
                    Control::Stop
                }
            }
            Event::Epoch { record, improved } => {
                println!(
                    "epoch {}: loss {:.4} acc {:.3} val_loss {:.4}{}",
                    record.epoch,
                    record.loss,
                    record.acc,
                    record.val_loss.unwrap_or(f64::NAN),
                    if *improved {
                        " (best so far, saved)"
                    } else {
                        ""
                    }
                );
                Control::Continue
            }
            Event::Start { .. } | Event::Validating { .. } => Control::Continue,
        },
    )?;
    ensure!(!history.epochs.is_empty(), "no epoch ran");
    Ok(Outcome {
        run_dir,
        history,
        reason,
        steps_logged,
    })
}

#[allow(dead_code)] // `main` is unused when the tests include this file as a module.
fn main() -> Result<()> {
    let dir = std::env::args()
        .nth(1)
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("target/example-runs/train_seg_custom"));
    let out = run(&dir)?;
    println!(
        "{:?} after {} epochs; model in {}",
        out.reason,
        out.history.epochs.len(),
        out.run_dir.display()
    );
    Ok(())
}
