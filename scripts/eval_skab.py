#!/usr/bin/env python3
"""SKAB evaluation of `forewarn backtest` (standard library only).

Runs the backtest on every labeled file (valve1/, valve2/, other/) with the benchmark's protocol
(the first 400 rows are the healthy baseline, the rest is scored) and prints point-wise F1, FAR and
MAR over all scored rows of all files together, as JSON lines like the benches.

    cargo build --release && scripts/eval_skab.py ../shared/data/skab [--forewarn target/release/forewarn]
"""

import argparse
import csv
import glob
import json
import os
import subprocess
import sys
import tempfile

BASELINE = 400


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("skab_dir")
    ap.add_argument("--forewarn", default="target/release/forewarn")
    ap.add_argument("--joint", default="mahalanobis", choices=["mahalanobis", "pca"])
    args = ap.parse_args()
    files = sorted(
        f
        for d in ("valve1", "valve2", "other")
        for f in glob.glob(os.path.join(args.skab_dir, d, "*.csv"))
    )
    if not files:
        print(f"no labeled SKAB files under {args.skab_dir}", file=sys.stderr)
        return 2
    tp = fp = fn = tn = 0
    with tempfile.TemporaryDirectory() as tmp:
        for i, path in enumerate(files):
            out = os.path.join(tmp, f"{i}.csv")
            subprocess.run(
                [args.forewarn, "backtest", "--input", path, "--baseline-rows", str(BASELINE), "--out", out,
                 "--joint", args.joint],
                check=True,
                stdout=subprocess.DEVNULL,
            )
            with open(out, newline="") as fh:
                rows = list(csv.DictReader(fh, delimiter=";"))
            for row in rows[BASELINE:]:
                truth = float(row["anomaly"]) > 0.5
                pred = row["is_anomaly"] == "1"
                tp += truth and pred
                fp += pred and not truth
                fn += truth and not pred
                tn += not truth and not pred
    figures = {
        "skab_f1": (tp / (tp + (fp + fn) / 2), ""),
        "skab_far": (100.0 * fp / (fp + tn), "%"),
        "skab_mar": (100.0 * fn / (fn + tp), "%"),
        "skab_files": (len(files), "files"),
    }
    for name, (value, unit) in figures.items():
        print(json.dumps({"name": name, "value": round(value, 4), "unit": unit}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
