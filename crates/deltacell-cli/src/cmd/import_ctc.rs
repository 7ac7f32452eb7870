//! `deltacell import-ctc`: reads a Cell Tracking Challenge folder (or a folder of them) into
//! deltacell's lineage model: per ROI, `lineage.txt` (one line per cell: `id mother first last
//! [frame:daughter …]`, mother 0 for none, frames 0-based) and `labels/labels000.tif…` (16-bit,
//! pixel = cell id).

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use deltacell_analysis::ctc;
use deltacell_data::image::Plane;
use deltacell_data::{io, output};

/// Arguments of `deltacell import-ctc`.
#[derive(clap::Args, Debug)]
pub struct ImportCtcArgs {
    /// A CTC folder (`res_track.txt` + `mask*.tif`, or `TRA/man_track.txt` +
    /// `TRA/man_track*.tif`), or a folder of them.
    pub input: PathBuf,
    /// Output folder: `roi00/lineage.txt`, `roi00/labels/…`, … (created if needed).
    #[arg(long)]
    pub out: PathBuf,
}

/// Runs `deltacell import-ctc`.
pub fn run(args: ImportCtcArgs) -> anyhow::Result<ExitCode> {
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
