"""Tests of :mod:`gatekit.sections.families`: confidence rules decided together by their adjusted p-values.

Unit tests on checks built as the interval-decided rules build them (``details["outcome"]``), then real runs on
the demo's HMDA models and held-out rows. Expected adjusted p-values come from statsmodels' ``multipletests`` on
the raw p-values the run recorded; simultaneous intervals from ``numpy.quantile`` of the kept bootstrap replicates
or ``estimate -+ z se`` with scipy's normal quantile.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import yaml
from scipy.stats import norm
from statsmodels.stats.multitest import multipletests

import gatekit
from gatekit.core.results import CheckResult, OnFail, Status
from gatekit.policy.specs.families import FamilySpec
from gatekit.sections.families import adjust_family, simultaneous_interval
from gatekit.stats.intervals import Interval

SM = {"holm": "holm", "bonferroni": "bonferroni", "sidak": "sidak", "benjamini_hochberg": "fdr_bh"}
ALPHA = (1 - 0.95) / 2


def _check(result: str | None, p_harm: float | None, p_safe: float | None, *, status: Status | None = None,
           severity: tuple[str, str] = ("pass", "block"), on_fail: str = "block") -> CheckResult:
    """A check as an interval-decided rule leaves it (the outcome contract); ``result=None``: no outcome."""
    if result is None:
        return CheckResult(name="x", section="performance", status=status or Status.NOT_COMPUTABLE,
                           on_fail=OnFail(on_fail), message="no interval")
    st = status or {"proven": Status.PASS, "disproven": Status.FAIL}.get(result, Status.PASS)
    outcome = {"result": result, "mode": "proven_harm", "confidence": 0.95, "alpha": ALPHA, "p_harm": p_harm,
               "p_safe": p_safe, "severity": {"inconclusive": severity[0], "insufficient_data": severity[1]},
               "on_fail": on_fail}
    return CheckResult(name="x", section="performance", status=st, on_fail=OnFail(on_fail), message="alone",
                       details={"outcome": outcome})


def _family(method: str = "holm") -> FamilySpec:
    return FamilySpec(name="fam", method=method)  # type: ignore[arg-type]


def test_holm_turns_lone_disproven_rules_into_inconclusive_and_the_severity_decides() -> None:
    checks = [_check("disproven", 0.01, 0.99), _check("disproven", 0.02, 0.98, severity=("block", "block")),
              _check("inconclusive", 0.5, 0.5), _check("inconclusive", 0.9, 0.1)]
    summary = adjust_family(_family(), 0.95, [(f"metrics[{i}]", c) for i, c in enumerate(checks)], {})
    expected = multipletests([0.01, 0.02, 0.5, 0.9], method="holm")[1]  # 0.04, 0.06, 1, 1
    got = [c.details["family"]["p_harm_adjusted"] for c in checks]
    np.testing.assert_allclose(got, expected, rtol=0, atol=1e-15)
    assert [c.details["family"]["result"] for c in checks] == ["inconclusive"] * 4
    assert [c.details["outcome"]["result"] for c in checks] == ["inconclusive"] * 4
    # proven_harm's inconclusive counts as a pass; the second rule's policy made inconclusive a block
    assert (checks[0].status, checks[0].on_fail) == (Status.PASS, OnFail.BLOCK)
    assert (checks[1].status, checks[1].on_fail) == (Status.INCONCLUSIVE, OnFail.BLOCK)
    assert [c.details["family"]["decided_by_family"] for c in checks] == [True, True, False, False]
    assert summary["changed"] == 2 and summary["size"] == 4 and summary["tested"] == 4
    assert checks[0].message.startswith("inconclusive in family 'fam', counted as a pass by the policy (p_harm 0.01 -> "
                                        "0.04, p_safe 0.99 -> 1 (raw -> Holm-adjusted over 4 rules, alpha 0.025))")
    assert checks[0].message.endswith("Alone: alone")
    assert "still inconclusive" in checks[2].message


def test_proven_rules_need_their_adjusted_p_safe() -> None:
    # p_safe 0.004 * 3 = 0.012 <= 0.025 stays proven; 0.012 (second smallest) * 2 = 0.024 stays; 0.02 * 1 stays
    checks = [_check("proven", 0.99, 0.004), _check("proven", 0.98, 0.012), _check("proven", 0.97, 0.02)]
    adjust_family(_family(), 0.95, [(f"m{i}", c) for i, c in enumerate(checks)], {})
    assert [c.details["family"]["result"] for c in checks] == ["proven"] * 3
    # Bonferroni is stricter: 0.012 * 3 and 0.02 * 3 exceed 0.025
    checks = [_check("proven", 0.99, 0.004), _check("proven", 0.98, 0.012, severity=("warn", "block"), on_fail="block"),
              _check("proven", 0.97, 0.02)]
    adjust_family(_family("bonferroni"), 0.95, [(f"m{i}", c) for i, c in enumerate(checks)], {})
    assert [c.details["family"]["result"] for c in checks] == ["proven", "inconclusive", "inconclusive"]
    assert (checks[1].status, checks[1].on_fail) == (Status.INCONCLUSIVE, OnFail.WARN)


def test_a_member_without_p_values_counts_in_m_and_keeps_its_status() -> None:
    lone = _check("disproven", 0.015, 0.99)
    missing = _check(None, None, None, status=Status.NOT_COMPUTABLE)
    summary = adjust_family(_family(), 0.95, [("metrics[0]", lone), ("metrics[1]", missing), ("metrics[2]", None)],
                            {})
    # m = 3 although one p-value is known: 3 * 0.015 = 0.045 > 0.025 (fail closed: never a smaller family)
    assert lone.details["family"]["p_harm_adjusted"] == pytest.approx(0.045, abs=1e-15)
    assert lone.details["family"]["result"] == "inconclusive" and lone.status == Status.PASS
    assert missing.status == Status.NOT_COMPUTABLE and missing.message == "no interval"
    assert missing.details["family"]["p_harm"] is None and missing.details["family"]["decided_by_family"] is False
    assert [m["status"] for m in summary["members"]] == ["pass", "not_computable", "missing"]
    assert summary["size"] == 3 and summary["tested"] == 1


def test_a_family_of_one_is_tested_alone() -> None:
    only = _check("disproven", 0.02, 0.99)
    adjust_family(_family("bonferroni"), 0.95, [("canary.rules[0]", only)], {})
    assert only.status == Status.FAIL and only.details["family"]["p_harm_adjusted"] == 0.02
    assert only.details["family"]["decided_by_family"] is False
    assert "its only member, so tested alone (no adjustment)" in only.message


def test_insufficient_data_stays_insufficient_data() -> None:
    checks = [_check("insufficient_data", 0.2, 0.3, status=Status.INCONCLUSIVE), _check("disproven", 0.001, 1.0)]
    adjust_family(_family(), 0.95, [("a", checks[0]), ("b", checks[1])], {})
    assert checks[0].details["family"]["result"] == "insufficient_data" and checks[0].status == Status.INCONCLUSIVE
    assert checks[1].details["family"]["result"] == "disproven" and checks[1].status == Status.FAIL


@pytest.mark.parametrize("method", ["holm", "bonferroni", "sidak", "benjamini_hochberg"])
def test_each_method_equals_statsmodels(method: str) -> None:
    rng = np.random.default_rng(5)
    harm = rng.uniform(0, 0.08, 7)
    safe = rng.uniform(0, 0.2, 7)
    checks = [_check("inconclusive", float(h), float(s)) for h, s in zip(harm, safe, strict=True)]
    adjust_family(_family(method), 0.95, [(f"m{i}", c) for i, c in enumerate(checks)], {})
    np.testing.assert_allclose([c.details["family"]["p_harm_adjusted"] for c in checks],
                               multipletests(harm, method=SM[method])[1], rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose([c.details["family"]["p_safe_adjusted"] for c in checks],
                               multipletests(safe, method=SM[method])[1], rtol=1e-12, atol=1e-15)


def test_simultaneous_interval_is_the_replicates_quantiles_or_the_normal_bound() -> None:
    reps = np.random.default_rng(3).normal(0.01, 0.02, 2000)
    iv = Interval(0.011, -0.03, 0.05, 0.95, "bootstrap_percentile", {}, replicates=reps)
    level = 1 - 0.05 / 4
    assert simultaneous_interval(iv, level) == pytest.approx(tuple(np.quantile(reps, [0.05 / 8, 1 - 0.05 / 8])),
                                                             abs=1e-15)
    dl = Interval(0.02, 0.0, 0.04, 0.95, "delong", {"se": 0.01})
    low, high = simultaneous_interval(dl, level)  # type: ignore[misc]
    z = norm.ppf(1 - 0.05 / 8)
    assert (low, high) == pytest.approx((0.02 - z * 0.01, 0.02 + z * 0.01), abs=1e-12)
    assert simultaneous_interval(Interval(0.0, 0.0, 0.0, 0.95, "bootstrap_percentile", {}), level) is None


# --- real runs on the demo's HMDA models -------------------------------------------------------------------------


RULES: list[dict[str, Any]] = [
    # decided alone: disproven (the whole 95 % interval [0.755, 0.869] lies below 0.871)
    {"name": "auc_roc", "op": ">=", "value": 0.871, "confidence": 0.95, "guardband": "proven_harm"},
    {"name": "accuracy", "op": ">=", "value": 0.9, "confidence": 0.95, "guardband": "proven_harm"},
    {"name": "brier", "op": "<=", "value": 0.08, "confidence": 0.95, "guardband": "proven_harm"},
    {"name": "log_loss", "op": "<=", "value": 0.28, "confidence": 0.95, "guardband": "proven_harm"},
    {"name": "auc_roc", "max_drop": 0.0, "confidence": 0.95},
    # decided alone: proven (the paired interval of the accuracy change lies above 0)
    {"name": "accuracy", "max_drop": 0.0, "confidence": 0.95, "guardband": "proven_safe", "on_fail": "warn"},
    {"name": "auc_roc", "op": ">=", "value": 0.871, "confidence": 0.95, "guardband": "proven_harm",
     "interval": "delong"},
]


def _policy(art: Path, path: Path, families: list[dict[str, Any]] | None) -> Path:
    pol: dict[str, Any] = {
        "version": 1, "name": "families_demo",
        "inputs": {"data": str(art / "hmda_holdout.csv"), "target": "deny", "positive_label": "yes",
                   "model": str(art / "hmda_candidate.skops"),
                   "baseline": {"model": str(art / "hmda_production.skops")}},
        "metrics": RULES}
    if families:
        pol["families"] = families
    path.write_text(yaml.safe_dump(pol, sort_keys=False))
    return path


@pytest.fixture(scope="module")
def alone(hmda_models: Path, tmp_path_factory: pytest.TempPathFactory) -> list[CheckResult]:
    """Each rule decided alone (no family)."""
    return gatekit.run(_policy(hmda_models, tmp_path_factory.mktemp("alone") / "p.yaml", None)).checks


def _by_rule(checks: list[CheckResult]) -> dict[str, CheckResult]:
    return {c.details["rule"]: c for c in checks if "rule" in c.details}


@pytest.mark.parametrize("method", ["holm", "bonferroni", "sidak", "benjamini_hochberg"])
def test_a_family_on_real_rows_adjusts_the_recorded_p_values(hmda_models: Path, alone: list[CheckResult],
                                                             tmp_path: Path, method: str) -> None:
    report = gatekit.run(_policy(hmda_models, tmp_path / "p.yaml", [{"name": "quality", "method": method}]))
    lone, fam = _by_rule(alone), _by_rule(report.checks)
    where = [f"metrics[{i}]" for i in range(len(RULES))]
    raw_harm = [lone[w].details["outcome"]["p_harm"] for w in where]
    raw_safe = [lone[w].details["outcome"]["p_safe"] for w in where]
    # the family reads the p-values each rule has alone (same rows, same seeds)
    assert [fam[w].details["family"]["p_harm"] for w in where] == raw_harm
    assert [fam[w].details["family"]["p_safe"] for w in where] == raw_safe
    assert [fam[w].details["family"]["result_alone"] for w in where] == [lone[w].details["outcome"]["result"]
                                                                        for w in where]
    assert 0 < min(raw_harm) and sorted(raw_harm)[1] < ALPHA < sorted(raw_harm)[2]  # both AUC >= 0.871: disproven
    adj_harm = multipletests(raw_harm, method=SM[method])[1]
    adj_safe = multipletests(raw_safe, method=SM[method])[1]
    np.testing.assert_allclose([fam[w].details["family"]["p_harm_adjusted"] for w in where], adj_harm, rtol=1e-12)
    np.testing.assert_allclose([fam[w].details["family"]["p_safe_adjusted"] for w in where], adj_safe, rtol=1e-12)
    alpha = fam[where[0]].details["family"]["alpha"]
    for w, h, s in zip(where, adj_harm, adj_safe, strict=True):
        alone_result = lone[w].details["outcome"]["result"]
        expected = ("disproven" if h <= alpha else "proven" if s <= alpha else "inconclusive") \
            if alone_result in ("proven", "disproven") else alone_result
        power = lone[w].details["outcome"]["power"]
        mde = (norm.ppf(1 - alpha / len(where)) + norm.ppf(power["target"])) * power["se"]
        assert fam[w].details["family"]["mde_in_family"] == pytest.approx(mde, rel=1e-12)
        if expected == "inconclusive" and power["effect_is_margin"] and mde > power["effect"]:
            expected = "insufficient_data"  # the family's level alpha / m cannot show the margin on these rows
        assert fam[w].details["family"]["result"] == expected == fam[w].details["outcome"]["result"]
        assert fam[w].details["family"]["decided_by_family"] == (expected != alone_result)
    # metadata: one summary per family, members in policy order
    summary = report.metadata["families"][0]
    assert (summary["name"], summary["method"], summary["size"], summary["tested"]) == ("quality", method, 7, 7)
    assert [m["rule"] for m in summary["members"]] == where
    json.loads(report.to_json())  # strict JSON


def test_holm_turns_the_lone_disproven_rule_into_inconclusive_on_real_rows(hmda_models: Path, alone: list[CheckResult],
                                                                          tmp_path: Path) -> None:
    lone = _by_rule(alone)["metrics[0]"]
    assert (lone.details["outcome"]["result"], lone.status) == ("disproven", Status.FAIL)
    report = gatekit.run(_policy(hmda_models, tmp_path / "p.yaml", [{"name": "quality", "method": "holm"}]))
    check = _by_rule(report.checks)["metrics[0]"]
    fam = check.details["family"]
    p = lone.details["outcome"]["p_harm"]
    others = sorted(c.details["outcome"]["p_harm"] for c in alone if c.details.get("rule") != "metrics[0]")
    assert p < others[0]  # the smallest: Holm multiplies it by m = 7
    assert fam["p_harm_adjusted"] == pytest.approx(min(1.0, 7 * p), rel=1e-12)
    assert fam["p_harm_adjusted"] > ALPHA
    assert (fam["result_alone"], fam["result"], fam["decided_by_family"]) == ("disproven", "inconclusive", True)
    assert check.status == Status.PASS  # proven_harm: inconclusive is no harm (the rule's severity for it: pass)
    assert check.message.startswith("inconclusive in family 'quality', counted as a pass by the policy (p_harm ")


def test_bonferroni_simultaneous_intervals_are_the_replicates_quantiles(hmda_models: Path, tmp_path: Path) -> None:
    from gatekit.data.loader import load_inputs
    from gatekit.metrics.catalog import default_registry
    from gatekit.policy.loader import load_policy
    from gatekit.policy.run_inputs import merge_options
    from gatekit.sections.base import RunContext
    from gatekit.sections.families import run_families
    from gatekit.sections.metric_rules import MetricRulesSection

    registry = default_registry()
    lp = load_policy(_policy(hmda_models, tmp_path / "p.yaml", [{"name": "q", "method": "bonferroni"}]), registry)
    inputs = load_inputs(merge_options(lp), registry, 0.5, True)
    ctx = RunContext(policy=lp, inputs=inputs, registry=registry)
    checks = MetricRulesSection().run(ctx)
    run_families(ctx, checks)
    m = len(RULES)
    level = 1 - 0.05 / m  # Bonferroni: each interval at 1 - (1 - 0.95) / m
    tail = (1 - level) / 2
    for check, rule in zip(checks, RULES, strict=True):
        fam = check.details["family"]
        iv = ctx.evidence[id(check)]
        sim = fam["simultaneous_interval"]
        assert fam["simultaneous_confidence"] == pytest.approx(level, abs=1e-15)
        if rule.get("interval") == "delong":
            z = norm.ppf(1 - tail)
            se = check.details["interval"]["se"]
            assert (sim["low"], sim["high"]) == pytest.approx((iv.estimate - z * se, iv.estimate + z * se), abs=1e-12)
        else:
            assert (sim["low"], sim["high"]) == tuple(np.quantile(iv.replicates, [tail, 1 - tail]))
        assert sim["low"] <= check.details["interval"]["low"] and sim["high"] >= check.details["interval"]["high"]
        # Bonferroni's duality: the adjusted p-value decides exactly what the simultaneous bound shows
        op, limit = (rule["op"], rule["value"]) if "op" in rule else (">=", -rule["max_drop"])
        worst, best = (sim["low"], sim["high"]) if op == ">=" else (sim["high"], sim["low"])
        assert (fam["p_safe_adjusted"] <= fam["alpha"]) == (worst >= limit if op == ">=" else worst <= limit)
        assert (fam["p_harm_adjusted"] <= fam["alpha"]) == (best < limit if op == ">=" else best > limit)
    assert set(ctx.info["families"][0]) >= {"name", "method", "size", "alpha", "members", "simultaneous_confidence"}


def test_a_canary_family_counts_a_rule_without_an_interval_in_m(tmp_path: Path) -> None:
    from tests.sections.helpers import canary_policy, write_log

    log = tmp_path / "log.csv"
    write_log(log, n=300, mu_candidate=1.3, mu_production=1.0, seed=4)
    rules = [{"name": "auc_roc", "max_drop": 0.02, "confidence": 0.9, "resamples": 500},
             {"name": "average_precision", "max_drop": 0.02, "confidence": 0.9, "resamples": 500},
             # the log's scores are not probabilities: not computable, yet a member (fail closed)
             {"name": "brier", "max_increase": 0.01, "confidence": 0.9, "resamples": 500},
             {"name": "auc_roc", "max_drop": 0.05, "on_fail": "warn"}]  # no confidence: not a member
    lone = _by_rule(gatekit.run(canary_policy(log, rules)).checks)
    report = gatekit.run({**canary_policy(log, rules), "families": [{"name": "arms", "method": "holm",
                                                                     "section": "canary"}]})
    fam = _by_rule(report.checks)
    where = [f"canary.rules[{i}]" for i in range(2)]
    raw_harm = [lone[w].details["outcome"]["p_harm"] for w in where]
    raw_safe = [lone[w].details["outcome"]["p_safe"] for w in where]
    # m = 3: the member without a p-value weighs as a p-value of 1 would
    np.testing.assert_allclose([fam[w].details["family"]["p_harm_adjusted"] for w in where],
                               multipletests([*raw_harm, 1.0], method="holm")[1][:2], rtol=1e-12)
    np.testing.assert_allclose([fam[w].details["family"]["p_safe_adjusted"] for w in where],
                               multipletests([*raw_safe, 1.0], method="holm")[1][:2], rtol=1e-12)
    assert all(fam[w].details["family"]["alpha"] == pytest.approx(0.05) for w in where)  # (1 - 0.9) / 2
    brier = fam["canary.rules[2]"]
    assert brier.status == Status.NOT_COMPUTABLE == lone["canary.rules[2]"].status
    assert brier.details["family"]["p_harm"] is None and brier.message == lone["canary.rules[2]"].message
    assert "family" not in fam["canary.rules[3]"].details
    summary = report.metadata["families"][0]
    assert (summary["size"], summary["tested"]) == (3, 2)
    assert [m["rule"] for m in summary["members"]] == [*where, "canary.rules[2]"]


def test_a_family_that_cannot_be_decided_makes_its_members_errors() -> None:
    from gatekit.policy.specs import MetricRule
    from gatekit.sections.families import apply_families

    rules = [MetricRule(name="auc_roc", max_drop=0.01, confidence=0.95),
             MetricRule(name="brier", max_increase=0.01, confidence=0.95)]
    checks = [_check("proven", 0.99, 0.001), _check("disproven", 0.001, 0.99)]
    for i, c in enumerate(checks):
        c.details["rule"] = f"metrics[{i}]"
    broken = FamilySpec.model_construct(name="broken", method="no_such_method", section=None, metrics=None,
                                        on_fail=None, description=None)  # as a policy built in code, unvalidated
    (summary,) = apply_families([broken], rules, [], None, checks, {})
    assert [c.status for c in checks] == [Status.ERROR, Status.ERROR]  # never a pass
    assert checks[0].message.startswith("the family 'broken' could not be decided: KeyError")
    assert summary["error"].startswith("the family 'broken' could not be decided")


def _simulated_check(estimate: float, se: float, d: float) -> tuple[CheckResult, Interval]:
    """A max_drop d rule (guardband proven_harm) decided on a normal interval, as the live rule decides it."""
    from gatekit.policy.specs import MetricRule
    from gatekit.sections.comparison import _p_values, classify, conditions, outcome_status

    rule = MetricRule(name="auc_roc", max_drop=d, confidence=0.95)
    z = norm.ppf(0.975)
    iv = Interval(estimate, estimate - z * se, estimate + z * se, 0.95, "delong", {"se": se})
    conds = conditions(rule)
    result, power = classify(rule, iv, conds, 1000, "evaluation rows")
    p_harm, p_safe = _p_values(iv, conds)
    status, on_fail = outcome_status(result, rule.severities(), rule.on_fail)
    outcome = {"result": result, "mode": rule.hypothesis, "confidence": 0.95, "alpha": ALPHA, "p_harm": p_harm,
               "p_safe": p_safe, "severity": rule.severities(), "on_fail": "block", "power": power}
    return CheckResult(name="auc_roc vs baseline", section="performance", status=status, on_fail=on_fail,
                       message="alone", details={"outcome": outcome}), iv


def test_a_rule_the_family_can_no_longer_decide_on_too_few_rows_is_insufficient_data() -> None:
    # max_drop 0.01 rules decided on normal intervals; the first is disproven alone (change -0.03, se 0.01:
    # p_harm = Phi(-2) = 0.0228 <= 0.025), three others are null. Holm multiplies its p_harm by 4 (0.091): not
    # disproven in the family. At the family's level 0.025 / 4 the rows could not show the margin either:
    # (z_{1 - 0.00625} + z_{0.8}) 0.01 = 0.0334 > 0.01, so it is insufficient data (on_fail: block), never the
    # inconclusive pass that proven_harm would give, where a weaker change (insufficient alone) blocks.
    members = [_simulated_check(-0.03, 0.01, 0.01)] + [_simulated_check(0.0, 0.01, 0.01) for _ in range(3)]
    first, _ = members[0]
    assert first.details["outcome"]["result"] == "disproven" and first.status == Status.FAIL
    # (the limit moves by compare()'s 1e-11 tolerance: 1e-9 of a standard error)
    assert first.details["outcome"]["p_harm"] == pytest.approx(norm.cdf(-2.0), rel=1e-7)
    adjust_family(_family("holm"), 0.95, [(f"metrics[{i}]", c) for i, (c, _) in enumerate(members)],
                  {id(c): iv for c, iv in members})
    rec = first.details["family"]
    assert rec["p_harm_adjusted"] == pytest.approx(4 * norm.cdf(-2.0), rel=1e-7)
    assert rec["mde_in_family"] == pytest.approx((norm.ppf(1 - 0.025 / 4) + norm.ppf(0.8)) * 0.01, rel=1e-9)
    assert rec["result"] == "insufficient_data" and (first.status, first.on_fail) == (Status.INCONCLUSIVE,
                                                                                         OnFail.BLOCK)
    # with enough rows (se 0.002: family MDE 0.0067 < 0.01) the same adjusted verdict is a plain inconclusive,
    # which proven_harm counts as a pass
    est = -0.01 + norm.ppf(0.01) * 0.002  # p_harm alone 0.01, 0.04 after Holm's x4
    members = [_simulated_check(est, 0.002, 0.01)] + [_simulated_check(0.0, 0.002, 0.01) for _ in range(3)]
    first, _ = members[0]
    adjust_family(_family("holm"), 0.95, [(f"metrics[{i}]", c) for i, (c, _) in enumerate(members)],
                  {id(c): iv for c, iv in members})
    assert first.details["family"]["result"] == "inconclusive" and first.status == Status.PASS


@pytest.mark.slow
def test_thirty_null_true_rules_block_a_fine_model_at_most_alpha_with_holm() -> None:
    # 1,000 simulated policies of 30 max_drop rules whose true change sits exactly on the limit (-d: the null's
    # worst case for a false "proven harm"), each decided on its own normal interval by the live functions, then
    # by the family step. Alone, a policy blocks when any rule is disproven: 1 - 0.975^30 = 53.1 % (one-sided
    # 2.5 % per rule; the 79 % is the two-sided 5 %); Holm keeps the family-wise rate at most 2.5 %.
    rng = np.random.default_rng(2110)
    sims, rules, d, se = 1000, 30, 0.02, 0.01
    alone = family = 0
    for _ in range(sims):
        members = [_simulated_check(float(rng.normal(-d, se)), se, d) for _ in range(rules)]
        checks = [c for c, _ in members]
        alone += any(c.status == Status.FAIL for c in checks)
        adjust_family(_family("holm"), 0.95, [(f"metrics[{i}]", c) for i, c in enumerate(checks)],
                      {id(c): iv for c, iv in members})
        family += any(c.status == Status.FAIL for c in checks)
    expected_alone = 1 - (1 - ALPHA) ** rules
    se_alone = np.sqrt(expected_alone * (1 - expected_alone) / sims)
    assert abs(alone / sims - expected_alone) < 3 * se_alone, alone / sims
    assert family / sims <= ALPHA + 3 * np.sqrt(ALPHA * (1 - ALPHA) / sims), family / sims
