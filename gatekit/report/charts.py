"""Chart data for the HTML report that the checks do not carry, and the axes the charts are drawn on.

- :func:`roc`, :func:`chart_data`: the ROC curves of candidate and production (lists of numbers);
- :func:`use_log_scale`, :class:`Axis`: whether an axis is logarithmic (its positive values span more than
  two decades) and where its values and labelled ticks fall.

Data and geometry only; :mod:`gatekit.report.html` draws them as inline SVG.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

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


def roc(y_true: np.ndarray, y_score: np.ndarray, plain: bool = False) -> dict[str, Any] | None:
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

    Returns
    -------
    dict or None
        ``fpr``, ``tpr`` (lists), ``auc`` and ``rows``; None when the rows
        do not hold both classes or any score is not finite (the AUC check says why).
    """
    y_true = np.asarray(y_true)
    y_score = np.asarray(y_score, dtype=float)
    if len(y_true) == 0 or not np.isfinite(y_score).all():
        return None
    if plain:
        from sklearn.metrics import roc_auc_score, roc_curve

        if len(np.unique(y_true)) != 2:
            return None
        fpr, tpr, _ = roc_curve(y_true, y_score, drop_intermediate=False)
        xs, ys = _thin(fpr, tpr)
        return {"fpr": xs, "tpr": ys, "auc": float(roc_auc_score(y_true, y_score)), "rows": len(y_true)}
    positive = y_true == 1
    n_pos = int(positive.sum())
    n_neg = len(y_true) - n_pos
    if n_pos == 0 or n_neg == 0:
        return None
    # scikit-learn's roc_curve without its input checks: scores in decreasing order, one point per distinct
    # threshold (the last row of each run of equal scores), starting at (0, 0)
    order = np.argsort(y_score, kind="mergesort")[::-1]
    s, p = y_score[order], positive[order]
    last = np.r_[np.flatnonzero(np.diff(s)), len(s) - 1]
    tps = np.cumsum(p)[last]
    fps = (last + 1) - tps
    fpr = np.r_[0.0, fps / n_neg]
    tpr = np.r_[0.0, tps / n_pos]
    auc = float((np.diff(fpr) * (tpr[1:] + tpr[:-1]) / 2.0).sum())  # the trapezoidal rule, as np.trapezoid
    xs, ys = _thin(fpr, tpr)
    return {"fpr": xs, "tpr": ys, "auc": auc if math.isfinite(auc) else None, "rows": len(y_true)}


def chart_data(inputs: Any, plain: bool = False) -> dict[str, Any]:
    """Chart data of a run: ``roc`` with ``candidate`` and (when scored on the same rows) ``baseline``.

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
    data = getattr(inputs, "eval_data", None)
    if data is None or data.task != "classification" or data.y_true is None or data.y_score is None:
        return {}
    try:
        out: dict[str, Any] = {}
        cand = roc(data.y_true, data.y_score, plain)
        if cand is None:
            return {}
        out["candidate"] = cand
        base = data.baseline
        if base is not None and base.y_score is not None:
            b = roc(data.y_true, base.y_score, plain)
            if b is not None:
                out["baseline"] = b
        return {"roc": out}
    except (ValueError, TypeError):
        return {}
