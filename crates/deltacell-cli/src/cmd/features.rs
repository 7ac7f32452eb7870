//! `deltacell features RESULTS.nc… -o OUT`: every feature and growth rate recomputed from the
//! label stacks and lineages of DeLTA results files (DeLTA 3's own, or labels corrected by
//! hand), written into `OUT` as `PositionNNNNNN.nc` and the per-cell table `PositionNNNNNN.csv`.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::Args;
use deltacell_analysis::{features, results, table};

/// Arguments of `deltacell features`.
#[derive(Args, Debug)]
pub struct FeaturesArgs {
    /// Results files `PositionNNNNNN.nc` (DeLTA's netCDF format 0.1.0), one per position.
    #[arg(required = true, value_name = "RESULTS.nc")]
    pub results: Vec<PathBuf>,
    /// Output folder (created): `PositionNNNNNN.nc` and `PositionNNNNNN.csv` per position. A
    /// folder that holds one of the inputs is refused (its file would be replaced).
    #[arg(short = 'o', long = "out", value_name = "OUT")]
    pub out: PathBuf,
}

/// Reads, recomputes and writes each position; one summary line each.
pub fn run(args: FeaturesArgs) -> anyhow::Result<ExitCode> {
    let inputs: Vec<&std::path::Path> = args.results.iter().map(PathBuf::as_path).collect();
    deltacell_data::output::prepare_dir(&args.out, &inputs)
        .with_context(|| format!("output folder {} (-o)", args.out.display()))?;
    let mut seen: BTreeMap<u32, PathBuf> = BTreeMap::new();
    for path in &args.results {
        let mut position = results::PositionResults::read(path)?;
        if let Some(first) = seen.insert(position.position_nb, path.clone()) {
            anyhow::bail!(
                "{} and {} both hold position {}: their outputs would have the same name",
                first.display(),
                path.display(),
                position.position_nb
            );
        }
        features::recompute_position(&mut position)
            .with_context(|| format!("{}: recomputing the features", path.display()))?;
        let nc = args.out.join(results::file_name(position.position_nb));
        let csv = nc.with_extension("csv");
        position.write(&nc)?;
        table::write_table(&csv, &position)?;
        let cells: usize = position.rois.iter().map(|r| r.lineage.len()).sum();
        let rows: usize = position
            .rois
            .iter()
            .flat_map(|r| r.features.values())
            .map(Vec::len)
            .sum();
        println!(
            "{}: position {}, {} ROIs, {cells} cells, {rows} cell-frames → {}, {}",
            path.display(),
            position.position_nb,
            position.rois.len(),
            nc.display(),
            csv.display()
        );
    }
    Ok(ExitCode::SUCCESS)
}
