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
//! | [`contour`] | cell contours (OpenCV's border following), their area and length | `cv2.findContours`, `contourArea`, `arcLength` |
//! | [`ctc`] | a ROI's lineage and labels to and from a Cell Tracking Challenge folder | — |
//! | [`ctc_results`] | results files to CTC folders and back (the position's layout kept beside the folders) | — |
//! | [`features`] | per-cell features: poles, length, width, area, perimeter, edges, fluorescence, growth rates | `utils.roi_features`, `Lineage.compute_growthrates` |
//! | [`lineage_eval`] | CTC DET, SEG, TRA, LNK, complete tracks, division scores | — |
//! | [`lineage_pictures`] | lineage trees, kymographs and results-movie frames at the errors for reports | — |
//! | [`movie`] | movie input: `{p}`/`{c}`/`{t}` templates, multi-page TIFF, folder of frames | `utils.XPReader` |
//! | [`rotation`] | rotation correction: the chambers' angle (Canny, Hough) and the rotation of frames | `imgops.deskew`, `imgops.rotate` |
//! | [`drift`] | drift correction: the template above the chambers, its match in each frame, the shift | `imgops.drift_template`, `compute_drift`, `correct_drift` |
//! | [`chambers`] | the chambers' boxes from the ROI model's prediction on the reference frame | `Position.find_roi_boxes` |
//! | [`results`] | a position's results and their file, `PositionNNNNNN.nc` (netCDF, format 0.1.0) | `Position.to_netcdf`, `load_netcdf` |
//! | [`results_movie`] | the results movie: contours, poles, divisions and cell ids over the frames, as MP4 (through `ffmpeg`) or animated PNG | `Position.results_movie`, `utils.write_video` |
//! | [`table`] | the tidy per-cell, per-frame CSV table | — |
//! | [`labels`] | label images as OpenCV draws them: filled contours, contour-based label resizing, cell order | `imgops.resize_labels`, `cv2.drawContours`, `utils.cells_in_frame` |
//! | [`tracking`] | [`tracking::RoiTracker`]: a ROI tracked frame by frame (model inputs, attributions, divisions, poles, features, labels) | `ROI.track`, `get_tracking_inputs`, `process_tracking_outputs`, `utils.attributions` |
//! | [`training_sets`] | segmentation, tracking and chamber training sets from results (retraining on corrected results) | — |
//! | [`config`] | DeLTA 3's analysis configuration: presets, TOML files, `-C key=value` | `delta.config.Config` |
//! | [`models`] | the pipeline's networks, from run folders or Keras files | `ModelConfig.model()` |
//! | [`pipeline`] | one position analysed frame by frame: every step above, in DeLTA's order | `Position.preprocess`, `segment`, `track` |
//! | [`outputs`] | a position's files: results, table, full-frame labels, lineage picture | `Position.save`, `Position.labels` |
//! | [`run`] | a run over a movie into a results folder: checks first, then one position at a time | `Pipeline.process` |
//! | [`fingerprint`] | what a position's results were made from (inputs, models, configuration), so that a re-submitted run skips finished positions and refuses changed ones | — |
//! | [`shard`] | a run's positions split between processes (`--shard I/N`, Slurm arrays) | — |
//! | [`merge`] | the positions of sharded runs into one experiment: checks, index, experiment-wide table | — |
//! | [`demo`] | the demo's lineage stage: trained models run on synthetic movies, scored against their truth | — |

pub mod chambers;
pub mod config;
pub mod contour;
pub mod ctc;
pub mod ctc_results;
pub mod demo;
pub mod drift;
pub mod error;
pub mod features;
pub mod fingerprint;
pub mod labels;
pub mod lineage;
pub mod lineage_eval;
pub mod lineage_pictures;
pub mod merge;
pub mod models;
pub mod movie;
pub mod outputs;
pub mod pipeline;
pub mod results;
pub mod results_movie;
pub mod results_writer;
pub mod resume;
pub mod rotation;
pub mod run;
pub mod shard;
pub mod table;
pub mod tracking;
pub mod training_sets;

pub use error::{Error, Result};
pub use lineage::{Cell, CellId, Lineage};
