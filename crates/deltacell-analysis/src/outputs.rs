//! A position's outputs in a results folder, each written atomically:
//!
//! | file | what | read with |
//! |---|---|---|
//! | `PositionNNNNNN.nc` | DeLTA's results file (format 0.1.0) | DeLTA 3's `Position.load_netcdf`, xarray |
//! | `PositionNNNNNN.csv` | the tidy per-cell, per-frame table | pandas, R |
//! | `PositionNNNNNN_labels/labels_TTT.tif` | full-frame label images, corrections undone (DeLTA's `Position.labels`) | any TIFF reader |
//! | `PositionNNNNNN.png` | the lineage trees, one per ROI, top to bottom | an image viewer |
//! | `PositionNNNNNN.mp4` (or `PositionNNNNNN_movie.png`, animated) | DeLTA's results movie: contours, poles, divisions | a video player, a browser |
//!
//! The results file is written last: a position whose `.nc` exists is complete.

use std::path::{Path, PathBuf};

use deltacell_data::report::grid;
use deltacell_data::Plane;

use crate::ctc::{to_ctc, TrackedRoi};
use crate::error::{Error, Result};
use crate::lineage_pictures::{lineage_tree, Marks};
use crate::results::{self, PositionResults};
use crate::rotation::{rotation_matrix, warp_affine_nearest};
use crate::table;

/// What to write besides the results file and the table.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct OutputOptions {
    /// Full-frame label images (`PositionNNNNNN_labels/`).
    pub labels: bool,
    /// The lineage picture (`PositionNNNNNN.png`).
    pub lineage_picture: bool,
    /// The results movie (`PositionNNNNNN.mp4` through `ffmpeg`, else an animated
    /// `PositionNNNNNN_movie.png`), drawn by [`crate::run::Run::position`], which has the movie.
    pub movie: bool,
}

impl Default for OutputOptions {
    fn default() -> Self {
        OutputOptions {
            labels: true,
            lineage_picture: true,
            movie: true,
        }
    }
}

/// The results file of position `position_nb` in `dir`.
pub fn results_path(dir: &Path, position_nb: u32) -> PathBuf {
    dir.join(results::file_name(position_nb))
}

/// The folder of full-frame label images of position `position_nb` in `dir`.
pub fn labels_dir(dir: &Path, position_nb: u32) -> PathBuf {
    dir.join(format!("Position{position_nb:06}_labels"))
}

/// Writes a position's outputs into `dir` (which must exist): table, label images, lineage
/// picture, then the results file. Returns the paths written.
pub fn write_position(
    dir: &Path,
    position: &PositionResults,
    options: OutputOptions,
) -> Result<Vec<PathBuf>> {
    let nc = results_path(dir, position.position_nb);
    let csv = nc.with_extension("csv");
    let mut written = Vec::new();
    table::write_table(&csv, position)?;
    written.push(csv);
    if options.labels {
        let folder = labels_dir(dir, position.position_nb);
        write_labels(&folder, position)?;
        written.push(folder);
    }
    if options.lineage_picture {
        let png = nc.with_extension("png");
        lineage_picture(position)?.save(&png)?;
        written.push(png);
    }
    position.write(&nc)?;
    written.push(nc);
    Ok(written)
}

/// Full-frame label images (DeLTA's `Position.labels(undo_corrections=True)`): each ROI's
/// labels pasted at its box (a later ROI over an earlier one where boxes overlap), then the
/// drift and the rotation undone with nearest-neighbour interpolation, so that the labels
/// lie over the movie's own frames. Cell ids are per ROI, as in DeLTA.
pub fn full_frame_labels(position: &PositionResults) -> Result<Vec<Plane<u16>>> {
    let (h, w) = position.shape;
    let frames = position.rois.first().map_or(0, |r| r.frames());
    let mut out = Vec::with_capacity(frames);
    for t in 0..frames {
        let mut frame = Plane::filled(h, w, 0u16);
        for roi in &position.rois {
            let (rh, rw) = roi.labels.plane_shape();
            let patch = Plane::from_vec(rh, rw, roi.labels.frame(t).to_vec())?;
            let b = roi.bbox;
            deltacell_data::tiles::CroppingBox {
                xtl: b.xtl,
                ytl: b.ytl,
                xbr: b.xbr,
                ybr: b.ybr,
            }
            .paste(&mut frame, &patch);
        }
        let shift = position
            .drift
            .get(t)
            .map_or((0.0, 0.0), |&(x, y)| (-(x as f64), -(y as f64)));
        if shift != (0.0, 0.0) || position.rotate != 0.0 {
            frame = warp_nearest(&frame, -position.rotate, shift);
        }
        out.push(frame);
    }
    Ok(out)
}

