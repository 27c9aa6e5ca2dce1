"""Tests of :mod:`gatekit.policy.specs.operational`."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from gatekit.core.errors import PolicyError
from gatekit.policy.loader import load_policy
from tests.helpers import run_cli

# --------------------------------------------------------------------------------------------------
# 8. The operational section is validated
# --------------------------------------------------------------------------------------------------


BAD_OPERATIONAL = [
    ({"requests": 0}, "operational.requests", "greater than or equal to 1"),
    ({"percentile_method": "median"}, "operational.percentile_method", "'nearest_rank' or 'linear'"),
    ({"bogus": 1}, "operational.bogus", "unknown key 'bogus'"),
    ({"repeats": 0}, "operational.repeats", "greater than or equal to 1"),
    ({"batch_rows": 0}, "operational.batch_rows", "greater than or equal to 1"),
    ({"warmup": -1}, "operational.warmup", "greater than or equal to 0"),
]


@pytest.mark.parametrize(("spec", "key", "fragment"), BAD_OPERATIONAL)
def test_bad_operational_keys_are_policy_errors(spec: dict[str, Any], key: str, fragment: str) -> None:
    with pytest.raises(PolicyError) as exc:
        load_policy({"version": 1, "operational": spec,
                     "metrics": [{"name": "latency_p95_ms", "op": "<=", "value": 50}]})
    problems = exc.value.problems
    assert len(problems) == 1, [str(p) for p in problems]
    assert problems[0].key == key
    assert fragment in problems[0].message, problems[0].message


def test_valid_operational_section_loads_with_its_defaults() -> None:
    lp = load_policy({"version": 1, "operational": {"percentile_method": "linear"},
                      "metrics": [{"name": "latency_p95_ms", "op": "<=", "value": 50}]})
    ops = lp.policy.operational
    assert ops is not None
    assert (ops.requests, ops.warmup, ops.percentile_method, ops.batch_rows, ops.repeats) == (400, 20, "linear",
                                                                                              None, 3)


def test_cli_validate_names_the_bad_operational_key(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("version: 1\noperational:\n  requests: 0\n  percentile_method: median\n"
                   "metrics:\n  - {name: latency_p95_ms, op: '<=', value: 50}\n", encoding="utf-8")
    res = run_cli("validate", str(bad))
    assert res.returncode == 2, res.stdout + res.stderr
    assert "operational.requests" in res.stderr and "operational.percentile_method" in res.stderr
    good = tmp_path / "good.yaml"
    good.write_text("version: 1\noperational: {requests: 2000, percentile_method: nearest_rank}\n"
                    "metrics:\n  - {name: latency_p99_ms, op: '<=', value: 5}\n", encoding="utf-8")
    res = run_cli("validate", str(good))
    assert res.returncode == 0, res.stdout + res.stderr
    assert res.stdout.startswith("valid: ")
