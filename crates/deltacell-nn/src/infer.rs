//! Inference with a trained model: load a RUN_DIR, predict logits or probabilities for a
//! [`Batch`] (DeLTA's `model.predict`). Batches come from the prediction generators of
//! [`deltacell_data::predict`] (`seg_batches`, `compile_tracking_inputs`); see the examples
//! `eval_seg.rs` and `eval_track.rs`.

use std::path::Path;

use burn::module::Module;
use burn::tensor::activation::sigmoid;
use burn::tensor::{Device, Tensor};

use crate::run_dir::{ModelInfo, RunDir};
use crate::train::input_tensor;
use crate::unet::Unet;
use crate::{Batch, Error, Result};

/// A model ready to predict (no autodiff).
pub struct Predictor {
    model: Unet,
    info: ModelInfo,
    device: Device,
}

impl Predictor {
    /// Loads the best model of the RUN_DIR `dir` (`model.toml` + `model.safetensors`).
    pub fn load(dir: impl AsRef<Path>, device: &Device) -> Result<Self> {
        let device = device.clone().inner();
        let run = RunDir::open(dir.as_ref())?;
        let (model, info) = run.load_best(&device)?;
        Ok(Predictor {
            model,
            info,
            device,
        })
    }

    /// Wraps an in-memory model (e.g. [`crate::Trainer::model`]).
    pub fn from_model(model: &Unet, info: ModelInfo, device: &Device) -> Self {
        let device = device.clone().inner();
        Predictor {
            model: model.valid().to_device(&device),
            info,
            device,
        }
    }

    /// The model's metadata.
    pub fn info(&self) -> &ModelInfo {
        &self.info
    }

    fn forward(&self, batch: &Batch) -> Result<Tensor<4>> {
        let spec = &self.info.architecture;
        if batch.in_channels != spec.input_channels {
            return Err(Error::Shape(format!(
                "{} input channels, the model takes {}",
                batch.in_channels, spec.input_channels
            )));
        }
        spec.check_input_size(batch.height, batch.width)?;
        let x = input_tensor(batch, &self.device)?;
        Ok(self.model.forward(x))
    }

    /// DeLTA's `model.predict` (newest line, logits): `n × height × width` values, row-major,
    /// one per pixel; [`deltacell_data::predict::split_output`] cuts them into planes (one
    /// channel). The batch needs the model's input channels and a size divisible by
    /// 2^(levels−1); its `y` is ignored (give `out_channels` 0).
    pub fn predict_logits(&self, batch: &Batch) -> Result<Vec<f32>> {
        to_vec(self.forward(batch)?)
    }

    /// Probabilities `sigmoid(logit)` in [0, 1], `n × height × width` (DeLTA 2.0.7's
    /// `model.predict`, whose models end in a sigmoid).
    pub fn predict_probabilities(&self, batch: &Batch) -> Result<Vec<f32>> {
        to_vec(sigmoid(self.forward(batch)?))
    }
}

fn to_vec(t: Tensor<4>) -> Result<Vec<f32>> {
    t.into_data()
        .try_to_vec::<f32>()
        .map_err(|e| Error::Device(format!("reading predictions back: {e:?}")))
}
