"""Policy lifecycle pieces: the policy's JSON Schema (`gatekit schema`) and the warn-only pilot mode."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import jsonschema
import pytest
import yaml

from gatekit.policy.loader import PolicyYamlLoader
from tests.conftest import REPO, run_cli, write_json, write_policy


@pytest.fixture(scope="module")
def schema() -> dict:
    proc = run_cli("schema")
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


@pytest.mark.parametrize("path", sorted((REPO / "policies").glob("*.yaml")), ids=lambda p: p.name)
def test_every_shipped_policy_validates_against_the_schema(schema: dict, path: Path) -> None:
    data = yaml.load(path.read_text(), Loader=PolicyYamlLoader)  # a SafeLoader subclass
    jsonschema.validate(data, schema)


@pytest.mark.parametrize("bad", [
    {"version": 1, "metrics": [{"name": "auc_roc", "opp": ">=", "value": 0.9}]},   # unknown key
    {"version": 1, "metrics": [{"name": "auc_roc", "op": ">=", "value": "0.9"}]},  # a string, not a number
    {"version": 1, "mode": "pilot"},                                                 # not a mode
    {"metrics": []},                                                                 # no version
])
def test_the_schema_refuses_what_the_loader_refuses(schema: dict, bad: dict) -> None:
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(bad, schema)


def test_a_warn_only_policy_reports_what_would_block_and_exits_0(tmp_path: Path) -> None:
    metrics = write_json(tmp_path, {"auc_roc": 0.5})
    policy = write_policy(tmp_path, """
        version: 1
        mode: warn_only
        metrics:
          - {name: auc_roc, op: ">=", value: 0.9}
    """)
    proc = run_cli("run", str(policy), "--metrics", str(metrics), "--out", str(tmp_path / "o"))
    assert proc.returncode == 0, proc.stderr
    assert "would block" in proc.stdout
    report = json.loads((tmp_path / "o" / "gate_report.json").read_text())
    assert report["decision"] == "block" and report["metadata"]["enforcement"] == "warn_only"
    assert report["metadata"]["exit_code"] == 0
    conflict = run_cli("run", str(policy), "--metrics", str(metrics), "--fail-on-warn", "--out", str(tmp_path / "x"))
    assert conflict.returncode == 2 and "contradict" in conflict.stderr
    enforced = write_policy(tmp_path, "version: 1\nmetrics: [{name: auc_roc, op: '>=', value: 0.9}]\n", "e.yaml")
    assert run_cli("run", str(enforced), "--metrics", str(metrics), "--out", str(tmp_path / "e")).returncode == 1


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


def test_a_changed_base_policy_breaks_reproducibility(tmp_path: Path) -> None:
    from gatekit.core.reproducibility import verify

    write_policy(tmp_path, "version: 1\nmetrics: [{name: auc_roc, op: '>=', value: 0.8}]\n", "base.yaml")
    child = write_policy(tmp_path, "version: 2\nextends: base.yaml\n", "child.yaml")
    metrics = write_json(tmp_path, {"auc_roc": 0.9})
    assert run_cli("run", str(child), "--metrics", str(metrics), "--out", str(tmp_path / "o")).returncode == 0
    report = tmp_path / "o" / "gate_report.json"
    assert verify(report)["match"] is True
    (tmp_path / "base.yaml").write_text("version: 1\nmetrics: [{name: auc_roc, op: '>=', value: 0.95}]\n")
    res = verify(report)
    assert res["match"] is False and any(d.startswith("policy_base_0") for d in res["differences"])


def test_policy_diff_asks_for_a_version_bump_when_rules_changed_but_the_version_did_not(tmp_path: Path) -> None:
    old = write_policy(tmp_path, "version: 4\nmetrics:\n  - {name: auc_roc, op: '>=', value: 0.8}\n", "old.yaml")
    same = write_policy(tmp_path, "version: 4\nmetrics:\n  - {name: auc_roc, op: '>=', value: 0.85}\n", "same.yaml")
    bumped = write_policy(tmp_path, "version: 5\nmetrics:\n  - {name: auc_roc, op: '>=', value: 0.85}\n", "new.yaml")
    assert "bump it" in run_cli("policy", "diff", str(old), str(same)).stdout
    assert "bump it" not in run_cli("policy", "diff", str(old), str(bumped)).stdout
    assert json.loads(run_cli("policy", "diff", str(old), str(same), "--format", "json").stdout)["same_version"]
