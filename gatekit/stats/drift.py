r"""Drift and label-leakage computations gatekit defines itself (vectorised numpy / pandas).

Population stability index, textbook credit-risk form (Siddiqi, *Credit Risk Scorecards*, Wiley 2006,
ch. 8; Yurdakul, "Statistical Properties of Population Stability Index", 2018):

.. math:: \mathrm{PSI} = \sum_i (c_i - r_i) \ln(c_i / r_i)

where :math:`r_i` and :math:`c_i` are the shares of the reference and current values in bin *i*.

- Numerical columns with at most ``bins`` distinct reference values :math:`u_1 < ... < u_d` (codes,
  counts, flags, a 0.1 / 0.2 / 0.3 grid) are compared like categories over their values: one bin per
  reference value, and one more bin, empty in the reference, for every current value that matches no
  reference value. A current value :math:`v` matches :math:`u_i` when
  :math:`|v - u_i| \le t_i`, :math:`t_i = 0.01 \min_{j \ne i} |u_j - u_i|` (:data:`DISCRETE_MATCH` of the
  distance to the nearest other reference value; the match windows never overlap), so a 1e-4 shift of
  0.1 / 0.2 / 0.3 moves nothing, while a sentinel (-999) or a recoded value (3 -> 300) is drift: its
  bin's reference share is 0, smoothed like an unseen category's. The values without a match are named.
- Other numerical columns: the reference's quantiles :math:`q` at 1/k, ..., (k-1)/k (``k = bins``,
  default 10, numpy's default linear quantile); a quantile equal to a reference value :math:`u_j`
  (ties) moves to the midpoint :math:`(u_{j-1} + u_j) / 2` (a quantile at the minimum gives no edge);
  duplicate edges are removed. Every bin holds exactly the reference values it would hold with bins
  ``[q_{i-1}, q_i)``, and no reference value lies on an edge, so a tiny shift of a tied value cannot
  jump a bin in either direction.
- Quantile bins: the outer bins are open, ``(-inf, e_1)`` and ``[e_m, +inf)`` (a current value beyond the
  reference's range counts in the outer bin on its side, the textbook PSI; how many do is reported); bins
  are closed on the left, ``[e_{i-1}, e_i)``; edges come from the reference only. A column whose
  reference values fill fewer than 2 bins is not computable.
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
DISCRETE_MATCH = 0.01
"""A current value matches a discrete reference value within this fraction of the distance from that value to
the nearest other reference value (:func:`discrete_windows`)."""
UNSEEN_BIN = "not in the reference"
"""The label of a discrete column's bin of current values that match no reference value."""


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
        Discrete: the reference values, then :data:`UNSEEN_BIN` when a current value matches none of them.
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
        Discrete: the reference's distinct values, one per bin.
    tolerance : list of float
        Discrete: how far a current value may lie from each reference value and still match it.
    reference_range : list of float or None
        Numerical (quantile bins): the reference's smallest and largest value.
    outside_below, outside_above : int
        Numerical (quantile bins): current values below / above ``reference_range`` (in the open outer bins).
    unseen_total : int or None
        How many values are absent from the reference when ``unseen`` lists only the first of them (an
        engine reads at most :data:`gatekit.sections.drift_counts.UNSEEN_CAP`); None: ``unseen`` is complete.
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
    unseen_total: int | None = None
    tolerance: list[float] = field(default_factory=list)
    reference_range: list[float] | None = None
    outside_below: int = 0
    outside_above: int = 0

    @property
    def n_bins(self) -> int:
        """Bins the sum runs over (the missing-value bin included)."""
        return len(self.bins) + (self.kind == "numerical") + self.missing_bin


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
        _at_least_two(len(distinct), distinct[0], len(ref))
        kind, edges = _edges(ref, distinct, bins)
        ref_counts = np.bincount(np.searchsorted(edges, ref, side="right"), minlength=len(edges) + 1)
    else:
        ref = np.sort(ref)  # one sort gives the distinct values, the quantiles and the reference's bin counts
        kind, edges, ref_counts, distinct = reference_bins(ref, bins)
    idx = np.searchsorted(edges, cur, side="right")
    cur_counts = np.bincount(idx, minlength=len(edges) + 1)
    unseen: list[Any] = []
    outside = (0, 0)
    if kind == "discrete":  # bins 0, 2, ..., 2d lie between the match windows: values the reference lacks
        unseen = [float(v) for v in np.unique(cur[idx % 2 == 0])]
    else:
        outside = (int((cur < distinct[0]).sum()), int((cur > distinct[-1]).sum()))
    return psi_from_bins(kind, edges, ref_counts, cur_counts, miss_r, miss_c, smoothing, lambda: sorted_mode(ref),
                         distinct, unseen, outside)


