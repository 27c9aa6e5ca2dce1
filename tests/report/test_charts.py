"""Tests of :mod:`gatekit.report.charts`."""

from __future__ import annotations

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
