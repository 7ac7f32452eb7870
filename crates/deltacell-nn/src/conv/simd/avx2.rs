//! The AVX2/FMA level (x86-64-v3): the micro-kernel as 6 rows × 16 columns twice per panel,
//! and the transforms' vectors.

use super::Simd;

/// The AVX2 micro-kernel: the panel's 32 columns as two halves of 16, each `R` rows × 2
/// vectors (`R ≤ 6`: 12 accumulators, 2 vectors of `B` and a broadcast of `A`, 15 of the 16
/// registers; a block of 3 rows × 4 vectors would need 17 and spill in the inner loop). `A`'s
/// rows (`R × k`, a few KiB) are read twice, from L1.
///
/// # Safety
/// As [`super::kernel`], on a CPU with AVX2 and FMA.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
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
    use std::arch::x86_64::*;
    // SAFETY: (whole body) as in the AVX-512 kernel.
    unsafe {
        let rows: [*const f32; R] = std::array::from_fn(|r| a.add(r * a_rs));
        for half in [0, 16] {
            let (b, c) = (b.add(half), c.add(half));
            let mut c0 = [_mm256_setzero_ps(); R];
            let mut c1 = [_mm256_setzero_ps(); R];
            if accumulate {
                for r in 0..R {
                    c0[r] = _mm256_loadu_ps(c.add(r * c_rs));
                    c1[r] = _mm256_loadu_ps(c.add(r * c_rs + 8));
                }
            }
            let mut bp = b;
            for kk in 0..k {
                let b0 = _mm256_loadu_ps(bp);
                let b1 = _mm256_loadu_ps(bp.add(8));
                for r in 0..R {
                    let av = _mm256_broadcast_ss(&*rows[r].add(kk));
                    c0[r] = _mm256_fmadd_ps(av, b0, c0[r]);
                    c1[r] = _mm256_fmadd_ps(av, b1, c1[r]);
                }
                bp = bp.add(b_rs);
            }
            for r in 0..R {
                _mm256_storeu_ps(c.add(r * c_rs), c0[r]);
                _mm256_storeu_ps(c.add(r * c_rs + 8), c1[r]);
            }
        }
    }
}

/// AVX2 vectors (8 lanes). Only used inside functions compiled with `avx2,fma`.
#[cfg(target_arch = "x86_64")]
#[derive(Clone, Copy)]
pub(crate) struct Avx2;

