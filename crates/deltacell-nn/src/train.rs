//! Training: a [`Trainer`] (one model + Adam) that steps on [`Batch`]es, and [`fit`], the
//! epoch loop with validation, early stopping, history, curves and checkpoints.
//!
//! The pieces are public so a script can drive them: build a `Trainer`, call
//! [`Trainer::step`] on batches from any source, [`Trainer::evaluate`] on held-out ones, save
//! with [`crate::run_dir::RunDir`] (the example `examples/train_track.rs` does exactly this).
//! [`fit`] is the one-call version `deltacell train` uses (DeLTA's `model.fit` with its
//! `ModelCheckpoint` and `EarlyStopping` callbacks); its callback sees every [`Event`] (each
//! step, the start of validation, each epoch) and answers [`Control::Continue`] or
//! [`Control::Stop`], so a script logs and stops training its own way (`examples/train_seg.rs`,
//! `examples/train_rois.rs`); [`ignore_events`] is the callback that does nothing.
//!
//! Optimiser: Adam with Keras' defaults (β1 0.9, β2 0.999, ε 1e-7) and DeLTA's learning rates
//! (1e-4 seg/rois, 1e-5 track). burn adds ε to √v̂ (the paper's form) where Keras adds it to √v
//! ("ε-hat"); with ε = 1e-7 the updates differ by far less than float noise after the first steps.
//! On the CPU the update is one fused pass per parameter ([`crate::adam::FusedAdam`], burn's
//! arithmetic bit for bit).
//!
//! Differences from DeLTA, on purpose:
//! * the best model is chosen by **validation** loss when there is validation data (DeLTA's
//!   `ModelCheckpoint`/`EarlyStopping` monitor the training loss, which rewards overfitting);
//!   without validation data the training loss is monitored, as in DeLTA; with
//!   `monitor = "val_f1"` the instance F1 of the whole validation images, averaged over the
//!   last [`crate::history::F1_WINDOW`] epochs so that one lucky epoch neither becomes the
//!   model nor resets the patience (the validation images are held out by cells:
//!   [`deltacell_data::dataset::split_by_cells`]);
//! * a checkpoint with the optimizer state is kept for `--resume` (DeLTA cannot resume Adam);
//! * Ctrl-C (the `stop` flag) ends training after the current step with a valid checkpoint.
//!
//! # Resuming and reproducibility
//!
//! A run resumed from any checkpoint (an epoch boundary or the step an interruption stopped at)
//! gives the uninterrupted run's weights bit for bit, and the same `history.csv` losses and best
//! epochs, provided the batch sources give batch `(epoch, step)` as a function of
//! `(seed, epoch, step)` (the CLI's sources do) and the thread count is the same. What makes
//! that hold:
//! * the checkpoint holds the model, Adam's moments and step counts (`optimizer.bpk`), the
//!   best loss and the early-stopping counter, and the running sums of an interrupted epoch
//!   ([`crate::run_dir::EpochProgress`]) so the resumed epoch's record is the full epoch's;
//! * burn keys Adam's state by [`burn::module::ParamId`], which is random for a freshly built
//!   module: every [`Trainer`] renumbers its model's parameters 0, 1, … in module order, so the
//!   state saved by one process finds its parameters in the next;
//! * there is no learning-rate schedule, dropout or other state drawn from a global RNG.
//!
//! An epoch that resumes in the middle without its sums (a checkpoint written by an older
//! version, or [`FitOptions::start`] set by hand without a RUN_DIR) is recorded with the steps
//! it ran but never becomes the best epoch, and does not count for early stopping.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Instant;

use burn::module::{Module, ModuleMapper, Param, ParamId};
use burn::optim::{GradientsParams, ModuleOptimizer, OptimizerRecord};
use burn::tensor::{Bytes, Device, Tensor};

use deltacell_data::io::Rescale;

