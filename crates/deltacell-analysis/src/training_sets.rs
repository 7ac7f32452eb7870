//! Training sets from results: a movie analysed by DeLTA (or by deltacell, or corrected by hand
//! and saved as `PositionNNNNNN.nc`) becomes a segmentation, tracking or chamber (ROI) training
//! set in DeLTA's layout, to retrain the U-Nets on the lab's own microscope.
//!
//! | function | layout (folders under `OUT`) | one sample per |
//! |---|---|---|
//! | [`write_seg_set`] | `img/` ROI image, `seg/` its cells | ROI and frame |
//! | [`write_track_set`] | `previmg/`, `seg/`, `img/`, `segall/`, `mot_dau/` | cell of frame t−1, t ≥ 1 |
//! | [`write_rois_set`] | `img/` whole frame, `seg/` the chambers | position (or frame) |
//!
//! # What the files hold
//! * Images (`img/`, `previmg/`) are the ROI's `img_stack` plane as the results hold it (DeLTA
//!   stretches each ROI image to `[0, 1]`), written as 16-bit PNG (`round(v·65535)`).
//! * Masks are 8-bit PNG, 0 / 255. A frame's cells ([`training_mask`]) are its label image with
//!   the pixels where two cells touch cleared: a cell pixel with an 8-neighbour of another cell
//!   becomes background, on both sides (DeLTA's `detect_touching_cells`, which its training
//!   generators apply to every augmented mask), so that every two cells are apart by at least
//!   one background pixel, as in DeLTA's hand-made training sets.
//! * Tracking ([`track_samples`]): for every frame t ≥ 1 and every cell of frame t−1, `previmg/`
//!   frame t−1, `seg/` that cell at t−1 (the *seed*), `img/` frame t, `segall/` every cell at t,
//!   `mot_dau/` the seed cell at t and, when it divided at t, its daughter (from the lineage;
//!   empty when the cell left the ROI). Cells are numbered from 1 in raster order of their
//!   first pixel in the mask of frame t−1: the numbering of DeLTA's
//!   `predict_compile_from_seg_track` (4-connected labels in raster order) whenever every cell is
//!   one piece. A cell in two pieces (DeLTA's label stacks have a few) makes one sample whose
//!   seed holds both, where DeLTA's prediction would see two seeds.
//! * Chambers ([`write_rois_set`]): the position's reference frame (the first frame of its
//!   ROIs, phase-contrast channel) from the movie, or every frame ([`RoisFrames`]), rotated by
//!   the results' `rotate` angle as DeLTA rotates it before its ROI model sees it
//!   (`imgops.affine_transform`, bilinear, replicated border), written with its grey values
//!   (16-bit); `seg/` fills each chamber rectangle, recovered from the ROI's box
//!   ([`chamber_box`]) and moved by the frame's drift.
//!
//! # File names
//! DeLTA's prototype with six-digit numbers: `Position{p:06}_Chamber{c:06}_Frame{t:06}.png`,
//! with `c` the ROI's number + 1 (DeLTA's cropped chambers count from 1) and `t` the movie's
//! frame number (the results' `frame` coordinate); tracking samples add DeLTA's `Cell{n:06}`
//! to the name of frame t−1 (`…Frame000004Cell000002.png`, [`deltacell_data::names`]). Chamber
//! samples have no chamber: `Position{p:06}_Frame{t:06}.png`.
//!
//! # Output folder
//! Refused when it is, holds or lies inside one of [`OutputOptions::inputs`], and when it exists
//! and is not empty unless [`OutputOptions::force`] (then files of the same names are replaced
//! and others stay). Every file is written atomically; the ROIs of a position are written in
//! parallel (rayon's pool), which matters because an atomic write waits for the disk (DeLTA's
//! movie of 18 chambers × 10 frames makes 828 tracking samples, 4140 files). Check a set with
//! [`deltacell_data::check::check`] (`deltacell check DIR --kind …`).

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use deltacell_data::augment::elastic::clear_touching;
use deltacell_data::augment::geometric::{warp_bilinear, Affine};
use deltacell_data::io::{self, Depth};
use deltacell_data::names::{FileOrder, FrameId, Prototype};
use deltacell_data::{Image, Kind, Labels, Mask, Plane};
use rayon::prelude::*;

