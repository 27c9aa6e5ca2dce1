"""Tests of gatekit's metric functions and metric registry.

Every expected value is computed independently of gatekit: by hand (literal numbers), from the formula
written here in numpy, or by calling scikit-learn / fairlearn directly.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import sklearn.metrics as skm
from fairlearn import metrics as flm
from sklearn.linear_model import LinearRegression, LogisticRegression

from gatekit.core.errors import NotComputable
from gatekit.metrics import EvalData, MetricValue, default_registry
from gatekit.metrics import classification as clf
from gatekit.metrics import fairness as fair
from gatekit.metrics import regression as reg

HMDA = Path(__file__).resolve().parents[1] / "data" / "hmda" / "hmda.csv"
FEATURES = ["pirat", "hirat", "lvrat", "chist", "mhist", "unemp"]
TRAIN, EVAL = slice(0, 1200), slice(1200, 1700)
THRESHOLDS = (0.5, 0.3)


def arr(*values: float) -> np.ndarray:
    return np.asarray(values, dtype=float)


def clf_data(y, score=None, pred=None, sensitive=None, **kw) -> EvalData:
    return EvalData(
        y_true=np.asarray(y, dtype=int),
        y_score=None if score is None else np.asarray(score, dtype=float),
        y_pred=None if pred is None else np.asarray(pred, dtype=int),
        sensitive=None if sensitive is None else pd.DataFrame(sensitive),
        task="classification",
        **kw,
    )


def reg_data(y, forecast) -> EvalData:
    return EvalData(y_true=np.asarray(y, dtype=float), y_score=np.asarray(forecast, dtype=float), task="regression")


# --------------------------------------------------------------------------------------------------
# Real data: a deterministic slice of Boston HMDA
# --------------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def hmda() -> pd.DataFrame:
    return pd.read_csv(HMDA)


@pytest.fixture(scope="module")
def hmda_clf(hmda):
    """(y_true, score, sensitive frame) on rows 1200-1699; a logistic regression fitted on rows 0-1199.

    The sensitive frame keeps the CSV's row index (1200..1699) on purpose: metric code must not align
    it with the 0-based target by index.
    """
    y = (hmda["deny"] == "yes").astype(int).to_numpy()
    model = LogisticRegression(max_iter=1000, random_state=0).fit(hmda[FEATURES].iloc[TRAIN], y[TRAIN])
    score = model.predict_proba(hmda[FEATURES].iloc[EVAL])[:, 1]
    sensitive = hmda[["afam", "single"]].iloc[EVAL].astype(str)
    return y[EVAL], score, sensitive


@pytest.fixture(scope="module")
def hmda_reg(hmda):
    """(actual lvrat, forecast) on rows 1200-1699; a linear regression on pirat, hirat fitted on rows 0-1199."""
    x = hmda[["pirat", "hirat"]]
    model = LinearRegression().fit(x.iloc[TRAIN], hmda["lvrat"].iloc[TRAIN])
    return hmda["lvrat"].iloc[EVAL].to_numpy(dtype=float), model.predict(x.iloc[EVAL])


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


# --------------------------------------------------------------------------------------------------
# 1. The issue's cases
# --------------------------------------------------------------------------------------------------


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


def test_mape_with_zero_actual_reports_count():
    with pytest.raises(NotComputable) as exc:
        reg.mape(reg_data([0, 1, 2], [1, 1, 2]))
    assert exc.value.details["n_zero_actuals"] == 1
    assert exc.value.reason.startswith("1 of 3 actuals are 0")


@pytest.mark.parametrize(("kwargs", "expected"), [({}, 200 / 3), ({"variant": "0-200"}, 200 / 3),
                                                  ({"variant": "0-100"}, 100 / 3)])
def test_smape_issue_case(kwargs, expected):
    # |1-2| = |2-1| = 1, |y| + |f| = 3: 0-200 -> 1 / 1.5 = 66.67 %, 0-100 -> 1 / 3 = 33.33 %
    mv = reg.smape(reg_data([1, 2], [2, 1]), **kwargs)
    assert mv.value == pytest.approx(expected)
    assert round(mv.value, 2) == (66.67 if expected > 50 else 33.33)
    assert mv.details["variant"] == kwargs.get("variant", "0-200")
    assert mv.details["unit"] == "%"


@pytest.mark.parametrize("fn", [fair.demographic_parity_difference, fair.equal_opportunity_difference,
                                fair.equalized_odds_difference])
def test_fairness_single_group_not_computable(fn):
    data = clf_data([1, 0, 1, 0], [0.9, 0.1, 0.6, 0.4], sensitive={"g": ["a"] * 4})
    with pytest.raises(NotComputable) as exc:
        fn(data)
    assert "single group" in exc.value.reason
    # fairlearn itself silently says 0.0 here.
    assert flm.demographic_parity_difference([1, 0, 1, 0], [1, 0, 1, 0], sensitive_features=["a"] * 4) == 0.0


def test_equal_opportunity_group_without_positive_labels_not_computable():
    y, s, g = [1, 0, 1, 0], [0.9, 0.1, 0.6, 0.7], ["a", "b", "a", "b"]
    with pytest.raises(NotComputable) as exc:
        fair.equal_opportunity_difference(clf_data(y, s, sensitive={"g": g}))
    assert "b" in exc.value.reason
    assert exc.value.details["by_group"]["b"]["n_positive"] == 0
    assert exc.value.details["by_group"]["b"]["true_positive_rate"] is None
    # fairlearn reports a number (TPR of group b taken as 0): the case the check exists for.
    assert flm.equal_opportunity_difference(y, [1, 0, 1, 1], sensitive_features=g) == 1.0


@pytest.mark.parametrize("fn", [fair.demographic_parity_difference, fair.equal_opportunity_difference,
                                fair.equalized_odds_difference])
def test_missing_sensitive_value_strict_is_value_error(fn):
    data = clf_data([1, 0, 1, 0], [0.9, 0.1, 0.6, 0.7], sensitive={"g": ["a", np.nan, "a", "b"]}, strict=True)
    with pytest.raises(ValueError, match="missing sensitive value") as exc:
        fn(data)
    assert not isinstance(exc.value, NotComputable)


def test_missing_sensitive_value_not_strict_is_its_own_group():
    y = [1, 0, 1, 0, 1, 0]
    s = [0.9, 0.1, 0.6, 0.7, 0.8, 0.2]
    g = ["a", np.nan, "a", "b", np.nan, "b"]
    mv = fair.demographic_parity_difference(clf_data(y, s, sensitive={"g": g}, strict=False))
    # by hand: a -> preds [1, 1] rate 1; b -> [1, 0] rate 1/2; (missing) -> [0, 1] rate 1/2
    assert set(mv.details["by_group"]) == {"a", "b", "(missing)"}
    assert mv.details["by_group"]["(missing)"]["count"] == 2
    assert mv.details["by_group"]["(missing)"]["selection_rate"] == pytest.approx(0.5)
    assert mv.details["n_missing_sensitive"] == 2
    assert mv.value == pytest.approx(0.5)


# --------------------------------------------------------------------------------------------------
# 2a. Classification: hand-computed small cases (ties at the threshold included)
# --------------------------------------------------------------------------------------------------

# y and scores with ties exactly at 0.5 and 0.3. At T = 0.5 (score >= T): preds [1,1,0,0,0,1],
# TP 2, FP 1, FN 1, TN 2. At T = 0.3: preds [1,1,0,1,0,1], TP 2, FP 2, FN 1, TN 1.
TIE_Y = [1, 1, 0, 0, 1, 0]
TIE_S = [0.9, 0.5, 0.2, 0.3, 0.2, 0.7]
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
# 2c. Regression: hand cases and HMDA vs scikit-learn / numpy
# --------------------------------------------------------------------------------------------------


def test_regression_by_hand():
    data = reg_data([1, 2], [2, 1])
    assert reg.rmse(data).value == pytest.approx(1.0)
    assert reg.mae(data).value == pytest.approx(1.0)
    assert reg.r2(data).value == pytest.approx(1 - 2 / 0.5)  # SS_res 2, SS_tot 0.5
    assert reg.mape(data).value == pytest.approx(100 * (1 / 1 + 1 / 2) / 2)


def test_hmda_rmse(hmda_reg):
    y, f = hmda_reg
    v = reg.rmse(reg_data(y, f)).value
    assert v == pytest.approx(np.sqrt(skm.mean_squared_error(y, f)), rel=1e-12)


def test_hmda_mae(hmda_reg):
    y, f = hmda_reg
    assert reg.mae(reg_data(y, f)).value == pytest.approx(skm.mean_absolute_error(y, f), rel=1e-12)


def test_hmda_r2(hmda_reg):
    y, f = hmda_reg
    assert reg.r2(reg_data(y, f)).value == pytest.approx(skm.r2_score(y, f), rel=1e-12)


def test_hmda_mape(hmda_reg):
    y, f = hmda_reg
    mv = reg.mape(reg_data(y, f))
    assert mv.value == pytest.approx(100 * skm.mean_absolute_percentage_error(y, f), rel=1e-12)
    assert mv.details["unit"] == "%"


def test_hmda_mape_zero_actual_counted(hmda_reg):
    y, f = hmda_reg
    y = y.copy()
    y[[3, 70, 400]] = 0.0
    with pytest.raises(NotComputable) as exc:
        reg.mape(reg_data(y, f))
    assert exc.value.details["n_zero_actuals"] == 3
    # scikit-learn returns a huge finite number here instead (divides by eps).
    assert skm.mean_absolute_percentage_error(y, f) > 1e10


@pytest.mark.parametrize("variant", ["0-200", "0-100"])
def test_hmda_smape(hmda_reg, variant):
    y, f = hmda_reg
    den = np.abs(y) + np.abs(f)
    if variant == "0-200":
        den = den / 2
    expected = 100 * np.mean(np.abs(y - f) / den)
    mv = reg.smape(reg_data(y, f), variant=variant)
    assert mv.value == pytest.approx(expected, rel=1e-12)
    assert mv.details["variant"] == variant


def test_hmda_smape_default_is_0_200(hmda_reg):
    y, f = hmda_reg
    expected = 100 * np.mean(2 * np.abs(y - f) / (np.abs(y) + np.abs(f)))
    assert reg.smape(reg_data(y, f)).value == pytest.approx(expected, rel=1e-12)


def test_smape_zero_pair_counts_as_exact():
    # pair (0, 0) contributes 0; pair (1, 3): 0-200 -> 2 / 2 = 1, 0-100 -> 2 / 4 = 0.5
    data = reg_data([0, 1], [0, 3])
    mv = reg.smape(data)
    assert mv.value == pytest.approx(50.0)
    assert mv.details["n_zero_pairs"] == 1
    assert reg.smape(data, variant="0-100").value == pytest.approx(25.0)


def test_smape_unknown_variant():
    with pytest.raises(NotComputable):
        reg.smape(reg_data([1, 2], [2, 1]), variant="0-300")
    validate = default_registry().resolve("smape").spec.params["variant"]
    assert validate("0-100") == "0-100"
    with pytest.raises(ValueError):
        validate("0-300")


# --------------------------------------------------------------------------------------------------
# 2d. Fairness: hand cases and HMDA vs fairlearn and a pandas groupby
# --------------------------------------------------------------------------------------------------


def _by_hand(y: np.ndarray, yp: np.ndarray, groups) -> pd.DataFrame:
    """Per-group count, selection rate, TPR and FPR from a plain pandas groupby."""
    df = pd.DataFrame({"y": np.asarray(y), "p": np.asarray(yp), "g": np.asarray(groups)})
    return pd.DataFrame({
        "count": df.groupby("g").size(),
        "selection_rate": df.groupby("g")["p"].mean(),
        "tpr": df[df.y == 1].groupby("g")["p"].mean(),
        "fpr": df[df.y == 0].groupby("g")["p"].mean(),
    })


def _spread(s: pd.Series) -> float:
    return float(s.max() - s.min())


def test_fairness_by_hand():
    # preds (>= 0.5) [1,0,0, 1,1,1]; a: sel 1/3, TPR 1/2, FPR 0; b: sel 1, TPR 1, FPR 1
    data = clf_data([1, 0, 1, 0, 1, 0], [0.9, 0.1, 0.2, 0.8, 0.7, 0.6], sensitive={"g": list("aaabbb")})
    assert fair.demographic_parity_difference(data).value == pytest.approx(2 / 3)
    assert fair.equal_opportunity_difference(data).value == pytest.approx(1 / 2)
    mv = fair.equalized_odds_difference(data)
    assert mv.value == pytest.approx(1.0)
    assert mv.details["tpr_difference"] == pytest.approx(0.5)
    assert mv.details["fpr_difference"] == pytest.approx(1.0)


def test_equalized_odds_group_without_negative_labels_not_computable():
    data = clf_data([1, 1, 1, 0], [0.9, 0.1, 0.6, 0.7], sensitive={"g": ["a", "a", "b", "b"]})
    with pytest.raises(NotComputable, match="negative labels"):
        fair.equalized_odds_difference(data)
    # equal opportunity only needs positives, which both groups have: a TPR 1/2, b TPR 1
    assert fair.equal_opportunity_difference(data).value == pytest.approx(0.5)


def test_fairness_without_sensitive_not_computable():
    with pytest.raises(NotComputable):
        fair.demographic_parity_difference(clf_data([1, 0], [0.9, 0.1]))


FAIRLEARN = {
    "demographic_parity_difference": (fair.demographic_parity_difference, flm.demographic_parity_difference),
    "equal_opportunity_difference": (fair.equal_opportunity_difference, flm.equal_opportunity_difference),
    "equalized_odds_difference": (fair.equalized_odds_difference, flm.equalized_odds_difference),
}


def _hand_value(name: str, table: pd.DataFrame) -> float:
    if name == "demographic_parity_difference":
        return _spread(table["selection_rate"])
    if name == "equal_opportunity_difference":
        return _spread(table["tpr"])
    return max(_spread(table["tpr"]), _spread(table["fpr"]))


@pytest.mark.parametrize("name", list(FAIRLEARN))
@pytest.mark.parametrize("t", THRESHOLDS)
def test_hmda_fairness_vs_fairlearn_and_groupby(hmda_clf, name, t):
    y, s, sf = hmda_clf
    ours, theirs = FAIRLEARN[name]
    yp = (s >= t).astype(int)
    afam = sf["afam"].to_numpy()
    expected_fl = theirs(y, yp, sensitive_features=afam)
    table = _by_hand(y, yp, afam)
    assert expected_fl == pytest.approx(_hand_value(name, table), abs=1e-12)  # the two references agree

    via_param = ours(clf_data(y, s, sensitive=sf[["afam"]]), threshold=t)
    via_policy = ours(clf_data(y, s, sensitive=sf[["afam"]], decision_threshold=t))
    for mv in (via_param, via_policy):
        assert mv.value == pytest.approx(expected_fl, abs=1e-12)
        assert mv.details["threshold"] == t
        assert set(mv.details["by_group"]) == set(table.index)
        for g, row in table.iterrows():
            got = mv.details["by_group"][g]
            assert got["count"] == row["count"]
            assert got["selection_rate"] == pytest.approx(row["selection_rate"])
            assert got["true_positive_rate"] == pytest.approx(row["tpr"])
            assert got["false_positive_rate"] == pytest.approx(row["fpr"])


def test_hmda_fairness_sensitive_column_param(hmda_clf):
    """With two sensitive columns given, ``sensitive=["afam"]`` restricts the metric to afam."""
    y, s, sf = hmda_clf
    expected = flm.demographic_parity_difference(y, (s >= 0.5).astype(int), sensitive_features=sf["afam"].to_numpy())
    mv = fair.demographic_parity_difference(clf_data(y, s, sensitive=sf), sensitive=["afam"])
    assert mv.value == pytest.approx(expected, abs=1e-12)
    assert mv.details["sensitive_columns"] == ["afam"]


@pytest.mark.parametrize("name", list(FAIRLEARN))
def test_hmda_fairness_intersection_of_two_columns(hmda_clf, name):
    y, s, sf = hmda_clf
    ours, theirs = FAIRLEARN[name]
    yp = (s >= 0.3).astype(int)
    expected_fl = theirs(y, yp, sensitive_features=sf.reset_index(drop=True))
    table = _by_hand(y, yp, ("afam=" + sf["afam"] + ", single=" + sf["single"]).to_numpy())
    assert len(table) == 4
    assert expected_fl == pytest.approx(_hand_value(name, table), abs=1e-12)
    mv = ours(clf_data(y, s, sensitive=sf), threshold=0.3)
    assert mv.value == pytest.approx(expected_fl, abs=1e-12)
    assert set(mv.details["by_group"]) == set(table.index)


def test_hmda_fairness_missing_sensitive_not_strict(hmda_clf):
    y, s, sf = hmda_clf
    afam = sf[["afam"]].copy()
    afam.iloc[[0, 5, 17, 250, 499], 0] = np.nan
    with pytest.raises(ValueError):
        fair.demographic_parity_difference(clf_data(y, s, sensitive=afam, strict=True))
    mv = fair.demographic_parity_difference(clf_data(y, s, sensitive=afam, strict=False))
    groups = afam["afam"].fillna("(missing)").to_numpy()
    yp = (s >= 0.5).astype(int)
    table = _by_hand(y, yp, groups)
    assert mv.value == pytest.approx(_spread(table["selection_rate"]), abs=1e-12)
    assert mv.value == pytest.approx(flm.demographic_parity_difference(y, yp, sensitive_features=groups), abs=1e-12)
    assert mv.details["by_group"]["(missing)"]["count"] == 5
    assert mv.details["n_missing_sensitive"] == 5


def test_fairness_intersection_with_an_empty_combination():
    """Two sensitive columns whose cross product has an unobserved cell (y & q).

    Only observed groups count: x&p (scores .9, .6) rate 1; x&q (.1, .7) rate 1/2; y&p (.2, .8, .55, .1) rate 1/2.
    """
    y = [1, 0, 1, 0, 1, 0, 1, 0]
    s = [0.9, 0.1, 0.6, 0.7, 0.2, 0.8, 0.55, 0.1]
    sf = {"a": list("xxxxyyyy"), "b": list("pqpqpppp")}
    mv = fair.demographic_parity_difference(clf_data(y, s, sensitive=sf))
    assert mv.value == pytest.approx(0.5)
    assert set(mv.details["by_group"]) == {"a=x, b=p", "a=x, b=q", "a=y, b=p"}
    assert flm.demographic_parity_difference(y, (np.asarray(s) >= 0.5).astype(int),
                                             sensitive_features=pd.DataFrame(sf)) == pytest.approx(0.5)


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


@pytest.mark.parametrize("fn", [reg.rmse, reg.mae, reg.r2, reg.mape, reg.smape])
def test_regression_missing_values_not_computable(fn):
    with pytest.raises(NotComputable) as exc:
        fn(reg_data([1, 2, np.nan, 4], [1, np.inf, 3, 4]))
    assert exc.value.details["n_missing"] == 2


def test_r2_constant_target_or_one_row_not_computable():
    with pytest.raises(NotComputable, match="constant"):
        reg.r2(reg_data([3, 3, 3], [1, 2, 3]))
    with pytest.raises(NotComputable):
        reg.r2(reg_data([3], [1]))


def test_task_mismatch_not_computable():
    with pytest.raises(NotComputable):
        clf.roc_auc(EvalData(y_true=arr(1.5, 2.0, 0.3), y_score=arr(0.1, 0.2, 0.3), task="regression"))
    with pytest.raises(NotComputable):
        reg.rmse(clf_data([1, 0], [0.9, 0.1]))


# --------------------------------------------------------------------------------------------------
# 3. Registry
# --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("name", "canonical"), [
    ("roc_auc", "roc_auc"),
    ("auc_roc", "roc_auc"),
    ("auc", "roc_auc"),
    ("average_precision", "pr_auc"),
    ("brier", "brier_score"),
    ("r2_score", "r2"),
    ("fairness_demographic_parity_diff", "demographic_parity_difference"),
    ("fairness_equal_opportunity_diff", "equal_opportunity_difference"),
    ("fairness_equalized_odds_diff", "equalized_odds_difference"),
])
def test_resolve_aliases(name, canonical):
    res = default_registry().resolve(name)
    assert res is not None
    assert res.spec.name == canonical
    assert res.canonical == canonical
    assert res.name_params == {}


@pytest.mark.parametrize(("name", "spec", "threshold", "canonical"), [
    ("precision_at_0_5", "precision_at_T", 0.5, "precision_at_0_5"),
    ("precision_at_0_50", "precision_at_T", 0.5, "precision_at_0_5"),
    ("recall_at_0_35", "recall_at_T", 0.35, "recall_at_0_35"),
    ("f1_at_0_3", "f1_at_T", 0.3, "f1_at_0_3"),
    ("f1_at_1_0", "f1_at_T", 1.0, "f1_at_1_0"),
    ("recall_at_0_0", "recall_at_T", 0.0, "recall_at_0_0"),
])
def test_resolve_parametric(name, spec, threshold, canonical):
    res = default_registry().resolve(name)
    assert res is not None
    assert res.spec.name == spec
    assert res.name_params == {"threshold": threshold}
    assert res.canonical == canonical


@pytest.mark.parametrize("name", ["precision_at_0_5", "recall_at_0_35", "f1_at_0_05", "precision_at_0_0001",
                                  "recall_at_0_00001"])
def test_canonical_name_round_trips(name):
    res = default_registry().resolve(name)
    again = default_registry().resolve(res.canonical)
    assert again is not None, f"{name} -> canonical {res.canonical!r} does not resolve"
    assert again.name_params == res.name_params


@pytest.mark.parametrize("name", ["nope", "", "precision_at_1_5", "accuracy_at_0_5", "precision_at_0.5",
                                  "precision_at_5", "roc_auc_at_0_5", "precision_at_-0_5"])
def test_resolve_unknown_is_none(name):
    assert default_registry().resolve(name) is None


def test_suggest():
    r = default_registry()
    assert r.suggest("auc_rco") in {"auc_roc", "roc_auc"}
    assert r.suggest("precison_at_0_5") == "precision_at_0_5"
    assert r.resolve(r.suggest("precison_at_0_5")) is not None
    assert r.suggest("fairness_demographic_parity_dif") == "fairness_demographic_parity_diff"
    assert r.suggest("zzzzzz") is None


def test_register_duplicate_name_rejected():
    r = default_registry()
    spec = r.resolve("roc_auc").spec
    with pytest.raises(ValueError, match="already registered"):
        r.register(spec)


def test_default_registry_is_fresh_each_time():
    a, b = default_registry(), default_registry()
    spec = a.resolve("mae").spec
    from gatekit.metrics import MetricSpec

    a.register(MetricSpec("my_metric", "performance", "x", "test", spec.fn))
    assert a.resolve("my_metric") is not None
    assert b.resolve("my_metric") is None


def test_threshold_param_validator():
    validate = default_registry().resolve("precision_at_0_5").spec.params["threshold"]
    assert validate(0.3) == pytest.approx(0.3)
    for bad in (1.5, -0.1, "0.3", True):  # strict: YAML `yes` is a boolean, "0.3" a string
        with pytest.raises(ValueError):
            validate(bad)


def test_every_accepted_name_is_evaluable_from_its_name_alone():
    """A name ``resolve`` accepts must evaluate with only its name's parameters (value or NotComputable).

    Otherwise a policy that passed validation fails at run time with a TypeError.
    """
    r = default_registry()
    data = clf_data(TIE_Y, TIE_S, sensitive={"g": list("aabbab")})
    for name in r.names():
        res = r.resolve(name)
        if name.endswith("_at_T"):
            assert res is None  # a placeholder: policies write precision_at_0_5
            continue
        assert res is not None
        if res.spec.fn is None:
            continue
        try:
            mv = res.spec.fn(data, **res.name_params)
        except NotComputable:
            continue
        assert isinstance(mv, MetricValue), name
        assert np.isfinite(mv.value), name


def test_group_names_never_merge_distinct_groups():
    """Values containing the separator must not make two groups one (this hid a disparity of 1.0)."""
    y = np.array([1, 0, 1, 0, 1, 0])
    s = np.array([0.9, 0.9, 0.1, 0.1, 0.9, 0.9])
    sf = pd.DataFrame({"a": ["p, b=q", "p, b=q", "p", "p", "s", "s"], "b": ["r", "r", "q, b=r", "q, b=r", "t", "t"]})
    mv = fair.demographic_parity_difference(clf_data(y, s, sensitive=sf))
    yp = (s >= 0.5).astype(int)
    expected = flm.demographic_parity_difference(y, yp, sensitive_features=sf)
    assert len(mv.details["by_group"]) == 3
    assert mv.value == pytest.approx(expected) == pytest.approx(1.0)


def test_literal_missing_label_does_not_merge_with_missing_values():
    y = np.array([1, 0, 1, 0])
    s = np.array([0.9, 0.9, 0.1, 0.1])
    sf = pd.DataFrame({"g": ["(missing)", "(missing)", None, None]})
    mv = fair.demographic_parity_difference(clf_data(y, s, sensitive=sf, strict=False))
    assert len(mv.details["by_group"]) == 2 and mv.value == pytest.approx(1.0)


def test_threshold_metrics_refuse_scores_outside_unit_interval():
    y = np.array([1, 0, 1, 0])
    s = np.array([90.0, 10.0, 60.0, 40.0])  # percent, not probabilities
    with pytest.raises(NotComputable, match=r"\[0, 1\]"):
        clf.precision_at(clf_data(y, s), 0.5)
    assert clf.roc_auc(clf_data(y, s)).value == 1.0  # ranking metrics do not care about scale
