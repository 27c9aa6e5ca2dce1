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
