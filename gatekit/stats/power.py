"""Power before the verdict: the smallest effect the rows can show, and the rows a margin needs.

The gate decides on one bound of a two-sided ``confidence`` interval, a one-sided test at
``alpha = (1 - confidence) / 2``. For an estimate that is approximately normal with standard error ``se``
(a Wald statistic; DeLong's for AUC), the test of ``H0: delta <= delta_0`` has power
``Phi((delta_1 - delta_0) / se - z_{1 - alpha})`` at a true ``delta_1`` (e.g. Chow, Shao & Wang, *Sample
Size Calculations in Clinical Research*, 2nd ed., 2008, chapters 3 and 4; Julious, *Statist. Med.*
23, 2004, for non-inferiority and equivalence). So:

- minimum detectable effect ``MDE = (z_{1 - alpha} + z_{power}) se``: the distance from the limit at which
  the bound excludes it with probability ``power``;
- rows needed: with ``se`` proportional to ``1 / sqrt(rows)``, ``rows' = rows ((z_{1 - alpha} + z_{power}) se
  / effect)^2``; for two independent arms with a fixed allocation ratio the same holds per arm.

Variances: a difference of means ``sd^2 (1 / n_c + 1 / n_b)`` (unpaired arms) or ``sd_diff^2 / n`` (the
same rows); a difference of proportions unpooled ``p_c (1 - p_c) / n_c + p_b (1 - p_b) / n_b`` (the Wald
interval the gate reads, evaluated at the true proportions); ROC AUC by Hanley & McNeil (*Radiology* 143,
1982): ``var(A) = (A (1 - A) + (n_pos - 1) (Q1 - A^2) + (n_neg - 1) (Q2 - A^2)) / (n_pos n_neg)``
with ``Q1 = A / (2 - A)``, ``Q2 = 2 A^2 / (1 + A)``, and two correlated AUCs by Hanley & McNeil
(*Radiology* 148, 1983): ``var(A1 - A2) = var(A1) + var(A2) - 2 r se(A1) se(A2)``.
"""

from __future__ import annotations

import math
from typing import Any


def _norm() -> Any:
    from scipy.stats import norm  # heavy: imported when a figure is computed, not at import time

    return norm


def _brentq(*args: Any, **kw: Any) -> float:
    from scipy.optimize import brentq

    return float(brentq(*args, **kw))


def _check(confidence: float, power: float) -> None:
    if not 0 < confidence < 1:
        raise ValueError(f"confidence must be in (0, 1) (got {confidence!r})")
    if not 0 < power < 1:
        raise ValueError(f"power must be in (0, 1) (got {power!r})")


def one_sided_alpha(confidence: float) -> float:
    """Return the gate's one-sided level for a two-sided ``confidence`` interval: ``(1 - confidence) / 2``."""
    if not 0 < confidence < 1:
        raise ValueError(f"confidence must be in (0, 1) (got {confidence!r})")
    return (1.0 - confidence) / 2


def z_total(confidence: float = 0.95, power: float = 0.8) -> float:
    """``z_{1 - alpha} + z_{power}`` with ``alpha = (1 - confidence) / 2`` (2.8016 at 0.95 and 0.8)."""
    _check(confidence, power)
    return float(_norm().isf(one_sided_alpha(confidence)) + _norm().ppf(power))


def power_at(effect: float, se: float, confidence: float = 0.95) -> float:
    """Power of the one-sided test at ``(1 - confidence) / 2`` when the truth is ``effect`` beyond the limit.

    Parameters
    ----------
    effect : float
        Distance of the true value from the limit, on the side the test is to show (>= 0 for power).
    se : float
        Standard error of the estimate (> 0).
    confidence : float
        Two-sided level of the gate's interval.

    Returns
    -------
    float
        ``Phi(effect / se - z_{1 - alpha})``.
    """
    if not se > 0:
        raise ValueError(f"se must be positive (got {se!r})")
    return float(_norm().cdf(effect / se - _norm().isf(one_sided_alpha(confidence))))


