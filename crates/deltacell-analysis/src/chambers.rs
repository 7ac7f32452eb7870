//! The chambers (ROIs) of a mother-machine position, as DeLTA 3's `Position.find_roi_boxes`
//! finds them.
//!
//! The reference frame (rotated) is min-max scaled to `[0, 1]`, resized to the ROI model's
//! input size along each axis where that is a tolerable resizing, cut into the model's windows
//! (overlap ≥ 24 pixels), and given to the model ([`roi_boxes`]'s `predict`, which returns
//! logits). The windows are stitched, the logits resized back to the frame, binarised at 0,
//! opened with a 5 × 5 square and cleared of components under `min_area` pixels (DeLTA's
//! `postprocess`, 8-connected). Each remaining object's outer contour (OpenCV's `findContours`
//! with `RETR_EXTERNAL`) gives a bounding rectangle, widened by DeLTA's margins
//! ([`boxes_from_mask`]), and the boxes are sorted along the axis where they are the most
//! spread.

use deltacell_data::augment::resize::resize_image;
use deltacell_data::morphology::{label, Connectivity};
use deltacell_data::postprocess::{fill_holes, postprocess, PostprocessParams};
use deltacell_data::tiles::Windows;
use deltacell_data::{Image, Mask, Plane};

use crate::error::{Error, Result};
use crate::results::CropBox;

fn chambers_error(problem: impl Into<String>) -> Error {
    Error::Preprocess {
        step: "chambers",
        problem: problem.into(),
    }
}

/// The ROI model's settings that [`roi_boxes`] needs (DeLTA's `config.models["rois"]` and
/// `find_roi_boxes`'s `min_overlap_crop`).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct RoiParams {
    /// The model's input `(height, width)`, pixels (DeLTA: 512 × 512).
    pub target_size: (usize, usize),
    /// Objects of fewer pixels are not chambers (DeLTA's `min_roi_area`: 500).
    pub min_area: usize,
    /// An axis of the reference is resized to the target when `size < target · (factor + 1)`
    /// (DeLTA's `tolerable_resizing_rois`: 4); must be ≥ 0.
    pub tolerable_resizing_factor: f64,
    /// Minimum overlap of neighbouring windows, pixels (DeLTA: 24); below both target sides.
    pub min_overlap: usize,
}

impl Default for RoiParams {
    /// DeLTA's mother-machine settings: 512 × 512, 500 pixels, factor 4, overlap 24.
    fn default() -> Self {
        RoiParams {
            target_size: (512, 512),
            min_area: 500,
            tolerable_resizing_factor: 4.0,
            min_overlap: 24,
        }
    }
}

/// The size the reference is resized to: per axis, the target when
/// `size < target · (factor + 1)`, else the size itself.
///
/// ```
/// use deltacell_analysis::chambers::{resized_shape, RoiParams};
/// let p = RoiParams::default();
/// assert_eq!(resized_shape((520, 696), &p), (512, 512));
/// assert_eq!(resized_shape((520, 2600), &p), (512, 2600));
/// ```
pub fn resized_shape(shape: (usize, usize), params: &RoiParams) -> (usize, usize) {
    let axis = |size: usize, target: usize| {
        if (size as f64) < target as f64 * (params.tolerable_resizing_factor + 1.0) {
            target
        } else {
            size
        }
    };
    (
        axis(shape.0, params.target_size.0),
        axis(shape.1, params.target_size.1),
    )
}

