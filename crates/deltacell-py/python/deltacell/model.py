"""DeLTA's U-Nets in deltacell: Keras models in and out, and inference on numpy arrays.

* :func:`import_keras` converts DeLTA's released or self-trained Keras models (legacy HDF5, as
  DeLTA 2.0.7 saves them, or Keras 3 ``.keras``) into a deltacell run folder.
* :func:`export_keras` writes a run folder's model as a Keras model DeLTA loads (sigmoid
  output, DeLTA 2.0.7's layer names).
* :class:`Predictor` runs a run folder's model on numpy batches on the CPU (deltacell's own
  convolution kernels; no TensorFlow).
* :func:`train` trains, resumes or fine-tunes a model into a run folder: the library's training
  session, exactly what ``deltacell train`` runs.

No TensorFlow, Keras or HDF5 library is needed for any of them.
"""

from __future__ import annotations

from typing import Any, Dict, Optional, Sequence, Tuple

import numpy as np

from . import _native
from ._convert import PathLike, pair, path

__all__ = ["Predictor", "export_keras", "import_keras", "train"]


def import_keras(model_file: PathLike, kind: str, out: PathLike) -> Dict[str, Any]:
    """Converts a DeLTA Keras model into a deltacell run folder (``model.safetensors`` +
    ``model.toml``).

    Args:
        model_file: ``.hdf5``/``.h5`` (DeLTA 2.0.7, e.g. ``unet_moma_seg.hdf5``) or ``.keras``.
        kind: ``"seg"``, ``"track"`` or ``"rois"``; must agree with the model's input channels
            (1, 4, 1).
        out: the run folder to write.

    Returns:
        The model's metadata: ``kind``, ``levels``, ``filters``, ``input_channels``,
        ``input_size`` ``(rows, cols)``, ``epoch``, ``preset``.
    """
    return dict(_native.import_keras(path(model_file), str(kind), path(out)))


def export_keras(run_dir: PathLike, out: PathLike, *, input_size: Optional[Tuple[int, int]] = None,
                 head: Optional[str] = None) -> str:
    """Writes a run folder's model as a Keras model: ``.hdf5``/``.h5`` (legacy HDF5, what
    DeLTA 2.0.7's ``load_model``/``load_weights`` read) or ``.keras`` (Keras 3 zip), with
    DeLTA's layer names.

    Args:
        run_dir: a deltacell run folder (trained or imported).
        out: the file to write; the extension picks the format.
        input_size: ``(rows, cols)`` the Keras model declares (default: the run's), multiples
            of 2^(levels−1).
        head: ``"logits"`` (DeLTA 3's linear output, thresholded at 0 by its pipeline) or
            ``"sigmoid"`` (DeLTA 2.0.7's); default: logits for ``.keras``, sigmoid for
            ``.hdf5``/``.h5``, as ``deltacell export-keras``.

    Returns:
        The path written.
    """
    size = None if input_size is None else pair(input_size, "input_size", int)
    return str(_native.export_keras(path(run_dir), path(out), size, head))


