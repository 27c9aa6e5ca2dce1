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


# --------------------------------------------------------------------------------------------------
# forecasting: WAPE, MASE, pinball loss, interval coverage

def _naive_scale(train: list[float] | np.ndarray, m: int) -> float:
    """(1 / (n - m)) * sum_{t=m+1..n} |y_t - y_{t-m}| (Hyndman & Koehler 2006), written as a plain loop."""
    total = 0.0
    for t in range(m, len(train)):
        total += abs(float(train[t]) - float(train[t - m]))
    return total / (len(train) - m)


def _compact(data: EvalData) -> tuple[EvalData, EvalData]:
    """Return ``data`` with repeated rows and the same rows as distinct rows with counts (an engine's form)."""
    rng = np.random.default_rng(5)
    reps = rng.integers(1, 4, size=len(data.y_true))
    expanded = EvalData(y_true=np.repeat(data.y_true, reps), y_score=np.repeat(data.y_score, reps),
                        task="regression", train_target=data.train_target,
                        quantiles=None if data.quantiles is None else
                        {q: np.repeat(a, reps) for q, a in data.quantiles.items()})
    compact = EvalData(y_true=data.y_true, y_score=data.y_score, task="regression", weights=reps,
                       train_target=data.train_target, quantiles=data.quantiles)
    return expanded, compact


def _quantile_rows(n: int = 400, seed: int = 3) -> EvalData:
    rng = np.random.default_rng(seed)
    y = 50 + 10 * rng.normal(size=n)
    f = y + 4 * rng.normal(size=n)
    return EvalData(y_true=y, y_score=f, task="regression",
                    quantiles={0.1: f - 5.0, 0.5: f, 0.9: f + 5.0, 0.05: f - 6.5, 0.95: f + 6.5},
                    train_target=50 + 10 * rng.normal(size=300))


def test_wape_by_hand():
    # |10-12| + |0-1| + |20-17| = 6; |10| + |0| + |20| = 30 -> 20 %; an actual of 0 is fine (MAPE refuses it)
    mv = reg.wape(reg_data([10, 0, 20], [12, 1, 17]))
    assert mv.value == pytest.approx(20.0)
    assert mv.details["sum_abs_actual"] == 30.0


def test_wape_formula_and_zero_total():
    rows = _quantile_rows()
    want = 100 * np.sum(np.abs(rows.y_true - rows.y_score)) / np.sum(np.abs(rows.y_true))
    assert reg.wape(rows).value == pytest.approx(want, rel=1e-12)
    with pytest.raises(NotComputable, match="every actual is 0"):
        reg.wape(reg_data([0, 0], [1, 2]))


def test_mase_by_hand():
    # train 1, 3, 2, 5: lag-1 errors 2, 1, 3 -> scale 2; lag-2 errors 1, 2 -> scale 1.5
    # y 4, 6 against f 5, 4: MAE 1.5 -> MASE 0.75 (m = 1) and 1.0 (m = 2)
    data = EvalData(y_true=np.array([4.0, 6.0]), y_score=np.array([5.0, 4.0]), task="regression",
                    train_target=np.array([1.0, 3.0, 2.0, 5.0]))
    assert reg.mase(data).value == pytest.approx(0.75)
    mv = reg.mase(data, seasonal_period=2)
    assert mv.value == pytest.approx(1.0)
    assert mv.details["naive_mae"] == pytest.approx(1.5)
    assert mv.details["seasonal_period"] == 2


@pytest.fixture(scope="module")
def elecdemand():
    """Victoria's half-hourly demand (fpp2 elecdemand, the demo's data): Jan-Oct to train, Nov-Dec held out."""
    from pathlib import Path

    import pandas as pd

    df = pd.read_csv(Path(__file__).resolve().parents[2] / "data" / "elecdemand" / "elecdemand.csv")
    cut = df["timestamp"] < "2014-11-01"
    return df.loc[cut, "Demand"].to_numpy(), df.loc[~cut, "Demand"].to_numpy()


@pytest.mark.parametrize("m", [1, 48, 336])
def test_mase_on_elecdemand_against_the_formula(elecdemand, m):
    train, hold = elecdemand
    forecast = np.concatenate([train[-336:], hold[:-336]])  # the value one week before
    data = EvalData(y_true=hold, y_score=forecast, task="regression", train_target=train)
    want = np.mean(np.abs(hold - forecast)) / _naive_scale(train, m)
    assert reg.mase(data, seasonal_period=m).value == pytest.approx(want, rel=1e-12)


def test_mase_refuses_without_a_usable_training_series():
    y, f = np.array([1.0, 2.0]), np.array([1.5, 2.5])
    with pytest.raises(NotComputable, match=r"inputs\.reference"):
        reg.mase(EvalData(y_true=y, y_score=f, task="regression"))
    with pytest.raises(NotComputable, match="needs at least 3"):
        reg.mase(EvalData(y_true=y, y_score=f, task="regression", train_target=np.array([1.0, 2.0])),
                 seasonal_period=2)
    with pytest.raises(NotComputable, match="scale is 0"):  # repeats every 2 values: seasonal naive is exact
        reg.mase(EvalData(y_true=y, y_score=f, task="regression", train_target=np.array([1.0, 2.0, 1.0, 2.0])),
                 seasonal_period=2)
    with pytest.raises(NotComputable, match="1 rows of the training series"):
        reg.mase(EvalData(y_true=y, y_score=f, task="regression", train_target=np.array([1.0, np.nan, 3.0])))


