"""Tests of :mod:`gatekit.data.multiclass`: a multiclass target loaded from probability columns, a model's
``predict_proba`` or labels gives scikit-learn's values on every engine; bad matrices, labels and tasks are input
errors that name the rows and the reason; baseline-relative rules and intervals work on multiclass metrics.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import sklearn.metrics as skm
from sklearn.linear_model import LogisticRegression

import gatekit
from gatekit.core.errors import InputError, PolicyError
from tests.data.helpers import _rules_file

FEATURES = ["x1", "x2", "x3"]
CLASSES = ["bird", "cat", "dog"]
RULES = """  - {name: accuracy, op: '>=', value: 0.1}
  - {name: balanced_accuracy, op: '>=', value: 0.1}
  - {name: log_loss, op: '<=', value: 5}
  - {name: roc_auc_ovr, op: '>=', value: 0.1}
  - {name: roc_auc_ovr_weighted, op: '>=', value: 0.1}
  - {name: roc_auc_ovo, op: '>=', value: 0.1}
  - {name: roc_auc_ovo_weighted, op: '>=', value: 0.1}
  - {name: precision_macro, op: '>=', value: 0.1}
  - {name: recall_weighted, op: '>=', value: 0.1}
  - {name: f1_micro, op: '>=', value: 0.1}
  - {name: 'recall[class=dog]', op: '>=', value: 0.1}
  - {name: 'f1[class=cat]', op: '>=', value: 0.1}
