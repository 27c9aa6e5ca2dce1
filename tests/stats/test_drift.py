"""Tests of :mod:`gatekit.stats.drift`: PSI binning and label leakage, each value against an independent
computation (plain Python loops, scipy, scikit-learn).
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import scipy.stats
from sklearn.metrics import roc_auc_score

from gatekit.core.errors import NotComputable
from gatekit.core.results import Status
from tests.sections.helpers import by_name
from tests.stats.helpers import (
    EPS,
    NO_HTML,
    bin_counts,
    independent_categorical_psi,
    independent_numerical_psi,
    psi_sum,
    run_drift,
)

# ------------------------------------------------------------------------ the example (categorical)


def test_unseen_category_gives_a_finite_psi_equal_to_the_smoothed_formula(tmp_path: Path) -> None:
    ref = pd.DataFrame({"cat": ["a"] * 50 + ["b"] * 50})
    cur = pd.DataFrame({"cat": ["a"] * 50 + ["c"] * 50})
    check = by_name(run_drift(tmp_path, ref, cur, NO_HTML))["cat.psi"]
    eps = check.details["smoothing"]
    assert eps == EPS
    expected = 2 * (0.5 - eps) * math.log(0.5 / eps)  # a: 0; b: r=.5, c=eps; c: r=eps, c=.5
    assert math.isfinite(check.observed)
    assert check.observed == pytest.approx(expected, abs=1e-12)
    assert check.status == Status.FAIL and check.op == "<=" and check.threshold == 0.2
    assert check.details["unseen_categories"] == ["c"]
    assert "'c'" in check.message and "only in the current data" in check.message
    assert check.details["categories"] == ["a", "b", "c"]
    assert check.details["reference_counts"] == [50, 50, 0]
    assert check.details["current_counts"] == [50, 0, 50]


# ------------------------------------------------------------- numerical PSI against a loop implementation


def tie_safe_edges(ref: list[float], bins: int = 10) -> list[float]:
    """The reference's deciles (numpy), a decile equal to a reference value moved to the midpoint below it."""
    distinct = sorted(set(ref))
    edges = set()
    for q in np.quantile(np.asarray(ref, dtype=float), [i / bins for i in range(1, bins)]).tolist():
        if q in distinct:
            lower = [v for v in distinct if v < q]
            if lower:  # a decile at the minimum gives no edge
                edges.add((lower[-1] + q) / 2)
        else:
            edges.add(q)
    return sorted(edges)


def tie_safe_numerical_psi(ref: list[float], cur: list[float], eps: float = EPS) -> tuple[float, list[float],
                                                                                          list[int], list[int]]:
    edges = tie_safe_edges(ref)
    rc, cc = bin_counts(ref, edges), bin_counts(cur, edges)
    return psi_sum(rc, cc, eps), edges, rc, cc


def _samples(case: str) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng({"shift": 3, "ties": 4, "outside": 5, "empty": 6}[case])
    if case == "shift":
        return rng.normal(0, 1, 400), rng.normal(0.5, 1.2, 300)
    if case == "ties":  # integers 1..30, 60 % on 1..3: duplicate quantile edges (more values than bins)
        p = np.array([0.2] * 3 + [0.4 / 27] * 27)
        return (rng.choice(np.arange(1, 31), 500, p=p).astype(float),
                rng.choice(np.arange(1, 31), 350, p=p[::-1]).astype(float))
    if case == "outside":  # current values far below and above the reference's range
        return rng.uniform(0, 1, 300), rng.uniform(-2, 3, 300)
    return rng.normal(0, 1, 300), rng.normal(0, 1, 300) + 10  # current fills only the top bin


