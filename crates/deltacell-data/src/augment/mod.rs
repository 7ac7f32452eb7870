//! Data augmentation: every DeLTA operation, applied identically to all targets of a sample.
//!
//! A [`Sample`] is a list of typed [`Target`]s of one shape. [`augment`] applies the operations
//! selected by [`AugmentParams`] in DeLTA's fixed order, drawing every random decision from the
//! sample's [`SampleRng`] (so the result depends only on `(seed, epoch, index)`, see
//! [`crate::random::stream`] and [`augment_all`]):
//!
//! | # | key | what happens | targets |
//! |---|---|---|---|
//! | 1 | `illumination_voodoo` | random smooth gain along the rows, range restored | images |
//! | 2 | `histogram_voodoo` | random monotone tone curve | images |
//! | 3 | `gaussian_noise` = s | σ ~ U[0, s), add N(0, σ), clip to [0, 1] | images |
//! | 4 | `gaussian_blur` = s | σ ~ U[0, s), 5×5 Gaussian, reflect-101 border | images |
//! | 5 | `elastic_deformation` = {sigma, points} | coarse N(0, sigma) grid, cubic B-spline field | all |
//! | 6 | `horizontal_flip` | with probability ½ | all |
//! | 7 | `vertical_flip` | with probability ½ | all |
//! | 8 | `rotations_90d` | k ~ U{0,1,2,3}, exact `rot90` (odd k swaps height and width) | all |
//! | 9–11 | `rotation` = r, `zoom` = z, `shiftX`, `shiftY` | angle ~ U(−r, r)°, zoom 1 + min(Exp(mean z/3), z), shift ~ U(−s, s)·size; ONE affine warp | all |
//! | 12 | `resize` | fy = 2^N(0, 0.5), fx = fy·2^N(0, 0.1) | all (shape changes) |
//!
//! Interpolation follows the type: an [`Image`] is warped bilinearly (affine), with a cubic
//! B-spline (elastic) and bilinearly (resize); a [`Mask`] with nearest neighbour everywhere and
//! never changes photometrically; a [`WeightMap`] follows the geometry with nearest neighbour and
//! never gets intensity operations.
//!
//! # Choices where DeLTA's versions (or its docs and code) disagree
//! * **Noise and blur σ**: DeLTA's documentation calls the value of `gaussian_noise` /
//!   `gaussian_blur` the *maximum* σ; 2.0.7 draws σ = U[0, 1)·s once per sample, the newest code
//!   uses σ = s. We follow the documentation (one σ per sample, shared by all images).
//! * **Noise clipping**: the noisy image is clipped to [0, 1] (newest); 2.0.7 min-max rescaled it,
//!   which changes the contrast whenever one noisy pixel overshoots.
//! * **Zoom**: ζ ~ Exp(mean z/3) clipped at z, as 2.0.7 and the docstring say (the newest code
//!   forgot the clip, so rare draws zoom far in).
//! * **Affine**: rotation, zoom and shift in one warp with the newest DeLTA's conventions (centre
//!   `((W−1)/2, (H−1)/2)`, positive angle counter-clockwise, positive shift moves content
//!   left/up, border replicate), see [`geometric::Affine::delta`]. 2.0.7 rescaled, shifted and
//!   cropped in three resamplings and swapped the meaning of `shiftX`/`shiftY`. The warp is
//!   skipped when the drawn transform is the identity. Bilinear uses exact coordinates (OpenCV
//!   quantises them to 1/32 pixel).
//! * **Weight maps** are warped with nearest neighbour, as 2.0.7 does (`order=0` for weights),
//!   not bilinearly with intensity operations as the newest `SegmentationDataset` does
//!   (`order=1`): a weight map is tied pixel-for-pixel to its mask (high weights on the
//!   one-pixel gaps between cells), and smoothing or re-toning it would move weight off those
//!   gaps. `resize` still resizes weights bilinearly ([`resize::resize_weights`]), as the newest
//!   DeLTA does.
//! * **rot90** is exact (newest); 2.0.7 rotated with interpolation and kept the shape, which is
//!   wrong for non-square images. For non-square samples odd `k` swap height and width, so keep
//!   `rotations_90d` off for mother-machine crops (256×32), as the newest DeLTA's presets do.
//! * **Elastic**: `sigma = 0` is an exact identity (DeLTA would still smooth the image with its
//!   un-prefiltered cubic spline). Masks are labelled with 8-connectivity (DeLTA fills external
//!   contours, which also fills holes in cells; we keep holes). Touching cells are separated as
//!   in the newest DeLTA (2.0.7 could merge them). `points` may be one number or `[py, px]`.
//! * **Keys**: unknown or misspelled keys are errors with a suggestion (the newest DeLTA's CLI
//!   spells `gaussion_noise`, so its noise is silently never applied); out-of-range values are
//!   errors. All keys default to "off".
//! * **Speed**: one sample is processed on one thread (parallelism is across samples, see
//!   [`augment_all`]). The flips and quarter turns (steps 6–8) are exact integer maps, so when
//!   an affine warp follows they are folded into its coordinate map and every target is
//!   resampled once from the original pixels ([`geometric::PreTransform`]); this changes only
//!   the rounding of the source coordinates (~1e-7 pixel), not the distribution of the results.
//!   Without a warp (identity transform) they are applied exactly, in place. The warps run row by
//!   row over all targets at once (a row's nearest-neighbour indices are computed once and shared
//!   by masks and weight maps; the elastic field is evaluated separably, one row at a time,
//!   instead of as two dense planes). The pixel loops are written so that the compiler
//!   vectorises them and are compiled twice, for plain x86-64 and for AVX2, the copy chosen at
//!   run time (`crate::simd`; both round identically, so results do not depend on the CPU).
//!   Temporaries come from a per-thread pool and are swapped into the targets. The segmentation
//!   dataset's training samples skip the sample altogether where they can (no elastic
//!   deformation, no resize, the output keeps its shape): the image window gets steps 1–4 and
//!   one pass ([`geometric`]'s `warp_seg_into`) resamples it and the file's mask and weights,
//!   read in place, straight into the batch (same draws, bit-identical values).
//! * **Noise**: the per-pixel normals come from [`crate::random::fill_standard_normal`] (a
//!   counter-based generator, Box–Muller with polynomial `ln`/`sin`/`cos`), keyed by one 64-bit
//!   draw from the sample's stream per image, added as they are generated
//!   ([`crate::random::add_scaled_standard_normal`]); DeLTA draws them from numpy's global
//!   generator.
//! * **Random streams**: the order of draws follows the newest DeLTA (illumination, histogram,
//!   noise, blur, elastic, flips, rot90, angle, zoom, shifts, resize), but the generator is
//!   ChaCha8 (and the noise key, see above), so sequences do not match numpy's.

