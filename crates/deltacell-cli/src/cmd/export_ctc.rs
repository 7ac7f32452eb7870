//! `deltacell export-ctc`: writes ROIs as Cell Tracking Challenge folders (`OUT/roi00/`, …),
//! result layout (`mask000.tif…`, `res_track.txt`) or, with `--as-truth`, ground-truth layout
//! (`TRA/`, `SEG/`), from a results file (`PositionNNNNNN.nc`) or CTC folders. See `deltacell_analysis::ctc` for how DeLTA's lineages become CTC tracks. From a results file,
//! `OUT/deltacell-position.toml` keeps what the folders cannot hold (boxes, drift, …), for
//! `import-ctc --out FILE.nc`.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use deltacell_analysis::ctc::{self, CtcLayout};
use deltacell_analysis::ctc_results::PositionLayout;
use deltacell_analysis::results::PositionResults;
use deltacell_data::output;

/// Arguments of `deltacell export-ctc`.
#[derive(clap::Args, Debug)]
pub struct ExportCtcArgs {
    /// The tracked ROIs: a results file (`PositionNNNNNN.nc`), a CTC folder of either layout,
    /// or a folder of them (`roi00/`, …).
    pub input: PathBuf,
    /// Output folder: one CTC folder per ROI, `roi00/`, `roi01/`, … (created if needed).
    #[arg(long)]
    pub out: PathBuf,
    /// Write the ground-truth layout (`TRA/man_track.txt`, `TRA/man_track000.tif…`,
    /// `SEG/man_seg000.tif…`) instead of the result layout.
    #[arg(long)]
    pub as_truth: bool,
}

/// Runs `deltacell export-ctc`.
pub fn run(args: ExportCtcArgs) -> anyhow::Result<ExitCode> {
    let reading = || format!("reading {}", args.input.display());
    // A results file: what the CTC folders cannot hold goes beside them (`import-ctc` reads it).
    let (rois, position_layout) = if ctc::is_results_file(&args.input) {
        let position = PositionResults::read(&args.input).with_context(reading)?;
        let n = position.rois.len();
        let folders: Vec<String> = (0..n).map(|i| ctc::roi_dir_name(i, n)).collect();
        let layout = PositionLayout::of(&position, &folders);
        (
            ctc::results_rois(position).with_context(reading)?,
            Some(layout),
        )
    } else {
        (
            ctc::read_tracked_rois(&args.input).with_context(reading)?,
            None,
        )
    };
    output::prepare_dir(&args.out, &[&args.input])?;
    let layout = if args.as_truth {
        CtcLayout::Truth
    } else {
        CtcLayout::Result
    };
    for (i, (name, roi)) in rois.iter().enumerate() {
        let out = ctc::to_ctc(roi).with_context(|| format!("ROI {name}"))?;
        let dir = args.out.join(ctc::roi_dir_name(i, rois.len()));
        ctc::write_ctc(&dir, &out, layout).with_context(|| format!("writing {}", dir.display()))?;
    }
    if let Some(p) = position_layout {
        p.write(&args.out)?;
    }
    println!(
        "wrote {} ROI(s) as CTC {} folders to {}",
        rois.len(),
        if args.as_truth {
            "ground-truth"
        } else {
            "result"
        },
        args.out.display()
    );
    Ok(ExitCode::SUCCESS)
}
