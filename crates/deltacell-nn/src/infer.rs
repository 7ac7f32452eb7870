//! Inference with a trained model: DeLTA's `model.predict` and the prediction loop around it.
//!
//! * [`Predictor`]: load a RUN_DIR ([`Predictor::load`], or [`Predictor::load_kind`] to insist on
//!   a kind), predict logits or probabilities for a [`Batch`], or segment in-memory images
//!   ([`Predictor::segment`]).
//! * [`predict_seg_folder`]: every image of a folder → network → stitched back → post-processed
//!   (DeLTA's `postprocess`) → one 0/255 mask (or probability map) per image under the image's
//!   name; what `deltacell predict seg` runs.
//! * [`predict_track_folder`]: a segmented movie → DeLTA's `predict_compile_from_seg_track` →
//!   one mask per cell of every frame t−1 (`…Cell%06d.png`); what `deltacell predict track`
//!   runs.
//!
//! The pieces in between (`read_seg_inputs`, `seg_batches`, `restore_seg_outputs`,
//! `compile_tracking_inputs`, `postprocess`, `save_*`) are public in
//! [`deltacell_data::predict`] and [`deltacell_data::postprocess`] for scripts that need another
//! loop; the examples `eval_seg.rs` and `eval_track.rs` use the loops here.

use std::path::{Path, PathBuf};

use burn::module::Module;
use burn::tensor::activation::sigmoid;
use burn::tensor::{Device, Tensor};
use deltacell_data::io::{self, Rescale};
use deltacell_data::postprocess::{attribute_tracking, postprocess, PostprocessParams, Threshold};
use deltacell_data::predict::{self, Fit, SegInput, TrackInputOptions};
use deltacell_data::{output, Image, Kind, Mask, Plane};
use rayon::prelude::*;

use crate::error::{Error, Result};
use crate::run_dir::{ModelInfo, RunDir, MODEL_INFO_FILE};
use crate::tensors::input_tensor;
use crate::unet::Unet;
use deltacell_data::Batch;

/// Minimum overlap of prediction windows, pixels (DeLTA's `min_overlap` default).
pub const WINDOW_OVERLAP: usize = 24;

/// Images read, fitted and predicted at a time by the folder loops (bounds memory on long
/// movies; each chunk is read and saved in parallel).
const CHUNK: usize = 64;

/// A model ready to predict (no autodiff).
pub struct Predictor {
    model: Unet,
    info: ModelInfo,
    device: Device,
    dir: Option<PathBuf>,
}

impl Predictor {
    /// Loads the best model of the RUN_DIR `dir` (`model.toml` + `model.safetensors`), or the
    /// built-in model `builtin:NAME` ([`crate::builtin`]).
    pub fn load(dir: impl AsRef<Path>, device: &Device) -> Result<Self> {
        let dir = dir.as_ref();
        let device = device.clone().inner();
        let (model, info) = match crate::builtin::name_in(dir) {
            Some(name) => crate::builtin::get(name)?.load(&device)?,
            None => RunDir::open(dir)?.load_best(&device)?,
        };
        Ok(Predictor {
            model,
            info,
            device,
            dir: Some(dir.to_path_buf()),
        })
    }

    /// [`Predictor::load`], refusing a folder that is not a run folder (no `model.toml`) or
    /// holds a model of another kind than `kind`, with a message that names the folder.
    pub fn load_kind(dir: impl AsRef<Path>, kind: Kind, device: &Device) -> Result<Self> {
        let dir = dir.as_ref();
        if crate::builtin::name_in(dir).is_none() && !dir.join(MODEL_INFO_FILE).is_file() {
            return Err(Error::NotARunFolder {
                dir: dir.to_path_buf(),
            });
        }
        let p = Self::load(dir, device)?;
        let found = p.info.architecture.kind;
        if found != kind {
            return Err(Error::WrongKind {
                path: dir.to_path_buf(),
                found,
                wanted: kind,
            });
        }
        Ok(p)
    }

    /// Wraps an in-memory model (e.g. [`crate::Trainer::model`]).
    ///
    /// ```
    /// use deltacell_nn::{device, infer::Predictor, run_dir::ModelInfo, Batch, Kind, UnetSpec};
    /// let spec = UnetSpec::with_filters(Kind::Seg, vec![2, 4]);
    /// let model = spec.init(1, &device::cpu())?;
    /// let p = Predictor::from_model(&model, ModelInfo::new(spec, [8, 8]), &device::cpu());
    /// let probabilities = p.predict_probabilities(&Batch::zeros(1, 8, 8, 1, 0))?;
    /// assert_eq!(probabilities.len(), 64);
    /// assert!(probabilities.iter().all(|v| (0.0..=1.0).contains(v)));
    /// # Ok::<(), deltacell_nn::Error>(())
    /// ```
    pub fn from_model(model: &Unet, info: ModelInfo, device: &Device) -> Self {
        let device = device.clone().inner();
        Predictor {
            model: model.valid().to_device(&device),
            info,
            device,
            dir: None,
        }
    }

