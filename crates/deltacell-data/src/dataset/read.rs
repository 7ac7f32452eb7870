//! DeLTA 2.0.7's reading helpers, reproduced for parity: `readreshape`, `binarizerange` and
//! `gettrackingboxes`.
//!
//! The datasets of this module follow DeLTA's newest line (divide by the dtype maximum, resize
//! with [`crate::augment::resize`], [`CroppingBox::tracking_box`]); these functions exist so that
//! results of 2.0.7 can be reproduced exactly (`--legacy` style inputs, parity tests).
//!
//! [`readreshape`] mirrors scikit-image's `resize(..., anti_aliasing=True)` as 2.0.7 calls it:
//! Gaussian pre-filter with σ = max(0, (in/out − 1)/2) per axis (SciPy `gaussian_filter`,
//! truncate 4, `mirror` boundary), then SciPy `zoom(grid_mode=True)` (pixel centres at
//! `(o + ½)·in/out − ½`), then clipping to the input range. Integer input is converted to float
//! (÷ type maximum) only for linear interpolation, as scikit-image does; nearest interpolation
//! keeps integer values (and SciPy's truncating integer casts).

use std::path::Path;

use crate::error::{Error, Result};
use crate::image::{min_max, Mask, Plane};
use crate::io::{self, RawPixels};
use crate::tiles::{moments, CroppingBox};

/// Interpolation of [`readreshape`]: DeLTA's `order` 0 (masks, weights) or 1 (images).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Interpolation {
    /// Nearest neighbour (`order=0`): masks and weight maps.
    Nearest,
    /// Bilinear (`order=1`): intensity images.
    Linear,
}

/// Options of [`readreshape`] with DeLTA 2.0.7's defaults (`target_size=(256, 32)`,
/// `binarize=False`, `order=1`, `rangescale=True`, `crop=False`).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ReadReshape {
    /// `(height, width)` of the result (resize mode) or its minimum (crop mode), pixels.
    pub target_size: (usize, usize),
    /// Threshold at mid-range ([`binarize_range`]) after reshaping.
    pub binarize: bool,
    /// Interpolation used by the resize.
    pub interpolation: Interpolation,
    /// Per-image min–max rescale to `[0, 1]` (skipped for a constant image).
    pub rangescale: bool,
    /// Pad mode: zero canvas of `max(shape, target)` with the raw values at the top-left, no
    /// resize and no scaling.
    pub crop: bool,
}

impl Default for ReadReshape {
    fn default() -> Self {
        ReadReshape {
            target_size: (256, 32),
            binarize: false,
            interpolation: Interpolation::Linear,
            rangescale: true,
            crop: false,
        }
    }
}

/// DeLTA 2.0.7's `readreshape`: reads `path` (PNG/TIFF, first channel) and reshapes it.
///
/// Returns `f64` values as 2.0.7 does (images in `[0, 1]`, masks 0/1, weights as described in
/// [`readreshape_raw`]).
pub fn readreshape(path: impl AsRef<Path>, options: &ReadReshape) -> Result<Plane<f64>> {
    let raw = io::read_raw(path.as_ref())?;
    readreshape_raw(&raw, options)
}

/// [`readreshape`] on pixels already decoded at their native type.
///
/// Steps (spec §2.1): resize (skimage, anti-aliased) or pad; [`binarize_range`] if asked;
/// min–max rescale if asked and the range is not zero; finally, if the maximum is exactly 255,
/// divide by 255 (2.0.7's quirk that matters for weight maps in crop mode).
pub fn readreshape_raw(raw: &RawPixels, options: &ReadReshape) -> Result<Plane<f64>> {
    let (th, tw) = options.target_size;
    if th == 0 || tw == 0 {
        return Err(Error::out_of_range(
            "target_size",
            format!("{th}x{tw}"),
            "a height and width of at least 1",
        ));
    }
    let (h, w) = raw.shape();
    if h == 0 || w == 0 {
        return Err(Error::Empty {
            what: format!("the {h}x{w} image to read and reshape"),
        });
    }
    let (values, int_max) = raw_values(raw);
    let mut out = if options.crop {
        let mut canvas = Plane::filled(h.max(th), w.max(tw), 0.0f64);
        for r in 0..h {
            canvas.row_mut(r)[..w].copy_from_slice(&values[r * w..(r + 1) * w]);
        }
        canvas
    } else {
        let src = Plane::from_vec(h, w, values)?;
        skimage_resize(&src, int_max, options.interpolation, (th, tw))
    };
    if options.binarize {
        out = binarize_range(&out);
    }
    if options.rangescale {
        let (lo, hi) = min_max(out.as_slice());
        if hi > lo {
            for v in out.as_mut_slice() {
                *v = (*v - lo) / (hi - lo);
            }
        }
    }
    if min_max(out.as_slice()).1 == 255.0 {
        for v in out.as_mut_slice() {
            *v /= 255.0;
        }
    }
    Ok(out)
}

