"""Tests of :mod:`gatekit.sections.data_quality.counts`: each expectation computed on DuckDB equals Great
Expectations' own result on the same rows.

Every comparison runs Great Expectations (pandas engine) on a frame and the counts on ``ibis.memtable`` of the
same frame, and asserts the same success, counts, percentages, observed values (floats to 1e-9) and example
values: nothing is compared with numbers gatekit computed itself.
"""

from __future__ import annotations

import math
import textwrap
from pathlib import Path
from typing import Any

import ibis
import numpy as np
import pandas as pd
import pytest

from gatekit.core.results import Status
from gatekit.sections.data_quality import counts
from gatekit.sections.data_quality.adapter import DataQualitySection, _plain, _raised
from gatekit.sections.data_quality.plan import Item
from gatekit.validators import gx
from tests.helpers import REPO

ODD = ["a,b", "ü ß", "", " ", 'quo"te', "new\nline", "tab\there", "😀", "a,b", None]


def frames() -> dict[str, pd.DataFrame]:
    n = len(ODD)
    main = pd.DataFrame({
        "f": [1.0, 2.5, np.nan, 4.0, 5.0, 5.0, -1.0, np.inf, 3.0, 2.0],
        "i": [3, 1, 4, 1, 5, 9, 2, 6, 5, 3],
        "w": [1.0, 2.0, None, 4.0, 5.0, 5.0, 7.0, 8.0, 9.0, 10.0],  # whole numbers with a gap (CSV integers)
        "s": ODD,
        "c": ["A", "B", "C", "D", "A", "B", None, "C", "A", "E"],
        "b": [True, False, True, True, False, False, True, False, True, True],
        "t": pd.to_datetime(["2024-01-01", "2024-01-02", None, "2024-02-01", "2024-03-05", "2024-03-05",
                             "2023-12-31", "2024-06-01", "2024-01-01 12:30", "2025-01-01"], format="mixed"),
        "z": pd.to_datetime(["2024-01-01"] * n).tz_localize("UTC"),
        "n": [np.nan] * n,
        "o": pd.Series([None] * n, dtype=object),
    })
    return {"main": main, "empty": main.iloc[:0].copy(), "all_null": main.assign(
        f=np.nan, i=np.nan, w=np.nan, s=None, c=None, b=None, t=pd.NaT, z=pd.NaT)}


