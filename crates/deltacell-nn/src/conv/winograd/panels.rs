//! The transforms around the products, on panels of 32 tiles: the kernel's (and its transpose,
//! for the weight gradient), the input's and the output's, and the output gradient's.

use rayon::prelude::*;

use super::matrices::*;
use super::{Opts, Split, Tile};
use crate::conv::simd::{multiversion, Simd, LANES};
use crate::conv::{filled, SharedMut};

/// `U[ξ][r][c0 + j] = (G g_j Gᵀ)[ξ]` for the (up to) 32 columns `c0..` of row `r`, with
/// `g_j = weight[r][c]` (`rows × cols × 3 × 3`; the input gradient's kernel is flipped and
/// transposed beforehand by [`flip_transpose`]).
#[inline(always)]
pub(super) fn kernel_block_body<S: Simd, const A: usize>(
    weight: &[f32],
    [rows, cols]: [usize; 2],
    [r, c0]: [usize; 2],
    u: SharedMut,
) {
    let n = LANES.min(cols - c0);
    // The 9 taps of the block's kernels, tap-major (lanes past `n` zero).
    let mut g = [[0f32; LANES]; 9];
    let src = &weight[(r * cols + c0) * 9..][..n * 9];
    for (j, k) in src.chunks_exact(9).enumerate() {
        for (gi, &v) in g.iter_mut().zip(k) {
            gi[j] = v;
        }
    }
    let pairs = rows * cols;
    for h in (0..n).step_by(S::W) {
        let mut k = [[Vx::<S>::zero(); 3]; 3];
        for (i, v) in k.iter_mut().flatten().enumerate() {
            // SAFETY: lanes h.. of a 32-lane row.
            *v = Vx(unsafe { S::load(g[i].as_ptr().add(h)) });
        }
        let t = two_d!(&k, gk::<Vx<S>, A>, Vx<S>, 3, A);
        let whole = h + S::W <= n;
        for (p, v) in t.iter().flatten().enumerate() {
            let to = u.at(p * pairs + r * cols + c0 + h);
            if whole {
                // SAFETY: columns c0 + h.. (W of them, < c0 + n) of row r at ξ = p: this
                // task's part of U.
                unsafe { S::store(to, v.0) };
            } else {
                let mut part = [0f32; 16];
                // SAFETY: W ≤ 16 values; then the n − h columns left of row r at ξ = p (this
                // task's part of U).
                unsafe {
                    S::store(part.as_mut_ptr(), v.0);
                    std::ptr::copy_nonoverlapping(part.as_ptr(), to, n - h);
                }
            }
        }
    }
}

#[inline(always)]
pub(super) fn kernel_block_f2<S: Simd>(w: &[f32], size: [usize; 2], at: [usize; 2], u: SharedMut) {
    kernel_block_body::<S, 4>(w, size, at, u)
}

#[inline(always)]
pub(super) fn kernel_block_f4<S: Simd>(w: &[f32], size: [usize; 2], at: [usize; 2], u: SharedMut) {
    kernel_block_body::<S, 6>(w, size, at, u)
}

multiversion!(pub(super) fn kernel_f2 = kernel_block_f2(
    w: &[f32], size: [usize; 2], at: [usize; 2], u: SharedMut,
));
multiversion!(pub(super) fn kernel_f4 = kernel_block_f4(
    w: &[f32], size: [usize; 2], at: [usize; 2], u: SharedMut,
));

