//! The RUN_DIR of a training run and its files. Every write is atomic (temporary file in the same
//! folder, `fsync`, rename), so a crash never leaves a half-written file behind.
//!
//! ```text
//! RUN_DIR/
//!   model.safetensors     best weights so far (by validation loss; by training loss without
//!                         validation, as DeLTA's ModelCheckpoint(monitor="loss"))
//!   model.toml            ModelInfo: architecture, kind, input size, seed, data fingerprint, head
//!   checkpoint.toml       CheckpointState: where training resumes; names the checkpoint folder
//!   checkpoints/epoch-NNNN-step-MMMMMM/{model.safetensors, optimizer.bpk}
//!   history.csv           one row per epoch
//!   curves.png            loss (top) and accuracy (bottom) per epoch; blue train, red validation
//! ```
//!
//! A checkpoint is committed by the atomic rename of `checkpoint.toml`, written after its folder
//! is complete; the previous checkpoint folder is deleted afterwards. A checkpoint written in the
//! middle of an epoch carries the epoch's running sums (`[epoch_progress]`), so that the resumed
//! epoch's record equals the uninterrupted run's.
//!
//! `model.safetensors` and `optimizer.bpk` are byte-reproducible: the same weights and optimizer
//! state give the same bytes (sorted safetensors header, tensors in name order). `curves.png` carries no text
//! (no font is bundled, and system fonts may be absent): the x axis is epochs from 1, the y range
//! of the loss panel is [0, max], of the accuracy panel [0, 1].

use std::fs;

use std::path::{Path, PathBuf};

use burn::store::{ModuleSnapshot, SafetensorsStore};
use serde::{Deserialize, Serialize};

use deltacell_data::io::Rescale;
use deltacell_data::output::write_bytes;

use crate::error::{Error, Result};
use crate::history::EpochRecord;
use crate::unet::{Unet, UnetSpec};

/// File names inside a RUN_DIR.
pub const MODEL_FILE: &str = "model.safetensors";
/// Metadata of the best model.
pub const MODEL_INFO_FILE: &str = "model.toml";
/// The resume pointer.
pub const CHECKPOINT_FILE: &str = "checkpoint.toml";
/// Per-epoch history.
pub const HISTORY_FILE: &str = "history.csv";
/// Training curves.
pub const CURVES_FILE: &str = "curves.png";

/// What the network's last layer outputs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Head {
    /// Logits (DeLTA's newest line); probabilities are `sigmoid(logit)`.
    Logits,
    /// Probabilities (DeLTA 2.0.7's sigmoid head); not produced by deltacell.
    Sigmoid,
}

/// `model.toml`: everything needed to rebuild and use a saved model.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ModelInfo {
    /// Format version of this file (1).
    pub format: u32,
    /// What the head outputs (deltacell: always logits).
    pub head: Head,
    /// Input size `[height, width]` the model was trained at (pixels).
    pub input_size: [usize; 2],
    /// Seed of the run (initialisation and data order).
    pub seed: u64,
    /// Preset or config the run started from, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub preset: Option<String>,
    /// Fingerprint of the training data (e.g. SHA-256 over file names and sizes), if known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data_fingerprint: Option<String>,
    /// Whether the model was trained on target-size windows of full-resolution images (`true`,
    /// DeLTA's `crop_windows`) or on images resized to the target size (`false`), so that
    /// prediction fits images the same way; `None` in run folders written before it was
    /// recorded and in imported Keras models (the preset name decides then).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub crop_windows: Option<bool>,
    /// How image intensities were brought to `[0, 1]` in training, so that prediction reads
    /// images the same way (imported Keras models: `min_max`, as DeLTA's pipeline feeds them);
    /// `None` (run folders written before it was recorded): divided by the pixel type's
    /// maximum.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rescale: Option<Rescale>,
    /// Epoch (1-based) at which these weights were saved.
    pub epoch: usize,
    /// Mean training loss of that epoch.
    pub loss: f64,
    /// Validation loss of that epoch, if validated.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub val_loss: Option<f64>,
    /// The architecture.
    pub architecture: UnetSpec,
}