#[cfg(target_arch = "x86_64")]
impl Simd for Avx2 {
    const W: usize = 8;
    type V = std::arch::x86_64::__m256;
    // SAFETY (every method): only called from code compiled for AVX2 (`multiversion!`
    // instantiates it in its `avx2` function alone, for a CPU that has it).
    #[inline(always)]
    fn zero() -> Self::V {
        // SAFETY: a register-only AVX2 intrinsic, enabled where this is inlined (the
        // impl's note).
        unsafe { std::arch::x86_64::_mm256_setzero_ps() }
    }
    #[inline(always)]
    unsafe fn load(p: *const f32) -> Self::V {
        // SAFETY: `p` addresses 8 readable values (the caller's contract); AVX2 is enabled where
        // this is inlined (the impl's note).
        unsafe { std::arch::x86_64::_mm256_loadu_ps(p) }
    }
    #[inline(always)]
    unsafe fn store(p: *mut f32, v: Self::V) {
        // SAFETY: `p` addresses 8 writable values (the caller's contract); AVX2 is enabled where
        // this is inlined (the impl's note).
        unsafe { std::arch::x86_64::_mm256_storeu_ps(p, v) }
    }
    #[inline(always)]
    unsafe fn load_strided_range(p: *const f32, m: usize, [lo, hi]: [isize; 2]) -> Self::V {
        use std::arch::x86_64::*;
        // SAFETY: only elements in `lo..hi` are read (the caller's contract makes them readable;
        // masked-off elements are neither read nor fault); AVX2 is enabled where this is inlined
        // (the impl's note).
        unsafe {
            let step = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
            let idx = _mm256_mullo_epi32(step, _mm256_set1_epi32(m as i32));
            // Lanes whose element is in range: lo ≤ idx < hi.
            let ge = _mm256_cmpgt_epi32(idx, _mm256_set1_epi32(lo as i32 - 1));
            let lt = _mm256_cmpgt_epi32(_mm256_set1_epi32(hi as i32), idx);
            let mask = _mm256_castsi256_ps(_mm256_and_si256(ge, lt));
            _mm256_mask_i32gather_ps::<4>(_mm256_setzero_ps(), p, idx, mask)
        }
    }
    /// Without gathers (a gather per phase, 8 loads each, was most of the input transform's
    /// time): the window's values in 128-bit quads, dealt over the lanes by an in-lane 4×4
    /// transpose (m = 4) or by even/odd shuffles (m = 2); the last two phases are the first two
    /// shifted down a lane, the window's last two values coming in.
    #[inline(always)]
    unsafe fn load_phases<const A: usize>(p: *const f32, range: [isize; 2]) -> [Self::V; A] {
        use std::arch::x86_64::*;
        let m = A - 2;
        // SAFETY: (whole body) compiled for AVX2 only (see the impl's note); only the window's
        // values in range are read (the caller's contract), by plain loads where a whole
        // quad or octet is in range, masked ones elsewhere.
        unsafe {
            let mut out = [_mm256_setzero_ps(); A];
            let (p0, p1) = if m == 4 {
                // Quads q_i = p[4i..4i + 4]; vector v holds q_v (low half) and q_{v+4} (high),
                // so that after the transpose lane j of phase l is p[4j + l].
                let pair = |i: isize| {
                    _mm256_set_m128(avx2_quad(p, 4 * i + 16, range), avx2_quad(p, 4 * i, range))
                };
                let (a, b, c, d) = (pair(0), pair(1), pair(2), pair(3));
                let (t0, t1) = (_mm256_unpacklo_ps(a, b), _mm256_unpackhi_ps(a, b));
                let (t2, t3) = (_mm256_unpacklo_ps(c, d), _mm256_unpackhi_ps(c, d));
                out[0] = _mm256_shuffle_ps::<0x44>(t0, t2);
                out[1] = _mm256_shuffle_ps::<0xEE>(t0, t2);
                out[2] = _mm256_shuffle_ps::<0x44>(t1, t3);
                out[3] = _mm256_shuffle_ps::<0xEE>(t1, t3);
                (out[0], out[1])
            } else {
                let (a, b) = (avx2_octet(p, 0, range), avx2_octet(p, 8, range));
                // Even (odd) values of each 128-bit half, then the 64-bit pairs in order.
                let ev = _mm256_castps_pd(_mm256_shuffle_ps::<0x88>(a, b));
                let od = _mm256_castps_pd(_mm256_shuffle_ps::<0xDD>(a, b));
                out[0] = _mm256_castpd_ps(_mm256_permute4x64_pd::<0xD8>(ev));
                out[1] = _mm256_castpd_ps(_mm256_permute4x64_pd::<0xD8>(od));
                (out[0], out[1])
            };
            let down = _mm256_setr_epi32(1, 2, 3, 4, 5, 6, 7, 7);
            let last = |e: isize| {
                if e >= range[0] && e < range[1] {
                    _mm256_broadcast_ss(&*p.wrapping_offset(e))
                } else {
                    _mm256_setzero_ps()
                }
            };
            let e = (8 * m) as isize;
            out[m] = _mm256_blend_ps::<0x80>(_mm256_permutevar8x32_ps(p0, down), last(e));
            out[m + 1] = _mm256_blend_ps::<0x80>(_mm256_permutevar8x32_ps(p1, down), last(e + 1));
            out
        }
    }
    /// Quads `j` and `j + 4` in the two halves of vector `j`, then a 4×4 transpose in each
    /// half.
    #[inline(always)]
    unsafe fn load_quads_transposed(p: *const f32, stride: usize) -> [Self::V; 4] {
        use std::arch::x86_64::*;
        // SAFETY: reads `p[j·stride + l]` for j < 8, l < 4, readable by the caller's contract;
        // AVX2 is enabled where this is inlined (the impl's note).
        unsafe {
            let q = |j: usize| _mm_loadu_ps(p.add(j * stride));
            let v = |j: usize| _mm256_set_m128(q(j + 4), q(j));
            let (a, b, c, d) = (v(0), v(1), v(2), v(3));
            let (t0, t1) = (_mm256_unpacklo_ps(a, b), _mm256_unpackhi_ps(a, b));
            let (t2, t3) = (_mm256_unpacklo_ps(c, d), _mm256_unpackhi_ps(c, d));
            [
                _mm256_shuffle_ps::<0x44>(t0, t2),
                _mm256_shuffle_ps::<0xEE>(t0, t2),
                _mm256_shuffle_ps::<0x44>(t1, t3),
                _mm256_shuffle_ps::<0xEE>(t1, t3),
            ]
        }
    }
    #[inline(always)]
    fn transpose4([a, b, c, d]: [Self::V; 4]) -> [Self::V; 4] {
        use std::arch::x86_64::*;
        // SAFETY: register-only AVX2 intrinsics, enabled where this is inlined (the impl's note).
        unsafe {
            let (t0, t1) = (_mm256_unpacklo_ps(a, b), _mm256_unpackhi_ps(a, b));
            let (t2, t3) = (_mm256_unpacklo_ps(c, d), _mm256_unpackhi_ps(c, d));
            [
                _mm256_shuffle_ps::<0x44>(t0, t2),
                _mm256_shuffle_ps::<0xEE>(t0, t2),
                _mm256_shuffle_ps::<0x44>(t1, t3),
                _mm256_shuffle_ps::<0xEE>(t1, t3),
            ]
        }
    }
    #[inline(always)]
    fn add(a: Self::V, b: Self::V) -> Self::V {
        // SAFETY: register-only AVX2 intrinsics, enabled where this is inlined (the impl's note).
        unsafe { std::arch::x86_64::_mm256_add_ps(a, b) }
    }
    #[inline(always)]
    fn sub(a: Self::V, b: Self::V) -> Self::V {
        // SAFETY: register-only AVX2 intrinsics, enabled where this is inlined (the impl's note).
        unsafe { std::arch::x86_64::_mm256_sub_ps(a, b) }
    }
    #[inline(always)]
    fn blend_hi(a: Self::V, b: Self::V) -> Self::V {
        // SAFETY: register-only AVX2 intrinsics, enabled where this is inlined (the impl's note).
        unsafe { std::arch::x86_64::_mm256_blend_ps::<0xf0>(a, b) }
    }
    #[inline(always)]
    fn scale(a: Self::V, s: f32) -> Self::V {
        // SAFETY: register-only AVX2 intrinsics, enabled where this is inlined (the impl's note).
        unsafe { std::arch::x86_64::_mm256_mul_ps(a, std::arch::x86_64::_mm256_set1_ps(s)) }
    }
    #[inline(always)]
    fn bias_relu(a: Self::V, s: f32, relu: bool) -> Self::V {
        use std::arch::x86_64::*;
        // SAFETY: register-only AVX2 intrinsics, enabled where this is inlined (the impl's note).
        unsafe {
            let v = _mm256_add_ps(a, _mm256_set1_ps(s));
            if relu {
                _mm256_max_ps(v, _mm256_setzero_ps())
            } else {
                v
            }
        }
    }
}

