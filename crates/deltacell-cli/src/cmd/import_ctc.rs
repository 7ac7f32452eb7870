//! `deltacell import-ctc`: reads a Cell Tracking Challenge folder (or a folder of them) into
//! deltacell's lineage model: per ROI, `lineage.txt` (one line per cell: `id mother first last
//! [frame:daughter …]`, mother 0 for none, frames 0-based) and `labels/labels000.tif…` (16-bit,
//! pixel = cell id); or, with `--out FILE.nc`, one results file (`PositionNNNNNN.nc`, DeLTA 3's
//! format) with the lineages, the labels and the features measured from them
//! (`deltacell_analysis::ctc_results`).

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use deltacell_analysis::{ctc, ctc_results};
use deltacell_data::image::Plane;
use deltacell_data::{io, output};

/// Arguments of `deltacell import-ctc`.
#[derive(clap::Args, Debug)]
pub struct ImportCtcArgs {
    /// A CTC folder (`res_track.txt` + `mask*.tif`, or `TRA/man_track.txt` +
    /// `TRA/man_track*.tif`), or a folder of them.
    pub input: PathBuf,
    /// Output: a folder (`roi00/lineage.txt`, `roi00/labels/…`, …, created if needed), or a
    /// results file `FILE.nc` (one position, every ROI; boxes and drift from the
    /// `deltacell-position.toml` that `export-ctc` writes, when there is one).
    #[arg(long)]
    pub out: PathBuf,
}

/// Runs `deltacell import-ctc`.
pub fn run(args: ImportCtcArgs) -> anyhow::Result<ExitCode> {
    if args
        .out
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("nc"))
    {
        return to_results_file(&args);
    }
    let rois = ctc::read_tracked_rois(&args.input)
        .with_context(|| format!("reading {}", args.input.display()))?;
    output::prepare_dir(&args.out, &[&args.input])?;
    let mut cells = 0;
    for (i, (name, roi)) in rois.iter().enumerate() {
        let dir = args.out.join(ctc::roi_dir_name(i, rois.len()));
        let labels_dir = dir.join("labels");
        std::fs::create_dir_all(&labels_dir)
            .with_context(|| format!("creating {}", labels_dir.display()))?;
        for (t, l) in roi.labels.iter().enumerate() {
            // Cell ids come from 16-bit track labels: they fit.
            let plane: Plane<u16> = l.plane().map(|v| u16::try_from(v).unwrap_or(u16::MAX));
            io::write_tiff_u16(labels_dir.join(format!("labels{t:03}.tif")), &[plane])?;
        }
        let text = format!(
            "# deltacell lineage of {name}: id mother first last [frame:daughter ...]\n{}",
            roi.lineage
        );
        output::write_bytes(dir.join("lineage.txt"), text.as_bytes())?;
        cells += roi.lineage.len();
    }
    println!(
        "imported {} ROI(s), {cells} cell(s), into {}",
        rois.len(),
        args.out.display()
    );
    Ok(ExitCode::SUCCESS)
}

/// `import-ctc … --out FILE.nc`: one results file.
fn to_results_file(args: &ImportCtcArgs) -> anyhow::Result<ExitCode> {
    let position = ctc_results::results_from_ctc(&args.input)
        .with_context(|| format!("reading {}", args.input.display()))?;
    output::ensure_outside_inputs(&args.out, &[&args.input])?;
    position.write(&args.out)?;
    let cells: usize = position.rois.iter().map(|r| r.lineage.len()).sum();
    println!(
        "imported {} ROI(s), {cells} cell(s), into {}",
        position.rois.len(),
        args.out.display()
    );
    Ok(ExitCode::SUCCESS)
}
