"""deltacell.model: DeLTA 2.0.7's own Keras models (``../shared/reference/delta-2.0.7/keras``)
imported and run without TensorFlow give DeLTA's predictions to 1e-4 (as the Rust test
``crates/deltacell-nn/tests/keras.rs``); export → import gives the same model back."""

from __future__ import annotations

import numpy as np
import pytest

from conftest import REFERENCE
from deltacell import model


@pytest.mark.parametrize("name, ext, kind, channels", [
    ("unet_seg_levels2", "hdf5", "seg", 1), ("unet_seg_levels2", "keras", "seg", 1),
    ("unet_track_levels3", "hdf5", "track", 4),
])
def test_import_keras_predicts_like_delta(tmp_path, reference_dir, name, ext, kind, channels):
    info = model.import_keras(REFERENCE / "keras" / f"{name}.{ext}", kind, tmp_path / "run")
    assert info["kind"] == kind and info["input_channels"] == channels
    with np.load(REFERENCE / "keras" / f"{name}_io.npz") as z:
        x, y = z["x"], z["y"]
    p = model.Predictor(tmp_path / "run")
    got = p.predict(x, batch_size=1)
    assert got.shape == y.shape and got.dtype == np.float32
    assert np.max(np.abs(got - y)) < 1e-4
    # Same batching as above: the convolutions' rounding depends on how images are batched
    # (Winograd tiles and per-thread partial sums), by a few 1e-6.
    logits = p.predict(x, batch_size=1, logits=True)
    assert np.max(np.abs(1 / (1 + np.exp(-logits)) - got)) < 1e-6


def test_export_then_import_round_trip(tmp_path, reference_dir):
    model.import_keras(REFERENCE / "keras" / "unet_seg_levels2.hdf5", "seg", tmp_path / "run")
    for ext in ("hdf5", "keras"):
        out = model.export_keras(tmp_path / "run", tmp_path / f"back.{ext}")
        model.import_keras(out, "seg", tmp_path / f"again-{ext}")
        with np.load(REFERENCE / "keras" / "unet_seg_levels2_io.npz") as z:
            x = z["x"]
        a = model.Predictor(tmp_path / "run").predict(x)
        b = model.Predictor(tmp_path / f"again-{ext}").predict(x)
        assert np.array_equal(a, b)


def test_model_errors(tmp_path, reference_dir):
    with pytest.raises(FileNotFoundError):
        model.Predictor(tmp_path / "missing")
    with pytest.raises(FileNotFoundError):
        model.import_keras(tmp_path / "missing.hdf5", "seg", tmp_path / "run")
    with pytest.raises(ValueError, match="track"):
        model.import_keras(REFERENCE / "keras" / "unet_seg_levels2.hdf5", "tracks", tmp_path / "run")
    model.import_keras(REFERENCE / "keras" / "unet_seg_levels2.hdf5", "seg", tmp_path / "run")
    p = model.Predictor(tmp_path / "run")
    with pytest.raises(ValueError, match="input channels"):
        p.predict(np.zeros((1, 64, 32, 4), np.float32))
    with pytest.raises(ValueError, match="unknown extension"):
        model.export_keras(tmp_path / "run", tmp_path / "x.onnx")
    with pytest.raises(ValueError, match="logits"):
        model.export_keras(tmp_path / "run", tmp_path / "x.keras", head="linear")
