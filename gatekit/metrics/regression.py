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


def wape(data: EvalData) -> MetricValue:
    """Weighted absolute percentage error ``100 * sum|y - f| / sum|y|``, in percent.

    The total absolute error in percent of the total actual volume (also called MAD/mean ratio): unlike MAPE,
    an actual of 0 does not make it undefined, only a total of 0 does. Sums of the rows, so exact on every
    engine from the compact rows (their counts weight the sums).
    Source: Kolassa & Schütz (2007), "Advantages of the MAD/MEAN ratio over the MAPE", Foresight 6.

    Raises
    ------
    NotComputable
        ``sum|y| = 0`` (every actual is 0), or as :func:`regression_pair`.
    """
    y, f = regression_pair(data)
    w = row_weights(data)
    den = _sum(np.abs(y), w)
    if den == 0:
        raise NotComputable("every actual is 0: WAPE divides by the sum of |actual|", {"n": row_count(data)})
    return MetricValue(check_finite(100.0 * _sum(np.abs(y - f), w) / den, "wape"),
                       {"n": row_count(data), "unit": "%", "sum_abs_error": _sum(np.abs(y - f), w),
                        "sum_abs_actual": den})


def training_series(data: EvalData) -> np.ndarray:
    """Return the training (reference) target in row order, shape (n_train,), as floats.

    Raises
    ------
    NotComputable
        No reference data with the target column was given, or it holds missing values.
    """
    src = data.train_target
    if src is None:
        raise NotComputable("MASE scales by the naive forecast's errors on the training series: give the training "
                            "rows, in time order, as inputs.reference (--reference) with the target column")
    if callable(src):
        src = src()  # an engine's reader, which reads the column once
    y = np.asarray(src, dtype=float)
    bad = int(np.sum(~np.isfinite(y)))
    if bad:
        raise NotComputable(f"{bad} rows of the training series (the reference's target) are missing or not finite")
    return y


def mase(data: EvalData, seasonal_period: int = 1) -> MetricValue:
    """Mean absolute scaled error: the MAE divided by the in-sample MAE of the seasonal naive forecast.

    Parameters
    ----------
    data : EvalData
        ``y_true`` and the forecast (shape (n_samples,)), and ``train_target``: the training series
        ``y_1..y_n`` in time order (the reference data's target column, in row order).
    seasonal_period : int
        ``m``: the naive forecast of ``y_t`` is ``y_{t-m}`` (1: the previous value; 48: the same half hour the
        day before, for half-hourly data).

    Returns
    -------
    MetricValue
        ``mean|y - f| / ((1 / (n - m)) * sum_{t=m+1..n} |y_t - y_{t-m}|)``, a ratio: below 1 the forecast beats
        the in-sample naive forecast. Source: Hyndman & Koehler (2006), "Another look at measures of forecast
        accuracy", IJF 22(4), section 3.4 (scaled errors), with the seasonal naive scale of Hyndman &
        Athanasopoulos, *Forecasting: Principles and Practice*, section 5.8.

    Raises
    ------
    NotComputable
        No training series, one of at most ``m`` values, or one whose naive errors are all 0 (the scale is 0).
    """
    y, f = regression_pair(data)
    train = training_series(data)
    m = int(seasonal_period)
    if len(train) <= m:
        raise NotComputable(f"the training series has {len(train)} values; the seasonal naive scale with period "
                            f"{m} needs at least {m + 1}", {"n_train": len(train), "seasonal_period": m})
    scale = float(np.mean(np.abs(train[m:] - train[:-m])))
    if scale == 0:
        raise NotComputable(f"the training series repeats itself every {m} values: the naive forecast's errors "
                            "are all 0, so the scale is 0", {"n_train": len(train), "seasonal_period": m})
    err = _mean(np.abs(y - f), row_weights(data))
    return MetricValue(check_finite(err / scale, "mase"),
                       {"n": row_count(data), "n_train": len(train), "seasonal_period": m, "mae": err,
                        "naive_mae": scale})


def _quantile_forecast(data: EvalData, q: float) -> np.ndarray:
    """Return the forecast of quantile level ``q`` (shape (n_samples,)) from ``data.quantiles``."""
    given = data.quantiles or {}
    for level, col in given.items():
        if abs(float(level) - q) < 1e-9:
            f = np.asarray(col, dtype=float)
            bad = row_count(data, ~np.isfinite(f))
            if bad:
                raise NotComputable(f"{bad} rows have a missing or non-finite {q:g}-quantile forecast",
                                    {"n_missing": bad})
            return f
    have = ", ".join(f"{float(k):g}" for k in sorted(given)) or "none"
    raise NotComputable(f"no forecast of the {q:g} quantile: give its column in inputs.quantiles "
                        f"(e.g. {{{q:g}: forecast_q}}); quantiles given: {have}")


