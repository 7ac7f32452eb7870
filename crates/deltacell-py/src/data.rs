//! `delta.data`'s functions: one library call each, computed with the GIL released.
//!
//! The Python layer (`python/deltacell/data.py`) gives them DeLTA's names, defaults and
//! argument conventions and turns numpy inputs into the dtypes these functions take.

use std::path::{Path, PathBuf};

use numpy::{
    PyArray2, PyArray3, PyArray4, PyReadonlyArray2, PyReadonlyArray3, PyUntypedArrayMethods,
};
use pyo3::prelude::*;

use deltacell_data::augment::AugmentParams;
use deltacell_data::dataset::read::{binarize_range, readreshape as lib_readreshape};
use deltacell_data::dataset::read::{Interpolation, ReadReshape};
use deltacell_data::io::{self, Rescale};
use deltacell_data::postprocess::{self as post, PostprocessParams};
use deltacell_data::predict::{self, Fit, Fitting, TrackInputOptions};
use deltacell_data::tiles::{self, create_windows as lib_create_windows, create_windows_v207};
use deltacell_data::weights::{self, SegWeightParams, WeightRecipe};
use deltacell_data::{random, synth, Mask, Plane, WeightMap};

use crate::convert::{array2, array3, array4, plane, planes};
use crate::errors::{require_dir, to_py, value_error};

/// DeLTA's augmentation dictionary (as JSON text) as typed parameters; unknown keys and
/// out-of-range values are `ValueError`s naming the key.
pub fn augment_params(json: &str) -> PyResult<AugmentParams> {
    AugmentParams::from_json_str(json).map_err(to_py)
}

/// `"dtype_max"` (newest DeLTA) or `"min_max"` (2.0.7).
pub fn rescale(name: &str) -> PyResult<Rescale> {
    match name {
        "dtype_max" => Ok(Rescale::DtypeMax),
        "min_max" => Ok(Rescale::MinMax),
        _ => Err(value_error(format!(
            "rescale {name:?}: expected \"dtype_max\" or \"min_max\""
        ))),
    }
}

fn mask_of(a: &PyReadonlyArray2<'_, u8>) -> PyResult<Mask> {
    Ok(Mask::from_plane(plane(a)?))
}

/// `seg_weights(mask, classweights, w0, sigma)` → float64 `(H, W)`.
#[pyfunction]
pub fn seg_weights<'py>(
    py: Python<'py>,
    mask: PyReadonlyArray2<'py, u8>,
    classweights: (f32, f32),
    w0: f32,
    sigma: f32,
) -> PyResult<Bound<'py, PyArray2<f64>>> {
    let params = SegWeightParams {
        classweights,
        w0,
        sigma,
    };
    WeightRecipe::Seg(params).validate().map_err(to_py)?;
    let m = mask_of(&mask)?;
    let w = py.detach(|| weights::seg_weights(&m, &params));
    array2(py, w.map(f64::from))
}

/// `seg_weights_2D(mask, classweights)` → float32 `(H, W)`.
#[pyfunction]
pub fn seg_weights_2d<'py>(
    py: Python<'py>,
    mask: PyReadonlyArray2<'py, u8>,
    classweights: (f32, f32),
) -> PyResult<Bound<'py, PyArray2<f32>>> {
    WeightRecipe::Seg2d { classweights }
        .validate()
        .map_err(to_py)?;
    let m = mask_of(&mask)?;
    let w = py.detach(|| weights::seg_weights_2d(&m, classweights));
    array2(py, w.into_plane())
}

/// `tracking_weights(track, segall, halo_distance)` → float32 `(H, W)`.
#[pyfunction]
pub fn tracking_weights<'py>(
    py: Python<'py>,
    track: PyReadonlyArray2<'py, u8>,
    segall: PyReadonlyArray2<'py, u8>,
    halo_distance: f32,
) -> PyResult<Bound<'py, PyArray2<f32>>> {
    let (t, s) = (mask_of(&track)?, mask_of(&segall)?);
    let w = py
        .detach(|| weights::tracking_weights(&t, &s, halo_distance))
        .map_err(to_py)?;
    array2(py, w.into_plane())
}

