//! The kernels plugged into burn: a backend extension (forward for `Flex`, a hand-written
//! backward for `Autodiff<Flex>`) and the public [`conv2d`] / [`up_conv2d`] that fall back to
//! burn's own operations on other devices.

use burn::backend::autodiff::checkpoint::base::Checkpointer;
use burn::backend::autodiff::checkpoint::strategy::CheckpointStrategy;
use burn::backend::autodiff::grads::Gradients;
use burn::backend::autodiff::ops::{Backward, Ops, OpsKind};
use burn::backend::tensor::FloatTensor;
use burn::backend::{backend_extension, Autodiff, Backend, DispatchDevice, Flex};
use burn::tensor::activation::relu;
use burn::tensor::module::conv2d as burn_conv2d;
use burn::tensor::ops::ConvOptions;
use burn::tensor::{DType, Tensor, TensorData};

use super::{
    forward, forward_cat, input_grad, input_grad_cat, max_pool2, max_pool2_backward, relu_backward,
    relu_backward_bias, up_backward, up_forward, weight_grad, weight_grad_cat, Geometry, Padding,
};

/// The fused convolution as a burn backend operation (CPU `flex` and its autodiff).
#[backend_extension(Flex, Autodiff)]
pub trait ConvBackend: Backend {
    /// `relu?(conv2d(x, weight) + bias)` with stride 1 and the given zero padding, or with
    /// `upsample` DeLTA's up-convolution `relu?(conv2×2(upsample2(x)) + bias)` (padding
    /// ignored).
    fn deltacell_conv2d(
        x: FloatTensor<Self>,
        weight: FloatTensor<Self>,
        bias: FloatTensor<Self>,
        padding: Padding,
        relu: bool,
        upsample: bool,
    ) -> FloatTensor<Self>;

    /// `relu?(conv2d(cat([skip, up], channels), weight) + bias)` (stride 1, the given zero
    /// padding) without the concatenated tensor: the decoder's first 3×3 convolution of a level.
    fn deltacell_conv2d_cat(
        skip: FloatTensor<Self>,
        up: FloatTensor<Self>,
        weight: FloatTensor<Self>,
        bias: FloatTensor<Self>,
        padding: Padding,
        relu: bool,
    ) -> FloatTensor<Self>;

    /// 2×2 max-pooling with stride 2 (`N × C × H × W` → `N × C × H/2 × W/2`), whose backward
    /// recomputes the positions of the maxima from the input instead of storing indices.
    fn deltacell_max_pool2(x: FloatTensor<Self>) -> FloatTensor<Self>;
}

/// The geometry of `x` (`n × cin × h × w`) convolved with `weight` (`cout × cin × kh × kw`).
fn geometry(x: &[usize], weight: &[usize], pad: Padding) -> Geometry {
    Geometry {
        n: x[0],
        cin: x[1],
        h: x[2],
        w: x[3],
        cout: weight[0],
        kh: weight[2],
        kw: weight[3],
        pad,
    }
}

fn flex_tensor(values: Vec<f32>, shape: [usize; 4]) -> burn::backend::flex::FlexTensor {
    burn::backend::flex::FlexTensor::from_data(TensorData::new(values, shape))
}

fn flex_shape(t: &burn::backend::flex::FlexTensor) -> Vec<usize> {
    t.layout().shape().iter().copied().collect()
}

/// `[n, c, h, w]` of a tensor of `Tensor<_, 4>` (its rank is the type's, so it has four
/// dimensions; a lower rank would read as leading dimensions of 1, never a panic).
fn flex_nchw(t: &burn::backend::flex::FlexTensor) -> [usize; 4] {
    let mut dims = [1; 4];
    for (d, &s) in dims.iter_mut().rev().zip(t.layout().shape().iter().rev()) {
        *d = s;
    }
    dims
}

