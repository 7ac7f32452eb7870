//! Tracking one ROI frame by frame, as DeLTA 3.0.0a6's pipeline does (`ROI.track`,
//! `get_tracking_inputs`, `process_tracking_outputs`): the tracking U-Net's inputs for each
//! cell of the previous frame, then from its outputs the scores, the attributions, the
//! divisions and new cells, the lineage, the poles, the per-cell features and the frame's
//! label image.
//!
//! The model is not called here: [`RoiTracker::inputs`] gives the frame's [`TrackingInputs`],
//! whose samples come as [`Batch`]es of any size ([`TrackingInputs::batch`]); the caller runs
//! the tracking model on them (DeLTA 3's models output logits) and gives the output planes back,
//! all at once to [`RoiTracker::apply`], or chunk by chunk to [`TrackingInputs::add_outputs`]
//! and then [`RoiTracker::apply_scored`]. Frames come one after the other, from the ROI's
//! first:
//!
//! ```text
//! for each frame: inputs = tracker.inputs(img, seg)
//!                 for each chunk: logits = model(inputs.batch(chunk)); inputs.add_outputs(chunk.start, logits)
//!                 frame = tracker.apply_scored(inputs, fluo)      → labels, cleaned seg
//! tracker.finish()                                                → lineage, features
//! ```
//!
//! # DeLTA's two modes
//!
//! Chosen per ROI by the models' `resizing_tolerable(box shape)` ([`ModelFit`]):
//!
//! * **resized** (mother machine: a 210 × 24 chamber and 256 × 32 models): the segmentation is
//!   at the model's size; the images are resized to it (bilinear, `deltacell_data`'s
//!   `resize_image`: within 1.2e-7 of OpenCV's on DeLTA's chambers); every sample covers the
//!   whole chamber. The labels are brought back to the chamber's size by DeLTA's contour-based
//!   [`resize_labels`]; a cell that vanishes in that resizing (covered by a neighbour) is
//!   removed from the segmentation (DeLTA's warning "segmented cells disappeared during
//!   resizing") and the returned [`TrackedFrame::seg`] is that cleaned mask, which DeLTA stores
//!   and uses as the next frame's previous segmentation. Poles are found on the small labels
//!   and multiplied by `scaling = (box − 1) / (target − 1)` (per axis, rounded half to even);
//!   the other features are measured on the resized labels.
//! * **cropped** (2-D: a 520 × 696 frame and 256 × 256 tracking samples): everything is at the
//!   ROI's size and each sample is a box of the model's size centred on the previous cell's
//!   centroid (OpenCV's contour moments, truncated; the box may extend outside the ROI, which is
//!   padded with zeros). `scaling` is 1.
//!
//! # A sample (channel order, as DeLTA's)
//!
//! 0. the current image;
//! 1. the seed: the previous cell, filled (1) on zeros;
//! 2. the previous image (the current one at the first frame);
//! 3. the current segmentation (0/1).
//!
//! # From outputs to cells
//!
//! * **scores**: for previous cell `o` and current cell `n` (numbered by DeLTA's `label_seg`:
//!   by lowest point), the fraction of `n`'s pixels where output `o` (placed back by its box)
//!   is above `logit(0.05)`.
//! * **attributions** (DeLTA's `attributions`): each current cell, in order, goes to the
//!   previous cell with the best score for it (at least 0.2) among those for which it is one of
//!   their two best current cells. Ties: the lower index first, on every machine. DeLTA's
//!   order among equal scores is whatever NumPy's `argsort` and `argpartition` leave, and that
//!   depends on the CPU: on x86 NumPy dispatches to vectorised (AVX-512, AVX2) code whose ties
//!   fall differently from its portable code (docs/analysing-a-movie.md).
//! * previous cells are taken in the order of DeLTA's `cells_in_frame` on the previous
//!   frame's *label image* (first pixel in a raster scan), and matched to the samples, which
//!   follow `cells_in_frame` on the previous *segmentation*, one to one, as DeLTA does.
//! * a previous cell with one current cell continues in it (poles oriented by
//!   [`track_poles`]); with two, it divides ([`division_poles`]: the cell whose old pole
//!   follows the previous old pole is the mother, which keeps the id; the other is a new cell,
//!   her daughter); with none, it ends. A current cell attributed to no previous cell is a new
//!   orphan cell whose old pole is the one with the smaller row (DeLTA swaps the poles when
//!   `old[0] ≥ new[0]`). New ids are `max + 1`, daughters first (in previous-cell order), then
//!   orphans (in current-cell order).
//!
//! # Where this differs from DeLTA 3.0.0a6
//!
//! * When cells vanish in the resizing, DeLTA renumbers the small labels but measures the
//!   features on the resized labels of the old numbering, which can give a cell another cell's
//!   poles (or stop on a `KeyError`); here the resized labels are remade from the renumbered
//!   ones.
//! * DeLTA divides the scores by `np.unique(labels, return_counts=True)[1][1:]`, which is off
//!   by one when no background pixel is left; here each cell's own pixel count is used.
//!
//! Growth rates are left NaN: the pipeline computes them over the whole lineage afterwards
//! ([`crate::features::growth_rates`]).