"""


def _frame(n: int = 300, seed: int = 4) -> tuple[pd.DataFrame, LogisticRegression]:
    """Three overlapping classes, a model fitted on other rows, its probabilities as score_<class> columns."""
    rng = np.random.default_rng(seed)

    def rows(m: int) -> pd.DataFrame:
        y = rng.choice(3, size=m, p=[0.5, 0.3, 0.2])
        x = rng.normal(size=(m, 3)) + 0.9 * np.eye(3)[y]
        return pd.DataFrame({**{f: x[:, i] for i, f in enumerate(FEATURES)}, "y": np.array(CLASSES)[y]})

    train = rows(400)
    model = LogisticRegression(max_iter=500).fit(train[FEATURES], train["y"])
    df = rows(n)
    p = model.predict_proba(df[FEATURES])
    for i, c in enumerate(model.classes_):
        df[f"score_{c}"] = p[:, i]
    df["pred"] = model.predict(df[FEATURES])
    df["g"] = np.where(rng.random(n) < 0.5, "a", "b")
    return df, model


def _expected(df: pd.DataFrame) -> dict[str, float]:
    y = df["y"].map({c: i for i, c in enumerate(CLASSES)}).to_numpy()
    p = df[[f"score_{c}" for c in CLASSES]].to_numpy()
    yp = p.argmax(axis=1)
    return {
        "accuracy": skm.accuracy_score(y, yp), "balanced_accuracy": skm.balanced_accuracy_score(y, yp),
        "log_loss": skm.log_loss(y, p), "roc_auc_ovr": skm.roc_auc_score(y, p, multi_class="ovr"),
        "roc_auc_ovr_weighted": skm.roc_auc_score(y, p, multi_class="ovr", average="weighted"),
        "roc_auc_ovo": skm.roc_auc_score(y, p, multi_class="ovo"),
        "roc_auc_ovo_weighted": skm.roc_auc_score(y, p, multi_class="ovo", average="weighted"),
        "precision_macro": skm.precision_score(y, yp, average="macro", zero_division=0),
        "recall_weighted": skm.recall_score(y, yp, average="weighted"),
        "f1_micro": skm.f1_score(y, yp, average="micro"),
        "recall[class=dog]": skm.recall_score(y, yp, labels=[2], average=None)[0],
        "f1[class=cat]": skm.f1_score(y, yp, labels=[1], average=None)[0],
    }


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> Path:
    import skops.io as sio

    root = tmp_path_factory.mktemp("multiclass")
    df, model = _frame()
    df.to_csv(root / "d.csv", index=False)
    df.to_parquet(root / "d.parquet")
    sio.dump(model, root / "m.skops")
    (root / "p.yaml").write_text("version: 1\nmetrics:\n" + RULES)
    return root


def _observed(report) -> dict[str, float]:
    return {c.name: c.observed for c in report.checks}


@pytest.mark.parametrize("how", ["columns", "model"])
def test_probabilities_from_columns_or_model_equal_scikit_learn(files: Path, how: str) -> None:
    df = pd.read_csv(files / "d.csv")
    kw = {"score": "score_*"} if how == "columns" else {"model": files / "m.skops"}
    r = gatekit.run(files / "p.yaml", data=files / "d.csv", target="y", **kw)
    assert all(c.status.value == "pass" for c in r.checks), [c.message for c in r.checks]
    for name, expected in _expected(df).items():
        assert _observed(r)[name] == pytest.approx(expected, abs=1e-12), name
    assert r.metadata["inputs"]["classes"] == CLASSES and r.metadata["inputs"]["task"] == "multiclass"


def test_labels_only_give_the_label_metrics_and_refuse_the_probability_ones(files: Path) -> None:
    df = pd.read_csv(files / "d.csv")
    r = gatekit.run(files / "p.yaml", data=files / "d.csv", target="y", prediction="pred")
    obs, exp = _observed(r), _expected(df)
    for name in ("accuracy", "balanced_accuracy", "precision_macro", "recall_weighted", "recall[class=dog]"):
        assert obs[name] == pytest.approx(exp[name], abs=1e-12), name
    byname = {c.name: c for c in r.checks}
    assert byname["log_loss"].status.value == "not_computable" and "probabilities" in byname["log_loss"].message


@pytest.mark.parametrize("engine", ["duckdb", "spark"])
@pytest.mark.parametrize("how", ["columns", "model", "labels"])
def test_engines_give_the_pandas_values(files: Path, engine: str, how: str, request: pytest.FixtureRequest) -> None:
    if engine == "spark":
        request.getfixturevalue("spark")
    kw = {"columns": {"score": "score_*"}, "model": {"model": files / "m.skops"},
          "labels": {"prediction": "pred"}}[how]
    base = gatekit.run(files / "p.yaml", data=files / "d.parquet", target="y", sensitive="g", engine="pandas", **kw)
    run = gatekit.run(files / "p.yaml", data=files / "d.parquet", target="y", sensitive="g", engine=engine, **kw)
    assert run.metadata["engine"]["name"] == engine
    for a, b in zip(base.checks, run.checks, strict=True):
        assert (a.name, a.status) == (b.name, b.status), (a.message, b.message)
        if a.observed is not None:
            assert b.observed == pytest.approx(a.observed, rel=1e-12, abs=1e-12), a.name


INTERVAL_RULES = ("  - {name: log_loss, op: '<=', value: 5, confidence: 0.95, resamples: 400, seed: 7}\n"
                  "  - {name: roc_auc_ovr, op: '>=', value: 0.5, confidence: 0.9, resamples: 400, seed: 7}\n"
                  "  - {name: roc_auc_ovo_weighted, op: '>=', value: 0.5, confidence: 0.9, resamples: 300}\n"
                  "  - {name: f1_macro, op: '>=', value: 0.2, confidence: 0.95, resamples: 300}\n")


def _intervals(report) -> dict[str, dict]:
    return {c.metric: c.details["interval"] for c in report.checks}


def _distinct_rows(df: pd.DataFrame, columns: list[str]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Counts per distinct (class code, probability columns), sorted by them: drawn here with pandas, not gatekit."""
    codes = df["y"].map({c: i for i, c in enumerate(CLASSES)}).rename("code")
    g = pd.concat([codes, df[columns]], axis=1).value_counts(sort=False).sort_index().reset_index()
    return g["code"].to_numpy(), g[columns].to_numpy(dtype=float), g["count"].to_numpy()


def _percentile(values: list[float], confidence: float) -> tuple[float, float]:
    low, high = np.quantile(values, [(1 - confidence) / 2, (1 + confidence) / 2])
    return float(low), float(high)


def _draws(y: np.ndarray, counts: np.ndarray, resamples: int, seed: int) -> np.ndarray:
    """The seeded multiplicities of distinct rows: within each class, as many rows as it has, drawn among its rows."""
    from gatekit.stats.intervals import counted_weight_batches

    return np.concatenate(list(counted_weight_batches(np.array(CLASSES)[y], counts, resamples, seed)))


