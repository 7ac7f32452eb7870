"""deltacell: DeLTA's training data (``deltacell.data``, the ``delta.data`` API) and U-Net
inference, computed by deltacell's Rust library. numpy in, numpy out; neither Keras nor PyTorch
is imported or required."""

from ._native import __version__

__all__ = ["__version__", "data", "model", "pipeline"]


def __getattr__(name: str):  # lazy submodules: `import deltacell; deltacell.data.seg_weights`
    if name in ("data", "model", "pipeline"):
        import importlib

        return importlib.import_module(f"{__name__}.{name}")
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
