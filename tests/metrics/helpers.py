"""Helpers of the metric tests: evaluation data built from plain lists."""

from __future__ import annotations

import numpy as np
import pandas as pd

from gatekit.metrics import EvalData

THRESHOLDS = (0.5, 0.3)


def clf_data(y, score=None, pred=None, sensitive=None, **kw) -> EvalData:
    return EvalData(
        y_true=np.asarray(y, dtype=int),
        y_score=None if score is None else np.asarray(score, dtype=float),
        y_pred=None if pred is None else np.asarray(pred, dtype=int),
        sensitive=None if sensitive is None else pd.DataFrame(sensitive),
        task="classification",
        **kw,
    )


# y and scores with ties exactly at 0.5 and 0.3. At T = 0.5 (score >= T): preds [1,1,0,0,0,1],
# TP 2, FP 1, FN 1, TN 2. At T = 0.3: preds [1,1,0,1,0,1], TP 2, FP 2, FN 1, TN 1.
TIE_Y = [1, 1, 0, 0, 1, 0]
TIE_S = [0.9, 0.5, 0.2, 0.3, 0.2, 0.7]


# --------------------------------------------------------------------------------------------------
# Compact rows (EvalData.weights): random compact data and the rows it stands for
# --------------------------------------------------------------------------------------------------


def expand(data: EvalData) -> EvalData:
    """The rows a compact EvalData stands for: row i repeated ``weights[i]`` times, no weights.

    Written here with ``numpy.repeat`` (not gatekit's ``take``), so the comparison is independent.
    """
    assert data.weights is not None
    idx = np.repeat(np.arange(len(data.weights)), np.asarray(data.weights, dtype=np.int64))

    def rep(a):
        return None if a is None else np.asarray(a)[idx]

    sens = None if data.sensitive is None else data.sensitive.iloc[idx].reset_index(drop=True)
    out = EvalData(y_true=rep(data.y_true), y_score=rep(data.y_score), y_pred=rep(data.y_pred), sensitive=sens,
                   task=data.task, decision_threshold=data.decision_threshold, strict=data.strict,
                   positive_label=data.positive_label, sensitive_default=data.sensitive_default,
                   train_target=data.train_target,  # the training series is not evaluation rows: never repeated
                   quantiles=None if data.quantiles is None else {q: rep(a) for q, a in data.quantiles.items()})
    if data.baseline is not None:
        out.baseline = expand(data.baseline)
    return out


def compact_clf(seed: int, n: int = 60, max_count: int = 6, decimals: int = 1) -> EvalData:
    """Random compact classification rows: tied scores (rounded), two sensitive columns, a production model,
    counts 1..max_count (the same counts on the baseline, as the DuckDB engine gives them)."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, n)
    score = np.round(np.clip(0.4 + 0.25 * y + 0.25 * rng.standard_normal(n), 0, 1), decimals)
    base = np.round(np.clip(0.4 + 0.15 * y + 0.25 * rng.standard_normal(n), 0, 1), decimals)
    sens = pd.DataFrame({"g": rng.choice(["a", "b", "c"], n), "h": rng.choice(["x", "y"], n)})
    w = rng.integers(1, max_count + 1, n)
    data = EvalData(y_true=y, y_score=score, sensitive=sens, task="classification", sensitive_default=["g"],
                    weights=w)
    data.baseline = EvalData(y_true=y, y_score=base, sensitive=sens, task="classification",
                             sensitive_default=["g"], weights=w)
    return data


def compact_reg(seed: int, n: int = 50, max_count: int = 6) -> EvalData:
    """Random compact regression rows (rounded: ties), a production forecast, counts 1..max_count, the 0.1 and 0.9
    quantile forecasts and a training series of 40 values."""
    rng = np.random.default_rng(seed)
    y = np.round(rng.normal(10, 3, n), 1)
    f = np.round(y + rng.normal(0.5, 2, n), 1)
    b = np.round(y + rng.normal(0, 2.5, n), 1)
    w = rng.integers(1, max_count + 1, n)
    train = np.round(rng.normal(10, 3, 40), 1)
    data = EvalData(y_true=y, y_score=f, task="regression", weights=w, train_target=train,
                    quantiles={0.1: f - 2.5, 0.9: f + 2.5})
    data.baseline = EvalData(y_true=y, y_score=b, task="regression", weights=w, train_target=train)
    return data
