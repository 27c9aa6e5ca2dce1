"""The two custom expectations shipped in expectations/ (the examples users copy), run on real GE."""

from __future__ import annotations

import importlib.util
import itertools
import json
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np
import pandas as pd
import pytest

from tests.helpers import EXPECTATIONS

_counter = itertools.count()


def load(filename: str, module_name: str | None = None) -> ModuleType:
    """Load a file of expectations/ the way gatekit does: explicitly, by path (no sys.modules entry)."""
    name = module_name or f"gk_test_expectations_{Path(filename).stem}_{next(_counter)}"
    spec = importlib.util.spec_from_file_location(name, EXPECTATIONS / filename)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def pii() -> ModuleType:
    return load("pii.py")


@pytest.fixture(scope="module")
def dominant() -> ModuleType:
    return load("dominant_value.py")


@pytest.fixture(scope="module")
def batch_definition() -> Any:
    import great_expectations as gx
    from great_expectations.data_context.types.base import ProgressBarsConfig

    ctx = gx.get_context(mode="ephemeral")
    ctx.variables.progress_bars = ProgressBarsConfig(globally=False)
    return ctx.data_sources.add_pandas("gk").add_dataframe_asset("eval").add_batch_definition_whole_dataframe("all")


def validate(batch_definition: Any, df: pd.DataFrame, *expectations: Any) -> list[Any]:
    """Validate expectations on ``df`` as gatekit does (SUMMARY, 20 examples); results in order."""
    import great_expectations as gx

    suite = gx.ExpectationSuite(name=f"s{next(_counter)}")
    for exp in expectations:
        suite.add_expectation(exp)
    batch = batch_definition.get_batch(batch_parameters={"dataframe": df})
    res = batch.validate(suite, result_format={"result_format": "SUMMARY", "partial_unexpected_count": 20})
    for r in res.results:
        assert not r.exception_info.get("raised_exception"), r.exception_info
    return list(res.results)


MIXED = [
    "alice@example.com",  # e-mail
    "call +44 20 7946 0958",  # E.164 phone
    "4111 1111 1111 1111",  # card, valid Luhn
    "4111 1111 1111 1112",  # fails Luhn: not a card
    "1234.56",
    "2024-01-15",
    "order 12345",
    None,
]


# --- PII ------------------------------------------------------------------------------------------
def test_pii_mixed_column_flags_the_three_pii_values(pii, batch_definition):
    (r,) = validate(batch_definition, pd.DataFrame({"t": MIXED}), pii.ExpectColumnValuesToNotContainPii(column="t"))
    assert r.expectation_config.type == "expect_column_values_to_not_contain_pii"
    assert r.success is False
    assert r.result["element_count"] == 8
    assert r.result["missing_count"] == 1
    assert r.result["unexpected_count"] == 3
    assert r.result["unexpected_percent"] == pytest.approx(100 * 3 / 7)
    assert r.result["partial_unexpected_list"] == ["alice@example.com", "call +44 20 7946 0958", "4111 1111 1111 1111"]


@pytest.mark.parametrize(("kinds", "flagged"), [
    (["email"], ["alice@example.com"]),
    (["phone"], ["call +44 20 7946 0958"]),
    (["card"], ["4111 1111 1111 1111"]),
    (["email", "card"], ["alice@example.com", "4111 1111 1111 1111"]),
    ("Email", ["alice@example.com"]),  # one kind as a bare string, case-insensitive
])
def test_pii_kinds_restrict_what_is_looked_for(pii, batch_definition, kinds, flagged):
    exp = pii.ExpectColumnValuesToNotContainPii(column="t", kinds=kinds)
    (r,) = validate(batch_definition, pd.DataFrame({"t": MIXED}), exp)
    assert r.result["unexpected_count"] == len(flagged)
    assert r.result["partial_unexpected_list"] == flagged


def test_pii_two_expectations_with_different_kinds_in_one_suite(pii, batch_definition):
    e_all = pii.ExpectColumnValuesToNotContainPii(column="t")
    e_email = pii.ExpectColumnValuesToNotContainPii(column="t", kinds=["email"])
    r_all, r_email = validate(batch_definition, pd.DataFrame({"t": MIXED}), e_all, e_email)
    assert (r_all.result["unexpected_count"], r_email.result["unexpected_count"]) == (3, 1)


@pytest.mark.parametrize(("mostly", "success"), [(0.5, True), (4 / 7, True), (0.6, False), (1.0, False)])
def test_pii_mostly_is_the_clean_share_of_non_null_values(pii, batch_definition, mostly, success):
    # 4 of the 7 non-null values are clean
    exp = pii.ExpectColumnValuesToNotContainPii(column="t", mostly=mostly)
    (r,) = validate(batch_definition, pd.DataFrame({"t": MIXED}), exp)
    assert r.success is success


