//! Preload (decode every file once into memory) or stream (decode on access), chosen by size.

use std::fmt;
use std::path::Path;

use rayon::prelude::*;

use crate::error::Result;

/// Default limit of [`StorageChoice::Auto`]: 1 GiB of decoded data.
pub const DEFAULT_PRELOAD_LIMIT: u64 = 1 << 30;

/// How a dataset keeps its files: the user's request.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StorageChoice {
    /// Preload when the decoded data is estimated below the preload limit, else stream.
    #[default]
    Auto,
    /// Always decode everything up front (DeLTA's `preload=True`).
    Preload,
    /// Always read from disk on access (DeLTA's default generators).
    Stream,
}

/// How a dataset keeps its files: the decision.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Storage {
    /// Everything decoded in memory.
    Preload,
    /// Files decoded on every access.
    Stream,
}

/// What was decided and why; `Display` gives a one-line log message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StorageReport {
    /// The decision.
    pub storage: Storage,
    /// Number of files (samples) in the dataset.
    pub files: usize,
    /// Estimated decoded size of the kept rasters, bytes.
    pub estimated_bytes: u64,
    /// The limit [`StorageChoice::Auto`] compared against, bytes.
    pub limit_bytes: u64,
    /// The request.
    pub choice: StorageChoice,
}

impl StorageReport {
    /// Decides between preloading and streaming.
    pub(crate) fn decide(
        choice: StorageChoice,
        files: usize,
        estimated_bytes: u64,
        limit_bytes: u64,
    ) -> Self {
        let storage = match choice {
            StorageChoice::Preload => Storage::Preload,
            StorageChoice::Stream => Storage::Stream,
            StorageChoice::Auto if estimated_bytes < limit_bytes => Storage::Preload,
            StorageChoice::Auto => Storage::Stream,
        };
        StorageReport {
            storage,
            files,
            estimated_bytes,
            limit_bytes,
            choice,
        }
    }
}

impl fmt::Display for StorageReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mib = |b: u64| b as f64 / (1024.0 * 1024.0);
        let what = match self.storage {
            Storage::Preload => "preloaded into memory",
            Storage::Stream => "streamed from disk",
        };
        let why = match self.choice {
            StorageChoice::Auto => format!(
                "auto: {:.1} MiB decoded {} the {:.0} MiB limit",
                mib(self.estimated_bytes),
                if self.storage == Storage::Preload {
                    "is under"
                } else {
                    "exceeds"
                },
                mib(self.limit_bytes)
            ),
            StorageChoice::Preload => {
                format!("forced; {:.1} MiB decoded", mib(self.estimated_bytes))
            }
            StorageChoice::Stream => "forced".to_string(),
        };
        write!(f, "{} files {what} ({why})", self.files)
    }
}

/// `(height, width)` of an image file from its header, without decoding the pixels when the
/// `image` crate knows the format (else by decoding it, e.g. 32-bit float TIFF).
pub(crate) fn image_shape(path: &Path) -> Result<(usize, usize)> {
    match image::image_dimensions(path) {
        Ok((w, h)) => Ok((h as usize, w as usize)),
        Err(_) => Ok(crate::io::read_raw(path)?.shape()),
    }
}

/// The decoded items of a dataset of `n` files when `report` says to preload them (after checking
/// that they fit in memory; in parallel), `None` to stream them.
pub(crate) fn preload<T: Send>(
    report: &StorageReport,
    n: usize,
    load: impl Fn(usize) -> Result<T> + Sync,
) -> Result<Option<Vec<T>>> {
    if report.storage != Storage::Preload {
        return Ok(None);
    }
    crate::memory::ensure_fits(
        report.estimated_bytes,
        &format!("preloading {} files", report.files),
        "set storage = \"stream\" or lower target_size",
    )?;
    (0..n)
        .into_par_iter()
        .map(&load)
        .collect::<Result<_>>()
        .map(Some)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn auto_follows_the_limit_and_forced_choices_win() {
        let r = StorageReport::decide(StorageChoice::Auto, 3, 10, 100);
        assert_eq!(r.storage, Storage::Preload);
        assert!(r.to_string().contains("preloaded"));
        let r = StorageReport::decide(StorageChoice::Auto, 3, 100, 100);
        assert_eq!(r.storage, Storage::Stream);
        assert_eq!(
            StorageReport::decide(StorageChoice::Stream, 3, 1, 100).storage,
            Storage::Stream
        );
        assert_eq!(
            StorageReport::decide(StorageChoice::Preload, 3, 1000, 100).storage,
            Storage::Preload
        );
    }
}
