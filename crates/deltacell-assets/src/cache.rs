//! The cache folder: one sub-folder per asset, complete or absent.
//!
//! ```text
//! <cache>/
//!   2D_training_segmentation/          one folder per asset, renamed into place whole
//!     .deltacell-asset.json            the completion record (written last, before the rename)
//!     2D_training_segmentation/…       the unpacked archive (format "zip")
//!   moma_seg/
//!     .deltacell-asset.json
//!     moma_seg.keras                   the file itself (format "file")
//!   .NAME.<random>.part                a download in progress (removed on error)
//!   .NAME.<random>.unpack/             an unpack in progress (removed on error)
//! ```
//!
//! A folder counts as the asset only if its completion record is there, matches the registry's
//! checksum, and every file it lists has the recorded size ([`Check::Quick`]) or also the
//! recorded SHA-256 ([`Check::Full`]). Everything else is reported as damaged or stale and
//! fetched again.

use std::fs::File;
use std::io::{BufReader, Read};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::error::{Error, Result};
use crate::registry::{Asset, Format};

/// Environment variable naming the cache folder (read by [`Cache::from_env`]); DeLTA's
/// counterpart is `DELTA_ASSETS_CACHE`.
pub const CACHE_ENV: &str = "DELTACELL_CACHE";

/// Name of the completion record inside an asset's folder.
pub const RECORD_FILE: &str = ".deltacell-asset.json";

/// Version of the completion record's format.
pub const RECORD_VERSION: u32 = 1;

/// The completion record of a cached asset (`.deltacell-asset.json`), written after every file
/// is in place and before the folder is renamed to the asset's name.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Record {
    /// [`RECORD_VERSION`].
    pub format_version: u32,
    /// The asset's name.
    pub name: String,
    /// The URL it was downloaded from.
    pub url: String,
    /// SHA-256 of the downloaded file (64 lowercase hex digits).
    pub sha256: String,
    /// True if `sha256` was checked against the registry; false for an entry without checksum
    /// fetched with permission (then `sha256` is only what was computed).
    pub verified: bool,
    /// Size of the download in bytes.
    pub bytes: u64,
    /// When the download finished, seconds since the Unix epoch.
    pub fetched_unix_s: u64,
    /// Every file of the asset, relative to its folder.
    pub files: Vec<FileRecord>,
}

/// One file of a cached asset.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileRecord {
    /// Path relative to the asset's folder, `/`-separated.
    pub path: String,
    /// Size in bytes.
    pub bytes: u64,
    /// SHA-256, 64 lowercase hex digits.
    pub sha256: String,
}

/// How thoroughly a cached copy is checked.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Check {
    /// The completion record and the size of every file (fast: metadata only). The default.
    #[default]
    Quick,
    /// Also the SHA-256 of every file (reads everything).
    Full,
}

/// The state of an asset in the cache.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Status {
    /// No folder of that name.
    Missing,
    /// Complete and valid (to the [`Check`] asked for).
    Complete(Record),
    /// Complete, but for another checksum (or, without checksum, another URL) than the
    /// registry's now: the entry changed since.
    Stale {
        /// What differs.
        reason: String,
    },
    /// A folder is there but is not a complete, intact copy.
    Damaged {
        /// The first problem found.
        problem: String,
    },
}

/// A cache folder.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Cache {
    dir: PathBuf,
}

impl Cache {
    /// A cache in `dir` (created on the first download).
    pub fn new(dir: impl Into<PathBuf>) -> Cache {
        Cache { dir: dir.into() }
    }

    /// The cache in `DELTACELL_CACHE` if set and non-empty, otherwise [`Cache::default_dir`].
    pub fn from_env() -> Result<Cache> {
        match std::env::var_os(CACHE_ENV) {
            Some(d) if !d.is_empty() => Ok(Cache::new(d)),
            _ => Ok(Cache::new(Cache::default_dir()?)),
        }
    }

    /// The default cache folder: `deltacell/assets` in the user's cache directory
    /// (`$XDG_CACHE_HOME` or `~/.cache` on Linux, `~/Library/Caches` on macOS,
    /// `%LOCALAPPDATA%` on Windows). Errors with [`Error::NoCacheDir`] if the system has none.
    pub fn default_dir() -> Result<PathBuf> {
        dirs::cache_dir()
            .map(|d| d.join("deltacell").join("assets"))
            .ok_or(Error::NoCacheDir)
    }

