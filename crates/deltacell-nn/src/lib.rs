//! ```text
//! files ──io──▶ Image / Mask / Labels ──weights──▶ WeightMap
//!                      │                               │
//!                      └──────────augment◀─────────────┘   (one Sample, typed targets)
//!                                    │
//!                                dataset  ──▶ Batch (contiguous f32, N×H×W×C)
//!                                    │
//!                   deltacell-nn: model ◀─ train ─▶ RunDir (model.safetensors, model.toml,
//!                                    │                       history.csv, curves.png)
//!                                infer
//!                                    │
//! deltacell-data: predict (tiles, stitch, compile tracking inputs) ─▶ postprocess ─▶ io (save)
//!                                    │
//!                                  metrics ─▶ report (HTML + overlays)
//! ```
//!
//! # deltacell-nn
//!
//! DeLTA's three U-Nets (`unet_seg`, `unet_track`, `unet_rois`), their losses, a training loop
//! and inference, on [burn](https://burn.dev) 0.22: the `model`, `train` and `infer` boxes of
//! the map above. Batches come from `deltacell-data` ([`Batch`], channels-last `f32`); outputs go
//! back to it as `f32` buffers for [`deltacell_data::predict`] and
//! [`deltacell_data::postprocess`].
//!
//! | module | what | DeLTA |
//! |---|---|---|
//! | [`unet`] | the architecture ([`UnetSpec`] → [`Unet`]), He-normal initialisation, parameter counts identical to DeLTA's | `unet`, `unet_seg`, `unet_track`, `unet_rois` |
//! | [`loss`] | stacked pixel-wise weighted BCE (segmentation and tracking variants), plain BCE, `unstack_acc`, all from logits | `pixelwise_weighted_binary_crossentropy_*`, `unstack_acc` |
//! | [`config`] | TOML training configuration with DeLTA's keys, the `mothermachine` / `2D` presets | `delta.config`, `config_*.json` |
//! | [`data`] | a training-set folder + [`config::Config`] → training and validation batch sources | the data feeds of `delta train` |
//! | [`train`] | [`Trainer`] (model + Adam) stepping on [`Batch`]es; [`fit`] (epochs, validation, early stopping, checkpoints) with a callback that sees every [`Event`] and may [`Control::Stop`] | `model.fit` with `ModelCheckpoint`, `EarlyStopping` |
//! | [`session`] | [`session::Session`]: a training job (new, resumed or fine-tuned; overrides, memory and compatibility checks, the built-in synthetic data) as `deltacell train`, the demo, the examples and the Python package run it | `delta train` |
//! | [`demo`] | the whole loop on synthetic data (synthesise, train, predict, evaluate, report) as `deltacell demo` runs it | – |
//! | [`run_dir`] | the RUN_DIR layout (best model, `model.toml`, checkpoint, `history.csv`, `curves.png`), atomic writes | the `.hdf5` model file |
//! | [`history`] | per-epoch records, CSV, curves | Keras' `History` |
//! | [`infer`] | [`infer::Predictor`]: load a RUN_DIR, predict logits or probabilities | `model.predict` |
//! | [`keras`] | import DeLTA's Keras models (`.hdf5`, `.keras`) into a RUN_DIR, export a RUN_DIR's model back to them | `load_weights`, `model.save` |
//! | [`device`] | the CPU backend (burn's `flex`), `cuda:N` with the `cuda` feature | – |
//!
//! # Writing your own training script
//!
//! Three ways to train, all on the same public pieces:
//! * the job `deltacell train` runs: a [`session::Session`] (a configuration, overrides, a
//!   training set and a run folder; new, resumed or fine-tuned), `Session::open(options)?.run(
//!   callback)` (example `train_seg`);
//! * one call: [`fit`]`(&mut trainer, train_source, val_source, &options, callback)`, where the
//!   sources are closures `(epoch, step) -> Batch` (e.g. a [`deltacell_data::dataset::Loader`]'s
//!   `next_batch`) and the callback logs and may stop (example `train_rois`);
//! * step by step: [`Trainer::step`] on any batch, [`Trainer::evaluate`] on held-out ones,
//!   [`run_dir::RunDir::save_best`] to save (example `train_track`).
//!
//! Then [`infer::Predictor`] predicts with the saved model (examples `eval_seg`, `eval_track`).
//! The examples live in `crates/deltacell-nn/examples/`, run with
//! `cargo run --release -p deltacell-nn --example train_seg`, and are tested by
//! `tests/examples.rs`; `docs/training-advanced.md` walks through them.
//!
//! Tensors are channels-first (`N×C×H×W`) inside the network; the data crate's [`Batch`] is
//! channels-last and is permuted once on the way in ([`batch_tensors`]).
//!
//! Performance: on the CPU the U-Net's convolutions run on this crate's own kernels
//! (`conv`: Winograd F(4×4, 3×3) — F(2×2, 3×3) on the smallest planes — for the 3×3 layers,
//! bias and ReLU fused, the decoder's upsampling fused into its 2×2 convolution and computed
//! with 4 multiplications per input pixel instead of 16, its concatenation fused into the next
//! convolution, max-pooling without index tensors, hand-written backward, matrix-product
//! micro-kernels for AVX-512, AVX2/FMA and plain Rust chosen at run time) instead of
//! burn-flex's, and Adam's update is one fused pass per parameter ([`adam`]). `benches/train_step.rs` measures a training step and an inference against
//! TF/Keras (DeLTA's own `unet_seg`) in the same run; the README has the table and the machine.
//!
//! Reproducibility: on the CPU, training is bit-reproducible for a given seed, thread count,
//! instruction set of the kernels and build (same batches, options and binary): the weights,
//! `model.safetensors` (byte for byte, [`run_dir::model_bytes`] writes a canonical header),
//! `model.toml` and the losses of `history.csv` are equal from run to run at any size, and a run
//! resumed from any checkpoint gives those of the uninterrupted run ([`train`], "Resuming and
//! reproducibility"). Every sum of the convolution kernels, the losses ([`loss::sum_all`]) and
//! Adam runs in an order fixed by the shapes and the thread count, whichever thread runs which
//! task (`tests/reproducibility.rs` checks it at full size). Across thread counts or
//! instruction sets the weights are not bit-identical: the kernels cut their sums by the thread
//! count, and each instruction set has its own micro-kernels, so the rounding differs (the
//! README gives the size of the differences). The data never depends on threads.
//!
//! Devices: the CPU backend is burn's pure-Rust `flex` backend ([`device::cpu`]); CUDA is
//! available with the `cuda` cargo feature ([`device::parse`] accepts `cpu` and `cuda:N`).

#![warn(missing_docs)]

pub mod adam;
pub mod builtin;
pub mod config;
#[cfg(feature = "bench-internals")]
pub mod conv;
// Without the feature, the items only the bench and the tests call (the peak measurements,
// the switches between kernels and instruction sets) are unused.
#[cfg(not(feature = "bench-internals"))]
#[allow(dead_code, unused_imports)]
pub(crate) mod conv;
pub mod data;
pub mod demo;
pub mod device;
mod error;
pub mod history;
pub mod infer;
pub mod keras;
pub mod loss;
pub mod run_dir;
pub mod score;
pub mod session;
pub mod tensors;
pub mod train;
pub mod unet;

pub use deltacell_data::Batch;
pub use error::{Error, Mismatch, Result};
pub use train::{batch_tensors, fit, Control, Event, FitOptions, StepStats, StopReason, Trainer};
pub use unet::{Kind, Unet, UnetSpec};
