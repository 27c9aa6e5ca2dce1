"""Tests of :mod:`gatekit.sections.comparison`: baseline-relative rules and confidence-bound decisions.

Expected values are computed independently of the code under test: by hand, from the documented
formula written here, or by calling scikit-learn, fairlearn, numpy or scipy directly.
"""

from __future__ import annotations

import json
import math
import time
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import sklearn.metrics as skm
from fairlearn import metrics as flm
from scipy.stats import norm

import gatekit
from gatekit.core.errors import PolicyError
from gatekit.core.results import Decision, Status
from gatekit.metrics import EvalData, default_registry
from gatekit.policy import load_policy
from gatekit.policy.specs import MetricRule
from gatekit.sections.base import Observation
from gatekit.sections.comparison import Side, conditions, decide_interval, interval_for
from gatekit.stats.intervals import (
    DEFAULT_RESAMPLES,
    DEFAULT_SEED,
    bootstrap_auc_difference,
    delong_difference,
    delong_variance,
    stratified_index_batches,
)
from tests.helpers import _only
from tests.sections.helpers import LATENCY_POLICY, _check, _eval_frame, _policy_file, _rel

REG = default_registry()


@pytest.mark.slow
def test_unpaired_canary_interval_covers_a_known_auc_difference() -> None:
    """400 simulated canaries with a known AUC difference; the 95 % interval must cover it 93-97 % of the time.

    Binormal scores per arm: score ~ N(mu y, 1), prevalence 0.3, 500 rows per arm; true AUC = Phi(mu / sqrt 2),
    so the true difference is known exactly. The interval is the canary rule's own (interval_for, unpaired,
    1000 resamples, a different seed per simulation).
    """
    res = REG.resolve("roc_auc")
    mc, mb, n, sims = 1.2, 0.9, 500, 400
    truth = norm.cdf(mc / np.sqrt(2)) - norm.cdf(mb / np.sqrt(2))
    rng = np.random.default_rng(7)
    covered = 0
    t0 = time.perf_counter()
    for s in range(sims):
        sides, aucs = [], []
        for mu, label in ((mc, "canary arm"), (mb, "production arm")):
            y = (rng.random(n) < 0.3).astype(int)
            data = EvalData(y_true=y, y_score=mu * y + rng.standard_normal(n), task="classification")
            auc = float(skm.roc_auc_score(y, data.y_score))
            aucs.append(auc)
            sides.append(Side(Observation(auc, "ok", source="computed"), data, label))
        rule = MetricRule(name="roc_auc", max_drop=0.05, confidence=0.95, resamples=1000, seed=s)
        iv = interval_for(rule, res, {}, sides[0], sides[1], False, aucs[0] - aucs[1])
        assert iv.details["samples"] == 2 and iv.details["paired"] is False
        covered += iv.low <= truth <= iv.high
    coverage = covered / sims
    print(f"unpaired canary interval: coverage {coverage:.3f} of a true difference {truth:.4f} "
          f"({sims} simulations, {time.perf_counter() - t0:.1f} s)")
    assert 0.93 <= coverage <= 0.97, coverage


def test_rules_differing_only_in_guardband_share_one_interval(tmp_path: Path) -> None:
    rng = np.random.default_rng(5)
    n = 400
    y = rng.integers(0, 2, n)
    pd.DataFrame({"y": y, "c": np.clip(0.5 * y + 0.5 * rng.random(n), 0, 1),
                  "b": np.clip(0.4 * y + 0.6 * rng.random(n), 0, 1)}).to_csv(tmp_path / "d.csv", index=False)
    policy = {"version": 1, "inputs": {"data": str(tmp_path / "d.csv"), "target": "y", "score": "c",
                                       "baseline": {"score": "b"}},
              "metrics": [{"name": "auc_roc", "max_drop": 0.01, "confidence": 0.95, "guardband": g, "on_fail": f}
                          for g, f in (("proven_harm", "block"), ("proven_safe", "warn"))]}
    harm, safe = gatekit.run(policy).checks
    assert harm.details["interval"] == safe.details["interval"]
    # the same interval, decided two ways: harm fails only below the limit, safety passes only above it
    low, high = harm.details["interval"]["low"], harm.details["interval"]["high"]
    assert (harm.status == Status.PASS) == (high >= -0.01)
    assert (safe.status == Status.PASS) == (low >= -0.01)


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


def _policy(path: Path, rules: list[dict[str, Any]], score: str = "cand", baseline: dict[str, Any] | None = None,
            strict: bool = True) -> dict[str, Any]:
    inputs: dict[str, Any] = {"data": str(path), "target": "y", "score": score, "sensitive": "grp"}
    if baseline is not None:
        inputs["baseline"] = baseline
    return {"version": 1, "strict": strict, "inputs": inputs, "metrics": rules}


