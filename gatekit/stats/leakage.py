"""Label-leakage scores: how well one feature alone (its values, and whether it is missing) predicts the target.

A categorical feature is target-encoded out of fold; a numerical one scores the larger of its raw value and
its deciles' out-of-fold target mean; the missing indicator is scored too, since missingness carries signal.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from gatekit.core.errors import NotComputable


@dataclass
class LeakageResult:
    """How well one feature alone predicts the target.

    Parameters
    ----------
    measure : {"auc", "spearman"}
        ``auc`` (binary target): the feature's ROC AUC folded to >= 0.5 (``max(AUC, 1 - AUC)``);
        ``spearman`` (regression target): the absolute Spearman correlation. A categorical feature is first
        replaced by its out-of-fold target mean (5 folds), so a category that decides the target scores
        1 while an id-like column, whose categories do not recur across folds, scores about 0.5 / 0. A
        numerical feature scores the larger of its raw value and its deciles' out-of-fold target mean,
        so a leak that is not monotonic is caught too.
    value : float
        The largest score over the candidates (raw / encoded values, and the missing indicator).
    n_pairs : int
        Rows where both the feature and the target are present.
    encoded : bool
        Whether the winning score is of a target-encoded form of the feature.
    n_rows : int
        Rows where the target is present (the rows the missing indicator is scored on).
    n_missing : int
        Of those, rows where the feature is missing.
    source : {"values", "missing"}
        Whether the largest score is of the feature's values or of its missing indicator.
    missing_value : float or None
        The missing indicator's score (None: the feature is never or always missing on these rows).
    values_value : float or None
        The score of the feature's values (None: too few non-missing rows, or constant).
    values_problem : str or None
        Why the values were not scored (then only the missing indicator was: a low score is no pass).
    """

    measure: str
    value: float
    n_pairs: int
    encoded: bool = False
    n_rows: int = 0
    n_missing: int = 0
    source: str = "values"
    missing_value: float | None = None
    values_value: float | None = None
    values_problem: str | None = None


LEAKAGE_FOLDS = 5

_C1_HI, _C1_LO = divmod(0x85EBCA6B, 1 << 16)
_C2_HI, _C2_LO = divmod(0xC2B2AE35, 1 << 16)


def _mul32(h: Any, hi: int, lo: int) -> Any:
    """``(h * (hi * 2**16 + lo)) mod 2**32`` for ``0 <= h < 2**32`` without a product above 2**48."""
    return (((h * hi) % 65536) * 65536 + h * lo) % 4294967296


def fold_of(position: Any, folds: int = LEAKAGE_FOLDS, seed: int = 0) -> Any:
    """Assign rows to folds by a hash of their 0-based position: the same on every engine.

    ``position`` may be a numpy integer array or an ibis integer expression (``ibis.row_number()``): only
    ``+ * % // ^`` on 64-bit integers are used, every intermediate below 2**49, so numpy and DuckDB give the same
    folds bit for bit. The hash is MurmurHash3's 32-bit finaliser (``fmix32``: Appleby, MurmurHash3, 2011) of
    ``(position + seed * 2654435761) mod 2**32``, then ``mod folds``: folds of near-equal size that do not follow
    the rows' order (a plain round robin would, for data sorted or periodic by row).

    Parameters
    ----------
    position : ndarray of int64, shape (n,), or ibis integer expression
        Row positions counted from 0.
    folds : int
        Number of folds.
    seed : int
        Seed (small non-negative integer).

    Returns
    -------
    same kind as ``position``
        Fold numbers in ``[0, folds)``.
    """
    h = (position + seed * 2654435761) % 4294967296
    h = h ^ (h // 65536)
    h = _mul32(h, _C1_HI, _C1_LO)
    h = h ^ (h // 8192)
    h = _mul32(h, _C2_HI, _C2_LO)
    h = h ^ (h // 65536)
    return h % folds


def out_of_fold_target_mean(feature: Any, target: np.ndarray, folds: int = LEAKAGE_FOLDS,
                            seed: int = 0, positions: np.ndarray | None = None) -> np.ndarray:
    """Replace each category by the target mean of its category in the other folds (unseen: overall mean).

    Parameters
    ----------
    feature : array-like of shape (n_samples,)
        Category labels (no missing values).
    target : ndarray of shape (n_samples,)
        Numbers (0/1 for a binary target).
    folds : int
        Number of folds.
    positions : ndarray of int, shape (n_samples,), optional
        Each row's 0-based position in the whole table (default ``0 .. n - 1``): a row's fold follows its own
        position, never which other rows lack a value, so an engine finds it without numbering the kept rows.
    seed : int
        Seed of the fold assignment (:func:`fold_of`: a hash of each row's position, the same on every engine),
        so the scan is reproducible.

    Returns
    -------
    ndarray of shape (n_samples,)

    Notes
    -----
    Out-of-fold target encoding (Micci-Barreca, "A preprocessing scheme for high-cardinality categorical
    attributes", SIGKDD Explorations 3(1), 2001; fold scheme as in scikit-learn's ``TargetEncoder``).
    """
    import pandas as pd

    labels = pd.Series(feature).astype(str).to_numpy()
    t = np.asarray(target, dtype=float)
    pos = np.arange(len(t), dtype=np.int64) if positions is None else np.asarray(positions, dtype=np.int64)
    fold = fold_of(pos, folds, seed)
    out = np.empty(len(t))
    for k in range(folds):
        train, test = fold != k, fold == k
        means = pd.Series(t[train]).groupby(labels[train]).mean()
        out[test] = pd.Series(labels[test]).map(means).fillna(t[train].mean()).to_numpy()
    return out


def leakage_score(feature: Any, target: np.ndarray, kind: str, task: str, min_pairs: int = 30) -> LeakageResult:
    """Score how well ``feature`` alone predicts ``target`` (label-leakage scan).

    Parameters
    ----------
    feature : array-like of shape (n_samples,)
        The feature's values on the evaluation rows.
    target : ndarray of shape (n_samples,)
        0/1 for classification, numbers for regression.
    kind : {"numerical", "categorical"}
        The feature's kind (:func:`gatekit.sections.drift.column_kind`); categorical features are
        target-encoded out of fold.
    task : {"classification", "regression"}
        The target's kind.
    min_pairs : int
        Fewer valid (feature, target) pairs than this -> not computable.

    Returns
    -------
    LeakageResult

    Raises
    ------
    NotComputable
        Too few valid pairs, or a single class / a constant feature or target.

    Notes
    -----
    Missingness is a signal: the feature's missing indicator (1 where it is missing) is scored on every
    row with a target (classification: folded ROC AUC; regression: its |Spearman| divided by that of an
    indicator with as many 1s placed on the target's top ranks, the largest a 0/1 score can reach), and
    the larger of the two scores is reported, with the rows used and the rows missing; a feature blanked
    on most positive rows leaks through its gaps.

    ROC AUC: :func:`sklearn.metrics.roc_auc_score`; Spearman: :func:`scipy.stats.spearmanr`; the encoding:
    :func:`out_of_fold_target_mean`.
    """
    import pandas as pd

    f = pd.Series(feature).reset_index(drop=True)
    t = pd.Series(target).reset_index(drop=True)
    has_t = t.notna().to_numpy()
    n_rows = int(has_t.sum())
    missing = f.isna().to_numpy() & has_t
    n_missing = int(missing.sum())
    y_all = t[has_t].astype(float).to_numpy()
    miss_score: float | None = None
    # missingness is a signal: a feature blanked on most positive rows predicts the target through its gaps
    if n_rows >= min_pairs and 0 < n_missing < n_rows and len(np.unique(y_all)) >= 2:
        indicator = missing[has_t].astype(float)
        miss_score = _score(indicator, y_all, task)
        if miss_score is not None and task == "regression":
            # a 0/1 indicator's |Spearman| with a continuous target is at most about 0.87 (half missing), so
            # it is divided by the largest value an indicator with as many 1s reaches: the 1s on the top ranks
            perfect = np.zeros(n_rows)
            perfect[np.argsort(y_all, kind="stable")[n_rows - n_missing:]] = 1.0
            top = _score(perfect, y_all, task)
            miss_score = min(1.0, miss_score / top) if top else None
    values_res: LeakageResult | None = None
    why = None
    try:
        values_res = _values_score(f, t, kind, task, min_pairs)
    except NotComputable as exc:
        why = exc
    return combine_scores(values_res, why, miss_score, n_rows, n_missing, task)


def combine_scores(values_res: LeakageResult | None, why: NotComputable | None, miss_score: float | None,
                   n_rows: int, n_missing: int, task: str) -> LeakageResult:
    """Combine the score of the values and that of the missing indicator into the scan's result (both engines).

    Parameters
    ----------
    values_res : LeakageResult or None
        The values' score, or None when they could not be scored (``why`` says why).
    why : NotComputable or None
        Why the values were not scored.
    miss_score : float or None
        The missing indicator's score (None: not scored).
    n_rows, n_missing : int
        Rows with a target, and of those the rows where the feature is missing.
    task : {"classification", "regression"}
        The target's kind.

    Returns
    -------
    LeakageResult
        The larger of the two scores, with both recorded.

    Raises
    ------
    NotComputable
        Neither could be scored.
    """
    if values_res is None and miss_score is None:
        assert why is not None
        raise NotComputable(why.reason, {**why.details, "n_rows": n_rows, "n_missing": n_missing})
    measure = "auc" if task == "classification" else "spearman"
    n_pairs = values_res.n_pairs if values_res is not None else n_rows - n_missing
    v_val = values_res.value if values_res is not None else None
    if values_res is not None and (miss_score is None or values_res.value >= miss_score):
        return LeakageResult(measure, values_res.value, n_pairs, values_res.encoded, n_rows, n_missing, "values",
                             miss_score, v_val)
    assert miss_score is not None
    return LeakageResult(measure, miss_score, n_pairs, False, n_rows, n_missing, "missing", miss_score, v_val,
                         why.reason if why is not None else None)


def auc_from_counts(pos: np.ndarray, neg: np.ndarray) -> float:
    r"""ROC AUC from positive and negative counts per distinct score, the scores in ascending order.

    .. math:: \mathrm{AUC} = \frac{\sum_v p_v (N_{<v} + \tfrac12 n_v)}{P N}

    the Mann-Whitney rank statistic (ties count one half), which equals
    :func:`sklearn.metrics.roc_auc_score` on the rows the counts stand for.

    Parameters
    ----------
    pos, neg : ndarray of int, shape (n_scores,)
        Positive and negative rows at each distinct score.

    Returns
    -------
    float

    Raises
    ------
    NotComputable
        One class is absent.
    """
    p = np.asarray(pos, dtype=np.int64)
    n = np.asarray(neg, dtype=np.int64)
    below = np.cumsum(n) - n
    return auc_from_sums(int(np.sum(2 * p * below + p * n)), int(p.sum()), int(n.sum()))


def auc_from_sums(twice_numerator: int, n_pos: int, n_neg: int) -> float:
    r"""ROC AUC from :math:`2 \sum_v p_v N_{<v} + \sum_v p_v n_v` (an integer, exact) and the class sizes.

    Raises
    ------
    NotComputable
        One class is absent.
    """
    if n_pos == 0 or n_neg == 0:
        raise NotComputable("the target has one value in these rows")
    return float(twice_numerator / (2.0 * n_pos * n_neg))


def _score(x: np.ndarray, y: np.ndarray, task: str) -> float | None:
    """Folded ROC AUC (classification) or |Spearman| (regression) of one score.

    A constant score has AUC 0.5 (exact); its Spearman correlation is undefined (None), as is a NaN one.
    """
    if task == "classification":
        from sklearn.metrics import roc_auc_score

        auc = float(roc_auc_score(y.astype(int), x))
        return max(auc, 1.0 - auc)
    from scipy.stats import spearmanr

    if len(np.unique(x)) < 2:
        return None
    rho = float(spearmanr(x, y).statistic)
    return abs(rho) if np.isfinite(rho) else None


def _values_score(f: Any, t: Any, kind: str, task: str, min_pairs: int) -> LeakageResult:
    """Score the feature's non-missing values (see :func:`leakage_score`)."""
    import pandas as pd

    ok = (f.notna() & t.notna()).to_numpy()
    where = np.flatnonzero(ok).astype(np.int64)  # the kept rows' positions in the table: their folds
    n = int(ok.sum())
    if n < min_pairs:
        raise NotComputable(f"only {n} rows have both the feature and the target (at least {min_pairs} needed)",
                            {"n_pairs": n})
    f, t = f[ok], t[ok].astype(float)
    if t.nunique() < 2:
        raise NotComputable("the target has one value in these rows", {"n_pairs": n})
    y = t.to_numpy()
    candidates = []  # (score, encoded)
    if kind == "numerical":
        x = f.astype(float).to_numpy()
        candidates.append((x, False))
        # a non-monotonic leak (the target sits in the middle of the range) escapes a rank measure: also
        # score the feature's deciles through their out-of-fold target mean
        deciles = pd.qcut(x, 10, labels=False, duplicates="drop")
        candidates.append((out_of_fold_target_mean(deciles, y, positions=where), True))
    else:
        candidates.append((out_of_fold_target_mean(f, y, positions=where), True))
    best: LeakageResult | None = None
    for x, encoded in candidates:
        score = _score(x, y, task)
        if score is None:
            continue
        res = LeakageResult("auc" if task == "classification" else "spearman", score, n, encoded)
        if best is None or res.value > best.value:
            best = res
    if best is None:
        raise NotComputable("the feature is constant in these rows", {"n_pairs": n})
    return best
