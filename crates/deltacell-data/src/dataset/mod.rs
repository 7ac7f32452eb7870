//! Training datasets and batch generators (segmentation, tracking, chambers).
//!
//! A [`crate::Batch`] is the hand-over point to the neural-network crate: contiguous `f32` buffers in
//! `N×H×W×C` (channels-last) order.
//!
//! # Pieces
//! * [`SegmentationDataset`] (DeLTA's newest `load_training_dataset_seg` / `SegmentationDataset`):
//!   `img/`, `seg/` and optional `wei/`; random crop or resize, augmentation, weights from the
//!   folder, computed online or all ones; evaluation mode tiles or resizes without augmentation.
//! * [`TrackingDataset`] (DeLTA's `train_generator_track`): four input channels (current image,
//!   seed cell at t−1, previous image, all cells at t), two outputs (`mot_dau`, weights).
//! * [`ChamberDataset`]: the chamber (ROI) U-Net's `img/` + `seg/` set, one output channel.
//! * [`Loader`]: worker threads build batches ahead of time into a bounded window, epochs are
//!   shuffled permutations, and every sample draws from `random::stream(seed, epoch, position)`,
//!   so batches depend only on the seed, never on the number of workers.
//! * [`DatasetRecipe`]: what a training configuration asks of the data, as the options of
//!   these datasets and loaders (one mapping for `train`, `batches` and the Python package).
//! * [`read`]: DeLTA 2.0.7's `readreshape`, `binarizerange`, `gettrackingboxes` for parity.
//!
//! Every dataset implements [`Dataset`]: a fixed number of items, a fixed [`SampleLayout`], and
//! [`Dataset::write_sample`], which writes one item straight into a batch's buffers.
//!
//! # Differences from DeLTA (deliberate)
//! * Epochs are shuffled permutations of the items (DeLTA's generators draw with replacement;
//!   its `Sequence` shuffles like here). When `steps_per_epoch × batch_size` exceeds the number
//!   of items, the epoch continues into further independent permutations.
//! * Batches have a fixed size (DeLTA's `SegmentationDataset` yields batches of one).
//! * Unmatched files (a stem with zero or several partners) are an error that lists every
//!   problem, not a skipped image with a log line.
//! * When augmentation changes a sample's shape (the `resize` operation), it is centre-cropped or
//!   zero-padded back to the target size so that samples stack into a batch.
//! * Weight maps are zero wherever a crop box lies outside the image (zero padding), so padded
//!   pixels never count in the loss, whatever the weight source.
//! * Online tracking weights with `crop_windows` are computed on the cropped window (DeLTA: on
//!   the whole frame, then cropped); the window is centred on the tracked cell, so only pixels
//!   near the window's border can differ, and it is much cheaper on large frames.
//! * Masks are read leniently: any nonzero pixel is a cell (DeLTA's newest line divides by 255
//!   and truncates, so a 0/1 mask file silently becomes empty there).
//! * Deterministic weights (`wei/` files, online segmentation weights, online tracking weights
//!   in resize mode) are computed once per file when the dataset is preloaded, not per sample.
//!
//!
//! Files are found and matched by stem with [`crate::layout`] (its lenient
//! [`TrainingSet::from_folders`](crate::layout::TrainingSet::from_folders): the files are not
//! decoded twice; every unmatched file is reported). Evaluation tiles are
//! [`crate::tiles::Windows`], DeLTA's newest `create_windows`.

mod delta;
mod loader;
pub mod read;
mod recipe;
mod rois;
mod seg;
mod storage;
mod track;

use crate::error::{Error, Result};
use std::path::Path;

use crate::batch::SampleLayout;
use crate::kind::Kind;
use crate::layout::{Folders, SampleFiles, TrainingSet};
use crate::random::SampleRng;
use crate::weights::WeightRecipe;

pub use delta::random_crop;
pub use loader::{Loader, LoaderOptions, LoaderStats};
pub use recipe::{DatasetRecipe, OpenedSets};
pub use rois::{ChamberDataset, ChamberOptions};
pub use seg::{SegFiles, SegOptions, SegmentationDataset};
pub use storage::{Storage, StorageChoice, StorageReport, DEFAULT_PRELOAD_LIMIT};
pub use track::{TrackFiles, TrackOptions, TrackingDataset};

