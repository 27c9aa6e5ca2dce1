"""Confidence intervals for metrics and candidate-minus-baseline differences.

- DeLong's test for two correlated ROC AUCs on the same rows (DeLong, DeLong & Clarke-Pearson,
  *Biometrics* 44, 1988), computed with midranks in O(n log n) (Sun & Xu, *IEEE Signal Processing
  Letters* 21(11), 2014).
- Paired, stratified bootstrap over evaluation rows (Efron & Tibshirani, *An Introduction to the
  Bootstrap*, 1993, ch. 13, percentile interval): every resample draws rows with replacement within each
  class, the same rows for candidate and baseline, so the interval of the difference keeps their
  correlation. Seeded, so a gate decision is reproducible.
- Counted rows (one row per distinct combination of target and outputs, with the count of rows it stands
  for; the DuckDB and Spark engines' rows, and pandas' rows once gathered the same way): DeLong's placements
  are functions of the score value, so they are computed once per counted row and weighted by its count
  (equal to DeLong on the expanded rows); the bootstrap draws the rows a counted row stands for, within each
  class: in each class of ``n`` rows, the multiplicities of its counted rows with counts ``c`` are
  ``Multinomial(n, c / n)``, the distribution of drawing ``n`` of the class's rows with replacement and
  counting the draws per counted row (:func:`counted_weight_batches`). Plain rows are counted rows of count 1,
  so every engine resamples the same way.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from gatekit.core.errors import NotComputable

DEFAULT_RESAMPLES = 2000
DEFAULT_SEED = 20261129


@dataclass
class Interval:
    """A point estimate with a two-sided confidence interval.

    Parameters
    ----------
    estimate : float
        The point estimate on the full sample.
    low, high : float
        Interval bounds.
    confidence : float
        Nominal coverage, e.g. 0.95.
    method : str
        ``delong`` or ``bootstrap_percentile``.
    details : dict
        Method facts: standard error, z, p-value (DeLong); resamples, seed, strata, failed resamples
        (bootstrap).
    replicates : ndarray of shape (B,), optional
        A bootstrap interval's finite replicate values (the statistic on each resample), kept for
        p-values against a margin (:func:`gatekit.stats.multiplicity.bootstrap_p_value`); not reported.
    """

    estimate: float
    low: float
    high: float
    confidence: float
    method: str
    details: dict[str, Any] = field(default_factory=dict)
    replicates: np.ndarray | None = field(default=None, repr=False, compare=False)


def _midrank(x: np.ndarray) -> np.ndarray:
    from scipy.stats import rankdata

    return rankdata(x, method="average")


def _delong_components(y: np.ndarray, scores: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """AUCs and DeLong's structural components for k score vectors on the same rows.

    Parameters
    ----------
    y : ndarray of shape (n_samples,)
        0/1 labels.
    scores : ndarray of shape (k, n_samples)
        One row per model.

    Returns
    -------
    auc : ndarray of shape (k,)
    v10 : ndarray of shape (k, m)
        Per positive: the share of negatives it outranks (ties count half).
    v01 : ndarray of shape (k, n)
        Per negative: the share of positives that outrank it.
    """
    pos, neg = scores[:, y == 1], scores[:, y == 0]
    m, n = pos.shape[1], neg.shape[1]
    k = scores.shape[0]
    v10, v01, auc = np.empty((k, m)), np.empty((k, n)), np.empty(k)
    for r in range(k):
        tz = _midrank(np.concatenate([pos[r], neg[r]]))
        tx, ty = _midrank(pos[r]), _midrank(neg[r])
        v10[r] = (tz[:m] - tx) / n
        v01[r] = 1.0 - (tz[m:] - ty) / m
        auc[r] = v10[r].mean()
    return auc, v10, v01


def _weighted_delong_components(y: np.ndarray, scores: np.ndarray,
                                 w: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """:func:`_delong_components` on compact rows: one placement per compact row, with its count.

    Parameters
    ----------
    y : ndarray of shape (n_rows,)
        0/1 labels.
    scores : ndarray of shape (k, n_rows)
        One row per model.
    w : ndarray of shape (n_rows,)
        How many rows each compact row stands for (rows of count 0 are left out).

    Returns
    -------
    auc : ndarray of shape (k,)
    v10 : ndarray of shape (k, m_rows)
        Per compact positive row: ``(W_neg(< s) + W_neg(= s) / 2) / W_neg``, the placement every row it stands
        for has (ties count half).
    w10 : ndarray of shape (m_rows,)
        The positive rows' counts.
    v01 : ndarray of shape (k, n_rows)
        Per compact negative row: ``(W_pos(> s) + W_pos(= s) / 2) / W_pos``.
    w01 : ndarray of shape (n_rows,)
        The negative rows' counts.
    """
    keep = w > 0
    y, scores, w = y[keep], scores[:, keep], w[keep].astype(float)
    pos, neg = y == 1, y == 0
    m, n = w[pos].sum(), w[neg].sum()
    k = scores.shape[0]
    v10, v01, auc = np.empty((k, int(pos.sum()))), np.empty((k, int(neg.sum()))), np.empty(k)
    for r in range(k):
        s = scores[r]
        on = np.argsort(s[neg], kind="stable")
        sn, cn = s[neg][on], np.concatenate([[0.0], np.cumsum(w[neg][on])])
        op = np.argsort(s[pos], kind="stable")
        sp, cp = s[pos][op], np.concatenate([[0.0], np.cumsum(w[pos][op])])
        v10[r] = 0.5 * (cn[np.searchsorted(sn, s[pos], "left")] + cn[np.searchsorted(sn, s[pos], "right")]) / n
        v01[r] = 1.0 - 0.5 * (cp[np.searchsorted(sp, s[neg], "left")] + cp[np.searchsorted(sp, s[neg], "right")]) / m
        auc[r] = float(np.dot(w[pos], v10[r]) / m)
    return auc, v10, w[pos], v01, w[neg]


def _frequency_cov(v: np.ndarray, w: np.ndarray) -> np.ndarray:
    """``numpy.cov`` (ddof = 1) of the columns of ``v`` repeated ``w`` times, without repeating them.

    Parameters
    ----------
    v : ndarray of shape (k, n_rows)
        One variable per row, one observation per column.
    w : ndarray of shape (n_rows,)
        Frequency weights (counts), summing to N > 1.

    Returns
    -------
    ndarray of shape (k, k)
        ``sum_i w_i (v_i - mean)(v_i - mean)^T / (N - 1)``.
    """
    total = w.sum()
    d = v - (v @ w / total)[:, None]
    return np.atleast_2d((d * w) @ d.T / (total - 1))


def _class_counts(y: np.ndarray, weights: Any) -> tuple[int, int]:
    """Positives and negatives, each row counted ``weights`` times (once without weights)."""
    if weights is None:
        return int((y == 1).sum()), int((y == 0).sum())
    w = np.asarray(weights)
    return int(w[y == 1].sum()), int(w[y == 0].sum())


def delong_difference(y_true: Any, candidate: Any, baseline: Any, confidence: float = 0.95,
                      weights: Any = None) -> Interval:
    """DeLong's interval for ``AUC(candidate) - AUC(baseline)`` on the same rows.

    Parameters
    ----------
    y_true : array-like of shape (n_samples,)
        0/1 labels.
    candidate, baseline : array-like of shape (n_samples,)
        Scores of the two models for the same rows.
    confidence : float
        Two-sided coverage, in (0, 1).
    weights : array-like of shape (n_samples,), optional
        Compact rows: how many rows each row stands for (the same for both models, which scored the same
        rows). The interval equals DeLong's on the expanded rows: the placements are computed once per
        compact row and their (co)variances weighted by the counts.

    Returns
    -------
    Interval
        ``details`` holds both AUCs, the standard error, z and the two-sided p-value.

    Raises
    ------
    NotComputable
        One class only, or a zero variance (identical or perfectly separated scores), where the normal
        approximation says nothing.
    """
    from scipy.stats import norm

    y = np.asarray(y_true).astype(int)
    m, n = _class_counts(y, weights)
    if m < 2 or n < 2:
        raise NotComputable(f"DeLong needs at least 2 positives and 2 negatives (got {m} and {n})")
    scores = np.vstack([np.asarray(candidate, dtype=float), np.asarray(baseline, dtype=float)])
    if weights is None:
        auc, v10, v01 = _delong_components(y, scores)
        s10, s01 = np.cov(v10), np.cov(v01)
    else:
        auc, v10, w10, v01, w01 = _weighted_delong_components(y, scores, np.asarray(weights))
        s10, s01 = _frequency_cov(v10, w10), _frequency_cov(v01, w01)
    var = (s10[0, 0] + s10[1, 1] - 2 * s10[0, 1]) / m + (s01[0, 0] + s01[1, 1] - 2 * s01[0, 1]) / n
    diff = float(auc[0] - auc[1])
    if not np.isfinite(var) or var <= 0:
        raise NotComputable("DeLong's variance of the difference is 0 (identical rankings or perfect "
                            "separation): no interval", {"auc_candidate": float(auc[0]), "auc_baseline": float(auc[1])})
    se = float(np.sqrt(var))
    zq = float(norm.ppf(0.5 + confidence / 2))
    z = diff / se
    return Interval(diff, diff - zq * se, diff + zq * se, confidence, "delong",
                    {"auc_candidate": float(auc[0]), "auc_baseline": float(auc[1]), "se": se, "z": z,
                     "p_value": float(2 * norm.sf(abs(z))), "n_positive": m, "n_negative": n})


def delong_variance(y_true: Any, scores: Any, weights: Any = None) -> float:
    """DeLong's variance of one AUC (for tests and single-model intervals).

    Parameters
    ----------
    y_true : array-like of shape (n_samples,)
        0/1 labels.
    scores : array-like of shape (n_samples,)
        One model's scores.
    weights : array-like of shape (n_samples,), optional
        Compact rows: how many rows each row stands for (the variance equals that of the expanded rows).

    Returns
    -------
    float
        ``var(V10) / m + var(V01) / n`` with sample variances (ddof = 1).
    """
    y = np.asarray(y_true).astype(int)
    s = np.asarray(scores, dtype=float)[None, :]
    if weights is None:
        _, v10, v01 = _delong_components(y, s)
        return float(v10[0].var(ddof=1) / v10.shape[1] + v01[0].var(ddof=1) / v01.shape[1])
    _, v10, w10, v01, w01 = _weighted_delong_components(y, s, np.asarray(weights))
    return float(_frequency_cov(v10, w10)[0, 0] / w10.sum() + _frequency_cov(v01, w01)[0, 0] / w01.sum())


def stratified_index_batches(y: np.ndarray, resamples: int, seed: int, batch: int = 256) -> Any:
    """Yield index matrices of shape (k, n_samples), k resamples each, drawn within each class with replacement.

    Every resample keeps the class sizes; its columns hold the rows of class 0, then class 1 (sorted
    strata). Draws are made a batch at a time, so the plain and the vectorised bootstraps, which both read
    these batches, see exactly the same resamples.

    Parameters
    ----------
    y : ndarray of shape (n_samples,)
        Strata (class labels; one stratum for a regression target).
    resamples : int
        Number of resamples in all.
    seed : int
        Seed of the draws.
    batch : int
        Resamples per matrix.

    Yields
    ------
    ndarray of shape (k, n_samples)
    """
    rng = np.random.default_rng(seed)
    strata = [np.flatnonzero(y == v) for v in np.unique(y)]
    done = 0
    while done < resamples:
        k = min(batch, resamples - done)
        yield np.concatenate([s[rng.integers(0, len(s), (k, len(s)))] for s in strata], axis=1)
        done += k


def weight_batches(strata: np.ndarray, resamples: int, seed: Any, batch: int | None = None) -> Any:
    """Yield row-multiplicity matrices of shape (k, n_samples) for stratified resamples of plain rows.

    The draws are those of :func:`stratified_index_batches` with the same seed (and those of
    :func:`counted_weight_batches` with every count 1); row ``r`` of a matrix says how many times resample
    ``r`` draws each row. Batches hold at most about 4 million cells, so memory stays bounded at any number
    of rows.

    Parameters
    ----------
    strata : ndarray of shape (n_samples,)
        Class labels, or one value for all rows (no stratification).
    resamples : int
        Number of resamples in all.
    seed : int or numpy.random.SeedSequence
        Seed of the draws.
    batch : int, optional
        Resamples per matrix; default about 4 million cells per matrix. Samples resampled together must
        use the same batch size.

    Yields
    ------
    ndarray of int, shape (k, n_samples)
    """
    yield from counted_weight_batches(strata, None, resamples, seed, batch)


MULTINOMIAL_MEAN_COUNT = 8.0
"""A class whose counted rows stand for at least this many rows each on average draws its multiplicities with
:meth:`numpy.random.Generator.multinomial` (cost per resample about proportional to its counted rows); below it,
by drawing row positions among the rows they stand for (cost proportional to those rows; the two cost the same
near 8, measured on numpy 2). Both draw the same distribution; which one a class uses depends only on its
counted rows, so the same rows give the same draws on every engine."""


def _stratum_plans(strata: np.ndarray, counts: np.ndarray | None) -> list[tuple[np.ndarray, np.ndarray, bool]]:
    """Per stratum (sorted values): its rows' positions, their counts and whether it draws a multinomial."""
    plans = []
    for v in np.unique(strata):
        rows = np.flatnonzero(strata == v)
        c = np.ones(len(rows), dtype=np.int64) if counts is None else np.asarray(counts[rows], dtype=np.int64)
        plans.append((rows, c, bool(c.sum() >= MULTINOMIAL_MEAN_COUNT * len(rows))))
    return plans


