//! `deltacell train seg|track|rois --preset P [--config FILE] --data DIR --out RUN_DIR [...]`.
//!
//! Loads the configuration (preset, file, command-line overrides), builds or resumes the model,
//! and runs [`deltacell_nn::train::fit`] with a progress bar per epoch, a log line per epoch,
//! and Ctrl-C stopping after the current step (a second Ctrl-C exits at once).
//!
//! `--data builtin:synth` trains on built-in synthetic images (bright rectangles on a dim
//! background): a smoke test of the whole stack that needs no files. (`--data synth` is the
//! folder `synth`: a path always means a folder.)

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{bail, Context};
use clap::Args;
use deltacell_data::output::write_bytes;
use deltacell_nn::config::Config;
use deltacell_nn::run_dir::{RunDir, CHECKPOINT_FILE};
use deltacell_nn::train::{self, Control, Event, StopReason};
use deltacell_nn::{Batch, FitOptions, Kind, Trainer};
use indicatif::{ProgressBar, ProgressStyle};

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
    /// import-keras`) instead of a random initialisation: fine-tuning. Its architecture is used.
    #[arg(long, value_name = "RUN_DIR")]
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

/// The `--data` value of the built-in synthetic data (a folder's path never starts with
/// `builtin:` by accident; a folder called `synth` is a folder).
pub const BUILTIN_DATA: &str = "builtin:synth";

fn is_builtin(data: &str) -> bool {
    data == BUILTIN_DATA
}

/// A source of batches for [`train::fit`]: `(epoch, step) -> Batch`.
type Source = Box<dyn FnMut(usize, usize) -> deltacell_nn::Result<Batch>>;

/// Training and validation sources plus a fingerprint of the data.
struct DataSources {
    train: Source,
    val: Option<Source>,
    fingerprint: String,
    /// Scores whole validation images after every epoch (`monitor = "val_f1"`).
    scorer: Option<std::sync::Arc<deltacell_nn::score::SegScorer>>,
}