fn flex_forward(
    x: &burn::backend::flex::FlexTensor,
    weight: &burn::backend::flex::FlexTensor,
    bias: &burn::backend::flex::FlexTensor,
    padding: Padding,
    relu: bool,
    upsample: bool,
) -> burn::backend::flex::FlexTensor {
    super::tune_allocator();
    let g = geometry(&flex_shape(x), &flex_shape(weight), padding);
    let xc = x.to_contiguous();
    let wc = weight.to_contiguous();
    let bc = bias.to_contiguous();
    if upsample {
        let out = up_forward(
            [g.n, g.cin, g.h, g.w],
            xc.storage::<f32>(),
            wc.storage::<f32>(),
            Some(bc.storage::<f32>()),
            relu,
        );
        return flex_tensor(out, [g.n, g.cout, 2 * g.h, 2 * g.w]);
    }
    let out = forward(
        &g,
        xc.storage::<f32>(),
        wc.storage::<f32>(),
        Some(bc.storage::<f32>()),
        relu,
    );
    flex_tensor(out, [g.n, g.cout, g.out_h(), g.out_w()])
}

fn flex_pool(x: &burn::backend::flex::FlexTensor) -> burn::backend::flex::FlexTensor {
    let [n, c, h, w] = flex_nchw(x);
    let xc = x.to_contiguous();
    let y = max_pool2(n * c, [h, w], xc.storage::<f32>());
    flex_tensor(y, [n, c, h / 2, w / 2])
}

/// The geometry of the convolution of `[skip, up]` and its forward pass.
fn flex_forward_cat(
    skip: &burn::backend::flex::FlexTensor,
    up: &burn::backend::flex::FlexTensor,
    weight: &burn::backend::flex::FlexTensor,
    bias: &burn::backend::flex::FlexTensor,
    padding: Padding,
    relu: bool,
) -> burn::backend::flex::FlexTensor {
    let (ss, us) = (flex_shape(skip), flex_shape(up));
    let g = geometry(
        &[ss[0], ss[1] + us[1], ss[2], ss[3]],
        &flex_shape(weight),
        padding,
    );
    let (sc, uc) = (skip.to_contiguous(), up.to_contiguous());
    let (wc, bc) = (weight.to_contiguous(), bias.to_contiguous());
    let out = forward_cat(
        &g,
        [sc.storage::<f32>(), uc.storage::<f32>()],
        ss[1],
        wc.storage::<f32>(),
        Some(bc.storage::<f32>()),
        relu,
    );
    flex_tensor(out, [g.n, g.cout, g.out_h(), g.out_w()])
}

/// The values of a contiguous `f32` tensor, without a copy when it holds the only reference
/// to its storage.
fn flex_into_f32(t: burn::backend::flex::FlexTensor) -> Vec<f32> {
    let c = t.to_contiguous();
    drop(t);
    c.into_data()
        .try_into_vec::<f32>()
        .unwrap_or_else(|e| unreachable!("an f32 gradient: {e:?}"))
}

/// The output gradient through the ReLU (when `relu`), and the bias gradient registered.
fn conv_dz(
    grad: FloatTensor<Flex>,
    y: &FloatTensor<Flex>,
    relu: bool,
    node_b: Option<burn::backend::autodiff::NodeId>,
    grads: &mut Gradients,
    g: &Geometry,
) -> Vec<f32> {
    let mut dz = flex_into_f32(grad);
    let yc = relu.then(|| y.to_contiguous());
    let mask = yc.as_ref().map(|y| y.storage::<f32>());
    match node_b {
        Some(id) => {
            let plane = dz.len() / (g.n * g.cout);
            let db = relu_backward_bias(&mut dz, mask, [g.n, g.cout, plane]);
            grads.register::<Flex>(id, flex_1d(db));
        }
        None => {
            if let Some(y) = mask {
                relu_backward(&mut dz, y);
            }
        }
    }
    dz
}

#[derive(Debug)]
struct ConvCatBackwardStep;