use crate::error::{Error, Result};
use crate::lineage::{CellId, Lineage};
use crate::movie::Movie;
use crate::results::{CropBox, PositionResults, RoiResults};

/// Names of ROI samples: DeLTA's mother-machine prototype.
const CHAMBER_PROTOTYPE: &str = "Position%06d_Chamber%06d_Frame%06d.png";
/// Names of chamber (ROI-model) samples: a whole frame has no chamber.
const FRAME_PROTOTYPE: &str = "Position%06d_Frame%06d.png";

/// Where and how a set is written.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct OutputOptions {
    /// Write into a folder that is not empty, replacing files of the same names.
    pub force: bool,
    /// The input files and folders (results files, the movie): an output folder that is, holds
    /// or lies inside one of them is refused. Paths that do not exist are ignored.
    pub inputs: Vec<PathBuf>,
}

/// What a writer wrote.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SetSummary {
    /// The layout.
    pub kind: Kind,
    /// Samples written (files per folder).
    pub samples: usize,
    /// ROIs (or, for chambers, positions) the samples come from.
    pub sources: usize,
    /// Samples whose target mask (`seg/`, or `mot_dau/` for tracking) has no cell pixel.
    pub empty_targets: usize,
}

/// One tracking sample: a cell of frame t−1 and where it is at frame t.
#[derive(Clone, Debug, PartialEq)]
pub struct TrackSample {
    /// The sample's number in its frame (from 1, raster order of the cells' first pixels), the
    /// `Cell%06d` of its file name.
    pub number: u32,
    /// The cell's id in the lineage.
    pub cell: CellId,
    /// The cell at t−1 (`seg/`).
    pub seed: Mask,
    /// The cell at t and its daughter born at t (`mot_dau/`).
    pub mot_dau: Mask,
    /// The daughters born at t (usually none or one).
    pub daughters: Vec<CellId>,
}

/// A frame's cells as a training mask: the labelled pixels, less those with an 8-neighbour of
/// another cell (both sides of every contact), so that cells are apart by at least one
/// background pixel. Values 0/1.
///
/// ```
/// use deltacell_analysis::training_sets::training_mask;
/// use deltacell_data::{Labels, Plane};
/// // Two cells side by side in one row, and one alone below.
/// let labels = Labels::from_plane(Plane::from_vec(2, 4, vec![1, 1, 2, 2,
///                                                            0, 0, 0, 3]).unwrap());
/// let mask = training_mask(&labels);
/// assert_eq!(mask.as_slice(), &[1, 0, 0, 0,
///                               0, 0, 0, 0]);
/// ```
///
/// (Cell 3 touches cell 2 diagonally, so both lose the pixel where they meet.)
pub fn training_mask(labels: &Labels) -> Mask {
    clear_touching(labels)
}

/// The chamber rectangle inside a ROI box of DeLTA's ROI model, or `None` when `bbox` is not
/// one. DeLTA enlarges the bounding rectangle `(x, y, w, h)` of each detected chamber to
/// `xtl = x − int(0.05·w)`, `xbr = x + int(1.05·w)` (and the same in y); this inverts it (the
/// enlarged width `w + 2·int(0.05·w)` grows with `w`, so `w` is unique).
///
/// ```
/// use deltacell_analysis::{results::CropBox, training_sets::chamber_box};
/// let roi = CropBox { xtl: 20, ytl: 81, xbr: 44, ybr: 291 };
/// assert_eq!(chamber_box(&roi), Some(CropBox { xtl: 21, ytl: 90, xbr: 43, ybr: 282 }));
/// // 24 = 22 + 1 + 1 wide, 23 = 21 + 1 + 1 high.
/// assert_eq!(chamber_box(&CropBox { xtl: 0, ytl: 0, xbr: 24, ybr: 23 }).map(|b| b.shape()),
///            Some((21, 22)));
/// assert_eq!(chamber_box(&CropBox { xtl: 0, ytl: 0, xbr: 0, ybr: 10 }), None);
/// ```
pub fn chamber_box(bbox: &CropBox) -> Option<CropBox> {
    let (xtl, w) = invert_enlargement(bbox.xtl, bbox.xbr)?;
    let (ytl, h) = invert_enlargement(bbox.ytl, bbox.ybr)?;
    Some(CropBox {
        xtl,
        ytl,
        xbr: xtl + w,
        ybr: ytl + h,
    })
}