def _counted_order(frame: pd.DataFrame, by: list[str]) -> pd.DataFrame:
    """The rows in the order an interval resamples them (gatekit.metrics.weighted.counted_rows): sorted by target,
    the candidate's score, production's, then the sensitive values. Identical rows (a handful here) are then
    adjacent; the counted row standing for them is drawn as they are (below 8 rows per counted row, by position
    among the rows), so the interval is the plain stratified bootstrap of these sorted rows."""
    assert frame.duplicated(by).sum() < 0.05 * len(frame)
    return frame.sort_values(by, kind="mergesort").reset_index(drop=True)


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
    rows = _counted_order(frame, ["y", "cand", "prod", "grp"])
    ref = bootstrap_auc_difference(rows.y, rows.cand, rows["prod"], 0.95, resamples, seed)
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
    rows = _counted_order(frame, ["y", "prod", "cand", "grp"])
    ref = bootstrap_auc_difference(rows.y, rows["prod"], rows.cand, 0.95, 1000, 3)
    assert ref.low < -0.05 < ref.high  # the interval straddles the limit: inconclusive
    # the power of 400 rows, from the interval's normal spread: (z_0.975 + z_0.8) (high - low) / (2 z_0.975)
    se = (ref.high - ref.low) / (2 * norm.ppf(0.975))
    mde = (norm.ppf(0.975) + norm.ppf(0.8)) * se
    assert mde > 0.05  # these rows cannot show the margin: insufficient data, whatever the guardband
    cases = (({"guardband": "proven_harm"}, Status.INCONCLUSIVE, "block"),  # insufficient data costs on_fail
             ({"guardband": "proven_harm", "insufficient_data": "pass"}, Status.PASS, "block"),
             ({"guardband": "proven_harm", "insufficient_data": "warn"}, Status.INCONCLUSIVE, "warn"),
             ({"guardband": "proven_safe"}, Status.INCONCLUSIVE, "block"),
             ({"mode": "non_inferiority", "insufficient_data": "warn"}, Status.INCONCLUSIVE, "warn"))
    for extra, status, severity in cases:
        rule = {"name": "roc_auc", "max_drop": 0.05, "confidence": 0.95, "resamples": 1000, "seed": 3, **extra}
        check = _only(gatekit.run(_policy(path, [rule], score="prod", baseline={"score": "cand"})))
        assert (check.details["interval"]["low"], check.details["interval"]["high"]) == pytest.approx(
            (ref.low, ref.high), abs=1e-12)
        assert (check.status, check.on_fail.value) == (status, severity), (extra, check.message)
        out = check.details["outcome"]
        assert out["result"] == "insufficient_data" and out["mode"] == extra.get("guardband", extra.get("mode"))
        assert out["power"]["mde"] == pytest.approx(mde, rel=1e-12)
        assert out["power"]["rows"] == 400 and out["power"]["effect"] == 0.05
        assert out["power"]["rows_needed"] == pytest.approx(400 * (mde / 0.05) ** 2, rel=1e-12)
        assert "insufficient data" in check.message and f"{math.ceil(400 * (mde / 0.05) ** 2):,}" in check.message
    # a wider margin the rows can show: the same interval is plainly inconclusive, which proven_harm passes
    rule = {"name": "roc_auc", "max_drop": 0.1, "confidence": 0.95, "resamples": 1000, "seed": 3}
    check = _only(gatekit.run(_policy(path, [rule], score="prod", baseline={"score": "cand"})))
    if ref.low < -0.1:
        assert check.details["outcome"]["result"] == "inconclusive" and check.status == Status.PASS


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
    assert check.status == (Status.PASS if auc - half >= 0.86 else Status.FAIL if auc + half < 0.86
                            else Status.INCONCLUSIVE)
    # DeLong's one-sided p-values against the limit, by scipy: safety is "AUC >= 0.86", harm "AUC < 0.86"
    se = half / norm.ppf(0.975)
    assert check.details["outcome"]["p_safe"] == pytest.approx(norm.sf((auc - 0.86) / se), rel=1e-6)
    assert check.details["outcome"]["p_harm"] == pytest.approx(norm.cdf((auc - 0.86) / se), rel=1e-6)  # tolerance


def test_absolute_rule_with_confidence_passes_only_if_the_lower_bound_does(holdout: tuple[Path, pd.DataFrame]) -> None:
    path, frame = holdout
    auc = skm.roc_auc_score(frame.y, frame.cand)
    rows = _counted_order(frame, ["y", "cand", "grp"])
    ref = bootstrap_auc_difference(rows.y, rows.cand, None, 0.95, DEFAULT_RESAMPLES, DEFAULT_SEED)
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
    assert check.status == Status.INCONCLUSIVE and check.details["guardband"] == "proven_safe"
    assert check.details["outcome"]["result"] == "inconclusive"  # no margin: never "insufficient data"
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
    rows = _counted_order(frame, ["y", "cand", "grp"])
    ref = bootstrap_auc_difference(rows.y, rows.cand, None, 0.95, 400, 9)
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


def test_percent_rule_interval_is_the_paired_bootstrap_of_the_relative_change(
        holdout: tuple[Path, pd.DataFrame]) -> None:
    path, frame = holdout
    rule = {"name": "precision_at_0_5", "max_drop_pct": 3, "confidence": 0.9, "resamples": 300, "seed": 21}
    check = _only(gatekit.run(_policy(path, [rule], baseline={"score": "prod"})))
    rows = _counted_order(frame, ["y", "cand", "prod", "grp"])
    y = rows.y.to_numpy().astype(bool)
    pc, pb = (rows.cand >= 0.5).to_numpy(), (rows["prod"] >= 0.5).to_numpy()

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
    rows = _counted_order(f, ["y", "cand", "prod"])
    y, c, b = rows.y.to_numpy(), rows.cand.to_numpy(), rows["prod"].to_numpy()
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


def test_relative_change_overflow_is_not_a_pass(tmp_path: Path) -> None:
    (tmp_path / "c.json").write_text('{"latency_p95_ms": 1e308}')
    (tmp_path / "b.json").write_text('{"latency_p95_ms": 1e-300}')
    pol = _policy_file(tmp_path, """
        version: 1
        inputs: {metrics: c.json, baseline: {metrics: b.json}}
        metrics:
          - {name: latency_p95_ms, max_drop_pct: 10}
        """)
    check = _check(gatekit.run(pol), "latency_p95_ms vs baseline")
    assert check.status != Status.PASS or (check.observed is not None and math.isfinite(check.observed))


