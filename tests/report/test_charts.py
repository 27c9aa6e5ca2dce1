"""Tests of :mod:`gatekit.report.charts`."""

from __future__ import annotations

import itertools

import numpy as np
import pytest


def test_the_report_roc_curve_is_scikit_learns(monkeypatch) -> None:
    import numpy as np
    from sklearn.metrics import roc_auc_score, roc_curve

    from gatekit.report.charts import _thin, roc

    rng = np.random.default_rng(3)
    for n in (40, 5000):
        y = (rng.random(n) < 0.3).astype(int)
        s = np.round(rng.random(n) * (1 + y), 2)  # ties on purpose
        fpr, tpr, _ = roc_curve(y, s, drop_intermediate=False)
        got = roc(y, s)
        assert (got["fpr"], got["tpr"]) == _thin(fpr, tpr)
        assert abs(got["auc"] - roc_auc_score(y, s)) < 1e-12
        assert roc(y, s, plain=True) == {**got, "auc": roc_auc_score(y, s)}
    assert roc(np.zeros(5), np.arange(5.0)) is None  # one class: no curve


def test_the_roc_curve_of_compact_rows_is_that_of_the_rows_they_stand_for() -> None:
    """DuckDB and Spark hand the report one row per distinct (target, score) with its count."""
    import pandas as pd

    from gatekit.report.charts import roc

    rng = np.random.default_rng(5)
    y = (rng.random(3000) < 0.3).astype(int)
    s = np.round(rng.random(3000) * (1 + y), 1)  # few distinct scores: compact rows
    compact = pd.DataFrame({"y": y, "s": s}).value_counts().reset_index()
    got = roc(compact["y"].to_numpy(), compact["s"].to_numpy(), weights=compact["count"].to_numpy())
    assert got == roc(y, s) and got["rows"] == 3000
    plain = roc(compact["y"].to_numpy(), compact["s"].to_numpy(), plain=True, weights=compact["count"].to_numpy())
    assert plain["rows"] == 3000 and plain["auc"] == pytest.approx(got["auc"], abs=1e-12)
    assert plain["fpr"] == pytest.approx(got["fpr"]) and plain["tpr"] == pytest.approx(got["tpr"])


def test_an_axis_is_logarithmic_only_when_its_positive_values_span_more_than_two_decades() -> None:
    from gatekit.report.charts import use_log_scale

    assert use_log_scale([2.5, 6515.0])  # the latency histogram: 2.5 ms to 6,515 ms, 3.4 decades
    assert not use_log_scale([3.708, 12.28])  # the mini challenge's latencies: linear
    assert not use_log_scale([1.0, 100.0])  # exactly two decades: still linear
    assert use_log_scale([1.0, 100.5])
    assert use_log_scale([398, 1, 3, 1])  # counts of a histogram with a long tail: 398 / 1
    assert not use_log_scale([0.0, 1.0, 5000.0])  # a zero has no logarithm
    assert not use_log_scale([-1.0, 500.0])
    assert not use_log_scale([7.0])  # one value spans nothing
    assert use_log_scale([float("nan"), 0.01, 10.0])  # non-finite values are left out


def test_log_axis_ticks_are_the_powers_of_ten_at_equal_distances() -> None:
    import math

    from gatekit.report.charts import Axis, decade_ticks, nice_ticks

    assert decade_ticks(2.5, 6515.0) == [10.0, 100.0, 1000.0]
    assert decade_ticks(0.5, 398.0) == [1.0, 10.0, 100.0]
    assert decade_ticks(1.0, 1000.0) == [1.0, 10.0, 100.0, 1000.0]  # ends included
    axis = Axis(2.5, 6515.0, 56, 392, log=True)
    span = math.log10(6515.0 / 2.5)  # 3.416 decades over 336 units
    assert axis(10.0) == round(56 + 336 * math.log10(10 / 2.5) / span, 1)
    assert axis(100.0) - axis(10.0) == pytest.approx(336 / span, abs=0.1)  # each decade the same room
    assert axis(1000.0) - axis(100.0) == pytest.approx(336 / span, abs=0.1)
    assert axis(2.5) == 56 and axis(6515.0) == 392 and axis(1e9) == 392  # clipped to the axis
    linear = Axis(0.0, 400.0, 200, 50)  # a y axis growing upwards
    assert linear(100.0) == 162.5 and linear.ticks(4) == [0.0, 100.0, 200.0, 300.0, 400.0]
    assert nice_ticks(0.02416, 0.04052, 4) == [0.025, 0.03, 0.035, 0.04]
    with pytest.raises(ValueError, match="positive"):
        Axis(0.0, 10.0, 0, 1, log=True)