pub mod elastic;
pub mod geometric;
pub mod intensity;
pub mod resize;
mod scratch;
mod seg_warp;
mod stack;

pub(crate) use seg_warp::{LabelChannels, LabelWindow};
pub use stack::{augment_stack, stack_target};

use std::path::Path;

use rand::Rng;
use rand_distr::{Distribution, StandardNormal};
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::image::{Image, Mask, Plane, WeightMap};
use crate::random::SampleRng;

/// One raster of a sample; its type decides how each operation treats it.
#[derive(Clone, Debug, PartialEq)]
pub enum Target {
    /// Intensity image: intensity operations, smooth interpolation.
    Image(Image),
    /// Binary mask: nearest interpolation, touching-cell removal after elastic warps.
    Mask(Mask),
    /// Weight map: follows the geometry like a mask, never intensity operations.
    Weights(WeightMap),
}

impl Target {
    /// `(height, width)`.
    pub fn shape(&self) -> (usize, usize) {
        match self {
            Target::Image(i) => i.shape(),
            Target::Mask(m) => m.shape(),
            Target::Weights(w) => w.shape(),
        }
    }

    /// Applies a geometric operation: `smooth` to images, `nearest_u8` to masks and
    /// `nearest_f32` to weight maps.
    fn map_geometry(
        &mut self,
        smooth: impl FnOnce(&Plane<f32>) -> Plane<f32>,
        nearest_u8: impl FnOnce(&Plane<u8>) -> Plane<u8>,
        nearest_f32: impl FnOnce(&Plane<f32>) -> Plane<f32>,
    ) {
        match self {
            Target::Image(i) => *i = Image::from_plane_unchecked(smooth(i.plane())),
            Target::Mask(m) => *m = Mask::from_plane(nearest_u8(m.plane())),
            Target::Weights(w) => *w = WeightMap::from_plane(nearest_f32(w.plane())),
        }
    }

