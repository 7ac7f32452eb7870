//! `deltacell._native`, the extension module behind the Python package `deltacell`.
//!
//! A thin binding: every function converts numpy arrays to the library's types, calls one
//! function of `deltacell-data`, `deltacell-nn` or `deltacell-analysis` with the GIL released, and converts the
//! result back; library errors become Python exceptions (`errors::to_py`). DeLTA's names,
//! defaults and argument conventions live in the Python layer (`python/deltacell/`).

mod convert;
mod data;
mod errors;
mod loader;
mod model;
mod pipeline;
mod train;

use pyo3::prelude::*;

// Python allocates objects 16-byte aligned: a pyclass must not need more (over-aligned data
// lives behind a `Box`).
const _: () = assert!(std::mem::align_of::<loader::PyLoader>() <= 16);
const _: () = assert!(std::mem::align_of::<model::PyPredictor>() <= 16);

#[pymodule]
fn _native(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    m.add_class::<loader::PyLoader>()?;
    m.add_function(wrap_pyfunction!(loader::open_seg, m)?)?;
    m.add_function(wrap_pyfunction!(loader::open_seg_folders, m)?)?;
    m.add_function(wrap_pyfunction!(loader::open_track_folders, m)?)?;
    m.add_function(wrap_pyfunction!(data::seg_weights, m)?)?;
    m.add_function(wrap_pyfunction!(data::seg_weights_2d, m)?)?;
    m.add_function(wrap_pyfunction!(data::tracking_weights, m)?)?;
    m.add_function(wrap_pyfunction!(data::make_weights, m)?)?;
    m.add_function(wrap_pyfunction!(data::estimate_seg2d_classweights, m)?)?;
    m.add_function(wrap_pyfunction!(data::augment_stack, m)?)?;
    m.add_function(wrap_pyfunction!(data::random_crop, m)?)?;
    m.add_function(wrap_pyfunction!(data::readreshape, m)?)?;
    m.add_function(wrap_pyfunction!(data::read_image, m)?)?;
    m.add_function(wrap_pyfunction!(data::binarizerange, m)?)?;
    m.add_function(wrap_pyfunction!(data::create_windows, m)?)?;
    m.add_function(wrap_pyfunction!(data::stitch_pic, m)?)?;
    m.add_function(wrap_pyfunction!(data::label_seg, m)?)?;
    m.add_function(wrap_pyfunction!(data::postprocess, m)?)?;
    m.add_function(wrap_pyfunction!(data::list_images, m)?)?;
    m.add_function(wrap_pyfunction!(data::read_seg_inputs, m)?)?;
    m.add_function(wrap_pyfunction!(data::compile_tracking_inputs, m)?)?;
    m.add_function(wrap_pyfunction!(data::save_results, m)?)?;
    m.add_function(wrap_pyfunction!(data::synth_training_set, m)?)?;
    m.add_class::<model::PyPredictor>()?;
    m.add_function(wrap_pyfunction!(model::import_keras, m)?)?;
    m.add_function(wrap_pyfunction!(model::export_keras, m)?)?;
    m.add_function(wrap_pyfunction!(train::train, m)?)?;
    m.add_function(wrap_pyfunction!(pipeline::run_position, m)?)?;
    m.add_function(wrap_pyfunction!(pipeline::movie_layout, m)?)?;
    m.add_function(wrap_pyfunction!(pipeline::merge, m)?)?;
    Ok(())
}
