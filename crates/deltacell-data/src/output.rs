//! Where and how outputs are written, so that nothing deltacell does can damage its inputs.
//!
//! * [`write_atomic`]: every file is written to a temporary file in its destination folder,
//!   flushed to disk (`fsync`) and renamed over its final name, so an interrupted or failed run
//!   never leaves a partial file under a final name. Files get the usual permissions
//!   (`0666 & !umask`), like any other program's, so that a lab's shared folders stay readable.
//! * [`ensure_outside_inputs`]: an output folder (or file) that is, contains or lies inside an
//!   input folder is refused before anything is written, comparing canonical paths (symbolic
//!   links resolved), also for outputs that do not exist yet.
//! * [`prepare_dir`]: the two above for an output folder, plus removal of the temporary files
//!   that an earlier, killed deltacell process left there ([`clean_stale_temp_files`]).
//! * [`remove_pending_temp_files`]: for a signal handler that stops the process at once: removes
//!   the temporary files of the writes in flight, so that an interrupted command leaves nothing
//!   behind.
//!
//! Temporary files are named `.deltacell-<pid>.<host>-<random>.tmp`: the process id tells a
//! later run whether the writer is still alive, and `<host>` (a hash of the machine's name) that
//! the process id is this machine's: processes of other machines writing into a shared folder
//! (a cluster's array tasks) keep their files.

use std::collections::BTreeSet;
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Component, Path, PathBuf};
use std::sync::Mutex;

use crate::error::{Error, Result};

/// Prefix of every temporary file deltacell writes.
pub const TEMP_PREFIX: &str = ".deltacell-";
/// Suffix of every temporary file deltacell writes.
pub const TEMP_SUFFIX: &str = ".tmp";

/// Temporary files of the writes in flight in this process.
static PENDING: Mutex<BTreeSet<PathBuf>> = Mutex::new(BTreeSet::new());

fn pending() -> std::sync::MutexGuard<'static, BTreeSet<PathBuf>> {
    PENDING
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Writes `path` atomically: `write` fills a temporary file in the same folder, which is
/// flushed to disk and renamed over `path`. On any error the temporary file is removed and
/// `path` is untouched. The file's permissions are `0666 & !umask` (on Unix).
///
/// ```
/// let dir = tempfile::tempdir().unwrap();
/// let path = dir.path().join("a.txt");
/// deltacell_data::output::write_atomic(&path, |w| std::io::Write::write_all(w, b"hi")).unwrap();
/// assert_eq!(std::fs::read(&path).unwrap(), b"hi");
/// ```
pub fn write_atomic(
    path: impl AsRef<Path>,
    write: impl FnOnce(&mut BufWriter<&mut File>) -> std::io::Result<()>,
) -> Result<()> {
    let path = path.as_ref();
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let mut builder = tempfile::Builder::new();
    let prefix = format!("{TEMP_PREFIX}{}.{}-", std::process::id(), host_tag());
    builder.prefix(&prefix).suffix(TEMP_SUFFIX);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        // Given to open(2): the kernel applies the umask, as for any other new file.
        builder.permissions(std::fs::Permissions::from_mode(0o666));
    }
    let mut tmp = builder.tempfile_in(&dir).map_err(|e| Error::io(&dir, e))?;
    let tmp_path = tmp.path().to_path_buf();
    pending().insert(tmp_path.clone());
    let written = (|| {
        let mut w = BufWriter::new(tmp.as_file_mut());
        write(&mut w)?;
        w.flush()?;
        drop(w);
        tmp.as_file().sync_all()
    })();
    if let Err(e) = written {
        pending().remove(&tmp_path);
        return Err(Error::io(path, e));
    }
    // The rename happens under the lock, so a signal handler that removes the pending files
    // (and then exits holding the lock) never races with it.
    let mut guard = pending();
    let persisted = tmp.persist(path);
    guard.remove(&tmp_path);
    drop(guard);
    persisted.map_err(|e| Error::io(path, e.error))?;
    Ok(())
}

