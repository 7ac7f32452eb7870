//! `deltacell weights DIR --kind seg|seg2d|track`: precompute the `wei/` weight maps of a
//! training set (DeLTA's `make_weights`).

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::builder::{PossibleValuesParser, TypedValueParser};
use clap::Args;
use deltacell_data::wei::make_weights;
use deltacell_data::weights::{SegWeightParams, WeightRecipe};

/// Arguments of `deltacell weights`.
#[derive(Args, Debug)]
pub struct WeightsArgs {
    /// The training-set folder (holds `seg/`, or `mot_dau/` and `segall/` for `--kind track`).
    pub dir: PathBuf,
    /// The weight function: `seg` (`seg_weights` on `seg/`, mother machine), `seg2d`
    /// (`seg_weights_2D` on `seg/`, 2-D colonies) or `track` (`tracking_weights` on `mot_dau/`
    /// with `segall/`); its parameters come from the options below.
    #[arg(long, value_parser = PossibleValuesParser::new(["seg", "seg2d", "track"])
        .try_map(|s| s.parse::<WeightRecipe>()))]
    pub kind: WeightRecipe,
    /// Border-term amplitude of `seg` weights (DeLTA's w0).
    #[arg(long, default_value_t = 12.0, value_parser = crate::numbers::non_negative_f32)]
    pub w0: f32,
    /// Border-term width of `seg` weights, pixels (DeLTA's sigma).
    #[arg(long, default_value_t = 2.0, value_parser = crate::numbers::positive_f32)]
    pub sigma: f32,
    /// Class weights `A,B`: (background, cell) for `seg`, (cells, borders) for `seg2d`.
    #[arg(long, value_parser = crate::numbers::positive_pair, default_value = "1,1")]
    pub classweights: (f32, f32),
    /// Halo distance of `track` weights, pixels.
    #[arg(long, default_value_t = 50.0, value_parser = crate::numbers::positive_f32)]
    pub halo: f32,
    /// Overwrite an existing `wei/` folder.
    #[arg(long)]
    pub force: bool,
}

/// Runs the subcommand.
pub fn run(args: WeightsArgs) -> anyhow::Result<ExitCode> {
    let recipe = match args.kind {
        WeightRecipe::Seg(_) => WeightRecipe::Seg(SegWeightParams {
            classweights: args.classweights,
            w0: args.w0,
            sigma: args.sigma,
        }),
        WeightRecipe::Seg2d { .. } => WeightRecipe::Seg2d {
            classweights: args.classweights,
        },
        WeightRecipe::Track { .. } => WeightRecipe::Track {
            halo_distance: args.halo,
        },
    };
    let bar = crate::progress::bar(0, recipe.delta_name(), false);
    let n = make_weights(&args.dir, &recipe, args.force, &|done, total| {
        bar.set_length(total as u64);
        bar.set_position(done as u64);
    })
    .with_context(|| format!("making weights in {}", args.dir.display()))?;
    bar.finish_and_clear();
    println!(
        "{}: wrote {n} weight map(s) with {} to {}",
        args.dir.display(),
        recipe.delta_name(),
        args.dir.join("wei").display()
    );
    Ok(ExitCode::SUCCESS)
}
