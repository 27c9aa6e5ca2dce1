"""Tests of :mod:`gatekit.policy.specs.data_quality`: invalid and contradictory rules are refused."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

import gatekit
from gatekit.core.errors import PolicyError
from gatekit.core.results import CheckResult
from gatekit.policy.loader import load_policy
from tests.helpers import run_cli, write_policy
from tests.sections.helpers import checks_by_name, write_csv

# ------------------------------------------------------------------------------------------------------
# Policy validation (no run)
# ------------------------------------------------------------------------------------------------------


BAD_COLUMN_RULES = [
    ({"type": "datetime"}, "needs timezone"),
    ({"type": "float", "timezone": "UTC"}, "timezone applies only to type: datetime"),
    ({"type": "float", "min": 5, "max": 1}, "min 5"),
    ({"type": "decimal"}, "use one of integer, float, number, string, boolean, datetime, category"),
    ({"max_null_fraction": 1.5}, "max_null_fraction"),
    ({"min": 0, "mostly": 0}, "mostly"),
]


@pytest.mark.parametrize(("rules", "needle"), BAD_COLUMN_RULES)
def test_invalid_column_rules_are_policy_errors(rules: dict[str, Any], needle: str) -> None:
    with pytest.raises(PolicyError) as exc:
        load_policy({"version": 1, "data_quality": {"columns": {"x": rules}}})
    assert needle in str(exc.value)


def test_validate_cli_reports_every_column_rule_problem(tmp_path: Path) -> None:
    pol = write_policy(tmp_path, """
        version: 1
        data_quality:
          columns:
            a: {type: datetime}
            b: {type: float, timezone: UTC}
            c: {min: 5, max: 1}
            d: {type: decimal}
            e: {max_null_fraction: 1.5}
            f: {min: 0, mostly: 0}
    """)
    res = run_cli("validate", str(pol))
    assert res.returncode == 2, res.stdout + res.stderr
    out = " ".join((res.stdout + res.stderr).split())
    for col in "abcdef":
        assert f"data_quality.columns.{col}" in out, col
    assert "needs timezone" in out and "timezone applies only" in out and "greater than max" in out
    assert "integer, float, number, string, boolean, datetime, category" in out


# ------------------------------------------------------------------------------------------------------
# Contradictory policies that are resolved in the permissive direction (fail open)
# ------------------------------------------------------------------------------------------------------


def _run_or_policy_error(tmp_path: Path, dq: dict[str, Any],
                         data: dict[str, list[Any]]) -> dict[str, CheckResult] | None:
    """Run a policy; None when it is refused as invalid (refusing a contradiction is fine too)."""
    csv = write_csv(tmp_path / "d.csv", data)
    try:
        return checks_by_name(gatekit.run({"version": 1, "data_quality": dq}, data=csv))
    except PolicyError:
        return None


def test_min_rows_is_not_dropped_next_to_row_count(tmp_path: Path) -> None:
    c = _run_or_policy_error(tmp_path, {"row_count": {"max": 1000}, "min_rows": 100}, {"a": [1, 2, 3]})
    assert c is None  # refused: one of the two spellings would be ignored
    with pytest.raises(PolicyError, match="not both"):
        gatekit.run({"version": 1, "data_quality": {"row_count": {"max": 1000}, "min_rows": 100}},
                    data=write_csv(tmp_path / "e.csv", {"a": [1]}))


def test_required_columns_entry_is_not_silently_made_optional(tmp_path: Path) -> None:
    c = _run_or_policy_error(tmp_path, {"required_columns": ["x"], "columns": {"x": {"required": False}}},
                             {"a": [1, 2, 3]})
    assert c is None  # refused: required_columns and required: false contradict each other


@pytest.mark.parametrize(("section", "match"), [
    ({"data_quality": {"row_count": {}}}, "needs min, max or both"),
    ({"data_quality": {"row_count": {"min": 10, "max": 5}}}, "greater than max"),
    ({"compatibility": {"feature_signature": {"expected": {"a": "float"}, "expected_file": "s.yaml"}}},
     "give one expected signature"),
    ({"compatibility": {"feature_signature": {"mode": "backward", "defaults": {"c": None}}}}, "null"),
])
def test_contradictory_or_empty_rules_are_refused(section: dict[str, Any], match: str) -> None:
    with pytest.raises(PolicyError, match=match):
        gatekit.run({"version": 1, **section}, data="unused.csv")


def test_unknown_column_key_suggests_the_right_one(tmp_path: Path) -> None:
    policy = tmp_path / "p.yaml"
    policy.write_text("version: 1\ndata_quality:\n  columns:\n    chist: {minimum: 1}\n")
    proc = run_cli("validate", str(policy))
    assert proc.returncode == 2
    assert "p.yaml:4:13" in proc.stderr and "did you mean 'min'?" in proc.stderr


# ------------------------------------------------------------------------------------------------------
# expectations_dir: the shipped demo names its custom expectations folder explicitly
# ------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["loan_approval.yaml", "loan_serving.yaml"])
def test_demo_policies_name_the_repository_expectations_folder(name: str) -> None:
    """The library they extend uses a custom expectation; the folder is never found by looking upwards."""
    from gatekit.sections.data_quality.plan import custom_folder
    from gatekit.validators.gx import not_builtin
    from tests.helpers import EXPECTATIONS, POLICIES

    lp = load_policy(POLICIES / name)
    dq = lp.policy.data_quality
    assert dq is not None and dq.expectations_dir == "../expectations"
    assert custom_folder(dq, lp) == EXPECTATIONS.resolve()
    types = [e.type for e in dq.expectations]
    assert set(not_builtin(types)) <= {"expect_column_most_common_value_share_to_be_at_most",
                                       "expect_column_values_to_not_contain_pii"}
    assert {p.stem for p in EXPECTATIONS.glob("*.py")} >= {"dominant_value"}

