//! `deltacell synth`: writes a built-in synthetic training set (or movie) in DeLTA's layout.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use anyhow::Context;
use deltacell_data::synth::{self, SynthKind};

/// Arguments of `deltacell synth`.
#[derive(clap::Args, Debug)]
pub struct SynthArgs {
    /// What to make: mm-seg, 2d-seg, mm-track, 2d-track, rois or movie.
    #[arg(long, value_parser = parse_kind)]
    pub kind: SynthKind,
    /// Number of samples (files per folder); for `movie`, movies of each type.
    #[arg(long, default_value_t = 100)]
    pub n: usize,
    /// Random seed: the same seed gives byte-identical files.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Output folder (created if needed; must be empty unless --force).
    #[arg(long)]
    pub out: PathBuf,
    /// Write into a non-empty folder, overwriting files of the same names.
    #[arg(long)]
    pub force: bool,
    /// No progress bar.
    #[arg(long, short)]
    pub quiet: bool,
}

fn parse_kind(s: &str) -> Result<SynthKind, String> {
    s.parse::<SynthKind>().map_err(|e| e.to_string())
}

/// Runs `deltacell synth`.
pub fn run(args: SynthArgs) -> anyhow::Result<ExitCode> {
    if !args.force {
        synth::ensure_empty_output(&args.out)?;
    }
    let bar = crate::progress::bar(0, "synth", args.quiet);
    let start = Instant::now();
    let progress = |done: usize, total: usize| {
        bar.set_length(total as u64);
        bar.set_position(done as u64);
    };
    let written = synth::generate(args.kind, args.n, args.seed, &args.out, &progress)
        .with_context(|| format!("writing the {} set", args.kind))?;
    bar.finish_and_clear();
    let what = if args.kind == SynthKind::Movie {
        // The movies' lineages also as Cell Tracking Challenge ground truth (`mm/ctc/roi00/`, …).
        deltacell_analysis::ctc::write_synth_truth(&args.out)
            .context("writing the movies' lineages as CTC folders")?;
        "movies of each type (chamber, colony), with CTC ground truth in mm/ctc/ and 2d/ctc/"
    } else {
        "samples"
    };
    println!(
        "wrote {written} {what}, kind {}, to {} in {:.1} s",
        args.kind,
        args.out.display(),
        start.elapsed().as_secs_f64()
    );
    Ok(ExitCode::SUCCESS)
}