def test_delong_single_auc_with_one_positive_says_why(tmp_path: Path) -> None:
    frame = _eval_frame()
    frame = pd.concat([frame[frame.y == "yes"].head(1), frame[frame.y == "no"].head(40)])
    frame.to_csv(tmp_path / "d.csv", index=False)
    pol = _policy_file(tmp_path, """
        version: 1
        inputs: {data: d.csv, target: y, positive_label: "yes", score: cs}
        metrics:
          - {name: auc_roc, op: ">=", value: 0.5, confidence: 0.95, interval: delong}
        """)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        check = _check(gatekit.run(pol), "auc_roc")
    assert check.status == Status.NOT_COMPUTABLE
    assert not [w for w in caught if issubclass(w.category, RuntimeWarning)]
    assert "separated" not in check.message, check.message


def test_missing_baseline_value_blocks(tmp_path: Path) -> None:
    (tmp_path / "c.json").write_text('{"latency_p95_ms": 40}')
    pol = _policy_file(tmp_path, LATENCY_POLICY)
    for content in ('{"latency_p95_ms": null}', '{"latency_p95_ms": NaN}', "{}"):
        (tmp_path / "b.json").write_text(content)
        report = gatekit.run(pol)
        assert report.checks[0].status == Status.NOT_COMPUTABLE and report.decision.value == "block", content


def test_percent_rule_on_zero_baseline_and_confidence_on_file_metric_are_not_computable(tmp_path: Path) -> None:
    (tmp_path / "c.json").write_text('{"latency_p95_ms": 40, "auc_roc": 0.8}')
    (tmp_path / "b.json").write_text('{"latency_p95_ms": 30, "auc_roc": 0}')
    pol = _policy_file(tmp_path, """
        version: 1
        inputs: {metrics: c.json, baseline: {metrics: b.json}}
        metrics:
          - {name: auc_roc, max_drop_pct: 2}
          - {name: latency_p95_ms, max_increase: 20}
        """)
    report = gatekit.run(pol)
    assert [c.status for c in report.checks] == [Status.NOT_COMPUTABLE, Status.PASS]
    assert "baseline is 0" in report.checks[0].message
    assert report.decision.value == "block"
    # a metric read from a metrics file has no rows to resample: confidence on it is refused at load time
    bad = _policy_file(tmp_path, """
        version: 1
        inputs: {metrics: c.json, baseline: {metrics: b.json}}
        metrics:
          - {name: latency_p95_ms, max_increase: 20, confidence: 0.95}
        """, name="bad.yaml")
    with pytest.raises(PolicyError, match="no confidence interval"):
        load_policy(bad)


def test_interval_json_is_valid_and_records_method(tmp_path: Path) -> None:
    pol = _rel(tmp_path, """
        - {name: auc_roc, max_drop: 0.02, confidence: 0.95}
        - {name: auc_roc, within: 0, confidence: 0.9, guardband: proven_safe}
        - {name: demographic_parity_difference, within: 0.05, confidence: 0.95, resamples: 200, params: {sensitive: g}}
        """)
    report = gatekit.run(pol)
    data = json.loads(report.to_json(), parse_constant=lambda c: pytest.fail(f"{c} in the JSON report"))
    first = data["checks"][0]["details"]["interval"]
    assert first["method"] == "bootstrap_percentile" and first["resamples"] == 2000 and first["paired"] is True
    assert data["checks"][1]["status"] == "inconclusive"  # a non-zero change cannot be proven within 0


# --------------------------------------------------------------------------------------------------
# Compact rows (EvalData.weights, the DuckDB and Spark engines' rows): DeLong equal, the bootstrap the stratified
# bootstrap of the rows they stand for, and the same interval as on the plain rows
# --------------------------------------------------------------------------------------------------


def _compact_sides(seed: int, n: int = 90) -> tuple[EvalData, EvalData]:
    """Compact candidate/production rows with tied scores, counts 1..6, the same counts on both sides."""
    rng = np.random.default_rng(seed)
    y = (rng.random(n) < 0.4).astype(int)
    c = np.round(np.clip(0.45 + 0.2 * y + 0.2 * rng.standard_normal(n), 0, 1), 1)
    b = np.round(np.clip(0.45 + 0.12 * y + 0.2 * rng.standard_normal(n), 0, 1), 1)
    w = rng.integers(1, 7, n)
    cand = EvalData(y_true=y, y_score=c, task="classification", weights=w)
    cand.baseline = EvalData(y_true=y, y_score=b, task="classification", weights=w)
    return cand, cand.baseline


def _side(data: EvalData, name: str, label: str) -> Side:
    res = REG.resolve(name)
    assert res is not None and res.spec.fn is not None
    return Side(Observation(res.spec.fn(data, **res.name_params).value, "ok", source="computed"), data, label)


def _plain(data: EvalData) -> EvalData:
    assert data.weights is not None
    idx = np.repeat(np.arange(len(data.weights)), data.weights)
    return EvalData(y_true=data.y_true[idx], y_score=data.y_score[idx], task=data.task)


