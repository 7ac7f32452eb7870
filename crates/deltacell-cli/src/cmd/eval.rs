//! `deltacell eval seg|track`: score predictions against ground truth, optionally with an HTML
//! report of overlays (worst images first).
//!
//! The overlay drawing lives here for now (private); it moves to the library's `report` module
//! when that lands.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{bail, Context};
use clap::{Args, Subcommand};
use deltacell_data::metrics::{
    compare_track, evaluate_seg, instances, ImageScores, SegEvaluation, SegMatch, TrackScores,
};
use deltacell_data::names::split_cell_file_name;
use deltacell_data::{io, report};
use deltacell_data::{Labels, Mask};
use rayon::prelude::*;

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
    }
}

/// Image files of a folder by stem.
fn by_stem(dir: &Path) -> anyhow::Result<BTreeMap<String, PathBuf>> {
    let mut out = BTreeMap::new();
    let entries = std::fs::read_dir(dir).with_context(|| format!("{}", dir.display()))?;
    for e in entries {
        let path = e.with_context(|| format!("{}", dir.display()))?.path();
        if !path.is_file() || !io::is_image_path(&path) {
            continue;
        }
        let stem = path
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default();
        if let Some(prev) = out.insert(stem.clone(), path.clone()) {
            bail!(
                "{}: two files with the stem {stem}: {} and {}",
                dir.display(),
                prev.display(),
                path.display()
            );
        }
    }
    if out.is_empty() {
        bail!("{}: no PNG or TIFF files", dir.display());
    }
    Ok(out)
}

/// Pairs of (stem, pred, truth); every unmatched file is an error, all listed.
fn pair(pred: &Path, truth: &Path) -> anyhow::Result<Vec<(String, PathBuf, PathBuf)>> {
    let p = by_stem(pred)?;
    let t = by_stem(truth)?;
    let mut problems = Vec::new();
    for (s, path) in &t {
        if !p.contains_key(s) {
            problems.push(format!("{}: no prediction with this stem", path.display()));
        }
    }
    for (s, path) in &p {
        if !t.contains_key(s) {
            problems.push(format!("{}: no truth with this stem", path.display()));
        }
    }
    if !problems.is_empty() {
        bail!("unmatched files:\n{}", problems.join("\n"));
    }
    Ok(t.into_iter()
        .filter_map(|(s, tp)| p.get(&s).map(|pp| (s, pp.clone(), tp)))
        .collect())
}

struct SegItem {
    name: String,
    pred: Labels,
    truth: Labels,
    matched: SegMatch,
}

