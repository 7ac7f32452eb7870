//! Pictures for people: RGB canvases, colour maps, mask outlines, contact-sheet grids, and the
//! evaluation overlays and HTML pages.
//!
//! Small drawing primitives shared by the augmentation preview (`deltacell augment`) and the
//! evaluation report ([`segmentation_overlay`], [`tracking_overlay`], [`html_page`], used by
//! `deltacell eval` and `deltacell demo`): turn an [`Image`] into grey, a [`WeightMap`](crate::image::WeightMap) (or
//! any non-negative plane)
//! into a heat map, draw the outlines of a [`Mask`] or of [`Labels`] in colour, and compose tiles
//! of different sizes into one grid; [`contact_sheet`] shows [`Batch`]es as the network sees
//! them (`deltacell batches`). Everything is plain 8-bit RGB, saved with
//! [`crate::io::write_png_rgb`].

use std::path::Path;

use crate::batch::Batch;
use crate::error::{Error, Result};
use crate::image::{Image, Labels, Mask, Plane};
use crate::metrics::{images_by_stem, SegEvaluation, SegMatch, SegPair, TrackPair, TrackScores};
use rayon::prelude::*;

/// An 8-bit RGB colour.
pub type Rgb = [u8; 3];

/// Outline colour for masks: a saturated green that stands out on grey.
pub const GREEN: Rgb = [40, 230, 60];
/// Outline colour for a second mask (e.g. a prediction against the ground truth).
pub const MAGENTA: Rgb = [240, 40, 220];
/// Background of contact sheets between tiles.
pub const DARK: Rgb = [24, 24, 28];

/// A row-major 8-bit RGB picture, `height × width × 3` bytes.
#[derive(Clone, Debug, PartialEq)]
pub struct RgbImage {
    height: usize,
    width: usize,
    data: Vec<u8>,
}

impl RgbImage {
    /// A `(height, width)` canvas filled with `colour`.
    pub fn filled(height: usize, width: usize, colour: Rgb) -> Self {
        let mut data = Vec::with_capacity(height * width * 3);
        for _ in 0..height * width {
            data.extend_from_slice(&colour);
        }
        RgbImage {
            height,
            width,
            data,
        }
    }

    /// Number of rows.
    pub fn height(&self) -> usize {
        self.height
    }

    /// Number of columns.
    pub fn width(&self) -> usize {
        self.width
    }

    /// The row-major RGB bytes.
    pub fn as_bytes(&self) -> &[u8] {
        &self.data
    }

    /// The colour at `(row, col)`.
    pub fn get(&self, row: usize, col: usize) -> Rgb {
        let i = (row * self.width + col) * 3;
        [self.data[i], self.data[i + 1], self.data[i + 2]]
    }

    /// Sets `(row, col)`; pixels outside the canvas are ignored.
    pub fn put(&mut self, row: usize, col: usize, colour: Rgb) {
        if row < self.height && col < self.width {
            let i = (row * self.width + col) * 3;
            self.data[i..i + 3].copy_from_slice(&colour);
        }
    }

    /// Copies `tile` with its top-left corner at `(top, left)`, clipped to the canvas.
    pub fn blit(&mut self, tile: &RgbImage, top: usize, left: usize) {
        for r in 0..tile.height.min(self.height.saturating_sub(top)) {
            let n = tile.width.min(self.width.saturating_sub(left)) * 3;
            let src = &tile.data[r * tile.width * 3..r * tile.width * 3 + n];
            let d = ((top + r) * self.width + left) * 3;
            self.data[d..d + n].copy_from_slice(src);
        }
    }

    /// Writes the canvas as an RGB PNG (atomically).
    pub fn save(&self, path: impl AsRef<Path>) -> Result<()> {
        crate::io::write_png_rgb(path, self.height, self.width, &self.data)
    }
}

/// An intensity image in grey, values clamped to `[0, 1]`.
pub fn grey(image: &Image) -> RgbImage {
    let (h, w) = image.shape();
    let mut out = RgbImage::filled(h, w, [0, 0, 0]);
    for (px, &v) in out.data.chunks_exact_mut(3).zip(image.as_slice()) {
        let g = (v.clamp(0.0, 1.0) * 255.0).round() as u8;
        px.copy_from_slice(&[g, g, g]);
    }
    out
}

