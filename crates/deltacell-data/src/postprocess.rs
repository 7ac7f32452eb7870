//! Turning network outputs into cell masks and labels (spec §2.1, §2.7): thresholding, opening,
//! small-object removal, hole filling, area filtering and DeLTA's `label_seg` numbering.
//!
//! Two DeLTA versions are covered:
//! * 2.0.7 `data.postprocess`: [`binarizerange`] (threshold at the image's mid-range
//!   `(min + max) / 2`, strict `>`), binary opening with a square, `remove_small_objects` with
//!   4-connectivity (area `< min_size` removed). [`PostprocessParams::v207`].
//! * newest `imgops.postprocess`: the network gives logits, so the threshold is 0; opening with a
//!   square; 8-connected components with area `< min_size` removed. [`PostprocessParams::logits`].
//!
//! Differences from DeLTA, on purpose:
//! * Outputs are [`Mask`]s (u8 0/1) whatever the input type; 2.0.7's `binarizerange` returned
//!   0.0/1.0 in the input's float type.
//! * Opening is the true morphological opening (the union of all `k×k` squares that fit inside
//!   the mask) for every `k`. For odd `k` (DeLTA's 3 and 5) this is exactly scikit-image's and
//!   OpenCV's result; for even `k` their anchor conventions may place it one pixel off.
//!   Pixels outside the image count as foreground for the erosion and background for the
//!   dilation, as both libraries do.
//! * [`filter_areas`] measures a cell as DeLTA does, by the area of the polygon through the
//!   centres of its outer contour pixels (OpenCV `contourArea`), but without tracing contours:
//!   that area is the sum over all 2×2 pixel windows of 1 (four cell pixels) or ½ (three), since
//!   an 8-connected contour cuts a window with one missing corner along its diagonal and runs
//!   along the edges of windows with fewer cell pixels. It is about half a perimeter smaller
//!   than the pixel count (0 for a one-pixel-wide object); [`contour_areas`] returns it.

use crate::image::{Labels, Mask, Plane};
use crate::morphology::{label, Connectivity};

/// DeLTA 2.0.7's `binarizerange`: `1` where the value is strictly above `(min + max) / 2`.
///
/// The threshold is computed in `f64` from the values as given. A constant plane gives all 0.
pub fn binarizerange<T: Copy + Into<f64>>(plane: &Plane<T>) -> Mask {
    binarize_threshold(plane, None)
}

/// DeLTA's newest `imgops.binarize_threshold`: `1` where the value is strictly above
/// `threshold`, or above the mid-range `(min + max) / 2` when `threshold` is `None`.
pub fn binarize_threshold<T: Copy + Into<f64>>(plane: &Plane<T>, threshold: Option<f64>) -> Mask {
    let t = threshold.unwrap_or_else(|| {
        let (mut lo, mut hi) = (f64::INFINITY, f64::NEG_INFINITY);
        for &v in plane.as_slice() {
            let v: f64 = v.into();
            lo = lo.min(v);
            hi = hi.max(v);
        }
        (lo + hi) / 2.0
    });
    Mask::from_plane(plane.map(|v| u8::from(v.into() > t)))
}

/// Erosion (`min`) or dilation (`max`) with a `k×k` square along one axis, in place over `lines`.
fn line_filter(src: &[u8], dst: &mut [u8], k: usize, erode: bool) {
    let n = src.len();
    // Offsets covered: [-before, after]; the dilation uses the mirrored square so that
    // dilate(erode(x)) is the opening for even k as well.
    let (before, after) = if erode {
        (k / 2, k - 1 - k / 2)
    } else {
        (k - 1 - k / 2, k / 2)
    };
    for (i, d) in dst.iter_mut().enumerate() {
        let lo = i.saturating_sub(before);
        let hi = (i + after).min(n - 1);
        let window = &src[lo..=hi];
        *d = if erode {
            // Outside pixels count as foreground for the erosion: only inside pixels matter.
            u8::from(window.iter().all(|&v| v != 0))
        } else {
            u8::from(window.iter().any(|&v| v != 0))
        };
    }
}

