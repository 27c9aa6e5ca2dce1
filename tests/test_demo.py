"""The main job on real data: `gatekit demo` trains, scores, gates and writes both reports."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy.stats import norm
from sklearn.metrics import mean_absolute_percentage_error, roc_auc_score

from tests.helpers import run_cli

STATUSES = {"pass", "fail", "error", "not_computable", "skipped"}


def test_demo_writes_both_reports_with_real_values(demo_root: Path) -> None:
    proc = run_cli("demo", "--root", str(demo_root))
    assert proc.returncode == 0, proc.stderr
    for name in ("loan_approval", "demand_forecast"):
        out = demo_root / "reports" / "demo" / name
        report = json.loads((out / "gate_report.json").read_text())
        assert report["decision"] in {"pass", "warn", "block"}
        assert report["checks"], name
        for c in report["checks"]:
            assert c["status"] in STATUSES
            for key in ("name", "section", "on_fail", "observed", "op", "threshold", "message"):
                assert key in c
        html = (out / "gate_report.html").read_text()
        assert report["decision"].upper() in html
        assert "http://" not in html and "https://" not in html

    # The loan report's AUC is the held-out AUC of the saved model, recomputed here independently.
    import skops.io as sio

    art = demo_root / "reports" / "demo" / "artifacts"
    hold = pd.read_csv(art / "hmda_holdout.csv")
    path = art / "hmda_candidate.skops"
    model = sio.load(path, trusted=sio.get_untrusted_types(file=path) or None)
    proba = model.predict_proba(hold[list(model.feature_names_in_)])[:, list(model.classes_).index("yes")]
    expected_auc = roc_auc_score((hold["deny"] == "yes").astype(int), proba)
    loan = json.loads((demo_root / "reports/demo/loan_approval/gate_report.json").read_text())
    auc = next(c for c in loan["checks"] if c["name"] == "auc_roc")
    assert auc["source"] == "computed"
    assert abs(auc["observed"] - expected_auc) < 1e-12
    assert 0.6 < auc["observed"] < 0.95  # a real model on real data, not a constant
    # the slice rule: ROC AUC per loan-to-value band, each band's AUC recomputed on its held-out rows
    band = next(c for c in loan["checks"] if c["section"] == "slices")
    y_hold = (hold["deny"] == "yes").astype(int)
    low = (hold["lvrat"] < 0.8).to_numpy()
    by_band = {s["slice"]: s for s in band["details"]["slices"]}
    assert abs(by_band["[0, 0.8)"]["value"] - roc_auc_score(y_hold[low], proba[low])) < 1e-12
    high = by_band["[0.95, inf)"]
    assert high["rows"] == int((hold["lvrat"] >= 0.95).sum()) and not high["counted"]  # too few: listed only
    assert band["status"] == "pass" and abs(band["observed"] - (expected_auc - by_band["[0, 0.8)"]["value"])) < 1e-9

    dem = pd.read_csv(art / "elecdemand_holdout.csv")
    demand = json.loads((demo_root / "reports/demo/demand_forecast/gate_report.json").read_text())
    mape = next(c for c in demand["checks"] if c["name"] == "mape")
    expected_mape = 100 * mean_absolute_percentage_error(dem["Demand"], dem["forecast"])
    assert np.isclose(mape["observed"], expected_mape, rtol=1e-9)
    assert len(dem) == 61 * 48  # November and December, half-hourly

    _check_rollout_reports(demo_root, art, hold, proba)
    _check_glass(demo_root, art)
    _check_history(loan, mini_policy=demo_root / "policies" / "seed_mini_challenge.yaml")

    # the ONNX export, run by onnxruntime, ranks the held-out rows as the skops model does
    serving = json.loads((demo_root / "reports/demo/loan_serving/gate_report.json").read_text())
    onnx_auc = next(c for c in serving["checks"] if c["name"] == "auc_roc")
    assert abs(onnx_auc["observed"] - expected_auc) < 1e-6  # float32 graph vs float64 scikit-learn
    p99 = next(c for c in serving["checks"] if c["name"] == "latency_p99_ms")
    assert p99["details"]["samples_per_round"] == [2000] * 5 and p99["details"]["model_kind"] == "onnx"
    by_name = {c["name"]: c for c in serving["checks"]}
    assert by_name["model_signature"]["status"] == "pass"  # the release job's signature over the ONNX file
    # the export returns NaN for a missing numeric input (checked here with onnxruntime directly)
    from gatekit.model.onnx import OnnxModel

    onnx_model = OnnxModel((art / "hmda_candidate.onnx").read_bytes())
    row = hold[list(onnx_model.feature_names_in_)].iloc[[0]].copy()
    row["pirat"] = np.nan
    nan_out = bool(np.isnan(onnx_model.predict_proba(row)).any())
    assert (by_name["out_of_range.missing"]["status"] == "fail") == nan_out
    assert serving["decision"] == ("warn" if nan_out else "pass")
    demand_run = {c["name"]: c for c in demand["checks"]}
    assert demand_run["model_signature"]["status"] == "pass"
    assert demand_run["latency_p95_ms"]["details"]["model_kind"] == "sklearn"


def _check_rollout_reports(demo_root: Path, art: Path, hold: pd.DataFrame, cand: np.ndarray) -> None:
    """The mini challenge and project 2 report figures recomputed from the artifacts with sklearn/fairlearn."""
    import skops.io as sio
    from fairlearn.metrics import demographic_parity_difference

    path = art / "hmda_production.skops"
    prod_model = sio.load(path, trusted=sio.get_untrusted_types(file=path) or None)
    prod = prod_model.predict_proba(hold[list(prod_model.feature_names_in_)])[:, 1]
    y = (hold["deny"] == "yes").astype(int).to_numpy()
    mini = json.loads((demo_root / "reports/demo/seed_mini_challenge/gate_report.json").read_text())
    checks = {(c["name"], c["on_fail"]): c for c in mini["checks"]}
    auc = checks[("auc_roc vs baseline", "block")]
    assert np.isclose(auc["observed"], roc_auc_score(y, cand) - roc_auc_score(y, prod), atol=1e-12)
    iv = auc["details"]["interval"]
    assert iv["resamples"] == 2000 and iv["seed"] == 20261129 and iv["low"] < auc["observed"] < iv["high"]
    assert auc["details"]["guardband"] == "proven_harm"
    pct = checks[("auc_roc vs baseline", "warn")]
    expected_pct = 100 * (roc_auc_score(y, cand) - roc_auc_score(y, prod)) / roc_auc_score(y, prod)
    assert np.isclose(pct["observed"], expected_pct, atol=1e-9)
    dp = next(c for c in mini["checks"] if c["metric"] == "demographic_parity_difference")
    change = (demographic_parity_difference(y, (cand >= 0.5).astype(int), sensitive_features=hold["afam"])
              - demographic_parity_difference(y, (prod >= 0.5).astype(int), sensitive_features=hold["afam"]))
    assert np.isclose(dp["observed"], change, atol=1e-12)
    assert dp["status"] == ("fail" if abs(change) > 0.05 else "pass")
    latency = next(c for c in mini["checks"] if c["metric"] == "latency_p95_ms")
    cand_lat, prod_lat = latency["details"]["candidate_details"], latency["details"]["baseline_details"]
    assert cand_lat["samples_per_round"] == prod_lat["samples_per_round"] == [400] * 5
    assert cand_lat["percentile_method"] == "nearest_rank"
    cmp = latency["details"]["comparison"]
    # the change per interleaved round pair (candidate round i - production round i), and its median
    pairs = [c - b for c, b in zip(cand_lat["rounds"]["values"], prod_lat["rounds"]["values"], strict=True)]
    assert np.allclose(cmp["per_round"], pairs) and np.isclose(latency["observed"], np.median(pairs))
    assert 0 < cand_lat["min_ms"] <= cmp["candidate"] <= cand_lat["max_ms"]  # an observed latency (nearest rank)
    agree = next(c for c in mini["checks"] if c["metric"] == "prediction_agreement_rate")
    assert np.isclose(agree["observed"], np.mean((cand >= 0.5) == (prod >= 0.5)))
    blocking = any(c["status"] != "pass" and c["on_fail"] == "block" for c in mini["checks"])
    assert (mini["decision"] == "block") == blocking

    log = pd.read_csv(art / "hmda_canary_log.csv")
    assert len(log) == len(hold) and set(log["arm"]) == {"candidate", "production"}
    p2 = json.loads((demo_root / "reports/demo/seed_project_2/gate_report.json").read_text())
    canary = next(c for c in p2["checks"] if c["details"].get("rule") == "canary.rules[0]")
    arms = {a: log[log["arm"] == a] for a in ("candidate", "production")}
    expected = (roc_auc_score(arms["candidate"]["deny"] == "yes", arms["candidate"]["score"])
                - roc_auc_score(arms["production"]["deny"] == "yes", arms["production"]["score"]))
    assert np.isclose(canary["observed"], expected, atol=1e-6)  # the log stores scores to 6 decimals
    assert canary["details"]["interval"]["paired"] is False
    low, high = canary["details"]["interval"]["low"], canary["details"]["interval"]["high"]
    assert canary["status"] == ("fail" if high < -0.02 else "pass" if low >= -0.02 else "inconclusive")
    # what the 227 candidate rows can conclude: the smallest drop they show at 95 % with 80 % power, from the
    # interval's normal spread, and the log rows (at this split) that a margin of 0.02 needs
    power = canary["details"]["outcome"]["power"]
    mde = (norm.ppf(0.975) + norm.ppf(0.8)) * (high - low) / (2 * norm.ppf(0.975))
    assert power["arms"] == {"candidate": len(arms["candidate"]), "baseline": len(arms["production"])}
    assert power["mde"] == pytest.approx(mde, rel=1e-12) and power["rows"] == len(log)
    assert power["rows_needed"] == pytest.approx(len(log) * (mde / 0.02) ** 2, rel=1e-12)
    if canary["status"] == "inconclusive":  # the policy makes "insufficient data" a warning, not a pass
        assert canary["details"]["outcome"]["result"] == ("insufficient_data" if mde > 0.02 else "inconclusive")
        assert canary["on_fail"] == "warn" and "insufficient data" in canary["message"]


def test_policy_runs_alone_after_demo(demo_root: Path) -> None:
    assert run_cli("demo", "--root", str(demo_root)).returncode == 0
    proc = run_cli("run", str(demo_root / "policies" / "loan_approval.yaml"), "--out", str(demo_root / "o"))
    assert proc.returncode in (0, 1), proc.stderr
    assert (demo_root / "o" / "gate_report.json").is_file()


def test_policy_before_demo_names_the_missing_file(demo_root: Path) -> None:
    proc = run_cli("run", str(demo_root / "policies" / "loan_approval.yaml"), "--out", str(demo_root / "o"))
    assert proc.returncode == 2
    assert "hmda_holdout.csv" in proc.stderr and "not found" in proc.stderr


def _check_history(loan: dict, mini_policy: Path) -> None:
    """The demo's runs are in the history store (the tests' store: GATEKIT_HISTORY_URL, set in conftest)."""
    assert loan["metadata"]["history"]["recorded"] is True
    proc = run_cli("history", "--policy", "loan_approval", "--last", "1", "--format", "json")
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(proc.stdout)
    [pol] = doc["policies"]
    assert [r["run_id"] for r in pol["runs"]] == [loan["metadata"]["run_id"]]
    gates = {g["key"]: g for g in pol["summary"]["gates"]}
    auc = next(c for c in loan["checks"] if c["name"] == "auc_roc")
    assert gates["performance/auc_roc/>="]["observed"] == [auc["observed"]]
    assert len(gates) == len(loan["checks"])
    # the library's fairness limit came with the policy (extends) and carries its alert setting
    dp = next(c for c in loan["checks"] if c["name"] == "fairness_demographic_parity_diff")
    assert dp["details"]["rule"] == "metrics[0]"
    proc = run_cli("history", "--policy", str(mini_policy), "--format", "json")
    assert proc.returncode == 0, proc.stderr


def _check_glass(demo_root: Path, art: Path) -> None:
    """The multiclass gate on fgl: its values are scikit-learn's on the saved forest's predict_proba."""
    import skops.io as sio
    from sklearn import metrics as skm

    from gatekit.demo import GLASS_FEATURES

    report = json.loads((demo_root / "reports/demo/glass_types/gate_report.json").read_text())
    hold = pd.read_csv(art / "glass_holdout.csv")
    path = art / "glass_candidate.skops"
    model = sio.load(path, trusted=sio.get_untrusted_types(file=path))
    proba = model.predict_proba(hold[GLASS_FEATURES])
    pred = model.classes_[proba.argmax(axis=1)]
    observed = {c["name"]: c["observed"] for c in report["checks"]}
    assert observed["accuracy"] == skm.accuracy_score(hold["type"], pred)
    assert abs(observed["roc_auc_ovr"] - skm.roc_auc_score(hold["type"], proba, multi_class="ovr")) < 1e-12
    assert abs(observed["log_loss"] - skm.log_loss(hold["type"], proba, labels=model.classes_)) < 1e-12
    veh = skm.recall_score(hold["type"], pred, labels=["Veh"], average=None)[0]
    assert observed["recall[class=Veh]"] == veh
    assert set(hold["type"]) == {"WinF", "WinNF", "Veh", "Con", "Tabl", "Head"}  # every type held out
    assert report["metadata"]["inputs"]["classes"] == list(model.classes_)
