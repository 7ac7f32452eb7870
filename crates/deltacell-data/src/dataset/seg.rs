//! The segmentation dataset (DeLTA's newest `load_training_dataset_seg` / `SegmentationDataset`).

use std::borrow::Cow;
use std::path::{Path, PathBuf};

use rand::Rng;

use super::storage::{image_shape, preload, StorageChoice, StorageReport, DEFAULT_PRELOAD_LIMIT};
use super::{
    crop, interleave, matched_samples, wants_weights_folder, Channel, Dataset, Mode, Splits,
    Weights,
};
use crate::augment::resize::{resize_image, resize_mask, resize_weights};
use crate::augment::{
    augment, augment_seg_into, AugmentParams, LabelChannels, LabelWindow, Sample, Target,
};
use crate::batch::SampleLayout;
use crate::error::{Error, Result};
use crate::image::{Image, Mask, Plane, WeightMap};
use crate::io::{self, Rescale};
use crate::kind::Kind;
use crate::layout::Role;
use crate::random::SampleRng;
use crate::tiles::{CroppingBox, Windows};
use crate::weights::WeightRecipe;

/// Options of [`SegmentationDataset`]; TOML/JSON keys are the field names.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SegOptions {
    /// `(height, width)` of a sample, pixels. Default `(256, 32)` (mother machine); 2-D pads
    /// use `(512, 512)` with `crop`.
    pub target_size: (usize, usize),
    /// Random crops of `target_size` (2-D pads) instead of resizing whole files to it (mother
    /// machine). Default false. In evaluation mode, crop tiles each file into overlapping windows.
    pub crop: bool,
    /// Weight source. Default [`Weights::Auto`].
    pub weights: Weights,
    /// Augmentation, applied in training mode only (evaluation ignores it).
    pub augment: AugmentParams,
    /// Preload or stream. Default [`StorageChoice::Auto`].
    pub storage: StorageChoice,
    /// Limit of [`StorageChoice::Auto`], bytes of decoded data. Default 1 GiB.
    pub preload_limit_bytes: u64,
    /// Minimum overlap of evaluation tiles, pixels (DeLTA's `min_overlap`, default 24).
    pub min_overlap: usize,
    /// How image intensities are brought to `[0, 1]`: divided by the pixel type's maximum
    /// (default, DeLTA's newest line) or stretched per image from its minimum to its maximum
    /// (`min_max`, DeLTA 2.0.7's `readreshape`; for 16-bit movies that use a narrow part of the
    /// range, where the augmentation noise would otherwise be large against the image).
    pub rescale: Rescale,
    /// Fraction of training crops, in `[0, 1]`, centred on a cell pixel drawn uniformly from the
    /// file's mask instead of placed uniformly (`crop` only; files without cells fall back to
    /// uniform). Default 0 = DeLTA's uniform crops. On sparse colonies (a few cells in a large
    /// frame) most uniform crops hold no cell, no gap and so no signal; 0.5 keeps half of them
    /// uniform so that empty background is still seen.
    pub crop_foreground: f64,
}

impl Default for SegOptions {
    fn default() -> Self {
        SegOptions {
            target_size: (256, 32),
            crop: false,
            weights: Weights::Auto,
            augment: AugmentParams::default(),
            storage: StorageChoice::Auto,
            preload_limit_bytes: DEFAULT_PRELOAD_LIMIT,
            min_overlap: 24,
            rescale: Rescale::DtypeMax,
            crop_foreground: 0.0,
        }
    }
}

/// One decoded file: full size in crop mode, resized to the target otherwise.
#[derive(Clone, Debug)]
struct SegItem {
    image: Image,
    mask: Mask,
    /// `None` = all ones (not stored).
    weights: Option<WeightMap>,
}