impl Backward<Flex, 4> for ConvCatBackwardStep {
    /// Skip, up, kernel, output (for the ReLU mask), padding, ReLU.
    type State = (
        FloatTensor<Flex>,
        FloatTensor<Flex>,
        FloatTensor<Flex>,
        FloatTensor<Flex>,
        Padding,
        bool,
    );

    fn backward(self, ops: Ops<Self::State, 4>, grads: &mut Gradients, _: &mut Checkpointer) {
        let [node_s, node_u, node_w, node_b] = ops.parents;
        let grad = grads.consume::<Flex>(&ops.node);
        let (skip, up, weight, y, padding, relu) = ops.state;
        let (ss, us) = (flex_shape(&skip), flex_shape(&up));
        let g = geometry(
            &[ss[0], ss[1] + us[1], ss[2], ss[3]],
            &flex_shape(&weight),
            padding,
        );
        let dz = conv_dz(grad, &y, relu, node_b.map(|n| n.id), grads, &g);
        if let Some(node) = node_w {
            let (sc, uc) = (skip.to_contiguous(), up.to_contiguous());
            let dw = weight_grad_cat(&g, [sc.storage::<f32>(), uc.storage::<f32>()], ss[1], &dz);
            grads.register::<Flex>(node.id, flex_tensor(dw, [g.cout, g.cin, g.kh, g.kw]));
        }
        if node_s.is_some() || node_u.is_some() {
            let wc = weight.to_contiguous();
            let (d0, d1) = input_grad_cat(&g, wc.storage::<f32>(), &dz, ss[1]);
            if let Some(node) = node_s {
                grads.register::<Flex>(node.id, flex_tensor(d0, [g.n, ss[1], g.h, g.w]));
            }
            if let Some(node) = node_u {
                grads.register::<Flex>(node.id, flex_tensor(d1, [g.n, us[1], g.h, g.w]));
            }
        }
    }
}

#[derive(Debug)]
struct PoolBackwardStep;

impl Backward<Flex, 1> for PoolBackwardStep {
    /// Input and output.
    type State = (FloatTensor<Flex>, FloatTensor<Flex>);

    fn backward(self, ops: Ops<Self::State, 1>, grads: &mut Gradients, _: &mut Checkpointer) {
        let [node_x] = ops.parents;
        let grad = grads.consume::<Flex>(&ops.node);
        let (x, y) = ops.state;
        if let Some(node) = node_x {
            let [n, c, h, w] = flex_nchw(&x);
            let (xc, yc, gc) = (x.to_contiguous(), y.to_contiguous(), grad.to_contiguous());
            let dx = max_pool2_backward(
                n * c,
                [h, w],
                xc.storage::<f32>(),
                yc.storage::<f32>(),
                gc.storage::<f32>(),
            );
            grads.register::<Flex>(node.id, flex_tensor(dx, [n, c, h, w]));
        }
    }
}

impl ConvBackend for Flex {
    fn deltacell_max_pool2(x: FloatTensor<Self>) -> FloatTensor<Self> {
        flex_pool(&x)
    }

    fn deltacell_conv2d_cat(
        skip: FloatTensor<Self>,
        up: FloatTensor<Self>,
        weight: FloatTensor<Self>,
        bias: FloatTensor<Self>,
        padding: Padding,
        relu: bool,
    ) -> FloatTensor<Self> {
        flex_forward_cat(&skip, &up, &weight, &bias, padding, relu)
    }

    fn deltacell_conv2d(
        x: FloatTensor<Self>,
        weight: FloatTensor<Self>,
        bias: FloatTensor<Self>,
        padding: Padding,
        relu: bool,
        upsample: bool,
    ) -> FloatTensor<Self> {
        flex_forward(&x, &weight, &bias, padding, relu, upsample)
    }
}

#[derive(Debug)]
struct ConvBackwardStep;

