"""Tests of :mod:`gatekit.stats.intervals`: DeLong against hand counts, the vectorised bootstrap
against the plain one, coverage.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy.stats import norm
from sklearn.metrics import roc_auc_score

import gatekit
from gatekit.core.errors import NotComputable
from gatekit.core.results import Status
from gatekit.stats.intervals import (
    bootstrap_auc_difference,
    bootstrap_difference,
    delong_difference,
    delong_variance,
    fast_auc,
)
from tests.sections.helpers import _check, _policy_file


def test_bootstrap_cannot_prove_safety_from_a_single_positive(tmp_path: Path) -> None:
    rng = np.random.default_rng(7)
    y = np.zeros(300, dtype=int)
    y[0] = 1
    s = rng.random(300) * 0.5
    s[0] = 0.99
    pd.DataFrame({"y": y, "s": s}).to_csv(tmp_path / "d.csv", index=False)
    pol = _policy_file(tmp_path, """
        version: 1
        inputs: {data: d.csv, target: y, score: s}
        metrics:
          - {name: recall_at_0_5, op: ">=", value: 0.95, confidence: 0.95, guardband: proven_safe}
        """)
    check = _check(gatekit.run(pol), "recall_at_0_5")
    assert check.status != Status.PASS, check.message


Y = np.array([1, 1, 1, 0, 0])
A = np.array([0.9, 0.8, 0.4, 0.5, 0.1])
B = np.array([0.7, 0.9, 0.1, 0.6, 0.2])


def psi(x: float, y: float) -> float:
    return 1.0 if x > y else 0.5 if x == y else 0.0


def components(y: np.ndarray, s: np.ndarray) -> tuple[list[float], list[float]]:
    """DeLong's V10 (per positive) and V01 (per negative), by explicit pair loops."""
    pos = [v for v, t in zip(s, y, strict=True) if t == 1]
    neg = [v for v, t in zip(s, y, strict=True) if t == 0]
    v10 = [sum(psi(x, z) for z in neg) / len(neg) for x in pos]
    v01 = [sum(psi(x, z) for x in pos) / len(pos) for z in neg]
    return v10, v01


def test_delong_on_a_hand_counted_example() -> None:
    # AUC(a): 0.9 and 0.8 beat both negatives, 0.4 beats 0.1 only: 5 of 6 pairs.
    # AUC(b): 0.7 and 0.9 beat both negatives, 0.1 beats none: 4 of 6 pairs.
    a10, a01 = components(Y, A)
    b10, b01 = components(Y, B)
    assert a10 == [1.0, 1.0, 0.5] and a01 == [2 / 3, 1.0]
    assert b10 == [1.0, 1.0, 0.0] and b01 == [2 / 3, 2 / 3]

    def cov(u: list[float], v: list[float]) -> float:
        mu, mv = sum(u) / len(u), sum(v) / len(v)
        return sum((p - mu) * (q - mv) for p, q in zip(u, v, strict=True)) / (len(u) - 1)

    var_diff = ((cov(a10, a10) + cov(b10, b10) - 2 * cov(a10, b10)) / 3
                + (cov(a01, a01) + cov(b01, b01) - 2 * cov(a01, b01)) / 2)
    # by hand: var(a10) = 1/12, var(b10) = 1/3, cov = 1/6 -> (1/12 + 1/3 - 1/3) / 3 = 1/36;
    # var(a01) = 1/18, var(b01) = 0, cov = 0 -> (1/18) / 2 = 1/36; so var = 1/18
    assert var_diff == pytest.approx(1 / 18)
    res = delong_difference(Y, A, B)
    assert res.estimate == pytest.approx(5 / 6 - 4 / 6)
    assert res.details["se"] == pytest.approx(np.sqrt(var_diff))
    half = 1.959964 * np.sqrt(var_diff)  # z(0.975) x standard error
    assert (res.low, res.high) == pytest.approx((1 / 6 - half, 1 / 6 + half), abs=1e-6)
    assert delong_variance(Y, A) == pytest.approx(cov(a10, a10) / 3 + cov(a01, a01) / 2)


def test_delong_refuses_what_it_cannot_say() -> None:
    with pytest.raises(NotComputable, match="2 positives"):
        delong_difference([1, 0, 0], [0.1, 0.2, 0.3], [0.3, 0.2, 0.1])
    with pytest.raises(NotComputable, match="variance"):
        delong_difference([1, 1, 0, 0], [0.9, 0.8, 0.2, 0.1], [0.9, 0.8, 0.2, 0.1])


def test_fast_auc_equals_scikit_learn_with_ties() -> None:
    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, 500)
    s = np.round(rng.normal(size=500) + y, 1)  # many ties
    assert fast_auc(y, s) == pytest.approx(roc_auc_score(y, s), abs=1e-12)


