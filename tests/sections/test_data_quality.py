"""Tests of :mod:`gatekit.sections.data_quality`: the section on real Great Expectations, on small frames
whose results are counted by hand.

Every expected number below is counted from the frame written in the test (the comments show the count),
never copied from gatekit's output. Great Expectations contexts are costly to build, so most tests share
a few runs (module-scoped fixtures) of one policy holding many rules.
"""

from __future__ import annotations

import json
import sys
import textwrap
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

import gatekit
from gatekit.core.errors import PolicyError
from gatekit.core.results import Decision, OnFail, Status
from tests.helpers import REPO
from tests.sections.helpers import by_name, checks_by_name, csv, custom, write_csv

P, FL, ER, NC = Status.PASS, Status.FAIL, Status.ERROR, Status.NOT_COMPUTABLE
BLOCK, WARN = OnFail.BLOCK, OnFail.WARN


def policy_text(body: str) -> str:
    return "version: 1\n" + textwrap.dedent(body).lstrip("\n")


# ------------------------------------------------------------------------------------------------------
# Run 1: one CSV frame of 10 rows, a reference frame, and one rule of each kind (passing and failing)
# ------------------------------------------------------------------------------------------------------


MAIN = {
    "id": [1, 2, 3, 4, 5, 6, 7, 8, 9, 10],
    "dup": [1, 2, 2, 3, 3, 3, 4, 5, 6, 7],  # 2 twice + 3 three times: 5 rows hold a duplicated value
    "age": [30, 41, None, 25, 60, 33, 47, 52, 38, 29],  # one missing: read from CSV as float64, whole numbers
    "price": [0.5, 1.25, 2.0, 3.5, 4.75, 5.0, 6.5, 7.25, 8.0, 9.5],
    "qty": [3, 1, 4, 1, 5, 9, 2, 6, 5, 3],
    "name": ["ann", "bob", "cy", "dee", "eve", "fay", "gus", "hal", "ivy", "jo"],
    "flag": [True, False, True, True, False, False, True, False, True, True],
    "yn": ["yes", "no", "yes", "yes", "no", "no", "yes", "no", "yes", "yes"],
    "grade": ["A", "B", "C", "D", "A", "B", None, "C", "A", "E"],  # 9 non-null; D, E outside {A,B,C}
    "score": [5, 50, 95, 101, -3, 60, None, 70, 80, 99],  # 9 non-null; 101 and -3 outside [0, 100]
    "city": ["Paris", "Rome", "Oslo", "Paris", "Lima", None, "Rome", "Paris", "Kyiv", "Oslo"],
    "note": ["x", None, "y", None, "z", "w", "v", "u", "t", "s"],  # 2 of 10 null
}
REFERENCE = {"city": ["Paris", "Rome", "Oslo", "Bern", "Paris"], "grade": ["A", "B", "C", "D", "E"]}

RUN1_POLICY = """
data_quality:
  on_fail: warn
  max_null_fraction: 0.15               # every column without its own null rule
  row_count: {min: 5, max: 20, on_fail: block}
  required_columns: [note]
  columns:
    id:    {type: integer, unique: true}
    dup:   {unique: true, on_fail: block}
    age:   {type: integer, max_null_fraction: 0.1}
    price: {type: float, min: 0, max: 10}
    qty:   {type: float}
    name:  {type: string, max_distinct: 3}
    flag:  {type: boolean, required: false}
    yn:    {type: string, allowed: [yes, no]}          # unquoted: YAML reads booleans
    grade: {allowed: ["A", "B", "C"], mostly: 0.75, max_distinct: 5, max_unseen_share: 0}
    score: {type: integer, min: 0, max: 100, mostly: 0.8}
    city:  {type: string, max_unseen_share: 0.2}
    opt:   {required: false, type: integer, max_null_fraction: 0, min: 0}
"""


@pytest.fixture(scope="module")
def run1(tmp_path_factory: pytest.TempPathFactory) -> Any:
    tmp = tmp_path_factory.mktemp("dq_run1")
    data = write_csv(tmp / "main.csv", MAIN)
    ref = write_csv(tmp / "reference.csv", REFERENCE)
    pol = tmp / "policy.yaml"
    pol.write_text(policy_text(RUN1_POLICY), encoding="utf-8")
    return gatekit.run(pol, data=data, reference=ref)


def test_run1_frame_reads_as_intended(tmp_path: Path) -> None:
    df = pd.read_csv(write_csv(tmp_path / "m.csv", MAIN))
    assert str(df["age"].dtype) == "float64" and df["age"].isna().sum() == 1
    assert str(df["id"].dtype) == "int64" and str(df["qty"].dtype) == "int64"
    assert str(df["flag"].dtype) == "bool"
    assert df["yn"].dtype == object


def test_run1_plans_exactly_the_expected_checks(run1: Any) -> None:
    got = set(checks_by_name(run1))
    columns_with_own_null_rule = {"age"}
    section_nulls = {f"{c}.max_null_fraction" for c in MAIN if c not in columns_with_own_null_rule}
    expected = {
        "row_count", "note.present",
        "id.present", "id.type", "id.unique",
        "dup.present", "dup.unique",
        "age.present", "age.type", "age.max_null_fraction",
        "price.present", "price.type", "price.range",
        "qty.present", "qty.type",
        "name.present", "name.type", "name.distinct",
        "flag.type",  # required: false -> no presence check, but its rules run since it is present
        "yn.present", "yn.type", "yn.allowed",
        "grade.present", "grade.allowed", "grade.distinct", "grade.unseen_share",
        "score.present", "score.type", "score.range",
        "city.present", "city.type", "city.unseen_share",
    } | section_nulls
    assert got == expected
    assert not any(n.startswith("opt.") for n in got)  # optional and absent: no checks at all


