"""DeLTA's ``delta.data`` on deltacell: the same names, arguments and array shapes, computed in
Rust (numpy in, numpy out).

The names and keyword arguments are those of DeLTA's newest line (``load_training_dataset_seg``,
``train_generator_track``, ``predict_generator_seg``, …); DeLTA 2.0.7's spellings
(``trainGenerator_seg``, ``trainGenerator_track``, ``predictGenerator_seg``,
``predictCompilefromseg_track``, ``saveResult_seg``, ``saveResult_track``) are aliases with
2.0.7's argument names. Conventions:

* Images are ``(height, width)`` arrays, intensities float32 in [0, 1]; masks are 0/1 (any
  nonzero value is a cell); batches are channels-last float32 ``(n, height, width, channels)``.
* ``target_size`` is ``(rows, cols)`` in pixels: ``(256, 32)`` for mother-machine chambers,
  ``(512, 512)`` (segmentation) or ``(256, 256)`` (tracking) for 2-D pads.
* Random functions take ``rng``: ``None`` (fresh entropy), an ``int`` seed or a
  ``numpy.random.Generator`` (one draw seeds deltacell's ChaCha8 streams). The same seed gives
  bit-identical results in Python and in Rust, on any number of threads; it does not reproduce
  numpy's random numbers.
* Training data is built on deltacell's worker threads (``workers``, ``prefetch``) while Python
  runs; a call holds the GIL only to wrap finished buffers in numpy arrays.
* Errors: a missing file or folder raises ``FileNotFoundError`` naming it; bad values,
  undecodable images and layout problems raise ``ValueError`` with the library's message.

``docs/python.md`` in the repository lists the deliberate differences from DeLTA.
"""

from __future__ import annotations

import functools
import json
import os
import sys
import weakref
from typing import Any, Dict, Iterator, List, Mapping, NamedTuple, Optional, Sequence, Tuple, Union

import numpy as np

from . import _native
from ._convert import PathLike, SeedLike, aug_json, mask as _mask, pair, path, plane, seed_of, stack

__all__ = [
    "CroppingBox",
    "SegmentationDataset",
    "binarizerange",
    "create_windows",
    "data_augmentation",
    "estimate_seg2D_classweights",
    "label_seg",
    "load_training_dataset_seg",
    "loader_stats",
    "make_weights",
    "postprocess",
    "predict_compile_from_seg_track",
    "predict_generator_seg",
    "random_crop",
    "read_image",
    "readreshape",
    "save_result_seg",
    "save_result_track",
    "seg_weights",
    "seg_weights_2D",
    "stitch_pic",
    "synth_training_set",
    "torch_dataset",
    "tracking_weights",
    "train_generator_track",
    # DeLTA 2.0.7 spellings
    "trainGenerator_seg",
    "trainGenerator_track",
    "predictGenerator_seg",
    "predictCompilefromseg_track",
    "saveResult_seg",
    "saveResult_track",
]

# --------------------------------------------------------------------------------------------
# Weight maps
# --------------------------------------------------------------------------------------------


def seg_weights(mask: Any, classweights: Tuple[float, float] = (1, 1), w0: float = 12, sigma: float = 2) -> np.ndarray:
    """DeLTA's U-Net weight map for mother-machine masks.

    ``w = w0 · exp(−(d1 + d2)² / (2σ²)) + classweights[0]`` on background pixels, where d1 ≤ d2
    are the Euclidean distances (pixels) to the nearest and second-nearest cell (8-connected),
    and ``classweights[1]`` on cell pixels.

    Args:
        mask: ``(H, W)`` binary mask (nonzero = cell; a trailing channel axis keeps channel 0).
        classweights: ``(background, cell)`` weights, finite and > 0.
        w0: amplitude of the border term, ≥ 0.
        sigma: width of the border term in pixels, > 0.

    Returns:
        float64 ``(H, W)``; border terms below 1e-9 are 0.
    """
    return _native.seg_weights(_mask(mask), pair(classweights, "classweights"), float(w0), float(sigma))


def seg_weights_2D(mask: Any, classweights: Tuple[float, float] = (1, 1)) -> np.ndarray:
    """DeLTA's weight map for 2-D colonies (skeleton-based; cells and the gaps between them).

    Args:
        mask: ``(H, W)`` binary mask (nonzero = cell).
        classweights: ``(cells, borders)`` weights, finite and > 0
            (see :func:`estimate_seg2D_classweights`).

    Returns:
        float32 ``(H, W)``: ``classweights[0]`` on cell skeletons, ``classweights[1]`` on gap
        skeletons, decaying away from them, 1/255 elsewhere in cells and gaps, 0 on background.
    """
    return _native.seg_weights_2d(_mask(mask), pair(classweights, "classweights"))


