//! `deltacell eval seg|track`: score predictions against ground truth, optionally with an HTML
//! report of overlays (worst images first).
//!
//! The overlay drawing lives here for now (private); it moves to the library's `report` module
//! when that lands.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Args, Subcommand};
use deltacell_data::metrics;
use deltacell_data::morphology::Connectivity;
use deltacell_data::names::split_cell_file_name;
use deltacell_data::report;

/// `deltacell eval`.
#[derive(Args, Debug)]
pub struct EvalArgs {
    #[command(subcommand)]
    what: EvalCommand,
}

#[derive(Subcommand, Debug)]
enum EvalCommand {
    /// Segmentation: pixel IoU, Dice, precision/recall/F1 and AP at IoU 0.5/0.75/0.9, AJI.
    ///
    /// Masks are matched by file stem. Binary masks (0/1, 0/255) are split into 8-connected
    /// cells; masks with more values are read as instance labels.
    Seg(SegArgs),
    /// Tracking: per seed cell (DeLTA's `...Cell000001.png` files), whether the cell and its
    /// daughter were found; link and division precision/recall.
    Track(TrackArgs),
    /// Lineages: CTC DET, SEG, TRA, LNK, complete tracks, division precision/recall/F1, per
    /// ROI and pooled (CTC folders).
    Lineage(super::eval_lineage::LineageArgs),
}

#[derive(Args, Debug)]
struct SegArgs {
    /// Folder of predicted masks or labels.
    #[arg(long)]
    pred: PathBuf,
    /// Folder of true masks or labels (same file stems).
    #[arg(long)]
    truth: PathBuf,
    /// Folder of the raw images (same stems), drawn under the overlays of `--report`.
    #[arg(long)]
    images: Option<PathBuf>,
    /// Write an HTML report with overlays to this folder.
    #[arg(long)]
    report: Option<PathBuf>,
    /// Print one JSON object instead of the table.
    #[arg(long)]
    json: bool,
    /// Connectivity that splits binary masks into cells: 8 (default; corners join, as
    /// DeLTA's OpenCV contours) or 4 (cells touching only at a corner count apart).
    #[arg(long, default_value = "8", value_parser = ["4", "8"])]
    connectivity: String,
}

#[derive(Args, Debug)]
struct TrackArgs {
    /// Folder of predicted per-cell `mot_dau` masks.
    #[arg(long)]
    pred: PathBuf,
    /// Folder of true per-cell `mot_dau` masks (same file stems).
    #[arg(long)]
    truth: PathBuf,
    /// Write an HTML report (table and pictures of the wrong seeds) to this folder.
    #[arg(long)]
    report: Option<PathBuf>,
    /// Print one JSON object instead of the summary.
    #[arg(long)]
    json: bool,
}

/// Runs `deltacell eval`.
pub fn run(args: EvalArgs) -> anyhow::Result<ExitCode> {
    match args.what {
        EvalCommand::Seg(a) => run_seg(a),
        EvalCommand::Track(a) => run_track(a),
        EvalCommand::Lineage(a) => super::eval_lineage::run(a),
    }
}

/// Image files of a folder by stem.
fn run_seg(a: SegArgs) -> anyhow::Result<ExitCode> {
    if let Some(dir) = &a.report {
        let mut inputs = vec![a.pred.as_path(), a.truth.as_path()];
        inputs.extend(a.images.as_deref());
        deltacell_data::output::ensure_outside_inputs(dir, &inputs)?;
    }
    let connectivity = if a.connectivity == "4" {
        Connectivity::Four
    } else {
        Connectivity::Eight
    };
    let (ev, items) = metrics::evaluate_seg_folders_with(&a.pred, &a.truth, connectivity)?;
    if let Some(dir) = &a.report {
        report::write_seg_report(dir, &items, &ev, a.images.as_deref())?;
    }
    if a.json {
        println!("{}", serde_json::to_string_pretty(&ev)?);
    } else {
        print_seg(&ev, a.report.as_deref());
    }
    Ok(ExitCode::SUCCESS)
}

fn run_track(a: TrackArgs) -> anyhow::Result<ExitCode> {
    if let Some(dir) = &a.report {
        deltacell_data::output::ensure_outside_inputs(dir, &[&a.pred, &a.truth])?;
    }
    let pairs = metrics::pair_by_stem(&a.pred, &a.truth)?;
    let not_cells: Vec<&str> = pairs
        .iter()
        .filter(|(n, ..)| split_cell_file_name(n).is_none())
        .map(|(n, ..)| n.as_str())
        .collect();
    if !not_cells.is_empty() {
        eprintln!(
            "warning: {} file(s) without DeLTA's Cell%06d suffix, e.g. {}",
            not_cells.len(),
            not_cells[0]
        );
    }
    let (scores, results) = metrics::evaluate_track_folders(&a.pred, &a.truth)?;
    if let Some(dir) = &a.report {
        report::write_track_report(dir, &results, &scores)?;
    }
    if a.json {
        println!("{}", serde_json::to_string_pretty(&scores)?);
    } else {
        print_track(&scores, a.report.as_deref());
    }
    Ok(ExitCode::SUCCESS)
}

/// The summary table of a segmentation evaluation on stdout, and the report's page.
pub fn print_seg(ev: &metrics::SegEvaluation, report: Option<&Path>) {
    let o = &ev.overall;
    println!(
        "{} image(s), {} true cell(s), {} predicted",
        ev.per_image.len(),
        o.sums.n_true,
        o.sums.n_pred
    );
    println!(
        "pixel IoU {:.4}  Dice {:.4}  AJI {:.4}",
        o.pixel_iou, o.dice, o.aji
    );
    println!(
        "IoU 0.5: precision {:.4}  recall {:.4}  F1 {:.4}  AP {:.4}",
        o.precision_50, o.recall_50, o.f1_50, o.ap_50
    );
    println!("AP at IoU 0.75 {:.4}  at 0.9 {:.4}", o.ap_75, o.ap_90);
    if let Some(dir) = report {
        println!("report: {}", dir.join("index.html").display());
    }
}

/// The summary of a tracking evaluation on stdout, and the report's page.
pub fn print_track(scores: &metrics::TrackScores, report: Option<&Path>) {
    println!("{} seed cell(s)", scores.n_seeds);
    println!(
        "accuracy {:.4}  cell found {:.4}  daughter found {:.4}",
        scores.accuracy, scores.cell_found, scores.daughter_found
    );
    println!(
        "links: precision {:.4}  recall {:.4}; divisions: precision {:.4}  recall {:.4}",
        scores.link_precision,
        scores.link_recall,
        scores.division_precision,
        scores.division_recall
    );
    if let Some(dir) = report {
        println!("report: {}", dir.join("index.html").display());
    }
}

// ---------------------------------------------------------------------------------------------
// Report folders: the pictures and the page come from `deltacell_data::report`.