def test_run1_types(run1: Any) -> None:
    c = checks_by_name(run1)
    assert c["id.type"].status == P
    assert c["age.type"].status == P  # float64 holding whole numbers and one NaN is an integer column
    assert "whole-number" in c["age.type"].message
    assert c["price.type"].status == P
    assert c["qty.type"].status == FL  # int64 is not float (no widening in data quality)
    assert "int64" in c["qty.type"].message
    assert c["name.type"].status == P
    assert c["flag.type"].status == P
    assert c["yn.type"].status == P
    assert c["score.type"].status == P  # float64 with one NaN, whole numbers
    assert c["city.type"].status == P


def test_run1_nulls_exactly_at_the_limit_pass(run1: Any) -> None:
    c = checks_by_name(run1)
    age = c["age.max_null_fraction"]
    assert age.status == P
    assert age.observed == pytest.approx(1 / 10)  # 1 null of 10 rows
    assert (age.op, age.threshold) == ("<=", 0.1)
    assert age.details["kwargs"]["mostly"] == pytest.approx(0.9)


def test_run1_section_level_null_limit(run1: Any) -> None:
    c = checks_by_name(run1)
    note = c["note.max_null_fraction"]
    assert note.status == FL and note.observed == pytest.approx(2 / 10)  # 2 of 10 > 0.15
    assert note.threshold == 0.15
    assert c["grade.max_null_fraction"].status == P  # 1 of 10
    assert c["grade.max_null_fraction"].observed == pytest.approx(0.1)
    assert c["id.max_null_fraction"].observed == 0.0
    # age keeps its own limit only (no second null check from the section)
    assert c["age.max_null_fraction"].threshold == 0.1


def test_run1_range_share_is_of_non_null_values(run1: Any) -> None:
    c = checks_by_name(run1)
    score = c["score.range"]
    # 2 of the 9 non-null values are outside [0, 100]: 0.222 > 1 - 0.8; counted over all 10 rows it would be 0.2
    assert score.status == FL
    assert score.observed == pytest.approx(2 / 9)
    assert (score.op, score.threshold) == ("<=", pytest.approx(0.2))
    assert sorted(score.details["examples"]) == [-3, 101]
    assert "2 of 9 non-null values" in score.message
    price = c["price.range"]
    assert price.status == P and price.observed == 0.0


def test_run1_allowed_set_with_mostly_and_yaml_boolean_hint(run1: Any) -> None:
    c = checks_by_name(run1)
    grade = c["grade.allowed"]
    assert grade.status == P  # D and E: 2 of 9 non-null = 0.222 <= 0.25
    assert grade.observed == pytest.approx(2 / 9)
    assert grade.threshold == pytest.approx(0.25)
    yn = c["yn.allowed"]
    assert yn.status == FL
    assert yn.observed == pytest.approx(1.0)  # allowed: [True, False]; every "yes"/"no" is outside
    assert "quote them" in yn.message and "booleans" in yn.message


def test_run1_distinct(run1: Any) -> None:
    c = checks_by_name(run1)
    assert c["name.distinct"].status == FL
    assert c["name.distinct"].observed == 10.0
    assert c["name.distinct"].threshold == 3.0
    assert c["grade.distinct"].status == P
    assert c["grade.distinct"].observed == 5.0  # A B C D E; the null is not a value


def test_run1_unseen_share_against_the_reference(run1: Any) -> None:
    c = checks_by_name(run1)
    city = c["city.unseen_share"]
    # Lima and Kyiv are not in the reference: 2 of 9 non-null values
    assert city.status == FL
    assert city.observed == pytest.approx(2 / 9)
    assert city.threshold == pytest.approx(0.2)
    assert sorted(city.details["examples"]) == ["Kyiv", "Lima"]
    grade = c["grade.unseen_share"]
    assert grade.status == P and grade.observed == 0.0


def test_run1_unique_counts_rows_like_great_expectations(run1: Any) -> None:
    import great_expectations as gx

    # Great Expectations itself, on the same values: every row whose value occurs more than once is unexpected
    ctx = gx.get_context(mode="ephemeral")
    bd = ctx.data_sources.add_pandas("gk_t").add_dataframe_asset("a").add_batch_definition_whole_dataframe("b")
    suite = gx.ExpectationSuite(name="unique_semantics")
    suite.add_expectation(gx.expectations.ExpectColumnValuesToBeUnique(column="dup"))
    res = bd.get_batch(batch_parameters={"dataframe": pd.DataFrame({"dup": MAIN["dup"]})}).validate(suite)
    ge_count = res.results[0].result["unexpected_count"]
    assert ge_count == 5  # [1, 2, 2, 3, 3, 3, 4, 5, 6, 7]: the two 2s and the three 3s

    c = checks_by_name(run1)
    dup = c["dup.unique"]
    assert dup.status == FL
    assert dup.observed == ge_count
    assert (dup.op, dup.threshold) == ("<=", 0.0)
    assert c["id.unique"].status == P and c["id.unique"].observed == 0.0


def test_run1_row_count_and_required_columns(run1: Any) -> None:
    c = checks_by_name(run1)
    rows = c["row_count"]
    assert rows.status == P and rows.observed == 10.0
    assert c["note.present"].status == P
    assert c["id.present"].status == P