def test_the_reliability_table_counts_compact_rows_and_is_left_out_without_probabilities() -> None:
    from types import SimpleNamespace

    from gatekit.report.charts import chart_data
    from tests.metrics.helpers import clf_data, compact_clf, expand

    compact = compact_clf(3, n=120, decimals=2)
    got = chart_data(SimpleNamespace(eval_data=compact))["reliability"]
    plain = chart_data(SimpleNamespace(eval_data=expand(compact)))["reliability"]
    assert got["n"] == plain["n"] == int(compact.weights.sum())
    assert got["strategy"] == "uniform" and got["n_bins"] == 15 and len(got["edges"]) == 16
    # by hand: the expanded rows' per-bin counts, right-closed bins of width 1/15
    s, y = np.repeat(compact.y_score, compact.weights), np.repeat(compact.y_true, compact.weights)
    edges = np.linspace(0, 1, 16)
    counts = [int(((s > lo) & (s <= hi) | ((lo == 0) & (s == 0))).sum()) for lo, hi in itertools.pairwise(edges)]
    assert [b["count"] for b in got["bins"]] == [c for c in counts if c]
    assert got["ece"] == pytest.approx(plain["ece"], abs=1e-12) and got["mce"] == pytest.approx(plain["mce"], abs=1e-12)
    first = got["bins"][0]
    members = (s > first["lo"]) & (s <= first["hi"]) | (s == 0)
    assert first["accuracy"] == pytest.approx(y[members].mean(), abs=1e-12)
    assert "reliability" not in chart_data(SimpleNamespace(eval_data=clf_data([0, 1], [20.0, 80.0])))
    assert "reliability" not in chart_data(SimpleNamespace(eval_data=clf_data([0, 1], pred=[0, 1])))


def _forecast_rows(n: int, seed: int = 4):
    from gatekit.metrics import EvalData

    rng = np.random.default_rng(seed)
    y = np.round(10 + rng.normal(size=n), 1)
    f = np.round(y + rng.standard_t(3, size=n) / 2, 1)  # heavy tails: rows beyond the percentiles
    return EvalData(y_true=y, y_score=f, task="regression")


def test_the_residual_histogram_counts_every_row_between_the_percentiles() -> None:
    from gatekit.report.charts import RESIDUAL_BINS, forecast

    data = _forecast_rows(5000)
    res = forecast(data)["residuals"]
    r = data.y_true - data.y_score
    lo, hi = (np.quantile(r, q, method="inverted_cdf") for q in (0.005, 0.995))
    want, edges = np.histogram(r[(r >= lo) & (r <= hi)], bins=RESIDUAL_BINS, range=(lo, hi))
    assert res["counts"] == want.tolist() and res["edges"] == pytest.approx(edges.tolist(), abs=0)
    assert res["below"] == int(np.sum(r < lo)) and res["above"] == int(np.sum(r > hi))
    assert sum(res["counts"]) + res["below"] + res["above"] == res["n"] == 5000
    assert res["mean"] == pytest.approx(r.mean(), rel=1e-12)


def test_compact_rows_give_the_residual_histogram_of_the_rows_they_stand_for() -> None:
    from gatekit.metrics import EvalData
    from gatekit.report.charts import forecast

    data = _forecast_rows(3000)
    pairs, counts = np.unique(np.c_[data.y_true, data.y_score], axis=0, return_counts=True)
    compact = EvalData(y_true=pairs[:, 0], y_score=pairs[:, 1], task="regression", weights=counts)
    a, b = forecast(data)["residuals"], forecast(compact)["residuals"]
    assert a["counts"] == b["counts"] and (a["below"], a["above"], a["n"]) == (b["below"], b["above"], b["n"])
    assert a["edges"] == pytest.approx(b["edges"], abs=1e-12)
    sc = forecast(compact)["scatter"]
    assert sc["shown"] == 2000 and sc["n"] == 3000
    drawn = set(zip(sc["actual"], sc["forecast"], strict=True))
    assert drawn <= {(float(f"{a:.6g}"), float(f"{f:.6g}")) for a, f in pairs}  # every point is a row


@pytest.mark.parametrize(("n", "shown"), [(150, 150), (2000, 2000), (7000, 2000)])
def test_the_scatter_draws_at_most_2000_rows(n: int, shown: int) -> None:
    from gatekit.report.charts import forecast

    data = _forecast_rows(n)
    sc = forecast(data)["scatter"]
    assert (sc["n"], sc["shown"]) == (n, shown)
    if n <= 2000:  # every row, in row order
        assert sc["actual"] == data.y_true.tolist() and sc["forecast"] == data.y_score.tolist()
    assert forecast(data)["scatter"] == sc  # seeded: the same sample every run


def test_no_forecast_chart_for_classification_or_missing_values() -> None:
    from types import SimpleNamespace

    from gatekit.metrics import EvalData
    from gatekit.report.charts import chart_data, forecast

    cls = EvalData(y_true=np.array([0, 1, 0, 1]), y_score=np.array([0.1, 0.9, 0.3, 0.6]), task="classification")
    assert "forecast" not in chart_data(SimpleNamespace(eval_data=cls))
    gap = EvalData(y_true=np.array([1.0, np.nan]), y_score=np.array([1.0, 2.0]), task="regression")
    assert forecast(gap) is None and chart_data(SimpleNamespace(eval_data=gap)) == {}