@pytest.mark.parametrize("case", ["shift", "ties", "outside", "empty"])
def test_numerical_psi_equals_a_loop_over_reference_quantile_bins(tmp_path: Path, case: str) -> None:
    ref_v, cur_v = _samples(case)
    c = by_name(run_drift(tmp_path, pd.DataFrame({"v": ref_v}), pd.DataFrame({"v": cur_v}), NO_HTML))["v.psi"]
    ref_l = pd.read_csv(tmp_path / "ref.csv")["v"].tolist()
    cur_l = pd.read_csv(tmp_path / "cur.csv")["v"].tolist()
    value, edges, rc, cc = tie_safe_numerical_psi(ref_l, cur_l, c.details["smoothing"])
    if case != "ties":  # no quantile lands on a reference value: the textbook quantile edges, unchanged
        assert (value, edges) == independent_numerical_psi(ref_l, cur_l, c.details["smoothing"])[:2]
    assert c.details["smoothing"] == EPS
    assert c.observed == pytest.approx(value, abs=1e-12)
    assert c.details["bins"] == edges
    assert c.details["reference_counts"] == rc
    assert c.details["current_counts"] == cc
    assert sum(rc) == len(ref_l) and sum(cc) == len(cur_l)
    if case == "ties":
        assert len(edges) < 9  # duplicates removed
    if case == "outside":
        assert cc[0] > 0 and cc[-1] > 0 and min(cur_l) < edges[0] and max(cur_l) > edges[-1]
    if case == "empty":
        assert cc[:-1] == [0] * (len(cc) - 1)
    k = len(edges) + 1
    assert c.details["psi_without_drift_expected"] == pytest.approx((k - 1) * (1 / len(ref_l) + 1 / len(cur_l)))


def test_a_reference_with_one_value_is_not_computable(tmp_path: Path) -> None:
    ref = pd.DataFrame({"v": [3.0] * 60})
    cur = pd.DataFrame({"v": np.linspace(0, 6, 60)})
    c = by_name(run_drift(tmp_path, ref, cur, NO_HTML))["v.psi"]
    assert c.status == Status.NOT_COMPUTABLE and c.observed is None
    assert "fewer than 2 usable bins" in c.message


def test_a_discrete_column_gets_one_bin_per_value(tmp_path: Path) -> None:
    # every decile of 95 zeros and 5 ones is 0: quantile bins would collapse, one bin per value does not;
    # the current 2s match no reference value: one more bin, empty in the reference (smoothed)
    ref = pd.DataFrame({"g": [0] * 95 + [1] * 5})
    cur = pd.DataFrame({"g": [0] * 50 + [1] * 50 + [2] * 10})
    c = by_name(run_drift(tmp_path, ref, cur, NO_HTML))["g.psi"]
    assert c.status == Status.FAIL
    assert c.observed == pytest.approx(psi_sum([95, 5, 0], [50, 50, 10], EPS), abs=1e-12)
    assert c.observed == pytest.approx((50 / 110 - 0.95) * math.log((50 / 110) / 0.95)
                                       + (50 / 110 - 0.05) * math.log((50 / 110) / 0.05)
                                       + (10 / 110 - EPS) * math.log((10 / 110) / EPS), abs=1e-12)
    assert c.details["values"] == [0.0, 1.0] and c.details["bins"] == [0.0, 1.0, "not in the reference"]
    assert c.details["tolerance"] == [0.01, 0.01]
    assert c.details["reference_counts"] == [95, 5, 0] and c.details["current_counts"] == [50, 50, 10]
    assert c.details["unseen_categories"] == [2.0]
    assert "one bin per reference value" in c.details["binning"] and "compared like categories" in c.details["binning"]
    assert ("only in the current data: 2.0 (10 of 110 current values, 9.1 %, in one bin the reference has no "
            "value in)") in c.message
    # 3 bins: (3 - 1)(1/n + 1/m)
    assert c.details["psi_without_drift_expected"] == pytest.approx(2 * (1 / 100 + 1 / 110))


def _loop_discrete_psi(ref: list[float], cur: list[float], eps: float = EPS) -> tuple[float, list[int], list[int]]:
    """Discrete PSI one value at a time: a current value counts with a reference value within 1 % of the distance
    from it to the nearest other reference value, else in one extra bin the reference has no value in."""
    values = sorted(set(ref))
    tol = [0.01 * min(abs(u - w) for w in values if w != u) for u in values]
    rc = [sum(1 for v in ref if v == u) for u in values] + [0]
    cc = [0] * (len(values) + 1)
    for v in cur:
        hit = [i for i, u in enumerate(values) if abs(v - u) <= tol[i]]
        cc[hit[0] if hit else len(values)] += 1
    if cc[-1] == 0:
        rc, cc = rc[:-1], cc[:-1]
    return psi_sum(rc, cc, eps), rc, cc


SENTINEL_RULES = [{"name": "psi_feature_drift", "op": "<=", "value": 0.2},
                  {"name": "drift_share", "op": "<=", "value": 0.3}]