/// `make_weights(path, function)` with `function` one of `"seg_weights"` (`classweights`, `w0`,
/// `sigma`), `"seg_weights_2D"` (`classweights`) or `"tracking_weights"` (`halo_distance`).
#[pyfunction]
#[allow(clippy::too_many_arguments)]
pub fn make_weights(
    py: Python<'_>,
    path: PathBuf,
    function: &str,
    classweights: (f32, f32),
    w0: f32,
    sigma: f32,
    halo_distance: f32,
    force: bool,
) -> PyResult<usize> {
    require_dir(&path, "training_dataset_path")?;
    let recipe = match function {
        "seg_weights" => WeightRecipe::Seg(SegWeightParams {
            classweights,
            w0,
            sigma,
        }),
        "seg_weights_2D" => WeightRecipe::Seg2d { classweights },
        "tracking_weights" => WeightRecipe::Track { halo_distance },
        other => {
            return Err(value_error(format!(
            "weights_function {other:?}: expected seg_weights, seg_weights_2D or tracking_weights"
        )))
        }
    };
    py.detach(|| deltacell_data::wei::make_weights(&path, &recipe, force, &|_, _| {}))
        .map_err(to_py)
}

/// `estimate_seg2D_classweights(mask_path, sample_size)` with masks sampled by `seed`.
#[pyfunction]
pub fn estimate_seg2d_classweights(
    py: Python<'_>,
    mask_path: PathBuf,
    sample_size: Option<usize>,
    seed: u64,
) -> PyResult<(f32, f32)> {
    require_dir(&mask_path, "mask_path")?;
    py.detach(|| {
        deltacell_data::weights::estimate_seg2d_classweights_dir(&mask_path, sample_size, seed)
    })
    .map_err(to_py)
}

/// `data_augmentation(stack, aug_par, order)` on an `(n, H, W)` float32 stack, draws from the
/// stream of `seed`.
#[pyfunction]
pub fn augment_stack<'py>(
    py: Python<'py>,
    stack: PyReadonlyArray3<'py, f32>,
    orders: Vec<u32>,
    aug_par: &str,
    seed: u64,
) -> PyResult<Bound<'py, PyArray3<f32>>> {
    let params = augment_params(aug_par)?;
    let input = planes(&stack)?;
    let out = py
        .detach(|| {
            let mut rng = random::stream(seed, 0, 0);
            deltacell_data::augment::augment_stack(input, &orders, &params, &mut rng)
        })
        .map_err(to_py)?;
    array3(py, out, (0, 0))
}

type CropOut<'py> = (
    Bound<'py, PyArray2<f32>>,
    Bound<'py, PyArray2<u8>>,
    Option<Bound<'py, PyArray2<f32>>>,
);

/// `random_crop(img, seg, wei, target_size, rng)` with draws from the stream of `seed`.
#[pyfunction]
pub fn random_crop<'py>(
    py: Python<'py>,
    img: PyReadonlyArray2<'py, f32>,
    seg: PyReadonlyArray2<'py, u8>,
    wei: Option<PyReadonlyArray2<'py, f32>>,
    target_size: (usize, usize),
    seed: u64,
) -> PyResult<CropOut<'py>> {
    let image = deltacell_data::Image::from_plane_unchecked(plane(&img)?);
    let mask = mask_of(&seg)?;
    let w = wei
        .map(|w| plane(&w).map(WeightMap::from_plane))
        .transpose()?;
    let (i, m, w) = py
        .detach(|| {
            let mut rng = random::stream(seed, 0, 0);
            deltacell_data::dataset::random_crop(&image, &mask, w.as_ref(), target_size, &mut rng)
        })
        .map_err(to_py)?;
    Ok((
        array2(py, i.into_plane())?,
        array2(py, m.into_plane())?,
        w.map(|w| array2(py, w.into_plane())).transpose()?,
    ))
}

/// DeLTA 2.0.7's `readreshape(filename, target_size, binarize, order, rangescale, crop)` →
/// float64.
#[pyfunction]
pub fn readreshape<'py>(
    py: Python<'py>,
    filename: PathBuf,
    target_size: (usize, usize),
    binarize: bool,
    order: u32,
    rangescale: bool,
    crop: bool,
) -> PyResult<Bound<'py, PyArray2<f64>>> {
    let options = ReadReshape {
        target_size,
        binarize,
        interpolation: if order == 0 {
            Interpolation::Nearest
        } else {
            Interpolation::Linear
        },
        rangescale,
        crop,
    };
    let p = py
        .detach(|| lib_readreshape(&filename, &options))
        .map_err(to_py)?;
    array2(py, p)
}

/// An image file as float32 in `[0, 1]` (`rescale`: `"dtype_max"` or `"min_max"`).
#[pyfunction]
pub fn read_image<'py>(
    py: Python<'py>,
    filename: PathBuf,
    rescale_name: &str,
) -> PyResult<Bound<'py, PyArray2<f32>>> {
    let r = rescale(rescale_name)?;
    let img = py.detach(|| io::read_image(&filename, r)).map_err(to_py)?;
    array2(py, img.into_plane())
}

