//! The error type of `deltacell-data`: every variant that concerns a file names it.

use std::path::PathBuf;

/// Result alias used throughout the crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything that can go wrong in `deltacell-data`.
///
/// Messages are written for a microscopist: they name the file, say what is wrong, and where it
/// helps, what to do next.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// Reading or writing a file or folder failed at the operating-system level.
    // The cause is part of the message (and deliberately not a `#[source]`), so that a CLI that
    // prints the whole error chain does not print it twice.
    #[error("{}: {cause}", path.display())]
    Io {
        /// The file or folder.
        path: PathBuf,
        /// The underlying error.
        cause: std::io::Error,
    },

    /// The file exists but could not be decoded as an image (truncated, corrupt, not an image).
    #[error("{}: cannot decode image: {message}", path.display())]
    Decode {
        /// The file.
        path: PathBuf,
        /// What the decoder said.
        message: String,
    },

    /// The file is an image of a kind deltacell does not read (pixel type, extension, layout).
    #[error("{}: unsupported image: {message}", path.display())]
    Unsupported {
        /// The file.
        path: PathBuf,
        /// What is unsupported.
        message: String,
    },

    /// A mask that must be binary has more than two distinct values.
    #[error("{}: mask is not binary: {distinct} distinct values (e.g. {examples:?}); expected 0/1 or 0/255", path.display())]
    NotBinary {
        /// The file.
        path: PathBuf,
        /// Number of distinct values found.
        distinct: usize,
        /// A few of the values found.
        examples: Vec<u64>,
    },

    /// Two rasters that must have the same shape do not.
    #[error("{context}: shape mismatch, {expected:?} vs {found:?} (height, width)")]
    ShapeMismatch {
        /// Which files or rasters were compared.
        context: String,
        /// The shape of the first one.
        expected: (usize, usize),
        /// The shape of the other one.
        found: (usize, usize),
    },

    /// A training-set folder has problems; every offending file is listed.
    #[error("{}: {} problem(s) in the training set:\n{}", root.display(), problems.len(), problems.join("\n"))]
    Layout {
        /// The training-set root (or the first folder given).
        root: PathBuf,
        /// One line per problem, each naming its file.
        problems: Vec<String>,
    },

    /// A configuration file or value is wrong (unknown key, out-of-range value).
    #[error("{source_name}: {message}")]
    Config {
        /// The file (or "command line") the configuration came from.
        source_name: String,
        /// What is wrong.
        message: String,
    },

    /// A file name does not follow the expected DeLTA pattern.
    #[error("{name}: {message}")]
    FileName {
        /// The offending file name.
        name: String,
        /// What is wrong.
        message: String,
    },

    /// A function was called with an argument outside its domain.
    #[error("invalid argument: {0}")]
    InvalidArgument(String),

    // --- layout ---
    /// A folder is not a training set at all (missing required folder, no image anywhere).
    #[error("{}: not a training set: {message}", path.display())]
    NotATrainingSet {
        /// The folder given.
        path: PathBuf,
        /// What is missing.
        message: String,
    },

    // --- synth ---
    /// An output folder that must be empty (or absent) already holds files.
    #[error("{}: output folder is not empty; choose an empty folder or allow overwriting", path.display())]
    OutputNotEmpty {
        /// The folder.
        path: PathBuf,
    },

    // --- outputs ---
    /// An output path overlaps an input: writing there could overwrite the input data.
    #[error("{}: output {relation} the input {}; choose an output outside the inputs", output.display(), input.display())]
    OutputInsideInput {
        /// The output path given.
        output: PathBuf,
        /// The input it overlaps.
        input: PathBuf,
        /// "is", "lies inside" or "contains".
        relation: &'static str,
    },

    /// A run would allocate more memory than the machine has available.
    #[error("{what} would need {} of memory, but only {} is available; {advice}", human_bytes(*needed), human_bytes(*available))]
    TooLarge {
        /// What would be allocated (e.g. "a batch of 8 images of 100000×100000").
        what: String,
        /// Bytes it would need.
        needed: u64,
        /// Bytes available.
        available: u64,
        /// What to change.
        advice: String,
    },

    // --- weights ---
    /// `make_weights` found an existing `wei/` folder and was not asked to overwrite it.
    #[error("{}: weight maps already exist; allow overwriting to recompute them", path.display())]
    WeightsExist {
        /// The existing `wei/` folder.
        path: PathBuf,
    },
}

impl Error {
    /// Wraps an I/O error with the path it concerns.
    pub fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Error::Io {
            path: path.into(),
            cause: source,
        }
    }
}

/// `1536` → `"1.5 KiB"`: sizes in error messages.
///
/// ```
/// assert_eq!(deltacell_data::memory::human_bytes(3 << 30), "3.0 GiB");
/// assert_eq!(deltacell_data::memory::human_bytes(12), "12 B");
/// ```
pub fn human_bytes(bytes: u64) -> String {
    const UNITS: [&str; 6] = ["KiB", "MiB", "GiB", "TiB", "PiB", "EiB"];
    if bytes < 1024 {
        return format!("{bytes} B");
    }
    let mut value = bytes as f64 / 1024.0;
    let mut unit = 0;
    while value >= 1024.0 && unit + 1 < UNITS.len() {
        value /= 1024.0;
        unit += 1;
    }
    format!("{value:.1} {}", UNITS[unit])
}
