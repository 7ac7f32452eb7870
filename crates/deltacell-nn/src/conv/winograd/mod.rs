//! Winograd F(m×m, 3×3), m = 4 or 2, for the U-Net's 3×3 convolutions: forward (and so the
//! input gradient, a forward convolution with the kernel flipped) and the weight gradient.
//!
//! Each m×m block of output pixels ("tile") is computed from the (m+2)×(m+2) input patch around
//! it as `Y = Aᵀ [(G g Gᵀ) ⊙ (Bᵀ d B)] A`: after the transforms, the α² positions ξ of the
//! α×α transform domain (α = m + 2) are independent matrix products
//! `M[ξ] (cout × tiles) = U[ξ] (cout × cin) · V[ξ] (cin × tiles)`. Per output pixel and channel
//! pair that is α²/m² multiplications instead of the direct convolution's 9: 2.25 for
//! F(4×4, 3×3) (4× fewer), 4 for F(2×2, 3×3) (2.25× fewer). The weight gradient is the
//! transpose of the same chain: `dU[ξ] = Σ_tiles (A dY Aᵀ)[ξ] · V[ξ]ᵀ`, then `dg = Gᵀ dU G`.
//!
//! F(4×4, 3×3) uses the interpolation points 0, ±1, ±2 (Lavin & Gray, "Fast Algorithms for
//! Convolutional Neural Networks", 2016); its transforms have coefficients up to 8 and its
//! rounding error is a few times the direct convolution's (measured against it in `tests.rs`,
//! and training follows the direct path: `train_step -- equiv`). F(2×2, 3×3) (coefficients 0,
//! ±½, ±1) is used where F(4×4)'s larger tiles would waste more than they save (planes a few
//! pixels wide, the bottom of the U-Net on narrow crops).
//!
//! Layouts (no packing step: each transform writes what the micro-kernels of `simd/` read):
//! tiles are numbered image by image, row by row, and cut into chunks; a chunk's transformed
//! input is `V[ξ][ci][t]` (t < the chunk's tiles rounded up to 32), its products
//! `M[ξ][co][t]`, the kernel `U[ξ][co][ci]`. The transforms work on 32 tiles at a time (one
//! panel), a vector of the instruction set chosen at run time at a time (`simd::Simd`); a
//! vector of tiles along one tile row reads each patch row as one window of input values and
//! spreads it over the lanes by permutes. The weight gradient's transformed output gradient is
//! laid out by panels of 32 output channels (`Z[ξ][co / 32][t][co % 32]`), so that
//! `dUᵀ[ξ] (cin × cout) += V[ξ] (cin × tiles) · Zᵀ` is the same micro-kernel again.
//!
//! Large layers (many tiles) run chunk by chunk in parallel (a partial weight gradient per
//! thread's fixed run of chunks, added in run order: the same bits whichever thread runs
//! which run); small ones (the deep levels: few tiles, many channels) run chunk after chunk with
//! the work inside a chunk split between the threads (channels for the transforms, positions ξ
//! and rows for the products), so that two cores are busy even with a single chunk.

use rayon::prelude::*;

use super::simd::{self, Isa, LANES};
use super::{Geometry, SharedMut};

#[macro_use]
mod matrices;
mod panels;

use panels::*;

/// The tile size: F(4×4, 3×3) or F(2×2, 3×3).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Tile {
    F2,
    F4,
}

impl Tile {
    /// Output pixels per tile side.
    fn m(self) -> usize {
        match self {
            Tile::F2 => 2,
            Tile::F4 => 4,
        }
    }

    /// Transform-domain side (m + 2).
    fn alpha(self) -> usize {
        self.m() + 2
    }

    /// Positions of the transform domain.
    fn xi(self) -> usize {
        self.alpha() * self.alpha()
    }

    /// Multiplications of the products for geometry `g` (tiles × α² × cin × cout), plus the
    /// transformed kernel's size counted as 64 multiplications per value (it is computed,
    /// written to memory and read back once per call: on the machine measured, about the time
    /// of 64 tiles' products), which decides where there are few tiles.
    fn cost(self, g: &Geometry) -> usize {
        let m = self.m();
        let tiles = g.n * g.out_h().div_ceil(m) * g.out_w().div_ceil(m);
        self.xi() * g.cin * g.cout * (tiles + 64)
    }
}