/// DeLTA's segmentation dataset: `img/`, `seg/` and optional `wei/` files as samples of one
/// input channel (the image) and a stacked target `[label, weight]`.
///
/// * Training: each item is one file; with `crop`, a random `target_size` window (DeLTA's newest
///   `random_crop`: uniform start, centred zero padding for files smaller than the target), else
///   the file resized to `target_size` (image bilinear, mask contour-based, weights bilinear);
///   then [`augment`] on `[Image, Mask, Weights]`.
/// * Evaluation: no augmentation; with `crop`, every file is tiled into overlapping windows
///   (`min_overlap`) and each window is an item; else each file resized.
#[derive(Debug)]
pub struct SegmentationDataset {
    files: Vec<SegFiles>,
    options: SegOptions,
    mode: Mode,
    /// Where the weights come from (never [`Weights::Auto`]); `None`: no weight channel (the
    /// chamber dataset's label-only output).
    weights: Option<Weights>,
    /// `(file, tile)`: the items.
    items: Vec<(usize, Option<CroppingBox>)>,
    cache: Option<Vec<SegItem>>,
    report: StorageReport,
}

impl SegmentationDataset {
    /// Opens the training set at `root` (`img/`, `seg/`, optional `wei/`), every file.
    pub fn open(root: impl AsRef<Path>, options: &SegOptions, mode: Mode) -> Result<Self> {
        let files = discover(root.as_ref(), options)?;
        Self::from_files(files, options, mode)
    }

    /// Opens `root` and splits its files into training, validation and test datasets
    /// ([`super::split_by_file`], seeded with `seed`); validation and test are in evaluation mode.
    pub fn open_split(
        root: impl AsRef<Path>,
        options: &SegOptions,
        validation: f64,
        test: f64,
        seed: u64,
    ) -> Result<Splits<Self>> {
        let files = discover(root.as_ref(), options)?;
        Splits::build(files, validation, test, seed, |f, mode| {
            Self::from_files(f, options, mode)
        })
    }

    /// Opens `root` and holds out files for validation by their cells
    /// ([`super::split_by_cells`]: `validation` of the cells of the masks, 8-connected
    /// components, seeded with `seed`); no test part.
    pub fn open_split_by_cells(
        root: impl AsRef<Path>,
        options: &SegOptions,
        validation: f64,
        seed: u64,
    ) -> Result<Splits<Self>> {
        use rayon::prelude::*;
        let files = discover(root.as_ref(), options)?;
        let cells = files
            .par_iter()
            .map(|f| Ok(crate::metrics::instances(&io::read_labels(&f.mask)?).max_label() as usize))
            .collect::<Result<Vec<usize>>>()?;
        let split = super::split_by_cells(&cells, validation, seed)?;
        Splits::from_split(files, &split, |f, mode| Self::from_files(f, options, mode))
    }

    /// A dataset over explicit files. [`Weights::Auto`] reads weights when every file has a
    /// weight file, else uses ones.
    pub fn from_files(files: Vec<SegFiles>, options: &SegOptions, mode: Mode) -> Result<Self> {
        let weights = match &options.weights {
            Weights::Auto if files.iter().all(|f| f.weights.is_some()) => Weights::Folder,
            Weights::Auto | Weights::Ones => Weights::Ones,
            Weights::Folder => {
                let missing: Vec<String> = files
                    .iter()
                    .filter(|f| f.weights.is_none())
                    .map(|f| format!("{}: no weight file", f.image.display()))
                    .collect();
                if !missing.is_empty() {
                    return Err(Error::Layout {
                        root: files.first().map(|f| f.image.clone()).unwrap_or_default(),
                        problems: missing,
                    });
                }
                Weights::Folder
            }
            Weights::Computed(WeightRecipe::Track { .. }) => {
                return Err(Error::Config {
                    source_name: "dataset options".into(),
                    message: "weights = tracking_weights needs a tracking set; a segmentation \
                              set takes seg or seg2d"
                        .into(),
                })
            }
            Weights::Computed(recipe) => Weights::Computed(*recipe),
        };
        Self::build(files, options, mode, Some(weights))
    }

