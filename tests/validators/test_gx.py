"""Tests of :mod:`gatekit.validators.gx`: custom expectations and suites loaded for Great Expectations."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

import gatekit
from gatekit.core.results import Status
from tests.helpers import EXPECTATIONS, run_cli
from tests.sections.helpers import by_name, csv, custom


def test_gatekit_loader_reports_both_shipped_expectations():
    from gatekit.validators.gx import load_custom_expectations

    load_result = load_custom_expectations(EXPECTATIONS)
    assert load_result.errors == []
    assert {(x["name"], x["class"], Path(x["file"]).name) for x in load_result.loaded} == {
        ("expect_column_values_to_not_contain_pii", "ExpectColumnValuesToNotContainPii", "pii.py"),
        ("expect_column_most_common_value_share_to_be_at_most", "ExpectColumnMostCommonValueShareToBeAtMost",
         "dominant_value.py"),
    }


def test_string_pyarrow_dtype_on_the_logical_type_expectation() -> None:
    """Parquet reads string[pyarrow] back as string[python], so this dtype is checked on an in-memory frame."""
    from gatekit.validators import gx

    frame = pd.DataFrame({
        "s_pa": pd.array(["a", None, "c"], dtype="string[pyarrow]"),
        "s_py": pd.array(["a", None, "c"], dtype="string[python]"),
        "n_pa": pd.array([1, None, 3], dtype="int64[pyarrow]"),
    })
    assert str(frame["s_pa"].dtype) == "string" and frame["s_pa"].dtype.storage == "pyarrow"
    cls = gx.expectation_class("expect_column_logical_type_to_be")
    exps = [cls(column="s_pa", type_="string"), cls(column="s_py", type_="string"),
            cls(column="s_pa", type_="integer"), cls(column="n_pa", type_="integer")]
    results = gx.Validator(frame).validate(exps)
    assert [r.success for r in results] == [True, True, False, True]


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


def test_an_empty_suite_is_an_error_not_a_pass(tmp_path: Path) -> None:
    (tmp_path / "s.json").write_text('{"name": "s", "expectations": []}')
    (tmp_path / "dup.json").write_text('{"name": "s", "expectations": [], "expectations": []}')
    data = csv(tmp_path, {"x": [1]})
    policy = tmp_path / "p.yaml"
    policy.write_text("version: 1\ndata_quality:\n  suites: [s.json, dup.json]\n")
    c = by_name(gatekit.run(policy, data=data))
    assert c["suite:s.json"].status == Status.ERROR and "no expectations" in c["suite:s.json"].message
    assert c["suite:dup.json"].status == Status.ERROR and "duplicate key" in c["suite:dup.json"].message
