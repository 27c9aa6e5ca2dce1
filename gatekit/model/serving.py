"""Operational figures measured by running the model: latency percentiles, batch time, throughput, memory.

Definitions (recorded in each check's details):

- **Online latency**: wall time (``time.perf_counter_ns``) of one single-row scoring call, after
  ``warmup`` untimed calls; the rows are the evaluation rows in order (cycled), each prepared as the
  model's own request payload before timing (a one-row frame for scikit-learn, an input feed for
  ONNX), so the figure is the model's, not gatekit's (``benchmarks/latency.py`` measures the rest).
- **Percentile**: nearest rank by default (the smallest sample with at least ``q`` of the samples at or
  below it: ``x[ceil(q n) - 1]`` of the sorted samples; a latency that was actually observed), or
  linear interpolation (numpy's default, Hyndman & Fan type 7). Latencies 100, 200, ..., 1000 ms give
  p95 = 1000 (nearest rank) and 955 (linear).
- **Enough samples**: a ``q`` percentile needs at least ``ceil(20 / (1 - q))`` samples (40 for p50, 400
  for p95, 2000 for p99): with fewer, the top 20 samples that pin the tail are not there and the value
  is not computable.
- **Batch time**: median over ``repeats`` of one call scoring ``batch_rows`` rows (the evaluation rows,
  drawn with replacement when more are asked for), after one warm-up call; throughput = rows / time.
- **Peak memory**: on Linux, the rise of the process's resident-set high-water mark (``VmHWM`` after the
  kernel's ``clear_refs`` reset) over its resident size before one batch call, in MB (2^20 bytes):
  native allocations such as onnxruntime's count. Elsewhere, Python's ``tracemalloc`` peak, which misses
  native allocations (recorded as the method).
"""

from __future__ import annotations

import math
import statistics
import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from gatekit.core.errors import NotComputable

LATENCY_METRICS = {"latency_p50_ms": 0.50, "latency_p95_ms": 0.95, "latency_p99_ms": 0.99}
BATCH_METRICS = ("batch_time_s", "throughput_rows_per_s", "peak_memory_mb")


def min_samples(q: float) -> int:
    """Fewest samples a ``q`` percentile is computed from: ``ceil(20 / (1 - q))`` (400 for p95)."""
    return math.ceil(round(20 / (1 - q), 9))


def percentile(samples: Any, q: float, method: str = "nearest_rank") -> float:
    """Return the ``q`` percentile of ``samples``.

    Parameters
    ----------
    samples : array-like of shape (n_samples,)
        Latencies (any unit).
    q : float
        In (0, 1), e.g. 0.95.
    method : {"nearest_rank", "linear"}
        Nearest rank (``x[ceil(q n) - 1]`` of the sorted samples) or linear interpolation (numpy's
        ``method="linear"``).

    Returns
    -------
    float

    Raises
    ------
    NotComputable
        Fewer than :func:`min_samples` samples.
    """
    x = np.sort(np.asarray(samples, dtype=float))
    need = min_samples(q)
    if len(x) < need:
        raise NotComputable(f"p{round(q * 100):g} needs at least {need} samples (20 / (1 - {q:g})); there are "
                            f"{len(x)}: raise operational.requests, or give a load test with more samples",
                            {"samples": len(x), "needed": need})
    if method == "linear":
        return float(np.quantile(x, q, method="linear"))
    return float(x[max(0, math.ceil(round(q * len(x), 9)) - 1)])


@dataclass
class Runner:
    """A loaded model bound to its feature columns: ``runner(frame) -> scores`` of shape (n_rows,).

    Parameters
    ----------
    model : object
        scikit-learn estimator or :class:`gatekit.model.onnx.OnnxModel`.
    features : list of str
        Columns it reads, in order.
    task : {"classification", "regression"}
    positive_index : int or None
        Column of ``predict_proba`` for the positive class (classification).
    """

    model: Any
    features: list[str]
    task: str
    positive_index: int | None = None

    def __call__(self, X: Any) -> np.ndarray:
        """Score the rows of ``X`` (a frame holding :attr:`features`)."""
        if self.task == "classification":
            fast = getattr(self.model, "positive_scores", None)  # an ONNX model: no full probability matrix
            if fast is not None:
                return fast(X, self.positive_index)
            return np.asarray(self.model.predict_proba(X)[:, self.positive_index], dtype=float)
        return np.asarray(self.model.predict(X), dtype=float)

    def request_function(self) -> Any:
        """Return ``f(payload)`` scoring one prepared request: the call latency timing measures.

        An ONNX model gives a closure around one ``session.run`` (:meth:`OnnxModel.request_function`);
        a scikit-learn model is called as :meth:`__call__` on the one-row frame.
        """
        fn = getattr(self.model, "request_function", None)
        if fn is not None:
            return fn(self.positive_index if self.task == "classification" else None)
        return self

    def prepare(self, X: Any) -> Any:
        """Return the request payload for the rows of ``X``: the model's own input (an ONNX feed), or ``X``."""
        prep = getattr(self.model, "prepare", None)
        return prep(X) if prep is not None else X

    @property
    def kind(self) -> str:
        """``onnx``, ``sklearn`` (a class from scikit-learn) or ``python-object`` (any other model object)."""
        if type(self.model).__name__ == "OnnxModel":
            return "onnx"
        return "sklearn" if type(self.model).__module__.split(".")[0] == "sklearn" else "python-object"


