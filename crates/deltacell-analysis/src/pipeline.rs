//! DeLTA 3's pipeline for one position (`delta.pipeline.Position`): rotation, chambers, drift,
//! segmentation, tracking, lineage, features, growth rates — frame by frame.
//!
//! [`stream_position`] is the one pipeline: each frame is read, corrected, cut into its ROIs,
//! segmented and tracked before the next is read, and its planes (each ROI's image,
//! fluorescence, segmentation and labels) are handed to a [`FrameSink`] as the frame is done,
//! so that memory holds one frame of the movie plus the trackers' state (lineages and
//! features, which grow with the cells only): peak memory does not grow with the movie's
//! length. The CLI's `run`, the Python package's `deltacell.pipeline` and the scale-out runners
//! ([`crate::run::Run::position`]) give it a sink that writes the results file and the label
//! images frame by frame ([`crate::outputs::PositionOutputs`]); [`analyse_position`] gives it
//! one that keeps every plane, for library callers that want the results in memory. DeLTA reads a position's whole movie first and keeps
//! every result in memory.
//!
//! Each step follows DeLTA 3.0.0a6:
//! 1. the first frame of the first channel is the reference; its rotation is measured
//!    ([`crate::rotation::deskew`]) and every frame of every channel rotated by it;
//! 2. chambers are found on the rotated reference by the ROI model ([`crate::chambers`]), or
//!    the whole frame is the one ROI (2-D);
//! 3. drift is measured on the first channel against the region above the chambers
//!    ([`crate::drift`]) and every channel shifted back;
//! 4. each ROI's image is stretched from its minimum to its maximum (per frame), resized to the
//!    segmentation model's input (or cut into windows when resizing is not tolerable),
//!    segmented (logits > 0), small objects removed;
//! 5. cells are tracked from the previous frame with the tracking model ([`crate::tracking`]),
//!    which builds the lineage, the label images and the features;
//! 6. growth rates of length and area over 9 frames.

use deltacell_data::augment::resize::resize_image;
use deltacell_data::postprocess::{binarize_threshold, filter_areas};
use deltacell_data::tiles::{create_windows, CroppingBox};
use deltacell_data::{Image, Mask, Plane};

use crate::config::{AnalysisConfig, ModelConfig, ModelRole};
use crate::error::{Error, Result};
use crate::features::growth_rates;
use crate::models::{logits_in_batches, Models};
use crate::movie::Movie;
use crate::results::{CropBox, PositionResults, RoiResults, Stack};
use crate::results_writer::{PositionLayout, RoiLayout};
use crate::tracking::{ModelFit, RoiTracker, TrackingParams};
use crate::{chambers, drift, rotation};

/// Minimum overlap of segmentation windows, pixels (DeLTA's `create_windows` default).
pub const WINDOW_OVERLAP: usize = 24;

/// Frames over which growth rates are smoothed (DeLTA's pipeline: 9).
pub const GROWTH_RATE_FRAMES: usize = 9;

/// What a position's analysis reports while it works.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Progress {
    /// Pre-processing done: the number of ROIs found.
    Rois(usize),
    /// One more frame segmented and tracked (`done` of `total`).
    Frame {
        /// Frames done.
        done: usize,
        /// Frames in all.
        total: usize,
    },
}

/// What to analyse of a movie.
#[derive(Clone, Debug)]
pub struct PositionInput<'a> {
    /// The movie.
    pub movie: &'a Movie,
    /// The position's number in the movie.
    pub position: u32,
    /// The movie's frame numbers to analyse, increasing (consecutive for tracking to mean
    /// anything; DeLTA's `--frames`).
    pub frames: Vec<u32>,
}

/// The program name and version written into results files (`DeLTA_version`).
pub fn version() -> String {
    format!("deltacell {}", env!("CARGO_PKG_VERSION"))
}

/// One ROI's results of one frame, as [`stream_position`] hands them to its [`FrameSink`].
#[derive(Clone, Copy, Debug)]
pub struct RoiFrame<'a> {
    /// The ROI's phase-contrast image, stretched to `[0, 1]` (the `img_stack` plane).
    pub img: &'a Image,
    /// The ROI's fluorescence images, one per extra channel (the `fluo_stack` planes).
    pub fluo: &'a [Plane<f32>],
    /// The segmentation at the segmentation model's size (the `seg_stack` plane).
    pub seg: &'a Mask,
    /// The cell ids at the ROI's size (the `label_stack` plane).
    pub labels: &'a Plane<u16>,
}

