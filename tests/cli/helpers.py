"""Helpers of the end-to-end CLI tests: the real entry points in a subprocess, and the seed metrics."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from tests.helpers import POLICIES

SEED_FORMAT = POLICIES / "seed_format.yaml"


# The console script installed next to the interpreter running the tests (a venv's bin/ or Scripts/).
CONSOLE_SCRIPT = Path(sys.executable).parent / ("gatekit.exe" if os.name == "nt" else "gatekit")

EX1 = {"auc_roc": 0.92, "precision_at_0_5": 0.77, "fairness_demographic_parity_diff": 0.08}
EXERCISE2 = {"auc_roc": 0.91, "precision_at_0_5": 0.76, "fairness_demographic_parity_diff": 0.12,
             "psi_feature_drift": 0.18, "latency_p95_ms": 130}


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env.pop("GATEKIT_DEBUG", None)
    env["PYTHONIOENCODING"] = "utf-8"
    return env


def gk(*args: object, cwd: Path, script: bool = False) -> subprocess.CompletedProcess[str]:
    """Run gatekit as ``python -m gatekit`` (default) or through the console script."""
    cmd = [str(CONSOLE_SCRIPT)] if script else [sys.executable, "-m", "gatekit"]
    return subprocess.run([*cmd, *map(str, args)], cwd=cwd, capture_output=True, text=True, encoding="utf-8",
                          env=_env(), timeout=300, check=False)


def _reject_constant(name: str) -> None:
    raise ValueError(f"non-standard JSON constant {name}")


def load_report(out: Path) -> dict:
    path = out / "gate_report.json"
    assert path.is_file()
    return json.loads(path.read_text(encoding="utf-8"), parse_constant=_reject_constant)


OWN_POLICY = """
    version: 1
    name: loan_gate
    metrics:
      - name: auc_roc
        op: ">="
        value: 0.90
        on_fail: block
      - name: precision_at_0_5
        op: ">="
        value: 0.75
        on_fail: block
      - name: fairness_demographic_parity_diff
        op: "<="
        value: 0.10
        on_fail: block
"""
