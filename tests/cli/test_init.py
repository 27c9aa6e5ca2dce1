"""Tests of :mod:`gatekit.cli.init`: ``gatekit init`` drafts a policy that validates and passes on its rows.

The demo's HMDA rows as a fresh clone has them (data only), the demo's candidate model trained into a temporary
folder with the demo's own code, the demand data with a seasonal-naive forecast (regression), and the refusals:
an existing output, a missing file, an unknown column. Expected values are computed here with pandas, numpy and
scikit-learn.
"""

from __future__ import annotations

import math
import re
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from sklearn.metrics import mean_absolute_error, r2_score, roc_auc_score

import gatekit
from gatekit.model.loading import load_skops
from tests.cli.helpers import gk, load_report
from tests.helpers import REPO, _cli

HMDA = REPO / "data" / "hmda" / "hmda.csv"
ELEC = REPO / "data" / "elecdemand" / "elecdemand.csv"


def _now(text: str, name: str) -> float:
    """The measured value the draft shows beside a metric rule (``# now 0.8138``)."""
    line = next(ln for ln in text.splitlines() if f"name: {name}," in ln and not ln.lstrip().startswith("#"))
    m = re.search(r"# now (\S+)", line)
    assert m, line
    return float(m.group(1))


def test_init_on_the_hmda_rows_of_a_fresh_clone_writes_a_policy_that_passes(tmp_path: Path) -> None:
    (tmp_path / "data").mkdir()
    shutil.copy(HMDA, tmp_path / "data" / "hmda.csv")
    res = gk("init", "data/hmda.csv", "--target", "deny", "--sensitive", "afam", cwd=tmp_path, script=True)
    assert res.returncode == 0, res.stderr
    assert "wrote gatekit.yaml" in res.stdout and "gatekit: PASS" in res.stdout
    assert "gatekit run gatekit.yaml" in res.stdout
    policy = tmp_path / "gatekit.yaml"
    doc = yaml.safe_load(policy.read_text(encoding="utf-8"))
    assert doc["mode"] == "warn_only" and doc["data_quality"]["on_fail"] == "warn"
    assert doc["inputs"] == {"data": "data/hmda.csv", "target": "deny", "positive_label": "yes",
                             "task": "classification", "sensitive": ["afam"]}
    df = pd.read_csv(HMDA)
    cols = doc["data_quality"]["columns"]
    assert list(cols) == list(df.columns)
    for c in ("pirat", "hirat", "lvrat", "unemp", "chist", "mhist"):
        assert cols[c]["min"] <= df[c].min() and cols[c]["max"] >= df[c].max()
        assert cols[c]["max"] - df[c].max() <= 0.1 * (df[c].max() - df[c].min()) + 1  # the margin, rounded
    assert (cols["pirat"]["min"], cols["pirat"]["max"]) == (0, 3.3)  # 0 .. 3 widened by 0.1 x 3
    assert cols["afam"]["allowed"] == sorted(df["afam"].unique())
    assert "pilot" in policy.read_text(encoding="utf-8").lower()
    # the file stands on its own: it validates, and `gatekit run` on it passes
    val = gk("validate", "gatekit.yaml", cwd=tmp_path)
    assert val.returncode == 0, val.stderr
    run = gk("run", "gatekit.yaml", "--out", "r", "--no-history", "-q", cwd=tmp_path)
    assert run.returncode == 0, run.stderr
    rep = load_report(tmp_path / "r")
    assert rep["decision"] == "pass" and rep["metadata"]["enforcement"] == "warn_only"
    assert len(rep["checks"]) > 40 and all(c["status"] == "pass" for c in rep["checks"])


@pytest.fixture
def hmda_model(tmp_path: Path) -> Path:
    """The demo's HMDA candidate, trained by the demo's own code into a temporary folder."""
    from gatekit.demo import train_hmda

    art = tmp_path / "art"
    art.mkdir()
    train_hmda(REPO, art)
    return art


