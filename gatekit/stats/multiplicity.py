"""Families of rules: adjusted p-values, simultaneous intervals, p-values that agree with the gate's intervals.

- Bonferroni: ``p~_i = min(1, m p_i)`` (Dunn, *JASA* 56, 1961). Controls the family-wise error rate
  (FWER) under any dependence.
- Holm's step-down (Holm, *Scand. J. Statist.* 6, 1979): with ``p_(1) <= ... <= p_(m)``,
  ``p~_(i) = max_{j <= i} min(1, (m - j + 1) p_(j))``. Controls the FWER under any dependence and rejects
  everything Bonferroni rejects.
- Benjamini-Hochberg's step-up (Benjamini & Hochberg, *JRSS-B* 57, 1995):
  ``p~_(i) = min_{j >= i} min(1, m p_(j) / j)``. Controls the false discovery rate under independence
  or positive regression dependence (Benjamini & Yekutieli, *Ann. Statist.* 29, 2001); for screening
  (drift), not for blocking.
- Šidák: ``p~_i = 1 - (1 - p_i)^m`` (Šidák, *JASA* 62, 1967); FWER under independence (and for
  two-sided normal tests under any correlation).

The adjusted p-values are in the order the p-values were given: the sort order is only used to read
them and scatter them back (the "ranks" are positions in the sorted order, not ``argsort`` read as
ranks). Ties get equal adjusted values, the results are monotone in the raw p-values and capped at 1,
and a family where nothing is significant simply rejects nothing.

The gate reads a two-sided ``c`` interval and decides on one of its bounds (``guardband``), so each rule
is a one-sided test at level ``(1 - c) / 2``. The p-values here are defined so that ``p <= alpha`` holds
exactly when the bound of the two-sided ``1 - 2 alpha`` interval meets the limit:
:func:`bootstrap_p_value` inverts the percentile interval (``numpy.quantile``, linear interpolation,
as :func:`gatekit.stats.intervals.bootstrap_statistic` computes it), :func:`normal_p_value` the normal
interval ``estimate +- z se`` (DeLong's).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

Method = Literal["bonferroni", "holm", "bh", "sidak"]
METHODS: tuple[str, ...] = ("bonferroni", "holm", "bh", "sidak")
"""Adjustment methods: ``bonferroni``, ``holm`` (step-down), ``bh`` (Benjamini-Hochberg step-up), ``sidak``."""


def _p_array(p_values: Any, family_size: int | None) -> tuple[np.ndarray, int]:
    """Validate p-values; return them as floats and the family size ``m``."""
    p = np.asarray(p_values, dtype=float)
    if p.ndim != 1:
        raise ValueError(f"p-values must be one-dimensional (got shape {p.shape})")
    bad = np.flatnonzero(~np.isfinite(p) | (p < 0) | (p > 1))
    if bad.size:
        raise ValueError(f"p-value {bad[0]} is {p[bad[0]]!r}: every member of a family needs a p-value in [0, 1]; "
                         "a rule without one (not computable) is left out and counted in family_size")
    m = len(p) if family_size is None else int(family_size)
    if m < len(p):
        raise ValueError(f"family_size {m} is smaller than the {len(p)} p-values given")
    return p, m


def adjust_p_values(p_values: Any, method: Method = "holm", family_size: int | None = None) -> np.ndarray:
    """Multiplicity-adjusted p-values of a family of hypotheses.

    Parameters
    ----------
    p_values : array-like of shape (k,)
        Raw p-values in [0, 1], in any order.
    method : {"bonferroni", "holm", "bh", "sidak"}
        See the module docstring for each formula and its source.
    family_size : int, optional
        The number ``m >= k`` of hypotheses in the family. Members without a p-value (not computable) are
        counted as if their p-value were 1, which never makes the adjustment less strict; default ``k``.

    Returns
    -------
    ndarray of shape (k,)
        Adjusted p-values, in the order given, each in [raw p, 1]; a hypothesis is rejected at family
        level ``alpha`` when its adjusted p-value is at most ``alpha``. An empty family gives an empty
        array.

    Raises
    ------
    ValueError
        An unknown method, a p-value that is NaN or outside [0, 1], or ``family_size < k``.
    """
    p, m = _p_array(p_values, family_size)
    k = len(p)
    if k == 0:
        return p.copy()
    if method == "bonferroni":
        return np.minimum(1.0, m * p)
    if method == "sidak":
        with np.errstate(divide="ignore"):   # p = 1: log1p(-1) = -inf, and the adjusted value is 1
            return np.minimum(1.0, -np.expm1(m * np.log1p(-p)))
    if method not in ("holm", "bh"):
        raise ValueError(f"unknown multiplicity method {method!r}; use one of {', '.join(METHODS)}")
    order = np.argsort(p, kind="stable")
    ps = p[order]
    rank = np.arange(1, k + 1)          # 1-based position in the sorted order; absent members sort last (p = 1)
    if method == "holm":
        sorted_adj = np.maximum.accumulate(np.minimum(1.0, (m - rank + 1) * ps))
    else:
        # members without a p-value take the ranks k+1..m with p = 1: their terms m * 1 / j >= 1 are capped
        # to 1 and cannot lower the minimum, so the running minimum starts from 1 at rank k
        sorted_adj = np.minimum.accumulate(np.minimum(1.0, m * ps / rank)[::-1])[::-1]
    adjusted = np.empty(k)
    adjusted[order] = sorted_adj
    return np.maximum(adjusted, p)


@dataclass(frozen=True)
class FamilyTest:
    """The outcome of testing a family of hypotheses together.

    Parameters
    ----------
    p_values : ndarray of shape (k,)
        Raw p-values, as given.
    adjusted : ndarray of shape (k,)
        Adjusted p-values (:func:`adjust_p_values`).
    rejected : ndarray of bool, shape (k,)
        ``adjusted <= alpha``.
    method : str
        The adjustment.
    alpha : float
        Family level (FWER for Bonferroni, Holm, Šidák; FDR for Benjamini-Hochberg).
    family_size : int
        ``m``, members without a p-value included.
    """

    p_values: np.ndarray
    adjusted: np.ndarray
    rejected: np.ndarray
    method: str
    alpha: float
    family_size: int


def decide_family(p_values: Any, alpha: float = 0.05, method: Method = "holm",
                family_size: int | None = None) -> FamilyTest:
    """Decide a family of hypotheses at family level ``alpha``.

    Parameters
    ----------
    p_values : array-like of shape (k,)
        Raw p-values in [0, 1].
    alpha : float
        Family level in (0, 1).
    method : {"bonferroni", "holm", "bh", "sidak"}
        The adjustment (see the module docstring).
    family_size : int, optional
        ``m >= k``; see :func:`adjust_p_values`.

    Returns
    -------
    FamilyTest
        ``rejected`` all False when nothing is significant (no error).

    Raises
    ------
    ValueError
        ``alpha`` outside (0, 1), or as :func:`adjust_p_values`.
    """
    if not 0 < alpha < 1:
        raise ValueError(f"alpha must be in (0, 1) (got {alpha!r})")
    p, m = _p_array(p_values, family_size)
    adj = adjust_p_values(p, method, m)
    return FamilyTest(p, adj, adj <= alpha, method, float(alpha), m)


def simultaneous_confidence(confidence: float, family_size: int, method: Literal["bonferroni", "sidak"] = "bonferroni"
                            ) -> float:
    """Two-sided level of each interval so that a family of intervals covers together at ``confidence``.

    Parameters
    ----------
    confidence : float
        Family (simultaneous) coverage in (0, 1), e.g. 0.95.
    family_size : int
        Number ``m >= 1`` of intervals.
    method : {"bonferroni", "sidak"}
        ``bonferroni``: ``1 - (1 - c) / m`` (any dependence, Dunn 1961); ``sidak``: ``c ** (1 / m)``
        (independent intervals, Šidák 1967).

    Returns
    -------
    float
        The per-interval level ``c'``. The gate decides on one bound of each interval, a one-sided test at
        ``(1 - c') / 2``; with Bonferroni, that bound meets a limit exactly when the Bonferroni-adjusted
        p-value of the one-sided test is at most ``(1 - c) / 2``, the family's one-sided level.

    Raises
    ------
    ValueError
        ``confidence`` outside (0, 1), ``family_size < 1`` or an unknown method.
    """
    if not 0 < confidence < 1:
        raise ValueError(f"confidence must be in (0, 1) (got {confidence!r})")
    if family_size < 1:
        raise ValueError(f"family_size must be at least 1 (got {family_size!r})")
    if method == "bonferroni":
        return 1.0 - (1.0 - confidence) / family_size
    if method == "sidak":
        return float(confidence ** (1.0 / family_size))
    raise ValueError(f"unknown simultaneous method {method!r}; use bonferroni or sidak")


Alternative = Literal["greater", "less"]


def bootstrap_p_value(replicates: Any, limit: float, alternative: Alternative = "greater", strict: bool = False
                      ) -> float:
    """One-sided p-value from a bootstrap distribution, the inverse of the percentile interval's bound.

    With ``q(a) = numpy.quantile(replicates, a)`` (linear interpolation, the definition the gate's
    percentile interval uses; Efron & Tibshirani 1993, ch. 13; the test is the interval inverted),
    the lower bound of the two-sided ``1 - 2 alpha`` interval is ``q(alpha)`` and the upper ``q(1 - alpha)``.

    - ``alternative="greater"`` (the data are to show ``theta >= limit``, e.g. "no drop beyond the margin",
      ``H0: theta < limit``): ``p = inf {a : q(a) >= limit}``, so ``p <= alpha`` exactly when
      ``q(alpha) >= limit``; ``strict=True`` (show ``theta > limit``, ``H0: theta <= limit``):
      ``p = sup {a : q(a) <= limit}``, so ``p < alpha`` exactly when ``q(alpha) > limit``.
    - ``alternative="less"``: the mirror image on ``q(1 - a)`` (``p <= alpha`` exactly when
      ``q(1 - alpha) <= limit``; strict: ``p < alpha`` exactly when ``q(1 - alpha) < limit``).

    The two definitions differ only when replicates tie at the limit (a discrete metric).

    Parameters
    ----------
    replicates : array-like of shape (B,)
        The statistic on each bootstrap resample (finite values; ``B >= 2``).
    limit : float
        The null boundary, e.g. ``-margin`` for "the drop is at most the margin".
    alternative : {"greater", "less"}
        The side the data are to show.
    strict : bool
        Whether the limit itself belongs to the null (see above).

    Returns
    -------
    float
        In [0, 1]. 0 when every replicate is on the alternative side (``q(0)`` already meets the limit),
        1 when none is.

    Raises
    ------
    ValueError
        Fewer than 2 replicates, a replicate that is not finite, or an unknown alternative.
    """
    v = np.sort(np.asarray(replicates, dtype=float).ravel())
    if v.size < 2 or not np.all(np.isfinite(v)):
        raise ValueError("a bootstrap p-value needs at least 2 finite replicates")
    if alternative == "less":
        # quantile of -v at a equals -quantile of v at 1 - a (linear interpolation is symmetric)
        return bootstrap_p_value(-v, -limit, "greater", strict)
    if alternative != "greater":
        raise ValueError(f"alternative must be 'greater' or 'less' (got {alternative!r})")
    n = v.size
    if not strict:
        j = int(np.searchsorted(v, limit, side="left"))   # first replicate >= limit
        if j == 0:
            return 0.0
        if j == n:
            return 1.0
        h = (j - 1) + (limit - v[j - 1]) / (v[j] - v[j - 1])   # v[j-1] < limit <= v[j]
    else:
        k = int(np.searchsorted(v, limit, side="right")) - 1   # last replicate <= limit
        if k < 0:
            return 0.0
        if k == n - 1:
            return 1.0
        h = k + (limit - v[k]) / (v[k + 1] - v[k])             # v[k] <= limit < v[k+1]
    return float(min(1.0, max(0.0, h / (n - 1))))


def normal_p_value(estimate: float, se: float, limit: float, alternative: Alternative = "greater") -> float:
    """One-sided p-value of a normal (Wald) statistic; the inverse of the interval ``estimate +- z se``.

    ``p = 1 - Phi((estimate - limit) / se)`` for ``alternative="greater"`` (``Phi(...)`` for "less"), so
    ``p <= alpha`` exactly when the bound of the two-sided ``1 - 2 alpha`` interval,
    ``estimate - z_{1 - alpha} se``, is at least ``limit``. With DeLong's standard error (DeLong,
    DeLong & Clarke-Pearson, *Biometrics* 44, 1988) this is DeLong's one-sided test against a margin.

    Parameters
    ----------
    estimate : float
        Point estimate.
    se : float
        Its standard error (> 0).
    limit : float
        The null boundary.
    alternative : {"greater", "less"}
        The side the data are to show.

    Returns
    -------
    float

    Raises
    ------
    ValueError
        A standard error that is not a positive finite number, a non-finite estimate, or an unknown
        alternative.
    """
    from scipy.stats import norm

    if not (np.isfinite(se) and se > 0) or not np.isfinite(estimate):
        raise ValueError(f"a normal p-value needs a finite estimate and a positive standard error (got {estimate!r}, "
                         f"{se!r})")
    z = (estimate - limit) / se
    if alternative == "greater":
        return float(norm.sf(z))
    if alternative == "less":
        return float(norm.cdf(z))
    raise ValueError(f"alternative must be 'greater' or 'less' (got {alternative!r})")


def interval_p_value(interval: Any, limit: float, alternative: Alternative = "greater", strict: bool = False
                     ) -> float:
    """One-sided p-value of an :class:`~gatekit.stats.intervals.Interval` against a limit.

    Parameters
    ----------
    interval : Interval
        A DeLong interval (``details["se"]``) or a bootstrap interval that kept its ``replicates``.
    limit : float
        The null boundary.
    alternative : {"greater", "less"}
        The side the data are to show.
    strict : bool
        For the bootstrap: whether the limit belongs to the null (:func:`bootstrap_p_value`).

    Returns
    -------
    float

    Raises
    ------
    ValueError
        The interval carries neither a standard error nor its replicates.
    """
    if interval.method == "delong" or "se" in interval.details:
        return normal_p_value(interval.estimate, float(interval.details["se"]), limit, alternative)
    replicates = getattr(interval, "replicates", None)
    if replicates is None:
        raise ValueError(f"a {interval.method} interval without its replicates has no p-value")
    return bootstrap_p_value(replicates, limit, alternative, strict)
