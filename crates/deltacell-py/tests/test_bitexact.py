"""deltacell.data equals the Rust library bit for bit on the same seed: every value below was
written by ``crates/deltacell-data/examples/py_reference.rs`` calling the library directly with
the same arguments (see that file)."""

from __future__ import annotations

import numpy as np
import pytest

from deltacell import data

SEG_AUG = {"rotation": 2, "zoom": 0.15, "horizontal_flip": True, "vertical_flip": True,
           "illumination_voodoo": True, "gaussian_noise": 0.03, "gaussian_blur": 1}
TRACK_AUG = {"rotation": 1, "zoom": 0.15, "horizontal_flip": True, "histogram_voodoo": True, "illumination_voodoo": True}


@pytest.fixture(scope="module")
def ref(rust_reference):
    with np.load(rust_reference / "reference.npz") as z:
        return {k: z[k] for k in z.files}


def same(a, b):
    assert a.shape == b.shape and a.dtype == b.dtype, (a.shape, a.dtype, b.shape, b.dtype)
    assert np.array_equal(a, b), f"{np.count_nonzero(a != b)} values differ"


def test_data_augmentation(ref):
    img, mask, wei = ref["aug_in"]
    aug = dict(SEG_AUG, histogram_voodoo=True, shiftX=0.1, shiftY=0.05, elastic_deformation={"sigma": 2, "points": 3})
    before = [img.copy(), mask.copy(), wei.copy()]
    out = data.data_augmentation([img, mask.astype(np.uint8), wei], aug, order=[1, 0, 0], rng=42)
    same(out[0], ref["aug_out"][0])
    same(out[1], ref["aug_out"][1].astype(np.uint8))
    same(out[2], ref["aug_out"][2])
    for a, b in zip([img, mask, wei], before):  # inputs untouched
        assert np.array_equal(a, b)
    # The same call again gives the same result; an array input gives an array.
    again = data.data_augmentation(ref["aug_in"], aug, order=[1, 0, 0], rng=42)
    same(again, ref["aug_out"])


def test_random_crop(ref):
    r, c = np.mgrid[0:40, 0:30]
    img = (((r * 30 + c) % 97) / 97).astype(np.float32)
    seg = ((r + c) % 7 == 0).astype(np.uint8)
    wei = (r * c / 10).astype(np.float32)
    i, s, w = data.random_crop(img, seg, wei, (32, 48), rng=17)
    same(i, ref["crop_img"])
    same(s, ref["crop_seg"])
    same(w, ref["crop_wei"])


def test_load_training_dataset_seg_mother_machine(rust_reference, ref):
    train, val = data.load_training_dataset_seg(rust_reference / "mm-seg", (256, 32), crop=False, kw_data_aug=SEG_AUG,
                                                validation_split=0.25, seed=7, stack=True, batch_size=4)
    assert len(train) == 3 and len(val) == 1  # 12 files: 9 training (3 batches of 4), 3 validation
    for e, s in [(0, 0), (0, 1)]:
        x, y = train[s]
        same(x, ref[f"mm_train_e{e}_s{s}_x"])
        same(y, ref[f"mm_train_e{e}_s{s}_y"])
    train.on_epoch_end()
    x, y = train[0]
    same(x, ref["mm_train_e1_s0_x"])
    same(y, ref["mm_train_e1_s0_y"])
    x, y = val[0]
    same(x, ref["mm_val_e0_s0_x"])
    same(y, ref["mm_val_e0_s0_y"])


def test_load_training_dataset_seg_2d_online_weights(rust_reference, ref):
    aug = dict(SEG_AUG, rotations_90d=True)
    ds = data.load_training_dataset_seg(rust_reference / "2d-seg", (128, 128), crop=True, kw_data_aug=aug, seed=9,
                                        stack=False, batch_size=2, weights=data.seg_weights_2D)
    x, m, w = ds[0]
    same(x, ref["2d_train_e0_s0_x"])
    same(np.concatenate([m, w], axis=-1), ref["2d_train_e0_s0_y"])
    ds.on_epoch_end()
    ds.on_epoch_end()
    x, m, w = ds[1]
    same(x, ref["2d_train_e2_s1_x"])
    same(np.concatenate([m, w], axis=-1), ref["2d_train_e2_s1_y"])


def test_train_generator_track_online(rust_reference, ref):
    t = rust_reference / "mm-track"
    gen = data.train_generator_track(3, t / "img", t / "seg", t / "previmg", t / "segall", t / "mot_dau", "online",
                                     augment_params=TRACK_AUG, target_size=(256, 32), seed=11)
    for s in range(2):
        x, y = next(gen)
        same(x, ref[f"track_e0_s{s}_x"])
        same(y, ref[f"track_e0_s{s}_y"])


def test_trainGenerator_seg_without_weights(rust_reference, ref):
    m = rust_reference / "mm-seg"
    gen = data.trainGenerator_seg(2, m / "img", m / "seg", None, (256, 32), SEG_AUG, seed=5)
    x, y = next(gen)
    assert y.shape[-1] == 1
    same(x, ref["seg207_e0_s0_x"])
    same(y, ref["seg207_e0_s0_y"])


def test_estimate_seg2D_classweights(rust_reference, ref):
    got = data.estimate_seg2D_classweights(rust_reference / "2d-seg" / "seg", sample_size=2, rng=13)
    assert got == tuple(float(v) for v in ref["classweights"])
    assert max(got) == 1.0
