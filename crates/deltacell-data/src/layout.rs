//! DeLTA training-set layouts: find the folders, match their files into samples, and check them.
//!
//! DeLTA keeps a training set as one folder per role (spec §1.1–1.3):
//!
//! | [`LayoutKind`] | folders (in DeLTA's order) | binary masks |
//! |---|---|---|
//! | [`Segmentation`](LayoutKind::Segmentation) | `img/`, `seg/`, optional `wei/` | `seg/` |
//! | [`Rois`](LayoutKind::Rois) (chambers) | `img/`, `seg/`, optional `wei/` | `seg/` |
//! | [`Tracking`](LayoutKind::Tracking) | `previmg/`, `seg/`, `img/`, `segall/`, `mot_dau/`, optional `wei/` | `seg/`, `segall/`, `mot_dau/` |
//!
//! [`TrainingSet::discover`] finds the folders under a parent, [`TrainingSet::from_folders`] takes
//! them one by one ([`Folders`]). Files are matched across folders by **stem** (the name without
//! its extension), so `img/a.tif` pairs with `seg/a.png`; `.png`, `.tif` and `.tiff` are read in
//! any letter case. Samples are sorted by the name of their `img/` file, as DeLTA's newest line
//! iterates `img/` sorted.
//!
//! [`check`] decodes every file (in parallel) and returns a [`CheckReport`]: sizes, bit depths,
//! fraction of cell pixels, empty masks, and every problem: a file without its partner, two
//! partners for one stem, different sizes inside one sample, an unreadable or truncated file, a
//! mask with more than two values. [`TrainingSet::open`] is the strict entry point: it fails with
//! one [`Error::Layout`] that lists **every** offending file.
//!
//! # Differences from DeLTA
//! * DeLTA's newest line logs and silently skips an image whose stem has zero or several partners
//!   (`_load_images_seg`), and its tracking generator pairs files by full name and only sees
//!   lower-case `.png`/`.tif`. deltacell matches every layout by stem, accepts `.tiff` and any
//!   letter case, and reports every unmatched file instead of skipping it quietly.
//! * DeLTA finds a non-binary mask only by training on it (its values are cast to 0/1). A mask
//!   with more than two distinct values is reported here, because it is almost always a label
//!   image or an anti-aliased export saved by mistake.
//! * Hidden files (names starting with `.`, e.g. macOS `._a.png` shadows or deltacell's own
//!   temporary files) and sub-folders are ignored; other non-image files are listed as ignored.
//! * An empty `wei/` folder is treated as absent (DeLTA would skip every image).
//! * The ROI layout may carry a `wei/` folder as well; DeLTA's ROI sets never have one.

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::fmt;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use rayon::prelude::*;
use serde::{Serialize, Serializer};

use crate::error::{Error, Result};
use crate::io::{self, RawPixels};

// ---------------------------------------------------------------------------------------------
// Kinds and roles
// ---------------------------------------------------------------------------------------------

/// Which of DeLTA's training-set layouts a folder holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LayoutKind {
    /// Cell segmentation: `img/`, `seg/`, optional `wei/` (DeLTA's `trainGenerator_seg`,
    /// `load_training_dataset_seg`).
    Segmentation,
    /// Tracking: `previmg/`, `seg/`, `img/`, `segall/`, `mot_dau/`, optional `wei/` (DeLTA's
    /// `trainGenerator_track`, `train_generator_track`).
    Tracking,
    /// Chamber (ROI) segmentation: `img/`, `seg/` with chamber masks. Folder-wise identical to
    /// [`LayoutKind::Segmentation`], so it is only chosen when the caller asks for it.
    Rois,
}

impl LayoutKind {
    /// The folders this layout must have, in DeLTA's order (`wei/` is never required).
    pub fn required_roles(self) -> &'static [Role] {
        match self {
            LayoutKind::Segmentation | LayoutKind::Rois => &[Role::Img, Role::Seg],
            LayoutKind::Tracking => &[
                Role::PrevImg,
                Role::Seg,
                Role::Img,
                Role::SegAll,
                Role::MotDau,
            ],
        }
    }

    /// The mask the model learns to predict: `seg/` for segmentation and chambers, `mot_dau/`
    /// for tracking. Its cell fraction is the headline figure of a [`CheckReport`].
    pub fn target_role(self) -> Role {
        match self {
            LayoutKind::Segmentation | LayoutKind::Rois => Role::Seg,
            LayoutKind::Tracking => Role::MotDau,
        }
    }

    /// Lower-case name: `segmentation`, `tracking` or `rois`.
    pub fn name(self) -> &'static str {
        match self {
            LayoutKind::Segmentation => "segmentation",
            LayoutKind::Tracking => "tracking",
            LayoutKind::Rois => "rois",
        }
    }
}

impl fmt::Display for LayoutKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for LayoutKind {
    type Err = Error;

    /// Accepts `seg`/`segmentation`, `track`/`tracking`, `rois`/`roi`/`chambers` (any case).
    fn from_str(s: &str) -> Result<Self> {
        match s.to_ascii_lowercase().as_str() {
            "seg" | "segmentation" => Ok(LayoutKind::Segmentation),
            "track" | "tracking" => Ok(LayoutKind::Tracking),
            "rois" | "roi" | "chambers" => Ok(LayoutKind::Rois),
            other => Err(Error::InvalidArgument(format!(
                "unknown layout {other:?}: expected seg, track or rois"
            ))),
        }
    }
}

/// The role of one folder of a training set; its folder name is DeLTA's.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Role {
    /// `previmg/`: the frame at t−1 (tracking input).
    PrevImg,
    /// `seg/`: the cell masks (segmentation target) or the seed cell at t−1 (tracking input).
    Seg,
    /// `img/`: the frame (segmentation input) or the frame at t (tracking input).
    Img,
    /// `segall/`: all cells at t (tracking input).
    SegAll,
    /// `mot_dau/`: the seed cell and its daughter at t (tracking target).
    MotDau,
    /// `wei/`: pixel-wise loss weights (optional).
    Wei,
}

/// What a folder's files contain, which decides how [`check`] inspects them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Content {
    /// Microscopy frames: any supported pixel type.
    Image,
    /// Masks that must have at most two distinct values (0/1, 0/255).
    BinaryMask,
    /// Weight maps: any supported pixel type.
    Weights,
}

impl Role {
    /// Every role, in DeLTA's tracking order with `wei/` last.
    pub const ALL: [Role; 6] = [
        Role::PrevImg,
        Role::Seg,
        Role::Img,
        Role::SegAll,
        Role::MotDau,
        Role::Wei,
    ];

    /// DeLTA's folder name: `previmg`, `seg`, `img`, `segall`, `mot_dau` or `wei`.
    pub fn folder_name(self) -> &'static str {
        match self {
            Role::PrevImg => "previmg",
            Role::Seg => "seg",
            Role::Img => "img",
            Role::SegAll => "segall",
            Role::MotDau => "mot_dau",
            Role::Wei => "wei",
        }
    }

    /// What the folder's files contain.
    pub fn content(self) -> Content {
        match self {
            Role::PrevImg | Role::Img => Content::Image,
            Role::Seg | Role::SegAll | Role::MotDau => Content::BinaryMask,
            Role::Wei => Content::Weights,
        }
    }

    fn index(self) -> usize {
        match self {
            Role::PrevImg => 0,
            Role::Seg => 1,
            Role::Img => 2,
            Role::SegAll => 3,
            Role::MotDau => 4,
            Role::Wei => 5,
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/", self.folder_name())
    }
}

