"""Tests of :mod:`gatekit.stats.sequential`: boundaries against numerical integration of the mixtures, the
betting sequence against a brute-force grid and a plain loop, and the repeated-looks simulations.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy.integrate import quad
from scipy.optimize import brentq
from scipy.stats import norm

from gatekit.stats.sequential import (
    ConfidenceSequence,
    betting_cs,
    betting_log_capital,
    msprt,
    normal_mixture_boundary,
    normal_mixture_cs,
    off_mode_counts,
    optimal_rho,
    paired_differences,
)
from tests.stats import simulations


def _one_sided_mixture(s: float, v: float, rho: float) -> float:
    """Half-normal mixture of exp(l s - l^2 v / 2) over l >= 0 with precision rho, by quadrature."""
    peak = max(s / (v + rho), 0.0)
    def f(lam: float) -> float:
        return 2 * math.sqrt(rho / (2 * math.pi)) * math.exp(lam * s - lam * lam * (v + rho) / 2)

    return quad(f, 0, peak, limit=200)[0] + quad(f, peak, math.inf, limit=200)[0]


def _two_sided_mixture(s: float, v: float, rho: float) -> float:
    def f(lam: float) -> float:
        return math.sqrt(rho / (2 * math.pi)) * math.exp(lam * s - lam * lam * (v + rho) / 2)

    peak = s / (v + rho)
    return quad(f, -math.inf, peak, limit=200)[0] + quad(f, peak, math.inf, limit=200)[0]


@pytest.mark.parametrize(("v", "rho"), [(10.0, 5.0), (100.0, 20.0), (1000.0, 150.0), (5000.0, 40.0)])
@pytest.mark.parametrize("alpha", [0.025, 0.05])
def test_normal_mixture_boundary_crosses_where_the_mixture_reaches_one_over_alpha(v: float, rho: float,
                                                                                   alpha: float) -> None:
    u1 = float(normal_mixture_boundary(np.array([v]), alpha, rho)[0])
    assert _one_sided_mixture(u1, v, rho) == pytest.approx(1 / alpha, rel=1e-7)
    u2 = float(normal_mixture_boundary(np.array([v]), alpha, rho, one_sided=False)[0])
    assert _two_sided_mixture(u2, v, rho) == pytest.approx(1 / alpha, rel=1e-7)
    assert u1 < u2    # one side at alpha is tighter than both at alpha


def test_optimal_rho() -> None:
    for n, alpha in ((500.0, 0.05), (3000.0, 0.025)):
        x = brentq(lambda x, a=alpha: x - math.log1p(x) - 2 * math.log(1 / a), 1e-6, 1e3)
        assert optimal_rho(n, alpha, one_sided=False) == pytest.approx(n / x, rel=1e-4)
        rho = optimal_rho(n, alpha)
        at = lambda r, a=alpha, n=n: float(normal_mixture_boundary(np.array([n]), a, r)[0])  # noqa: E731
        assert at(rho) < at(rho * 1.1) and at(rho) < at(rho / 1.1)


def test_normal_mixture_cs_with_known_sd_is_the_boundary_in_the_mean_scale() -> None:
    rng = np.random.default_rng(1)
    x = rng.normal(3.0, 2.0, 400)
    cs = normal_mixture_cs(x, 0.95, looks=np.array([400]), n_opt=400, sd=2.0)
    rho = cs.details["rho"]
    s = (cs.estimate[0] - cs.low[0]) * 400 / 2.0       # the sum of standardized rows at the bound
    assert _one_sided_mixture(s, 400.0, rho) == pytest.approx(2 / 0.05, rel=1e-7)
    assert cs.high[0] - cs.estimate[0] == pytest.approx(cs.estimate[0] - cs.low[0])
    assert cs.estimate[0] == pytest.approx(x.mean())


def test_normal_mixture_cs_estimates_sd_and_intersects_over_looks() -> None:
    rng = np.random.default_rng(2)
    x = rng.lognormal(4.0, 0.6, 1500)
    looks = np.arange(100, 1501, 100)
    cs = normal_mixture_cs(x, 0.95, looks=looks, n_opt=1500)
    single = [normal_mixture_cs(x[:t], 0.95, looks=np.array([t]), n_opt=1500) for t in looks]
    np.testing.assert_allclose(cs.low, np.maximum.accumulate([c.low[0] for c in single]))
    np.testing.assert_allclose(cs.high, np.minimum.accumulate([c.high[0] for c in single]))
    t = looks[3]
    half = x[:t].std(ddof=1) * normal_mixture_boundary(np.array([float(t)]), 0.025, cs.details["rho"])[0] / t
    assert single[3].high[0] - x[:t].mean() == pytest.approx(half)
    early = normal_mixture_cs(x, 0.95, looks=np.array([10, 29, 30]), min_rows=30)
    assert np.isinf(early.low[:2]).all() and np.isfinite(early.low[2])


def test_off_mode_counts_by_a_plain_loop() -> None:
    rng = np.random.default_rng(5)
    for x in (rng.integers(-1, 2, 300).astype(float), rng.choice([0.0, 0.0, 0.0, 1.0], 200), rng.normal(0, 1, 50)):
        want = []
        for t in range(1, x.size + 1):
            _, counts = np.unique(x[:t], return_counts=True)
            want.append(t - counts.max())
        assert off_mode_counts(x).tolist() == want
        looks = np.array([1, 7, x.size])
        assert off_mode_counts(x, looks).tolist() == [want[0], want[6], want[-1]]


def test_the_normal_mixture_waits_for_rows_off_the_most_common_value() -> None:
    # 100 differences, mostly 0: the k-th non-zero difference at row 3 k; the spread is estimated from the first
    # discordant rows, so min_off_mode=30 gives no bounds until the 30th of them (row 90)
    x = np.zeros(100)
    x[2::3] = np.tile([-1.0, 1.0], 17)[:33]
    cs = normal_mixture_cs(x, 0.95, min_rows=30, min_off_mode=30)
    plain = normal_mixture_cs(x, 0.95, min_rows=30)
    first = int(np.flatnonzero(np.isfinite(cs.low))[0]) + 1
    assert first == 90 and int(np.flatnonzero(np.isfinite(plain.low))[0]) + 1 == 30
    assert cs.low[-1] == pytest.approx(max(plain.low[89:]))  # the same bounds from there on, intersected
    assert cs.details["min_off_mode"] == 30
    known = normal_mixture_cs(x, 0.95, sd=1.0, min_off_mode=30)  # an exact (known-sd) sequence is not held back
    assert np.isfinite(known.low[0])


def test_msprt_likelihood_ratio_equals_the_mixture_integral() -> None:
    rng = np.random.default_rng(3)
    z = rng.normal(0.15, 1.0, 200)
    sigma2, tau2, theta0 = 1.0, 0.04, 0.0
    res = msprt(z, theta0, 0.95, looks=np.array([20, 80, 200]), variance=sigma2, tau2=tau2)
    for k, n in enumerate(res.looks):
        s = float(np.sum(z[:n] - theta0))

        def integrand(theta: float, s: float = s, n: int = int(n)) -> float:
            d = theta - theta0
            return math.exp(d * s / sigma2 - n * d * d / (2 * sigma2)) * norm.pdf(theta, theta0, math.sqrt(tau2))

        lam = quad(integrand, -3, 3, limit=200, points=[s / n])[0]
        assert res.log_likelihood_ratio[k] == pytest.approx(math.log(lam), rel=1e-7, abs=1e-9)
    np.testing.assert_allclose(res.p_value, np.minimum(1, np.exp(-np.maximum.accumulate(res.log_likelihood_ratio))))
    # the sequence's bound is where Lambda reaches 1 / alpha
    one = msprt(z, 0.0, 0.95, looks=np.array([200]), variance=sigma2, tau2=tau2)
    at_bound = msprt(z, float(one.sequence.high[0]), 0.95, looks=np.array([200]), variance=sigma2, tau2=tau2)
    assert at_bound.log_likelihood_ratio[0] == pytest.approx(math.log(1 / 0.05), rel=1e-9)


def test_msprt_is_the_two_sided_normal_mixture() -> None:
    rng = np.random.default_rng(4)
    z = rng.normal(0.0, 1.5, 600)
    res = msprt(z, 0.0, 0.9, looks=np.array([600]), variance=2.25, tau2=0.01)
    rho = 2.25 / 0.01
    u = normal_mixture_boundary(np.array([600.0]), 0.1, rho, one_sided=False)[0]
    assert res.sequence.high[0] - res.estimate[0] == pytest.approx(1.5 * u / 600, rel=1e-12)
    assert res.first_rejection(0.1) is None or res.p_value[res.first_rejection(0.1)] <= 0.1  # type: ignore[index]


def _capital_by_loop(x: list[float], m: float, alpha: float, c: float = 0.5) -> tuple[float, float]:
    """Waudby-Smith & Ramdas's hedged capital written out one row at a time (data in [0, 1])."""
    kp = km = 0.0
    s1, ss = 0.0, 0.0
    sigma2_prev = 0.25
    for t, xi in enumerate(x, start=1):
        lam = math.sqrt(2 * math.log(2 / alpha) / (sigma2_prev * t * math.log(1 + t)))
        lp = min(lam, c / m) if m > 0 else lam
        lm = min(lam, c / (1 - m)) if m < 1 else lam
        kp += math.log(1 + lp * (xi - m))
        km += math.log(1 - lm * (xi - m))
        s1 += xi
        mu = (0.5 + s1) / (t + 1)
        ss += (xi - mu) ** 2
        sigma2_prev = (0.25 + ss) / (t + 1)
    return kp, km