def test_init_with_a_model_current_rows_and_a_sensitive_column(hmda_model: Path, tmp_path: Path) -> None:
    out = tmp_path / "policies" / "loan.yaml"
    out.parent.mkdir()
    res = _cli("init", hmda_model / "hmda_train.csv", "--current", hmda_model / "hmda_holdout.csv",
               "--model", hmda_model / "hmda_candidate.skops", "--target", "deny", "--sensitive", "afam",
               "--output", out)
    assert res.exit_code == 0, res.stderr
    assert "gatekit: PASS" in res.stdout
    text = out.read_text(encoding="utf-8")
    doc = yaml.safe_load(text)
    assert doc["inputs"]["data"] == "../art/hmda_holdout.csv" and doc["inputs"]["reference"] == "../art/hmda_train.csv"
    assert doc["inputs"]["model"] == "../art/hmda_candidate.skops"
    # the measured values, independently: scikit-learn on the model's probabilities of the held-out rows
    hold = pd.read_csv(hmda_model / "hmda_holdout.csv")
    model = load_skops((hmda_model / "hmda_candidate.skops").read_bytes(), allow_untrusted=False)
    features = list(model.feature_names_in_)
    p = model.predict_proba(hold[features])[:, list(model.classes_).index("yes")]
    y = (hold["deny"] == "yes").to_numpy()
    auc = roc_auc_score(y, p)
    assert _now(text, "auc_roc") == pytest.approx(auc, rel=5e-4)
    rules = {r["name"]: r for r in doc["metrics"]}
    assert rules["auc_roc"]["value"] == math.floor(auc * 0.95 * 100) / 100  # 5 % below, two significant digits
    assert rules["auc_roc"]["op"] == ">=" and rules["brier_score"]["op"] == "<="
    brier = float(np.mean((p - y) ** 2))
    assert _now(text, "brier_score") == pytest.approx(brier, rel=5e-4)
    assert rules["brier_score"]["value"] >= brier
    rate = pd.Series(p >= 0.5).groupby(hold["afam"].to_numpy()).mean()
    assert _now(text, "fairness_demographic_parity_diff") == pytest.approx(rate.max() - rate.min(), rel=5e-4)
    assert rules["fairness_demographic_parity_diff"]["value"] == 0.1
    assert rules["fairness_demographic_parity_diff"]["params"] == {"sensitive": "afam"}
    assert all(r["on_fail"] == "warn" for r in doc["metrics"])
    # the signature and drift follow the model's features; chist / mhist are codes, compared as categories
    assert list(doc["compatibility"]["feature_signature"]["expected"]) == features
    assert doc["compatibility"]["model_format"] == {"allowed": ["skops"]}
    assert doc["drift"]["features"] == features and doc["drift"]["categorical_features"] == ["chist", "mhist"]
    assert "PSI now: pirat" in text
    report = gatekit.run(out)
    assert report.decision.value == "pass", [(c.name, c.status, c.message) for c in report.checks
                                             if c.status.value != "pass"]


def test_init_drafts_regression_rules_for_a_forecast(tmp_path: Path) -> None:
    df = pd.read_csv(ELEC)
    df["forecast"] = df["Demand"].shift(48)  # seasonal naive: the same half hour the day before
    df = df.iloc[48:].reset_index(drop=True)
    rows = tmp_path / "demand.csv"
    df.to_csv(rows, index=False)
    out = tmp_path / "demand.yaml"
    res = _cli("init", rows, "--target", "Demand", "--prediction", "forecast", "--output", out)
    assert res.exit_code == 0, res.stderr
    assert "gatekit: PASS" in res.stdout
    text = out.read_text(encoding="utf-8")
    doc = yaml.safe_load(text)
    assert doc["inputs"]["task"] == "regression" and "positive_label" not in doc["inputs"]
    assert [(r["name"], r["op"]) for r in doc["metrics"]] == [
        ("rmse", "<="), ("mae", "<="), ("r2", ">="), ("mape", "<="), ("smape", "<=")]
    y, f = df["Demand"].to_numpy(), df["forecast"].to_numpy()
    expected = {"rmse": float(np.sqrt(np.mean((y - f) ** 2))), "mae": mean_absolute_error(y, f),
                "r2": r2_score(y, f), "mape": float(100 * np.mean(np.abs((y - f) / y))),
                "smape": float(100 * np.mean(np.abs(y - f) / ((np.abs(y) + np.abs(f)) / 2)))}
    for name, value in expected.items():
        assert _now(text, name) == pytest.approx(value, rel=5e-4), name
    rules = {r["name"]: r["value"] for r in doc["metrics"]}
    assert rules["r2"] <= expected["r2"] and all(rules[n] >= expected[n] for n in ("rmse", "mae", "mape", "smape"))
    cols = doc["data_quality"]["columns"]
    assert cols["timestamp"] == {"type": "string", "unique": True, "max_null_fraction": 0}
    assert cols["WorkDay"]["allowed"] == [0, 1]
    assert "2014-01" not in text  # the timestamps are never written


