//! [`Batch`]: the hand-over point from the data side to the network: `n` samples as contiguous
//! channels-last (`N×H×W×C`) `f32` buffers, inputs `x` and stacked targets `y`, and
//! [`SampleLayout`], the geometry of one sample.
//!
//! ```
//! use deltacell_data::Batch;
//! let mut b = Batch::zeros(1, 2, 3, 1, 2); // one 2×3 sample, 1 input channel, label + weight
//! b.y[(1 * 3 + 2) * 2 + 1] = 4.0; // pixel (1, 2), target channel 1 (the weight)
//! assert_eq!(b.y_plane(0, 1).get(1, 2), 4.0);
//! assert_eq!(b.layout().y_len(), 12);
//! ```

use crate::image::Plane;

/// The geometry of one sample: `(height, width)` and the channels of `x` and `y`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SampleLayout {
    /// Rows.
    pub height: usize,
    /// Columns.
    pub width: usize,
    /// Channels of the input `x`.
    pub in_channels: usize,
    /// Channels of the stacked target `y`.
    pub out_channels: usize,
}

impl SampleLayout {
    /// Values of `x` per sample.
    pub fn x_len(&self) -> usize {
        self.height * self.width * self.in_channels
    }

    /// Values of `y` per sample.
    pub fn y_len(&self) -> usize {
        self.height * self.width * self.out_channels
    }
}

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

impl Batch {
    /// The geometry of one sample of this batch.
    pub fn layout(&self) -> SampleLayout {
        SampleLayout {
            height: self.height,
            width: self.width,
            in_channels: self.in_channels,
            out_channels: self.out_channels,
        }
    }

    /// Input channel `channel` of sample `sample` as a row-major `height × width` plane.
    ///
    /// Panics when `sample >= n` or `channel >= in_channels`.
    pub fn x_plane(&self, sample: usize, channel: usize) -> Plane<f32> {
        plane_of(&self.x, self.layout(), self.in_channels, sample, channel)
    }

    /// Target channel `channel` (0 = label, 1 = weight) of sample `sample` as a plane.
    ///
    /// Panics when `sample >= n` or `channel >= out_channels`.
    pub fn y_plane(&self, sample: usize, channel: usize) -> Plane<f32> {
        plane_of(&self.y, self.layout(), self.out_channels, sample, channel)
    }
}

fn plane_of(
    buf: &[f32],
    layout: SampleLayout,
    channels: usize,
    sample: usize,
    channel: usize,
) -> Plane<f32> {
    assert!(channel < channels, "channel {channel} of {channels}");
    let per = layout.height * layout.width * channels;
    let s = &buf[sample * per..(sample + 1) * per];
    Plane::from_fn(layout.height, layout.width, |r, c| {
        s[(r * layout.width + c) * channels + channel]
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn batch_planes_read_channels_last() {
        let mut b = Batch::zeros(2, 2, 3, 4, 2);
        // sample 1, pixel (1, 2), x channel 3 / y channel 1.
        b.x[24 + (3 + 2) * 4 + 3] = 7.0;
        b.y[12 + (3 + 2) * 2 + 1] = 5.0;
        assert_eq!(b.x_plane(1, 3).get(1, 2), 7.0);
        assert_eq!(b.y_plane(1, 1).get(1, 2), 5.0);
        assert_eq!(b.x_plane(0, 3).get(1, 2), 0.0);
    }
}
