//! The chamber (ROI) dataset: `img/` + `seg/`, resized to the target, one output channel.

use std::path::Path;

use super::seg::{discover, SegOptions, SegmentationDataset};
use super::storage::{StorageChoice, StorageReport, DEFAULT_PRELOAD_LIMIT};
use super::Dataset;
use super::{Mode, Splits, Weights};
use crate::augment::AugmentParams;
use crate::batch::SampleLayout;
use crate::error::Result;
use crate::io::Rescale;
use crate::random::SampleRng;

/// Options of [`ChamberDataset`]; TOML/JSON keys are the field names.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ChamberOptions {
    /// `(height, width)` of a sample, pixels. Default `(512, 512)` (DeLTA's `target_size_rois`).
    pub target_size: (usize, usize),
    /// Augmentation in training mode (DeLTA's `DATA_AUGMENTATION_ROIS`).
    pub augment: AugmentParams,
    /// Preload or stream. Default [`StorageChoice::Auto`].
    pub storage: StorageChoice,
    /// Limit of [`StorageChoice::Auto`], bytes. Default 1 GiB.
    pub preload_limit_bytes: u64,
    /// How image intensities are brought to `[0, 1]`: see [`SegOptions::rescale`]. Default:
    /// divided by the pixel type's maximum.
    pub rescale: Rescale,
}

impl Default for ChamberOptions {
    fn default() -> Self {
        ChamberOptions {
            target_size: (512, 512),
            augment: AugmentParams::default(),
            storage: StorageChoice::Auto,
            preload_limit_bytes: DEFAULT_PRELOAD_LIMIT,
            rescale: Rescale::DtypeMax,
        }
    }
}

impl ChamberOptions {
    fn seg(&self) -> SegOptions {
        SegOptions {
            target_size: self.target_size,
            crop: false,
            weights: Weights::Ones,
            augment: self.augment.clone(),
            storage: self.storage,
            preload_limit_bytes: self.preload_limit_bytes,
            min_overlap: 24,
            rescale: self.rescale,
            crop_foreground: 0.0,
        }
    }
}

/// The chamber-detection U-Net's dataset (DeLTA's `load_training_dataset_seg(crop=False)` on
/// the ROI set, `stack=False`, no weights): every file resized to the target; `x` = image,
/// `y` = `[label]` (one channel, for plain binary cross-entropy).
#[derive(Debug)]
pub struct ChamberDataset(SegmentationDataset);

impl ChamberDataset {
    /// Opens the ROI set at `root` (`img/`, `seg/`); a `wei/` folder is ignored.
    pub fn open(root: impl AsRef<Path>, options: &ChamberOptions, mode: Mode) -> Result<Self> {
        let seg = options.seg();
        let files = discover(root.as_ref(), &seg)?;
        Ok(ChamberDataset(SegmentationDataset::build(
            files, &seg, mode, None,
        )?))
    }

    /// Opens `root` and splits its files into training, validation and test datasets
    /// ([`super::split_by_file`], seeded with `seed`); validation and test are in evaluation mode.
    pub fn open_split(
        root: impl AsRef<Path>,
        options: &ChamberOptions,
        validation: f64,
        test: f64,
        seed: u64,
    ) -> Result<Splits<Self>> {
        let seg = options.seg();
        let files = discover(root.as_ref(), &seg)?;
        Splits::build(files, validation, test, seed, |f, mode| {
            SegmentationDataset::build(f, &seg, mode, None).map(ChamberDataset)
        })
    }

    /// How the files are kept and why.
    pub fn storage(&self) -> &StorageReport {
        self.0.storage()
    }
}

impl Dataset for ChamberDataset {
    fn len(&self) -> usize {
        self.0.len()
    }
    fn layout(&self) -> SampleLayout {
        self.0.layout()
    }
    fn is_training(&self) -> bool {
        self.0.is_training()
    }
    fn write_sample(
        &self,
        index: usize,
        rng: &mut SampleRng,
        x: &mut [f32],
        y: &mut [f32],
    ) -> Result<()> {
        self.0.write_sample(index, rng, x, y)
    }
}
