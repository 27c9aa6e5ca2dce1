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
