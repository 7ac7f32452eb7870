//! One module per subcommand: each parses nothing itself and calls one library function.

pub mod batches;
pub mod info;
