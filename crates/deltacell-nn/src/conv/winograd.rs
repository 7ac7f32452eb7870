//! Winograd F(2×2, 3×3) for the U-Net's 3×3 convolutions: forward (and so the input gradient,
//! which is a forward convolution with the kernel flipped) and the weight gradient.
//!
//! Each 2×2 block of output pixels ("tile") is computed from the 4×4 input patch around it as
//! `Y = Aᵀ [(G g Gᵀ) ⊙ (Bᵀ d B)] A`: after the transforms, the 16 positions ξ of the 4×4
//! transform domain are 16 independent matrix products `M[ξ] (cout × tiles) = U[ξ] (cout × cin)
//! · V[ξ] (cin × tiles)`, 16 multiplications per tile and channel pair instead of the direct
//! convolution's 36 (2.25× fewer). The weight gradient is the transpose of the same chain:
//! `dU[ξ] = Σ_tiles (A dY Aᵀ)[ξ] · V[ξ]ᵀ`, then `dg = Gᵀ dU G`.
//!
//! Work is split into chunks of consecutive tiles (across images when planes are small), each
//! transformed into a scratch buffer that stays in cache, multiplied, and transformed back
//! with the bias and the ReLU fused in. The input is read in place (the zero padding is applied
//! while reading the patches of border tiles) and may be split over two buffers along the
//! channels ([`Split`]: the decoder's concatenation of skip connection and up-convolution is
//! never materialised); the output may be split the same way (the input gradient of that
//! concatenation).
//!
//! F(2×2, 3×3)'s transforms have coefficients 0, ±½ and ±1 only: its rounding error is of the
//! order of the direct convolution's (measured against it in `tests.rs`).

use rayon::prelude::*;

use super::{matmul, sum_per_thread, Geometry, SharedMut};

/// Positions of the 4×4 transform domain.
const XI: usize = 16;

/// How the output is cut into 2×2 tiles and chunks of tiles.
struct Plan {
    /// Tile rows and columns per image.
    th: usize,
    tw: usize,
    /// Tiles per chunk.
    chunk: usize,
    /// Tiles in the batch.
    total: usize,
}

