//! `deltacell.pipeline`: DeLTA's analysis of a movie, one library call per function
//! ([`deltacell_analysis::run::Run`]), computed with the GIL released.

use std::path::PathBuf;

use pyo3::exceptions::{PyFileNotFoundError, PyKeyboardInterrupt, PyOSError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList};

use deltacell_analysis::config::AnalysisConfig;
use deltacell_analysis::merge::Status;
use deltacell_analysis::movie::Movie;
use deltacell_analysis::outputs::OutputOptions;
use deltacell_analysis::resume::Outcome;
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

/// Analyses one position of a movie and writes its outputs into `output`, unless they are
/// complete (same fingerprint: skipped); returns a summary. Results made from something else
/// are refused unless `redo`. `experiment`: the experiment's positions, recorded for
/// `merge` (`None`: the movie's).
#[pyfunction]
#[pyo3(signature = (config, input, output, position, frames=None, settings=Vec::new(), labels=true, lineage_picture=true, movie=true, redo=false, experiment=None))]
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
    redo: bool,
    experiment: Option<Vec<u32>>,
) -> PyResult<Py<PyDict>> {
    let (outcome, nframes, written) = py
        .detach(|| -> Result<_, Error> {
            let mut c = AnalysisConfig::load(&config)?;
            c.apply(&settings)?;
            let mut experiment = experiment;
            if let Some(list) = experiment.as_mut() {
                list.sort_unstable();
                list.dedup();
                if !list.contains(&position) {
                    list.push(position);
                    list.sort_unstable();
                }
            }
            let run = Run::open(RunRequest {
                config: c,
                input: input.clone(),
                output,
                positions: experiment,
                frames,
                outputs: OutputOptions {
                    labels,
                    lineage_picture,
                    movie,
                },
            })?;
            if !run.positions().contains(&position) {
                return Err(Error::Movie {
                    input,
                    problem: format!(
                        "position(s) {position} not in the movie (it has {:?})",
                        run.positions()
                    ),
                });
            }
            let outcome = run.resume_position(position, redo, &mut |_| {}, &|| false)?;
            let written: Vec<String> = match &outcome {
                Outcome::Done(s) => s.written.iter().map(|p| p.display().to_string()).collect(),
                Outcome::Skipped => Vec::new(),
            };
            Ok((outcome, run.frames().len(), written))
        })
        .map_err(analysis_error)?;
    let d = PyDict::new(py);
    d.set_item("position", position)?;
    d.set_item("frames", nframes)?;
    d.set_item("written", written)?;
    match outcome {
        Outcome::Done(summary) => {
            d.set_item("skipped", false)?;
            d.set_item("rois", summary.rois)?;
            d.set_item("cells", summary.cells)?;
            d.set_item("rotate", summary.rotate)?;
            d.set_item("seconds", summary.seconds)?;
        }
        Outcome::Skipped => {
            d.set_item("skipped", true)?;
            d.set_item("seconds", 0.0)?;
        }
    }
    Ok(d.unbind())
}

/// `deltacell merge`: checks a results folder's positions and writes `positions.csv` and
/// (when every position is complete) `experiment.csv`.
#[pyfunction]
pub fn merge(py: Python<'_>, output: PathBuf) -> PyResult<Py<PyDict>> {
    let report = py
        .detach(|| deltacell_analysis::merge::merge(&output))
        .map_err(analysis_error)?;
    let entries = PyList::empty(py);
    for e in &report.entries {
        let row = PyDict::new(py);
        row.set_item("position", e.position)?;
        let (status, problem) = match &e.status {
            Status::Complete => ("complete", None),
            Status::Failed(m) => ("failed", Some(m.clone())),
            Status::Partial => ("partial", None),
            Status::Missing => ("missing", None),
        };
        row.set_item("status", status)?;
        row.set_item("problem", problem)?;
        row.set_item("rois", e.rois)?;
        row.set_item("cells", e.cells)?;
        row.set_item("rows", e.rows)?;
        row.set_item("frames", e.frames)?;
        row.set_item("files", e.files.clone())?;
        entries.append(row)?;
    }
    let d = PyDict::new(py);
    d.set_item("positions", entries)?;
    d.set_item("index", report.index.display().to_string())?;
    d.set_item(
        "table",
        report.table.as_ref().map(|t| t.display().to_string()),
    )?;
    Ok(d.unbind())
}