@pytest.mark.parametrize("paired", [True, False])
def test_delong_rule_on_compact_rows_equals_delong_on_the_expanded_rows(paired: bool) -> None:
    cand, base = _compact_sides(1)
    pc, pb = _plain(cand), _plain(base)
    if paired:
        rule = MetricRule(name="roc_auc", max_drop=0.02, confidence=0.9, interval="delong")
        got = interval_for(rule, REG.resolve("roc_auc"), {}, _side(cand, "roc_auc", "candidate"),
                           _side(base, "roc_auc", "production"), True,
                           skm.roc_auc_score(pc.y_true, pc.y_score) - skm.roc_auc_score(pb.y_true, pb.y_score))
        ref = delong_difference(pc.y_true, pc.y_score, pb.y_score, 0.9)
        assert got.details["paired"] is True and "compact" in got.details["rows"]
        assert got.details["se"] == pytest.approx(ref.details["se"], abs=1e-12)
        assert got.details["n_positive"] == int(pc.y_true.sum())
    else:
        rule = MetricRule(name="roc_auc", op=">=", value=0.6, confidence=0.9, interval="delong")
        auc = skm.roc_auc_score(pc.y_true, pc.y_score)
        got = interval_for(rule, REG.resolve("roc_auc"), {}, _side(cand, "roc_auc", "candidate"), None, True, auc)
        half = norm.ppf(0.95) * np.sqrt(delong_variance(pc.y_true, pc.y_score))
        ref = type(got)(auc, auc - half, auc + half, 0.9, "delong")
    assert got.method == "delong"
    assert (got.estimate, got.low, got.high) == pytest.approx((ref.estimate, ref.low, ref.high), abs=1e-9)


def _counted_by_hand(data: EvalData) -> pd.DataFrame:
    """The rows gathered by pandas: one row per distinct (y, candidate, production), counts summed, sorted so."""
    frame = pd.DataFrame({"y": data.y_true, "c": data.y_score, "b": data.baseline.y_score, "w": data.weights})
    return frame.groupby(["y", "c", "b"], sort=True)["w"].sum().reset_index()


def _draws(rows: pd.DataFrame, resamples: int, seed: int) -> np.ndarray:
    """The seeded multiplicities of the counted rows: within each class, as many rows as it has, drawn among them."""
    from gatekit.stats.intervals import counted_weight_batches

    return np.concatenate(list(counted_weight_batches(rows.y.to_numpy(), rows.w.to_numpy(), resamples, seed)))


def test_paired_bootstrap_on_compact_rows_is_the_stratified_bootstrap_of_the_rows_they_stand_for() -> None:
    cand, base = _compact_sides(2)
    pc, pb = _plain(cand), _plain(base)
    est = skm.roc_auc_score(pc.y_true, pc.y_score) - skm.roc_auc_score(pb.y_true, pb.y_score)
    rule = MetricRule(name="roc_auc", max_drop=0.02, confidence=0.9, resamples=200, seed=11)
    got = interval_for(rule, REG.resolve("roc_auc"), {}, _side(cand, "roc_auc", "candidate"),
                       _side(base, "roc_auc", "production"), True, est)
    assert got.details["resampling"] == "stratified_multinomial" and got.details["stratified"] is True
    assert got.details["paired"] is True
    # by hand: the rows gathered by pandas, their seeded draws; scikit-learn on the expanded resampled rows
    rows = _counted_by_hand(cand)
    diffs = []
    for d in _draws(rows, 200, 11):
        assert d[rows.y.to_numpy() == 1].sum() == pc.y_true.sum()  # the class sizes are kept
        y = np.repeat(rows.y, d)
        diffs.append(skm.roc_auc_score(y, np.repeat(rows.c, d)) - skm.roc_auc_score(y, np.repeat(rows.b, d)))
    assert (got.low, got.high) == pytest.approx(tuple(np.quantile(diffs, [0.05, 0.95])), abs=1e-9)


def test_bootstrap_of_a_metric_without_kernel_on_compact_rows() -> None:
    cand, _ = _compact_sides(3, n=40)
    pc = _plain(cand)
    rule = MetricRule(name="pr_auc", op=">=", value=0.3, confidence=0.9, resamples=200, seed=2)
    est = skm.average_precision_score(pc.y_true, pc.y_score)
    got = interval_for(rule, REG.resolve("pr_auc"), {}, _side(cand, "pr_auc", "candidate"), None, True, est)
    rows = _counted_by_hand(cand)
    values = [skm.average_precision_score(np.repeat(rows.y, d), np.repeat(rows.c, d)) for d in _draws(rows, 200, 2)]
    assert (got.low, got.high) == pytest.approx(tuple(np.quantile(values, [0.05, 0.95])), abs=1e-9)
    assert got.details["resampling"] == "stratified_multinomial"


def _reshuffled(data: EvalData, seed: int) -> EvalData:
    """The same rows as another engine could give them: each compact row split in two where it can, shuffled."""
    rng = np.random.default_rng(seed)
    w = data.weights
    first = np.where(w > 1, rng.integers(1, np.maximum(w, 2)), w)
    idx = np.concatenate([np.arange(len(w)), np.flatnonzero(w > first)])
    counts = np.concatenate([first, (w - first)[w > first]])
    order = rng.permutation(len(idx))
    idx, counts = idx[order], counts[order]
    out = EvalData(y_true=data.y_true[idx], y_score=data.y_score[idx], task=data.task, weights=counts)
    out.baseline = EvalData(y_true=out.y_true, y_score=data.baseline.y_score[idx], task=data.task, weights=counts)
    return out


