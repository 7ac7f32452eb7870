//! `deltacell augment`: preview an augmentation configuration on a segmentation training set.
//!
//! Reads `DIR/img`, `DIR/seg` and (when present) `DIR/wei`, matched by file stem, and
//! * `--out sheet.png`: a contact sheet. One block per sample: the original and `--n` augmented
//!   variants side by side, each as the image in grey with the mask outlines in green, and below
//!   it (when there are weights) the weight map as a heat map;
//! * `--out-dir DIR2`: `--n` augmented variants of every sample written as a training set
//!   (`DIR2/img`, `DIR2/seg`, `DIR2/wei`), named `<stem>_aug<k>.png`.
//!
//! Variant `k` of sample `i` uses the random stream `(seed, epoch = k, index = i)`, i.e. exactly
//! what training would draw for that sample in epoch `k`.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{bail, Context, Result};
use clap::Args;
use rayon::prelude::*;

use deltacell_data::augment::resize::{resize_image, resize_mask, resize_weights};
use deltacell_data::augment::{augment, AugmentParams, Sample, Target};
use deltacell_data::image::{Image, Mask, WeightMap};
use deltacell_data::io::{self, Depth, Rescale};
use deltacell_data::layout::{Role, TrainingSet};
use deltacell_data::output;
use deltacell_data::random::stream;
use deltacell_data::report::{self, ColourMap, RgbImage};
use deltacell_data::Kind;

