//! The direct convolutions, for the layers Winograd does not take (the first layer, the 1×1
//! head, 3×3 layers with few channels): products of the `gemm` crate on shifted views of a
//! zero-padded copy of the input (one product per kernel tap), on im2col tiles of bands of rows,
//! or, for small planes, on the im2col columns of several images side by side.

use rayon::prelude::*;

use super::{sum_per_thread, Geometry, SharedMut};

/// `dst (m × n) = [dst +] lhs (m × k) · rhs (k × n)`, every matrix given by its pointer and its
/// row and column strides in elements; single-threaded (the callers run tiles in parallel).
///
/// # Safety
/// The pointers must address the whole strided matrices, and `dst` must not overlap the inputs.
#[allow(clippy::too_many_arguments)]
pub(super) unsafe fn matmul(
    [m, n, k]: [usize; 3],
    dst: *mut f32,
    [dst_rs, dst_cs]: [isize; 2],
    accumulate: bool,
    lhs: *const f32,
    [lhs_rs, lhs_cs]: [isize; 2],
    rhs: *const f32,
    [rhs_rs, rhs_cs]: [isize; 2],
) {
    // SAFETY: the caller's contract: the pointers address the whole strided matrices and
    // `dst` does not overlap the inputs.
    unsafe {
        gemm::gemm(
            m,
            n,
            k,
            dst,
            dst_cs,
            dst_rs,
            accumulate,
            lhs,
            lhs_cs,
            lhs_rs,
            rhs,
            rhs_cs,
            rhs_rs,
            1.0,
            1.0,
            false,
            false,
            false,
            gemm::Parallelism::None,
        );
    }
}

/// Writes the im2col matrix of output rows `r0..r1` of image `b` into `col`
/// (`cin·kh·kw` rows of `(r1 − r0) · out_w` values, row `(ci·kh + ky)·kw + kx` starting at
/// `col[row · ld]`).
pub(super) fn im2col(
    g: &Geometry,
    x: &[f32],
    b: usize,
    r0: usize,
    r1: usize,
    col: &mut [f32],
    ld: usize,
) {
    let (ow, hw) = (g.out_w(), g.h * g.w);
    let t = (r1 - r0) * ow;
    let [top, left, _, _] = g.pad;
    for ci in 0..g.cin {
        let plane = &x[(b * g.cin + ci) * hw..][..hw];
        for ky in 0..g.kh {
            for kx in 0..g.kw {
                let k = (ci * g.kh + ky) * g.kw + kx;
                let dst = &mut col[k * ld..k * ld + t];
                // Output column ox reads input column ox + kx − left, inside [0, w).
                let lo = left.saturating_sub(kx).min(ow);
                let hi = (g.w + left).saturating_sub(kx).min(ow).max(lo);
                if ow == g.w {
                    // "Same" width: the band is one shifted copy of the input rows (the offset
                    // between source and destination is the same for every row), then the
                    // columns that fall outside the input are zeroed.
                    let oy_lo = (r0 + ky).max(top).min(r1 + ky) - ky;
                    let oy_hi = (g.h + top).saturating_sub(ky).clamp(oy_lo, r1);
                    dst[..(oy_lo - r0) * ow].fill(0.0);
                    dst[(oy_hi - r0) * ow..].fill(0.0);
                    if oy_hi > oy_lo {
                        let d0 = (oy_lo - r0) * ow + lo;
                        let d1 = (oy_hi - 1 - r0) * ow + hi;
                        let s0 = (oy_lo + ky - top) * g.w + lo + kx - left;
                        dst[d0..d1].copy_from_slice(&plane[s0..s0 + (d1 - d0)]);
                        for row in dst[(oy_lo - r0) * ow..(oy_hi - r0) * ow].chunks_exact_mut(ow) {
                            row[..lo].fill(0.0);
                            row[hi..].fill(0.0);
                        }
                    }
                    continue;
                }
                for (oy, row) in (r0..r1).zip(dst.chunks_exact_mut(ow)) {
                    let iy = oy + ky;
                    if iy < top || iy - top >= g.h {
                        row.fill(0.0);
                        continue;
                    }
                    let src = &plane[(iy - top) * g.w..][..g.w];
                    row[..lo].fill(0.0);
                    row[lo..hi].copy_from_slice(&src[lo + kx - left..hi + kx - left]);
                    row[hi..].fill(0.0);
                }
            }
        }
    }
}