def _at_least_two(n_distinct: int, first: float, n: int) -> None:
    if n_distinct == 1:
        raise NotComputable(f"fewer than 2 usable bins: every reference value is {first:g}", {"n_reference": n})


def _edges(ref: np.ndarray, distinct: np.ndarray, bins: int) -> tuple[str, np.ndarray]:
    if len(distinct) <= bins:
        # a discrete-valued column (codes, counts, flags, a 0.1 / 0.2 / 0.3 grid): compared like categories over
        # its values, each matched within a small window (a 1e-4 shift of every value moves nothing, while a
        # sentinel or a recoded value is a bin the reference has no value in)
        return "discrete", discrete_windows(distinct)
    q = np.quantile(ref, np.arange(1, bins) / bins)
    j = np.searchsorted(distinct, q, side="left")  # first distinct value >= the quantile
    upper = distinct[np.minimum(j, len(distinct) - 1)]
    lower = np.where(j > 0, distinct[np.maximum(j - 1, 0)], np.nan)
    return "numerical", quantile_edges(q, lower, upper)


def reference_bins(ref_sorted: np.ndarray, bins: int) -> tuple[str, np.ndarray, np.ndarray, np.ndarray]:
    """Bin a numerical reference: its kind, inner edges and counts per bin (the pandas path's own code).

    Parameters
    ----------
    ref_sorted : ndarray of float, shape (n,)
        The reference's finite values, sorted ascending (n >= 1).
    bins : int
        ``psi.bins``.

    Returns
    -------
    kind : {"numerical", "discrete"}
    edges : ndarray of shape (m,)
    ref_counts : ndarray of int, shape (m + 1,)
    distinct : ndarray
        The distinct reference values.

    Raises
    ------
    NotComputable
        Every reference value is the same.
    """
    ref = ref_sorted
    distinct = ref[np.concatenate(([True], ref[1:] != ref[:-1]))]  # np.unique of a sorted array, without a sort
    _at_least_two(len(distinct), ref[0], len(ref))
    kind, edges = _edges(ref, distinct, bins)
    # bin k holds edges[k-1] <= v < edges[k]: on sorted values, counts are differences of insertion points
    below = np.searchsorted(ref, edges, side="left")
    ref_counts = np.diff(np.concatenate(([0], below, [len(ref)])))
    return kind, edges, ref_counts, distinct


def sorted_mode(values: np.ndarray) -> tuple[float, int]:
    """Return the most frequent value (the smallest of ties) and its count."""
    uniq, counts = np.unique(values, return_counts=True)
    top = counts.argmax()
    return float(uniq[top]), int(counts[top])


def discrete_windows(distinct: np.ndarray) -> np.ndarray:
    """Edges of a discrete numerical column: a match window around each distinct reference value.

    Parameters
    ----------
    distinct : ndarray of shape (d,)
        The reference's distinct values, sorted ascending (d >= 2).

    Returns
    -------
    ndarray of shape (2 d,)
        ``[l_1, h_1, l_2, h_2, ..., l_d, h_d]``, non-decreasing: bin ``2 i - 1`` (``[l_i, h_i)``) holds the
        values within ``t_i = DISCRETE_MATCH * (distance from u_i to the nearest other reference value)`` of
        ``u_i`` (``l_i = u_i - t_i``, ``h_i`` the next double above ``u_i + t_i``), and bins ``0, 2, ..., 2 d``
        the values that match no reference value. Both engines call this with the same numbers.
    """
    u = np.asarray(distinct, dtype=float)
    gaps = np.diff(u)
    nearest = np.minimum(np.concatenate(([np.inf], gaps)), np.concatenate((gaps, [np.inf])))
    tol = DISCRETE_MATCH * nearest
    lo = u - tol
    hi = np.nextafter(u + tol, np.inf)
    edges = np.empty(2 * len(u))
    edges[0::2], edges[1::2] = lo, hi
    return np.maximum.accumulate(edges)  # windows never overlap; this only guards values a few doubles apart


