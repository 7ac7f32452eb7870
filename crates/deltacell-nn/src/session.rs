//! Training sessions: the job `deltacell train`, `deltacell demo`, the examples and the Python
//! package run, in one place.
//!
//! A [`Session`] is opened from [`SessionOptions`] (a configuration, overrides, a training set,
//! a run folder and how to start: [`Start::New`], [`Start::Resume`] or [`Start::FineTune`]).
//! Opening does every check that can refuse the start before the run folder is created, so a
//! refused start leaves nothing behind:
//! * the overrides are applied and the configuration validated;
//! * the memory a training step needs is compared with what the machine has;
//! * the run folder is neither inside nor around an input, and holds no run unless resumed;
//! * a fine-tuned model has the trained kind and, when the options name an architecture, that
//!   architecture; a resumed checkpoint has the configured architecture, seed and epoch length
//!   (batch `(epoch, step)` is a function of `(seed, epoch, step)`: another seed or epoch length
//!   would continue on other batches than the interrupted run's);
//! * the training set opens ([`crate::data::TrainingData`], or the built-in
//!   [`RectangleBatches`]).
//!
//! [`Session::run`] then writes the exact configuration (`config.toml`) into the run folder and
//! calls [`crate::train::fit`]; the callback sees every [`Event`] and may stop.
//!
//! ```no_run
//! use deltacell_nn::config::Config;
//! use deltacell_nn::session::{Session, SessionOptions, Start, TrainingSet};
//! use deltacell_nn::{train::ignore_events, Kind};
//! let mut options = SessionOptions::new(
//!     Kind::Seg,
//!     Config::preset("mothermachine")?,
//!     TrainingSet::Folder { train: "training/seg".into(), val: None },
//!     "runs/seg",
//! );
//! options.overrides.epochs = Some(2);
//! options.start = Start::New;
//! let outcome = Session::open(options)?.run(ignore_events)?;
//! println!("{} epochs", outcome.history.epochs.len());
//! # Ok::<(), deltacell_nn::Error>(())
//! ```

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;
use std::sync::Arc;

use deltacell_data::output::{ensure_outside_inputs, write_bytes};
use deltacell_data::synth::RectangleBatches;

use crate::config::{Config, ModelConfig};
use crate::data::{Source, TrainingData};
use crate::error::{Error, Mismatch, Result};
use crate::history::History;
use crate::run_dir::{RunDir, CHECKPOINT_FILE};
use crate::train::{self, Control, Event, FitOptions, StopReason, Trainer};
use crate::unet::{Kind, UnetSpec};

/// The file a session writes its full configuration to, in the run folder.
pub const CONFIG_FILE: &str = "config.toml";

/// How a session starts.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum Start {
    /// A freshly initialised model (He-normal from the seed); the run folder must hold no run.
    #[default]
    New,
    /// Continue from the checkpoint in the run folder (model, Adam state, epoch and step).
    Resume,
    /// Start from the best model of another run folder (e.g. an imported Keras model), or a
    /// built-in model (`builtin:NAME`, [`crate::builtin`]), with a fresh optimizer:
    /// fine-tuning. The model's own architecture is kept. A model configuration's `init_from`
    /// turns [`Start::New`] into this.
    FineTune {
        /// The run folder whose best model is the starting point, or `builtin:NAME`.
        from: PathBuf,
    },
}

/// Where the training batches come from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TrainingSet {
    /// A training-set folder in DeLTA's layout, and a validation folder (default: a held-out
    /// `validation_split` of the training folder's files).
    Folder {
        /// The training set.
        train: PathBuf,
        /// The validation set, if separate.
        val: Option<PathBuf>,
    },
    /// The built-in synthetic rectangles ([`RectangleBatches`]): a smoke test needing no files.
    Synthetic,
}

impl TrainingSet {
    /// The name of the built-in synthetic data (a folder's path never starts with `builtin:` by
    /// accident; a folder called `synth` is a folder).
    pub const BUILTIN: &'static str = "builtin:synth";

    /// [`TrainingSet::Synthetic`] for the name [`TrainingSet::BUILTIN`], the folder `name`
    /// (with the validation folder `val`) otherwise.
    ///
    /// ```
    /// use deltacell_nn::session::TrainingSet;
    /// assert_eq!(TrainingSet::from_name("builtin:synth", None), TrainingSet::Synthetic);
    /// assert!(matches!(TrainingSet::from_name("synth", None), TrainingSet::Folder { .. }));
    /// ```
    pub fn from_name(name: &str, val: Option<PathBuf>) -> Self {
        if name == Self::BUILTIN {
            TrainingSet::Synthetic
        } else {
            TrainingSet::Folder {
                train: PathBuf::from(name),
                val,
            }
        }
    }
}