/// DeLTA 2.0.7's `binarizerange(array)` on float64.
#[pyfunction]
pub fn binarizerange<'py>(
    py: Python<'py>,
    array: PyReadonlyArray2<'py, f64>,
) -> PyResult<Bound<'py, PyArray2<f64>>> {
    let p = plane(&array)?;
    let out = py.detach(|| binarize_range(&p));
    array2(py, out)
}

type Spans = Vec<(i64, i64)>;

/// `create_windows(img, target_size, min_overlap)`: `(tiles, loc_y, loc_x)`; `v207` selects
/// 2.0.7's layout (padding at the bottom/right) instead of the newest one.
#[pyfunction]
pub fn create_windows<'py>(
    py: Python<'py>,
    img: PyReadonlyArray2<'py, f32>,
    target_size: (usize, usize),
    min_overlap: usize,
    v207: bool,
) -> PyResult<(Bound<'py, PyArray3<f32>>, Spans, Spans)> {
    let p = plane(&img)?;
    let (tiles, w) = py
        .detach(|| {
            if v207 {
                create_windows_v207(&p, target_size, min_overlap)
            } else {
                lib_create_windows(&p, target_size, min_overlap)
            }
        })
        .map_err(to_py)?;
    Ok((array3(py, tiles, target_size)?, w.loc_y, w.loc_x))
}

/// `stitch_pic(results, loc_y, loc_x)`.
#[pyfunction]
pub fn stitch_pic<'py>(
    py: Python<'py>,
    results: PyReadonlyArray3<'py, f32>,
    loc_y: Spans,
    loc_x: Spans,
) -> PyResult<Bound<'py, PyArray2<f32>>> {
    let tiles = planes(&results)?;
    let out = py
        .detach(|| tiles::stitch(&tiles, &loc_y, &loc_x))
        .map_err(to_py)?;
    array2(py, out)
}

/// `label_seg(seg, cellnumbers)` → uint16 labels.
#[pyfunction]
pub fn label_seg<'py>(
    py: Python<'py>,
    seg: PyReadonlyArray2<'py, u8>,
    cellnumbers: Option<Vec<u32>>,
) -> PyResult<Bound<'py, PyArray2<u16>>> {
    let m = mask_of(&seg)?;
    let labels = py
        .detach(|| match &cellnumbers {
            None => Ok(post::label_seg(&m)),
            Some(n) => post::label_seg_with(&m, n),
        })
        .map_err(to_py)?;
    if labels.max_label() > u32::from(u16::MAX) {
        return Err(value_error(format!(
            "label_seg: label {} does not fit uint16",
            labels.max_label()
        )));
    }
    array2(py, labels.map(|l| l as u16))
}

/// `postprocess(images, square_size, min_size, crop)` on `(n, H, W)` float32 → uint8 0/1.
/// `threshold` `None`: each image's mid-range and 4-connected small objects (2.0.7); a value:
/// that threshold (0 for logits, newest) and 8-connected objects.
#[pyfunction]
pub fn postprocess<'py>(
    py: Python<'py>,
    images: PyReadonlyArray3<'py, f32>,
    square_size: usize,
    min_size: Option<usize>,
    crop: bool,
    threshold: Option<f32>,
) -> PyResult<Bound<'py, PyArray3<u8>>> {
    let shape = {
        let s = images.shape();
        (s[1], s[2])
    };
    let input = planes(&images)?;
    let square = if crop { 0 } else { square_size };
    let params = match threshold {
        None => PostprocessParams::v207(square, min_size),
        Some(t) if t.is_finite() => PostprocessParams {
            threshold: post::Threshold::Fixed(t),
            ..PostprocessParams::logits(square, min_size)
        },
        Some(t) => return Err(value_error(format!("threshold {t} must be finite"))),
    };
    let out: Vec<Plane<u8>> = py.detach(|| {
        input
            .iter()
            .map(|p| post::postprocess(p, &params).into_plane())
            .collect()
    });
    array3(py, out, shape)
}

/// The image files of `dir` (`.png`, `.tif`, `.tiff`), sorted.
#[pyfunction]
pub fn list_images(dir: PathBuf) -> PyResult<Vec<PathBuf>> {
    require_dir(&dir, "files_path")?;
    predict::list_images(&dir).map_err(to_py)
}