/// `(start, length)` of the rectangle that DeLTA enlarges to `[lo, hi)`.
fn invert_enlargement(lo: i64, hi: i64) -> Option<(i64, i64)> {
    // DeLTA's float products, truncated as Python's `int` does (positive values: floor).
    let margin = |w: i64| (0.05 * w as f64) as i64;
    let far = |w: i64| (1.05 * w as f64) as i64;
    (1..=hi - lo).find_map(|w| {
        let start = lo + margin(w);
        (start + far(w) == hi).then_some((start, w))
    })
}

/// The tracking samples of frame `frame` (≥ 1): one per cell of frame `frame − 1` that keeps
/// at least one pixel in its [`training_mask`], in raster order of those pixels. `prev` and
/// `cur` are the label images (cell ids, 0 = background) of frames `frame − 1` and `frame`, of
/// one size; `lineage` says which cells were born at `frame` and from whom (its frames are the
/// same 0-based indices).
///
/// ```
/// use deltacell_analysis::{training_sets::track_samples, Lineage};
/// use deltacell_data::{Labels, Plane};
/// // A 6×1 ROI: cell 1 fills it at frame 0; at frame 1 it has divided into 1 (top) and 2.
/// let prev = Labels::from_plane(Plane::from_vec(6, 1, vec![1, 1, 1, 1, 1, 1]).unwrap());
/// let cur = Labels::from_plane(Plane::from_vec(6, 1, vec![1, 1, 0, 2, 2, 2]).unwrap());
/// let mut lineage = Lineage::default();
/// let mother = lineage.new_cell(0, None);
/// lineage.extend(mother, 1);
/// lineage.new_cell(1, Some(mother));
/// let samples = track_samples(&prev, &cur, &lineage, 1);
/// assert_eq!(samples.len(), 1);
/// assert_eq!((samples[0].number, samples[0].cell, samples[0].daughters.clone()), (1, 1, vec![2]));
/// assert_eq!(samples[0].seed.as_slice(), &[1, 1, 1, 1, 1, 1]);
/// assert_eq!(samples[0].mot_dau.as_slice(), &[1, 1, 0, 1, 1, 1]);
/// ```
pub fn track_samples(
    prev: &Labels,
    cur: &Labels,
    lineage: &Lineage,
    frame: usize,
) -> Vec<TrackSample> {
    let (h, w) = prev.shape();
    let prev_mask = training_mask(prev);
    let cur_mask = training_mask(cur);
    // The kept pixels of each cell, cells in raster order of their first kept pixel.
    let mut order: Vec<CellId> = Vec::new();
    let mut prev_pixels: HashMap<CellId, Vec<usize>> = HashMap::new();
    for (i, (&id, &m)) in prev.as_slice().iter().zip(prev_mask.as_slice()).enumerate() {
        if m != 0 {
            prev_pixels
                .entry(id)
                .or_insert_with(|| {
                    order.push(id);
                    Vec::new()
                })
                .push(i);
        }
    }
    let mut cur_pixels: HashMap<CellId, Vec<usize>> = HashMap::new();
    for (i, (&id, &m)) in cur.as_slice().iter().zip(cur_mask.as_slice()).enumerate() {
        if m != 0 {
            cur_pixels.entry(id).or_default().push(i);
        }
    }
    let paint = |cells: &[CellId], pixels: &HashMap<CellId, Vec<usize>>| {
        let mut plane = Plane::filled(h, w, 0u8);
        let out = plane.as_mut_slice();
        for id in cells {
            for &i in pixels.get(id).map_or(&[][..], Vec::as_slice) {
                out[i] = 1;
            }
        }
        Mask::from_plane(plane)
    };
    order
        .iter()
        .zip(1u32..)
        .map(|(&cell, number)| {
            let daughters: Vec<CellId> = lineage
                .cell(cell)
                .map(|c| {
                    c.divisions
                        .iter()
                        .filter(|(f, _)| *f == frame)
                        .map(|(_, d)| *d)
                        .collect()
                })
                .unwrap_or_default();
            let mut targets = vec![cell];
            targets.extend(&daughters);
            TrackSample {
                number,
                cell,
                seed: paint(&[cell], &prev_pixels),
                mot_dau: paint(&targets, &cur_pixels),
                daughters,
            }
        })
        .collect()
}

