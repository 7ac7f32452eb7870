//! The U-Net's convolutions on the CPU: 2-D convolution (stride 1, no dilation, explicit
//! per-side zero padding) with the bias and the ReLU fused in, forward and backward.
//!
//! burn's `flex` backend computes a convolution's weight gradient as a convolution of the input
//! with the output gradient as a kernel (one gemm of width 9 per input channel, the output
//! gradient repacked each time) and spent most of a training step there. Here every pass is a
//! product of a shape the micro-kernels are good at, on tiles that stay in cache:
//!
//! * 3×3 convolutions with ≥ 16 channels on both sides (all of the U-Net's but the first):
//!   Winograd (`winograd/`) F(4×4, 3×3) (36 products in the transform domain per 16 outputs,
//!   4× fewer multiplications than direct), or F(2×2, 3×3) (2.25× fewer) where planes are too
//!   small for 4×4 tiles to pay off, for the forward pass, the weight gradient and — being a
//!   forward pass with the flipped kernel — the input gradient. F(4×4)'s error against the
//!   definition is a few times the direct path's (1–5e-6 of the largest output in the tests,
//!   F(2×2) 1–2e-7), and training follows the direct path within rounding noise
//!   (`train_step -- equiv`); [`use_winograd`]`(false)` switches it off;
//! * the products of the transform domain and of the up-convolution run on this module's own
//!   micro-kernels (`simd/`, a file per instruction set: AVX-512, AVX2/FMA or portable,
//!   chosen at run time by [`isa`]; `DELTACELL_SIMD=avx2` forces the AVX2 path on an AVX-512
//!   machine), with no packing
//!   step: the transforms write the layout the kernels read. The transforms themselves are
//!   written once over a vector type and compiled for each instruction set;
//! * other forward passes (the first layer, the 1×1 head; `direct.rs`):
//!   `Y = Σ_tap W_tap · X_pad[· + offset(tap)]`, one product per kernel tap on shifted views of a zero-padded copy of the
//!   input (layers with ≥ 8 input channels and rows wide enough that the `kw − 1` junk columns
//!   per row cost little), else `Y[n] = W · col(X[n])` on im2col tiles of bands of rows
//!   (several whole images per product when a plane has fewer than 256 pixels); then `+ b` and
//!   `max(0, ·)` while the tile is hot; these products use the `gemm` crate (the one burn's
//!   `flex` uses, its AVX-512 kernels compiled in and chosen at run time);
//! * weight gradient: `dW = Σ_n dZ[n] · col(X[n])ᵀ` (per tap on the shifted views, or on the
//!   im2col tiles) with `dZ = dY ⊙ [Y > 0]`, one partial sum per thread's run of tiles;
//! * input gradient: the same forward kernel on `dZ` with the kernel flipped and its channels
//!   swapped, and the padding mirrored (`kh − 1 − top`, …);
//! * bias gradient: `Σ dZ` per output channel;
//! * the decoder's up-convolution (nearest 2× upsampling, 2×2 kernel, padded below and right)
//!   is computed at the input's resolution from the input and three of its differences
//!   (`up.rs`, [`up_forward`], [`up_backward`]): 4 multiplications per input pixel and channel
//!   pair instead of the upsampled convolution's 16, and no upsampled tensor;
//! * the decoder's concatenation `[skip, up]` is fused into the convolution after it
//!   ([`conv2d_cat`], [`forward_cat`]): Winograd reads both tensors in place and writes the two
//!   input gradients apart, so the concatenated tensor (the largest of a level) never exists;
//! * 2×2 max-pooling ([`max_pool2d`]) finds the maxima again in its backward pass instead of
//!   keeping burn's `i64` index tensor;
//! * memory: outputs are written without a zeroing pass, scratch buffers are per thread and
//!   kept, the output gradient is taken over without a copy, and glibc's `malloc` is told to keep
//!   freed memory ([`tune_allocator`]) so that a step's tensors do not fault in fresh pages.
//!
//! Reproducibility: every sum runs in an order fixed by the shapes and rayon's thread count,
//! never by which thread runs which task: outputs are written by one task each, the bias
//! gradient sums each channel in one task, and the weight gradients' partial sums are one per
//! fixed run of tiles or chunks, added in run order ([`sum_per_thread`]); so a training step
//! gives the same bits for the same inputs, thread count and instruction set ([`isa`]).
//! Another thread count cuts the tiles differently, another instruction set has other
//! micro-kernels (and the portable one no FMA): both round differently.
//!
//! The module is private to the crate (the U-Net reaches it through [`conv2d`] and the other
//! burn ops); the `bench-internals` feature makes it public for the benchmark and the tests,
//! which is not a stable API.
//!
//! Speed against TF/Keras is measured side by side by `benches/train_step.rs` (the README has
//! the table for the machine it was last run on); `train_step -- layers` times every
//! convolution alone and `-- peak` the machine's FMA peak and the micro-kernels' GFLOPS.
//!
//! The kernels work on plain `f32` slices in NCHW order; [`conv2d`] plugs them into burn as a
//! backend extension (a forward op for `Flex` and a hand-written backward for
//! `Autodiff<Flex>`), and falls back to burn's own `conv2d` + `relu` on other devices (CUDA).