    /// Applies an in-place operation that is the same for every pixel type (flips).
    fn for_each_plane(
        &mut self,
        f32_op: impl FnOnce(&mut Plane<f32>),
        u8_op: impl FnOnce(&mut Plane<u8>),
    ) {
        match self {
            Target::Image(i) => f32_op(i),
            Target::Mask(m) => u8_op(m),
            Target::Weights(w) => f32_op(w),
        }
    }
}

/// The targets of one training sample, all of the same shape, transformed together.
#[derive(Clone, Debug, PartialEq, Default)]
pub struct Sample {
    /// The targets, in the order the dataset put them.
    pub targets: Vec<Target>,
}

impl Sample {
    /// The common `(height, width)`; an error naming both shapes when the targets disagree, and
    /// `None` for an empty sample.
    pub fn shape(&self) -> Result<Option<(usize, usize)>> {
        let Some(first) = self.targets.first() else {
            return Ok(None);
        };
        let s = first.shape();
        for (i, t) in self.targets.iter().enumerate().skip(1) {
            if t.shape() != s {
                return Err(Error::ShapeMismatch {
                    context: format!("augmentation sample, target 0 vs target {i}"),
                    expected: s,
                    found: t.shape(),
                });
            }
        }
        Ok(Some(s))
    }
}

/// Control-point grid of the elastic deformation: one number for both axes, or `[rows, cols]`.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum GridPoints {
    /// The same number of control points along both axes.
    Square(usize),
    /// `[along rows, along columns]`.
    Rect([usize; 2]),
}

impl GridPoints {
    /// `(rows, cols)` of the control grid.
    pub fn shape(&self) -> (usize, usize) {
        match *self {
            GridPoints::Square(p) => (p, p),
            GridPoints::Rect([py, px]) => (py, px),
        }
    }
}

/// DeLTA's `elastic_deformation` parameters.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ElasticParams {
    /// Standard deviation of the control-point displacements, in pixels (DeLTA default 10);
    /// 0 disables the operation.
    #[serde(default = "default_sigma")]
    pub sigma: f64,
    /// Control points per axis spread evenly over the image (DeLTA default 5), 1..=64.
    #[serde(default = "default_points")]
    pub points: GridPoints,
}

fn default_sigma() -> f64 {
    10.0
}

fn default_points() -> GridPoints {
    GridPoints::Square(5)
}

/// Augmentation parameters with DeLTA's key names (see the module docs). Every field defaults
/// to "off"; read them with [`AugmentParams::from_toml_str`], [`AugmentParams::from_json_str`]
/// or [`AugmentParams::from_file`], which reject unknown keys and out-of-range values.
#[derive(Clone, Debug, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AugmentParams {
    /// `illumination_voodoo`: random smooth gain along the rows (images only).
    pub illumination_voodoo: bool,
    /// `histogram_voodoo`: random monotone tone curve (images only).
    pub histogram_voodoo: bool,
    /// `gaussian_noise`: maximum noise σ in intensity units, `0..=1`; 0 = off.
    pub gaussian_noise: f64,
    /// `gaussian_blur`: maximum blur σ in pixels, `0..=10`; 0 = off.
    pub gaussian_blur: f64,
    /// `elastic_deformation`: `{ sigma, points }`; absent = off.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub elastic_deformation: Option<ElasticParams>,
    /// `horizontal_flip`: left-right flip with probability ½.
    pub horizontal_flip: bool,
    /// `vertical_flip`: up-down flip with probability ½.
    pub vertical_flip: bool,
    /// `rotations_90d`: rotation by 0, 90, 180 or 270° (equally likely), exact.
    pub rotations_90d: bool,
    /// `rotation`: maximum rotation angle in degrees, `0..=180`; the angle is U(−r, r).
    pub rotation: f64,
    /// `zoom`: maximum zoom-in, `0..=4`; the magnification is `1 + min(Exp(mean zoom/3), zoom)`.
    pub zoom: f64,
    /// `shiftX`: maximum horizontal shift as a fraction of the width, `0..=1`.
    #[serde(rename = "shiftX")]
    pub shift_x: f64,
    /// `shiftY`: maximum vertical shift as a fraction of the height, `0..=1`.
    #[serde(rename = "shiftY")]
    pub shift_y: f64,
    /// `resize`: random rescaling, `fy = 2^N(0, 0.5)`, `fx = fy·2^N(0, 0.1)` (changes the shape).
    pub resize: bool,
}