fn square_filter(mask: &Mask, k: usize, erode: bool) -> Mask {
    let (h, w) = mask.shape();
    if k <= 1 || h == 0 || w == 0 {
        return mask.clone();
    }
    let mut tmp = vec![0u8; h * w];
    for r in 0..h {
        line_filter(mask.row(r), &mut tmp[r * w..(r + 1) * w], k, erode);
    }
    let mut out = vec![0u8; h * w];
    let mut col = vec![0u8; h];
    let mut col_out = vec![0u8; h];
    for c in 0..w {
        for r in 0..h {
            col[r] = tmp[r * w + c];
        }
        line_filter(&col, &mut col_out, k, erode);
        for r in 0..h {
            out[r * w + c] = col_out[r];
        }
    }
    Mask::from_plane(Plane::from_vec(h, w, out).unwrap_or_else(|_| Plane::filled(h, w, 0)))
}

/// Binary erosion with a `size × size` square (outside the image counts as foreground).
pub fn erode_square(mask: &Mask, size: usize) -> Mask {
    square_filter(mask, size, true)
}

/// Binary dilation with a `size × size` square (outside the image counts as background).
pub fn dilate_square(mask: &Mask, size: usize) -> Mask {
    square_filter(mask, size, false)
}

/// Binary opening with a `size × size` square (DeLTA: `binary_opening(square(size))`, OpenCV
/// `MORPH_OPEN` with an all-ones kernel). `size` 0 or 1 leaves the mask unchanged.
pub fn opening(mask: &Mask, size: usize) -> Mask {
    dilate_square(&erode_square(mask, size), size)
}

/// Removes connected components with fewer than `min_size` pixels (scikit-image
/// `remove_small_objects`; DeLTA 2.0.7 uses [`Connectivity::Four`], the newest line
/// [`Connectivity::Eight`]).
pub fn remove_small_objects(mask: &Mask, min_size: usize, connectivity: Connectivity) -> Mask {
    let (labels, n) = label(mask, connectivity);
    let mut area = vec![0usize; n as usize + 1];
    for &l in labels.as_slice() {
        area[l as usize] += 1;
    }
    Mask::from_plane(labels.map(|l| u8::from(l != 0 && area[l as usize] >= min_size)))
}

/// Fills holes: background regions (4-connected) that do not touch the image border become
/// cells (scipy's `binary_fill_holes`).
pub fn fill_holes(mask: &Mask) -> Mask {
    let (h, w) = mask.shape();
    let outside = outside_background(mask);
    Mask::from_plane(Plane::from_fn(h, w, |r, c| {
        u8::from(mask.get(r, c) != 0 || !outside[r * w + c])
    }))
}

/// Background pixels 4-connected to the image border (flood fill from the frame).
fn outside_background(mask: &Mask) -> Vec<bool> {
    let (h, w) = mask.shape();
    let m = mask.as_slice();
    let mut seen = vec![false; h * w];
    let mut stack = Vec::new();
    for r in 0..h {
        for c in 0..w {
            if (r == 0 || c == 0 || r + 1 == h || c + 1 == w) && m[r * w + c] == 0 {
                seen[r * w + c] = true;
                stack.push(r * w + c);
            }
        }
    }
    while let Some(i) = stack.pop() {
        let (r, c) = (i / w, i % w);
        let mut visit = |j: usize| {
            if !seen[j] && m[j] == 0 {
                seen[j] = true;
                stack.push(j);
            }
        };
        if r > 0 {
            visit(i - w);
        }
        if r + 1 < h {
            visit(i + w);
        }
        if c > 0 {
            visit(i - 1);
        }
        if c + 1 < w {
            visit(i + 1);
        }
    }
    seen
}

/// The regions enclosed by the external contours of `mask`, as OpenCV's `findContours
/// (RETR_EXTERNAL)` + `fillPoly` give them: 8-connected cells with their holes (and anything
/// inside them) filled. Returns the labels in raster order of each region's first pixel and the
/// count.
fn filled_external(mask: &Mask) -> (Labels, u32) {
    let (h, w) = mask.shape();
    let outside = outside_background(mask);
    let filled = Mask::from_plane(Plane::from_fn(h, w, |r, c| u8::from(!outside[r * w + c])));
    label(&filled, Connectivity::Eight)
}

