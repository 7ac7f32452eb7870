//! deltacell's errors as Python exceptions: the exception type follows the kind of error, the
//! message is the library's own (it names the file and the problem).

use std::io::ErrorKind;
use std::path::Path;

use pyo3::exceptions::{
    PyFileExistsError, PyFileNotFoundError, PyIndexError, PyMemoryError, PyNotADirectoryError,
    PyOSError, PyPermissionError, PyRuntimeError, PyValueError,
};
use pyo3::PyErr;

use deltacell_data::Error;

/// The Python exception for a library error.
///
/// * A missing file or folder: `FileNotFoundError(errno, message, path)` (`.filename` is the
///   path); a permission problem: `PermissionError`; any other I/O failure: `OSError`.
/// * An existing `wei/` folder that would be overwritten: `FileExistsError`.
/// * An output path that exists and is not a folder: `NotADirectoryError` (`.filename` is the
///   path).
/// * A run that needs more memory than is available: `MemoryError`.
/// * An index past the end (a sample of a dataset, a step of an epoch, a channel): `IndexError`.
/// * A failure inside deltacell (a batch that panicked, stopped worker threads, a failed
///   internal check): `RuntimeError`.
/// * Everything else (values out of range, unknown names, missing or empty inputs, lengths or
///   shapes that differ, undecodable or non-binary images, bad augmentation keys, training-set
///   layout problems): `ValueError` with the library's message.
pub fn to_py(e: Error) -> PyErr {
    match &e {
        Error::Io { path, cause } => io_error(path, cause),
        Error::WeightsExist { path } => {
            PyFileExistsError::new_err((17, e.to_string(), path.display().to_string()))
        }
        Error::NotAFolder { path } => {
            PyNotADirectoryError::new_err((20, e.to_string(), path.display().to_string()))
        }
        Error::TooLarge { .. } => PyMemoryError::new_err(e.to_string()),
        Error::IndexOutOfRange { .. } => PyIndexError::new_err(e.to_string()),
        Error::BatchPanicked { .. } | Error::LoaderStopped | Error::Internal { .. } => {
            PyRuntimeError::new_err(e.to_string())
        }
        _ => PyValueError::new_err(e.to_string()),
    }
}

fn io_error(path: &Path, cause: &std::io::Error) -> PyErr {
    let errno = cause.raw_os_error().unwrap_or(0);
    let args = (errno, cause.to_string(), path.display().to_string());
    match cause.kind() {
        ErrorKind::NotFound => PyFileNotFoundError::new_err(args),
        ErrorKind::PermissionDenied => PyPermissionError::new_err(args),
        _ => PyOSError::new_err(args),
    }
}

/// `FileNotFoundError` unless `path` is an existing folder (`what` says which argument it is).
pub fn require_dir(path: &Path, what: &str) -> Result<(), PyErr> {
    if path.is_dir() {
        return Ok(());
    }
    if path.exists() {
        return Err(PyValueError::new_err(format!(
            "{}: {what} is not a folder",
            path.display()
        )));
    }
    Err(PyFileNotFoundError::new_err((
        2,
        format!("{what}: no such folder"),
        path.display().to_string(),
    )))
}

/// `ValueError` with `message`.
pub fn value_error(message: impl Into<String>) -> PyErr {
    PyValueError::new_err(message.into())
}