/// DeLTA's key names, in the order of the operations.
pub const KEYS: [&str; 13] = [
    "illumination_voodoo",
    "histogram_voodoo",
    "gaussian_noise",
    "gaussian_blur",
    "elastic_deformation",
    "horizontal_flip",
    "vertical_flip",
    "rotations_90d",
    "rotation",
    "zoom",
    "shiftX",
    "shiftY",
    "resize",
];

const ELASTIC_KEYS: [&str; 2] = ["sigma", "points"];

impl AugmentParams {
    /// Segmentation training (DeLTA 2.0.x `train_seg.py`, newest `DATA_AUGMENTATION_SEG` with
    /// its `gaussion_noise` typo corrected): rotation 2, zoom 0.15, both flips, illumination
    /// voodoo, gaussian_noise 0.03, gaussian_blur 1. `rotations_90d` is off (as newest), set it
    /// for square 2-D crops.
    pub fn seg_training() -> Self {
        AugmentParams {
            rotation: 2.0,
            zoom: 0.15,
            horizontal_flip: true,
            vertical_flip: true,
            illumination_voodoo: true,
            gaussian_noise: 0.03,
            gaussian_blur: 1.0,
            ..Default::default()
        }
    }

    /// Tracking training (DeLTA `train_track.py`, `DATA_AUGMENTATION_TRACK`): rotation 1,
    /// zoom 0.15, horizontal flip, histogram and illumination voodoo.
    pub fn track_training() -> Self {
        AugmentParams {
            rotation: 1.0,
            zoom: 0.15,
            horizontal_flip: true,
            histogram_voodoo: true,
            illumination_voodoo: true,
            ..Default::default()
        }
    }

    /// Chamber (ROI) training (DeLTA `DATA_AUGMENTATION_ROIS`): rotation 3, shifts 0.1, zoom
    /// 0.25, both flips, rotations_90d, histogram and illumination voodoo, gaussian_noise 0.03.
    pub fn rois_training() -> Self {
        AugmentParams {
            rotation: 3.0,
            shift_x: 0.1,
            shift_y: 0.1,
            zoom: 0.25,
            horizontal_flip: true,
            vertical_flip: true,
            rotations_90d: true,
            histogram_voodoo: true,
            illumination_voodoo: true,
            gaussian_noise: 0.03,
            ..Default::default()
        }
    }

    /// Parses TOML text (top-level DeLTA keys).
    pub fn from_toml_str(text: &str) -> Result<Self> {
        Self::parse_toml(text, "augmentation TOML")
    }

    /// Parses JSON text (an object with DeLTA keys).
    pub fn from_json_str(text: &str) -> Result<Self> {
        Self::parse_json(text, "augmentation JSON")
    }

    /// Reads a `.json` file as JSON and anything else as TOML; errors name the file.
    pub fn from_file(path: impl AsRef<Path>) -> Result<Self> {
        let path = path.as_ref();
        let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
        let name = path.display().to_string();
        let is_json = path
            .extension()
            .is_some_and(|e| e.eq_ignore_ascii_case("json"));
        if is_json {
            Self::parse_json(&text, &name)
        } else {
            Self::parse_toml(&text, &name)
        }
    }

    fn parse_toml(text: &str, source: &str) -> Result<Self> {
        let table: toml::Table = toml::from_str(text).map_err(|e| config(source, e))?;
        let value = serde_json::to_value(table).map_err(|e| config(source, e))?;
        Self::from_value(value, source)
    }

    fn parse_json(text: &str, source: &str) -> Result<Self> {
        let value: serde_json::Value = serde_json::from_str(text).map_err(|e| config(source, e))?;
        Self::from_value(value, source)
    }

