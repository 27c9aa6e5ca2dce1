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
    from gatekit.stats.intervals import counted_weight_batches
    from tests.metrics.helpers import compact_clf, compact_reg, expand

    compact = compact_clf(21, n=50) if kind == "clf" else compact_reg(22, n=40)
    res = REG.resolve(name)
    assert res is not None and res.spec.fn is not None
    params = dict(res.name_params)
    strata = compact.y_true if kind == "clf" else np.zeros(len(compact.y_true), int)
    W = next(counted_weight_batches(strata, compact.weights, 5, 9))
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


@pytest.mark.parametrize("counts", [[1, 3, 2, 5, 1, 4], [10, 50, 40, 20, 15, 25]],
                         ids=["drawn by position", "drawn as a multinomial"])
def test_counted_rows_are_drawn_as_the_rows_they_stand_for_within_their_class(counts: list[int]) -> None:
    """A class of n rows whose counted rows have counts c: multiplicities Multinomial(n, c / n), class sizes fixed.

    Moments written here from the multinomial: mean n p_i, variance n p_i (1 - p_i), covariance -n p_i p_j;
    20,000 resamples. Both ways of drawing (by position below 8 rows per counted row on average, numpy's
    multinomial above) must have them.
    """
    from gatekit.stats.intervals import counted_weight_batches

    c = np.array(counts)
    strata = np.array([0, 1, 0, 1, 0, 1])  # two classes, interleaved
    W = np.concatenate(list(counted_weight_batches(strata, c, 20_000, 3)))
    assert W.shape == (20_000, 6)
    for k in (0, 1):
        cols = np.flatnonzero(strata == k)
        n, p = c[cols].sum(), c[cols] / c[cols].sum()
        assert (W[:, cols].sum(axis=1) == n).all()  # the class keeps its size in every resample
        assert W[:, cols].mean(axis=0) == pytest.approx(n * p, rel=0.02)
        assert W[:, cols].var(axis=0) == pytest.approx(n * p * (1 - p), rel=0.05)
        cov = np.cov(W[:, cols[0]], W[:, cols[1]])[0, 1]
        assert cov == pytest.approx(-n * p[0] * p[1], rel=0.1)
    assert abs(np.corrcoef(W[:, 0], W[:, 1])[0, 1]) < 0.03  # classes are drawn independently
    again = np.concatenate(list(counted_weight_batches(strata, c, 20_000, 3)))
    assert (again == W).all()  # seeded


def test_counted_rows_drawn_by_position_are_the_expanded_rows_own_draws() -> None:
    """Below 8 rows per counted row, the draws are the plain bootstrap's on the rows the counted rows stand for.

    The plain rows np.repeat(rows, counts) drawn by stratified_index_batches with the same seed, and their draws
    summed per counted row, give exactly the counted rows' multiplicities.
    """
    from gatekit.stats.intervals import counted_weight_batches, stratified_index_batches

    rng = np.random.default_rng(4)
    strata, counts = rng.integers(0, 2, 40), rng.integers(1, 6, 40)
    owner = np.repeat(np.arange(40), counts)
    want = np.array([np.bincount(owner[idx], minlength=40)
                     for block in stratified_index_batches(strata[owner], 300, 8) for idx in block])
    got = np.concatenate(list(counted_weight_batches(strata, counts, 300, 8, batch=256)))
    assert (got == want).all()
    plain = np.concatenate(list(weight_batches(strata, 300, 8, batch=256)))
    assert (np.concatenate(list(counted_weight_batches(strata, None, 300, 8, batch=256))) == plain).all()


# --------------------------------------------------------------------------------------------------
# 3. Counted rows in a canonical order (counted_rows): the same rows whatever engine produced them
# --------------------------------------------------------------------------------------------------


def _shuffled_compact(data: EvalData, seed: int) -> EvalData:
    """The rows of plain ``data`` as an engine could give them: some identical rows gathered (their count summed),
    others split over two rows, all in a shuffled order. Written with pandas, independently of counted_rows."""
    rng = np.random.default_rng(seed)
    n = len(data.y_true)
    frame = pd.DataFrame({"y": data.y_true, "c": data.y_score, "b": data.baseline.y_score})
    frame = pd.concat([frame, data.sensitive.add_prefix("s_")], axis=1)
    frame["w"] = 1
    half = rng.random(n) < 0.5
    gathered = frame[half].groupby(list(frame.columns[:-1]), sort=False)["w"].sum().reset_index()
    parts = pd.concat([gathered, frame[~half]], ignore_index=True)
    parts = parts.iloc[rng.permutation(len(parts))].reset_index(drop=True)
    sens = parts[[c for c in parts.columns if c.startswith("s_")]].rename(columns=lambda c: c[2:])
    out = EvalData(y_true=parts.y.to_numpy(), y_score=parts.c.to_numpy(), sensitive=sens, task=data.task,
                   sensitive_default=data.sensitive_default, weights=parts.w.to_numpy())
    out.baseline = EvalData(y_true=out.y_true, y_score=parts.b.to_numpy(), sensitive=sens, task=data.task,
                            sensitive_default=data.sensitive_default, weights=out.weights)
    return out