/// The Winograd variant a convolution runs as, if any: a 3×3 kernel with at least 16 channels
/// on both sides (fewer make the products inefficient), F(4×4) unless F(2×2) costs less, and
/// neither where the direct convolution would cost less (planes of a few pixels).
pub(super) fn choose(g: &Geometry) -> Option<Tile> {
    if g.kh != 3 || g.kw != 3 || g.cin < 16 || g.cout < 16 || g.out_h() < 2 || g.out_w() < 2 {
        return None;
    }
    let tile = [Tile::F4, Tile::F2]
        .into_iter()
        .min_by_key(|t| t.cost(g))
        .unwrap_or(Tile::F2);
    // The direct convolution: 9 multiplications per pixel and pair, at about 80 % of the
    // products' efficiency.
    let direct = 9 * g.n * g.out_h() * g.out_w() * g.cin * g.cout * 5 / 4;
    (tile.cost(g) < direct).then_some(tile)
}

/// A tensor `n × (c0 + c1) × h × w` whose first `c0` channels are in one buffer
/// (`n × c0 × h × w`) and the others in a second (`n × c1 × h × w`): a concatenation along the
/// channels that is never materialised. `c1 = 0` is a plain tensor.
#[derive(Clone, Copy)]
pub(super) struct Split<T> {
    pub(super) first: T,
    pub(super) second: T,
    /// Channels in `first`.
    pub(super) c0: usize,
    /// Channels in all.
    pub(super) c: usize,
    /// Pixels per plane.
    pub(super) plane: usize,
}

impl<'a> Split<&'a [f32]> {
    /// One buffer holding all `c` channels.
    pub(super) fn whole(x: &'a [f32], c: usize, plane: usize) -> Self {
        Split {
            first: x,
            second: &[],
            c0: c,
            c,
            plane,
        }
    }

    /// Plane `(b, ci)`.
    fn plane(&self, b: usize, ci: usize) -> &'a [f32] {
        if ci < self.c0 {
            &self.first[(b * self.c0 + ci) * self.plane..][..self.plane]
        } else {
            let c1 = self.c - self.c0;
            &self.second[(b * c1 + ci - self.c0) * self.plane..][..self.plane]
        }
    }
}

impl Split<SharedMut> {
    /// One buffer for all `c` channels.
    #[cfg(test)]
    pub(super) fn whole_mut(x: &mut [f32], c: usize, plane: usize) -> Self {
        Split {
            first: SharedMut(x.as_mut_ptr()),
            second: SharedMut(std::ptr::null_mut()),
            c0: c,
            c,
            plane,
        }
    }

    /// One buffer for all `c` channels, by its pointer.
    pub(super) fn whole_ptr(p: SharedMut, c: usize, plane: usize) -> Self {
        Split {
            first: p,
            second: SharedMut(std::ptr::null_mut()),
            c0: c,
            c,
            plane,
        }
    }

    /// The start of plane `(b, co)`.
    fn plane_ptr(&self, b: usize, co: usize) -> SharedMut {
        if co < self.c0 {
            SharedMut(self.first.at((b * self.c0 + co) * self.plane))
        } else {
            let c1 = self.c - self.c0;
            SharedMut(self.second.at((b * c1 + co - self.c0) * self.plane))
        }
    }
}

/// How the output is cut into tiles and chunks of tiles.
struct Plan {
    tile: Tile,
    /// Tile rows and columns per image.
    th: usize,
    tw: usize,
    /// Tiles per chunk (a multiple of 32 unless there is a single chunk).
    chunk: usize,
    /// Tiles in the batch.
    total: usize,
    /// Chunks run one after the other, the threads sharing the work inside each.
    inner: bool,
}