def tracking_weights(track: Any, segall: Any, halo_distance: float = 50) -> np.ndarray:
    """DeLTA's tracking weight map.

    Args:
        track: ``(H, W)`` mask of the tracked cell (and its daughter) at frame t (``mot_dau``).
        segall: ``(H, W)`` mask of all cells at frame t.
        halo_distance: halo around the tracked cells in pixels, > 0.

    Returns:
        float32 ``(H, W)``: in ``[100, 31800]`` (``1 + 20·segall`` when ``track`` is empty).
    """
    return _native.tracking_weights(_mask(track, "track"), _mask(segall, "segall"), float(halo_distance))


_WEIGHT_FUNCTIONS = {"seg_weights": {"classweights": (1, 1), "w0": 12, "sigma": 2},
                     "seg_weights_2D": {"classweights": (1, 1)},
                     "tracking_weights": {"halo_distance": 50}}


def _weight_recipe(function: Any, name: str) -> Tuple[str, Dict[str, Any]]:
    """``(function name, parameters)`` of one of the three weight functions, given as the
    function itself (deltacell's or DeLTA's), its name, or a ``functools.partial`` of it with
    keyword parameters."""
    keywords: Dict[str, Any] = {}
    if isinstance(function, functools.partial):
        if function.args:
            raise TypeError(f"{name}: give the parameters by keyword, e.g. functools.partial(seg_weights, classweights=(1, 1))")
        keywords = dict(function.keywords)
        function = function.func
    if isinstance(function, str):
        fname = function
    elif callable(function) and getattr(function, "__module__", "") in (__name__, "delta.data"):
        fname = getattr(function, "__name__", "")
    else:
        raise TypeError(f"{name} must be seg_weights, seg_weights_2D or tracking_weights (or a functools.partial of one), not {function!r}")
    if fname not in _WEIGHT_FUNCTIONS:
        raise ValueError(f"{name} {fname!r}: expected seg_weights, seg_weights_2D or tracking_weights")
    params = dict(_WEIGHT_FUNCTIONS[fname])
    unknown = set(keywords) - set(params)
    if unknown:
        raise TypeError(f"{name}: {fname} has no parameter {sorted(unknown)[0]!r} (parameters: {', '.join(params)})")
    params.update(keywords)
    return fname, params


def make_weights(training_dataset_path: PathLike, weights_function: Any, *, force: bool = False) -> int:
    """Writes the weight map of every mask of a training set to ``<path>/wei/`` (8-bit PNG,
    normalised to the maximum, same file names) and ``wei/manifest.json``.

    Args:
        training_dataset_path: the set's folder (``seg/``; for tracking weights ``mot_dau/`` and
            ``segall/``).
        weights_function: :func:`seg_weights`, :func:`seg_weights_2D` or :func:`tracking_weights`
            (or DeLTA's functions of those names), optionally as a ``functools.partial`` with
            keyword parameters.
        force: overwrite an existing ``wei/`` (DeLTA always refuses; ``FileExistsError`` here).

    Returns:
        The number of weight files written.
    """
    fname, p = _weight_recipe(weights_function, "weights_function")
    cw = pair(p.get("classweights", (1, 1)), "classweights")
    return _native.make_weights(path(training_dataset_path), fname, cw, float(p.get("w0", 12)),
                                float(p.get("sigma", 2)), float(p.get("halo_distance", 50)), bool(force))


def estimate_seg2D_classweights(mask_path: PathLike, sample_size: Optional[int] = None, rng: SeedLike = None) -> Tuple[float, float]:
    """Class weights ``(cells, borders)`` for :func:`seg_weights_2D` that balance the skeleton
    pixels of the cells and of the gaps between them, over the ``.png``/``.tif`` masks of
    ``mask_path``.

    Args:
        mask_path: folder of masks.
        sample_size: use this many masks, drawn without replacement (all when ``None`` or when
            there are fewer).
        rng: seed or ``numpy.random.Generator`` for the sample.

    Returns:
        ``(cells, borders)``, the larger one 1.0.
    """
    size = None if sample_size is None else int(sample_size)
    if size is not None and size < 0:
        raise ValueError(f"sample_size must be >= 0, got {sample_size}")
    a, b = _native.estimate_seg2d_classweights(path(mask_path), size, seed_of(rng))
    return float(a), float(b)


# --------------------------------------------------------------------------------------------
# Augmentation and cropping
# --------------------------------------------------------------------------------------------


