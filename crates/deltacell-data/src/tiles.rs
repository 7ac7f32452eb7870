//! Windows on images: [`CroppingBox`] (crop with zero padding, paste back) and DeLTA's
//! `create_windows` / `stitch_pic` tiling of large images into overlapping network-sized tiles.
//!
//! # Tiling (spec §2.8)
//! [`create_windows`] follows DeLTA's newest line: along each axis the stride is
//! `target − min_overlap`, the tile count `n = 1 + ceil((size − target) / stride)`, the tile starts
//! are `linspace(0, size − target, n)` truncated to integers (computed in `f64` exactly as NumPy
//! does), and an image smaller than the target is zero-padded **centred**, which makes the first
//! start negative (`−pad/2`). Tiles are in row-major order (`y` outer, `x` inner).
//! [`stitch`] puts tiles back: the border between neighbouring tiles `k` and `k+1` lies at
//! `(end_k + start_{k+1}) div 2`, every output pixel comes from the tile that owns it.
//!
//! [`create_windows_v207`] is DeLTA 2.0.7's variant (`utilities.create_windows`): zero padding at
//! the bottom/right only, `n = int(1 + (size − overlap) / (target − overlap))` and starts
//! `int(target·k − overlap_k·k)` with the last window flush with the end. It gives the same
//! layout as the newest one on both 2.0.7 reference cases (700×600 and 300×260) but not in
//! general (e.g. a 1000-pixel side with target 512: 3 windows in 2.0.7, 2 in the newest line).
//!
//! Deliberate difference: DeLTA's `stitch_pic` returns a raster of shape
//! `(loc_y.last.end, loc_x.last.end)`, which for a centred-padded image still contains the
//! bottom/right padding. [`Windows::stitch`] remembers the image's shape and returns exactly the
//! original image; the free function [`stitch`] keeps DeLTA's output shape (pixels at negative
//! coordinates are dropped).

use crate::error::{Error, Result};
use crate::image::{Mask, Plane};

/// An axis-aligned box in image coordinates, `[ytl, ybr) × [xtl, xbr)`, that may extend outside
/// the image (DeLTA's newest `CroppingBox`). Coordinates are pixels, `(row, col)`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub struct CroppingBox {
    /// Top row (inclusive); may be negative.
    pub ytl: i64,
    /// Left column (inclusive); may be negative.
    pub xtl: i64,
    /// Bottom row (exclusive).
    pub ybr: i64,
    /// Right column (exclusive).
    pub xbr: i64,
}

impl CroppingBox {
    /// The whole image of shape `(height, width)`.
    pub fn full(height: usize, width: usize) -> Self {
        Self::at(0, 0, (height, width))
    }

    /// The box of `shape` = `(height, width)` whose top-left corner is `(ytl, xtl)` (may lie
    /// outside the image).
    ///
    /// ```
    /// use deltacell_data::tiles::CroppingBox;
    /// let b = CroppingBox::at(-2, 3, (4, 5));
    /// assert_eq!((b.ytl, b.xtl, b.ybr, b.xbr), (-2, 3, 2, 8));
    /// ```
    pub fn at(ytl: i64, xtl: i64, shape: (usize, usize)) -> Self {
        CroppingBox {
            ytl,
            xtl,
            ybr: ytl + shape.0 as i64,
            xbr: xtl + shape.1 as i64,
        }
    }

    /// `(height, width)` of the box.
    pub fn shape(&self) -> (usize, usize) {
        (
            (self.ybr - self.ytl) as usize,
            (self.xbr - self.xtl) as usize,
        )
    }

    /// DeLTA's `CroppingBox.tracking_box(seg, target_size)`: a `target` = `(height, width)` box
    /// centred on the seed cell's centroid (image moments, truncated to integers): `xtl = cx −
    /// tw/2` (integer division), `xbr = xtl + tw`, and the same for y. The box may extend outside
    /// the image. An empty seed gives the box centred on the image.
    pub fn tracking_box(seed: &Mask, target: (usize, usize)) -> Self {
        let (h, w) = seed.shape();
        let (m00, m10, m01) = moments(seed);
        let (cx, cy) = if m00 > 0.0 {
            ((m10 / m00) as i64, (m01 / m00) as i64)
        } else {
            ((w / 2) as i64, (h / 2) as i64)
        };
        let (th, tw) = (target.0 as i64, target.1 as i64);
        Self::at(cy - th / 2, cx - tw / 2, target)
    }

