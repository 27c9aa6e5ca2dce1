"""Tests of :mod:`gatekit.data.aggregate`: the DuckDB engine's aggregated evaluation rows give pandas' figures."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import gatekit
from gatekit.core.errors import InputError
from gatekit.data import aggregate


def _rows(n: int = 600, seed: int = 1) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    a, b = rng.normal(size=n), rng.normal(size=n)
    y = (a + 0.5 * b + rng.normal(size=n) > 0).astype(int)
    return pd.DataFrame({"a": a, "b": b, "g": rng.choice(["p", "q"], n), "h": rng.choice(["u", "v", "w"], n),
                         "y": y, "label": np.where(y == 1, "yes", "no"),
                         "s": np.round(1 / (1 + np.exp(-a)), 2), "s_prod": np.round(1 / (1 + np.exp(-b)), 2),
                         "pred": np.where(a > 0, "yes", "no"), "amount": 100 + 10 * a + rng.normal(size=n),
                         "forecast": 100 + 9 * a})


def _same(pol: dict, **kwargs) -> list[tuple[str, str, float | None]]:
    """Run ``pol`` on both engines and assert the same statuses and observed values; return pandas' checks."""
    by = {}
    for engine in ("pandas", "duckdb"):
        r = gatekit.run(pol, engine=engine, **kwargs)
        by[engine] = [(c.name, c.status.value, c.observed) for c in r.checks]
    assert [(n, s) for n, s, _ in by["duckdb"]] == [(n, s) for n, s, _ in by["pandas"]]
    for (name, _, want), (_, _, got) in zip(by["pandas"], by["duckdb"], strict=True):
        assert (want is None) == (got is None), name
        if want is not None:
            assert got == pytest.approx(want, rel=1e-9, abs=1e-12), name
    return by["pandas"]


CLASSIFICATION = {"version": 1, "name": "c", "metrics": [
    {"name": "auc_roc", "op": ">=", "value": 0.6}, {"name": "pr_auc", "op": ">=", "value": 0.5},
    {"name": "accuracy", "op": ">=", "value": 0.6}, {"name": "log_loss", "op": "<=", "value": 0.8},
    {"name": "brier_score", "op": "<=", "value": 0.3}, {"name": "recall_at_0_5", "op": ">=", "value": 0.5},
    {"name": "f1_at_0_5", "op": ">=", "value": 0.5},
    {"name": "demographic_parity_difference", "op": "<=", "value": 0.2, "params": {"sensitive": "g"}},
    {"name": "equalized_odds_difference", "op": "<=", "value": 0.3, "params": {"sensitive": ["g", "h"]}}]}


def test_classification_from_a_score_column(tmp_path: Path) -> None:
    checks = _same(CLASSIFICATION, data=_rows(), target="label", score="s")
    assert all(v is not None for *_, v in checks)


def test_classification_from_a_prediction_column() -> None:
    pol = {"version": 1, "metrics": [{"name": "accuracy", "op": ">=", "value": 0.6},
                                     {"name": "precision_at_0_5", "op": ">=", "value": 0.5},
                                     {"name": "demographic_parity_difference", "op": "<=", "value": 0.2,
                                      "params": {"sensitive": "g"}}]}
    _same(pol, data=_rows(), target="label", prediction="pred")


def test_regression_from_a_forecast_column() -> None:
    pol = {"version": 1, "metrics": [{"name": n, "op": "<=", "value": 50} for n in ("rmse", "mae", "mape", "smape")]
           + [{"name": "r2", "op": ">=", "value": 0.5}]}
    _same(pol, data=_rows(), target="amount", score="forecast")


def test_a_model_scores_the_table_in_batches(tmp_path: Path, monkeypatch) -> None:
    import skops.io as sio
    from sklearn.linear_model import LogisticRegression

    rows = _rows()
    model = LogisticRegression().fit(rows[["a", "b"]], rows["y"])
    path = tmp_path / "m.skops"
    sio.dump(model, path)
    monkeypatch.setattr(aggregate, "BATCH_ROWS", 128)  # five batches of the 600 rows
    rows.to_parquet(tmp_path / "d.parquet")
    _same(CLASSIFICATION, data=tmp_path / "d.parquet", target="y", model=path)
    pol = {**CLASSIFICATION, "metrics": [{"name": "auc_roc", "max_drop": 0.5, "confidence": 0.95,
                                          "interval": "delong"},
                                         {"name": "prediction_agreement_rate", "op": ">=", "value": 0.1}]}
    base = LogisticRegression().fit(rows[["b"]], rows["y"])
    bpath = tmp_path / "b.skops"
    sio.dump(base, bpath)
    _same(pol, data=tmp_path / "d.parquet", target="y", model=path, baseline_model=bpath)


def test_a_production_score_column_is_compared_pairwise() -> None:
    pol = {"version": 1, "metrics": [{"name": "auc_roc", "max_drop": 0.5, "confidence": 0.95, "interval": "delong"},
                                     {"name": "mean_score_difference", "op": "<=", "value": 1}]}
    _same(pol, data=_rows(), target="y", score="s", baseline_score="s_prod")


def test_shadow_without_labels() -> None:
    pol = {"version": 1, "metrics": [{"name": "prediction_agreement_rate", "op": ">=", "value": 0.1},
                                     {"name": "mean_score_difference", "op": "<=", "value": 1}]}
    _same(pol, data=_rows().drop(columns=["y", "label"]), score="s", baseline_score="s_prod")


def test_rows_without_a_target_are_refused_on_duckdb() -> None:
    rows = _rows()
    rows.loc[[3, 7], "y"] = np.nan
    with pytest.raises(InputError, match="2 rows have no target value"):
        gatekit.run(CLASSIFICATION, data=rows, target="y", score="s", engine="duckdb")


