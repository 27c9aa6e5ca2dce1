"""Tests of :mod:`gatekit.report.charts`."""

from __future__ import annotations


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
