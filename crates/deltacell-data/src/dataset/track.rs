//! The tracking dataset (DeLTA's `train_generator_track`).

use std::borrow::Cow;
use std::path::{Path, PathBuf};

use rand::Rng;

use super::seg::{check_shape, fit_to, ones_inside, zero_outside};
use super::storage::{image_shape, preload, StorageChoice, StorageReport, DEFAULT_PRELOAD_LIMIT};
use super::{
    crop, interleave, matched_samples, wants_weights_folder, Channel, Dataset, Mode, Splits,
    Weights,
};
use crate::augment::resize::{resize_image, resize_mask, resize_weights};
use crate::augment::{augment, AugmentParams, Sample, Target};
use crate::batch::SampleLayout;
use crate::error::{Error, Result};
use crate::image::{Image, Mask, WeightMap};
use crate::io::{self, Rescale};
use crate::kind::Kind;
use crate::layout::{Role, SampleFiles};
use crate::random::SampleRng;
use crate::tiles::CroppingBox;
use crate::weights::{tracking_weights, WeightRecipe};

/// Options of [`TrackingDataset`]; TOML/JSON keys are the field names.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TrackOptions {
    /// `(height, width)` of a sample, pixels. Default `(256, 32)` (mother machine); 2-D pads use
    /// `(256, 256)` with `crop`.
    pub target_size: (usize, usize),
    /// Crop a `target_size` window centred on the seed cell (2-D; DeLTA's `crop_windows`, also
    /// accepted as the key) instead of resizing the whole frame (mother machine). Default false.
    #[serde(alias = "crop_windows")]
    pub crop: bool,
    /// Random drift of the window, pixels: `(dy, dx)` uniform in `[−shift, shift]` (inclusive),
    /// applied to the current frame's channels. DeLTA's training scripts use 5; default 0.
    pub shift: u32,
    /// Weight source. Default [`Weights::Auto`]; DeLTA's `"online"` is
    /// `Weights::Computed(WeightRecipe::Track { halo_distance: 50.0 })`.
    pub weights: Weights,
    /// Augmentation (DeLTA's `DATA_AUGMENTATION_TRACK`), the same on all six rasters.
    pub augment: AugmentParams,
    /// Preload or stream. Default [`StorageChoice::Auto`].
    pub storage: StorageChoice,
    /// Limit of [`StorageChoice::Auto`], bytes. Default 1 GiB.
    pub preload_limit_bytes: u64,
    /// How image intensities are brought to `[0, 1]` (both frames): see
    /// [`super::SegOptions::rescale`]. Default: divided by the pixel type's maximum.
    pub rescale: Rescale,
}

impl Default for TrackOptions {
    fn default() -> Self {
        TrackOptions {
            target_size: (256, 32),
            crop: false,
            shift: 0,
            weights: Weights::Auto,
            augment: AugmentParams::default(),
            storage: StorageChoice::Auto,
            preload_limit_bytes: DEFAULT_PRELOAD_LIMIT,
            rescale: Rescale::DtypeMax,
        }
    }
}

/// The files of one tracking sample (DeLTA's tracking-set folders).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TrackFiles {
    /// `img/`: frame at t.
    pub image: PathBuf,
    /// `seg/`: the seed, one cell at t−1.
    pub seed: PathBuf,
    /// `previmg/`: frame at t−1.
    pub previous: PathBuf,
    /// `segall/`: all cells at t.
    pub segall: PathBuf,
    /// `mot_dau/`: the seed cell and its daughter at t (the target).
    pub mot_dau: PathBuf,
    /// `wei/`, when the set has it.
    pub weights: Option<PathBuf>,
}

/// A raster brought back to the target shape, as its pixel buffer.
enum Fitted {
    F32(Vec<f32>),
    U8(Vec<u8>),
}

impl Fitted {
    fn channel(&self) -> Channel<'_> {
        match self {
            Fitted::F32(v) => Channel::F32(v),
            Fitted::U8(v) => Channel::U8(v),
        }
    }
}

