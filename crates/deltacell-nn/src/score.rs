//! Instance F1 of a segmentation model on whole validation images: the score that picks the
//! best model when a configuration says `monitor = "val_f1"`.
//!
//! The validation loss of DeLTA's weighted loss says little about what a lab wants from a 2-D
//! model: cells that come out as separate objects. A model that finds the colony's foreground
//! well but bridges the 2-px gaps between neighbours has a fine loss and merges every
//! micro-colony into one object. [`SegScorer`] runs what `deltacell predict seg` runs (the
//! images fitted as at training time, windows stitched back, DeLTA's post-processing: logit 0,
//! opening by fit, objects under `min_area` removed), splits the masks into 8-connected cells
//! ([`deltacell_data::metrics::instances`]) and scores them against the validation set's `seg/`
//! masks, pooled over all images: F1 at IoU 0.5, as `deltacell eval seg` reports it.

use std::path::PathBuf;

use deltacell_data::dataset::SegFiles;
use deltacell_data::io::{self, Rescale};
use deltacell_data::metrics::{self, ImageScores, SegEvaluation};
use deltacell_data::postprocess::{postprocess, PostprocessParams};
use deltacell_data::predict::{self, Fit, SegInput};
use deltacell_data::Labels;
use rayon::prelude::*;

use crate::error::Result;
use crate::infer::{Predictor, SegPrediction};
use crate::run_dir::ModelInfo;
use crate::unet::Unet;
use burn::tensor::Device;

/// Validation images, fitted to the network once, with their true cells.
pub struct SegScorer {
    inputs: Vec<SegInput>,
    truth: Vec<Labels>,
    params: PostprocessParams,
    batch_size: usize,
}

impl std::fmt::Debug for SegScorer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SegScorer")
            .field("images", &self.inputs.len())
            .field("params", &self.params)
            .finish()
    }
}

impl SegScorer {
    /// Reads the images and masks of `files` (a validation set's `img/` and `seg/`), the images
    /// brought to `[0, 1]` by `rescale` and fitted to the network input `target` by `fit`
    /// (windows for models trained on crops, resizing otherwise); objects under `min_size`
    /// pixels are removed from the predictions (DeLTA's seg `min_area`, 20).
    pub fn new(
        files: &[SegFiles],
        target: (usize, usize),
        fit: Fit,
        rescale: Rescale,
        min_size: usize,
    ) -> Result<Self> {
        let paths: Vec<PathBuf> = files.iter().map(|f| f.image.clone()).collect();
        let inputs = predict::read_seg_inputs(&paths, target, fit, rescale)?;
        let truth = files
            .par_iter()
            .map(|f| Ok(metrics::instances(&io::read_labels(&f.mask)?)))
            .collect::<deltacell_data::Result<Vec<_>>>()?;
        let options = SegPrediction {
            output: crate::infer::SegOutput::Masks {
                threshold: 0.5,
                opening: None,
                min_size,
            },
            ..SegPrediction::default()
        };
        let params = options
            .postprocess_params(fit)?
            .unwrap_or_else(|| PostprocessParams::logits(0, None));
        Ok(SegScorer {
            inputs,
            truth,
            params,
            batch_size: options.batch_size,
        })
    }

    /// The cells of the validation images' masks (8-connected components), the number the F1
    /// is measured on.
    pub fn cells(&self) -> usize {
        self.truth.iter().map(|t| t.max_label() as usize).sum()
    }

    /// Number of validation images.
    pub fn len(&self) -> usize {
        self.inputs.len()
    }

    /// True without images.
    pub fn is_empty(&self) -> bool {
        self.inputs.is_empty()
    }

    /// Segments every image with `model` (described by `info`) and scores the cells against
    /// the truth: pooled and per-image scores (`overall.f1_50` is the monitored F1, in [0, 1]).
    pub fn evaluate(
        &self,
        model: &Unet,
        info: &ModelInfo,
        device: &Device,
    ) -> Result<SegEvaluation> {
        let predictor = Predictor::from_model(model, info.clone(), device);
        let logits = predictor.segment_inputs(&self.inputs, self.batch_size)?;
        let per_image = self
            .inputs
            .par_iter()
            .zip(logits.par_iter())
            .zip(self.truth.par_iter())
            .map(|((input, logit), truth)| {
                let mask = postprocess(logit, &self.params);
                let pred = metrics::instances(&Labels::from_plane(mask.map(u32::from)));
                let matched = metrics::evaluate_seg(&pred, truth)?;
                Ok(ImageScores {
                    name: input
                        .path
                        .file_stem()
                        .map(|s| s.to_string_lossy().into_owned())
                        .unwrap_or_default(),
                    scores: matched.scores,
                })
            })
            .collect::<deltacell_data::Result<Vec<_>>>()?;
        Ok(SegEvaluation::from_images(per_image))
    }
}
