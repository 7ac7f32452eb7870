//! The results movie: DeLTA's `PositionNNNNNN.mp4` (`Position.results_movie`), each frame of a
//! position with its cells' contours, poles and divisions drawn over it.
//!
//! What a frame shows, as DeLTA 3 draws it (`_position_to_movie`, `_draw_pole`):
//!
//! * the corrected phase-contrast frame, stretched over the whole movie's minimum–maximum to
//!   `[0, 1]` and truncated to 8 bits (`⌊255·v⌋`), grey;
//! * the text `frame NNNNNN` (the movie's frame number, 6 digits) in white at
//!   `(x, y) = (0.05·height, 0.97·height)` (bottom-left corner of the text);
//! * for every ROI and every cell of its label frame (cells in the order of their first pixel
//!   in a raster scan): the cell's contour (OpenCV's first external contour, 1 pixel wide) in
//!   the cell's colour; with [`MovieOptions::cell_ids`] (DeLTA's `--label-movie`) the cell's id
//!   in white at its centroid + 5 pixels; the old pole as the filled stretch of 14 contour points
//!   around the contour point nearest to it (city-block distance), in the cell's colour; the new
//!   pole the same way in white, unless the cell divides at this frame or was just born from a
//!   mother; at a division, a white arrow from the mother's new pole to the daughter's.
//!
//! Differences from DeLTA, by design: DeLTA draws with OpenCV's Hershey font, here a 5×7
//! bitmap font scaled ×3 for the frame number (about the height of Hershey's at scale 1) and
//! ×2 for cell ids (Hershey's at scale 0.5); DeLTA's cell colours are an HSV colour map shuffled
//! by a random generator seeded with the ROI's number, here [`cell_colour`] gives each cell a
//! fixed, saturated hue from its ROI number and id (golden-ratio steps around the colour wheel,
//! so that consecutive ids differ strongly). Everything else is drawn pixel for pixel as DeLTA
//! draws it: contours, filled poles (edges as `cv2.line` draws them, inside by pixel centres)
//! and arrows (`cv2.arrowedLine`) set the same pixels as DeLTA 3.0.0a6's movie of its shared
//! mother-machine results (`tests/results_movie_delta.rs`).
//!
//! [`write_movie`] writes the frames as DeLTA does, an H.264 MP4 (libx264, `yuv420p`, CRF 20,
//! frames cropped to an even size) through an `ffmpeg` program found on `PATH`, but with the
//! preset `medium` rather than DeLTA's `veryslow`: the same quality (CRF 20), 3.3× faster to
//! encode for files 2 % larger (DeLTA 3's 2-D test movie, 20 frames: 0.88 s and 1.24 MB against
//! 2.92 s and 1.21 MB); without `ffmpeg`, as an animated PNG (APNG) of the same frames.

use std::ffi::OsString;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use deltacell_data::output::{write_atomic, TEMP_PREFIX, TEMP_SUFFIX};
use deltacell_data::report::{Rgb, RgbImage};
use deltacell_data::Plane;

use crate::contour::{first_contour, Point};
use crate::error::{Error, Result};
use crate::lineage::CellId;
use crate::results::{PositionResults, RoiResults};

/// White, for the frame number, the new poles, the division arrows and the cell ids.
const WHITE: Rgb = [255, 255, 255];

/// DeLTA's frame rate of results movies, frames per second.
pub const DELTA_FPS: u32 = 7;

/// Number of contour points on each side of a pole that [`movie_frames`] fills (DeLTA's
/// `_draw_pole` width): the stretch is `[i − 7, i + 7)` around the nearest point `i`.
const POLE_HALF_WIDTH: usize = 7;

/// What the results movie shows and how fast it plays.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MovieOptions {
    /// Draw each cell's id beside its centroid (DeLTA's `--label-movie`).
    pub cell_ids: bool,
    /// Frames per second, ≥ 1 (DeLTA: 7).
    pub fps: u32,
}

impl Default for MovieOptions {
    /// No cell ids, 7 frames per second, as DeLTA.
    fn default() -> Self {
        MovieOptions {
            cell_ids: false,
            fps: DELTA_FPS,
        }
    }
}

/// The file format [`write_movie`] wrote.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MovieFormat {
    /// H.264 in an MP4 container, written by `ffmpeg` (DeLTA's format).
    Mp4,
    /// An animated PNG, written without any external program.
    Apng,
}

impl MovieFormat {
    /// The file name extension, without the dot (`mp4`, `png`).
    pub fn extension(self) -> &'static str {
        match self {
            MovieFormat::Mp4 => "mp4",
            MovieFormat::Apng => "png",
        }
    }
}

/// The colour of cell `id` of ROI `roi_nb`: a saturated hue (HSV with S = V = 1) at
/// `frac(0.1 · roi_nb + 0.618034 · id)` of the colour wheel, so the same cell keeps its colour in
/// every frame and consecutive ids get very different hues.
///
/// ```
/// use deltacell_analysis::results_movie::cell_colour;
/// assert_eq!(cell_colour(0, 1), cell_colour(0, 1));
/// assert_ne!(cell_colour(0, 1), cell_colour(0, 2));
/// // Saturated: one channel at 255, one at 0.
/// let c = cell_colour(3, 17);
/// assert_eq!(c.iter().max(), Some(&255));
/// assert_eq!(c.iter().min(), Some(&0));
/// ```
pub fn cell_colour(roi_nb: u32, id: CellId) -> Rgb {
    let h = (0.1 * f64::from(roi_nb) + 0.618_033_988_749_895 * f64::from(id)).fract() * 6.0;
    let sector = h.floor();
    let f = h - sector;
    let up = (255.0 * f).round() as u8;
    let down = 255 - up;
    match sector as u32 {
        0 => [255, up, 0],
        1 => [down, 255, 0],
        2 => [0, 255, up],
        3 => [0, down, 255],
        4 => [up, 0, 255],
        _ => [255, 0, down],
    }
}