def test_run1_on_fail_inheritance(run1: Any) -> None:
    c = checks_by_name(run1)
    assert c["dup.unique"].on_fail == BLOCK  # the column's own
    assert c["dup.present"].on_fail == BLOCK
    assert c["row_count"].on_fail == BLOCK  # row_count's own
    for name in ("id.unique", "score.range", "note.present", "note.max_null_fraction", "city.unseen_share"):
        assert c[name].on_fail == WARN, name  # the section's
    assert run1.decision == Decision.BLOCK  # dup.unique is a failing block rule
    assert run1.metadata["sections"]["data_quality"]["rows"] == 10


# ------------------------------------------------------------------------------------------------------
# Logical types on dtypes CSV cannot hold (parquet)
# ------------------------------------------------------------------------------------------------------


NAIVE = pd.to_datetime(["2024-03-01 10:00", "2024-03-02 11:00", None, "2024-03-04 12:00"])
TYPES_POLICY = """
data_quality:
  columns:
    i64:               {type: integer}
    i32:               {type: int}
    f:                 {type: float}
    f_as_int:          {type: integer}
    n_int:             {type: number}
    n_float:           {type: number}
    int_as_float:      {type: float}
    s_obj:             {type: string}
    s_str:             {type: str}
    s_as_number:       {type: number}
    b:                 {type: boolean}
    b_np:              {type: bool}
    yn_as_bool:        {type: boolean}
    dt_naive:          {type: datetime, timezone: naive}
    dt_naive_as_aware: {type: datetime, timezone: aware}
    dt_utc:            {type: datetime, timezone: UTC}
    dt_utc_as_naive:   {type: datetime, timezone: naive}
    dt_utc_as_aware:   {type: datetime, timezone: aware}
    dt_berlin:         {type: datetime, timezone: Europe/Berlin}
    dt_berlin_as_utc:  {type: datetime, timezone: UTC}
    dt_utc_as_berlin:  {type: datetime, timezone: Europe/Berlin}
    cat_s:             {type: string}
    cat_c:             {type: category}
    cat_as_integer:    {type: integer}
    s_as_cat:          {type: category}
"""
TYPES_EXPECTED = {
    "i64": P, "i32": P, "f": P, "f_as_int": FL, "n_int": P, "n_float": P, "int_as_float": FL,
    "s_obj": P, "s_str": P, "s_as_number": FL, "b": P, "b_np": P, "yn_as_bool": FL,
    "dt_naive": P, "dt_naive_as_aware": FL, "dt_utc": P, "dt_utc_as_naive": FL, "dt_utc_as_aware": P,
    "dt_berlin": P, "dt_berlin_as_utc": FL, "dt_utc_as_berlin": FL,
    "cat_s": P, "cat_c": P, "cat_as_integer": FL, "s_as_cat": FL,
}


def types_frame() -> pd.DataFrame:
    utc = NAIVE.tz_localize("UTC")
    berlin = NAIVE.tz_localize("Europe/Berlin")
    floats = [0.5, 1.5, None, 2.0]
    strings = ["a", "b", None, "c"]
    return pd.DataFrame({
        "i64": pd.array([1, None, 3, 4], dtype="Int64"),
        "i32": pd.array([1, 2, None, 4], dtype="Int32"),
        "f": floats, "f_as_int": floats,
        "n_int": [1, 2, 3, 4], "n_float": floats, "int_as_float": [1, 2, 3, 4],
        "s_obj": strings, "s_str": pd.array(strings, dtype="string"), "s_as_number": strings,
        "b": pd.array([True, None, False, True], dtype="boolean"), "b_np": [True, False, True, False],
        "yn_as_bool": ["yes", "no", "yes", None],
        "dt_naive": NAIVE, "dt_naive_as_aware": NAIVE,
        "dt_utc": utc, "dt_utc_as_naive": utc, "dt_utc_as_aware": utc,
        "dt_berlin": berlin, "dt_berlin_as_utc": berlin, "dt_utc_as_berlin": utc,
        # a categorical holding a subset of its categories
        "cat_s": pd.Categorical(["a", "b", "a", None], categories=["a", "b", "c"]),
        "cat_c": pd.Categorical(["a", "b", "a", "b"]),
        "cat_as_integer": pd.Categorical(["a", "b", "a", "b"]),
        "s_as_cat": ["a", "b", "a", "b"],
    })


@pytest.fixture(scope="module")
def types_run(tmp_path_factory: pytest.TempPathFactory) -> Any:
    tmp = tmp_path_factory.mktemp("dq_types")
    data = tmp / "types.parquet"
    types_frame().to_parquet(data)
    pol = tmp / "policy.yaml"
    pol.write_text(policy_text(TYPES_POLICY), encoding="utf-8")
    return gatekit.run(pol, data=data), pd.read_parquet(data)


def test_types_parquet_round_trip_keeps_the_dtypes(types_run: Any) -> None:
    _, back = types_run
    assert str(back["i64"].dtype) == "Int64" and str(back["i32"].dtype) == "Int32"
    assert str(back["b"].dtype) == "boolean"
    assert str(back["s_str"].dtype).startswith("string")
    assert str(back["dt_utc"].dtype) == "datetime64[ns, UTC]"
    assert str(back["dt_berlin"].dtype) == "datetime64[ns, Europe/Berlin]"
    assert str(back["cat_s"].dtype) == "category"


@pytest.mark.parametrize(("column", "status"), sorted(TYPES_EXPECTED.items()))
def test_type_rule_on_parquet_dtypes(types_run: Any, column: str, status: Status) -> None:
    report, _ = types_run
    check = checks_by_name(report)[f"{column}.type"]
    assert check.status == status, check.message


