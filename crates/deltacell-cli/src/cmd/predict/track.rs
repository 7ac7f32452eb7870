//! `deltacell predict track`: DeLTA's `predict_compile_from_seg_track` on a segmented movie.

use std::path::PathBuf;

use anyhow::{ensure, Context};
use clap::Args;
use deltacell_data::{output, Kind};
use deltacell_nn::infer::{self, TrackOutput, TrackPrediction};

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

/// `predict track`; returns the number of files written.
pub fn predict_track(a: &TrackArgs) -> anyhow::Result<usize> {
    ensure!(
        a.images.is_dir(),
        "images folder {} not found",
        a.images.display()
    );
    ensure!(
        a.segs.is_dir(),
        "segmentation folder {} not found",
        a.segs.display()
    );
    output::ensure_outside_inputs(&a.out, &[&a.images, &a.segs, &a.model])?;
    let p = super::load(&a.model, &a.device, Kind::Track)?;
    let options = TrackPrediction {
        batch_size: a.batch_size,
        output: if a.probabilities {
            TrackOutput::Probabilities
        } else {
            TrackOutput::Cells {
                min_score: a.min_score,
            }
        },
    };
    let progress = crate::progress::bar(0, "tracking", a.quiet);
    let written = infer::predict_track_folder(
        &p,
        &a.images,
        &a.segs,
        &a.out,
        &options,
        &mut |done, total| {
            progress.set_length(total as u64);
            progress.set_position(done as u64);
        },
    )
    .with_context(|| {
        format!(
            "tracking the cells of {} with the segmentations in {}",
            a.images.display(),
            a.segs.display()
        )
    })?;
    progress.finish_and_clear();
    Ok(written)
}
