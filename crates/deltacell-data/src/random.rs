//! Reproducible random streams: one seed per run, one independent stream per (epoch, sample).
//!
//! Every random decision of deltacell (augmentation, crops, file picks, synthetic data) draws from
//! a [`SampleRng`] derived with [`stream`], so results depend only on the seed and the sample's
//! coordinates, never on thread count or scheduling.

use rand::SeedableRng;

/// The generator used everywhere: ChaCha8, portable and stable across platforms and releases.
pub type SampleRng = rand_chacha::ChaCha8Rng;

/// The stream for sample `index` of `epoch` in a run seeded with `seed`.
///
/// Distinct `(seed, epoch, index)` triples give independent streams (they select distinct
/// ChaCha streams under a key derived from `seed`).
pub fn stream(seed: u64, epoch: u64, index: u64) -> SampleRng {
    let mut rng = SampleRng::seed_from_u64(seed);
    // 64-bit stream id: epoch in the high half, index in the low half, mixed so that large
    // indices never alias another epoch.
    let id = splitmix64(epoch.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ splitmix64(index));
    rng.set_stream(id);
    rng
}

/// A generator seeded from `seed` alone (for whole-run decisions such as splits).
pub fn seeded(seed: u64) -> SampleRng {
    SampleRng::seed_from_u64(seed)
}

/// Fills `out` with standard normal values N(0, 1) that depend only on `key` and the position
/// in `out` (value `i` is the same whatever the length of `out`, as long as it reaches `i`).
///
/// Bulk generator for per-pixel noise (DeLTA's `np.random.normal` per pixel): draw `key` from the
/// sample's [`SampleRng`] and fill a whole image at once. Pair `j` comes from two 32-bit hashes
/// of `(key, 2j)` and `(key, 2j + 1)` (two rounds of a multiply–xorshift mixer per value), turned
/// into uniforms `u1 ∈ (0, 1]`, `u2 ∈ [0, 1)` with 24 bits each and then into two independent
/// normals by the Box–Muller transform `√(−2 ln u1)·(cos 2πu2, sin 2πu2)`. `ln`, `sin` and
/// `cos` are evaluated with fixed polynomials (absolute error below 1e-6 over the whole
/// range), so the loop has no branch and no library call and the compiler vectorises it; the
/// results are bit-identical on every x86-64 machine whether or not it has AVX2. The largest
/// magnitude is √(48 ln 2) ≈ 5.77 (one value in ~10⁸ would exceed it for a true normal).
pub fn fill_standard_normal(key: u64, out: &mut [f32]) {
    fill_normal_kernel(key, out)
}

/// `v = clamp(v + sigma·z, 0, 1)` for every value of `values`, `z` the value at the same
/// position of [`fill_standard_normal`]`(key, …)`: the same result as filling a buffer and
/// adding it, in one pass without the buffer.
pub fn add_scaled_standard_normal(key: u64, values: &mut [f32], sigma: f32) {
    add_normal_kernel(key, values, sigma)
}

crate::simd::multiversion! {
fn fill_normal_kernel(key: u64, out: &mut [f32]) {
    normals(key, out, |o, z| *o = z)
}
}

crate::simd::multiversion! {
fn add_normal_kernel(key: u64, values: &mut [f32], sigma: f32) {
    normals(key, values, |v, z| *v = (*v + sigma * z).clamp(0.0, 1.0))
}
}

/// The generator of [`fill_standard_normal`]: `emit(&mut out[i], z_i)` for every position.
#[inline(always)]
fn normals(key: u64, out: &mut [f32], emit: impl Fn(&mut f32, f32)) {
    let (k0, k1) = (key as u32, (key >> 32) as u32);
    const BLOCK: usize = 64;
    let mut pair = 0u32;
    for chunk in out.chunks_mut(2 * BLOCK) {
        let mut za = [0f32; BLOCK];
        let mut zb = [0f32; BLOCK];
        for (j, (a, b)) in za.iter_mut().zip(zb.iter_mut()).enumerate() {
            let c = pair.wrapping_add(j as u32).wrapping_mul(2);
            let h1 = mix32(mix32(c ^ k0) ^ k1);
            let h2 = mix32(mix32(c.wrapping_add(1) ^ k0) ^ k1);
            // Below 2^24, so the signed conversion (one instruction) is exact.
            let u1 = (((h1 >> 8) + 1) as i32) as f32 * (1.0 / 16_777_216.0);
            let u2 = ((h2 >> 8) as i32) as f32 * (1.0 / 16_777_216.0);
            let r = (-2.0 * ln_unit(u1)).sqrt();
            let (s, co) = sincos_turns(u2);
            *a = r * co;
            *b = r * s;
        }
        let half = chunk.len() / 2;
        let mut pairs = chunk.chunks_exact_mut(2);
        for (o, (a, b)) in (&mut pairs).zip(za.iter().zip(zb.iter())) {
            emit(&mut o[0], *a);
            emit(&mut o[1], *b);
        }
        if let [last] = pairs.into_remainder() {
            emit(last, za[half]);
        }
        pair = pair.wrapping_add(BLOCK as u32);
    }
}