def test_type_messages_say_what_was_found(types_run: Any) -> None:
    c = checks_by_name(types_run[0])
    assert "naive is required" in c["dt_utc_as_naive.type"].message
    assert "aware column is required" in c["dt_naive_as_aware.type"].message
    assert "Europe/Berlin" in c["dt_berlin_as_utc.type"].message
    assert "categories of type string" in c["cat_s.type"].message


# ------------------------------------------------------------------------------------------------------
# Run 2: an all-null column and a missing column in one run; 25 values out of range (examples)
# ------------------------------------------------------------------------------------------------------


RUN2_POLICY = """
data_quality:
  min_rows: 100
  required_columns: [ghost2]
  columns:
    v:     {type: integer, min: 0, max: 4}
    empty: {type: float, max_null_fraction: 0.5}
    k:     {type: integer, max_unseen_share: 0.1}
    ghost: {type: integer, max_null_fraction: 0, min: 0, max: 1, allowed: [1], max_distinct: 3,
            unique: true, max_unseen_share: 0}
"""


@pytest.fixture(scope="module")
def run2(tmp_path_factory: pytest.TempPathFactory) -> Any:
    tmp = tmp_path_factory.mktemp("dq_run2")
    data = write_csv(tmp / "data.csv", {"v": list(range(30)), "empty": [None] * 30, "k": list(range(30))})
    pol = tmp / "policy.yaml"
    pol.write_text(policy_text(RUN2_POLICY), encoding="utf-8")
    return gatekit.run(pol, data=data)  # no reference


def test_run2_all_null_column(run2: Any) -> None:
    c = checks_by_name(run2)
    assert c["empty.present"].status == P
    assert c["empty.type"].status == NC  # no value shows the type: never a pass
    assert "null" in c["empty.type"].message
    nulls = c["empty.max_null_fraction"]
    assert nulls.status == FL and nulls.observed == 1.0  # 30 of 30


def test_run2_missing_column_fails_every_rule_naming_it(run2: Any) -> None:
    c = checks_by_name(run2)
    ghost = {n: x for n, x in c.items() if n.startswith("ghost.")}
    assert set(ghost) == {"ghost.present", "ghost.type", "ghost.max_null_fraction", "ghost.range",
                          "ghost.allowed", "ghost.distinct", "ghost.unique", "ghost.unseen_share"}
    for name, check in ghost.items():
        assert check.status == FL, name
        assert "'ghost'" in check.message and "missing" in check.message, (name, check.message)
    assert c["ghost2.present"].status == FL and "'ghost2'" in c["ghost2.present"].message


def test_run2_other_checks_keep_their_real_results(run2: Any) -> None:
    c = checks_by_name(run2)
    assert c["v.present"].status == P and c["v.type"].status == P and c["k.type"].status == P
    rows = c["row_count"]
    assert rows.status == FL and rows.observed == 30.0 and (rows.op, rows.threshold) == (">=", 100.0)
    unseen = c["k.unseen_share"]
    assert unseen.status == NC and "reference" in unseen.message
    assert run2.decision == Decision.BLOCK


def test_run2_range_keeps_at_most_20_examples(run2: Any) -> None:
    v = checks_by_name(run2)["v.range"]
    assert v.status == FL
    assert v.observed == pytest.approx(25 / 30)  # 5..29 are above 4
    assert v.details["unexpected_count"] == 25
    examples = v.details["examples"]
    assert 0 < len(examples) <= 20
    assert all(5 <= x <= 29 for x in examples)
    assert "25 of 30 non-null values" in v.message


def test_row_count_above_max(tmp_path: Path) -> None:
    data = write_csv(tmp_path / "d.csv", {"a": [1, 2, 3]})
    c = checks_by_name(gatekit.run({"version": 1, "data_quality": {"row_count": {"min": 1, "max": 2}}}, data=data))
    rows = c["row_count"]
    assert rows.status == FL  # 3 rows > 2
    assert (rows.observed, rows.op, rows.threshold) == (3.0, "<=", 2.0)


# ------------------------------------------------------------------------------------------------------
# Run 3: expectations by name, custom expectations (good and broken files), suite files; nothing on disk
# ------------------------------------------------------------------------------------------------------


CUSTOM_OK = '''\
import pandas as pd
from great_expectations.execution_engine import PandasExecutionEngine
from great_expectations.expectations.expectation import ColumnMapExpectation
from great_expectations.expectations.metrics import ColumnMapMetricProvider, column_condition_partial


class ColumnValuesGkDqTestLowercase(ColumnMapMetricProvider):
    condition_metric_name = "gk_dq_test.column_values.lowercase"

    @column_condition_partial(engine=PandasExecutionEngine)
    def _pandas(cls, column: pd.Series, **kwargs):
        text = column.astype(str)
        return text == text.str.lower()


class ExpectColumnValuesToBeLowercaseGkDqTest(ColumnMapExpectation):
    map_metric = "gk_dq_test.column_values.lowercase"
    success_keys = ("mostly",)
'''

CUSTOM_NAME_ERROR = '''\
"""Broken on purpose: a name that does not exist, on line 7."""

import math

LIMIT = math.pi

VALUE = this_name_is_not_defined + 1
'''

CUSTOM_SYNTAX_ERROR = '''\
"""Broken on purpose: a syntax error on line 3."""

def broken(:
    return 1
'''

SUITE_V1 = {"name": "producer_v1", "meta": {}, "expectations": [
    {"type": "expect_column_values_to_not_be_null", "kwargs": {"column": "code"}},
    {"type": "expect_column_values_to_be_in_set", "kwargs": {"column": "code", "value_set": ["AB1", "CD2"]}},
]}
SUITE_V0 = {"expectation_suite_name": "legacy", "data_asset_type": None, "expectations": [
    {"expectation_type": "expect_column_max_to_be_between", "kwargs": {"column": "n", "max_value": 10}},
    {"expectation_type": "expect_table_column_count_to_equal", "kwargs": {"value": 99}},
]}