def test_intervals_are_the_same_on_pandas_duckdb_and_spark_to_the_digit(files: Path, tmp_path: Path,
                                                                       request: pytest.FixtureRequest) -> None:
    """Log loss, the AUCs and F1 get intervals on every engine, equal to the digit: every engine resamples the same
    counted rows (the distinct (class, probabilities) rows; the (class, predicted class) cells for F1) with the same
    draws. Recomputed here: distinct rows by pandas, their stratified draws, scikit-learn on every resample."""
    request.getfixturevalue("spark")
    pol = _rules_file(tmp_path, INTERVAL_RULES)
    runs = {e: gatekit.run(pol, data=files / "d.parquet", target="y", score="score_*", engine=e)
            for e in ("pandas", "duckdb", "spark")}
    ivs = {e: _intervals(r) for e, r in runs.items()}
    for e in ("pandas", "duckdb", "spark"):
        assert [c.status.value for c in runs[e].checks] == ["pass"] * 4, [c.message for c in runs[e].checks]
    for name in ("log_loss", "roc_auc_ovr", "roc_auc_ovo_weighted", "f1_macro"):
        p, d, s = ivs["pandas"][name], ivs["duckdb"][name], ivs["spark"][name]
        assert (p["low"], p["high"]) == (d["low"], d["high"]) == (s["low"], s["high"]), name
        assert p["resampling"] == d["resampling"] == "stratified_multinomial", name
    # independently: distinct rows by pandas, their draws, scikit-learn on each resample
    df = pd.read_parquet(files / "d.parquet")
    cols = [f"score_{c}" for c in CLASSES]
    y, p, counts = _distinct_rows(df, cols)
    assert runs["duckdb"].metadata["inputs"]["aggregated_rows"]["probability_rows"] == len(y)
    draws = _draws(y, counts, 400, 7)
    losses = [skm.log_loss(y, p, sample_weight=w, labels=[0, 1, 2]) for w in draws]
    assert (ivs["duckdb"]["log_loss"]["low"], ivs["duckdb"]["log_loss"]["high"]) == pytest.approx(
        _percentile(losses, 0.95), abs=1e-12)
    aucs = [skm.roc_auc_score(y, p, multi_class="ovr", sample_weight=w, labels=[0, 1, 2]) for w in draws]
    assert (ivs["duckdb"]["roc_auc_ovr"]["low"], ivs["duckdb"]["roc_auc_ovr"]["high"]) == pytest.approx(
        _percentile(aucs, 0.9), abs=1e-12)


def test_baseline_relative_rules_with_a_paired_interval(tmp_path: Path) -> None:
    df, _ = _frame(n=400, seed=9)
    rng = np.random.default_rng(0)
    noisy = df[[f"score_{c}" for c in CLASSES]].to_numpy() + rng.random((len(df), 3)) * 0.6
    noisy /= noisy.sum(axis=1, keepdims=True)
    for i, c in enumerate(CLASSES):
        df[f"prod_{c}"] = noisy[:, i]
    df.to_parquet(tmp_path / "d.parquet")
    rules = ("  - {name: f1_macro, max_drop: 0.0, confidence: 0.95}\n"
             "  - {name: roc_auc_ovo, max_drop: 0.0}\n")
    pol = _rules_file(tmp_path, rules)
    y = df["y"].map({c: i for i, c in enumerate(CLASSES)}).to_numpy()
    cand, prod = df[[f"score_{c}" for c in CLASSES]].to_numpy(), noisy
    expected = skm.roc_auc_score(y, cand, multi_class="ovo") - skm.roc_auc_score(y, prod, multi_class="ovo")
    r = gatekit.run(pol, data=tmp_path / "d.parquet", target="y", score="score_*", baseline_score="prod_*")
    auc = next(c for c in r.checks if c.metric == "roc_auc_ovo")
    assert auc.observed == pytest.approx(expected, abs=1e-12)
    f1 = next(c for c in r.checks if c.metric == "f1_macro")
    assert f1.details["interval"]["paired"] is True
    on_duckdb = gatekit.run(pol, data=tmp_path / "d.parquet", target="y", score="score_*", baseline_score="prod_*",
                            engine="duckdb")
    assert next(c for c in on_duckdb.checks if c.metric == "roc_auc_ovo").observed == pytest.approx(expected,
                                                                                                   abs=1e-12)