impl fmt::Display for TrainingSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TrainingSet::Folder { train, .. } => write!(f, "{}", train.display()),
            TrainingSet::Synthetic => f.write_str(Self::BUILTIN),
        }
    }
}

/// Values laid over the model's table of the configuration (`None`: keep the configuration's).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Overrides {
    /// Number of epochs, at least 1 (a resumed run continues up to this number).
    pub epochs: Option<usize>,
    /// Training steps per epoch, at least 1.
    pub steps_per_epoch: Option<usize>,
    /// Samples per step, at least 1.
    pub batch_size: Option<usize>,
    /// Early-stopping patience in epochs (0 = off).
    pub patience: Option<usize>,
    /// Adam's learning rate, > 0.
    pub learning_rate: Option<f64>,
    /// U-Net levels (filters 64·2^l); clears the configuration's explicit filters.
    pub levels: Option<usize>,
    /// Explicit filters per level.
    pub filters: Option<Vec<usize>>,
}

impl Overrides {
    /// Lays the overrides over `m`.
    ///
    /// ```
    /// use deltacell_nn::{config::Config, session::Overrides, Kind};
    /// let mut config = Config::preset("mothermachine")?;
    /// let o = Overrides { epochs: Some(3), levels: Some(2), ..Overrides::default() };
    /// o.apply(config.model_mut(Kind::Seg)?);
    /// let m = config.model(Kind::Seg)?;
    /// assert_eq!((m.epochs, m.levels, m.filters.clone()), (3, 2, None));
    /// # Ok::<(), deltacell_nn::Error>(())
    /// ```
    pub fn apply(&self, m: &mut ModelConfig) {
        if let Some(v) = self.epochs {
            m.epochs = v;
        }
        if let Some(v) = self.steps_per_epoch {
            m.steps_per_epoch = v;
        }
        if let Some(v) = self.batch_size {
            m.batch_size = v;
        }
        if let Some(v) = self.patience {
            m.patience = v;
        }
        if let Some(v) = self.learning_rate {
            m.learning_rate = v;
        }
        if let Some(v) = self.levels {
            m.levels = v;
            m.filters = None;
        }
        if let Some(f) = &self.filters {
            m.filters = Some(f.clone());
        }
    }

    /// Whether the overrides name an architecture (levels or filters).
    pub fn names_architecture(&self) -> bool {
        self.levels.is_some() || self.filters.is_some()
    }
}

/// Validation batches per epoch.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum ValidationSteps {
    /// `steps_per_epoch × validation_split`, rounded, at least 1 (DeLTA's CLI).
    #[default]
    FromSplit,
    /// One pass over the validation set (the built-in data: as [`ValidationSteps::FromSplit`]).
    OnePass,
    /// This many batches, at least 1.
    Count(usize),
}

/// Everything a [`Session`] is opened from. [`SessionOptions::new`] gives the defaults.
#[derive(Clone, Debug)]
pub struct SessionOptions {
    /// The model to train.
    pub kind: Kind,
    /// The configuration (a preset, or a file laid over one); [`SessionOptions::overrides`] are
    /// laid over it.
    pub config: Config,
    /// Values laid over the model's table.
    pub overrides: Overrides,
    /// The training data.
    pub data: TrainingSet,
    /// The run folder: best model, checkpoint, `history.csv`, `curves.png`, `config.toml`.
    pub out: PathBuf,
    /// New, resumed or fine-tuned.
    pub start: Start,
    /// Seed of initialisation, data order and augmentation (default 1).
    pub seed: u64,
    /// Compute device: `cpu`, or `cuda:N` in builds with the `cuda` feature (default `cpu`).
    pub device: String,
    /// Validation batches per epoch (default [`ValidationSteps::FromSplit`]).
    pub validation_steps: ValidationSteps,
    /// Other files the run was configured from (e.g. the configuration file): the run folder
    /// must be neither inside nor around them.
    pub inputs: Vec<PathBuf>,
    /// Raised (e.g. by a Ctrl-C handler) to stop after the current step with a checkpoint.
    pub stop: Arc<AtomicBool>,
}

