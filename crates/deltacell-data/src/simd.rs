//! Run-time selection of instruction sets for the pixel kernels.
//!
//! The build targets plain x86-64 (SSE2). The hot loops are written so that the compiler
//! vectorises them, and [`multiversion!`] compiles such a function a second time with AVX2
//! enabled and calls that copy when the CPU has AVX2. Rust never fuses a multiply and an add on
//! its own (no FMA contraction without fast-math), so both copies round identically and results
//! do not depend on the machine.

/// Defines a function whose body is compiled twice, for the baseline target and with AVX2, and
/// that runs the AVX2 copy when the CPU supports it (checked at run time, cached by std).
macro_rules! multiversion {
    ($(#[$meta:meta])* $vis:vis fn $name:ident($($arg:ident : $ty:ty),* $(,)?) $(-> $ret:ty)? $body:block) => {
        $(#[$meta])*
        $vis fn $name($($arg: $ty),*) $(-> $ret)? {
            #[inline(always)]
            fn imp($($arg: $ty),*) $(-> $ret)? $body
            #[cfg(target_arch = "x86_64")]
            {
                #[target_feature(enable = "avx2")]
                unsafe fn avx2($($arg: $ty),*) $(-> $ret)? {
                    imp($($arg),*)
                }
                if std::arch::is_x86_feature_detected!("avx2") {
                    // SAFETY: the CPU supports AVX2 (checked just above).
                    return unsafe { avx2($($arg),*) };
                }
            }
            imp($($arg),*)
        }
    };
}

pub(crate) use multiversion;
