//! DeLTA's U-Net (`delta.model.unet`) and its three uses: `unet_seg`, `unet_track`, `unet_rois`.
//!
//! Topology (spec §3.1), identical for the three models:
//! * encoder level 0: conv 3×3 + ReLU, twice; level l ≥ 1: 2×2 max-pool (stride 2), then conv 3×3
//!   + ReLU twice, with `filters[l]` channels (default 64·2^l over 5 levels);
//! * decoder, from the bottom up to level l: 2× nearest upsampling, conv **2×2** + ReLU with
//!   `filters[l]` channels (Keras "same" padding for an even kernel pads one row/column at the
//!   bottom/right only), concatenation `[skip, upsampled]` along the channels (skip first), then
//!   conv 3×3 + ReLU twice;
//! * head: conv 1×1 to one channel, **logits** (DeLTA's newest line; 2.0.7 applied a sigmoid,
//!   take `sigmoid(logits)`, as [`crate::infer::Predictor::predict_probabilities`] does, for probabilities).
//!
//! No batch normalisation, no dropout (DeLTA's default `dropout = 0`).
//!
//! Initialisation follows Keras' `he_normal` exactly: a normal distribution truncated at two
//! standard deviations with σ = √(2 / fan_in) / 0.8796 (fan_in = kh·kw·in_channels), biases zero.
//! It is drawn from a ChaCha8 stream of the run's seed, so a model is reproducible from its seed.
//! (burn's default, PyTorch's uniform initialisation, trains this network much more slowly.)
//!
//! Parameter ids are assigned deterministically (0, 1, 2, … in layer order) so that an optimizer
//! state saved with one model instance applies to a reloaded one ([`crate::train`] resumes this
//! way).

use burn::module::{Module, Param, ParamId};
use burn::nn::conv::Conv2d;
use burn::nn::PaddingConfig2d;
use burn::tensor::{Device, Tensor, TensorData};
use rand::SeedableRng;
use rand_distr::{Distribution, StandardNormal};
use serde::{Deserialize, Serialize};

pub use deltacell_data::Kind;

use crate::error::{Error, Result};

/// The architecture of one U-Net: everything needed to rebuild it (saved in `model.toml`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UnetSpec {
    /// Which network.
    pub kind: Kind,
    /// Input channels (DeLTA: 1 for seg/rois, 4 for track).
    pub input_channels: usize,
    /// Filters per level, from the top (full resolution) down; `len()` = levels.
    /// DeLTA: `[64, 128, 256, 512, 1024]`.
    pub filters: Vec<usize>,
}

impl UnetSpec {
    /// DeLTA's network for `kind`: 5 levels, filters 64·2^l.
    pub fn delta(kind: Kind) -> Self {
        Self::with_levels(kind, 5)
    }

    /// DeLTA's network for `kind` with `levels` levels (filters 64·2^l, l < levels).
    pub fn with_levels(kind: Kind, levels: usize) -> Self {
        UnetSpec {
            kind,
            input_channels: kind.input_channels(),
            filters: (0..levels).map(|l| 64usize << l).collect(),
        }
    }

    /// An explicit filter list (levels = `filters.len()`), e.g. `[8, 16]` for tests.
    pub fn with_filters(kind: Kind, filters: Vec<usize>) -> Self {
        UnetSpec {
            kind,
            input_channels: kind.input_channels(),
            filters,
        }
    }

    /// Number of levels.
    pub fn levels(&self) -> usize {
        self.filters.len()
    }

    /// Checks the spec (at least one level, no zero filter count or channel count).
    pub fn validate(&self) -> Result<()> {
        let problem = if self.filters.is_empty() {
            "a U-Net needs at least one level"
        } else if self.filters.contains(&0) || self.input_channels == 0 {
            "filter and channel counts must be positive"
        } else if self.levels() > 12 {
            "more than 12 levels is too deep"
        } else {
            return Ok(());
        };
        Err(Error::Architecture {
            filters: self.filters.clone(),
            input_channels: self.input_channels,
            problem,
        })
    }

    /// Spatial sizes must be divisible by this (2^(levels−1)), as in DeLTA (odd sizes at a
    /// pooling step are unsupported there too).
    pub fn size_multiple(&self) -> usize {
        1usize << self.levels().saturating_sub(1)
    }

