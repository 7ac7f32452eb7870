//! Runtime CPU dispatch and the matrix-product micro-kernels of the transform-domain
//! (Winograd) convolutions.
//!
//! One binary runs everywhere: the instruction set is detected once ([`isa`]) and every
//! hand-vectorised routine has an AVX-512 version, an AVX2/FMA version and a portable one
//! (plain Rust, what the compiler makes of it for the baseline target). `DELTACELL_SIMD=avx2`
//! (or `portable`) forces a lower level than the CPU has, to measure or test that path on an
//! AVX-512 machine; a level the CPU lacks is never used.
//!
//! The micro-kernel computes `C[r][0..32] (+)= Σ_k A[r][k] · B[k][0..32]` for a few rows `r`:
//! a block of rows of `A` (read as broadcasts, each row contiguous along `k`) times a 32-column
//! panel of `B` (rows `b_rs` apart), with all of `C`'s block in registers for the whole `k` loop
//! (AVX-512: 12 rows × 2 vectors, 24 of the 32 registers; AVX2: 6 rows × 2 vectors, 12 of 16,
//! for each half of the panel in turn).
//! There is no packing: the transforms write their output in the layout the kernel reads.

use std::sync::atomic::{AtomicU8, Ordering};

/// Columns of a panel: the width the micro-kernels compute at once.
pub(crate) const LANES: usize = 32;

/// An instruction-set level the kernels have a version for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Isa {
    /// Plain Rust for the baseline target (SSE2 on x86-64).
    Portable = 1,
    /// AVX2 with FMA (x86-64-v3).
    Avx2 = 2,
    /// AVX-512 F (x86-64-v4).
    Avx512 = 3,
}

impl Isa {
    /// A short name for tables.
    pub fn name(self) -> &'static str {
        match self {
            Isa::Portable => "portable",
            Isa::Avx2 => "AVX2+FMA",
            Isa::Avx512 => "AVX-512",
        }
    }

    /// The best level this CPU runs.
    pub fn detected() -> Isa {
        #[cfg(target_arch = "x86_64")]
        {
            if std::arch::is_x86_feature_detected!("avx512f") {
                return Isa::Avx512;
            }
            if std::arch::is_x86_feature_detected!("avx2")
                && std::arch::is_x86_feature_detected!("fma")
            {
                return Isa::Avx2;
            }
        }
        Isa::Portable
    }

    /// Every level this CPU runs, lowest first (for tests that compare them).
    pub fn available() -> Vec<Isa> {
        let best = Isa::detected();
        [Isa::Portable, Isa::Avx2, Isa::Avx512]
            .into_iter()
            .filter(|&i| i <= best)
            .collect()
    }

    /// Rows of `C` per micro-kernel call.
    pub(crate) fn rows(self) -> usize {
        match self {
            Isa::Avx512 => 12,
            Isa::Avx2 => 6,
            Isa::Portable => 4,
        }
    }

    fn from_u8(v: u8) -> Option<Isa> {
        match v {
            1 => Some(Isa::Portable),
            2 => Some(Isa::Avx2),
            3 => Some(Isa::Avx512),
            _ => None,
        }
    }
}

static ISA: AtomicU8 = AtomicU8::new(0);

/// The level the kernels use: the CPU's best, or the lower one named by the environment
/// variable `DELTACELL_SIMD` (`avx512`, `avx2`, `portable`), read once.
pub fn isa() -> Isa {
    if let Some(isa) = Isa::from_u8(ISA.load(Ordering::Relaxed)) {
        return isa;
    }
    let best = Isa::detected();
    let wanted = match std::env::var("DELTACELL_SIMD").as_deref() {
        Ok("portable") => Isa::Portable,
        Ok("avx2") => Isa::Avx2,
        _ => best,
    };
    let isa = wanted.min(best);
    ISA.store(isa as u8, Ordering::Relaxed);
    isa
}

/// Makes the kernels use `isa` (or the CPU's best if it lacks it) from now on, for the whole
/// process; returns the level in use. For benchmarks.
pub fn force_isa(isa: Isa) -> Isa {
    let isa = isa.min(Isa::detected());
    ISA.store(isa as u8, Ordering::Relaxed);
    isa
}

