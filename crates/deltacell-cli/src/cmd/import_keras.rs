//! `deltacell import-keras MODEL.hdf5|MODEL.keras --kind seg|track|rois --out RUN_DIR`.
//!
//! Converts one of DeLTA's Keras models (legacy HDF5 as DeLTA 2.0.7 and its released models
//! ship, or a Keras 3 `.keras` zip) into a deltacell RUN_DIR (`model.safetensors` +
//! `model.toml`) that `predict`, `eval` and `train --init-from` read. See
//! [`deltacell_nn::keras`] for the layer mapping.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;

use clap::Args;
use deltacell_nn::{keras, Kind};

/// Arguments of `deltacell import-keras`.
#[derive(Args, Debug)]
pub struct ImportKerasArgs {
    /// The Keras model: `.hdf5`/`.h5` (legacy HDF5) or `.keras` (Keras 3 zip).
    pub model: PathBuf,
    /// Which network it is (checked against the number of input channels).
    #[arg(long, value_enum)]
    pub kind: Kind,
    /// RUN_DIR to write (created if needed; an existing model there is replaced).
    #[arg(long)]
    pub out: PathBuf,
}

/// Runs the import and prints a one-line summary.
pub fn run(args: ImportKerasArgs) -> anyhow::Result<ExitCode> {
    deltacell_data::output::ensure_outside_inputs(&args.out, &[&args.model])?;
    let info = keras::import(&args.model, args.kind, &args.out).with_context(|| {
        format!(
            "importing {} with --kind {}",
            args.model.display(),
            args.kind
        )
    })?;
    let spec = &info.architecture;
    println!(
        "imported {} → {}: {} model, {} levels, filters {:?}, {} input channel(s), {} parameters, \
         input {}×{} ({})",
        args.model.display(),
        args.out.display(),
        spec.kind,
        spec.levels(),
        spec.filters,
        spec.input_channels,
        spec.param_count(),
        info.input_size[0],
        info.input_size[1],
        info.preset.as_deref().unwrap_or("keras"),
    );
    Ok(ExitCode::SUCCESS)
}