def sentinel_frames() -> tuple[pd.DataFrame, pd.DataFrame]:
    """The review's case: a 0/1 flag replaced by -999 / 999, a 1..3 code recoded 1 -> -100 and 3 -> 300."""
    rng = np.random.default_rng(31)
    flag, code = rng.integers(0, 2, 1000), rng.integers(1, 4, 1000)
    ref = pd.DataFrame({"flag": flag, "code": code})
    flag2, code2 = rng.integers(0, 2, 1000), rng.integers(1, 4, 1000)
    cur = pd.DataFrame({"flag": np.where(flag2 == 0, -999, 999), "code": np.select([code2 == 1, code2 == 3],
                                                                                  [-100, 300], code2)})
    return ref, cur


def test_a_sentinel_replacing_every_value_of_a_discrete_column_is_drift(tmp_path: Path) -> None:
    # before: each current value counted with its nearest reference value (-999 with 0, 999 with 1), PSI 0, pass
    ref, cur = sentinel_frames()
    report = run_drift(tmp_path, ref, cur, {**NO_HTML, "on_fail": "block", "features": ["flag", "code"]},
                       SENTINEL_RULES)
    c = by_name(report)
    for name in ("flag", "code"):
        check = c[f"{name}.psi"]
        expected, rc, cc = _loop_discrete_psi(ref[name].astype(float).tolist(), cur[name].astype(float).tolist())
        assert check.observed == pytest.approx(expected, abs=1e-12) and check.observed > 5
        assert check.status == Status.FAIL
        assert check.details["reference_counts"] == rc and check.details["current_counts"] == cc
        assert check.details["bins"][-1] == "not in the reference"
    assert c["flag.psi"].details["current_counts"] == [0, 0, 1000]
    assert c["flag.psi"].details["unseen_categories"] == [-999.0, 999.0]
    assert "1,000 of 1,000 current values, 100.0 %, in one bin the reference has no value in" in c["flag.psi"].message
    assert c["code.psi"].details["unseen_categories"] == [-100.0, 300.0]
    # the metric rules read the same numbers
    assert c["psi_feature_drift"].observed == pytest.approx(max(c["flag.psi"].observed, c["code.psi"].observed))
    assert c["psi_feature_drift"].status == Status.FAIL and c["drift_share"].observed == 1.0
    assert report.decision.value == "block"


@pytest.mark.parametrize(("offset", "matches"), [(0.009, True), (-0.0099, True), (0.011, False), (-0.02, False)])
def test_a_discrete_value_matches_within_one_percent_of_the_spacing(tmp_path: Path, offset: float,
                                                                    matches: bool) -> None:
    # codes 10 / 20 / 40: 10 and 20 are 10 apart (tolerance 0.1), 40 is 20 from 20 (tolerance 0.2)
    ref = pd.DataFrame({"g": [10.0] * 100 + [20.0] * 100 + [40.0] * 100})
    cur = pd.DataFrame({"g": [10.0 + 10 * offset] * 100 + [20.0] * 100 + [40.0 + 20 * offset] * 100})
    c = by_name(run_drift(tmp_path, ref, cur, NO_HTML))["g.psi"]
    assert c.details["tolerance"] == pytest.approx([0.1, 0.1, 0.2])
    if matches:
        assert c.observed == 0.0 and c.status == Status.PASS and c.details["unseen_categories"] == []
    else:
        assert c.details["current_counts"] == [0, 100, 0, 200] and c.status == Status.FAIL
        assert c.details["unseen_categories"] == sorted([10.0 + 10 * offset, 40.0 + 20 * offset])


def test_a_continuous_column_reports_the_share_outside_the_reference_range(tmp_path: Path) -> None:
    rng = np.random.default_rng(41)
    ref = pd.DataFrame({"x": rng.uniform(0, 1, 500)})
    cur = pd.DataFrame({"x": np.r_[rng.uniform(0, 1, 470), [-5.0] * 10, [7.0] * 20]})
    c = by_name(run_drift(tmp_path, ref, cur, NO_HTML))["x.psi"]
    back_r = pd.read_csv(tmp_path / "ref.csv")["x"]
    back_c = pd.read_csv(tmp_path / "cur.csv")["x"]
    lo, hi = back_r.min(), back_r.max()
    below, above = int((back_c < lo).sum()), int((back_c > hi).sum())
    assert below == 10 and above >= 20
    out = c.details["outside_reference_range"]
    assert out == {"below": below, "above": above, "share": (below + above) / 500, "reference_min": lo,
                   "reference_max": hi}
    assert f"({below:,} below, {above:,} above) lie outside the reference's range" in c.message
    # the outer bins stay open (the textbook PSI): the values beyond the range count in them
    value, _, _, cc = tie_safe_numerical_psi(back_r.tolist(), back_c.tolist())
    assert c.observed == pytest.approx(value, abs=1e-12) and c.details["current_counts"] == cc
    inside = by_name(run_drift(tmp_path / "in", ref, ref.iloc[::-1], NO_HTML))["x.psi"]
    assert inside.details["outside_reference_range"]["share"] == 0 and "outside" not in inside.message


