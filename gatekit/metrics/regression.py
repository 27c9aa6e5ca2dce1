"""Regression / forecast metrics, with the competing definitions pinned.

MAPE and sMAPE are returned in percent. Rows where the actual or the forecast is missing are not
dropped silently: they make the metric not computable, with their count.

Compact rows (``EvalData.weights``: one row per distinct (actual, forecast) with its count) give weighted
sums and means (``sum(w x) / sum(w)``), which equal the plain means on the rows the counts stand for; the
counts in ``details`` are weighted too.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from gatekit.core.errors import NotComputable
from gatekit.metrics.registry import EvalData, MetricSpec, MetricValue, check_finite, row_count, row_weights

SMAPE_VARIANTS = ("0-200", "0-100")


def regression_pair(data: EvalData) -> tuple[np.ndarray, np.ndarray]:
    """Return ``(y_true, y_pred)`` of a regression run, each of shape (n_rows,), as floats.

    Raises
    ------
    NotComputable
        No target or prediction, a classification run, or missing values.
    """
    if data.y_true is None:
        raise NotComputable("no target column: give --target (or inputs.target)")
    if data.task == "classification":
        raise NotComputable("needs a numeric target; the target is binary (classification)")
    f = data.y_score if data.y_score is not None else data.y_pred
    if f is None:
        raise NotComputable("needs a forecast: a prediction/score column or a model")
    y = np.asarray(data.y_true, dtype=float)
    f = np.asarray(f, dtype=float)
    if len(y) == 0 or row_count(data) == 0:
        raise NotComputable("the evaluation data has no rows")
    bad = row_count(data, ~np.isfinite(y) | ~np.isfinite(f))
    if bad:
        raise NotComputable(f"{bad} rows have a missing or non-finite actual or forecast", {"n_missing": bad})
    return y, f


def _mean(x: np.ndarray, w: np.ndarray | None) -> float:
    """``mean(x)``, or with row counts ``w`` the weighted mean ``sum(w x) / sum(w)`` (the mean of the expanded rows)."""
    return float(np.mean(x)) if w is None else float(np.dot(w, x) / w.sum())


def _sum(x: np.ndarray, w: np.ndarray | None) -> float:
    """``sum(x)``, or with row counts ``w`` the weighted sum ``sum(w x)``."""
    return float(np.sum(x)) if w is None else float(np.dot(w, x))


def rmse(data: EvalData) -> MetricValue:
    """Root mean squared error ``sqrt(mean((y - f)^2))``, in the target's unit."""
    y, f = regression_pair(data)
    return MetricValue(float(np.sqrt(_mean((y - f) ** 2, row_weights(data)))), {"n": row_count(data)})


def mae(data: EvalData) -> MetricValue:
    """Mean absolute error ``mean(|y - f|)``, in the target's unit."""
    y, f = regression_pair(data)
    return MetricValue(_mean(np.abs(y - f), row_weights(data)), {"n": row_count(data)})


def r2(data: EvalData) -> MetricValue:
    """Coefficient of determination ``1 - SS_res / SS_tot`` (sklearn ``r2_score``).

    Not computable with fewer than two rows or a constant target (SS_tot = 0). With row counts the sums of
    squares are weighted (around the weighted mean), as scikit-learn's ``sample_weight``.
    """
    y, f = regression_pair(data)
    w = row_weights(data)
    n = row_count(data)
    if n < 2:
        raise NotComputable("needs at least two rows")
    present = y if w is None else y[w > 0]
    # a constant target is told by its values: a mean rounded by an ulp (ten rows of 0.1) would otherwise leave
    # SS_tot ~1e-33 and an R2 of -1e35
    if np.all(present == present[0]):
        ss_tot = 0.0
    elif w is None:
        ss_tot = float(np.sum((y - y.mean()) ** 2))
    else:
        ss_tot = _sum((y - _mean(y, w)) ** 2, w)
    if ss_tot == 0:
        raise NotComputable("the target is constant (SS_tot = 0)")
    return MetricValue(1.0 - _sum((y - f) ** 2, w) / ss_tot, {"n": n})


