"""Tests of :mod:`gatekit.policy.specs.canary`: the ``canary:`` section's rules."""

from __future__ import annotations

from pathlib import Path

import pytest

from gatekit.core.errors import PolicyError
from gatekit.policy.loader import load_policy
from tests.sections.helpers import _policy_file


@pytest.mark.parametrize("name", ["latency_p95_ms", "prediction_agreement_rate"])
def test_canary_rules_on_metrics_arms_cannot_give_are_refused(name: str) -> None:
    policy = {"version": 1, "canary": {"data": "log.csv", "target": "y", "score": "s",
                                       "rules": [{"name": name, "max_increase": 1}]}}
    with pytest.raises(PolicyError, match="cannot be compared between canary arms"):
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
