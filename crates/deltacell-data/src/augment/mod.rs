//! Data augmentation: every DeLTA operation, applied identically to all targets of a sample.
//!
//! CONTRACT STAGE: the types and the [`augment`] signature are fixed (datasets build on them); the
//! operations are being written in parallel and replace this interim body before this lands.

pub mod resize;

use crate::error::Result;
use crate::image::{Image, Mask, WeightMap};
use crate::random::SampleRng;

/// One raster of a sample; its type decides how each operation treats it.
#[derive(Clone, Debug, PartialEq)]
pub enum Target {
    /// Intensity image: intensity operations, smooth interpolation.
    Image(Image),
    /// Binary mask: nearest interpolation, touching-cell removal after elastic warps.
    Mask(Mask),
    /// Weight map: follows the geometry like a mask, never intensity operations.
    Weights(WeightMap),
}

impl Target {
    /// `(height, width)`.
    pub fn shape(&self) -> (usize, usize) {
        match self {
            Target::Image(i) => i.shape(),
            Target::Mask(m) => m.shape(),
            Target::Weights(w) => w.shape(),
        }
    }
}

/// The targets of one training sample, all of the same shape, transformed together.
#[derive(Clone, Debug, PartialEq, Default)]
pub struct Sample {
    /// The targets, in the order the dataset put them.
    pub targets: Vec<Target>,
}

/// Augmentation parameters with DeLTA's key names (see the module docs).
#[derive(Clone, Debug, PartialEq, Default, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AugmentParams {}

/// Applies `params` to every target of `sample`, drawing from `rng`.
pub fn augment(sample: &mut Sample, params: &AugmentParams, rng: &mut SampleRng) -> Result<()> {
    let _ = (sample, params, rng);
    Ok(())
}