/// One RGB frame per movie frame: `frames` are the position's corrected phase-contrast frames
/// (full size, as `position.shape`, values of any range, one per frame of the ROIs' stacks), with
/// each ROI's cells drawn over them as DeLTA draws them (see the [module](self) documentation).
/// The frame number shown is the first ROI's [`RoiResults::first_frame`] plus the index (from 0
/// without ROIs).
///
/// Errors: a frame whose size is not `position.shape`, a ROI whose stacks do not have
/// `frames.len()` frames, and a cell of a label frame that is not in the lineage or has no
/// features at that frame.
///
/// ```
/// use deltacell_analysis::results::PositionResults;
/// use deltacell_analysis::results_movie::{movie_frames, MovieOptions};
/// use deltacell_data::Plane;
///
/// let position = PositionResults {
///     position_nb: 0,
///     rotate: 0.0,
///     shape: (40, 120),
///     config: String::new(),
///     drift: Vec::new(),
///     version: String::new(),
///     rois: Vec::new(),
/// };
/// let frames = vec![Plane::filled(40, 120, 0.0f32), Plane::filled(40, 120, 1.0)];
/// let movie = movie_frames(&frames, &position, &MovieOptions::default()).unwrap();
/// assert_eq!(movie.len(), 2);
/// // The second frame is the brightest of the movie: white, like the frame number's text.
/// assert_eq!(movie[1].get(0, 0), [255, 255, 255]);
/// // The text `frame 000000` is in white on the black first frame, above row 0.97 × 40 = 38.
/// let white = (0..40).flat_map(|r| (0..120).map(move |c| (r, c)))
///     .filter(|&(r, c)| movie[0].get(r, c) == [255, 255, 255])
///     .count();
/// assert!(white > 50);
/// ```
pub fn movie_frames(
    frames: &[Plane<f32>],
    position: &PositionResults,
    options: &MovieOptions,
) -> Result<Vec<RgbImage>> {
    for (i, f) in frames.iter().enumerate() {
        if f.shape() != position.shape {
            return Err(Error::MovieFrameSize {
                frame: i,
                expected: position.shape,
                found: f.shape(),
            });
        }
    }
    for roi in &position.rois {
        if roi.labels.frames() != frames.len() {
            return Err(Error::MovieFrameCount {
                roi: roi.roi_nb,
                expected: roi.labels.frames(),
                found: frames.len(),
            });
        }
    }
    // The whole movie's range, as DeLTA's `(images - min) / (max - min)`.
    let range = frames.iter().fold(EMPTY_RANGE, widen_range);
    let mut movie = Vec::with_capacity(frames.len());
    for (index, frame) in frames.iter().enumerate() {
        let labels = position
            .rois
            .iter()
            .map(|roi| {
                let (h, w) = roi.labels.plane_shape();
                Ok(Plane::from_vec(h, w, roi.labels.frame(index).to_vec())?)
            })
            .collect::<Result<Vec<_>>>()?;
        movie.push(movie_frame(
            frame, range, index, position, &labels, options,
        )?);
    }
    Ok(movie)
}

/// The range of no value, to start [`widen_range`] from.
pub const EMPTY_RANGE: (f32, f32) = (f32::INFINITY, f32::NEG_INFINITY);

/// `range` = `(lowest, highest)` widened to the finite values of `frame`: folded over a
/// movie's frames from [`EMPTY_RANGE`], the range [`movie_frame`] stretches to `[0, 1]`.
///
/// ```
/// use deltacell_analysis::results_movie::{widen_range, EMPTY_RANGE};
/// use deltacell_data::Plane;
/// let a = Plane::from_vec(1, 3, vec![2.0f32, f32::NAN, 5.0]).unwrap();
/// let b = Plane::from_vec(1, 2, vec![-1.0f32, 3.0]).unwrap();
/// assert_eq!(widen_range(widen_range(EMPTY_RANGE, &a), &b), (-1.0, 5.0));
/// ```
pub fn widen_range(range: (f32, f32), frame: &Plane<f32>) -> (f32, f32) {
    frame
        .as_slice()
        .iter()
        .filter(|v| v.is_finite())
        .fold(range, |(lo, hi), &v| (lo.min(v), hi.max(v)))
}

/// Movie frame `index` (0-based; the number shown is the first ROI's
/// [`RoiResults::first_frame`] plus `index`): `frame`, the corrected phase-contrast frame
/// (`position.shape`), stretched from `range` (the whole movie's, [`widen_range`]) to 8-bit
/// grey, with each ROI's cells drawn from its label plane of this frame (`labels`, one per ROI
/// of `position`, at the ROI's size), its lineage and features (see the [module](self)
/// documentation). The ROIs' stacks are not used: [`movie_frames`] draws from them, a
/// position written frame by frame from its results file.
///
/// Errors: a frame whose size is not `position.shape`, a label plane missing, and a cell of
/// a label plane that is not in the lineage or has no features at that frame.
pub fn movie_frame(
    frame: &Plane<f32>,
    range: (f32, f32),
    index: usize,
    position: &PositionResults,
    labels: &[Plane<u16>],
    options: &MovieOptions,
) -> Result<RgbImage> {
    if frame.shape() != position.shape {
        return Err(Error::MovieFrameSize {
            frame: index,
            expected: position.shape,
            found: frame.shape(),
        });
    }
    if labels.len() != position.rois.len() {
        return Err(Error::InvalidResults {
            roi: position.rois.get(labels.len()).map_or(0, |r| r.roi_nb),
            problem: format!(
                "{} label planes at frame index {index} for {} ROIs",
                labels.len(),
                position.rois.len()
            ),
        });
    }
    let (lo, hi) = range;
    let span = hi - lo;
    let first_number = position
        .rois
        .first()
        .map_or(0, |r| i64::from(r.first_frame));
    let (h, w) = frame.shape();
    let mut canvas = RgbImage::filled(h, w, [0, 0, 0]);
    for r in 0..h {
        for (c, &v) in frame.row(r).iter().enumerate() {
            let g = if span > 0.0 && v.is_finite() {
                (((v - lo) / span) * 255.0).clamp(0.0, 255.0) as u8
            } else {
                0
            };
            canvas.put(r, c, [g, g, g]);
        }
    }
    let number = first_number + index as i64;
    draw_text(
        &mut canvas,
        &format!("frame {number:06}"),
        ((0.05 * h as f64) as i64, (0.97 * h as f64) as i64),
        3,
        WHITE,
    );
    for (roi, plane) in position.rois.iter().zip(labels) {
        draw_roi(&mut canvas, roi, plane, index, options)?;
    }
    Ok(canvas)
}

/// Draws the cells of `roi` at frame index `index` (label plane `labels`) on `canvas`.
fn draw_roi(
    canvas: &mut RgbImage,
    roi: &RoiResults,
    labels: &Plane<u16>,
    index: usize,
    options: &MovieOptions,
) -> Result<()> {
    let (h, w) = labels.shape();
    let labels = labels.as_slice();
    let offset = (roi.bbox.xtl, roi.bbox.ytl);
    let missing = |id: CellId, what: &str| Error::InvalidResults {
        roi: roi.roi_nb,
        problem: format!("cell {id} is in the labels of frame index {index} but {what}"),
    };
    for cell in cells_in_frame(labels, h, w) {
        let id = CellId::from(cell.id);
        let info = roi
            .lineage
            .cell(id)
            .ok_or_else(|| missing(id, "not in the lineage"))?;
        let features = roi
            .features_at(id, index)
            .ok_or_else(|| missing(id, "has no features there"))?;
        let colour = cell_colour(roi.roi_nb, id);
        for p in &cell.contour {
            put(canvas, offset, *p, colour);
        }
        if options.cell_ids {
            let cx = (cell.sum_x as f64 / cell.count as f64) as i64;
            let cy = (cell.sum_y as f64 / cell.count as f64) as i64;
            draw_text(
                canvas,
                &id.to_string(),
                (cx + offset.0 + 5, cy + offset.1 + 5),
                2,
                WHITE,
            );
        }
        draw_pole(canvas, &cell.contour, features.old_pole, offset, colour);
        let daughter = info
            .divisions
            .iter()
            .find(|(f, _)| *f == index)
            .map(|(_, d)| *d);
        let born_ago = index.saturating_sub(info.first_frame);
        match daughter {
            None if born_ago > 0 || info.mother.is_none() => {
                draw_pole(canvas, &cell.contour, features.new_pole, offset, WHITE);
            }
            None => {}
            Some(d) => {
                let theirs = roi.features_at(d, index).ok_or_else(|| {
                    missing(id, &format!("its daughter {d} has no features there"))
                })?;
                let from = pole_point(features.new_pole, offset);
                let to = pole_point(theirs.new_pole, offset);
                draw_arrow(canvas, from, to, WHITE);
            }
        }
    }
    Ok(())
}

