//! Train a tracking U-Net with a training loop of your own: the counterpart of DeLTA's
//! `train_track.py`, driving [`Trainer::step`] batch by batch instead of calling `fit`.
//!
//! ```sh
//! cargo run --release -p deltacell-nn --example train_track -- [OUT_DIR]
//! ```
//!
//! `OUT_DIR` (default `target/example-runs/train_track`) receives the synthetic tracking set
//! (`mm-track/`: `previmg/ seg/ img/ segall/ mot_dau/`) and the run folder (`run/`). The
//! `eval_track` example predicts with that run.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{ensure, Context, Result};
use burn::module::Module;
use deltacell_data::augment::AugmentParams;
use deltacell_data::dataset::{Loader, LoaderOptions, TrackOptions, TrackingDataset, Weights};
use deltacell_data::synth::{self, SynthKind};
use deltacell_data::weights::WeightRecipe;
use deltacell_nn::history::{EpochRecord, History};
use deltacell_nn::run_dir::{ModelInfo, RunDir, CURVES_FILE, HISTORY_FILE};
use deltacell_nn::{device, Kind, Trainer, UnetSpec};

/// Network input `(height, width)`: the whole 256×32 chamber (DeLTA's mother-machine size).
pub const TARGET: (usize, usize) = (256, 32);
const SEED: u64 = 2;
const STEPS: usize = 24;
/// Validate (and maybe save) every this many steps.
const EVERY: usize = 8;

/// What the run produced.
#[derive(Debug)]
pub struct Outcome {
    /// The run folder (give it to `eval_track`, or to `deltacell predict track --model`).
    pub run_dir: PathBuf,
    /// Training loss of every step, in order.
    pub losses: Vec<f64>,
    /// One record per block of `EVERY` steps, with its validation loss.
    pub history: History,
}

/// Trains a tiny tracking U-Net on a synthetic mother-machine tracking set under `dir`.
pub fn run(dir: &Path) -> Result<Outcome> {
    // 1. A tracking set in DeLTA's layout: one sample per cell of frame t−1, five folders.
    let data = dir.join("mm-track");
    synth::generate(SynthKind::MmTrack, 48, SEED, &data, &|_, _| {})?;

    // 2. DeLTA's `train_generator_track` options: inputs [image t, seed cell t−1, image t−1,
    //    all cells t], target [mot_dau, weights]; the weights are DeLTA's `tracking_weights`
    //    computed per sample (`"online"`, halo 50 px); the current frame drifts by up to ±5 px.
    let options = TrackOptions {
        target_size: TARGET,
        crop: false,
        shift: 5,
        weights: Weights::Computed(WeightRecipe::Track {
            halo_distance: 50.0,
        }),
        augment: AugmentParams::track_training(), // DeLTA's DATA_AUGMENTATION_TRACK
        ..TrackOptions::default()
    };
    // Hold out a quarter of the samples (by file) for validation: evaluation mode, without
    // augmentation or drift.
    let splits = TrackingDataset::open_split(&data, &options, 0.25, 0.0, SEED)?;
    let train_set = splits.train;
    let val_set = splits.validation.context("no validation samples")?;

    let mut train = Loader::new(
        Arc::new(train_set),
        LoaderOptions {
            batch_size: 4,
            seed: SEED,
            workers: 1,
            ..LoaderOptions::default()
        },
    )?;
    let val = Loader::new(
        Arc::new(val_set),
        LoaderOptions {
            batch_size: 4,
            seed: SEED,
            workers: 0,
            shuffle: Some(false),
            ..LoaderOptions::default()
        },
    )?;

    // 3. A tiny tracking U-Net (4 input channels). DeLTA trains it at 1e-5; 1e-3 here so that
    //    a few dozen steps show progress.
    let spec = UnetSpec::with_filters(Kind::Track, vec![8, 16]);
    let mut trainer = Trainer::new(spec.clone(), SEED, Some(1e-3), &device::cpu())?;
    let run = RunDir::create(dir.join("run"))?;

    // 4. The loop: any schedule, any logging. `step` runs forward, loss, backward and Adam on
    //    one batch and returns that batch's loss and `unstack_acc`.
    let mut losses = Vec::new();
    let mut history = History::default();
    let mut best = f64::INFINITY;
    let (mut block_loss, mut block_acc) = (0.0, 0.0);
    for step in 1..=STEPS {
        let stats = trainer.step(&train.next_batch()?)?;
        losses.push(stats.loss);
        block_loss += stats.loss;
        block_acc += stats.acc;
        if step % EVERY != 0 {
            continue;
        }
        // Validation: `evaluate` computes the loss without touching the model.
        let (mut val_loss, mut val_acc) = (0.0, 0.0);
        for s in 0..val.steps_per_epoch() {
            let v = trainer.evaluate(&val.batch_at(0, s)?)?;
            val_loss += v.loss / val.steps_per_epoch() as f64;
            val_acc += v.acc / val.steps_per_epoch() as f64;
        }
        let record = EpochRecord {
            epoch: step / EVERY,
            loss: block_loss / EVERY as f64,
            acc: block_acc / EVERY as f64,
            val_loss: Some(val_loss),
            val_acc: Some(val_acc),
            val_f1: None,
            val_cells: None,
            seconds: 0.0,
            data_seconds: 0.0,
            samples: 4 * EVERY,
        };
        println!(
            "steps {}..{step}: loss {:.4}  val_loss {val_loss:.4}",
            step + 1 - EVERY,
            record.loss
        );
        (block_loss, block_acc) = (0.0, 0.0);
        // Keep the best model by validation loss, as `fit` does, with the metadata `predict`
        // and `eval_track` need (input size, architecture, head).
        if val_loss < best {
            best = val_loss;
            let mut info = ModelInfo::new(spec.clone(), [TARGET.0, TARGET.1]).at_epoch(&record);
            info.seed = SEED;
            info.preset = Some("mothermachine".into());
            run.save_best(&trainer.model().valid(), &info)?;
        }
        history.epochs.push(record);
        history.write_csv(&run.file(HISTORY_FILE))?;
        history.write_curves(&run.file(CURVES_FILE))?;
    }
    ensure!(best.is_finite(), "no finite validation loss");
    Ok(Outcome {
        run_dir: run.path().to_path_buf(),
        losses,
        history,
    })
}

#[allow(dead_code)] // `main` is unused when the tests include this file as a module.
fn main() -> Result<()> {
    let dir = std::env::args()
        .nth(1)
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("target/example-runs/train_track"));
    let out = run(&dir)?;
    println!(
        "{} steps, loss {:.4} -> {:.4}; model in {}",
        out.losses.len(),
        out.losses.first().copied().unwrap_or(f64::NAN),
        out.losses.last().copied().unwrap_or(f64::NAN),
        out.run_dir.display()
    );
    Ok(())
}