/// Writes the segmentation set of `results` into `out` (`img/`, `seg/`): one sample per ROI
/// and frame (see the module docs).
///
/// Errors: an output folder refused ([`OutputOptions`]), two results of one position or a
/// frame number below 0 ([`Error::TrainingSet`]), a label stack whose size differs from the
/// image stack's ([`Error::InvalidResults`]), a file that cannot be written.
pub fn write_seg_set(
    results: &[PositionResults],
    out: &Path,
    options: &OutputOptions,
) -> Result<SetSummary> {
    write_set(results, out, options, Kind::Seg, &["img", "seg"], seg_roi)
}

/// Writes the tracking set of `results` into `out` (`previmg/`, `seg/`, `img/`, `segall/`,
/// `mot_dau/`): one sample per cell of frame t−1 for every frame t ≥ 1 of every ROI
/// ([`track_samples`]).
///
/// Errors: as [`write_seg_set`].
pub fn write_track_set(
    results: &[PositionResults],
    out: &Path,
    options: &OutputOptions,
) -> Result<SetSummary> {
    write_set(
        results,
        out,
        options,
        Kind::Track,
        &["previmg", "seg", "img", "segall", "mot_dau"],
        track_roi,
    )
}

/// Writes one ROI's samples into the set's folders; returns its samples and empty targets.
type RoiWriter =
    fn(&PositionResults, &RoiResults, &Prototype, &[PathBuf]) -> Result<(usize, usize)>;

/// One writer per ROI (`per_roi` returns its samples and empty targets), the ROIs of each
/// position in parallel, into the folders `folders` of `out`.
fn write_set(
    results: &[PositionResults],
    out: &Path,
    options: &OutputOptions,
    kind: Kind,
    folders: &[&str],
    per_roi: RoiWriter,
) -> Result<SetSummary> {
    check_positions(results)?;
    let dirs = prepare(out, options, folders)?;
    let names = Prototype::from_printf(CHAMBER_PROTOTYPE, FileOrder::Pct)?;
    let mut summary = SetSummary {
        kind,
        samples: 0,
        sources: 0,
        empty_targets: 0,
    };
    for position in results {
        let counts: Vec<(usize, usize)> = position
            .rois
            .par_iter()
            .map(|roi| per_roi(position, roi, &names, &dirs))
            .collect::<Result<_>>()?;
        summary.add(&counts);
    }
    Ok(summary)
}

/// Which frames of each position a chamber set holds.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum RoisFrames {
    /// The reference only (the first frame of the position's ROIs): the image DeLTA's ROI model
    /// saw.
    #[default]
    Reference,
    /// Every frame of the ROIs, the chambers moved by the results' drift of each frame.
    Every,
}

