"""Every shipped policy gives the same decision and observed values on the pandas, DuckDB and Spark engines.

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
                 "loan_serving", "glass_types")
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
    shutil.copytree(REPO / "examples", root / "examples")  # loan_approval_v2's custom_metrics.metrics_dir
    (root / "gatekit.toml").write_text("[history]\nurl = 'off'\n")
    import os

    cwd = os.getcwd()
    os.chdir(root)  # the demo reads gatekit.toml from the current folder: no history written anywhere else
    try:
        assert run_demo(root, root / "reports" / "first", Console(quiet=True)) == 0
    finally:
        os.chdir(cwd)
    return root


def _assert_same(name: str, a, b) -> None:
    """The same checks, statuses and observed values (counts exactly, floats to 1e-9); timed checks by status."""
    assert [(c.section, c.name) for c in b.checks] == [(c.section, c.name) for c in a.checks], name
    for x, y in zip(a.checks, b.checks, strict=True):
        if _timed(x):
            continue
        assert (x.status, x.on_fail) == (y.status, y.on_fail), (name, x.name, x.message, y.message)
        if isinstance(x.observed, (int, float)) and isinstance(y.observed, (int, float)):
            assert math.isclose(x.observed, y.observed, rel_tol=1e-9, abs_tol=1e-12), (name, x.name)
        else:
            assert x.observed == y.observed, (name, x.name)
    if not any(_timed(c) for c in a.checks):
        assert b.decision == a.decision, name


@pytest.mark.slow
def test_every_shipped_policy_decides_the_same_on_both_engines(demo: Path) -> None:
    for name in DEMO_POLICIES:
        policy = demo / "policies" / f"{name}.yaml"
        runs = {engine: gatekit.run(policy, engine=engine) for engine in ("pandas", "duckdb")}
        assert runs["duckdb"].metadata["engine"]["name"] == "duckdb", name
        _assert_same(name, runs["pandas"], runs["duckdb"])


@pytest.mark.slow
@pytest.mark.parametrize("name", DEMO_POLICIES)
def test_every_shipped_policy_decides_the_same_on_spark_as_on_duckdb(demo: Path, spark, name: str) -> None:
    policy = demo / "policies" / f"{name}.yaml"
    duckdb, on_spark = (gatekit.run(policy, engine=engine) for engine in ("duckdb", "spark"))
    assert on_spark.metadata["engine"]["name"] == "spark" and on_spark.metadata["engine"]["master"] == "local[2]"
    _assert_same(name, duckdb, on_spark)