/// Writes `bytes` to `path` atomically ([`write_atomic`]).
pub fn write_bytes(path: impl AsRef<Path>, bytes: &[u8]) -> Result<()> {
    write_atomic(path, |w| w.write_all(bytes))
}

/// Removes the temporary files of every write in flight and keeps them from being renamed into
/// place: for a handler that ends the process right after (SIGINT, SIGTERM). Returns how many
/// files were removed. The lock stays held for the rest of the process's life, so call it only
/// just before exiting.
pub fn remove_pending_temp_files() -> usize {
    let guard = pending();
    let n = guard
        .iter()
        .filter(|p| std::fs::remove_file(p).is_ok())
        .count();
    // Keep the lock: no write may rename its temporary file after this point.
    std::mem::forget(guard);
    n
}

/// A temporary folder in `parent`, named as the temporary files are
/// (`.deltacell-<pid>.<host>-<random>.tmp`): removed when dropped, and by
/// [`clean_stale_temp_files`] once its process is gone (a killed deltacell). For outputs that
/// are folders: fill it, then rename it into place.
///
/// ```
/// let dir = tempfile::tempdir().unwrap();
/// let tmp = deltacell_data::output::temp_dir_in(dir.path()).unwrap();
/// assert!(tmp.path().file_name().unwrap().to_string_lossy().starts_with(".deltacell-"));
/// ```
pub fn temp_dir_in(parent: &Path) -> Result<tempfile::TempDir> {
    tempfile::Builder::new()
        .prefix(&format!(
            "{TEMP_PREFIX}{}.{}-",
            std::process::id(),
            host_tag()
        ))
        .suffix(TEMP_SUFFIX)
        .tempdir_in(parent)
        .map_err(|e| Error::io(parent, e))
}

/// Removes the temporary files and folders (`.deltacell-<pid>.<host>-*.tmp`) in `dir` whose
/// process is no longer running (an earlier deltacell that was killed); those of a live process,
/// and of another machine, are kept. Returns how many were removed. A missing `dir` is not an
/// error.
pub fn clean_stale_temp_files(dir: impl AsRef<Path>) -> Result<usize> {
    let dir = dir.as_ref();
    let entries = match std::fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(0),
        Err(e) => return Err(Error::io(dir, e)),
    };
    let mut removed = 0;
    for entry in entries.flatten() {
        let name = entry.file_name();
        let name = name.to_string_lossy();
        let Some(pid) = temp_file_pid(&name) else {
            continue;
        };
        let here = temp_file_host(&name).is_none_or(|h| h == host_tag());
        if here && pid != std::process::id() && !process_alive(pid) {
            let path = entry.path();
            if path.is_dir() {
                std::fs::remove_dir_all(&path).map_err(|e| Error::io(&path, e))?;
            } else {
                std::fs::remove_file(&path).map_err(|e| Error::io(&path, e))?;
            }
            removed += 1;
        }
    }
    Ok(removed)
}

/// The process id in a temporary file's name, `None` for any other name.
fn temp_file_pid(name: &str) -> Option<u32> {
    let rest = name.strip_prefix(TEMP_PREFIX)?;
    if !rest.ends_with(TEMP_SUFFIX) {
        return None;
    }
    let (owner, _) = rest.split_once('-')?;
    let pid = owner.split_once('.').map_or(owner, |(pid, _)| pid);
    pid.parse().ok()
}

/// The machine tag in a temporary file's name (`None` for names without one: an older
/// deltacell's, taken as this machine's).
fn temp_file_host(name: &str) -> Option<&str> {
    let rest = name.strip_prefix(TEMP_PREFIX)?;
    let (owner, _) = rest.split_once('-')?;
    owner.split_once('.').map(|(_, host)| host)
}

/// This machine's tag: FNV-1a of its name (`/proc/sys/kernel/hostname`, else `HOSTNAME`), 8
/// hexadecimal digits.
fn host_tag() -> &'static str {
    static TAG: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    TAG.get_or_init(|| {
        let name = std::fs::read_to_string("/proc/sys/kernel/hostname")
            .ok()
            .or_else(|| std::env::var("HOSTNAME").ok())
            .unwrap_or_default();
        let hash = name.trim().bytes().fold(0x811c_9dc5u32, |h, b| {
            (h ^ u32::from(b)).wrapping_mul(0x0100_0193)
        });
        format!("{hash:08x}")
    })
}

