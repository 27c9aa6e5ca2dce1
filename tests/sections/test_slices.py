"""Tests of :mod:`gatekit.sections.slices`: a metric on every slice, against scikit-learn on the slice's rows.

Every expected value is computed here, directly on the rows of each slice (pandas masks, scikit-learn); the
intervals against a bootstrap written here (the stratified multinomial per (slice, class) of the grouped rows,
scikit-learn with ``sample_weight``); the
engines against each other, to the last digit.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import sklearn.metrics as skm

import gatekit
from gatekit.core.errors import InputError
from gatekit.core.results import CheckResult, Status


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


@pytest.fixture(scope="module")
def rows(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, pd.DataFrame]:
    """Scored rows with a region (south ranks worst; isle has 12 rows; some missing), a code (west never has 3)
    and an age (some below 20, some 60 and over, some missing)."""
    rng = np.random.default_rng(11)
    n = 1500
    region = rng.choice(["north", "south", "east", "west"], n, p=[0.35, 0.25, 0.25, 0.15]).astype(object)
    region[:12] = "isle"
    region[12:52] = None  # 40 rows with no region
    code = rng.integers(1, 4, n)
    code[region == "west"] = rng.integers(1, 3, int((region == "west").sum()))  # west x 3 is empty
    y = (rng.random(n) < 0.3).astype(int)
    strength = np.where(region == "south", 0.6, 2.0)
    score = np.round(_sigmoid(strength * y + rng.standard_normal(n) - 0.8), 3)  # rounded: ties, few cells
    age = np.round(rng.uniform(15, 80, n), 1)
    age[60:75] = np.nan
    frame = pd.DataFrame({"y": y, "score": score, "region": region, "code": code, "age": age})
    path = tmp_path_factory.mktemp("slices") / "rows.csv"
    frame.to_csv(path, index=False)
    return path, pd.read_csv(path)  # expected values from the values as read back


def _run(path: Path, rules: list[dict[str, Any]], engine: str = "pandas", **inputs: Any) -> list[CheckResult]:
    report = gatekit.run({"version": 1, "slices": rules}, data=path, target=inputs.pop("target", "y"),
                         **({"score": "score"} | inputs), engine=engine)
    return [c for c in report.checks if c.section == "slices"]


def _one(path: Path, engine: str = "pandas", **rule: Any) -> CheckResult:
    (check,) = _run(path, [rule], engine)
    return check


def _slices(check: CheckResult) -> dict[str, dict[str, Any]]:
    return {s["slice"]: s for s in check.details["slices"]}


def test_each_slice_s_value_is_scikit_learn_s_on_its_rows(rows) -> None:
    path, df = rows
    check = _one(path, metric="auc_roc", by="region", op=">=", value=0.55)
    got = _slices(check)
    groups = {**{g: df[df.region == g] for g in df.region.dropna().unique()}, "(missing)": df[df.region.isna()]}
    assert set(got) == set(groups)
    for label, part in groups.items():
        assert got[label]["rows"] == len(part) and got[label]["positives"] == int(part.y.sum()), label
        if part.y.nunique() == 2:
            assert got[label]["value"] == pytest.approx(skm.roc_auc_score(part.y, part.score), abs=1e-12), label
    whole = skm.roc_auc_score(df.y, df.score)
    assert check.details["whole"]["value"] == pytest.approx(whole, abs=1e-12)
    # isle has 12 rows: listed, not counted; the worst counted slice (south) decides and is first
    assert got["isle"]["counted"] is False and got["isle"]["status"] == "not_counted"
    counted = [s for s in check.details["slices"] if s["counted"]]
    assert [s["value"] for s in counted] == sorted(s["value"] for s in counted)  # weakest first
    assert check.details["slices"][0]["slice"] == "south" == check.details["worst_slice"]
    assert check.observed == pytest.approx(skm.roc_auc_score(*df[df.region == "south"][["y", "score"]].T.values))
    assert check.status == Status.PASS and check.op == ">=" and check.threshold == 0.55
    assert check.margin == pytest.approx(check.observed - 0.55)
    assert check.details["slices"][-1]["slice"] == "isle"  # small slices after the counted ones


def test_the_worst_slice_fails_the_rule_and_is_named(rows) -> None:
    path, df = rows
    south = df[df.region == "south"]
    auc = skm.roc_auc_score(south.y, south.score)
    check = _one(path, metric="auc_roc", by="region", op=">=", value=0.7, on_fail="warn")
    assert auc < 0.7 and check.status == Status.FAIL and check.observed == pytest.approx(auc)
    assert "1 slice(s) do not meet >= 0.7: south = " in check.message
    assert check.details["sentence"].startswith(f"Ranking quality on the slice south ({len(south)} rows) is ")
    assert _slices(check)["south"]["status"] == "fail" and _slices(check)["north"]["status"] == "pass"


def test_bins_list_every_bin_outside_values_and_missing_values(rows) -> None:
    path, df = rows
    check = _one(path, metric="accuracy", by="age", bins={"age": [20, 40, 60]}, op=">=", value=0.5)
    got = _slices(check)
    masks = {"[20, 40)": (df.age >= 20) & (df.age < 40), "[40, 60)": (df.age >= 40) & (df.age < 60),
             "(outside bins)": (df.age < 20) | (df.age >= 60), "(missing)": df.age.isna()}
    assert set(got) == set(masks)
    for label, mask in masks.items():
        part = df[mask]
        assert got[label]["rows"] == len(part), label
        assert got[label]["value"] == pytest.approx(skm.accuracy_score(part.y, part.score >= 0.5), abs=1e-12)
    assert sum(s["rows"] for s in check.details["slices"]) == len(df)  # no row dropped
    assert got["(missing)"]["counted"] is False  # 15 rows


def test_intersections_list_every_combination_an_empty_one_not_computable(rows) -> None:
    path, df = rows
    check = _one(path, metric="recall_at_0_5", by=["region", "code"], op=">=", value=0.0, min_rows=20)
    got = _slices(check)
    regions = ["east", "isle", "north", "south", "west", "(missing)"]
    assert len(got) == len(regions) * 3
    empty = got["region=west, code=3"]
    assert empty["rows"] == 0 and empty["value"] is None and empty["status"] == "empty" and not empty["counted"]
    part = df[(df.region == "north") & (df.code == 2)]
    assert got["region=north, code=2"]["value"] == pytest.approx(skm.recall_score(part.y, part.score >= 0.5))
    assert check.details["slices"][-1]["slice"] == "region=west, code=3"  # empty ones last
    assert check.status == Status.PASS


def test_small_slices_block_fails_the_rule(rows) -> None:
    path, _ = rows
    check = _one(path, metric="auc_roc", by="region", op=">=", value=0.5, small_slices="block")
    assert check.status == Status.FAIL and "isle" in check.message
    assert _slices(check)["isle"]["status"] == "fail"


def test_a_counted_slice_without_a_value_makes_the_rule_not_computable(tmp_path: Path) -> None:
    rng = np.random.default_rng(3)
    n = 300
    frame = pd.DataFrame({"y": (rng.random(n) < 0.4).astype(int), "score": np.round(rng.random(n), 3),
                          "g": np.where(np.arange(n) < 50, "quiet", "busy")})
    frame.loc[frame.g == "quiet", "y"] = 0  # one class: no AUC on that slice
    frame.to_csv(tmp_path / "d.csv", index=False)
    check = _one(tmp_path / "d.csv", metric="auc_roc", by="g", op=">=", value=0.0)
    assert check.status == Status.NOT_COMPUTABLE and "quiet (50 rows)" in check.message
    assert _slices(check)["quiet"]["status"] == "not_computable"
    # no slice with min_rows rows: nothing is counted, which never passes
    none = _one(tmp_path / "d.csv", metric="auc_roc", by="g", op=">=", value=0.0, min_rows=1000)
    assert none.status == Status.NOT_COMPUTABLE and "no slice has min_rows 1000 rows" in none.message


def test_max_drop_reads_worse_in_the_metric_s_direction(tmp_path: Path) -> None:
    rng = np.random.default_rng(5)
    n = 600
    store = rng.choice(["A", "B", "C"], n)
    actual = np.round(100 + 10 * rng.standard_normal(n), 2)
    forecast = np.round(actual + rng.standard_normal(n) * np.where(store == "B", 6.0, 2.0), 2)
    pd.DataFrame({"sales": actual, "forecast": forecast, "store": store}).to_csv(tmp_path / "f.csv", index=False)
    df = pd.read_csv(tmp_path / "f.csv")
    report = gatekit.run({"version": 1, "slices": [{"metric": "rmse", "by": "store", "max_drop": 1.0},
                                                   {"metric": "r2", "by": "store", "max_drop": 0.5}]},
                         data=tmp_path / "f.csv", target="sales", prediction="forecast")
    rmse, r2 = (c for c in report.checks if c.section == "slices")

    def score(fn: Any, part: pd.DataFrame) -> float:
        return float(fn(part.sales, part.forecast))

    whole = float(np.sqrt(skm.mean_squared_error(df.sales, df.forecast)))
    b = float(np.sqrt(skm.mean_squared_error(df[df.store == "B"].sales, df[df.store == "B"].forecast)))
    got = _slices(rmse)
    assert got["B"]["gap"] == pytest.approx(b - whole, abs=1e-9)  # lower is better: slice - whole
    assert rmse.status == Status.FAIL and rmse.observed == pytest.approx(b - whole) and rmse.threshold == 1.0
    assert rmse.details["gap_definition"].startswith("slice - whole")
    assert rmse.details["intervals"]["strata"] == "slice"  # a regression target: each slice drawn at its size
    r2_b = score(skm.r2_score, df[df.store == "B"])
    assert _slices(r2)["B"]["gap"] == pytest.approx(score(skm.r2_score, df) - r2_b, abs=1e-9)  # whole - slice
    assert r2.details["gap_definition"].startswith("whole - slice")


def _grouped(df: pd.DataFrame) -> pd.DataFrame:
    """The rows grouped by (region, target, score), with their count; a missing region is a slice of its own."""
    return (df.assign(region=df.region.fillna("(missing)")).groupby(["region", "y", "score"]).size()
            .rename("count").reset_index())


def _stratified_draws(g: pd.DataFrame, rng: np.random.Generator, k: int) -> np.ndarray:
    """k resamples of the grouped rows: in each (region, class) of n rows, Multinomial(n, count / n) per group."""
    W = np.zeros((k, len(g)), dtype=np.int64)
    for _, idx in g.groupby(["region", "y"]).indices.items():
        c = g["count"].to_numpy()[idx]
        W[:, idx] = rng.multinomial(c.sum(), c / c.sum(), size=k)
    return W


def _brier_interval(part: pd.DataFrame, confidence: float = 0.95, resamples: int = 2000,
                    seed: int = 99) -> tuple[float, float]:
    """The stratified bootstrap of one slice's Brier score, written here: scikit-learn on each resample."""
    g = _grouped(part)
    W = _stratified_draws(g, np.random.default_rng(seed), resamples)
    values = [skm.brier_score_loss(g.y, g.score, sample_weight=w) for w in W]
    a = 1 - confidence
    return tuple(np.quantile(values, [a / 2, 1 - a / 2]))  # type: ignore[return-value]


