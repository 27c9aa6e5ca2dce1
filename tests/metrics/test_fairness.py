"""Tests of :mod:`gatekit.metrics.fairness`.

Expected values are computed independently of the code under test: by hand, from the documented
formula written here, or by calling scikit-learn, fairlearn, numpy or scipy directly.
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from fairlearn import metrics as flm

import gatekit
from gatekit.core.errors import NotComputable
from gatekit.metrics import fairness as fair
from tests.data.helpers import DPD, _rules_file, _unfair
from tests.metrics.helpers import THRESHOLDS, clf_data


def test_an_identifier_as_sensitive_feature_is_not_computable_quickly(tmp_path: Path) -> None:
    import numpy as np

    from gatekit.core.errors import NotComputable
    from gatekit.metrics import EvalData, fairness

    n = 2002  # 1,001 groups of 2 rows: over the limit of 1,000
    data = EvalData(y_true=np.tile([0, 1], n // 2), y_score=np.tile([0.2, 0.8], n // 2),
                    sensitive=pd.DataFrame({"id": np.repeat(np.arange(n // 2), 2).astype(str)}),
                    task="classification")
    t0 = time.perf_counter()
    with pytest.raises(NotComputable, match="1,001 groups"):
        fairness.demographic_parity_difference(data)
    assert time.perf_counter() - t0 < 5


def test_nobody_selected_is_flagged_as_trivially_fair(tmp_path: Path) -> None:
    df = _unfair()
    df["s"] = 0.1  # nobody reaches 0.5
    df.to_csv(tmp_path / "d.csv", index=False)
    r = gatekit.run(_rules_file(tmp_path, DPD), data=tmp_path / "d.csv", target="y", score="s", sensitive="g")
    assert r.checks[0].observed == 0.0
    assert "predicts positive for no one" in r.checks[0].message


@pytest.mark.parametrize("kind", ["nullable_boolean", "categorical"])
def test_sensitive_columns_with_na_of_any_dtype(tmp_path: Path, kind: str) -> None:
    df = _unfair(8)
    vals = [True, False, None, True, False, True, None, False]
    df["g"] = pd.array(vals, dtype="boolean") if kind == "nullable_boolean" else pd.Categorical(
        ["a", "b", None, "a", "b", "a", None, "b"])
    df.to_parquet(tmp_path / "d.parquet")
    p = tmp_path / "p.yaml"
    p.write_text("version: 1\nstrict: false\nmetrics:\n" + DPD.replace("}", ", params: {min_group_size: 1}}"))
    r = gatekit.run(p, data=tmp_path / "d.parquet", target="y", prediction="p", sensitive="g")
    assert r.checks[0].status.value in ("pass", "fail")
    assert len(r.checks[0].details["by_group"]) == 3  # two values and (missing)


# --------------------------------------------------------------------------------------------------
# 1. The cases
# --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("fn", [fair.demographic_parity_difference, fair.equal_opportunity_difference,
                                fair.equalized_odds_difference])
def test_fairness_single_group_not_computable(fn):
    data = clf_data([1, 0, 1, 0], [0.9, 0.1, 0.6, 0.4], sensitive={"g": ["a"] * 4})
    with pytest.raises(NotComputable) as exc:
        fn(data)
    assert "single group" in exc.value.reason
    # fairlearn itself silently says 0.0 here.
    assert flm.demographic_parity_difference([1, 0, 1, 0], [1, 0, 1, 0], sensitive_features=["a"] * 4) == 0.0


def test_equal_opportunity_group_without_positive_labels_not_computable():
    y, s, g = [1, 0, 1, 0], [0.9, 0.1, 0.6, 0.7], ["a", "b", "a", "b"]
    with pytest.raises(NotComputable) as exc:
        fair.equal_opportunity_difference(clf_data(y, s, sensitive={"g": g}))
    assert "b" in exc.value.reason
    assert exc.value.details["by_group"]["b"]["n_positive"] == 0
    assert exc.value.details["by_group"]["b"]["true_positive_rate"] is None
    # fairlearn reports a number (TPR of group b taken as 0): the case the check exists for.
    assert flm.equal_opportunity_difference(y, [1, 0, 1, 1], sensitive_features=g) == 1.0


@pytest.mark.parametrize("fn", [fair.demographic_parity_difference, fair.equal_opportunity_difference,
                                fair.equalized_odds_difference])
def test_missing_sensitive_value_strict_is_value_error(fn):
    data = clf_data([1, 0, 1, 0], [0.9, 0.1, 0.6, 0.7], sensitive={"g": ["a", np.nan, "a", "b"]}, strict=True)
    with pytest.raises(ValueError, match="missing sensitive value") as exc:
        fn(data)
    assert not isinstance(exc.value, NotComputable)


def test_missing_sensitive_value_not_strict_is_its_own_group():
    y = [1, 0, 1, 0, 1, 0]
    s = [0.9, 0.1, 0.6, 0.7, 0.8, 0.2]
    g = ["a", np.nan, "a", "b", np.nan, "b"]
    mv = fair.demographic_parity_difference(clf_data(y, s, sensitive={"g": g}, strict=False), min_group_size=1)
    # by hand: a -> preds [1, 1] rate 1; b -> [1, 0] rate 1/2; (missing) -> [0, 1] rate 1/2
    assert set(mv.details["by_group"]) == {"a", "b", "(missing)"}
    assert mv.details["by_group"]["(missing)"]["count"] == 2
    assert mv.details["by_group"]["(missing)"]["selection_rate"] == pytest.approx(0.5)
    assert mv.details["n_missing_sensitive"] == 2
    assert mv.value == pytest.approx(0.5)


# --------------------------------------------------------------------------------------------------
# 2d. Fairness: hand cases and HMDA vs fairlearn and a pandas groupby
# --------------------------------------------------------------------------------------------------


def _by_hand(y: np.ndarray, yp: np.ndarray, groups) -> pd.DataFrame:
    """Per-group count, selection rate, TPR and FPR from a plain pandas groupby."""
    df = pd.DataFrame({"y": np.asarray(y), "p": np.asarray(yp), "g": np.asarray(groups)})
    return pd.DataFrame({
        "count": df.groupby("g").size(),
        "selection_rate": df.groupby("g")["p"].mean(),
        "tpr": df[df.y == 1].groupby("g")["p"].mean(),
        "fpr": df[df.y == 0].groupby("g")["p"].mean(),
    })


def _spread(s: pd.Series) -> float:
    return float(s.max() - s.min())


def test_fairness_by_hand():
    # preds (>= 0.5) [1,0,0, 1,1,1]; a: sel 1/3, TPR 1/2, FPR 0; b: sel 1, TPR 1, FPR 1
    data = clf_data([1, 0, 1, 0, 1, 0], [0.9, 0.1, 0.2, 0.8, 0.7, 0.6], sensitive={"g": list("aaabbb")})
    assert fair.demographic_parity_difference(data, min_group_size=3).value == pytest.approx(2 / 3)
    assert fair.equal_opportunity_difference(data, min_group_size=3).value == pytest.approx(1 / 2)
    mv = fair.equalized_odds_difference(data, min_group_size=3)
    assert mv.value == pytest.approx(1.0)
    assert mv.details["tpr_difference"] == pytest.approx(0.5)
    assert mv.details["fpr_difference"] == pytest.approx(1.0)


def test_equalized_odds_group_without_negative_labels_not_computable():
    data = clf_data([1, 1, 1, 0], [0.9, 0.1, 0.6, 0.7], sensitive={"g": ["a", "a", "b", "b"]})
    with pytest.raises(NotComputable, match="negative labels"):
        fair.equalized_odds_difference(data, min_group_size=1)
    # equal opportunity only needs positives, which both groups have: a TPR 1/2, b TPR 1
    assert fair.equal_opportunity_difference(data, min_group_size=1).value == pytest.approx(0.5)


def test_fairness_without_sensitive_not_computable():
    with pytest.raises(NotComputable):
        fair.demographic_parity_difference(clf_data([1, 0], [0.9, 0.1]))


FAIRLEARN = {
    "demographic_parity_difference": (fair.demographic_parity_difference, flm.demographic_parity_difference),
    "equal_opportunity_difference": (fair.equal_opportunity_difference, flm.equal_opportunity_difference),
    "equalized_odds_difference": (fair.equalized_odds_difference, flm.equalized_odds_difference),
}


def _hand_value(name: str, table: pd.DataFrame) -> float:
    if name == "demographic_parity_difference":
        return _spread(table["selection_rate"])
    if name == "equal_opportunity_difference":
        return _spread(table["tpr"])
    return max(_spread(table["tpr"]), _spread(table["fpr"]))


@pytest.mark.parametrize("name", list(FAIRLEARN))
@pytest.mark.parametrize("t", THRESHOLDS)
def test_hmda_fairness_vs_fairlearn_and_groupby(hmda_clf, name, t):
    y, s, sf = hmda_clf
    ours, theirs = FAIRLEARN[name]
    yp = (s >= t).astype(int)
    afam = sf["afam"].to_numpy()
    expected_fl = theirs(y, yp, sensitive_features=afam)
    table = _by_hand(y, yp, afam)
    assert expected_fl == pytest.approx(_hand_value(name, table), abs=1e-12)  # the two references agree

    via_param = ours(clf_data(y, s, sensitive=sf[["afam"]]), threshold=t)
    via_policy = ours(clf_data(y, s, sensitive=sf[["afam"]], decision_threshold=t))
    for mv in (via_param, via_policy):
        assert mv.value == pytest.approx(expected_fl, abs=1e-12)
        assert mv.details["threshold"] == t
        assert set(mv.details["by_group"]) == set(table.index)
        for g, row in table.iterrows():
            got = mv.details["by_group"][g]
            assert got["count"] == row["count"]
            assert got["selection_rate"] == pytest.approx(row["selection_rate"])
            assert got["true_positive_rate"] == pytest.approx(row["tpr"])
            assert got["false_positive_rate"] == pytest.approx(row["fpr"])


def test_hmda_fairness_sensitive_column_param(hmda_clf):
    """With two sensitive columns given, ``sensitive=["afam"]`` restricts the metric to afam."""
    y, s, sf = hmda_clf
    expected = flm.demographic_parity_difference(y, (s >= 0.5).astype(int), sensitive_features=sf["afam"].to_numpy())
    mv = fair.demographic_parity_difference(clf_data(y, s, sensitive=sf), sensitive=["afam"])
    assert mv.value == pytest.approx(expected, abs=1e-12)
    assert mv.details["sensitive_columns"] == ["afam"]


@pytest.mark.parametrize("name", list(FAIRLEARN))
def test_hmda_fairness_intersection_of_two_columns(hmda_clf, name):
    y, s, sf = hmda_clf
    ours, theirs = FAIRLEARN[name]
    yp = (s >= 0.3).astype(int)
    expected_fl = theirs(y, yp, sensitive_features=sf.reset_index(drop=True))
    table = _by_hand(y, yp, ("afam=" + sf["afam"] + ", single=" + sf["single"]).to_numpy())
    assert len(table) == 4
    assert expected_fl == pytest.approx(_hand_value(name, table), abs=1e-12)
    mv = ours(clf_data(y, s, sensitive=sf), threshold=0.3, min_group_size=1)  # fairlearn counts every group
    assert mv.value == pytest.approx(expected_fl, abs=1e-12)
    assert set(mv.details["by_group"]) == set(table.index)


def test_hmda_fairness_missing_sensitive_not_strict(hmda_clf):
    y, s, sf = hmda_clf
    afam = sf[["afam"]].copy()
    afam.iloc[[0, 5, 17, 250, 499], 0] = np.nan
    with pytest.raises(ValueError):
        fair.demographic_parity_difference(clf_data(y, s, sensitive=afam, strict=True))
    mv = fair.demographic_parity_difference(clf_data(y, s, sensitive=afam, strict=False), min_group_size=5)
    groups = afam["afam"].fillna("(missing)").to_numpy()
    yp = (s >= 0.5).astype(int)
    table = _by_hand(y, yp, groups)
    assert mv.value == pytest.approx(_spread(table["selection_rate"]), abs=1e-12)
    assert mv.value == pytest.approx(flm.demographic_parity_difference(y, yp, sensitive_features=groups), abs=1e-12)
    assert mv.details["by_group"]["(missing)"]["count"] == 5
    assert mv.details["n_missing_sensitive"] == 5


def test_fairness_intersection_with_an_empty_combination():
    """Two sensitive columns whose cross product has an unobserved cell (y & q): listed with n = 0, never dropped.

    Only observed groups count: x&p (scores .9, .6) rate 1; x&q (.1, .7) rate 1/2; y&p (.2, .8, .55, .1) rate 1/2.
    """
    y = [1, 0, 1, 0, 1, 0, 1, 0]
    s = [0.9, 0.1, 0.6, 0.7, 0.2, 0.8, 0.55, 0.1]
    sf = {"a": list("xxxxyyyy"), "b": list("pqpqpppp")}
    mv = fair.demographic_parity_difference(clf_data(y, s, sensitive=sf), min_group_size=1)
    assert mv.value == pytest.approx(0.5)
    assert set(mv.details["by_group"]) == {"a=x, b=p", "a=x, b=q", "a=y, b=p", "a=y, b=q"}
    empty = mv.details["by_group"]["a=y, b=q"]
    assert empty["count"] == 0 and empty["selection_rate"] is None and empty["counted"] is False
    assert "not computable" in empty["note"] or "no rows" in empty["note"]
    assert mv.details["groups_not_counted"] == ["a=y, b=q"]
    assert flm.demographic_parity_difference(y, (np.asarray(s) >= 0.5).astype(int),
                                             sensitive_features=pd.DataFrame(sf)) == pytest.approx(0.5)


def test_group_names_never_merge_distinct_groups():
    """Values containing the separator must not make two groups one (this hid a disparity of 1.0)."""
    y = np.array([1, 0, 1, 0, 1, 0])
    s = np.array([0.9, 0.9, 0.1, 0.1, 0.9, 0.9])
    sf = pd.DataFrame({"a": ["p, b=q", "p, b=q", "p", "p", "s", "s"], "b": ["r", "r", "q, b=r", "q, b=r", "t", "t"]})
    mv = fair.demographic_parity_difference(clf_data(y, s, sensitive=sf), min_group_size=1)
    yp = (s >= 0.5).astype(int)
    expected = flm.demographic_parity_difference(y, yp, sensitive_features=sf)
    assert len(mv.details["by_group"]) == 9  # every combination of 3 x 3 values is listed ...
    assert sum(v["count"] > 0 for v in mv.details["by_group"].values()) == 3  # ... 3 of them have rows
    assert mv.value == pytest.approx(expected) == pytest.approx(1.0)


def test_literal_missing_label_does_not_merge_with_missing_values():
    y = np.array([1, 0, 1, 0])
    s = np.array([0.9, 0.9, 0.1, 0.1])
    sf = pd.DataFrame({"g": ["(missing)", "(missing)", None, None]})
    mv = fair.demographic_parity_difference(clf_data(y, s, sensitive=sf, strict=False), min_group_size=1)
    assert len(mv.details["by_group"]) == 2 and mv.value == pytest.approx(1.0)


# --------------------------------------------------------------------------------------------------
# Issue 20: disparate impact ratio, minimum group size, Wilson intervals, every intersection listed
# --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("t", THRESHOLDS)
@pytest.mark.parametrize("cols", [["afam"], ["afam", "single"]])
def test_hmda_disparate_impact_ratio_vs_fairlearn(hmda_clf, t, cols):
    y, s, sf = hmda_clf
    yp = (s >= t).astype(int)
    groups = sf[cols].reset_index(drop=True)
    expected = flm.demographic_parity_ratio(y, yp, sensitive_features=groups if len(cols) > 1 else groups[cols[0]])
    table = _by_hand(y, yp, groups.astype(str).agg("|".join, axis=1).to_numpy())
    if table["selection_rate"].max() == 0:
        with pytest.raises(NotComputable, match="0/0"):
            fair.disparate_impact_ratio(clf_data(y, s, sensitive=sf), threshold=t, sensitive=cols, min_group_size=1)
        return
    by_hand = table["selection_rate"].min() / table["selection_rate"].max()
    assert expected == pytest.approx(by_hand, abs=1e-12)  # the two references agree
    mv = fair.disparate_impact_ratio(clf_data(y, s, sensitive=sf), threshold=t, sensitive=cols, min_group_size=1)
    assert abs(mv.value - expected) <= 1e-12


def test_disparate_impact_ratio_by_hand_and_four_fifths():
    # a: 40 rows, 20 selected (0.5); b: 40 rows, 12 selected (0.3): ratio 0.3 / 0.5 = 0.6 < 0.8
    y = np.tile([1, 0], 40)
    s = np.r_[np.repeat([0.9, 0.1], 20), np.repeat([0.9, 0.1], [12, 28])]
    mv = fair.disparate_impact_ratio(clf_data(y, s, sensitive={"g": ["a"] * 40 + ["b"] * 40}))
    assert mv.value == pytest.approx(0.6)
    assert (mv.details["lowest_group"], mv.details["highest_group"]) == ("b", "a")


def test_disparate_impact_ratio_nobody_selected_is_not_computable():
    data = clf_data([1, 0] * 40, [0.1] * 80, sensitive={"g": ["a"] * 40 + ["b"] * 40})
    with pytest.raises(NotComputable, match="0/0"):
        fair.disparate_impact_ratio(data)


def test_disparate_impact_ratio_on_compact_rows_equals_the_rows():
    rng = np.random.default_rng(4)
    y, s = rng.integers(0, 2, 400), rng.choice([0.2, 0.4, 0.6, 0.8], 400)
    g = rng.choice(["a", "b", "c"], 400)
    rows = clf_data(y, s, sensitive={"g": g})
    cells = pd.DataFrame({"y": y, "s": s, "g": g}).groupby(["y", "s", "g"]).size().reset_index(name="n")
    compact = clf_data(cells["y"], cells["s"], sensitive={"g": cells["g"]}, weights=cells["n"].to_numpy())
    assert fair.disparate_impact_ratio(compact).value == pytest.approx(fair.disparate_impact_ratio(rows).value,
                                                                       abs=1e-12)


def _two_big_one_small():
    # a: 40 rows, sel 0.5; b: 40 rows, sel 0.25; c: 5 rows, all selected (sel 1)
    y = np.tile([1, 0], 45)[:85]
    s = np.r_[np.repeat([0.9, 0.1], 20), np.repeat([0.9, 0.1], [10, 30]), [0.9] * 5]
    return clf_data(y, s, sensitive={"g": ["a"] * 40 + ["b"] * 40 + ["c"] * 5})


def test_a_small_group_is_reported_and_not_counted():
    mv = fair.demographic_parity_difference(_two_big_one_small())  # default min_group_size 30
    assert mv.value == pytest.approx(0.25)  # a and b only; with c it would be 0.75
    c = mv.details["by_group"]["c"]
    assert c["counted"] is False and "reported, not counted" in c["note"] and c["selection_rate"] == 1.0
    assert mv.details["groups_not_counted"] == ["c"] and mv.details["min_group_size"] == fair.DEFAULT_MIN_GROUP_SIZE
    assert fair.disparate_impact_ratio(_two_big_one_small()).value == pytest.approx(0.5)
    # counted when the rule says so
    assert fair.demographic_parity_difference(_two_big_one_small(), min_group_size=5).value == pytest.approx(0.75)


def test_small_groups_block_makes_the_rule_not_computable():
    with pytest.raises(NotComputable, match=r"c \(n=5\).*small_groups: block") as exc:
        fair.disparate_impact_ratio(_two_big_one_small(), small_groups="block")
    assert exc.value.details["by_group"]["c"]["counted"] is False  # the groups are still reported


def test_fewer_than_two_counted_groups_is_not_computable():
    with pytest.raises(NotComputable, match="only 0 of 3 groups"):
        fair.demographic_parity_difference(_two_big_one_small(), min_group_size=41)


def test_group_size_params_are_validated():
    params = fair.SPECS[0].params
    assert params["min_group_size"](30) == 30
    for bad in (0, -1, 2.5, True, "30"):
        with pytest.raises(ValueError, match="min_group_size"):
            params["min_group_size"](bad)
    assert params["small_groups"]("block") == "block"
    with pytest.raises(ValueError, match="small_groups"):
        params["small_groups"]("drop")


def _wilson_by_formula(k: int, n: int, z: float) -> tuple[float, float]:
    """Wilson (1927): (p + z^2/2n +- z sqrt(p(1-p)/n + z^2/4n^2)) / (1 + z^2/n)."""
    p = k / n
    centre, half = p + z * z / (2 * n), z * np.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    return (centre - half) / (1 + z * z / n), (centre + half) / (1 + z * z / n)


def test_group_rate_intervals_are_wilson_score_intervals(hmda_clf):
    from scipy.stats import norm

    smp = pytest.importorskip("statsmodels.stats.proportion")
    y, s, sf = hmda_clf
    mv = fair.demographic_parity_difference(clf_data(y, s, sensitive=sf), min_group_size=1)
    assert mv.details["rate_intervals"]["confidence"] == 0.95
    z = norm.ppf(0.975)
    worst = 0.0
    for v in mv.details["by_group"].values():
        for rate, k, n in (("selection_rate", round(v["selection_rate"] * v["count"]), v["count"]),
                           ("true_positive_rate", round((v["true_positive_rate"] or 0) * v["n_positive"]),
                            v["n_positive"]),
                           ("false_positive_rate", round((v["false_positive_rate"] or 0) * v["n_negative"]),
                            v["n_negative"])):
            got = v[f"{rate}_interval"]
            if n == 0:
                assert got is None
                continue
            ref = smp.proportion_confint(k, n, alpha=0.05, method="wilson")
            worst = max(worst, *(abs(a - b) for a, b in zip(got, ref, strict=True)),
                        *(abs(a - b) for a, b in zip(got, _wilson_by_formula(k, n, z), strict=True)))
            assert got[0] <= v[rate] <= got[1]
    assert worst < 1e-12
    # k = 0: the interval starts at 0 and is not zero-width (unlike the Wald interval)
    assert fair.wilson_interval(0, 10)[0] == 0.0 and fair.wilson_interval(0, 10)[1] == pytest.approx(
        _wilson_by_formula(0, 10, z)[1], abs=1e-12)
    assert fair.wilson_interval(0, 0) is None