    fn from_value(value: serde_json::Value, source: &str) -> Result<Self> {
        let serde_json::Value::Object(map) = &value else {
            return Err(config(source, "expected a table of augmentation keys"));
        };
        for key in map.keys() {
            check_key(key, &KEYS, source, "")?;
        }
        if let Some(serde_json::Value::Object(el)) = map.get("elastic_deformation") {
            for key in el.keys() {
                check_key(key, &ELASTIC_KEYS, source, "elastic_deformation.")?;
            }
        }
        let params: AugmentParams = serde_json::from_value(value.clone()).map_err(|e| {
            // serde_json's message lacks the key: find it by parsing the keys one at a time.
            let bad = map.iter().find(|(k, v)| {
                let one =
                    serde_json::Value::Object([((*k).clone(), (*v).clone())].into_iter().collect());
                serde_json::from_value::<AugmentParams>(one).is_err()
            });
            match bad {
                Some((k, v)) => config(source, format!("{k} = {v}: {e}")),
                None => config(source, e),
            }
        })?;
        params.validate().map_err(|e| match e {
            Error::Config { message, .. } => config(source, message),
            other => other,
        })?;
        Ok(params)
    }

    /// Checks every value's range: an [`Error::Config`] from `augmentation` whose message
    /// names the key, its value and the range.
    pub fn validate(&self) -> Result<()> {
        let ranges = [
            ("gaussian_noise", self.gaussian_noise, 0.0, 1.0),
            ("gaussian_blur", self.gaussian_blur, 0.0, 10.0),
            ("rotation", self.rotation, 0.0, 180.0),
            ("zoom", self.zoom, 0.0, 4.0),
            ("shiftX", self.shift_x, 0.0, 1.0),
            ("shiftY", self.shift_y, 0.0, 1.0),
        ];
        for (key, v, lo, hi) in ranges {
            if !(v.is_finite() && (lo..=hi).contains(&v)) {
                return Err(config(
                    "augmentation",
                    format!("{key} = {v} is out of range, expected {lo}..={hi}"),
                ));
            }
        }
        if let Some(el) = &self.elastic_deformation {
            if !(el.sigma.is_finite() && (0.0..=1000.0).contains(&el.sigma)) {
                return Err(config(
                    "augmentation",
                    format!(
                        "elastic_deformation.sigma = {} is out of range, expected 0..=1000 pixels",
                        el.sigma
                    ),
                ));
            }
            let (py, px) = el.points.shape();
            if !(1..=64).contains(&py) || !(1..=64).contains(&px) {
                return Err(config(
                    "augmentation",
                    format!(
                    "elastic_deformation.points = ({py}, {px}) is out of range, expected 1..=64"
                    ),
                ));
            }
        }
        Ok(())
    }
}

/// The random part of DeLTA's steps 9–11 for one sample.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct AffineDraw {
    /// Rotation in degrees, counter-clockwise, U(−rotation, rotation).
    pub angle_deg: f64,
    /// Magnification, `1 + min(Exp(mean zoom/3), zoom)`.
    pub zoom: f64,
    /// Horizontal shift as a signed fraction of the width, U(−shiftX, shiftX).
    pub shift_x: f64,
    /// Vertical shift as a signed fraction of the height, U(−shiftY, shiftY).
    pub shift_y: f64,
}

impl AffineDraw {
    /// The warp for a `(height, width)` sample (shifts converted to pixels).
    pub fn to_affine(&self, (h, w): (usize, usize)) -> geometric::Affine {
        geometric::Affine::delta(
            (h, w),
            self.angle_deg,
            self.zoom,
            (self.shift_x * w as f64, self.shift_y * h as f64),
        )
    }
}

impl AugmentParams {
    /// Draws the angle, zoom and shifts (four draws, always, in this order).
    pub fn draw_affine(&self, rng: &mut SampleRng) -> AffineDraw {
        let angle_deg = rng.random_range(-1.0..1.0) * self.rotation;
        // Exponential by inversion: one uniform per draw keeps the stream layout fixed.
        let zeta = (-(1.0 - rng.random::<f64>()).ln() * self.zoom / 3.0).min(self.zoom);
        let shift_x = rng.random_range(-1.0..1.0) * self.shift_x;
        let shift_y = rng.random_range(-1.0..1.0) * self.shift_y;
        AffineDraw {
            angle_deg,
            zoom: 1.0 + zeta,
            shift_x,
            shift_y,
        }
    }
}

fn config(source: &str, message: impl std::fmt::Display) -> Error {
    Error::Config {
        source_name: source.to_string(),
        message: message.to_string(),
    }
}