def test_betting_capital_equals_a_plain_loop() -> None:
    rng = np.random.default_rng(5)
    x = rng.beta(2, 5, 150)
    for m in (0.0, 0.1, 0.3, 0.5, 0.9, 1.0):
        up, down = betting_log_capital(x, m, 0.0, 1.0, 0.9)
        kp, km = _capital_by_loop(list(x), m, 0.1)
        assert (up[-1], down[-1]) == (pytest.approx(kp, rel=1e-12), pytest.approx(km, rel=1e-12))
    # rescaling: data in [-1, 1] at value v is the [0, 1] data at (v + 1) / 2
    d = 2 * x - 1
    up2, down2 = betting_log_capital(d, -0.4, -1.0, 1.0, 0.9)
    up1, down1 = betting_log_capital(x, 0.3, 0.0, 1.0, 0.9)
    np.testing.assert_allclose(up2, up1)
    np.testing.assert_allclose(down2, down1)


def test_betting_cs_equals_a_brute_force_grid() -> None:
    rng = np.random.default_rng(6)
    x = (rng.random(400) < 0.15).astype(float) - (rng.random(400) < 0.1)   # differences in {-1, 0, 1}
    looks = np.array([50, 100, 200, 400])
    cs = betting_cs(x, -1.0, 1.0, 0.95, looks)
    grid = np.linspace(-1, 1, 4001)
    thr = math.log(2 / 0.05)
    inside = np.ones((len(looks), grid.size), dtype=bool)
    for j, m in enumerate(grid):
        up, down = betting_log_capital(x, float(m), -1.0, 1.0, 0.95)
        inside[:, j] = (up[looks - 1] < thr) & (down[looks - 1] < thr)
    inside = np.logical_and.accumulate(inside, axis=0)          # running intersection over the looks
    step = grid[1] - grid[0]
    for k in range(len(looks)):
        g = grid[inside[k]]
        assert cs.low[k] <= g.min() + 1e-9 and cs.low[k] >= g.min() - step
        assert cs.high[k] >= g.max() - 1e-9 and cs.high[k] <= g.max() + step
        assert (inside[k][1:] != inside[k][:-1]).sum() <= 2             # an interval
    np.testing.assert_allclose(cs.estimate, np.cumsum(x)[looks - 1] / looks)


