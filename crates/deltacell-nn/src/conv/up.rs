//! DeLTA's decoder up-convolution (nearest 2× upsampling, then a 2×2 convolution padded below
//! and right) at the input's resolution, with 4 multiplications per input pixel and channel
//! pair instead of the upsampled convolution's 16, on the micro-kernels of `simd/`.
//!
//! Output pixel `(2i + a, 2j + b)` is `Σ_{dy,dx} w[dy][dx] · x(i + a·dy, j + b·dx)`. Writing the
//! input around `(i, j)` bilinearly, `x(i + dy, j + dx) = D0 + dx·Dx + dy·Dy + dx·dy·Dxy` with
//! `D0 = x(i, j)`, `Dx = x(i, j+1) − x(i, j)`, `Dy = x(i+1, j) − x(i, j)` and
//! `Dxy = x(i+1, j+1) − x(i+1, j) − x(i, j+1) + x(i, j)`, the four outputs of an input pixel are
//! sums of four products:
//!
//! ```text
//! P0 = S·D0, P1 = c1·Dx, P2 = r1·Dy, P3 = w11·Dxy   (S = Σ w, c1 = w01 + w11, r1 = w10 + w11)
//! y(2i, 2j) = P0   y(2i, 2j+1) = P0 + P1   y(2i+1, 2j) = P0 + P2   y(2i+1, 2j+1) = P0 + P1 + P2 + P3
//! ```
//!
//! (a Winograd-like transform with coefficients ±1: the error is that of the direct sums). Each
//! `Pₜ` is a product `(cout × c) · (c × pixels)`. The input is read on a grid one column wider
//! than the image (a zero column and row pad the bottom and right), so that the differences are
//! vector operations along rows and a panel of 32 grid positions is 32 consecutive values; the
//! grid's last column is junk and dropped.
//!
//! The backward pass is the transpose: `dP0 = Σ dy`, `dP1 = dy01 + dy11`, `dP2 = dy10 + dy11`,
//! `dP3 = dy11` per input pixel; the kernel gradient `dUₜ = Σ_pixels dPₜ · Dₜᵀ` folded back onto
//! the taps; the input gradient `Σₜ Uₜᵀ · dEₜ`, `dEₜ` the differences' transposes applied to
//! `dPₜ` (`dE1(i, j) = dP1(i, j−1) − dP1(i, j)`, …).

use rayon::prelude::*;