use std::collections::BTreeMap;

use deltacell_data::augment::resize::resize_image;
use deltacell_data::postprocess::label_seg;
use deltacell_data::tiles::CroppingBox;
use deltacell_data::{Batch, Image, Mask, Plane};

use crate::contour::{arc_length, contour_area, Point};
use crate::error::{Error, Result};
use crate::features::{division_poles, find_poles, track_poles, FrameMaps};
use crate::labels::{cell_contours, cells_in_frame, fill_contour, resize_labels};
use crate::lineage::{CellId, Lineage};
use crate::results::{CellFeatures, Edges, Pole};

/// DeLTA's attribution threshold on tracking scores (`attributions`): a current cell goes to a
/// previous cell only if at least this fraction of its pixels are in that cell's output.
pub const MIN_SCORE: f64 = 0.2;

/// DeLTA's threshold on a tracking output pixel, as a probability: an output pixel counts when
/// its logit is above `logit(0.05)`.
pub const PIXEL_PROBABILITY: f64 = 0.05;

/// A model's input size and DeLTA's `tolerable_resizing_factor` for it (`ModelConfig`).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ModelFit {
    /// The model's input size `(height, width)`, pixels.
    pub target_size: (usize, usize),
    /// DeLTA's `tolerable_resizing_factor`, > 0 (DeLTA's configurations use 1 for the
    /// segmentation and tracking models, 4 for the chambers'; a value ≤ 1 never resizes a ROI
    /// larger than the model).
    pub tolerable_resizing_factor: f64,
}

impl ModelFit {
    /// DeLTA's `resizing_tolerable(shape)`: whether a ROI of `shape` = `(height, width)` is
    /// resized whole to the model's size (`height / target_h < factor` and the same for the
    /// widths) rather than cut into tiles or crop boxes.
    ///
    /// ```
    /// use deltacell_analysis::tracking::ModelFit;
    /// let mm = ModelFit { target_size: (256, 32), tolerable_resizing_factor: 1.0 };
    /// assert!(mm.resizing_tolerable((210, 24)));
    /// assert!(!mm.resizing_tolerable((256, 24)));
    /// ```
    pub fn resizing_tolerable(&self, shape: (usize, usize)) -> bool {
        let (y, x) = (shape.0 as f64, shape.1 as f64);
        let (yt, xt) = (self.target_size.0 as f64, self.target_size.1 as f64);
        y / yt < self.tolerable_resizing_factor && x / xt < self.tolerable_resizing_factor
    }
}

/// The segmentation and tracking models' geometry, which decide a ROI's mode and scaling.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct TrackingParams {
    /// The segmentation model (decides `scaling`, as DeLTA's `ROI.__init__`).
    pub seg: ModelFit,
    /// The tracking model (decides resized or cropped tracking).
    pub track: ModelFit,
}

impl TrackingParams {
    /// DeLTA's mother-machine defaults: segmentation and tracking at 256 × 32, factor 1.
    pub fn mother_machine() -> Self {
        let fit = ModelFit {
            target_size: (256, 32),
            tolerable_resizing_factor: 1.0,
        };
        TrackingParams {
            seg: fit,
            track: fit,
        }
    }

    /// DeLTA's 2-D defaults: segmentation at 512 × 512, tracking at 256 × 256, factor 1.
    pub fn two_d() -> Self {
        TrackingParams {
            seg: ModelFit {
                target_size: (512, 512),
                tolerable_resizing_factor: 1.0,
            },
            track: ModelFit {
                target_size: (256, 256),
                tolerable_resizing_factor: 1.0,
            },
        }
    }
}

/// The tracking model's inputs for one frame of one ROI, made by [`RoiTracker::inputs`]: one
/// sample per cell of the previous frame, built on demand ([`TrackingInputs::batch`]) so that
/// a frame of a thousand cells needs one chunk of samples in memory at a time, not all of them
/// (DeLTA allocates them all, then predicts by chunks). The outputs are given back either all
/// at once ([`RoiTracker::apply`]) or chunk by chunk ([`TrackingInputs::add_outputs`], then
/// [`RoiTracker::apply_scored`]).
#[derive(Clone, Debug)]
pub struct TrackingInputs {
    roi: u32,
    frame: usize,
    target: (usize, usize),
    resized: bool,
    /// The previous frame's cells (contours in the segmentation's frame), in sample order.
    contours: Vec<Vec<Point>>,
    boxes: Vec<CroppingBox>,
    /// The current and previous images as the samples crop them (model size when resized).
    curr: Plane<f32>,
    previous: Plane<f32>,
    /// The current segmentation as given (channel 3), 0/1.
    seg_f: Plane<f32>,
    /// The current image at the ROI's size (the next frame's previous image).
    img: Plane<f32>,
    /// The current segmentation less the cells lost in resizing, its cells numbered by
    /// DeLTA's `label_seg`, the same cells at the ROI's size, and how many were lost.
    seg: Mask,
    labels: Plane<u16>,
    feature_labels: Plane<u16>,
    lost_cells: usize,
    /// Per sample: the output's hits per current cell (index = label), once given.
    hits: Vec<Option<Vec<usize>>>,
}