def test_each_slice_s_interval_agrees_with_a_bootstrap_written_here(rows) -> None:
    path, df = rows
    check = _one(path, metric="brier_score", by="region", op="<=", value=0.3)
    for label in ("north", "south"):
        part = df[df.region == label]
        got = _slices(check)[label]["interval"]
        lo, hi = _brier_interval(part)
        width = hi - lo
        # two independent sets of 2000 draws: the bounds agree to a fraction of the width (Monte Carlo error)
        assert got[0] == pytest.approx(lo, abs=0.15 * width) and got[1] == pytest.approx(hi, abs=0.15 * width)
        assert got[0] <= _slices(check)[label]["value"] <= got[1]
    intervals = check.details["intervals"]
    assert intervals["confidence"] == 0.95 and intervals["resampling"] == "stratified_multinomial"
    assert intervals["strata"] == "slice x class"
    assert check.details["decided_on"] == "point"
    assert _slices(check)["isle"]["interval"] is None and "rows of class" in _slices(check)["isle"]["interval_note"]


def test_the_gap_s_interval_resamples_the_whole_and_the_slice_together(rows) -> None:
    path, df = rows
    check = _one(path, metric="auc_roc", by="region", max_drop=0.4, confidence=0.9, seed=4)
    g = _grouped(df)
    south = (g.region == "south").to_numpy()
    gaps = []
    # scikit-learn's AUC per resample, every (region, class) drawn at its size; 600 draws keep the Monte Carlo
    # error small enough
    for w in _stratified_draws(g, np.random.default_rng(0), 600):
        whole = skm.roc_auc_score(g.y, g.score, sample_weight=w)
        gaps.append(whole - skm.roc_auc_score(g.y[south], g.score[south], sample_weight=w[south]))
    lo, hi = np.quantile(gaps, [0.05, 0.95])
    got = _slices(check)["south"]
    assert got["gap_interval"][0] == pytest.approx(lo, abs=0.2 * (hi - lo))
    assert got["gap_interval"][1] == pytest.approx(hi, abs=0.2 * (hi - lo))
    # proven_harm: the rule fails only when a slice's whole interval of the gap lies beyond max_drop
    assert check.details["guardband"] == "proven_harm" and check.details["decided_on"] == "interval"
    assert check.status == Status.PASS
    assert check.details["interval"]["slice"] == "south" and check.details["interval"]["confidence"] == 0.9
    strict = _one(path, metric="auc_roc", by="region", max_drop=0.05, confidence=0.9, seed=4,
                  guardband="proven_safe")
    assert strict.status == Status.FAIL  # south's gap is not proven below 0.05


