"""Binary classification metrics (scikit-learn), with undefined cases made explicit.

Conventions pinned here (recorded in each value's ``details``):

- Labels are 0/1 with 1 the positive label (see :class:`~gatekit.metrics.registry.EvalData`).
- A score becomes a positive prediction when ``score >= threshold`` (inclusive). When only a
  prediction column is given, threshold metrics use it as is and record ``threshold: null``.
- Undefined values raise :class:`~gatekit.core.errors.NotComputable` instead of returning 0 or NaN
  (scikit-learn's ``zero_division`` and one-class behaviours are not used).
- Compact rows (``EvalData.weights``, one row per distinct combination with its count) are passed to
  scikit-learn as ``sample_weight`` and counted with their weights, so every value and every count in
  ``details`` equals the one on the rows the counts stand for.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from gatekit.core.errors import NotComputable
from gatekit.metrics.registry import EvalData, MetricSpec, MetricValue, check_finite, row_count, row_weights


def binary_target(data: EvalData) -> np.ndarray:
    """Return the 0/1 target of a classification run, shape (n_rows,).

    Raises
    ------
    NotComputable
        No target, a regression run, or missing target values.
    """
    if data.y_true is None:
        raise NotComputable("no target column: give --target (or inputs.target) with the evaluation data")
    if data.task == "regression":
        raise NotComputable("needs a binary target; the target is numeric with many values (regression); if its "
                            "values are class codes, set task: multiclass (--task multiclass)")
    if data.task == "multiclass":
        raise NotComputable(f"needs a binary target; the target has {len(data.classes or [])} classes (multiclass): "
                            "use a multiclass metric (accuracy, balanced_accuracy, log_loss, roc_auc_ovr, roc_auc_ovo, "
                            "f1_macro, recall[class=<label>], ...; `gatekit metrics` lists them)")
    if len(data.y_true) == 0 or row_count(data) == 0:
        raise NotComputable("the evaluation data has no rows")
    return data.y_true


def binary_scores(data: EvalData, metric: str) -> np.ndarray:
    """Return the positive-class scores, shape (n_rows,), for ``metric``.

    Raises
    ------
    NotComputable
        Only labels were given, or a score is missing.
    """
    if data.task == "multiclass":
        binary_target(data)  # raises, naming the multiclass metrics
    if data.y_score is None:
        raise NotComputable(f"{metric} needs a score (probability) column or a model; only labels were given")
    _no_missing(data.y_score, "score", row_weights(data))
    return data.y_score


def _no_missing(values: np.ndarray, what: str, w: np.ndarray | None = None) -> None:
    """Raise :class:`NotComputable` when a value is not finite (counts weighted by ``w``, the row counts)."""
    bad_rows = ~np.isfinite(values)
    bad = int(np.sum(bad_rows)) if w is None else int(w[bad_rows].sum())
    if bad:
        n = len(values) if w is None else int(w.sum())
        raise NotComputable(f"{bad} of {n} {what} values are missing or not finite",
                            {f"n_missing_{what}": bad})


def predicted_labels(data: EvalData, threshold: float | None) -> tuple[np.ndarray, dict[str, Any]]:
    """Predicted 0/1 labels and the rule that produced them (a multiclass target has none: NotComputable)."""
    if data.task == "multiclass":
        binary_target(data)  # raises, naming the multiclass metrics
    if data.y_score is not None:
        _no_missing(data.y_score, "score", row_weights(data))
        require_probabilities(data.y_score, "a decision threshold")
        t = data.decision_threshold if threshold is None else threshold
        return (data.y_score >= t).astype(int), {"threshold": t, "rule": "score >= threshold"}
    if data.y_pred is not None:
        _no_missing(data.y_pred, "prediction", row_weights(data))
        if threshold is not None and threshold != data.decision_threshold:
            raise NotComputable(f"a threshold of {threshold} needs scores; the prediction column holds labels "
                                f"made at the model's own threshold (taken as decision_threshold "
                                f"{data.decision_threshold})")
        return data.y_pred.astype(int), {"threshold": None, "rule": "prediction column used as is"}
    raise NotComputable("needs a score column, a prediction column or a model")


def _two_classes(y: np.ndarray, w: np.ndarray | None = None) -> None:
    """Raise :class:`NotComputable` unless both classes have rows (rows of count 0 are no rows)."""
    present = y if w is None else y[w > 0]
    classes = np.unique(present)
    if len(classes) < 2:
        raise NotComputable(
            f"y_true has a single class ({int(classes[0])}); the metric needs both classes",
            {"n": len(y) if w is None else int(w.sum()), "class": int(classes[0])},
        )


def require_probabilities(s: np.ndarray, metric: str) -> None:
    """Raise :class:`NotComputable` unless every score in ``s`` is a probability in [0, 1] (``metric``: the rule)."""
    if np.nanmin(s) < 0 or np.nanmax(s) > 1:
        raise NotComputable(f"{metric} needs probabilities in [0, 1]; scores range "
                            f"{float(np.nanmin(s)):.4g} to {float(np.nanmax(s)):.4g}")


def roc_auc(data: EvalData) -> MetricValue:
    """Area under the ROC curve.

    Source: ``sklearn.metrics.roc_auc_score`` (trapezoidal area; ties in scores count one half).
    Not computable when ``y_true`` has a single class.

    Returns
    -------
    MetricValue
        Fraction in [0, 1].
    """
    from sklearn.metrics import roc_auc_score

    y = binary_target(data)
    s = binary_scores(data, "roc_auc")
    w = row_weights(data)
    _two_classes(y, w)
    v = check_finite(roc_auc_score(y, s, sample_weight=w), "roc_auc")
    return MetricValue(v, {"n": row_count(data), "n_positive": row_count(data, y == 1),
                           "definition": "sklearn roc_auc_score"})


def pr_auc(data: EvalData) -> MetricValue:
    """Area under the precision-recall curve, as average precision.

    ``AP = sum_n (R_n - R_{n-1}) P_n`` (step-wise, no interpolation).
    Source: ``sklearn.metrics.average_precision_score``. Not computable without positive labels.
    """
    from sklearn.metrics import average_precision_score

    y = binary_target(data)
    s = binary_scores(data, "pr_auc")
    if row_count(data, y == 1) == 0:
        raise NotComputable("y_true has no positive labels; precision-recall is undefined", {"n": row_count(data)})
    v = check_finite(average_precision_score(y, s, sample_weight=row_weights(data)), "pr_auc")
    return MetricValue(v, {"n": row_count(data), "definition": "average precision (sklearn), step-wise"})


def accuracy(data: EvalData) -> MetricValue:
    """Share of correct predictions at the policy's decision threshold.

    The catalog's ``accuracy`` computes :func:`gatekit.metrics.multiclass.accuracy` instead on a multiclass
    target (:func:`gatekit.metrics.multiclass.for_multiclass`). Source: ``sklearn.metrics.accuracy_score``.
    """
    from sklearn.metrics import accuracy_score

    y = binary_target(data)
    yp, rule = predicted_labels(data, None)
    return MetricValue(float(accuracy_score(y, yp, sample_weight=row_weights(data))), {"n": row_count(data), **rule})


def log_loss(data: EvalData) -> MetricValue:
    """Mean negative log-likelihood of the labels under the predicted probabilities (natural log).

    ``-mean(y log p + (1 - y) log(1 - p))``; probabilities are clipped by scikit-learn to
    machine epsilon. Source: ``sklearn.metrics.log_loss`` with ``labels=[0, 1]``. The catalog's ``log_loss``
    computes :func:`gatekit.metrics.multiclass.log_loss` instead on a multiclass target.
    """
    from sklearn.metrics import log_loss as sk_log_loss

    y = binary_target(data)
    s = binary_scores(data, "log_loss")
    require_probabilities(s, "log_loss")
    p = np.clip(s, np.finfo(float).eps, 1 - np.finfo(float).eps)
    v = check_finite(sk_log_loss(y, p, labels=[0, 1], sample_weight=row_weights(data)), "log_loss")
    return MetricValue(v, {"n": row_count(data), "definition": "natural log, probabilities clipped to [eps, 1-eps]"})


def brier_score(data: EvalData) -> MetricValue:
    """Brier score: ``mean((p - y)^2)``. Source: ``sklearn.metrics.brier_score_loss``."""
    from sklearn.metrics import brier_score_loss

    y = binary_target(data)
    s = binary_scores(data, "brier_score")
    require_probabilities(s, "brier_score")
    return MetricValue(float(brier_score_loss(y, s, sample_weight=row_weights(data))), {"n": row_count(data)})


def _confusion(data: EvalData, threshold: float) -> tuple[int, int, int, int, dict[str, Any]]:
    y = binary_target(data)
    yp, rule = predicted_labels(data, threshold)
    tp = row_count(data, (yp == 1) & (y == 1))
    fp = row_count(data, (yp == 1) & (y == 0))
    fn = row_count(data, (yp == 0) & (y == 1))
    tn = row_count(data, (yp == 0) & (y == 0))
    return tp, fp, fn, tn, {**rule, "tp": tp, "fp": fp, "fn": fn, "tn": tn}


def precision_at(data: EvalData, threshold: float) -> MetricValue:
    """Precision ``TP / (TP + FP)`` with positives predicted where ``score >= threshold``.

    Not computable when nothing is predicted positive (TP + FP = 0), instead of scikit-learn's
    ``zero_division`` value.
    """
    tp, fp, _fn, _tn, d = _confusion(data, threshold)
    if tp + fp == 0:
        raise NotComputable(f"no positive predictions at threshold {threshold} (TP + FP = 0)", d)
    return MetricValue(tp / (tp + fp), d)


def recall_at(data: EvalData, threshold: float) -> MetricValue:
    """Recall (true positive rate) ``TP / (TP + FN)`` at ``score >= threshold``.

    Not computable without positive labels (TP + FN = 0).
    """
    tp, _fp, fn, _tn, d = _confusion(data, threshold)
    if tp + fn == 0:
        raise NotComputable("y_true has no positive labels (TP + FN = 0)", d)
    return MetricValue(tp / (tp + fn), d)


def f1_at(data: EvalData, threshold: float) -> MetricValue:
    """F1 ``2 TP / (2 TP + FP + FN)`` at ``score >= threshold``.

    Not computable when precision or recall is undefined (no positive predictions or no positive
    labels), so a degenerate model cannot score a defined F1 of 0 or 1 by convention.
    """
    tp, fp, fn, _tn, d = _confusion(data, threshold)
    if tp + fp == 0:
        raise NotComputable(f"no positive predictions at threshold {threshold}; precision undefined", d)
    if tp + fn == 0:
        raise NotComputable("y_true has no positive labels; recall undefined", d)
    return MetricValue(2 * tp / (2 * tp + fp + fn), d)


def threshold_param(v: Any) -> float:
    """Validate a rule's ``threshold`` parameter: a number in [0, 1].

    Raises
    ------
    ValueError
        Not a number, or outside [0, 1].
    """
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        raise ValueError(f"threshold must be a number in [0, 1], not {type(v).__name__}")
    t = float(v)
    if not 0.0 <= t <= 1.0:
        raise ValueError("threshold must be in [0, 1]")
    return t


SPECS = (
    MetricSpec("roc_auc", "performance", "fraction", "Area under the ROC curve (sklearn roc_auc_score).",
               roc_auc, aliases=("auc_roc", "auc"), higher_is_better=True, bounds=(0, 1)),
    MetricSpec("pr_auc", "performance", "fraction", "Average precision (sklearn average_precision_score).",
               pr_auc, aliases=("average_precision",), higher_is_better=True, bounds=(0, 1)),
    MetricSpec("accuracy", "performance", "fraction", "Accuracy at the policy's decision threshold (multiclass: "
               "argmax of the probabilities).",
               accuracy, higher_is_better=True, bounds=(0, 1)),
    MetricSpec("log_loss", "performance", "nats", "Mean negative log-likelihood of the true class (sklearn "
               "log_loss); binary or multiclass.",
               log_loss, higher_is_better=False, bounds=(0, None)),
    MetricSpec("brier_score", "performance", "fraction", "Mean squared error of probabilities (Brier 1950).",
               brier_score, aliases=("brier",), higher_is_better=False, bounds=(0, 1)),
    MetricSpec("precision_at_T", "performance", "fraction", "Precision TP/(TP+FP) at score >= T.",
               precision_at, params={"threshold": threshold_param}, higher_is_better=True, bounds=(0, 1)),
    MetricSpec("recall_at_T", "performance", "fraction", "Recall TP/(TP+FN) at score >= T.",
               recall_at, params={"threshold": threshold_param}, higher_is_better=True, bounds=(0, 1)),
    MetricSpec("f1_at_T", "performance", "fraction", "F1 2TP/(2TP+FP+FN) at score >= T.",
               f1_at, params={"threshold": threshold_param}, higher_is_better=True, bounds=(0, 1)),
)
