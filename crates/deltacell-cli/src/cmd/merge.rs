//! `deltacell merge OUT`: the positions that shards, Slurm array tasks or Dask workers wrote
//! into one results folder, checked and joined ([`deltacell_analysis::merge`]): an index of
//! positions (`positions.csv`) and, when every position is complete, the experiment-wide table
//! (`experiment.csv`). Exits 1 naming the positions that are missing, failed or partial.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;
use deltacell_analysis::merge::{self, Status};

/// Arguments of `deltacell merge`.
#[derive(Args, Debug)]
pub struct MergeArgs {
    /// The results folder of `deltacell run` (every shard's).
    #[arg(value_name = "OUT")]
    pub output: PathBuf,
}

/// Merges, prints a summary; exit 1 when a position is not complete.
pub fn run(args: MergeArgs) -> anyhow::Result<ExitCode> {
    let report = merge::merge(&args.output)?;
    let complete = report.entries.len() - report.incomplete().len();
    let cells: usize = report.entries.iter().map(|e| e.cells).sum();
    let rows: usize = report.entries.iter().map(|e| e.rows).sum();
    println!(
        "{complete} of {} position(s) complete, {cells} cells, {rows} rows → {}",
        report.entries.len(),
        report.index.display()
    );
    if let Some(table) = &report.table {
        println!("experiment table → {}", table.display());
        return Ok(ExitCode::SUCCESS);
    }
    for e in report.incomplete() {
        match &e.status {
            Status::Failed(m) => eprintln!("position {}: failed: {m}", e.position),
            Status::Partial => eprintln!(
                "position {}: partial (killed while writing its outputs)",
                e.position
            ),
            _ => eprintln!("position {}: missing", e.position),
        }
    }
    let list: Vec<String> = report
        .incomplete()
        .iter()
        .map(|e| e.position.to_string())
        .collect();
    eprintln!(
        "error: {} position(s) not complete: {}; run `deltacell run` again (finished positions \
         are skipped), then merge; no experiment table written",
        list.len(),
        list.join(", ")
    );
    Ok(ExitCode::from(1))
}