/// Writes `src + bias` into `dst`, through a ReLU when `relu` (the forward pass's epilogue).
pub(super) fn bias_relu(dst: &mut [f32], src: &[f32], bias: f32, relu: bool) {
    if relu {
        dst.iter_mut()
            .zip(src)
            .for_each(|(d, &v)| *d = (v + bias).max(0.0));
    } else {
        dst.iter_mut().zip(src).for_each(|(d, &v)| *d = v + bias);
    }
}

/// Forward convolution on im2col tiles of bands of rows: `Y[n] = W · col(X[n])`, then `+ b` and
/// `max(0, ·)` while the tile is hot (a 1×1 kernel reads the input planes directly).
pub(super) fn forward_tiled(
    g: &Geometry,
    x: &[f32],
    weight: &[f32],
    bias: Option<&[f32]>,
    relu: bool,
) -> Vec<f32> {
    let (oh, ow, k) = (g.out_h(), g.out_w(), g.k());
    let plane = oh * ow;
    let mut out = vec![0f32; g.n * g.cout * plane];
    let dst = SharedMut(out.as_mut_ptr());
    let pointwise = g.is_pointwise();
    g.tiles()
        .into_par_iter()
        .for_each_init(Vec::new, |col, (b, r0, r1)| {
            let t = (r1 - r0) * ow;
            let (rhs, rhs_rs) = if pointwise {
                (x[(b * g.cin) * plane + r0 * ow..].as_ptr(), plane as isize)
            } else {
                col.resize(k * t, 0.0);
                im2col(g, x, b, r0, r1, col, t);
                (col.as_ptr(), t as isize)
            };
            let tile = dst.at(b * g.cout * plane + r0 * ow);
            // SAFETY: `tile` addresses rows r0..r1 of every output plane of image b, which no other
            // tile writes; the inputs are whole matrices of the stated strides.
            unsafe {
                matmul(
                    [g.cout, t, k],
                    tile,
                    [plane as isize, 1],
                    false,
                    weight.as_ptr(),
                    [k as isize, 1],
                    rhs,
                    [rhs_rs, 1],
                );
            }
            if bias.is_some() || relu {
                for co in 0..g.cout {
                    // SAFETY: as above, row segment co of this tile.
                    let seg = unsafe { std::slice::from_raw_parts_mut(tile.add(co * plane), t) };
                    let bv = bias.map_or(0.0, |bias| bias[co]);
                    if relu {
                        seg.iter_mut().for_each(|v| *v = (*v + bv).max(0.0));
                    } else {
                        seg.iter_mut().for_each(|v| *v += bv);
                    }
                }
            }
        });
    out
}

/// Weight gradient on im2col tiles: `dW = Σ_n dZ[n] · col(X[n])ᵀ`, a partial sum per run of
/// tiles ([`sum_per_thread`]).
pub(super) fn weight_grad_tiled(g: &Geometry, x: &[f32], dz: &[f32]) -> Vec<f32> {
    let (ow, k) = (g.out_w(), g.k());
    let plane = g.out_h() * ow;
    let pointwise = g.is_pointwise();
    sum_per_thread(
        &g.tiles(),
        g.cout * k,
        |dw, col: &mut Vec<f32>, &(b, r0, r1)| {
            let t = (r1 - r0) * ow;
            let (rhs, rhs_cs) = if pointwise {
                (x[(b * g.cin) * plane + r0 * ow..].as_ptr(), plane as isize)
            } else {
                col.resize(k * t, 0.0);
                im2col(g, x, b, r0, r1, col, t);
                (col.as_ptr(), t as isize)
            };
            // SAFETY: dW is this thread's own buffer; lhs is rows r0..r1 of image b's output
            // gradient planes, rhs the tile's im2col matrix read transposed.
            unsafe {
                matmul(
                    [g.cout, k, t],
                    dw.as_mut_ptr(),
                    [k as isize, 1],
                    true,
                    dz[b * g.cout * plane + r0 * ow..].as_ptr(),
                    [plane as isize, 1],
                    rhs,
                    [1, rhs_cs],
                );
            }
        },
    )
}

/// The im2col matrices of images `images`, side by side in `col` (`cin·kh·kw` rows of
/// `t = images.len() · out_h · out_w` values); returns `t`.
pub(super) fn im2col_group(
    g: &Geometry,
    x: &[f32],
    images: std::ops::Range<usize>,
    col: &mut Vec<f32>,
) -> usize {
    let (oh, plane) = (g.out_h(), g.out_h() * g.out_w());
    let t = images.len() * plane;
    col.resize(g.k() * t, 0.0);
    for (j, b) in images.enumerate() {
        im2col(g, x, b, 0, oh, &mut col[j * plane..], t);
    }
    t
}

