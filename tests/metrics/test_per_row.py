"""Tests of :mod:`gatekit.metrics.per_row`: each metric's per-row values average to the metric (scikit-learn)."""

from __future__ import annotations

import numpy as np
import pytest
import sklearn.metrics as skm

from gatekit.core.errors import NotComputable
from gatekit.metrics.per_row import PER_ROW, per_row_values
from gatekit.metrics.registry import EvalData


def _binary(seed: int = 0, n: int = 300) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    y = (rng.random(n) < 0.35).astype(int)
    s = np.clip(0.35 + 0.3 * (y - 0.35) + rng.normal(0, 0.2, n), 0, 1)
    s[:3] = [0.0, 1.0, 0.5]  # log loss clips these; a score of 0.5 is predicted positive at threshold 0.5
    return y, s


def test_binary_per_row_values_average_to_scikit_learns_metrics() -> None:
    y, s = _binary()
    d = EvalData(y_true=y, y_score=s, task="classification", decision_threshold=0.5)
    eps = np.finfo(float).eps
    assert per_row_values("accuracy", d).mean() == pytest.approx(skm.accuracy_score(y, s >= 0.5), abs=1e-15)
    assert per_row_values("brier_score", d).mean() == pytest.approx(skm.brier_score_loss(y, s), abs=1e-15)
    assert per_row_values("log_loss", d).mean() == pytest.approx(
        skm.log_loss(y, np.clip(s, eps, 1 - eps), labels=[0, 1]), rel=1e-12)
    acc = per_row_values("accuracy", d)
    assert set(np.unique(acc)) <= {0.0, 1.0} and acc[2] == float(y[2] == 1)  # 0.5 >= 0.5 predicts 1


def test_labels_multiclass_and_regression_per_row_values() -> None:
    y, s = _binary(1)
    pred = (s > 0.4).astype(int)
    d = EvalData(y_true=y, y_pred=pred, task="classification")
    assert per_row_values("accuracy", d).mean() == pytest.approx(skm.accuracy_score(y, pred), abs=1e-15)
    rng = np.random.default_rng(2)
    p = rng.dirichlet([1, 1, 1], 200)
    yc = rng.integers(0, 3, 200)
    m = EvalData(y_true=yc, y_score=p, task="multiclass", classes=["a", "b", "c"])
    assert per_row_values("accuracy", m).mean() == pytest.approx(skm.accuracy_score(yc, p.argmax(1)), abs=1e-15)
    assert per_row_values("log_loss", m).mean() == pytest.approx(skm.log_loss(yc, p, labels=[0, 1, 2]), rel=1e-12)
    yr, f = rng.normal(size=50), rng.normal(size=50)
    r = EvalData(y_true=yr, y_pred=f, task="regression")
    assert per_row_values("mae", r).mean() == pytest.approx(skm.mean_absolute_error(yr, f), rel=1e-14)


def test_bounds_and_refusals() -> None:
    assert PER_ROW["accuracy"].bounds == (0.0, 1.0) and PER_ROW["brier_score"].bounds == (0.0, 1.0)
    assert PER_ROW["log_loss"].bounds is None and PER_ROW["mae"].bounds is None
    y, s = _binary()
    with pytest.raises(NotComputable, match="counts"):
        per_row_values("accuracy", EvalData(y_true=y, y_score=s, task="classification", weights=np.ones(len(y))))
    with pytest.raises(NotComputable):  # a Brier score needs probabilities, not labels
        per_row_values("brier_score", EvalData(y_true=y, y_pred=(s > 0.5).astype(int), task="classification"))
    with pytest.raises(KeyError):
        per_row_values("roc_auc", EvalData(y_true=y, y_score=s, task="classification"))


def test_shadow_per_row_values_average_to_the_shadow_metrics() -> None:
    from gatekit.metrics.per_row import SHADOW_PER_ROW
    from gatekit.metrics.shadow import mean_score_difference, prediction_agreement_rate

    y, s = _binary(3)
    rng = np.random.default_rng(3)
    b = np.clip(s + rng.normal(0, 0.15, len(s)), 0, 1)
    d = EvalData(y_true=y, y_score=s, task="classification", decision_threshold=0.5,
                 baseline=EvalData(y_true=y, y_score=b, task="classification", decision_threshold=0.5))
    agree = per_row_values("prediction_agreement_rate", d)
    assert np.array_equal(agree, ((s >= 0.5) == (b >= 0.5)).astype(float))
    assert agree.mean() == pytest.approx(prediction_agreement_rate(d).value, abs=1e-15)
    at3 = per_row_values("prediction_agreement_rate", d, {"threshold": 0.3})
    assert np.array_equal(at3, ((s >= 0.3) == (b >= 0.3)).astype(float))
    diff = per_row_values("mean_score_difference", d)
    assert np.allclose(diff, s - b, atol=0) and diff.mean() == pytest.approx(mean_score_difference(d).value,
                                                                            abs=1e-15)
    assert SHADOW_PER_ROW["prediction_agreement_rate"].bounds == (0.0, 1.0)
    assert SHADOW_PER_ROW["mean_score_difference"].bounds == (-1.0, 1.0)
    with pytest.raises(NotComputable, match="production"):  # no baseline rows
        per_row_values("mean_score_difference", EvalData(y_true=y, y_score=s, task="classification"))


def test_a_canarys_mean_latency_is_the_mean_of_its_rows_latencies() -> None:
    from gatekit.metrics.latency import latency_mean
    from gatekit.metrics.per_row import CANARY_PER_ROW, PER_ROW, per_row_values

    lat = np.random.default_rng(5).lognormal(3, 0.5, 200)
    data = EvalData(y_true=np.zeros(200, dtype=int), y_score=np.full(200, 0.5), latency_ms=lat)
    values = per_row_values("latency_mean_ms", data)
    assert np.array_equal(values, lat) and values.mean() == pytest.approx(latency_mean(data).value, rel=1e-14)
    assert CANARY_PER_ROW["latency_mean_ms"].bounds is None  # unbounded: the normal mixture only
    assert "latency_mean_ms" not in PER_ROW  # evaluation rows carry no latency: not a metrics: sequential rule
    assert {k: v for k, v in CANARY_PER_ROW.items() if k != "latency_mean_ms"} == PER_ROW