impl SessionOptions {
    /// A new run of `kind` on `data` into `out` with `config` as it is: seed 1, CPU, no
    /// overrides, validation steps from the split.
    pub fn new(kind: Kind, config: Config, data: TrainingSet, out: impl Into<PathBuf>) -> Self {
        SessionOptions {
            kind,
            config,
            overrides: Overrides::default(),
            data,
            out: out.into(),
            start: Start::New,
            seed: 1,
            device: "cpu".into(),
            validation_steps: ValidationSteps::default(),
            inputs: Vec::new(),
            stop: Arc::new(AtomicBool::new(false)),
        }
    }
}

/// What [`Session::run`] returns.
#[derive(Clone, Debug)]
pub struct Outcome {
    /// The run's history, epochs of earlier sessions included.
    pub history: History,
    /// Why training ended.
    pub reason: StopReason,
    /// Optimizer steps of the model so far (all sessions).
    pub steps: u64,
    /// The run folder.
    pub run_dir: PathBuf,
}

/// A training session, checked and ready to run. See the [module documentation](self).
pub struct Session {
    kind: Kind,
    config: Config,
    trainer: Trainer,
    fit: FitOptions,
    run: RunDir,
    train: Source,
    val: Option<Source>,
    data_label: String,
    data_summary: Option<String>,
    device: String,
}

impl fmt::Debug for Session {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Session")
            .field("kind", &self.kind)
            .field("run", &self.run.path())
            .field("start", &self.fit.start)
            .finish()
    }
}

impl Session {
    /// Applies the overrides, checks everything (see the [module documentation](self)), builds
    /// or loads the model and opens the data; creates the run folder last.
    pub fn open(options: SessionOptions) -> Result<Self> {
        let SessionOptions {
            kind,
            mut config,
            overrides,
            data,
            out,
            start,
            seed,
            device: device_name,
            validation_steps,
            inputs,
            stop,
        } = options;
        overrides.apply(config.model_mut(kind)?);
        config.validate(Path::new("<overrides>"))?;
        let m = config.model(kind)?.clone();
        // The configuration's `init_from` starts a new run from a model (`--init-from`, which
        // is a `Start::FineTune` already, overrides it; "none" is random weights).
        let start = match (start, m.init_from.as_deref()) {
            (Start::New, Some(from)) if from != "none" => Start::FineTune { from: from.into() },
            (start, _) => start,
        };
        let spec = m.unet_spec(kind);
        let device = crate::device::parse(&device_name)?;
        let [h, w] = m.target_size;
        deltacell_data::memory::ensure_fits(
            spec.training_bytes(m.batch_size, h, w),
            &format!(
                "training {kind} ({} parameters) on batches of {} at {h}×{w}",
                spec.param_count(),
                m.batch_size
            ),
            "lower the batch size, the target size or the filters",
        )?;
        // The run folder is never inside, nor contains, an input.
        let mut all_inputs: Vec<&Path> = inputs.iter().map(PathBuf::as_path).collect();
        if let TrainingSet::Folder { train, val } = &data {
            all_inputs.push(train);
            all_inputs.extend(val.as_deref());
        }
        if let Start::FineTune { from } = &start {
            if crate::builtin::name_in(from).is_none() {
                all_inputs.push(from);
            }
        }
        ensure_outside_inputs(&out, &all_inputs)?;
        if start != Start::Resume && out.join(CHECKPOINT_FILE).exists() {
            return Err(Error::RunExists { dir: out });
        }
        let fresh = match &start {
            Start::Resume => None,
            Start::New => Some(Trainer::new(
                spec.clone(),
                seed,
                Some(m.learning_rate),
                &device,
            )?),
            Start::FineTune { from } => {
                let (model, info) = match crate::builtin::name_in(from) {
                    Some(name) => crate::builtin::get(name)?.load(&device)?,
                    None => RunDir::open(from)?.load_best(&device)?,
                };
                let arch = info.architecture;
                if arch.kind != kind {
                    return Err(Error::WrongKind {
                        path: from.clone(),
                        found: arch.kind,
                        wanted: kind,
                    });
                }
                if overrides.names_architecture() && arch != spec {
                    return Err(Error::Mismatch {
                        dir: from.clone(),
                        mismatch: Mismatch::FineTuneArchitecture {
                            filters: arch.filters,
                        },
                    });
                }
                Some(Trainer::from_model(
                    model,
                    arch,
                    Some(m.learning_rate),
                    &device,
                )?)
            }
        };
        // Everything that can refuse the start is checked before the run folder is created.
        let opened = open_data(kind, &config, &m, &data, seed)?;
        let mut fit = FitOptions::from_config(&config, kind)?;
        let (trainer, run) = match fresh {
            Some(trainer) => (trainer, RunDir::create(&out)?),
            None => {
                let run = RunDir::create(&out)?;
                let (trainer, state) = train::resume(&run, &device)?;
                check_resume(&out, &state, &spec, seed, m.steps_per_epoch)?;
                fit.start = (state.next_epoch, state.next_step);
                fit.best = (state.best_loss, state.epochs_without_improvement);
                (trainer, run)
            }
        };
        fit.validation_steps = match (opened.val.is_some(), validation_steps, opened.val_pass) {
            (false, ..) => 0,
            (true, ValidationSteps::Count(n), _) => n,
            (true, ValidationSteps::OnePass, Some(n)) => n,
            (true, ..) => ((m.steps_per_epoch as f64 * m.validation_split).round() as usize).max(1),
        };
        fit.stop = stop;
        fit.run_dir = Some(run.clone());
        fit.seed = seed;
        fit.data_fingerprint = Some(opened.fingerprint);
        fit.scorer = opened.scorer;
        // A fine-tuning's start competes with its epochs (FitOptions::start_is_candidate).
        fit.start_is_candidate = matches!(start, Start::FineTune { .. });
        Ok(Session {
            kind,
            config,
            trainer,
            fit,
            run,
            train: opened.train,
            val: opened.val,
            data_label: data.to_string(),
            data_summary: opened.summary,
            device: device_name,
        })
    }

