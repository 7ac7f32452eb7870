//! DeLTA's decoder up-convolution (nearest 2× upsampling, then a 2×2 convolution padded below
//! and right) at the input's resolution, on the micro-kernels of `simd.rs`.
//!
//! Output pixel `(2i + a, 2j + b)` reads input pixels `(i + a·dy, j + b·dx)` for the kernel taps
//! `(dy, dx)`: each of the four output parities `(a, b)` is a small convolution of the input
//! whose taps are sums of the 2×2 kernel's, and each reads the input shifted by `(sy, sx)` with
//! `sy ≤ a`, `sx ≤ b`. Stacking the parities' output channels (in the order (0,1), (1,1), (1,0),
//! (0,0)), every shift is one product with a contiguous block of stacked rows:
//! `(0,0)`: all four parities, `(0,1)`: (0,1) and (1,1), `(1,0)`: (1,1) and (1,0), `(1,1)`: (1,1)
//! alone, 9 multiplications per input pixel and channel pair in all (instead of 16 for the
//! upsampled convolution). The input is read in place on a grid one column wider than the
//! image (a zero column and row pad the bottom and right), so that a shift is a constant offset
//! and a panel of 32 grid positions is 32 consecutive values; the grid's last column is junk
//! and dropped.
//!
//! The backward pass runs the same products transposed: the input gradient is
//! `Σ_shift Aₛᵀ · dZₛ` read at the shifted-back positions of the output gradient's parities
//! (gathered once onto a grid with a zero row and column before it), the kernel gradient
//! `Σ_pixels Xₛ · dZₛᵀ` with the parities' gradients gathered 32 channels at a time.

use rayon::prelude::*;

use super::simd::{self, Isa, LANES};
use super::{filled, pad_planes, with_scratch};

/// The stacked parity blocks, in row order.
const ORDER: [(usize, usize); 4] = [(0, 1), (1, 1), (1, 0), (0, 0)];

/// The shifts `(sy, sx)` with the first of their (consecutive) parity blocks and how many.
const SHIFTS: [((usize, usize), usize, usize); 4] = [
    ((0, 0), 0, 4),
    ((0, 1), 0, 2),
    ((1, 0), 1, 2),
    ((1, 1), 1, 1),
];

/// Shapes of one up-convolution: input `n × c × h × w`, `cout` output channels.
#[derive(Clone, Copy)]
struct Up {
    n: usize,
    c: usize,
    h: usize,
    w: usize,
    cout: usize,
}

impl Up {
    /// Grid width (one junk column).
    fn wp(&self) -> usize {
        self.w + 1
    }

    /// Grid positions computed per image (`h` rows of `w + 1`).
    fn grid(&self) -> usize {
        self.h * self.wp()
    }

    /// Padded plane (`(h + 1) × (w + 1)`).
    fn pp(&self) -> usize {
        (self.h + 1) * self.wp()
    }

    /// Grid positions per chunk: a whole number of panels, the stacked outputs of a chunk
    /// about 512 KiB.
    fn chunk(&self, rows: usize) -> usize {
        let by_cache = ((1usize << 17) / rows.max(1) / LANES).max(1) * LANES;
        by_cache.min(self.grid().next_multiple_of(LANES))
    }

    /// The chunks `(image, first position, end position)`.
    fn chunks(&self, per: usize) -> Vec<(usize, usize, usize)> {
        let grid = self.grid();
        (0..self.n)
            .flat_map(|b| {
                (0..grid)
                    .step_by(per)
                    .map(move |q| (b, q, (q + per).min(grid)))
            })
            .collect()
    }

