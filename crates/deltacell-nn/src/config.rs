//! Training configuration: TOML with DeLTA's keys, and the two built-in presets `mothermachine`
//! and `2D` (spec §4).
//!
//! A config file is laid over its preset (the file's `preset` key, or the one given on the
//! command line): keys it leaves out keep the preset's values, and an `augmentation` table given
//! in the file replaces the preset's table for that model as a whole. Unknown keys are errors.
//!
//! ```toml
//! preset = "2D"
//! [models.seg]
//! target_size = [512, 512]
//! epochs = 600
//! [models.seg.augmentation]
//! rotation = 2
//! ```
//!
//! The presets combine DeLTA's configuration defaults (target sizes, pipeline keys; §4.1–4.2)
//! with the recipes of its stand-alone training scripts, which produced the released models
//! (batch sizes, epochs, steps per epoch, patience, augmentation; §4.4). Deliberate difference:
//! the segmentation augmentation spells `gaussian_noise` correctly (DeLTA's newest CLI misspells
//! it `gaussion_noise`, so noise is silently never applied there).
//!
//! `augmentation` tables are the data crate's [`AugmentParams`] (DeLTA's key names: `rotation`,
//! `shiftX`, `shiftY`, `zoom`, `horizontal_flip`, `vertical_flip`, `rotations_90d`,
//! `histogram_voodoo`, `illumination_voodoo`, `gaussian_noise`, `gaussian_blur`,
//! `elastic_deformation`, `resize`), checked with its rules; the presets use its
//! [`AugmentParams::seg_training`], [`AugmentParams::track_training`] and
//! [`AugmentParams::rois_training`]. [`Config::dataset_recipe`] gives a model's data options
//! as the data crate's [`DatasetRecipe`].

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use deltacell_data::augment::AugmentParams;
use deltacell_data::dataset::DatasetRecipe;
use deltacell_data::io::Rescale;
use deltacell_data::weights::{SegWeightParams, WeightRecipe, DEFAULT_HALO_DISTANCE};

use crate::error::{Error, Result};
use crate::unet::{Kind, UnetSpec};

/// The built-in presets.
pub const PRESETS: [&str; 3] = ["mothermachine", "2D", "2D-cpu"];

fn is_zero(n: &usize) -> bool {
    *n == 0
}

/// The `weights` key of a model table: DeLTA's function name (`seg_weights`, `seg_weights_2D`,
/// `tracking_weights`) with its default parameters, or `none` (plain labels, the chamber model).
mod weights_name {
    use deltacell_data::weights::WeightRecipe;
    use serde::{Deserialize, Deserializer, Serializer};

    /// The TOML spelling of a model's weights.
    pub fn name(w: &Option<WeightRecipe>) -> &'static str {
        w.as_ref().map_or("none", WeightRecipe::delta_name)
    }

    pub fn serialize<S: Serializer>(w: &Option<WeightRecipe>, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(name(w))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<WeightRecipe>, D::Error> {
        let text = String::deserialize(d)?;
        match text.as_str() {
            "none" => Ok(None),
            "seg_weights" | "seg_weights_2D" | "tracking_weights" => {
                text.parse().map(Some).map_err(serde::de::Error::custom)
            }
            other => Err(serde::de::Error::custom(format!(
                "unknown weights {other:?}: expected seg_weights, seg_weights_2D, \
                 tracking_weights or none"
            ))),
        }
    }
}

/// What picks the best model and drives early stopping (`monitor`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Monitor {
    /// The validation loss when there is validation data, else the training loss (DeLTA's
    /// `ModelCheckpoint`/`EarlyStopping` on `loss`). The default.
    #[default]
    Loss,
    /// Segmentation only: instance F1 at IoU 0.5 of the whole validation images, predicted and
    /// post-processed as `predict seg` does (the highest wins; [`crate::score`]). Needs
    /// validation images (`--val DIR`, or a `validation_split` that holds out at least one file).
    ValF1,
}

impl Monitor {
    /// The TOML spelling.
    pub fn name(self) -> &'static str {
        match self {
            Monitor::Loss => "loss",
            Monitor::ValF1 => "val_f1",
        }
    }
}

