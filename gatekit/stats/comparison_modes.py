"""Named comparison modes against production: superiority, non-inferiority, equivalence.

Each mode decides a difference ``delta = candidate - baseline`` from an estimate and its sampling
distribution (bootstrap replicates, or a normal standard error such as DeLong's) on the two-sided
``confidence`` interval, the gate's convention: every one-sided test is at level
``alpha = (1 - confidence) / 2``. Below, "higher is better"; with ``higher_is_better=False`` (errors,
latency) the difference is negated first, and the interval is reported in the metric's own sign.

- **superiority** by ``margin >= 0`` (``H0: delta <= margin``): *proven* when the lower bound is above the
  margin; *disproven* when the upper bound is at or below it; else *inconclusive*.
- **non-inferiority** with ``margin >= 0`` (``H0: delta < -margin``; the margin itself is allowed, as the
  gate's ``max_drop``): *proven* when the lower bound is at least ``-margin``; *disproven* (inferiority
  shown) when the upper bound is below ``-margin``; else *inconclusive*.
- **equivalence** within a band ``[lower, upper]`` (``H0: delta < lower or delta > upper``), by two one-sided
  tests (Schuirmann, *J. Pharmacokinet. Biopharm.* 15, 1987): *proven* when the interval lies inside the
  band, which is both one-sided tests at ``alpha`` rejecting (the TOST p-value is the larger of the two);
  *disproven* when the interval lies wholly outside the band; else *inconclusive*. Schuirmann's usual 5 %
  test is ``confidence = 0.90``.

*Inconclusive* is an outcome of its own (the interval straddles a limit): the policy decides what it
costs, never a coin flip. The p-value of each mode (:mod:`gatekit.stats.multiplicity`) is at most
``alpha`` exactly when the mode's outcome is *proven*, so a family of mode rules can be adjusted together.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np

from gatekit.stats.multiplicity import bootstrap_p_value, normal_p_value

Outcome = Literal["proven", "disproven", "inconclusive"]
MODES: tuple[str, ...] = ("superiority", "non_inferiority", "equivalence")


@dataclass(frozen=True)
class Evidence:
    """A difference's estimate and its sampling distribution.

    Parameters
    ----------
    estimate : float
        The point estimate (candidate - baseline), in the metric's unit.
    se : float, optional
        Normal standard error (DeLong, or a Wald standard error).
    replicates : ndarray of shape (B,), optional
        Bootstrap replicates of the difference (percentile method). Exactly one of ``se`` and
        ``replicates`` is given.

    Raises
    ------
    ValueError
        Neither or both given, a non-finite estimate, a non-positive standard error, fewer than 2 or
        non-finite replicates.
    """

    estimate: float
    se: float | None = None
    replicates: np.ndarray | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        if (self.se is None) == (self.replicates is None):
            raise ValueError("give exactly one of se (normal) and replicates (bootstrap)")
        if not np.isfinite(self.estimate):
            raise ValueError(f"the estimate is not finite ({self.estimate!r})")
        if self.se is not None and not (np.isfinite(self.se) and self.se > 0):
            raise ValueError(f"the standard error must be positive and finite (got {self.se!r})")
        if self.replicates is not None:
            r = np.asarray(self.replicates, dtype=float).ravel()
            if r.size < 2 or not np.all(np.isfinite(r)):
                raise ValueError("bootstrap evidence needs at least 2 finite replicates")
            object.__setattr__(self, "replicates", r)

    @property
    def method(self) -> str:
        """``normal`` or ``bootstrap_percentile``."""
        return "normal" if self.se is not None else "bootstrap_percentile"

    @classmethod
    def from_interval(cls, interval: Any) -> Evidence:
        """Evidence of an :class:`~gatekit.stats.intervals.Interval`: DeLong's ``se`` or the bootstrap replicates.

        Raises
        ------
        ValueError
            The interval has neither.
        """
        if "se" in interval.details:
            return cls(float(interval.estimate), se=float(interval.details["se"]))
        if getattr(interval, "replicates", None) is not None:
            return cls(float(interval.estimate), replicates=interval.replicates)
        raise ValueError(f"a {interval.method} interval without its standard error or replicates")

    def negated(self) -> Evidence:
        """Return the evidence for ``-delta``."""
        if self.se is not None:
            return Evidence(-self.estimate, se=self.se)
        assert self.replicates is not None
        return Evidence(-self.estimate, replicates=-self.replicates)

    def interval(self, confidence: float) -> tuple[float, float]:
        """Two-sided interval at ``confidence``: ``estimate +- z se``, or the percentile interval.

        The percentile interval is ``numpy.quantile(replicates, [a / 2, 1 - a / 2])`` with
        ``a = 1 - confidence``, as :func:`gatekit.stats.intervals.bootstrap_statistic` computes it.
        """
        a = 1.0 - confidence
        if self.se is not None:
            from scipy.stats import norm

            z = float(norm.isf(a / 2))
            return self.estimate - z * self.se, self.estimate + z * self.se
        low, high = np.quantile(self.replicates, [a / 2, 1 - a / 2])  # type: ignore[arg-type]
        return float(low), float(high)

    def p_value(self, limit: float, alternative: Literal["greater", "less"], strict: bool = False) -> float:
        """Return the one-sided p-value against ``limit``.

        :func:`~gatekit.stats.multiplicity.normal_p_value` or
        :func:`~gatekit.stats.multiplicity.bootstrap_p_value`.
        """
        if self.se is not None:
            return normal_p_value(self.estimate, self.se, limit, alternative)
        return bootstrap_p_value(self.replicates, limit, alternative, strict)


@dataclass(frozen=True)
class ModeResult:
    """A comparison mode's decision.

    Parameters
    ----------
    mode : str
        ``superiority``, ``non_inferiority`` or ``equivalence``.
    outcome : {"proven", "disproven", "inconclusive"}
        Proven: the claim holds at the confidence; disproven: its opposite is shown; inconclusive: the
        interval straddles a limit.
    estimate : float
        Point estimate of ``candidate - baseline`` in the metric's sign.
    low, high : float
        The two-sided interval the decision read, in the metric's sign.
    confidence : float
        Its level; each one-sided test is at ``alpha = (1 - confidence) / 2``.
    limits : tuple of float
        The limits in the metric's sign: ``(margin,)`` or ``(-margin,)`` after orientation, or the band.
    p_value : float
        p-value of the claim (TOST: the larger of the two); ``<= alpha`` exactly when proven (strict
        ``<`` for superiority on tied bootstrap replicates, see
        :func:`~gatekit.stats.multiplicity.bootstrap_p_value`).
    method : str
        ``normal`` or ``bootstrap_percentile``.
    details : dict
        The hypotheses in words and the one-sided p-values.
    """

    mode: str
    outcome: Outcome
    estimate: float
    low: float
    high: float
    confidence: float
    limits: tuple[float, ...]
    p_value: float
    method: str
    details: dict[str, Any] = field(default_factory=dict)

    @property
    def alpha(self) -> float:
        """One-sided level of each test, ``(1 - confidence) / 2``."""
        return (1.0 - self.confidence) / 2


def _check_confidence(confidence: float) -> None:
    if not 0 < confidence < 1:
        raise ValueError(f"confidence must be in (0, 1) (got {confidence!r})")


def _oriented(evidence: Evidence, higher_is_better: bool) -> tuple[Evidence, float]:
    return (evidence, 1.0) if higher_is_better else (evidence.negated(), -1.0)


def _result(mode: str, outcome: Outcome, evidence: Evidence, oriented: tuple[float, float], sign: float,
            confidence: float, limits: tuple[float, ...], p: float, details: dict[str, Any]) -> ModeResult:
    low, high = oriented if sign > 0 else (-oriented[1], -oriented[0])
    return ModeResult(mode, outcome, float(evidence.estimate), float(low), float(high), confidence,
                      tuple(float(sign * t) for t in limits), float(p), evidence.method, details)


def superiority(evidence: Evidence, confidence: float = 0.95, margin: float = 0.0,
                higher_is_better: bool = True) -> ModeResult:
    """Decide superiority by ``margin``: is the candidate better than production by more than ``margin``.

    ``H0: delta <= margin`` against ``H1: delta > margin`` (delta oriented so that higher is better).

    Parameters
    ----------
    evidence : Evidence
        Estimate of ``candidate - baseline`` with its standard error or replicates.
    confidence : float
        Two-sided level of the interval decided on; the test is at ``(1 - confidence) / 2``.
    margin : float
        ``>= 0``, in the metric's unit (0: plain superiority).
    higher_is_better : bool
        False for errors and latency (a decrease is an improvement).

    Returns
    -------
    ModeResult
        Proven when the oriented lower bound exceeds the margin, disproven when the oriented upper bound
        is at most the margin, else inconclusive.

    Raises
    ------
    ValueError
        A negative margin or a confidence outside (0, 1).
    """
    _check_confidence(confidence)
    if margin < 0:
        raise ValueError(f"the superiority margin must be >= 0 (got {margin!r})")
    ev, sign = _oriented(evidence, higher_is_better)
    low, high = ev.interval(confidence)
    outcome: Outcome = "proven" if low > margin else "disproven" if high <= margin else "inconclusive"
    p = ev.p_value(margin, "greater", strict=True)
    return _result("superiority", outcome, evidence, (low, high), sign, confidence, (margin,), p,
                   {"null": f"improvement <= {margin:g}", "alternative": f"improvement > {margin:g}"})


def non_inferiority(evidence: Evidence, margin: float, confidence: float = 0.95,
                    higher_is_better: bool = True) -> ModeResult:
    """Decide non-inferiority with ``margin``: is the candidate worse than production by at most ``margin``.

    ``H0: delta < -margin`` against ``H1: delta >= -margin`` (delta oriented so that higher is better; the
    margin itself is allowed, as ``max_drop``).

    Parameters
    ----------
    evidence : Evidence
        Estimate of ``candidate - baseline``.
    margin : float
        ``>= 0``: the largest acceptable loss, in the metric's unit.
    confidence : float
        Two-sided level; the test is at ``(1 - confidence) / 2``.
    higher_is_better : bool
        False for errors and latency.

    Returns
    -------
    ModeResult
        Proven when the oriented lower bound is at least ``-margin``; disproven when the oriented upper
        bound is below ``-margin`` (inferiority shown); else inconclusive.

    Raises
    ------
    ValueError
        A negative margin or a confidence outside (0, 1).
    """
    _check_confidence(confidence)
    if margin < 0:
        raise ValueError(f"the non-inferiority margin must be >= 0 (got {margin!r})")
    ev, sign = _oriented(evidence, higher_is_better)
    low, high = ev.interval(confidence)
    outcome: Outcome = "proven" if low >= -margin else "disproven" if high < -margin else "inconclusive"
    p = ev.p_value(-margin, "greater")
    return _result("non_inferiority", outcome, evidence, (low, high), sign, confidence, (-margin,), p,
                   {"null": f"loss > {margin:g}", "alternative": f"loss <= {margin:g}"})


def equivalence(evidence: Evidence, band: float | tuple[float, float], confidence: float = 0.95) -> ModeResult:
    """Decide equivalence within a band by two one-sided tests (Schuirmann 1987).

    ``H0: delta < lower or delta > upper`` against ``H1: lower <= delta <= upper``; each one-sided test at
    ``alpha = (1 - confidence) / 2``, together the ``1 - 2 alpha = confidence`` interval inside the band.
    The TOST p-value is ``max(p_lower, p_upper)`` (each a one-sided p-value of its bound).

    Parameters
    ----------
    evidence : Evidence
        Estimate of ``candidate - baseline`` (no orientation: a band is symmetric in meaning).
    band : float or (float, float)
        ``d > 0`` for ``[-d, d]``, or ``(lower, upper)`` with ``lower < upper``.
    confidence : float
        Two-sided level of the interval (0.90 is Schuirmann's 5 % test).

    Returns
    -------
    ModeResult
        Proven when ``lower <= low`` and ``high <= upper``; disproven when ``high < lower`` or
        ``low > upper``; else inconclusive.

    Raises
    ------
    ValueError
        An empty band or a confidence outside (0, 1).
    """
    _check_confidence(confidence)
    lower, upper = (-float(band), float(band)) if np.isscalar(band) else (float(band[0]), float(band[1]))  # type: ignore[index,arg-type]
    if not lower < upper:
        raise ValueError(f"an equivalence band needs lower < upper (got [{lower}, {upper}])")
    low, high = evidence.interval(confidence)
    inside = low >= lower and high <= upper
    outside = high < lower or low > upper
    outcome: Outcome = "proven" if inside else "disproven" if outside else "inconclusive"
    p_low = evidence.p_value(lower, "greater")
    p_high = evidence.p_value(upper, "less")
    return _result("equivalence", outcome, evidence, (low, high), 1.0, confidence, (lower, upper),
                   max(p_low, p_high), {"null": f"change outside [{lower:g}, {upper:g}]",
                                        "alternative": f"change within [{lower:g}, {upper:g}]",
                                        "p_lower": p_low, "p_upper": p_high})


def decide_mode(mode: str, evidence: Evidence, confidence: float = 0.95, margin: float = 0.0,
                band: float | tuple[float, float] | None = None, higher_is_better: bool = True) -> ModeResult:
    """Dispatch to :func:`superiority`, :func:`non_inferiority` or :func:`equivalence` by name.

    Raises
    ------
    ValueError
        An unknown mode, or equivalence without a band.
    """
    if mode == "superiority":
        return superiority(evidence, confidence, margin, higher_is_better)
    if mode == "non_inferiority":
        return non_inferiority(evidence, margin, confidence, higher_is_better)
    if mode == "equivalence":
        if band is None:
            raise ValueError("equivalence needs a band")
        return equivalence(evidence, band, confidence)
    raise ValueError(f"unknown comparison mode {mode!r}; use one of {', '.join(MODES)}")