/// Writes the chamber (ROI-model) set of `results` into `out` (`img/`, `seg/`): per position,
/// its reference frame or every frame (`frames`) read from `movie` (first channel), rotated by
/// the results' angle, and the mask of its chambers ([`chamber_box`] of every ROI box, moved by
/// the frame's drift, clipped to the frame).
///
/// DeLTA rotates every frame, then shifts it by its drift `(x, y)` (content moves left / up)
/// before it crops the boxes; here the rotated frame is kept whole and the chambers are moved
/// by `(+x, +y)` instead, so that no border is replicated into the image.
///
/// Errors: as [`write_seg_set`]; a position or frame that the movie lacks or a frame of
/// another size than the results' ([`Error::Movie`], [`Error::FrameSize`]); a position
/// without ROIs, a ROI that is the whole frame (a 2-D movie, analysed without ROI model), a box
/// that is not a chamber box or a drift shorter than the ROIs' frames ([`Error::TrainingSet`]).
pub fn write_rois_set(
    results: &[PositionResults],
    movie: &Movie,
    frames: RoisFrames,
    out: &Path,
    options: &OutputOptions,
) -> Result<SetSummary> {
    check_positions(results)?;
    let dirs = prepare(out, options, &["img", "seg"])?;
    let names = Prototype::from_printf(FRAME_PROTOTYPE, FileOrder::Pt)?;
    let channel = *movie.channels.first().ok_or_else(|| Error::Movie {
        input: movie.input().to_path_buf(),
        problem: "the movie has no channel".into(),
    })?;
    let mut summary = SetSummary {
        kind: Kind::Rois,
        samples: 0,
        sources: 0,
        empty_targets: 0,
    };
    for position in results {
        let bad = |roi: Option<u32>, problem: String| Error::TrainingSet {
            position: position.position_nb,
            roi,
            problem,
        };
        let first = position
            .rois
            .first()
            .ok_or_else(|| bad(None, "no ROI: nothing to mark as chambers".into()))?;
        let count = match frames {
            RoisFrames::Reference => 1,
            RoisFrames::Every => first.frames(),
        };
        if !position.drift.is_empty() && position.drift.len() < count {
            return Err(bad(
                None,
                format!(
                    "a drift for {} frames, the ROIs have {count}",
                    position.drift.len()
                ),
            ));
        }
        let (h, w) = position.shape;
        let chambers = position
            .rois
            .iter()
            .map(|roi| {
                let b = roi.bbox;
                if (b.xtl, b.ytl, b.xbr, b.ybr) == (0, 0, w as i64, h as i64) {
                    return Err(bad(
                        Some(roi.roi_nb),
                        "the ROI is the whole frame: a movie without chambers (no ROI model)"
                            .into(),
                    ));
                }
                chamber_box(&b).ok_or_else(|| {
                    bad(
                        Some(roi.roi_nb),
                        format!(
                            "box {} is not a chamber box of DeLTA's ROI model (a bounding \
                             rectangle enlarged by 5 %)",
                            roi.bbox.to_attribute()
                        ),
                    )
                })
            })
            .collect::<Result<Vec<CropBox>>>()?;
        for t in 0..count {
            let number = i64::from(first.first_frame) + t as i64;
            let frame = u32::try_from(number).map_err(|_| {
                bad(
                    Some(first.roi_nb),
                    format!("frame number {number} is out of range"),
                )
            })?;
            let plane = movie.frame(position.position_nb, channel, frame, Some(position.shape))?;
            let plane = if position.rotate == 0.0 {
                plane
            } else {
                warp_bilinear(
                    &plane,
                    &Affine::delta(position.shape, position.rotate, 1.0, (0.0, 0.0)),
                )
            };
            let (dx, dy) = position.drift.get(t).copied().unwrap_or((0, 0));
            let mut mask = Plane::filled(h, w, 0u8);
            let clip = |v: i64, n: usize| v.clamp(0, n as i64) as usize;
            for c in &chambers {
                let (x0, x1) = (clip(c.xtl + dx, w), clip(c.xbr + dx, w));
                for r in clip(c.ytl + dy, h)..clip(c.ybr + dy, h) {
                    mask.row_mut(r)[x0..x1].fill(1);
                }
            }
            let mask = Mask::from_plane(mask);
            let name = names.format(&FrameId {
                position: u64::from(position.position_nb),
                chamber: 0,
                frame: u64::from(frame),
            });
            io::write_image(dirs[0].join(&name), &Image::from_plane(plane), Depth::U16)?;
            io::write_mask(dirs[1].join(&name), &mask)?;
            summary.empty_targets += usize::from(mask.count() == 0);
            summary.samples += 1;
        }
        summary.sources += 1;
    }
    Ok(summary)
}