    /// The box moved by `(dy, dx)` pixels.
    pub fn shifted(self, dy: i64, dx: i64) -> Self {
        CroppingBox {
            ytl: self.ytl + dy,
            xtl: self.xtl + dx,
            ybr: self.ybr + dy,
            xbr: self.xbr + dx,
        }
    }

    /// The part of `plane` inside the box; pixels outside the image are `T::default()` (zero).
    pub fn crop<T: Copy + Default>(&self, plane: &Plane<T>) -> Plane<T> {
        let (bh, bw) = self.shape();
        let (h, w) = (plane.height() as i64, plane.width() as i64);
        let mut out = Plane::filled(bh, bw, T::default());
        let x0 = self.xtl.max(0);
        let x1 = self.xbr.min(w);
        if x1 <= x0 {
            return out;
        }
        for y in self.ytl.max(0)..self.ybr.min(h) {
            let src = &plane.row(y as usize)[x0 as usize..x1 as usize];
            let dst_row = (y - self.ytl) as usize;
            let dst_col = (x0 - self.xtl) as usize;
            out.row_mut(dst_row)[dst_col..dst_col + src.len()].copy_from_slice(src);
        }
        out
    }

    /// Writes `patch` (of the box's shape) back into `dst`, only where the box is inside `dst`.
    pub fn paste<T: Copy>(&self, dst: &mut Plane<T>, patch: &Plane<T>) {
        debug_assert_eq!(patch.shape(), self.shape());
        let (h, w) = (dst.height() as i64, dst.width() as i64);
        let x0 = self.xtl.max(0);
        let x1 = self.xbr.min(w);
        if x1 <= x0 {
            return;
        }
        for y in self.ytl.max(0)..self.ybr.min(h) {
            let src_row = (y - self.ytl) as usize;
            let src_col = (x0 - self.xtl) as usize;
            let src = &patch.row(src_row)[src_col..src_col + (x1 - x0) as usize];
            dst.row_mut(y as usize)[x0 as usize..x1 as usize].copy_from_slice(src);
        }
    }
}

/// The layout of a tiling: tile spans along each axis and the shape of the tiled image.
///
/// Spans are half-open `[start, end)` in image coordinates and may start below 0 (centred
/// padding). Tile `i` of a tiling is at row span `loc_y[i / loc_x.len()]` and column span
/// `loc_x[i % loc_x.len()]`.
#[derive(Clone, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub struct Windows {
    /// Row spans, top to bottom (DeLTA's `loc_y`).
    pub loc_y: Vec<(i64, i64)>,
    /// Column spans, left to right (DeLTA's `loc_x`).
    pub loc_x: Vec<(i64, i64)>,
    /// `(height, width)` of the tiled image.
    pub shape: (usize, usize),
}

impl Windows {
    /// The tiling [`create_windows`] makes for an image of `shape` = `(height, width)`, without
    /// cutting anything (DeLTA's newest `create_windows` spans). Errors when `min_overlap` is not
    /// smaller than both target sides.
    pub fn new(shape: (usize, usize), target: (usize, usize), min_overlap: usize) -> Result<Self> {
        Ok(Windows {
            loc_y: spans_newest(shape.0, target.0, min_overlap)?,
            loc_x: spans_newest(shape.1, target.1, min_overlap)?,
            shape,
        })
    }

    /// Number of tiles (`loc_y.len() · loc_x.len()`).
    pub fn len(&self) -> usize {
        self.loc_y.len() * self.loc_x.len()
    }

