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

/// One 2×2 output tile of a chunk: its image, the top-left corner of its 4×4 input patch
/// (padding included: it may lie outside the input), whether that patch is inside the input,
/// its first output pixel's offset in a plane, and how many of its rows and columns are inside
/// the output.
#[derive(Clone, Copy)]
struct Tile {
    b: usize,
    iy: isize,
    ix: isize,
    inside: bool,
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
        let iy = y0 as isize - g.pad[0] as isize;
        let ix = x0 as isize - g.pad[1] as isize;
        Tile {
            b,
            iy,
            ix,
            inside: iy >= 0 && ix >= 0 && iy as usize + 4 <= g.h && ix as usize + 4 <= g.w,
            output: y0 * ow + x0,
            rows: (oh - y0).min(2),
            cols: (ow - x0).min(2),
        }
    }));
}

/// The 4×4 patch of `plane` (`h × w`) with its top-left corner at `(iy, ix)`, zeros outside.
fn patch(plane: &[f32], [h, w]: [usize; 2], tile: &Tile) -> [[f32; 4]; 4] {
    let mut d = [[0f32; 4]; 4];
    if tile.inside {
        let base = tile.iy as usize * w + tile.ix as usize;
        for (i, row) in d.iter_mut().enumerate() {
            row.copy_from_slice(&plane[base + i * w..][..4]);
        }
        return d;
    }
    for (i, row) in d.iter_mut().enumerate() {
        let y = tile.iy + i as isize;
        if y < 0 || y >= h as isize {
            continue;
        }
        for (j, v) in row.iter_mut().enumerate() {
            let x = tile.ix + j as isize;
            if x >= 0 && x < w as isize {
                *v = plane[y as usize * w + x as usize];
            }
        }
    }
    d
}

/// `V[ξ][ci][j] = (Bᵀ d B)[ξ]` for the chunk's tiles `j`, `d` the tile's 4×4 input patch;
/// `v` holds `16 × cin × tiles` values.
fn input_transform(g: &Geometry, x: &Split<&[f32]>, tiles: &[Tile], v: &mut [f32]) {
    let tc = tiles.len();
    let stride = g.cin * tc;
    let cols = |r: [f32; 4]| [r[0] - r[2], r[1] + r[2], r[2] - r[1], r[1] - r[3]];
    for ci in 0..g.cin {
        for (j, tile) in tiles.iter().enumerate() {
            let [d0, d1, d2, d3] = patch(x.plane(tile.b, ci), [g.h, g.w], tile);
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
        || (Vec::new(), Vec::new(), Vec::new()),
        |(tiles, v, m), chunk| {
            chunk_tiles(g, &p, chunk, tiles);
            let tc = tiles.len();
            v.resize(XI * g.cin * tc, 0.0);
            m.resize(XI * g.cout * tc, 0.0);
            input_transform(g, x, tiles, v);
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
                    let plane = dst.plane_ptr(tile.b, co);
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
                    for (i, yrow) in y.iter().enumerate().take(tile.rows) {
                        for (c, &val) in yrow.iter().enumerate().take(tile.cols) {
                            let val = if relu { val.max(0.0) } else { val };
                            // SAFETY: this pixel of plane (b, co) belongs to this tile only.
                            unsafe { *plane.at(tile.output + i * ow + c) = val };
                        }
                    }
                }
            }
        },
    );
}

/// Weight gradient `dW = Σ_n dZ[n] ⋆ X[n]` (`cout × cin × 3 × 3`) through the transform domain.
pub(super) fn weight_grad(g: &Geometry, x: &Split<&[f32]>, dz: &[f32]) -> Vec<f32> {
    let p = Plan::new(g);
    let (oh, ow) = (g.out_h(), g.out_w());
    let plane = oh * ow;
    let pairs = g.cout * g.cin;
    let du = sum_per_thread(
        &p.chunks(),
        XI * pairs,
        |du, (tiles, v, z): &mut (Vec<Tile>, Vec<f32>, Vec<f32>), &chunk| {
            chunk_tiles(g, &p, chunk, tiles);
            let tc = tiles.len();
            v.resize(XI * g.cin * tc, 0.0);
            z.resize(XI * g.cout * tc, 0.0);
            input_transform(g, x, tiles, v);
            let stride = g.cout * tc;
            for co in 0..g.cout {
                for (j, tile) in tiles.iter().enumerate() {
                    let base = (tile.b * g.cout + co) * plane + tile.output;
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