FRAME3 = {
    "email": ["a@x.com", "b@y.org", "bad", "c@z.net", None],  # 1 of the 4 non-null values fails the pattern
    "code": ["AB1", "CD2", "EF3", "GH4", "IJ5"],
    "tag": ["ab", "cd", "Ef", "gh", "ij"],  # one value is not lowercase
    "n": [1, 2, 3, 4, 5],
}

RUN3_POLICY = """
data_quality:
  expectations_dir: custom
  suites: [suite_v1.json, {path: suite_v0.json, on_fail: warn}]
  columns:
    n: {min: 0, max: 3}
  expectations:
    - type: expect_column_values_to_match_regex
      kwargs: {column: email, regex: '^[^@]+@[^@]+\\.[a-z]+$'}
    - type: expect_column_values_to_match_regex
      kwargs: {column: code, regex: '^[A-Z]{2}[0-9]$'}
      name: code_pattern
    - type: expect_column_values_to_be_purple
      kwargs: {column: code}
    - type: expect_column_values_to_be_between
      kwargs: {column: n, min_value: 0, max_value: 10, mostly: 5}
      name: bad_kwargs
    - type: expect_column_values_to_be_lowercase_gk_dq_test
      kwargs: {column: tag}
    - type: expect_column_values_to_be_lowercase_gk_dq_test
      kwargs: {column: email}
"""


def _tree(root: Path) -> set[str]:
    return {str(p.relative_to(root)) for p in root.rglob("*")}


@pytest.fixture(scope="module")
def run3(tmp_path_factory: pytest.TempPathFactory) -> Any:
    root = tmp_path_factory.mktemp("dq_run3")
    inp, cwd = root / "in", root / "cwd"
    (inp / "custom").mkdir(parents=True)
    cwd.mkdir()
    (inp / "custom" / "lowercase.py").write_text(CUSTOM_OK, encoding="utf-8")
    (inp / "custom" / "broken_name.py").write_text(CUSTOM_NAME_ERROR, encoding="utf-8")
    (inp / "custom" / "broken_syntax.py").write_text(CUSTOM_SYNTAX_ERROR, encoding="utf-8")
    (inp / "suite_v1.json").write_text(json.dumps(SUITE_V1), encoding="utf-8")
    (inp / "suite_v0.json").write_text(json.dumps(SUITE_V0), encoding="utf-8")
    data = write_csv(inp / "data.csv", FRAME3)
    pol = inp / "policy.yaml"
    pol.write_text(policy_text(RUN3_POLICY), encoding="utf-8")
    before = _tree(root)
    with pytest.MonkeyPatch.context() as mp:
        mp.chdir(cwd)
        mp.setattr(sys, "dont_write_bytecode", False)  # as in a default CI shell (no PYTHONDONTWRITEBYTECODE)
        report = gatekit.run(pol, data=data, out=cwd / "report")
    return report, root, before


def test_builtin_expectation_by_name(run3: Any) -> None:
    c = checks_by_name(run3[0])
    email = c["expect_column_values_to_match_regex(email)"]
    assert email.status == FL
    assert email.observed == pytest.approx(1 / 4)  # "bad": 1 of the 4 non-null values
    assert email.details["examples"] == ["bad"]
    assert c["code_pattern"].status == P and c["code_pattern"].observed == 0.0


def test_unknown_expectation_and_bad_kwargs_are_errors(run3: Any) -> None:
    c = checks_by_name(run3[0])
    unknown = c["expect_column_values_to_be_purple(code)"]
    assert unknown.status == ER
    assert "unknown expectation" in unknown.message
    assert "broken_name.py:7" in unknown.message  # the files that failed to load are named
    bad = c["bad_kwargs"]
    assert bad.status == ER
    assert "invalid arguments" in bad.message and "expect_column_values_to_be_between" in bad.message


def test_custom_expectation_from_the_folder(run3: Any) -> None:
    report = run3[0]
    c = checks_by_name(report)
    tag = c["expect_column_values_to_be_lowercase_gk_dq_test(tag)"]
    assert tag.status == FL and tag.details["examples"] == ["Ef"]
    assert tag.observed == pytest.approx(1 / 5)
    assert c["expect_column_values_to_be_lowercase_gk_dq_test(email)"].status == P
    info = report.metadata["sections"]["data_quality"]["custom_expectations"]
    assert [x["name"] for x in info["loaded"]] == ["expect_column_values_to_be_lowercase_gk_dq_test"]
    assert Path(info["loaded"][0]["file"]).name == "lowercase.py"
    assert sorted(Path(e["file"]).name for e in info["errors"]) == ["broken_name.py", "broken_syntax.py"]


def test_broken_custom_files_are_error_checks_naming_file_and_line(run3: Any) -> None:
    c = checks_by_name(run3[0])
    name_err = c["custom_expectations:broken_name.py"]
    assert name_err.status == ER
    assert "broken_name.py:7" in name_err.message and "NameError" in name_err.message
    syntax = c["custom_expectations:broken_syntax.py"]
    assert syntax.status == ER
    assert "broken_syntax.py:3" in syntax.message and "SyntaxError" in syntax.message


def test_other_checks_still_real_next_to_broken_files(run3: Any) -> None:
    c = checks_by_name(run3[0])
    n = c["n.range"]
    assert n.status == FL and n.observed == pytest.approx(2 / 5)  # 4 and 5 above 3
    assert c["n.present"].status == P


