//! The tidy per-cell, per-frame table: one CSV row per cell per frame, for pandas
//! (`pd.read_csv`) and R (`read.csv`).
//!
//! Columns: `position`, `roi`, `cell`, `frame` (the movie's frame number, as in the netCDF
//! file), `mother` (`NA` for none), `daughter` (the cell born from this one at this frame, `NA`
//! for none), `length`, `width` (pixels), `area` (pixels²), `perimeter` (pixels),
//! `growthrate_length`, `growthrate_area` (1/frame), `new_pole_y`, `new_pole_x`, `old_pole_y`,
//! `old_pole_x` (pixels in the ROI), `edge_minus_x`, `edge_plus_x`, `edge_minus_y`,
//! `edge_plus_y` (1 when the cell touches that border of its ROI, else 0), then one
//! `fluo_<channel>` per extra channel (mean grey value). Missing values are `NA`. Numbers are
//! the single-precision values the netCDF file stores, written in their shortest exact form.

use std::io::Write;
use std::path::Path;

use crate::error::Result;
use crate::results::PositionResults;

fn num(v: f64) -> String {
    if v.is_nan() {
        "NA".to_string()
    } else {
        format!("{}", v as f32)
    }
}

/// The header line (without newline) for these fluorescence channel numbers.
///
/// ```
/// let h = deltacell_analysis::table::header(&[2]);
/// assert!(h.starts_with("position,roi,cell,frame,mother,daughter,length,"));
/// assert!(h.ends_with(",fluo_2"));
/// ```
pub fn header(fluo_channels: &[i64]) -> String {
    let mut h = String::from(
        "position,roi,cell,frame,mother,daughter,length,width,area,perimeter,growthrate_length,\
         growthrate_area,new_pole_y,new_pole_x,old_pole_y,old_pole_x,edge_minus_x,edge_plus_x,\
         edge_minus_y,edge_plus_y",
    );
    for c in fluo_channels {
        h.push_str(&format!(",fluo_{c}"));
    }
    h
}

/// Writes the table of one position to `out` (the header, then a row per cell per frame, by
/// ROI, cell and frame).
pub fn write_rows(w: &mut impl Write, position: &PositionResults) -> std::io::Result<()> {
    let channels = position
        .rois
        .iter()
        .map(|r| r.fluo_channels.as_slice())
        .max_by_key(|c| c.len())
        .unwrap_or(&[]);
    writeln!(w, "{}", header(channels))?;
    for roi in &position.rois {
        for cell in roi.lineage.cells() {
            let Some(features) = roi.features.get(&cell.id) else {
                continue;
            };
            for (i, f) in features.iter().enumerate() {
                let frame = cell.first_frame + i;
                let daughter = cell
                    .divisions
                    .iter()
                    .find(|(df, _)| *df == frame)
                    .map_or("NA".to_string(), |(_, d)| d.to_string());
                let e = f.edges.as_array().map(u8::from);
                write!(
                    w,
                    "{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{}",
                    position.position_nb,
                    roi.roi_nb,
                    cell.id,
                    i64::from(roi.first_frame) + frame as i64,
                    cell.mother.map_or("NA".to_string(), |m| m.to_string()),
                    daughter,
                    num(f.length),
                    num(f.width),
                    num(f.area),
                    num(f.perimeter),
                    num(f.growthrate_length),
                    num(f.growthrate_area),
                    f.new_pole[0],
                    f.new_pole[1],
                    f.old_pole[0],
                    f.old_pole[1],
                    e[0],
                    e[1],
                    e[2],
                    e[3],
                )?;
                for c in 0..channels.len() {
                    write!(
                        w,
                        ",{}",
                        f.fluo.get(c).map_or("NA".to_string(), |v| num(*v))
                    )?;
                }
                writeln!(w)?;
            }
        }
    }
    Ok(())
}

/// Writes the table of one position to `path`, atomically.
pub fn write_table(path: &Path, position: &PositionResults) -> Result<()> {
    deltacell_data::output::write_atomic(path, |w| write_rows(w, position))?;
    Ok(())
}
