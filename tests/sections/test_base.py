"""Tests of :mod:`gatekit.sections.base`: the shared metric evaluation (a computed value wins over a
metrics file, per-rule parameters).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from fairlearn.metrics import demographic_parity_difference as fl_dpd
from sklearn.metrics import roc_auc_score

import gatekit
from tests.data.helpers import DPD, _policy, _rules_file, _unfair
from tests.helpers import AUC_POLICY


def test_one_class_data_is_not_rescued_by_a_stale_metrics_file(tmp_path: Path) -> None:
    pd.DataFrame({"y": [1, 1, 1], "s": [0.2, 0.5, 0.9]}).to_csv(tmp_path / "d.csv", index=False)
    (tmp_path / "m.json").write_text(json.dumps({"auc_roc": 0.99}))
    pol = tmp_path / "p.yaml"
    pol.write_text(AUC_POLICY)
    report = gatekit.run(pol, data=tmp_path / "d.csv", target="y", score="s", metrics=tmp_path / "m.json")
    check = report.checks[0]
    assert check.status.value == "not_computable" and report.decision.value == "block"
    assert check.details["metrics_file_value"] == 0.99


def test_computed_value_wins_over_metrics_file_and_both_are_recorded(tmp_path) -> None:
    path = tmp_path / "d.csv"
    y, s = [0, 1, 0, 1], [0.1, 0.8, 0.3, 0.9]
    pd.DataFrame({"y": y, "s": s}).to_csv(path, index=False)
    m = tmp_path / "m.json"
    m.write_text(json.dumps({"roc_auc": 0.42}))
    r = gatekit.run(_policy(tmp_path), data=path, target="y", score="s", metrics=m)
    assert r.checks[0].observed == roc_auc_score(y, s)
    assert r.checks[0].source == "computed"
    assert r.checks[0].details["metrics_file_value"] == 0.42


def test_metrics_file_value_for_a_parametrised_rule_carries_a_note(tmp_path) -> None:
    m = tmp_path / "m.json"
    m.write_text(json.dumps({"smape": 10.0}))
    p = tmp_path / "p.yaml"
    p.write_text("version: 1\nmetrics:\n  - {name: smape, op: '<=', value: 14, params: {variant: '0-100'}}\n")
    r = gatekit.run(p, metrics=m)
    assert r.checks[0].status.value == "pass"
    assert "does not say which definition" in r.checks[0].details["note"]


def test_a_rule_naming_a_column_does_not_regroup_the_other_rules(tmp_path: Path) -> None:
    df = _unfair()
    df["b"] = np.tile(["u", "v", "w", "x"], len(df) // 4)
    df.to_csv(tmp_path / "d.csv", index=False)
    rules = DPD + "  - {name: demographic_parity_difference, op: '<=', value: 0.1, params: {sensitive: b}}\n"
    r = gatekit.run(_rules_file(tmp_path, rules), data=tmp_path / "d.csv", target="y", prediction="p", sensitive="g")
    by_g, by_b = r.checks
    assert by_g.observed == pytest.approx(fl_dpd(df["y"], df["p"], sensitive_features=df["g"]))
    assert by_b.observed == pytest.approx(fl_dpd(df["y"], df["p"], sensitive_features=df["b"]))
    assert by_g.details["sensitive_columns"] == ["g"] and by_b.details["sensitive_columns"] == ["b"]


# --------------------------------------------------------------------------------------------------
# Operational figures on the DuckDB engine: measured on a seeded sample of the table
# --------------------------------------------------------------------------------------------------


class _FakeRunner:
    """The Runner interface measure() uses, on a trivial model (sum of two features)."""

    kind = "test"

    def __init__(self) -> None:
        self.features = ["a", "b"]
        self.batches: list[int] = []

    def prepare(self, frame: pd.DataFrame) -> pd.DataFrame:
        return frame

    def request_function(self):
        return lambda row: float(row["a"].iloc[0] + row["b"].iloc[0])

    def __call__(self, frame: pd.DataFrame) -> np.ndarray:
        self.batches.append(len(frame))
        return (frame["a"] + frame["b"]).to_numpy()


def _duckdb_context(table, runner) -> object:
    from gatekit.data.inputs import RunInputs
    from gatekit.metrics import default_registry
    from gatekit.policy import load_policy
    from gatekit.sections.base import RunContext

    policy = load_policy({"version": 1, "operational": {"requests": 60, "warmup": 2, "batch_rows": 500},
                          "metrics": [{"name": "latency_p50_ms", "op": "<=", "value": 10_000},
                                      {"name": "batch_time_s", "op": "<=", "value": 100}]})
    inputs = RunInputs(engine="duckdb", table=table, runner=runner)
    return RunContext(policy=policy, inputs=inputs, registry=default_registry())


def test_operational_figures_on_duckdb_are_measured_on_a_seeded_sample_of_the_table() -> None:
    import ibis

    df = pd.DataFrame({"a": np.arange(3000.0), "b": np.ones(3000)})
    runner = _FakeRunner()
    ctx = _duckdb_context(ibis.memtable(df), runner)
    res = ctx.registry.resolve("latency_p50_ms")
    obs = ctx.metric(res)
    assert obs.state == "ok", obs.reason
    assert obs.details["samples"] == 60 * 5 and "sample" in obs.details["source"]  # 5 rounds of 60 calls
    sample = obs.details["sample"]
    assert sample["of_rows"] == 3000 and sample["engine"] == "duckdb" and sample["rows"] <= 3000
    batch = ctx.metric(ctx.registry.resolve("batch_time_s"))
    assert batch.state == "ok", batch.reason
    assert batch.details["batch_rows"] == 500 and 500 in runner.batches


def test_operational_figures_on_a_table_that_cannot_be_sampled_are_not_computable() -> None:
    class Broken:
        def count(self):
            raise RuntimeError("the connection is closed")

    ctx = _duckdb_context(Broken(), _FakeRunner())
    obs = ctx.metric(ctx.registry.resolve("latency_p50_ms"))
    assert obs.state == "not_computable" and "could not sample the duckdb table" in obs.reason