def draw_cells(strata: np.ndarray, counts: np.ndarray | None) -> int:
    """Cells one resample of :func:`counted_weight_batches` fills: a batch of ``k`` resamples holds ``k`` times this.

    The rows of the classes drawn by position (each row a cell), the counted rows of the others, and the
    multiplicity matrix's own columns.
    """
    plans = _stratum_plans(np.asarray(strata), None if counts is None else np.asarray(counts))
    drawn = sum(len(rows) if multi else int(c.sum()) for rows, c, multi in plans)
    return max(len(strata), drawn)


def counted_weight_batches(strata: np.ndarray, counts: np.ndarray | None, resamples: int, seed: Any,
                           batch: int | None = None) -> Any:
    """Yield multiplicity matrices of shape (k, n_rows): the stratified bootstrap of counted rows.

    Each resample draws, within each class (stratum), as many rows as the class has, with replacement, from
    the rows the counted rows stand for, and counts the draws per counted row. For a class of ``n`` rows whose
    counted rows have counts ``c_1..c_m`` the multiplicities are ``Multinomial(n, (c_1/n, ..., c_m/n))``; class
    sizes are fixed. Plain rows (``counts`` None, every count 1) give exactly the draws of
    :func:`stratified_index_batches` (and :func:`weight_batches`) with the same seed.

    How a class is drawn (the same distribution either way): by positions among the rows it stands for,
    ``rng.integers(0, n, (k, n))`` mapped to their counted rows (:func:`stratified_index_batches`' draws when
    every count is 1), when its counted rows stand for fewer than :data:`MULTINOMIAL_MEAN_COUNT` rows each on
    average; else ``rng.multinomial(n, c / n, size=k)``. Classes are drawn in sorted order, one generator for
    all, a batch at a time: the draws depend only on the counted rows in their order, the seed and the batch
    size, so the same counted rows in the same order give the same resamples whatever engine produced them.

    Parameters
    ----------
    strata : ndarray of shape (n_rows,)
        Class of each counted row, or one value for all (no stratification).
    counts : ndarray of int, shape (n_rows,), or None
        How many rows each counted row stands for (positive integers); None: one each (plain rows).
    resamples : int
        Number of resamples in all.
    seed : int or numpy.random.SeedSequence
        Seed of the draws.
    batch : int, optional
        Resamples per matrix; default :func:`batch_size` of :func:`draw_cells` (about 4 million cells drawn
        per matrix, so memory stays bounded). Samples resampled together must use the same batch size.

    Yields
    ------
    ndarray of int, shape (k, n_rows)
        Row ``r``: how many rows resample ``r`` draws from each counted row; each class's row sums are its
        number of rows.

    Notes
    -----
    Drawing ``n`` rows with replacement from ``n`` rows and counting the draws per row is the multinomial
    bootstrap (Efron & Tibshirani 1993, ch. 6); the counts of draws that fall on a group of rows are the sums
    of theirs, and the multinomial is closed under such sums, hence ``Multinomial(n, c / n)`` for counted rows.
    """
    strata = np.asarray(strata)
    cnt = None if counts is None else np.asarray(counts, dtype=np.int64)
    n = len(strata)
    plans = _stratum_plans(strata, cnt)
    owners = [None if multi else np.repeat(rows, c) for rows, c, multi in plans]
    batch = batch or batch_size(draw_cells(strata, cnt))
    rng = np.random.default_rng(seed)
    done = 0
    while done < resamples:
        k = min(batch, resamples - done)
        flat: list[np.ndarray] = []
        W = np.zeros((k, n), dtype=np.int64)
        for (rows, c, multi), owner in zip(plans, owners, strict=True):
            total = int(c.sum())
            if multi:
                W[:, rows] = rng.multinomial(total, c / total, size=k)
            else:
                assert owner is not None
                flat.append(owner[rng.integers(0, total, (k, total))])
        if flat:
            idx = np.concatenate(flat, axis=1)
            W += np.bincount((idx + n * np.arange(k)[:, None]).ravel(), minlength=k * n).reshape(k, n)
        yield W
        done += k


