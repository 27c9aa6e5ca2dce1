"""Tests of :mod:`gatekit.metrics.latency`: the served latencies of a canary arm.

Expected values come from numpy on the latencies themselves: ``numpy.mean``, ``numpy.quantile`` with
``method="inverted_cdf"`` (nearest rank) or ``"linear"``, each resample expanded with ``numpy.repeat``; and from the
operational section's own percentile (:func:`gatekit.model.serving.percentile`) for the definition.
"""

from __future__ import annotations

import numpy as np
import pytest

from gatekit.core.errors import NotComputable
from gatekit.metrics import default_registry
from gatekit.metrics.latency import (
    latency_mean,
    latency_percentile,
    min_rows,
    percentile_of,
    row_latency,
    weighted_percentiles,
)
from gatekit.metrics.registry import EvalData


def _rows(lat: np.ndarray) -> EvalData:
    return EvalData(y_true=np.zeros(lat.size, dtype=int), y_score=np.full(lat.size, 0.5), task="classification",
                    latency_ms=lat)


def test_mean_and_percentiles_are_numpys() -> None:
    lat = np.random.default_rng(0).lognormal(np.log(40), 0.5, 2500).round(2)
    assert latency_mean(_rows(lat)).value == pytest.approx(float(np.mean(lat)), rel=1e-14)
    for q in (0.5, 0.95, 0.99):
        got = latency_percentile(q)(_rows(lat))
        assert got.value == float(np.quantile(lat, q, method="inverted_cdf"))
        assert got.details["percentile_method"] == "nearest_rank" and got.details["min_rows"] == min_rows(q)
        assert latency_percentile(q, "linear")(_rows(lat)).value == pytest.approx(float(np.quantile(lat, q)),
                                                                                   rel=1e-14)


def test_the_percentile_is_the_operational_sections() -> None:
    from gatekit.model.serving import min_samples, percentile

    rng = np.random.default_rng(1)
    for n in (40, 57, 400, 401, 999, 2000, 2003):
        lat = rng.lognormal(3, 0.6, n).round(1)
        for q in (0.5, 0.95, 0.99):
            assert min_rows(q) == min_samples(q)
            if n < min_rows(q):
                with pytest.raises(NotComputable, match=f"needs at least {min_rows(q)} rows"):
                    percentile_of(lat, q)
                continue
            for method in ("nearest_rank", "linear"):
                assert percentile_of(lat, q, method) == pytest.approx(percentile(lat, q, method), rel=1e-14)
    # the module docstring's example: 100, 200, ..., 1000 ms at p50 (10 rows are too few for p95)
    lat = np.arange(100.0, 4100.0, 100.0)  # 40 rows
    assert percentile_of(lat, 0.5) == 2000.0 and percentile_of(lat, 0.5, "linear") == 2050.0


def test_resamples_equal_the_metric_on_the_repeated_rows() -> None:
    rng = np.random.default_rng(2)
    lat = np.concatenate([rng.lognormal(3, 0.5, 450), [30.0] * 50])  # ties too
    W = rng.multinomial(lat.size, np.full(lat.size, 1 / lat.size), size=40)
    W[0] = 0
    W[0, :300] = 1  # a resample of 300 rows: fewer than p95's 400
    for q in (0.5, 0.95):
        for method, numpy_method in (("nearest_rank", "inverted_cdf"), ("linear", "linear")):
            got = weighted_percentiles(lat, W.astype(float), q, method)
            for r in range(W.shape[0]):
                rows = np.repeat(lat, W[r])
                if rows.size < min_rows(q):
                    assert np.isnan(got[r])
                else:
                    assert got[r] == pytest.approx(float(np.quantile(rows, q, method=numpy_method)), rel=1e-13)
    fn = latency_percentile(0.95)
    assert np.array_equal(fn.resample(_rows(lat), W, {}), weighted_percentiles(lat, W, 0.95),  # type: ignore[attr-defined]
                          equal_nan=True)
    means = latency_mean.resample(_rows(lat), W.astype(float), {})  # type: ignore[attr-defined]
    for r in range(W.shape[0]):
        assert means[r] == pytest.approx(float(np.repeat(lat, W[r]).mean()), rel=1e-13)


@pytest.mark.parametrize(("lat", "weights", "match"), [
    (None, None, "name the log's latency column"),
    (np.array([1.0, 2.0]), None, "2 latencies for 3 rows"),
    (np.array([1.0, np.nan, 2.0]), None, "not all finite"),
    (np.array([1.0, -1.0, 2.0]), None, ">= 0"),
    (np.array([1.0, 2.0, 3.0]), np.array([1, 1, 2]), "gathered with counts"),
])
def test_bad_latencies_are_not_computable(lat: np.ndarray | None, weights: np.ndarray | None, match: str) -> None:
    data = EvalData(y_true=np.zeros(3, dtype=int), y_score=np.full(3, 0.5), latency_ms=lat, weights=weights)
    with pytest.raises(NotComputable, match=match):
        latency_mean(data)


def test_row_latency_keeps_the_catalog_spec_and_adds_the_function() -> None:
    reg = default_registry()
    for name in ("latency_mean_ms", "latency_p50_ms", "latency_p95_ms", "latency_p99_ms"):
        res = reg.resolve(name)
        assert res is not None and res.spec.fn is None and res.spec.unit == "ms"
        rows = row_latency(res)
        assert rows.spec.fn is not None and rows.spec.name == name and rows.spec.higher_is_better is False
        assert rows.spec.fn.plain_rows is True  # type: ignore[attr-defined]
    lat = np.arange(1.0, 501.0)
    assert row_latency(reg.resolve("latency_p95_ms")).spec.fn(_rows(lat)).value == 475.0  # type: ignore[union-attr,misc]
    with pytest.raises(KeyError):
        row_latency(reg.resolve("roc_auc"))  # type: ignore[arg-type]


def test_latency_rows_are_sorted_with_their_latencies() -> None:
    from gatekit.metrics.latency import latency_rows

    rng = np.random.default_rng(3)
    y, s, lat = rng.integers(0, 2, 30), rng.random(30), rng.integers(0, 5, 30).astype(float)
    data = EvalData(y_true=y, y_score=s, task="classification", latency_ms=lat)
    out = latency_rows(data)
    order = sorted(range(30), key=lambda i: (y[i], lat[i], s[i]))
    assert np.array_equal(out.y_true, y[order]) and np.array_equal(out.latency_ms, lat[order])
    assert np.array_equal(out.y_score, s[order])
    assert latency_rows(data) is out  # cached
    # the same rows in another order give the same rows
    p = rng.permutation(30)
    again = latency_rows(EvalData(y_true=y[p], y_score=s[p], task="classification", latency_ms=lat[p]))
    assert np.array_equal(again.latency_ms, out.latency_ms) and np.array_equal(again.y_score, out.y_score)
