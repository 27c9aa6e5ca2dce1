"""Tests of :mod:`gatekit.metrics.catalog`: every metric the catalog computes, on compact rows
(``EvalData.weights``, as the DuckDB engine gives them), equals the same metric on the rows the counts
stand for.

The expanded rows are built here with ``numpy.repeat`` and run through the same metric function without
weights, which calls scikit-learn, fairlearn, numpy and scipy on plain rows (the pandas path, itself tested
against those libraries in the other test files). Values to 1e-9, counts in ``details`` exactly, and an
undefined metric must be undefined on both sides with the same reason.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd
import pytest

from gatekit.core.errors import NotComputable
from gatekit.metrics import EvalData, default_registry
from tests.metrics.helpers import compact_clf, compact_reg, expand

REG = default_registry()

# (policy name, params): every computed metric, with its parameter variants
METRICS: list[tuple[str, dict[str, Any]]] = [
    ("roc_auc", {}), ("pr_auc", {}), ("accuracy", {}), ("log_loss", {}), ("brier_score", {}),
    ("precision_at_0_5", {}), ("precision_at_0_3", {}), ("recall_at_0_5", {}), ("recall_at_0_7", {}),
    ("f1_at_0_5", {}), ("f1_at_0_4", {}),
    ("expected_calibration_error", {}), ("expected_calibration_error", {"bins": 7, "strategy": "quantile"}),
    ("max_calibration_error", {}), ("max_calibration_error", {"bins": 4, "strategy": "quantile"}),
    ("rmse", {}), ("mae", {}), ("r2", {}), ("mape", {}), ("smape", {}), ("smape", {"variant": "0-100"}),
    ("wape", {}), ("mase", {}), ("mase", {"seasonal_period": 3}), ("pinball_loss_at_0_1", {}),
    ("pinball_loss_at_0_9", {}), ("interval_coverage_at_0_8", {}),
    ("demographic_parity_difference", {}), ("demographic_parity_difference", {"sensitive": ["h"]}),
    ("demographic_parity_difference", {"sensitive": ["g", "h"], "threshold": 0.4}),
    ("disparate_impact_ratio", {}), ("disparate_impact_ratio", {"sensitive": ["g", "h"], "min_group_size": 1}),
    ("equal_opportunity_difference", {}), ("equal_opportunity_difference", {"sensitive": ["g", "h"]}),
    ("equalized_odds_difference", {}), ("equalized_odds_difference", {"sensitive": ["h"], "threshold": 0.6}),
    ("prediction_agreement_rate", {}), ("prediction_agreement_rate", {"threshold": 0.3}),
    ("mean_score_difference", {}), ("abs_score_difference_p95", {}), ("score_distribution_ks", {}),
    # the multiclass metrics on a binary target (tests/metrics/test_multiclass.py: on multiclass compact rows)
    ("balanced_accuracy", {}), ("roc_auc_ovr", {}), ("roc_auc_ovr_weighted", {}), ("roc_auc_ovo", {}),
    ("roc_auc_ovo_weighted", {}), ("recall[class=1]", {}), ("precision[class=1]", {}), ("f1[class=1]", {}),
    *((f"{m}_{a}", {}) for m in ("precision", "recall", "f1") for a in ("macro", "micro", "weighted")),
]

# text that says how the value was computed, which differs by design between compact and plain rows
HOW = {"percentile_method", "source"}


def test_every_computed_metric_is_covered() -> None:
    names = {REG.resolve(n).spec.name for n, _ in METRICS}  # type: ignore[union-attr]
    assert names == {s.name for s in REG.specs() if s.fn is not None}


def _with(data: EvalData, **arrays: Any) -> EvalData:
    """``data`` with some arrays replaced, on the candidate and (for the shared ones) the baseline."""
    out = EvalData(**{**data.__dict__, "cache": {}, **arrays})
    if data.baseline is not None:
        shared = {k: v for k, v in arrays.items() if k in ("y_true", "sensitive", "weights", "strict")}
        out.baseline = EvalData(**{**data.baseline.__dict__, "cache": {}, **shared})
    return out


def _clf() -> EvalData:
    return compact_clf(1)


def _single_class_group() -> EvalData:
    d = compact_clf(5)
    y = d.y_true.copy()
    y[d.sensitive["g"].to_numpy() == "c"] = 0  # group c has no positive label
    return _with(d, y_true=y)


def _zero_count_group() -> EvalData:
    d = compact_clf(6)
    w = d.weights.copy()
    w[d.sensitive["g"].to_numpy() == "c"] = 0  # group c stands for no rows: it is not a group at all
    w[:3] = 0
    return _with(d, weights=w)


def _missing_sensitive(strict: bool) -> Callable[[], EvalData]:
    def build() -> EvalData:
        d = compact_clf(7)
        sens = d.sensitive.copy()
        sens.loc[[2, 9], "g"] = np.nan
        return _with(d, sensitive=sens, strict=strict)
    return build


def _nan_score() -> EvalData:
    d = compact_clf(8)
    s = d.y_score.copy()
    s[[4, 11]] = np.nan
    return _with(d, y_score=s)


def _predictions_only() -> EvalData:
    d = compact_clf(9)
    out = _with(d, y_score=None, y_pred=(d.y_score >= 0.5).astype(int))
    assert out.baseline is not None
    out.baseline.y_score, out.baseline.y_pred = None, (d.baseline.y_score >= 0.5).astype(int)
    return out


def _percent_scores() -> EvalData:
    d = compact_clf(10)
    return _with(d, y_score=d.y_score * 100)


def _reg_zero_actuals() -> EvalData:
    d = compact_reg(12)
    y, f = d.y_true.copy(), d.y_score.copy()
    y[[0, 5]] = 0.0
    f[0] = 0.0  # one 0/0 pair: sMAPE counts it as exact
    return _with(d, y_true=y, y_score=f)


def _reg_constant() -> EvalData:
    d = compact_reg(13)
    return _with(d, y_true=np.full(len(d.y_true), 0.1))


DATA: dict[str, Callable[[], EvalData]] = {
    "classification": _clf,
    "fine_scores_many_rows": lambda: compact_clf(2, n=300, max_count=40, decimals=2),
    "one_class": lambda: _with(compact_clf(3), y_true=np.zeros(60, dtype=int)),
    "one_compact_row_per_class": lambda: _with(compact_clf(4, n=2), y_true=np.array([0, 1])),
    "single_class_group": _single_class_group,
    "zero_count_group": _zero_count_group,
    "missing_sensitive_strict": _missing_sensitive(True),
    "missing_sensitive_lenient": _missing_sensitive(False),
    "nan_score": _nan_score,
    "predictions_only": _predictions_only,
    "scores_in_percent": _percent_scores,
    "regression": lambda: compact_reg(11),
    "regression_zero_actuals": _reg_zero_actuals,
    "regression_constant_target": _reg_constant,
    "regression_one_row": lambda: _with(compact_reg(14, n=1), weights=np.array([1])),
    "regression_one_row_counted_thrice": lambda: _with(compact_reg(14, n=1), weights=np.array([3])),
}


def outcome(fn: Callable[..., Any], data: EvalData, params: dict[str, Any]) -> tuple[str, Any, Any]:
    try:
        mv = fn(data, **params)
    except NotComputable as exc:
        return "not_computable", exc.reason, dict(exc.details)
    except ValueError as exc:
        return "error", str(exc), {}
    return "ok", mv.value, mv.details


def same(compact: Any, plain: Any, where: str = "") -> None:
    """Assert a compact-row result equals the plain-row one: numbers to 1e-9, counts exactly."""
    if isinstance(plain, dict):
        assert isinstance(compact, dict), where
        for k, v in plain.items():
            if k in HOW:
                continue
            assert k in compact, f"{where}.{k} missing"
            same(compact[k], v, f"{where}.{k}")
    elif isinstance(plain, (list, tuple)):
        assert len(compact) == len(plain), where
        for i, (a, b) in enumerate(zip(compact, plain, strict=True)):
            same(a, b, f"{where}[{i}]")
    elif isinstance(plain, bool) or plain is None or isinstance(plain, str):
        assert compact == plain, f"{where}: {compact!r} != {plain!r}"
    elif isinstance(plain, (int, np.integer)):
        assert compact == plain and float(compact).is_integer(), f"{where}: {compact!r} != {plain!r}"
    else:
        assert compact == pytest.approx(plain, abs=1e-9, nan_ok=True), f"{where}: {compact!r} != {plain!r}"


@pytest.mark.parametrize("case", sorted(DATA))
def test_every_metric_on_compact_rows_equals_the_metric_on_the_expanded_rows(case: str) -> None:
    compact = DATA[case]()
    plain = expand(compact)
    kinds = set()
    for name, params in METRICS:
        res = REG.resolve(name)
        assert res is not None and res.spec.fn is not None
        full = {**res.name_params, **params}
        want = outcome(res.spec.fn, plain, full)
        got = outcome(res.spec.fn, compact, full)
        kinds.add(want[0])
        assert got[0] == want[0], f"{name} {params}: {got} vs {want}"
        same(got[1], want[1], f"{name} {params} value")
        same(got[2], want[2], f"{name} {params} details")
    assert kinds  # at least one metric decided something


def test_the_cases_cover_values_and_undefined_values() -> None:
    """The cases above are not vacuous: each metric is computed somewhere and undefined somewhere else."""
    seen: dict[str, set[str]] = {}
    for build in DATA.values():
        compact = build()
        for name, params in METRICS:
            res = REG.resolve(name)
            seen.setdefault(name, set()).add(outcome(res.spec.fn, compact, {**res.name_params, **params})[0])
    assert all("ok" in s for s in seen.values()), seen
    assert all("not_computable" in s for s in seen.values()), seen
    assert "error" in seen["demographic_parity_difference"]  # strict mode: a missing sensitive value


def test_counts_in_details_are_the_rows_the_counts_stand_for() -> None:
    compact = compact_clf(1)
    n = int(compact.weights.sum())
    res = REG.resolve("precision_at_0_5")
    d = res.spec.fn(compact, **res.name_params).details
    assert d["tp"] + d["fp"] + d["fn"] + d["tn"] == n
    dp = REG.resolve("demographic_parity_difference").spec.fn(compact).details
    assert sum(g["count"] for g in dp["by_group"].values()) == n
    by_hand = pd.Series(compact.weights).groupby(compact.sensitive["g"].to_numpy()).sum()
    assert {g: v["count"] for g, v in dp["by_group"].items()} == {k: int(v) for k, v in by_hand.items()}
    assert REG.resolve("roc_auc").spec.fn(compact).details["n"] == n