/// Where [`stream_position`] puts a position's planes as the frames are done.
pub trait FrameSink {
    /// Called once, after pre-processing, before the first frame: what the results will hold
    /// besides the planes, drift, lineages and features.
    fn begin(&mut self, layout: &PositionLayout) -> Result<()>;

    /// Frame `index` (0-based) done: the corrected phase-contrast frame (full size), its
    /// drift (`(x, y)` pixels; `None` without drift correction) and each ROI's planes, in the
    /// layout's order.
    fn frame(
        &mut self,
        index: usize,
        phase: &Plane<f32>,
        drift: Option<(i64, i64)>,
        rois: &[RoiFrame<'_>],
    ) -> Result<()>;
}

/// Analyses one position: DeLTA 3's `Position.preprocess`, `segment`, `track`,
/// `compute_growthrates`, frame by frame, with every plane in memory at the end
/// ([`stream_position`] with a sink that keeps them). `progress` is called after
/// pre-processing and after each frame; `cancelled` is polled between frames (an interrupted
/// analysis returns [`Error::Cancelled`]).
pub fn analyse_position(
    input: &PositionInput<'_>,
    config: &AnalysisConfig,
    models: &Models,
    progress: &mut dyn FnMut(Progress),
    cancelled: &dyn Fn() -> bool,
) -> Result<PositionResults> {
    let mut keep = KeepPlanes::default();
    let mut results = stream_position(input, config, models, progress, cancelled, &mut keep)?;
    keep.fill(&mut results)?;
    Ok(results)
}

/// The one pipeline: [`analyse_position`] with each frame's planes handed to `sink` as the
/// frame is done rather than kept, so that memory holds one frame of the movie (and the
/// trackers' state: lineages and features, which grow with the cells only). Returns the
/// position's results with its ROIs' stacks *hollow*: as many planes as frames (a plane per
/// frame and channel for `fluo`), of 0 × 0 pixels; everything else (drift, lineages, features
/// with growth rates) is complete.
pub fn stream_position(
    input: &PositionInput<'_>,
    config: &AnalysisConfig,
    models: &Models,
    progress: &mut dyn FnMut(Progress),
    cancelled: &dyn Fn() -> bool,
    sink: &mut dyn FrameSink,
) -> Result<PositionResults> {
    config.check()?;
    let movie = input.movie;
    let position = input.position;
    if !movie.positions.contains(&position) {
        return Err(Error::Movie {
            input: movie.input().to_path_buf(),
            problem: format!("position {position} is not in the movie"),
        });
    }
    let Some(&first) = input.frames.first() else {
        return Err(Error::Movie {
            input: movie.input().to_path_buf(),
            problem: "no frame to analyse".into(),
        });
    };
    let phase = movie.channels[0];
    let fluo_channels: Vec<u32> = movie.channels[1..].to_vec();
    let seg_config = config.model(ModelRole::Seg)?;

    // 1. Rotation, on the reference (first frame of the first channel).
    let reference = movie.frame(position, phase, first, None)?;
    let shape = reference.shape();
    let angle = if config.correct_rotation {
        rotation::deskew(&reference)?
    } else {
        0.0
    };
    let rotate = |p: Plane<f32>| -> Plane<f32> {
        if config.correct_rotation {
            rotation::rotate(&p, angle)
        } else {
            p
        }
    };
    let reference = rotate(reference);

    // 2. Chambers.
    let boxes: Vec<CropBox> = match (&models.rois, config.models.get(&ModelRole::Rois)) {
        (Some(model), Some(rois_config)) => {
            let params = chambers::RoiParams {
                target_size: rois_config.target_size,
                min_area: rois_config.min_area.round() as usize,
                tolerable_resizing_factor: rois_config.tolerable_resizing_factor,
                min_overlap: WINDOW_OVERLAP,
            };
            chambers::roi_boxes(&reference, &params, |windows: &[Plane<f32>]| {
                logits_in_batches(model.network.as_ref(), windows, rois_config.batch_size)
            })?
        }
        _ => vec![CropBox {
            xtl: 0,
            ytl: 0,
            xbr: shape.1 as i64,
            ybr: shape.0 as i64,
        }],
    };
    progress(Progress::Rois(boxes.len()));

    // 3. Drift template.
    let template = if config.correct_drift {
        Some(drift::DriftTemplate::new(
            &boxes,
            &reference,
            config.whole_frame_drift,
        )?)
    } else {
        None
    };

    let track_config = config.models.get(&ModelRole::Track);
    let mut rois: Vec<RoiState> = boxes
        .iter()
        .enumerate()
        .map(|(i, b)| RoiState::new(i as u32, *b, seg_config, track_config))
        .collect();
    let config_json = config.to_json();
    let layout = PositionLayout {
        position_nb: position,
        rotate: angle,
        shape,
        config: config_json.clone(),
        version: version(),
        rois: rois
            .iter()
            .map(|r| RoiLayout {
                roi_nb: r.roi_nb,
                bbox: r.bbox,
                scaling: r.tracker.scaling(),
                config: config_json.clone(),
                version: version(),
                model_hashes: models.hashes(),
                first_frame: first as i32,
                frames: input.frames.len(),
                shape: r.crop.shape(),
                seg_shape: r.tracker.seg_shape(),
                fluo_channels: fluo_channels.iter().map(|&c| i64::from(c)).collect(),
            })
            .collect(),
    };
    sink.begin(&layout)?;

    let mut drifts = Vec::with_capacity(input.frames.len());
    for (index, &frame) in input.frames.iter().enumerate() {
        if cancelled() {
            return Err(Error::Cancelled);
        }
        let phase_frame = rotate(movie.frame(position, phase, frame, Some(shape))?);
        let fluo_frames = fluo_channels
            .iter()
            .map(|&c| Ok(rotate(movie.frame(position, c, frame, Some(shape))?)))
            .collect::<Result<Vec<_>>>()?;
        let (phase_frame, fluo_frames, frame_drift) = match &template {
            Some(t) => {
                let d = t.drift(&phase_frame)?;
                drifts.push(d);
                (
                    drift::correct(&phase_frame, d),
                    fluo_frames.iter().map(|f| drift::correct(f, d)).collect(),
                    Some(d),
                )
            }
            None => (phase_frame, fluo_frames, None),
        };
        // 4. Segmentation of every ROI of this frame, in one set of network calls.
        let mut samples = Vec::new();
        let mut per_roi = Vec::with_capacity(rois.len());
        let mut crops = Vec::with_capacity(rois.len());
        for roi in &rois {
            let (img, fluo) = roi.crop_frame(&phase_frame, &fluo_frames);
            let (inputs, fit) = segmentation_inputs(&img, seg_config)?;
            per_roi.push((samples.len(), inputs.len(), fit));
            samples.extend(inputs.into_iter().map(Image::into_plane));
            crops.push((img, fluo));
        }
        let logits =
            logits_in_batches(models.seg.network.as_ref(), &samples, seg_config.batch_size)?;
        // 5. Tracking, ROI by ROI.
        let mut tracked = Vec::with_capacity(rois.len());
        for ((roi, (start, n, fit)), (img, fluo)) in rois.iter_mut().zip(per_roi).zip(&crops) {
            let seg = segmentation_output(&logits[start..start + n], &fit, seg_config)?;
            tracked.push(roi.track(img, fluo, seg, models, track_config)?);
        }
        let planes: Vec<RoiFrame<'_>> = crops
            .iter()
            .zip(&tracked)
            .map(|((img, fluo), (seg, labels))| RoiFrame {
                img,
                fluo,
                seg,
                labels,
            })
            .collect();
        sink.frame(index, &phase_frame, frame_drift, &planes)?;
        progress(Progress::Frame {
            done: index + 1,
            total: input.frames.len(),
        });
    }

    // 6. Results, with growth rates (the planes went to the sink).
    let frames = input.frames.len();
    let results = rois
        .into_iter()
        .zip(layout.rois)
        .map(|(r, l)| r.finish(l, frames))
        .collect();
    Ok(PositionResults {
        position_nb: position,
        rotate: angle,
        shape,
        config: config_json,
        drift: drifts,
        version: version(),
        rois: results,
    })
}

/// How a ROI image was fitted to the segmentation model.
enum Fit {
    /// Resized to the model's input; the mask stays at that size (as DeLTA's `seg_stack`).
    Resized,
    /// Cut into windows; stitched back and cropped to the ROI.
    Windows(deltacell_data::tiles::Windows, (usize, usize)),
}

/// DeLTA's `ROI.get_segmentation_inputs`.
fn segmentation_inputs(img: &Image, seg: &ModelConfig) -> Result<(Vec<Image>, Fit)> {
    if seg.resizing_tolerable(img.shape()) {
        Ok((vec![resize_image(img, seg.target_size)], Fit::Resized))
    } else {
        let (tiles, windows) = create_windows(img.plane(), seg.target_size, WINDOW_OVERLAP)?;
        Ok((
            tiles.into_iter().map(Image::from_plane_unchecked).collect(),
            Fit::Windows(windows, img.shape()),
        ))
    }
}

/// DeLTA's `ROI.process_segmentation_outputs`: stitch, threshold at 0, crop, area filter.
fn segmentation_output(logits: &[Plane<f32>], fit: &Fit, seg: &ModelConfig) -> Result<Mask> {
    let plane = match fit {
        Fit::Resized => logits.first().cloned().ok_or(Error::ModelInput {
            problem: "the segmentation model returned no output".into(),
        })?,
        Fit::Windows(windows, _) => windows.stitch(logits)?,
    };
    let mut mask = binarize_threshold(&plane, Some(0.0));
    if let Fit::Windows(_, (h, w)) = fit {
        if mask.shape() != (*h, *w) {
            mask = Mask::from_plane(CroppingBox::at(0, 0, (*h, *w)).crop(mask.plane()));
        }
    }
    Ok(filter_areas(&mask, seg.min_area, None))
}

/// One ROI while the frames go by.
struct RoiState {
    roi_nb: u32,
    bbox: CropBox,
    crop: CroppingBox,
    tracker: RoiTracker,
}

impl RoiState {
    fn new(roi_nb: u32, bbox: CropBox, seg: &ModelConfig, track: Option<&ModelConfig>) -> RoiState {
        let crop = CroppingBox {
            xtl: bbox.xtl,
            ytl: bbox.ytl,
            xbr: bbox.xbr,
            ybr: bbox.ybr,
        };
        let shape = crop.shape();
        let fit = |m: &ModelConfig| ModelFit {
            target_size: m.target_size,
            tolerable_resizing_factor: m.tolerable_resizing_factor,
        };
        let params = TrackingParams {
            seg: fit(seg),
            track: fit(track.unwrap_or(seg)),
        };
        RoiState {
            roi_nb,
            bbox,
            crop,
            tracker: RoiTracker::new(roi_nb, shape, params),
        }
    }