@pytest.mark.parametrize("name", ["roc_auc", "log_loss", "accuracy", "brier_score", "pr_auc"])
def test_plain_rows_and_any_compact_form_of_them_give_the_same_interval_to_the_digit(name: str) -> None:
    """pandas' plain rows, DuckDB's compact rows and Spark's (another grouping, another order) of the same rows."""
    cand, _ = _compact_sides(4)
    plain = _plain(cand)
    plain.baseline = _plain(cand.baseline)
    forms = [plain, cand, _reshuffled(cand, 1), _reshuffled(cand, 2)]
    res = REG.resolve(name)
    for paired in (True, False):
        rule = MetricRule(name=name, max_drop=0.5, confidence=0.9, resamples=300, seed=11) if paired else \
            MetricRule(name=name, op=">=", value=0.0, confidence=0.9, resamples=300, seed=11)
        got = []
        for data in forms:
            base = _side(data.baseline, name, "production") if paired else None
            got.append(interval_for(rule, res, dict(res.name_params), _side(data, name, "candidate"), base, True,
                                    0.1))
        assert len({(iv.low, iv.high) for iv in got}) == 1, [(iv.low, iv.high) for iv in got]
        assert got[0].details["resampling"] == "stratified_multinomial" and got[0].details["stratified"] is True


def test_unpaired_canary_intervals_are_the_same_on_plain_and_compact_arms() -> None:
    """Each arm gathered on its own: plain arms and compact, reshuffled arms give one interval, to the digit."""
    from dataclasses import replace

    arms = [_compact_sides(7)[0], _compact_sides(8, n=70)[0]]
    res = REG.resolve("log_loss")
    rule = MetricRule(name="log_loss", max_increase=0.1, confidence=0.9, resamples=300, seed=5)
    got = []
    for form in (_plain, lambda d: replace(d, cache={}), lambda d: _reshuffled(d, 3)):
        sides = []
        for arm, label in zip(arms, ("canary arm", "production arm"), strict=True):
            rows = form(arm)
            rows.baseline = None  # an arm is its own rows, scored by its own model
            sides.append(_side(rows, "log_loss", label))
        got.append(interval_for(rule, res, {}, sides[0], sides[1], False, 0.0))
    assert len({(iv.low, iv.high) for iv in got}) == 1, [(iv.low, iv.high) for iv in got]
    assert got[0].details["samples"] == 2 and got[0].details["paired"] is False


ENGINE_RULES = [
    {"name": "auc_roc", "op": ">=", "value": 0.5, "confidence": 0.95, "interval": "bootstrap", "resamples": 300},
    {"name": "log_loss", "op": "<=", "value": 1.0, "confidence": 0.95, "resamples": 300},
    {"name": "accuracy", "op": ">=", "value": 0.5, "confidence": 0.95, "resamples": 300},
    {"name": "brier_score", "op": "<=", "value": 0.5, "confidence": 0.95, "resamples": 300, "seed": 4},
    {"name": "auc_roc", "max_drop": 0.05, "confidence": 0.9, "resamples": 300},
    {"name": "demographic_parity_difference", "op": "<=", "value": 0.9, "confidence": 0.9, "resamples": 300},
    {"name": "net_benefit", "params": {"threshold_probability": 0.2}, "op": ">", "value": 0, "confidence": 0.95,
     "resamples": 300},
]


def test_intervals_are_the_same_on_pandas_duckdb_and_spark_to_the_digit(tmp_path: Path,
                                                                       request: pytest.FixtureRequest) -> None:
    """An imbalanced target (8 % positives) where DuckDB's Poisson resampling gave wider intervals than pandas for the
    prevalence-sensitive metrics: every engine now resamples the same counted rows with the same draws.

    The Brier interval is also recomputed here: distinct rows by pandas, their stratified draws, scikit-learn's Brier
    score on each resample.
    """
    from gatekit.stats.intervals import counted_weight_batches

    request.getfixturevalue("spark")
    rng = np.random.default_rng(31)
    n = 3000
    y = (rng.random(n) < 0.08).astype(int)
    z = rng.standard_normal(n) + 1.4 * y
    frame = pd.DataFrame({"y": y, "s": np.round(1 / (1 + np.exp(-(z - 2.4))), 3),
                          "sp": np.round(1 / (1 + np.exp(-(z + rng.standard_normal(n) - 2.4))), 3),
                          "g": rng.choice(["a", "b"], n)})
    frame.to_parquet(tmp_path / "d.parquet")
    policy = {"version": 1, "custom_metrics": {"metrics_dir": str(Path(__file__).parents[2] / "examples" /
                                                                   "custom_metrics")},
              "inputs": {"data": str(tmp_path / "d.parquet"), "target": "y", "score": "s", "sensitive": "g",
                         "baseline": {"score": "sp"}}, "metrics": ENGINE_RULES}
    runs = {e: gatekit.run(policy, engine=e) for e in ("pandas", "duckdb", "spark")}
    got = {e: [(c.name, c.status, c.details.get("interval", {}).get("low"), c.details.get("interval", {}).get("high"))
               for c in r.checks] for e, r in runs.items()}
    assert got["pandas"] == got["duckdb"] == got["spark"]
    assert all(low is not None for _, _, low, _ in got["pandas"]), got["pandas"]
    assert runs["duckdb"].metadata["inputs"]["aggregated_rows"]["groups"] < n  # DuckDB resampled compact rows
    assert {c.details["interval"]["resampling"] for c in runs["duckdb"].checks} == {"stratified_multinomial"}
    brier = next(c for c in runs["duckdb"].checks if c.name == "brier_score").details["interval"]
    rows = frame.groupby(["y", "s", "sp", "g"], sort=True).size().reset_index(name="w")
    draws = np.concatenate(list(counted_weight_batches(rows.y.to_numpy(), rows.w.to_numpy(), 300, 4)))
    values = [skm.brier_score_loss(rows.y, rows.s, sample_weight=d) for d in draws]
    assert (brier["low"], brier["high"]) == pytest.approx(tuple(np.quantile(values, [0.025, 0.975])), abs=1e-12)