use crate::adam::FusedAdam;
use crate::config::Config;
use crate::error::{Error, Result};
use crate::history::{EpochRecord, History};
use crate::loss;
use crate::run_dir::{
    CheckpointState, EpochProgress, ModelInfo, RunDir, CHECKPOINT_FILE, CURVES_FILE, HISTORY_FILE,
};
use crate::score::SegScorer;
pub use crate::tensors::{batch_tensors, input_tensor};
use crate::unet::{Kind, Unet, UnetSpec};
use deltacell_data::Batch;

/// Loss and accuracy of one step or evaluation.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct StepStats {
    /// The model's loss (DeLTA's definition for its kind).
    pub loss: f64,
    /// `unstack_acc`, a fraction in [0, 1].
    pub acc: f64,
    /// Samples in the batch.
    pub samples: usize,
}

/// DeLTA's Adam learning rate for `kind`: 1e-5 for tracking, 1e-4 otherwise.
///
/// ```
/// use deltacell_nn::{train::default_learning_rate, Kind};
/// assert_eq!(default_learning_rate(Kind::Track), 1e-5);
/// assert_eq!(default_learning_rate(Kind::Seg), 1e-4);
/// ```
pub fn default_learning_rate(kind: Kind) -> f64 {
    match kind {
        Kind::Track => 1e-5,
        Kind::Seg | Kind::Rois => 1e-4,
    }
}

/// A model with its Adam optimizer: the unit of training.
pub struct Trainer {
    // `Option` only so that `step` can move the model through the optimizer; always `Some`
    // between calls.
    model: Option<Unet>,
    optim: ModuleOptimizer,
    spec: UnetSpec,
    lr: f64,
    device: Device,
    steps: u64,
}

impl Trainer {
    /// A freshly initialised model (He-normal from `seed`) on `device` (plain, e.g.
    /// [`crate::device::cpu`]; autodiff is enabled here). `learning_rate` defaults to DeLTA's
    /// for the kind.
    pub fn new(
        spec: UnetSpec,
        seed: u64,
        learning_rate: Option<f64>,
        device: &Device,
    ) -> Result<Self> {
        let model = spec.init(seed, &device.clone().inner())?;
        Self::from_model(model, spec, learning_rate, device)
    }

    /// The network and learning rate of the model `kind` of `config` (its `levels` or `filters`,
    /// its `learning_rate`), freshly initialised from `seed`.
    pub fn from_config(config: &Config, kind: Kind, seed: u64, device: &Device) -> Result<Self> {
        let m = config.model(kind)?;
        Self::new(m.unet_spec(kind), seed, Some(m.learning_rate), device)
    }

    /// Wraps an existing model (e.g. loaded from a checkpoint) with a fresh optimizer.
    ///
    /// The model's parameters are renumbered 0, 1, … in module order (their [`ParamId`]s), so
    /// that an optimizer state saved from one trainer ([`Trainer::optimizer_bytes`]) applies to
    /// another trainer of the same architecture, in this process or the next.
    pub fn from_model(
        model: Unet,
        spec: UnetSpec,
        learning_rate: Option<f64>,
        device: &Device,
    ) -> Result<Self> {
        spec.validate()?;
        let lr = learning_rate.unwrap_or_else(|| default_learning_rate(spec.kind));
        if !(lr > 0.0 && lr.is_finite()) {
            return Err(Error::LearningRate(lr));
        }
        let device = device.clone().autodiff();
        // `train()` lifts a module from the plain backend onto autodiff with its parameters
        // requiring gradients; `valid()` first makes that work whatever the input's backend.
        let model = model
            .valid()
            .to_device(&device.clone().inner())
            .train()
            .map(&mut Renumber(0));
        let optim = ModuleOptimizer::from(FusedAdam::keras());
        Ok(Trainer {
            model: Some(model),
            optim,
            spec,
            lr,
            device,
            steps: 0,
        })
    }

    /// The model (on the autodiff device).
    pub fn model(&self) -> &Unet {
        // Invariant: `model` is only `None` inside `step`.
        self.model
            .as_ref()
            .unwrap_or_else(|| unreachable!("model taken outside step"))
    }

    /// The architecture.
    pub fn spec(&self) -> &UnetSpec {
        &self.spec
    }

