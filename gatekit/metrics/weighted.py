"""Metrics under bootstrap row weights: many resamples at once, equal to the metric on the resampled rows.

A bootstrap resample is represented by how many times it draws each row (its multiplicities, a matrix
``W`` of shape (resamples, n_samples)). For the common metrics the value on a resample is a ratio of
weighted counts or sums, so a whole batch of resamples is one matrix product instead of thousands of
library calls. Every other metric falls back to calling its own function on the resampled rows
(:meth:`EvalData.take`), so any metric gets an interval; the kernels only make it fast. A custom metric whose
function takes ``sample_weight`` is called with each resample's multiplicities as its weights, its inputs prepared
once (:func:`gatekit.metrics.custom.resample_values`).

Each kernel equals the metric function on the rows the weights stand for (tested against the metric
functions, which call scikit-learn and fairlearn). A resample on which the metric is undefined (a
precision with no predicted positive, a group with no rows) gives NaN; the caller counts those.

Compact rows (``EvalData.weights``: one row per distinct combination with the count of rows it stands for):
``W`` then holds each compact row's multiplicity in the resample, its counts included (the stratified bootstrap
of counted rows draws each counted row as the rows it stands for,
:func:`gatekit.stats.intervals.counted_weight_batches`), so the kernels read ``W`` alone and ``data.weights``
does not multiply in a second time; the fallback computes the metric function on the compact rows with ``W[r]``
as their counts (:func:`with_counts`). Intervals gather the rows into counted rows in a canonical order first
(:func:`counted_rows`), pandas' plain rows as an engine's compact rows, so every engine computes the same
numbers from the same resamples.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import Any

import numpy as np

from gatekit.core.errors import NotComputable
from gatekit.metrics.registry import EvalData, ResolvedMetric

Kernel = Callable[..., np.ndarray]


def take(data: EvalData, idx: np.ndarray) -> EvalData:
    """Return the evaluation rows ``idx`` (with repeats) as a new :class:`EvalData` with an empty cache.

    Parameters
    ----------
    data : EvalData
        The evaluation rows.
    idx : ndarray of int, shape (k,)
        Row positions, repeats allowed.

    Returns
    -------
    EvalData
        Arrays, sensitive and slice columns, row counts (``weights``, when the rows are compact: each picked row still
        stands for its count, and its ``loss_sums``) and the baseline's arrays indexed by ``idx``; an engine's
        ``probability_rows`` (the whole data's, not these rows') are dropped.
    """
    def pick(a: np.ndarray | None) -> np.ndarray | None:
        return None if a is None else np.asarray(a)[idx]

    sens = None if data.sensitive is None else data.sensitive.iloc[idx].reset_index(drop=True)
    segs = None if data.segments is None else data.segments.iloc[idx].reset_index(drop=True)
    base = None if data.baseline is None else take(data.baseline, idx)
    return replace(data, y_true=pick(data.y_true), y_score=pick(data.y_score), y_pred=pick(data.y_pred),
                   sensitive=sens, segments=segs, baseline=base, weights=pick(data.weights), cache={},
                   loss_sums=pick(data.loss_sums), probability_rows=None,
                   quantiles=None if data.quantiles is None else {q: np.asarray(a)[idx]
                                                                  for q, a in data.quantiles.items()})


def with_counts(data: EvalData, counts: np.ndarray) -> EvalData:
    """Return the rows of ``data`` each standing for ``counts`` rows (rows of count 0 left out).

    Parameters
    ----------
    data : EvalData
        Evaluation rows, plain or compact (their own ``weights`` are replaced, not multiplied).
    counts : ndarray of int, shape (n_samples,)
        How many rows each row stands for, e.g. one row of a bootstrap multiplicity matrix.

    Returns
    -------
    EvalData
        The rows with ``counts > 0``, ``weights`` set to their counts (on the baseline too): every metric
        function on it equals the metric on ``numpy.repeat(rows, counts)``.
    """
    c = np.asarray(counts)
    keep = np.flatnonzero(c > 0)
    sub = take(data, keep)
    w = np.rint(c[keep]).astype(np.int64)
    sub.weights = w
    sub.loss_sums = None  # a compact row's loss sum is for its own count, not for w
    b = sub.baseline
    while b is not None:
        b.weights = w
        b.loss_sums = None
        b = b.baseline
    return sub


def _value_order(v: Any) -> tuple[int, float, str]:
    """Sort key of one value of a text or mixed column: numbers by value, then text; the same on every engine."""
    if isinstance(v, (bool, np.bool_, int, float, np.integer, np.floating)):
        return 0, float(v), ""
    return 1, 0.0, str(v)


def _codes(values: Any) -> np.ndarray:
    """Return codes of one column, shape (n_rows,): equal values share a code, and codes increase with the value.

    Numbers (of any dtype, nullable ones too) by value, a missing value last; text and mixed columns by
    :func:`_value_order`, a missing value last. The codes depend on the values only, not on the rows' order or
    on the dtype an engine gave the column, so the same rows get the same codes on every engine.
    """
    import pandas as pd

    col = values if isinstance(values, pd.Series) else pd.Series(np.asarray(values))
    if pd.api.types.is_numeric_dtype(col.dtype) and not isinstance(col.dtype, pd.CategoricalDtype):
        a = col.to_numpy(dtype=float, na_value=np.nan)
        return np.unique(a, return_inverse=True)[1].ravel()  # NaN last, all NaNs one value
    codes, uniques = pd.factorize(col.astype(object))
    order = sorted(range(len(uniques)), key=lambda i: _value_order(uniques[i]))
    rank = np.empty(len(uniques) + 1, dtype=np.int64)
    rank[np.asarray(order, dtype=np.int64)] = np.arange(len(uniques))
    rank[-1] = len(uniques)  # missing (code -1) last
    return rank[codes]


def _key_columns(data: EvalData) -> list[np.ndarray]:
    """Return the codes of every row-level value ``data`` and its baselines carry (what a row is, to any metric).

    In sort order: the target, the candidate's outputs (scores, predictions, quantile forecasts), the baselines'
    in turn, then the sensitive and slice values.
    """
    sides: list[EvalData] = []
    side: EvalData | None = data
    while side is not None:
        sides.append(side)
        side = side.baseline
    arrays: list[Any] = [data.y_true]
    for d in sides:
        quantiles = d.quantiles or {}
        arrays += [d.y_score, d.y_pred, *(quantiles[q] for q in sorted(quantiles))]
        if d is not data and d.y_true is not None and d.y_true is not data.y_true:
            arrays.append(d.y_true)
    keys: list[np.ndarray] = []
    for a in arrays:
        if a is not None:
            arr = np.asarray(a)
            keys.extend(_codes(col) for col in (arr.T if arr.ndim == 2 else [arr]))
    for d in sides:
        for frame in (d.sensitive, d.segments):
            if frame is not None:
                keys.extend(_codes(frame.iloc[:, j].reset_index(drop=True)) for j in range(frame.shape[1]))
    return keys


def counted_rows(data: EvalData) -> EvalData:
    """Return the rows of ``data`` gathered into counted rows in a canonical order: the same on every engine.

    Rows equal in every row-level value (target, scores, predictions, quantile forecasts, sensitive and slice
    values, and the same of the baselines chained on ``data.baseline``) become one row whose count is the sum
    of theirs (``weights``, or 1 for a plain row), and the counted rows are sorted by those values: the target,
    the candidate's scores, predictions and quantile forecasts, the baselines' in turn, then the sensitive and
    slice values (numbers by value, text after numbers, missing values last). pandas' plain rows and an engine's
    compact rows of the same evaluation rows therefore give the same counted rows in the same order, so a seeded
    bootstrap over them (:func:`gatekit.stats.intervals.counted_weight_batches`) draws the same resamples and
    computes the same numbers on every engine.

    Parameters
    ----------
    data : EvalData
        Plain or compact rows; its ``baseline`` (paired rows) is gathered with it.

    Returns
    -------
    EvalData
        One row per distinct combination, ``weights`` the counts (on the baselines too), ``loss_sums``
        summed; ``probability_rows`` dropped (:func:`take`). Cached in ``data.cache``. Every metric on it
        equals the metric on ``data`` (the same rows, counted; gatekit's metrics weight by the counts).

    Notes
    -----
    Cost: one sort per value column and one lexicographic sort of the rows, ``O(n log n)``; on continuous
    scores there is about one counted row per row, and the bootstrap then costs what it does on plain rows.
    """
    key = ("counted_rows",)
    cached = data.cache.get(key)
    if cached is not None:
        return cached
    from gatekit.metrics.registry import row_weights

    keys = _key_columns(data)
    if not keys or len(keys[0]) == 0:
        raise NotComputable("no evaluation rows to resample")
    n = len(keys[0])
    w = row_weights(data)
    order = np.lexsort(keys[::-1])  # the first key varies slowest
    codes = np.stack([k[order] for k in keys], axis=1)
    starts = np.flatnonzero(np.concatenate([[True], (codes[1:] != codes[:-1]).any(axis=1)]))
    counts = np.add.reduceat(np.ones(n, dtype=np.int64) if w is None else w[order], starts)
    out = take(data, order[starts])
    side: EvalData | None = out
    source: EvalData | None = data
    while side is not None and source is not None:
        side.weights = counts
        if source.loss_sums is not None:
            side.loss_sums = np.add.reduceat(np.asarray(source.loss_sums, dtype=float)[order], starts)
        side, source = side.baseline, source.baseline
    data.cache[key] = out
    return out


def _ratio(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(den > 0, num / np.where(den > 0, den, 1), np.nan)


def _confusion(data: EvalData, W: np.ndarray, threshold: float | None) -> tuple[np.ndarray, ...]:
    from gatekit.metrics.classification import binary_target, predicted_labels

    y = binary_target(data).astype(bool)
    yp = predicted_labels(data, threshold)[0].astype(bool)
    Wf = np.asarray(W, dtype=float)
    return Wf @ (y & yp), Wf @ (~y & yp), Wf @ (y & ~yp), Wf @ (~y & ~yp)


def _precision(data: EvalData, W: np.ndarray, threshold: float) -> np.ndarray:
    tp, fp, _, _ = _confusion(data, W, threshold)
    return _ratio(tp, tp + fp)


def _recall(data: EvalData, W: np.ndarray, threshold: float) -> np.ndarray:
    tp, _, fn, _ = _confusion(data, W, threshold)
    return _ratio(tp, tp + fn)


def _f1(data: EvalData, W: np.ndarray, threshold: float) -> np.ndarray:
    tp, fp, fn, _ = _confusion(data, W, threshold)
    # undefined, as f1_at says, when precision (no predicted positive) or recall (no positive) is
    return np.where((tp + fp > 0) & (tp + fn > 0), _ratio(2 * tp, 2 * tp + fp + fn), np.nan)


def _accuracy(data: EvalData, W: np.ndarray) -> np.ndarray:
    if data.task == "multiclass":
        from gatekit.metrics.multiclass import k_accuracy

        return k_accuracy(data, W)
    tp, fp, fn, tn = _confusion(data, W, None)
    return _ratio(tp + tn, tp + fp + fn + tn)


def _roc_auc(data: EvalData, W: np.ndarray) -> np.ndarray:
    from gatekit.metrics.classification import binary_scores, binary_target
    from gatekit.stats.intervals import weighted_aucs

    y = binary_target(data).astype(int)
    with np.errstate(invalid="ignore", divide="ignore"):
        return weighted_aucs(y, binary_scores(data, "roc_auc"), np.asarray(W, dtype=float))


def _row_mean(W: np.ndarray, per_row: np.ndarray) -> np.ndarray:
    Wf = np.asarray(W, dtype=float)
    return _ratio(Wf @ per_row, Wf.sum(axis=1))


def _log_loss(data: EvalData, W: np.ndarray) -> np.ndarray:
    from gatekit.metrics.classification import binary_scores, binary_target, require_probabilities

    if data.task == "multiclass":
        from gatekit.metrics.multiclass import k_log_loss

        return k_log_loss(data, W)
    y = binary_target(data)
    s = binary_scores(data, "log_loss")
    require_probabilities(s, "log_loss")
    eps = np.finfo(float).eps
    p = np.clip(s, eps, 1 - eps)  # as log_loss (and scikit-learn) clip
    return _row_mean(W, -(y * np.log(p) + (1 - y) * np.log(1 - p)))


def _brier(data: EvalData, W: np.ndarray) -> np.ndarray:
    from gatekit.metrics.classification import binary_scores, binary_target, require_probabilities

    y = binary_target(data)
    s = binary_scores(data, "brier_score")
    require_probabilities(s, "brier_score")
    return _row_mean(W, (s - y) ** 2)


def _errors(data: EvalData) -> np.ndarray:
    from gatekit.metrics.regression import regression_pair

    y, f = regression_pair(data)
    return np.asarray(f, dtype=float) - np.asarray(y, dtype=float)


def _mae(data: EvalData, W: np.ndarray) -> np.ndarray:
    Wf = np.asarray(W, dtype=float)
    return _ratio(Wf @ np.abs(_errors(data)), Wf.sum(axis=1))


def _rmse(data: EvalData, W: np.ndarray) -> np.ndarray:
    Wf = np.asarray(W, dtype=float)
    return np.sqrt(_ratio(Wf @ _errors(data) ** 2, Wf.sum(axis=1)))


def _groups(data: EvalData, threshold: float | None, sensitive: list[str] | None,
            min_group_size: int | None = None, small_groups: str | None = None) -> tuple[np.ndarray, ...]:
    """Group codes, labels, predictions and the codes of the counted groups, as the fairness metrics form them.

    Which groups are counted (``min_group_size``) is decided once on the full rows, as the metric does, and
    kept for every resample.
    """
    from gatekit.metrics.classification import binary_target, predicted_labels
    from gatekit.metrics.fairness import DEFAULT_MIN_GROUP_SIZE, sensitive_groups
    from gatekit.metrics.registry import row_weights

    y = binary_target(data).astype(bool)
    yp = predicted_labels(data, threshold)[0].astype(bool)
    sf, _ = sensitive_groups(data, sensitive)
    codes = sf.groupby(list(sf.columns), sort=True, dropna=False).ngroup().to_numpy()
    w = row_weights(data)
    sizes = np.bincount(codes, weights=None if w is None else w.astype(float))
    size = DEFAULT_MIN_GROUP_SIZE if min_group_size is None else int(min_group_size)
    return codes, y, yp, np.flatnonzero(sizes >= size)


def _group_rates(W: np.ndarray, codes: np.ndarray, num_mask: np.ndarray, den_mask: np.ndarray,
                 counted: np.ndarray) -> np.ndarray:
    """Rate per (resample, counted group): weighted count of ``num_mask`` over weighted count of ``den_mask``."""
    k = int(codes.max()) + 1
    onehot = np.zeros((len(codes), k))
    onehot[np.arange(len(codes)), codes] = 1.0
    onehot = onehot[:, counted]
    Wf = np.asarray(W, dtype=float)
    return _ratio(Wf @ (onehot * (num_mask & den_mask)[:, None]), Wf @ (onehot * den_mask[:, None]))


def _spread(rates: np.ndarray) -> np.ndarray:
    """Max minus min over groups; NaN when any group is empty in the resample (its rate is undefined)."""
    if rates.shape[1] < 2:
        return np.full(rates.shape[0], np.nan)
    out = np.nanmax(rates, axis=1) - np.nanmin(rates, axis=1) if rates.size else np.array([])
    return np.where(np.isnan(rates).any(axis=1), np.nan, out)


def _dp(data: EvalData, W: np.ndarray, threshold: float | None = None, sensitive: list[str] | None = None,
        min_group_size: int | None = None, small_groups: str | None = None) -> np.ndarray:
    codes, _, yp, counted = _groups(data, threshold, sensitive, min_group_size)
    return _spread(_group_rates(W, codes, yp, np.ones_like(yp), counted))


def _dir(data: EvalData, W: np.ndarray, threshold: float | None = None, sensitive: list[str] | None = None,
         min_group_size: int | None = None, small_groups: str | None = None) -> np.ndarray:
    """Disparate impact ratio per resample: min over max counted-group selection rate (NaN when max is 0)."""
    codes, _, yp, counted = _groups(data, threshold, sensitive, min_group_size)
    rates = _group_rates(W, codes, yp, np.ones_like(yp), counted)
    if rates.shape[1] < 2:
        return np.full(rates.shape[0], np.nan)
    bad = np.isnan(rates).any(axis=1)
    hi = np.where(bad, np.nan, np.max(np.where(np.isnan(rates), 0.0, rates), axis=1))
    lo = np.where(bad, np.nan, np.min(np.where(np.isnan(rates), 1.0, rates), axis=1))
    return _ratio(lo, np.where(np.isnan(hi), 0.0, hi))


def _eo(data: EvalData, W: np.ndarray, threshold: float | None = None, sensitive: list[str] | None = None,
        min_group_size: int | None = None, small_groups: str | None = None) -> np.ndarray:
    codes, y, yp, counted = _groups(data, threshold, sensitive, min_group_size)
    return _spread(_group_rates(W, codes, yp, y, counted))


def _eodds(data: EvalData, W: np.ndarray, threshold: float | None = None, sensitive: list[str] | None = None,
           min_group_size: int | None = None, small_groups: str | None = None) -> np.ndarray:
    codes, y, yp, counted = _groups(data, threshold, sensitive, min_group_size)
    return np.maximum(_spread(_group_rates(W, codes, yp, y, counted)),
                      _spread(_group_rates(W, codes, yp, ~y, counted)))


KERNELS: dict[str, Kernel] = {
    "roc_auc": _roc_auc,
    "accuracy": _accuracy,
    "log_loss": _log_loss,
    "brier_score": _brier,
    "precision_at_T": _precision,
    "recall_at_T": _recall,
    "f1_at_T": _f1,
    "mae": _mae,
    "rmse": _rmse,
    "demographic_parity_difference": _dp,
    "disparate_impact_ratio": _dir,
    "equal_opportunity_difference": _eo,
    "equalized_odds_difference": _eodds,
}
"""Spec name -> ``kernel(data, W, **params) -> ndarray of shape (resamples,)``."""


def weighted_values(resolved: ResolvedMetric, data: EvalData, W: np.ndarray, params: dict[str, Any]) -> np.ndarray:
    """Compute the metric on each resample represented by a row of ``W``.

    Parameters
    ----------
    resolved : ResolvedMetric
        The metric (name parameters such as a threshold included in ``params``).
    data : EvalData
        The full evaluation rows (plain or compact).
    W : ndarray of shape (resamples, n_samples)
        Row multiplicities, one resample per row. For compact rows, the multiplicity of each compact row in
        the resample, its count included (``data.weights`` is not applied again).
    params : dict
        The rule's metric parameters (name parameters included).

    Returns
    -------
    ndarray of shape (resamples,)
        NaN where the metric is undefined on that resample.

    Raises
    ------
    NotComputable
        The metric cannot be computed on these data at all (e.g. no score column).
    """
    from gatekit.metrics.multiclass import KERNELS as MULTICLASS_KERNELS
    from gatekit.metrics.shadow import KERNELS as SHADOW_KERNELS

    kernel = (KERNELS.get(resolved.spec.name) or SHADOW_KERNELS.get(resolved.spec.name)
              or MULTICLASS_KERNELS.get(resolved.spec.name))
    if kernel is not None:
        return np.asarray(kernel(data, W, **params), dtype=float)
    fn = resolved.spec.fn
    if fn is None:
        raise NotComputable(f"{resolved.canonical} is not computed from rows, so it has no bootstrap interval")
    resample = getattr(fn, "resample", None)  # a custom metric taking sample_weight (gatekit.metrics.custom)
    if resample is not None:
        return np.asarray(resample(data, W, params), dtype=float)
    rows = np.arange(W.shape[1])
    out = np.full(W.shape[0], np.nan)
    for r in range(W.shape[0]):
        try:
            if data.weights is None:  # plain rows: the resampled rows themselves (today's numbers)
                out[r] = fn(take(data, np.repeat(rows, W[r].astype(np.int64))), **params).value
            else:  # compact rows: the multiplicities are the counts, no row is repeated
                out[r] = fn(with_counts(data, W[r]), **params).value
        except (NotComputable, ValueError, ZeroDivisionError):
            pass
    return out