def match_tolerance(distinct: np.ndarray) -> list[float]:
    """Each discrete reference value's match tolerance :math:`t_i` (:func:`discrete_windows`), for the report."""
    u = np.asarray(distinct, dtype=float)
    gaps = np.diff(u)
    nearest = np.minimum(np.concatenate(([np.inf], gaps)), np.concatenate((gaps, [np.inf])))
    return (DISCRETE_MATCH * nearest).tolist()


def fold_discrete(counts: np.ndarray) -> tuple[np.ndarray, int]:
    """Split counts over :func:`discrete_windows`' ``2 d + 1`` bins into per-value counts and the unmatched count."""
    counts = np.asarray(counts, dtype=np.int64)
    return counts[1::2], int(counts[0::2].sum())


def quantile_edges(q: np.ndarray, lower: np.ndarray, upper: np.ndarray) -> np.ndarray:
    """Inner edges of the quantile bins from the reference quantiles and the reference values around them.

    A quantile equal to a reference value (ties) moves to the midpoint between that value and the next
    lower distinct one, so the same reference values fall in each bin as with left-closed bins at the
    quantile and no reference value lies on an edge (a tiny shift of a tied value cannot jump a bin); a
    quantile at the minimum (no reference value below it) gives no edge; duplicate edges are removed.

    Parameters
    ----------
    q : ndarray of shape (k,)
        The reference's quantiles (numpy's linear method).
    lower : ndarray of shape (k,)
        The largest reference value below each quantile (NaN: none).
    upper : ndarray of shape (k,)
        The smallest reference value at or above each quantile.

    Returns
    -------
    ndarray of shape (m,)
        Sorted distinct edges, m <= k. Both engines call this with the same numbers, so the edges are the same.
    """
    q, lower, upper = (np.asarray(a, dtype=float) for a in (q, lower, upper))
    on_value = upper == q
    keep = ~(on_value & np.isnan(lower))  # a quantile at the minimum has no reference value below it: no edge
    q, lower, upper, on_value = q[keep], lower[keep], upper[keep], on_value[keep]
    return np.unique(np.where(on_value, (lower + upper) / 2.0, q))