    /// The learning rate.
    pub fn learning_rate(&self) -> f64 {
        self.lr
    }

    /// Optimizer steps taken.
    pub fn steps(&self) -> u64 {
        self.steps
    }

    /// The device (with autodiff).
    pub fn device(&self) -> &Device {
        &self.device
    }

    fn check(&self, batch: &Batch) -> Result<()> {
        if batch.in_channels != self.spec.input_channels {
            return Err(Error::Shape(format!(
                "{} input channels, the {} model takes {}",
                batch.in_channels, self.spec.kind, self.spec.input_channels
            )));
        }
        self.spec.check_input_size(batch.height, batch.width)
    }

    /// One optimisation step on `batch` (Keras' `train_on_batch`): forward, the kind's loss
    /// ([`loss::for_model`]), backward, Adam update. The returned statistics are those of the
    /// forward pass before the update. The batch must have the model's input channels and a
    /// size divisible by 2^(levels−1), and `y` the stacked targets (label, weight).
    pub fn step(&mut self, batch: &Batch) -> Result<StepStats> {
        self.check(batch)?;
        let (x, y) = batch_tensors(batch, &self.device)?;
        let model = self
            .model
            .take()
            .unwrap_or_else(|| unreachable!("model taken outside step"));
        let logits = model.forward(x);
        let loss = loss::for_model(self.spec.kind, logits.clone(), y.clone());
        let acc = loss::unstack_acc(logits.detach(), y);
        let grads = loss.backward();
        let grads = GradientsParams::from_grads(grads, &model);
        if grads.is_empty() {
            self.model = Some(model);
            return Err(Error::Device(
                "the backward pass produced no gradients (model not on an autodiff device)".into(),
            ));
        }
        self.model = Some(self.optim.step(self.lr, model, grads));
        self.steps += 1;
        Ok(StepStats {
            loss: scalar(loss)?,
            acc: scalar(acc)?,
            samples: batch.n,
        })
    }

    /// Loss and accuracy on `batch` without updating the model (no autodiff graph; Keras'
    /// `test_on_batch`).
    pub fn evaluate(&self, batch: &Batch) -> Result<StepStats> {
        self.check(batch)?;
        let model = self.model().valid();
        let device = self.device.clone().inner();
        let (x, y) = batch_tensors(batch, &device)?;
        let logits = model.forward(x);
        let l = loss::for_model(self.spec.kind, logits.clone(), y.clone());
        let a = loss::unstack_acc(logits, y);
        Ok(StepStats {
            loss: scalar(l)?,
            acc: scalar(a)?,
            samples: batch.n,
        })
    }

    /// The optimizer state (Adam moments and step counts) as bytes (burnpack format),
    /// byte-reproducible: the same state gives the same bytes.
    pub fn optimizer_bytes(&self) -> Result<Vec<u8>> {
        // burn writes the tensors in the order of a hash map; its reader returns them sorted by
        // name, so one round trip gives the canonical order.
        let sorted = self
            .optim
            .into_bytes()
            .and_then(OptimizerRecord::from_bytes)
            .and_then(OptimizerRecord::into_bytes)
            .map_err(|e| Error::Device(format!("serialising the optimizer: {e}")))?;
        Ok(sorted.to_vec())
    }

    /// Restores the optimizer state saved by [`Trainer::optimizer_bytes`] for the same
    /// architecture.
    pub fn load_optimizer_bytes(&mut self, bytes: Vec<u8>) -> Result<()> {
        let optim = std::mem::replace(&mut self.optim, ModuleOptimizer::from(FusedAdam::keras()));
        self.optim = optim
            .from_bytes(Bytes::from_bytes_vec(bytes))
            .map_err(|e| Error::Weights {
                path: "optimizer.bpk".into(),
                message: e.to_string(),
            })?;
        Ok(())
    }

    /// Sets the count of steps taken (after a resume).
    pub fn set_steps(&mut self, steps: u64) {
        self.steps = steps;
    }
}

