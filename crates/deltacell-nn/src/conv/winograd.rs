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
//! Layouts (no packing step: each transform writes what the micro-kernels of `simd.rs` read):
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
//! thread); small ones (the deep levels: few tiles, many channels) run chunk after chunk with
//! the work inside a chunk split between the threads (channels for the transforms, positions ξ
//! and rows for the products), so that two cores are busy even with a single chunk.

use rayon::prelude::*;

use super::simd::{self, multiversion, Isa, Simd, LANES};
use super::{Geometry, SharedMut};

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
// The transforms, one dimension at a time (α = 4 for F(2×2), 6 for F(4×4)), on vectors of the
// instruction set chosen at run time ([`Vx`]), a panel's 32 lanes a vector at a time.

/// What the transforms compute with: `f32`, or vectors of lanes.
trait Num:
    Copy
    + std::ops::Add<Output = Self>
    + std::ops::Sub<Output = Self>
    + std::ops::Mul<f32, Output = Self>
{
    fn zero() -> Self;
}

impl Num for f32 {
    #[inline(always)]
    fn zero() -> Self {
        0.0
    }
}

/// A vector of the instruction set `S`.
#[derive(Clone, Copy)]
struct Vx<S: Simd>(S::V);

impl<S: Simd> Num for Vx<S> {
    #[inline(always)]
    fn zero() -> Self {
        Vx(S::zero())
    }
}

impl<S: Simd> std::ops::Add for Vx<S> {
    type Output = Self;
    #[inline(always)]
    fn add(self, o: Self) -> Self {
        Vx(S::add(self.0, o.0))
    }
}

impl<S: Simd> std::ops::Sub for Vx<S> {
    type Output = Self;
    #[inline(always)]
    fn sub(self, o: Self) -> Self {
        Vx(S::sub(self.0, o.0))
    }
}

impl<S: Simd> std::ops::Mul<f32> for Vx<S> {
    type Output = Self;
    #[inline(always)]
    fn mul(self, s: f32) -> Self {
        Vx(S::scale(self.0, s))
    }
}

/// `Bᵀ d`: input patch column → transform domain.
#[inline(always)]
fn bt<T: Num, const A: usize>(d: [T; A]) -> [T; A] {
    let mut t = [T::zero(); A];
    if A == 4 {
        t[0] = d[0] - d[2];
        t[1] = d[1] + d[2];
        t[2] = d[2] - d[1];
        t[3] = d[1] - d[3];
    } else {
        let (a, b) = (d[4] - d[2] * 4.0, d[3] - d[1] * 4.0);
        let (c, e) = (d[4] - d[2], (d[3] - d[1]) * 2.0);
        t[0] = d[0] * 4.0 - d[2] * 5.0 + d[4];
        t[1] = a + b;
        t[2] = a - b;
        t[3] = c + e;
        t[4] = c - e;
        t[5] = d[1] * 4.0 - d[3] * 5.0 + d[5];
    }
    t
}

/// `G g`: kernel column → transform domain.
#[inline(always)]
fn gk<T: Num, const A: usize>(g: [T; 3]) -> [T; A] {
    let mut u = [T::zero(); A];
    if A == 4 {
        u[0] = g[0];
        u[1] = (g[0] + g[1] + g[2]) * 0.5;
        u[2] = (g[0] - g[1] + g[2]) * 0.5;
        u[3] = g[2];
    } else {
        let (s, d) = (g[0] + g[2], g[1]);
        u[0] = g[0] * 0.25;
        u[1] = (s + d) * (-1.0 / 6.0);
        u[2] = (s - d) * (-1.0 / 6.0);
        let (a, b) = (g[0] * (1.0 / 24.0) + g[2] * (1.0 / 6.0), d * (1.0 / 12.0));
        u[3] = a + b;
        u[4] = a - b;
        u[5] = g[2];
    }
    u
}

/// `Aᵀ m`: transform domain → output column.
#[inline(always)]
fn at<T: Num, const A: usize, const M: usize>(v: [T; A]) -> [T; M] {
    let mut y = [T::zero(); M];
    if A == 4 {
        y[0] = v[0] + v[1] + v[2];
        y[1] = v[1] - v[2] - v[3];
    } else {
        let (s1, d1) = (v[1] + v[2], v[1] - v[2]);
        let (s2, d2) = (v[3] + v[4], v[3] - v[4]);
        y[0] = v[0] + s1 + s2;
        y[1] = d1 + d2 * 2.0;
        y[2] = s1 + s2 * 4.0;
        y[3] = d1 + d2 * 8.0 + v[5];
    }
    y
}