/// A bijective 32-bit mixer (multiply–xorshift, "lowbias32" constants).
#[inline(always)]
fn mix32(mut x: u32) -> u32 {
    x ^= x >> 16;
    x = x.wrapping_mul(0x7feb_352d);
    x ^= x >> 15;
    x = x.wrapping_mul(0x846c_a68b);
    x ^ (x >> 16)
}

/// `ln(u)` for `u` in `(0, 1]`, without branches: `u = m·2^e` with `m ∈ [√½, √2)`, then the
/// Cephes single-precision polynomial for `ln(1 + f)`, `f = m − 1`.
#[inline(always)]
fn ln_unit(u: f32) -> f32 {
    let bits = u.to_bits();
    let mut e = ((bits >> 23) as i32) - 127;
    let mut m = f32::from_bits((bits & 0x007f_ffff) | 0x3f80_0000);
    let big = m > std::f32::consts::SQRT_2;
    m = if big { m * 0.5 } else { m };
    e += i32::from(big);
    let f = m - 1.0;
    let z = f * f;
    let mut p = 7.037_683_6e-2_f32;
    for c in [
        -1.151_461e-1,
        1.167_699_9e-1,
        -1.242_014_1e-1,
        1.424_932_3e-1,
        -1.666_805_8e-1,
        2.000_071_4e-1,
        -2.499_999_4e-1,
        3.333_333e-1,
    ] {
        p = p * f + c;
    }
    let ef = e as f32;
    let y = f * z * p - 2.121_944_4e-4 * ef - 0.5 * z;
    f + y + 0.693_359_4 * ef
}

/// `(sin 2πt, cos 2πt)` for `t` in `[0, 1)`: the nearest quarter turn is taken out exactly, the
/// rest (at most an eighth of a turn) goes through the Cephes polynomials.
#[inline(always)]
fn sincos_turns(t: f32) -> (f32, f32) {
    // The nearest quarter turn, 0..=4, rounded with the 1.5·2^23 trick (exact for these small
    // values, and vectorisable unlike the saturating `as` conversion).
    const MAGIC: f32 = 12_582_912.0;
    let qf = (t * 4.0 + MAGIC) - MAGIC;
    let q = (qf + MAGIC).to_bits() as i32 - 0x4B40_0000;
    let a = (t - qf * 0.25) * std::f32::consts::TAU; // |a| ≤ π/4
    let a2 = a * a;
    let s = a + a * a2 * (-1.666_665_5e-1 + a2 * (8.332_161e-3 + a2 * -1.951_529_6e-4));
    let c =
        1.0 - 0.5 * a2 + a2 * a2 * (4.166_664_6e-2 + a2 * (-1.388_731_6e-3 + a2 * 2.443_315_7e-5));
    // Rotate (cos a, sin a) by q quarter turns.
    let (s1, c1) = if q & 1 == 1 { (c, -s) } else { (s, c) };
    if q & 2 == 2 {
        (-s1, -c1)
    } else {
        (s1, c1)
    }
}