def pinball_loss(data: EvalData, threshold: float) -> MetricValue:
    """Pinball (quantile) loss of the ``q``-quantile forecast, in the target's unit.

    Parameters
    ----------
    data : EvalData
        ``y_true`` (shape (n_samples,)) and ``quantiles[q]``, the forecast of quantile level ``q``.
    threshold : float
        The quantile level ``q`` in (0, 1), from the name (``pinball_loss_at_0_9``: ``q = 0.9``).

    Returns
    -------
    MetricValue
        ``mean(q * max(y - f, 0) + (1 - q) * max(f - y, 0))``, as scikit-learn's ``mean_pinball_loss``
        (Koenker & Bassett 1978, "Regression quantiles", Econometrica 46(1)). A mean of the rows, so exact on
        every engine from the compact rows.

    Raises
    ------
    NotComputable
        ``q`` not in (0, 1), no forecast of quantile ``q``, or as :func:`regression_pair`.
    """
    q = float(threshold)
    if not 0.0 < q < 1.0:
        raise NotComputable(f"the quantile level must lie strictly between 0 and 1, not {q:g}")
    y, _ = regression_pair(data)
    f = _quantile_forecast(data, q)
    d = y - f
    loss = q * np.maximum(d, 0.0) + (1.0 - q) * np.maximum(-d, 0.0)
    return MetricValue(check_finite(_mean(loss, row_weights(data)), "pinball loss"),
                       {"n": row_count(data), "quantile": q,
                        "share_below_forecast": row_count(data, y < f) / row_count(data)})


def interval_coverage(data: EvalData, threshold: float) -> MetricValue:
    """Share of actuals inside the central prediction interval of nominal level ``c``, a fraction.

    Parameters
    ----------
    data : EvalData
        ``y_true`` (shape (n_samples,)) and ``quantiles`` holding the levels ``(1 - c) / 2`` and ``(1 + c) / 2``
        (``interval_coverage_at_0_8``: the 0.1 and 0.9 quantile forecasts).
    threshold : float
        The nominal level ``c`` in (0, 1), from the name.

    Returns
    -------
    MetricValue
        ``mean(lower <= y <= upper)`` (bounds inclusive); ``details["nominal"]`` is ``c``, the coverage a
        calibrated interval has. Source: the empirical coverage of Gneiting & Raftery (2007), "Strictly proper
        scoring rules, prediction, and estimation", JASA 102(477), section 6.2. A mean of the rows, so exact on
        every engine.

    Raises
    ------
    NotComputable
        ``c`` not in (0, 1), a bound's quantile forecast missing, a lower bound above its upper bound, or as
        :func:`regression_pair`.
    """
    c = float(threshold)
    if not 0.0 < c < 1.0:
        raise NotComputable(f"the nominal coverage must lie strictly between 0 and 1, not {c:g}")
    y, _ = regression_pair(data)
    lo_q, hi_q = round((1.0 - c) / 2.0, 12), round((1.0 + c) / 2.0, 12)
    lo, hi = _quantile_forecast(data, lo_q), _quantile_forecast(data, hi_q)
    crossed = row_count(data, lo > hi)
    if crossed:
        raise NotComputable(f"{crossed} rows have the {lo_q:g}-quantile forecast above the {hi_q:g}-quantile one "
                            "(crossed quantiles): the interval is empty", {"n_crossed": crossed})
    inside = (lo <= y) & (y <= hi)
    n = row_count(data)
    return MetricValue(row_count(data, inside) / n,
                       {"n": n, "nominal": c, "lower_quantile": lo_q, "upper_quantile": hi_q,
                        "n_below": row_count(data, y < lo), "n_above": row_count(data, y > hi),
                        "mean_width": _mean(hi - lo, row_weights(data))})


def _seasonal_period(v: Any) -> int:
    if isinstance(v, bool) or not isinstance(v, int) or v < 1:
        raise ValueError("seasonal_period must be a whole number >= 1 (1: the previous value is the naive "
                         "forecast; 48: the same half hour a day before, for half-hourly data)")
    return int(v)


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
    MetricSpec("wape", "performance", "%",
               "Weighted absolute percentage error 100*sum|y-f|/sum|y|, percent (Kolassa & Schütz 2007).",
               wape, higher_is_better=False, bounds=(0, None)),
    MetricSpec("mase", "performance", "ratio",
               "Mean absolute scaled error: MAE over the training series' seasonal naive MAE (Hyndman & Koehler "
               "2006); the training series is inputs.reference's target in row order; seasonal_period m "
               "(default 1).", mase, params={"seasonal_period": _seasonal_period}, higher_is_better=False,
               bounds=(0, None)),
    MetricSpec("pinball_loss_at_T", "performance", "target unit",
               "Pinball (quantile) loss of the T-quantile forecast in inputs.quantiles (sklearn "
               "mean_pinball_loss).", pinball_loss, higher_is_better=False, bounds=(0, None)),
    MetricSpec("interval_coverage_at_T", "performance", "fraction",
               "Share of actuals inside the central T prediction interval: the (1-T)/2 and (1+T)/2 quantile "
               "forecasts of inputs.quantiles (Gneiting & Raftery 2007).", interval_coverage, bounds=(0, 1)),
)