/// `A dy` (the transpose of [`at`]): output-gradient column → transform domain.
#[inline(always)]
fn at_t<T: Num, const A: usize, const M: usize>(d: [T; M]) -> [T; A] {
    let mut z = [T::zero(); A];
    if A == 4 {
        z[0] = d[0];
        z[1] = d[0] + d[1];
        z[2] = d[0] - d[1];
        z[3] = T::zero() - d[1];
    } else {
        let (e, o) = (d[0] + d[2], d[1] + d[3]);
        let (e4, o2) = (d[0] + d[2] * 4.0, d[1] * 2.0 + d[3] * 8.0);
        z[0] = d[0];
        z[1] = e + o;
        z[2] = e - o;
        z[3] = e4 + o2;
        z[4] = e4 - o2;
        z[5] = d[3];
    }
    z
}

/// `Gᵀ du` (the transpose of [`gk`]): transform-domain gradient column → kernel column.
#[inline(always)]
fn gk_t<T: Num, const A: usize>(u: [T; A]) -> [T; 3] {
    if A == 4 {
        let s = (u[1] + u[2]) * 0.5;
        [u[0] + s, (u[1] - u[2]) * 0.5, s + u[3]]
    } else {
        let (s, d) = (u[1] + u[2], u[1] - u[2]);
        let (s2, d2) = (u[3] + u[4], u[3] - u[4]);
        [
            u[0] * 0.25 - s * (1.0 / 6.0) + s2 * (1.0 / 24.0),
            d2 * (1.0 / 12.0) - d * (1.0 / 6.0),
            (s2 - s) * (1.0 / 6.0) + u[5],
        ]
    }
}

/// `T X Tᵀ` for a square `X` (`[[T; N]; N]`, row-major) and a 1-D transform `f` (`N → K`, an
/// `#[inline(always)]` function, called directly so that it is inlined into the caller compiled
/// for the chosen instruction set): `[[T; K]; K]`.
macro_rules! two_d {
    ($x:expr, $f:expr, $t:ty, $n:expr, $k:expr) => {{
        let x = $x;
        // Columns first: cols[l] = f(column l of X).
        let mut cols = [[<$t>::zero(); $k]; $n];
        for (l, col) in cols.iter_mut().enumerate() {
            let mut c = [<$t>::zero(); $n];
            for (k, v) in c.iter_mut().enumerate() {
                *v = x[k][l];
            }
            *col = $f(c);
        }
        // Then rows: row i of the result = f(row i of the column-transformed matrix).
        let mut out = [[<$t>::zero(); $k]; $k];
        for (i, row) in out.iter_mut().enumerate() {
            let mut r = [<$t>::zero(); $n];
            for (l, v) in r.iter_mut().enumerate() {
                *v = cols[l][i];
            }
            *row = $f(r);
        }
        out
    }};
}

// ---------------------------------------------------------------------------------------------
// Kernel transform and its transpose.

/// `U[ξ][r][c0 + j] = (G g_j Gᵀ)[ξ]` for the (up to) 32 columns `c0..` of row `r`, with
/// `g_j = weight[r][c]` (`rows × cols × 3 × 3`) or, when `flipped`, `flip(weight[c][r])`
/// (`cols × rows × 3 × 3`: the kernel of the input gradient).
#[inline(always)]
fn kernel_block_body<S: Simd, const A: usize>(
    weight: &[f32],
    [rows, cols]: [usize; 2],
    [r, c0]: [usize; 2],
    u: SharedMut,
) {
    let n = LANES.min(cols - c0);
    // The 9 taps of the block's kernels, tap-major.
    let mut g = [[0f32; LANES]; 9];
    let src = &weight[(r * cols + c0) * 9..][..n * 9];
    for (j, k) in src.chunks_exact(9).enumerate() {
        for (gi, &v) in g.iter_mut().zip(k) {
            gi[j] = v;
        }
    }
    let pairs = rows * cols;
    let mut part = [[0f32; LANES]; 36];
    for h in (0..LANES).step_by(S::W) {
        let mut k = [[Vx::<S>::zero(); 3]; 3];
        for (i, v) in k.iter_mut().flatten().enumerate() {
            // SAFETY: lanes h.. of a 32-lane row.
            *v = Vx(unsafe { S::load(g[i].as_ptr().add(h)) });
        }
        let t = two_d!(&k, gk::<Vx<S>, A>, Vx<S>, 3, A);
        for (p, v) in t.iter().flatten().enumerate() {
            // SAFETY: a whole block writes lanes h.. of columns c0.. of row r at ξ = p (this
            // task's part of U) directly; a partial one, lanes h.. of a 32-lane row.
            unsafe {
                if n == LANES {
                    S::store(u.at(p * pairs + r * cols + c0 + h), v.0);
                } else {
                    S::store(part[p].as_mut_ptr().add(h), v.0);
                }
            }
        }
    }
    if n < LANES {
        for (p, row) in part.iter().take(A * A).enumerate() {
            // SAFETY: columns c0.. of row r at ξ = p: this task's part of U.
            unsafe { std::slice::from_raw_parts_mut(u.at(p * pairs + r * cols + c0), n) }
                .copy_from_slice(&row[..n]);
        }
    }
}

