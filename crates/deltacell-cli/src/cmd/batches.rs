//! `deltacell batches`: a picture of a few batches as the network will see them, from the same
//! configuration and dataset recipe `deltacell train` uses (`--preset`, `--config`, `--seed`):
//! the first batches of the first epoch of the training split.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use deltacell_data::dataset::Loader;
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
    /// Built-in preset the configuration starts from, as for `deltacell train`.
    #[arg(long, default_value = "2D")]
    pub preset: String,
    /// Training configuration laid over the preset, as for `deltacell train`.
    #[arg(long)]
    pub config: Option<PathBuf>,
    /// Seed of the data order and augmentation, as for `deltacell train`.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Number of batches to draw.
    #[arg(long, default_value_t = 4, value_parser = crate::numbers::at_least_one)]
    pub n: usize,
    /// Where to write the picture (PNG).
    #[arg(long, default_value = "batch.png")]
    pub out: PathBuf,
}

/// Draws `n` training batches (epoch 0) and writes them side by side: one row per sample, one
/// column per channel (inputs, then label and weights).
pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let mut inputs = vec![args.dir.as_path()];
    inputs.extend(args.config.as_deref());
    deltacell_data::output::ensure_outside_inputs(&args.out, &inputs)?;
    let config = super::config::load(&args.preset, args.config.as_deref())?;
    let recipe = config.dataset_recipe(args.kind)?;
    let sets = recipe
        .open(args.kind, &args.dir, None, args.seed)
        .with_context(|| format!("opening {}", args.dir.display()))?;
    println!("{}", sets.storage);
    let layout = sets.train.layout();
    let mut options = recipe.training_loader(args.seed);
    options.steps_per_epoch = Some(recipe.steps_per_epoch.max(args.n));
    options.workers = 0;
    let loader = Loader::new(sets.train, options)?;
    let batches = (0..args.n)
        .map(|step| loader.batch_at(0, step))
        .collect::<Result<Vec<_>, _>>()?;
    contact_sheet(&batches).save(&args.out)?;
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
