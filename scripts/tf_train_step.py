#!/usr/bin/env python3
"""One case of deltacell's `train_step` bench on TensorFlow/Keras, with DeLTA's own U-Net.

Run by `cargo bench -p deltacell-nn --bench train_step` when `DELTACELL_TF_PYTHON` names a
Python with `tensorflow` (or `tensorflow-cpu`) and `delta2` installed, one process per case so
that the peak RSS is the case's own:

    python -m venv /path/venv && /path/venv/bin/pip install tensorflow-cpu delta2

    python scripts/tf_train_step.py --net full --case train --batch 2 --height 256 --width 256 \
        --repeats 3 --threads 2

The full network is `delta.model.unet_seg` itself (DeLTA 2.0.7: 5 levels, 64·2^l filters,
sigmoid head, pixel-wise weighted BCE, Adam 1e-4), timed with `train_on_batch` (a training
case) or `predict_on_batch` (an inference case). The half network is the same graph built from
DeLTA's `contracting_block`/`expanding_block` with 32·2^l filters (`unet()` hard-codes 64).
The batch is the bench's synthetic one (same formula as `benches/train_step.rs`). TF runs with
`--threads` intra-op threads and one inter-op thread (the U-Net is a chain: inter-op
parallelism only makes the two pools compete for the same cores); Keras 3 does not use XLA on
a CPU-only machine (`jit_compile="auto"`), so this is TF's graph mode with oneDNN.

Prints one JSON line: the fastest (`ms`), median and all times in ms, the least process CPU
time of a run in ms (`cpu_ms`, all threads), peak RSS in MB, versions.
"""

import argparse
import json
import resource
import sys
import time


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--net", choices=["full", "half"], default="full")
    ap.add_argument("--case", choices=["train", "infer"], default="train")
    ap.add_argument("--batch", type=int, default=2)
    ap.add_argument("--height", type=int, default=256)
    ap.add_argument("--width", type=int, default=256)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args()

    from tf_setup import tensorflow

    tf = tensorflow(args.threads)
    import numpy as np
    import keras
    from delta import model as dm

    size = (args.height, args.width, 1)
    if args.net == "full":
        model = dm.unet_seg(input_size=size)
    else:
        model = half_unet_seg(dm, size)

    n, h, w = args.batch, args.height, args.width
    i = np.arange(n * h * w, dtype=np.int64)
    x = (((i * 7919) % 1000) / 1000.0).astype(np.float32).reshape(n, h, w, 1)
    y = np.stack([((i // 7) % 2), 1 + (i % 3)], axis=-1).astype(np.float32)
    y = y.reshape(n, h, w, 2)

    if args.case == "train":
        run = lambda: model.train_on_batch(x, y)  # noqa: E731
    else:
        run = lambda: model.predict_on_batch(x)  # noqa: E731
    run()  # warm-up: traces the graph
    times, cpu = [], []
    for _ in range(args.repeats):
        t, c = time.perf_counter(), time.process_time()
        run()
        times.append((time.perf_counter() - t) * 1e3)
        cpu.append((time.process_time() - c) * 1e3)
    peak_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(
        json.dumps(
            {
                "ms": min(times),
                "ms_median": sorted(times)[len(times) // 2],
                "ms_all": [round(t, 1) for t in times],
                "cpu_ms": min(cpu),
                "peak_rss_mb": peak_kb / 1024.0,
                "params": int(model.count_params()),
                "tensorflow": tf.__version__,
                "keras": keras.__version__,
                "threads": [args.threads, 1],
            }
        )
    )
    return 0


def half_unet_seg(dm, size):
    """`delta.model.unet_seg` with 32·2^l filters, from DeLTA's own blocks."""
    from tensorflow.keras.layers import Conv2D, Input
    from tensorflow.keras.models import Model
    from tensorflow.keras.optimizers import Adam

    params = {"activation": "relu", "padding": "same", "kernel_initializer": "he_normal"}
    inputs = Input(size, name="true_input")
    filters = 32
    conv = Conv2D(filters, 3, **params, name="Level0_Conv2D_1")(inputs)
    conv = Conv2D(filters, 3, **params, name="Level0_Conv2D_2")(conv)
    outs = [conv]
    levels = 5
    for level in range(1, levels):
        filters *= 2
        outs.append(dm.contracting_block(outs[-1], filters, params, name=f"Level{level}_Contracting"))
    x = outs.pop()
    level = levels - 1
    while level > 0:
        level -= 1
        filters //= 2
        x = dm.expanding_block(x, outs.pop(), filters, params, name=f"Level{level}_Expanding")
    output = Conv2D(1, 1, activation="sigmoid", name="true_output")(x)
    model = Model(inputs=inputs, outputs=output)
    model.compile(
        optimizer=Adam(learning_rate=1e-4),
        loss=dm.pixelwise_weighted_binary_crossentropy_seg,
        metrics=[dm.unstack_acc],
    )
    return model


if __name__ == "__main__":
    sys.exit(main())
