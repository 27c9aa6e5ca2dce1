"""Inputs: data files, columns, labels, model artifacts (load safety) and metrics files."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import joblib
import numpy as np
import pandas as pd
import pytest
import skops.io as sio
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score

import gatekit
from gatekit.core.errors import InputError

REPO = Path(__file__).resolve().parent.parent
FEATURES = ["pirat", "hirat", "lvrat", "chist", "mhist", "unemp"]


def _policy(tmp_path: Path, body: str = "") -> Path:
    p = tmp_path / "policy.yaml"
    p.write_text("version: 1\nmetrics:\n  - {name: auc_roc, op: '>=', value: 0.5}\n" + body)
    return p


@pytest.fixture
def hmda(tmp_path: Path) -> tuple[pd.DataFrame, Path]:
    df = pd.read_csv(REPO / "data" / "hmda" / "hmda.csv").iloc[:800]
    path = tmp_path / "eval.csv"
    df.to_csv(path, index=False)
    return df, path


@pytest.fixture
def fitted(hmda: tuple[pd.DataFrame, Path]) -> LogisticRegression:
    df, _ = hmda
    return LogisticRegression(max_iter=1000).fit(df[FEATURES], df["deny"])


def _auc_direct(model: object, df: pd.DataFrame) -> float:
    proba = model.predict_proba(df[FEATURES])[:, list(model.classes_).index("yes")]
    return roc_auc_score((df["deny"] == "yes").astype(int), proba)


def test_joblib_model_is_not_unpickled_without_hash_or_trust(tmp_path, hmda, fitted) -> None:
    df, data = hmda
    mpath = tmp_path / "m.joblib"
    joblib.dump(fitted, mpath)
    with pytest.raises(InputError) as exc:
        gatekit.run(_policy(tmp_path), data=data, target="deny", model=mpath)
    assert "refusing to unpickle" in str(exc.value)
    digest = hashlib.sha256(mpath.read_bytes()).hexdigest()
    assert digest in str(exc.value)  # tells the user the value to pin

    report = gatekit.run(_policy(tmp_path), data=data, target="deny", model=mpath, model_sha256=digest)
    assert report.checks[0].observed == pytest.approx(_auc_direct(fitted, df), abs=1e-12)
    assert report.metadata["inputs"]["files"]["model"]["sha256"] == digest
    assert report.metadata["inputs"]["files"]["model"]["verified_sha256"] is True

    report = gatekit.run(_policy(tmp_path), data=data, target="deny", model=mpath, trust_model=True)
    assert report.checks[0].status.value == "pass"


def test_model_hash_mismatch_is_refused_even_for_skops(tmp_path, hmda, fitted) -> None:
    _, data = hmda
    mpath = tmp_path / "m.skops"
    sio.dump(fitted, mpath)
    with pytest.raises(InputError, match="does not match"):
        gatekit.run(_policy(tmp_path), data=data, target="deny", model=mpath, model_sha256="0" * 64)


def test_skops_default_trusted_types_load_and_score(tmp_path, hmda, fitted) -> None:
    df, data = hmda
    mpath = tmp_path / "m.skops"
    sio.dump(fitted, mpath)
    report = gatekit.run(_policy(tmp_path), data=data, target="deny", model=mpath)
    assert report.checks[0].observed == pytest.approx(_auc_direct(fitted, df), abs=1e-12)
    assert report.metadata["inputs"]["positive_label"] == "yes"


def test_skops_with_untrusted_types_needs_hash_or_trust(tmp_path, hmda) -> None:
    df, data = hmda
    model = HistGradientBoostingClassifier(max_iter=20, random_state=0).fit(df[FEATURES], df["deny"])
    mpath = tmp_path / "hgb.skops"
    sio.dump(model, mpath)
    assert sio.get_untrusted_types(file=mpath)  # the premise of the test
    with pytest.raises(InputError, match="does not trust"):
        gatekit.run(_policy(tmp_path), data=data, target="deny", model=mpath)
    report = gatekit.run(_policy(tmp_path), data=data, target="deny", model=mpath, trust_model=True)
    assert report.checks[0].observed == pytest.approx(_auc_direct(model, df), abs=1e-12)


def test_unsupported_model_format(tmp_path, hmda) -> None:
    _, data = hmda
    m = tmp_path / "m.onnx"
    m.write_bytes(b"x")
    with pytest.raises(InputError, match="unsupported model format"):
        gatekit.run(_policy(tmp_path), data=data, target="deny", model=m)


def test_missing_column_suggests_the_closest(tmp_path, hmda) -> None:
    _, data = hmda
    with pytest.raises(InputError) as exc:
        gatekit.run(_policy(tmp_path), data=data, target="denny", score="pirat")
    assert "'denny' not found" in str(exc.value) and "did you mean 'deny'" in str(exc.value)
    assert str(data) in str(exc.value)


def test_missing_target_values_are_never_dropped(tmp_path) -> None:
    path = tmp_path / "d.csv"
    pd.DataFrame({"y": [1, 0, None, 1], "s": [0.9, 0.1, 0.5, 0.8]}).to_csv(path, index=False)
    with pytest.raises(InputError) as exc:
        gatekit.run(_policy(tmp_path), data=path, target="y", score="s")
    assert "1 rows have no target value" in str(exc.value)
    assert "[4]" in str(exc.value)  # file line 4 (header is line 1)


def test_positive_label_inference_and_refusal(tmp_path) -> None:
    path = tmp_path / "d.csv"
    pd.DataFrame({"y": ["good", "bad", "good", "bad"], "s": [0.9, 0.1, 0.6, 0.4]}).to_csv(path, index=False)
    with pytest.raises(InputError, match="positive_label"):
        gatekit.run(_policy(tmp_path), data=path, target="y", score="s")
    # positive = "good": scores rank good above bad perfectly -> AUC 1.0 (by hand)
    r = gatekit.run(_policy(tmp_path), data=path, target="y", score="s", positive_label="good")
    assert r.checks[0].observed == 1.0
    # positive = "bad": the same scores rank perfectly wrong -> AUC 0.0
    r = gatekit.run(_policy(tmp_path), data=path, target="y", score="s", positive_label="bad")
    assert r.checks[0].observed == 0.0


def test_multiclass_target_is_refused(tmp_path) -> None:
    path = tmp_path / "d.csv"
    pd.DataFrame({"y": ["a", "b", "c"], "s": [0.1, 0.2, 0.3]}).to_csv(path, index=False)
    with pytest.raises(InputError, match="3 classes"):
        gatekit.run(_policy(tmp_path), data=path, target="y", score="s")


def test_parquet_input(tmp_path) -> None:
    path = tmp_path / "d.parquet"
    y = np.array([0, 0, 1, 1, 0, 1])
    s = np.array([0.1, 0.4, 0.35, 0.8, 0.2, 0.9])
    pd.DataFrame({"y": y, "s": s}).to_parquet(path)
    r = gatekit.run(_policy(tmp_path), data=path, target="y", score="s")
    assert r.checks[0].observed == pytest.approx(roc_auc_score(y, s))


def test_missing_scores_make_metrics_not_computable(tmp_path) -> None:
    path = tmp_path / "d.csv"
    pd.DataFrame({"y": [0, 1, 0, 1], "s": [0.1, None, 0.3, 0.9]}).to_csv(path, index=False)
    r = gatekit.run(_policy(tmp_path), data=path, target="y", score="s")
    assert r.checks[0].status.value == "not_computable"
    assert "1 of 4 score values are missing" in r.checks[0].message
    assert r.decision.value == "block"


def test_metrics_file_errors_name_file_line_and_key(tmp_path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text('{\n  "auc_roc": 0.9,\n  "x": \n}')
    with pytest.raises(InputError) as exc:
        gatekit.run(_policy(tmp_path), metrics=bad)
    assert exc.value.problems[0].line == 4 and exc.value.problems[0].file == str(bad)

    wrong = tmp_path / "wrong.json"
    wrong.write_text(json.dumps({"auc_roc": "0.9"}))
    with pytest.raises(InputError, match="'auc_roc' must be a number"):
        gatekit.run(_policy(tmp_path), metrics=wrong)

    both = tmp_path / "both.json"
    both.write_text(json.dumps({"auc_roc": 0.9, "roc_auc": 0.8}))
    with pytest.raises(InputError, match="name the same metric"):
        gatekit.run(_policy(tmp_path), metrics=both)


def test_metrics_file_null_is_not_computable_and_unknown_names_are_listed(tmp_path) -> None:
    m = tmp_path / "m.json"
    m.write_text(json.dumps({"auc_roc": None, "my_custom_kpi": 3}))
    r = gatekit.run(_policy(tmp_path), metrics=m)
    assert r.checks[0].status.value == "not_computable"
    assert r.metadata["inputs"]["unused_metrics_in_file"] == ["my_custom_kpi"]


def test_computed_value_wins_over_metrics_file_and_both_are_recorded(tmp_path) -> None:
    path = tmp_path / "d.csv"
    y, s = [0, 1, 0, 1], [0.1, 0.8, 0.3, 0.9]
    pd.DataFrame({"y": y, "s": s}).to_csv(path, index=False)
    m = tmp_path / "m.json"
    m.write_text(json.dumps({"roc_auc": 0.42}))
    r = gatekit.run(_policy(tmp_path), data=path, target="y", score="s", metrics=m)
    assert r.checks[0].observed == roc_auc_score(y, s)
    assert r.checks[0].source == "computed"
    assert r.checks[0].details["metrics_file_value"] == 0.42


def test_inputs_section_paths_are_relative_to_the_policy(tmp_path) -> None:
    sub = tmp_path / "pol"
    sub.mkdir()
    y, s = [0, 1, 0, 1], [0.1, 0.8, 0.3, 0.9]
    pd.DataFrame({"y": y, "s": s}).to_csv(tmp_path / "d.csv", index=False)
    p = sub / "p.yaml"
    p.write_text("version: 1\ninputs: {data: ../d.csv, target: y, score: s}\n"
                 "metrics:\n  - {name: auc_roc, op: '>=', value: 0.9}\n")
    r = gatekit.run(p)
    assert r.decision.value == "pass" and r.checks[0].observed == 1.0


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
                 "  - {name: demographic_parity_difference, op: '<=', value: 0.5, params: {sensitive: g}}\n")
    r = gatekit.run(p, data=path, target="y", score="s")
    assert r.checks[0].observed == pytest.approx(1 / 3)


def test_metrics_file_value_for_a_parametrised_rule_carries_a_note(tmp_path) -> None:
    m = tmp_path / "m.json"
    m.write_text(json.dumps({"smape": 10.0}))
    p = tmp_path / "p.yaml"
    p.write_text("version: 1\nmetrics:\n  - {name: smape, op: '<=', value: 14, params: {variant: '0-100'}}\n")
    r = gatekit.run(p, metrics=m)
    assert r.checks[0].status.value == "pass"
    assert "does not say which definition" in r.checks[0].details["note"]


def test_positive_label_text_matches_numeric_target_and_typos_are_refused(tmp_path) -> None:
    path = tmp_path / "d.csv"
    pd.DataFrame({"y": [1.0, 0.0, 1.0, 0.0], "s": [0.9, 0.2, 0.7, 0.4]}).to_csv(path, index=False)
    r = gatekit.run(_policy(tmp_path), data=path, target="y", score="s", positive_label="1")
    assert r.checks[0].observed == 1.0  # both positives outrank both negatives
    with pytest.raises(InputError, match="matches no value"):
        gatekit.run(_policy(tmp_path), data=path, target="y", score="s", positive_label="yes")


def test_api_accepts_one_sensitive_column_as_a_string(tmp_path) -> None:
    path = tmp_path / "d.csv"
    pd.DataFrame({"y": [1, 0, 1, 0], "s": [0.9, 0.6, 0.3, 0.1], "grp": ["a", "a", "b", "b"]}).to_csv(path, index=False)
    p = tmp_path / "p.yaml"
    p.write_text("version: 1\nmetrics:\n  - {name: demographic_parity_difference, op: '<=', value: 1}\n")
    r = gatekit.run(p, data=path, target="y", score="s", sensitive="grp")
    assert r.checks[0].observed == pytest.approx(1.0)  # a: both predicted positive, b: none (by hand)
    assert r.checks[0].details["sensitive_columns"] == ["grp"]