def test_pii_clean_and_all_null_columns_pass(pii, batch_definition):
    df = pd.DataFrame({"clean": ["ok", "1234.56", "2024-01-15T10:30:00+01:00", None], "empty": [None] * 4})
    r1, r2 = validate(batch_definition, df, pii.ExpectColumnValuesToNotContainPii(column="clean"),
                      pii.ExpectColumnValuesToNotContainPii(column="empty"))
    assert (r1.success, r1.result["unexpected_count"]) == (True, 0)
    assert r2.success is True  # GE map semantics: nulls are ignored


def test_pii_numeric_columns_are_tested_through_their_string_form(pii, batch_definition):
    df = pd.DataFrame({
        "ints": [4111111111111111, 12345, 20240115, 5555555555554444],
        # an integer column with a missing value is float64: 4111111111111111.0 must still be caught
        "floats": [4111111111111111.0, np.nan, 1234.56, 0.4111111111111111],
    })
    r_int, r_float = validate(batch_definition, df, pii.ExpectColumnValuesToNotContainPii(column="ints"),
                              pii.ExpectColumnValuesToNotContainPii(column="floats"))
    assert r_int.result["unexpected_count"] == 2
    assert r_int.result["partial_unexpected_list"] == [4111111111111111, 5555555555554444]
    assert r_float.result["unexpected_count"] == 1
    assert r_float.result["partial_unexpected_list"] == [4111111111111111.0]


@pytest.mark.parametrize("kinds", [["ssn"], ["email", "passport"], [], [3]])
def test_pii_unknown_or_empty_kinds_are_a_clear_error(pii, kinds):
    with pytest.raises(ValueError, match="kind"):
        pii.ExpectColumnValuesToNotContainPii(column="t", kinds=kinds)


def test_pii_default_kwargs(pii):
    exp = pii.ExpectColumnValuesToNotContainPii(column="t")
    assert exp.kinds == ["email", "phone", "card"]
    assert exp.mostly == 1


@pytest.mark.parametrize(("digits", "valid"), [
    ("4111111111111111", True),  # Visa test number
    ("79927398713", True),  # the Wikipedia example
    ("79927398710", False),
    ("79927398711", False),
    ("4111111111111112", False),
    ("5555555555554444", True),
    ("378282246310005", True),
    ("0", True),
    ("", False),
    ("4111 1111 1111 1111", False),  # digits only: separators are stripped by the caller
    ("٤١١١", False),  # non-ASCII digits
])
def test_luhn_valid(pii, digits, valid):
    assert pii.luhn_valid(digits) is valid


@pytest.mark.parametrize("text", [
    "alice@example.com",
    "Contact: first.last+tag@mail.example.co.uk!",
    "+44 20 7946 0958",
    "+1 (555) 123-4567",
    "+33.1.23.45.67.89",
    "+442079460958",
    "(555) 123-4567",
    "555-123-4567",
    "1-555-123-4567",
    "4111 1111 1111 1111",
    "4111-1111-1111-1111",
    "4111111111111111",
    "amex 3782 822463 10005 exp 12/27",
    "4222222222222",  # 13 digits
])
def test_pii_detected(pii, text):
    assert pii.contains_pii(pd.Series([text])).tolist() == [True]


@pytest.mark.parametrize("text", [
    "12345",
    "5551234567",  # plain integer
    "1234.56",
    "+12345678.90",  # a signed amount
    "2024-01-15",
    "2024-01-15T10:30:00+01:00",
    "2024-01-15 10:30:00.123456",
    "1705314600000",  # epoch milliseconds: first digit 1 is not a payment-card industry
    "0.4111111111111111",  # decimal part of a float
    "ID4111111111111111",  # glued to letters
    "4111 1111 1111 1112",  # fails Luhn
    "4111 1111 1111 1111 2024",  # continued by another digit group
    "123-45-6789",
    "555.123.4567",  # dots only: not one of the matched North-American layouts
    "a + 12345678",
    "x@y",
    "user@localhost",
])
def test_pii_not_detected(pii, text):
    assert pii.contains_pii(pd.Series([text])).tolist() == [False]


# --- dominant value -------------------------------------------------------------------------------
@pytest.mark.parametrize(("max_share", "success"), [(0.6, True), (1.0, True), (0.5, False), (0.0, False)])
def test_dominant_value_share(dominant, batch_definition, max_share, success):
    df = pd.DataFrame({"x": [0, 0, 0, 1, 2, None]})
    exp = dominant.ExpectColumnMostCommonValueShareToBeAtMost(column="x", max_share=max_share)
    (r,) = validate(batch_definition, df, exp)
    assert r.expectation_config.type == "expect_column_most_common_value_share_to_be_at_most"
    assert r.success is success
    assert r.result["observed_value"] == pytest.approx(3 / 5)
    assert r.result["details"] == {"value": 0, "count": 3, "non_null": 5}


