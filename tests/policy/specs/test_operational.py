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
    ({"rounds": 1}, "operational.rounds", "greater than or equal to 2"),
    ({"rounds": 4}, "operational", "rounds: 4 cannot give a 90% interval of the median (the range of 4 rounds "
                                    "covers it with 87.50%); use rounds: 5 or more"),
    ({"rounds": 5, "confidence": 0.95}, "operational", "use rounds: 6 or more, or lower confidence"),
    ({"confidence": 1.0}, "operational.confidence", "less than 1"),
    ({"clock": "gpu"}, "operational.clock", "'cpu' or 'wall'"),
    ({"threads": 0}, "operational.threads", "greater than or equal to 1"),
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
                                                                                              None, 1)
    assert (ops.rounds, ops.confidence, ops.clock, ops.threads) == (5, 0.9, "cpu", 1)


@pytest.mark.parametrize("confidence", [0.6, 0.75, 0.9, 0.95, 0.99, 0.999])
def test_rounds_needed_is_the_fewest_whose_range_covers_the_median(confidence: float) -> None:
    from scipy.stats import binom

    from gatekit.policy.specs.operational import rounds_needed

    # the range of R rounds misses the median only when all R fall on one side: 2 * binom.pmf(0, R, 0.5)
    fewest = next(r for r in range(2, 100) if 1 - 2 * binom.pmf(0, r, 0.5) >= confidence)
    assert rounds_needed(confidence) == fewest
    load_policy({"version": 1, "operational": {"rounds": fewest, "confidence": confidence},
                 "metrics": [{"name": "latency_p95_ms", "op": "<=", "value": 50}]})
    if fewest > 2:
        with pytest.raises(PolicyError):
            load_policy({"version": 1, "operational": {"rounds": fewest - 1, "confidence": confidence},
                         "metrics": [{"name": "latency_p95_ms", "op": "<=", "value": 50}]})


def test_the_shipped_numbers_of_rounds() -> None:
    from gatekit.policy.specs.operational import rounds_needed

    assert (rounds_needed(0.9), rounds_needed(0.95), rounds_needed(0.99), rounds_needed(0.75)) == (5, 6, 8, 3)


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
