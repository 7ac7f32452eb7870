//! The portable level: plain Rust for the baseline target (SSE2 on x86-64), what the compiler
//! makes of it; no FMA (a multiplication then an addition, each rounded).

use super::{Simd, LANES};

/// The portable micro-kernel (see [`super::kernel`]).
///
/// # Safety
/// As [`super::kernel`].
#[allow(clippy::too_many_arguments)]
pub(super) unsafe fn kernel<const R: usize>(
    k: usize,
    a: *const f32,
    a_rs: usize,
    b: *const f32,
    b_rs: usize,
    c: *mut f32,
    c_rs: usize,
    accumulate: bool,
) {
    let mut acc = [[0f32; LANES]; R];
    for (r, row) in acc.iter_mut().enumerate() {
        if accumulate {
            // SAFETY: row r of C (the caller's contract).
            row.copy_from_slice(unsafe { std::slice::from_raw_parts(c.add(r * c_rs), LANES) });
        }
    }
    for kk in 0..k {
        // SAFETY: row kk of B and column kk of A's rows (the caller's contract).
        let brow = unsafe { &*(b.add(kk * b_rs) as *const [f32; LANES]) };
        for (r, row) in acc.iter_mut().enumerate() {
            // SAFETY: value kk of row r of A (the caller's contract).
            let av = unsafe { *a.add(r * a_rs + kk) };
            for (d, &bv) in row.iter_mut().zip(brow) {
                *d += av * bv;
            }
        }
    }
    for (r, row) in acc.iter().enumerate() {
        // SAFETY: row r of C, which overlaps neither input.
        unsafe { std::slice::from_raw_parts_mut(c.add(r * c_rs), LANES) }.copy_from_slice(row);
    }
}

/// The baseline target's vectors: four lanes the compiler maps to SSE.
#[derive(Clone, Copy)]
pub(crate) struct Portable;

impl Simd for Portable {
    const W: usize = 4;
    type V = [f32; 4];
    #[inline(always)]
    fn zero() -> [f32; 4] {
        [0.0; 4]
    }
    #[inline(always)]
    unsafe fn load(p: *const f32) -> [f32; 4] {
        // SAFETY: the caller's contract.
        unsafe { p.cast::<[f32; 4]>().read_unaligned() }
    }
    #[inline(always)]
    unsafe fn store(p: *mut f32, v: [f32; 4]) {
        // SAFETY: the caller's contract.
        unsafe { p.cast::<[f32; 4]>().write_unaligned(v) }
    }
    #[inline(always)]
    unsafe fn load_strided_range(p: *const f32, m: usize, [lo, hi]: [isize; 2]) -> [f32; 4] {
        std::array::from_fn(|j| {
            let e = (m * j) as isize;
            if e >= lo && e < hi {
                // SAFETY: element e is in the readable range (the caller's contract).
                unsafe { *p.wrapping_offset(e) }
            } else {
                0.0
            }
        })
    }
    #[inline(always)]
    unsafe fn load_quads_transposed(p: *const f32, stride: usize) -> [[f32; 4]; 4] {
        // SAFETY: the caller's contract.
        std::array::from_fn(|l| std::array::from_fn(|j| unsafe { *p.add(j * stride + l) }))
    }
    #[inline(always)]
    fn transpose4(v: [[f32; 4]; 4]) -> [[f32; 4]; 4] {
        std::array::from_fn(|l| std::array::from_fn(|k| v[k][l]))
    }
    #[inline(always)]
    fn add(a: [f32; 4], b: [f32; 4]) -> [f32; 4] {
        std::array::from_fn(|i| a[i] + b[i])
    }
    #[inline(always)]
    fn blend_hi(a: [f32; 4], b: [f32; 4]) -> [f32; 4] {
        [a[0], a[1], b[2], b[3]]
    }
    #[inline(always)]
    fn sub(a: [f32; 4], b: [f32; 4]) -> [f32; 4] {
        std::array::from_fn(|i| a[i] - b[i])
    }
    #[inline(always)]
    fn scale(a: [f32; 4], s: f32) -> [f32; 4] {
        std::array::from_fn(|i| a[i] * s)
    }
    #[inline(always)]
    fn bias_relu(a: [f32; 4], s: f32, relu: bool) -> [f32; 4] {
        std::array::from_fn(|i| if relu { (a[i] + s).max(0.0) } else { a[i] + s })
    }
}
