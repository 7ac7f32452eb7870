"""DeLTA's analysis of a movie (``delta run``) in deltacell: rotation and drift correction,
chamber detection, segmentation, tracking, lineages and per-cell features, per position.

* :func:`run_position` analyses one position and writes its outputs (``PositionNNNNNN.nc`` in
  DeLTA 3's netCDF format, the per-cell table ``PositionNNNNNN.csv``, full-frame label images,
  the lineage picture): exactly what ``deltacell run`` does for that position. Positions are
  independent, so they can be mapped over processes or a Dask cluster (the GIL is released
  while a position is analysed).
* :func:`run` analyses every position (or those given) one after the other.
* :func:`movie_layout` lists a movie's positions, channels and frames.

Models come from the configuration: a deltacell run folder or a Keras file (DeLTA's own models
are imported on the fly). No TensorFlow is needed.
"""

from __future__ import annotations

from typing import Any, Dict, List, Optional, Sequence, Tuple

from . import _native
from ._convert import PathLike, path

__all__ = ["movie_layout", "run", "run_position"]

FrameRange = Optional[Tuple[Optional[int], Optional[int]]]


def movie_layout(input: PathLike) -> Dict[str, List[int]]:
    """The positions, channels and frames of a movie (a ``{p}``/``{c}``/``{t}`` template, a
    multi-page TIFF or a folder of frames), numbered as its file names are.

    Raises:
        ValueError: a template that matches nothing, a missing frame or channel.
    """
    return _native.movie_layout(path(input))


def run_position(config: str, input: PathLike, output: PathLike, position: int, *,
                 frames: FrameRange = None, settings: Sequence[str] = (),
                 labels: bool = True, lineage_picture: bool = True,
                 movie: bool = True) -> Dict[str, Any]:
    """Analyses one position of a movie and writes its outputs into ``output``.

    Args:
        config: ``"2D"``, ``"mothermachine"`` or the path of a DeLTA 3 TOML configuration.
        input: the movie (``{p}``/``{c}``/``{t}`` template, multi-page TIFF, folder of frames).
        output: the results folder (created; never inside the input).
        position: the position's number in the movie.
        frames: ``(first, last)`` movie frame numbers, inclusive, either ``None`` for open.
        settings: ``"KEY=VALUE"`` configuration settings, DeLTA's ``-C``
            (``"models.seg.model_path=seg.keras"``).
        labels, lineage_picture, movie: write the full-frame label images, the lineage
            picture and the results movie (``PositionNNNNNN.mp4`` through ``ffmpeg``, else an
            animated ``PositionNNNNNN_movie.png``).

    Returns:
        ``{"position", "rois", "frames", "cells", "rotate", "written", "seconds"}``.

    Raises:
        ValueError: a bad configuration key or value, a bad movie, an unknown position.
        FileNotFoundError: a missing model or input.
        KeyboardInterrupt: the analysis was interrupted.
    """
    return _native.run_position(config, path(input), path(output), int(position),
                                frames, list(settings), bool(labels), bool(lineage_picture),
                                bool(movie))


def run(config: str, input: PathLike, output: PathLike, *,
        positions: Optional[Sequence[int]] = None, frames: FrameRange = None,
        settings: Sequence[str] = (), labels: bool = True,
        lineage_picture: bool = True, movie: bool = True) -> List[Dict[str, Any]]:
    """:func:`run_position` for every position of the movie (or ``positions``), in order."""
    if positions is None:
        positions = movie_layout(input)["positions"]
    return [run_position(config, input, output, p, frames=frames, settings=settings,
                         labels=labels, lineage_picture=lineage_picture, movie=movie)
            for p in positions]
