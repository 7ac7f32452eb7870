//! `deltacell demo [--out DIR] [--quick]`: the whole loop on built-in synthetic data
//! ([`deltacell_nn::demo`]: synthesise, train small seg and track U-Nets, predict on a
//! held-out movie, evaluate, write the reports under `OUT/report/`), then the models run as
//! DeLTA's pipeline (`deltacell run`'s library) on held-out synthetic movies, their lineages
//! scored against the truth ([`deltacell_analysis::demo`], `OUT/report/lineages/`).
//!
//! Prints the stages, the training progress, the evaluation tables and the headline numbers.
//! The exit status is 2 when a score is below its floor ([`Demo::FULL`], [`Demo::QUICK`]).

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use clap::Args;
use deltacell_nn::demo::{self, Demo, DemoEvent};

use crate::progress::Training;

/// Frames of each held-out movie the demo's pipeline stage analyses.
const LINEAGE_FRAMES: usize = 12;

/// Arguments of `deltacell demo`.
#[derive(Args, Debug)]
pub struct DemoArgs {
    /// Working folder (data, runs, predictions, report); must be empty or a previous demo's.
    #[arg(long, default_value = "deltacell-demo")]
    pub out: PathBuf,
    /// Smaller models and fewer steps (about 10 seconds in a release build; for CI), with lower
    /// score floors.
    #[arg(long)]
    pub quick: bool,
    /// Seed of the synthetic data and of training.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// No progress bars.
    #[arg(long, short)]
    pub quiet: bool,
}

/// Runs `deltacell demo`.
pub fn run(args: DemoArgs) -> anyhow::Result<ExitCode> {
    let t0 = Instant::now();
    let plan = if args.quick { Demo::QUICK } else { Demo::FULL };
    let mut progress: Option<Training> = None;
    let outcome = demo::run(&plan, &args.out, args.seed, |event| match event {
        DemoEvent::Stage { index, what } => {
            eprintln!("[{index}/6] {what} ({:.0} s)", t0.elapsed().as_secs_f64());
        }
        DemoEvent::Training(session) => {
            eprintln!("      {session}");
            let f = session.fit_options();
            if let Some(p) = progress.replace(Training::new(
                f.steps_per_epoch,
                f.epochs,
                "      ",
                args.quiet,
            )) {
                p.finish();
            }
        }
        DemoEvent::Train(ev) => progress.iter().for_each(|p| p.show(ev)),
    });
    if let Some(p) = progress {
        p.finish();
    }
    let outcome = outcome.map_err(|e| match e {
        deltacell_nn::Error::DataCrate(deltacell_data::Error::OutputNotEmpty { path }) => {
            anyhow::anyhow!(
                "{} is not empty and not a previous demo's folder; choose another --out",
                path.display()
            )
        }
        other => other.into(),
    })?;
    let (seg, track) = (&outcome.seg, &outcome.track);
    super::eval::print_seg(seg, Some(&outcome.report.join("seg")));
    super::eval::print_track(track, Some(&outcome.report.join("track")));
    let o = &seg.overall;
    println!();
    println!(
        "segmentation: F1@0.5 {:.3} (precision {:.3}, recall {:.3}), AP@0.75 {:.3}, pixel IoU \
         {:.3} over {} frames, {} cells",
        o.f1_50,
        o.precision_50,
        o.recall_50,
        o.ap_75,
        o.pixel_iou,
        seg.per_image.len(),
        o.sums.n_true
    );
    println!(
        "tracking: accuracy {:.3} over {} seed cells (link precision {:.3}, recall {:.3}; \
         divisions precision {:.3}, recall {:.3})",
        track.accuracy,
        track.n_seeds,
        track.link_precision,
        track.link_recall,
        track.division_precision,
        track.division_recall
    );

    // The pipeline on held-out synthetic movies with the demo's models: lineages scored
    // against the truth (deltacell run's library, `deltacell_analysis::demo`).
    eprintln!(
        "[+] running the pipeline (deltacell run) on {} held-out movies ({:.0} s)",
        plan.movies,
        t0.elapsed().as_secs_f64()
    );
    let lineages = deltacell_analysis::demo::lineage_stage(
        &args.out,
        &args.out.join("runs/seg"),
        &args.out.join("runs/track"),
        plan.movies,
        LINEAGE_FRAMES,
        args.seed.wrapping_add(2000),
    )?;
    let l = &lineages.evaluation.pooled;
    let opt = |v: Option<f64>| v.map_or("n/a".to_string(), |v| format!("{v:.3}"));
    println!(
        "lineages (deltacell run on {} movies of {LINEAGE_FRAMES} frames): TRA {}, DET {}, SEG {:.3}, \
         division F1 {} (precision {}, recall {}); results in {}",
        plan.movies,
        opt(l.tra),
        opt(l.det),
        l.seg,
        opt(l.division_f1),
        opt(l.division_precision),
        opt(l.division_recall),
        lineages.results.display()
    );
    deltacell_nn::demo::write_index(
        &outcome.report,
        seg,
        track,
        &[
            ("lineage TRA (deltacell run)".to_string(), opt(l.tra)),
            ("lineage SEG".to_string(), format!("{:.3}", l.seg)),
            ("division F1".to_string(), opt(l.division_f1)),
        ],
    )?;
    println!("report: {}", outcome.report.join("index.html").display());
    println!("demo finished in {:.0} s", t0.elapsed().as_secs_f64());
    if o.f1_50 < plan.min_f1 {
        eprintln!(
            "error: segmentation F1@0.5 {:.3} is below {}: the demo's segmentation model is not \
             good enough",
            o.f1_50, plan.min_f1
        );
    }
    if track.accuracy < plan.min_track_accuracy {
        eprintln!(
            "error: tracking accuracy {:.3} is below {}: the demo's tracking model is not good \
             enough",
            track.accuracy, plan.min_track_accuracy
        );
    }
    Ok(if outcome.passes(&plan) {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(2)
    })
}
