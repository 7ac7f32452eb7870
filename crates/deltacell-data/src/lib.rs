//! # deltacell-data
//!
//! The data side of deltacell, a Rust re-implementation of the training side of DeLTA (Deep
//! Learning for Time-lapse Analysis). No deep-learning dependency: everything here works on plain
//! `f32`/`u8` rasters and contiguous batches.
//!
//! ## Data flows one way
//! ```text
//! files ──io──▶ Image / Mask / Labels ──weights──▶ WeightMap
//!                      │                               │
//!                      └──────────augment◀─────────────┘   (one Sample, typed targets)
//!                                    │
//!                                dataset  ──▶ Batch (contiguous f32, N×H×W×C)
//!                                    │
//!                  (deltacell-nn: model, train, infer)
//!                                    │
//! predict (tiles, stitch, compile tracking inputs) ─▶ postprocess ─▶ io (save)
//!                                    │
//!                                  metrics ─▶ report (HTML + overlays)
//! ```
//!
//! Conventions: coordinates are `(row, col)` = `(y, x)`, sizes are `(height, width)`; every file
//! write is atomic (temporary file + rename); randomness derives from one seed per run.

pub mod augment;
pub mod dataset;
pub mod error;
pub mod image;
pub mod io;
pub mod layout;
pub mod metrics;
pub mod morphology;
pub mod names;
pub mod postprocess;
pub mod predict;
pub mod random;
pub mod report;
pub mod synth;
pub mod tiles;
pub mod weights;

pub use error::{Error, Result};
pub use image::{Image, Labels, Mask, Plane, WeightMap};