    /// The model's metadata.
    pub fn info(&self) -> &ModelInfo {
        &self.info
    }

    /// The network input `(height, width)` the model was trained at, pixels.
    pub fn input_size(&self) -> (usize, usize) {
        (self.info.input_size[0], self.info.input_size[1])
    }

    /// True for a model trained on target-size windows of full-resolution images (DeLTA's
    /// `crop_windows`, the 2-D agar-pad preset): its images are cut into windows rather than
    /// resized. Read from `model.toml`'s `crop_windows`; for run folders written before it was
    /// recorded and for imported Keras models, from the preset name (`2D`).
    pub fn is_2d(&self) -> bool {
        self.info.crop_windows.unwrap_or_else(|| {
            self.info
                .preset
                .as_deref()
                .is_some_and(|s| s.eq_ignore_ascii_case("2d"))
        })
    }

    /// How image intensities are brought to `[0, 1]` for this model: as in its training
    /// (`model.toml`'s `rescale`), divided by the pixel type's maximum when not recorded.
    pub fn rescale(&self) -> Rescale {
        self.info.rescale.unwrap_or_default()
    }

    /// How images are fitted to this model by default: overlapping windows
    /// ([`WINDOW_OVERLAP`]) for models trained on windows ([`Predictor::is_2d`]), resizing
    /// otherwise, as the model saw its training images.
    pub fn default_fit(&self) -> Fit {
        if self.is_2d() {
            Fit::Windows {
                min_overlap: WINDOW_OVERLAP,
            }
        } else {
            Fit::Resize
        }
    }

    fn forward(&self, batch: &Batch) -> Result<Tensor<4>> {
        let spec = &self.info.architecture;
        if batch.in_channels != spec.input_channels {
            return Err(Error::Shape(format!(
                "{} input channels, the model takes {}",
                batch.in_channels, spec.input_channels
            )));
        }
        spec.check_input_size(batch.height, batch.width)?;
        let x = input_tensor(batch, &self.device)?;
        Ok(self.model.forward(x))
    }

    /// DeLTA's `model.predict` (newest line, logits): `n × height × width` values, row-major,
    /// one per pixel; [`deltacell_data::predict::split_output`] cuts them into planes (one
    /// channel). The batch needs the model's input channels and a size divisible by
    /// 2^(levels−1); its `y` is ignored (give `out_channels` 0).
    pub fn predict_logits(&self, batch: &Batch) -> Result<Vec<f32>> {
        to_vec(self.forward(batch)?)
    }

    /// Probabilities `sigmoid(logit)` in [0, 1], `n × height × width` (DeLTA 2.0.7's
    /// `model.predict`, whose models end in a sigmoid).
    pub fn predict_probabilities(&self, batch: &Batch) -> Result<Vec<f32>> {
        to_vec(sigmoid(self.forward(batch)?))
    }

    /// Logits of fitted segmentation inputs, stitched back: one plane per input, of the
    /// input image's own shape (DeLTA's `predict_generator_seg` → `model.predict` → stitching).
    pub fn segment_inputs(
        &self,
        inputs: &[SegInput],
        batch_size: usize,
    ) -> Result<Vec<Plane<f32>>> {
        let mut tiles = Vec::new();
        for b in predict::seg_batches(inputs, batch_size) {
            let logits = self.predict_logits(&b)?;
            tiles.extend(predict::split_output(
                &logits,
                b.n,
                (b.height, b.width),
                1,
                0,
            )?);
        }
        Ok(predict::restore_seg_outputs(inputs, tiles)?)
    }

    /// Segments in-memory images (values in [0, 1], any size): cell probabilities in [0, 1],
    /// one plane per image, of the image's shape. `fit` `None` = [`Predictor::default_fit`].
    pub fn segment(
        &self,
        images: &[Image],
        fit: Option<Fit>,
        batch_size: usize,
    ) -> Result<Vec<Plane<f32>>> {
        let fit = fit.unwrap_or_else(|| self.default_fit());
        let target = self.input_size();
        let inputs = images
            .iter()
            .enumerate()
            .map(|(i, im)| {
                let name = PathBuf::from(format!("image{i}"));
                predict::fit_image(&name, im.clone(), target, fit)
            })
            .collect::<deltacell_data::Result<Vec<_>>>()?;
        Ok(self
            .segment_inputs(&inputs, batch_size)?
            .into_iter()
            .map(|l| l.map(sigmoid_f32))
            .collect())
    }
}

