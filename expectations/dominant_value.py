"""Custom expectation: the most common value of a column must not dominate it.

What it checks
--------------
``expect_column_most_common_value_share_to_be_at_most`` is a column-aggregate expectation. It
computes the share of the most frequent non-null value,

    share = count(most common non-null value) / count(non-null values),

and passes when ``share <= max_share``. Nulls are left out of both counts (use a null-rate check
for missing values). A column with no non-null value at all fails: there is nothing to measure,
and a gate must fail closed rather than pass on an empty column.

Why it matters for a model gate
-------------------------------
A feature that is stuck on one value carries no signal, and it often hides a pipeline bug that
per-row checks cannot see: an upstream join that stopped matching so that 80 % of the rows got the
imputed default ``0``, a sensor that froze, a category that became ``"unknown"`` everywhere. Every
value is individually valid, yet the model is evaluated (or will be served) on a degenerate
feature. Bounding the share of the dominant value catches these default-filled features.

Policy kwargs
-------------
column : str
    The column to check (required).
max_share : float
    Largest acceptable share of the most common value, a fraction between 0 and 1 (required).

Result
------
``observed_value`` is the share (a float, or None when the column has no non-null value) and
``details`` holds ``value`` (the most common value as a JSON-safe scalar), ``count`` (its number
of rows) and ``non_null`` (the number of non-null rows); when the column has no non-null value
``details["reason"]`` is ``"no non-null values"``. When several values tie for the most common,
the smallest one is reported (by natural order, or by string form for incomparable values).

Usage in a gatekit policy
-------------------------
.. code-block:: yaml

    data_quality:
      expectations:
        - type: expect_column_most_common_value_share_to_be_at_most
          kwargs: {column: income, max_share: 0.5}
          on_fail: block
"""

import math
from typing import Any

import numpy as np
import pandas as pd
from great_expectations.compatibility import pydantic
from great_expectations.execution_engine import PandasExecutionEngine
from great_expectations.expectations.expectation import ColumnAggregateExpectation
from great_expectations.expectations.metrics import ColumnAggregateMetricProvider, column_aggregate_value

# NOTE for authors copying this file: no ``from __future__ import annotations`` here, and
# ``allow_reuse=True`` on validators (see the note in pii.py).

METRIC_NAME = "gatekit.column.most_common_value_share"
"""The GE aggregate metric behind the expectation (prefixed so that it never collides with GE's own)."""

NO_VALUES_REASON = "no non-null values"
"""``details["reason"]`` when the column has nothing to measure."""


def json_safe(value: Any) -> Any:
    """Turn a column value into a JSON-safe Python scalar.

    Parameters
    ----------
    value : object
        A value taken from a pandas column (numpy scalar, Python scalar, Timestamp, ...).

    Returns
    -------
    bool, int, float, str or None
        numpy scalars become the matching Python scalar; a finite float stays a float; anything
        else (timestamps, decimals, tuples, non-finite floats...) becomes its ``str()``.
    """
    if value is None:
        return None
    if isinstance(value, np.generic) and not isinstance(value, (np.datetime64, np.timedelta64)):
        value = value.item()
    if isinstance(value, (bool, int, str)):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else str(value)
    return str(value)


def _smallest(values: list) -> Any:
    """Return the smallest of ``values``, falling back to the order of their string forms."""
    try:
        return min(values)
    except TypeError:
        return min(values, key=str)


def most_common_value_share(column: pd.Series) -> dict:
    """Measure how much of a column its most common non-null value takes.

    Parameters
    ----------
    column : pandas.Series
        The column; nulls (None, NaN, NaT, pd.NA) are ignored. Unhashable values (lists,
        dicts...) are compared by their string form.

    Returns
    -------
    dict
        ``{"share": float | None, "value": scalar | None, "count": int, "non_null": int}``.
        ``share`` is ``count / non_null`` and None when ``non_null`` is 0.
    """
    values = column.dropna()
    try:
        counts = values.value_counts(dropna=True, sort=False)
    except TypeError:  # unhashable values: compare their string form
        counts = values.astype(str).value_counts(dropna=True, sort=False)
    non_null = int(counts.sum())
    if non_null == 0:
        return {"share": None, "value": None, "count": 0, "non_null": 0}
    top = int(counts.max())
    value = _smallest(list(counts.index[counts.to_numpy() == top]))
    return {"share": top / non_null, "value": json_safe(value), "count": top, "non_null": non_null}


class ColumnGatekitMostCommonValueShare(ColumnAggregateMetricProvider):
    """GE aggregate metric: share, value and count of the most common non-null value of a column."""

    metric_name = METRIC_NAME

    @column_aggregate_value(engine=PandasExecutionEngine)
    def _pandas(cls, column: pd.Series, **kwargs: Any) -> dict:
        """Compute :func:`most_common_value_share` for the pandas engine."""
        return most_common_value_share(column)


class ExpectColumnMostCommonValueShareToBeAtMost(ColumnAggregateExpectation):
    """Expect the most common non-null value of a column to hold at most ``max_share`` of its rows.

    Registered in Great Expectations as ``expect_column_most_common_value_share_to_be_at_most``.

    Parameters
    ----------
    column : str
        The column to check.
    max_share : float
        Largest acceptable share, between 0 and 1 inclusive (required). The check passes when
        ``count(most common value) / count(non-null values) <= max_share``.

    Notes
    -----
    The result is ``{"observed_value": share, "details": {"value": v, "count": n, "non_null": m}}``.
    A column without any non-null value fails, with ``observed_value`` None and
    ``details["reason"] == "no non-null values"``.
    """

    max_share: float = pydantic.Field(
        description="Largest acceptable share (0..1) of the most common non-null value.",
    )

    metric_dependencies = (METRIC_NAME,)
    success_keys = ("max_share",)
    args_keys = ("column", "max_share")

    @pydantic.validator("max_share", pre=True, allow_reuse=True)
    def _check_max_share(cls, value: Any) -> float:
        """Require a number between 0 and 1 (booleans and NaN are refused)."""
        if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
            raise ValueError(f"max_share must be a number between 0 and 1, got {value!r}")
        if not 0.0 <= float(value) <= 1.0:
            raise ValueError(f"max_share must be between 0 and 1, got {value!r}")
        return float(value)

    def _validate(
        self,
        metrics: dict,
        runtime_configuration: dict | None = None,
        execution_engine: Any | None = None,
    ) -> dict:
        """Compare the observed share with ``max_share`` (fail closed on an all-null column)."""
        stats = metrics[METRIC_NAME]
        details = {"value": stats["value"], "count": stats["count"], "non_null": stats["non_null"]}
        if stats["share"] is None:
            details["reason"] = NO_VALUES_REASON
            return {"success": False, "result": {"observed_value": None, "details": details}}
        max_share = float(self._get_success_kwarg("max_share"))
        return {
            "success": stats["share"] <= max_share,
            "result": {"observed_value": stats["share"], "details": details},
        }