impl ModelInfo {
    /// The metadata of a model of `architecture` trained at `input_size` (`[height, width]`,
    /// pixels) before any epoch: format 1, logits head, seed 0, no preset or data fingerprint,
    /// epoch 0, loss unknown (NaN). The one constructor: set the other fields after it, and
    /// [`ModelInfo::at_epoch`] for a trained model.
    pub fn new(architecture: UnetSpec, input_size: [usize; 2]) -> Self {
        ModelInfo {
            format: 1,
            head: Head::Logits,
            input_size,
            seed: 0,
            preset: None,
            data_fingerprint: None,
            crop_windows: None,
            rescale: None,
            epoch: 0,
            loss: f64::NAN,
            val_loss: None,
            architecture,
        }
    }

    /// The same metadata for the weights saved after the epoch `record` describes.
    pub fn at_epoch(mut self, record: &EpochRecord) -> Self {
        self.epoch = record.epoch;
        self.loss = record.loss;
        self.val_loss = record.val_loss;
        self
    }
}

/// `checkpoint.toml`: the state of an interrupted or finished run, for `--resume`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CheckpointState {
    /// Folder (relative to the RUN_DIR) holding `model.safetensors` and `optimizer.bpk`.
    pub dir: String,
    /// Epoch (0-based) training continues in.
    pub next_epoch: usize,
    /// Step within that epoch training continues at (0 after a completed epoch).
    pub next_step: usize,
    /// Optimizer steps taken so far.
    pub total_steps: u64,
    /// Best monitored loss so far (validation loss, or training loss without validation).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub best_loss: Option<f64>,
    /// Epochs since the best loss improved (early-stopping counter).
    pub epochs_without_improvement: usize,
    /// Learning rate of the run.
    pub learning_rate: f64,
    /// Seed of the run.
    pub seed: u64,
    /// Steps per epoch of the run (absent in checkpoints written before it was recorded). A
    /// resume with another number would map `(epoch, step)` to other batches.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub steps_per_epoch: Option<usize>,
    /// The architecture.
    pub architecture: UnetSpec,
    /// The sums of the interrupted epoch's first `next_step` steps, so that the resumed epoch's
    /// record is the one an uninterrupted run writes. Absent at an epoch boundary (and in
    /// checkpoints written before it was recorded: the resumed epoch is then partial, recorded
    /// but never taken as the best).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub epoch_progress: Option<EpochProgress>,
}

/// The running sums of an epoch interrupted after `steps` steps (`[epoch_progress]` of
/// `checkpoint.toml`).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EpochProgress {
    /// Steps of the epoch already taken.
    pub steps: usize,
    /// Sum of their losses.
    pub loss_sum: f64,
    /// Sum of their accuracies.
    pub acc_sum: f64,
    /// Samples they saw.
    pub samples: usize,
    /// Wall-clock seconds spent on them.
    pub seconds: f64,
    /// Seconds of that spent waiting for batches.
    pub data_seconds: f64,
}

/// A RUN_DIR on disk.
#[derive(Clone, Debug)]
pub struct RunDir {
    root: PathBuf,
}

impl RunDir {
    /// Opens (creating if needed) the run folder `root`.
    pub fn create(root: impl Into<PathBuf>) -> Result<Self> {
        let root = root.into();
        fs::create_dir_all(&root).map_err(|e| Error::io(&root, e))?;
        Ok(RunDir { root })
    }

    /// Opens an existing run folder (no file is read yet).
    pub fn open(root: impl Into<PathBuf>) -> Result<Self> {
        let root = root.into();
        if !root.is_dir() {
            return Err(Error::io(
                &root,
                std::io::Error::new(std::io::ErrorKind::NotFound, "no such run folder"),
            ));
        }
        Ok(RunDir { root })
    }