def test_suite_files_run_as_they_are(run3: Any) -> None:
    c = checks_by_name(run3[0])
    assert c["producer_v1:expect_column_values_to_not_be_null(code)"].status == P
    in_set = c["producer_v1:expect_column_values_to_be_in_set(code)"]
    assert in_set.status == FL and in_set.observed == pytest.approx(3 / 5)  # EF3 GH4 IJ5
    assert in_set.on_fail == BLOCK
    mx = c["legacy:expect_column_max_to_be_between(n)"]
    assert mx.status == P and mx.on_fail == WARN  # max of n is 5 <= 10; the suite's own on_fail
    count = c["legacy:expect_table_column_count_to_equal"]
    assert count.status == FL and count.observed == 4.0  # email, code, tag, n


def test_generic_observed_value_from_a_numpy_integer(run3: Any) -> None:
    # GE's column max of an int64 column is a numpy integer; it must still be a number in the report
    mx = checks_by_name(run3[0])["legacy:expect_column_max_to_be_between(n)"]
    assert mx.observed == 5.0
    assert "np.int64" not in mx.message


def test_malformed_suite_is_an_invalid_policy_naming_the_suite_line_and_column(tmp_path: Path) -> None:
    (tmp_path / "bad_suite.json").write_text('{"name": "x", "expectations": [\n  {"type": }\n]}', encoding="utf-8")
    pol = tmp_path / "policy.yaml"
    pol.write_text("version: 1\ndata_quality:\n  row_count: {min: 1}\n  suites: [bad_suite.json]\n")
    with pytest.raises(PolicyError) as err:
        gatekit.run(pol, data=write_csv(tmp_path / "data.csv", FRAME3))
    (problem,) = err.value.problems
    # the JSON error is on the suite's line 2, column 12 (`{"type": }`); the policy names it on its line 4
    assert (problem.line, problem.key) == (4, "data_quality.suites[0]")
    assert f"{tmp_path / 'bad_suite.json'}:2:12: invalid JSON" in problem.message


def test_nothing_written_besides_the_report(run3: Any) -> None:
    report, root, before = run3
    new = _tree(root) - before
    assert "cwd/report/gate_report.json" in new and "cwd/report/gate_report.html" in new
    assert not any(Path(p).parts[-1] in ("gx", "great_expectations", "great_expectations.yml") for p in new)
    assert not any(p.startswith("cwd") and not p.startswith("cwd/report") for p in new), new
    outside_inputs = {p for p in new if not p.startswith("in/custom/__pycache__")}
    assert outside_inputs == {"cwd/report", "cwd/report/gate_report.json", "cwd/report/gate_report.html"}, new
    assert report.decision == Decision.BLOCK


def test_custom_expectations_leave_no_bytecode_beside_the_files(run3: Any) -> None:
    _, root, before = run3
    assert not [p for p in _tree(root) - before if "__pycache__" in p]


