#!/usr/bin/env python3
"""Loads Keras files written by `deltacell export-keras` in Keras itself and compares its
predictions with deltacell's.

Usage: keras_check.py CASES.json [RESULTS.json]

CASES.json is a list of cases:
    {"name": "...", "model": "m.hdf5", "x": "x.npy", "y": "y.npy", "tol": 1e-4,
     "delta": {"kind": "seg"|"track"|"rois", "levels": 3}}      # "delta" optional
x: inputs N×H×W×C (float32); y: the expected probabilities N×H×W×1 (deltacell's
`predict --probabilities` before 8-bit quantisation, or DeLTA's own outputs).

For every case the file is loaded with `load_model(path, compile=False)` (tf.keras for
.hdf5/.h5, keras.saving for .keras) and, with "delta", also built with DeLTA's constructor
(`delta.model.unet_<kind>(input_size=(H, W, C), levels=L)`) and filled with
`model.load_weights(path)`; each model predicts `x`. Prints one line per check and writes the
maximum absolute differences to RESULTS.json. Exit status 1 if any check exceeds its `tol`.
"""
import json
import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("CUDA_VISIBLE_DEVICES", "")

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402
import keras  # noqa: E402


def load(path):
    if path.endswith(".keras"):
        return keras.saving.load_model(path, compile=False)
    return tf.keras.models.load_model(path, compile=False)


def delta_model(kind, input_size, levels):
    import delta.model as dm

    build = {"seg": dm.unet_seg, "track": dm.unet_track, "rois": dm.unet_rois}[kind]
    return build(input_size=input_size, levels=levels)


def main():
    cases = json.load(open(sys.argv[1]))
    results = []
    failed = False
    for case in cases:
        x = np.load(case["x"]).astype(np.float32)
        y = np.load(case["y"]).astype(np.float32).reshape(x.shape[:3] + (1,))
        tol = float(case.get("tol", 1e-4))
        entry = {"name": case["name"], "model": case["model"], "tol": tol}
        model = load(case["model"])
        shape = tuple(model.input_shape)
        entry["input_shape"] = list(shape)
        assert shape[3] == x.shape[3], f"{case['name']}: input shape {shape} vs x {x.shape}"
        assert model.layers[-1].get_config()["activation"] == "sigmoid"
        p = model.predict(x, verbose=0)
        entry["load_model"] = float(np.max(np.abs(p - y)))
        if "delta" in case:
            d = case["delta"]
            m = delta_model(d["kind"], shape[1:], int(d["levels"]))
            m.load_weights(case["model"])
            q = m.predict(x, verbose=0)
            entry["load_weights"] = float(np.max(np.abs(q - y)))
        for check in ("load_model", "load_weights"):
            if check in entry:
                ok = entry[check] <= tol
                failed |= not ok
                print(
                    f"{'ok  ' if ok else 'FAIL'} {case['name']}: {check} max |diff| = "
                    f"{entry[check]:.3g} (tol {tol:g})",
                    flush=True,
                )
        results.append(entry)
    if len(sys.argv) > 2:
        json.dump(results, open(sys.argv[2], "w"), indent=1)
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
