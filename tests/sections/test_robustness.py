"""Tests of :mod:`gatekit.sections.robustness`: noise sensitivity and out-of-range inputs, on real models run
by gatekit.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import skops.io as sio
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder

import gatekit
from gatekit.core.results import Decision, Status


@pytest.fixture(scope="module")
def setup(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    d = tmp_path_factory.mktemp("robust")
    rng = np.random.default_rng(3)
    n = 400
    X = pd.DataFrame({"x1": rng.normal(size=n), "x2": rng.normal(size=n), "c": rng.choice(["a", "b"], n)})
    y = ((X.x1 + 0.5 * X.x2 + (X.c == "a") + rng.normal(0, 0.5, n)) > 0.5).astype(int)
    X.assign(y=y).to_csv(d / "d.csv", index=False)
    lr = Pipeline([("prep", ColumnTransformer([("num", "passthrough", ["x1", "x2"]),
                                               ("cat", OneHotEncoder(handle_unknown="ignore"), ["c"])])),
                   ("clf", LogisticRegression())]).fit(X, y)
    hgb = Pipeline([("prep", ColumnTransformer([("num", "passthrough", ["x1", "x2"]),
                                                ("cat", OneHotEncoder(handle_unknown="ignore"), ["c"])])),
                    ("clf", HistGradientBoostingClassifier(max_iter=30, random_state=0))]).fit(X, y)
    for name, m in (("lr", lr), ("hgb", hgb)):
        sio.dump(m, d / f"{name}.skops")
    return {"dir": d, "X": X, "y": y, "lr": lr, "hgb": hgb}


def _policy(s: dict[str, Any], model: str, **robustness: Any) -> dict[str, Any]:
    d: Path = s["dir"]
    return {"version": 1, "inputs": {"data": str(d / "d.csv"), "target": "y", "model": str(d / f"{model}.skops")},
            "robustness": robustness}


def _checks(report: Any) -> dict[str, Any]:
    return {c.name: c for c in report.checks}


def test_noise_figures_equal_an_independent_computation(setup: dict[str, Any]) -> None:
    X, y, lr = setup["X"], setup["y"], setup["lr"]
    pol = _policy(setup, "lr", noise={"scale": 0.5, "repeats": 3, "seed": 7, "max_metric_drop": 1.0,
                                      "max_flip_rate": 1.0})
    checks = _checks(gatekit.run(pol))
    # the same noise, drawn here from the documented recipe: per repeat, per numeric feature in order
    rng = np.random.default_rng(7)
    stds = {c: X[c].std(ddof=1) for c in ("x1", "x2")}
    clean = lr.predict_proba(X)[:, 1]
    flips, aucs = [], []
    for _ in range(3):
        P = X.copy()
        for c in ("x1", "x2"):
            P[c] = P[c] + rng.normal(0.0, 0.5 * stds[c], len(P))
        s = lr.predict_proba(P)[:, 1]
        flips.append(np.mean((s >= 0.5) != (clean >= 0.5)))
        aucs.append(roc_auc_score(y, s))
    assert checks["noise.flip_rate"].observed == pytest.approx(np.mean(flips), abs=1e-12)
    assert checks["noise.metric_drop"].observed == pytest.approx(roc_auc_score(y, clean) - np.mean(aucs), abs=1e-12)
    assert checks["noise.flip_rate"].observed > 0  # 0.5 std of noise does move some decisions


def test_noise_limits_decide(setup: dict[str, Any]) -> None:
    pol = _policy(setup, "lr", noise={"scale": 1.0, "repeats": 2, "max_flip_rate": 0.001})
    report = gatekit.run(pol)
    assert _checks(report)["noise.flip_rate"].status == Status.FAIL and report.decision == Decision.BLOCK


def test_out_of_range_cases_on_a_model_that_rejects_missing_values(setup: dict[str, Any]) -> None:
    checks = _checks(gatekit.run(_policy(setup, "lr", out_of_range={"rows": 50})))
    assert checks["out_of_range.extreme"].status == Status.PASS  # a logistic model saturates: still in [0, 1]
    assert checks["out_of_range.unseen_category"].status == Status.PASS  # handle_unknown="ignore"
    assert checks["out_of_range.wrong_type"].status == Status.PASS  # refused cleanly (ValueError)
    missing = checks["out_of_range.missing"]
    # LogisticRegression raises on NaN in x1 and x2; a missing category is ignored by the encoder
    assert missing.status == Status.FAIL and missing.observed == 2
    assert {p["target"] for p in missing.details["probes"] if not p["ok"]} == {"x1", "x2"}


def test_a_model_that_handles_missing_values_passes(setup: dict[str, Any]) -> None:
    pol = _policy(setup, "hgb", out_of_range={"cases": ["missing"], "rows": 50})
    checks = _checks(gatekit.run(pol, trust_model=True))  # skops does not allow-list the tree predictor
    assert checks["out_of_range.missing"].status == Status.PASS  # HistGradientBoosting routes NaN natively


def test_without_a_runnable_model_every_check_is_not_computable(setup: dict[str, Any]) -> None:
    d: Path = setup["dir"]
    pd.DataFrame({"y": setup["y"], "s": setup["lr"].predict_proba(setup["X"])[:, 1]}).to_csv(d / "s.csv", index=False)
    pol = {"version": 1, "inputs": {"data": str(d / "s.csv"), "target": "y", "score": "s"},
           "robustness": {"noise": {"max_flip_rate": 0.1}, "out_of_range": {"cases": ["extreme"]}}}
    report = gatekit.run(pol)
    assert {c.status for c in report.checks} == {Status.NOT_COMPUTABLE} and report.decision == Decision.BLOCK


# the DuckDB engine: probes on a seeded sample of the table, scales and ranges over all rows


def _robustness(engine: str, s: dict[str, Any], policy: dict[str, Any], reference: pd.DataFrame | None) -> Any:
    import ibis

    from gatekit.data.inputs import InputOptions, RunInputs
    from gatekit.metrics import default_registry
    from gatekit.metrics.registry import EvalData
    from gatekit.model.scoring import make_runner
    from gatekit.policy.loader import load_policy
    from gatekit.sections.base import RunContext
    from gatekit.sections.robustness import RobustnessSection

    frame = s["X"].assign(y=s["y"])
    registry = default_registry()
    runner = make_runner(s["lr"], frame, InputOptions(), "classification", 1, "d.csv")
    data = EvalData(y_true=s["y"].to_numpy(), task="classification", positive_label=1)
    common = {"eval_data": data, "runner": runner, "info": {"target": "y", "positive_label": 1}}
    if engine == "duckdb":
        inputs = RunInputs(engine="duckdb", table=ibis.memtable(frame),
                           reference_table=None if reference is None else ibis.memtable(reference), **common)
    else:
        inputs = RunInputs(frame=frame, reference=reference, **common)
    return RobustnessSection().run(RunContext(policy=load_policy(policy, registry), inputs=inputs,
                                              registry=registry))


@pytest.mark.parametrize("with_reference", [False, True])
def test_robustness_on_duckdb_equals_pandas_on_the_same_rows(setup: dict[str, Any], with_reference: bool) -> None:
    # a table no larger than the sample is sampled whole, in its order: the probes see the same rows as pandas
    rng = np.random.default_rng(11)
    reference = pd.DataFrame({"x1": rng.normal(1, 2, 300), "x2": rng.normal(0, 3, 300),
                              "c": rng.choice(["a", "b"], 300)}) if with_reference else None
    policy = {"version": 1, "robustness": {
        "noise": {"scale": 0.5, "repeats": 3, "seed": 7, "max_metric_drop": 1.0, "max_flip_rate": 1.0},
        "out_of_range": {"rows": 400, "seed": 3}}}
    on_pandas = _robustness("pandas", setup, policy, reference)
    on_duckdb = _robustness("duckdb", setup, policy, reference)
    assert [c.name for c in on_duckdb] == [c.name for c in on_pandas] == [
        "noise.metric_drop", "noise.flip_rate", "out_of_range.extreme", "out_of_range.missing",
        "out_of_range.unseen_category", "out_of_range.wrong_type"]
    for a, b in zip(on_pandas, on_duckdb, strict=True):
        assert (a.status, a.threshold) == (b.status, b.threshold), (a.message, b.message)
        assert b.observed == pytest.approx(a.observed, abs=1e-9)  # DuckDB's std differs in the last bits
        assert b.details["sample"] == {"rows": 400, "of_rows": 400, "seed": 7 if a.name.startswith("noise") else 3,
                          "engine": "duckdb", "method": "gatekit.data.engine.sample_frame"}
        if a.name.startswith("noise"):
            assert b.message.startswith(a.message)
            assert "on a seeded sample of 400 of the 400 rows (seed 7, duckdb), stds over all rows" in b.message
            assert b.details["stds"] == pytest.approx(a.details["stds"], rel=1e-12)
            assert b.details["noisy"] == pytest.approx(a.details["noisy"], abs=1e-9)
        else:
            assert {k: v for k, v in b.details.items() if k != "sample"} == a.details
            assert b.message.startswith(a.message) and "seeded sample of the duckdb table (seed 3)" in b.message


def test_a_large_table_is_probed_on_a_sample_of_its_rows(setup: dict[str, Any],
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    import gatekit.sections.robustness as robustness

    monkeypatch.setattr(robustness, "NOISE_SAMPLE_ROWS", 150)  # the table's 400 rows are more than the sample
    policy = {"version": 1, "robustness": {"noise": {"repeats": 2, "max_flip_rate": 1.0},
                                           "out_of_range": {"rows": 60, "cases": ["extreme"]}}}
    noise, extreme = _robustness("duckdb", setup, policy, None)
    assert 0 < noise.details["sample"]["rows"] <= 150 and noise.details["sample"]["of_rows"] == 400
    assert noise.status == Status.PASS
    # the std is the table's, over all 400 rows, not the sample's
    assert noise.details["stds"]["x1"] == pytest.approx(setup["X"]["x1"].std(ddof=1), rel=1e-12)
    assert 0 < extreme.details["sample"]["rows"] <= 60 and extreme.status == Status.PASS
