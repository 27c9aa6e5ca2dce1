"""Tests of :mod:`gatekit.core.decision`: the decision rule (pure), and the decision of whole runs of the
seed policies on observed metrics (``gatekit.run``).
"""

from __future__ import annotations

from pathlib import Path

import pytest

import gatekit
from gatekit.core.decision import decide, evaluate_threshold, margin
from gatekit.core.results import CheckResult, Decision, OnFail, Status
from tests.core.helpers import by_name
from tests.helpers import POLICIES
from tests.helpers import write_json as metrics_file
from tests.helpers import write_policy as policy_file

P, FL, ER, NC, SK = Status.PASS, Status.FAIL, Status.ERROR, Status.NOT_COMPUTABLE, Status.SKIPPED
BLOCK, WARN = OnFail.BLOCK, OnFail.WARN


def chk(status: Status, on_fail: OnFail, name: str = "rule") -> CheckResult:
    return CheckResult(name=name, section="performance", status=status, on_fail=on_fail)


# --------------------------------------------------------------------------------------------------
# decide(): one rule, every status x severity x strictness (expected values from the contract)
# --------------------------------------------------------------------------------------------------


SINGLE = [
    # status, on_fail, strict, expected
    (P, BLOCK, True, Decision.PASS), (P, BLOCK, False, Decision.PASS),
    (FL, BLOCK, True, Decision.BLOCK), (FL, BLOCK, False, Decision.BLOCK),
    (ER, BLOCK, True, Decision.BLOCK), (ER, BLOCK, False, Decision.WARN),
    (NC, BLOCK, True, Decision.BLOCK), (NC, BLOCK, False, Decision.WARN),
    (SK, BLOCK, True, Decision.BLOCK), (SK, BLOCK, False, Decision.WARN),
    (P, WARN, True, Decision.PASS), (P, WARN, False, Decision.PASS),
    (FL, WARN, True, Decision.WARN), (FL, WARN, False, Decision.WARN),
    (ER, WARN, True, Decision.WARN), (ER, WARN, False, Decision.WARN),
    (NC, WARN, True, Decision.WARN), (NC, WARN, False, Decision.WARN),
]


@pytest.mark.parametrize(("status", "on_fail", "strict", "expected"), SINGLE)
def test_single_rule(status: Status, on_fail: OnFail, strict: bool, expected: Decision) -> None:
    decision, reason = decide([chk(status, on_fail)], strict)
    assert decision == expected
    assert isinstance(reason, str) and reason


MIXED = [
    ([(P, BLOCK), (P, BLOCK), (P, WARN)], True, Decision.PASS),
    ([(P, BLOCK), (FL, WARN)], True, Decision.WARN),
    ([(P, BLOCK), (ER, WARN)], True, Decision.WARN),
    ([(P, BLOCK), (FL, WARN), (FL, BLOCK)], True, Decision.BLOCK),
    ([(P, BLOCK), (FL, WARN), (FL, BLOCK)], False, Decision.BLOCK),
    ([(NC, BLOCK), (P, WARN)], True, Decision.BLOCK),
    ([(NC, BLOCK), (P, WARN)], False, Decision.WARN),
    ([(SK, BLOCK), (P, BLOCK)], True, Decision.BLOCK),
    ([(SK, BLOCK), (P, BLOCK)], False, Decision.WARN),
    ([(P, BLOCK), (NC, WARN), (NC, WARN)], True, Decision.WARN),  # seed example 1 without drift/latency
    ([(P, BLOCK), (ER, BLOCK), (FL, WARN)], False, Decision.WARN),
]


@pytest.mark.parametrize(("rules", "strict", "expected"), MIXED)
def test_mixed_rules(rules: list[tuple[Status, OnFail]], strict: bool, expected: Decision) -> None:
    checks = [chk(s, o, name=f"r{i}") for i, (s, o) in enumerate(rules)]
    assert decide(checks, strict)[0] == expected


@pytest.mark.parametrize("strict", [True, False])
def test_no_checks_never_pass(strict: bool) -> None:
    decision, reason = decide([], strict)
    assert decision != Decision.PASS
    assert reason


def test_block_reason_names_the_blocking_rule() -> None:
    checks = [chk(P, BLOCK, "auc_roc"), chk(FL, WARN, "latency_p95_ms"),
              CheckResult(name="fairness_demographic_parity_diff", section="fairness", status=FL, on_fail=BLOCK,
                          observed=0.12, op="<=", threshold=0.10)]
    decision, reason = decide(checks, True)
    assert decision == Decision.BLOCK
    assert "fairness_demographic_parity_diff" in reason
    assert "auc_roc" not in reason


