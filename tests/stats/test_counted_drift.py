"""Tests of :mod:`gatekit.stats.counted_drift`: drift from value counts equals the methods on the rows.

Expected values come from the rows themselves: PSI written out with plain loops (tests/stats/helpers.py), scipy's
``ks_2samp`` and ``wasserstein_distance``, evidently's own stattests called on pandas Series, and gatekit's
row-level PSI (whose own tests prove it against the formula).
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
import scipy.stats

from gatekit.core.errors import NotComputable
from gatekit.stats import counted_drift as cd
from gatekit.stats.drift import psi_categorical, psi_numerical
from tests.stats.helpers import independent_categorical_psi, independent_numerical_psi


def _expand(vc: cd.ValueCounts) -> np.ndarray:
    return np.repeat(np.asarray(vc.values, dtype=float), vc.counts)


@pytest.fixture(scope="module")
def samples() -> dict[str, np.ndarray]:
    rng = np.random.default_rng(5)
    return {"ref": rng.normal(0, 1, 700), "cur": rng.normal(0.3, 1.2, 500),
            "tied_ref": np.round(rng.normal(0, 1, 700), 1), "tied_cur": np.round(rng.normal(0.3, 1.2, 500), 1),
            "few_ref": rng.choice([0.1, 0.2, 0.3, 0.5], 400), "few_cur": rng.choice([0.1, 0.2, 0.3, 0.7], 300)}


def test_numerical_counts_count_each_distinct_value_with_its_weight() -> None:
    vc = cd.numerical_counts([2.0, 1.0, np.nan, 2.0, np.inf], weights=[1, 4, 3, 2, 5])
    assert vc.values.tolist() == [1.0, 2.0] and vc.counts.tolist() == [4, 3]
    assert (vc.missing, vc.infinite, vc.n) == (3, 5, 7)


def test_categorical_counts_read_1_and_1_0_as_one_category_and_none_as_missing() -> None:
    vc = cd.categorical_counts([1, 1.0, "a", None, np.nan, "a"], weights=[1, 2, 3, 4, 5, 6])
    assert dict(zip(vc.values.tolist(), vc.counts.tolist(), strict=True)) == {"1": 3, "a": 9}
    assert vc.missing == 9


def test_adding_batches_equals_counting_every_row(samples: dict[str, np.ndarray]) -> None:
    x = samples["ref"]
    parts = [cd.numerical_counts(x[i:i + 100]) for i in range(0, len(x), 100)]
    whole = cd.numerical_counts(x)
    added = cd.add_counts(parts)
    assert added.values.tolist() == whole.values.tolist() and added.counts.tolist() == whole.counts.tolist()
    cats = cd.add_counts([cd.categorical_counts(["a", "b"]), cd.categorical_counts(["b", None])])
    assert cats.values.tolist() == ["a", "b"] and cats.counts.tolist() == [1, 2] and cats.missing == 1


@pytest.mark.parametrize(("r", "c"), [("ref", "cur"), ("tied_ref", "tied_cur"), ("few_ref", "few_cur")])
def test_numerical_psi_from_counts_equals_the_row_level_psi(samples: dict[str, np.ndarray], r: str, c: str) -> None:
    ref, cur = samples[r], samples[c]
    got = cd.psi_numerical_counts(cd.numerical_counts(ref), cd.numerical_counts(cur))
    rows = psi_numerical(ref, cur)
    assert got.value == rows.value  # the same numbers, bit for bit
    assert (got.kind, got.bins, got.reference_counts, got.current_counts) == (rows.kind, rows.bins,
                                                                             rows.reference_counts,
                                                                             rows.current_counts)
    assert got.unseen == rows.unseen and got.outside_above == rows.outside_above
    if r == "ref":  # quantile bins: the textbook formula, one value at a time
        expected, _, _, _ = independent_numerical_psi(ref.tolist(), cur.tolist())
        assert got.value == pytest.approx(expected, abs=1e-12)


def test_weighted_counts_give_the_psi_of_the_rows_they_stand_for(samples: dict[str, np.ndarray]) -> None:
    ref, cur = samples["ref"], samples["cur"]
    uniq, counts = np.unique(cur, return_counts=True)
    weighted = cd.numerical_counts(uniq, weights=counts)
    assert cd.psi_numerical_counts(cd.numerical_counts(ref), weighted).value == psi_numerical(ref, cur).value


def test_missing_values_are_one_more_psi_bin() -> None:
    rng = np.random.default_rng(1)
    ref = rng.normal(size=300)
    cur = np.concatenate([rng.normal(size=200), [np.nan] * 50])
    got = cd.psi_numerical_counts(cd.numerical_counts(ref), cd.numerical_counts(cur))
    assert got.missing_bin and got.missing_current == 50
    assert got.value == psi_numerical(pd.Series(ref), pd.Series(cur)).value


def test_categorical_psi_from_counts_equals_the_formula() -> None:
    ref = ["a"] * 50 + ["b"] * 30 + ["c"] * 20
    cur = ["a"] * 20 + ["b"] * 30 + ["d"] * 10
    got = cd.psi_categorical_from_counts(cd.categorical_counts(ref), cd.categorical_counts(cur))
    assert got.value == pytest.approx(independent_categorical_psi(ref, cur), abs=1e-12)
    assert got.value == psi_categorical(ref, cur).value and got.unseen == ["d"]


def test_ks_from_counts_equals_scipys_two_sample_test(samples: dict[str, np.ndarray]) -> None:
    ref, cur = samples["ref"], samples["cur"]
    res = scipy.stats.ks_2samp(ref, cur)
    r, c = cd.numerical_counts(ref), cd.numerical_counts(cur)
    # scipy's exact branch returns the statistic rounded to a multiple of 1 / lcm(n1, n2)
    assert cd.ks_statistic_counts(r, c) == pytest.approx(res.statistic, rel=1e-12)
    assert cd.ks_p_value_counts(r, c) == pytest.approx(res.pvalue, rel=1e-12, abs=1e-300)


def test_ks_asymptotic_branch_from_counts_equals_scipy() -> None:
    rng = np.random.default_rng(3)
    ref, cur = np.round(rng.normal(size=12_000), 2), np.round(rng.normal(0.02, 1, 11_000), 2)
    res = scipy.stats.ks_2samp(ref, cur)
    assert cd.ks_p_value_counts(cd.numerical_counts(ref), cd.numerical_counts(cur)) == pytest.approx(res.pvalue,
                                                                                                     rel=1e-12)


def test_wasserstein_from_counts_equals_scipy_over_the_population_std(samples: dict[str, np.ndarray]) -> None:
    ref, cur = samples["ref"], samples["cur"]
    expected = scipy.stats.wasserstein_distance(ref, cur) / max(float(np.std(ref)), 0.001)
    got = cd.wasserstein_normed_counts(cd.numerical_counts(ref), cd.numerical_counts(cur))
    assert got == pytest.approx(expected, rel=1e-12)


def _evidently(method: str, ref: pd.Series, cur: pd.Series, kind: str) -> float:
    """evidently 0.7's stattest on the rows (legacy/calculations/stattests)."""
    from evidently.legacy.calculations.stattests.chisquare_stattest import chi_stat_test
    from evidently.legacy.calculations.stattests.jensenshannon import jensenshannon_stat_test
    from evidently.legacy.calculations.stattests.psi import psi_stat_test
    from evidently.legacy.core import ColumnType

    test = {"jensenshannon": jensenshannon_stat_test, "psi": psi_stat_test, "chisquare": chi_stat_test}[method]
    ctype = ColumnType.Numerical if kind == "numerical" else ColumnType.Categorical
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return float(test.func(ref, cur, ctype, 0.1)[0])