/// Colour maps for [`heat_map`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ColourMap {
    /// Perceptually uniform dark-purple → yellow (matplotlib's default).
    Viridis,
    /// Black → red → yellow → white, good for weights that are mostly low.
    Inferno,
}

impl ColourMap {
    /// The colour at `t` in `[0, 1]` (clamped), interpolated linearly between 9 anchors.
    pub fn at(self, t: f32) -> Rgb {
        const VIRIDIS: [Rgb; 9] = [
            [68, 1, 84],
            [71, 44, 122],
            [59, 81, 139],
            [44, 113, 142],
            [33, 144, 141],
            [39, 173, 129],
            [92, 200, 99],
            [170, 220, 50],
            [253, 231, 37],
        ];
        const INFERNO: [Rgb; 9] = [
            [0, 0, 4],
            [31, 12, 72],
            [85, 15, 109],
            [136, 34, 106],
            [186, 54, 85],
            [227, 89, 51],
            [249, 140, 10],
            [249, 201, 50],
            [252, 255, 164],
        ];
        let anchors = match self {
            ColourMap::Viridis => &VIRIDIS,
            ColourMap::Inferno => &INFERNO,
        };
        let t = if t.is_nan() { 0.0 } else { t.clamp(0.0, 1.0) };
        let x = t * (anchors.len() - 1) as f32;
        let i = (x.floor() as usize).min(anchors.len() - 2);
        let f = x - i as f32;
        let (a, b) = (anchors[i], anchors[i + 1]);
        std::array::from_fn(|k| (a[k] as f32 + f * (b[k] as f32 - a[k] as f32)).round() as u8)
    }
}

/// A non-negative plane (e.g. a weight map) as a heat map: 0 → the map's low end, `max` (or
/// the plane's maximum when `None`) → its high end.
pub fn heat_map(plane: &Plane<f32>, max: Option<f32>, map: ColourMap) -> RgbImage {
    let (h, w) = plane.shape();
    let top = max.unwrap_or_else(|| crate::image::min_max(plane.as_slice()).1);
    let scale = if top > 0.0 { 1.0 / top } else { 0.0 };
    let mut out = RgbImage::filled(h, w, [0, 0, 0]);
    for (px, &v) in out.data.chunks_exact_mut(3).zip(plane.as_slice()) {
        px.copy_from_slice(&map.at(v * scale));
    }
    out
}

/// Draws the outline of every cell of `mask` in `colour`: the cell pixels with a 4-neighbour in
/// the background (the image border does not count as background). `canvas` must have the
/// mask's shape (extra rows/columns are ignored).
pub fn draw_mask_outline(canvas: &mut RgbImage, mask: &Mask, colour: Rgb) {
    let (h, w) = mask.shape();
    let m = mask.as_slice();
    for r in 0..h {
        for c in 0..w {
            if m[r * w + c] == 0 {
                continue;
            }
            let bg = |rr: usize, cc: usize| m[rr * w + cc] == 0;
            let edge = (r > 0 && bg(r - 1, c))
                || (r + 1 < h && bg(r + 1, c))
                || (c > 0 && bg(r, c - 1))
                || (c + 1 < w && bg(r, c + 1));
            if edge {
                canvas.put(r, c, colour);
            }
        }
    }
}

/// A distinct, bright colour for label `i` (golden-angle hue steps).
pub fn label_colour(i: u32) -> Rgb {
    let hue = (i as f32 * 0.618_034).fract() * 6.0;
    let x = 1.0 - (hue % 2.0 - 1.0).abs();
    let (r, g, b) = match hue as u32 {
        0 => (1.0, x, 0.0),
        1 => (x, 1.0, 0.0),
        2 => (0.0, 1.0, x),
        3 => (0.0, x, 1.0),
        4 => (x, 0.0, 1.0),
        _ => (1.0, 0.0, x),
    };
    [r, g, b].map(|v: f32| (60.0 + 195.0 * v) as u8)
}

/// Draws each cell's outline in its own [`label_colour`]: pixels with a 4-neighbour of another
/// value (background or another cell).
pub fn draw_label_outlines(canvas: &mut RgbImage, labels: &Labels) {
    let (h, w) = labels.shape();
    let l = labels.as_slice();
    for r in 0..h {
        for c in 0..w {
            let v = l[r * w + c];
            if v == 0 {
                continue;
            }
            let other = |rr: usize, cc: usize| l[rr * w + cc] != v;
            let edge = (r > 0 && other(r - 1, c))
                || (r + 1 < h && other(r + 1, c))
                || (c > 0 && other(r, c - 1))
                || (c + 1 < w && other(r, c + 1));
            if edge {
                canvas.put(r, c, label_colour(v));
            }
        }
    }
}