    /// Crops this ROI out of a corrected frame: the image stretched from its minimum to its
    /// maximum (DeLTA's `ROI.__init__`), the fluorescence as it is.
    fn crop_frame(&self, phase: &Plane<f32>, fluo: &[Plane<f32>]) -> (Image, Vec<Plane<f32>>) {
        let crop = self.crop.crop(phase);
        let (lo, hi) = crop
            .as_slice()
            .iter()
            .fold((f32::INFINITY, f32::NEG_INFINITY), |(lo, hi), &v| {
                (lo.min(v), hi.max(v))
            });
        // A constant crop: DeLTA divides 0 by 0 (NaN everywhere); deltacell gives 0.
        let span = hi - lo;
        let img =
            Image::from_plane_unchecked(
                crop.map(|v| if span > 0.0 { (v - lo) / span } else { 0.0 }),
            );
        (img, fluo.iter().map(|f| self.crop.crop(f)).collect())
    }

    /// Tracks the next frame (image `img`, fluorescence `fluo`) with its segmentation `seg`:
    /// returns DeLTA's cleaned segmentation (cells lost in resizing removed) and the frame's
    /// labels.
    fn track(
        &mut self,
        img: &Image,
        fluo: &[Plane<f32>],
        seg: Mask,
        models: &Models,
        track_config: Option<&ModelConfig>,
    ) -> Result<(Mask, Plane<u16>)> {
        let mut inputs = self.tracker.inputs(img, &seg)?;
        if let (Some(m), Some(c)) = (&models.track, track_config) {
            let step = crate::models::inference_batch(c.batch_size);
            let mut first = 0;
            while first < inputs.len() {
                let end = (first + step).min(inputs.len());
                let logits = m.network.logits(&inputs.batch(first..end)?)?;
                inputs.add_outputs(first, &logits)?;
                first = end;
            }
        }
        let tracked = if models.track.is_some() {
            self.tracker.apply_scored(&inputs, fluo)?
        } else {
            // Segmentation only: no previous cell is followed, every cell is new.
            let (h, w) = inputs.sample_shape();
            let never: Vec<Plane<f32>> = (0..inputs.len())
                .map(|_| Plane::filled(h, w, -1.0))
                .collect();
            self.tracker.apply(&inputs, &never, fluo)?
        };
        Ok((tracked.seg, tracked.labels))
    }

