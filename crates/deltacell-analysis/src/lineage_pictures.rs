//! Pictures of lineages for people: lineage trees (time from left to right, one row per cell,
//! divisions as branches, each cell in its own colour, an evaluation's errors in red) and
//! kymographs of mother-machine chambers (the frames side by side, each cell outlined in its
//! colour), the results movie's frames where an evaluation found errors, and the HTML report of
//! `deltacell eval lineage --report`.
//!
//! Cells are DeLTA's ([`crate::ctc::track_cells`]): a mother keeps her row and colour after a
//! division, a daughter branches off on a new row under her mother's subtree.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;

use deltacell_data::image::{Image, Plane};
use deltacell_data::report::{self, label_colour, Rgb, RgbImage};

use crate::ctc::{track_cells, CtcError, CtcSequence, CtcTrack};
use crate::lineage::CellId;
use crate::lineage_eval::{Edge, ErrorSites, LineageEvaluation, LineageScores, Vertex};
use crate::results::{CropBox, PositionResults, RoiResults};
use crate::results_movie::{movie_frames, MovieOptions};

/// Colour of errors.
pub const ERROR: Rgb = [255, 40, 40];
/// Background of trees.
const PAPER: Rgb = [250, 250, 250];
/// Colour of gaps (a cell missing from some frames).
const GAP: Rgb = [170, 170, 170];
/// Pixels between two rows of a tree.
const ROW: usize = 9;
/// Margin around a tree, pixels.
const MARGIN: usize = 8;

/// What to mark in red on a tree: regions, edges and divisions (`(frame, track label)`).
#[derive(Clone, Copy, Debug, Default)]
pub struct Marks<'a> {
    /// Regions (a 5×5 box around the point).
    pub vertices: &'a [Vertex],
    /// Edges (a red line between their points).
    pub edges: &'a [Edge],
    /// Divisions, by their parent track's last frame and label (a filled 7×7 square).
    pub divisions: &'a [Vertex],
}

impl<'a> Marks<'a> {
    /// The errors of the ground truth's side of an evaluation: missed regions, links and
    /// divisions.
    pub fn truth(errors: &'a ErrorSites) -> Self {
        Marks {
            vertices: &errors.fn_vertices,
            edges: &errors.ea_edges,
            divisions: &errors.missed_divisions,
        }
    }

    /// The errors of the prediction's side: false and merged regions, wrong links, false
    /// divisions (wrong-kind links are drawn with the wrong links).
    pub fn pred(errors: &'a ErrorSites) -> (Self, Vec<Vertex>, Vec<Edge>) {
        let mut v = errors.fp_vertices.clone();
        v.extend_from_slice(&errors.ns_vertices);
        let mut e = errors.ed_edges.clone();
        e.extend_from_slice(&errors.ec_edges);
        (
            Marks {
                vertices: &[],
                edges: &[],
                divisions: &errors.false_divisions,
            },
            v,
            e,
        )
    }
}

/// Draws a line from `a` to `b` (`(row, col)`), Bresenham.
fn line(canvas: &mut RgbImage, a: (usize, usize), b: (usize, usize), colour: Rgb) {
    let (mut r, mut c) = (a.0 as i64, a.1 as i64);
    let (r1, c1) = (b.0 as i64, b.1 as i64);
    let (dr, dc) = ((r1 - r).abs(), -(c1 - c).abs());
    let (sr, sc) = (if r < r1 { 1 } else { -1 }, if c < c1 { 1 } else { -1 });
    let mut err = dr + dc;
    loop {
        if r >= 0 && c >= 0 {
            canvas.put(r as usize, c as usize, colour);
        }
        if r == r1 && c == c1 {
            break;
        }
        let e2 = 2 * err;
        if e2 >= dc {
            err += dc;
            r += sr;
        }
        if e2 <= dr {
            err += dr;
            c += sc;
        }
    }
}

/// A `(2·half+1)`-pixel square around `p`, filled or only its border.
fn square(canvas: &mut RgbImage, p: (usize, usize), half: usize, colour: Rgb, filled: bool) {
    let (r0, c0) = (p.0.saturating_sub(half), p.1.saturating_sub(half));
    for r in r0..=p.0 + half {
        for c in c0..=p.1 + half {
            let border = r == r0 || r == p.0 + half || c == c0 || c == p.1 + half;
            if filled || border {
                canvas.put(r, c, colour);
            }
        }
    }
}