@dataclass
class Figures:
    """What was measured (or read) for one model."""

    latencies_ms: list[float] | None = None
    latency_source: str = ""
    batch_times_s: list[float] = field(default_factory=list)
    batch_rows: int = 0
    peak_memory_mb: float | None = None
    memory_method: str = ""
    errors: dict[str, str] = field(default_factory=dict)
    details: dict[str, Any] = field(default_factory=dict)


SAMPLE_ROWS = 100_000
"""Rows of the seeded sample the figures are measured on when the evaluation rows are not in memory
(``--engine duckdb``): the batch scores this many rows when ``operational.batch_rows`` is not set."""
SAMPLE_SEED = 20261129
"""Seed of that sample (and of the draw with replacement when ``batch_rows`` exceeds the rows)."""


def sample_rows(spec: Any) -> int:
    """Return how many rows to sample from an engine's table for :func:`measure` (``--engine duckdb``).

    ``max(warmup + requests, min(batch_rows or SAMPLE_ROWS, SAMPLE_ROWS))``: every single-row request is a
    distinct row, as on in-memory data, and the batch is the sample (a ``batch_rows`` above
    :data:`SAMPLE_ROWS` is drawn from the sample with replacement, as :func:`measure` does when the
    evaluation rows are fewer than ``batch_rows``). In memory, ``batch_rows`` unset means every evaluation
    row; on an engine it means the sample.

    Parameters
    ----------
    spec : gatekit.policy.specs.OperationalSpec
        requests, warmup, batch_rows.

    Returns
    -------
    int
    """
    return max(spec.warmup + spec.requests, min(spec.batch_rows or SAMPLE_ROWS, SAMPLE_ROWS))


def measure(runner: Runner, frame: Any, spec: Any, seed: int = 20261129, batch: bool = True,
            latency: bool = True, sample: dict[str, Any] | None = None) -> Figures:
    """Measure a model's latency, batch time and memory on the evaluation rows.

    Parameters
    ----------
    runner : Runner
        The model bound to its features.
    frame : pandas.DataFrame
        The evaluation data (at least the runner's features), or a seeded sample of it (``sample``).
    spec : gatekit.policy.specs.OperationalSpec
        requests, warmup, batch_rows, repeats.
    seed : int
        Seed of the draw when ``batch_rows`` exceeds the evaluation rows.
    batch, latency : bool
        Which measurements to make (a rule that asks only for latency does not pay for the batch).
    sample : dict, optional
        When ``frame`` is a sample of rows an engine holds (``--engine duckdb``): how it was drawn, e.g.
        ``{"rows": 100000, "seed": 20261129, "of_rows": 10000000, "engine": "duckdb", "method": ...}``
        (:func:`sample_rows` rows, seed :data:`SAMPLE_SEED`); recorded in the details as ``sample`` and named
        in the latency source, so every figure says which rows it was measured on.

    Returns
    -------
    Figures
        A measurement that raised is recorded in ``errors`` (the rules on it are errors), never a figure.
    """
    X = frame[runner.features]
    fig = Figures(details={"model_kind": runner.kind, "rows_available": len(X)})
    on_sample = ""
    if sample is not None:
        fig.details["sample"] = dict(sample)
        on_sample = (f", on a seeded sample of {len(X):,} rows (seed {sample.get('seed')}) of the "
                     f"{sample.get('engine', 'engine')} table")
    if len(X) == 0:
        fig.errors["all"] = "the evaluation data has no rows to send"
        return fig
    if latency:
        try:
            # payloads built before timing: the clock sees the model's call, not gatekit's preparation
            distinct = [runner.prepare(X.iloc[[i]]) for i in range(min(len(X), spec.warmup + spec.requests))]
            rows = [distinct[i % len(distinct)] for i in range(spec.warmup + spec.requests)]
            call = runner.request_function()
            for r in rows[: spec.warmup]:
                call(r)
            out = []
            clock = time.perf_counter_ns
            for r in rows[spec.warmup:]:
                t0 = clock()
                call(r)
                out.append((clock() - t0) / 1e6)
            fig.latencies_ms = out
            fig.latency_source = (f"measured: {spec.requests} single-row calls after {spec.warmup} warm-up calls, "
                                  f"{runner.kind} model in this process{on_sample}")
        except Exception as exc:  # noqa: BLE001 - the model failing is the finding
            fig.errors["latency"] = f"{type(exc).__name__}: {exc}"
    if batch:
        try:
            n = spec.batch_rows or len(X)
            idx = (np.arange(n) if n <= len(X)
                   else np.random.default_rng(seed).integers(0, len(X), n))
            B = X.iloc[idx].reset_index(drop=True)
            runner(B.iloc[: min(len(B), 100)])  # warm-up
            for _ in range(spec.repeats):
                start = time.perf_counter()
                runner(B)
                fig.batch_times_s.append(time.perf_counter() - start)
            fig.batch_rows = n
            fig.peak_memory_mb, fig.memory_method = _peak_memory_mb(lambda: runner(B))
        except Exception as exc:  # noqa: BLE001
            fig.errors["batch"] = f"{type(exc).__name__}: {exc}"
    return fig