/// Training (random crops, augmentation, shuffled) or evaluation (fixed tiles or resized files,
/// no augmentation, in order).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// DeLTA's `mode="training"`.
    Training,
    /// DeLTA's `mode="evaluation"`.
    Evaluation,
}

/// The datasets of a training set split by file ([`split_by_file`]): training, and validation /
/// test when asked for, in [`Mode::Evaluation`]. What every dataset's `open_split` returns.
#[derive(Debug)]
pub struct Splits<D> {
    /// Training files, [`Mode::Training`].
    pub train: D,
    /// Validation files, [`Mode::Evaluation`]; `None` when the fraction is 0 (or rounds to no
    /// file).
    pub validation: Option<D>,
    /// Test files, [`Mode::Evaluation`]; `None` when the fraction is 0 (or rounds to no file).
    pub test: Option<D>,
}

impl<D> Splits<D> {
    /// Splits `files` ([`split_by_file`]) and builds each part with `build(files, mode)`.
    pub(crate) fn build<F: Clone>(
        files: Vec<F>,
        validation: f64,
        test: f64,
        seed: u64,
        build: impl FnMut(Vec<F>, Mode) -> Result<D>,
    ) -> Result<Self> {
        let split = split_by_file(files.len(), validation, test, seed)?;
        Self::from_split(files, &split, build)
    }

    /// Builds each part of `split` (indices into `files`) with `build(files, mode)`; empty
    /// validation or test parts are `None`.
    pub(crate) fn from_split<F: Clone>(
        files: Vec<F>,
        split: &Split,
        mut build: impl FnMut(Vec<F>, Mode) -> Result<D>,
    ) -> Result<Self> {
        let pick = |idx: &[usize]| idx.iter().map(|&i| files[i].clone()).collect::<Vec<_>>();
        let train = build(pick(&split.train), Mode::Training)?;
        let mut part = |idx: &[usize]| -> Result<Option<D>> {
            if idx.is_empty() {
                Ok(None)
            } else {
                build(pick(idx), Mode::Evaluation).map(Some)
            }
        };
        let validation = part(&split.validation)?;
        let test = part(&split.test)?;
        Ok(Splits {
            train,
            validation,
            test,
        })
    }
}

/// Whether a dataset with `weights` reads the set's `wei/` folder: `Auto` and `Folder` when the
/// folder exists; `Folder` without one is an [`Error::Layout`] naming `root`.
pub(crate) fn wants_weights_folder(root: &Path, weights: &Weights) -> Result<bool> {
    let want = matches!(weights, Weights::Auto | Weights::Folder) && root.join("wei").is_dir();
    if *weights == Weights::Folder && !want {
        return Err(Error::Layout {
            root: root.to_path_buf(),
            problems: vec![format!(
                "{}: weights = \"folder\" but there is no wei/ folder",
                root.display()
            )],
        });
    }
    Ok(want)
}

/// What the three datasets share beyond [`Dataset`]: opening a training-set folder, whole or split
/// by file, with the dataset's options, and reporting how its files are kept. Lets code that
/// handles every kind (`deltacell_nn::data`, the bindings) open any of them the same way.
pub trait OpenDataset: Dataset + Sized {
    /// The dataset's options ([`SegOptions`], [`TrackOptions`], [`ChamberOptions`]).
    type Options;

    /// Opens every file of the set at `root` in `mode`.
    fn open_set(root: &Path, options: &Self::Options, mode: Mode) -> Result<Self>;

    /// Opens `root` split by file ([`split_by_file`]); validation and test in evaluation mode.
    fn open_set_split(
        root: &Path,
        options: &Self::Options,
        validation: f64,
        test: f64,
        seed: u64,
    ) -> Result<Splits<Self>>;

    /// How the files are kept (preloaded or streamed) and why.
    fn storage_report(&self) -> &StorageReport;
}

