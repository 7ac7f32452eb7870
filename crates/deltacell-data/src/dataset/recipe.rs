//! One dataset recipe: what a training configuration asks of the data (sizes, cropping,
//! intensity scaling, weights, augmentation, validation split, batch size), turned into the
//! options of [`SegmentationDataset`], [`TrackingDataset`] and [`ChamberDataset`] and the
//! loaders' options. `deltacell train`, `deltacell batches` and the Python package all open
//! their data through it, so `batches --config` shows exactly what `train --config` feeds.
//!
//! * Weights: a `wei/` folder is used when the set has one; otherwise [`DatasetRecipe::weights`]
//!   computes them when files are loaded (`seg_weights`, `seg_weights_2D`) or per sample
//!   (`tracking_weights`, halo 50 px as DeLTA), and `None` gives all-ones weights. A
//!   segmentation recipe on a tracking set means DeLTA's online tracking weights.
//! * Validation: a separate folder (evaluation mode, no augmentation), or a held-out split of
//!   the files (`validation_split`, by file, seeded; by the files' cells for segmentation
//!   scored by instance F1, [`DatasetRecipe::validation_by_cells`]).

use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::augment::AugmentParams;
use crate::batch::SampleLayout;
use crate::error::{Error, Result};
use crate::io::Rescale;
use crate::random::SampleRng;
use crate::weights::{WeightRecipe, DEFAULT_HALO_DISTANCE};
use crate::Kind;

use super::{
    ChamberDataset, ChamberOptions, Dataset, LoaderOptions, Mode, OpenDataset, SegFiles,
    SegOptions, SegmentationDataset, StorageReport, TrackOptions, TrackingDataset, Weights,
};

/// What a training configuration asks of the data of one model.
#[derive(Clone, Debug, PartialEq)]
pub struct DatasetRecipe {
    /// Sample size `(rows, cols)` in pixels.
    pub target_size: (usize, usize),
    /// Random target-size windows of the files (2-D) instead of whole files resized (mother
    /// machine).
    pub crop: bool,
    /// How image intensities are brought to `[0, 1]`.
    pub rescale: Rescale,
    /// Weights computed when the set has no `wei/` folder; `None`: all ones.
    pub weights: Option<WeightRecipe>,
    /// Tracking: maximum random shift of the previous frame, pixels (DeLTA's `shift`).
    pub shift: u32,
    /// Segmentation: fraction `[0, 1]` of training crops centred on a cell.
    pub crop_foreground: f64,
    /// Augmentation of the training samples (none for validation).
    pub augmentation: AugmentParams,
    /// Fraction `[0, 1)` of the files held out for validation when there is no validation
    /// folder (of their cells with [`DatasetRecipe::validation_by_cells`]).
    pub validation_split: f64,
    /// Segmentation: hold out files by the cells they hold ([`super::split_by_cells`]), for
    /// validation scored by instance F1, instead of by their number (DeLTA's split).
    pub validation_by_cells: bool,
    /// Samples per batch, at least 1.
    pub batch_size: usize,
    /// Training batches per epoch, at least 1.
    pub steps_per_epoch: usize,
    /// Segmentation: a second set (`img/`, `seg/`, `wei/` like the first) whose files are
    /// added to the training items, never to the validation (rehearsal: the synthetic colonies
    /// a pretrained model learned from, mixed into its fine-tuning). `None`: none.
    pub extra_training: Option<PathBuf>,
}

impl Default for DatasetRecipe {
    /// A 256×32 mother-machine segmentation recipe without augmentation or weights, batches of
    /// 1, 100 steps per epoch, nothing held out.
    fn default() -> Self {
        DatasetRecipe {
            target_size: (256, 32),
            crop: false,
            rescale: Rescale::default(),
            weights: None,
            shift: 0,
            crop_foreground: 0.0,
            augmentation: AugmentParams::default(),
            validation_split: 0.0,
            validation_by_cells: false,
            batch_size: 1,
            steps_per_epoch: 100,
            extra_training: None,
        }
    }
}

/// The training set, the validation set and what the training set's storage decided.
pub struct OpenedSets {
    /// The training set (training mode: crops, augmentation).
    pub train: Arc<dyn Dataset>,
    /// The validation set (evaluation mode), when there is one.
    pub validation: Option<Arc<dyn Dataset>>,
    /// How the training files are kept (preloaded or streamed) and why.
    pub storage: StorageReport,
    /// The validation set's segmentation files (for scoring whole images); empty for other
    /// kinds.
    pub validation_files: Vec<SegFiles>,
}

