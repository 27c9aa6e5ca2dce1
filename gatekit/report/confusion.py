"""The candidate's confusion matrix: computed from the evaluation rows, and laid out for the HTML and Markdown reports.

:func:`confusion_matrix` counts the rows per (true class, predicted class): a binary run predicts the positive
label where the score is at or above the policy's decision threshold (or reads the prediction column), a
multiclass run predicts the class of largest probability (the first of ties, as ``numpy.argmax``) or reads the
prediction column. An engine's compact rows count ``weights`` times, so the matrix is the rows' own
(``sklearn.metrics.confusion_matrix(..., sample_weight=weights)``). Each row is also given as shares of its true
class (row-normalised: the diagonal is each class's recall).

The run's report carries it as ``metadata["charts"]["confusion"]``; :func:`html_table` and
:func:`markdown_lines` lay it out.
"""

from __future__ import annotations

from typing import Any

import numpy as np

MAX_HTML_CLASSES = 30
"""At most this many classes are drawn in the HTML report (the JSON report has every one)."""
MAX_MARKDOWN_CLASSES = 12
"""At most this many classes are written in the Markdown summary."""


def _label(v: Any) -> str:
    if isinstance(v, float) and v.is_integer():
        return str(int(v))
    return str(v)


def confusion_matrix(data: Any, info: dict[str, Any] | None = None) -> dict[str, Any] | None:
    """Return the candidate's confusion matrix on the evaluation rows, or None when there is none to give.

    Parameters
    ----------
    data : EvalData
        A classification or multiclass run's rows: ``y_true`` (0/1, or class codes into ``classes``), the
        score (binary), probability matrix or predicted codes, ``weights`` (compact rows) and the decision
        threshold.
    info : dict, optional
        The run's input facts: ``positive_label`` and ``negative_label`` name a binary run's classes (without a
        negative label, the other class is "not <positive>").

    Returns
    -------
    dict or None
        ``labels`` (class names, in matrix order: a binary run's negative class first, as scikit-learn's
        ``labels=[0, 1]``), ``counts`` (k x k lists, row = true class, column = predicted class), ``shares``
        (each count over its row's total; None for a class with no row), ``true_totals``,
        ``predicted_totals``, ``n`` (rows), ``predicted_by`` (in words) and ``threshold`` (binary scores, else
        None). None for regression, no target, no output, or an output that is not a number.
    """
    info = info or {}
    if data is None or data.y_true is None or data.task not in ("classification", "multiclass"):
        return None
    y = np.asarray(data.y_true)
    w = (np.ones(len(y), dtype=np.int64) if data.weights is None else np.asarray(data.weights, dtype=np.int64))
    threshold = None
    if data.task == "classification":
        pos = _label(info.get("positive_label", data.positive_label))
        neg = _label(info["negative_label"]) if info.get("negative_label") is not None else f"not {pos}"
        labels = [neg, pos]
        if data.y_score is not None:
            s = np.asarray(data.y_score, dtype=float)
            if not np.isfinite(s).all():
                return None
            threshold = float(data.decision_threshold)
            pred = (s >= threshold).astype(np.int64)
            by = f"{pos} where the score ≥ {threshold:g}"
        elif data.y_pred is not None:
            pred = np.asarray(data.y_pred, dtype=float)
            if not np.isfinite(pred).all():
                return None
            pred = pred.astype(np.int64)
            by = "the prediction column"
        else:
            return None
    else:
        labels = [_label(c) for c in (data.classes or [])]
        if data.y_pred is not None:
            pred = np.asarray(data.y_pred, dtype=float)
            by = "the prediction column" if info.get("prediction") else "the class of largest probability"
        elif data.y_score is not None:
            p = np.asarray(data.y_score, dtype=float)
            pred = np.argmax(p, axis=1).astype(float)
            pred[~np.isfinite(p).all(axis=1)] = np.nan
            by = "the class of largest probability"
        else:
            return None
        if not np.isfinite(pred).all():
            return None
        pred = pred.astype(np.int64)
    k = len(labels)
    y = y.astype(np.int64)
    if k < 2 or len(y) != len(pred) or (len(y) and (y.min() < 0 or y.max() >= k or pred.min() < 0
                                                    or pred.max() >= k)):
        return None
    counts = np.zeros((k, k), dtype=np.int64)
    np.add.at(counts, (y, pred), w)
    rows = counts.sum(axis=1)
    shares = [[float(c / r) for c in row] if r else None for row, r in zip(counts, rows, strict=True)]
    return {"labels": labels, "counts": counts.tolist(), "shares": shares, "true_totals": rows.tolist(),
            "predicted_totals": counts.sum(axis=0).tolist(), "n": int(counts.sum()), "predicted_by": by,
            "threshold": threshold}


