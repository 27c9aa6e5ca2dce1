"""Tests of :mod:`gatekit.stats.power`: against statsmodels' power functions, by hand, and by simulation."""

from __future__ import annotations

import math

import pytest
from scipy.stats import norm
from statsmodels.stats.power import NormalIndPower, normal_power_het, normal_sample_size_one_tail

from gatekit.stats.power import (
    hanley_mcneil_variance,
    mde_auc,
    mde_means,
    mde_proportions,
    minimum_detectable_effect,
    one_sided_alpha,
    power_at,
    rows_for_margin_auc,
    rows_for_margin_means,
    rows_for_margin_proportions,
    rows_needed,
    se_auc_difference,
    se_from_interval,
    z_total,
)
from tests.stats import simulations


def test_z_total_and_power_at() -> None:
    assert z_total() == pytest.approx(1.959963984540054 + 0.8416212335729143, rel=1e-12)
    assert one_sided_alpha(0.9) == pytest.approx(0.05)
    se = 0.01
    assert power_at(minimum_detectable_effect(se), se) == pytest.approx(0.8, rel=1e-12)
    # statsmodels: one-sided power of a normal statistic with std_null = std_alt
    assert power_at(0.02, se, 0.9) == pytest.approx(normal_power_het(0.02, 1, 0.05, se, alternative="larger"))


@pytest.mark.parametrize(("n", "ratio"), [(200, 1.0), (1000, 2.0), (57, 0.5)])
def test_mde_means_equals_statsmodels_normal_ind_power(n: int, ratio: float) -> None:
    sd = 12.0
    d = mde_means(sd, n, n * ratio)
    power = NormalIndPower().power(effect_size=d / sd, nobs1=n, alpha=0.025, ratio=ratio, alternative="larger")
    assert power == pytest.approx(0.8, rel=1e-10)
    # the same rows: sd of the per-row difference over sqrt(n)
    assert normal_power_het(mde_means(sd, n), n, 0.025, sd, alternative="larger") == pytest.approx(0.8, rel=1e-10)


def test_rows_for_margin_means_equals_statsmodels_sample_size() -> None:
    for margin, true, ratio in ((2.0, 0.0, 1.0), (1.0, 0.5, 3.0)):
        std = math.sqrt(10.0 ** 2 + 10.0 ** 2 / ratio)
        expected = normal_sample_size_one_tail(margin + true, 0.8, 0.025, std_null=std)
        assert rows_for_margin_means(10.0, margin, true, ratio) == pytest.approx(expected, rel=1e-10)
    assert rows_for_margin_means(4.0, 1.0, ratio=None) == pytest.approx(z_total() ** 2 * 16, rel=1e-12)


def test_proportions_equal_statsmodels() -> None:
    for pb, nc, nb, direction in ((0.9, 2000, 2000, -1), (0.1, 500, 1500, 1), (0.5, 227, 227, -1)):
        d = mde_proportions(pb, nc, nb, direction=direction)
        pc = pb + direction * d
        std = math.sqrt(pc * (1 - pc) + pb * (1 - pb) * nc / nb)          # per candidate row
        assert normal_power_het(d, nc, 0.025, std, alternative="larger") == pytest.approx(0.8, rel=1e-9)
    for pb, margin, true, ratio in ((0.9, 0.02, 0.0, 1.0), (0.8, 0.03, 0.01, 2.0)):
        pc = pb + true
        std = math.sqrt(pc * (1 - pc) + pb * (1 - pb) / ratio)
        expected = normal_sample_size_one_tail(margin + true, 0.8, 0.025, std_null=std)
        assert rows_for_margin_proportions(pb, margin, true, ratio) == pytest.approx(expected, rel=1e-10)
    assert mde_proportions(0.5, 2, 2) == math.inf


def test_hanley_mcneil_by_hand() -> None:
    # A = 0.8, 50 positives, 150 negatives: Q1 = 0.8 / 1.2, Q2 = 1.28 / 1.8
    q1, q2 = 0.8 / 1.2, 1.28 / 1.8
    hand = (0.8 * 0.2 + 49 * (q1 - 0.64) + 149 * (q2 - 0.64)) / (50 * 150)
    assert hanley_mcneil_variance(0.8, 50, 150) == pytest.approx(hand, rel=1e-14)
    assert hand == pytest.approx(0.0016083, rel=1e-4)
    v = hanley_mcneil_variance(0.8, 50, 150)
    assert se_auc_difference(0.8, 0.8, 50, 150, correlation=0.5) == pytest.approx(math.sqrt(v), rel=1e-12)


def test_mde_and_rows_for_auc_solve_their_equations() -> None:
    d = mde_auc(0.85, 60, 240)
    assert d == pytest.approx(z_total() * se_auc_difference(0.85 - d, 0.85, 60, 240), rel=1e-9)
    n = rows_for_margin_auc(0.85, 0.02, prevalence=0.2)
    assert z_total() * se_auc_difference(0.85, 0.85, 0.2 * n, 0.8 * n) == pytest.approx(0.02, rel=1e-7)
    # correlated AUCs on the same rows need fewer rows
    assert rows_for_margin_auc(0.85, 0.02, 0.2, correlation=0.6) < n


def test_rows_needed_from_an_interval_like_the_demo_canary() -> None:
    # a 95 % AUC-difference interval [-0.13, 0.10] from 227 rows: se, detectable effect, rows for 0.02
    se = se_from_interval(-0.13, 0.10, 0.95)
    assert se == pytest.approx(0.23 / (2 * norm.isf(0.025)))
    mde = minimum_detectable_effect(se)
    assert mde == pytest.approx(z_total() * se)
    rows = rows_needed(se, 227, 0.02)
    assert rows == pytest.approx(227 * (mde / 0.02) ** 2)
    assert 15000 < rows < 16000
    with pytest.raises(ValueError):
        rows_needed(se, 227, 0.0)
    with pytest.raises(ValueError):
        se_from_interval(0.1, -0.1, 0.95)


@pytest.mark.slow
def test_planned_power_equals_a_direct_simulation() -> None:
    for r in simulations.power_table():
        if r["sims"] == 0:
            continue
        if r["method"].startswith("simulated variance"):
            # the variance of a variance estimate: relative sd about sqrt(2 / sims)
            assert abs(r["measured"] - 1) <= 4 * math.sqrt(2 / r["sims"]), r
        else:
            sd = math.sqrt(0.8 * 0.2 / r["sims"])
            assert abs(r["measured"] - 0.8) <= 3 * sd + 0.01, r   # Monte Carlo error + the normal approximation
