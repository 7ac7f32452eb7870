//! Batches as burn tensors: the one place where deltacell-data's channels-last [`Batch`] becomes
//! the channels-first tensors the U-Nets take (training and prediction alike).

use burn::tensor::{Device, Tensor, TensorData};
use deltacell_data::Batch;

use crate::error::{Error, Result};

/// Converts a channels-last [`Batch`] into channels-first tensors `(x, y)` on `device`:
/// `x` is `N×C×H×W`, `y` is `N×C'×H×W` (label, weight).
///
/// One copy of each buffer into the device and one permute; no per-element work in Rust.
pub fn batch_tensors(batch: &Batch, device: &Device) -> Result<(Tensor<4>, Tensor<4>)> {
    let x = input_tensor(batch, device)?;
    let (n, h, w, co) = (batch.n, batch.height, batch.width, batch.out_channels);
    if batch.y.len() != n * h * w * co || co == 0 {
        return Err(Error::Shape(format!(
            "target buffer has {} values, expected {n}×{h}×{w}×{co} (at least one channel)",
            batch.y.len()
        )));
    }
    let y = Tensor::<4>::from_data(TensorData::new(batch.y.clone(), [n, h, w, co]), device)
        .permute([0, 3, 1, 2]);
    Ok((x, y))
}

/// The inputs of a [`Batch`] as a channels-first tensor `N×C×H×W` on `device`.
pub fn input_tensor(batch: &Batch, device: &Device) -> Result<Tensor<4>> {
    let (n, h, w, ci) = (batch.n, batch.height, batch.width, batch.in_channels);
    if batch.x.len() != n * h * w * ci || n == 0 || ci == 0 {
        return Err(Error::Shape(format!(
            "input buffer has {} values, expected {n}×{h}×{w}×{ci} (non-empty)",
            batch.x.len()
        )));
    }
    Ok(
        Tensor::<4>::from_data(TensorData::new(batch.x.clone(), [n, h, w, ci]), device)
            .permute([0, 3, 1, 2]),
    )
}