impl TrackingInputs {
    /// The frame index these inputs are for (0-based, into the ROI's stack).
    pub fn frame(&self) -> usize {
        self.frame
    }

    /// The number of samples: the cells of the previous frame (0 at the first frame or after
    /// an empty one).
    pub fn len(&self) -> usize {
        self.contours.len()
    }

    /// Whether there is no sample.
    pub fn is_empty(&self) -> bool {
        self.contours.is_empty()
    }

    /// The size `(height, width)` of a sample and of an output: the tracking model's.
    pub fn sample_shape(&self) -> (usize, usize) {
        self.target
    }

    /// Samples `range` (indices from 0, in the order of the previous frame's cells, by DeLTA's
    /// `cells_in_frame` on its segmentation), `n × height × width × 4` at the tracking model's
    /// size, channels in DeLTA's order (see the module docs); its `y` is empty. Errors when
    /// the range goes past [`TrackingInputs::len`].
    pub fn batch(&self, range: std::ops::Range<usize>) -> Result<Batch> {
        if range.start > range.end || range.end > self.len() {
            return Err(Error::TrackingCount {
                roi: self.roi,
                frame: self.frame,
                what: "end of the range of tracking samples asked for",
                expected: self.len(),
                found: range.end,
            });
        }
        let (th, tw) = self.target;
        let mut batch = Batch::zeros(range.len(), th, tw, 4, 0);
        for (slot, k) in range.enumerate() {
            let (contour, b) = (&self.contours[k], self.boxes[k]);
            let offset = if self.resized {
                (0, 0)
            } else {
                (-(b.xtl as i32), -(b.ytl as i32))
            };
            let mut seed = Plane::filled(th, tw, 0f32);
            fill_contour(&mut seed, contour, offset, 1.0);
            let planes = [
                b.crop(&self.curr),
                seed,
                b.crop(&self.previous),
                b.crop(&self.seg_f),
            ];
            let sample = &mut batch.x[slot * th * tw * 4..(slot + 1) * th * tw * 4];
            for (ch, plane) in planes.iter().enumerate() {
                for (i, &v) in plane.as_slice().iter().enumerate() {
                    sample[i * 4 + ch] = v;
                }
            }
        }
        Ok(batch)
    }

    /// All samples: `batch(0..len())`.
    pub fn all(&self) -> Batch {
        self.batch(0..self.len())
            .unwrap_or_else(|_| Batch::zeros(0, 0, 0, 4, 0))
    }

    /// Where each sample lies in the segmentation's frame (the whole model-size plane when the
    /// ROI is resized, a box centred on the previous cell when it is cropped).
    pub fn boxes(&self) -> &[CroppingBox] {
        &self.boxes
    }

    /// The current segmentation as DeLTA keeps it: the one given, less the cells that vanish
    /// when the labels are resized to the ROI's size (see [`TrackedFrame::seg`]).
    pub fn seg(&self) -> &Mask {
        &self.seg
    }

    /// Scores the tracking model's outputs for samples `first..first + logits.len()` (each at
    /// [`TrackingInputs::sample_shape`]); the rest of the frame is done by
    /// [`RoiTracker::apply_scored`] once every sample has its output. Errors, changing
    /// nothing, when an output has another shape or the range goes past the samples.
    ///
    /// ```
    /// use deltacell_analysis::tracking::{RoiTracker, TrackingParams};
    /// use deltacell_data::{Mask, Plane};
    ///
    /// // A 20 × 4 chamber tracked at 256 × 32 (resized): two cells that stay.
    /// let mut tracker = RoiTracker::new(0, (20, 4), TrackingParams::mother_machine());
    /// let seg = Mask::from_fn(256, 32, |r, c| (8..28).contains(&c) && (r % 128) < 100);
    /// let img = Plane::filled(20, 4, 0.5f32);
    /// for _ in 0..2 {
    ///     let mut inputs = tracker.inputs(&img, &seg)?;
    ///     for k in 0..inputs.len() {
    ///         let batch = inputs.batch(k..k + 1)?; // what the model would see
    ///         assert_eq!((batch.n, batch.height, batch.width, batch.in_channels), (1, 256, 32, 4));
    ///         // Sample k is the k-th cell from the top: it stays where it is.
    ///         let logits = Plane::from_fn(256, 32, |r, _| if r / 128 == k { 5.0 } else { -5.0 });
    ///         inputs.add_outputs(k, &[logits])?;
    ///     }
    ///     let frame = tracker.apply_scored(&inputs, &[])?;
    ///     assert_eq!(frame.labels.get(5, 2), 1);
    ///     assert_eq!(frame.labels.get(15, 2), 2);
    /// }
    /// assert_eq!(tracker.lineage().len(), 2);
    /// # Ok::<(), deltacell_analysis::Error>(())
    /// ```
    pub fn add_outputs(&mut self, first: usize, logits: &[Plane<f32>]) -> Result<()> {
        let hits = self.score_outputs(first, logits)?;
        for (k, h) in hits.into_iter().enumerate() {
            self.hits[first + k] = Some(h);
        }
        Ok(())
    }