def batch_size(n: int) -> int:
    """Resamples per weight matrix for ``n`` rows: at most 256, and about 4 million cells per matrix."""
    return int(max(1, min(256, 4_000_000 // max(n, 1))))


RESAMPLING = {"resampling": "stratified_multinomial",
              "resampling_note": "rows drawn with replacement within each class (class sizes fixed); a counted row is "
                                 "drawn as the rows it stands for, so pandas, DuckDB and Spark resample identically"}
"""What an interval records in its details about how it resampled (:func:`bootstrap_statistic` and the
``slices:`` rules, :mod:`gatekit.sections.slices`): the one scheme every engine uses."""

MIN_PER_STRATUM = 10
"""Fewest rows of each class (each stratum) a bootstrap interval is computed from."""


def bootstrap_statistic(stat: Callable[[list[np.ndarray]], np.ndarray], strata: list[np.ndarray], estimate: float,
                        confidence: float = 0.95, resamples: int = DEFAULT_RESAMPLES, seed: int = DEFAULT_SEED,
                        max_failed: float = 0.01, counts: list[np.ndarray | None] | None = None) -> Interval:
    """Percentile bootstrap interval of any statistic of one or several independent samples.

    One sample: candidate and baseline scored on the same rows (paired), or one model's metric. Two
    samples: a canary's arms (unpaired), each resampled on its own within its classes.

    Parameters
    ----------
    stat : callable
        ``stat([W_1, ..., W_s]) -> ndarray of shape (k,)``: the statistic on each of ``k`` resamples, given
        one row-multiplicity matrix of shape (k, n_i) per sample; NaN where undefined.
    strata : list of ndarray
        Per sample, the stratum (class) of each row.
    estimate : float
        The statistic on the full samples.
    confidence : float
        Two-sided level in (0, 1).
    resamples : int
        Number of resamples (default 2000).
    seed : int
        Sample ``i`` of several draws from child ``i`` of ``numpy.random.SeedSequence(seed)``; a single
        sample draws from ``seed`` itself (the draws of :func:`bootstrap_difference`).
    max_failed : float
        Largest share of resamples on which the statistic may be undefined.
    counts : list of (ndarray or None), optional
        Per sample, how many rows each row stands for (counted rows), or None for plain rows (count 1). Every
        sample is resampled by the stratified bootstrap of counted rows (:func:`counted_weight_batches`): in
        each class, as many rows as the class has, drawn with replacement from the rows the counted rows stand
        for. Plain rows get the draws of :func:`weight_batches`.

    Returns
    -------
    Interval
        Method ``bootstrap_percentile``; ``details`` has resamples, seed, failed, samples and
        ``resampling`` (``"stratified_multinomial"``) with a ``resampling_note``.

    Raises
    ------
    NotComputable
        The estimate is not finite, a class has fewer than :data:`MIN_PER_STRATUM` rows, or the statistic
        is undefined on more than ``max_failed`` of the resamples (a group that vanishes from resamples).
    """
    if not np.isfinite(estimate):
        raise NotComputable("the statistic is not defined on the evaluation rows")
    row_counts: list[np.ndarray | None] = [None if counts is None or counts[i] is None
                                           else np.asarray(counts[i], dtype=np.int64) for i in range(len(strata))]
    for k, st in enumerate(strata):
        values_, inverse = np.unique(st, return_inverse=True)
        per_class = np.bincount(inverse.ravel(), weights=row_counts[k], minlength=len(values_)).astype(np.int64)
        if per_class.min() < MIN_PER_STRATUM:
            which = f"sample {k + 1}: " if len(strata) > 1 else ""
            raise NotComputable(
                f"{which}only {int(per_class.min())} rows of class {values_[per_class.argmin()].item()!r}; a bootstrap "
                f"interval needs at least {MIN_PER_STRATUM} of each class (a resample of a handful of rows proves "
                "nothing)", {"class_counts": {str(v): int(c) for v, c in zip(values_, per_class, strict=True)}})
    seeds: list[Any] = [seed] if len(strata) == 1 else list(np.random.SeedSequence(seed).spawn(len(strata)))
    # one batch size, so the samples' batches line up
    batch = batch_size(max(draw_cells(s, c) for s, c in zip(strata, row_counts, strict=True)))
    gens = [counted_weight_batches(s, c, resamples, sd, batch)
            for s, c, sd in zip(strata, row_counts, seeds, strict=True)]
    # weights as floats once per batch: every kernel multiplies them with floats
    values = np.concatenate([np.asarray(stat([w.astype(float) for w in ws]), dtype=float)
                             for ws in zip(*gens, strict=True)])
    ok = np.isfinite(values)
    failed = int((~ok).sum())
    if failed > max_failed * resamples:
        raise NotComputable(f"the statistic is undefined on {failed} of {resamples} resamples (more than "
                            f"{max_failed:.0%}): too few rows, or a class or group too small for an interval",
                            {"failed": failed, "resamples": resamples})
    alpha = 1 - confidence
    low, high = np.quantile(values[ok], [alpha / 2, 1 - alpha / 2])
    return Interval(float(estimate), float(low), float(high), confidence, "bootstrap_percentile",
                    {"resamples": resamples, "seed": seed, "failed": failed, "samples": len(strata),
                     **RESAMPLING},
                    replicates=values[ok])


def bootstrap_difference(metric: Callable[[np.ndarray, np.ndarray], float], y_true: Any, candidate: Any,
                         baseline: Any | None = None, confidence: float = 0.95,
                         resamples: int = DEFAULT_RESAMPLES, seed: int = DEFAULT_SEED,
                         stratify: bool = True) -> Interval:
    """Paired, stratified percentile bootstrap of ``metric(candidate) - metric(baseline)`` (or of one metric).

    Parameters
    ----------
    metric : callable
        ``metric(y_true, scores) -> float`` on index-selected rows.
    y_true : array-like of shape (n_samples,)
        Labels (or regression targets).
    candidate : array-like of shape (n_samples,)
        Candidate scores or predictions.
    baseline : array-like of shape (n_samples,), optional
        Baseline scores on the same rows; None bootstraps the candidate's metric alone.
    confidence : float
        Two-sided coverage, in (0, 1).
    resamples : int
        Number of bootstrap resamples (default 2000).
    seed : int
        Seed of the resampling (recorded).
    stratify : bool
        Resample within each class (classification); False for a regression target.

    Returns
    -------
    Interval
        ``details``: resamples, seed, stratified, failed (resamples where the metric was undefined).

    Raises
    ------
    NotComputable
        The metric is undefined on the full sample, or on more than 1 % of the resamples.
    """
    y = np.asarray(y_true)
    c = np.asarray(candidate, dtype=float)
    b = None if baseline is None else np.asarray(baseline, dtype=float)

    def stat(idx: np.ndarray | slice) -> float:
        value = metric(y[idx], c[idx])
        return value - metric(y[idx], b[idx]) if b is not None else value

    estimate = float(stat(slice(None)))
    if not np.isfinite(estimate):
        raise NotComputable("the metric is not defined on the evaluation rows")
    strata = y if stratify else np.zeros(len(y))
    values = []
    failed = 0
    for idx in (row for block in stratified_index_batches(strata, resamples, seed) for row in block):
        try:
            v = float(stat(idx))
        except (ValueError, NotComputable):
            v = float("nan")
        if np.isfinite(v):
            values.append(v)
        else:
            failed += 1
    if failed > 0.01 * resamples:
        raise NotComputable(f"the metric is undefined on {failed} of {resamples} resamples; too few rows for an "
                            "interval", {"failed": failed, "resamples": resamples})
    alpha = 1 - confidence
    low, high = np.quantile(values, [alpha / 2, 1 - alpha / 2])
    return Interval(estimate, float(low), float(high), confidence, "bootstrap_percentile",
                    {"resamples": resamples, "seed": seed, "stratified": stratify, "failed": failed,
                     "paired": b is not None}, replicates=np.asarray(values))


def weighted_aucs(y: np.ndarray, scores: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """ROC AUC of one score vector under many row weightings (bootstrap multiplicities).

    Parameters
    ----------
    y : ndarray of shape (n_samples,)
        0/1 labels.
    scores : ndarray of shape (n_samples,)
        One model's scores.
    weights : ndarray of shape (resamples, n_samples)
        How many times each row is drawn in each resample.

    Returns
    -------
    ndarray of shape (resamples,)
        ``sum over positives i of w_i (W_neg(< s_i) + W_neg(= s_i) / 2) / (W_pos W_neg)``: the
        Mann-Whitney form of AUC with midrank ties, without re-ranking each resample.
    """
    order = np.argsort(scores, kind="mergesort")
    s, yy = scores[order], y[order]
    neg_idx = order[yy == 0]  # negatives in ascending score order
    pos_idx = order[yy == 1]
    s_neg = s[yy == 0]
    s_pos = s[yy == 1]
    w = np.asarray(weights, dtype=float)
    # cumulative negative weight in score order: column k = weight of the k+1 lowest-scored negatives
    neg_cum = np.cumsum(w[:, neg_idx], axis=1)
    neg_cum = np.concatenate([np.zeros((w.shape[0], 1)), neg_cum], axis=1)
    below = np.searchsorted(s_neg, s_pos, side="left")   # negatives strictly below each positive
    upto = np.searchsorted(s_neg, s_pos, side="right")   # ... at or below (ties count one half)
    w_pos = w[:, pos_idx]
    numer = (w_pos * (0.5 * (neg_cum[:, below] + neg_cum[:, upto]))).sum(axis=1)
    return numer / (w_pos.sum(axis=1) * neg_cum[:, -1])


def bootstrap_auc_difference(y_true: Any, candidate: Any, baseline: Any | None = None, confidence: float = 0.95,
                             resamples: int = DEFAULT_RESAMPLES, seed: int = DEFAULT_SEED) -> Interval:
    """:func:`bootstrap_difference` for ROC AUC, vectorised: the same resamples, the same interval, far faster.

    Each stratified resample is represented by how many times it draws each row (its multiplicities), and
    AUC is computed from the weights on the once-sorted scores (:func:`weighted_aucs`), a batch of
    resamples at a time.

    Parameters
    ----------
    y_true : array-like of shape (n_samples,)
        0/1 labels.
    candidate : array-like of shape (n_samples,)
        Candidate scores.
    baseline : array-like of shape (n_samples,), optional
        Baseline scores on the same rows; None: the candidate's AUC alone.
    confidence : float
        Two-sided coverage.
    resamples : int
        Number of resamples (default 2000).
    seed : int
        Seed (recorded).

    Returns
    -------
    Interval

    Raises
    ------
    NotComputable
        One class only.
    """
    y = np.asarray(y_true).astype(int)
    if y.sum() == 0 or y.sum() == len(y):
        raise NotComputable("ROC AUC needs both classes")
    series = [np.asarray(candidate, dtype=float)] + ([] if baseline is None else [np.asarray(baseline, dtype=float)])
    estimate = fast_auc(y, series[0]) - (fast_auc(y, series[1]) if baseline is not None else 0.0)
    values: list[np.ndarray] = []
    # batches of 256: the same draws as bootstrap_difference, as row multiplicities
    for weights in weight_batches(y, resamples, seed, batch=256):
        diff = weighted_aucs(y, series[0], weights)
        if baseline is not None:
            diff = diff - weighted_aucs(y, series[1], weights)
        values.append(diff)
    alpha = 1 - confidence
    reps = np.concatenate(values)
    low, high = np.quantile(reps, [alpha / 2, 1 - alpha / 2])
    return Interval(float(estimate), float(low), float(high), confidence, "bootstrap_percentile",
                    {"resamples": resamples, "seed": seed, "stratified": True, "failed": 0,
                     "paired": baseline is not None}, replicates=reps)


def fast_auc(y: np.ndarray, scores: np.ndarray) -> float:
    """ROC AUC by the Mann-Whitney statistic with midranks (equals :func:`sklearn.metrics.roc_auc_score`).

    Raises
    ------
    NotComputable
        One class only.
    """
    m = int(y.sum())
    n = len(y) - m
    if m == 0 or n == 0:
        raise NotComputable("one class only")
    ranks = _midrank(scores)
    return float((ranks[y == 1].sum() - m * (m + 1) / 2) / (m * n))
