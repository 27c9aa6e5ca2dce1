"""Tests of :mod:`gatekit.data.canary`: reading a canary traffic log and splitting it into its two arms."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import sklearn.metrics as skm

import gatekit
from gatekit.core.errors import InputError
from gatekit.core.results import Status
from tests.helpers import _only
from tests.sections.helpers import _auc, _canary, _canary_frame, _with, canary_policy


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


def test_canary_positive_label_matching_no_outcome_is_refused(tmp_path: Path) -> None:
    pol = _canary(tmp_path, """
        - {name: accuracy, max_drop: 0.05}
        - {name: demographic_parity_difference, within: 0.1}
        """, _canary_frame(300, 300), extra='positive_label: "yes"')
    with pytest.raises(InputError, match="positive"):
        gatekit.run(pol)


def test_canary_rows_in_neither_arm_are_not_dropped_silently(tmp_path: Path) -> None:
    frame = _canary_frame(300, 300).astype({"arm": object})
    frame.loc[[3, 4], "arm"] = [None, "shadow"]
    pol = _canary(tmp_path, "- {name: auc_roc, max_drop: 0.5}", frame)
    try:
        report = gatekit.run(pol)
    except InputError as exc:
        assert "arm" in str(exc)
        return
    shown = report.reason + " ".join(c.message for c in report.checks)
    assert "neither" in shown or "2 rows" in shown, shown


@pytest.mark.parametrize(("change", "expected"), [
    ("nan_outcome", "have no outcome"),
    ("text_score", "is not numeric"),
    ("int_arms", "no row has arm = 'candidate'"),
    ("missing_arm", "no row has arm = 'production'"),
])
def test_canary_bad_log_is_an_input_error(tmp_path: Path, change: str, expected: str) -> None:
    frame = _canary_frame(150, 150)
    if change == "nan_outcome":
        frame = frame.astype({"y": float})
        frame.loc[7, "y"] = np.nan
    elif change == "text_score":
        frame = frame.astype({"score": object})
        frame.loc[7, "score"] = "n/a?"
    elif change == "int_arms":
        frame["arm"] = (frame.arm == "candidate").astype(int)
    else:
        frame.loc[frame.arm == "production", "arm"] = "prod"
    pol = _canary(tmp_path, "- {name: auc_roc, max_drop: 0.05}", frame)
    with pytest.raises(InputError, match=expected) as err:
        gatekit.run(pol)
    assert "c.csv" in str(err.value)


def test_canary_quoted_integer_arms_work(tmp_path: Path) -> None:
    frame = _canary_frame(200, 200)
    frame["arm"] = (frame.arm == "candidate").astype(int)
    pol = _canary(tmp_path, "- {name: auc_roc, max_drop: 0.5, confidence: 0.95, resamples: 200}", frame,
                  extra='candidate_arm: "1"\nbaseline_arm: "0"')
    report = gatekit.run(pol)
    assert report.checks[0].status == Status.PASS
    assert report.checks[0].details["canary"]["rows_candidate"] == 200


# --- multiclass outcomes --------------------------------------------------------------------------------------------

CLASSES = ["bird", "cat", "dog"]


def _multiclass_log(seed: int = 3, n_candidate: int = 400, n_production: int = 500) -> pd.DataFrame:
    """Two arms of a 3-class outcome, each served by its own model: score_<class> probabilities and the argmax."""
    rng = np.random.default_rng(seed)

    def arm(n: int, sharpness: float, name: str) -> pd.DataFrame:
        y = rng.choice(3, size=n, p=[0.5, 0.3, 0.2])
        p = np.exp(rng.normal(size=(n, 3)) + sharpness * np.eye(3)[y])
        p /= p.sum(axis=1, keepdims=True)
        out = pd.DataFrame({"arm": name, "y": np.array(CLASSES)[y], "g": rng.choice(["a", "b"], n)})
        for j, c in enumerate(CLASSES):
            out[f"score_{c}"] = p[:, j]
        out["pred"] = np.array(CLASSES)[p.argmax(axis=1)]
        return out

    return pd.concat([arm(n_candidate, 1.5, "candidate"), arm(n_production, 1.0, "production")], ignore_index=True)


def _multiclass_policy(path: Path, rules: list[dict], **spec: object) -> dict:
    return {"version": 1, "canary": {"data": str(path), "target": "y", "score": "score_*", "rules": rules, **spec}}


def _sk_arm(frame: pd.DataFrame, arm: str) -> dict[str, float]:
    """scikit-learn's values on one arm's rows."""
    part = frame[frame.arm == arm]
    y = part.y.to_numpy()
    p = part[[f"score_{c}" for c in CLASSES]].to_numpy()
    yp = np.array(CLASSES)[p.argmax(axis=1)]
    return {"accuracy": skm.accuracy_score(y, yp), "balanced_accuracy": skm.balanced_accuracy_score(y, yp),
            "log_loss": skm.log_loss(y, p, labels=CLASSES), "f1_macro": skm.f1_score(y, yp, average="macro"),
            "recall_weighted": skm.recall_score(y, yp, average="weighted"),
            "recall[class=dog]": skm.recall_score(y, yp, labels=["dog"], average=None)[0],
            "precision[class=cat]": skm.precision_score(y, yp, labels=["cat"], average=None)[0],
            "roc_auc_ovr": skm.roc_auc_score(y, p, multi_class="ovr", labels=CLASSES),
            "roc_auc_ovo_weighted": skm.roc_auc_score(y, p, multi_class="ovo", average="weighted", labels=CLASSES)}


@pytest.mark.parametrize("output", ["probabilities", "labels"])
def test_multiclass_canary_values_equal_scikit_learn_on_each_arm(tmp_path: Path, output: str) -> None:
    frame = _multiclass_log()
    frame.to_csv(tmp_path / "log.csv", index=False)
    names = ["accuracy", "balanced_accuracy", "f1_macro", "recall_weighted", "recall[class=dog]",
             "precision[class=cat]", *(["log_loss", "roc_auc_ovr", "roc_auc_ovo_weighted"]
                                       if output == "probabilities" else [])]
    rules = [{"name": n, "max_drop": 1.0} for n in names]
    kw = {} if output == "probabilities" else {"score": None, "prediction": "pred"}
    spec = _multiclass_policy(tmp_path / "log.csv", rules)
    spec["canary"].update(kw)
    report = gatekit.run(spec)
    cand, prod = _sk_arm(frame, "candidate"), _sk_arm(frame, "production")
    assert [c.status for c in report.checks] == [Status.PASS] * len(names), [c.message for c in report.checks]
    for check, name in zip(report.checks, names, strict=True):
        comp = check.details["comparison"]
        assert comp["candidate"] == pytest.approx(cand[name], abs=1e-12), name
        assert comp["baseline"] == pytest.approx(prod[name], abs=1e-12), name
        assert check.observed == pytest.approx(cand[name] - prod[name], abs=1e-12), name
    info = report.checks[0].details["canary"]
    assert info["task"] == "multiclass" and info["classes"] == CLASSES
    assert info["class_rows_candidate"] == frame[frame.arm == "candidate"].y.value_counts().to_dict()


def test_multiclass_canary_bad_logs_name_the_file_and_column(tmp_path: Path) -> None:
    frame = _multiclass_log(n_candidate=120, n_production=120)
    rules = [{"name": "f1_macro", "max_drop": 0.05}]

    def refused(edit, name: str) -> InputError:
        path = tmp_path / f"{name}.csv"
        edit(frame.copy()).to_csv(path, index=False)
        with pytest.raises(InputError) as err:
            gatekit.run(_multiclass_policy(path, rules))
        assert f"{name}.csv" in str(err.value)
        return err.value

    # a class served in one arm only: the arms' macro averages would average different classes
    def dog_only_in_production(f: pd.DataFrame) -> pd.DataFrame:
        return f[~((f.arm == "candidate") & (f.y == "dog"))]

    err = refused(dog_only_in_production, "one_arm")
    assert err.problems[0].key == "y" and "['dog'] occur only in the 'production' arm" in str(err)
    # a class's probability column missing
    err = refused(lambda f: f.drop(columns="score_dog"), "no_dog")
    assert err.problems[0].key == "score" and "expected ['score_dog']" in str(err)
    # probabilities that do not sum to 1 (CSV line 6 = row 4), and a missing one
    def off(f: pd.DataFrame) -> pd.DataFrame:
        f.loc[4, "score_cat"] += 0.3
        return f

    err = refused(off, "off")
    assert err.problems[0].key == "score" and "do not sum to 1" in str(err) and "file lines [6]" in str(err)

    def missing(f: pd.DataFrame) -> pd.DataFrame:
        f.loc[9, "score_bird"] = np.nan
        return f

    err = refused(missing, "missing")
    assert err.problems[0].key == "score_bird" and "file lines [11]" in str(err)
    # one score column for a multiclass outcome, and a pattern declared as another task
    frame.to_csv(tmp_path / "ok.csv", index=False)
    with pytest.raises(InputError, match=r"one score column \('score_cat'\) cannot hold them"):
        gatekit.run(_multiclass_policy(tmp_path / "ok.csv", rules, score="score_cat"))
    with pytest.raises(InputError, match=r"canary\.task is 'regression'") as exc:
        gatekit.run(_multiclass_policy(tmp_path / "ok.csv", rules, task="regression"))
    assert exc.value.problems[0].key == "task"


def test_multiclass_canary_with_class_codes_needs_the_task(tmp_path: Path) -> None:
    """Whole-number class codes with a prediction column read as a regression outcome unless the task says so."""
    frame = _multiclass_log(n_candidate=150, n_production=150)
    codes = {c: i for i, c in enumerate(CLASSES)}
    frame["y"], frame["pred"] = frame.y.map(codes), frame.pred.map(codes)
    frame.to_csv(tmp_path / "codes.csv", index=False)
    spec = _multiclass_policy(tmp_path / "codes.csv", [{"name": "balanced_accuracy", "max_drop": 1.0}],
                              score=None, prediction="pred", task="multiclass")
    check = gatekit.run(spec).checks[0]
    arm = frame.arm == "candidate"
    expected = (skm.balanced_accuracy_score(frame.y[arm], frame.pred[arm])
                - skm.balanced_accuracy_score(frame.y[~arm], frame.pred[~arm]))
    assert check.observed == pytest.approx(expected, abs=1e-12)
    assert check.details["canary"]["task"] == "multiclass"


def test_canary_latencies_travel_with_their_arms_rows(tmp_path: Path) -> None:
    from gatekit.data.canary import load_canary
    from gatekit.metrics import default_registry
    from gatekit.policy.specs import CanarySpec

    rng = np.random.default_rng(0)
    n = 50
    frame = pd.DataFrame({"t": rng.permutation(n), "arm": rng.choice(["candidate", "production", "shadow"], n),
                          "y": rng.integers(0, 2, n), "score": rng.random(n), "ms": rng.integers(0, 200, n)})
    path = tmp_path / "log.parquet"
    frame.to_parquet(path)
    spec = CanarySpec.model_validate(
        {"data": str(path), "target": "y", "score": "score", "latency": "ms", "sequential": {"order_by": "t"},
         "rules": [{"name": "latency_mean_ms", "max_increase": 5, "confidence": 0.95}]},
        context={"registry": default_registry()})
    arms = load_canary(spec, path, {})
    ordered = frame.sort_values("t", kind="stable")
    for d, arm in ((arms.candidate, "candidate"), (arms.baseline, "production")):
        rows = ordered[ordered.arm == arm]
        assert np.array_equal(d.latency_ms, rows.ms.to_numpy(dtype=float))  # in arrival order, as the scores
        assert np.array_equal(d.y_score, rows.score.to_numpy())
    assert arms.info["latency_column"] == "ms"
    # a parquet log names rows counted from 0 (no file lines)
    frame.assign(ms=frame.ms.astype(float).where(frame.index != 4, -1.5)).to_parquet(path)
    with pytest.raises(InputError) as err:
        load_canary(spec, path, {})
    assert err.value.problems[0].key == "ms"
    assert "1 rows have a negative value (rows [4], counted from 0, e.g. -1.5), of 50 rows" in str(err.value)


def test_canary_latency_durations_are_milliseconds_and_date_times_or_zeros_are_refused(tmp_path: Path) -> None:
    from gatekit.data.canary import load_canary
    from gatekit.metrics import default_registry
    from gatekit.policy.specs import CanarySpec

    rng = np.random.default_rng(1)
    n = 40
    ms = rng.integers(1, 200, n).astype(float)
    frame = pd.DataFrame({"arm": np.where(np.arange(n) % 2 == 0, "candidate", "production"),
                          "y": rng.integers(0, 2, n), "score": rng.random(n),
                          "lat": pd.to_timedelta(ms, unit="ms")})  # a parquet duration column
    path = tmp_path / "log.parquet"
    frame.to_parquet(path)
    spec = CanarySpec.model_validate(
        {"data": str(path), "target": "y", "score": "score", "latency": "lat",
         "rules": [{"name": "latency_mean_ms", "max_increase": 5}]}, context={"registry": default_registry()})
    arms = load_canary(spec, path, {})
    assert np.array_equal(arms.candidate.latency_ms, ms[0::2]) and np.array_equal(arms.baseline.latency_ms, ms[1::2])
    # date-times are instants, not durations (read as numbers they are nanoseconds since 1970)
    frame.assign(lat=pd.Timestamp("2026-12-01") + pd.to_timedelta(ms, unit="ms")).to_parquet(path)
    with pytest.raises(InputError, match="holds date-times, not durations") as err:
        load_canary(spec, path, {})
    assert err.value.problems[0].key == "lat"
    # a column of zeros is a placeholder: no latency rule may pass on it, nor on one arm's zeros (an arm "0 ms fast")
    frame.assign(lat=0.0).to_parquet(path)
    with pytest.raises(InputError, match="every one of its 40 rows is 0"):
        load_canary(spec, path, {})
    frame.assign(lat=np.where(frame.arm == "candidate", 0.0, ms)).to_parquet(path)
    with pytest.raises(InputError, match="every one of the 20 candidate rows is 0, a placeholder"):
        load_canary(spec, path, {})