#[inline(always)]
fn kernel_block_f2<S: Simd>(w: &[f32], size: [usize; 2], at: [usize; 2], u: SharedMut) {
    kernel_block_body::<S, 4>(w, size, at, u)
}

#[inline(always)]
fn kernel_block_f4<S: Simd>(w: &[f32], size: [usize; 2], at: [usize; 2], u: SharedMut) {
    kernel_block_body::<S, 6>(w, size, at, u)
}

multiversion!(fn kernel_f2 = kernel_block_f2(
    w: &[f32], size: [usize; 2], at: [usize; 2], u: SharedMut,
));
multiversion!(fn kernel_f4 = kernel_block_f4(
    w: &[f32], size: [usize; 2], at: [usize; 2], u: SharedMut,
));

/// `flip(weight[c][r])` for every pair: the `cols × rows × 3 × 3` kernel flipped and transposed
/// to `rows × cols × 3 × 3` (the input gradient's kernel), by blocks of 32 × 32 pairs.
fn flip_transpose(weight: &[f32], [rows, cols]: [usize; 2]) -> Vec<f32> {
    let rb = rows.div_ceil(LANES);
    // SAFETY: the tasks write every pair (row blocks × all columns).
    unsafe {
        super::filled(rows * cols * 9, |dst| {
            (0..rb).into_par_iter().for_each(|b| {
                for c0 in (0..cols).step_by(LANES) {
                    for c in c0..(c0 + LANES).min(cols) {
                        for r in b * LANES..((b + 1) * LANES).min(rows) {
                            let k = &weight[(c * rows + r) * 9..][..9];
                            for (i, &v) in k.iter().enumerate() {
                                *dst.at((r * cols + c) * 9 + 8 - i) = v;
                            }
                        }
                    }
                }
            })
        })
    }
}

/// `U[ξ][row][col] = (G g Gᵀ)[ξ]` for every channel pair: `rows × cols` pairs, where
/// `g = weight[row][col]` (`weight` is `rows × cols × 3 × 3`) or, when `flipped`, the kernel of
/// the input gradient: `g = flip(weight[col][row])` (`weight` is `cols × rows × 3 × 3`).
fn kernel_transform(o: Opts, weight: &[f32], [rows, cols]: [usize; 2], flipped: bool) -> Vec<f32> {
    let flipped_weight;
    let weight = if flipped {
        flipped_weight = flip_transpose(weight, [rows, cols]);
        &flipped_weight[..]
    } else {
        weight
    };
    let blocks = cols.div_ceil(LANES);
    // SAFETY: the tasks write every (ξ, row, column).
    unsafe {
        super::filled(o.tile.xi() * rows * cols, |up| {
            (0..rows * blocks).into_par_iter().for_each(|task| {
                let at = [task / blocks, task % blocks * LANES];
                match o.tile {
                    Tile::F2 => kernel_f2(o.isa, weight, [rows, cols], at, up),
                    Tile::F4 => kernel_f4(o.isa, weight, [rows, cols], at, up),
                }
            })
        })
    }
}

