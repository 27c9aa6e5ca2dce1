"""Issue 18: the shipped policies on the pandas, DuckDB and Spark engines, check by check.

    gatekit demo                                   # builds the policies' inputs (reports/demo/artifacts/)
    python benchmarks/engines_equality.py [--policies loan_approval ...]

Each policy runs with ``gatekit.run(policy, engine=e)`` for e in pandas, duckdb, spark (a local Spark session)
and one Markdown row per policy is printed: its checks, the three decisions, how many checks agree between
pandas and DuckDB and between DuckDB and Spark (the same status and observed value: integers exactly, floats to
1e-9 relative) with the largest relative difference, the timed checks (latency, throughput, memory: compared
by status only, since they time the machine) and each engine's wall time. Exit code 1 when any pair differs.
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
POLICIES = ("loan_approval", "loan_approval_v2", "demand_forecast", "seed_mini_challenge", "seed_project_2",
            "loan_serving")
TIMED = ("latency", "throughput", "memory", "rows_per_s")


def _timed(check) -> bool:
    return check.section == "operational" or any(t in check.name for t in TIMED)


def compare(a, b) -> tuple[int, int, float, int]:
    """Return (checks, agreeing, largest relative difference, timed checks) of two reports of one policy."""
    n = same = timed = 0
    largest = 0.0
    for x, y in zip(a.checks, b.checks, strict=True):
        n += 1
        ok = (x.section, x.name, x.status) == (y.section, y.name, y.status)
        if _timed(x):
            timed += 1
        elif isinstance(x.observed, (int, float)) and isinstance(y.observed, (int, float)):
            if x.observed != y.observed:
                largest = max(largest, abs(x.observed - y.observed) / max(abs(x.observed), 1e-300))
            ok = ok and math.isclose(x.observed, y.observed, rel_tol=1e-9, abs_tol=1e-12)
        else:
            ok = ok and x.observed == y.observed
        same += ok
    return n, same, largest, timed


def main() -> int:
    import gatekit

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--policies", nargs="+", default=list(POLICIES))
    args = ap.parse_args()
    print("| policy | checks | decision pandas / duckdb / spark | pandas = duckdb | duckdb = spark | timed | wall s |")
    print("|---|---|---|---|---|---|---|")
    bad = 0
    for name in args.policies:
        runs, walls = {}, {}
        for engine in ("pandas", "duckdb", "spark"):
            start = time.perf_counter()
            runs[engine] = gatekit.run(ROOT / "policies" / f"{name}.yaml", engine=engine, history="off")
            walls[engine] = time.perf_counter() - start
        pd_dk, dk_sp = compare(runs["pandas"], runs["duckdb"]), compare(runs["duckdb"], runs["spark"])
        bad += (pd_dk[0] != pd_dk[1]) + (dk_sp[0] != dk_sp[1])
        decisions = " / ".join(runs[e].decision.value for e in ("pandas", "duckdb", "spark"))
        print(f"| {name} | {len(runs['pandas'].checks)} | {decisions} | {pd_dk[1]}/{pd_dk[0]} (largest rel. "
              f"{pd_dk[2]:.1e}) | {dk_sp[1]}/{dk_sp[0]} (largest rel. {dk_sp[2]:.1e}) | {dk_sp[3]} | "
              f"{walls['pandas']:.1f} / {walls['duckdb']:.1f} / {walls['spark']:.1f} |", flush=True)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
