"""Tests of :mod:`gatekit.data.loader`: loading a run's inputs."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import gatekit
from gatekit.core.errors import InputError
from tests.data.helpers import _policy


def test_missing_target_values_are_never_dropped(tmp_path) -> None:
    path = tmp_path / "d.csv"
    pd.DataFrame({"y": [1, 0, None, 1], "s": [0.9, 0.1, 0.5, 0.8]}).to_csv(path, index=False)
    with pytest.raises(InputError) as exc:
        gatekit.run(_policy(tmp_path), data=path, target="y", score="s")
    assert "1 rows have no target value" in str(exc.value)
    assert "[4]" in str(exc.value)  # file line 4 (header is line 1)


def test_nothing_to_evaluate_is_an_input_error(tmp_path) -> None:
    with pytest.raises(InputError, match="nothing to evaluate"):
        gatekit.run(_policy(tmp_path))


def test_sensitive_column_named_by_a_rule_is_loaded(tmp_path) -> None:
    path = tmp_path / "d.csv"
    # group a: predictions (score >= 0.5) 1,1,0 -> rate 2/3; group b: 0,0,1 -> 1/3; difference 1/3 by hand
    pd.DataFrame({"y": [1, 0, 1, 0, 1, 0], "s": [0.9, 0.6, 0.2, 0.1, 0.3, 0.7],
                  "g": ["a", "a", "a", "b", "b", "b"]}).to_csv(path, index=False)
    p = tmp_path / "p.yaml"
    p.write_text("version: 1\nmetrics:\n"
                 "  - {name: demographic_parity_difference, op: '<=', value: 0.5,\n"
                 "     params: {sensitive: g, min_group_size: 3}}\n")
    r = gatekit.run(p, data=path, target="y", score="s")
    assert r.checks[0].observed == pytest.approx(1 / 3)


# --------------------------------------------------------------------------------------------------
# One column in two roles: refused before anything is computed, naming both roles and the column
# --------------------------------------------------------------------------------------------------


def _data(tmp_path):
    path = tmp_path / "good.csv"
    pd.DataFrame({"y": [1, 0, 1, 0, 1, 0], "s": [0.9, 0.2, 0.8, 0.3, 0.7, 0.1], "p": [1, 0, 1, 0, 1, 1],
                  "b": [0.6, 0.4, 0.6, 0.4, 0.6, 0.4], "g": ["a", "a", "a", "b", "b", "b"]}).to_csv(path, index=False)
    return path


def test_score_that_is_the_target_is_refused_not_a_perfect_auc(tmp_path) -> None:
    with pytest.raises(InputError) as exc:
        gatekit.run(_policy(tmp_path), data=_data(tmp_path), target="y", score="y")
    problem = exc.value.problems[0]
    assert problem.message.startswith("column 'y' is given as both the target column and the score column")
    assert problem.key == "score" and problem.file == str(tmp_path / "good.csv")


@pytest.mark.parametrize(("overrides", "first", "second", "column"), [
    ({"target": "y", "prediction": "y"}, "target", "prediction", "y"),
    ({"target": "y", "score": "s", "prediction": "s"}, "score", "prediction", "s"),
    ({"target": "y", "score": "s", "baseline_score": "s"}, "score", "baseline score", "s"),
    ({"target": "y", "prediction": "p", "baseline_prediction": "p"}, "prediction", "baseline prediction", "p"),
    ({"target": "y", "score": "s", "baseline_score": "y"}, "target", "baseline score", "y"),
    ({"target": "y", "score": "s", "baseline_prediction": "y"}, "target", "baseline prediction", "y"),
    ({"target": "y", "score": "s", "sensitive": "y"}, "target", "sensitive", "y"),
    ({"target": "y", "score": "s", "sensitive": ["g", "s"]}, "score", "sensitive", "s"),
    ({"target": "y", "score": "s", "baseline_score": "b", "sensitive": "b"}, "baseline score", "sensitive", "b"),
    ({"target": "y", "score": "s", "features": ["g", "y"]}, "target", "feature", "y"),
    ({"target": "y", "score": "s", "features": ["s"]}, "score", "feature", "s"),
    ({"target": "y", "score": "s", "baseline_score": "b", "features": ["b"]}, "baseline score", "feature", "b"),
])
def test_every_pair_of_roles_that_must_differ_is_refused(tmp_path, overrides, first, second, column) -> None:
    # CLI flags and API overrides are merged over the policy, so the check is repeated at run time
    with pytest.raises(InputError) as exc:
        gatekit.run(_policy(tmp_path), data=_data(tmp_path), **overrides)
    problem = exc.value.problems[0]
    assert problem.message.startswith(
        f"column {column!r} is given as both the {first} column and the {second} column")
    assert problem.key == second


def test_override_against_the_policys_roles_is_refused(tmp_path) -> None:
    pol = _policy(tmp_path, "inputs:\n  target: y\n  sensitive: g\n")
    with pytest.raises(InputError, match="'g' is given as both the score column and the sensitive column"):
        gatekit.run(pol, data=_data(tmp_path), score="g")


def test_a_fairness_rule_grouping_by_the_target_is_refused(tmp_path) -> None:
    p = tmp_path / "p.yaml"
    p.write_text("version: 1\nmetrics:\n"
                 "  - {name: demographic_parity_difference, op: '<=', value: 0.5, params: {sensitive: y}}\n")
    with pytest.raises(InputError, match="'y' is given as both the target column and the sensitive column"):
        gatekit.run(p, data=_data(tmp_path), target="y", score="s")


def test_a_sensitive_column_that_is_also_a_feature_is_allowed() -> None:
    from gatekit.data.readers import role_conflicts

    assert role_conflicts([("target", "y"), ("sensitive", ["g"]), ("feature", ["a", "g"])]) == []
    assert role_conflicts([("sensitive", ["g", "g"])]) == []  # repeated within one role: not a conflict
    assert role_conflicts([("target", "y"), ("score", None), ("feature", ["y", "s"]), ("score", "s")]) == [
        ("target", "feature", "y"), ("feature", "score", "s")]


def test_a_model_fitted_on_the_target_is_refused(tmp_path) -> None:
    from gatekit.data.inputs import InputOptions
    from gatekit.data.loader import check_model_features

    class Model:
        feature_names_in_ = ("a", "y")

    with pytest.raises(InputError) as exc:
        check_model_features(Model(), InputOptions(target="y"), "model", "d.csv")
    assert "'y' is given as both the target column and the model's feature column" in str(exc.value)
    check_model_features(Model(), InputOptions(target="t", sensitive=["a"]), "model", "d.csv")  # allowed


def test_canary_rules_grouping_by_the_canary_target_are_refused(tmp_path) -> None:
    log = tmp_path / "log.csv"
    pd.DataFrame({"arm": ["candidate", "production"] * 4, "y": [1, 0] * 4, "s": [0.5] * 8}).to_csv(log, index=False)
    p = tmp_path / "p.yaml"
    p.write_text("version: 1\ncanary:\n  data: log.csv\n  target: y\n  score: s\n  min_rows_per_arm: 2\n"
                 "  rules:\n    - {name: demographic_parity_difference, max_increase: 0.1, params: {sensitive: y}}\n")
    with pytest.raises(InputError) as exc:
        gatekit.run(p)
    assert "'y' is given as both the canary target column and the canary sensitive column" in str(exc.value)


def _fitted(tmp_path, name: str, columns: list[str]):
    """A logistic regression on ``columns`` of the good data, saved with skops."""
    import skops.io as sio
    from sklearn.linear_model import LogisticRegression

    frame = pd.read_csv(_data(tmp_path))
    model = LogisticRegression().fit(frame[columns], frame["y"])
    path = tmp_path / f"{name}.skops"
    sio.dump(model, path)
    return path


@pytest.mark.parametrize(("columns", "role"), [(["b", "y"], "target"), (["b", "s"], "score")])
def test_a_baseline_model_reading_the_target_or_the_score_is_refused(tmp_path, columns, role) -> None:
    # the production model is held to the candidate's rule: one that reads the answer (or the candidate's own
    # output) makes every comparison with production meaningless
    cand, base = _fitted(tmp_path, "cand", ["b"]), _fitted(tmp_path, "base", columns)
    kwargs = {"model": cand} if role == "target" else {"score": "s"}
    with pytest.raises(InputError) as exc:
        gatekit.run(_policy(tmp_path), data=_data(tmp_path), target="y", baseline_model=base, **kwargs)
    assert f"given as both the {role} column and the baseline model's feature column" in str(exc.value)


@pytest.mark.parametrize(("first", "second", "why"), [
    ("data", "reference", "compare the rows with themselves"),
    ("metrics", "baseline_metrics", "compare the figures with themselves"),
])
def test_an_input_given_again_in_a_role_that_must_differ_is_refused(tmp_path, first, second, why) -> None:
    import shutil

    if first == "data":
        a = _data(tmp_path)
        kwargs = {"target": "y", "score": "s"}
    else:
        a = tmp_path / "m.json"
        a.write_text('{"auc_roc": 0.9}')
        kwargs = {}
    b = tmp_path / f"copy{a.suffix}"
    shutil.copy(a, b)  # a byte copy under another name is the same content
    with pytest.raises(InputError) as exc:
        gatekit.run(_policy(tmp_path), **{first: a, second: b}, **kwargs)
    assert "has the same content as the" in str(exc.value) and why in str(exc.value)


def test_the_candidate_model_given_again_as_production_is_refused(tmp_path) -> None:
    cand = _fitted(tmp_path, "cand", ["b"])
    with pytest.raises(InputError, match="compare the model with itself"):
        gatekit.run(_policy(tmp_path), data=_data(tmp_path), target="y", model=cand, baseline_model=cand)


def _forecast_rows() -> pd.DataFrame:
    return pd.DataFrame({"y": [10.2, 12.0, 9.1, 11.0], "f": [10.5, 11.0, 9.5, 12.0], "lo": [9.0, 10.0, 8.0, 10.0],
                         "hi": [12.0, 13.0, 11.0, 13.0]})


def test_quantile_columns_are_loaded_by_level() -> None:
    pol = {"version": 1, "inputs": {"quantiles": {0.9: "hi", 0.1: "lo"}},
           "metrics": [{"name": "interval_coverage_at_0_8", "op": ">=", "value": 0.5}]}
    r = gatekit.run(pol, data=_forecast_rows(), target="y", score="f")
    assert r.checks[0].observed == 1.0  # every actual inside [lo, hi]
    assert r.checks[0].details["lower_quantile"] == 0.1 and r.checks[0].details["upper_quantile"] == 0.9


def test_a_missing_quantile_column_is_named() -> None:
    pol = {"version": 1, "inputs": {"quantiles": {0.9: "p90"}},
           "metrics": [{"name": "pinball_loss_at_0_9", "op": "<=", "value": 1}]}
    with pytest.raises(InputError, match="p90"):
        gatekit.run(pol, data=_forecast_rows(), target="y", score="f")


def test_quantiles_for_a_classification_target_are_refused() -> None:
    rows = pd.DataFrame({"y": [0, 1, 0, 1], "s": [0.2, 0.8, 0.4, 0.6]})
    pol = {"version": 1, "inputs": {"quantiles": {0.9: "s"}}, "metrics": [{"name": "accuracy", "op": ">=", "value": 0}]}
    with pytest.raises(InputError, match="numeric \\(regression\\) target"):
        gatekit.run(pol, data=rows, target="y", score="s")


@pytest.mark.parametrize("level", [0, 1, 1.5, -0.1])
def test_a_quantile_level_outside_0_1_is_a_policy_error(level: float) -> None:
    from gatekit.core.errors import PolicyError
    from gatekit.policy.loader import load_policy

    with pytest.raises(PolicyError, match="strictly between 0 and 1"):
        load_policy({"version": 1, "inputs": {"quantiles": {level: "p"}}})


def test_mase_without_the_target_in_the_reference_is_not_computable() -> None:
    pol = {"version": 1, "metrics": [{"name": "mase", "op": "<=", "value": 1}]}
    r = gatekit.run(pol, data=_forecast_rows(), target="y", score="f", reference=pd.DataFrame({"x": [1.0, 2.0]}))
    assert r.checks[0].status.value == "not_computable"
    assert "inputs.reference" in r.checks[0].message
    r = gatekit.run(pol, data=_forecast_rows(), target="y", score="f",
                    reference=pd.DataFrame({"y": [1.0, 3.0, 2.0, 5.0]}))
    assert r.checks[0].observed == pytest.approx(np.mean([0.3, 1.0, 0.4, 1.0]) / 2.0)  # MAE / lag-1 scale 2


def test_quantiles_keyword_of_the_api_replaces_the_policys_and_is_checked() -> None:
    pol = {"version": 1, "inputs": {"quantiles": {0.9: "f"}},
           "metrics": [{"name": "interval_coverage_at_0_8", "op": ">=", "value": 0.5}]}
    r = gatekit.run(pol, data=_forecast_rows(), target="y", score="f", quantiles={0.1: "lo", "0.9": "hi"})
    assert r.checks[0].observed == 1.0 and r.metadata["inputs"]["quantiles"] == {"0.1": "lo", "0.9": "hi"}
    for bad, said in (({1.5: "hi"}, "strictly between 0 and 1"), ({0.9: ""}, "names no column"),
                      (["hi"], "must map each quantile level"), ({True: "hi"}, "strictly between")):
        with pytest.raises(InputError, match=said) as err:
            gatekit.run(pol, data=_forecast_rows(), target="y", score="f", quantiles=bad)  # type: ignore[arg-type]
        assert err.value.problems[0].key == "quantiles"
