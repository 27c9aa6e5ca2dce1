"""The ``operational:`` section: how latency, batch time, throughput and memory are measured.

:class:`OperationalSpec` holds the measurement settings only; the figures themselves are gated by
``metrics:`` rules. How the settings are used (rounds, clocks, thread limits, the interval a rule decides
on) is :mod:`gatekit.model.serving`'s module docstring and ``docs/concepts/operational.md``.
"""

from __future__ import annotations

import math
from typing import Literal

from pydantic import Field, model_validator
from pydantic_core import PydanticCustomError

from gatekit.core.formatting import percent
from gatekit.policy.specs.common import PathField, Spec


def rounds_needed(confidence: float) -> int:
    """Fewest rounds whose range (smallest to largest) covers the median with at least ``confidence``.

    The range of ``R`` independent rounds covers their median with probability ``1 - 2 * 0.5**R`` (the
    order-statistic interval; :func:`gatekit.model.serving.median_interval`), so ``R`` must satisfy
    ``0.5**(R - 1) <= 1 - confidence``: 5 rounds for 0.9 (93.75 %), 6 for 0.95, 8 for 0.99.

    Parameters
    ----------
    confidence : float
        In (0.5, 1).

    Returns
    -------
    int
    """
    return max(2, math.ceil(round(1 - math.log2(1 - confidence), 9)))


class OperationalSpec(Spec):
    """How gatekit measures the model's operational figures (see :mod:`gatekit.model.serving`).

    The figures are metric names for ``metrics:`` rules: ``latency_p50_ms``, ``latency_p95_ms``,
    ``latency_p99_ms``, ``batch_time_s``, ``throughput_rows_per_s``, ``peak_memory_mb``. They are
    measured whenever a rule asks for them and a model artifact is given (the candidate's, and the
    production model's for a baseline-relative rule, in interleaved rounds); without one, a metrics file
    supplies them.

    Parameters
    ----------
    requests : int
        Single-row calls timed in each round (default 400: enough for p95; p99 needs 2000; at most
        100,000). A percentile is computed per round, so each round needs its own samples.
    warmup : int
        Untimed calls of each model before its first round (default 20; at most 10,000).
    percentile_method : {"nearest_rank", "linear"}
        Default ``nearest_rank``.
    batch_rows : int, optional
        Rows in the timed batch, at most 5,000,000 (about 8 GB for an ONNX feed of 12 columns);
        default the evaluation rows (drawn with replacement when larger).
    repeats : int
        Batch calls timed in each round; the round's batch time is their median (default 1).
    rounds : int
        Rounds of measurement (default 5, at least :func:`rounds_needed` of ``confidence``, at most 50).
        Each round times ``requests`` single-row calls and ``repeats`` batch calls; the figure gated is the
        median of the rounds' figures, decided on its interval. With a production model to compare with,
        the two models' rounds are interleaved.
    confidence : float
        Coverage asked of the interval of the median of the rounds (default 0.9; in (0.5, 1)). The interval
        is the widest pair of order statistics that reaches it; its actual coverage is recorded.
    clock : {"cpu", "wall"}
        What each call is timed on (default ``cpu``): ``cpu`` is the process's CPU time during the call
        (``time.process_time_ns``), which other processes on the machine barely move; ``wall`` is elapsed
        time (``time.perf_counter_ns``), what a caller waits, which a busy machine inflates. Both are
        recorded; the rules read this one.
    threads : int or None
        Threads the model may use while it is measured (default 1), set through threadpoolctl for OpenMP
        and BLAS (scikit-learn's tree ensembles, numpy); onnxruntime sessions gatekit loads always use one
        intra-op thread. None leaves the libraries' defaults (every core), which a shared machine turns
        into waits at each parallel region.
    latency_samples, baseline_latency_samples : str, optional
        A load test's samples, ``{"latency_ms": [...]}`` or, for a load test run in rounds,
        ``{"latency_ms": [[...], [...], ...]}`` (relative to the policy), used instead of measuring the
        candidate's (the production model's) online latency.

    Raises
    ------
    pydantic.ValidationError
        A value out of range, or fewer ``rounds`` than ``confidence`` needs.
    """

    requests: int = Field(default=400, ge=1, le=100_000)
    warmup: int = Field(default=20, ge=0, le=10_000)
    percentile_method: Literal["nearest_rank", "linear"] = "nearest_rank"
    batch_rows: int | None = Field(default=None, ge=1, le=5_000_000)
    repeats: int = Field(default=1, ge=1, le=100)
    rounds: int = Field(default=5, ge=2, le=50)
    confidence: float = Field(default=0.9, gt=0.5, lt=1)
    clock: Literal["cpu", "wall"] = "cpu"
    threads: int | None = Field(default=1, ge=1, le=1024)
    latency_samples: PathField | None = None
    baseline_latency_samples: PathField | None = None

    @model_validator(mode="after")
    def _enough_rounds(self) -> OperationalSpec:
        need = rounds_needed(self.confidence)
        if self.rounds < need:
            have = 1 - 2 * 0.5**self.rounds
            raise PydanticCustomError(
                "rounds", "rounds: {rounds} cannot give a {conf} interval of the median (the range of {rounds} "
                "rounds covers it with {have}); use rounds: {need} or more, or lower confidence",
                {"rounds": self.rounds, "conf": f"{percent(self.confidence)}", "have": f"{have:.2%}", "need": need})
        return self
