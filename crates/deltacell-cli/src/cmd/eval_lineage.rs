//! `deltacell eval lineage`: CTC DET, SEG, TRA, LNK, complete tracks and division scores of
//! predicted lineages against ground truth, per ROI and pooled, with an optional HTML report
//! (lineage trees, kymographs, the results movie's frames at the errors). Definitions: `deltacell_analysis::lineage_eval`.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{bail, Context};
use deltacell_analysis::ctc;
use deltacell_analysis::lineage_eval::{self, LineageScores};
use deltacell_analysis::lineage_pictures;
use deltacell_analysis::results::PositionResults;
use deltacell_data::output;

/// Arguments of `deltacell eval lineage`.
#[derive(clap::Args, Debug)]
pub struct LineageArgs {
    /// The prediction: a results file (`PositionNNNNNN.nc`), a CTC folder or a folder of CTC
    /// folders (one per ROI).
    #[arg(long)]
    pub pred: PathBuf,
    /// The ground truth: the same kinds (ROIs paired by name, else in order).
    #[arg(long)]
    pub truth: PathBuf,
    /// Print one JSON object instead of the summary.
    #[arg(long)]
    pub json: bool,
    /// Write an HTML report with lineage trees and kymographs to this folder.
    #[arg(long)]
    pub report: Option<PathBuf>,
    /// Frames by which a predicted division may be early or late and still match.
    #[arg(long, default_value_t = 0)]
    pub division_tolerance: usize,
}

fn scores_json(s: &LineageScores) -> serde_json::Value {
    serde_json::json!({
        "DET": s.det, "SEG": s.seg, "TRA": s.tra, "LNK": s.lnk, "CT": s.ct, "AOGM": s.aogm,
        "division_precision": s.division_precision,
        "division_recall": s.division_recall,
        "division_f1": s.division_f1,
        "counts": s.counts,
    })
}

/// Runs `deltacell eval lineage`.
pub fn run(a: LineageArgs) -> anyhow::Result<ExitCode> {
    let pred = ctc::read_rois(&a.pred).with_context(|| format!("reading {}", a.pred.display()))?;
    let mut truth =
        ctc::read_rois(&a.truth).with_context(|| format!("reading {}", a.truth.display()))?;
    if pred.len() != truth.len() {
        bail!(
            "{} has {} ROI(s) but {} has {}",
            a.pred.display(),
            pred.len(),
            a.truth.display(),
            truth.len()
        );
    }
    // Pair by name when both sides name the same ROIs.
    let mut names: Vec<&String> = pred.iter().map(|(n, _)| n).collect();
    names.sort();
    let mut truth_names: Vec<&String> = truth.iter().map(|(n, _)| n).collect();
    truth_names.sort();
    if pred.len() > 1 && names == truth_names {
        let order: Vec<String> = pred.iter().map(|(n, _)| n.clone()).collect();
        truth.sort_by_key(|(n, _)| order.iter().position(|o| o == n));
    }
    let ev = lineage_eval::evaluate_rois(&pred, &truth, a.division_tolerance)
        .map_err(|(roi, e)| anyhow::anyhow!("ROI {roi}: {e}"))?;
    if let Some(dir) = &a.report {
        output::prepare_dir(dir, &[&a.pred, &a.truth])?;
        // A results file carries its images: the report shows its movie's frames at the errors.
        let results = if ctc::is_results_file(&a.pred) {
            Some(PositionResults::read(&a.pred)?)
        } else {
            None
        };
        let movies: Vec<_> = results
            .iter()
            .flat_map(|p| p.rois.iter().map(Some))
            .collect();
        lineage_pictures::write_lineage_report(dir, &ev, &pred, &truth, &movies)?;
    }
    if a.json {
        let mut obj = scores_json(&ev.pooled);
        obj["division_tolerance"] = a.division_tolerance.into();
        obj["per_roi"] = ev
            .per_roi
            .iter()
            .map(|(name, r)| {
                let mut v = scores_json(&r.scores);
                v["roi"] = name.clone().into();
                v
            })
            .collect();
        println!("{}", serde_json::to_string_pretty(&obj)?);
    } else {
        let f = |x: Option<f64>| x.map_or_else(|| "–".into(), |v| format!("{v:.4}"));
        let s = &ev.pooled;
        println!("{} ROI(s), pooled:", ev.per_roi.len());
        println!(
            "DET {}  SEG {:.4}  TRA {}  LNK {}  CT {}",
            f(s.det),
            s.seg,
            f(s.tra),
            f(s.lnk),
            f(s.ct)
        );
        println!(
            "divisions (tolerance {} frames): precision {}  recall {}  F1 {}",
            a.division_tolerance,
            f(s.division_precision),
            f(s.division_recall),
            f(s.division_f1)
        );
        for (name, r) in &ev.per_roi {
            let s = &r.scores;
            println!(
                "  {name}: DET {}  SEG {:.4}  TRA {}  LNK {}  division F1 {}",
                f(s.det),
                s.seg,
                f(s.tra),
                f(s.lnk),
                f(s.division_f1)
            );
        }
        if let Some(dir) = &a.report {
            println!("report: {}", dir.join("index.html").display());
        }
    }
    Ok(ExitCode::SUCCESS)
}