/// Runs `deltacell train`.
pub fn run(args: TrainArgs) -> anyhow::Result<ExitCode> {
    let kind = args.model;
    if let Some(n) = args.threads {
        rayon::ThreadPoolBuilder::new()
            .num_threads(n)
            .build_global()
            .context("setting the thread count")?;
    }
    let mut config = super::config::load(&args.preset, args.config.as_deref())?;
    apply_overrides(&mut config, kind, &args)?;
    config.validate(Path::new("<command line>"))?;
    let mcfg = config.model(kind)?.clone();
    let spec = mcfg.unet_spec(kind);
    let device = deltacell_nn::device::parse(&args.device)?;
    let [h, w] = mcfg.target_size;
    deltacell_data::memory::ensure_fits(
        spec.training_bytes(mcfg.batch_size, h, w),
        &format!(
            "training {kind} ({} parameters) on batches of {} at {h}×{w}",
            spec.param_count(),
            mcfg.batch_size
        ),
        "lower --batch-size, target_size or the filters",
    )?;
    // The run folder is never inside, nor contains, an input.
    let data_path = (!is_builtin(&args.data)).then(|| PathBuf::from(&args.data));
    let mut inputs: Vec<&Path> = Vec::new();
    inputs.extend(data_path.as_deref());
    inputs.extend(args.val.as_deref());
    inputs.extend(args.init_from.as_deref());
    inputs.extend(args.config.as_deref());
    deltacell_data::output::ensure_outside_inputs(&args.out, &inputs)?;
    if !args.resume && args.out.join(CHECKPOINT_FILE).exists() {
        bail!(
            "{} already holds a run; pass --resume to continue it or choose another --out",
            args.out.display()
        );
    }
    let fresh = if args.resume {
        None
    } else {
        Some(match &args.init_from {
            Some(dir) => {
                // Fine-tuning: the model's own architecture is kept; --levels/--filters that
                // disagree with it are an error rather than a silent re-initialisation.
                let (model, info) = RunDir::open(dir)
                    .and_then(|from| from.load_best(&device))
                    .with_context(|| {
                        format!("loading the model to start from in {}", dir.display())
                    })?;
                let arch = info.architecture;
                if arch.kind != kind {
                    bail!(
                        "{} holds a {} model; `train {kind}` needs a {kind} model",
                        dir.display(),
                        arch.kind,
                    );
                }
                if (args.levels.is_some() || args.filters.is_some()) && arch != spec {
                    bail!(
                        "{} has filters {:?}, which --levels/--filters contradict; drop them to \
                         fine-tune it",
                        dir.display(),
                        arch.filters
                    );
                }
                Trainer::from_model(model, arch, Some(mcfg.learning_rate), &device)?
            }
            None => Trainer::new(spec.clone(), args.seed, Some(mcfg.learning_rate), &device)?,
        })
    };
    // Everything that can refuse the start is checked before the run folder is created, so a
    // refused start leaves nothing behind.
    let data = open_data(kind, &config, &args)?;

    let (mut trainer, start, best, run) = if let Some(trainer) = fresh {
        (trainer, (0, 0), (None, 0), RunDir::create(&args.out)?)
    } else {
        let run = RunDir::create(&args.out)?;
        let (trainer, state) = train::resume(&run, &device)
            .with_context(|| format!("resuming from {}", args.out.display()))?;
        if state.architecture != spec {
            bail!(
                "the checkpoint's architecture ({:?} filters, {} input channels) differs from the \
                 configured one ({:?}); drop --levels/--filters or use another --out",
                state.architecture.filters,
                state.architecture.input_channels,
                spec.filters
            );
        }
        // Batch (epoch, step) comes from (seed, epoch, step): another seed or epoch length
        // would continue on other batches than the interrupted run's.
        if state.seed != args.seed {
            bail!(
                "{} was trained with --seed {}; resume it with --seed {}",
                args.out.display(),
                state.seed,
                state.seed
            );
        }
        if let Some(n) = state.steps_per_epoch.filter(|&n| n != mcfg.steps_per_epoch) {
            bail!(
                "{} was trained with {n} steps per epoch, the configuration gives {}; resume it \
                 with --steps-per-epoch {n}",
                args.out.display(),
                mcfg.steps_per_epoch
            );
        }
        (
            trainer,
            (state.next_epoch, state.next_step),
            (state.best_loss, state.epochs_without_improvement),
            run,
        )
    };
    // Keep the exact configuration next to the results.
    write_bytes(
        run.file("config.toml"),
        config.to_commented_toml().as_bytes(),
    )?;

    let val_steps = args.val_steps.unwrap_or_else(|| {
        ((mcfg.steps_per_epoch as f64 * mcfg.validation_split).round() as usize).max(1)
    });

    let stop = crate::signals::cooperative();
    let mut options = FitOptions::from_config(&config, kind)?;
    options.validation_steps = if data.val.is_some() { val_steps } else { 0 };
    options.stop = stop.clone();
    options.run_dir = Some(run.clone());
    options.seed = args.seed;
    options.data_fingerprint = Some(data.fingerprint.clone());
    options.scorer = data.scorer.clone();
    options.start = start;
    options.best = best;
    eprintln!(
        "training {kind} ({} levels, filters {:?}, {} parameters) on {} for epochs {}..{} × {} \
         steps, batch {}, lr {:e}, device {}",
        trainer.spec().levels(),
        trainer.spec().filters,
        trainer.spec().param_count(),
        args.data,
        start.0 + 1,
        mcfg.epochs,
        mcfg.steps_per_epoch,
        mcfg.batch_size,
        trainer.learning_rate(),
        args.device
    );
    let DataSources {
        train: train_src,
        val: mut val_src,
        ..
    } = data;
    let bar = (!args.quiet).then(|| {
        let b = ProgressBar::new(mcfg.steps_per_epoch as u64);
        b.set_style(
            ProgressStyle::with_template(
                "epoch {prefix} [{bar:30}] {pos}/{len} {msg} ({elapsed}<{eta})",
            )
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> "),
        );
        b
    });
    let epochs_total = mcfg.epochs;
    let mut session_steps = 0u64;
    let callback = |ev: &Event<'_>| {
        match ev {
            Event::Step {
                epoch,
                step,
                mean_loss,
                mean_acc,
                samples_per_second,
                ..
            } => {
                if let Some(b) = &bar {
                    if *step == 0 || b.position() == 0 {
                        b.reset();
                        b.set_prefix(format!("{}/{}", epoch + 1, epochs_total));
                        b.set_position(*step as u64);
                    }
                    b.inc(1);
                    b.set_message(format!(
                        "loss {mean_loss:.4} acc {mean_acc:.4} {samples_per_second:.1} samples/s"
                    ));
                }
                session_steps += 1;
                if args.stop_after_steps.is_some_and(|n| session_steps >= n) {
                    return Control::Stop;
                }
            }
            Event::Validating { .. } => {
                if let Some(b) = &bar {
                    b.set_message("validating");
                }
            }
            Event::Epoch { record, improved } => {
                let line = format!(
                    "epoch {}/{}: loss {:.5} acc {:.4}{} {:.1}s ({:.1}% waiting for data){}",
                    record.epoch,
                    epochs_total,
                    record.loss,
                    record.acc,
                    match (record.val_loss, record.val_acc, record.val_f1) {
                        (Some(l), Some(a), None) => format!(" val_loss {l:.5} val_acc {a:.4}"),
                        (Some(l), Some(a), Some(f)) => {
                            format!(" val_loss {l:.5} val_acc {a:.4} val_f1 {f:.4}")
                        }
                        _ => String::new(),
                    },
                    record.seconds,
                    100.0 * record.data_seconds / record.seconds.max(1e-9),
                    if *improved { " *best" } else { "" }
                );
                match &bar {
                    Some(b) => {
                        b.println(line);
                        b.reset();
                    }
                    None => eprintln!("{line}"),
                }
            }
        }
        Control::Continue
    };
    let (history, reason) = train::fit(
        &mut trainer,
        train_src,
        val_src
            .as_deref_mut()
            .map(|v| v as &mut train::BatchSource<'_>),
        &options,
        callback,
    )?;
    if let Some(b) = &bar {
        b.finish_and_clear();
    }
    let why = match reason {
        StopReason::Completed => "completed",
        StopReason::EarlyStopped => "stopped early (no improvement within the patience)",
        StopReason::Interrupted => "interrupted; resume with --resume",
    };
    eprintln!(
        "{why}: {} epochs in the history, {} steps; results in {}",
        history.epochs.len(),
        trainer.steps(),
        args.out.display()
    );
    Ok(ExitCode::SUCCESS)
}