def minimum_detectable_effect(se: float, confidence: float = 0.95, power: float = 0.8) -> float:
    """Return the smallest distance from a limit that the bound shows with probability ``power``.

    Parameters
    ----------
    se : float
        Standard error of the estimate at the rows at hand (> 0), e.g. DeLong's, or
        :func:`se_from_interval` of a bootstrap interval.
    confidence : float
        Two-sided level of the gate's interval.
    power : float
        Target power.

    Returns
    -------
    float
        ``(z_{1 - alpha} + z_{power}) se``, in the estimate's unit.
    """
    if not se > 0:
        raise ValueError(f"se must be positive (got {se!r})")
    return z_total(confidence, power) * se


def rows_needed(se: float, rows: float, effect: float, confidence: float = 0.95, power: float = 0.8) -> float:
    """Rows at which an estimate with standard error ``se`` at ``rows`` rows shows ``effect`` with ``power``.

    Parameters
    ----------
    se : float
        Standard error at ``rows`` rows (> 0); assumed proportional to ``1 / sqrt(rows)``.
    rows : float
        The rows (or rows per arm) it was computed on.
    effect : float
        Distance of the assumed truth from the limit (> 0), e.g. ``margin`` when the truth is no change.
    confidence, power : float
        As :func:`minimum_detectable_effect`.

    Returns
    -------
    float
        ``rows (z_total se / effect)^2`` (not rounded; take the ceiling); ``inf`` when that exceeds the largest
        float (an effect such as 1e-300: no number of rows shows it).
    """
    if not effect > 0:
        raise ValueError(f"effect must be positive (got {effect!r})")
    ratio = minimum_detectable_effect(se, confidence, power) / effect
    return float(rows * ratio * ratio)  # float multiplication overflows to inf where ** raises OverflowError


def se_from_interval(low: float, high: float, confidence: float) -> float:
    """Return the standard error implied by a two-sided normal interval: ``(high - low) / (2 z_{1 - alpha})``.

    For a percentile bootstrap interval this is the normal approximation of its spread.
    """
    if not (math.isfinite(low) and math.isfinite(high) and high > low):
        raise ValueError(f"need a finite interval with high > low (got [{low}, {high}])")
    return float((high - low) / (2 * _norm().isf(one_sided_alpha(confidence))))


# ----------------------------------------------------------------------------------------- means

def se_means(sd: float, n_candidate: float, n_baseline: float | None = None, sd_baseline: float | None = None
             ) -> float:
    """Return the standard error of a difference of means.

    ``n_baseline=None``: the same rows (paired), ``sd`` is that of the per-row difference:
    ``sd / sqrt(n)``. Else two independent arms: ``sqrt(sd^2 / n_c + sd_b^2 / n_b)`` (``sd_b = sd`` by default).
    """
    if not (sd > 0 and n_candidate > 0):
        raise ValueError("sd and rows must be positive")
    if n_baseline is None:
        return sd / math.sqrt(n_candidate)
    sb = sd if sd_baseline is None else sd_baseline
    return math.sqrt(sd * sd / n_candidate + sb * sb / n_baseline)


def mde_means(sd: float, n_candidate: float, n_baseline: float | None = None, confidence: float = 0.95,
              power: float = 0.8, sd_baseline: float | None = None) -> float:
    """Minimum detectable difference of means (:func:`se_means`, :func:`minimum_detectable_effect`)."""
    return minimum_detectable_effect(se_means(sd, n_candidate, n_baseline, sd_baseline), confidence, power)


def rows_for_margin_means(sd: float, margin: float, true_difference: float = 0.0, ratio: float | None = 1.0,
                          confidence: float = 0.95, power: float = 0.8, sd_baseline: float | None = None) -> float:
    """Rows (per candidate arm) to show a difference of means is within ``margin`` of harm.

    Non-inferiority: ``H0: delta <= -margin`` (delta oriented so that higher is better) at the gate's
    one-sided level, with power at a true ``delta = true_difference``:
    ``n_c = z_total^2 (sd^2 + sd_b^2 / ratio) / (margin + true_difference)^2`` (independent arms,
    ``n_b = ratio n_c``) or ``z_total^2 sd^2 / (margin + true_difference)^2`` (``ratio=None``: the same rows,
    ``sd`` of the per-row difference).

    Returns
    -------
    float
        Candidate rows (not rounded).
    """
    effect = margin + true_difference
    if not effect > 0:
        raise ValueError(f"margin + true_difference must be positive (got {effect!r}): no power to show it")
    sb = sd if sd_baseline is None else sd_baseline
    unit = sd * sd if ratio is None else sd * sd + sb * sb / ratio
    return float(z_total(confidence, power) ** 2 * unit / effect ** 2)


