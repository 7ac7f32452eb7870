//! DeLTA training-set layouts: find the folders, match their files into samples, and check them.
//!
//! DeLTA keeps a training set as one folder per role (spec §1.1–1.3):
//!
//! | [`Kind`] | folders (in DeLTA's order) | binary masks |
//! |---|---|---|
//! | [`Segmentation`](Kind::Seg) | `img/`, `seg/`, optional `wei/` | `seg/` |
//! | [`Rois`](Kind::Rois) (chambers) | `img/`, `seg/`, optional `wei/` | `seg/` |
//! | [`Tracking`](Kind::Track) | `previmg/`, `seg/`, `img/`, `segall/`, `mot_dau/`, optional `wei/` | `seg/`, `segall/`, `mot_dau/` |
//!
//! [`TrainingSet::discover`] finds the folders under a parent, [`TrainingSet::from_folders`] takes
//! them one by one ([`Folders`]). Files are matched across folders by **stem** (the name without
//! its extension), so `img/a.tif` pairs with `seg/a.png`; `.png`, `.tif` and `.tiff` are read in
//! any letter case. Samples are sorted by the name of their `img/` file, as DeLTA's newest line
//! iterates `img/` sorted.
//!
//! [`crate::check::check`] decodes every file (in parallel) and returns a
//! [`crate::check::CheckReport`]: sizes, bit depths,
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

use serde::{Serialize, Serializer};

use crate::error::{Error, Result};
use crate::io;
use crate::kind::Kind;

// ---------------------------------------------------------------------------------------------
// Kinds and roles
// ---------------------------------------------------------------------------------------------

