//! Matching files across the folders of a training set by stem.
//!
//! INTERIM: a small private version of what `crate::layout` will provide (sorted listing,
//! match by stem, `.png`/`.tif`/`.tiff` in any case). Swap for `layout` when it lands.

use std::path::{Path, PathBuf};

use crate::error::{Error, Result};
use crate::io::is_image_path;

/// The files of one segmentation (or chamber) sample.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SegFiles {
    /// `img/` file.
    pub image: PathBuf,
    /// `seg/` file (mask).
    pub mask: PathBuf,
    /// `wei/` file, when the set has a `wei/` folder.
    pub weights: Option<PathBuf>,
}

/// The image files of `dir`, sorted by name.
pub(crate) fn list_images(dir: &Path) -> Result<Vec<PathBuf>> {
    let entries = std::fs::read_dir(dir).map_err(|e| Error::io(dir, e))?;
    let mut files = Vec::new();
    for entry in entries {
        let path = entry.map_err(|e| Error::io(dir, e))?.path();
        if path.is_file() && is_image_path(&path) {
            files.push(path);
        }
    }
    files.sort();
    Ok(files)
}

/// For every image of `root/primary` (sorted), its partner in each of `root/others` (same stem,
/// any image extension). Every missing or ambiguous partner is reported, all at once.
pub(crate) fn match_stems(
    root: &Path,
    primary: &str,
    others: &[&str],
) -> Result<Vec<Vec<PathBuf>>> {
    let main = list_images(&root.join(primary))?;
    if main.is_empty() {
        return Err(Error::Layout {
            root: root.to_path_buf(),
            problems: vec![format!(
                "{}: no .png/.tif/.tiff image",
                root.join(primary).display()
            )],
        });
    }
    let mut listings = Vec::with_capacity(others.len());
    for o in others {
        listings.push(list_images(&root.join(o))?);
    }
    let stem = |p: &Path| p.file_stem().map(|s| s.to_os_string());
    let mut problems = Vec::new();
    let mut out = Vec::with_capacity(main.len());
    for file in &main {
        let s = stem(file);
        let mut row = vec![file.clone()];
        for (listing, folder) in listings.iter().zip(others) {
            let hits: Vec<&PathBuf> = listing.iter().filter(|p| stem(p) == s).collect();
            match hits.as_slice() {
                [one] => row.push((*one).clone()),
                [] => problems.push(format!("{}: no partner in {folder}/", file.display())),
                many => problems.push(format!(
                    "{}: {} partners in {folder}/ with the same stem",
                    file.display(),
                    many.len()
                )),
            }
        }
        out.push(row);
    }
    if problems.is_empty() {
        Ok(out)
    } else {
        Err(Error::Layout {
            root: root.to_path_buf(),
            problems,
        })
    }
}
