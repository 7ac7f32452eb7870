//! The crate's error type.

use std::path::PathBuf;

/// Errors of the neural-network crate. Every variant that concerns a file names it.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A file could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
    /// A configuration or metadata file is not valid TOML for its schema.
    #[error("{path}: {message}")]
    Config {
        /// The file (or `<preset>` / `<override>` for built-in values).
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
    /// The weights or optimizer state in a file do not fit the model.
    #[error("{path}: {message}")]
    Weights {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
    /// A batch does not fit the model (channel count, size not divisible by 2^(levels−1), …).
    #[error("batch does not fit the model: {0}")]
    Shape(String),
    /// An invalid option value.
    #[error("invalid option: {0}")]
    Invalid(String),
    /// The device could not be used or read back from.
    #[error("device error: {0}")]
    Device(String),
    /// The training data do not fit the model or the options (channels, sizes, batch counts).
    #[error("data: {0}")]
    Data(String),
    /// Reading, checking or writing data with `deltacell-data` failed (the message names the
    /// file and the problem).
    #[error(transparent)]
    DataCrate(#[from] deltacell_data::Error),
}

/// Result alias of the crate.
pub type Result<T> = std::result::Result<T, Error>;

impl Error {
    pub(crate) fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Error::Io {
            path: path.into(),
            source,
        }
    }
}