def test_a_rule_deciding_on_intervals_is_not_computable_where_a_counted_slice_has_none(rows) -> None:
    path, _ = rows
    check = _one(path, metric="auc_roc", by="region", op=">=", value=0.5, confidence=0.95, min_rows=10)
    assert check.status == Status.NOT_COMPUTABLE and "isle (12 rows): no 95% interval" in check.message


def test_an_unbinned_continuous_column_or_bins_on_text_are_refused_when_the_data_is_read(rows) -> None:
    path, _ = rows
    with pytest.raises(InputError, match="slice column 'age' is numeric with"):
        _run(path, [{"metric": "auc_roc", "by": "age", "op": ">=", "value": 0.5}])
    with pytest.raises(InputError, match="bin edges for column 'region'"):
        _run(path, [{"metric": "auc_roc", "by": "region", "bins": {"region": [0, 1]}, "op": ">=", "value": 0.5}])
    with pytest.raises(InputError, match="slice column 'nope' not found"):
        _run(path, [{"metric": "auc_roc", "by": "nope", "op": ">=", "value": 0.5}])


def test_no_evaluation_rows_is_not_computable(tmp_path: Path) -> None:
    (tmp_path / "m.json").write_text('{"auc_roc": 0.9}')
    report = gatekit.run({"version": 1, "slices": [{"metric": "auc_roc", "by": "g", "op": ">=", "value": 0.5}]},
                         metrics=tmp_path / "m.json")
    (check,) = report.checks
    assert check.status == Status.NOT_COMPUTABLE and report.decision.value == "block"


