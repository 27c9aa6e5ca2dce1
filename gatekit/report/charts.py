"""Chart data for the HTML report that the checks do not carry: the ROC curves of candidate and production.

Data only (lists of numbers); :mod:`gatekit.report.html` draws it as inline SVG.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

MAX_POINTS = 200


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
