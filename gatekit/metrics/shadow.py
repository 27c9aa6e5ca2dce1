"""Shadow metrics: the candidate and the production model scored on the same rows, compared row by row.

They need the production model's output on the evaluation rows (``inputs.baseline.score``,
``prediction`` or ``model``); no target is needed, so a shadow deployment can be gated before any
outcome is known. Section ``rollout``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from gatekit.core.errors import NotComputable
from gatekit.metrics.classification import predicted_labels, threshold_param
from gatekit.metrics.registry import EvalData, MetricSpec, MetricValue


def _base(data: EvalData) -> EvalData:
    if data.baseline is None:
        raise NotComputable("needs the production model's output on the same rows: give inputs.baseline.score, "
                            "prediction or model (--baseline-score / --baseline-prediction / --baseline-model)")
    if data.y_true is not None and len(data.y_true) == 0:
        raise NotComputable("the evaluation data has no rows")
    return data.baseline


def _outputs(data: EvalData, what: str) -> np.ndarray:
    out = data.y_score if data.y_score is not None else data.y_pred
    if out is None:
        raise NotComputable(f"the {what} has no score or prediction")
    out = np.asarray(out, dtype=float)
    bad = int((~np.isfinite(out)).sum())
    if bad:
        raise NotComputable(f"{bad} of the {what}'s outputs are missing or not finite")
    return out


def _scores_pair(data: EvalData, metric: str) -> tuple[np.ndarray, np.ndarray]:
    base = _base(data)
    if data.task == "classification" and (data.y_score is None or base.y_score is None):
        raise NotComputable(f"{metric} compares scores; a side gave only labels (use prediction_agreement_rate)")
    c, b = _outputs(data, "candidate"), _outputs(base, "production model")
    if data.task == "classification":
        for arr, who in ((c, "candidate"), (b, "production model")):
            if len(arr) and (arr.min() < 0 or arr.max() > 1):
                raise NotComputable(f"{metric} compares probabilities in [0, 1]; the {who}'s scores range "
                                    f"{arr.min():.4g} to {arr.max():.4g} (percent? give fractions)")
    if len(c) == 0:
        raise NotComputable("the evaluation data has no rows")
    return c, b


def prediction_agreement_rate(data: EvalData, threshold: float | None = None) -> MetricValue:
    """Share of rows on which the candidate and production predict the same label.

    Labels come from ``score >= threshold`` on each side (default the policy's ``decision_threshold``), or
    from prediction columns as given. Fraction in [0, 1]; 1 means the candidate changes no decision.
    """
    base = _base(data)
    if data.task == "regression":
        raise NotComputable("prediction_agreement_rate compares class labels; the task is regression "
                            "(use abs_score_difference_p95)")
    c, rule = predicted_labels(data, threshold)
    b, _ = predicted_labels(base, threshold)
    if len(c) == 0:
        raise NotComputable("the evaluation data has no rows")
    agree = c == b
    flips_up = int(((c == 1) & (b == 0)).sum())
    flips_down = int(((c == 0) & (b == 1)).sum())
    return MetricValue(float(agree.mean()), {**rule, "n": len(c), "n_disagree": int((~agree).sum()),
                                             "candidate_positive_production_negative": flips_up,
                                             "candidate_negative_production_positive": flips_down})


def mean_score_difference(data: EvalData) -> MetricValue:
    """Mean of ``candidate score - production score`` over the rows (signed: a systematic shift)."""
    c, b = _scores_pair(data, "mean_score_difference")
    d = c - b
    return MetricValue(float(d.mean()), {"n": len(d), "std": float(d.std(ddof=1)) if len(d) > 1 else None})


def abs_score_difference_p95(data: EvalData) -> MetricValue:
    """95th percentile of ``|candidate score - production score|`` over the rows.

    Percentile: numpy's default linear interpolation (Hyndman & Fan 1996, type 7), recorded.
    """
    c, b = _scores_pair(data, "abs_score_difference_p95")
    d = np.abs(c - b)
    return MetricValue(float(np.quantile(d, 0.95)), {"n": len(d), "percentile_method": "linear (Hyndman-Fan 7)",
                                                     "max": float(d.max()), "median": float(np.median(d))})


def score_distribution_ks(data: EvalData) -> MetricValue:
    """Two-sample Kolmogorov-Smirnov statistic between the two models' score distributions.

    Source: ``scipy.stats.ks_2samp`` (statistic; the largest gap between the two empirical CDFs, in
    [0, 1]). The p-value is recorded, not gated on.
    """
    from scipy.stats import ks_2samp

    c, b = _scores_pair(data, "score_distribution_ks")
    res = ks_2samp(c, b)
    return MetricValue(float(res.statistic), {"p_value": float(res.pvalue), "n": len(c),
                                              "source": "scipy.stats.ks_2samp"})


def _agreement_kernel(data: EvalData, W: np.ndarray, threshold: float | None = None) -> np.ndarray:
    base = _base(data)
    agree = (predicted_labels(data, threshold)[0] == predicted_labels(base, threshold)[0]).astype(float)
    Wf = np.asarray(W, dtype=float)
    return Wf @ agree / Wf.sum(axis=1)


def _mean_diff_kernel(data: EvalData, W: np.ndarray) -> np.ndarray:
    c, b = _scores_pair(data, "mean_score_difference")
    Wf = np.asarray(W, dtype=float)
    return Wf @ (c - b) / Wf.sum(axis=1)


KERNELS: dict[str, Any] = {"prediction_agreement_rate": _agreement_kernel,
                           "mean_score_difference": _mean_diff_kernel}

SPECS = (
    MetricSpec("prediction_agreement_rate", "rollout", "fraction",
               "Share of rows where candidate and production predict the same label (shadow).",
               prediction_agreement_rate, params={"threshold": threshold_param}, higher_is_better=True,
               bounds=(0, 1), label="Decisions unchanged from the production model"),
    MetricSpec("mean_score_difference", "rollout", "score unit",
               "Mean of candidate minus production score on the same rows (shadow).", mean_score_difference,
               label="Average score shift from the production model"),
    MetricSpec("abs_score_difference_p95", "rollout", "score unit",
               "95th percentile of |candidate - production score| on the same rows (shadow).",
               abs_score_difference_p95, higher_is_better=False, bounds=(0, None),
               label="Size of the largest score changes (95th percentile)"),
    MetricSpec("score_distribution_ks", "rollout", "fraction",
               "Kolmogorov-Smirnov statistic between candidate and production scores (scipy ks_2samp).",
               score_distribution_ks, higher_is_better=False, bounds=(0, 1),
               label="Difference between the two models' score distributions"),
)