/// DeLTA's `find_roi_boxes(reference, config)`, with the ROI model given as `predict`: it maps
/// the input windows (values in `[0, 1]`, each of `params.target_size`, row-major tiles of the
/// resized reference) to the model's logits, one plane of the same shape per window.
///
/// Returns the chambers' boxes in the reference's coordinates (they may extend past the frame
/// by their margins), sorted along the more spread axis. Fails on an empty or constant
/// reference, a negative resizing factor, a `predict` that returns the wrong number or shape of
/// planes (or fails itself), and when no chamber is found.
///
/// ```
/// use deltacell_data::Plane;
/// use deltacell_analysis::chambers::{roi_boxes, RoiParams};
/// use deltacell_analysis::results::CropBox;
/// // A model that sees chambers where the reference is bright.
/// let reference = Plane::from_fn(64, 64, |r, c| {
///     if (8..48).contains(&r) && ((10..20).contains(&c) || (40..50).contains(&c)) { 1.0f32 } else { 0.1 }
/// });
/// let params = RoiParams { target_size: (32, 32), min_area: 20, tolerable_resizing_factor: 0.0, min_overlap: 8 };
/// let boxes = roi_boxes(&reference, &params, |windows| {
///     Ok(windows.iter().map(|w| w.map(|v| if v > 0.5 { 5.0 } else { -5.0 })).collect())
/// })?;
/// assert_eq!(boxes, vec![
///     CropBox { xtl: 10, ytl: 6, xbr: 20, ybr: 50 },
///     CropBox { xtl: 40, ytl: 6, xbr: 50, ybr: 50 },
/// ]);
/// # Ok::<(), deltacell_analysis::Error>(())
/// ```
pub fn roi_boxes<F>(
    reference: &Plane<f32>,
    params: &RoiParams,
    mut predict: F,
) -> Result<Vec<CropBox>>
where
    F: FnMut(&[Plane<f32>]) -> Result<Vec<Plane<f32>>>,
{
    let (h, w) = reference.shape();
    if h == 0 || w == 0 {
        return Err(chambers_error("empty reference frame"));
    }
    if params.tolerable_resizing_factor.is_nan() || params.tolerable_resizing_factor < 0.0 {
        return Err(chambers_error(format!(
            "the tolerable resizing factor must be ≥ 0, got {}",
            params.tolerable_resizing_factor
        )));
    }
    let (mut lo, mut hi) = (f32::INFINITY, f32::NEG_INFINITY);
    for &v in reference.as_slice() {
        if v.is_nan() {
            return Err(chambers_error("NaN pixel in the reference frame"));
        }
        lo = lo.min(v);
        hi = hi.max(v);
    }
    if hi <= lo {
        return Err(chambers_error(
            "constant reference frame (max = min): cannot be rescaled for the ROI model",
        ));
    }
    let span = hi - lo;
    let scaled = reference.map(|v| (v - lo) / span);
    let new_shape = resized_shape((h, w), params);
    let resized = resize_image(&Image::from_plane_unchecked(scaled), new_shape);
    let windows = Windows::new(new_shape, params.target_size, params.min_overlap)?;
    let inputs = windows.cut(resized.plane());
    let logits = predict(&inputs)?;
    if logits.len() != inputs.len() {
        return Err(chambers_error(format!(
            "the ROI model returned {} outputs for {} windows",
            logits.len(),
            inputs.len()
        )));
    }
    if let Some(bad) = logits.iter().find(|l| l.shape() != params.target_size) {
        return Err(chambers_error(format!(
            "the ROI model returned a {}×{} output, expected {}×{}",
            bad.height(),
            bad.width(),
            params.target_size.0,
            params.target_size.1
        )));
    }
    let stitched = windows.stitch(&logits)?;
    let back = resize_image(&Image::from_plane_unchecked(stitched), (h, w));
    boxes_from_logits(back.plane(), params.min_area)
}

/// DeLTA's clean-up and boxes for logits already at the reference's size: `postprocess(logits,
/// min_size=min_area)` (threshold 0, 5 × 5 opening, 8-connected components under `min_area`
/// pixels removed), then [`boxes_from_mask`]. Fails when no chamber remains.
///
/// ```
/// use deltacell_data::Plane;
/// use deltacell_analysis::chambers::boxes_from_logits;
/// let logits = Plane::from_fn(40, 30, |r, c| if (5..35).contains(&r) && (10..20).contains(&c) { 3.0f32 } else { -3.0 });
/// let b = boxes_from_logits(&logits, 100)?;
/// assert_eq!((b[0].xtl, b[0].ytl, b[0].xbr, b[0].ybr), (10, 4, 20, 36));
/// assert!(boxes_from_logits(&logits, 301).is_err());
/// # Ok::<(), deltacell_analysis::Error>(())
/// ```
pub fn boxes_from_logits(logits: &Plane<f32>, min_area: usize) -> Result<Vec<CropBox>> {
    let mask = postprocess(logits, &PostprocessParams::logits(5, Some(min_area)));
    let boxes = boxes_from_mask(&mask);
    if boxes.is_empty() {
        return Err(chambers_error(format!(
            "no chamber found: no object of at least {min_area} pixels in the ROI model's \
             prediction (check the images and the settings)"
        )));
    }
    Ok(boxes)
}