use super::direct::pad_planes;
use super::simd::{self, Isa, LANES};
use super::{filled, with_scratch, SharedMut};

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

    /// Padded plane (`(h + 1) × (w + 1)`).
    fn pp(&self) -> usize {
        (self.h + 1) * self.wp()
    }

    /// The input padded to `(h + 1) × (w + 1)` per plane (zeros in the last row and column),
    /// with slack past the last plane for the reads of junk positions.
    fn padded(&self, x: &[f32]) -> Vec<f32> {
        let (h, w, wp) = (self.h, self.w, self.wp());
        pad_planes(
            x,
            self.n * self.c,
            [h, w],
            [h + 1, wp],
            [0, 0],
            2 * wp + 2 * LANES,
        )
    }

    /// Chunks `(image, first row, end row)` of about `values_per_row · rows` ≈ 256 Ki scratch
    /// values each.
    fn chunks(&self, values_per_row: usize) -> Vec<(usize, usize, usize)> {
        let rows = ((1usize << 18) / values_per_row.max(1)).clamp(1, self.h);
        let h = self.h;
        (0..self.n)
            .flat_map(|b| (0..h).step_by(rows).map(move |i| (b, i, (i + rows).min(h))))
            .collect()
    }

    /// The four kernels `Uₜ` (`cout × c`: S, c1, r1, w11), or their transposes (`c × cout`).
    fn kernels(&self, weight: &[f32], transposed: bool) -> [Vec<f32>; 4] {
        let (c, cout) = (self.c, self.cout);
        let tap = |t: usize, co: usize, ci: usize| -> f32 {
            let [w00, w01, w10, w11]: [f32; 4] =
                std::array::from_fn(|k| weight[(co * c + ci) * 4 + k]);
            match t {
                0 => w00 + w01 + w10 + w11,
                1 => w01 + w11,
                2 => w10 + w11,
                _ => w11,
            }
        };
        std::array::from_fn(|t| {
            let mut a = vec![0f32; cout * c];
            if transposed {
                a.par_chunks_mut(cout).enumerate().for_each(|(ci, line)| {
                    for (co, v) in line.iter_mut().enumerate() {
                        *v = tap(t, co, ci);
                    }
                });
            } else {
                a.par_chunks_mut(c).enumerate().for_each(|(co, line)| {
                    for (ci, v) in line.iter_mut().enumerate() {
                        *v = tap(t, co, ci);
                    }
                });
            }
            a
        })
    }

    /// `Dx`, `Dy`, `Dxy` of image `b` for the grid rows `i0..i1` into `v` (`3 × c × p`, position
    /// `(i − i0)·wp + j`; zeros past the rows).
    fn differences(&self, xp: &[f32], (b, i0, i1): (usize, usize, usize), p: usize, v: &mut [f32]) {
        let (c, wp, pp) = (self.c, self.wp(), self.pp());
        let len = (i1 - i0) * wp;
        let (dx, rest) = v.split_at_mut(c * p);
        let (dy, dxy) = rest.split_at_mut(c * p);
        for ci in 0..c {
            let plane = &xp[(b * c + ci) * pp..];
            let (ox, oy, oxy) = (
                &mut dx[ci * p..][..p],
                &mut dy[ci * p..][..p],
                &mut dxy[ci * p..][..p],
            );
            for i in i0..i1 {
                let q = (i - i0) * wp;
                let (r0, r1) = (&plane[i * wp..][..wp + 1], &plane[(i + 1) * wp..][..wp + 1]);
                for j in 0..wp {
                    let (x00, x01, x10, x11) = (r0[j], r0[j + 1], r1[j], r1[j + 1]);
                    ox[q + j] = x01 - x00;
                    oy[q + j] = x10 - x00;
                    oxy[q + j] = (x11 - x10) - (x01 - x00);
                }
            }
            ox[len..].fill(0.0);
            oy[len..].fill(0.0);
            oxy[len..].fill(0.0);
        }
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
    let xp = u.padded(x);
    let k = u.kernels(weight, false);
    let chunks = u.chunks((3 * c + 4 * cout) * wp);
    let (oh, ow) = (2 * h, 2 * w);
    let act = |v: f32| if relu { v.max(0.0) } else { v };
    // SAFETY: the chunks cover every row of every image, each writing the four output pixels
    // of its input pixels for every channel.
    unsafe {
        filled(n * cout * oh * ow, |out| {
            chunks.par_iter().for_each(|&(b, i0, i1)| {
                with_scratch(|(v, m)| {
                    let p = ((i1 - i0) * wp).next_multiple_of(LANES);
                    v.resize(3 * c * p, 0.0);
                    u.differences(&xp, (b, i0, i1), p, v);
                    m.resize(4 * cout * p, 0.0);
                    for (t, kt) in k.iter().enumerate() {
                        let (src, rs) = if t == 0 {
                            (xp[(b * c) * pp + i0 * wp..].as_ptr(), pp)
                        } else {
                            (v[(t - 1) * c * p..].as_ptr(), p)
                        };
                        // SAFETY: Uₜ is `cout × c`; D0 (the padded planes, rows `pp` apart,
                        // inside `xp` thanks to its slack) or the differences (`c × p`); this
                        // task's own products.
                        simd::gemm(
                            isa,
                            [cout, c, p / LANES],
                            (kt.as_ptr(), c),
                            (src, rs),
                            (m[t * cout * p..].as_mut_ptr(), p),
                            false,
                        );
                    }
                    for co in 0..cout {
                        let bv = bias.map_or(0.0, |b| b[co]);
                        let part = |t: usize| &m[(t * cout + co) * p..][..p];
                        let (p0, p1, p2, p3) = (part(0), part(1), part(2), part(3));
                        let plane = out.at((b * cout + co) * oh * ow);
                        for i in i0..i1 {
                            let q = (i - i0) * wp;
                            // SAFETY: rows 2i and 2i + 1 of plane (b, co): this chunk's.
                            let (top, bottom) = (
                                std::slice::from_raw_parts_mut(plane.add(2 * i * ow), ow),
                                std::slice::from_raw_parts_mut(plane.add((2 * i + 1) * ow), ow),
                            );
                            for j in 0..w {
                                let (a, b1, b2) = (p0[q + j] + bv, p1[q + j], p2[q + j]);
                                top[2 * j] = act(a);
                                top[2 * j + 1] = act(a + b1);
                                bottom[2 * j] = act(a + b2);
                                bottom[2 * j + 1] = act(a + b1 + b2 + p3[q + j]);
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

/// `dP0..dP3` of row `i` of channel plane `src` (`2h × 2w`) into `d` (`4 × w`).
fn products_grad(src: &[f32], ow: usize, i: usize, d: &mut [f32]) {
    let w = ow / 2;
    let (top, bottom) = (&src[2 * i * ow..][..ow], &src[(2 * i + 1) * ow..][..ow]);
    let (d0, rest) = d.split_at_mut(w);
    let (d1, rest) = rest.split_at_mut(w);
    let (d2, d3) = rest.split_at_mut(w);
    for j in 0..w {
        let (y00, y01, y10, y11) = (top[2 * j], top[2 * j + 1], bottom[2 * j], bottom[2 * j + 1]);
        d0[j] = (y00 + y01) + (y10 + y11);
        d1[j] = y01 + y11;
        d2[j] = y10 + y11;
        d3[j] = y11;
    }
}

/// The input gradient: `dX = Σₜ Uₜᵀ · dEₜ` by chunks of rows, then the junk column dropped.
fn input_grad(isa: Isa, u: Up, weight: &[f32], dz: &[f32]) -> Vec<f32> {
    let Up { n, c, h, w, cout } = u;
    let (wp, ow) = (u.wp(), 2 * w);
    let kt = u.kernels(weight, true);
    let chunks = u.chunks((4 * cout + c) * wp);
    // SAFETY: the chunks cover every row of every image and channel.
    unsafe {
        filled(n * c * h * w, |dx| {
            chunks.par_iter().for_each(|&(b, i0, i1)| {
                with_scratch(|(e, buf)| {
                    let p = ((i1 - i0) * wp).next_multiple_of(LANES);
                    // Every valid position is written below; the junk column and the positions
                    // past the chunk's rows are zeros.
                    e.resize(4 * cout * p, 0.0);
                    let len = (i1 - i0) * wp;
                    for et in e.chunks_exact_mut(p) {
                        for i in 0..i1 - i0 {
                            et[i * wp + w] = 0.0;
                        }
                        et[len..].fill(0.0);
                    }
                    // dP of the previous and the current row, and dE of the current one.
                    let mut rows = vec![0f32; 12 * w];
                    for co in 0..cout {
                        let src = &dz[(b * cout + co) * 4 * h * w..][..4 * h * w];
                        let (prev, rest) = rows.split_at_mut(4 * w);
                        let (cur, er) = rest.split_at_mut(4 * w);
                        prev.fill(0.0);
                        if i0 > 0 {
                            products_grad(src, ow, i0 - 1, prev);
                        }
                        for i in i0..i1 {
                            products_grad(src, ow, i, cur);
                            let (c1, c2, c3) = (&cur[w..2 * w], &cur[2 * w..3 * w], &cur[3 * w..]);
                            let (p2, p3) = (&prev[2 * w..3 * w], &prev[3 * w..]);
                            er[..w].copy_from_slice(&cur[..w]);
                            for j in 0..w {
                                let (l1, l3, pl3) = if j > 0 {
                                    (c1[j - 1], c3[j - 1], p3[j - 1])
                                } else {
                                    (0.0, 0.0, 0.0)
                                };
                                er[w + j] = l1 - c1[j];
                                er[2 * w + j] = p2[j] - c2[j];
                                er[3 * w + j] = (pl3 - p3[j]) - (l3 - c3[j]);
                            }
                            let q = (i - i0) * wp;
                            for t in 0..4 {
                                e[(t * cout + co) * p + q..][..w]
                                    .copy_from_slice(&er[t * w..][..w]);
                            }
                            prev.copy_from_slice(cur);
                        }
                    }
                    buf.resize(c * p, 0.0);
                    for (t, k) in kt.iter().enumerate() {
                        // SAFETY: Uₜᵀ is `c × cout`, dEₜ `cout × p`, this task's own `buf`.
                        simd::gemm(
                            isa,
                            [c, cout, p / LANES],
                            (k.as_ptr(), cout),
                            (e[t * cout * p..].as_ptr(), p),
                            (buf.as_mut_ptr(), p),
                            t > 0,
                        );
                    }
                    for ci in 0..c {
                        let plane = dx.at((b * c + ci) * h * w);
                        for i in i0..i1 {
                            // SAFETY: row i of plane (b, ci): this chunk's.
                            std::slice::from_raw_parts_mut(plane.add(i * w), w)
                                .copy_from_slice(&buf[ci * p + (i - i0) * wp..][..w]);
                        }
                    }
                })
            });
        })
    }
}

/// `dPₜ` of image `b`, rows `i0..i1`, gathered 32 output channels at a time into
/// `zt[t][cp][q][32]` (`q = (i − i0)·wp + j`, zeros in the junk column, past the rows and past
/// `cout`), `p` positions per panel.
fn gather_grad(u: Up, dz: &[f32], (b, i0, i1): (usize, usize, usize), p: usize, zt: &mut Vec<f32>) {
    let Up { h, w, cout, .. } = u;
    let (wp, ow) = (u.wp(), 2 * w);
    let cpan = cout.div_ceil(LANES);
    let panel = p * LANES;
    if cout % LANES != 0 {
        zt.clear();
    }
    zt.resize(4 * cpan * panel, 0.0);
    // Every valid position of every channel is written below; the junk column and the
    // positions past the chunk's rows are zeros (and, above, the lanes past cout).
    let len = (i1 - i0) * wp;
    for zp in zt.chunks_exact_mut(panel) {
        for i in 0..i1 - i0 {
            zp[(i * wp + w) * LANES..][..LANES].fill(0.0);
        }
        zp[len * LANES..].fill(0.0);
    }
    let mut d = vec![0f32; 4 * w];
    for co in 0..cout {
        let (cp, l) = (co / LANES, co % LANES);
        let src = &dz[(b * cout + co) * 4 * h * w..][..4 * h * w];
        for i in i0..i1 {
            products_grad(src, ow, i, &mut d);
            let q = (i - i0) * wp;
            for t in 0..4 {
                let dst = &mut zt[(t * cpan + cp) * panel + q * LANES..];
                for (j, &v) in d[t * w..][..w].iter().enumerate() {
                    dst[j * LANES + l] = v;
                }
            }
        }
    }
}

/// `dUₜᵀ (+)= Dₜ · dPₜᵀ` for the kernels and channel panels `tasks` (`t`, `cp`; all, or only
/// task `only`) over the chunk `(b, i0, ..)` of `p` positions: D0 read in place, the
/// differences in `v`, the gathered gradients in `zt`; `dut` holds a `c × 32` block per task,
/// added to when `accumulate`, else overwritten.
#[allow(clippy::too_many_arguments)]
fn chunk_products(
    isa: Isa,
    u: Up,
    xp: &[f32],
    (b, i0): (usize, usize),
    (v, zt, p): (&[f32], &[f32], usize),
    tasks: &[(usize, usize)],
    dut: SharedMut,
    only: Option<usize>,
    accumulate: bool,
) {
    let (c, wp, pp) = (u.c, u.wp(), u.pp());
    let cpan = u.cout.div_ceil(LANES);
    for (k, &(t, cp)) in tasks.iter().enumerate() {
        if only.is_some_and(|o| o != k) {
            continue;
        }
        let (a, rs) = if t == 0 {
            (xp[(b * c) * pp + i0 * wp..].as_ptr(), pp)
        } else {
            (v[(t - 1) * c * p..].as_ptr(), p)
        };
        // SAFETY: Dₜ (`c × p`, rows `rs` apart, inside `xp` thanks to its slack or inside `v`),
        // the chunk's gathered gradient panel (`p × 32`), and the caller's block of dUᵀ for this
        // task (`c × 32`), which no other thread writes.
        unsafe {
            simd::gemm(
                isa,
                [c, p, 1],
                (a, rs),
                (zt[(t * cpan + cp) * p * LANES..].as_ptr(), LANES),
                (dut.at(k * c * LANES), LANES),
                accumulate,
            );
        }
    }
}

/// The kernel gradient: `dUₜ = Σ_pixels dPₜ · Dₜᵀ`, folded back onto the taps
/// (`dw00 = dS`, `dw01 = dS + dc1`, `dw10 = dS + dr1`, `dw11 = dS + dc1 + dr1 + dU3`). Small
/// kernels: the chunks run in parallel (a partial sum per run of chunks, [`super::sum_per_thread`]); large ones (the deep
/// levels: few pixels, many channel pairs, costly partial sums): chunk after chunk, the
/// products split between the threads.
fn weight_grad(isa: Isa, u: Up, x: &[f32], dz: &[f32]) -> Vec<f32> {
    let Up { c, cout, .. } = u;
    let wp = u.wp();
    let cpan = cout.div_ceil(LANES);
    let xp = u.padded(x);
    let tasks: Vec<(usize, usize)> = (0..4)
        .flat_map(|t| (0..cpan).map(move |cp| (t, cp)))
        .collect();
    let block = c * LANES;
    let total = tasks.len() * block;
    let chunks = u.chunks((3 * c + 4 * cpan * LANES) * wp);
    let prepare = |chunk: (usize, usize, usize), v: &mut Vec<f32>, zt: &mut Vec<f32>| {
        let p = ((chunk.2 - chunk.1) * wp).next_multiple_of(LANES);
        v.resize(3 * c * p, 0.0);
        u.differences(&xp, chunk, p, v);
        gather_grad(u, dz, chunk, p, zt);
        p
    };
    let dut = if total > (1 << 20) && rayon::current_num_threads() > 1 {
        // SAFETY: the first chunk's products write every task's block, the others add to them.
        unsafe {
            filled(total, |base| {
                with_scratch(|(v, zt)| {
                    for (i, &chunk) in chunks.iter().enumerate() {
                        let p = prepare(chunk, v, zt);
                        let (v, zt) = (&v[..], &zt[..]);
                        (0..tasks.len()).into_par_iter().for_each(|k| {
                            let at = (chunk.0, chunk.1);
                            let data = (v, zt, p);
                            chunk_products(isa, u, &xp, at, data, &tasks, base, Some(k), i > 0);
                        });
                    }
                })
            })
        }
    } else {
        super::sum_per_thread(&chunks, total, |dut, _: &mut (), &chunk| {
            with_scratch(|(v, zt)| {
                let p = prepare(chunk, v, zt);
                let base = SharedMut(dut.as_mut_ptr());
                chunk_products(
                    isa,
                    u,
                    &xp,
                    (chunk.0, chunk.1),
                    (v, zt, p),
                    &tasks,
                    base,
                    None,
                    true,
                );
            })
        })
    };
    let mut dw = vec![0f32; cout * c * 4];
    dw.par_chunks_mut(c * 4).enumerate().for_each(|(co, row)| {
        let (cp, l) = (co / LANES, co % LANES);
        let at = |t: usize, ci: usize| dut[(t * cpan + cp) * block + ci * LANES + l];
        for ci in 0..c {
            let (ds, dc1, dr1, d11) = (at(0, ci), at(1, ci), at(2, ci), at(3, ci));
            row[ci * 4] = ds;
            row[ci * 4 + 1] = ds + dc1;
            row[ci * 4 + 2] = ds + dr1;
            row[ci * 4 + 3] = ds + dc1 + dr1 + d11;
        }
    });
    dw
}