    /// The hits of outputs `first..first + logits.len()` (see [`hits`]), checked.
    fn score_outputs(&self, first: usize, logits: &[Plane<f32>]) -> Result<Vec<Vec<usize>>> {
        if first + logits.len() > self.len() {
            return Err(Error::TrackingCount {
                roi: self.roi,
                frame: self.frame,
                what: "tracking outputs (first index + count) for the samples",
                expected: self.len(),
                found: first + logits.len(),
            });
        }
        for l in logits {
            if l.shape() != self.target {
                return Err(Error::TrackingShape {
                    roi: self.roi,
                    frame: self.frame,
                    what: "a tracking output",
                    expected: self.target,
                    found: l.shape(),
                });
            }
        }
        let n_new = cells_in_frame(&self.labels).len();
        Ok(logits
            .iter()
            .enumerate()
            .map(|(k, plane)| hits(&self.labels, n_new, plane, self.boxes[first + k]))
            .collect())
    }
}

/// What tracking one frame gives besides the lineage and features.
#[derive(Clone, Debug, PartialEq)]
pub struct TrackedFrame {
    /// The frame's labels at the ROI's size, values = cell ids (DeLTA's `label_stack`).
    pub labels: Plane<u16>,
    /// The frame's segmentation as DeLTA keeps it (`seg_stack`): the given one, less the cells
    /// that vanished when the labels were resized.
    pub seg: Mask,
    /// How many cells vanished in that resizing (0 in cropped mode).
    pub lost_cells: usize,
}

/// The previous frame, as the next one needs it.
#[derive(Clone, Debug)]
struct Previous {
    img: Plane<f32>,
    seg: Mask,
    labels: Plane<u16>,
}

/// Tracks the cells of one ROI frame after frame; see the module docs.
///
/// ```
/// use deltacell_analysis::tracking::{RoiTracker, TrackingParams, ModelFit};
/// use deltacell_data::{Mask, Plane};
///
/// // A 12 × 8 ROI tracked in 12 × 8 crop boxes: one cell that stays.
/// let fit = ModelFit { target_size: (12, 8), tolerable_resizing_factor: 1.0 };
/// let params = TrackingParams { seg: fit, track: ModelFit { target_size: (12, 8), tolerable_resizing_factor: 0.5 } };
/// let mut tracker = RoiTracker::new(0, (12, 8), params);
/// let seg = Mask::from_fn(12, 8, |r, c| (2..9).contains(&r) && (2..5).contains(&c));
/// let img = Plane::filled(12, 8, 0.5f32);
/// for _ in 0..2 {
///     let inputs = tracker.inputs(&img, &seg)?;
///     // A perfect model: the cell itself, in each sample's box.
///     let outputs: Vec<Plane<f32>> = inputs.boxes().iter().map(|b| {
///         let s = b.crop(&seg.to_f32());
///         s.map(|v| if v > 0.0 { 5.0 } else { -5.0 })
///     }).collect();
///     let frame = tracker.apply(&inputs, &outputs, &[])?;
///     assert_eq!(frame.labels.as_slice().iter().filter(|&&l| l == 1).count(), 21);
/// }
/// let (lineage, features) = tracker.finish();
/// assert_eq!(lineage.len(), 1);
/// assert_eq!(lineage.cell(1).unwrap().last_frame, 1);
/// assert_eq!(features[&1].len(), 2);
/// # Ok::<(), deltacell_analysis::Error>(())
/// ```
#[derive(Clone, Debug)]
pub struct RoiTracker {
    roi: u32,
    box_shape: (usize, usize),
    params: TrackingParams,
    resized: bool,
    scaling: [f64; 2],
    frame: usize,
    fluo_channels: Option<usize>,
    lineage: Lineage,
    features: BTreeMap<CellId, Vec<CellFeatures>>,
    prev: Option<Previous>,
}

impl RoiTracker {
    /// A tracker for ROI number `roi` (for error messages) of `box_shape` = `(height, width)`
    /// pixels. Resized or cropped tracking and `scaling` follow DeLTA's `ROI.__init__` and
    /// `track` (see the module docs).
    pub fn new(roi: u32, box_shape: (usize, usize), params: TrackingParams) -> Self {
        let scaling = if params.seg.resizing_tolerable(box_shape) {
            let s = |b: usize, t: usize| (b as f64 - 1.0) / (t as f64 - 1.0);
            [
                s(box_shape.0, params.seg.target_size.0),
                s(box_shape.1, params.seg.target_size.1),
            ]
        } else {
            [1.0, 1.0]
        };
        RoiTracker {
            roi,
            box_shape,
            params,
            resized: params.track.resizing_tolerable(box_shape),
            scaling,
            frame: 0,
            fluo_channels: None,
            lineage: Lineage::default(),
            features: BTreeMap::new(),
            prev: None,
        }
    }

    /// Whether the ROI is tracked resized to the model's size (else in crop boxes).
    pub fn resized(&self) -> bool {
        self.resized
    }

    /// DeLTA's `scaling` `[y, x]`: from the segmentation's pixels to the ROI's.
    pub fn scaling(&self) -> [f64; 2] {
        self.scaling
    }