    /// Whether there are no tiles (never the case for a tiling made by this module).
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The box of tile `i` (row-major), for [`CroppingBox::crop`].
    pub fn tile_box(&self, i: usize) -> CroppingBox {
        let nx = self.loc_x.len().max(1);
        let (ytl, ybr) = self.loc_y[i / nx];
        let (xtl, xbr) = self.loc_x[i % nx];
        CroppingBox { ytl, xtl, ybr, xbr }
    }

    /// Cuts `plane` (of [`Windows::shape`]) into the tiles of this layout; outside pixels are 0.
    pub fn cut<T: Copy + Default>(&self, plane: &Plane<T>) -> Vec<Plane<T>> {
        (0..self.len())
            .map(|i| self.tile_box(i).crop(plane))
            .collect()
    }

    /// Stitches `tiles` (row-major, e.g. the network's outputs for [`Windows::cut`]'s tiles) back
    /// into a raster of exactly [`Windows::shape`].
    pub fn stitch<T: Copy + Default>(&self, tiles: &[Plane<T>]) -> Result<Plane<T>> {
        stitch_into(tiles, &self.loc_y, &self.loc_x, self.shape)
    }
}

/// The error for a tile size (along one axis) of 0 or not larger than `min_overlap`.
fn window_error(target: usize, min_overlap: usize) -> Error {
    if target == 0 {
        Error::out_of_range("tile size", target, "at least 1")
    } else {
        Error::out_of_range(
            "min_overlap",
            min_overlap,
            format!("less than the tile size {target}"),
        )
    }
}

/// Tile spans along one axis, DeLTA's newest `create_windows`; `Err` when `min_overlap >= target`.
fn spans_newest(size: usize, target: usize, min_overlap: usize) -> Result<Vec<(i64, i64)>> {
    if target == 0 || min_overlap >= target {
        return Err(window_error(target, min_overlap));
    }
    let stride = target - min_overlap;
    let padded = size.max(target);
    let pad = padded - size;
    let n = 1 + (padded - target).div_ceil(stride);
    let last = (padded - target) as f64;
    let shift = (pad / 2) as i64;
    // numpy.linspace: arange(n) * step, with the last element set to `stop` exactly.
    let step = if n > 1 { last / (n - 1) as f64 } else { 0.0 };
    Ok((0..n)
        .map(|k| {
            let start = if k + 1 == n && n > 1 {
                last
            } else {
                k as f64 * step
            } as i64;
            (start - shift, start - shift + target as i64)
        })
        .collect())
}

/// Tile spans along one axis, DeLTA 2.0.7's `create_windows` (padding at the end only).
fn spans_v207(size: usize, target: usize, min_overlap: usize) -> Result<Vec<(i64, i64)>> {
    if target == 0 || min_overlap >= target {
        return Err(window_error(target, min_overlap));
    }
    let padded = size.max(target);
    let n = if padded == target {
        1
    } else {
        (1.0 + (padded - min_overlap) as f64 / (target - min_overlap) as f64) as usize
    };
    if n <= 1 {
        return Ok(vec![(0, target as i64)]);
    }
    let overlap = (n * target - padded) as f64 / (n - 1) as f64;
    let t = target as f64;
    let mut out: Vec<(i64, i64)> = (0..n - 1)
        .map(|k| {
            let k = k as f64;
            (
                (t * k - overlap * k) as i64,
                (t * (k + 1.0) - overlap * k) as i64,
            )
        })
        .collect();
    out.push(((padded - target) as i64, padded as i64));
    Ok(out)
}

fn tile_all<T: Copy + Default>(
    plane: &Plane<T>,
    loc_y: Vec<(i64, i64)>,
    loc_x: Vec<(i64, i64)>,
    shape: (usize, usize),
) -> (Vec<Plane<T>>, Windows) {
    let w = Windows {
        loc_y,
        loc_x,
        shape,
    };
    (w.cut(plane), w)
}

