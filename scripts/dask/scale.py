#!/usr/bin/env python3
"""Scale figures of docs/scaling.md: a movie's positions analysed by a LocalCluster of 1, 2, …
worker processes (scripts/dask/run_positions.py), each worker one thread and, unless
RAYON_NUM_THREADS is set, one core for the analysis' own threads; prints per cluster size the
cluster's start-up time, the wall time of the positions and the merge, and each worker's peak
resident memory (the process's ``ru_maxrss``, the Dask worker's own memory included).

    python scripts/dask/scale.py -c chambers.toml -i 'movie/…{p}…{t}.png' --root /tmp/scale --workers 1 2
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import resource
import shutil
import sys
import time
from pathlib import Path


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> int:
    a = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    a.add_argument("-c", "--config", required=True)
    a.add_argument("-i", "--input", required=True)
    a.add_argument("--root", required=True, help="results folders go to ROOT/dask-W")
    a.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    args = a.parse_args()
    os.environ.setdefault("RAYON_NUM_THREADS", "1")  # inherited by the worker processes
    from dask.distributed import Client, LocalCluster

    spec = importlib.util.spec_from_file_location(
        "run_positions", Path(__file__).with_name("run_positions.py"))
    example = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(example)
    for w in args.workers:
        out = Path(args.root) / f"dask-{w}"
        shutil.rmtree(out, ignore_errors=True)
        t0 = time.perf_counter()
        with LocalCluster(n_workers=w, threads_per_worker=1, processes=True,
                          dashboard_address=None) as cluster, Client(cluster) as client:
            t1 = time.perf_counter()
            idle = client.run(_peak_mb)
            r = example.run_positions(client, args.config, args.input, str(out), movie=False)
            t2 = time.perf_counter()
            peaks = client.run(_peak_mb)
        n = len(r["summaries"])
        busy = sorted(peaks.values())
        print(f"{w} worker(s): {n} positions in {t2 - t1:.1f} s (cluster start {t1 - t0:.1f} s); "
              f"{sum(s['seconds'] for s in r['summaries']):.1f} s inside run_position; "
              f"peak RSS per worker {', '.join(f'{m:.0f}' for m in busy)} MB "
              f"(idle worker {max(idle.values()):.0f} MB); failed {len(r['failed'])}; "
              f"table {'written' if r['merge']['table'] else 'MISSING'}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
