"""Wall time and peak memory of gatekit commands, each in a fresh process (start-up and imports included).

Usage (from the repository root, after `gatekit demo`):
    python benchmarks/cli_timing.py [--rows 1000000]

Prints one line per command: wall seconds (median of 3) and peak RSS of the child in MB.
The large case writes a synthetic scored data set (binary target, score, 3-group sensitive column) to
benchmarks/data/ (not committed) and runs every classification and fairness metric on it.
"""

from __future__ import annotations

import argparse
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parent.parent

POLICY = """version: 1
metrics:
  - {name: auc_roc, op: ">=", value: 0.7}
  - {name: pr_auc, op: ">=", value: 0.3}
  - {name: log_loss, op: "<=", value: 0.7}
  - {name: brier_score, op: "<=", value: 0.25}
  - {name: precision_at_0_5, op: ">=", value: 0.5}
  - {name: recall_at_0_5, op: ">=", value: 0.3}
  - {name: f1_at_0_5, op: ">=", value: 0.3}
  - {name: fairness_demographic_parity_diff, op: "<=", value: 0.1}
  - {name: fairness_equal_opportunity_diff, op: "<=", value: 0.1}
  - {name: fairness_equalized_odds_diff, op: "<=", value: 0.1}
"""


def timed(cmd: list[str], repeat: int = 3) -> tuple[float, float]:
    walls = []
    peak = 0.0
    for _ in range(repeat):
        t0 = time.perf_counter()
        proc = subprocess.run(cmd, capture_output=True, text=True)
        walls.append(time.perf_counter() - t0)
        if proc.returncode not in (0, 1):
            raise SystemExit(f"{' '.join(cmd)} failed ({proc.returncode}):\n{proc.stderr}")
        peak = max(peak, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024)
    return statistics.median(walls), peak


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=1_000_000)
    args = ap.parse_args()
    gk = [sys.executable, "-m", "gatekit"]
    out = ROOT / "benchmarks" / "data"
    out.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    n = args.rows
    y = rng.binomial(1, 0.3, n)
    score = 1 / (1 + np.exp(-(rng.normal(0, 1, n) + 1.5 * (y - 0.3))))
    group = rng.choice(["a", "b", "c"], n, p=[0.5, 0.3, 0.2])
    data = out / f"scored_{n}.parquet"
    pd.DataFrame({"y": y, "score": score, "group": group}).to_parquet(data)
    policy = out / "bench_policy.yaml"
    policy.write_text(POLICY)
    cases = [
        ("gatekit --help", [*gk, "--help"]),
        ("gatekit validate loan_approval.yaml", [*gk, "validate", str(ROOT / "policies" / "loan_approval.yaml")]),
    ]
    if (ROOT / "reports" / "demo" / "artifacts" / "hmda_holdout.csv").is_file():
        cases.append(("gatekit run loan_approval.yaml (714 rows, model scored)",
                      [*gk, "run", str(ROOT / "policies" / "loan_approval.yaml"), "--out", str(out / "r1"), "-q"]))
    cases.append((f"gatekit run 10 metrics, {n:,} rows", [*gk, "run", str(policy), "--data", str(data), "--target", "y",
                                                            "--score", "score", "--sensitive", "group",
                                                            "--out", str(out / "r2"), "-q"]))
    for label, cmd in cases:
        wall, peak = timed(cmd)
        print(f"{label:<60} wall {wall:6.2f} s   peak RSS (max so far) {peak:7.0f} MB")


if __name__ == "__main__":
    main()