RULES = [
    {"metric": "auc_roc", "by": "region", "max_drop": 0.3, "confidence": 0.95},
    {"metric": "brier_score", "by": ["region", "code"], "op": "<=", "value": 0.4},
    {"metric": "accuracy", "by": "age", "bins": {"age": [20, 40, 60, float("inf")]}, "op": ">=", "value": 0.5},
    {"metric": "pr_auc", "by": "code", "op": ">=", "value": 0.2, "resamples": 200},
]


@pytest.fixture(scope="module")
def on_pandas(rows) -> list[CheckResult]:
    return _run(rows[0], RULES)


def _same(a: list[CheckResult], b: list[CheckResult]) -> None:
    assert [c.name for c in a] == [c.name for c in b]
    for x, y in zip(a, b, strict=True):
        assert (x.status, x.observed, x.margin) == (y.status, y.observed, y.margin), x.name
        assert x.details["slices"] == y.details["slices"], x.name  # values and intervals, to the last digit
        assert x.details["whole"] == y.details["whole"], x.name


def test_duckdb_gives_the_same_slices_values_and_intervals_as_pandas(rows, on_pandas) -> None:
    _same(on_pandas, _run(rows[0], RULES, engine="duckdb"))


@pytest.mark.slow
def test_spark_gives_the_same_slices_values_and_intervals_as_pandas(rows, on_pandas, spark) -> None:
    _same(on_pandas, _run(rows[0], RULES, engine="spark"))