    /// The shift matrices `Aₛ` (`blocks · cout × c`), or their transposes (`c × blocks · cout`),
    /// written row by row (in parallel) so that the writes are sequential.
    fn shift_kernels(&self, weight: &[f32], transposed: bool) -> [Vec<f32>; 4] {
        let (c, cout) = (self.c, self.cout);
        // The tap sum of parity block k for shift (sy, sx) and channel pair (co, ci).
        let tap = |k: usize, (sy, sx): (usize, usize), co: usize, ci: usize| -> f32 {
            let (pa, pb) = ORDER[k];
            let taps = &weight[(co * c + ci) * 4..][..4];
            let mut v = 0.0;
            for (t, &w) in taps.iter().enumerate() {
                if pa * (t / 2) == sy && pb * (t % 2) == sx {
                    v += w;
                }
            }
            v
        };
        SHIFTS.map(|(shift, b0, nb)| {
            let rows = nb * cout;
            let mut a = vec![0f32; rows * c];
            if transposed {
                a.par_chunks_mut(rows).enumerate().for_each(|(ci, line)| {
                    for (r, v) in line.iter_mut().enumerate() {
                        *v = tap(b0 + r / cout, shift, r % cout, ci);
                    }
                });
            } else {
                a.par_chunks_mut(c).enumerate().for_each(|(r, line)| {
                    for (ci, v) in line.iter_mut().enumerate() {
                        *v = tap(b0 + r / cout, shift, r % cout, ci);
                    }
                });
            }
            a
        })
    }
}

/// `relu?(conv2×2(upsample2(x)) + bias)`: `x` is `n × c × h × w`, `weight` `cout × c × 2 × 2`;
/// returns `n × cout × 2h × 2w`.
pub(super) fn forward(
    isa: Isa,
    [n, c, h, w]: [usize; 4],
    x: &[f32],
    weight: &[f32],
    bias: Option<&[f32]>,
    relu: bool,
) -> Vec<f32> {
    let cout = weight.len() / (4 * c);
    let u = Up { n, c, h, w, cout };
    let (wp, pp) = (u.wp(), u.pp());
    let xp = pad_planes(x, n * c, [h, w], [h + 1, wp], [0, 0], wp + 2 + LANES);
    let a = u.shift_kernels(weight, false);
    let per = u.chunk(4 * cout);
    let chunks = u.chunks(per);
    let (oh, ow) = (2 * h, 2 * w);
    let act = |v: f32| if relu { v.max(0.0) } else { v };
    // SAFETY: the chunks cover every grid position of every image, each writing the four
    // output pixels of its positions for every channel.
    unsafe {
        filled(n * cout * oh * ow, |out| {
            chunks.par_iter().for_each(|&(b, q0, q1)| {
                with_scratch(|(c4, _)| {
                    let panels = (q1 - q0).div_ceil(LANES);
                    let pw = panels * LANES;
                    c4.resize(4 * cout * pw, 0.0);
                    for (si, &((sy, sx), b0, nb)) in SHIFTS.iter().enumerate() {
                        // SAFETY: Aₛ is `nb·cout × c`; the shifted view of image b's padded
                        // planes (rows `pp` apart) stays inside `xp` thanks to its slack; the
                        // stacked rows b0.. of this task's own `c4`.
                        simd::gemm(
                            isa,
                            [nb * cout, c, panels],
                            (a[si].as_ptr(), c),
                            (xp.as_ptr().add(b * c * pp + q0 + sy * wp + sx), pp),
                            (c4.as_mut_ptr().add(b0 * cout * pw), pw),
                            si > 0,
                        );
                    }
                    for co in 0..cout {
                        let bv = bias.map_or(0.0, |b| b[co]);
                        let part = |k: usize| &c4[(k * cout + co) * pw..][..pw];
                        let (p01, p11, p10, p00) = (part(0), part(1), part(2), part(3));
                        let plane = out.at((b * cout + co) * oh * ow);
                        for i in q0 / wp..=(q1 - 1) / wp {
                            let j0 = q0.max(i * wp) - i * wp;
                            let j1 = q1.min(i * wp + w).saturating_sub(i * wp);
                            if j1 <= j0 {
                                continue;
                            }
                            let at = i * wp + j0 - q0;
                            // SAFETY: rows 2i and 2i + 1, columns 2j0..2j1 of plane (b, co):
                            // this chunk's positions only.
                            let (top, bottom) = (
                                std::slice::from_raw_parts_mut(
                                    plane.add(2 * i * ow + 2 * j0),
                                    2 * (j1 - j0),
                                ),
                                std::slice::from_raw_parts_mut(
                                    plane.add((2 * i + 1) * ow + 2 * j0),
                                    2 * (j1 - j0),
                                ),
                            );
                            for k in 0..j1 - j0 {
                                top[2 * k] = act(p00[at + k] + bv);
                                top[2 * k + 1] = act(p01[at + k] + bv);
                                bottom[2 * k] = act(p10[at + k] + bv);
                                bottom[2 * k + 1] = act(p11[at + k] + bv);
                            }
                        }
                    }
                })
            });
        })
    }
}

