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
//! with the bias and the ReLU fused in; no tensor larger than the input is allocated.
//!
//! F(2×2, 3×3)'s transforms have coefficients 0, ±½ and ±1 only: its rounding error is of the
//! order of the direct convolution's (measured against it in `tests.rs`).

use rayon::prelude::*;

use super::{matmul, pad_planes, sum_per_thread, Geometry, SharedMut};

/// Positions of the 4×4 transform domain.
const XI: usize = 16;

/// How the output is cut into 2×2 tiles and chunks of tiles.
struct Plan {
    /// Tile rows and columns per image.
    th: usize,
    tw: usize,
    /// Padded input plane: `2·th + 2` rows of `2·tw + 2` columns.
    hp: usize,
    wp: usize,
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
            hp: 2 * th + 2,
            wp: 2 * tw + 2,
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

/// The input padded for the tiles: the convolution's own padding at the top and left, zeros
/// below and right up to `hp × wp`.
fn padded(g: &Geometry, p: &Plan, x: &[f32]) -> Vec<f32> {
    pad_planes(
        x,
        g.n * g.cin,
        [g.h, g.w],
        [p.hp, p.wp],
        [g.pad[0], g.pad[1]],
        0,
    )
}

/// One 2×2 output tile of a chunk: where its 4×4 input patch starts in the padded input (for
/// input channel 0), where its output pixels start (for output channel 0), and how many of its
/// rows and columns are inside the output.
#[derive(Clone, Copy)]
struct Tile {
    input: usize,
    output: usize,
    rows: usize,
    cols: usize,
}

/// The tiles `t0..t1` of the batch.
fn chunk_tiles(g: &Geometry, p: &Plan, (t0, t1): (usize, usize), tiles: &mut Vec<Tile>) {
    let (oh, ow) = (g.out_h(), g.out_w());
    tiles.clear();
    tiles.extend((t0..t1).map(|t| {
        let (b, ty, tx) = p.locate(t);
        let (y0, x0) = (2 * ty, 2 * tx);
        Tile {
            input: b * g.cin * p.hp * p.wp + y0 * p.wp + x0,
            output: b * g.cout * oh * ow + y0 * ow + x0,
            rows: (oh - y0).min(2),
            cols: (ow - x0).min(2),
        }
    }));
}

/// `V[ξ][ci][j] = (Bᵀ d B)[ξ]` for the chunk's tiles `j`, `d` the 4×4 patch of the padded input
/// at the tile's top-left corner; `v` holds `16 × cin × tiles` values.
fn input_transform(g: &Geometry, p: &Plan, xp: &[f32], tiles: &[Tile], v: &mut [f32]) {
    let tc = tiles.len();
    let pplane = p.hp * p.wp;
    let stride = g.cin * tc;
    let cols = |r: [f32; 4]| [r[0] - r[2], r[1] + r[2], r[2] - r[1], r[1] - r[3]];
    for ci in 0..g.cin {
        for (j, tile) in tiles.iter().enumerate() {
            let base = tile.input + ci * pplane;
            let row = |i: usize| -> [f32; 4] {
                let r = &xp[base + i * p.wp..][..4];
                [r[0], r[1], r[2], r[3]]
            };
            let (d0, d1, d2, d3) = (row(0), row(1), row(2), row(3));
            let o = ci * tc + j;
            // Bᵀ d (four rows), then each row times B.
            let e = [
                cols_sub(d0, d2),
                cols_add(d1, d2),
                cols_sub(d2, d1),
                cols_sub(d1, d3),
            ];
            for (k, ek) in e.iter().enumerate() {
                for (l, &val) in cols(*ek).iter().enumerate() {
                    v[(k * 4 + l) * stride + o] = val;
                }
            }
        }
    }
}

fn cols_sub(a: [f32; 4], b: [f32; 4]) -> [f32; 4] {
    [a[0] - b[0], a[1] - b[1], a[2] - b[2], a[3] - b[3]]
}

fn cols_add(a: [f32; 4], b: [f32; 4]) -> [f32; 4] {
    [a[0] + b[0], a[1] + b[1], a[2] + b[2], a[3] + b[3]]
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
    let p = Plan::new(g);
    let (oh, ow) = (g.out_h(), g.out_w());
    let plane = oh * ow;
    let xp = padded(g, &p, x);
    let u = kernel_transform(g, weight);
    let pairs = g.cout * g.cin;
    let mut out = vec![0f32; g.n * g.cout * plane];
    let dst = SharedMut(out.as_mut_ptr());
    p.chunks().into_par_iter().for_each_init(
        || (Vec::new(), Vec::new(), Vec::new()),
        |(tiles, v, m), chunk| {
            chunk_tiles(g, &p, chunk, tiles);
            let tc = tiles.len();
            v.resize(XI * g.cin * tc, 0.0);
            m.resize(XI * g.cout * tc, 0.0);
            input_transform(g, &p, &xp, tiles, v);
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
            for co in 0..g.cout {
                let bv = bias.map_or(0.0, |b| b[co]);
                for (j, tile) in tiles.iter().enumerate() {
                    let o = co * tc + j;
                    let at = |k: usize| m[k * stride + o];
                    // Aᵀ M: two rows of four.
                    let r0 = [
                        at(0) + at(4) + at(8),
                        at(1) + at(5) + at(9),
                        at(2) + at(6) + at(10),
                        at(3) + at(7) + at(11),
                    ];
                    let r1 = [
                        at(4) - at(8) - at(12),
                        at(5) - at(9) - at(13),
                        at(6) - at(10) - at(14),
                        at(7) - at(11) - at(15),
                    ];
                    let y = [
                        [r0[0] + r0[1] + r0[2] + bv, r0[1] - r0[2] - r0[3] + bv],
                        [r1[0] + r1[1] + r1[2] + bv, r1[1] - r1[2] - r1[3] + bv],
                    ];
                    let base = tile.output + co * plane;
                    for (i, yrow) in y.iter().enumerate().take(tile.rows) {
                        for (c, &val) in yrow.iter().enumerate().take(tile.cols) {
                            let val = if relu { val.max(0.0) } else { val };
                            // SAFETY: this pixel of plane (b, co) belongs to this tile only.
                            unsafe { *dst.at(base + i * ow + c) = val };
                        }
                    }
                }
            }
        },
    );
    out
}

/// Weight gradient `dW = Σ_n dZ[n] ⋆ X[n]` (`cout × cin × 3 × 3`) through the transform domain.
pub(super) fn weight_grad(g: &Geometry, x: &[f32], dz: &[f32]) -> Vec<f32> {
    let p = Plan::new(g);
    let (oh, ow) = (g.out_h(), g.out_w());
    let plane = oh * ow;
    let xp = padded(g, &p, x);
    let pairs = g.cout * g.cin;
    let du = sum_per_thread(
        &p.chunks(),
        XI * pairs,
        |du, (tiles, v, z): &mut (Vec<Tile>, Vec<f32>, Vec<f32>), &chunk| {
            chunk_tiles(g, &p, chunk, tiles);
            let tc = tiles.len();
            v.resize(XI * g.cin * tc, 0.0);
            z.resize(XI * g.cout * tc, 0.0);
            input_transform(g, &p, &xp, tiles, v);
            let stride = g.cout * tc;
            for co in 0..g.cout {
                for (j, tile) in tiles.iter().enumerate() {
                    let base = tile.output + co * plane;
                    let mut d = [[0f32; 2]; 2];
                    for (i, drow) in d.iter_mut().enumerate().take(tile.rows) {
                        for (c, dv) in drow.iter_mut().enumerate().take(tile.cols) {
                            *dv = dz[base + i * ow + c];
                        }
                    }
                    // A dY: four rows of two; then (A dY) Aᵀ: four columns per row.
                    let q = [
                        d[0],
                        [d[0][0] + d[1][0], d[0][1] + d[1][1]],
                        [d[0][0] - d[1][0], d[0][1] - d[1][1]],
                        [-d[1][0], -d[1][1]],
                    ];
                    let o = co * tc + j;
                    for (k, qk) in q.iter().enumerate() {
                        let zk = [qk[0], qk[0] + qk[1], qk[0] - qk[1], -qk[1]];
                        for (l, &val) in zk.iter().enumerate() {
                            z[(k * 4 + l) * stride + o] = val;
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