/// Gives the float parameters of a module the ids `0, 1, …` in visiting order.
struct Renumber(u64);

impl ModuleMapper for Renumber {
    fn map_float<const D: usize>(&mut self, mut param: Param<Tensor<D>>) -> Param<Tensor<D>> {
        param.id = ParamId::from(self.0);
        self.0 += 1;
        param
    }
}

fn scalar(t: Tensor<1>) -> Result<f64> {
    let v = t
        .into_data()
        .try_to_vec::<f32>()
        .map_err(|e| Error::Device(format!("{e:?}")))?;
    v.first()
        .map(|&x| x as f64)
        .ok_or_else(|| Error::Device("empty scalar".into()))
}

/// What [`fit`] reports to its callback.
#[derive(Debug)]
pub enum Event<'a> {
    /// A training step finished.
    Step {
        /// Epoch, 0-based.
        epoch: usize,
        /// Step within the epoch, 0-based.
        step: usize,
        /// Steps per epoch.
        steps: usize,
        /// This step's statistics.
        stats: &'a StepStats,
        /// Mean training loss of the epoch so far.
        mean_loss: f64,
        /// Mean accuracy of the epoch so far.
        mean_acc: f64,
        /// Training throughput of the epoch so far (samples per second).
        samples_per_second: f64,
    },
    /// The starting weights were scored before the first epoch
    /// ([`FitOptions::start_is_candidate`]).
    Start {
        /// Their instance F1 at IoU 0.5 on the validation images.
        val_f1: f64,
        /// Cells in the validation images.
        val_cells: usize,
    },
    /// Validation of an epoch starts.
    Validating {
        /// Epoch, 0-based.
        epoch: usize,
    },
    /// An epoch finished (after validation and saving).
    Epoch {
        /// Its statistics.
        record: &'a EpochRecord,
        /// Whether this epoch's model became the best so far.
        improved: bool,
    },
}

/// The callback's answer.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Control {
    /// Go on.
    #[default]
    Continue,
    /// Stop, as if [`FitOptions::stop`] had been raised (it is; lower it again before reusing
    /// the options): after a step, training stops before the next one with a checkpoint there
    /// (unless that step ended the epoch, which then completes); after [`Event::Validating`] or
    /// [`Event::Epoch`], once the epoch is complete (its record is kept and the best model saved
    /// as usual). [`fit`] then returns [`StopReason::Interrupted`].
    Stop,
}

/// The [`fit`] callback that logs nothing and never stops (the default of a script that needs
/// no hook): `fit(&mut trainer, train, None, &options, train::ignore_events)`.
pub fn ignore_events(_event: &Event<'_>) -> Control {
    Control::Continue
}

/// The [`fit`] callback of a script that wants a per-epoch log: one line per epoch on standard
/// error ([`crate::history::EpochRecord::line`]: `epoch 3: loss 0.12345 acc 0.9120 val_loss
/// 0.20010 val_acc 0.9050 1.5s (2.0% waiting for data) *best`), nothing per step, never stops.
pub fn log_epochs(event: &Event<'_>) -> Control {
    if let Event::Epoch { record, improved } = event {
        eprintln!("{}", record.line(None, *improved));
    }
    Control::Continue
}

/// Why [`fit`] returned.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StopReason {
    /// All epochs ran.
    Completed,
    /// The monitored loss did not improve for `patience` epochs.
    EarlyStopped,
    /// The stop flag was raised or the callback asked to stop.
    Interrupted,
}