    /// The shape `(height, width)` the segmentation must have: the tracking model's size when
    /// resized, the ROI's otherwise.
    pub fn seg_shape(&self) -> (usize, usize) {
        if self.resized {
            self.params.track.target_size
        } else {
            self.box_shape
        }
    }

    /// The index of the next frame to track (the number of frames tracked so far).
    pub fn frame(&self) -> usize {
        self.frame
    }

    /// The lineage so far.
    pub fn lineage(&self) -> &Lineage {
        &self.lineage
    }

    /// The features so far, per cell from its first frame (growth rates NaN).
    pub fn features(&self) -> &BTreeMap<CellId, Vec<CellFeatures>> {
        &self.features
    }

    fn shape_check(
        &self,
        what: &'static str,
        expected: (usize, usize),
        found: (usize, usize),
    ) -> Result<()> {
        if expected == found {
            Ok(())
        } else {
            Err(Error::TrackingShape {
                roi: self.roi,
                frame: self.frame,
                what,
                expected,
                found,
            })
        }
    }

    fn count_check(&self, what: &'static str, expected: usize, found: usize) -> Result<()> {
        if expected == found {
            Ok(())
        } else {
            Err(Error::TrackingCount {
                roi: self.roi,
                frame: self.frame,
                what,
                expected,
                found,
            })
        }
    }

    /// DeLTA's `get_tracking_inputs` for the next frame: `img` is the frame's image at the
    /// ROI's size (DeLTA's `img_stack`, normalised to `[0, 1]`), `seg` its segmentation at
    /// [`RoiTracker::seg_shape`] (nonzero = cell). Errors when a shape is wrong.
    pub fn inputs(&self, img: &Plane<f32>, seg: &Mask) -> Result<TrackingInputs> {
        self.shape_check("the image", self.box_shape, img.shape())?;
        self.shape_check("the segmentation", self.seg_shape(), seg.shape())?;
        let target = self.params.track.target_size;
        let (th, tw) = target;
        let contours: Vec<Vec<Point>> = match &self.prev {
            None => Vec::new(),
            Some(p) => {
                let labels = small_labels(&p.seg);
                cell_contours(&labels).into_iter().map(|(_, c)| c).collect()
            }
        };
        let prev_img = self.prev.as_ref().map_or(img, |p| &p.img);
        let (curr, previous) = if self.resized {
            let r = |p: &Plane<f32>| {
                resize_image(&Image::from_plane_unchecked(p.clone()), target).into_plane()
            };
            (r(img), r(prev_img))
        } else {
            (img.clone(), prev_img.clone())
        };
        let boxes: Vec<CroppingBox> = contours
            .iter()
            .map(|c| {
                if self.resized {
                    CroppingBox::full(th, tw)
                } else {
                    let (cx, cy) = centroid(c);
                    CroppingBox::at(cy - (th / 2) as i64, cx - (tw / 2) as i64, target)
                }
            })
            .collect();
        let seg = Mask::from_plane(seg.map(|v| u8::from(v != 0)));
        let seg_f = seg.to_f32();

        // The current cells, numbered by DeLTA's label_seg, and their resized labels; cells
        // that vanish in the resizing are dropped from the segmentation.
        let mut seg_clean = seg;
        let mut labels = small_labels(&seg_clean);
        let mut lost_cells = 0;
        let feature_labels = if self.resized {
            let mut resized = resize_labels(&labels, self.box_shape);
            let before = cells_in_frame(&labels).len();
            let after: std::collections::BTreeSet<u16> =
                cells_in_frame(&resized).into_iter().collect();
            if after.len() != before {
                for (s, &l) in seg_clean.as_mut_slice().iter_mut().zip(labels.as_slice()) {
                    if l != 0 && !after.contains(&l) {
                        *s = 0;
                    }
                }
                lost_cells = before - after.len();
                labels = small_labels(&seg_clean);
                resized = resize_labels(&labels, self.box_shape);
            }
            resized
        } else {
            labels.clone()
        };
        let n = contours.len();
        Ok(TrackingInputs {
            roi: self.roi,
            frame: self.frame,
            target,
            resized: self.resized,
            contours,
            boxes,
            curr,
            previous,
            seg_f,
            img: img.clone(),
            seg: seg_clean,
            labels,
            feature_labels,
            lost_cells,
            hits: vec![None; n],
        })
    }

    /// DeLTA's `process_tracking_outputs`: `logits` are the tracking model's outputs for all
    /// of `inputs`' samples, in order, each at the model's size (logits: DeLTA 3's models have
    /// no final sigmoid); `fluo` the frame's fluorescence channels at the ROI's size (any
    /// number, the same at every frame; values as DeLTA's `fluo_stack`, the features store
    /// their mean × 65535). Updates the lineage and the features and returns the frame's
    /// labels.
    ///
    /// Errors, before anything changes, when the inputs are not this frame's, when the number
    /// of outputs differs from the number of samples, when a shape is wrong, or when the
    /// previous frame's labels and segmentation disagree on the number of cells; and when a
    /// cell has no poles (a contour of fewer than 4 points) or an id above 65535.
    pub fn apply(
        &mut self,
        inputs: &TrackingInputs,
        logits: &[Plane<f32>],
        fluo: &[Plane<f32>],
    ) -> Result<TrackedFrame> {
        self.count_check("tracking outputs", inputs.len(), logits.len())?;
        let hits: Vec<Option<Vec<usize>>> = inputs
            .score_outputs(0, logits)?
            .into_iter()
            .map(Some)
            .collect();
        self.process(inputs, &hits, fluo)
    }

