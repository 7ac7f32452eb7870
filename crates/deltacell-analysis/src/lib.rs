//! # deltacell-analysis
//!
//! A movie in, lineages and per-cell measurements out: DeLTA's analysis pipeline (`delta run`),
//! built on `deltacell-data` (images, post-processing) and `deltacell-nn` (the U-Nets).
//!
//! ```text
//! movie frames ──▶ rotation, chambers (ROIs), drift ──▶ segmentation ──▶ tracking
//!                                                                           │
//!                     outputs (netCDF, labels, table, pictures) ◀── features ◀── lineage
//! ```
//!
//! The vocabulary, shared by every module: a *position* is one field of view of the movie; a
//! *ROI* is one chamber of a mother-machine position, or the whole frame of a 2-D movie; a
//! *frame* is an index into a ROI's stack (0-based here, with the movie's own frame numbers kept
//! beside it); a *cell* is one tracked bacterium with a persistent id (from 1), as in DeLTA.
//!
//! | module | what | DeLTA 3 |
//! |---|---|---|
//! | [`lineage`] | [`Lineage`]: cells, mothers, divisions, first and last frames | `delta.lineage.Lineage` |
//! | [`ctc`] | a ROI's lineage and labels to and from a Cell Tracking Challenge folder | — |
//! | [`lineage_eval`] | CTC DET, SEG, TRA, LNK, complete tracks, division scores | — |
//! | [`lineage_pictures`] | lineage trees and kymographs for reports | — |
//! | [`results`] | a position's results and their file, `PositionNNNNNN.nc` (netCDF, format 0.1.0) | `Position.to_netcdf`, `load_netcdf` |

pub mod ctc;
pub mod error;
pub mod lineage;
pub mod lineage_eval;
pub mod lineage_pictures;
pub mod results;

pub use error::{Error, Result};
pub use lineage::{Cell, CellId, Lineage};