/// Composes `rows` of tiles into one picture: every grid cell is as large as the largest tile
/// of its column and row, tiles sit at the top-left of their cell, `gap` pixels of `background`
/// between and around cells. Rows may have different lengths.
pub fn grid(rows: &[Vec<RgbImage>], gap: usize, background: Rgb) -> RgbImage {
    let ncols = rows.iter().map(Vec::len).max().unwrap_or(0);
    let mut col_w = vec![0usize; ncols];
    let mut row_h = vec![0usize; rows.len()];
    for (r, row) in rows.iter().enumerate() {
        for (c, t) in row.iter().enumerate() {
            col_w[c] = col_w[c].max(t.width);
            row_h[r] = row_h[r].max(t.height);
        }
    }
    let width = col_w.iter().sum::<usize>() + gap * (ncols + 1);
    let height = row_h.iter().sum::<usize>() + gap * (rows.len() + 1);
    let mut out = RgbImage::filled(height, width, background);
    let mut top = gap;
    for (r, row) in rows.iter().enumerate() {
        let mut left = gap;
        for (c, t) in row.iter().enumerate() {
            out.blit(t, top, left);
            left += col_w[c] + gap;
        }
        top += row_h[r] + gap;
    }
    out
}

// ---------------------------------------------------------------------------------------------
// Evaluation overlays and report pages
// ---------------------------------------------------------------------------------------------

/// Overlay fill of a predicted cell matched to a true cell (IoU ≥ 0.5): green.
pub const TRUE_POSITIVE: Rgb = [40, 200, 60];
/// Overlay fill of a predicted cell without a match (false positive): red.
pub const FALSE_POSITIVE: Rgb = [230, 40, 40];
/// Overlay fill of a true cell no prediction matched (false negative): blue.
pub const FALSE_NEGATIVE: Rgb = [40, 110, 255];
/// Outline of a true cell that no prediction matched: light blue (found ones are white).
pub const MISSED_OUTLINE: Rgb = [90, 170, 255];

fn blend(px: &mut [u8], rgb: Rgb, alpha: f32) {
    for (p, c) in px.iter_mut().zip(rgb) {
        *p = (f32::from(*p) * (1.0 - alpha) + f32::from(c) * alpha).round() as u8;
    }
}

/// Prediction against ground truth for one image, as a microscopist reads it: the image in
/// grey (or a dark canvas when `image` is `None` or of another shape), predicted cells filled
/// [`TRUE_POSITIVE`] or [`FALSE_POSITIVE`] (45 % opacity), missed true cells filled
/// [`FALSE_NEGATIVE`] (55 %), and the outline of every true cell drawn on top: white when found,
/// [`MISSED_OUTLINE`] when missed (so a miss under a wrong prediction still shows).
///
/// `pred` and `truth` are the instance labels `matched` was computed from
/// ([`crate::metrics::evaluate_seg`]); the canvas has `truth`'s shape.
pub fn segmentation_overlay(
    image: Option<&Image>,
    pred: &Labels,
    truth: &Labels,
    matched: &SegMatch,
) -> RgbImage {
    let (h, w) = truth.shape();
    let mut out = match image.filter(|i| i.shape() == (h, w)) {
        Some(img) => {
            // Truncating grey, as the evaluation report always drew it.
            let mut g = RgbImage::filled(h, w, [0, 0, 0]);
            for (px, &v) in g.data.chunks_exact_mut(3).zip(img.as_slice()) {
                px.fill((v.clamp(0.0, 1.0) * 255.0) as u8);
            }
            g
        }
        None => RgbImage::filled(h, w, [30, 30, 30]),
    };
    let is = |v: &[bool], label: u32| v.get(label as usize - 1).copied().unwrap_or(false);
    let same_shape = pred.shape() == (h, w);
    for r in 0..h {
        for c in 0..w {
            let i = (r * w + c) * 3;
            let px = &mut out.data[i..i + 3];
            let p = if same_shape { pred.get(r, c) } else { 0 };
            let t = truth.get(r, c);
            if p != 0 {
                let fill = if is(&matched.pred_matched, p) {
                    TRUE_POSITIVE
                } else {
                    FALSE_POSITIVE
                };
                blend(px, fill, 0.45);
            } else if t != 0 && !is(&matched.true_matched, t) {
                blend(px, FALSE_NEGATIVE, 0.55);
            }
            if t != 0 {
                let edge = r == 0
                    || c == 0
                    || r + 1 == h
                    || c + 1 == w
                    || truth.get(r - 1, c) != t
                    || truth.get(r + 1, c) != t
                    || truth.get(r, c - 1) != t
                    || truth.get(r, c + 1) != t;
                if edge {
                    let found = is(&matched.true_matched, t);
                    px.copy_from_slice(if found {
                        &[255, 255, 255]
                    } else {
                        &MISSED_OUTLINE
                    });
                }
            }
        }
    }
    out
}

