//! The built-in synthetic batches of `deltacell train --data builtin:synth`: bright rectangles
//! ("cells") on a dim, noisy background, made in memory batch by batch. A smoke test of the
//! whole training stack that needs no files; not a model of real images (see [`super::generate`]
//! for those).

use rand::Rng;

use crate::batch::Batch;
use crate::random::stream;

/// The seed offset of the validation batches: a fixed set, distinct from the training stream.
const VALIDATION_SEED: u64 = 0xDA7A;

/// A source of rectangle batches of one geometry, reproducible from `(seed, epoch, step)`.
///
/// ```
/// use deltacell_data::synth::RectangleBatches;
/// let source = RectangleBatches { batch_size: 2, height: 8, width: 8, channels: 1, seed: 1 };
/// let b = source.train(0, 0);
/// assert_eq!((b.n, b.height, b.width, b.in_channels, b.out_channels), (2, 8, 8, 1, 2));
/// assert_eq!(b, source.train(0, 0));
/// assert_ne!(b, source.validation(0));
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RectangleBatches {
    /// Samples per batch, at least 1.
    pub batch_size: usize,
    /// Rows of each sample (pixels).
    pub height: usize,
    /// Columns of each sample (pixels).
    pub width: usize,
    /// Input channels (the image is repeated in each).
    pub channels: usize,
    /// Seed of the stream.
    pub seed: u64,
}

impl RectangleBatches {
    /// Training batch `step` of `epoch` (0-based).
    pub fn train(&self, epoch: usize, step: usize) -> Batch {
        self.batch(self.seed, epoch as u64, step as u64)
    }

    /// Validation batch `step`: the same batches every epoch.
    pub fn validation(&self, step: usize) -> Batch {
        self.batch(self.seed ^ VALIDATION_SEED, u64::MAX, step as u64)
    }

    /// A one-line fingerprint of the data (recorded in `model.toml`).
    pub fn fingerprint(&self) -> String {
        format!("synth:seed={}", self.seed)
    }

    /// Rectangles of intensity 0.8 on a background of 0.2 plus up to 0.05 of uniform noise; the
    /// label (channel 0 of `y`) marks the rectangles, the weights (channel 1) are 1.
    fn batch(&self, seed: u64, epoch: u64, step: u64) -> Batch {
        let (n, h, w, c) = (self.batch_size, self.height, self.width, self.channels);
        let mut rng = stream(seed, epoch, step);
        let mut b = Batch::zeros(n, h, w, c, 2);
        for k in 0..n {
            for p in 0..h * w {
                for ch in 0..c {
                    b.x[(k * h * w + p) * c + ch] = 0.2 + 0.05 * rng.random::<f32>();
                }
                b.y[(k * h * w + p) * 2 + 1] = 1.0;
            }
            let cells = 1 + (h * w) / 400;
            for _ in 0..cells.min(40) {
                let rh = rng.random_range(2..(h / 3).max(3));
                let rw = rng.random_range(2..(w / 3).max(3));
                let r0 = rng.random_range(0..h.saturating_sub(rh).max(1));
                let c0 = rng.random_range(0..w.saturating_sub(rw).max(1));
                for r in r0..(r0 + rh).min(h) {
                    for col in c0..(c0 + rw).min(w) {
                        let p = k * h * w + r * w + col;
                        for ch in 0..c {
                            b.x[p * c + ch] = 0.8;
                        }
                        b.y[p * 2] = 1.0;
                    }
                }
            }
        }
        b
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn batches_depend_on_seed_epoch_and_step() {
        let s = RectangleBatches {
            batch_size: 1,
            height: 16,
            width: 16,
            channels: 4,
            seed: 3,
        };
        assert_eq!(s.train(1, 2), s.train(1, 2));
        assert_ne!(s.train(1, 2), s.train(2, 1));
        assert_eq!(s.validation(0), s.validation(0));
        let b = s.train(0, 0);
        // Every label is 0 or 1, and rectangles are bright in every channel.
        assert!(b.y.iter().all(|&v| v == 0.0 || v == 1.0));
        for p in 0..16 * 16 {
            if b.y[p * 2] == 1.0 {
                assert!((0..4).all(|ch| b.x[p * 4 + ch] == 0.8));
            }
        }
    }
}