/// Cuts `plane` into overlapping tiles of shape `target` = `(height, width)` that overlap by at
/// least `min_overlap` pixels (DeLTA's newest `imgops.create_windows`; DeLTA's defaults are
/// `target = (512, 512)`, `min_overlap = 24`).
///
/// Returns the tiles (row-major) and their layout. Errors with [`Error::OutOfRange`] (naming
/// `min_overlap`, or the tile size when a side is 0) when `min_overlap` is not smaller than both
/// target sides.
///
/// ```
/// use deltacell_data::{Error, Plane, tiles::create_windows};
/// let img = Plane::from_fn(9, 10, |r, c| (r * 10 + c) as u16);
/// let (tiles, w) = create_windows(&img, (5, 3), 1).unwrap();
/// assert_eq!(w.loc_y, vec![(0, 5), (4, 9)]);
/// assert_eq!(w.loc_x.iter().map(|s| s.0).collect::<Vec<_>>(), vec![0, 1, 3, 5, 7]);
/// assert_eq!(tiles.len(), 10);
/// assert_eq!(w.stitch(&tiles).unwrap(), img);
/// let e = create_windows(&img, (5, 3), 3).unwrap_err();
/// assert!(matches!(&e, Error::OutOfRange { name, .. } if name == "min_overlap"));
/// ```
pub fn create_windows<T: Copy + Default>(
    plane: &Plane<T>,
    target: (usize, usize),
    min_overlap: usize,
) -> Result<(Vec<Plane<T>>, Windows)> {
    let w = Windows::new(plane.shape(), target, min_overlap)?;
    Ok((w.cut(plane), w))
}

/// DeLTA 2.0.7's `utilities.create_windows`: like [`create_windows`] but the image is
/// zero-padded at the bottom/right and the tile count and starts follow 2.0.7's formulas (see the
/// module docs). [`Windows::shape`] is the shape of the unpadded image.
pub fn create_windows_v207<T: Copy + Default>(
    plane: &Plane<T>,
    target: (usize, usize),
    min_overlap: usize,
) -> Result<(Vec<Plane<T>>, Windows)> {
    let loc_y = spans_v207(plane.height(), target.0, min_overlap)?;
    let loc_x = spans_v207(plane.width(), target.1, min_overlap)?;
    Ok(tile_all(plane, loc_y, loc_x, plane.shape()))
}

/// DeLTA's `stitch_pic(results, loc_y, loc_x)`: assembles row-major `tiles` into a raster of
/// shape `(loc_y.last.end, loc_x.last.end)`; neighbouring tiles meet half-way through their
/// overlap. Errors when the tile count ([`Error::LengthMismatch`]) or a tile's shape does not fit
/// the spans.
///
/// ```
/// use deltacell_data::{Error, Plane, tiles::stitch};
/// let tiles = vec![Plane::filled(2, 2, 1u8), Plane::filled(2, 2, 2u8)];
/// let out = stitch(&tiles, &[(0, 2)], &[(0, 2), (1, 3)])?;
/// assert_eq!((out.shape(), out.get(0, 0), out.get(0, 2)), ((2, 3), 1, 2));
/// let e = stitch(&tiles[..1], &[(0, 2)], &[(0, 2), (1, 3)]).unwrap_err();
/// assert!(matches!(e, Error::LengthMismatch { expected: 2, found: 1, .. }));
/// # Ok::<(), deltacell_data::Error>(())
/// ```
pub fn stitch<T: Copy + Default>(
    tiles: &[Plane<T>],
    loc_y: &[(i64, i64)],
    loc_x: &[(i64, i64)],
) -> Result<Plane<T>> {
    let h = loc_y.last().map_or(0, |s| s.1.max(0) as usize);
    let w = loc_x.last().map_or(0, |s| s.1.max(0) as usize);
    stitch_into(tiles, loc_y, loc_x, (h, w))
}

/// The part `[lo, hi)` of the output (clipped to `[0, size)`) each span owns, with the offset
/// into the tile.
fn owned(spans: &[(i64, i64)], size: usize) -> Vec<(usize, usize, usize)> {
    let n = spans.len();
    (0..n)
        .map(|k| {
            let lo = if k == 0 {
                spans[0].0
            } else {
                (spans[k - 1].1 + spans[k].0).div_euclid(2)
            };
            let hi = if k + 1 == n {
                spans[k].1
            } else {
                (spans[k].1 + spans[k + 1].0).div_euclid(2)
            };
            let lo = lo.clamp(0, size as i64);
            let hi = hi.clamp(lo, size as i64);
            (lo as usize, hi as usize, (lo - spans[k].0) as usize)
        })
        .collect()
}

