"""Anytime-valid inference for canaries and shadows that are looked at again and again.

A fixed-n 95 % interval checked after every batch of rows, stopping at the first look that excludes the
limit, errs far more often than 5 % (about 25 % after 30 looks; Armitage, McPherson & Rowe, *JRSS-A* 132,
1969). A *confidence sequence* ``(C_t)`` covers the mean at every time at once,
``P(for all t: mu in C_t) >= 1 - alpha`` (Darling & Robbins, *PNAS* 58, 1967), so it may be read after
every row and the rollout stopped whenever it excludes a limit, at no cost in validity. Three
constructions, each two-sided at ``confidence`` and built from two one-sided halves at
``alpha / 2 = (1 - confidence) / 2`` (the gate's convention: a decision on one bound errs with probability
at most ``(1 - confidence) / 2``):

- :func:`betting_cs`: means of observations bounded in ``[lower, upper]`` (error indicators, accuracy,
  per-row score differences in ``[-1, 1]``): the hedged capital process of Waudby-Smith & Ramdas,
  "Estimating means of bounded random variables by betting", *JRSS-B* 86(1), 2024 (the hedged capital
  process with predictable plug-in bets): for a
  candidate mean ``m`` of the data rescaled to ``[0, 1]``,
  ``K_t^+(m) = prod_{i<=t} (1 + l_i^+(m) (X_i - m))`` and ``K_t^-(m) = prod_{i<=t} (1 - l_i^-(m) (X_i - m))``
  with the predictable plug-in bets ``l_i^+(m) = min(l_i, c / m)``, ``l_i^-(m) = min(l_i, c / (1 - m))``,
  ``l_t = sqrt(2 log(2 / alpha) / (s2_{t-1} t log(1 + t)))``, ``s2_t = (1/4 + sum_{i<=t} (X_i - mu_i)^2) / (t + 1)``,
  ``mu_t = (1/2 + sum_{i<=t} X_i) / (t + 1)``, ``c = 1/2``; the hedged capital
  ``max(K^+ / 2, K^- / 2)`` is a nonnegative martingale at the true mean, so by Ville's inequality
  ``C_t = {m : K_t^+(m) < 2 / alpha and K_t^-(m) < 2 / alpha}``, an interval (``K^+`` falls and ``K^-``
  rises with ``m``), is a ``1 - alpha`` confidence sequence; its running intersection is one too.
  Nonasymptotic: valid at every sample size for any distribution on the bounds.
- :func:`normal_mixture_cs`: the one-sided normal mixture boundary (Robbins, *Ann. Math. Statist.* 41,
  1970; Howard, Ramdas, McAuliffe & Sekhon, "Time-uniform, nonparametric, nonasymptotic confidence
  sequences", *Ann. Statist.* 49(2), 2021, the normal mixture boundaries): for a sum ``S_t`` with
  variance process ``V_t``,
  ``M_t = 2 sqrt(rho / (V_t + rho)) exp(S_t^2 / (2 (V_t + rho))) Phi(S_t / sqrt(V_t + rho))`` (the
  likelihood ratio mixed over a half-normal of precision ``rho``) is a supermartingale for 1-sub-Gaussian
  increments, and the boundary ``u(V_t)`` solving ``M_t = 2 / alpha`` is crossed with probability at most
  ``alpha / 2``. With ``V_t = t`` on standardized rows and the standard deviation estimated at each look
  this is the asymptotic confidence sequence of Waudby-Smith, Arbour, Sinha, Kennedy & Ramdas,
  "Time-uniform central limit theory and asymptotic confidence sequences", *Ann. Statist.*, 2024, valid
  as rows grow for any distribution with a finite moment beyond the second:
  latency means, or differences of means with estimated variance.
- :func:`msprt`: the mixture sequential probability ratio test of Johari, Koomen, Pekelis & Walsh, "Peeking
  at A/B tests", *KDD* 2017 (and *Oper. Res.* 70(3), 2022): for differences ``Z_i`` with variance
  ``sigma^2`` and the mixing distribution ``N(theta_0, tau^2)``,
  ``Lambda_n = sqrt(sigma^2 / (sigma^2 + n tau^2))
  exp(n^2 tau^2 (Zbar_n - theta_0)^2 / (2 sigma^2 (sigma^2 + n tau^2)))``,
  the always-valid p-value ``p_n = min(p_{n-1}, 1 / Lambda_n)`` and the confidence sequence
  ``{theta : Lambda_n(theta) < 1 / alpha}`` (two-sided).

Two canary arms served independently are compared by pairing their rows in arrival order
(:func:`paired_differences`): the pairs are independent and identically distributed with the mean
difference, as in Johari et al.'s two-stream setting.

Looks: each function takes the rows in arrival order and the look indices (rows seen at each look); the
bounds are reported at the looks and intersected over them (a confidence sequence holds at every row,
so at any subset of rows; intersecting keeps it valid and never widens it).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any, Literal

import numpy as np

Side = Literal["below", "above", "either"]


@dataclass(frozen=True)
class ConfidenceSequence:
    """Bounds of a confidence sequence at each look.

    Parameters
    ----------
    looks : ndarray of int, shape (L,)
        Rows seen at each look (strictly increasing, from 1).
    estimate : ndarray of shape (L,)
        The running mean at each look.
    low, high : ndarray of shape (L,)
        The bounds, intersected over the looks so far (``-inf`` / ``inf`` before there are enough rows).
    confidence : float
        Two-sided level; each bound errs (at any look) with probability at most ``(1 - confidence) / 2``.
    method : str
        ``betting``, ``normal_mixture`` or ``msprt``.
    details : dict
        Parameters (bounds, truncation, rho, n_opt, tau2) and whether the intersection became empty.
    """

    looks: np.ndarray
    estimate: np.ndarray
    low: np.ndarray
    high: np.ndarray
    confidence: float
    method: str
    details: dict[str, Any] = field(default_factory=dict)

    def first_exclusion(self, value: float, side: Side = "either") -> int | None:
        """Index of the first look at which the sequence lies wholly on one side of ``value``.

        Parameters
        ----------
        value : float
            A limit, e.g. ``-margin`` for a difference that must not fall below it.
        side : {"below", "above", "either"}
            ``below``: ``high < value`` (the mean is proven below it); ``above``: ``low > value``;
            ``either``: the first of the two.

        Returns
        -------
        int or None
            Position in ``looks`` (``looks[i]`` rows), or None when no look excludes it.
        """
        if side not in ("below", "above", "either"):
            raise ValueError(f"side must be below, above or either (got {side!r})")
        below, above = self.high < value, self.low > value
        hit = below if side == "below" else above if side == "above" else below | above
        idx = np.flatnonzero(hit)
        return int(idx[0]) if idx.size else None


def _observations(x: Any) -> np.ndarray:
    a = np.asarray(x, dtype=float)
    if a.ndim != 1 or a.size == 0:
        raise ValueError(f"observations must be a non-empty one-dimensional array (got shape {a.shape})")
    if not np.all(np.isfinite(a)):
        bad = int(np.flatnonzero(~np.isfinite(a))[0])
        raise ValueError(f"observation {bad} is {a[bad]!r}: every row needs a finite value (drop or count it first)")
    return a


def _looks(n: int, looks: Any) -> np.ndarray:
    if looks is None:
        return np.arange(1, n + 1)
    lk = np.asarray(looks)
    if lk.ndim != 1 or lk.size == 0 or not np.issubdtype(lk.dtype, np.integer):
        raise ValueError("looks must be a non-empty one-dimensional array of row counts (integers)")
    if lk[0] < 1 or lk[-1] > n or np.any(np.diff(lk) <= 0):
        raise ValueError(f"looks must increase strictly within 1..{n} rows (got {lk[0]}..{lk[-1]})")
    return lk.astype(np.int64)


def _check_confidence(confidence: float) -> float:
    if not 0 < confidence < 1:
        raise ValueError(f"confidence must be in (0, 1) (got {confidence!r})")
    return 1.0 - confidence


def paired_differences(candidate: Any, baseline: Any) -> np.ndarray:
    """Differences of two independently served arms, paired in arrival order.

    Parameters
    ----------
    candidate, baseline : array-like of shape (n_c,), (n_b,)
        Per-row observations of each arm in arrival order.

    Returns
    -------
    ndarray of shape (min(n_c, n_b),)
        ``candidate[i] - baseline[i]``: independent, identically distributed, with mean the difference of
        the arms' means and variance the sum of their variances (the surplus rows of the longer arm wait
        for their pair).
    """
    c, b = _observations(candidate), _observations(baseline)
    k = min(c.size, b.size)
    return c[:k] - b[:k]


# ---------------------------------------------------------------- betting (Waudby-Smith & Ramdas 2024)

def predictable_bets(y: np.ndarray, alpha: float) -> np.ndarray:
    """Return the predictable plug-in bets ``l_t`` of Waudby-Smith & Ramdas (2024).

    Parameters
    ----------
    y : ndarray of shape (..., n)
        Observations in [0, 1], in arrival order along the last axis.
    alpha : float
        Two-sided level of the sequence.

    Returns
    -------
    ndarray of shape (..., n)
        ``l_t = sqrt(2 log(2 / alpha) / (s2_{t-1} t log(1 + t)))`` with ``s2_0 = 1/4``; ``l_t`` uses rows
        before ``t`` only.
    """
    n = y.shape[-1]
    t = np.arange(1, n + 1, dtype=float)
    mu = (0.5 + np.cumsum(y, axis=-1)) / (t + 1)
    s2 = (0.25 + np.cumsum((y - mu) ** 2, axis=-1)) / (t + 1)
    s2_prev = np.concatenate([np.full((*y.shape[:-1], 1), 0.25), s2[..., :-1]], axis=-1)
    return np.sqrt(2.0 * math.log(2.0 / alpha) / (s2_prev * t * np.log1p(t)))


def _log_factors(y: np.ndarray, bets: np.ndarray, m: Any, sign: int, truncation: float) -> np.ndarray:
    """``log(1 +- min(l_i, c / m or c / (1 - m)) (y_i - m))`` elementwise (``m`` broadcast against ``y``)."""
    m = np.asarray(m, dtype=float)
    with np.errstate(divide="ignore"):
        cap = truncation / (m if sign > 0 else 1.0 - m)
    lam = np.minimum(bets, cap)
    return np.log1p(sign * lam * (y - m))


def betting_log_capital(x: Any, value: float, lower: float, upper: float, confidence: float = 0.95,
                        truncation: float = 0.5) -> tuple[np.ndarray, np.ndarray]:
    """Log capital of the two one-sided betting processes at one candidate mean, after every row.

    Parameters
    ----------
    x : array-like of shape (..., n)
        Observations in ``[lower, upper]``, in arrival order along the last axis (several sequences at
        once: one per leading index).
    value : float
        Candidate mean ``m`` in ``[lower, upper]``.
    lower, upper : float
        The observations' bounds.
    confidence : float
        Two-sided level (sets the bets).
    truncation : float
        ``c`` in ``(0, 1)``; 1/2 as recommended by Waudby-Smith & Ramdas.

    Returns
    -------
    log_up, log_down : ndarray of shape (..., n)
        ``log K_t^+(m)`` (grows when the mean is above ``m``) and ``log K_t^-(m)`` (grows when it is
        below). ``m`` is excluded at row ``t`` when either exceeds ``log(2 / alpha)``; a mean above ``m``
        is proven when ``log_up`` does, one below ``m`` when ``log_down`` does.

    Raises
    ------
    ValueError
        Bounds not ordered, observations or ``value`` outside them.
    """
    alpha = _check_confidence(confidence)
    y, m = _rescale(np.asarray(x, dtype=float), lower, upper), (value - lower) / (upper - lower)
    if not 0 <= m <= 1:
        raise ValueError(f"value {value!r} is outside [{lower}, {upper}]")
    bets = predictable_bets(y, alpha)
    return (np.cumsum(_log_factors(y, bets, m, +1, truncation), axis=-1),
            np.cumsum(_log_factors(y, bets, m, -1, truncation), axis=-1))


def _rescale(x: np.ndarray, lower: float, upper: float) -> np.ndarray:
    if not (math.isfinite(lower) and math.isfinite(upper) and lower < upper):
        raise ValueError(f"bounds must be finite with lower < upper (got [{lower}, {upper}])")
    if not np.all(np.isfinite(x)) or np.any(x < lower) or np.any(x > upper):
        raise ValueError(f"every observation must lie in [{lower}, {upper}] (the betting sequence's bounds)")
    return (x - lower) / (upper - lower)


def betting_cs(x: Any, lower: float, upper: float, confidence: float = 0.95, looks: Any = None,
               truncation: float = 0.5, tol: float = 1e-10) -> ConfidenceSequence:
    """Hedged-capital betting confidence sequence for the mean of bounded observations.

    Waudby-Smith & Ramdas (*JRSS-B* 86(1), 2024, hedged capital; formulas in the module
    docstring). Each bound is found by bisection on the candidate mean (the capital is monotone in it),
    to ``tol`` times the range, on the side that keeps the bound valid.

    Parameters
    ----------
    x : array-like of shape (n,)
        Observations in arrival order, each in ``[lower, upper]``.
    lower, upper : float
        Known bounds of every observation (``[0, 1]`` for an error indicator, ``[-1, 1]`` for a
        difference of two indicators or scores).
    confidence : float
        Two-sided level; each bound errs at some look with probability at most ``(1 - confidence) / 2``.
    looks : array-like of int, optional
        Rows seen at each look (strictly increasing); default every row. The bisection costs about
        ``70 x rows x looks`` operations: give the looks for a long log (:func:`betting_log_capital` tests
        one value at every row in ``O(rows)``).
    truncation : float
        ``c`` in (0, 1), the largest bet as a share of what the capital can lose (1/2 recommended).
    tol : float
        Bisection tolerance as a share of ``upper - lower``.

    Returns
    -------
    ConfidenceSequence
        Method ``betting``; the bounds intersected over the looks.

    Raises
    ------
    ValueError
        Observations outside the bounds or not finite, bad looks, a confidence or truncation outside
        (0, 1).
    """
    alpha = _check_confidence(confidence)
    if not 0 < truncation < 1:
        raise ValueError(f"truncation must be in (0, 1) (got {truncation!r})")
    a = _observations(x)
    y = _rescale(a, lower, upper)
    lk = _looks(a.size, looks)
    bets = predictable_bets(y, alpha)
    thr = math.log(2.0 / alpha)
    iters = math.ceil(math.log2(1.0 / tol)) + 1
    lo_b, hi_b = np.empty(lk.size), np.empty(lk.size)
    chunk = max(1, 2_000_000 // a.size)
    for s in range(0, lk.size, chunk):
        t = lk[s:s + chunk]
        mask = np.arange(int(t[-1]))[None, :] < t[:, None]          # rows seen at each look
        yy, bb = y[: t[-1]][None, :], bets[: t[-1]][None, :]

        def log_k(m: np.ndarray, sign: int, yy: np.ndarray = yy, bb: np.ndarray = bb,
                  mask: np.ndarray = mask) -> np.ndarray:
            return np.where(mask, _log_factors(yy, bb, m[:, None], sign, truncation), 0.0).sum(axis=1)

        # lower bound: inf {m : K+(m) < 2/alpha}; K+ falls with m, K+(1) <= 1
        a0, b0 = np.zeros(t.size), np.ones(t.size)           # a0 excluded (or 0), b0 inside
        free = log_k(a0, +1) < thr                           # 0 itself is inside: bound 0
        for _ in range(iters):
            mid = (a0 + b0) / 2
            out = log_k(mid, +1) >= thr
            a0, b0 = np.where(out, mid, a0), np.where(out, b0, mid)
        lo_b[s:s + chunk] = np.where(free, 0.0, b0)
        # upper bound: sup {m : K-(m) < 2/alpha}; K- rises with m, K-(0) <= 1
        a1, b1 = np.zeros(t.size), np.ones(t.size)           # a1 inside, b1 excluded (or 1)
        free = log_k(b1, -1) < thr
        for _ in range(iters):
            mid = (a1 + b1) / 2
            out = log_k(mid, -1) >= thr
            a1, b1 = np.where(out, a1, mid), np.where(out, mid, b1)
        hi_b[s:s + chunk] = np.where(free, 1.0, a1)
    width = upper - lower
    low = np.maximum.accumulate(lower + width * lo_b)
    high = np.minimum.accumulate(lower + width * hi_b)
    estimate = np.cumsum(a)[lk - 1] / lk
    empty = np.flatnonzero(low > high)
    return ConfidenceSequence(lk, estimate, low, high, float(confidence), "betting",
                              {"lower": lower, "upper": upper, "truncation": truncation,
                               "empty_from_look": int(empty[0]) if empty.size else None,
                               "source": "Waudby-Smith & Ramdas, JRSS-B 2024, hedged capital"})


# ------------------------------------------------------------ normal mixture (Robbins; Howard et al. 2021)

def _log_mixture_one_sided(s: np.ndarray, v: np.ndarray, rho: float) -> np.ndarray:
    from scipy.special import log_ndtr

    w = v + rho
    return math.log(2.0) + 0.5 * np.log(rho / w) + s * s / (2 * w) + log_ndtr(s / np.sqrt(w))


def normal_mixture_boundary(v: Any, alpha: float, rho: float, one_sided: bool = True) -> np.ndarray:
    """Return the normal mixture boundary ``u(v)``: ``P(exists t: S_t >= u(V_t)) <= alpha`` for 1-sub-Gaussian ``S``.

    Howard et al. (*Ann. Statist.* 49(2), 2021, normal mixture boundaries, after Robbins 1970):

    - ``one_sided=True``: mixing the exponential supermartingale ``exp(l S - l^2 V / 2)`` over a half-normal
      ``l >= 0`` of precision ``rho`` gives
      ``M = 2 sqrt(rho / (v + rho)) exp(s^2 / (2 (v + rho))) Phi(s / sqrt(v + rho))``; ``u(v)`` solves
      ``M = 1 / alpha`` (by bisection; ``M`` increases with ``s``).
    - ``one_sided=False``: mixing over ``N(0, 1 / rho)`` gives the closed form
      ``u(v) = sqrt((v + rho) log((v + rho) / (rho alpha^2)))`` for ``|S_t|``.

    Parameters
    ----------
    v : array-like
        Intrinsic time (the variance process; ``t`` for ``t`` standardized rows), ``>= 0``.
    alpha : float
        Crossing probability in (0, 1).
    rho : float
        Mixture precision (> 0), in the units of ``v``; :func:`optimal_rho` picks it.
    one_sided : bool
        See above.

    Returns
    -------
    ndarray
        ``u(v)``, of the shape of ``v``.
    """
    vv = np.asarray(v, dtype=float)
    if not 0 < alpha < 1 or not rho > 0:
        raise ValueError(f"need alpha in (0, 1) and rho > 0 (got {alpha!r}, {rho!r})")
    two = np.sqrt((vv + rho) * np.log((vv + rho) / (rho * alpha ** 2)))
    if not one_sided:
        return two
    # bracket: M(0) = sqrt(rho / (v + rho)) <= 1 < 1 / alpha; at the two-sided boundary for alpha / 2,
    # M = 2 Phi(.) * 2 / alpha >= 2 / alpha
    lo, hi = np.zeros_like(vv), np.sqrt((vv + rho) * np.log((vv + rho) / (rho * (alpha / 2) ** 2)))
    target = -math.log(alpha)
    for _ in range(100):
        mid = (lo + hi) / 2
        up = _log_mixture_one_sided(mid, vv, rho) >= target
        lo, hi = np.where(up, lo, mid), np.where(up, mid, hi)
    return hi


@lru_cache(maxsize=256)
def optimal_rho(n_opt: float, alpha: float, one_sided: bool = True) -> float:
    """Return the mixture precision that makes :func:`normal_mixture_boundary` tightest (per row) at ``v = n_opt``.

    Minimises ``u(n_opt) / n_opt`` over ``rho`` numerically (for the two-sided boundary the optimum solves
    ``x = log(1 + x) + 2 log(1 / alpha)`` with ``x = n_opt / rho``, set the derivative in rho to 0).
    Fix ``n_opt`` before the data arrive (e.g. the planned rows of the rollout): choosing it after looking
    voids the guarantee.

    Parameters
    ----------
    n_opt : float
        Rows (intrinsic time) at which the boundary should be tightest, > 0.
    alpha : float
        Crossing probability of the boundary.
    one_sided : bool
        Which boundary.

    Returns
    -------
    float
    """
    from scipy.optimize import minimize_scalar

    if not n_opt > 0:
        raise ValueError(f"n_opt must be positive (got {n_opt!r})")
    res = minimize_scalar(lambda lr: float(normal_mixture_boundary(np.array([n_opt]), alpha, math.exp(lr),
                                                                   one_sided)[0]),
                          bounds=(math.log(n_opt) - 12, math.log(n_opt) + 4), method="bounded",
                          options={"xatol": 1e-9})
    return float(math.exp(res.x))


def _running_moments(a: np.ndarray, lk: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Mean and sample standard deviation (ddof = 1) of the first ``lk`` rows, for each look."""
    shift = a[0]
    d = a - shift
    s1, s2 = np.cumsum(d)[lk - 1], np.cumsum(d * d)[lk - 1]
    mean = s1 / lk
    with np.errstate(invalid="ignore", divide="ignore"):
        var = np.where(lk > 1, (s2 - lk * mean * mean) / (lk - 1), np.nan)
    return mean + shift, np.sqrt(np.maximum(var, 0.0))


