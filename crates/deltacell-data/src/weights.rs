//! Pixel-wise weight maps (DeLTA's `seg_weights`, `seg_weights_2D`, `tracking_weights`,
//! `make_weights`).
//!
//! CONTRACT STAGE: the signatures below are fixed (other modules build on them); the bodies are
//! being written in parallel and will replace these interim ones before this lands.

use crate::error::{Error, Result};
use crate::image::{Mask, WeightMap};

/// Parameters of [`seg_weights`] (DeLTA defaults: classweights (1, 1), w0 12, sigma 2).
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct SegWeightParams {
    /// `(background, cell)` class weights.
    pub classweights: (f32, f32),
    /// Amplitude of the border term.
    pub w0: f32,
    /// Width of the border term, pixels.
    pub sigma: f32,
}

impl Default for SegWeightParams {
    fn default() -> Self {
        SegWeightParams {
            classweights: (1.0, 1.0),
            w0: 12.0,
            sigma: 2.0,
        }
    }
}

/// DeLTA's `seg_weights` (U-Net border weights from the two nearest cells).
pub fn seg_weights(mask: &Mask, params: &SegWeightParams) -> WeightMap {
    let _ = params;
    WeightMap::ones(mask.height(), mask.width())
}

/// DeLTA's `seg_weights_2D` with `classweights = (cells, borders)`.
pub fn seg_weights_2d(mask: &Mask, classweights: (f32, f32)) -> WeightMap {
    let _ = classweights;
    WeightMap::ones(mask.height(), mask.width())
}

/// DeLTA's `tracking_weights(track, segall, halo_distance)`; shapes must match.
pub fn tracking_weights(track: &Mask, segall: &Mask, halo_distance: f32) -> Result<WeightMap> {
    let _ = halo_distance;
    if track.shape() != segall.shape() {
        return Err(Error::ShapeMismatch {
            context: "tracking_weights(track, segall)".into(),
            expected: track.shape(),
            found: segall.shape(),
        });
    }
    Ok(WeightMap::ones(track.height(), track.width()))
}