def test_counted_rows_are_the_same_from_plain_rows_and_from_any_compact_form_of_them() -> None:
    """Distinct rows sorted by target, candidate score, production score, then sensitive values; counts summed."""
    plain = _kernel_clf()
    want = (pd.DataFrame({"y": plain.y_true, "c": plain.y_score, "b": plain.baseline.y_score,
                          "g": plain.sensitive.g, "h": plain.sensitive.h})
            .groupby(["y", "c", "b", "g", "h"], sort=True).size().reset_index(name="w"))
    for data in (plain, _shuffled_compact(plain, 1), _shuffled_compact(plain, 2)):
        got = weighted_mod.counted_rows(data)
        assert got.weights.tolist() == want.w.tolist()
        assert got.y_true.tolist() == want.y.tolist() and got.y_score.tolist() == want.c.tolist()
        assert got.baseline.y_score.tolist() == want.b.tolist() and got.baseline.weights.tolist() == want.w.tolist()
        assert got.sensitive.g.tolist() == want.g.tolist() and got.sensitive.h.tolist() == want.h.tolist()
        assert weighted_mod.counted_rows(data) is got  # cached on the rows


def test_counted_rows_order_values_alike_whatever_their_dtype() -> None:
    """Numbers by value before text, missing values last: an int, float or nullable column orders alike."""
    y = np.array([1, 0, 1, 0, 1, 0])
    s = np.array([0.2, 0.2, 0.2, 0.2, 0.2, 0.2])
    frames = [pd.DataFrame({"g": [10, 2, None, 2, 10, 9]}),
              pd.DataFrame({"g": pd.array([10, 2, None, 2, 10, 9], dtype="Int64")}),
              pd.DataFrame({"g": [10.0, 2.0, np.nan, 2.0, 10.0, 9.0]})]
    got = []
    for f in frames:
        c = weighted_mod.counted_rows(EvalData(y_true=y, y_score=s, sensitive=f, task="classification"))
        got.append((c.y_true.tolist(), [None if pd.isna(v) else float(v) for v in c.sensitive.g], c.weights.tolist()))
    # rows (y, g): (1, 10) (0, 2) (1, -) (0, 2) (1, 10) (0, 9)
    assert got[0] == got[1] == got[2] == ([0, 0, 1, 1], [2.0, 9.0, 10.0, None], [2, 1, 2, 1])
    mixed = weighted_mod.counted_rows(EvalData(y_true=np.zeros(4, int), y_score=np.zeros(4), task="classification",
                                               sensitive=pd.DataFrame({"g": ["b", 3, None, "a"]})))
    assert mixed.sensitive.g.tolist()[:3] == [3, "a", "b"] and pd.isna(mixed.sensitive.g.iloc[3])


@pytest.mark.parametrize("name", sorted({*KERNEL_CASES, *FALLBACK_CASES, "r2", "mape", "wape"}))
def test_every_metric_on_counted_rows_equals_the_metric_on_the_plain_rows(name: str) -> None:
    """Gathering the rows changes no metric: each metric function on counted_rows equals it on the plain rows."""
    case = KERNEL_CASES.get(name)
    policy = case[0] if case else name
    res = REG.resolve(policy)
    assert res is not None and res.spec.fn is not None
    data = case[1] if case else (FALLBACK_CASES[name][0] if name in FALLBACK_CASES else REGR)
    params = {**res.name_params, **(case[2] if case else FALLBACK_CASES.get(name, (None, {}))[1])}
    counted = weighted_mod.counted_rows(data)
    assert int(counted.weights.sum()) == len(data.y_true)
    assert res.spec.fn(counted, **params).value == pytest.approx(res.spec.fn(data, **params).value, abs=1e-12)


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
    W = rng.multinomial(n, np.full(n, 1 / n), size=5)  # five resamples of the n rows
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
