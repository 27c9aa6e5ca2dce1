"""Tests of :mod:`gatekit.policy.extends`: a policy's ``extends:``."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from tests.helpers import write_policy


def test_extends_merges_a_base_policy_under_the_child(tmp_path: Path) -> None:
    from gatekit.policy.loader import load_policy

    write_policy(tmp_path, """
        version: 1
        strict: true
        decision_threshold: 0.4
        metrics:
          - {name: auc_roc, op: ">=", value: 0.80}
          - {name: precision_at_0_5, op: ">=", value: 0.75}
        gates:
          - {gate: g1, require: "auc_roc >= 0.7"}
        drift: {numerical: {method: psi, threshold: 0.2}}
    """, "base.yaml")
    child = write_policy(tmp_path, """
        version: 3
        extends: base.yaml
        metrics:
          - {name: auc_roc, op: ">=", value: 0.85}
          - {name: recall_at_0_5, op: ">=", value: 0.5}
        gates:
          - {gate: g1, require: "auc_roc >= 0.75", on_fail: warn}
        drift: {numerical: {threshold: 0.1}}
    """, "child.yaml")
    lp = load_policy(child)
    pol = lp.policy
    # the child's auc_roc >= rule replaces the base's; the base's other rule is kept, first
    assert [(r.name, r.value) for r in pol.metrics] == [("precision_at_0_5", 0.75), ("auc_roc", 0.85),
                                                        ("recall_at_0_5", 0.5)]
    assert [(g.gate, g.require, g.on_fail.value) for g in pol.gates] == [("g1", "auc_roc >= 0.75", "warn")]
    assert pol.drift.numerical.method == "psi" and pol.drift.numerical.threshold == 0.1  # merged key by key
    assert pol.decision_threshold == 0.4 and pol.version == 3
    assert lp.bases == [(str((tmp_path / "base.yaml").resolve()),
                         hashlib.sha256((tmp_path / "base.yaml").read_bytes()).hexdigest())]


def test_extends_problems_point_at_the_childs_lines(tmp_path: Path) -> None:
    from gatekit.core.errors import PolicyError
    from gatekit.policy.loader import load_policy

    write_policy(tmp_path, "version: 1\nmetrics: [{name: auc_roc, op: '>=', value: 0.8}]\n", "base.yaml")
    child = write_policy(tmp_path, 'version: 2\nextends: base.yaml\nmetrics:\n  - {name: recall_at_0_5, op: ">=", '
                                   'value: "x"}\n', "child.yaml")
    with pytest.raises(PolicyError) as err:
        load_policy(child)
    problem = err.value.problems[0]
    assert problem.line == 4 and problem.key == "metrics[1].value"  # the child's rule, after the base's one
    loop = write_policy(tmp_path, "version: 1\nextends: loop.yaml\nmetrics: []\n", "loop.yaml")
    with pytest.raises(PolicyError, match="cycle"):
        load_policy(loop)
    missing = write_policy(tmp_path, "version: 1\nextends: nope.yaml\n", "m.yaml")
    with pytest.raises(PolicyError, match="not found"):
        load_policy(missing)