SPECS: list[tuple[str, dict[str, Any]]] = [
    ("expect_table_row_count_to_be_between", {"min_value": 5, "max_value": 20}),
    ("expect_table_row_count_to_equal", {"value": 10}),
    ("expect_table_column_count_to_equal", {"value": 10}),
    ("expect_column_to_exist", {"column": "f"}),
    ("expect_column_to_exist", {"column": "nope"}),
    ("expect_column_to_exist", {"column": "i", "column_index": 1}),
    ("expect_column_values_to_not_be_null", {"column": "f"}),
    ("expect_column_values_to_not_be_null", {"column": "f", "mostly": 0.85}),
    ("expect_column_values_to_not_be_null", {"column": "s", "mostly": 0.95}),
    ("expect_column_values_to_not_be_null", {"column": "n"}),
    ("expect_column_values_to_be_null", {"column": "c", "mostly": 0.05}),
    ("expect_column_values_to_be_between", {"column": "f", "min_value": 0, "max_value": 5}),
    ("expect_column_values_to_be_between", {"column": "f", "min_value": 0, "max_value": 5, "strict_max": True,
                                             "mostly": 0.5}),
    ("expect_column_values_to_be_between", {"column": "i", "min_value": 2, "strict_min": True}),
    ("expect_column_values_to_be_between", {"column": "b", "min_value": 0, "max_value": 0}),
    ("expect_column_values_to_be_between", {"column": "t", "min_value": "2024-01-01", "max_value": "2024-12-31"}),
    ("expect_column_values_to_be_between", {"column": "t", "min_value": "2024-01-01 00:00",
                                             "max_value": "2024-12-31 00:00"}),
    ("expect_column_values_to_be_between", {"column": "z", "max_value": "2024-12-31T00:00:00Z"}),
    ("expect_column_values_to_be_between", {"column": "n", "max_value": 1}),
    ("expect_column_values_to_be_in_set", {"column": "c", "value_set": ["A", "B", "C"], "mostly": 0.75}),
    ("expect_column_values_to_be_in_set", {"column": "s", "value_set": ["a,b", "ü ß", "", "😀"]}),
    ("expect_column_values_to_be_in_set", {"column": "c", "value_set": [True, False]}),  # YAML yes/no
    ("expect_column_values_to_be_in_set", {"column": "i", "value_set": [1, 3.0, 5.5, "5", True]}),
    ("expect_column_values_to_be_in_set", {"column": "f", "value_set": [1, 2.5, 5]}),
    ("expect_column_values_to_be_in_set", {"column": "b", "value_set": [True]}),
    ("expect_column_values_to_be_in_set", {"column": "o", "value_set": ["x"]}),
    ("expect_column_values_to_not_be_in_set", {"column": "c", "value_set": ["A", "E"]}),
    ("expect_column_values_to_be_unique", {"column": "i"}),
    ("expect_column_values_to_be_unique", {"column": "s"}),
    ("expect_column_values_to_be_unique", {"column": "t"}),
    ("expect_column_values_to_be_unique", {"column": "n"}),
    ("expect_column_unique_value_count_to_be_between", {"column": "c", "max_value": 3}),
    ("expect_column_unique_value_count_to_be_between", {"column": "f", "min_value": 1}),
    ("expect_column_unique_value_count_to_be_between", {"column": "n", "max_value": 3}),
    ("expect_column_proportion_of_unique_values_to_be_between", {"column": "i", "min_value": 0.5}),
    ("expect_column_proportion_of_unique_values_to_be_between", {"column": "o", "max_value": 0.5}),
    ("expect_column_min_to_be_between", {"column": "i", "min_value": 1}),
    ("expect_column_max_to_be_between", {"column": "w", "max_value": 9}),
    ("expect_column_min_to_be_between", {"column": "t", "min_value": "2024-01-01"}),
    ("expect_column_mean_to_be_between", {"column": "w", "min_value": 5, "max_value": 6}),
    ("expect_column_median_to_be_between", {"column": "i", "min_value": 3, "max_value": 4}),
    ("expect_column_sum_to_be_between", {"column": "i", "max_value": 40}),
    ("expect_column_sum_to_be_between", {"column": "n", "max_value": 1}),
    ("expect_column_stdev_to_be_between", {"column": "w", "max_value": 3}),
    ("expect_column_mean_to_be_between", {"column": "n", "max_value": 1}),
    ("expect_column_values_to_be_between", {"column": "i", "min_value": 2, "max_value": 5,
                                             "row_condition": 'c == "A" | c == "B"', "condition_parser": "pandas"}),
    ("expect_column_values_to_be_in_set", {"column": "c", "value_set": ["A"],
                                            "row_condition": "not (f > 2) and i in [1, 3, 5]",
                                            "condition_parser": "pandas"}),
    ("expect_column_values_to_not_be_null", {"column": "c", "row_condition": "c != 'A' & ~(i > 4)",
                                              "condition_parser": "pandas"}),
    ("expect_column_unique_value_count_to_be_between", {"column": "c", "max_value": 2,
                                                        "row_condition": "3 <= i <= 5", "condition_parser": "pandas"}),
    ("expect_column_values_to_be_unique", {"column": "i", "row_condition": "t >= '2024-02-01'",
                                           "condition_parser": "pandas"}),
]