    /// Builds with a resolved weight source (the chamber dataset gives `None`: no weights).
    pub(crate) fn build(
        files: Vec<SegFiles>,
        options: &SegOptions,
        mode: Mode,
        weights: Option<Weights>,
    ) -> Result<Self> {
        let (th, tw) = options.target_size;
        if th == 0 || tw == 0 {
            return Err(Error::Config {
                source_name: "dataset options".into(),
                message: format!("target_size {th}x{tw} must be positive"),
            });
        }
        if !(0.0..=1.0).contains(&options.crop_foreground) {
            return Err(Error::Config {
                source_name: "dataset options".into(),
                message: format!(
                    "crop_foreground = {}: it must be a fraction in [0, 1]",
                    options.crop_foreground
                ),
            });
        }
        if files.is_empty() {
            return Err(Error::Empty {
                what: "the list of files of a segmentation dataset".into(),
            });
        }
        let tiles = options.crop && mode == Mode::Evaluation;
        let per_pixel: u64 = 4
            + 1
            + if matches!(weights, None | Some(Weights::Ones)) {
                0
            } else {
                4
            };
        let mut items = Vec::new();
        let mut bytes = 0u64;
        for (f, file) in files.iter().enumerate() {
            if options.crop {
                let shape = image_shape(&file.image)?;
                bytes += (shape.0 * shape.1) as u64 * per_pixel;
                if tiles {
                    let windows = Windows::new(shape, options.target_size, options.min_overlap)?;
                    for i in 0..windows.len() {
                        items.push((f, Some(windows.tile_box(i))));
                    }
                } else {
                    items.push((f, None));
                }
            } else {
                bytes += (th * tw) as u64 * per_pixel;
                items.push((f, None));
            }
        }
        let report = StorageReport::decide(
            options.storage,
            files.len(),
            bytes,
            options.preload_limit_bytes,
        );
        let mut ds = SegmentationDataset {
            files,
            options: options.clone(),
            mode,
            weights,
            items,
            cache: None,
            report,
        };
        ds.cache = preload(&ds.report, ds.files.len(), |i| ds.load(i))?;
        Ok(ds)
    }

    /// How the files are kept (preloaded or streamed) and why.
    pub fn storage(&self) -> &StorageReport {
        &self.report
    }

    /// The files, in item order.
    pub fn files(&self) -> &[SegFiles] {
        &self.files
    }

    /// The mode.
    pub fn mode(&self) -> Mode {
        self.mode
    }

    fn has_weights(&self) -> bool {
        self.weights.is_some()
    }

    /// Reads file `f`, computes online weights, resizes unless cropping.
    fn load(&self, f: usize) -> Result<SegItem> {
        let files = &self.files[f];
        let image = io::read_image(&files.image, self.options.rescale)?;
        let mask = io::read_binary_mask(&files.mask)?;
        check_shape(&files.mask, image.shape(), mask.shape())?;
        let weights = match &self.weights {
            None | Some(Weights::Ones | Weights::Auto) => None,
            Some(Weights::Folder) => {
                let path = files.weights.as_ref().ok_or_else(|| Error::Layout {
                    root: files.image.clone(),
                    problems: vec![format!("{}: no weight file", files.image.display())],
                })?;
                let w = io::read_weights(path)?;
                check_shape(path, image.shape(), w.shape())?;
                Some(w)
            }
            Some(Weights::Computed(recipe)) => Some(recipe.compute(&mask, None)?),
        };
        let target = self.options.target_size;
        if self.options.crop || image.shape() == target {
            return Ok(SegItem {
                image,
                mask,
                weights,
            });
        }
        Ok(SegItem {
            image: resize_image(&image, target),
            mask: resize_mask(&mask, target),
            weights: weights.map(|w| resize_weights(&w, target)),
        })
    }

    fn item(&self, f: usize) -> Result<Cow<'_, SegItem>> {
        match &self.cache {
            Some(c) => Ok(Cow::Borrowed(&c[f])),
            None => Ok(Cow::Owned(self.load(f)?)),
        }
    }
}

impl Dataset for SegmentationDataset {
    fn len(&self) -> usize {
        self.items.len()
    }

    fn layout(&self) -> SampleLayout {
        SampleLayout {
            height: self.options.target_size.0,
            width: self.options.target_size.1,
            in_channels: 1,
            out_channels: if self.has_weights() { 2 } else { 1 },
        }
    }

    fn is_training(&self) -> bool {
        self.mode == Mode::Training
    }

