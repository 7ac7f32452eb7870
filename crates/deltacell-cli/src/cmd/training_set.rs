//! `deltacell training-set RESULTS.nc… --kind seg|track|rois --out DIR [--movie TEMPLATE
//! [--every-frame]] [--force]`: DeLTA results files (DeLTA 3's own, deltacell's, or corrected by hand) as a
//! segmentation, tracking or chamber training set in DeLTA's layout, to retrain on them.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::Args;
use deltacell_analysis::movie::Movie;
use deltacell_analysis::results::PositionResults;
use deltacell_analysis::training_sets::{self, OutputOptions, RoisFrames};
use deltacell_data::Kind;

/// Arguments of `deltacell training-set`.
#[derive(Args, Debug)]
pub struct TrainingSetArgs {
    /// Results files `PositionNNNNNN.nc` (DeLTA's netCDF format 0.1.0), one per position.
    #[arg(required = true, value_name = "RESULTS.nc")]
    pub results: Vec<PathBuf>,
    /// The set to make: seg (ROI images and their cells), track (a sample per cell of each
    /// frame but the last) or rois (each position's reference frame and its chambers).
    #[arg(long, value_enum)]
    pub kind: Kind,
    /// Output folder (created; must be empty unless --force).
    #[arg(short = 'o', long = "out", value_name = "DIR")]
    pub out: PathBuf,
    /// The movie, for --kind rois only (its full frames): a template with {p}, {c} and {t}
    /// (`Position{p}Channel{c}Frames{t}.tif`), a multi-page TIFF or a folder of frames.
    #[arg(long, value_name = "TEMPLATE")]
    pub movie: Option<PathBuf>,
    /// For --kind rois: every frame of each position (chambers moved by the drift), not only
    /// the reference frame that DeLTA's ROI model saw.
    #[arg(long)]
    pub every_frame: bool,
    /// Write into a non-empty folder, replacing files of the same names.
    #[arg(long)]
    pub force: bool,
}

/// Reads the results and writes the set; one summary line.
pub fn run(args: TrainingSetArgs) -> anyhow::Result<ExitCode> {
    if args.kind != Kind::Rois && (args.movie.is_some() || args.every_frame) {
        anyhow::bail!("--movie and --every-frame are only for --kind rois");
    }
    if !args.force {
        deltacell_data::synth::ensure_empty_output(&args.out)?;
    }
    let mut inputs = args.results.clone();
    inputs.extend(args.movie.iter().cloned());
    let options = OutputOptions {
        force: args.force,
        inputs,
    };
    let results = args
        .results
        .iter()
        .map(PositionResults::read)
        .collect::<Result<Vec<_>, _>>()?;
    let summary = match args.kind {
        Kind::Seg => training_sets::write_seg_set(&results, &args.out, &options),
        Kind::Track => training_sets::write_track_set(&results, &args.out, &options),
        Kind::Rois => {
            let template = args
                .movie
                .as_deref()
                .context("--kind rois needs the movie's full frames: --movie TEMPLATE")?;
            let movie = Movie::open(template)?;
            let frames = if args.every_frame {
                RoisFrames::Every
            } else {
                RoisFrames::Reference
            };
            training_sets::write_rois_set(&results, &movie, frames, &args.out, &options)
        }
    }
    .with_context(|| format!("writing the {} set to {}", args.kind, args.out.display()))?;
    let sources = if args.kind == Kind::Rois {
        "positions"
    } else {
        "ROIs"
    };
    println!(
        "wrote {} {} samples from {} {sources} to {} ({} with an empty target); check them \
         with `deltacell check {} --kind {}`",
        summary.samples,
        args.kind,
        summary.sources,
        args.out.display(),
        summary.empty_targets,
        args.out.display(),
        args.kind
    );
    Ok(ExitCode::SUCCESS)
}