macro_rules! open_dataset {
    ($($t:ty => $o:ty),*) => {$(
        impl OpenDataset for $t {
            type Options = $o;
            fn open_set(root: &Path, options: &$o, mode: Mode) -> Result<Self> {
                <$t>::open(root, options, mode)
            }
            fn open_set_split(
                root: &Path,
                options: &$o,
                validation: f64,
                test: f64,
                seed: u64,
            ) -> Result<Splits<Self>> {
                <$t>::open_split(root, options, validation, test, seed)
            }
            fn storage_report(&self) -> &StorageReport {
                self.storage()
            }
        }
    )*};
}
open_dataset!(
    SegmentationDataset => SegOptions,
    TrackingDataset => TrackOptions,
    ChamberDataset => ChamberOptions
);

/// Where a sample's pixel weights come from: one vocabulary for every dataset.
///
/// TOML: `weights = "auto"`, `"folder"`, `"ones"`, or the recipe itself, e.g.
/// `weights = { seg2d = { classweights = [1.0, 1.0] } }` or
/// `weights = { track = { halo_distance = 50.0 } }` ([`WeightRecipe`]).
#[derive(Clone, Copy, Debug, Default, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Weights {
    /// `wei/` when the set has that folder, else all ones (DeLTA's behaviour).
    #[default]
    Auto,
    /// Read from `wei/` (8-bit files are divided by 255); an error when the set has none.
    Folder,
    /// Every pixel weighs 1 (DeLTA's `weights_path=None`).
    Ones,
    /// Computed with one of DeLTA's weight functions: segmentation recipes when a file is
    /// loaded, [`WeightRecipe::Track`] per tracking sample (DeLTA's `"online"`).
    #[serde(untagged)]
    Computed(WeightRecipe),
}

/// A source of training or evaluation samples that the [`Loader`] batches.
///
/// Implementations are shared between worker threads, so they are `Send + Sync` and
/// [`Dataset::write_sample`] takes `&self`.
pub trait Dataset: Send + Sync {
    /// Number of items: files, or tiles in evaluation mode with cropping.
    fn len(&self) -> usize;

    /// True when there is no item.
    fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The geometry every sample has.
    fn layout(&self) -> SampleLayout;

    /// True for a training dataset (random crops and augmentation; the loader shuffles it).
    fn is_training(&self) -> bool;

    /// Writes item `index` into `x` (`height × width × in_channels`) and `y` (`height × width ×
    /// out_channels`), channels-last, drawing every random decision from `rng`.
    fn write_sample(
        &self,
        index: usize,
        rng: &mut SampleRng,
        x: &mut [f32],
        y: &mut [f32],
    ) -> Result<()>;
}

/// Which files go to the training, validation and test splits (indices into the file list).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Split {
    /// Training files.
    pub train: Vec<usize>,
    /// Validation files.
    pub validation: Vec<usize>,
    /// Test files.
    pub test: Vec<usize>,
}

/// Splits `n` files at random into training, validation and test sets (DeLTA's newest
/// `_load_images_seg` split): the boundaries `[0, 1 − v − t, 1 − t, 1]·n` are rounded half to
/// even like `numpy.round`, their differences are the counts, and a seeded shuffle of the split
/// labels assigns each file. Indices within each split are increasing.
///
/// `validation` and `test` are fractions in `[0, 1]` whose sum is at most 1
/// ([`Error::OutOfRange`] naming the fraction otherwise).
///
/// ```
/// use deltacell_data::{dataset::split_by_file, Error};
/// let s = split_by_file(10, 0.25, 0.25, 3)?;
/// // 10 files: boundaries 5 and 7.5 → 8 (half to even), so 5 / 3 / 2.
/// assert_eq!((s.train.len(), s.validation.len(), s.test.len()), (5, 3, 2));
/// assert_eq!(split_by_file(10, 0.25, 0.25, 3)?, s); // seeded
/// let e = split_by_file(10, 1.5, 0.0, 3).unwrap_err();
/// assert_eq!(e.to_string(), "validation fraction = 1.5 is out of range: expected a fraction in [0, 1]");
/// # Ok::<(), deltacell_data::Error>(())
/// ```
pub fn split_by_file(n: usize, validation: f64, test: f64, seed: u64) -> Result<Split> {
    let ok = |f: f64| (0.0..=1.0).contains(&f);
    if !ok(validation) || !ok(test) || validation + test > 1.0 + 1e-12 {
        return Err(split_error(validation, test));
    }
    let nf = n as f64;
    let b1 = ((1.0 - validation - test) * nf).round_ties_even().max(0.0) as usize;
    let b2 = ((1.0 - test) * nf).round_ties_even().max(0.0) as usize;
    let (b1, b2) = (b1.min(n), b2.min(n).max(b1.min(n)));
    let mut labels: Vec<u8> = (0..n)
        .map(|i| {
            if i < b1 {
                0
            } else if i < b2 {
                1
            } else {
                2
            }
        })
        .collect();
    use rand::seq::SliceRandom;
    labels.shuffle(&mut crate::random::stream(seed, u64::MAX, 0));
    let mut split = Split::default();
    for (i, l) in labels.into_iter().enumerate() {
        match l {
            0 => split.train.push(i),
            1 => split.validation.push(i),
            _ => split.test.push(i),
        }
    }
    Ok(split)
}