    /// Checks that an input of `height × width` fits the network.
    pub fn check_input_size(&self, height: usize, width: usize) -> Result<()> {
        let m = self.size_multiple();
        if height == 0 || width == 0 || !height.is_multiple_of(m) || !width.is_multiple_of(m) {
            return Err(Error::Shape(format!(
                "input {height}×{width} must be a non-empty multiple of {m} (2^(levels−1)) in both \
                 dimensions"
            )));
        }
        Ok(())
    }

    /// The parameter count by DeLTA's formula (`test_nb_params_unet`): encoder Σ (1+9a)b +
    /// (1+9b)b, decoder Σ (1+4a)b + (1+9a)b + (1+9b)b (a deeper, b shallower), head 1 + f0.
    pub fn param_count(&self) -> usize {
        let f = &self.filters;
        let mut n = 0;
        let mut a = self.input_channels;
        for &b in f {
            n += (1 + 9 * a) * b + (1 + 9 * b) * b;
            a = b;
        }
        for l in (0..f.len().saturating_sub(1)).rev() {
            let (a, b) = (f[l + 1], f[l]);
            n += (1 + 4 * a) * b + (1 + 9 * a) * b + (1 + 9 * b) * b;
        }
        n + 1 + f.first().copied().unwrap_or(0)
    }

    /// A lower estimate of the memory one training step needs, bytes, for `batch` inputs of
    /// `height × width`: the activations kept for the backward pass and their gradients
    /// (about 7 maps of `filters[l]` channels per level at `1/4^l` of the pixels, twice) plus
    /// the parameters with their gradients and Adam's two moments. Used to refuse a run that
    /// cannot fit before anything is allocated ([`deltacell_data::memory::ensure_fits`]); the
    /// real peak is higher (workspace buffers).
    pub fn training_bytes(&self, batch: usize, height: usize, width: usize) -> u64 {
        let pixels = (height as u64).saturating_mul(width as u64);
        let per_sample: u64 = self
            .filters
            .iter()
            .enumerate()
            .map(|(l, &f)| (pixels >> (2 * l as u32).min(63)).saturating_mul(7 * f as u64))
            .fold(0u64, u64::saturating_add);
        let activations = per_sample
            .saturating_mul(batch as u64)
            .saturating_mul(2 * 4);
        activations.saturating_add((self.param_count() as u64).saturating_mul(4 * 4))
    }

    /// Builds the network on `device` with He-normal weights drawn from `seed`.
    pub fn init(&self, seed: u64, device: &Device) -> Result<Unet> {
        self.validate()?;
        let mut init = Init {
            rng: rand_chacha::ChaCha8Rng::seed_from_u64(seed),
            next_id: 0,
            device: device.clone(),
        };
        let f = &self.filters;
        let mut down = Vec::with_capacity(f.len());
        let mut a = self.input_channels;
        for &b in f {
            down.push(DoubleConv {
                conv1: init.conv(a, b, 3),
                conv2: init.conv(b, b, 3),
            });
            a = b;
        }
        // Decoder stages, stored from the deepest to the shallowest (the order they run).
        let mut up = Vec::with_capacity(f.len().saturating_sub(1));
        for l in (0..f.len().saturating_sub(1)).rev() {
            let (a, b) = (f[l + 1], f[l]);
            up.push(UpStage {
                conv_up: init.conv(a, b, 2),
                convs: DoubleConv {
                    conv1: init.conv(2 * b, b, 3),
                    conv2: init.conv(b, b, 3),
                },
            });
        }
        let head = init.conv(f[0], 1, 1);
        Ok(Unet { down, up, head })
    }
}

/// Draws Keras-style He-normal convolution weights and hands out sequential parameter ids.
struct Init {
    rng: rand_chacha::ChaCha8Rng,
    next_id: u64,
    device: Device,
}

impl Init {
    fn id(&mut self) -> ParamId {
        self.next_id += 1;
        ParamId::from(self.next_id)
    }