/// The lineage tree of a sequence: frame `t` at column `MARGIN + t·dx` (dx 3–24 pixels, so that
/// the tree is about 900 pixels wide at most), one row per cell in depth-first order (a
/// mother's daughters below her, in birth order), each cell's life a thick line in its
/// [`label_colour`] (grey dots over gaps), each daughter joined to her mother's last region
/// before her birth by a thin line; `marks` in red.
///
/// ```
/// use deltacell_analysis::ctc::{CtcSequence, CtcTrack};
/// use deltacell_analysis::lineage_pictures::{lineage_tree, Marks};
/// let t = |label, begin, end, parent| CtcTrack { label, begin, end, parent };
/// let seq = CtcSequence { tracks: vec![t(1, 0, 1, 0), t(2, 2, 3, 1), t(3, 2, 3, 1)], ..Default::default() };
/// let tree = lineage_tree(&seq, 4, &Marks::default());
/// assert_eq!(tree.height(), 2 * 8 + 2 * 9 + 1); // three rows: 1 divides into 2 and 3
/// ```
pub fn lineage_tree(seq: &CtcSequence, frames: usize, marks: &Marks<'_>) -> RgbImage {
    let cells = track_cells(&seq.tracks);
    let by_label: HashMap<u16, &CtcTrack> = seq.tracks.iter().map(|t| (t.label, t)).collect();
    // Per cell: its tracks (by first frame), its mother and daughters.
    let mut tracks_of: BTreeMap<CellId, Vec<&CtcTrack>> = BTreeMap::new();
    for t in &seq.tracks {
        if let Some(&c) = cells.get(&t.label) {
            tracks_of.entry(c).or_default().push(t);
        }
    }
    for ts in tracks_of.values_mut() {
        ts.sort_by_key(|t| t.begin);
    }
    let mother_of = |c: CellId| -> Option<CellId> {
        let first = tracks_of.get(&c)?.first()?;
        cells.get(&first.parent).copied().filter(|&m| m != c)
    };
    let mut daughters: BTreeMap<CellId, Vec<(usize, CellId)>> = BTreeMap::new();
    let mut roots = Vec::new();
    for (&c, ts) in &tracks_of {
        match mother_of(c) {
            Some(m) => daughters.entry(m).or_default().push((ts[0].begin, c)),
            None => roots.push(c),
        }
    }
    for d in daughters.values_mut() {
        d.sort_unstable();
    }
    // Depth-first rows.
    let mut row_of: HashMap<CellId, usize> = HashMap::new();
    let mut stack: Vec<CellId> = roots.into_iter().rev().collect();
    while let Some(c) = stack.pop() {
        if row_of.contains_key(&c) {
            continue;
        }
        row_of.insert(c, row_of.len());
        if let Some(d) = daughters.get(&c) {
            stack.extend(d.iter().rev().map(|&(_, d)| d));
        }
    }
    let frames = frames.max(seq.tracks.iter().map(|t| t.end + 1).max().unwrap_or(1));
    let dx = (900 / frames.max(1)).clamp(3, 24);
    let rows = row_of.len().max(1);
    let width = 2 * MARGIN + (frames - 1) * dx + 1;
    let height = 2 * MARGIN + (rows - 1) * ROW + 1;
    let mut canvas = RgbImage::filled(height, width, PAPER);
    let x = |t: usize| MARGIN + t * dx;
    let y = |c: CellId| MARGIN + row_of.get(&c).copied().unwrap_or(0) * ROW;
    let point = |(t, label): Vertex| (y(cells.get(&label).copied().unwrap_or(0)), x(t));
    // Branches first, lives on top.
    for (&c, ts) in &tracks_of {
        if let Some(m) = mother_of(c) {
            if let Some(p) = by_label.get(&ts[0].parent) {
                let (ym, yd, xb) = (y(m), y(c), x(ts[0].begin));
                line(
                    &mut canvas,
                    (ym, x(p.end)),
                    (ym, xb.saturating_sub(dx / 2)),
                    label_colour(c),
                );
                line(
                    &mut canvas,
                    (ym, xb.saturating_sub(dx / 2)),
                    (yd, xb.saturating_sub(dx / 2)),
                    label_colour(c),
                );
                line(
                    &mut canvas,
                    (yd, xb.saturating_sub(dx / 2)),
                    (yd, xb),
                    label_colour(c),
                );
            }
        }
        let colour = label_colour(c);
        let yc = y(c);
        for (k, t) in ts.iter().enumerate() {
            // A segment runs on to the next one when no frame is missing between them.
            let end = match ts.get(k + 1) {
                Some(n) if n.begin == t.end + 1 => x(n.begin),
                _ => x(t.end),
            };
            for dy in 0..3 {
                line(
                    &mut canvas,
                    (yc + dy - 1, x(t.begin)),
                    (yc + dy - 1, end),
                    colour,
                );
            }
            if let Some(next) = ts.get(k + 1).filter(|n| n.begin > t.end + 1) {
                for col in (x(t.end) + 2..x(next.begin).saturating_sub(1)).step_by(3) {
                    canvas.put(yc, col, GAP);
                }
            }
        }
    }
    for &(u, v) in marks.edges {
        line(&mut canvas, point(u), point(v), ERROR);
    }
    for &v in marks.vertices {
        square(&mut canvas, point(v), 2, ERROR, false);
    }
    for &(t, label) in marks.divisions {
        square(&mut canvas, point((t, label)), 3, ERROR, true);
    }
    canvas
}