def off_mode_counts(x: Any, looks: Any = None) -> np.ndarray:
    """Rows, at each look, whose value differs from the value most common among the rows so far.

    For paired differences of 0/1 outcomes that are mostly 0 this is the number of non-zero (discordant)
    differences; for 0/1 values, the count of the rarer value. It is at most the count of non-zero values.

    Parameters
    ----------
    x : array-like of shape (n,)
        Observations in arrival order.
    looks : array-like of int, optional
        Rows seen at each look; default every row.

    Returns
    -------
    ndarray of int, shape (L,)
        ``t - max_v #{i <= t : x_i = v}`` at each look ``t``.
    """
    a = _observations(x)
    lk = _looks(a.size, looks)
    _, inv = np.unique(a, return_inverse=True)
    order = np.argsort(inv, kind="stable")
    grouped = inv[order]
    starts = np.r_[0, np.flatnonzero(np.diff(grouped)) + 1]
    sizes = np.diff(np.r_[starts, a.size])
    occurrence = np.empty(a.size, dtype=np.int64)
    occurrence[order] = np.arange(a.size) - np.repeat(starts, sizes) + 1   # i-th row is the k-th of its value
    mode_count = np.maximum.accumulate(occurrence)
    return (np.arange(1, a.size + 1) - mode_count)[lk - 1]