    fn write_sample(
        &self,
        index: usize,
        rng: &mut SampleRng,
        x: &mut [f32],
        y: &mut [f32],
    ) -> Result<()> {
        let (f, tile) = *self.items.get(index).ok_or(Error::IndexOutOfRange {
            what: "sample",
            index,
            len: self.items.len(),
            within: "dataset",
        })?;
        let item = self.item(f)?;
        let target = self.options.target_size;
        let full = item.image.shape();
        let window = match (self.mode, tile) {
            (_, Some(b)) => Some(b),
            (Mode::Training, None) if self.options.crop => Some(training_crop_box(
                &item.mask,
                target,
                self.options.crop_foreground,
                rng,
            )),
            _ => None,
        };
        if self.mode == Mode::Training {
            if let Some(at) = self.direct_window(window, full) {
                return self.write_augmented(&item, at, rng, x, y);
            }
        }
        self.write_general(&item, window, rng, x, y)
    }
}

impl SegmentationDataset {
    /// Any sample, the general way: the window cut out of the file (zero padded), [`augment`]
    /// on `[Image, Mask, Weights]` in training mode, refitted to the target shape, interleaved.
    fn write_general(
        &self,
        item: &SegItem,
        window: Option<CroppingBox>,
        rng: &mut SampleRng,
        x: &mut [f32],
        y: &mut [f32],
    ) -> Result<()> {
        let target = self.options.target_size;
        let with_weights = self.has_weights();
        let full = item.image.shape();
        let (mut image, mut mask, mut weights) = match window {
            Some(b) => (
                Image::from_plane_unchecked(crop(&b, item.image.plane())),
                Mask::from_plane(crop(&b, item.mask.plane())),
                with_weights.then(|| match &item.weights {
                    Some(w) => WeightMap::from_plane(crop(&b, w.plane())),
                    None => ones_inside(&b, full),
                }),
            ),
            None => (
                item.image.clone(),
                item.mask.clone(),
                with_weights.then(|| {
                    item.weights
                        .clone()
                        .unwrap_or_else(|| WeightMap::ones(full.0, full.1))
                }),
            ),
        };
        if self.mode == Mode::Training {
            let mut sample = Sample {
                targets: vec![Target::Image(image), Target::Mask(mask)],
            };
            if let Some(w) = weights {
                sample.targets.push(Target::Weights(w));
            }
            augment(&mut sample, &self.options.augment, rng)?;
            let mut t = sample.targets.into_iter();
            image = match t.next() {
                Some(Target::Image(i)) => fit_image(i, target),
                _ => return Err(augment_broke()),
            };
            mask = match t.next() {
                Some(Target::Mask(m)) => fit_mask(m, target),
                _ => return Err(augment_broke()),
            };
            weights = match t.next() {
                Some(Target::Weights(w)) => Some(fit_weights(w, target)),
                None if !with_weights => None,
                _ => return Err(augment_broke()),
            };
        }
        x.copy_from_slice(image.as_slice());
        match &weights {
            Some(w) => interleave(
                &[Channel::U8(mask.as_slice()), Channel::F32(w.as_slice())],
                y,
            ),
            None => interleave(&[Channel::U8(mask.as_slice())], y),
        }
        Ok(())
    }
}

impl SegmentationDataset {
    /// Where the training sample lies in its file (element offset of its first pixel) when
    /// [`Self::write_augmented`] can build it: the augmentation has no elastic deformation, no
    /// resize and no quarter turns of a non-square sample (so the output has the target shape
    /// without refitting), and the sample lies inside the file (no zero padding). `None` = the
    /// general path.
    fn direct_window(&self, window: Option<CroppingBox>, full: (usize, usize)) -> Option<usize> {
        let p = &self.options.augment;
        let (th, tw) = self.options.target_size;
        if p.elastic_deformation.is_some_and(|e| e.sigma > 0.0)
            || p.resize
            || (p.rotations_90d && th != tw)
        {
            return None;
        }
        match window {
            None => (full == (th, tw)).then_some(0),
            Some(b) => {
                let inside = b.ytl >= 0
                    && b.xtl >= 0
                    && b.ybr <= full.0 as i64
                    && b.xbr <= full.1 as i64
                    && b.shape() == (th, tw);
                inside.then(|| b.ytl as usize * full.1 + b.xtl as usize)
            }
        }
    }

