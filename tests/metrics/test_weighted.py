"""Tests of :mod:`gatekit.metrics.weighted`: the bootstrap weight kernels equal each metric on the
resampled rows.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pytest
import sklearn.metrics as skm
from fairlearn import metrics as flm
from scipy.stats import ks_2samp

from gatekit.core.errors import NotComputable
from gatekit.metrics import EvalData, default_registry
from gatekit.metrics import shadow as shadow_mod
from gatekit.metrics import weighted as weighted_mod
from gatekit.metrics.weighted import take, weighted_values
from gatekit.stats.intervals import weight_batches

REG = default_registry()


# --------------------------------------------------------------------------------------------------
# 1. Weight kernels: a row of multiplicities W[r] stands for the rows np.repeat(arange(n), W[r])
# --------------------------------------------------------------------------------------------------


N_KERNEL = 90


def _kernel_clf() -> EvalData:
    """Classification rows with tied scores, two sensitive columns and a production model on the same rows."""
    rng = np.random.default_rng(3)
    n = N_KERNEL
    y = (rng.random(n) < 0.45).astype(int)
    cand = np.round(np.clip(0.45 + 0.25 * y + 0.2 * rng.standard_normal(n), 0, 1), 2)  # rounded: ties
    prod = np.round(np.clip(0.45 + 0.15 * y + 0.2 * rng.standard_normal(n), 0, 1), 2)
    sens = pd.DataFrame({"g": np.tile(["a", "b", "c"], n // 3), "h": rng.choice(["x", "y"], n)})
    data = EvalData(y_true=y, y_score=cand, sensitive=sens, task="classification", sensitive_default=["g"])
    data.baseline = EvalData(y_true=y, y_score=prod, sensitive=sens, task="classification", sensitive_default=["g"])
    return data


def _kernel_reg() -> EvalData:
    rng = np.random.default_rng(4)
    y = np.round(rng.normal(10, 3, 60), 2)
    f = np.round(y + rng.normal(0.5, 2, 60), 2)
    base = np.round(y + rng.normal(0, 2.5, 60), 2)
    data = EvalData(y_true=y, y_score=f, task="regression")
    data.baseline = EvalData(y_true=y, y_score=base, task="regression")
    return data


CLF, REGR = _kernel_clf(), _kernel_reg()


def _eq_opportunity(y: np.ndarray, yp: np.ndarray, g: np.ndarray) -> float:
    mf = flm.MetricFrame(metrics=flm.true_positive_rate, y_true=y, y_pred=yp, sensitive_features=g)
    return float(mf.difference())


# policy name, data, params, the value on resampled arrays (y, candidate score, production score, sensitive)
KERNEL_CASES: dict[str, tuple[str, EvalData, dict[str, Any], Any]] = {
    "roc_auc": ("roc_auc", CLF, {}, lambda y, c, b, s: skm.roc_auc_score(y, c)),
    "accuracy": ("accuracy", CLF, {}, lambda y, c, b, s: skm.accuracy_score(y, c >= 0.5)),
    "precision_at_T": ("precision_at_0_4", CLF, {}, lambda y, c, b, s: skm.precision_score(y, c >= 0.4)),
    "recall_at_T": ("recall_at_0_6", CLF, {}, lambda y, c, b, s: skm.recall_score(y, c >= 0.6)),
    "f1_at_T": ("f1_at_0_5", CLF, {}, lambda y, c, b, s: skm.f1_score(y, c >= 0.5)),
    "mae": ("mae", REGR, {}, lambda y, c, b, s: skm.mean_absolute_error(y, c)),
    "rmse": ("rmse", REGR, {}, lambda y, c, b, s: np.sqrt(skm.mean_squared_error(y, c))),
    # min_group_size 1: every group counted, as fairlearn counts them (the small groups have their own tests)
    "demographic_parity_difference": (
        "demographic_parity_difference", CLF, {"min_group_size": 1},
        lambda y, c, b, s: flm.demographic_parity_difference(y, c >= 0.5, sensitive_features=s["g"])),
    "disparate_impact_ratio": (
        "disparate_impact_ratio", CLF, {"min_group_size": 1},
        lambda y, c, b, s: flm.demographic_parity_ratio(y, c >= 0.5, sensitive_features=s["g"])),
    "equal_opportunity_difference": (
        "equal_opportunity_difference", CLF, {"threshold": 0.55, "min_group_size": 1},
        lambda y, c, b, s: _eq_opportunity(y, (c >= 0.55).astype(int), s["g"].to_numpy())),
    "equalized_odds_difference": (
        "equalized_odds_difference", CLF, {"sensitive": ["h"], "min_group_size": 1},
        lambda y, c, b, s: flm.equalized_odds_difference(y, c >= 0.5, sensitive_features=s["h"])),
    "prediction_agreement_rate": (
        "prediction_agreement_rate", CLF, {},
        lambda y, c, b, s: skm.accuracy_score(b >= 0.5, c >= 0.5)),
    "mean_score_difference": ("mean_score_difference", CLF, {}, lambda y, c, b, s: float(np.mean(c - b))),
    "log_loss": ("log_loss", CLF, {}, lambda y, c, b, s: skm.log_loss(y, c, labels=[0, 1])),
    "brier_score": ("brier_score", CLF, {}, lambda y, c, b, s: skm.brier_score_loss(y, c)),
}


def _resampled(data: EvalData, w: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, pd.DataFrame | None]:
    idx = np.repeat(np.arange(len(w)), w)
    assert data.baseline is not None
    sens = None if data.sensitive is None else data.sensitive.iloc[idx].reset_index(drop=True)
    return data.y_true[idx], data.y_score[idx], data.baseline.y_score[idx], sens


def test_every_kernel_has_a_case() -> None:
    assert set(KERNEL_CASES) == set(weighted_mod.KERNELS) | set(shadow_mod.KERNELS)


@pytest.mark.parametrize("spec_name", sorted(KERNEL_CASES))
def test_kernel_equals_the_metric_on_the_resampled_rows(spec_name: str) -> None:
    policy_name, data, params, reference = KERNEL_CASES[spec_name]
    res = REG.resolve(policy_name)
    assert res is not None and res.spec.name == spec_name
    full = {**res.name_params, **params}
    strata = data.y_true.astype(int) if data.task == "classification" else np.zeros(len(data.y_true), int)
    W = next(weight_batches(strata, 6, 11))
    assert W.shape == (6, len(strata)) and (W.sum(axis=1) == len(strata)).all()
    got = weighted_values(res, data, W, full)
    assert got.shape == (6,)
    assert np.isfinite(got).all()
    for r in range(len(W)):
        idx = np.repeat(np.arange(len(strata)), W[r])
        # the metric function on the rows the weights stand for ...
        assert got[r] == pytest.approx(res.spec.fn(take(data, idx), **full).value, abs=1e-12)
        # ... and the library called directly on the resampled arrays
        assert got[r] == pytest.approx(float(reference(*_resampled(data, W[r]))), abs=1e-12)


# metrics without a kernel: the generic path calls the metric function on each resample
FALLBACK_CASES: dict[str, tuple[EvalData, dict[str, Any], Any]] = {
    "pr_auc": (CLF, {}, lambda y, c, b, s: skm.average_precision_score(y, c)),
    "smape": (REGR, {"variant": "0-100"},
              lambda y, c, b, s: 100 * np.mean(np.abs(y - c) / (np.abs(y) + np.abs(c)))),
    "abs_score_difference_p95": (CLF, {}, lambda y, c, b, s: np.quantile(np.abs(c - b), 0.95, method="linear")),
    "score_distribution_ks": (CLF, {}, lambda y, c, b, s: ks_2samp(c, b).statistic),
}


@pytest.mark.parametrize("name", sorted(FALLBACK_CASES))
def test_metric_without_kernel_falls_back_to_the_function_on_resampled_rows(name: str) -> None:
    data, params, reference = FALLBACK_CASES[name]
    res = REG.resolve(name)
    assert res is not None
    assert name not in weighted_mod.KERNELS and name not in shadow_mod.KERNELS  # really the generic path
    strata = data.y_true.astype(int) if data.task == "classification" else np.zeros(len(data.y_true), int)
    W = next(weight_batches(strata, 4, 5))
    got = weighted_values(res, data, W, params)
    expected = [float(reference(*_resampled(data, W[r]))) for r in range(len(W))]
    assert got == pytest.approx(expected, abs=1e-9)


def test_weighted_values_of_a_metric_not_computed_from_rows() -> None:
    res = REG.resolve("latency_p95_ms")
    assert res is not None
    with pytest.raises(NotComputable, match="not computed from rows"):
        weighted_values(res, CLF, np.ones((2, N_KERNEL), dtype=int), {})


def test_undefined_resample_is_nan_for_precision() -> None:
    # rows: y = 1 1 0 0 0, scores 0.1 0.6 0.2 0.3 0.4; the first resample never draws row 1 (the only
    # score >= 0.5), so nothing is predicted positive: precision 0/0 is undefined, the second is 1/1
    data = EvalData(y_true=np.array([1, 1, 0, 0, 0]), y_score=np.array([0.1, 0.6, 0.2, 0.3, 0.4]),
                    task="classification")
    res = REG.resolve("precision_at_0_5")
    W = np.array([[2, 0, 1, 1, 1], [1, 1, 1, 1, 1]])
    got = weighted_values(res, data, W, dict(res.name_params))
    assert np.isnan(got[0]) and got[1] == 1.0


def test_f1_kernel_is_undefined_where_f1_is() -> None:
    # same resample as above: TP = FP = 0, FN = 2. f1_at raises NotComputable ("precision undefined"),
    # so the kernel should give NaN; it computes 2*0 / (2*0 + 0 + 2) = 0 instead
    data = EvalData(y_true=np.array([1, 1, 0, 0, 0]), y_score=np.array([0.1, 0.6, 0.2, 0.3, 0.4]),
                    task="classification")
    res = REG.resolve("f1_at_0_5")
    W = np.array([[2, 0, 1, 1, 1]])
    with pytest.raises(NotComputable):
        res.spec.fn(take(data, np.repeat(np.arange(5), W[0])), **res.name_params)
    got = weighted_values(res, data, W, dict(res.name_params))
    assert np.isnan(got[0]), got


# --------------------------------------------------------------------------------------------------
# 2. Compact rows (EvalData.weights): W holds each compact row's multiplicity, its count included
# --------------------------------------------------------------------------------------------------


def _recounted(data: EvalData, counts: np.ndarray) -> EvalData:
    """``data`` with ``counts`` as its row counts (candidate and baseline), independently of with_counts."""
    from dataclasses import replace

    base = None if data.baseline is None else replace(data.baseline, weights=counts, cache={})
    return replace(data, weights=counts, baseline=base, cache={})


COMPACT_CASES = [
    *[(name, "clf") for name in ("roc_auc", "accuracy", "precision_at_0_4", "recall_at_0_6", "f1_at_0_5",
                                 "log_loss", "brier_score", "pr_auc", "demographic_parity_difference",
                                 "equal_opportunity_difference", "equalized_odds_difference",
                                 "prediction_agreement_rate", "mean_score_difference", "abs_score_difference_p95",
                                 "score_distribution_ks")],
    *[(name, "reg") for name in ("mae", "rmse", "r2", "mape", "smape")],
]


@pytest.mark.parametrize(("name", "kind"), COMPACT_CASES)
def test_weighted_values_on_compact_rows_equal_the_metric_on_the_rows_they_stand_for(name: str, kind: str) -> None:
    from gatekit.stats.intervals import poisson_weight_batches
    from tests.metrics.helpers import compact_clf, compact_reg, expand

    compact = compact_clf(21, n=50) if kind == "clf" else compact_reg(22, n=40)
    res = REG.resolve(name)
    assert res is not None and res.spec.fn is not None
    params = dict(res.name_params)
    W = next(poisson_weight_batches(compact.weights, 5, 9))
    got = weighted_values(res, compact, W, params)
    assert np.isfinite(got).all()
    for r in range(len(W)):
        rows = expand(_recounted(compact, W[r]))  # the resample's rows, one by one, no weights
        assert got[r] == pytest.approx(res.spec.fn(rows, **params).value, abs=1e-9), r


def test_take_keeps_each_rows_count_and_with_counts_replaces_them() -> None:
    from tests.metrics.helpers import compact_clf

    compact = compact_clf(23, n=10)
    sub = take(compact, np.array([3, 3, 7]))
    assert sub.weights.tolist() == [compact.weights[3]] * 2 + [compact.weights[7]]
    assert sub.baseline is not None and sub.baseline.weights.tolist() == sub.weights.tolist()
    counts = np.array([0, 2, 0, 0, 1, 0, 0, 0, 5, 0])
    w = weighted_mod.with_counts(compact, counts)
    assert w.weights.tolist() == [2, 1, 5] and w.baseline.weights.tolist() == [2, 1, 5]
    assert w.y_score.tolist() == compact.y_score[[1, 4, 8]].tolist()
    assert compact.weights[1] != 0 and compact.cache == {}  # the original is untouched


def test_poisson_draws_of_a_compact_row_are_the_row_level_draws_summed() -> None:
    """A row of count c drawn Poisson(c): mean and variance c, as the sum of c independent Poisson(1) draws."""
    from gatekit.stats.intervals import poisson_weight_batches

    counts = np.array([1, 5, 40])
    W = np.concatenate(list(poisson_weight_batches(counts, 20_000, 3)))
    assert W.shape == (20_000, 3)
    assert W.mean(axis=0) == pytest.approx(counts, rel=0.03)
    assert W.var(axis=0) == pytest.approx(counts, rel=0.05)
    again = np.concatenate(list(poisson_weight_batches(counts, 20_000, 3)))
    assert (again == W).all()  # seeded


def test_forecast_metrics_under_bootstrap_weights_equal_the_resampled_rows() -> None:
    """The quantile forecasts are resampled with the rows (``take``); the training series is not rows and stays."""
    from gatekit.metrics import default_registry
    from gatekit.metrics import regression as reg

    rng = np.random.default_rng(9)
    n = 80
    y = 10 + rng.normal(size=n)
    f = y + rng.normal(scale=0.5, size=n)
    data = EvalData(y_true=y, y_score=f, task="regression", quantiles={0.1: f - 0.6, 0.9: f + 0.6},
                    train_target=10 + rng.normal(size=50))
    W = rng.poisson(1.0, size=(5, n))
    for name, fn, kw in (("pinball_loss_at_0_9", reg.pinball_loss, {"threshold": 0.9}),
                         ("interval_coverage_at_0_8", reg.interval_coverage, {"threshold": 0.8}),
                         ("wape", reg.wape, {}), ("mase", reg.mase, {"seasonal_period": 2})):
        res = default_registry().resolve(name)
        got = weighted_values(res, data, W, {**res.name_params, **({"seasonal_period": 2} if name == "mase" else {})})
        for r in range(len(W)):
            idx = np.repeat(np.arange(n), W[r])
            rows = EvalData(y_true=y[idx], y_score=f[idx], task="regression", train_target=data.train_target,
                            quantiles={q: a[idx] for q, a in data.quantiles.items()})
            assert got[r] == pytest.approx(fn(rows, **kw).value, rel=1e-12), name