def data_augmentation(images_input: Any, aug_par: Optional[Mapping[str, Any]], order: Union[int, Sequence[int]] = 0,
                      rng: SeedLike = None, time: Any = 0) -> Any:
    """DeLTA's ``data_augmentation``: the same random transformation on every image of a stack.

    Args:
        images_input: list of ``(H, W)`` arrays of one shape, or an ``(n, H, W)`` array.
        aug_par: DeLTA's augmentation dictionary: ``illumination_voodoo``, ``histogram_voodoo``
            (bool), ``gaussian_noise`` (max σ, 0..1), ``gaussian_blur`` (max σ px, 0..10),
            ``elastic_deformation`` (``{"sigma": px, "points": n or (rows, cols)}``),
            ``horizontal_flip``, ``vertical_flip``, ``rotations_90d`` (bool), ``rotation``
            (max degrees, 0..180), ``zoom`` (0..4), ``shiftX``, ``shiftY`` (fractions 0..1),
            ``resize`` (bool). Unknown keys are a ``ValueError`` naming the closest valid key.
        order: per image (or one for all): 0 = mask or weight map (nearest neighbour, never
            photometric; values all 0/1 make a mask), > 0 = intensity image in [0, 1].
        rng: seed or ``numpy.random.Generator``.
        time: DeLTA 2.0.7's unused argument, accepted and ignored.

    Returns:
        The augmented images, each with its input's dtype, as a list (or an ``(n, H', W')``
        array when the input was an array). ``rotations_90d`` on non-square images and
        ``resize`` change the shape.
    """
    del time
    was_array = isinstance(images_input, np.ndarray)
    items = images_input if was_array else [np.asarray(i) for i in images_input]
    st = stack(items, np.float32, "images_input")
    n = st.shape[0]
    orders = [int(order)] * n if np.isscalar(order) else [int(o) for o in order]
    if any(o < 0 for o in orders):
        raise ValueError(f"order must be >= 0, got {orders}")
    out = _native.augment_stack(st, orders, aug_json(aug_par), seed_of(rng))
    if was_array:
        return out.astype(images_input.dtype, copy=False)
    return [o.astype(i.dtype, copy=False) for o, i in zip(out, items)]


def random_crop(img: Any, seg: Any, wei: Any, target_size: Tuple[int, int], rng: SeedLike = None) -> Tuple[np.ndarray, np.ndarray, Optional[np.ndarray]]:
    """DeLTA's ``random_crop``: one ``target_size`` window at a uniform position for the image,
    mask and weight map (zero-padded evenly where they are smaller than the target).

    Returns:
        ``(img float32, seg uint8 0/1, wei float32 or None)``, each ``target_size``.
    """
    w = None if wei is None else plane(wei, np.float32, "wei")
    return _native.random_crop(plane(img, np.float32, "img"), _mask(seg, "seg"), w,
                               pair(target_size, "target_size", int), seed_of(rng))


# --------------------------------------------------------------------------------------------
# Training datasets
# --------------------------------------------------------------------------------------------

_LOADERS: "weakref.WeakKeyDictionary[Any, Any]" = weakref.WeakKeyDictionary()


def _loader_json(batch_size: int, seed: int, workers: int, prefetch: int) -> str:
    if int(batch_size) < 1:
        raise ValueError(f"batch_size must be >= 1, got {batch_size}")
    if int(workers) < 0 or int(prefetch) < 1:
        raise ValueError(f"workers must be >= 0 and prefetch >= 1, got {workers} and {prefetch}")
    return json.dumps({"batch_size": int(batch_size), "seed": int(seed), "workers": int(workers), "prefetch": int(prefetch)})


def _storage(storage: str) -> str:
    if storage not in ("auto", "preload", "stream"):
        raise ValueError(f"storage must be 'auto', 'preload' or 'stream', got {storage!r}")
    return storage


def _seg_weights_option(weights: Any) -> Any:
    if weights is None or weights in ("auto", "folder", "ones"):
        return weights or "auto"
    fname, p = _weight_recipe(weights, "weights")
    if fname == "seg_weights":
        return {"seg": {"classweights": list(pair(p["classweights"], "classweights")), "w0": float(p["w0"]), "sigma": float(p["sigma"])}}
    if fname == "seg_weights_2D":
        return {"seg2d": {"classweights": list(pair(p["classweights"], "classweights"))}}
    raise ValueError("weights: tracking_weights needs a tracking set; use train_generator_track(weights_path='online')")


