"""Tests of :mod:`gatekit.data.labels`: label encodings, the positive label and the task; every path
agrees with a direct computation.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from fairlearn.metrics import demographic_parity_difference as fl_dpd

import gatekit
from gatekit.core.errors import InputError
from tests.data.helpers import DPD, _policy, _rules_file, _unfair


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


def test_one_score_column_for_a_multiclass_target_is_refused(tmp_path) -> None:
    path = tmp_path / "d.csv"
    pd.DataFrame({"y": ["a", "b", "c"], "s": [0.1, 0.2, 0.3]}).to_csv(path, index=False)
    with pytest.raises(InputError, match=r"3 classes .*one score column .*score_\*"):
        gatekit.run(_policy(tmp_path), data=path, target="y", score="s")


def test_positive_label_text_matches_numeric_target_and_typos_are_refused(tmp_path) -> None:
    path = tmp_path / "d.csv"
    pd.DataFrame({"y": [1.0, 0.0, 1.0, 0.0], "s": [0.9, 0.2, 0.7, 0.4]}).to_csv(path, index=False)
    r = gatekit.run(_policy(tmp_path), data=path, target="y", score="s", positive_label="1")
    assert r.checks[0].observed == 1.0  # both positives outrank both negatives
    with pytest.raises(InputError, match="matches no value"):
        gatekit.run(_policy(tmp_path), data=path, target="y", score="s", positive_label="yes")


def test_text_predictions_on_an_integer_target_are_read_as_labels(tmp_path: Path) -> None:
    df = _unfair()
    expected = fl_dpd(df["y"], df["p"], sensitive_features=df["g"])
    df["p"] = df["p"].map({1: "1.0", 0: "0.0"})  # the same predictions, as text
    df.to_parquet(tmp_path / "d.parquet")
    r = gatekit.run(_rules_file(tmp_path, DPD), data=tmp_path / "d.parquet", target="y", prediction="p",
                    sensitive="g")
    assert r.checks[0].observed == pytest.approx(expected) and expected > 0.4
    assert r.decision.value == "block"


def test_three_classes_are_multiclass_whether_inferred_or_declared_classification(tmp_path: Path) -> None:
    pd.DataFrame({"y": ["yes", "no", "maybe", "yes"], "p": ["yes", "no", "yes", "yes"]}).to_csv(
        tmp_path / "d.csv", index=False)
    rules = "  - {name: accuracy, op: '>=', value: 0.7}\n"
    for task in (None, "classification", "multiclass"):
        r = gatekit.run(_rules_file(tmp_path, rules), data=tmp_path / "d.csv", target="y", prediction="p",
                        task=task)
        assert r.checks[0].observed == 0.75  # 3 of 4 labels right (maybe -> yes is the miss)
    rules = "  - {name: precision_at_0_5, op: '>=', value: 0.7}\n"
    r = gatekit.run(_rules_file(tmp_path, rules), data=tmp_path / "d.csv", target="y", prediction="p")
    assert r.checks[0].status.value == "not_computable"
    assert "needs a binary target; the target has 3 classes (multiclass)" in r.checks[0].message
    with pytest.raises(InputError, match="task must be"):
        gatekit.run(_rules_file(tmp_path, rules), data=tmp_path / "d.csv", target="y", prediction="p", task="Regresion")


def test_list_valued_target_is_an_input_error(tmp_path: Path) -> None:
    pd.DataFrame({"y": [[1], [0], [1]], "s": [0.9, 0.1, 0.8]}).to_parquet(tmp_path / "d.parquet")
    with pytest.raises(InputError, match="lists or arrays"):
        gatekit.run(_rules_file(tmp_path, DPD), data=tmp_path / "d.parquet", target="y", score="s")


def test_one_class_holdout_accepts_predictions_of_the_other_label(tmp_path: Path) -> None:
    pd.DataFrame({"y": ["yes"] * 4, "p": ["yes", "no", "yes", "yes"]}).to_csv(tmp_path / "d.csv", index=False)
    r = gatekit.run(_rules_file(tmp_path, "  - {name: accuracy, op: '>=', value: 0.7}\n"), data=tmp_path / "d.csv",
                    target="y", prediction="p", positive_label="yes")
    assert r.checks[0].observed == 0.75