    fn conv(&mut self, cin: usize, cout: usize, k: usize) -> Conv2d {
        let fan_in = (cin * k * k) as f64;
        // Keras VarianceScaling(2, fan_in, truncated_normal): the 0.8796 factor restores the
        // variance lost by truncating at ±2σ.
        let std = (2.0 / fan_in).sqrt() / 0.879_625_661_034_239_8;
        let n = cout * cin * k * k;
        let mut w = Vec::with_capacity(n);
        while w.len() < n {
            let z: f64 = StandardNormal.sample(&mut self.rng);
            if z.abs() <= 2.0 {
                w.push((z * std) as f32);
            }
        }
        let weight = Tensor::<4>::from_data(TensorData::new(w, [cout, cin, k, k]), &self.device);
        let bias = Tensor::<1>::from_data(TensorData::new(vec![0f32; cout], [cout]), &self.device);
        let mut weight = Param::from_tensor(weight);
        weight.id = self.id();
        let mut bias = Param::from_tensor(bias);
        bias.id = self.id();
        // Keras "same": k = 3 pads 1 on every side; k = 2 pads only bottom/right; k = 1 none.
        let padding = match k {
            3 => PaddingConfig2d::Explicit(1, 1, 1, 1),
            2 => PaddingConfig2d::Explicit(0, 0, 1, 1),
            _ => PaddingConfig2d::Valid,
        };
        Conv2d {
            weight,
            bias: Some(bias),
            stride: [1, 1],
            kernel_size: [k, k],
            dilation: [1, 1],
            groups: 1,
            padding,
        }
    }
}

/// Two 3×3 convolutions, each followed by ReLU.
#[derive(Module, Debug)]
pub struct DoubleConv {
    conv1: Conv2d,
    conv2: Conv2d,
}

impl DoubleConv {
    fn forward(&self, x: Tensor<4>) -> Tensor<4> {
        apply(&self.conv2, apply(&self.conv1, x, true), true)
    }
}

/// `relu(conv2×2(upsample2(x)))` with the layer's weights (built with "same" padding, bottom
/// and right), through [`crate::conv::up_conv2d`].
fn up_apply(conv: &Conv2d, x: Tensor<4>) -> Tensor<4> {
    let (weight, bias) = weight_and_bias(conv);
    crate::conv::up_conv2d(x, weight, bias, true)
}

/// The layer's kernel and its bias (zeros when it has none).
fn weight_and_bias(conv: &Conv2d) -> (Tensor<4>, Tensor<1>) {
    let weight = conv.weight.val();
    let bias = match &conv.bias {
        Some(b) => b.val(),
        None => Tensor::zeros([weight.dims()[0]], &weight.device()),
    };
    (weight, bias)
}

/// `relu?(conv(x))` with the layer's weights and padding, through the fused CPU kernels of
/// [`crate::conv`] (burn's own convolution on other devices).
fn apply(conv: &Conv2d, x: Tensor<4>, relu: bool) -> Tensor<4> {
    let (weight, bias) = weight_and_bias(conv);
    crate::conv::conv2d(x, weight, bias, conv_padding(conv), relu)
}

/// The layer's zero padding `[top, left, bottom, right]`.
fn conv_padding(conv: &Conv2d) -> [usize; 4] {
    match conv.padding {
        PaddingConfig2d::Explicit(top, left, bottom, right) => [top, left, bottom, right],
        PaddingConfig2d::Valid => [0; 4],
        // Layers are built with explicit padding (`Init::conv`); "same" splits k − 1 as evenly
        // as it can, the extra pixel at the bottom/right.
        PaddingConfig2d::Same => {
            let [kh, kw] = conv.kernel_size;
            [(kh - 1) / 2, (kw - 1) / 2, kh / 2, kw / 2]
        }
    }
}

/// One decoder stage: upsample ×2, conv 2×2 + ReLU, concatenate with the skip, two 3×3 convs.
#[derive(Module, Debug)]
pub struct UpStage {
    conv_up: Conv2d,
    convs: DoubleConv,
}

/// A DeLTA U-Net. Input `N×C×H×W` (H, W multiples of 2^(levels−1)), output logits `N×1×H×W`.
#[derive(Module, Debug)]
pub struct Unet {
    down: Vec<DoubleConv>,
    up: Vec<UpStage>,
    head: Conv2d,
}

