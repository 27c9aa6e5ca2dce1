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