    /// The folder.
    pub fn path(&self) -> &Path {
        &self.root
    }

    /// Path of a file inside the run folder.
    pub fn file(&self, name: &str) -> PathBuf {
        self.root.join(name)
    }

    /// Saves `model` as the best model, with its metadata.
    pub fn save_best(&self, model: &Unet, info: &ModelInfo) -> Result<()> {
        write_bytes(self.file(MODEL_FILE), &model_bytes(model)?)?;
        write_toml(&self.file(MODEL_INFO_FILE), info)
    }

    /// Reads `model.toml`.
    pub fn model_info(&self) -> Result<ModelInfo> {
        read_toml(&self.file(MODEL_INFO_FILE))
    }

    /// Rebuilds the best model on `device` from `model.toml` and `model.safetensors`.
    pub fn load_best(&self, device: &burn::tensor::Device) -> Result<(Unet, ModelInfo)> {
        let info = self.model_info()?;
        let model = load_model(&self.file(MODEL_FILE), &info.architecture, device)?;
        Ok((model, info))
    }

    /// Writes a checkpoint (model + optimizer bytes) and commits it with `checkpoint.toml`.
    pub fn save_checkpoint(
        &self,
        model: &Unet,
        optimizer_bytes: &[u8],
        state: &CheckpointState,
    ) -> Result<()> {
        let old = self.checkpoint_state().ok().map(|s| s.dir);
        let dir = self.root.join(&state.dir);
        fs::create_dir_all(&dir).map_err(|e| Error::io(&dir, e))?;
        write_bytes(dir.join(MODEL_FILE), &model_bytes(model)?)?;
        write_bytes(dir.join("optimizer.bpk"), optimizer_bytes)?;
        write_toml(&self.file(CHECKPOINT_FILE), state)?;
        if let Some(old) = old.filter(|o| *o != state.dir) {
            // Best effort: a stale folder wastes space but is never read.
            let _ = fs::remove_dir_all(self.root.join(old));
        }
        Ok(())
    }

    /// Reads `checkpoint.toml`.
    pub fn checkpoint_state(&self) -> Result<CheckpointState> {
        read_toml(&self.file(CHECKPOINT_FILE))
    }

    /// Loads the committed checkpoint: the model on `device`, the optimizer bytes and the state.
    pub fn load_checkpoint(
        &self,
        device: &burn::tensor::Device,
    ) -> Result<(Unet, Vec<u8>, CheckpointState)> {
        let state = self.checkpoint_state()?;
        let dir = self.root.join(&state.dir);
        let model = load_model(&dir.join(MODEL_FILE), &state.architecture, device)?;
        let opt_path = dir.join("optimizer.bpk");
        let opt = fs::read(&opt_path).map_err(|e| Error::io(&opt_path, e))?;
        Ok((model, opt, state))
    }
}

/// Serialises `model`'s weights to safetensors bytes, byte-reproducibly: the same weights give
/// the same bytes (see [`canonical_safetensors`]).
pub fn model_bytes(model: &Unet) -> Result<Vec<u8>> {
    let mut store = SafetensorsStore::from_bytes(None);
    model.save_into(&mut store).map_err(|e| Error::Weights {
        path: PathBuf::from("<memory>"),
        message: e.to_string(),
    })?;
    let bytes = store.get_bytes().map_err(|e| Error::Weights {
        path: PathBuf::from("<memory>"),
        message: e.to_string(),
    })?;
    canonical_safetensors(&bytes)
}

