#!/usr/bin/env python3
"""DeLTA 2.0.7's 2-D segmentation recipe on a training set, scored checkpoints on a test set:
the TensorFlow side of `scripts/real_colonies/run.sh` (issue 20).

    /path/venv/bin/python scripts/real_colonies/delta_recipe.py --set /tmp/colonies \
        --out /tmp/colonies/runs/delta --epochs 4 --steps 100

Training is DeLTA's own code, unchanged: `delta.data.trainGenerator_seg` (batch 2 of random
256² crops of the full-size frames, `crop_windows=True`, weights from `wei/`), the
augmentation of 2.0.x's `scripts/train_seg.py` (rotation 2, rotations_90d, zoom .15, flips,
illumination_voodoo, gaussian_noise .03, gaussian_blur 1), `delta.model.unet_seg` (full U-Net,
Adam 1e-4, the pixel-wise weighted loss). After every epoch each test image goes through
DeLTA 2.0.7's pipeline for 2-D pads (`pipeline.py`): min–max scaling of the frame,
`create_windows` at the input size, `model.predict`, `stitch_pic`, `> 0.5`,
`opencv_areafilt(min_area=20)`; the masks are written to `OUT/epoch_NNN/` (0/255 PNG) and the
probabilities to `OUT/epoch_NNN_prob/` (8-bit PNG) for `deltacell eval seg`.

One shim, for scikit-image ≥ 0.19 (this venv's): 2.0.7's `zoomshift` passes the removed
keyword `multichannel=False` to `skimage.transform.rescale`; it is dropped (the frames are 2-D,
so the call means the same). Install the venv with `pip install tensorflow-cpu delta2`.
Prints one JSON line per epoch: steps so far, training loss, seconds.
"""

import argparse
import glob
import json
import os
import sys
import time


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--set", required=True, help="folder with train/{img,seg,wei} and test/img")
    ap.add_argument("--out", required=True)
    ap.add_argument("--epochs", type=int, default=4)
    ap.add_argument("--steps", type=int, default=100, help="steps per epoch")
    ap.add_argument("--batch", type=int, default=2)
    ap.add_argument("--size", type=int, default=256)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args()

    sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
    from tf_setup import tensorflow

    tf = tensorflow(args.threads)
    import cv2
    import numpy as np
    tf.random.set_seed(args.seed)
    np.random.seed(args.seed)
    from delta import data as dd
    from delta import model as dm
    from delta import utilities as du

    rescale = dd.trans.rescale

    def rescale_2d(image, scale, **kw):
        kw.pop("multichannel", None)
        return rescale(image, scale, **kw)

    dd.trans.rescale = rescale_2d

    train = os.path.join(args.set, "train")
    size = (args.size, args.size)
    augment = {
        "rotation": 2,
        "rotations_90d": True,
        "zoom": 0.15,
        "horizontal_flip": True,
        "vertical_flip": True,
        "illumination_voodoo": True,
        "gaussian_noise": 0.03,
        "gaussian_blur": 1,
    }
    gen = dd.trainGenerator_seg(
        args.batch,
        os.path.join(train, "img"),
        os.path.join(train, "seg"),
        os.path.join(train, "wei"),
        target_size=size,
        augment_params=augment,
        crop_windows=True,
        seed=args.seed,
    )
    model = dm.unet_seg(input_size=size + (1,))
    tests = sorted(glob.glob(os.path.join(args.set, "test", "img", "*.png")))
    os.makedirs(args.out, exist_ok=True)
    t_train = 0.0
    for epoch in range(1, args.epochs + 1):
        t0 = time.time()
        hist = model.fit(gen, steps_per_epoch=args.steps, epochs=1, verbose=0)
        t_train += time.time() - t0
        masks = os.path.join(args.out, f"epoch_{epoch:03d}")
        probs = masks + "_prob"
        os.makedirs(masks, exist_ok=True)
        os.makedirs(probs, exist_ok=True)
        for path in tests:
            frame = cv2.imread(path, cv2.IMREAD_ANYDEPTH).astype(np.float32)
            frame = du.rangescale(frame, rescale=(0, 1))
            x, wy, wx = du.create_windows(frame, target_size=size)
            y = model.predict(x[:, :, :, np.newaxis], verbose=0)
            y = du.stitch_pic(y[..., 0], wy, wx)[: frame.shape[0], : frame.shape[1]]
            name = os.path.basename(path)
            cv2.imwrite(os.path.join(probs, name), (y * 255).astype(np.uint8))
            mask = du.opencv_areafilt((y > 0.5).astype(np.uint8), min_area=20)
            cv2.imwrite(os.path.join(masks, name), (mask > 0).astype(np.uint8) * 255)
        print(
            json.dumps(
                {
                    "epoch": epoch,
                    "steps": epoch * args.steps,
                    "loss": float(hist.history["loss"][-1]),
                    "train_seconds": round(t_train, 1),
                }
            ),
            flush=True,
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