/// Whether a ROI looks like a mother-machine chamber (at least twice as tall as wide, at most
/// 96 pixels wide): those get kymographs.
pub fn is_chamber(shape: (usize, usize)) -> bool {
    shape.0 >= 2 * shape.1 && shape.1 <= 96
}

/// A kymograph: the frames side by side (one pixel apart), each cell filled with a dim and
/// outlined with the full [`label_colour`] of its DeLTA cell, on the raw `images` (grey) when
/// given, else on black.
///
/// ```
/// use deltacell_analysis::ctc::{CtcSequence, CtcTrack};
/// use deltacell_analysis::lineage_pictures::kymograph;
/// use deltacell_data::image::Plane;
/// let m = Plane::from_vec(4, 2, vec![0, 0, 1, 1, 1, 1, 0, 0u16]).unwrap();
/// let seq = CtcSequence { tracks: vec![CtcTrack { label: 1, begin: 0, end: 2, parent: 0 }], masks: vec![m; 3], seg: vec![] };
/// let k = kymograph(&seq, None);
/// assert_eq!((k.height(), k.width()), (4, 3 * 2 + 2));
/// ```
pub fn kymograph(seq: &CtcSequence, images: Option<&[Image]>) -> RgbImage {
    let cells = track_cells(&seq.tracks);
    let tiles: Vec<RgbImage> = seq
        .masks
        .iter()
        .enumerate()
        .map(|(t, m)| {
            let mut tile = match images.and_then(|i| i.get(t)) {
                Some(img) if img.shape() == m.shape() => report::grey(img),
                _ => RgbImage::filled(m.height(), m.width(), [0, 0, 0]),
            };
            let cell = |v: u16| cells.get(&v).copied().unwrap_or(u32::from(v));
            fill_and_outline(&mut tile, m, cell, images.is_some());
            tile
        })
        .collect();
    let mut out = report::grid(&[tiles], 1, report::DARK);
    // `grid` puts a gap around the whole row too: crop it.
    let (h, w) = (
        out.height().saturating_sub(2),
        out.width().saturating_sub(2),
    );
    let mut cropped = RgbImage::filled(h, w, report::DARK);
    for r in 0..h {
        for c in 0..w {
            cropped.put(r, c, out.get(r + 1, c + 1));
        }
    }
    std::mem::swap(&mut out, &mut cropped);
    out
}

