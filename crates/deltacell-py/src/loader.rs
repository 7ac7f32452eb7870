//! The training datasets behind `load_training_dataset_seg`, `train_generator_track` and their
//! 2.0.7 spellings: a [`Loader`] whose worker threads build batches ahead of the consumer. A
//! Python call waits for its batch with the GIL released and holds the GIL only to wrap the
//! finished buffers in numpy arrays (no copy).

use std::path::PathBuf;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use pyo3::prelude::*;
use pyo3::types::PyDict;

use deltacell_data::dataset::{
    Dataset, Loader, LoaderOptions, Mode, SegOptions, SegmentationDataset, TrackOptions,
    TrackingDataset,
};
use deltacell_data::layout::Folders;
use deltacell_data::Batch;

use crate::convert::{batch_arrays, BatchArrays};
use crate::errors::{require_dir, to_py, value_error};

/// Batches of one dataset, built ahead of time on worker threads.
#[pyclass(module = "deltacell._native", name = "Loader")]
pub struct PyLoader {
    loader: Mutex<Loader>,
    items: usize,
    batch_size: usize,
    training: bool,
    /// Time spent with the GIL held in `fetch`/`next`/`batch_at` (wrapping buffers).
    gil: Mutex<Duration>,
}

impl PyLoader {
    fn new(dataset: Arc<dyn Dataset>, options: LoaderOptions) -> PyResult<Self> {
        let items = dataset.len();
        let training = dataset.is_training();
        let batch_size = options.batch_size;
        let loader = Loader::new(dataset, options).map_err(to_py)?;
        Ok(PyLoader {
            loader: Mutex::new(loader),
            items,
            batch_size,
            training,
            gil: Mutex::new(Duration::ZERO),
        })
    }

    fn lock(&self) -> PyResult<MutexGuard<'_, Loader>> {
        self.loader
            .lock()
            .map_err(|_| value_error("the loader is unusable after an earlier failure"))
    }

    /// Runs `get` with the GIL released, then wraps the batch in numpy arrays.
    fn batch<'py>(
        &self,
        py: Python<'py>,
        get: impl FnOnce(&mut Loader) -> deltacell_data::Result<Batch> + Send,
    ) -> PyResult<BatchArrays<'py>> {
        let batch = py.detach(|| -> PyResult<Batch> { get(&mut *self.lock()?).map_err(to_py) })?;
        let t0 = Instant::now();
        let arrays = batch_arrays(py, batch);
        if let Ok(mut g) = self.gil.lock() {
            *g += t0.elapsed();
        }
        arrays
    }
}

#[pymethods]
impl PyLoader {
    /// Batches per epoch.
    fn __len__(&self) -> PyResult<usize> {
        Ok(self.lock()?.steps_per_epoch())
    }

    /// Batch `step` of `epoch` as `(x, y)` float32 arrays, channels last; prefetched when the
    /// batches are asked for in order.
    fn fetch<'py>(&self, py: Python<'py>, epoch: u64, step: usize) -> PyResult<BatchArrays<'py>> {
        self.batch(py, |l| l.fetch(epoch, step))
    }

    /// The next batch in order (epoch after epoch, forever).
    fn next<'py>(&self, py: Python<'py>) -> PyResult<BatchArrays<'py>> {
        self.batch(py, |l| l.next_batch())
    }

    /// Batch `step` of `epoch`, built on the calling thread (the same values as `fetch`).
    fn batch_at<'py>(
        &self,
        py: Python<'py>,
        epoch: u64,
        step: usize,
    ) -> PyResult<BatchArrays<'py>> {
        self.batch(py, |l| l.batch_at(epoch, step))
    }

    /// `(epoch, step)` of the batch `next` returns.
    fn position(&self) -> PyResult<(u64, usize)> {
        Ok(self.lock()?.position())
    }

    /// Samples (files, or tiles in evaluation mode with cropping).
    #[getter]
    fn items(&self) -> usize {
        self.items
    }

    /// Samples per batch.
    #[getter]
    fn batch_size(&self) -> usize {
        self.batch_size
    }

    /// Whether the dataset is in training mode (shuffled, augmented).
    #[getter]
    fn training(&self) -> bool {
        self.training
    }

    /// What the loader did so far: `batches`, `samples`, `waited_s` (time the consumer waited
    /// for a batch), `build_s` (time spent building the handed-over batches, summed over the
    /// worker threads), `gil_s` (time the GIL was held to hand them over).
    fn stats<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let s = self.lock()?.stats();
        let gil = self.gil.lock().map(|g| *g).unwrap_or_default();
        let d = PyDict::new(py);
        d.set_item("batches", s.batches)?;
        d.set_item("samples", s.samples)?;
        d.set_item("waited_s", s.waited.as_secs_f64())?;
        d.set_item("build_s", s.build.as_secs_f64())?;
        d.set_item("gil_s", gil.as_secs_f64())?;
        Ok(d)
    }
}

