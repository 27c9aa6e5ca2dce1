"""Metrics that are means of per-row values, and those per-row values (for confidence sequences).

A confidence sequence for a mean (:mod:`gatekit.stats.sequential`) needs one value per row whose mean is the
metric. Four catalog metrics are such means, and :data:`PER_ROW` holds each one's per-row value:

========================  =================================================================  ==========
metric                    per-row value                                                      bounds
========================  =================================================================  ==========
``accuracy``              ``1`` when the predicted label (class) is the outcome, else ``0``  ``[0, 1]``
``brier_score``           ``(p - y)^2`` (binary outcome)                                      ``[0, 1]``
``log_loss``              ``-log clip(p_true, eps, 1 - eps)`` (binary or multiclass)          unbounded
``mae``                   ``|y - f|`` (regression)                                            unbounded
========================  =================================================================  ==========

A canary log with a latency column (``canary.latency``) has one more: ``latency_mean_ms``, whose per-row value is
the row's served latency in ms (unbounded), in :data:`CANARY_PER_ROW` only (evaluation rows carry no latency, so
``metrics:`` rules with ``interval: sequential`` do not take it).

The mean of the per-row values over an arm's rows equals the catalog metric on those rows (tested against
scikit-learn's ``accuracy_score``, ``brier_score_loss``, ``log_loss``, gatekit's ``mae`` and the mean of the
logged latencies). Metrics that are
not means of rows (ROC AUC, precision, F1, RMSE: the root of a mean, R², the fairness differences) have no
per-row value; the canary's sequential mode takes AUC through a Bonferroni correction instead
(:mod:`gatekit.sections.canary_sequential`) and refuses the rest.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from gatekit.core.errors import NotComputable
from gatekit.metrics.latency import served_latencies
from gatekit.metrics.registry import EvalData


@dataclass(frozen=True)
class PerRowMetric:
    """A metric that is the mean of one value per row.

    Parameters
    ----------
    name : str
        Canonical metric name.
    values : callable
        ``values(data, **params) -> ndarray of shape (n_rows,)``, in the data's row order (``params``: the
        metric's parameters; only the shadow metrics take one).
    bounds : tuple of float or None
        Known bounds of every per-row value (needed by the betting confidence sequence); None when unbounded.
    definition : str
        The per-row value in words.
    """

    name: str
    values: Callable[..., np.ndarray]
    bounds: tuple[float, float] | None
    definition: str


def _accuracy(data: EvalData) -> np.ndarray:
    from gatekit.metrics.multiclass import class_target, is_multiclass, predicted_classes

    if is_multiclass(data):
        return (predicted_classes(data)[0] == class_target(data)).astype(float)
    from gatekit.metrics.classification import binary_target, predicted_labels

    return (predicted_labels(data, None)[0] == binary_target(data)).astype(float)


def _brier(data: EvalData) -> np.ndarray:
    from gatekit.metrics.classification import binary_scores, binary_target, require_probabilities

    y = binary_target(data).astype(float)
    s = binary_scores(data, "brier_score")
    require_probabilities(s, "brier_score")
    return (np.asarray(s, dtype=float) - y) ** 2


def _log_loss(data: EvalData) -> np.ndarray:
    from gatekit.metrics.multiclass import class_target, is_multiclass, proba_matrix

    eps = np.finfo(float).eps
    if is_multiclass(data):
        y = class_target(data)
        s = proba_matrix(data, "log_loss")
        return np.asarray(-np.log(np.clip(s[np.arange(len(y)), y], eps, 1 - eps)), dtype=float)
    from gatekit.metrics.classification import binary_scores, binary_target, require_probabilities

    y = binary_target(data).astype(float)
    s = binary_scores(data, "log_loss")
    require_probabilities(s, "log_loss")
    p = np.clip(np.asarray(s, dtype=float), eps, 1 - eps)
    return np.asarray(-(y * np.log(p) + (1 - y) * np.log(1 - p)), dtype=float)


def _mae(data: EvalData) -> np.ndarray:
    from gatekit.metrics.regression import regression_pair

    y, f = regression_pair(data)
    return np.asarray(np.abs(y - f), dtype=float)


PER_ROW: dict[str, PerRowMetric] = {
    "accuracy": PerRowMetric("accuracy", _accuracy, (0.0, 1.0), "1 if the prediction is right, else 0"),
    "brier_score": PerRowMetric("brier_score", _brier, (0.0, 1.0), "(p - y)^2"),
    "log_loss": PerRowMetric("log_loss", _log_loss, None, "-log of the probability given to the outcome"),
    "mae": PerRowMetric("mae", _mae, None, "|y - f|"),
}
"""Canonical metric name -> its per-row values (see the module docstring)."""


CANARY_PER_ROW: dict[str, PerRowMetric] = {
    **PER_ROW,
    "latency_mean_ms": PerRowMetric("latency_mean_ms", served_latencies, None, "the row's served latency (ms)"),
}
"""The per-row metrics of a canary log (``canary.sequential``): :data:`PER_ROW` and, read from the log's latency
column, ``latency_mean_ms`` (:mod:`gatekit.metrics.latency`)."""


def _agreement(data: EvalData, threshold: float | None = None) -> np.ndarray:
    from gatekit.metrics.classification import predicted_labels
    from gatekit.metrics.shadow import _base

    base = _base(data)
    if data.task == "regression":
        raise NotComputable("prediction_agreement_rate compares class labels; the task is regression")
    return (predicted_labels(data, threshold)[0] == predicted_labels(base, threshold)[0]).astype(float)


def _score_difference(data: EvalData) -> np.ndarray:
    from gatekit.metrics.shadow import _scores_pair

    c, b = _scores_pair(data, "mean_score_difference")
    return np.asarray(c - b, dtype=float)


SHADOW_PER_ROW: dict[str, PerRowMetric] = {
    "prediction_agreement_rate": PerRowMetric(
        "prediction_agreement_rate", _agreement, (0.0, 1.0),
        "1 if the candidate and production predict the same label (score >= the decision threshold), else 0"),
    "mean_score_difference": PerRowMetric(
        "mean_score_difference", _score_difference, (-1.0, 1.0),
        "candidate score - production score on the row (bounds for probabilities)"),
}
"""Shadow metrics (:mod:`gatekit.metrics.shadow`) that are means of per-row values over rows both models scored.