fn check_key(key: &str, valid: &[&str], source: &str, prefix: &str) -> Result<()> {
    if valid.contains(&key) {
        return Ok(());
    }
    let closest = valid
        .iter()
        .min_by_key(|k| strsim::levenshtein(&key.to_ascii_lowercase(), &k.to_ascii_lowercase()))
        .copied()
        .unwrap_or_default();
    Err(config(
        source,
        format!(
            "unknown augmentation key `{prefix}{key}`, did you mean {prefix}{closest}? (valid keys: {})",
            valid.join(", ")
        ),
    ))
}

/// Applies `params` to every target of `sample`, drawing from `rng`.
///
/// All targets must have the same shape (else [`Error::ShapeMismatch`]); the output shape
/// differs from the input only with `rotations_90d` (odd k on non-square samples) or `resize`.
///
/// ```
/// use deltacell_data::augment::{augment, AugmentParams, Sample, Target};
/// use deltacell_data::{random, Image, Mask, Plane};
/// let image = Image::from_plane(Plane::from_vec(2, 2, vec![0.1, 0.2, 0.3, 0.4])?);
/// let mask = Mask::from_plane(Plane::from_vec(2, 2, vec![0, 1, 0, 1])?);
/// let mut sample = Sample {
///     targets: vec![Target::Image(image), Target::Mask(mask)],
/// };
/// // Flips are drawn per sample; the image and the mask always move together.
/// let params = AugmentParams::from_toml_str("horizontal_flip = true\nvertical_flip = true")?;
/// augment(&mut sample, &params, &mut random::stream(1, 0, 0))?;
/// let [Target::Image(i), Target::Mask(m)] = &sample.targets[..] else { unreachable!() };
/// for (v, cell) in i.as_slice().iter().zip(m.as_slice()) {
///     // Right-column pixels (0.2, 0.4) are the cells wherever the flips put them.
///     assert_eq!(*cell == 1, (*v - 0.2).abs() < 1e-6 || (*v - 0.4).abs() < 1e-6);
/// }
/// # Ok::<(), deltacell_data::Error>(())
/// ```
pub fn augment(sample: &mut Sample, params: &AugmentParams, rng: &mut SampleRng) -> Result<()> {
    let Some(_) = sample.shape()? else {
        return Ok(());
    };
    params.validate()?;

    // 1–4: intensity operations, images only.
    intensity_steps(&mut sample.targets, params, rng);

    // 5: elastic deformation.
    if let Some(el) = params.elastic_deformation.filter(|e| e.sigma > 0.0) {
        let disp = elastic::Displacement::random(rng, el.sigma, el.points.shape());
        elastic::warp_sample(&mut sample.targets, &disp);
    }

    // 6–11: flips, quarter turns and one affine warp.
    let geometry = Geometry::draw(params, rng, sample.targets[0].shape());
    geometry.apply(&mut sample.targets);

    // 12: random resize.
    if params.resize {
        let ny: f64 = StandardNormal.sample(rng);
        let nx: f64 = StandardNormal.sample(rng);
        let fy = (0.5 * ny).exp2();
        let fx = fy * (0.1 * nx).exp2();
        let (h, w) = sample.targets[0].shape();
        let shape = (
            ((h as f64 * fy).round() as usize).max(1),
            ((w as f64 * fx).round() as usize).max(1),
        );
        for t in &mut sample.targets {
            match t {
                Target::Image(i) => *i = resize::resize_image(i, shape),
                Target::Mask(m) => *m = resize::resize_mask(m, shape),
                Target::Weights(wm) => *wm = resize::resize_weights(wm, shape),
            }
        }
    }
    Ok(())
}

