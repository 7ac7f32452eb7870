//! `deltacell predict seg|track`: run a trained RUN_DIR on a folder of images.
//!
//! * `seg --model RUN --input DIR --out DIR`: every image of DIR (sorted) is fitted to the
//!   network input (resized for mother-machine models, cut into overlapping windows for 2-D
//!   models or with `--fit windows`), predicted in batches, stitched back, post-processed
//!   (threshold at logit 0, opening, small-object removal) and saved as a 0/255 PNG under the
//!   input's name (`--probabilities` saves the raw sigmoid output instead, DeLTA's
//!   `save_result_seg`).
//! * `track --model RUN --images DIR --segs DIR --out DIR`: DeLTA's
//!   `predict_compile_from_seg_track` (one 4-channel input per cell of every frame t−1), then
//!   one 0/255 mask per cell (probability > 0.5) under DeLTA's `…Frame%06dCell%06d.png` name
//!   (`--probabilities`: the raw output, as DeLTA's `save_result_track`).
//!
//! Images are scaled by their type's maximum, as the training datasets read them.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

use anyhow::{ensure, Context};
use clap::{Args, Subcommand, ValueEnum};
use deltacell_data::predict::{self, Fit};
use deltacell_data::{output, Kind};
use deltacell_nn::infer::{self, Predictor, SegOutput, SegPrediction};

mod track;
pub use track::{predict_track, TrackArgs};

/// Arguments of `deltacell predict`.
#[derive(Args, Debug)]
pub struct PredictArgs {
    #[command(subcommand)]
    what: PredictCommand,
}

#[derive(Subcommand, Debug)]
enum PredictCommand {
    /// Segment every image of a folder; masks are saved under the input names.
    Seg(SegArgs),
    /// Track the cells of a segmented movie; one output per cell of frame t−1 (DeLTA's names).
    Track(TrackArgs),
}

/// How images are fitted to the network input.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum FitArg {
    /// From the model's preset: resize for mothermachine, windows for 2D.
    Auto,
    /// Resize each image to the input size (DeLTA's mother-machine default).
    Resize,
    /// Overlapping windows of the input size, stitched back (DeLTA's `crop_windows`).
    Windows,
}

/// Arguments of `deltacell predict seg`.
#[derive(Args, Debug)]
pub struct SegArgs {
    /// Run folder with model.toml and model.safetensors (from `deltacell train seg`).
    #[arg(long)]
    pub model: PathBuf,
    /// Folder of images (.png, .tif), processed in sorted order.
    #[arg(long)]
    pub input: PathBuf,
    /// Output folder (created if needed).
    #[arg(long)]
    pub out: PathBuf,
    /// Network inputs per batch.
    #[arg(long, default_value_t = 8, value_parser = crate::numbers::at_least_one)]
    pub batch_size: usize,
    /// How images are fitted to the network input.
    #[arg(long, value_enum, default_value = "auto")]
    pub fit: FitArg,
    /// Save sigmoid probabilities (8-bit) instead of post-processed 0/255 masks.
    #[arg(long)]
    pub probabilities: bool,
    /// Probability above which a pixel is a cell, in (0, 1) (DeLTA: 0.5, logit 0). Higher
    /// values separate touching cells more readily.
    #[arg(long, default_value_t = 0.5, value_parser = crate::numbers::open_unit)]
    pub threshold: f64,
    /// Remove objects smaller than this many pixels (DeLTA's `min_area` of the seg model: 20).
    #[arg(long, default_value_t = 20)]
    pub min_size: usize,
    /// Side of the opening square in pixels (DeLTA: 5; 0 = off). Default: 5 when resizing, 0
    /// with windows (as DeLTA).
    #[arg(long)]
    pub opening: Option<usize>,
    /// Compute device: cpu, or cuda:N in builds with the `cuda` feature.
    #[arg(long, default_value = "cpu")]
    pub device: String,
    /// No progress bar.
    #[arg(long, short)]
    pub quiet: bool,
}

/// Runs `deltacell predict`.
pub fn run(args: PredictArgs) -> anyhow::Result<ExitCode> {
    match args.what {
        PredictCommand::Seg(a) => {
            let n = predict_seg(&a)?;
            println!("wrote {n} segmentation(s) to {}", a.out.display());
        }
        PredictCommand::Track(a) => {
            let n = predict_track(&a)?;
            println!("wrote {n} tracking output(s) to {}", a.out.display());
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// Loads the model of `kind` from `model`, with the fix in the message.
pub(super) fn load(model: &Path, device: &str, kind: Kind) -> anyhow::Result<Predictor> {
    let device = deltacell_nn::device::parse(device)?;
    Predictor::load_kind(model, kind, &device).with_context(|| {
        format!(
            "loading the {kind} model in {} (train one with `deltacell train {kind}` or convert a \
             Keras file with `deltacell import-keras`)",
            model.display()
        )
    })
}

/// `predict seg`; returns the number of files written.
pub fn predict_seg(a: &SegArgs) -> anyhow::Result<usize> {
    ensure!(
        a.input.is_dir(),
        "input folder {} not found",
        a.input.display()
    );
    output::ensure_outside_inputs(&a.out, &[&a.input, &a.model])?;
    let p = load(&a.model, &a.device, Kind::Seg)?;
    let options = SegPrediction {
        fit: match a.fit {
            FitArg::Auto => None,
            FitArg::Resize => Some(Fit::Resize),
            FitArg::Windows => Some(Fit::Windows {
                min_overlap: infer::WINDOW_OVERLAP,
            }),
        },
        batch_size: a.batch_size,
        output: if a.probabilities {
            SegOutput::Probabilities
        } else {
            SegOutput::Masks {
                threshold: a.threshold,
                opening: a.opening,
                min_size: a.min_size,
            }
        },
    };
    let t0 = Instant::now();
    let total = predict::list_images(&a.input)?.len();
    let progress = crate::progress::bar(total as u64, "segmenting", a.quiet);
    let written = infer::predict_seg_folder(&p, &a.input, &a.out, &options, &mut |n| {
        progress.set_position(n as u64)
    })?;
    progress.finish_and_clear();
    if !a.quiet {
        eprintln!(
            "segmented {written} image(s) in {:.1} s",
            t0.elapsed().as_secs_f64()
        );
    }
    Ok(written)
}