impl Backward<Flex, 3> for ConvBackwardStep {
    /// Input, kernel, output (for the ReLU mask), padding, ReLU, upsampling.
    type State = (
        FloatTensor<Flex>,
        FloatTensor<Flex>,
        FloatTensor<Flex>,
        Padding,
        bool,
        bool,
    );

    fn backward(self, ops: Ops<Self::State, 3>, grads: &mut Gradients, _: &mut Checkpointer) {
        let [node_x, node_w, node_b] = ops.parents;
        let grad = grads.consume::<Flex>(&ops.node);
        let (x, weight, y, padding, relu, upsample) = ops.state;
        let g = geometry(&flex_shape(&x), &flex_shape(&weight), padding);
        let dz = conv_dz(grad, &y, relu, node_b.map(|n| n.id), grads, &g);
        if upsample {
            let xc = x.to_contiguous();
            let wc = weight.to_contiguous();
            let (dw, dx) = up_backward(
                [g.n, g.cin, g.h, g.w],
                xc.storage::<f32>(),
                wc.storage::<f32>(),
                &dz,
                node_x.is_some(),
            );
            if let Some(node) = node_w {
                grads.register::<Flex>(node.id, flex_tensor(dw, [g.cout, g.cin, 2, 2]));
            }
            if let (Some(node), Some(dx)) = (node_x, dx) {
                grads.register::<Flex>(node.id, flex_tensor(dx, [g.n, g.cin, g.h, g.w]));
            }
            return;
        }
        if let Some(node) = node_w {
            let xc = x.to_contiguous();
            let dw = weight_grad(&g, xc.storage::<f32>(), &dz);
            grads.register::<Flex>(node.id, flex_tensor(dw, [g.cout, g.cin, g.kh, g.kw]));
        }
        if let Some(node) = node_x {
            let wc = weight.to_contiguous();
            let dx = input_grad(&g, wc.storage::<f32>(), &dz);
            grads.register::<Flex>(node.id, flex_tensor(dx, [g.n, g.cin, g.h, g.w]));
        }
    }
}

fn flex_1d(values: Vec<f32>) -> burn::backend::flex::FlexTensor {
    let n = values.len();
    burn::backend::flex::FlexTensor::from_data(TensorData::new(values, [n]))
}

impl<C: CheckpointStrategy> ConvBackend for Autodiff<Flex, C> {
    fn deltacell_conv2d_cat(
        skip: FloatTensor<Self>,
        up: FloatTensor<Self>,
        weight: FloatTensor<Self>,
        bias: FloatTensor<Self>,
        padding: Padding,
        relu: bool,
    ) -> FloatTensor<Self> {
        match ConvCatBackwardStep
            .prepare::<C>([skip.node(), up.node(), weight.node(), bias.node()])
            .compute_bound()
            .stateful()
        {
            OpsKind::Tracked(prep) => {
                let (sp, upp, wp, bp) = (
                    skip.into_primitive(),
                    up.into_primitive(),
                    weight.into_primitive(),
                    bias.into_primitive(),
                );
                let out = flex_forward_cat(&sp, &upp, &wp, &bp, padding, relu);
                prep.finish((sp, upp, wp, out.clone(), padding, relu), out)
            }
            OpsKind::UnTracked(prep) => prep.finish(flex_forward_cat(
                skip.primitive(),
                up.primitive(),
                weight.primitive(),
                bias.primitive(),
                padding,
                relu,
            )),
        }
    }

    fn deltacell_max_pool2(x: FloatTensor<Self>) -> FloatTensor<Self> {
        match PoolBackwardStep
            .prepare::<C>([x.node()])
            .compute_bound()
            .stateful()
        {
            OpsKind::Tracked(prep) => {
                let xp = x.into_primitive();
                let out = flex_pool(&xp);
                prep.finish((xp, out.clone()), out)
            }
            OpsKind::UnTracked(prep) => prep.finish(flex_pool(x.primitive())),
        }
    }