/// `C[r][0..32] (+)= Σ_{k < k} A[r·a_rs + k] · B[k·b_rs + 0..32]` for `r < rows`
/// (`rows ≤ isa.rows()`), `C` row `r` at `c + r·c_rs`; `accumulate` adds to `C`, else
/// overwrites it.
///
/// # Safety
/// The pointers must address the whole strided matrices (`rows × k` of `A`, `k × 32` of `B`,
/// `rows × 32` of `C`), `C` must not overlap the inputs, and `isa` must be supported by the CPU
/// (any value [`isa`] or [`Isa::available`] returned).
#[allow(clippy::too_many_arguments)]
pub(crate) unsafe fn kernel(
    isa: Isa,
    rows: usize,
    k: usize,
    (a, a_rs): (*const f32, usize),
    (b, b_rs): (*const f32, usize),
    (c, c_rs): (*mut f32, usize),
    accumulate: bool,
) {
    macro_rules! by_rows {
        ($f:ident, $($r:literal)*) => {
            match rows {
                $($r => $f::<$r>(k, a, a_rs, b, b_rs, c, c_rs, accumulate),)*
                _ => unreachable!("{rows} rows for {isa:?}"),
            }
        };
    }
    match isa {
        #[cfg(target_arch = "x86_64")]
        Isa::Avx512 => by_rows!(kernel_avx512, 1 2 3 4 5 6 7 8 9 10 11 12),
        #[cfg(target_arch = "x86_64")]
        Isa::Avx2 => by_rows!(kernel_avx2, 1 2 3 4 5 6),
        _ => by_rows!(kernel_portable, 1 2 3 4),
    }
}

/// `C (m × 32·panels) (+)= A (m × k) · B (k × 32·panels)`: rows of `A` contiguous along `k`
/// and `a_rs` apart, rows of `B` and `C` `b_rs` and `c_rs` apart, panel `p` at column `32p`.
/// Blocks of rows of `A` (which stay in L1) times every panel of `B` in turn.
///
/// # Safety
/// As [`kernel`], for the whole matrices.
#[allow(clippy::too_many_arguments)]
pub(crate) unsafe fn gemm(
    isa: Isa,
    [m, k, panels]: [usize; 3],
    (a, a_rs): (*const f32, usize),
    (b, b_rs): (*const f32, usize),
    (c, c_rs): (*mut f32, usize),
    accumulate: bool,
) {
    let mr = isa.rows();
    let mut r0 = 0;
    while r0 < m {
        let rows = mr.min(m - r0);
        for p in 0..panels {
            // SAFETY: row block r0.. of A and C, panel p of B and C: inside the matrices.
            unsafe {
                kernel(
                    isa,
                    rows,
                    k,
                    (a.add(r0 * a_rs), a_rs),
                    (b.add(p * LANES), b_rs),
                    (c.add(r0 * c_rs + p * LANES), c_rs),
                    accumulate,
                );
            }
        }
        r0 += rows;
    }
}

