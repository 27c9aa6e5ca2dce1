"""Tests of :mod:`gatekit.policy.specs.metrics`: absolute and baseline-relative metric rules."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

import gatekit
from gatekit.core.errors import PolicyError
from gatekit.policy.loader import load_policy
from tests.helpers import write_policy as write
from tests.policy.helpers import problems_of
from tests.sections.helpers import _policy_file


def test_latency_rule_with_confidence_is_refused_at_load(tmp_path: Path) -> None:
    cand_file, base_file = tmp_path / "cand.json", tmp_path / "prod.json"
    cand_file.write_text(json.dumps({"latency_p95_ms": 40.0}), encoding="utf-8")
    base_file.write_text(json.dumps({"latency_p95_ms": 35.0}), encoding="utf-8")
    policy = {"version": 1, "inputs": {"metrics": str(cand_file), "baseline": {"metrics": str(base_file)}},
              "metrics": [{"name": "latency_p95_ms", "max_increase": 20, "confidence": 0.95}]}
    with pytest.raises(PolicyError, match="metrics file"):
        gatekit.run(policy)


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


def test_non_finite_threshold_is_rejected(tmp_path: Path) -> None:
    # value: .nan would make `!=` pass everything (NaN is never close to anything): fail open
    p = write(tmp_path, """
        version: 1
        metrics:
          - {name: mape, op: "!=", value: .nan}
          - {name: smape, op: "<=", value: .inf}
    """)
    got = {(x.line, x.key) for x in problems_of(p)}
    assert got == {(3, "metrics[0].value"), (4, "metrics[1].value")}


@pytest.mark.parametrize(("rule", "expected"), [
    ("{name: auc_roc, max_dropp: 0.02}", "did you mean 'max_drop'"),
    ("{name: auc_roc, max_drop: 0.02, confidence: 0.95, guardband: proven_harmful}", "proven_harm"),
    ("{name: auc_roc, max_drop: -0.02}", "greater than or equal to 0"),
    ("{name: auc_roc, max_drop: 0.02, confidence: 0.5}", "greater than 0.5"),
    ("{name: auc_roc, max_drop: 0.02, confidence: 1}", "less than 1"),
    ("{name: auc_roc, max_drop: 0.02, confidence: '0.95'}", "valid number"),
    ("{name: auc_roc, max_drop: 0.02, confidence: 0.95, resamples: 10}", "greater than or equal to 200"),
    ("{name: auc_roc, max_drop: 0.02, confidence: 0.95, seed: -1}", "greater than or equal to 0"),
    ("{name: auc_roc, max_drop: .nan}", "finite"),
    ("{name: precision_at_0_5, max_drop: 0.1, confidence: 0.9, interval: delong}", "DeLong"),
])
def test_policy_typos_in_new_keys_name_file_and_line(tmp_path: Path, rule: str, expected: str) -> None:
    p = _policy_file(tmp_path, f"version: 1\nmetrics:\n  - {rule}\n")
    with pytest.raises(PolicyError, match=expected) as err:
        load_policy(p)
    assert f"{p.name}:3:" in str(err.value)