def test_paired_interval_of_sides_with_different_counts_is_not_computable() -> None:
    from gatekit.core.errors import NotComputable

    cand, base = _compact_sides(5)
    base.weights = base.weights + 1
    for interval in ("delong", "bootstrap"):
        extra: dict[str, Any] = {"resamples": 200} if interval == "bootstrap" else {}
        rule = MetricRule(name="roc_auc", max_drop=0.02, confidence=0.9, interval=interval, **extra)
        with pytest.raises(NotComputable, match="different row counts"):
            interval_for(rule, REG.resolve("roc_auc"), {}, _side(cand, "roc_auc", "candidate"),
                         _side(base, "roc_auc", "production"), True, 0.0)


def test_check_message_is_the_same_on_plain_and_compact_rows() -> None:
    from gatekit.sections.comparison import evaluate_rule

    cand, base = _compact_sides(6)
    plain = _plain(cand)
    plain.baseline = _plain(base)
    rule = MetricRule(name="roc_auc", max_drop=0.5, confidence=0.9, resamples=200, seed=1)
    checks = [evaluate_rule(rule, REG.resolve("roc_auc"), {}, _side(d, "roc_auc", "candidate"),
                            _side(d.baseline, "roc_auc", "production"), paired=True, section="performance",
                            name="roc_auc", base_details={"unit": "fraction"}) for d in (cand, plain)]
    assert checks[0].status == Status.PASS, checks[0].message
    assert checks[0].message == checks[1].message and "Poisson" not in checks[0].message
    assert "bootstrap, 200 resamples, seed 1" in checks[0].message
    assert checks[0].details["interval"] == checks[1].details["interval"]
    assert checks[0].details["interval"]["resampling"] == "stratified_multinomial"


@pytest.mark.slow
def test_stratified_bootstrap_on_compact_rows_covers_known_differences() -> None:
    """800 simulated holdouts, compacted to one row per distinct (y, candidate, production) with its count;
    the 95 % stratified bootstrap interval of the counted rows must cover the true AUC difference and the true
    error-rate difference 93-97 % of the time.

    Binormal scores rounded to the nearest 0.5 (so rows really collapse: ~150 compact rows stand for 600):
    candidate ~ N(1.2 y, 1), production ~ N(0.9 y, 1) with correlated errors (rho = 0.5), prevalence 0.3.
    The truths are of the rounded scores, computed exactly from the normal probabilities of the rounding
    cells. The intervals are bootstrap_statistic's with the compact rows' counts (500 resamples each: the
    800 simulations keep the coverage's own sampling error near 0.8 %).
    """
    from gatekit.stats.intervals import bootstrap_statistic, weighted_aucs

    mc, mb, rho, n, sims, prev, t, step = 1.2, 0.9, 0.5, 600, 800, 0.3, 0.5, 0.5
    grid = np.arange(-8, 10 + step, step)
    edges = np.append(grid - step / 2, grid[-1] + step / 2)

    def cell_probs(mu: float) -> np.ndarray:
        p = np.diff(norm.cdf(edges - mu))
        return p / p.sum()

    def auc_of(mu: float) -> float:  # P(S1 > S0) + P(S1 = S0) / 2 for rounded scores
        p1, p0 = cell_probs(mu), cell_probs(0.0)
        return float(np.sum(p1 * (np.cumsum(p0) - p0 / 2)))

    def error_of(mu: float) -> float:  # predicted positive when the rounded score >= t
        pos = grid >= t
        return prev * float(cell_probs(mu)[~pos].sum()) + (1 - prev) * float(cell_probs(0.0)[pos].sum())

    truth_auc = auc_of(mc) - auc_of(mb)
    truth_err = error_of(mc) - error_of(mb)
    rng = np.random.default_rng(17)
    covered_auc = covered_err = 0
    t0 = time.perf_counter()
    for s in range(sims):
        y = (rng.random(n) < prev).astype(int)
        e1, e2 = rng.standard_normal(n), rng.standard_normal(n)
        c = np.round((mc * y + e1) / step) * step
        b = np.round((mb * y + rho * e1 + np.sqrt(1 - rho**2) * e2) / step) * step
        cells = pd.DataFrame({"y": y, "c": c, "b": b}).value_counts().reset_index(name="w")
        cy, cc, cb, w = (cells[k].to_numpy() for k in ("y", "c", "b", "w"))
        wrong_c = ((cc >= t).astype(int) != cy).astype(float)
        wrong_b = ((cb >= t).astype(int) != cy).astype(float)

        def auc_diff(ws: list[np.ndarray], cy=cy, cc=cc, cb=cb) -> np.ndarray:
            return weighted_aucs(cy, cc, ws[0]) - weighted_aucs(cy, cb, ws[0])

        def err_diff(ws: list[np.ndarray], wc=wrong_c, wb=wrong_b) -> np.ndarray:
            return ws[0] @ (wc - wb) / ws[0].sum(axis=1)

        est_auc = float(auc_diff([w[None, :].astype(float)])[0])
        est_err = float(err_diff([w[None, :].astype(float)])[0])
        iv = bootstrap_statistic(auc_diff, [cy], est_auc, 0.95, 500, s, counts=[w])
        ie = bootstrap_statistic(err_diff, [cy], est_err, 0.95, 500, s, counts=[w])
        assert iv.details["resampling"] == "stratified_multinomial" and len(w) < n / 2
        covered_auc += iv.low <= truth_auc <= iv.high
        covered_err += ie.low <= truth_err <= ie.high
    print(f"stratified bootstrap of counted rows: coverage AUC {covered_auc / sims:.3f} (true {truth_auc:.4f}), "
          f"error rate {covered_err / sims:.3f} (true {truth_err:.4f}); {time.perf_counter() - t0:.1f} s")
    assert 0.93 <= covered_auc / sims <= 0.97, covered_auc / sims
    assert 0.93 <= covered_err / sims <= 0.97, covered_err / sims


