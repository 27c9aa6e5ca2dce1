"""Baseline-relative rules, confidence-bound decisions, bootstrap weight kernels and their policy checks.

Every expected value is computed independently of the code under test: by hand (literal numbers), from
the documented formula written here, or by calling scikit-learn / fairlearn / scipy directly. Where an
interval is checked, it is recomputed with the public functions of :mod:`gatekit.stats.intervals` (themselves
tested against hand counts and a plain loop in ``test_stats.py``).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import sklearn.metrics as skm
import skops.io as sio
from fairlearn import metrics as flm
from scipy.stats import ks_2samp, norm
from sklearn.linear_model import LogisticRegression

import gatekit
from gatekit.api import merge_options
from gatekit.core.errors import NotComputable, PolicyError
from gatekit.core.results import Decision, GateReport, Status
from gatekit.data.loader import load_inputs
from gatekit.metrics import EvalData, default_registry
from gatekit.metrics import shadow as shadow_mod
from gatekit.metrics import weighted as weighted_mod
from gatekit.metrics.weighted import take, weighted_values
from gatekit.policy.loader import load_policy
from gatekit.policy.specs import MetricRule
from gatekit.sections.comparison import conditions, decide_interval
from gatekit.stats.intervals import (
    DEFAULT_RESAMPLES,
    DEFAULT_SEED,
    bootstrap_auc_difference,
    delong_difference,
    delong_variance,
    stratified_index_batches,
    weight_batches,
)
from tests.conftest import run_cli

REG = default_registry()


def sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


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
    "demographic_parity_difference": (
        "demographic_parity_difference", CLF, {},
        lambda y, c, b, s: flm.demographic_parity_difference(y, c >= 0.5, sensitive_features=s["g"])),
    "equal_opportunity_difference": (
        "equal_opportunity_difference", CLF, {"threshold": 0.55},
        lambda y, c, b, s: _eq_opportunity(y, (c >= 0.55).astype(int), s["g"].to_numpy())),
    "equalized_odds_difference": (
        "equalized_odds_difference", CLF, {"sensitive": ["h"]},
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
# 2. decide_interval: the truth table by hand
# --------------------------------------------------------------------------------------------------

D = 0.02
DROP = [(">=", -D)]
INCREASE = [("<=", D)]
WITHIN = [(">=", -D), ("<=", D)]

# conditions, low, high, guardband, passes, margin (worked out by hand from the module docstring:
# proven_harm reads the bound nearest the pass side, proven_safe the one nearest the fail side)
TABLE = [
    # max_drop d: change >= -d
    (DROP, 0.01, 0.05, "proven_harm", True, 0.07),      # entirely passing: high + d
    (DROP, 0.01, 0.05, "proven_safe", True, 0.03),      # low + d
    (DROP, -0.05, 0.01, "proven_harm", True, 0.03),     # straddles -d: not proven harm
    (DROP, -0.05, 0.01, "proven_safe", False, -0.03),   # straddles -d: not proven safe
    (DROP, -0.08, -0.03, "proven_harm", False, -0.01),  # entirely failing
    (DROP, -0.08, -0.03, "proven_safe", False, -0.06),
    # max_increase d: change <= d
    (INCREASE, -0.01, 0.01, "proven_harm", True, 0.03),  # d - low
    (INCREASE, -0.01, 0.01, "proven_safe", True, 0.01),  # d - high
    (INCREASE, 0.0, 0.05, "proven_harm", True, 0.02),
    (INCREASE, 0.0, 0.05, "proven_safe", False, -0.03),
    (INCREASE, 0.03, 0.06, "proven_harm", False, -0.01),
    (INCREASE, 0.03, 0.06, "proven_safe", False, -0.04),
    # within d: -d <= change <= d; the margin is the smaller of the two sides'
    (WITHIN, -0.01, 0.015, "proven_harm", True, 0.03),    # min(0.015 + d, d + 0.01)
    (WITHIN, -0.01, 0.015, "proven_safe", True, 0.005),   # min(-0.01 + d, d - 0.015)
    (WITHIN, -0.01, 0.05, "proven_harm", True, 0.03),     # straddles +d
    (WITHIN, -0.01, 0.05, "proven_safe", False, -0.03),
    (WITHIN, -0.05, 0.05, "proven_harm", True, 0.07),     # wider than the band on both sides
    (WITHIN, -0.05, 0.05, "proven_safe", False, -0.03),
    (WITHIN, 0.03, 0.06, "proven_harm", False, -0.01),    # entirely above
    (WITHIN, 0.03, 0.06, "proven_safe", False, -0.04),
    (WITHIN, -0.06, -0.03, "proven_harm", False, -0.01),  # entirely below
    (WITHIN, -0.06, -0.03, "proven_safe", False, -0.04),
    # absolute >= 0.8
    ([(">=", 0.8)], 0.82, 0.9, "proven_harm", True, 0.1),
    ([(">=", 0.8)], 0.82, 0.9, "proven_safe", True, 0.02),
    ([(">=", 0.8)], 0.75, 0.85, "proven_harm", True, 0.05),
    ([(">=", 0.8)], 0.75, 0.85, "proven_safe", False, -0.05),
    ([(">=", 0.8)], 0.7, 0.78, "proven_harm", False, -0.02),
    ([(">=", 0.8)], 0.7, 0.78, "proven_safe", False, -0.1),
    # absolute <= 0.1
    ([("<=", 0.1)], 0.02, 0.08, "proven_harm", True, 0.08),
    ([("<=", 0.1)], 0.02, 0.08, "proven_safe", True, 0.02),
    ([("<=", 0.1)], 0.05, 0.15, "proven_harm", True, 0.05),
    ([("<=", 0.1)], 0.05, 0.15, "proven_safe", False, -0.05),
    ([("<=", 0.1)], 0.12, 0.2, "proven_harm", False, -0.02),
    ([("<=", 0.1)], 0.12, 0.2, "proven_safe", False, -0.1),
    # a bound exactly on the limit: inclusive operators pass, strict ones fail
    ([(">=", 0.5)], 0.5, 0.75, "proven_safe", True, 0.0),
    ([(">", 0.5)], 0.5, 0.75, "proven_safe", False, 0.0),
    ([("<=", 0.5)], 0.25, 0.5, "proven_safe", True, 0.0),
    ([("<", 0.5)], 0.25, 0.5, "proven_safe", False, 0.0),
    ([("<", 0.5)], 0.5, 0.75, "proven_harm", False, 0.0),
]


@pytest.mark.parametrize(("conds", "low", "high", "guardband", "passes", "margin"), TABLE)
def test_decide_interval_truth_table(conds: list[tuple[str, float]], low: float, high: float, guardband: str,
                                     passes: bool, margin: float) -> None:
    got_pass, got_margin = decide_interval(low, high, conds, guardband)
    assert got_pass is passes
    assert got_margin == pytest.approx(margin, abs=1e-12)


@pytest.mark.parametrize(("rule", "expected"), [
    ({"max_drop": 0.01}, [(">=", -0.01)]),
    ({"max_drop_pct": 2.0}, [(">=", -2.0)]),
    ({"max_increase": 5.0}, [("<=", 5.0)]),
    ({"max_increase_pct": 3.0}, [("<=", 3.0)]),
    ({"within": 0.03}, [(">=", -0.03), ("<=", 0.03)]),
    ({"within_pct": 1.5}, [(">=", -1.5), ("<=", 1.5)]),
    ({"op": "<", "value": 0.2}, [("<", 0.2)]),
])
def test_conditions_of_each_rule_form(rule: dict[str, Any], expected: list[tuple[str, float]]) -> None:
    assert conditions(MetricRule(name="roc_auc", **rule)) == expected


# --------------------------------------------------------------------------------------------------
# 3. End to end through gatekit.run
# --------------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def holdout(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, pd.DataFrame]:
    """A holdout scored by a candidate (``cand``, better) and by production (``prod``), with a group column."""
    rng = np.random.default_rng(20)
    n = 400
    y = (rng.random(n) < 0.4).astype(int)
    g = rng.choice(["a", "b", "c"], n)
    cand = np.round(sigmoid(1.9 * y + rng.standard_normal(n) - 0.6), 4)
    prod = np.round(sigmoid(1.0 * y + 0.3 * (g == "a") + rng.standard_normal(n) - 0.5), 4)
    path = tmp_path_factory.mktemp("holdout") / "holdout.csv"
    pd.DataFrame({"y": y, "cand": cand, "prod": prod, "grp": g}).to_csv(path, index=False)
    return path, pd.read_csv(path)  # expected values from the values as read back


def _policy(path: Path, rules: list[dict[str, Any]], score: str = "cand", baseline: dict[str, Any] | None = None,
            strict: bool = True) -> dict[str, Any]:
    inputs: dict[str, Any] = {"data": str(path), "target": "y", "score": score, "sensitive": "grp"}
    if baseline is not None:
        inputs["baseline"] = baseline
    return {"version": 1, "strict": strict, "inputs": inputs, "metrics": rules}


def _only(report: GateReport) -> Any:
    assert len(report.checks) == 1, [c.name for c in report.checks]
    return report.checks[0]


METRIC_FNS = {
    "roc_auc": lambda f: skm.roc_auc_score(f.y, f.s),
    "accuracy": lambda f: skm.accuracy_score(f.y, f.s >= 0.5),
    "brier_score": lambda f: skm.brier_score_loss(f.y, f.s),
    "demographic_parity_difference": lambda f: flm.demographic_parity_difference(
        f.y, f.s >= 0.5, sensitive_features=f.grp),
    "precision_at_0_5": lambda f: skm.precision_score(f.y, f.s >= 0.5),
    "recall_at_0_4": lambda f: skm.recall_score(f.y, f.s >= 0.4),
    "f1_at_0_5": lambda f: skm.f1_score(f.y, f.s >= 0.5),
}

# rule, status with candidate=cand / baseline=prod, status the other way round
# (values: AUC 0.888 vs 0.805, accuracy 0.7825 vs 0.72, Brier 0.1531 vs 0.1829, parity difference 0.109 vs
# 0.131, precision 0.7018 vs 0.6650, recall@0.4 0.9553 vs 0.8771, F1 0.786 vs 0.707)
POINT_RULES = [
    ({"name": "roc_auc", "max_drop": 0.01}, "pass", "fail"),
    ({"name": "accuracy", "within": 0.05}, "fail", "fail"),
    ({"name": "f1_at_0_5", "within": 0.1}, "pass", "pass"),
    ({"name": "brier_score", "max_increase": 0.01}, "pass", "fail"),
    ({"name": "demographic_parity_difference", "max_increase": 0.01}, "pass", "fail"),
    ({"name": "precision_at_0_5", "max_drop_pct": 3}, "pass", "fail"),
    ({"name": "brier_score", "max_increase_pct": 5}, "pass", "fail"),
    ({"name": "recall_at_0_4", "within_pct": 8.5}, "fail", "pass"),
]


@pytest.mark.parametrize("swap", [False, True], ids=["cand_vs_prod", "prod_vs_cand"])
@pytest.mark.parametrize(("rule", "forward", "backward"), POINT_RULES,
                         ids=["-".join(f"{k}={x}" for k, x in r.items()) for r, _, _ in POINT_RULES])
def test_point_value_relative_rule(holdout: tuple[Path, pd.DataFrame], rule: dict[str, Any], forward: str,
                                   backward: str, swap: bool) -> None:
    path, frame = holdout
    c_col, b_col = ("prod", "cand") if swap else ("cand", "prod")
    report = gatekit.run(_policy(path, [rule], score=c_col, baseline={"score": b_col}))
    check = _only(report)
    fn = METRIC_FNS[rule["name"]]
    c = float(fn(frame.assign(s=frame[c_col])))
    b = float(fn(frame.assign(s=frame[b_col])))
    key, limit = next((k, v) for k, v in rule.items() if k != "name")
    stat = 100 * (c - b) / abs(b) if key.endswith("_pct") else c - b
    assert check.observed == pytest.approx(stat, abs=1e-12)
    cmp = check.details["comparison"]
    assert cmp["candidate"] == pytest.approx(c, abs=1e-12) and cmp["baseline"] == pytest.approx(b, abs=1e-12)
    assert cmp["change"] == pytest.approx(c - b, abs=1e-12)
    assert cmp["relative_change_pct"] == pytest.approx(100 * (c - b) / abs(b), abs=1e-9)
    assert check.details["decided_on"] == "point"
    # the documented conditions, written out here
    if key.startswith("max_drop"):
        holds, margin = stat >= -limit, stat + limit
    elif key.startswith("max_increase"):
        holds, margin = stat <= limit, limit - stat
    else:
        holds, margin = -limit <= stat <= limit, min(stat + limit, limit - stat)
    assert check.status == (Status.PASS if holds else Status.FAIL)
    assert check.status.value == (backward if swap else forward)  # both outcomes are exercised
    assert check.margin == pytest.approx(margin, abs=1e-9)
    assert report.decision == (Decision.PASS if holds else Decision.BLOCK)


@pytest.fixture(scope="module")
def parity_zero(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, pd.DataFrame]:
    """Production selects exactly 40 % of each group (parity difference exactly 0); the candidate does not."""
    rng = np.random.default_rng(8)
    g = np.repeat(["a", "b"], 100)
    prod = np.tile(np.r_[np.full(40, 0.8), np.full(60, 0.2)], 2)
    y = (rng.random(200) < 0.4).astype(int)
    cand = np.round(rng.random(200), 3)
    path = tmp_path_factory.mktemp("parity") / "parity.csv"
    pd.DataFrame({"y": y, "cand": cand, "prod": prod, "grp": g}).to_csv(path, index=False)
    return path, pd.read_csv(path)


def test_percent_rule_on_a_zero_baseline_is_not_computable_and_blocks(parity_zero: tuple[Path, pd.DataFrame]) -> None:
    path, frame = parity_zero
    assert flm.demographic_parity_difference(frame.y, frame["prod"] >= 0.5, sensitive_features=frame.grp) == 0.0
    rule = {"name": "demographic_parity_difference", "max_increase_pct": 10}
    report = gatekit.run(_policy(path, [rule], baseline={"score": "prod"}))
    check = _only(report)
    assert check.status == Status.NOT_COMPUTABLE
    assert "baseline is 0" in check.message
    assert check.details["comparison"]["baseline"] == 0.0
    assert check.details["comparison"]["relative_change_pct"] is None
    assert report.decision == Decision.BLOCK
    # not strict: the rule still is not a pass, so the run warns
    lenient = gatekit.run(_policy(path, [rule], baseline={"score": "prod"}, strict=False))
    assert _only(lenient).status == Status.NOT_COMPUTABLE and lenient.decision == Decision.WARN
    # the absolute form of the same rule is defined: change = candidate - 0
    absolute = _only(gatekit.run(_policy(path, [{"name": "demographic_parity_difference", "max_increase": 0.5}],
                                         baseline={"score": "prod"})))
    dp_c = flm.demographic_parity_difference(frame.y, frame.cand >= 0.5, sensitive_features=frame.grp)
    assert absolute.status == Status.PASS and absolute.observed == pytest.approx(dp_c, abs=1e-12)


def test_relative_rule_without_a_baseline_is_not_computable(holdout: tuple[Path, pd.DataFrame]) -> None:
    path, _ = holdout
    report = gatekit.run(_policy(path, [{"name": "roc_auc", "max_drop": 0.01}]))
    check = _only(report)
    assert check.status == Status.NOT_COMPUTABLE
    assert "baseline" in check.message
    assert report.decision == Decision.BLOCK
    assert gatekit.run(_policy(path, [{"name": "roc_auc", "max_drop": 0.01}], strict=False)).decision == Decision.WARN


@pytest.mark.parametrize(("extra", "resamples", "seed"), [({}, DEFAULT_RESAMPLES, DEFAULT_SEED),
                                                          ({"resamples": 500, "seed": 7}, 500, 7)])
def test_bootstrap_interval_equals_bootstrap_auc_difference(holdout: tuple[Path, pd.DataFrame], extra: dict[str, Any],
                                                            resamples: int, seed: int) -> None:
    path, frame = holdout
    rule = {"name": "roc_auc", "max_drop": 0.01, "confidence": 0.95, **extra}
    check = _only(gatekit.run(_policy(path, [rule], baseline={"score": "prod"})))
    ref = bootstrap_auc_difference(frame.y, frame.cand, frame["prod"], 0.95, resamples, seed)
    iv = check.details["interval"]
    assert (iv["low"], iv["high"]) == pytest.approx((ref.low, ref.high), abs=1e-12)
    assert check.observed == pytest.approx(skm.roc_auc_score(frame.y, frame.cand)
                                           - skm.roc_auc_score(frame.y, frame["prod"]), abs=1e-12)
    assert iv["seed"] == seed and iv["resamples"] == resamples and iv["paired"] is True
    assert iv["method"] == "bootstrap_percentile" and iv["confidence"] == 0.95
    assert check.details["decided_on"] == "interval" and check.details["guardband"] == "proven_harm"
    assert check.status == (Status.PASS if ref.high >= -0.01 else Status.FAIL)
    assert check.margin == pytest.approx(ref.high + 0.01, abs=1e-12)


def test_bootstrap_interval_of_the_worse_model_under_both_guardbands(holdout: tuple[Path, pd.DataFrame]) -> None:
    # production scored as the candidate: the change is about -0.083 (worse); limit drop at most 0.05
    path, frame = holdout
    ref = bootstrap_auc_difference(frame.y, frame["prod"], frame.cand, 0.95, 1000, 3)
    assert ref.low < -0.05 < ref.high  # the interval straddles the limit: the guardband decides
    for guardband, status in (("proven_harm", Status.PASS), ("proven_safe", Status.FAIL)):
        rule = {"name": "roc_auc", "max_drop": 0.05, "confidence": 0.95, "resamples": 1000, "seed": 3,
                "guardband": guardband}
        check = _only(gatekit.run(_policy(path, [rule], score="prod", baseline={"score": "cand"})))
        assert (check.details["interval"]["low"], check.details["interval"]["high"]) == pytest.approx(
            (ref.low, ref.high), abs=1e-12)
        assert check.status == status, check.message
        assert check.details["guardband"] == guardband


def test_delong_interval_equals_delong_difference(holdout: tuple[Path, pd.DataFrame]) -> None:
    path, frame = holdout
    rule = {"name": "roc_auc", "max_drop": 0.01, "confidence": 0.9, "interval": "delong"}
    check = _only(gatekit.run(_policy(path, [rule], baseline={"score": "prod"})))
    ref = delong_difference(frame.y, frame.cand, frame["prod"], 0.9)
    iv = check.details["interval"]
    assert iv["method"] == "delong" and iv["paired"] is True
    assert (iv["low"], iv["high"]) == pytest.approx((ref.low, ref.high), abs=1e-12)
    assert iv["se"] == pytest.approx(ref.details["se"], abs=1e-15)
    assert "resamples" not in iv and "seed" not in iv
    assert check.status == (Status.PASS if ref.high >= -0.01 else Status.FAIL)


def test_delong_interval_of_one_auc(holdout: tuple[Path, pd.DataFrame]) -> None:
    path, frame = holdout
    auc = skm.roc_auc_score(frame.y, frame.cand)
    half = norm.ppf(0.975) * np.sqrt(delong_variance(frame.y, frame.cand))
    rule = {"name": "roc_auc", "op": ">=", "value": 0.86, "confidence": 0.95, "interval": "delong"}
    check = _only(gatekit.run(_policy(path, [rule])))
    iv = check.details["interval"]
    assert (iv["low"], iv["high"]) == pytest.approx((auc - half, auc + half), abs=1e-12)
    assert check.status == (Status.PASS if auc - half >= 0.86 else Status.FAIL)


def test_absolute_rule_with_confidence_passes_only_if_the_lower_bound_does(holdout: tuple[Path, pd.DataFrame]) -> None:
    path, frame = holdout
    auc = skm.roc_auc_score(frame.y, frame.cand)
    ref = bootstrap_auc_difference(frame.y, frame.cand, None, 0.95, DEFAULT_RESAMPLES, DEFAULT_SEED)
    between = (ref.low + auc) / 2  # the point value passes >= between; the lower bound does not
    assert ref.low < between < auc

    def run(value: float, **extra: Any) -> Any:
        rule = {"name": "roc_auc", "op": ">=", "value": value, "confidence": 0.95, **extra}
        return _only(gatekit.run(_policy(path, [rule])))

    point = _only(gatekit.run(_policy(path, [{"name": "roc_auc", "op": ">=", "value": between}])))
    assert point.status == Status.PASS  # without confidence it passes
    check = run(between)
    assert (check.details["interval"]["low"], check.details["interval"]["high"]) == pytest.approx(
        (ref.low, ref.high), abs=1e-12)
    assert check.observed == pytest.approx(auc, abs=1e-12)
    assert check.status == Status.FAIL and check.details["guardband"] == "proven_safe"
    assert check.margin == pytest.approx(ref.low - between, abs=1e-12)
    assert "point value alone would pass" in check.message
    assert run(ref.low - 0.002).status == Status.PASS
    assert run(between, guardband="proven_harm").status == Status.PASS  # high >= value


def test_interval_with_a_baseline_from_a_metrics_file_takes_it_as_fixed(holdout: tuple[Path, pd.DataFrame],
                                                                       tmp_path: Path) -> None:
    path, frame = holdout
    base_file = tmp_path / "prod_metrics.json"
    base_file.write_text(json.dumps({"auc_roc": 0.86}), encoding="utf-8")
    rule = {"name": "roc_auc", "max_drop": 0.0, "confidence": 0.95, "resamples": 400, "seed": 9}
    check = _only(gatekit.run(_policy(path, [rule], baseline={"metrics": str(base_file)})))
    ref = bootstrap_auc_difference(frame.y, frame.cand, None, 0.95, 400, 9)
    iv = check.details["interval"]
    assert (iv["low"], iv["high"]) == pytest.approx((ref.low - 0.86, ref.high - 0.86), abs=1e-12)
    assert check.observed == pytest.approx(skm.roc_auc_score(frame.y, frame.cand) - 0.86, abs=1e-12)
    assert check.details["comparison"]["baseline_source"] == "metrics_file"
    assert iv["paired"] is False


@pytest.mark.parametrize(("candidate_ms", "status", "margin"), [(50.0, Status.PASS, 5.0), (60.0, Status.FAIL, -5.0),
                                                                (55.0, Status.PASS, 0.0)])
def test_latency_from_metrics_files(tmp_path: Path, candidate_ms: float, status: Status, margin: float) -> None:
    cand_file, base_file = tmp_path / "cand.json", tmp_path / "prod.json"
    cand_file.write_text(json.dumps({"latency_p95_ms": candidate_ms}), encoding="utf-8")
    base_file.write_text(json.dumps({"latency_p95_ms": 35.0}), encoding="utf-8")
    policy = {"version": 1, "inputs": {"metrics": str(cand_file), "baseline": {"metrics": str(base_file)}},
              "metrics": [{"name": "latency_p95_ms", "max_increase": 20}]}
    report = gatekit.run(policy)
    check = _only(report)
    assert check.status == status
    assert check.observed == pytest.approx(candidate_ms - 35.0)
    assert check.margin == pytest.approx(margin)
    assert check.details["comparison"]["baseline"] == 35.0
    assert check.source == "metrics_file"
    assert report.decision == (Decision.PASS if status == Status.PASS else Decision.BLOCK)


def test_latency_rule_with_confidence_is_refused_at_load(tmp_path: Path) -> None:
    cand_file, base_file = tmp_path / "cand.json", tmp_path / "prod.json"
    cand_file.write_text(json.dumps({"latency_p95_ms": 40.0}), encoding="utf-8")
    base_file.write_text(json.dumps({"latency_p95_ms": 35.0}), encoding="utf-8")
    policy = {"version": 1, "inputs": {"metrics": str(cand_file), "baseline": {"metrics": str(base_file)}},
              "metrics": [{"name": "latency_p95_ms", "max_increase": 20, "confidence": 0.95}]}
    with pytest.raises(PolicyError, match="metrics file"):
        gatekit.run(policy)


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


def test_percent_rule_interval_is_the_paired_bootstrap_of_the_relative_change(
        holdout: tuple[Path, pd.DataFrame]) -> None:
    path, frame = holdout
    rule = {"name": "precision_at_0_5", "max_drop_pct": 3, "confidence": 0.9, "resamples": 300, "seed": 21}
    check = _only(gatekit.run(_policy(path, [rule], baseline={"score": "prod"})))
    y = frame.y.to_numpy().astype(bool)
    pc, pb = (frame.cand >= 0.5).to_numpy(), (frame["prod"] >= 0.5).to_numpy()

    def precision(pred: np.ndarray, idx: np.ndarray) -> float:
        return (y[idx] & pred[idx]).sum() / pred[idx].sum()

    # the same rows for both models in each resample, drawn within each class
    values = [100 * (precision(pc, idx) - precision(pb, idx)) / precision(pb, idx)
              for block in stratified_index_batches(y.astype(int), 300, 21) for idx in block]
    low, high = np.quantile(values, [0.05, 0.95])
    iv = check.details["interval"]
    assert (iv["low"], iv["high"]) == pytest.approx((low, high), abs=1e-9)
    assert check.details["comparison"]["statistic"] == "relative_change_pct"
    assert check.status == (Status.PASS if high >= -3 else Status.FAIL)


@pytest.fixture(scope="module")
def forecasts(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, pd.DataFrame]:
    rng = np.random.default_rng(41)
    y = np.round(rng.normal(100, 15, 300), 2)
    path = tmp_path_factory.mktemp("forecast") / "forecast.csv"
    pd.DataFrame({"y": y, "cand": np.round(y + rng.normal(1, 6, 300), 2),
                  "prod": np.round(y + rng.normal(0, 8, 300), 2)}).to_csv(path, index=False)
    return path, pd.read_csv(path)


def test_regression_relative_rules_and_their_paired_interval(forecasts: tuple[Path, pd.DataFrame]) -> None:
    path, f = forecasts
    rules = [{"name": "mae", "max_increase": 0.5, "confidence": 0.95, "resamples": 400, "seed": 8},
             {"name": "rmse", "max_increase_pct": 1}]
    policy = {"version": 1, "inputs": {"data": str(path), "target": "y", "prediction": "cand", "task": "regression",
                                       "baseline": {"prediction": "prod"}}, "metrics": rules}
    checks = {c.metric: c for c in gatekit.run(policy).checks}
    y, c, b = f.y.to_numpy(), f.cand.to_numpy(), f["prod"].to_numpy()
    mae = checks["mae"]
    assert mae.observed == pytest.approx(skm.mean_absolute_error(y, c) - skm.mean_absolute_error(y, b), abs=1e-12)
    # one stratum (a numeric target), the same rows for both forecasts
    values = [np.mean(np.abs(y[i] - c[i])) - np.mean(np.abs(y[i] - b[i]))
              for block in stratified_index_batches(np.zeros(len(y), int), 400, 8) for i in block]
    low, high = np.quantile(values, [0.025, 0.975])
    assert (mae.details["interval"]["low"], mae.details["interval"]["high"]) == pytest.approx((low, high), abs=1e-9)
    assert mae.details["interval"]["stratified"] is False
    assert mae.status == (Status.PASS if low <= 0.5 else Status.FAIL)
    rc, rb = np.sqrt(skm.mean_squared_error(y, c)), np.sqrt(skm.mean_squared_error(y, b))
    assert checks["rmse"].observed == pytest.approx(100 * (rc - rb) / rb, abs=1e-9)
    assert checks["rmse"].status == (Status.PASS if 100 * (rc - rb) / rb <= 1 else Status.FAIL)


def test_relative_change_divides_by_the_absolute_baseline(tmp_path: Path) -> None:
    # production's forecast is worse than the mean (R2 < 0); the candidate's is good: 100 (c - b) / |b| > 0
    rng = np.random.default_rng(43)
    y = np.round(rng.normal(0, 1, 200), 3)
    path = tmp_path / "r2.csv"
    pd.DataFrame({"y": y, "cand": np.round(y + rng.normal(0, 0.5, 200), 3),
                  "prod": np.round(-0.5 * y + rng.normal(0, 0.5, 200), 3)}).to_csv(path, index=False)
    f = pd.read_csv(path)
    c, b = skm.r2_score(f.y, f.cand), skm.r2_score(f.y, f["prod"])
    assert b < 0 < c
    policy = {"version": 1, "inputs": {"data": str(path), "target": "y", "prediction": "cand", "task": "regression",
                                       "baseline": {"prediction": "prod"}},
              "metrics": [{"name": "r2", "max_drop_pct": 0}]}
    check = _only(gatekit.run(policy))
    assert check.observed == pytest.approx(100 * (c - b) / abs(b), abs=1e-9)
    assert check.observed > 0 and check.status == Status.PASS


def test_baseline_flags_of_the_cli(holdout: tuple[Path, pd.DataFrame], tmp_path: Path) -> None:
    path, _ = holdout
    (tmp_path / "policy.yaml").write_text("version: 1\nmetrics:\n  - name: roc_auc\n    max_drop: 0.01\n",
                                          encoding="utf-8")
    common = ["run", "policy.yaml", "--data", str(path), "--target", "y", "-q"]
    ok = run_cli(*common, "--score", "cand", "--baseline-score", "prod", "--out", "a", cwd=tmp_path)
    worse = run_cli(*common, "--score", "prod", "--baseline-score", "cand", "--out", "b", cwd=tmp_path)
    both = run_cli(*common, "--score", "cand", "--baseline-score", "prod", "--baseline-model", "m.skops",
                   "--out", "c", cwd=tmp_path)
    assert (ok.returncode, worse.returncode, both.returncode) == (0, 1, 2), (ok.stderr, worse.stderr, both.stderr)
    assert "only one of --baseline-score" in both.stderr
    report = json.loads((tmp_path / "b" / "gate_report.json").read_text(encoding="utf-8"))
    assert report["decision"] == "block" and report["checks"][0]["status"] == "fail"


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


# --------------------------------------------------------------------------------------------------
# 6. Policy validation
# --------------------------------------------------------------------------------------------------

CANARY = {"data": "log.csv", "target": "y", "score": "s"}

INVALID = [
    ({"metrics": [{"name": "roc_auc", "op": ">=", "value": 0.8, "max_drop": 0.01}]}, "metrics[0]",
     ["either absolute", "not both", "max_drop"]),
    ({"metrics": [{"name": "roc_auc"}]}, "metrics[0]", ["op and value", "max_drop"]),
    ({"metrics": [{"name": "roc_auc", "max_drop": 0.01, "within": 0.02}]}, "metrics[0]",
     ["max_drop, within", "not several"]),
    ({"metrics": [{"name": "roc_auc", "max_drop": 0.01, "guardband": "proven_safe"}]}, "metrics[0]",
     ["guardband", "confidence"]),
    ({"metrics": [{"name": "roc_auc", "max_drop": 0.01, "seed": 4}]}, "metrics[0]", ["seed", "confidence"]),
    ({"metrics": [{"name": "precision_at_0_5", "max_drop": 0.01, "confidence": 0.95, "interval": "delong"}]},
     "metrics[0]", ["delong", "ROC AUC", "precision_at_0_5", "bootstrap"]),
    ({"metrics": [{"name": "roc_auc", "max_drop_pct": 1, "confidence": 0.95, "interval": "delong"}]},
     "metrics[0]", ["delong", "percent", "bootstrap"]),
    ({"metrics": [{"name": "roc_auc", "max_drop": 0.01, "confidence": 0.95, "interval": "delong",
                   "resamples": 500}]}, "metrics[0]", ["resamples and seed", "delong"]),
    ({"metrics": [{"name": "roc_auc", "op": "==", "value": 0.8, "confidence": 0.95}]}, "metrics[0]",
     ["one-sided", "=="]),
    ({"canary": {**CANARY, "rules": [{"name": "roc_auc", "op": ">=", "value": 0.8}]}}, "canary",
     ["compare the two arms", "max_drop", "roc_auc"]),
    ({"canary": {**CANARY, "rules": [{"name": "roc_auc", "max_drop": 0.01, "confidence": 0.95,
                                      "interval": "delong"}]}}, "canary", ["different rows", "bootstrap"]),
    ({"canary": {**CANARY, "prediction": "p", "rules": [{"name": "roc_auc", "max_drop": 0.01}]}}, "canary",
     ["one of canary score and prediction"]),
    ({"canary": {**CANARY, "candidate_arm": "a", "baseline_arm": "a", "rules": [{"name": "roc_auc",
                                                                                 "max_drop": 0.01}]}},
     "canary", ["must differ"]),
    ({"inputs": {"data": "d.csv", "target": "y", "score": "s", "baseline": {"score": "p", "model": "m.skops"}},
      "metrics": [{"name": "roc_auc", "max_drop": 0.01}]}, "inputs.baseline", ["score and model"]),
    ({"inputs": {"data": "d.csv", "target": "y", "score": "s", "baseline": {}},
      "metrics": [{"name": "roc_auc", "max_drop": 0.01}]}, "inputs.baseline", ["score, prediction, model or metrics"]),
    ({"metrics": [{"name": "roc_auc", "max_drop": 0.01, "confidence": 1.0}]}, "metrics[0].confidence",
     ["less than 1"]),
    ({"metrics": [{"name": "roc_auc", "max_drop": 0.01, "confidence": 0.3}]}, "metrics[0].confidence",
     ["greater than 0.5"]),
    ({"metrics": [{"name": "roc_auc", "max_drop": 0.01, "confidence": 0.95, "resamples": 100}]},
     "metrics[0].resamples", ["200"]),
    ({"metrics": [{"name": "roc_auc", "max_drop": -0.01}]}, "metrics[0].max_drop", ["greater than or equal to 0"]),
    ({"metrics": [{"name": "roc_auc", "max_drop": 0.01, "confidence": 0.95, "guardband": "proven"}]},
     "metrics[0].guardband", ["proven_harm", "proven_safe"]),
]


@pytest.mark.parametrize(("body", "key", "fragments"), INVALID, ids=[f"case{i}" for i in range(len(INVALID))])
def test_invalid_rules_are_refused_with_a_useful_message(body: dict[str, Any], key: str, fragments: list[str]) -> None:
    with pytest.raises(PolicyError) as err:
        load_policy({"version": 1, **body})
    problems = err.value.problems
    assert len(problems) == 1, [str(p) for p in problems]
    assert problems[0].key == key
    for fragment in fragments:
        assert fragment in problems[0].message, problems[0].message


def test_duplicate_relative_rules_are_refused() -> None:
    with pytest.raises(PolicyError, match="duplicate rule"):
        load_policy({"version": 1, "metrics": [{"name": "auc_roc", "max_drop": 0.01},
                                               {"name": "roc_auc", "max_drop": 0.02}]})


def test_valid_relative_rules_load() -> None:
    lp = load_policy({"version": 1, "metrics": [
        {"name": "roc_auc", "max_drop": 0.01, "confidence": 0.95, "interval": "delong", "guardband": "proven_safe"},
        {"name": "roc_auc", "op": ">=", "value": 0.8, "confidence": 0.9, "resamples": 200, "seed": 0},
        {"name": "brier_score", "max_increase_pct": 5, "confidence": 0.99},
        {"name": "latency_p95_ms", "max_increase": 20},
    ], "canary": {**CANARY, "rules": [{"name": "auc_roc", "within_pct": 2, "confidence": 0.95}]}})
    assert [r.relative for r in lp.policy.metrics] == [("max_drop", 0.01), None, ("max_increase_pct", 5.0),
                                                       ("max_increase", 20.0)]
    assert lp.policy.metrics[0].check_name == "roc_auc vs baseline"
    assert lp.canary_resolved[0].spec.name == "roc_auc"
