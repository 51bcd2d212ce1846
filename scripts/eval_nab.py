#!/usr/bin/env python3
"""NAB evaluation of `forewarn backtest` (standard library only).

Runs the backtest on every stream of a NAB-layout directory (data/<category>/<file>.csv and
combined_windows.json) with NAB's probation as the warm-up (the first 15 % of each file, which NAB
does not score), writes each file's `anomaly_score` column where the scorer expects it, and scores
them with NAB's rules (`nab_score.py`: one detection per window counts, earlier is worth more;
every row at or above the threshold outside a window is a false positive; the threshold is chosen
over all files together). Prints the three profiles as JSON lines like the benches.

    cargo build --release && scripts/eval_nab.py ../shared/data/nab-dev \\
        [--scorer ../shared/tools/nab_score.py] [--forewarn target/release/forewarn] [--keep DIR]
"""

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile

PROBATION = 0.15


def rows_of(path: str) -> int:
    with open(path) as f:
        return sum(1 for _ in f) - 1


def backtest(forewarn: str, src: str, dst: str) -> None:
    warmup = max(10, int(PROBATION * rows_of(src)))
    os.makedirs(os.path.dirname(dst), exist_ok=True)
    subprocess.run(
        [forewarn, "backtest", "--input", src, "--baseline-rows", str(warmup), "--out", dst],
        check=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("nab_dir")
    here = os.path.dirname(os.path.abspath(__file__))
    ap.add_argument("--scorer", default=os.path.join(here, "..", "..", "shared", "tools", "nab_score.py"))
    ap.add_argument("--forewarn", default="target/release/forewarn")
    ap.add_argument("--keep", help="write the scored files here (kept) instead of a temporary directory")
    args = ap.parse_args()
    with open(os.path.join(args.nab_dir, "combined_windows.json")) as f:
        files = sorted(json.load(f))
    out = args.keep or tempfile.mkdtemp(prefix="forewarn-nab-")
    try:
        for i, rel in enumerate(files, 1):
            print(f"[{i}/{len(files)}] {rel}", file=sys.stderr)
            backtest(args.forewarn, os.path.join(args.nab_dir, "data", rel), os.path.join(out, rel))
        run = subprocess.run([sys.executable, args.scorer, args.nab_dir, out], capture_output=True, text=True)
        line = run.stdout.strip()
        found = dict(re.findall(r"(\w+)=(-?[\d.]+)@", line))
        if not found:
            sys.stderr.write(run.stdout + run.stderr)
            return 1
        for profile, value in found.items():
            print(json.dumps({"name": f"nab_{profile}", "value": float(value), "unit": "score"}))
        print(json.dumps({"name": "nab_files", "value": len(files), "unit": "files"}))
    finally:
        if not args.keep:
            shutil.rmtree(out, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
