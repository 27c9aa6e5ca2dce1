"""Tests of :mod:`gatekit.metrics.classification`.

Expected values are computed independently of the code under test: by hand, from the documented
formula written here, or by calling scikit-learn, fairlearn, numpy or scipy directly.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import sklearn.metrics as skm

import gatekit
from gatekit.core.errors import NotComputable
from gatekit.metrics import EvalData, default_registry
from gatekit.metrics import classification as clf
from gatekit.metrics import regression as reg
from tests.data.helpers import _policy
from tests.metrics.helpers import THRESHOLDS, TIE_S, TIE_Y, clf_data


def test_missing_scores_make_metrics_not_computable(tmp_path) -> None:
    path = tmp_path / "d.csv"
    pd.DataFrame({"y": [0, 1, 0, 1], "s": [0.1, None, 0.3, 0.9]}).to_csv(path, index=False)
    r = gatekit.run(_policy(tmp_path), data=path, target="y", score="s")
    assert r.checks[0].status.value == "not_computable"
    assert "1 of 4 score values are missing" in r.checks[0].message
    assert r.decision.value == "block"


def arr(*values: float) -> np.ndarray:
    return np.asarray(values, dtype=float)


# --------------------------------------------------------------------------------------------------
# Real data: a deterministic slice of Boston HMDA
# --------------------------------------------------------------------------------------------------


def test_hmda_slice_is_a_meaningful_test_bed(hmda_clf, hmda_reg):
    """Guard the preconditions the comparisons below rely on (else they could pass vacuously)."""
    y, s, sf = hmda_clf
    assert len(y) == len(s) == len(sf) == 500
    assert 0 < y.sum() < len(y)
    for t in THRESHOLDS:
        assert 0 < np.sum(s >= t) < len(s)  # predicted positives exist at both thresholds
    assert np.sum(s >= 0.5) != np.sum(s >= 0.3)  # the two thresholds give different predictions
    by = pd.DataFrame({"y": y, "g": sf["afam"].to_numpy()}).groupby("g")["y"].agg(["sum", "count"])
    assert set(by.index) == {"no", "yes"}
    assert (by["sum"] > 0).all() and (by["sum"] < by["count"]).all()
    actual, forecast = hmda_reg
    assert np.all(actual != 0) and np.all(np.isfinite(forecast))


def test_roc_auc_single_class_not_computable():
    with pytest.raises(NotComputable) as exc:
        clf.roc_auc(clf_data([1, 1, 1, 1], [0.2, 0.4, 0.6, 0.9]))
    assert "single class" in exc.value.reason
    assert exc.value.details["class"] == 1


def test_precision_without_positive_predictions_is_not_computable_not_zero():
    data = clf_data([1, 0, 1, 0], [0.1, 0.2, 0.3, 0.49])
    with pytest.raises(NotComputable) as exc:
        clf.precision_at(data, 0.5)
    assert exc.value.details["tp"] == 0 and exc.value.details["fp"] == 0
    # scikit-learn's zero_division convention would have given 0.0: gatekit must not.
    assert skm.precision_score([1, 0, 1, 0], [0, 0, 0, 0], zero_division=0) == 0.0


def test_precision_at_0_5_name_without_positive_predictions():
    res = default_registry().resolve("precision_at_0_5")
    with pytest.raises(NotComputable):
        res.spec.fn(clf_data([1, 0, 1, 0], [0.1, 0.2, 0.3, 0.49]), **res.name_params)


# --------------------------------------------------------------------------------------------------
# 2a. Classification: hand-computed small cases (ties at the threshold included)
# --------------------------------------------------------------------------------------------------


TIE_EXPECTED = {
    # T: (precision, recall, f1, accuracy)
    0.5: (2 / 3, 2 / 3, 2 / 3, 4 / 6),
    0.3: (2 / 4, 2 / 3, 4 / 7, 3 / 6),
}


# With an exclusive rule (score > T) the values would differ: guards that the tie matters.
TIE_EXCLUSIVE = {0.5: (1 / 2, 1 / 3), 0.3: (2 / 3, 2 / 3)}


@pytest.mark.parametrize("t", THRESHOLDS)
def test_threshold_metrics_tie_at_threshold_is_positive(t):
    p, r, f1, acc = TIE_EXPECTED[t]
    data = clf_data(TIE_Y, TIE_S, decision_threshold=t)
    mp = clf.precision_at(data, t)
    assert mp.value == pytest.approx(p)
    assert clf.recall_at(data, t).value == pytest.approx(r)
    assert clf.f1_at(data, t).value == pytest.approx(f1)
    assert clf.accuracy(data).value == pytest.approx(acc)
    assert (mp.details["tp"], mp.details["fp"], mp.details["fn"], mp.details["tn"]) == (
        {0.5: (2, 1, 1, 2), 0.3: (2, 2, 1, 1)}[t])
    assert mp.details["threshold"] == t
    assert (p, r) != TIE_EXCLUSIVE[t]


@pytest.mark.parametrize(("name", "t"), [("precision_at_0_5", 0.5), ("precision_at_0_3", 0.3)])
def test_threshold_from_metric_name_keeps_tie(name, t):
    res = default_registry().resolve(name)
    mv = res.spec.fn(clf_data(TIE_Y, TIE_S), **res.name_params)
    assert mv.value == pytest.approx(TIE_EXPECTED[t][0])


def test_roc_auc_by_hand_with_tied_scores():
    # positives {0.9, 0.5, 0.2} vs negatives {0.2, 0.3, 0.7}: 3 + 2 + 0.5 (tie) wins of 9 pairs
    assert clf.roc_auc(clf_data(TIE_Y, TIE_S)).value == pytest.approx(5.5 / 9)


def test_accuracy_uses_decision_threshold():
    assert clf.accuracy(clf_data(TIE_Y, TIE_S)).value == pytest.approx(4 / 6)  # default 0.5
    assert clf.accuracy(clf_data(TIE_Y, TIE_S, decision_threshold=0.3)).value == pytest.approx(3 / 6)


def test_prediction_column_used_as_is():
    data = clf_data([1, 1, 0, 0], pred=[1, 0, 1, 0])
    mv = clf.precision_at(data, 0.5)
    assert mv.value == pytest.approx(0.5)
    assert mv.details["threshold"] is None
    assert clf.accuracy(data).value == pytest.approx(0.5)
    with pytest.raises(NotComputable):
        clf.roc_auc(data)


def test_log_loss_and_brier_by_hand():
    y, s = [1, 0], [0.8, 0.4]
    assert clf.log_loss(clf_data(y, s)).value == pytest.approx(-(np.log(0.8) + np.log(0.6)) / 2)
    assert clf.brier_score(clf_data(y, s)).value == pytest.approx((0.2**2 + 0.4**2) / 2)


def test_log_loss_clips_certain_wrong_predictions():
    eps = np.finfo(float).eps
    mv = clf.log_loss(clf_data([1, 0], [0.0, 1.0]))
    assert np.isfinite(mv.value)
    assert mv.value == pytest.approx(-np.log(eps))


# --------------------------------------------------------------------------------------------------
# 2b. Classification on HMDA vs scikit-learn and numpy formulas
# --------------------------------------------------------------------------------------------------


def _roc_auc_pairs(y: np.ndarray, s: np.ndarray) -> float:
    """Mann-Whitney form of ROC AUC: P(score_pos > score_neg) + 0.5 P(tie)."""
    pos, neg = s[y == 1][:, None], s[y == 0][None, :]
    return float(np.mean((pos > neg) + 0.5 * (pos == neg)))


def _average_precision(y: np.ndarray, s: np.ndarray) -> float:
    """Step-wise AP: sum over distinct score thresholds of (R_n - R_{n-1}) * P_n."""
    ap, prev_recall = 0.0, 0.0
    for t in np.unique(s)[::-1]:
        pred = s >= t
        tp = np.sum(pred & (y == 1))
        recall, precision = tp / y.sum(), tp / pred.sum()
        ap += (recall - prev_recall) * precision
        prev_recall = recall
    return float(ap)


def test_hmda_roc_auc(hmda_clf):
    y, s, _ = hmda_clf
    v = clf.roc_auc(clf_data(y, s)).value
    assert v == pytest.approx(skm.roc_auc_score(y, s), abs=1e-12)
    assert v == pytest.approx(_roc_auc_pairs(y, s), abs=1e-12)


def test_hmda_pr_auc(hmda_clf):
    y, s, _ = hmda_clf
    v = clf.pr_auc(clf_data(y, s)).value
    assert v == pytest.approx(skm.average_precision_score(y, s), abs=1e-12)
    assert v == pytest.approx(_average_precision(y, s), abs=1e-12)


def test_hmda_log_loss(hmda_clf):
    y, s, _ = hmda_clf
    v = clf.log_loss(clf_data(y, s)).value
    assert v == pytest.approx(skm.log_loss(y, s), rel=1e-12)
    assert v == pytest.approx(-np.mean(y * np.log(s) + (1 - y) * np.log(1 - s)), rel=1e-12)


def test_hmda_brier(hmda_clf):
    y, s, _ = hmda_clf
    v = clf.brier_score(clf_data(y, s)).value
    assert v == pytest.approx(skm.brier_score_loss(y, s), rel=1e-12)
    assert v == pytest.approx(np.mean((s - y) ** 2), rel=1e-12)


@pytest.mark.parametrize("t", THRESHOLDS)
def test_hmda_accuracy(hmda_clf, t):
    y, s, _ = hmda_clf
    v = clf.accuracy(clf_data(y, s, decision_threshold=t)).value
    assert v == pytest.approx(skm.accuracy_score(y, (s >= t).astype(int)))
    assert v == pytest.approx(np.mean((s >= t) == y))


@pytest.mark.parametrize("t", THRESHOLDS)
def test_hmda_precision_recall_f1(hmda_clf, t):
    y, s, _ = hmda_clf
    yp = (s >= t).astype(int)
    tp, fp, fn = np.sum((yp == 1) & (y == 1)), np.sum((yp == 1) & (y == 0)), np.sum((yp == 0) & (y == 1))
    assert tp + fp > 0 and tp > 0
    data = clf_data(y, s)
    precision, recall, f1 = clf.precision_at(data, t), clf.recall_at(data, t), clf.f1_at(data, t)
    assert precision.value == pytest.approx(skm.precision_score(y, yp))
    assert precision.value == pytest.approx(tp / (tp + fp))
    assert recall.value == pytest.approx(skm.recall_score(y, yp))
    assert recall.value == pytest.approx(tp / (tp + fn))
    assert f1.value == pytest.approx(skm.f1_score(y, yp))
    assert f1.value == pytest.approx(2 * tp / (2 * tp + fp + fn))
    assert (precision.details["tp"], precision.details["fp"], precision.details["fn"]) == (tp, fp, fn)


@pytest.mark.parametrize("prefix", ["precision", "recall", "f1"])
@pytest.mark.parametrize("t", THRESHOLDS)
def test_hmda_threshold_metrics_through_registry_names(hmda_clf, prefix, t):
    y, s, _ = hmda_clf
    name = f"{prefix}_at_{str(t).replace('.', '_')}"
    res = default_registry().resolve(name)
    assert res.name_params == {"threshold": t}
    ref = {"precision": skm.precision_score, "recall": skm.recall_score, "f1": skm.f1_score}[prefix]
    assert res.spec.fn(clf_data(y, s), **res.name_params).value == pytest.approx(ref(y, (s >= t).astype(int)))


def test_hmda_tie_at_a_real_score(hmda_clf):
    """Threshold equal to an observed score: that row is a positive prediction."""
    y, s, _ = hmda_clf
    t = float(np.sort(s)[-20])  # the 20th highest score, unique in this slice
    assert np.sum(s == t) == 1 and np.sum(s >= t) == 20 and np.sum(s > t) == 19
    mv = clf.precision_at(clf_data(y, s), t)
    assert mv.details["tp"] + mv.details["fp"] == 20
    assert mv.value == pytest.approx(np.sum(y[s >= t]) / 20)


# --------------------------------------------------------------------------------------------------
# Other not-computable cases
# --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("fn", [clf.pr_auc, lambda d: clf.recall_at(d, 0.5), lambda d: clf.f1_at(d, 0.5)])
def test_no_positive_labels_not_computable(fn):
    with pytest.raises(NotComputable):
        fn(clf_data([0, 0, 0], [0.9, 0.2, 0.6]))


def test_f1_without_positive_predictions_not_computable():
    with pytest.raises(NotComputable):
        clf.f1_at(clf_data([1, 0, 1], [0.1, 0.2, 0.3]), 0.5)


@pytest.mark.parametrize("fn", [clf.roc_auc, clf.pr_auc, clf.log_loss, clf.brier_score, clf.accuracy,
                                lambda d: clf.precision_at(d, 0.5)])
def test_missing_score_not_computable(fn):
    with pytest.raises(NotComputable) as exc:
        fn(clf_data([1, 0, 1], [0.9, np.nan, 0.3]))
    assert exc.value.details["n_missing_score"] == 1


@pytest.mark.parametrize("fn", [clf.log_loss, clf.brier_score])
def test_probability_metrics_reject_scores_outside_0_1(fn):
    with pytest.raises(NotComputable, match=r"\[0, 1\]"):
        fn(clf_data([1, 0], [1.5, 0.2]))


def test_task_mismatch_not_computable():
    with pytest.raises(NotComputable):
        clf.roc_auc(EvalData(y_true=arr(1.5, 2.0, 0.3), y_score=arr(0.1, 0.2, 0.3), task="regression"))
    with pytest.raises(NotComputable):
        reg.rmse(clf_data([1, 0], [0.9, 0.1]))


def test_threshold_metrics_refuse_scores_outside_unit_interval():
    y = np.array([1, 0, 1, 0])
    s = np.array([90.0, 10.0, 60.0, 40.0])  # percent, not probabilities
    with pytest.raises(NotComputable, match=r"\[0, 1\]"):
        clf.precision_at(clf_data(y, s), 0.5)
    assert clf.roc_auc(clf_data(y, s)).value == 1.0  # ranking metrics do not care about scale
