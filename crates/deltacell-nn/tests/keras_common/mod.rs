//! Shared by the Keras export tests: tiny trained run folders, fixed inputs, reference files.

#![allow(dead_code)]

use std::path::{Path, PathBuf};

use burn::module::Module;

use deltacell_nn::infer::Predictor;
use deltacell_nn::run_dir::{ModelInfo, RunDir};
use deltacell_nn::{device, Batch, Kind, Trainer, UnetSpec};

/// DeLTA 2.0.7's reference models (`shared/reference/delta-2.0.7/keras/`).
pub fn reference(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/reference/delta-2.0.7/keras")
        .join(name)
}

/// A deterministic pseudo-random batch `n × h × w × channels` in [0, 1), with stacked targets
/// `[label, weight]` (bright pixels are cells, weight 1).
pub fn batch(n: usize, h: usize, w: usize, channels: usize, seed: u64) -> Batch {
    let mut b = Batch::zeros(n, h, w, channels, 2);
    let mut s = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15).wrapping_add(1);
    for v in b.x.iter_mut() {
        s = s
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        *v = ((s >> 40) as f32) / (1u64 << 24) as f32;
    }
    for p in 0..n * h * w {
        b.y[2 * p] = if b.x[p * channels] > 0.5 { 1.0 } else { 0.0 };
        b.y[2 * p + 1] = 1.0;
    }
    b
}

/// Trains a `kind` U-Net with `filters` for `steps` Adam steps (learning rate 1e-3, so that
/// every weight and bias moves) on `size` inputs and saves it as the run folder `dir`.
pub fn tiny_run(
    dir: &Path,
    kind: Kind,
    filters: Vec<usize>,
    size: [usize; 2],
    steps: usize,
    seed: u64,
) -> PathBuf {
    let device = device::cpu();
    let spec = UnetSpec::with_filters(kind, filters);
    let mut trainer = Trainer::new(spec.clone(), seed, Some(1e-3), &device).unwrap();
    for step in 0..steps {
        let b = batch(
            2,
            size[0],
            size[1],
            spec.input_channels,
            seed * 100 + step as u64,
        );
        trainer.step(&b).unwrap();
    }
    let mut info = ModelInfo::new(spec, size);
    info.seed = seed;
    (info.epoch, info.loss) = (1, 0.5);
    RunDir::create(dir)
        .unwrap()
        .save_best(&trainer.model().valid(), &info)
        .unwrap();
    dir.to_path_buf()
}

/// deltacell's probabilities (`predict --probabilities`, before 8-bit quantisation) of the
/// run folder `run` on `b`.
pub fn probabilities(run: &Path, b: &Batch) -> Vec<f32> {
    Predictor::load(run, &device::cpu())
        .unwrap()
        .predict_probabilities(b)
        .unwrap()
}

/// The largest absolute difference.
pub fn max_abs(a: &[f32], b: &[f32]) -> f32 {
    assert_eq!(a.len(), b.len());
    a.iter()
        .zip(b)
        .map(|(x, y)| (x - y).abs())
        .fold(0f32, f32::max)
}