/// Backward pass of [`forward`] from `dz` (the output gradient through the ReLU,
/// `n × cout × 2h × 2w`): the kernel's gradient (`cout × c × 2 × 2`) and, when `need_input`,
/// the input's (`n × c × h × w`).
pub(super) fn backward(
    isa: Isa,
    [n, c, h, w]: [usize; 4],
    x: &[f32],
    weight: &[f32],
    dz: &[f32],
    need_input: bool,
) -> (Vec<f32>, Option<Vec<f32>>) {
    let cout = weight.len() / (4 * c);
    let u = Up { n, c, h, w, cout };
    let dx = need_input.then(|| input_grad(isa, u, weight, dz));
    (weight_grad(isa, u, x, dz), dx)
}

/// The input gradient: `dX = Σ_shift Aₛᵀ · dZₛ[· − shift]` on the grid, then the junk column
/// dropped.
fn input_grad(isa: Isa, u: Up, weight: &[f32], dz: &[f32]) -> Vec<f32> {
    let Up { n, c, h, w, cout } = u;
    let (wp, pp) = (u.wp(), u.pp());
    let (oh, ow) = (2 * h, 2 * w);
    // The stacked parities of dz on a grid with a zero row and column before the image:
    // position (i + 1, j + 1) holds pixel (2i + a, 2j + b).
    let rows = 4 * cout;
    let mut g = vec![0f32; n * rows * pp + wp + 2 + LANES];
    g[..n * rows * pp]
        .par_chunks_mut(pp)
        .enumerate()
        .for_each(|(plane, dst)| {
            let (b, r) = (plane / rows, plane % rows);
            let (k, co) = (r / cout, r % cout);
            let (pa, pb) = ORDER[k];
            let src = &dz[(b * cout + co) * oh * ow..][..oh * ow];
            for i in 0..h {
                let line = &src[(2 * i + pa) * ow..][..ow];
                let d = &mut dst[(i + 1) * wp + 1..][..w];
                for (j, v) in d.iter_mut().enumerate() {
                    *v = line[2 * j + pb];
                }
            }
        });
    let at = u.shift_kernels(weight, true);
    let per = u.chunk(c);
    let chunks = u.chunks(per);
    // SAFETY: the chunks cover every valid grid position of every image and channel.
    unsafe {
        filled(n * c * h * w, |dx| {
            chunks.par_iter().for_each(|&(b, q0, q1)| {
                with_scratch(|(buf, _)| {
                    let panels = (q1 - q0).div_ceil(LANES);
                    let pw = panels * LANES;
                    buf.resize(c * pw, 0.0);
                    for (si, &((sy, sx), b0, nb)) in SHIFTS.iter().enumerate() {
                        let off = q0 + wp + 1 - (sy * wp + sx);
                        // SAFETY: Aₛᵀ is `c × nb·cout`; rows b0·cout.. of image b's stacked
                        // gradient planes (`pp` apart), read at the shifted-back positions,
                        // inside `g` thanks to its slack; this task's own `buf`.
                        simd::gemm(
                            isa,
                            [c, nb * cout, panels],
                            (at[si].as_ptr(), nb * cout),
                            (g.as_ptr().add((b * rows + b0 * cout) * pp + off), pp),
                            (buf.as_mut_ptr(), pw),
                            si > 0,
                        );
                    }
                    for ci in 0..c {
                        let src = &buf[ci * pw..][..pw];
                        let plane = dx.at((b * c + ci) * h * w);
                        for i in q0 / wp..=(q1 - 1) / wp {
                            let j0 = q0.max(i * wp) - i * wp;
                            let j1 = q1.min(i * wp + w).saturating_sub(i * wp);
                            if j1 > j0 {
                                // SAFETY: row i, columns j0..j1 of plane (b, ci): this chunk's.
                                std::slice::from_raw_parts_mut(plane.add(i * w + j0), j1 - j0)
                                    .copy_from_slice(&src[i * wp + j0 - q0..][..j1 - j0]);
                            }
                        }
                    }
                })
            });
        })
    }
}

