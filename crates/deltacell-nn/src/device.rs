//! Choosing the compute device: `cpu` (burn's `flex` backend) or `cuda:N` (feature `cuda`).

use crate::error::{Error, Result};
use burn::tensor::Device;

/// The CPU device: burn's pure-Rust `flex` backend (threads from rayon, `RAYON_NUM_THREADS`).
pub fn cpu() -> Device {
    Device::flex()
}

/// Parses a device name: `cpu`, or `cuda` / `cuda:N` when built with the `cuda` feature.
pub fn parse(name: &str) -> Result<Device> {
    let name = name.trim();
    if name.eq_ignore_ascii_case("cpu") || name.eq_ignore_ascii_case("flex") {
        return Ok(cpu());
    }
    if let Some(rest) = name.strip_prefix("cuda") {
        let index = match rest.strip_prefix(':') {
            Some(i) => i
                .parse::<usize>()
                .map_err(|_| unknown(name, "bad GPU index"))?,
            None if rest.is_empty() => 0,
            None => return Err(unknown(name, "unknown device (expected cpu or cuda:N)")),
        };
        return cuda(index, name);
    }
    Err(unknown(name, "unknown device (expected cpu or cuda:N)"))
}

fn unknown(name: &str, problem: &'static str) -> Error {
    Error::UnknownDevice {
        name: name.to_string(),
        problem,
    }
}

#[cfg(feature = "cuda")]
fn cuda(index: usize, _name: &str) -> Result<Device> {
    Ok(Device::cuda(index))
}

#[cfg(not(feature = "cuda"))]
fn cuda(_index: usize, name: &str) -> Result<Device> {
    Err(unknown(
        name,
        "this build has no CUDA support (rebuild with the `cuda` feature)",
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_names() {
        assert!(parse("cpu").is_ok());
        assert!(parse("gpu").is_err());
        assert!(parse("cuda:x").is_err());
        #[cfg(not(feature = "cuda"))]
        assert!(parse("cuda:0").is_err());
    }
}
