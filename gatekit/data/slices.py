"""Slice columns: the segments a ``slices:`` rule computes its metric on, read with the rows and labelled.

A slice rule (:class:`gatekit.policy.specs.SliceRule`) names columns of the evaluation data (``by``) and, for a
numeric one, bin edges (``bins``). The loader carries those columns' raw values beside the evaluation arrays
(``EvalData.segments``, :func:`slice_frame`): on pandas the rows' own values, on DuckDB and Spark the values of
each aggregated row, since the engines group the rows by the slice columns as they do by the sensitive columns
(:mod:`gatekit.data.aggregate`). The slices section then labels each row (:func:`column_slices`):

- a text, boolean or coded column: one slice per value (``north``, ``true``, ``3``);
- a numeric column with bins: one slice per bin, ``[0, 0.6)``, left-closed and right-open (the labels of
  :func:`gatekit.data.sensitive.bin_labels`); every stated bin is listed, an empty one too; a value outside every
  bin is its own slice, ``(outside bins)``, never dropped;
- a missing value: its own slice, ``(missing)`` (never dropped, never guessed);
- a numeric column with more than :data:`~gatekit.data.sensitive.MAX_NUMERIC_GROUPS` distinct values and no bins:
  refused, as for sensitive columns (one slice per value would be slices of a few rows each).

Labels are the same on every engine: numbers are written by value (``1`` for 1 and 1.0, ``repr`` of the float
otherwise), booleans as ``true`` / ``false``, so the slices of the rows and of the engine's aggregated rows match.
"""

from __future__ import annotations

import decimal
from typing import Any

import numpy as np

from gatekit.core.errors import input_error
from gatekit.data.sensitive import CATEGORIES, MAX_NUMERIC_GROUPS, bin_labels

MISSING_SLICE = "(missing)"
"""The slice of the rows with no value in a slice column."""
OUTSIDE_SLICE = "(outside bins)"
"""The slice of the rows whose value lies outside every bin of a binned column."""


def _numbers(col: Any) -> np.ndarray | None:
    """Return a column as floats (NaN where missing) when it holds numbers (not booleans), else None."""
    import pandas as pd
    from pandas.api import types as pdt

    if pdt.is_bool_dtype(col.dtype):
        return None
    if pdt.is_numeric_dtype(col.dtype):
        return np.asarray(col.to_numpy(dtype=float, na_value=np.nan), dtype=float)
    if col.dtype == object and pd.api.types.infer_dtype(col, skipna=True) == "decimal":
        return np.array([np.nan if v is None or (isinstance(v, float) and np.isnan(v)) else float(v) for v in col],
                        dtype=float)
    return None


def value_label(v: Any) -> str:
    """Return the slice label of one value: numbers by value, booleans as ``true`` / ``false``, text as it is.

    Parameters
    ----------
    v : object
        A value of a slice column (not missing).

    Returns
    -------
    str
        ``"1"`` for 1, 1.0 and ``Decimal("1.00")``; ``repr(float(v))`` for other numbers (``"0.5"``; distinct
        floats never share a label); ``"true"`` / ``"false"`` for booleans; ``str(v)`` otherwise.
    """
    if isinstance(v, (bool, np.bool_)):
        return "true" if v else "false"
    if isinstance(v, (int, np.integer)):
        return str(int(v))
    if isinstance(v, (float, np.floating, decimal.Decimal)):
        f = float(v)
        return str(int(f)) if f.is_integer() else repr(f)
    return str(v)


def continuous_problem(col: Any, name: str) -> str | None:
    """Say why an unbinned slice column cannot be sliced by value, or return None.

    Parameters
    ----------
    col : pandas.Series
        The column's values.
    name : str
        Its name (for the message).

    Returns
    -------
    str or None
        The refusal (a numeric column with more than :data:`MAX_NUMERIC_GROUPS` distinct values), naming the
        column and showing how to bin it; None when its values can be slices.
    """
    values = _numbers(col)
    if values is None:
        return None
    distinct = np.unique(values[~np.isnan(values)])
    if len(distinct) <= MAX_NUMERIC_GROUPS:
        return None
    lo, hi = (f"{x:.4g}" for x in (distinct[0], distinct[-1]))
    a, b = (f"{x:.2g}" for x in np.quantile(distinct, [1 / 3, 2 / 3]))
    return (f"slice column {name!r} is numeric with {len(distinct):,} distinct values ({lo} to {hi}): one slice per "
            f"value would be {len(distinct):,} slices of a few rows, whose values measure noise. Bin it in the rule, "
            f"e.g. bins: {{{name}: [-.inf, {a}, {b}, .inf]}} (slices [-inf, {a}), [{a}, {b}), [{b}, inf)), or, if "
            f"its values are codes, bins: {{{name}: categories}}")