/// The boxes DeLTA makes from a chamber mask: for each outer contour (OpenCV's `findContours`,
/// `RETR_EXTERNAL`: 8-connected objects, objects inside another's hole skipped; listed from the
/// object found last in a raster scan to the first, as OpenCV lists them) the bounding
/// rectangle `(x, y, bw, bh)`, widened to `xtl = x − int(0.05·bw)`, `ytl = y − int(0.05·bh)`,
/// `xbr = x + int(1.05·bw)`, `ybr = y + int(1.05·bh)` (`int` truncates; `xbr`, `ybr`
/// excluded), then sorted (stably) by `xtl` when the spread of the `xtl` exceeds that of the
/// `ytl`, else by `ytl`. An empty mask gives no box.
///
/// ```
/// use deltacell_data::Mask;
/// use deltacell_analysis::chambers::boxes_from_mask;
/// use deltacell_analysis::results::CropBox;
/// // Two 20-pixel-wide chambers side by side, 40 pixels tall.
/// let m = Mask::from_fn(50, 80, |r, c| (5..45).contains(&r) && ((10..30).contains(&c) || (50..70).contains(&c)));
/// assert_eq!(boxes_from_mask(&m), vec![
///     CropBox { xtl: 9, ytl: 3, xbr: 31, ybr: 47 },
///     CropBox { xtl: 49, ytl: 3, xbr: 71, ybr: 47 },
/// ]);
/// ```
pub fn boxes_from_mask(mask: &Mask) -> Vec<CropBox> {
    let filled = fill_holes(mask);
    let (labels, n) = label(&filled, Connectivity::Eight);
    // Bounding rectangles per label (labels numbered in raster order of their first pixel).
    let mut rects = vec![(i64::MAX, i64::MAX, i64::MIN, i64::MIN); n as usize];
    let w = labels.width();
    for (i, &l) in labels.as_slice().iter().enumerate() {
        if l == 0 {
            continue;
        }
        let (r, c) = ((i / w) as i64, (i % w) as i64);
        let e = &mut rects[l as usize - 1];
        e.0 = e.0.min(c);
        e.1 = e.1.min(r);
        e.2 = e.2.max(c);
        e.3 = e.3.max(r);
    }
    let mut boxes: Vec<CropBox> = rects
        .iter()
        .rev()
        .map(|&(x0, y0, x1, y1)| {
            let (bw, bh) = ((x1 - x0 + 1) as f64, (y1 - y0 + 1) as f64);
            CropBox {
                xtl: x0 - (0.05 * bw) as i64,
                ytl: y0 - (0.05 * bh) as i64,
                xbr: x0 + (1.05 * bw) as i64,
                ybr: y0 + (1.05 * bh) as i64,
            }
        })
        .collect();
    if boxes.is_empty() {
        return boxes;
    }
    let spread = |f: fn(&CropBox) -> i64| {
        let max = boxes.iter().map(f).max().unwrap_or(0);
        let min = boxes.iter().map(f).min().unwrap_or(0);
        max - min
    };
    if spread(|b| b.xtl) > spread(|b| b.ytl) {
        boxes.sort_by_key(|b| b.xtl);
    } else {
        boxes.sort_by_key(|b| b.ytl);
    }
    boxes
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nested_object_is_skipped() {
        // A ring with an object in its hole: one external contour.
        let m = Mask::from_fn(20, 20, |r, c| {
            let ring = (2..18).contains(&r)
                && (2..18).contains(&c)
                && !((4..16).contains(&r) && (4..16).contains(&c));
            let inner = (8..12).contains(&r) && (8..12).contains(&c);
            ring || inner
        });
        let b = boxes_from_mask(&m);
        assert_eq!(b.len(), 1);
    }

    #[test]
    fn empty_mask_has_no_box() {
        assert!(boxes_from_mask(&Mask::zeros(10, 10)).is_empty());
    }

    #[test]
    fn bad_inputs_are_errors() {
        let p = RoiParams::default();
        let ok = |w: &[Plane<f32>]| -> Result<Vec<Plane<f32>>> { Ok(w.to_vec()) };
        assert!(roi_boxes(&Plane::filled(0, 0, 0f32), &p, ok).is_err());
        assert!(roi_boxes(&Plane::filled(40, 40, 0.3f32), &p, ok).is_err());
        let img = Plane::from_fn(40, 40, |r, _| r as f32 / 40.0);
        let neg = RoiParams {
            tolerable_resizing_factor: -1.0,
            ..p
        };
        assert!(roi_boxes(&img, &neg, ok).is_err());
        // Wrong number and shape of outputs.
        assert!(roi_boxes(&img, &p, |_| Ok(Vec::new())).is_err());
        assert!(roi_boxes(&img, &p, |w| Ok(vec![Plane::filled(3, 3, 1f32); w.len()])).is_err());
        // Everything below 0: no chamber.
        assert!(roi_boxes(&img, &p, |w| Ok(vec![
            Plane::filled(512, 512, -1f32);
            w.len()
        ]))
        .is_err());
    }
}