/// A cell of a label frame: its id, outer contour (ROI coordinates) and centroid sums.
struct FrameCell {
    id: u16,
    contour: Vec<Point>,
    sum_x: u64,
    sum_y: u64,
    count: u64,
}

/// The cells of a `h × w` label frame in the order of their first pixel in a raster scan, each
/// with its contour as DeLTA's `cells_in_frame(…, return_contours=True)` finds it (the first
/// external contour of the cell's mask).
fn cells_in_frame(labels: &[u16], h: usize, w: usize) -> Vec<FrameCell> {
    // Per id: first raster index, bounding box, centroid sums.
    struct Seen {
        first: usize,
        r0: usize,
        r1: usize,
        c0: usize,
        c1: usize,
        sum_x: u64,
        sum_y: u64,
        count: u64,
    }
    let mut seen: std::collections::BTreeMap<u16, Seen> = std::collections::BTreeMap::new();
    for (i, &id) in labels.iter().enumerate().take(h * w) {
        if id == 0 {
            continue;
        }
        let (r, c) = (i / w, i % w);
        let s = seen.entry(id).or_insert(Seen {
            first: i,
            r0: r,
            r1: r,
            c0: c,
            c1: c,
            sum_x: 0,
            sum_y: 0,
            count: 0,
        });
        s.r0 = s.r0.min(r);
        s.r1 = s.r1.max(r);
        s.c0 = s.c0.min(c);
        s.c1 = s.c1.max(c);
        s.sum_x += c as u64;
        s.sum_y += r as u64;
        s.count += 1;
    }
    let mut cells: Vec<(usize, FrameCell)> = seen
        .into_iter()
        .map(|(id, s)| {
            // The mask inside the cell's bounding box: raster order, hence the contour found,
            // is the same as in the whole frame.
            let (bh, bw) = (s.r1 - s.r0 + 1, s.c1 - s.c0 + 1);
            let mut mask = vec![0u8; bh * bw];
            for r in 0..bh {
                for c in 0..bw {
                    mask[r * bw + c] = u8::from(labels[(s.r0 + r) * w + s.c0 + c] == id);
                }
            }
            let contour = first_contour(&mask, bh, bw)
                .unwrap_or_default()
                .into_iter()
                .map(|[x, y]| [x + s.c0 as i32, y + s.r0 as i32])
                .collect();
            (
                s.first,
                FrameCell {
                    id,
                    contour,
                    sum_x: s.sum_x,
                    sum_y: s.sum_y,
                    count: s.count,
                },
            )
        })
        .collect();
    cells.sort_by_key(|(first, _)| *first);
    cells.into_iter().map(|(_, c)| c).collect()
}

/// Sets the canvas pixel of ROI point `p = (x, y)` shifted by `offset = (x, y)`; points outside
/// the canvas are ignored.
fn put(canvas: &mut RgbImage, offset: (i64, i64), p: Point, colour: Rgb) {
    let (x, y) = (i64::from(p[0]) + offset.0, i64::from(p[1]) + offset.1);
    if x >= 0 && y >= 0 {
        canvas.put(y as usize, x as usize, colour);
    }
}

/// A pole `(y, x)` of a ROI as a canvas point `(x, y)`.
fn pole_point(pole: [i16; 2], offset: (i64, i64)) -> (i64, i64) {
    (i64::from(pole[1]) + offset.0, i64::from(pole[0]) + offset.1)
}

/// DeLTA's `_draw_pole`: fills the stretch of `contour` of [`POLE_HALF_WIDTH`] points on each
/// side of the point nearest to `pole` (`(y, x)`, city-block distance, first of equals).
fn draw_pole(
    canvas: &mut RgbImage,
    contour: &[Point],
    pole: [i16; 2],
    offset: (i64, i64),
    colour: Rgb,
) {
    let n = contour.len();
    let (px, py) = (i32::from(pole[1]), i32::from(pole[0]));
    let Some((nearest, _)) = contour
        .iter()
        .enumerate()
        .min_by_key(|(i, p)| ((p[0] - px).abs() + (p[1] - py).abs(), *i))
    else {
        return;
    };
    let stretch: Vec<(i64, i64)> = (0..2 * POLE_HALF_WIDTH)
        .map(|k| {
            let p = contour[(nearest + n * POLE_HALF_WIDTH + k - POLE_HALF_WIDTH) % n];
            (i64::from(p[0]) + offset.0, i64::from(p[1]) + offset.1)
        })
        .collect();
    fill_polygon(canvas, &stretch, colour);
}

/// Fills the polygon through `points` (`(x, y)`, closed) as `cv2.drawContours(…, -1)` does:
/// its edges ([`draw_line`]) and, row by row, the pixels between pairs of edge crossings (the
/// even–odd rule; an edge counts on the rows from its upper end to just above its lower end).
fn fill_polygon(canvas: &mut RgbImage, points: &[(i64, i64)], colour: Rgb) {
    let n = points.len();
    if n == 0 {
        return;
    }
    let y_min = points.iter().map(|p| p.1).min().unwrap_or(0);
    let y_max = points.iter().map(|p| p.1).max().unwrap_or(0);
    let mut xs = Vec::new();
    for y in y_min..=y_max {
        xs.clear();
        for i in 0..n {
            let (a, b) = (points[i], points[(i + 1) % n]);
            let (lo, hi) = if a.1 <= b.1 { (a, b) } else { (b, a) };
            // Half-open in y, so a vertex between two edges counts once.
            if lo.1 <= y && y < hi.1 {
                let t = (y - lo.1) as f64 / (hi.1 - lo.1) as f64;
                xs.push(lo.0 as f64 + t * (hi.0 - lo.0) as f64);
            }
        }
        xs.sort_by(f64::total_cmp);
        for pair in xs.chunks_exact(2) {
            for x in (pair[0].ceil() as i64)..=(pair[1].floor() as i64) {
                put_xy(canvas, (x, y), colour);
            }
        }
    }
    for i in 0..n {
        draw_line(canvas, points[i], points[(i + 1) % n], colour);
    }
}

/// Sets canvas pixel `(x, y)`; outside the canvas, nothing.
fn put_xy(canvas: &mut RgbImage, (x, y): (i64, i64), colour: Rgb) {
    if x >= 0 && y >= 0 {
        canvas.put(y as usize, x as usize, colour);
    }
}

/// An 8-connected line between `a` and `b` (`(x, y)`, both ends included), with OpenCV's
/// choices (`LINE_8`): drawn from the left end, one step along the longer axis per pixel, and a
/// step along the shorter axis when the error term is negative (none at a tie), so that the
/// pixels are the ones `cv2.line` sets.
fn draw_line(canvas: &mut RgbImage, a: (i64, i64), b: (i64, i64), colour: Rgb) {
    let (from, to) = if b.0 < a.0 { (b, a) } else { (a, b) };
    let (dx, dy) = (to.0 - from.0, to.1 - from.1);
    let sy = if dy < 0 { -1 } else { 1 };
    let dy = dy.abs();
    // Steps along the longer (major) and the shorter (minor) axis.
    let (major, minor, long, short) = if dy > dx {
        ((0, sy), (1, 0), dy, dx)
    } else {
        ((1, 0), (0, sy), dx, dy)
    };
    let (mut x, mut y) = from;
    let mut err = long - 2 * short;
    for _ in 0..=long {
        put_xy(canvas, (x, y), colour);
        if err < 0 {
            x += minor.0;
            y += minor.1;
            err += 2 * long;
        }
        err -= 2 * short;
        x += major.0;
        y += major.1;
    }
}