@pytest.mark.parametrize("method", ["jensenshannon", "psi"])
@pytest.mark.parametrize(("r", "c"), [("ref", "cur"), ("few_ref", "few_cur")])
def test_evidentlys_binned_methods_from_counts_equal_evidently_on_the_rows(samples: dict[str, np.ndarray],
                                                                          method: str, r: str, c: str) -> None:
    ref, cur = samples[r], samples[c]
    expected = _evidently(method, pd.Series(ref), pd.Series(cur), "numerical")
    got, recomputed = cd.evidently_method_counts(method, cd.numerical_counts(ref), cd.numerical_counts(cur))
    assert recomputed is None and got == pytest.approx(expected, rel=1e-12, abs=1e-15)


def test_an_integer_sample_gets_evidentlys_integer_bins() -> None:
    rng = np.random.default_rng(8)
    ref, cur = rng.integers(0, 400, 600), rng.integers(30, 430, 500)
    expected = _evidently("psi", pd.Series(ref), pd.Series(cur), "numerical")
    got, _ = cd.evidently_method_counts("psi", cd.numerical_counts(ref, integer=True),
                                       cd.numerical_counts(cur, integer=True))
    assert got == pytest.approx(expected, rel=1e-12)


@pytest.mark.parametrize("method", ["jensenshannon", "chisquare", "psi"])
def test_categorical_methods_from_counts_equal_evidently_on_the_rows(method: str) -> None:
    rng = np.random.default_rng(4)
    ref = pd.Series(rng.choice(list("abcd"), 500, p=[.4, .3, .2, .1]))
    cur = pd.Series(rng.choice(list("abcd"), 400, p=[.25, .25, .25, .25]))
    expected = _evidently(method, ref, cur, "categorical")
    got, _ = cd.evidently_method_counts(method, cd.categorical_counts(ref), cd.categorical_counts(cur))
    assert got == pytest.approx(expected, rel=1e-12)


def test_no_method_places_infinite_values_and_an_empty_side_is_not_computable() -> None:
    with pytest.raises(NotComputable, match="infinite"):
        cd.evidently_method_counts("ks", cd.numerical_counts([1.0, np.inf, 2.0]), cd.numerical_counts([1.0, 2.0]))
    with pytest.raises(NotComputable, match="infinite"):
        cd.psi_numerical_counts(cd.numerical_counts([1.0, 2.0, 3.0]), cd.numerical_counts([np.inf, 1.0]))
    with pytest.raises(NotComputable, match="every current value is missing"):
        cd.psi_numerical_counts(cd.numerical_counts([1.0, 2.0]), cd.numerical_counts([np.nan]))
    with pytest.raises(NotComputable, match="fewer than 2 usable bins"):
        cd.psi_numerical_counts(cd.numerical_counts([1.0, 1.0]), cd.numerical_counts([1.0, 2.0]))
