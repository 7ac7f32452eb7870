//! Resizing typed rasters (DeLTA's newest `resize_image`, `resize_mask`, `resize_labels`).
//!
//! * Images and weight maps: bilinear with OpenCV's `INTER_LINEAR` conventions: output pixel
//!   centre `d` reads input position `(d + 0.5)·(in/out) − 0.5`, and both taps are clamped to
//!   the image (replicated edge). Exact `f32` weights (OpenCV uses fixed-point weights for 8-bit
//!   inputs only).
//! * Masks: the cells are labelled (8-connected), the labels resized with nearest neighbour at
//!   pixel centres (input `floor((d + 0.5)·in/out)`), and every pixel where two different cells
//!   touch afterwards is cleared, so cells never merge. DeLTA instead rescales each cell's outer
//!   contour and fills the polygon; that fills holes and can let a downscaled cell grow into its
//!   neighbour before the touching pixels are removed. The result is the same kind of mask
//!   (separated cells, same shape), computed in one pass.

use crate::image::{Image, Labels, Mask, Plane, WeightMap};
use crate::morphology::{label, Connectivity};

/// Per output index: `(i0, i1, frac)` with `i0`, `i1` clamped to `0..n_in`.
fn linear_taps(n_in: usize, n_out: usize) -> Vec<(usize, usize, f32)> {
    let scale = n_in as f64 / n_out as f64;
    let last = n_in as isize - 1;
    (0..n_out)
        .map(|d| {
            let s = (d as f64 + 0.5) * scale - 0.5;
            let f0 = s.floor();
            let i = f0 as isize;
            (
                i.clamp(0, last) as usize,
                (i + 1).clamp(0, last) as usize,
                (s - f0) as f32,
            )
        })
        .collect()
}

fn bilinear(p: &Plane<f32>, (h, w): (usize, usize)) -> Plane<f32> {
    if p.shape() == (h, w) {
        return p.clone();
    }
    if p.is_empty() || h == 0 || w == 0 {
        return Plane::filled(h, w, 0.0);
    }
    let rows = linear_taps(p.height(), h);
    let cols = linear_taps(p.width(), w);
    let mut out = Plane::filled(h, w, 0f32);
    let mut top = vec![0f32; w];
    let mut bot = vec![0f32; w];
    for (r, &(y0, y1, fy)) in rows.iter().enumerate() {
        for (pass, y) in [(0, y0), (1, y1)] {
            let src = p.row(y);
            let dst = if pass == 0 { &mut top } else { &mut bot };
            for (o, &(x0, x1, fx)) in dst.iter_mut().zip(&cols) {
                *o = src[x0] + fx * (src[x1] - src[x0]);
            }
        }
        for ((o, t), b) in out.row_mut(r).iter_mut().zip(&top).zip(&bot) {
            *o = t + fy * (b - t);
        }
    }
    out
}

/// Nearest neighbour at pixel centres: output `d` reads input `floor((d + 0.5)·in/out)`.
fn nearest_centres<T: Copy + Default>(p: &Plane<T>, (h, w): (usize, usize)) -> Plane<T> {
    if p.is_empty() {
        return Plane::filled(h, w, T::default());
    }
    let idx = |d: usize, n_in: usize, n_out: usize| {
        (((d as f64 + 0.5) * n_in as f64 / n_out as f64) as usize).min(n_in - 1)
    };
    let cols: Vec<usize> = (0..w).map(|c| idx(c, p.width(), w)).collect();
    let mut out = Plane::filled(h, w, T::default());
    for r in 0..h {
        let src = p.row(idx(r, p.height(), h));
        for (o, &c) in out.row_mut(r).iter_mut().zip(&cols) {
            *o = src[c];
        }
    }
    out
}

/// Bilinear resize of an image to `shape` = `(height, width)` (OpenCV `INTER_LINEAR`
/// conventions, DeLTA's `resize_image`). Values stay in `[0, 1]`.
///
/// ```
/// use deltacell_data::augment::resize::resize_image;
/// use deltacell_data::{Image, Plane};
/// let flat = Image::from_plane(Plane::from_vec(2, 2, vec![0.5; 4])?);
/// let big = resize_image(&flat, (4, 6));
/// assert_eq!(big.shape(), (4, 6));
/// assert!(big.as_slice().iter().all(|&v| (v - 0.5).abs() < 1e-6));
/// # Ok::<(), deltacell_data::Error>(())
/// ```
pub fn resize_image(image: &Image, shape: (usize, usize)) -> Image {
    Image::from_plane_unchecked(bilinear(image.plane(), shape))
}

/// Resize of a weight map to `shape` = `(height, width)`, bilinear like an image (DeLTA's newest
/// `SegmentationDataset` resizes weights with `resize_image`).
pub fn resize_weights(weights: &WeightMap, shape: (usize, usize)) -> WeightMap {
    WeightMap::from_plane(bilinear(weights.plane(), shape))
}

/// Resize of a mask to `shape` = `(height, width)` that keeps touching cells separated (DeLTA's
/// `resize_mask(prevent_touching=True)`; see the module docs for the method).
///
/// ```
/// use deltacell_data::augment::resize::resize_mask;
/// use deltacell_data::Mask;
/// // A 4×4 cell in the middle of 8×8, halved: a 2×2 cell in the middle of 4×4.
/// let m = Mask::from_fn(8, 8, |r, c| (2..6).contains(&r) && (2..6).contains(&c));
/// let small = resize_mask(&m, (4, 4));
/// assert_eq!(small.shape(), (4, 4));
/// assert_eq!(small.as_slice().iter().filter(|&&v| v == 1).count(), 4);
/// assert_eq!(small.get(1, 1), 1);
/// ```
pub fn resize_mask(mask: &Mask, shape: (usize, usize)) -> Mask {
    if mask.shape() == shape {
        return mask.clone();
    }
    let (labels, _) = label(mask, Connectivity::Eight);
    let resized = Labels::from_plane(nearest_centres(labels.plane(), shape));
    super::elastic::clear_touching(&resized)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bilinear_half_pixel_convention() {
        // 1x2 -> 1x4: OpenCV gives [a, .75a+.25b, .25a+.75b, b].
        let img = Image::from_vec(1, 2, vec![0.0, 1.0]).unwrap();
        let out = resize_image(&img, (1, 4));
        assert_eq!(out.as_slice(), &[0.0, 0.25, 0.75, 1.0]);
        // 1x4 -> 1x2 averages pairs.
        let img = Image::from_vec(1, 4, vec![0.0, 0.2, 0.6, 1.0]).unwrap();
        let out = resize_image(&img, (1, 2));
        assert!((out.get(0, 0) - 0.1).abs() < 1e-6 && (out.get(0, 1) - 0.8).abs() < 1e-6);
    }

    #[test]
    fn mask_resize_separates_cells() {
        // Two cells one pixel apart; halving the width would merge them without the clearing.
        let m = Mask::from_fn(4, 8, |_, c| c != 4);
        let out = resize_mask(&m, (4, 4));
        let (_, n) = label(&out, Connectivity::Eight);
        assert_eq!(n, 2);
    }
}