fn splitmix64(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    x = (x ^ (x >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    x ^ (x >> 31)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::Rng;

    #[test]
    fn streams_are_reproducible_and_distinct() {
        let a: u64 = stream(1, 2, 3).random();
        let b: u64 = stream(1, 2, 3).random();
        let c: u64 = stream(1, 2, 4).random();
        let d: u64 = stream(1, 3, 3).random();
        let e: u64 = stream(2, 2, 3).random();
        assert_eq!(a, b);
        assert!(a != c && a != d && a != e && c != d);
    }

    #[test]
    fn helper_functions_are_accurate() {
        for i in 1..=100_000u32 {
            let u = i as f32 / 100_000.0;
            assert!((ln_unit(u) as f64 - (u as f64).ln()).abs() < 1e-6, "ln {u}");
            let t = (i - 1) as f32 / 100_000.0;
            let (s, c) = sincos_turns(t);
            let a = t as f64 * std::f64::consts::TAU;
            assert!((s as f64 - a.sin()).abs() < 1e-6, "sin {t}");
            assert!((c as f64 - a.cos()).abs() < 1e-6, "cos {t}");
        }
        assert!((ln_unit(1.0 / 16_777_216.0) as f64 - (2f64.powi(-24)).ln()).abs() < 1e-5);
        assert_eq!(ln_unit(1.0), 0.0);
    }

    #[test]
    fn bulk_normals_are_standard_normal_and_positional() {
        let n = 200_000;
        let mut z = vec![0f32; n];
        fill_standard_normal(0xDEAD_BEEF_1234, &mut z);
        let mean = z.iter().map(|&v| v as f64).sum::<f64>() / n as f64;
        let var = z.iter().map(|&v| (v as f64 - mean).powi(2)).sum::<f64>() / n as f64;
        assert!(mean.abs() < 0.01, "mean {mean}");
        assert!((var - 1.0).abs() < 0.015, "var {var}");
        // Kolmogorov–Smirnov against Φ (critical value at alpha = 0.001: 1.95/√n).
        let mut s: Vec<f64> = z.iter().map(|&v| v as f64).collect();
        s.sort_by(f64::total_cmp);
        let phi = |x: f64| 0.5 * (1.0 + erf(x / std::f64::consts::SQRT_2));
        let d = s
            .iter()
            .enumerate()
            .map(|(i, &x)| {
                let f = phi(x);
                (f - i as f64 / n as f64)
                    .abs()
                    .max(((i + 1) as f64 / n as f64 - f).abs())
            })
            .fold(0.0, f64::max);
        assert!(d < 1.95 / (n as f64).sqrt(), "KS {d}");
        // Neighbours (the two values of a pair, and consecutive pairs) are uncorrelated.
        for lag in [1, 2, 3] {
            let c = (0..n - lag)
                .map(|i| (z[i] as f64 - mean) * (z[i + lag] as f64 - mean))
                .sum::<f64>()
                / ((n - lag) as f64 * var);
            assert!(c.abs() < 0.01, "lag {lag}: {c}");
        }
        // Positional: a prefix of any length (odd too) gives the same values; other keys differ.
        let mut short = vec![0f32; 1001];
        fill_standard_normal(0xDEAD_BEEF_1234, &mut short);
        assert_eq!(&short[..], &z[..1001]);
        let mut other = vec![0f32; 1001];
        fill_standard_normal(0xDEAD_BEEF_1235, &mut other);
        assert!(other.iter().zip(&short).filter(|(a, b)| a == b).count() < 5);
        assert!(z.iter().all(|v| v.is_finite() && v.abs() < 5.8));
        // The fused add equals fill + add.
        let base: Vec<f32> = (0..1001).map(|i| (i % 17) as f32 / 16.0).collect();
        let mut fused = base.clone();
        add_scaled_standard_normal(0xDEAD_BEEF_1234, &mut fused, 0.05);
        for ((f, b), n) in fused.iter().zip(&base).zip(&short) {
            assert_eq!(*f, (b + 0.05 * n).clamp(0.0, 1.0));
        }
    }

    /// Abramowitz–Stegun 7.1.26 is too coarse for a KS test at n = 200 000; this series/continued
    /// fraction pair is accurate to ~1e-12.
    fn erf(x: f64) -> f64 {
        let t = x.abs();
        let v = if t < 2.5 {
            // Maclaurin series.
            let mut sum = 0.0;
            let mut term = t;
            let mut k = 0.0;
            while term.abs() > 1e-17 {
                sum += term / (2.0 * k + 1.0);
                k += 1.0;
                term *= -t * t / k;
            }
            sum * 2.0 / std::f64::consts::PI.sqrt()
        } else {
            // Continued fraction for erfc.
            let mut f = 0.0;
            for k in (1..60).rev() {
                f = k as f64 / 2.0 / (t + f);
            }
            1.0 - (-t * t).exp() / std::f64::consts::PI.sqrt() / (t + f)
        };
        v.copysign(x)
    }
}
