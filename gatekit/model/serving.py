"""Operational figures measured by running the model: latency percentiles, batch time, throughput, memory.

A gate on a figure that moves with the load of a shared CI runner flips by chance, so the figures are
measured so that their spread is known, and a rule decides on it (``docs/concepts/operational.md``).
Definitions (recorded in each check's details):

- **Rounds** (``operational.rounds``, default 5): the measurement is repeated; each round times
  ``requests`` single-row calls and ``repeats`` batch calls, and gives one value of each figure (its
  p95, its batch time). The figure gated is the **median of the rounds' values**, and its spread is the
  rounds' range, their coefficient of variation (sample standard deviation / mean) and an interval of the
  median. This is the practice of pyperf (values from several processes/runs, median and spread
  reported) and Google Benchmark (``--benchmark_repetitions`` with median and CV aggregates), and the
  two-level design of Kalibera & Jones, "Rigorous benchmarking in reasonable time" (ISMM 2013): repeat
  at the level that carries the variance (whole rounds, not more calls inside one round) and report the
  uncertainty of the figure rather than one run's value.
- **Interval of the median**: the distribution-free order-statistic interval ``[x_(k), x_(R+1-k)]`` of
  the ``R`` sorted round values, with the largest ``k`` whose coverage ``1 - 2 P(Bin(R, 1/2) <= k - 1)``
  reaches ``operational.confidence`` (the quantile test's confidence interval: Conover, *Practical
  Nonparametric Statistics*, 3rd ed. 1999, ch. 3; Le Boudec, *Performance Evaluation of Computer and
  Communication Systems*, 2010, ch. 2, confidence interval for the median). With 5 rounds it is the
  range, covering the median with 1 - 2/32 = 93.75 %. It assumes nothing about the rounds' distribution
  (a latency's is skewed and, on a shared machine, often bimodal).
- **Decision on the interval** (:func:`decide_on_interval`): a rule passes when the whole interval meets
  its limit, fails when the whole interval breaks it, and is **too noisy to decide** when the interval
  contains the limit. Too noisy is never a pass: its check is ``not_computable`` (as a figure that could
  not be measured), so a ``block`` rule blocks under ``strict`` and warns otherwise, and a ``warn`` rule
  warns.
- **Against production** (baseline-relative rules): the candidate's and the production model's rounds
  are interleaved on the same machine, in counterbalanced pairs (candidate first in even pairs,
  production first in odd ones: AB BA AB ...), so a burst of load hits both and a drift within a pair
  does not favour either; the statistic is the change (or relative change) **per round pair**, gated on
  the median of the pairs and its interval. Interleaving is Abedi & Brecht's "randomized multiple
  interleaved trials" ("Conducting repeatable experiments in highly variable cloud computing
  environments", ICPE 2017), without the randomisation (a fixed, counterbalanced order that a test can
  check); deciding on per-pair differences is the paired comparison of Kalibera & Jones (2013).
- **Clock** (``operational.clock``): ``cpu`` (default) times each call on the process's CPU time
  (``time.process_time_ns``, Linux ``CLOCK_PROCESS_CPUTIME_ID``, every thread of the process counted):
  time the scheduler gives other processes is not counted, so two busy neighbours barely move it (caches
  and SMT siblings they share still do: the interval is still needed). ``wall`` times elapsed time
  (``time.perf_counter_ns``), what a caller waits for, which a busy machine inflates by the time the
  process waits for a core. Both are read around every call and recorded; the rules read the chosen one.
  CPU time misses waits inside the call (I/O, locks): for a model scored in process these are absent,
  and a wall-time SLO for a serving stack belongs to a load test (``latency_samples``).
- **Threads** (``operational.threads``, default 1): OpenMP and BLAS are limited through threadpoolctl
  while the model is measured (scikit-learn's tree ensembles predict with OpenMP, whose threads wait at
  each parallel region for a sibling that another process holds off a core); onnxruntime sessions gatekit
  loads use one intra-op thread (:class:`gatekit.model.onnx.OnnxModel`). One thread is also how one
  serving worker runs a request.
- **Online latency**: the time of one single-row scoring call, after ``warmup`` untimed calls of that
  model before its first round; the rows are the evaluation rows in order (cycled), the same rows in
  every round, each prepared as the model's own request payload before timing (a one-row frame for
  scikit-learn, an input feed for ONNX), so the figure is the model's, not gatekit's
  (``benchmarks/latency.py`` measures the rest).
- **Percentile**: nearest rank by default (the smallest sample with at least ``q`` of the samples at or
  below it: ``x[ceil(q n) - 1]`` of the sorted samples; a latency that was actually observed), or
  linear interpolation (numpy's default, Hyndman & Fan type 7). Latencies 100, 200, ..., 1000 ms give
  p95 = 1000 (nearest rank) and 955 (linear).
- **Enough samples**: a ``q`` percentile needs at least ``ceil(20 / (1 - q))`` samples in each round (40
  for p50, 400 for p95, 2000 for p99): with fewer, the top 20 samples that pin the tail are not there and
  the value is not computable.
- **Batch time**: one call scoring ``batch_rows`` rows (the evaluation rows, drawn with replacement when
  more are asked for), after one warm-up call; a round's batch time is the median of its ``repeats``
  calls; throughput = rows / batch time per round, so with an odd number of rounds the median throughput
  is rows / the median batch time.
- **Peak memory**: on Linux, the rise of the process's resident-set high-water mark (``VmHWM`` after the
  kernel's ``clear_refs`` reset) over its resident size before one batch call, in MB (2^20 bytes):
  native allocations such as onnxruntime's count. Elsewhere, Python's ``tracemalloc`` peak, which misses
  native allocations (recorded as the method). Measured once, after the rounds: what a batch allocates
  does not depend on the machine's load, and the rule decides on that one value.
- **A load test's samples** (``latency_samples``): one list is one measurement whose spread gatekit cannot
  know, decided on its value as given; a list of lists is a load test run in rounds, decided like
  gatekit's own rounds (and paired in order with production's rounds).
"""

