"""Tests of :mod:`gatekit.policy.loader`: the seed policies load, with fail-closed defaults."""

from __future__ import annotations

from pathlib import Path

import pytest

import gatekit
from gatekit.core.results import OnFail
from gatekit.policy import load_policy
from tests.helpers import POLICIES
from tests.helpers import write_json as metrics_file
from tests.helpers import write_policy as policy_file
from tests.helpers import write_policy as write
from tests.policy.helpers import only, problems_of


def test_policy_without_rules_does_not_pass(tmp_path: Path) -> None:
    # a policy with no rules could never pass: it is refused at validation (exit 2), never run to a pass
    from gatekit.core.errors import PolicyError

    pol = policy_file(tmp_path, "version: 1\nmetrics: []\n")
    m = metrics_file(tmp_path, {"auc_roc": 0.95})
    with pytest.raises(PolicyError, match="no rules"):
        gatekit.run(pol, metrics=m)


# --------------------------------------------------------------------------------------------------
# Valid policies
# --------------------------------------------------------------------------------------------------


def test_seed_format_loads() -> None:
    lp = load_policy(POLICIES / "seed_format.yaml")
    pol = lp.policy
    assert pol.strict is True
    assert [(r.name, r.op, r.value, r.on_fail) for r in pol.metrics] == [
        ("auc_roc", ">=", 0.90, OnFail.BLOCK),
        ("fairness_demographic_parity_diff", "<=", 0.10, OnFail.BLOCK),
        ("latency_p95_ms", "<=", 120.0, OnFail.WARN),
    ]
    assert [(g.gate, g.on_fail) for g in pol.gates] == [("model_performance", OnFail.BLOCK)]
    assert pol.gates[0].require == "auc_roc >= 0.90 AND precision_at_0_5 >= 0.75"
    assert pol.compatibility is not None
    assert pol.compatibility.feature_signature is not None
    assert pol.compatibility.feature_signature.mode == "strict"
    assert pol.compatibility.model_format is not None
    assert list(pol.compatibility.model_format.allowed) == ["onnx", "pickle_v2"]


@pytest.mark.parametrize("name", ["seed_example_1.yaml", "seed_example_2.yaml", "seed_exercise_1.yaml"])
def test_seed_examples_load(name: str) -> None:
    lp = load_policy(POLICIES / name)
    assert lp.policy.metrics
    assert lp.name == name.removesuffix(".yaml")


def test_sha256_is_of_the_file_bytes(tmp_path: Path) -> None:
    import hashlib

    p = write(tmp_path, """
        version: 1
        metrics:
          - name: auc_roc
            op: ">="
            value: 0.9
    """)
    assert load_policy(p).sha256 == hashlib.sha256(p.read_bytes()).hexdigest()


def test_defaults_fail_closed(tmp_path: Path) -> None:
    p = write(tmp_path, """
        version: 1
        metrics:
          - name: auc_roc
            op: ">="
            value: 1
    """)
    pol = load_policy(p).policy
    assert pol.strict is True
    assert pol.metrics[0].on_fail == OnFail.BLOCK
    assert pol.metrics[0].value == 1.0  # an integer threshold is a number


def test_policy_without_rules_is_invalid(tmp_path: Path) -> None:
    p = write(tmp_path, """
        version: 1
        metrics: []
    """)
    prob = only(problems_of(p))
    assert "no rules" in prob.message and prob.line == 1
