#!/usr/bin/env python3
"""Scores a Cell Tracking Challenge result folder against a ground-truth folder with the two
reference implementations, py-ctcmetrics and traccuracy, and prints their figures as one JSON
object (on stdout; everything the packages print goes to stderr):

    {"py_ctcmetrics": {"DET": …, "SEG": …, "TRA": …, "LNK": …, "CT": …,
                       "division_tp": …, "division_fp": …, "division_fn": …, "BC": …,
                       "NS": …, "FN": …, "FP": …, "ED": …, "EA": …, "EC": …},
     "traccuracy":    {"DET": …, "TRA": …, "LNK": …, "division_precision": …,
                       "division_recall": …, "division_f1": …, "division_tp": …,
                       "division_fp": …, "division_fn": …, …}}

A figure a package cannot give (it raises, or its result is NaN) is null, and the reason is in
"<package>_errors". Used by deltacell's tests (crates/deltacell-analysis/tests/ctc_reference.rs)
with the python named by DELTACELL_CTC_PYTHON.

Usage: reference_scores.py --pred RES_DIR --truth GT_DIR [--division-tolerance N]
"""
import argparse
import contextlib
import json
import math
import os
import sys
import warnings


def clean(value):
    """JSON-safe number: NaN and None become null, numpy scalars Python numbers."""
    if value is None:
        return None
    value = float(value)
    return None if math.isnan(value) else value


def py_ctcmetrics(pred, truth, tolerance):
    from ctc_metrics.scripts.evaluate import evaluate_sequence

    metrics = ["Valid", "DET", "SEG", "TRA", "LNK", "CT", "BC", f"BC({tolerance})"]
    with contextlib.redirect_stdout(sys.stderr):
        r = evaluate_sequence(pred, truth, metrics=metrics, threads=1)
    out = {k: clean(r.get(k)) for k in ("Valid", "DET", "SEG", "TRA", "LNK", "CT")}
    out["BC"] = clean(r.get(f"BC({tolerance})"))
    out["division_tp"] = clean(r.get(f"tp_div({tolerance})"))
    out["division_fp"] = clean(r.get(f"fp_div({tolerance})"))
    out["division_fn"] = clean(r.get(f"fn_div({tolerance})"))
    for key in ("NS", "FN", "FP", "ED", "EA", "EC"):
        out[key] = clean(r.get(f"AOGM_{key}"))
    return out


def traccuracy(pred, truth, tolerance):
    from traccuracy import run_metrics
    from traccuracy.loaders import load_ctc_data
    from traccuracy.matchers import CTCMatcher
    from traccuracy.metrics import CTCMetrics, DivisionMetrics

    errors = []
    gt = load_ctc_data(os.path.join(truth, "TRA"), os.path.join(truth, "TRA", "man_track.txt"))
    res = load_ctc_data(pred, os.path.join(pred, "res_track.txt"))
    out = {}
    try:
        results, _ = run_metrics(gt, res, CTCMatcher(), [CTCMetrics()])
        r = results[0]["results"]
        for key in ("DET", "TRA", "LNK"):
            out[key] = clean(r[key])
        for key in ("ns_nodes", "fn_nodes", "fp_nodes", "fp_edges", "fn_edges", "ws_edges"):
            out[key] = clean(r[key])
    except Exception as e:  # a figure it cannot give is reported, not fatal
        errors.append(f"CTCMetrics: {type(e).__name__}: {e}")
    try:
        gt = load_ctc_data(os.path.join(truth, "TRA"), os.path.join(truth, "TRA", "man_track.txt"))
        res = load_ctc_data(pred, os.path.join(pred, "res_track.txt"))
        results, _ = run_metrics(gt, res, CTCMatcher(), [DivisionMetrics(max_frame_buffer=tolerance)])
        r = results[0]["results"][f"Frame Buffer {tolerance}"]
        out["division_precision"] = clean(r["Division Precision"])
        out["division_recall"] = clean(r["Division Recall"])
        out["division_f1"] = clean(r["Division F1"])
        out["division_tp"] = clean(r["True Positive Divisions"])
        out["division_fp"] = clean(r["False Positive Divisions"])
        out["division_fn"] = clean(r["False Negative Divisions"])
    except Exception as e:
        errors.append(f"DivisionMetrics: {type(e).__name__}: {e}")
    return out, errors


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pred", required=True, help="CTC result folder (res_track.txt, mask*.tif)")
    parser.add_argument("--truth", required=True, help="CTC ground-truth folder (TRA/, SEG/)")
    parser.add_argument("--division-tolerance", type=int, default=0)
    args = parser.parse_args()
    warnings.simplefilter("ignore")
    report = {}
    try:
        report["py_ctcmetrics"] = py_ctcmetrics(args.pred, args.truth, args.division_tolerance)
    except Exception as e:
        report["py_ctcmetrics"] = {}
        report["py_ctcmetrics_errors"] = [f"{type(e).__name__}: {e}"]
    try:
        report["traccuracy"], errors = traccuracy(args.pred, args.truth, args.division_tolerance)
        if errors:
            report["traccuracy_errors"] = errors
    except Exception as e:
        report["traccuracy"] = {}
        report["traccuracy_errors"] = [f"{type(e).__name__}: {e}"]
    json.dump(report, sys.stdout)
    print()


if __name__ == "__main__":
    main()
