"""Calibration of a binary classifier's probabilities: expected and maximum calibration error.

The scores are the predicted probabilities of the positive class. They are put into ``B`` bins and, in each
non-empty bin ``b`` holding ``n_b`` of the ``n`` rows,

- ``conf_b`` is the mean score (the confidence the model states),
- ``acc_b`` is the fraction of rows whose label is positive (what happened).

Then (Naeini, Cooper & Hauskrecht, "Obtaining well calibrated probabilities using Bayesian binning", AAAI
2015; Guo, Pleiss, Sun & Weinberger, "On calibration of modern neural networks", ICML 2017, eqs. 3 and 5)::

    ECE = sum_b (n_b / n) * |acc_b - conf_b|
    MCE = max_b |acc_b - conf_b|          (over the non-empty bins)

On a binary target this is the form on the positive-class probability (the reliability diagram of
scikit-learn's ``calibration_curve``). On a multiclass target it is Guo et al.'s top-label form: the confidence
is the largest class probability and ``acc_b`` the share of the bin's rows whose argmax class is the true class.
That needs each row's probability matrix, which the DuckDB and Spark engines do not keep for a multiclass target
(they aggregate it to confusion counts): there the metrics are not computable and say to use ``--engine pandas``.

Binning, recorded in every value's ``details``:

- ``strategy="uniform"`` (default): equal-width bins, edges ``numpy.linspace(0, 1, B + 1)``; ``B`` defaults to 15
  as in Guo et al.
- ``strategy="quantile"``: equal-mass bins, interior edges the score quantiles at ``k / B`` (``k = 1..B-1``) by
  the inverted CDF (the smallest score whose empirical CDF reaches ``k / B``, Hyndman & Fan 1996 definition 1);
  repeated edges (tied scores) are merged, so fewer than ``B`` bins may be used and the masses are equal only up
  to ties.
- Bins are right-closed: a score on an interior edge belongs to the bin below it; the first bin is
  ``[0, e_1]``. A score is put in bin ``searchsorted(interior_edges, score, side="left")``, which is the rule
  of scikit-learn's ``calibration_curve`` (>= 1.4).
- Empty bins are skipped (they have no confidence nor accuracy and weigh 0 in the ECE).

Compact rows (``EvalData.weights``) enter as counts: ``n_b`` is the sum of counts in the bin and ``conf_b``,
``acc_b`` are count-weighted means, so each value equals the one on the rows the counts stand for (the binned
counts, score sums and positive counts are sufficient statistics). Not computable without scores (labels only),
with a score outside [0, 1], a missing score or a multiclass target without its probability matrix.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from gatekit.metrics.classification import binary_scores, binary_target, require_probabilities
from gatekit.metrics.multiclass import class_target, predicted_classes, proba_matrix
from gatekit.metrics.registry import EvalData, MetricSpec, MetricValue, row_count, row_weights

DEFAULT_BINS = 15
"""Bins of the equal-width binning by default (Guo et al. 2017 use 15)."""
STRATEGIES = ("uniform", "quantile")
CONVENTION = ("right-closed bins (lo, hi], the first [0, hi]; a score on an edge goes to the bin below "
              "(numpy.searchsorted side='left', as sklearn calibration_curve); empty bins skipped")


def bin_edges(scores: np.ndarray, weights: np.ndarray | None, n_bins: int, strategy: str) -> np.ndarray:
    """Return the bin edges ``e_0 = 0 < ... < e_B' = 1`` of a binning.

    Parameters
    ----------
    scores : ndarray of shape (n_samples,)
        Probabilities in [0, 1].
    weights : ndarray of int, shape (n_samples,), or None
        How many rows each score stands for (compact rows); None: one each.
    n_bins : int
        Bins asked for, ``B >= 1``.
    strategy : {"uniform", "quantile"}
        Equal width (``numpy.linspace(0, 1, B + 1)``) or equal mass (interior edge ``k`` the smallest score
        with at least ``ceil(n k / B)`` rows at or below it: the inverted-CDF quantile, Hyndman & Fan 1996
        definition 1, in integer arithmetic; the same on the rows the counts stand for; repeated edges and
        edges at 0 or 1 merged).

    Returns
    -------
    ndarray of shape (B' + 1,)
        Increasing edges; ``B' == B`` for ``uniform``, ``B' <= B`` for ``quantile``.

    Raises
    ------
    ValueError
        An unknown strategy.
    """
    if strategy == "uniform":
        return np.linspace(0.0, 1.0, n_bins + 1)
    if strategy != "quantile":
        raise ValueError(f"unknown binning strategy {strategy!r}; use one of {', '.join(STRATEGIES)}")
    order = np.argsort(scores, kind="mergesort")
    s = scores[order]
    cum = np.cumsum(np.ones(len(s), dtype=np.int64) if weights is None else weights[order])
    n = int(cum[-1])
    # the smallest score whose count of rows at or below it reaches n k / B, in integers (no rounding of k / B)
    need = np.array([-(-n * k // n_bins) for k in range(1, n_bins)], dtype=np.int64)
    inner = s[np.searchsorted(cum, need, side="left")] if len(need) else np.empty(0)
    inner = np.unique(inner[(inner > 0.0) & (inner < 1.0)])
    return np.r_[0.0, inner, 1.0]


def reliability(data: EvalData, bins: int = DEFAULT_BINS, strategy: str = "uniform",
                metric: str = "calibration") -> dict[str, Any]:
    """Bin the positive-class probabilities and return the reliability table, ECE and MCE.

    Parameters
    ----------
    data : EvalData
        Binary classification rows with ``y_score`` (probabilities in [0, 1]); ``weights`` counted.
    bins : int
        Number of bins ``B`` asked for (1..1000).
    strategy : {"uniform", "quantile"}
        The binning (:func:`bin_edges`).
    metric : str
        Name used in messages.

    Returns
    -------
    dict
        ``ece``, ``mce`` (floats), ``n`` (rows), ``strategy``, ``n_bins`` (asked), ``n_bins_used`` (the bins of
        the binning), ``n_bins_nonempty``, ``edges`` (list of B'+1 floats), ``convention`` (text), ``bins``
        (per non-empty bin: ``lo``, ``hi``, ``count``, ``confidence`` = mean score, ``accuracy`` = fraction
        positive, ``gap`` = accuracy - confidence) and ``definition``.

    Raises
    ------
    NotComputable
        No target, no scores (labels only), a missing score, scores outside [0, 1], a multiclass target, no rows.
    """
    if data.task == "multiclass":
        y, s, form = _top_label(data, metric)
    else:
        y = binary_target(data)
        s = np.asarray(binary_scores(data, metric), dtype=float)
        require_probabilities(s, metric)
        form = "positive-class probability; acc_b = share of positive labels"
    w = row_weights(data)
    n = row_count(data)
    edges = bin_edges(s, w, bins, strategy)
    idx = np.searchsorted(edges[1:-1], s, side="left")
    k = len(edges) - 1
    wf = np.ones(len(s)) if w is None else w.astype(float)
    counts = np.bincount(idx, weights=wf, minlength=k)
    score_sums = np.bincount(idx, weights=wf * s, minlength=k)
    pos = np.bincount(idx, weights=wf * (y == 1), minlength=k)
    table: list[dict[str, Any]] = []
    ece, mce = 0.0, 0.0
    for b in np.flatnonzero(counts > 0):
        conf, acc = score_sums[b] / counts[b], pos[b] / counts[b]
        gap = abs(acc - conf)
        ece += counts[b] / n * gap
        mce = max(mce, gap)
        table.append({"lo": float(edges[b]), "hi": float(edges[b + 1]), "count": round(float(counts[b])),
                      "confidence": float(conf), "accuracy": float(acc), "gap": float(acc - conf)})
    return {"ece": float(ece), "mce": float(mce), "n": n, "strategy": strategy, "n_bins": bins,
            "n_bins_used": k, "n_bins_nonempty": len(table), "edges": [float(e) for e in edges],
            "convention": CONVENTION, "form": form, "bins": table}


def _top_label(data: EvalData, metric: str) -> tuple[np.ndarray, np.ndarray, str]:
    """Top-label correctness (1 where the argmax class is the true class) and confidence (the largest probability).

    Guo et al. (2017), section 2: ``conf_b`` is the mean of the largest class probability in bin ``b`` and
    ``acc_b`` the share of its rows whose predicted class (argmax, ties to the first class) is the true one.

    Raises
    ------
    NotComputable
        No probability matrix (labels only, or an engine that aggregated the rows to confusion counts: the
        message says to use ``--engine pandas``), a missing probability, no rows.
    """
    y = class_target(data)
    p = proba_matrix(data, metric)
    pred, _ = predicted_classes(data)
    return (pred == y).astype(np.int64), p.max(axis=1), ("top-label (multiclass): confidence = largest class "
                                                         "probability; acc_b = share of rows whose argmax class "
                                                         "is the true class")


def _details(r: dict[str, Any], definition: str) -> dict[str, Any]:
    return {**r, "definition": definition}


def expected_calibration_error(data: EvalData, bins: int = DEFAULT_BINS, strategy: str = "uniform") -> MetricValue:
    """Compute the expected calibration error ``sum_b (n_b / n) |acc_b - conf_b|`` of the positive-class probability.

    Source: Naeini, Cooper & Hauskrecht (AAAI 2015); Guo et al. (ICML 2017), eq. 3. Binning as the module says.

    Parameters
    ----------
    data : EvalData
        Binary classification rows with scores.
    bins : int
        Number of bins (default 15).
    strategy : {"uniform", "quantile"}
        Equal-width (default) or equal-mass bins.

    Returns
    -------
    MetricValue
        Fraction in [0, 1]; ``details`` hold the binning and the per-bin counts, confidences and accuracies.

    Raises
    ------
    NotComputable
        As :func:`reliability`.
    """
    r = reliability(data, bins, strategy, "expected_calibration_error")
    return MetricValue(r["ece"], _details(r, "ECE = sum_b (n_b/n) |acc_b - conf_b| (Naeini et al. 2015; "
                                          "Guo et al. 2017), positive-class probability"))


def max_calibration_error(data: EvalData, bins: int = DEFAULT_BINS, strategy: str = "uniform") -> MetricValue:
    """Compute the maximum calibration error ``max_b |acc_b - conf_b|`` over the non-empty bins.

    Source: Naeini, Cooper & Hauskrecht (AAAI 2015); Guo et al. (ICML 2017), eq. 5. Parameters, returns and
    errors as :func:`expected_calibration_error`.
    """
    r = reliability(data, bins, strategy, "max_calibration_error")
    return MetricValue(r["mce"], _details(r, "MCE = max_b |acc_b - conf_b| over non-empty bins (Naeini et al. "
                                          "2015; Guo et al. 2017), positive-class probability"))


def bins_param(v: Any) -> int:
    """Validate a rule's ``bins`` parameter: a whole number from 1 to 1000.

    Raises
    ------
    ValueError
        Not a whole number, or outside 1..1000.
    """
    if isinstance(v, bool) or not isinstance(v, (int, float)) or float(v) != int(v):
        raise ValueError(f"bins must be a whole number from 1 to 1000, not {v!r}")
    if not 1 <= int(v) <= 1000:
        raise ValueError(f"bins must be from 1 to 1000, not {v}")
    return int(v)


def strategy_param(v: Any) -> str:
    """Validate a rule's ``strategy`` parameter: ``uniform`` or ``quantile``.

    Raises
    ------
    ValueError
        Anything else.
    """
    if v not in STRATEGIES:
        raise ValueError(f"strategy must be one of {', '.join(STRATEGIES)}, not {v!r}")
    return str(v)


_PARAMS = {"bins": bins_param, "strategy": strategy_param}

SPECS = (
    MetricSpec("expected_calibration_error", "performance", "fraction",
               "Expected calibration error sum_b (n_b/n)|acc_b - conf_b| of the positive-class probability "
               "(multiclass: top-label) (Naeini et al. 2015; Guo et al. 2017); bins (default 15) equal-width on "
               "[0, 1], right-closed, or strategy: quantile (equal mass); empty bins skipped.",
               expected_calibration_error, params=_PARAMS, aliases=("ece",), higher_is_better=False,
               bounds=(0, 1)),
    MetricSpec("max_calibration_error", "performance", "fraction",
               "Maximum calibration error max_b |acc_b - conf_b| over the non-empty bins (Naeini et al. 2015; "
               "Guo et al. 2017); binning as expected_calibration_error.",
               max_calibration_error, params=_PARAMS, aliases=("mce",), higher_is_better=False, bounds=(0, 1)),
)
