//! # deltacell-assets
//!
//! DeLTA's released training sets, models and demo movies (DeLTA: `delta.assets`), downloaded
//! over HTTPS, verified by SHA-256 and unpacked into a cache folder that never holds a partial
//! copy that looks complete.
//!
//! ## Data flow
//! ```text
//! assets.toml (built in) ─┐
//! DELTACELL_REGISTRY ─────┼─ Registry::load ─▶ Registry ─get(name)─▶ Asset
//! --registry FILE ────────┘                                            │
//!                                                                      ▼
//! Cache::from_env / Cache::new(dir) ─────────────────────────▶ fetch(&asset, &cache, progress)
//!     │ cached, complete, valid? ── yes ──▶ Fetched { path, … }  (no network)
//!     └ no ─▶ GET url ─▶ <cache>/.NAME.*.part  (SHA-256 while streaming, byte count checked)
//!                 ─▶ checksum == registry? ─▶ unzip into <cache>/.NAME.*.unpack/
//!                 ─▶ write .deltacell-asset.json ─▶ rename to <cache>/NAME ─▶ Fetched
//! ```
//!
//! ```no_run
//! use deltacell_assets::{fetch, Cache, Registry};
//! let registry = Registry::builtin()?;
//! let asset = registry.get("mothermachine_training_segmentation")?;
//! let cache = Cache::from_env()?;
//! let got = fetch(asset, &cache, &mut |done, total| {
//!     eprintln!("{done} of {total:?} bytes");
//! })?;
//! println!("training set root: {}", got.path.display()); // …/train_multisets
//! # Ok::<(), deltacell_assets::Error>(())
//! ```
//!
//! Differences from DeLTA (which uses pooch): the registry is a TOML file that users extend
//! instead of Python code; the cache variable is `DELTACELL_CACHE` (DeLTA:
//! `DELTA_ASSETS_CACHE`); the zip is deleted once unpacked (pooch keeps both); each asset has
//! its own folder with a completion record listing every file with its size and SHA-256, so a
//! half-unpacked or damaged folder is detected and fetched again.

#![warn(missing_docs)]

pub mod cache;
mod download;
pub mod error;
mod fetch;
pub mod registry;
mod unpack;

pub use cache::{hash_file, Cache, Check, FileRecord, Record, Status, CACHE_ENV, RECORD_FILE};
pub use download::Timeouts;
pub use error::{Error, Result};
pub use fetch::{fetch, fetch_with, verify_cached, FetchOptions, Fetched, LEFTOVER_AGE};
pub use registry::{Asset, Format, Kind, Origin, Registry, BUILTIN_TOML, REGISTRY_ENV};
