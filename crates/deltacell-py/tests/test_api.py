"""The Python surface: DeLTA's names and shapes, PyDataset behaviour, exceptions, inputs left
untouched, and no Keras/PyTorch import."""

from __future__ import annotations

import functools
import subprocess
import sys
import types

import numpy as np
import pytest

from deltacell import data

SEG_AUG = {"rotation": 2, "zoom": 0.15, "horizontal_flip": True, "vertical_flip": True, "illumination_voodoo": True}


@pytest.fixture(scope="module")
def sets(tmp_path_factory):
    root = tmp_path_factory.mktemp("sets")
    data.synth_training_set("mm-seg", root / "mm-seg", n=10, seed=1)
    data.synth_training_set("mm-track", root / "mm-track", n=6, seed=2)
    return root


def test_import_does_not_import_keras_or_torch():
    code = "import sys, deltacell, deltacell.data; bad = [m for m in ('keras', 'tensorflow', 'torch') if m in sys.modules]; print(bad); sys.exit(1 if bad else 0)"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr


def test_dataset_protocol(sets):
    ds = data.load_training_dataset_seg(sets / "mm-seg", (256, 32), crop=False, kw_data_aug=SEG_AUG, seed=3)
    assert len(ds) == 10 and ds.num_batches == 10 and ds.samples == 10  # DeLTA: one sample per item
    x, m, w = ds[0]
    assert x.shape == m.shape == w.shape == (1, 256, 32, 1)
    assert x.dtype == np.float32 and set(np.unique(m)) <= {0.0, 1.0}
    assert np.all(w == 1)  # no wei/ folder: all ones, as DeLTA
    assert np.array_equal(ds[-1][0], ds[9][0])
    with pytest.raises(IndexError):
        ds[10]
    assert sum(1 for _ in ds) == 10
    first = ds[3][0]
    ds.on_epoch_end()
    assert ds.epoch == 1
    assert not np.array_equal(ds[3][0], first)  # a new shuffle and new draws


def test_out_of_order_access_gives_the_same_batches(sets):
    kw = dict(crop=False, kw_data_aug=SEG_AUG, seed=4, stack=True, batch_size=3)
    a = data.load_training_dataset_seg(sets / "mm-seg", (256, 32), **kw)
    b = data.load_training_dataset_seg(sets / "mm-seg", (256, 32), workers=0, **kw)
    order = [2, 0, 1, 3, 1]
    for i in order:
        xa, ya = a[i]
        xb, yb = b[i]
        assert np.array_equal(xa, xb) and np.array_equal(ya, yb)


def test_splits_and_validation_in_order(sets):
    train, val, test = data.load_training_dataset_seg(sets / "mm-seg", (128, 16), crop=False, kw_data_aug=SEG_AUG,
                                                      validation_split=0.2, test_split=0.2, seed=1, stack=True)
    assert (train.samples, val.samples, test.samples) == (6, 2, 2)
    v0 = val[0][0]
    val.on_epoch_end()
    assert np.array_equal(val[0][0], v0)  # evaluation data: no shuffle, no augmentation
    assert train[0][0].shape == (1, 128, 16, 1)


def test_train_generator_track_is_a_generator(sets):
    t = sets / "mm-track"
    gen = data.train_generator_track(2, t / "img", t / "seg", t / "previmg", t / "segall", t / "mot_dau", "online",
                                     augment_params={"rotation": 1}, shift=5)
    assert isinstance(gen, types.GeneratorType)
    x, y = next(gen)
    assert x.shape == (2, 256, 32, 4) and y.shape == (2, 256, 32, 2)
    assert y[..., 1].max() > 100  # online tracking weights
    stats = data.loader_stats(gen)
    assert stats["batches"] == 1 and stats["samples"] == 2
    old = data.trainGenerator_track(2, t / "img", t / "seg", t / "previmg", t / "segall", t / "mot_dau", None,
                                    {"rotation": 1}, False, (256, 32), 0, 1)
    x, y = next(old)
    assert np.all(y[..., 1] == 1)


