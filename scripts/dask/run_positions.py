#!/usr/bin/env python3
"""Analyse a movie's positions on a Dask cluster with deltacell, then merge them.

Each position is one task, ``deltacell.pipeline.run_position`` (the work runs in Rust with the
GIL released); every file a position writes is named by it, so tasks never write the same
file, and a position whose results are complete is skipped, so running the script again after
a worker or the whole cluster died finishes only what is missing. ``deltacell.pipeline.merge``
then checks the positions and writes ``positions.csv`` and ``experiment.csv``, as
``deltacell merge`` does.

On this machine (a local cluster of processes, one thread each: the analysis uses its own
threads inside each task)::

    python scripts/dask/run_positions.py -c chambers.toml \\
        -i 'movie/Position{p}_Chamber000001_Frame{t}.png' -o results --workers 2

On a Slurm cluster, through ``dask_jobqueue.SLURMCluster`` (one job per worker, one core and
the memory of one position each; ``pip install dask-jobqueue``)::

    python scripts/dask/run_positions.py -c chambers.toml -i ... -o results \\
        --slurm --workers 32 --memory 4GB --walltime 02:00:00

As a library: :func:`run_positions` with any ``dask.distributed.Client``.
"""

from __future__ import annotations

import argparse
import functools
import sys
from typing import Any, Dict, List, Optional, Sequence

from dask.distributed import Client, LocalCluster, wait

from deltacell import pipeline


def run_positions(client: Client, config: str, input: str, output: str, *,
                  positions: Optional[Sequence[int]] = None,
                  **options: Any) -> Dict[str, Any]:
    """Maps :func:`deltacell.pipeline.run_position` over ``positions`` (default: all of the
    movie's) on ``client``'s cluster, then merges ``output``.

    ``options`` are :func:`~deltacell.pipeline.run_position`'s keywords (``frames``,
    ``settings``, ``labels``, ``lineage_picture``, ``movie``, ``redo``).

    Returns:
        ``{"summaries": [...], "failed": {position: message}, "merge": merge report}``; the
        merge report's ``table`` is ``None`` when a position is not complete.
    """
    experiment = sorted(int(p) for p in (
        positions if positions is not None else pipeline.movie_layout(input)["positions"]))
    one = functools.partial(pipeline.run_position, config, str(input), str(output),
                            experiment=experiment, **options)
    # pure=False: a task is run again when resubmitted (its own skip check makes it cheap).
    futures = client.map(one, experiment, pure=False,
                         key=[f"deltacell-position-{p}" for p in experiment])
    wait(futures)
    summaries: List[Dict[str, Any]] = []
    failed: Dict[int, str] = {}
    for p, f in zip(experiment, futures):
        if f.status == "finished":
            summaries.append(f.result())
        else:
            failed[p] = repr(f.exception())
    return {"summaries": summaries, "failed": failed, "merge": pipeline.merge(output)}


def main(argv: Optional[Sequence[str]] = None) -> int:
    a = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    a.add_argument("-c", "--config", required=True, help="2D, mothermachine or a TOML file")
    a.add_argument("-i", "--input", required=True, help="the movie ({p}/{c}/{t} template, ...)")
    a.add_argument("-o", "--output", required=True, help="the results folder")
    a.add_argument("-C", dest="settings", action="append", default=[], metavar="KEY=VALUE")
    a.add_argument("--positions", type=lambda s: [int(x) for x in s.split(",")],
                   help="comma-separated position numbers (default: all)")
    a.add_argument("--workers", type=int, default=2, help="Dask workers (Slurm jobs)")
    a.add_argument("--no-movie", action="store_true", help="skip the results movies")
    a.add_argument("--redo", action="store_true",
                   help="analyse again positions made from other inputs, models or settings")
    a.add_argument("--slurm", action="store_true", help="workers as Slurm jobs (dask-jobqueue)")
    a.add_argument("--memory", default="4GB", help="memory per Slurm worker")
    a.add_argument("--walltime", default="02:00:00", help="wall time per Slurm worker")
    args = a.parse_args(argv)
    if args.slurm:
        from dask_jobqueue import SLURMCluster
        cluster = SLURMCluster(cores=1, processes=1, memory=args.memory,
                               walltime=args.walltime)
        cluster.scale(jobs=args.workers)
    else:
        cluster = LocalCluster(n_workers=args.workers, threads_per_worker=1, processes=True)
    with cluster, Client(cluster) as client:
        out = run_positions(client, args.config, args.input, args.output,
                            positions=args.positions, settings=args.settings,
                            movie=not args.no_movie, redo=args.redo)
    for s in out["summaries"]:
        what = "skipped" if s["skipped"] else f"{s['cells']} cells, {s['seconds']:.1f} s"
        print(f"position {s['position']}: {what}")
    for p, m in out["failed"].items():
        print(f"position {p}: failed: {m}", file=sys.stderr)
    report = out["merge"]
    bad = [e for e in report["positions"] if e["status"] != "complete"]
    print(f"{len(report['positions']) - len(bad)} of {len(report['positions'])} positions "
          f"complete → {report['index']}")
    if bad:
        print("not complete: " + ", ".join(f"{e['position']} ({e['status']})" for e in bad),
              file=sys.stderr)
        return 1
    print(f"experiment table → {report['table']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
