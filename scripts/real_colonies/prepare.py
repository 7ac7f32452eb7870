#!/usr/bin/env python3
"""Builds a DeLTA 2-D training set and a scored test set from real phase-contrast images with
instance labels (the Omnipose snapshot in `../shared/data/omnipose`), for the real-colony
comparison of `scripts/real_colonies/run.sh` (issue 20).

    python scripts/real_colonies/prepare.py ../shared/data/omnipose /tmp/colonies [--cell-width W]

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

With `--cell-width W` (pixels), each training image is resampled so that the median width of its
cells is W (the image bilinearly, the instance labels by their nearest pixel, then carved): the
five training images were taken at other magnifications than the test colonies (median cell
width 10-17 px against 6-8 px), and a model fine-tuned on them unscaled learns cells twice too
large (docs/real-colonies.md, issue 29). A cell's width is twice the largest distance from its
pixels to the background (Euclidean). The test images are never resampled.
Needs numpy, Pillow, tifffile and (for `--cell-width`) scipy.
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


def median_cell_width(labels: np.ndarray) -> float:
    """Median over the cells of twice the largest Euclidean distance from a cell pixel to a pixel
    of another label or the background (the cell's width for a rod)."""
    from scipy import ndimage

    ids = np.unique(labels)
    ids = ids[ids != 0]
    # Distance to the nearest pixel outside the cell: distance transform of the carved mask.
    dist = ndimage.distance_transform_edt(carve(labels) > 0)
    return float(np.median(ndimage.maximum(dist, labels, ids)) * 2)


def resample(image: np.ndarray, labels: np.ndarray, factor: float):
    """The image (bilinear) and its instance labels (nearest) scaled by `factor`."""
    h, w = image.shape
    size = (max(1, round(w * factor)), max(1, round(h * factor)))
    if image.dtype == np.uint16:
        scaled = Image.fromarray(image.astype(np.float32)).resize(size, Image.BILINEAR)
        image = np.clip(np.round(np.array(scaled)), 0, 65535).astype(np.uint16)
    else:
        image = np.array(Image.fromarray(image).resize(size, Image.BILINEAR))
    labels = np.array(Image.fromarray(labels.astype(np.int32)).resize(size, Image.NEAREST))
    return image, labels.astype(np.uint16)


def main() -> int:
    args = sys.argv[1:]
    cell_width = None
    if "--cell-width" in args:
        i = args.index("--cell-width")
        try:
            cell_width = float(args[i + 1])
        except (IndexError, ValueError):
            print("--cell-width needs a number of pixels", file=sys.stderr)
            return 2
        if not cell_width > 0:
            print(f"--cell-width {cell_width}: must be above 0", file=sys.stderr)
            return 2
        del args[i : i + 2]
    if len(args) != 2:
        print(__doc__)
        return 2
    src, out = args
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
        note = ""
        if cell_width is not None and split == "train":
            width = median_cell_width(labels)
            image, labels = resample(image, labels, cell_width / width)
            note = f" (resampled by {cell_width / width:.3f}: median cell width {width:.1f} px)"
        save_png(os.path.join(out, split, "img", stem + ".png"), image)
        save_png(os.path.join(out, split, "seg", stem + ".png"), carve(labels))
        if split == "test":
            save_png(os.path.join(out, split, "labels", stem + ".png"), labels)
        print(f"{split}: {stem} {image.shape[0]}x{image.shape[1]} {image.dtype}, {len(np.unique(labels)) - 1} cells{note}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
