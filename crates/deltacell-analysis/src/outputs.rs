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
//!
//! [`write_position`] writes them from results in memory; [`PositionOutputs`] as the frames
//! are analysed ([`crate::pipeline::stream_position`], `deltacell run`): the results file frame
//! by frame ([`crate::results_writer`]) and the label images one per frame, under temporary
//! names in the folder, renamed into place once the position is done (the results file last);
//! the lineage picture from the cells present in each frame, the table from the lineages and
//! features, and the movie ([`crate::run::Run::position`]) in a second pass over the movie's
//! frames with the labels read back from the results file. Memory holds one frame's planes,
//! whatever the movie's length.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use deltacell_data::report::grid;
use deltacell_data::Plane;

use crate::ctc::{ctc_tracks, present_ids, CtcSequence};
use crate::error::{Error, Result};
use crate::lineage_pictures::{lineage_tree, Marks};
use crate::pipeline::{FrameSink, RoiFrame};
use crate::results::{self, CropBox, PositionResults};
use crate::results_movie::{widen_range, EMPTY_RANGE};
use crate::results_writer::{PositionLayout, ResultsWriter, RoiCells, RoiPlanes};
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
    let frames = position.rois.first().map_or(0, |r| r.frames());
    let mut out = Vec::with_capacity(frames);
    for t in 0..frames {
        let patches = position
            .rois
            .iter()
            .map(|roi| {
                let (rh, rw) = roi.labels.plane_shape();
                Ok((
                    roi.bbox,
                    Plane::from_vec(rh, rw, roi.labels.frame(t).to_vec())?,
                ))
            })
            .collect::<Result<Vec<_>>>()?;
        out.push(full_frame_label(
            position.shape,
            position.rotate,
            position.drift.get(t).copied(),
            &patches,
        ));
    }
    Ok(out)
}

/// One frame of [`full_frame_labels`]: the ROIs' label planes (`(box, labels)`, in ROI order)
/// pasted on a frame of `shape`, then the frame's `drift` (`(x, y)`, pixels) and the rotation
/// `rotate` (degrees) undone.
pub fn full_frame_label(
    shape: (usize, usize),
    rotate: f64,
    drift: Option<(i64, i64)>,
    patches: &[(CropBox, Plane<u16>)],
) -> Plane<u16> {
    let (h, w) = shape;
    let mut frame = Plane::filled(h, w, 0u16);
    for (b, patch) in patches {
        deltacell_data::tiles::CroppingBox {
            xtl: b.xtl,
            ytl: b.ytl,
            xbr: b.xbr,
            ybr: b.ybr,
        }
        .paste(&mut frame, patch);
    }
    let shift = drift.map_or((0.0, 0.0), |(x, y)| (-(x as f64), -(y as f64)));
    if shift != (0.0, 0.0) || rotate != 0.0 {
        frame = warp_nearest(&frame, -rotate, shift);
    }
    frame
}

/// The name of frame index `t`'s label image in a labels folder.
fn label_file(t: usize) -> String {
    format!("labels_{t:03}.tif")
}

/// Renames a filled temporary folder to `folder`, replacing an earlier one.
fn put_folder(tmp: tempfile::TempDir, folder: &Path) -> Result<()> {
    if folder.exists() {
        std::fs::remove_dir_all(folder).map_err(|e| deltacell_data::Error::io(folder, e))?;
    }
    let kept = tmp.keep();
    std::fs::rename(&kept, folder).map_err(|e| deltacell_data::Error::io(folder, e))?;
    Ok(())
}

fn write_labels(folder: &Path, position: &PositionResults) -> Result<()> {
    let frames = full_frame_labels(position)?;
    // Into a temporary folder renamed into place: the folder appears complete or not at all.
    // Named as deltacell's temporary files: a later run removes it if this process is killed.
    let parent = folder.parent().unwrap_or(Path::new("."));
    let tmp = deltacell_data::output::temp_dir_in(parent)?;
    for (t, plane) in frames.iter().enumerate() {
        deltacell_data::io::write_tiff_u16(
            tmp.path().join(label_file(t)),
            std::slice::from_ref(plane),
        )?;
    }
    put_folder(tmp, folder)
}

/// The lineage trees of a position's ROIs, top to bottom (DeLTA's `PositionNNNNNN.png`).
pub fn lineage_picture(position: &PositionResults) -> Result<deltacell_data::report::RgbImage> {
    let present: Vec<Vec<BTreeSet<u32>>> = position
        .rois
        .iter()
        .map(|roi| {
            (0..roi.labels.frames())
                .map(|t| present_ids(roi.labels.frame(t)))
                .collect()
        })
        .collect();
    lineage_picture_of(position, &present)
}

