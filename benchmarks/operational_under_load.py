"""The demo's decisions and operational figures, on an idle machine and beside CPU-bound processes.

Usage (from the repository root):
    python benchmarks/operational_under_load.py [--runs 3] [--hogs 2] [--clock cpu|wall] [--threads 1|none]
                                                [--json results.json]

Runs ``gatekit demo`` ``--runs`` times on the machine as it is ("idle"), then ``--runs`` times with ``--hogs``
CPU-bound processes beside it (``python -c "while True: pass"``, started before the run and killed by their
process id after it). Each run trains and gates in a fresh copy of ``data/``, ``policies/`` and
``expectations/`` in a temporary folder, with its own history store, so nothing in the repository is touched.
``--clock`` / ``--threads`` rewrite the copied policies' ``operational:`` sections (the shipped settings are
``clock: cpu``, ``threads: 1``; ``--clock wall --threads none`` shows what wall time with every core does).

Prints, per run: the load average, each policy's decision, and each operational check's status, figure,
interval, coefficient of variation and wall / CPU ratio; then whether every run gave the same decisions and
the same operational statuses. Figures, not assertions: nothing here fails.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
POLICIES = ("loan_approval", "loan_approval_v2", "demand_forecast", "seed_mini_challenge", "seed_project_2",
            "loan_serving")
HOG = "while True: pass"


def _copy_root(source: Path, dest: Path, clock: str | None, threads: str | None) -> None:
    """Copy what the demo reads into ``dest``; set the operational clock / threads of the copied policies."""
    for folder in ("data", "policies", "expectations", "examples"):
        shutil.copytree(source / folder, dest / folder)
    if clock is None and threads is None:
        return
    import yaml

    for name in ("demand_forecast", "seed_mini_challenge", "loan_serving"):
        path = dest / "policies" / f"{name}.yaml"
        doc = yaml.safe_load(path.read_text(encoding="utf-8"))
        ops = doc.setdefault("operational", {})
        if clock is not None:
            ops["clock"] = clock
        if threads is not None:
            ops["threads"] = None if threads == "none" else int(threads)
        path.write_text(yaml.safe_dump(doc, sort_keys=False), encoding="utf-8")


def _operational(check: dict[str, Any]) -> dict[str, Any]:
    """One operational check's figures; for a rule against production, the other clock's change per round pair."""
    import statistics

    d = check.get("details") or {}
    iv = d.get("interval") or {}
    cand = d.get("candidate_details") or d
    rounds = d.get("rounds") or {}
    other = (cand.get("other_clock") or {}).get("median")
    base_other = ((d.get("baseline_details") or {}).get("other_clock") or {}).get("values")
    if "candidate_details" in d:  # the change on the other clock, pair by pair, as the rule would read it
        cand_other = (cand.get("other_clock") or {}).get("values")
        other = (statistics.median(c - b for c, b in zip(cand_other, base_other, strict=True))
                 if cand_other and base_other and len(cand_other) == len(base_other) else None)
    return {"name": check["name"], "status": check["status"], "observed": check.get("observed"),
            "low": iv.get("low"), "high": iv.get("high"), "cv": rounds.get("cv"), "other_clock": other,
            "wall_over_cpu": cand.get("wall_over_cpu"), "verdict": d.get("verdict")}


def one_run(label: str, hogs: int, clock: str | None, threads: str | None, source: Path = ROOT) -> dict[str, Any]:
    """Run the demo once (with ``hogs`` CPU-bound processes beside it); return decisions and operational figures."""
    procs: list[subprocess.Popen[bytes]] = []
    with tempfile.TemporaryDirectory(prefix="gatekit-load-") as tmp:
        root = Path(tmp)
        _copy_root(source, root, clock, threads)
        env = {**os.environ, "GATEKIT_HISTORY_URL": f"sqlite:///{root / 'history.db'}"}
        try:
            for _ in range(hogs):
                procs.append(subprocess.Popen([sys.executable, "-c", HOG]))
            time.sleep(1.0 if hogs else 0.0)
            load_before = os.getloadavg()[0]
            started = time.perf_counter()
            proc = subprocess.run([sys.executable, "-m", "gatekit", "demo", "--root", str(root)], env=env,
                                  capture_output=True, text=True, check=False)
            seconds = time.perf_counter() - started
            load_after = os.getloadavg()[0]
        finally:
            for p in procs:  # only the processes this run started, by their own handles
                p.kill()
                p.wait()
        if proc.returncode != 0:
            return {"label": label, "error": proc.stderr[-2000:]}
        out: dict[str, Any] = {"label": label, "hogs": hogs, "seconds": round(seconds, 1),
                               "load": [round(load_before, 2), round(load_after, 2)], "decisions": {}, "checks": {}}
        for name in POLICIES:
            report = json.loads((root / "reports" / "demo" / name / "gate_report.json").read_text(encoding="utf-8"))
            out["decisions"][name] = report["decision"]
            out["checks"][name] = [_operational(c) for c in report["checks"] if c["section"] == "operational"]
        return out


def _num(v: Any) -> str:
    return "-" if v is None else f"{v:.4g}"


def show(run: dict[str, Any]) -> None:
    """Print one run."""
    if "error" in run:
        print(f"{run['label']}: the demo failed\n{run['error']}")
        return
    print(f"\n{run['label']}: {run['hogs']} CPU-bound processes beside it, {run['seconds']} s, load average "
          f"{run['load'][0]} -> {run['load'][1]}")
    print("  decisions: " + ", ".join(f"{k} {v}" for k, v in run["decisions"].items()))
    for name, checks in run["checks"].items():
        for c in checks:
            print(f"  {name:20s} {c['name']:28s} {c['status']:14s} {_num(c['observed']):>10s} "
                  f"[{_num(c['low'])}, {_num(c['high'])}] cv {_num(c['cv'])} other clock {_num(c['other_clock'])} "
                  f"wall/cpu {_num(c['wall_over_cpu'])}")


def main() -> None:
    """Run the benchmark and print its figures."""
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--hogs", type=int, default=2)
    ap.add_argument("--clock", choices=["cpu", "wall"], default=None)
    ap.add_argument("--threads", default=None, help="an integer, or 'none' for the libraries' defaults")
    ap.add_argument("--json", type=Path, default=None, help="also write every run's figures here")
    ap.add_argument("--source", type=Path, default=ROOT,
                    help="folder to copy data/, policies/ and expectations/ from (default: this repository); the "
                         "gatekit run is the one `python -m gatekit` imports (PYTHONPATH decides)")
    args = ap.parse_args()
    shipped = "as shipped"
    print(f"{os.cpu_count()} CPUs; settings: clock {args.clock or shipped}, threads {args.threads or shipped}")
    runs = []
    for i in range(args.runs):
        runs.append(one_run(f"idle {i + 1}", 0, args.clock, args.threads, args.source))
        show(runs[-1])
    for i in range(args.runs):
        runs.append(one_run(f"loaded {i + 1}", args.hogs, args.clock, args.threads, args.source))
        show(runs[-1])
    ok = [r for r in runs if "error" not in r]
    decisions = {json.dumps(r["decisions"], sort_keys=True) for r in ok}
    statuses = {json.dumps({k: [(c["name"], c["status"]) for c in v] for k, v in r["checks"].items()}, sort_keys=True)
                for r in ok}
    print(f"\n{len(ok)} of {len(runs)} runs completed; decisions identical in all: {len(decisions) == 1}; "
          f"operational statuses identical in all: {len(statuses) == 1}")
    if args.json is not None:
        args.json.write_text(json.dumps(runs, indent=2), encoding="utf-8")


if __name__ == "__main__":
    main()
