//! One module per subcommand: each parses nothing itself and calls one library function.

pub mod config;
pub mod info;
pub mod train;
