//! The bridge from a training-set folder to [`crate::train::fit`]: the data crate's datasets
//! ([`SegmentationDataset`], [`TrackingDataset`], [`ChamberDataset`]) configured from a
//! [`Config`], wrapped in prefetching [`Loader`]s, exposed as batch sources.
//!
//! ```no_run
//! use deltacell_nn::{config::Config, data::TrainingData, Kind};
//! let config = Config::preset("mothermachine")?;
//! let data = TrainingData::open(Kind::Seg, &config, "training/seg".as_ref(), None, 1)?;
//! println!("{}", data.summary());
//! # Ok::<(), deltacell_nn::Error>(())
//! ```
//!
//! * Options, weights and validation: [`Config::dataset_recipe`] gives the data crate's
//!   [`DatasetRecipe`], which maps them to the datasets' and loaders' options (see there).
//! * Data waiting: the training loader's [`LoaderStats`] are shared through
//!   [`TrainingData::stats`]; [`crate::train::fit`] also times the source calls itself
//!   (`data_seconds` per epoch), which is what `deltacell train` prints.

use std::path::Path;
use std::sync::{Arc, Mutex};

use deltacell_data::dataset::{DatasetRecipe, Loader, LoaderStats, SegFiles};
use deltacell_data::predict::Fit;

use crate::config::Config;
use crate::error::{Error, Result};
use crate::history::History;
use crate::score::SegScorer;
use crate::train::{Control, Event, FitOptions, StopReason, Trainer};
use crate::unet::Kind;
use deltacell_data::Batch;

/// A batch source for [`crate::train::fit`]: `(epoch, step) -> Batch`.
pub type Source = Box<dyn FnMut(usize, usize) -> Result<Batch> + Send>;

/// Training and validation loaders of one model, opened from folders.
pub struct TrainingData {
    train: Loader,
    val: Option<Loader>,
    train_items: usize,
    val_items: usize,
    fingerprint: String,
    storage: String,
    stats: Arc<Mutex<LoaderStats>>,
    /// The validation images of a segmentation set, scored when `monitor = "val_f1"`.
    val_files: Vec<SegFiles>,
    /// What [`SegScorer`] needs from the configuration: input size, fit, rescale, `min_area`.
    scoring: Option<((usize, usize), Fit, deltacell_data::io::Rescale, usize)>,
    /// The built-in model's synthetic images mixed into the training items (`rehearsal`),
    /// kept as long as the training source reads them.
    rehearsal: Option<tempfile::TempDir>,
    /// How many training items are rehearsal images.
    rehearsal_items: usize,
}

impl std::fmt::Debug for TrainingData {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TrainingData")
            .field("train_items", &self.train_items)
            .field("val_items", &self.val_items)
            .field("fingerprint", &self.fingerprint)
            .finish()
    }
}

/// The `rehearsal` images of a model fine-tuned from a built-in model, written into a temporary
/// folder (`None` when `rehearsal = 0` or the start is not a built-in model).
fn rehearsal_set(m: &crate::config::ModelConfig) -> Result<Option<tempfile::TempDir>> {
    let builtin = m
        .init_from
        .as_deref()
        .and_then(|f| crate::builtin::name_in(f.as_ref()));
    let Some(name) = builtin.filter(|_| m.rehearsal > 0) else {
        return Ok(None);
    };
    let dir = tempfile::Builder::new()
        .prefix("deltacell-rehearsal-")
        .tempdir()
        .map_err(|e| Error::Data(format!("a temporary folder for the rehearsal images: {e}")))?;
    crate::builtin::get(name)?.write_training_images(m.rehearsal, dir.path())?;
    Ok(Some(dir))
}

/// A cheap fingerprint of a training set: folder name, number of files and total bytes of the
/// files under it (not their contents; enough to tell sets apart in `model.toml`).
fn fingerprint(root: &Path) -> String {
    fn walk(p: &Path, n: &mut u64, bytes: &mut u64) {
        let Ok(rd) = std::fs::read_dir(p) else {
            return;
        };
        for e in rd.flatten() {
            let path = e.path();
            if path.is_dir() {
                walk(&path, n, bytes);
            } else if let Ok(md) = e.metadata() {
                *n += 1;
                *bytes += md.len();
            }
        }
    }
    let (mut n, mut bytes) = (0, 0);
    walk(root, &mut n, &mut bytes);
    let name = root
        .file_name()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    format!("{name}:{n}files:{bytes}bytes")
}