/// Training settings of one model (`[models.seg]`, `[models.track]`, `[models.rois]`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ModelConfig {
    /// Network input `[height, width]` in pixels (DeLTA `target_size_*`); multiples of
    /// 2^(levels−1).
    pub target_size: [usize; 2],
    /// Samples per training step (DeLTA scripts: seg 1, track 2, rois 1).
    pub batch_size: usize,
    /// Number of epochs (DeLTA scripts: seg 600, track 500, rois 100).
    pub epochs: usize,
    /// Training steps per epoch (DeLTA scripts: 300; rois 250).
    pub steps_per_epoch: usize,
    /// Early-stopping patience in epochs; 0 disables it (DeLTA: 50; rois 15).
    pub patience: usize,
    /// Adam learning rate (DeLTA: 1e-4 seg/rois, 1e-5 track).
    pub learning_rate: f64,
    /// Fraction of the training set held out for validation, in [0, 1) (DeLTA CLI `--vsplit`,
    /// 0.05): of its files, or of its cells for a segmentation model with
    /// `monitor = "val_f1"` (whole files held out until their cells reach the fraction).
    pub validation_split: f64,
    /// U-Net levels (DeLTA: 5); ignored when `filters` is given.
    pub levels: usize,
    /// Explicit filters per level (overrides `levels`), e.g. `[8, 16]`; absent = 64·2^l.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub filters: Option<Vec<usize>>,
    /// The model a new run starts from instead of random weights: a run folder or a built-in
    /// model (`"builtin:colony-2d"`, [`crate::builtin`]); its architecture replaces `levels` and
    /// `filters`. `"none"` (or absent): random weights. `train --init-from` overrides it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub init_from: Option<String>,
    /// Segmentation fine-tuned from a built-in model (`init_from = "builtin:NAME"`): how many
    /// of the synthetic images that model was trained on join the training images (never the
    /// validation), so that fine-tuning keeps what the model learned while it learns the lab's
    /// images (rehearsal; [`crate::builtin::Builtin::write_training_images`]). 0 (absent):
    /// none; at most 1 000. Only a built-in start has such images: with `init_from = "none"`
    /// or a run folder it has no effect (so that `init_from = "none"` over the `2D-cpu`
    /// preset trains from random weights as asked).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub rehearsal: usize,
    /// How the pixel weights of the loss are made when the set has no `wei/` folder: one of
    /// DeLTA's functions with its default parameters, or `None` (TOML `"none"`: plain labels).
    #[serde(with = "weights_name")]
    pub weights: Option<WeightRecipe>,
    /// Tracking only: maximal random shift of the crop box in pixels (DeLTA `shift`, 5).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shift: Option<usize>,
    /// Segmentation with `crop_windows`: fraction of training crops, in [0, 1], centred on a cell
    /// pixel instead of placed uniformly (0, the default, is DeLTA's uniform crops; sparse
    /// colonies: 0.5).
    #[serde(default)]
    pub crop_foreground: f64,
    /// What picks the best model and drives early stopping (default `"loss"`).
    #[serde(default)]
    pub monitor: Monitor,
    /// Pipeline: minimal object area in pixels (DeLTA `min_area`: rois 500, seg 20, track 0).
    pub min_area: usize,
    /// Pipeline: largest accepted resizing factor (DeLTA `tolerable_resizing_factor`).
    pub tolerable_resizing_factor: f64,
    /// Pipeline: frames processed per chunk (DeLTA `chunk_size`).
    pub chunk_size: usize,
    /// Augmentation with DeLTA's keys (absent keys are off).
    #[serde(default)]
    pub augmentation: AugmentParams,
}

impl ModelConfig {
    /// The network architecture this configuration asks for.
    pub fn unet_spec(&self, kind: Kind) -> UnetSpec {
        match &self.filters {
            Some(f) => UnetSpec::with_filters(kind, f.clone()),
            None => UnetSpec::with_levels(kind, self.levels),
        }
    }