fn loader_options(json: &str) -> PyResult<LoaderOptions> {
    serde_json::from_str(json).map_err(|e| value_error(format!("loader options: {e}")))
}

fn seg_options(json: &str) -> PyResult<SegOptions> {
    // Augmentation keys are checked by the library's own parser (suggestions for typos).
    let mut v: serde_json::Value =
        serde_json::from_str(json).map_err(|e| value_error(format!("dataset options: {e}")))?;
    let aug = take_augment(&mut v)?;
    let mut o: SegOptions =
        serde_json::from_value(v).map_err(|e| value_error(format!("dataset options: {e}")))?;
    o.augment = aug;
    Ok(o)
}

fn track_options(json: &str) -> PyResult<TrackOptions> {
    let mut v: serde_json::Value =
        serde_json::from_str(json).map_err(|e| value_error(format!("dataset options: {e}")))?;
    let aug = take_augment(&mut v)?;
    let mut o: TrackOptions =
        serde_json::from_value(v).map_err(|e| value_error(format!("dataset options: {e}")))?;
    o.augment = aug;
    Ok(o)
}

fn take_augment(v: &mut serde_json::Value) -> PyResult<deltacell_data::augment::AugmentParams> {
    let aug = v
        .as_object_mut()
        .and_then(|m| m.remove("augment"))
        .unwrap_or_else(|| serde_json::json!({}));
    crate::data::augment_params(&aug.to_string())
}

type Splits = (PyLoader, Option<PyLoader>, Option<PyLoader>);

/// `load_training_dataset_seg`: the set at `path` (`img/`, `seg/`, optional `wei/`) split into
/// training, validation and test loaders (the latter two `None` when their fraction is 0).
#[pyfunction]
pub fn open_seg(
    py: Python<'_>,
    path: PathBuf,
    options: &str,
    validation_split: f64,
    test_split: f64,
    loader: &str,
) -> PyResult<Splits> {
    require_dir(&path, "dataset_path")?;
    let seg = seg_options(options)?;
    let lo = loader_options(loader)?;
    let splits = py
        .detach(|| {
            SegmentationDataset::open_split(&path, &seg, validation_split, test_split, lo.seed)
        })
        .map_err(to_py)?;
    let make = |d: SegmentationDataset| PyLoader::new(Arc::new(d), lo.clone());
    Ok((
        make(splits.train)?,
        splits.validation.map(make).transpose()?,
        splits.test.map(make).transpose()?,
    ))
}

/// DeLTA 2.0.7's `trainGenerator_seg(img_path, mask_path, weight_path)`: folders given one by
/// one (`weight_path` `None`: no weight channel).
#[pyfunction]
pub fn open_seg_folders(
    py: Python<'_>,
    img_path: PathBuf,
    mask_path: PathBuf,
    weight_path: Option<PathBuf>,
    options: &str,
    loader: &str,
) -> PyResult<PyLoader> {
    require_dir(&img_path, "img_path")?;
    require_dir(&mask_path, "mask_path")?;
    if let Some(w) = &weight_path {
        require_dir(w, "weight_path")?;
    }
    let seg = seg_options(options)?;
    let lo = loader_options(loader)?;
    let folders = Folders {
        img: Some(img_path),
        seg: Some(mask_path),
        wei: weight_path,
        ..Folders::default()
    };
    let d = py
        .detach(|| SegmentationDataset::open_folders(&folders, &seg, Mode::Training))
        .map_err(to_py)?;
    PyLoader::new(Arc::new(d), lo)
}

/// `train_generator_track(…, img_path, seg_path, previmg_path, segall_path, track_path,
/// weights_path)`: folders given one by one.
#[pyfunction]
#[allow(clippy::too_many_arguments)]
pub fn open_track_folders(
    py: Python<'_>,
    img_path: PathBuf,
    seg_path: PathBuf,
    previmg_path: PathBuf,
    segall_path: PathBuf,
    track_path: PathBuf,
    weights_path: Option<PathBuf>,
    options: &str,
    loader: &str,
) -> PyResult<PyLoader> {
    for (p, what) in [
        (&img_path, "img_path"),
        (&seg_path, "seg_path"),
        (&previmg_path, "previmg_path"),
        (&segall_path, "segall_path"),
        (&track_path, "track_path"),
    ] {
        require_dir(p, what)?;
    }
    if let Some(w) = &weights_path {
        require_dir(w, "weights_path")?;
    }
    let track = track_options(options)?;
    let lo = loader_options(loader)?;
    let folders = Folders {
        img: Some(img_path),
        seg: Some(seg_path),
        previmg: Some(previmg_path),
        segall: Some(segall_path),
        mot_dau: Some(track_path),
        wei: weights_path,
    };
    let d = py
        .detach(|| TrackingDataset::open_folders(&folders, &track, Mode::Training))
        .map_err(to_py)?;
    PyLoader::new(Arc::new(d), lo)
}