impl TrainingData {
    /// Opens the training set of `kind` at `root` (and `val_dir`, else a `validation_split`
    /// of `root`'s files) with `config`'s settings; loaders use `seed` and 2 worker threads.
    pub fn open(
        kind: Kind,
        config: &Config,
        root: &Path,
        val_dir: Option<&Path>,
        seed: u64,
    ) -> Result<Self> {
        if !root.is_dir() {
            return Err(Error::Data(format!(
                "{}: training set folder not found",
                root.display()
            )));
        }
        if let Some(v) = val_dir.filter(|v| !v.is_dir()) {
            return Err(Error::Data(format!(
                "{}: validation folder not found",
                v.display()
            )));
        }
        let m = config.model(kind)?;
        let mut recipe: DatasetRecipe = config.dataset_recipe(kind)?;
        let rehearsal = rehearsal_set(m)?;
        recipe.extra_training = rehearsal.as_ref().map(|d| d.path().to_path_buf());
        let sets = recipe.open(kind, root, val_dir, seed)?;
        let (train, val, val_files) = (sets.train, sets.validation, sets.validation_files);
        let storage = sets.storage.to_string();
        let scoring = (m.monitor == crate::config::Monitor::ValF1).then(|| {
            let fit = if config.crop_windows {
                Fit::Windows {
                    min_overlap: crate::infer::WINDOW_OVERLAP,
                }
            } else {
                Fit::Resize
            };
            (
                (m.target_size[0], m.target_size[1]),
                fit,
                config.rescale,
                m.min_area,
            )
        });
        if scoring.is_some() && val_files.is_empty() {
            return Err(Error::Data(format!(
                "{}: monitor = \"val_f1\" scores whole validation images, and there are none: \
                 give a validation folder or a validation_split that holds out at \
                 least one of the {} file(s)",
                root.display(),
                train.len()
            )));
        }
        let train_items = train.len();
        let val_items = val.as_ref().map_or(0, |v| v.len());
        let train = Loader::new(train, recipe.training_loader(seed))?;
        let val = match val {
            Some(v) => Some(Loader::new(v, recipe.validation_loader(seed))?),
            None => None,
        };
        Ok(TrainingData {
            train,
            val,
            train_items,
            val_items,
            fingerprint: fingerprint(root),
            storage,
            stats: Arc::new(Mutex::new(LoaderStats::default())),
            val_files,
            scoring,
            rehearsal_items: rehearsal.as_ref().map_or(0, |_| m.rehearsal),
            rehearsal,
        })
    }

    /// Items (samples) in the training and validation sets.
    pub fn items(&self) -> (usize, usize) {
        (self.train_items, self.val_items)
    }

    /// The training set's fingerprint (recorded in `model.toml`).
    pub fn fingerprint(&self) -> &str {
        &self.fingerprint
    }

    /// One line: items, storage decision.
    pub fn summary(&self) -> String {
        let rehearsal = match self.rehearsal_items {
            0 => String::new(),
            n => format!(" ({n} of them the start model's synthetic images: rehearsal)"),
        };
        format!(
            "{} training item(s){rehearsal}, {} validation item(s); {}",
            self.train_items, self.val_items, self.storage
        )
    }

    /// The training loader's statistics, updated after every batch the training source hands
    /// over (the consumer's total wait is `waited`).
    pub fn stats(&self) -> Arc<Mutex<LoaderStats>> {
        self.stats.clone()
    }

    /// What scores the validation images after every epoch when the configuration says
    /// `monitor = "val_f1"` (put it in [`FitOptions::scorer`]; [`TrainingData::fit`] does);
    /// `None` for the loss. Reads the validation images once.
    pub fn scorer(&self) -> Result<Option<Arc<SegScorer>>> {
        match self.scoring {
            Some((target, fit, rescale, min_size)) => Ok(Some(Arc::new(SegScorer::new(
                &self.val_files,
                target,
                fit,
                rescale,
                min_size,
            )?))),
            None => Ok(None),
        }
    }

    /// Batches of one validation pass (all validation items once), `None` without validation.
    pub fn validation_steps(&self) -> Option<usize> {
        self.val.as_ref().map(Loader::steps_per_epoch)
    }

    /// [`crate::train::fit`] on these loaders: the training batches, and the validation batches
    /// when there is validation data (`options.validation_steps` of them per epoch, or one pass
    /// over the validation set when it is 0).
    pub fn fit(
        self,
        trainer: &mut Trainer,
        options: &FitOptions,
        callback: impl FnMut(&Event<'_>) -> Control,
    ) -> Result<(History, StopReason)> {
        let mut options = options.clone();
        if options.validation_steps == 0 {
            options.validation_steps = self.validation_steps().unwrap_or(0);
        }
        if options.scorer.is_none() {
            options.scorer = self.scorer()?;
        }
        let (train, mut val) = self.into_sources();
        crate::train::fit(
            trainer,
            train,
            val.as_deref_mut()
                .map(|v| v as &mut crate::train::BatchSource<'_>),
            &options,
            callback,
        )
    }

    /// Splits into the training source (the prefetching loader; asked for `(epoch, step)`, it
    /// gives batch `step` of `epoch` of the loader's stream, so a resumed run gets the batches
    /// the uninterrupted one had: the loader moves there when asked for another batch than its
    /// next) and the validation source (the same fixed batches every epoch: validation step `s`
    /// is batch `s mod steps` of the in-order set).
    pub fn into_sources(self) -> (Source, Option<Source>) {
        let TrainingData {
            mut train,
            val,
            stats,
            rehearsal,
            ..
        } = self;
        let train_src: Source = Box::new(move |e, s| {
            let _keep = &rehearsal;
            train.seek(e as u64, s)?;
            let b = train.next_batch();
            if let Ok(mut st) = stats.lock() {
                *st = train.stats();
            }
            Ok(b?)
        });
        let val_src = val.map(|v| {
            Box::new(move |_e: usize, s: usize| {
                let steps = v.steps_per_epoch();
                Ok(v.batch_at(0, s % steps)?)
            }) as Source
        });
        (train_src, val_src)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_folder_is_an_error() {
        let c = Config::preset("mothermachine").unwrap();
        let e = TrainingData::open(Kind::Seg, &c, Path::new("/no/such/dir"), None, 1)
            .unwrap_err()
            .to_string();
        assert!(e.contains("not found"), "{e}");
    }
}
