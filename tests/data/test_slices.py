"""Tests of :mod:`gatekit.data.slices`: how a slice column's values become slices, and what is refused."""

from __future__ import annotations

from decimal import Decimal

import numpy as np
import pandas as pd
import pytest

from gatekit.core.errors import InputError
from gatekit.data.slices import MISSING_SLICE, OUTSIDE_SLICE, column_slices, slice_frame, value_label


@pytest.mark.parametrize(("value", "label"), [(1, "1"), (1.0, "1"), (np.int64(7), "7"), (np.float64(2.5), "2.5"),
                                              (Decimal("3.00"), "3"), (True, "true"), (np.bool_(False), "false"),
                                              ("north", "north"), (0.1 + 0.2, repr(0.1 + 0.2))])
def test_values_are_labelled_by_value(value, label) -> None:
    assert value_label(value) == label


def test_text_values_are_slices_and_missing_ones_their_own() -> None:
    col = pd.Series(["b", "a", None, "b", np.nan])
    codes, labels = column_slices(col, None, "g")
    assert labels == ["a", "b", MISSING_SLICE]
    assert [labels[c] for c in codes] == ["b", "a", MISSING_SLICE, "b", MISSING_SLICE]


def test_a_real_value_named_like_the_missing_slice_stays_apart() -> None:
    codes, labels = column_slices(pd.Series(["(missing)", None]), None, "g")
    assert labels == ["(missing)", "((missing))"] and codes.tolist() == [0, 1]


def test_numeric_codes_sort_by_value_and_read_the_same_as_ints_or_floats() -> None:
    ints = column_slices(pd.Series([10, 2, 2, 1]), None, "c")
    floats = column_slices(pd.Series([10.0, 2.0, np.nan, 1.0]), None, "c")
    assert ints[1] == ["1", "2", "10"] and ints[0].tolist() == [2, 1, 1, 0]
    assert floats[1] == ["1", "2", "10", MISSING_SLICE] and floats[0].tolist() == [2, 1, 3, 0]


def test_bins_list_every_bin_and_keep_values_outside_them_and_missing_ones() -> None:
    col = pd.Series([5.0, 20.0, 39.99, 40.0, 70.0, np.nan, 65.0])
    codes, labels = column_slices(col, [10.0, 40.0, 65.0, 80.0], "age")
    # left-closed, right-open; the empty bin [65, 80) has 65.0 and 70.0; 5 is below every bin
    assert labels == ["[10, 40)", "[40, 65)", "[65, 80)", OUTSIDE_SLICE, MISSING_SLICE]
    assert [labels[c] for c in codes] == [OUTSIDE_SLICE, "[10, 40)", "[10, 40)", "[40, 65)", "[65, 80)",
                                          MISSING_SLICE, "[65, 80)"]
    empty_bin = column_slices(pd.Series([15.0, 16.0]), [10.0, 40.0, 65.0], "age")
    assert empty_bin[1] == ["[10, 40)", "[40, 65)"]  # the stated bin with no rows is still a slice


def test_a_continuous_column_without_bins_is_refused_and_categories_keep_its_values() -> None:
    col = pd.Series(np.arange(25) * 1.5)
    with pytest.raises(ValueError, match=r"numeric with 25 distinct values .* bins: \{x: \[-.inf"):
        column_slices(col, None, "x")
    codes, labels = column_slices(col, "categories", "x")
    assert len(labels) == 25 and labels[:3] == ["0", "1.5", "3"] and codes.tolist() == list(range(25))
    assert column_slices(pd.Series(np.arange(20)), None, "x")[1][-1] == "19"  # twenty values: slices


def test_bins_on_a_text_column_are_refused() -> None:
    with pytest.raises(ValueError, match="holds object values, not numbers"):
        column_slices(pd.Series(["a", "b"]), [0.0, 1.0], "g")


def test_slice_frame_reads_the_columns_and_refuses_what_the_rules_cannot_slice() -> None:
    frame = pd.DataFrame({"g": ["a", "b", "a"], "x": [0.5, 1.5, 2.5], "y": [1, 0, 1]}, index=[7, 8, 9])
    got = slice_frame(frame, {"g": [None], "x": [[0.0, 1.0, 3.0]]}, "d.csv")
    assert list(got.columns) == ["g", "x"] and got.index.tolist() == [0, 1, 2] and got["g"].tolist() == ["a", "b", "a"]
    with pytest.raises(InputError, match="slice column 'nope' not found"):
        slice_frame(frame, {"nope": [None]}, "d.csv")
    with pytest.raises(InputError, match="bin edges for column 'g'"):
        slice_frame(frame, {"g": [[0.0, 1.0]]}, "d.csv")
    wide = pd.DataFrame({"x": np.linspace(0, 1, 50)})
    with pytest.raises(InputError, match="numeric with 50 distinct values"):
        slice_frame(wide, {"x": [[0.0, 1.0], None]}, "d.csv")  # one rule bins it, the other does not
    assert len(slice_frame(wide, {"x": [[0.0, 0.5, 1.0], "categories"]}, "d.csv")) == 50