def test_init_refuses_to_overwrite_without_force(tmp_path: Path) -> None:
    out = tmp_path / "gatekit.yaml"
    out.write_text("# mine\n", encoding="utf-8")
    res = _cli("init", HMDA, "--output", out, "--no-check")
    assert res.exit_code == 2
    assert "already exists" in res.stderr and "--force" in res.stderr
    assert out.read_text(encoding="utf-8") == "# mine\n"
    res = _cli("init", HMDA, "--output", out, "--no-check", "--force")
    assert res.exit_code == 0, res.stderr
    assert yaml.safe_load(out.read_text(encoding="utf-8"))["version"] == 1
    # never over one of its own inputs, even with --force
    copy = tmp_path / "rows.csv"
    shutil.copy(HMDA, copy)
    res = _cli("init", copy, "--output", copy, "--force", "--no-check")
    assert res.exit_code == 2 and "is the data file" in res.stderr
    assert copy.read_bytes() == HMDA.read_bytes()


def test_bad_inputs_exit_2_naming_the_file_or_column(tmp_path: Path) -> None:
    out = tmp_path / "p.yaml"
    res = _cli("init", tmp_path / "missing.csv", "--output", out)
    assert res.exit_code == 2 and "missing.csv" in res.stderr and "not found" in res.stderr
    res = _cli("init", HMDA, "--target", "denyy", "--output", out)
    assert res.exit_code == 2 and "'denyy' not found" in res.stderr and "did you mean 'deny'" in res.stderr
    res = _cli("init", HMDA, "--target", "deny", "--sensitive", "race", "--output", out)
    assert res.exit_code == 2 and "sensitive column 'race' not found" in res.stderr
    res = _cli("init", HMDA, "--target", "deny", "--model", tmp_path / "nope.skops", "--output", out)
    assert res.exit_code == 2 and "nope.skops" in res.stderr
    res = _cli("init", HMDA, "--task", "ranking", "--output", out)
    assert res.exit_code == 2 and "--task" in res.stderr
    res = _cli("init", HMDA, "--target", "deny", "--task", "regression", "--output", out)
    assert res.exit_code == 2 and "not numeric" in res.stderr
    assert not out.exists()


def test_init_never_copies_data_values_into_the_draft_or_the_console(tmp_path: Path) -> None:
    # a group (an e-mail address) with no positive label: the fairness reasons would quote it
    rng = np.random.default_rng(0)
    g = ["alice@corp.com"] * 30 + ["bob@corp.com"] * 10
    y = list(rng.integers(0, 2, 30)) + [0] * 10
    pd.DataFrame({"g": g, "y": y, "s": rng.random(40)}).to_csv(tmp_path / "rows.csv", index=False)
    res = _cli("init", tmp_path / "rows.csv", "--target", "y", "--score", "s", "--sensitive", "g",
               "--output", tmp_path / "p.yaml", "--no-check")
    assert res.exit_code == 0, res.stderr
    text = (tmp_path / "p.yaml").read_text(encoding="utf-8")
    for shown in (text, res.stdout, res.stderr):
        assert "corp.com" not in shown
    assert "not computable on rows.csv" in text and "(counted: …)" in text  # the kind of reason stays


def test_init_refuses_a_continuous_sensitive_column_as_run_does(tmp_path: Path) -> None:
    rng = np.random.default_rng(1)
    income = rng.normal(50_000, 9_000, 60)
    pd.DataFrame({"income": income, "y": [0, 1] * 30, "s": rng.random(60)}).to_csv(tmp_path / "r.csv", index=False)
    out = tmp_path / "p.yaml"
    res = _cli("init", tmp_path / "r.csv", "--target", "y", "--score", "s", "--sensitive", "income", "--output", out)
    assert res.exit_code == 2 and "'income' is numeric with 60 distinct values" in res.stderr
    assert "sensitive_bins" in res.stderr and not out.exists()
    assert f"{income[0]:g}"[:5] not in res.stderr + res.stdout  # no value echoed


def test_init_refuses_rows_it_cannot_draft_from_before_writing(tmp_path: Path) -> None:
    out = tmp_path / "p.yaml"
    (tmp_path / "header.csv").write_text("a,y\n", encoding="utf-8")
    res = _cli("init", tmp_path / "header.csv", "--output", out)
    assert res.exit_code == 2 and "no rows" in res.stderr
    (tmp_path / "ynull.csv").write_text("a,y\n1,\n2,\n", encoding="utf-8")
    res = _cli("init", tmp_path / "ynull.csv", "--target", "y", "--output", out)
    assert res.exit_code == 2 and "target 'y' has no value" in res.stderr
    (tmp_path / "nan.csv").write_text("a,y,s\n1,0,0.2\n2,1,0.8\n3,1,\n4,0,0.1\n", encoding="utf-8")
    res = _cli("init", tmp_path / "nan.csv", "--target", "y", "--score", "s", "--output", out)
    assert res.exit_code == 2 and "row 3 (line 4" in res.stderr  # the header is line 1
    res = _cli("init", HMDA, "--output", tmp_path / "nonexist" / "p.yaml")
    assert res.exit_code == 2 and "does not exist" in res.stderr
    assert not out.exists() and not (tmp_path / "nonexist").exists()