use rayon::prelude::*;

mod burn_ext;
mod direct;
mod simd;
#[cfg(test)]
mod tests;
#[cfg(test)]
mod thread_tests;
mod up;
mod winograd;

pub use burn_ext::{conv2d, conv2d_cat, max_pool2d, up_conv2d, use_burn_kernels, ConvBackend};
pub use simd::{fma_peak_gflops, force_isa, gemm_gflops, isa, Isa};

/// From this many input channels on, convolutions run as one product per kernel tap on shifted
/// views of a padded input; below it, as one product on an im2col tile.
const SHIFTED_MIN_CHANNELS: usize = 8;

/// Output planes smaller than this (deep levels of narrow mother-machine crops: 16×2 pixels at
/// 256×32) are convolved several images at a time, so that each product is wide enough for the
/// gemm micro-kernels (64 pixels each).
const MIN_TILE_PIXELS: usize = 256;

static WINOGRAD: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(true);

/// Whether 3×3 convolutions with enough channels run as Winograd F(2×2, 3×3) (`true`, the
/// default) or as direct products (`false`), for the whole process. For benchmarks and the
/// tests that compare the two.
pub fn use_winograd(on: bool) {
    WINOGRAD.store(on, std::sync::atomic::Ordering::Relaxed);
}

/// Makes glibc's `malloc` keep freed memory for reuse instead of returning it to the system,
/// once per process (on Linux with glibc; nothing elsewhere, or when the environment variable
/// `DELTACELL_SYSTEM_MALLOC` is set).
///
/// A training step allocates and frees gigabytes of tensors larger than glibc's `mmap`
/// threshold (32 MiB at most): each is a fresh mapping whose pages the kernel faults in and
/// zeroes on first touch, which cost a quarter of a step's time. With `mmap` off for
/// allocations (`M_MMAP_MAX = 0`) and no trimming of the heap's top (`M_TRIM_THRESHOLD`), the
/// freed tensors' memory is reused without faults; the process keeps its peak heap until it
/// exits (the peak resident set grows a little: fragmentation). Called by the CPU kernels on
/// first use.
pub fn tune_allocator() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        static ONCE: std::sync::Once = std::sync::Once::new();
        ONCE.call_once(|| {
            if std::env::var_os("DELTACELL_SYSTEM_MALLOC").is_some() {
                return;
            }
            extern "C" {
                fn mallopt(param: i32, value: i32) -> i32;
            }
            const M_TRIM_THRESHOLD: i32 = -1;
            const M_MMAP_MAX: i32 = -4;
            // SAFETY: glibc's documented tuning call, with valid parameters; it only changes
            // how later allocations are served.
            unsafe {
                mallopt(M_MMAP_MAX, 0);
                mallopt(M_TRIM_THRESHOLD, i32::MAX);
            }
        });
    }
}

thread_local! {
    /// Per-thread scratch buffers of the kernels, kept between calls (they only grow).
    static SCRATCH: std::cell::RefCell<(Vec<f32>, Vec<f32>)> =
        const { std::cell::RefCell::new((Vec::new(), Vec::new())) };
}

