//! `deltacell train seg|track|rois --preset P [--config FILE] --data DIR --out RUN_DIR [...]`.
//!
//! Parses the arguments into a [`Session`] (the library does the overrides, checks, resume and
//! training), shows a progress bar per epoch and a log line per epoch, and turns Ctrl-C into a
//! stop after the current step (a second Ctrl-C exits at once).
//!
//! `--data builtin:synth` trains on built-in synthetic images (bright rectangles on a dim
//! background): a smoke test of the whole stack that needs no files. (`--data synth` is the
//! folder `synth`: a path always means a folder.)

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{bail, Context};
use clap::Args;
use deltacell_nn::session::{
    Overrides, Session, SessionOptions, Start, TrainingSet, ValidationSteps,
};
use deltacell_nn::train::{Control, Event, StopReason};
use deltacell_nn::{Kind, Mismatch};

/// Arguments of `deltacell train`.
#[derive(Args, Debug)]
pub struct TrainArgs {
    /// The model to train.
    #[arg(value_enum)]
    pub model: Kind,
    /// Built-in preset the configuration starts from: mothermachine, 2D or 2D-cpu (2-D colonies on a CPU: 256² crops, best model by validation F1).
    #[arg(long, default_value = "2D")]
    pub preset: String,
    /// TOML configuration laid over the preset (see `deltacell config show`).
    #[arg(long)]
    pub config: Option<PathBuf>,
    /// Training set folder (img/, seg/, wei/ …), or `builtin:synth` for built-in synthetic
    /// data.
    #[arg(long)]
    pub data: String,
    /// Validation set folder (default: a held-out split of --data).
    #[arg(long)]
    pub val: Option<PathBuf>,
    /// Run folder: best model, checkpoint, history.csv, curves.png.
    #[arg(long)]
    pub out: PathBuf,
    /// Number of epochs (a resumed run continues up to this number).
    #[arg(long, value_parser = crate::numbers::at_least_one)]
    pub epochs: Option<usize>,
    /// Training steps per epoch.
    #[arg(long, value_parser = crate::numbers::at_least_one)]
    pub steps_per_epoch: Option<usize>,
    /// Samples per step.
    #[arg(long, value_parser = crate::numbers::at_least_one)]
    pub batch_size: Option<usize>,
    /// Seed of initialisation, data order and augmentation.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Worker threads (default: all cores).
    #[arg(long, value_parser = crate::numbers::at_least_one)]
    pub threads: Option<usize>,
    /// U-Net levels (filters 64·2^l).
    #[arg(long, value_parser = crate::numbers::at_least_one)]
    pub levels: Option<usize>,
    /// Explicit filters per level, e.g. 8,16,32.
    #[arg(long, value_delimiter = ',')]
    pub filters: Option<Vec<usize>>,
    /// Continue from the checkpoint in --out.
    #[arg(long, conflicts_with = "init_from")]
    pub resume: bool,
    /// Start from the best model of another run folder (e.g. one written by `deltacell
    /// import-keras`) or a built-in pretrained model (`builtin:colony-2d`) instead of random
    /// weights: fine-tuning. Its architecture is used. Overrides the configuration's
    /// `init_from` (the 2D-cpu preset starts from `builtin:colony-2d`).
    #[arg(long, value_name = "RUN_DIR|builtin:NAME")]
    pub init_from: Option<PathBuf>,
    /// Early-stopping patience in epochs (0 = off).
    #[arg(long)]
    pub patience: Option<usize>,
    /// Adam learning rate.
    #[arg(long, value_parser = crate::numbers::positive_f64)]
    pub learning_rate: Option<f64>,
    /// Validation batches per epoch (default: steps_per_epoch × validation_split, at least 1).
    #[arg(long, value_parser = crate::numbers::at_least_one)]
    pub val_steps: Option<usize>,
    /// Compute device: cpu, or cuda:N in builds with the `cuda` feature.
    #[arg(long, default_value = "cpu")]
    pub device: String,
    /// No progress bar (log lines only).
    #[arg(long)]
    pub quiet: bool,
    /// Stop after this many training steps of this session, with a checkpoint, as Ctrl-C does
    /// (for tests of `--resume`).
    #[arg(long, hide = true, value_name = "STEPS")]
    pub stop_after_steps: Option<u64>,
}

