//! `deltacell info`.

use std::process::ExitCode;

/// Prints the version.
pub fn run() -> anyhow::Result<ExitCode> {
    println!("deltacell {}", env!("CARGO_PKG_VERSION"));
    Ok(ExitCode::SUCCESS)
}