    /// The cache folder.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The folder of `asset` in the cache (whether or not it exists).
    pub fn asset_dir(&self, asset: &Asset) -> PathBuf {
        self.dir.join(&asset.name)
    }

    /// The path [`crate::fetch`] returns for `asset`: the set root (format `zip`) or the file
    /// (format `file`), whether or not it exists.
    pub fn asset_path(&self, asset: &Asset) -> PathBuf {
        let dir = self.asset_dir(asset);
        match (asset.format, &asset.root) {
            (Format::File, _) => dir.join(&asset.file),
            (Format::Zip, Some(root)) => dir.join(root),
            (Format::Zip, None) => dir,
        }
    }

    /// The state of `asset` in the cache, checked as thoroughly as `check` says. Never
    /// downloads, never changes anything; I/O problems count as damage.
    pub fn status(&self, asset: &Asset, check: Check) -> Status {
        let dir = self.asset_dir(asset);
        match std::fs::symlink_metadata(&dir) {
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Status::Missing,
            Err(e) => {
                return Status::Damaged {
                    problem: format!("{}: {e}", dir.display()),
                }
            }
            Ok(m) if !m.is_dir() => {
                return Status::Damaged {
                    problem: format!("{} is not a folder", dir.display()),
                }
            }
            Ok(_) => {}
        }
        let record = match read_record(&dir) {
            Ok(r) => r,
            Err(status) => return status,
        };
        if record.name != asset.name {
            return Status::Damaged {
                problem: format!(
                    "the completion record is for asset {:?}, not {:?}",
                    record.name, asset.name
                ),
            };
        }
        match &asset.sha256 {
            Some(expected) if *expected != record.sha256 => {
                return Status::Stale {
                    reason: format!(
                        "cached sha256 {} but the registry now says {expected}",
                        record.sha256
                    ),
                }
            }
            None if record.url != asset.url => {
                return Status::Stale {
                    reason: format!(
                        "cached from {} but the registry now says {}",
                        record.url, asset.url
                    ),
                }
            }
            _ => {}
        }
        if let Err(status) = check_files(&dir, &record, check) {
            return status;
        }
        let path = self.asset_path(asset);
        let shape_ok = match asset.format {
            Format::File => record.files.iter().any(|f| f.path == asset.file),
            Format::Zip => path.is_dir(),
        };
        if !shape_ok {
            return Status::Damaged {
                problem: format!("{} is missing", path.display()),
            };
        }
        Status::Complete(record)
    }
}

/// [`Status::Damaged`] with `problem`.
fn damaged(problem: String) -> Status {
    Status::Damaged { problem }
}

/// Reads and parses the completion record of the asset folder `dir` ([`Status::Damaged`] saying
/// why when it cannot be used).
fn read_record(dir: &Path) -> std::result::Result<Record, Status> {
    let path = dir.join(RECORD_FILE);
    let text = match std::fs::read_to_string(&path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(damaged(format!(
                "no completion record {} (an interrupted fetch, or a folder not made by deltacell)",
                path.display()
            )))
        }
        Err(e) => return Err(damaged(format!("{}: {e}", path.display()))),
    };
    let record: Record = serde_json::from_str(&text).map_err(|e| {
        damaged(format!(
            "{}: unreadable completion record: {e}",
            path.display()
        ))
    })?;
    if record.format_version != RECORD_VERSION {
        return Err(damaged(format!(
            "{}: completion record version {}, expected {RECORD_VERSION}",
            path.display(),
            record.format_version
        )));
    }
    Ok(record)
}

/// Checks every file listed in `record`; the error names the first bad file.
fn check_files(dir: &Path, record: &Record, check: Check) -> std::result::Result<(), Status> {
    for f in &record.files {
        let path = dir.join(&f.path);
        let meta = match std::fs::metadata(&path) {
            Ok(m) => m,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(damaged(format!("{} is missing", path.display())))
            }
            Err(e) => return Err(damaged(format!("{}: {e}", path.display()))),
        };
        if !meta.is_file() {
            return Err(damaged(format!("{} is not a file", path.display())));
        }
        if meta.len() != f.bytes {
            return Err(damaged(format!(
                "{} has {} bytes, expected {}",
                path.display(),
                meta.len(),
                f.bytes
            )));
        }
        if check == Check::Full {
            let (sha, _) = hash_file(&path).map_err(|e| damaged(e.to_string()))?;
            if sha != f.sha256 {
                return Err(damaged(format!(
                    "{} has sha256 {sha}, expected {}",
                    path.display(),
                    f.sha256
                )));
            }
        }
    }
    Ok(())
}

