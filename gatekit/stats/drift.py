r"""Drift and label-leakage computations gatekit defines itself (vectorised numpy / pandas).

Population stability index, textbook credit-risk form (Siddiqi, *Credit Risk Scorecards*, Wiley 2006,
ch. 8; Yurdakul, "Statistical Properties of Population Stability Index", 2018):

.. math:: \mathrm{PSI} = \sum_i (c_i - r_i) \ln(c_i / r_i)

where :math:`r_i` and :math:`c_i` are the shares of the reference and current values in bin *i*.

- Numerical columns with at most ``bins`` distinct reference values (codes, counts, flags): one bin per
  value, a value seen only in the current data getting its own bin (quantiles of such a column collapse).
- Other numerical columns: bin edges are the reference's quantiles at 1/k, ..., (k-1)/k (``k = bins``,
  default 10, numpy's default linear quantile), taken from the reference only; duplicate edges (ties)
  are removed; the outer bins are open, ``(-inf, e_1)`` and ``[e_m, +inf)``; bins are closed on the
  left, ``[e_{i-1}, e_i)``. A column whose reference values fill fewer than 2 bins is not computable.
- Categorical columns: one bin per category seen on either side; a category seen only in the current
  data is reported by name.
- An empty bin's share (on either side) is replaced by ``smoothing`` (default 1e-4) before the sum, so
  the index stays finite; no other share changes. The value used is recorded with the edges.
- Missing values form one more bin when either side has any (a jump in the missing share is drift);
  a side with no value at all is not comparable.

evidently's own PSI (equal-width Sturges bins over reference and current together) is the
``binning: evidently`` option of the drift section, computed by evidently.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from gatekit.core.errors import NotComputable

DEFAULT_BINS = 10
DEFAULT_SMOOTHING = 1e-4


@dataclass
class PsiResult:
    """One column's PSI and everything needed to recompute it.

    Parameters
    ----------
    value : float
        The index (dimensionless, >= 0).
    kind : {"numerical", "discrete", "categorical"}
    bins : list
        Numerical: the inner edges ``[e_1, ..., e_m]`` (bins ``(-inf, e_1), [e_1, e_2), ..., [e_m, inf)``).
        Categorical: the categories, in order.
    reference_counts, current_counts : list of int
        Values per bin.
    n_reference, n_current : int
        Non-missing values compared.
    missing_reference, missing_current : int
        Missing values left out.
    smoothing : float
        Share used for an empty bin.
    unseen : list
        Categories present only in the current data.
    contributions : list of float
        Each bin's term of the sum.
    missing_bin : bool
        Whether the last count is a bin of missing values (present when either side has any).
    """

    value: float
    kind: str
    bins: list[Any]
    reference_counts: list[int]
    current_counts: list[int]
    n_reference: int
    n_current: int
    missing_reference: int
    missing_current: int
    smoothing: float
    unseen: list[Any] = field(default_factory=list)
    contributions: list[float] = field(default_factory=list)
    missing_bin: bool = False


def _psi(kind: str, bins: list[Any], rc: np.ndarray, cc: np.ndarray, miss_r: int, miss_c: int, smoothing: float,
         unseen: list[Any] | None = None) -> PsiResult:
    """PSI over value bins plus, when either side has missing values, one bin of missing values.

    A column whose missing share jumps from 0 to 90 % has drifted, even if its other values did not move.
    """
    n_r, n_c = int(rc.sum()), int(cc.sum())
    missing_bin = bool(miss_r or miss_c)
    if missing_bin:
        rc, cc = np.append(rc, miss_r), np.append(cc, miss_c)
    value, terms = psi_from_counts(rc, cc, smoothing)
    return PsiResult(value, kind, bins, rc.tolist(), cc.tolist(), n_r, n_c, miss_r, miss_c, smoothing,
                     unseen=unseen or [], contributions=terms.tolist(), missing_bin=missing_bin)


def psi_from_counts(ref_counts: np.ndarray, cur_counts: np.ndarray, smoothing: float) -> tuple[float, np.ndarray]:
    """Return PSI and the per-bin terms for two count vectors of shape (n_bins,).

    Shares are counts / total; an empty bin's share becomes ``smoothing`` (see the module docstring).
    """
    r = ref_counts / ref_counts.sum()
    c = cur_counts / cur_counts.sum()
    r = np.where(ref_counts == 0, smoothing, r)
    c = np.where(cur_counts == 0, smoothing, c)
    terms = (c - r) * np.log(c / r)
    return float(terms.sum()), terms


def _split_missing(values: Any) -> tuple[np.ndarray, int]:
    import pandas as pd

    s = pd.Series(values)
    mask = s.isna().to_numpy()
    return s[~mask].to_numpy(), int(mask.sum())


def psi_numerical(reference: Any, current: Any, bins: int = DEFAULT_BINS,
                  smoothing: float = DEFAULT_SMOOTHING, plain: bool = False) -> PsiResult:
    """PSI of a numerical column over reference-quantile bins.

    Parameters
    ----------
    reference, current : array-like of shape (n_reference,) and (n_current,)
        Numbers; missing values are left out.
    bins : int
        Number of quantile bins before duplicate edges are removed (>= 2).
    smoothing : float
        Share used for an empty bin (> 0).
    plain : bool
        Count through numpy's ``unique`` and a bin index per value (the plain path; the same counts as
        the default, which bins a sorted reference).

    Returns
    -------
    PsiResult

    Raises
    ------
    NotComputable
        One side has no value, or the reference's quantiles give fewer than 2 bins (one value).
    """
    ref, miss_r = _split_missing(reference)
    cur, miss_c = _split_missing(current)
    ref = ref.astype(float)
    cur = cur.astype(float)
    if len(ref) == 0 or len(cur) == 0:
        side = "reference" if len(ref) == 0 else "current"
        raise NotComputable(f"every {side} value is missing", {"missing_reference": miss_r, "missing_current": miss_c})
    if not (np.isfinite(ref).all() and np.isfinite(cur).all()):
        raise NotComputable("the column holds infinite values; quantile bins are undefined")
    if plain:  # the plain path: numpy's unique and a bin index per value; the same counts
        distinct = np.unique(ref)
        n_distinct, first = len(distinct), distinct[0]
    else:
        ref = np.sort(ref)  # one sort gives the distinct count, the quantiles and the reference's bin counts
        n_distinct, first = 1 + int(np.count_nonzero(ref[1:] != ref[:-1])), ref[0]
    if n_distinct == 1:
        raise NotComputable(f"fewer than 2 usable bins: every reference value is {first:g}",
                            {"n_reference": len(ref)})
    if n_distinct <= bins:
        # a discrete column (codes, counts, flags): one bin per value is exact where quantiles would collapse
        return _psi_by_value(ref, cur, smoothing, miss_r, miss_c)
    edges = np.unique(np.quantile(ref, np.arange(1, bins) / bins))  # sorted, duplicates removed
    if plain:
        ref_counts = np.bincount(np.searchsorted(edges, ref, side="right"), minlength=len(edges) + 1)
    else:  # bin k holds edges[k-1] <= v < edges[k]: on sorted values, counts are differences of insertion points
        below = np.searchsorted(ref, edges, side="left")
        ref_counts = np.diff(np.concatenate(([0], below, [len(ref)])))
    if int((ref_counts > 0).sum()) < 2:
        values, counts = np.unique(ref, return_counts=True)
        top = counts.argmax()
        raise NotComputable(f"fewer than 2 usable bins: {100 * counts[top] / len(ref):.1f} % of the reference "
                            f"values are {values[top]:g}, so its quantiles collapse; list the column in "
                            "categorical_features or use psi.binning: evidently", {"n_reference": len(ref)})
    cur_counts = np.bincount(np.searchsorted(edges, cur, side="right"), minlength=len(edges) + 1)
    return _psi("numerical", edges.tolist(), ref_counts, cur_counts, miss_r, miss_c, smoothing)


def _psi_by_value(ref: np.ndarray, cur: np.ndarray, smoothing: float, miss_r: int, miss_c: int) -> PsiResult:
    values = np.union1d(ref, cur)
    rc = np.bincount(np.searchsorted(values, ref), minlength=len(values))
    cc = np.bincount(np.searchsorted(values, cur), minlength=len(values))
    unseen = [float(v) for v, n in zip(values, rc, strict=True) if n == 0]
    return _psi("discrete", values.tolist(), rc, cc, miss_r, miss_c, smoothing, unseen)


def _label(v: Any) -> str:
    if isinstance(v, (float, np.floating)) and float(v).is_integer():
        return str(int(v))
    return str(v)


def _label_counts(values: Any) -> Any:
    """Count values per category label (text), whole-number floats written as integers (1.0 -> "1").

    A code column read as int64 on one side and float64 on the other (one missing value) must not make
    every category look new. Values are counted first and only the distinct ones relabelled, so a million
    rows cost one hash pass.
    """
    import pandas as pd

    counts = pd.Series(values).value_counts(dropna=True)
    labels = [_label(v) for v in counts.index]
    return pd.Series(counts.to_numpy(), index=labels).groupby(level=0, sort=False).sum()


def psi_categorical(reference: Any, current: Any, smoothing: float = DEFAULT_SMOOTHING) -> PsiResult:
    """PSI of a categorical column, one bin per category seen on either side.

    Parameters
    ----------
    reference, current : array-like of shape (n_reference,) and (n_current,)
        Category labels (compared as text); missing values are left out.
    smoothing : float
        Share used for an empty bin (> 0).

    Returns
    -------
    PsiResult
        ``unseen`` lists the categories present only in the current data.

    Raises
    ------
    NotComputable
        One side has no value.
    """
    import pandas as pd

    r = pd.Series(reference)
    c = pd.Series(current)
    r_counts = _label_counts(r)
    c_counts = _label_counts(c)
    miss_r, miss_c = len(r) - int(r_counts.sum()), len(c) - int(c_counts.sum())  # value_counts leaves out the missing
    if r_counts.sum() == 0 or c_counts.sum() == 0:
        side = "reference" if r_counts.sum() == 0 else "current"
        raise NotComputable(f"every {side} value is missing", {"missing_reference": miss_r, "missing_current": miss_c})
    cats = sorted(set(r_counts.index) | set(c_counts.index))
    rc = r_counts.reindex(cats, fill_value=0).to_numpy()
    cc = c_counts.reindex(cats, fill_value=0).to_numpy()
    unseen = [k for k in cats if k not in r_counts.index]
    return _psi("categorical", cats, rc, cc, miss_r, miss_c, smoothing, unseen)


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
    n_pairs : int
        Rows where both the feature and the target are present.
    encoded : bool
        Whether the feature was target-encoded (categorical).
    """

    measure: str
    value: float
    n_pairs: int
    encoded: bool = False


