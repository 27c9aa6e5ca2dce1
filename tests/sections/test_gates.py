"""Tests of :mod:`gatekit.sections.gates`: ``require:`` gates over observed metrics."""

from __future__ import annotations

from pathlib import Path

import pytest

import gatekit
from gatekit.core.results import Decision, Status
from tests.core.helpers import by_name
from tests.helpers import write_json as metrics_file
from tests.helpers import write_policy as policy_file

# ---- require: gates ------------------------------------------------------------------------------


GATE_POLICY = """
    version: 1
    strict: {strict}
    gates:
      - gate: performance
        require: "auc_roc >= 0.90 AND (precision_at_0_5 >= 0.75 OR recall_at_0_5 >= 0.80)"
        on_fail: block
"""


@pytest.mark.parametrize(
    ("values", "status"),
    [
        ({"auc_roc": 0.92, "precision_at_0_5": 0.70, "recall_at_0_5": 0.85}, Status.PASS),   # T AND (F OR T)
        ({"auc_roc": 0.92, "precision_at_0_5": 0.80, "recall_at_0_5": 0.50}, Status.PASS),   # T AND (T OR F)
        ({"auc_roc": 0.92, "precision_at_0_5": 0.70, "recall_at_0_5": 0.70}, Status.FAIL),   # T AND (F OR F)
        ({"auc_roc": 0.85, "precision_at_0_5": 0.80, "recall_at_0_5": 0.85}, Status.FAIL),   # F AND (...)
        ({"auc_roc": 0.92, "precision_at_0_5": 0.70}, Status.NOT_COMPUTABLE),                # T AND (F OR U)
        ({"auc_roc": 0.92, "precision_at_0_5": 0.80}, Status.PASS),                          # T AND (T OR U)
        ({"auc_roc": 0.85, "precision_at_0_5": 0.70}, Status.FAIL),                          # F AND (F OR U)
        ({"auc_roc": 0.92, "precision_at_0_5": 0.70, "recall_at_0_5": None}, Status.NOT_COMPUTABLE),
    ],
)
def test_require_gate_status(tmp_path: Path, values: dict, status: Status) -> None:
    pol = policy_file(tmp_path, GATE_POLICY.format(strict="true"))
    report = gatekit.run(pol, metrics=metrics_file(tmp_path, values))
    (check,) = report.checks
    assert check.name == "performance"
    assert check.section == "gates"
    assert check.status == status
    expected = {Status.PASS: Decision.PASS, Status.FAIL: Decision.BLOCK, Status.NOT_COMPUTABLE: Decision.BLOCK}
    assert report.decision == expected[status]


def test_unknown_gate_blocks_in_strict_mode_and_warns_otherwise(tmp_path: Path) -> None:
    m = metrics_file(tmp_path, {"auc_roc": 0.92, "precision_at_0_5": 0.70})
    strict = gatekit.run(policy_file(tmp_path, GATE_POLICY.format(strict="true"), "s.yaml"), metrics=m)
    lax = gatekit.run(policy_file(tmp_path, GATE_POLICY.format(strict="false"), "l.yaml"), metrics=m)
    assert strict.checks[0].status == lax.checks[0].status == Status.NOT_COMPUTABLE
    assert strict.decision == Decision.BLOCK
    assert lax.decision == Decision.WARN


def test_gate_precedence_and_before_or(tmp_path: Path) -> None:
    # auc 0.85 fails, recall 0.85 holds. Without parentheses, AND binds first: (F AND T) OR T = pass;
    # with parentheses around the OR: F AND (T OR T) = fail.
    pol = policy_file(tmp_path, """
        version: 1
        gates:
          - gate: no_parens
            require: "auc_roc >= 0.90 AND precision_at_0_5 >= 0.75 OR recall_at_0_5 >= 0.80"
          - gate: parens
            require: "auc_roc >= 0.90 AND (precision_at_0_5 >= 0.75 OR recall_at_0_5 >= 0.80)"
          - gate: negated
            require: "NOT auc_roc >= 0.90 and recall_at_0_5 >= 0.80"
    """)
    m = metrics_file(tmp_path, {"auc_roc": 0.85, "precision_at_0_5": 0.80, "recall_at_0_5": 0.85})
    checks = by_name(gatekit.run(pol, metrics=m))
    assert checks["no_parens"].status == Status.PASS
    assert checks["parens"].status == Status.FAIL
    assert checks["negated"].status == Status.PASS  # (NOT F) AND T


def test_warn_gate_failing_only_warns(tmp_path: Path) -> None:
    pol = policy_file(tmp_path, """
        version: 1
        metrics:
          - name: auc_roc
            op: ">="
            value: 0.90
        gates:
          - gate: nice_to_have
            require: "pr_auc >= 0.80"
            on_fail: warn
    """)
    report = gatekit.run(pol, metrics=metrics_file(tmp_path, {"auc_roc": 0.95, "pr_auc": 0.60}))
    assert by_name(report)["nice_to_have"].status == Status.FAIL
    assert report.decision == Decision.WARN