/// Writes one ROI's segmentation samples; `(samples, empty masks)`.
fn seg_roi(
    position: &PositionResults,
    roi: &RoiResults,
    names: &Prototype,
    dirs: &[PathBuf],
) -> Result<(usize, usize)> {
    check_roi(position, roi)?;
    let mut empty = 0;
    for t in 0..roi.frames() {
        let name = names.format(&frame_id(position, roi, t)?);
        io::write_image(dirs[0].join(&name), &roi_image(roi, t)?, Depth::U16)?;
        let mask = training_mask(&roi_labels(roi, t)?);
        empty += usize::from(mask.count() == 0);
        io::write_mask(dirs[1].join(&name), &mask)?;
    }
    Ok((roi.frames(), empty))
}

/// Writes one ROI's tracking samples; `(samples, empty mot_dau masks)`.
fn track_roi(
    position: &PositionResults,
    roi: &RoiResults,
    names: &Prototype,
    dirs: &[PathBuf],
) -> Result<(usize, usize)> {
    check_roi(position, roi)?;
    let (mut samples, mut empty) = (0, 0);
    let mut prev = match roi.frames() {
        0 => None,
        _ => Some((roi_image(roi, 0)?, roi_labels(roi, 0)?)),
    };
    for t in 1..roi.frames() {
        let cur = (roi_image(roi, t)?, roi_labels(roi, t)?);
        if let Some((prev_img, prev_labels)) = &prev {
            let prev_id = frame_id(position, roi, t - 1)?;
            let segall = training_mask(&cur.1);
            for s in track_samples(prev_labels, &cur.1, &roi.lineage, t) {
                let name = names.format_cell(&prev_id, u64::from(s.number));
                io::write_image(dirs[0].join(&name), prev_img, Depth::U16)?;
                io::write_mask(dirs[1].join(&name), &s.seed)?;
                io::write_image(dirs[2].join(&name), &cur.0, Depth::U16)?;
                io::write_mask(dirs[3].join(&name), &segall)?;
                io::write_mask(dirs[4].join(&name), &s.mot_dau)?;
                empty += usize::from(s.mot_dau.count() == 0);
                samples += 1;
            }
        }
        prev = Some(cur);
    }
    Ok((samples, empty))
}

impl SetSummary {
    /// Adds the `(samples, empty targets)` of some ROIs.
    fn add(&mut self, counts: &[(usize, usize)]) {
        for (samples, empty) in counts {
            self.samples += samples;
            self.empty_targets += empty;
            self.sources += 1;
        }
    }
}

/// Refuses two results of one position (their samples would overwrite each other).
fn check_positions(results: &[PositionResults]) -> Result<()> {
    let mut seen = std::collections::BTreeSet::new();
    for p in results {
        if !seen.insert(p.position_nb) {
            return Err(Error::TrainingSet {
                position: p.position_nb,
                roi: None,
                problem: "given twice: the samples of both would have the same file names".into(),
            });
        }
    }
    Ok(())
}

/// Checks and creates the output folder and its sub-folders.
fn prepare(out: &Path, options: &OutputOptions, folders: &[&str]) -> Result<Vec<PathBuf>> {
    let inputs: Vec<&Path> = options.inputs.iter().map(PathBuf::as_path).collect();
    deltacell_data::output::ensure_outside_inputs(out, &inputs)?;
    if !options.force {
        deltacell_data::synth::ensure_empty_output(out)?;
    }
    deltacell_data::output::prepare_dir(out, &inputs)?;
    folders
        .iter()
        .map(|f| {
            let dir = out.join(f);
            std::fs::create_dir_all(&dir).map_err(|e| deltacell_data::Error::io(&dir, e))?;
            Ok(dir)
        })
        .collect()
}