/// DeLTA 2.0.7's `binarizerange`: `1.0` where the value is strictly above `(min + max) / 2`,
/// else `0.0` (the float type is kept, as 2.0.7 keeps the dtype).
pub fn binarize_range(plane: &Plane<f64>) -> Plane<f64> {
    let (lo, hi) = min_max(plane.as_slice());
    let t = (lo + hi) / 2.0;
    plane.map(|v| if v > t { 1.0 } else { 0.0 })
}

/// DeLTA 2.0.7's `gettrackingboxes(seed, target_size)`: the crop box in image coordinates and
/// the fill box in target coordinates, both clipped (no padding).
///
/// The seed's centroid `(cx, cy)` comes from image moments, truncated to integers. With
/// `(th, tw)` = `target`: crop box `[max(cy − th/2, 0), min(cy + th/2, H)) × [max(cx − tw/2, 0),
/// min(cx + tw/2, W))`, fill box `[max(th/2 − cy, 0), min(th/2 + H − cy, th)) × (same for x)`,
/// with `th/2` a true division truncated at the end as 2.0.7 does. An empty seed is an error
/// (2.0.7 divides by zero). The newest line replaced this by [`CroppingBox::tracking_box`] with
/// zero padding, which the tracking dataset uses.
///
/// ```
/// use deltacell_data::{dataset::read::tracking_boxes, Error, Mask};
/// let seed = Mask::from_fn(8, 8, |r, c| r == 4 && c == 4);
/// let (crop, fill) = tracking_boxes(&seed, (4, 4))?;
/// assert_eq!((crop.ytl, crop.xtl, crop.ybr, crop.xbr), (2, 2, 6, 6));
/// assert_eq!((fill.ytl, fill.xtl, fill.ybr, fill.xbr), (0, 0, 4, 4));
/// let e = tracking_boxes(&Mask::zeros(8, 8), (4, 4)).unwrap_err();
/// assert!(matches!(e, Error::Empty { .. }));
/// # Ok::<(), deltacell_data::Error>(())
/// ```
pub fn tracking_boxes(seed: &Mask, target: (usize, usize)) -> Result<(CroppingBox, CroppingBox)> {
    let (h, w) = seed.shape();
    let (m00, m10, m01) = moments(seed);
    if m00 == 0.0 {
        return Err(Error::Empty {
            what: "the seed mask (the cell to centre the tracking boxes on)".into(),
        });
    }
    let cx = (m10 / m00).trunc();
    let cy = (m01 / m00).trunc();
    let (th, tw) = (target.0 as f64, target.1 as f64);
    let (hf, wf) = (h as f64, w as f64);
    let crop = CroppingBox {
        ytl: (cy - th / 2.0).max(0.0) as i64,
        xtl: (cx - tw / 2.0).max(0.0) as i64,
        ybr: (cy + th / 2.0).min(hf) as i64,
        xbr: (cx + tw / 2.0).min(wf) as i64,
    };
    let fill = CroppingBox {
        ytl: (th / 2.0 - cy).max(0.0) as i64,
        xtl: (tw / 2.0 - cx).max(0.0) as i64,
        ybr: (th / 2.0 + hf - cy).min(th) as i64,
        xbr: (tw / 2.0 + wf - cx).min(tw) as i64,
    };
    Ok((crop, fill))
}

/// Pixel values as `f64` and, for integer types, the type's maximum.
fn raw_values(raw: &RawPixels) -> (Vec<f64>, Option<f64>) {
    match raw {
        RawPixels::U8(p) => (
            p.as_slice().iter().map(|&v| f64::from(v)).collect(),
            Some(255.0),
        ),
        RawPixels::U16(p) => (
            p.as_slice().iter().map(|&v| f64::from(v)).collect(),
            Some(65535.0),
        ),
        RawPixels::U32(p) => (
            p.as_slice().iter().map(|&v| f64::from(v)).collect(),
            Some(f64::from(u32::MAX)),
        ),
        RawPixels::F32(p) => (p.as_slice().iter().map(|&v| f64::from(v)).collect(), None),
    }
}

/// scikit-image `resize(src, target, order, anti_aliasing=True)` (mode `reflect`, clip on).
fn skimage_resize(
    src: &Plane<f64>,
    int_max: Option<f64>,
    interpolation: Interpolation,
    target: (usize, usize),
) -> Plane<f64> {
    // Linear interpolation converts integers to float (img_as_float); nearest keeps integers.
    let integer = int_max.is_some() && interpolation == Interpolation::Nearest;
    let mut img = match (interpolation, int_max) {
        (Interpolation::Linear, Some(m)) => src.map(|v| v / m),
        _ => src.clone(),
    };
    let (lo, hi) = min_max(img.as_slice());
    let (h, w) = img.shape();
    let sy = ((h as f64 / target.0 as f64) - 1.0).max(0.0) / 2.0;
    let sx = ((w as f64 / target.1 as f64) - 1.0).max(0.0) / 2.0;
    // SciPy filters axis 0 then axis 1; integer outputs are cast back (truncation) each time.
    if sy > 1e-15 {
        img = gaussian_axis(&img, sy, true, integer);
    }
    if sx > 1e-15 {
        img = gaussian_axis(&img, sx, false, integer);
    }
    let mut out = zoom(&img, target, interpolation);
    for v in out.as_mut_slice() {
        *v = v.clamp(lo, hi);
    }
    out
}