/// Runs `f` with this thread's two scratch buffers (fresh ones if a caller up the stack of
/// this thread is using them: rayon may run a task inside another's wait). Their contents are
/// whatever an earlier user left.
fn with_scratch<R>(f: impl FnOnce(&mut (Vec<f32>, Vec<f32>)) -> R) -> R {
    SCRATCH.with(|s| match s.try_borrow_mut() {
        Ok(mut s) => f(&mut s),
        Err(_) => f(&mut (Vec::new(), Vec::new())),
    })
}

/// A vector of `len` values written by `fill` (through the pointer to its storage) without a
/// zeroing pass first.
///
/// # Safety
/// `fill` must write every one of the `len` values.
unsafe fn filled(len: usize, fill: impl FnOnce(SharedMut)) -> Vec<f32> {
    let mut v = Vec::<f32>::with_capacity(len);
    fill(SharedMut(v.as_mut_ptr()));
    // SAFETY: `fill` initialised all `len` values (the caller's contract).
    unsafe { v.set_len(len) };
    v
}

/// Zero padding of a convolution's input, in pixels: `[top, left, bottom, right]`.
pub type Padding = [usize; 4];

/// The shapes of one convolution (stride 1, no dilation). Input `n × cin × h × w`, kernel
/// `cout × cin × kh × kw`, output `n × cout × out_h × out_w` with
/// `out_h = h + top + bottom − kh + 1` (likewise for the width).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Geometry {
    /// Batch size.
    pub n: usize,
    /// Input channels.
    pub cin: usize,
    /// Input height and width.
    pub h: usize,
    /// Input width.
    pub w: usize,
    /// Output channels.
    pub cout: usize,
    /// Kernel height.
    pub kh: usize,
    /// Kernel width.
    pub kw: usize,
    /// Zero padding `[top, left, bottom, right]`.
    pub pad: Padding,
}

impl Geometry {
    /// Output height.
    pub fn out_h(&self) -> usize {
        self.h + self.pad[0] + self.pad[2] + 1 - self.kh
    }

    /// Output width.
    pub fn out_w(&self) -> usize {
        self.w + self.pad[1] + self.pad[3] + 1 - self.kw
    }

    /// Rows of the im2col matrix (`cin · kh · kw`).
    fn k(&self) -> usize {
        self.cin * self.kh * self.kw
    }

    /// Whether the kernels here handle this shape: a non-empty output and padding smaller than
    /// the kernel on every side (so that the input gradient is itself such a convolution).
    pub fn supported(&self) -> bool {
        self.n > 0
            && self.cin > 0
            && self.cout > 0
            && self.kh > 0
            && self.kw > 0
            && self.pad[0] < self.kh
            && self.pad[2] < self.kh
            && self.pad[1] < self.kw
            && self.pad[3] < self.kw
            && self.h + self.pad[0] + self.pad[2] >= self.kh
            && self.w + self.pad[1] + self.pad[3] >= self.kw
    }

    /// The convolution whose forward pass is this one's input gradient: output channels become
    /// input channels and the padding is mirrored.
    fn transposed(&self) -> Geometry {
        Geometry {
            n: self.n,
            cin: self.cout,
            h: self.out_h(),
            w: self.out_w(),
            cout: self.cin,
            kh: self.kh,
            kw: self.kw,
            pad: [
                self.kh - 1 - self.pad[0],
                self.kw - 1 - self.pad[1],
                self.kh - 1 - self.pad[2],
                self.kw - 1 - self.pad[3],
            ],
        }
    }

    /// Output rows per tile: about 256 KiB of im2col matrix, at least one row, and small enough
    /// that there are a few tiles per thread.
    fn rows_per_tile(&self) -> usize {
        let (oh, ow) = (self.out_h(), self.out_w());
        let by_cache = (64 * 1024 / (self.k() * ow).max(1)).max(1);
        let threads = rayon::current_num_threads().max(1);
        let tiles_wanted = (4 * threads).div_ceil(self.n).max(1);
        let by_threads = oh.div_ceil(tiles_wanted).max(1);
        by_cache.min(by_threads).clamp(1, oh.max(1))
    }