class SegmentationDataset:
    """A segmentation dataset in DeLTA's ``SegmentationDataset`` shape: ``len(ds)`` batches per
    epoch, ``ds[i]`` is batch ``i`` of the current epoch, ``on_epoch_end()`` moves to the next
    epoch (a new shuffle and new augmentations in training mode).

    ``ds[i]`` is ``(x, y)`` with ``stack=True`` — ``x`` ``(b, H, W, 1)``, ``y`` ``(b, H, W, 2)`` =
    ``[mask, weights]`` for DeLTA's stacked loss — or ``(x, mask, weights)`` with
    ``stack=False`` (Keras takes the third element as ``sample_weight``). Batches are built ahead
    of time on worker threads, in order; asking out of order recomputes from there (same values).

    When Keras (or TensorFlow) is imported before the dataset is made, the object is also a
    ``keras.utils.PyDataset`` (so ``model.fit(ds)`` takes it); with PyTorch wrap it as
    ``torch.utils.data.DataLoader(ds, batch_size=None)`` (``num_workers=0``: deltacell has its
    own workers).
    """

    def __init__(self, loader: Any, stack: bool) -> None:
        self._loader = loader
        self._stack = bool(stack)
        self._epoch = 0
        _LOADERS[self] = loader
        if _keras_base() is not None and isinstance(self, _keras_base()):
            _keras_base().__init__(self, workers=1, use_multiprocessing=False)

    def __len__(self) -> int:
        return len(self._loader)

    @property
    def num_batches(self) -> int:
        """Batches per epoch (Keras' ``PyDataset.num_batches``)."""
        return len(self._loader)

    @property
    def samples(self) -> int:
        """Number of samples (files, or tiles of evaluation data with ``crop``)."""
        return self._loader.items

    @property
    def epoch(self) -> int:
        """The current epoch (0 at first, +1 per :meth:`on_epoch_end`)."""
        return self._epoch

    def __getitem__(self, idx: int) -> Tuple[np.ndarray, ...]:
        n = len(self._loader)
        i = int(idx)
        if i < 0:
            i += n
        if not 0 <= i < n:
            raise IndexError(f"batch {idx} of an epoch of {n} batches")
        x, y = self._loader.fetch(self._epoch, i)
        if self._stack:
            return x, y
        return x, y[..., :1], y[..., 1:]

    def __iter__(self) -> Iterator[Tuple[np.ndarray, ...]]:
        for i in range(len(self)):
            yield self[i]

    def on_epoch_begin(self) -> None:
        """Nothing to do (Keras calls it)."""

    def on_epoch_end(self) -> None:
        """Next epoch: new shuffle and new augmentations (training mode)."""
        self._epoch += 1


_KERAS_CLASSES: Dict[Any, type] = {}


def _keras_base() -> Optional[type]:
    """``keras.utils.PyDataset`` when Keras or TensorFlow is already imported, else ``None``
    (deltacell never imports them itself)."""
    if "keras" not in sys.modules and "tensorflow" not in sys.modules:
        return None
    try:
        import keras  # noqa: PLC0415 (already imported by the caller, or by TensorFlow)

        return keras.utils.PyDataset
    except Exception:  # Keras 2 or a broken install: plain datasets
        return None


def _dataset(loader: Any, stack: bool) -> SegmentationDataset:
    base = _keras_base()
    if base is None:
        return SegmentationDataset(loader, stack)
    cls = _KERAS_CLASSES.get(base)
    if cls is None:
        cls = type("SegmentationDataset", (SegmentationDataset, base), {"__module__": __name__, "__doc__": SegmentationDataset.__doc__})
        _KERAS_CLASSES[base] = cls
    return cls(loader, stack)


def load_training_dataset_seg(dataset_path: PathLike, target_size: Tuple[int, int], *, crop: bool, kw_data_aug: Optional[Mapping[str, Any]],
                              validation_split: float = 0, test_split: float = 0, seed: int = 1, stack: bool = False,
                              batch_size: int = 1, weights: Any = None, workers: int = 2, prefetch: int = 4,
                              storage: str = "auto", min_overlap: int = 24) -> Any:
    """DeLTA's ``load_training_dataset_seg``: the segmentation set at ``dataset_path`` (``img/``,
    ``seg/``, optional ``wei/``, matched by file stem) as :class:`SegmentationDataset`\\ s.

    Args:
        dataset_path: the set's folder.
        target_size: ``(rows, cols)`` of a sample in pixels.
        crop: random ``target_size`` crops (2-D pads; evaluation data is tiled into windows
            overlapping by ``min_overlap`` px) instead of resizing whole images (mother machine).
        kw_data_aug: augmentation dictionary for the training data (see
            :func:`data_augmentation`); validation and test data are never augmented.
        validation_split, test_split: fractions of the files (0..1, sum ≤ 1) for the validation
            and test datasets.
        seed: seeds the split, the shuffles and the augmentation.
        stack: ``(x, y=[mask, weights])`` items for DeLTA's stacked loss (else ``(x, mask,
            weights)``).
        batch_size: samples per item (DeLTA: 1).
        weights: ``None``/``"auto"`` (``wei/`` if present, else ones), ``"folder"``, ``"ones"``,
            or :func:`seg_weights` / :func:`seg_weights_2D` (optionally a ``functools.partial``)
            to compute weight maps from the masks when the files are loaded.
        workers: threads building batches ahead (0: build each batch when asked, in parallel).
        prefetch: batches built ahead (memory bound), ≥ 1.
        storage: ``"auto"`` (preload when the decoded set fits in 1 GiB), ``"preload"`` or
            ``"stream"`` (read files per sample).
        min_overlap: overlap of evaluation tiles in pixels.

    Returns:
        The training dataset, or ``(train, val)``, ``(train, test)`` or ``(train, val, test)``
        for the splits whose fraction is > 0, as DeLTA returns them.
    """
    opts = {"target_size": list(pair(target_size, "target_size", int)), "crop": bool(crop), "augment": json.loads(aug_json(kw_data_aug, "kw_data_aug")),
            "weights": _seg_weights_option(weights), "storage": _storage(storage), "min_overlap": int(min_overlap)}
    train, val, test = _native.open_seg(path(dataset_path), json.dumps(opts), float(validation_split), float(test_split),
                                        _loader_json(batch_size, seed, workers, prefetch))
    out = [_dataset(train, stack)]
    if float(validation_split) > 0 and val is not None:
        out.append(_dataset(val, stack))
    if float(test_split) > 0 and test is not None:
        out.append(_dataset(test, stack))
    return out[0] if len(out) == 1 else tuple(out)