@pytest.mark.parametrize("shift", [1e-4, -1e-4])
def test_a_tiny_shift_of_a_declared_numeric_grid_is_no_drift(tmp_path: Path, shift: float) -> None:
    # the review's case: 0.1 / 0.2 / 0.3, declared numerical, every value moved by 1e-4
    ref_v = [0.1] * 100 + [0.2] * 100 + [0.3] * 100
    cur_v = [v + shift for v in [0.1] * 90 + [0.2] * 110 + [0.3] * 100]
    c = by_name(run_drift(tmp_path, pd.DataFrame({"g": ref_v}), pd.DataFrame({"g": cur_v}),
                          {**NO_HTML, "numerical_features": ["g"]}))["g.psi"]
    # by hand: the values 0.1, 0.2, 0.3 (each matched within 0.001) hold 100 / 100 / 100 and 90 / 110 / 100
    expected = (0.3 - 1 / 3) * math.log(0.3 / (1 / 3)) + (110 / 300 - 1 / 3) * math.log((110 / 300) / (1 / 3))
    assert c.observed == pytest.approx(expected, abs=1e-12) and c.observed < 0.01
    assert c.status == Status.PASS
    assert c.details["bins"] == [0.1, 0.2, 0.3] and c.details["unseen_categories"] == []
    assert c.details["reference_counts"] == [100, 100, 100] and c.details["current_counts"] == [90, 110, 100]


@pytest.mark.parametrize("shift", [1e-4, -1e-4])
def test_a_tiny_shift_of_a_many_valued_grid_does_not_jump_a_quantile_edge(tmp_path: Path, shift: float) -> None:
    # 25 grid values (more than 10 bins): the deciles land on grid values; with an edge on a value, a
    # current value 1e-4 below it would change bin. The edges move to the midpoint below.
    rng = np.random.default_rng(12)
    grid = np.round(np.arange(1, 26) * 0.04, 2)
    ref_v = rng.choice(grid, 1000).tolist()
    cur_v = [round(v + shift, 6) for v in ref_v]
    c = by_name(run_drift(tmp_path, pd.DataFrame({"g": ref_v}), pd.DataFrame({"g": cur_v}), NO_HTML))["g.psi"]
    ref_l = pd.read_csv(tmp_path / "ref.csv")["g"].tolist()
    cur_l = pd.read_csv(tmp_path / "cur.csv")["g"].tolist()
    value, edges, rc, cc = tie_safe_numerical_psi(ref_l, cur_l)
    assert value == 0.0 and rc == cc  # every value stays in its bin
    assert c.observed == pytest.approx(0.0, abs=1e-12) and c.status == Status.PASS
    assert c.details["bins"] == pytest.approx(edges, abs=1e-12)
    assert not set(edges) & set(ref_l)  # no reference value on an edge
    # the textbook edges (deciles on grid values) would have called the downward shift drift
    if shift < 0:
        assert independent_numerical_psi(ref_l, cur_l)[0] > 0.02


def test_a_collapsed_quantile_grid_names_the_dominant_value(tmp_path: Path) -> None:
    ref = pd.DataFrame({"g": [0.0] * 200 + list(np.linspace(1, 2, 12))})  # 13 values, deciles all 0
    cur = pd.DataFrame({"g": [0.0] * 50 + list(np.linspace(1, 2, 50))})
    c = by_name(run_drift(tmp_path, ref, cur, NO_HTML))["g.psi"]
    assert c.status == Status.NOT_COMPUTABLE
    assert "94.3 % of the reference values are 0" in c.message  # 200 of 212


def test_categorical_codes_match_across_int_and_float_storage(tmp_path: Path) -> None:
    rng = np.random.default_rng(1)
    codes = rng.integers(1, 4, 100)
    cur_codes = codes.astype(float)
    cur_codes[0] = np.nan  # the current file's column is read as float64
    c = by_name(run_drift(tmp_path, pd.DataFrame({"code": codes}), pd.DataFrame({"code": cur_codes}),
                          {**NO_HTML, "categorical_features": ["code"]}))["code.psi"]
    # the one missing current value is its own bin (empty in the reference: smoothed)
    expected = independent_categorical_psi([int(v) for v in codes], [int(v) for v in cur_codes[1:]] + ["<NA>"])
    assert c.details["unseen_categories"] == []
    assert c.observed == pytest.approx(expected, abs=1e-12)