def _item(etype: str, kwargs: dict[str, Any], kind: str = "generic") -> Item:
    item = Item(etype, "warn", kind, kwargs.get("column"), expectation_type=etype, kwargs=dict(kwargs))
    cls = gx.expectation_class(etype)
    assert cls is not None, etype
    item.expectation = cls(**kwargs)
    return item


def _same(a: Any, b: Any, where: str) -> None:
    a, b = _plain(a), _plain(b)
    if isinstance(a, float) and isinstance(b, float):
        assert (math.isnan(a) and math.isnan(b)) or a == pytest.approx(b, rel=1e-9, abs=1e-12), where
    elif isinstance(a, list) and isinstance(b, list):
        assert len(a) == len(b), where
        for x, y in zip(a, b, strict=True):
            _same(x, y, where)
    else:
        assert a == b, where


KEYS = ("element_count", "unexpected_count", "unexpected_percent", "missing_count", "missing_percent",
        "unexpected_percent_total", "unexpected_percent_nonmissing", "observed_value", "partial_unexpected_list")


def _compare(gx_res: Any, mine: counts.Computed, label: str) -> None:
    raised = _raised(gx_res.exception_info) is not None  # top level or per metric, as the section reads it
    assert raised == (_raised(mine.exception_info) is not None), (label, gx_res.exception_info, mine.exception_info)
    if raised:
        return
    assert gx_res.success == mine.success, label
    ref = dict(gx_res.result or {})
    for key in KEYS:
        assert (key in ref) == (key in mine.result), (label, key)
        if key in ref:
            _same(ref[key], mine.result[key], f"{label}: {key}")


def _run_both(frame: pd.DataFrame, specs: list[tuple[str, dict[str, Any]]]) -> list[tuple[Any, counts.Computed]]:
    items = [_item(t, kw) for t, kw in specs]
    reference = gx.Validator(frame).validate([i.expectation for i in items])
    table = ibis.memtable(frame)
    for item in items:
        assert counts.route(item, table) == ("counts", None), item.expectation_type
    mine, facts = counts.evaluate(items, table, None)
    assert facts.rows == len(frame)
    return [(r, mine[id(i)]) for r, i in zip(reference, items, strict=True)]


@pytest.mark.parametrize("which", ["main", "empty", "all_null"])
def test_every_translated_expectation_equals_great_expectations(which: str) -> None:
    frame = frames()[which]
    for (etype, kwargs), (ref, mine) in zip(SPECS, _run_both(frame, SPECS), strict=True):
        _compare(ref, mine, f"{which}: {etype} {kwargs}")


@pytest.mark.parametrize("which", ["main", "empty", "all_null"])
def test_every_translated_expectation_on_spark_equals_great_expectations(which: str, spark) -> None:
    """The same counts run on Spark (ibis on PySpark) equal Great Expectations on the pandas frame."""
    from gatekit.data import engine as eng

    frame = frames()[which]
    items = [_item(t, kw) for t, kw in SPECS]
    reference = gx.Validator(frame).validate([i.expectation for i in items])
    table = eng.open_table(eng.source_of(frame, "data"), eng.connection_for([], "spark"), "data")
    mine, facts = counts.evaluate(items, table, None)
    assert facts.rows == len(frame)
    for (etype, kwargs), ref, item in zip(SPECS, reference, items, strict=True):
        _compare(ref, mine[id(item)], f"spark {which}: {etype} {kwargs}")


def test_the_main_frame_exercises_failures_and_examples() -> None:
    """The equality above is not vacuous: on the main frame rules fail, with unexpected values shown."""
    pairs = _run_both(frames()["main"], SPECS)
    assert sum(m.success is False for _, m in pairs) >= 15
    assert sum(bool(m.result.get("partial_unexpected_list")) for _, m in pairs) >= 10


