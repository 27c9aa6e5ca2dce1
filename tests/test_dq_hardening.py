"""Hostile inputs to the data-quality and compatibility sections: each must fail closed, never pass or vanish."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

import gatekit
from gatekit.core.errors import PolicyError
from gatekit.core.results import Decision, Status
from tests.conftest import run_cli

AGG = '''
from great_expectations.execution_engine import PandasExecutionEngine
from great_expectations.expectations.expectation import ColumnAggregateExpectation
from great_expectations.expectations.metrics import ColumnAggregateMetricProvider, column_aggregate_value


class ColumnRowsForTest{tag}(ColumnAggregateMetricProvider):
    metric_name = "test_{tag}.column.rows"

    @column_aggregate_value(engine=PandasExecutionEngine)
    def _pandas(cls, column, **kwargs):
        return int(len(column))


class {cls}(ColumnAggregateExpectation):
    metric_dependencies = ("test_{tag}.column.rows",)

    def _validate(self, metrics, runtime_configuration=None, execution_engine=None):
        {body}
'''


def custom(folder: Path, name: str, cls: str, body: str, tag: str) -> None:
    folder.mkdir(exist_ok=True)
    (folder / f"{name}.py").write_text(textwrap.dedent(AGG).format(cls=cls, body=body, tag=tag))


def csv(tmp_path: Path, data: dict[str, list[Any]], name: str = "d.csv") -> Path:
    path = tmp_path / name
    pd.DataFrame(data).to_csv(path, index=False)
    return path


def by_name(report: Any) -> dict[str, Any]:
    return {c.name: c for c in report.checks}


def test_sys_exit_in_a_custom_file_is_an_error_not_a_silent_exit_0(tmp_path: Path) -> None:
    exp = tmp_path / "expectations"
    exp.mkdir()
    (exp / "quits.py").write_text("import sys\nsys.exit(0)\n")
    data = csv(tmp_path, {"x": [1, 2, 3]})
    policy = tmp_path / "p.yaml"
    policy.write_text("version: 1\ndata_quality:\n  columns:\n    x: {min: 100}\n")
    proc = run_cli("run", str(policy), "--data", str(data), "--out", str(tmp_path / "out"), cwd=tmp_path)
    assert proc.returncode == 1, proc.stderr
    report = json.loads((tmp_path / "out" / "gate_report.json").read_text())
    checks = {c["name"]: c for c in report["checks"]}
    assert checks["custom_expectations:quits.py"]["status"] == "error"
    assert "quits.py:2" in checks["custom_expectations:quits.py"]["message"]
    assert checks["x.range"]["status"] == "fail"  # 3 of 3 values below 100: the other rules still ran


def test_sys_exit_inside_a_custom_validate_turns_the_section_into_errors(tmp_path: Path) -> None:
    custom(tmp_path / "expectations", "exits", "ExpectColumnToQuitForTest", "import sys; sys.exit(0)", "quit")
    data = csv(tmp_path, {"x": [1, 2, 3]})
    pol = {"version": 1, "data_quality": {"expectations_dir": str(tmp_path / "expectations"),
                                          "columns": {"x": {"min": 0}},
                                          "expectations": [{"type": "expect_column_to_quit_for_test",
                                                            "kwargs": {"column": "x"}}]}}
    report = gatekit.run(pol, data=data)
    assert report.decision == Decision.BLOCK
    assert all(c.status == Status.ERROR for c in report.checks)
    assert "SystemExit" in report.checks[0].message


def test_a_custom_class_cannot_replace_a_great_expectations_builtin(tmp_path: Path) -> None:
    custom(tmp_path / "expectations", "shadow", "ExpectColumnValuesToBeBetween",
           'return {"success": True, "result": {"unexpected_count": 0}}', "shadow")
    data = csv(tmp_path, {"x": [1, 2, 3, 4]})
    pol = {"version": 1, "data_quality": {"expectations_dir": str(tmp_path / "expectations"),
                                          "columns": {"x": {"min": 100}}}}
    c = by_name(gatekit.run(pol, data=data))
    assert c["x.range"].status == Status.FAIL  # the real expect_column_values_to_be_between: 4 of 4 below 100
    assert c["x.range"].details["unexpected_count"] == 4
    err = c["custom_expectations:shadow.py"]
    assert err.status == Status.ERROR and "expect_column_values_to_be_between" in err.message


def test_custom_expectations_do_not_leak_into_later_runs(tmp_path: Path) -> None:
    custom(tmp_path / "expectations", "ok", "ExpectColumnRowsToBeKnownForTest",
           'return {"success": True, "result": {"observed_value": metrics["test_leak.column.rows"]}}', "leak")
    data = csv(tmp_path, {"x": [1, 2]})
    rule = {"type": "expect_column_rows_to_be_known_for_test", "kwargs": {"column": "x"}}
    with_folder = {"version": 1, "data_quality": {"expectations_dir": str(tmp_path / "expectations"),
                                                  "expectations": [rule]}}
    first = by_name(gatekit.run(with_folder, data=data))
    assert first["expect_column_rows_to_be_known_for_test(x)"].status == Status.PASS
    (tmp_path / "elsewhere").mkdir()
    without = {"version": 1, "data_quality": {"expectations_dir": str(tmp_path / "elsewhere"), "expectations": [rule]}}
    second = by_name(gatekit.run(without, data=data))
    assert second["expect_column_rows_to_be_known_for_test(x)"].status == Status.ERROR
    assert "unknown expectation" in second["expect_column_rows_to_be_known_for_test(x)"].message


def test_a_success_that_is_not_true_does_not_pass(tmp_path: Path) -> None:
    custom(tmp_path / "expectations", "weird", "ExpectColumnWeirdForTest",
           'return {"success": "false", "result": {"observed_value": 1}}', "weird")
    data = csv(tmp_path, {"x": [1, 2]})
    pol = {"version": 1, "data_quality": {"expectations_dir": str(tmp_path / "expectations"), "expectations": [
        {"type": "expect_column_weird_for_test", "kwargs": {"column": "x"}}]}}
    assert by_name(gatekit.run(pol, data=data))["expect_column_weird_for_test(x)"].status == Status.FAIL


def test_rules_that_look_at_no_value_are_not_computable(tmp_path: Path) -> None:
    data = tmp_path / "d.csv"
    data.write_text("id,notes,cat\n,,\n,,\n,,\n")  # every value null
    pol = {"version": 1, "data_quality": {
        "columns": {"id": {"unique": True}, "cat": {"max_distinct": 2}},
        "expectations": [{"type": "expect_column_values_to_match_regex", "kwargs": {"column": "notes", "regex": "^a"}},
                         {"type": "expect_column_max_to_be_between", "kwargs": {"column": "id", "max_value": 5}}]}}
    c = by_name(gatekit.run(pol, data=data))
    for name in ("id.unique", "cat.distinct", "expect_column_values_to_match_regex(notes)",
                 "expect_column_max_to_be_between(id)"):
        assert c[name].status == Status.NOT_COMPUTABLE, (name, c[name].message)


def test_an_exception_inside_great_expectations_is_an_error_with_its_message(tmp_path: Path) -> None:
    data = csv(tmp_path, {"s": ["a", "b"]})
    pol = {"version": 1, "data_quality": {"expectations": [
        {"type": "expect_column_values_to_match_regex", "kwargs": {"column": "s", "regex": "(["}}]}}
    check = gatekit.run(pol, data=data).checks[0]
    assert check.status == Status.ERROR
    assert "could not evaluate" in check.message


def test_one_unhashable_column_errors_alone(tmp_path: Path) -> None:
    frame = pd.DataFrame({"tags": [[1, 2], [3]], "ok": [1.0, 2.0]})
    frame.to_parquet(tmp_path / "d.parquet")
    frame.to_parquet(tmp_path / "r.parquet")
    pol = {"version": 1, "data_quality": {"columns": {"tags": {"max_unseen_share": 0.1}, "ok": {"min": 0}}}}
    c = by_name(gatekit.run(pol, data=tmp_path / "d.parquet", reference=tmp_path / "r.parquet"))
    assert c["tags.unseen_share"].status == Status.ERROR
    assert c["ok.range"].status == Status.PASS


def test_mlmodel_beside_the_artifact_must_describe_it(tmp_path: Path) -> None:
    import skops.io as sio
    from sklearn.linear_model import LogisticRegression

    X = pd.DataFrame({"a": [0.0, 1.0, 2.0, 3.0], "b": [1.0, 0.0, 1.0, 0.0], "c": [0.5, 0.2, 0.1, 0.9]})
    model = LogisticRegression().fit(X, [0, 1, 0, 1])
    (tmp_path / "m").mkdir()
    sio.dump(model, tmp_path / "m" / "cand.skops")
    (tmp_path / "m" / "MLmodel").write_text("signature:\n  inputs: '[{\"name\": \"a\", \"type\": \"double\"}, "
                                            "{\"name\": \"b\", \"type\": \"double\"}]'\n")
    data = csv(tmp_path, {"a": [1.0], "b": [2.0], "c": [3.0]})
    pol = {"version": 1, "compatibility": {"feature_signature": {"mode": "backward",
                                                                 "expected": {"a": "float", "b": "float"}}}}
    c = by_name(gatekit.run(pol, data=data, model=tmp_path / "m" / "cand.skops"))
    assert c["feature_signature"].status == Status.NOT_COMPUTABLE
    assert "MLmodel" in c["feature_signature"].message
    (tmp_path / "m" / "MLmodel").unlink()
    declared = {"version": 1, "compatibility": {"feature_signature": {
        "mode": "backward", "expected": {"a": "float", "b": "float"}, "candidate": {"a": "float", "b": "float"}}}}
    c = by_name(gatekit.run(declared, data=data, model=tmp_path / "m" / "cand.skops"))
    assert c["feature_signature"].status == Status.NOT_COMPUTABLE  # the declaration may not hide the real c
    assert "feature_signature.candidate" in c["feature_signature"].message


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


def test_an_empty_suite_is_an_error_not_a_pass(tmp_path: Path) -> None:
    (tmp_path / "s.json").write_text('{"name": "s", "expectations": []}')
    (tmp_path / "dup.json").write_text('{"name": "s", "expectations": [], "expectations": []}')
    data = csv(tmp_path, {"x": [1]})
    policy = tmp_path / "p.yaml"
    policy.write_text("version: 1\ndata_quality:\n  suites: [s.json, dup.json]\n")
    c = by_name(gatekit.run(policy, data=data))
    assert c["suite:s.json"].status == Status.ERROR and "no expectations" in c["suite:s.json"].message
    assert c["suite:dup.json"].status == Status.ERROR and "duplicate key" in c["suite:dup.json"].message


def test_unknown_column_key_suggests_the_right_one(tmp_path: Path) -> None:
    policy = tmp_path / "p.yaml"
    policy.write_text("version: 1\ndata_quality:\n  columns:\n    chist: {minimum: 1}\n")
    proc = run_cli("validate", str(policy))
    assert proc.returncode == 2
    assert "p.yaml:4:13" in proc.stderr and "did you mean 'min'?" in proc.stderr


def test_compatible_is_backward_also_as_a_mode() -> None:
    from gatekit.policy.specs import FeatureSignatureSpec

    assert FeatureSignatureSpec.model_validate({"mode": "compatible"}).mode == "backward"


def test_section_null_limit_takes_the_columns_severity_and_examples_are_distinct(tmp_path: Path) -> None:
    data = csv(tmp_path, {"a": [1.0, None, 3.0, 3.0], "id": [6, 6, 7, 8]})
    pol = {"version": 1, "data_quality": {"max_null_fraction": 0.0,
                                          "columns": {"a": {"on_fail": "warn"}, "id": {"unique": True}}}}
    c = by_name(gatekit.run(pol, data=data))
    assert c["a.max_null_fraction"].status == Status.FAIL and c["a.max_null_fraction"].on_fail.value == "warn"
    assert c["id.unique"].details["examples"] == [6]  # GE lists 6 twice; one example says it
    assert "e.g. 6" in c["id.unique"].message


def test_a_closed_stdout_keeps_the_decisions_exit_code(tmp_path: Path) -> None:
    import subprocess
    import sys

    policy = tmp_path / "p.yaml"
    policy.write_text("version: 1\ndata_quality:\n  required_columns: [x]\n")
    data = csv(tmp_path, {"x": [1] * 3})
    proc = subprocess.run(f"{sys.executable} -m gatekit run {policy} --data {data} --out {tmp_path / 'o'} | head -c1; "
                          "exit ${PIPESTATUS[0]}", shell=True, executable="/bin/bash", capture_output=True,
                          text=True, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr  # a pass, even though the reader hung up


def test_a_row_with_more_fields_than_the_header_is_refused_not_truncated(tmp_path: Path) -> None:
    from gatekit.core.errors import InputError
    from gatekit.data.readers import read_frame

    path = tmp_path / "r.csv"
    path.write_text("a,b\n1,2\n3,4,5\n6,7\n")
    with pytest.raises(InputError, match="line 3"):
        read_frame(path)


def test_html_shows_a_row_per_column_and_the_signature_table(tmp_path: Path) -> None:
    from gatekit.report.html import render_html

    data = csv(tmp_path, {"a": [1.0, 2.0], "b": ["x", "<script>alert(1)</script>"]})
    pol = {"version": 1,
           "data_quality": {"columns": {"a": {"type": "float", "min": 0}, "b": {"allowed": ["x"]}, "gone": {}}},
           "compatibility": {"feature_signature": {"mode": "backward", "expected": {"a": "float"},
                                                   "candidate": {"a": "float", "n": "float"}, "validate_data": False}}}
    html = render_html(gatekit.run(pol, data=data))
    assert html.count('class="dq-row"') == 3  # a, b and the missing column
    assert html.count('class="sig-row"') == 2 and "new, no default" in html
    assert "<script>alert(1)</script>" not in html and "&lt;script&gt;" in html


LATE = '''
from great_expectations.expectations import registry as reg
from great_expectations.expectations.expectation import ColumnAggregateExpectation
from great_expectations.expectations.metrics import ColumnAggregateMetricProvider, column_aggregate_value
from great_expectations.execution_engine import PandasExecutionEngine


class RowsLate(ColumnAggregateMetricProvider):
    metric_name = "test_late.column.rows"

    @column_aggregate_value(engine=PandasExecutionEngine)
    def _pandas(cls, column, **kwargs):
        return int(len(column))


class _Fake(ColumnAggregateExpectation):
    metric_dependencies = ("test_late.column.rows",)

    def _validate(self, metrics, runtime_configuration=None, execution_engine=None):
        return {"success": True, "result": {"observed_value": 0}}


_Fake.__module__ = "great_expectations.expectations.core.evil"


class ExpectLateSwapForTest(ColumnAggregateExpectation):
    metric_dependencies = ("test_late.column.rows",)

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        reg._registered_expectations["expect_column_values_to_be_between"] = _Fake
        reg._registered_expectations["expect_fake_for_test"] = _Fake

    def _validate(self, metrics, runtime_configuration=None, execution_engine=None):
        return {"success": True, "result": {"observed_value": 1}}
'''


def test_a_builtin_swapped_while_expectations_are_built_voids_the_section(tmp_path: Path) -> None:
    folder = tmp_path / "expectations"
    folder.mkdir()
    (folder / "late.py").write_text(LATE)
    data = csv(tmp_path, {"x": list(range(1, 21))})
    pol = {"version": 1, "data_quality": {"expectations_dir": str(folder), "expectations": [
        {"type": "expect_late_swap_for_test", "kwargs": {"column": "x"}},
        {"type": "expect_column_values_to_be_between", "kwargs": {"column": "x", "min_value": 0, "max_value": 5}}]}}
    report = gatekit.run(pol, data=data)
    assert report.decision == Decision.BLOCK
    assert not any(c.status == Status.PASS for c in report.checks)
    assert "custom_expectations:tampering" in by_name(report)
    # nothing of it survives the run, whatever __module__ it claimed
    again = {"version": 1, "data_quality": {"expectations_dir": str(tmp_path / "none"), "expectations": [
        {"type": "expect_fake_for_test", "kwargs": {"column": "x"}}]}}
    (tmp_path / "none").mkdir()
    assert gatekit.run(again, data=data).checks[0].status == Status.ERROR


def test_aggregates_over_no_value_are_not_computable(tmp_path: Path) -> None:
    data = tmp_path / "d.csv"
    data.write_text("x,y\n,1\n,2\n")
    exps = [{"type": "expect_column_unique_value_count_to_be_between", "kwargs": {"column": "x", "max_value": 3}},
            {"type": "expect_column_sum_to_be_between", "kwargs": {"column": "x", "min_value": 0, "max_value": 3}},
            {"type": "expect_column_sum_to_be_between",
             "kwargs": {"column": "y", "min_value": 0, "max_value": 3, "row_condition": "y > 100",
                        "condition_parser": "pandas"}, "name": "y_sum_filtered"}]
    c = by_name(gatekit.run({"version": 1, "data_quality": {"expectations": exps}}, data=data))
    assert c["expect_column_unique_value_count_to_be_between(x)"].status == Status.NOT_COMPUTABLE
    assert c["expect_column_sum_to_be_between(x)"].status == Status.NOT_COMPUTABLE
    assert c["y_sum_filtered"].status == Status.NOT_COMPUTABLE
    assert "row_condition" in c["y_sum_filtered"].message


def test_declared_candidate_types_are_checked_against_the_data(tmp_path: Path) -> None:
    import skops.io as sio
    from sklearn.linear_model import LogisticRegression

    X = pd.DataFrame({"a": [0.0, 1.0, 2.0, 3.0], "b": [1.0, 0.0, 1.0, 0.0]})
    sio.dump(LogisticRegression().fit(X, [0, 1, 0, 1]), tmp_path / "m.skops")
    data = csv(tmp_path, {"a": [1.0], "b": [2.0]})
    pol = {"version": 1, "compatibility": {"feature_signature": {
        "mode": "strict", "expected": {"a": "string", "b": "string"}, "candidate": {"a": "string", "b": "string"}}}}
    c = by_name(gatekit.run(pol, data=data, model=tmp_path / "m.skops"))
    assert c["feature_signature"].status == Status.PASS  # the declaration gives the types sklearn lacks
    assert c["data_signature"].status == Status.FAIL  # ... and the data is checked against them, not itself


def test_empty_signatures_fmt_of_infinity_and_bidi_controls() -> None:
    from gatekit.core.formatting import fmt, printable

    with pytest.raises(PolicyError, match="at least 1"):
        gatekit.run({"version": 1, "compatibility": {"feature_signature": {"mode": "backward", "expected": {}}}})
    assert (fmt(float("inf")), fmt(float("nan"))) == ("inf", "nan")
    assert printable("ab\u202ecd") == "ab\\u202ecd"


def test_a_long_run_lists_only_what_did_not_pass_on_the_terminal(tmp_path: Path) -> None:
    cols = {f"c{i}": [1.0, 2.0, 3.0] for i in range(40)}
    data = csv(tmp_path, {**cols, "bad": [1.0, 2.0, 99.0]})
    policy = tmp_path / "p.yaml"
    policy.write_text("version: 1\ndata_quality:\n  max_null_fraction: 0\n  columns:\n    bad: {max: 10}\n")
    proc = run_cli("run", str(policy), "--data", str(data), "--out", str(tmp_path / "o"), cwd=tmp_path)
    assert proc.returncode == 1
    assert "bad.range" in proc.stdout and "c7.max_null_fraction" not in proc.stdout
    assert "passing checks not listed" in proc.stdout
