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

    // --- arguments and values ---
    /// A parameter lies outside its allowed range.
    ///
    /// ```
    /// use deltacell_data::Error;
    /// let e = Error::OutOfRange {
    ///     name: "sigma".into(),
    ///     value: "-2".into(),
    ///     expected: "a finite number > 0".into(),
    /// };
    /// assert_eq!(e.to_string(), "sigma = -2 is out of range: expected a finite number > 0");
    /// ```
    #[error("{name} = {value} is out of range: expected {expected}")]
    OutOfRange {
        /// The parameter, as the library calls it (e.g. `tracking_weights halo_distance`).
        name: String,
        /// The value given, as written.
        value: String,
        /// The allowed range, in words (e.g. "a finite number > 0", "between 1 and 100000").
        expected: String,
    },

    /// An index (a sample, a step of an epoch, a channel) points past the end of what it
    /// indexes.
    #[error("{what} {index} is out of range: the {within} has {len} {what}s")]
    IndexOutOfRange {
        /// What is indexed, singular (e.g. "sample", "step").
        what: &'static str,
        /// The index given (0-based).
        index: usize,
        /// How many there are.
        len: usize,
        /// What holds them (e.g. "dataset", "epoch").
        within: &'static str,
    },

    /// Two inputs that must correspond one to one have different lengths, or a buffer does not
    /// hold as many values as its shape says.
    #[error("{what}: expected {expected}, found {found}")]
    LengthMismatch {
        /// What was counted (e.g. "cell numbers, one per cell").
        what: String,
        /// How many were needed.
        expected: usize,
        /// How many were given.
        found: usize,
    },

    /// An input that must hold something is empty.
    #[error("{what} is empty")]
    Empty {
        /// The input (e.g. "the seed mask").
        what: String,
    },

    /// A folder that must hold files of some kind holds none.
    #[error("{}: the folder holds no {wanted}", path.display())]
    NoFilesIn {
        /// The folder.
        path: PathBuf,
        /// What was looked for (e.g. ".png or .tif mask to estimate class weights from").
        wanted: String,
    },

    /// A value inside an input (a pixel of a raster, an interpolation knot) is not allowed.
    #[error("{what} has the value {value}: {rule}")]
    InvalidValue {
        /// Where the value is (e.g. "raster 0 of the stack (order 1, an intensity image)").
        what: String,
        /// The offending value, as written.
        value: String,
        /// The rule it breaks (e.g. "intensity images must lie in [0, 1]").
        rule: &'static str,
    },

    /// A name (a kind of model, a weight recipe, a synthetic set) is none of those known.
    #[error("unknown {what} {name:?}: expected one of {}", choices.join(", "))]
    UnknownName {
        /// What the name names (e.g. "kind").
        what: &'static str,
        /// The name given.
        name: String,
        /// The names accepted.
        choices: Vec<&'static str>,
    },

    /// A setting needs an input that was not given (an unsupported combination).
    #[error("{needed_by} needs {what}, but none was given")]
    MissingInput {
        /// The setting or function that needs it (e.g. `weights = "folder"`).
        needed_by: String,
        /// What it needs (e.g. "a weight folder").
        what: String,
    },

    /// A path that must be a folder (or absent) is something else.
    #[error("{}: exists and is not a folder", path.display())]
    NotAFolder {
        /// The path.
        path: PathBuf,
    },

    /// Instance labels too large for the 16-bit file they are to be written to.
    #[error("{}: label {max_label} does not fit in a 16-bit file (at most 65535)", path.display())]
    LabelOverflow {
        /// The file.
        path: PathBuf,
        /// The largest label.
        max_label: u32,
    },

    // --- internal failures (bugs in deltacell, never bad input) ---
    /// Building a batch panicked.
    #[error("building batch {batch} panicked; this is a bug in deltacell, please report it")]
    BatchPanicked {
        /// The batch's number in the stream (epoch × steps + step).
        batch: u64,
    },

    /// The loader's worker threads stopped before handing over a batch.
    #[error("the loader's worker threads stopped before handing over a batch")]
    LoaderStopped,

    /// An internal consistency check failed.
    #[error("internal error: {problem}; this is a bug in deltacell, please report it")]
    Internal {
        /// What went wrong.
        problem: String,
    },

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

    /// An [`Error::OutOfRange`]: parameter `name` has `value`, outside `expected`.
    ///
    /// ```
    /// use deltacell_data::Error;
    /// let e = Error::out_of_range("halo_distance", -1.0, "a finite number > 0");
    /// assert!(matches!(&e, Error::OutOfRange { name, .. } if name == "halo_distance"));
    /// assert!(e.to_string().contains("halo_distance = -1 "));
    /// ```
    pub fn out_of_range(
        name: impl Into<String>,
        value: impl std::fmt::Display,
        expected: impl Into<String>,
    ) -> Self {
        Error::OutOfRange {
            name: name.into(),
            value: value.to_string(),
            expected: expected.into(),
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::image::{Labels, Mask, Plane};

    /// A library message never names a command-line flag.
    fn no_flag(message: &str) {
        assert!(!message.contains("--"), "{message}");
    }

    #[test]
    fn a_parameter_out_of_range_names_the_parameter_the_value_and_the_range() {
        let m = Mask::zeros(4, 4);
        let e = crate::weights::tracking_weights(&m, &m, -1.0).unwrap_err();
        assert!(
            matches!(&e, Error::OutOfRange { name, value, .. }
                if name == "tracking_weights halo_distance" && value == "-1"),
            "{e:?}"
        );
        assert_eq!(
            e.to_string(),
            "tracking_weights halo_distance = -1 is out of range: expected a finite number > 0"
        );

        let recipe = crate::weights::WeightRecipe::Seg2d {
            classweights: (f32::NAN, 1.0),
        };
        assert_eq!(
            recipe.validate().unwrap_err().to_string(),
            "seg_weights_2D classweights[0] = NaN is out of range: expected a finite number > 0"
        );

        let out = tempfile::tempdir().unwrap();
        let e =
            crate::synth::generate(crate::synth::SynthKind::MmSeg, 0, 1, out.path(), &|_, _| {})
                .unwrap_err();
        let msg = e.to_string();
        assert!(
            msg.starts_with("number of samples = 0 is out of range"),
            "{msg}"
        );
        assert!(msg.contains("between 1 and"), "{msg}");
        no_flag(&msg);
        assert_eq!(std::fs::read_dir(out.path()).unwrap().count(), 0);

        let e = crate::tiles::create_windows(&Plane::filled(8, 8, 0u8), (4, 4), 4).unwrap_err();
        assert_eq!(
            e.to_string(),
            "min_overlap = 4 is out of range: expected less than the tile size 4"
        );
    }

    #[test]
    fn an_index_out_of_range_says_how_many_there_are() {
        let e = crate::predict::split_output(&[0.0; 8], 1, (2, 2), 2, 2).unwrap_err();
        assert!(matches!(
            e,
            Error::IndexOutOfRange {
                index: 2,
                len: 2,
                ..
            }
        ));
        assert_eq!(
            e.to_string(),
            "channel 2 is out of range: the network output has 2 channels"
        );
    }

    #[test]
    fn lengths_that_differ_give_both_counts() {
        let e = crate::predict::split_output(&[0.0; 7], 1, (2, 2), 2, 0).unwrap_err();
        assert_eq!(
            e.to_string(),
            "values of a 1x2x2x2 network output: expected 8, found 7"
        );
    }

    #[test]
    fn an_invalid_value_names_where_it_is_the_value_and_the_rule() {
        let plane = Plane::from_fn(2, 2, |r, c| if (r, c) == (1, 0) { 300.0 } else { 0.5 });
        let e = crate::augment::stack_target(plane, 1, 3).unwrap_err();
        assert_eq!(
            e.to_string(),
            "raster 3 of the stack (order 1, an intensity image) has the value 300: intensity \
             images must lie in [0, 1]"
        );
        let e = crate::augment::intensity::Pchip::new(&[0.0, 1.0, 1.0], &[0.0; 3]).unwrap_err();
        assert_eq!(
            e.to_string(),
            "PCHIP knot 2 has the value 1: knots must be finite and strictly increasing"
        );
        let e = crate::augment::intensity::Pchip::new(&[0.0, 1.0], &[0.0, f64::NAN]).unwrap_err();
        assert!(
            e.to_string().starts_with("PCHIP value 1 has the value NaN"),
            "{e}"
        );
    }

    #[test]
    fn an_unknown_name_lists_the_names_known() {
        let e = "tracks".parse::<crate::Kind>().unwrap_err();
        assert_eq!(
            e.to_string(),
            "unknown kind \"tracks\": expected one of seg, track, rois"
        );
        let e = "cells".parse::<crate::synth::SynthKind>().unwrap_err();
        assert!(
            matches!(&e, Error::UnknownName { name, choices, .. }
                if name == "cells" && choices.contains(&"mm-seg")),
            "{e:?}"
        );
        let e = "Segs".parse::<crate::weights::WeightRecipe>().unwrap_err();
        assert!(e.to_string().contains("weight recipe \"Segs\""), "{e}");
    }

    #[test]
    fn file_errors_name_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("labels.png");
        let labels = Labels::from_plane(Plane::filled(2, 2, 70_000u32));
        let e = crate::io::write_labels(&file, &labels).unwrap_err();
        assert!(matches!(
            e,
            Error::LabelOverflow {
                max_label: 70_000,
                ..
            }
        ));
        assert!(e.to_string().contains("labels.png: label 70000"), "{e}");
        assert!(!file.exists());

        std::fs::write(&file, b"x").unwrap();
        let e = crate::synth::ensure_empty_output(&file).unwrap_err();
        assert!(matches!(&e, Error::NotAFolder { path } if path == &file));

        let empty = dir.path().join("seg");
        std::fs::create_dir(&empty).unwrap();
        let e = crate::weights::estimate_seg2d_classweights_dir(&empty, None, 1).unwrap_err();
        assert!(matches!(&e, Error::NoFilesIn { path, .. } if path == &empty));
        assert!(e.to_string().contains("holds no .png or .tif mask"), "{e}");
    }

    #[test]
    fn empty_and_missing_inputs_say_what() {
        let e = crate::dataset::read::tracking_boxes(&Mask::zeros(4, 4), (2, 2)).unwrap_err();
        assert!(e.to_string().starts_with("the seed mask"), "{e}");
        assert!(e.to_string().ends_with("is empty"), "{e}");
        let recipe = crate::weights::WeightRecipe::Track {
            halo_distance: 50.0,
        };
        let e = recipe.compute(&Mask::zeros(2, 2), None).unwrap_err();
        assert!(matches!(e, Error::MissingInput { .. }));
        assert!(e.to_string().contains("(segall)"), "{e}");
    }
}