/// SciPy `mirror` boundary (`d c b | a b c d | c b a`) for an index on an axis of length `n`.
fn mirror(i: i64, n: usize) -> usize {
    if n <= 1 {
        return 0;
    }
    let period = 2 * (n as i64 - 1);
    let mut i = i.rem_euclid(period);
    if i >= n as i64 {
        i = period - i;
    }
    i as usize
}

/// SciPy `gaussian_filter1d` (truncate 4.0, mode `mirror`) along rows (`vertical`) or columns.
fn gaussian_axis(src: &Plane<f64>, sigma: f64, vertical: bool, integer: bool) -> Plane<f64> {
    let radius = (4.0 * sigma + 0.5) as i64;
    let mut kernel: Vec<f64> = (-radius..=radius)
        .map(|x| (-0.5 / (sigma * sigma) * (x * x) as f64).exp())
        .collect();
    let sum: f64 = kernel.iter().sum();
    for k in &mut kernel {
        *k /= sum;
    }
    let (h, w) = src.shape();
    Plane::from_fn(h, w, |r, c| {
        let mut acc = 0.0;
        for (k, &kv) in kernel.iter().enumerate() {
            let d = k as i64 - radius;
            let v = if vertical {
                src.get(mirror(r as i64 + d, h), c)
            } else {
                src.get(r, mirror(c as i64 + d, w))
            };
            acc += kv * v;
        }
        if integer {
            acc.trunc()
        } else {
            acc
        }
    })
}

/// SciPy `zoom(grid_mode=True, mode="mirror")` at order 0 or 1.
fn zoom(src: &Plane<f64>, target: (usize, usize), interpolation: Interpolation) -> Plane<f64> {
    let (h, w) = src.shape();
    let zy = h as f64 / target.0 as f64;
    let zx = w as f64 / target.1 as f64;
    let coord = |o: usize, z: f64, n: usize| -> f64 {
        let c = (o as f64 + 0.5) * z - 0.5;
        // Reflect a coordinate outside [0, n − 1] about the edge pixel (mirror mode).
        let last = (n.max(1) - 1) as f64;
        if n <= 1 {
            0.0
        } else if c < 0.0 {
            -c
        } else if c > last {
            2.0 * last - c
        } else {
            c
        }
    };
    match interpolation {
        Interpolation::Nearest => Plane::from_fn(target.0, target.1, |r, c| {
            let y = (coord(r, zy, h) + 0.5).floor() as i64;
            let x = (coord(c, zx, w) + 0.5).floor() as i64;
            src.get(mirror(y, h), mirror(x, w))
        }),
        Interpolation::Linear => Plane::from_fn(target.0, target.1, |r, c| {
            let y = coord(r, zy, h);
            let x = coord(c, zx, w);
            let (y0, x0) = (y.floor(), x.floor());
            let (fy, fx) = (y - y0, x - x0);
            let (y0, x0) = (y0 as i64, x0 as i64);
            let (ya, yb) = (mirror(y0, h), mirror(y0 + 1, h));
            let (xa, xb) = (mirror(x0, w), mirror(x0 + 1, w));
            let top = src.get(ya, xa) * (1.0 - fx) + src.get(ya, xb) * fx;
            let bottom = src.get(yb, xa) * (1.0 - fx) + src.get(yb, xb) * fx;
            top * (1.0 - fy) + bottom * fy
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mirror_reflects_about_edge_pixels() {
        let idx: Vec<usize> = (-3..7).map(|i| mirror(i, 4)).collect();
        assert_eq!(idx, vec![3, 2, 1, 0, 1, 2, 3, 2, 1, 0]);
        assert_eq!(mirror(5, 1), 0);
    }

    #[test]
    fn crop_mode_pads_bottom_right_and_keeps_raw_values() {
        let raw = RawPixels::U8(Plane::from_vec(2, 2, vec![0, 10, 20, 30]).unwrap());
        let opts = ReadReshape {
            target_size: (3, 4),
            crop: true,
            rangescale: false,
            ..Default::default()
        };
        let out = readreshape_raw(&raw, &opts).unwrap();
        assert_eq!(out.shape(), (3, 4));
        assert_eq!(out.row(0), &[0.0, 10.0, 0.0, 0.0]);
        assert_eq!(out.row(1), &[20.0, 30.0, 0.0, 0.0]);
        assert_eq!(out.row(2), &[0.0; 4]);
    }

    #[test]
    fn binarize_range_is_strict_mid_range() {
        let p = Plane::from_vec(1, 4, vec![2.0, 4.0, 6.0, 5.0]).unwrap();
        assert_eq!(binarize_range(&p).as_slice(), &[0.0, 0.0, 1.0, 1.0]);
    }
}