/// Whether process `pid` runs (Linux: `/proc/<pid>`; elsewhere every process counts as alive,
/// so nothing is removed).
fn process_alive(pid: u32) -> bool {
    if cfg!(target_os = "linux") {
        Path::new("/proc").join(pid.to_string()).exists()
    } else {
        true
    }
}

/// Refuses an output path that is, contains or lies inside one of `inputs` (files or folders),
/// comparing canonical paths: symbolic links are resolved, and for an output that does not exist
/// yet its nearest existing ancestor is. Inputs that do not exist are ignored (their own
/// commands report them).
///
/// ```
/// use deltacell_data::output::ensure_outside_inputs;
/// let dir = tempfile::tempdir().unwrap();
/// let input = dir.path().join("img");
/// std::fs::create_dir(&input).unwrap();
/// assert!(ensure_outside_inputs(&dir.path().join("masks"), &[&input]).is_ok());
/// assert!(ensure_outside_inputs(&input, &[&input]).is_err());
/// assert!(ensure_outside_inputs(&input.join("out"), &[&input]).is_err());
/// assert!(ensure_outside_inputs(dir.path(), &[&input]).is_err());
/// ```
pub fn ensure_outside_inputs(output: &Path, inputs: &[&Path]) -> Result<()> {
    let out = resolve(output)?;
    for &input in inputs {
        let Ok(inp) = input.canonicalize() else {
            continue;
        };
        let relation = if out == inp {
            Some("is")
        } else if out.starts_with(&inp) {
            Some("lies inside")
        } else if inp.starts_with(&out) {
            Some("contains")
        } else {
            None
        };
        if let Some(relation) = relation {
            return Err(Error::OutputInsideInput {
                output: output.to_path_buf(),
                input: input.to_path_buf(),
                relation,
            });
        }
    }
    Ok(())
}

/// Gets an output folder ready: refuses it when it overlaps an input
/// ([`ensure_outside_inputs`]), creates it (and its parents) and removes the temporary files a
/// killed deltacell left there ([`clean_stale_temp_files`]).
pub fn prepare_dir(dir: &Path, inputs: &[&Path]) -> Result<()> {
    ensure_outside_inputs(dir, inputs)?;
    std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
    clean_stale_temp_files(dir)?;
    Ok(())
}

