"""The canary section (two arms of a traffic log, unpaired) and the shadow metrics (two models, same rows).

Expected values are computed independently: by hand, or by calling scikit-learn, numpy and scipy directly
on the rows. The unpaired interval is recomputed by a plain loop over the same stratified draws
(:func:`gatekit.stats.intervals.stratified_index_batches`, seeded by the children of ``SeedSequence(seed)`` as
``bootstrap_statistic`` documents) calling ``roc_auc_score`` on each resample.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import sklearn.metrics as skm
from scipy.stats import ks_2samp, norm

import gatekit
from gatekit.core.errors import InputError, PolicyError
from gatekit.core.results import Decision, GateReport, Status
from gatekit.metrics import EvalData, default_registry
from gatekit.policy.loader import load_policy
from gatekit.policy.specs import MetricRule
from gatekit.sections.base import Observation
from gatekit.sections.comparison import Side, interval_for
from gatekit.stats.intervals import stratified_index_batches
from tests.conftest import run_cli

REG = default_registry()


def _only(report: GateReport) -> Any:
    assert len(report.checks) == 1, [c.name for c in report.checks]
    return report.checks[0]


# --------------------------------------------------------------------------------------------------
# Canary
# --------------------------------------------------------------------------------------------------


def write_log(path: Path, n: int = 300, mu_candidate: float = 1.6, mu_production: float = 1.0, seed: int = 1,
              prevalence: float = 0.35) -> pd.DataFrame:
    """A traffic log with binormal scores per arm (arm, y, score), rows of the two arms interleaved."""
    rng = np.random.default_rng(seed)
    parts = []
    for arm, mu in (("candidate", mu_candidate), ("production", mu_production)):
        y = (rng.random(n) < prevalence).astype(int)
        parts.append(pd.DataFrame({"arm": arm, "y": y, "score": np.round(mu * y + rng.standard_normal(n), 4)}))
    frame = pd.concat(parts).sample(frac=1.0, random_state=seed).reset_index(drop=True)
    frame.to_csv(path, index=False)
    return pd.read_csv(path)


def canary_policy(log: Path, rules: list[dict[str, Any]], strict: bool = True, **spec: Any) -> dict[str, Any]:
    return {"version": 1, "strict": strict,
            "canary": {"data": str(log), "target": "y", "score": "score", "rules": rules, **spec}}


@pytest.fixture(scope="module")
def log(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, pd.DataFrame]:
    path = tmp_path_factory.mktemp("canary") / "traffic.csv"
    return path, write_log(path)


def _auc(frame: pd.DataFrame, arm: str) -> float:
    part = frame[frame.arm == arm]
    return float(skm.roc_auc_score(part.y, part.score))


def test_canary_point_change_is_the_difference_of_the_arms_aucs(log: tuple[Path, pd.DataFrame]) -> None:
    path, frame = log
    report = gatekit.run(canary_policy(path, [{"name": "auc_roc", "max_drop": 0.01}]))
    check = _only(report)
    c, b = _auc(frame, "candidate"), _auc(frame, "production")
    assert c > b
    assert check.name == "auc_roc canary vs production" and check.section == "rollout"
    assert check.observed == pytest.approx(c - b, abs=1e-12)
    assert check.details["comparison"]["candidate"] == pytest.approx(c, abs=1e-12)
    assert check.details["comparison"]["baseline"] == pytest.approx(b, abs=1e-12)
    assert check.status == Status.PASS and check.margin == pytest.approx(c - b + 0.01, abs=1e-12)
    assert report.decision == Decision.PASS
    info = check.details["canary"]
    assert (info["rows_candidate"], info["rows_baseline"], info["rows_in_neither_arm"]) == (300, 300, 0)
    assert info["positives_candidate"] == int(frame[frame.arm == "candidate"].y.sum())


def test_canary_relative_change_in_percent(log: tuple[Path, pd.DataFrame]) -> None:
    path, frame = log
    c, b = _auc(frame, "candidate"), _auc(frame, "production")
    # roles swapped: production is the arm called "candidate" in the policy, so the change is negative
    check = _only(gatekit.run(canary_policy(path, [{"name": "roc_auc", "max_drop_pct": 5}],
                                            candidate_arm="production", baseline_arm="candidate")))
    expected = 100 * (b - c) / abs(c)
    assert check.observed == pytest.approx(expected, abs=1e-10)
    assert check.status == (Status.PASS if expected >= -5 else Status.FAIL)
    assert check.status == Status.FAIL


def _plain_unpaired_interval(frame: pd.DataFrame, resamples: int, seed: int, confidence: float) -> tuple[float, float]:
    """Percentile interval of AUC(candidate arm) - AUC(production arm), each arm resampled on its own."""
    children = np.random.SeedSequence(seed).spawn(2)
    per_arm = []
    for arm, child in zip(("candidate", "production"), children, strict=True):
        part = frame[frame.arm == arm]
        y, s = part.y.to_numpy(), part.score.to_numpy()
        aucs = [skm.roc_auc_score(y[idx], s[idx]) for block in stratified_index_batches(y, resamples, child)
                for idx in block]
        per_arm.append(np.array(aucs))
    diffs = per_arm[0] - per_arm[1]
    alpha = 1 - confidence
    low, high = np.quantile(diffs, [alpha / 2, 1 - alpha / 2])
    return float(low), float(high)


def test_canary_interval_is_the_unpaired_percentile_bootstrap(log: tuple[Path, pd.DataFrame]) -> None:
    path, frame = log
    rule = {"name": "roc_auc", "max_drop": 0.02, "confidence": 0.9, "resamples": 300, "seed": 11}
    check = _only(gatekit.run(canary_policy(path, [rule])))
    iv = check.details["interval"]
    low, high = _plain_unpaired_interval(frame, 300, 11, 0.9)
    assert (iv["low"], iv["high"]) == pytest.approx((low, high), abs=1e-12)
    assert iv["paired"] is False and iv["samples"] == 2 and iv["seed"] == 11 and iv["resamples"] == 300
    assert "unpaired" in iv["scheme"]
    assert check.status == (Status.PASS if high >= -0.02 else Status.FAIL)


def test_canary_interval_is_reproducible_and_follows_the_seed(log: tuple[Path, pd.DataFrame]) -> None:
    path, _ = log

    def bounds(seed: int) -> tuple[float, float]:
        rule = {"name": "roc_auc", "max_drop": 0.02, "confidence": 0.95, "resamples": 500, "seed": seed}
        iv = _only(gatekit.run(canary_policy(path, [rule]))).details["interval"]
        return iv["low"], iv["high"]

    first = bounds(5)
    assert bounds(5) == first  # exactly: the same seed, the same decision
    other = bounds(6)
    assert other != first
    assert other == pytest.approx(first, abs=0.03)  # a different draw of the same interval


def test_too_few_rows_per_arm_is_not_computable_and_blocks(log: tuple[Path, pd.DataFrame]) -> None:
    path, _ = log
    rules = [{"name": "roc_auc", "max_drop": 0.01}, {"name": "accuracy", "within": 0.05, "on_fail": "warn"}]
    report = gatekit.run(canary_policy(path, rules, min_rows_per_arm=301))
    assert [c.status for c in report.checks] == [Status.NOT_COMPUTABLE, Status.NOT_COMPUTABLE]
    assert "candidate arm 300" in report.checks[0].message and "production arm 300" in report.checks[0].message
    assert report.decision == Decision.BLOCK
    lenient = gatekit.run(canary_policy(path, rules, strict=False, min_rows_per_arm=301))
    assert lenient.decision == Decision.WARN
    assert _only(gatekit.run(canary_policy(path, rules[:1], min_rows_per_arm=300))).status == Status.PASS


def _with(frame: pd.DataFrame, path: Path, edit: Any) -> Path:
    out = edit(frame.copy())
    out.to_csv(path, index=False)
    return path


def test_canary_input_errors_name_the_column(log: tuple[Path, pd.DataFrame], tmp_path: Path) -> None:
    _, frame = log
    rule = [{"name": "roc_auc", "max_drop": 0.01}]

    # an arm value no row has
    with pytest.raises(InputError) as err:
        gatekit.run(canary_policy(_with(frame, tmp_path / "a.csv", lambda f: f), rule, candidate_arm="canary"))
    assert err.value.problems[0].key == "arm" and "'canary'" in str(err.value)

    # a missing outcome
    def no_outcome(f: pd.DataFrame) -> pd.DataFrame:
        f["y"] = f["y"].astype(float)
        f.loc[7, "y"] = np.nan
        return f

    with pytest.raises(InputError) as err:
        gatekit.run(canary_policy(_with(frame, tmp_path / "b.csv", no_outcome), rule))
    assert err.value.problems[0].key == "y" and "no outcome" in str(err.value) and "[7]" in str(err.value)

    # missing columns: the score, the arm, the outcome
    for dropped, role in (("score", "score"), ("arm", "arm"), ("y", "target")):
        with pytest.raises(InputError) as err:
            gatekit.run(canary_policy(_with(frame, tmp_path / f"c_{dropped}.csv", lambda f, c=dropped: f.drop(
                columns=c)), rule))
        assert err.value.problems[0].key == role and f"{role} column '{dropped}' not found" in str(err.value)


def test_rows_of_another_arm_are_counted_not_compared(log: tuple[Path, pd.DataFrame], tmp_path: Path) -> None:
    _, frame = log
    extra = pd.DataFrame({"arm": "shadow", "y": [1, 0, 1], "score": [0.1, 0.9, 0.2]})
    path = _with(frame, tmp_path / "three_arms.csv", lambda f: pd.concat([f, extra]))
    check = _only(gatekit.run(canary_policy(path, [{"name": "roc_auc", "max_drop": 0.01}])))
    assert check.details["canary"]["rows_in_neither_arm"] == 3
    assert check.observed == pytest.approx(_auc(frame, "candidate") - _auc(frame, "production"), abs=1e-12)


def test_a_row_without_an_arm_value_is_refused(log: tuple[Path, pd.DataFrame], tmp_path: Path) -> None:
    _, frame = log

    def blank_arm(f: pd.DataFrame) -> pd.DataFrame:
        f.loc[3, "arm"] = np.nan
        return f

    with pytest.raises(InputError) as err:
        gatekit.run(canary_policy(_with(frame, tmp_path / "blank.csv", blank_arm),
                                  [{"name": "roc_auc", "max_drop": 0.01}]))
    assert err.value.problems[0].key == "arm"


def test_canary_log_flag_of_the_cli(tmp_path: Path) -> None:
    better, worse = tmp_path / "better.csv", tmp_path / "worse.csv"
    fb = write_log(better, mu_candidate=1.6, mu_production=1.0, seed=2)
    fw = write_log(worse, mu_candidate=0.8, mu_production=1.4, seed=3)
    assert _auc(fb, "candidate") - _auc(fb, "production") >= -0.01
    assert _auc(fw, "candidate") - _auc(fw, "production") < -0.01
    (tmp_path / "policy.yaml").write_text(
        "version: 1\n"
        "canary:\n"
        "  data: not_there.csv\n"  # replaced by --canary-log
        "  target: y\n"
        "  score: score\n"
        "  rules:\n"
        "    - name: roc_auc\n"
        "      max_drop: 0.01\n", encoding="utf-8")
    broken = _with(fb, tmp_path / "broken.csv", lambda f: f.rename(columns={"score": "p"}))
    codes = {}
    for name, log_file in (("pass", better), ("block", worse), ("invalid", broken)):
        res = run_cli("run", "policy.yaml", "--canary-log", str(log_file), "--out", str(tmp_path / name), "-q",
                      cwd=tmp_path)
        codes[name] = res.returncode
        if name == "invalid":
            assert "'score' not found" in res.stderr, res.stderr
    assert codes == {"pass": 0, "block": 1, "invalid": 2}


@pytest.mark.slow
def test_unpaired_canary_interval_covers_a_known_auc_difference() -> None:
    """400 simulated canaries with a known AUC difference; the 95 % interval must cover it 93-97 % of the time.

    Binormal scores per arm: score ~ N(mu y, 1), prevalence 0.3, 500 rows per arm; true AUC = Phi(mu / sqrt 2),
    so the true difference is known exactly. The interval is the canary rule's own (interval_for, unpaired,
    1000 resamples, a different seed per simulation).
    """
    res = REG.resolve("roc_auc")
    mc, mb, n, sims = 1.2, 0.9, 500, 400
    truth = norm.cdf(mc / np.sqrt(2)) - norm.cdf(mb / np.sqrt(2))
    rng = np.random.default_rng(7)
    covered = 0
    t0 = time.perf_counter()
    for s in range(sims):
        sides, aucs = [], []
        for mu, label in ((mc, "canary arm"), (mb, "production arm")):
            y = (rng.random(n) < 0.3).astype(int)
            data = EvalData(y_true=y, y_score=mu * y + rng.standard_normal(n), task="classification")
            auc = float(skm.roc_auc_score(y, data.y_score))
            aucs.append(auc)
            sides.append(Side(Observation(auc, "ok", source="computed"), data, label))
        rule = MetricRule(name="roc_auc", max_drop=0.05, confidence=0.95, resamples=1000, seed=s)
        iv = interval_for(rule, res, {}, sides[0], sides[1], False, aucs[0] - aucs[1])
        assert iv.details["samples"] == 2 and iv.details["paired"] is False
        covered += iv.low <= truth <= iv.high
    coverage = covered / sims
    print(f"unpaired canary interval: coverage {coverage:.3f} of a true difference {truth:.4f} "
          f"({sims} simulations, {time.perf_counter() - t0:.1f} s)")
    assert 0.93 <= coverage <= 0.97, coverage


# --------------------------------------------------------------------------------------------------
# Shadow metrics
# --------------------------------------------------------------------------------------------------

# ten rows worked by hand; labels at 0.5: candidate 1 0 1 1 0 0 1 0 1 0, production 1 0 0 1 0 0 1 0 1 1
HAND = pd.DataFrame({
    "y": [1, 0, 1, 0, 1, 0, 1, 0, 1, 0],
    "cand": [0.9, 0.2, 0.6, 0.55, 0.4, 0.1, 0.8, 0.3, 0.7, 0.45],
    "prod": [0.8, 0.3, 0.4, 0.6, 0.45, 0.1, 0.7, 0.35, 0.95, 0.5],
})
SHADOW = ("prediction_agreement_rate", "mean_score_difference", "abs_score_difference_p95", "score_distribution_ks")


def shadow_policy(path: Path, baseline: dict[str, Any] | None = None, rules: list[dict[str, Any]] | None = None,
                  **inputs: Any) -> dict[str, Any]:
    spec: dict[str, Any] = {"data": str(path), "target": "y", "score": "cand", **inputs}
    if baseline is not None:
        spec["baseline"] = baseline
    return {"version": 1, "inputs": spec,
            "metrics": rules or [{"name": n, "op": ">=", "value": -1.0} for n in SHADOW]}


def _by_name(report: GateReport) -> dict[str, Any]:
    return {c.name: c for c in report.checks}


def test_shadow_metrics_by_hand(tmp_path: Path) -> None:
    path = tmp_path / "hand.csv"
    HAND.to_csv(path, index=False)
    checks = _by_name(gatekit.run(shadow_policy(path, {"score": "prod"})))
    assert {c.section for c in checks.values()} == {"rollout"}
    # rows 2 (0.6 vs 0.4) and 9 (0.45 vs 0.5, production's 0.5 is >= 0.5) disagree: 8 of 10 agree
    agree = checks["prediction_agreement_rate"]
    assert agree.observed == pytest.approx(0.8)
    assert agree.details["candidate_positive_production_negative"] == 1
    assert agree.details["candidate_negative_production_positive"] == 1
    # c - b = .1 -.1 .2 -.05 -.05 0 .1 -.05 -.25 -.05: sum -0.15
    assert checks["mean_score_difference"].observed == pytest.approx(-0.015)
    # |c - b| sorted: 0 .05 .05 .05 .05 .1 .1 .1 .2 .25; linear p95 at position 0.95 * 9 = 8.55:
    # 0.2 + 0.55 * (0.25 - 0.2) = 0.2275
    assert checks["abs_score_difference_p95"].observed == pytest.approx(0.2275)
    # empirical CDFs: the candidate leads by 1/10 at 0.2 and 0.3, production by 1/10 at 0.5, the candidate
    # by 1/10 at 0.9; they never differ by more
    assert checks["score_distribution_ks"].observed == pytest.approx(0.1)


@pytest.fixture(scope="module")
def scored(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, pd.DataFrame]:
    rng = np.random.default_rng(30)
    n = 500
    y = (rng.random(n) < 0.4).astype(int)
    z = rng.standard_normal(n)
    cand = np.round(1 / (1 + np.exp(-(1.5 * y + z - 0.6))), 4)
    prod = np.round(1 / (1 + np.exp(-(1.2 * y + 0.8 * z + 0.4 * rng.standard_normal(n) - 0.4))), 4)
    path = tmp_path_factory.mktemp("shadow") / "scored.csv"
    pd.DataFrame({"y": y, "cand": cand, "prod": prod}).to_csv(path, index=False)
    return path, pd.read_csv(path)


def test_shadow_metrics_against_numpy_and_scipy(scored: tuple[Path, pd.DataFrame]) -> None:
    path, f = scored
    c, b = f.cand.to_numpy(), f["prod"].to_numpy()
    checks = _by_name(gatekit.run(shadow_policy(path, {"score": "prod"})))
    assert checks["prediction_agreement_rate"].observed == pytest.approx(np.mean((c >= 0.5) == (b >= 0.5)), abs=1e-12)
    assert checks["mean_score_difference"].observed == pytest.approx(np.mean(c - b), abs=1e-12)
    assert checks["abs_score_difference_p95"].observed == pytest.approx(
        np.quantile(np.abs(c - b), 0.95, method="linear"), abs=1e-12)
    ks = ks_2samp(c, b)
    assert checks["score_distribution_ks"].observed == pytest.approx(ks.statistic, abs=1e-12)
    assert checks["score_distribution_ks"].details["p_value"] == pytest.approx(ks.pvalue, rel=1e-9)
    # the threshold parameter applies to both models' scores
    t = _by_name(gatekit.run(shadow_policy(path, {"score": "prod"}, rules=[
        {"name": "prediction_agreement_rate", "op": ">=", "value": 0.5, "params": {"threshold": 0.3}}])))
    assert t["prediction_agreement_rate"].observed == pytest.approx(np.mean((c >= 0.3) == (b >= 0.3)), abs=1e-12)


def test_shadow_agreement_with_a_baseline_prediction_column(scored: tuple[Path, pd.DataFrame], tmp_path: Path) -> None:
    _, f = scored
    path = tmp_path / "labels.csv"
    f.assign(prod_label=(f["prod"] >= 0.5).astype(int)).to_csv(path, index=False)
    report = gatekit.run(shadow_policy(path, {"prediction": "prod_label"}, rules=[
        {"name": "prediction_agreement_rate", "op": ">=", "value": 0.5},
        {"name": "mean_score_difference", "op": "<=", "value": 1.0}]))
    checks = _by_name(report)
    assert checks["prediction_agreement_rate"].observed == pytest.approx(
        np.mean((f.cand >= 0.5) == (f["prod"] >= 0.5)), abs=1e-12)
    assert checks["mean_score_difference"].status == Status.NOT_COMPUTABLE  # labels have no score to compare


def test_shadow_metrics_without_a_baseline_are_not_computable(scored: tuple[Path, pd.DataFrame]) -> None:
    path, _ = scored
    report = gatekit.run(shadow_policy(path))
    assert {c.name: c.status for c in report.checks} == dict.fromkeys(SHADOW, Status.NOT_COMPUTABLE)
    assert all("production model" in c.message for c in report.checks)
    assert report.decision == Decision.BLOCK


def test_agreement_rule_with_confidence_has_a_bootstrap_interval(scored: tuple[Path, pd.DataFrame]) -> None:
    path, f = scored
    y = f.y.to_numpy()
    agree = ((f.cand >= 0.5) == (f["prod"] >= 0.5)).to_numpy().astype(float)
    rule = {"name": "prediction_agreement_rate", "op": ">=", "value": 0.8, "confidence": 0.9, "resamples": 600,
            "seed": 3}
    check = _only(gatekit.run(shadow_policy(path, {"score": "prod"}, rules=[rule])))
    # the rows' agreement on each stratified resample, by a plain loop over the same draws
    values = [agree[idx].mean() for block in stratified_index_batches(y, 600, 3) for idx in block]
    low, high = np.quantile(values, [0.05, 0.95])
    iv = check.details["interval"]
    assert (iv["low"], iv["high"]) == pytest.approx((low, high), abs=1e-12)
    assert iv["low"] < agree.mean() < iv["high"]
    assert check.observed == pytest.approx(agree.mean(), abs=1e-12)
    assert check.status == (Status.PASS if low >= 0.8 else Status.FAIL)


def test_agreement_of_a_regression_is_not_computable(tmp_path: Path) -> None:
    rng = np.random.default_rng(4)
    y = rng.normal(10, 2, 50)
    path = tmp_path / "reg.csv"
    pd.DataFrame({"y": y, "cand": y + rng.normal(0, 1, 50), "prod": y + rng.normal(0, 1, 50)}).to_csv(path,
                                                                                                      index=False)
    f = pd.read_csv(path)
    checks = _by_name(gatekit.run(shadow_policy(path, {"score": "prod"}, rules=[
        {"name": "prediction_agreement_rate", "op": ">=", "value": 0.5},
        {"name": "abs_score_difference_p95", "op": "<=", "value": 10.0}])))
    assert checks["prediction_agreement_rate"].status == Status.NOT_COMPUTABLE
    assert checks["abs_score_difference_p95"].observed == pytest.approx(
        np.quantile(np.abs(f.cand - f["prod"]), 0.95), abs=1e-12)


def test_shadow_metrics_need_no_target(scored: tuple[Path, pd.DataFrame]) -> None:
    path, f = scored
    agree = ((f.cand >= 0.5) == (f["prod"] >= 0.5)).to_numpy().astype(float)
    policy = {"version": 1, "inputs": {"data": str(path), "score": "cand", "baseline": {"score": "prod"}},
              "metrics": [{"name": "prediction_agreement_rate", "op": ">=", "value": 0.5, "confidence": 0.95,
                           "resamples": 400, "seed": 2},
                          {"name": "mean_score_difference", "op": "<=", "value": 1.0},
                          {"name": "roc_auc", "op": ">=", "value": 0.5, "on_fail": "warn"}]}
    report = gatekit.run(policy)
    checks = _by_name(report)
    check = checks["prediction_agreement_rate"]
    assert check.observed == pytest.approx(agree.mean(), abs=1e-12)
    # without outcomes the rows form one stratum
    values = [agree[idx].mean() for block in stratified_index_batches(np.zeros(len(f), int), 400, 2) for idx in block]
    low, high = np.quantile(values, [0.025, 0.975])
    iv = check.details["interval"]
    assert (iv["low"], iv["high"]) == pytest.approx((low, high), abs=1e-12)
    assert iv["stratified"] is False
    assert checks["mean_score_difference"].observed == pytest.approx(np.mean(f.cand - f["prod"]), abs=1e-12)
    assert checks["roc_auc"].status == Status.NOT_COMPUTABLE  # needs the outcomes
    assert report.decision == Decision.WARN


def test_rules_differing_only_in_guardband_share_one_interval(tmp_path: Path) -> None:
    rng = np.random.default_rng(5)
    n = 400
    y = rng.integers(0, 2, n)
    pd.DataFrame({"y": y, "c": np.clip(0.5 * y + 0.5 * rng.random(n), 0, 1),
                  "b": np.clip(0.4 * y + 0.6 * rng.random(n), 0, 1)}).to_csv(tmp_path / "d.csv", index=False)
    policy = {"version": 1, "inputs": {"data": str(tmp_path / "d.csv"), "target": "y", "score": "c",
                                       "baseline": {"score": "b"}},
              "metrics": [{"name": "auc_roc", "max_drop": 0.01, "confidence": 0.95, "guardband": g, "on_fail": f}
                          for g, f in (("proven_harm", "block"), ("proven_safe", "warn"))]}
    harm, safe = gatekit.run(policy).checks
    assert harm.details["interval"] == safe.details["interval"]
    # the same interval, decided two ways: harm fails only below the limit, safety passes only above it
    low, high = harm.details["interval"]["low"], harm.details["interval"]["high"]
    assert (harm.status == Status.PASS) == (high >= -0.01)
    assert (safe.status == Status.PASS) == (low >= -0.01)


def test_shadow_score_metrics_refuse_scores_outside_probabilities(tmp_path: Path) -> None:
    pd.DataFrame({"y": [0, 1] * 20, "c": [0.2, 0.8] * 20, "b": [20.0, 80.0] * 20}).to_csv(tmp_path / "d.csv",
                                                                                      index=False)
    policy = {"version": 1, "inputs": {"data": str(tmp_path / "d.csv"), "target": "y", "score": "c",
                                       "baseline": {"score": "b"}},
              "metrics": [{"name": "mean_score_difference", "op": "<=", "value": 0.1}]}
    check = gatekit.run(policy).checks[0]
    assert check.status == Status.NOT_COMPUTABLE and "percent" in check.message


def test_canary_arms_given_as_numbers_match_numeric_arm_values(tmp_path: Path) -> None:
    rng = np.random.default_rng(9)
    n = 600
    arm = rng.integers(0, 2, n)
    y = rng.integers(0, 2, n)
    s = np.clip(0.5 * y + 0.5 * rng.random(n), 0, 1)
    pd.DataFrame({"arm": arm, "y": y, "s": s}).to_csv(tmp_path / "log.csv", index=False)
    policy = {"version": 1, "canary": {"data": str(tmp_path / "log.csv"), "target": "y", "score": "s",
                                       "candidate_arm": 1, "baseline_arm": "0",
                                       "rules": [{"name": "auc_roc", "max_drop": 0.5}]}}
    check = gatekit.run(policy).checks[0]
    expected = skm.roc_auc_score(y[arm == 1], s[arm == 1]) - skm.roc_auc_score(y[arm == 0], s[arm == 0])
    assert check.observed == pytest.approx(expected, abs=1e-12)


@pytest.mark.parametrize("name", ["latency_p95_ms", "prediction_agreement_rate"])
def test_canary_rules_on_metrics_arms_cannot_give_are_refused(name: str) -> None:
    policy = {"version": 1, "canary": {"data": "log.csv", "target": "y", "score": "s",
                                       "rules": [{"name": name, "max_increase": 1}]}}
    with pytest.raises(PolicyError, match="cannot be compared between canary arms"):
        load_policy(policy)


def test_python_api_takes_the_cli_name_canary_log(tmp_path: Path) -> None:
    rng = np.random.default_rng(4)
    n = 400
    arm = np.where(rng.random(n) < 0.5, "candidate", "production")
    y = rng.integers(0, 2, n)
    s = np.clip(0.5 * y + 0.5 * rng.random(n), 0, 1)
    pd.DataFrame({"arm": arm, "y": y, "s": s}).to_csv(tmp_path / "log.csv", index=False)
    policy = {"version": 1, "canary": {"data": str(tmp_path / "missing.csv"), "target": "y", "score": "s",
                                       "rules": [{"name": "auc_roc", "max_drop": 0.5, "confidence": 0.9}]}}
    check = gatekit.run(policy, canary_log=str(tmp_path / "log.csv")).checks[0]
    expected = (skm.roc_auc_score(y[arm == "candidate"], s[arm == "candidate"])
                - skm.roc_auc_score(y[arm == "production"], s[arm == "production"]))
    assert check.observed == pytest.approx(expected, abs=1e-12)


def test_terminal_table_shows_the_interval_a_rule_was_decided_on(tmp_path: Path) -> None:
    from rich.console import Console

    from gatekit.report.terminal import print_summary

    rng = np.random.default_rng(6)
    n = 300
    y = rng.integers(0, 2, n)
    pd.DataFrame({"y": y, "c": np.clip(0.5 * y + 0.5 * rng.random(n), 0, 1),
                  "b": np.clip(0.5 * y + 0.5 * rng.random(n), 0, 1)}).to_csv(tmp_path / "d.csv", index=False)
    policy = {"version": 1, "inputs": {"data": str(tmp_path / "d.csv"), "target": "y", "score": "c",
                                       "baseline": {"score": "b"}},
              "metrics": [{"name": "auc_roc", "max_drop_pct": 1, "confidence": 0.95}]}
    report = gatekit.run(policy)
    iv = report.checks[0].details["interval"]
    console = Console(record=True, width=200, color_system=None)
    print_summary(report, {}, console)
    text = console.export_text()
    assert "drop at most 1 %" in text and "proven_harm" in text
    assert f"CI [{iv['low']:.4g}" in text