/// `dW[co0 + j][ci] = Gᵀ dU_j G` for a panel of 32 output channels and input channel `ci`, from
/// `dUᵀ[ξ][co / 32][ci][co % 32]` (`du`, `cpanels` panels); `dw` is `cout × cin × 3 × 3`.
#[inline(always)]
fn kernel_grad_body<S: Simd, const A: usize>(
    du: &[f32],
    [cout, cin, cpanels]: [usize; 3],
    [cp, ci]: [usize; 2],
    dw: SharedMut,
) {
    let mut k = [[0f32; LANES]; 9];
    for h in (0..LANES).step_by(S::W) {
        let mut d = [[Vx::<S>::zero(); A]; A];
        for (pos, v) in d.iter_mut().flatten().enumerate() {
            let row = &du[((pos * cpanels + cp) * cin + ci) * LANES..][..LANES];
            // SAFETY: lanes h.. of a 32-lane row.
            *v = Vx(unsafe { S::load(row.as_ptr().add(h)) });
        }
        let t = two_d!(&d, gk_t::<Vx<S>, A>, Vx<S>, A, 3);
        for (i, v) in t.iter().flatten().enumerate() {
            // SAFETY: lanes h.. of a 32-lane row.
            unsafe { S::store(k[i].as_mut_ptr().add(h), v.0) };
        }
    }
    for j in 0..LANES.min(cout - cp * LANES) {
        let co = cp * LANES + j;
        for (i, ki) in k.iter().enumerate() {
            // SAFETY: entry (co, ci) of dW: this task's alone.
            unsafe { *dw.at((co * cin + ci) * 9 + i) = ki[j] };
        }
    }
}

#[inline(always)]
fn kernel_grad_f2<S: Simd>(du: &[f32], size: [usize; 3], at: [usize; 2], dw: SharedMut) {
    kernel_grad_body::<S, 4>(du, size, at, dw)
}

#[inline(always)]
fn kernel_grad_f4<S: Simd>(du: &[f32], size: [usize; 3], at: [usize; 2], dw: SharedMut) {
    kernel_grad_body::<S, 6>(du, size, at, dw)
}

multiversion!(fn kgrad_f2 = kernel_grad_f2(
    du: &[f32], size: [usize; 3], at: [usize; 2], dw: SharedMut,
));
multiversion!(fn kgrad_f4 = kernel_grad_f4(
    du: &[f32], size: [usize; 3], at: [usize; 2], dw: SharedMut,
));

// ---------------------------------------------------------------------------------------------
// Data transforms on panels of 32 tiles.

