//! Resizing typed rasters (DeLTA's newest `resize_image`, `resize_mask`, `resize_labels`).
//!
//! CONTRACT STAGE: signatures fixed; interim bodies (nearest neighbour) are replaced before this
//! lands.

use crate::image::{Image, Mask, Plane, WeightMap};

fn nearest<T: Copy>(p: &Plane<T>, (h, w): (usize, usize)) -> Plane<T> {
    Plane::from_fn(h, w, |r, c| {
        p.get(
            (r * p.height() / h.max(1)).min(p.height() - 1),
            (c * p.width() / w.max(1)).min(p.width() - 1),
        )
    })
}

/// Bilinear resize of an image to `shape` = `(height, width)` (OpenCV `INTER_LINEAR` conventions).
pub fn resize_image(image: &Image, shape: (usize, usize)) -> Image {
    Image::from_plane_unchecked(nearest(image.plane(), shape))
}

/// Resize of a weight map to `shape` = `(height, width)`, bilinear like an image.
pub fn resize_weights(weights: &WeightMap, shape: (usize, usize)) -> WeightMap {
    WeightMap::from_plane(nearest(weights.plane(), shape))
}

/// Resize of a mask to `shape` = `(height, width)` that keeps touching cells separated.
pub fn resize_mask(mask: &Mask, shape: (usize, usize)) -> Mask {
    Mask::from_plane(nearest(mask.plane(), shape))
}