impl Serialize for Role {
    fn serialize<S: Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        s.serialize_str(self.folder_name())
    }
}

// ---------------------------------------------------------------------------------------------
// Folders and samples
// ---------------------------------------------------------------------------------------------

/// The folders of a training set, given one by one. Unset roles are not used.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Folders {
    /// `img/`.
    pub img: Option<PathBuf>,
    /// `seg/`.
    pub seg: Option<PathBuf>,
    /// `wei/` (optional in every layout).
    pub wei: Option<PathBuf>,
    /// `previmg/` (tracking).
    pub previmg: Option<PathBuf>,
    /// `segall/` (tracking).
    pub segall: Option<PathBuf>,
    /// `mot_dau/` (tracking).
    pub mot_dau: Option<PathBuf>,
}

impl Folders {
    /// The folder of `role`, if set.
    pub fn get(&self, role: Role) -> Option<&Path> {
        match role {
            Role::Img => self.img.as_deref(),
            Role::Seg => self.seg.as_deref(),
            Role::Wei => self.wei.as_deref(),
            Role::PrevImg => self.previmg.as_deref(),
            Role::SegAll => self.segall.as_deref(),
            Role::MotDau => self.mot_dau.as_deref(),
        }
    }

    /// Sets the folder of `role`.
    pub fn set(&mut self, role: Role, path: impl Into<PathBuf>) {
        let slot = match role {
            Role::Img => &mut self.img,
            Role::Seg => &mut self.seg,
            Role::Wei => &mut self.wei,
            Role::PrevImg => &mut self.previmg,
            Role::SegAll => &mut self.segall,
            Role::MotDau => &mut self.mot_dau,
        };
        *slot = Some(path.into());
    }

    /// DeLTA's folder names under `root` for `kind`; `wei/` only when it exists.
    pub fn standard(root: impl AsRef<Path>, kind: LayoutKind) -> Folders {
        let root = root.as_ref();
        let mut folders = Folders::default();
        for &role in kind.required_roles() {
            folders.set(role, root.join(role.folder_name()));
        }
        let wei = root.join(Role::Wei.folder_name());
        if wei.is_dir() {
            folders.wei = Some(wei);
        }
        folders
    }

    /// The layout these folders make: tracking when any tracking-only folder is set, else
    /// segmentation.
    pub fn infer_kind(&self) -> LayoutKind {
        if self.previmg.is_some() || self.segall.is_some() || self.mot_dau.is_some() {
            LayoutKind::Tracking
        } else {
            LayoutKind::Segmentation
        }
    }
}

/// The files of one sample: one path per role, all sharing one stem.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SampleFiles {
    stem: String,
    paths: [Option<PathBuf>; 6],
}

impl SampleFiles {
    /// The shared file stem (name without extension), e.g. `Position000001_Chamber000001_Frame000003`.
    pub fn stem(&self) -> &str {
        &self.stem
    }

    /// The file of `role`, if the layout has that role.
    pub fn path(&self, role: Role) -> Option<&Path> {
        self.paths[role.index()].as_deref()
    }

    /// Every `(role, file)` of the sample, in [`Role::ALL`] order.
    pub fn files(&self) -> impl Iterator<Item = (Role, &Path)> {
        Role::ALL
            .into_iter()
            .filter_map(move |r| self.path(r).map(|p| (r, p)))
    }
}

/// A training set: its layout, folders and matched samples, plus what could not be matched.
///
/// Made leniently by [`TrainingSet::discover`] / [`TrainingSet::from_folders`] (matching
/// problems are kept in [`TrainingSet::unmatched`]) or strictly by [`TrainingSet::open`].
#[derive(Clone, Debug)]
pub struct TrainingSet {
    /// The layout.
    pub kind: LayoutKind,
    /// The parent folder (for folders given one by one: the parent of `img/`).
    pub root: PathBuf,
    /// The folders used; `wei` is `None` when the set has no (non-empty) weight folder.
    pub folders: Folders,
    /// Complete samples, sorted by the file name of their `img/` file.
    pub samples: Vec<SampleFiles>,
    /// Files that did not make a complete sample, and files that were ignored.
    pub unmatched: Unmatched,
}

/// What matching could not pair up.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Unmatched {
    /// Stems present in some folders but not in others.
    pub missing_partners: Vec<MissingPartner>,
    /// Stems with two or more files in one folder (e.g. `a.png` and `a.tif`).
    pub duplicates: Vec<DuplicateStem>,
    /// Required folders without any image while the others have some.
    pub empty_folders: Vec<PathBuf>,
    /// Files that are not `.png`/`.tif`/`.tiff` (hidden files are not listed).
    pub ignored: Vec<PathBuf>,
}

impl TrainingSet {
    /// Finds the layout under `root` and matches its files (lenient: matching problems are kept
    /// in [`TrainingSet::unmatched`]).
    ///
    /// With `kind = None` the layout is guessed from the folders: tracking when `previmg/`,
    /// `segall/` or `mot_dau/` exists, otherwise segmentation (chamber sets look the same and
    /// must be asked for with `Some(LayoutKind::Rois)`).
    ///
    /// Fails when `root` is not a folder, a required folder is missing, or no folder holds any
    /// image ([`Error::NotATrainingSet`]).
    pub fn discover(root: impl AsRef<Path>, kind: Option<LayoutKind>) -> Result<TrainingSet> {
        let root = root.as_ref();
        let meta = std::fs::metadata(root).map_err(|e| Error::io(root, e))?;
        if !meta.is_dir() {
            return Err(not_a_set(root, "not a folder"));
        }
        let guessed = kind.is_none();
        let kind = kind.unwrap_or_else(|| {
            let tracking = [Role::PrevImg, Role::SegAll, Role::MotDau]
                .iter()
                .any(|r| root.join(r.folder_name()).is_dir());
            if tracking {
                LayoutKind::Tracking
            } else {
                LayoutKind::Segmentation
            }
        });
        let missing: Vec<&str> = kind
            .required_roles()
            .iter()
            .map(|r| r.folder_name())
            .filter(|name| !root.join(name).is_dir())
            .collect();
        if !missing.is_empty() {
            let wanted: Vec<String> = kind
                .required_roles()
                .iter()
                .map(|r| r.to_string())
                .collect();
            let mut message = format!(
                "no {} folder (a {kind} set needs {})",
                missing
                    .iter()
                    .map(|m| format!("{m}/"))
                    .collect::<Vec<_>>()
                    .join(", "),
                wanted.join(", ")
            );
            if folder_has_images(root) {
                message.push_str("; this folder holds images itself: give its parent folder");
            } else if guessed && kind == LayoutKind::Tracking {
                message.push_str(
                    "; tracking was guessed from previmg/, segall/ or mot_dau/: \
                     ask for the segmentation layout explicitly if that is meant",
                );
            }
            return Err(not_a_set(root, &message));
        }
        let folders = Folders::standard(root, kind);
        Self::build(kind, root.to_path_buf(), folders)
    }

