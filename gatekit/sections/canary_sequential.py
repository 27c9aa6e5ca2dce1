"""``canary.sequential``: an anytime-valid canary, decided again and again as its log grows.

A fixed-n interval read after every batch of canary rows and acted on at the first look that excludes the limit
errs far more often than its level says (in the simulation below: an unpaired 95 % interval looked at 30 times
stopped a canary whose true change sat exactly on the limit for "proven harm" in 11.9 % of 1,000 rollouts, against
the 2.5 % a one-sided decision promises). A *confidence sequence* covers the arms' difference at every row count
at once, so it may be read at every prefix of the log and the rollout stopped at the first proven harm or proven
safety (:mod:`gatekit.stats.sequential` for the constructions and their sources).

Per-row metrics (:data:`gatekit.metrics.per_row.CANARY_PER_ROW`: accuracy, Brier score, log loss, MAE and, from
the log's latency column, the mean served latency ``latency_mean_ms``): the
construction is **pairing in arrival order**: the ``i``-th candidate row with the ``i``-th production row
(:func:`gatekit.stats.sequential.paired_differences`). Under random assignment of independent rows the pairs'
differences are independent and identically distributed with mean the difference of the arms' means, so one
confidence sequence for a mean applies (Johari et al.'s two-stream setting). Production's surplus rows wait for
their pair (with a 30/70 split, 40 % of the log is unused). The alternative, one sequence per arm at half the
error each (union bound), uses every row, but each arm's bound is wider and the two widths add. Measured on
simulated rollouts of accuracy 0.80 (``python -m tests.sections.test_canary_sequential``, seed 1: 1,000 runs of
3,000 log rows per null row, 500 runs of 6,000 per harm row; normal mixture, 95 %, ``n_opt`` 1000, every row a
look; the fixed-n column is the unpaired Wald interval at 30 evenly spaced looks):

=================================================  =======  ===========  =================
scenario                                           paired   one per arm  fixed-n, 30 looks
=================================================  =======  ===========  =================
30/70, true change -0.02 = limit: false stops      0.9 %    0.2 %        11.9 %
30/70, no change, limit 0: false stops             0.5 %    0.2 %        11.2 %
30/70, true change -0.10: median log rows to stop  1,453    2,254        600 (not valid)
50/50, true change -0.10: median log rows to stop  878      1,863        400 (not valid)
=================================================  =======  ===========  =================

Both sequences keep false stops under the one-sided 2.5 %; pairing stops a real harm with a third fewer rows at
30/70 and half at 50/50, so gatekit pairs.

The sequence (:func:`resolve_method`: betting for bounded per-row values, exact; the normal mixture for
unbounded ones, asymptotic, with no bounds before :data:`MIN_PAIRS` pairs of which :data:`MIN_OFF_MODE` differ
from the most common difference) is evaluated at every prefix of the log (every pair: the normal mixture in
``O(rows)``; the betting sequence at every pair up to 1,000 pairs and then at pair counts 1 % apart, because its
bisection costs rows x looks; a sequence valid at every row is valid on any subset of its looks). The check
reports the sequence at the current rows, and the first log row count at which it lay wholly on the failing side
of a limit (harm proven: stop, the rule fails) or wholly on the passing side of every limit (safety proven: stop,
the rule passes); otherwise the outcome is ``insufficient_data`` (no bounds yet, or bounds wider than the rule's
margin) or ``inconclusive`` (keep collecting), with the rule's severities
(:meth:`gatekit.policy.specs.MetricRule.severities`); a running intersection that became empty makes the rule
not computable (:func:`read_sequence`). Assumptions: the rows were assigned to the arms at random,
independently of their outcomes; the rows are in arrival order; rows are independent.

ROC AUC, PR AUC and the latency percentiles (``latency_p50_ms``, ``latency_p95_ms``, ``latency_p99_ms``) are not
means of rows. Their stated method is Bonferroni over the declared ``max_looks`` K:
look ``k`` (counted in the run history by metric and rollout, :class:`Looks`) reads the unpaired bootstrap interval
of today's canary at confidence ``1 - (1 - c) / K`` from at least ``ceil(20 K / (1 - c))`` resamples
(:func:`gatekit.policy.specs.canary.look_resamples`), so over the K looks each side errs with probability at most
``(1 - c) / 2``.
Past K looks the rule is not computable (never a pass); without the run history it is not computable either.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from gatekit.core.compare import compare
from gatekit.core.errors import NotComputable
from gatekit.core.formatting import percent
from gatekit.core.results import CheckResult, RuleKey, Status
from gatekit.metrics.registry import ResolvedMetric
from gatekit.policy.specs import MetricRule
from gatekit.policy.specs.canary import look_resamples
from gatekit.sections.comparison import (
    Side,
    conditions,
    evaluate_rule,
    interval_outcome,
    outcome_status,
)

BETTING_EVERY_PAIR = 1000
"""The betting sequence is evaluated at every pair up to this many pairs, then at pair counts 1 % apart."""


@dataclass(frozen=True)
class Looks:
    """The rollout's earlier looks, as the run history recorded them (read by :func:`gatekit.api.run`).

    Parameters
    ----------
    available : bool
        False when the history is off or could not be read.
    reason : str
        Why not (empty when available).
    looks : tuple of dict
        Earlier sequential canary checks of this policy and rollout, oldest first: ``run_id``, ``started_at``,
        ``rule`` (``canary.rules[i]``), ``metric``, ``rollout``, ``log_sha256``, ``rows``, ``look``, ``cs``
        (``[low, high]`` or None), ``result``, ``status``.
    """

    available: bool
    reason: str = ""
    looks: tuple[dict[str, Any], ...] = field(default_factory=tuple)

    def for_metric(self, metric: str, rollout: str) -> list[dict[str, Any]]:
        """Earlier looks at one metric of one rollout, oldest first, whatever the rules' positions.

        Looks are counted by the data looked at (distinct log digests of this policy, metric and rollout), not
        by ``canary.rules[i]``: inserting, removing or reordering rules does not reset the count, and two rules
        on one metric share it (they read the same looks at the same data).
        """
        return [lk for lk in self.looks if lk.get("metric") == metric and lk.get("rollout") == rollout]


def look_number(previous: list[dict[str, Any]], log_sha256: str | None) -> int:
    """Return this run's look number: one more than the distinct logs looked at before, or a rerun's own number.

    A run on a log already looked at (same sha256) is the same look, not a new one: re-reading the same rows
    spends no error. A look that read no interval (``cs`` None: too few rows for the metric, no history, past
    ``max_looks``) spent none of the budget either, so it is not counted (an hourly job on a log still under the
    2,000 rows per arm a p99 needs would otherwise spend every look before the first decision).

    Parameters
    ----------
    previous : list of dict
        Earlier looks (``log_sha256`` and ``cs`` each), oldest first.
    log_sha256 : str or None
        This run's canary log digest.
    """
    seen: list[str | None] = []
    for lk in previous:
        if lk.get("cs") is None:  # decided nothing, spent nothing
            continue
        sha = lk.get("log_sha256")
        if sha is None or sha not in seen:
            seen.append(sha)
    if log_sha256 is not None and log_sha256 in seen:
        return seen.index(log_sha256) + 1
    return len(seen) + 1


def pair_rows(arrival: np.ndarray) -> np.ndarray:
    """Log rows read when each pair of rows is complete.

    Parameters
    ----------
    arrival : ndarray of shape (n_rows,)
        1 for a candidate row, 0 for a production row, -1 for neither, in arrival order.

    Returns
    -------
    ndarray of int, shape (min(n_candidate, n_production),)
        Element ``k - 1`` is the smallest prefix of the log holding ``k`` rows of each arm.
    """
    nc, nb = np.cumsum(arrival == 1), np.cumsum(arrival == 0)
    both = np.minimum(nc, nb)
    k = np.arange(1, int(both[-1]) + 1 if both.size else 1)
    return np.searchsorted(both, k, side="left") + 1


def betting_looks(n: int) -> np.ndarray:
    """Pair counts at which the betting sequence is evaluated: every pair up to 1,000, then 1 % apart, and ``n``."""
    head = np.arange(1, min(n, BETTING_EVERY_PAIR) + 1)
    if n <= BETTING_EVERY_PAIR:
        return head
    steps = math.ceil(math.log(n / BETTING_EVERY_PAIR) / math.log(1.01))
    tail = np.unique(np.floor(BETTING_EVERY_PAIR * 1.01 ** np.arange(1, steps + 1)).astype(np.int64))
    return np.unique(np.concatenate([head, tail[tail < n], [n]]))


MIN_PAIRS = 30
"""The normal mixture (estimated spread) gives no bounds before this many pairs (rows) ..."""
MIN_OFF_MODE = 30
"""... nor before this many of them differ from the most common difference (value) so far
(:func:`gatekit.stats.sequential.off_mode_counts`; for mostly-zero differences of 0/1 outcomes: the non-zero
differences)."""


def resolve_method(requested: str | None, bounds: tuple[float, float] | None) -> str:
    """Return the sequence a rule is read on: the policy's ``method``, else betting for bounded values.

    Parameters
    ----------
    requested : {"normal_mixture", "betting"} or None
        ``canary.sequential.method`` / ``inputs.sequential.method`` (None: not given).
    bounds : tuple of float or None
        Known bounds of one per-row value (None: unbounded).

    Returns
    -------
    {"normal_mixture", "betting"}
        ``requested`` when given; otherwise ``betting`` (exact at every row count) for bounded values (accuracy,
        Brier score, agreement, score differences of probabilities) and ``normal_mixture`` (asymptotic) for
        unbounded ones (log loss, MAE). The default is not the normal mixture for bounded values because its
        spread, estimated from a few discordant rows, is too small: at accuracies 0.94 vs 0.99 it claimed
        safety in 4.8 % of 1,000 rollouts at a promised 2.5 % (:mod:`gatekit.sections.canary_sequential`).
    """
    if requested is not None:
        return requested
    return "betting" if bounds is not None else "normal_mixture"


def sequence(d: np.ndarray, method: str, confidence: float, n_opt: int,
             bounds: tuple[float, float] | None, *, differences: bool = True) -> Any:
    """Return the confidence sequence of the mean of ``d`` (:mod:`gatekit.stats.sequential`).

    Parameters
    ----------
    d : ndarray of shape (n_pairs,)
        Candidate minus production per-row values, paired in arrival order (or, with ``differences=False``, one
        model's per-row values in arrival order: a shadow's agreement or score difference).
    method : {"normal_mixture", "betting"}
        :func:`~gatekit.stats.sequential.normal_mixture_cs` (estimated spread, tightest at ``n_opt`` pairs;
        no bounds before :data:`MIN_PAIRS` pairs of which :data:`MIN_OFF_MODE` differ from the most common
        difference) at every pair, or :func:`~gatekit.stats.sequential.betting_cs` on ``[lo - hi, hi - lo]``
        (on ``[lo, hi]`` for values that are no differences) at :func:`betting_looks`.
    confidence : float
        Two-sided level.
    n_opt : int
        Pairs where the normal mixture boundary is tightest.
    bounds : tuple of float or None
        Bounds ``(lo, hi)`` of one per-row value (betting only).
    differences : bool
        ``d`` holds differences of two bounded values (default), or the values themselves.

    Returns
    -------
    ConfidenceSequence
    """
    from gatekit.stats.sequential import betting_cs, normal_mixture_cs

    if method == "betting":
        assert bounds is not None
        lo, hi = bounds
        low, high = (lo - hi, hi - lo) if differences else (lo, hi)
        return betting_cs(d, low, high, confidence, looks=betting_looks(d.size))
    return normal_mixture_cs(d, confidence, n_opt=float(n_opt), min_rows=MIN_PAIRS, min_off_mode=MIN_OFF_MODE)


def no_bounds_reason(x: np.ndarray, unit: str, what: str = "difference") -> str:
    """Why the normal mixture has no bounds at the current rows (too few of them, no spread, too few off the mode).

    Parameters
    ----------
    x : ndarray of shape (n,)
        The per-row differences (or values) the sequence reads.
    unit : str
        ``pairs`` or ``rows``.
    what : str
        What one row gives: ``difference`` or ``value``.
    """
    from gatekit.stats.sequential import off_mode_counts

    n = int(x.size)
    if n < MIN_PAIRS:
        return f"too few {unit}: the normal mixture needs at least {MIN_PAIRS} {unit}, and there are {n}"
    if not float(np.ptp(x)) > 0:
        return (f"no spread: all {n} {unit} have the same {what} "
                f"({float(x[0]):+.4g}), so the normal mixture cannot estimate how much they vary")
    off = int(off_mode_counts(x)[-1])
    return (f"too little spread: only {off} of {n} {unit} differ from the most common {what}, and the normal "
            f"mixture needs {MIN_OFF_MODE} before it trusts its estimate of their spread; method betting, for "
            "bounded values, needs none")


@dataclass(frozen=True)
class SequenceReading:
    """What a confidence sequence shows about a rule at the current rows (:func:`read_sequence`).

    Parameters
    ----------
    result : str or None
        ``proven``, ``disproven``, ``inconclusive``, ``insufficient_data``; None when the running intersection
        became empty (the rows break the sequence's assumptions: not computable).
    stop : int or None
        Look index of the first proven harm or proven safety.
    empty : int or None
        Look index at which the running intersection became empty.
    low, high : float
        The sequence at the current rows; when it became empty, at the last look before (never ``low > high``).
    why : str
        For ``insufficient_data``: why the rows cannot decide the rule yet; with ``result`` None: how the rows
        after an early proof of safety contradict it.
    half_width : float or None
        ``(high - low) / 2`` at the current rows (None without bounds).
    """

    result: str | None
    stop: int | None
    empty: int | None
    low: float
    high: float
    why: str = ""
    half_width: float | None = None


def rule_margin(rule: MetricRule) -> float | None:
    """Return the margin ``d`` of a ``max_drop``, ``max_increase`` or ``within`` rule (None for other forms)."""
    rel = rule.relative
    if rel is None or rel[0] not in ("max_drop", "max_increase", "within") or not rel[1] >= 0:
        return None
    return float(rel[1])  # 0 included: no finite number of rows shows a margin of 0


def read_sequence(cs: Any, conds: list[tuple[str, float]], rule: MetricRule, x: np.ndarray,
                  unit: str, what: str = "difference") -> SequenceReading:
    """Decide a rule on a confidence sequence read at every look.

    Parameters
    ----------
    cs : ConfidenceSequence
        The sequence (bounds intersected over the looks).
    conds : list of (op, limit)
        The rule's conditions (:func:`gatekit.sections.comparison.conditions`).
    rule : MetricRule
        The rule (its margin, for ``insufficient_data``).
    x : ndarray
        The per-row differences or values the sequence read (for the reason there are no bounds).
    unit : str
        ``pairs`` (canary) or ``rows`` (shadow).
    what : str
        ``difference`` or ``value`` (what one row gives, for the reason).

    Returns
    -------
    SequenceReading
        In this order:

        - the running intersection became empty at some look (the bounds crossed: a later stretch of rows
          contradicts an earlier one, which a valid sequence does with probability at most ``1 - c``; harm and
          safety "proven" at different rows is the same event): ``result`` None, the rule is not computable;
        - no finite bounds at the current rows (normal mixture: too few pairs, no spread, too few pairs off the
          most common difference): ``insufficient_data``;
        - the first look wholly on the failing side of some limit (``disproven``) or on the passing side of
          every limit (``proven``);
        - else ``inconclusive``, or ``insufficient_data`` when the rule has a margin ``d`` (``max_drop``,
          ``max_increase``, ``within``) and the sequence's half-width exceeds it: these rows could not prove the
          margin even at an estimate of exactly 0, the sequence's counterpart of a minimum detectable effect
          above the margin (:func:`gatekit.sections.comparison.classify`).
    """
    empty = cs.details.get("empty_from_look")
    if empty is not None:
        j = max(int(empty) - 1, 0)
        lo, hi = float(cs.low[j]), float(cs.high[j])
        if lo > hi:  # empty from the first look (cannot happen for one interval); report nothing crossed
            lo, hi = -math.inf, math.inf
        return SequenceReading(None, None, int(empty), lo, hi)
    low, high = float(cs.low[-1]), float(cs.high[-1])
    if not (math.isfinite(low) and math.isfinite(high)):
        return SequenceReading("insufficient_data", None, None, low, high, no_bounds_reason(x, unit, what))
    half = (high - low) / 2
    idx, result = _vector_stop(cs.low, cs.high, conds)
    estimate = float(np.mean(x)) if x.size else math.nan
    if result == "proven" and idx is not None and not all(compare(estimate, op, t) for op, t in conds):
        # safety shown at an early look, but the rows since pull the estimate past the limit: under the sequence's
        # assumptions the estimate converges inside the sequence, so the later rows contradict the earlier ones
        # (the arms drifted) even where the bounds did not cross; never a pass on the early stop
        return SequenceReading(None, None, len(cs.low) - 1, low, high,
                               f"safety was shown after {int(cs.looks[idx]):,} of {x.size:,} {unit}, but the "
                               f"estimate over all of them ({estimate:+.4g}) breaks the limit: the later {unit} "
                               "contradict the earlier ones (the arms drifted during the rollout, or the rows are "
                               "not in arrival order), so the early stop cannot be trusted")
    if idx is not None and result is not None:
        return SequenceReading(result, idx, None, low, high, half_width=half)
    d = rule_margin(rule)
    if d is not None and half > d:
        return SequenceReading("insufficient_data", None, None, low, high,
                               f"the sequence is ±{half:.4g} wide, more than the margin {d:.4g}: these {unit} could "
                               "not prove the margin even at an estimate of exactly 0", half)
    return SequenceReading("inconclusive", None, None, low, high, half_width=half)


def untrusted_reason(reading: SequenceReading, seq: dict[str, Any], where: int, sequence_text: str, before: str,
                     unit: str, place: str, causes: str, confidence: float) -> str:
    """Say why a sequence's stops cannot be trusted, and record it in ``details["sequential"]``.

    For a :class:`SequenceReading` without a result (:func:`read_sequence`): an early proof of safety the later
    rows contradict (``reading.why``, recorded as ``contradicted``), or a running intersection that became empty
    (``empty_from_rows`` = ``where``; the sequence before it moves from ``cs`` to ``cs_before_empty``).

    Parameters
    ----------
    reading : SequenceReading
        The reading (``result`` None).
    seq : dict
        The check's ``details["sequential"]``, changed in place.
    where : int
        Rows (log rows for a canary) at the look where the intersection became empty.
    sequence_text : str
        How the sentence names the sequence (``95% confidence sequence (betting, ...)``).
    before : str
        The sequence before it became empty, formatted (``[-0.02, +0.04]`` or ``no bounds``).
    unit : str
        ``pairs`` or ``rows``.
    place : str
        What ``where`` counts (``log row``, ``row``).
    causes : str
        The likely causes of rows that are not exchangeable, for this kind of rollout.
    confidence : float
        The sequence's level.

    Returns
    -------
    str
        The reason, without the advice on what to do.
    """
    if reading.why:
        seq["contradicted"] = reading.why
        return reading.why
    seq["empty_from_rows"] = where
    seq["cs_before_empty"] = seq.pop("cs")
    return (f"the {sequence_text} became empty at {place} {where:,} (the {unit} after it contradict the sequence so "
            f"far, {before}), which a valid sequence does with probability at most {1 - confidence:.3g}: the {unit} "
            f"are not exchangeable ({causes}), so neither harm nor safety shown at any row can be trusted")


def first_stop(low: np.ndarray, high: np.ndarray, conds: list[tuple[str, float]]) -> tuple[int | None, str | None]:
    """First look at which a sequence decides the conditions, and how.

    Returns
    -------
    index : int or None
        Position of the first look whose bounds lie wholly on the failing side of some limit (``"disproven"``)
        or wholly on the passing side of every limit (``"proven"``); None when no look does.
    result : {"proven", "disproven"} or None
    """
    for i in range(low.size):
        if not (np.isfinite(low[i]) or np.isfinite(high[i])):
            continue
        result = interval_outcome(float(low[i]), float(high[i]), conds)
        if result != "inconclusive":
            return i, result
    return None, None


def _vector_stop(low: np.ndarray, high: np.ndarray, conds: list[tuple[str, float]]) -> tuple[int | None, str | None]:
    """:func:`first_stop`, vectorised (the same answer; the loop is the reference the tests compare with)."""
    harm = np.zeros(low.size, dtype=bool)
    safe = np.ones(low.size, dtype=bool)
    for op, t in conds:
        if op == ">=":
            harm |= high < t
            safe &= low >= t
        elif op == ">":
            harm |= high <= t
            safe &= low > t
        elif op == "<=":
            harm |= low > t
            safe &= high <= t
        else:
            harm |= low >= t
            safe &= high < t
    hit = np.flatnonzero(harm | safe)
    if not hit.size:
        return None, None
    i = int(hit[0])
    return i, "proven" if safe[i] else "disproven"


def _rows_needed(d: np.ndarray, conds: list[tuple[str, float]], method: str, confidence: float, n_opt: int,
                 pairs_per_row: float) -> float | None:
    """Log rows at which the normal mixture sequence would exclude the nearest limit, were the estimate to hold.

    ``n`` solves ``sd u(n) / n = |mean - limit|`` (``u`` the one-sided boundary at ``(1 - c) / 2``); divided by
    the pairs per log row so far. None when the estimate sits on a limit or there is no spread.
    """
    from gatekit.stats.sequential import normal_mixture_boundary, optimal_rho

    if d.size < 2:
        return None
    gap = min(abs(float(d.mean()) - t) for _, t in conds)
    sd = float(d.std(ddof=1))
    if not (gap > 0 and sd > 0 and pairs_per_row > 0):
        return None
    alpha = 1 - confidence
    rho = optimal_rho(float(n_opt), alpha / 2)
    grid = np.unique(np.geomspace(2, 1e10, 2000).astype(np.int64)).astype(float)
    half = sd * normal_mixture_boundary(grid, alpha / 2, rho) / grid
    ok = np.flatnonzero(half < gap)
    if not ok.size:
        return None
    return float(math.ceil(grid[ok[0]] / pairs_per_row))


def sequence_outcome(rule: MetricRule, reading: SequenceReading, outcome: str, severity: dict[str, str],
                     method_text: str, prefixes: str, estimate: float, sd: float | None, n: int, rows: int,
                     needed: float | None, what_rows: str) -> dict[str, Any]:
    """Return ``details["outcome"]`` of a rule decided on a confidence sequence (canary or shadow).

    Parameters
    ----------
    rule : MetricRule
        The rule (confidence, framing, power target, margin).
    reading : SequenceReading
        What the sequence shows (:func:`read_sequence`).
    outcome : str
        ``reading.result``.
    severity : dict
        ``rule.severities()``.
    method_text : str
        The sequence's construction in words.
    prefixes : str
        What the sequence is evaluated at every prefix of (``the log``, ``the rows``).
    estimate : float
        The mean of the values the sequence read (the power line's effect).
    sd : float or None
        Standard deviation of the per-row values (None with fewer than 2).
    n : int
        Values the sequence read (pairs or rows): ``se = sd / sqrt(n)``.
    rows : int
        Rows in the report's power line.
    needed : float or None
        Rows that would decide the rule if the estimate held.
    what_rows : str
        How the rows are named.

    Returns
    -------
    dict
        The outcome contract of :func:`gatekit.sections.comparison.evaluate_rule`, with no p-values (a sequence
        has none) and ``mode_details`` naming the sequence.
    """
    conf = float(rule.confidence or 0.0)
    out: dict[str, Any] = {
        "result": outcome, "mode": rule.hypothesis, "confidence": conf, "alpha": (1 - conf) / 2,
        "p_harm": None, "p_safe": None, "severity": severity, "on_fail": rule.on_fail.value,
        "mode_details": f"anytime-valid confidence sequence ({method_text}), evaluated at every prefix of "
                        f"{prefixes}; stops at the first proven harm or proven safety",
        "power": {"target": rule.power or 0.8, "se": None if sd is None else sd / math.sqrt(max(n, 1)),
                  "mde": None, "effect": estimate, "rows": rows, "rows_needed": needed,
                  "power_at_effect": None, "what_rows": what_rows, "cs_half_width": reading.half_width,
                  "margin": rule_margin(rule)}}
    if reading.why:
        out["why"] = reading.why
    return out


def undecided_verdict(outcome: str, severity: dict[str, str], reading: SequenceReading, needed: float | None,
                      rows_word: str) -> str:
    """Return the verdict of a sequence that has not stopped: insufficient data or inconclusive, and its cost.

    ``rows_word`` names the rows of the rows-needed figure (``log rows``, ``rows``).
    """
    sev = severity[outcome]
    what = "insufficient data" if outcome == "insufficient_data" else "inconclusive"
    verdict = (what + (f" ({reading.why})" if reading.why else "") + ": keep collecting rows"
               + ("" if sev == "pass" else f" (counts as {sev})"))
    if needed is not None:
        verdict += f"; about {needed:,.0f} {rows_word} would decide it if the estimate held"
    return verdict


def _finite(x: float) -> float | None:
    """``x``, or None for a bound the sequence does not have yet (JSON has no infinity)."""
    return x if math.isfinite(x) else None


def per_row_check(rule: MetricRule, res: ResolvedMetric, arms: Any, seq: Any, common: RuleKey,
                  details: dict[str, Any], arms_text: str, limit_text: str,
                  previous: list[dict[str, Any]], look: int | None) -> CheckResult:
    """Decide a per-row metric's rule on the confidence sequence of the paired arm differences.

    Parameters
    ----------
    rule : MetricRule
        The rule (``confidence`` set; a plain ``max_drop``, ``max_increase``, ``within``, ``min_increase`` or
        ``min_decrease``).
    res : ResolvedMetric
        Its metric (a key of :data:`gatekit.metrics.per_row.PER_ROW`).
    arms : CanaryArms
        The log's arms, their rows in arrival order, and ``arrival``.
    seq : SequentialSpec
        ``canary.sequential`` (``method`` None: :func:`resolve_method`).
    common : dict
        The check's name, section, severity, metric, op and threshold.
    details : dict
        Details every check of the rule carries (filled further here).
    arms_text, limit_text : str
        The whole arms' values in words (shown after the estimate) and the limit in words.
    previous : list of dict
        The metric's earlier looks in this rollout from the history (shown, never needed for validity).
    look : int or None
        This run's look number (None without history).

    Returns
    -------
    CheckResult
        ``observed`` is the mean of the paired differences, the estimate the sequence is centred on (the change
        of the whole arms, which may differ when one arm has surplus rows, is ``details["comparison"]["change"]``);
        ``details["sequential"]`` has ``method``, ``construction``, ``confidence``, ``rows`` (log rows),
        ``pairs``, ``estimate`` (mean paired difference), ``cs`` (``[low, high]`` now), ``stopped_at`` (``rows``,
        ``pairs``, ``result``, ``cs``) or None, ``look``, ``looks`` (earlier looks) and ``rows_needed``;
        ``details["outcome"]`` as every interval-decided rule's (p-values None: a confidence sequence gives
        none). Not computable (never a pass) when the running intersection became empty
        (:func:`read_sequence`), with ``empty_from_rows``.
    """
    from gatekit.metrics.per_row import CANARY_PER_ROW as PER_ROW
    from gatekit.metrics.per_row import per_row_values
    from gatekit.stats.sequential import paired_differences

    assert rule.confidence is not None
    conf = rule.confidence
    try:
        c = per_row_values(res.spec.name, arms.candidate)
        b = per_row_values(res.spec.name, arms.baseline)
    except NotComputable as exc:
        return CheckResult(status=Status.NOT_COMPUTABLE, details=details,
                           message=f"{rule.name}: no per-row values: {exc.reason}", **common)
    conds = conditions(rule)
    rows = int(arms.arrival.size)
    pairs = min(c.size, b.size)
    d = paired_differences(c, b)
    bounds = PER_ROW[res.spec.name].bounds
    method = resolve_method(seq.method, bounds)
    method_text = (f"normal mixture, estimated spread, tightest at {seq.n_opt} pairs" if method == "normal_mixture"
                   else "betting, hedged capital")
    try:
        cs = sequence(d, method, conf, seq.n_opt, bounds)
    except ValueError as exc:  # a per-row value outside its bounds
        return CheckResult(status=Status.NOT_COMPUTABLE, details=details,
                           message=f"{rule.name}: the {method} sequence cannot read these rows: {exc}", **common)
    at_rows = pair_rows(arms.arrival)[cs.looks - 1]
    reading = read_sequence(cs, conds, rule, d, "pairs")
    estimate = float(d.mean())
    low, high = reading.low, reading.high
    head = (f"{rule.name} mean paired difference {estimate:+.4g} (candidate minus production, {pairs} pairs of rows "
            f"in arrival order; {arms_text})")
    details["sequential"] = {
        "method": method, "method_given": seq.method, "construction": "candidate and production rows paired in "
        "arrival order", "confidence": conf, "rows": rows, "pairs": pairs, "estimate": estimate,
        "cs": [_finite(low), _finite(high)], "stopped_at": None, "look": look, "looks": previous, "n_opt": seq.n_opt,
        "rows_needed": None, "rollout": details.get("rollout"), "log_sha256": details.get("log_sha256"),
        "per_row": PER_ROW[res.spec.name].definition, "order_by": seq.order_by,
        "source": cs.details.get("source")}
    if method == "normal_mixture":
        details["sequential"]["min_pairs"] = MIN_PAIRS
        details["sequential"]["min_off_mode"] = MIN_OFF_MODE
    looked = "" if look is None else f" (look {look} of the rollout)"
    if reading.result is None:  # an empty intersection, or an early stop the later rows contradict
        assert reading.empty is not None
        before = (f"[{low:+.4g}, {high:+.4g}]" if math.isfinite(low) and math.isfinite(high) else "no bounds")
        why = untrusted_reason(reading, details["sequential"], int(at_rows[reading.empty]),
                               f"{percent(conf)} confidence sequence ({method_text})", before, "pairs", "log row",
                               "the arms drifted during the rollout, the rows are not in arrival order, or the arms "
                               "were not assigned at random", conf)
        return CheckResult(status=Status.NOT_COMPUTABLE, observed=estimate, details=details,
                           message=f"{head}: {why}; not computable (never a pass): check the assignment and "
                                   f"order_by, or start a new rollout{looked}", **common)
    outcome = reading.result
    if reading.stop is not None:
        idx = reading.stop
        details["sequential"]["stopped_at"] = {
            "rows": int(at_rows[idx]), "pairs": int(cs.looks[idx]), "result": outcome,
            "cs": [_finite(float(cs.low[idx])), _finite(float(cs.high[idx]))]}
    severity = rule.severities()
    status, on_fail = outcome_status(outcome, severity, rule.on_fail)
    needed = (_rows_needed(d, conds, method, conf, seq.n_opt, pairs / rows)
              if outcome in ("inconclusive", "insufficient_data") and math.isfinite(low) and math.isfinite(high)
              else None)  # without bounds the estimated spread is what is in doubt
    details["sequential"]["rows_needed"] = needed
    sd = float(d.std(ddof=1)) if d.size > 1 else None
    details["interval"] = {"estimate": estimate, "low": _finite(low), "high": _finite(high), "confidence": conf,
                           "method": f"confidence_sequence_{method}"}
    details["decided_on"] = "confidence_sequence"
    details["outcome"] = sequence_outcome(rule, reading, outcome, severity, method_text, "the log", estimate, sd,
                                          pairs, rows, needed, "canary log rows")
    bounds_text = (f"[{low:+.4g}, {high:+.4g}]" if math.isfinite(low) and math.isfinite(high) else "no bounds yet")
    cs_text = (f"anytime-valid {percent(conf)} confidence sequence ({method_text}; {pairs} pairs, {rows} log rows) "
               f"{bounds_text}")
    stopped = details["sequential"]["stopped_at"]
    if stopped is not None and outcome == "disproven":
        verdict = (f"harm proven at row {stopped['rows']} ([{stopped['cs'][0]:+.4g}, {stopped['cs'][1]:+.4g}] "
                   "breaks it): stop the rollout")
    elif stopped is not None:
        verdict = (f"safety proven at row {stopped['rows']} ([{stopped['cs'][0]:+.4g}, {stopped['cs'][1]:+.4g}] "
                   "meets it): the rollout may stop and pass")
    else:
        verdict = undecided_verdict(outcome, severity, reading, needed, "log rows")
    common = {**common, "on_fail": on_fail}
    return CheckResult(status=status, observed=estimate,
                       message=f"{head}, {cs_text}; limit {limit_text}: {verdict}{looked}",
                       details=details, **common)


def bonferroni_check(rule: MetricRule, res: ResolvedMetric, params: dict[str, Any], sides: list[Side],
                     arms: Any, seq: Any, common: RuleKey, details: dict[str, Any], name: str,
                     previous: list[dict[str, Any]], look: int | None, history_reason: str,
                     intervals: dict[Any, Any] | None) -> CheckResult:
    """Decide an AUC rule at look ``k`` of ``max_looks``: today's unpaired bootstrap at ``1 - (1 - c) / K``.

    Parameters
    ----------
    rule, res, params : MetricRule, ResolvedMetric, dict
        The rule, its metric and parameters.
    sides : list of Side
        The canary arm and the production arm.
    arms : CanaryArms
        The log's arms.
    seq : SequentialSpec
        ``canary.sequential`` (``max_looks`` set).
    common, details : dict
        As :func:`per_row_check`.
    name : str
        The check's name.
    previous : list of dict
        The rule's earlier looks from the history.
    look : int or None
        This run's look number; None when the history is off or could not be read (``history_reason``).
    history_reason : str
        Why there is no look number.
    intervals : dict, optional
        The run's interval cache.

    Returns
    -------
    CheckResult
        Not computable without the history or past ``max_looks``; else :func:`evaluate_rule`'s check at the
        corrected confidence, with ``details["sequential"]`` (``method`` ``bonferroni``, ``look``,
        ``max_looks``, ``confidence_per_look``, ``cs``, ``rows``, ``stopped_at``, ``looks``).
    """
    assert rule.confidence is not None and seq.max_looks is not None
    k_max = seq.max_looks
    seq_details: dict[str, Any] = {"method": "bonferroni", "max_looks": k_max, "look": look, "looks": previous,
                                   "rows": int(arms.arrival.size), "confidence": rule.confidence,
                                   "rollout": details.get("rollout"), "log_sha256": details.get("log_sha256")}
    details["sequential"] = seq_details
    if look is None:
        return CheckResult(status=Status.NOT_COMPUTABLE, details=details,
                           message=f"{rule.name}: a sequential {res.canonical} needs the run history, where its looks "
                                   f"are counted (Bonferroni over max_looks {k_max}): {history_reason}", **common)
    if look > k_max:
        return CheckResult(status=Status.NOT_COMPUTABLE, details=details,
                           message=f"{rule.name}: look {look} is past max_looks {k_max}: the Bonferroni budget of "
                                   "this rollout is spent, so no further look can decide it (never a pass); "
                                   "decide on the looks so far or start a new rollout (canary.sequential.rollout)",
                           **common)
    per_look = 1 - (1 - rule.confidence) / k_max
    seq_details["confidence_per_look"] = per_look
    from gatekit.stats.intervals import DEFAULT_RESAMPLES

    given = rule.resamples or DEFAULT_RESAMPLES
    resamples = look_resamples(rule.confidence, k_max, given)
    seq_details["resamples"] = resamples
    seq_details["resamples_given"] = given
    check = evaluate_rule(rule.model_copy(update={"confidence": per_look, "resamples": resamples}), res, params,
                          sides[0], sides[1], paired=False, section="rollout", name=name, base_details=details,
                          intervals=intervals)
    iv = check.details.get("interval")
    if isinstance(iv, dict) and iv.get("low") is not None:
        seq_details["cs"] = [iv["low"], iv["high"]]
        result = (check.details.get("outcome") or {}).get("result")
        if result in ("proven", "disproven"):
            seq_details["stopped_at"] = {"rows": seq_details["rows"], "look": look, "result": result,
                                         "cs": seq_details["cs"]}
        else:
            seq_details["stopped_at"] = None
        outcome = check.details.get("outcome")
        if isinstance(outcome, dict):
            outcome["mode_details"] = (f"anytime-valid over {k_max} looks by Bonferroni: look {look} reads the "
                                       f"unpaired bootstrap interval at {per_look:.4g}")
    shown = percent(per_look)  # "100%" would hide the correction
    raised = "" if resamples == given else f", {resamples:,} bootstrap resamples (raised from {given:,})"
    check.message = (f"look {look} of at most {k_max} (Bonferroni, {shown} per look{raised}): "
                     f"{check.message}")
    return check


def sequential_rule_check(ctx: Any, index: int, rule: MetricRule, res: ResolvedMetric, params: dict[str, Any],
                          meta: dict[str, Any], name: str, small: dict[str, int]) -> CheckResult:
    """Evaluate ``canary.rules[index]`` under ``canary.sequential`` (called by the canary section).

    Parameters
    ----------
    ctx : RunContext
        The run (``ctx.inputs.canary`` the arms, with ``history`` when :func:`gatekit.api.run` read it).
    index : int
        The rule's position in ``canary.rules``.
    rule, res, params : MetricRule, ResolvedMetric, dict
        The rule, its metric and parameters.
    meta : dict
        Details every canary check carries.
    name : str
        The check's name.
    small : dict
        Arms under ``min_rows_per_arm`` (rows by arm). They make an AUC rule not computable, as without
        ``sequential``; a per-row rule is decided anyway (its sequence is valid at every row count; the normal
        mixture reports no bounds before 30 pairs).

    Returns
    -------
    CheckResult
    """
    from gatekit.core.formatting import fmt
    from gatekit.policy.specs.canary import SEQUENTIAL_BONFERRONI
    from gatekit.sections.base import RunContext
    from gatekit.sections.comparison import _limit_text

    spec = ctx.policy.policy.canary
    seq = spec.sequential
    arms = ctx.inputs.canary
    conds = conditions(rule)
    op, threshold = conds[0] if len(conds) == 1 else ("within", conds[1][1])
    common: RuleKey = dict(name=name, section="rollout", on_fail=rule.on_fail, metric=res.canonical,
                           source="computed", op=op, threshold=threshold)
    rollout = seq.rollout or ctx.policy.name
    log = (ctx.inputs.files or {}).get("canary_log") or {}
    details = {**meta, "rollout": rollout, "log_sha256": log.get("sha256") if isinstance(log, dict) else None}
    history = arms.history
    previous: list[dict[str, Any]] = []
    look = None
    reason = "the run history is off (set a history store: --history, GATEKIT_HISTORY_URL or gatekit.toml)"
    if isinstance(history, Looks):
        if history.available:
            previous = history.for_metric(res.canonical, rollout)
            look = look_number(previous, details["log_sha256"])
        else:
            reason = history.reason
    if res.spec.name in SEQUENTIAL_BONFERRONI:
        if small:
            return CheckResult(status=Status.NOT_COMPUTABLE, details=details,
                               message=f"too few rows to decide: {', '.join(f'{k} arm {v}' for k, v in small.items())}"
                                       f" (min_rows_per_arm {spec.min_rows_per_arm})", **common)
        assert res.spec.fn is not None  # the loader refuses canary metrics not computed from rows
        from gatekit.metrics.latency import rows_for

        sides = [Side(RunContext.from_rows(res.spec.fn, rows, params), rows, label)
                 for label, data in (("canary arm", arms.candidate), ("production arm", arms.baseline))
                 for rows in [rows_for(res, data)]]  # served latency: the rows in a canonical order
        return bonferroni_check(rule, res, params, sides, arms, seq, common, details, name, previous, look, reason,
                                ctx.intervals)
    assert res.spec.fn is not None
    values = [RunContext.from_rows(res.spec.fn, data, params) for data in (arms.candidate, arms.baseline)]
    for label, obs in zip(("canary arm", "production arm"), values, strict=True):
        if obs.state != "ok" or obs.value is None:
            from gatekit.sections.base import STATE_STATUS

            return CheckResult(status=STATE_STATUS.get(obs.state, Status.NOT_COMPUTABLE), details=details,
                               message=f"{label}: {obs.reason}", **common)
    c, b = float(values[0].value), float(values[1].value)  # type: ignore[arg-type]
    details["comparison"] = {"candidate": c, "baseline": b, "baseline_label": "production arm", "change": c - b,
                             "statistic": "change", "definition": "candidate - baseline", "conditions": conds,
                             "rule": _limit_text(rule, meta.get("unit"))}
    arms_text = f"whole arms: canary {fmt(c)} vs production {fmt(b)}, change {c - b:+.4g}"
    return per_row_check(rule, res, arms, seq, common, details, arms_text, details["comparison"]["rule"], previous,
                         look)
