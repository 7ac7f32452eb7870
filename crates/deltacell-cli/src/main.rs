//! `deltacell`: retrain DeLTA's U-Nets on your own data.

use std::process::ExitCode;

use clap::{Parser, Subcommand};

mod cmd;
mod numbers;
mod progress;
mod signals;

/// mimalloc keeps freed tensor buffers for reuse instead of handing them back to the kernel and
/// faulting them in again at the next training step (with [`keep_freed_memory`]).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Tells mimalloc never to return freed memory to the kernel ("purge"; by default it does so
/// about a second after a free), unless the user set `MIMALLOC_PURGE_DELAY`.
///
/// The networks allocate and free tensors of tens of megabytes per layer and call: purged, each
/// is faulted in and zeroed by the kernel again at the next call. Measured on `deltacell run`
/// of DeLTA's 2-D movie (2-core AVX-512 KVM guest, 1 thread): system time 1.31 s → 0.40 s,
/// minor page faults 83 500 → 27 500, wall time −10 %; the peak resident set grows (370 →
/// 490 MB there, 2 threads) but no longer with time, since the peak's memory is reused.
fn keep_freed_memory() {
    // `mi_option_purge_delay` in mimalloc 2.x's `mi_option_e` (libmimalloc-sys has no constant
    // for it); -1: never purge.
    const MI_OPTION_PURGE_DELAY: libmimalloc_sys::mi_option_t = 15;
    if std::env::var_os("MIMALLOC_PURGE_DELAY").is_none() {
        // SAFETY: sets one of mimalloc's option values; called once, first thing in `main`,
        // before any other thread exists (mimalloc's options are not synchronised).
        unsafe { libmimalloc_sys::mi_option_set(MI_OPTION_PURGE_DELAY, -1) };
    }
}

/// deltacell: segment and track bacteria with DeLTA's U-Nets, retrained on your own data.
#[derive(Parser, Debug)]
#[command(name = "deltacell", version, about, long_about = None, args_override_self = true)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Print the version and the build's features.
    Info,
    /// Validate a training set (segmentation, tracking or chambers) and summarise it.
    Check(cmd::check::Args),
    /// Write a built-in synthetic training set or movie in DeLTA's layout.
    Synth(cmd::synth::SynthArgs),
    /// Score predictions against ground truth (segmentation or tracking), with an HTML report.
    Eval(cmd::eval::EvalArgs),
    /// Preview augmentation on a segmentation training set (contact sheet) or write an
    /// augmented copy of it.
    Augment(cmd::augment::AugmentArgs),
    /// Precompute the weight maps (`wei/`) of a training set.
    Weights(cmd::weights::WeightsArgs),
    /// Draw a few training batches as the network sees them (every channel) into a PNG.
    Batches(cmd::batches::Args),
    /// Training configurations: show a preset as a commented TOML file.
    #[command(subcommand)]
    Config(cmd::config::ConfigCommand),
    /// Train a U-Net (seg, track or rois) and write a run folder.
    Train(Box<cmd::train::TrainArgs>),
    /// Import a DeLTA Keras model (.hdf5 or .keras) into a run folder.
    ImportKeras(cmd::import_keras::ImportKerasArgs),
    /// Export a run folder's model as a Keras model (.hdf5 or .keras) that DeLTA loads.
    ExportKeras(cmd::export_keras::ExportKerasArgs),
    /// Segment a folder of images or track a segmented movie with a trained run folder.
    Predict(cmd::predict::PredictArgs),
    /// Synthesise data, train small seg and track U-Nets, predict and evaluate: the whole loop.
    Demo(cmd::demo::DemoArgs),
    /// Write tracked ROIs as Cell Tracking Challenge folders (results, or ground truth).
    ExportCtc(cmd::export_ctc::ExportCtcArgs),
    /// Read Cell Tracking Challenge folders into deltacell's lineages.
    ImportCtc(cmd::import_ctc::ImportCtcArgs),
    /// Analyse a movie as DeLTA 3's `delta run`: rotation, chambers, drift, segmentation,
    /// tracking, lineages and per-cell features, per position.
    Run(cmd::run::RunArgs),
    /// Check and join the positions of a results folder written by several `run`s (shards,
    /// Slurm array tasks, Dask workers): an index of positions and the experiment-wide table.
    Merge(cmd::merge::MergeArgs),
    /// Recompute every feature and growth rate of DeLTA results files (`PositionNNNNNN.nc`)
    /// from their labels and lineages; write them back with a per-cell CSV table.
    Features(cmd::features::FeaturesArgs),
    /// Make a training set (seg, track or rois) in DeLTA's layout from results files
    /// (`PositionNNNNNN.nc`), e.g. corrected by hand, to retrain on them.
    TrainingSet(cmd::training_set::TrainingSetArgs),
    /// DeLTA's released training sets and models: list them, or download, verify and cache them.
    #[command(subcommand)]
    Assets(cmd::assets::AssetsCommand),
}

