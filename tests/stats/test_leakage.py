"""Tests of :mod:`gatekit.stats.leakage`'s formulas on counts: the ROC AUC from counts per distinct score,
and how the values' and the missing indicator's scores combine (both engines use them)."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import roc_auc_score

from gatekit.core.errors import NotComputable
from gatekit.stats.leakage import LeakageResult, auc_from_counts, auc_from_sums, combine_scores


def test_auc_from_counts_per_distinct_score_equals_sklearn_on_the_rows() -> None:
    rng = np.random.default_rng(3)
    for k in (2, 5, 40, 300):
        x = rng.integers(0, k, 2000)
        y = (rng.random(2000) < 0.2 + 0.6 * x / k).astype(int)
        values = np.unique(x)
        pos = np.array([int(((x == v) & (y == 1)).sum()) for v in values])
        neg = np.array([int(((x == v) & (y == 0)).sum()) for v in values])
        assert auc_from_counts(pos, neg) == pytest.approx(roc_auc_score(y, x), abs=1e-12)
        # and with the rows aggregated, as the DuckDB loader's weights
        w = pos + neg
        xs, ys, ws = np.r_[values, values], np.r_[np.ones_like(values), np.zeros_like(values)], np.r_[pos, neg]
        keep = ws > 0
        assert auc_from_counts(pos, neg) == pytest.approx(
            roc_auc_score(ys[keep], xs[keep], sample_weight=ws[keep]), abs=1e-12)
        assert w.sum() == 2000


def test_one_class_is_not_computable() -> None:
    with pytest.raises(NotComputable):
        auc_from_sums(0, 10, 0)
    with pytest.raises(NotComputable):
        auc_from_counts(np.array([0, 0]), np.array([3, 4]))


def test_combine_scores_keeps_the_larger_and_records_both() -> None:
    values = LeakageResult("auc", 0.7, 80, False)
    res = combine_scores(values, None, 0.9, 100, 20, "classification")
    assert (res.value, res.source, res.values_value, res.missing_value) == (0.9, "missing", 0.7, 0.9)
    res = combine_scores(values, None, 0.6, 100, 20, "classification")
    assert (res.value, res.source, res.n_pairs) == (0.7, "values", 80)
    why = NotComputable("only 5 rows have both the feature and the target", {"n_pairs": 5})
    res = combine_scores(None, why, 0.55, 100, 95, "classification")
    assert res.source == "missing" and res.values_problem == why.reason and res.n_pairs == 5
    with pytest.raises(NotComputable) as exc:
        combine_scores(None, why, None, 100, 95, "classification")
    assert exc.value.details["n_rows"] == 100


def test_folds_are_the_same_in_numpy_and_duckdb_and_balanced() -> None:
    import ibis
    import pandas as pd

    from gatekit.stats.leakage import fold_of

    n = 100_000
    in_numpy = fold_of(np.arange(n, dtype=np.int64))
    table = ibis.memtable(pd.DataFrame({"x": np.zeros(n)}))
    in_duckdb = table.mutate(f=fold_of(ibis.row_number().cast("int64"))).f.to_pyarrow().to_numpy()
    assert np.array_equal(in_numpy, in_duckdb)
    counts = np.bincount(in_numpy)
    assert len(counts) == 5 and counts.min() > 0.19 * n
    assert not np.array_equal(in_numpy[:50], np.arange(50) % 5)  # not a round robin of the rows' order