impl std::fmt::Debug for OpenedSets {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OpenedSets")
            .field("train", &self.train.len())
            .field("validation", &self.validation.as_ref().map(|v| v.len()))
            .finish()
    }
}

impl DatasetRecipe {
    /// Where the weights of the set at `root` come from.
    fn weights_for(&self, root: &Path, kind: Kind) -> Weights {
        if root.join("wei").is_dir() {
            return Weights::Folder;
        }
        match (kind, self.weights) {
            (_, None) => Weights::Ones,
            (Kind::Track, Some(r @ WeightRecipe::Track { .. })) => Weights::Computed(r),
            // A segmentation recipe on a tracking set: DeLTA's online tracking weights.
            (Kind::Track, Some(_)) => Weights::Computed(WeightRecipe::Track {
                halo_distance: DEFAULT_HALO_DISTANCE,
            }),
            (_, Some(WeightRecipe::Track { .. })) => Weights::Ones,
            (_, Some(r)) => Weights::Computed(r),
        }
    }

    fn augmentation(&self, augment: bool) -> AugmentParams {
        if augment {
            self.augmentation.clone()
        } else {
            AugmentParams::default()
        }
    }

    /// Segmentation options for the set at `root` (`augment` false for validation: no
    /// augmentation, no crops centred on cells).
    ///
    /// ```
    /// use deltacell_data::dataset::{DatasetRecipe, Weights};
    /// let recipe = DatasetRecipe { target_size: (64, 64), crop: true, ..DatasetRecipe::default() };
    /// let o = recipe.seg_options("/no/such/set".as_ref(), true);
    /// assert_eq!((o.target_size, o.crop, o.weights), ((64, 64), true, Weights::Ones));
    /// ```
    pub fn seg_options(&self, root: &Path, augment: bool) -> SegOptions {
        SegOptions {
            target_size: self.target_size,
            crop: self.crop,
            rescale: self.rescale,
            weights: self.weights_for(root, Kind::Seg),
            augment: self.augmentation(augment),
            crop_foreground: if augment { self.crop_foreground } else { 0.0 },
            ..SegOptions::default()
        }
    }

    /// Tracking options for the set at `root` (`augment` false for validation: no
    /// augmentation and no random shift).
    ///
    /// ```
    /// use deltacell_data::dataset::DatasetRecipe;
    /// let recipe = DatasetRecipe { shift: 5, ..DatasetRecipe::default() };
    /// assert_eq!(recipe.track_options("/no/such/set".as_ref(), true).shift, 5);
    /// assert_eq!(recipe.track_options("/no/such/set".as_ref(), false).shift, 0);
    /// ```
    pub fn track_options(&self, root: &Path, augment: bool) -> TrackOptions {
        TrackOptions {
            target_size: self.target_size,
            crop: self.crop,
            rescale: self.rescale,
            shift: if augment { self.shift } else { 0 },
            weights: self.weights_for(root, Kind::Track),
            augment: self.augmentation(augment),
            ..TrackOptions::default()
        }
    }

    /// Chamber options (`augment` false for validation).
    ///
    /// ```
    /// use deltacell_data::dataset::DatasetRecipe;
    /// let recipe = DatasetRecipe { target_size: (512, 512), ..DatasetRecipe::default() };
    /// assert_eq!(recipe.rois_options(false).target_size, (512, 512));
    /// ```
    pub fn rois_options(&self, augment: bool) -> ChamberOptions {
        ChamberOptions {
            target_size: self.target_size,
            rescale: self.rescale,
            augment: self.augmentation(augment),
            ..ChamberOptions::default()
        }
    }

    /// The training loader's options: shuffled, `steps_per_epoch` batches per epoch.
    ///
    /// ```
    /// use deltacell_data::dataset::DatasetRecipe;
    /// let o = DatasetRecipe { batch_size: 4, ..DatasetRecipe::default() }.training_loader(7);
    /// assert_eq!((o.batch_size, o.seed, o.steps_per_epoch), (4, 7, Some(100)));
    /// ```
    pub fn training_loader(&self, seed: u64) -> LoaderOptions {
        LoaderOptions {
            batch_size: self.batch_size,
            seed,
            steps_per_epoch: Some(self.steps_per_epoch),
            workers: 2,
            prefetch: 4,
            shuffle: Some(true),
        }
    }

    /// The validation loader's options: in order, one pass per epoch, no worker threads.
    pub fn validation_loader(&self, seed: u64) -> LoaderOptions {
        LoaderOptions {
            batch_size: self.batch_size,
            seed,
            steps_per_epoch: None,
            workers: 0,
            prefetch: 1,
            shuffle: Some(false),
        }
    }