#[allow(clippy::too_many_arguments)]
unsafe fn kernel_portable<const R: usize>(
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

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
#[allow(clippy::too_many_arguments)]
unsafe fn kernel_avx512<const R: usize>(
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
    // SAFETY (whole body): the pointers address the strided matrices (the caller's contract);
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

/// The AVX2 micro-kernel: the panel's 32 columns as two halves of 16, each `R` rows × 2
/// vectors (`R ≤ 6`: 12 accumulators, 2 vectors of `B` and a broadcast of `A`, 15 of the 16
/// registers; a block of 3 rows × 4 vectors would need 17 and spill in the inner loop). `A`'s
/// rows (`R × k`, a few KiB) are read twice, from L1.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
#[allow(clippy::too_many_arguments)]
unsafe fn kernel_avx2<const R: usize>(
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
    // SAFETY (whole body): as in `kernel_avx512`.
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

/// A vector of `f32` lanes of one instruction set, for the transforms: written once, generic
/// over this trait, and compiled for each level by [`multiversion!`] (the intrinsics are inlined
/// into the level's `#[target_feature]` function that calls the generic code).
pub(crate) trait Simd: Copy {
    /// Lanes per vector.
    const W: usize;
    /// The vector.
    type V: Copy;
    fn zero() -> Self::V;
    /// # Safety
    /// `p` must address `W` values.
    unsafe fn load(p: *const f32) -> Self::V;
    /// # Safety
    /// `p` must address `W` writable values.
    unsafe fn store(p: *mut f32, v: Self::V);
    /// Lane `j` ← `p[m·j]` (`m` = 2 or 4), reading only `p[e]` for `e` in `range`, zeros
    /// elsewhere.
    ///
    /// # Safety
    /// `p[e]` must be readable for every `e` in `range` (`p` itself may lie outside the
    /// allocation: it is only offset, with wrapping arithmetic).
    unsafe fn load_strided_range(p: *const f32, m: usize, range: [isize; 2]) -> Self::V;
    /// The `A = m + 2` strided vectors `l = 0..A` of a window: lane `j` of vector `l` ←
    /// `p[m·j + l]`, reading only `p[e]` for `e` in `range` (zeros elsewhere).
    ///
    /// # Safety
    /// As [`Simd::load_strided_range`].
    #[inline(always)]
    unsafe fn load_phases<const A: usize>(p: *const f32, range: [isize; 2]) -> [Self::V; A] {
        let m = A - 2;
        // SAFETY: the caller's contract, for each window.
        std::array::from_fn(|l| unsafe {
            let l = l as isize;
            Self::load_strided_range(p.wrapping_offset(l), m, [range[0] - l, range[1] - l])
        })
    }
    /// Four values from each of `W` places `stride` apart, transposed: lane `j` of vector `l`
    /// ← `p[j·stride + l]` (`l < 4`).
    ///
    /// # Safety
    /// `p[j·stride + l]` must be readable for every `j < W`, `l < 4`.
    unsafe fn load_quads_transposed(p: *const f32, stride: usize) -> [Self::V; 4];
    /// 4×4 transposes in each group of four lanes: lane `4g + k` of vector `l` of the result
    /// is lane `4g + l` of vector `k` of `v` (its own inverse). After it, vector `k` holds in
    /// its lane group `g` the four values that lane `4g + k` had in `v[0..4]`.
    fn transpose4(v: [Self::V; 4]) -> [Self::V; 4];
    fn add(a: Self::V, b: Self::V) -> Self::V;
    fn sub(a: Self::V, b: Self::V) -> Self::V;
    /// The lower half of the lanes of `a`, the upper half of `b`.
    fn blend_hi(a: Self::V, b: Self::V) -> Self::V;
    fn scale(a: Self::V, s: f32) -> Self::V;
    /// `max(a + s, 0)` when `relu`, else `a + s`.
    fn bias_relu(a: Self::V, s: f32, relu: bool) -> Self::V;
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
        unsafe { std::arch::x86_64::_mm512_setzero_ps() }
    }
    #[inline(always)]
    unsafe fn load(p: *const f32) -> Self::V {
        unsafe { std::arch::x86_64::_mm512_loadu_ps(p) }
    }
    #[inline(always)]
    unsafe fn store(p: *mut f32, v: Self::V) {
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
        // SAFETY (intrinsics): compiled for AVX-512 only (see the impl's note).
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
        unsafe { std::arch::x86_64::_mm512_add_ps(a, b) }
    }
    #[inline(always)]
    fn sub(a: Self::V, b: Self::V) -> Self::V {
        unsafe { std::arch::x86_64::_mm512_sub_ps(a, b) }
    }
    #[inline(always)]
    fn blend_hi(a: Self::V, b: Self::V) -> Self::V {
        unsafe { std::arch::x86_64::_mm512_mask_blend_ps(0xff00, a, b) }
    }
    #[inline(always)]
    fn scale(a: Self::V, s: f32) -> Self::V {
        unsafe { std::arch::x86_64::_mm512_mul_ps(a, std::arch::x86_64::_mm512_set1_ps(s)) }
    }
    #[inline(always)]
    fn bias_relu(a: Self::V, s: f32, relu: bool) -> Self::V {
        use std::arch::x86_64::*;
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
        unsafe { std::arch::x86_64::_mm256_setzero_ps() }
    }
    #[inline(always)]
    unsafe fn load(p: *const f32) -> Self::V {
        unsafe { std::arch::x86_64::_mm256_loadu_ps(p) }
    }
    #[inline(always)]
    unsafe fn store(p: *mut f32, v: Self::V) {
        unsafe { std::arch::x86_64::_mm256_storeu_ps(p, v) }
    }
    #[inline(always)]
    unsafe fn load_strided_range(p: *const f32, m: usize, [lo, hi]: [isize; 2]) -> Self::V {
        use std::arch::x86_64::*;
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
        // SAFETY (whole body): compiled for AVX2 only (see the impl's note); only the window's
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
        unsafe { std::arch::x86_64::_mm256_add_ps(a, b) }
    }
    #[inline(always)]
    fn sub(a: Self::V, b: Self::V) -> Self::V {
        unsafe { std::arch::x86_64::_mm256_sub_ps(a, b) }
    }
    #[inline(always)]
    fn blend_hi(a: Self::V, b: Self::V) -> Self::V {
        unsafe { std::arch::x86_64::_mm256_blend_ps::<0xf0>(a, b) }
    }
    #[inline(always)]
    fn scale(a: Self::V, s: f32) -> Self::V {
        unsafe { std::arch::x86_64::_mm256_mul_ps(a, std::arch::x86_64::_mm256_set1_ps(s)) }
    }
    #[inline(always)]
    fn bias_relu(a: Self::V, s: f32, relu: bool) -> Self::V {
        use std::arch::x86_64::*;
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

/// Defines `fn $name(isa: Isa, args…)` that runs the `#[inline(always)]` function
/// `$body::<S>` (generic over [`Simd`]) compiled for `isa`: with [`Avx512`] in a function
/// compiled for AVX-512, [`Avx2`] in one for AVX2/FMA, [`Portable`] for the baseline target.
macro_rules! multiversion {
    ($(#[$meta:meta])* $vis:vis fn $name:ident = $body:ident ($($arg:ident : $ty:ty),* $(,)?)) => {
        $(#[$meta])*
        #[allow(clippy::too_many_arguments)]
        $vis fn $name(isa: $crate::conv::simd::Isa, $($arg: $ty),*) {
            #[cfg(target_arch = "x86_64")]
            #[target_feature(enable = "avx512f,avx512vl,avx2,fma")]
            #[allow(clippy::too_many_arguments)]
            unsafe fn on_avx512($($arg: $ty),*) {
                $body::<$crate::conv::simd::Avx512>($($arg),*)
            }
            #[cfg(target_arch = "x86_64")]
            #[target_feature(enable = "avx2,fma")]
            #[allow(clippy::too_many_arguments)]
            unsafe fn on_avx2($($arg: $ty),*) {
                $body::<$crate::conv::simd::Avx2>($($arg),*)
            }
            match isa {
                // SAFETY: the level is one the CPU supports (`isa()` and `Isa::available`
                // never return another).
                #[cfg(target_arch = "x86_64")]
                $crate::conv::simd::Isa::Avx512 => unsafe { on_avx512($($arg),*) },
                #[cfg(target_arch = "x86_64")]
                $crate::conv::simd::Isa::Avx2 => unsafe { on_avx2($($arg),*) },
                _ => $body::<$crate::conv::simd::Portable>($($arg),*),
            }
        }
    };
}
pub(crate) use multiversion;

/// The machine's single-precision FMA throughput in GFLOPS with `threads` threads, each running
/// twelve independent FMA chains in the widest vectors of [`isa`] (nothing from memory); the
/// fastest of seven short runs (on a shared machine, the least disturbed), and the level's name.
pub fn fma_peak_gflops(threads: usize) -> (f64, &'static str) {
    let isa = isa();
    let iters = 2_000_000usize;
    let best = (0..7)
        .map(|_| {
            let start = std::time::Instant::now();
            let lanes = std::thread::scope(|s| {
                let handles: Vec<_> = (0..threads.max(1))
                    .map(|_| s.spawn(move || fma_chains(isa, iters)))
                    .collect();
                handles
                    .into_iter()
                    .map(|h| h.join().map(|(lanes, _)| lanes).unwrap_or(0))
                    .sum::<usize>()
            });
            (lanes * iters * 12 * 2) as f64 / start.elapsed().as_secs_f64() / 1e9
        })
        .fold(0.0, f64::max);
    (best, isa.name())
}

/// The micro-kernels' throughput in GFLOPS on one thread for a product
/// `(m × k) · (k × 32·panels)` of the shapes the Winograd products have (`A` rows contiguous,
/// `B` in panels), repeated over a second and fastest of five taken; and the level's name.
pub fn gemm_gflops([m, k, panels]: [usize; 3]) -> (f64, &'static str) {
    let isa = isa();
    let n = panels * LANES;
    let a: Vec<f32> = (0..m * k).map(|i| (i % 7) as f32 * 0.1).collect();
    let b: Vec<f32> = (0..k * n).map(|i| (i % 5) as f32 * 0.1).collect();
    let mut c = vec![0f32; m * n];
    let flops = 2.0 * (m * k * n) as f64;
    let reps = ((2e9 / flops) as usize).max(1);
    let best = (0..5)
        .map(|_| {
            let t = std::time::Instant::now();
            for _ in 0..reps {
                // SAFETY: whole matrices of the stated shapes.
                unsafe {
                    gemm(
                        isa,
                        [m, k, panels],
                        (a.as_ptr(), k),
                        (b.as_ptr(), n),
                        (c.as_mut_ptr(), n),
                        false,
                    );
                }
            }
            t.elapsed().as_secs_f64()
        })
        .fold(f64::INFINITY, f64::min);
    (
        flops * reps as f64 / best / 1e9 + c[0] as f64 * 0.0,
        isa.name(),
    )
}

/// Twelve FMA chains of `iters` steps; returns the vector width in lanes and a value that
/// depends on the result (so that the work is not optimised away).
fn fma_chains(isa: Isa, iters: usize) -> (usize, f32) {
    #[cfg(target_arch = "x86_64")]
    {
        use std::arch::x86_64::*;
        #[target_feature(enable = "avx512f")]
        fn chains512(iters: usize) -> f32 {
            let mut acc = [_mm512_set1_ps(0.0); 12];
            let (a, b) = (_mm512_set1_ps(0.999_999), _mm512_set1_ps(1e-7));
            for _ in 0..iters {
                for x in acc.iter_mut() {
                    *x = _mm512_fmadd_ps(*x, a, b);
                }
            }
            acc.iter().map(|&x| _mm512_reduce_add_ps(x)).sum()
        }
        #[target_feature(enable = "avx2,fma")]
        fn chains256(iters: usize) -> f32 {
            let mut acc = [_mm256_set1_ps(0.0); 12];
            let (a, b) = (_mm256_set1_ps(0.999_999), _mm256_set1_ps(1e-7));
            for _ in 0..iters {
                for x in acc.iter_mut() {
                    *x = _mm256_fmadd_ps(*x, a, b);
                }
            }
            let mut out = [0f32; 8];
            let sum = acc
                .iter()
                .fold(_mm256_setzero_ps(), |s, &x| _mm256_add_ps(s, x));
            // SAFETY: `out` holds 8 values.
            unsafe { _mm256_storeu_ps(out.as_mut_ptr(), sum) };
            out.iter().sum()
        }
        match isa {
            // SAFETY: the CPU has the level (`isa()` never returns one it lacks).
            Isa::Avx512 => return (16, unsafe { chains512(iters) }),
            Isa::Avx2 => return (8, unsafe { chains256(iters) }),
            Isa::Portable => {}
        }
    }
    let mut acc = [[0f32; 4]; 12];
    for _ in 0..iters {
        for x in acc.iter_mut().flatten() {
            *x = *x * 0.999_999 + 1e-7;
        }
    }
    (4, acc.iter().flatten().sum())
}