/// The folders of each layout (spec §1.1–1.2).
impl Kind {
    /// The folders this layout must have, in DeLTA's order (`wei/` is never required).
    pub fn required_roles(self) -> &'static [Role] {
        match self {
            Kind::Seg | Kind::Rois => &[Role::Img, Role::Seg],
            Kind::Track => &[
                Role::PrevImg,
                Role::Seg,
                Role::Img,
                Role::SegAll,
                Role::MotDau,
            ],
        }
    }

    /// The mask the model learns to predict: `seg/` for segmentation and chambers, `mot_dau/`
    /// for tracking. Its cell fraction is the headline figure of a
    /// [`crate::check::CheckReport`].
    pub fn target_role(self) -> Role {
        match self {
            Kind::Seg | Kind::Rois => Role::Seg,
            Kind::Track => Role::MotDau,
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

/// What a folder's files contain, which decides how [`crate::check::check`] inspects them.
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
    ///
    /// ```
    /// use deltacell_data::layout::{Folders, Role};
    /// use deltacell_data::Kind;
    /// let f = Folders::standard("set", Kind::Track);
    /// assert_eq!(f.get(Role::MotDau), Some(std::path::Path::new("set/mot_dau")));
    /// assert_eq!(Kind::Track.required_roles().len(), 5);
    /// ```
    pub fn standard(root: impl AsRef<Path>, kind: Kind) -> Folders {
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
    pub fn infer_kind(&self) -> Kind {
        if self.previmg.is_some() || self.segall.is_some() || self.mot_dau.is_some() {
            Kind::Track
        } else {
            Kind::Seg
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
    pub kind: Kind,
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

/// One problem line per stale weight map of `set` ([`stale_weight_files`]): the rule `check`,
/// `augment`, `batches` and `train` share. Empty when `wei/` is fresh or absent.
pub fn stale_weight_problems(set: &TrainingSet) -> Vec<String> {
    stale_weight_files(set)
        .iter()
        .map(|w| format!("{}: {}", set.root.display(), stale_line(w)))
        .collect()
}

/// The problem line of one stale weight map (`file` relative to the set's root).
///
/// ```
/// let line = deltacell_data::layout::stale_line("wei/a.png");
/// assert!(line.starts_with("stale weight map: wei/a.png"));
/// ```
pub fn stale_line(file: &str) -> String {
    format!(
        "stale weight map: {file} is missing or was made from another mask; recompute the \
         set's weight maps (replacing the old ones)"
    )
}

/// The weight maps of `set` that no longer match their mask ([`crate::wei::stale_weights`]), as paths
/// relative to the set's root. Only a standard `wei/` folder (next to `img/`) carries
/// deltacell's manifest; weights given as a folder elsewhere are not checked. An unreadable
/// manifest is reported as one stale entry, since the weights cannot be trusted then.
pub fn stale_weight_files(set: &TrainingSet) -> Vec<String> {
    let wei = set.root.join(Role::Wei.folder_name());
    if set.folders.wei.as_deref() != Some(wei.as_path()) {
        return Vec::new();
    }
    match crate::wei::stale_weights(&set.root) {
        Ok(names) => names.into_iter().map(|n| format!("wei/{n}")).collect(),
        Err(e) => vec![format!("wei/ (manifest unreadable: {e})")],
    }
}

impl TrainingSet {
    /// Finds the layout under `root` and matches its files (lenient: matching problems are kept
    /// in [`TrainingSet::unmatched`]).
    ///
    /// With `kind = None` the layout is guessed from the folders: tracking when `previmg/`,
    /// `segall/` or `mot_dau/` exists, otherwise segmentation (chamber sets look the same and
    /// must be asked for with `Some(Kind::Rois)`).
    ///
    /// Fails when `root` is not a folder, a required folder is missing, or no folder holds any
    /// image ([`Error::NotATrainingSet`]).
    ///
    /// ```
    /// use deltacell_data::layout::TrainingSet;
    /// use deltacell_data::{io, Kind, Mask, Plane};
    /// let dir = tempfile::tempdir().unwrap();
    /// for (folder, ext) in [("img", "tif"), ("seg", "png")] {
    ///     std::fs::create_dir(dir.path().join(folder)).unwrap();
    ///     let m = Mask::from_fn(4, 3, |r, _| r < 2);
    ///     io::write_mask(dir.path().join(folder).join(format!("a.{ext}")), &m)?;
    /// }
    /// // Matched by stem: img/a.tif pairs with seg/a.png.
    /// let set = TrainingSet::discover(dir.path(), None)?;
    /// assert_eq!((set.kind, set.len()), (Kind::Seg, 1));
    /// assert_eq!(set.samples[0].stem(), "a");
    /// # Ok::<(), deltacell_data::Error>(())
    /// ```
    pub fn discover(root: impl AsRef<Path>, kind: Option<Kind>) -> Result<TrainingSet> {
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
                Kind::Track
            } else {
                Kind::Seg
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
                "no {} folder (a {} set needs {})",
                missing
                    .iter()
                    .map(|m| format!("{m}/"))
                    .collect::<Vec<_>>()
                    .join(", "),
                kind.long_name(),
                wanted.join(", ")
            );
            if folder_has_images(root) {
                message.push_str("; this folder holds images itself: give its parent folder");
            } else if guessed && kind == Kind::Track {
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
    pub fn from_folders(folders: Folders, kind: Option<Kind>) -> Result<TrainingSet> {
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

    fn build(kind: Kind, root: PathBuf, mut folders: Folders) -> Result<TrainingSet> {
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
        if is_dir || name == crate::wei::MANIFEST_NAME {
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

pub(crate) fn ser_path<S: Serializer>(p: &Path, s: S) -> std::result::Result<S::Ok, S::Error> {
    s.serialize_str(&p.to_string_lossy())
}

pub(crate) fn ser_paths<S: Serializer>(
    ps: &[PathBuf],
    s: S,
) -> std::result::Result<S::Ok, S::Error> {
    s.collect_seq(ps.iter().map(|p| p.to_string_lossy()))
}

pub(crate) fn rel(root: &Path, p: &Path) -> String {
    p.strip_prefix(root).unwrap_or(p).display().to_string()
}

pub(crate) fn show(root: &Path, paths: &[PathBuf]) -> String {
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
pub(crate) use display_via_describe;
display_via_describe!(MissingPartner, DuplicateStem);

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

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::image::{Mask, Plane};

    pub(crate) fn write_seg_sample(root: &Path, stem: &str, h: usize, w: usize) {
        std::fs::create_dir_all(root.join("img")).unwrap();
        std::fs::create_dir_all(root.join("seg")).unwrap();
        let img = Plane::from_fn(h, w, |r, c| (r * 100 + c) as u16);
        io::write_png_u16(root.join("img").join(format!("{stem}.png")), &img).unwrap();
        let m = Mask::from_fn(h, w, |r, _| r < h / 2);
        io::write_mask(root.join("seg").join(format!("{stem}.png")), &m).unwrap();
    }

    #[test]
    fn kind_parses_cli_names() {
        assert_eq!("seg".parse::<Kind>().unwrap(), Kind::Seg);
        assert_eq!("Track".parse::<Kind>().unwrap(), Kind::Track);
        assert_eq!("rois".parse::<Kind>().unwrap(), Kind::Rois);
        assert!("movie".parse::<Kind>().is_err());
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
        for role in Kind::Track.required_roles() {
            let folder = root.join(role.folder_name());
            std::fs::create_dir_all(&folder).unwrap();
            let path = folder.join("s1.png");
            match role.content() {
                Content::Image => io::write_png_u16(&path, &img).unwrap(),
                _ => io::write_mask(&path, &m).unwrap(),
            }
        }
        let set = TrainingSet::open(root, None).unwrap();
        assert_eq!(set.kind, Kind::Track);
        assert_eq!(set.samples[0].files().count(), 5);

        let mut folders = Folders::default();
        for role in Kind::Track.required_roles() {
            folders.set(*role, root.join(role.folder_name()));
        }
        let by_hand = TrainingSet::open_folders(folders.clone(), None).unwrap();
        assert_eq!(by_hand.samples, set.samples);
        assert_eq!(by_hand.root, root);
        folders.segall = None;
        let err = TrainingSet::from_folders(folders, None).unwrap_err();
        assert!(err.to_string().contains("segall/"), "{err}");
    }
}