    /// The tiles `(image, first row, end row)` covering the output.
    fn tiles(&self) -> Vec<(usize, usize, usize)> {
        let rows = if self.use_shifted() {
            self.shifted_rows_per_tile()
        } else {
            self.rows_per_tile()
        };
        let oh = self.out_h();
        (0..self.n)
            .flat_map(|b| {
                (0..oh)
                    .step_by(rows)
                    .map(move |r0| (b, r0, (r0 + rows).min(oh)))
            })
            .collect()
    }

    /// Padded input height and width (`h + top + bottom`, `w + left + right`).
    fn padded(&self) -> (usize, usize) {
        (
            self.h + self.pad[0] + self.pad[2],
            self.w + self.pad[1] + self.pad[3],
        )
    }

    /// Whether to compute on shifted views of a padded copy of the input (one product per
    /// kernel tap, no im2col matrix) rather than on im2col tiles: when there are enough input
    /// channels for a product per tap to be efficient, and rows wide enough that the `kw − 1`
    /// junk columns per row cost little.
    fn use_shifted(&self) -> bool {
        let (_, wp) = self.padded();
        self.cin >= SHIFTED_MIN_CHANNELS && !self.is_pointwise() && wp >= 8 * (self.kw - 1)
    }

    /// Output rows per tile for the shifted-view products: the tile's products read and write
    /// about 512 KiB, and there are a few tiles per thread.
    fn shifted_rows_per_tile(&self) -> usize {
        let (_, wp) = self.padded();
        let oh = self.out_h();
        let by_cache = (128 * 1024 / ((self.cin + self.cout) * wp).max(1)).max(1);
        let threads = rayon::current_num_threads().max(1);
        let tiles_wanted = (4 * threads).div_ceil(self.n).max(1);
        let by_threads = oh.div_ceil(tiles_wanted).max(1);
        by_cache.min(by_threads).clamp(1, oh.max(1))
    }

    /// Whether output planes are small enough to convolve several images per product (im2col
    /// strategy only).
    fn use_image_groups(&self) -> bool {
        !self.use_shifted() && self.n > 1 && self.out_h() * self.out_w() < MIN_TILE_PIXELS
    }

    /// Groups of images `(first, end)` for small planes: at least [`MIN_TILE_PIXELS`] output
    /// pixels per group where the batch allows, and a group per thread where it does not.
    fn image_groups(&self) -> Vec<(usize, usize)> {
        let plane = (self.out_h() * self.out_w()).max(1);
        let threads = rayon::current_num_threads().max(1);
        let per = MIN_TILE_PIXELS
            .div_ceil(plane)
            .min(self.n.div_ceil(threads))
            .max(1);
        (0..self.n)
            .step_by(per)
            .map(|b| (b, (b + per).min(self.n)))
            .collect()
    }

    /// Whether this convolution runs as Winograd F(2×2, 3×3) ([`use_winograd`] on and a 3×3
    /// kernel with at least 16 channels on both sides).
    fn use_winograd(&self) -> bool {
        WINOGRAD.load(std::sync::atomic::Ordering::Relaxed) && winograd::choose(self).is_some()
    }

    /// A 1×1 kernel without padding reads the input as its own im2col matrix.
    fn is_pointwise(&self) -> bool {
        self.kh == 1 && self.kw == 1 && self.pad == [0; 4]
    }
}

/// A raw pointer that tiles writing disjoint parts of one buffer share across threads.
#[derive(Clone, Copy)]
struct SharedMut(*mut f32);
// SAFETY: every user writes a region no other task touches (disjoint output tiles).
unsafe impl Send for SharedMut {}
// SAFETY: as for `Send`: shared between tasks that write disjoint regions.
unsafe impl Sync for SharedMut {}

impl SharedMut {
    /// The pointer `offset` elements further on.
    fn at(self, offset: usize) -> *mut f32 {
        self.0.wrapping_add(offset)
    }
}

