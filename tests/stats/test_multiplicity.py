"""Tests of :mod:`gatekit.stats.multiplicity`: adjusted p-values against statsmodels and by hand, p-values that
agree with the gate's percentile and DeLong intervals, and the family-wise false-block simulation.
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy.stats import norm
from statsmodels.stats.multitest import multipletests

from gatekit.sections.comparison import decide_interval
from gatekit.stats.intervals import bootstrap_statistic, delong_difference
from gatekit.stats.multiplicity import (
    adjust_p_values,
    bootstrap_p_value,
    decide_family,
    interval_p_value,
    normal_p_value,
    simultaneous_confidence,
)
from tests.stats import simulations

SM = {"bonferroni": "bonferroni", "holm": "holm", "bh": "fdr_bh", "sidak": "sidak"}


def _families() -> list[np.ndarray]:
    rng = np.random.default_rng(3)
    fams = [rng.random(k) ** 3 for k in (1, 2, 5, 30, 200)]
    fams.append(np.round(rng.random(40) * 0.1, 2))            # many ties
    fams.append(np.array([0.0, 1.0, 0.5, 0.0, 1.0]))          # the edges
    fams.append(np.full(10, 0.5))                              # nothing significant
    return fams


@pytest.mark.parametrize("method", ["bonferroni", "holm", "bh", "sidak"])
def test_adjusted_p_values_equal_statsmodels(method: str) -> None:
    for p in _families():
        ours = adjust_p_values(p, method)  # type: ignore[arg-type]
        with np.errstate(divide="ignore"):   # statsmodels' Šidák takes log1p(-1) at p = 1
            rej, theirs, _, _ = multipletests(p, alpha=0.05, method=SM[method])
        np.testing.assert_allclose(ours, theirs, rtol=1e-12, atol=1e-15)
        np.testing.assert_array_equal(decide_family(p, 0.05, method).rejected, rej)  # type: ignore[arg-type]


def test_benjamini_hochberg_by_hand_uses_positions_not_argsort() -> None:
    p = np.array([0.01, 0.04, 0.03, 0.005])
    # sorted 0.005, 0.01, 0.03, 0.04 -> 4p/j = 0.02, 0.02, 0.04, 0.04 -> running minimum from the top is the same
    np.testing.assert_allclose(adjust_p_values(p, "bh"), [0.02, 0.04, 0.04, 0.02])
    # argsort read as ranks (Giskard's bug) would give 0.01 * 4 / 4 for the first p-value
    wrong = p * 4 / (np.argsort(p) + 1)
    assert not np.allclose(wrong, adjust_p_values(p, "bh"))
    # Holm by hand: 4*0.005, max(., 3*0.01), max(., 2*0.03), max(., 1*0.04)
    np.testing.assert_allclose(adjust_p_values(p, "holm"), [0.03, 0.06, 0.06, 0.02])


def test_adjustment_is_monotone_capped_and_equal_on_ties() -> None:
    rng = np.random.default_rng(11)
    p = np.round(rng.random(300), 2)
    for method in ("bonferroni", "holm", "bh", "sidak"):
        adj = adjust_p_values(p, method)  # type: ignore[arg-type]
        order = np.argsort(p, kind="stable")
        assert np.all(np.diff(adj[order]) >= 0), method
        assert np.all(adj <= 1) and np.all(adj >= p)
        for v in np.unique(p):
            assert np.ptp(adj[p == v]) == 0, (method, v)


def test_nothing_significant_rejects_nothing_cleanly() -> None:
    res = decide_family([0.3, 0.9, 0.06], alpha=0.05, method="bh")
    assert not res.rejected.any()
    assert decide_family([], 0.05, "holm").rejected.size == 0
    assert adjust_p_values([], "bh").size == 0


def test_family_size_counts_members_without_p_value_as_one() -> None:
    p = np.array([0.001, 0.02, 0.3])
    padded = np.concatenate([p, np.ones(4)])
    for method in ("bonferroni", "holm", "bh", "sidak"):
        ours = adjust_p_values(p, method, family_size=7)  # type: ignore[arg-type]
        with np.errstate(divide="ignore"):
            theirs = multipletests(padded, method=SM[method])[1][:3]
        np.testing.assert_allclose(ours, theirs, rtol=1e-12)


@pytest.mark.parametrize("bad", [[0.1, float("nan")], [1.2], [-0.1]])
def test_invalid_p_values_raise(bad: list[float]) -> None:
    with pytest.raises(ValueError, match="p-value"):
        adjust_p_values(bad)
    with pytest.raises(ValueError, match="family_size"):
        adjust_p_values([0.1, 0.2], family_size=1)
    with pytest.raises(ValueError, match="unknown"):
        adjust_p_values([0.1], "fdr")  # type: ignore[arg-type]


def test_bonferroni_intervals_agree_with_adjusted_one_sided_p_values() -> None:
    rng = np.random.default_rng(5)
    m, c = 12, 0.95
    level = simultaneous_confidence(c, m)
    assert level == pytest.approx(1 - 0.05 / 12)
    assert simultaneous_confidence(c, m, "sidak") == pytest.approx(0.95 ** (1 / 12))
    est, se = rng.normal(0, 3, 500), rng.uniform(0.5, 2, 500)
    low = est - norm.isf((1 - level) / 2) * se
    p = np.array([normal_p_value(e, s, 0.0, "greater") for e, s in zip(est, se, strict=True)])
    # low >= 0 exactly when m p <= (1 - c) / 2, the family's one-sided level
    np.testing.assert_array_equal(low >= 0, np.minimum(1, m * p) <= (1 - c) / 2)
    with pytest.raises(ValueError):
        simultaneous_confidence(1.0, 3)


def _quantile_excludes(v: np.ndarray, a: np.ndarray, limit: float, alternative: str, strict: bool) -> np.ndarray:
    """Whether the bound of the two-sided 1 - 2a percentile interval meets the limit, for each a."""
    q = np.quantile(v, a if alternative == "greater" else 1 - a)
    if alternative == "greater":
        return q > limit if strict else q >= limit
    return q < limit if strict else q <= limit


@pytest.mark.parametrize("discrete", [False, True])
def test_bootstrap_p_value_inverts_the_percentile_interval(discrete: bool) -> None:
    rng = np.random.default_rng(1 + discrete)
    alphas = np.linspace(0.001, 0.499, 997)
    for trial in range(30):
        v = rng.normal(0.01 * trial, 0.05, 400)
        if discrete:
            v = np.round(v * 50) / 50      # steps of 0.02: many replicates tie at the limit
        limits = [float(np.quantile(v, 0.05)), float(v[rng.integers(len(v))]), -0.3, 0.4]
        for limit in limits:
            for alternative in ("greater", "less"):
                for strict in (False, True):
                    p = bootstrap_p_value(v, limit, alternative, strict)  # type: ignore[arg-type]
                    a = alphas[np.abs(alphas - p) > 1e-9]
                    reject = p < a if strict else p <= a
                    np.testing.assert_array_equal(reject, _quantile_excludes(v, a, limit, alternative, strict))


def test_bootstrap_p_value_edges_and_errors() -> None:
    v = np.array([1.0, 2.0, 3.0])
    assert bootstrap_p_value(v, 0.5) == 0.0 and bootstrap_p_value(v, 3.5) == 1.0
    assert bootstrap_p_value(v, 1.5) == pytest.approx(0.25)   # q(a) = 1 + 2a reaches 1.5 at a = 0.25
    assert bootstrap_p_value(v, 2.5, "less") == pytest.approx(0.25)
    with pytest.raises(ValueError):
        bootstrap_p_value([1.0], 0.0)
    with pytest.raises(ValueError):
        bootstrap_p_value([1.0, np.nan], 0.0)


def test_bootstrap_p_value_decides_as_the_gate_guardbands() -> None:
    """p <= (1 - c) / 2 exactly when the gate's percentile interval passes proven_safe (or fails proven_harm)."""
    rng = np.random.default_rng(9)
    y = rng.integers(0, 2, 300)
    cand = y * 0.2 + rng.random(300)
    base = y * 0.25 + rng.random(300)

    def acc(ws: list[np.ndarray], s: np.ndarray) -> np.ndarray:
        return (ws[0] * ((s > 0.6) == y)).sum(axis=1) / ws[0].sum(axis=1)

    est = float(np.mean((cand > 0.6) == y) - np.mean((base > 0.6) == y))
    for c in (0.8, 0.9, 0.95):
        iv = bootstrap_statistic(lambda ws: acc(ws, cand) - acc(ws, base), [y], est, c, resamples=1000, seed=4)
        assert iv.replicates is not None and iv.replicates.size == 1000
        a = (1 - c) / 2
        for d in np.linspace(0.0, 0.12, 61):
            safe, _ = decide_interval(iv.low, iv.high, [(">=", -d)], "proven_safe")
            assert (bootstrap_p_value(iv.replicates, -d, "greater") <= a) == safe
            harm_passes, _ = decide_interval(iv.low, iv.high, [(">=", -d)], "proven_harm")
            assert (bootstrap_p_value(iv.replicates, -d, "less", strict=True) < a) == (not harm_passes)
            assert interval_p_value(iv, -d) == bootstrap_p_value(iv.replicates, -d)


