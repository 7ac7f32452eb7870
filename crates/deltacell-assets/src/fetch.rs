//! Fetching an asset: use the cached copy if it is complete, otherwise download, verify, unpack
//! and move it into place in one rename.

use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::cache::{Cache, Check, FileRecord, Record, Status, RECORD_FILE, RECORD_VERSION};
use crate::download::{download, Timeouts};
use crate::error::{Error, Result};
use crate::registry::{Asset, Format};
use crate::unpack::unpack_zip;

/// Options of [`fetch_with`]; [`FetchOptions::default`] is what [`fetch`] uses.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct FetchOptions {
    /// Allow downloading an asset whose registry entry has no `sha256` (default false: refused
    /// with [`Error::Unverified`]). The computed hash is recorded and returned, unverified.
    pub allow_unverified: bool,
    /// How a cached copy is checked before it is used (default [`Check::Quick`]).
    pub check: Check,
    /// Download again even if a valid copy is cached (default false).
    pub force: bool,
    /// Network time limits.
    pub timeouts: Timeouts,
}

/// A fetched (or found) asset.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Fetched {
    /// The asset's name.
    pub name: String,
    /// Its folder in the cache.
    pub dir: PathBuf,
    /// What to use: the set root (format `zip`: the entry's `root` inside `dir`, or `dir`) or the
    /// file (format `file`). DeLTA: the path `download_training_set` / `download_model` returns.
    pub path: PathBuf,
    /// SHA-256 of the downloaded file, 64 lowercase hex digits.
    pub sha256: String,
    /// True if `sha256` was checked against the registry.
    pub verified: bool,
    /// Bytes downloaded by this call; `None` if the cached copy was used.
    pub downloaded: Option<u64>,
    /// Why an existing cached copy was replaced (damaged, stale, or forced), if one was.
    pub replaced: Option<String>,
}

/// Fetches `asset` into `cache` with the default options (quick check of a cached copy, no
/// unverified downloads, default time limits) and returns where it is.
///
/// `progress(bytes_so_far, total_bytes)` is called as the download proceeds (`total_bytes` is
/// `None` when the server announces no size); it is not called when the cached copy is used.
///
/// DeLTA: `download_training_set`, `download_model`, `download_demo_movie` (pooch `fetch`).
pub fn fetch(
    asset: &Asset,
    cache: &Cache,
    progress: &mut dyn FnMut(u64, Option<u64>),
) -> Result<Fetched> {
    fetch_with(asset, cache, &FetchOptions::default(), progress)
}

/// Fetches `asset` into `cache`: returns the cached copy if it is complete and valid (checked
/// per `options.check`), otherwise downloads it again.
///
/// A download streams into a temporary file in the cache folder, hashing as it goes; it must
/// have the announced number of bytes and the registry's SHA-256. A zip is then unpacked into a
/// temporary folder, which gets its completion record last and is renamed to the asset's name
/// (a damaged or stale copy is moved aside first and deleted after). On any error the temporary
/// file and folder are removed and nothing that looks complete is left behind.
///
/// Errors: [`Error::Unverified`] (no checksum and not allowed), [`Error::HttpStatus`],
/// [`Error::Connection`], [`Error::Truncated`], [`Error::TooLong`],
/// [`Error::ChecksumMismatch`], [`Error::BadZip`], [`Error::MissingRoot`], [`Error::Io`].
pub fn fetch_with(
    asset: &Asset,
    cache: &Cache,
    options: &FetchOptions,
    progress: &mut dyn FnMut(u64, Option<u64>),
) -> Result<Fetched> {
    let status = cache.status(asset, options.check);
    let replaced = match status {
        Status::Complete(record) if !options.force => {
            return Ok(found(asset, cache, &record));
        }
        Status::Complete(_) => Some("a new download was asked for".to_string()),
        Status::Missing => None,
        Status::Stale { reason } => Some(format!("stale: {reason}")),
        Status::Damaged { problem } => Some(format!("damaged: {problem}")),
    };
    if asset.sha256.is_none() && !options.allow_unverified {
        return Err(Error::Unverified {
            name: asset.name.clone(),
            url: asset.url.clone(),
        });
    }
    let root = cache.dir();
    std::fs::create_dir_all(root).map_err(|e| Error::io(root, e))?;
    remove_leftovers(root, &asset.name, LEFTOVER_AGE);

    // 1. Download into a temporary file next to the target.
    let mut part = tempfile::Builder::new()
        .prefix(&format!(".{}.", asset.name))
        .suffix(".part")
        .tempfile_in(root)
        .map_err(|e| Error::io(root, e))?;
    let part_path = part.path().to_path_buf();
    let got = {
        let mut writer = std::io::BufWriter::with_capacity(1 << 16, part.as_file_mut());
        download(asset, &options.timeouts, &mut writer, &part_path, progress)?
    };
    part.as_file()
        .sync_all()
        .map_err(|e| Error::io(&part_path, e))?;

    // 2. Verify.
    if let Some(expected) = &asset.sha256 {
        if *expected != got.sha256 {
            return Err(Error::ChecksumMismatch {
                name: asset.name.clone(),
                url: asset.url.clone(),
                expected: expected.clone(),
                got: got.sha256,
                bytes: got.bytes,
                content_type: got.content_type.map(String::into_boxed_str),
            });
        }
    }

    // 3. Unpack (or place the file) into a temporary folder.
    let staging = tempfile::Builder::new()
        .prefix(&format!(".{}.", asset.name))
        .suffix(".unpack")
        .tempdir_in(root)
        .map_err(|e| Error::io(root, e))?;
    let files = match asset.format {
        Format::Zip => {
            let files = unpack_zip(&asset.name, &asset.url, &part_path, staging.path())?;
            if let Some(r) = &asset.root {
                if !staging.path().join(r).is_dir() {
                    return Err(Error::MissingRoot {
                        name: asset.name.clone(),
                        url: asset.url.clone(),
                        root: r.clone(),
                        found: top_level(staging.path()),
                    });
                }
            }
            drop(part);
            files
        }
        Format::File => {
            let dest = staging.path().join(&asset.file);
            part.persist(&dest).map_err(|e| Error::io(&dest, e.error))?;
            vec![FileRecord {
                path: asset.file.clone(),
                bytes: got.bytes,
                sha256: got.sha256.clone(),
            }]
        }
    };

    // 4. The completion record, last.
    let record = Record {
        format_version: RECORD_VERSION,
        name: asset.name.clone(),
        url: asset.url.clone(),
        sha256: got.sha256.clone(),
        verified: asset.sha256.is_some(),
        bytes: got.bytes,
        fetched_unix_s: SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs()),
        files,
    };
    let record_path = staging.path().join(RECORD_FILE);
    let text = serde_json::to_string_pretty(&record)
        .map_err(|e| Error::io(&record_path, std::io::Error::other(e)))?;
    write_synced(&record_path, text.as_bytes())?;

    // 5. Into place: move an old copy aside, rename the new one, delete the old one.
    let target = cache.asset_dir(asset);
    let aside = if std::fs::symlink_metadata(&target).is_ok() {
        let aside = tempfile::Builder::new()
            .prefix(&format!(".{}.", asset.name))
            .suffix(".old")
            .tempdir_in(root)
            .map_err(|e| Error::io(root, e))?;
        let old = aside.path().join("old");
        std::fs::rename(&target, &old).map_err(|e| Error::io(&target, e))?;
        Some(aside)
    } else {
        None
    };
    let staged = staging.keep();
    if let Err(e) = std::fs::rename(&staged, &target) {
        let _ = std::fs::remove_dir_all(&staged);
        // Another process may have put a complete copy there in the meantime.
        if let Status::Complete(record) = cache.status(asset, Check::Quick) {
            return Ok(found(asset, cache, &record));
        }
        return Err(Error::io(&target, e));
    }
    drop(aside);
    Ok(Fetched {
        name: asset.name.clone(),
        dir: target,
        path: cache.asset_path(asset),
        sha256: got.sha256,
        verified: asset.sha256.is_some(),
        downloaded: Some(got.bytes),
        replaced,
    })
}

