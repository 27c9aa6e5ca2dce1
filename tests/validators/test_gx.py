"""Tests of :mod:`gatekit.validators.gx`: custom expectations and suites loaded for Great Expectations."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pandas as pd
import pytest

import gatekit
from gatekit.core.errors import PolicyError
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
    policy.write_text("version: 1\ndata_quality:\n  expectations_dir: expectations\n  columns:\n    x: {min: 100}\n")
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


def test_an_empty_suite_is_an_invalid_policy_not_a_pass(tmp_path: Path) -> None:
    (tmp_path / "s.json").write_text('{"name": "s", "expectations": []}')
    (tmp_path / "dup.json").write_text('{"name": "s", "expectations": [], "expectations": []}')
    data = csv(tmp_path, {"x": [1]})
    policy = tmp_path / "p.yaml"
    policy.write_text("version: 1\ndata_quality:\n  suites: [s.json, dup.json]\n")
    with pytest.raises(PolicyError) as err:
        gatekit.run(policy, data=data)
    first, second = err.value.problems
    assert first.key == "data_quality.suites[0]" and "no expectations" in first.message
    assert second.key == "data_quality.suites[1]" and "duplicate key" in second.message


# suite files: bounded before the (recursive) JSON parser sees them ------------------------------------------


def test_a_suite_nested_100000_deep_is_an_invalid_policy_naming_the_file(tmp_path: Path) -> None:
    deep = '{"expectations": ' + "[" * 100_000 + "]" * 100_000 + "}"
    (tmp_path / "deep.json").write_text(deep)
    data = csv(tmp_path, {"x": [1, 2]})
    policy = tmp_path / "p.yaml"
    policy.write_text("version: 1\ndata_quality:\n  row_count: {min: 1}\n  suites: [deep.json]\n")
    with pytest.raises(PolicyError, match="nested more than 64 levels") as err:
        gatekit.run(policy, data=data)
    assert str(tmp_path / "deep.json") in err.value.problems[0].message
    proc = run_cli("run", str(policy), "--data", str(data), "--no-history", "--out", str(tmp_path / "out"))
    assert proc.returncode == 2, proc.stderr  # an unusable suite is bad input: exit 2 naming it, not a crash
    assert "p.yaml:4:" in proc.stderr and "deep.json" in proc.stderr and "Traceback" not in proc.stderr
    assert run_cli("validate", str(policy)).returncode == 2  # and `validate` finds it without running


def test_suite_depth_is_counted_outside_strings_and_bounded_at_64(tmp_path: Path) -> None:
    from gatekit.validators.gx import MAX_SUITE_DEPTH, json_depth_exceeds, read_suite

    def suite(depth: int) -> str:  # the suite object, its list, one expectation and its kwargs are 4 levels
        inner = "[" * (depth - 4) + "]" * (depth - 4)
        return '{"expectations": [{"type": "expect_column_to_exist", "kwargs": {"column": "x", "v": ' + inner + "}}]}"

    (tmp_path / "ok.json").write_text(suite(MAX_SUITE_DEPTH))
    assert read_suite(tmp_path / "ok.json")[1][0]["type"] == "expect_column_to_exist"
    (tmp_path / "deep.json").write_text(suite(MAX_SUITE_DEPTH + 1))
    with pytest.raises(ValueError, match=r"deep\.json: the suite is nested more than 64 levels"):
        read_suite(tmp_path / "deep.json")
    brackets = '"' + "[{" * 1000 + '\\"' + "[" * 10 + '"'  # brackets (and an escaped quote) inside a string
    assert not json_depth_exceeds('{"a": [' + brackets + "]}", 3)
    assert not json_depth_exceeds('{"a": [[' + brackets + "]]}", 3)
    assert json_depth_exceeds('{"a": [[[' + brackets + "]]]}", 3)


def test_a_suite_that_is_too_large_or_not_a_file_is_an_error_naming_it(tmp_path: Path,
                                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    from gatekit.validators import gx

    big = tmp_path / "big.json"
    big.write_text('{"expectations": [{"type": "expect_column_to_exist", "kwargs": {"column": "x"}}]}' + " " * 100)
    monkeypatch.setattr(gx, "MAX_SUITE_BYTES", 64)
    with pytest.raises(ValueError, match=r"big\.json: the suite is larger than"):
        gx.read_suite(big)
    (tmp_path / "folder.json").mkdir()
    with pytest.raises(ValueError, match=r"folder\.json: cannot read the suite: not a regular file"):
        gx.read_suite(tmp_path / "folder.json")
    if hasattr(os, "mkfifo"):  # a pipe would block the run forever
        os.mkfifo(tmp_path / "pipe.json")
        with pytest.raises(ValueError, match=r"pipe\.json: cannot read the suite: not a regular file"):
            gx.read_suite(tmp_path / "pipe.json")


def test_not_builtin_names_only_what_needs_custom_code() -> None:
    from gatekit.validators.gx import LOGICAL_TYPE_EXPECTATION, not_builtin

    assert not_builtin(["expect_column_values_to_be_between", LOGICAL_TYPE_EXPECTATION]) == []
    assert not_builtin(["expect_column_values_to_be_zz_for_test", "expect_column_to_exist", "expect_zz",
                        "expect_zz"]) == ["expect_column_values_to_be_zz_for_test", "expect_zz"]


def test_the_load_lists_every_file_it_ran(tmp_path: Path) -> None:
    from gatekit.validators import gx

    folder = tmp_path / "exps"
    folder.mkdir()
    (folder / "nothing.py").write_text("X = 1\n")  # ran, defines no expectation: still listed
    (folder / "_helper.py").write_text("raise SystemExit\n")  # skipped: never run, never listed
    custom(folder, "one", "ExpectColumnListedForTest", 'return {"success": True, "result": {}}', "listed")
    with gx.custom_expectations(folder) as load:
        info = load.as_info()
    assert [Path(f).name for f in info["files"]] == ["nothing.py", "one.py"]
    assert [e["name"] for e in info["loaded"]] == ["expect_column_listed_for_test"]
    assert info["folder"] == str(folder)
