r"""Drift between two samples given as value counts: distinct values and how often each occurs.

A model's outputs and a target column reach the drift section as value counts on every engine (pandas counts
its arrays, DuckDB and Spark return grouped counts or add up per-batch counts), so one set of formulas below
gives the same numbers whatever the engine. Each is the definition of its row-level counterpart, computed on
the counts:

- :func:`psi_numerical_counts`: :func:`gatekit.stats.drift.psi_numerical` (reference-quantile bins, discrete
  values compared like categories, open outer bins, missing values as one more bin, ``smoothing`` for an
  empty bin); the quantiles come from :func:`gatekit.stats.drift.quantiles_from_counts`, bit-equal to
  :func:`numpy.quantile` on the rows;
- :func:`psi_categorical_from_counts`: :func:`gatekit.stats.drift.psi_categorical_counts`;
- :func:`ks_p_value_counts`: the two-sample Kolmogorov-Smirnov p-value of ``scipy.stats.ks_2samp``
  (statistic from the two empirical CDFs at every distinct value, ``searchsorted(..., "right") / n`` as scipy;
  p-value :func:`gatekit.stats.drift.ks_p_value`);
- :func:`wasserstein_normed_counts`: evidently 0.7's normed Wasserstein distance,
  ``scipy.stats.wasserstein_distance`` (with the counts as weights) over ``max(std(reference), 0.001)``
  (population standard deviation);
- :func:`evidently_shares`: evidently 0.7's ``get_binned_data`` before its zero fill (Sturges bins over both
  sides for a numerical sample with more than 20 distinct reference values, else one bin per value), which
  its PSI (:func:`gatekit.stats.drift.evidently_psi`) and Jensen-Shannon distance read; chi-square
  (:func:`gatekit.stats.drift.evidently_chisquare`) reads the per-category counts.

Missing values are counted apart (``missing``): PSI gives them one more bin, the other methods leave them out
(as evidently does). Infinite values are counted apart too (``infinite``), and no method places them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from gatekit.core.errors import NotComputable
from gatekit.stats.drift import (
    EVIDENTLY_DISCRETE_MAX,
    PsiResult,
    category_label,
    discrete_windows,
    ks_p_value,
    psi_categorical_counts,
    psi_from_bins,
    quantile_edges,
    quantiles_from_counts,
    sturges_edges,
    wasserstein_normed,
)


@dataclass
class ValueCounts:
    """One side of a comparison: distinct values and how often each occurs.

    Parameters
    ----------
    kind : {"numerical", "categorical"}
        Numbers, or category labels compared as text.
    values : ndarray of shape (d,)
        Distinct finite values, sorted ascending (float64), or distinct category labels, sorted (object, str).
    counts : ndarray of int, shape (d,)
        How often each value occurs (> 0).
    missing : int
        Missing values (null, NaN).
    infinite : int
        Infinite values (numerical).
    integer : bool
        Numerical values stored as integers with no missing value (evidently's Sturges bins are then at least 1
        wide, as numpy's ``histogram_bin_edges`` on an integer array).
    """

    kind: str
    values: np.ndarray
    counts: np.ndarray
    missing: int = 0
    infinite: int = 0
    integer: bool = False

    @property
    def n(self) -> int:
        """Values counted (finite, or category labels; missing and infinite values left out)."""
        return int(self.counts.sum())


def numerical_counts(values: Any, weights: Any = None, integer: bool = False) -> ValueCounts:
    """Count numbers: distinct finite values, missing (NaN) and infinite ones, each row counted ``weights`` times.

    Parameters
    ----------
    values : array-like of shape (n,)
        Numbers (NaN for missing).
    weights : array-like of int, shape (n,), optional
        How many rows each value stands for (an engine's compact rows); default 1 each.
    integer : bool
        The values are stored as integers (see :class:`ValueCounts`).

    Returns
    -------
    ValueCounts
    """
    v = np.asarray(values, dtype=float).reshape(-1)
    w = np.ones(len(v), dtype=np.int64) if weights is None else np.asarray(weights, dtype=np.int64).reshape(-1)
    nan = np.isnan(v)
    inf = np.isinf(v)
    ok = ~(nan | inf)
    uniq, inverse = np.unique(v[ok], return_inverse=True)
    counts = np.bincount(inverse.reshape(-1), weights=w[ok], minlength=len(uniq)).astype(np.int64)
    keep = counts > 0
    return ValueCounts("numerical", uniq[keep], counts[keep], int(w[nan].sum()), int(w[inf].sum()),
                       integer and not nan.any())


def categorical_counts(labels: Any, weights: Any = None) -> ValueCounts:
    """Count category labels as text (:func:`gatekit.stats.drift.category_label`: 1 and 1.0 are one category).

    Parameters
    ----------
    labels : array-like of shape (n,)
        Labels; None and NaN are missing.
    weights : array-like of int, shape (n,), optional
        How many rows each label stands for; default 1 each.

    Returns
    -------
    ValueCounts
    """
    import pandas as pd

    s = pd.Series(list(labels) if not hasattr(labels, "dtype") else labels).reset_index(drop=True)
    w = pd.Series(np.ones(len(s), dtype=np.int64) if weights is None else np.asarray(weights, dtype=np.int64))
    missing = s.isna().to_numpy()
    per = w[~missing].groupby(s[~missing].to_numpy(), sort=False).sum()
    return from_mapping({category_label(k): int(n) for k, n in _merge_labels(per.index, per.to_numpy()).items()},
                        int(w[missing].sum()))


def _merge_labels(values: Any, counts: Any) -> dict[str, int]:
    out: dict[str, int] = {}
    for v, n in zip(values, counts, strict=True):
        key = category_label(v)
        out[key] = out.get(key, 0) + int(n)
    return out


def from_mapping(counts: dict[str, int], missing: int = 0) -> ValueCounts:
    """Return category counts (label -> count) as :class:`ValueCounts` (labels sorted; zero counts left out)."""
    keys = sorted(k for k, n in counts.items() if n > 0)
    return ValueCounts("categorical", np.array(keys, dtype=object),
                       np.array([counts[k] for k in keys], dtype=np.int64), missing)


def add_counts(parts: list[ValueCounts]) -> ValueCounts:
    """Add up several batches' counts of one kind (the engines' per-batch counts).

    Parameters
    ----------
    parts : list of ValueCounts
        One per batch, all of one kind (at least one).

    Returns
    -------
    ValueCounts
    """
    kind = parts[0].kind
    missing = sum(p.missing for p in parts)
    infinite = sum(p.infinite for p in parts)
    if kind == "categorical":
        total: dict[str, int] = {}
        for p in parts:
            for k, n in zip(p.values, p.counts, strict=True):
                total[str(k)] = total.get(str(k), 0) + int(n)
        out = from_mapping(total, missing)
        out.infinite = infinite
        return out
    values = np.concatenate([p.values for p in parts]) if parts else np.zeros(0)
    counts = np.concatenate([p.counts for p in parts]) if parts else np.zeros(0, dtype=np.int64)
    uniq, inverse = np.unique(values, return_inverse=True)
    summed = np.bincount(inverse.reshape(-1), weights=counts, minlength=len(uniq)).astype(np.int64)
    return ValueCounts("numerical", uniq, summed, missing, infinite, all(p.integer for p in parts))


def _empty(ref: ValueCounts, cur: ValueCounts) -> None:
    if ref.n == 0 or cur.n == 0:
        side = "reference" if ref.n == 0 else "current"
        raise NotComputable(f"every {side} value is missing", {"missing_reference": ref.missing,
                                                                "missing_current": cur.missing})


def _mode(values: np.ndarray, counts: np.ndarray) -> tuple[float, int]:
    top = int(np.argmax(counts))  # the first of ties: the smallest value, as numpy.unique + argmax
    return float(values[top]), int(counts[top])


def psi_numerical_counts(ref: ValueCounts, cur: ValueCounts, bins: int = 10, smoothing: float = 1e-4) -> PsiResult:
    """PSI over reference-quantile bins from value counts: :func:`gatekit.stats.drift.psi_numerical`'s numbers.

    Parameters
    ----------
    ref, cur : ValueCounts
        Numerical counts of the reference and the current sample.
    bins : int
        Quantile bins before duplicate edges are removed (>= 2).
    smoothing : float
        Share given to an empty bin (> 0).

    Returns
    -------
    PsiResult

    Raises
    ------
    NotComputable
        A side with no value, infinite values, or fewer than 2 usable bins.
    """
    _empty(ref, cur)
    if ref.infinite or cur.infinite:
        raise NotComputable("the column holds infinite values; quantile bins are undefined")
    vals, cnts = np.asarray(ref.values, dtype=float), np.asarray(ref.counts, dtype=np.int64)
    n = int(cnts.sum())
    if len(vals) == 1:
        raise NotComputable(f"fewer than 2 usable bins: every reference value is {vals[0]:g}", {"n_reference": n})
    kind, edges, ref_counts = reference_bins(vals, cnts, bins)
    cur_vals, cur_w = np.asarray(cur.values, dtype=float), np.asarray(cur.counts, dtype=np.int64)
    idx = np.searchsorted(edges, cur_vals, side="right")
    cur_counts = np.bincount(idx, weights=cur_w, minlength=len(edges) + 1).astype(np.int64)
    unseen: list[Any] = []
    outside = (0, 0)
    if kind == "discrete":  # bins 0, 2, ..., 2d lie between the match windows: values the reference lacks
        unseen = [float(v) for v in np.unique(cur_vals[idx % 2 == 0])]
    else:
        outside = (int(cur_w[cur_vals < vals[0]].sum()), int(cur_w[cur_vals > vals[-1]].sum()))
    return psi_from_bins(kind, edges, ref_counts, cur_counts, ref.missing, cur.missing, smoothing,
                         lambda: _mode(vals, cnts), vals, unseen, outside)


def psi_categorical_from_counts(ref: ValueCounts, cur: ValueCounts, smoothing: float = 1e-4) -> PsiResult:
    """PSI of category counts: :func:`gatekit.stats.drift.psi_categorical_counts` (one bin per category).

    Raises
    ------
    NotComputable
        A side with no value.
    """
    return psi_categorical_counts({str(k): int(n) for k, n in zip(ref.values, ref.counts, strict=True)},
                                  {str(k): int(n) for k, n in zip(cur.values, cur.counts, strict=True)},
                                  ref.missing, cur.missing, smoothing)


def _on_common_grid(ref: ValueCounts, cur: ValueCounts) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Return every distinct value of both sides and each side's count at it (0 where it has none)."""
    grid = np.union1d(ref.values, cur.values)
    rc = np.zeros(len(grid), dtype=np.int64)
    cc = np.zeros(len(grid), dtype=np.int64)
    rc[np.searchsorted(grid, ref.values)] = ref.counts
    cc[np.searchsorted(grid, cur.values)] = cur.counts
    return grid, rc, cc


def ks_statistic_counts(ref: ValueCounts, cur: ValueCounts) -> float:
    """Return the two-sample KS statistic: the largest distance between the two empirical CDFs (finite values).

    Each CDF at a distinct value is the side's count at or below it over its size, as ``scipy.stats.ks_2samp``
    (``searchsorted(sorted, all_values, side="right") / n``): the same float divisions, so the same statistic.
    """
    _empty(ref, cur)
    _, rc, cc = _on_common_grid(ref, cur)
    fr = np.cumsum(rc) / ref.n
    fc = np.cumsum(cc) / cur.n
    return float(np.max(np.abs(fr - fc)))


def ks_p_value_counts(ref: ValueCounts, cur: ValueCounts) -> float:
    """Return ``scipy.stats.ks_2samp``'s two-sided p-value of the two samples (missing and infinite values out)."""
    return ks_p_value(ks_statistic_counts(ref, cur), ref.n, cur.n)


def wasserstein_normed_counts(ref: ValueCounts, cur: ValueCounts) -> float:
    """Return evidently's normed Wasserstein distance of the finite values.

    ``scipy.stats.wasserstein_distance(ref_values, cur_values, ref_counts, cur_counts)`` (the integral of the
    absolute difference of the two empirical CDFs) over ``max(std(reference), 0.001)``, the reference's
    population standard deviation from its counts (:func:`gatekit.stats.drift.wasserstein_normed`).
    """
    from scipy.stats import wasserstein_distance

    _empty(ref, cur)
    v, c = np.asarray(ref.values, dtype=float), np.asarray(ref.counts, dtype=float)
    mean = float((v * c).sum() / c.sum())
    std = float(np.sqrt((c * (v - mean) ** 2).sum() / c.sum()))
    d = float(wasserstein_distance(np.asarray(ref.values, dtype=float), np.asarray(cur.values, dtype=float),
                                   c, np.asarray(cur.counts, dtype=float)))
    return wasserstein_normed(d, std)


def evidently_shares(ref: ValueCounts, cur: ValueCounts) -> tuple[np.ndarray, np.ndarray]:
    """Return evidently 0.7's binned shares (``get_binned_data`` without its zero fill) from value counts.

    A numerical sample with more than 20 distinct reference values: Sturges bins over both sides together
    (:func:`gatekit.stats.drift.sturges_edges` from the combined smallest and largest value and size), counted as
    ``numpy.histogram`` counts them; otherwise one bin per value seen on either side. Shares are counts over the
    side's size.

    Returns
    -------
    ref_shares, cur_shares : ndarray of shape (n_bins,)
    """
    _empty(ref, cur)
    if ref.kind == "numerical" and len(ref.values) > EVIDENTLY_DISCRETE_MAX:
        lo = min(float(ref.values[0]), float(cur.values[0]))
        hi = max(float(ref.values[-1]), float(cur.values[-1]))
        integer = ref.integer and cur.integer
        edges = sturges_edges(int(lo) if integer else lo, int(hi) if integer else hi, ref.n + cur.n, integer)
        rh = np.histogram(np.asarray(ref.values, dtype=float), edges, weights=ref.counts)[0]
        ch = np.histogram(np.asarray(cur.values, dtype=float), edges, weights=cur.counts)[0]
        return np.rint(rh) / ref.n, np.rint(ch) / cur.n
    rc, cc = keyed_counts(ref, cur)
    return rc / ref.n, cc / cur.n


def keyed_counts(ref: ValueCounts, cur: ValueCounts) -> tuple[np.ndarray, np.ndarray]:
    """Return both sides' counts per value seen on either side (one entry per value, in one order)."""
    if ref.kind == "numerical":
        _, rc, cc = _on_common_grid(ref, cur)
        return rc, cc
    rd = {str(k): int(n) for k, n in zip(ref.values, ref.counts, strict=True)}
    cd = {str(k): int(n) for k, n in zip(cur.values, cur.counts, strict=True)}
    keys = sorted(set(rd) | set(cd))
    return (np.array([rd.get(k, 0) for k in keys], dtype=np.int64),
            np.array([cd.get(k, 0) for k in keys], dtype=np.int64))


def evidently_method_counts(method: str, ref: ValueCounts, cur: ValueCounts) -> tuple[float, float | None]:
    """Return the value of one of evidently's methods on value counts, and scipy's NaN when it was recomputed.

    Parameters
    ----------
    method : {"ks", "wasserstein", "jensenshannon", "chisquare", "psi"}
        ``psi`` is evidently's PSI binning (:func:`evidently_shares`, :func:`gatekit.stats.drift.evidently_psi`).
    ref, cur : ValueCounts
        Both sides, of one kind.

    Returns
    -------
    value : float
        May be NaN or infinite (the caller says why:
        :func:`gatekit.sections.drift_evidently.explain_non_finite_counts`).
    recomputed_from : float or None
        scipy's Jensen-Shannon distance when it was NaN from rounding and the value was recomputed with
        :func:`gatekit.stats.drift.jensenshannon_from_shares` (None otherwise).

    Raises
    ------
    NotComputable
        A side with no value, infinite values (no method places them), or a Jensen-Shannon divergence that is not
        rounding error.
    """
    import warnings

    from scipy.spatial import distance

    from gatekit.stats.drift import evidently_chisquare, evidently_psi, jensenshannon_from_shares

    _empty(ref, cur)
    if ref.infinite or cur.infinite:
        raise NotComputable(f"the values hold infinite values ({ref.infinite:,} reference, {cur.infinite:,} "
                            "current), which no drift method places")
    if method == "ks":
        return ks_p_value_counts(ref, cur), None
    if method == "wasserstein":
        return wasserstein_normed_counts(ref, cur), None
    if method == "chisquare":
        rc, cc = keyed_counts(ref, cur)
        return evidently_chisquare(rc, cc), None
    rp, cp = evidently_shares(ref, cur)
    if method == "psi":
        return evidently_psi(rp, cp), None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        v = float(distance.jensenshannon(rp, cp))
    if not np.isfinite(v):
        return jensenshannon_from_shares(rp, cp), v
    return v, None


__all__ = ["ValueCounts", "add_counts", "categorical_counts", "evidently_method_counts", "evidently_shares",
           "from_mapping", "keyed_counts", "ks_p_value_counts", "ks_statistic_counts", "numerical_counts",
           "psi_categorical_from_counts", "psi_numerical_counts", "wasserstein_normed_counts"]


def reference_bins(vals: np.ndarray, cnts: np.ndarray, bins: int) -> tuple[str, np.ndarray, np.ndarray]:
    """PSI's bins of a numerical reference given as distinct values with counts, and the reference's bin counts.

    At most ``bins`` distinct values: one window per value (``discrete``); more: edges at the reference's
    ``bins``-quantiles, placed between distinct values (``numerical``), as :func:`gatekit.stats.drift.psi` bins
    the rows (the same quantiles, from the counts).

    Parameters
    ----------
    vals : ndarray of float, shape (m,)
        The reference's distinct finite values, ascending, m >= 2.
    cnts : ndarray of int, shape (m,)
        How many rows hold each value.
    bins : int
        Quantile bins before duplicate edges are removed (>= 2).

    Returns
    -------
    kind : {"discrete", "numerical"}
    edges : ndarray of float, shape (k,)
        Inner bin edges (a value ``v`` falls in bin ``searchsorted(edges, v, side="right")``).
    ref_counts : ndarray of int, shape (k + 1,)
        The reference's rows in each bin.
    """
    n = int(np.sum(cnts))
    if len(vals) <= bins:
        kind, edges = "discrete", discrete_windows(vals)
    else:
        q = quantiles_from_counts(vals, cnts, np.arange(1, bins) / bins)
        j = np.searchsorted(vals, q, side="left")  # first distinct value >= the quantile
        upper = vals[np.minimum(j, len(vals) - 1)]
        lower = np.where(j > 0, vals[np.maximum(j - 1, 0)], np.nan)
        kind, edges = "numerical", quantile_edges(q, lower, upper)
    cum = np.concatenate(([0], np.cumsum(cnts)))
    below = cum[np.searchsorted(vals, edges, side="left")]
    return kind, edges, np.diff(np.concatenate(([0], below, [n])))