fn stitch_into<T: Copy + Default>(
    tiles: &[Plane<T>],
    loc_y: &[(i64, i64)],
    loc_x: &[(i64, i64)],
    (h, w): (usize, usize),
) -> Result<Plane<T>> {
    if tiles.len() != loc_y.len() * loc_x.len() {
        return Err(Error::LengthMismatch {
            what: format!("tiles of a {}x{} layout", loc_y.len(), loc_x.len()),
            expected: loc_y.len() * loc_x.len(),
            found: tiles.len(),
        });
    }
    let mut out = Plane::filled(h, w, T::default());
    let oy = owned(loc_y, h);
    let ox = owned(loc_x, w);
    for (iy, &(y0, y1, ty)) in oy.iter().enumerate() {
        for (ix, &(x0, x1, tx)) in ox.iter().enumerate() {
            let tile = &tiles[iy * loc_x.len() + ix];
            let want = (
                (loc_y[iy].1 - loc_y[iy].0) as usize,
                (loc_x[ix].1 - loc_x[ix].0) as usize,
            );
            if tile.shape() != want {
                return Err(Error::ShapeMismatch {
                    context: format!("stitch: tile {}", iy * loc_x.len() + ix),
                    expected: want,
                    found: tile.shape(),
                });
            }
            for y in y0..y1 {
                let src = &tile.row(y - y0 + ty)[tx..tx + (x1 - x0)];
                out.row_mut(y)[x0..x1].copy_from_slice(src);
            }
        }
    }
    Ok(out)
}