fn fill_and_outline(
    tile: &mut RgbImage,
    m: &Plane<u16>,
    cell: impl Fn(u16) -> CellId,
    on_image: bool,
) {
    let (h, w) = m.shape();
    let s = m.as_slice();
    for r in 0..h {
        for c in 0..w {
            let v = s[r * w + c];
            if v == 0 {
                continue;
            }
            let colour = label_colour(cell(v));
            let other = |rr: usize, cc: usize| s[rr * w + cc] != v;
            let edge = r == 0
                || c == 0
                || r + 1 == h
                || c + 1 == w
                || other(r - 1, c)
                || other(r + 1, c)
                || other(r, c - 1)
                || other(r, c + 1);
            if edge {
                tile.put(r, c, colour);
            } else if !on_image {
                tile.put(r, c, colour.map(|x| (u16::from(x) * 2 / 5) as u8));
            }
        }
    }
}

fn fmt(x: Option<f64>) -> String {
    x.map_or_else(|| "–".to_string(), |v| format!("{v:.4}"))
}

fn score_cells(s: &LineageScores) -> Vec<String> {
    vec![
        fmt(s.det),
        format!("{:.4}", s.seg),
        fmt(s.tra),
        fmt(s.lnk),
        fmt(s.ct),
        fmt(s.division_precision),
        fmt(s.division_recall),
        fmt(s.division_f1),
    ]
}

/// The results movie of one ROI on its own (DeLTA's drawing, [`movie_frames`]): the ROI's
/// stored phase-contrast frames with its cells' contours, poles and divisions, and the frame
/// numbers, one picture per frame at the ROI's size.
///
/// # Errors
/// A ROI whose stacks disagree ([`RoiResults::check`]).
pub fn roi_movie(roi: &RoiResults) -> crate::error::Result<Vec<RgbImage>> {
    roi.check()?;
    let (h, w) = roi.img.plane_shape();
    let mut alone = roi.clone();
    alone.bbox = CropBox {
        xtl: 0,
        ytl: 0,
        xbr: w as i64,
        ybr: h as i64,
    };
    let frames = (0..roi.frames())
        .map(|t| Ok(Plane::from_vec(h, w, roi.img.frame(t).to_vec())?))
        .collect::<crate::error::Result<Vec<_>>>()?;
    let position = PositionResults {
        position_nb: 0,
        rotate: 0.0,
        shape: (h, w),
        config: String::new(),
        drift: Vec::new(),
        version: String::new(),
        rois: vec![alone],
    };
    movie_frames(&frames, &position, &MovieOptions::default())
}

/// The frames (0-based stack indices below `frames`) worth looking at in a ROI's movie: each
/// frame where `errors` has a site (an edge counts at its later end) with the frame before it,
/// in order, at most `max`; with no error, `min(max, 4)` frames evenly spread.
///
/// ```
/// use deltacell_analysis::lineage_eval::ErrorSites;
/// use deltacell_analysis::lineage_pictures::error_frames;
/// let errors = ErrorSites { missed_divisions: vec![(5, 2)], ..Default::default() };
/// assert_eq!(error_frames(&errors, 10, 8), vec![4, 5]);
/// assert_eq!(error_frames(&ErrorSites::default(), 10, 8), vec![0, 3, 6, 9]);
/// ```
pub fn error_frames(errors: &ErrorSites, frames: usize, max: usize) -> Vec<usize> {
    let mut sites: Vec<usize> = errors
        .fn_vertices
        .iter()
        .chain(&errors.fp_vertices)
        .chain(&errors.ns_vertices)
        .chain(&errors.missed_divisions)
        .chain(&errors.false_divisions)
        .map(|v| v.0)
        .chain(
            errors
                .ea_edges
                .iter()
                .chain(&errors.ed_edges)
                .chain(&errors.ec_edges)
                .map(|(a, b)| a.0.max(b.0)),
        )
        .filter(|&t| t < frames)
        .collect();
    sites.sort_unstable();
    sites.dedup();
    let mut chosen: Vec<usize> = Vec::new();
    for t in sites {
        for f in [t.saturating_sub(1), t] {
            if chosen.last() != Some(&f) && !chosen.contains(&f) {
                chosen.push(f);
            }
        }
    }
    chosen.sort_unstable();
    chosen.truncate(max);
    if chosen.is_empty() && frames > 0 {
        let n = max.clamp(1, 4).min(frames);
        chosen = (0..n)
            .map(|i| {
                if n == 1 {
                    0
                } else {
                    i * (frames - 1) / (n - 1)
                }
            })
            .collect();
    }
    chosen
}

