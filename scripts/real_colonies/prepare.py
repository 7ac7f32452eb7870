#!/usr/bin/env python3
"""Builds a DeLTA 2-D training set and a scored test set from real phase-contrast images with
instance labels (the Omnipose snapshot in `../shared/data/omnipose`), for the real-colony
comparison of `scripts/real_colonies/run.sh` (issue 20).

    python scripts/real_colonies/prepare.py ../shared/data/omnipose /tmp/colonies

writes, without touching the source folder:

* `train/img/*.png`, `train/seg/*.png`: grayscale images at their own bit depth (colour files:
  their first channel, as DeLTA 2.0.7's `readreshape` reads them) and DeLTA-style binary masks
  (0/255) made from the instance labels with the pixels that touch another cell removed, so
  touching cells are separated by a background gap of 2 px (what DeLTA's training sets show
  between neighbours; `deltacell_data::weights::mask_from_labels` does the same);
* `test/img/*.png`, `test/seg/*.png` as above, and `test/labels/*.png`: the instance labels
  (16-bit PNG), the truth that `deltacell eval seg` scores predictions against.

The split is fixed (`TEST` below): the two E. coli colonies most like DeLTA's agar pads are
scored, the five other images (other species and crops, 8- and 16-bit) are trained on.
Needs numpy, Pillow and tifffile.
"""

import os
import sys

import numpy as np
import tifffile
from PIL import Image

# (image file, label file) relative to the Omnipose snapshot's `test_files/`.
FILES = [
    "Sample000033.png",
    "Sample000193.png",
    "Sample000252.png",
    "Sample000306.tiff",
    "caulo_15.tif",
    "e1t1_crop.tif",
    "ec_5I_t141xy5c1.tif",
]
TEST = {"ec_5I_t141xy5c1.tif", "Sample000033.png"}


def read(path: str) -> np.ndarray:
    try:
        a = np.array(Image.open(path))
    except OSError:
        a = tifffile.imread(path)
    if a.ndim == 3:
        a = a[..., 0]
    return a


def carve(labels: np.ndarray) -> np.ndarray:
    """Binary mask (0/255) of `labels > 0` without the pixels that have a different non-zero
    label among their 8 neighbours."""
    h, w = labels.shape
    pad = np.pad(labels, 1)
    touching = np.zeros((h, w), bool)
    for dy in (-1, 0, 1):
        for dx in (-1, 0, 1):
            if dy == 0 and dx == 0:
                continue
            n = pad[1 + dy : 1 + dy + h, 1 + dx : 1 + dx + w]
            touching |= (n != 0) & (n != labels)
    return (((labels > 0) & ~touching) * 255).astype(np.uint8)


def save_png(path: str, a: np.ndarray) -> None:
    if a.dtype == np.uint16:
        Image.fromarray(a.astype(np.uint16)).save(path)
    else:
        Image.fromarray(a.astype(np.uint8)).save(path)


def main() -> int:
    if len(sys.argv) != 3:
        print(__doc__)
        return 2
    src, out = sys.argv[1], sys.argv[2]
    files = os.path.join(src, "test_files")
    if not os.path.isdir(files):
        print(f"{files}: folder not found", file=sys.stderr)
        return 1
    for split, sub in [("train", "img"), ("train", "seg"), ("test", "img"), ("test", "seg"), ("test", "labels")]:
        os.makedirs(os.path.join(out, split, sub), exist_ok=True)
    for name in FILES:
        stem = name.rsplit(".", 1)[0]
        image = read(os.path.join(files, name))
        labels = read(os.path.join(files, "masks", stem + "_cp_masks.tif")).astype(np.uint16)
        if image.shape != labels.shape:
            print(f"{name}: image {image.shape} and labels {labels.shape} differ", file=sys.stderr)
            return 1
        if image.dtype not in (np.uint8, np.uint16):
            image = image.astype(np.uint16)
        split = "test" if name in TEST else "train"
        save_png(os.path.join(out, split, "img", stem + ".png"), image)
        save_png(os.path.join(out, split, "seg", stem + ".png"), carve(labels))
        if split == "test":
            save_png(os.path.join(out, split, "labels", stem + ".png"), labels)
        print(f"{split}: {stem} {image.shape[0]}x{image.shape[1]} {image.dtype}, {int(labels.max())} cells")
    return 0


if __name__ == "__main__":
    sys.exit(main())