def test_mase_reads_a_callable_training_series():
    data = EvalData(y_true=np.array([4.0, 6.0]), y_score=np.array([5.0, 4.0]), task="regression",
                    train_target=lambda: [1.0, 3.0, 2.0, 5.0])
    assert reg.mase(data).value == pytest.approx(0.75)


def test_seasonal_period_parameter_is_validated():
    validate = default_registry().resolve("mase").spec.params["seasonal_period"]
    assert validate(48) == 48
    for bad in (0, -1, 1.5, "48", True):
        with pytest.raises(ValueError, match="whole number"):
            validate(bad)


@pytest.mark.parametrize("q", [0.05, 0.1, 0.5, 0.9, 0.95])
def test_pinball_loss_against_sklearn(q):
    rows = _quantile_rows()
    want = skm.mean_pinball_loss(rows.y_true, rows.quantiles[q], alpha=q)
    res = default_registry().resolve(f"pinball_loss_at_{str(q).replace('.', '_')}")
    assert res is not None and res.canonical == f"pinball_loss_at_{str(q).replace('.', '_')}"
    assert res.spec.fn(rows, **res.name_params).value == pytest.approx(want, rel=1e-12)


def test_pinball_loss_by_hand():
    # q = 0.9: y 10 above f 8 costs 0.9 * 2 = 1.8; y 10 below f 13 costs 0.1 * 3 = 0.3 -> mean 1.05
    data = EvalData(y_true=np.array([10.0, 10.0]), y_score=np.array([9.0, 9.0]), task="regression",
                    quantiles={0.9: np.array([8.0, 13.0])})
    assert reg.pinball_loss(data, 0.9).value == pytest.approx(1.05)


def test_pinball_loss_refusals():
    rows = _quantile_rows()
    with pytest.raises(NotComputable, match=r"no forecast of the 0.7 quantile.*quantiles given: 0.05, 0.1, 0.5"):
        reg.pinball_loss(rows, 0.7)
    with pytest.raises(NotComputable, match="strictly between 0 and 1"):
        reg.pinball_loss(rows, 1.0)
    gap = EvalData(y_true=np.array([1.0, 2.0]), y_score=np.array([1.0, 2.0]), task="regression",
                   quantiles={0.9: np.array([np.nan, 2.0])})
    with pytest.raises(NotComputable, match="1 rows have a missing"):
        reg.pinball_loss(gap, 0.9)


@pytest.mark.parametrize(("c", "lo", "hi"), [(0.8, 0.1, 0.9), (0.9, 0.05, 0.95)])
def test_interval_coverage_against_numpy(c, lo, hi):
    rows = _quantile_rows()
    lower, upper = rows.quantiles[lo], rows.quantiles[hi]
    want = np.mean((rows.y_true >= lower) & (rows.y_true <= upper))
    mv = reg.interval_coverage(rows, c)
    assert mv.value == pytest.approx(want, abs=0)
    assert mv.details["nominal"] == c
    assert mv.details["n_below"] == int(np.sum(rows.y_true < lower))
    assert mv.details["n_above"] == int(np.sum(rows.y_true > upper))


def test_interval_coverage_by_hand_and_refusals():
    # interval [1, 3] holds 1 and 3 (bounds inclusive), not 0 or 4: coverage 0.5
    data = EvalData(y_true=np.array([0.0, 1.0, 3.0, 4.0]), y_score=np.full(4, 2.0), task="regression",
                    quantiles={0.25: np.full(4, 1.0), 0.75: np.full(4, 3.0)})
    assert reg.interval_coverage(data, 0.5).value == 0.5
    with pytest.raises(NotComputable, match=r"no forecast of the 0\.1 quantile"):
        reg.interval_coverage(data, 0.8)
    crossed = EvalData(y_true=np.array([1.0, 2.0]), y_score=np.array([1.0, 2.0]), task="regression",
                       quantiles={0.1: np.array([0.0, 3.0]), 0.9: np.array([2.0, 1.0])})
    with pytest.raises(NotComputable, match="crossed"):
        reg.interval_coverage(crossed, 0.8)


@pytest.mark.parametrize(("fn", "kw"), [(reg.wape, {}), (reg.mase, {"seasonal_period": 3}),
                                        (reg.pinball_loss, {"threshold": 0.9}),
                                        (reg.interval_coverage, {"threshold": 0.8})])
def test_forecast_metrics_on_counted_rows_equal_the_expanded_rows(fn, kw):
    expanded, compact = _compact(_quantile_rows(60))
    assert fn(compact, **kw).value == pytest.approx(fn(expanded, **kw).value, rel=1e-12)


def test_pinball_loss_with_counts_against_sklearn_sample_weight():
    _, compact = _compact(_quantile_rows(60))
    want = skm.mean_pinball_loss(compact.y_true, compact.quantiles[0.1], alpha=0.1, sample_weight=compact.weights)
    assert reg.pinball_loss(compact, 0.1).value == pytest.approx(want, rel=1e-12)


def test_forecast_metrics_are_listed_with_their_parameters():
    reg_ = default_registry()
    assert reg_.resolve("mase").spec.params.keys() == {"seasonal_period"}
    assert reg_.resolve("wape").spec.unit == "%"
    assert reg_.resolve("interval_coverage_at_0_8").name_params == {"threshold": 0.8}
    assert reg_.resolve("pinball_loss_at_0_95").canonical == "pinball_loss_at_0_95"
