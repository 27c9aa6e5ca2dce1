"""Tests of the decision rule (pure) and of whole runs on observed metrics (gatekit.run)."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

import gatekit
from gatekit.core.decision import decide, evaluate_threshold, margin
from gatekit.core.results import CheckResult, Decision, GateReport, OnFail, Status
from tests.conftest import write_json as metrics_file
from tests.conftest import write_policy as policy_file

POLICIES = Path(__file__).resolve().parents[1] / "policies"

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


def by_name(report: GateReport) -> dict[str, CheckResult]:
    names = [c.name for c in report.checks]
    assert len(names) == len(set(names)), names
    return {c.name: c for c in report.checks}


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


def test_null_in_metrics_file_is_not_computable(tmp_path: Path) -> None:
    m = metrics_file(tmp_path, {"mape": None, "smape": 10.0, "latency_p95_ms": 100})
    report = gatekit.run(POLICIES / "seed_example_2.yaml", metrics=m)
    assert by_name(report)["mape"].status == Status.NOT_COMPUTABLE
    assert report.decision == Decision.BLOCK  # strict: a block rule that is not a pass blocks


def test_policy_without_rules_does_not_pass(tmp_path: Path) -> None:
    # a policy with no rules could never pass: it is refused at validation (exit 2), never run to a pass
    from gatekit.core.errors import PolicyError

    pol = policy_file(tmp_path, "version: 1\nmetrics: []\n")
    m = metrics_file(tmp_path, {"auc_roc": 0.95})
    with pytest.raises(PolicyError, match="no rules"):
        gatekit.run(pol, metrics=m)


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


def test_report_metadata_records_policy_hash(tmp_path: Path) -> None:
    import hashlib

    pol = POLICIES / "seed_example_2.yaml"
    report = gatekit.run(pol, metrics=metrics_file(tmp_path, {"mape": 11.5, "smape": 15.1, "latency_p95_ms": 120}))
    assert report.metadata["policy"]["sha256"] == hashlib.sha256(pol.read_bytes()).hexdigest()
    d = report.to_dict()
    assert d["decision"] == "block"
    assert d["counts"]["fail"] == 1 and d["counts"]["pass"] == 2
    assert all(v is None or math.isfinite(v) for c in d["checks"] for v in (c["observed"], c["threshold"]))