def test_vectorised_bootstrap_equals_the_plain_loop() -> None:
    rng = np.random.default_rng(1)
    y = (rng.random(300) < 0.3).astype(int)
    c, b = np.round(rng.normal(size=300) + y, 1), np.round(rng.normal(size=300) + 0.8 * y, 1)
    plain = bootstrap_difference(fast_auc, y, c, b, resamples=300, seed=5)
    fast = bootstrap_auc_difference(y, c, b, resamples=300, seed=5)
    assert (fast.estimate, fast.low, fast.high) == pytest.approx((plain.estimate, plain.low, plain.high), abs=1e-12)
    assert fast.details == {"resamples": 300, "seed": 5, "stratified": True, "failed": 0, "paired": True}
    again = bootstrap_auc_difference(y, c, b, resamples=300, seed=5)
    assert (again.low, again.high) == (fast.low, fast.high)  # seeded: the same decision every run


def test_bootstrap_of_an_undefined_metric_is_not_computable() -> None:
    with pytest.raises(NotComputable):
        bootstrap_auc_difference([1, 1, 1], [0.1, 0.2, 0.3])
    y = np.array([1] + [0] * 30)  # one positive: most resamples still have it, the metric stays defined
    assert bootstrap_difference(fast_auc, y, np.arange(31.0), resamples=50).details["failed"] == 0


@pytest.mark.slow
def test_a_nominal_95_percent_bootstrap_interval_covers_a_known_difference() -> None:
    """400 simulated evaluations with a known AUC difference; the interval must cover it 93-97 % of the time.

    Binormal scores: candidate ~ N(1.2 y, 1), baseline ~ N(1.0 y, 1), errors correlated (rho = 0.5),
    prevalence 0.3, n = 800. True AUC = Phi(mu / sqrt 2), so the true difference is known exactly.
    """
    rng = np.random.default_rng(2026)
    mc, mb, rho, n, sims = 1.2, 1.0, 0.5, 800, 400
    truth = norm.cdf(mc / np.sqrt(2)) - norm.cdf(mb / np.sqrt(2))
    covered = 0
    for s in range(sims):
        y = (rng.random(n) < 0.3).astype(int)
        e1, e2 = rng.standard_normal(n), rng.standard_normal(n)
        c = mc * y + e1
        b = mb * y + rho * e1 + np.sqrt(1 - rho**2) * e2
        iv = bootstrap_auc_difference(y, c, b, resamples=2000, seed=s)
        covered += iv.low <= truth <= iv.high
    assert 0.93 <= covered / sims <= 0.97, covered / sims


# --------------------------------------------------------------------------------------------------
# Compact rows: one row per distinct (target, scores) with the count of rows it stands for
# --------------------------------------------------------------------------------------------------