/// Forward convolution for small planes: one product per group of images, on the im2col
/// columns of all of them side by side, then scattered to the images' planes.
pub(super) fn forward_grouped(
    g: &Geometry,
    x: &[f32],
    weight: &[f32],
    bias: Option<&[f32]>,
    relu: bool,
) -> Vec<f32> {
    let (oh, k) = (g.out_h(), g.k());
    let plane = oh * g.out_w();
    let mut out = vec![0f32; g.n * g.cout * plane];
    let groups = g.image_groups();
    let dst = SharedMut(out.as_mut_ptr());
    groups.into_par_iter().for_each_init(
        || (Vec::new(), Vec::new()),
        |(col, buf), (b0, b1)| {
            let t = im2col_group(g, x, b0..b1, col);
            buf.resize(g.cout * t, 0.0);
            // SAFETY: `buf` is this task's `cout × t` matrix, the inputs whole matrices.
            unsafe {
                matmul(
                    [g.cout, t, k],
                    buf.as_mut_ptr(),
                    [t as isize, 1],
                    false,
                    weight.as_ptr(),
                    [k as isize, 1],
                    col.as_ptr(),
                    [t as isize, 1],
                );
            }
            for j in 0..b1 - b0 {
                for co in 0..g.cout {
                    let bv = bias.map_or(0.0, |bias| bias[co]);
                    let src = &buf[co * t + j * plane..][..plane];
                    // SAFETY: plane (b0 + j, co) belongs to this group only.
                    let row = unsafe {
                        std::slice::from_raw_parts_mut(
                            dst.at(((b0 + j) * g.cout + co) * plane),
                            plane,
                        )
                    };
                    bias_relu(row, src, bv, relu);
                }
            }
        },
    );
    out
}

/// Weight gradient for small planes: the output gradients of a group of images gathered side
/// by side, times their im2col columns.
pub(super) fn weight_grad_grouped(g: &Geometry, x: &[f32], dz: &[f32]) -> Vec<f32> {
    let (oh, k) = (g.out_h(), g.k());
    let plane = oh * g.out_w();
    let accumulate =
        |dw: &mut [f32], (col, buf): &mut (Vec<f32>, Vec<f32>), &(b0, b1): &(usize, usize)| {
            let t = im2col_group(g, x, b0..b1, col);
            buf.resize(g.cout * t, 0.0);
            for j in 0..b1 - b0 {
                for co in 0..g.cout {
                    buf[co * t + j * plane..][..plane]
                        .copy_from_slice(&dz[((b0 + j) * g.cout + co) * plane..][..plane]);
                }
            }
            // SAFETY: dW is this thread's own buffer; `buf` the gathered `cout × t` gradients,
            // `col` the `k × t` im2col matrix read transposed.
            unsafe {
                matmul(
                    [g.cout, k, t],
                    dw.as_mut_ptr(),
                    [k as isize, 1],
                    true,
                    buf.as_ptr(),
                    [t as isize, 1],
                    col.as_ptr(),
                    [1, t as isize],
                );
            }
        };
    sum_per_thread(&g.image_groups(), g.cout * k, accumulate)
}

/// The planes of `src` (`planes × h × w`) copied into zero-padded planes of `hp × wp` (the
/// original at row `top`, column `left`), followed by `slack` zeros: products on shifted views
/// read up to `kw − 1` values past the last plane (into columns that are discarded).
#[allow(clippy::too_many_arguments)]
pub(super) fn pad_planes(
    src: &[f32],
    planes: usize,
    [h, w]: [usize; 2],
    [hp, wp]: [usize; 2],
    [top, left]: [usize; 2],
    slack: usize,
) -> Vec<f32> {
    let mut out = vec![0f32; planes * hp * wp + slack];
    out[..planes * hp * wp]
        .par_chunks_mut(hp * wp)
        .zip(src.par_chunks(h * w))
        .for_each(|(dst, src)| {
            for (y, row) in src.chunks_exact(w).enumerate() {
                dst[(y + top) * wp + left..][..w].copy_from_slice(row);
            }
        });
    out
}

/// The input padded to `hp × wp` per plane, with the slack the shifted views need.
pub(super) fn padded_input(g: &Geometry, x: &[f32]) -> Vec<f32> {
    let (hp, wp) = g.padded();
    pad_planes(
        x,
        g.n * g.cin,
        [g.h, g.w],
        [hp, wp],
        [g.pad[0], g.pad[1]],
        g.kw,
    )
}