def test_dominant_value_all_null_fails_closed(dominant, batch_definition):
    df = pd.DataFrame({"n": [None, None, None], "f": [np.nan] * 3})
    results = validate(batch_definition, df,
                       dominant.ExpectColumnMostCommonValueShareToBeAtMost(column="n", max_share=1.0),
                       dominant.ExpectColumnMostCommonValueShareToBeAtMost(column="f", max_share=1.0))
    for r in results:
        assert r.success is False
        assert r.result["observed_value"] is None
        assert r.result["details"]["reason"] == "no non-null values"
        assert r.result["details"]["non_null"] == 0


def test_dominant_value_empty_frame_fails_closed(dominant, batch_definition):
    df = pd.DataFrame({"x": pd.Series([], dtype="float64")})
    (r,) = validate(batch_definition, df, dominant.ExpectColumnMostCommonValueShareToBeAtMost(column="x", max_share=1))
    assert r.success is False
    assert r.result["observed_value"] is None


def test_dominant_value_details_are_json_safe(dominant, batch_definition):
    df = pd.DataFrame({
        "s": ["b", "a", "a", "b", None, "c"],  # a tie: the smallest value is reported
        "i": np.array([7, 7, 1, 2, 3, 4], dtype="int64"),
        "d": pd.to_datetime(["2024-01-01"] * 4 + ["2024-02-01"] * 2),
        "b": [True, True, True, False, None, None],
    })
    e = dominant.ExpectColumnMostCommonValueShareToBeAtMost
    rs, ri, rd, rb = validate(batch_definition, df, e(column="s", max_share=0.5), e(column="i", max_share=0.5),
                              e(column="d", max_share=0.5), e(column="b", max_share=0.5))
    assert (rs.success, rs.result["observed_value"], rs.result["details"]) == (
        True, 0.4, {"value": "a", "count": 2, "non_null": 5})
    assert ri.result["details"] == {"value": 7, "count": 2, "non_null": 6}
    assert type(ri.result["details"]["value"]) is int
    assert rd.result["details"]["value"] == "2024-01-01 00:00:00"
    assert rd.success is False
    assert rb.result["details"] == {"value": True, "count": 3, "non_null": 4}
    for r in (rs, ri, rd, rb):
        json.dumps(r.result)


@pytest.mark.parametrize("kwargs", [{}, {"max_share": 1.5}, {"max_share": -0.1}, {"max_share": True},
                                    {"max_share": float("nan")}, {"max_share": "half"}])
def test_dominant_value_max_share_is_required_and_a_fraction(dominant, kwargs):
    with pytest.raises(ValueError, match="max_share"):
        dominant.ExpectColumnMostCommonValueShareToBeAtMost(column="x", **kwargs)


# --- loading ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("filename", ["pii.py", "dominant_value.py"])
def test_files_load_twice_in_one_process(filename, batch_definition):
    from great_expectations.expectations.registry import _registered_expectations

    first = load(filename, f"gk_twice_a_{filename[:-3]}")
    second = load(filename, f"gk_twice_b_{filename[:-3]}")
    again = load(filename, f"gk_twice_b_{filename[:-3]}")  # the same module name again
    assert first is not second is not again
    if filename == "pii.py":
        cls, kwargs, name = again.ExpectColumnValuesToNotContainPii, {}, "expect_column_values_to_not_contain_pii"
    else:
        cls, kwargs, name = (again.ExpectColumnMostCommonValueShareToBeAtMost, {"max_share": 0.6},
                             "expect_column_most_common_value_share_to_be_at_most")
    assert _registered_expectations[name] is cls
    # the expectation still runs after its metric provider was registered again
    df = pd.DataFrame({"t": ["alice@example.com", "x", "x", "x"]})
    (r,) = validate(batch_definition, df, cls(column="t", **kwargs))
    assert r.success is False


def test_pii_one_million_short_strings_in_reasonable_time(pii):
    import time

    rng = np.random.default_rng(0)
    pool = np.array(["ok", "order 12345", "1234.56", "2024-01-15", "great product, fast delivery", "size M",
                     "ref 987654", "N/A", "+5", "4 stars", "2024-01-15T10:30:00Z", "returned"], dtype=object)
    values = pool[rng.integers(0, len(pool), 1_000_000)]
    values[:300] = ["alice@example.com", "call +44 20 7946 0958", "4111 1111 1111 1111"] * 100
    start = time.perf_counter()
    found = pii.contains_pii(pd.Series(values))
    elapsed = time.perf_counter() - start
    assert int(found.sum()) == 300
    assert elapsed < 20, f"1M rows took {elapsed:.1f}s"