/// SHA-256 (64 lowercase hex digits) and size in bytes of a file.
pub fn hash_file(path: &Path) -> Result<(String, u64)> {
    let file = File::open(path).map_err(|e| Error::io(path, e))?;
    let mut reader = BufReader::with_capacity(1 << 16, file);
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 1 << 16];
    let mut bytes = 0u64;
    loop {
        let n = match reader.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(Error::io(path, e)),
        };
        hasher.update(&buf[..n]);
        bytes += n as u64;
    }
    Ok((hex(&hasher.finalize()), bytes))
}

/// Lowercase hexadecimal of `bytes`.
pub(crate) fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write;
    bytes.iter().fold(String::with_capacity(64), |mut s, b| {
        let _ = write!(s, "{b:02x}");
        s
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::registry::{Origin, Registry};

    fn asset() -> Asset {
        let text = r#"
[assets.one]
kind = "model"
url = "http://127.0.0.1:1/one.bin"
sha256 = "1111111111111111111111111111111111111111111111111111111111111111"
format = "file"
file = "one.bin"
"#;
        Registry::from_toml_str(text, Origin::BuiltIn)
            .unwrap()
            .get("one")
            .unwrap()
            .clone()
    }

    fn write_record(dir: &Path, sha: &str, files: Vec<FileRecord>) {
        let r = Record {
            format_version: RECORD_VERSION,
            name: "one".into(),
            url: "http://127.0.0.1:1/one.bin".into(),
            sha256: sha.into(),
            verified: true,
            bytes: 5,
            fetched_unix_s: 0,
            files,
        };
        std::fs::write(dir.join(RECORD_FILE), serde_json::to_string(&r).unwrap()).unwrap();
    }

    #[test]
    fn status_follows_record_and_files() {
        let tmp = tempfile::tempdir().unwrap();
        let cache = Cache::new(tmp.path());
        let a = asset();
        assert_eq!(cache.status(&a, Check::Quick), Status::Missing);
        let dir = cache.asset_dir(&a);
        std::fs::create_dir_all(&dir).unwrap();
        assert!(
            matches!(cache.status(&a, Check::Quick), Status::Damaged { problem } if problem.contains("no completion record"))
        );
        std::fs::write(dir.join("one.bin"), b"hello").unwrap();
        let (sha, bytes) = hash_file(&dir.join("one.bin")).unwrap();
        assert_eq!(
            sha,
            "2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824"
        );
        let files = vec![FileRecord {
            path: "one.bin".into(),
            bytes,
            sha256: sha.clone(),
        }];
        write_record(&dir, &"2".repeat(64), files.clone());
        assert!(matches!(
            cache.status(&a, Check::Quick),
            Status::Stale { .. }
        ));
        write_record(&dir, &"1".repeat(64), files);
        assert!(matches!(cache.status(&a, Check::Full), Status::Complete(_)));
        assert_eq!(cache.asset_path(&a), dir.join("one.bin"));
        // Same size, other bytes: only the full check sees it.
        std::fs::write(dir.join("one.bin"), b"hellO").unwrap();
        assert!(matches!(
            cache.status(&a, Check::Quick),
            Status::Complete(_)
        ));
        assert!(
            matches!(cache.status(&a, Check::Full), Status::Damaged { problem } if problem.contains("sha256"))
        );
        std::fs::write(dir.join("one.bin"), b"hell").unwrap();
        assert!(
            matches!(cache.status(&a, Check::Quick), Status::Damaged { problem } if problem.contains("4 bytes, expected 5"))
        );
        std::fs::remove_file(dir.join("one.bin")).unwrap();
        assert!(
            matches!(cache.status(&a, Check::Quick), Status::Damaged { problem } if problem.contains("missing"))
        );
    }
}