impl Unet {
    /// Forward pass: logits `N×1×H×W` for inputs `N×C×H×W`.
    ///
    /// The caller checks the input size ([`UnetSpec::check_input_size`]); [`crate::Trainer`]
    /// and [`crate::infer`] do.
    pub fn forward(&self, x: Tensor<4>) -> Tensor<4> {
        let mut skips = Vec::with_capacity(self.down.len());
        let mut x = x;
        for (l, level) in self.down.iter().enumerate() {
            if l > 0 {
                x = crate::conv::max_pool2d(x);
            }
            x = level.forward(x);
            skips.push(x.clone());
        }
        // The bottom level's output is `x` itself, not a skip connection.
        skips.pop();
        for stage in &self.up {
            // Nearest 2× upsampling, conv 2×2 ("same": padded below and right) and ReLU, fused.
            let up = up_apply(&stage.conv_up, x);
            // `up` stages and `skips` pair from the deepest level upwards.
            x = match skips.pop() {
                // Concatenation [skip, up] and the first 3×3 convolution, fused.
                Some(skip) => {
                    let (weight, bias) = weight_and_bias(&stage.convs.conv1);
                    let padding = conv_padding(&stage.convs.conv1);
                    let y = crate::conv::conv2d_cat(skip, up, weight, bias, padding, true);
                    apply(&stage.convs.conv2, y, true)
                }
                None => stage.convs.forward(up),
            };
        }
        apply(&self.head, x, false)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formula_matches_delta_published_counts() {
        assert_eq!(UnetSpec::delta(Kind::Seg).param_count(), 31_030_593);
        assert_eq!(UnetSpec::delta(Kind::Track).param_count(), 31_032_321);
    }

    #[test]
    fn module_params_match_formula_for_levels_1_to_4() {
        let device = crate::device::cpu();
        for levels in 1..=4 {
            let spec = UnetSpec::with_levels(Kind::Seg, levels);
            let model = spec.init(1, &device).unwrap();
            assert_eq!(model.num_params(), spec.param_count(), "levels {levels}");
        }
    }

    #[test]
    fn tiny_forward_shapes() {
        let device = crate::device::cpu();
        for kind in [Kind::Seg, Kind::Track, Kind::Rois] {
            let spec = UnetSpec::with_filters(kind, vec![4, 8, 8]);
            let model = spec.init(3, &device).unwrap();
            let x = Tensor::<4>::zeros([2, spec.input_channels, 16, 8], &device);
            assert_eq!(model.forward(x).dims(), [2, 1, 16, 8]);
        }
    }

    #[test]
    fn init_is_reproducible_and_he_scaled() {
        let device = crate::device::cpu();
        let spec = UnetSpec::with_filters(Kind::Seg, vec![8, 16]);
        let a = spec.init(7, &device).unwrap();
        let b = spec.init(7, &device).unwrap();
        let c = spec.init(8, &device).unwrap();
        let first_conv = |u: &Unet| {
            u.down[1]
                .conv1
                .weight
                .val()
                .into_data()
                .try_to_vec::<f32>()
                .unwrap()
        };
        let (wa, wb, wc) = (first_conv(&a), first_conv(&b), first_conv(&c));
        assert_eq!(wa, wb);
        assert_ne!(wa, wc);
        // fan_in = 8·9 = 72: σ = √(2/72) ≈ 0.1667 after the truncation correction.
        let var = wa.iter().map(|v| (*v as f64).powi(2)).sum::<f64>() / wa.len() as f64;
        assert!(
            (var.sqrt() - (2.0f64 / 72.0).sqrt()).abs() < 0.02,
            "std {}",
            var.sqrt()
        );
        let max = wa.iter().fold(0f32, |m, v| m.max(v.abs())) as f64;
        assert!(max <= 2.0 * (2.0f64 / 72.0).sqrt() / 0.8796 + 1e-6);
    }

    #[test]
    fn rejects_bad_sizes_and_specs() {
        let spec = UnetSpec::delta(Kind::Seg);
        assert!(spec.check_input_size(256, 32).is_ok());
        assert!(spec.check_input_size(256, 24).is_err());
        assert!(UnetSpec::with_filters(Kind::Seg, vec![])
            .validate()
            .is_err());
    }
}