fn run_seg(a: SegArgs) -> anyhow::Result<ExitCode> {
    if let Some(dir) = &a.report {
        let mut inputs = vec![a.pred.as_path(), a.truth.as_path()];
        inputs.extend(a.images.as_deref());
        deltacell_data::output::ensure_outside_inputs(dir, &inputs)?;
    }
    let pairs = pair(&a.pred, &a.truth)?;
    let items: Vec<SegItem> = pairs
        .par_iter()
        .map(|(name, pp, tp)| -> anyhow::Result<SegItem> {
            let pred = instances(&io::read_labels(pp)?);
            let truth = instances(&io::read_labels(tp)?);
            let matched = evaluate_seg(&pred, &truth)
                .with_context(|| format!("{} vs {}", pp.display(), tp.display()))?;
            Ok(SegItem {
                name: name.clone(),
                pred,
                truth,
                matched,
            })
        })
        .collect::<anyhow::Result<_>>()?;
    let ev = SegEvaluation::from_images(
        items
            .iter()
            .map(|it| ImageScores {
                name: it.name.clone(),
                scores: it.matched.scores.clone(),
            })
            .collect(),
    );
    if let Some(dir) = &a.report {
        write_seg_report(dir, &items, &ev, a.images.as_deref())?;
    }
    if a.json {
        println!("{}", serde_json::to_string_pretty(&ev)?);
    } else {
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
        if let Some(dir) = &a.report {
            println!("report: {}", dir.join("index.html").display());
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn run_track(a: TrackArgs) -> anyhow::Result<ExitCode> {
    if let Some(dir) = &a.report {
        deltacell_data::output::ensure_outside_inputs(dir, &[&a.pred, &a.truth])?;
    }
    let pairs = pair(&a.pred, &a.truth)?;
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
    let results: Vec<(deltacell_data::metrics::SeedResult, Mask, Mask)> = pairs
        .par_iter()
        .map(|(name, pp, tp)| -> anyhow::Result<_> {
            let pred = io::read_mask(pp)?;
            let truth = io::read_mask(tp)?;
            let r = compare_track(name, &pred, &truth)?;
            Ok((r, pred, truth))
        })
        .collect::<anyhow::Result<_>>()?;
    let scores = TrackScores::from_seeds(results.iter().map(|r| r.0.clone()).collect());
    if let Some(dir) = &a.report {
        write_track_report(dir, &results, &scores)?;
    }
    if a.json {
        println!("{}", serde_json::to_string_pretty(&scores)?);
    } else {
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
        if let Some(dir) = &a.report {
            println!("report: {}", dir.join("index.html").display());
        }
    }
    Ok(ExitCode::SUCCESS)
}

// ---------------------------------------------------------------------------------------------
// Report folders: the pictures and the page come from `deltacell_data::report`.

fn write_page(dir: &Path, page: &str) -> anyhow::Result<()> {
    let index = dir.join("index.html");
    io::write_atomic(&index, |w| std::io::Write::write_all(w, page.as_bytes()))?;
    Ok(())
}

fn write_seg_report(
    dir: &Path,
    items: &[SegItem],
    ev: &SegEvaluation,
    images: Option<&Path>,
) -> anyhow::Result<()> {
    let pics = dir.join("overlays");
    std::fs::create_dir_all(&pics).with_context(|| format!("{}", pics.display()))?;
    let raw = match images {
        Some(d) => by_stem(d)?,
        None => BTreeMap::new(),
    };
    // Worst first: by F1 at 0.5, then AP at 0.75, then name.
    let mut order: Vec<usize> = (0..items.len()).collect();
    order.sort_by(|&a, &b| {
        let (sa, sb) = (&items[a].matched.scores, &items[b].matched.scores);
        sa.f1_50
            .total_cmp(&sb.f1_50)
            .then(sa.ap_75.total_cmp(&sb.ap_75))
            .then(items[a].name.cmp(&items[b].name))
    });
    order.par_iter().enumerate().try_for_each(|(k, &i)| {
        let it = &items[i];
        let img = match raw.get(&it.name) {
            Some(p) => Some(io::read_image(p, io::Rescale::MinMax)?),
            None => None,
        };
        report::segmentation_overlay(img.as_ref(), &it.pred, &it.truth, &it.matched)
            .save(pics.join(format!("{k:05}.png")))?;
        anyhow::Ok(())
    })?;
    let o = &ev.overall;
    let intro = format!(
        "<p>{} image(s), {} true cell(s), {} predicted. Overall: pixel IoU {:.4}, Dice {:.4}, \
         precision@0.5 {:.4}, recall@0.5 {:.4}, F1@0.5 {:.4}, AP@0.5 {:.4}, AP@0.75 {:.4}, \
         AP@0.9 {:.4}, AJI {:.4}.</p><p>Overlays: {} matched prediction, {} false positive, \
         {} false negative; outlines of true cells white (found) or light blue (missed). \
         Worst images first.</p>",
        ev.per_image.len(),
        o.sums.n_true,
        o.sums.n_pred,
        o.pixel_iou,
        o.dice,
        o.precision_50,
        o.recall_50,
        o.f1_50,
        o.ap_50,
        o.ap_75,
        o.ap_90,
        o.aji,
        report::html_colour_key(report::TRUE_POSITIVE),
        report::html_colour_key(report::FALSE_POSITIVE),
        report::html_colour_key(report::FALSE_NEGATIVE),
    );
    let rows: Vec<Vec<String>> = order
        .iter()
        .enumerate()
        .map(|(k, &i)| {
            let s = &items[i].matched.scores;
            let mut row = vec![
                (k + 1).to_string(),
                report::html_escape(&items[i].name),
                format!("{}/{}", s.sums.n_true, s.sums.n_pred),
            ];
            row.extend(
                [
                    s.pixel_iou,
                    s.dice,
                    s.precision_50,
                    s.recall_50,
                    s.f1_50,
                    s.ap_50,
                    s.ap_75,
                    s.ap_90,
                    s.aji,
                ]
                .iter()
                .map(|v| format!("{v:.3}")),
            );
            row.push(format!("<img src=\"overlays/{k:05}.png\">"));
            row
        })
        .collect();
    let columns = [
        "#",
        "image",
        "cells true/pred",
        "pixel IoU",
        "Dice",
        "P@0.5",
        "R@0.5",
        "F1@0.5",
        "AP@0.5",
        "AP@0.75",
        "AP@0.9",
        "AJI",
        "overlay",
    ];
    write_page(
        dir,
        &report::html_page("Segmentation evaluation", &intro, &columns, &rows),
    )
}

fn write_track_report(
    dir: &Path,
    results: &[(deltacell_data::metrics::SeedResult, Mask, Mask)],
    scores: &TrackScores,
) -> anyhow::Result<()> {
    let pics = dir.join("overlays");
    std::fs::create_dir_all(&pics).with_context(|| format!("{}", pics.display()))?;
    // Wrong seeds first, then by name.
    let mut order: Vec<usize> = (0..results.len()).collect();
    order.sort_by(|&a, &b| {
        results[a]
            .0
            .correct
            .cmp(&results[b].0.correct)
            .then(results[a].0.name.cmp(&results[b].0.name))
    });
    order.par_iter().enumerate().try_for_each(|(k, &i)| {
        let (_, pred, truth) = &results[i];
        report::tracking_overlay(pred, truth).save(pics.join(format!("{k:05}.png")))?;
        anyhow::Ok(())
    })?;
    let intro = format!(
        "<p>{} seed cell(s). Accuracy {:.4}, cell found {:.4}, daughter found {:.4}, link \
         precision {:.4}, link recall {:.4}, division precision {:.4}, division recall {:.4}.\
         </p><p>Pictures: prediction yellow, truth blue, both white. Wrong seeds first.</p>",
        scores.n_seeds,
        scores.accuracy,
        scores.cell_found,
        scores.daughter_found,
        scores.link_precision,
        scores.link_recall,
        scores.division_precision,
        scores.division_recall
    );
    let rows: Vec<Vec<String>> = order
        .iter()
        .enumerate()
        .map(|(k, &i)| {
            let s = &results[i].0;
            vec![
                (k + 1).to_string(),
                report::html_escape(&s.name),
                format!("{}/{}", s.true_cells, s.pred_cells),
                s.matched.to_string(),
                if s.correct { "yes" } else { "no" }.to_string(),
                format!("<img src=\"overlays/{k:05}.png\">"),
            ]
        })
        .collect();
    let columns = [
        "#",
        "seed",
        "cells true/pred",
        "matched",
        "correct",
        "picture",
    ];
    write_page(
        dir,
        &report::html_page("Tracking evaluation", &intro, &columns, &rows),
    )
}