    /// Opens the training set of `kind` at `root` and its validation set: the folder `val_dir`,
    /// or else the held-out `validation_split` of `root`'s files (by file, from `seed`).
    pub fn open(
        &self,
        kind: Kind,
        root: &Path,
        val_dir: Option<&Path>,
        seed: u64,
    ) -> Result<OpenedSets> {
        let mut sets = self.open_sets(kind, root, val_dir, seed)?;
        if let (Kind::Seg, Some(extra)) = (kind, &self.extra_training) {
            let more =
                SegmentationDataset::open(extra, &self.seg_options(extra, true), Mode::Training)?;
            if more.layout() != sets.train.layout() {
                return Err(Error::Config {
                    source_name: extra.display().to_string(),
                    message: format!(
                        "its samples ({:?}) differ from the training set's ({:?})",
                        more.layout(),
                        sets.train.layout()
                    ),
                });
            }
            sets.train = Arc::new(Joined {
                parts: vec![sets.train, Arc::new(more)],
            });
        }
        Ok(sets)
    }

    fn open_sets(
        &self,
        kind: Kind,
        root: &Path,
        val_dir: Option<&Path>,
        seed: u64,
    ) -> Result<OpenedSets> {
        let split = if val_dir.is_some() {
            0.0
        } else {
            self.validation_split
        };
        fn open<D: OpenDataset + 'static>(
            root: &Path,
            train: D::Options,
            val_dir: Option<(&Path, D::Options)>,
            split: f64,
            seed: u64,
            seg_files: impl Fn(&D) -> Vec<SegFiles>,
        ) -> Result<OpenedSets> {
            let splits = D::open_set_split(root, &train, split, 0.0, seed)?;
            let storage = splits.train.storage_report().clone();
            let val = match val_dir {
                Some((v, options)) => Some(D::open_set(v, &options, Mode::Evaluation)?),
                None => splits.validation,
            };
            let validation_files = val.as_ref().map(&seg_files).unwrap_or_default();
            Ok(OpenedSets {
                train: Arc::new(splits.train),
                validation: val.map(|d| Arc::new(d) as Arc<dyn Dataset>),
                storage,
                validation_files,
            })
        }
        match kind {
            Kind::Seg if self.validation_by_cells && val_dir.is_none() && split > 0.0 => {
                let options = self.seg_options(root, true);
                let splits = SegmentationDataset::open_split_by_cells(root, &options, split, seed)?;
                let storage = splits.train.storage_report().clone();
                let validation_files = splits
                    .validation
                    .as_ref()
                    .map(|d| d.files().to_vec())
                    .unwrap_or_default();
                Ok(OpenedSets {
                    train: Arc::new(splits.train),
                    validation: splits.validation.map(|d| Arc::new(d) as Arc<dyn Dataset>),
                    storage,
                    validation_files,
                })
            }
            Kind::Seg => open::<SegmentationDataset>(
                root,
                self.seg_options(root, true),
                val_dir.map(|v| (v, self.seg_options(v, false))),
                split,
                seed,
                |d: &SegmentationDataset| d.files().to_vec(),
            ),
            Kind::Rois => open::<ChamberDataset>(
                root,
                self.rois_options(true),
                val_dir.map(|v| (v, self.rois_options(false))),
                split,
                seed,
                |_| Vec::new(),
            ),
            Kind::Track => open::<TrackingDataset>(
                root,
                self.track_options(root, true),
                val_dir.map(|v| (v, self.track_options(v, false))),
                split,
                seed,
                |_| Vec::new(),
            ),
        }
    }
}

/// Training sets one after the other: item `i` of the joined set is item `i` of the first
/// part, then of the second, and so on (the loader shuffles them together).
struct Joined {
    parts: Vec<Arc<dyn Dataset>>,
}

impl Dataset for Joined {
    fn len(&self) -> usize {
        self.parts.iter().map(|p| p.len()).sum()
    }

    fn layout(&self) -> SampleLayout {
        self.parts[0].layout()
    }

    fn is_training(&self) -> bool {
        true
    }

    fn write_sample(
        &self,
        index: usize,
        rng: &mut SampleRng,
        x: &mut [f32],
        y: &mut [f32],
    ) -> Result<()> {
        let mut index_in_part = index;
        for part in &self.parts {
            if index_in_part < part.len() {
                return part.write_sample(index_in_part, rng, x, y);
            }
            index_in_part -= part.len();
        }
        Err(Error::IndexOutOfRange {
            what: "sample",
            index,
            len: self.len(),
            within: "joined training sets",
        })
    }
}