def _generator(loader: Any) -> Iterator[Tuple[np.ndarray, np.ndarray]]:
    while True:
        yield loader.next()


def _track_weights_option(weights_path: Any, halo_distance: float) -> Tuple[Any, Optional[str]]:
    if weights_path is None:
        return "ones", None
    if isinstance(weights_path, str) and weights_path == "online":
        return {"online": {"halo_distance": float(halo_distance)}}, None
    return "folder", path(weights_path)


def train_generator_track(batch_size: int, img_path: PathLike, seg_path: PathLike, previmg_path: PathLike, segall_path: PathLike,
                          track_path: PathLike, weights_path: Optional[PathLike] = None, *, augment_params: Optional[Mapping[str, Any]] = None,
                          crop_windows: bool = False, target_size: Tuple[int, int] = (256, 32), shift: int = 0, seed: int = 1,
                          workers: int = 2, prefetch: int = 4, storage: str = "auto", halo_distance: float = 50) -> Iterator[Tuple[np.ndarray, np.ndarray]]:
    """DeLTA's ``train_generator_track``: an endless generator of tracking batches ``(x, y)``,
    ``x`` ``(b, H, W, 4)`` = [image at t, seed cell at t−1, image at t−1, all cells at t], ``y``
    ``(b, H, W, 2)`` = [mother and daughter at t, weights].

    Args:
        batch_size: samples per batch.
        img_path, seg_path, previmg_path, segall_path, track_path: the set's folders (DeLTA's
            ``img/``, ``seg/``, ``previmg/``, ``segall/``, ``mot_dau/``), matched by file stem.
        weights_path: a weight folder, ``"online"`` (:func:`tracking_weights` with
            ``halo_distance`` px, computed on the fly) or ``None`` (all ones).
        augment_params: augmentation dictionary (see :func:`data_augmentation`).
        crop_windows: ``target_size`` windows centred on the seed cell (2-D) instead of resizing
            whole frames (mother machine).
        target_size: ``(rows, cols)`` in pixels.
        shift: random drift of the frame-t window in pixels, uniform in ``[-shift, shift]``.
        seed: seeds the shuffles and the augmentation.
        workers, prefetch, storage: see :func:`load_training_dataset_seg`.

    A Python generator (``types.GeneratorType``), so Keras' ``model.fit`` takes it; for PyTorch
    see :func:`torch_dataset`.
    """
    w, wpath = _track_weights_option(weights_path, halo_distance)
    opts = {"target_size": list(pair(target_size, "target_size", int)), "crop_windows": bool(crop_windows), "shift": int(shift),
            "weights": w, "augment": json.loads(aug_json(augment_params, "augment_params")), "storage": _storage(storage)}
    if int(shift) < 0:
        raise ValueError(f"shift must be >= 0 pixels, got {shift}")
    loader = _native.open_track_folders(path(img_path), path(seg_path), path(previmg_path), path(segall_path), path(track_path), wpath,
                                        json.dumps(opts), _loader_json(batch_size, seed, workers, prefetch))
    gen = _generator(loader)
    _LOADERS[gen] = loader
    return gen


def trainGenerator_track(batch_size: int, img_path: PathLike, seg_path: PathLike, previmg_path: PathLike, segall_path: PathLike,
                         track_path: PathLike, weights_path: Optional[PathLike] = None, augment_params: Optional[Mapping[str, Any]] = None,
                         crop_windows: bool = False, target_size: Tuple[int, int] = (256, 32), shift_cropbox: int = 0,
                         seed: int = 1, **kwargs: Any) -> Iterator[Tuple[np.ndarray, np.ndarray]]:
    """DeLTA 2.0.7's spelling of :func:`train_generator_track` (``shift_cropbox`` = ``shift``;
    ``shiftcropbox`` of older 2.0.x releases is accepted too)."""
    if "shiftcropbox" in kwargs:
        shift_cropbox = kwargs.pop("shiftcropbox")
    return train_generator_track(batch_size, img_path, seg_path, previmg_path, segall_path, track_path, weights_path,
                                 augment_params=augment_params, crop_windows=crop_windows, target_size=target_size,
                                 shift=shift_cropbox, seed=seed, **kwargs)


