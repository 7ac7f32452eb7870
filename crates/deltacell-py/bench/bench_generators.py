"""Batches per second of DeLTA's generators and of deltacell.data's, side by side, from Python.

    python crates/deltacell-py/bench/bench_generators.py [--seconds 20] [--delta-seconds 30]

Rows (synthetic training sets made by deltacell, read by both):
  1. seg 256x32, batch 8, weights from wei/ (DeLTA: trainGenerator_seg; deltacell:
     load_training_dataset_seg(stack=True), a Keras PyDataset, read in order)
  2. seg 512x512, batch 2, seg_weights_2D computed on the fly (DeLTA: trainGenerator_seg with
     crop_windows and seg_weights_2D on each mask; deltacell: weights=seg_weights_2D)
  3. track 256x32, batch 8, online tracking weights (trainGenerator_track /
     train_generator_track, weights_path="online")

DeLTA's columns need `delta2` (DeLTA 2.0.7) importable; without it only deltacell's are printed.
The augmentation is DeLTA's training recipe without `zoom`: DeLTA 2.0.7's zoom calls
scikit-image's `rescale(multichannel=...)`, which current scikit-image no longer has, so it
cannot run there. "GIL %" is the share of deltacell's batch-building time during which the GIL
was held (handing finished buffers to numpy). The batches per second are measured with a
consumer that asks for the next batch at once; "wait@…ms" is the mean time a consumer waits for
its batch when a simulated U-Net step (a GIL-free pause of --step-ms) follows each batch, as in
training (after 5 such steps that let the workers refill the queue the rate measurement
drained): 0 means the data was always ready.
This is a benchmark, not a test: nothing is asserted.
"""

from __future__ import annotations

import argparse
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

from deltacell import data  # noqa: E402

SEG_AUG = {"rotation": 2, "horizontal_flip": True, "vertical_flip": True, "illumination_voodoo": True,
           "gaussian_noise": 0.03, "gaussian_blur": 1}
TRACK_AUG = {"rotation": 1, "horizontal_flip": True, "histogram_voodoo": True, "illumination_voodoo": True}


def machine() -> str:
    model = platform.processor() or "unknown CPU"
    try:
        out = subprocess.run(["lscpu"], capture_output=True, text=True).stdout
        for line in out.splitlines():
            if line.startswith("Model name:"):
                model = line.split(":", 1)[1].strip()
    except OSError:
        pass
    load = os.getloadavg() if hasattr(os, "getloadavg") else (float("nan"),) * 3
    return f"{model}, {os.cpu_count()} logical CPUs, load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}"


def rate(next_batch, seconds: float, min_batches: int) -> float:
    next_batch()  # warm-up: first reads, thread start
    n, t0 = 0, time.perf_counter()
    while n < min_batches or time.perf_counter() - t0 < seconds:
        next_batch()
        n += 1
    return n / (time.perf_counter() - t0)


def wait_per_step(next_batch, stats, step_s: float, steps: int) -> float:
    """Mean time (ms) the consumer waits for a batch when each batch is followed by a
    ``step_s`` pause, as a U-Net step on another thread or device would be (the GIL is free
    meanwhile, as it is while TensorFlow or PyTorch compute)."""
    for _ in range(5):  # let the workers refill the queue the rate measurement drained
        next_batch()
        time.sleep(step_s)
    before = stats()["waited_s"]
    for _ in range(steps):
        next_batch()
        time.sleep(step_s)
    return 1000 * (stats()["waited_s"] - before) / steps


def dataset_reader(ds):
    state = {"i": 0}

    def nxt():
        if state["i"] == len(ds):
            ds.on_epoch_end()
            state["i"] = 0
        out = ds[state["i"]]
        state["i"] += 1
        return out

    return nxt


def make_sets(root: Path) -> None:
    data.synth_training_set("mm-seg", root / "mm-seg", n=64, seed=1)
    data.make_weights(root / "mm-seg", data.seg_weights)
    data.synth_training_set("2d-seg", root / "2d-seg", n=8, seed=2)
    data.synth_training_set("mm-track", root / "mm-track", n=64, seed=3)


