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
//! # deltacell-data
//!
//! The data side of deltacell, a Rust re-implementation of the training side of DeLTA (Deep
//! Learning for Time-lapse Analysis): DeLTA's `delta.data` module and the image helpers it uses.
//! No deep-learning dependency: everything here works on plain `f32`/`u8` rasters and
//! contiguous batches, and the map above is the whole story. Data flows one way: `io` knows
//! nothing of weights, `weights` nothing of datasets, and nothing here knows of burn; the
//! `deltacell-nn` crate takes a [`Batch`] and gives back network outputs as `f32`
//! buffers.
//!
//! # Modules, with their DeLTA counterparts
//!
//! | module | what | DeLTA |
//! |---|---|---|
//! | [`image`] | typed rasters [`Image`] (`f32` in [0, 1]), [`Mask`] (0/1), [`Labels`], [`WeightMap`] | numpy arrays |
//! | [`io`] | PNG/TIFF reading (scaled by the type's maximum or min–max) and atomic writing | `readreshape`, `cv2.imread` |
//! | [`names`] | file-name prototypes `Position%06d_Chamber%06d_Frame%06d[Cell%06d]` | `getfnfromprototype`, `path_from_prototype` |
//! | [`kind`] | [`Kind`]: seg, track or rois, one word for sets, datasets and models | `unet_seg`/`unet_track`/`unet_rois`, the `-m` of `delta train` |
//! | [`layout`] | training-set folders and matching by stem | the folder conventions of the training sets |
//! | [`check`] | decode and check a whole set before training ([`check::check`], strict [`layout::TrainingSet::open`]) | – |
//! | [`weights`] | weight maps | `seg_weights`, `seg_weights_2D`, `tracking_weights`, `make_weights` |
//! | [`augment`] | every augmentation operation, DeLTA's keys ([`augment::AugmentParams`]) | `data_augmentation` |
//! | [`batch`] | [`Batch`]: contiguous channels-last `f32` samples, the hand-over to the network | the numpy arrays of a batch |
//! | [`dataset`] | datasets, the prefetching [`dataset::Loader`] | `load_training_dataset_seg`, `train_generator_track` |
//! | [`predict`] | network inputs for prediction, undoing the fit, saving outputs | `predict_generator_seg`, `predict_compile_from_seg_track`, `save_result_*` |
//! | [`tiles`] | crop boxes, overlapping windows and stitching | `create_windows`, `stitch_pic` |
//! | [`postprocess`] | thresholding, opening, small-object removal, `label_seg` | `postprocess`, `binarizerange`, `label_seg` |
//! | [`metrics`] | segmentation and tracking scores against ground truth | evaluation scripts |
//! | [`synth`] | built-in synthetic training sets and movies with ground truth | – |
//! | [`report`] | pictures: grey/heat maps, outlines, grids, overlays, HTML | – |
//! | [`morphology`], [`random`] | labelling, distance transforms, skeletons; seeded random streams | scikit-image, OpenCV |
//!
//! # Writing your own training script
//!
//! DeLTA's page "Training models: advanced" has its deltacell counterpart in
//! `docs/training-advanced.md`; the example scripts in `crates/deltacell-nn/examples/`
//! (`train_seg`, `train_track`, `train_rois`, `eval_seg`, `eval_track`) use this crate with
//! `deltacell-nn`, and `cargo test -p deltacell-nn --test examples` runs them all. The guide's
//! pictures come from this crate's `examples/guide_pictures.rs`.
//!
//! Conventions: coordinates are `(row, col)` = `(y, x)`, sizes are `(height, width)`; every file
//! write is atomic (temporary file + rename); randomness derives from one seed per run
//! ([`random::stream`]`(seed, epoch, sample)`), so results never depend on the thread count.

#![warn(missing_docs)]

pub mod augment;
pub mod batch;
pub mod check;
pub mod dataset;
pub mod error;
pub mod image;
pub mod io;
pub mod kind;
pub mod layout;
pub mod memory;
pub mod metrics;
pub mod morphology;
pub mod names;
pub mod output;
pub mod postprocess;
pub mod predict;
pub mod random;
pub mod report;
mod simd;
pub mod synth;
pub mod tiles;
pub mod wei;
pub mod weights;

pub use batch::{Batch, SampleLayout};
pub use error::{Error, Result};
pub use image::{Image, Labels, Mask, Plane, WeightMap};
pub use kind::Kind;