fn main() -> ExitCode {
    keep_freed_memory();
    let cli = Cli::parse();
    let result = signals::install().and_then(|()| try_main(cli));
    // A command that a signal stopped (training stops cooperatively) exits 130 or 143.
    if let Some(code) = signals::exit_code() {
        if let Err(err) = &result {
            report(err);
        }
        return code;
    }
    match result {
        Ok(code) => code,
        Err(err) => {
            report(&err);
            ExitCode::from(1)
        }
    }
}

/// Prints an error, with the flag that changes what the library refused where there is one
/// (library messages name files and problems, never the command line).
fn report(err: &anyhow::Error) {
    use deltacell_data::Error as D;
    let hint = err.chain().find_map(|cause| {
        if let Some(deltacell_analysis::Error::Config { key, .. }) =
            cause.downcast_ref::<deltacell_analysis::Error>()
        {
            if key.ends_with(".model_path") {
                return Some(format!(
                    "set it in the configuration file or with -C {key}=…"
                ));
            }
        }
        if let Some(deltacell_analysis::Error::ResultsChanged { .. }) =
            cause.downcast_ref::<deltacell_analysis::Error>()
        {
            return Some("pass --redo to analyse them again".to_string());
        }
        let data = match cause.downcast_ref::<deltacell_nn::Error>() {
            Some(deltacell_nn::Error::DataCrate(d)) => Some(d),
            _ => cause.downcast_ref::<D>(),
        };
        match data? {
            D::OutputNotEmpty { .. } => Some("pass --force to write into it".to_string()),
            D::WeightsExist { .. } => Some("pass --force to recompute them".to_string()),
            _ => None,
        }
    });
    match hint {
        Some(hint) => eprintln!("error: {err:#}; {hint}"),
        None => eprintln!("error: {err:#}"),
    }
}

fn try_main(cli: Cli) -> anyhow::Result<ExitCode> {
    match cli.command {
        Command::Info => cmd::info::run(),
        Command::Check(args) => cmd::check::run(args),
        Command::Synth(args) => cmd::synth::run(args),
        Command::Eval(args) => cmd::eval::run(args),
        Command::Augment(args) => cmd::augment::run(args),
        Command::Weights(args) => cmd::weights::run(args),
        Command::Batches(args) => cmd::batches::run(args),
        Command::Config(c) => cmd::config::run(c),
        Command::Train(args) => cmd::train::run(*args),
        Command::ImportKeras(args) => cmd::import_keras::run(args),
        Command::ExportKeras(args) => cmd::export_keras::run(args),
        Command::Predict(args) => cmd::predict::run(args),
        Command::Demo(args) => cmd::demo::run(args),
        Command::Assets(c) => cmd::assets::run(c),
        Command::ExportCtc(args) => cmd::export_ctc::run(args),
        Command::ImportCtc(args) => cmd::import_ctc::run(args),
        Command::Features(args) => cmd::features::run(args),
        Command::TrainingSet(args) => cmd::training_set::run(args),
        Command::Run(args) => cmd::run::run(args),
        Command::Merge(args) => cmd::merge::run(args),
    }
}
