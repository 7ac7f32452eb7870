//! # deltacell-nn
//!
//! DeLTA's three U-Nets (`unet_seg`, `unet_track`, `unet_rois`), their losses, a training loop
//! and inference, on [burn](https://burn.dev) 0.22.
//!
//! * [`unet`]: the architecture ([`UnetSpec`] → [`Unet`]), He-normal initialisation, parameter
//!   counts identical to DeLTA's.
//! * [`loss`]: the stacked pixel-wise weighted binary cross-entropies (segmentation and tracking
//!   variants), plain BCE for the chamber model, and `unstack_acc`, all from logits.
//! * [`config`]: TOML training configuration with DeLTA's keys and the `mothermachine` / `2D`
//!   presets.
//! * [`train`]: a [`Trainer`] (model + Adam) stepping on [`Batch`]es, and [`fit`] (epochs,
//!   early stopping, history, curves, checkpoints).
//! * [`run_dir`]: the RUN_DIR layout (best model, checkpoint, `history.csv`, `curves.png`), all
//!   writes atomic.
//! * [`infer`]: load a RUN_DIR and predict.
//! * [`keras`]: import DeLTA's Keras models (`.hdf5`, `.keras`) into a RUN_DIR.
//!
//! Tensors are channels-first (`N×C×H×W`) inside the network; the data crate's [`Batch`] is
//! channels-last and is permuted once on the way in ([`batch_tensors`]).
//!
//! Performance (2-core AMD EPYC, dev profile, shared machine): matrix multiplication (`gemm`
//! f32 FMA micro-kernels, behind burn-flex's im2col convolutions) takes about two thirds of a
//! training step; see `benches/train_step.rs`. burn's `x86-v4` feature (AVX-512 matmul) is not
//! enabled.
//!
//! Devices: the CPU backend is burn's pure-Rust `flex` backend ([`device::cpu`]); CUDA is
//! available with the `cuda` cargo feature ([`device::parse`] accepts `cpu` and `cuda:N`).

pub mod config;
pub mod data;
pub mod device;
mod error;
pub mod history;
pub mod infer;
pub mod keras;
pub mod loss;
pub mod run_dir;
pub mod train;
pub mod unet;

pub use deltacell_data::dataset::Batch;
pub use error::{Error, Result};
pub use train::{batch_tensors, fit, FitOptions, StepStats, Trainer};
pub use unet::{ModelKind, Unet, UnetSpec};
