//! Windows on images: [`CroppingBox`] (crop with zero padding, paste back) and, in this module
//! too, DeLTA's `create_windows` / `stitch_pic` tiling.

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
        CroppingBox {
            ytl: 0,
            xtl: 0,
            ybr: height as i64,
            xbr: width as i64,
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
        let (mut m00, mut m10, mut m01) = (0f64, 0f64, 0f64);
        for r in 0..h {
            for (c, &v) in seed.row(r).iter().enumerate() {
                if v != 0 {
                    m00 += 1.0;
                    m10 += c as f64;
                    m01 += r as f64;
                }
            }
        }
        let (cx, cy) = if m00 > 0.0 {
            ((m10 / m00) as i64, (m01 / m00) as i64)
        } else {
            ((w / 2) as i64, (h / 2) as i64)
        };
        let (th, tw) = (target.0 as i64, target.1 as i64);
        let xtl = cx - tw / 2;
        let ytl = cy - th / 2;
        CroppingBox {
            ytl,
            xtl,
            ybr: ytl + th,
            xbr: xtl + tw,
        }
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

#[cfg(test)]
mod tests {
    use super::*;

    fn square(r0: usize, r1: usize, c0: usize, c1: usize) -> Mask {
        Mask::from_fn(100, 100, |r, c| {
            (r0..r1).contains(&r) && (c0..c1).contains(&c)
        })
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