def _vm(field_name: str) -> float:
    with open("/proc/self/status", encoding="ascii") as fh:
        for line in fh:
            if line.startswith(field_name + ":"):
                return float(line.split()[1]) / 1024  # kB -> MB
    raise OSError(f"{field_name} not in /proc/self/status")


def _peak_memory_mb(call: Any) -> tuple[float, str]:
    """Rise of peak memory during ``call()``, in MB, and the method used."""
    try:
        with open("/proc/self/clear_refs", "w", encoding="ascii") as fh:
            fh.write("5")  # reset the resident-set high-water mark (Linux >= 4.0)
        before = _vm("VmRSS")
        call()
        return max(0.0, _vm("VmHWM") - before), "resident-set high-water mark rise (Linux /proc, clear_refs)"
    except OSError:
        import tracemalloc

        tracemalloc.start()
        try:
            call()
            peak = tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
        return peak / 2**20, "tracemalloc peak (Python and numpy allocations only)"


def value(fig: Figures, metric: str, method: str) -> tuple[float, dict[str, Any]]:
    """One operational metric's value from the figures.

    Raises
    ------
    NotComputable
        Too few latency samples, or no figure for this metric.
    ValueError
        The measurement itself failed (the model raised).
    """
    if "all" in fig.errors:
        raise NotComputable(fig.errors["all"])
    details: dict[str, Any] = dict(fig.details)
    if metric in LATENCY_METRICS:
        if "latency" in fig.errors:
            raise ValueError(f"the model failed while its latency was measured: {fig.errors['latency']}")
        if fig.latencies_ms is None:
            raise NotComputable("no latency samples")
        q = LATENCY_METRICS[metric]
        v = percentile(fig.latencies_ms, q, method)
        lat = np.asarray(fig.latencies_ms)
        details.update({"percentile_method": method, "samples": len(lat), "source": fig.latency_source,
                        "min_ms": float(lat.min()), "median_ms": float(np.median(lat)), "max_ms": float(lat.max()),
                        "mean_ms": float(lat.mean())})
        counts, edges = np.histogram(lat, bins=min(30, max(5, len(lat) // 20)))  # for the report's histogram
        details["histogram"] = {"edges_ms": [float(e) for e in edges], "counts": [int(c) for c in counts]}
        return v, details
    if "batch" in fig.errors:
        raise ValueError(f"the model failed while scoring the batch: {fig.errors['batch']}")
    if not fig.batch_times_s:
        raise NotComputable("no batch measurement")
    t = statistics.median(fig.batch_times_s)
    details.update({"batch_rows": fig.batch_rows, "batch_times_s": fig.batch_times_s, "repeats": len(fig.batch_times_s),
                    "statistic": "median of the repeats"})
    if metric == "batch_time_s":
        return t, details
    if metric == "throughput_rows_per_s":
        if t <= 0:
            raise NotComputable("the batch took no measurable time")
        return fig.batch_rows / t, details
    if fig.peak_memory_mb is None:
        raise NotComputable("no memory measurement")
    details["memory_method"] = fig.memory_method
    return fig.peak_memory_mb, details


def load_samples(path: Any) -> list[float]:
    """Read a load test's latency samples: ``{"latency_ms": [12.1, 13.4, ...]}`` (or a bare list), in ms.

    Raises
    ------
    gatekit.core.errors.InputError
        Missing file, invalid JSON, a value that is not a finite number >= 0.
    """
    import json

    from gatekit.core.errors import InputError, Problem, input_error

    try:
        data = json.loads(path.read_text(encoding="utf-8-sig"))
    except (FileNotFoundError, IsADirectoryError):
        raise input_error("latency samples file not found", str(path)) from None
    except json.JSONDecodeError as exc:
        raise InputError([Problem(f"invalid JSON: {exc.msg}", str(path), exc.lineno, exc.colno)]) from None
    except (UnicodeDecodeError, ValueError, RecursionError, OSError) as exc:
        raise input_error(f'not a latency samples file ({type(exc).__name__}); expected {{"latency_ms": [...]}}',
                          str(path)) from None
    samples = data.get("latency_ms") if isinstance(data, dict) else data
    if not isinstance(samples, list) or not samples:
        raise input_error('expected {"latency_ms": [numbers, ...]} (milliseconds, one per request)', str(path))
    bad = [i for i, v in enumerate(samples)
           if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v) or v < 0]
    if bad:
        raise input_error(f"{len(bad)} latency samples are not finite numbers >= 0 (first at index {bad[0]}: "
                          f"{samples[bad[0]]!r})", str(path), key="latency_ms")
    return [float(v) for v in samples]