    fn validate(&self, kind: Kind, path: &Path) -> Result<()> {
        let err = |m: String| Error::Config {
            path: path.to_path_buf(),
            message: format!("models.{kind}: {m}"),
        };
        let spec = self.unet_spec(kind);
        spec.validate().map_err(|e| err(e.to_string()))?;
        spec.check_input_size(self.target_size[0], self.target_size[1])
            .map_err(|e| err(format!("target_size = {:?}: {e}", self.target_size)))?;
        for (key, v) in [
            ("batch_size", self.batch_size),
            ("steps_per_epoch", self.steps_per_epoch),
            ("epochs", self.epochs),
            ("chunk_size", self.chunk_size),
        ] {
            if v == 0 {
                return Err(err(format!("{key} = 0: it must be at least 1")));
            }
        }
        if !(self.learning_rate > 0.0 && self.learning_rate.is_finite()) {
            return Err(err(format!(
                "learning_rate = {}: it must be a finite number > 0 (DeLTA: 1e-4)",
                self.learning_rate
            )));
        }
        if !(0.0..1.0).contains(&self.validation_split) {
            return Err(err(format!(
                "validation_split = {}: it must be in [0, 1)",
                self.validation_split
            )));
        }
        if !(0.0..=1.0).contains(&self.crop_foreground) {
            return Err(err(format!(
                "crop_foreground = {}: it must be a fraction in [0, 1]",
                self.crop_foreground
            )));
        }
        if self.rehearsal > 0 && kind != Kind::Seg {
            return Err(err(format!(
                "rehearsal = {}: synthetic colonies are rehearsed by segmentation models only \
                 (use 0)",
                self.rehearsal
            )));
        }
        if self.rehearsal > crate::builtin::MAX_TRAINING_IMAGES {
            return Err(err(format!(
                "rehearsal = {}: at most {} images",
                self.rehearsal,
                crate::builtin::MAX_TRAINING_IMAGES
            )));
        }
        if self.monitor == Monitor::ValF1 && kind != Kind::Seg {
            return Err(err(
                "monitor = \"val_f1\": instance F1 is scored for segmentation models only \
                 (use \"loss\")"
                    .into(),
            ));
        }
        if !(self.tolerable_resizing_factor.is_finite() && self.tolerable_resizing_factor >= 1.0) {
            return Err(err(format!(
                "tolerable_resizing_factor = {}: it must be a finite number >= 1",
                self.tolerable_resizing_factor
            )));
        }
        // Checked here, with the data crate's rules, so that a bad value is refused by
        // `config show` as well as by `train`.
        self.augmentation.validate().map_err(|e| match e {
            deltacell_data::Error::Config { message, .. } => {
                err(format!("augmentation: {message}"))
            }
            other => err(format!("augmentation: {other}")),
        })?;
        Ok(())
    }
}

/// The three model tables; absent ones are not trained by the preset's pipeline.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Models {
    /// Chamber (ROI) model, mother machine only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rois: Option<ModelConfig>,
    /// Segmentation model.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seg: Option<ModelConfig>,
    /// Tracking model.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub track: Option<ModelConfig>,
}

/// A full configuration.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// The preset it derives from: `mothermachine` or `2D` (DeLTA `presets`).
    pub preset: String,
    /// Crop training images into `target_size` windows (2D) instead of resizing them (mother
    /// machine) (DeLTA `crop_windows`).
    pub crop_windows: bool,
    /// How image intensities are brought to `[0, 1]` for training and prediction: `"min_max"`
    /// (every preset's default: each image stretched from its minimum to its maximum, what
    /// DeLTA 3's pipeline — and `deltacell run` — feeds its models, and DeLTA 2.0.7's training;
    /// a 16-bit movie that uses a narrow part of the range trains as well as an 8-bit one) or
    /// `"dtype_max"` (divided by the pixel type's maximum, as DeLTA 3's training reads files).
    /// Recorded in `model.toml` for prediction.
    #[serde(default)]
    pub rescale: Rescale,
    /// Pipeline: deskew chambers (DeLTA `correct_rotation`).
    pub correct_rotation: bool,
    /// Pipeline: drift correction (DeLTA `correct_drift`).
    pub correct_drift: bool,
    /// Pipeline: use the whole frame as drift template (DeLTA `whole_frame_drift`).
    pub whole_frame_drift: bool,
    /// Per-model settings.
    pub models: Models,
}

fn recipe_seg(target: [usize; 2], weights: WeightRecipe) -> ModelConfig {
    ModelConfig {
        target_size: target,
        batch_size: 1,
        epochs: 600,
        steps_per_epoch: 300,
        patience: 50,
        learning_rate: 1e-4,
        validation_split: 0.05,
        levels: 5,
        filters: None,
        init_from: None,
        rehearsal: 0,
        weights: Some(weights),
        shift: None,
        crop_foreground: 0.0,
        monitor: Monitor::Loss,
        min_area: 20,
        tolerable_resizing_factor: 1.0,
        chunk_size: 64,
        augmentation: AugmentParams::seg_training(),
    }
}