from __future__ import annotations

import contextlib
import math
import statistics
import time
from dataclasses import dataclass, field
from functools import partial
from typing import Any

import numpy as np

from gatekit.core.compare import compare
from gatekit.core.decision import margin as signed_margin
from gatekit.core.errors import NotComputable
from gatekit.core.formatting import percent

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


ROUND_METRICS = ("latency_p50_ms", "latency_p95_ms", "latency_p99_ms", "batch_time_s", "throughput_rows_per_s")
"""Figures measured in rounds, decided on the interval of their median (peak memory is measured once)."""

CLOCKS = ("cpu", "wall")
"""``cpu``: the process's CPU time during a call; ``wall``: elapsed time (see the module docstring)."""


def median_coverage(rounds: int, k: int) -> float:
    """Probability that ``[x_(k), x_(R+1-k)]`` of ``R`` independent values covers their median.

    ``1 - 2 P(Bin(R, 1/2) <= k - 1)``, exact for a continuous distribution (Conover 1999, ch. 3): the
    median lies outside the interval only when fewer than ``k`` values fall on one side of it.

    Parameters
    ----------
    rounds : int
        ``R`` >= 1.
    k : int
        1 <= ``k`` <= ``(R + 1) // 2``.

    Returns
    -------
    float
    """
    tail = sum(math.comb(rounds, i) for i in range(k)) / 2**rounds
    return 1.0 - 2.0 * tail


@dataclass
class RoundStats:
    """The spread of one figure over rounds (or of a change over round pairs).

    Parameters
    ----------
    values : list of float
        One value per round, in the order measured.
    median : float
        The figure gated: the median of ``values``.
    low, high : float or None
        The interval of the median (order statistics ``k`` and ``R + 1 - k``); None with one round, or
        when there are too few rounds for the coverage asked (``interval_error`` says so).
    coverage : float or None
        Its exact coverage (:func:`median_coverage`), at least the confidence asked.
    k : int or None
        Rank of its lower bound (1 = the smallest round).
    cv : float or None
        Coefficient of variation, sample standard deviation (ddof 1) / mean; None with one round or a
        mean of 0.
    interval_error : str
        Why there is no interval with two rounds or more.
    """

    values: list[float]
    median: float
    low: float | None
    high: float | None
    coverage: float | None
    k: int | None
    cv: float | None
    interval_error: str = ""

    def to_dict(self) -> dict[str, Any]:
        """Return the figures as a JSON-ready mapping (the check's ``details["rounds"]``)."""
        return {"count": len(self.values), "values": self.values, "median": self.median,
                "min": min(self.values), "max": max(self.values), "cv": self.cv, "low": self.low,
                "high": self.high, "coverage": self.coverage,
                "order_statistics": None if self.k is None else [self.k, len(self.values) + 1 - self.k],
                **({"interval_error": self.interval_error} if self.interval_error else {})}


