"""Served latency of a canary's rows: the mean and the percentiles of the latencies its log recorded.

A canary log may record each served row's latency (``canary.latency``; :attr:`EvalData.latency_ms`). The
catalog's latency names then read it per arm:

- ``latency_mean_ms``: the arithmetic mean of the arm's latencies (a mean of rows: ``canary.sequential`` decides it
  on a confidence sequence of the paired differences, :data:`gatekit.metrics.per_row.CANARY_PER_ROW`);
- ``latency_p50_ms``, ``latency_p95_ms``, ``latency_p99_ms``: the arm's ``q`` percentile, by the operational
  section's definition (:mod:`gatekit.model.serving`): **nearest rank** by default, the smallest latency with at
  least ``q`` of the latencies at or below it, ``x[ceil(q n) - 1]`` of the sorted latencies (numpy's
  ``method="inverted_cdf"``, Hyndman & Fan 1996 type 1: a latency that was actually served), or linear
  interpolation (``operational.percentile_method: linear``: numpy's ``method="linear"``, type 7). As there, a
  ``q`` percentile needs at least ``ceil(20 / (1 - q))`` rows (40 for p50, 400 for p95, 2,000 for p99), so that
  the 20 slowest rows that pin the tail are there; with fewer it is not computable.

The catalog's specs of these names carry no function (under ``metrics:`` they are measured by the operational
section or read from a metrics file); :func:`row_latency` gives the canary the same spec with the function
reading the log's latencies. Every function here carries a ``resample(data, W, params)`` attribute computing the
metric on many bootstrap resamples at once from their row multiplicities ``W``
(:func:`gatekit.metrics.weighted.weighted_values`), equal to the metric on ``numpy.repeat(rows, W[r])`` (tested),
and ``plain_rows = True``, with ``rows_note`` (:data:`LATENCY_ROWS_NOTE`): the interval resamples the arm's
plain rows, whose latencies travel with them (:func:`gatekit.sections.comparison.interval_for`), never counted
rows (which do not carry latencies), sorted into a canonical order first (:func:`latency_rows`) so the same rows
give the same interval whatever their order.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import replace
from typing import Any, cast

import numpy as np

from gatekit.core.errors import NotComputable
from gatekit.metrics.registry import EvalData, MetricValue, ResolvedMetric

LATENCY_QUANTILES = {"latency_p50_ms": 0.50, "latency_p95_ms": 0.95, "latency_p99_ms": 0.99}
"""Percentile metrics and their ``q`` (as :data:`gatekit.model.serving.LATENCY_METRICS`)."""

ROW_LATENCY_METRICS = ("latency_mean_ms", *LATENCY_QUANTILES)
"""Catalog names a canary computes from its logged latencies."""

PERCENTILE_METHODS = {"nearest_rank": "inverted_cdf", "linear": "linear"}
"""gatekit's percentile methods and numpy's name of each (``numpy.quantile(x, q, method=...)``)."""

LATENCY_ROWS_NOTE = ("each arm's plain rows with their latencies, sorted by target, latency and score, so the same "
                     "rows give the same interval whatever the log's order")
"""What a served-latency interval resamples: each function's ``rows_note`` attribute, which
:func:`gatekit.sections.comparison.interval_for` records as ``details["interval"]["rows"]``."""



def min_rows(q: float) -> int:
    """Fewest latencies a ``q`` percentile is computed from: ``ceil(20 / (1 - q))`` (400 for p95).

    The operational section's rule (:func:`gatekit.model.serving.min_samples`), applied to each arm's rows.
    """
    return math.ceil(round(20 / (1 - q), 9))


def served_latencies(data: EvalData) -> np.ndarray:
    """Return the rows' served latencies (ms), checked.

    Parameters
    ----------
    data : EvalData
        Plain rows with ``latency_ms``.

    Returns
    -------
    ndarray of float, shape (n_samples,)

    Raises
    ------
    NotComputable
        No latencies were logged, the rows are counted rows, or the latencies are not one finite value >= 0 per
        row.
    """
    if data.latency_ms is None:
        raise NotComputable("no served latencies: name the log's latency column (canary.latency)")
    if data.weights is not None:
        raise NotComputable("served latencies are read per plain row; these rows are gathered with counts")
    lat = np.asarray(data.latency_ms, dtype=float)
    n = next((len(a) for a in (data.y_true, data.y_score, data.y_pred) if a is not None), len(lat))
    if lat.ndim != 1 or len(lat) != n:
        raise NotComputable(f"{len(lat)} latencies for {n} rows: one latency per row is needed")
    if lat.size == 0:
        raise NotComputable("no rows")
    if not (np.isfinite(lat).all() and (lat >= 0).all()):
        raise NotComputable("the latencies are not all finite and >= 0")
    return lat


def _summary(lat: np.ndarray) -> dict[str, Any]:
    return {"rows": int(lat.size), "min_ms": float(lat.min()), "median_ms": float(np.median(lat)),
            "mean_ms": float(lat.mean()), "max_ms": float(lat.max()), "source": "the canary log's latency column"}


def latency_mean(data: EvalData) -> MetricValue:
    """Mean served latency (ms): ``sum(latency) / n`` over the rows.

    Raises
    ------
    NotComputable
        As :func:`served_latencies`.
    """
    lat = served_latencies(data)
    return MetricValue(float(lat.mean()), {**_summary(lat), "definition": "mean of the rows' served latencies"})


def _mean_resample(data: EvalData, W: np.ndarray, params: dict[str, Any]) -> np.ndarray:
    """Mean latency on each resample: ``W @ latency / W.sum(axis=1)`` (NaN on an empty resample)."""
    lat = served_latencies(data)
    Wf = np.asarray(W, dtype=float)
    total = Wf.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(total > 0, (Wf @ lat) / np.where(total > 0, total, 1), np.nan)


def percentile_of(lat: np.ndarray, q: float, method: str = "nearest_rank") -> float:
    """Return the ``q`` percentile of latencies ``lat`` (:data:`PERCENTILE_METHODS`).

    Parameters
    ----------
    lat : ndarray of shape (n,)
        Latencies (ms).
    q : float
        In (0, 1).
    method : {"nearest_rank", "linear"}
        ``x[ceil(q n) - 1]`` of the sorted latencies (numpy ``inverted_cdf``), or numpy's ``linear``.

    Raises
    ------
    NotComputable
        Fewer than :func:`min_rows` latencies.
    """
    need = min_rows(q)
    if lat.size < need:
        raise NotComputable(f"p{round(q * 100):g} needs at least {need} rows (20 / (1 - {q:g})), so that the 20 "
                            f"slowest pin the tail; this arm has {lat.size}", {"rows": int(lat.size), "needed": need})
    return float(np.quantile(lat, q, method=PERCENTILE_METHODS[method]))  # type: ignore[call-overload]


def weighted_percentiles(lat: np.ndarray, W: np.ndarray, q: float, method: str = "nearest_rank") -> np.ndarray:
    """Return the ``q`` percentile of each resample given by row multiplicities, without expanding the rows.

    Parameters
    ----------
    lat : ndarray of shape (n,)
        Latencies.
    W : ndarray of shape (k, n)
        Whole multiplicities of each row in each of ``k`` resamples.
    q, method
        As :func:`percentile_of`.

    Returns
    -------
    ndarray of shape (k,)
        Equal to ``percentile_of(numpy.repeat(lat, W[r]), q, method)`` for each ``r`` (the sorted resample's
        element at 0-based position ``p`` is the sorted latency whose cumulative multiplicity first exceeds
        ``p``); NaN where a resample holds fewer than :func:`min_rows` rows.
    """
    order = np.argsort(lat, kind="stable")
    xs = lat[order]
    cum = np.cumsum(np.asarray(W, dtype=float)[:, order], axis=1)
    total = cum[:, -1] if cum.shape[1] else np.zeros(cum.shape[0])

    def at(pos: np.ndarray) -> np.ndarray:
        idx = (cum <= pos[:, None]).sum(axis=1)
        return xs[np.minimum(idx, xs.size - 1)]

    if method == "nearest_rank":
        pos = np.maximum(np.ceil(np.round(q * total, 9)) - 1, 0)
        out = at(pos)
    else:
        h = (total - 1) * q
        lo = np.floor(h)
        hi = np.minimum(lo + 1, np.maximum(total - 1, 0))
        a, b = at(lo), at(hi)
        out = a + (h - lo) * (b - a)
    return np.where(total >= min_rows(q), out, np.nan)


def latency_percentile(q: float, method: str = "nearest_rank") -> Callable[..., MetricValue]:
    """Return the metric function of the ``q`` percentile of the rows' served latencies (ms).

    Parameters
    ----------
    q : float
        In (0, 1).
    method : {"nearest_rank", "linear"}
        The percentile method (the policy's ``operational.percentile_method``; default nearest rank).

    Returns
    -------
    callable
        ``fn(data) -> MetricValue``, raising :class:`NotComputable` as :func:`served_latencies` and
        :func:`percentile_of`; with ``resample`` (:func:`weighted_percentiles`) and ``plain_rows``.
    """
    def fn(data: EvalData) -> MetricValue:
        lat = served_latencies(data)
        value = percentile_of(lat, q, method)
        return MetricValue(value, {**_summary(lat), "quantile": q, "percentile_method": method,
                                   "numpy_method": PERCENTILE_METHODS[method], "min_rows": min_rows(q),
                                   "definition": f"p{round(q * 100):g} of the rows' served latencies"})

    def resample(data: EvalData, W: np.ndarray, params: dict[str, Any]) -> np.ndarray:
        return weighted_percentiles(served_latencies(data), W, q, method)

    fn.resample = resample  # type: ignore[attr-defined]
    fn.plain_rows = True  # type: ignore[attr-defined]
    fn.rows_note = LATENCY_ROWS_NOTE  # type: ignore[attr-defined]
    return fn


latency_mean.resample = _mean_resample  # type: ignore[attr-defined]
latency_mean.plain_rows = True  # type: ignore[attr-defined]
latency_mean.rows_note = LATENCY_ROWS_NOTE  # type: ignore[attr-defined]


def latency_rows(data: EvalData) -> EvalData:
    """Return the rows in a canonical order (target, latency, output), their latencies with them; cached.

    The bootstrap draws rows by position, so plain rows in another order would draw other resamples from the same
    seed. Sorted by value, the same rows give the same interval whatever the log's order (the file's, or the arrival
    order of ``canary.sequential``), as counted rows do for the other metrics
    (:func:`gatekit.metrics.weighted.counted_rows`).

    Parameters
    ----------
    data : EvalData
        Plain rows with ``latency_ms``.

    Returns
    -------
    EvalData
        The rows sorted by target, latency, then score (or prediction), stably; ``latency_ms`` permuted with them
        (:func:`gatekit.metrics.weighted.take` moves every other row-level array).

    Raises
    ------
    NotComputable
        As :func:`served_latencies`.
    """
    key = ("latency_rows",)
    cached = data.cache.get(key)
    if cached is not None:
        return cast(EvalData, cached)
    from gatekit.metrics.weighted import take

    lat = served_latencies(data)
    keys: list[np.ndarray] = []
    for a in (data.y_score, data.y_pred):
        if a is not None:
            arr = np.asarray(a)
            keys.extend(arr.T[::-1] if arr.ndim == 2 else [arr])
    keys.append(lat)
    if data.y_true is not None:
        keys.append(np.asarray(data.y_true))
    order = np.lexsort(keys)  # the last key varies slowest: target, then latency, then the output
    out = take(data, order)
    out.latency_ms = lat[order]
    data.cache[key] = out
    return out


def rows_for(res: ResolvedMetric, data: EvalData) -> EvalData:
    """Return the rows a canary rule on ``res`` reads: :func:`latency_rows` for a served-latency metric, else ``data``.

    Rows without usable latencies are returned as they are (the metric then says why it is not computable).
    """
    if not getattr(res.spec.fn, "plain_rows", False):
        return data
    try:
        return latency_rows(data)
    except NotComputable:
        return data


def row_latency(res: ResolvedMetric, method: str = "nearest_rank") -> ResolvedMetric:
    """Return a latency metric resolved to the function reading the rows' logged latencies.

    Parameters
    ----------
    res : ResolvedMetric
        One of :data:`ROW_LATENCY_METRICS` (its catalog spec has no function).
    method : {"nearest_rank", "linear"}
        Percentile method.

    Returns
    -------
    ResolvedMetric
        The same spec (name, unit ``ms``, direction) with ``fn`` set.

    Raises
    ------
    KeyError
        ``res`` is not a served-latency metric.
    """
    name = res.spec.name
    if name == "latency_mean_ms":
        fn: Callable[..., MetricValue] = latency_mean
    else:
        fn = latency_percentile(LATENCY_QUANTILES[name], method)
    return ResolvedMetric(replace(res.spec, fn=fn), dict(res.name_params))
