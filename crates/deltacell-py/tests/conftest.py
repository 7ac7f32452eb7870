"""Shared fixtures: DeLTA 2.0.7's reference outputs (``../shared/reference/`` next to the
repository), a minimal PNG writer (numpy only), and the Rust library's own outputs for the
bit-for-bit tests (``cargo run --example py_reference``)."""

from __future__ import annotations

import os
import shutil
import struct
import subprocess
import zlib
from pathlib import Path

import numpy as np
import pytest

REPO = Path(__file__).resolve().parents[3]
REFERENCE = REPO / ".." / "shared" / "reference" / "delta-2.0.7"


@pytest.fixture(scope="session")
def reference_dir() -> Path:
    if not REFERENCE.is_dir():
        pytest.fail(f"{REFERENCE} not found: the parity tests read DeLTA's reference outputs from ../shared next to the clone")
    return REFERENCE


def load_case(name: str) -> dict:
    with np.load(REFERENCE / f"{name}.npz") as z:
        return {k: z[k] for k in z.files}


def write_png(path: Path, array: np.ndarray) -> None:
    """Grayscale PNG, 8-bit (uint8) or 16-bit (uint16)."""
    a = np.ascontiguousarray(array)
    depth = {np.dtype(np.uint8): 8, np.dtype(np.uint16): 16}[a.dtype]
    h, w = a.shape
    rows = a.astype(">u2" if depth == 16 else "u1").tobytes()
    stride = w * depth // 8
    raw = b"".join(b"\x00" + rows[r * stride:(r + 1) * stride] for r in range(h))

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    png = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, depth, 0, 0, 0, 0))
    png += chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b"")
    Path(path).write_bytes(png)


def _cargo() -> str | None:
    found = shutil.which("cargo")
    if found:
        return found
    home = Path.home() / ".cargo" / "bin" / "cargo"
    return str(home) if home.exists() else None


@pytest.fixture(scope="session")
def rust_reference(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Synthetic training sets and ``reference.npz``, written by the Rust library itself."""
    cargo = _cargo()
    if cargo is None:
        pytest.skip("cargo not found: the bit-for-bit tests compare with the Rust library's own outputs")
    out = tmp_path_factory.mktemp("rust-reference")
    cmd = [cargo, "run", "--quiet", "-p", "deltacell-data", "--example", "py_reference", "--", str(out)]
    done = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, env=dict(os.environ))
    if done.returncode != 0:
        pytest.fail(f"{' '.join(cmd)} failed:\n{done.stderr}")
    return out


def make_mm_experiment(root: Path, positions: int):
    """A synthetic mother-machine movie of ``positions`` chambers (one per position) and tiny
    trained seg and track models under ``root``; returns ``(config path, movie template)``."""
    from deltacell import data, model

    tiny = dict(preset="mothermachine", epochs=1, steps_per_epoch=2, batch_size=1, filters=[4, 8])
    data.synth_training_set("movie", root / "synth", n=positions, seed=3)
    model.train("seg", "builtin:synth", root / "seg", **tiny)
    data.synth_training_set("mm-track", root / "track-set", n=4, seed=1)
    model.train("track", root / "track-set", root / "track", **tiny)
    config = root / "chambers.toml"
    config.write_text(
        "[models.seg]\n"
        f"model_path = {str(root / 'seg')!r}\n"
        "target_size = [256, 32]\n"
        "tolerable_resizing_factor = 2\n"
        "[models.track]\n"
        f"model_path = {str(root / 'track')!r}\n"
        "target_size = [256, 32]\n"
        "tolerable_resizing_factor = 2\n"
    )
    return config, root / "synth" / "mm" / "img" / "Position{p}_Chamber000001_Frame{t}.png"


@pytest.fixture(scope="session")
def mm_experiment():
    """:func:`make_mm_experiment`, for the test modules."""
    return make_mm_experiment
