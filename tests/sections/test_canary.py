"""Tests of :mod:`gatekit.sections.canary`: the candidate's arm against production's arm, unpaired.

The unpaired interval is recomputed by a plain loop over the same stratified draws
(:func:`gatekit.stats.intervals.stratified_index_batches` on each arm's rows in the order an interval resamples
them, :func:`gatekit.metrics.weighted.counted_rows`) calling ``roc_auc_score`` on each resample.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import sklearn.metrics as skm

import gatekit
from gatekit.core.results import Decision, Status
from gatekit.stats.intervals import stratified_index_batches
from tests.helpers import _only
from tests.sections.helpers import _auc, _canary, _canary_frame, _check, canary_policy

# --------------------------------------------------------------------------------------------------
# Canary
# --------------------------------------------------------------------------------------------------


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
        # the arm's rows as an interval resamples them: sorted by target, then score (identical rows adjacent,
        # drawn as the counted row standing for them is)
        part = frame[frame.arm == arm].sort_values(["y", "score"], kind="mergesort")
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


def test_canary_interval_with_large_unequal_arms(tmp_path: Path) -> None:
    pol = _canary(tmp_path, "- {name: auc_roc, max_drop: 0.05, confidence: 0.95, resamples: 300}",
                  _canary_frame(16_000, 17_000))
    check = _check(gatekit.run(pol), "auc_roc canary vs production")
    assert check.status == Status.PASS, check.message
    assert "interval" in check.details


def test_canary_fairness_group_absent_from_one_arm_is_not_a_pass(tmp_path: Path) -> None:
    frame = _canary_frame(400, 400)
    prod_rows = frame.index[frame.arm == "production"][:30]
    frame.loc[prod_rows, "g"] = "c"
    frame.loc[prod_rows, "score"] = 0.99  # group c: everyone selected in the production arm
    pol = _canary(tmp_path, "- {name: demographic_parity_difference, max_increase: 0.05}", frame)
    check = _check(gatekit.run(pol), "demographic_parity_difference canary vs production")
    assert check.status != Status.PASS, check.message


def test_canary_small_arm_and_one_class_arm_block(tmp_path: Path) -> None:
    pol = _canary(tmp_path, "- {name: auc_roc, max_drop: 0.05, confidence: 0.95}", _canary_frame(50, 300))
    report = gatekit.run(pol)
    assert report.checks[0].status == Status.NOT_COMPUTABLE and "too few rows" in report.checks[0].message
    assert report.decision.value == "block"
    frame = _canary_frame(200, 200)
    frame.loc[frame.arm == "candidate", "y"] = 0
    report = gatekit.run(_canary(tmp_path, "- {name: auc_roc, max_drop: 0.05, confidence: 0.95}", frame))
    assert report.checks[0].status == Status.NOT_COMPUTABLE and "single class" in report.checks[0].message


def test_multiclass_canary_interval_is_the_unpaired_stratified_bootstrap(tmp_path: Path) -> None:
    """Each arm resampled on its own within its classes; recomputed here with scikit-learn on every resample.

    The rows each metric reads, gathered by pandas as an interval gathers them: log loss the distinct (class,
    probabilities) rows, F1 the confusion cells (class, predicted class) with their counts, sorted; their seeded
    draws (within each class, as many rows as it has); scikit-learn on the expanded resampled rows.
    """
    from gatekit.stats.intervals import counted_weight_batches
    from tests.data.test_canary import CLASSES, _multiclass_log, _multiclass_policy

    frame = _multiclass_log(seed=8, n_candidate=300, n_production=350)
    frame.to_csv(tmp_path / "log.csv", index=False)
    rules = [{"name": "log_loss", "max_increase": 0.0, "confidence": 0.9, "resamples": 300, "seed": 4},
             {"name": "f1_macro", "max_drop": 0.0, "confidence": 0.9, "resamples": 300, "seed": 4}]
    report = gatekit.run(_multiclass_policy(tmp_path / "log.csv", rules))
    cols = [f"score_{c}" for c in CLASSES]
    per_arm: dict[str, list[np.ndarray]] = {}
    for arm, child in zip(("candidate", "production"), np.random.SeedSequence(4).spawn(2), strict=True):
        part = frame[frame.arm == arm]
        code = pd.Categorical(part.y, categories=CLASSES).codes
        probs = pd.DataFrame({"y": code, **{c: part[c].to_numpy() for c in cols}}).groupby(
            ["y", *cols], sort=True).size().reset_index(name="w")
        cells = pd.DataFrame({"y": code, "pred": part[cols].to_numpy().argmax(axis=1)}).groupby(
            ["y", "pred"], sort=True).size().reset_index(name="w")
        values = []
        for rows, metric in ((probs, lambda y, r, d: skm.log_loss(y, np.repeat(r[cols].to_numpy(), d, axis=0),
                                                                   labels=[0, 1, 2])),
                             (cells, lambda y, r, d: skm.f1_score(y, np.repeat(r.pred.to_numpy(), d),
                                                                  average="macro"))):
            strata = np.array(CLASSES)[rows.y.to_numpy()]
            draws = np.concatenate(list(counted_weight_batches(strata, rows.w.to_numpy(), 300, child)))
            values.append(np.array([metric(np.repeat(rows.y.to_numpy(), d), rows, d) for d in draws]))
        per_arm[arm] = values
    for k, check in enumerate(report.checks):
        diffs = per_arm["candidate"][k] - per_arm["production"][k]
        low, high = np.quantile(diffs, [0.05, 0.95])
        iv = check.details["interval"]
        assert (iv["low"], iv["high"]) == pytest.approx((low, high), abs=1e-12), check.name
        assert iv["paired"] is False and iv["stratified"] is True and iv["samples"] == 2
    assert [c.status for c in report.checks] == [Status.PASS, Status.PASS]  # the candidate arm is the sharper model


def test_multiclass_canary_class_too_small_in_an_arm_is_not_computable(tmp_path: Path) -> None:
    from tests.data.test_canary import _multiclass_log, _multiclass_policy

    frame = _multiclass_log(seed=2, n_candidate=200, n_production=200)
    dogs = frame.index[(frame.arm == "candidate") & (frame.y == "dog")]
    frame = frame.drop(dogs[5:])  # 5 dogs left in the candidate arm: fewer than 10 to resample within
    frame.to_csv(tmp_path / "log.csv", index=False)
    rule = [{"name": "balanced_accuracy", "max_drop": 0.05, "confidence": 0.95, "resamples": 200}]
    check = gatekit.run(_multiclass_policy(tmp_path / "log.csv", rule)).checks[0]
    assert check.status == Status.NOT_COMPUTABLE
    assert "only 5 rows of class 'dog'" in check.message


# --- a class only production predicts: both arms' macro averages over one class set --------------------------------

def _spurious_log(seed: int = 3, n: int = 600) -> pd.DataFrame:
    """Outcomes a, b, c; the candidate arm right 70 % of the time, production 90 %; production says 'd' 5 times."""
    rng = np.random.default_rng(seed)
    parts = []
    for arm, right in (("candidate", 0.7), ("production", 0.9)):
        y = rng.choice(list("abc"), n)
        wrong = rng.random(n) > right
        pred = np.where(wrong, np.array([{"a": "b", "b": "c", "c": "a"}[v] for v in y]), y)
        if arm == "production":
            pred[np.flatnonzero(~wrong)[:5]] = "d"
        parts.append(pd.DataFrame({"arm": arm, "outcome": y, "pred": pred}))
    return pd.concat(parts, ignore_index=True)


def _union_macro(frame: pd.DataFrame, metric: str) -> tuple[float, float, list[str]]:
    labels = sorted(set(frame.outcome) | set(frame.pred))
    fn = {"f1_macro": skm.f1_score, "recall_macro": skm.recall_score, "precision_macro": skm.precision_score}[metric]
    c, b = (float(fn(part.outcome, part.pred, labels=labels, average="macro", zero_division=0))
            for _, part in (("c", frame[frame.arm == "candidate"]), ("b", frame[frame.arm == "production"])))
    return c, b, labels


@pytest.mark.parametrize("output", ["prediction", "probabilities"])
def test_canary_macro_averages_both_arms_over_one_class_set(tmp_path: Path, output: str) -> None:
    """Production predicts 'd', never an outcome: scikit-learn's default labels would give its macro average an extra
    zero term, so the worse candidate would seem to rise. Both arms average over {a, b, c, d} (hostile review k1,
    k3)."""
    frame = _spurious_log()
    if output == "probabilities":  # the predicted class's probability 0.85, the others' 0.05
        for c in "abcd":
            frame[f"score_{c}"] = np.where(frame.pred == c, 0.85, 0.05)
        out = "score: 'score_*'"
    else:
        out = "prediction: pred"
    frame.to_csv(tmp_path / "log.csv", index=False)
    (tmp_path / "p.yaml").write_text(
        f"version: 1\ncanary:\n  data: log.csv\n  target: outcome\n  {out}\n  task: multiclass\n  rules:\n"
        "    - {name: f1_macro, max_drop: 0.02}\n    - {name: recall_macro, max_drop: 0.02}\n"
        "    - {name: precision_macro, max_drop: 0.02, confidence: 0.9, resamples: 200}\n")
    report = gatekit.run(tmp_path / "p.yaml")
    for check in report.checks:
        metric = check.metric
        c, b, labels = _union_macro(frame, metric)
        comp = check.details["comparison"]
        assert (comp["candidate"], comp["baseline"]) == pytest.approx((c, b), abs=1e-12), metric
        assert check.details["candidate_details"]["labels"] == labels
        assert check.details["baseline_details"]["labels"] == labels
        assert check.status == Status.FAIL, check.message
    prod = frame[frame.arm == "production"]
    cand = frame[frame.arm == "candidate"]
    default = skm.f1_score(cand.outcome, cand.pred, average="macro") - skm.f1_score(prod.outcome, prod.pred,
                                                                                    average="macro")
    assert default > -0.02  # the default label sets would have let the f1_macro rule pass
    assert report.decision == Decision.BLOCK


# --------------------------------------------------------------------------------------------------
# Served latency (canary.latency)
# --------------------------------------------------------------------------------------------------


def _latency_log(path: Path, n: int = 2400, slower_ms: float = 30.0, seed: int = 3) -> pd.DataFrame:
    """A 50/50 log whose latencies are lognormal around 40 ms, the candidate's ``slower_ms`` slower."""
    rng = np.random.default_rng(seed)
    arm = np.where(rng.random(n) < 0.5, "candidate", "production")
    y = (rng.random(n) < 0.3).astype(int)
    score = np.clip(0.3 + 0.4 * y + rng.normal(0, 0.2, n), 0.001, 0.999).round(4)
    lat = (rng.lognormal(np.log(40), 0.4, n) + np.where(arm == "candidate", slower_ms, 0.0)).round(3)
    frame = pd.DataFrame({"t": np.arange(n), "arm": arm, "y": y, "score": score, "lat": lat})
    frame.to_csv(path, index=False)
    return frame


