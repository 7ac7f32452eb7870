//! Typed 2-D rasters: [`Image`], [`Mask`], [`Labels`] and [`WeightMap`], all built on [`Plane`].
//!
//! Every raster is row-major with shape `(height, width)` = `(rows, cols)`, and pixels are
//! addressed as `(row, col)` = `(y, x)`. The types exist so that the meaning of a raster decides
//! how it is treated: an [`Image`] is interpolated smoothly and receives intensity augmentation, a
//! [`Mask`] or [`Labels`] is interpolated with nearest neighbour and never altered photometrically,
//! a [`WeightMap`] follows the geometry of its mask. No I/O happens here (see [`crate::io`]).

use std::ops::{Deref, DerefMut};

use crate::error::{Error, Result};

/// A dense row-major 2-D array of `T` with shape `(height, width)`.
#[derive(Clone, Debug, PartialEq)]
pub struct Plane<T> {
    height: usize,
    width: usize,
    data: Vec<T>,
}

impl<T: Copy> Plane<T> {
    /// A plane of `height` rows and `width` columns filled with `value`.
    pub fn filled(height: usize, width: usize, value: T) -> Self {
        Plane {
            height,
            width,
            data: vec![value; height * width],
        }
    }

    /// Wraps a row-major buffer; fails with [`Error::LengthMismatch`] when
    /// `data.len() != height * width`.
    ///
    /// ```
    /// use deltacell_data::{Error, Plane};
    /// let p = Plane::from_vec(2, 3, vec![0u8; 6])?;
    /// assert_eq!((p.shape(), p.get(1, 2)), ((2, 3), 0));
    /// let e = Plane::from_vec(2, 3, vec![0u8; 5]).unwrap_err();
    /// assert!(matches!(e, Error::LengthMismatch { expected: 6, found: 5, .. }));
    /// # Ok::<(), deltacell_data::Error>(())
    /// ```
    pub fn from_vec(height: usize, width: usize, data: Vec<T>) -> Result<Self> {
        if data.len() != height * width {
            return Err(Error::LengthMismatch {
                what: format!("values of a {height}x{width} plane"),
                expected: height * width,
                found: data.len(),
            });
        }
        Ok(Plane {
            height,
            width,
            data,
        })
    }

    /// Builds a plane by evaluating `f(row, col)` for every pixel.
    pub fn from_fn(height: usize, width: usize, mut f: impl FnMut(usize, usize) -> T) -> Self {
        let mut data = Vec::with_capacity(height * width);
        for r in 0..height {
            for c in 0..width {
                data.push(f(r, c));
            }
        }
        Plane {
            height,
            width,
            data,
        }
    }

    /// Number of rows.
    #[inline]
    pub fn height(&self) -> usize {
        self.height
    }

    /// Number of columns.
    #[inline]
    pub fn width(&self) -> usize {
        self.width
    }

    /// `(height, width)`.
    #[inline]
    pub fn shape(&self) -> (usize, usize) {
        (self.height, self.width)
    }

    /// Number of pixels.
    #[inline]
    pub fn len(&self) -> usize {
        self.data.len()
    }

    /// True for a plane with no pixels.
    #[inline]
    pub fn is_empty(&self) -> bool {
        self.data.is_empty()
    }

    /// The pixel at `(row, col)`. Panics when out of bounds.
    #[inline]
    pub fn get(&self, row: usize, col: usize) -> T {
        debug_assert!(row < self.height && col < self.width);
        self.data[row * self.width + col]
    }

    /// Sets the pixel at `(row, col)`. Panics when out of bounds.
    #[inline]
    pub fn set(&mut self, row: usize, col: usize, value: T) {
        debug_assert!(row < self.height && col < self.width);
        self.data[row * self.width + col] = value;
    }

    /// Row `row` as a slice.
    #[inline]
    pub fn row(&self, row: usize) -> &[T] {
        &self.data[row * self.width..(row + 1) * self.width]
    }