    /// Matches folders given one by one (lenient, like [`TrainingSet::discover`]). With
    /// `kind = None` the layout follows [`Folders::infer_kind`]. Every folder the layout
    /// requires must be set and exist.
    pub fn from_folders(folders: Folders, kind: Option<LayoutKind>) -> Result<TrainingSet> {
        let kind = kind.unwrap_or_else(|| folders.infer_kind());
        let root = folders
            .img
            .as_deref()
            .or_else(|| Role::ALL.iter().find_map(|&r| folders.get(r)))
            .map(|p| match p.parent() {
                Some(parent) if !parent.as_os_str().is_empty() => parent.to_path_buf(),
                _ => p.to_path_buf(),
            })
            .unwrap_or_else(|| PathBuf::from("."));
        let mut problems = Vec::new();
        for &role in kind.required_roles() {
            match folders.get(role) {
                None => problems.push(format!("no {role} folder given")),
                Some(p) if !p.is_dir() => {
                    problems.push(format!("{} ({role}) is not a folder", p.display()))
                }
                Some(_) => {}
            }
        }
        if let Some(w) = folders.wei.as_deref() {
            if !w.is_dir() {
                problems.push(format!("{} (wei/) is not a folder", w.display()));
            }
        }
        if !problems.is_empty() {
            return Err(not_a_set(&root, &problems.join("; ")));
        }
        // Keep only the folders this layout uses.
        let mut used = Folders::default();
        for &role in kind.required_roles() {
            if let Some(p) = folders.get(role) {
                used.set(role, p);
            }
        }
        used.wei = folders.wei;
        Self::build(kind, root, used)
    }

    /// Strict open: discovers the set, decodes every file ([`check`]) and fails with one
    /// [`Error::Layout`] listing every offending file when anything blocks training.
    pub fn open(root: impl AsRef<Path>, kind: Option<LayoutKind>) -> Result<TrainingSet> {
        let set = Self::discover(root, kind)?;
        check(&set).into_result()?;
        Ok(set)
    }

    /// Strict open of folders given one by one (see [`TrainingSet::open`]).
    pub fn open_folders(folders: Folders, kind: Option<LayoutKind>) -> Result<TrainingSet> {
        let set = Self::from_folders(folders, kind)?;
        check(&set).into_result()?;
        Ok(set)
    }

    /// One line per matching problem (empty folder, file without its partner, duplicate stem),
    /// paths relative to the root; plus "no complete sample" when nothing matched. Empty when
    /// every file found its partners. Unlike [`TrainingSet::open`], nothing is decoded: for
    /// readers that decode the files themselves anyway.
    pub fn matching_problems(&self) -> Vec<String> {
        let u = &self.unmatched;
        let root = self.root.as_path();
        let mut out: Vec<String> = u
            .empty_folders
            .iter()
            .map(|p| format!("{}: no .png/.tif/.tiff image", p.display()))
            .collect();
        out.extend(u.missing_partners.iter().map(|m| m.describe(root)));
        out.extend(u.duplicates.iter().map(|d| d.describe(root)));
        if out.is_empty() && self.samples.is_empty() {
            out.push(format!("{}: no complete sample", root.display()));
        }
        out
    }

    /// Number of complete samples.
    pub fn len(&self) -> usize {
        self.samples.len()
    }

    /// True when no sample is complete.
    pub fn is_empty(&self) -> bool {
        self.samples.is_empty()
    }

    /// The roles in use: the required ones, then `wei/` when present.
    pub fn roles(&self) -> Vec<Role> {
        let mut roles = self.kind.required_roles().to_vec();
        if self.folders.wei.is_some() {
            roles.push(Role::Wei);
        }
        roles
    }

    fn build(kind: LayoutKind, root: PathBuf, mut folders: Folders) -> Result<TrainingSet> {
        let mut unmatched = Unmatched::default();
        // stem -> files per role (index = Role::index)
        let mut by_stem: BTreeMap<OsString, [Vec<PathBuf>; 6]> = BTreeMap::new();
        let mut listed: Vec<(Role, PathBuf, usize)> = Vec::new();
        let mut roles = kind.required_roles().to_vec();
        roles.push(Role::Wei);
        for role in roles {
            let Some(folder) = folders.get(role).map(Path::to_path_buf) else {
                continue;
            };
            let (images, ignored) = list_images(&folder)?;
            unmatched.ignored.extend(ignored);
            if images.is_empty() && role == Role::Wei {
                // An empty wei/ is "no weights yet", not a broken set.
                folders.wei = None;
                continue;
            }
            listed.push((role, folder, images.len()));
            for (stem, path) in images {
                by_stem.entry(stem).or_default()[role.index()].push(path);
            }
        }
        if listed.iter().all(|(_, _, n)| *n == 0) {
            let names: Vec<String> = listed.iter().map(|(r, _, _)| r.to_string()).collect();
            return Err(not_a_set(
                &root,
                &format!("no .png/.tif/.tiff images in {}", names.join(", ")),
            ));
        }
        // A required folder that is entirely empty is reported once, not once per stem.
        let mut active: Vec<(Role, PathBuf)> = Vec::new();
        for (role, folder, n) in listed {
            if n == 0 {
                unmatched.empty_folders.push(folder);
            } else {
                active.push((role, folder));
            }
        }

        let mut samples = Vec::new();
        for (stem, files) in by_stem {
            let stem_text = stem.to_string_lossy().into_owned();
            let mut complete = true;
            for (role, _) in &active {
                let list = &files[role.index()];
                if list.len() > 1 {
                    unmatched.duplicates.push(DuplicateStem {
                        stem: stem_text.clone(),
                        files: list.clone(),
                    });
                    complete = false;
                }
            }
            let missing: Vec<PathBuf> = active
                .iter()
                .filter(|(role, _)| files[role.index()].is_empty())
                .map(|(_, folder)| folder.clone())
                .collect();
            if !missing.is_empty() {
                let present = active
                    .iter()
                    .flat_map(|(role, _)| files[role.index()].iter().cloned())
                    .collect();
                unmatched.missing_partners.push(MissingPartner {
                    stem: stem_text.clone(),
                    present,
                    missing_in: missing,
                });
                complete = false;
            }
            if complete && unmatched.empty_folders.is_empty() {
                let mut paths: [Option<PathBuf>; 6] = Default::default();
                for (role, _) in &active {
                    paths[role.index()] = files[role.index()].first().cloned();
                }
                samples.push(SampleFiles {
                    stem: stem_text,
                    paths,
                });
            }
        }
        // DeLTA iterates img/ sorted by file name.
        fn img_name(s: &SampleFiles) -> Option<&std::ffi::OsStr> {
            s.path(Role::Img).and_then(Path::file_name)
        }
        samples.sort_by(|a, b| img_name(a).cmp(&img_name(b)));
        unmatched.ignored.sort();
        Ok(TrainingSet {
            kind,
            root,
            folders,
            samples,
            unmatched,
        })
    }
}

