"""Tests of :mod:`gatekit.model.onnx`: ONNX models scored by onnxruntime like their scikit-learn originals."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest
from skl2onnx import to_onnx
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import mean_squared_error, roc_auc_score

import gatekit
from gatekit.core.errors import InputError
from gatekit.core.results import Decision, Status
from gatekit.model.onnx import OnnxModel
from tests.helpers import _only
from tests.model.helpers import _checks

# --------------------------------------------------------------------------------------------------
# 5. ONNX models through onnxruntime
# --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["zipmap", "tensor"])
def test_onnx_per_column_classifier_matches_sklearn(onnx_models: dict[str, Any], kind: str) -> None:
    model = OnnxModel(onnx_models["files"][kind].read_bytes())
    df, pipe = onnx_models["frame"], onnx_models["pipe"]
    assert model.classes_ == ["no", "yes"] == list(pipe.classes_)
    assert list(model.feature_names_in_) == ["x1", "x2", "g"]
    np.testing.assert_allclose(model.predict_proba(df), pipe.predict_proba(df[["x1", "x2", "g"]]), atol=1e-6)
    feed = model.prepare(df.iloc[[3]])
    assert set(feed) == {"x1", "x2", "g"}
    assert feed["x1"].dtype == np.float32 and feed["x1"].shape == (1, 1)
    assert feed["g"][0, 0] == df.g.iloc[3]
    # a prepared feed scores like the frame it came from
    np.testing.assert_allclose(model.predict_proba(feed), model.predict_proba(df.iloc[[3]]), atol=0)


def test_onnx_matrix_classifier_has_int_labels(onnx_models: dict[str, Any]) -> None:
    model = OnnxModel(onnx_models["files"]["matrix"].read_bytes(), ["x1", "x2"])
    df, ref = onnx_models["frame"], onnx_models["matrix_clf"]
    assert model.classes_ == [0, 1]
    assert not hasattr(model, "feature_names_in_")
    np.testing.assert_allclose(model.predict_proba(df), ref.predict_proba(df[["x1", "x2"]].to_numpy(np.float32)),
                               atol=1e-6)


def test_onnx_regressor_predicts_like_sklearn(onnx_models: dict[str, Any]) -> None:
    model = OnnxModel(onnx_models["files"]["regressor"].read_bytes(), ["x1", "x2"])
    df, reg = onnx_models["frame"], onnx_models["reg"]
    assert model.classes_ == []
    pred = model.predict(df)
    assert pred.shape == (len(df),)
    # float32 arithmetic on values near 5: 1e-5 is a few float32 ulps
    np.testing.assert_allclose(pred, reg.predict(df[["x1", "x2"]].to_numpy(np.float32)), atol=1e-5)


def test_run_with_an_onnx_model_scores_and_times_it(onnx_models: dict[str, Any]) -> None:
    df, pipe = onnx_models["frame"], onnx_models["pipe"]
    policy = {"version": 1, "strict": True,
              "inputs": {"data": str(onnx_models["data"]), "target": "y", "positive_label": "yes",
                         "model": str(onnx_models["files"]["zipmap"])},
              "operational": {"requests": 400, "warmup": 5},
              "metrics": [{"name": "auc_roc", "op": ">=", "value": 0.5},
                          {"name": "latency_p95_ms", "op": "<=", "value": 1000},
                          {"name": "throughput_rows_per_s", "op": ">=", "value": 1}]}
    report = gatekit.run(policy)
    checks = _checks(report)
    expected = roc_auc_score(df.y == "yes", pipe.predict_proba(df[["x1", "x2", "g"]])[:, 1])
    assert checks["auc_roc"].observed == pytest.approx(expected, abs=1e-6)
    lat = checks["latency_p95_ms"]
    assert lat.status == Status.PASS
    assert lat.details["model_kind"] == "onnx" and lat.details["samples_per_round"] == [400] * 5
    assert lat.details["source"] == ("measured: 5 rounds of 400 single-row calls after 5 warm-up calls, onnx model in "
                                     "this process, CPU time")
    assert checks["throughput_rows_per_s"].details["batch_rows"] == len(df)
    assert report.decision == Decision.PASS


def test_matrix_input_onnx_needs_inputs_features(onnx_models: dict[str, Any]) -> None:
    policy = {"version": 1, "inputs": {"data": str(onnx_models["data"]), "target": "y01",
                                       "model": str(onnx_models["files"]["matrix"])},
              "metrics": [{"name": "auc_roc", "op": ">=", "value": 0.5}]}
    with pytest.raises(InputError) as exc:
        gatekit.run(policy)
    assert "inputs.features" in str(exc.value)
    assert exc.value.problems[0].key == "features"
    policy["inputs"]["features"] = ["x1", "x2"]
    df, ref = onnx_models["frame"], onnx_models["matrix_clf"]
    check = _only(gatekit.run(policy))
    expected = roc_auc_score(df.y01, ref.predict_proba(df[["x1", "x2"]].to_numpy(np.float32))[:, 1])
    assert check.observed == pytest.approx(expected, abs=1e-6)


def test_onnx_regressor_in_a_run(onnx_models: dict[str, Any]) -> None:
    df, reg = onnx_models["frame"], onnx_models["reg"]
    policy = {"version": 1, "inputs": {"data": str(onnx_models["data"]), "target": "t", "task": "regression",
                                       "model": str(onnx_models["files"]["regressor"]), "features": ["x1", "x2"]},
              "metrics": [{"name": "rmse", "op": "<=", "value": 10}]}
    check = _only(gatekit.run(policy))
    expected = math.sqrt(mean_squared_error(df.t, reg.predict(df[["x1", "x2"]].to_numpy(np.float32))))
    assert check.observed == pytest.approx(expected, abs=1e-5)


def test_single_feature_matrix_onnx_is_fed_from_inputs_features(onnx_models: dict[str, Any]) -> None:
    df = onnx_models["frame"]
    X1 = df[["x1"]].to_numpy(np.float32)
    ref = LogisticRegression().fit(X1, df.y01)
    path = onnx_models["root"] / "one_feature.onnx"
    path.write_bytes(to_onnx(ref, X1[:1]).SerializeToString())
    policy = {"version": 1, "inputs": {"data": str(onnx_models["data"]), "target": "y01", "model": str(path),
                                       "features": ["x1"]},
              "metrics": [{"name": "auc_roc", "op": ">=", "value": 0.5}]}
    check = _only(gatekit.run(policy))
    assert check.observed == pytest.approx(roc_auc_score(df.y01, ref.predict_proba(X1)[:, 1]), abs=1e-6)