    fn deltacell_conv2d(
        x: FloatTensor<Self>,
        weight: FloatTensor<Self>,
        bias: FloatTensor<Self>,
        padding: Padding,
        relu: bool,
        upsample: bool,
    ) -> FloatTensor<Self> {
        match ConvBackwardStep
            .prepare::<C>([x.node(), weight.node(), bias.node()])
            .compute_bound()
            .stateful()
        {
            OpsKind::Tracked(prep) => {
                let (xp, wp, bp) = (
                    x.into_primitive(),
                    weight.into_primitive(),
                    bias.into_primitive(),
                );
                let out = flex_forward(&xp, &wp, &bp, padding, relu, upsample);
                prep.finish((xp, wp, out.clone(), padding, relu, upsample), out)
            }
            OpsKind::UnTracked(prep) => prep.finish(flex_forward(
                x.primitive(),
                weight.primitive(),
                bias.primitive(),
                padding,
                relu,
                upsample,
            )),
        }
    }
}

static BURN_KERNELS: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// Makes [`conv2d`] use burn's own convolution (and ReLU) on the CPU too, for the whole process
/// (`false`, the default, uses this module's kernels). For benchmarks and cross-checks.
pub fn use_burn_kernels(on: bool) {
    BURN_KERNELS.store(on, std::sync::atomic::Ordering::Relaxed);
}

/// `relu?(conv2d(x, weight) + bias)`, stride 1, zero padding `[top, left, bottom, right]`.
///
/// On the CPU (`flex`, with or without autodiff) and for `f32` tensors this runs the kernels of
/// this module; elsewhere (CUDA) or for shapes they do not handle it is burn's `conv2d` (and
/// `relu`), with the same result.
pub fn conv2d(
    x: Tensor<4>,
    weight: Tensor<4>,
    bias: Tensor<1>,
    padding: Padding,
    relu_after: bool,
) -> Tensor<4> {
    let g = geometry(&x.dims(), &weight.dims(), padding);
    let on_flex = matches!(
        x.device().as_dispatch().clone().inner(),
        DispatchDevice::Flex(_)
    );
    let ours = !BURN_KERNELS.load(std::sync::atomic::Ordering::Relaxed);
    if ours && on_flex && g.supported() && x.dtype() == DType::F32 && weight.dtype() == DType::F32 {
        let out = <burn::backend::Dispatch as ConvBackend>::deltacell_conv2d(
            x.into_dispatch(),
            weight.into_dispatch(),
            bias.into_dispatch(),
            padding,
            relu_after,
            false,
        );
        return Tensor::from_dispatch(out);
    }
    let [top, left, bottom, right] = padding;
    let y = if top == bottom && left == right {
        burn_conv2d(
            x,
            weight,
            Some(bias),
            ConvOptions::new([1, 1], [top, left], [1, 1], 1),
        )
    } else {
        // Asymmetric padding ("same" for an even kernel): pad explicitly, then a valid conv.
        let x = x.pad(
            (left, right, top, bottom),
            burn::tensor::ops::PadMode::Constant(0.0),
        );
        burn_conv2d(
            x,
            weight,
            Some(bias),
            ConvOptions::new([1, 1], [0, 0], [1, 1], 1),
        )
    };
    if relu_after {
        relu(y)
    } else {
        y
    }
}