def normal_mixture_cs(x: Any, confidence: float = 0.95, looks: Any = None, n_opt: float = 1000.0,
                      sd: float | None = None, min_rows: int = 30, min_off_mode: int = 0) -> ConfidenceSequence:
    """Normal-mixture confidence sequence for a mean; asymptotic with an estimated standard deviation.

    ``C_t = mean_t +- sd_t u(t) / t`` with ``u`` the one-sided normal mixture boundary at ``alpha / 2`` for
    each bound (:func:`normal_mixture_boundary`, Howard et al. 2021) and ``rho`` tightest at ``n_opt`` rows.
    With a known ``sd`` (sub-Gaussian rows with that variance factor, e.g. ``(upper - lower) / 2`` for
    bounded rows) the sequence is exact; with ``sd=None`` the running sample standard deviation is used,
    Waudby-Smith et al.'s asymptotic confidence sequence (*Ann. Statist.*, 2024), valid
    as the rows grow (latency means, differences of means: use :func:`paired_differences` for two arms).

    Parameters
    ----------
    x : array-like of shape (n,)
        Observations in arrival order.
    confidence : float
        Two-sided level.
    looks : array-like of int, optional
        Rows seen at each look; default every row.
    n_opt : float
        Rows at which the sequence is tightest (fix it before the rollout).
    sd : float, optional
        Known standard deviation (sub-Gaussian variance factor) of one row.
    min_rows : int
        With an estimated standard deviation, looks with fewer rows (or a zero estimate) report
        ``(-inf, inf)``: the asymptotic sequence says nothing about a handful of rows. Not applied with a
        known ``sd`` (the sequence is then exact from the first row).
    min_off_mode : int
        With an estimated standard deviation, looks at which fewer rows than this differ from the most common
        value so far (:func:`off_mode_counts`; for mostly-zero paired differences of 0/1 outcomes, the non-zero
        differences) report ``(-inf, inf)`` too: a spread estimated from one or two discordant rows is far too
        small, and the asymptotic sequence then claims far more than its level (at accuracies 0.94 vs 0.99 with
        the limit at the true change, 4.8 % false safety at a promised 2.5 %: ``tests/sections/
        test_canary_sequential.py``). Default 0 (no such requirement); the sequential canary and shadow use 30.

    Returns
    -------
    ConfidenceSequence
        Method ``normal_mixture``; bounds intersected over the looks.

    Raises
    ------
    ValueError
        Non-finite observations, bad looks, a confidence outside (0, 1), a non-positive ``sd``.
    """
    alpha = _check_confidence(confidence)
    a = _observations(x)
    lk = _looks(a.size, looks)
    rho = optimal_rho(n_opt, alpha / 2)
    u = normal_mixture_boundary(lk.astype(float), alpha / 2, rho)
    mean, s = _running_moments(a, lk)
    if sd is not None:
        if not sd > 0:
            raise ValueError(f"sd must be positive (got {sd!r})")
        s = np.full(lk.size, float(sd))
    ok = (lk >= (1 if sd is not None else max(min_rows, 2))) & (s > 0)
    if sd is None and min_off_mode > 0:
        ok &= off_mode_counts(a, lk) >= min_off_mode
    half = np.where(ok, s * u / lk, np.inf)
    low = np.maximum.accumulate(mean - half)
    high = np.minimum.accumulate(mean + half)
    empty = np.flatnonzero(low > high)
    return ConfidenceSequence(lk, mean, low, high, float(confidence), "normal_mixture",
                              {"rho": rho, "n_opt": n_opt, "sd": sd, "min_rows": min_rows,
                               "min_off_mode": min_off_mode if sd is None else 0,
                               "variance": "known" if sd is not None else "estimated (asymptotic)",
                               "empty_from_look": int(empty[0]) if empty.size else None,
                               "source": "Howard et al., Ann. Statist. 2021 (one-sided normal mixture); "
                                         "Waudby-Smith et al., Ann. Statist. 2024 (asymptotic CS)"})