/// OpenCV's `arrowedLine` (tip length 0.1 of the line): the line from `from` to `to` and two
/// strokes back from `to` at ±45° of the line's direction.
fn draw_arrow(canvas: &mut RgbImage, from: (i64, i64), to: (i64, i64), colour: Rgb) {
    draw_line(canvas, from, to, colour);
    let (dx, dy) = ((from.0 - to.0) as f64, (from.1 - to.1) as f64);
    let tip = 0.1 * (dx * dx + dy * dy).sqrt();
    let angle = dy.atan2(dx);
    for side in [1.0, -1.0] {
        let a = angle + side * std::f64::consts::FRAC_PI_4;
        let end = (
            (to.0 as f64 + tip * a.cos()).round() as i64,
            (to.1 as f64 + tip * a.sin()).round() as i64,
        );
        draw_line(canvas, end, to, colour);
    }
}

/// Rows of a 5×7 glyph, bit 4 the leftmost column; `None` for characters the movie never
/// writes.
fn glyph(c: char) -> Option<[u8; 7]> {
    Some(match c {
        '0' => [0x0E, 0x11, 0x13, 0x15, 0x19, 0x11, 0x0E],
        '1' => [0x04, 0x0C, 0x04, 0x04, 0x04, 0x04, 0x0E],
        '2' => [0x0E, 0x11, 0x01, 0x02, 0x04, 0x08, 0x1F],
        '3' => [0x1F, 0x02, 0x04, 0x02, 0x01, 0x11, 0x0E],
        '4' => [0x02, 0x06, 0x0A, 0x12, 0x1F, 0x02, 0x02],
        '5' => [0x1F, 0x10, 0x1E, 0x01, 0x01, 0x11, 0x0E],
        '6' => [0x06, 0x08, 0x10, 0x1E, 0x11, 0x11, 0x0E],
        '7' => [0x1F, 0x01, 0x02, 0x04, 0x08, 0x08, 0x08],
        '8' => [0x0E, 0x11, 0x11, 0x0E, 0x11, 0x11, 0x0E],
        '9' => [0x0E, 0x11, 0x11, 0x0F, 0x01, 0x02, 0x0C],
        'f' => [0x06, 0x09, 0x08, 0x1C, 0x08, 0x08, 0x08],
        'r' => [0x00, 0x00, 0x16, 0x19, 0x10, 0x10, 0x10],
        'a' => [0x00, 0x00, 0x0E, 0x01, 0x0F, 0x11, 0x0F],
        'm' => [0x00, 0x00, 0x1A, 0x15, 0x15, 0x11, 0x11],
        'e' => [0x00, 0x00, 0x0E, 0x11, 0x1F, 0x10, 0x0E],
        '-' => [0x00, 0x00, 0x00, 0x1F, 0x00, 0x00, 0x00],
        ' ' => [0; 7],
        _ => return None,
    })
}

/// Writes `text` with the 5×7 font magnified `scale` times, its bottom-left corner at `origin`
/// (`(x, y)`, the row just below the glyphs), 1 column of space between glyphs; characters
/// without a glyph are drawn as a box. Pixels off the canvas are clipped.
fn draw_text(canvas: &mut RgbImage, text: &str, origin: (i64, i64), scale: i64, colour: Rgb) {
    const BOX: [u8; 7] = [0x1F, 0x11, 0x11, 0x11, 0x11, 0x11, 0x1F];
    let top = origin.1 - 7 * scale;
    for (k, ch) in text.chars().enumerate() {
        let rows = glyph(ch).unwrap_or(BOX);
        let left = origin.0 + k as i64 * 6 * scale;
        for (r, bits) in rows.iter().enumerate() {
            for c in 0..5 {
                if bits & (0x10 >> c) == 0 {
                    continue;
                }
                for dy in 0..scale {
                    for dx in 0..scale {
                        let x = left + c * scale + dx;
                        let y = top + r as i64 * scale + dy;
                        put_xy(canvas, (x, y), colour);
                    }
                }
            }
        }
    }
}

/// The frames' common size cropped to even numbers of rows and columns (H.264 in `yuv420p`
/// needs them; DeLTA drops the last row or column), checking that all frames have one size.
fn even_size(path: &Path, frames: &[RgbImage]) -> Result<(usize, usize)> {
    let first = frames.first().ok_or_else(|| Error::MovieWrite {
        path: path.to_path_buf(),
        problem: "no frames".into(),
    })?;
    let shape = (first.height(), first.width());
    for (i, f) in frames.iter().enumerate() {
        if (f.height(), f.width()) != shape {
            return Err(Error::MovieFrameSize {
                frame: i,
                expected: shape,
                found: (f.height(), f.width()),
            });
        }
    }
    even(path, shape)
}

/// `shape` = `(height, width)` cropped to even numbers; an error when nothing is left.
fn even(path: &Path, shape: (usize, usize)) -> Result<(usize, usize)> {
    let (h, w) = (shape.0 & !1, shape.1 & !1);
    if h == 0 || w == 0 {
        return Err(Error::MovieWrite {
            path: path.to_path_buf(),
            problem: format!(
                "frames of {}×{} pixels are too small for a movie (at least 2×2)",
                shape.0, shape.1
            ),
        });
    }
    Ok((h, w))
}

/// The first `h` rows of `w` pixels of `frame`, RGB bytes.
fn cropped_rows(frame: &RgbImage, h: usize, w: usize) -> impl Iterator<Item = &[u8]> {
    let stride = frame.width() * 3;
    frame
        .as_bytes()
        .chunks_exact(stride)
        .take(h)
        .map(move |row| &row[..w * 3])
}

/// The `ffmpeg` program on `PATH`: the first `ffmpeg` file found there that is executable.
///
/// ```
/// use deltacell_analysis::results_movie::find_ffmpeg;
/// if let Some(path) = find_ffmpeg() {
///     assert!(path.ends_with("ffmpeg"));
/// }
/// ```
pub fn find_ffmpeg() -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join("ffmpeg"))
        .find(|p| is_executable(p))
}