/// Files held out for validation by the **cells** they hold rather than by their number:
/// files are taken in a seeded random order until the held-out cells reach `validation` of all
/// cells (`cells[i]`: the cells of file `i`), at least one file when `validation > 0` and there
/// are two files or more, and never every file. For sets whose files hold very different
/// numbers of cells (the frames of a growing colony: 2 cells in the first, 60 in the last), a
/// fifth of the files can be a twentieth of the cells, and an instance F1 on a handful of cells
/// is noise. No test part.
///
/// ```
/// use deltacell_data::dataset::split_by_cells;
/// // A growing colony: the last frames hold most cells.
/// let cells = [2, 2, 4, 4, 8, 8, 16, 16, 32, 32];
/// let s = split_by_cells(&cells, 0.2, 1)?;
/// let held: usize = s.validation.iter().map(|&i| cells[i]).sum();
/// assert!(held >= 24 && s.train.len() >= 1, "{held} cells in {:?}", s.validation);
/// assert_eq!(s.train.len() + s.validation.len(), 10);
/// assert_eq!(split_by_cells(&cells, 0.2, 1)?, s); // seeded
/// assert!(split_by_cells(&cells, 0.0, 1)?.validation.is_empty());
/// # Ok::<(), deltacell_data::Error>(())
/// ```
pub fn split_by_cells(cells: &[usize], validation: f64, seed: u64) -> Result<Split> {
    if !(0.0..=1.0).contains(&validation) {
        return Err(split_error(validation, 0.0));
    }
    let n = cells.len();
    let mut order: Vec<usize> = (0..n).collect();
    use rand::seq::SliceRandom;
    order.shuffle(&mut crate::random::stream(seed, u64::MAX, 1));
    let total: usize = cells.iter().sum();
    let target = validation * total as f64;
    let mut split = Split::default();
    let mut held = 0usize;
    for i in order {
        let room = split.validation.len() + 1 < n;
        let wanted = validation > 0.0 && (split.validation.is_empty() || (held as f64) < target);
        if room && wanted {
            held += cells[i];
            split.validation.push(i);
        } else {
            split.train.push(i);
        }
    }
    split.train.sort_unstable();
    split.validation.sort_unstable();
    Ok(split)
}

/// The error for fractions [`split_by_file`] refuses: the first of `validation`, `test` outside
/// `[0, 1]`, else their sum above 1.
fn split_error(validation: f64, test: f64) -> Error {
    let fraction = "a fraction in [0, 1]";
    if !(0.0..=1.0).contains(&validation) {
        Error::out_of_range("validation fraction", validation, fraction)
    } else if !(0.0..=1.0).contains(&test) {
        Error::out_of_range("test fraction", test, fraction)
    } else {
        Error::out_of_range(
            "validation + test fractions",
            validation + test,
            "at most 1",
        )
    }
}