/// The 2-D segmentation recipe sized for a CPU (`2D-cpu`, [docs/real-colonies.md]): fine-tuning
/// of the built-in compact colony model (`init_from = "builtin:colony-2d"`, filters 16…256,
/// [`crate::builtin`]) on 256² crops in batches of 2, half of them centred on cells, Adam 3e-4,
/// DeLTA's 2.0.x augmentation with rotations by 90°, the best model kept by instance F1 on
/// whole validation images (a fifth of the cells held out, or `--val`), 16 epochs of 50 steps
/// with a patience of 6 epochs; 5 of the built-in model's synthetic colonies join the training
/// images (`rehearsal`).
fn recipe_seg_cpu(mut m: ModelConfig) -> ModelConfig {
    m.init_from = Some(format!("{}colony-2d", crate::builtin::PREFIX));
    m.rehearsal = 5;
    m.filters = Some(vec![16, 32, 64, 128, 256]);
    m.target_size = [256, 256];
    m.batch_size = 2;
    m.epochs = 16;
    m.steps_per_epoch = 50;
    m.patience = 6;
    m.learning_rate = 3e-4;
    m.validation_split = 0.2;
    m.crop_foreground = 0.5;
    m.monitor = Monitor::ValF1;
    m.augmentation.rotations_90d = true;
    m
}

fn recipe_track(target: [usize; 2]) -> ModelConfig {
    ModelConfig {
        target_size: target,
        batch_size: 2,
        epochs: 500,
        steps_per_epoch: 300,
        patience: 50,
        learning_rate: 1e-5,
        validation_split: 0.05,
        levels: 5,
        filters: None,
        init_from: None,
        rehearsal: 0,
        weights: Some(WeightRecipe::Track {
            halo_distance: DEFAULT_HALO_DISTANCE,
        }),
        shift: Some(5),
        crop_foreground: 0.0,
        monitor: Monitor::Loss,
        min_area: 0,
        tolerable_resizing_factor: 1.0,
        chunk_size: 64,
        augmentation: AugmentParams::track_training(),
    }
}

fn recipe_rois() -> ModelConfig {
    ModelConfig {
        target_size: [512, 512],
        batch_size: 1,
        epochs: 100,
        steps_per_epoch: 250,
        patience: 15,
        learning_rate: 1e-4,
        validation_split: 0.05,
        levels: 5,
        filters: None,
        init_from: None,
        rehearsal: 0,
        weights: None,
        shift: None,
        crop_foreground: 0.0,
        monitor: Monitor::Loss,
        min_area: 500,
        tolerable_resizing_factor: 4.0,
        chunk_size: 1,
        augmentation: AugmentParams::rois_training(),
    }
}

impl Config {
    /// A built-in preset: `mothermachine`, `2D` or `2D-cpu` (case-insensitive).
    ///
    /// ```
    /// use deltacell_nn::{config::Config, Kind};
    /// let mm = Config::preset("mothermachine")?;
    /// assert_eq!(mm.model(Kind::Seg)?.target_size, [256, 32]);
    /// assert!(Config::preset("3D").is_err());
    /// # Ok::<(), deltacell_nn::Error>(())
    /// ```
    pub fn preset(name: &str) -> Result<Self> {
        match name.to_ascii_lowercase().as_str() {
            "mothermachine" | "mm" => Ok(Config {
                preset: "mothermachine".into(),
                crop_windows: false,
                rescale: Rescale::MinMax,
                correct_rotation: true,
                correct_drift: true,
                whole_frame_drift: false,
                models: Models {
                    rois: Some(recipe_rois()),
                    seg: Some(recipe_seg(
                        [256, 32],
                        WeightRecipe::Seg(SegWeightParams::default()),
                    )),
                    track: Some(recipe_track([256, 32])),
                },
            }),
            "2d" => Ok(Config {
                preset: "2D".into(),
                crop_windows: true,
                rescale: Rescale::MinMax,
                correct_rotation: false,
                correct_drift: false,
                whole_frame_drift: false,
                models: Models {
                    rois: None,
                    seg: Some(recipe_seg(
                        [512, 512],
                        WeightRecipe::Seg2d {
                            classweights: (1.0, 1.0),
                        },
                    )),
                    track: Some(recipe_track([256, 256])),
                },
            }),
            "2d-cpu" => {
                let mut c = Self::preset("2D")?;
                c.preset = "2D-cpu".into();
                if let Some(seg) = c.models.seg.as_mut() {
                    *seg = recipe_seg_cpu(seg.clone());
                }
                Ok(c)
            }
            _ => Err(Error::Config {
                path: PathBuf::from("<preset>"),
                message: format!("unknown preset {name:?} (expected mothermachine, 2D or 2D-cpu)"),
            }),
        }
    }

