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