# ------------------------------------------------------------------------------------ label leakage


def test_a_feature_equal_to_the_target_or_its_complement_leaks(leak: dict[str, Any]) -> None:
    for name in ("leak.leakage", "anti.leakage"):
        c = leak["checks"][name]
        assert c.details["measure"] == "auc"
        assert c.observed == 1.0 and c.status == Status.FAIL and c.op == "<=" and c.threshold == 0.9
        assert "leakage" in c.message
    assert "t.leakage" not in leak["checks"]  # the target is not a feature


def test_a_random_feature_passes_with_the_folded_auc(leak: dict[str, Any]) -> None:
    cur = pd.read_csv(leak["c"])
    auc = roc_auc_score(cur["t"], cur["rnd"])
    c = leak["checks"]["rnd.leakage"]
    if c.details["target_encoded"]:  # its deciles' out-of-fold target mean scored higher than the raw AUC
        assert c.observed > max(auc, 1 - auc)
    else:
        assert c.observed == pytest.approx(max(auc, 1 - auc), abs=1e-12)
    assert c.status == Status.PASS and c.details["n_pairs"] == len(cur)


def test_a_text_copy_of_the_target_leaks_through_its_target_encoding(leak: dict[str, Any]) -> None:
    c = leak["checks"]["txt.leakage"]
    assert c.details["measure"] == "auc" and c.details["target_encoded"] is True
    assert c.observed == pytest.approx(1.0, abs=1e-12) and c.status == Status.FAIL and c.threshold == 0.9


def test_a_many_valued_category_that_decides_the_target_is_flagged_and_an_id_is_not(tmp_path: Path) -> None:
    rng = np.random.default_rng(21)
    n = 600
    code = rng.integers(0, 20, n)
    t = (code % 2 == 0).astype(int)  # the 20-valued code decides the target exactly
    ref = pd.DataFrame({"code": code.astype(str), "row_id": np.arange(n).astype(str), "t": t})
    cur = ref.iloc[::-1].copy()  # the same rows in another order: a reference file equal to the data is refused
    # CSV reads the codes back as integers: say they are categories
    drift = {**NO_HTML, "leakage": {}, "categorical_features": ["code", "row_id"]}
    c = by_name(run_drift(tmp_path, ref, cur, drift, target="t"))
    assert c["code.leakage"].observed == pytest.approx(1.0) and c["code.leakage"].status == Status.FAIL
    # an id recurs in no other fold: its encoding is the overall mean, which separates nothing
    assert c["row_id.leakage"].observed < 0.6 and c["row_id.leakage"].status == Status.PASS


def test_too_few_pairs_is_not_evaluated_never_pass(leak: dict[str, Any]) -> None:
    c = leak["checks"]["sparse.leakage"]
    assert c.status == Status.NOT_COMPUTABLE and c.observed is None
    assert c.message.startswith("not evaluated") and "20" in c.message and "30" in c.message
    assert leak["checks"]["sparse.psi"].status in (Status.PASS, Status.FAIL)  # drift itself is computed


def test_a_monotone_feature_of_a_regression_target_leaks_by_spearman(tmp_path: Path) -> None:
    rng = np.random.default_rng(9)

    def frame() -> pd.DataFrame:
        y = rng.normal(size=80)
        return pd.DataFrame({"y": y, "mono": np.exp(y), "rnd": rng.normal(size=80)})

    c = by_name(run_drift(tmp_path, frame(), frame(), {**NO_HTML, "leakage": {}}, target="y", task="regression"))
    assert c["mono.leakage"].details["measure"] == "spearman"
    assert c["mono.leakage"].observed == pytest.approx(1.0, abs=1e-12) and c["mono.leakage"].status == Status.FAIL
    cur = pd.read_csv(tmp_path / "cur.csv")
    rho = abs(scipy.stats.spearmanr(cur["rnd"], cur["y"]).statistic)
    rnd = c["rnd.leakage"]
    assert rnd.status == Status.PASS
    if rnd.details["target_encoded"]:  # its deciles' out-of-fold target mean scored higher
        assert rnd.observed > rho
    else:
        assert rnd.observed == pytest.approx(rho, abs=1e-12)


