//! DeLTA 3's pipeline for one position (`delta.pipeline.Position`): rotation, chambers, drift,
//! segmentation, tracking, lineage, features, growth rates — frame by frame.
//!
//! [`analyse_position`] is the one entry point: the CLI's `run`, the Python package's
//! `deltacell.pipeline` and the scale-out runners all call it per position.
//!
//! Frames are streamed: each frame is read, corrected, cut into its ROIs, segmented and tracked
//! before the next is read, so memory holds one frame of the movie plus the results (which
//! the results file holds in full anyway). DeLTA reads a position's whole movie first.
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

/// Analyses one position: DeLTA 3's `Position.preprocess`, `segment`, `track`,
/// `compute_growthrates`, frame by frame. `progress` is called after pre-processing and after
/// each frame; `cancelled` is polled between frames (an interrupted analysis returns
/// [`Error::Cancelled`]).
pub fn analyse_position(
    input: &PositionInput<'_>,
    config: &AnalysisConfig,
    models: &Models,
    progress: &mut dyn FnMut(Progress),
    cancelled: &dyn Fn() -> bool,
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
        .map(|(i, b)| RoiState::new(i as u32, *b, seg_config, track_config, input.frames.len()))
        .collect();

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
        let (phase_frame, fluo_frames) = match &template {
            Some(t) => {
                let d = t.drift(&phase_frame)?;
                drifts.push(d);
                (
                    drift::correct(&phase_frame, d),
                    fluo_frames.iter().map(|f| drift::correct(f, d)).collect(),
                )
            }
            None => (phase_frame, fluo_frames),
        };
        // 4. Segmentation of every ROI of this frame, in one set of network calls.
        let mut samples = Vec::new();
        let mut per_roi = Vec::with_capacity(rois.len());
        for roi in &mut rois {
            roi.push_frame(&phase_frame, &fluo_frames);
            let (inputs, fit) = segmentation_inputs(&roi.img[index], seg_config)?;
            per_roi.push((samples.len(), inputs.len(), fit));
            samples.extend(inputs.into_iter().map(Image::into_plane));
        }
        let logits =
            logits_in_batches(models.seg.network.as_ref(), &samples, seg_config.batch_size)?;
        // 5. Tracking, ROI by ROI.
        for (roi, (start, n, fit)) in rois.iter_mut().zip(per_roi) {
            let seg = segmentation_output(&logits[start..start + n], &fit, seg_config)?;
            roi.track(index, seg, models, track_config)?;
        }
        progress(Progress::Frame {
            done: index + 1,
            total: input.frames.len(),
        });
    }

    // 6. Results, with growth rates.
    let config_json = config.to_json();
    let results = rois
        .into_iter()
        .map(|r| r.finish(&config_json, models, first, &fluo_channels))
        .collect::<Result<Vec<_>>>()?;
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
    img: Vec<Image>,
    fluo: Vec<Vec<Plane<f32>>>,
    seg: Vec<Mask>,
    labels: Vec<Plane<u16>>,
    tracker: RoiTracker,
}

impl RoiState {
    fn new(
        roi_nb: u32,
        bbox: CropBox,
        seg: &ModelConfig,
        track: Option<&ModelConfig>,
        frames: usize,
    ) -> RoiState {
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
            img: Vec::with_capacity(frames),
            fluo: Vec::with_capacity(frames),
            seg: Vec::with_capacity(frames),
            labels: Vec::with_capacity(frames),
            tracker: RoiTracker::new(roi_nb, shape, params),
        }
    }

    /// Crops this ROI out of a corrected frame: the image stretched from its minimum to its
    /// maximum (DeLTA's `ROI.__init__`), the fluorescence as it is.
    fn push_frame(&mut self, phase: &Plane<f32>, fluo: &[Plane<f32>]) {
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
        self.img.push(img);
        self.fluo
            .push(fluo.iter().map(|f| self.crop.crop(f)).collect());
    }

    /// Tracks frame `index` with its segmentation `seg`: keeps DeLTA's cleaned segmentation
    /// (cells lost in resizing removed) and the frame's labels.
    fn track(
        &mut self,
        index: usize,
        seg: Mask,
        models: &Models,
        track_config: Option<&ModelConfig>,
    ) -> Result<()> {
        let mut inputs = self.tracker.inputs(&self.img[index], &seg)?;
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
            self.tracker.apply_scored(&inputs, &self.fluo[index])?
        } else {
            // Segmentation only: no previous cell is followed, every cell is new.
            let (h, w) = inputs.sample_shape();
            let never: Vec<Plane<f32>> = (0..inputs.len())
                .map(|_| Plane::filled(h, w, -1.0))
                .collect();
            self.tracker.apply(&inputs, &never, &self.fluo[index])?
        };
        self.seg.push(tracked.seg);
        self.labels.push(tracked.labels);
        Ok(())
    }

    fn finish(
        self,
        config: &str,
        models: &Models,
        first_frame: u32,
        fluo_channels: &[u32],
    ) -> Result<RoiResults> {
        let scaling = self.tracker.scaling();
        let (lineage, mut features) = self.tracker.finish();
        growth_rates(&lineage, &mut features, GROWTH_RATE_FRAMES);
        let frames = self.img.len();
        let (h, w) = self.crop.shape();
        let (sh, sw) = self.seg.first().map_or((h, w), |s| s.shape());
        let stack =
            |planes: Vec<Vec<f32>>, hh, ww| Stack::from_vec(planes.len(), hh, ww, planes.concat());
        let bad = |what: &str| Error::InvalidResults {
            roi: self.roi_nb,
            problem: format!("{what} planes of different sizes"),
        };
        let img = stack(
            self.img.iter().map(|i| i.as_slice().to_vec()).collect(),
            h,
            w,
        )
        .ok_or_else(|| bad("image"))?;
        let fluo_planes: Vec<Vec<f32>> = self
            .fluo
            .iter()
            .flat_map(|f| f.iter().map(|p| p.as_slice().to_vec()))
            .collect();
        let fluo = Stack::from_vec(fluo_planes.len(), h, w, fluo_planes.concat())
            .ok_or_else(|| bad("fluorescence"))?;
        let seg = Stack::from_vec(
            frames,
            sh,
            sw,
            self.seg
                .iter()
                .flat_map(|m| m.as_slice().iter().copied())
                .collect(),
        )
        .ok_or_else(|| bad("segmentation"))?;
        let labels = Stack::from_vec(
            frames,
            h,
            w,
            self.labels
                .iter()
                .flat_map(|l| l.as_slice().iter().copied())
                .collect(),
        )
        .ok_or_else(|| bad("label"))?;
        Ok(RoiResults {
            roi_nb: self.roi_nb,
            bbox: self.bbox,
            scaling,
            config: config.to_string(),
            version: version(),
            model_hashes: models.hashes(),
            first_frame: first_frame as i32,
            img,
            fluo_channels: fluo_channels.iter().map(|&c| c as i64).collect(),
            fluo,
            seg,
            labels,
            lineage,
            features,
        })
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