/// Forward convolution as one product per kernel tap on shifted views of the padded input.
///
/// With the input padded to `hp × wp`, output pixel `(oy, ox)` and tap `(ky, kx)` read padded
/// position `(oy + ky) · wp + ox + kx`: on the grid of `oh` rows of `wp` columns (the last
/// `kw − 1` columns of each row are junk and dropped), a tap is a constant offset, so
/// `Y' = Σ_tap W_tap · X_pad[· + offset(tap)]` with `W_tap` the `cout × cin` slice of the kernel.
pub(super) fn forward_shifted(
    g: &Geometry,
    x: &[f32],
    weight: &[f32],
    bias: Option<&[f32]>,
    relu: bool,
) -> Vec<f32> {
    let (oh, ow, k) = (g.out_h(), g.out_w(), g.k());
    let (hp, wp) = g.padded();
    let taps = g.kh * g.kw;
    let pplane = hp * wp;
    let xp = padded_input(g, x);
    let plane = oh * ow;
    let mut out = vec![0f32; g.n * g.cout * plane];
    let dst = SharedMut(out.as_mut_ptr());
    g.tiles()
        .into_par_iter()
        .for_each_init(Vec::new, |buf, (b, r0, r1)| {
            let t = (r1 - r0) * wp;
            buf.resize(g.cout * t, 0.0);
            for tap in 0..taps {
                let (ky, kx) = (tap / g.kw, tap % g.kw);
                let rhs = &xp[b * g.cin * pplane + (r0 + ky) * wp + kx..];
                // SAFETY: `buf` is this task's `cout × t` matrix; lhs is the tap's `cout × cin`
                // slice of the kernel; rhs the `cin × t` shifted view, inside `xp` thanks to its
                // slack.
                unsafe {
                    matmul(
                        [g.cout, t, g.cin],
                        buf.as_mut_ptr(),
                        [t as isize, 1],
                        tap > 0,
                        weight[tap..].as_ptr(),
                        [k as isize, taps as isize],
                        rhs.as_ptr(),
                        [pplane as isize, 1],
                    );
                }
            }
            for co in 0..g.cout {
                let bv = bias.map_or(0.0, |bias| bias[co]);
                for oy in r0..r1 {
                    let src = &buf[co * t + (oy - r0) * wp..][..ow];
                    // SAFETY: row oy of plane (b, co): written by this tile only.
                    let row = unsafe {
                        std::slice::from_raw_parts_mut(
                            dst.at((b * g.cout + co) * plane + oy * ow),
                            ow,
                        )
                    };
                    bias_relu(row, src, bv, relu);
                }
            }
        });
    out
}

/// Weight gradient on shifted views: `dW_tap = Σ_n dZ'[n] · X_pad[n][· + offset(tap)]ᵀ`, with
/// `dZ'` the output gradient on the padded-width grid (zeros in the junk columns).
pub(super) fn weight_grad_shifted(g: &Geometry, x: &[f32], dz: &[f32]) -> Vec<f32> {
    let (oh, ow, k) = (g.out_h(), g.out_w(), g.k());
    let (hp, wp) = g.padded();
    let taps = g.kh * g.kw;
    let pplane = hp * wp;
    let xp = padded_input(g, x);
    let dzp = pad_planes(dz, g.n * g.cout, [oh, ow], [oh, wp], [0, 0], 0);
    let zplane = oh * wp;
    sum_per_thread(&g.tiles(), g.cout * k, |dw, _: &mut (), &(b, r0, r1)| {
        let t = (r1 - r0) * wp;
        let lhs = &dzp[b * g.cout * zplane + r0 * wp..];
        for tap in 0..taps {
            let (ky, kx) = (tap / g.kw, tap % g.kw);
            let rhs = &xp[b * g.cin * pplane + (r0 + ky) * wp + kx..];
            // SAFETY: dst is the tap's `cout × cin` slice of this thread's own dW; lhs the
            // tile's `cout × t` gradient rows, rhs the shifted view read transposed
            // (`t × cin`), inside `xp` thanks to its slack.
            unsafe {
                matmul(
                    [g.cout, g.cin, t],
                    dw[tap..].as_mut_ptr(),
                    [k as isize, taps as isize],
                    true,
                    lhs.as_ptr(),
                    [zplane as isize, 1],
                    rhs.as_ptr(),
                    [1, pplane as isize],
                );
            }
        }
    })
}