/// Forward convolution: `x` (`n × cin × h × w`), `weight` (`cout × cin × kh × kw`), optional
/// `bias` (`cout`), then ReLU when `relu`. Returns `n × cout × out_h × out_w`.
pub fn forward(
    g: &Geometry,
    x: &[f32],
    weight: &[f32],
    bias: Option<&[f32]>,
    relu: bool,
) -> Vec<f32> {
    assert!(g.supported(), "unsupported convolution {g:?}");
    assert_eq!(x.len(), g.n * g.cin * g.h * g.w, "input size");
    assert_eq!(weight.len(), g.cout * g.k(), "kernel size");
    if g.use_winograd() {
        return winograd::forward(g, x, weight, bias, relu);
    }
    if g.use_shifted() {
        return direct::forward_shifted(g, x, weight, bias, relu);
    }
    if g.use_image_groups() {
        return direct::forward_grouped(g, x, weight, bias, relu);
    }
    direct::forward_tiled(g, x, weight, bias, relu)
}

/// `dZ = dY ⊙ [Y > 0]` (the gradient through the ReLU), in place on `dy`.
pub fn relu_backward(dy: &mut [f32], y: &[f32]) {
    assert_eq!(dy.len(), y.len());
    dy.par_chunks_mut(1 << 14)
        .zip(y.par_chunks(1 << 14))
        .for_each(|(d, y)| {
            d.iter_mut()
                .zip(y)
                .for_each(|(d, &y)| *d = if y > 0.0 { *d } else { 0.0 });
        });
}

/// `dZ = dY ⊙ [Y > 0]` in place on `dz` when `y` is given (the gradient through the ReLU), and
/// the bias gradient `Σ_{n, pixels} dZ` per channel, in one pass: `dz` is
/// `n × c × plane`. Each channel is summed by one task, in blocks of 256 values (eight `f32`
/// partial sums each, the blocks' sums added in `f64`), so the result does not depend on the
/// number of threads.
pub fn relu_backward_bias(
    dz: &mut [f32],
    y: Option<&[f32]>,
    [n, c, plane]: [usize; 3],
) -> Vec<f32> {
    assert_eq!(dz.len(), n * c * plane);
    if let Some(y) = y {
        assert_eq!(y.len(), dz.len());
    }
    let base = SharedMut(dz.as_mut_ptr());
    (0..c)
        .into_par_iter()
        .map(|co| {
            let mut total = 0f64;
            for b in 0..n {
                let at = (b * c + co) * plane;
                // SAFETY: plane (b, co) of dz, which only this task touches.
                let d = unsafe { std::slice::from_raw_parts_mut(base.at(at), plane) };
                total += masked_sum(d, y.map(|y| &y[at..][..plane]));
            }
            total as f32
        })
        .collect()
}

/// `Σ d` after `d ← d ⊙ [y > 0]` (when `y` is given): blocks of 256 values summed in eight `f32`
/// lanes, the blocks' sums in `f64`.
fn masked_sum(d: &mut [f32], y: Option<&[f32]>) -> f64 {
    let mut total = 0f64;
    for (k, block) in d.chunks_mut(256).enumerate() {
        let mut acc = [0f32; 8];
        if let Some(y) = y {
            let yb = &y[k * 256..][..block.len()];
            let (mut dc, mut yc) = (block.chunks_exact_mut(8), yb.chunks_exact(8));
            for (dv, yv) in (&mut dc).zip(&mut yc) {
                for j in 0..8 {
                    dv[j] = if yv[j] > 0.0 { dv[j] } else { 0.0 };
                    acc[j] += dv[j];
                }
            }
            for (v, &m) in dc.into_remainder().iter_mut().zip(yc.remainder()) {
                *v = if m > 0.0 { *v } else { 0.0 };
                acc[0] += *v;
            }
        } else {
            let mut dc = block.chunks_exact(8);
            for dv in &mut dc {
                for j in 0..8 {
                    acc[j] += dv[j];
                }
            }
            acc[0] += dc.remainder().iter().sum::<f32>();
        }
        total += acc.iter().map(|&a| a as f64).sum::<f64>();
    }
    total
}

/// Bias gradient: `Σ_{n, y, x} dz` per output channel.
pub fn bias_grad(g: &Geometry, dz: &[f32]) -> Vec<f32> {
    let mut copy = dz.to_vec();
    relu_backward_bias(&mut copy, None, [g.n, g.cout, g.out_h() * g.out_w()])
}