def test_logical_type_matches_great_expectations_verdict() -> None:
    frame = frames()["main"]
    cases = [("i", "integer", None), ("i", "float", None), ("i", "number", None), ("w", "integer", None),
             ("f", "integer", None), ("f", "float", None), ("s", "string", None), ("s", "integer", None),
             ("b", "boolean", None), ("b", "string", None), ("t", "datetime", "naive"), ("t", "datetime", "aware"),
             ("z", "datetime", "UTC"), ("z", "datetime", "naive"), ("z", "datetime", "Europe/Berlin"),
             ("n", "float", None), ("o", "string", None)]
    specs = [("expect_column_logical_type_to_be", {"column": c, "type_": t, **({"timezone": z} if z else {})})
             for c, t, z in cases]
    for frame_name in ("main", "all_null"):
        frame = frames()[frame_name]
        for (_, kw), (ref, mine) in zip(specs, _run_both(frame, specs), strict=True):
            label = f"{frame_name}: {kw}"
            assert ref.success == mine.success, label
            a, b = ref.result["details"], mine.result["details"]
            assert a["determinable"] == b["determinable"], label
            assert a["non_null"] == b["non_null"], label
            if a["logical"] not in ("mixed", "empty"):  # an all-None object column: pandas cannot tell its type
                assert a["logical"] == b["logical"], label
            assert a["tz"] == b["tz"], label
            if kw["type_"] == "integer":
                assert a["integral"] == b["integral"], label


def test_whole_number_floats_beyond_int64_and_infinities_read_as_pandas_reads_them() -> None:
    frame = pd.DataFrame({"big": [1e300, -(2.0 ** 60), 3.0, None], "inf": [1.0, np.inf, 2.0, None],
                          "half": [1.0, 2.0, 2.0 ** 51 + 0.5, None]})
    specs = [("expect_column_logical_type_to_be", {"column": c, "type_": "integer"}) for c in frame.columns]
    pairs = _run_both(frame, specs)
    assert [m.success for _, m in pairs] == [True, False, False]
    for (_, kw), (ref, mine) in zip(specs, pairs, strict=True):
        assert ref.success == mine.success, kw
        assert ref.result["details"]["integral"] == mine.result["details"]["integral"], kw


def test_unseen_categories_equal_in_set_on_the_reference_values() -> None:
    frame = frames()["main"]
    reference = pd.DataFrame({"c": ["A", "B", None, "Z", "A"], "s": ["a,b", "😀", " ", None, ""],
                              "i": [1.0, 3.0, np.nan, 7.0, 1.0], "f": [1, 2, 3, 4, 5]})
    for col, mostly in (("c", 0.8), ("s", 1.0), ("i", 0.5), ("f", 0.9)):
        values = reference[col].dropna().unique().tolist()
        ref = gx.Validator(frame).validate([gx.expectation_class("expect_column_values_to_be_in_set")(
            column=col, value_set=values, mostly=mostly)])[0]
        item = _item("expect_column_values_to_be_in_set", {"column": col, "value_set": [], "mostly": mostly},
                     kind="unseen")
        mine, _ = counts.evaluate([item], ibis.memtable(frame), ibis.memtable(reference))
        _compare(ref, mine[id(item)], f"unseen {col}")
        assert item.reference_distinct == len(values)
    assert ref.result["unexpected_count"] > 0


def test_a_column_rule_on_an_empty_reference_counts_every_value_unseen() -> None:
    frame = frames()["main"]
    item = _item("expect_column_values_to_be_in_set", {"column": "c", "value_set": []}, kind="unseen")
    ref = gx.Validator(frame).validate([gx.expectation_class("expect_column_values_to_be_in_set")(
        column="c", value_set=[])])[0]
    mine, _ = counts.evaluate([item], ibis.memtable(frame), ibis.memtable(frame.iloc[:0]))
    _compare(ref, mine[id(item)], "empty reference")