fn not_a_set(path: &Path, message: &str) -> Error {
    Error::NotATrainingSet {
        path: path.to_path_buf(),
        message: message.to_string(),
    }
}

fn is_hidden(name: &std::ffi::OsStr) -> bool {
    name.as_encoded_bytes().first() == Some(&b'.')
}

fn folder_has_images(folder: &Path) -> bool {
    std::fs::read_dir(folder)
        .map(|rd| {
            rd.flatten()
                .any(|e| !is_hidden(&e.file_name()) && io::is_image_path(&e.path()))
        })
        .unwrap_or(false)
}

/// Lists the image files of `folder` as `(stem, path)`, sorted by file name, and the non-image
/// files it ignores. Hidden files and sub-folders are skipped.
/// `(stem, path)` of the images of a folder, and the non-image files.
type Listing = (Vec<(OsString, PathBuf)>, Vec<PathBuf>);

fn list_images(folder: &Path) -> Result<Listing> {
    let mut images = Vec::new();
    let mut ignored = Vec::new();
    for entry in std::fs::read_dir(folder).map_err(|e| Error::io(folder, e))? {
        let entry = entry.map_err(|e| Error::io(folder, e))?;
        let name = entry.file_name();
        if is_hidden(&name) {
            continue;
        }
        let path = entry.path();
        // The entry's type comes with the listing on most systems (no extra `stat`); only a
        // symbolic link is followed, since a folder of links to the real files is a valid set.
        let is_dir = match entry.file_type() {
            Ok(t) if t.is_symlink() => path.is_dir(),
            Ok(t) => t.is_dir(),
            Err(_) => path.is_dir(),
        };
        // deltacell's own bookkeeping in `wei/` is not a stray file worth reporting.
        if is_dir || name == crate::weights::MANIFEST_NAME {
            continue;
        }
        if io::is_image_path(&path) {
            let stem = path.file_stem().map(OsString::from).unwrap_or_default();
            images.push((stem, path));
        } else {
            ignored.push(path);
        }
    }
    images.sort_by(|a, b| a.1.cmp(&b.1));
    Ok((images, ignored))
}

// ---------------------------------------------------------------------------------------------
// Problems
// ---------------------------------------------------------------------------------------------

fn ser_path<S: Serializer>(p: &Path, s: S) -> std::result::Result<S::Ok, S::Error> {
    s.serialize_str(&p.to_string_lossy())
}

fn ser_paths<S: Serializer>(ps: &[PathBuf], s: S) -> std::result::Result<S::Ok, S::Error> {
    s.collect_seq(ps.iter().map(|p| p.to_string_lossy()))
}

fn rel(root: &Path, p: &Path) -> String {
    p.strip_prefix(root).unwrap_or(p).display().to_string()
}

fn show(root: &Path, paths: &[PathBuf]) -> String {
    paths
        .iter()
        .map(|p| rel(root, p))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Implements `Display` (full paths) through `describe(root)` (paths relative to `root`).
macro_rules! display_via_describe {
    ($($t:ty),*) => {$(
        impl fmt::Display for $t {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.describe(Path::new("")))
            }
        }
    )*};
}
display_via_describe!(
    MissingPartner,
    DuplicateStem,
    SizeMismatch,
    Unreadable,
    NotBinaryMask
);

/// A stem present in some folders but not in all of them.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct MissingPartner {
    /// The file stem.
    pub stem: String,
    /// The files that exist for this stem.
    #[serde(serialize_with = "ser_paths")]
    pub present: Vec<PathBuf>,
    /// The folders that lack a file with this stem.
    #[serde(serialize_with = "ser_paths")]
    pub missing_in: Vec<PathBuf>,
}

impl MissingPartner {
    /// One line naming the file(s), with paths relative to `root`.
    pub fn describe(&self, root: &Path) -> String {
        let folders: Vec<String> = self
            .missing_in
            .iter()
            .map(|p| format!("{}/", rel(root, p)))
            .collect();
        format!(
            "missing partner: {} has no file named {}.* in {}",
            show(root, &self.present),
            self.stem,
            folders.join(", ")
        )
    }
}

/// Two or more files with one stem in one folder.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct DuplicateStem {
    /// The file stem.
    pub stem: String,
    /// The competing files (same folder).
    #[serde(serialize_with = "ser_paths")]
    pub files: Vec<PathBuf>,
}

impl DuplicateStem {
    /// One line naming the file(s), with paths relative to `root`.
    pub fn describe(&self, root: &Path) -> String {
        format!(
            "duplicate: {} share the stem {:?}; keep one",
            show(root, &self.files),
            self.stem
        )
    }
}

/// A file and its `(height, width)`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct SizedFile {
    /// The file.
    #[serde(serialize_with = "ser_path")]
    pub file: PathBuf,
    /// Rows.
    pub height: usize,
    /// Columns.
    pub width: usize,
}

/// The files of one sample do not all have the same size.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct SizeMismatch {
    /// The sample's stem.
    pub stem: String,
    /// Every file of the sample with its size.
    pub files: Vec<SizedFile>,
}

impl SizeMismatch {
    /// One line naming the file(s), with paths relative to `root`.
    pub fn describe(&self, root: &Path) -> String {
        let parts: Vec<String> = self
            .files
            .iter()
            .map(|s| format!("{} is {}x{}", rel(root, &s.file), s.height, s.width))
            .collect();
        format!("size mismatch (height x width): {}", parts.join(", "))
    }
}

/// A file that could not be read or decoded (truncated, corrupt, unsupported pixel type).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Unreadable {
    /// The file.
    #[serde(serialize_with = "ser_path")]
    pub file: PathBuf,
    /// What went wrong.
    pub message: String,
}

impl Unreadable {
    /// One line naming the file(s), with paths relative to `root`.
    pub fn describe(&self, root: &Path) -> String {
        format!("unreadable: {}: {}", rel(root, &self.file), self.message)
    }
}

/// A mask that must be binary has more than two distinct values.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct NotBinaryMask {
    /// The file.
    #[serde(serialize_with = "ser_path")]
    pub file: PathBuf,
    /// Number of distinct values.
    pub distinct: usize,
    /// The smallest few values found.
    pub examples: Vec<u64>,
}

impl NotBinaryMask {
    /// One line naming the file(s), with paths relative to `root`.
    pub fn describe(&self, root: &Path) -> String {
        format!(
            "not binary: {} has {} distinct values (e.g. {:?}); save masks as 0/255 (or 0/1)",
            rel(root, &self.file),
            self.distinct,
            self.examples
        )
    }
}

// ---------------------------------------------------------------------------------------------
// Check
// ---------------------------------------------------------------------------------------------

/// A pixel type as read from a file.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum PixelType {
    /// 8-bit unsigned.
    U8,
    /// 16-bit unsigned.
    U16,
    /// 32-bit unsigned.
    U32,
    /// 32-bit float.
    F32,
}