    /// Parses TOML `text` (from `path`, for messages) laid over `base_preset`, or over the
    /// preset the text names in its `preset` key.
    ///
    /// ```
    /// use deltacell_nn::{config::Config, Kind};
    /// let text = "[models.seg]\nepochs = 3\n";
    /// let c = Config::from_toml(text, "a.toml".as_ref(), Some("2D"))?;
    /// assert_eq!((c.model(Kind::Seg)?.epochs, c.model(Kind::Seg)?.batch_size), (3, 1));
    /// let bad = Config::from_toml("[models.seg]\nepochz = 3\n", "b.toml".as_ref(), Some("2D"));
    /// assert!(bad.unwrap_err().to_string().contains("b.toml"));
    /// # Ok::<(), deltacell_nn::Error>(())
    /// ```
    pub fn from_toml(text: &str, path: &Path, base_preset: Option<&str>) -> Result<Self> {
        let err = |m: String| Error::Config {
            path: path.to_path_buf(),
            message: m,
        };
        let overlay: toml::Table = toml::from_str(text).map_err(|e| err(e.to_string()))?;
        let preset = match (overlay.get("preset"), base_preset) {
            (Some(toml::Value::String(p)), _) => p.clone(),
            (Some(_), _) => return Err(err("`preset` must be a string".into())),
            (None, Some(p)) => p.to_string(),
            (None, None) => {
                return Err(err(
                    "no `preset` key (mothermachine, 2D or 2D-cpu) and no preset given".into(),
                ));
            }
        };
        let base = Self::preset(&preset).map_err(|e| err(e.to_string()))?;
        let mut table = toml::Table::try_from(&base).map_err(|e| err(e.to_string()))?;
        merge(&mut table, overlay, 0);
        let config: Config = toml::Value::Table(table)
            .try_into()
            .map_err(|e: toml::de::Error| err(e.to_string()))?;
        config.validate(path)?;
        Ok(config)
    }

    /// Reads a config file laid over `base_preset` (see [`Config::from_toml`]).
    pub fn load(path: &Path, base_preset: Option<&str>) -> Result<Self> {
        let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
        Self::from_toml(&text, path, base_preset)
    }

    /// Checks every model table (sizes fit the architecture, positive counts, …).
    pub fn validate(&self, path: &Path) -> Result<()> {
        for (kind, m) in self.iter_models() {
            m.validate(kind, path)?;
        }
        Ok(())
    }

    /// The configured models with their kinds.
    pub fn iter_models(&self) -> impl Iterator<Item = (Kind, &ModelConfig)> {
        [
            (Kind::Rois, self.models.rois.as_ref()),
            (Kind::Seg, self.models.seg.as_ref()),
            (Kind::Track, self.models.track.as_ref()),
        ]
        .into_iter()
        .filter_map(|(k, m)| m.map(|m| (k, m)))
    }

    /// What model `kind` asks of its data: sizes, `crop_windows`, `rescale`, weights, shift,
    /// crops centred on cells, augmentation, validation split, batch size and steps per epoch.
    ///
    /// ```
    /// use deltacell_nn::{config::Config, Kind};
    /// let recipe = Config::preset("2D")?.dataset_recipe(Kind::Seg)?;
    /// assert_eq!((recipe.target_size, recipe.crop), ((512, 512), true));
    /// assert_eq!(recipe.augmentation.zoom, 0.15);
    /// # Ok::<(), deltacell_nn::Error>(())
    /// ```
    pub fn dataset_recipe(&self, kind: Kind) -> Result<DatasetRecipe> {
        let m = self.model(kind)?;
        Ok(DatasetRecipe {
            target_size: (m.target_size[0], m.target_size[1]),
            crop: self.crop_windows,
            rescale: self.rescale,
            weights: m.weights,
            shift: m.shift.unwrap_or(0) as u32,
            crop_foreground: m.crop_foreground,
            augmentation: m.augmentation.clone(),
            validation_split: m.validation_split,
            validation_by_cells: kind == Kind::Seg && m.monitor == Monitor::ValF1,
            batch_size: m.batch_size,
            steps_per_epoch: m.steps_per_epoch,
            // The rehearsal images are written when the data are opened (data::TrainingData).
            extra_training: None,
        })
    }

    /// The settings of model `kind`, or an error if the preset has none (rois on 2D).
    pub fn model(&self, kind: Kind) -> Result<&ModelConfig> {
        let m = match kind {
            Kind::Rois => self.models.rois.as_ref(),
            Kind::Seg => self.models.seg.as_ref(),
            Kind::Track => self.models.track.as_ref(),
        };
        m.ok_or_else(|| Error::Config {
            path: PathBuf::from("<config>"),
            message: format!(
                "the {} configuration has no [models.{kind}] table",
                self.preset
            ),
        })
    }

