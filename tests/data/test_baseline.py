"""Tests of :mod:`gatekit.data.baseline`: the production model's scores, predictions or artifact on
the evaluation rows.
"""

from __future__ import annotations

import json
import pickle
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import sklearn.metrics as skm
import skops.io as sio
from sklearn.linear_model import LogisticRegression

import gatekit
from gatekit.core.errors import InputError
from gatekit.core.results import Status
from gatekit.data.loader import load_inputs
from gatekit.metrics import default_registry
from gatekit.policy.loader import load_policy
from gatekit.policy.run_inputs import merge_options
from tests.helpers import _only
from tests.sections.helpers import _check, _eval_frame, _policy_file, _rel

REG = default_registry()


@pytest.fixture(scope="module")
def two_models(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """A candidate on three features and a production model on one, saved with skops, and a holdout."""
    rng = np.random.default_rng(12)
    n = 600
    X = pd.DataFrame(rng.standard_normal((n, 3)), columns=["x1", "x2", "x3"])
    y = (X.x1 + 0.8 * X.x2 - 0.5 * X.x3 + rng.standard_normal(n) > 0.2).astype(int)
    cand = LogisticRegression().fit(X.iloc[:300], y.iloc[:300])
    prod = LogisticRegression(C=0.5).fit(X.iloc[:300][["x1"]], y.iloc[:300])
    root = tmp_path_factory.mktemp("models")
    sio.dump(cand, root / "cand.skops")
    sio.dump(prod, root / "prod.skops")
    holdout = X.iloc[300:].assign(y=y.iloc[300:]).reset_index(drop=True)
    holdout.to_csv(root / "holdout.csv", index=False)
    return {"root": root, "cand": cand, "prod": prod, "frame": pd.read_csv(root / "holdout.csv")}


def test_baseline_model_artifact_scores_the_rows(two_models: dict[str, Any]) -> None:
    root, frame = two_models["root"], two_models["frame"]
    policy = {"version": 1,
              "inputs": {"data": str(root / "holdout.csv"), "target": "y", "model": str(root / "cand.skops"),
                         "baseline": {"model": str(root / "prod.skops")}},
              "metrics": [{"name": "roc_auc", "max_drop": 0.0}]}
    lp = load_policy(policy)
    loaded = load_inputs(merge_options(lp), REG)
    assert loaded.eval_data is not None and loaded.eval_data.baseline is not None
    X = frame[["x1", "x2", "x3"]]
    expected_b = two_models["prod"].predict_proba(X[["x1"]])[:, 1]  # its own feature, not the candidate's
    expected_c = two_models["cand"].predict_proba(X)[:, 1]
    np.testing.assert_allclose(loaded.eval_data.baseline.y_score, expected_b, rtol=0, atol=1e-15)
    np.testing.assert_allclose(loaded.eval_data.y_score, expected_c, rtol=0, atol=1e-15)
    assert "baseline_model" in loaded.files
    check = _only(gatekit.run(policy))
    auc_c, auc_b = skm.roc_auc_score(frame.y, expected_c), skm.roc_auc_score(frame.y, expected_b)
    assert auc_c > auc_b  # the candidate uses all three informative features
    assert check.details["comparison"]["candidate"] == pytest.approx(auc_c, abs=1e-12)
    assert check.details["comparison"]["baseline"] == pytest.approx(auc_b, abs=1e-12)
    assert check.status == Status.PASS and check.observed == pytest.approx(auc_c - auc_b, abs=1e-12)


def test_shadow_metric_says_why_the_production_model_gave_no_scores(two_models: dict[str, Any],
                                                                    tmp_path: Path) -> None:
    root, frame = two_models["root"], two_models["frame"]
    data = tmp_path / "no_x1.csv"
    frame.drop(columns="x1").to_csv(data, index=False)  # production reads x1 only; the candidate x1..x3 too
    cand = LogisticRegression().fit(frame[["x2", "x3"]], frame.y)
    sio.dump(cand, tmp_path / "cand.skops")
    policy = {"version": 1,
              "inputs": {"data": str(data), "target": "y", "model": str(tmp_path / "cand.skops"),
                         "baseline": {"model": str(root / "prod.skops")}},
              "metrics": [{"name": "roc_auc", "max_drop": 0.5},
                          {"name": "prediction_agreement_rate", "op": ">=", "value": 0.5}]}
    checks = {c.metric: c for c in gatekit.run(policy).checks}
    assert checks["roc_auc"].status == Status.ERROR and "x1" in checks["roc_auc"].message  # the relative rule says
    assert "x1" in checks["prediction_agreement_rate"].message, checks["prediction_agreement_rate"].message


def test_shadow_without_labels_reads_text_baseline_predictions(tmp_path: Path) -> None:
    frame = _eval_frame()
    frame.to_csv(tmp_path / "d.csv", index=False)
    pol = _policy_file(tmp_path, """
        version: 1
        inputs:
          data: d.csv
          score: cs
          baseline: {prediction: bp}
        metrics:
          - {name: prediction_agreement_rate, op: ">=", value: 0.0}
        """)
    truth = float(((frame.cs >= 0.5) == (frame.bp == "yes")).mean())
    try:
        report = gatekit.run(pol)
    except InputError:
        return  # refusing the unknown positive label is acceptable too
    check = _check(report, "prediction_agreement_rate")
    assert check.observed == pytest.approx(truth), check.message


@pytest.mark.parametrize("kind", ["no_feature_names", "pickle"])
def test_baseline_model_refusals_name_the_baseline_remedy(tmp_path: Path, kind: str) -> None:
    from sklearn.linear_model import LogisticRegression

    frame = _eval_frame()
    pol = _rel(tmp_path, "- {name: auc_roc, max_drop: 0.5}", frame)
    if kind == "pickle":
        model = LogisticRegression().fit(frame[["x1", "x2"]], frame["y"])
        (tmp_path / "prod.pkl").write_bytes(pickle.dumps(model))
        with pytest.raises(InputError) as err:
            gatekit.run(pol, baseline_model=str(tmp_path / "prod.pkl"))
        assert "--baseline-model-sha256" in str(err.value) or "baseline.model_sha256" in str(err.value)
        return
    import skops.io as sio

    model = LogisticRegression().fit(frame[["x1", "x2"]].to_numpy(), frame["y"])
    sio.dump(model, tmp_path / "prod.skops")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            report = gatekit.run(pol, baseline_model=str(tmp_path / "prod.skops"), features=["x1", "x2"])
        except InputError as exc:
            assert "baseline" in str(exc) or "production" in str(exc), str(exc)
            assert "inputs.features" not in str(exc), str(exc)
            return
    assert _check(report, "auc_roc vs baseline").status == Status.PASS


def test_non_finite_baseline_score_blocks_every_rule_that_needs_it(tmp_path: Path) -> None:
    for bad in (float("nan"), float("inf")):
        frame = _eval_frame()
        frame.loc[5, "bs"] = bad
        pol = _rel(tmp_path, """
            - {name: auc_roc, max_drop: 0.02, confidence: 0.95}
            - {name: prediction_agreement_rate, op: ">=", value: 0.5}
            - {name: abs_score_difference_p95, op: "<=", value: 0.5}
            """, frame)
        report = gatekit.run(pol)
        assert report.decision.value == "block"
        assert all(c.status == Status.NOT_COMPUTABLE for c in report.checks)
        assert all("missing or not finite" in c.message for c in report.checks)
        json.loads(report.to_json(), parse_constant=lambda c: pytest.fail(f"{c} in the JSON report"))


def test_text_in_baseline_score_column_is_an_input_error(tmp_path: Path) -> None:
    frame = _eval_frame().astype({"bs": object})
    frame.loc[5, "bs"] = "high"
    pol = _rel(tmp_path, "- {name: auc_roc, max_drop: 0.02}", frame)
    with pytest.raises(InputError, match="baseline score column 'bs' is not numeric"):
        gatekit.run(pol)


def test_baseline_score_out_of_range_blocks_threshold_rules_only(tmp_path: Path) -> None:
    frame = _eval_frame()
    frame.loc[5, "bs"] = 1.7
    pol = _rel(tmp_path, """
        - {name: auc_roc, max_drop: 0.05}
        - {name: precision_at_0_5, max_drop: 0.05}
        """, frame)
    report = gatekit.run(pol)
    assert [c.status for c in report.checks] == [Status.PASS, Status.NOT_COMPUTABLE]
    assert "probabilities in [0, 1]" in report.checks[1].message
    assert report.decision.value == "block"


def test_baseline_model_missing_features_is_an_error_per_rule(tmp_path: Path) -> None:
    import skops.io as sio
    from sklearn.linear_model import LogisticRegression

    frame = _eval_frame()
    other = frame.rename(columns={"x1": "feat_a"})
    sio.dump(LogisticRegression().fit(other[["feat_a", "x2"]], other["y"]), tmp_path / "prod.skops")
    pol = _rel(tmp_path, """
        - {name: auc_roc, max_drop: 0.02}
        - {name: brier_score, max_increase: 0.02}
        """, frame)
    report = gatekit.run(pol, baseline_model=str(tmp_path / "prod.skops"))
    assert [c.status for c in report.checks] == [Status.ERROR, Status.ERROR]
    assert "feat_a" in report.checks[0].message and report.decision.value == "block"
