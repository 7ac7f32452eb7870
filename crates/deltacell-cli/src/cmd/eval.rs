//! `deltacell eval seg|track`: score predictions against ground truth, optionally with an HTML
//! report of overlays (worst images first).
//!
//! The overlay drawing lives here for now (private); it moves to the library's `report` module
//! when that lands.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{bail, Context};
use clap::{Args, Subcommand};
use deltacell_data::io;
use deltacell_data::metrics::{
    compare_track, evaluate_seg, instances, ImageScores, SegEvaluation, SegMatch, TrackScores,
};
use deltacell_data::names::split_cell_file_name;
use deltacell_data::{Image, Labels, Mask};
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
// Overlays and HTML (private until the library's report module takes them over).

/// Colours: matched predicted cells green, false positives (unmatched predictions) red, false
/// negatives (unmatched true cells) blue; outlines of found true cells white, of missed ones
/// light blue.
const TP_RGB: [u8; 3] = [40, 200, 60];
const FP_RGB: [u8; 3] = [230, 40, 40];
const FN_RGB: [u8; 3] = [40, 110, 255];
const FN_OUTLINE: [u8; 3] = [90, 170, 255];

fn blend(px: &mut [u8], rgb: [u8; 3], alpha: f32) {
    for (p, c) in px.iter_mut().zip(rgb) {
        *p = (f32::from(*p) * (1.0 - alpha) + f32::from(c) * alpha).round() as u8;
    }
}

/// The overlay of one image as an RGB buffer.
fn seg_overlay(item: &SegItem, image: Option<&Image>) -> Vec<u8> {
    let (h, w) = item.truth.shape();
    let mut rgb = vec![0u8; h * w * 3];
    if let Some(img) = image.filter(|i| i.shape() == (h, w)) {
        for (px, &v) in rgb.chunks_exact_mut(3).zip(img.as_slice()) {
            px.fill((v.clamp(0.0, 1.0) * 255.0) as u8);
        }
    } else {
        rgb.fill(30);
    }
    let (pm, tm) = (&item.matched.pred_matched, &item.matched.true_matched);
    for r in 0..h {
        for c in 0..w {
            let px = &mut rgb[(r * w + c) * 3..(r * w + c) * 3 + 3];
            let p = item.pred.get(r, c);
            let t = item.truth.get(r, c);
            if p != 0 {
                let ok = pm.get(p as usize - 1).copied().unwrap_or(false);
                blend(px, if ok { TP_RGB } else { FP_RGB }, 0.45);
            } else if t != 0 && !tm.get(t as usize - 1).copied().unwrap_or(false) {
                blend(px, FN_RGB, 0.55);
            }
            // Outline of the true cells: a true pixel with a 4-neighbour of another label.
            if t != 0 {
                let edge = r == 0
                    || c == 0
                    || r + 1 == h
                    || c + 1 == w
                    || item.truth.get(r - 1, c) != t
                    || item.truth.get(r + 1, c) != t
                    || item.truth.get(r, c - 1) != t
                    || item.truth.get(r, c + 1) != t;
                if edge {
                    // Missed true cells keep a blue outline even under a wrong prediction.
                    let found = tm.get(t as usize - 1).copied().unwrap_or(false);
                    px.copy_from_slice(if found { &[255, 255, 255] } else { &FN_OUTLINE });
                }
            }
        }
    }
    rgb
}

fn html_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