def _arm_latency(frame: pd.DataFrame, arm: str) -> np.ndarray:
    return frame.loc[frame.arm == arm, "lat"].to_numpy(dtype=float)


def test_canary_latency_percentiles_are_numpys_on_each_arm(tmp_path: Path) -> None:
    frame = _latency_log(tmp_path / "log.csv", n=4400)  # p99 needs 2,000 rows in each arm
    rules = [{"name": "latency_p95_ms", "max_increase": 10}, {"name": "latency_p50_ms", "max_increase": 40},
             {"name": "latency_p99_ms", "max_increase_pct": 20}, {"name": "latency_mean_ms", "within": 5}]
    report = gatekit.run(canary_policy(tmp_path / "log.csv", rules, latency="lat"))
    p95, p50, p99, mean = (c for c in report.checks if c.section == "rollout")
    c, b = _arm_latency(frame, "candidate"), _arm_latency(frame, "production")

    def q(x: np.ndarray, level: float) -> float:  # nearest rank: the operational section's default
        return float(np.quantile(x, level, method="inverted_cdf"))

    assert p95.details["comparison"]["candidate"] == q(c, 0.95) and p95.details["comparison"]["baseline"] == q(b, 0.95)
    assert p95.observed == pytest.approx(q(c, 0.95) - q(b, 0.95), abs=1e-12) and p95.status == Status.FAIL
    assert p95.message == (f"latency_p95_ms change {q(c, 0.95) - q(b, 0.95):+.4g} ms (canary arm {q(c, 0.95):.4g} vs "
                           f"production arm {q(b, 0.95):.4g}) does not meet increase at most 10 ms")
    assert p50.observed == pytest.approx(q(c, 0.5) - q(b, 0.5), abs=1e-12) and p50.status == Status.PASS
    assert p99.observed == pytest.approx(100 * (q(c, 0.99) - q(b, 0.99)) / q(b, 0.99), abs=1e-9)
    assert mean.observed == pytest.approx(c.mean() - b.mean(), abs=1e-10) and mean.status == Status.FAIL
    assert p95.details["candidate_details"]["percentile_method"] == "nearest_rank"
    assert p95.details["canary"]["latency_column"] == "lat" and p95.details["unit"] == "ms"
    assert report.decision == Decision.BLOCK
    # the policy's operational.percentile_method applies to the canary too
    linear = gatekit.run({**canary_policy(tmp_path / "log.csv", rules[:1], latency="lat"),
                          "operational": {"percentile_method": "linear"}})
    got = next(ch for ch in linear.checks if ch.section == "rollout")
    assert got.observed == pytest.approx(float(np.quantile(c, 0.95) - np.quantile(b, 0.95)), abs=1e-12)