/// A tracking prediction (`mot_dau`-style mask) against its truth: prediction yellow, truth
/// blue, both white-ish, on a dark canvas of `truth`'s shape.
pub fn tracking_overlay(pred: &Mask, truth: &Mask) -> RgbImage {
    let (h, w) = truth.shape();
    let mut out = RgbImage::filled(h, w, [20, 20, 20]);
    let same_shape = pred.shape() == (h, w);
    for (k, (px, &t)) in out
        .data
        .chunks_exact_mut(3)
        .zip(truth.as_slice())
        .enumerate()
    {
        if same_shape && pred.as_slice()[k] != 0 {
            px[0] = 230;
            px[1] = 210;
        }
        if t != 0 {
            px[2] = 255;
        }
    }
    out
}

/// `s` with `&`, `<`, `>` and `"` escaped for HTML text and attribute values.
pub fn html_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// A small coloured square for a legend, as HTML.
pub fn html_colour_key(colour: Rgb) -> String {
    format!(
        "<span class=k style=\"background:rgb({},{},{})\"></span>",
        colour[0], colour[1], colour[2]
    )
}

const STYLE: &str = "body{font-family:sans-serif;margin:2em}table{border-collapse:collapse}\
td,th{border:1px solid #ccc;padding:4px 8px;text-align:right}td.l{text-align:left}\
img{image-rendering:pixelated;max-height:320px;min-height:128px}\
.k{display:inline-block;width:1em;height:1em;vertical-align:middle}";

/// One self-contained HTML report page: `title` (escaped) as title and heading, `intro_html`
/// (raw HTML, e.g. overall scores and a legend made with [`html_colour_key`]), then a table
/// with the (escaped) `columns` and `rows` of raw HTML cells. A cell starting with `<img` or
/// holding text is right-aligned except the second column (names), which is left-aligned.
pub fn html_page(title: &str, intro_html: &str, columns: &[&str], rows: &[Vec<String>]) -> String {
    use std::fmt::Write as _;
    let t = html_escape(title);
    let mut html = format!(
        "<!doctype html><html><head><meta charset=\"utf-8\"><title>{t}</title>\
         <style>{STYLE}</style></head><body><h1>{t}</h1>{intro_html}<table><tr>"
    );
    for c in columns {
        let _ = write!(html, "<th>{}</th>", html_escape(c));
    }
    html.push_str("</tr>");
    for row in rows {
        html.push_str("<tr>");
        for (k, cell) in row.iter().enumerate() {
            let class = if k == 1 { " class=l" } else { "" };
            let _ = write!(html, "<td{class}>{cell}</td>");
        }
        html.push_str("</tr>");
    }
    html.push_str("</table></body></html>\n");
    html
}

// ---------------------------------------------------------------------------------------------
// Augmented samples
// ---------------------------------------------------------------------------------------------

/// The display tiles of one sample, longest side at most `max_side` pixels: the image in grey
/// with the mask outlines in green, and the weight map as a heat map from 0 to `weight_max`
/// (when the sample has weights).
fn sample_tiles(
    sample: &crate::augment::Sample,
    max_side: usize,
    weight_max: f32,
) -> (RgbImage, Option<RgbImage>) {
    use crate::augment::resize::{resize_image, resize_mask, resize_weights};
    use crate::augment::Target;
    let (h, w) = sample.targets.first().map_or((1, 1), |t| t.shape());
    let scale = (max_side as f64 / h.max(w).max(1) as f64).min(1.0);
    let shape = (
        ((h as f64 * scale).round() as usize).max(1),
        ((w as f64 * scale).round() as usize).max(1),
    );
    let mut picture: Option<RgbImage> = None;
    let mut masks: Vec<Mask> = Vec::new();
    let mut heat = None;
    for t in &sample.targets {
        match t {
            Target::Image(i) => {
                picture.get_or_insert_with(|| grey(&resize_image(i, shape)));
            }
            Target::Mask(m) => masks.push(resize_mask(m, shape)),
            Target::Weights(wm) => {
                let small = resize_weights(wm, shape);
                heat = Some(heat_map(
                    small.plane(),
                    Some(weight_max),
                    ColourMap::Inferno,
                ));
            }
        }
    }
    let mut picture = picture.unwrap_or_else(|| grey(&Image::zeros(shape.0, shape.1)));
    for m in &masks {
        draw_mask_outline(&mut picture, m, GREEN);
    }
    (picture, heat)
}

