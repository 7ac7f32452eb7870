//! `deltacell.model.train`: a training session of `deltacell-nn` (new, resumed or fine-tuned),
//! the one `deltacell train` runs, with the GIL released.

use std::path::PathBuf;

use pyo3::exceptions::PyFileExistsError;
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList};

use deltacell_nn::config::Config;
use deltacell_nn::session::{Overrides, Session, SessionOptions, Start, TrainingSet};
use deltacell_nn::train::{ignore_events, StopReason};

use crate::errors::value_error;
use crate::model::nn_error;

/// `train(kind, data, out, preset, config, val, start, init_from, seed, device, overrides)`:
/// trains into the run folder `out`; returns `{"epochs": [record, …], "reason": str,
/// "steps": int}` (every epoch of the run, earlier sessions included).
#[pyfunction]
#[pyo3(signature = (kind_name, data, out, preset, config, val, resume, init_from, seed, device, epochs, steps_per_epoch, batch_size, patience, learning_rate, levels, filters))]
#[allow(clippy::too_many_arguments)]
pub fn train<'py>(
    py: Python<'py>,
    kind_name: &str,
    data: &str,
    out: PathBuf,
    preset: &str,
    config: Option<PathBuf>,
    val: Option<PathBuf>,
    resume: bool,
    init_from: Option<PathBuf>,
    seed: u64,
    device: String,
    epochs: Option<usize>,
    steps_per_epoch: Option<usize>,
    batch_size: Option<usize>,
    patience: Option<usize>,
    learning_rate: Option<f64>,
    levels: Option<usize>,
    filters: Option<Vec<usize>>,
) -> PyResult<Bound<'py, PyDict>> {
    let kind = crate::model::kind(kind_name)?;
    if resume && init_from.is_some() {
        return Err(value_error("resume and init_from exclude each other"));
    }
    let base = match &config {
        Some(file) => Config::load(file, Some(preset)),
        None => Config::preset(preset),
    }
    .map_err(nn_error)?;
    let mut options = SessionOptions::new(kind, base, TrainingSet::from_name(data, val), out);
    options.overrides = Overrides {
        epochs,
        steps_per_epoch,
        batch_size,
        patience,
        learning_rate,
        levels,
        filters,
    };
    options.start = match (init_from, resume) {
        (Some(from), _) => Start::FineTune { from },
        (None, true) => Start::Resume,
        (None, false) => Start::New,
    };
    (options.seed, options.device) = (seed, device);
    options.inputs.extend(config);
    let outcome = py
        .detach(|| Session::open(options)?.run(ignore_events))
        .map_err(|e| match e {
            deltacell_nn::Error::RunExists { ref dir } => {
                PyFileExistsError::new_err((17, e.to_string(), dir.display().to_string()))
            }
            other => nn_error(other),
        })?;
    let records = PyList::empty(py);
    for r in &outcome.history.epochs {
        let d = PyDict::new(py);
        d.set_item("epoch", r.epoch)?;
        d.set_item("loss", r.loss)?;
        d.set_item("acc", r.acc)?;
        d.set_item("val_loss", r.val_loss)?;
        d.set_item("val_acc", r.val_acc)?;
        d.set_item("val_f1", r.val_f1)?;
        d.set_item("val_cells", r.val_cells)?;
        d.set_item("seconds", r.seconds)?;
        d.set_item("samples", r.samples)?;
        records.append(d)?;
    }
    let result = PyDict::new(py);
    result.set_item("epochs", records)?;
    result.set_item(
        "reason",
        match outcome.reason {
            StopReason::Completed => "completed",
            StopReason::EarlyStopped => "early_stopped",
            StopReason::Interrupted => "interrupted",
        },
    )?;
    result.set_item("steps", outcome.steps)?;
    Ok(result)
}