/// [`lineage_picture`] from the ids present in each frame of each ROI's labels
/// ([`present_ids`], one list per ROI): for results whose label planes are not in memory.
pub fn lineage_picture_of(
    position: &PositionResults,
    present: &[Vec<BTreeSet<u32>>],
) -> Result<deltacell_data::report::RgbImage> {
    let mut rows = Vec::with_capacity(position.rois.len());
    for (roi, present) in position.rois.iter().zip(present) {
        let tracks = ctc_tracks(&roi.lineage, present).map_err(|e| Error::InvalidResults {
            roi: roi.roi_nb,
            problem: e.to_string(),
        })?;
        let seq = CtcSequence {
            tracks,
            masks: Vec::new(),
            seg: Vec::new(),
        };
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

/// A position's outputs written as its frames are done ([`FrameSink`]), for
/// [`crate::run::Run::position`]: the results file frame by frame ([`ResultsWriter`]) and the
/// full-frame label images into temporary names in the results folder; the ids present in
/// each label plane (for the lineage picture) and the movie's grey range are gathered on the
/// way. Nothing appears under a final name before [`PositionOutputs::commit`]; dropped before
/// (an error, a cancelled analysis), it removes its temporary files.
pub struct PositionOutputs {
    dir: PathBuf,
    options: OutputOptions,
    writer: Option<ResultsWriter>,
    labels: Option<tempfile::TempDir>,
    present: Vec<Vec<BTreeSet<u32>>>,
    range: (f32, f32),
}

impl PositionOutputs {
    /// Outputs into the folder `dir` (which must exist).
    pub fn new(dir: &Path, options: OutputOptions) -> PositionOutputs {
        PositionOutputs {
            dir: dir.to_path_buf(),
            options,
            writer: None,
            labels: None,
            present: Vec::new(),
            range: EMPTY_RANGE,
        }
    }

    fn writer(&mut self) -> Result<&mut ResultsWriter> {
        self.writer.as_mut().ok_or_else(|| Error::InvalidResults {
            roi: 0,
            problem: "no frame was analysed".into(),
        })
    }

    /// The grey range of the corrected phase-contrast frames seen (for the results movie,
    /// [`crate::results_movie::movie_frame`]); gathered only when the movie is asked for.
    pub fn movie_range(&self) -> (f32, f32) {
        self.range
    }

    /// The label plane of frame index `t` of the ROI of index `roi`, read back from the
    /// results file being written.
    pub fn labels(&mut self, roi: usize, t: usize) -> Result<Plane<u16>> {
        let writer = self.writer()?;
        let (h, w) = writer.layout().rois.get(roi).map_or((0, 0), |r| r.shape);
        let values = writer.read_labels(roi, t)?;
        Ok(Plane::from_vec(h, w, values)?)
    }

    /// Writes what the analysis gives at its end (drift, lineages, features) into the results
    /// file, still under its temporary name.
    pub fn end(&mut self, position: &PositionResults) -> Result<()> {
        let cells = RoiCells::of(position);
        self.writer()?.write_cells(&position.drift, &cells)
    }

    /// Writes the table and the lineage picture, renames the label images' folder into place,
    /// then the results file (last: a position whose `.nc` exists is complete). `position`:
    /// the analysis's results (hollow stacks are fine). Returns the paths written.
    pub fn commit(mut self, position: &PositionResults) -> Result<Vec<PathBuf>> {
        let writer = self.writer.take().ok_or_else(|| Error::InvalidResults {
            roi: 0,
            problem: "no frame was analysed".into(),
        })?;
        let nc = results_path(&self.dir, position.position_nb);
        let csv = nc.with_extension("csv");
        let mut written = Vec::new();
        table::write_table(&csv, position)?;
        written.push(csv);
        if let Some(tmp) = self.labels.take() {
            let folder = labels_dir(&self.dir, position.position_nb);
            put_folder(tmp, &folder)?;
            written.push(folder);
        }
        if self.options.lineage_picture {
            let png = nc.with_extension("png");
            lineage_picture_of(position, &self.present)?.save(&png)?;
            written.push(png);
        }
        writer.commit()?;
        written.push(nc);
        Ok(written)
    }
}

impl FrameSink for PositionOutputs {
    fn begin(&mut self, layout: &PositionLayout) -> Result<()> {
        let nc = results_path(&self.dir, layout.position_nb);
        self.writer = Some(ResultsWriter::create(&nc, layout)?);
        if self.options.labels {
            self.labels = Some(deltacell_data::output::temp_dir_in(&self.dir)?);
        }
        self.present = vec![Vec::new(); layout.rois.len()];
        self.range = EMPTY_RANGE;
        Ok(())
    }

    fn frame(
        &mut self,
        index: usize,
        phase: &Plane<f32>,
        drift: Option<(i64, i64)>,
        rois: &[RoiFrame<'_>],
    ) -> Result<()> {
        let writer = self.writer()?;
        let (shape, rotate) = (writer.layout().shape, writer.layout().rotate);
        let boxes: Vec<CropBox> = writer.layout().rois.iter().map(|r| r.bbox).collect();
        for (i, roi) in rois.iter().enumerate() {
            let fluo: Vec<f32> = roi
                .fluo
                .iter()
                .flat_map(|f| f.as_slice().iter().copied())
                .collect();
            let planes = RoiPlanes {
                img: roi.img.as_slice(),
                fluo: &fluo,
                seg: roi.seg.as_slice(),
                labels: roi.labels.as_slice(),
            };
            writer.write_frame(i, index, &planes)?;
        }
        for (present, roi) in self.present.iter_mut().zip(rois) {
            present.push(present_ids(roi.labels.as_slice()));
        }
        if let Some(tmp) = &self.labels {
            let patches: Vec<(CropBox, Plane<u16>)> = boxes
                .into_iter()
                .zip(rois)
                .map(|(b, r)| (b, r.labels.clone()))
                .collect();
            let frame = full_frame_label(shape, rotate, drift, &patches);
            deltacell_data::io::write_tiff_u16(
                tmp.path().join(label_file(index)),
                std::slice::from_ref(&frame),
            )?;
        }
        if self.options.movie {
            self.range = widen_range(self.range, phase);
        }
        Ok(())
    }
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