/// Halves a picture's size (each output pixel the top-left one of its 2×2 block) until it is at
/// most `max_width` wide.
fn shrink(mut picture: RgbImage, max_width: usize) -> RgbImage {
    while picture.width() > max_width.max(1) && picture.width() > 1 {
        let (h, w) = (picture.height().div_ceil(2), picture.width().div_ceil(2));
        let mut small = RgbImage::filled(h, w, [0, 0, 0]);
        for r in 0..h {
            for c in 0..w {
                small.put(r, c, picture.get(2 * r, 2 * c));
            }
        }
        picture = small;
    }
    picture
}

/// A picture `factor` times larger, each pixel a `factor`×`factor` block.
fn enlarge(picture: &RgbImage, factor: usize) -> RgbImage {
    let mut big = RgbImage::filled(picture.height() * factor, picture.width() * factor, [0; 3]);
    for r in 0..big.height() {
        for c in 0..big.width() {
            big.put(r, c, picture.get(r / factor, c / factor));
        }
    }
    big
}

/// The results-movie frames of a ROI at `frames` in one picture: chambers side by side in one
/// row, twice their size; wider ROIs two per row, each at most 320 pixels wide.
fn movie_strip(movie: &[RgbImage], frames: &[usize], chamber: bool) -> RgbImage {
    let pictures: Vec<RgbImage> = frames
        .iter()
        .filter_map(|&t| movie.get(t))
        .map(|p| {
            if chamber {
                enlarge(p, 2)
            } else {
                shrink(p.clone(), 320)
            }
        })
        .collect();
    let rows: Vec<Vec<RgbImage>> = if chamber {
        vec![pictures]
    } else {
        pictures.chunks(2).map(<[RgbImage]>::to_vec).collect()
    };
    report::grid(&rows, 2, report::DARK)
}

