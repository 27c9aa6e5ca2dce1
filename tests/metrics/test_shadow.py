"""Tests of :mod:`gatekit.metrics.shadow`: the candidate and the production model compared row by row.

Expected values are computed independently of the code under test: by hand, from the documented
formula written here, or by calling scikit-learn, fairlearn, numpy or scipy directly.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from scipy.stats import ks_2samp

import gatekit
from gatekit.core.results import Decision, GateReport, Status
from gatekit.stats.intervals import stratified_index_batches
from tests.helpers import _only

# --------------------------------------------------------------------------------------------------
# Shadow metrics
# --------------------------------------------------------------------------------------------------


# ten rows worked by hand; labels at 0.5: candidate 1 0 1 1 0 0 1 0 1 0, production 1 0 0 1 0 0 1 0 1 1
HAND = pd.DataFrame({
    "y": [1, 0, 1, 0, 1, 0, 1, 0, 1, 0],
    "cand": [0.9, 0.2, 0.6, 0.55, 0.4, 0.1, 0.8, 0.3, 0.7, 0.45],
    "prod": [0.8, 0.3, 0.4, 0.6, 0.45, 0.1, 0.7, 0.35, 0.95, 0.5],
})
SHADOW = ("prediction_agreement_rate", "mean_score_difference", "abs_score_difference_p95", "score_distribution_ks")


def shadow_policy(path: Path, baseline: dict[str, Any] | None = None, rules: list[dict[str, Any]] | None = None,
                  **inputs: Any) -> dict[str, Any]:
    spec: dict[str, Any] = {"data": str(path), "target": "y", "score": "cand", **inputs}
    if baseline is not None:
        spec["baseline"] = baseline
    return {"version": 1, "inputs": spec,
            "metrics": rules or [{"name": n, "op": ">=", "value": -1.0} for n in SHADOW]}


def _by_name(report: GateReport) -> dict[str, Any]:
    return {c.name: c for c in report.checks}


def test_shadow_metrics_by_hand(tmp_path: Path) -> None:
    path = tmp_path / "hand.csv"
    HAND.to_csv(path, index=False)
    checks = _by_name(gatekit.run(shadow_policy(path, {"score": "prod"})))
    assert {c.section for c in checks.values()} == {"rollout"}
    # rows 2 (0.6 vs 0.4) and 9 (0.45 vs 0.5, production's 0.5 is >= 0.5) disagree: 8 of 10 agree
    agree = checks["prediction_agreement_rate"]
    assert agree.observed == pytest.approx(0.8)
    assert agree.details["candidate_positive_production_negative"] == 1
    assert agree.details["candidate_negative_production_positive"] == 1
    # c - b = .1 -.1 .2 -.05 -.05 0 .1 -.05 -.25 -.05: sum -0.15
    assert checks["mean_score_difference"].observed == pytest.approx(-0.015)
    # |c - b| sorted: 0 .05 .05 .05 .05 .1 .1 .1 .2 .25; linear p95 at position 0.95 * 9 = 8.55:
    # 0.2 + 0.55 * (0.25 - 0.2) = 0.2275
    assert checks["abs_score_difference_p95"].observed == pytest.approx(0.2275)
    # empirical CDFs: the candidate leads by 1/10 at 0.2 and 0.3, production by 1/10 at 0.5, the candidate
    # by 1/10 at 0.9; they never differ by more
    assert checks["score_distribution_ks"].observed == pytest.approx(0.1)


@pytest.fixture(scope="module")
def scored(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, pd.DataFrame]:
    rng = np.random.default_rng(30)
    n = 500
    y = (rng.random(n) < 0.4).astype(int)
    z = rng.standard_normal(n)
    cand = np.round(1 / (1 + np.exp(-(1.5 * y + z - 0.6))), 4)
    prod = np.round(1 / (1 + np.exp(-(1.2 * y + 0.8 * z + 0.4 * rng.standard_normal(n) - 0.4))), 4)
    path = tmp_path_factory.mktemp("shadow") / "scored.csv"
    pd.DataFrame({"y": y, "cand": cand, "prod": prod}).to_csv(path, index=False)
    return path, pd.read_csv(path)


def test_shadow_metrics_against_numpy_and_scipy(scored: tuple[Path, pd.DataFrame]) -> None:
    path, f = scored
    c, b = f.cand.to_numpy(), f["prod"].to_numpy()
    checks = _by_name(gatekit.run(shadow_policy(path, {"score": "prod"})))
    assert checks["prediction_agreement_rate"].observed == pytest.approx(np.mean((c >= 0.5) == (b >= 0.5)), abs=1e-12)
    assert checks["mean_score_difference"].observed == pytest.approx(np.mean(c - b), abs=1e-12)
    assert checks["abs_score_difference_p95"].observed == pytest.approx(
        np.quantile(np.abs(c - b), 0.95, method="linear"), abs=1e-12)
    ks = ks_2samp(c, b)
    assert checks["score_distribution_ks"].observed == pytest.approx(ks.statistic, abs=1e-12)
    assert checks["score_distribution_ks"].details["p_value"] == pytest.approx(ks.pvalue, rel=1e-9)
    # the threshold parameter applies to both models' scores
    t = _by_name(gatekit.run(shadow_policy(path, {"score": "prod"}, rules=[
        {"name": "prediction_agreement_rate", "op": ">=", "value": 0.5, "params": {"threshold": 0.3}}])))
    assert t["prediction_agreement_rate"].observed == pytest.approx(np.mean((c >= 0.3) == (b >= 0.3)), abs=1e-12)


def test_shadow_agreement_with_a_baseline_prediction_column(scored: tuple[Path, pd.DataFrame], tmp_path: Path) -> None:
    _, f = scored
    path = tmp_path / "labels.csv"
    f.assign(prod_label=(f["prod"] >= 0.5).astype(int)).to_csv(path, index=False)
    report = gatekit.run(shadow_policy(path, {"prediction": "prod_label"}, rules=[
        {"name": "prediction_agreement_rate", "op": ">=", "value": 0.5},
        {"name": "mean_score_difference", "op": "<=", "value": 1.0}]))
    checks = _by_name(report)
    assert checks["prediction_agreement_rate"].observed == pytest.approx(
        np.mean((f.cand >= 0.5) == (f["prod"] >= 0.5)), abs=1e-12)
    assert checks["mean_score_difference"].status == Status.NOT_COMPUTABLE  # labels have no score to compare


def test_shadow_metrics_without_a_baseline_are_not_computable(scored: tuple[Path, pd.DataFrame]) -> None:
    path, _ = scored
    report = gatekit.run(shadow_policy(path))
    assert {c.name: c.status for c in report.checks} == dict.fromkeys(SHADOW, Status.NOT_COMPUTABLE)
    assert all("production model" in c.message for c in report.checks)
    assert report.decision == Decision.BLOCK


def test_agreement_rule_with_confidence_has_a_bootstrap_interval(scored: tuple[Path, pd.DataFrame]) -> None:
    path, f = scored
    f = f.sort_values(["y", "cand", "prod"], kind="mergesort")  # the order an interval resamples the rows in
    y = f.y.to_numpy()
    agree = ((f.cand >= 0.5) == (f["prod"] >= 0.5)).to_numpy().astype(float)
    rule = {"name": "prediction_agreement_rate", "op": ">=", "value": 0.8, "confidence": 0.9, "resamples": 600,
            "seed": 3}
    check = _only(gatekit.run(shadow_policy(path, {"score": "prod"}, rules=[rule])))
    # the rows' agreement on each stratified resample, by a plain loop over the same draws
    values = [agree[idx].mean() for block in stratified_index_batches(y, 600, 3) for idx in block]
    low, high = np.quantile(values, [0.05, 0.95])
    iv = check.details["interval"]
    assert (iv["low"], iv["high"]) == pytest.approx((low, high), abs=1e-12)
    assert iv["low"] < agree.mean() < iv["high"]
    assert check.observed == pytest.approx(agree.mean(), abs=1e-12)
    assert check.status == (Status.PASS if low >= 0.8 else Status.FAIL)


def test_agreement_of_a_regression_is_not_computable(tmp_path: Path) -> None:
    rng = np.random.default_rng(4)
    y = rng.normal(10, 2, 50)
    path = tmp_path / "reg.csv"
    pd.DataFrame({"y": y, "cand": y + rng.normal(0, 1, 50), "prod": y + rng.normal(0, 1, 50)}).to_csv(path,
                                                                                                      index=False)
    f = pd.read_csv(path)
    checks = _by_name(gatekit.run(shadow_policy(path, {"score": "prod"}, rules=[
        {"name": "prediction_agreement_rate", "op": ">=", "value": 0.5},
        {"name": "abs_score_difference_p95", "op": "<=", "value": 10.0}])))
    assert checks["prediction_agreement_rate"].status == Status.NOT_COMPUTABLE
    assert checks["abs_score_difference_p95"].observed == pytest.approx(
        np.quantile(np.abs(f.cand - f["prod"]), 0.95), abs=1e-12)


def test_shadow_metrics_need_no_target(scored: tuple[Path, pd.DataFrame]) -> None:
    path, f = scored
    f = f.sort_values(["cand", "prod"], kind="mergesort")  # no target: the rows ordered by the two models' scores
    agree = ((f.cand >= 0.5) == (f["prod"] >= 0.5)).to_numpy().astype(float)
    policy = {"version": 1, "inputs": {"data": str(path), "score": "cand", "baseline": {"score": "prod"}},
              "metrics": [{"name": "prediction_agreement_rate", "op": ">=", "value": 0.5, "confidence": 0.95,
                           "resamples": 400, "seed": 2},
                          {"name": "mean_score_difference", "op": "<=", "value": 1.0},
                          {"name": "roc_auc", "op": ">=", "value": 0.5, "on_fail": "warn"}]}
    report = gatekit.run(policy)
    checks = _by_name(report)
    check = checks["prediction_agreement_rate"]
    assert check.observed == pytest.approx(agree.mean(), abs=1e-12)
    # without outcomes the rows form one stratum
    values = [agree[idx].mean() for block in stratified_index_batches(np.zeros(len(f), int), 400, 2) for idx in block]
    low, high = np.quantile(values, [0.025, 0.975])
    iv = check.details["interval"]
    assert (iv["low"], iv["high"]) == pytest.approx((low, high), abs=1e-12)
    assert iv["stratified"] is False
    assert checks["mean_score_difference"].observed == pytest.approx(np.mean(f.cand - f["prod"]), abs=1e-12)
    assert checks["roc_auc"].status == Status.NOT_COMPUTABLE  # needs the outcomes
    assert report.decision == Decision.WARN


def test_shadow_score_metrics_refuse_scores_outside_probabilities(tmp_path: Path) -> None:
    pd.DataFrame({"y": [0, 1] * 20, "c": [0.2, 0.8] * 20, "b": [20.0, 80.0] * 20}).to_csv(tmp_path / "d.csv",
                                                                                      index=False)
    policy = {"version": 1, "inputs": {"data": str(tmp_path / "d.csv"), "target": "y", "score": "c",
                                       "baseline": {"score": "b"}},
              "metrics": [{"name": "mean_score_difference", "op": "<=", "value": 0.1}]}
    check = gatekit.run(policy).checks[0]
    assert check.status == Status.NOT_COMPUTABLE and "percent" in check.message


# --------------------------------------------------------------------------------------------------
# Compact rows: the weighted percentile and KS equal numpy's and scipy's on the expanded rows
# --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("seed", range(6))
def test_weighted_quantile_equals_numpy_on_the_expanded_values(seed: int) -> None:
    from gatekit.metrics.shadow import weighted_quantile

    rng = np.random.default_rng(seed)
    n = int(rng.integers(1, 40))
    values = np.round(rng.random(n), 1)  # ties
    counts = rng.integers(0 if seed % 2 else 1, 7, n)
    if counts.sum() == 0:
        counts[0] = 1
    expanded = np.repeat(values, counts)
    for q in (0.0, 0.01, 0.05, 0.25, 0.5, 0.9, 0.95, 0.99, 1.0, 1 / 3):
        assert weighted_quantile(values, counts, q) == pytest.approx(np.quantile(expanded, q), abs=1e-12), q
    assert weighted_quantile(values, counts, 0.5) == pytest.approx(np.median(expanded), abs=1e-12)
    assert weighted_quantile(values, None, 0.95) == np.quantile(values, 0.95)


def test_weighted_ks_above_scipys_exact_limit_equals_ks_2samp_on_the_expanded_rows() -> None:
    """N > 10,000 rows: scipy switches to the asymptotic p-value; the compact rows must follow it."""
    from gatekit.metrics import EvalData
    from gatekit.metrics.shadow import score_distribution_ks

    rng = np.random.default_rng(3)
    n = 400
    c, b = np.round(rng.random(n), 2), np.round(np.clip(rng.random(n) + 0.03, 0, 1), 2)
    w = rng.integers(20, 40, n)
    assert w.sum() > 10_000
    data = EvalData(y_score=c, task="classification", weights=w)
    data.baseline = EvalData(y_score=b, task="classification", weights=w)
    got = score_distribution_ks(data)
    ref = ks_2samp(np.repeat(c, w), np.repeat(b, w))
    assert got.value == pytest.approx(float(ref.statistic), abs=1e-12)
    assert got.details["p_value"] == pytest.approx(float(ref.pvalue), rel=1e-9, abs=1e-300)
    assert got.details["n"] == int(w.sum()) and "asymptotic" in got.details["p_value_method"]
