//! The machine's FMA peak and the micro-kernels' throughput, for `benches/train_step.rs -- peak`.

use super::{gemm, isa, Isa, LANES};

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
            // SAFETY: as above.
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