def _direct_bootstrap(frame: pd.DataFrame, stat: Any, resamples: int, seed: int) -> np.ndarray:
    """Replicates of stat(candidate) - stat(production), each arm resampled on its own within its classes."""
    rng = np.random.default_rng(seed)
    parts = []
    for arm in ("candidate", "production"):
        rows = frame[frame.arm == arm]
        by_class = [rows.loc[rows.y == k, "lat"].to_numpy(dtype=float) for k in (0, 1)]
        parts.append([np.concatenate([x[rng.integers(0, x.size, x.size)] for x in by_class])
                      for _ in range(resamples)])
    return np.array([stat(a) - stat(b) for a, b in zip(*parts, strict=True)])


@pytest.mark.parametrize(("rule", "stat"), [
    ({"name": "latency_p95_ms", "max_increase": 25}, lambda x: np.quantile(x, 0.95, method="inverted_cdf")),
    ({"name": "latency_mean_ms", "max_increase": 25}, np.mean),
])
def test_canary_latency_interval_is_the_unpaired_percentile_bootstrap(tmp_path: Path, rule: dict[str, Any],
                                                                      stat: Any) -> None:
    frame = _latency_log(tmp_path / "log.csv", n=2000, slower_ms=30.0, seed=4)
    report = gatekit.run(canary_policy(tmp_path / "log.csv", [{**rule, "confidence": 0.95, "resamples": 4000}],
                                       latency="lat"))
    check = _only(report)
    iv = check.details["interval"]
    reps = _direct_bootstrap(frame, stat, 4000, seed=11)
    low, high = np.quantile(reps, [0.025, 0.975])
    # two independent 4,000-resample estimates of each bound: Monte Carlo error about 0.06 bootstrap SDs apart
    assert abs(iv["low"] - low) < 0.25 * reps.std() and abs(iv["high"] - high) < 0.25 * reps.std()
    assert iv["scheme"] == "unpaired bootstrap: each arm resampled on its own" and iv["resamples"] == 4000
    assert iv["rows"].startswith("each arm's plain rows with their latencies, sorted by target, latency and score")
    out = check.details["outcome"]
    assert out["result"] == ("disproven" if iv["low"] > 25 else "proven" if iv["high"] <= 25 else "inconclusive")
    assert out["power"]["what_rows"] == "log rows" and out["power"]["rows"] == 2000
    assert (out["p_harm"] <= 0.025) == (out["result"] == "disproven")
    # the same rows in another order: the same interval (the rows are resampled in a canonical order)
    frame.iloc[::-1].to_csv(tmp_path / "reversed.csv", index=False)
    again = _only(gatekit.run(canary_policy(tmp_path / "reversed.csv", [{**rule, "confidence": 0.95,
                                                                         "resamples": 4000}], latency="lat")))
    assert again.details["interval"]["low"] == iv["low"] and again.details["interval"]["high"] == iv["high"]