/// The canonical form of `path`, which need not exist: its nearest existing ancestor is
/// canonicalised and the rest appended (`..` and `.` resolved lexically there).
fn resolve(path: &Path) -> Result<PathBuf> {
    let absolute = if path.is_absolute() {
        path.to_path_buf()
    } else {
        std::env::current_dir()
            .map_err(|e| Error::io(".", e))?
            .join(path)
    };
    let mut existing = absolute.as_path();
    let mut rest: Vec<&std::ffi::OsStr> = Vec::new();
    loop {
        if let Ok(c) = existing.canonicalize() {
            let mut out = c;
            for part in rest.iter().rev() {
                match Path::new(part).components().next() {
                    Some(Component::ParentDir) => {
                        out.pop();
                    }
                    Some(Component::CurDir) | None => {}
                    _ => out.push(part),
                }
            }
            return Ok(out);
        }
        match (existing.parent(), existing.file_name()) {
            (Some(parent), Some(name)) => {
                rest.push(name);
                existing = parent;
            }
            // `..` at the end, or the root: let the lexical parent stand in.
            (Some(parent), None) => {
                rest.push(std::ffi::OsStr::new(".."));
                existing = parent;
            }
            (None, _) => return Ok(absolute),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn overlap_is_found_through_symlinks_and_missing_parts() {
        let dir = tempfile::tempdir().unwrap();
        let input = dir.path().join("set");
        std::fs::create_dir_all(input.join("img")).unwrap();
        let img = input.join("img");
        assert!(ensure_outside_inputs(&dir.path().join("set2"), &[&img]).is_ok());
        assert!(ensure_outside_inputs(&input.join("img/new/deeper"), &[&img]).is_err());
        assert!(ensure_outside_inputs(&input.join("img/../img"), &[&img]).is_err());
        assert!(ensure_outside_inputs(&input.join("x/../img"), &[&img]).is_err());
        #[cfg(unix)]
        {
            let link = dir.path().join("link");
            std::os::unix::fs::symlink(&img, &link).unwrap();
            let err = ensure_outside_inputs(&link, &[&img])
                .unwrap_err()
                .to_string();
            assert!(err.contains("is the input"), "{err}");
            let err = ensure_outside_inputs(&link.join("sub"), &[&img])
                .unwrap_err()
                .to_string();
            assert!(err.contains("lies inside"), "{err}");
        }
        let err = ensure_outside_inputs(&input, &[&img])
            .unwrap_err()
            .to_string();
        assert!(err.contains("contains"), "{err}");
    }

    #[test]
    fn stale_temp_files_of_dead_processes_are_removed() {
        let dir = tempfile::tempdir().unwrap();
        // pid 4194304 is above Linux's maximum pid: never alive.
        let dead = dir.path().join(".deltacell-4194304-abc.tmp");
        let dead_here = dir
            .path()
            .join(format!(".deltacell-4194304.{}-abc.tmp", host_tag()));
        // Another machine's process (a cluster's array task on a shared folder): kept.
        let elsewhere = dir.path().join(".deltacell-4194304.0badf00d-abc.tmp");
        let mine = dir.path().join(format!(
            ".deltacell-{}.{}-abc.tmp",
            std::process::id(),
            host_tag()
        ));
        let other = dir.path().join(".other.tmp");
        for p in [&dead, &dead_here, &elsewhere, &mine, &other] {
            std::fs::write(p, b"x").unwrap();
        }
        // A killed process's temporary folder (an output folder being filled), and a live one.
        let dead_dir = dir
            .path()
            .join(format!(".deltacell-4194304.{}-def.tmp", host_tag()));
        std::fs::create_dir(&dead_dir).unwrap();
        std::fs::write(dead_dir.join("labels_000.tif"), b"x").unwrap();
        let live_dir = temp_dir_in(dir.path()).unwrap();
        let n = clean_stale_temp_files(dir.path()).unwrap();
        if cfg!(target_os = "linux") {
            assert_eq!(n, 3);
            assert!(!dead.exists() && !dead_here.exists() && !dead_dir.exists());
        }
        assert!(mine.exists() && other.exists() && elsewhere.exists());
        assert!(live_dir.path().is_dir());
        assert_eq!(temp_file_pid(".deltacell-12-x.tmp"), Some(12));
        assert_eq!(temp_file_pid(".deltacell-12.ab12cd34-x.tmp"), Some(12));
        assert_eq!(
            temp_file_host(".deltacell-12.ab12cd34-x.tmp"),
            Some("ab12cd34")
        );
        assert_eq!(temp_file_host(".deltacell-12-x.tmp"), None);
        assert_eq!(temp_file_pid(".deltacell-x.tmp"), None);
    }

    #[cfg(unix)]
    #[test]
    fn written_files_follow_the_umask() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a.png");
        write_bytes(&path, b"data").unwrap();
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        // Whatever the umask, a file deltacell writes is readable by its owner and as readable
        // by others as the umask allows; never the 0600 of a private temporary file unless the
        // umask says so.
        let umask_allows_group_read = {
            let probe = dir.path().join("probe");
            std::fs::File::create(&probe).unwrap();
            std::fs::metadata(&probe).unwrap().permissions().mode() & 0o777
        };
        assert_eq!(mode, umask_allows_group_read);
        let leftovers: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .flatten()
            .filter(|e| e.file_name().to_string_lossy().ends_with(TEMP_SUFFIX))
            .collect();
        assert!(leftovers.is_empty());
    }
}
