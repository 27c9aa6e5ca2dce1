r"""Drift and label-leakage computations gatekit defines itself (vectorised numpy / pandas).

Population stability index, textbook credit-risk form (Siddiqi, *Credit Risk Scorecards*, Wiley 2006,
ch. 8; Yurdakul, "Statistical Properties of Population Stability Index", 2018):

.. math:: \mathrm{PSI} = \sum_i (c_i - r_i) \ln(c_i / r_i)

where :math:`r_i` and :math:`c_i` are the shares of the reference and current values in bin *i*.

- Numerical columns with at most ``bins`` distinct reference values :math:`u_1 < ... < u_d` (codes,
  counts, flags, a 0.1 / 0.2 / 0.3 grid): one bin per reference value, the edges at the midpoints
  :math:`(u_i + u_{i+1}) / 2`, so a current value counts with its nearest reference value (beyond the
  range: with the outermost). A 1e-4 shift of every value moves nothing; values absent from the
  reference are still named.
- Other numerical columns: the reference's quantiles :math:`q` at 1/k, ..., (k-1)/k (``k = bins``,
  default 10, numpy's default linear quantile); a quantile equal to a reference value :math:`u_j`
  (ties) moves to the midpoint :math:`(u_{j-1} + u_j) / 2` (a quantile at the minimum gives no edge);
  duplicate edges are removed. Every bin holds exactly the reference values it would hold with bins
  ``[q_{i-1}, q_i)``, and no reference value lies on an edge, so a tiny shift of a tied value cannot
  jump a bin in either direction.
- Both: the outer bins are open, ``(-inf, e_1)`` and ``[e_m, +inf)``; bins are closed on the left,
  ``[e_{i-1}, e_i)``; edges come from the reference only. A column whose reference values fill fewer
  than 2 bins is not computable.
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
    values : list of float
        Discrete: the reference's distinct values, one per bin (``bins`` holds the midpoints between them).
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
    values: list[Any] = field(default_factory=list)


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
    distinct = np.unique(ref)
    if n_distinct <= bins:
        # a discrete-valued column (codes, counts, flags, a 0.1 / 0.2 / 0.3 grid): one bin per reference value,
        # edges at the midpoints between them, so a current value counts with its nearest reference value and
        # a 1e-4 shift of every value moves nothing (one bin per exact value would call it total drift)
        edges = (distinct[:-1] + distinct[1:]) / 2.0
        kind = "discrete"
    else:
        # a quantile equal to a reference value (ties) moves to the midpoint between that value and the next
        # lower distinct one: the same reference values fall in each bin as with left-closed bins at the
        # quantile, and no reference value lies on an edge, so a tiny shift of a tied value cannot jump a bin
        q = np.quantile(ref, np.arange(1, bins) / bins)
        j = np.searchsorted(distinct, q, side="left")  # first distinct value >= the quantile
        on_value = distinct[np.minimum(j, len(distinct) - 1)] == q
        keep = ~(on_value & (j == 0))  # a quantile at the minimum has no reference value below it: no edge
        q, j, on_value = q[keep], j[keep], on_value[keep]
        edges = np.unique(np.where(on_value, (distinct[np.maximum(j - 1, 0)] + distinct[np.minimum(
            j, len(distinct) - 1)]) / 2.0, q))
        kind = "numerical"
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
    unseen: list[Any] = []
    if kind == "discrete":
        unseen = [float(v) for v in np.setdiff1d(np.unique(cur), distinct)]
    res = _psi(kind, edges.tolist(), ref_counts, cur_counts, miss_r, miss_c, smoothing, unseen)
    if kind == "discrete":
        res.values = distinct.tolist()
    return res


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


def jensenshannon_from_shares(p: np.ndarray, q: np.ndarray) -> float:
    r"""Jensen-Shannon distance (natural log) of two share vectors of shape (n_bins,), rounding-safe.

    .. math:: \sqrt{\tfrac12 \mathrm{KL}(p \| m) + \tfrac12 \mathrm{KL}(q \| m)},\quad m = (p + q) / 2

    The definition of :func:`scipy.spatial.distance.jensenshannon` (base e, shares normalised to sum 1),
    which evidently 0.7 calls on its binned shares. For two near-identical distributions the divergence
    under the root is a difference of nearly equal sums and can come out as -1e-17, where scipy returns
    NaN; the divergence is >= 0 by definition, so a negative value within rounding (>= -1e-12) is 0.

    Parameters
    ----------
    p, q : ndarray of shape (n_bins,)
        Shares (or counts) per bin, non-negative, each with a positive sum.

    Returns
    -------
    float
        The distance, in [0, sqrt(ln 2)].

    Raises
    ------
    NotComputable
        A side with no mass, a negative or non-finite share, or a divergence below -1e-12 (not rounding).
    """
    from scipy.special import rel_entr

    p = np.asarray(p, dtype=float)
    q = np.asarray(q, dtype=float)
    if not (np.isfinite(p).all() and np.isfinite(q).all()) or (p < 0).any() or (q < 0).any():
        raise NotComputable("the binned shares hold negative or non-finite values")
    if p.sum() <= 0 or q.sum() <= 0:
        raise NotComputable("one side has no value in any bin")
    p, q = p / p.sum(), q / q.sum()
    m = (p + q) / 2.0
    js = float((rel_entr(p, m).sum() + rel_entr(q, m).sum()) / 2.0)
    if not np.isfinite(js) or js < -1e-12:
        raise NotComputable(f"the Jensen-Shannon divergence came out as {js!r}, which is not rounding error")
    return float(np.sqrt(max(js, 0.0)))