def test_a_jump_in_missing_values_is_drift(tmp_path: Path) -> None:
    rng = np.random.default_rng(4)
    ref = pd.DataFrame({"x": rng.normal(0, 1, 2000), "c": rng.choice(["a", "b"], 2000)})
    cur = ref.copy()
    cur.loc[cur.index[:1800], ["x", "c"]] = np.nan  # 90 % missing, the rest unchanged
    c = by_name(run_drift(tmp_path, ref, cur, NO_HTML))
    for name in ("x.psi", "c.psi"):
        assert c[name].status == Status.FAIL, c[name].message
        assert c[name].details["reference_counts"][-1] == 0 and c[name].details["current_counts"][-1] == 1800


def test_a_non_monotonic_leak_is_caught(tmp_path: Path) -> None:
    rng = np.random.default_rng(8)
    t = rng.integers(0, 2, 600)
    leak = np.where(t == 1, rng.choice([-10.0, 10.0], 600), 0.0) + rng.normal(0, 0.1, 600)  # raw AUC near 0.5
    frame = pd.DataFrame({"leak": leak, "t": t})
    raw = roc_auc_score(t, leak)
    assert max(raw, 1 - raw) < 0.6
    c = by_name(run_drift(tmp_path, frame.iloc[::-1], frame, {**NO_HTML, "leakage": {}}, target="t"))["leak.leakage"]
    assert c.status == Status.FAIL and c.observed > 0.95 and c.details["target_encoded"] is True


def test_psi_numerical_fast_path_equals_the_plain_path(monkeypatch) -> None:
    import numpy as np

    from gatekit.stats.drift import psi_numerical

    rng = np.random.default_rng(11)
    cases = [(rng.normal(size=5000), rng.normal(0.3, 1.2, size=4000)),
             (np.round(rng.exponential(size=3000), 1), np.round(rng.exponential(1.2, size=3000), 1)),  # ties
             (rng.integers(0, 5, 2000).astype(float), rng.integers(0, 6, 2000).astype(float))]  # discrete
    for ref, cur in cases:
        fast = psi_numerical(ref, cur)
        plain = psi_numerical(ref, cur, plain=True)
        assert fast == plain


# --------------------------------------------------------------- leakage carried by missing values


def _missing_leak(task: str) -> tuple[pd.DataFrame, np.ndarray]:
    rng = np.random.default_rng(31)
    n = 1000
    if task == "classification":
        y = rng.integers(0, 2, n).astype(float)
        blank = (y == 1) & (rng.random(n) < 0.9)  # f is missing on 90 % of the positive rows
    else:
        y = rng.normal(size=n)
        blank = y > 0.5  # f is missing exactly on the top third of the target
    f = rng.normal(size=n)
    f[blank] = np.nan
    return pd.DataFrame({"f": f, "y": y}), blank


@pytest.mark.parametrize("task", ["classification", "regression"])
def test_a_feature_blanked_on_the_positive_rows_leaks_through_its_missing_indicator(tmp_path: Path,
                                                                                   task: str) -> None:
    frame, blank = _missing_leak(task)
    c = by_name(run_drift(tmp_path, frame.iloc[::-1], frame, {**NO_HTML, "leakage": {}}, target="y",
                          task=task))["f.leakage"]
    cur = pd.read_csv(tmp_path / "cur.csv")
    indicator = cur["f"].isna().astype(float)
    if task == "classification":
        auc = roc_auc_score(cur["y"].astype(int), indicator)
        expected = max(auc, 1 - auc)
    else:  # |Spearman| over that of an indicator with as many 1s on the target's top ranks
        top = np.zeros(len(cur))
        top[np.argsort(cur["y"].to_numpy(), kind="stable")[len(cur) - int(blank.sum()):]] = 1.0
        expected = (abs(scipy.stats.spearmanr(indicator, cur["y"]).statistic)
                    / abs(scipy.stats.spearmanr(top, cur["y"]).statistic))
    assert c.observed == pytest.approx(expected, abs=1e-12)
    assert c.status == Status.FAIL, c.message
    assert c.details["scored"] == "missing" and c.details["n_missing"] == int(blank.sum())
    assert c.details["n_rows"] == len(cur) and c.details["n_pairs"] == len(cur) - int(blank.sum())
    assert c.details["missing_share"] == pytest.approx(blank.mean(), abs=1e-12)
    assert "missing indicator" in c.message and f"{int(blank.sum()):,} of {len(cur):,} rows" in c.message
    assert c.details["values_score"] < c.observed  # the values alone look harmless


