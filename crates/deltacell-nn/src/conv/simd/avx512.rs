//! The AVX-512 level (x86-64-v4): the micro-kernel as 12 rows × 2 vectors of 16 lanes, and
//! the transforms' vectors.

use super::Simd;

/// The AVX-512 micro-kernel (see [`super::kernel`]): `R ≤ 12` rows × 2 vectors, 24 of the 32
/// registers.
///
/// # Safety
/// As [`super::kernel`], on a CPU with AVX-512 F.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
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
    // SAFETY: (whole body) the pointers address the strided matrices (the caller's contract);
    // unaligned loads and stores throughout.
    unsafe {
        let mut c0 = [_mm512_setzero_ps(); R];
        let mut c1 = [_mm512_setzero_ps(); R];
        if accumulate {
            for r in 0..R {
                c0[r] = _mm512_loadu_ps(c.add(r * c_rs));
                c1[r] = _mm512_loadu_ps(c.add(r * c_rs + 16));
            }
        }
        let rows: [*const f32; R] = std::array::from_fn(|r| a.add(r * a_rs));
        let mut bp = b;
        for kk in 0..k {
            let b0 = _mm512_loadu_ps(bp);
            let b1 = _mm512_loadu_ps(bp.add(16));
            for r in 0..R {
                let av = _mm512_set1_ps(*rows[r].add(kk));
                c0[r] = _mm512_fmadd_ps(av, b0, c0[r]);
                c1[r] = _mm512_fmadd_ps(av, b1, c1[r]);
            }
            bp = bp.add(b_rs);
        }
        for r in 0..R {
            _mm512_storeu_ps(c.add(r * c_rs), c0[r]);
            _mm512_storeu_ps(c.add(r * c_rs + 16), c1[r]);
        }
    }
}

/// AVX-512 vectors (16 lanes). Only used inside functions compiled with `avx512f`.
#[cfg(target_arch = "x86_64")]
#[derive(Clone, Copy)]
pub(crate) struct Avx512;