/// Writes `dir/index.html` and `dir/pictures/`: the pooled scores, then one row per ROI with its
/// scores, the ground truth's and the prediction's lineage trees (errors in red) and, for
/// mother-machine chambers, both kymographs; where the prediction's results are given
/// (`pred_results[k]` for ROI `k`, e.g. read from a results file), its results movie's frames at
/// the errors ([`error_frames`], at most 8 for a chamber, 4 otherwise). `pred` and `truth` are
/// the ROIs of `eval`, in its order; `pred_results` is empty or one entry per ROI.
///
/// # Errors
/// Writing the files.
pub fn write_lineage_report(
    dir: &Path,
    eval: &LineageEvaluation,
    pred: &[(String, CtcSequence)],
    truth: &[(String, CtcSequence)],
    pred_results: &[Option<&RoiResults>],
) -> Result<(), CtcError> {
    use deltacell_data::error::Error as DataError;
    let pics = dir.join("pictures");
    std::fs::create_dir_all(&pics).map_err(|e| DataError::io(&pics, e))?;
    let mut rows = Vec::new();
    for (k, ((name, ev), ((_, p), (_, t)))) in
        eval.per_roi.iter().zip(pred.iter().zip(truth)).enumerate()
    {
        let frames = t.masks.len();
        let truth_tree = lineage_tree(t, frames, &Marks::truth(&ev.errors));
        let (mut pm, v, e) = Marks::pred(&ev.errors);
        pm.vertices = &v;
        pm.edges = &e;
        let pred_tree = lineage_tree(p, frames, &pm);
        truth_tree.save(pics.join(format!("{k:03}_tree_truth.png")))?;
        pred_tree.save(pics.join(format!("{k:03}_tree_pred.png")))?;
        let mut kymo = String::new();
        if t.masks.first().is_some_and(|m| is_chamber(m.shape())) {
            let both = report::grid(
                &[vec![kymograph(t, None)], vec![kymograph(p, None)]],
                2,
                report::DARK,
            );
            both.save(pics.join(format!("{k:03}_kymograph.png")))?;
            kymo = format!("<img src=\"pictures/{k:03}_kymograph.png\">");
        }
        let mut movie = String::new();
        if let Some(Some(roi)) = pred_results.get(k) {
            let chamber = is_chamber(roi.labels.plane_shape());
            let pictures = roi_movie(roi).map_err(|e| CtcError::Results(Box::new(e)))?;
            let at = error_frames(&ev.errors, pictures.len(), if chamber { 8 } else { 4 });
            if !at.is_empty() {
                movie_strip(&pictures, &at, chamber)
                    .save(pics.join(format!("{k:03}_movie.png")))?;
                let numbers: Vec<String> = at
                    .iter()
                    .map(|&t| (i64::from(roi.first_frame) + t as i64).to_string())
                    .collect();
                movie = format!(
                    "<img src=\"pictures/{k:03}_movie.png\"><br>frames {}",
                    numbers.join(", ")
                );
            }
        }
        let mut row = vec![(k + 1).to_string(), report::html_escape(name)];
        row.extend(score_cells(&ev.scores));
        row.push(format!("<img src=\"pictures/{k:03}_tree_truth.png\">"));
        row.push(format!("<img src=\"pictures/{k:03}_tree_pred.png\">"));
        row.push(kymo);
        row.push(movie);
        rows.push(row);
    }
    let s = &eval.pooled;
    let c = &s.counts;
    let intro = format!(
        "<p>{} ROI(s), pooled: DET {}, SEG {:.4}, TRA {}, LNK {}, CT {}, division precision {}, \
         recall {}, F1 {} ({} reference and {} predicted divisions, {} matched).</p>\
         <p>AOGM counts: {} split, {} missed and {} false regions; {} wrong, {} missing and {} \
         wrong-kind links. Definitions: docs/lineages.md.</p>\
         <p>Trees: time from left to right, one row per cell (a mother keeps her row after a \
         division), grey dots over gaps. In red {} on the ground truth: missed regions (boxes), \
         missed links (lines), missed divisions (squares); on the prediction: false or merged \
         regions, wrong links, false divisions. Kymographs (chambers only): ground truth above, \
         prediction below, each cell in its colour. Results movie (when the prediction is a \
         results file): the prediction's frames at its errors and the frame before each \
         (evenly spread frames when there is none), cells outlined in DeLTA's way.</p>",
        eval.per_roi.len(),
        fmt(s.det),
        s.seg,
        fmt(s.tra),
        fmt(s.lnk),
        fmt(s.ct),
        fmt(s.division_precision),
        fmt(s.division_recall),
        fmt(s.division_f1),
        c.division_tp + c.division_fn,
        c.division_tp + c.division_fp,
        c.division_tp,
        c.ns,
        c.fn_vertices,
        c.fp_vertices,
        c.ed,
        c.ea,
        c.ec,
        report::html_colour_key(ERROR),
    );
    let columns = [
        "#",
        "ROI",
        "DET",
        "SEG",
        "TRA",
        "LNK",
        "CT",
        "div. P",
        "div. R",
        "div. F1",
        "tree: ground truth",
        "tree: prediction",
        "kymograph",
        "results movie at the errors",
    ];
    let page = report::html_page("Lineage evaluation", &intro, &columns, &rows);
    deltacell_data::output::write_bytes(dir.join("index.html"), page.as_bytes())?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ctc::CtcTrack;

    #[test]
    fn a_tree_marks_errors_in_red_and_cells_in_their_colours() {
        let t = |label, begin, end, parent| CtcTrack {
            label,
            begin,
            end,
            parent,
        };
        // Cell 1: tracks 2 (0–1) → 1 (2–3); daughter 3 (2–3).
        let seq = CtcSequence {
            tracks: vec![t(1, 2, 3, 2), t(2, 0, 1, 0), t(3, 2, 3, 2)],
            ..Default::default()
        };
        let missed = [(1usize, 2u16)];
        let tree = lineage_tree(
            &seq,
            4,
            &Marks {
                divisions: &missed,
                ..Marks::default()
            },
        );
        let dx = 24;
        // The mother's row (0) in her colour at frame 3; the daughter's row (1) at frame 3.
        assert_eq!(tree.get(MARGIN, MARGIN + 3 * dx), label_colour(1));
        assert_eq!(tree.get(MARGIN + ROW, MARGIN + 3 * dx), label_colour(2));
        // The missed division at the mother's frame 1.
        assert_eq!(tree.get(MARGIN, MARGIN + dx), ERROR);
        assert_eq!(tree.get(MARGIN + ROW, MARGIN), PAPER);
    }
}