const STYLE: &str = "body{font-family:sans-serif;margin:2em}table{border-collapse:collapse}\
td,th{border:1px solid #ccc;padding:4px 8px;text-align:right}td.l{text-align:left}\
img{image-rendering:pixelated;max-height:320px;min-height:128px}\
.k{display:inline-block;width:1em;height:1em;vertical-align:middle}";

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
        let rgb = seg_overlay(it, img.as_ref());
        let (h, w) = it.truth.shape();
        io::write_png_rgb(pics.join(format!("{k:05}.png")), h, w, &rgb)?;
        anyhow::Ok(())
    })?;
    let o = &ev.overall;
    let mut html = String::new();
    let _ = write!(
        html,
        "<!doctype html><html><head><meta charset=\"utf-8\"><title>deltacell eval seg</title>\
         <style>{STYLE}</style></head><body><h1>Segmentation evaluation</h1>\
         <p>{} image(s), {} true cell(s), {} predicted. Overall: pixel IoU {:.4}, Dice {:.4}, \
         precision@0.5 {:.4}, recall@0.5 {:.4}, F1@0.5 {:.4}, AP@0.5 {:.4}, AP@0.75 {:.4}, \
         AP@0.9 {:.4}, AJI {:.4}.</p><p>Overlays: \
         <span class=k style=\"background:rgb({},{},{})\"></span> matched prediction, \
         <span class=k style=\"background:rgb({},{},{})\"></span> false positive, \
         <span class=k style=\"background:rgb({},{},{})\"></span> false negative; outlines of \
         true cells white (found) or light blue (missed). Worst images first.</p><table><tr><th>#</th><th>image</th><th>cells \
         true/pred</th><th>pixel IoU</th><th>Dice</th><th>P@0.5</th><th>R@0.5</th>\
         <th>F1@0.5</th><th>AP@0.5</th><th>AP@0.75</th><th>AP@0.9</th><th>AJI</th>\
         <th>overlay</th></tr>",
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
        TP_RGB[0],
        TP_RGB[1],
        TP_RGB[2],
        FP_RGB[0],
        FP_RGB[1],
        FP_RGB[2],
        FN_RGB[0],
        FN_RGB[1],
        FN_RGB[2],
    );
    for (k, &i) in order.iter().enumerate() {
        let s = &items[i].matched.scores;
        let _ = write!(
            html,
            "<tr><td>{}</td><td class=l>{}</td><td>{}/{}</td><td>{:.3}</td><td>{:.3}</td>\
             <td>{:.3}</td><td>{:.3}</td><td>{:.3}</td><td>{:.3}</td><td>{:.3}</td>\
             <td>{:.3}</td><td>{:.3}</td><td><img src=\"overlays/{k:05}.png\"></td></tr>",
            k + 1,
            html_escape(&items[i].name),
            s.sums.n_true,
            s.sums.n_pred,
            s.pixel_iou,
            s.dice,
            s.precision_50,
            s.recall_50,
            s.f1_50,
            s.ap_50,
            s.ap_75,
            s.ap_90,
            s.aji
        );
    }
    html.push_str("</table></body></html>\n");
    let index = dir.join("index.html");
    io::write_atomic(&index, |w| std::io::Write::write_all(w, html.as_bytes()))?;
    Ok(())
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
        let (h, w) = truth.shape();
        // Truth blue, prediction red/green: agreement shows white-ish, misses blue, extras yellow.
        let mut rgb = vec![20u8; h * w * 3];
        for (px, (&p, &t)) in rgb
            .chunks_exact_mut(3)
            .zip(pred.as_slice().iter().zip(truth.as_slice()))
        {
            if p != 0 {
                px[0] = 230;
                px[1] = 210;
            }
            if t != 0 {
                px[2] = 255;
            }
        }
        io::write_png_rgb(pics.join(format!("{k:05}.png")), h, w, &rgb)?;
        anyhow::Ok(())
    })?;
    let mut html = String::new();
    let _ = write!(
        html,
        "<!doctype html><html><head><meta charset=\"utf-8\"><title>deltacell eval track</title>\
         <style>{STYLE}</style></head><body><h1>Tracking evaluation</h1><p>{} seed cell(s). \
         Accuracy {:.4}, cell found {:.4}, daughter found {:.4}, link precision {:.4}, link \
         recall {:.4}, division precision {:.4}, division recall {:.4}.</p><p>Pictures: \
         prediction yellow, truth blue, both white. Wrong seeds first.</p><table><tr><th>#\
         </th><th>seed</th><th>cells true/pred</th><th>matched</th><th>correct</th>\
         <th>picture</th></tr>",
        scores.n_seeds,
        scores.accuracy,
        scores.cell_found,
        scores.daughter_found,
        scores.link_precision,
        scores.link_recall,
        scores.division_precision,
        scores.division_recall
    );
    for (k, &i) in order.iter().enumerate() {
        let s = &results[i].0;
        let _ = write!(
            html,
            "<tr><td>{}</td><td class=l>{}</td><td>{}/{}</td><td>{}</td><td>{}</td>\
             <td><img src=\"overlays/{k:05}.png\"></td></tr>",
            k + 1,
            html_escape(&s.name),
            s.true_cells,
            s.pred_cells,
            s.matched,
            if s.correct { "yes" } else { "no" }
        );
    }
    html.push_str("</table></body></html>\n");
    let index = dir.join("index.html");
    io::write_atomic(&index, |w| std::io::Write::write_all(w, html.as_bytes()))?;
    Ok(())
}