fn write_labels(folder: &Path, position: &PositionResults) -> Result<()> {
    let frames = full_frame_labels(position)?;
    // Into a temporary folder renamed into place: the folder appears complete or not at all.
    // Named as deltacell's temporary files: a later run removes it if this process is killed.
    let parent = folder.parent().unwrap_or(Path::new("."));
    let tmp = deltacell_data::output::temp_dir_in(parent)?;
    for (t, plane) in frames.iter().enumerate() {
        deltacell_data::io::write_tiff_u16(
            tmp.path().join(format!("labels_{t:03}.tif")),
            std::slice::from_ref(plane),
        )?;
    }
    if folder.exists() {
        std::fs::remove_dir_all(folder).map_err(|e| deltacell_data::Error::io(folder, e))?;
    }
    let kept = tmp.keep();
    std::fs::rename(&kept, folder).map_err(|e| deltacell_data::Error::io(folder, e))?;
    Ok(())
}

/// The lineage trees of a position's ROIs, top to bottom (DeLTA's `PositionNNNNNN.png`).
pub fn lineage_picture(position: &PositionResults) -> Result<deltacell_data::report::RgbImage> {
    let mut rows = Vec::with_capacity(position.rois.len());
    for roi in &position.rois {
        let (h, w) = roi.labels.plane_shape();
        let labels = (0..roi.labels.frames())
            .map(|t| {
                let data = roi.labels.frame(t).iter().map(|&v| u32::from(v)).collect();
                Ok(deltacell_data::Labels::from_plane(Plane::from_vec(
                    h, w, data,
                )?))
            })
            .collect::<Result<Vec<_>>>()?;
        let seq = to_ctc(&TrackedRoi {
            lineage: roi.lineage.clone(),
            labels,
        })
        .map_err(|e| Error::InvalidResults {
            roi: roi.roi_nb,
            problem: e.to_string(),
        })?;
        rows.push(vec![lineage_tree(&seq, roi.frames(), &Marks::default())]);
    }
    Ok(grid(&rows, 4, [255, 255, 255]))
}

/// DeLTA's `affine_transform(labels, shift, angle, order=0)`: a turn by `angle` degrees about
/// the centre, then a shift by `(x, y)`, nearest neighbour.
fn warp_nearest(plane: &Plane<u16>, angle: f64, shift: (f64, f64)) -> Plane<u16> {
    let (h, w) = plane.shape();
    let centre = ((w as f64 - 1.0) / 2.0, (h as f64 - 1.0) / 2.0);
    let mut m = rotation_matrix(centre, angle, 1.0);
    m[2] -= shift.0;
    m[5] -= shift.1;
    warp_affine_nearest(plane, &m)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn warp_nearest_is_the_identity_without_rotation_and_shifts_by_whole_pixels() {
        let p = Plane::from_fn(5, 7, |r, c| (r * 7 + c) as u16);
        assert_eq!(warp_nearest(&p, 0.0, (0.0, 0.0)), p);
        // Shift (x, y) = (2, 1): destination (r, c) takes source (r + 1, c + 2), replicated
        // at the borders.
        let s = warp_nearest(&p, 0.0, (2.0, 1.0));
        assert_eq!(s.get(0, 0), p.get(1, 2));
        assert_eq!(s.get(4, 6), p.get(4, 6));
        assert_eq!(s.get(2, 3), p.get(3, 5));
    }

    #[test]
    fn warp_nearest_turns_a_square_image_by_ninety_degrees() {
        let p = Plane::from_fn(3, 3, |r, c| (r * 3 + c) as u16);
        // 90° counter-clockwise on screen: the top row becomes the left column, reversed.
        let r = warp_nearest(&p, 90.0, (0.0, 0.0));
        assert_eq!(r.row(0), &[2, 5, 8]);
        assert_eq!(r.row(2), &[0, 3, 6]);
    }
}
