"""Tests of :mod:`gatekit.policy.specs.families`: the ``families:`` key, its members and its load-time checks."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from gatekit.core.errors import PolicyError
from gatekit.metrics.catalog import default_registry
from gatekit.policy.loader import load_policy
from gatekit.policy.specs.families import family_alpha, family_members
from tests.helpers import run_cli
from tests.sections.helpers import _policy_file

METRICS = [
    {"name": "auc_roc", "max_drop": 0.01, "confidence": 0.95},                     # metrics[0]
    {"name": "brier", "max_increase": 0.005, "confidence": 0.95, "on_fail": "warn"},  # metrics[1]
    {"name": "accuracy", "op": ">=", "value": 0.8},                               # metrics[2]: no confidence
    {"name": "auc", "op": ">=", "value": 0.7, "confidence": 0.95},                 # metrics[3]: alias of auc_roc
]
CANARY = {"data": "log.csv", "target": "y", "score": "s",
          "rules": [{"name": "auc_roc", "max_drop": 0.02, "confidence": 0.95},         # canary.rules[0]
                    {"name": "demographic_parity_difference", "within": 0.05}]}        # no confidence


def _policy(families: list[dict[str, Any]], metrics: list[dict[str, Any]] | None = None,
            canary: dict[str, Any] | None = CANARY) -> dict[str, Any]:
    pol: dict[str, Any] = {"version": 1, "metrics": METRICS if metrics is None else metrics, "families": families}
    if canary is not None:
        pol["canary"] = canary
    return pol


def _members(family: dict[str, Any]) -> list[str]:
    lp = load_policy(_policy([family]))
    pol = lp.policy
    return [m.where for m in family_members(pol.families[0], pol.metrics, pol.canary.rules if pol.canary else [],
                                            default_registry())]


@pytest.mark.parametrize(("family", "expected"), [
    ({"name": "all"}, ["metrics[0]", "metrics[1]", "metrics[3]", "canary.rules[0]"]),
    ({"name": "m", "section": "metrics"}, ["metrics[0]", "metrics[1]", "metrics[3]"]),
    ({"name": "c", "section": "canary"}, ["canary.rules[0]"]),
    ({"name": "b", "on_fail": "block"}, ["metrics[0]", "metrics[3]", "canary.rules[0]"]),
    # aliases resolved both ways: the filter's `auc` finds the rules written auc_roc, and `auc` itself
    ({"name": "a", "metrics": ["auc"], "section": "metrics"}, ["metrics[0]", "metrics[3]"]),
    ({"name": "w", "metrics": ["brier"], "on_fail": "warn"}, ["metrics[1]"]),
])
def test_members_are_the_confidence_rules_matching_every_filter(family: dict[str, Any], expected: list[str]) -> None:
    assert _members(family) == expected


def test_defaults_and_the_family_level() -> None:
    lp = load_policy(_policy([{"name": "all"}]))
    fam = lp.policy.families[0]
    assert fam.method == "holm" and fam.section is None and fam.metrics is None and fam.on_fail is None
    members = family_members(fam, lp.policy.metrics, lp.policy.canary.rules, default_registry())
    confidence, alpha = family_alpha(members)
    assert confidence == 0.95 and alpha == pytest.approx(0.025)
    # a configuration key, not a section of rules: rule counts are unchanged
    assert lp.policy.rule_counts() == {"metrics": 4, "canary": 2}


def test_a_family_of_one_member_is_allowed() -> None:
    assert _members({"name": "c", "section": "canary"}) == ["canary.rules[0]"]


@pytest.mark.parametrize(("families", "message"), [
    ([{"name": "f", "section": "canary", "on_fail": "warn"}],
     r"families\[0\] 'f' has no member: no rule with confidence in metrics: or canary: matches its filters "
     r"\(section canary, on_fail warn\); add confidence: to the rules it should hold, or loosen its filters"),
    ([{"name": "f", "metrics": ["auc_roc", "brier"]}],
     r"families\[0\] 'f': its members have different confidence \(metrics\[0\] auc_roc: 0\.95; metrics\[1\] brier: "
     r"0\.9; metrics\[3\] auc: 0\.95; canary\.rules\[0\] auc_roc: 0\.95\); a family is tested at one level"),
    ([{"name": "f", "section": "metrics"}, {"name": "g", "metrics": ["auc_roc"]}],
     r"families\[1\] 'g': metrics\[0\] \(auc_roc\) is in family 'f' too; a rule belongs to at most one family"),
    ([{"name": "f", "metrics": ["accuracy"]}],
     r"families\[0\] 'f': its metrics filter names 'accuracy', but no rule with confidence in metrics: or canary: "
     r"uses that metric; add confidence: to the rule you meant, or remove the name from the filter"),
    ([{"name": "f", "section": "canary", "metrics": ["brier"]}],
     r"its metrics filter names 'brier', but no rule with confidence in canary: uses that metric"),
    ([{"name": "f", "metrics": ["auc_roc", "brier"], "on_fail": "warn"}],
     r"its metrics filter names 'auc_roc', but no rule with confidence in metrics: or canary: with on_fail warn "
     r"uses that metric"),
    ([{"name": "f", "section": "metrics"}, {"name": "f", "section": "canary"}],
     r"families\[1\] 'f': the name is used by families\[0\] too; give each family its own name"),
    ([{"name": "f", "metrics": ["aucc"]}], r"unknown metric 'aucc' in the family's metrics filter; did you mean"),
    ([{"name": "f", "method": "fdr"}], r"'holm', 'bonferroni', 'sidak' or 'benjamini_hochberg'"),
    ([{"method": "holm"}], r"required key 'name' is missing"),
    ([{"name": "f", "metrics": []}], r"families\[0\]\.metrics"),
])
def test_load_errors_name_the_family_and_what_to_do(families: list[dict[str, Any]], message: str) -> None:
    metrics = [dict(METRICS[0]), {**METRICS[1], "confidence": 0.9}, METRICS[2], METRICS[3]] \
        if "different" in message else METRICS
    with pytest.raises(PolicyError, match=message):
        load_policy(_policy(families, metrics))


def test_a_load_error_points_at_the_families_key_and_exits_2(tmp_path: Path) -> None:
    p = _policy_file(tmp_path, "version: 1\nmetrics:\n  - {name: auc_roc, max_drop: 0.01, confidence: 0.95}\n"
                               "families:\n  - {name: f, section: canary}\n")
    with pytest.raises(PolicyError) as err:
        load_policy(p)
    problem = err.value.problems[0]
    assert (problem.line, problem.key) == (4, "families")  # the families: key; the message names the family
    assert "'f' has no member" in problem.message
    proc = run_cli("validate", str(p))
    assert proc.returncode == 2
    assert "'f' has no member" in proc.stdout + proc.stderr


def test_other_errors_in_the_rules_are_not_hidden_by_the_family_check() -> None:
    # metrics: fails its own validation, so the families cannot be checked against it; its error is the one shown
    with pytest.raises(PolicyError, match="unknown op") as err:
        load_policy(_policy([{"name": "f"}], [{"name": "auc_roc", "op": "=>", "value": 0.5, "confidence": 0.95}]))
    assert "families" not in str(err.value)


def test_a_family_refuses_rules_decided_on_a_confidence_sequence() -> None:
    # a sequence has no p-value to adjust: a family holding one would report adjusting what it left alone
    seq_canary = {**CANARY, "sequential": {"method": "betting"},
                  "rules": [{"name": "accuracy", "max_drop": 0.02, "confidence": 0.95}]}
    with pytest.raises(PolicyError, match=r"families\[0\] 'f' holds canary\.rules\[0\] \(accuracy\), decided on an "
                                          r"anytime-valid confidence sequence, which has no p-value"):
        load_policy(_policy([{"name": "f"}], canary=seq_canary))
    shadow = [{"name": "accuracy", "max_drop": 0.02, "confidence": 0.95, "interval": "sequential"}, METRICS[0]]
    with pytest.raises(PolicyError, match=r"holds metrics\[0\] \(accuracy\), decided on an anytime-valid"):
        load_policy(_policy([{"name": "f"}], shadow, canary=None))
    # a family narrowed to the rules with p-values is fine
    lp = load_policy(_policy([{"name": "f", "section": "metrics"}], canary=seq_canary))
    assert [f.name for f in lp.policy.families] == ["f"]
