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

use deltacell_data::augment::{augment, AugmentParams, Sample, Target};
use deltacell_data::dataset::seg_samples;
use deltacell_data::io::{self, Depth};
use deltacell_data::output;
use deltacell_data::random::stream;
use deltacell_data::report::{self, RgbImage};

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
    #[arg(long, default_value_t = 8, value_parser = crate::numbers::at_least_one)]
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
}

/// Runs the subcommand.
pub fn run(args: AugmentArgs) -> Result<ExitCode> {
    if args.out.is_none() && args.out_dir.is_none() {
        bail!("nothing to do: give --out sheet.png and/or --out-dir DIR");
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
        if !args.force {
            deltacell_data::synth::ensure_empty_output(dir)?;
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

/// Reads `img/`, `seg/`, `wei/` matched by stem, as training does
/// ([`deltacell_data::dataset::seg_samples`]).
fn read_set(root: &Path) -> Result<Vec<Entry>> {
    let samples = seg_samples(root)?;
    if samples.is_empty() {
        bail!("{}: no images in img/", root.display());
    }
    Ok(samples
        .into_iter()
        .map(|(stem, sample)| Entry { stem, sample })
        .collect())
}

fn variant(entry: &Entry, params: &AugmentParams, seed: u64, k: usize, i: usize) -> Result<Sample> {
    let mut s = entry.sample.clone();
    augment(&mut s, params, &mut stream(seed, k as u64, i as u64))?;
    Ok(s)
}

/// The originals and `--n` variants of `entries`, one block per sample
/// ([`report::sample_sheet`]).
fn contact_sheet(
    entries: &[Entry],
    params: &AugmentParams,
    args: &AugmentArgs,
) -> Result<RgbImage> {
    let blocks = entries
        .par_iter()
        .enumerate()
        .map(|(i, e)| -> Result<Vec<Sample>> {
            let mut samples = vec![e.sample.clone()];
            for k in 0..args.n {
                samples.push(variant(e, params, args.seed, k, i)?);
            }
            Ok(samples)
        })
        .collect::<Result<Vec<_>>>()?;
    Ok(report::sample_sheet(&blocks, args.tile))
}

fn write_set(
    entries: &[Entry],
    params: &AugmentParams,
    args: &AugmentArgs,
    dir: &Path,
) -> Result<()> {
    for sub in ["img", "seg", "wei"] {
        let weights = |e: &Entry| {
            e.sample
                .targets
                .iter()
                .any(|t| matches!(t, Target::Weights(_)))
        };
        if sub != "wei" || entries.iter().any(weights) {
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