    /// The ROI's results with hollow stacks (`frames` planes of 0 × 0 pixels; see
    /// [`stream_position`]) and growth rates.
    fn finish(self, layout: RoiLayout, frames: usize) -> RoiResults {
        let (lineage, mut features) = self.tracker.finish();
        growth_rates(&lineage, &mut features, GROWTH_RATE_FRAMES);
        let nc = layout.fluo_channels.len();
        RoiResults {
            roi_nb: layout.roi_nb,
            bbox: layout.bbox,
            scaling: layout.scaling,
            config: layout.config,
            version: layout.version,
            model_hashes: layout.model_hashes,
            first_frame: layout.first_frame,
            img: Stack::zeros(frames, 0, 0),
            fluo_channels: layout.fluo_channels,
            fluo: Stack::zeros(frames * nc, 0, 0),
            seg: Stack::zeros(frames, 0, 0),
            labels: Stack::zeros(frames, 0, 0),
            lineage,
            features,
        }
    }
}

/// A [`FrameSink`] that keeps every plane, for [`analyse_position`].
#[derive(Default)]
struct KeepPlanes {
    layout: Option<PositionLayout>,
    img: Vec<Vec<f32>>,
    fluo: Vec<Vec<f32>>,
    seg: Vec<Vec<u8>>,
    labels: Vec<Vec<u16>>,
}

impl FrameSink for KeepPlanes {
    fn begin(&mut self, layout: &PositionLayout) -> Result<()> {
        let n = layout.rois.len();
        self.layout = Some(layout.clone());
        self.img = vec![Vec::new(); n];
        self.fluo = vec![Vec::new(); n];
        self.seg = vec![Vec::new(); n];
        self.labels = vec![Vec::new(); n];
        Ok(())
    }

