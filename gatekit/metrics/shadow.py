"""Shadow metrics: the candidate and the production model scored on the same rows, compared row by row.

They need the production model's output on the evaluation rows (``inputs.baseline.score``,
``prediction`` or ``model``); no target is needed, so a shadow deployment can be gated before any
outcome is known. Section ``rollout``.

Compact rows (``EvalData.weights``: one row per distinct (candidate, production) output pair with its count;
the baseline carries the same counts) give weighted means, a weighted type-7 percentile and weighted
empirical CDFs, each equal to its value on the rows the counts stand for (tested against numpy and scipy
on the expanded rows).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from gatekit.core.errors import NotComputable
from gatekit.metrics.classification import predicted_labels, threshold_param
from gatekit.metrics.registry import EvalData, MetricSpec, MetricValue, row_count, row_weights


def _base(data: EvalData) -> EvalData:
    if data.task == "multiclass":
        raise NotComputable("the shadow comparisons are defined for one score or label per row; the target is "
                            "multiclass: compare the models with baseline-relative rules (e.g. f1_macro, max_drop)")
    if data.baseline is None:
        raise NotComputable("needs the production model's output on the same rows: give inputs.baseline.score, "
                            "prediction or model (--baseline-score / --baseline-prediction / --baseline-model)")
    if data.y_true is not None and (len(data.y_true) == 0 or row_count(data) == 0):
        raise NotComputable("the evaluation data has no rows")
    return data.baseline


def _outputs(data: EvalData, what: str) -> np.ndarray:
    out = data.y_score if data.y_score is not None else data.y_pred
    if out is None:
        raise NotComputable(f"the {what} has no score or prediction")
    out = np.asarray(out, dtype=float)
    bad = row_count(data, ~np.isfinite(out))
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
    if len(c) == 0 or row_count(data) == 0:
        raise NotComputable("the evaluation data has no rows")
    return c, b


def weighted_quantile(values: np.ndarray, counts: np.ndarray | None, q: float) -> float:
    """Quantile ``q`` of ``values`` repeated ``counts`` times, by numpy's default (linear) method.

    Parameters
    ----------
    values : ndarray of shape (n,)
        Finite values.
    counts : ndarray of int, shape (n,), or None
        How many times each value occurs (None: once each, then this is ``numpy.quantile``).
    q : float
        In [0, 1].

    Returns
    -------
    float
        ``numpy.quantile(numpy.repeat(values, counts), q)`` without building the repeated array: the virtual
        index ``h = N q + (1 - q) - 1`` of the N expanded values (Hyndman & Fan 1996, type 7, numpy's
        arithmetic), the two order statistics around it read from the cumulative counts, and numpy's
        ``_lerp`` between them.
    """
    if counts is None:
        return float(np.quantile(values, q))
    keep = counts > 0
    order = np.argsort(values[keep], kind="stable")
    v, cum = values[keep][order], np.cumsum(counts[keep][order])
    n = int(cum[-1])
    h = n * q + (1 + q * (1 - 1 - 1)) - 1  # numpy's _compute_virtual_index with alpha = beta = 1
    lo = float(np.floor(h))
    gamma = h - lo
    i_lo, i_hi = int(min(max(lo, 0), n - 1)), int(min(max(lo + 1, 0), n - 1))
    a, b = v[np.searchsorted(cum, i_lo, side="right")], v[np.searchsorted(cum, i_hi, side="right")]
    diff = b - a
    return float(b - diff * (1 - gamma) if gamma >= 0.5 else a + diff * gamma)


def weighted_ks(c: np.ndarray, b: np.ndarray, counts: np.ndarray) -> tuple[float, float, str]:
    """Two-sample KS statistic and p-value of ``repeat(c, counts)`` against ``repeat(b, counts)``.

    Parameters
    ----------
    c, b : ndarray of shape (n,)
        The two samples' values, paired on compact rows.
    counts : ndarray of int, shape (n,)
        How many rows each compact row stands for (the same for both samples).

    Returns
    -------
    statistic : float
        ``max |F_c(x) - F_b(x)|`` over every value x, the empirical CDFs weighted by the counts (the
        statistic of ``scipy.stats.ks_2samp`` on the expanded rows).
    p_value : float
        As ``ks_2samp(method="auto")``: exact on the expanded rows when N <= 10,000 (scipy itself), else
        Smirnov's asymptotic ``kstwo.sf(D, round(N / 2))`` (scipy's two-sided formula for two samples of N).
    method : str
        Which p-value was used.
    """
    from scipy.stats import ks_2samp, kstwo

    keep = counts > 0
    c, b, w = c[keep], b[keep], counts[keep]
    n = int(w.sum())
    grid = np.unique(np.concatenate([c, b]))

    def ecdf(x: np.ndarray) -> np.ndarray:
        order = np.argsort(x, kind="stable")
        cum = np.concatenate([[0], np.cumsum(w[order])])
        return cum[np.searchsorted(x[order], grid, side="right")] / n

    diffs = ecdf(c) - ecdf(b)
    stat = float(max(np.clip(-diffs.min(), 0, 1), diffs.max()))
    if n <= 10_000:
        return stat, float(ks_2samp(np.repeat(c, w), np.repeat(b, w)).pvalue), "scipy ks_2samp on the rows (auto)"
    p = float(np.clip(kstwo.sf(stat, np.round(float(n) * float(n) / (2.0 * n))), 0, 1))
    return stat, p, "asymptotic, kstwo.sf(D, round(N / 2)) as scipy ks_2samp for N > 10,000"


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
    if len(c) == 0 or row_count(data) == 0:
        raise NotComputable("the evaluation data has no rows")
    agree = c == b
    flips_up = row_count(data, (c == 1) & (b == 0))
    flips_down = row_count(data, (c == 0) & (b == 1))
    n = row_count(data)
    value = float(agree.mean()) if data.weights is None else row_count(data, agree) / n
    return MetricValue(value, {**rule, "n": n, "n_disagree": row_count(data, ~agree),
                               "candidate_positive_production_negative": flips_up,
                               "candidate_negative_production_positive": flips_down})


def mean_score_difference(data: EvalData) -> MetricValue:
    """Mean of ``candidate score - production score`` over the rows (signed: a systematic shift)."""
    c, b = _scores_pair(data, "mean_score_difference")
    d = c - b
    w = row_weights(data)
    if w is None:
        return MetricValue(float(d.mean()), {"n": len(d), "std": float(d.std(ddof=1)) if len(d) > 1 else None})
    n = int(w.sum())
    mean = float(np.dot(w, d) / n)
    # frequency weights: the sample standard deviation (ddof = 1) of the expanded rows
    std = float(np.sqrt(np.dot(w, (d - mean) ** 2) / (n - 1))) if n > 1 else None
    return MetricValue(mean, {"n": n, "std": std})


def abs_score_difference_p95(data: EvalData) -> MetricValue:
    """95th percentile of ``|candidate score - production score|`` over the rows.

    Percentile: numpy's default linear interpolation (Hyndman & Fan 1996, type 7), recorded.
    """
    c, b = _scores_pair(data, "abs_score_difference_p95")
    d = np.abs(c - b)
    w = row_weights(data)
    if w is None:
        return MetricValue(float(np.quantile(d, 0.95)), {"n": len(d), "percentile_method": "linear (Hyndman-Fan 7)",
                                                         "max": float(d.max()), "median": float(np.median(d))})
    return MetricValue(weighted_quantile(d, w, 0.95),
                       {"n": int(w.sum()), "percentile_method": "linear (Hyndman-Fan 7), on the rows the counts "
                        "stand for", "max": float(d[w > 0].max()), "median": weighted_quantile(d, w, 0.5)})


def score_distribution_ks(data: EvalData) -> MetricValue:
    """Two-sample Kolmogorov-Smirnov statistic between the two models' score distributions.

    Source: ``scipy.stats.ks_2samp`` (statistic; the largest gap between the two empirical CDFs, in
    [0, 1]). The p-value is recorded, not gated on.
    """
    from scipy.stats import ks_2samp

    c, b = _scores_pair(data, "score_distribution_ks")
    w = row_weights(data)
    if w is not None:
        stat, p, how = weighted_ks(c, b, w)
        return MetricValue(stat, {"p_value": p, "n": int(w.sum()), "p_value_method": how,
                                  "source": "scipy.stats.ks_2samp's statistic, from empirical CDFs weighted by "
                                            "the row counts"})
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