# --- multiclass on the same rows: a class only production predicts ------------------------------------------------

@pytest.mark.parametrize("engine", ["pandas", "duckdb"])
def test_same_rows_macro_averages_both_models_over_one_class_set(tmp_path: Path, engine: str) -> None:
    """Production predicts 'd' (never an outcome) on 5 rows: both models' f1_macro average over {a, b, c, d}, as
    scikit-learn with ``labels=`` that union, so the worse candidate cannot seem to rise (hostile review k5)."""
    rng = np.random.default_rng(11)
    n = 800
    y = rng.choice(list("abc"), n)
    nxt = np.array([{"a": "b", "b": "c", "c": "a"}[v] for v in y])
    cand = np.where(rng.random(n) < 0.7, y, nxt)
    prod = np.where(rng.random(n) < 0.9, y, nxt)
    prod[np.flatnonzero(prod == y)[:5]] = "d"
    frame = pd.DataFrame({"y": y})
    for c in "abcd":
        frame[f"score_{c}"] = np.where(cand == c, 0.85, 0.05)
        frame[f"prod_{c}"] = np.where(prod == c, 0.85, 0.05)
    frame.to_csv(tmp_path / "d.csv", index=False)
    (tmp_path / "p.yaml").write_text(
        f"version: 1\ninputs: {{data: d.csv, target: y, score: 'score_*', baseline: {{score: 'prod_*'}}, "
        f"engine: {engine}}}\nmetrics:\n  - {{name: f1_macro, max_drop: 0.02}}\n"
        "  - {name: recall_macro, max_drop: 0.02, confidence: 0.9, resamples: 200, seed: 5}\n"
        "  - {name: f1_macro, op: '>=', value: 0.0}\n")
    report = gatekit.run(tmp_path / "p.yaml")
    labels = ["a", "b", "c", "d"]
    for check, fn in zip(report.checks[:2], (skm.f1_score, skm.recall_score), strict=True):
        comp = check.details["comparison"]
        assert comp["candidate"] == pytest.approx(fn(y, cand, labels=labels, average="macro", zero_division=0))
        assert comp["baseline"] == pytest.approx(fn(y, prod, labels=labels, average="macro", zero_division=0))
        assert check.details["candidate_details"]["labels"] == labels
        assert check.details["baseline_details"]["labels"] == labels
        assert check.status == Status.FAIL, check.message
    assert skm.f1_score(y, cand, average="macro") - skm.f1_score(y, prod, average="macro") > -0.02  # the old pass
    # a single-model absolute rule keeps scikit-learn's default: the target's classes and this model's predictions
    absolute = report.checks[2]
    assert absolute.observed == pytest.approx(skm.f1_score(y, cand, average="macro"))
    assert absolute.details["labels"] == ["a", "b", "c"]
    # the interval (its kernel's fixed labels are checked against scikit-learn in tests/metrics/test_multiclass.py)
    iv = report.checks[1].details["interval"]
    assert iv["low"] <= report.checks[1].observed <= iv["high"] and iv["high"] < -0.02


# --------------------------------------------------------------------------------------------------
# Outcomes on degenerate or tied intervals, and the default framing of a superiority rule
# --------------------------------------------------------------------------------------------------


def test_a_superiority_rule_must_show_its_gain(holdout: tuple[Path, pd.DataFrame]) -> None:
    # production (the weaker score) as the candidate: its change is negative; "min_increase: 0" asks for a gain
    # the data must show, so a straddling or negative interval is never a pass (default mode: superiority)
    path, _ = holdout
    rule = {"name": "roc_auc", "min_increase": 0, "confidence": 0.95, "resamples": 500, "seed": 3}
    check = _only(gatekit.run(_policy(path, [rule], score="prod", baseline={"score": "cand"})))
    out = check.details["outcome"]
    assert out["mode"] == "superiority" and check.observed < 0
    assert out["result"] in ("disproven", "inconclusive") and check.status != Status.PASS
    assert check.on_fail.value == "block"  # inconclusive costs the rule's on_fail under superiority


def test_a_zero_width_bootstrap_interval_is_insufficient_data(tmp_path: Path) -> None:
    # 20 rows, all correct: every resample has accuracy 1, so the interval is [1, 1]; the exact (Clopper-Pearson)
    # 95 % lower bound of 20 / 20 is 0.025 ** (1 / 20) = 0.832, so ">= 0.99" is not shown by these rows
    y = np.r_[np.ones(10, dtype=int), np.zeros(10, dtype=int)]
    path = tmp_path / "perfect.csv"
    pd.DataFrame({"y": y, "cand": np.where(y == 1, 0.9, 0.1), "grp": "a"}).to_csv(path, index=False)
    rule = {"name": "accuracy", "op": ">=", "value": 0.99, "confidence": 0.95, "resamples": 200}
    check = _only(gatekit.run(_policy(path, [rule])))
    assert check.details["interval"]["low"] == check.details["interval"]["high"] == 1.0
    assert check.details["outcome"]["result"] == "insufficient_data" and check.status == Status.INCONCLUSIVE
    assert check.on_fail.value == "block" and "zero width" in check.message
    # no evidence either way: no p-value (a family counts it as p = 1, never as a rejection)
    assert check.details["outcome"]["p_harm"] is None and check.details["outcome"]["p_safe"] is None
    assert 0.025 ** (1 / 20) == pytest.approx(0.8316, abs=1e-4)