def test_paired_intervals_on_the_engines_draw_both_models_rows_together(tmp_path: Path,
                                                                        request: pytest.FixtureRequest) -> None:
    """A paired interval of a log-loss change resamples the distinct (class, candidate, production) rows, on every
    engine alike."""
    request.getfixturevalue("spark")
    df, _ = _frame(n=400, seed=9)
    rng = np.random.default_rng(0)
    cols = [f"score_{c}" for c in CLASSES]
    noisy = df[cols].to_numpy() + rng.random((len(df), 3)) * 0.6
    noisy /= noisy.sum(axis=1, keepdims=True)
    prod = [f"prod_{c}" for c in CLASSES]
    df[prod] = noisy
    df.to_parquet(tmp_path / "d.parquet")
    pol = _rules_file(tmp_path, "  - {name: log_loss, max_increase: 0.0, confidence: 0.9, resamples: 300, seed: 3}\n"
                                "  - {name: roc_auc_ovo, max_drop: 0.0, confidence: 0.9, resamples: 300, seed: 3}\n")
    runs = {e: gatekit.run(pol, data=tmp_path / "d.parquet", target="y", score="score_*", baseline_score="prod_*",
                           engine=e) for e in ("pandas", "duckdb", "spark")}
    ivs = {e: _intervals(r) for e, r in runs.items()}
    for name in ("log_loss", "roc_auc_ovo"):
        p, d, s = ivs["pandas"][name], ivs["duckdb"][name], ivs["spark"][name]
        assert d["paired"] is True and d["resampling"] == "stratified_multinomial", name
        assert (p["low"], p["high"]) == (d["low"], d["high"]) == (s["low"], s["high"]), name
    code = df["y"].map({c: i for i, c in enumerate(CLASSES)}).rename("code")
    g = pd.concat([code, df[cols + prod]], axis=1).value_counts(sort=False).sort_index().reset_index()
    y, pc, pb, counts = (g["code"].to_numpy(), g[cols].to_numpy(), g[prod].to_numpy(), g["count"].to_numpy())
    draws = _draws(y, counts, 300, 3)
    diffs = [skm.log_loss(y, pc, sample_weight=w, labels=[0, 1, 2]) - skm.log_loss(y, pb, sample_weight=w,
                                                                                    labels=[0, 1, 2]) for w in draws]
    got = ivs["duckdb"]["log_loss"]
    assert (got["low"], got["high"]) == pytest.approx(_percentile(diffs, 0.9), abs=1e-12)
    expected = skm.log_loss(y, pc, sample_weight=counts) - skm.log_loss(y, pb, sample_weight=counts)
    assert got["estimate"] == pytest.approx(expected, abs=1e-12)


def test_bad_probability_matrices_are_input_errors_naming_the_lines(tmp_path: Path) -> None:
    df, _ = _frame(n=20)
    df.loc[3, "score_cat"] += 0.2  # line 5 of the CSV (header on line 1)
    df.to_csv(tmp_path / "d.csv", index=False)
    pol = _rules_file(tmp_path, RULES)
    with pytest.raises(InputError, match=r"do not sum to 1 .*file lines \[5\].*never renormalises"):
        gatekit.run(pol, data=tmp_path / "d.csv", target="y", score="score_*")
    df.loc[3, "score_cat"] = np.nan
    df.to_csv(tmp_path / "d.csv", index=False)
    with pytest.raises(InputError, match=r"missing .*file lines \[5\]"):
        gatekit.run(pol, data=tmp_path / "d.csv", target="y", score="score_*")
    df.to_parquet(tmp_path / "d.parquet")
    with pytest.raises(InputError, match="missing"):
        gatekit.run(pol, data=tmp_path / "d.parquet", target="y", score="score_*", engine="duckdb")


def test_labels_without_a_probability_column_and_single_score_columns_are_refused(tmp_path: Path) -> None:
    df, _ = _frame(n=30)
    pol = _rules_file(tmp_path, RULES)
    df.drop(columns=["score_dog"]).assign(score_cat=lambda d: 1 - d["score_bird"]).to_csv(tmp_path / "d.csv",
                                                                                      index=False)
    with pytest.raises(InputError, match=r"values \['dog'\] that are not among the classes"):
        gatekit.run(pol, data=tmp_path / "d.csv", target="y", score="score_*")
    df.to_csv(tmp_path / "d.csv", index=False)
    with pytest.raises(InputError, match=r"one score column .* cannot hold them"):
        gatekit.run(pol, data=tmp_path / "d.csv", target="y", score="score_cat")
    with pytest.raises(InputError, match="matches 0 column"):
        gatekit.run(pol, data=tmp_path / "d.csv", target="y", score="proba_*")


