"""Sensitive columns as group labels: binning a numeric attribute, refusing a continuous one left unbinned.

A fairness metric compares groups. A numeric column with many distinct values (age in years, income) given as a
sensitive column would make one group per value, most of a few rows, and a between-group gap over them
measures noise (gatekit issue 20: about 171 one-row groups and a demographic parity difference of 1.0). So a
numeric sensitive column with more than :data:`MAX_NUMERIC_GROUPS` distinct values is refused unless the
policy bins it:

.. code-block:: yaml

    inputs:
      sensitive: [age]
      sensitive_bins:
        age: [0, 25, 40, 65, 120]     # groups [0, 25), [25, 40), [40, 65), [65, 120)
        zip_region: categories        # numeric codes: each value is its own group, as it is

Bins are closed on the left and open on the right (``[25, 40)``); a value outside ``[first, last)`` is
refused (widen the edges; ``.inf`` is accepted). Missing values stay missing (strict mode refuses them, else
they form the ``(missing)`` group). The engines (DuckDB, Spark) aggregate the rows by the raw values first, so
the binned groups and their counts are the same on every engine.
"""

from __future__ import annotations

import itertools
import math
from typing import Any

from gatekit.core.errors import input_error

MAX_NUMERIC_GROUPS = 20
"""A numeric sensitive column with more distinct values than this is continuous: refused unless binned. Twenty
covers coded categories (a region code, a number of children) and refuses ages, incomes and scores, whose
one-value groups would be a few rows each."""

CATEGORIES = "categories"
"""The ``sensitive_bins`` value that keeps a numeric column's values as groups (codes, not quantities)."""


def _edge(x: float) -> str:
    if math.isinf(x):
        return "inf" if x > 0 else "-inf"
    return f"{x:g}"


def bin_labels(edges: list[float]) -> list[str]:
    """Return the label of each bin between consecutive ``edges``: ``[0, 25)``, ``[25, 40)``, ...

    Parameters
    ----------
    edges : list of float
        Strictly increasing bin edges, at least two.

    Returns
    -------
    list of str
        ``len(edges) - 1`` labels, left-closed and right-open.
    """
    return [f"[{_edge(a)}, {_edge(b)})" for a, b in itertools.pairwise(edges)]


def check_bins(spec: Any) -> list[float] | str:
    """Validate one column's ``sensitive_bins`` entry: strictly increasing edges, or ``categories``.

    Raises
    ------
    ValueError
        Fewer than two edges, an edge that is NaN or not a number, edges not strictly increasing, any other text.
    """
    if spec == CATEGORIES:
        return CATEGORIES
    if not isinstance(spec, list) or len(spec) < 2:
        raise ValueError("give at least two bin edges, e.g. [0, 25, 40, 65, 120], or 'categories'")
    if any(isinstance(x, bool) or not isinstance(x, (int, float)) or math.isnan(x) for x in spec):
        raise ValueError("bin edges must be numbers (.inf and -.inf are accepted)")
    edges = [float(x) for x in spec]
    if any(b <= a for a, b in itertools.pairwise(edges)):
        raise ValueError(f"bin edges must increase strictly, not {spec[:10]}")
    return edges


def sensitive_frame(frame: Any, columns: list[str], bins: dict[str, Any] | None, file: str | None) -> Any:
    """Return the sensitive columns of ``frame`` as text group labels, binned where ``bins`` says.

    Parameters
    ----------
    frame : pandas.DataFrame
        The evaluation rows (or an engine's aggregated rows: one per distinct combination, same values).
    columns : list of str
        The sensitive columns, all present in ``frame``.
    bins : dict, optional
        Column -> strictly increasing edges, or ``"categories"`` (:func:`check_bins`).
    file : str, optional
        How messages name the data.

    Returns
    -------
    pandas.DataFrame of shape (n_rows, len(columns))
        Object columns of ``str`` labels (``[25, 40)`` for a binned value), missing values kept as NaN.

    Raises
    ------
    InputError
        A numeric column with more than :data:`MAX_NUMERIC_GROUPS` distinct values and no bins (the message
        names the column and shows how to bin it); bins on a column that is not numeric; a value outside the
        bins; bins naming a column that is not a sensitive column.
    """
    import numpy as np
    import pandas as pd
    from pandas.api import types as pdt

    bins = bins or {}
    unknown = [c for c in bins if c not in columns]
    if unknown:
        raise input_error(f"inputs.sensitive_bins names {unknown}, which are not sensitive columns "
                          f"({columns}); add them to inputs.sensitive or remove their bins", file,
                          key="sensitive_bins")
    out = frame[columns].copy()
    for c in columns:
        col = frame[c]
        numeric = pdt.is_numeric_dtype(col.dtype) and not pdt.is_bool_dtype(col.dtype)
        spec = bins.get(c)
        if isinstance(spec, list):
            if not numeric:
                raise input_error(f"inputs.sensitive_bins gives bin edges for sensitive column {c!r}, but it holds "
                                  f"{col.dtype} values, not numbers; bins apply to numeric columns", file, key=c)
            checked = check_bins(spec)
            edges = checked if isinstance(checked, list) else []
            values = col.to_numpy(dtype=float, na_value=np.nan)
            code = np.searchsorted(np.asarray(edges), values, side="right") - 1
            present = ~np.isnan(values)
            outside = present & ((code < 0) | (code >= len(edges) - 1))
            if outside.any():
                shown = sorted(set(values[outside].tolist()))[:5]
                raise input_error(f"sensitive column {c!r} has values outside its bins [{_edge(edges[0])}, "
                                  f"{_edge(edges[-1])}) (e.g. {shown}); widen inputs.sensitive_bins.{c} (.inf is "
                                  "accepted): a value in no group would be dropped silently", file, key=c)
            labels = np.array(bin_labels(edges), dtype=object)
            binned = np.full(len(values), np.nan, dtype=object)
            binned[present] = labels[code[present]]
            out[c] = pd.Series(binned, index=frame.index, dtype=object)
            continue
        if numeric and spec != CATEGORIES:
            distinct = col.dropna().unique()
            if len(distinct) > MAX_NUMERIC_GROUPS:
                example = ", ".join(f"{v:g}" for v in sorted(distinct.tolist())[:4])
                raise input_error(
                    f"sensitive column {c!r} is numeric with {len(distinct):,} distinct values (e.g. {example}, ...): "
                    f"as groups they would be {len(distinct):,} groups of a few rows, and a between-group gap "
                    f"over them measures noise. Bin it in the policy, e.g. inputs.sensitive_bins: {{{c}: [0, 25, "
                    f"40, 65, 120]}} (groups [0, 25), [25, 40), ...), or, if its values are codes, "
                    f"inputs.sensitive_bins: {{{c}: categories}}", file, key=c)
        obj = col.astype(object)  # nullable booleans and categoricals hold NA that astype(str) rejects
        out[c] = obj.where(obj.isna(), obj.map(str))
    return out