impl Plan {
    fn new(g: &Geometry) -> Plan {
        let (th, tw) = (g.out_h().div_ceil(2), g.out_w().div_ceil(2));
        let total = g.n * th * tw;
        // Transform-domain scratch (16 · (cin + cout) values per tile) of about 2 MiB, products
        // at least 64 tiles wide where the batch allows, and a chunk or more per thread.
        let by_cache = (1usize << 19) / (XI * (g.cin + g.cout));
        let threads = rayon::current_num_threads().max(1);
        let chunk = by_cache
            .clamp(64, 1024)
            .min(total.div_ceil(threads))
            .max(16)
            .min(total);
        Plan {
            th,
            tw,
            chunk,
            total,
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
}

/// Whether a convolution runs as Winograd F(2×2, 3×3): a 3×3 kernel with enough channels on
/// both sides for the 16 products to be efficient.
pub(super) fn applies(g: &Geometry) -> bool {
    g.kh == 3 && g.kw == 3 && g.cin >= 16 && g.cout >= 16 && g.out_h() >= 2 && g.out_w() >= 2
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

/// A run of a chunk's tiles along one tile row: image `b`, tile row `ty`, tile columns
/// `tx..tx + n`, at positions `j..j + n` of the chunk.
#[derive(Clone, Copy)]
struct Run {
    b: usize,
    ty: usize,
    tx: usize,
    n: usize,
    j: usize,
}

/// The runs of tiles `t0..t1` of the batch.
fn chunk_runs(p: &Plan, (t0, t1): (usize, usize), runs: &mut Vec<Run>) {
    runs.clear();
    let mut t = t0;
    while t < t1 {
        let (b, ty, tx) = p.locate(t);
        let n = (p.tw - tx).min(t1 - t);
        runs.push(Run {
            b,
            ty,
            tx,
            n,
            j: t - t0,
        });
        t += n;
    }
}

/// `dst[..len]` = row `y` of `plane` (`h × w`) from column `x0` on, zeros outside the plane.
fn read_row(plane: &[f32], [h, w]: [usize; 2], y: isize, x0: isize, dst: &mut [f32]) {
    let len = dst.len();
    if y < 0 || y >= h as isize {
        dst.fill(0.0);
        return;
    }
    let src = &plane[y as usize * w..][..w];
    let lo = ((-x0).max(0) as usize).min(len);
    let hi = ((w as isize - x0).max(0) as usize).clamp(lo, len);
    dst[..lo].fill(0.0);
    if hi > lo {
        let s0 = (x0 + lo as isize) as usize;
        dst[lo..hi].copy_from_slice(&src[s0..s0 + hi - lo]);
    }
    dst[hi..].fill(0.0);
}

/// `V[ξ][ci][j] = (Bᵀ d B)[ξ]` for the chunk's tiles `j` (`tc` of them), `d` the tile's 4×4
/// input patch (zeros outside the input); `v` holds `16 × cin × tc` values. Per run of tiles,
/// the four input rows are read once and transformed column-wise for the whole run.
fn input_transform(
    g: &Geometry,
    x: &Split<&[f32]>,
    runs: &[Run],
    tc: usize,
    v: &mut [f32],
    rows: &mut Vec<f32>,
) {
    let stride = g.cin * tc;
    for ci in 0..g.cin {
        for run in runs {
            let plane = x.plane(run.b, ci);
            let (n, len) = (run.n, 2 * run.n + 2);
            rows.resize(4 * len, 0.0);
            let iy = (2 * run.ty) as isize - g.pad[0] as isize;
            let ix = (2 * run.tx) as isize - g.pad[1] as isize;
            for (i, row) in rows.chunks_exact_mut(len).enumerate() {
                read_row(plane, [g.h, g.w], iy + i as isize, ix, row);
            }
            // Bᵀ d for every column of the run, in place.
            let (r0, rest) = rows.split_at_mut(len);
            let (r1, rest) = rest.split_at_mut(len);
            let (r2, r3) = rest.split_at_mut(len);
            for c in 0..len {
                let (a, b, cc, d) = (r0[c], r1[c], r2[c], r3[c]);
                r0[c] = a - cc;
                r1[c] = b + cc;
                r2[c] = cc - b;
                r3[c] = b - d;
            }
            // Then times B, tile by tile (columns 2j..2j + 4 of each row).
            let o = ci * tc + run.j;
            for (k, e) in rows.chunks_exact(len).enumerate() {
                let at = |l: usize| (k * 4 + l) * stride + o;
                for (jj, d) in v[at(0)..][..n].iter_mut().enumerate() {
                    *d = e[2 * jj] - e[2 * jj + 2];
                }
                for (jj, d) in v[at(1)..][..n].iter_mut().enumerate() {
                    *d = e[2 * jj + 1] + e[2 * jj + 2];
                }
                for (jj, d) in v[at(2)..][..n].iter_mut().enumerate() {
                    *d = e[2 * jj + 2] - e[2 * jj + 1];
                }
                for (jj, d) in v[at(3)..][..n].iter_mut().enumerate() {
                    *d = e[2 * jj + 1] - e[2 * jj + 3];
                }
            }
        }
    }
}

/// `U[ξ][co][ci] = (G g Gᵀ)[ξ]` for the `cout × cin × 3 × 3` kernel `weight`.
fn kernel_transform(g: &Geometry, weight: &[f32]) -> Vec<f32> {
    let pairs = g.cout * g.cin;
    let mut u = vec![0f32; XI * pairs];
    for (pair, k) in weight.chunks_exact(9).enumerate() {
        let r = [[k[0], k[1], k[2]], [k[3], k[4], k[5]], [k[6], k[7], k[8]]];
        // G g: four rows of three.
        let gg = [
            r[0],
            [
                0.5 * (r[0][0] + r[1][0] + r[2][0]),
                0.5 * (r[0][1] + r[1][1] + r[2][1]),
                0.5 * (r[0][2] + r[1][2] + r[2][2]),
            ],
            [
                0.5 * (r[0][0] - r[1][0] + r[2][0]),
                0.5 * (r[0][1] - r[1][1] + r[2][1]),
                0.5 * (r[0][2] - r[1][2] + r[2][2]),
            ],
            r[2],
        ];
        for (i, row) in gg.iter().enumerate() {
            let out = [
                row[0],
                0.5 * (row[0] + row[1] + row[2]),
                0.5 * (row[0] - row[1] + row[2]),
                row[2],
            ];
            for (j, &val) in out.iter().enumerate() {
                u[(i * 4 + j) * pairs + pair] = val;
            }
        }
    }
    u
}

/// Forward convolution (3×3, stride 1, the geometry's padding) with the bias and the ReLU fused.
pub(super) fn forward(
    g: &Geometry,
    x: &[f32],
    weight: &[f32],
    bias: Option<&[f32]>,
    relu: bool,
) -> Vec<f32> {
    let mut out = vec![0f32; g.n * g.cout * g.out_h() * g.out_w()];
    let dst = Split {
        first: SharedMut(out.as_mut_ptr()),
        second: SharedMut(std::ptr::null_mut()),
        c0: g.cout,
        c: g.cout,
        plane: g.out_h() * g.out_w(),
    };
    forward_split(
        g,
        &Split::whole(x, g.cin, g.h * g.w),
        weight,
        bias,
        relu,
        dst,
    );
    out
}

/// [`forward`] from an input split along the channels into an output split along the channels
/// (`dst` must address `n × cout × out_h × out_w` values in all, written once each).
pub(super) fn forward_split(
    g: &Geometry,
    x: &Split<&[f32]>,
    weight: &[f32],
    bias: Option<&[f32]>,
    relu: bool,
    dst: Split<SharedMut>,
) {
    let p = Plan::new(g);
    let ow = g.out_w();
    let u = kernel_transform(g, weight);
    let pairs = g.cout * g.cin;
    p.chunks().into_par_iter().for_each_init(
        || (Vec::new(), Vec::new(), Vec::new(), Vec::new()),
        |(runs, v, m, rows), chunk| {
            chunk_runs(&p, chunk, runs);
            let tc = chunk.1 - chunk.0;
            v.resize(XI * g.cin * tc, 0.0);
            m.resize(XI * g.cout * tc, 0.0);
            input_transform(g, x, runs, tc, v, rows);
            for xi in 0..XI {
                // SAFETY: the three matrices are whole slices of `u`, `v`, `m` of the stated
                // strides; `m` is this task's own.
                unsafe {
                    matmul(
                        [g.cout, tc, g.cin],
                        m[xi * g.cout * tc..].as_mut_ptr(),
                        [tc as isize, 1],
                        false,
                        u[xi * pairs..].as_ptr(),
                        [g.cin as isize, 1],
                        v[xi * g.cin * tc..].as_ptr(),
                        [tc as isize, 1],
                    );
                }
            }
            let stride = g.cout * tc;
            let oh = g.out_h();
            for co in 0..g.cout {
                let bv = bias.map_or(0.0, |b| b[co]);
                for run in runs.iter() {
                    let n = run.n;
                    let o = co * tc + run.j;
                    let mk: [&[f32]; XI] = std::array::from_fn(|k| &m[k * stride + o..][..n]);
                    // Aᵀ M A for the whole run: rows y0 and y0 + 1, interleaved columns.
                    rows.resize(4 * n, 0.0);
                    let (top, bottom) = rows.split_at_mut(2 * n);
                    for jj in 0..n {
                        let r0: [f32; 4] =
                            std::array::from_fn(|l| mk[l][jj] + mk[4 + l][jj] + mk[8 + l][jj]);
                        let r1: [f32; 4] =
                            std::array::from_fn(|l| mk[4 + l][jj] - mk[8 + l][jj] - mk[12 + l][jj]);
                        let act = |v: f32| if relu { (v + bv).max(0.0) } else { v + bv };
                        top[2 * jj] = act(r0[0] + r0[1] + r0[2]);
                        top[2 * jj + 1] = act(r0[1] - r0[2] - r0[3]);
                        bottom[2 * jj] = act(r1[0] + r1[1] + r1[2]);
                        bottom[2 * jj + 1] = act(r1[1] - r1[2] - r1[3]);
                    }
                    let (y0, x0) = (2 * run.ty, 2 * run.tx);
                    let cols = (2 * n).min(ow - x0);
                    let plane = dst.plane_ptr(run.b, co);
                    for (i, src) in [&*top, &*bottom].into_iter().enumerate() {
                        if y0 + i < oh {
                            // SAFETY: these pixels of plane (b, co) belong to this run only.
                            let row = unsafe {
                                std::slice::from_raw_parts_mut(plane.at((y0 + i) * ow + x0), cols)
                            };
                            row.copy_from_slice(&src[..cols]);
                        }
                    }
                }
            }
        },
    );
}

/// Per-task scratch of the weight gradient: runs, transformed input, transformed gradient, rows.
type Scratch = (Vec<Run>, Vec<f32>, Vec<f32>, Vec<f32>);

/// Weight gradient `dW = Σ_n dZ[n] ⋆ X[n]` (`cout × cin × 3 × 3`) through the transform domain.
pub(super) fn weight_grad(g: &Geometry, x: &Split<&[f32]>, dz: &[f32]) -> Vec<f32> {
    let p = Plan::new(g);
    let (oh, ow) = (g.out_h(), g.out_w());
    let plane = oh * ow;
    let pairs = g.cout * g.cin;
    let du = sum_per_thread(
        &p.chunks(),
        XI * pairs,
        |du, (runs, v, z, rows): &mut Scratch, &chunk| {
            chunk_runs(&p, chunk, runs);
            let tc = chunk.1 - chunk.0;
            v.resize(XI * g.cin * tc, 0.0);
            z.resize(XI * g.cout * tc, 0.0);
            input_transform(g, x, runs, tc, v, rows);
            let stride = g.cout * tc;
            for co in 0..g.cout {
                let dzp = &dz[co * plane..];
                for run in runs.iter() {
                    let n = run.n;
                    // The run's two output-gradient rows, zeros outside the output.
                    rows.resize(4 * n, 0.0);
                    let (y0, x0) = (2 * run.ty, 2 * run.tx);
                    let (d0, d1) = rows.split_at_mut(2 * n);
                    let img = &dzp[run.b * g.cout * plane..][..plane];
                    read_row(img, [oh, ow], y0 as isize, x0 as isize, &mut d0[..2 * n]);
                    read_row(
                        img,
                        [oh, ow],
                        y0 as isize + 1,
                        x0 as isize,
                        &mut d1[..2 * n],
                    );
                    let o = co * tc + run.j;
                    // A dY Aᵀ: q_k = (A dY) row k, then z(k, ·) = (q0, q0 + q1, q0 − q1, −q1).
                    for jj in 0..n {
                        let (a0, a1, b0, b1) =
                            (d0[2 * jj], d0[2 * jj + 1], d1[2 * jj], d1[2 * jj + 1]);
                        let q = [[a0, a1], [a0 + b0, a1 + b1], [a0 - b0, a1 - b1], [-b0, -b1]];
                        for (k, qk) in q.iter().enumerate() {
                            let zk = [qk[0], qk[0] + qk[1], qk[0] - qk[1], -qk[1]];
                            for (l, &val) in zk.iter().enumerate() {
                                z[(k * 4 + l) * stride + o + jj] = val;
                            }
                        }
                    }
                }
            }
            for xi in 0..XI {
                // SAFETY: `du` is this thread's own `16 × cout × cin` sum; `z` the chunk's
                // `cout × tc` transformed gradient, `v` its `cin × tc` transformed input read
                // transposed.
                unsafe {
                    matmul(
                        [g.cout, g.cin, tc],
                        du[xi * pairs..].as_mut_ptr(),
                        [g.cin as isize, 1],
                        true,
                        z[xi * g.cout * tc..].as_ptr(),
                        [tc as isize, 1],
                        v[xi * g.cin * tc..].as_ptr(),
                        [1, tc as isize],
                    );
                }
            }
        },
    );
    // dg = Gᵀ dU G per channel pair.
    let mut dw = vec![0f32; pairs * 9];
    dw.par_chunks_mut(9).enumerate().for_each(|(pair, out)| {
        let at = |i: usize, j: usize| du[(i * 4 + j) * pairs + pair];
        // Gᵀ dU: three rows of four.
        let mut pr = [[0f32; 4]; 3];
        for (j, c) in (0..4).map(|j| (j, [at(0, j), at(1, j), at(2, j), at(3, j)])) {
            pr[0][j] = c[0] + 0.5 * (c[1] + c[2]);
            pr[1][j] = 0.5 * (c[1] - c[2]);
            pr[2][j] = 0.5 * (c[1] + c[2]) + c[3];
        }
        for (i, r) in pr.iter().enumerate() {
            out[i * 3] = r[0] + 0.5 * (r[1] + r[2]);
            out[i * 3 + 1] = 0.5 * (r[1] - r[2]);
            out[i * 3 + 2] = 0.5 * (r[1] + r[2]) + r[3];
        }
    });
    dw
}