fn sigmoid_f32(v: f32) -> f32 {
    1.0 / (1.0 + (-v).exp())
}

fn to_vec(t: Tensor<4>) -> Result<Vec<f32>> {
    t.into_data()
        .try_to_vec::<f32>()
        .map_err(|e| Error::Device(format!("reading predictions back: {e:?}")))
}

/// What [`predict_seg_folder`] writes per image.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum SegOutput {
    /// DeLTA's `postprocess`, saved as a 0/255 mask.
    Masks {
        /// Probability above which a pixel is a cell, in (0, 1) (DeLTA: 0.5, logit 0).
        threshold: f64,
        /// Side of the opening square, pixels (DeLTA: 5; 0 = off); `None`: 5 when resizing,
        /// 0 with windows or padding (as DeLTA).
        opening: Option<usize>,
        /// Objects smaller than this many pixels are removed (DeLTA's seg `min_area`: 20; 0 =
        /// keep all).
        min_size: usize,
    },
    /// The raw sigmoid output as an 8-bit PNG (DeLTA's `save_result_seg`).
    Probabilities,
}

impl Default for SegOutput {
    /// Masks with DeLTA's defaults: threshold 0.5, opening by fit, objects under 20 px removed.
    fn default() -> Self {
        SegOutput::Masks {
            threshold: 0.5,
            opening: None,
            min_size: 20,
        }
    }
}

/// Options of [`predict_seg_folder`].
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct SegPrediction {
    /// How images are fitted to the network input; `None` = [`Predictor::default_fit`].
    pub fit: Option<Fit>,
    /// Network inputs per batch, at least 1 (default 8).
    pub batch_size: usize,
    /// What is written.
    pub output: SegOutput,
}

impl Default for SegPrediction {
    fn default() -> Self {
        SegPrediction {
            fit: None,
            batch_size: 8,
            output: SegOutput::default(),
        }
    }
}

impl SegPrediction {
    /// The post-processing of [`SegOutput::Masks`] for `fit` (`None` for probabilities).
    pub fn postprocess_params(&self, fit: Fit) -> Result<Option<PostprocessParams>> {
        let SegOutput::Masks {
            threshold,
            opening,
            min_size,
        } = self.output
        else {
            return Ok(None);
        };
        if !(threshold > 0.0 && threshold < 1.0) {
            return Err(Error::Threshold(threshold));
        }
        let square = opening.unwrap_or(if fit == Fit::Resize { 5 } else { 0 });
        let mut params = PostprocessParams::logits(square, (min_size > 0).then_some(min_size));
        params.threshold = Threshold::Fixed((threshold / (1.0 - threshold)).ln() as f32);
        Ok(Some(params))
    }
}

/// Checks that `dir` is a folder; `what` names it in the message.
fn input_folder(dir: &Path, what: &str) -> Result<()> {
    if dir.is_dir() {
        Ok(())
    } else {
        Err(Error::Io {
            path: dir.to_path_buf(),
            source: std::io::Error::new(
                std::io::ErrorKind::NotFound,
                format!("{what} folder not found"),
            ),
        })
    }
}

/// Segments every image of `input` (`.png`, `.tif`, sorted by name; scaled by the pixel type's
/// maximum, as the training sets are read) and writes one PNG per image to `out` under the
/// image's stem ([`deltacell_data::predict::seg_output_name`]): a post-processed 0/255 mask or
/// the probabilities ([`SegOutput`]). Returns the number of files written; `progress(n)` is
/// called after every chunk with the number of images done so far.
///
/// `out` is created if needed; an `out` that is, contains or lies inside `input` or the model's
/// run folder is refused before anything is written
/// ([`deltacell_data::output::prepare_dir`]).
pub fn predict_seg_folder(
    predictor: &Predictor,
    input: &Path,
    out: &Path,
    options: &SegPrediction,
    progress: &mut dyn FnMut(usize),
) -> Result<usize> {
    input_folder(input, "input")?;
    let mut inputs_of_run: Vec<&Path> = vec![input];
    inputs_of_run.extend(predictor.dir.as_deref());
    output::ensure_outside_inputs(out, &inputs_of_run)?;
    let fit = options.fit.unwrap_or_else(|| predictor.default_fit());
    let params = options.postprocess_params(fit)?;
    let files = predict::list_images(input)?;
    if files.is_empty() {
        return Err(Error::NoImages {
            dir: input.to_path_buf(),
        });
    }
    output::prepare_dir(out, &inputs_of_run)?;
    let target = predictor.input_size();
    let mut written = 0;
    for chunk in files.chunks(CHUNK) {
        let inputs = predict::read_seg_inputs(chunk, target, fit, predictor.rescale())?;
        let logits = predictor.segment_inputs(&inputs, options.batch_size)?;
        inputs
            .par_iter()
            .zip(logits.par_iter())
            .map(|(inp, logit)| -> deltacell_data::Result<PathBuf> {
                match &params {
                    Some(p) => predict::save_seg_mask(out, &inp.path, &postprocess(logit, p)),
                    None => predict::save_seg(out, &inp.path, &logit.map(sigmoid_f32)),
                }
            })
            .collect::<deltacell_data::Result<Vec<_>>>()?;
        written += inputs.len();
        progress(written);
    }
    Ok(written)
}