Their mean over the rows is ``prediction_agreement_rate`` and ``mean_score_difference`` (tested against the
catalog functions). The bounds of ``mean_score_difference`` hold for probabilities (classification); a
regression forecast's difference is unbounded (the betting sequence refuses it at run time).
"""


def per_row_values(name: str, data: EvalData, params: dict[str, Any] | None = None) -> np.ndarray:
    """Return the per-row values of metric ``name`` on ``data``, whose mean is the metric.

    Parameters
    ----------
    name : str
        Canonical name, a key of :data:`CANARY_PER_ROW` (``latency_mean_ms`` needs ``data.latency_ms``) or
        :data:`SHADOW_PER_ROW` (these need ``data.baseline``).
    data : EvalData
        Plain rows (no row counts), in arrival order.
    params : dict, optional
        The metric's parameters (``threshold`` of ``prediction_agreement_rate``).

    Returns
    -------
    ndarray of shape (n_rows,)

    Raises
    ------
    KeyError
        ``name`` is not a per-row metric.
    NotComputable
        The metric cannot be computed on these rows (no scores for a Brier score, scores outside [0, 1], a
        multiclass target for a binary-only metric, missing values).
    """
    from gatekit.metrics.registry import row_weights

    if row_weights(data) is not None:
        raise NotComputable("per-row values need the rows one by one, not rows gathered with counts")
    spec = CANARY_PER_ROW.get(name) or SHADOW_PER_ROW[name]
    out = spec.values(data, **(params or {}))
    if not np.all(np.isfinite(out)):
        raise NotComputable(f"{int(np.sum(~np.isfinite(out)))} rows give no finite {name} value")
    return out
