"""The evaluation rows' arrival order (``inputs.sequential.order_by``), for rules read row by row.

A confidence sequence (:mod:`gatekit.sections.shadow_sequential`) reads the rows in the order they arrived.
That is the file's row order, or the order of a column of arrival times or sequence numbers, sorted stably
(ties keep the file's order).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from gatekit.core.errors import input_error
from gatekit.data.readers import require_column


def arrival_order(frame: Any, column: str, file: str, key: str = "inputs.sequential.order_by") -> np.ndarray:
    """Return the positions of the rows in arrival order: the stable sort of ``column``.

    Parameters
    ----------
    frame : pandas.DataFrame
        The evaluation rows as read (position ``i`` is the ``i``-th row of the file).
    column : str
        The order column: numbers, or text that reads as date-times (ISO 8601 and the formats pandas infers),
        or date-times.
    file : str
        The data's name (for errors).
    key : str
        The policy key naming the column (for errors).

    Returns
    -------
    ndarray of int, shape (n_rows,)
        ``frame.iloc[order]`` is the rows in arrival order (mergesort: equal keys keep the file's order).

    Raises
    ------
    InputError
        The column is missing, has missing values (the first five rows named, counted from 0), or holds values
        that are neither numbers nor date-times.
    """
    import pandas as pd

    from gatekit.core.errors import InputError

    try:
        col = require_column(frame, column, "order_by", file)
    except InputError as exc:  # "order_by column 'x' not found" under the key "order_by" read twice
        found = exc.problems[0].message.removeprefix("order_by column ") if exc.problems else str(exc)
        raise input_error(f"arrival order column {found}", file, key=key) from None
    if col.isna().any():
        idx = np.flatnonzero(col.isna().to_numpy())[:5]
        raise input_error(f"{int(col.isna().sum())} rows have no {column!r} value (rows {idx.tolist()}, counted "
                          f"from 0): their arrival order is unknown, and {key} reads the rows in it; fill or remove "
                          "them", file, key=column)
    if pd.api.types.is_bool_dtype(col):
        raise input_error(f"{key} column {column!r} holds true/false values, not arrival times or sequence "
                          "numbers", file, key=column)
    if pd.api.types.is_numeric_dtype(col) or pd.api.types.is_datetime64_any_dtype(col):
        keys = col
    else:
        try:
            keys = pd.to_datetime(col, utc=True, format="mixed")
        except (ValueError, TypeError, OverflowError) as exc:
            raise input_error(f"{key} column {column!r} holds values that are neither numbers nor date-times "
                              f"({exc}); give a column of arrival times or sequence numbers", file,
                              key=column) from None
    return np.asarray(keys.reset_index(drop=True).sort_values(kind="stable").index.to_numpy(), dtype=np.int64)