    /// A training sample straight into the batch buffers: the target-size window at `offset` of
    /// the item's image is copied and receives the intensity operations, then one pass resamples
    /// it into `x` and the item's mask and weights (read in place) into `y`. Draws and results
    /// are those of [`augment`] on `[Image, Mask, Weights]` followed by the interleaving (see the
    /// test `direct_path_equals_augment`), without copying the mask and weights or building
    /// intermediate rasters.
    fn write_augmented(
        &self,
        item: &SegItem,
        offset: usize,
        rng: &mut SampleRng,
        x: &mut [f32],
        y: &mut [f32],
    ) -> Result<()> {
        let (th, tw) = self.options.target_size;
        let stride = item.image.width();
        let src = item.image.as_slice();
        let mut buf: Vec<f32> = crate::augment::scratch_take(th * tw);
        for (r, row) in buf.chunks_exact_mut(tw).enumerate() {
            let start = offset + r * stride;
            row.copy_from_slice(&src[start..start + tw]);
        }
        let plane = Plane::from_vec(th, tw, buf).map_err(|_| augment_broke())?;
        let labels = LabelWindow {
            mask: item.mask.as_slice(),
            weights: item.weights.as_ref().map(|w| w.as_slice()),
            stride,
            offset,
            channels: if self.has_weights() {
                LabelChannels::LabelAndWeight
            } else {
                LabelChannels::Label
            },
        };
        augment_seg_into(
            Image::from_plane_unchecked(plane),
            &labels,
            &self.options.augment,
            rng,
            x,
            y,
        )
    }
}

/// The files of one segmentation (or chamber) sample.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SegFiles {
    /// `img/` file.
    pub image: PathBuf,
    /// `seg/` file (mask).
    pub mask: PathBuf,
    /// `wei/` file, when the set has a non-empty `wei/` folder.
    pub weights: Option<PathBuf>,
}

/// Lists `root/img`, `root/seg` and (when present and wanted) `root/wei`, matched by stem.
pub(crate) fn discover(root: &Path, options: &SegOptions) -> Result<Vec<SegFiles>> {
    let want_wei = wants_weights_folder(root, &options.weights)?;
    let samples = matched_samples(root, Kind::Seg, want_wei)?;
    Ok(samples
        .into_iter()
        .map(|s| SegFiles {
            image: s.path(Role::Img).map(Path::to_path_buf).unwrap_or_default(),
            mask: s.path(Role::Seg).map(Path::to_path_buf).unwrap_or_default(),
            weights: s.path(Role::Wei).map(Path::to_path_buf),
        })
        .collect())
}

fn augment_broke() -> Error {
    Error::Internal {
        problem: "augmentation changed the number or kinds of a sample's rasters".into(),
    }
}

pub(crate) fn check_shape(
    path: &Path,
    expected: (usize, usize),
    found: (usize, usize),
) -> Result<()> {
    if expected != found {
        return Err(Error::ShapeMismatch {
            context: path.display().to_string(),
            expected,
            found,
        });
    }
    Ok(())
}

/// DeLTA's newest `random_crop` as a box: uniform start on each axis (y drawn first), centred
/// zero padding where the file is smaller than the target. No draw when the shapes are equal.
pub(crate) fn random_crop_box(
    shape: (usize, usize),
    target: (usize, usize),
    rng: &mut SampleRng,
) -> CroppingBox {
    if shape == target {
        return CroppingBox::full(shape.0, shape.1);
    }
    let mut axis = |size: usize, t: usize| -> i64 {
        if size >= t {
            rng.random_range(0..=size - t) as i64
        } else {
            -(((t - size) / 2) as i64)
        }
    };
    let ytl = axis(shape.0, target.0);
    CroppingBox::at(ytl, axis(shape.1, target.1), target)
}