def test_values_looked_at_count_non_null_values_under_the_condition() -> None:
    frame = frames()["main"]
    specs = [("expect_column_values_to_be_unique", {"column": "f"}),
             ("expect_column_values_to_be_unique", {"column": "c", "row_condition": "i > 2",
                                                    "condition_parser": "pandas"})]
    items = [_item(t, kw) for t, kw in specs]
    _, facts = counts.evaluate(items, ibis.memtable(frame), None)
    assert facts.looked(items[0]) == int(frame["f"].notna().sum())
    assert facts.looked(items[1]) == int(frame.query("i > 2")["c"].notna().sum())


@pytest.mark.parametrize("condition, parser", [
    ("f.abs() > 1", "pandas"), ("`odd name` > 1", "pandas"), ("i > @limit", "pandas"),
    ('col("i") > 1', "great_expectations"), ("i + f > 1", "pandas"), ("nope > 1", "pandas")])
def test_untranslatable_row_conditions_are_refused_with_the_reason(condition: str, parser: str) -> None:
    item = _item("expect_column_values_to_not_be_null", {"column": "i", "row_condition": condition,
                                                         "condition_parser": parser})
    how, why = counts.route(item, ibis.memtable(frames()["main"]))
    assert how == "refuse"
    assert why is not None and "row_condition" in why and condition in why


def test_an_untranslated_argument_is_refused() -> None:
    item = _item("expect_column_values_to_be_in_set", {"column": "c", "value_set": ["A"],
                                                        "result_format": "COMPLETE"})
    assert counts.route(item, ibis.memtable(frames()["main"]))[0] == "counts"
    item.kwargs["some_new_option"] = 1
    how, why = counts.route(item, ibis.memtable(frames()["main"]))
    assert how == "refuse" and why is not None and "some_new_option" in why


def test_streamed_per_row_expectations_equal_great_expectations_on_all_rows() -> None:
    frame = frames()["main"]
    with gx.custom_expectations(REPO / "expectations") as load:
        assert not load.errors
        frame = frame.assign(contact=["ann@example.com", "call 555-0100", None, "x", "bob@example.org", "y", "z",
                                      "4111 1111 1111 1111", "w", "v"])
        specs = [("expect_column_values_to_match_regex", {"column": "c", "regex": "^[AB]$", "mostly": 0.5}),
                 ("expect_column_value_lengths_to_be_between", {"column": "s", "min_value": 1, "max_value": 3}),
                 ("expect_column_values_to_not_contain_pii", {"column": "contact", "mostly": 0.6}),
                 ("expect_column_values_to_match_regex", {"column": "c", "regex": "^A$", "row_condition": "i > 2",
                                                          "condition_parser": "pandas"})]
        items = [_item(t, kw) for t, kw in specs]
        table = ibis.memtable(frame)
        assert [counts.route(i, table)[0] for i in items] == ["stream"] * len(items)
        reference = gx.Validator(frame).validate([i.expectation for i in items])
        for rows in (3, 4, 1000):  # the batch size never changes the result
            mine = counts.stream(items, table, gx.Validator, batch_rows=rows)
            for (etype, _), ref, item in zip(specs, reference, items, strict=True):
                _compare(ref, mine[id(item)], f"{etype} in batches of {rows}")
        assert reference[2].result["unexpected_count"] == 3
        empty = counts.stream(items[:1], ibis.memtable(frame.iloc[:0]), gx.Validator)[id(items[0])]
        _compare(gx.Validator(frame.iloc[:0]).validate([items[0].expectation])[0], empty, "stream, no rows")


