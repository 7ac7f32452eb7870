//! DeLTA's losses and metric (`delta.model`, spec §3.3), computed from logits.
//!
//! Targets are stacked along the channel axis as in DeLTA: channel 0 is the binary label `s`,
//! channel 1 (when present) the pixel weight `w ≥ 0`. Logits `z` have one channel.
//!
//! * [`weighted_bce_seg`] — `pixelwise_weighted_binary_crossentropy_seg`: where `w == 0`, `w` is
//!   replaced by the predicted probability `sigmoid(z)` (gradients flow through it, as in
//!   Keras), then `loss = 1e6 · mean(w·e) / √Σw` with the per-pixel BCE
//!   `e = max(z,0) − z·s + log(1 + exp(−|z|))` and Σ over the whole batch.
//! * [`weighted_bce_track`] — `pixelwise_weighted_binary_crossentropy_track`: the same without
//!   the replacement.
//! * [`bce`] — `unet_rois`' `BinaryCrossentropy(from_logits=True)`: `mean(e)`.
//! * [`unstack_acc`] — binary accuracy of channel 0 against `z > 0` (threshold 0 on logits).
//!
//! The `*_map` functions return the per-pixel loss `N×1×H×W` whose mean is the loss (DeLTA's
//! test sums it); they exist for tests and diagnostics.
//!
//! Every sum here runs in an order fixed by the tensor's shape ([`sum_all`], [`mean_all`]), so
//! a loss and its gradient are the same bit for bit whichever threads compute them.
//!
//! Difference from 2.0.7: 2.0.7 worked on sigmoid outputs clipped to [1e-7, 1−1e-7] and took the
//! logit back; from logits the loss is exact for large |z| (the newest line does the same).

use burn::tensor::activation::{relu, sigmoid};
use burn::tensor::Tensor;

use crate::unet::Kind;

/// Which weighted loss.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WeightedVariant {
    /// Zero weights replaced by the predicted probability.
    Seg,
    /// Zero weights stay zero.
    Track,
}

/// Per-pixel binary cross-entropy from logits `z` against labels `s` (numerically stable).
pub fn bce_elementwise(logits: Tensor<4>, labels: Tensor<4>) -> Tensor<4> {
    let softplus_neg_abs = logits.clone().abs().neg().exp().log1p();
    relu(logits.clone()) - logits * labels + softplus_neg_abs
}

/// `Σ t` over all values of `t` (`N×C×H×W`), shape `[1]`, in an order fixed by the shape: each
/// row (the last axis) summed on its own, then the rows of each plane, then the planes' sums.
///
/// burn's flat `sum` splits a tensor of 4 Mi values or more (a batch of 16 images of 512×512)
/// between rayon's threads with work stealing, and so rounds differently from run to run; its
/// sums along one axis compute each output from its inputs in order.
///
/// ```
/// use burn::tensor::{Tensor, TensorData};
/// let data = TensorData::new(vec![1.0f32, 2.0, 3.0, 4.5], [1, 1, 2, 2]);
/// let t = Tensor::<4>::from_data(data, &deltacell_nn::device::cpu());
/// assert_eq!(deltacell_nn::loss::sum_all(t).into_scalar::<f32>(), 10.5);
/// ```
pub fn sum_all(t: Tensor<4>) -> Tensor<1> {
    t.sum_dim(3).sum_dim(2).sum()
}

/// The mean of all values of `t`, shape `[1]`: [`sum_all`] divided by their number.
///
/// ```
/// use burn::tensor::{Tensor, TensorData};
/// let data = TensorData::new(vec![1.0f32, 2.0, 3.0, 6.0], [1, 2, 1, 2]);
/// let t = Tensor::<4>::from_data(data, &deltacell_nn::device::cpu());
/// assert_eq!(deltacell_nn::loss::mean_all(t).into_scalar::<f32>(), 3.0);
/// ```
pub fn mean_all(t: Tensor<4>) -> Tensor<1> {
    let count = t.shape().num_elements() as f64;
    sum_all(t).div_scalar(count)
}

/// Splits stacked targets `N×C×H×W` into label (channel 0) and weight (channel 1, or ones).
pub fn split_targets(y: Tensor<4>) -> (Tensor<4>, Tensor<4>) {
    let [_, c, _, _] = y.dims();
    let label = y.clone().narrow(1, 0, 1);
    let weight = if c > 1 {
        y.narrow(1, 1, 1)
    } else {
        label.ones_like()
    };
    (label, weight)
}