def deltacell_rows(root: Path, seconds: float, step_s: float):
    rows = {}

    def measure(name, source, nxt):
        bps = rate(nxt, seconds, 20)
        st = data.loader_stats(source)
        rows[name] = (bps, st, wait_per_step(nxt, lambda: data.loader_stats(source), step_s, 30))

    ds = data.load_training_dataset_seg(root / "mm-seg", (256, 32), crop=False, kw_data_aug=SEG_AUG, stack=True, batch_size=8)
    measure("seg 256x32 b8 (wei/)", ds, dataset_reader(ds))
    ds2 = data.load_training_dataset_seg(root / "2d-seg", (512, 512), crop=True, kw_data_aug=dict(SEG_AUG, rotations_90d=True),
                                         stack=True, batch_size=2, weights=data.seg_weights_2D)
    measure("seg 512x512 b2 (seg_weights_2D)", ds2, dataset_reader(ds2))
    t = root / "mm-track"
    gen = data.train_generator_track(8, t / "img", t / "seg", t / "previmg", t / "segall", t / "mot_dau", "online",
                                     augment_params=TRACK_AUG, target_size=(256, 32))
    measure("track 256x32 b8 (online)", gen, lambda: next(gen))
    return rows


def delta_rows(root: Path, seconds: float):
    import delta.data as dd  # noqa: PLC0415

    rows = {}
    m = root / "mm-seg"
    g = dd.trainGenerator_seg(8, str(m / "img"), str(m / "seg"), str(m / "wei"), target_size=(256, 32), augment_params=SEG_AUG)
    rows["seg 256x32 b8 (wei/)"] = rate(lambda: next(g), seconds, 3)
    s = root / "2d-seg"
    g2 = dd.trainGenerator_seg(2, str(s / "img"), str(s / "seg"), None, target_size=(512, 512),
                               augment_params=dict(SEG_AUG, rotations_90d=True), crop_windows=True)

    def seg2d():
        x, y = next(g2)
        w = np.stack([dd.seg_weights_2D(y[i, ..., 0].astype(np.uint8)) for i in range(y.shape[0])])[..., None]
        return x, np.concatenate([y, w], axis=-1)

    rows["seg 512x512 b2 (seg_weights_2D)"] = rate(seg2d, seconds, 3)
    t = root / "mm-track"
    g3 = dd.trainGenerator_track(8, str(t / "img"), str(t / "seg"), str(t / "previmg"), str(t / "segall"), str(t / "mot_dau"),
                                 "online", augment_params=TRACK_AUG, target_size=(256, 32))
    rows["track 256x32 b8 (online)"] = rate(lambda: next(g3), seconds, 3)
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seconds", type=float, default=10.0, help="seconds per deltacell row (default 10)")
    ap.add_argument("--delta-seconds", type=float, default=20.0, help="seconds per DeLTA row (default 20)")
    ap.add_argument("--step-ms", type=float, default=50.0, help="simulated U-Net step between batches for the wait column (default 50)")
    args = ap.parse_args()
    print(f"machine: {machine()}")
    print(f"python {sys.version.split()[0]}, numpy {np.__version__}, deltacell {data._native.__version__}")
    with tempfile.TemporaryDirectory(prefix="deltacell-bench-") as tmp:
        root = Path(tmp)
        make_sets(root)
        ours = deltacell_rows(root, args.seconds, args.step_ms / 1000)
        try:
            theirs = delta_rows(root, args.delta_seconds)
            import importlib.metadata as md

            print(f"DeLTA: delta2 {md.version('delta2')}")
        except ImportError as e:
            print(f"DeLTA not importable ({e}); deltacell only")
            theirs = {}
    print()
    step = f"wait@{args.step_ms:g}ms"
    print(f"{'row':34} {'DeLTA b/s':>10} {'deltacell b/s':>14} {'speed-up':>9} {'GIL %':>6} {step:>13}")
    for name, (bps, st, wait_ms) in ours.items():
        gil = 100 * st["gil_s"] / st["build_s"] if st["build_s"] > 0 else float("nan")
        d = theirs.get(name)
        dtxt = f"{d:10.2f}" if d else f"{'-':>10}"
        sp = f"{bps / d:8.0f}x" if d else f"{'-':>9}"
        print(f"{name:34} {dtxt} {bps:14.1f} {sp} {gil:6.2f} {wait_ms:10.3f} ms")


if __name__ == "__main__":
    main()