def test_canary_latency_decides_slow_equal_and_too_little(tmp_path: Path) -> None:
    slow = tmp_path / "slow.csv"
    _latency_log(slow, n=2000, slower_ms=30.0, seed=5)
    same = tmp_path / "same.csv"
    _latency_log(same, n=4000, slower_ms=0.0, seed=6)
    rule = {"name": "latency_mean_ms", "max_increase": 5, "confidence": 0.95, "mode": "non_inferiority"}
    assert _only(gatekit.run(canary_policy(slow, [rule], latency="lat"))).details["outcome"]["result"] == "disproven"
    equal = _only(gatekit.run(canary_policy(same, [rule], latency="lat")))
    assert equal.details["outcome"]["result"] == "proven" and equal.status == Status.PASS
    # p99 needs 2,000 rows in each arm (20 / (1 - 0.99)): fewer is not computable, never a pass
    few = _only(gatekit.run(canary_policy(slow, [{"name": "latency_p99_ms", "max_increase": 5}], latency="lat")))
    assert few.status == Status.NOT_COMPUTABLE and "p99 needs at least 2000 rows" in few.message


def test_canary_latency_rules_need_the_latency_column(tmp_path: Path) -> None:
    from gatekit.api import validate
    from gatekit.core.errors import PolicyError

    _latency_log(tmp_path / "log.csv", n=200)
    for name in ("latency_mean_ms", "latency_p95_ms"):
        with pytest.raises(PolicyError, match=rf"canary.rules\[0\] \({name}\): a canary latency rule reads each "
                                              r"row's served latency .*canary.latency"):
            validate(canary_policy(tmp_path / "log.csv", [{"name": name, "max_increase": 5}]))
    with pytest.raises(PolicyError, match=r"canary\.latency 'score' is also the canary's score column"):
        validate(canary_policy(tmp_path / "log.csv", [{"name": "latency_mean_ms", "max_increase": 5}],
                               latency="score"))
    # under metrics: the catalog's latency names stay observed-only: no confidence there
    with pytest.raises(PolicyError, match="not computed from evaluation rows"):
        validate({"version": 1, "inputs": {"metrics": "m.json"},
                  "metrics": [{"name": "latency_p95_ms", "op": "<=", "value": 5, "confidence": 0.95}]})


