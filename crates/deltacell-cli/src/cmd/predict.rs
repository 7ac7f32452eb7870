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

use anyhow::{bail, ensure, Context};
use clap::{Args, Subcommand, ValueEnum};
use deltacell_data::io::Rescale;
use deltacell_data::output;
use deltacell_data::postprocess::{self, postprocess, PostprocessParams, Threshold};
use deltacell_data::predict::{self, Fit, TrackInputOptions};
use deltacell_data::Plane;
use deltacell_nn::infer::Predictor;
use deltacell_nn::{Batch, ModelKind};
use indicatif::{ProgressBar, ProgressStyle};
use rayon::prelude::*;

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

/// Arguments of `deltacell predict track`.
#[derive(Args, Debug)]
pub struct TrackArgs {
    /// Run folder of a tracking model (from `deltacell train track`).
    #[arg(long)]
    pub model: PathBuf,
    /// Folder of the movie's frames (DeLTA's file-name pattern, e.g.
    /// Position000001_Chamber000001_Frame000001.png).
    #[arg(long)]
    pub images: PathBuf,
    /// Folder of their segmentations, under the same names.
    #[arg(long)]
    pub segs: PathBuf,
    /// Output folder (created if needed).
    #[arg(long)]
    pub out: PathBuf,
    /// Network inputs per batch.
    #[arg(long, default_value_t = 8, value_parser = crate::numbers::at_least_one)]
    pub batch_size: usize,
    /// Save sigmoid probabilities (8-bit, DeLTA's `save_result_track`) instead of 0/255 masks
    /// (what `deltacell eval track` reads).
    #[arg(long)]
    pub probabilities: bool,
    /// Masks are the cells of frame t (from --segs) whose mean probability is at least this
    /// (DeLTA's pipeline attributes whole segmented cells to a seed the same way); 0 saves the
    /// raw output thresholded at 0.5 pixel by pixel instead.
    #[arg(long, default_value_t = 0.5, value_parser = crate::numbers::unit_interval)]
    pub min_score: f32,
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

fn load(model: &Path, device: &str, want: ModelKind) -> anyhow::Result<Predictor> {
    ensure!(
        model.join("model.toml").is_file(),
        "{}: not a run folder (no model.toml; train one with `deltacell train`)",
        model.display()
    );
    let device = deltacell_nn::device::parse(device)?;
    let p = Predictor::load(model, &device)
        .with_context(|| format!("loading the model in {}", model.display()))?;
    let kind = p.info().architecture.kind;
    if kind != want {
        bail!(
            "{} holds a {kind} model; `predict {want}` needs a {want} model",
            model.display()
        );
    }
    Ok(p)
}

fn bar(len: usize, quiet: bool, what: &str) -> ProgressBar {
    if quiet {
        return ProgressBar::hidden();
    }
    let b = ProgressBar::new(len as u64);
    b.set_style(
        ProgressStyle::with_template(&format!(
            "{what} [{{bar:30}}] {{pos}}/{{len}} ({{elapsed}}<{{eta}})"
        ))
        .unwrap_or_else(|_| ProgressStyle::default_bar())
        .progress_chars("=> "),
    );
    b
}

fn dir_exists(p: &Path, what: &str) -> anyhow::Result<()> {
    ensure!(p.is_dir(), "{what} folder {} not found", p.display());
    Ok(())
}

/// Runs the network on `batches`, returning channel 0 of the logits, one plane per sample.
fn run_batches(
    p: &Predictor,
    batches: &[Batch],
    progress: &ProgressBar,
) -> anyhow::Result<Vec<Plane<f32>>> {
    let mut out = Vec::new();
    for b in batches {
        let logits = p.predict_logits(b)?;
        out.extend(predict::split_output(
            &logits,
            b.n,
            (b.height, b.width),
            1,
            0,
        )?);
        progress.inc(b.n as u64);
    }
    Ok(out)
}

/// `predict seg`; returns the number of files written.
pub fn predict_seg(a: &SegArgs) -> anyhow::Result<usize> {
    dir_exists(&a.input, "input")?;
    output::ensure_outside_inputs(&a.out, &[&a.input, &a.model])?;
    let p = load(&a.model, &a.device, ModelKind::Seg)?;
    let target = (p.info().input_size[0], p.info().input_size[1]);
    let two_d = p
        .info()
        .preset
        .as_deref()
        .is_some_and(|s| s.eq_ignore_ascii_case("2d"));
    let fit = match a.fit {
        FitArg::Resize => Fit::Resize,
        FitArg::Windows => Fit::Windows { min_overlap: 24 },
        FitArg::Auto if two_d => Fit::Windows { min_overlap: 24 },
        FitArg::Auto => Fit::Resize,
    };
    let files = predict::list_images(&a.input)?;
    ensure!(!files.is_empty(), "no images in {}", a.input.display());
    output::prepare_dir(&a.out, &[&a.input, &a.model])?;
    let square = a.opening.unwrap_or(if fit == Fit::Resize { 5 } else { 0 });
    let mut params = PostprocessParams::logits(square, (a.min_size > 0).then_some(a.min_size));
    params.threshold = Threshold::Fixed((a.threshold / (1.0 - a.threshold)).ln() as f32);
    let t0 = Instant::now();
    let progress = bar(files.len(), a.quiet, "segmenting");
    // Chunks bound memory on long movies; each chunk is read in parallel, predicted in batches.
    let mut written = 0;
    for chunk in files.chunks(64) {
        let inputs = predict::read_seg_inputs(chunk, target, fit, Rescale::DtypeMax)?;
        let batches = predict::seg_batches(&inputs, a.batch_size);
        let outs = run_batches(&p, &batches, &ProgressBar::hidden())?;
        let restored = predict::restore_seg_outputs(&inputs, outs)?;
        inputs
            .par_iter()
            .zip(restored.par_iter())
            .map(|(inp, logit)| -> anyhow::Result<()> {
                if a.probabilities {
                    let prob = logit.map(|v| 1.0 / (1.0 + (-v).exp()));
                    predict::save_seg(&a.out, &inp.path, &prob)?;
                } else {
                    predict::save_seg_mask(&a.out, &inp.path, &postprocess(logit, &params))?;
                }
                Ok(())
            })
            .collect::<anyhow::Result<()>>()?;
        written += inputs.len();
        progress.inc(inputs.len() as u64);
    }
    progress.finish_and_clear();
    if !a.quiet {
        eprintln!(
            "segmented {written} image(s) in {:.1} s",
            t0.elapsed().as_secs_f64()
        );
    }
    Ok(written)
}

/// `predict track`; returns the number of files written.
pub fn predict_track(a: &TrackArgs) -> anyhow::Result<usize> {
    dir_exists(&a.images, "images")?;
    dir_exists(&a.segs, "segmentation")?;
    output::prepare_dir(&a.out, &[&a.images, &a.segs, &a.model])?;
    let p = load(&a.model, &a.device, ModelKind::Track)?;
    let target = (p.info().input_size[0], p.info().input_size[1]);
    let crop_windows = p
        .info()
        .preset
        .as_deref()
        .is_some_and(|s| s.eq_ignore_ascii_case("2d"));
    let opts = TrackInputOptions {
        target,
        crop_windows,
        rescale: Rescale::DtypeMax,
    };
    let (all, samples) = predict::compile_tracking_inputs(&a.images, &a.segs, None, &opts)
        .with_context(|| {
            format!(
                "compiling tracking inputs from {} and {}",
                a.images.display(),
                a.segs.display()
            )
        })?;
    if samples.is_empty() {
        return Ok(0);
    }
    ensure!(
        all.in_channels >= 4,
        "tracking inputs have {} channels, expected DeLTA's 4",
        all.in_channels
    );
    let progress = bar(samples.len(), a.quiet, "tracking");
    let (h, w, c) = (all.height, all.width, all.in_channels);
    let per = h * w * c;
    let mut written = 0;
    for (k, chunk) in samples.chunks(a.batch_size).enumerate() {
        let start = k * a.batch_size;
        let mut b = Batch::zeros(chunk.len(), h, w, c, 0);
        b.x.copy_from_slice(&all.x[start * per..(start + chunk.len()) * per]);
        let probs = p.predict_probabilities(&b)?;
        let planes = predict::split_output(&probs, b.n, (h, w), 1, 0)?;
        for (i, (s, plane)) in chunk.iter().zip(&planes).enumerate() {
            // Saved at the network's size (the window, or the frame resized to the input):
            // DeLTA's `save_result_track` does the same.
            if a.probabilities {
                predict::save_track(&a.out, s, plane)?;
            } else {
                let mask = if a.min_score > 0.0 {
                    // Channel 3 of the input is the frame's segmentation, cropped like the output.
                    let cells = deltacell_data::Mask::from_plane(
                        b.x_plane(i, 3).map(|v| u8::from(v > 0.5)),
                    );
                    postprocess::attribute_tracking(plane, &cells, a.min_score)?
                } else {
                    deltacell_data::Mask::from_plane(plane.map(|p| u8::from(p > 0.5)))
                };
                deltacell_data::io::write_mask(
                    a.out.join(predict::seg_output_name(Path::new(&s.name))),
                    &mask,
                )?;
            }
            written += 1;
        }
        progress.inc(chunk.len() as u64);
    }
    progress.finish_and_clear();
    Ok(written)
}