    /// Row `row` as a mutable slice.
    #[inline]
    pub fn row_mut(&mut self, row: usize) -> &mut [T] {
        &mut self.data[row * self.width..(row + 1) * self.width]
    }

    /// The row-major pixel buffer.
    #[inline]
    pub fn as_slice(&self) -> &[T] {
        &self.data
    }

    /// The row-major pixel buffer, mutable.
    #[inline]
    pub fn as_mut_slice(&mut self) -> &mut [T] {
        &mut self.data
    }

    /// Consumes the plane and returns its row-major buffer.
    pub fn into_vec(self) -> Vec<T> {
        self.data
    }

    /// A new plane with `f` applied to every pixel.
    pub fn map<U: Copy>(&self, f: impl FnMut(T) -> U) -> Plane<U> {
        Plane {
            height: self.height,
            width: self.width,
            data: self.data.iter().copied().map(f).collect(),
        }
    }
}

macro_rules! typed_plane {
    ($(#[$doc:meta])* $name:ident, $t:ty) => {
        $(#[$doc])*
        #[derive(Clone, Debug, PartialEq)]
        pub struct $name(Plane<$t>);

        impl $name {
            /// Shape `(height, width)` filled with `value`.
            pub fn filled(height: usize, width: usize, value: $t) -> Self {
                $name(Plane::filled(height, width, value))
            }

            /// All-zero raster of shape `(height, width)`.
            pub fn zeros(height: usize, width: usize) -> Self {
                Self::filled(height, width, <$t>::default())
            }

            /// Borrows the underlying plane.
            pub fn plane(&self) -> &Plane<$t> {
                &self.0
            }

            /// Unwraps the underlying plane.
            pub fn into_plane(self) -> Plane<$t> {
                self.0
            }
        }

        impl Deref for $name {
            type Target = Plane<$t>;
            fn deref(&self) -> &Plane<$t> {
                &self.0
            }
        }

        impl DerefMut for $name {
            fn deref_mut(&mut self) -> &mut Plane<$t> {
                &mut self.0
            }
        }
    };
}

typed_plane!(
    /// An intensity image: `f32` values in `[0, 1]` (phase contrast, brightfield, fluorescence).
    ///
    /// Smooth interpolation and intensity augmentation apply to it.
    Image,
    f32
);

typed_plane!(
    /// A binary mask: `u8` values 0 (background) or 1 (cell).
    ///
    /// Nearest-neighbour interpolation only; never altered photometrically.
    Mask,
    u8
);

typed_plane!(
    /// Instance labels: 0 is background, `1..=n` are cells.
    Labels,
    u32
);

typed_plane!(
    /// A pixel-wise loss weight map: `f32` values `>= 0` (any scale; saved normalised to its maximum).
    ///
    /// Follows the geometry of its mask, never receives intensity augmentation.
    WeightMap,
    f32
);

impl Image {
    /// Wraps a plane of intensities; values outside `[0, 1]` are clamped.
    pub fn from_plane(mut plane: Plane<f32>) -> Self {
        for v in plane.as_mut_slice() {
            *v = if v.is_nan() { 0.0 } else { v.clamp(0.0, 1.0) };
        }
        Image(plane)
    }

    /// Wraps a plane without checking the range (the caller guarantees `[0, 1]`).
    pub fn from_plane_unchecked(plane: Plane<f32>) -> Self {
        Image(plane)
    }

    /// Builds an image from a row-major buffer of values in `[0, 1]` (clamped).
    pub fn from_vec(height: usize, width: usize, data: Vec<f32>) -> Result<Self> {
        Ok(Self::from_plane(Plane::from_vec(height, width, data)?))
    }

    /// `(min, max)` of the pixel values; `(0, 0)` for an empty image.
    pub fn min_max(&self) -> (f32, f32) {
        min_max(self.as_slice())
    }
}

impl Mask {
    /// Wraps a plane; any nonzero value becomes 1.
    pub fn from_plane(plane: Plane<u8>) -> Self {
        Mask(plane.map(|v| u8::from(v != 0)))
    }

    /// Builds a mask from a row-major buffer; any nonzero value becomes 1.
    pub fn from_vec(height: usize, width: usize, data: Vec<u8>) -> Result<Self> {
        Ok(Self::from_plane(Plane::from_vec(height, width, data)?))
    }

    /// Mask of the pixels where `pred` holds.
    pub fn from_fn(
        height: usize,
        width: usize,
        mut pred: impl FnMut(usize, usize) -> bool,
    ) -> Self {
        Mask(Plane::from_fn(height, width, |r, c| u8::from(pred(r, c))))
    }

    /// Number of cell pixels.
    pub fn count(&self) -> usize {
        self.as_slice().iter().filter(|&&v| v != 0).count()
    }

    /// The mask as 0.0 / 1.0 floats.
    pub fn to_f32(&self) -> Plane<f32> {
        self.map(f32::from)
    }
}

impl Labels {
    /// Wraps a plane of labels (0 = background).
    pub fn from_plane(plane: Plane<u32>) -> Self {
        Labels(plane)
    }

    /// The largest label (0 when there is no cell).
    pub fn max_label(&self) -> u32 {
        self.as_slice().iter().copied().max().unwrap_or(0)
    }

    /// The binary mask of all labelled pixels.
    pub fn to_mask(&self) -> Mask {
        Mask(self.map(|v| u8::from(v != 0)))
    }
}

impl WeightMap {
    /// Wraps a plane of weights; negative or NaN values become 0.
    pub fn from_plane(mut plane: Plane<f32>) -> Self {
        for v in plane.as_mut_slice() {
            if v.is_nan() || *v < 0.0 {
                *v = 0.0;
            }
        }
        WeightMap(plane)
    }

    /// The all-ones weight map (every pixel counts the same).
    pub fn ones(height: usize, width: usize) -> Self {
        Self::filled(height, width, 1.0)
    }

    /// The largest weight (0 for an empty map).
    pub fn max(&self) -> f32 {
        min_max(self.as_slice()).1
    }
}

/// `(min, max)` of a float slice (`f32` or `f64`), ignoring NaN; `(0, 0)` when empty.
pub(crate) fn min_max<T: Copy + PartialOrd + From<u8>>(values: &[T]) -> (T, T) {
    #[allow(clippy::eq_op)] // `v == v` is false exactly for NaN.
    let mut finite = values.iter().copied().filter(|v| v == v);
    let Some(first) = finite.next() else {
        return (T::from(0), T::from(0));
    };
    finite.fold((first, first), |(lo, hi), v| {
        (if v < lo { v } else { lo }, if v > hi { v } else { hi })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plane_indexing_is_row_major() {
        let p = Plane::from_fn(2, 3, |r, c| (r * 10 + c) as u32);
        assert_eq!(p.as_slice(), &[0, 1, 2, 10, 11, 12]);
        assert_eq!(p.get(1, 2), 12);
        assert_eq!(p.row(1), &[10, 11, 12]);
        assert_eq!(p.shape(), (2, 3));
    }

    #[test]
    fn from_vec_checks_length() {
        assert!(Plane::from_vec(2, 2, vec![0u8; 3]).is_err());
    }

    #[test]
    fn mask_from_vec_binarises() {
        let m = Mask::from_vec(1, 4, vec![0, 1, 255, 7]).unwrap();
        assert_eq!(m.as_slice(), &[0, 1, 1, 1]);
        assert_eq!(m.count(), 3);
    }

    #[test]
    fn image_clamps_and_weights_drop_negatives() {
        let i = Image::from_vec(1, 3, vec![-1.0, 0.5, 2.0]).unwrap();
        assert_eq!(i.as_slice(), &[0.0, 0.5, 1.0]);
        let w = WeightMap::from_plane(Plane::from_vec(1, 2, vec![-3.0, 4.0]).unwrap());
        assert_eq!(w.as_slice(), &[0.0, 4.0]);
        assert_eq!(w.max(), 4.0);
    }
}