/// Options of [`fit`]. [`FitOptions::new`] gives the defaults; set the public fields after it.
#[derive(Clone, Debug)]
pub struct FitOptions {
    /// Total number of epochs (a resumed run continues up to this number). DeLTA's scripts:
    /// 600 (seg), 500 (track), 100 (rois).
    pub epochs: usize,
    /// Training steps (batches) per epoch, at least 1. DeLTA's scripts: 300 (rois 250).
    pub steps_per_epoch: usize,
    /// Validation batches per epoch (ignored without a validation source). Default 0.
    pub validation_steps: usize,
    /// Early-stopping patience in epochs (DeLTA's `EarlyStopping(patience=50)`; rois 15);
    /// `None` (the default) disables it.
    pub patience: Option<usize>,
    /// Raised (e.g. by a Ctrl-C handler, or by the callback answering [`Control::Stop`]) to
    /// stop after the current step. Default: a fresh, lowered flag.
    pub stop: Arc<AtomicBool>,
    /// Where to write the best model (DeLTA's `ModelCheckpoint(save_best_only=True)`),
    /// checkpoints, history and curves; `None` (the default) writes nothing.
    pub run_dir: Option<RunDir>,
    /// Seed recorded in `model.toml` and checkpoints.
    pub seed: u64,
    /// Input size `[height, width]` recorded in `model.toml`.
    pub input_size: [usize; 2],
    /// Preset/config name recorded in `model.toml`.
    pub preset: Option<String>,
    /// Training-data fingerprint recorded in `model.toml`.
    pub data_fingerprint: Option<String>,
    /// Whether the data were target-size windows of full images (`crop_windows`), recorded in
    /// `model.toml` so that prediction fits images the same way.
    pub crop_windows: Option<bool>,
    /// How image intensities were brought to `[0, 1]` (`rescale`), recorded in `model.toml`.
    pub rescale: Option<Rescale>,
    /// Where to start: `(epoch, step)`, 0-based (from a checkpoint); `(0, 0)` for a new run.
    pub start: (usize, usize),
    /// Best monitored value and epochs without improvement carried over from a checkpoint
    /// (the loss, or −F1 averaged over [`crate::history::F1_WINDOW`] epochs with a
    /// [`FitOptions::scorer`]: lower is better either way).
    pub best: (Option<f64>, usize),
    /// Scores the model on whole validation images after every epoch; when given, the best
    /// model and early stopping follow its instance F1 (`monitor = "val_f1"`, averaged over
    /// [`crate::history::F1_WINDOW`] epochs) instead of the loss.
    /// [`crate::data::TrainingData::fit`] builds it from the configuration.
    pub scorer: Option<Arc<SegScorer>>,
    /// Fine-tuning: the starting weights are a candidate too. Before the first epoch of a new
    /// run ([`FitOptions::start`] `(0, 0)`) with a [`FitOptions::scorer`], the start is scored
    /// ([`Event::Start`]) and saved as the best model (`model.toml` epoch 0, loss unknown); an
    /// epoch replaces it only when its monitored F1 is higher, and the epochs that do not
    /// count towards the patience. So a fine-tuning never ends below its start on the
    /// validation cells. Default `false` (random starts: the first epoch is the first candidate).
    pub start_is_candidate: bool,
}

impl FitOptions {
    /// Options for the model `kind` of `config`: its `epochs`, `steps_per_epoch`, `patience`
    /// (0 = none) and `target_size`, the config's preset name, `crop_windows` and `rescale`; no validation steps, no
    /// RUN_DIR, seed 0 (set them after).
    pub fn from_config(config: &Config, kind: Kind) -> Result<Self> {
        let m = config.model(kind)?;
        let mut options = FitOptions::new(m.epochs, m.steps_per_epoch);
        options.patience = (m.patience > 0).then_some(m.patience);
        options.input_size = m.target_size;
        options.preset = Some(config.preset.clone());
        options.crop_windows = Some(config.crop_windows);
        options.rescale = Some(config.rescale);
        Ok(options)
    }

    /// The `model.toml` of a model of `spec` trained with these options (input size, seed,
    /// preset, data fingerprint, `crop_windows`, `rescale`), before any epoch.
    pub fn model_info(&self, spec: &UnetSpec) -> ModelInfo {
        let mut info = ModelInfo::new(spec.clone(), self.input_size);
        info.seed = self.seed;
        info.preset = self.preset.clone();
        info.data_fingerprint = self.data_fingerprint.clone();
        info.crop_windows = self.crop_windows;
        info.rescale = self.rescale;
        info
    }