#[derive(Clone, Debug)]
struct TrackItem {
    image: Image,
    seed: Mask,
    previous: Image,
    segall: Mask,
    mot_dau: Mask,
    /// Folder weights, or online weights already computed (resize mode); `None` otherwise.
    weights: Option<WeightMap>,
    /// The window centred on the seed ([`CroppingBox::tracking_box`]), or the whole frame
    /// without `crop`: computed once per file (it scans the whole seed mask).
    seed_box: CroppingBox,
}

/// DeLTA's tracking training set as samples of four input channels — `[current image, seed cell
/// at t−1, previous image, all cells at t]` — and a stacked target `[mot_dau, weight]`.
///
/// With `crop`, the window is [`CroppingBox::tracking_box`] on the seed (centred on its
/// centroid); the seed and previous image use that box, the current image, `segall`, `mot_dau`
/// and the weights use it moved by the random drift; outside the image everything is zero.
/// Without it, every raster is resized to the target. Then [`augment`] runs on `[img, seg,
/// previmg, segall, mot_dau, weights]` as `[Image, Mask, Image, Mask, Mask, Weights]`.
#[derive(Debug)]
pub struct TrackingDataset {
    files: Vec<TrackFiles>,
    options: TrackOptions,
    mode: Mode,
    /// Where the weights come from: [`Weights::Folder`], [`Weights::Ones`] or DeLTA's online
    /// tracking weights ([`WeightRecipe::Track`]); never [`Weights::Auto`].
    weights: Weights,
    cache: Option<Vec<TrackItem>>,
    report: StorageReport,
}

impl TrackingDataset {
    /// Opens the tracking set at `root` (`img/ seg/ previmg/ segall/ mot_dau/`, optional `wei/`),
    /// every file; [`Mode::Evaluation`] drops the augmentation and the random shift.
    pub fn open(root: impl AsRef<Path>, options: &TrackOptions, mode: Mode) -> Result<Self> {
        Self::from_files(discover(root.as_ref(), options)?, options, mode)
    }

    /// Opens `root` and splits its samples by file into training, validation and test datasets
    /// ([`super::split_by_file`], seeded with `seed`); validation and test are in evaluation mode (no
    /// augmentation, no random shift, in order).
    pub fn open_split(
        root: impl AsRef<Path>,
        options: &TrackOptions,
        validation: f64,
        test: f64,
        seed: u64,
    ) -> Result<Splits<Self>> {
        let files = discover(root.as_ref(), options)?;
        Splits::build(files, validation, test, seed, |f, mode| {
            Self::from_files(f, options, mode)
        })
    }