/// Checks that a ROI's label stack matches its image stack.
fn check_roi(position: &PositionResults, roi: &RoiResults) -> Result<()> {
    if roi.labels.frames() != roi.img.frames() || roi.labels.plane_shape() != roi.img.plane_shape()
    {
        return Err(Error::InvalidResults {
            roi: roi.roi_nb,
            problem: format!(
                "position {}: the label stack has {} frames of {:?}, the image stack {} of {:?}",
                position.position_nb,
                roi.labels.frames(),
                roi.labels.plane_shape(),
                roi.img.frames(),
                roi.img.plane_shape()
            ),
        });
    }
    Ok(())
}

/// The file-name numbers of a ROI's frame index `t`.
fn frame_id(position: &PositionResults, roi: &RoiResults, t: usize) -> Result<FrameId> {
    let number = i64::from(roi.first_frame) + t as i64;
    let frame = u64::try_from(number).map_err(|_| Error::TrainingSet {
        position: position.position_nb,
        roi: Some(roi.roi_nb),
        problem: format!("frame number {number} is below 0"),
    })?;
    Ok(FrameId {
        position: u64::from(position.position_nb),
        chamber: u64::from(roi.roi_nb) + 1,
        frame,
    })
}

/// The ROI's image at frame index `t` (values clamped to `[0, 1]`).
fn roi_image(roi: &RoiResults, t: usize) -> Result<Image> {
    let (h, w) = roi.img.plane_shape();
    Ok(Image::from_plane(Plane::from_vec(
        h,
        w,
        roi.img.frame(t).to_vec(),
    )?))
}

