"""DeLTA's analysis of a movie (``delta run``) in deltacell: rotation and drift correction,
chamber detection, segmentation, tracking, lineages and per-cell features, per position.

* :func:`run_position` analyses one position and writes its outputs (``PositionNNNNNN.nc`` in
  DeLTA 3's netCDF format, the per-cell table ``PositionNNNNNN.csv``, full-frame label images,
  the lineage picture): exactly what ``deltacell run`` does for that position. Positions are
  independent, so they can be mapped over processes or a Dask cluster (the GIL is released
  while a position is analysed).
* :func:`run` analyses every position (or those given) one after the other.
* :func:`merge` checks a results folder's positions and writes the index ``positions.csv`` and
  the experiment-wide table ``experiment.csv``: ``deltacell merge``.
* :func:`movie_layout` lists a movie's positions, channels and frames.

Runs resume: each position records a fingerprint of its inputs, models and configuration
(``PositionNNNNNN.fingerprint.json``); a position whose results are complete and were made
from the same is skipped, one made from something else is refused (``ValueError`` naming what
changed) unless ``redo=True``. So a Dask graph or a script that died can simply be run again.
See ``docs/scaling.md`` and ``scripts/dask/run_positions.py`` for a Dask cluster.

Models come from the configuration: a deltacell run folder or a Keras file (DeLTA's own models
are imported on the fly). No TensorFlow is needed.
"""

from __future__ import annotations

from typing import Any, Dict, List, Optional, Sequence, Tuple

from . import _native
from ._convert import PathLike, path

__all__ = ["merge", "movie_layout", "run", "run_position"]

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
                 movie: bool = True, redo: bool = False,
                 experiment: Optional[Sequence[int]] = None) -> Dict[str, Any]:
    """Analyses one position of a movie and writes its outputs into ``output``, unless they
    are already there, complete and made from the same inputs, models and configuration
    (then nothing is done and ``"skipped"`` is true).

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
        redo: analyse the position again when its results were made from other inputs,
            models, configuration or options (refused otherwise).
        experiment: the experiment's positions, recorded for :func:`merge` (which names the
            missing ones); ``None``: every position of the movie.

    Returns:
        ``{"position", "skipped", "frames", "written", "seconds"}``, and for a position
        analysed ``"rois"``, ``"cells"``, ``"rotate"``.

    Raises:
        ValueError: a bad configuration key or value, a bad movie, an unknown position,
            results made from something else (without ``redo``).
        FileNotFoundError: a missing model or input.
        KeyboardInterrupt: the analysis was interrupted.
    """
    return _native.run_position(config, path(input), path(output), int(position),
                                frames, list(settings), bool(labels), bool(lineage_picture),
                                bool(movie), bool(redo),
                                None if experiment is None else [int(p) for p in experiment])


def run(config: str, input: PathLike, output: PathLike, *,
        positions: Optional[Sequence[int]] = None, frames: FrameRange = None,
        settings: Sequence[str] = (), labels: bool = True,
        lineage_picture: bool = True, movie: bool = True,
        redo: bool = False) -> List[Dict[str, Any]]:
    """:func:`run_position` for every position of the movie (or ``positions``), in order."""
    experiment = None if positions is None else sorted(set(int(p) for p in positions))
    if positions is None:
        positions = movie_layout(input)["positions"]
    return [run_position(config, input, output, p, frames=frames, settings=settings,
                         labels=labels, lineage_picture=lineage_picture, movie=movie,
                         redo=redo, experiment=experiment)
            for p in positions]


def merge(output: PathLike) -> Dict[str, Any]:
    """Checks the positions of a results folder written by several runs (processes, Dask
    workers, Slurm array tasks) and joins them, as ``deltacell merge``: writes ``positions.csv``
    (one row per position with its status: complete, failed, partial or missing) and, when
    every position is complete, ``experiment.csv`` (every position's table, one header).

    Returns:
        ``{"positions": [{"position", "status", "problem", "rois", "cells", "rows",
        "frames", "files"}, ...], "index": path, "table": path or None}``; ``table`` is
        ``None`` when a position is not complete.

    Raises:
        ValueError: no position's results, or positions made with different configurations,
            models, frames or versions, or tables of different columns.
    """
    return _native.merge(path(output))