# ----------------------------------------------------------------------------------- proportions

def _var_prop(p: float) -> float:
    return p * (1.0 - p)


def _check_p(*ps: float) -> None:
    for p in ps:
        if not 0 < p < 1:
            raise ValueError(f"a proportion must be in (0, 1) (got {p!r})")


def mde_proportions(p_baseline: float, n_candidate: float, n_baseline: float, confidence: float = 0.95,
                    power: float = 0.8, direction: int = -1) -> float:
    """Minimum detectable difference of two independent proportions (e.g. accuracy or error rate of arms).

    Solves ``|d| = z_total sqrt(p_b (1 - p_b) / n_b + (p_b + d) (1 - p_b - d) / n_c)`` for ``d`` on the side
    ``direction`` (the unpooled Wald variance at the true proportions).

    Parameters
    ----------
    p_baseline : float
        Baseline proportion in (0, 1).
    n_candidate, n_baseline : float
        Rows of each arm.
    confidence, power : float
        As :func:`minimum_detectable_effect`.
    direction : {-1, 1}
        -1: the smallest detectable fall (candidate below baseline); 1: rise.

    Returns
    -------
    float
        ``|d|``; ``inf`` when no difference inside (0, 1) is detectable.
    """
    _check_p(p_baseline)
    if direction not in (-1, 1):
        raise ValueError("direction must be -1 or 1")
    zt = z_total(confidence, power)
    room = (p_baseline if direction < 0 else 1.0 - p_baseline) - 1e-12

    def gap(d: float) -> float:
        pc = p_baseline + direction * d
        return d - zt * math.sqrt(_var_prop(p_baseline) / n_baseline + _var_prop(pc) / n_candidate)

    if gap(room) < 0:
        return math.inf
    return float(_brentq(gap, 0.0, room, xtol=1e-14))


def rows_for_margin_proportions(p_baseline: float, margin: float, true_difference: float = 0.0,
                                ratio: float = 1.0, confidence: float = 0.95, power: float = 0.8) -> float:
    """Candidate rows to show a proportion fell by at most ``margin`` (non-inferiority of two arms).

    ``H0: p_c - p_b <= -margin`` (higher is better; flip the sign for an error rate) with power at
    ``p_c = p_b + true_difference``:
    ``n_c = z_total^2 (p_c (1 - p_c) + p_b (1 - p_b) / ratio) / (margin + true_difference)^2``, ``n_b = ratio n_c``
    (the normal sample size of the Wald test with the unpooled variance; Chow, Shao & Wang 2008, ch. 4).

    Returns
    -------
    float
        Candidate rows (not rounded).
    """
    pc = p_baseline + true_difference
    _check_p(p_baseline, pc)
    effect = margin + true_difference
    if not effect > 0:
        raise ValueError(f"margin + true_difference must be positive (got {effect!r})")
    return float(z_total(confidence, power) ** 2 * (_var_prop(pc) + _var_prop(p_baseline) / ratio) / effect ** 2)


# ------------------------------------------------------------------------------------------ AUC

def hanley_mcneil_variance(auc: float, n_pos: float, n_neg: float) -> float:
    """Variance of an empirical ROC AUC (Hanley & McNeil, *Radiology* 143, 1982).

    ``(A (1 - A) + (n_pos - 1) (Q1 - A^2) + (n_neg - 1) (Q2 - A^2)) / (n_pos n_neg)`` with
    ``Q1 = A / (2 - A)`` and ``Q2 = 2 A^2 / (1 + A)`` (exact when the scores of both classes are
    exponential, a good approximation for others).

    Parameters
    ----------
    auc : float
        In (0, 1).
    n_pos, n_neg : float
        Positives ("abnormal") and negatives (>= 1).

    Returns
    -------
    float
    """
    if not 0 < auc < 1:
        raise ValueError(f"auc must be in (0, 1) (got {auc!r})")
    if not (n_pos >= 1 and n_neg >= 1):
        raise ValueError("need at least one positive and one negative")
    q1, q2 = auc / (2 - auc), 2 * auc * auc / (1 + auc)
    a2 = auc * auc
    return float((auc * (1 - auc) + (n_pos - 1) * (q1 - a2) + (n_neg - 1) * (q2 - a2)) / (n_pos * n_neg))