/// A training crop of `target` in a file whose mask is `mask`: with probability `foreground`
/// centred on a uniformly drawn cell pixel (clamped to the file, centred padding where it is
/// smaller than the target), else [`random_crop_box`]. `foreground` 0 draws nothing extra, so the
/// random stream is DeLTA's uniform crops' own.
pub(crate) fn training_crop_box(
    mask: &Mask,
    target: (usize, usize),
    foreground: f64,
    rng: &mut SampleRng,
) -> CroppingBox {
    let shape = mask.shape();
    if foreground > 0.0 && shape != target && rng.random::<f64>() < foreground {
        let cells = mask.as_slice().iter().filter(|&&v| v != 0).count();
        if cells > 0 {
            let k = rng.random_range(0..cells);
            if let Some(i) = mask
                .as_slice()
                .iter()
                .enumerate()
                .filter(|(_, &v)| v != 0)
                .nth(k)
                .map(|(i, _)| i)
            {
                let (cy, cx) = (i / shape.1, i % shape.1);
                let start = |c: usize, size: usize, t: usize| -> i64 {
                    if size >= t {
                        c.saturating_sub(t / 2).min(size - t) as i64
                    } else {
                        -(((t - size) / 2) as i64)
                    }
                };
                return CroppingBox::at(
                    start(cy, shape.0, target.0),
                    start(cx, shape.1, target.1),
                    target,
                );
            }
        }
    }
    random_crop_box(shape, target, rng)
}

/// The box of `target` centred on a raster of `shape` (crops or zero-pads evenly).
pub(crate) fn centre_box(shape: (usize, usize), target: (usize, usize)) -> CroppingBox {
    let start = |s: usize, t: usize| (s as i64 - t as i64).div_euclid(2);
    CroppingBox::at(start(shape.0, target.0), start(shape.1, target.1), target)
}

/// `plane` centre-cropped / zero-padded to `target` when augmentation changed its shape.
pub(crate) fn fit_to<T: Copy + Default, R>(
    plane: Plane<T>,
    target: (usize, usize),
    wrap: impl FnOnce(Plane<T>) -> R,
) -> R {
    if plane.shape() == target {
        wrap(plane)
    } else {
        wrap(centre_box(plane.shape(), target).crop(&plane))
    }
}

/// [`fit_to`] for an image, without touching it when the shape is right.
fn fit_image(i: Image, target: (usize, usize)) -> Image {
    if i.shape() == target {
        i
    } else {
        fit_to(i.into_plane(), target, Image::from_plane_unchecked)
    }
}

/// [`fit_to`] for a mask, without touching it when the shape is right.
fn fit_mask(m: Mask, target: (usize, usize)) -> Mask {
    if m.shape() == target {
        m
    } else {
        fit_to(m.into_plane(), target, Mask::from_plane)
    }
}

/// [`fit_to`] for a weight map, without touching it when the shape is right.
fn fit_weights(w: WeightMap, target: (usize, usize)) -> WeightMap {
    if w.shape() == target {
        w
    } else {
        fit_to(w.into_plane(), target, WeightMap::from_plane)
    }
}

/// Weights of 1 inside the image and 0 where `b` lies outside an image of `shape`.
pub(crate) fn ones_inside(b: &CroppingBox, shape: (usize, usize)) -> WeightMap {
    let (bh, bw) = b.shape();
    let mut w = WeightMap::ones(bh, bw);
    zero_outside(&mut w, b, shape);
    w
}