impl PixelType {
    fn of(raw: &RawPixels) -> PixelType {
        match raw {
            RawPixels::U8(_) => PixelType::U8,
            RawPixels::U16(_) => PixelType::U16,
            RawPixels::U32(_) => PixelType::U32,
            RawPixels::F32(_) => PixelType::F32,
        }
    }

    /// `8-bit`, `16-bit`, `32-bit` or `32-bit float`.
    pub fn label(self) -> &'static str {
        match self {
            PixelType::U8 => "8-bit",
            PixelType::U16 => "16-bit",
            PixelType::U32 => "32-bit",
            PixelType::F32 => "32-bit float",
        }
    }
}

impl Serialize for PixelType {
    fn serialize<S: Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        s.serialize_str(self.label())
    }
}

/// How many files have one size.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct SizeCount {
    /// Rows.
    pub height: usize,
    /// Columns.
    pub width: usize,
    /// Number of files.
    pub count: usize,
}

/// How many files have one pixel type.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct DepthCount {
    /// The pixel type (`"8-bit"`, `"16-bit"`, `"32-bit"`, `"32-bit float"`).
    pub depth: PixelType,
    /// Number of files.
    pub count: usize,
}

/// What [`check`] found in one folder.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct FolderSummary {
    /// The folder's role.
    pub role: Role,
    /// The folder.
    #[serde(serialize_with = "ser_path")]
    pub path: PathBuf,
    /// Image files decoded (complete samples and unmatched files).
    pub files: usize,
    /// Histogram of `(height, width)`, most frequent first.
    pub sizes: Vec<SizeCount>,
    /// Histogram of pixel types, most frequent first.
    pub bit_depths: Vec<DepthCount>,
    /// For mask folders: cell pixels / all pixels over the readable binary masks, in `[0, 1]`.
    pub cell_fraction: Option<f64>,
    /// For mask folders: masks without any cell pixel.
    #[serde(serialize_with = "ser_paths")]
    pub empty_masks: Vec<PathBuf>,
}

/// The result of [`check`]: a summary a user can act on. `Display` prints it for humans,
/// `serde` as one JSON object.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct CheckReport {
    /// [`CheckReport::usable`] at the time of the check.
    pub usable: bool,
    /// The layout found.
    pub layout: LayoutKind,
    /// The training-set folder.
    #[serde(serialize_with = "ser_path")]
    pub root: PathBuf,
    /// Complete samples (all partners present).
    pub samples: usize,
    /// Complete samples that have no problem at all.
    pub good_samples: usize,
    /// One summary per folder in use, in DeLTA's order.
    pub folders: Vec<FolderSummary>,
    /// Cell fraction of the target masks (`seg/`, or `mot_dau/` for tracking), in `[0, 1]`.
    pub cell_fraction: Option<f64>,
    /// True when a non-empty `wei/` folder is used.
    pub has_weights: bool,
    /// Masks without any cell pixel (all mask folders). Not an error: an empty chamber is
    /// legitimate, but many of them deserve a look.
    #[serde(serialize_with = "ser_paths")]
    pub empty_masks: Vec<PathBuf>,
    /// Blocking: masks with more than two values.
    pub non_binary_masks: Vec<NotBinaryMask>,
    /// Blocking: stems without a partner in some folder.
    pub missing_partners: Vec<MissingPartner>,
    /// Blocking: two files with one stem in one folder.
    pub duplicates: Vec<DuplicateStem>,
    /// Blocking: samples whose files differ in size.
    pub size_mismatches: Vec<SizeMismatch>,
    /// Blocking: files that cannot be decoded.
    pub unreadable: Vec<Unreadable>,
    /// Blocking: required folders without any image.
    #[serde(serialize_with = "ser_paths")]
    pub empty_folders: Vec<PathBuf>,
    /// Not blocking: files that are not `.png`/`.tif`/`.tiff`.
    #[serde(serialize_with = "ser_paths")]
    pub ignored_files: Vec<PathBuf>,
    /// Blocking: `wei/` files missing or made from a mask that has changed since, relative to
    /// the root ([`crate::weights::stale_weights`]; only a standard `wei/` folder is checked).
    /// Every command that trains on `wei/` refuses them the same way
    /// ([`stale_weight_problems`]). The advice is `deltacell weights DIR --force`.
    pub stale_weights: Vec<String>,
}

impl CheckReport {
    /// True when nothing blocks training: at least one sample and no blocking problem.
    pub fn usable(&self) -> bool {
        self.samples > 0 && self.problem_count() == 0
    }

    /// Number of blocking problems.
    pub fn problem_count(&self) -> usize {
        self.non_binary_masks.len()
            + self.missing_partners.len()
            + self.duplicates.len()
            + self.size_mismatches.len()
            + self.unreadable.len()
            + self.empty_folders.len()
            + self.stale_weights.len()
    }

    /// One line per blocking problem, each naming its file(s).
    pub fn problems(&self) -> Vec<String> {
        let root = self.root.as_path();
        let mut out = Vec::with_capacity(self.problem_count());
        out.extend(self.empty_folders.iter().map(|p| {
            format!(
                "empty folder: {}/ holds no .png/.tif/.tiff image",
                rel(root, p)
            )
        }));
        out.extend(self.missing_partners.iter().map(|p| p.describe(root)));
        out.extend(self.duplicates.iter().map(|p| p.describe(root)));
        out.extend(self.unreadable.iter().map(|p| p.describe(root)));
        out.extend(self.size_mismatches.iter().map(|p| p.describe(root)));
        out.extend(self.non_binary_masks.iter().map(|p| p.describe(root)));
        out.extend(self.stale_weights.iter().map(|w| stale_line(w)));
        if out.is_empty() && self.samples == 0 {
            out.push("no complete sample".to_string());
        }
        out
    }

    /// `Ok(())` when [`CheckReport::usable`], else one [`Error::Layout`] listing every problem.
    pub fn into_result(self) -> Result<()> {
        if self.usable() {
            Ok(())
        } else {
            Err(Error::Layout {
                problems: self
                    .problems()
                    .into_iter()
                    .map(|p| format!("  {p}"))
                    .collect(),
                root: self.root,
            })
        }
    }

    /// The actions that fix what this report found, one line each.
    pub fn advice(&self) -> Vec<String> {
        let root = self.root.display();
        let mut out = Vec::new();
        if !self.empty_folders.is_empty() {
            out.push("fill the empty folder(s) or give the right training-set folder".into());
        }
        if !self.missing_partners.is_empty() {
            out.push(
                "add the missing partner files, or remove the files listed as missing a partner"
                    .into(),
            );
        }
        if !self.duplicates.is_empty() {
            out.push(
                "keep one file per stem in each folder (e.g. delete a.tif next to a.png)".into(),
            );
        }
        if !self.unreadable.is_empty() {
            out.push("re-export or delete the unreadable files (truncated or corrupt)".into());
        }
        if !self.size_mismatches.is_empty() {
            out.push("every file of a sample must have the size of its img/ file".into());
        }
        if !self.non_binary_masks.is_empty() {
            out.push(
                "save masks with two values (0 = background, 255 = cell); label images must be binarised"
                    .into(),
            );
        }
        let weights_used = self.layout != LayoutKind::Rois;
        if weights_used && !self.has_weights && self.samples > 0 {
            out.push(format!(
                "no wei/ folder: run `deltacell weights {root}` to precompute the weight maps"
            ));
        }
        if !self.stale_weights.is_empty() {
            out.push(format!(
                "{} weight map(s) are stale (missing, or their mask changed since): \
                 run `deltacell weights {root} --force`",
                self.stale_weights.len()
            ));
        }
        out
    }
}

