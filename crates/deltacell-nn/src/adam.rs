//! Adam with Keras' constants (β1 0.9, β2 0.999, ε 1e-7), its update fused into one pass over
//! each parameter on the CPU.
//!
//! burn's `Adam` computes an update as a chain of about a dozen whole-tensor operations (scale
//! the moments, square the gradient, add, square root, divide, scale, subtract), each a pass
//! over memory with a fresh buffer: on DeLTA's 31 M-parameter U-Net that is a few gigabytes of
//! memory traffic per training step, a fifth of a mother-machine step on two cores. [`FusedAdam`]
//! computes the same update element by element in one parallel pass, with the same `f32`
//! operations in the same order, so its results are burn's bit for bit (tested), and it keeps
//! burn's state type ([`AdamState`]), so optimizer files (`optimizer.bpk`) are unchanged. On other
//! devices (CUDA) it hands the step to burn's `Adam`.

use burn::backend::DispatchDevice;
use burn::optim::{Adam, AdamConfig, AdamState, AdaptiveMomentumState, LearningRate, Optimizer};
use burn::tensor::{DType, Device, Tensor, TensorData};
use rayon::prelude::*;

/// Values per piece of parallel work (a few hundred kB of each of the four arrays).
const CHUNK: usize = 1 << 16;

/// A piece of the parameters, first moments, second moments (written) and gradients (read).
type Slices<'a> = (((&'a mut [f32], &'a mut [f32]), &'a mut [f32]), &'a [f32]);

/// Adam whose update is one fused pass per parameter on the CPU (see the module docs).
#[derive(Clone)]
pub struct FusedAdam {
    beta_1: f32,
    beta_2: f32,
    epsilon: f32,
    /// burn's Adam with the same constants, for devices other than the CPU.
    reference: Adam,
}

impl FusedAdam {
    /// Adam with Keras' defaults: β1 0.9, β2 0.999, ε 1e-7.
    pub fn keras() -> Self {
        let (beta_1, beta_2, epsilon) = (0.9, 0.999, 1e-7);
        FusedAdam {
            beta_1,
            beta_2,
            epsilon,
            reference: AdamConfig::new()
                .with_beta_1(beta_1)
                .with_beta_2(beta_2)
                .with_epsilon(epsilon)
                .build(),
        }
    }
}

fn on_cpu<const D: usize>(t: &Tensor<D>) -> bool {
    t.dtype() == DType::F32
        && matches!(
            t.device().as_dispatch().clone().inner(),
            DispatchDevice::Flex(_)
        )
}

/// The values of an `f32` tensor (without a copy when it holds the only reference to them).
fn values<const D: usize>(t: Tensor<D>) -> Vec<f32> {
    t.into_data()
        .try_into_vec::<f32>()
        .unwrap_or_else(|e| unreachable!("an f32 tensor: {e:?}"))
}

impl Optimizer for FusedAdam {
    type State<const D: usize> = AdamState<D>;

    fn step<const D: usize>(
        &self,
        lr: LearningRate,
        tensor: Tensor<D>,
        grad: Tensor<D>,
        state: Option<Self::State<D>>,
    ) -> (Tensor<D>, Option<Self::State<D>>) {
        let moments_on_cpu = state
            .as_ref()
            .is_none_or(|s| on_cpu(&s.momentum.moment_1) && on_cpu(&s.momentum.moment_2));
        if !(on_cpu(&tensor) && on_cpu(&grad) && moments_on_cpu)
            || state
                .as_ref()
                .is_some_and(|s| s.momentum.max_moment_2.is_some())
        {
            return self.reference.step(lr, tensor, grad, state);
        }
        let (device, dims) = (tensor.device(), tensor.dims());
        let mut p = values(tensor);
        let g = values(grad);
        let (time, mut m, mut v) = match state {
            Some(s) => (
                s.momentum.time + 1,
                values(s.momentum.moment_1),
                values(s.momentum.moment_2),
            ),
            // Zero moments give burn's first-step moments exactly (0·β + x = x).
            None => (1, vec![0f32; g.len()], vec![0f32; g.len()]),
        };
        // burn's `AdaptiveMomentum`: the bias corrections folded into one factor and ε.
        let t = time as i32;
        let bc2_sqrt = (1.0 - self.beta_2.powi(t)).sqrt();
        let factor = bc2_sqrt / (1.0 - self.beta_1.powi(t));
        let eps = self.epsilon * bc2_sqrt;
        let (b1, b2) = (self.beta_1, self.beta_2);
        let (f1, f2) = (1.0 - b1, 1.0 - b2);
        let lr = lr as f32;
        let update = |(((p, m), v), g): Slices<'_>| {
            for (((p, m), v), &g) in p.iter_mut().zip(m.iter_mut()).zip(v.iter_mut()).zip(g) {
                *m = *m * b1 + g * f1;
                *v = *v * b2 + (g * g) * f2;
                *p -= (*m * factor) / (v.sqrt() + eps) * lr;
            }
        };
        let parts = p
            .par_chunks_mut(CHUNK)
            .zip(m.par_chunks_mut(CHUNK))
            .zip(v.par_chunks_mut(CHUNK))
            .zip(g.par_chunks(CHUNK));
        if g.len() > CHUNK {
            parts.for_each(update);
        } else {
            update((((&mut p[..], &mut m[..]), &mut v[..]), &g[..]));
        }
        let tensor = |values: Vec<f32>| Tensor::from_data(TensorData::new(values, dims), &device);
        let momentum = AdaptiveMomentumState::new(time, tensor(m), tensor(v));
        (tensor(p), Some(AdamState::new(momentum)))
    }

    fn to_device<const D: usize>(state: Self::State<D>, device: &Device) -> Self::State<D> {
        <Adam as Optimizer>::to_device(state, device)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Three steps of the fused update against burn's `Adam` on the same values: the parameters
    /// and both moments equal bit for bit, on a tensor split into several chunks and a small one.
    #[test]
    fn fused_adam_is_burns_adam_bit_for_bit() {
        let device = crate::device::cpu().inner();
        let fused = FusedAdam::keras();
        for n in [7usize, 3 * CHUNK + 5] {
            let init: Vec<f32> = (0..n)
                .map(|i| ((i * 7919) % 1000) as f32 / 500.0 - 1.0)
                .collect();
            let mut a = Tensor::<1>::from_data(TensorData::new(init.clone(), [n]), &device);
            let mut b = a.clone();
            let (mut sa, mut sb) = (None, None);
            for step in 0..3 {
                let grad: Vec<f32> = (0..n)
                    .map(|i| ((i * 31 + step * 17) % 97) as f32 / 97.0 - 0.4)
                    .collect();
                let g = Tensor::<1>::from_data(TensorData::new(grad, [n]), &device);
                (a, sa) = fused.step(1e-3, a, g.clone(), sa);
                (b, sb) = fused.reference.step(1e-3, b, g, sb);
                let bits = |t: &Tensor<1>| -> Vec<u32> {
                    values(t.clone()).iter().map(|v| v.to_bits()).collect()
                };
                assert_eq!(bits(&a), bits(&b), "parameters after step {step}, n {n}");
                let (ma, mb) = (
                    &sa.as_ref().unwrap().momentum,
                    &sb.as_ref().unwrap().momentum,
                );
                assert_eq!(ma.time, mb.time);
                assert_eq!(bits(&ma.moment_1), bits(&mb.moment_1), "first moment");
                assert_eq!(bits(&ma.moment_2), bits(&mb.moment_2), "second moment");
            }
            assert_ne!(values(a), init, "the parameters moved");
        }
    }
}