def test_aggregate_custom_and_untranslated_builtin_expectations_are_refused() -> None:
    table = ibis.memtable(frames()["main"])
    with gx.custom_expectations(REPO / "expectations"):
        # a column aggregate of one column runs on that column alone (read into memory), custom or built-in
        dominant = _item("expect_column_most_common_value_share_to_be_at_most", {"column": "c", "max_share": 0.5})
        assert counts.route(dominant, table) == ("column", None)
        conditioned = _item("expect_column_most_common_value_share_to_be_at_most",
                            {"column": "c", "max_share": 0.5, "row_condition": "i > 1", "condition_parser": "pandas"})
        how, why = counts.route(conditioned, table)
        assert how == "refuse" and why is not None and "custom ColumnAggregateExpectation" in why
    kl = _item("expect_column_kl_divergence_to_be_less_than", {"column": "i", "partition_object": None,
                                                               "threshold": 0.1})
    assert counts.route(kl, table) == ("column", None)
    for etype, kw in (("expect_column_pair_values_to_be_equal", {"column_A": "i", "column_B": "w"}),
                      ("expect_column_values_to_be_increasing", {"column": "i"})):
        how, why = counts.route(_item(etype, kw), table)
        assert how == "refuse" and why is not None and "does not translate" in why, etype


def test_describe_maps_duckdb_types_to_logical_types() -> None:
    dt = ibis.dtype
    assert counts.describe(dt("int32"), 3, None)["logical"] == "integer"
    assert counts.describe(dt("float64"), 3, 0)["integral"] is True
    assert counts.describe(dt("float64"), 0, 0)["integral"] is False
    assert counts.describe(dt("float64"), 3, None)["integral"] is None  # not counted (no integer rule)
    assert counts.describe(dt("decimal(10, 2)"), 3, 1)["logical"] == "float"
    assert counts.describe(dt("decimal(10, 0)"), 3, None)["logical"] == "integer"
    assert counts.describe(dt("timestamp('Europe/Berlin')"), 1, None)["tz"] == "Europe/Berlin"
    assert counts.describe(dt("date"), 1, None)["logical"] == "datetime"
    assert counts.describe(dt("!string"), 1, None)["dtype"] == "string"
    assert counts.describe(dt("array<int64>"), 1, None)["logical"] == "other"


# ----------------------------------------------------------------------------------------------------------
# the section end to end on both engines
# ----------------------------------------------------------------------------------------------------------

POLICY = """
version: 1
data_quality:
  on_fail: warn
  expectations_dir: {expectations}
  max_null_fraction: 0.15
  row_count: {{min: 5, max: 20, on_fail: block}}
  required_columns: [note, missing_col]
  columns:
    id:    {{type: integer, unique: true}}
    dup:   {{unique: true, on_fail: block}}
    age:   {{type: integer, max_null_fraction: 0.1}}
    price: {{type: float, min: 0, max: 10}}
    qty:   {{type: float}}
    name:  {{type: string, max_distinct: 3}}
    flag:  {{type: boolean, required: false}}
    yn:    {{type: string, allowed: [yes, no]}}
    grade: {{allowed: ["A", "B", "C"], mostly: 0.75, max_distinct: 5, max_unseen_share: 0}}
    score: {{type: integer, min: 0, max: 100, mostly: 0.8}}
    city:  {{type: string, max_unseen_share: 0.2}}
    empty: {{max_null_fraction: 0.5, unique: true, max_distinct: 2}}
    opt:   {{required: false, type: integer, max_null_fraction: 0, min: 0}}
  expectations:
    - {{type: expect_column_values_to_be_between, kwargs: {{column: qty, min_value: 2, max_value: 6, mostly: 0.5}}}}
    - {{type: expect_column_values_to_not_be_in_set, kwargs: {{column: city, value_set: [Lima, Kyiv]}}}}
    - {{type: expect_column_mean_to_be_between, kwargs: {{column: price, min_value: 4, max_value: 6}}}}
    - {{type: expect_column_values_to_be_between, kwargs: {{column: score, max_value: 90,
        row_condition: 'grade in ["A", "B"]', condition_parser: pandas}}}}
    - {{type: expect_column_values_to_match_regex, kwargs: {{column: name, regex: "^[a-h]"}}}}
    - {{type: expect_column_values_to_not_contain_pii, kwargs: {{column: contact}}}}
    - {{type: expect_column_values_to_be_unique, kwargs: {{column: empty}}}}
    - {{type: expect_column_most_common_value_share_to_be_at_most, kwargs: {{column: qty, max_share: 0.5}}}}
    - {{type: expect_column_pair_values_a_to_be_greater_than_b, kwargs: {{column_A: price, column_B: qty}}}}
    - {{type: expect_column_values_to_not_be_null, kwargs: {{column: note, row_condition: "qty.abs() > 1",
        condition_parser: pandas}}}}
"""

