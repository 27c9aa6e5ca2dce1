"""Tests of :mod:`gatekit.policy.diff`: ``gatekit policy diff``."""

from __future__ import annotations

import json
from pathlib import Path

from tests.helpers import run_cli, write_policy

OLD = """
version: 1
name: loans
metrics:
  - {name: auc_roc, op: ">=", value: 0.80, on_fail: warn}
  - {name: precision_at_0_5, op: ">=", value: 0.75}
  - {name: demographic_parity_difference, op: "<=", value: 0.10}
  - {name: latency_p95_ms, max_increase: 20}
gates:
  - {gate: quality, require: "auc_roc >= 0.7"}
drift: {numerical: {method: psi, threshold: 0.2}}
"""
NEW = """
version: 2
name: loans
metrics:
  - {name: auc_roc, op: ">=", value: 0.85, on_fail: block}
  - {name: fairness_demographic_parity_diff, op: "<=", value: 0.12}
  - {name: latency_p95_ms, max_increase: 10}
  - {name: auc_roc, max_drop: 0.015, confidence: 0.95}
gates:
  - {gate: quality, require: "auc_roc >= 0.75", on_fail: warn}
drift: {numerical: {method: psi, threshold: 0.1}, on_fail: block}
"""


def test_policy_diff_names_each_change(tmp_path: Path) -> None:
    old, new = write_policy(tmp_path, OLD, "old.yaml"), write_policy(tmp_path, NEW, "new.yaml")
    proc = run_cli("policy", "diff", str(old), str(new), "--format", "json")
    assert proc.returncode == 0, proc.stderr
    d = json.loads(proc.stdout)
    assert d["old"] == "loans v1" and d["new"] == "loans v2"
    assert d["added"] == ["`auc_roc max_drop: 0.015 (confidence 0.95)` (block)"]
    assert d["removed"] == ["`precision_at_0_5 >= 0.75` (block)"]
    # an alias names the same metric: the parity rule is matched across the rename, and loosened
    assert d["tightened"] == ["`auc_roc` >= 0.8 → 0.85", "`latency_p95_ms` max_increase 20 → 10"]
    assert d["loosened"] == ["`fairness_demographic_parity_diff` <= 0.1 → 0.12"]
    assert d["severity"] == ["`auc_roc >= 0.85` (block): warn → block (escalated)",
                             "`drift.on_fail`: warn → block (escalated)",
                             "gate `quality`: block → warn (relaxed)"]
    assert d["other"] == ["gate `quality`: `auc_roc >= 0.7` → `auc_roc >= 0.75`",
                          "`drift.numerical.threshold`: 0.2 → 0.1"]
    md = run_cli("policy", "diff", str(old), str(new))
    assert md.returncode == 0 and md.stdout.startswith("## Policy changes: loans v1 → loans v2")
    assert "### Tightened (2)" in md.stdout and "### Severity (3)" in md.stdout
    same = run_cli("policy", "diff", str(old), str(old))
    assert "No rule changed." in same.stdout
    bad = write_policy(tmp_path, "version: 1\nmetrics: [{name: nope, op: '>=', value: 1}]\n", "bad.yaml")
    assert run_cli("policy", "diff", str(old), str(bad)).returncode == 2


def test_policy_diff_asks_for_a_version_bump_when_rules_changed_but_the_version_did_not(tmp_path: Path) -> None:
    old = write_policy(tmp_path, "version: 4\nmetrics:\n  - {name: auc_roc, op: '>=', value: 0.8}\n", "old.yaml")
    same = write_policy(tmp_path, "version: 4\nmetrics:\n  - {name: auc_roc, op: '>=', value: 0.85}\n", "same.yaml")
    bumped = write_policy(tmp_path, "version: 5\nmetrics:\n  - {name: auc_roc, op: '>=', value: 0.85}\n", "new.yaml")
    assert "bump it" in run_cli("policy", "diff", str(old), str(same)).stdout
    assert "bump it" not in run_cli("policy", "diff", str(old), str(bumped)).stdout
    assert json.loads(run_cli("policy", "diff", str(old), str(same), "--format", "json").stdout)["same_version"]