def test_a_missing_role_column_names_the_closest_one() -> None:
    with pytest.raises(InputError, match="score column 'sc' not found; did you mean 's'"):
        gatekit.run(CLASSIFICATION, data=_rows(), target="y", score="sc", engine="duckdb")


def test_the_aggregated_rows_are_far_fewer_than_the_rows() -> None:
    rows = pd.concat([_rows()] * 20, ignore_index=True)  # 12,000 rows, 600 distinct
    r = gatekit.run(CLASSIFICATION, data=rows, target="y", score="s", engine="duckdb")
    agg = r.metadata["inputs"]["aggregated_rows"]
    assert agg["rows"] == 12_000 and agg["groups"] <= 600


def _forecast_files(tmp_path: Path) -> tuple[Path, Path, pd.DataFrame, pd.DataFrame]:
    """A seasonal series (period 24): Jan-Oct-like training rows and a held-out stretch with quantile forecasts."""
    rng = np.random.default_rng(11)
    t = np.arange(900)
    y = np.round(20 + 5 * np.sin(2 * np.pi * t / 24) + rng.normal(size=900), 2)
    train, hold = pd.DataFrame({"y": y[:600]}), pd.DataFrame({"y": y[600:]})
    f = np.round(hold["y"].to_numpy() + rng.normal(scale=0.8, size=300), 1)
    hold = hold.assign(f=f, p10=f - 1.0, p90=f + 1.0, p50=f)
    train.to_parquet(tmp_path / "train.parquet")
    hold.to_parquet(tmp_path / "hold.parquet")
    return tmp_path / "hold.parquet", tmp_path / "train.parquet", hold, train


FORECAST = {"version": 1, "inputs": {"quantiles": {0.1: "p10", 0.5: "p50", 0.9: "p90"}}, "metrics": [
    {"name": "wape", "op": "<=", "value": 10}, {"name": "mase", "op": "<=", "value": 2},
    {"name": "mase", "op": "<=", "value": 2, "params": {"seasonal_period": 24}},
    {"name": "pinball_loss_at_0_1", "op": "<=", "value": 1}, {"name": "pinball_loss_at_0_9", "op": "<=", "value": 1},
    {"name": "interval_coverage_at_0_8", "op": ">=", "value": 0.5}]}


@pytest.mark.parametrize("engine", ["duckdb", "spark"])
def test_forecast_metrics_on_the_engines_equal_pandas_and_the_formulas(tmp_path: Path, engine: str,
                                                                       request: pytest.FixtureRequest) -> None:
    import sklearn.metrics as skm

    if engine == "spark":
        request.getfixturevalue("spark")
    data, ref, hold, train = _forecast_files(tmp_path)
    runs = {e: gatekit.run(FORECAST, data=data, reference=ref, target="y", score="f", engine=e)
            for e in ("pandas", engine)}
    assert runs[engine].metadata["engine"]["name"] == engine
    y, f, tr = hold["y"].to_numpy(), hold["f"].to_numpy(), train["y"].to_numpy()
    want = [100 * np.abs(y - f).sum() / np.abs(y).sum(),
            np.abs(y - f).mean() / np.abs(np.diff(tr)).mean(),
            np.abs(y - f).mean() / np.abs(tr[24:] - tr[:-24]).mean(),
            skm.mean_pinball_loss(y, hold["p10"], alpha=0.1), skm.mean_pinball_loss(y, hold["p90"], alpha=0.9),
            np.mean((hold["p10"] <= y) & (y <= hold["p90"]))]
    for e, r in runs.items():
        assert [c.status.value for c in r.checks] == ["pass"] * 6, [c.message for c in r.checks]
        for c, w in zip(r.checks, want, strict=True):
            assert c.observed == pytest.approx(w, rel=1e-12), (e, c.name)


def test_mase_on_duckdb_reads_the_reference_in_row_order(tmp_path: Path) -> None:
    data, ref, hold, train = _forecast_files(tmp_path)
    pol = {"version": 1, "metrics": [{"name": "mase", "op": "<=", "value": 2}]}
    shuffled = train.sample(frac=1.0, random_state=0)  # another order is another series: another scale
    shuffled.to_parquet(tmp_path / "shuffled.parquet")
    a = gatekit.run(pol, data=data, reference=ref, target="y", score="f", engine="duckdb").checks[0].observed
    b = gatekit.run(pol, data=data, reference=tmp_path / "shuffled.parquet", target="y", score="f",
                    engine="duckdb").checks[0].observed
    tr = shuffled["y"].to_numpy()
    assert b == pytest.approx(np.abs(hold["y"] - hold["f"]).mean() / np.abs(np.diff(tr)).mean(), rel=1e-12)
    assert a != pytest.approx(b)


def test_a_model_without_a_target_runs_the_data_checks_on_both_engines() -> None:
    """A model and no target: nothing to score against, so the data checks run and the metric is not computable.

    The DuckDB engine used to bind the model to score the rows and then refuse the run ("score is set but no
    target column is"), where pandas ran the same policy.
    """
    from sklearn.linear_model import LogisticRegression

    df = _rows()
    model = LogisticRegression().fit(df[["a", "b"]], df["y"])
    pol = {"version": 1, "data_quality": {"row_count": {"min": 10}},
           "metrics": [{"name": "auc_roc", "op": ">=", "value": 0.6}]}
    checks = _same(pol, data=df[["a", "b", "g"]], model=model)
    assert [(n, s) for n, s, _ in checks] == [("row_count", "pass"), ("auc_roc", "not_computable")]