/// The ROI's cell ids at frame index `t`.
fn roi_labels(roi: &RoiResults, t: usize) -> Result<Labels> {
    let (h, w) = roi.labels.plane_shape();
    let ids = roi.labels.frame(t).iter().map(|&v| u32::from(v)).collect();
    Ok(Labels::from_plane(Plane::from_vec(h, w, ids)?))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::results::Stack;
    use deltacell_data::layout::TrainingSet;
    use std::collections::BTreeMap;

    /// A 6×2 ROI over 2 frames: cell 1 alone, then divided into 1 (top) and 2 (touching it).
    fn tiny_position() -> PositionResults {
        #[rustfmt::skip]
        let labels = vec![
            0, 0,  1, 1,  1, 1,  1, 1,  1, 1,  0, 0,
            1, 1,  1, 1,  1, 1,  2, 2,  2, 2,  2, 2,
        ];
        let img: Vec<f32> = (0..24).map(|i| i as f32 / 23.0).collect();
        let mut lineage = Lineage::default();
        let mother = lineage.new_cell(0, None);
        lineage.extend(mother, 1);
        lineage.new_cell(1, Some(mother));
        let roi = RoiResults {
            roi_nb: 2,
            bbox: CropBox {
                xtl: 0,
                ytl: 0,
                xbr: 2,
                ybr: 6,
            },
            scaling: [1.0, 1.0],
            config: String::new(),
            version: String::new(),
            model_hashes: Vec::new(),
            first_frame: 4,
            img: Stack::from_vec(2, 6, 2, img).unwrap(),
            fluo_channels: Vec::new(),
            fluo: Stack::zeros(0, 6, 2),
            seg: Stack::zeros(2, 6, 2),
            labels: Stack::from_vec(2, 6, 2, labels).unwrap(),
            lineage,
            features: BTreeMap::new(),
        };
        PositionResults {
            position_nb: 3,
            rotate: 0.0,
            shape: (6, 2),
            config: String::new(),
            drift: Vec::new(),
            version: String::new(),
            rois: vec![roi],
        }
    }

    fn read_mask(path: &Path) -> Vec<u8> {
        io::read_mask(path).unwrap().as_slice().to_vec()
    }

    #[test]
    fn seg_and_track_sets_of_a_tiny_roi() {
        let dir = tempfile::tempdir().unwrap();
        let results = [tiny_position()];
        let seg =
            write_seg_set(&results, &dir.path().join("seg"), &OutputOptions::default()).unwrap();
        assert_eq!((seg.samples, seg.sources, seg.empty_targets), (2, 1, 0));
        let set = TrainingSet::discover(dir.path().join("seg"), Some(Kind::Seg)).unwrap();
        let report = deltacell_data::check::check(&set);
        assert!(report.problems().is_empty(), "{:?}", report.problems());
        assert_eq!(report.samples, 2);
        let name = "Position000003_Chamber000003_Frame000005.png";
        // Frame 1: rows 2 and 3 touch (cells 1 and 2) and are cleared.
        #[rustfmt::skip]
        assert_eq!(read_mask(&dir.path().join("seg/seg").join(name)),
                   [1, 1,  1, 1,  0, 0,  0, 0,  1, 1,  1, 1]);
        let img =
            io::read_image(dir.path().join("seg/img").join(name), io::Rescale::DtypeMax).unwrap();
        assert!((img.as_slice()[0] - 12.0 / 23.0).abs() < 1e-4);

        let track = write_track_set(
            &results,
            &dir.path().join("track"),
            &OutputOptions::default(),
        )
        .unwrap();
        assert_eq!((track.samples, track.empty_targets), (1, 0));
        let set = TrainingSet::discover(dir.path().join("track"), Some(Kind::Track)).unwrap();
        let report = deltacell_data::check::check(&set);
        assert!(report.problems().is_empty(), "{:?}", report.problems());
        let name = "Position000003_Chamber000003_Frame000004Cell000001.png";
        #[rustfmt::skip]
        assert_eq!(read_mask(&dir.path().join("track/mot_dau").join(name)),
                   [1, 1,  1, 1,  0, 0,  0, 0,  1, 1,  1, 1]);
        #[rustfmt::skip]
        assert_eq!(read_mask(&dir.path().join("track/seg").join(name)),
                   [0, 0,  1, 1,  1, 1,  1, 1,  1, 1,  0, 0]);
    }

    #[test]
    fn used_folders_and_repeated_positions_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("x.txt"), "x").unwrap();
        let results = [tiny_position()];
        let used = write_seg_set(&results, dir.path(), &OutputOptions::default());
        assert!(matches!(
            used,
            Err(Error::Data(deltacell_data::Error::OutputNotEmpty { .. }))
        ));
        let forced = OutputOptions {
            force: true,
            inputs: Vec::new(),
        };
        assert_eq!(
            write_seg_set(&results, dir.path(), &forced)
                .unwrap()
                .samples,
            2
        );
        let inside = OutputOptions {
            force: true,
            inputs: vec![dir.path().to_path_buf()],
        };
        let e = write_seg_set(&results, &dir.path().join("out"), &inside);
        assert!(matches!(
            e,
            Err(Error::Data(deltacell_data::Error::OutputInsideInput { .. }))
        ));
        let twice = [tiny_position(), tiny_position()];
        let e = write_track_set(&twice, &dir.path().join("t"), &OutputOptions::default());
        assert!(matches!(e, Err(Error::TrainingSet { position: 3, .. })));
        assert!(!dir.path().join("t").exists());
    }

    #[test]
    fn chamber_boxes_invert_deltas_enlargement() {
        for x in [-7i64, 0, 13] {
            for w in 1..400i64 {
                let b = CropBox {
                    xtl: x - (0.05 * w as f64) as i64,
                    ytl: 2 * x - (0.05 * (w + 3) as f64) as i64,
                    xbr: x + (1.05 * w as f64) as i64,
                    ybr: 2 * x + (1.05 * (w + 3) as f64) as i64,
                };
                let c = CropBox {
                    xtl: x,
                    ytl: 2 * x,
                    xbr: x + w,
                    ybr: 2 * x + w + 3,
                };
                assert_eq!(chamber_box(&b), Some(c), "w = {w}");
            }
        }
    }
}