/// Weight gradient: `dW = Σ_n dZ[n] · col(X[n])ᵀ`, `cout × cin × kh × kw`.
pub fn weight_grad(g: &Geometry, x: &[f32], dz: &[f32]) -> Vec<f32> {
    assert!(g.supported(), "unsupported convolution {g:?}");
    if g.use_winograd() {
        return winograd::weight_grad(g, &winograd::Split::whole(x, g.cin, g.h * g.w), dz);
    }
    if g.use_shifted() {
        return direct::weight_grad_shifted(g, x, dz);
    }
    if g.use_image_groups() {
        return direct::weight_grad_grouped(g, x, dz);
    }
    direct::weight_grad_tiled(g, x, dz)
}

/// `Σ_item accumulate(item)` in an order fixed by the number of items and the thread count
/// only, so that the sum is the same bit for bit whichever threads run the work (rayon's work
/// stealing, a loaded machine): the items are cut into `runs` ([`reduction_runs`]) contiguous
/// runs of nearly equal length; each run is accumulated item after item into its own zeroed
/// buffer of `len` values (with its own scratch space) by one task, and the runs' buffers are
/// added in run order ([`sum_partials`]).
fn sum_per_thread<T: Sync, S: Default + Send>(
    items: &[T],
    len: usize,
    accumulate: impl Fn(&mut [f32], &mut S, &T) + Sync,
) -> Vec<f32> {
    let runs = reduction_runs(items.len());
    let partials: Vec<Vec<f32>> = (0..runs)
        .into_par_iter()
        .map(|r| {
            let (lo, hi) = (items.len() * r / runs, items.len() * (r + 1) / runs);
            let mut total = vec![0f32; len];
            let mut scratch = S::default();
            for item in &items[lo..hi] {
                accumulate(&mut total, &mut scratch, item);
            }
            total
        })
        .collect();
    sum_partials(partials, len)
}

/// Runs of a [`sum_per_thread`] over `items` items: one per thread of rayon's current pool, at
/// most one per item (a function of the item count and the thread count only).
fn reduction_runs(items: usize) -> usize {
    rayon::current_num_threads().clamp(1, items.max(1))
}

/// The element-wise sum of partial sums, added in their order (zeros when there are none):
/// `((p₀ + p₁) + p₂) + …` for every element, whichever thread adds which block of elements.
fn sum_partials(partials: Vec<Vec<f32>>, len: usize) -> Vec<f32> {
    let mut iter = partials.into_iter();
    let mut total = iter.next().unwrap_or_else(|| vec![0f32; len]);
    let rest: Vec<Vec<f32>> = iter.collect();
    if rest.is_empty() {
        return total;
    }
    const BLOCK: usize = 1 << 14;
    total.par_chunks_mut(BLOCK).enumerate().for_each(|(k, t)| {
        for p in &rest {
            t.iter_mut().zip(&p[k * BLOCK..]).for_each(|(a, b)| *a += b);
        }
    });
    total
}

/// Input gradient: the forward convolution of `dz` with the kernel flipped and its channels
/// swapped, padding mirrored. Returns `n × cin × h × w`.
pub fn input_grad(g: &Geometry, weight: &[f32], dz: &[f32]) -> Vec<f32> {
    let t = g.transposed();
    if !t.use_winograd() {
        return forward(&t, dz, &flip_kernel(g, weight), None, false);
    }
    let plane = g.h * g.w;
    let dzs = winograd::Split::whole(dz, t.cin, t.h * t.w);
    let o = winograd::Opts::for_geometry(&t);
    // SAFETY: the forward pass writes every output value.
    unsafe {
        filled(g.n * g.cin * plane, |p| {
            let dst = winograd::Split::whole_ptr(p, g.cin, plane);
            winograd::forward_split(o, &t, &dzs, (weight, true), None, false, dst);
        })
    }
}

