"""Labels and label columns.

Which target value is positive, labels mapped to 0/1, the task a target suggests, and the checks on
label, prediction and score columns (scalars, numeric, same label space). Labels are compared
in the normal form of :func:`gatekit.core.labels.norm_label`.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from gatekit.core.errors import input_error
from gatekit.core.labels import norm_label

_POSITIVE_TEXT = {("no", "yes"): "yes", ("false", "true"): "true", ("n", "y"): "y",
                  ("negative", "positive"): "positive", ("0", "1"): "1"}


def infer_positive(values: list[Any], declared: Any, file: str, column: str) -> Any:
    """Return the positive label: ``declared`` when given, else inferred from the ``values`` of ``column``.

    0/1, booleans and the text pairs no/yes, false/true, n/y and negative/positive are recognised.

    Raises
    ------
    InputError
        Which value is positive cannot be told.
    """
    if declared is not None:
        return declared
    uniq = sorted({str(v).strip().lower() for v in values})
    if set(uniq) <= {"0", "1", "0.0", "1.0"}:
        return 1
    if set(uniq) <= {"true", "false"} and all(isinstance(v, (bool, np.bool_)) for v in values):
        return True
    for pair, pos in _POSITIVE_TEXT.items():
        if set(uniq) <= set(pair):
            return pos
    raise input_error(
        f"cannot tell which value of target {column!r} is positive (values: {uniq[:10]}); set "
        "inputs.positive_label (or --positive-label), or, if the target is a numeric quantity, "
        "task: regression (--task regression)", file, key="positive_label")


def to01(series: Any, positive: Any) -> np.ndarray:
    """Map labels to 1.0 (positive) / 0.0, keeping missing values as NaN.

    Labels are compared in one normal form (:func:`gatekit.core.labels.norm_label`): ``1``, ``1.0``, ``"1"``, ``"1.0"``
    and ``True`` are the same label, and text compares case-insensitively after stripping spaces.
    The mapping is computed once per distinct value.
    """
    out = np.full(len(series), np.nan)
    mask = series.notna().to_numpy()
    vals = series[mask]
    want = norm_label(positive)
    lookup = {v: float(norm_label(v) == want) for v in vals.unique()}
    out[mask] = vals.map(lookup).to_numpy(dtype=float)
    return out


def scalar_column(col: Any, role: str, name: str, file: str) -> None:
    """Refuse a column holding lists, dicts or arrays (possible in Parquet): labels must be scalars."""
    import pandas as pd

    # infer_dtype scans in C; only a column of mixed kinds needs the per-value look
    if col.dtype == object and pd.api.types.infer_dtype(col, skipna=True) not in (
            "string", "bytes", "integer", "floating", "mixed-integer-float", "boolean", "decimal", "empty"):
        bad = col.map(lambda v: isinstance(v, (list, tuple, dict, set, np.ndarray))).to_numpy()
        if bad.any():
            raise input_error(f"{role} column {name!r} holds lists or arrays (first at row {int(np.argmax(bad))}); "
                              "it must hold one value per row", file, key=role)


def numeric(col: Any, what: str, name: str, file: str, key: str) -> np.ndarray:
    """Return a column as a float array, or raise an InputError naming it."""
    try:
        return col.astype(float).to_numpy()
    except (TypeError, ValueError):
        raise input_error(f"{what} {name!r} is not numeric", file, key=key) from None


def check_label_space(pred: Any, target: Any, pred_name: str, target_name: str, file: str) -> None:
    """Refuse a prediction column whose values are not labels of the target.

    Predicted ``yes``/``no`` against a 0/1 target would otherwise all read as negative, and probabilities
    in a prediction column would all read as "not the positive label": both make a model look fair.
    """
    pred_vals = {norm_label(v) for v in pred.dropna().unique()}
    target_vals = {norm_label(v) for v in target.dropna().unique()}
    extra = pred_vals - target_vals
    probabilities = all(isinstance(v, float) for v in extra) and any(0 < v < 1 for v in extra)
    if not extra or (len(pred_vals | target_vals) <= 2 and not probabilities):
        return  # a one-class holdout may still be predicted with the other label
    shown = sorted(map(str, extra))[:5]
    if probabilities:
        hint = "; it looks like probabilities: give it as the score column (--score / inputs.score)"
    else:
        hint = "; predictions must use the target's labels"
    raise input_error(f"prediction column {pred_name!r} has values {shown} that are not labels of target "
                      f"{target_name!r} ({sorted(map(str, target_vals))[:5]}){hint}", file, key="prediction")


def infer_task(target: Any, declared: str | None) -> str:
    """Return ``declared``, else the task the target column suggests.

    Two values or fewer (or booleans) mean classification, more numbers regression, more text multiclass.
    """
    if declared:
        return declared
    nonnull = target.dropna()
    if target.dtype == bool or nonnull.nunique() <= 2:
        return "classification"
    if np.issubdtype(target.dtype, np.number):
        return "regression"
    return "multiclass"