LEAKAGE_FOLDS = 5


def out_of_fold_target_mean(feature: Any, target: np.ndarray, folds: int = LEAKAGE_FOLDS,
                            seed: int = 0) -> np.ndarray:
    """Replace each category by the target mean of its category in the other folds (unseen: overall mean).

    Parameters
    ----------
    feature : array-like of shape (n_samples,)
        Category labels (no missing values).
    target : ndarray of shape (n_samples,)
        Numbers (0/1 for a binary target).
    folds : int
        Number of folds.
    seed : int
        Seed of the fold assignment (a permutation), so the scan is reproducible.

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
    fold = np.random.default_rng(seed).permutation(len(t)) % folds
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
    ROC AUC: :func:`sklearn.metrics.roc_auc_score`; Spearman: :func:`scipy.stats.spearmanr`; the encoding:
    :func:`out_of_fold_target_mean`.
    """
    import pandas as pd

    f = pd.Series(feature).reset_index(drop=True)
    t = pd.Series(target).reset_index(drop=True)
    ok = (f.notna() & t.notna()).to_numpy()
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
        candidates.append((out_of_fold_target_mean(deciles, y), True))
    else:
        candidates.append((out_of_fold_target_mean(f, y), True))
    best: LeakageResult | None = None
    for x, encoded in candidates:
        if task == "classification":
            from sklearn.metrics import roc_auc_score

            auc = float(roc_auc_score(y.astype(int), x))
            res = LeakageResult("auc", max(auc, 1.0 - auc), n, encoded)
        else:
            from scipy.stats import spearmanr

            if len(np.unique(x)) < 2:
                continue
            res = LeakageResult("spearman", abs(float(spearmanr(x, y).statistic)), n, encoded)
        if best is None or res.value > best.value:
            best = res
    if best is None:
        raise NotComputable("the feature is constant in these rows", {"n_pairs": n})
    return best
