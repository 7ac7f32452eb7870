//! Safe unpacking of a zip archive into a fresh folder, hashing every file as it is written.

use std::collections::HashSet;
use std::fs::{File, OpenOptions};
use std::io::{BufReader, BufWriter, Read, Seek, SeekFrom, Write};
use std::path::{Component, Path, PathBuf};

use sha2::{Digest, Sha256};

use crate::cache::{hex, FileRecord, RECORD_FILE};
use crate::error::{Error, Result};

/// Unpacks the zip file `zip_path` (downloaded from `url`, named in errors) into the existing
/// empty folder `dest` and returns a record of every file written (paths relative to `dest`,
/// sorted).
///
/// Refused ([`Error::BadZip`], naming the entry): an unreadable archive, an unsupported
/// compression method, a CRC mismatch, an entry whose path would leave `dest` (absolute or with
/// `..`), a symbolic link, two entries of the same name, and an entry named like the completion
/// record at the top level.
///
/// Two entries of the same name are detected on the raw central directory: the `zip` crate keeps
/// only the last of them (its index is a map by name), so counting what it lists is not enough.
/// Entries whose names differ but that unpack to the same path (`a/b` and `a/./b`, a file `x`
/// and a folder `x/`) are refused as well.
pub(crate) fn unpack_zip(
    name: &str,
    url: &str,
    zip_path: &Path,
    dest: &Path,
) -> Result<Vec<FileRecord>> {
    let bad = |message: String| Error::BadZip {
        name: name.to_string(),
        url: url.to_string(),
        message,
    };
    let file = File::open(zip_path).map_err(|e| Error::io(zip_path, e))?;
    let mut archive = zip::ZipArchive::new(BufReader::new(file)).map_err(|e| bad(e.to_string()))?;
    let raw = File::open(zip_path)
        .and_then(|f| central_names(BufReader::new(f), archive.central_directory_start()))
        .map_err(|e| Error::io(zip_path, e))?;
    if let Some(twice) = first_repeated(&raw) {
        return Err(bad(format!(
            "entry {:?} appears twice",
            String::from_utf8_lossy(twice)
        )));
    }
    if raw.len() != archive.len() {
        // Distinct raw names that decode to one name (e.g. through a Unicode path field).
        return Err(bad(format!(
            "the central directory holds {} entries but only {} distinct names: two entries \
             share a name",
            raw.len(),
            archive.len()
        )));
    }
    let mut seen: HashSet<PathBuf> = HashSet::with_capacity(archive.len());
    let mut records = Vec::with_capacity(archive.len());
    let mut buf = vec![0u8; 1 << 16];
    for i in 0..archive.len() {
        let mut entry = archive
            .by_index(i)
            .map_err(|e| bad(format!("entry {i}: {e}")))?;
        let entry_name = entry.name().to_string();
        if entry.is_symlink() {
            return Err(bad(format!(
                "entry {entry_name:?} is a symbolic link, which is not unpacked"
            )));
        }
        let rel = entry
            .enclosed_name()
            .filter(|p| p.components().all(|c| matches!(c, Component::Normal(_))))
            .ok_or_else(|| bad(format!("entry {entry_name:?} has an unsafe path")))?;
        if rel.as_os_str().is_empty() {
            continue;
        }
        if rel == Path::new(RECORD_FILE) {
            return Err(bad(format!(
                "entry {entry_name:?} has the name of deltacell's completion record"
            )));
        }
        if !seen.insert(rel.clone()) {
            return Err(bad(format!(
                "entry {entry_name:?} unpacks to {}, as an earlier entry does",
                rel.display()
            )));
        }
        let out_path = dest.join(&rel);
        if entry.is_dir() {
            std::fs::create_dir_all(&out_path).map_err(|e| Error::io(&out_path, e))?;
            continue;
        }
        if let Some(parent) = out_path.parent() {
            std::fs::create_dir_all(parent).map_err(|e| Error::io(parent, e))?;
        }
        let out = OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&out_path)
            .map_err(|e| {
                if e.kind() == std::io::ErrorKind::AlreadyExists {
                    bad(format!("entry {entry_name:?} appears twice"))
                } else {
                    Error::io(&out_path, e)
                }
            })?;
        let mut out = BufWriter::new(out);
        let mut hasher = Sha256::new();
        let mut bytes = 0u64;
        loop {
            let n = match entry.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(bad(format!("entry {entry_name:?}: {e}"))),
            };
            hasher.update(&buf[..n]);
            out.write_all(&buf[..n])
                .map_err(|e| Error::io(&out_path, e))?;
            bytes += n as u64;
        }
        out.flush().map_err(|e| Error::io(&out_path, e))?;
        if bytes != entry.size() {
            return Err(bad(format!(
                "entry {entry_name:?}: {bytes} bytes unpacked, the archive says {}",
                entry.size()
            )));
        }
        let path = rel
            .components()
            .map(|c| c.as_os_str().to_string_lossy().into_owned())
            .collect::<Vec<_>>()
            .join("/");
        records.push(FileRecord {
            path,
            bytes,
            sha256: hex(&hasher.finalize()),
        });
    }
    records.sort_by(|a, b| a.path.cmp(&b.path));
    Ok(records)
}

/// Signature of a central directory file header.
const CENTRAL_HEADER: u32 = 0x0201_4b50;

/// The raw names of every record of the central directory that starts at `start` (absolute
/// offset in `reader`), in order, duplicates included.
fn central_names<R: Read + Seek>(mut reader: R, start: u64) -> std::io::Result<Vec<Vec<u8>>> {
    reader.seek(SeekFrom::Start(start))?;
    let mut names = Vec::new();
    let mut fixed = [0u8; 46];
    loop {
        match reader.read_exact(&mut fixed) {
            Ok(()) => {}
            // The end of the file right after the last record (no end record): the zip crate
            // already read the directory, so what is there is complete.
            Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => break,
            Err(e) => return Err(e),
        }
        if u32::from_le_bytes([fixed[0], fixed[1], fixed[2], fixed[3]]) != CENTRAL_HEADER {
            // The zip64 or classic end-of-central-directory record follows the last entry.
            break;
        }
        let len = |at: usize| u16::from_le_bytes([fixed[at], fixed[at + 1]]) as i64;
        let (name_len, extra_len, comment_len) = (len(28), len(30), len(32));
        let mut name = vec![0u8; name_len as usize];
        reader.read_exact(&mut name)?;
        reader.seek(SeekFrom::Current(extra_len + comment_len))?;
        names.push(name);
    }
    Ok(names)
}

/// The first name that occurs twice in `names`.
fn first_repeated(names: &[Vec<u8>]) -> Option<&[u8]> {
    let mut seen = HashSet::with_capacity(names.len());
    names
        .iter()
        .find(|n| !seen.insert(n.as_slice()))
        .map(|n| n.as_slice())
}