/// A contact sheet of augmented samples (`deltacell augment --out`): one block per entry of
/// `blocks` (an original sample followed by its variants), its samples side by side as the image
/// with mask outlines, and below them, when the samples have weights, the weight maps as heat
/// maps on one colour scale per block (the original's largest weight). Tiles are shrunk to
/// `max_side` pixels at most.
///
/// ```
/// use deltacell_data::augment::{Sample, Target};
/// use deltacell_data::{Image, Mask};
/// let s = Sample { targets: vec![Target::Image(Image::zeros(8, 4)), Target::Mask(Mask::zeros(8, 4))] };
/// let sheet = deltacell_data::report::sample_sheet(&[vec![s.clone(), s]], 256);
/// assert_eq!(sheet.height(), 8 + 2 * 4);
/// ```
pub fn sample_sheet(blocks: &[Vec<crate::augment::Sample>], max_side: usize) -> RgbImage {
    use crate::augment::Target;
    let rows: Vec<Vec<Vec<RgbImage>>> = blocks
        .par_iter()
        .map(|samples| {
            let wmax = samples
                .first()
                .and_then(|s| {
                    s.targets.iter().find_map(|t| match t {
                        Target::Weights(w) => Some(w.max()),
                        _ => None,
                    })
                })
                .unwrap_or(1.0);
            let (mut top, mut bottom) = (Vec::new(), Vec::new());
            for s in samples {
                let (p, h) = sample_tiles(s, max_side, wmax);
                top.push(p);
                bottom.extend(h);
            }
            if bottom.is_empty() {
                vec![top]
            } else {
                vec![top, bottom]
            }
        })
        .collect();
    let rows: Vec<Vec<RgbImage>> = rows.into_iter().flatten().collect();
    grid(&rows, 4, DARK)
}

// ---------------------------------------------------------------------------------------------
// Batches as the network sees them
// ---------------------------------------------------------------------------------------------

/// Gap between tiles of a [`contact_sheet`], pixels.
const GAP: usize = 2;
/// Extra gap between batches, pixels.
const BATCH_GAP: usize = 6;
/// Colour of the gaps (dark blue, so that black pixels of a tile stay visible).
const GAP_RGB: [u8; 3] = [30, 40, 90];

/// Lays `batches` out as one picture: one row of tiles per sample (batches one under the other),
/// one column per channel — the inputs `x` then the targets `y` — in greyscale. Images and labels
/// map `[0, 1]` to black..white; weight channels (target channel ≥ 1) are divided by their
/// largest value in the batch so that their structure shows whatever their scale.
pub fn contact_sheet(batches: &[Batch]) -> RgbImage {
    let cols = batches
        .iter()
        .map(|b| b.in_channels + b.out_channels)
        .max()
        .unwrap_or(0);
    let tile_w = batches.iter().map(|b| b.width).max().unwrap_or(0);
    let rows: usize = batches.iter().map(|b| b.n).sum();
    let tile_h = batches.iter().map(|b| b.height).max().unwrap_or(0);
    let width = cols * tile_w + (cols + 1) * GAP;
    let height = rows * tile_h + (rows + 1) * GAP + batches.len().saturating_sub(1) * BATCH_GAP;
    let mut sheet = RgbImage::filled(height, width, GAP_RGB);
    let mut y0 = GAP;
    for batch in batches {
        // Per-batch maxima of the weight channels.
        let weight_max: Vec<f32> = (0..batch.out_channels)
            .map(|c| {
                if c == 0 {
                    1.0
                } else {
                    let m = batch
                        .y
                        .iter()
                        .skip(c)
                        .step_by(batch.out_channels)
                        .fold(0f32, |a, &v| a.max(v));
                    if m > 0.0 {
                        m
                    } else {
                        1.0
                    }
                }
            })
            .collect();
        for s in 0..batch.n {
            let mut x0 = GAP;
            let mut draw = |plane: &Plane<f32>, scale: f32, x0: usize| {
                for r in 0..plane.height() {
                    for (c, &v) in plane.row(r).iter().enumerate() {
                        let g = ((v / scale).clamp(0.0, 1.0) * 255.0).round() as u8;
                        sheet.put(y0 + r, x0 + c, [g, g, g]);
                    }
                }
            };
            for c in 0..batch.in_channels {
                draw(&batch.x_plane(s, c), 1.0, x0);
                x0 += tile_w + GAP;
            }
            for (c, &scale) in weight_max.iter().enumerate() {
                draw(&batch.y_plane(s, c), scale, x0);
                x0 += tile_w + GAP;
            }
            y0 += tile_h + GAP;
        }
        y0 += BATCH_GAP;
    }
    sheet
}