def train(kind: str, data: PathLike, out: PathLike, *, preset: str = "2D",
          config: Optional[PathLike] = None, val: Optional[PathLike] = None, resume: bool = False,
          init_from: Optional[PathLike] = None, seed: int = 1, device: str = "cpu",
          epochs: Optional[int] = None, steps_per_epoch: Optional[int] = None,
          batch_size: Optional[int] = None, patience: Optional[int] = None,
          learning_rate: Optional[float] = None, levels: Optional[int] = None,
          filters: Optional[Sequence[int]] = None) -> Dict[str, Any]:
    """Trains a U-Net into a run folder (best model, checkpoint, ``history.csv``,
    ``curves.png``, ``config.toml``): the training session ``deltacell train`` runs, with the
    same checks, batches and files.

    Args:
        kind: ``"seg"``, ``"track"`` or ``"rois"``.
        data: a training-set folder in DeLTA's layout, or ``"builtin:synth"`` for the built-in
            synthetic rectangles (a smoke test needing no files).
        out: the run folder.
        preset: ``"mothermachine"``, ``"2D"`` or ``"2D-cpu"``; ``config`` (a TOML file) is laid
            over it.
        val: a validation folder (default: a held-out ``validation_split`` of ``data``).
        resume: continue the run in ``out`` from its checkpoint (same seed and epoch length);
            ``epochs`` is then the total to reach.
        init_from: a run folder whose best model is the starting point (fine-tuning), or a
            built-in pretrained model such as ``"builtin:colony-2d"`` (the ``2D-cpu`` preset's
            default start; a configuration's ``init_from = "none"`` starts from random weights).
        seed: seed of initialisation, data order and augmentation.
        device: ``"cpu"`` (or ``"cuda:N"`` in CUDA builds).
        epochs, steps_per_epoch, batch_size, patience, learning_rate, levels, filters: laid over
            the configuration's model table.

    Returns:
        ``{"epochs": [{"epoch", "loss", "acc", "val_loss", "val_acc", "val_f1", "val_cells",
        "seconds", "samples"}, …], "reason": "completed" | "early_stopped" | "interrupted", "steps": int}``;
        the epochs of earlier sessions of a resumed run are included.

    Raises:
        FileExistsError: ``out`` already holds a run and ``resume`` is false.
        ValueError: a bad option, or a resumed run that another seed, epoch length or
            architecture would not continue.
    """
    return dict(_native.train(
        str(kind), path(data), path(out), str(preset),
        None if config is None else path(config), None if val is None else path(val), bool(resume),
        None if init_from is None else path(init_from), int(seed), str(device), epochs,
        steps_per_epoch, batch_size, patience, learning_rate, levels,
        None if filters is None else [int(f) for f in filters]))


class Predictor:
    """A trained (or imported) model, ready to predict on the CPU: DeLTA's ``model.predict``.

    Args:
        run_dir: a deltacell run folder.
    """

    def __init__(self, run_dir: PathLike) -> None:
        self._native = _native.Predictor(path(run_dir))
        self.info: Dict[str, Any] = dict(self._native.info())

    @property
    def input_channels(self) -> int:
        """1 for segmentation and chambers, 4 for tracking."""
        return int(self.info["input_channels"])

    @property
    def input_size(self) -> Tuple[int, int]:
        """``(rows, cols)`` the model was trained at (any multiple of 2^(levels−1) works)."""
        return tuple(self.info["input_size"])  # type: ignore[return-value]

    def predict(self, x: Any, *, batch_size: int = 8, logits: bool = False) -> np.ndarray:
        """Predictions for a batch of inputs.

        Args:
            x: ``(n, rows, cols, channels)`` (or ``(n, rows, cols)`` for one channel) float32,
                intensities in [0, 1], e.g. from ``deltacell.data.predict_generator_seg`` or
                ``predict_compile_from_seg_track``; rows and cols multiples of 2^(levels−1).
            batch_size: samples per forward pass (memory bound), ≥ 1.
            logits: return logits (DeLTA's newest models) instead of sigmoid probabilities
                (DeLTA 2.0.7's).

        Returns:
            float32 ``(n, rows, cols, 1)``.
        """
        arr = np.asarray(x, dtype=np.float32)
        if arr.ndim == 3:
            arr = arr[..., None]
        if arr.ndim != 4:
            raise ValueError(f"x must be (n, rows, cols, channels), got shape {arr.shape}")
        if int(batch_size) < 1:
            raise ValueError(f"batch_size must be >= 1, got {batch_size}")
        if arr.shape[0] == 0:
            return np.zeros(arr.shape[:3] + (1,), dtype=np.float32)
        parts = [self._native.predict(np.ascontiguousarray(arr[i:i + int(batch_size)]), bool(logits))
                 for i in range(0, arr.shape[0], int(batch_size))]
        return parts[0] if len(parts) == 1 else np.concatenate(parts)
