"""Wall time and peak memory of the HMDA data-quality + compatibility block, at 714 rows and at 1M rows.

Usage (from the repository root, after `gatekit demo`, which writes the HMDA held-out rows and model):
    python benchmarks/data_quality.py [--rows 1000000] [--repeat 3]

Each case runs `gatekit run` in a fresh process (start-up and imports included) on the data-quality and
compatibility sections of policies/loan_approval.yaml (the metric rules are left out, so the figure is
the data block alone). The 1M-row case resamples the HMDA held-out rows with replacement (seeded) into
benchmarks/data/ (parquet, not committed). Prints wall seconds (median) and the child's peak RSS.
"""

from __future__ import annotations

import argparse
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import yaml

ROOT = Path(__file__).resolve().parent.parent
ARTIFACTS = ROOT / "reports" / "demo" / "artifacts"


def data_block_policy(out: Path, data: Path) -> Path:
    """Write the loan policy's data_quality + compatibility sections, with paths made absolute."""
    full = yaml.safe_load((ROOT / "policies" / "loan_approval.yaml").read_text())
    policy = {"version": 1, "name": "hmda_data_block", "strict": True,
              "inputs": {"data": str(data), "model": str(ARTIFACTS / "hmda_candidate.skops"),
                         "reference": str(ARTIFACTS / "hmda_train.csv")},
              "data_quality": {**full["data_quality"], "expectations_dir": str(ROOT / "expectations")},
              "compatibility": full["compatibility"]}
    path = out / f"policy_{data.stem}.yaml"
    path.write_text(yaml.safe_dump(policy, sort_keys=False))
    return path


def run_once(policy: Path, out: Path) -> tuple[float, float, int]:
    """Run gatekit in a child process; return wall s, child peak RSS MB (max so far) and the exit code."""
    t0 = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "gatekit", "run", str(policy), "--out", str(out), "-q"],
                          capture_output=True, text=True, cwd=ROOT)
    wall = time.perf_counter() - t0
    if proc.returncode not in (0, 1):
        sys.exit(f"gatekit failed (exit {proc.returncode}):\n{proc.stderr}")
    return wall, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024, proc.returncode


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    holdout = ARTIFACTS / "hmda_holdout.csv"
    if not holdout.is_file():
        sys.exit("run `gatekit demo` first: it writes reports/demo/artifacts/")
    work = ROOT / "benchmarks" / "data"
    work.mkdir(parents=True, exist_ok=True)
    big = work / f"hmda_{args.rows}.parquet"
    if not big.is_file():
        pd.read_csv(holdout).sample(args.rows, replace=True, random_state=0).reset_index(drop=True).to_parquet(big)
    for data in (holdout, big):
        policy = data_block_policy(work, data)
        runs = [run_once(policy, work / "out") for _ in range(args.repeat)]
        rows = len(pd.read_parquet(big, columns=["deny"])) if data == big else len(pd.read_csv(holdout))
        print(f"{rows:>9,} rows  data_quality + compatibility: {statistics.median(r[0] for r in runs):6.2f} s wall "
              f"(median of {args.repeat}), peak RSS {max(r[1] for r in runs):6.0f} MB, exit {runs[-1][2]}")


if __name__ == "__main__":
    main()