# ---------------------------------------------------------------------- mSPRT (Johari et al. 2017)

@dataclass(frozen=True)
class MSPRTResult:
    """The mixture SPRT at each look.

    Parameters
    ----------
    looks : ndarray of int, shape (L,)
        Rows (pairs) seen at each look.
    estimate : ndarray of shape (L,)
        Mean difference at each look.
    log_likelihood_ratio : ndarray of shape (L,)
        ``log Lambda_n`` against ``null_value``.
    p_value : ndarray of shape (L,)
        Always-valid p-value, ``min(1, min over looks so far of 1 / Lambda)``.
    sequence : ConfidenceSequence
        ``{theta : Lambda_n(theta) < 1 / alpha}`` at ``confidence``, intersected over the looks.
    null_value : float
        ``theta_0``.
    tau2 : ndarray of shape (L,)
        Mixing variance used at each look.
    """

    looks: np.ndarray
    estimate: np.ndarray
    log_likelihood_ratio: np.ndarray
    p_value: np.ndarray
    sequence: ConfidenceSequence
    null_value: float
    tau2: np.ndarray

    def first_rejection(self, alpha: float) -> int | None:
        """Index of the first look whose always-valid p-value is at most ``alpha`` (None: never)."""
        idx = np.flatnonzero(self.p_value <= alpha)
        return int(idx[0]) if idx.size else None


