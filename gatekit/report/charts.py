"""Chart data for the HTML report that the checks do not carry, and the axes the charts are drawn on.

- :func:`roc`, :func:`chart_data`: the ROC curves of candidate and production (lists of numbers);
- :func:`reliability`: the candidate's calibration by probability bin (the reliability diagram);
- :func:`use_log_scale`, :class:`Axis`: whether an axis is logarithmic (its positive values span more than
  two decades) and where its values and labelled ticks fall.

Data and geometry only; :mod:`gatekit.report.html` draws them as inline SVG.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from gatekit.core.errors import NotComputable
from gatekit.metrics import calibration

MAX_POINTS = 200
LOG_SPAN = 100.0
"""An axis whose positive values span more than this ratio (max / min, two decades) is drawn on a log scale."""


def use_log_scale(values: list[float] | tuple[float, ...] | np.ndarray, span: float = LOG_SPAN) -> bool:
    """Tell whether values are drawn on a logarithmic axis: all positive and max / min above ``span``.

    On a linear axis from 2.5 to 6,515 ms every value under 160 ms falls in the first 2.5 % of the axis, so
    the bulk of the values is one bar; a log axis gives each decade the same room.

    Parameters
    ----------
    values : sequence of float
        The values the axis spans (a histogram's bin edges, its non-zero counts). Non-finite values are
        ignored.
    span : float
        The ratio above which the axis is logarithmic (100: more than two decades).

    Returns
    -------
    bool
        False when any finite value is zero or negative (no log of it), when there are fewer than two finite
        values, or when max / min <= ``span``.
    """
    v = np.asarray(values, dtype=float)
    v = v[np.isfinite(v)]
    if len(v) < 2 or (v <= 0).any():
        return False
    return bool(v.max() / v.min() > span)


def decade_ticks(lo: float, hi: float) -> list[float]:
    """Powers of ten from ``lo`` to ``hi`` (both positive), ends included: the labelled ticks of a log axis."""
    first, last = math.ceil(math.log10(lo) - 1e-9), math.floor(math.log10(hi) + 1e-9)
    return [10.0 ** k for k in range(first, last + 1)]


def nice_ticks(lo: float, hi: float, count: int = 4) -> list[float]:
    """About ``count`` round ticks (1, 2 or 5 times a power of ten apart) between ``lo`` and ``hi`` inclusive.

    The "nice numbers" step of Heckbert, *Graphics Gems* (1990), "Nice numbers for graph labels".
    """
    if not (math.isfinite(lo) and math.isfinite(hi)) or hi <= lo:
        return [lo]
    raw = (hi - lo) / max(count, 1)
    power = 10.0 ** math.floor(math.log10(raw))
    step = next(m * power for m in (1, 2, 5, 10) if m * power >= raw)
    first = math.ceil(lo / step - 1e-9)
    ticks = []
    k = first
    while k * step <= hi + step * 1e-9:
        ticks.append(round(k * step, 12))
        k += 1
    return ticks


class Axis:
    """A linear or logarithmic axis mapping values from ``[lo, hi]`` to drawing units ``[start, end]``.

    Parameters
    ----------
    lo, hi : float
        The values at the two ends (``lo < hi``; both positive for a log axis).
    start, end : float
        Where they fall in the SVG's user units (``end < start`` for a y axis that grows upwards).
    log : bool
        Logarithmic: ``position = start + (end - start) * log10(v / lo) / log10(hi / lo)``.

    Raises
    ------
    ValueError
        A log axis with ``lo <= 0``, or ``hi <= lo``.
    """

    def __init__(self, lo: float, hi: float, start: float, end: float, log: bool = False) -> None:
        if not hi > lo:
            raise ValueError(f"an axis needs lo < hi, got {lo} and {hi}")
        if log and lo <= 0:
            raise ValueError(f"a log axis needs positive values, got lo = {lo}")
        self.lo, self.hi, self.start, self.end, self.log = lo, hi, start, end, log

    def __call__(self, v: float) -> float:
        """Position of ``v`` (clipped to the axis; a log axis puts values <= 0 at its start), rounded to 0.1."""
        v = min(max(v, self.lo), self.hi)
        if self.log:
            t = math.log10(v / self.lo) / math.log10(self.hi / self.lo)
        else:
            t = (v - self.lo) / (self.hi - self.lo)
        return round(self.start + (self.end - self.start) * t, 1)

    def ticks(self, count: int = 4) -> list[float]:
        """Labelled tick values: the powers of ten on a log axis, about ``count`` round values on a linear one."""
        return decade_ticks(self.lo, self.hi) if self.log else nice_ticks(self.lo, self.hi, count)


def _thin(x: np.ndarray, y: np.ndarray, max_points: int = MAX_POINTS) -> tuple[list[float], list[float]]:
    """Keep at most ``max_points`` points of a monotone curve, first and last included."""
    if len(x) > max_points:
        idx = np.unique(np.round(np.linspace(0, len(x) - 1, max_points)).astype(int))
        x, y = x[idx], y[idx]
    return [round(float(v), 5) for v in x], [round(float(v), 5) for v in y]


def roc(y_true: np.ndarray, y_score: np.ndarray, plain: bool = False,
        weights: np.ndarray | None = None) -> dict[str, Any] | None:
    """Return the ROC curve thinned to at most 200 points, and its AUC (as scikit-learn computes them).

    The curve has one point per distinct score threshold, as ``sklearn.metrics.roc_curve(...,
    drop_intermediate=False)``; the AUC is the trapezoid area under all of them, which is
    ``sklearn.metrics.roc_auc_score`` (tested against both).

    Parameters
    ----------
    y_true : ndarray of shape (n_samples,)
        0/1 target.
    y_score : ndarray of shape (n_samples,)
        Positive-class score.
    plain : bool
        Through scikit-learn's checked ``roc_curve`` (the same curve; for verification).
    weights : ndarray of shape (n_samples,), optional
        How many rows each row stands for (an engine's compact rows, ``EvalData.weights``): the curve and
        ``rows`` are those of the rows they stand for (scikit-learn's ``sample_weight``).

    Returns
    -------
    dict or None
        ``fpr``, ``tpr`` (lists), ``auc`` and ``rows``; None when the rows
        do not hold both classes or any score is not finite (the AUC check says why).
    """
    y_true = np.asarray(y_true)
    y_score = np.asarray(y_score, dtype=float)
    w = np.ones(len(y_true)) if weights is None else np.asarray(weights, dtype=float)
    rows = round(float(w.sum()))
    if len(y_true) == 0 or not np.isfinite(y_score).all():
        return None
    if plain:
        from sklearn.metrics import roc_auc_score, roc_curve

        if len(np.unique(y_true)) != 2:
            return None
        fpr, tpr, _ = roc_curve(y_true, y_score, sample_weight=weights, drop_intermediate=False)
        xs, ys = _thin(fpr, tpr)
        return {"fpr": xs, "tpr": ys, "auc": float(roc_auc_score(y_true, y_score, sample_weight=weights)),
                "rows": rows}
    positive = y_true == 1
    n_pos = float(w[positive].sum())
    n_neg = float(w.sum()) - n_pos
    if n_pos == 0 or n_neg == 0:
        return None
    # scikit-learn's roc_curve without its input checks: scores in decreasing order, one point per distinct
    # threshold (the last row of each run of equal scores), starting at (0, 0)
    order = np.argsort(y_score, kind="mergesort")[::-1]
    s, p, ws = y_score[order], positive[order], w[order]
    last = np.r_[np.flatnonzero(np.diff(s)), len(s) - 1]
    tps = np.cumsum(ws * p)[last]
    fps = np.cumsum(ws)[last] - tps
    fpr = np.r_[0.0, fps / n_neg]
    tpr = np.r_[0.0, tps / n_pos]
    auc = float((np.diff(fpr) * (tpr[1:] + tpr[:-1]) / 2.0).sum())  # the trapezoidal rule, as np.trapezoid
    xs, ys = _thin(fpr, tpr)
    return {"fpr": xs, "tpr": ys, "auc": auc if math.isfinite(auc) else None, "rows": rows}


def chart_data(inputs: Any, plain: bool = False) -> dict[str, Any]:
    """Return the chart data of a run: the ROC curves, the reliability table and the confusion matrix.

    ``roc`` holds ``candidate`` and (when scored on the same rows) ``baseline``; ``reliability`` is
    :func:`reliability`; ``confusion`` is :func:`gatekit.report.confusion.confusion_matrix` (binary and
    multiclass runs).

    Parameters
    ----------
    inputs : RunInputs
        The run's loaded inputs.
    plain : bool
        Draw the ROC curve through scikit-learn's checked ``roc_curve`` (the same curve; for verification).

    Returns
    -------
    dict
        Empty when there is nothing to draw (no scores, regression, one class). Never raises: a chart is
        an illustration, and a failure to compute one leaves it out.
    """
    from gatekit.report.confusion import confusion_matrix

    try:
        cm = confusion_matrix(getattr(inputs, "eval_data", None), getattr(inputs, "info", None))
    except (ValueError, TypeError, IndexError):
        cm = None
    charts = _chart_data(inputs, plain)
    return {**charts, "confusion": cm} if cm is not None else charts


def _chart_data(inputs: Any, plain: bool = False) -> dict[str, Any]:
    data = getattr(inputs, "eval_data", None)
    if data is not None and data.task == "regression":
        fc = forecast(data)
        return {"forecast": fc} if fc is not None else {}
    if data is None or data.task != "classification" or data.y_true is None or data.y_score is None:
        return {}
    charts: dict[str, Any] = {}
    rel = reliability(data)
    if rel is not None:
        charts["reliability"] = rel
    try:
        out: dict[str, Any] = {}
        cand = roc(data.y_true, data.y_score, plain, data.weights)
        if cand is None:
            return charts
        out["candidate"] = cand
        base = data.baseline
        if base is not None and base.y_score is not None:
            b = roc(data.y_true, base.y_score, plain, data.weights)
            if b is not None:
                out["baseline"] = b
        return {"roc": out, **charts}
    except (ValueError, TypeError):
        return charts


def reliability(data: Any) -> dict[str, Any] | None:
    """Return the candidate's reliability table in the default binning (15 equal-width bins), or None.

    The table of :func:`gatekit.metrics.calibration.reliability` (per non-empty bin: ``lo``, ``hi``, ``count``,
    ``confidence``, ``accuracy``; with ``ece``, ``mce``, ``edges``, ``strategy``, ``n``), which counts compact
    rows by their ``weights``. The report draws an ECE or MCE rule's own binning instead when the policy has one.

    Parameters
    ----------
    data : EvalData
        Binary classification rows with probabilities.

    Returns
    -------
    dict or None
        None when the calibration is not computable (no probabilities, scores outside [0, 1], missing scores).
    """
    try:
        return calibration.reliability(data)
    except (NotComputable, ValueError, TypeError):
        return None


SCATTER_POINTS = 2000
"""Most (actual, forecast) points the predicted-vs-actual chart draws: a seeded uniform sample of the rows."""
SCATTER_SEED = 20240611
RESIDUAL_BINS = 24
"""Equal-width bins of the residual histogram, between the residuals' 0.5th and 99.5th percentiles."""


def _weighted_quantile(x: np.ndarray, w: np.ndarray, q: float) -> float:
    """Return the ``q`` quantile of ``x`` with rows counted ``w`` times (``numpy.quantile``'s "inverted_cdf")."""
    order = np.argsort(x, kind="mergesort")
    cum = np.cumsum(w[order])
    return float(x[order][min(int(np.searchsorted(cum, q * cum[-1], side="left")), len(x) - 1)])


def forecast(data: Any) -> dict[str, Any] | None:
    """Return the regression charts' data: a residual histogram and a sample of (actual, forecast) points.

    Parameters
    ----------
    data : EvalData
        A regression run's rows: ``y_true`` and the forecast (``y_score`` or ``y_pred``), shape (n_samples,),
        compact rows counted by ``weights``.

    Returns
    -------
    dict or None
        ``residuals``: the histogram of ``actual - forecast`` over every row (``edges``, ``counts``; the rows
        below the 0.5th / above the 99.5th percentile counted as ``below`` / ``above`` instead of widening the
        bins), with ``mean`` and ``n``; ``scatter``: ``actual`` and ``forecast`` of at most
        :data:`SCATTER_POINTS` rows drawn uniformly without replacement (seed :data:`SCATTER_SEED`; every row
        when there are fewer), with ``n`` (all rows) and ``shown``. None when a value is missing or there are
        no rows (the metric rules say why).
    """
    f = data.y_score if data.y_score is not None else data.y_pred
    if data.y_true is None or f is None:
        return None
    y = np.asarray(data.y_true, dtype=float)
    f = np.asarray(f, dtype=float)
    w = np.ones(len(y), dtype=np.int64) if data.weights is None else np.asarray(data.weights, dtype=np.int64)
    keep = w > 0
    y, f, w = y[keep], f[keep], w[keep]
    if len(y) == 0 or not (np.isfinite(y).all() and np.isfinite(f).all()):
        return None
    r = y - f
    n = int(w.sum())
    lo, hi = _weighted_quantile(r, w, 0.005), _weighted_quantile(r, w, 0.995)
    if not hi > lo:
        lo, hi = float(r.min()) - 0.5, float(r.max()) + 0.5
    inside = (r >= lo) & (r <= hi)
    counts, edges = np.histogram(r[inside], bins=RESIDUAL_BINS, range=(lo, hi), weights=w[inside])
    residuals = {"edges": [float(e) for e in edges], "counts": [int(c) for c in counts],
                 "below": int(w[r < lo].sum()), "above": int(w[r > hi].sum()),
                 "mean": float(np.dot(w, r) / n), "n": n}
    rng = np.random.default_rng(SCATTER_SEED)
    pick = np.sort(rng.choice(n, size=SCATTER_POINTS, replace=False)) if n > SCATTER_POINTS else np.arange(n)
    rows = np.searchsorted(np.cumsum(w), pick, side="right")  # expanded row k -> the compact row holding it
    scatter = {"actual": [float(f"{v:.6g}") for v in y[rows]], "forecast": [float(f"{v:.6g}") for v in f[rows]], "n": n,
               "shown": len(rows), "seed": SCATTER_SEED}
    return {"residuals": residuals, "scatter": scatter}