def test_the_task_is_inferred_or_the_reason_it_cannot_be_is_given(tmp_path: Path) -> None:
    df, _ = _frame(n=60)
    df["code"] = df["y"].map({c: i for i, c in enumerate(CLASSES)})
    df["pcode"] = df["pred"].map({c: i for i, c in enumerate(CLASSES)})
    df.to_csv(tmp_path / "d.csv", index=False)
    pol = _rules_file(tmp_path, "  - {name: accuracy, op: '>=', value: 0.1}\n")
    with pytest.raises(InputError, match=r"cannot tell the task of target 'code': it holds 3 distinct whole numbers "
                                         r"\(0, 1, 2\).*task: multiclass"):
        gatekit.run(pol, data=tmp_path / "d.csv", target="code", prediction="pcode")
    expected = skm.accuracy_score(df["code"], df["pcode"])
    for task in ("classification", "multiclass"):
        r = gatekit.run(pol, data=tmp_path / "d.csv", target="code", prediction="pcode", task=task)
        assert r.checks[0].observed == pytest.approx(expected)
    # probability columns say it: no task needed
    df2 = df.rename(columns={f"score_{c}": f"score_{i}" for i, c in enumerate(CLASSES)})
    df2.to_csv(tmp_path / "d2.csv", index=False)
    r = gatekit.run(pol, data=tmp_path / "d2.csv", target="code", score="score_*")
    assert r.checks[0].observed == pytest.approx(skm.accuracy_score(df["code"], df["pred"].map(
        {c: i for i, c in enumerate(CLASSES)})))
    with pytest.raises(InputError, match="task must be"):
        gatekit.run(pol, data=tmp_path / "d.csv", target="y", prediction="pred", task="Regresion")


def test_per_class_rules_validate_at_load_and_name_the_classes_at_run(tmp_path: Path) -> None:
    df, _ = _frame(n=60)
    df.to_csv(tmp_path / "d.csv", index=False)
    bad = _rules_file(tmp_path, "  - {name: accuracy, op: '>=', value: 0.1}\n"
                                "  - {name: 'recall[cls=dog]', op: '>=', value: 0.1}\n")
    with pytest.raises(PolicyError) as err:
        gatekit.run(bad, data=tmp_path / "d.csv", target="y", score="score_*")
    problem = err.value.problems[0]
    assert problem.line == 4 and "class=<label>" in problem.message
    unknown = _rules_file(tmp_path, "  - {name: 'recall[class=zebra]', op: '>=', value: 0.1}\n")
    r = gatekit.run(unknown, data=tmp_path / "d.csv", target="y", score="score_*")
    assert r.checks[0].status.value == "not_computable"
    assert "'zebra' is not a class of the target; the classes are ['bird', 'cat', 'dog']" in r.checks[0].message
    assert r.decision.value == "block"


@pytest.mark.parametrize("engine", ["pandas", "duckdb"])
def test_labels_one_normal_form_would_merge_are_refused_never_merged(tmp_path: Path, engine: str) -> None:
    """``A`` and ``a`` (or ``1`` and ``01``) are two classes: merged, accuracy read 0.35 (scikit-learn: 0.31)."""
    rng = np.random.default_rng(2)
    policy = {"version": 1, "metrics": [{"name": "accuracy", "op": ">=", "value": 0}]}
    for labels in (["A", "a", "b"], ["1", "01", "2"]):
        y = rng.choice(labels, 60)
        p = rng.dirichlet(np.ones(3), 60)
        df = pd.DataFrame({"y": y, **{f"score_{c}": p[:, i] for i, c in enumerate(labels)}})
        df.to_csv(tmp_path / "d.csv", index=False)
        with pytest.raises(InputError, match="compares as one class") as err:
            gatekit.run(policy, data=tmp_path / "d.csv", target="y", score="score_*", task="multiclass",
                        engine=engine)
        assert repr(labels[0]) in str(err.value) and repr(labels[1]) in str(err.value)
        if labels[0] == "1":
            continue  # as labels, a CSV's 1 and 01 are both the number 1 (pandas and DuckDB read them so): one class
        df[["y"]].assign(pred=y).to_csv(tmp_path / "p.csv", index=False)  # labels only: the target itself
        with pytest.raises(InputError, match="compares as one class"):
            gatekit.run(policy, data=tmp_path / "p.csv", target="y", prediction="pred", task="multiclass",
                        engine=engine)
