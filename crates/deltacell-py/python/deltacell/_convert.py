"""Argument conversions shared by the public modules: numpy dtypes and shapes, seeds, DeLTA's
augmentation dictionaries. No computation happens here."""

from __future__ import annotations

import json
import os
import secrets
from typing import Any, Mapping, Optional, Tuple, Union

import numpy as np

SeedLike = Union[None, int, "np.random.Generator"]
PathLike = Union[str, "os.PathLike[str]"]


def seed_of(rng: SeedLike) -> int:
    """A 63-bit seed for deltacell's random streams.

    ``None`` draws fresh entropy (DeLTA's ``default_rng()``), an ``int`` is used as is, and a
    ``numpy.random.Generator`` gives one draw (so it advances, and the same generator state gives
    the same result). deltacell's streams are ChaCha8, not numpy's PCG64: the same seed does not
    reproduce DeLTA's random numbers, only deltacell's own.
    """
    if rng is None:
        return secrets.randbits(63)
    if isinstance(rng, np.random.Generator):
        return int(rng.integers(0, 2**63))
    if isinstance(rng, (int, np.integer)) and not isinstance(rng, (bool, np.bool_)):
        value = int(rng)
        if not 0 <= value < 2**64:
            raise ValueError(f"seed {value} is out of range, expected 0..2**64-1")
        return value
    raise TypeError(f"rng must be None, an int seed or a numpy.random.Generator, not {type(rng).__name__}")


def _jsonable(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    raise TypeError(f"{value!r} ({type(value).__name__}) is not a number, bool, list or dict")


def aug_json(aug_par: Optional[Mapping[str, Any]], name: str = "aug_par") -> str:
    """DeLTA's augmentation dictionary as JSON for the library's parser (which checks keys and
    ranges and suggests the right spelling of a misspelled key)."""
    if aug_par is None:
        return "{}"
    if not isinstance(aug_par, Mapping):
        raise TypeError(f"{name} must be a dict of DeLTA's augmentation keys, not {type(aug_par).__name__}")
    try:
        return json.dumps(dict(aug_par), default=_jsonable)
    except (TypeError, ValueError) as e:
        raise ValueError(f"{name}: {e}") from None


def plane(a: Any, dtype: Any, name: str) -> np.ndarray:
    """A 2-D C-contiguous array of ``dtype`` (a trailing channel axis keeps channel 0, as DeLTA
    does). The caller's array is never modified (converted copies only)."""
    arr = np.asarray(a)
    if arr.ndim == 3:
        arr = arr[..., 0]
    if arr.ndim != 2:
        raise ValueError(f"{name} must be a 2-D array (height, width), got shape {arr.shape}")
    return np.ascontiguousarray(arr, dtype=dtype)


def mask(a: Any, name: str = "mask") -> np.ndarray:
    """A binary mask as uint8: any nonzero value is a cell (0/1, 0/255 and booleans alike)."""
    arr = np.asarray(a)
    if arr.ndim == 3:
        arr = arr[..., 0]
    if arr.ndim != 2:
        raise ValueError(f"{name} must be a 2-D array (height, width), got shape {arr.shape}")
    if arr.dtype != np.uint8:
        arr = arr != 0
    return np.ascontiguousarray(arr, dtype=np.uint8)


def stack(images: Any, dtype: Any, name: str) -> np.ndarray:
    """``(n, H, W)`` C-contiguous array of ``dtype`` from an array or a list of 2-D arrays (a
    trailing channel axis of size 1 is dropped)."""
    if isinstance(images, np.ndarray):
        arr = images
        if arr.ndim == 4 and arr.shape[-1] == 1:
            arr = arr[..., 0]
        if arr.ndim == 2:
            arr = arr[None]
    else:
        items = [np.asarray(i) for i in images]
        items = [i[..., 0] if i.ndim == 3 and i.shape[-1] == 1 else i for i in items]
        shapes = {i.shape for i in items}
        if len(shapes) > 1:
            raise ValueError(f"{name}: every image must have the same shape, got {sorted(shapes)}")
        if any(i.ndim != 2 for i in items):
            raise ValueError(f"{name}: expected 2-D images (height, width), got {sorted(shapes)}")
        arr = np.stack(items) if items else np.zeros((0, 0, 0), dtype=dtype)
    if arr.ndim != 3:
        raise ValueError(f"{name} must be (n, height, width), got shape {arr.shape}")
    return np.ascontiguousarray(arr, dtype=dtype)


def pair(value: Any, name: str, kind: type = float) -> Tuple[Any, Any]:
    """Two numbers (``(rows, cols)`` or ``(class 0, class 1)``)."""
    try:
        a, b = value
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a pair of numbers, got {value!r}") from None
    if kind is int:
        if int(a) != a or int(b) != b or a <= 0 or b <= 0:
            raise ValueError(f"{name} must be two positive integers, got {value!r}")
        return int(a), int(b)
    return float(a), float(b)


def path(p: PathLike) -> str:
    return os.fspath(p)