def se_auc_difference(auc_candidate: float, auc_baseline: float, n_pos: float, n_neg: float,
                      correlation: float = 0.0, n_pos_baseline: float | None = None,
                      n_neg_baseline: float | None = None) -> float:
    """Return the standard error of ``AUC_c - AUC_b`` (Hanley & McNeil 1982, 1983).

    ``correlation`` is that of the two AUC estimates (0 for canary arms on different rows; Hanley &
    McNeil 1983 tabulate it from the scores' correlation for the same rows). The baseline's class counts
    default to the candidate's.
    """
    if not -1 <= correlation <= 1:
        raise ValueError(f"correlation must be in [-1, 1] (got {correlation!r})")
    v1 = hanley_mcneil_variance(auc_candidate, n_pos, n_neg)
    v2 = hanley_mcneil_variance(auc_baseline, n_pos if n_pos_baseline is None else n_pos_baseline,
                                n_neg if n_neg_baseline is None else n_neg_baseline)
    return math.sqrt(max(v1 + v2 - 2 * correlation * math.sqrt(v1 * v2), 0.0))


def mde_auc(auc_baseline: float, n_pos: float, n_neg: float, confidence: float = 0.95, power: float = 0.8,
            correlation: float = 0.0, n_pos_baseline: float | None = None, n_neg_baseline: float | None = None
            ) -> float:
    """Smallest detectable fall of AUC (candidate below baseline) with the Hanley-McNeil variance.

    Solves ``d = z_total se(A_b - d, A_b)`` (:func:`se_auc_difference`) for ``d`` in ``(0, A_b)``.

    Returns
    -------
    float
        ``d``; ``inf`` when no fall down to AUC 0 is detectable.
    """
    zt = z_total(confidence, power)

    def gap(d: float) -> float:
        return d - zt * se_auc_difference(auc_baseline - d, auc_baseline, n_pos, n_neg, correlation,
                                          n_pos_baseline, n_neg_baseline)

    room = auc_baseline - 1e-9
    if gap(room) < 0:
        return math.inf
    return float(_brentq(gap, 0.0, room, xtol=1e-14))


def rows_for_margin_auc(auc_baseline: float, margin: float, prevalence: float, true_difference: float = 0.0,
                        correlation: float = 0.0, ratio: float = 1.0, confidence: float = 0.95,
                        power: float = 0.8) -> float:
    """Candidate rows to show AUC fell by at most ``margin`` (non-inferiority), Hanley-McNeil variance.

    Solves ``margin + true_difference = z_total se(n)`` for the candidate's rows ``n`` (``n prevalence``
    positives, the baseline ``ratio n`` rows with the same prevalence; ``correlation`` 0 for arms on
    different rows).

    Returns
    -------
    float
        Candidate rows (not rounded).
    """
    _check_p(prevalence)
    effect = margin + true_difference
    if not effect > 0:
        raise ValueError(f"margin + true_difference must be positive (got {effect!r})")
    zt = z_total(confidence, power)
    ac = auc_baseline + true_difference

    def gap(n: float) -> float:
        nb = ratio * n
        return zt * se_auc_difference(ac, auc_baseline, n * prevalence, n * (1 - prevalence), correlation,
                                      nb * prevalence, nb * (1 - prevalence)) - effect

    lo = 1.0 / min(prevalence, 1 - prevalence) / min(ratio, 1.0)      # at least one row of each class
    hi = lo * 2
    while gap(hi) > 0:
        hi *= 2
    return float(_brentq(gap, lo, hi, xtol=1e-9)) if gap(lo) > 0 else lo