def test_a_randomly_missing_feature_reports_its_missing_share_and_scores_its_values(tmp_path: Path) -> None:
    rng = np.random.default_rng(32)
    n = 800
    y = rng.integers(0, 2, n)
    f = rng.normal(size=n) + 3 * y  # the values leak; the gaps do not
    blank = rng.random(n) < 0.25
    f[blank] = np.nan
    frame = pd.DataFrame({"f": f, "y": y})
    c = by_name(run_drift(tmp_path, frame.iloc[::-1], frame, {**NO_HTML, "leakage": {}}, target="y"))["f.leakage"]
    cur = pd.read_csv(tmp_path / "cur.csv")
    ok = cur["f"].notna()
    auc = roc_auc_score(cur["y"][ok], cur["f"][ok])
    ind = roc_auc_score(cur["y"], cur["f"].isna().astype(float))
    assert c.details["scored"] == "values" and c.status == Status.FAIL
    assert c.observed >= max(auc, 1 - auc) - 1e-12
    assert c.details["missing_indicator_score"] == pytest.approx(max(ind, 1 - ind), abs=1e-12)
    assert c.details["n_missing"] == int(blank.sum()) and c.details["n_pairs"] == int(ok.sum())
    assert f"{int(blank.sum()):,} of {n:,} rows" in c.message


def test_too_few_value_pairs_is_not_a_pass_even_when_the_gaps_look_harmless(leak: dict[str, Any]) -> None:
    c = leak["checks"]["sparse.leakage"]  # 20 values, 100 gaps, random
    assert c.status == Status.NOT_COMPUTABLE and c.observed is None
    assert "missing indicator" in c.message and c.details["n_missing"] == 100


# ------------------------------------------------------------------ Jensen-Shannon distance, rounding-safe


def test_jensenshannon_from_shares_equals_scipy_where_scipy_gives_a_number() -> None:
    from scipy.spatial import distance

    from gatekit.stats.drift import jensenshannon_from_shares

    rng = np.random.default_rng(3)
    for _ in range(20):
        p, q = rng.random(7), rng.random(7)
        p[rng.integers(0, 7)] = 0.0
        assert jensenshannon_from_shares(p, q) == pytest.approx(float(distance.jensenshannon(p, q)), abs=1e-12)
    assert jensenshannon_from_shares(np.array([1.0, 0.0]), np.array([0.0, 1.0])) == pytest.approx(
        math.sqrt(math.log(2)), abs=1e-12)


def test_jensenshannon_from_shares_is_zero_where_scipy_rounds_to_nan() -> None:
    from scipy.spatial import distance

    from gatekit.stats.drift import jensenshannon_from_shares

    # the review's shares (evidently divides counts by the column length)
    p = np.array([4547, 4546]) / 9093
    q = np.array([4548, 4547]) / 9095
    with np.errstate(invalid="ignore"):
        assert math.isnan(float(distance.jensenshannon(p, q)))  # scipy: sqrt of a divergence of -1e-17
    # by hand with exact fractions: the divergence is ~1e-16 / 8 at most, so the distance is below 1e-7
    value = jensenshannon_from_shares(p, q)
    assert 0.0 <= value < 1e-7
    with pytest.raises(NotComputable):
        jensenshannon_from_shares(np.array([0.0, 0.0]), q)
    with pytest.raises(NotComputable):
        jensenshannon_from_shares(np.array([np.nan, 1.0]), q)


def test_a_category_blanked_on_the_positive_rows_leaks_through_its_missing_indicator(tmp_path: Path) -> None:
    rng = np.random.default_rng(33)
    n = 800
    y = rng.integers(0, 2, n)
    s = rng.choice(["p", "q", "r"], n).astype(object)
    blank = (y == 1) & (rng.random(n) < 0.9)
    s[blank] = None
    frame = pd.DataFrame({"s": s, "y": y})
    c = by_name(run_drift(tmp_path, frame.iloc[::-1], frame, {**NO_HTML, "leakage": {}}, target="y"))["s.leakage"]
    cur = pd.read_csv(tmp_path / "cur.csv")
    auc = roc_auc_score(cur["y"], cur["s"].isna().astype(float))
    assert c.details["scored"] == "missing" and c.status == Status.FAIL
    assert c.observed == pytest.approx(max(auc, 1 - auc), abs=1e-12)
    assert c.details["n_missing"] == int(blank.sum())


# ------------------------------------------------------------- the formulas on counts (both engines use them)