#[cfg(unix)]
fn is_executable(p: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(p).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

#[cfg(not(unix))]
fn is_executable(p: &Path) -> bool {
    p.with_extension("exe").is_file() || p.is_file()
}

/// `path` with `.ext` appended (not replacing a dot already in the name).
fn with_suffix(path: &Path, ext: &str) -> PathBuf {
    let mut s = OsString::from(path.as_os_str());
    s.push(".");
    s.push(ext);
    PathBuf::from(s)
}

/// Writes the movie as DeLTA does: `path_without_extension` + `.mp4` through the `ffmpeg` found
/// by [`find_ffmpeg`] ([`write_mp4`]), else + `.png`, an animated PNG ([`write_apng`]). Frames
/// are cropped to an even size in both formats. Returns the path written and its format.
///
/// ```
/// use deltacell_analysis::results_movie::{write_movie, MovieFormat};
/// use deltacell_data::report::RgbImage;
///
/// let dir = tempfile::tempdir().unwrap();
/// let frames = vec![RgbImage::filled(4, 6, [0, 0, 0]), RgbImage::filled(4, 6, [255, 0, 0])];
/// let (path, format) = write_movie(&dir.path().join("Position000001"), &frames, 7).unwrap();
/// assert!(path.is_file());
/// assert_eq!(path.extension().unwrap(), format.extension());
/// ```
pub fn write_movie(
    path_without_extension: &Path,
    frames: &[RgbImage],
    fps: u32,
) -> Result<(PathBuf, MovieFormat)> {
    let shape = even_size(path_without_extension, frames)
        .map(|_| (frames[0].height(), frames[0].width()))?;
    write_movie_with(path_without_extension, shape, frames.len(), fps, &mut |i| {
        Ok(frames[i].clone())
    })
}

/// [`write_movie`] of `count` frames of `shape` = `(height, width)` that `next(i)` draws one
/// at a time, `i` = 0, 1, …: each frame is encoded before the next is drawn, so that a long
/// movie is never in memory. An error of `next` (or a frame of another size) stops the
/// writing, leaves no file and is returned.
pub fn write_movie_with(
    path_without_extension: &Path,
    shape: (usize, usize),
    count: usize,
    fps: u32,
    next: &mut dyn FnMut(usize) -> Result<RgbImage>,
) -> Result<(PathBuf, MovieFormat)> {
    let format = match find_ffmpeg() {
        Some(ffmpeg) => {
            let path = with_suffix(path_without_extension, MovieFormat::Mp4.extension());
            write_mp4_with(&path, shape, count, fps, &ffmpeg, next)?;
            return Ok((path, MovieFormat::Mp4));
        }
        None => MovieFormat::Apng,
    };
    let path = with_suffix(path_without_extension, format.extension());
    write_apng_with(&path, shape, count, fps, next)?;
    Ok((path, format))
}

/// A frame of [`write_movie_with`]'s `next`, checked to have the movie's size.
fn checked_frame(
    next: &mut dyn FnMut(usize) -> Result<RgbImage>,
    i: usize,
    shape: (usize, usize),
) -> Result<RgbImage> {
    let frame = next(i)?;
    let found = (frame.height(), frame.width());
    if found != shape {
        return Err(Error::MovieFrameSize {
            frame: i,
            expected: shape,
            found,
        });
    }
    Ok(frame)
}

/// Writes `frames` (cropped to an even size) as an animated PNG at `fps` frames per second
/// (1 to 65535), looping forever, atomically.
///
/// ```
/// use deltacell_analysis::results_movie::write_apng;
/// use deltacell_data::report::RgbImage;
///
/// let dir = tempfile::tempdir().unwrap();
/// let path = dir.path().join("movie.png");
/// write_apng(&path, &[RgbImage::filled(3, 5, [9, 9, 9])], 7).unwrap();
/// let reader = png::Decoder::new(std::io::BufReader::new(std::fs::File::open(&path).unwrap()))
///     .read_info()
///     .unwrap();
/// assert_eq!((reader.info().width, reader.info().height), (4, 2));
/// ```
pub fn write_apng(path: &Path, frames: &[RgbImage], fps: u32) -> Result<()> {
    even_size(path, frames)?;
    let shape = (frames[0].height(), frames[0].width());
    write_apng_with(path, shape, frames.len(), fps, &mut |i| {
        Ok(frames[i].clone())
    })
}

/// [`write_apng`] of `count` frames of `shape` drawn one at a time by `next` (as
/// [`write_movie_with`]).
pub fn write_apng_with(
    path: &Path,
    shape: (usize, usize),
    count: usize,
    fps: u32,
    next: &mut dyn FnMut(usize) -> Result<RgbImage>,
) -> Result<()> {
    let delay_den =
        u16::try_from(fps)
            .ok()
            .filter(|d| *d > 0)
            .ok_or_else(|| Error::MovieWrite {
                path: path.to_path_buf(),
                problem: format!("{fps} frames per second, expected 1 to 65535"),
            })?;
    if count == 0 {
        return Err(Error::MovieWrite {
            path: path.to_path_buf(),
            problem: "no frames".into(),
        });
    }
    let (h, w) = even(path, shape)?;
    let frames = u32::try_from(count).map_err(|_| Error::MovieWrite {
        path: path.to_path_buf(),
        problem: format!("{count} frames, more than an APNG holds"),
    })?;
    let mut row_bytes = Vec::with_capacity(h * w * 3);
    // An error of `next` is kept here, the writing stopped by an I/O error.
    let mut failed: Option<Error> = None;
    let written = write_atomic(path, |out| {
        let mut enc = png::Encoder::new(out, w as u32, h as u32);
        enc.set_color(png::ColorType::Rgb);
        enc.set_depth(png::BitDepth::Eight);
        enc.set_animated(frames, 0).map_err(std::io::Error::other)?;
        enc.set_frame_delay(1, delay_den)
            .map_err(std::io::Error::other)?;
        let mut writer = enc.write_header().map_err(std::io::Error::other)?;
        for i in 0..count {
            let frame = match checked_frame(next, i, shape) {
                Ok(f) => f,
                Err(e) => {
                    failed = Some(e);
                    return Err(std::io::Error::other("a movie frame could not be drawn"));
                }
            };
            row_bytes.clear();
            for row in cropped_rows(&frame, h, w) {
                row_bytes.extend_from_slice(row);
            }
            writer
                .write_image_data(&row_bytes)
                .map_err(std::io::Error::other)?;
        }
        writer.finish().map_err(std::io::Error::other)
    });
    match (failed, written) {
        (Some(e), _) => Err(e),
        (None, r) => Ok(r?),
    }
}

/// An `ffmpeg` child process that is killed and reaped when dropped before it finished, so that
/// no encoder outlives an error.
struct Encoder {
    child: Option<std::process::Child>,
}

impl Drop for Encoder {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// Writes `frames` (cropped to an even size) as an H.264 MP4 at `fps` frames per second through
/// the program `ffmpeg`, with DeLTA's settings (libx264, `yuv420p`, CRF 20) but the preset
/// `medium` (see the module's documentation).
/// ffmpeg writes a temporary file in `path`'s folder that is renamed to `path` once it
/// succeeded; on any error it is removed, the ffmpeg process is ended, and the error gives
/// ffmpeg's own message.
///
/// ```no_run
/// use deltacell_analysis::results_movie::{find_ffmpeg, write_mp4};
/// use deltacell_data::report::RgbImage;
///
/// let ffmpeg = find_ffmpeg().expect("ffmpeg on PATH");
/// let frames = vec![RgbImage::filled(16, 16, [0, 0, 0]), RgbImage::filled(16, 16, [255, 0, 0])];
/// write_mp4("movie.mp4".as_ref(), &frames, 7, &ffmpeg).unwrap();
/// ```
pub fn write_mp4(path: &Path, frames: &[RgbImage], fps: u32, ffmpeg: &Path) -> Result<()> {
    if fps == 0 {
        return Err(Error::MovieWrite {
            path: path.to_path_buf(),
            problem: "0 frames per second".into(),
        });
    }
    even_size(path, frames)?;
    let shape = (frames[0].height(), frames[0].width());
    write_mp4_with(path, shape, frames.len(), fps, ffmpeg, &mut |i| {
        Ok(frames[i].clone())
    })
}

/// [`write_mp4`] of `count` frames of `shape` drawn one at a time by `next` (as
/// [`write_movie_with`]), each piped to `ffmpeg` as it is drawn.
pub fn write_mp4_with(
    path: &Path,
    shape: (usize, usize),
    count: usize,
    fps: u32,
    ffmpeg: &Path,
    next: &mut dyn FnMut(usize) -> Result<RgbImage>,
) -> Result<()> {
    if fps == 0 {
        return Err(Error::MovieWrite {
            path: path.to_path_buf(),
            problem: "0 frames per second".into(),
        });
    }
    if count == 0 {
        return Err(Error::MovieWrite {
            path: path.to_path_buf(),
            problem: "no frames".into(),
        });
    }
    let (h, w) = even(path, shape)?;
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let io = |e: std::io::Error| Error::Data(deltacell_data::Error::io(path, e));
    // Named as `write_atomic`'s temporary files (so that a later run removes it if this process
    // is killed), with the usual permissions (`0666 & !umask`) rather than tempfile's 0600.
    let prefix = format!("{TEMP_PREFIX}{}-", std::process::id());
    let mut builder = tempfile::Builder::new();
    builder.prefix(&prefix).suffix(TEMP_SUFFIX);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        builder.permissions(std::fs::Permissions::from_mode(0o666));
    }
    let tmp = builder
        .tempfile_in(&dir)
        .map_err(|e| Error::Data(deltacell_data::Error::io(&dir, e)))?;
    let failed = |problem: String| Error::MovieWrite {
        path: path.to_path_buf(),
        problem,
    };
    let mut command = Command::new(ffmpeg);
    command
        .args(["-loglevel", "error", "-hide_banner", "-nostats"])
        .args(["-f", "rawvideo", "-pix_fmt", "rgb24"])
        .args(["-s", &format!("{w}x{h}"), "-r", &fps.to_string()])
        .args(["-i", "pipe:0"])
        .args(["-pix_fmt", "yuv420p", "-vcodec", "libx264", "-crf", "20"])
        .args(["-preset", "medium", "-f", "mp4", "-y"])
        .arg(tmp.path())
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    let child = command
        .spawn()
        .map_err(|e| failed(format!("cannot start {}: {e}", ffmpeg.display())))?;
    let mut encoder = Encoder { child: Some(child) };
    let Some(child) = encoder.child.as_mut() else {
        return Err(failed("ffmpeg process lost".into()));
    };
    // Its messages, read on the side so that a talkative ffmpeg never blocks on a full pipe.
    let stderr = child.stderr.take().map(|mut s| {
        std::thread::spawn(move || {
            let mut text = String::new();
            let _ = s.read_to_string(&mut text);
            text
        })
    });
    let message = |stderr: Option<std::thread::JoinHandle<String>>| -> String {
        let text = stderr.and_then(|t| t.join().ok()).unwrap_or_default();
        let text = text.trim();
        // Its last 600 characters: the error comes last.
        let start = text.char_indices().rev().nth(599).map_or(0, |(i, _)| i);
        if text.is_empty() {
            "no message".into()
        } else {
            text[start..].to_string()
        }
    };
    let mut drawn: Option<Error> = None;
    let written = (|| -> std::io::Result<()> {
        let mut stdin = child
            .stdin
            .take()
            .ok_or_else(|| std::io::Error::other("no pipe to ffmpeg"))?;
        for i in 0..count {
            let frame = match checked_frame(next, i, shape) {
                Ok(f) => f,
                Err(e) => {
                    drawn = Some(e);
                    return Ok(());
                }
            };
            for row in cropped_rows(&frame, h, w) {
                stdin.write_all(row)?;
            }
        }
        stdin.flush()
        // Dropped here: ffmpeg sees the end of its input.
    })();
    if let Some(e) = drawn {
        // The encoder is killed and the temporary file removed.
        drop(encoder);
        return Err(e);
    }
    if let Err(e) = written {
        drop(encoder);
        return Err(failed(format!(
            "writing frames to ffmpeg: {e}; ffmpeg said: {}",
            message(stderr)
        )));
    }
    let status = child.wait().map_err(io)?;
    encoder.child = None;
    if !status.success() {
        return Err(failed(format!("ffmpeg {status}: {}", message(stderr))));
    }
    let _ = message(stderr);
    tmp.as_file().sync_all().map_err(io)?;
    tmp.persist(path).map_err(|e| io(e.error))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lineage::{Cell, Lineage};
    use crate::results::{CellFeatures, CropBox, Edges, Stack};
    use std::collections::BTreeMap;

    const GREY: Rgb = [63, 63, 63];
    /// ROI offset in the frame, `(x, y)`.
    const XTL: usize = 2;
    const YTL: usize = 3;

    fn features(old_pole: [i16; 2], new_pole: [i16; 2]) -> CellFeatures {
        CellFeatures {
            new_pole,
            old_pole,
            length: 0.0,
            width: 0.0,
            area: 0.0,
            perimeter: 0.0,
            fluo: Vec::new(),
            edges: Edges::default(),
            growthrate_length: f64::NAN,
            growthrate_area: f64::NAN,
        }
    }

    /// One ROI (40 × 8 at (2, 3)) of 3 frames: cell 1 (rows 1–34, columns 1–5) divides at
    /// frame 1 into itself (rows 1–16) and cell 2 (rows 19–34). Frames of 81 × 241 pixels at
    /// 0.25, with one pixel at 0 and one at 1 in frame 0 (so the grey is ⌊0.25 · 255⌋ = 63).
    fn position() -> (PositionResults, Vec<Plane<f32>>) {
        let (h, w) = (40, 8);
        let mut labels = Stack::<u16>::zeros(3, h, w);
        for r in 1..=34 {
            for c in 1..=5 {
                labels.frame_mut(0)[r * w + c] = 1;
                if r <= 16 {
                    labels.frame_mut(1)[r * w + c] = 1;
                    labels.frame_mut(2)[r * w + c] = 1;
                }
                if r >= 19 {
                    labels.frame_mut(1)[r * w + c] = 2;
                    labels.frame_mut(2)[r * w + c] = 2;
                }
            }
        }
        let lineage = Lineage::from_cells([
            Cell {
                id: 1,
                mother: None,
                first_frame: 0,
                last_frame: 2,
                divisions: vec![(1, 2)],
            },
            Cell {
                id: 2,
                mother: Some(1),
                first_frame: 1,
                last_frame: 2,
                divisions: Vec::new(),
            },
        ])
        .unwrap();
        let mut feats = BTreeMap::new();
        feats.insert(
            1,
            vec![
                features([1, 3], [34, 3]),
                features([1, 3], [16, 3]),
                features([1, 3], [16, 3]),
            ],
        );
        feats.insert(
            2,
            vec![features([34, 3], [19, 3]), features([34, 3], [19, 3])],
        );
        let roi = RoiResults {
            roi_nb: 0,
            bbox: CropBox {
                xtl: XTL as i64,
                ytl: YTL as i64,
                xbr: (XTL + w) as i64,
                ybr: (YTL + h) as i64,
            },
            scaling: [1.0, 1.0],
            config: String::new(),
            version: String::new(),
            model_hashes: Vec::new(),
            first_frame: 1,
            img: Stack::zeros(3, h, w),
            fluo_channels: Vec::new(),
            fluo: Stack::zeros(0, h, w),
            seg: Stack::zeros(3, h, w),
            labels,
            lineage,
            features: feats,
        };
        roi.check().unwrap();
        let shape = (81, 241);
        let position = PositionResults {
            position_nb: 1,
            rotate: 0.0,
            shape,
            config: String::new(),
            drift: Vec::new(),
            version: String::new(),
            rois: vec![roi],
        };
        let mut frames = vec![Plane::filled(shape.0, shape.1, 0.25f32); 3];
        frames[0].set(0, 240, 1.0);
        frames[0].set(1, 240, 0.0);
        (position, frames)
    }

    /// The canvas pixel of ROI pixel `(row, col)`.
    fn at(img: &RgbImage, row: usize, col: usize) -> Rgb {
        img.get(row + YTL, col + XTL)
    }

    #[test]
    fn contours_have_the_cells_colour_and_the_inside_stays_grey() {
        let (position, frames) = position();
        let movie = movie_frames(&frames, &position, &MovieOptions::default()).unwrap();
        assert_eq!(movie.len(), 3);
        let (one, two) = (cell_colour(0, 1), cell_colour(0, 2));
        assert_ne!(one, two);
        // Frame 0: the long cell's left and right sides, half-way between the poles.
        assert_eq!(at(&movie[0], 12, 1), one);
        assert_eq!(at(&movie[0], 12, 5), one);
        assert_eq!(at(&movie[0], 12, 3), GREY);
        assert_eq!(at(&movie[0], 12, 0), GREY);
        // Frame 2: both cells, each in its colour.
        assert_eq!(at(&movie[2], 8, 1), one);
        assert_eq!(at(&movie[2], 26, 5), two);
        // Old poles are filled in the cell's colour: the top of cell 1 and the bottom of cell 2.
        assert_eq!(at(&movie[2], 1, 3), one);
        assert_eq!(at(&movie[2], 2, 3), one);
        assert_eq!(at(&movie[2], 34, 3), two);
        // Outside the frame's first and last value, the background is the stretched grey.
        assert_eq!(movie[0].get(0, 240), [255, 255, 255]);
        assert_eq!(movie[0].get(1, 240), [0, 0, 0]);
        assert_eq!(movie[1].get(0, 240), GREY);
    }

    #[test]
    fn new_poles_are_white_except_at_a_division_and_just_after_a_birth() {
        let (position, frames) = position();
        let movie = movie_frames(&frames, &position, &MovieOptions::default()).unwrap();
        // Frame 0: cell 1 has no mother: its new pole (bottom) is white, corners included.
        assert_eq!(at(&movie[0], 34, 3), WHITE);
        assert_eq!(at(&movie[0], 34, 1), WHITE);
        // Frame 1: cell 1 divides (no white pole around row 16), cell 2 is just born (none
        // around row 19); the corners next to the new poles keep the cells' colours.
        assert_eq!(at(&movie[1], 16, 1), cell_colour(0, 1));
        assert_eq!(at(&movie[1], 19, 5), cell_colour(0, 2));
        // Frame 2: both new poles are white.
        assert_eq!(at(&movie[2], 16, 1), WHITE);
        assert_eq!(at(&movie[2], 19, 5), WHITE);
    }

    #[test]
    fn the_division_arrow_is_drawn_at_the_division_frame_only() {
        let (position, frames) = position();
        let movie = movie_frames(&frames, &position, &MovieOptions::default()).unwrap();
        // From the mother's new pole (16, 3) to the daughter's (19, 3), across the gap.
        for row in [17, 18] {
            assert_eq!(at(&movie[1], row, 3), WHITE, "row {row}");
            assert_eq!(at(&movie[2], row, 3), GREY, "row {row}");
            assert_eq!(at(&movie[0], row, 3), GREY, "row {row}");
        }
    }

    /// White pixels of `img` in rows `rows` and columns `cols`.
    fn white(img: &RgbImage, rows: std::ops::Range<usize>, cols: std::ops::Range<usize>) -> usize {
        rows.flat_map(|r| cols.clone().map(move |c| (r, c)))
            .filter(|&(r, c)| img.get(r, c) == WHITE)
            .count()
    }

    #[test]
    fn the_frame_number_is_written_at_the_bottom_left() {
        let (position, frames) = position();
        let movie = movie_frames(&frames, &position, &MovieOptions::default()).unwrap();
        // Text of 21 rows above row ⌊0.97 · 81⌋ = 78 from column ⌊0.05 · 81⌋ = 4: 12 glyphs
        // of 18 columns.
        let (top, left) = (78 - 21, 4);
        for (i, frame) in movie.iter().enumerate() {
            let inside = white(frame, top..78, left..left + 12 * 18);
            assert!(inside > 200, "frame {i}: {inside} white pixels");
            // Nothing white below or right of the text.
            assert_eq!(white(frame, 78..81, 0..241), 0);
            assert_eq!(white(frame, top..78, left + 12 * 18..241), 0);
        }
        // "frame 000001" and "frame 000002" differ in the last glyph only.
        let last = |f: &RgbImage| {
            (top..78)
                .flat_map(|r| (left + 11 * 18..left + 12 * 18).map(move |c| (r, c)))
                .map(|(r, c)| f.get(r, c))
                .collect::<Vec<_>>()
        };
        let first = |f: &RgbImage| {
            (top..78)
                .flat_map(|r| (left..left + 11 * 18).map(move |c| (r, c)))
                .map(|(r, c)| f.get(r, c))
                .collect::<Vec<_>>()
        };
        assert!(last(&movie[0]) != last(&movie[1]));
        assert!(first(&movie[1]) == first(&movie[2]));
        // The glyph of '1' at scale 3: its stem is the middle column of the 5, rows 1 to 6.
        let stem_col = left + 11 * 18 + 2 * 3;
        assert_eq!(movie[0].get(top + 3 * 3, stem_col), WHITE);
        assert_eq!(movie[0].get(top + 3 * 3, stem_col - 6), GREY);
    }

    #[test]
    fn cell_ids_are_drawn_only_when_asked() {
        let (position, frames) = position();
        let plain = movie_frames(&frames, &position, &MovieOptions::default()).unwrap();
        let options = MovieOptions {
            cell_ids: true,
            fps: 7,
        };
        let labelled = movie_frames(&frames, &position, &options).unwrap();
        // Cell 1's centroid at frame 0 is (row 17.5, col 3): the id's bottom-left corner at
        // ROI (22, 8), 14 rows high, right of the cell.
        let rows = YTL + 22 - 14..YTL + 22;
        let cols = XTL + 8..XTL + 8 + 10;
        assert_eq!(white(&plain[0], rows.clone(), cols.clone()), 0);
        assert!(white(&labelled[0], rows, cols) > 10);
        assert_ne!(plain[2], labelled[2]);
    }

    #[test]
    fn inconsistent_inputs_are_typed_errors() {
        let (mut position, frames) = position();
        let opts = MovieOptions::default();
        let err = movie_frames(&frames[..2], &position, &opts).unwrap_err();
        assert!(matches!(
            err,
            Error::MovieFrameCount {
                roi: 0,
                expected: 3,
                found: 2
            }
        ));
        let mut small = frames.clone();
        small[1] = Plane::filled(80, 241, 0.0);
        let err = movie_frames(&small, &position, &opts).unwrap_err();
        assert!(
            matches!(err, Error::MovieFrameSize { frame: 1, .. }),
            "{err}"
        );
        position.rois[0].labels.frame_mut(2)[0] = 7;
        let err = movie_frames(&frames, &position, &opts).unwrap_err();
        assert!(err.to_string().contains("cell 7"), "{err}");
        assert!(matches!(err, Error::InvalidResults { roi: 0, .. }));
    }

    #[test]
    fn the_apng_decodes_to_every_frame_at_an_even_size() {
        let (position, frames) = position();
        let movie = movie_frames(&frames, &position, &MovieOptions::default()).unwrap();
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("Position000001.png");
        write_apng(&path, &movie, 7).unwrap();
        let file = std::io::BufReader::new(std::fs::File::open(&path).unwrap());
        let mut reader = png::Decoder::new(file).read_info().unwrap();
        let info = reader.info();
        assert_eq!((info.width, info.height), (240, 80));
        let control = info.animation_control.unwrap();
        assert_eq!(control.num_frames, 3);
        assert_eq!(control.num_plays, 0);
        let mut buf = vec![0; reader.output_buffer_size().unwrap()];
        for (i, expected) in movie.iter().enumerate() {
            let out = reader.next_frame(&mut buf).unwrap();
            assert_eq!((out.width, out.height), (240, 80));
            let fc = reader.info().frame_control.unwrap();
            assert_eq!((fc.delay_num, fc.delay_den), (1, 7));
            // The frame's pixels, the last row and column dropped.
            let want: Vec<u8> = cropped_rows(expected, 80, 240).flatten().copied().collect();
            assert_eq!(&buf[..out.buffer_size()], &want[..], "frame {i}");
        }
        // Only the movie in the folder: no temporary file left.
        let names: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
        assert_eq!(names.len(), 1);
    }

    #[test]
    fn movies_without_frames_or_with_a_zero_rate_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("m.png");
        let frame = RgbImage::filled(4, 4, [1, 2, 3]);
        for (frames, fps) in [(vec![], 7), (vec![frame.clone()], 0)] {
            let err = write_apng(&path, &frames, fps).unwrap_err();
            assert!(matches!(err, Error::MovieWrite { .. }), "{err}");
        }
        let err = write_apng(&path, &[RgbImage::filled(1, 4, [0; 3])], 7).unwrap_err();
        assert!(err.to_string().contains("too small"), "{err}");
        let odd = [frame.clone(), RgbImage::filled(4, 6, [0; 3])];
        let err = write_apng(&path, &odd, 7).unwrap_err();
        assert!(
            matches!(err, Error::MovieFrameSize { frame: 1, .. }),
            "{err}"
        );
        assert!(!path.exists());
    }

    #[test]
    fn a_failing_encoder_leaves_no_file_and_says_so() {
        // A program that exits at once without reading its input, in place of ffmpeg.
        let Some(fake) = ["/bin/false", "/usr/bin/false"]
            .iter()
            .map(Path::new)
            .find(|p| p.is_file())
        else {
            println!("skipped: no `false` program");
            return;
        };
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("m.mp4");
        let frames = vec![RgbImage::filled(64, 64, [5, 5, 5]); 40];
        let err = write_mp4(&path, &frames, 7, fake).unwrap_err();
        assert!(matches!(err, Error::MovieWrite { .. }), "{err}");
        assert!(!path.exists());
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
        let err = write_mp4(&path, &frames, 7, &dir.path().join("no-such-program")).unwrap_err();
        assert!(err.to_string().contains("cannot start"), "{err}");
    }

    /// An encoder that reads all the frames, then fails with a message: the message is in the
    /// error, and nothing is left in the folder.
    #[cfg(unix)]
    #[test]
    fn an_encoders_message_is_in_the_error() {
        use std::os::unix::fs::PermissionsExt;
        let bin = tempfile::tempdir().unwrap();
        let fake = bin.path().join("fake-ffmpeg");
        std::fs::write(
            &fake,
            "#!/bin/sh\ncat > /dev/null\necho 'Unknown encoder libx264' >&2\nexit 1\n",
        )
        .unwrap();
        std::fs::set_permissions(&fake, std::fs::Permissions::from_mode(0o755)).unwrap();
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("m.mp4");
        let frames = vec![RgbImage::filled(8, 8, [5, 5, 5]); 3];
        // A test thread forking at the moment the script was written can keep it busy
        // (ETXTBSY) for an instant: try again then.
        let mut text = String::new();
        for _ in 0..20 {
            text = write_mp4(&path, &frames, 7, &fake).unwrap_err().to_string();
            if !text.contains("Text file busy") {
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        assert!(text.contains("Unknown encoder libx264"), "{text}");
        assert!(text.contains("m.mp4"), "{text}");
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
    }

    #[test]
    fn ffmpeg_writes_an_mp4_when_installed() {
        let Some(ffmpeg) = find_ffmpeg() else {
            println!("skipped: no ffmpeg on PATH");
            return;
        };
        let (position, frames) = position();
        let movie = movie_frames(&frames, &position, &MovieOptions::default()).unwrap();
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("Position000001.mp4");
        write_mp4(&path, &movie, 7, &ffmpeg).unwrap();
        let bytes = std::fs::read(&path).unwrap();
        assert_eq!(&bytes[4..8], b"ftyp");
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
        #[cfg(unix)]
        {
            // Readable by others as any new file (umask permitting), not tempfile's 0600.
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
            let apng = dir.path().join("same.png");
            write_apng(&apng, &movie, 7).unwrap();
            let reference = std::fs::metadata(&apng).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode, reference);
            std::fs::remove_file(&apng).unwrap();
        }
        // ffprobe comes with ffmpeg: the frames and their size.
        let probe = ffmpeg.with_file_name("ffprobe");
        if probe.is_file() {
            let out = Command::new(&probe)
                .args(["-v", "error", "-count_frames", "-select_streams", "v:0"])
                .args([
                    "-show_entries",
                    "stream=nb_read_frames,width,height,pix_fmt",
                ])
                .args(["-of", "csv=p=0"])
                .arg(&path)
                .output()
                .unwrap();
            let text = String::from_utf8_lossy(&out.stdout);
            assert_eq!(text.trim(), "240,80,yuv420p,3");
        } else {
            println!(
                "ffprobe not found beside {}: frames not counted",
                ffmpeg.display()
            );
        }
        // write_movie picks the MP4.
        let (written, format) = write_movie(&dir.path().join("again"), &movie, 7).unwrap();
        assert_eq!(format, MovieFormat::Mp4);
        assert_eq!(written, dir.path().join("again.mp4"));
        assert!(written.is_file());
    }
}