/// Asks the CPU to bring `len` values from `p` on into the cache (a hint: no access, no fault).
#[inline(always)]
fn prefetch(p: *const f32, len: isize) {
    #[cfg(target_arch = "x86_64")]
    {
        let mut off = 0;
        while off < len {
            // SAFETY: a prefetch hint never faults, whatever the address.
            unsafe {
                std::arch::x86_64::_mm_prefetch::<{ std::arch::x86_64::_MM_HINT_T0 }>(
                    p.wrapping_offset(off).cast(),
                )
            };
            off += 16;
        }
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = (p, len);
}

/// The geometry a data transform needs.
#[derive(Clone, Copy)]
struct Frame {
    /// Plane height and width of the data read.
    h: usize,
    w: usize,
    /// Offset of a tile's patch from its top-left output pixel (minus the padding).
    top: isize,
    left: isize,
}

/// The tiles of a panel: image and top-left output pixel of each, `None` past the chunk's end
/// (only at the end).
type Lanes = [Option<(usize, usize, usize)>; LANES];

/// `V[ξ][j] = (Bᵀ d_j B)[ξ]` for the 32 tiles `j` of a panel of channel `ci`: `d_j` the α×α
/// input patch of tile `j` (zeros outside the input), written to `dst + ξ·xs + j`.
///
/// The patches are read by runs of tiles along a tile row: each of the α input rows of a run
/// is copied once (zeros outside the plane), then spread over the lanes.
#[inline(always)]
fn input_panel_body<S: Simd, const A: usize>(
    x: &Split<&[f32]>,
    ci: usize,
    fr: Frame,
    panels: &[Lanes],
    dst: SharedMut,
    xs: usize,
) {
    let m = A - 2;
    let (h, w) = (fr.h as isize, fr.w as isize);
    for (q, lanes) in panels.iter().enumerate() {
        for h0 in (0..LANES).step_by(S::W) {
            let chunk = &lanes[h0..h0 + S::W];
            let mut d = [[Vx::<S>::zero(); A]; A];
            // Tiles along one tile row (the whole vector, or each half of it): each patch row
            // is one window of the input row spread over the lanes (`load_phases`), reading
            // only the window's columns inside the row.
            let is_run = |j0: usize, nl: usize| match chunk[j0] {
                Some((b, y, x0)) => (0..nl).all(|jj| chunk[j0 + jj] == Some((b, y, x0 + m * jj))),
                None => false,
            };
            let half = S::W / 2;
            let parts: &[(usize, usize)] = if is_run(0, S::W) {
                &[(0, S::W)]
            } else if S::W >= 8 && is_run(0, half) && is_run(half, half) {
                &[(0, half), (half, half)]
            } else {
                &[]
            };
            for (pi, &(j0, nl)) in parts.iter().enumerate() {
                let Some((b, y, x0)) = chunk[j0] else { break };
                let plane = x.plane(b, ci);
                let (y0, lo) = (y as isize + fr.top, x0 as isize + fr.left);
                // The same window of the next channel, which the next call reads: fetched into
                // the cache now (planes are far apart, their row segments short: the hardware
                // prefetcher does not see them coming).
                if ci + 1 < x.c {
                    let next = x.plane(b, ci + 1);
                    for k in 0..A as isize {
                        let yy = y0 + k;
                        if yy >= 0 && yy < h {
                            let at = yy * w + lo;
                            let len = (m * nl + 2) as isize;
                            prefetch(next.as_ptr().wrapping_offset(at), len);
                        }
                    }
                }
                // Window coordinates: lane j reads p[m·j + l], p = row + lo − m·j0.
                let base = lo - (m * j0) as isize;
                let (e0, e1) = ((m * j0) as isize, (m * (j0 + nl - 1) + A) as isize);
                let range = [e0.max(-base), e1.min(w - base)];
                for (k, row) in d.iter_mut().enumerate() {
                    let yy = y0 + k as isize;
                    let phases = if yy < 0 || yy >= h {
                        [S::zero(); A]
                    } else {
                        let line = &plane[yy as usize * fr.w..][..fr.w];
                        let p = line.as_ptr().wrapping_offset(base);
                        // SAFETY: only the window's columns inside the row are read.
                        unsafe { S::load_phases::<A>(p, range) }
                    };
                    for (v, ph) in row.iter_mut().zip(phases) {
                        v.0 = if pi == 0 { ph } else { S::blend_hi(v.0, ph) };
                    }
                }
            }
            if parts.is_empty() {
                // Tiles across rows or at the plane's borders: value by value.
                let mut patch = [[[0f32; 16]; A]; A];
                for (jj, t) in chunk.iter().enumerate() {
                    let Some((b, y, x0)) = *t else { continue };
                    let plane = x.plane(b, ci);
                    for (k, prow) in patch.iter_mut().enumerate() {
                        let yy = y as isize + fr.top + k as isize;
                        if yy < 0 || yy >= h {
                            continue;
                        }
                        let line = &plane[yy as usize * fr.w..][..fr.w];
                        for (l, v) in prow.iter_mut().enumerate() {
                            let xx = x0 as isize + fr.left + l as isize;
                            if xx >= 0 && xx < w {
                                v[jj] = line[xx as usize];
                            }
                        }
                    }
                }
                for (k, row) in d.iter_mut().enumerate() {
                    for (l, v) in row.iter_mut().enumerate() {
                        // SAFETY: W ≤ 16 lanes of a 16-lane row.
                        *v = Vx(unsafe { S::load(patch[k][l].as_ptr()) });
                    }
                }
            }
            let t = two_d!(&d, bt::<Vx<S>, A>, Vx<S>, A, A);
            for (p, v) in t.iter().flatten().enumerate() {
                // SAFETY: lanes h0.. of panel q at ξ = p: this task's part of V.
                unsafe { S::store(dst.at(p * xs + q * LANES + h0), v.0) };
            }
        }
    }
}

#[inline(always)]
fn input_panel_f2<S: Simd>(
    x: &Split<&[f32]>,
    ci: usize,
    fr: Frame,
    lanes: &[Lanes],
    dst: SharedMut,
    xs: usize,
) {
    input_panel_body::<S, 4>(x, ci, fr, lanes, dst, xs)
}

#[inline(always)]
fn input_panel_f4<S: Simd>(
    x: &Split<&[f32]>,
    ci: usize,
    fr: Frame,
    lanes: &[Lanes],
    dst: SharedMut,
    xs: usize,
) {
    input_panel_body::<S, 6>(x, ci, fr, lanes, dst, xs)
}

multiversion!(fn input_f2 = input_panel_f2(
    x: &Split<&[f32]>, ci: usize, fr: Frame, lanes: &[Lanes], dst: SharedMut, xs: usize,
));
multiversion!(fn input_f4 = input_panel_f4(
    x: &Split<&[f32]>, ci: usize, fr: Frame, lanes: &[Lanes], dst: SharedMut, xs: usize,
));

/// The output of a panel of channel `co`: `Y_j = Aᵀ M_j A` from `M[ξ][j]` at `src + ξ·xs + j`,
/// plus the bias, through the ReLU when `relu`, written into plane `(b_j, co)` of `dst`
/// (`oh × ow`) where inside it.
#[inline(always)]
#[allow(clippy::too_many_arguments)]
fn output_panel_body<S: Simd, const A: usize, const M: usize>(
    src: *const f32,
    xs: usize,
    panels: &[Lanes],
    dst: &Split<SharedMut>,
    co: usize,
    [oh, ow]: [usize; 2],
    bias: f32,
    relu: bool,
) {
    // Every lane is stored below before it is read: no zeroing.
    let mut y = [[[std::mem::MaybeUninit::<f32>::uninit(); LANES]; M]; M];
    for (q, lanes) in panels.iter().enumerate() {
        for h in (0..LANES).step_by(S::W) {
            let mut d = [[Vx::<S>::zero(); A]; A];
            for (p, v) in d.iter_mut().flatten().enumerate() {
                // SAFETY: lanes h.. of panel q of M at ξ = p, inside this chunk's M.
                *v = Vx(unsafe { S::load(src.add(p * xs + q * LANES + h)) });
            }
            let t = two_d!(&d, at::<Vx<S>, A, M>, Vx<S>, A, M);
            for (i, row) in t.iter().enumerate() {
                for (l, v) in row.iter().enumerate() {
                    let v = S::bias_relu(v.0, bias, relu);
                    // SAFETY: lanes h.. of a 32-lane row.
                    unsafe { S::store(y[i][l].as_mut_ptr().add(h).cast::<f32>(), v) };
                }
            }
        }
        let mut j = 0;
        while j < LANES {
            let Some((b, y0, x0)) = lanes[j] else { break };
            let mut run = 1;
            while j + run < LANES && lanes[j + run] == Some((b, y0, x0 + M * run)) {
                run += 1;
            }
            let plane = dst.plane_ptr(b, co);
            let cols = (M * run).min(ow - x0);
            for (i, row) in y.iter().enumerate().take(oh - y0) {
                // SAFETY: these pixels of plane (b, co) belong to this run of tiles only.
                let out =
                    unsafe { std::slice::from_raw_parts_mut(plane.at((y0 + i) * ow + x0), cols) };
                if cols == M * run {
                    for (jj, o) in out.chunks_exact_mut(M).enumerate() {
                        for (l, v) in o.iter_mut().enumerate() {
                            // SAFETY: every lane of y was stored above.
                            *v = unsafe { row[l][j + jj].assume_init() };
                        }
                    }
                } else {
                    for (k, o) in out.iter_mut().enumerate() {
                        // SAFETY: as above.
                        *o = unsafe { row[k % M][j + k / M].assume_init() };
                    }
                }
            }
            j += run;
        }
    }
}

#[inline(always)]
#[allow(clippy::too_many_arguments)]
fn output_panel_f2<S: Simd>(
    src: *const f32,
    xs: usize,
    lanes: &[Lanes],
    dst: &Split<SharedMut>,
    co: usize,
    size: [usize; 2],
    bias: f32,
    relu: bool,
) {
    output_panel_body::<S, 4, 2>(src, xs, lanes, dst, co, size, bias, relu)
}

#[inline(always)]
#[allow(clippy::too_many_arguments)]
fn output_panel_f4<S: Simd>(
    src: *const f32,
    xs: usize,
    lanes: &[Lanes],
    dst: &Split<SharedMut>,
    co: usize,
    size: [usize; 2],
    bias: f32,
    relu: bool,
) {
    output_panel_body::<S, 6, 4>(src, xs, lanes, dst, co, size, bias, relu)
}

multiversion!(fn output_f2 = output_panel_f2(
    src: *const f32,
    xs: usize,
    lanes: &[Lanes],
    dst: &Split<SharedMut>,
    co: usize,
    size: [usize; 2],
    bias: f32,
    relu: bool,
));
multiversion!(fn output_f4 = output_panel_f4(
    src: *const f32,
    xs: usize,
    lanes: &[Lanes],
    dst: &Split<SharedMut>,
    co: usize,
    size: [usize; 2],
    bias: f32,
    relu: bool,
));

/// The transformed output gradient of one tile for a panel of 32 output channels
/// `co0..co0 + 32`: `Z[ξ][c] = (A dY_c Aᵀ)[ξ]` with `dY_c` the tile's m×m block of plane
/// `(b, co0 + c)` of `dz` (zeros outside the output and past `cout`), written to
/// `dst + ξ·xs + c`.
#[inline(always)]
fn grad_tile_body<S: Simd, const A: usize, const M: usize>(
    dz: &[f32],
    [cout, co0]: [usize; 2],
    [oh, ow]: [usize; 2],
    tiles: &[(usize, usize, usize)],
    dst: SharedMut,
    xs: usize,
) {
    let plane = oh * ow;
    let mut d = [[[0f32; LANES]; M]; M];
    let chans = (co0..(co0 + LANES).min(cout)).len();
    for (t, &(b, y0, x0)) in tiles.iter().enumerate() {
        let (rows, cols) = (M.min(oh - y0), M.min(ow - x0));
        if rows < M || cols < M || chans < LANES {
            d = [[[0f32; LANES]; M]; M];
        }
        for c in 0..chans {
            let src = &dz[(b * cout + co0 + c) * plane..][..plane];
            for (i, row) in d.iter_mut().enumerate().take(rows) {
                let line = &src[(y0 + i) * ow + x0..][..cols];
                for (v, &s) in row.iter_mut().zip(line) {
                    v[c] = s;
                }
            }
        }
        for h in (0..LANES).step_by(S::W) {
            let mut m = [[Vx::<S>::zero(); M]; M];
            for (i, row) in m.iter_mut().enumerate() {
                for (l, v) in row.iter_mut().enumerate() {
                    // SAFETY: lanes h.. of a 32-lane row.
                    *v = Vx(unsafe { S::load(d[i][l].as_ptr().add(h)) });
                }
            }
            let z = two_d!(&m, at_t::<Vx<S>, A, M>, Vx<S>, M, A);
            for (p, v) in z.iter().flatten().enumerate() {
                // SAFETY: lanes h.. of tile t's Z panel at ξ = p, written by this task only.
                unsafe { S::store(dst.at(p * xs + t * LANES + h), v.0) };
            }
        }
    }
}

#[inline(always)]
fn grad_tile_f2<S: Simd>(
    dz: &[f32],
    ch: [usize; 2],
    size: [usize; 2],
    at: &[(usize, usize, usize)],
    dst: SharedMut,
    xs: usize,
) {
    grad_tile_body::<S, 4, 2>(dz, ch, size, at, dst, xs)
}

#[inline(always)]
fn grad_tile_f4<S: Simd>(
    dz: &[f32],
    ch: [usize; 2],
    size: [usize; 2],
    at: &[(usize, usize, usize)],
    dst: SharedMut,
    xs: usize,
) {
    grad_tile_body::<S, 6, 4>(dz, ch, size, at, dst, xs)
}

multiversion!(fn grad_f2 = grad_tile_f2(
    dz: &[f32],
    ch: [usize; 2],
    size: [usize; 2],
    at: &[(usize, usize, usize)],
    dst: SharedMut,
    xs: usize,
));
multiversion!(fn grad_f4 = grad_tile_f4(
    dz: &[f32],
    ch: [usize; 2],
    size: [usize; 2],
    at: &[(usize, usize, usize)],
    dst: SharedMut,
    xs: usize,
));

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
    // dg = Gᵀ dU G per channel pair, 32 output channels at a time.
    // SAFETY: the tasks write every (co, ci) entry.
    unsafe {
        super::filled(g.cout * g.cin * 9, |dwp| {
            (0..cpanels * g.cin).into_par_iter().for_each(|task| {
                let at = [task / g.cin, task % g.cin];
                let size = [g.cout, g.cin, cpanels];
                match o.tile {
                    Tile::F2 => kgrad_f2(o.isa, &du, size, at, dwp),
                    Tile::F4 => kgrad_f4(o.isa, &du, size, at, dwp),
                }
            })
        })
    }
}
