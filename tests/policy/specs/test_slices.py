"""Tests of :mod:`gatekit.policy.specs.slices`: the ``slices:`` section's rules, refused where they cannot mean much."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from gatekit.core.errors import PolicyError
from gatekit.policy.loader import load_policy
from gatekit.policy.specs import SliceRule
from tests.sections.helpers import _policy_file


def _load(**rule: Any) -> SliceRule:
    return load_policy({"version": 1, "slices": [{"metric": "auc_roc", "by": "g", **rule}]}).policy.slices[0]


def test_a_rule_takes_one_column_or_several_and_reads_its_defaults() -> None:
    one = _load(op=">=", value=0.7)
    assert one.by == ["g"] and one.min_rows == 30 and one.small_slices == "exclude" and one.on_fail.value == "block"
    assert one.check_name == "auc_roc by g"
    two = _load(by=["g", "h"], max_drop=0.1, name="auc by segment", bins={"h": [0, 1, float("inf")]})
    assert two.by == ["g", "h"] and two.check_name == "auc by segment" and two.bins == {"h": [0.0, 1.0, float("inf")]}


def test_metric_parameters_are_validated_and_cleaned() -> None:
    rule = load_policy({"version": 1, "slices": [{"metric": "precision_at_0_4", "by": "g", "op": ">=",
                                                   "value": 0.5}]}).policy.slices[0]
    assert rule.params == {}
    ece = load_policy({"version": 1, "slices": [{"metric": "ece", "by": "g", "op": "<=", "value": 0.1,
                                                  "params": {"bins": 10}}]}).policy.slices[0]
    assert ece.params == {"bins": 10}
    with pytest.raises(PolicyError, match="has no parameter 'sensitive'"):
        _load(op=">=", value=0.5, params={"sensitive": "g"})
    with pytest.raises(PolicyError, match="already set by the metric name"):
        load_policy({"version": 1, "slices": [{"metric": "recall_at_0_5", "by": "g", "op": ">=", "value": 0.5,
                                               "params": {"threshold": 0.3}}]})


@pytest.mark.parametrize(("metric", "why"), [
    ("demographic_parity_difference", "a fairness metric already compares groups"),
    ("prediction_agreement_rate", "a shadow metric compares two models"),
    ("latency_p95_ms", "it is not computed from the evaluation rows"),
    ("psi_feature_drift", "it is not computed from the evaluation rows"),
])
def test_metrics_that_are_not_a_model_s_quality_on_rows_are_refused(metric: str, why: str) -> None:
    with pytest.raises(PolicyError, match=f"cannot be computed per slice, as {why}"):
        load_policy({"version": 1, "slices": [{"metric": metric, "by": "g", "op": "<=", "value": 1}]})


def test_an_unknown_metric_is_named_with_a_suggestion(tmp_path: Path) -> None:
    p = _policy_file(tmp_path, "version: 1\nslices:\n  - {metric: auc_rocc, by: g, op: '>=', value: 0.5}\n")
    with pytest.raises(PolicyError, match="did you mean 'auc_roc'") as err:
        load_policy(p)
    assert f"{p.name}:3:" in str(err.value)


@pytest.mark.parametrize(("rule", "message"), [
    ({}, "needs op and value"),
    ({"op": ">="}, "needs op and value"),
    ({"op": ">=", "value": 0.7, "max_drop": 0.1}, "not both"),
    ({"op": "=>", "value": 0.7}, "did you mean '>='"),
    ({"op": ">=", "value": 0.7, "guardband": "proven_harm"}, "guardband only applies with confidence"),
    ({"op": "==", "value": 0.7, "confidence": 0.95}, "one-sided rule"),
    ({"op": ">=", "value": 0.7, "bins": {"h": [0, 1]}}, "bins names 'h', which by does not list"),
    ({"op": ">=", "value": 0.7, "bins": {"g": [1, 0]}}, "bins.g: bin edges must increase strictly"),
    ({"op": ">=", "value": 0.7, "bins": {"g": "quantiles"}}, "bins"),
    ({"op": ">=", "value": 0.7, "by": ["g", "g"]}, "names a column twice"),
    ({"op": ">=", "value": 0.7, "by": []}, "at least 1 item"),
    ({"op": ">=", "value": 0.7, "min_rows": 0}, "greater than or equal to 1"),
    ({"op": ">=", "value": 0.7, "small_slices": "drop"}, "'exclude' or 'block'"),
    ({"max_drop": -0.1}, "greater than or equal to 0"),
    ({"op": ">=", "value": 0.7, "resamples": 10}, "greater than or equal to 200"),
])
def test_malformed_rules_are_refused_with_their_reason(rule: dict[str, Any], message: str) -> None:
    with pytest.raises(PolicyError, match=message):
        _load(**rule)


def test_resamples_and_seed_apply_to_the_shown_intervals_too() -> None:
    rule = _load(op=">=", value=0.7, resamples=500, seed=3)
    assert (rule.resamples, rule.seed, rule.confidence) == (500, 3, None)


def test_max_drop_needs_a_metric_with_a_direction() -> None:
    with pytest.raises(PolicyError, match="no direction"):
        load_policy({"version": 1, "slices": [{"metric": "interval_coverage_at_0_9", "by": "g", "max_drop": 0.1}]})
    # op / value is fine: the rule's operator says which way is worse
    load_policy({"version": 1, "slices": [{"metric": "interval_coverage_at_0_9", "by": "g", "op": ">=", "value": 0.8}]})


def test_a_policy_of_slice_rules_alone_is_a_policy_with_rules() -> None:
    lp = load_policy({"version": 1, "slices": [{"metric": "rmse", "by": "store", "max_drop": 2.0}]})
    assert lp.policy.rule_counts() == {"slices": 1}
