"""Compares two results folders of the same movie, position by position: DeLTA 3's
(`delta run`) and deltacell's (`deltacell run`), made with the same models and configuration.

Usage: python compare.py DELTA_RESULTS DELTACELL_RESULTS [--json OUT.json]

Reads `PositionNNNNNN.nc` with netCDF4 (DeLTA's format 0.1.0). For each position it prints:
ROI counts and the largest box difference; rotation and drift; label agreement (cell ids
matched by overlap); lineages (cells matched by overlap over their lives: the same mothers,
first and last frames, division frames); features of matched cell-frames (relative
differences of length, width, area, perimeter; pole distances), with the issue's tolerances
(boxes within 1 px, labels ≥ 99 %, features within 5 %, poles within 3 px) and the strict
figures (exactly equal).
"""

import argparse
import ast
import glob
import json
import os
import sys

import netCDF4
import numpy as np


def load(path):
    d = netCDF4.Dataset(path)
    out = {
        "rotate": float(d.rotate),
        "drift": list(zip(np.atleast_1d(d.drift_x).tolist(), np.atleast_1d(d.drift_y).tolist())),
        "rois": [],
    }
    i = 0
    while f"roi{i:02d}" in d.groups:
        g = d.groups[f"roi{i:02d}"]
        box = ast.literal_eval(g.box)
        roi = {
            "box": (box["xtl"], box["ytl"], box["xbr"], box["ybr"]),
            "labels": np.asarray(g["label_stack"][:]),
            "cells": np.asarray(g["cell"][:]).tolist() if "cell" in g.variables else [],
        }
        for v in ("mother", "first_frame", "last_frame", "length", "width", "area", "perimeter",
                  "new_pole", "old_pole"):
            roi[v] = np.ma.filled(g[v][:], np.nan).astype(float) if v in g.variables else None
        out["rois"].append(roi)
        i += 1
    d.close()
    return out


def match_cells(la, lb):
    """Cell a → cell b by the largest pixel overlap over all frames (mutual best)."""
    a, b = la.ravel(), lb.ravel()
    both = (a > 0) & (b > 0)
    pairs, counts = np.unique(np.stack([a[both], b[both]]), axis=1, return_counts=True)
    best_a, best_b = {}, {}
    for (x, y), n in zip(pairs.T.tolist(), counts.tolist()):
        if n > best_a.get(x, (0, 0))[1]:
            best_a[x] = (y, n)
        if n > best_b.get(y, (0, 0))[1]:
            best_b[y] = (x, n)
    return {x: y for x, (y, _) in best_a.items() if best_b.get(y, (None,))[0] == x}


def compare_position(a, b):
    r = {"rois_delta": len(a["rois"]), "rois_deltacell": len(b["rois"])}
    r["rotate_diff"] = abs(a["rotate"] - b["rotate"])
    r["drift_equal"] = a["drift"] == b["drift"]
    n = min(len(a["rois"]), len(b["rois"]))
    box_diff, label_px, label_eq, label_fg_eq = 0, 0, 0, 0
    cells = lineage_same = 0
    feats = {k: [] for k in ("length", "width", "area", "perimeter")}
    poles = []
    for ra, rb in zip(a["rois"][:n], b["rois"][:n]):
        box_diff = max(box_diff, max(abs(x - y) for x, y in zip(ra["box"], rb["box"])))
        la, lb = ra["labels"], rb["labels"]
        if la.shape != lb.shape:
            continue
        m = match_cells(la, lb)
        mapped = np.vectorize(lambda v: m.get(v, -1) if v > 0 else 0, otypes=[np.int64])(la)
        label_px += la.size
        label_eq += int(np.sum(mapped == lb))
        label_fg_eq += int(np.sum((la > 0) == (lb > 0)))
        ida = {c: i for i, c in enumerate(ra["cells"])}
        idb = {c: i for i, c in enumerate(rb["cells"])}
        for ca, cb in m.items():
            if ca not in ida or cb not in idb:
                continue
            i, j = ida[ca], idb[cb]
            cells += 1
            ma, mb = ra["mother"][i], rb["mother"][j]
            mother_ok = (np.isnan(ma) or ma == 0) and (np.isnan(mb) or mb == 0) or m.get(int(ma)) == int(mb)
            same = (mother_ok and ra["first_frame"][i] == rb["first_frame"][j]
                    and ra["last_frame"][i] == rb["last_frame"][j])
            lineage_same += int(same)
            for k in feats:
                fa, fb = ra[k][i], rb[k][j]
                ok = ~np.isnan(fa) & ~np.isnan(fb)
                feats[k].extend((np.abs(fa[ok] - fb[ok]) / np.maximum(np.abs(fa[ok]), 1e-9)).tolist())
            for k in ("new_pole", "old_pole"):
                pa, pb = ra[k][i], rb[k][j]
                ok = ~np.isnan(pa).any(axis=-1) & ~np.isnan(pb).any(axis=-1)
                poles.extend(np.hypot(*(pa[ok] - pb[ok]).T).tolist())
    r["box_max_diff_px"] = int(box_diff)
    r["labels_equal_fraction"] = label_eq / max(label_px, 1)
    r["foreground_equal_fraction"] = label_fg_eq / max(label_px, 1)
    r["cells_matched"] = cells
    r["cells_delta"] = sum(len(x["cells"]) for x in a["rois"])
    r["cells_deltacell"] = sum(len(x["cells"]) for x in b["rois"])
    r["lineage_same_fraction"] = lineage_same / max(cells, 1)
    for k, v in feats.items():
        v = np.asarray(v)
        r[f"{k}_within_5pct"] = float(np.mean(v <= 0.05)) if v.size else None
        r[f"{k}_equal"] = float(np.mean(v == 0)) if v.size else None
    p = np.asarray(poles)
    r["poles_within_3px"] = float(np.mean(p <= 3)) if p.size else None
    r["poles_equal"] = float(np.mean(p == 0)) if p.size else None
    return r


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("delta")
    ap.add_argument("deltacell")
    ap.add_argument("--json")
    args = ap.parse_args()
    report = {}
    for pa in sorted(glob.glob(os.path.join(args.delta, "Position*.nc"))):
        name = os.path.basename(pa)
        pb = os.path.join(args.deltacell, name)
        if not os.path.exists(pb):
            print(f"{name}: missing in {args.deltacell}")
            report[name] = None
            continue
        r = compare_position(load(pa), load(pb))
        report[name] = r
        print(f"== {name}")
        for k, v in r.items():
            print(f"  {k:28s} {v:.4f}" if isinstance(v, float) else f"  {k:28s} {v}")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(report, f, indent=1)
    return 0 if report and all(report.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
