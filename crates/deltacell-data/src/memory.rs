//! Memory a run would need, checked before anything is allocated.
//!
//! A `target_size` of 100000 or a synthetic set of a billion images does not end in an
//! allocation abort or the out-of-memory killer: the commands estimate what they will allocate
//! and refuse with [`Error::TooLarge`], which states the need and what the machine has.

pub use crate::error::human_bytes;
use crate::error::{Error, Result};

/// Bytes of memory available to a new allocation: `MemAvailable` of `/proc/meminfo` on Linux,
/// `None` where it cannot be read (then nothing is refused on the machine's account, only
/// sizes that cannot be addressed at all).
pub fn available() -> Option<u64> {
    let text = std::fs::read_to_string("/proc/meminfo").ok()?;
    let line = text.lines().find(|l| l.starts_with("MemAvailable:"))?;
    let kib: u64 = line
        .trim_start_matches("MemAvailable:")
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse()
        .ok()?;
    Some(kib.saturating_mul(1024))
}

/// Refuses a run that would allocate `needed` bytes when the machine has less available
/// ([`available`]), or more than the address space can hold. `what` describes the allocation
/// and `advice` says what to change (e.g. "lower --batch-size or target_size").
///
/// ```
/// use deltacell_data::memory::ensure_fits;
/// assert!(ensure_fits(1024, "a small batch", "").is_ok());
/// let err = ensure_fits(u64::MAX, "a batch of 100000×100000 images", "lower target_size");
/// assert!(err.unwrap_err().to_string().contains("lower target_size"));
/// ```
pub fn ensure_fits(needed: u64, what: &str, advice: &str) -> Result<()> {
    let limit = available().unwrap_or(isize::MAX as u64);
    if needed > limit.min(isize::MAX as u64) {
        return Err(Error::TooLarge {
            what: what.to_string(),
            needed,
            available: limit,
            advice: advice.to_string(),
        });
    }
    Ok(())
}

/// `a × b × …` in bytes, saturating (a product that overflows is "too large" anyway).
///
/// ```
/// assert_eq!(deltacell_data::memory::product(&[8, 256, 32, 4]), 262_144);
/// assert_eq!(deltacell_data::memory::product(&[u64::MAX, 2]), u64::MAX);
/// ```
pub fn product(factors: &[u64]) -> u64 {
    factors.iter().fold(1u64, |acc, &f| acc.saturating_mul(f))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn this_machine_reports_its_memory() {
        if cfg!(target_os = "linux") {
            let a = available().expect("MemAvailable");
            assert!(a > 1 << 20);
            let err = ensure_fits(a.saturating_mul(4), "x", "y").unwrap_err();
            assert!(matches!(err, Error::TooLarge { .. }));
        }
    }
}