def test_first_exclusion_agrees_with_the_capital_at_the_value() -> None:
    rng = np.random.default_rng(7)
    x = (rng.random(3000) < 0.14).astype(float) - (rng.random(3000) < 0.10)   # a true rise of 0.04
    looks = np.arange(100, 3001, 100)
    cs = betting_cs(x, -1.0, 1.0, 0.95, looks)
    up, _ = betting_log_capital(x, 0.0, -1.0, 1.0, 0.95)
    thr = math.log(2 / 0.05)
    first = int(np.flatnonzero(up[looks - 1] >= thr)[0])
    assert cs.first_exclusion(0.0, "above") == first
    assert cs.first_exclusion(0.0, "below") is None
    assert cs.first_exclusion(0.0) == first


def test_confidence_sequence_first_exclusion_by_hand() -> None:
    cs = ConfidenceSequence(np.array([10, 20, 30]), np.zeros(3), np.array([-1.0, -0.5, 0.2]),
                            np.array([1.0, 0.5, 0.4]), 0.95, "test")
    assert cs.first_exclusion(0.0, "above") == 2
    assert cs.first_exclusion(0.45, "below") == 2
    assert cs.first_exclusion(0.6, "below") == 1
    assert cs.first_exclusion(-2.0, "below") is None
    with pytest.raises(ValueError):
        cs.first_exclusion(0.0, "left")  # type: ignore[arg-type]