    /// Mutable access to the settings of model `kind`.
    pub fn model_mut(&mut self, kind: Kind) -> Result<&mut ModelConfig> {
        let preset = self.preset.clone();
        let m = match kind {
            Kind::Rois => self.models.rois.as_mut(),
            Kind::Seg => self.models.seg.as_mut(),
            Kind::Track => self.models.track.as_mut(),
        };
        m.ok_or_else(|| Error::Config {
            path: PathBuf::from("<config>"),
            message: format!("the {preset} configuration has no [models.{kind}] table"),
        })
    }

    /// The configuration as TOML with a comment on every key (`deltacell config show`); it
    /// reads back as the same configuration.
    ///
    /// ```
    /// use deltacell_nn::config::Config;
    /// let c = Config::preset("2D")?;
    /// let back = Config::from_toml(&c.to_commented_toml(), "shown.toml".as_ref(), None)?;
    /// assert_eq!(back, c);
    /// # Ok::<(), deltacell_nn::Error>(())
    /// ```
    pub fn to_commented_toml(&self) -> String {
        let mut s = String::new();
        let _ = writeln!(
            s,
            "# deltacell training configuration (DeLTA keys), preset {:?}.\n\
             # Keys left out of a file keep the preset's value; unknown keys are errors.\n",
            self.preset
        );
        kv(
            &mut s,
            "Preset this file is laid over: \"mothermachine\", \"2D\" or \"2D-cpu\"",
            "preset",
            &toml::Value::from(self.preset.clone()),
        );
        kv(&mut s, "Crop images into target-size windows (true, 2D) or resize them (false, mother machine)", "crop_windows", &toml::Value::from(self.crop_windows));
        kv(
            &mut s,
            "Image intensities to [0, 1]: \"dtype_max\" (divide by 255/65535) or \"min_max\" (stretch each image, DeLTA 2.0.7)",
            "rescale",
            &toml::Value::from(match self.rescale {
                Rescale::DtypeMax => "dtype_max",
                Rescale::MinMax => "min_max",
            }),
        );
        kv(
            &mut s,
            "Pipeline: deskew chambers",
            "correct_rotation",
            &toml::Value::from(self.correct_rotation),
        );
        kv(
            &mut s,
            "Pipeline: drift correction",
            "correct_drift",
            &toml::Value::from(self.correct_drift),
        );
        kv(
            &mut s,
            "Pipeline: whole frame as drift template",
            "whole_frame_drift",
            &toml::Value::from(self.whole_frame_drift),
        );
        for (kind, m) in self.iter_models() {
            let _ = writeln!(s, "\n[models.{kind}]");
            let size = toml::Value::Array(
                m.target_size
                    .iter()
                    .map(|&v| toml::Value::from(v as i64))
                    .collect(),
            );
            kv(
                &mut s,
                "Network input [height, width] in pixels (multiples of 2^(levels-1))",
                "target_size",
                &size,
            );
            kv(
                &mut s,
                "Samples per training step",
                "batch_size",
                &toml::Value::from(m.batch_size as i64),
            );
            kv(
                &mut s,
                "Epochs",
                "epochs",
                &toml::Value::from(m.epochs as i64),
            );
            kv(
                &mut s,
                "Training steps per epoch",
                "steps_per_epoch",
                &toml::Value::from(m.steps_per_epoch as i64),
            );
            kv(
                &mut s,
                "Early stopping: epochs without improvement before stopping (0 = never)",
                "patience",
                &toml::Value::from(m.patience as i64),
            );
            kv(
                &mut s,
                "Adam learning rate (beta1 0.9, beta2 0.999, epsilon 1e-7)",
                "learning_rate",
                &toml::Value::from(m.learning_rate),
            );
            kv(
                &mut s,
                "Fraction of the training set held out for validation, in [0, 1) (of its cells with monitor = \"val_f1\")",
                "validation_split",
                &toml::Value::from(m.validation_split),
            );
            kv(
                &mut s,
                "U-Net levels (filters 64*2^l); ignored when `filters` is set",
                "levels",
                &toml::Value::from(m.levels as i64),
            );
            match &m.filters {
                Some(f) => kv(
                    &mut s,
                    "Explicit filters per level",
                    "filters",
                    &toml::Value::Array(f.iter().map(|&v| toml::Value::from(v as i64)).collect()),
                ),
                None => {
                    let _ = writeln!(s, "# Explicit filters per level, e.g. [8, 16, 32] for a small model\n# filters = [64, 128, 256, 512, 1024]");
                }
            }
            match &m.init_from {
                Some(f) => kv(
                    &mut s,
                    "Start from this model instead of random weights: a run folder or builtin:NAME (\"none\": random)",
                    "init_from",
                    &toml::Value::from(f.as_str()),
                ),
                None => {
                    let _ = writeln!(s, "# Start from a run folder or a built-in model instead of random weights\n# init_from = \"builtin:colony-2d\"");
                }
            }
            if kind == Kind::Seg {
                kv(
                    &mut s,
                    "Fine-tuning from builtin:NAME: how many of its synthetic training images join the training images (0 = none)",
                    "rehearsal",
                    &toml::Value::from(m.rehearsal as i64),
                );
            }
            kv(&mut s, "Pixel weights when the set has no wei/ folder: seg_weights, seg_weights_2D, tracking_weights, none", "weights", &toml::Value::from(weights_name::name(&m.weights)));
            if let Some(shift) = m.shift {
                kv(
                    &mut s,
                    "Maximal random shift of the tracking crop box (pixels)",
                    "shift",
                    &toml::Value::from(shift as i64),
                );
            }
            if kind == Kind::Seg {
                kv(
                    &mut s,
                    "With crop_windows: fraction of training crops centred on a cell, in [0, 1] (0 = uniform, DeLTA)",
                    "crop_foreground",
                    &toml::Value::from(m.crop_foreground),
                );
            }
            kv(
                &mut s,
                "Best model and early stopping by: \"loss\" (validation loss, else training loss) or \"val_f1\" (seg: instance F1 of the validation images)",
                "monitor",
                &toml::Value::from(m.monitor.name()),
            );
            kv(
                &mut s,
                "Pipeline: minimal object area (pixels)",
                "min_area",
                &toml::Value::from(m.min_area as i64),
            );
            kv(
                &mut s,
                "Pipeline: largest accepted resizing factor",
                "tolerable_resizing_factor",
                &toml::Value::from(m.tolerable_resizing_factor),
            );
            kv(
                &mut s,
                "Pipeline: frames per chunk",
                "chunk_size",
                &toml::Value::from(m.chunk_size as i64),
            );
            let _ = writeln!(
                s,
                "\n# Augmentation (DeLTA keys: rotation, shiftX, shiftY, zoom, horizontal_flip, vertical_flip,\n\
                 # rotations_90d, histogram_voodoo, illumination_voodoo, gaussian_noise, gaussian_blur,\n\
                 # elastic_deformation). A table given in a file replaces this one as a whole.\n\
                 [models.{kind}.augmentation]"
            );
            // Every key, the ones that are off included: the table replaces the preset's.
            if let Ok(table) = toml::Table::try_from(&m.augmentation) {
                for (k, v) in &table {
                    let _ = writeln!(s, "{k} = {v}");
                }
            }
        }
        s
    }
}