/// The kernel of [`Geometry::transposed`]: flipped, input and output channels swapped.
fn flip_kernel(g: &Geometry, weight: &[f32]) -> Vec<f32> {
    let (kh, kw) = (g.kh, g.kw);
    let mut flipped = vec![0f32; weight.len()];
    for co in 0..g.cout {
        for ci in 0..g.cin {
            for ky in 0..kh {
                for kx in 0..kw {
                    flipped[((ci * g.cout + co) * kh + kh - 1 - ky) * kw + kw - 1 - kx] =
                        weight[((co * g.cin + ci) * kh + ky) * kw + kx];
                }
            }
        }
    }
    flipped
}

/// `[a, b]` concatenated along the channels: `n × ca × plane` and `n × cb × plane` into
/// `n × (ca + cb) × plane`.
fn concat(n: usize, [ca, cb]: [usize; 2], plane: usize, a: &[f32], b: &[f32]) -> Vec<f32> {
    let mut out = Vec::with_capacity(n * (ca + cb) * plane);
    for i in 0..n {
        out.extend_from_slice(&a[i * ca * plane..][..ca * plane]);
        out.extend_from_slice(&b[i * cb * plane..][..cb * plane]);
    }
    out
}

/// The channels of `x` (`n × c × plane`) split into the first `c0` and the rest.
fn split(n: usize, [c, c0]: [usize; 2], plane: usize, x: &[f32]) -> (Vec<f32>, Vec<f32>) {
    let (mut a, mut b) = (
        Vec::with_capacity(n * c0 * plane),
        Vec::with_capacity(n * (c - c0) * plane),
    );
    for img in x.chunks_exact(c * plane) {
        a.extend_from_slice(&img[..c0 * plane]);
        b.extend_from_slice(&img[c0 * plane..]);
    }
    (a, b)
}

/// [`forward`] of the concatenation `[x0, x1]` along the channels (`x0` holds the first `c0`
/// of the geometry's `cin` channels), without materialising it where the convolution runs as
/// Winograd (the decoder's 3×3 convolutions after the skip connection).
pub fn forward_cat(
    g: &Geometry,
    [x0, x1]: [&[f32]; 2],
    c0: usize,
    weight: &[f32],
    bias: Option<&[f32]>,
    relu: bool,
) -> Vec<f32> {
    let plane = g.h * g.w;
    assert_eq!(x0.len() + x1.len(), g.n * g.cin * plane, "input size");
    if !g.use_winograd() {
        let x = concat(g.n, [c0, g.cin - c0], plane, x0, x1);
        return forward(g, &x, weight, bias, relu);
    }
    let x = winograd::Split {
        first: x0,
        second: x1,
        c0,
        c: g.cin,
        plane,
    };
    let o = winograd::Opts::for_geometry(g);
    let oplane = g.out_h() * g.out_w();
    // SAFETY: the forward pass writes every output value.
    unsafe {
        filled(g.n * g.cout * oplane, |p| {
            let dst = winograd::Split::whole_ptr(p, g.cout, oplane);
            winograd::forward_split(o, g, &x, (weight, false), bias, relu, dst);
        })
    }
}

/// [`weight_grad`] of the convolution of `[x0, x1]` (see [`forward_cat`]).
pub fn weight_grad_cat(g: &Geometry, [x0, x1]: [&[f32]; 2], c0: usize, dz: &[f32]) -> Vec<f32> {
    let plane = g.h * g.w;
    if !g.use_winograd() {
        let x = concat(g.n, [c0, g.cin - c0], plane, x0, x1);
        return weight_grad(g, &x, dz);
    }
    let x = winograd::Split {
        first: x0,
        second: x1,
        c0,
        c: g.cin,
        plane,
    };
    winograd::weight_grad(g, &x, dz)
}

