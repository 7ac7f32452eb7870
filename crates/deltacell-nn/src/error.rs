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
    /// A U-Net architecture that cannot be built.
    #[error("a U-Net with filters {filters:?} and {input_channels} input channel(s): {problem}")]
    Architecture {
        /// Filters per level.
        filters: Vec<usize>,
        /// Input channels.
        input_channels: usize,
        /// What is wrong.
        problem: &'static str,
    },
    /// A learning rate that is not a finite number > 0.
    #[error("learning rate {0}: it must be a finite number > 0")]
    LearningRate(f64),
    /// An epoch of no training steps.
    #[error("steps per epoch must be at least 1")]
    NoSteps,
    /// A start inside an epoch past its last step.
    #[error(
        "start step {step} is past the end of an epoch of {steps} steps (start at the next \
         epoch, step 0)"
    )]
    StartStep {
        /// The start step, 0-based.
        step: usize,
        /// Steps per epoch.
        steps: usize,
    },
    /// A folder that is not a run folder (no `model.toml`).
    #[error("{}: not a run folder (no model.toml)", dir.display())]
    NotARunFolder {
        /// The folder.
        dir: PathBuf,
    },
    /// A probability threshold outside (0, 1).
    #[error("threshold {0}: expected a probability in (0, 1)")]
    Threshold(f64),
    /// A folder with no image to predict on.
    #[error("{}: no images", dir.display())]
    NoImages {
        /// The folder.
        dir: PathBuf,
    },
    /// A device name this build cannot use.
    #[error("device {name:?}: {problem}")]
    UnknownDevice {
        /// The name given.
        name: String,
        /// What is wrong.
        problem: &'static str,
    },
    /// The device could not be used or read back from.
    #[error("device error: {0}")]
    Device(String),
    /// The training data do not fit the model or the options (channels, sizes, batch counts).
    #[error("data: {0}")]
    Data(String),
    /// The run folder already holds a run (a checkpoint) and the session does not resume it.
    #[error("{}: already holds a run", dir.display())]
    RunExists {
        /// The run folder.
        dir: PathBuf,
    },
    /// A run folder's model or checkpoint does not continue the configured run.
    #[error("{}: {mismatch}", dir.display())]
    Mismatch {
        /// The run folder.
        dir: PathBuf,
        /// What differs.
        mismatch: Mismatch,
    },
    /// A run folder holds a model of another kind than the one asked for.
    #[error("{}: holds a {found} model, not a {wanted} model", path.display())]
    WrongKind {
        /// The run folder.
        path: PathBuf,
        /// The kind it holds.
        found: deltacell_data::Kind,
        /// The kind asked for.
        wanted: deltacell_data::Kind,
    },
    /// Reading, checking or writing data with `deltacell-data` failed (the message names the
    /// file and the problem).
    #[error(transparent)]
    DataCrate(#[from] deltacell_data::Error),
}

/// How a saved run differs from the configured one ([`Error::Mismatch`]).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum Mismatch {
    /// The checkpoint's architecture is not the configured one.
    #[error(
        "the checkpoint's architecture ({saved:?} filters, {input_channels} input channels) \
         differs from the configured one ({configured:?})"
    )]
    Architecture {
        /// The checkpoint's filters per level.
        saved: Vec<usize>,
        /// The checkpoint's input channels.
        input_channels: usize,
        /// The configured filters per level.
        configured: Vec<usize>,
    },
    /// The checkpoint was trained with another seed (its batches would differ).
    #[error("was trained with seed {saved}, not {given}")]
    Seed {
        /// The checkpoint's seed.
        saved: u64,
        /// The seed asked for.
        given: u64,
    },
    /// The checkpoint was trained with another epoch length (its batches would differ).
    #[error("was trained with {saved} steps per epoch, the configuration gives {configured}")]
    StepsPerEpoch {
        /// The checkpoint's steps per epoch.
        saved: usize,
        /// The configured steps per epoch.
        configured: usize,
    },
    /// The model to fine-tune has another architecture than the configured levels or filters.
    #[error("has filters {filters:?}, which the configured levels or filters contradict")]
    FineTuneArchitecture {
        /// The model's filters per level.
        filters: Vec<usize>,
    },
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