@pytest.mark.parametrize(("value", "match"), [
    ("", r"1 rows have no value \(file lines \[5\]\)"),
    ("fast", r"1 rows have a value that is not a number \(file lines \[5\], e.g. 'fast'\)"),
    ("-3", r"1 rows have a negative value \(file lines \[5\], e.g. "),
    ("inf", r"1 rows have an infinite value \(file lines \[5\], e.g. "),
])
def test_canary_bad_latencies_are_input_errors(tmp_path: Path, value: str, match: str) -> None:
    from tests.helpers import _cli

    frame = _latency_log(tmp_path / "log.csv", n=300).astype({"lat": object})
    frame.loc[3, "lat"] = value
    frame.to_csv(tmp_path / "log.csv", index=False)
    (tmp_path / "p.yaml").write_text("version: 1\ncanary:\n  data: log.csv\n  target: y\n  score: score\n"
                                     "  latency: lat\n  rules:\n    - {name: latency_mean_ms, max_increase: 5}\n",
                                     encoding="utf-8")
    res = _cli("run", tmp_path / "p.yaml", "--out", tmp_path / "out", "--history", "off")
    assert res.exit_code == 2, res.output
    text = " ".join(res.output.split())
    assert "latency column 'lat' (canary.latency)" in text and "of 300 rows" in text
    import re

    assert re.search(match, text), text
    frame.drop(columns="lat").to_csv(tmp_path / "log.csv", index=False)
    res = _cli("run", tmp_path / "p.yaml", "--out", tmp_path / "out", "--history", "off")
    assert res.exit_code == 2 and "'lat'" in res.output and "latency" in res.output


