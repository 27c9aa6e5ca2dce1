"""Tests of :mod:`gatekit.sections.canary`: the candidate's arm against production's arm, unpaired.

The unpaired interval is recomputed by a plain loop over the same stratified draws
(:func:`gatekit.stats.intervals.stratified_index_batches` on each arm's rows in the order an interval resamples
them, :func:`gatekit.metrics.weighted.counted_rows`) calling ``roc_auc_score`` on each resample.
"""

from __future__ import annotations

from pathlib import Path

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