MAIN = pd.DataFrame({
    "id": [1, 2, 3, 4, 5, 6, 7, 8, 9, 10],
    "dup": [1, 2, 2, 3, 3, 3, 4, 5, 6, 7],
    "age": [30, 41, None, 25, 60, 33, 47, 52, 38, 29],
    "price": [0.5, 1.25, 2.0, 3.5, 4.75, 5.0, 6.5, 7.25, 8.0, 9.5],
    "qty": [3, 1, 4, 1, 5, 9, 2, 6, 5, 3],
    "name": ["ann", "bob", "cy", "dee", "eve", "fay", "gus", "hal", "ivy", "jo"],
    "flag": [True, False, True, True, False, False, True, False, True, True],
    "yn": ["yes", "no", "yes", "yes", "no", "no", "yes", "no", "yes", "yes"],
    "grade": ["A", "B", "C", "D", "A", "B", None, "C", "A", "E"],
    "score": [5, 50, 95, 101, -3, 60, None, 70, 80, 99],
    "city": ["Paris", "Rome", "Oslo", "Paris", "Lima", None, "Rome", "Paris", "Kyiv", "Oslo"],
    "note": ["x", None, "y", None, "z", "w", "v", "u", "t", "s"],
    "contact": ["a@b.com", "none", None, "x", "y", "z", "w", "v", "u", "555-010-0199"],
    "empty": [np.nan] * 10,
})
REFERENCE = pd.DataFrame({"city": ["Paris", "Rome", "Oslo", "Bern", "Paris"], "grade": ["A", "B", "C", "D", "E"]})


def _section_run(policy_path: Path, engine: str, frame: pd.DataFrame, reference: pd.DataFrame) -> list[Any]:
    from gatekit.data.inputs import RunInputs
    from gatekit.metrics import default_registry
    from gatekit.policy.loader import load_policy
    from gatekit.sections.base import RunContext

    registry = default_registry()
    policy = load_policy(policy_path, registry)
    if engine == "duckdb":
        inputs = RunInputs(engine="duckdb", table=ibis.memtable(frame), reference_table=ibis.memtable(reference))
    elif engine == "spark":
        from gatekit.data import engine as eng

        con = eng.connection_for([], "spark")
        inputs = RunInputs(engine="spark", table=eng.open_table(eng.source_of(frame, "data"), con, "data"),
                           reference_table=eng.open_table(eng.source_of(reference, "reference"), con, "reference"))
    else:
        inputs = RunInputs(frame=frame, reference=reference)
    ctx = RunContext(policy=policy, inputs=inputs, registry=registry)
    return DataQualitySection().run(ctx)


TYPE_WORDS = ("object", "int64", "float64", "bool", "string", "boolean")


def _comparable(c: Any) -> dict[str, Any]:
    out = {k: getattr(c, k) for k in ("name", "section", "status", "on_fail", "observed", "op", "threshold",
                                       "margin", "message")}
    details = dict(c.details or {})
    if details.get("expectation") == "expect_column_logical_type_to_be":
        # the storage type is named by each engine ("object" in pandas, "string" in DuckDB): compare the verdict
        out["message"] = None
        details.pop("observed_value", None)
        rd = dict(details.pop("result_details", {}) or {})
        details["logical"] = (rd.get("logical"), rd.get("non_null"), rd.get("determinable"))
    details.pop("engine", None)
    details.pop("engine_note", None)  # DuckDB says it read an aggregate's one column alone
    out["details"] = details
    return out


