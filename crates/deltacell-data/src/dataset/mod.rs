//! Training datasets and batch generators (segmentation, tracking, chambers).
//!
//! A [`Batch`] is the hand-over point to the neural-network crate: contiguous `f32` buffers in
//! `N×H×W×C` (channels-last) order.

/// A batch of samples as contiguous channels-last `f32` buffers.
///
/// * `x`: inputs, `n × height × width × in_channels` (segmentation/chambers: 1 channel, the
///   image; tracking: 4 channels = current image, seed cell at t−1, previous image, all cells at t).
/// * `y`: targets, `n × height × width × out_channels`, stacked as DeLTA's losses expect:
///   channel 0 = binary label (0/1), channel 1 (when present) = pixel weight (≥ 0).
#[derive(Clone, Debug, PartialEq)]
pub struct Batch {
    /// Number of samples.
    pub n: usize,
    /// Rows per sample.
    pub height: usize,
    /// Columns per sample.
    pub width: usize,
    /// Channels of `x`.
    pub in_channels: usize,
    /// Channels of `y`.
    pub out_channels: usize,
    /// Inputs, `n × height × width × in_channels`.
    pub x: Vec<f32>,
    /// Stacked targets, `n × height × width × out_channels`.
    pub y: Vec<f32>,
}

impl Batch {
    /// An all-zero batch of the given geometry.
    pub fn zeros(
        n: usize,
        height: usize,
        width: usize,
        in_channels: usize,
        out_channels: usize,
    ) -> Self {
        Batch {
            n,
            height,
            width,
            in_channels,
            out_channels,
            x: vec![0.0; n * height * width * in_channels],
            y: vec![0.0; n * height * width * out_channels],
        }
    }
}
