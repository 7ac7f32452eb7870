//! `deltacell.pipeline`: DeLTA's analysis of a movie, one library call per function
//! ([`deltacell_analysis::run::Run`]), computed with the GIL released.

use std::path::PathBuf;

use pyo3::exceptions::{PyFileNotFoundError, PyKeyboardInterrupt, PyOSError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::PyDict;

use deltacell_analysis::config::AnalysisConfig;
use deltacell_analysis::movie::Movie;
use deltacell_analysis::outputs::OutputOptions;
use deltacell_analysis::run::{Run, RunRequest};
use deltacell_analysis::Error;

use crate::errors::to_py;
use crate::model::nn_error;

/// The Python exception for an analysis error: the data layer's and the models' own mapping,
/// `FileNotFoundError` for a missing model, `KeyboardInterrupt` for a cancelled run,
/// `OSError` for the netCDF library, `ValueError` for everything else (bad keys, movies,
/// results). The message is the library's.
pub fn analysis_error(e: Error) -> PyErr {
    match e {
        Error::Data(d) => to_py(d),
        Error::Model(m) => nn_error(m),
        Error::Cancelled => PyKeyboardInterrupt::new_err("interrupted"),
        Error::ModelFile { ref path, .. } if !path.exists() => {
            PyFileNotFoundError::new_err((2, e.to_string(), path.display().to_string()))
        }
        Error::NetCdf { .. } => PyOSError::new_err(e.to_string()),
        other => PyValueError::new_err(other.to_string()),
    }
}

/// The movie's positions, channels and frames (numbers as in its file names).
#[pyfunction]
pub fn movie_layout(py: Python<'_>, input: PathBuf) -> PyResult<Py<PyDict>> {
    let movie = py.detach(|| Movie::open(&input)).map_err(analysis_error)?;
    let d = PyDict::new(py);
    d.set_item("positions", movie.positions.clone())?;
    d.set_item("channels", movie.channels.clone())?;
    d.set_item("frames", movie.frames.clone())?;
    Ok(d.unbind())
}

/// Analyses one position of a movie and writes its outputs into `output`; returns a summary.
#[pyfunction]
#[pyo3(signature = (config, input, output, position, frames=None, settings=Vec::new(), labels=true, lineage_picture=true, movie=true))]
#[allow(clippy::too_many_arguments)]
pub fn run_position(
    py: Python<'_>,
    config: String,
    input: PathBuf,
    output: PathBuf,
    position: u32,
    frames: Option<(Option<u32>, Option<u32>)>,
    settings: Vec<String>,
    labels: bool,
    lineage_picture: bool,
    movie: bool,
) -> PyResult<Py<PyDict>> {
    let summary = py
        .detach(|| -> Result<_, Error> {
            let mut c = AnalysisConfig::load(&config)?;
            c.apply(&settings)?;
            let run = Run::open(RunRequest {
                config: c,
                input,
                output,
                positions: Some(vec![position]),
                frames,
                outputs: OutputOptions {
                    labels,
                    lineage_picture,
                    movie,
                },
            })?;
            run.position(position, &mut |_| {}, &|| false)
        })
        .map_err(analysis_error)?;
    let d = PyDict::new(py);
    d.set_item("position", summary.position)?;
    d.set_item("rois", summary.rois)?;
    d.set_item("frames", summary.frames)?;
    d.set_item("cells", summary.cells)?;
    d.set_item("rotate", summary.rotate)?;
    d.set_item(
        "written",
        summary
            .written
            .iter()
            .map(|p| p.display().to_string())
            .collect::<Vec<_>>(),
    )?;
    d.set_item("seconds", summary.seconds)?;
    Ok(d.unbind())
}