def test_canary_latency_cli_shows_the_decision_and_the_rule(tmp_path: Path) -> None:
    from tests.helpers import _cli

    frame = _latency_log(tmp_path / "log.csv", n=2000, slower_ms=30.0, seed=7)
    (tmp_path / "p.yaml").write_text(
        "version: 1\nname: latency_canary\ncanary:\n  data: log.csv\n  target: y\n  score: score\n  latency: lat\n"
        "  rules:\n    - {name: latency_p95_ms, max_increase: 10, confidence: 0.95}\n", encoding="utf-8")
    res = _cli("run", tmp_path / "p.yaml", "--out", tmp_path / "out", "--history", "off")
    assert res.exit_code == 1, res.output  # block
    c = np.quantile(_arm_latency(frame, "candidate"), 0.95, method="inverted_cdf")
    b = np.quantile(_arm_latency(frame, "production"), 0.95, method="inverted_cdf")
    import json

    out = json.loads((tmp_path / "out" / "gate_report.json").read_text(encoding="utf-8"))
    check = next(ch for ch in out["checks"] if ch["section"] == "rollout")
    assert out["decision"] == "block" and check["status"] == "fail"
    assert check["message"].startswith(f"latency_p95_ms change {c - b:+.4g} ms (canary arm {c:.4g} vs production arm "
                                       f"{b:.4g}), 95% CI [")
    assert "limit increase at most 10 ms: fails, the whole interval breaks the limit" in check["message"]
    assert "latency_p95_ms" in res.output and "BLOCK" in res.output.upper()


def test_the_canary_pages_latency_example_runs_and_prints_what_the_page_shows(tmp_path: Path,
                                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    import re

    import yaml

    page = (Path(__file__).parents[2] / "docs" / "policy" / "canary.md").read_text(encoding="utf-8")
    part = page.split("## Served latency", 1)[1].split("## Sequential canary", 1)[0]
    code = re.findall(r"```python\n(.*?)```", part, re.S)[0]
    policy = yaml.safe_load(re.findall(r"```yaml\n(.*?)```", part, re.S)[0])
    shown = [block.strip().splitlines() for block in re.findall(r"```text\n(.*?)```", part, re.S)]
    monkeypatch.chdir(tmp_path)
    exec(compile(code, "canary.md", "exec"), {})  # the page's own example, run as a reader would
    report = gatekit.run({"version": 1, **policy})
    assert [c.message for c in report.checks] == shown[0] and report.decision == Decision.BLOCK
    seq = {**policy["canary"], "sequential": {"order_by": "served_at"},
           "rules": [{"name": "latency_mean_ms", "max_increase": 5, "confidence": 0.95}]}
    report = gatekit.run({"version": 1, "canary": seq})
    assert [c.message for c in report.checks] == shown[1]