fn fit(name: &str, min_overlap: usize) -> PyResult<Fit> {
    match name {
        "resize" => Ok(Fit::Resize),
        "pad" => Ok(Fit::Pad),
        "windows" => Ok(Fit::Windows { min_overlap }),
        _ => Err(value_error(format!(
            "fit {name:?}: expected \"resize\", \"pad\" or \"windows\""
        ))),
    }
}

type SegInputs<'py> = Vec<(Bound<'py, PyArray3<f32>>, Option<(Spans, Spans)>)>;

/// `predict_generator_seg`'s reading: each file read and fitted to `target_size`; per file the
/// tiles `(n, th, tw)` and, when it was tiled, `(loc_y, loc_x)` to stitch the outputs.
#[pyfunction]
pub fn read_seg_inputs<'py>(
    py: Python<'py>,
    files: Vec<PathBuf>,
    target_size: (usize, usize),
    fit_name: &str,
    min_overlap: usize,
    rescale_name: &str,
) -> PyResult<SegInputs<'py>> {
    let f = fit(fit_name, min_overlap)?;
    let r = rescale(rescale_name)?;
    let inputs = py
        .detach(|| predict::read_seg_inputs(&files, target_size, f, r))
        .map_err(to_py)?;
    inputs
        .into_iter()
        .map(|inp| {
            let spans = match inp.fitting {
                Fitting::Resized => None,
                Fitting::Tiled(w) => Some((w.loc_y, w.loc_x)),
            };
            let tiles: Vec<Plane<f32>> = inp.tiles.into_iter().map(|t| t.into_plane()).collect();
            Ok((array3(py, tiles, target_size)?, spans))
        })
        .collect()
}

type TrackInputs<'py> = (
    Bound<'py, PyArray4<f32>>,
    Vec<String>,
    Vec<(i64, i64, i64, i64)>,
);

/// `predict_compile_from_seg_track(img_path, seg_path, files_list, target_size, crop_windows)`:
/// `(inputs (n, th, tw, 4), output names, boxes (ytl, xtl, ybr, xbr))`.
#[pyfunction]
pub fn compile_tracking_inputs<'py>(
    py: Python<'py>,
    img_path: PathBuf,
    seg_path: PathBuf,
    files_list: Option<Vec<String>>,
    target_size: (usize, usize),
    crop: bool,
    rescale_name: &str,
) -> PyResult<TrackInputs<'py>> {
    require_dir(&img_path, "img_path")?;
    require_dir(&seg_path, "seg_path")?;
    let opts = TrackInputOptions {
        target: target_size,
        crop,
        rescale: rescale(rescale_name)?,
    };
    let (batch, samples) = py
        .detach(|| {
            predict::compile_tracking_inputs(&img_path, &seg_path, files_list.as_deref(), &opts)
        })
        .map_err(to_py)?;
    let shape = (batch.n, batch.height, batch.width, batch.in_channels);
    let names = samples.iter().map(|s| s.name.clone()).collect();
    let boxes = samples
        .iter()
        .map(|s| (s.window.ytl, s.window.xtl, s.window.ybr, s.window.xbr))
        .collect();
    Ok((array4(py, batch.x, shape)?, names, boxes))
}

/// `save_result_seg` / `save_result_track`: writes each `(H, W)` probability map of `images`
/// (values in `[0, 1]`, clamped) as an 8-bit PNG named after `names[i]` (its stem + `.png`) in
/// `save_path`. Returns the paths written.
#[pyfunction]
pub fn save_results(
    py: Python<'_>,
    save_path: PathBuf,
    images: PyReadonlyArray3<'_, f32>,
    names: Vec<String>,
) -> PyResult<Vec<PathBuf>> {
    require_dir(&save_path, "save_path")?;
    let input = planes(&images)?;
    if input.len() != names.len() {
        return Err(value_error(format!(
            "{} images for {} file names",
            input.len(),
            names.len()
        )));
    }
    py.detach(|| {
        input
            .iter()
            .zip(&names)
            .map(|(p, n)| predict::save_seg(&save_path, Path::new(n), p))
            .collect::<deltacell_data::Result<Vec<_>>>()
    })
    .map_err(to_py)
}

/// Built-in synthetic training set of `kind` (`mm-seg`, `2d-seg`, `mm-track`, `2d-track`,
/// `rois`, `movie`) with `n` samples into `out` (byte-identical per seed).
#[pyfunction]
pub fn synth_training_set(
    py: Python<'_>,
    kind: &str,
    out: PathBuf,
    n: usize,
    seed: u64,
) -> PyResult<usize> {
    let k: synth::SynthKind = kind.parse().map_err(to_py)?;
    py.detach(|| synth::generate(k, n, seed, &out, &|_, _| {}))
        .map_err(to_py)
}