def test_data_augmentation_shapes_dtypes_and_inputs_untouched():
    rng = np.random.default_rng(0)
    img = rng.random((64, 48), dtype=np.float32)
    mask = (rng.random((64, 48)) > 0.7).astype(np.uint8)
    before = (img.copy(), mask.copy())
    out = data.data_augmentation([img, mask], {"rotations_90d": True, "rotation": 10, "illumination_voodoo": True}, order=[1, 0], rng=5)
    assert out[0].dtype == np.float32 and out[1].dtype == np.uint8
    assert out[0].shape == out[1].shape and out[0].shape in ((64, 48), (48, 64))
    assert set(np.unique(out[1])) <= {0, 1}
    assert np.array_equal(img, before[0]) and np.array_equal(mask, before[1])
    g1, g2 = np.random.default_rng(9), np.random.default_rng(9)
    a = data.data_augmentation([img], {"gaussian_noise": 0.1}, order=1, rng=g1)
    b = data.data_augmentation([img], {"gaussian_noise": 0.1}, order=1, rng=g2)
    assert np.array_equal(a[0], b[0])  # the same Generator state gives the same result


def test_misspelled_augmentation_key_is_a_value_error_with_the_right_key():
    with pytest.raises(ValueError, match="did you mean gaussian_noise"):
        data.data_augmentation([np.zeros((8, 8), np.float32)], {"gaussion_noise": 0.03}, rng=1)
    with pytest.raises(ValueError, match="rotation"):
        data.data_augmentation([np.zeros((8, 8), np.float32)], {"rotation": 500}, rng=1)


def test_bad_values_are_value_errors():
    m = np.zeros((16, 16), np.uint8)
    with pytest.raises(ValueError, match="classweights"):
        data.seg_weights(m, classweights=(float("nan"), 1))
    with pytest.raises(ValueError, match="halo_distance"):
        data.tracking_weights(m, m, halo_distance=-1)
    with pytest.raises(ValueError, match="intensity images must lie in"):
        data.data_augmentation([np.full((8, 8), 300, np.float32)], {"rotation": 1}, order=1, rng=1)
    with pytest.raises(ValueError, match="2-D"):
        data.seg_weights(np.zeros(5))
    with pytest.raises(ValueError, match="shape mismatch"):
        data.tracking_weights(m, np.zeros((8, 8), np.uint8))


def test_missing_folders_are_file_not_found_errors_naming_them(tmp_path):
    missing = tmp_path / "nowhere"
    with pytest.raises(FileNotFoundError) as e:
        data.load_training_dataset_seg(missing, (256, 32), crop=False, kw_data_aug={})
    assert e.value.filename == str(missing)
    with pytest.raises(FileNotFoundError, match="track_path"):
        data.train_generator_track(1, tmp_path, tmp_path, tmp_path, tmp_path, missing)
    with pytest.raises(FileNotFoundError):
        data.make_weights(missing, data.seg_weights)
    with pytest.raises(FileNotFoundError):
        data.estimate_seg2D_classweights(missing)
    with pytest.raises(FileNotFoundError) as e:
        data.read_image(missing / "x.png")
    assert "x.png" in str(e.value)


def test_broken_files_are_value_errors_naming_them(sets, tmp_path):
    bad = tmp_path / "set"
    for sub in ("img", "seg"):
        (bad / sub).mkdir(parents=True)
        for f in (sets / "mm-seg" / sub).iterdir():
            (bad / sub / f.name).write_bytes(f.read_bytes())
    victim = sorted((bad / "img").iterdir())[0]
    victim.write_bytes(b"not a png")
    ds = data.load_training_dataset_seg(bad, (256, 32), crop=False, kw_data_aug={}, storage="stream")
    with pytest.raises(ValueError, match=victim.name):
        for i in range(len(ds)):
            ds[i]


def test_make_weights(sets, tmp_path):
    root = tmp_path / "mm"
    data.synth_training_set("mm-seg", root, n=3, seed=5)
    assert data.make_weights(root, functools.partial(data.seg_weights, w0=10)) == 3
    assert sorted(p.name for p in (root / "wei").iterdir() if p.suffix == ".png") == sorted(p.name for p in (root / "seg").iterdir())
    with pytest.raises(FileExistsError):
        data.make_weights(root, data.seg_weights)
    assert data.make_weights(root, "seg_weights_2D", force=True) == 3
    with pytest.raises(TypeError):
        data.make_weights(root, lambda m: m, force=True)
    ds = data.load_training_dataset_seg(root, (256, 32), crop=False, kw_data_aug={}, stack=True)
    assert ds[0][1][..., 1].max() <= 1.0