def trainGenerator_seg(batch_size: int, img_path: PathLike, mask_path: PathLike, weight_path: Optional[PathLike],
                       target_size: Tuple[int, int] = (256, 32), augment_params: Optional[Mapping[str, Any]] = None,
                       preload: bool = False, seed: int = 1, crop_windows: bool = False, *, workers: int = 2,
                       prefetch: int = 4) -> Iterator[Tuple[np.ndarray, np.ndarray]]:
    """DeLTA 2.0.7's ``trainGenerator_seg``: an endless generator of ``(x (b, H, W, 1), y (b, H,
    W, 2) = [mask, weights])`` from three folders matched by file stem (``y`` has one channel
    when ``weight_path`` is ``None``). ``crop_windows``: random ``target_size`` crops instead of
    resizing. ``preload``: decode every file up front (otherwise deltacell preloads when the set
    fits in 1 GiB and streams otherwise)."""
    opts = {"target_size": list(pair(target_size, "target_size", int)), "crop": bool(crop_windows),
            "augment": json.loads(aug_json(augment_params, "augment_params")), "storage": "preload" if preload else "auto"}
    loader = _native.open_seg_folders(path(img_path), path(mask_path), None if weight_path is None else path(weight_path),
                                      json.dumps(opts), _loader_json(batch_size, seed, workers, prefetch))
    gen = _generator(loader)
    _LOADERS[gen] = loader
    return gen


def loader_stats(source: Any) -> Dict[str, float]:
    """What the worker threads behind a dataset or generator of this module did so far:
    ``batches``, ``samples``, ``waited_s`` (seconds the consumer waited for a batch),
    ``build_s`` (seconds spent building them, summed over workers) and ``gil_s`` (seconds the
    GIL was held to hand them over)."""
    loader = _LOADERS.get(source)
    if loader is None:
        raise TypeError(f"{source!r} is not a dataset or generator of deltacell.data")
    return dict(loader.stats())


def torch_dataset(source: Any) -> Any:
    """``source`` (a :class:`SegmentationDataset` or a training generator) as a
    ``torch.utils.data.IterableDataset`` for ``DataLoader(…, batch_size=None)``. Imports torch
    only when called. (A :class:`SegmentationDataset` also works as a map-style dataset
    directly.)"""
    import torch.utils.data as tud  # noqa: PLC0415

    class _Iterable(tud.IterableDataset):
        def __init__(self, src: Any) -> None:
            super().__init__()
            self.src = src

        def __iter__(self) -> Iterator[Any]:
            return iter(self.src)

    return _Iterable(source)


# --------------------------------------------------------------------------------------------
# Prediction helpers
# --------------------------------------------------------------------------------------------


class CroppingBox(NamedTuple):
    """A window in image coordinates: rows ``[ytl, ybr)``, columns ``[xtl, xbr)`` (may extend
    outside the image, where inputs are zero-padded)."""

    ytl: int
    xtl: int
    ybr: int
    xbr: int


def _files(files_path: PathLike, files_list: Optional[Sequence[PathLike]]) -> List[str]:
    if files_list is None:
        return [os.fspath(p) for p in _native.list_images(path(files_path))]
    return [os.path.join(path(files_path), os.fspath(f)) for f in files_list]


def _seg_inputs(files: List[str], target_size: Tuple[int, int], fit: str, rescale: str, tuple_items: bool) -> Iterator[Any]:
    t = pair(target_size, "target_size", int)
    for f in files:
        ((tiles, _spans),) = _native.read_seg_inputs([f], t, fit, 24, rescale)
        yield (tiles,) if tuple_items else tiles


def predict_generator_seg(files_path: PathLike, *, files_list: Optional[Sequence[PathLike]] = None,
                          target_size: Tuple[int, int] = (256, 32), crop_windows: bool = False) -> Iterator[Tuple[np.ndarray]]:
    """DeLTA's ``predict_generator_seg``: one ``(array,)`` per image file (sorted listing of
    ``files_path``, or ``files_list`` relative to it), the array ``(1, rows, cols)`` float32
    in [0, 1] (divided by the dtype's maximum): resized to ``target_size``, or with
    ``crop_windows`` zero-padded at the bottom/right (an image larger than the target comes as
    ``(n, rows, cols)`` tiles covering it)."""
    return _seg_inputs(_files(files_path, files_list), target_size, "pad" if crop_windows else "resize", "dtype_max", True)