/// The parity gradients of image `b` at grid positions `q0..q1` gathered 32 channels at a time
/// into `zt` (`dZᵀ[k][cp][q − q0][32]`, zeros in the junk column and past `cout`); returns the
/// positions rounded up to whole panels.
fn gather_block(u: Up, dz: &[f32], (b, q0, q1): (usize, usize, usize), zt: &mut Vec<f32>) -> usize {
    let Up { h, w, cout, .. } = u;
    let (wp, oh, ow) = (u.wp(), 2 * h, 2 * w);
    let cpan = cout.div_ceil(LANES);
    let len = (q1 - q0).next_multiple_of(LANES);
    let panel = len * LANES;
    zt.clear();
    zt.resize(4 * cpan * panel, 0.0);
    for (k, &(pa, pb)) in ORDER.iter().enumerate() {
        for cp in 0..cpan {
            let dst = &mut zt[(k * cpan + cp) * panel..][..panel];
            for (l, co) in (cp * LANES..(cp * LANES + LANES).min(cout)).enumerate() {
                let src = &dz[(b * cout + co) * oh * ow..][..oh * ow];
                for i in q0 / wp..=(q1 - 1) / wp {
                    let j0 = q0.max(i * wp) - i * wp;
                    let j1 = q1.min(i * wp + w).saturating_sub(i * wp);
                    let line = &src[(2 * i + pa) * ow..][..ow];
                    for j in j0..j1 {
                        dst[(i * wp + j - q0) * LANES + l] = line[2 * j + pb];
                    }
                }
            }
        }
    }
    len
}

/// `dWᵀ += Xₛ · dZᵀ` for the (shift, parity block, channel panel) products `tasks` (all, or
/// only task `only`) over the block of image `b` from position `q0` on, `len` positions
/// gathered in `zt`; `dwt` holds a `c × 32` block per task.
#[allow(clippy::too_many_arguments)]
fn block_products(
    isa: Isa,
    u: Up,
    xp: &[f32],
    tasks: &[(usize, usize, usize)],
    (b, q0): (usize, usize),
    (zt, len): (&[f32], usize),
    dwt: super::SharedMut,
    only: Option<usize>,
) {
    let (c, wp, pp) = (u.c, u.wp(), u.pp());
    let cpan = u.cout.div_ceil(LANES);
    let panel = len * LANES;
    for (t, &(si, k, cp)) in tasks.iter().enumerate() {
        if only.is_some_and(|o| o != t) {
            continue;
        }
        let ((sy, sx), _, _) = SHIFTS[si];
        // SAFETY: Xₛ of image b at positions q0.. (`c × len`, rows `pp` apart, inside `xp`
        // thanks to its slack), the block's gathered gradient panel (`len × 32`), and the
        // caller's block of dWᵀ for this task (`c × 32`), which no other thread writes.
        unsafe {
            simd::gemm(
                isa,
                [c, len, 1],
                (xp.as_ptr().add(b * c * pp + q0 + sy * wp + sx), pp),
                (zt.as_ptr().add((k * cpan + cp) * panel), LANES),
                (dwt.at(t * c * LANES), LANES),
                true,
            );
        }
    }
}