    /// A dataset over explicit files in `mode` (evaluation: no augmentation, no shift);
    /// [`Weights::Auto`] reads weights when every sample has a weight file, else uses ones.
    pub fn from_files(files: Vec<TrackFiles>, options: &TrackOptions, mode: Mode) -> Result<Self> {
        let (th, tw) = options.target_size;
        if th == 0 || tw == 0 {
            return Err(Error::Config {
                source_name: "dataset options".into(),
                message: format!("target_size {th}x{tw} must be positive"),
            });
        }
        if files.is_empty() {
            return Err(Error::Empty {
                what: "the list of files of a tracking dataset".into(),
            });
        }
        let all_wei = files.iter().all(|f| f.weights.is_some());
        let weights = match options.weights {
            Weights::Auto if all_wei => Weights::Folder,
            Weights::Auto | Weights::Ones => Weights::Ones,
            Weights::Folder if all_wei => Weights::Folder,
            Weights::Folder => {
                return Err(Error::Layout {
                    root: files[0].image.clone(),
                    problems: files
                        .iter()
                        .filter(|f| f.weights.is_none())
                        .map(|f| format!("{}: no weight file", f.image.display()))
                        .collect(),
                })
            }
            online @ Weights::Computed(WeightRecipe::Track { .. }) => online,
            Weights::Computed(other) => {
                return Err(Error::Config {
                    source_name: "dataset options".into(),
                    message: format!(
                        "weights = {}: a tracking set takes tracking_weights (track), a folder \
                         or ones",
                        other.delta_name()
                    ),
                })
            }
        };
        // Two images (f32) + three masks (u8) + optional weights (f32) per pixel.
        let stored_weights =
            weights == Weights::Folder || (online_halo(weights).is_some() && !options.crop);
        let per_pixel: u64 = 2 * 4 + 3 + if stored_weights { 4 } else { 0 };
        let mut bytes = 0u64;
        for f in &files {
            let (h, w) = if options.crop {
                image_shape(&f.image)?
            } else {
                (th, tw)
            };
            bytes += (h * w) as u64 * per_pixel;
        }
        let report = StorageReport::decide(
            options.storage,
            files.len(),
            bytes,
            options.preload_limit_bytes,
        );
        let mut options = options.clone();
        if mode == Mode::Evaluation {
            // Evaluation samples are the data as they are: no augmentation, no random drift.
            options.augment = AugmentParams::default();
            options.shift = 0;
        }
        let mut ds = TrackingDataset {
            files,
            options,
            mode,
            weights,
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
    pub fn files(&self) -> &[TrackFiles] {
        &self.files
    }

    fn load(&self, i: usize) -> Result<TrackItem> {
        let f = &self.files[i];
        let image = io::read_image(&f.image, self.options.rescale)?;
        let shape = image.shape();
        let seed = io::read_binary_mask(&f.seed)?;
        check_shape(&f.seed, shape, seed.shape())?;
        let previous = io::read_image(&f.previous, self.options.rescale)?;
        check_shape(&f.previous, shape, previous.shape())?;
        let segall = io::read_binary_mask(&f.segall)?;
        check_shape(&f.segall, shape, segall.shape())?;
        let mot_dau = io::read_binary_mask(&f.mot_dau)?;
        check_shape(&f.mot_dau, shape, mot_dau.shape())?;
        let weights = match (self.weights, &f.weights) {
            (Weights::Folder, Some(p)) => {
                let w = io::read_weights(p)?;
                check_shape(p, shape, w.shape())?;
                Some(w)
            }
            _ => None,
        };
        let seed_box = if self.options.crop {
            CroppingBox::tracking_box(&seed, self.options.target_size)
        } else {
            CroppingBox::full(shape.0, shape.1)
        };
        let mut item = TrackItem {
            image,
            seed,
            previous,
            segall,
            mot_dau,
            weights,
            seed_box,
        };
        if !self.options.crop {
            let t = self.options.target_size;
            if shape != t {
                item = TrackItem {
                    image: resize_image(&item.image, t),
                    seed: resize_mask(&item.seed, t),
                    previous: resize_image(&item.previous, t),
                    segall: resize_mask(&item.segall, t),
                    mot_dau: resize_mask(&item.mot_dau, t),
                    weights: item.weights.map(|w| resize_weights(&w, t)),
                    seed_box: CroppingBox::full(t.0, t.1),
                };
            }
            // DeLTA computes online weights from the resized masks: do it once here.
            if let Some(halo) = online_halo(self.weights) {
                item.weights = Some(tracking_weights(&item.mot_dau, &item.segall, halo)?);
            }
        }
        Ok(item)
    }

    fn item(&self, i: usize) -> Result<Cow<'_, TrackItem>> {
        match &self.cache {
            Some(c) => Ok(Cow::Borrowed(&c[i])),
            None => Ok(Cow::Owned(self.load(i)?)),
        }
    }

    /// The two windows of `item` for a drift `(dy, dx)`: `(seed box, shifted box)`.
    fn boxes(&self, item: &TrackItem, shift: (i64, i64)) -> (CroppingBox, CroppingBox) {
        let b = item.seed_box;
        if self.options.crop {
            (b, b.shifted(shift.0, shift.1))
        } else {
            (b, b)
        }
    }
}

/// Lists the samples of the tracking set at `root`, matched by stem; `wei/` when present and
/// wanted.
fn discover(root: &Path, options: &TrackOptions) -> Result<Vec<TrackFiles>> {
    let want_wei = wants_weights_folder(root, &options.weights)?;
    Ok(matched_samples(root, Kind::Track, want_wei)?
        .iter()
        .map(TrackFiles::from_sample)
        .collect())
}

impl TrackFiles {
    /// The files of a matched tracking sample (roles absent from it, which matching never
    /// leaves out, as empty paths).
    pub(crate) fn from_sample(s: &SampleFiles) -> TrackFiles {
        let file = |role| s.path(role).map(Path::to_path_buf).unwrap_or_default();
        TrackFiles {
            image: file(Role::Img),
            seed: file(Role::Seg),
            previous: file(Role::PrevImg),
            segall: file(Role::SegAll),
            mot_dau: file(Role::MotDau),
            weights: s.path(Role::Wei).map(Path::to_path_buf),
        }
    }
}

impl Dataset for TrackingDataset {
    fn len(&self) -> usize {
        self.files.len()
    }