def test_normal_p_value_is_delongs_one_sided_test() -> None:
    rng = np.random.default_rng(2)
    y = rng.integers(0, 2, 400)
    a, b = y + rng.normal(0, 1.2, 400), y + rng.normal(0, 1.3, 400)
    for c in (0.9, 0.95, 0.99):
        iv = delong_difference(y, a, b, c)
        se = iv.details["se"]
        two_sided = 2 * min(normal_p_value(iv.estimate, se, 0.0, "greater"),
                            normal_p_value(iv.estimate, se, 0.0, "less"))
        assert two_sided == pytest.approx(iv.details["p_value"], rel=1e-12)
        for limit in np.linspace(-0.1, 0.1, 41):
            assert (normal_p_value(iv.estimate, se, limit) <= (1 - c) / 2) == (iv.low >= limit)
            assert (interval_p_value(iv, limit, "less") <= (1 - c) / 2) == (iv.high <= limit)
    with pytest.raises(ValueError):
        normal_p_value(0.1, 0.0, 0.0)


@pytest.mark.slow
def test_family_wise_false_block_rate_of_30_null_rules() -> None:
    rows = {(r["method"], r["per_rule"], r["dependence"]): r for r in simulations.multiplicity_table()}
    for dep in ("independent", "equicorrelated 0.5"):
        for per_rule in (0.05, 0.025):
            none = rows[("none", per_rule, dep)]
            if dep == "independent":
                expected = 1 - (1 - per_rule) ** 30
                assert abs(none["measured"] - expected) < 4 * np.sqrt(expected * (1 - expected) / none["sims"])
            for method in ("holm", "bonferroni"):
                r = rows[(method, per_rule, dep)]
                # at most the nominal rate, allowing 3 Monte Carlo standard errors
                assert r["measured"] <= per_rule + 3 * np.sqrt(per_rule * (1 - per_rule) / r["sims"]), r
    assert rows[("none", 0.05, "independent")]["measured"] > 0.7