// ---------------------------------------------------------------------------------------------
// Evaluation reports: a folder with index.html and one picture per row
// ---------------------------------------------------------------------------------------------

fn write_page(dir: &Path, page: &str) -> Result<()> {
    crate::output::write_bytes(dir.join("index.html"), page.as_bytes())
}

/// Writes `dir/index.html` and `dir/overlays/` for a segmentation evaluation
/// ([`crate::metrics::evaluate_seg_folders`]): one row and one overlay per image, worst first (by
/// F1 at IoU 0.5, then AP at 0.75, then name), drawn on the raw image of the same stem in
/// `images` when given.
pub fn write_seg_report(
    dir: &Path,
    items: &[SegPair],
    ev: &SegEvaluation,
    images: Option<&Path>,
) -> Result<()> {
    let pics = dir.join("overlays");
    std::fs::create_dir_all(&pics).map_err(|e| Error::io(&pics, e))?;
    let raw = match images {
        Some(d) => images_by_stem(d)?,
        None => std::collections::BTreeMap::new(),
    };
    // Worst first: by F1 at 0.5, then AP at 0.75, then name.
    let mut order: Vec<usize> = (0..items.len()).collect();
    order.sort_by(|&a, &b| {
        let (sa, sb) = (&items[a].matched.scores, &items[b].matched.scores);
        sa.f1_50
            .total_cmp(&sb.f1_50)
            .then(sa.ap_75.total_cmp(&sb.ap_75))
            .then(items[a].name.cmp(&items[b].name))
    });
    order.par_iter().enumerate().try_for_each(|(k, &i)| {
        let it = &items[i];
        let img = match raw.get(&it.name) {
            Some(p) => Some(crate::io::read_image(p, crate::io::Rescale::MinMax)?),
            None => None,
        };
        segmentation_overlay(img.as_ref(), &it.pred, &it.truth, &it.matched)
            .save(pics.join(format!("{k:05}.png")))?;
        Ok::<(), Error>(())
    })?;
    let o = &ev.overall;
    let intro = format!(
        "<p>{} image(s), {} true cell(s), {} predicted. Overall: pixel IoU {:.4}, Dice {:.4}, \
         precision@0.5 {:.4}, recall@0.5 {:.4}, F1@0.5 {:.4}, AP@0.5 {:.4}, AP@0.75 {:.4}, \
         AP@0.9 {:.4}, AJI {:.4}.</p><p>Overlays: {} matched prediction, {} false positive, \
         {} false negative; outlines of true cells white (found) or light blue (missed). \
         Worst images first.</p>",
        ev.per_image.len(),
        o.sums.n_true,
        o.sums.n_pred,
        o.pixel_iou,
        o.dice,
        o.precision_50,
        o.recall_50,
        o.f1_50,
        o.ap_50,
        o.ap_75,
        o.ap_90,
        o.aji,
        html_colour_key(TRUE_POSITIVE),
        html_colour_key(FALSE_POSITIVE),
        html_colour_key(FALSE_NEGATIVE),
    );
    let rows: Vec<Vec<String>> = order
        .iter()
        .enumerate()
        .map(|(k, &i)| {
            let s = &items[i].matched.scores;
            let mut row = vec![
                (k + 1).to_string(),
                html_escape(&items[i].name),
                format!("{}/{}", s.sums.n_true, s.sums.n_pred),
            ];
            row.extend(
                [
                    s.pixel_iou,
                    s.dice,
                    s.precision_50,
                    s.recall_50,
                    s.f1_50,
                    s.ap_50,
                    s.ap_75,
                    s.ap_90,
                    s.aji,
                ]
                .iter()
                .map(|v| format!("{v:.3}")),
            );
            row.push(format!("<img src=\"overlays/{k:05}.png\">"));
            row
        })
        .collect();
    let columns = [
        "#",
        "image",
        "cells true/pred",
        "pixel IoU",
        "Dice",
        "P@0.5",
        "R@0.5",
        "F1@0.5",
        "AP@0.5",
        "AP@0.75",
        "AP@0.9",
        "AJI",
        "overlay",
    ];
    write_page(
        dir,
        &html_page("Segmentation evaluation", &intro, &columns, &rows),
    )
}