fn percent(f: f64) -> String {
    format!("{:.1}%", 100.0 * f)
}

impl fmt::Display for CheckReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "training set: {} ({} layout, {} sample(s), {} without problems)",
            self.root.display(),
            self.layout,
            self.samples,
            self.good_samples
        )?;
        for folder in &self.folders {
            let sizes: Vec<String> = folder
                .sizes
                .iter()
                .map(|s| format!("{}x{} ({})", s.height, s.width, s.count))
                .collect();
            let depths: Vec<String> = folder
                .bit_depths
                .iter()
                .map(|d| format!("{} ({})", d.depth.label(), d.count))
                .collect();
            write!(
                f,
                "  {:<9} {:>6} file(s)  size {}  depth {}",
                folder.role.to_string(),
                folder.files,
                if sizes.is_empty() {
                    "-".into()
                } else {
                    sizes.join(", ")
                },
                if depths.is_empty() {
                    "-".into()
                } else {
                    depths.join(", ")
                },
            )?;
            if let Some(c) = folder.cell_fraction {
                write!(f, "  cells {}", percent(c))?;
            }
            if !folder.empty_masks.is_empty() {
                write!(f, "  empty masks {}", folder.empty_masks.len())?;
            }
            writeln!(f)?;
        }
        if !self.has_weights && self.layout != LayoutKind::Rois {
            writeln!(f, "  wei/      absent")?;
        }
        if let Some(c) = self.cell_fraction {
            writeln!(
                f,
                "cell pixels in {}: {}",
                self.layout.target_role(),
                percent(c)
            )?;
        }
        if !self.empty_masks.is_empty() {
            writeln!(f, "empty masks ({}):", self.empty_masks.len())?;
            for p in &self.empty_masks {
                writeln!(f, "  {}", rel(&self.root, p))?;
            }
        }
        if !self.ignored_files.is_empty() {
            writeln!(
                f,
                "ignored (not .png/.tif/.tiff) ({}):",
                self.ignored_files.len()
            )?;
            for p in &self.ignored_files {
                writeln!(f, "  {}", rel(&self.root, p))?;
            }
        }
        let problems = self.problems();
        if !self.usable() {
            writeln!(f, "problems ({}):", problems.len())?;
            for p in &problems {
                writeln!(f, "  {p}")?;
            }
        }
        let advice = self.advice();
        if !advice.is_empty() {
            writeln!(f, "to do:")?;
            for a in &advice {
                writeln!(f, "  - {a}")?;
            }
        }
        if self.usable() {
            write!(f, "usable: yes")
        } else {
            write!(f, "usable: NO ({} problem(s))", problems.len())
        }
    }
}

/// What decoding one file told.
struct FileFacts {
    shape: (usize, usize),
    pixel: PixelType,
    /// For binary-mask roles: `(cell pixels, distinct values, smallest values)`.
    mask: Option<(usize, usize, Vec<u64>)>,
}

fn inspect(path: &Path, content: Content) -> std::result::Result<FileFacts, String> {
    // The report names the file itself: keep only what went wrong.
    let raw = io::read_raw(path).map_err(|e| match e {
        Error::Decode { message, .. } => format!("cannot decode image: {message}"),
        Error::Unsupported { message, .. } => format!("unsupported image: {message}"),
        Error::Io { cause, .. } => cause.to_string(),
        other => other.to_string(),
    })?;
    let mask = (content == Content::BinaryMask).then(|| mask_facts(&raw));
    Ok(FileFacts {
        shape: raw.shape(),
        pixel: PixelType::of(&raw),
        mask,
    })
}

/// `(nonzero pixels, distinct values, up to 4 smallest values)`.
fn mask_facts(raw: &RawPixels) -> (usize, usize, Vec<u64>) {
    fn from_table(table: &[usize]) -> (usize, usize, Vec<u64>) {
        let nonzero = table.iter().skip(1).sum();
        let values: Vec<u64> = table
            .iter()
            .enumerate()
            .filter(|(_, &n)| n > 0)
            .map(|(v, _)| v as u64)
            .collect();
        (nonzero, values.len(), values.into_iter().take(4).collect())
    }
    match raw {
        RawPixels::U8(p) => {
            let mut table = [0usize; 256];
            for &v in p.as_slice() {
                table[usize::from(v)] += 1;
            }
            from_table(&table)
        }
        RawPixels::U16(p) => {
            let mut table = vec![0usize; 65536];
            for &v in p.as_slice() {
                table[usize::from(v)] += 1;
            }
            from_table(&table)
        }
        RawPixels::U32(p) => {
            let nonzero = p.as_slice().iter().filter(|&&v| v != 0).count();
            let mut values = p.as_slice().to_vec();
            values.sort_unstable();
            values.dedup();
            let examples = values.iter().take(4).map(|&v| u64::from(v)).collect();
            (nonzero, values.len(), examples)
        }
        RawPixels::F32(p) => {
            let nonzero = p.as_slice().iter().filter(|&&v| v != 0.0).count();
            let mut values = p.as_slice().to_vec();
            values.sort_unstable_by(f32::total_cmp);
            values.dedup();
            // Float masks are reported by value, truncated to integers for the examples.
            let examples = values.iter().take(4).map(|&v| v.max(0.0) as u64).collect();
            (nonzero, values.len(), examples)
        }
    }
}

fn histogram<K: Ord + Copy>(keys: impl Iterator<Item = K>) -> Vec<(K, usize)> {
    let mut counts: BTreeMap<K, usize> = BTreeMap::new();
    for k in keys {
        *counts.entry(k).or_default() += 1;
    }
    let mut v: Vec<(K, usize)> = counts.into_iter().collect();
    // Most frequent first; ties in key order (stable sort).
    v.sort_by_key(|e| std::cmp::Reverse(e.1));
    v
}

/// The weight maps of `set` that no longer match their mask ([`crate::weights::stale_weights`]),
/// as paths relative to the set's root. Only a standard `wei/` folder (next to `img/`) carries
/// deltacell's manifest; weights given as a folder elsewhere are not checked. An unreadable
/// manifest is reported as one stale entry, since the weights cannot be trusted then.
fn stale_weights(set: &TrainingSet) -> Vec<String> {
    stale_weight_files(set)
}

/// One problem line per stale weight map of `set` (see [`CheckReport::stale_weights`]): the
/// rule `check`, `augment`, `batches` and `train` share. Empty when `wei/` is fresh or absent.
pub fn stale_weight_problems(set: &TrainingSet) -> Vec<String> {
    stale_weight_files(set)
        .iter()
        .map(|w| format!("{}: {}", set.root.display(), stale_line(w)))
        .collect()
}

