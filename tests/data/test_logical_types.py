"""Tests of :mod:`gatekit.data.logical_types`: every pandas storage of a value kind is accepted by
the type that covers it.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from gatekit.data.logical_types import check_timezone_rule, describe_column, normalize_type, type_matches


def ok(series: pd.Series, expected: str, tz: str | None = None, widen: bool = False) -> bool | None:
    return type_matches(describe_column(series), expected, tz, allow_widening=widen)[0]


def test_string_under_either_pandas_string_inference() -> None:
    # {"c": ["a", "b"]} is object under pandas 2 and "str" under pandas 3 (infer_string): both are strings
    with pd.option_context("future.infer_string", True):
        new = pd.DataFrame({"c": ["a", "b"]})["c"]
    old = pd.DataFrame({"c": ["a", "b"]})["c"]
    assert str(new.dtype) == "str" and str(old.dtype) == "object"
    assert ok(new, "string") is True and ok(old, "string") is True
    assert ok(pd.Series(["a", None], dtype="string"), "string") is True
    assert ok(pd.Series(["a", "b"], dtype="string[pyarrow]"), "string") is True


def test_object_column_of_mixed_values_is_not_string() -> None:
    assert ok(pd.Series(["a", 1], dtype=object), "string") is False
    assert ok(pd.Series([1, 2], dtype=object), "string") is False


@pytest.mark.parametrize("dtype", ["int8", "int64", "uint16", "Int32", "Int64"])
def test_integers_including_nullable(dtype: str) -> None:
    s = pd.Series([1, 2, 3], dtype=dtype)
    assert ok(s, "integer") is True and ok(s, "number") is True and ok(s, "float") is False


def test_integer_column_with_missing_values_read_from_csv() -> None:
    s = pd.Series([1.0, np.nan, 3.0])  # how read_csv holds an integer column with a gap
    assert ok(s, "integer") is True
    assert ok(pd.Series([1.5, np.nan]), "integer") is False


def test_float_and_the_backward_widening() -> None:
    assert ok(pd.Series([1.5], dtype="Float64"), "float") is True
    ints = pd.Series([1, 2])
    assert ok(ints, "float") is False
    assert ok(ints, "float", widen=True) is True


def test_boolean_and_category() -> None:
    assert ok(pd.Series([True, None], dtype="boolean"), "boolean") is True
    assert ok(pd.Series([True, False]), "boolean") is True
    assert ok(pd.Series([True, False], dtype=object), "boolean") is True
    cat = pd.Series(pd.Categorical(["a", "b"], categories=["a", "b", "z"]))  # a subset of its categories
    assert ok(cat, "category") is True and ok(cat, "string") is True and ok(cat, "integer") is False
    assert ok(pd.Series(pd.Categorical([1, 2])), "integer") is True


def test_all_null_column_cannot_show_its_type() -> None:
    assert ok(pd.Series([np.nan, np.nan]), "string") is None
    assert ok(pd.Series([None, None], dtype=object), "integer") is None


@pytest.mark.parametrize(("tz", "rule", "expected"), [
    (None, "naive", True), (None, "aware", False), (None, "UTC", False),
    ("UTC", "naive", False), ("UTC", "aware", True), ("UTC", "UTC", True),
    ("Europe/Berlin", "Europe/Berlin", True), ("Europe/Berlin", "UTC", False),
])
def test_datetime_time_zone_rules(tz: str | None, rule: str, expected: bool) -> None:
    s = pd.Series(pd.to_datetime(["2024-01-01 10:00", "2024-06-01 10:00"]))
    if tz:
        s = s.dt.tz_localize(tz)
    assert ok(s, "datetime", rule) is expected


def test_type_names_and_aliases() -> None:
    assert [normalize_type(n) for n in ("int", "str", "double", "bool", "Float", "timestamp")] == [
        "integer", "string", "float", "boolean", "float", "datetime"]
    with pytest.raises(ValueError, match="use one of integer, float"):
        normalize_type("decimal")
    assert check_timezone_rule("Europe/Berlin") == "Europe/Berlin"
    with pytest.raises(ValueError, match="unknown time zone"):
        check_timezone_rule("Mars/Olympus")


def test_type_names_shown_in_messages_are_bounded() -> None:
    # a list built from YAML aliases is no type name, and is never turned into text in full
    shared = ["x" * 10_000] * 10_000  # 100 MB as text
    with pytest.raises(ValueError, match="a type must be a name such as float, not a list") as err:
        normalize_type([shared] * 10_000)  # type: ignore[arg-type]
    assert len(str(err.value)) < 200
    with pytest.raises(ValueError, match="unknown type 'ddd") as err:
        normalize_type("d" * 100_000)
    assert len(str(err.value)) < 400
    with pytest.raises(ValueError, match="unknown time zone") as err:
        check_timezone_rule("Mars/" + "o" * 100_000)
    assert len(str(err.value)) < 300
