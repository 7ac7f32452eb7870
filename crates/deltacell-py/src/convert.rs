//! numpy arrays ↔ the library's rasters and batches. Copies are made with the GIL held only for
//! the inputs (one `memcpy`); outputs hand their `Vec` to numpy without a copy.

use numpy::ndarray::{Array2, Array3, Array4};
use numpy::{
    Element, IntoPyArray, PyArray2, PyArray3, PyArray4, PyReadonlyArray2, PyReadonlyArray3,
    PyUntypedArrayMethods,
};
use pyo3::prelude::*;

use deltacell_data::Batch;
use deltacell_data::Plane;

use crate::errors::{to_py, value_error};

/// A 2-D array as a plane (copied, any strides).
pub fn plane<T: Element + Copy>(a: &PyReadonlyArray2<'_, T>) -> PyResult<Plane<T>> {
    let shape = a.shape();
    let (h, w) = (shape[0], shape[1]);
    let data = match a.as_slice() {
        Ok(s) => s.to_vec(),
        Err(_) => a.as_array().iter().copied().collect(),
    };
    Plane::from_vec(h, w, data).map_err(to_py)
}

/// Every `(h, w)` slice of a 3-D array `(n, h, w)` as a plane.
pub fn planes<T: Element + Copy>(a: &PyReadonlyArray3<'_, T>) -> PyResult<Vec<Plane<T>>> {
    let shape = a.shape();
    let (n, h, w) = (shape[0], shape[1], shape[2]);
    let data: Vec<T> = match a.as_slice() {
        Ok(s) => s.to_vec(),
        Err(_) => a.as_array().iter().copied().collect(),
    };
    if h * w == 0 {
        return (0..n)
            .map(|_| Plane::from_vec(h, w, Vec::new()).map_err(to_py))
            .collect();
    }
    data.chunks_exact(h * w)
        .map(|c| Plane::from_vec(h, w, c.to_vec()).map_err(to_py))
        .collect()
}

/// A plane as a 2-D array (no copy).
pub fn array2<T: Element + Copy>(py: Python<'_>, p: Plane<T>) -> PyResult<Bound<'_, PyArray2<T>>> {
    let (h, w) = p.shape();
    let a = Array2::from_shape_vec((h, w), p.into_vec()).map_err(|e| value_error(e.to_string()))?;
    Ok(a.into_pyarray(py))
}

/// Planes of one shape as a 3-D array `(n, h, w)`; `shape` is used when `ps` is empty.
pub fn array3<T: Element + Copy>(
    py: Python<'_>,
    ps: Vec<Plane<T>>,
    shape: (usize, usize),
) -> PyResult<Bound<'_, PyArray3<T>>> {
    let (h, w) = ps.first().map_or(shape, Plane::shape);
    let n = ps.len();
    let mut data = Vec::with_capacity(n * h * w);
    for p in &ps {
        if p.shape() != (h, w) {
            return Err(value_error(format!(
                "rasters of different shapes {:?} and {:?} cannot be stacked",
                (h, w),
                p.shape()
            )));
        }
        data.extend_from_slice(p.as_slice());
    }
    let a = Array3::from_shape_vec((n, h, w), data).map_err(|e| value_error(e.to_string()))?;
    Ok(a.into_pyarray(py))
}

/// A contiguous `n × h × w × c` buffer as a 4-D array (no copy).
pub fn array4(
    py: Python<'_>,
    data: Vec<f32>,
    shape: (usize, usize, usize, usize),
) -> PyResult<Bound<'_, PyArray4<f32>>> {
    let a = Array4::from_shape_vec(shape, data).map_err(|e| value_error(e.to_string()))?;
    Ok(a.into_pyarray(py))
}

/// A batch as `(x, y)`, channels last: `x` is `(n, h, w, in_channels)`, `y` is `(n, h, w,
/// out_channels)` (no copy).
pub type BatchArrays<'py> = (Bound<'py, PyArray4<f32>>, Bound<'py, PyArray4<f32>>);

/// See [`BatchArrays`].
pub fn batch_arrays(py: Python<'_>, b: Batch) -> PyResult<BatchArrays<'_>> {
    let x = array4(py, b.x, (b.n, b.height, b.width, b.in_channels))?;
    let y = array4(py, b.y, (b.n, b.height, b.width, b.out_channels))?;
    Ok((x, y))
}