fn stale_line(file: &str) -> String {
    format!(
        "stale weight map: {file} is missing or was made from another mask; recompute with \
         `deltacell weights DIR --kind ... --force`"
    )
}

fn stale_weight_files(set: &TrainingSet) -> Vec<String> {
    let wei = set.root.join(Role::Wei.folder_name());
    if set.folders.wei.as_deref() != Some(wei.as_path()) {
        return Vec::new();
    }
    match crate::weights::stale_weights(&set.root) {
        Ok(names) => names.into_iter().map(|n| format!("wei/{n}")).collect(),
        Err(e) => vec![format!("wei/ (manifest unreadable: {e})")],
    }
}

/// Decodes every file of `set` (in parallel, with rayon) and reports what a user must know before
/// training: sizes, bit depths, cell fractions, empty masks, and every blocking problem.
///
/// Files that matched no partner are decoded too, so one run lists every broken file.
pub fn check(set: &TrainingSet) -> CheckReport {
    let roles = set.roles();
    let content_of = |role: Role| role.content();

    // Every file to decode: complete samples first, then the unmatched ones.
    let mut jobs: Vec<(Role, PathBuf)> = Vec::new();
    for s in &set.samples {
        jobs.extend(s.files().map(|(r, p)| (r, p.to_path_buf())));
    }
    let role_of_folder = |file: &Path| -> Option<Role> {
        let parent = file.parent()?;
        roles
            .iter()
            .copied()
            .find(|&r| set.folders.get(r) == Some(parent))
    };
    for m in &set.unmatched.missing_partners {
        for p in &m.present {
            if let Some(r) = role_of_folder(p) {
                jobs.push((r, p.clone()));
            }
        }
    }
    for d in &set.unmatched.duplicates {
        for p in &d.files {
            if let Some(r) = role_of_folder(p) {
                jobs.push((r, p.clone()));
            }
        }
    }
    jobs.sort();
    jobs.dedup();

    let facts: Vec<std::result::Result<FileFacts, String>> = jobs
        .par_iter()
        .map(|(role, path)| inspect(path, content_of(*role)))
        .collect();
    let index: BTreeMap<&Path, &std::result::Result<FileFacts, String>> = jobs
        .iter()
        .map(|(_, p)| p.as_path())
        .zip(facts.iter())
        .collect();

    let mut unreadable = Vec::new();
    let mut non_binary = Vec::new();
    let mut empty_masks = Vec::new();
    let mut bad_files: std::collections::BTreeSet<&Path> = Default::default();
    for ((_, path), fact) in jobs.iter().zip(&facts) {
        match fact {
            Err(message) => {
                unreadable.push(Unreadable {
                    file: path.clone(),
                    message: message.clone(),
                });
                bad_files.insert(path);
            }
            Ok(FileFacts {
                mask: Some((cells, distinct, examples)),
                ..
            }) => {
                if *distinct > 2 {
                    non_binary.push(NotBinaryMask {
                        file: path.clone(),
                        distinct: *distinct,
                        examples: examples.clone(),
                    });
                    bad_files.insert(path);
                } else if *cells == 0 {
                    empty_masks.push(path.clone());
                }
            }
            Ok(_) => {}
        }
    }

    // Sizes within each complete sample.
    let mut size_mismatches = Vec::new();
    let mut good_samples = 0;
    for s in &set.samples {
        let sized: Vec<SizedFile> = s
            .files()
            .filter_map(|(_, p)| match index.get(p) {
                Some(Ok(f)) => Some(SizedFile {
                    file: p.to_path_buf(),
                    height: f.shape.0,
                    width: f.shape.1,
                }),
                _ => None,
            })
            .collect();
        let mismatch = sized
            .iter()
            .any(|f| (f.height, f.width) != (sized[0].height, sized[0].width));
        if mismatch {
            size_mismatches.push(SizeMismatch {
                stem: s.stem.clone(),
                files: sized,
            });
        } else if s.files().all(|(_, p)| !bad_files.contains(p)) {
            good_samples += 1;
        }
    }

    // Per-folder summaries.
    let mut folders = Vec::new();
    for &role in &roles {
        let Some(folder) = set.folders.get(role) else {
            continue;
        };
        let ok: Vec<&FileFacts> = jobs
            .iter()
            .zip(&facts)
            .filter(|((r, _), _)| *r == role)
            .filter_map(|(_, f)| f.as_ref().ok())
            .collect();
        let files = jobs.iter().filter(|(r, _)| *r == role).count();
        let sizes = histogram(ok.iter().map(|f| f.shape))
            .into_iter()
            .map(|((height, width), count)| SizeCount {
                height,
                width,
                count,
            })
            .collect();
        let bit_depths = histogram(ok.iter().map(|f| f.pixel))
            .into_iter()
            .map(|(depth, count)| DepthCount { depth, count })
            .collect();
        let cell_fraction = (role.content() == Content::BinaryMask)
            .then(|| {
                let (mut cells, mut total) = (0usize, 0usize);
                for f in &ok {
                    if let Some((c, distinct, _)) = &f.mask {
                        if *distinct <= 2 {
                            cells += c;
                            total += f.shape.0 * f.shape.1;
                        }
                    }
                }
                (total > 0).then(|| cells as f64 / total as f64)
            })
            .flatten();
        let empty: Vec<PathBuf> = empty_masks
            .iter()
            .filter(|p| p.parent() == Some(folder))
            .cloned()
            .collect();
        folders.push(FolderSummary {
            role,
            path: folder.to_path_buf(),
            files,
            sizes,
            bit_depths,
            cell_fraction,
            empty_masks: empty,
        });
    }
    let cell_fraction = folders
        .iter()
        .find(|f| f.role == set.kind.target_role())
        .and_then(|f| f.cell_fraction);

    let mut report = CheckReport {
        usable: false,
        layout: set.kind,
        root: set.root.clone(),
        samples: set.samples.len(),
        good_samples,
        folders,
        cell_fraction,
        has_weights: set.folders.wei.is_some(),
        empty_masks,
        non_binary_masks: non_binary,
        missing_partners: set.unmatched.missing_partners.clone(),
        duplicates: set.unmatched.duplicates.clone(),
        size_mismatches,
        unreadable,
        empty_folders: set.unmatched.empty_folders.clone(),
        ignored_files: set.unmatched.ignored.clone(),
        stale_weights: stale_weights(set),
    };
    report.usable = report.usable();
    report
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::image::{Mask, Plane};

    fn write_seg_sample(root: &Path, stem: &str, h: usize, w: usize) {
        std::fs::create_dir_all(root.join("img")).unwrap();
        std::fs::create_dir_all(root.join("seg")).unwrap();
        let img = Plane::from_fn(h, w, |r, c| (r * 100 + c) as u16);
        io::write_png_u16(root.join("img").join(format!("{stem}.png")), &img).unwrap();
        let m = Mask::from_fn(h, w, |r, _| r < h / 2);
        io::write_mask(root.join("seg").join(format!("{stem}.png")), &m).unwrap();
    }

    #[test]
    fn kind_parses_cli_names() {
        assert_eq!(
            "seg".parse::<LayoutKind>().unwrap(),
            LayoutKind::Segmentation
        );
        assert_eq!("Track".parse::<LayoutKind>().unwrap(), LayoutKind::Tracking);
        assert_eq!("rois".parse::<LayoutKind>().unwrap(), LayoutKind::Rois);
        assert!("movie".parse::<LayoutKind>().is_err());
    }

    #[test]
    fn good_segmentation_set_is_usable_and_sorted() {
        let dir = tempfile::tempdir().unwrap();
        for stem in ["b", "a", "c"] {
            write_seg_sample(dir.path(), stem, 8, 4);
        }
        let set = TrainingSet::open(dir.path(), None).unwrap();
        assert_eq!(set.kind, LayoutKind::Segmentation);
        let stems: Vec<&str> = set.samples.iter().map(|s| s.stem()).collect();
        assert_eq!(stems, ["a", "b", "c"]);
        assert!(set.folders.wei.is_none());
        let report = check(&set);
        assert!(report.usable(), "{report}");
        assert_eq!(report.good_samples, 3);
        assert_eq!(report.cell_fraction, Some(0.5));
        assert_eq!(report.folders[0].bit_depths[0].depth, PixelType::U16);
        assert_eq!(report.folders[1].bit_depths[0].depth, PixelType::U8);
    }

    #[test]
    fn every_problem_is_listed_in_one_error() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        write_seg_sample(root, "ok", 8, 4);
        write_seg_sample(root, "orphan", 8, 4);
        std::fs::remove_file(root.join("seg/orphan.png")).unwrap();
        write_seg_sample(root, "lonely", 8, 4);
        std::fs::remove_file(root.join("img/lonely.png")).unwrap();
        write_seg_sample(root, "three", 8, 4);
        io::write_png_u8(
            root.join("seg/three.png"),
            &Plane::from_fn(8, 4, |r, _| (r % 3) as u8),
        )
        .unwrap();
        write_seg_sample(root, "big", 8, 4);
        io::write_mask(root.join("seg/big.png"), &Mask::zeros(9, 4)).unwrap();
        let err = TrainingSet::open(root, None).unwrap_err();
        let Error::Layout { problems, .. } = &err else {
            panic!("{err}");
        };
        assert_eq!(problems.len(), 4, "{err}");
        let text = err.to_string();
        for name in ["orphan.png", "lonely.png", "three.png", "big.png"] {
            assert!(text.contains(name), "{name} missing from {text}");
        }
        assert!(!text.contains("ok.png"), "{text}");
    }

    #[test]
    fn empty_wei_is_absent_and_missing_folder_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        write_seg_sample(dir.path(), "a", 4, 4);
        std::fs::create_dir(dir.path().join("wei")).unwrap();
        let set = TrainingSet::discover(dir.path(), None).unwrap();
        assert!(set.folders.wei.is_none());
        std::fs::remove_dir_all(dir.path().join("seg")).unwrap();
        let err = TrainingSet::discover(dir.path(), None).unwrap_err();
        assert!(err.to_string().contains("seg/"), "{err}");
    }

    #[test]
    fn all_empty_folders_are_an_error_and_one_empty_folder_a_problem() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("img")).unwrap();
        std::fs::create_dir(dir.path().join("seg")).unwrap();
        let err = TrainingSet::discover(dir.path(), None).unwrap_err();
        assert!(matches!(err, Error::NotATrainingSet { .. }), "{err}");
        write_seg_sample(dir.path(), "a", 4, 4);
        std::fs::remove_file(dir.path().join("seg/a.png")).unwrap();
        let set = TrainingSet::discover(dir.path(), None).unwrap();
        assert_eq!(set.unmatched.empty_folders, [dir.path().join("seg")]);
        assert!(set.unmatched.missing_partners.is_empty());
        assert!(!check(&set).usable());
    }

    #[test]
    fn hidden_and_foreign_files() {
        let dir = tempfile::tempdir().unwrap();
        write_seg_sample(dir.path(), "a", 4, 4);
        std::fs::write(dir.path().join("img/._a.png"), b"junk").unwrap();
        std::fs::write(dir.path().join("img/notes.txt"), b"hello").unwrap();
        let set = TrainingSet::open(dir.path(), None).unwrap();
        assert_eq!(set.len(), 1);
        assert_eq!(set.unmatched.ignored, [dir.path().join("img/notes.txt")]);
    }

    #[test]
    fn tracking_is_detected_and_folders_can_be_given_one_by_one() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        let m = Mask::from_fn(6, 4, |r, c| r == c);
        let img = Plane::filled(6, 4, 1000u16);
        for role in LayoutKind::Tracking.required_roles() {
            let folder = root.join(role.folder_name());
            std::fs::create_dir_all(&folder).unwrap();
            let path = folder.join("s1.png");
            match role.content() {
                Content::Image => io::write_png_u16(&path, &img).unwrap(),
                _ => io::write_mask(&path, &m).unwrap(),
            }
        }
        let set = TrainingSet::open(root, None).unwrap();
        assert_eq!(set.kind, LayoutKind::Tracking);
        assert_eq!(set.samples[0].files().count(), 5);

        let mut folders = Folders::default();
        for role in LayoutKind::Tracking.required_roles() {
            folders.set(*role, root.join(role.folder_name()));
        }
        let by_hand = TrainingSet::open_folders(folders.clone(), None).unwrap();
        assert_eq!(by_hand.samples, set.samples);
        assert_eq!(by_hand.root, root);
        folders.segall = None;
        let err = TrainingSet::from_folders(folders, None).unwrap_err();
        assert!(err.to_string().contains("segall/"), "{err}");
    }

    #[test]
    fn advice_names_the_weights_command_only_where_weights_are_used() {
        let dir = tempfile::tempdir().unwrap();
        write_seg_sample(dir.path(), "a", 4, 4);
        let seg = check(&TrainingSet::open(dir.path(), None).unwrap());
        assert!(seg.advice().iter().any(|a| a.contains("deltacell weights")));
        let rois = check(&TrainingSet::open(dir.path(), Some(LayoutKind::Rois)).unwrap());
        assert!(rois.advice().is_empty(), "{:?}", rois.advice());
        assert!(rois.to_string().ends_with("usable: yes"), "{rois}");

        let mut stale = rois;
        stale.stale_weights.push("wei/a.png".into());
        assert!(!stale.usable(), "stale weights block training");
        assert!(
            stale.to_string().contains("stale weight map: wei/a.png")
                && stale.to_string().contains("--force"),
            "{stale}"
        );
    }

    #[test]
    fn label_mask_counts_distinct_values() {
        let raw = RawPixels::U16(Plane::from_vec(1, 5, vec![0, 0, 7, 300, 300]).unwrap());
        assert_eq!(mask_facts(&raw), (3, 3, vec![0, 7, 300]));
        let raw = RawPixels::F32(Plane::from_vec(1, 3, vec![0.0, 1.0, 1.0]).unwrap());
        assert_eq!(mask_facts(&raw), (2, 2, vec![0, 1]));
    }
}