    fn layout(&self) -> SampleLayout {
        SampleLayout {
            height: self.options.target_size.0,
            width: self.options.target_size.1,
            in_channels: 4,
            out_channels: 2,
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
        if index >= self.files.len() {
            return Err(Error::IndexOutOfRange {
                what: "sample",
                index,
                len: self.files.len(),
                within: "dataset",
            });
        }
        let item = self.item(index)?;
        let full = item.image.shape();
        let shift = if self.options.crop && self.options.shift > 0 {
            let s = i64::from(self.options.shift);
            (rng.random_range(-s..=s), rng.random_range(-s..=s))
        } else {
            (0, 0)
        };
        let (seed_box, cur_box) = self.boxes(&item, shift);
        let image = Image::from_plane_unchecked(crop(&cur_box, item.image.plane()));
        let seed = Mask::from_plane(crop(&seed_box, item.seed.plane()));
        let previous = Image::from_plane_unchecked(crop(&seed_box, item.previous.plane()));
        let segall = Mask::from_plane(crop(&cur_box, item.segall.plane()));
        let mot_dau = Mask::from_plane(crop(&cur_box, item.mot_dau.plane()));
        let weights = match (&item.weights, online_halo(self.weights)) {
            (Some(w), _) => WeightMap::from_plane(crop(&cur_box, w.plane())),
            (None, Some(halo)) => {
                let mut w = tracking_weights(&mot_dau, &segall, halo)?;
                // Zero padding outside the frame, as if computed on the frame and then cropped.
                zero_outside(&mut w, &cur_box, full);
                w
            }
            (None, _) => ones_inside(&cur_box, full),
        };
        drop(item);
        let mut sample = Sample {
            targets: vec![
                Target::Image(image),
                Target::Mask(seed),
                Target::Image(previous),
                Target::Mask(segall),
                Target::Mask(mot_dau),
                Target::Weights(weights),
            ],
        };
        augment(&mut sample, &self.options.augment, rng)?;
        let t = self.options.target_size;
        if sample.targets.len() != 6 {
            return Err(Error::Internal {
                problem: "augmentation changed the number of a sample's rasters".into(),
            });
        }
        // Bring every raster back to the target shape (only when augmentation resized it).
        let planes: Vec<Fitted> = sample
            .targets
            .into_iter()
            .map(|target| match target {
                Target::Image(i) => Fitted::F32(fit_to(i.into_plane(), t, |p| p.into_vec())),
                Target::Mask(m) => Fitted::U8(fit_to(m.into_plane(), t, |p| p.into_vec())),
                Target::Weights(w) => Fitted::F32(fit_to(w.into_plane(), t, |p| p.into_vec())),
            })
            .collect();
        let ch: Vec<Channel<'_>> = planes.iter().map(Fitted::channel).collect();
        interleave(&ch[..4], x);
        interleave(&ch[4..], y);
        Ok(())
    }
}

/// The halo distance of DeLTA's online tracking weights, when `weights` are those.
fn online_halo(weights: Weights) -> Option<f32> {
    match weights {
        Weights::Computed(WeightRecipe::Track { halo_distance }) => Some(halo_distance),
        _ => None,
    }
}