@pytest.fixture(scope="module")
def both_engines(tmp_path_factory: pytest.TempPathFactory) -> tuple[list[Any], list[Any]]:
    tmp = tmp_path_factory.mktemp("dq_engines")
    path = tmp / "p.yaml"
    path.write_text(textwrap.dedent(POLICY).format(expectations=REPO / "expectations").lstrip("\n"),
                    encoding="utf-8")
    return (_section_run(path, "pandas", MAIN, REFERENCE), _section_run(path, "duckdb", MAIN, REFERENCE))


REFUSED_ON_DUCKDB = {"expect_column_pair_values_a_to_be_greater_than_b",
                     "expect_column_values_to_not_be_null(note)"}


def test_the_section_gives_identical_checks_on_both_engines(both_engines: tuple[list[Any], list[Any]]) -> None:
    pandas_checks, duck_checks = both_engines
    assert [c.name for c in pandas_checks] == [c.name for c in duck_checks]
    compared = 0
    for p, d in zip(pandas_checks, duck_checks, strict=True):
        if p.name in REFUSED_ON_DUCKDB:
            continue
        assert _comparable(p) == _comparable(d), p.name
        compared += 1
    assert compared >= 35
    statuses = {c.status for c in duck_checks}
    assert {Status.PASS, Status.FAIL, Status.NOT_COMPUTABLE, Status.ERROR} <= statuses


def test_rules_duckdb_cannot_compute_are_errors_naming_the_expectation(
        both_engines: tuple[list[Any], list[Any]]) -> None:
    pandas_checks, duck_checks = both_engines
    by_name = {c.name: c for c in duck_checks}
    pandas_by_name = {c.name: c for c in pandas_checks}
    for name in REFUSED_ON_DUCKDB:
        c = by_name[name]
        assert c.status == Status.ERROR, name
        assert c.message.startswith(f"{c.details['expectation']} cannot run on the DuckDB engine: "), c.message
        assert pandas_by_name[name].status != Status.ERROR or "abs" in name  # pandas computes them
    dominant = by_name["expect_column_most_common_value_share_to_be_at_most(qty)"]
    assert dominant.status == pandas_by_name[dominant.name].status and dominant.observed == pandas_by_name[
        dominant.name].observed
    assert "aggregate ran on column 'qty' alone, read into memory" in dominant.details["engine_note"]
    assert "row_condition" in by_name["expect_column_values_to_not_be_null(note)"].message


def test_the_section_on_spark_equals_pandas_and_runs_what_duckdb_refuses_on_great_expectations_spark(
        both_engines: tuple[list[Any], list[Any]], spark, tmp_path: Path) -> None:
    """On Spark the counts equal the pandas engine's Great Expectations results; what DuckDB refuses (a column
    pair, a one-column aggregate) runs on Great Expectations' own Spark datasource and equals pandas too."""
    path = tmp_path / "p.yaml"
    path.write_text(textwrap.dedent(POLICY).format(expectations=REPO / "expectations").lstrip("\n"),
                    encoding="utf-8")
    pandas_checks = both_engines[0]
    spark_checks = _section_run(path, "spark", MAIN, REFERENCE)
    assert [c.name for c in spark_checks] == [c.name for c in pandas_checks]
    pandas_by_name = {c.name: c for c in pandas_checks}
    compared = 0
    for c in spark_checks:
        if c.name == "expect_column_values_to_not_be_null(note)":  # a pandas row_condition: not Spark syntax
            assert c.status == Status.ERROR and "Great Expectations could not evaluate" in c.message, c.message
            continue
        assert _comparable(c) == _comparable(pandas_by_name[c.name]), c.name
        compared += 1
    assert compared >= 37
    pair = next(c for c in spark_checks if c.name == "expect_column_pair_values_a_to_be_greater_than_b")
    assert pair.status == Status.FAIL and "Spark datasource" in pair.details["engine_note"]