def test_prediction_helpers(sets, tmp_path):
    img_dir = sets / "mm-seg" / "img"
    items = list(data.predict_generator_seg(img_dir, target_size=(128, 16)))
    assert len(items) == 10 and all(isinstance(i, tuple) and i[0].shape == (1, 128, 16) for i in items)
    old = next(iter(data.predictGenerator_seg(img_dir, target_size=(128, 16))))
    assert old.shape == (1, 128, 16) and 0 <= old.min() and old.max() <= 1
    assert old.max() - old.min() > np.ptp(items[0][0])  # 2.0.7: each image stretched to its range
    pred = np.linspace(0, 1, 2 * 8 * 6, dtype=np.float32).reshape(2, 8, 6, 1)
    written = data.save_result_seg(tmp_path, pred, files_list=["a.tif", "b.png"])
    assert [p.rsplit("/", 1)[1] for p in written] == ["a.png", "b.png"]
    back = data.read_image(written[0])
    assert np.array_equal(np.round(back * 255), np.round(pred[0, ..., 0] * 255))
    assert data.saveResult_track(tmp_path, pred)[1].endswith("tracking_000000001.png")
    with pytest.raises(FileNotFoundError):
        data.save_result_seg(tmp_path / "missing", pred)


def test_torch_dataloader(sets):
    torch = pytest.importorskip("torch", reason="PyTorch is not installed")
    ds = data.load_training_dataset_seg(sets / "mm-seg", (256, 32), crop=False, kw_data_aug={}, stack=True, batch_size=2)
    loader = torch.utils.data.DataLoader(ds, batch_size=None)
    x, y = next(iter(loader))
    assert tuple(x.shape) == (2, 256, 32, 1)
    t = sets / "mm-track"
    gen = data.train_generator_track(2, t / "img", t / "seg", t / "previmg", t / "segall", t / "mot_dau")
    x, y = next(iter(torch.utils.data.DataLoader(data.torch_dataset(gen), batch_size=None)))
    assert tuple(y.shape) == (2, 256, 32, 2)


@pytest.mark.parametrize("call", [
    lambda: data.seg_weights(np.zeros((0, 0), np.uint8)),
    lambda: data.seg_weights(np.ones((1, 1), np.uint8)),
    lambda: data.seg_weights_2D(np.zeros((0, 5), np.uint8)),
    lambda: data.seg_weights_2D(np.ones((3, 3), np.uint8)),
    lambda: data.tracking_weights(np.zeros((0, 0), np.uint8), np.zeros((0, 0), np.uint8)),
    lambda: data.tracking_weights(np.ones((2, 2), np.uint8), np.ones((2, 2), np.uint8)),
    lambda: data.data_augmentation([], {"rotation": 5}, rng=1),
    lambda: data.data_augmentation([np.zeros((0, 4), np.float32)], {"rotation": 5, "elastic_deformation": {"sigma": 3, "points": 3}}, order=1, rng=1),
    lambda: data.data_augmentation([np.zeros((1, 1), np.float32)], {"resize": True, "zoom": 4, "rotations_90d": True}, order=1, rng=1),
    lambda: data.random_crop(np.zeros((0, 0), np.float32), np.zeros((0, 0), np.uint8), None, (4, 4), rng=1),
    lambda: data.random_crop(np.zeros((3, 3), np.float32), np.zeros((3, 3), np.uint8), None, (0, 4), rng=1),
    lambda: data.create_windows(np.zeros((10, 10), np.float32), (4, 4), 8),
    lambda: data.create_windows(np.zeros((0, 0), np.float32), (4, 4), 1),
    lambda: data.stitch_pic(np.zeros((1, 4, 4), np.float32), [(0, 4)], [(0, 4), (2, 6)]),
    lambda: data.label_seg(np.zeros((0, 3), np.uint8)),
    lambda: data.label_seg(np.ones((3, 3), np.uint8), cellnumbers=[1, 2]),
    lambda: data.postprocess(np.zeros((0, 4, 4), np.float32)),
    lambda: data.postprocess(np.zeros((2, 1, 1), np.float32), square_size=9, min_size=5),
    lambda: data.binarizerange(np.zeros((0, 0))),
    lambda: data.estimate_seg2D_classweights(".", sample_size=0),
])
def test_edge_inputs_give_results_or_value_errors_never_panics(call):
    try:
        call()
    except ValueError:
        pass