    /// [`RoiTracker::apply`] for inputs whose outputs were given by
    /// [`TrackingInputs::add_outputs`] (errors when a sample has none).
    pub fn apply_scored(
        &mut self,
        inputs: &TrackingInputs,
        fluo: &[Plane<f32>],
    ) -> Result<TrackedFrame> {
        self.process(inputs, &inputs.hits, fluo)
    }

    /// The frame's processing from the outputs' hits on.
    fn process(
        &mut self,
        inputs: &TrackingInputs,
        hits: &[Option<Vec<usize>>],
        fluo: &[Plane<f32>],
    ) -> Result<TrackedFrame> {
        self.count_check(
            "tracking inputs made for another frame index",
            self.frame,
            inputs.frame,
        )?;
        let scored = hits.iter().filter(|h| h.is_some()).count();
        self.count_check("tracking samples with an output", inputs.len(), scored)?;
        self.shape_check("the segmentation", self.seg_shape(), inputs.seg.shape())?;
        if let Some(nc) = self.fluo_channels {
            self.count_check("fluorescence channels", nc, fluo.len())?;
        }
        for f in fluo {
            self.shape_check("a fluorescence channel", self.box_shape, f.shape())?;
        }
        let prev_ids: Vec<CellId> = self
            .prev
            .as_ref()
            .map(|p| {
                cells_in_frame(&p.labels)
                    .into_iter()
                    .map(CellId::from)
                    .collect()
            })
            .unwrap_or_default();
        self.count_check(
            "cells in the previous frame's labels (its segmentation gave the samples)",
            inputs.len(),
            prev_ids.len(),
        )?;

        let (labels, feature_labels) = (&inputs.labels, &inputs.feature_labels);
        let n_new = cells_in_frame(labels).len();
        let scores = scores(labels, n_new, hits);
        let attrib = attributions(&scores, n_new);

        let feats = self.measure(labels, feature_labels, fluo)?;

        // New ids must fit DeLTA's 16-bit labels: check before anything changes.
        let frame = self.frame;
        let attributed: Vec<bool> = (0..n_new)
            .map(|n| attrib.iter().any(|row| row.contains(&n)))
            .collect();
        let created = attrib.iter().filter(|row| row.len() == 2).count()
            + attributed.iter().filter(|&&a| !a).count();
        let last_id = self.lineage.cells().last().map_or(0, |c| c.id) as usize + created;
        if last_id > usize::from(u16::MAX) {
            return Err(Error::Cell {
                roi: self.roi,
                frame,
                cell: last_id as u32,
                problem: "cell ids above 65535 do not fit DeLTA's 16-bit label images".into(),
            });
        }

        // Old cells: continue or divide.
        let mut cell_nbs = vec![0u16; n_new + 1];
        for (&id, row) in prev_ids.iter().zip(&attrib) {
            let Some((prev_old, prev_new)) = self
                .features
                .get(&id)
                .and_then(|v| v.last())
                .map(|f| (f.old_pole, f.new_pole))
            else {
                continue;
            };
            match *row.as_slice() {
                [n] => {
                    let mut f = feats[n].clone();
                    track_poles(&mut f, prev_old, prev_new);
                    self.lineage.extend(id, frame);
                    self.features.entry(id).or_default().push(f);
                    cell_nbs[n + 1] = id as u16;
                }
                [n0, n1] => {
                    let (mut f0, mut f1) = (feats[n0].clone(), feats[n1].clone());
                    let first_is_mother = division_poles(&mut f0, &mut f1, prev_old, prev_new);
                    let ((m, fm), (d, fd)) = if first_is_mother {
                        ((n0, f0), (n1, f1))
                    } else {
                        ((n1, f1), (n0, f0))
                    };
                    self.lineage.extend(id, frame);
                    self.features.entry(id).or_default().push(fm);
                    let daughter = self.lineage.new_cell(frame, Some(id));
                    self.features.insert(daughter, vec![fd]);
                    cell_nbs[m + 1] = id as u16;
                    cell_nbs[d + 1] = daughter as u16;
                }
                _ => {}
            }
        }
        // New cells: no previous cell.
        for n in (0..n_new).filter(|&n| !attributed[n]) {
            let mut f = feats[n].clone();
            if f.old_pole[0] >= f.new_pole[0] {
                std::mem::swap(&mut f.old_pole, &mut f.new_pole);
            }
            let id = self.lineage.new_cell(frame, None);
            self.features.insert(id, vec![f]);
            cell_nbs[n + 1] = id as u16;
        }
        let tracked = labels.map(|l| cell_nbs[l as usize]);
        let final_labels = if self.resized {
            resize_labels(&tracked, self.box_shape)
        } else {
            tracked
        };

        self.fluo_channels = Some(fluo.len());
        self.prev = Some(Previous {
            img: inputs.img.clone(),
            seg: inputs.seg.clone(),
            labels: final_labels.clone(),
        });
        self.frame += 1;
        Ok(TrackedFrame {
            labels: final_labels,
            seg: inputs.seg.clone(),
            lost_cells: inputs.lost_cells,
        })
    }

