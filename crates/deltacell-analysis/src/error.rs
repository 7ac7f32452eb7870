//! The error type of `deltacell-analysis`: every variant that concerns a file or a cell names it.

use std::path::PathBuf;

/// Result alias used throughout the crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything that can go wrong while analysing a movie or reading and writing its results.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// An error of the data layer (reading images, writing files).
    #[error(transparent)]
    Data(#[from] deltacell_data::error::Error),

    /// A lineage that contradicts itself (a mother born after her daughter, a cell id used
    /// twice, a division outside the mother's life).
    #[error("inconsistent lineage: {0}")]
    Lineage(#[from] crate::lineage::LineageError),

    /// The netCDF library failed to read or write a file.
    #[error("{}: netCDF: {message}", path.display())]
    NetCdf {
        /// The file.
        path: PathBuf,
        /// What the netCDF library said.
        message: String,
    },

    /// A netCDF file that is not a results file of DeLTA's format 0.1.0 (a variable or an
    /// attribute missing, of the wrong type or shape).
    #[error("{}: not a DeLTA results file (format 0.1.0): {problem}", path.display())]
    Format {
        /// The file.
        path: PathBuf,
        /// What is missing or wrong, naming the group and the variable or attribute.
        problem: String,
    },

    /// Results that cannot be written as they are (stacks of different sizes, features that do
    /// not match the lineage, a cell id above 65535).
    #[error("ROI {roi}: {problem}")]
    InvalidResults {
        /// The ROI's number.
        roi: u32,
        /// What is inconsistent.
        problem: String,
    },

    /// A movie input that cannot be read as a movie (a template that matches nothing, a
    /// missing frame or channel, an unsupported input).
    #[error("{}: {problem}", input.display())]
    Movie {
        /// The input as given (template, file or folder).
        input: PathBuf,
        /// What is wrong.
        problem: String,
    },

    /// A frame whose size differs from the movie's first frame.
    #[error("{}: frame of {}×{} pixels, the movie's frames are {}×{} (height × width)", path.display(), found.0, found.1, expected.0, expected.1)]
    FrameSize {
        /// The frame's file.
        path: PathBuf,
        /// The movie's frame size.
        expected: (usize, usize),
        /// This frame's size.
        found: (usize, usize),
    },

    /// A key of the analysis configuration that is unknown or has a bad value (`-C KEY=VALUE`,
    /// or a key of a configuration file).
    #[error("configuration key {key}: {problem}")]
    Config {
        /// The key, dotted as in DeLTA (`models.seg.min_area`).
        key: String,
        /// What is wrong with it.
        problem: String,
    },

    /// A configuration file that cannot be read or parsed.
    #[error("{}: {problem}", path.display())]
    ConfigFile {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        problem: String,
    },

    /// A model file or folder that cannot be used (missing, not a model, the wrong kind or
    /// channel count).
    #[error("{}: {problem}", path.display())]
    ModelFile {
        /// The model's file or run folder.
        path: PathBuf,
        /// What is wrong.
        problem: String,
    },

    /// A network failed (inputs the model cannot take, a failed computation).
    #[error(transparent)]
    Model(#[from] deltacell_nn::Error),

    /// Inputs or outputs of a network that do not fit together.
    #[error("model input: {problem}")]
    ModelInput {
        /// What does not fit.
        problem: String,
    },

    /// The analysis was interrupted (Ctrl-C) before it finished.
    #[error("interrupted")]
    Cancelled,

    /// A cell whose shape does not allow a measurement DeLTA makes (e.g. a contour of fewer
    /// than 4 points has no poles).
    #[error("ROI {roi}, frame index {frame}, cell {cell}: {problem}")]
    Cell {
        /// The ROI's number.
        roi: u32,
        /// The frame index (0-based, into the ROI's stack).
        frame: usize,
        /// The cell's id.
        cell: u32,
        /// What went wrong.
        problem: String,
    },

    /// A pre-processing step (rotation, chambers, drift) that cannot run on its input (an empty
    /// or constant image, a template larger than the frame, no chamber found).
    #[error("{step}: {problem}")]
    Preprocess {
        /// The step, e.g. `"drift"`.
        step: &'static str,
        /// What is wrong with the input.
        problem: String,
    },

    /// A raster given to the tracker whose shape is not the one it needs (an image that is not
    /// the ROI's size, a segmentation or tracking output that is not the model's size).
    #[error("ROI {roi}, frame index {frame}: {what} is {}×{} pixels, expected {}×{} (height × width)", found.0, found.1, expected.0, expected.1)]
    TrackingShape {
        /// The ROI's number.
        roi: u32,
        /// The frame index (0-based, into the ROI's stack).
        frame: usize,
        /// Which raster.
        what: &'static str,
        /// The shape it must have.
        expected: (usize, usize),
        /// Its shape.
        found: (usize, usize),
    },

    /// A count given to the tracker that does not match what it expects (tracking outputs
    /// against the inputs' samples, fluorescence channels, inputs of another frame, the
    /// previous frame's cells).
    #[error("ROI {roi}, frame index {frame}: {what}: {found}, expected {expected}")]
    TrackingCount {
        /// The ROI's number.
        roi: u32,
        /// The frame index (0-based, into the ROI's stack).
        frame: usize,
        /// What was counted.
        what: &'static str,
        /// The expected count.
        expected: usize,
        /// The count found.
        found: usize,
    },

    /// A frame of the results movie whose size differs from the position's (or, when writing
    /// a movie, from its first frame's).
    #[error("results movie: frame index {frame} is {}×{} pixels, expected {}×{} (height × width)", found.0, found.1, expected.0, expected.1)]
    MovieFrameSize {
        /// The frame's index (0-based).
        frame: usize,
        /// The expected size, (height, width).
        expected: (usize, usize),
        /// This frame's size, (height, width).
        found: (usize, usize),
    },

    /// A results movie of another number of frames than a ROI's stacks.
    #[error("results movie: {found} frames given, ROI {roi} has {expected}")]
    MovieFrameCount {
        /// The ROI's number.
        roi: u32,
        /// The ROI's number of frames.
        expected: usize,
        /// The number of movie frames given.
        found: usize,
    },

    /// A results movie that cannot be written (no frames, a frame rate out of range, ffmpeg
    /// failing, with its message).
    #[error("{}: cannot write the results movie: {problem}", path.display())]
    MovieWrite {
        /// The movie file.
        path: PathBuf,
        /// What went wrong.
        problem: String,
    },

    /// Results that cannot be made into a training set: two results of one position (their
    /// samples would have the same file names), a frame number below 0, a ROI box that is not a
    /// chamber box of DeLTA's ROI model, a position without ROIs.
    #[error("position {position}{}: {problem}", roi.map(|r| format!(", ROI {r}")).unwrap_or_default())]
    TrainingSet {
        /// The position's number.
        position: u32,
        /// The ROI's number, where the problem is one ROI's.
        roi: Option<u32>,
        /// What is wrong.
        problem: String,
    },

    /// A fingerprint file (`PositionNNNNNN.fingerprint.json`, [`crate::fingerprint`]) that
    /// cannot be read.
    #[error("{}: not a deltacell fingerprint file: {problem}", path.display())]
    Fingerprint {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        problem: String,
    },

    /// Results in the output folder made from other inputs, models, configuration or options
    /// than this run's (or without a fingerprint): refused, naming each position and what
    /// changed, unless the run is asked to redo them.
    #[error("{}: results made from something else: {}", dir.display(), changes.join(" | "))]
    ResultsChanged {
        /// The results folder.
        dir: PathBuf,
        /// One item per position: `position N: what changed`.
        changes: Vec<String>,
    },

    /// A shard specification (`--shard I/N`, or Slurm's array variables) that is not valid.
    #[error("shard {given}: {problem}")]
    Shard {
        /// What was given: `--shard 3/2`, `SLURM_ARRAY_TASK_ID=x`.
        given: String,
        /// What is wrong.
        problem: String,
    },

    /// A results folder whose positions cannot be merged: none, or results of different
    /// configurations, models, frames or deltacell versions, or tables of different columns.
    #[error("{}: cannot merge: {problem}", dir.display())]
    Merge {
        /// The results folder.
        dir: PathBuf,
        /// What is inconsistent.
        problem: String,
    },
}
