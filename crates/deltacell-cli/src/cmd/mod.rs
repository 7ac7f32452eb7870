//! One module per subcommand: each parses nothing itself and calls one library function.

pub mod assets;
pub mod augment;
pub mod batches;
pub mod check;
pub mod config;
pub mod demo;
pub mod eval;
pub mod eval_lineage;
pub mod export_ctc;
pub mod export_keras;
pub mod features;
pub mod import_ctc;
pub mod import_keras;
pub mod info;
pub mod merge;
pub mod predict;
pub mod run;
pub mod synth;
pub mod train;
pub mod training_set;
pub mod weights;