    /// DeLTA's `roi_features` for the current cells `1..=n` of `labels` (the small labels,
    /// whose contours give the poles) measured on `feature_labels` (the same cells at the ROI's
    /// size); poles not yet oriented (pole 1 as new pole).
    fn measure(
        &self,
        labels: &Plane<u16>,
        feature_labels: &Plane<u16>,
        fluo: &[Plane<f32>],
    ) -> Result<Vec<CellFeatures>> {
        let (h, w) = feature_labels.shape();
        let maps = FrameMaps::new(feature_labels.as_slice(), h, w);
        let small: BTreeMap<u16, Vec<Point>> = cell_contours(labels).into_iter().collect();
        let large: BTreeMap<u16, Vec<Point>> = cell_contours(feature_labels).into_iter().collect();
        let n = small.len();
        // Per channel and label: (sum, pixel count), summed in raster order.
        let fluo_sums: Vec<Vec<(f64, usize)>> = fluo
            .iter()
            .map(|plane| {
                let mut sums = vec![(0f64, 0usize); n + 1];
                for (&l, &v) in feature_labels.as_slice().iter().zip(plane.as_slice()) {
                    if let Some(s) = sums.get_mut(usize::from(l)) {
                        s.0 += f64::from(v);
                        s.1 += 1;
                    }
                }
                sums
            })
            .collect();
        let mut out = Vec::with_capacity(n);
        for k in 1..=n {
            let label = k as u16;
            let cell_err = |problem: String| Error::Cell {
                roi: self.roi,
                frame: self.frame,
                cell: u32::from(label),
                problem,
            };
            let poles = small
                .get(&label)
                .and_then(|c| find_poles(c))
                .ok_or_else(|| {
                    cell_err(
                        "its contour has fewer than 4 points: no poles (cell numbered by \
                         DeLTA's label_seg)"
                            .into(),
                    )
                })?;
            let scale = |p: Pole| -> Pole {
                [
                    (f64::from(p[0]) * self.scaling[0]).round_ties_even() as i16,
                    (f64::from(p[1]) * self.scaling[1]).round_ties_even() as i16,
                ]
            };
            let (p1, p2) = (scale(poles.0), scale(poles.1));
            let inside =
                |p: Pole| p[0] >= 0 && p[1] >= 0 && (p[0] as usize) < h && (p[1] as usize) < w;
            if !inside(p1) || !inside(p2) {
                return Err(cell_err(format!(
                    "poles {p1:?}, {p2:?} fall outside the {h}×{w} ROI"
                )));
            }
            let contour = large
                .get(&label)
                .ok_or_else(|| cell_err("no pixel left at the ROI's size".into()))?;
            let a = contour_area(contour);
            let area = if a == 0.0 { 0.1 } else { a };
            let perimeter = arc_length(contour);
            let edges = Edges {
                minus_x: contour.iter().any(|p| p[0] == 0),
                plus_x: contour.iter().any(|p| p[0] as usize == w - 1),
                minus_y: contour.iter().any(|p| p[1] == 0),
                plus_y: contour.iter().any(|p| p[1] as usize == h - 1),
            };
            let (width, length) = maps.width_length(p1, p2);
            let fluo_values = fluo_sums
                .iter()
                .map(|sums| 65535.0 * sums[k].0 / sums[k].1 as f64)
                .collect();
            out.push(CellFeatures {
                new_pole: p1,
                old_pole: p2,
                length,
                width,
                area,
                perimeter,
                fluo: fluo_values,
                edges,
                growthrate_length: f64::NAN,
                growthrate_area: f64::NAN,
            });
        }
        Ok(out)
    }

    /// The lineage and every cell's features, from its first frame to its last (growth rates
    /// NaN: see [`crate::features::growth_rates`]).
    pub fn finish(self) -> (Lineage, BTreeMap<CellId, Vec<CellFeatures>>) {
        (self.lineage, self.features)
    }
}

/// DeLTA's `label_seg` as 16-bit labels (a segmentation of more than 65535 cells saturates).
fn small_labels(seg: &Mask) -> Plane<u16> {
    label_seg(seg).map(|l| u16::try_from(l).unwrap_or(u16::MAX))
}