/// One channel to interleave: floats, or a 0/1 mask written as 0.0/1.0.
#[derive(Clone, Copy)]
pub(crate) enum Channel<'a> {
    F32(&'a [f32]),
    U8(&'a [u8]),
}

/// Writes `planes` (each `height × width`) interleaved channels-last into `out`.
pub(crate) fn interleave(planes: &[Channel<'_>], out: &mut [f32]) {
    match planes {
        [one] => {
            let n = out.len();
            write_channel(*one, 0, &mut out[..n]);
        }
        [a, b] => interleave_fixed(&[*a, *b], out),
        [a, b, c, d] => interleave_fixed(&[*a, *b, *c, *d], out),
        _ => {
            let c = planes.len();
            for (ch, plane) in planes.iter().enumerate() {
                let dst = out.iter_mut().skip(ch).step_by(c);
                match plane {
                    Channel::F32(p) => dst.zip(p.iter()).for_each(|(o, &v)| *o = v),
                    Channel::U8(p) => dst.zip(p.iter()).for_each(|(o, &v)| *o = f32::from(v)),
                }
            }
        }
    }
}

/// `out[i] = channel[start + i]` as `f32`; 0 where the channel is shorter than `out`.
fn write_channel(channel: Channel<'_>, start: usize, out: &mut [f32]) {
    let n = match channel {
        Channel::F32(p) => {
            let p = p.get(start..).unwrap_or_default();
            let n = out.len().min(p.len());
            out[..n].copy_from_slice(&p[..n]);
            n
        }
        Channel::U8(p) => {
            let p = p.get(start..).unwrap_or_default();
            for (o, &v) in out.iter_mut().zip(p) {
                *o = f32::from(v);
            }
            out.len().min(p.len())
        }
    };
    out[n..].fill(0.0);
}

/// [`interleave`] for a fixed number of channels: blocks of each channel are converted to `f32`
/// first, then written out pixel by pixel with a constant stride.
fn interleave_fixed<const C: usize>(planes: &[Channel<'_>; C], out: &mut [f32]) {
    const B: usize = 256;
    let n = out.len() / C;
    let mut buf = [[0f32; B]; C];
    for start in (0..n).step_by(B) {
        let m = B.min(n - start);
        for (ch, p) in planes.iter().enumerate() {
            write_channel(*p, start, &mut buf[ch][..m]);
        }
        for (i, o) in out[start * C..(start + m) * C]
            .chunks_exact_mut(C)
            .enumerate()
        {
            for (ch, v) in o.iter_mut().enumerate() {
                *v = buf[ch][i];
            }
        }
    }
}

/// [`CroppingBox::crop`](crate::tiles::CroppingBox::crop) without zero-filling first when the box
/// lies inside the plane (the common case; saves a pass over every cropped raster).
pub(crate) fn crop<T: Copy + Default>(
    b: &crate::tiles::CroppingBox,
    plane: &crate::image::Plane<T>,
) -> crate::image::Plane<T> {
    let (h, w) = (plane.height() as i64, plane.width() as i64);
    if b.ytl < 0 || b.xtl < 0 || b.ybr > h || b.xbr > w || b.ybr <= b.ytl || b.xbr <= b.xtl {
        return b.crop(plane);
    }
    let (bh, bw) = b.shape();
    let mut data = Vec::with_capacity(bh * bw);
    for r in b.ytl..b.ybr {
        data.extend_from_slice(&plane.row(r as usize)[b.xtl as usize..b.xbr as usize]);
    }
    crate::image::Plane::from_vec(bh, bw, data).unwrap_or_else(|_| b.crop(plane))
}

/// The samples of the `kind` set at `root`, matched by stem ([`crate::layout`]); `wei/` only
/// when `with_weights` (and the folder exists and is not empty). Every file without its partner,
/// every duplicate stem, every empty folder and every stale weight map (made from a mask that
/// has changed since, [`crate::wei::stale_weights`]) is listed in one [`Error::Layout`].
pub fn matched_samples(root: &Path, kind: Kind, with_weights: bool) -> Result<Vec<SampleFiles>> {
    let mut folders = Folders::standard(root, kind);
    if !with_weights {
        folders.wei = None;
    }
    matched_in(&folders, kind)
}

/// Every sample of the segmentation set at `root` as read from disk, in name order: its stem
/// and the targets `[Image, Mask]`, plus `Weights` when the set has a `wei/` folder. Files are
/// matched as for training ([`matched_samples`]: every unmatched file and stale weight map is
/// an error); images are scaled by their type's maximum; a sample whose files differ in size is
/// an error naming them.
pub fn seg_samples(root: &Path) -> Result<Vec<(String, crate::augment::Sample)>> {
    use crate::augment::{Sample, Target};
    use crate::layout::Role;
    let mut out = Vec::new();
    for files in matched_samples(root, Kind::Seg, true)? {
        let (Some(img), Some(seg)) = (files.path(Role::Img), files.path(Role::Seg)) else {
            continue;
        };
        let mut targets = vec![
            Target::Image(crate::io::read_image(img, crate::io::Rescale::DtypeMax)?),
            Target::Mask(crate::io::read_binary_mask(seg)?),
        ];
        if let Some(p) = files.path(Role::Wei) {
            targets.push(Target::Weights(crate::io::read_weights(p)?));
        }
        let sample = Sample { targets };
        if let Err(Error::ShapeMismatch {
            expected, found, ..
        }) = sample.shape()
        {
            return Err(Error::ShapeMismatch {
                context: format!(
                    "sample {}: {} and {}",
                    files.stem(),
                    img.display(),
                    seg.display()
                ),
                expected,
                found,
            });
        }
        out.push((files.stem().to_string(), sample));
    }
    Ok(out)
}

/// The samples of explicit `folders` of a `kind` set, matched by stem; every unmatched file and
/// every stale weight map (the same rule as `check`) is listed in one [`Error::Layout`].
pub fn matched_in(folders: &Folders, kind: Kind) -> Result<Vec<SampleFiles>> {
    let set = TrainingSet::from_folders(folders.clone(), Some(kind))?;
    let mut problems = set.matching_problems();
    if set.folders.wei.is_some() {
        problems.extend(crate::layout::stale_weight_problems(&set));
    }
    if problems.is_empty() {
        Ok(set.samples)
    } else {
        Err(Error::Layout {
            root: set.root.clone(),
            problems,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn options_read_every_weight_source() {
        let seg: SegOptions = toml::from_str(
            r#"
            target_size = [512, 512]
            crop = true
            weights = { seg2d = { classweights = [1.0, 0.5] } }
            storage = "stream"
            "#,
        )
        .unwrap();
        assert_eq!(seg.target_size, (512, 512));
        assert_eq!(
            seg.weights,
            Weights::Computed(WeightRecipe::Seg2d {
                classweights: (1.0, 0.5)
            })
        );
        assert_eq!(seg.storage, StorageChoice::Stream);
        let track: TrackOptions = toml::from_str(
            "shift = 5
weights = { online = { halo_distance = 50.0 } }",
        )
        .unwrap();
        assert_eq!(
            track.weights,
            Weights::Computed(WeightRecipe::Track {
                halo_distance: 50.0
            })
        );
        assert_eq!(track.target_size, (256, 32), "defaults fill the rest");
        let folder: SegOptions = toml::from_str("weights = \"folder\"").unwrap();
        assert_eq!(folder.weights, Weights::Folder);
        assert!(toml::from_str::<SegOptions>("crops = true").is_err());
    }

    #[test]
    fn interleave_and_crop_agree_with_the_definitions() {
        let mut out = vec![0.0; 4];
        interleave(&[Channel::F32(&[1.0, 2.0]), Channel::U8(&[0, 1])], &mut out);
        assert_eq!(out, vec![1.0, 0.0, 2.0, 1.0]);
        let p = crate::image::Plane::from_fn(5, 6, |r, c| r * 6 + c);
        for b in [
            crate::tiles::CroppingBox {
                ytl: 1,
                xtl: 2,
                ybr: 4,
                xbr: 6,
            },
            crate::tiles::CroppingBox {
                ytl: -1,
                xtl: 2,
                ybr: 4,
                xbr: 7,
            },
        ] {
            assert_eq!(crop(&b, &p), b.crop(&p));
        }
    }
}