impl Plan {
    /// `cols`: channels on the other side of the products (cout for the forward pass, the
    /// output gradient's for the weight gradient); `partial`: values of a per-thread partial
    /// sum if chunks run in parallel (0 if none).
    fn new(g: &Geometry, o: Opts, partial: usize) -> Plan {
        let tile = o.tile;
        let m = tile.m();
        let (th, tw) = (g.out_h().div_ceil(m), g.out_w().div_ceil(m));
        let total = g.n * th * tw;
        // Transform-domain scratch (α² · (cin + cout) values per tile) of about 2 MiB, whole
        // panels of 32 tiles.
        let per_tile = tile.xi() * (g.cin + g.cout.next_multiple_of(LANES)) * 4;
        let chunk = ((2usize << 20) / per_tile / LANES).max(1) * LANES;
        let chunk = chunk.min(total.next_multiple_of(LANES));
        let chunks = total.div_ceil(chunk);
        let threads = rayon::current_num_threads().max(1);
        let inner = o
            .inner
            .unwrap_or(threads > 1 && (chunks < 3 * threads || partial > (2 << 20)));
        Plan {
            tile,
            th,
            tw,
            chunk,
            total,
            inner,
        }
    }

    /// The chunks `(first tile, end tile)`.
    fn chunks(&self) -> Vec<(usize, usize)> {
        (0..self.total)
            .step_by(self.chunk)
            .map(|t| (t, (t + self.chunk).min(self.total)))
            .collect()
    }

    /// Image, tile row and tile column of tile `t`.
    fn locate(&self, t: usize) -> (usize, usize, usize) {
        let per = self.th * self.tw;
        let (b, r) = (t / per, t % per);
        (b, r / self.tw, r % self.tw)
    }

    /// The 32 tiles of panel `p` of chunk `(t0, t1)`: image and top-left output pixel of each,
    /// `None` past the chunk's end.
    fn panel(&self, (t0, t1): (usize, usize), p: usize) -> [Option<(usize, usize, usize)>; LANES] {
        let m = self.tile.m();
        std::array::from_fn(|j| {
            let t = t0 + p * LANES + j;
            (t < t1).then(|| {
                let (b, ty, tx) = self.locate(t);
                (b, ty * m, tx * m)
            })
        })
    }
}

/// Runs `f(i)` for `i < n`, in parallel when `par`.
fn each(par: bool, n: usize, f: impl Fn(usize) + Sync + Send) {
    if par {
        (0..n).into_par_iter().for_each(f);
    } else {
        (0..n).for_each(f);
    }
}

// ---------------------------------------------------------------------------------------------
// Passes.

/// The input transform of a chunk: `V[ξ][ci][t]` for channels `ci` (in parallel when `par`).
#[allow(clippy::too_many_arguments)]
fn transform_input(
    isa: Isa,
    p: &Plan,
    g: &Geometry,
    x: &Split<&[f32]>,
    chunk: (usize, usize),
    tp: usize,
    v: SharedMut,
    par: bool,
) {
    let fr = Frame {
        h: g.h,
        w: g.w,
        top: -(g.pad[0] as isize),
        left: -(g.pad[1] as isize),
    };
    let panels = tp / LANES;
    let xs = g.cin * tp;
    let lanes: Vec<_> = (0..panels).map(|q| p.panel(chunk, q)).collect();
    each(par, g.cin, |ci| {
        let dst = SharedMut(v.at(ci * tp));
        match p.tile {
            Tile::F2 => input_f2(isa, x, ci, fr, &lanes, dst, xs),
            Tile::F4 => input_f4(isa, x, ci, fr, &lanes, dst, xs),
        }
    });
}

/// Options of a Winograd pass: the instruction set and the tile size.
#[derive(Clone, Copy, Debug)]
pub(super) struct Opts {
    pub(super) isa: Isa,
    pub(super) tile: Tile,
    /// Whether chunks run one after the other with the work inside each shared between the
    /// threads (`Some(true)`), in parallel (`Some(false)`), or as the plan sees fit (`None`).
    pub(super) inner: Option<bool>,
}

impl Opts {
    /// The process's instruction set and the tile size [`choose`] picks for `g`.
    pub(super) fn for_geometry(g: &Geometry) -> Opts {
        Opts {
            isa: simd::isa(),
            tile: choose(g).unwrap_or(Tile::F2),
            inner: None,
        }
    }
}