fn kv(s: &mut String, comment: &str, key: &str, value: &toml::Value) {
    let _ = writeln!(s, "# {comment}\n{key} = {value}");
}

/// Lays `overlay` over `base`: tables merge key by key down to the model tables; anything
/// else (including `augmentation` tables, depth ≥ 2) replaces the base value.
fn merge(base: &mut toml::Table, overlay: toml::Table, depth: usize) {
    for (k, v) in overlay {
        match (base.get_mut(&k), v) {
            (Some(toml::Value::Table(b)), toml::Value::Table(o)) if depth < 2 => {
                merge(b, o, depth + 1)
            }
            (_, v) => {
                base.insert(k, v);
            }
        }
    }
}

/// All presets by name (for listings).
pub fn presets() -> BTreeMap<&'static str, Config> {
    PRESETS
        .iter()
        .filter_map(|&p| Config::preset(p).ok().map(|c| (p, c)))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn presets_have_delta_values() {
        let mm = Config::preset("mothermachine").unwrap();
        assert_eq!(mm.model(Kind::Seg).unwrap().target_size, [256, 32]);
        assert_eq!(mm.model(Kind::Track).unwrap().target_size, [256, 32]);
        assert_eq!(mm.model(Kind::Rois).unwrap().target_size, [512, 512]);
        let d2 = Config::preset("2D").unwrap();
        assert_eq!(d2.model(Kind::Seg).unwrap().target_size, [512, 512]);
        assert_eq!(d2.model(Kind::Track).unwrap().target_size, [256, 256]);
        assert!(d2.model(Kind::Rois).is_err());
        assert_eq!(d2.model(Kind::Track).unwrap().learning_rate, 1e-5);
        assert!(d2.crop_windows && !mm.crop_windows);
        // Every preset stretches images as DeLTA 3's pipeline feeds its models.
        assert_eq!((mm.rescale, d2.rescale), (Rescale::MinMax, Rescale::MinMax));
        assert!(Config::preset("3D").is_err());
        // The CPU recipe for 2-D colonies: DeLTA's 2-D preset but for the seg model.
        let cpu = Config::preset("2d-cpu").unwrap();
        let seg = cpu.model(Kind::Seg).unwrap();
        assert_eq!(cpu.preset, "2D-cpu");
        assert!(cpu.crop_windows);
        assert_eq!(cpu.rescale, Rescale::MinMax);
        assert_eq!((seg.target_size, seg.batch_size), ([256, 256], 2));
        assert_eq!((seg.monitor, seg.crop_foreground), (Monitor::ValF1, 0.5));
        assert!(seg.augmentation.rotations_90d);
        assert_eq!(cpu.models.track, d2.models.track);
        // Fine-tuned from the built-in colony model, 5 of its synthetic images rehearsed.
        assert_eq!(seg.init_from.as_deref(), Some("builtin:colony-2d"));
        assert_eq!(seg.rehearsal, 5);
        assert_eq!(d2.model(Kind::Seg).unwrap().rehearsal, 0);
    }

    #[test]
    fn rehearsal_is_for_segmentation_and_bounded() {
        let ok = "preset = \"2D-cpu\"\n[models.seg]\nrehearsal = 12\n";
        let c = Config::from_toml(ok, Path::new("r.toml"), None).unwrap();
        assert_eq!(c.model(Kind::Seg).unwrap().rehearsal, 12);
        assert!(c.to_commented_toml().contains("rehearsal = 12"));
        // Over a random or run-folder start there is nothing to rehearse: accepted, unused.
        for unused in [
            "preset = \"2D-cpu\"\n[models.seg]\ninit_from = \"none\"\n",
            "preset = \"2D\"\n[models.seg]\ninit_from = \"runs/a\"\nrehearsal = 3\n",
        ] {
            assert!(Config::from_toml(unused, Path::new("r.toml"), None).is_ok());
        }
        for (bad, needle) in [
            (
                "preset = \"2D\"\n[models.track]\ninit_from = \"builtin:colony-2d\"\n\
                 rehearsal = 3\n",
                "segmentation",
            ),
            (
                "preset = \"2D-cpu\"\n[models.seg]\nrehearsal = 1001\n",
                "at most 1000",
            ),
        ] {
            let e = Config::from_toml(bad, Path::new("r.toml"), None)
                .unwrap_err()
                .to_string();
            assert!(e.contains("rehearsal") && e.contains(needle), "{bad}: {e}");
        }
    }

    #[test]
    fn commented_output_parses_back_identically() {
        for p in PRESETS {
            let c = Config::preset(p).unwrap();
            let text = c.to_commented_toml();
            assert!(text.contains("# Adam learning rate"));
            let back = Config::from_toml(&text, Path::new("shown.toml"), None).unwrap();
            assert_eq!(back, c, "{p}");
        }
    }

    #[test]
    fn overlay_keeps_unset_keys_and_rejects_unknown_ones() {
        let text = "preset = \"2D\"\n[models.seg]\nepochs = 3\nfilters = [8, 16]\n\
                    [models.seg.augmentation]\nzoom = 0.1\n";
        let c = Config::from_toml(text, Path::new("a.toml"), None).unwrap();
        let seg = c.model(Kind::Seg).unwrap();
        assert_eq!(seg.epochs, 3);
        assert_eq!(seg.batch_size, 1);
        assert_eq!(seg.unet_spec(Kind::Seg).filters, vec![8, 16]);
        // The file's augmentation table replaces the preset's as a whole.
        let only_zoom = AugmentParams {
            zoom: 0.1,
            ..AugmentParams::default()
        };
        assert_eq!(seg.augmentation, only_zoom);
        let bad = "preset = \"2D\"\n[models.seg.augmentation]\ngaussion_noise = 0.1\n";
        let e = Config::from_toml(bad, Path::new("f.toml"), None).unwrap_err();
        assert!(e.to_string().contains("gaussion_noise"), "{e}");
        let bad = Config::from_toml("preset = \"2D\"\nepochz = 3\n", Path::new("b.toml"), None);
        assert!(bad.unwrap_err().to_string().contains("epochz"));
        let bad = Config::from_toml(
            "[models.seg]\nbogus = 1\n",
            Path::new("c.toml"),
            Some("mothermachine"),
        );
        assert!(bad.is_err());
        assert!(
            Config::from_toml("[models.seg]\nepochs = 2\n", Path::new("d.toml"), None).is_err()
        );
        let bad = Config::from_toml(
            "preset=\"2D\"\n[models.seg]\ntarget_size = [500, 512]\n",
            Path::new("e.toml"),
            None,
        );
        assert!(bad.is_err());
    }
}