/// [`augment`] of one segmentation sample `[image, mask, weights]` written straight into a
/// batch's buffers: `x` (`height × width`, the image) and `y` (`height × width × channels`,
/// label and weight interleaved as [`LabelWindow::channels`] says), without building the
/// augmented rasters. `image` is the sample's own copy (the intensity operations change it);
/// the mask and weights are read in place through `labels`, a window of their files' rasters of
/// `image`'s shape.
///
/// Only for parameters without elastic deformation and resize, and without quarter turns of a
/// non-square sample (the output keeps `image`'s shape); the draws and the values are exactly
/// those of [`augment`] followed by the interleaving (tests `direct_path_equals_augment`,
/// `seg_kernels_equal_warp_sample`).
pub(crate) fn augment_seg_into(
    image: Image,
    labels: &LabelWindow<'_>,
    params: &AugmentParams,
    rng: &mut SampleRng,
    x: &mut [f32],
    y: &mut [f32],
) -> Result<()> {
    params.validate()?;
    let shape = image.shape();
    // 1–4: intensity operations on the image.
    let mut targets = [Target::Image(image)];
    intensity_steps(&mut targets, params, rng);
    // 6–11: one warp of image, mask and weights (step 5, elastic, and 12, resize, are off).
    let geometry = Geometry::draw(params, rng, shape);
    let [Target::Image(image)] = targets else {
        return Err(Error::Internal {
            problem: "augmentation changed the kind of a sample's raster".into(),
        });
    };
    seg_warp::warp_seg_into(
        image.as_slice(),
        shape,
        &geometry.source_map(shape),
        geometry.shape,
        labels,
        x,
        y,
    );
    scratch_give(image.into_plane().into_vec());
    Ok(())
}

/// DeLTA's steps 1–4 (illumination and histogram voodoo, noise, blur) on the [`Target::Image`]s
/// of `targets`, drawing from `rng` exactly as [`augment`] does (masks and weight maps draw
/// nothing here, so a sample reduced to its images consumes the same draws).
pub(crate) fn intensity_steps(targets: &mut [Target], params: &AugmentParams, rng: &mut SampleRng) {
    if params.illumination_voodoo {
        for t in targets.iter_mut() {
            if let Target::Image(img) = t {
                intensity::illumination_voodoo(img, rng);
            }
        }
    }
    if params.histogram_voodoo {
        for t in targets.iter_mut() {
            if let Target::Image(img) = t {
                intensity::histogram_voodoo(img, rng);
            }
        }
    }
    if params.gaussian_noise > 0.0 {
        let sigma = (rng.random::<f64>() * params.gaussian_noise) as f32;
        for t in targets.iter_mut() {
            if let Target::Image(img) = t {
                intensity::add_gaussian_noise(img, sigma, rng);
            }
        }
    }
    if params.gaussian_blur > 0.0 {
        let sigma = rng.random::<f64>() * params.gaussian_blur;
        for t in targets.iter_mut() {
            if let Target::Image(img) = t {
                intensity::gaussian_blur(img, sigma);
            }
        }
    }
}

/// The drawn geometry of DeLTA's steps 6–11 for one sample: flips and quarter turns, and the
/// affine warp composed with them.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) struct Geometry {
    /// Flips and quarter turns.
    pub pre: geometric::PreTransform,
    /// The output → source map of the whole transform; `None` when the affine part is the
    /// identity (then only `pre` applies, exactly).
    pub map: Option<geometric::Affine>,
    /// `(height, width)` of the result.
    pub shape: (usize, usize),
}

impl Geometry {
    /// Draws steps 6–11 for a source of `source` = `(height, width)`, in [`augment`]'s order.
    pub(crate) fn draw(
        params: &AugmentParams,
        rng: &mut SampleRng,
        source: (usize, usize),
    ) -> Self {
        let pre = geometric::PreTransform {
            horizontal_flip: params.horizontal_flip && rng.random_range(0..2u32) == 1,
            vertical_flip: params.vertical_flip && rng.random_range(0..2u32) == 1,
            quarter_turns: if params.rotations_90d {
                rng.random_range(0..4u32)
            } else {
                0
            },
        };
        // The four affine draws always happen, like the newest DeLTA's.
        let draw = params.draw_affine(rng);
        let shape = pre.shape(source);
        let affine = draw.to_affine(shape);
        // One resampling of the original pixels: flips and quarter turns are exact integer maps,
        // so folding them into the warp only changes the rounding of the source coordinates.
        let map = (!affine.is_identity()).then(|| pre.compose(&affine, source));
        Geometry { pre, map, shape }
    }

    /// The map from output pixels to source pixels, flips and quarter turns included (an exact
    /// integer map when the affine part is the identity).
    pub(crate) fn source_map(&self, source: (usize, usize)) -> geometric::Affine {
        self.map.unwrap_or_else(|| {
            self.pre.compose(
                &geometric::Affine {
                    inverse: [1.0, 0.0, 0.0, 0.0, 1.0, 0.0],
                },
                source,
            )
        })
    }

