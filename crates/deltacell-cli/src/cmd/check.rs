//! `deltacell check`: validate a DeLTA training set before training on it.
//!
//! Exit status 0 when the set is usable, 1 when it is not (every problem is listed) or when the
//! folder is not a training set at all (one line).
//!
//! A `deltacell synth --kind movie` output (`mm/` and `2d/`, each with `img/ seg/ labels/
//! mot_dau/ lineage.csv`) is recognised as a movie folder: each movie type is checked as the
//! segmentation set its frames make (`img/` + `seg/`, matched by stem; this is what the movie is
//! evaluated against), its `lineage.csv` must exist, and the exit status is 0 only when every
//! type is usable. `labels/` and `mot_dau/` are the per-cell truth for the prediction pipeline,
//! not a training layout, so they are not matched here.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context;
use deltacell_data::check::check;
use deltacell_data::layout::{Folders, TrainingSet};
use deltacell_data::Kind;

/// Arguments of `deltacell check`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// The training-set folder (holding img/, seg/, ...). Optional when every folder is given
    /// one by one with --img, --seg, ...
    #[arg(required_unless_present = "img")]
    pub dir: Option<PathBuf>,
    /// The layout to expect; guessed from the folders when absent (tracking when previmg/,
    /// segall/ or mot_dau/ exists, else segmentation).
    #[arg(long, value_enum)]
    pub kind: Option<Kind>,
    /// Print the report as one JSON object on standard output.
    #[arg(long)]
    pub json: bool,
    /// The img/ folder, given on its own (instead of DIR).
    #[arg(long, conflicts_with = "dir")]
    pub img: Option<PathBuf>,
    /// The seg/ folder, given on its own.
    #[arg(long, requires = "img")]
    pub seg: Option<PathBuf>,
    /// The wei/ folder, given on its own.
    #[arg(long, requires = "img")]
    pub wei: Option<PathBuf>,
    /// The previmg/ folder, given on its own (tracking).
    #[arg(long, requires = "img")]
    pub previmg: Option<PathBuf>,
    /// The segall/ folder, given on its own (tracking).
    #[arg(long, requires = "img")]
    pub segall: Option<PathBuf>,
    /// The mot_dau/ folder, given on its own (tracking).
    #[arg(long, requires = "img")]
    pub mot_dau: Option<PathBuf>,
}

/// The movie types of a `synth --kind movie` folder: `mm/`, `2d/` that hold `img/` and
/// `lineage.csv`; empty when `dir` is not such a folder (it has an `img/` itself, or no type).
fn movie_types(dir: &Path) -> Vec<PathBuf> {
    if dir.join("img").is_dir() {
        return Vec::new();
    }
    ["mm", "2d"]
        .iter()
        .map(|t| dir.join(t))
        .filter(|t| t.join("img").is_dir() && t.join("lineage.csv").exists())
        .collect()
}

/// Checks every movie type of a movie folder as a segmentation set (see the module docs).
fn run_movie(dir: &Path, types: &[PathBuf], json: bool) -> anyhow::Result<ExitCode> {
    let mut usable = true;
    let mut reports = serde_json::Map::new();
    for t in types {
        let name = t.file_name().map(|n| n.to_string_lossy().into_owned());
        let name = name.unwrap_or_default();
        let lineage_ok = t.join("lineage.csv").is_file();
        let report = TrainingSet::discover(t, Some(Kind::Seg)).map(|set| check(&set));
        match report {
            Ok(report) => {
                usable &= report.usable() && lineage_ok;
                if json {
                    reports.insert(
                        name,
                        serde_json::to_value(&report).context("cannot serialise the report")?,
                    );
                } else {
                    println!("movie {name}/ (frames img/ + seg/; labels/, mot_dau/, lineage.csv)");
                    println!("{report}");
                }
            }
            Err(err) => {
                usable = false;
                eprintln!("error: {err}");
                reports.insert(
                    name,
                    serde_json::json!({ "usable": false, "error": err.to_string() }),
                );
            }
        }
        if !lineage_ok {
            eprintln!("error: {}: not a file", t.join("lineage.csv").display());
        }
    }
    if json {
        let obj = serde_json::json!({ "layout": "movie", "usable": usable, "movies": reports });
        println!("{obj}");
    }
    if usable {
        Ok(ExitCode::SUCCESS)
    } else {
        eprintln!("error: {}: movie folder not usable", dir.display());
        Ok(ExitCode::from(1))
    }
}

/// Runs the check and prints the report.
pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let kind = args.kind;
    if let (Some(dir), None) = (&args.dir, kind) {
        let types = movie_types(dir);
        if !types.is_empty() {
            return run_movie(dir, &types, args.json);
        }
    }
    let set = match &args.dir {
        Some(dir) => TrainingSet::discover(dir, kind),
        None => TrainingSet::from_folders(
            Folders {
                img: args.img.clone(),
                seg: args.seg.clone(),
                wei: args.wei.clone(),
                previmg: args.previmg.clone(),
                segall: args.segall.clone(),
                mot_dau: args.mot_dau.clone(),
            },
            kind,
        ),
    };
    let set = match set {
        Ok(set) => set,
        Err(err) if args.json => {
            // Scripts get one JSON object on stdout even when the folder is not a set.
            let obj = serde_json::json!({ "usable": false, "error": err.to_string() });
            println!("{obj}");
            eprintln!("error: {err}");
            return Ok(ExitCode::from(1));
        }
        Err(err) => {
            // Printed here rather than through anyhow's chain, which would repeat the I/O cause.
            eprintln!("error: {err}");
            return Ok(ExitCode::from(1));
        }
    };
    let report = check(&set);
    if args.json {
        let text = serde_json::to_string(&report).context("cannot serialise the report")?;
        println!("{text}");
    } else {
        println!("{report}");
        let root = set.root.display();
        if !report.stale_weights.is_empty() {
            println!("  to recompute them: deltacell weights {root} --force");
        } else if !report.has_weights && report.layout != Kind::Rois && report.samples > 0 {
            println!("  to precompute them: deltacell weights {root}");
        }
    }
    if report.usable() {
        Ok(ExitCode::SUCCESS)
    } else {
        eprintln!(
            "error: {}: training set not usable, {} problem(s) listed above",
            set.root.display(),
            report.problem_count().max(1)
        );
        Ok(ExitCode::from(1))
    }
}