/// Runs `deltacell train`.
pub fn run(args: TrainArgs) -> anyhow::Result<ExitCode> {
    if let Some(n) = args.threads {
        rayon::ThreadPoolBuilder::new()
            .num_threads(n)
            .build_global()
            .context("setting the thread count")?;
    }
    let options = session_options(&args)?;
    let session = Session::open(options).map_err(with_flags)?;
    if let Some(summary) = session.data_summary() {
        eprintln!("{summary}");
    }
    eprintln!("{session}");
    let f = session.fit_options();
    let progress = crate::progress::Training::new(f.steps_per_epoch, f.epochs, "", args.quiet);
    let mut session_steps = 0u64;
    let outcome = session.run(|ev: &Event<'_>| {
        progress.show(ev);
        if let Event::Step { .. } = ev {
            session_steps += 1;
            if args.stop_after_steps.is_some_and(|n| session_steps >= n) {
                return Control::Stop;
            }
        }
        Control::Continue
    })?;
    progress.finish();
    let why = match outcome.reason {
        StopReason::Completed => "completed",
        StopReason::EarlyStopped => "stopped early (no improvement within the patience)",
        StopReason::Interrupted => "interrupted; resume with --resume",
    };
    eprintln!(
        "{why}: {} epochs in the history, {} steps; results in {}",
        outcome.history.epochs.len(),
        outcome.steps,
        args.out.display()
    );
    Ok(ExitCode::SUCCESS)
}

/// The session the arguments describe.
fn session_options(args: &TrainArgs) -> anyhow::Result<SessionOptions> {
    let config = super::config::load(&args.preset, args.config.as_deref())?;
    if args.data == "synth" && !Path::new("synth").exists() {
        bail!(
            "no folder synth; the built-in synthetic data is spelled --data {}",
            TrainingSet::BUILTIN
        );
    }
    let data = TrainingSet::from_name(&args.data, args.val.clone());
    let mut options = SessionOptions::new(args.model, config, data, &args.out);
    options.overrides = Overrides {
        epochs: args.epochs,
        steps_per_epoch: args.steps_per_epoch,
        batch_size: args.batch_size,
        patience: args.patience,
        learning_rate: args.learning_rate,
        levels: args.levels,
        filters: args.filters.clone(),
    };
    options.start = match (&args.init_from, args.resume) {
        (Some(from), _) => Start::FineTune { from: from.clone() },
        (None, true) => Start::Resume,
        (None, false) => Start::New,
    };
    options.seed = args.seed;
    options.device = args.device.clone();
    options.validation_steps = args
        .val_steps
        .map_or(ValidationSteps::FromSplit, ValidationSteps::Count);
    options.inputs.extend(args.config.clone());
    options.stop = crate::signals::cooperative();
    Ok(options)
}

/// The library's error with the flag that changes what it refused.
fn with_flags(e: deltacell_nn::Error) -> anyhow::Error {
    use deltacell_nn::Error as E;
    let hint = match &e {
        E::RunExists { .. } => "pass --resume to continue it or choose another --out".to_string(),
        E::Mismatch { mismatch, .. } => match mismatch {
            Mismatch::Architecture { .. } => {
                "drop --levels/--filters or use another --out".to_string()
            }
            Mismatch::Seed { saved, .. } => format!("resume it with --seed {saved}"),
            Mismatch::StepsPerEpoch { saved, .. } => {
                format!("resume it with --steps-per-epoch {saved}")
            }
            Mismatch::FineTuneArchitecture { .. } => {
                "drop --levels/--filters to fine-tune it".to_string()
            }
        },
        E::DataCrate(deltacell_data::Error::TooLarge { .. }) => {
            "lower --batch-size, target_size (in --config) or --levels/--filters".to_string()
        }
        _ => String::new(),
    };
    if hint.is_empty() {
        anyhow::Error::new(e)
    } else {
        anyhow::anyhow!("{e}; {hint}")
    }
}