/// The cached copy of `asset`, checked per `check`; never downloads.
///
/// Errors: [`Error::NotCached`] if absent, [`Error::Damaged`] if damaged or stale.
pub fn verify_cached(asset: &Asset, cache: &Cache, check: Check) -> Result<Fetched> {
    match cache.status(asset, check) {
        Status::Complete(record) => Ok(found(asset, cache, &record)),
        Status::Missing => Err(Error::NotCached {
            name: asset.name.clone(),
            cache: cache.dir().to_path_buf(),
        }),
        Status::Stale { reason: problem } | Status::Damaged { problem } => Err(Error::Damaged {
            name: asset.name.clone(),
            path: cache.asset_dir(asset),
            problem,
        }),
    }
}

fn found(asset: &Asset, cache: &Cache, record: &Record) -> Fetched {
    Fetched {
        name: asset.name.clone(),
        dir: cache.asset_dir(asset),
        path: cache.asset_path(asset),
        sha256: record.sha256.clone(),
        verified: record.verified,
        downloaded: None,
        replaced: None,
    }
}

/// Age after which the temporary files and folders of an interrupted fetch (a killed process)
/// are removed by the next fetch of the same asset: 24 h.
pub const LEFTOVER_AGE: Duration = Duration::from_secs(24 * 3600);

/// Removes `.NAME.*.part`, `.NAME.*.unpack` and `.NAME.*.old` entries of `root` not modified
/// for `max_age` (best effort: errors are ignored, a fetch in progress is younger).
fn remove_leftovers(root: &Path, name: &str, max_age: Duration) {
    let Ok(entries) = std::fs::read_dir(root) else {
        return;
    };
    let prefix = format!(".{name}.");
    for entry in entries.flatten() {
        let file_name = entry.file_name();
        let file_name = file_name.to_string_lossy();
        let ours = file_name.starts_with(&prefix)
            && [".part", ".unpack", ".old"]
                .iter()
                .any(|s| file_name.ends_with(s));
        if !ours {
            continue;
        }
        let old = entry
            .metadata()
            .and_then(|m| m.modified())
            .ok()
            .and_then(|t| t.elapsed().ok())
            .is_some_and(|age| age >= max_age);
        if old {
            let path = entry.path();
            let _ = if path.is_dir() {
                std::fs::remove_dir_all(&path)
            } else {
                std::fs::remove_file(&path)
            };
        }
    }
}

/// Names at the top level of `dir` (sorted), for error messages.
fn top_level(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .map(|rd| {
            rd.filter_map(|e| e.ok())
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    if names.is_empty() {
        names.push("(nothing)".into());
    }
    names
}

/// Writes `bytes` to `path` (a new file) and flushes it to disk.
fn write_synced(path: &Path, bytes: &[u8]) -> Result<()> {
    use std::io::Write;
    let mut f = std::fs::File::create(path).map_err(|e| Error::io(path, e))?;
    f.write_all(bytes).map_err(|e| Error::io(path, e))?;
    f.sync_all().map_err(|e| Error::io(path, e))
}