def _pct(share: float | None) -> str:
    return "—" if share is None else f"{100 * share:.1f} %"


def html_table(meta: dict[str, Any]) -> dict[str, Any] | None:
    """Return the confusion matrix laid out for the HTML report's Performance section, or None.

    Each cell has its count, its share of the row (``share``, text) and a background opacity growing with the
    share (``alpha``, 0.04 to 0.44: the text stays legible on it). At most :data:`MAX_HTML_CLASSES` classes.
    """
    cm = (meta.get("charts") or {}).get("confusion")
    if not cm or not cm.get("labels"):
        return None
    labels = cm["labels"]
    if len(labels) > MAX_HTML_CLASSES:
        return {"too_many": len(labels), "n": cm["n"], "predicted_by": cm["predicted_by"]}
    rows = []
    for i, label in enumerate(labels):
        row_shares = cm["shares"][i]
        cells = []
        for j, n in enumerate(cm["counts"][i]):
            share = row_shares[j] if row_shares is not None else None
            cells.append({"count": f"{n:,}", "share": _pct(share), "diag": i == j,
                          "alpha": round(0.04 + 0.4 * (share or 0.0), 3)})
        rows.append({"label": label, "cells": cells, "total": f"{cm['true_totals'][i]:,}"})
    return {"labels": labels, "rows": rows, "n": f"{cm['n']:,}", "predicted_by": cm["predicted_by"],
            "predicted_totals": [f"{n:,}" for n in cm["predicted_totals"]]}


def markdown_lines(meta: dict[str, Any], escape: Any) -> list[str]:
    """Return the confusion matrix as a folded Markdown table (count and row share per cell), or no line.

    Parameters
    ----------
    meta : dict
        The report's metadata.
    escape : callable
        Escapes text for a Markdown table cell.
    """
    cm = (meta.get("charts") or {}).get("confusion")
    if not cm or not cm.get("labels"):
        return []
    labels = cm["labels"]
    head = f"Confusion matrix: {cm['n']:,} evaluation rows; predicted class: {cm['predicted_by']}"
    if len(labels) > MAX_MARKDOWN_CLASSES:
        return [f"<details><summary>{escape(head)}</summary>", "",
                f"{len(labels)} classes: the matrix is in gate_report.json and the HTML report.", "", "</details>", ""]
    lines = [f"<details><summary>{escape(head)}</summary>", "",
             "| true \\ predicted | " + " | ".join(escape(x) for x in labels) + " | rows |",
             "|---|" + "---|" * (len(labels) + 1)]
    for i, label in enumerate(labels):
        shares = cm["shares"][i]
        cells = [f"{n:,} ({_pct(shares[j] if shares is not None else None)})" for j, n in enumerate(cm["counts"][i])]
        lines.append(f"| {escape(label)} | " + " | ".join(cells) + f" | {cm['true_totals'][i]:,} |")
    lines += ["", "Each cell: rows of that true class given that prediction, and their share of the true class "
              "(the diagonal is each class's recall).", "", "</details>", ""]
    return lines