/// `p[e..e + 4]`, reading only the elements in `lo..hi` (zeros elsewhere). Only called from
/// code compiled for AVX2 (inlined into it).
///
/// # Safety
/// `p[i]` must be readable for every `i` in `lo..hi`; `p` is only offset with wrapping
/// arithmetic.
#[cfg(target_arch = "x86_64")]
#[inline(always)]
unsafe fn avx2_quad(p: *const f32, e: isize, [lo, hi]: [isize; 2]) -> std::arch::x86_64::__m128 {
    use std::arch::x86_64::*;
    // SAFETY: a plain load of a quad wholly in range, else a masked load of its elements in
    // range (masked-off elements are neither read nor fault); AVX2 instructions in AVX2 code.
    unsafe {
        if e >= lo && e + 4 <= hi {
            _mm_loadu_ps(p.wrapping_offset(e))
        } else {
            let idx = _mm_add_epi32(_mm_setr_epi32(0, 1, 2, 3), _mm_set1_epi32(e as i32));
            let ge = _mm_cmpgt_epi32(idx, _mm_set1_epi32(lo as i32 - 1));
            let lt = _mm_cmpgt_epi32(_mm_set1_epi32(hi as i32), idx);
            _mm_maskload_ps(p.wrapping_offset(e), _mm_and_si128(ge, lt))
        }
    }
}

/// `p[e..e + 8]`, reading only the elements in `lo..hi` (zeros elsewhere); as [`avx2_quad`].
///
/// # Safety
/// As [`avx2_quad`].
#[cfg(target_arch = "x86_64")]
#[inline(always)]
unsafe fn avx2_octet(p: *const f32, e: isize, [lo, hi]: [isize; 2]) -> std::arch::x86_64::__m256 {
    use std::arch::x86_64::*;
    // SAFETY: as in `avx2_quad`.
    unsafe {
        if e >= lo && e + 8 <= hi {
            _mm256_loadu_ps(p.wrapping_offset(e))
        } else {
            let idx = _mm256_add_epi32(
                _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7),
                _mm256_set1_epi32(e as i32),
            );
            let ge = _mm256_cmpgt_epi32(idx, _mm256_set1_epi32(lo as i32 - 1));
            let lt = _mm256_cmpgt_epi32(_mm256_set1_epi32(hi as i32), idx);
            _mm256_maskload_ps(p.wrapping_offset(e), _mm256_and_si256(ge, lt))
        }
    }
}