    fn frame(
        &mut self,
        _index: usize,
        _phase: &Plane<f32>,
        _drift: Option<(i64, i64)>,
        rois: &[RoiFrame<'_>],
    ) -> Result<()> {
        for (i, roi) in rois.iter().enumerate() {
            self.img[i].extend_from_slice(roi.img.as_slice());
            for f in roi.fluo {
                self.fluo[i].extend_from_slice(f.as_slice());
            }
            self.seg[i].extend_from_slice(roi.seg.as_slice());
            self.labels[i].extend_from_slice(roi.labels.as_slice());
        }
        Ok(())
    }
}

impl KeepPlanes {
    /// Puts the planes kept into `results`' hollow stacks.
    fn fill(self, results: &mut PositionResults) -> Result<()> {
        let layout = self.layout.ok_or_else(|| Error::InvalidResults {
            roi: 0,
            problem: "no frame was analysed".into(),
        })?;
        let planes = self
            .img
            .into_iter()
            .zip(self.fluo)
            .zip(self.seg)
            .zip(self.labels);
        for ((roi, l), (((img, fluo), seg), labels)) in
            results.rois.iter_mut().zip(&layout.rois).zip(planes)
        {
            let bad = |what: &str| Error::InvalidResults {
                roi: roi.roi_nb,
                problem: format!("{what} planes of different sizes"),
            };
            let n = roi.img.frames();
            let (h, w) = l.shape;
            let (sh, sw) = l.seg_shape;
            roi.img = Stack::from_vec(n, h, w, img).ok_or_else(|| bad("image"))?;
            roi.fluo = Stack::from_vec(roi.fluo.frames(), h, w, fluo)
                .ok_or_else(|| bad("fluorescence"))?;
            roi.seg = Stack::from_vec(n, sh, sw, seg).ok_or_else(|| bad("segmentation"))?;
            roi.labels = Stack::from_vec(n, h, w, labels).ok_or_else(|| bad("label"))?;
        }
        Ok(())
    }
}

/// The movie's frames to analyse: all, or those in `range` (inclusive movie frame numbers,
/// DeLTA's `--frames 15-30`); an error naming the range when none is left.
pub fn select_frames(movie: &Movie, range: Option<(Option<u32>, Option<u32>)>) -> Result<Vec<u32>> {
    let frames: Vec<u32> = match range {
        None => movie.frames.clone(),
        Some((lo, hi)) => movie
            .frames
            .iter()
            .copied()
            .filter(|&f| lo.is_none_or(|lo| f >= lo) && hi.is_none_or(|hi| f <= hi))
            .collect(),
    };
    if frames.is_empty() {
        return Err(Error::Movie {
            input: movie.input().to_path_buf(),
            problem: format!(
                "no frame in the range asked (the movie has frames {}–{})",
                movie.frames.first().copied().unwrap_or(0),
                movie.frames.last().copied().unwrap_or(0)
            ),
        });
    }
    Ok(frames)
}