/// The area of each external contour of `mask` as OpenCV's `contourArea` gives it (see the
/// module docs), in pixels², indexed by the labels of the filled external contours (`[0]` is
/// unused). Returns those labels too.
pub fn contour_areas(mask: &Mask) -> (Labels, Vec<f64>) {
    let (labels, n) = filled_external(mask);
    let (h, w) = labels.shape();
    // Twice the area, as integers: 2 per full window, 1 per window with three cell pixels.
    let mut twice = vec![0u64; n as usize + 1];
    for r in 0..h.saturating_sub(1) {
        let (top, bottom) = (labels.row(r), labels.row(r + 1));
        for c in 0..w.saturating_sub(1) {
            let px = [top[c], top[c + 1], bottom[c], bottom[c + 1]];
            let inside = px.iter().filter(|&&l| l != 0).count();
            // All cell pixels of a 2x2 window belong to one contour (they are 8-adjacent).
            let l = px.iter().copied().find(|&l| l != 0).unwrap_or(0) as usize;
            twice[l] += match inside {
                4 => 2,
                3 => 1,
                _ => 0,
            };
        }
    }
    (labels, twice.into_iter().map(|t| t as f64 / 2.0).collect())
}

/// Removes cells (external contours, with everything inside them) whose contour area is below
/// `min_area` or above `max_area` (DeLTA's `opencv_areafilt` / newest `imgops.filter_areas`,
/// default `min_area` 20). Areas are OpenCV's `contourArea` (see [`contour_areas`]).
pub fn filter_areas(mask: &Mask, min_area: f64, max_area: Option<f64>) -> Mask {
    let (labels, area) = contour_areas(mask);
    let keep: Vec<bool> = area
        .iter()
        .map(|&a| a >= min_area && max_area.is_none_or(|m| a <= m))
        .collect();
    let (h, w) = mask.shape();
    Mask::from_plane(Plane::from_fn(h, w, |r, c| {
        let l = labels.get(r, c) as usize;
        u8::from(mask.get(r, c) != 0 && l != 0 && keep[l])
    }))
}

/// DeLTA's `label_seg`: numbers the cells of `mask` `1..=n` from the top of the image to the
/// bottom, by the lowest point (largest row) of each cell.
///
/// A cell is an external contour (8-connected component) filled, so holes and anything nested
/// inside a cell take that cell's number. Cells whose lowest points are on the same row keep
/// OpenCV's contour order (the cell found last in a raster scan comes first), which the DeLTA
/// reference case confirms. DeLTA 2.0.7 first thresholds a float input at 0.5: do that with
/// [`binarize_threshold`] before calling this.
pub fn label_seg(mask: &Mask) -> Labels {
    let (labels, n) = filled_external(mask);
    let numbers: Vec<u32> = (1..=n).collect();
    relabel_by_lowest_point(&labels, n, &numbers)
}

/// [`label_seg`] with DeLTA's `cellnumbers`: the `i`-th cell from the top gets `numbers[i]`.
/// Errors with [`crate::Error::LengthMismatch`] when `numbers` does not have one entry per cell
/// (DeLTA's "cellnumbers must have the same length" ValueError).
///
/// ```
/// use deltacell_data::{postprocess::label_seg_with, Error, Mask};
/// // Two cells: the one in the top row is first from the top.
/// let mask = Mask::from_fn(4, 3, |r, _| r == 0 || r == 3);
/// let labels = label_seg_with(&mask, &[7, 9])?;
/// assert_eq!((labels.get(0, 0), labels.get(3, 2)), (7, 9));
/// let e = label_seg_with(&mask, &[7]).unwrap_err();
/// assert!(matches!(e, Error::LengthMismatch { expected: 2, found: 1, .. }));
/// # Ok::<(), deltacell_data::Error>(())
/// ```
pub fn label_seg_with(mask: &Mask, numbers: &[u32]) -> crate::Result<Labels> {
    let (labels, n) = filled_external(mask);
    if numbers.len() != n as usize {
        return Err(crate::Error::LengthMismatch {
            what: "cell numbers (one per cell of the mask)".into(),
            expected: n as usize,
            found: numbers.len(),
        });
    }
    Ok(relabel_by_lowest_point(&labels, n, numbers))
}

fn relabel_by_lowest_point(labels: &Labels, n: u32, numbers: &[u32]) -> Labels {
    let w = labels.width();
    let mut lowest = vec![0usize; n as usize + 1];
    for (i, &l) in labels.as_slice().iter().enumerate() {
        if l != 0 {
            lowest[l as usize] = lowest[l as usize].max(i / w);
        }
    }
    // Raster labels are in order of first pixel; OpenCV lists later contours first.
    let mut order: Vec<u32> = (1..=n).rev().collect();
    order.sort_by_key(|&l| lowest[l as usize]);
    let mut map = vec![0u32; n as usize + 1];
    for (k, &l) in order.iter().enumerate() {
        map[l as usize] = numbers[k];
    }
    Labels::from_plane(labels.map(|l| map[l as usize]))
}