fn apply_overrides(config: &mut Config, kind: Kind, args: &TrainArgs) -> anyhow::Result<()> {
    let m = config.model_mut(kind)?;
    if let Some(v) = args.epochs {
        m.epochs = v;
    }
    if let Some(v) = args.steps_per_epoch {
        m.steps_per_epoch = v;
    }
    if let Some(v) = args.batch_size {
        m.batch_size = v;
    }
    if let Some(v) = args.patience {
        m.patience = v;
    }
    if let Some(v) = args.learning_rate {
        m.learning_rate = v;
    }
    if let Some(v) = args.levels {
        m.levels = v;
        m.filters = None;
    }
    if let Some(f) = &args.filters {
        m.filters = Some(f.clone());
    }
    Ok(())
}

/// Opens the training (and validation) batch sources.
///
/// Real training sets are read by [`deltacell_nn::data::TrainingData`] (datasets and the
/// prefetching loader of deltacell-data).
fn open_data(kind: Kind, config: &Config, args: &TrainArgs) -> anyhow::Result<DataSources> {
    let m = config.model(kind)?;
    let [h, w] = m.target_size;
    let batch_size = m.batch_size;
    let channels = kind.input_channels();
    if is_builtin(&args.data) {
        let seed = args.seed;
        return Ok(DataSources {
            train: Box::new(move |e, s| {
                Ok(synth_batch(
                    batch_size, h, w, channels, seed, e as u64, s as u64,
                ))
            }),
            val: Some(Box::new(move |_e, s| {
                // A fixed validation set: the same batches every epoch.
                Ok(synth_batch(
                    batch_size,
                    h,
                    w,
                    channels,
                    seed ^ 0xDA7A,
                    u64::MAX,
                    s as u64,
                ))
            })),
            fingerprint: format!("synth:seed={seed}"),
            scorer: None,
        });
    }
    if args.data == "synth" && !Path::new("synth").exists() {
        bail!("no folder synth; the built-in synthetic data is spelled --data {BUILTIN_DATA}");
    }
    let data = deltacell_nn::data::TrainingData::open(
        kind,
        config,
        Path::new(&args.data),
        args.val.as_deref(),
        args.seed,
    )
    .with_context(|| format!("opening the training set {}", args.data))?;
    eprintln!("{}", data.summary());
    let fingerprint = data.fingerprint().to_string();
    let scorer = data.scorer()?;
    let (train, val) = data.into_sources();
    Ok(DataSources {
        train,
        val: val.map(|v| v as Source),
        fingerprint,
        scorer,
    })
}

/// Synthetic batch: rectangles ("cells") of intensity 0.8 on a 0.2 background with noise; the
/// label marks the rectangles, weights are 1. Reproducible from `(seed, epoch, step)`.
fn synth_batch(n: usize, h: usize, w: usize, c: usize, seed: u64, epoch: u64, step: u64) -> Batch {
    use rand::Rng;
    let mut rng = deltacell_data::random::stream(seed, epoch, step);
    let mut b = Batch::zeros(n, h, w, c, 2);
    for k in 0..n {
        for p in 0..h * w {
            for ch in 0..c {
                b.x[(k * h * w + p) * c + ch] = 0.2 + 0.05 * rng.random::<f32>();
            }
            b.y[(k * h * w + p) * 2 + 1] = 1.0;
        }
        let cells = 1 + (h * w) / 400;
        for _ in 0..cells.min(40) {
            let rh = rng.random_range(2..(h / 3).max(3));
            let rw = rng.random_range(2..(w / 3).max(3));
            let r0 = rng.random_range(0..h.saturating_sub(rh).max(1));
            let c0 = rng.random_range(0..w.saturating_sub(rw).max(1));
            for r in r0..(r0 + rh).min(h) {
                for col in c0..(c0 + rw).min(w) {
                    let p = k * h * w + r * w + col;
                    for ch in 0..c {
                        b.x[p * c + ch] = 0.8;
                    }
                    b.y[p * 2] = 1.0;
                }
            }
        }
    }
    b
}
