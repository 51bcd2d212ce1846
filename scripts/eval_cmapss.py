#!/usr/bin/env python3
"""C-MAPSS evaluation of `forewarn rul train` (standard library only).

For each training set (FD001 and FD003 by default), trains with the remaining life capped at 125
cycles; `rul train` itself runs the 5-fold cross-validation grouped by engine and reports two
figures: the benchmark's protocol (`cut_rmse`: every held-out engine cut at a random cycle, from
its 31st on, and predicted at the cut, RMSE averaged over 10 seeds, with its spread) and the RMSE
over every row of every held-out engine. Prints JSON lines like the benches.

    cargo build --release && scripts/eval_cmapss.py ../shared/data/cmapss-train [--sets FD001,FD003]
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile

COLUMNS = "unit,cycle,op1..op3,s1..s21"
# FD002 and FD004 run at six flight conditions (the data set's documentation says so): their
# operating settings define regimes. FD001 and FD003 run at one; their settings are noise.
MULTI_REGIME = {"FD002", "FD004"}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("cmapss_dir")
    ap.add_argument("--forewarn", default="target/release/forewarn")
    ap.add_argument("--sets", default="FD001,FD002,FD003,FD004")
    ap.add_argument("--cap", default="125")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        for name in args.sets.split(","):
            model = os.path.join(tmp, f"{name}.json")
            cmd = [
                args.forewarn, "rul", "train",
                "--input", os.path.join(args.cmapss_dir, f"train_{name}.txt"),
                "--columns", COLUMNS, "--unit-col", "unit", "--time-col", "cycle",
                "--cap", args.cap, "--model", model,
            ]
            if name in MULTI_REGIME:
                cmd += ["--settings", "op1..op3"]
            run = subprocess.run(cmd, capture_output=True, text=True)
            if run.returncode != 0:
                sys.stderr.write(run.stderr)
                return 1
            with open(model) as f:
                cv = json.load(f)["model"]["cv"]
            for key, unit in (("cut_rmse", "cycles"), ("cut_rmse_sd", "cycles"), ("rmse", "cycles"), ("mae", "cycles")):
                print(json.dumps({"name": f"cmapss_{name}_cv_{key}", "value": round(cv[key], 2), "unit": unit}))
            print(json.dumps({"name": f"cmapss_{name}_units", "value": cv["units"], "unit": "engines"}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