    /// The configuration with the overrides laid over it (what `config.toml` receives).
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// The options [`crate::train::fit`] is called with.
    pub fn fit_options(&self) -> &FitOptions {
        &self.fit
    }

    /// The trainer (model and optimizer).
    pub fn trainer(&self) -> &Trainer {
        &self.trainer
    }

    /// The run folder.
    pub fn run_dir(&self) -> &Path {
        self.run.path()
    }

    /// One line about the training set (items, storage), `None` for the built-in data.
    pub fn data_summary(&self) -> Option<&str> {
        self.data_summary.as_deref()
    }

    /// Writes `config.toml` and trains (see [`crate::train::fit`]); `callback` sees every
    /// [`Event`] and may answer [`Control::Stop`].
    pub fn run(self, callback: impl FnMut(&Event<'_>) -> Control) -> Result<Outcome> {
        let Session {
            config,
            mut trainer,
            fit,
            run,
            train,
            mut val,
            ..
        } = self;
        write_bytes(run.file(CONFIG_FILE), config.to_commented_toml().as_bytes())?;
        let (history, reason) = train::fit(
            &mut trainer,
            train,
            val.as_deref_mut().map(|v| v as &mut train::BatchSource<'_>),
            &fit,
            callback,
        )?;
        Ok(Outcome {
            history,
            reason,
            steps: trainer.steps(),
            run_dir: run.path().to_path_buf(),
        })
    }
}

/// `training seg (3 levels, filters [8, 16, 32], 123 parameters) on DATA for epochs 1..20 × 25
/// steps, batch 4, lr 1e-3, device cpu`.
impl fmt::Display for Session {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let spec = self.trainer.spec();
        write!(
            f,
            "training {} ({} levels, filters {:?}, {} parameters) on {} for epochs {}..{} × {} \
             steps, batch {}, lr {:e}, device {}",
            self.kind,
            spec.levels(),
            spec.filters,
            spec.param_count(),
            self.data_label,
            self.fit.start.0 + 1,
            self.fit.epochs,
            self.fit.steps_per_epoch,
            self.config
                .model(self.kind)
                .map(|m| m.batch_size)
                .unwrap_or_default(),
            self.trainer.learning_rate(),
            self.device
        )
    }
}

/// A resumed checkpoint must continue the configured run.
fn check_resume(
    dir: &Path,
    state: &crate::run_dir::CheckpointState,
    spec: &UnetSpec,
    seed: u64,
    steps_per_epoch: usize,
) -> Result<()> {
    let mismatch = if state.architecture != *spec {
        Some(Mismatch::Architecture {
            saved: state.architecture.filters.clone(),
            input_channels: state.architecture.input_channels,
            configured: spec.filters.clone(),
        })
    } else if state.seed != seed {
        Some(Mismatch::Seed {
            saved: state.seed,
            given: seed,
        })
    } else {
        state
            .steps_per_epoch
            .filter(|&n| n != steps_per_epoch)
            .map(|n| Mismatch::StepsPerEpoch {
                saved: n,
                configured: steps_per_epoch,
            })
    };
    match mismatch {
        Some(mismatch) => Err(Error::Mismatch {
            dir: dir.to_path_buf(),
            mismatch,
        }),
        None => Ok(()),
    }
}

/// The opened data of a session.
struct Opened {
    train: Source,
    val: Option<Source>,
    /// Batches of one validation pass, for [`ValidationSteps::OnePass`].
    val_pass: Option<usize>,
    fingerprint: String,
    summary: Option<String>,
    scorer: Option<Arc<crate::score::SegScorer>>,
}

fn open_data(
    kind: Kind,
    config: &Config,
    m: &ModelConfig,
    data: &TrainingSet,
    seed: u64,
) -> Result<Opened> {
    match data {
        TrainingSet::Synthetic => {
            let source = RectangleBatches {
                batch_size: m.batch_size,
                height: m.target_size[0],
                width: m.target_size[1],
                channels: kind.input_channels(),
                seed,
            };
            Ok(Opened {
                train: Box::new(move |e, s| Ok(source.train(e, s))),
                val: Some(Box::new(move |_e, s| Ok(source.validation(s)))),
                val_pass: None,
                fingerprint: source.fingerprint(),
                summary: None,
                scorer: None,
            })
        }
        TrainingSet::Folder { train, val } => {
            let data = TrainingData::open(kind, config, train, val.as_deref(), seed)?;
            let summary = Some(data.summary());
            let fingerprint = data.fingerprint().to_string();
            let scorer = data.scorer()?;
            let val_pass = data.validation_steps();
            let (train, val) = data.into_sources();
            Ok(Opened {
                train,
                val,
                val_pass,
                fingerprint,
                summary,
                scorer,
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tiny(out: &Path) -> SessionOptions {
        let mut o = SessionOptions::new(
            Kind::Seg,
            Config::preset("mothermachine").unwrap(),
            TrainingSet::Synthetic,
            out,
        );
        o.config.model_mut(Kind::Seg).unwrap().target_size = [16, 16];
        o.overrides = Overrides {
            epochs: Some(1),
            steps_per_epoch: Some(2),
            batch_size: Some(1),
            filters: Some(vec![2, 4]),
            ..Overrides::default()
        };
        o
    }

    #[test]
    fn new_resume_and_refusals() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("run");
        let outcome = Session::open(tiny(&out))
            .unwrap()
            .run(train::ignore_events)
            .unwrap();
        assert_eq!(outcome.history.epochs.len(), 1);
        assert_eq!(outcome.steps, 2);
        assert!(out.join(CONFIG_FILE).is_file());
        // A second new run into the same folder is refused.
        let e = Session::open(tiny(&out)).unwrap_err();
        assert!(matches!(e, Error::RunExists { .. }), "{e}");
        // Resuming with another seed is refused, naming both seeds.
        let mut o = tiny(&out);
        (o.start, o.seed) = (Start::Resume, 2);
        let e = Session::open(o).unwrap_err();
        assert!(
            matches!(
                e,
                Error::Mismatch {
                    mismatch: Mismatch::Seed { saved: 1, given: 2 },
                    ..
                }
            ),
            "{e}"
        );
        // Resumed to two epochs: one more epoch of two steps.
        let mut o = tiny(&out);
        o.start = Start::Resume;
        o.overrides.epochs = Some(2);
        let session = Session::open(o).unwrap();
        assert_eq!(session.fit_options().start, (1, 0));
        let outcome = session.run(train::ignore_events).unwrap();
        assert_eq!(outcome.history.epochs.len(), 2);
        assert_eq!(outcome.steps, 4);
    }

    #[test]
    fn fine_tuning_checks_the_kind() {
        let dir = tempfile::tempdir().unwrap();
        let base = dir.path().join("base");
        Session::open(tiny(&base))
            .unwrap()
            .run(train::ignore_events)
            .unwrap();
        let mut o = tiny(&dir.path().join("tuned"));
        o.kind = Kind::Rois;
        o.config.model_mut(Kind::Rois).unwrap().target_size = [16, 16];
        o.start = Start::FineTune { from: base };
        let e = Session::open(o).unwrap_err();
        assert!(matches!(e, Error::WrongKind { .. }), "{e}");
        assert!(!dir.path().join("tuned").exists());
    }
}