def _count_samples() -> list[np.ndarray]:
    rng = np.random.default_rng(17)
    out = []
    for n in (2, 3, 7, 10, 11, 99, 1000, 4321):
        out += [rng.normal(size=n) * 10.0 ** rng.integers(-3, 6), np.round(rng.exponential(size=n), 1),
                rng.integers(-5, 5, n).astype(float)]
    return out


def test_linear_quantile_from_order_statistics_is_numpys_bit_for_bit() -> None:
    from gatekit.stats.drift import linear_quantile, linear_quantile_positions, quantiles_from_counts

    probs = np.r_[np.arange(1, 10) / 10, np.arange(1, 100) / 100, [0.0, 1.0]]
    for x in _count_samples():
        s = np.sort(x)
        lo, hi, gamma = linear_quantile_positions(len(s), probs)
        expected = np.quantile(x, probs)
        assert np.array_equal(linear_quantile(s[lo], s[hi], gamma), expected)
        values, counts = np.unique(x, return_counts=True)
        assert np.array_equal(quantiles_from_counts(values, counts, probs), expected)


def test_sturges_edges_equal_numpys_from_min_max_and_size() -> None:
    from gatekit.stats.drift import sturges_edges

    rng = np.random.default_rng(5)
    cases = [*_count_samples(), rng.integers(0, 3, 500), rng.integers(-1000, 1000, 50), np.full(20, 4.0), np.full(9, 3)]
    for x in cases:
        integer = np.issubdtype(x.dtype, np.integer)
        got = sturges_edges(x.min(), x.max(), len(x), integer)
        assert np.array_equal(got, np.histogram_bin_edges(x, bins="sturges")), x.dtype


def test_ks_p_value_from_the_statistic_equals_scipy_in_both_branches() -> None:
    from gatekit.stats.drift import ks_p_value

    rng = np.random.default_rng(6)
    for n1, n2 in ((5, 7), (40, 40), (300, 1000), (10_000, 9_000), (12_000, 5_000)):
        a, b = np.round(rng.normal(size=n1), 2), np.round(rng.normal(0.05, 1, size=n2), 2)
        res = scipy.stats.ks_2samp(a, b)
        assert ks_p_value(float(res.statistic), n1, n2) == pytest.approx(res.pvalue, rel=1e-12, abs=1e-300)


def test_evidently_psi_and_chisquare_from_counts_equal_evidently() -> None:
    from evidently.legacy.calculations.stattests.chisquare_stattest import _chi_stat_test
    from evidently.legacy.calculations.stattests.psi import _psi
    from evidently.legacy.core import ColumnType

    from gatekit.stats.drift import evidently_chisquare, evidently_psi

    rng = np.random.default_rng(8)
    ref = pd.Series(rng.choice(list("abcd"), 500, p=[0.5, 0.3, 0.2, 0.0]))
    cur = pd.Series(rng.choice(list("abcde"), 400, p=[0.3, 0.3, 0.2, 0.1, 0.1]))
    keys = sorted(set(ref) | set(cur))
    rc = np.array([(ref == k).sum() for k in keys])
    cc = np.array([(cur == k).sum() for k in keys])
    assert evidently_psi(rc / rc.sum(), cc / cc.sum()) == pytest.approx(
        _psi(ref, cur, ColumnType.Categorical, 0.1)[0], rel=1e-12)
    both = ref[ref != "d"], cur[cur.isin(["a", "b", "c"])]
    rc2 = np.array([(both[0] == k).sum() for k in "abc"])
    cc2 = np.array([(both[1] == k).sum() for k in "abc"])
    assert evidently_chisquare(rc2, cc2) == pytest.approx(_chi_stat_test(both[0], both[1], ColumnType.Categorical,
                                                                         0.05)[0], rel=1e-12)


def test_category_labels_merge_integer_and_float_storage() -> None:
    from gatekit.stats.drift import label_counts, psi_categorical, psi_categorical_counts

    assert label_counts([1, 1.0, 2.5, "x", True], [3, 4, 1, 2, 5]) == {"1": 7, "2.5": 1, "x": 2, "True": 5}
    r, c = pd.Series([1, 2, 2, None, 3]), pd.Series([1.0, 2.0, np.nan, np.nan, 4.0])
    direct = psi_categorical(r, c)
    assert psi_categorical_counts({"1": 1, "2": 2, "3": 1}, {"1": 1, "2": 1, "4": 1}, 1, 2) == direct
