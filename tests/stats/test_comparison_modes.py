"""Tests of :mod:`gatekit.stats.comparison_modes`: TOST against statsmodels, outcomes by hand, error rates at
the band's edges by simulation.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy.stats import norm
from statsmodels.stats.weightstats import ztest, ztost

from gatekit.stats.comparison_modes import (
    Evidence,
    decide_mode,
    equivalence,
    non_inferiority,
    superiority,
)
from gatekit.stats.intervals import bootstrap_auc_difference, delong_difference
from tests.stats import simulations


def _sample(seed: int, mean: float, n: int = 300) -> tuple[np.ndarray, Evidence]:
    x = np.random.default_rng(seed).normal(mean, 1.0, n)
    return x, Evidence(float(x.mean()), se=float(x.std(ddof=1) / math.sqrt(n)))


@pytest.mark.parametrize(("seed", "mean"), [(1, 0.0), (2, 0.12), (3, -0.18), (4, 0.3)])
def test_tost_equals_statsmodels_ztost(seed: int, mean: float) -> None:
    x, ev = _sample(seed, mean)
    p, (_, p_low), (_, p_high) = ztost(x, -0.2, 0.2)
    res = equivalence(ev, 0.2, confidence=0.90)          # Schuirmann's 5 % test
    assert res.p_value == pytest.approx(p, rel=1e-10)
    assert res.details["p_lower"] == pytest.approx(p_low, rel=1e-10)
    assert res.details["p_upper"] == pytest.approx(p_high, rel=1e-10)
    assert (res.outcome == "proven") == (p <= 0.05)
    assert res.alpha == pytest.approx(0.05)


@pytest.mark.parametrize(("seed", "mean"), [(5, 0.0), (6, -0.1), (7, 0.2)])
def test_one_sided_modes_equal_statsmodels_ztest(seed: int, mean: float) -> None:
    x, ev = _sample(seed, mean)
    ni = non_inferiority(ev, 0.15, confidence=0.95)
    assert ni.p_value == pytest.approx(ztest(x, value=-0.15, alternative="larger")[1], rel=1e-10)
    assert (ni.outcome == "proven") == (ni.p_value <= 0.025)
    sup = superiority(ev, confidence=0.95, margin=0.05)
    assert sup.p_value == pytest.approx(ztest(x, value=0.05, alternative="larger")[1], rel=1e-10)
    assert (sup.outcome == "proven") == (sup.p_value < 0.025)


def _ev(low: float, high: float, confidence: float = 0.95) -> Evidence:
    """Normal evidence whose two-sided ``confidence`` interval is [low, high]."""
    z = norm.isf((1 - confidence) / 2)
    return Evidence((low + high) / 2, se=(high - low) / (2 * z))


@pytest.mark.parametrize(("low", "high", "ni", "sup", "eq"), [
    (0.01, 0.045, "proven", "proven", "proven"),             # inside the band and above 0
    (-0.02, 0.03, "proven", "inconclusive", "proven"),
    (-0.08, 0.03, "inconclusive", "inconclusive", "inconclusive"),
    (-0.20, -0.06, "disproven", "disproven", "disproven"),   # wholly below -0.05
    (0.07, 0.20, "proven", "proven", "disproven"),           # wholly above the band's upper edge
    (-0.04, 0.06, "proven", "inconclusive", "inconclusive"),
])
def test_outcomes_by_hand(low: float, high: float, ni: str, sup: str, eq: str) -> None:
    ev = _ev(low, high)
    r = non_inferiority(ev, 0.05)
    assert (r.outcome, r.low, r.high) == (ni, pytest.approx(low), pytest.approx(high))
    assert superiority(ev).outcome == sup
    assert equivalence(ev, 0.05).outcome == eq
    assert decide_mode("equivalence", ev, band=(-0.05, 0.05)).outcome == eq


def test_lower_is_better_flips_the_direction() -> None:
    # latency change +3 ms, 95 % CI [1, 5]: a rise within 10 ms is non-inferior, and not an improvement
    ev = _ev(1.0, 5.0)
    r = non_inferiority(ev, 10.0, higher_is_better=False)
    assert r.outcome == "proven" and r.limits == (10.0,)
    assert (r.low, r.high) == (pytest.approx(1.0), pytest.approx(5.0))
    assert non_inferiority(ev, 0.5, higher_is_better=False).outcome == "disproven"
    assert superiority(ev, higher_is_better=False).outcome == "disproven"
    assert superiority(_ev(-5.0, -1.0), higher_is_better=False).outcome == "proven"


def test_bootstrap_evidence_outcome_agrees_with_its_p_value() -> None:
    rng = np.random.default_rng(8)
    for trial in range(200):
        reps = rng.normal(rng.normal(0, 0.05), 0.04, 999)
        if trial % 2:
            reps = np.round(reps, 2)                          # ties
        ev = Evidence(float(np.median(reps)), replicates=reps)
        lo, hi = np.quantile(reps, [0.025, 0.975])
        assert ev.interval(0.95) == (pytest.approx(lo), pytest.approx(hi))
        ni = non_inferiority(ev, 0.03)
        assert (ni.outcome == "proven") == (ni.p_value <= 0.025)
        sup = superiority(ev)
        assert (sup.outcome == "proven") == (sup.p_value < 0.025)
        eq = equivalence(ev, (-0.04, 0.06))
        assert (eq.outcome == "proven") == (eq.p_value <= 0.025)


def test_evidence_from_gate_intervals() -> None:
    rng = np.random.default_rng(4)
    y = rng.integers(0, 2, 300)
    a, b = y + rng.normal(0, 1, 300), y + rng.normal(0, 1.1, 300)
    dl = delong_difference(y, a, b)
    ev = Evidence.from_interval(dl)
    assert ev.method == "normal"
    assert ev.interval(0.95) == (pytest.approx(dl.low), pytest.approx(dl.high))
    bs = bootstrap_auc_difference(y, a, b, resamples=500)
    evb = Evidence.from_interval(bs)
    assert evb.method == "bootstrap_percentile"
    assert evb.interval(0.95) == (pytest.approx(bs.low), pytest.approx(bs.high))


def test_invalid_inputs_raise() -> None:
    with pytest.raises(ValueError, match="exactly one"):
        Evidence(0.1)
    with pytest.raises(ValueError, match="exactly one"):
        Evidence(0.1, se=0.1, replicates=np.ones(3))
    with pytest.raises(ValueError):
        Evidence(float("nan"), se=0.1)
    with pytest.raises(ValueError):
        Evidence(0.0, se=0.0)
    with pytest.raises(ValueError):
        Evidence(0.0, replicates=np.array([1.0, np.inf]))
    ev = _ev(-0.1, 0.1)
    with pytest.raises(ValueError):
        non_inferiority(ev, -0.1)
    with pytest.raises(ValueError):
        equivalence(ev, (0.1, -0.1))
    with pytest.raises(ValueError):
        superiority(ev, confidence=1.0)
    with pytest.raises(ValueError, match="band"):
        decide_mode("equivalence", ev)
    with pytest.raises(ValueError, match="unknown"):
        decide_mode("better", ev)


@pytest.mark.slow
def test_error_rates_at_the_band_edges() -> None:
    for r in simulations.modes_table():
        sd = math.sqrt(r["nominal"] * (1 - r["nominal"]) / r["sims"])
        boot = r["method"].startswith("percentile")
        if "type I" in r["check"]:
            assert r["measured"] <= r["nominal"] + 3 * sd, r
        else:  # power and coverage: equal within Monte Carlo error (the bootstrap's interval is a little narrower)
            assert abs(r["measured"] - r["nominal"]) <= 3 * sd + (0.02 if boot else 0.0), r