#[cfg(target_arch = "x86_64")]
impl Simd for Avx512 {
    const W: usize = 16;
    type V = std::arch::x86_64::__m512;
    // SAFETY (every method): only called from code compiled for AVX-512 (`multiversion!`
    // instantiates it in its `avx512f` function alone, for a CPU that has it).
    #[inline(always)]
    fn zero() -> Self::V {
        // SAFETY: a register-only AVX-512 F intrinsic, enabled where this is inlined (the
        // impl's note).
        unsafe { std::arch::x86_64::_mm512_setzero_ps() }
    }
    #[inline(always)]
    unsafe fn load(p: *const f32) -> Self::V {
        // SAFETY: `p` addresses 16 readable values (the caller's contract); AVX-512 F is enabled
        // where this is inlined (the impl's note).
        unsafe { std::arch::x86_64::_mm512_loadu_ps(p) }
    }
    #[inline(always)]
    unsafe fn store(p: *mut f32, v: Self::V) {
        // SAFETY: `p` addresses 16 writable values (the caller's contract); AVX-512 F is enabled
        // where this is inlined (the impl's note).
        unsafe { std::arch::x86_64::_mm512_storeu_ps(p, v) }
    }
    #[inline(always)]
    unsafe fn load_strided_range(p: *const f32, m: usize, [lo, hi]: [isize; 2]) -> Self::V {
        use std::arch::x86_64::*;
        // Every other (m = 2) or every fourth (m = 4) value of 32 or 64, each vector loaded
        // under the mask of its elements in range
        // (masked-off elements are not read).
        let mask = |v: isize, keep: u16| -> u16 {
            let (a, b) = ((lo - 16 * v).clamp(0, 16), (hi - 16 * v).clamp(0, 16));
            let bits = ((1u32 << b) - 1) & !((1u32 << a) - 1);
            bits as u16 & keep
        };
        let at = |v: isize| p.wrapping_offset(16 * v);
        // SAFETY: only elements in `lo..hi` are read (the caller's contract makes them readable;
        // masked-off elements are neither read nor fault); AVX-512 F is enabled where this is
        // inlined (the impl's note).
        unsafe {
            if m == 2 {
                let idx =
                    _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30);
                let a = _mm512_maskz_loadu_ps(mask(0, 0xffff), at(0));
                let b = _mm512_maskz_loadu_ps(mask(1, 0x7fff), at(1));
                _mm512_permutex2var_ps(a, idx, b)
            } else {
                let idx =
                    _mm512_setr_epi32(0, 4, 8, 12, 16, 20, 24, 28, 0, 4, 8, 12, 16, 20, 24, 28);
                let a = _mm512_maskz_loadu_ps(mask(0, 0xffff), at(0));
                let b = _mm512_maskz_loadu_ps(mask(1, 0xffff), at(1));
                let c = _mm512_maskz_loadu_ps(mask(2, 0xffff), at(2));
                let d = _mm512_maskz_loadu_ps(mask(3, 0x1fff), at(3));
                let lo = _mm512_permutex2var_ps(a, idx, b);
                let hi = _mm512_permutex2var_ps(c, idx, d);
                _mm512_shuffle_f32x4::<0b01_00_01_00>(lo, hi)
            }
        }
    }
    #[inline(always)]
    unsafe fn load_phases<const A: usize>(p: *const f32, [lo, hi]: [isize; 2]) -> [Self::V; A] {
        use std::arch::x86_64::*;
        let m = A - 2;
        let mask = |v: isize, keep: u16| -> u16 {
            let (a, b) = ((lo - 16 * v).clamp(0, 16), (hi - 16 * v).clamp(0, 16));
            (((1u32 << b) - 1) & !((1u32 << a) - 1)) as u16 & keep
        };
        let load = |v: isize, keep: u16| -> __m512 {
            // SAFETY: only the elements in range are read (masked load).
            unsafe { _mm512_maskz_loadu_ps(mask(v, keep), p.wrapping_offset(16 * v)) }
        };
        // SAFETY: (intrinsics) compiled for AVX-512 only (see the impl's note).
        unsafe {
            let mut out = [_mm512_setzero_ps(); A];
            // The window: m·16 + 2 values; the phases l < m by permutes of its vectors, the
            // last two (l = m, m + 1) the first two shifted by one lane with the window's
            // last two values coming in.
            let (p0, p1, tail) = if m == 4 {
                let (a, b, c, d) = (
                    load(0, 0xffff),
                    load(1, 0xffff),
                    load(2, 0xffff),
                    load(3, 0xffff),
                );
                let tail = load(4, 0x0003);
                let base =
                    _mm512_setr_epi32(0, 4, 8, 12, 16, 20, 24, 28, 0, 4, 8, 12, 16, 20, 24, 28);
                for (l, o) in out.iter_mut().enumerate().take(4) {
                    let idx = _mm512_add_epi32(base, _mm512_set1_epi32(l as i32));
                    let lo = _mm512_permutex2var_ps(a, idx, b);
                    let hi = _mm512_permutex2var_ps(c, idx, d);
                    *o = _mm512_shuffle_f32x4::<0b01_00_01_00>(lo, hi);
                }
                (out[0], out[1], tail)
            } else {
                let (a, b) = (load(0, 0xffff), load(1, 0xffff));
                let tail = load(2, 0x0003);
                let base =
                    _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30);
                for (l, o) in out.iter_mut().enumerate().take(2) {
                    let idx = _mm512_add_epi32(base, _mm512_set1_epi32(l as i32));
                    *o = _mm512_permutex2var_ps(a, idx, b);
                }
                (out[0], out[1], tail)
            };
            let t0 = _mm512_castps_si512(tail);
            let t1 = _mm512_alignr_epi32::<1>(t0, t0);
            out[m] = _mm512_castsi512_ps(_mm512_alignr_epi32::<1>(t0, _mm512_castps_si512(p0)));
            out[m + 1] = _mm512_castsi512_ps(_mm512_alignr_epi32::<1>(t1, _mm512_castps_si512(p1)));
            out
        }
    }
    /// Quads `j`, `j + 4`, `j + 8`, `j + 12` in the four 128-bit lanes of vector `j`, then a
    /// 4×4 transpose in each 128-bit lane.
    #[inline(always)]
    unsafe fn load_quads_transposed(p: *const f32, stride: usize) -> [Self::V; 4] {
        use std::arch::x86_64::*;
        // SAFETY: reads `p[j·stride + l]` for j < 16, l < 4, readable by the caller's contract;
        // AVX-512 F is enabled where this is inlined (the impl's note).
        unsafe {
            let q = |j: usize| _mm_loadu_ps(p.add(j * stride));
            let v = |j: usize| {
                let a = _mm512_castps128_ps512(q(j));
                let a = _mm512_insertf32x4::<1>(a, q(j + 4));
                let a = _mm512_insertf32x4::<2>(a, q(j + 8));
                _mm512_insertf32x4::<3>(a, q(j + 12))
            };
            let (a, b, c, d) = (v(0), v(1), v(2), v(3));
            let (t0, t1) = (_mm512_unpacklo_ps(a, b), _mm512_unpackhi_ps(a, b));
            let (t2, t3) = (_mm512_unpacklo_ps(c, d), _mm512_unpackhi_ps(c, d));
            [
                _mm512_shuffle_ps::<0x44>(t0, t2),
                _mm512_shuffle_ps::<0xEE>(t0, t2),
                _mm512_shuffle_ps::<0x44>(t1, t3),
                _mm512_shuffle_ps::<0xEE>(t1, t3),
            ]
        }
    }
    #[inline(always)]
    fn transpose4([a, b, c, d]: [Self::V; 4]) -> [Self::V; 4] {
        use std::arch::x86_64::*;
        // SAFETY: register-only AVX-512 F intrinsics, enabled where this is inlined (the impl's
        // note).
        unsafe {
            let (t0, t1) = (_mm512_unpacklo_ps(a, b), _mm512_unpackhi_ps(a, b));
            let (t2, t3) = (_mm512_unpacklo_ps(c, d), _mm512_unpackhi_ps(c, d));
            [
                _mm512_shuffle_ps::<0x44>(t0, t2),
                _mm512_shuffle_ps::<0xEE>(t0, t2),
                _mm512_shuffle_ps::<0x44>(t1, t3),
                _mm512_shuffle_ps::<0xEE>(t1, t3),
            ]
        }
    }
    #[inline(always)]
    fn add(a: Self::V, b: Self::V) -> Self::V {
        // SAFETY: register-only AVX-512 F intrinsics, enabled where this is inlined (the impl's
        // note).
        unsafe { std::arch::x86_64::_mm512_add_ps(a, b) }
    }
    #[inline(always)]
    fn sub(a: Self::V, b: Self::V) -> Self::V {
        // SAFETY: register-only AVX-512 F intrinsics, enabled where this is inlined (the impl's
        // note).
        unsafe { std::arch::x86_64::_mm512_sub_ps(a, b) }
    }
    #[inline(always)]
    fn blend_hi(a: Self::V, b: Self::V) -> Self::V {
        // SAFETY: register-only AVX-512 F intrinsics, enabled where this is inlined (the impl's
        // note).
        unsafe { std::arch::x86_64::_mm512_mask_blend_ps(0xff00, a, b) }
    }
    #[inline(always)]
    fn scale(a: Self::V, s: f32) -> Self::V {
        // SAFETY: register-only AVX-512 F intrinsics, enabled where this is inlined (the impl's
        // note).
        unsafe { std::arch::x86_64::_mm512_mul_ps(a, std::arch::x86_64::_mm512_set1_ps(s)) }
    }
    #[inline(always)]
    fn bias_relu(a: Self::V, s: f32, relu: bool) -> Self::V {
        use std::arch::x86_64::*;
        // SAFETY: register-only AVX-512 F intrinsics, enabled where this is inlined (the impl's
        // note).
        unsafe {
            let v = _mm512_add_ps(a, _mm512_set1_ps(s));
            if relu {
                _mm512_max_ps(v, _mm512_setzero_ps())
            } else {
                v
            }
        }
    }
}
