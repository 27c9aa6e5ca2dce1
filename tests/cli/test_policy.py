"""Tests of :mod:`gatekit.cli.policy`: the policy's JSON Schema printed by ``gatekit schema``."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest
import yaml

from gatekit.policy.loader import PolicyYamlLoader
from tests.helpers import REPO, run_cli


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


# --- gatekit metrics ------------------------------------------------------------------------------------------------


def test_gatekit_metrics_lists_a_policy_s_custom_metrics_with_their_parameters(tmp_path: Path) -> None:
    example = REPO / "examples" / "custom_metrics"
    policy = tmp_path / "p.yaml"
    policy.write_text(f"version: 1\ncustom_metrics:\n  metrics_dir: {example}\nmetrics:\n"
                      "  - {name: net_benefit, op: '>', value: 0, params: {threshold_probability: 0.2}}\n")
    proc = run_cli("metrics", "--policy", str(policy))
    assert proc.returncode == 0, proc.stderr
    line = next(x for x in proc.stdout.splitlines() if x.startswith("net_benefit"))
    assert f"(custom: {example / 'net_benefit.py'}:" in line and "inputs y_true, y_score; tasks classification" in line
    assert "[performance, true positives per case]" in line
    assert line.endswith("params: threshold_probability (probability, required)")
    assert proc.stdout.startswith("roc_auc  [performance, fraction]")  # the built-in ones too
    plain = run_cli("metrics")
    assert plain.returncode == 0 and "net_benefit" not in plain.stdout  # nothing is loaded without a policy
    policy.write_text("version: 1\ncustom_metrics:\n  metrics_dir: nowhere\nmetrics:\n"
                      "  - {name: auc, op: '>', value: 0}\n")
    proc = run_cli("metrics", "--policy", str(policy))
    assert proc.returncode == 2 and "does not exist" in proc.stderr


def test_gatekit_metrics_lists_installed_entry_points_without_loading_them(tmp_path: Path) -> None:
    import os
    import subprocess
    import sys

    info = tmp_path / "gk_listed-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: gk-listed\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text("[gatekit.metrics]\nlisted = gk_listed_not_importable:fn\n")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(tmp_path), os.environ.get("PYTHONPATH", "")])}
    proc = subprocess.run([sys.executable, "-m", "gatekit", "metrics"], capture_output=True, text=True, env=env,
                          timeout=300)
    assert proc.returncode == 0, proc.stderr  # the module does not exist: listing never imports it
    assert "Installed custom metric entry points (group gatekit.metrics; not loaded" in proc.stdout
    assert "listed = gk_listed_not_importable:fn  (gk-listed 0.1)" in proc.stdout