def linear_quantile_positions(n: int, probs: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Where numpy's default (``linear``, Hyndman & Fan type 7) quantile reads a sorted sample of ``n`` values.

    Parameters
    ----------
    n : int
        Values in the sample (>= 1).
    probs : ndarray of shape (k,)
        Probabilities in [0, 1].

    Returns
    -------
    lo, hi : ndarray of int, shape (k,)
        0-based positions of the two order statistics interpolated (``hi = lo + 1``, or both the last).
    gamma : ndarray of float, shape (k,)
        The weight of ``hi``: the fractional part of the virtual index ``(n - 1) p``
        (numpy ``lib._function_base_impl._quantile``).
    """
    vi = (n - 1) * np.asarray(probs, dtype=float)
    lo = np.floor(vi)
    gamma = vi - lo
    lo_i = lo.astype(np.intp)
    hi_i = lo_i + 1
    last = vi >= n - 1
    lo_i[last], hi_i[last] = n - 1, n - 1
    return lo_i, hi_i, gamma


def linear_quantile(lo_values: np.ndarray, hi_values: np.ndarray, gamma: np.ndarray) -> np.ndarray:
    """Numpy's linear interpolation between two order statistics, operation for operation (``_lerp``).

    ``a + (b - a) t``, and ``b - (b - a)(1 - t)`` where ``t >= 0.5``; so a quantile computed from order
    statistics an engine returns equals :func:`numpy.quantile` on the rows bit for bit (DuckDB's own
    ``quantile_cont`` interpolates as ``a + (b - a) t`` throughout and differs in the last bit for
    ``t >= 0.5``).

    Parameters
    ----------
    lo_values, hi_values : ndarray of shape (k,)
        The order statistics at :func:`linear_quantile_positions`' ``lo`` and ``hi``.
    gamma : ndarray of shape (k,)
        The weights of ``hi_values``.

    Returns
    -------
    ndarray of shape (k,)
    """
    a = np.asarray(lo_values, dtype=float)
    b = np.asarray(hi_values, dtype=float)
    t = np.asarray(gamma, dtype=float)
    diff = b - a
    return np.where(t >= 0.5, b - diff * (1 - t), a + diff * t)


def quantiles_from_counts(values: np.ndarray, counts: np.ndarray, probs: np.ndarray) -> np.ndarray:
    """Numpy's linear quantiles of the sample that ``(values, counts)`` stands for.

    Parameters
    ----------
    values : ndarray of shape (d,)
        Distinct values, sorted ascending.
    counts : ndarray of int, shape (d,)
        Times each value occurs (> 0).
    probs : ndarray of shape (k,)
        Probabilities in [0, 1].

    Returns
    -------
    ndarray of shape (k,)
        Equal to ``numpy.quantile(numpy.repeat(values, counts), probs)``.
    """
    cum = np.cumsum(counts)
    lo, hi, gamma = linear_quantile_positions(int(cum[-1]), probs)
    at = np.asarray(values, dtype=float)
    return linear_quantile(at[np.searchsorted(cum, lo, side="right")], at[np.searchsorted(cum, hi, side="right")],
                           gamma)


def psi_from_bins(kind: str, edges: np.ndarray, ref_counts: np.ndarray, cur_counts: np.ndarray, miss_r: int,
                  miss_c: int, smoothing: float, mode: Any, distinct: np.ndarray | None = None,
                  unseen: list[Any] | None = None, outside: tuple[int, int] = (0, 0)) -> PsiResult:
    """PSI of a numerical column from its bin counts (both engines end here with the same numbers).

    Parameters
    ----------
    kind : {"numerical", "discrete"}
        Quantile bins, or one bin per reference value (plus one for values the reference lacks).
    edges : ndarray of shape (m,)
        Inner edges (:func:`quantile_edges` or :func:`discrete_windows`).
    ref_counts, cur_counts : ndarray of int, shape (m + 1,)
        Values per bin ``(-inf, e_1), [e_1, e_2), ..., [e_m, inf)``.
    miss_r, miss_c : int
        Missing values on each side.
    smoothing : float
        Share used for an empty bin.
    mode : callable
        Returns the reference's most frequent value and its count (called only for the message below).
    distinct : ndarray or None
        The reference's distinct values, sorted (discrete: one per bin; numerical: its first and last give
        the reference's range).
    unseen : list or None
        Discrete: current values that match no reference value.
    outside : (int, int)
        Numerical: current values below and above the reference's range.

    Raises
    ------
    NotComputable
        The reference values fill fewer than 2 bins (the quantiles collapse on one dominant value).
    """
    ref_counts = np.asarray(ref_counts, dtype=np.int64)
    cur_counts = np.asarray(cur_counts, dtype=np.int64)
    if int((ref_counts > 0).sum()) < 2:
        value, count = mode()
        n_ref = int(ref_counts.sum())
        raise NotComputable(f"fewer than 2 usable bins: {100 * count / n_ref:.1f} % of the reference "
                            f"values are {value:g}, so its quantiles collapse; list the column in "
                            "categorical_features or use psi.binning: evidently", {"n_reference": n_ref})
    if kind == "discrete":
        assert distinct is not None
        rc, ref_other = fold_discrete(ref_counts)
        cc, cur_other = fold_discrete(cur_counts)
        assert ref_other == 0, "every reference value lies in its own match window"
        bins: list[Any] = np.asarray(distinct, dtype=float).tolist()
        if cur_other:  # values the reference lacks: one bin, empty in the reference (smoothed)
            rc, cc = np.append(rc, 0), np.append(cc, cur_other)
            bins.append(UNSEEN_BIN)
        res = _psi(kind, bins, rc, cc, miss_r, miss_c, smoothing, unseen)
        res.values = np.asarray(distinct, dtype=float).tolist()
        res.tolerance = match_tolerance(distinct)
        return res
    res = _psi(kind, np.asarray(edges, dtype=float).tolist(), ref_counts, cur_counts, miss_r, miss_c, smoothing,
               unseen)
    if distinct is not None:
        res.reference_range = [float(distinct[0]), float(distinct[-1])]
        res.outside_below, res.outside_above = int(outside[0]), int(outside[1])
    return res


def category_label(v: Any) -> str:
    """Return the text a category is compared as: whole-number floats as integers (1.0 -> "1"), else ``str``."""
    if isinstance(v, (float, np.floating)) and float(v).is_integer():
        return str(int(v))
    return str(v)


def label_counts(values: Any, counts: Any) -> dict[str, int]:
    """Add up the counts of distinct values per category label (:func:`category_label`).

    A code column read as int64 on one side and float64 on the other (one missing value) must not make
    every category look new, so 1 and 1.0 are one category.

    Parameters
    ----------
    values : sequence of shape (d,)
        Distinct non-missing values (as an engine or ``value_counts`` returns them).
    counts : sequence of int, shape (d,)
        Times each occurs.

    Returns
    -------
    dict of str to int
    """
    out: dict[str, int] = {}
    for v, n in zip(values, counts, strict=True):
        key = category_label(v)
        out[key] = out.get(key, 0) + int(n)
    return out


def _label_counts(values: Any) -> dict[str, int]:
    """Count values per category label; values are counted first and only the distinct ones relabelled."""
    import pandas as pd

    counts = pd.Series(values).value_counts(dropna=True)
    return label_counts(counts.index, counts.to_numpy())


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
    # value_counts leaves out the missing
    return psi_categorical_counts(r_counts, c_counts, len(r) - sum(r_counts.values()),
                                  len(c) - sum(c_counts.values()), smoothing)


def psi_categorical_counts(ref_counts: dict[str, int], cur_counts: dict[str, int], miss_r: int, miss_c: int,
                           smoothing: float = DEFAULT_SMOOTHING) -> PsiResult:
    """PSI of a categorical column from its counts per category label (both engines end here).

    Parameters
    ----------
    ref_counts, cur_counts : dict of str to int
        Non-missing values per category label (:func:`label_counts`).
    miss_r, miss_c : int
        Missing values on each side.
    smoothing : float
        Share used for an empty bin.

    Returns
    -------
    PsiResult
        Categories in sorted order; ``unseen`` lists those only in the current data.

    Raises
    ------
    NotComputable
        One side has no value.
    """
    n_r, n_c = sum(ref_counts.values()), sum(cur_counts.values())
    if n_r == 0 or n_c == 0:
        side = "reference" if n_r == 0 else "current"
        raise NotComputable(f"every {side} value is missing", {"missing_reference": miss_r, "missing_current": miss_c})
    cats = sorted(set(ref_counts) | set(cur_counts))
    rc = np.array([ref_counts.get(k, 0) for k in cats], dtype=np.int64)
    cc = np.array([cur_counts.get(k, 0) for k in cats], dtype=np.int64)
    unseen = [k for k in cats if k not in ref_counts]
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


# ------------------------------------------------------------------ evidently 0.7's methods, from counts
# evidently (``legacy/calculations/stattests``) computes these on the rows held in pandas; the functions below
# take the counts an engine returns and give the same numbers (tests prove them equal to evidently and scipy).

EVIDENTLY_DISCRETE_MAX = 20
"""evidently bins a numerical column with at most this many distinct reference values one bin per value."""


def sturges_edges(vmin: Any, vmax: Any, n: int, integer: bool) -> np.ndarray:
    """Return the edges of ``numpy.histogram_bin_edges(a, bins="sturges")`` from the data's min, max and size.

    evidently bins a numerical column with more than 20 distinct reference values over reference and
    current together this way (``get_binned_data``).

    Parameters
    ----------
    vmin, vmax : int or float
        The smallest and largest value of the combined sample.
    n : int
        Values in the combined sample (>= 1).
    integer : bool
        Whether the combined sample is stored as integers (numpy then uses a width of at least 1).

    Returns
    -------
    ndarray of float, shape (k + 1,)
        Equal-width edges from min to max; numpy's width ``(max - min) / (log2(n) + 1)`` and its
        ``linspace`` (``lib._histograms_impl._get_bin_edges``).
    """
    dtype = np.int64 if integer else np.float64
    lo, hi = dtype(vmin), dtype(vmax)
    width = (hi - lo) / (np.log2(n) + 1.0)
    if width:
        if integer and width < 1:
            width = 1
        k = int(np.ceil((hi - lo) / width))
    else:
        k = 1
    return np.histogram_bin_edges(np.array([lo, hi], dtype=dtype), bins=k)


def evidently_fill_zeroes(shares: np.ndarray) -> np.ndarray:
    """Evidently's empty-bin fill (``get_binned_data(..., feel_zeroes=True)``).

    An empty bin's share becomes the smallest non-empty share / 1e6 when that is at most 1e-4, else 1e-4.
    """
    p = np.array(shares, dtype=float)
    low = float(p[p != 0].min())
    np.place(p, p == 0, low / 10**6 if low <= 0.0001 else 0.0001)
    return p


def evidently_psi(ref_shares: np.ndarray, cur_shares: np.ndarray) -> float:
    r"""Evidently's PSI of two share vectors: :math:`\sum (r - c) \ln(r / c)` after :func:`evidently_fill_zeroes`.

    Parameters
    ----------
    ref_shares, cur_shares : ndarray of shape (n_bins,)
        Counts per bin over the side's values (evidently's "percents").

    Returns
    -------
    float
    """
    r = evidently_fill_zeroes(ref_shares)
    c = evidently_fill_zeroes(cur_shares)
    return float(np.sum((r - c) * np.log(r / c)))


def evidently_chisquare(ref_counts: np.ndarray, cur_counts: np.ndarray) -> float:
    """Evidently's chi-square p-value: current counts against reference counts scaled to the current size.

    ``scipy.stats.chisquare(f_obs=current, f_exp=reference * n_current / n_reference)``
    (``chisquare_stattest.py``), over the categories of both sides.

    Parameters
    ----------
    ref_counts : ndarray of int, shape (n_categories,)
        Reference values per category.
    cur_counts : ndarray of int, shape (n_categories,)
        Current values per category (same order).

    Returns
    -------
    float
        The p-value (NaN with fewer than 2 categories, as evidently's).
    """
    import warnings

    from scipy.stats import chisquare

    rc = np.asarray(ref_counts, dtype=float)
    cc = np.asarray(cur_counts, dtype=float)
    k_norm = cc.sum() / rc.sum()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return float(chisquare(list(cc), list(rc * k_norm))[1])


def ks_p_value(d: float, n1: int, n2: int) -> float:
    """Return the two-sided p-value ``scipy.stats.ks_2samp`` gives for statistic ``d`` on samples of n1, n2 values.

    scipy's ``method="auto"``: the exact distribution when both samples have at most 10,000 values, else
    Smirnov's asymptotic one (``kstwo.sf(d, round(n1 n2 / (n1 + n2)))``); the code is scipy's own.

    Parameters
    ----------
    d : float
        The KS statistic (largest distance between the two empirical CDFs).
    n1, n2 : int
        Sample sizes (>= 1).

    Returns
    -------
    float

    Raises
    ------
    NotComputable
        scipy's exact routine cannot be imported (its private name changed).
    """
    import math
    import warnings

    from scipy.stats import distributions

    mode = "exact" if max(n1, n2) <= 10000 else "asymp"
    prob = -np.inf
    if mode == "exact":
        try:
            from scipy.stats._stats_py import _attempt_exact_2kssamp  # type: ignore[attr-defined]
        except ImportError:  # pragma: no cover - a scipy without it
            raise NotComputable("scipy's exact two-sample KS distribution is not available in this scipy") from None
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            success, d, prob = _attempt_exact_2kssamp(n1, n2, math.gcd(n1, n2), d, "two-sided")
        if not success:
            mode = "asymp"
    if mode == "asymp":
        m, n = sorted([float(n1), float(n2)], reverse=True)
        en = m * n / (m + n)
        prob = distributions.kstwo.sf(d, np.round(en))
    return float(np.clip(prob, 0, 1))


def wasserstein_normed(distance: float, ref_std: float) -> float:
    """Evidently's normed Wasserstein distance: the distance over ``max(std(reference), 0.001)`` (ddof 0).

    Parameters
    ----------
    distance : float
        ``scipy.stats.wasserstein_distance(reference, current)``: the integral of the absolute difference of
        the two empirical CDFs.
    ref_std : float
        The reference's population standard deviation.
    """
    return float(distance / max(float(ref_std), 0.001))
