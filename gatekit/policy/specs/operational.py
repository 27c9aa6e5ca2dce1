"""The ``operational:`` section: how latency, batch time, throughput and memory are measured.

:class:`OperationalSpec` holds the measurement settings only; the figures themselves are gated by
``metrics:`` rules.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from gatekit.policy.specs.common import PathField, Spec


class OperationalSpec(Spec):
    """How gatekit measures the model's operational figures (see :mod:`gatekit.model.serving`).

    The figures are metric names for ``metrics:`` rules: ``latency_p50_ms``, ``latency_p95_ms``,
    ``latency_p99_ms``, ``batch_time_s``, ``throughput_rows_per_s``, ``peak_memory_mb``. They are
    measured whenever a rule asks for them and a model artifact is given (the candidate's, and the
    production model's for a baseline-relative rule); without one, a metrics file supplies them.

    Parameters
    ----------
    requests : int
        Single-row calls timed (default 400: enough for p95; p99 needs 2000; at most 100,000).
    warmup : int
        Untimed calls first (default 20; at most 10,000).
    percentile_method : {"nearest_rank", "linear"}
        Default ``nearest_rank``.
    batch_rows : int, optional
        Rows in the timed batch, at most 5,000,000 (about 8 GB for an ONNX feed of 12 columns);
        default the evaluation rows (drawn with replacement when larger).
    repeats : int
        Batch calls timed; the median counts (default 3).
    latency_samples, baseline_latency_samples : str, optional
        A load test's samples, ``{"latency_ms": [...]}`` (relative to the policy), used instead of
        measuring the candidate's (the production model's) online latency.
    """

    requests: int = Field(default=400, ge=1, le=100_000)
    warmup: int = Field(default=20, ge=0, le=10_000)
    percentile_method: Literal["nearest_rank", "linear"] = "nearest_rank"
    batch_rows: int | None = Field(default=None, ge=1, le=5_000_000)
    repeats: int = Field(default=3, ge=1, le=100)
    latency_samples: PathField | None = None
    baseline_latency_samples: PathField | None = None
