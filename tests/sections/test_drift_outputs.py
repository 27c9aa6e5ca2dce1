"""Tests of :mod:`gatekit.sections.drift_outputs`: prediction drift and label drift.

Expected values are computed here from the model's own ``predict_proba`` / ``predict`` output on both frames
with the PSI formula written out with plain loops (tests/stats/helpers.py), or scipy's tests on those outputs;
never from gatekit's code. The same runs on DuckDB and Spark must give the same checks.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd
import pytest
import scipy.stats
from sklearn.linear_model import LinearRegression, LogisticRegression

import gatekit
from gatekit.core.results import CheckResult, Status
from gatekit.policy.loader import load_policy
from gatekit.sections.drift import DriftSection
from tests.stats.helpers import independent_categorical_psi, independent_numerical_psi

N = 600
FEATURES = ["x1", "x2"]


def _frame(rng: np.random.Generator, shift: float, n: int = N) -> pd.DataFrame:
    df = pd.DataFrame({"x1": rng.normal(shift, 1, n), "x2": rng.normal(0, 1, n)})
    df["y"] = (rng.random(n) < 1 / (1 + np.exp(-(df.x1 - df.x2)))).astype(int)
    z = np.stack([df.x1, df.x2, -df.x1], axis=1) + rng.gumbel(size=(n, 3))
    df["kind"] = np.array(["ash", "birch", "cedar"])[z.argmax(1)]
    df["amount"] = 2 * df.x1 + rng.normal(size=n)
    return df


@pytest.fixture(scope="module")
def data() -> dict[str, Any]:
    rng = np.random.default_rng(21)
    ref, cur = _frame(rng, 0.0), _frame(rng, 0.35)
    binary = LogisticRegression().fit(ref[FEATURES], ref.y)
    multi = LogisticRegression().fit(ref[FEATURES], ref.kind)
    reg = LinearRegression().fit(ref[FEATURES], ref.amount)
    return {"ref": ref, "cur": cur, "binary": binary, "multi": multi, "reg": reg}


def _run(d: dict[str, Any], drift: dict[str, Any], engine: str = "pandas", **kw: Any) -> dict[str, CheckResult]:
    kw.setdefault("target", "y")
    ref, cur = kw.pop("ref", d["ref"]), kw.pop("cur", d["cur"])
    pol = {"version": 1, "drift": {"features": ["x1"], "evidently_report": False, **drift}}
    report = gatekit.run(pol, data=cur, reference=ref, engine=engine, history=False, **kw)
    out = {c.name: c for c in report.checks if c.section == "drift"}
    assert len(out) == sum(c.section == "drift" for c in report.checks)
    return out


def _scores(d: dict[str, Any]) -> tuple[np.ndarray, np.ndarray]:
    m = d["binary"]
    return m.predict_proba(d["ref"][FEATURES])[:, 1], m.predict_proba(d["cur"][FEATURES])[:, 1]


# ------------------------------------------------------------------------------------------ binary


def test_binary_prediction_psi_is_the_formula_on_the_models_scores(data: dict[str, Any]) -> None:
    c = _run(data, {"prediction": {}}, model=data["binary"])["prediction.psi"]
    ref_s, cur_s = _scores(data)
    expected, edges, rc, cc = independent_numerical_psi(ref_s.tolist(), cur_s.tolist())
    assert c.observed == pytest.approx(expected, abs=1e-12)
    assert c.status == (Status.PASS if expected <= 0.2 else Status.FAIL)
    assert c.details["reference_counts"] == rc and c.details["current_counts"] == cc
    assert c.details["bins"] == pytest.approx(edges)
    assert c.threshold == 0.2 and c.op == "<=" and c.on_fail.value == "warn"
    assert c.details["reference_source"] == "the candidate model's output on the reference rows"
    assert c.details["feature"] == "prediction score"
    assert "counted by psi_feature_drift" not in c.message


@pytest.mark.parametrize("method", ["ks", "wasserstein"])
def test_other_methods_are_scipys_on_the_models_scores(data: dict[str, Any], method: str) -> None:
    c = _run(data, {"prediction": {"method": method, "on_fail": "block"}}, model=data["binary"])[f"prediction.{method}"]
    ref_s, cur_s = _scores(data)
    if method == "ks":
        expected = scipy.stats.ks_2samp(ref_s, cur_s).pvalue
    else:
        expected = scipy.stats.wasserstein_distance(ref_s, cur_s) / max(float(np.std(ref_s)), 0.001)
    assert c.observed == pytest.approx(expected, rel=1e-9)
    assert c.on_fail.value == "block"


def test_the_reference_column_is_read_only_when_the_policy_asks_for_it(data: dict[str, Any]) -> None:
    ref, cur = data["ref"].copy(), data["cur"].copy()
    ref_s, cur_s = _scores(data)
    cur["p"] = cur_s
    ref["p"] = np.clip(ref_s + 0.3, 0, 1)  # an older model's scores, stored with the reference
    default = _run(data, {"prediction": {}}, model=data["binary"], score="p", ref=ref, cur=cur)["prediction.psi"]
    assert default.observed == pytest.approx(independent_numerical_psi(ref_s.tolist(), cur_s.tolist())[0], abs=1e-12)
    column = _run(data, {"prediction": {"source": "reference_column"}}, score="p", ref=ref, cur=cur)["prediction.psi"]
    assert column.observed == pytest.approx(independent_numerical_psi(ref["p"].tolist(), cur_s.tolist())[0],
                                            abs=1e-12)
    assert column.details["reference_source"] == "column 'p' of the reference data"


def test_no_model_and_no_reference_column_is_not_computable_saying_what_to_give(data: dict[str, Any]) -> None:
    cur = data["cur"].assign(p=_scores(data)[1])
    c = _run(data, {"prediction": {"on_fail": "block"}}, score="p", cur=cur)["prediction.psi"]
    assert c.status == Status.NOT_COMPUTABLE and c.observed is None and c.on_fail.value == "block"
    assert "--model" in c.message and "source: reference_column" in c.message
    c = _run(data, {"prediction": {"source": "reference_column"}}, score="p", cur=cur)["prediction.psi"]
    assert c.status == Status.NOT_COMPUTABLE and "has no column 'p'" in c.message


def test_a_reference_without_the_models_features_is_not_computable(data: dict[str, Any]) -> None:
    c = _run(data, {"prediction": {}}, model=data["binary"], ref=data["ref"].drop(columns=["x2"]))["prediction.psi"]
    assert c.status == Status.NOT_COMPUTABLE and "['x2']" in c.message


def test_a_prediction_column_compares_the_predicted_class_shares(data: dict[str, Any]) -> None:
    ref_s, cur_s = _scores(data)
    cur = data["cur"].assign(pred=(cur_s >= 0.5).astype(int))
    c = _run(data, {"prediction": {}}, model=data["binary"], prediction="pred", cur=cur)["prediction.psi"]
    ref_lab = ["1" if s >= 0.5 else "0" for s in ref_s]
    cur_lab = ["1" if s >= 0.5 else "0" for s in cur_s]
    assert c.observed == pytest.approx(independent_categorical_psi(ref_lab, cur_lab), abs=1e-12)
    assert c.details["categories"] == ["0", "1"] and c.details["feature"] == "predicted classes"


def test_a_method_that_does_not_suit_the_output_is_not_computable(data: dict[str, Any]) -> None:
    c = _run(data, {"prediction": {"method": "chisquare"}}, model=data["binary"])["prediction.chisquare"]
    assert c.status == Status.NOT_COMPUTABLE and "does not apply to the prediction score" in c.message


def test_no_target_scores_the_current_rows_with_the_model(data: dict[str, Any]) -> None:
    ref_s, cur_s = _scores(data)
    c = _run(data, {"prediction": {}}, model=data["binary"], target=None,
             ref=data["ref"][FEATURES], cur=data["cur"][FEATURES])["prediction.psi"]
    assert c.observed == pytest.approx(independent_numerical_psi(ref_s.tolist(), cur_s.tolist())[0], abs=1e-12)


# ------------------------------------------------------------------------------------- multiclass


def test_multiclass_compares_the_predicted_class_shares_and_each_class_probability(data: dict[str, Any]) -> None:
    m = data["multi"]
    c = _run(data, {"prediction": {}}, model=m, target="kind")
    pr, pc = m.predict_proba(data["ref"][FEATURES]), m.predict_proba(data["cur"][FEATURES])
    classes = list(m.classes_)
    shares = independent_categorical_psi([classes[i] for i in pr.argmax(1)], [classes[i] for i in pc.argmax(1)])
    assert c["prediction.psi"].observed == pytest.approx(shares, abs=1e-12)
    assert c["prediction.psi"].details["categories"] == classes
    for j, name in enumerate(classes):
        check = c[f"prediction[{name}].psi"]
        assert check.observed == pytest.approx(independent_numerical_psi(pr[:, j].tolist(), pc[:, j].tolist())[0],
                                               abs=1e-12)
        assert check.details["feature"] == f"probability of {name}"


def test_multiclass_probability_columns_of_the_reference(data: dict[str, Any]) -> None:
    m = data["multi"]
    ref, cur = data["ref"].copy(), data["cur"].copy()
    for frame in (ref, cur):
        for name, col in zip(m.classes_, m.predict_proba(frame[FEATURES]).T, strict=True):
            frame[f"p_{name}"] = col
    by_model = _run(data, {"prediction": {}}, model=m, target="kind", ref=ref, cur=cur)
    by_column = _run(data, {"prediction": {"source": "reference_column"}}, score="p_*", target="kind", ref=ref,
                     cur=cur)
    names = [n for n in by_model if n.startswith("prediction")]
    assert sorted(names) == sorted(n for n in by_column if n.startswith("prediction")) and len(names) == 4
    for n in names:
        assert by_column[n].observed == pytest.approx(by_model[n].observed, abs=1e-12), n


def test_a_method_for_numbers_leaves_the_class_shares_not_computable(data: dict[str, Any]) -> None:
    c = _run(data, {"prediction": {"method": "ks"}}, model=data["multi"], target="kind")
    assert c["prediction.ks"].status == Status.NOT_COMPUTABLE
    assert "psi, jensenshannon, chisquare" in c["prediction.ks"].message
    assert all(c[f"prediction[{k}].ks"].status in (Status.PASS, Status.FAIL) for k in ("ash", "birch", "cedar"))


# ------------------------------------------------------------------------------------ regression


def test_regression_compares_the_forecasts(data: dict[str, Any]) -> None:
    reg = data["reg"]
    c = _run(data, {"prediction": {}}, model=reg, target="amount")["prediction.psi"]
    expected = independent_numerical_psi(reg.predict(data["ref"][FEATURES]).tolist(),
                                         reg.predict(data["cur"][FEATURES]).tolist())[0]
    assert c.observed == pytest.approx(expected, abs=1e-12) and c.details["feature"] == "forecast"


# ---------------------------------------------------------------------------------------- labels


def test_label_drift_of_a_classification_target_is_the_class_share_psi(data: dict[str, Any]) -> None:
    c = _run(data, {"label": {"threshold": 0.01, "on_fail": "block"}}, model=data["multi"], target="kind")["label.psi"]
    expected = independent_categorical_psi(data["ref"].kind.tolist(), data["cur"].kind.tolist())
    assert c.observed == pytest.approx(expected, abs=1e-12) and c.threshold == 0.01
    assert c.status == (Status.PASS if expected <= 0.01 else Status.FAIL) and c.on_fail.value == "block"


def test_label_drift_of_a_regression_target_is_scipys_ks(data: dict[str, Any]) -> None:
    c = _run(data, {"label": {"method": "ks"}}, model=data["reg"], target="amount")["label.ks"]
    assert c.observed == pytest.approx(scipy.stats.ks_2samp(data["ref"].amount, data["cur"].amount).pvalue, rel=1e-9)


def test_label_drift_without_the_target_on_one_side_is_never_a_pass(data: dict[str, Any]) -> None:
    c = _run(data, {"label": {}}, model=data["binary"], ref=data["ref"].drop(columns=["y"]))["label.psi"]
    assert c.status == Status.NOT_COMPUTABLE and "has no column 'y'" in c.message
    c = _run(data, {"label": {}}, model=data["binary"], target=None, ref=data["ref"][FEATURES],
             cur=data["cur"][FEATURES])["label.psi"]
    assert c.status == Status.NOT_COMPUTABLE and "no target column" in c.message
    renamed = data["ref"].rename(columns={"y": "label"})
    c = _run(data, {"label": {"column": "label"}}, model=data["binary"], ref=renamed)["label.psi"]
    assert c.observed == pytest.approx(independent_categorical_psi(renamed.label.tolist(), data["cur"].y.tolist()),
                                       abs=1e-12)


def test_no_reference_makes_both_rules_not_computable_with_their_own_severity(data: dict[str, Any]) -> None:
    pol = {"version": 1, "drift": {"prediction": {"on_fail": "block"}, "label": {}, "evidently_report": False}}
    report = gatekit.run(pol, data=data["cur"], target="y", model=data["binary"], history=False)
    c = {x.name: x for x in report.checks if x.section == "drift"}
    assert c["prediction.psi"].status == Status.NOT_COMPUTABLE and c["prediction.psi"].on_fail.value == "block"
    assert c["label.psi"].status == Status.NOT_COMPUTABLE and "no reference data" in c["label.psi"].message
    assert report.decision.value == "block"


def test_the_aggregates_never_count_the_outputs(data: dict[str, Any]) -> None:
    pol = {"version": 1, "drift": {"features": ["x2"], "prediction": {}, "label": {}, "evidently_report": False},
           "metrics": [{"name": "psi_feature_drift", "op": "<=", "value": 1}, {"name": "drift_share", "op": "<=",
                                                                                "value": 1}]}
    report = gatekit.run(pol, data=data["cur"], reference=data["ref"], target="y", model=data["binary"],
                         history=False)
    c = {x.name: x for x in report.checks}
    assert c["psi_feature_drift"].observed == c["x2.psi"].observed
    assert c["drift_share"].details["compared"] == 1


# ------------------------------------------------------------------------------ spec and planning


def test_a_column_with_source_model_is_refused(tmp_path: Any) -> None:
    from gatekit.core.errors import PolicyError

    with pytest.raises(PolicyError, match="source: reference_column"):
        load_policy({"version": 1, "drift": {"prediction": {"source": "model", "column": "p"}}})


def test_each_rule_is_planned_and_counted() -> None:
    lp = load_policy({"version": 1, "drift": {"prediction": {"method": "ks", "on_fail": "block"}, "label": {}}})
    assert DriftSection().planned(lp) == [("drift", lp.policy.drift.on_fail), ("prediction.ks", "block"),
                                          ("label.psi", "warn")]
    assert lp.policy.drift.rule_count() == 3


# -------------------------------------------------------------------------------------- engines


def _same(a: dict[str, CheckResult], b: dict[str, CheckResult]) -> None:
    assert sorted(a) == sorted(b)
    for name in a:
        x, y = a[name], b[name]
        assert (x.status, x.message) == (y.status, y.message), name
        if x.observed is None:
            assert y.observed is None
        else:
            assert math.isclose(x.observed, y.observed, rel_tol=1e-12, abs_tol=1e-15), name
        assert y.details.get("data_engine", "pandas") in ("duckdb", "spark", "pandas")


ENGINE_CASES = [("binary", "y", {"method": "psi"}), ("binary", "y", {"method": "jensenshannon"}),
                ("multi", "kind", {"method": "psi"}), ("reg", "amount", {"method": "wasserstein"})]


@pytest.mark.parametrize(("model", "target", "rule"), ENGINE_CASES)
def test_duckdb_gives_the_pandas_numbers(data: dict[str, Any], model: str, target: str, rule: dict[str, Any]) -> None:
    drift = {"prediction": rule, "label": {"method": "psi"}}
    _same(_run(data, drift, model=data[model], target=target),
          _run(data, drift, "duckdb", model=data[model], target=target))


def test_spark_gives_the_pandas_numbers(data: dict[str, Any], spark: Any) -> None:
    for model, target in (("binary", "y"), ("multi", "kind")):
        drift = {"prediction": {}, "label": {"method": "chisquare"}}
        on_spark = _run(data, drift, "spark", model=data[model], target=target)
        assert on_spark["prediction.psi"].details["data_engine"] == "spark"
        _same(_run(data, drift, model=data[model], target=target), on_spark)
