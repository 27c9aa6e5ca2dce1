"""Helpers shared by test modules of several folders (plain functions and constants, no fixtures)."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

from typer.testing import CliRunner

from gatekit.cli import app
from gatekit.core.results import GateReport

REPO = Path(__file__).resolve().parent.parent


def write_json(tmp_path: Path, data: object, name: str = "metrics.json") -> Path:
    """Write ``data`` as a JSON file in ``tmp_path``."""
    p = tmp_path / name
    p.write_text(json.dumps(data), encoding="utf-8")
    return p


def write_policy(tmp_path: Path, text: str, name: str = "policy.yaml") -> Path:
    """Write an indented YAML snippet as a policy file in ``tmp_path``."""
    p = tmp_path / name
    p.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
    return p


def run_cli(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    """Run the real CLI entry point in a subprocess."""
    return subprocess.run([sys.executable, "-m", "gatekit", *args], capture_output=True, text=True, cwd=cwd,
                          timeout=300)


POLICIES = REPO / "policies"
SEED1 = POLICIES / "seed_exercise_1.yaml"


# an artifact section on a signed model
def _check(report: Any, name: str) -> Any:
    return next(c for c in report.checks if c.name == name)


# canary traffic logs
def _only(report: GateReport) -> Any:
    assert len(report.checks) == 1, [c.name for c in report.checks]
    return report.checks[0]


EXPECTATIONS = REPO / "expectations"


AUC_POLICY = "version: 1\nmetrics:\n  - {name: auc_roc, op: '>=', value: 0.9}\n"


# hand-built reports, stores and policies; servers that never answer
def _cli(*args: Any, env: dict[str, str] | None = None) -> Any:
    return CliRunner().invoke(app, [str(a) for a in args], env=env)