/// Sets to 0 the pixels of `weights` (the raster of box `b`) that lie outside an image of
/// `shape` (zero padding).
pub(crate) fn zero_outside(weights: &mut WeightMap, b: &CroppingBox, shape: (usize, usize)) {
    let (bh, bw) = b.shape();
    if weights.shape() != (bh, bw) || bw == 0 {
        return;
    }
    let (h, w) = (shape.0 as i64, shape.1 as i64);
    // Columns of the box inside the image: c0..c1.
    let c0 = (-b.xtl).clamp(0, bw as i64) as usize;
    let c1 = (w - b.xtl).clamp(c0 as i64, bw as i64) as usize;
    for (r, row) in weights.as_mut_slice().chunks_exact_mut(bw).enumerate() {
        let y = b.ytl + r as i64;
        if (0..h).contains(&y) {
            row[..c0].fill(0.0);
            row[c1..].fill(0.0);
        } else {
            row.fill(0.0);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tile_counts_match_delta_tests() {
        let count = |h, w| Windows::new((h, w), (512, 512), 24).unwrap().len();
        assert_eq!(count(512, 512), 1);
        assert_eq!(count(513, 512), 2);
        assert_eq!(count(1000, 512), 2);
        assert_eq!(count(1001, 512), 3);
        assert_eq!(count(2048, 2048), 25);
        assert_eq!(count(200, 200), 1);
        assert_eq!(count(600, 200), 2);
        assert_eq!(count(696, 520), 4);
        // Padding example: 2 rows, target 6 -> the one tile starts at -2.
        assert_eq!(Windows::new((2, 2), (6, 6), 1).unwrap().tile_box(0).ytl, -2);
    }

    #[test]
    fn random_crop_stays_inside_or_pads_centred() {
        let mut rng = crate::random::stream(1, 0, 0);
        for _ in 0..200 {
            let b = random_crop_box((700, 600), (512, 512), &mut rng);
            assert!(b.ytl >= 0 && b.ybr <= 700 && b.xtl >= 0 && b.xbr <= 600);
            assert_eq!(b.shape(), (512, 512));
        }
        let b = random_crop_box((300, 600), (512, 512), &mut rng);
        assert_eq!((b.ytl, b.ybr), (-106, 406));
        assert_eq!(
            random_crop_box((5, 5), (5, 5), &mut rng),
            CroppingBox::full(5, 5)
        );
    }

    /// A sparse frame (one 12×12 cell in 400×600): uniform 64² crops hold the cell about 4 %
    /// of the time; with `crop_foreground` 0.5 at least half of them do, and 0 keeps DeLTA's
    /// uniform crops draw for draw.
    #[test]
    fn crop_foreground_biases_windows_towards_cells() {
        let mask = Mask::from_fn(400, 600, |r, c| {
            (300..312).contains(&r) && (50..62).contains(&c)
        });
        let holds_cell = |b: &CroppingBox| b.ytl < 312 && b.ybr > 300 && b.xtl < 62 && b.xbr > 50;
        let rate = |p: f64| {
            let mut rng = crate::random::stream(3, 0, 0);
            let boxes: Vec<_> = (0..2000)
                .map(|_| training_crop_box(&mask, (64, 64), p, &mut rng))
                .collect();
            for b in &boxes {
                assert!(
                    b.ytl >= 0 && b.ybr <= 400 && b.xtl >= 0 && b.xbr <= 600,
                    "{b:?}"
                );
                assert_eq!(b.shape(), (64, 64));
            }
            (
                boxes.iter().filter(|b| holds_cell(b)).count() as f64 / 2000.0,
                boxes,
            )
        };
        let (uniform, boxes) = rate(0.0);
        assert!(uniform < 0.08, "{uniform}");
        let (biased, _) = rate(0.5);
        assert!(biased >= 0.5, "{biased}");
        let (all, _) = rate(1.0);
        assert_eq!(all, 1.0);
        let mut rng = crate::random::stream(3, 0, 0);
        for b in &boxes {
            assert_eq!(*b, random_crop_box((400, 600), (64, 64), &mut rng));
        }
        // No cell: uniform crops; a file smaller than the target: centred padding.
        let empty = Mask::from_fn(100, 100, |_, _| false);
        let mut rng = crate::random::stream(3, 0, 0);
        assert_eq!(
            training_crop_box(&empty, (64, 64), 1.0, &mut rng).shape(),
            (64, 64)
        );
        let small = Mask::from_fn(30, 100, |_, _| true);
        let b = training_crop_box(&small, (64, 64), 1.0, &mut rng);
        assert_eq!(b.ytl, -17);
    }

    #[test]
    fn centre_box_crops_and_pads_evenly() {
        assert_eq!(centre_box((10, 10), (6, 6)).ytl, 2);
        assert_eq!(centre_box((4, 4), (6, 6)).ytl, -1);
        let w = ones_inside(&centre_box((4, 4), (6, 6)), (4, 4));
        assert_eq!(w.as_slice().iter().sum::<f32>(), 16.0);
        assert_eq!(w.get(0, 0), 0.0);
        assert_eq!(w.get(1, 1), 1.0);
    }

    /// A set of `n` files of `shape` with random cells and smooth intensities; `wei/` when
    /// `weights`.
    fn set(root: &Path, n: usize, (h, w): (usize, usize), weights: bool) {
        for d in ["img", "seg", "wei"] {
            std::fs::create_dir_all(root.join(d)).unwrap();
        }
        for i in 0..n {
            let name = format!("Position{i:06}.png");
            let mut rng = crate::random::stream(7, 0, i as u64);
            let cells: Vec<(usize, usize)> = (0..6)
                .map(|_| (rng.random_range(0..h), rng.random_range(0..w)))
                .collect();
            let mask = Mask::from_fn(h, w, |r, c| {
                cells
                    .iter()
                    .any(|&(y, x)| r.abs_diff(y) < 7 && c.abs_diff(x) < 4)
            });
            let image = Image::from_plane(Plane::from_fn(h, w, |r, c| {
                0.5 + 0.3 * ((r as f32 * 0.37).sin() * (c as f32 * 0.23 + i as f32).cos())
                    - 0.2 * f32::from(mask.get(r, c))
            }));
            io::write_image(root.join("img").join(&name), &image, io::Depth::U16).unwrap();
            io::write_mask(root.join("seg").join(&name), &mask).unwrap();
            if weights {
                let wm = WeightMap::from_plane(Plane::from_fn(h, w, |r, c| {
                    1.0 + ((r * 7 + c * 3) % 11) as f32
                }));
                io::write_weights_u8(root.join("wei").join(&name), &wm).unwrap();
            }
        }
        if !weights {
            std::fs::remove_dir(root.join("wei")).unwrap();
        }
    }

    /// The direct training path gives exactly the values and random draws of the general one
    /// ([`augment`] on copies, refit, interleave), for every weight source, crop or resize,
    /// and recipes with and without each operation.
    #[test]
    fn direct_path_equals_augment() {
        let dir = tempfile::tempdir().unwrap();
        let mm = dir.path().join("mm");
        set(&mm, 3, (64, 16), true);
        let pads = dir.path().join("pads");
        set(&pads, 3, (50, 44), true);
        let plain = dir.path().join("plain");
        set(&plain, 2, (40, 40), false);
        let recipes = [
            AugmentParams::seg_training(),
            AugmentParams::track_training(),
            AugmentParams::rois_training(),
            AugmentParams {
                horizontal_flip: true,
                vertical_flip: true,
                ..Default::default()
            },
            AugmentParams::default(),
        ];
        let mut checked = 0;
        for (root, size, crop, weights) in [
            (&mm, (64, 16), false, Weights::Folder),
            (&mm, (32, 16), false, Weights::Folder),
            (&pads, (32, 32), true, Weights::Folder),
            (&pads, (32, 32), true, Weights::Ones),
            (&plain, (32, 32), true, Weights::Auto),
            (&plain, (40, 40), false, Weights::Auto),
        ] {
            for (k, augment) in recipes.iter().enumerate() {
                let mut ds = SegmentationDataset::open(
                    root,
                    &SegOptions {
                        target_size: size,
                        crop,
                        weights,
                        augment: augment.clone(),
                        ..Default::default()
                    },
                    Mode::Training,
                )
                .unwrap();
                if k == 4 && root == &plain {
                    ds.weights = None; // the chamber dataset's label-only output
                }
                let l = ds.layout();
                for i in 0..12u64 {
                    let index = i as usize % ds.len();
                    let (xl, yl) = (l.x_len(), l.y_len());
                    let (mut x1, mut y1) = (vec![0f32; xl], vec![0f32; yl]);
                    let (mut x2, mut y2) = (vec![-1f32; xl], vec![-1f32; yl]);
                    let mut r1 = crate::random::stream(3, 1, i);
                    ds.write_sample(index, &mut r1, &mut x1, &mut y1).unwrap();
                    let mut r2 = crate::random::stream(3, 1, i);
                    let item = ds.item(index).unwrap();
                    let full = item.image.shape();
                    let window = crop.then(|| random_crop_box(full, size, &mut r2));
                    if ds.direct_window(window, full).is_some() {
                        checked += 1;
                    }
                    ds.write_general(&item, window, &mut r2, &mut x2, &mut y2)
                        .unwrap();
                    let ctx = format!("{} {size:?} recipe {k} sample {i}", root.display());
                    assert!(x1 == x2, "x differs: {ctx}");
                    assert!(y1 == y2, "y differs: {ctx}");
                    assert_eq!(r1.random::<u64>(), r2.random::<u64>(), "draws: {ctx}");
                }
            }
        }
        assert!(checked > 300, "direct path taken {checked} times");
    }
}