def _compact(seed: int, n: int = 80, decimals: int = 1) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Compact rows with tied scores (rounded) and counts 1..7: y, candidate, baseline, counts."""
    rng = np.random.default_rng(seed)
    y = (rng.random(n) < 0.35).astype(int)
    c = np.round(0.8 * y + rng.standard_normal(n), decimals)
    b = np.round(0.5 * y + 0.5 * c + rng.standard_normal(n), decimals)
    return y, c, b, rng.integers(1, 8, n)


@pytest.mark.parametrize("seed", range(5))
def test_delong_on_compact_rows_equals_delong_on_the_expanded_rows(seed: int) -> None:
    y, c, b, w = _compact(seed)
    if seed == 4:
        w[:5] = 0  # rows of count 0 stand for no rows
    ey, ec, eb = np.repeat(y, w), np.repeat(c, w), np.repeat(b, w)
    plain = delong_difference(ey, ec, eb, 0.9)
    compact = delong_difference(y, c, b, 0.9, weights=w)
    assert (compact.estimate, compact.low, compact.high) == pytest.approx(
        (plain.estimate, plain.low, plain.high), abs=1e-9)
    for k in ("auc_candidate", "auc_baseline", "se", "z", "p_value"):
        assert compact.details[k] == pytest.approx(plain.details[k], abs=1e-9), k
    assert (compact.details["n_positive"], compact.details["n_negative"]) == (int(ey.sum()), int((ey == 0).sum()))
    assert compact.details["auc_candidate"] == pytest.approx(roc_auc_score(ey, ec), abs=1e-12)
    assert delong_variance(y, c, weights=w) == pytest.approx(delong_variance(ey, ec), abs=1e-12)


def test_delong_on_compact_rows_refuses_what_the_expanded_rows_refuse() -> None:
    # one compact positive row counted 3 times: 3 positives, so DeLong runs; counted once it cannot
    y, s = np.array([1, 0, 0]), np.array([0.9, 0.2, 0.3])
    with pytest.raises(NotComputable, match="2 positives"):
        delong_difference(y, s, s[::-1], weights=np.array([1, 4, 4]))
    with pytest.raises(NotComputable, match="variance"):  # identical scores for both models
        delong_difference(y, s, s, weights=np.array([3, 4, 4]))


def test_bootstrap_statistic_on_counted_rows_is_the_plain_bootstrap_of_the_rows_they_stand_for() -> None:
    """Counts 1..7: the interval of the counted rows is, to the digit, the expanded rows' own stratified bootstrap.

    By hand: the rows np.repeat'ed by their counts, resampled within each class by stratified_index_batches with the
    same seed, AUC of each resample by scikit-learn.
    """
    from gatekit.stats.intervals import bootstrap_statistic, stratified_index_batches, weighted_aucs

    y, c, _, w = _compact(7)

    def stat(ws: list[np.ndarray]) -> np.ndarray:
        return weighted_aucs(y, c, ws[0])

    est = roc_auc_score(y, c, sample_weight=w)
    iv = bootstrap_statistic(stat, [y], est, 0.9, resamples=300, seed=4, counts=[w])
    assert iv.details["resampling"] == "stratified_multinomial" and "class sizes fixed" in iv.details["resampling_note"]
    ey, ec = np.repeat(y, w), np.repeat(c, w)
    aucs = [roc_auc_score(ey[idx], ec[idx]) for block in stratified_index_batches(ey, 300, 4) for idx in block]
    assert (iv.low, iv.high) == pytest.approx(tuple(np.quantile(aucs, [0.05, 0.95])), abs=1e-12)
    plain = bootstrap_statistic(lambda ws: weighted_aucs(ey, ec, ws[0]), [ey], est, 0.9, resamples=300, seed=4)
    assert plain.details["resampling"] == "stratified_multinomial"
    assert (plain.low, plain.high) == pytest.approx((iv.low, iv.high), abs=1e-12)


def test_bootstrap_statistic_on_heavily_counted_rows_draws_a_multinomial_per_class() -> None:
    """Counts 20..60 (numpy's multinomial): the draws written here with rng.multinomial per class, in class order.

    Each resample's AUC is scikit-learn's on the expanded resampled rows (np.repeat by the drawn multiplicities).
    """
    from gatekit.stats.intervals import bootstrap_statistic, weighted_aucs

    y, c, _, _ = _compact(8)
    w = np.random.default_rng(9).integers(20, 61, len(y))

    def stat(ws: list[np.ndarray]) -> np.ndarray:
        return weighted_aucs(y, c, ws[0])

    iv = bootstrap_statistic(stat, [y], roc_auc_score(y, c, sample_weight=w), 0.9, resamples=250, seed=4,
                             counts=[w])
    rng = np.random.default_rng(4)
    draws = np.zeros((250, len(y)), dtype=int)
    for k in (0, 1):  # one batch (up to 256 resamples): class 0's draws, then class 1's
        rows = np.flatnonzero(y == k)
        draws[:, rows] = rng.multinomial(w[rows].sum(), w[rows] / w[rows].sum(), size=250)
    assert (draws[:, y == 1].sum(axis=1) == w[y == 1].sum()).all()
    aucs = [roc_auc_score(np.repeat(y, d), np.repeat(c, d)) for d in draws]
    assert (iv.low, iv.high) == pytest.approx(tuple(np.quantile(aucs, [0.05, 0.95])), abs=1e-12)


def test_bootstrap_class_minimum_counts_the_rows_a_compact_row_stands_for() -> None:
    from gatekit.stats.intervals import bootstrap_statistic

    y = np.array([1, 1, 0, 0])
    stat = lambda ws: ws[0] @ np.array([1.0, 0, 0, 0]) / ws[0].sum(axis=1)  # noqa: E731
    # 2 compact positive rows standing for 12 rows: enough (10 per class); 3 + 4 = 7 positives: not enough
    assert bootstrap_statistic(stat, [y], 0.3, resamples=50, counts=[np.array([6, 6, 20, 20])]).details["failed"] == 0
    with pytest.raises(NotComputable, match="only 7 rows of class 1"):
        bootstrap_statistic(stat, [y], 0.3, resamples=50, counts=[np.array([3, 4, 20, 20])])


def test_bootstrap_intervals_keep_their_replicates() -> None:
    rng = np.random.default_rng(12)
    y = rng.integers(0, 2, 200)
    a, b = y + rng.normal(0, 1, 200), y + rng.normal(0, 1, 200)
    fast = bootstrap_auc_difference(y, a, b, resamples=300, seed=3)
    plain = bootstrap_difference(roc_auc_score, y, a, b, resamples=300, seed=3)
    for iv in (fast, plain):
        assert iv.replicates is not None and iv.replicates.size == 300
        np.testing.assert_allclose([iv.low, iv.high], np.quantile(iv.replicates, [0.025, 0.975]))
        assert "replicates" not in repr(iv)
    np.testing.assert_allclose(fast.replicates, plain.replicates, atol=1e-12)
    assert delong_difference(y, a, b).replicates is None
