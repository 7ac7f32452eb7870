"""End to end with Keras 3: a small U-Net trains for a few steps on
``load_training_dataset_seg(..., stack=True)`` and on ``train_generator_track``, with DeLTA's
stacked pixel-wise weighted binary cross-entropy written here. Skipped (with the reason printed)
when TensorFlow/Keras is not installed."""

from __future__ import annotations

import importlib.util
import os

import numpy as np
import pytest

if importlib.util.find_spec("tensorflow") is None or importlib.util.find_spec("keras") is None:
    print("test_keras.py skipped: TensorFlow/Keras is not installed (pip install tensorflow-cpu)")
    pytest.skip("TensorFlow/Keras is not installed (pip install tensorflow-cpu)", allow_module_level=True)

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("KERAS_BACKEND", "tensorflow")
import keras  # noqa: E402
from keras import ops  # noqa: E402

from deltacell import data  # noqa: E402


def stacked_loss(replace_zero_weights: bool):
    """DeLTA's ``pixelwise_weighted_binary_crossentropy_seg`` (``replace_zero_weights``) and
    ``_track``: ``y_true`` = [label, weight]; the model outputs sigmoid probabilities (2.0.7).
    Zero weights become the predicted probability (segmentation only); per pixel
    ``w · BCE(label, p)`` (p clipped to [1e-7, 1 − 1e-7]), mean over the channel axis, times
    ``1e6 / sqrt(Σ w)`` over the whole batch."""

    def loss(y_true, y_pred):
        label, weight = y_true[..., :1], y_true[..., 1:2]
        p = ops.clip(y_pred, 1e-7, 1 - 1e-7)
        if replace_zero_weights:
            weight = ops.where(ops.equal(weight, 0), y_pred, weight)
        z = ops.log(p / (1 - p))
        bce = ops.maximum(z, 0) - z * label + ops.log(1 + ops.exp(-ops.abs(z)))
        per_pixel = ops.mean(weight * bce, axis=-1)
        return per_pixel * 1e6 / ops.sqrt(ops.sum(weight))

    return loss


def small_unet(shape, filters=(8, 16)):
    """DeLTA's U-Net topology with two levels and few filters."""
    inp = keras.Input(shape)
    c0 = keras.layers.Conv2D(filters[0], 3, padding="same", activation="relu")(inp)
    c0 = keras.layers.Conv2D(filters[0], 3, padding="same", activation="relu")(c0)
    p1 = keras.layers.MaxPooling2D(2)(c0)
    c1 = keras.layers.Conv2D(filters[1], 3, padding="same", activation="relu")(p1)
    c1 = keras.layers.Conv2D(filters[1], 3, padding="same", activation="relu")(c1)
    u0 = keras.layers.UpSampling2D(2)(c1)
    u0 = keras.layers.Conv2D(filters[0], 2, padding="same", activation="relu")(u0)
    m0 = keras.layers.Concatenate(axis=3)([c0, u0])
    m0 = keras.layers.Conv2D(filters[0], 3, padding="same", activation="relu")(m0)
    m0 = keras.layers.Conv2D(filters[0], 3, padding="same", activation="relu")(m0)
    out = keras.layers.Conv2D(1, 1, activation="sigmoid")(m0)
    return keras.Model(inp, out)


@pytest.fixture(scope="module")
def sets(tmp_path_factory):
    root = tmp_path_factory.mktemp("keras-sets")
    data.synth_training_set("mm-seg", root / "mm-seg", n=8, seed=1)
    data.make_weights(root / "mm-seg", data.seg_weights)
    data.synth_training_set("mm-track", root / "mm-track", n=8, seed=2)
    return root


def test_fit_segmentation_dataset(sets):
    keras.utils.set_random_seed(1)
    aug = {"rotation": 2, "zoom": 0.15, "horizontal_flip": True, "vertical_flip": True, "illumination_voodoo": True,
           "gaussian_noise": 0.03, "gaussian_blur": 1}
    train, val = data.load_training_dataset_seg(sets / "mm-seg", (64, 32), crop=False, kw_data_aug=aug, validation_split=0.25,
                                                stack=True, batch_size=2)
    assert isinstance(train, keras.utils.PyDataset)
    model = small_unet((64, 32, 1))
    model.compile(optimizer=keras.optimizers.Adam(1e-3), loss=stacked_loss(True))
    hist = model.fit(train, validation_data=val, epochs=2, steps_per_epoch=3, verbose=0)
    losses = hist.history["loss"]
    assert len(losses) == 2 and all(np.isfinite(losses)) and np.isfinite(hist.history["val_loss"]).all()
    assert train.epoch >= 2  # Keras called on_epoch_end


def test_fit_tracking_generator(sets):
    keras.utils.set_random_seed(1)
    t = sets / "mm-track"
    gen = data.train_generator_track(2, t / "img", t / "seg", t / "previmg", t / "segall", t / "mot_dau", "online",
                                     augment_params={"rotation": 1, "zoom": 0.15, "horizontal_flip": True,
                                                     "histogram_voodoo": True, "illumination_voodoo": True},
                                     target_size=(64, 32))
    model = small_unet((64, 32, 4))
    model.compile(optimizer=keras.optimizers.Adam(1e-4), loss=stacked_loss(False))
    hist = model.fit(gen, epochs=1, steps_per_epoch=3, verbose=0)
    assert np.isfinite(hist.history["loss"]).all()
    assert data.loader_stats(gen)["batches"] >= 3


def test_exported_model_predicts_in_keras_like_the_predictor(tmp_path):
    from conftest import REFERENCE
    from deltacell import model

    model.import_keras(REFERENCE / "keras" / "unet_track_levels3.hdf5", "track", tmp_path / "run")
    with np.load(REFERENCE / "keras" / "unet_track_levels3_io.npz") as z:
        x = z["x"]
    predictor = model.Predictor(tmp_path / "run")
    probabilities, logits = predictor.predict(x), predictor.predict(x, logits=True)
    # The default head follows the format (.keras: DeLTA 3's logits; .hdf5: DeLTA 2.0.7's
    # sigmoid); both heads can be asked for explicitly.
    for ext, head, ours in [("keras", None, logits), ("hdf5", None, probabilities),
                            ("keras", "sigmoid", probabilities), ("hdf5", "logits", logits)]:
        path = model.export_keras(tmp_path / "run", tmp_path / f"track-{head}.{ext}", head=head)
        theirs = keras.saving.load_model(path, compile=False).predict(x, verbose=0)
        assert np.max(np.abs(theirs - ours)) < 1e-4, (ext, head)
