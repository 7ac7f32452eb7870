//! Checking a training set before training: decode every file and report sizes, bit depths,
//! cell fractions, empty masks and every problem that would stop or spoil training.
//!
//! [`check`] decodes every file of a [`TrainingSet`] (in parallel) and returns a [`CheckReport`]:
//! a file without its partner, two partners for one stem, different sizes inside one sample, an
//! unreadable or truncated file, a mask with more than two values, a weight map made from a mask
//! that has changed since. [`TrainingSet::open`] is the strict entry point built on it: it fails
//! with one [`Error::Layout`] that lists **every** offending file.

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

use rayon::prelude::*;
use serde::{Serialize, Serializer};

use crate::error::{Error, Result};
use crate::io::{self, RawPixels};
use crate::kind::Kind;
use crate::layout::{
    display_via_describe, rel, ser_path, ser_paths, Content, DuplicateStem, Folders,
    MissingPartner, Role, TrainingSet,
};

display_via_describe!(SizeMismatch, Unreadable, NotBinaryMask);

fn ser_long_name<S: Serializer>(k: &Kind, s: S) -> std::result::Result<S::Ok, S::Error> {
    s.serialize_str(k.long_name())
}

impl TrainingSet {
    /// Strict open: discovers the set, decodes every file ([`check`]) and fails with one
    /// [`Error::Layout`] listing every offending file when anything blocks training.
    pub fn open(root: impl AsRef<Path>, kind: Option<Kind>) -> Result<TrainingSet> {
        let set = Self::discover(root, kind)?;
        check(&set).into_result()?;
        Ok(set)
    }

    /// Strict open of folders given one by one (see [`TrainingSet::open`]).
    pub fn open_folders(folders: Folders, kind: Option<Kind>) -> Result<TrainingSet> {
        let set = Self::from_folders(folders, kind)?;
        check(&set).into_result()?;
        Ok(set)
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
    /// The layout found (written `segmentation`, `tracking` or `rois` in JSON).
    #[serde(serialize_with = "ser_long_name")]
    pub layout: Kind,
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
    /// the root ([`crate::wei::stale_weights`]; only a standard `wei/` folder is checked).
    /// Every command that trains on `wei/` refuses them the same way
    /// ([`crate::layout::stale_weight_problems`]): recompute the weight maps.
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
        out.extend(
            self.stale_weights
                .iter()
                .map(|w| crate::layout::stale_line(w)),
        );
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
        let weights_used = self.layout != Kind::Rois;
        if weights_used && !self.has_weights && self.samples > 0 {
            out.push("no wei/ folder: precompute the weight maps (faster training)".to_string());
        }
        if !self.stale_weights.is_empty() {
            out.push(format!(
                "{} weight map(s) are stale (missing, or their mask changed since): recompute \
                 the weight maps, replacing the old ones",
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
            self.layout.long_name(),
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
        if !self.has_weights && self.layout != Kind::Rois {
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

fn inspect(path: &Path, content: Content) -> Result<FileFacts> {
    let raw = io::read_raw(path)?;
    let mask = (content == Content::BinaryMask).then(|| mask_facts(&raw));
    Ok(FileFacts {
        shape: raw.shape(),
        pixel: PixelType::of(&raw),
        mask,
    })
}

/// What went wrong reading a file, without its path (the report names the file itself).
fn problem(e: &Error) -> String {
    match e {
        Error::Decode { message, .. } => format!("cannot decode image: {message}"),
        Error::Unsupported { message, .. } => format!("unsupported image: {message}"),
        Error::Io { cause, .. } => cause.to_string(),
        other => other.to_string(),
    }
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

/// The weight maps of `set` that no longer match their mask ([`crate::wei::stale_weights`]),
/// as paths relative to the set's root. Only a standard `wei/` folder (next to `img/`) carries
/// deltacell's manifest; weights given as a folder elsewhere are not checked. An unreadable
/// manifest is reported as one stale entry, since the weights cannot be trusted then.
fn stale_weights(set: &TrainingSet) -> Vec<String> {
    crate::layout::stale_weight_files(set)
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

    let facts: Vec<Result<FileFacts>> = jobs
        .par_iter()
        .map(|(role, path)| inspect(path, content_of(*role)))
        .collect();
    let index: BTreeMap<&Path, &Result<FileFacts>> = jobs
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
            Err(e) => {
                unreadable.push(Unreadable {
                    file: path.clone(),
                    message: problem(e),
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
                stem: s.stem().to_string(),
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
    use crate::image::Plane;
    use crate::layout::tests::write_seg_sample;

    #[test]
    fn good_segmentation_set_is_usable_and_sorted() {
        let dir = tempfile::tempdir().unwrap();
        for stem in ["b", "a", "c"] {
            write_seg_sample(dir.path(), stem, 8, 4);
        }
        let set = TrainingSet::open(dir.path(), None).unwrap();
        assert_eq!(set.kind, Kind::Seg);
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
    fn advice_names_the_weight_maps_only_where_weights_are_used() {
        let dir = tempfile::tempdir().unwrap();
        write_seg_sample(dir.path(), "a", 4, 4);
        let seg = check(&TrainingSet::open(dir.path(), None).unwrap());
        assert!(seg
            .advice()
            .iter()
            .any(|a| a.contains("precompute the weight maps")));
        let rois = check(&TrainingSet::open(dir.path(), Some(Kind::Rois)).unwrap());
        assert!(rois.advice().is_empty(), "{:?}", rois.advice());
        assert!(rois.to_string().ends_with("usable: yes"), "{rois}");

        let mut stale = rois;
        stale.stale_weights.push("wei/a.png".into());
        assert!(!stale.usable(), "stale weights block training");
        assert!(
            stale.to_string().contains("stale weight map: wei/a.png")
                && stale.to_string().contains("recompute the weight maps"),
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