def test_p_values_agree_with_the_outcome_at_floating_point_noise() -> None:
    # a lower bound of -0.05 - 4.4e-17 meets ">= -0.05" (compare's tolerance), so its p_safe must be <= alpha
    from gatekit.sections.comparison import _p_values, interval_outcome
    from gatekit.stats.intervals import Interval

    reps = np.r_[np.full(24, -0.06), np.full(976, -0.050000000000000044)]  # every replicate below -0.05
    low, high = (float(v) for v in np.quantile(reps, [0.025, 0.975]))
    iv = Interval(-0.05, low, high, 0.95, "bootstrap_percentile", {})
    iv.replicates = reps  # as bootstrap_statistic keeps them
    conds = [(">=", -0.05)]
    assert low == pytest.approx(-0.05, abs=1e-15) and low < -0.05  # below the limit only by float noise
    assert interval_outcome(low, high, conds) == "proven"
    p_harm, p_safe = _p_values(iv, conds)
    assert p_safe is not None and p_safe <= 0.025 and p_harm is not None and p_harm > 0.025


def test_a_zero_margin_is_never_shown_so_a_straddling_interval_is_insufficient_data(tmp_path: Path) -> None:
    # the second review's sm40: 40 rows, candidate accuracy 0.8 vs production 0.9. Under proven_harm
    # "max_drop: 0" used to pass (inconclusive) while "max_drop: 0.001" (insufficient data) blocked on the same
    # rows; no number of rows shows a margin of 0, so a straddling interval is insufficient data for both
    y = np.tile([1, 0], 20)
    right = lambda wrong: np.where(np.isin(np.arange(40), wrong), 1 - y, y)  # noqa: E731 - predicted labels
    cand = np.where(right(np.arange(0, 8)) == 1, 0.9, 0.1)  # wrong on rows 0-7
    prod = np.where(right(np.arange(6, 10)) == 1, 0.9, 0.1)  # wrong on rows 6-9: 6 discordant one way, 2 the other
    path = tmp_path / "sm40.csv"
    pd.DataFrame({"y": y, "cand": cand, "prod": prod, "grp": "a"}).to_csv(path, index=False)
    assert skm.accuracy_score(y, cand >= 0.5) == 0.8 and skm.accuracy_score(y, prod >= 0.5) == 0.9
    for d in (0.0, 0.001):
        rule = {"name": "accuracy", "max_drop": d, "confidence": 0.95, "resamples": 1000, "seed": 3}
        check = _only(gatekit.run(_policy(path, [rule], baseline={"score": "prod"})))
        iv = check.details["interval"]
        assert iv["low"] < -d < iv["high"], iv  # straddles the limit
        assert check.details["outcome"]["result"] == "insufficient_data", d
        assert check.status == Status.INCONCLUSIVE and check.on_fail.value == "block"
    assert check.details["outcome"]["power"]["rows_needed"] is not None  # 0.001: finite
    zero = _only(gatekit.run(_policy(path, [{**rule, "max_drop": 0.0}], baseline={"score": "prod"})))
    assert zero.details["outcome"]["power"]["rows_needed"] is None  # no finite number of rows shows 0


def test_a_zero_width_interval_beyond_the_limit_fails_even_when_insufficient_data_passes(tmp_path: Path) -> None:
    # a model that says 0 for everyone: recall at 0.5 is 0 on every class-stratified resample (interval [0, 0]);
    # 0 breaks ">= 0.5" on every resample, so the rule fails whatever the policy makes of insufficient data
    y = np.r_[np.ones(200, dtype=int), np.zeros(200, dtype=int)]
    path = tmp_path / "constant.csv"
    pd.DataFrame({"y": y, "cand": np.full(400, 0.1), "grp": "a"}).to_csv(path, index=False)
    rule = {"name": "recall_at_0_5", "op": ">=", "value": 0.5, "confidence": 0.95, "resamples": 200,
            "insufficient_data": "pass"}
    check = _only(gatekit.run(_policy(path, [rule])))
    assert check.details["interval"]["low"] == check.details["interval"]["high"] == 0.0
    assert check.details["outcome"]["result"] == "disproven" and check.status == Status.FAIL
    assert check.details["outcome"]["power"]["zero_width"] is True and "same value" in check.message


def test_an_interval_as_wide_as_float_noise_is_zero_width() -> None:
    from gatekit.sections.comparison import interval_power, judge_outcome
    from gatekit.stats.intervals import Interval

    # every absolute error 0.3: the bootstrap's RMSE differs from 0.3 only in the last bits
    iv = Interval(0.3, 0.3 - 5.551115123125783e-17, 0.3 + 5.551115123125783e-17, 0.95, "bootstrap_percentile")
    for limit, expected in ((0.4, "insufficient_data"), (0.2, "disproven")):  # rmse <= limit
        power = interval_power(iv, [("<=", limit)], 100, "evaluation rows", confidence=0.95, target=0.8, margin=None)
        assert judge_outcome(iv, [("<=", limit)], power) == expected and power["zero_width"] is True
