"""Tests of :mod:`gatekit.policy.specs.canary`: the ``canary:`` section's rules."""

from __future__ import annotations

from pathlib import Path

import pytest

from gatekit.core.errors import PolicyError
from gatekit.policy.loader import load_policy
from tests.sections.helpers import _policy_file


@pytest.mark.parametrize("name", ["prediction_agreement_rate", "batch_time_s"])
def test_canary_rules_on_metrics_arms_cannot_give_are_refused(name: str) -> None:
    policy = {"version": 1, "canary": {"data": "log.csv", "target": "y", "score": "s",
                                       "rules": [{"name": name, "max_increase": 1}]}}
    with pytest.raises(PolicyError, match="cannot be compared between canary arms"):
        load_policy(policy)


@pytest.mark.parametrize("name", ["latency_mean_ms", "latency_p50_ms", "latency_p95_ms", "latency_p99_ms"])
def test_canary_latency_rules_read_the_latency_column(name: str) -> None:
    rule = {"name": name, "max_increase": 1, "confidence": 0.95}
    policy = {"version": 1, "canary": {"data": "log.csv", "target": "y", "score": "s", "rules": [rule]}}
    with pytest.raises(PolicyError, match=rf"canary.rules\[0\] \({name}\): a canary latency rule reads each row's "
                                          r"served latency from the log; name its column in milliseconds"):
        load_policy(policy)
    lp = load_policy({**policy, "canary": {**policy["canary"], "latency": "ms"}})
    assert lp.policy.canary.latency == "ms" and lp.policy.canary.rules[0].confidence == 0.95
    assert lp.canary_resolved[0].spec.fn is None  # the catalog's spec; the canary section gives it its function
    # the catalog is untouched for the policy's other rules: under metrics: the name takes no confidence
    with pytest.raises(PolicyError, match="not computed from evaluation rows"):
        load_policy({**policy, "canary": {**policy["canary"], "latency": "ms"}, "inputs": {"metrics": "m.json"},
                     "metrics": [{"name": name, "op": "<=", "value": 5, "confidence": 0.95}]})
    with pytest.raises(PolicyError, match=r"canary\.latency 'y' is also the canary's target column"):
        load_policy({**policy, "canary": {**policy["canary"], "latency": "y"}})


@pytest.mark.parametrize("key", ["max_drop", "max_drop_pct", "min_increase", "min_increase_pct"])
def test_a_latency_limit_on_a_fall_is_refused(key: str) -> None:
    # lower latency is better: "max_drop: 5" would pass a candidate 100 ms slower
    policy = {"version": 1, "canary": {"data": "log.csv", "target": "y", "score": "s", "latency": "ms",
                                       "rules": [{"name": "latency_p95_ms", key: 5}]}}
    pct = "_pct" if key.endswith("_pct") else ""
    with pytest.raises(PolicyError, match=rf"{key} limits a fall, and a slower candidate's latency rises; use "
                                          rf"max_increase{pct} \(at most this much slower\)"):
        load_policy(policy)


def test_empty_canary_rules_are_refused_with_line(tmp_path: Path) -> None:
    p = _policy_file(tmp_path, "version: 1\ncanary: {data: c.csv, target: y, score: s, rules: []}\n")
    with pytest.raises(PolicyError, match=r"canary\.rules") as err:
        load_policy(p)
    assert f"{p.name}:2:" in str(err.value)


@pytest.mark.parametrize(("candidate", "baseline"), [("Prod", "prod"), (1, "1"), ("1.0", 1), (" a ", "A"),
                                                     (True, "true")])
def test_arms_that_match_the_same_rows_are_refused(tmp_path, candidate, baseline) -> None:
    # arms are matched in normal form (gatekit.core.labels.norm_label): these pairs would pick the same rows and
    # compare the production arm with itself
    from gatekit.core.errors import PolicyError
    from gatekit.policy.loader import load_policy

    pol = {"version": 1, "canary": {"data": "log.csv", "target": "y", "score": "s", "candidate_arm": candidate,
                                    "baseline_arm": baseline,
                                    "rules": [{"name": "auc_roc", "max_drop": 0.02}]}}
    with pytest.raises(PolicyError, match="name the same arm"):
        load_policy(pol)