/// The kernel gradient: `dWₛ = Σ_pixels Xₛ · dZₛᵀ` per shift, folded back onto the 2×2 taps.
/// The grid positions are cut into blocks whose parity gradients are gathered 32 channels at a
/// time (`dZᵀ[k][cp][q][32]`), which stay in cache while the nine shift-and-parity products
/// read them. Small kernels: the blocks run in parallel (a partial sum per thread); large ones
/// (the deep levels: few positions, many channel pairs, costly partial sums): the products are
/// split between the threads, each summing over all the blocks.
fn weight_grad(isa: Isa, u: Up, x: &[f32], dz: &[f32]) -> Vec<f32> {
    let Up { n, c, h, w, cout } = u;
    let (wp, grid) = (u.wp(), u.grid());
    let cpan = cout.div_ceil(LANES);
    let xp = pad_planes(x, n * c, [h, w], [h + 1, wp], [0, 0], wp + 2 + LANES);
    // (shift, parity block, channel panel) of every product.
    let tasks: Vec<(usize, usize, usize)> = SHIFTS
        .iter()
        .enumerate()
        .flat_map(|(si, &(_, b0, nb))| {
            (b0..b0 + nb).flat_map(move |k| (0..cpan).map(move |cp| (si, k, cp)))
        })
        .collect();
    let block = c * LANES;
    // Positions per block: the gathered gradients (4 · cpan panels of 32) about 512 KiB.
    let per = ((1usize << 12) / cpan)
        .clamp(1, 1 << 10)
        .next_multiple_of(LANES);
    let blocks = u.chunks(per.min(grid.next_multiple_of(LANES)));
    let total = tasks.len() * block;
    let dwt = if total > (1 << 20) {
        let gathered: Vec<(Vec<f32>, usize)> = blocks
            .par_iter()
            .map(|&blk| {
                let mut zt = Vec::new();
                let len = gather_block(u, dz, blk, &mut zt);
                (zt, len)
            })
            .collect();
        let mut dwt = vec![0f32; total];
        let base = super::SharedMut(dwt.as_mut_ptr());
        (0..tasks.len()).into_par_iter().for_each(|t| {
            for (&(b, q0, _), (zt, len)) in blocks.iter().zip(&gathered) {
                block_products(isa, u, &xp, &tasks, (b, q0), (zt, *len), base, Some(t));
            }
        });
        dwt
    } else {
        super::sum_per_thread(&blocks, total, |dwt, _: &mut (), &(b, q0, q1)| {
            with_scratch(|(zt, _)| {
                let len = gather_block(u, dz, (b, q0, q1), zt);
                let dst = super::SharedMut(dwt.as_mut_ptr());
                block_products(isa, u, &xp, &tasks, (b, q0), (zt, len), dst, None);
            })
        })
    };
    // dw[co][ci][dy][dx] = Σ_parities dWₛ[parity] with s = (a·dy, b·dx).
    let index = |si: usize, k: usize, cp: usize| {
        tasks
            .iter()
            .position(|&t| t == (si, k, cp))
            .unwrap_or_else(|| unreachable!("shift {si} does not read block {k}"))
    };
    let lookup: Vec<[[usize; 4]; 4]> = (0..cpan)
        .map(|cp| {
            std::array::from_fn(|tap| {
                let (dy, dx) = (tap / 2, tap % 2);
                std::array::from_fn(|k| {
                    let (pa, pb) = ORDER[k];
                    let s = (pa * dy, pb * dx);
                    let si = SHIFTS
                        .iter()
                        .position(|&(sh, _, _)| sh == s)
                        .unwrap_or_else(|| unreachable!("shift {s:?}"));
                    index(si, k, cp)
                })
            })
        })
        .collect();
    let mut dw = vec![0f32; cout * c * 4];
    dw.par_chunks_mut(c * 4).enumerate().for_each(|(co, row)| {
        let (cp, l) = (co / LANES, co % LANES);
        for ci in 0..c {
            for tap in 0..4 {
                row[ci * 4 + tap] = lookup[cp][tap]
                    .iter()
                    .map(|&t| dwt[t * block + ci * LANES + l])
                    .sum();
            }
        }
    });
    dw
}