/// DeLTA's decoder up-convolution: `relu?(conv2×2(upsample2(x)) + bias)` with nearest 2×
/// upsampling and Keras' "same" padding for the even kernel (one row and column of zeros at
/// the bottom and right). `x` is `N × C × H × W`, `weight` `Cout × C × 2 × 2`; the output is
/// `N × Cout × 2H × 2W`.
///
/// On the CPU it is computed at the input's resolution ([`up_forward`]); elsewhere it is burn's
/// interpolate and `conv2d`, with the same result.
pub fn up_conv2d(x: Tensor<4>, weight: Tensor<4>, bias: Tensor<1>, relu_after: bool) -> Tensor<4> {
    let [_, c, h, w] = x.dims();
    let [_, wc, kh, kw] = weight.dims();
    let on_flex = matches!(
        x.device().as_dispatch().clone().inner(),
        DispatchDevice::Flex(_)
    );
    let ours = !BURN_KERNELS.load(std::sync::atomic::Ordering::Relaxed);
    if ours
        && on_flex
        && (c, kh, kw) == (wc, 2, 2)
        && h > 0
        && w > 0
        && x.dtype() == DType::F32
        && weight.dtype() == DType::F32
    {
        let out = <burn::backend::Dispatch as ConvBackend>::deltacell_conv2d(
            x.into_dispatch(),
            weight.into_dispatch(),
            bias.into_dispatch(),
            [0, 0, 1, 1],
            relu_after,
            true,
        );
        return Tensor::from_dispatch(out);
    }
    let up = burn::tensor::module::interpolate(
        x,
        burn::tensor::ops::InterpolateOptions::new(burn::tensor::ops::InterpolateMode::Nearest)
            .with_output_size([2 * h, 2 * w]),
    );
    conv2d(up, weight, bias, [0, 0, 1, 1], relu_after)
}

/// DeLTA's 2×2 max-pooling (stride 2, no padding; a trailing odd row or column is dropped).
///
/// On the CPU it is this module's kernel ([`max_pool2`]; the backward pass finds the maxima
/// again in the input, no index tensor is kept); elsewhere burn's `max_pool2d`.
pub fn max_pool2d(x: Tensor<4>) -> Tensor<4> {
    let [_, _, h, w] = x.dims();
    let on_flex = matches!(
        x.device().as_dispatch().clone().inner(),
        DispatchDevice::Flex(_)
    );
    let ours = !BURN_KERNELS.load(std::sync::atomic::Ordering::Relaxed);
    if ours && on_flex && h >= 2 && w >= 2 && x.dtype() == DType::F32 {
        let out = <burn::backend::Dispatch as ConvBackend>::deltacell_max_pool2(x.into_dispatch());
        return Tensor::from_dispatch(out);
    }
    burn::tensor::module::max_pool2d(x, burn::tensor::ops::MaxPoolOptions::new([2, 2]))
}

/// `relu?(conv2d(cat([skip, up], 1), weight) + bias)`, stride 1, zero padding `[top, left,
/// bottom, right]`: the decoder's convolution after the skip connection.
///
/// On the CPU the concatenation is never materialised (the kernels read the two tensors in
/// place and write the two input gradients apart); elsewhere it is `Tensor::cat` and
/// [`conv2d`], with the same result.
pub fn conv2d_cat(
    skip: Tensor<4>,
    up: Tensor<4>,
    weight: Tensor<4>,
    bias: Tensor<1>,
    padding: Padding,
    relu_after: bool,
) -> Tensor<4> {
    let (ss, us) = (skip.dims(), up.dims());
    let g = geometry(
        &[ss[0], ss[1] + us[1], ss[2], ss[3]],
        &weight.dims(),
        padding,
    );
    let on_flex = matches!(
        skip.device().as_dispatch().clone().inner(),
        DispatchDevice::Flex(_)
    );
    let ours = !BURN_KERNELS.load(std::sync::atomic::Ordering::Relaxed);
    if ours
        && on_flex
        && g.supported()
        && (ss[0], ss[2], ss[3]) == (us[0], us[2], us[3])
        && weight.dims()[1] == g.cin
        && [skip.dtype(), up.dtype(), weight.dtype()] == [DType::F32; 3]
    {
        let out = <burn::backend::Dispatch as ConvBackend>::deltacell_conv2d_cat(
            skip.into_dispatch(),
            up.into_dispatch(),
            weight.into_dispatch(),
            bias.into_dispatch(),
            padding,
            relu_after,
        );
        return Tensor::from_dispatch(out);
    }
    conv2d(
        Tensor::cat(vec![skip, up], 1),
        weight,
        bias,
        padding,
        relu_after,
    )
}