    /// Options for `epochs × steps_per_epoch` with no validation, no patience, no RUN_DIR.
    pub fn new(epochs: usize, steps_per_epoch: usize) -> Self {
        FitOptions {
            epochs,
            steps_per_epoch,
            validation_steps: 0,
            patience: None,
            stop: Arc::new(AtomicBool::new(false)),
            run_dir: None,
            seed: 0,
            input_size: [0, 0],
            preset: None,
            data_fingerprint: None,
            crop_windows: None,
            rescale: None,
            start: (0, 0),
            best: (None, 0),
            scorer: None,
            start_is_candidate: false,
        }
    }
}

/// A source of batches: called with `(epoch, step)`, both 0-based.
pub type BatchSource<'a> = dyn FnMut(usize, usize) -> Result<Batch> + 'a;

/// Trains `trainer` for `options.epochs` epochs of `options.steps_per_epoch` steps.
///
/// * `train(epoch, step)` yields training batches; the time spent in it is reported per epoch
///   (`data_seconds`) so loader stalls are visible.
/// * `val(epoch, step)`, when given, yields `options.validation_steps` batches per epoch.
/// * `callback` sees every step and epoch ([`Event`]) and may stop training by answering
///   [`Control::Stop`]; pass [`ignore_events`] for none.
///
/// With a RUN_DIR, each epoch appends to `history.csv`, redraws `curves.png`, saves the best
/// model and writes a checkpoint; an interruption writes a checkpoint at the current step, with
/// the running sums of the epoch so far. Returns the full history (including epochs of earlier
/// sessions read from `history.csv`).
///
/// Resuming ([`FitOptions::start`] other than `(0, 0)`, from [`resume`]'s state): the history
/// is read from the RUN_DIR's `history.csv` and, for a start in the middle of an epoch, the
/// epoch's running sums from its `checkpoint.toml` when that checkpoint is the one at
/// `start`, so the resumed epoch's record is the uninterrupted run's. Without them (no RUN_DIR,
/// or an older checkpoint) the epoch's record covers only the steps run now: it is kept in the
/// history but never becomes the best epoch and does not count for early stopping.
///
/// `options.start.1` must be less than `options.steps_per_epoch`.
///
/// Two epochs of two steps of a tiny network on all-background 8×8 batches:
///
/// ```
/// use deltacell_nn::{device, train, Batch, FitOptions, Kind, Trainer, UnetSpec};
/// let spec = UnetSpec::with_filters(Kind::Seg, vec![2, 4]);
/// let mut trainer = Trainer::new(spec, 1, Some(1e-3), &device::cpu())?;
/// let batch = |_epoch, _step| {
///     let mut b = Batch::zeros(1, 8, 8, 1, 2);
///     b.y.chunks_mut(2).for_each(|p| p[1] = 1.0); // label 0, weight 1
///     Ok(b)
/// };
/// let options = FitOptions::new(2, 2);
/// let (history, reason) = train::fit(&mut trainer, batch, None, &options, train::ignore_events)?;
/// assert_eq!((history.epochs.len(), reason), (2, train::StopReason::Completed));
/// assert_eq!(trainer.steps(), 4);
/// # Ok::<(), deltacell_nn::Error>(())
/// ```
pub fn fit(
    trainer: &mut Trainer,
    mut train: impl FnMut(usize, usize) -> Result<Batch>,
    mut val: Option<&mut BatchSource<'_>>,
    options: &FitOptions,
    mut callback: impl FnMut(&Event<'_>) -> Control,
) -> Result<(History, StopReason)> {
    let steps = options.steps_per_epoch;
    if steps == 0 {
        return Err(Error::NoSteps);
    }
    let (start_epoch, mut start_step) = options.start;
    if start_step >= steps {
        return Err(Error::StartStep {
            step: start_step,
            steps,
        });
    }
    let mut history = match &options.run_dir {
        Some(dir) if options.start != (0, 0) => History::read(&dir.file(HISTORY_FILE))?,
        _ => History::default(),
    };
    history.epochs.retain(|r| r.epoch <= start_epoch);
    let mut carried = if start_step > 0 {
        carried_progress(options)?
    } else {
        None
    };
    let (mut best, mut waited) = options.best;
    if let Some(scorer) = options
        .scorer
        .as_ref()
        .filter(|_| options.start_is_candidate && options.start == (0, 0))
    {
        let info = options.model_info(trainer.spec());
        let val_f1 = scorer
            .evaluate(trainer.model(), &info, trainer.device())?
            .overall
            .f1_50;
        if val_f1.is_finite() {
            best = Some(-val_f1);
            if let Some(dir) = &options.run_dir {
                dir.save_best(&trainer.model().valid(), &info)?;
            }
        }
        let event = Event::Start {
            val_f1,
            val_cells: scorer.cells(),
        };
        if callback(&event) == Control::Stop {
            options.stop.store(true, Ordering::Relaxed);
        }
    }
    for epoch in start_epoch..options.epochs {
        let t0 = Instant::now();
        // Resumed in the middle without the sums of the steps before: a partial record.
        let partial = start_step > 0 && carried.is_none();
        let earlier = carried.take().unwrap_or_default();
        let mut sums = EpochProgress {
            seconds: 0.0,
            ..earlier.clone()
        };
        let mut session_samples = 0usize;
        let progress = |sums: &EpochProgress, t0: Instant| {
            (!partial && sums.steps > 0).then(|| EpochProgress {
                seconds: earlier.seconds + t0.elapsed().as_secs_f64(),
                ..sums.clone()
            })
        };
        for step in start_step..steps {
            if options.stop.load(Ordering::Relaxed) {
                checkpoint(
                    trainer,
                    options,
                    (epoch, step),
                    best,
                    waited,
                    progress(&sums, t0),
                )?;
                return Ok((history, StopReason::Interrupted));
            }
            let td = Instant::now();
            let batch = train(epoch, step)?;
            sums.data_seconds += td.elapsed().as_secs_f64();
            let stats = trainer.step(&batch)?;
            sums.steps += 1;
            sums.loss_sum += stats.loss;
            sums.acc_sum += stats.acc;
            sums.samples += stats.samples;
            session_samples += stats.samples;
            let ev = Event::Step {
                epoch,
                step,
                steps,
                stats: &stats,
                mean_loss: sums.loss_sum / sums.steps as f64,
                mean_acc: sums.acc_sum / sums.steps as f64,
                samples_per_second: session_samples as f64 / t0.elapsed().as_secs_f64().max(1e-9),
            };
            if callback(&ev) == Control::Stop {
                options.stop.store(true, Ordering::Relaxed);
            }
        }
        start_step = 0;
        let (mut val_loss, mut val_acc) = (None, None);
        if let Some(val) = val.as_deref_mut().filter(|_| options.validation_steps > 0) {
            if callback(&Event::Validating { epoch }) == Control::Stop {
                options.stop.store(true, Ordering::Relaxed);
            }
            let (mut l, mut a) = (0.0, 0.0);
            for s in 0..options.validation_steps {
                let stats = trainer.evaluate(&val(epoch, s)?)?;
                l += stats.loss;
                a += stats.acc;
            }
            val_loss = Some(l / options.validation_steps as f64);
            val_acc = Some(a / options.validation_steps as f64);
        }
        let (val_f1, val_cells) = match &options.scorer {
            Some(scorer) => {
                let info = options.model_info(trainer.spec());
                let scores = scorer.evaluate(trainer.model(), &info, trainer.device())?;
                (Some(scores.overall.f1_50), Some(scorer.cells()))
            }
            None => (None, None),
        };
        let record = EpochRecord {
            epoch: epoch + 1,
            loss: sums.loss_sum / sums.steps.max(1) as f64,
            acc: sums.acc_sum / sums.steps.max(1) as f64,
            val_loss,
            val_acc,
            val_f1,
            val_cells,
            seconds: earlier.seconds + t0.elapsed().as_secs_f64(),
            data_seconds: sums.data_seconds,
            samples: sums.samples,
        };
        history.epochs.push(record.clone());
        // The F1 averaged over the last epochs (history::F1_WINDOW), else the loss.
        let monitored = match history.monitored_f1(history.epochs.len() - 1) {
            Some(f1) => -f1,
            None => val_loss.unwrap_or(record.loss),
        };
        let improved = !partial && monitored.is_finite() && best.is_none_or(|b| monitored < b);
        if improved {
            best = Some(monitored);
            waited = 0;
        } else if !partial {
            waited += 1;
        }
        if let Some(dir) = &options.run_dir {
            if improved {
                let info = options.model_info(trainer.spec()).at_epoch(&record);
                dir.save_best(&trainer.model().valid(), &info)?;
            }
            history.write_csv(&dir.file(HISTORY_FILE))?;
            history.write_curves(&dir.file(CURVES_FILE))?;
        }
        checkpoint(trainer, options, (epoch + 1, 0), best, waited, None)?;
        if callback(&Event::Epoch {
            record: &record,
            improved,
        }) == Control::Stop
        {
            options.stop.store(true, Ordering::Relaxed);
        }
        if options.stop.load(Ordering::Relaxed) {
            return Ok((history, StopReason::Interrupted));
        }
        if options.patience.is_some_and(|p| waited >= p) {
            return Ok((history, StopReason::EarlyStopped));
        }
    }
    Ok((history, StopReason::Completed))
}

/// The running sums of the epoch `options.start` resumes in the middle of, from the RUN_DIR's
/// checkpoint when it is the one at `options.start`.
fn carried_progress(options: &FitOptions) -> Result<Option<EpochProgress>> {
    let Some(dir) = &options.run_dir else {
        return Ok(None);
    };
    let path = dir.file(CHECKPOINT_FILE);
    if !path.exists() {
        return Ok(None);
    }
    let state = dir.checkpoint_state()?;
    if (state.next_epoch, state.next_step) != options.start {
        return Ok(None);
    }
    if state
        .steps_per_epoch
        .is_some_and(|n| n != options.steps_per_epoch)
    {
        return Ok(None);
    }
    match state.epoch_progress {
        Some(p) if p.steps != state.next_step => Err(Error::Config {
            path,
            message: format!(
                "epoch_progress covers {} steps but training resumes at step {}",
                p.steps, state.next_step
            ),
        }),
        p => Ok(p),
    }
}

fn checkpoint(
    trainer: &Trainer,
    options: &FitOptions,
    (epoch, step): (usize, usize),
    best: Option<f64>,
    waited: usize,
    epoch_progress: Option<EpochProgress>,
) -> Result<()> {
    let Some(dir) = &options.run_dir else {
        return Ok(());
    };
    let state = CheckpointState {
        dir: format!("checkpoints/epoch-{epoch:04}-step-{step:06}"),
        next_epoch: epoch,
        next_step: step,
        total_steps: trainer.steps(),
        best_loss: best,
        epochs_without_improvement: waited,
        learning_rate: trainer.learning_rate(),
        seed: options.seed,
        architecture: trainer.spec().clone(),
        steps_per_epoch: Some(options.steps_per_epoch),
        epoch_progress,
    };
    dir.save_checkpoint(
        &trainer.model().valid(),
        &trainer.optimizer_bytes()?,
        &state,
    )
}

/// Rebuilds a [`Trainer`] from the checkpoint in `dir` and returns it with the state to resume
/// from (feed `next_epoch`/`next_step` into [`FitOptions::start`], `best_loss` /
/// `epochs_without_improvement` into [`FitOptions::best`]).
pub fn resume(dir: &RunDir, device: &Device) -> Result<(Trainer, CheckpointState)> {
    let (model, opt, state) = dir.load_checkpoint(device)?;
    let mut trainer = Trainer::from_model(
        model,
        state.architecture.clone(),
        Some(state.learning_rate),
        device,
    )?;
    trainer.load_optimizer_bytes(opt)?;
    trainer.set_steps(state.total_steps);
    Ok((trainer, state))
}
