//! The pipeline's three networks: loaded from the configuration's `model_path`s (a deltacell
//! run folder, or a Keras file of DeLTA's imported on the fly) and called through one small
//! trait, [`Network`], so that the pipeline does not depend on how a model computes.

use std::path::{Path, PathBuf};

use deltacell_data::{Batch, Kind, Plane};
use deltacell_nn::infer::Predictor;
use sha2::{Digest, Sha256};

use crate::config::{AnalysisConfig, ModelRole};
use crate::error::{Error, Result};

/// A network that maps a batch of samples to one plane of logits each (DeLTA 3's models: a
/// linear head, thresholded at 0).
pub trait Network: Send + Sync {
    /// Input channels per sample (1 for ROIs and segmentation, 4 for tracking).
    fn input_channels(&self) -> usize;

    /// Logits of `batch` (`n × height × width × channels`, DeLTA's channel order): one plane
    /// per sample, of the samples' shape.
    fn logits(&self, batch: &Batch) -> Result<Vec<Plane<f32>>>;
}

impl Network for Predictor {
    fn input_channels(&self) -> usize {
        self.info().architecture.input_channels
    }

    fn logits(&self, batch: &Batch) -> Result<Vec<Plane<f32>>> {
        if batch.n == 0 {
            return Ok(Vec::new());
        }
        let (h, w) = (batch.height, batch.width);
        let out = self.predict_logits(batch)?;
        Ok(out
            .chunks_exact(h * w)
            .map(|c| Plane::from_vec(h, w, c.to_vec()))
            .collect::<std::result::Result<_, _>>()?)
    }
}

/// One-channel planes of one shape as a batch (`n × height × width × 1`).
pub fn batch_of(planes: &[Plane<f32>]) -> Result<Batch> {
    let (h, w) = planes.first().map_or((0, 0), Plane::shape);
    if let Some(p) = planes.iter().find(|p| p.shape() != (h, w)) {
        return Err(Error::ModelInput {
            problem: format!(
                "planes of {}×{} and {h}×{w} pixels in one batch",
                p.height(),
                p.width()
            ),
        });
    }
    Ok(Batch {
        n: planes.len(),
        height: h,
        width: w,
        in_channels: 1,
        out_channels: 0,
        x: planes
            .iter()
            .flat_map(|p| p.as_slice().iter().copied())
            .collect(),
        y: Vec::new(),
    })
}

/// The fewest samples the pipeline gives a network in one call (fewer only when there are
/// fewer): on the CPU, one call on 8 samples is much cheaper than 8 calls on one (the weights'
/// transforms and the threads' start are paid once per call).
pub const MIN_BATCH: usize = 8;

/// The number of samples per network call for a configuration's `batch_size`: DeLTA's
/// `batch_size` bounds a GPU's memory and is 1 in several of its presets; deltacell uses it
/// when it is larger than [`MIN_BATCH`], else `MIN_BATCH`. The outputs do not depend on it
/// beyond the last bits of the logits.
///
/// ```
/// use deltacell_analysis::models::inference_batch;
/// assert_eq!(inference_batch(1), 8);
/// assert_eq!(inference_batch(64), 64);
/// ```
pub fn inference_batch(batch_size: usize) -> usize {
    batch_size.max(MIN_BATCH)
}

/// Calls `net` on one-channel `planes`, [`inference_batch`]`(batch_size)` at a time.
pub fn logits_in_batches(
    net: &dyn Network,
    planes: &[Plane<f32>],
    batch_size: usize,
) -> Result<Vec<Plane<f32>>> {
    let mut out = Vec::with_capacity(planes.len());
    for chunk in planes.chunks(inference_batch(batch_size)) {
        out.extend(net.logits(&batch_of(chunk)?)?);
    }
    Ok(out)
}

/// One loaded model, with where it came from.
pub struct LoadedModel {
    /// The network.
    pub network: Box<dyn Network>,
    /// The `model_path` it was loaded from.
    pub path: PathBuf,
    /// SHA-256 of the model's weights file, hexadecimal (the results files'
    /// `{model}_model_hash` attribute).
    pub hash: String,
}

/// The networks of a configuration, by role.
pub struct Models {
    /// Chamber detection (mother machine).
    pub rois: Option<LoadedModel>,
    /// Segmentation.
    pub seg: LoadedModel,
    /// Tracking (`None`: segmentation only, every cell of every frame is a new cell).
    pub track: Option<LoadedModel>,
}

impl Models {
    /// Loads every model of `config` on the CPU: run folders directly, Keras files
    /// (`.keras`, `.hdf5`, `.h5`) imported on the fly. A missing `model_path`, a file that is
    /// not a model, or a model of the wrong kind (e.g. a tracking model given as `seg`) is an
    /// error naming the key and the file.
    pub fn load(config: &AnalysisConfig) -> Result<Models> {
        let load = |role| -> Result<Option<LoadedModel>> {
            match config.models.get(&role) {
                None => Ok(None),
                Some(m) => load_model(role, &m.model_path).map(Some),
            }
        };
        let rois = load(ModelRole::Rois)?;
        let seg = load(ModelRole::Seg)?.ok_or_else(|| Error::Config {
            key: "models.seg".into(),
            problem: "a segmentation model is required".into(),
        })?;
        let track = load(ModelRole::Track)?;
        Ok(Models { rois, seg, track })
    }

    /// `(model, hash)` for the results files, in DeLTA's order (rois, seg, track).
    pub fn hashes(&self) -> Vec<(String, String)> {
        [
            ("rois", self.rois.as_ref()),
            ("seg", Some(&self.seg)),
            ("track", self.track.as_ref()),
        ]
        .into_iter()
        .filter_map(|(n, m)| m.map(|m| (n.to_string(), m.hash.clone())))
        .collect()
    }
}

fn kind_of(role: ModelRole) -> Kind {
    match role {
        ModelRole::Rois => Kind::Rois,
        ModelRole::Seg => Kind::Seg,
        ModelRole::Track => Kind::Track,
    }
}

/// Loads one model: a run folder (`model.toml`) or a Keras file.
pub fn load_model(role: ModelRole, path: &Path) -> Result<LoadedModel> {
    let key = format!("models.{role}.model_path");
    if path.as_os_str().is_empty() {
        return Err(Error::Config {
            key,
            problem: "no model given: a deltacell run folder or a Keras file is needed".into(),
        });
    }
    let device = deltacell_nn::device::cpu();
    let kind = kind_of(role);
    let (predictor, weights) = if path.is_dir() {
        let p = Predictor::load_kind(path, kind, &device)?;
        (p, path.join("model.safetensors"))
    } else if path.is_file() {
        let keras = deltacell_nn::keras::read(path, kind)?;
        let model = keras.to_unet(&device)?;
        (
            Predictor::from_model(&model, keras.model_info(), &device),
            path.to_path_buf(),
        )
    } else {
        return Err(Error::ModelFile {
            path: path.to_path_buf(),
            problem: format!("{key}: no such file or folder"),
        });
    };
    let wanted = if role == ModelRole::Track { 4 } else { 1 };
    if predictor.input_channels() != wanted {
        return Err(Error::ModelFile {
            path: path.to_path_buf(),
            problem: format!(
                "{key}: a model of {} input channels, a {role} model takes {wanted}",
                predictor.input_channels()
            ),
        });
    }
    let bytes = std::fs::read(&weights).map_err(|e| Error::ModelFile {
        path: weights.clone(),
        problem: e.to_string(),
    })?;
    let hash = Sha256::digest(&bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    Ok(LoadedModel {
        network: Box::new(predictor),
        path: path.to_path_buf(),
        hash,
    })
}
