//! `deltacell.model`: Keras import/export and inference of `deltacell-nn`, one library call per
//! function, computed with the GIL released.

use std::path::PathBuf;
use std::sync::Mutex;

use numpy::{PyArray4, PyReadonlyArray4, PyUntypedArrayMethods};
use pyo3::exceptions::{PyFileNotFoundError, PyMemoryError, PyOSError, PyPermissionError};
use pyo3::prelude::*;
use pyo3::types::PyDict;

use deltacell_nn::infer::Predictor;
use deltacell_nn::keras::{self, ExportError, ExportOptions};
use deltacell_nn::run_dir::{Head, ModelInfo};
use deltacell_nn::{Batch, Kind};

use crate::convert::array4;
use crate::errors::{require_dir, value_error};

/// A `deltacell-nn` error as a Python exception (`FileNotFoundError`/`PermissionError`/`OSError`
/// for file-system failures naming the file, `ValueError` otherwise).
pub fn nn_error(e: deltacell_nn::Error) -> PyErr {
    match &e {
        deltacell_nn::Error::Io { path, source } => {
            let args = (
                source.raw_os_error().unwrap_or(0),
                source.to_string(),
                path.display().to_string(),
            );
            match source.kind() {
                std::io::ErrorKind::NotFound => PyFileNotFoundError::new_err(args),
                std::io::ErrorKind::PermissionDenied => PyPermissionError::new_err(args),
                std::io::ErrorKind::OutOfMemory => PyMemoryError::new_err(e.to_string()),
                _ => PyOSError::new_err(args),
            }
        }
        _ => value_error(e.to_string()),
    }
}

fn export_error(e: ExportError) -> PyErr {
    match e {
        ExportError::RunDir(inner) => nn_error(inner),
        ExportError::NoModel { ref run_dir, .. } => {
            PyFileNotFoundError::new_err((2, e.to_string(), run_dir.display().to_string()))
        }
        other => value_error(other.to_string()),
    }
}

pub fn kind(name: &str) -> PyResult<Kind> {
    name.parse::<Kind>().map_err(|e| value_error(e.to_string()))
}

fn info_dict<'py>(py: Python<'py>, info: &ModelInfo) -> PyResult<Bound<'py, PyDict>> {
    let d = PyDict::new(py);
    let a = &info.architecture;
    d.set_item("kind", a.kind.name())?;
    d.set_item("levels", a.levels())?;
    d.set_item("filters", a.filters.clone())?;
    d.set_item("input_channels", a.input_channels)?;
    d.set_item("input_size", (info.input_size[0], info.input_size[1]))?;
    d.set_item("epoch", info.epoch)?;
    d.set_item("preset", info.preset.clone())?;
    Ok(d)
}

/// `import_keras(path, kind, out)`: a DeLTA Keras model (legacy HDF5 or Keras 3 `.keras`) as a
/// deltacell run folder; returns its `model.toml` as a dict.
#[pyfunction]
pub fn import_keras<'py>(
    py: Python<'py>,
    path: PathBuf,
    kind_name: &str,
    out: PathBuf,
) -> PyResult<Bound<'py, PyDict>> {
    let k = kind(kind_name)?;
    if !path.exists() {
        return Err(PyFileNotFoundError::new_err((
            2,
            "no such Keras model file".to_string(),
            path.display().to_string(),
        )));
    }
    let info = py
        .detach(|| keras::import(&path, k, &out))
        .map_err(nn_error)?;
    info_dict(py, &info)
}

/// `export_keras(run_dir, out, input_size)`: a run folder's model as a Keras model DeLTA loads
/// (`.hdf5`/`.h5` legacy HDF5, `.keras` Keras 3); returns the path written.
#[pyfunction]
#[pyo3(signature = (run_dir, out, input_size=None, head=None))]
pub fn export_keras(
    py: Python<'_>,
    run_dir: PathBuf,
    out: PathBuf,
    input_size: Option<(usize, usize)>,
    head: Option<String>,
) -> PyResult<PathBuf> {
    require_dir(&run_dir, "run_dir")?;
    let head = match head.as_deref() {
        None => None,
        Some("logits") => Some(Head::Logits),
        Some("sigmoid") => Some(Head::Sigmoid),
        Some(other) => {
            return Err(value_error(format!(
                "head {other:?}: expected \"logits\" (DeLTA 3) or \"sigmoid\" (DeLTA 2.0.7)"
            )))
        }
    };
    let options = ExportOptions {
        input_size: input_size.map(|(h, w)| [h, w]),
        head,
    };
    let done = py
        .detach(|| keras::export_keras(&run_dir, &out, &options))
        .map_err(export_error)?;
    Ok(done.path)
}

/// A trained model ready to predict on the CPU.
#[pyclass(module = "deltacell._native", name = "Predictor")]
pub struct PyPredictor {
    /// Boxed: the model holds over-aligned buffers (64 bytes), and Python allocates objects
    /// with a smaller alignment.
    predictor: Box<Mutex<Predictor>>,
    info: ModelInfo,
}

#[pymethods]
impl PyPredictor {
    /// Loads the best model of a deltacell run folder (`model.toml` + `model.safetensors`).
    #[new]
    fn new(py: Python<'_>, run_dir: PathBuf) -> PyResult<Self> {
        require_dir(&run_dir, "run_dir")?;
        let predictor = py
            .detach(|| Predictor::load(&run_dir, &deltacell_nn::device::cpu()))
            .map_err(nn_error)?;
        let info = predictor.info().clone();
        Ok(PyPredictor {
            predictor: Box::new(Mutex::new(predictor)),
            info,
        })
    }

    /// The model's metadata (`model.toml`) as a dict.
    fn info<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        info_dict(py, &self.info)
    }

    /// `(n, H, W, 1)` probabilities (or logits) for `x` `(n, H, W, C)` float32.
    fn predict<'py>(
        &self,
        py: Python<'py>,
        x: PyReadonlyArray4<'py, f32>,
        logits: bool,
    ) -> PyResult<Bound<'py, PyArray4<f32>>> {
        let s = x.shape();
        let (n, h, w, c) = (s[0], s[1], s[2], s[3]);
        let data = match x.as_slice() {
            Ok(v) => v.to_vec(),
            Err(_) => x.as_array().iter().copied().collect(),
        };
        let batch = Batch {
            n,
            height: h,
            width: w,
            in_channels: c,
            out_channels: 0,
            x: data,
            y: Vec::new(),
        };
        let out = py
            .detach(|| {
                let p = self.predictor.lock().map_err(|_| {
                    deltacell_nn::Error::Device(
                        "the predictor is unusable after an earlier failure".into(),
                    )
                })?;
                if logits {
                    p.predict_logits(&batch)
                } else {
                    p.predict_probabilities(&batch)
                }
            })
            .map_err(nn_error)?;
        array4(py, out, (n, h, w, 1))
    }
}
