"""Tests of :mod:`gatekit.metrics.calibration` against the formulas of Naeini et al. (2015) and Guo et al.
(2017), computed here independently (explicit bin membership ``lo < s <= hi``, plain Python sums), and against
scikit-learn's ``calibration_curve``, whose uniform bins are the same right-closed bins."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from sklearn.calibration import calibration_curve

from gatekit.core.errors import NotComputable
from gatekit.metrics import EvalData, default_registry
from gatekit.metrics.calibration import (
    bins_param,
    expected_calibration_error,
    max_calibration_error,
    reliability,
    strategy_param,
)
from tests.metrics.helpers import clf_data, compact_clf, expand

REG = default_registry()


def _by_formula(y: np.ndarray, s: np.ndarray, edges: list[float]) -> tuple[float, float, list[tuple]]:
    """ECE, MCE and (count, conf, acc) of each non-empty bin, from the definition with ``lo < s <= hi`` bins
    (the first bin also holds s == 0)."""
    n = len(y)
    ece, mce, table = 0.0, 0.0, []
    for b in range(len(edges) - 1):
        lo, hi = edges[b], edges[b + 1]
        members = [i for i in range(n) if (lo < s[i] <= hi) or (b == 0 and s[i] == lo)]
        if not members:
            continue
        conf = sum(s[i] for i in members) / len(members)
        acc = sum(int(y[i] == 1) for i in members) / len(members)
        ece += len(members) / n * abs(acc - conf)
        mce = max(mce, abs(acc - conf))
        table.append((len(members), conf, acc))
    return ece, mce, table


def _same_table(bins: list[dict], table: list[tuple]) -> None:
    assert [b["count"] for b in bins] == [t[0] for t in table]
    assert [b["confidence"] for b in bins] == pytest.approx([t[1] for t in table], abs=1e-12)
    assert [b["accuracy"] for b in bins] == pytest.approx([t[2] for t in table], abs=1e-12)


def _random(seed: int, n: int = 500, decimals: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    s = rng.beta(2, 3, n)
    if decimals is not None:
        s = np.round(s, decimals)  # ties, and scores on bin edges
    y = (rng.random(n) < np.clip(s * 1.3 - 0.05, 0, 1)).astype(int)  # miscalibrated on purpose
    return y, s


def test_a_small_case_by_hand() -> None:
    # 4 bins of width 0.25: (0.1, 0.2) -> bin 1 conf 0.15 acc 0.5; 0.25 (on the edge) -> bin 1 too;
    # (0.6, 0.7, 0.9) -> bins 3, 3, 4
    y = [0, 1, 1, 1, 0, 1]
    s = [0.1, 0.2, 0.25, 0.6, 0.7, 0.9]
    d = clf_data(y, s)
    ece = expected_calibration_error(d, bins=4)
    # bin [0, .25]: 3 rows, conf .55/3, acc 2/3; bin (.5, .75]: 2 rows, conf .65, acc .5; bin (.75, 1]: conf .9 acc 1
    gaps = [abs(2 / 3 - 0.55 / 3), abs(0.5 - 0.65), abs(1 - 0.9)]
    assert ece.value == pytest.approx(3 / 6 * gaps[0] + 2 / 6 * gaps[1] + 1 / 6 * gaps[2], abs=1e-15)
    assert max_calibration_error(d, bins=4).value == pytest.approx(max(gaps), abs=1e-15)
    det = ece.details
    assert det["edges"] == [0.0, 0.25, 0.5, 0.75, 1.0]
    assert [b["count"] for b in det["bins"]] == [3, 2, 1]
    assert [b["lo"] for b in det["bins"]] == [0.0, 0.5, 0.75]
    assert det["n_bins"] == 4 and det["n_bins_nonempty"] == 3 and det["strategy"] == "uniform"
    assert "right-closed" in det["convention"] and det["n"] == 6


@pytest.mark.parametrize("seed", range(5))
@pytest.mark.parametrize("bins", [1, 5, 10, 15, 37])
@pytest.mark.parametrize("decimals", [None, 2, 1])
def test_uniform_bins_equal_the_formula(seed: int, bins: int, decimals: int | None) -> None:
    y, s = _random(seed, decimals=decimals)
    d = clf_data(y, s)
    edges = list(np.linspace(0, 1, bins + 1))
    ece, mce, table = _by_formula(y, s, edges)
    got = expected_calibration_error(d, bins=bins)
    assert got.value == pytest.approx(ece, abs=1e-12)
    assert max_calibration_error(d, bins=bins).value == pytest.approx(mce, abs=1e-12)
    _same_table(got.details["bins"], table)


@pytest.mark.parametrize("seed", range(5))
@pytest.mark.parametrize("bins", [5, 10, 15])
@pytest.mark.parametrize("decimals", [None, 2, 1])
def test_uniform_bins_are_scikit_learns_calibration_curve(seed: int, bins: int, decimals: int | None) -> None:
    # calibration_curve(strategy="uniform") bins by np.searchsorted(edges[1:-1], p) (right-closed) and drops
    # empty bins: its (prob_true, prob_pred) are our (accuracy, confidence), bin by bin
    y, s = _random(seed, decimals=decimals)
    prob_true, prob_pred = calibration_curve(y, s, n_bins=bins, strategy="uniform")
    got = reliability(clf_data(y, s), bins, "uniform")["bins"]
    assert [b["accuracy"] for b in got] == pytest.approx(list(prob_true), abs=1e-12)
    assert [b["confidence"] for b in got] == pytest.approx(list(prob_pred), abs=1e-12)
    counts = np.array([b["count"] for b in got])
    ece = float(np.sum(counts / len(y) * np.abs(prob_true - prob_pred)))
    assert expected_calibration_error(clf_data(y, s), bins=bins).value == pytest.approx(ece, abs=1e-12)


@pytest.mark.parametrize("seed", range(5))
@pytest.mark.parametrize("bins", [2, 10, 15])
@pytest.mark.parametrize("decimals", [None, 1])
def test_quantile_bins_equal_the_formula_with_inverted_cdf_edges(seed: int, bins: int, decimals: int | None) -> None:
    y, s = _random(seed, decimals=decimals)
    n = len(s)
    srt = sorted(s)
    # inverted CDF: the k/B quantile is the smallest score whose empirical CDF reaches k/B, i.e. the
    # ceil(n k / B)-th smallest score (Hyndman & Fan 1996, definition 1)
    inner = sorted({srt[math.ceil(n * k / bins) - 1] for k in range(1, bins)} - {0.0, 1.0})
    edges = [0.0, *inner, 1.0]
    ece, mce, table = _by_formula(y, s, edges)
    got = expected_calibration_error(clf_data(y, s), bins=bins, strategy="quantile")
    assert got.details["edges"] == pytest.approx(edges, abs=0)
    assert got.value == pytest.approx(ece, abs=1e-12)
    assert max_calibration_error(clf_data(y, s), bins=bins, strategy="quantile").value == pytest.approx(mce, abs=1e-12)
    _same_table(got.details["bins"], table)
    if decimals is None:  # distinct scores: equal masses up to one row
        counts = [b["count"] for b in got.details["bins"]]
        assert len(counts) == bins and max(counts) - min(counts) <= 1


def test_scores_at_zero_and_one_and_on_edges() -> None:
    y = [0, 1, 1, 0, 1]
    s = [0.0, 1.0, 0.5, 0.5, 0.2]
    d = expected_calibration_error(clf_data(y, s), bins=2).details
    # [0, .5] holds 0, .2, .5, .5 (0.5 is on the edge: the bin below); (.5, 1] holds 1.0
    assert [(b["lo"], b["hi"], b["count"]) for b in d["bins"]] == [(0.0, 0.5, 4), (0.5, 1.0, 1)]


def test_a_perfectly_calibrated_and_a_maximally_wrong_model() -> None:
    # each bin's rate equals its (single) score: ECE 0
    y = [1] * 3 + [0] * 7 + [1] * 7 + [0] * 3
    s = [0.3] * 10 + [0.7] * 10
    assert expected_calibration_error(clf_data(y, s), bins=10).value == pytest.approx(0, abs=1e-15)
    wrong = clf_data([0, 1], [1.0, 0.0])
    assert expected_calibration_error(wrong).value == 1.0 and max_calibration_error(wrong).value == 1.0


@pytest.mark.parametrize("seed", range(4))
@pytest.mark.parametrize("params", [{}, {"bins": 10, "strategy": "quantile"}, {"bins": 3}])
def test_compact_rows_equal_the_rows_they_stand_for(seed: int, params: dict) -> None:
    compact = compact_clf(seed, n=200, max_count=9, decimals=2)
    plain = expand(compact)
    for fn in (expected_calibration_error, max_calibration_error):
        a, b = fn(compact, **params), fn(plain, **params)
        assert a.value == pytest.approx(b.value, abs=1e-12)
        assert a.details["n"] == b.details["n"] == int(compact.weights.sum())
        assert [x["count"] for x in a.details["bins"]] == [x["count"] for x in b.details["bins"]]
        assert a.details["edges"] == b.details["edges"]


@pytest.mark.parametrize(("data", "match"), [
    (clf_data([0, 1], pred=[0, 1]), "needs a score"),
    (clf_data([0, 1], [10.0, 90.0]), r"probabilities in \[0, 1\]"),
    (clf_data([0, 1], [0.2, np.nan]), "missing or not finite"),
    (EvalData(y_true=np.array([0, 1, 2]), y_pred=np.array([0, 1, 2]), task="multiclass", classes=["a", "b", "c"]),
     "class probabilities"),
    (EvalData(y_true=np.array([0, 1, 2]), loss_sums=np.zeros(3), task="multiclass", classes=["a", "b", "c"]),
     "--engine pandas"),
    (EvalData(y_true=np.array([], dtype=int), y_score=np.array([]), task="classification"), "no rows"),
    (clf_data([0, 1], [0.2, 0.4], weights=np.array([1.5, 1.0])), "whole numbers"),
])
def test_not_computable(data: EvalData, match: str) -> None:
    for name in ("expected_calibration_error", "max_calibration_error"):
        with pytest.raises(NotComputable, match=match):
            REG.resolve(name).spec.fn(data)  # type: ignore[union-attr,misc]


def test_names_aliases_and_parameters() -> None:
    assert REG.resolve("ece").spec.name == "expected_calibration_error"  # type: ignore[union-attr]
    assert REG.resolve("mce").spec.name == "max_calibration_error"  # type: ignore[union-attr]
    spec = REG.resolve("ece").spec  # type: ignore[union-attr]
    assert set(spec.params) == {"bins", "strategy"} and spec.bounds == (0, 1) and spec.higher_is_better is False
    assert bins_param(10) == 10 and bins_param(10.0) == 10
    for bad in (0, 1001, 2.5, True, "10"):
        with pytest.raises(ValueError, match="bins"):
            bins_param(bad)
    assert strategy_param("quantile") == "quantile"
    with pytest.raises(ValueError, match="uniform, quantile"):
        strategy_param("equal")


# --- on each engine -----------------------------------------------------------------------------------------------

ENGINE_POLICY = {"version": 1, "name": "calibration", "metrics": [
    {"name": "ece", "op": "<=", "value": 0.5},
    {"name": "expected_calibration_error", "op": "<=", "value": 0.5, "params": {"bins": 10, "strategy": "quantile"}},
    {"name": "mce", "op": "<=", "value": 0.9},
    {"name": "max_calibration_error", "op": "<=", "value": 0.9, "params": {"bins": 5}}]}


def _engine_rows(n: int = 400) -> pd.DataFrame:
    y, s = _random(11, n, decimals=2)
    return pd.DataFrame({"y": y, "s": s})


@pytest.mark.parametrize("engine", ["pandas", "duckdb", "spark"])
def test_each_engine_gives_the_formulas_value(engine: str, request: pytest.FixtureRequest) -> None:
    import gatekit

    if engine == "spark":
        request.getfixturevalue("spark")
    df = _engine_rows()
    y, s = df["y"].to_numpy(), df["s"].to_numpy()
    r = gatekit.run(ENGINE_POLICY, data=df, target="y", score="s", engine=engine)
    got = {(c.name, c.details["params"].get("strategy", "uniform"), c.details["n_bins"]): c for c in r.checks}
    assert all(c.status.value == "pass" for c in r.checks), [c.message for c in r.checks]
    srt = sorted(s)
    quantile_edges = [0.0, *sorted({srt[math.ceil(len(s) * k / 10) - 1] for k in range(1, 10)} - {0.0, 1.0}), 1.0]
    for name, strategy, bins, edges, which in (
            ("ece", "uniform", 15, list(np.linspace(0, 1, 16)), 0),
            ("expected_calibration_error", "quantile", 10, quantile_edges, 0),
            ("mce", "uniform", 15, list(np.linspace(0, 1, 16)), 1),
            ("max_calibration_error", "uniform", 5, list(np.linspace(0, 1, 6)), 1)):
        check = got[(name, strategy, bins)]
        assert check.observed == pytest.approx(_by_formula(y, s, edges)[which], abs=1e-12), (engine, name)
        assert check.details["n"] == len(df)


def _multiclass(seed: int, n: int = 600, k: int = 4, decimals: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    logits = rng.normal(size=(n, k)) * 1.5
    p = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    if decimals is not None:  # ties in the confidences (and rows still summing to 1: the last column takes the rest)
        p = np.round(p, decimals)
        p[:, -1] = 1 - p[:, :-1].sum(axis=1)
        p = np.clip(p, 0, 1)
    y = np.array([rng.choice(k, p=row / row.sum()) if rng.random() < 0.7 else rng.integers(k) for row in p])
    return y, p


@pytest.mark.parametrize("seed", range(3))
@pytest.mark.parametrize("bins", [5, 15])
@pytest.mark.parametrize("decimals", [None, 2])
def test_multiclass_is_the_top_label_form_of_guo_et_al(seed: int, bins: int, decimals: int | None) -> None:
    y, p = _multiclass(seed, decimals=decimals)
    conf = [max(row) for row in p]  # the largest probability
    correct = [int(list(row).index(max(row)) == t) for row, t in zip(p, y, strict=True)]  # argmax, first on ties
    ece, mce, table = _by_formula(np.array(correct), np.array(conf), list(np.linspace(0, 1, bins + 1)))
    data = EvalData(y_true=y, y_score=p, task="multiclass", classes=["a", "b", "c", "d"])
    got = expected_calibration_error(data, bins=bins)
    assert got.value == pytest.approx(ece, abs=1e-12) and "top-label" in got.details["form"]
    assert max_calibration_error(data, bins=bins).value == pytest.approx(mce, abs=1e-12)
    _same_table(got.details["bins"], table)
    w = np.random.default_rng(seed).integers(1, 5, len(y))  # compact rows: the rows they stand for
    compact = EvalData(y_true=y, y_score=p, task="multiclass", classes=["a", "b", "c", "d"], weights=w)
    plain = EvalData(y_true=np.repeat(y, w), y_score=np.repeat(p, w, axis=0), task="multiclass",
                     classes=["a", "b", "c", "d"])
    for params in ({"bins": bins}, {"bins": bins, "strategy": "quantile"}):
        assert expected_calibration_error(compact, **params).value == pytest.approx(
            expected_calibration_error(plain, **params).value, abs=1e-12)


@pytest.mark.parametrize("engine", ["pandas", "duckdb", "spark"])
def test_a_multiclass_target_needs_the_probability_matrix(engine: str, request: pytest.FixtureRequest) -> None:
    import gatekit

    if engine == "spark":
        request.getfixturevalue("spark")
    y, p = _multiclass(7, n=300, k=3, decimals=3)
    classes = np.array(["a", "b", "c"])
    df = pd.DataFrame({"y": classes[y], **{f"score_{c}": p[:, j] for j, c in enumerate(classes)}})
    r = gatekit.run({"version": 1, "metrics": [{"name": "ece", "op": "<=", "value": 1}]}, data=df, target="y",
                    score="score_*", engine=engine)
    (check,) = r.checks
    if engine == "pandas":
        conf = p.max(axis=1)
        correct = (p.argmax(axis=1) == y).astype(int)
        assert check.observed == pytest.approx(_by_formula(correct, conf, list(np.linspace(0, 1, 16)))[0], abs=1e-12)
    else:  # the engine keeps confusion counts, not each row's probabilities
        assert check.status.value == "not_computable" and "--engine pandas" in check.message
