"""Tests of :mod:`gatekit.metrics.regression`.

Expected values are computed independently of the code under test: by hand, from the documented
formula written here, or by calling scikit-learn, fairlearn, numpy or scipy directly.
"""

from __future__ import annotations

import numpy as np
import pytest
import sklearn.metrics as skm

from gatekit.core.errors import NotComputable
from gatekit.metrics import EvalData, default_registry
from gatekit.metrics import regression as reg


def reg_data(y, forecast) -> EvalData:
    return EvalData(y_true=np.asarray(y, dtype=float), y_score=np.asarray(forecast, dtype=float), task="regression")


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


def test_r2_of_a_constant_target_whose_mean_rounds_is_not_computable() -> None:
    # three actuals of 0.1: numpy's mean is 0.10000000000000002, so SS_tot is ~1e-34, not 0, and the
    # formula alone would give an R2 of about -1e33; a constant target has no R2
    from gatekit.metrics.regression import r2

    y = np.full(3, 0.1)
    assert np.sum((y - y.mean()) ** 2) > 0
    with pytest.raises(NotComputable, match="constant"):
        r2(EvalData(y_true=y, y_score=np.array([0.0, 0.5, 1.0]), task="regression"))