/// How a prediction is thresholded by [`postprocess`].
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Threshold {
    /// Each image's mid-range `(min + max) / 2` (DeLTA 2.0.7's `binarizerange`).
    MidRange,
    /// A fixed value: 0 for logits (newest DeLTA), 0.5 for sigmoid probabilities.
    Fixed(f32),
}

/// Parameters of [`postprocess`] (DeLTA's `postprocess(images, square_size, min_size, crop)`).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct PostprocessParams {
    /// How to threshold.
    pub threshold: Threshold,
    /// Side of the opening square in pixels (DeLTA default 5); 0 or 1 skips the opening.
    /// DeLTA skips the opening when `crop` is set: pass 0 then.
    pub square_size: usize,
    /// Remove connected components with fewer pixels (DeLTA default `None`: keep all).
    pub min_size: Option<usize>,
    /// Connectivity of the components counted by `min_size`.
    pub connectivity: Connectivity,
}

impl PostprocessParams {
    /// DeLTA 2.0.7: mid-range threshold, opening with `square_size`, 4-connected removal.
    pub fn v207(square_size: usize, min_size: Option<usize>) -> Self {
        PostprocessParams {
            threshold: Threshold::MidRange,
            square_size,
            min_size,
            connectivity: Connectivity::Four,
        }
    }

    /// Newest DeLTA, for logits: threshold 0, opening with `square_size`, 8-connected removal.
    pub fn logits(square_size: usize, min_size: Option<usize>) -> Self {
        PostprocessParams {
            threshold: Threshold::Fixed(0.0),
            square_size,
            min_size,
            connectivity: Connectivity::Eight,
        }
    }
}

impl Default for PostprocessParams {
    /// [`PostprocessParams::logits`] with DeLTA's defaults: square 5, no size filter.
    fn default() -> Self {
        PostprocessParams::logits(5, None)
    }
}

/// DeLTA's `postprocess` for one prediction: threshold, opening, small-object removal.
///
/// ```
/// use deltacell_data::{Plane, postprocess::{postprocess, PostprocessParams}};
/// let logits = Plane::from_vec(2, 3, vec![-3.0f32, -1.0, 1.5, 3.0, 0.5, -0.1]).unwrap();
/// let m = postprocess(&logits, &PostprocessParams::logits(0, None));
/// assert_eq!(m.as_slice(), &[0, 0, 1, 1, 1, 0]);
/// ```
pub fn postprocess(prediction: &Plane<f32>, params: &PostprocessParams) -> Mask {
    let mut mask = match params.threshold {
        Threshold::MidRange => binarizerange(prediction),
        Threshold::Fixed(t) => binarize_threshold(prediction, Some(f64::from(t))),
    };
    if params.square_size > 1 {
        mask = opening(&mask, params.square_size);
    }
    if let Some(min) = params.min_size {
        mask = remove_small_objects(&mask, min, params.connectivity);
    }
    mask
}