def column_slices(col: Any, spec: list[float] | str | None, name: str) -> tuple[np.ndarray, list[str]]:
    """Label each row of one slice column; return the rows' slice codes and the slices' labels.

    Parameters
    ----------
    col : pandas.Series of shape (n_rows,)
        The column's raw values (rows, or an engine's aggregated rows).
    spec : list of float, "categories" or None
        The rule's bin edges for this column (strictly increasing), ``categories`` (values as slices), or None.
    name : str
        The column's name (for messages).

    Returns
    -------
    codes : ndarray of int, shape (n_rows,)
        Each row's slice, an index into ``labels``.
    labels : list of str
        Binned: every bin in order, then ``(outside bins)`` and ``(missing)`` when a row is there. By value: the
        values seen (numbers in increasing order, text in string order), then ``(missing)`` when a row has none.
        The missing (outside) label is wrapped in more parentheses if a real value already reads so.

    Raises
    ------
    ValueError
        Bins on a column that does not hold numbers; no bins on a numeric column with more than
        :data:`MAX_NUMERIC_GROUPS` distinct values (:func:`continuous_problem`).
    """
    import pandas as pd

    numbers = _numbers(col)
    if isinstance(spec, list):
        if numbers is None:
            raise ValueError(f"the rule gives bin edges for slice column {name!r}, but it holds {col.dtype} values, "
                             "not numbers; bins apply to numeric columns (drop its bins to slice by value)")
        edges = np.asarray(spec, dtype=float)
        labels = bin_labels([float(e) for e in spec])
        code = np.searchsorted(edges, numbers, side="right") - 1
        missing = np.isnan(numbers)
        outside = ~missing & ((code < 0) | (code >= len(labels)))
        code = np.where(missing | outside, -1, code)
        if outside.any():
            code[outside] = len(labels)
            labels.append(OUTSIDE_SLICE)
        if missing.any():
            code[missing] = len(labels)
            labels.append(MISSING_SLICE)
        return code.astype(np.int64), labels
    if spec != CATEGORIES:
        problem = continuous_problem(col, name)
        if problem:
            raise ValueError(problem)
    present = col.notna().to_numpy()
    uniq = pd.unique(col[present]) if present.any() else np.array([], dtype=object)
    by_label = {value_label(v): v for v in uniq}
    if numbers is not None:
        order = sorted(by_label, key=lambda lab: float(by_label[lab]))
    else:
        order = sorted(by_label)
    index = {lab: i for i, lab in enumerate(order)}
    value_code = {v: index[value_label(v)] for v in uniq}
    code = np.full(len(col), -1, dtype=np.int64)
    if present.any():
        code[present] = np.asarray(col[present].map(value_code), dtype=np.int64)
    labels = list(order)
    if not present.all():
        missing_label = MISSING_SLICE
        while missing_label in index:
            missing_label = f"({missing_label})"
        code[~present] = len(labels)
        labels.append(missing_label)
    return code, labels


def slice_frame(frame: Any, slice_bins: dict[str, list[Any]], file: str) -> Any:
    """Return the slice columns' raw values, checked, as the evaluation data's ``segments``.

    Parameters
    ----------
    frame : pandas.DataFrame
        The evaluation rows, or an engine's aggregated rows (one per distinct combination of the roles' values).
    slice_bins : dict of str to list
        Column -> the ``bins`` entry of each slice rule that slices by it (edges, ``"categories"`` or None).
    file : str
        How messages name the data.

    Returns
    -------
    pandas.DataFrame of shape (n_rows, len(slice_bins))
        The columns' values as read, index 0..n-1 (aligned with the evaluation arrays).

    Raises
    ------
    InputError
        A slice column is missing or holds lists; a rule bins a column that does not hold numbers; a rule slices
        a numeric column with more than :data:`MAX_NUMERIC_GROUPS` distinct values by value (no bins).
    """
    from gatekit.data.labels import scalar_column
    from gatekit.data.readers import require_column

    out = {}
    for name, specs in slice_bins.items():
        col = require_column(frame, name, "slice", file)
        scalar_column(col, "slice", name, file)
        for spec in specs:
            if isinstance(spec, list) and _numbers(col) is None:
                raise input_error(f"a slices: rule gives bin edges for column {name!r}, but it holds {col.dtype} "
                                  "values, not numbers; bins apply to numeric columns", file, key="slices")
            problem = continuous_problem(col, name) if spec is None else None
            if problem:
                raise input_error(problem, file, key="slices")
        out[name] = col.reset_index(drop=True)
    import pandas as pd

    return pd.DataFrame(out)
