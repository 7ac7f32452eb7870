//! Train the chamber (ROI) U-Net that finds mother-machine chambers in a full field: the
//! counterpart of DeLTA's `train_rois.py`, with `fit`'s hook stopping training once the
//! validation loss is good enough.
//!
//! ```sh
//! cargo run --release -p deltacell-nn --example train_rois -- [OUT_DIR]
//! ```
//!
//! `OUT_DIR` (default `target/example-runs/train_rois`) receives the synthetic ROI set (`rois/`:
//! full fields in `img/`, chamber masks in `seg/`) and the run folder (`run/`).

use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{Context, Result};
use deltacell_data::augment::AugmentParams;
use deltacell_data::dataset::{ChamberDataset, ChamberOptions, Dataset, Loader, LoaderOptions};
use deltacell_data::synth::{self, SynthKind};
use deltacell_nn::history::History;
use deltacell_nn::run_dir::RunDir;
use deltacell_nn::train::{self, Control, Event, FitOptions, StopReason};
use deltacell_nn::{device, Batch, Kind, Trainer, UnetSpec};

/// Network input `(height, width)`. DeLTA uses 512×512; the synthetic 512×512 fields are
/// resized to 128×128 here to keep the example fast.
pub const TARGET: (usize, usize) = (128, 128);
const SEED: u64 = 3;

/// What the run produced.
#[derive(Debug)]
pub struct Outcome {
    /// The run folder.
    pub run_dir: PathBuf,
    /// One record per epoch.
    pub history: History,
    /// Why training ended: `Interrupted` when the hook stopped it.
    pub reason: StopReason,
}

/// Trains a tiny chamber U-Net under `dir` until the validation loss drops below
/// `good_enough` (or for at most 4 epochs of 6 steps).
pub fn run(dir: &Path, good_enough: f64) -> Result<Outcome> {
    // 1. Full fields with a row of chambers, and their chamber masks.
    let data = dir.join("rois");
    synth::generate(SynthKind::Rois, 12, SEED, &data, &|_, _| {})?;

    // 2. DeLTA's ROI dataset: each file resized to the target, plain binary target (no
    //    weights), DeLTA's DATA_AUGMENTATION_ROIS (shifts, zoom, flips, 90° rotations, voodoo,
    //    noise). A third of the files validate.
    let options = ChamberOptions {
        target_size: TARGET,
        augment: AugmentParams::rois_training(),
        ..ChamberOptions::default()
    };
    let splits = ChamberDataset::open_split(&data, &options, 1.0 / 3.0, 0.0, SEED)?;
    let train_set = splits.train;
    let val_set = splits.validation.context("no validation files")?;
    println!(
        "{} training and {} validation fields",
        train_set.len(),
        val_set.len()
    );
    let mut train_loader = Loader::new(
        Arc::new(train_set),
        LoaderOptions {
            batch_size: 2,
            seed: SEED,
            steps_per_epoch: Some(6),
            workers: 1,
            ..LoaderOptions::default()
        },
    )?;
    let val_loader = Loader::new(
        Arc::new(val_set),
        LoaderOptions {
            batch_size: 2,
            seed: SEED,
            workers: 0,
            shuffle: Some(false),
            ..LoaderOptions::default()
        },
    )?;

    // 3. The model: plain binary cross-entropy (`Kind::Rois`), DeLTA's learning rate 1e-4
    //    raised for a short run. Three levels: chambers are large structures.
    let spec = UnetSpec::with_filters(Kind::Rois, vec![4, 8, 16]);
    let mut trainer = Trainer::new(spec, SEED, Some(2e-3), &device::cpu())?;

    // 4. `fit` with early stopping (DeLTA's EarlyStopping, patience 2 here) and a hook that stops
    //    as soon as an epoch's validation loss is below `good_enough`.
    let run_dir = dir.join("run");
    let mut fit_options = FitOptions::new(4, train_loader.steps_per_epoch());
    fit_options.validation_steps = val_loader.steps_per_epoch();
    fit_options.patience = Some(2);
    fit_options.run_dir = Some(RunDir::create(&run_dir)?);
    fit_options.seed = SEED;
    fit_options.input_size = [TARGET.0, TARGET.1];
    let mut val_source =
        |_e: usize, s: usize| -> deltacell_nn::Result<Batch> { Ok(val_loader.batch_at(0, s)?) };
    let (history, reason) = train::fit(
        &mut trainer,
        |_e, _s| Ok(train_loader.next_batch()?),
        Some(&mut val_source),
        &fit_options,
        |event: &Event<'_>| match event {
            Event::Epoch { record, .. } => {
                let val = record.val_loss.unwrap_or(f64::INFINITY);
                println!(
                    "epoch {}: loss {:.4} val_loss {val:.4}",
                    record.epoch, record.loss
                );
                if val < good_enough {
                    println!("validation loss below {good_enough}: stopping");
                    Control::Stop
                } else {
                    Control::Continue
                }
            }
            _ => Control::Continue,
        },
    )?;
    Ok(Outcome {
        run_dir,
        history,
        reason,
    })
}

#[allow(dead_code)] // `main` is unused when the tests include this file as a module.
fn main() -> Result<()> {
    let dir = std::env::args()
        .nth(1)
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("target/example-runs/train_rois"));
    let out = run(&dir, 0.3)?;
    println!(
        "{:?} after {} epochs; model in {}",
        out.reason,
        out.history.epochs.len(),
        out.run_dir.display()
    );
    Ok(())
}
