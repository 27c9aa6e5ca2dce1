"""Policy lifecycle pieces: the policy's JSON Schema (`gatekit schema`) and the warn-only pilot mode."""

from __future__ import annotations

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