/// Arguments of `deltacell augment`.
#[derive(Args, Debug)]
pub struct AugmentArgs {
    /// Segmentation training set with `img/`, `seg/` and optionally `wei/`.
    pub dir: PathBuf,
    /// Augmentation parameters, TOML or JSON with DeLTA's keys; or a preset: `seg`, `track`,
    /// `rois`.
    #[arg(long, short)]
    pub config: String,
    /// Augmented variants per sample.
    #[arg(long, default_value_t = 8)]
    pub n: usize,
    /// Random seed.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Samples shown on the contact sheet (the first ones, sorted by name).
    #[arg(long, default_value_t = 4)]
    pub samples: usize,
    /// Longest side of a tile on the contact sheet, in pixels (larger tiles are shrunk).
    #[arg(long, default_value_t = 256)]
    pub tile: usize,
    /// Contact sheet to write (PNG).
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Folder to write the augmented training set to (must be empty or absent, and outside
    /// DIR).
    #[arg(long)]
    pub out_dir: Option<PathBuf>,
    /// Write into a non-empty --out-dir (files of the same names are replaced).
    #[arg(long)]
    pub force: bool,
}

/// One training sample as read from disk.
struct Entry {
    stem: String,
    sample: Sample,
    has_weights: bool,
}

/// Runs the subcommand.
pub fn run(args: AugmentArgs) -> Result<ExitCode> {
    if args.out.is_none() && args.out_dir.is_none() {
        bail!("nothing to do: give --out sheet.png and/or --out-dir DIR");
    }
    if args.n == 0 {
        bail!("--n must be at least 1 (augmented variants per sample)");
    }
    if args.tile < 8 {
        bail!("--tile must be at least 8 pixels, got {}", args.tile);
    }
    // Nothing is written into the training set itself.
    if let Some(out) = &args.out {
        output::ensure_outside_inputs(out, &[&args.dir])?;
    }
    if let Some(dir) = &args.out_dir {
        output::ensure_outside_inputs(dir, &[&args.dir])?;
        if !args.force && dir_has_entries(dir) {
            return Err(deltacell_data::Error::OutputNotEmpty { path: dir.clone() }.into());
        }
    }
    let params = match args.config.as_str() {
        "seg" => AugmentParams::seg_training(),
        "track" => AugmentParams::track_training(),
        "rois" => AugmentParams::rois_training(),
        path => AugmentParams::from_file(path)?,
    };
    let entries = read_set(&args.dir)?;
    if let Some(out) = &args.out {
        let shown = &entries[..args.samples.min(entries.len())];
        let sheet = contact_sheet(shown, &params, &args)?;
        sheet
            .save(out)
            .with_context(|| format!("writing {}", out.display()))?;
        eprintln!(
            "wrote {} ({} samples × {} variants)",
            out.display(),
            shown.len(),
            args.n
        );
    }
    if let Some(dir) = &args.out_dir {
        write_set(&entries, &params, &args, dir)?;
        eprintln!(
            "wrote {} augmented samples to {}",
            entries.len() * args.n,
            dir.display()
        );
    }
    Ok(ExitCode::SUCCESS)
}

/// Reads `img/`, `seg/`, `wei/` matched by stem ([`TrainingSet`], DeLTA's newest
/// `_load_images_seg`); every unmatched file is listed.
fn read_set(root: &Path) -> Result<Vec<Entry>> {
    let set = TrainingSet::discover(root, Some(Kind::Seg))?;
    let mut problems = set.matching_problems();
    problems.extend(deltacell_data::check::stale_weight_problems(&set));
    if !problems.is_empty() {
        bail!(
            "{}: {} problem(s) in the training set:\n{}",
            root.display(),
            problems.len(),
            problems.join("\n")
        );
    }
    let mut entries = Vec::new();
    for files in &set.samples {
        let stem = files.stem();
        let (Some(img_path), Some(seg_path)) = (files.path(Role::Img), files.path(Role::Seg))
        else {
            continue;
        };
        let image = io::read_image(img_path, Rescale::DtypeMax)?;
        let mask = io::read_binary_mask(seg_path)?;
        let mut targets = vec![Target::Image(image), Target::Mask(mask)];
        let mut has_weights = false;
        if let Some(p) = files.path(Role::Wei) {
            targets.push(Target::Weights(io::read_weights(p)?));
            has_weights = true;
        }
        let sample = Sample { targets };
        sample.shape().with_context(|| {
            format!(
                "sample {stem}: {} and {}",
                img_path.display(),
                seg_path.display()
            )
        })?;
        entries.push(Entry {
            stem: stem.to_string(),
            sample,
            has_weights,
        });
    }
    if entries.is_empty() {
        bail!("{}: no images in img/", root.display());
    }
    Ok(entries)
}

fn variant(entry: &Entry, params: &AugmentParams, seed: u64, k: usize, i: usize) -> Result<Sample> {
    let mut s = entry.sample.clone();
    augment(&mut s, params, &mut stream(seed, k as u64, i as u64))?;
    Ok(s)
}

/// The display tiles of one sample: image with outlines, and the weight heat map (if any).
fn tiles(sample: &Sample, max_side: usize, weight_max: f32) -> (RgbImage, Option<RgbImage>) {
    let (h, w) = sample.targets[0].shape();
    let scale = (max_side as f64 / h.max(w) as f64).min(1.0);
    let shape = (
        ((h as f64 * scale).round() as usize).max(1),
        ((w as f64 * scale).round() as usize).max(1),
    );
    let mut picture: Option<RgbImage> = None;
    let mut masks: Vec<Mask> = Vec::new();
    let mut heat = None;
    for t in &sample.targets {
        match t {
            Target::Image(i) => {
                picture.get_or_insert_with(|| report::grey(&resize_image(i, shape)));
            }
            Target::Mask(m) => masks.push(resize_mask(m, shape)),
            Target::Weights(wm) => {
                let small: WeightMap = resize_weights(wm, shape);
                heat = Some(report::heat_map(
                    small.plane(),
                    Some(weight_max),
                    ColourMap::Inferno,
                ));
            }
        }
    }
    let mut picture = picture.unwrap_or_else(|| report::grey(&Image::zeros(shape.0, shape.1)));
    for m in &masks {
        report::draw_mask_outline(&mut picture, m, report::GREEN);
    }
    (picture, heat)
}

fn contact_sheet(
    entries: &[Entry],
    params: &AugmentParams,
    args: &AugmentArgs,
) -> Result<RgbImage> {
    let blocks: Vec<Vec<Vec<RgbImage>>> = entries
        .par_iter()
        .enumerate()
        .map(|(i, e)| -> Result<Vec<Vec<RgbImage>>> {
            let mut samples = vec![e.sample.clone()];
            for k in 0..args.n {
                samples.push(variant(e, params, args.seed, k, i)?);
            }
            // One colour scale for the whole row: the original's largest weight.
            let wmax = e
                .sample
                .targets
                .iter()
                .find_map(|t| match t {
                    Target::Weights(w) => Some(w.max()),
                    _ => None,
                })
                .unwrap_or(1.0);
            let (mut top, mut bottom) = (Vec::new(), Vec::new());
            for s in &samples {
                let (p, h) = tiles(s, args.tile, wmax);
                top.push(p);
                if let Some(h) = h {
                    bottom.push(h);
                }
            }
            Ok(if e.has_weights {
                vec![top, bottom]
            } else {
                vec![top]
            })
        })
        .collect::<Result<_>>()?;
    let rows: Vec<Vec<RgbImage>> = blocks.into_iter().flatten().collect();
    Ok(report::grid(&rows, 4, report::DARK))
}

fn write_set(
    entries: &[Entry],
    params: &AugmentParams,
    args: &AugmentArgs,
    dir: &Path,
) -> Result<()> {
    for sub in ["img", "seg", "wei"] {
        if sub != "wei" || entries.iter().any(|e| e.has_weights) {
            output::prepare_dir(&dir.join(sub), &[&args.dir])?;
        }
    }
    entries
        .par_iter()
        .enumerate()
        .try_for_each(|(i, e)| -> Result<()> {
            for k in 0..args.n {
                let s = variant(e, params, args.seed, k, i)?;
                let name = format!("{}_aug{k:03}.png", e.stem);
                for t in &s.targets {
                    match t {
                        Target::Image(img) => {
                            io::write_image(dir.join("img").join(&name), img, Depth::U16)?
                        }
                        Target::Mask(m) => io::write_mask(dir.join("seg").join(&name), m)?,
                        Target::Weights(w) => io::write_weights_u8(dir.join("wei").join(&name), w)?,
                    }
                }
            }
            Ok(())
        })
}

/// Whether `dir` exists and holds anything.
fn dir_has_entries(dir: &Path) -> bool {
    std::fs::read_dir(dir).is_ok_and(|mut entries| entries.next().is_some())
}