/// [`input_grad`] of the convolution of `[x0, x1]`, as the two parts' gradients (see
/// [`forward_cat`]).
pub fn input_grad_cat(g: &Geometry, weight: &[f32], dz: &[f32], c0: usize) -> (Vec<f32>, Vec<f32>) {
    let t = g.transposed();
    let plane = g.h * g.w;
    if !t.use_winograd() {
        return split(g.n, [g.cin, c0], plane, &input_grad(g, weight, dz));
    }
    let (len0, len1) = (g.n * c0 * plane, g.n * (g.cin - c0) * plane);
    let (mut dx0, mut dx1) = (Vec::with_capacity(len0), Vec::with_capacity(len1));
    let dst = winograd::Split {
        first: SharedMut(dx0.as_mut_ptr()),
        second: SharedMut(dx1.as_mut_ptr()),
        c0,
        c: g.cin,
        plane,
    };
    let dzs = winograd::Split::whole(dz, t.cin, t.h * t.w);
    let o = winograd::Opts::for_geometry(&t);
    winograd::forward_split(o, &t, &dzs, (weight, true), None, false, dst);
    // SAFETY: the forward pass wrote every value of both parts.
    unsafe {
        dx0.set_len(len0);
        dx1.set_len(len1);
    }
    (dx0, dx1)
}

/// 2×2 max-pooling with stride 2 of `planes` planes of `h × w` (a trailing odd row or column is
/// dropped): `planes × h/2 × w/2`.
pub fn max_pool2(planes: usize, [h, w]: [usize; 2], x: &[f32]) -> Vec<f32> {
    let (oh, ow) = (h / 2, w / 2);
    let mut y = vec![0f32; planes * oh * ow];
    y.par_chunks_mut(oh * ow)
        .zip(x.par_chunks(h * w))
        .for_each(|(y, x)| {
            for (i, yrow) in y.chunks_exact_mut(ow).enumerate() {
                let (r0, r1) = (&x[2 * i * w..][..2 * ow], &x[(2 * i + 1) * w..][..2 * ow]);
                for (j, v) in yrow.iter_mut().enumerate() {
                    *v = r0[2 * j]
                        .max(r0[2 * j + 1])
                        .max(r1[2 * j].max(r1[2 * j + 1]));
                }
            }
        });
    y
}

/// Backward pass of [`max_pool2`]: each window's output gradient `dy` goes to the first of its
/// four inputs (row-major) that equals the window's maximum `y`; the others get zero.
pub fn max_pool2_backward(
    planes: usize,
    [h, w]: [usize; 2],
    x: &[f32],
    y: &[f32],
    dy: &[f32],
) -> Vec<f32> {
    let (oh, ow) = (h / 2, w / 2);
    let mut dx = vec![0f32; planes * h * w];
    dx.par_chunks_mut(h * w)
        .zip(x.par_chunks(h * w))
        .zip(y.par_chunks(oh * ow).zip(dy.par_chunks(oh * ow)))
        .for_each(|((dx, x), (y, dy))| {
            for i in 0..oh {
                for j in 0..ow {
                    let (m, d) = (y[i * ow + j], dy[i * ow + j]);
                    let at = [
                        2 * i * w + 2 * j,
                        2 * i * w + 2 * j + 1,
                        (2 * i + 1) * w + 2 * j,
                        (2 * i + 1) * w + 2 * j + 1,
                    ];
                    if let Some(&k) = at.iter().find(|&&k| x[k] == m) {
                        dx[k] = d;
                    }
                }
            }
        });
    dx
}

/// Forward pass of DeLTA's decoder up-convolution, `relu?(conv2×2(upsample2(x)) + bias)`, at the
/// input's resolution (no upsampled tensor, 9 multiplications per pixel pair instead of 16):
/// `x` is `n × c × h × w`, `weight` `cout × c × 2 × 2`; returns `n × cout × 2h × 2w`.
pub fn up_forward(
    shape: [usize; 4],
    x: &[f32],
    weight: &[f32],
    bias: Option<&[f32]>,
    relu: bool,
) -> Vec<f32> {
    up::forward(simd::isa(), shape, x, weight, bias, relu)
}

/// Backward pass of [`up_forward`] from `dz` (the output gradient through the ReLU,
/// `n × cout × 2h × 2w`): the kernel's gradient (`cout × c × 2 × 2`) and, when `need_input`,
/// the input's (`n × c × h × w`).
pub fn up_backward(
    shape: [usize; 4],
    x: &[f32],
    weight: &[f32],
    dz: &[f32],
    need_input: bool,
) -> (Vec<f32>, Option<Vec<f32>>) {
    up::backward(simd::isa(), shape, x, weight, dz, need_input)
}
