"""deltacell.data against DeLTA 2.0.7's own outputs (``../shared/reference/delta-2.0.7``), to the
tolerances of the Rust parity tests (``crates/deltacell-data/tests/parity_*.rs``): float outputs
to 1e-5 absolute (tracking weights after normalising by the maximum, as ``wei/`` files store
them), integer and binary outputs exactly."""

from __future__ import annotations

import numpy as np
import pytest

from conftest import load_case, write_png
from deltacell import data


@pytest.fixture(autouse=True)
def _needs_reference(reference_dir):
    return reference_dir


@pytest.mark.parametrize(
    "case, params",
    [
        ("seg_weights_mm0", {}),
        ("seg_weights_mm1", {}),
        ("seg_weights_mm2", {}),
        ("seg_weights_mm_params", {"classweights": (0.5, 2), "w0": 10, "sigma": 3}),
        ("seg_weights_single", {}),
    ],
)
def test_seg_weights(case, params):
    z = load_case(case)
    got = data.seg_weights(z["in_mask"], **params)
    assert got.dtype == np.float64 and got.shape == z["out"].shape
    assert np.max(np.abs(got - z["out"])) < 1e-5


@pytest.mark.parametrize("case, cw", [("seg_weights_2D_0", (1, 1)), ("seg_weights_2D_1", (1, 1)), ("seg_weights_2D_cw", (0.7, 1.3))])
def test_seg_weights_2D(case, cw):
    z = load_case(case)
    got = data.seg_weights_2D(z["in_mask"], classweights=cw)
    assert got.dtype == np.float32 and got.shape == z["out"].shape
    assert np.max(np.abs(got.astype(np.float64) - z["out"])) < 1e-5


@pytest.mark.parametrize("case, halo", [("tracking_weights_mm0", 50), ("tracking_weights_mm1", 50), ("tracking_weights_2D", 30)])
def test_tracking_weights(case, halo):
    z = load_case(case)
    got = data.tracking_weights(z["in_track"], z["in_segall"], halo_distance=halo)
    assert got.dtype == np.float32
    scale = z["out"].max()
    assert np.max(np.abs(got / scale - z["out"] / scale)) < 1e-5


def test_tracking_weights_escaped_cell_raw():
    z = load_case("tracking_weights_escaped")
    got = data.tracking_weights(z["in_track"], z["in_segall"])
    assert np.max(np.abs(got - z["out"])) < 1e-5


def test_masks_given_as_0_255_or_bool_give_the_same_weights():
    m = load_case("seg_weights_mm1")["in_mask"]
    ref = data.seg_weights(m)
    assert np.array_equal(data.seg_weights(m * 255), ref)
    assert np.array_equal(data.seg_weights(m.astype(bool)), ref)
    assert np.array_equal(data.seg_weights(m[..., None]), ref)


def test_binarizerange():
    z = load_case("binarizerange")
    got = data.binarizerange(z["in_array"])
    assert got.dtype == np.float64
    assert np.array_equal(got, z["out"])


def test_label_seg():
    z = load_case("label_seg")
    got = data.label_seg(z["in_seg"])
    assert got.dtype == np.uint16
    assert np.array_equal(got, z["out"])


def test_postprocess_v207():
    z = load_case("postprocess")
    got = data.postprocess(z["in_pred"][None], square_size=5, min_size=20, threshold="midrange")
    assert got.shape == z["out"].shape
    assert np.array_equal(got, z["out"].astype(np.uint8))


def test_postprocess_newest_logits_example():
    logits = np.array([[-3, -1, 1.5], [3, 0.5, -0.1]], dtype=np.float32)
    assert np.array_equal(data.postprocess(logits, square_size=0), [[0, 0, 1], [1, 1, 0]])


@pytest.mark.parametrize("case, target", [("create_windows_stitch", (512, 512)), ("create_windows_pad", (256, 256))])
def test_create_windows_and_stitch(case, target):
    z = load_case(case)
    tiles, loc_y, loc_x = data.create_windows(z["in_img"], target_size=target, min_overlap=24, layout="2.0.7")
    assert np.array_equal(np.array(loc_y), z["out_loc_y"])
    assert np.array_equal(np.array(loc_x), z["out_loc_x"])
    assert np.array_equal(tiles, z["out_windows"])
    back = data.stitch_pic(tiles, loc_y, loc_x)
    assert np.array_equal(back, z["in_img"])


def test_readreshape(tmp_path):
    z = load_case("readreshape")
    write_png(tmp_path / "img.png", z["in_img_u16"])
    write_png(tmp_path / "seg.png", z["in_seg_u8"])
    img = data.readreshape(tmp_path / "img.png", target_size=(256, 32), order=1)
    assert img.dtype == np.float64 and img.shape == (256, 32)
    assert np.max(np.abs(img - z["out_img"])) < 1e-5
    seg = data.readreshape(tmp_path / "seg.png", target_size=(256, 32), binarize=True, order=0, rangescale=False)
    assert np.array_equal(seg, z["out_seg"])


def test_predict_compile_from_seg_track(tmp_path):
    z = load_case("predict_compile_track")
    (tmp_path / "img").mkdir()
    (tmp_path / "seg").mkdir()
    files = [f"Position01_Chamber01_Frame{k + 1:03}.png" for k in range(3)]
    for k, name in enumerate(files):
        write_png(tmp_path / "img" / name, z[f"in_img_{k}"])
        write_png(tmp_path / "seg" / name, z[f"in_seg_{k}"])
    x, names, boxes = data.predictCompilefromseg_track(tmp_path / "img", tmp_path / "seg", files, target_size=(256, 32), crop=False)
    assert x.dtype == np.float32 and x.shape == z["out"].shape
    assert np.max(np.abs(x - z["out"])) <= 1e-5
    assert names == [str(n) for n in z["out_names"]]
    # Resize mode: every window is the whole (resized) frame.
    assert boxes == [data.CroppingBox(0, 0, 256, 32)] * len(names)

