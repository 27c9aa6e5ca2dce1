"""Label encodings, model classes and sensitive-column types: every path agrees with a direct computation."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import skops.io as sio
from fairlearn.metrics import demographic_parity_difference as fl_dpd
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score

import gatekit
from gatekit.core.errors import InputError
from gatekit.core.formatting import fmt_pair


def _policy(tmp_path: Path, rules: str) -> Path:
    p = tmp_path / "p.yaml"
    p.write_text("version: 1\nmetrics:\n" + rules)
    return p


DPD = "  - {name: demographic_parity_difference, op: '<=', value: 0.1}\n"


def _unfair(n: int = 200) -> pd.DataFrame:
    rng = np.random.default_rng(1)
    g = np.array(["a"] * (n // 2) + ["b"] * (n // 2))
    p = np.where(g == "a", rng.random(n) < 0.8, rng.random(n) < 0.2).astype(int)
    y = rng.integers(0, 2, n)
    return pd.DataFrame({"y": y, "p": p, "g": g})


def test_text_predictions_on_an_integer_target_are_read_as_labels(tmp_path: Path) -> None:
    df = _unfair()
    expected = fl_dpd(df["y"], df["p"], sensitive_features=df["g"])
    df["p"] = df["p"].map({1: "1.0", 0: "0.0"})  # the same predictions, as text
    df.to_parquet(tmp_path / "d.parquet")
    r = gatekit.run(_policy(tmp_path, DPD), data=tmp_path / "d.parquet", target="y", prediction="p",
                    sensitive="g")
    assert r.checks[0].observed == pytest.approx(expected) and expected > 0.4
    assert r.decision.value == "block"


def test_model_positive_class_follows_the_label_or_is_refused(tmp_path: Path) -> None:
    rng = np.random.default_rng(2)
    x = rng.normal(size=300)
    y01 = (x + rng.normal(scale=0.5, size=300) > 0).astype(int)
    model = LogisticRegression().fit(pd.DataFrame({"x": x}), y01)
    sio.dump(model, tmp_path / "m.skops")
    proba = model.predict_proba(pd.DataFrame({"x": x}))
    auc = "  - {name: auc_roc, op: '>=', value: 0.5}\n"

    pd.DataFrame({"x": x, "t": y01}).to_csv(tmp_path / "d.csv", index=False)
    # positive label 0: the column of class 0, judged against t == 0 (computed directly)
    r = gatekit.run(_policy(tmp_path, auc), data=tmp_path / "d.csv", target="t", model=tmp_path / "m.skops",
                    positive_label="0.0")
    assert r.checks[0].observed == pytest.approx(roc_auc_score(1 - y01, proba[:, 0]))

    pd.DataFrame({"x": x, "t": np.where(y01 == 1, "yes", "no")}).to_csv(tmp_path / "yn.csv", index=False)
    with pytest.raises(InputError, match="not one of the model's classes"):
        gatekit.run(_policy(tmp_path, auc), data=tmp_path / "yn.csv", target="t", model=tmp_path / "m.skops",
                    positive_label="no")


def test_multiclass_is_refused_even_when_classification_is_declared(tmp_path: Path) -> None:
    pd.DataFrame({"y": ["yes", "no", "maybe", "yes"], "p": ["yes", "no", "yes", "yes"]}).to_csv(
        tmp_path / "d.csv", index=False)
    rules = "  - {name: accuracy, op: '>=', value: 0.7}\n"
    for task in (None, "classification"):
        with pytest.raises(InputError, match="3 classes"):
            gatekit.run(_policy(tmp_path, rules), data=tmp_path / "d.csv", target="y", prediction="p",
                        positive_label="yes", task=task)
    with pytest.raises(InputError, match="task must be"):
        gatekit.run(_policy(tmp_path, rules), data=tmp_path / "d.csv", target="y", prediction="p", task="Regresion")


def test_a_rule_naming_a_column_does_not_regroup_the_other_rules(tmp_path: Path) -> None:
    df = _unfair()
    df["b"] = np.tile(["u", "v", "w", "x"], len(df) // 4)
    df.to_csv(tmp_path / "d.csv", index=False)
    rules = DPD + "  - {name: demographic_parity_difference, op: '<=', value: 0.1, params: {sensitive: b}}\n"
    r = gatekit.run(_policy(tmp_path, rules), data=tmp_path / "d.csv", target="y", prediction="p", sensitive="g")
    by_g, by_b = r.checks
    assert by_g.observed == pytest.approx(fl_dpd(df["y"], df["p"], sensitive_features=df["g"]))
    assert by_b.observed == pytest.approx(fl_dpd(df["y"], df["p"], sensitive_features=df["b"]))
    assert by_g.details["sensitive_columns"] == ["g"] and by_b.details["sensitive_columns"] == ["b"]


def test_nobody_selected_is_flagged_as_trivially_fair(tmp_path: Path) -> None:
    df = _unfair()
    df["s"] = 0.1  # nobody reaches 0.5
    df.to_csv(tmp_path / "d.csv", index=False)
    r = gatekit.run(_policy(tmp_path, DPD), data=tmp_path / "d.csv", target="y", score="s", sensitive="g")
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
    p.write_text("version: 1\nstrict: false\nmetrics:\n" + DPD)
    r = gatekit.run(p, data=tmp_path / "d.parquet", target="y", prediction="p", sensitive="g")
    assert r.checks[0].status.value in ("pass", "fail")
    assert len(r.checks[0].details["by_group"]) == 3  # two values and (missing)


def test_list_valued_target_is_an_input_error(tmp_path: Path) -> None:
    pd.DataFrame({"y": [[1], [0], [1]], "s": [0.9, 0.1, 0.8]}).to_parquet(tmp_path / "d.parquet")
    with pytest.raises(InputError, match="lists or arrays"):
        gatekit.run(_policy(tmp_path, DPD), data=tmp_path / "d.parquet", target="y", score="s")


def test_one_class_holdout_accepts_predictions_of_the_other_label(tmp_path: Path) -> None:
    pd.DataFrame({"y": ["yes"] * 4, "p": ["yes", "no", "yes", "yes"]}).to_csv(tmp_path / "d.csv", index=False)
    r = gatekit.run(_policy(tmp_path, "  - {name: accuracy, op: '>=', value: 0.7}\n"), data=tmp_path / "d.csv",
                    target="y", prediction="p", positive_label="yes")
    assert r.checks[0].observed == 0.75


def test_trailing_commas_do_not_shift_columns(tmp_path: Path) -> None:
    (tmp_path / "d.csv").write_text("y,s,\n1,0.9,\n0,0.2,\n1,0.7,\n0,0.4,\n")
    r = gatekit.run(_policy(tmp_path, "  - {name: auc_roc, op: '>=', value: 0.9}\n"), data=tmp_path / "d.csv",
                    target="y", score="s")
    assert r.checks[0].observed == 1.0


def test_messages_show_enough_digits_to_tell_value_from_threshold() -> None:
    assert fmt_pair(0.89996, 0.9) == ("0.89996", "0.9")
    assert fmt_pair(0.8138, 0.8) == ("0.8138", "0.8")
    assert fmt_pair(0.9, 0.9) == ("0.9", "0.9")