def median_interval(values: Any, confidence: float) -> tuple[float, float, float, int]:
    """Distribution-free interval of the median of ``values`` with coverage at least ``confidence``.

    The widest-coverage-needed pair of order statistics: the largest ``k`` with
    :func:`median_coverage` ``(R, k) >= confidence`` gives ``[x_(k), x_(R+1-k)]`` of the sorted values
    (Conover 1999, ch. 3; Le Boudec 2010, ch. 2). 5 values at 0.9: ``k = 1``, the range, 93.75 %;
    12 values at 0.9: ``k = 3``, 96.1 % (``k = 4`` would give 85.4 %).

    Parameters
    ----------
    values : array-like of shape (n_rounds,)
        One figure per round.
    confidence : float
        In (0.5, 1).

    Returns
    -------
    low, high : float
    coverage : float
        The interval's exact coverage.
    k : int

    Raises
    ------
    NotComputable
        Too few values: even their range covers the median with less than ``confidence``.
    """
    x = np.sort(np.asarray(values, dtype=float))
    n = len(x)
    best = None
    for k in range(1, (n + 1) // 2 + 1):
        cov = median_coverage(n, k)
        if cov + 1e-12 < confidence:
            break
        best = (k, cov)
    if best is None:
        have = median_coverage(n, 1) if n else 0.0
        raise NotComputable(f"{n} rounds cannot give a {percent(confidence)} interval of the median (their range "
                            f"covers it with {have:.2%}); give more rounds", {"rounds": n, "confidence": confidence})
    k, cov = best
    return float(x[k - 1]), float(x[n - k]), cov, k


def round_stats(values: Any, confidence: float) -> RoundStats:
    """Summarise one figure's rounds: median, interval of the median (:func:`median_interval`) and CV.

    Parameters
    ----------
    values : array-like of shape (n_rounds,)
        One figure per round (finite).
    confidence : float
        Coverage asked of the interval.

    Returns
    -------
    RoundStats
        With one round there is no spread: ``low``, ``high``, ``cv`` are None and ``interval_error`` empty.
    """
    v = [float(x) for x in values]
    med = float(np.median(v))
    cv = None
    if len(v) > 1:
        mean = float(np.mean(v))
        cv = float(np.std(v, ddof=1) / mean) if mean != 0 else None
    if len(v) < 2:
        return RoundStats(v, med, None, None, None, None, cv)
    try:
        low, high, cov, k = median_interval(v, confidence)
    except NotComputable as exc:
        return RoundStats(v, med, None, None, None, None, cv, exc.reason)
    return RoundStats(v, med, low, high, cov, k, cv)


def paired_changes(candidate: Any, baseline: Any, relative: bool) -> list[float]:
    """Change per round pair: ``c_i - b_i``, or ``100 (c_i - b_i) / |b_i|`` (percent) when ``relative``.

    Parameters
    ----------
    candidate, baseline : array-like of shape (n_rounds,)
        The two models' figures, round ``i`` of each measured in the same interleaved pair.
    relative : bool
        Percent of production's figure.

    Returns
    -------
    list of float

    Raises
    ------
    NotComputable
        Different numbers of rounds (no pairing), or a production figure of 0 under ``relative``.
    """
    c, b = np.asarray(candidate, dtype=float), np.asarray(baseline, dtype=float)
    if len(c) != len(b):
        raise NotComputable(f"the candidate has {len(c)} rounds and production {len(b)}: rounds are compared in "
                            "pairs, so both need the same number")
    if not relative:
        return [float(x) for x in c - b]
    if np.any(b == 0):
        raise NotComputable("production's figure is 0 in a round, so a change in percent of it is not defined; use "
                            "the absolute form")
    return [float(x) for x in 100.0 * (c - b) / np.abs(b)]


def decide_on_interval(low: float, high: float, conds: list[tuple[str, float]]) -> tuple[str, float | None]:
    """Decide one-sided conditions ``statistic OP limit`` on an interval ``[low, high]``, three ways.

    Parameters
    ----------
    low, high : float
        The interval of the statistic.
    conds : list of (op, limit)
        Conditions that must all hold (``>=``, ``>``, ``<=``, ``<``; the comparison of
        :func:`gatekit.core.compare.compare`).

    Returns
    -------
    verdict : {"pass", "fail", "too_noisy"}
        ``pass`` when the bound nearest each limit meets it (the whole interval passes); ``fail`` when
        the bound farthest from some limit breaks it (the whole interval fails); otherwise ``too_noisy``:
        the interval contains a limit, and the measurement cannot tell which side the figure is on.
    margin : float or None
        Signed distance of the deciding bound from the nearest limit, positive on the passing side
        (the worst bound for a pass, the best bound for a fail); None when too noisy.
    """
    worst = [(op, t, low if op in (">=", ">") else high) for op, t in conds]
    best = [(op, t, high if op in (">=", ">") else low) for op, t in conds]
    if all(compare(v, op, t) for op, t, v in worst):
        return "pass", min(m for op, t, v in worst if (m := signed_margin(v, op, t)) is not None)
    broken = [(op, t, v) for op, t, v in best if not compare(v, op, t)]
    if broken:
        return "fail", min(m for op, t, v in broken if (m := signed_margin(v, op, t)) is not None)
    return "too_noisy", None


@dataclass
class Figures:
    """What was measured (or read) for one model.

    Parameters
    ----------
    latency_rounds_ms : list of list of float, optional
        Single-row latencies in ms on the gated clock, one list per round; None when not measured.
    latency_other_ms : list of list of float, optional
        The same calls on the other clock (wall when the gated clock is CPU time); None for a load test.
    latency_source : str
        Where the latencies come from, in words.
    clock : {"cpu", "wall"}
        The gated clock of gatekit's own timing.
    latency_clock : str
        The latencies' clock when they are not gatekit's timing: ``load_test`` (the load test's own); empty
        otherwise (``clock``).
    batch_rounds_s, batch_other_s : list of list of float
        Batch times in s per round (``repeats`` each), on the gated and on the other clock.
    batch_rows : int
        Rows in the batch.
    peak_memory_mb : float or None
    memory_method : str
    errors : dict
        ``latency``, ``batch`` or ``all`` -> why that measurement failed.
    details : dict
        Recorded in every check on these figures (model kind, rows, clock, threads, schedule).
    """

    latency_rounds_ms: list[list[float]] | None = None
    latency_other_ms: list[list[float]] | None = None
    latency_source: str = ""
    clock: str = "cpu"
    latency_clock: str = ""
    batch_rounds_s: list[list[float]] = field(default_factory=list)
    batch_other_s: list[list[float]] = field(default_factory=list)
    batch_rows: int = 0
    peak_memory_mb: float | None = None
    memory_method: str = ""
    errors: dict[str, str] = field(default_factory=dict)
    details: dict[str, Any] = field(default_factory=dict)

    @property
    def latencies_ms(self) -> list[float] | None:
        """Every single-row latency on the gated clock, the rounds one after the other (None: not measured)."""
        if self.latency_rounds_ms is None:
            return None
        return [v for r in self.latency_rounds_ms for v in r]

    @property
    def batch_times_s(self) -> list[float]:
        """Each round's batch time on the gated clock: the median of its repeats."""
        return [float(statistics.median(r)) for r in self.batch_rounds_s if r]


@dataclass
class Arm:
    """One model to measure in :func:`measure_models`.

    Parameters
    ----------
    runner : Runner
        The model bound to its features.
    latency, batch : bool
        Which measurements it needs (a model only compared on latency does not pay for the batch).
    label : str
        How the schedule names it (``candidate``, ``production``).
    """

    runner: Runner
    latency: bool = True
    batch: bool = True
    label: str = "candidate"


def schedule(n_arms: int, rounds: int) -> list[list[int]]:
    """Order in which the arms run in each round: counterbalanced pairs (AB, BA, AB, ...).

    Parameters
    ----------
    n_arms : int
        1 (one model) or 2 (candidate and production).
    rounds : int
        Rounds of measurement.

    Returns
    -------
    list of list of int
        Arm indices per round: ``[[0, 1], [1, 0], [0, 1], ...]`` for two arms, ``[[0], [0], ...]`` for one.
    """
    order = list(range(n_arms))
    return [order if r % 2 == 0 else order[::-1] for r in range(rounds)]


def _thread_limit(threads: int | None) -> tuple[Any, str]:
    """Return a context limiting OpenMP and BLAS threads (threadpoolctl), and how the details name it."""
    if threads is None:
        return contextlib.nullcontext(), "the libraries' defaults (not limited)"
    from threadpoolctl import threadpool_limits  # type: ignore[import-untyped]

    return threadpool_limits(limits=threads), (f"{threads} (OpenMP and BLAS through threadpoolctl; onnxruntime "
                                              "sessions gatekit loads use one intra-op thread)")


def measure(runner: Runner, frame: Any, spec: Any, seed: int = 20261129, batch: bool = True,
            latency: bool = True, sample: dict[str, Any] | None = None) -> Figures:
    """Measure one model's latency, batch time and memory on the evaluation rows, in rounds.

    :func:`measure_models` with one arm; see there.

    Returns
    -------
    Figures
    """
    return measure_models([Arm(runner, latency, batch)], frame, spec, seed, sample)[0]


def measure_models(arms: list[Arm], frame: Any, spec: Any, seed: int = 20261129,
                   sample: dict[str, Any] | None = None) -> list[Figures]:
    """Measure one or two models in ``spec.rounds`` rounds, interleaved on the same machine.

    Before any timing: each model's request payloads, the batch and their warm-up calls. Then, round by
    round in the order of :func:`schedule`, each arm times ``spec.requests`` single-row calls (the same
    rows every round) and ``spec.repeats`` batch calls, every call on both clocks. Peak memory is
    measured once per arm after the rounds. All of it runs under the thread limit ``spec.threads``.

    Parameters
    ----------
    arms : list of Arm
        The candidate, and production for a baseline-relative rule.
    frame : pandas.DataFrame
        The evaluation data (at least every arm's features), or a seeded sample of it (``sample``).
    spec : gatekit.policy.specs.OperationalSpec
        requests, warmup, batch_rows, repeats, rounds, clock, threads.
    seed : int
        Seed of the draw when ``batch_rows`` exceeds the evaluation rows.
    sample : dict, optional
        When ``frame`` is a sample of rows an engine holds (``--engine duckdb``): how it was drawn, e.g.
        ``{"rows": 100000, "seed": 20261129, "of_rows": 10000000, "engine": "duckdb", "method": ...}``
        (:func:`sample_rows` rows, seed :data:`SAMPLE_SEED`); recorded in the details as ``sample`` and named
        in the latency source, so every figure says which rows it was measured on.

    Returns
    -------
    list of Figures
        One per arm, in the order given. A measurement that raised is recorded in ``errors`` (the rules on
        it are errors), never a figure; that arm's later rounds of it are skipped.
    """
    rounds, clock = int(getattr(spec, "rounds", 1)), str(getattr(spec, "clock", "wall"))
    limiter, threads_text = _thread_limit(getattr(spec, "threads", None))
    order = schedule(len(arms), rounds)
    figs, plans = [], []
    n_rows = len(frame)
    for arm in arms:
        fig = Figures(clock=clock, details={"model_kind": arm.runner.kind, "rows_available": n_rows, "clock": clock,
                                           "threads": threads_text, "rounds_measured": rounds})
        if len(arms) > 1:
            fig.details["schedule"] = (f"{rounds} rounds interleaved with the "
                                       f"{'production model' if arm.label == 'candidate' else 'candidate'} on this "
                                       "machine, counterbalanced: " + " ".join(
                                           "".join("AB"[i] for i in o) for o in order)
                                       + " (A = candidate, B = production)")
        on_sample = ""
        if sample is not None:
            fig.details["sample"] = dict(sample)
            on_sample = (f", on a seeded sample of {n_rows:,} rows (seed {sample.get('seed')}) of the "
                         f"{sample.get('engine', 'engine')} table")
        if n_rows == 0:
            fig.errors["all"] = "the evaluation data has no rows to send"
        figs.append(fig)
        plans.append({"on_sample": on_sample})
    if n_rows == 0:
        return figs
    with limiter:
        for arm, fig, plan in zip(arms, figs, plans, strict=True):
            _prepare(arm, fig, plan, frame, spec, seed)
        for ids in order:
            for i in ids:
                _round(arms[i], figs[i], plans[i], spec)
        for arm, fig, plan in zip(arms, figs, plans, strict=True):
            if "B" in plan and "batch" not in fig.errors:
                try:
                    fig.peak_memory_mb, fig.memory_method = _peak_memory_mb(partial(arm.runner, plan["B"]))
                except Exception as exc:  # noqa: BLE001 - the model failing is the finding
                    fig.errors["batch"] = f"{type(exc).__name__}: {exc}"
            if arm.latency and "latency" not in fig.errors:
                fig.latency_source = (f"measured: {rounds} rounds of {spec.requests} single-row calls after "
                                      f"{spec.warmup} warm-up calls, {arm.runner.kind} model in this process, "
                                      f"{'CPU' if clock == 'cpu' else 'wall-clock'} time{plan['on_sample']}")
    return figs


def _prepare(arm: Arm, fig: Figures, plan: dict[str, Any], frame: Any, spec: Any, seed: int) -> None:
    """Payloads, batch and warm-up of one arm, before any round is timed."""
    X = frame[arm.runner.features]
    if arm.latency:
        try:
            # payloads built before timing: the clock sees the model's call, not gatekit's preparation
            n = spec.warmup + spec.requests
            distinct = [arm.runner.prepare(X.iloc[[i]]) for i in range(min(len(X), n))]
            rows = [distinct[i % len(distinct)] for i in range(n)]
            call = arm.runner.request_function()
            for p in rows[: spec.warmup]:
                call(p)
            plan["call"], plan["rows"] = call, rows[spec.warmup:]
            fig.latency_rounds_ms, fig.latency_other_ms = [], []
        except Exception as exc:  # noqa: BLE001 - the model failing is the finding
            fig.errors["latency"] = f"{type(exc).__name__}: {exc}"
    if arm.batch:
        try:
            n = spec.batch_rows or len(X)
            idx = np.arange(n) if n <= len(X) else np.random.default_rng(seed).integers(0, len(X), n)
            B = X.iloc[idx].reset_index(drop=True)
            arm.runner(B.iloc[: min(len(B), 100)])  # warm-up
            plan["B"] = B
            fig.batch_rows = n
        except Exception as exc:  # noqa: BLE001
            fig.errors["batch"] = f"{type(exc).__name__}: {exc}"


def _round(arm: Arm, fig: Figures, plan: dict[str, Any], spec: Any) -> None:
    """One round of one arm: its single-row calls, then its batch calls, each on both clocks.

    The gated clock is read innermost (``other0, gated0, call, gated1, other1``), so the other clock's
    reading (a system call for CPU time, about 0.2-0.7 us) is outside the window that decides.
    """
    wall_ns, cpu_ns = time.perf_counter_ns, time.process_time_ns
    inner, outer = (cpu_ns, wall_ns) if fig.clock == "cpu" else (wall_ns, cpu_ns)
    if "call" in plan and "latency" not in fig.errors:
        call, gated, other = plan["call"], [], []
        try:
            for p in plan["rows"]:
                o0 = outer()
                g0 = inner()
                call(p)
                g1 = inner()
                o1 = outer()
                gated.append((g1 - g0) / 1e6)
                other.append((o1 - o0) / 1e6)
        except Exception as exc:  # noqa: BLE001 - the model failing is the finding
            fig.errors["latency"] = f"{type(exc).__name__}: {exc}"
            fig.latency_rounds_ms = fig.latency_other_ms = None
        else:
            if fig.latency_rounds_ms is not None and fig.latency_other_ms is not None:
                fig.latency_rounds_ms.append(gated)
                fig.latency_other_ms.append(other)
    if "B" in plan and "batch" not in fig.errors:
        B, gated, other = plan["B"], [], []
        try:
            for _ in range(spec.repeats):
                o0 = outer()
                g0 = inner()
                arm.runner(B)
                g1 = inner()
                o1 = outer()
                gated.append((g1 - g0) / 1e9)
                other.append((o1 - o0) / 1e9)
        except Exception as exc:  # noqa: BLE001
            fig.errors["batch"] = f"{type(exc).__name__}: {exc}"
            fig.batch_rounds_s, fig.batch_other_s = [], []
        else:
            fig.batch_rounds_s.append(gated)
            fig.batch_other_s.append(other)


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


def value(fig: Figures, metric: str, method: str, confidence: float = 0.9) -> tuple[float, dict[str, Any]]:
    """One operational metric's value from the figures: the median over rounds, with its spread.

    Parameters
    ----------
    fig : Figures
        One model's measurement.
    metric : str
        A name of :data:`LATENCY_METRICS` or :data:`BATCH_METRICS`.
    method : {"nearest_rank", "linear"}
        Percentile method.
    confidence : float
        Coverage asked of the interval of the median (``operational.confidence``).

    Returns
    -------
    value : float
        The median of the rounds' values (the one value of a load test without rounds; the one memory
        measurement).
    details : dict
        ``rounds`` (:meth:`RoundStats.to_dict`: values, median, min, max, cv, interval, coverage), and for
        measured figures ``other_clock`` (the same statistic on the other clock) and ``wall_over_cpu``
        (median over rounds of wall / CPU: about 1 on an idle machine, above 1 when the process waited for
        a core); the samples' summary and histogram for latency.

    Raises
    ------
    NotComputable
        Too few latency samples in a round, or no figure for this metric.
    ValueError
        The measurement itself failed (the model raised).
    """
    if "all" in fig.errors:
        raise NotComputable(fig.errors["all"])
    details: dict[str, Any] = dict(fig.details)
    other = "wall" if fig.clock == "cpu" else "cpu"
    if metric in LATENCY_METRICS:
        if "latency" in fig.errors:
            raise ValueError(f"the model failed while its latency was measured: {fig.errors['latency']}")
        if not fig.latency_rounds_ms:
            raise NotComputable("no latency samples")
        q = LATENCY_METRICS[metric]
        per_round = [percentile(r, q, method) for r in fig.latency_rounds_ms]
        label = f"p{round(q * 100):g}"
        stats = round_stats(per_round, confidence)
        lat = np.asarray(fig.latencies_ms)
        details.update({"percentile_method": method, "samples": len(lat),
                        "samples_per_round": [len(r) for r in fig.latency_rounds_ms], "source": fig.latency_source,
                        "clock": fig.latency_clock or fig.clock, "min_ms": float(lat.min()),
                        "median_ms": float(np.median(lat)), "max_ms": float(lat.max()), "mean_ms": float(lat.mean()),
                        "statistic": (f"median of the {len(per_round)} rounds' {label}" if len(per_round) > 1
                                      else f"{label} of the samples"),
                        "rounds": stats.to_dict()})
        if fig.latency_other_ms:
            other_round = [percentile(r, q, method) for r in fig.latency_other_ms]
            details["other_clock"] = {"clock": other, "values": other_round, "median": float(np.median(other_round))}
            details["wall_over_cpu"] = _wall_over_cpu(per_round, other_round, fig.clock)
        # for the report's histogram: over more than two decades the bins are equal on a log scale, as the
        # report then draws that axis (equal-width bins would put every call but the tail in one bar)
        bins = min(30, max(5, len(lat) // 20))
        lo, hi = float(lat.min()), float(lat.max())
        counts, edges = np.histogram(lat, bins=np.geomspace(lo, hi, bins + 1) if lo > 0 and hi / lo > 100 else bins)
        details["histogram"] = {"edges_ms": [float(e) for e in edges], "counts": [int(c) for c in counts]}
        return stats.median, details
    if metric not in BATCH_METRICS:  # never another figure under this name (peak memory is the last branch)
        known = ", ".join([*LATENCY_METRICS, *BATCH_METRICS])
        raise NotComputable(f"gatekit measures no {metric} figure (it measures {known})")
    if "batch" in fig.errors:
        raise ValueError(f"the model failed while scoring the batch: {fig.errors['batch']}")
    if not fig.batch_rounds_s:
        raise NotComputable("no batch measurement")
    times = fig.batch_times_s
    other_times = [float(statistics.median(r)) for r in fig.batch_other_s if r]
    details.update({"batch_rows": fig.batch_rows, "batch_times_s": times, "repeats": len(fig.batch_rounds_s[0]),
                    "clock": fig.clock})
    if metric in ("batch_time_s", "throughput_rows_per_s"):
        if metric == "batch_time_s":
            per_round, other_round = times, other_times
        else:
            if min(times) <= 0:
                raise NotComputable("the batch took no measurable time")
            per_round = [fig.batch_rows / t for t in times]
            other_round = [fig.batch_rows / t for t in other_times if t > 0]
        stats = round_stats(per_round, confidence)
        details.update({"statistic": f"median of the {len(per_round)} rounds (each the median of its repeats)",
                        "rounds": stats.to_dict()})
        if len(other_round) == len(per_round):
            details["other_clock"] = {"clock": other, "values": other_round,
                                      "median": float(np.median(other_round))}
            details["wall_over_cpu"] = _wall_over_cpu(times, other_times, fig.clock)
        return stats.median, details
    if fig.peak_memory_mb is None:
        raise NotComputable("no memory measurement")
    details["memory_method"] = fig.memory_method
    details["statistic"] = "one measurement after the rounds (memory does not depend on the machine's load)"
    return fig.peak_memory_mb, details


def _wall_over_cpu(gated: list[float], other: list[float], clock: str) -> float | None:
    """Median over rounds of wall time / CPU time of the same calls (None if a CPU figure is 0)."""
    wall, cpu = (other, gated) if clock == "cpu" else (gated, other)
    ratios = [w / c for w, c in zip(wall, cpu, strict=True) if c > 0]
    return float(np.median(ratios)) if len(ratios) == len(wall) and ratios else None


class LatencySamples(list[float]):
    """A load test's latencies (ms), every sample in order; ``rounds`` holds them per round.

    A ``list[float]`` (what :class:`gatekit.data.inputs.RunInputs` holds) that remembers the rounds a load
    test was run in: ``rounds == [self]`` for a file with one list of samples.
    """

    rounds: list[list[float]]


def load_samples(path: Any) -> LatencySamples:
    """Read a load test's latency samples, in ms.

    ``{"latency_ms": [12.1, 13.4, ...]}`` (or a bare list) is one measurement; ``{"latency_ms": [[...],
    [...], ...]}`` (or a bare list of lists) is a load test run in rounds, one list per round.

    Returns
    -------
    LatencySamples
        Every sample, with ``rounds``.

    Raises
    ------
    gatekit.core.errors.InputError
        Missing file, invalid JSON, a value that is not a finite number >= 0, an empty round, or numbers
        and lists mixed.
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
        raise input_error('expected {"latency_ms": [numbers, ...]} (milliseconds, one per request), or '
                          '{"latency_ms": [[...], [...]]} for rounds', str(path))
    nested = [isinstance(v, list) for v in samples]
    if any(nested) and not all(nested):
        raise input_error("latency_ms mixes numbers and lists: give one list of numbers, or one list per round",
                          str(path), key="latency_ms")
    rounds = samples if all(nested) else [samples]
    for r, values in enumerate(rounds):
        where = f" in round {r} " if len(rounds) > 1 or all(nested) else " "
        if not values:
            raise input_error(f"round {r} of latency_ms has no samples", str(path), key="latency_ms")
        bad = [i for i, v in enumerate(values)
               if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v) or v < 0]
        if bad:
            raise input_error(f"{len(bad)} latency samples{where}are not finite numbers >= 0 (first at index "
                              f"{bad[0]}: {values[bad[0]]!r})", str(path), key="latency_ms")
    out = LatencySamples(float(v) for values in rounds for v in values)
    out.rounds = [[float(v) for v in values] for values in rounds]
    return out
