//! `deltacell run -c CONFIG -i INPUT -o OUT`: DeLTA 3's `delta run`. A movie in; per position a
//! results file, a per-cell table, full-frame label images and a lineage picture out
//! ([`deltacell_analysis::outputs`]). The library does the work
//! ([`deltacell_analysis::run::Run`]); this parses and draws progress.
//!
//! Resumable and shardable ([`deltacell_analysis::fingerprint`], [`deltacell_analysis::shard`]):
//! complete positions are skipped, changed ones refused unless `--redo`, `--shard I/N` (or a
//! Slurm array) takes a share of the positions; `deltacell merge` joins them.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::atomic::Ordering;
use std::time::Instant;

use anyhow::Context;
use clap::Args;
use deltacell_analysis::config::AnalysisConfig;
use deltacell_analysis::outputs::{self, OutputOptions};
use deltacell_analysis::pipeline::Progress;
use deltacell_analysis::resume::Outcome;
use deltacell_analysis::run::{Run, RunRequest};
use deltacell_analysis::shard::Shard;

use crate::numbers::{parse_list, parse_range, PositionList};
use crate::progress;

/// Arguments of `deltacell run`.
#[derive(Args, Debug)]
pub struct RunArgs {
    /// Configuration: `2D`, `mothermachine` (DeLTA's presets; give the models with `-C
    /// models.seg.model_path=…`) or a DeLTA 3 TOML file (`model_path`s relative to the file).
    #[arg(short = 'c', long = "config", value_name = "CONFIG")]
    pub config: String,
    /// The movie: a template with `{p}`, `{c}`, `{t}` placeholders
    /// (`movie/Position{p}Channel{c}Frames{t}.tif`), a multi-page TIFF, or a folder of frames.
    #[arg(short = 'i', long = "input", value_name = "INPUT")]
    pub input: PathBuf,
    /// Output folder (created). DeLTA's default lies inside the input folder; deltacell never
    /// writes into an input, so this is required.
    #[arg(short = 'o', long = "output", value_name = "OUT")]
    pub output: PathBuf,
    /// A configuration key for this run, DeLTA's names: `models.seg.model_path=seg.keras`,
    /// `models.seg.min_area=40`, `correct_rotation=false`, `min_cell_area=40`. Repeatable.
    #[arg(short = 'C', value_name = "KEY=VALUE")]
    pub set: Vec<String>,
    /// Positions to analyse, the movie's numbers: `0-2,4,7-10` (default: all).
    #[arg(long, value_name = "LIST", value_parser = parse_list)]
    pub positions: Option<PositionList>,
    /// Frames to analyse, the movie's numbers, inclusive: `-150`, `15-`, `15-30`, `40`
    /// (default: all).
    #[arg(long, value_name = "RANGE", value_parser = parse_range)]
    pub frames: Option<(Option<u32>, Option<u32>)>,
    /// Skip the full-frame label images.
    #[arg(long)]
    pub no_labels: bool,
    /// Skip the lineage picture.
    #[arg(long)]
    pub no_lineage_picture: bool,
    /// Skip the results movie (MP4 through `ffmpeg`, else an animated PNG).
    #[arg(long)]
    pub no_movie: bool,
    /// Analyse only shard I of N (I from 0 to N-1): the positions, sorted, at an index ≡ I
    /// (mod N). Default in a Slurm array job: from SLURM_ARRAY_TASK_ID and
    /// SLURM_ARRAY_TASK_COUNT; `--shard 0/1` runs every position there too.
    #[arg(long, value_name = "I/N", value_parser = parse_shard)]
    pub shard: Option<Shard>,
    /// Analyse again the positions whose results were made from other inputs, models,
    /// configuration or options (refused otherwise). Complete positions are always skipped.
    #[arg(long)]
    pub redo: bool,
    /// No progress bars.
    #[arg(short, long)]
    pub quiet: bool,
}

fn parse_shard(text: &str) -> Result<Shard, String> {
    Shard::parse(text).map_err(|e| e.to_string())
}

/// Checks everything, then analyses each position and writes its outputs; one line each.
pub fn run(args: RunArgs) -> anyhow::Result<ExitCode> {
    let mut config = AnalysisConfig::load(&args.config).context("-c")?;
    for kv in &args.set {
        config.apply(&[kv]).with_context(|| format!("-C {kv}"))?;
    }
    let run = Run::open(RunRequest {
        config,
        input: args.input.clone(),
        output: args.output.clone(),
        positions: args.positions.clone().map(|p| p.0),
        frames: args.frames,
        outputs: OutputOptions {
            labels: !args.no_labels,
            lineage_picture: !args.no_lineage_picture,
            movie: !args.no_movie,
        },
    })?;

    let shard = match args.shard {
        Some(s) => s,
        None => match Shard::from_slurm(|k| std::env::var(k).ok())? {
            Some(s) => {
                eprintln!("shard {s} (from the Slurm array's variables)");
                s
            }
            None => Shard::ALL,
        },
    };
    let mine = shard.positions(run.positions());
    if mine.is_empty() {
        println!(
            "shard {shard}: no position to analyse (the run has {} positions)",
            run.positions().len()
        );
        return Ok(ExitCode::SUCCESS);
    }
    // Results made from something else are refused here, before any work (unless --redo).
    run.check_resume(&mine, args.redo)?;

    // Ctrl-C: the position in progress is dropped (nothing of it is written); the finished
    // ones stay.
    let stop = crate::signals::cooperative();
    let started = Instant::now();
    let mut failed = Vec::new();
    for &position in &mine {
        let bar = progress::bar(
            run.frames().len() as u64,
            &format!("position {position}"),
            args.quiet,
        );
        let result = run.resume_position(
            position,
            args.redo,
            &mut |p| match p {
                Progress::Rois(n) => bar.set_message(format!("{n} ROIs")),
                Progress::Frame { done, .. } => bar.set_position(done as u64),
            },
            &|| stop.load(Ordering::SeqCst),
        );
        bar.finish_and_clear();
        match result {
            Ok(Outcome::Skipped) => println!(
                "position {position}: skipped (complete: same inputs, models and configuration)"
            ),
            Ok(Outcome::Done(summary)) => println!(
                "position {position}: {} ROIs, {} frames, {} cells, rotation {:.2}° → {} ({:.1} s)",
                summary.rois,
                summary.frames,
                summary.cells,
                summary.rotate,
                outputs::results_path(run.output(), position).display(),
                summary.seconds
            ),
            Err(deltacell_analysis::Error::Cancelled) => {
                eprintln!("interrupted: position {position} dropped; finished positions kept");
                return Ok(ExitCode::from(130));
            }
            // The other positions go on; the error is kept in PositionNNNNNN.error.txt.
            Err(e) => {
                eprintln!("error: position {position}: {e}");
                failed.push(position);
            }
        }
        if stop.load(Ordering::SeqCst) {
            eprintln!("interrupted: stopped after position {position}; its outputs are complete");
            return Ok(ExitCode::from(130));
        }
    }
    println!(
        "{} position(s){} in {:.1} s → {}",
        mine.len(),
        if shard == Shard::ALL {
            String::new()
        } else {
            format!(" of shard {shard}")
        },
        started.elapsed().as_secs_f64(),
        run.output().display()
    );
    if !failed.is_empty() {
        let list: Vec<String> = failed.iter().map(u32::to_string).collect();
        anyhow::bail!(
            "{} position(s) failed: {} (their errors above, and in PositionNNNNNN.error.txt)",
            failed.len(),
            list.join(", ")
        );
    }
    Ok(ExitCode::SUCCESS)
}