def predictGenerator_seg(files_path: PathLike, files_list: Optional[Sequence[PathLike]] = None, target_size: Tuple[int, int] = (256, 32),
                         crop: bool = False) -> Iterator[np.ndarray]:
    """DeLTA 2.0.7's ``predictGenerator_seg``: like :func:`predict_generator_seg` but yields the
    arrays themselves and rescales each image to its own min–max range, as 2.0.7 does."""
    return _seg_inputs(_files(files_path, files_list), target_size, "pad" if crop else "resize", "min_max", False)


def predict_compile_from_seg_track(img_path: PathLike, seg_path: PathLike, files_list: Optional[Sequence[PathLike]], *,
                                   target_size: Tuple[int, int] = (256, 32), crop_windows: bool = False,
                                   rescale: str = "dtype_max") -> Tuple[np.ndarray, List[str], List[CroppingBox]]:
    """DeLTA's ``predict_compile_from_seg_track``: the tracking inputs of every cell of every
    frame t−1 of a movie.

    Args:
        img_path: folder of the frames, named ``Position%d_Chamber%d_Frame%d`` or
            ``Position%d_Frame%d`` (the pattern comes from the first name).
        seg_path: folder of their segmentations, same names.
        files_list: file names (in ``img_path``) to use; ``None``: all.
        target_size: ``(rows, cols)`` in pixels.
        crop_windows: windows centred on each seed cell instead of resizing the frames.
        rescale: ``"dtype_max"`` (newest DeLTA) or ``"min_max"`` (2.0.7).

    Returns:
        ``(inputs (n, rows, cols, 4) float32, output file names (…Cell%06d), boxes)``.
    """
    names_list = None if files_list is None else [os.path.basename(os.fspath(f)) for f in files_list]
    x, names, boxes = _native.compile_tracking_inputs(path(img_path), path(seg_path), names_list,
                                                      pair(target_size, "target_size", int), bool(crop_windows), rescale)
    return x, list(names), [CroppingBox(*b) for b in boxes]


def predictCompilefromseg_track(img_path: PathLike, seg_path: PathLike, files_list: Sequence[PathLike], target_size: Tuple[int, int] = (256, 32),
                                crop: bool = False) -> Tuple[np.ndarray, List[str], List[CroppingBox]]:
    """DeLTA 2.0.7's ``predictCompilefromseg_track`` (min–max rescaled images; 2.0.7's helper
    cannot run as shipped, this is what it was meant to do)."""
    return predict_compile_from_seg_track(img_path, seg_path, files_list, target_size=target_size, crop_windows=crop, rescale="min_max")


def postprocess(images: Any, square_size: int = 5, min_size: Optional[int] = None, crop: bool = False, *,
                threshold: Union[float, str] = 0.0) -> np.ndarray:
    """DeLTA's ``postprocess``: threshold, binary opening with a ``square_size`` px square
    (skipped with ``crop``), removal of objects smaller than ``min_size`` px.

    Args:
        images: ``(n, H, W[, 1])`` or ``(H, W)`` predictions.
        threshold: ``0.0`` for logits (newest DeLTA; 8-connected objects), ``0.5`` for sigmoid
            probabilities, or ``"midrange"`` for DeLTA 2.0.7's per-image ``(min + max) / 2``
            (4-connected objects).

    Returns:
        uint8 0/1, squeezed like DeLTA's output.
    """
    st = stack(images, np.float32, "images")
    t = None if threshold == "midrange" else float(threshold)
    ms = None if min_size is None else int(min_size)
    out = _native.postprocess(st, int(square_size), ms, bool(crop), t)
    return np.squeeze(out)


def _result_names(n: int, files_list: Optional[Sequence[PathLike]], default: str) -> List[str]:
    if files_list:
        if len(files_list) < n:
            raise ValueError(f"{n} results for {len(files_list)} file names")
        return [os.path.basename(os.fspath(f)) for f in files_list[:n]]
    return [default.format(i) for i in range(n)]


def _results(npyfile: Any) -> np.ndarray:
    arr = np.asarray(npyfile)
    if arr.ndim == 4:
        arr = arr[..., 0]
    return stack(arr, np.float32, "npyfile")


def save_result_seg(save_path: PathLike, npyfile: Any, *, files_list: Optional[Sequence[PathLike]] = None, multipage: bool = False) -> List[str]:
    """DeLTA's ``save_result_seg``: writes each prediction (``(n, H, W[, 1])`` probabilities in
    [0, 1], clamped) as an 8-bit PNG ``round(p·255)`` named after ``files_list[i]`` (its stem +
    ``.png``) or ``{i}_predict.png`` in ``save_path``. Returns the paths written."""
    if multipage:
        raise NotImplementedError("multipage TIFF output is not supported; save one PNG per image (multipage=False)")
    arr = _results(npyfile)
    return [os.fspath(p) for p in _native.save_results(path(save_path), arr, _result_names(arr.shape[0], files_list, "{}_predict.png"))]


