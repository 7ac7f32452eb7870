//! DeLTA 3.0.0a6 reads the results files `import-ctc` makes of CTC folders
//! (`Position.load_netcdf`, in its own venv, `DELTACELL_DELTA3_PYTHON`; skipped without it):
//! DeLTA's expected results of the shared movie → CTC folders → a results file, with and
//! without the layout file `export-ctc` writes beside the folders.

mod common;

use deltacell_analysis::ctc::{results_rois, roi_dir_name, to_ctc, write_ctc, CtcLayout};
use deltacell_analysis::ctc_results::{results_from_ctc, PositionLayout, LAYOUT_FILE};
use deltacell_analysis::results::PositionResults;

#[test]
fn delta3_reads_results_imported_from_ctc_folders() {
    let nc = common::shared(
        "data/delta-3.0.0a6/movie_mothermachine_tif/expected_results/Position000001.nc",
    );
    if !nc.is_file() {
        println!("skipped: {} not found", nc.display());
        return;
    }
    let Some(py) = common::delta3_python() else {
        return;
    };
    let original = PositionResults::read(&nc).unwrap();
    let n = original.rois.len();
    let folders: Vec<String> = (0..n).map(|i| roi_dir_name(i, n)).collect();
    let dir = tempfile::tempdir().unwrap();
    let ctc = dir.path().join("ctc");
    for ((_, roi), folder) in results_rois(original.clone()).unwrap().iter().zip(&folders) {
        write_ctc(&ctc.join(folder), &to_ctc(roi).unwrap(), CtcLayout::Result).unwrap();
    }
    let cells: usize = original.rois.iter().map(|r| r.lineage.len()).sum();
    let mothers: usize = original
        .rois
        .iter()
        .flat_map(|r| r.lineage.cells())
        .filter(|c| c.mother.is_some())
        .count();
    for with_layout in [false, true] {
        if with_layout {
            PositionLayout::of(&original, &folders).write(&ctc).unwrap();
        }
        assert_eq!(ctc.join(LAYOUT_FILE).is_file(), with_layout);
        let imported = results_from_ctc(&ctc).unwrap();
        let out = dir.path().join(format!("imported-{with_layout}.nc"));
        imported.write(&out).unwrap();
        let script = format!(
            "import delta.pipeline as p\n\
             pos = p.Position.load_netcdf({out:?})\n\
             cells = [c for r in pos.rois for c in r.lineage.cells.values()]\n\
             print(pos.position_nb, len(pos.rois), len(cells), \
             sum(1 for c in cells if c.motherid))\n",
            out = out.to_str().unwrap()
        );
        let stdout = common::run_python(&py, &script, &[]);
        let position = if with_layout { original.position_nb } else { 0 };
        let want = format!("{position} {n} {cells} {mothers}");
        assert_eq!(stdout.lines().last().unwrap_or_default(), want, "{stdout}");
        println!("DeLTA 3 read the imported file (layout file: {with_layout}): {want}");
    }
}
