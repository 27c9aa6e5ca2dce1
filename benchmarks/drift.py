"""Drift at scale: gatekit's drift section against evidently called directly, on the same frames, in one run.

Usage (from the repository root):
    python benchmarks/drift.py [--rows 1000000] [--repeat 1]

Builds (once, into benchmarks/data/, parquet, not committed) a reference and a current frame of ``--rows``
rows x 20 columns each by resampling the bundled HMDA rows with replacement: the 13 HMDA features plus 7
derived ones (ratios, an interaction, two categorical bands, an integer score and a jittered copy); the
current frame is shifted (lvrat x 1.05, pirat + 0.02, a different mix of credit-history scores).

Then, each in a fresh process (start-up, imports and reading the parquet files included):
- gatekit: ``gatekit run`` on a policy with a drift section, PSI on all 20 features (gatekit's
  reference-quantile PSI; evidently's HTML report off, as ``evidently_report: auto`` does at this size);
- evidently: ``Report([ValueDrift(column=c, method="psi") for c in the 20 columns])`` with an explicit
  DataDefinition, run directly.
Prints wall seconds and peak RSS of each, and the ratio.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

ROOT = Path(__file__).resolve().parent.parent
WORK = ROOT / "benchmarks" / "data"
NUMERICAL = ["pirat", "hirat", "lvrat", "unemp", "chist", "mhist", "other_debt", "log_lvrat", "credit_product",
             "pirat_jitter", "score"]
CATEGORICAL = ["phist", "selfemp", "insurance", "condomin", "afam", "single", "hschool", "lvrat_band", "unemp_band"]

EVIDENTLY = textwrap.dedent("""
    import os, resource, sys, time
    os.environ["DO_NOT_TRACK"] = "1"
    t0 = time.perf_counter()
    import pandas as pd
    from evidently import DataDefinition, Dataset, Report
    from evidently.metrics import ValueDrift
    num, cat = sys.argv[3].split(","), sys.argv[4].split(",")
    ref, cur = pd.read_parquet(sys.argv[1]), pd.read_parquet(sys.argv[2])
    dd = DataDefinition(numerical_columns=num, categorical_columns=cat)
    snap = Report([ValueDrift(column=c, method="psi") for c in num + cat]).run(
        Dataset.from_pandas(cur, data_definition=dd), Dataset.from_pandas(ref, data_definition=dd))
    values = [m["value"] for m in snap.dict()["metrics"]]
    print(len(values), max(values), resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
""")


def build(rows: int) -> tuple[Path, Path]:
    """Write the reference and current parquet files (seeded) and return their paths."""
    WORK.mkdir(parents=True, exist_ok=True)
    ref_path, cur_path = WORK / f"drift_ref_{rows}.parquet", WORK / f"drift_cur_{rows}.parquet"
    if ref_path.is_file() and cur_path.is_file():
        return ref_path, cur_path
    base = pd.read_csv(ROOT / "data" / "hmda" / "hmda.csv").drop(columns=["deny"])
    rng = np.random.default_rng(0)
    for path, shift in ((ref_path, False), (cur_path, True)):
        df = base.sample(rows, replace=True, random_state=int(rng.integers(1 << 31))).reset_index(drop=True)
        if shift:
            df["lvrat"] = df["lvrat"] * 1.05
            df["pirat"] = df["pirat"] + 0.02
            df.loc[df.sample(frac=0.1, random_state=1).index, "chist"] = 1
        df["other_debt"] = (df["pirat"] - df["hirat"]).clip(lower=0)
        df["log_lvrat"] = np.log(df["lvrat"].clip(lower=1e-3))
        df["credit_product"] = df["chist"] * df["mhist"]
        df["pirat_jitter"] = df["pirat"] * rng.normal(1, 0.01, rows)
        df["score"] = (df["chist"] * 10 + df["mhist"]).astype("int64")
        bands = ["low", "mid", "high", "max"]
        df["lvrat_band"] = pd.cut(df["lvrat"], [0, 0.6, 0.8, 0.95, 10], labels=bands).astype(str)
        df["unemp_band"] = pd.cut(df["unemp"], [0, 3, 5, 20], labels=["low", "mid", "high"]).astype(str)
        df[NUMERICAL + CATEGORICAL].to_parquet(path)
    return ref_path, cur_path


def run(cmd: list[str]) -> tuple[float, str, float]:
    """Run a command in a child; return wall seconds, stdout and the child's peak RSS in MB (exits on failure)."""
    import resource

    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT)
    wall = time.perf_counter() - t0
    if proc.returncode not in (0, 1):
        sys.exit(f"{cmd[:3]} failed (exit {proc.returncode}):\n{proc.stderr[-2000:]}")
    after = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss  # the largest child so far
    return wall, proc.stdout, (after / 1024 if after > before else float("nan"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=1)
    args = parser.parse_args()
    ref, cur = build(args.rows)
    policy = WORK / "drift_policy.yaml"
    policy.write_text(yaml.safe_dump({
        "version": 1, "name": "drift_benchmark", "inputs": {"data": str(cur), "reference": str(ref)},
        "drift": {"numerical_features": NUMERICAL, "categorical_features": CATEGORICAL,
                  "numerical": {"method": "psi", "threshold": 0.2}, "categorical": {"method": "psi", "threshold": 0.2},
                  "evidently_report": False},
        "metrics": [{"name": "psi_feature_drift", "op": "<=", "value": 0.2, "on_fail": "warn"}]}, sort_keys=False))
    print(f"{args.rows:,} reference + {args.rows:,} current rows x {len(NUMERICAL) + len(CATEGORICAL)} columns, "
          "PSI on every column")
    for _ in range(args.repeat):
        # gatekit first: the children's peak RSS is a running maximum, so the smaller run must go first
        g_wall, _out, gk_rss = run([sys.executable, "-m", "gatekit", "run", str(policy), "--out",
                                    str(WORK / "drift_out"), "-q"])
        report = yaml.safe_load((WORK / "drift_out" / "gate_report.json").read_text())
        e_wall, e_out, _ = run([sys.executable, "-c", EVIDENTLY, str(ref), str(cur), ",".join(NUMERICAL),
                                ",".join(CATEGORICAL)])
        n, e_max, e_rss = e_out.split()
        psi = next(c for c in report["checks"] if c["name"] == "psi_feature_drift")
        print(f"gatekit drift section : {g_wall:6.1f} s wall, peak RSS {gk_rss:6.0f} MB; max PSI "
              f"{psi['observed']:.4f} ({psi['details'].get('feature')})")
        print(f"evidently, {n} x ValueDrift(psi): {e_wall:6.1f} s wall, peak RSS {float(e_rss):6.0f} MB; "
              f"max PSI {float(e_max):.4f} (its own equal-width binning)")
        print(f"gatekit / evidently wall time: {g_wall / e_wall:.2f}")


if __name__ == "__main__":
    main()