/// What [`predict_track_folder`] writes per seed cell.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum TrackOutput {
    /// A 0/255 mask of the cells of frame t (from the segmentations) whose mean probability is
    /// at least `min_score` (DeLTA's pipeline attributes whole cells the same way); `min_score`
    /// 0 thresholds the raw output at 0.5 pixel by pixel instead.
    Cells {
        /// Mean probability a cell needs, in [0, 1] (default 0.5).
        min_score: f32,
    },
    /// The raw sigmoid output as an 8-bit PNG (DeLTA's `save_result_track`).
    Probabilities,
}

/// Options of [`predict_track_folder`].
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct TrackPrediction {
    /// Network inputs per batch, at least 1 (default 8).
    pub batch_size: usize,
    /// What is written.
    pub output: TrackOutput,
}

impl Default for TrackPrediction {
    fn default() -> Self {
        TrackPrediction {
            batch_size: 8,
            output: TrackOutput::Cells { min_score: 0.5 },
        }
    }
}

/// Tracks the cells of a segmented movie: `images` holds the frames under DeLTA's names
/// (`Position%06d_Chamber%06d_Frame%06d.png`), `segs` their segmentations under the same
/// names. For every cell of every frame t−1 (DeLTA's `predict_compile_from_seg_track`), the
/// network's output at t is written to `out` under DeLTA's per-cell name
/// (`…Frame%06dCell%06d.png`) as [`TrackOutput`] says, at the network's size (the window, or
/// the frame resized to the input; DeLTA's `save_result_track` does the same). Returns the
/// number of files written; `progress(done, total)` follows the samples.
///
/// Windows centred on each seed cell are used for 2-D models ([`Predictor::is_2d`]), whole
/// frames resized otherwise. `out` may not be, contain or lie inside an input folder.
pub fn predict_track_folder(
    predictor: &Predictor,
    images: &Path,
    segs: &Path,
    out: &Path,
    options: &TrackPrediction,
    progress: &mut dyn FnMut(usize, usize),
) -> Result<usize> {
    input_folder(images, "images")?;
    input_folder(segs, "segmentation")?;
    let mut inputs_of_run: Vec<&Path> = vec![images, segs];
    inputs_of_run.extend(predictor.dir.as_deref());
    output::prepare_dir(out, &inputs_of_run)?;
    let opts = TrackInputOptions {
        target: predictor.input_size(),
        crop: predictor.is_2d(),
        rescale: predictor.rescale(),
    };
    let (all, samples) = predict::compile_tracking_inputs(images, segs, None, &opts)?;
    if samples.is_empty() {
        return Ok(0);
    }
    let (h, w, c) = (all.height, all.width, all.in_channels);
    if c < 4 {
        return Err(Error::Shape(format!(
            "tracking inputs have {c} channels, expected DeLTA's 4"
        )));
    }
    let per = h * w * c;
    let step = options.batch_size.max(1);
    let mut written = 0;
    for (k, chunk) in samples.chunks(step).enumerate() {
        let start = k * step;
        let mut b = Batch::zeros(chunk.len(), h, w, c, 0);
        b.x.copy_from_slice(&all.x[start * per..(start + chunk.len()) * per]);
        let probs = predictor.predict_probabilities(&b)?;
        let planes = predict::split_output(&probs, b.n, (h, w), 1, 0)?;
        for (i, (s, plane)) in chunk.iter().zip(&planes).enumerate() {
            match options.output {
                TrackOutput::Probabilities => {
                    predict::save_track(out, s, plane)?;
                }
                TrackOutput::Cells { min_score } => {
                    let mask = if min_score > 0.0 {
                        // Channel 3 of the input is the frame's segmentation, cut like the output.
                        let cells = Mask::from_plane(b.x_plane(i, 3).map(|v| u8::from(v > 0.5)));
                        attribute_tracking(plane, &cells, min_score)?
                    } else {
                        Mask::from_plane(plane.map(|p| u8::from(p > 0.5)))
                    };
                    io::write_mask(
                        out.join(predict::seg_output_name(Path::new(&s.name))),
                        &mask,
                    )?;
                }
            }
            written += 1;
        }
        progress(written, samples.len());
    }
    Ok(written)
}
