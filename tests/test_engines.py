"""Every shipped policy gives the same decision and observed values on the pandas and the DuckDB engines.

The demo builds the policies' inputs (trained models, held-out rows, the canary log); each policy then runs on
both engines. Figures that time the machine (latency, throughput, memory) differ between any two runs and are
compared by status only when both are measured; everything else must be equal (counts exactly, floats to 1e-9).
"""

from __future__ import annotations

import math
import shutil
from pathlib import Path

import pytest

import gatekit

REPO = Path(__file__).resolve().parent.parent
DEMO_POLICIES = ("loan_approval", "loan_approval_v2", "demand_forecast", "seed_mini_challenge", "seed_project_2",
                 "loan_serving")
TIMED = ("latency", "throughput", "memory", "rows_per_s")


def _timed(check) -> bool:
    return check.section == "operational" or any(t in check.name for t in TIMED)


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from rich.console import Console

    from gatekit.demo import run_demo

    root = tmp_path_factory.mktemp("engines")
    shutil.copytree(REPO / "data", root / "data")
    shutil.copytree(REPO / "policies", root / "policies")
    (root / "gatekit.toml").write_text("[history]\nurl = 'off'\n")
    import os

    cwd = os.getcwd()
    os.chdir(root)  # the demo reads gatekit.toml from the current folder: no history written anywhere else
    try:
        assert run_demo(root, root / "reports" / "first", Console(quiet=True)) == 0
    finally:
        os.chdir(cwd)
    return root


@pytest.mark.slow
def test_every_shipped_policy_decides_the_same_on_both_engines(demo: Path) -> None:
    for name in DEMO_POLICIES:
        policy = demo / "policies" / f"{name}.yaml"
        runs = {engine: gatekit.run(policy, engine=engine) for engine in ("pandas", "duckdb")}
        pandas, duckdb = runs["pandas"], runs["duckdb"]
        assert duckdb.metadata["engine"]["name"] == "duckdb", name
        assert [(c.section, c.name) for c in duckdb.checks] == [(c.section, c.name) for c in pandas.checks], name
        for a, b in zip(pandas.checks, duckdb.checks, strict=True):
            if _timed(a):
                continue
            assert (a.status, a.on_fail) == (b.status, b.on_fail), (name, a.name, a.message, b.message)
            if isinstance(a.observed, (int, float)) and isinstance(b.observed, (int, float)):
                assert math.isclose(a.observed, b.observed, rel_tol=1e-9, abs_tol=1e-12), (name, a.name)
            else:
                assert a.observed == b.observed, (name, a.name)
        if not any(_timed(c) for c in pandas.checks):
            assert duckdb.decision == pandas.decision, name