/// DeLTA's `centroid` of a contour: OpenCV's contour moments (Green's formula in double
/// precision), `(int(m10 / m00), int(m01 / m00))`, `(0, 0)` for a contour enclosing nothing;
/// the mean of the points (truncated) for 1 or 2 points. `(x, y)`.
///
/// ```
/// use deltacell_analysis::tracking::centroid;
/// assert_eq!(centroid(&[[0, 0], [0, 3], [3, 3], [3, 0]]), (1, 1));
/// assert_eq!(centroid(&[[0, 0], [5, 3]]), (2, 1));
/// assert_eq!(centroid(&[[0, 0], [1, 0], [2, 0], [1, 0]]), (0, 0));
/// ```
pub fn centroid(contour: &[Point]) -> (i64, i64) {
    let n = contour.len();
    if n == 0 {
        return (0, 0);
    }
    if n <= 2 {
        let mx = contour.iter().map(|p| f64::from(p[0])).sum::<f64>() / n as f64;
        let my = contour.iter().map(|p| f64::from(p[1])).sum::<f64>() / n as f64;
        return (mx as i64, my as i64);
    }
    let (mut a00, mut a10, mut a01) = (0f64, 0f64, 0f64);
    let mut prev = contour[n - 1];
    for &p in contour {
        let (xi_1, yi_1) = (f64::from(prev[0]), f64::from(prev[1]));
        let (xi, yi) = (f64::from(p[0]), f64::from(p[1]));
        let dxy = xi_1 * yi - xi * yi_1;
        a00 += dxy;
        a10 += dxy * (xi_1 + xi);
        a01 += dxy * (yi_1 + yi);
        prev = p;
    }
    if a00.abs() <= f64::from(f32::EPSILON) {
        return (0, 0);
    }
    let (h, s) = if a00 > 0.0 {
        (0.5, 1.0 / 6.0)
    } else {
        (-0.5, -1.0 / 6.0)
    };
    let (m00, m10, m01) = (a00 * h, a10 * s, a01 * s);
    ((m10 / m00) as i64, (m01 / m00) as i64)
}

/// One output's part of DeLTA's `tracking_scores`: for each current cell (index = its label,
/// `1..=n_new`), the number of its pixels where the output, placed by its box, is above
/// `logit(0.05)`.
fn hits(labels: &Plane<u16>, n_new: usize, plane: &Plane<f32>, b: CroppingBox) -> Vec<usize> {
    let threshold = (PIXEL_PROBABILITY / (1.0 - PIXEL_PROBABILITY)).ln();
    let (h, w) = (labels.height() as i64, labels.width() as i64);
    let mut hits = vec![0usize; n_new + 1];
    for r in 0..plane.height() {
        let y = r as i64 + b.ytl;
        if y < 0 || y >= h {
            continue;
        }
        for (c, &v) in plane.row(r).iter().enumerate() {
            let x = c as i64 + b.xtl;
            if x < 0 || x >= w || f64::from(v) <= threshold {
                continue;
            }
            let l = usize::from(labels.get(y as usize, x as usize));
            if l > 0 && l <= n_new {
                hits[l] += 1;
            }
        }
    }
    hits
}

/// DeLTA's `tracking_scores`: `scores[o][n]` = the fraction of current cell `n + 1`'s pixels
/// hit by output `o`.
fn scores(labels: &Plane<u16>, n_new: usize, hits: &[Option<Vec<usize>>]) -> Vec<Vec<f64>> {
    let mut area = vec![0usize; n_new + 1];
    for &l in labels.as_slice() {
        if let Some(a) = area.get_mut(usize::from(l)) {
            *a += 1;
        }
    }
    hits.iter()
        .map(|h| {
            (1..=n_new)
                .map(|l| {
                    let n = h.as_ref().map_or(0, |h| h[l]);
                    n as f64 / area[l].max(1) as f64
                })
                .collect()
        })
        .collect()
}

/// DeLTA's `attributions`: for each previous cell, the current cells (indices from 0, in
/// increasing order, at most 2) attributed to it (see the module docs).
fn attributions(scores: &[Vec<f64>], n_new: usize) -> Vec<Vec<usize>> {
    let mut attrib = vec![Vec::new(); scores.len()];
    // Each previous cell's two best current cells (ties: the lower index).
    let two_best: Vec<Vec<usize>> = scores
        .iter()
        .map(|row| {
            let mut idx: Vec<usize> = (0..n_new).collect();
            idx.sort_by(|&a, &b| row[b].total_cmp(&row[a]).then(a.cmp(&b)));
            idx.truncate(2);
            idx
        })
        .collect();
    for new in 0..n_new {
        let mut best_old: Vec<usize> = (0..scores.len()).collect();
        best_old.sort_by(|&a, &b| scores[b][new].total_cmp(&scores[a][new]).then(a.cmp(&b)));
        for o in best_old {
            if scores[o][new] < MIN_SCORE {
                break;
            }
            if two_best[o].contains(&new) {
                attrib[o].push(new);
                break;
            }
        }
    }
    for a in &mut attrib {
        a.sort_unstable();
    }
    attrib
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_new_cell_goes_to_the_best_previous_cell_that_has_it_among_its_two_best() {
        // Previous cell 0 covers current cells 0, 1, 2 fully: only its two best (0 and 1,
        // ties by index) can be attributed to it; previous cell 1 has 2 at 0.5.
        let scores = vec![vec![1.0, 1.0, 1.0], vec![0.0, 0.0, 0.5]];
        assert_eq!(attributions(&scores, 3), vec![vec![0, 1], vec![2]]);
        // A score under 0.2 attributes nothing.
        assert_eq!(attributions(&[vec![0.19]], 1), vec![Vec::<usize>::new()]);
        // One current cell: any previous cell may take it (DeLTA's degenerate case).
        assert_eq!(
            attributions(&[vec![0.3], vec![0.9]], 1),
            vec![vec![], vec![0]]
        );
    }
}
