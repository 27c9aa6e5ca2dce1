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

from gatekit.core.results import Status
from tests.sections.helpers import by_name
from tests.stats.helpers import EPS, NO_HTML, independent_categorical_psi, independent_numerical_psi, run_drift

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
    value, edges, rc, cc = independent_numerical_psi(ref_l, cur_l, c.details["smoothing"])
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
    # every decile of 95 zeros and 5 ones is 0: quantile bins would collapse, one bin per value does not
    ref = pd.DataFrame({"g": [0] * 95 + [1] * 5})
    cur = pd.DataFrame({"g": [0] * 50 + [1] * 50 + [2] * 10})
    c = by_name(run_drift(tmp_path, ref, cur, NO_HTML))["g.psi"]
    assert c.status == Status.FAIL
    assert c.observed == pytest.approx(independent_categorical_psi([0] * 95 + [1] * 5,
                                                                   [0] * 50 + [1] * 50 + [2] * 10), abs=1e-12)
    assert c.details["categories"] == [0.0, 1.0, 2.0] and c.details["unseen_categories"] == [2.0]
    assert "one bin per value" in c.details["binning"] and "only in the current data: 2.0" in c.message


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
    cur = ref.copy()
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
    c = by_name(run_drift(tmp_path, frame, frame.copy(), {**NO_HTML, "leakage": {}}, target="t"))["leak.leakage"]
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