def test_paired_differences_and_bad_inputs() -> None:
    np.testing.assert_array_equal(paired_differences([1.0, 2.0, 3.0], [0.5, 0.5]), [0.5, 1.5])
    with pytest.raises(ValueError, match=r"\[0.0, 1.0\]"):
        betting_cs([0.2, 1.4], 0.0, 1.0)
    with pytest.raises(ValueError, match="finite"):
        normal_mixture_cs([1.0, float("nan")])
    with pytest.raises(ValueError, match="looks"):
        betting_cs([0.2, 0.4], 0.0, 1.0, looks=np.array([2, 1]))
    with pytest.raises(ValueError, match="looks"):
        msprt([0.2, 0.4], looks=np.array([3]))
    with pytest.raises(ValueError):
        betting_cs([0.2], 1.0, 0.0)
    with pytest.raises(ValueError):
        msprt([0.2, 0.4], variance=0.0)


@pytest.mark.slow
def test_repeated_looks_without_a_true_difference() -> None:
    rows = simulations.sequential_null_table()
    for r in rows:
        if "CS" in r["method"]:
            nominal = r["nominal"]
            assert r["measured"] <= nominal + 3 * math.sqrt(nominal * (1 - nominal) / r["sims"]), r
        elif "either" in r["check"]:
            assert 0.2 <= r["measured"] <= 0.4, r       # the fixed-n interval's inflation (about 25-30 %)
    for r in simulations.betting_coverage_table():
        assert r["measured"] <= r["nominal"] + 3 * math.sqrt(r["nominal"] * (1 - r["nominal"]) / r["sims"]), r


@pytest.mark.slow
def test_rows_to_stop_with_a_true_harm() -> None:
    rows = simulations.sequential_harm_table()
    for r in rows:
        assert r["measured"] >= 0.95, r
        assert math.isfinite(r["median_pairs_to_stop"])
    by = {(r["setting"], r["method"]): r["median_pairs_to_stop"] for r in rows}
    errors = "errors 10 % -> 13 % (+0.03)"
    # anytime validity costs rows: the sequences stop later than the (invalid) fixed-n peeking
    assert by[(errors, "betting CS")] > by[(errors, "fixed-n 95 % interval at every look (invalid)")]