/// Forward convolution (3×3, stride 1, the geometry's padding) with the bias and the ReLU fused.
pub(super) fn forward(
    g: &Geometry,
    x: &[f32],
    weight: &[f32],
    bias: Option<&[f32]>,
    relu: bool,
) -> Vec<f32> {
    let plane = g.out_h() * g.out_w();
    let x = Split::whole(x, g.cin, g.h * g.w);
    // SAFETY: the forward pass writes every output value.
    unsafe {
        super::filled(g.n * g.cout * plane, |p| {
            let dst = Split::whole_ptr(p, g.cout, plane);
            forward_split(
                Opts::for_geometry(g),
                g,
                &x,
                (weight, false),
                bias,
                relu,
                dst,
            );
        })
    }
}

/// [`forward`] from an input split along the channels into an output split along the channels
/// (`dst` must address `n × cout × out_h × out_w` values in all, written once each). The kernel
/// is `(weight, false)` (`cout × cin × 3 × 3`) or `(weight, true)`: the flipped, transposed
/// `cin × cout × 3 × 3` kernel of the convolution whose input gradient this is.
pub(super) fn forward_split(
    o: Opts,
    g: &Geometry,
    x: &Split<&[f32]>,
    (weight, flipped): (&[f32], bool),
    bias: Option<&[f32]>,
    relu: bool,
    dst: Split<SharedMut>,
) {
    let p = Plan::new(g, o, 0);
    let xi = o.tile.xi();
    let (oh, ow) = (g.out_h(), g.out_w());
    let u = kernel_transform(o, weight, [g.cout, g.cin], flipped);
    let work = |chunk: (usize, usize), (v, m): &mut (Vec<f32>, Vec<f32>), par: bool| {
        let tp = (chunk.1 - chunk.0).next_multiple_of(LANES);
        let panels = tp / LANES;
        v.resize(xi * g.cin * tp, 0.0);
        m.resize(xi * g.cout * tp, 0.0);
        let (vp, mp) = (SharedMut(v.as_mut_ptr()), SharedMut(m.as_mut_ptr()));
        transform_input(o.isa, &p, g, x, chunk, tp, vp, par);
        // Products: position ξ, block of output channels (a few micro-kernel row blocks).
        let block = 4 * o.isa.rows();
        let blocks = g.cout.div_ceil(block);
        each(par, xi * blocks, |task| {
            let (pos, r0) = (task / blocks, task % blocks * block);
            let rows = block.min(g.cout - r0);
            // SAFETY: U[ξ] rows r0.., V[ξ], M[ξ] rows r0..: inside the buffers; this task
            // alone writes those rows of M[ξ].
            unsafe {
                simd::gemm(
                    o.isa,
                    [rows, g.cin, panels],
                    (u.as_ptr().add((pos * g.cout + r0) * g.cin), g.cin),
                    (vp.at(pos * g.cin * tp), tp),
                    (mp.at((pos * g.cout + r0) * tp), tp),
                    false,
                );
            }
        });
        let lanes: Vec<_> = (0..panels).map(|q| p.panel(chunk, q)).collect();
        each(par, g.cout, |co| {
            let bv = bias.map_or(0.0, |b| b[co]);
            let src = mp.at(co * tp) as *const f32;
            let xs = g.cout * tp;
            match o.tile {
                Tile::F2 => output_f2(o.isa, src, xs, &lanes, &dst, co, [oh, ow], bv, relu),
                Tile::F4 => output_f4(o.isa, src, xs, &lanes, &dst, co, [oh, ow], bv, relu),
            }
        });
    };
    if p.inner {
        super::with_scratch(|scratch| {
            for chunk in p.chunks() {
                work(chunk, scratch, true);
            }
        });
    } else {
        p.chunks()
            .into_par_iter()
            .for_each(|chunk| super::with_scratch(|scratch| work(chunk, scratch, false)));
    }
}

/// Weight gradient `dW = Σ_n dZ[n] ⋆ X[n]` (`cout × cin × 3 × 3`) through the transform domain.
pub(super) fn weight_grad(g: &Geometry, x: &Split<&[f32]>, dz: &[f32]) -> Vec<f32> {
    weight_grad_with(Opts::for_geometry(g), g, x, dz)
}