def mape(data: EvalData) -> MetricValue:
    """Mean absolute percentage error ``100 * mean(|y - f| / |y|)``, in percent.

    Not computable when any actual is 0 (the count is reported), instead of scikit-learn's
    ``mean_absolute_percentage_error`` which divides by machine epsilon and returns ~1e15.
    Source: Hyndman & Koehler (2006), "Another look at measures of forecast accuracy", IJF 22(4).
    """
    y, f = regression_pair(data)
    w = row_weights(data)
    n = row_count(data)
    zeros = row_count(data, y == 0)
    if zeros:
        raise NotComputable(f"{zeros} of {n} actuals are 0; MAPE divides by the actual",
                            {"n_zero_actuals": zeros, "n": n})
    return MetricValue(float(100.0 * _mean(np.abs(y - f) / np.abs(y), w)), {"n": n, "unit": "%"})


def smape(data: EvalData, variant: str = "0-200") -> MetricValue:
    """Symmetric mean absolute percentage error, in percent.

    Parameters
    ----------
    data : EvalData
        ``y_true`` (actuals) and the forecast in ``y_score`` or ``y_pred``, shape (n_samples,).
    variant : {"0-200", "0-100"}
        ``"0-200"`` (default): ``100 * mean(|y - f| / ((|y| + |f|) / 2))``, range 0-200 %
        (Makridakis 1993; the M3/M4 competitions' form). ``"0-100"``:
        ``100 * mean(|y - f| / (|y| + |f|))``, range 0-100 %.

    Notes
    -----
    A pair with ``y = f = 0`` (0/0) is an exact forecast and contributes 0; their count is reported
    as ``n_zero_pairs``.
    """
    if variant not in SMAPE_VARIANTS:
        raise NotComputable(f"unknown smape variant {variant!r}; use one of {SMAPE_VARIANTS}")
    y, f = regression_pair(data)
    num = np.abs(y - f)
    den = np.abs(y) + np.abs(f)
    if variant == "0-200":
        den = den / 2.0
    zero_pairs = den == 0
    terms = np.divide(num, den, out=np.zeros_like(num), where=~zero_pairs)
    v = check_finite(100.0 * _mean(terms, row_weights(data)), "smape")
    details: dict[str, Any] = {"n": row_count(data), "variant": variant, "unit": "%",
                               "n_zero_pairs": row_count(data, zero_pairs)}
    return MetricValue(v, details)


def _variant(v: Any) -> str:
    if not isinstance(v, str):
        raise ValueError(f"variant must be one of {', '.join(SMAPE_VARIANTS)} (a string, quoted in YAML)")
    s = v
    if s not in SMAPE_VARIANTS:
        raise ValueError(f"variant must be one of {', '.join(SMAPE_VARIANTS)}")
    return s


SPECS = (
    MetricSpec("rmse", "performance", "target unit", "Root mean squared error.", rmse, higher_is_better=False,
               bounds=(0, None)),
    MetricSpec("mae", "performance", "target unit", "Mean absolute error.", mae, higher_is_better=False,
               bounds=(0, None)),
    MetricSpec("r2", "performance", "fraction", "Coefficient of determination (sklearn r2_score).", r2,
               aliases=("r2_score",), higher_is_better=True, bounds=(None, 1)),
    MetricSpec("mape", "performance", "%", "Mean absolute percentage error, percent (Hyndman & Koehler 2006).",
               mape, higher_is_better=False, bounds=(0, None)),
    MetricSpec("smape", "performance", "%",
               "Symmetric MAPE, percent; variant 0-200 (default, denominator (|y|+|f|)/2) or 0-100.",
               smape, params={"variant": _variant}, higher_is_better=False, bounds=(0, 200)),
)