    /// Applies the geometry to every target (all of the source shape).
    pub(crate) fn apply(&self, targets: &mut [Target]) {
        match &self.map {
            None => apply_exactly(targets, &self.pre),
            Some(map) => geometric::warp_sample(targets, map, self.shape),
        }
    }
}

/// A buffer of `len` values from this thread's pool (contents arbitrary), for callers outside
/// the module that hand it back with [`scratch_give`].
pub(crate) fn scratch_take(len: usize) -> Vec<f32> {
    scratch::take_uninit(len)
}

/// Returns a buffer to this thread's pool.
pub(crate) fn scratch_give(v: Vec<f32>) {
    scratch::give(v)
}

/// Flips and quarter turns without interpolation (no affine warp to fold them into).
fn apply_exactly(targets: &mut [Target], pre: &geometric::PreTransform) {
    if pre.horizontal_flip {
        for t in targets.iter_mut() {
            t.for_each_plane(geometric::flip_horizontal, geometric::flip_horizontal);
        }
    }
    if pre.vertical_flip {
        for t in targets.iter_mut() {
            t.for_each_plane(geometric::flip_vertical, geometric::flip_vertical);
        }
    }
    let k = pre.quarter_turns % 4;
    if k > 0 {
        for t in targets.iter_mut() {
            t.map_geometry(
                |p| geometric::rot90(p, k),
                |p| geometric::rot90(p, k),
                |p| geometric::rot90(p, k),
            );
        }
    }
}

/// Augments many samples in parallel (rayon, one sample per task). Sample `k` uses
/// `random::stream(seed, epoch, first_index + k)`, so the result does not depend on the thread
/// count or scheduling.
pub fn augment_all(
    samples: &mut [Sample],
    params: &AugmentParams,
    seed: u64,
    epoch: u64,
    first_index: u64,
) -> Result<()> {
    samples.par_iter_mut().enumerate().try_for_each(|(k, s)| {
        let mut rng = crate::random::stream(seed, epoch, first_index + k as u64);
        augment(s, params, &mut rng)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn misspelled_key_names_the_closest() {
        let e = AugmentParams::from_toml_str("gaussion_noise = 0.03").unwrap_err();
        let msg = e.to_string();
        assert!(msg.contains("gaussion_noise"), "{msg}");
        assert!(msg.contains("did you mean gaussian_noise?"), "{msg}");
        let e = AugmentParams::from_json_str(r#"{"shiftx": 0.1}"#).unwrap_err();
        assert!(e.to_string().contains("did you mean shiftX?"), "{e}");
        let e = AugmentParams::from_toml_str("[elastic_deformation]\nsigm = 2").unwrap_err();
        assert!(
            e.to_string()
                .contains("did you mean elastic_deformation.sigma?"),
            "{e}"
        );
    }

    #[test]
    fn parses_delta_keys_and_rejects_ranges() {
        let p = AugmentParams::from_toml_str(
            "rotation = 2\nzoom = 0.15\nhorizontal_flip = true\nshiftX = 0.1\n\
             elastic_deformation = { sigma = 2, points = [3, 5] }",
        )
        .unwrap();
        assert_eq!(p.rotation, 2.0);
        assert_eq!(p.shift_x, 0.1);
        assert_eq!(p.elastic_deformation.unwrap().points.shape(), (3, 5));
        let j = AugmentParams::from_json_str(
            r#"{"elastic_deformation": {"sigma": 2, "points": 5}, "gaussian_noise": 0.03}"#,
        )
        .unwrap();
        assert_eq!(j.elastic_deformation.unwrap().points.shape(), (5, 5));
        assert!(AugmentParams::from_toml_str("shiftX = 1.5").is_err());
        assert!(AugmentParams::from_toml_str("rotation = -1").is_err());
        let e = AugmentParams::from_toml_str("zoom = \"big\"").unwrap_err();
        assert!(e.to_string().contains("zoom"), "{e}");
        let e =
            AugmentParams::from_json_str(r#"{"rotation": 2, "horizontal_flip": 1}"#).unwrap_err();
        assert!(e.to_string().contains("horizontal_flip"), "{e}");
        let e = AugmentParams::from_toml_str("gaussian_noise = 3").unwrap_err();
        assert!(e.to_string().contains("gaussian_noise"));
    }
}
