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
//!
//! One file per instruction set: `avx512.rs`, `avx2.rs`, `portable.rs` (each level's
//! micro-kernel and its [`Simd`] vectors); `peak.rs` measures the machine's and the kernels'
//! throughput for the benchmark.

use std::sync::atomic::{AtomicU8, Ordering};

#[cfg(target_arch = "x86_64")]
mod avx2;
#[cfg(target_arch = "x86_64")]
mod avx512;
mod peak;
mod portable;

#[cfg(target_arch = "x86_64")]
pub(crate) use avx2::Avx2;
#[cfg(target_arch = "x86_64")]
pub(crate) use avx512::Avx512;
pub use peak::{fma_peak_gflops, gemm_gflops};
pub(crate) use portable::Portable;

#[cfg(target_arch = "x86_64")]
use avx2::kernel as kernel_avx2;
#[cfg(target_arch = "x86_64")]
use avx512::kernel as kernel_avx512;
use portable::kernel as kernel_portable;

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
                // SAFETY: the caller's contract (the pointers address the strided matrices)
                // and `isa` is a level this CPU has.
                $($r => unsafe { $f::<$r>(k, a, a_rs, b, b_rs, c, c_rs, accumulate) },)*
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
                // SAFETY: as above.
                $crate::conv::simd::Isa::Avx2 => unsafe { on_avx2($($arg),*) },
                _ => $body::<$crate::conv::simd::Portable>($($arg),*),
            }
        }
    };
}
pub(crate) use multiversion;