/// Rewrites a safetensors file's JSON header with every object's keys sorted (compact JSON,
/// padded with spaces to a multiple of 8 bytes as the `safetensors` crate does); the tensor data
/// is kept as it is (offsets are relative to it).
///
/// The `safetensors` writer takes the `__metadata__` table as a hash map, so its key order (and
/// the file's bytes) changed from one run to the next although the weights were equal.
pub fn canonical_safetensors(bytes: &[u8]) -> Result<Vec<u8>> {
    let bad = |message: String| Error::Weights {
        path: PathBuf::from("<memory>"),
        message,
    };
    let len_bytes: [u8; 8] = bytes
        .get(..8)
        .and_then(|b| b.try_into().ok())
        .ok_or_else(|| bad("safetensors data shorter than its header length".into()))?;
    let n = usize::try_from(u64::from_le_bytes(len_bytes))
        .ok()
        .filter(|&n| n <= bytes.len() - 8)
        .ok_or_else(|| bad("safetensors header longer than the data".into()))?;
    let header: serde_json::Value = serde_json::from_slice(&bytes[8..8 + n])
        .map_err(|e| bad(format!("safetensors header: {e}")))?;
    let mut json = serde_json::to_vec(&sorted_json(header))
        .map_err(|e| bad(format!("safetensors header: {e}")))?;
    json.resize(json.len().next_multiple_of(8), b' ');
    let mut out = Vec::with_capacity(8 + json.len() + bytes.len() - 8 - n);
    out.extend_from_slice(&(json.len() as u64).to_le_bytes());
    out.extend_from_slice(&json);
    out.extend_from_slice(&bytes[8 + n..]);
    Ok(out)
}

/// `value` with the keys of every object in sorted order (whatever `serde_json`'s map keeps).
fn sorted_json(value: serde_json::Value) -> serde_json::Value {
    match value {
        serde_json::Value::Object(map) => {
            let mut entries: Vec<_> = map.into_iter().collect();
            entries.sort_by(|a, b| a.0.cmp(&b.0));
            serde_json::Value::Object(
                entries
                    .into_iter()
                    .map(|(k, v)| (k, sorted_json(v)))
                    .collect(),
            )
        }
        serde_json::Value::Array(items) => {
            serde_json::Value::Array(items.into_iter().map(sorted_json).collect())
        }
        other => other,
    }
}

/// Builds `spec` on `device` and loads the weights in the safetensors file `path`.
///
/// Every tensor of the model must be present with the right shape.
pub fn load_model(path: &Path, spec: &UnetSpec, device: &burn::tensor::Device) -> Result<Unet> {
    let bytes = fs::read(path).map_err(|e| Error::io(path, e))?;
    model_from_bytes(bytes, spec, device, path)
}

/// A model of architecture `spec` from safetensors `bytes` (a model file's contents; `path`
/// names them in errors), checked to hold every weight of the architecture.
pub(crate) fn model_from_bytes(
    bytes: Vec<u8>,
    spec: &UnetSpec,
    device: &burn::tensor::Device,
    path: &Path,
) -> Result<Unet> {
    let mut model = spec.init(0, device)?;
    let mut store = SafetensorsStore::from_bytes(Some(bytes)).validate(true);
    let result = model.load_from(&mut store).map_err(|e| Error::Weights {
        path: path.to_path_buf(),
        message: e.to_string(),
    })?;
    if !result.is_success() || !result.missing.is_empty() {
        return Err(Error::Weights {
            path: path.to_path_buf(),
            message: format!("weights do not fit the architecture: {result}"),
        });
    }
    Ok(model)
}

fn write_toml<T: Serialize>(path: &Path, value: &T) -> Result<()> {
    let text = toml::to_string(value).map_err(|e| Error::Config {
        path: path.to_path_buf(),
        message: e.to_string(),
    })?;
    Ok(write_bytes(path, text.as_bytes())?)
}

fn read_toml<T: for<'de> Deserialize<'de>>(path: &Path) -> Result<T> {
    let text = fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
    toml::from_str(&text).map_err(|e| Error::Config {
        path: path.to_path_buf(),
        message: e.to_string(),
    })
}