/// `flip(weight[c][r])` for every pair: the `cols × rows × 3 × 3` kernel flipped and transposed
/// to `rows × cols × 3 × 3` (the input gradient's kernel), by blocks of 32 × 32 pairs.
pub(super) fn flip_transpose(weight: &[f32], [rows, cols]: [usize; 2]) -> Vec<f32> {
    let rb = rows.div_ceil(LANES);
    // SAFETY: the tasks write every pair (row blocks × all columns).
    unsafe {
        filled(rows * cols * 9, |dst| {
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
pub(super) fn kernel_transform(
    o: Opts,
    weight: &[f32],
    [rows, cols]: [usize; 2],
    flipped: bool,
) -> Vec<f32> {
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
        filled(o.tile.xi() * rows * cols, |up| {
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

/// Input channels per task of the kernel gradient's last step: each output channel's entries
/// for them are one contiguous run of `9 · KGRAD_CHANNELS` values of `dW`.
pub(super) const KGRAD_CHANNELS: usize = 8;

/// `dW[co0 + j][ci] = Gᵀ dU_j G` for a panel of 32 output channels and the (up to)
/// [`KGRAD_CHANNELS`] input channels `ci0..`, from `dUᵀ[ξ][co / 32][ci][co % 32]` (`du`,
/// `cpanels` panels); `dw` is `cout × cin × 3 × 3`.
#[inline(always)]
pub(super) fn kernel_grad_body<S: Simd, const A: usize>(
    du: &[f32],
    [cout, cin, cpanels]: [usize; 3],
    [cp, ci0]: [usize; 2],
    dw: SharedMut,
) {
    let nc = KGRAD_CHANNELS.min(cin - ci0);
    // k[c][i][j]: tap i of output channel co0 + j, input channel ci0 + c.
    let mut k = [[[0f32; LANES]; 9]; KGRAD_CHANNELS];
    for (c, kc) in k.iter_mut().enumerate().take(nc) {
        for h in (0..LANES).step_by(S::W) {
            let mut d = [[Vx::<S>::zero(); A]; A];
            for (pos, v) in d.iter_mut().flatten().enumerate() {
                let row = &du[((pos * cpanels + cp) * cin + ci0 + c) * LANES..][..LANES];
                // SAFETY: lanes h.. of a 32-lane row.
                *v = Vx(unsafe { S::load(row.as_ptr().add(h)) });
            }
            let t = two_d!(&d, gk_t::<Vx<S>, A>, Vx<S>, A, 3);
            for (i, v) in t.iter().flatten().enumerate() {
                // SAFETY: lanes h.. of a 32-lane row.
                unsafe { S::store(kc[i].as_mut_ptr().add(h), v.0) };
            }
        }
    }
    for j in 0..LANES.min(cout - cp * LANES) {
        let co = cp * LANES + j;
        // SAFETY: entries (co, ci0..ci0 + nc) of dW, contiguous: this task's alone.
        let out = unsafe { std::slice::from_raw_parts_mut(dw.at((co * cin + ci0) * 9), nc * 9) };
        for (o, kc) in out.chunks_exact_mut(9).zip(&k) {
            for (v, ki) in o.iter_mut().zip(kc) {
                *v = ki[j];
            }
        }
    }
}

#[inline(always)]
pub(super) fn kernel_grad_f2<S: Simd>(du: &[f32], size: [usize; 3], at: [usize; 2], dw: SharedMut) {
    kernel_grad_body::<S, 4>(du, size, at, dw)
}

#[inline(always)]
pub(super) fn kernel_grad_f4<S: Simd>(du: &[f32], size: [usize; 3], at: [usize; 2], dw: SharedMut) {
    kernel_grad_body::<S, 6>(du, size, at, dw)
}

multiversion!(pub(super) fn kgrad_f2 = kernel_grad_f2(
    du: &[f32], size: [usize; 3], at: [usize; 2], dw: SharedMut,
));
multiversion!(pub(super) fn kgrad_f4 = kernel_grad_f4(
    du: &[f32], size: [usize; 3], at: [usize; 2], dw: SharedMut,
));

// ---------------------------------------------------------------------------------------------
// Data transforms on panels of 32 tiles.

/// Asks the CPU to bring `len` values from `p` on into the cache (a hint: no access, no fault).
#[inline(always)]
pub(super) fn prefetch(p: *const f32, len: isize) {
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
pub(super) struct Frame {
    /// Plane height and width of the data read.
    pub(super) h: usize,
    pub(super) w: usize,
    /// Offset of a tile's patch from its top-left output pixel (minus the padding).
    pub(super) top: isize,
    pub(super) left: isize,
}

/// The tiles of a panel: image and top-left output pixel of each, `None` past the chunk's end
/// (only at the end).
pub(super) type Lanes = [Option<(usize, usize, usize)>; LANES];

/// `V[ξ][j] = (Bᵀ d_j B)[ξ]` for the 32 tiles `j` of a panel of channel `ci`: `d_j` the α×α
/// input patch of tile `j` (zeros outside the input), written to `dst + ξ·xs + j`.
///
/// The patches are read by runs of tiles along a tile row: each of the α input rows of a run
/// is copied once (zeros outside the plane), then spread over the lanes.
#[inline(always)]
pub(super) fn input_panel_body<S: Simd, const A: usize>(
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
pub(super) fn input_panel_f2<S: Simd>(
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
pub(super) fn input_panel_f4<S: Simd>(
    x: &Split<&[f32]>,
    ci: usize,
    fr: Frame,
    lanes: &[Lanes],
    dst: SharedMut,
    xs: usize,
) {
    input_panel_body::<S, 6>(x, ci, fr, lanes, dst, xs)
}

multiversion!(pub(super) fn input_f2 = input_panel_f2(
    x: &Split<&[f32]>, ci: usize, fr: Frame, lanes: &[Lanes], dst: SharedMut, xs: usize,
));
multiversion!(pub(super) fn input_f4 = input_panel_f4(
    x: &Split<&[f32]>, ci: usize, fr: Frame, lanes: &[Lanes], dst: SharedMut, xs: usize,
));

/// The output of a panel of channel `co`: `Y_j = Aᵀ M_j A` from `M[ξ][j]` at `src + ξ·xs + j`,
/// plus the bias, through the ReLU when `relu`, written into plane `(b_j, co)` of `dst`
/// (`oh × ow`) where inside it.
#[inline(always)]
#[allow(clippy::too_many_arguments)]
pub(super) fn output_panel_body<S: Simd, const A: usize, const M: usize>(
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
    // For M = 4: tile 4g + k's row i at `quads[i][k][4g..4g + 4]` (g < W / 4).
    let mut quads = [[[0f32; 16]; 4]; M];
    for (q, lanes) in panels.iter().enumerate() {
        for h in (0..LANES).step_by(S::W) {
            let mut d = [[Vx::<S>::zero(); A]; A];
            for (p, v) in d.iter_mut().flatten().enumerate() {
                // SAFETY: lanes h.. of panel q of M at ξ = p, inside this chunk's M.
                *v = Vx(unsafe { S::load(src.add(p * xs + q * LANES + h)) });
            }
            let t = two_d!(&d, at::<Vx<S>, A, M>, Vx<S>, A, M);
            if M == 4 {
                // Each tile's row i as one quad: the row's four vectors transposed in groups
                // of four lanes (`quads[i][k]` holds tile 4g + k's in its lane group g), then
                // a quad per tile and row written where the tile lies.
                for (row, out) in t.iter().zip(quads.iter_mut()) {
                    let v = std::array::from_fn(|l| S::bias_relu(row[l].0, bias, relu));
                    for (o, r) in out.iter_mut().zip(S::transpose4(v)) {
                        // SAFETY: W ≤ 16 lanes of a 16-lane row.
                        unsafe { S::store(o.as_mut_ptr(), r) };
                    }
                }
                for (jj, tile) in lanes[h..h + S::W].iter().enumerate() {
                    let Some((b, y0, x0)) = *tile else { break };
                    let plane = dst.plane_ptr(b, co);
                    let cols = M.min(ow - x0);
                    for (i, out) in quads.iter().enumerate().take(oh - y0) {
                        let quad = &out[jj % 4][4 * (jj / 4)..][..4];
                        let to = plane.at((y0 + i) * ow + x0);
                        // SAFETY: these pixels of plane (b, co) (`cols` of them, inside the
                        // row) belong to this tile only.
                        unsafe {
                            if cols == 4 {
                                to.cast::<[f32; 4]>().write_unaligned(
                                    quad.as_ptr().cast::<[f32; 4]>().read_unaligned(),
                                );
                            } else {
                                std::ptr::copy_nonoverlapping(quad.as_ptr(), to, cols);
                            }
                        }
                    }
                }
                continue;
            }
            for (i, row) in t.iter().enumerate() {
                for (l, v) in row.iter().enumerate() {
                    let v = S::bias_relu(v.0, bias, relu);
                    // SAFETY: lanes h.. of a 32-lane row.
                    unsafe { S::store(y[i][l].as_mut_ptr().add(h).cast::<f32>(), v) };
                }
            }
        }
        if M == 4 {
            continue;
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
pub(super) fn output_panel_f2<S: Simd>(
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
pub(super) fn output_panel_f4<S: Simd>(
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

multiversion!(pub(super) fn output_f2 = output_panel_f2(
    src: *const f32,
    xs: usize,
    lanes: &[Lanes],
    dst: &Split<SharedMut>,
    co: usize,
    size: [usize; 2],
    bias: f32,
    relu: bool,
));
multiversion!(pub(super) fn output_f4 = output_panel_f4(
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
pub(super) fn grad_tile_body<S: Simd, const A: usize, const M: usize>(
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
        if M == 4 && rows == M && cols == M && chans == LANES {
            // A whole 4×4 block of all 32 channels: each block row of a vector of channels
            // loaded as quads and transposed in registers.
            for h in (0..LANES).step_by(S::W) {
                let mut m = [[Vx::<S>::zero(); M]; M];
                for (i, row) in m.iter_mut().enumerate() {
                    let at = (b * cout + co0 + h) * plane + (y0 + i) * ow + x0;
                    // The quads at `at + j·plane` (j < W ≤ 32 − h): rows of planes
                    // co0 + h + j < cout of image b, inside `dz`.
                    assert!(at + (S::W - 1) * plane + 4 <= dz.len());
                    // SAFETY: in bounds (checked above).
                    let q = unsafe { S::load_quads_transposed(dz.as_ptr().add(at), plane) };
                    for (v, qv) in row.iter_mut().zip(q) {
                        v.0 = qv;
                    }
                }
                let z = two_d!(&m, at_t::<Vx<S>, A, M>, Vx<S>, M, A);
                for (p, v) in z.iter().flatten().enumerate() {
                    // SAFETY: lanes h.. of tile t's Z panel at ξ = p, written by this task only.
                    unsafe { S::store(dst.at(p * xs + t * LANES + h), v.0) };
                }
            }
            continue;
        }
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
pub(super) fn grad_tile_f2<S: Simd>(
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
pub(super) fn grad_tile_f4<S: Simd>(
    dz: &[f32],
    ch: [usize; 2],
    size: [usize; 2],
    at: &[(usize, usize, usize)],
    dst: SharedMut,
    xs: usize,
) {
    grad_tile_body::<S, 6, 4>(dz, ch, size, at, dst, xs)
}

multiversion!(pub(super) fn grad_f2 = grad_tile_f2(
    dz: &[f32],
    ch: [usize; 2],
    size: [usize; 2],
    at: &[(usize, usize, usize)],
    dst: SharedMut,
    xs: usize,
));
multiversion!(pub(super) fn grad_f4 = grad_tile_f4(
    dz: &[f32],
    ch: [usize; 2],
    size: [usize; 2],
    at: &[(usize, usize, usize)],
    dst: SharedMut,
    xs: usize,
));