def test_decide_does_not_depend_on_order() -> None:
    checks = [chk(P, BLOCK, "a"), chk(FL, WARN, "b"), chk(NC, BLOCK, "c")]
    for strict, expected in ((True, Decision.BLOCK), (False, Decision.WARN)):
        assert decide(checks, strict)[0] == expected
        assert decide(list(reversed(checks)), strict)[0] == expected


# --------------------------------------------------------------------------------------------------
# margin(): positive on the passing side
# --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("observed", "op", "threshold", "expected"),
    [
        (0.92, ">=", 0.90, 0.02), (0.88, ">=", 0.90, -0.02),
        (5.0, ">", 3.0, 2.0), (1.0, ">", 3.0, -2.0),
        (0.08, "<=", 0.10, 0.02), (0.12, "<=", 0.10, -0.02),
        (1.0, "<", 3.0, 2.0), (5.0, "<", 3.0, -2.0),
        (130.0, "<=", 120.0, -10.0), (15.1, "<=", 14.0, -1.1),
    ],
)
def test_margin_values(observed: float, op: str, threshold: float, expected: float) -> None:
    assert margin(observed, op, threshold) == pytest.approx(expected)


@pytest.mark.parametrize("op", ["==", "!="])
def test_margin_has_no_direction_for_equality(op: str) -> None:
    assert margin(1.0, op, 2.0) is None


@pytest.mark.parametrize("op", [">=", ">", "<=", "<"])
@pytest.mark.parametrize(("observed", "threshold"), [(0.1, 0.2), (0.2, 0.1), (-3.0, 4.0), (120.0, 150.0)])
def test_margin_sign_agrees_with_status(op: str, observed: float, threshold: float) -> None:
    status, m = evaluate_threshold(observed, op, threshold)
    assert m is not None
    assert (m > 0) == (status == Status.PASS)


def test_margin_zero_at_inclusive_boundary_passes() -> None:
    assert evaluate_threshold(0.9, ">=", 0.9) == (Status.PASS, 0.0)
    assert evaluate_threshold(0.9, ">", 0.9) == (Status.FAIL, 0.0)


# --------------------------------------------------------------------------------------------------
# Whole runs on observed metrics (gatekit.run)
# --------------------------------------------------------------------------------------------------


def test_exercise_1_policy_without_drift_and_latency_warns(tmp_path: Path) -> None:
    m = metrics_file(tmp_path, {"auc_roc": 0.92, "precision_at_0_5": 0.77, "fairness_demographic_parity_diff": 0.08})
    report = gatekit.run(POLICIES / "seed_exercise_1.yaml", metrics=m)
    checks = by_name(report)
    assert set(checks) == {"auc_roc", "precision_at_0_5", "fairness_demographic_parity_diff", "psi_feature_drift",
                           "latency_p95_ms"}
    for name, observed in (("auc_roc", 0.92), ("precision_at_0_5", 0.77), ("fairness_demographic_parity_diff", 0.08)):
        assert checks[name].status == Status.PASS
        assert checks[name].on_fail == OnFail.BLOCK
        assert checks[name].observed == pytest.approx(observed)
        assert checks[name].margin is not None and checks[name].margin > 0
    for name in ("psi_feature_drift", "latency_p95_ms"):
        assert checks[name].status == Status.NOT_COMPUTABLE
        assert checks[name].on_fail == OnFail.WARN
        assert checks[name].observed is None
    assert report.decision == Decision.WARN


def test_seed_example_1_passes(tmp_path: Path) -> None:
    pol = POLICIES / "seed_example_1.yaml"
    m = metrics_file(tmp_path, {"auc_roc": 0.92, "precision_at_0_5": 0.77, "fairness_demographic_parity_diff": 0.08})
    report = gatekit.run(pol, metrics=m)
    assert [c.status for c in report.checks] == [Status.PASS] * 3
    assert all(c.on_fail == OnFail.BLOCK for c in report.checks)
    assert report.decision == Decision.PASS


def test_thresholds_are_inclusive_at_the_boundary(tmp_path: Path) -> None:
    pol = policy_file(tmp_path, """
        version: 1
        metrics:
          - name: auc_roc
            op: ">="
            value: 0.90
          - name: fairness_demographic_parity_diff
            op: "<="
            value: 0.10
    """)
    m = metrics_file(tmp_path, {"auc_roc": 0.90, "fairness_demographic_parity_diff": 0.10})
    assert gatekit.run(pol, metrics=m).decision == Decision.PASS