def test_batching_by_column_gives_the_same_checks_as_one_batch(tmp_path) -> None:
    """gatekit validates each single-column expectation on its own one-column frame; the plain path
    (--reference-paths) validates everything on the whole frame: every check must be identical."""
    import json
    import subprocess
    import sys

    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(5)
    n = 3000
    df = pd.DataFrame({
        "id": np.arange(n), "x": rng.normal(size=n), "grade": rng.choice(["A", "B", "C", "Z"], n),
        "state": rng.choice([f"S{i}" for i in range(70)], n), "code": rng.integers(0, 9, n).astype(float),
        "note": rng.choice(["ok", "mail me at a@b.example", None], n)})
    df.loc[::97, "x"] = np.nan
    df.loc[::13, "x"] = 99.0
    df.loc[5, "id"] = 6  # a duplicate
    ref = df.iloc[: n // 2].copy()
    ref["state"] = ref["state"].where(ref["state"] != "S3", "S4")  # S3 unseen in the reference
    df.to_csv(tmp_path / "data.csv", index=False)
    ref.to_csv(tmp_path / "ref.csv", index=False)
    (tmp_path / "policy.yaml").write_text("""
version: 1
inputs: {data: data.csv, reference: ref.csv}
data_quality:
  on_fail: warn
  row_count: {min: 10}
  max_null_fraction: 0.2
  columns:
    id: {type: integer, unique: true}
    x: {type: float, min: -5, max: 5, max_null_fraction: 0}
    grade: {type: string, allowed: [A, B, C]}
    state: {max_distinct: 60, max_unseen_share: 0.001}
    code: {type: integer, min: 0, max: 7, mostly: 0.9}
    missing_col: {}
  expectations:
    - type: expect_column_values_to_match_regex
      kwargs: {column: grade, regex: "^[A-C]$"}
    - type: expect_column_pair_values_a_to_be_greater_than_b
      kwargs: {column_A: id, column_B: code, or_equal: true}
    - type: expect_column_values_to_not_be_null
      kwargs: {column: x, row_condition: 'grade=="A"', condition_parser: pandas}
    - type: expect_column_values_to_not_contain_pii
      kwargs: {column: note, kinds: [email]}
""")
    out = {}
    for label, flags in (("fast", []), ("plain", ["--reference-paths"])):
        proc = subprocess.run([sys.executable, "-m", "gatekit", "run", str(tmp_path / "policy.yaml"), "--out",
                               str(tmp_path / label), "--no-history", *flags], capture_output=True, text=True,
                              cwd=REPO, timeout=300)
        assert proc.returncode in (0, 1), proc.stderr
        out[label] = json.loads((tmp_path / label / "gate_report.json").read_text())["checks"]
    assert len(out["fast"]) > 20
    assert out["fast"] == out["plain"]
    statuses = {c["status"] for c in out["fast"]}
    assert {"pass", "fail"} <= statuses  # the fixture exercises both outcomes


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
    frame.assign(ok=[1.0, 3.0]).to_parquet(tmp_path / "r.parquet")  # other rows (the same file is refused)
    pol = {"version": 1, "data_quality": {"columns": {"tags": {"max_unseen_share": 0.1}, "ok": {"min": 0}}}}
    c = by_name(gatekit.run(pol, data=tmp_path / "d.parquet", reference=tmp_path / "r.parquet"))
    assert c["tags.unseen_share"].status == Status.ERROR
    assert c["ok.range"].status == Status.PASS


def test_section_null_limit_takes_the_columns_severity_and_examples_are_distinct(tmp_path: Path) -> None:
    data = csv(tmp_path, {"a": [1.0, None, 3.0, 3.0], "id": [6, 6, 7, 8]})
    pol = {"version": 1, "data_quality": {"max_null_fraction": 0.0,
                                          "columns": {"a": {"on_fail": "warn"}, "id": {"unique": True}}}}
    c = by_name(gatekit.run(pol, data=data))
    assert c["a.max_null_fraction"].status == Status.FAIL and c["a.max_null_fraction"].on_fail.value == "warn"
    assert c["id.unique"].details["examples"] == [6]  # GE lists 6 twice; one example says it
    assert "e.g. 6" in c["id.unique"].message


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


def test_the_shipped_pii_expectation_does_not_show_the_values(tmp_path: Path) -> None:
    (tmp_path / "d.csv").write_text("notes,a\nplease call jane.doe@example.com,1\nok,2\nfine,3\n")
    report = gatekit.run({"version": 1, "inputs": {"data": str(tmp_path / "d.csv")},
                          "data_quality": {"expectations_dir": str(REPO / "expectations"), "expectations": [
                              {"type": "expect_column_values_to_not_contain_pii",
                               "kwargs": {"column": "notes", "kinds": ["email"]}}]}})
    assert report.decision == Decision.BLOCK
    assert "jane.doe" not in report.to_json()


# ------------------------------------------------------------------------------------------------------
# Which custom expectation code runs: only what the policy asks for, only from the folder it names
# ------------------------------------------------------------------------------------------------------


def _planted(folder: Path, marker: Path) -> Path:
    """Write a custom expectation file that records being imported (a marker file) and defines the
    per-row expectation ``expect_column_values_to_be_lowercase_gk_dq_test`` (so it runs on both engines)."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "planted.py").write_text(f"import pathlib\npathlib.Path({str(marker)!r}).write_text('imported')\n"
                                       + CUSTOM_OK, encoding="utf-8")
    return folder / "planted.py"


LOWER = "expect_column_values_to_be_lowercase_gk_dq_test"


@pytest.fixture
def planted_tree(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, Path]:
    """The review's layout: expectations/ in the policy's parent folder and in the current directory."""
    root = tmp_path / "tree"
    proj, cwd = root / "proj", root / "cwd"
    proj.mkdir(parents=True)
    cwd.mkdir()
    _planted(root / "expectations", root / "PWNED_parent")
    _planted(cwd / "expectations", root / "PWNED_cwd")
    (proj / "d.csv").write_text("tag\nab\nCd\n", encoding="utf-8")
    monkeypatch.chdir(cwd)
    return {"root": root, "proj": proj, "cwd": cwd, "data": proj / "d.csv"}


def _markers(root: Path) -> list[str]:
    return sorted(p.name for p in root.glob("PWNED*"))


def test_review_repro_parent_and_cwd_folders_are_not_imported_by_the_cli(planted_tree: dict[str, Path]) -> None:
    from tests.helpers import run_cli

    t = planted_tree
    (t["proj"] / "p.yaml").write_text("version: 1\ndata_quality: {row_count: {min: 1}}\n", encoding="utf-8")
    proc = run_cli("run", str(t["proj"] / "p.yaml"), "--data", str(t["data"]), "--no-history",
                   "--out", str(t["root"] / "out"), cwd=t["cwd"])
    assert proc.returncode == 0, proc.stderr
    assert _markers(t["root"]) == []
    assert "custom expectations from" not in proc.stdout
    info = json.loads((t["root"] / "out" / "gate_report.json").read_text())["metadata"]["sections"]["data_quality"]
    assert info["custom_expectations"]["folder"] is None and info["custom_expectations"]["files"] == []


@pytest.mark.parametrize("engine", ["pandas", "duckdb"])
def test_parent_and_cwd_folders_are_never_imported_even_for_an_unknown_type(planted_tree: dict[str, Path],
                                                                           engine: str) -> None:
    t = planted_tree
    pol = t["proj"] / "p.yaml"
    pol.write_text(f"version: 1\ndata_quality:\n  row_count: {{min: 1}}\n  expectations:\n"
                   f"    - {{type: {LOWER}, kwargs: {{column: tag}}}}\n", encoding="utf-8")
    report = gatekit.run(pol, data=t["data"], engine=engine)
    assert _markers(t["root"]) == []
    c = by_name(report)
    assert c["row_count"].status == P
    unknown = c[f"{LOWER}(tag)"]
    assert unknown.status == ER and f"unknown expectation {LOWER!r}" in unknown.message
    assert "no expectations/ folder beside the policy file" in unknown.message
    info = report.metadata["sections"]["data_quality"]["custom_expectations"]
    assert info["folder"] is None and info["files"] == [] and info["requested"] == [LOWER]
    # a policy given as a mapping has no file, so no default folder: the cwd's is not imported either
    mapping = {"version": 1, "data_quality": {"expectations": [{"type": LOWER, "kwargs": {"column": "tag"}}]}}
    c = by_name(gatekit.run(mapping, data=t["data"], engine=engine))
    assert c[f"{LOWER}(tag)"].status == ER and "the policy is not a file" in c[f"{LOWER}(tag)"].message
    assert _markers(t["root"]) == []


@pytest.mark.parametrize("engine", ["pandas", "duckdb"])
def test_an_unused_folder_beside_the_policy_is_never_imported(tmp_path: Path, engine: str) -> None:
    _planted(tmp_path / "expectations", tmp_path / "PWNED_beside")
    data = write_csv(tmp_path / "d.csv", {"tag": ["ab", "cd"]})
    pol = tmp_path / "p.yaml"
    pol.write_text("version: 1\ndata_quality:\n  row_count: {min: 1}\n  columns: {tag: {type: string}}\n"
                   "  expectations:\n    - {type: expect_column_values_to_match_regex, "
                   "kwargs: {column: tag, regex: '^[a-z]+$'}}\n", encoding="utf-8")
    report = gatekit.run(pol, data=data, engine=engine)
    assert _markers(tmp_path) == []
    assert report.decision == Decision.PASS
    info = report.metadata["sections"]["data_quality"]["custom_expectations"]
    assert info["folder"] is None and info["files"] == [] and info["requested"] == []
    assert "no custom expectation code was imported" in info["note"] and "was not imported" in info["note"]


@pytest.mark.parametrize("engine", ["pandas", "duckdb"])
def test_the_folder_the_policy_names_is_imported_and_reported(tmp_path: Path, engine: str) -> None:
    planted = _planted(tmp_path / "custom", tmp_path / "PWNED_named")
    _planted(tmp_path / "expectations", tmp_path / "PWNED_default")  # expectations_dir wins over the default
    data = write_csv(tmp_path / "d.csv", {"tag": ["ab", "Cd"]})
    pol = tmp_path / "p.yaml"
    pol.write_text(f"version: 1\ndata_quality:\n  expectations_dir: custom\n  expectations:\n"
                   f"    - {{type: {LOWER}, kwargs: {{column: tag}}}}\n", encoding="utf-8")
    report = gatekit.run(pol, data=data, engine=engine)
    assert _markers(tmp_path) == ["PWNED_named"]
    c = by_name(report)[f"{LOWER}(tag)"]
    assert c.status == FL and c.details["unexpected_count"] == 1  # "Cd"
    info = report.metadata["sections"]["data_quality"]["custom_expectations"]
    assert info["folder"] == str(planted.parent.resolve())
    assert info["files"] == [str(planted.resolve())]
    assert info["requested"] == [LOWER] and [e["name"] for e in info["loaded"]] == [LOWER]
    assert "imported 1 file(s)" in info["note"] and "planted.py" in info["note"]


def test_expectations_dir_alone_imports_the_folder(tmp_path: Path) -> None:
    _planted(tmp_path / "custom", tmp_path / "PWNED_named")
    data = write_csv(tmp_path / "d.csv", {"tag": ["ab"]})
    pol = tmp_path / "p.yaml"
    pol.write_text("version: 1\ndata_quality:\n  expectations_dir: custom\n  row_count: {min: 1}\n", encoding="utf-8")
    report = gatekit.run(pol, data=data)
    assert _markers(tmp_path) == ["PWNED_named"]
    assert "the policy sets expectations_dir" in report.metadata["sections"]["data_quality"][
        "custom_expectations"]["note"]


def test_expectations_beside_the_policy_still_load_when_a_rule_or_suite_names_one(tmp_path: Path) -> None:
    """Backward compatibility: the default folder is the one beside the policy file, used when needed."""
    _planted(tmp_path / "expectations", tmp_path / "PWNED_beside")
    data = write_csv(tmp_path / "d.csv", {"tag": ["ab", "Cd"]})
    (tmp_path / "s.json").write_text(json.dumps({"name": "s", "expectations": [
        {"type": LOWER, "kwargs": {"column": "tag"}}]}), encoding="utf-8")
    pol = tmp_path / "p.yaml"
    pol.write_text("version: 1\ndata_quality:\n  suites: [s.json]\n", encoding="utf-8")
    report = gatekit.run(pol, data=data)
    assert _markers(tmp_path) == ["PWNED_beside"]
    assert by_name(report)[f"s:{LOWER}(tag)"].status == FL
    info = report.metadata["sections"]["data_quality"]["custom_expectations"]
    assert info["folder"] == str((tmp_path / "expectations").resolve()) and info["requested"] == [LOWER]


def test_custom_folder_never_looks_in_the_parent_or_the_current_directory(tmp_path: Path,
                                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    from gatekit.policy.loader import load_policy
    from gatekit.sections.data_quality.plan import custom_folder

    (tmp_path / "expectations").mkdir()
    (tmp_path / "proj").mkdir()
    pol = tmp_path / "proj" / "p.yaml"
    pol.write_text("version: 1\ndata_quality: {row_count: {min: 1}}\n", encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    lp = load_policy(pol)
    assert lp.policy.data_quality is not None
    assert custom_folder(lp.policy.data_quality, lp) is None
    mapping = load_policy({"version": 1, "data_quality": {"row_count": {"min": 1}}})
    assert mapping.policy.data_quality is not None
    assert custom_folder(mapping.policy.data_quality, mapping) is None
    (tmp_path / "proj" / "expectations").mkdir()
    assert custom_folder(lp.policy.data_quality, lp) == (tmp_path / "proj" / "expectations").resolve()