/// The image moments `(m00, m10, m01)` of a mask: its pixel count and the sums of its pixels'
/// columns and rows (OpenCV's `moments` of a binary image).
pub(crate) fn moments(mask: &Mask) -> (f64, f64, f64) {
    let (mut m00, mut m10, mut m01) = (0f64, 0f64, 0f64);
    for r in 0..mask.height() {
        for (c, &v) in mask.row(r).iter().enumerate() {
            if v != 0 {
                m00 += 1.0;
                m10 += c as f64;
                m01 += r as f64;
            }
        }
    }
    (m00, m10, m01)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn square(r0: usize, r1: usize, c0: usize, c1: usize) -> Mask {
        Mask::from_fn(100, 100, |r, c| {
            (r0..r1).contains(&r) && (c0..c1).contains(&c)
        })
    }

    fn counts(h: usize, w: usize) -> usize {
        let img = Plane::filled(h, w, 0u8);
        create_windows(&img, (512, 512), 24).unwrap().0.len()
    }

    #[test]
    fn window_counts_match_delta_table() {
        for (h, w, n) in [
            (512, 512, 1),
            (513, 512, 2),
            (1000, 512, 2),
            (1001, 512, 3),
            (2048, 2048, 25),
            (200, 200, 1),
            (600, 200, 2),
            (696, 520, 4),
        ] {
            assert_eq!(counts(h, w), n, "{h}x{w}");
        }
    }

    #[test]
    fn exact_layouts_and_padding() {
        let img = Plane::from_fn(9, 10, |r, c| (r * 10 + c) as u16);
        let (tiles, w) = create_windows(&img, (5, 3), 1).unwrap();
        assert_eq!(w.loc_y, vec![(0, 5), (4, 9)]);
        assert_eq!(w.loc_x, vec![(0, 3), (1, 4), (3, 6), (5, 8), (7, 10)]);
        // Tile 6 = row span 1, column span 1.
        assert_eq!(tiles[6].get(0, 0), img.get(4, 1));
        let img = Plane::from_fn(2, 10, |r, c| (r * 10 + c) as i32 + 1);
        let (tiles, w) = create_windows(&img, (6, 10), 2).unwrap();
        assert_eq!(w.loc_y, vec![(-2, 4)]);
        assert_eq!(w.loc_x, vec![(0, 10)]);
        assert_eq!(tiles[0].get(0, 3), 0);
        assert_eq!(tiles[0].get(2, 3), 4);
        assert_eq!(w.stitch(&tiles).unwrap(), img);
        // DeLTA's stitch_pic keeps the bottom padding.
        let s = stitch(&tiles, &w.loc_y, &w.loc_x).unwrap();
        assert_eq!(s.shape(), (4, 10));
        assert_eq!(s.row(1), img.row(1));
        assert!(s.row(3).iter().all(|&v| v == 0));
        assert!(create_windows(&img, (6, 10), 6).is_err());
    }

    #[test]
    fn round_trip_many_shapes_both_variants() {
        for (h, w) in [
            (1, 1),
            (31, 7),
            (64, 64),
            (65, 200),
            (300, 260),
            (129, 1000),
            (5, 700),
        ] {
            let img = Plane::from_fn(h, w, |r, c| (r * 1000 + c) as u32 + 1);
            for v207 in [false, true] {
                let (tiles, win) = if v207 {
                    create_windows_v207(&img, (64, 48), 8).unwrap()
                } else {
                    create_windows(&img, (64, 48), 8).unwrap()
                };
                assert!(tiles.iter().all(|t| t.shape() == (64, 48)));
                // Neighbouring tiles overlap by at least min_overlap.
                for s in [&win.loc_y, &win.loc_x] {
                    for k in 1..s.len() {
                        assert!(s[k - 1].1 - s[k].0 >= 8, "{s:?}");
                    }
                }
                assert_eq!(win.stitch(&tiles).unwrap(), img, "{h}x{w} v207={v207}");
            }
        }
    }

    #[test]
    fn v207_differs_where_documented() {
        let img = Plane::filled(1000, 512, 0u8);
        assert_eq!(
            create_windows_v207(&img, (512, 512), 24)
                .unwrap()
                .1
                .loc_y
                .len(),
            3
        );
        assert_eq!(
            create_windows(&img, (512, 512), 24).unwrap().1.loc_y.len(),
            2
        );
        // Small images are padded at the bottom/right, not centred.
        let img = Plane::filled(100, 30, 1u8);
        let (t, w) = create_windows_v207(&img, (128, 32), 8).unwrap();
        assert_eq!(w.loc_y, vec![(0, 128)]);
        assert_eq!(t[0].get(99, 29), 1);
        assert_eq!(t[0].get(100, 0), 0);
    }

    #[test]
    fn tracking_box_matches_delta_cases() {
        // DeLTA's test: contour square rows 20..30, cols 50..60 (inclusive corners 20..=30 etc.).
        let seed = square(20, 31, 50, 61);
        let b = CroppingBox::tracking_box(&seed, (40, 40));
        assert_eq!((b.xtl, b.ytl, b.xbr, b.ybr), (35, 5, 75, 45));
        let b = CroppingBox::tracking_box(&seed, (50, 40));
        assert_eq!((b.ytl, b.ybr), (0, 50));
        let b = CroppingBox::tracking_box(&seed, (60, 40));
        assert_eq!((b.ytl, b.ybr), (-5, 55));
    }

    #[test]
    fn crop_pads_outside_and_paste_writes_inside_only() {
        let img = Plane::from_fn(10, 20, |r, c| (r * 20 + c) as i32 + 1);
        let b = CroppingBox {
            ytl: -2,
            xtl: 15,
            ybr: 4,
            xbr: 25,
        };
        let crop = b.crop(&img);
        assert_eq!(crop.shape(), (6, 10));
        assert_eq!(crop.get(0, 0), 0);
        assert_eq!(crop.get(2, 0), img.get(0, 15));
        assert_eq!(crop.get(5, 4), img.get(3, 19));
        assert_eq!(crop.get(5, 5), 0);
        let mut back = Plane::filled(10, 20, 0);
        b.paste(&mut back, &crop);
        assert_eq!(back.get(3, 19), img.get(3, 19));
        assert_eq!(back.get(4, 19), 0);
    }
}