/// [`weight_grad`] with the given options.
pub(super) fn weight_grad_with(o: Opts, g: &Geometry, x: &Split<&[f32]>, dz: &[f32]) -> Vec<f32> {
    let xi = o.tile.xi();
    let (oh, ow) = (g.out_h(), g.out_w());
    let cpanels = g.cout.div_ceil(LANES);
    // dUᵀ[ξ][co / 32][ci][co % 32].
    let du_len = xi * cpanels * g.cin * LANES;
    let p = Plan::new(g, o, du_len * rayon::current_num_threads());
    // `first`: the chunk's products overwrite dUᵀ instead of adding to it.
    let work = |du: SharedMut,
                chunk: (usize, usize),
                (v, z): &mut (Vec<f32>, Vec<f32>),
                par,
                first: bool| {
        let tc = chunk.1 - chunk.0;
        let tp = tc.next_multiple_of(LANES);
        v.resize(xi * g.cin * tp, 0.0);
        // Z[ξ][co / 32][t][co % 32]; tiles past the chunk's end are zeros.
        z.resize(xi * cpanels * tp * LANES, 0.0);
        if tc < tp {
            for zrow in z.chunks_exact_mut(tp * LANES) {
                zrow[tc * LANES..].fill(0.0);
            }
        }
        let (vp, zp) = (SharedMut(v.as_mut_ptr()), SharedMut(z.as_mut_ptr()));
        transform_input(o.isa, &p, g, x, chunk, tp, vp, par);
        let xs = cpanels * tp * LANES;
        let m = o.tile.m();
        let tiles: Vec<_> = (chunk.0..chunk.1)
            .map(|t| {
                let (b, ty, tx) = p.locate(t);
                (b, ty * m, tx * m)
            })
            .collect();
        each(par, cpanels, |cp| {
            let dst = SharedMut(zp.at(cp * tp * LANES));
            let ch = [g.cout, cp * LANES];
            match o.tile {
                Tile::F2 => grad_f2(o.isa, dz, ch, [oh, ow], &tiles, dst, xs),
                Tile::F4 => grad_f4(o.isa, dz, ch, [oh, ow], &tiles, dst, xs),
            }
        });
        each(par, xi * cpanels, |task| {
            let (pos, cp) = (task / cpanels, task % cpanels);
            // SAFETY: V[ξ] (cin × tp), the ξ, cp panel of Z (tp × 32), and the ξ, cp block of
            // dUᵀ (cin × 32), written by this task alone.
            unsafe {
                simd::gemm(
                    o.isa,
                    [g.cin, tp, 1],
                    (vp.at(pos * g.cin * tp), tp),
                    (zp.at(pos * xs + cp * tp * LANES), LANES),
                    (du.at((pos * cpanels + cp) * g.cin * LANES), LANES),
                    !first,
                );
            }
        });
    };
    let du = if p.inner {
        // SAFETY: the first chunk's products write every value of dUᵀ (every ξ, channel panel
        // and input channel), the others add to them.
        unsafe {
            super::filled(du_len, |dp| {
                super::with_scratch(|scratch| {
                    for (k, chunk) in p.chunks().into_iter().enumerate() {
                        work(dp, chunk, scratch, true, k == 0);
                    }
                })
            })
        }
    } else {
        super::sum_per_thread(&p.chunks(), du_len, |du, _: &mut (), &chunk| {
            super::with_scratch(|scratch| {
                work(SharedMut(du.as_mut_ptr()), chunk, scratch, false, false)
            })
        })
    };
    // dg = Gᵀ dU G per channel pair, 32 output channels and a few input channels at a time.
    // SAFETY: the tasks write every (co, ci) entry.
    unsafe {
        super::filled(g.cout * g.cin * 9, |dwp| {
            let cblocks = g.cin.div_ceil(KGRAD_CHANNELS);
            (0..cpanels * cblocks).into_par_iter().for_each(|task| {
                let at = [task / cblocks, task % cblocks * KGRAD_CHANNELS];
                let size = [g.cout, g.cin, cpanels];
                match o.tile {
                    Tile::F2 => kgrad_f2(o.isa, &du, size, at, dwp),
                    Tile::F4 => kgrad_f4(o.isa, &du, size, at, dwp),
                }
            })
        })
    }
}