/// Turns a tracking output into whole cells: the cells of frame *t* (`cells`, DeLTA's `segall`
/// input channel, cropped like the output) whose mean predicted probability is at least
/// `min_score` (in `[0, 1]`; 0.5 is the natural choice for a sigmoid output).
///
/// A tracking U-Net answers "which cells of frame *t* are this seed cell, or its daughter";
/// DeLTA's pipeline reads its output that way, scoring every segmented cell by the mean of the
/// prediction over its pixels and attributing the best cells to the seed. Thresholding the raw
/// output pixel by pixel instead leaves specks and halos, and merges a mother and her daughter
/// into one blob whenever the model is generous on the gap between them. The result here has
/// the exact shapes of the segmented cells. Cells are 4-connected components of `cells` (DeLTA
/// labels its seed cells that way).
///
/// Errors when the two planes differ in shape.
pub fn attribute_tracking(
    probabilities: &Plane<f32>,
    cells: &Mask,
    min_score: f32,
) -> crate::Result<Mask> {
    if probabilities.shape() != cells.shape() {
        return Err(crate::Error::ShapeMismatch {
            context: "tracking output vs the cells of frame t".into(),
            expected: cells.shape(),
            found: probabilities.shape(),
        });
    }
    let (labels, n) = label(cells, Connectivity::Four);
    let mut sum = vec![0f64; n as usize + 1];
    let mut area = vec![0u32; n as usize + 1];
    for (&l, &p) in labels.as_slice().iter().zip(probabilities.as_slice()) {
        sum[l as usize] += f64::from(p);
        area[l as usize] += 1;
    }
    let keep: Vec<bool> = (0..=n as usize)
        .map(|l| l > 0 && area[l] > 0 && sum[l] / f64::from(area[l]) >= f64::from(min_score))
        .collect();
    Ok(Mask::from_plane(labels.map(|l| u8::from(keep[l as usize]))))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(h: usize, w: usize, v: &[u8]) -> Mask {
        Mask::from_vec(h, w, v.to_vec()).unwrap()
    }

    /// Issue 20's merge symptom in miniature: two 10×30 rods joined by a 3-px bridge (a gap the
    /// model did not quite open). 8-connected labelling keeps them one object; DeLTA's 5×5
    /// opening (`--opening 5`) cuts the bridge and gives two; a bridge of one diagonal pixel
    /// step is two objects only with 4-connectivity.
    #[test]
    fn opening_splits_rods_joined_by_a_narrow_bridge() {
        let rods = Mask::from_fn(30, 40, |r, c| {
            (10..20).contains(&r) && ((2..17).contains(&c) || (20..35).contains(&c))
                || ((14..17).contains(&r) && (17..20).contains(&c))
        });
        let count = |mask: &Mask, conn| crate::morphology::label(mask, conn).1;
        assert_eq!(count(&rods, Connectivity::Eight), 1);
        assert_eq!(count(&opening(&rods, 5), Connectivity::Eight), 2);
        let logits = rods.map(|v| if v != 0 { 4.0f32 } else { -4.0 });
        let open = PostprocessParams::logits(5, Some(20));
        assert_eq!(count(&postprocess(&logits, &open), Connectivity::Eight), 2);
        let kept = PostprocessParams::logits(0, Some(20));
        assert_eq!(count(&postprocess(&logits, &kept), Connectivity::Eight), 1);
        let diagonal = m(2, 2, &[1, 0, 0, 1]);
        assert_eq!(count(&diagonal, Connectivity::Eight), 1);
        assert_eq!(count(&diagonal, Connectivity::Four), 2);
    }

    #[test]
    fn binarize_midrange_is_strict() {
        let p = Plane::from_vec(1, 4, vec![0.0f64, 1.0, 2.0, 1.0000001]).unwrap();
        assert_eq!(binarizerange(&p).as_slice(), &[0, 0, 1, 1]);
        let c = Plane::filled(2, 2, 3.0f32);
        assert_eq!(binarizerange(&c).count(), 0);
    }

    #[test]
    fn opening_removes_thin_parts_and_keeps_squares() {
        // A 3x3 block with a one-pixel tail.
        #[rustfmt::skip]
        let mask = m(5, 6, &[
            0, 0, 0, 0, 0, 0,
            1, 1, 1, 0, 0, 0,
            1, 1, 1, 1, 1, 1,
            1, 1, 1, 0, 0, 0,
            0, 0, 0, 0, 0, 0,
        ]);
        let o = opening(&mask, 3);
        #[rustfmt::skip]
        let want = [
            0, 0, 0, 0, 0, 0,
            1, 1, 1, 0, 0, 0,
            1, 1, 1, 0, 0, 0,
            1, 1, 1, 0, 0, 0,
            0, 0, 0, 0, 0, 0,
        ];
        assert_eq!(o.as_slice(), &want);
        // Touching the border is not erosion: outside counts as foreground.
        let full = Mask::filled(4, 4, 1);
        assert_eq!(opening(&full, 3), full);
        // Even sizes: still anti-extensive and idempotent.
        let o2 = opening(&mask, 2);
        assert!(o2
            .as_slice()
            .iter()
            .zip(mask.as_slice())
            .all(|(a, b)| a <= b));
        assert_eq!(opening(&o2, 2), o2);
        assert_eq!(o2.count(), 9);
    }

    #[test]
    fn min_size_uses_connectivity() {
        // Two diagonal pixels plus one separate pixel.
        let mask = m(3, 4, &[1, 0, 0, 1, 0, 1, 0, 0, 0, 0, 0, 0]);
        assert_eq!(
            remove_small_objects(&mask, 2, Connectivity::Eight).count(),
            2
        );
        assert_eq!(
            remove_small_objects(&mask, 2, Connectivity::Four).count(),
            0
        );
    }

    #[test]
    fn holes_are_filled_and_areas_filtered() {
        #[rustfmt::skip]
        let mask = m(5, 7, &[
            1, 1, 1, 0, 0, 0, 1,
            1, 0, 1, 0, 0, 0, 0,
            1, 1, 1, 0, 1, 1, 0,
            0, 0, 0, 0, 1, 1, 0,
            0, 0, 0, 0, 0, 0, 0,
        ]);
        let f = fill_holes(&mask);
        assert_eq!(f.get(1, 1), 1);
        assert_eq!(f.count(), mask.count() + 1);
        // Contour areas: ring 4 (3x3 polygon), dot 0, square 1 (2x2 polygon).
        let (labels, areas) = contour_areas(&mask);
        assert_eq!(labels.max_label(), 3);
        assert_eq!(&areas[1..], &[4.0, 0.0, 1.0]); // raster order: ring, dot, square
        let kept = filter_areas(&mask, 1.0, Some(3.0));
        assert_eq!(kept.count(), 4);
        assert_eq!(kept.get(2, 4), 1);
        assert_eq!(filter_areas(&mask, 2.0, None).count(), 8);
        // An L of three pixels is a right triangle of area 1/2.
        let l = m(2, 2, &[1, 0, 1, 1]);
        assert_eq!(contour_areas(&l).1[1], 0.5);
    }

    #[test]
    fn label_seg_numbers_by_lowest_point_and_fills() {
        #[rustfmt::skip]
        let mask = m(6, 5, &[
            0, 0, 0, 1, 1,
            1, 1, 1, 1, 1,
            1, 0, 1, 0, 0,
            1, 1, 1, 0, 0,
            0, 0, 0, 0, 1,
            0, 1, 0, 0, 1,
        ]);
        let l = label_seg(&mask);
        // The ring (lowest row 3) is 1, the right bar and the dot (lowest row 5) follow; the one
        // found later in raster order (the dot at (5,1)) comes first on ties.
        assert_eq!(l.get(2, 1), 1, "hole filled with its cell's number");
        assert_eq!(l.get(0, 4), 1);
        assert_eq!(l.get(5, 1), 2);
        assert_eq!(l.get(4, 4), 3);
        assert!(label_seg_with(&mask, &[5, 6]).is_err());
        let l = label_seg_with(&mask, &[7, 8, 9]).unwrap();
        assert_eq!(l.get(5, 4), 9);
    }

    #[test]
    fn newest_postprocess_min_size() {
        // Logit blobs of 4 (kept) and 3 pixels (removed) with min_size 4, no opening.
        #[rustfmt::skip]
        let logits = Plane::from_vec(3, 5, vec![
            1.0f32, 1.0, -1.0, 2.0, 2.0,
            1.0, 1.0, -1.0, 2.0, -1.0,
            -1.0, -1.0, -1.0, -1.0, -1.0,
        ]).unwrap();
        let out = postprocess(&logits, &PostprocessParams::logits(0, Some(4)));
        assert_eq!(
            out.as_slice(),
            &[1, 1, 0, 0, 0, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0]
        );
    }

    #[test]
    fn attribute_tracking_keeps_whole_cells_by_mean_score() {
        // Three cells in a 6×5 frame: rows 0–1, row 3, row 5 (each a full-width stripe).
        let cells = Mask::from_fn(6, 5, |r, _| r != 2 && r != 4);
        // The prediction covers cell 1 fully, cell 2 half (mean 0.5) and leaks a speck into
        // the background and a low value into cell 3.
        let probs = Plane::from_fn(6, 5, |r, c| match r {
            0 | 1 => 0.9,
            2 => 1.0,
            3 => {
                if c < 3 {
                    0.8
                } else {
                    0.05
                }
            }
            5 => 0.2,
            _ => 0.0,
        });
        let out = attribute_tracking(&probs, &cells, 0.5).unwrap();
        for r in 0..6 {
            for c in 0..5 {
                let expected = u8::from(r <= 1 || r == 3);
                assert_eq!(out.get(r, c), expected, "({r}, {c})");
            }
        }
        // A stricter score drops the half-covered cell.
        let strict = attribute_tracking(&probs, &cells, 0.6).unwrap();
        assert_eq!(strict.count(), 10);
        // Shapes must agree.
        let small = Mask::zeros(2, 2);
        assert!(attribute_tracking(&probs, &small, 0.5).is_err());
    }
}