def test_init_writes_the_file_with_the_umasks_mode(tmp_path: Path) -> None:
    import os

    old = os.umask(0o022)
    try:
        res = _cli("init", HMDA, "--output", tmp_path / "p.yaml", "--no-check")
    finally:
        os.umask(old)
    assert res.exit_code == 0, res.stderr
    assert (tmp_path / "p.yaml").stat().st_mode & 0o777 == 0o644


def test_init_uses_max_categories(tmp_path: Path) -> None:
    pd.DataFrame({"c": list("abcde") * 10, "y": [0, 1] * 25}).to_csv(tmp_path / "r.csv", index=False)
    for k, allowed in ((5, list("abcde")), (4, None)):
        out = tmp_path / f"p{k}.yaml"
        res = _cli("init", tmp_path / "r.csv", "--max-categories", k, "--output", out, "--no-check")
        assert res.exit_code == 0, res.stderr
        assert yaml.safe_load(out.read_text(encoding="utf-8"))["data_quality"]["columns"]["c"].get("allowed") == allowed


def test_init_awkward_names_and_values_validate_and_pass(tmp_path: Path) -> None:
    df = pd.DataFrame({"new\nline": [1.0, 2.0, 3.0] * 10, "big": [1e308, -1e308, 0.0] * 10,
                       "t": ["010", "0x10", "1e3"] * 10, "y": [0, 1, 1] * 10})
    df.to_csv(tmp_path / "r.csv", index=False)
    out = tmp_path / "p.yaml"
    res = _cli("init", tmp_path / "r.csv", "--target", "y", "--output", out)
    assert res.exit_code == 0, res.stderr
    assert "gatekit: PASS" in res.stdout  # its own rows meet it: '1e3' stays text
    cols = yaml.safe_load(out.read_text(encoding="utf-8"))["data_quality"]["columns"]
    assert cols["t"]["allowed"] == ["010", "0x10", "1e3"] and "min" not in cols["big"]
    assert (cols["new\nline"]["min"], cols["new\nline"]["max"]) == (0.8, 3.2)


def test_init_drafts_multiclass_rules_from_probability_columns(tmp_path: Path) -> None:
    from sklearn.metrics import accuracy_score, balanced_accuracy_score, f1_score
    from sklearn.metrics import roc_auc_score as auc

    rng = np.random.default_rng(5)
    classes = ["a", "b", "c"]
    y = rng.choice(classes, 300)
    p = rng.dirichlet([1, 1, 1], 300)
    p[np.arange(300), [classes.index(v) for v in y]] += 1.0
    p /= p.sum(axis=1, keepdims=True)
    df = pd.DataFrame({"x": rng.random(300), "y": y, **{f"score_{c}": p[:, i] for i, c in enumerate(classes)}})
    df.to_csv(tmp_path / "r.csv", index=False)
    out = tmp_path / "p.yaml"
    res = _cli("init", tmp_path / "r.csv", "--target", "y", "--score", "score_*", "--output", out)
    assert res.exit_code == 0, res.stderr
    assert "gatekit: PASS" in res.stdout
    text = out.read_text(encoding="utf-8")
    doc = yaml.safe_load(text)
    assert doc["inputs"]["task"] == "multiclass" and "positive_label" not in doc["inputs"]
    assert [r["name"] for r in doc["metrics"]] == ["accuracy", "balanced_accuracy", "roc_auc_ovr", "f1_macro"]
    pred = np.array(classes)[p.argmax(axis=1)]
    assert _now(text, "accuracy") == pytest.approx(accuracy_score(y, pred), abs=5e-5)
    assert _now(text, "balanced_accuracy") == pytest.approx(balanced_accuracy_score(y, pred), abs=5e-5)
    assert _now(text, "roc_auc_ovr") == pytest.approx(auc(y, p, multi_class="ovr", labels=classes), abs=5e-5)
    assert _now(text, "f1_macro") == pytest.approx(f1_score(y, pred, average="macro"), abs=5e-5)
    res = _cli("init", tmp_path / "r.csv", "--target", "y", "--task", "multiclass", "--output", tmp_path / "q.yaml",
               "--no-check")
    assert res.exit_code == 0, res.stderr
    assert yaml.safe_load((tmp_path / "q.yaml").read_text(encoding="utf-8"))["inputs"]["task"] == "multiclass"