def saveResult_seg(save_path: PathLike, npyfile: Any, files_list: Optional[Sequence[PathLike]] = None, multipage: bool = False) -> List[str]:
    """DeLTA 2.0.7's spelling of :func:`save_result_seg`."""
    return save_result_seg(save_path, npyfile, files_list=files_list, multipage=multipage)


def save_result_track(save_path: PathLike, npyfile: Any, files_list: Optional[Sequence[PathLike]] = None) -> List[str]:
    """DeLTA's ``save_result_track``: channel 0 of each tracking output (probabilities in
    [0, 1]) as an 8-bit PNG named after ``files_list[i]`` or ``tracking_{i:09d}.png``."""
    arr = _results(npyfile)
    return [os.fspath(p) for p in _native.save_results(path(save_path), arr, _result_names(arr.shape[0], files_list, "tracking_{:09d}.png"))]


saveResult_track = save_result_track

# --------------------------------------------------------------------------------------------
# I/O and image helpers
# --------------------------------------------------------------------------------------------


def read_image(filename: PathLike, *, rescale: str = "dtype_max") -> np.ndarray:
    """An image file (PNG/TIFF, first channel) as float32 ``(H, W)`` in [0, 1]: divided by its
    dtype's maximum (newest DeLTA) or, with ``rescale="min_max"``, rescaled to its own range."""
    return _native.read_image(path(filename), rescale)


def readreshape(filename: PathLike, target_size: Tuple[int, int] = (256, 32), binarize: bool = False, order: int = 1,
                rangescale: bool = True, crop: bool = False) -> np.ndarray:
    """DeLTA 2.0.7's ``readreshape``: read, resize to ``target_size`` (anti-aliased, ``order``
    0 nearest / 1 bilinear) or with ``crop`` zero-pad to at least it, optionally binarize at
    mid-range and min–max rescale. float64."""
    return _native.readreshape(path(filename), pair(target_size, "target_size", int), bool(binarize), int(order), bool(rangescale), bool(crop))


def binarizerange(array: Any) -> np.ndarray:
    """DeLTA 2.0.7's ``binarizerange``: 1.0 where the value is above ``(min + max) / 2``, else
    0.0 (float64)."""
    return _native.binarizerange(plane(array, np.float64, "array"))


def create_windows(img: Any, target_size: Tuple[int, int] = (512, 512), min_overlap: int = 24, *,
                   layout: str = "newest") -> Tuple[np.ndarray, List[Tuple[int, int]], List[Tuple[int, int]]]:
    """DeLTA's ``create_windows``: overlapping ``target_size`` tiles covering the image.

    Args:
        layout: ``"newest"`` (centred padding, evenly spread starts) or ``"2.0.7"``
            (``delta.utilities.create_windows``: padding at the bottom/right).

    Returns:
        ``(tiles (n, rows, cols) float32, loc_y, loc_x)``; spans are ``[start, end)`` pixels.
    """
    if layout not in ("newest", "2.0.7"):
        raise ValueError(f"layout must be 'newest' or '2.0.7', got {layout!r}")
    return _native.create_windows(plane(img, np.float32, "img"), pair(target_size, "target_size", int), int(min_overlap), layout == "2.0.7")


def stitch_pic(results: Any, loc_y: Sequence[Tuple[int, int]], loc_x: Sequence[Tuple[int, int]]) -> np.ndarray:
    """DeLTA's ``stitch_pic``: tiles (row-major) back into one float32 image of shape
    ``(loc_y[-1][1], loc_x[-1][1])``."""
    return _native.stitch_pic(stack(results, np.float32, "results"), [tuple(map(int, s)) for s in loc_y], [tuple(map(int, s)) for s in loc_x])


def label_seg(seg: Any, cellnumbers: Optional[Sequence[int]] = None) -> np.ndarray:
    """DeLTA's ``label_seg``: cells numbered from the top of the image down by their lowest
    point (or with ``cellnumbers`` in that order). uint16."""
    return _native.label_seg(_mask(seg, "seg"), None if cellnumbers is None else [int(c) for c in cellnumbers])


def synth_training_set(kind: str, out: PathLike, n: int = 64, seed: int = 1) -> int:
    """deltacell's built-in synthetic training sets (phase-contrast look, ground truth), the
    same bytes for the same seed: ``kind`` ``"mm-seg"`` (256×32), ``"2d-seg"`` (512×512),
    ``"mm-track"``, ``"2d-track"``, ``"rois"`` or ``"movie"``; ``n`` samples into ``out``."""
    return _native.synth_training_set(kind, path(out), int(n), int(seed))