def test_a_model_scored_on_the_engine_slices_as_on_pandas(tmp_path: Path, rows) -> None:
    import skops.io as sio
    from sklearn.linear_model import LogisticRegression

    _, df = rows
    train = df.assign(age=df.age.fillna(40.0))
    model = LogisticRegression().fit(train[["age", "code"]], train.y)
    sio.dump(model, tmp_path / "m.skops")
    train.to_csv(tmp_path / "d.csv", index=False)
    rules = [{"metric": "auc_roc", "by": "region", "op": ">=", "value": 0.3, "min_rows": 10}]
    got = {e: _run(tmp_path / "d.csv", rules, engine=e, score=None, model=tmp_path / "m.skops")
           for e in ("pandas", "duckdb")}
    _same(got["pandas"], got["duckdb"])
    proba = model.predict_proba(train[["age", "code"]])[:, 1]
    north = (train.region == "north").to_numpy()
    assert _slices(got["duckdb"][0])["north"]["value"] == pytest.approx(
        skm.roc_auc_score(train.y[north], proba[north]), abs=1e-9)


def test_multiclass_slices_agree_across_engines_and_probability_metrics_say_where_to_run(tmp_path: Path) -> None:
    rng = np.random.default_rng(8)
    n = 600
    y = rng.choice(["a", "b", "c"], n)
    pred = np.where(rng.random(n) < 0.7, y, rng.choice(["a", "b", "c"], n))
    g = rng.choice(["x", "z"], n)
    pd.DataFrame({"y": y, "pred": pred, "g": g}).to_csv(tmp_path / "m.csv", index=False)
    df = pd.read_csv(tmp_path / "m.csv")
    rules = [{"metric": "accuracy", "by": "g", "op": ">=", "value": 0.5},
             {"metric": "recall[class=b]", "by": "g", "op": ">=", "value": 0.5}]
    got = {e: _run(tmp_path / "m.csv", rules, engine=e, score=None, prediction="pred") for e in ("pandas", "duckdb")}
    _same(got["pandas"], got["duckdb"])
    x = df[df.g == "x"]
    assert _slices(got["pandas"][0])["x"]["value"] == pytest.approx(skm.accuracy_score(x.y, x.pred))
    assert _slices(got["pandas"][1])["x"]["value"] == pytest.approx(
        skm.recall_score(x.y, x.pred, labels=["b"], average=None)[0])
    # probabilities: log loss is summed per row where the rows are, so every engine slices it; the AUCs need each
    # row's probabilities, which an engine's confusion cells do not keep: refused there, saying where to run
    p = rng.dirichlet([1, 1, 1], n)
    df.assign(score_a=p[:, 0], score_b=p[:, 1], score_c=p[:, 2]).to_csv(tmp_path / "p.csv", index=False)
    probs = pd.read_csv(tmp_path / "p.csv")
    rules = [{"metric": "log_loss", "by": "g", "op": "<=", "value": 3}, {"metric": "roc_auc_ovr", "by": "g",
                                                                          "op": ">=", "value": 0.4}]
    got = {e: _run(tmp_path / "p.csv", rules, engine=e, score="score_*") for e in ("pandas", "duckdb")}
    z = probs[probs.g == "z"]
    expected = skm.log_loss(z.y, z[["score_a", "score_b", "score_c"]], labels=["a", "b", "c"])
    for e in got:
        assert _slices(got[e][0])["z"]["value"] == pytest.approx(expected, abs=1e-12), e
    assert got["pandas"][1].status == Status.PASS
    assert got["duckdb"][1].status == Status.NOT_COMPUTABLE and "--engine pandas" in got["duckdb"][1].message


def test_the_report_group_comes_after_performance_and_the_check_names_its_rule(rows) -> None:
    path, _ = rows
    report = gatekit.run({"version": 1, "metrics": [{"name": "auc_roc", "op": ">=", "value": 0.5}],
                          "slices": [{"metric": "auc_roc", "by": "region", "op": ">=", "value": 0.5,
                                      "name": "AUC per region", "description": "why"}]},
                         data=path, target="y", score="score")
    check = next(c for c in report.checks if c.section == "slices")
    assert check.name == "AUC per region" and check.details["rule"] == "slices[0]"
    assert check.details["label"] == "Ranking quality, by region" and check.details["description"] == "why"
    groups = list(report.metadata["report_groups"])
    assert groups.index("slices") == groups.index("performance") + 1
