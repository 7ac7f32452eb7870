//! `deltacell batches`: a picture of a few batches as the network will see them.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use deltacell_data::dataset::{DatasetConfig, Loader};
use deltacell_data::report::contact_sheet;
use deltacell_data::Kind;

/// Arguments of `deltacell batches`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// The training-set folder.
    pub dir: PathBuf,
    /// Which training set it is.
    #[arg(long, value_enum)]
    pub kind: Kind,
    /// TOML file with optional `[seg]`, `[track]`, `[rois]` and `[loader]` tables.
    #[arg(long)]
    pub config: Option<PathBuf>,
    /// Number of batches to draw.
    #[arg(long, default_value_t = 4)]
    pub n: usize,
    /// Where to write the picture (PNG).
    #[arg(long, default_value = "batch.png")]
    pub out: PathBuf,
}

/// Draws `n` training batches (epoch 0) and writes them side by side: one row per sample, one
/// column per channel (inputs, then label and weights).
pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    anyhow::ensure!(args.n > 0, "--n must be at least 1");
    let mut inputs = vec![args.dir.as_path()];
    inputs.extend(args.config.as_deref());
    deltacell_data::output::ensure_outside_inputs(&args.out, &inputs)?;
    let config = match &args.config {
        Some(p) => DatasetConfig::from_toml_file(p)?,
        None => DatasetConfig::default(),
    };
    let kind = args.kind;
    let (dataset, storage) = config
        .open_training(kind, &args.dir)
        .with_context(|| format!("opening {}", args.dir.display()))?;
    println!("{storage}");
    let layout = dataset.layout();
    let mut options = config.loader.clone();
    options.steps_per_epoch = Some(options.steps_per_epoch.unwrap_or(1).max(args.n));
    options.workers = 0;
    let loader = Loader::new(dataset, options)?;
    let batches = (0..args.n)
        .map(|step| loader.batch_at(0, step))
        .collect::<Result<Vec<_>, _>>()?;
    let sheet = contact_sheet(&batches);
    sheet.save(&args.out)?;
    println!(
        "{} batches of {} samples, {}x{} pixels, {} input + {} target channels -> {}",
        batches.len(),
        batches.first().map_or(0, |b| b.n),
        layout.height,
        layout.width,
        layout.in_channels,
        layout.out_channels,
        args.out.display()
    );
    Ok(ExitCode::SUCCESS)
}
