//! Pictures for people: RGB canvases, colour maps, mask outlines and contact-sheet grids.
//!
//! Small drawing primitives shared by the augmentation preview (`deltacell augment`) and the
//! evaluation report: turn an [`Image`] into grey, a [`WeightMap`](crate::image::WeightMap) (or
//! any non-negative plane)
//! into a heat map, draw the outlines of a [`Mask`] or of [`Labels`] in colour, and compose tiles
//! of different sizes into one grid. Everything is plain 8-bit RGB, saved with
//! [`crate::io::write_png_rgb`].

use std::path::Path;

use crate::error::Result;
use crate::image::{Image, Labels, Mask, Plane};

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
}
