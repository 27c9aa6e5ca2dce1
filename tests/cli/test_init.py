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