/// Writes `dir/index.html` and `dir/overlays/` for a tracking evaluation
/// ([`crate::metrics::evaluate_track_folders`]): one row and one picture per seed cell, wrong
/// seeds first.
pub fn write_track_report(dir: &Path, results: &[TrackPair], scores: &TrackScores) -> Result<()> {
    let pics = dir.join("overlays");
    std::fs::create_dir_all(&pics).map_err(|e| Error::io(&pics, e))?;
    // Wrong seeds first, then by name.
    let mut order: Vec<usize> = (0..results.len()).collect();
    order.sort_by(|&a, &b| {
        let (ra, rb) = (&results[a].result, &results[b].result);
        ra.correct.cmp(&rb.correct).then(ra.name.cmp(&rb.name))
    });
    order.par_iter().enumerate().try_for_each(|(k, &i)| {
        let r = &results[i];
        tracking_overlay(&r.pred, &r.truth).save(pics.join(format!("{k:05}.png")))?;
        Ok::<(), Error>(())
    })?;
    let intro = format!(
        "<p>{} seed cell(s). Accuracy {:.4}, cell found {:.4}, daughter found {:.4}, link \
         precision {:.4}, link recall {:.4}, division precision {:.4}, division recall {:.4}.\
         </p><p>Pictures: prediction yellow, truth blue, both white. Wrong seeds first.</p>",
        scores.n_seeds,
        scores.accuracy,
        scores.cell_found,
        scores.daughter_found,
        scores.link_precision,
        scores.link_recall,
        scores.division_precision,
        scores.division_recall
    );
    let rows: Vec<Vec<String>> = order
        .iter()
        .enumerate()
        .map(|(k, &i)| {
            let s = &results[i].result;
            vec![
                (k + 1).to_string(),
                html_escape(&s.name),
                format!("{}/{}", s.true_cells, s.pred_cells),
                s.matched.to_string(),
                if s.correct { "yes" } else { "no" }.to_string(),
                format!("<img src=\"overlays/{k:05}.png\">"),
            ]
        })
        .collect();
    let columns = [
        "#",
        "seed",
        "cells true/pred",
        "matched",
        "correct",
        "picture",
    ];
    write_page(
        dir,
        &html_page("Tracking evaluation", &intro, &columns, &rows),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outline_marks_only_border_pixels() {
        let m = Mask::from_fn(5, 5, |r, c| (1..4).contains(&r) && (1..4).contains(&c));
        let mut canvas = grey(&Image::zeros(5, 5));
        draw_mask_outline(&mut canvas, &m, GREEN);
        assert_eq!(canvas.get(1, 1), GREEN);
        assert_eq!(canvas.get(2, 2), [0, 0, 0]); // interior
        assert_eq!(canvas.get(0, 0), [0, 0, 0]); // background
    }

    #[test]
    fn grid_places_tiles_with_gaps() {
        let a = RgbImage::filled(2, 3, [255, 0, 0]);
        let b = RgbImage::filled(4, 1, [0, 0, 255]);
        let g = grid(&[vec![a.clone(), b], vec![a]], 1, DARK);
        assert_eq!(
            (g.height(), g.width()),
            (1 + 4 + 1 + 2 + 1, 1 + 3 + 1 + 1 + 1)
        );
        assert_eq!(g.get(1, 1), [255, 0, 0]);
        assert_eq!(g.get(1, 5), [0, 0, 255]);
        assert_eq!(g.get(0, 0), DARK);
        assert_eq!(g.get(6, 1), [255, 0, 0]);
    }

    #[test]
    fn colour_maps_span_their_anchors() {
        assert_eq!(ColourMap::Viridis.at(0.0), [68, 1, 84]);
        assert_eq!(ColourMap::Viridis.at(1.0), [253, 231, 37]);
        assert_eq!(ColourMap::Inferno.at(2.0), [252, 255, 164]);
        let hm = heat_map(
            &Plane::from_vec(1, 2, vec![0.0, 4.0]).unwrap(),
            None,
            ColourMap::Inferno,
        );
        assert_eq!(hm.get(0, 1), [252, 255, 164]);
        assert_ne!(label_colour(1), label_colour(2));
    }

    #[test]
    fn overlay_colours_follow_the_match() {
        use crate::metrics::evaluate_seg;
        // Truth: cells 1 (left) and 2 (right). Prediction: cell 1 exactly, and a spurious cell
        // in the middle column; true cell 2 is missed.
        let truth = Labels::from_plane(Plane::from_fn(6, 9, |r, c| match (r, c) {
            (1..=4, 0..=2) => 1,
            (1..=4, 6..=8) => 2,
            _ => 0,
        }));
        let pred = Labels::from_plane(Plane::from_fn(6, 9, |r, c| match (r, c) {
            (1..=4, 0..=2) => 1,
            (2..=3, 4) => 2,
            _ => 0,
        }));
        let m = evaluate_seg(&pred, &truth).unwrap();
        let o = segmentation_overlay(None, &pred, &truth, &m);
        assert_eq!((o.height(), o.width()), (6, 9));
        // Inside the matched cell: green tint; its outline white.
        let tp = o.get(2, 1);
        assert!(tp[1] > tp[0] && tp[1] > tp[2], "{tp:?}");
        assert_eq!(o.get(1, 1), [255, 255, 255]);
        // The spurious prediction is red, the missed cell blue with a light-blue outline.
        let fp = o.get(2, 4);
        assert!(fp[0] > fp[1] && fp[0] > fp[2], "{fp:?}");
        let fneg = o.get(2, 7);
        assert!(fneg[2] > fneg[0] && fneg[2] > fneg[1], "{fneg:?}");
        assert_eq!(o.get(1, 7), MISSED_OUTLINE);
        assert_eq!(o.get(0, 4), [30, 30, 30]);
    }

    #[test]
    fn html_page_escapes_title_and_headers_but_not_cells() {
        let page = html_page(
            "a<b",
            "<p>x</p>",
            &["#", "name & more"],
            &[vec!["1".into(), "<img src=\"o.png\">".into()]],
        );
        assert!(page.contains("<title>a&lt;b</title>"));
        assert!(page.contains("<th>name &amp; more</th>"));
        assert!(page.contains("<td class=l><img src=\"o.png\"></td>"));
        assert!(page.contains("<p>x</p><table>"));
    }

    #[test]
    fn tracking_overlay_marks_agreement_and_misses() {
        let truth = Mask::from_fn(2, 2, |_, c| c == 0);
        let pred = Mask::from_fn(2, 2, |r, _| r == 0);
        let o = tracking_overlay(&pred, &truth);
        assert_eq!(o.get(0, 0), [230, 210, 255]);
        assert_eq!(o.get(1, 0), [20, 20, 255]);
        assert_eq!(o.get(0, 1), [230, 210, 20]);
        assert_eq!(o.get(1, 1), [20, 20, 20]);
    }

    #[test]
    fn sheet_places_every_channel_and_scales_weights() {
        let mut b = Batch::zeros(2, 3, 4, 1, 2);
        b.x[0] = 1.0; // sample 0, x, pixel (0, 0)
        b.y[1] = 10.0; // sample 0, weight, pixel (0, 0): the batch maximum
        b.y[24 + 2 * 11 + 1] = 5.0; // sample 1, weight, pixel (2, 3)
        let p = contact_sheet(&[b.clone(), b]);
        assert_eq!(p.width(), 3 * 4 + 4 * GAP);
        assert_eq!(p.height(), 4 * 3 + 5 * GAP + BATCH_GAP);
        let px = |r: usize, c: usize| p.get(r, c)[0];
        assert_eq!(px(GAP, GAP), 255);
        assert_eq!(px(0, 0), GAP_RGB[0]);
        // Weight column = third column of tiles.
        let wx = GAP + 2 * (4 + GAP);
        assert_eq!(px(GAP, wx), 255);
        assert_eq!(px(GAP + 3 + GAP + 2, wx + 3), 128);
    }
}