/// The per-pixel weighted loss map `N×1×H×W` (its mean is the loss).
pub fn weighted_bce_map(logits: Tensor<4>, y: Tensor<4>, variant: WeightedVariant) -> Tensor<4> {
    let (label, weight) = split_targets(y);
    let weight = match variant {
        WeightedVariant::Seg => {
            let zero = weight.clone().equal_elem(0.0);
            weight.mask_where(zero, sigmoid(logits.clone()))
        }
        WeightedVariant::Track => weight,
    };
    let e = bce_elementwise(logits, label);
    let norm = sum_all(weight.clone()).sqrt().recip().mul_scalar(1e6);
    (weight * e) * norm.reshape([1, 1, 1, 1])
}

/// `pixelwise_weighted_binary_crossentropy_seg` from logits: a scalar tensor of shape `[1]`.
pub fn weighted_bce_seg(logits: Tensor<4>, y: Tensor<4>) -> Tensor<1> {
    mean_all(weighted_bce_map(logits, y, WeightedVariant::Seg))
}

/// `pixelwise_weighted_binary_crossentropy_track` from logits: a scalar tensor of shape `[1]`.
pub fn weighted_bce_track(logits: Tensor<4>, y: Tensor<4>) -> Tensor<1> {
    mean_all(weighted_bce_map(logits, y, WeightedVariant::Track))
}

/// Plain binary cross-entropy from logits against channel 0 of `y` (`unet_rois`).
pub fn bce(logits: Tensor<4>, y: Tensor<4>) -> Tensor<1> {
    let label = y.narrow(1, 0, 1);
    mean_all(bce_elementwise(logits, label))
}

/// The training loss DeLTA compiles each model with.
pub fn for_model(kind: Kind, logits: Tensor<4>, y: Tensor<4>) -> Tensor<1> {
    match kind {
        Kind::Seg => weighted_bce_seg(logits, y),
        Kind::Track => weighted_bce_track(logits, y),
        Kind::Rois => bce(logits, y),
    }
}

/// `unstack_acc`: fraction of pixels where `z > 0` agrees with `label > 0.5`, shape `[1]`.
pub fn unstack_acc(logits: Tensor<4>, y: Tensor<4>) -> Tensor<1> {
    let label = y.narrow(1, 0, 1).greater_elem(0.5).float();
    let pred = logits.greater_elem(0.0).float();
    mean_all((pred - label).abs()).neg().add_scalar(1.0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::tensor::TensorData;

    fn t(v: Vec<f32>, c: usize) -> Tensor<4> {
        let n = v.len() / c;
        // channels-first N=1, C=c, H=1, W=n
        Tensor::from_data(TensorData::new(v, [1, c, 1, n]), &crate::device::cpu())
    }

    fn scalar(x: Tensor<1>) -> f32 {
        x.into_scalar::<f32>()
    }

    #[test]
    fn bce_matches_direct_formula() {
        let z = vec![-3.0f32, -0.5, 0.0, 0.7, 4.0];
        let s = vec![0.0f32, 1.0, 1.0, 0.0, 1.0];
        let want: f32 = z
            .iter()
            .zip(&s)
            .map(|(&z, &s)| {
                let p = 1.0 / (1.0 + (-z).exp());
                -(s * p.ln() + (1.0 - s) * (1.0 - p).ln())
            })
            .sum::<f32>()
            / 5.0;
        let got = scalar(bce(t(z, 1), t(s, 1)));
        assert!((got - want).abs() < 1e-5, "{got} vs {want}");
    }

    #[test]
    fn seg_replaces_zero_weights_track_does_not() {
        let z = vec![2.0f32, -1.0];
        let y = vec![1.0f32, 0.0, 0.0, 1.0]; // labels [1,0], weights [0,1]
        let seg = scalar(weighted_bce_seg(t(z.clone(), 1), t(y.clone(), 2)));
        let track = scalar(weighted_bce_track(t(z.clone(), 1), t(y, 2)));
        let e = |z: f32, s: f32| z.max(0.0) - z * s + (-z.abs()).exp().ln_1p();
        let p0 = 1.0 / (1.0 + (-2.0f32).exp());
        let want_seg = 1e6 * (p0 * e(2.0, 1.0) + e(-1.0, 0.0)) / 2.0 / (p0 + 1.0).sqrt();
        let want_track = 1e6 * e(-1.0, 0.0) / 2.0;
        assert!((seg / want_seg - 1.0).abs() < 1e-5, "{seg} {want_seg}");
        assert!(
            (track / want_track - 1.0).abs() < 1e-5,
            "{track} {want_track}"
        );
    }

    #[test]
    fn accuracy_thresholds_logits_at_zero() {
        let z = vec![1.0f32, -1.0, 0.5, -0.2];
        let y = vec![1.0f32, 1.0, 0.0, 0.0];
        assert!((scalar(unstack_acc(t(z, 1), t(y, 1))) - 0.5).abs() < 1e-6);
    }
}