def msprt(x: Any, null_value: float = 0.0, confidence: float = 0.95, looks: Any = None,
          variance: float | None = None, tau2: float | None = None, n_opt: float = 1000.0,
          min_rows: int = 30) -> MSPRTResult:
    """Mixture sequential probability ratio test for a mean difference (Johari et al., KDD 2017).

    With ``Z_i`` the per-row (or per-pair, :func:`paired_differences`) differences of variance ``sigma^2``
    and the mixing distribution ``N(theta_0, tau^2)``:
    ``Lambda_n = sqrt(sigma^2 / (sigma^2 + n tau^2))
    exp(n^2 tau^2 (Zbar_n - theta_0)^2 / (2 sigma^2 (sigma^2 + n tau^2)))``;
    the always-valid p-value is ``p_n = min(1, min_{k <= n} 1 / Lambda_k)`` and the confidence sequence
    ``Zbar_n +- sqrt(sigma^2 (sigma^2 + n tau^2) / (n^2 tau^2) log((sigma^2 + n tau^2) / (sigma^2 alpha^2)))``
    (``alpha = 1 - confidence``, two-sided). It is the two-sided normal mixture of Robbins (1970) with
    ``rho = sigma^2 / tau^2`` rows.

    Parameters
    ----------
    x : array-like of shape (n,)
        Differences in arrival order.
    null_value : float
        ``theta_0`` of the p-value.
    confidence : float
        Level of the confidence sequence.
    looks : array-like of int, optional
        Rows seen at each look; default every row.
    variance : float, optional
        Known ``sigma^2``; default the running sample variance (the plug-in of Johari et al., valid as the
        rows grow).
    tau2 : float, optional
        Mixing variance in the unit of ``x`` squared (the scale of effects expected); default
        ``sigma^2 / rho`` with ``rho`` from :func:`optimal_rho` for ``n_opt`` (two-sided), which makes the
        sequence tightest at ``n_opt`` rows.
    n_opt : float
        See ``tau2``.
    min_rows : int
        With an estimated variance, looks with fewer rows (or a zero variance) have ``Lambda = 1``, ``p = 1``
        and no bounds; not applied with a known ``variance``.

    Returns
    -------
    MSPRTResult

    Raises
    ------
    ValueError
        Non-finite observations, bad looks, a non-positive variance or ``tau2``.
    """
    alpha = _check_confidence(confidence)
    a = _observations(x)
    lk = _looks(a.size, looks)
    mean, s = _running_moments(a, lk)
    if variance is not None:
        if not variance > 0:
            raise ValueError(f"variance must be positive (got {variance!r})")
        s2 = np.full(lk.size, float(variance))
    else:
        s2 = s * s
    if tau2 is not None and not tau2 > 0:
        raise ValueError(f"tau2 must be positive (got {tau2!r})")
    rho = optimal_rho(n_opt, alpha, one_sided=False) if tau2 is None else None
    ok = (lk >= (1 if variance is not None else max(min_rows, 2))) & (s2 > 0)
    s2_safe = np.where(ok, s2, 1.0)
    t2 = np.full(lk.size, float(tau2)) if tau2 is not None else s2_safe / rho
    n = lk.astype(float)
    w = s2_safe + n * t2
    log_lr = 0.5 * np.log(s2_safe / w) + n * n * t2 * (mean - null_value) ** 2 / (2 * s2_safe * w)
    log_lr = np.where(ok, log_lr, 0.0)
    p = np.minimum(1.0, np.exp(-np.maximum.accumulate(log_lr)))
    half = np.where(ok, np.sqrt(s2_safe * w / (n * n * t2) * np.log(w / (s2_safe * alpha ** 2))), np.inf)
    low, high = np.maximum.accumulate(mean - half), np.minimum.accumulate(mean + half)
    empty = np.flatnonzero(low > high)
    cs = ConfidenceSequence(lk, mean, low, high, float(confidence), "msprt",
                            {"null_value": null_value, "variance": "known" if variance is not None else "estimated",
                             "tau2": tau2, "rho": rho, "n_opt": n_opt, "min_rows": min_rows,
                             "empty_from_look": int(empty[0]) if empty.size else None,
                             "source": "Johari, Koomen, Pekelis & Walsh, KDD 2017"})
    return MSPRTResult(lk, mean, log_lr, p, cs, float(null_value), t2)