def test_seed_example_2_blocks_on_smape_only(tmp_path: Path) -> None:
    m = metrics_file(tmp_path, {"mape": 11.5, "smape": 15.1, "latency_p95_ms": 120})
    report = gatekit.run(POLICIES / "seed_example_2.yaml", metrics=m)
    checks = by_name(report)
    assert report.decision == Decision.BLOCK
    assert [c.name for c in report.checks if c.status != Status.PASS] == ["smape"]
    assert checks["smape"].status == Status.FAIL
    assert checks["smape"].observed == pytest.approx(15.1)
    assert checks["smape"].margin == pytest.approx(14 - 15.1)
    assert checks["mape"].status == Status.PASS
    assert checks["mape"].margin == pytest.approx(0.5)
    assert checks["latency_p95_ms"].status == Status.PASS
    assert checks["latency_p95_ms"].margin == pytest.approx(30.0)


def test_exercise_2_blocks_on_parity_only(tmp_path: Path) -> None:
    m = metrics_file(tmp_path, {"auc_roc": 0.91, "precision_at_0_5": 0.76, "fairness_demographic_parity_diff": 0.12,
                                "psi_feature_drift": 0.18, "latency_p95_ms": 130})
    report = gatekit.run(POLICIES / "seed_exercise_1.yaml", metrics=m)
    checks = by_name(report)
    assert report.decision == Decision.BLOCK
    blocking = [c.name for c in report.checks if c.on_fail == OnFail.BLOCK and c.status != Status.PASS]
    assert blocking == ["fairness_demographic_parity_diff"]
    parity = checks["fairness_demographic_parity_diff"]
    assert parity.status == Status.FAIL
    assert parity.margin == pytest.approx(-0.02)
    assert checks["latency_p95_ms"].status == Status.FAIL
    assert checks["latency_p95_ms"].on_fail == OnFail.WARN
    assert checks["latency_p95_ms"].margin == pytest.approx(-10.0)
    assert checks["psi_feature_drift"].status == Status.PASS
    assert checks["psi_feature_drift"].margin == pytest.approx(0.02)
    assert checks["auc_roc"].status == Status.PASS
    assert checks["precision_at_0_5"].status == Status.PASS
    assert "fairness_demographic_parity_diff" in report.reason


def test_exercise_2_without_parity_failure_only_warns(tmp_path: Path) -> None:
    m = metrics_file(tmp_path, {"auc_roc": 0.91, "precision_at_0_5": 0.76, "fairness_demographic_parity_diff": 0.09,
                                "psi_feature_drift": 0.18, "latency_p95_ms": 130})
    report = gatekit.run(POLICIES / "seed_exercise_1.yaml", metrics=m)
    assert report.decision == Decision.WARN
    assert [c.name for c in report.checks if c.status != Status.PASS] == ["latency_p95_ms"]


# ---- sections not implemented yet ---------------------------------------------------------------


ALL_GOOD = {"auc_roc": 0.95, "precision_at_0_5": 0.80, "fairness_demographic_parity_diff": 0.05,
            "latency_p95_ms": 100}


def test_seed_format_compatibility_without_a_model_blocks_in_strict_mode(tmp_path: Path) -> None:
    report = gatekit.run(POLICIES / "seed_format.yaml", metrics=metrics_file(tmp_path, ALL_GOOD))
    compat = [c for c in report.checks if c.section == "compatibility"]
    assert {c.name for c in compat} == {"feature_signature", "data_signature", "model_format"}
    for c in compat:
        assert c.status == Status.NOT_COMPUTABLE
        assert c.on_fail == OnFail.BLOCK
    others = [c for c in report.checks if c.section != "compatibility"]
    assert {c.name for c in others} == {"auc_roc", "fairness_demographic_parity_diff", "latency_p95_ms",
                                        "model_performance"}
    assert all(c.status == Status.PASS for c in others)  # so the block comes from the uncheckable rules alone
    assert report.decision == Decision.BLOCK


def test_seed_format_non_strict_skipped_rules_warn(tmp_path: Path) -> None:
    text = (POLICIES / "seed_format.yaml").read_text(encoding="utf-8").replace("strict: true", "strict: false")
    assert "strict: false" in text
    pol = tmp_path / "lax.yaml"
    pol.write_text(text, encoding="utf-8")
    report = gatekit.run(pol, metrics=metrics_file(tmp_path, ALL_GOOD))
    assert report.decision == Decision.WARN
