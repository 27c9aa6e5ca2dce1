"""The ``slices:`` section: a metric on every segment of the evaluation rows, with a rule on the worst one.

One check per :class:`~gatekit.policy.specs.SliceRule`. What it computes (recorded in the check's ``details``):

- the slices: every value of the ``by`` column (a numeric column in its stated bins, each bin listed even when
  empty; ``(outside bins)`` and ``(missing)`` slices when rows are there), and with several columns every
  combination of their slices, an empty one listed with 0 rows (:mod:`gatekit.data.slices`);
- the metric on the whole rows and on each slice, by the metric's own function (scikit-learn, fairlearn,
  gatekit's kernels) on the slice's rows;
- a percentile bootstrap interval for each slice's value and, for ``max_drop``, for its gap from the whole
  (Efron & Tibshirani 1993, ch. 13): the rows are resampled jointly, whole and slices from the same resample,
  since each slice is part of the whole, drawn within each (slice, class) (each slice alone for a regression
  target), so every slice's class sizes, hence the whole's, are held fixed; the rule's ``confidence`` (else
  95 %, shown and not decided on);
- the rule: ``op`` / ``value`` holds when every counted slice meets it (the worst slice decides); ``max_drop``
  when no counted slice's gap ``whole - slice`` (``slice - whole`` for a metric where lower is better) exceeds
  it. With ``confidence`` each counted slice has one of the four outcomes of an interval-decided rule, as metric
  rules have (:func:`judge_slice`): ``proven``, ``disproven``, ``inconclusive`` (its interval straddles the limit)
  or ``insufficient_data`` (straddles ``max_drop`` and its rows could not have shown it: the minimum detectable
  gap at the rule's confidence and ``power`` exceeds ``max_drop``), with its power figures; a disproven slice fails
  the rule, an undecided one costs the severity the policy sets (``inconclusive:``, ``insufficient_data:``).

A slice with fewer than ``min_rows`` rows is listed with its value and not counted (``small_slices: block``: it
fails the rule). Fail closed: a counted slice whose metric cannot be computed (an AUC on a slice of one class)
makes the rule not computable and is named; so does a rule with no counted slice, or whose interval a counted
slice cannot give when the rule decides on intervals.

Same numbers on every engine. The rows (pandas) or the engine's aggregated rows (DuckDB, Spark, grouped by the
slice columns too) are first reduced to the same *cells*: one row per distinct (slice, target, outputs) with
its count, sorted (:func:`slice_cells`). Every value is computed on those cells with the counts as row weights
(equal to the value on the rows they stand for), and the bootstrap is the stratified bootstrap of counted rows
every other interval draws (:func:`gatekit.stats.intervals.counted_weight_batches`): in each (slice, class) of
``n`` rows, the cells' multiplicities are ``Multinomial(n, count / n)``, the row-level draws counted per cell.
The cells and their order are the same on every engine, so the values and the intervals are too. (An engine's
multiclass rows are confusion cells without probabilities: the metrics that read the probabilities of each
row are not computable there per slice, and say to use ``--engine pandas``; log loss is, from the cells' summed
losses, with the same values as on pandas but intervals drawn on other cells.)
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass, field, replace
from typing import Any, Literal

import numpy as np

from gatekit.core.compare import compare
from gatekit.core.decision import margin as signed_margin
from gatekit.core.errors import NotComputable
from gatekit.core.formatting import fmt, percent
from gatekit.core.results import CheckResult, OnFail, Status
from gatekit.metrics.registry import EvalData, ResolvedMetric, row_weights
from gatekit.policy.loader import LoadedPolicy
from gatekit.policy.specs import SliceRule
from gatekit.sections.base import Observation, RunContext
from gatekit.stats.intervals import (
    DEFAULT_RESAMPLES,
    DEFAULT_SEED,
    MIN_PER_STRATUM,
    RESAMPLING,
    counted_weight_batches,
)

MAX_SLICES = 1000
"""Most slices a rule may make (all combinations of its columns' slices): beyond it the rule is not computable."""
SHOWN_CONFIDENCE = 0.95
"""Level of the interval shown for each slice when the rule does not decide on intervals."""
SHOWN_RESAMPLES = 1000
"""Resamples of the intervals shown when the rule does not decide on intervals (``resamples`` overrides it; a rule
with ``confidence`` draws :data:`~gatekit.stats.intervals.DEFAULT_RESAMPLES`, as metric rules do). The draws cost
about 9 ns per row per resample (one row position drawn each): 1,000 resamples of 100,000 rows take about 0.9 s of
CPU, measured on numpy 2; 1,000 is the usual floor for a percentile interval (Efron & Tibshirani 1993, ch. 13)."""
MAX_FAILED = 0.01
"""Largest share of resamples on which a slice's value may be undefined for its interval to be given."""


@dataclass
class Slice:
    """One slice: its label, its rows, its value, its interval and what the rule made of it.

    Parameters
    ----------
    label : str
        ``north``, ``[0.6, 0.8)``, or ``region=north, lvrat=[0.6, 0.8)`` for an intersection.
    values : dict of str to str
        Column -> this slice's label in it.
    rows : int
        Evaluation rows in the slice (counted with their counts on compact rows).
    positives : int or None
        Rows of the positive class (binary classification).
    obs : Observation or None
        The metric on the slice's rows; None for an empty slice.
    interval : tuple of (float, float) or None
        Bootstrap interval of the value.
    gap : float or None
        How much worse than the whole rows, in the metric's unit (positive: worse); None without a direction.
    gap_interval : tuple of (float, float) or None
        Bootstrap interval of the gap (joint resamples of the whole and the slice).
    interval_note : str
        Why there is no interval.
    counted : bool
        The slice has at least ``min_rows`` rows (set by :func:`decide_slices`).
    status : str
        ``pass``, ``fail``, ``inconclusive``, ``not_computable``, ``error`` (counted), ``not_counted`` or ``empty``
        (a slice under ``min_rows``; ``fail`` with ``small_slices: block``). With ``confidence`` a counted slice's
        status follows its outcome (:func:`gatekit.sections.comparison.outcome_status`): ``inconclusive`` when the
        policy's severity of its outcome is ``block`` or ``warn``.
    reason : str
        Why it is not counted, has no value or fails.
    margin : float or None
        Signed distance of its statistic (or of its interval's deciding bound) from the limit, positive inside.
    cells : ndarray of int
        Its cells' positions in the rule's cells (:func:`slice_cells`).
    replicates, gap_replicates : ndarray or None
        The finite bootstrap values of the slice's value and gap (the intervals' percentiles), for p-values.
    outcome : str or None
        With ``confidence``: ``proven``, ``disproven``, ``inconclusive`` or ``insufficient_data`` of a counted slice
        decided on its interval (:func:`gatekit.sections.comparison.judge_outcome`).
    power : dict or None
        Its power figures (:func:`gatekit.sections.comparison.interval_power`).
    severity : OnFail or None
        The severity of its status (the rule's ``on_fail``, or the policy's severity of its outcome).
    """

    label: str
    values: dict[str, str]
    rows: int
    positives: int | None = None
    obs: Observation | None = None
    interval: tuple[float, float] | None = None
    gap: float | None = None
    gap_interval: tuple[float, float] | None = None
    interval_note: str = ""
    counted: bool = False
    status: str = ""
    reason: str = ""
    margin: float | None = None
    cells: np.ndarray = field(default_factory=lambda: np.array([], dtype=np.int64), repr=False)
    replicates: np.ndarray | None = field(default=None, repr=False)
    gap_replicates: np.ndarray | None = field(default=None, repr=False)
    outcome: str | None = None
    power: dict[str, Any] | None = None
    severity: OnFail | None = None

    @property
    def value(self) -> float | None:
        """The metric's value on the slice, or None."""
        return self.obs.value if self.obs is not None and self.obs.state == "ok" else None


class SlicesSection:
    """Evaluates each ``slices:`` rule: one check per rule, in report group ``slices``."""

    name = "slices"

    def planned(self, policy: LoadedPolicy) -> list[tuple[str, OnFail]]:
        """One check per slice rule."""
        return [(r.check_name, r.on_fail) for r in getattr(policy.policy, "slices", [])]

    def run(self, ctx: RunContext) -> list[CheckResult]:
        """Compute each rule's metric on the whole rows and on every slice, and decide the rule."""
        out: list[CheckResult] = []
        for i, rule in enumerate(getattr(ctx.policy.policy, "slices", [])):
            try:
                check = evaluate_slice_rule(ctx, rule)
            except Exception as exc:  # noqa: BLE001 - one rule's failure never stops the others
                check = CheckResult(name=rule.check_name, section="slices", status=Status.ERROR,
                                    on_fail=rule.on_fail, metric=rule.metric,
                                    message=f"{type(exc).__name__}: {exc}",
                                    details={"by": rule.by})
            check.details["rule"] = f"slices[{i}]"  # which rule each check is (alerts read the rule's settings)
            out.append(check)
        return out


def _rule_key(rule: SliceRule) -> tuple[str, float]:
    """Return the check's ``op`` and ``threshold``: the rule's own, or ``<=`` ``max_drop`` on the largest gap."""
    if rule.max_drop is not None:
        return "<=", float(rule.max_drop)
    assert rule.op is not None and rule.value is not None  # SliceRule._one_form
    return rule.op, float(rule.value)


def _bins_text(bins: dict[str, Any]) -> dict[str, Any]:
    """Return the rule's bins as their slice labels (``[0, 0.8)``, ... ; an infinite edge has no JSON number)."""
    from gatekit.data.sensitive import bin_labels

    return {c: bin_labels(v) if isinstance(v, list) else v for c, v in bins.items()}


def evaluate_slice_rule(ctx: RunContext, rule: SliceRule) -> CheckResult:
    """Evaluate one slice rule on the run's evaluation rows; return its check.

    Parameters
    ----------
    ctx : RunContext
        The run (its evaluation rows carry the slice columns in ``EvalData.segments``).
    rule : SliceRule
        The rule.

    Returns
    -------
    CheckResult
        Section ``slices``; ``observed`` the deciding slice's value (``op`` / ``value``) or the largest gap
        (``max_drop``); ``details["slices"]`` every slice, weakest first (:func:`slice_details`).
    """
    res = ctx.registry.resolve(rule.metric)
    if res is None:  # validated at load; a registry given at run time may lack a custom metric
        raise NotComputable(f"unknown metric {rule.metric!r}")
    op, threshold = _rule_key(rule)
    key: dict[str, Any] = dict(name=rule.check_name, section="slices", on_fail=rule.on_fail, op=op,
                               threshold=threshold, metric=res.canonical)
    label = (res.spec.label.split(" (")[0] if res.spec.label else res.canonical) + f", by {' x '.join(rule.by)}"
    details: dict[str, Any] = {"unit": res.spec.unit, "label": label, "params": dict(rule.params),
                               "description": rule.description, "by": list(rule.by),
                               "slice_bins": _bins_text(rule.bins), "min_rows": rule.min_rows,
                               "small_slices": rule.small_slices,
                               "form": "max_drop" if rule.max_drop is not None else "op_value"}
    data = ctx.inputs.eval_data
    if ctx.inputs.scoring_error:
        return CheckResult(status=Status.ERROR, message=f"the model could not score the data: "
                           f"{ctx.inputs.scoring_error}", details=details, source="computed", **key)
    if data is None:
        return CheckResult(status=Status.NOT_COMPUTABLE, message=f"no value: {ctx.inputs.no_eval_reason}",
                           details=details, **key)
    if data.y_true is None:
        return CheckResult(status=Status.NOT_COMPUTABLE, details=details, **key,
                           message="a performance metric needs the target: give inputs.target (--target)")
    missing = [c for c in rule.by if data.segments is None or c not in data.segments.columns]
    if missing:
        return CheckResult(status=Status.NOT_COMPUTABLE, details=details, **key,
                           message=f"the slice column(s) {missing} were not read with the evaluation rows")
    params = {**res.name_params, **rule.params}
    try:
        table = compute_slices(data, res, params, rule)
    except NotComputable as exc:
        status = Status.ERROR if exc.details.get("whole_state") == "error" else Status.NOT_COMPUTABLE
        return CheckResult(status=status, message=exc.reason,
                           details={**details, **exc.details}, source="computed", **key)
    except ValueError as exc:  # a refused input (bins on a text column, an unbinned continuous column)
        return CheckResult(status=Status.ERROR, message=str(exc), details=details,
                           source="computed", **key)
    return decide_slices(rule, res, table, key, details)


@dataclass
class SliceTable:
    """Every slice of one rule with the whole rows' value, before the rule's decision.

    Parameters
    ----------
    whole : Observation
        The metric on the whole rows.
    whole_interval : tuple of (float, float) or None
    slices : list of Slice
        In the order of the columns' slices (the decision sorts them weakest first).
    confidence : float
        Level of every interval.
    bootstrap : dict
        Resamples, seed, resampling scheme.
    rows : int
        Evaluation rows in all.
    sign : int or None
        +1 when higher is better (a slice's gap is ``whole - slice``), -1 when lower is better (``slice -
        whole``), None for a metric of no direction (no gap).
    """

    whole: Observation
    whole_interval: tuple[float, float] | None
    slices: list[Slice]
    confidence: float
    bootstrap: dict[str, Any]
    rows: int
    sign: int | None = None
    whole_interval_note: str = ""


def slice_codes(segments: Any, by: list[str], bins: dict[str, Any]) -> tuple[np.ndarray, list[tuple[str, ...]]]:
    """Return each row's slice (an index into every combination of the columns' slices) and those combinations.

    Parameters
    ----------
    segments : pandas.DataFrame of shape (n_rows, ...)
        The slice columns' raw values (``EvalData.segments``).
    by : list of str
        The rule's columns.
    bins : dict
        The rule's bins per column.

    Returns
    -------
    codes : ndarray of int, shape (n_rows,)
        ``sum_j code_j * prod_{l > j} n_l``: the row's combination in :func:`itertools.product` order.
    combos : list of tuple of str
        Every combination of the columns' slice labels (the Cartesian product), empty ones included.

    Raises
    ------
    NotComputable
        More than :data:`MAX_SLICES` combinations.
    ValueError
        A column's values cannot be sliced as the rule says (:func:`gatekit.data.slices.column_slices`).
    """
    from gatekit.data.slices import column_slices

    per = [column_slices(segments[c], bins.get(c), c) for c in by]
    n = math.prod(len(labels) for _, labels in per)
    if n > MAX_SLICES:
        raise NotComputable(f"the columns {by} make {n:,} slices (limit {MAX_SLICES:,}); values over so many small "
                            "slices measure noise: bin the numeric columns or slice by fewer columns",
                            {"n_slices": n})
    codes = np.zeros(len(segments), dtype=np.int64)
    for c, labels in per:
        codes = codes * len(labels) + c
    return codes, list(itertools.product(*(labels for _, labels in per)))


def _key_columns(data: EvalData) -> dict[str, np.ndarray]:
    """Return the per-row arrays that determine a performance metric's value (the cells' keys)."""
    out: dict[str, np.ndarray] = {}
    for name in ("y_true", "y_pred", "y_score"):
        a = getattr(data, name)
        if a is None:
            continue
        a = np.asarray(a)
        if a.ndim == 2:
            out.update({f"{name}_{j}": a[:, j] for j in range(a.shape[1])})
        else:
            out[name] = a
    for q, a in sorted((data.quantiles or {}).items()):
        out[f"q_{q!r}"] = np.asarray(a)
    return out


def slice_cells(data: EvalData, codes: np.ndarray) -> tuple[EvalData, np.ndarray]:
    """Reduce the evaluation rows to cells: one row per distinct (slice, target, outputs), with its count.

    Parameters
    ----------
    data : EvalData
        The evaluation rows, plain or compact (``weights``; an engine's multiclass ``loss_sums`` are summed).
    codes : ndarray of int, shape (n_rows,)
        Each row's slice.

    Returns
    -------
    cells : EvalData
        The cells, sorted by (slice, target, outputs), ``weights`` their row counts (cells of count 0 left out);
        no sensitive or slice columns, no baseline. Every metric on ``cells`` equals the metric on the rows.
    cell_codes : ndarray of int, shape (n_cells,)
        Each cell's slice.
    """
    import pandas as pd

    w = row_weights(data)
    keys = {"_slice": codes, **_key_columns(data)}
    frame = pd.DataFrame(keys)
    group = frame.groupby(list(frame.columns), sort=True, dropna=False).ngroup().to_numpy()
    n = int(group.max()) + 1 if len(group) else 0
    counts = np.bincount(group, weights=None if w is None else w.astype(float), minlength=n)
    first = np.full(n, len(group), dtype=np.int64)
    np.minimum.at(first, group, np.arange(len(group)))
    keep = counts > 0
    bare = replace(data, sensitive=None, segments=None, baseline=None, cache={})
    from gatekit.metrics.weighted import take

    cells = take(bare, first[keep])
    cells.weights = np.rint(counts[keep]).astype(np.int64)
    if data.loss_sums is not None:
        cells.loss_sums = np.bincount(group, weights=np.asarray(data.loss_sums, dtype=float), minlength=n)[keep]
    return cells, np.asarray(codes)[first[keep]]


def _observe(res: ResolvedMetric, rows: EvalData, params: dict[str, Any]) -> Observation:
    obs = RunContext.from_rows(res.spec.fn, rows, params)  # type: ignore[arg-type]
    if obs.value is not None and not math.isfinite(obs.value):
        return Observation(None, "not_computable", f"the value is not finite ({obs.value})", obs.source, obs.details)
    return obs


def _direction(res: ResolvedMetric) -> int | None:
    """+1 when higher is better, -1 when lower is better, None when the metric has no direction."""
    hib = res.spec.higher_is_better
    return None if hib is None else (1 if hib else -1)


def _strata_problem(cells: EvalData, idx: np.ndarray) -> str:
    """Why the rows ``idx`` are too few for a bootstrap interval ('' when they are enough).

    As :func:`gatekit.stats.intervals.bootstrap_statistic`: at least :data:`MIN_PER_STRATUM` rows of each class
    present (one stratum for a regression target).
    """
    w = np.asarray(cells.weights)[idx]
    if cells.task in ("classification", "multiclass") and cells.y_true is not None:
        y = np.asarray(cells.y_true)[idx]
        names = [str(c) for c in cells.classes] if cells.task == "multiclass" and cells.classes else None
        for v in np.unique(y):
            n = int(w[y == v].sum())
            if 0 < n < MIN_PER_STRATUM:
                label = names[int(v)] if names else v.item()
                return (f"only {n} rows of class {label!r}; a bootstrap interval needs at least {MIN_PER_STRATUM} of "
                        "each class")
        return ""
    n = int(w.sum())
    return f"only {n} rows; a bootstrap interval needs at least {MIN_PER_STRATUM}" if n < MIN_PER_STRATUM else ""


def compute_slices(data: EvalData, res: ResolvedMetric, params: dict[str, Any], rule: SliceRule) -> SliceTable:
    """Compute the metric on the whole rows and on every slice, with a bootstrap interval for each.

    Parameters
    ----------
    data : EvalData
        The evaluation rows with the rule's columns in ``segments``.
    res : ResolvedMetric
        The rule's metric (computed from rows).
    params : dict
        Its parameters, name parameters included.
    rule : SliceRule
        ``by``, ``bins``, ``confidence``, ``resamples``, ``seed``.

    Returns
    -------
    SliceTable

    Raises
    ------
    NotComputable
        Too many slices, or the whole rows have no value (the reason of the metric).
    ValueError
        A column cannot be sliced as the rule says.
    """
    from gatekit.metrics.weighted import take

    codes, combos = slice_codes(data.segments, list(rule.by), dict(rule.bins))
    cells, cell_codes = slice_cells(data, codes)
    counts = np.asarray(cells.weights, dtype=np.int64)
    whole = _observe(res, cells, params)
    if whole.state != "ok" or whole.value is None:
        raise NotComputable(f"the metric on the whole rows: {whole.reason}",
                            {"whole": whole.reason, "whole_state": whole.state})
    sign = _direction(res)
    slices: list[Slice] = []
    order = np.argsort(cell_codes, kind="stable")
    bounds = np.searchsorted(cell_codes[order], np.arange(len(combos) + 1))
    binary = cells.task == "classification" and cells.y_true is not None
    for s, combo in enumerate(combos):
        idx = order[bounds[s]:bounds[s + 1]]
        values = dict(zip(rule.by, combo, strict=True))
        label = combo[0] if len(combo) == 1 else ", ".join(f"{c}={v}" for c, v in values.items())
        rows = int(counts[idx].sum())
        sl = Slice(label, values, rows, cells=idx)
        if binary and rows:
            sl.positives = int(counts[idx][np.asarray(cells.y_true)[idx] == 1].sum())
        elif binary:
            sl.positives = 0
        if rows:
            sl.obs = _observe(res, take(cells, idx), params)
            if sl.value is not None and sign is not None:
                sl.gap = sign * (float(whole.value) - float(sl.value))
        slices.append(sl)
    confidence = rule.confidence or SHOWN_CONFIDENCE
    resamples = rule.resamples or (DEFAULT_RESAMPLES if rule.confidence is not None else SHOWN_RESAMPLES)
    seed = DEFAULT_SEED if rule.seed is None else rule.seed
    boot = {"confidence": confidence, "resamples": resamples, "seed": seed, "method": "bootstrap_percentile",
            **RESAMPLING, "strata": _strata_kind(cells),
            "joint": "the whole rows and every slice from the same resamples",
            "decided_on": "interval" if rule.confidence is not None else "point (the intervals are shown only)"}
    table = SliceTable(whole, None, slices, confidence, boot, int(counts.sum()), sign)
    _intervals(table, res, params, cells, counts, cell_codes)
    return table


def _strata_kind(cells: EvalData) -> str:
    classes = cells.task in ("classification", "multiclass") and cells.y_true is not None
    return "slice x class" if classes else "slice"


def slice_strata(cells: EvalData, cell_codes: np.ndarray) -> np.ndarray:
    """Return each cell's bootstrap stratum: its (slice, class), or its slice for a regression target.

    Parameters
    ----------
    cells : EvalData
        The cells (:func:`slice_cells`).
    cell_codes : ndarray of int, shape (n_cells,)
        Each cell's slice.

    Returns
    -------
    ndarray of int, shape (n_cells,)
        ``slice * n_classes + class`` (the class's position among the target's sorted values), or the slice;
        sorted strata are thus slices in order, each's classes in order.
    """
    codes = np.asarray(cell_codes, dtype=np.int64)
    if _strata_kind(cells) == "slice":
        return codes
    values, inverse = np.unique(np.asarray(cells.y_true), return_inverse=True)
    return codes * len(values) + inverse.ravel()


def _intervals(table: SliceTable, res: ResolvedMetric, params: dict[str, Any], cells: EvalData,
               counts: np.ndarray, cell_codes: np.ndarray) -> None:
    """Fill each slice's interval (and its gap's) from one joint stratified bootstrap of the cells.

    Resample ``r`` draws, in each (slice, class) (:func:`slice_strata`) of ``n`` rows, ``Multinomial(n, count /
    n)`` of its cells (:func:`gatekit.stats.intervals.counted_weight_batches`, on the cells in their sorted
    order); the whole's value and every slice's are computed on those same multiplicities (a slice's are the
    columns of its cells), so a gap's resamples are differences of values on one resample.
    """
    from gatekit.metrics.weighted import take, weighted_values

    conf, resamples, seed, sign = table.confidence, table.bootstrap["resamples"], table.bootstrap["seed"], table.sign
    todo = []
    for sl in table.slices:
        if sl.value is None:
            continue
        why = _strata_problem(cells, sl.cells)
        if why:
            sl.interval_note = why
            continue
        todo.append(sl)
    whole_ok = not _strata_problem(cells, np.arange(len(counts)))
    if not todo and not whole_ok:
        table.whole_interval_note = _strata_problem(cells, np.arange(len(counts)))
        return
    subs = {id(sl): take(cells, sl.cells) for sl in todo}
    whole_vals: list[np.ndarray] = []
    vals: dict[int, list[np.ndarray]] = {id(sl): [] for sl in todo}
    try:
        for W in counted_weight_batches(slice_strata(cells, cell_codes), counts, resamples, seed):
            Wf = W.astype(float)
            whole_vals.append(np.asarray(weighted_values(res, cells, Wf, params), dtype=float))
            for sl in todo:
                vals[id(sl)].append(np.asarray(weighted_values(res, subs[id(sl)], Wf[:, sl.cells], params),
                                               dtype=float))
    except (NotComputable, ValueError) as exc:  # the metric cannot be resampled here: no interval, said why
        why = exc.reason if isinstance(exc, NotComputable) else str(exc)
        for sl in todo:
            sl.interval_note = why
        table.whole_interval_note = why
        return
    alpha = 1 - conf
    w_all = np.concatenate(whole_vals) if whole_vals else np.array([])

    def interval(v: np.ndarray) -> tuple[tuple[float, float] | None, str]:
        ok = np.isfinite(v)
        failed = int((~ok).sum())
        if failed > MAX_FAILED * resamples:
            return None, (f"the value is undefined on {failed} of {resamples} resamples (more than "
                          f"{MAX_FAILED:.0%}): too few rows of a class for an interval")
        lo, hi = np.quantile(v[ok], [alpha / 2, 1 - alpha / 2])
        return (float(lo), float(hi)), ""

    if whole_ok:
        table.whole_interval, table.whole_interval_note = interval(w_all)
    for sl in todo:
        v = np.concatenate(vals[id(sl)])
        sl.interval, sl.interval_note = interval(v)
        sl.replicates = v[np.isfinite(v)]
        if sign is not None and sl.gap is not None:
            g = sign * (w_all - v)
            sl.gap_interval, note = interval(g)
            sl.gap_replicates = g[np.isfinite(g)]
            if note and not sl.interval_note:
                sl.interval_note = note


def decide_slices(rule: SliceRule, res: ResolvedMetric, table: SliceTable, key: dict[str, Any],
                  details: dict[str, Any]) -> CheckResult:
    """Decide a slice rule on its computed slices; return the check.

    Parameters
    ----------
    rule : SliceRule
        The rule (``op`` / ``value`` or ``max_drop``; ``confidence``, ``guardband``, ``inconclusive``,
        ``insufficient_data`` and ``power``; ``min_rows``, ``small_slices``).
    res : ResolvedMetric
        Its metric.
    table : SliceTable
        From :func:`compute_slices`.
    key : dict
        The check's name, section, severity, op, threshold and metric.
    details : dict
        The rule's facts; the slices are added.

    Returns
    -------
    CheckResult
        Without ``confidence``: ``pass`` when every counted slice meets the rule, ``fail`` when one does not.
        With it, each counted slice has an outcome on its interval (:func:`judge_slice`): ``fail`` (the rule's
        ``on_fail``) when a slice is ``disproven``; else ``inconclusive`` when a slice is ``inconclusive`` or
        ``insufficient_data`` and the policy's severity of that outcome is not ``pass`` (``on_fail`` = the highest
        such severity, block over warn); else ``pass``. In both: ``fail`` too when, with ``small_slices: block``,
        a slice is under ``min_rows``; ``not_computable`` (``error``) when a counted slice has no value (or no
        interval while the rule decides on intervals) and nothing above decided, or no slice is counted; an
        ``inconclusive`` slice of severity ``block`` outranks a slice without a value (fail closed: the rule
        blocks in any mode). With ``confidence``, ``details["outcome"]`` is the deciding slice's outcome in the
        shape of a metric rule's (plus ``slice``) and ``details["outcomes"]`` counts the counted slices per
        outcome.
    """
    from gatekit.sections.comparison import OUTCOMES, decide_interval

    op, threshold = key["op"], key["threshold"]
    drop = rule.max_drop is not None
    conds = [(op, threshold)]
    guardband = rule.hypothesis
    on_interval = rule.confidence is not None
    severity = rule.severities() if on_interval else {}
    unit = f" {res.spec.unit}" if res.spec.unit in ("%", "ms") else ""
    for sl in table.slices:
        sl.counted = sl.rows >= rule.min_rows
        stat = sl.gap if drop else sl.value
        iv = sl.gap_interval if drop else sl.interval
        if not sl.counted:
            small = "no rows" if sl.rows == 0 else f"{sl.rows} rows"
            if rule.small_slices == "block":
                sl.status, sl.reason = "fail", f"{small} (< min_rows {rule.min_rows}) and small_slices: block"
            else:
                sl.status, sl.reason = ("empty" if sl.rows == 0 else "not_counted"), \
                    f"{small} (< min_rows {rule.min_rows}): listed, not counted"
            if stat is not None:
                sl.margin = _margin(stat, op, threshold)
            continue
        if sl.obs is None or sl.value is None:
            sl.status = "error" if sl.obs is not None and sl.obs.state == "error" else "not_computable"
            sl.reason = sl.obs.reason if sl.obs is not None else "no rows"
            continue
        if stat is None:  # max_drop on a metric of no direction is refused at load
            sl.status, sl.reason = "not_computable", "no direction: no gap from the whole"
            continue
        if on_interval:
            if iv is None:
                sl.status, sl.reason = "not_computable", f"no {percent(table.confidence)} interval: {sl.interval_note}"
                continue
            _, sl.margin = decide_interval(iv[0], iv[1], conds, guardband)
            judge_slice(sl, rule, drop, table.confidence, severity, whole_rows=table.rows)
        else:
            passed, sl.margin = compare(stat, op, threshold), _margin(stat, op, threshold)
            sl.status = "pass" if passed else "fail"
    if on_interval and (rule.multiplicity or "none") != "none":
        details["multiplicity"] = adjust_slices(table, rule, drop, severity)
    ordered = sorted(table.slices, key=_weakness)
    counted = [sl for sl in ordered if sl.counted]
    failing = [sl for sl in ordered if sl.status == "fail"]
    errors = [sl for sl in counted if sl.status == "error"]
    unknown = [sl for sl in counted if sl.status == "not_computable"]
    undecided = [sl for sl in counted if sl.status == "inconclusive"]
    waved = [sl for sl in counted if sl.status == "pass" and sl.outcome in ("inconclusive", "insufficient_data")]
    decided = [sl for sl in counted if sl.status in ("pass", "fail", "inconclusive")]

    def weakest(group: list[Slice]) -> Slice | None:
        return min(group, key=lambda sl: sl.margin if sl.margin is not None else -math.inf) if group else None

    worst = weakest(decided)
    top = (OnFail.BLOCK if any(sl.severity == OnFail.BLOCK for sl in undecided) else OnFail.WARN) \
        if undecided else None
    deciding: Slice | None = None
    if on_interval:  # the slice whose outcome the check's status reads
        if failing:
            deciding = weakest([sl for sl in failing if sl.outcome == "disproven"])
        elif undecided and (top == OnFail.BLOCK or not (errors or unknown)):
            deciding = weakest([sl for sl in undecided if sl.severity == top])
        elif not (errors or unknown):
            deciding = worst
        # observed, margin, interval and outcome: the slice whose outcome decides the status (one slice throughout)
        worst = deciding or worst
    details.update(slice_details(table, ordered, drop, on_interval, guardband, worst))
    limit = f"max_drop {fmt(threshold)}{unit}" if drop else f"{op} {fmt(threshold)}{unit}"
    if on_interval:
        details["outcomes"] = {o: sum(sl.outcome == o for sl in counted) for o in OUTCOMES}
        if deciding is not None and deciding.outcome is not None:
            details["outcome"] = slice_outcome(deciding, rule, drop, table.confidence, severity)
    observed = None if worst is None else (worst.gap if drop else worst.value)
    margin = None if worst is None else worst.margin
    whole = float(table.whole.value)  # type: ignore[arg-type]
    n_small = sum(not sl.counted for sl in table.slices)
    tail = f"whole {fmt(whole)}{unit}; {len(counted)} of {len(table.slices)} slices counted"
    if n_small:
        tail += f", {n_small} under min_rows {rule.min_rows} listed only"
    adj = details.get("multiplicity")
    over = f", {adj['method'].capitalize()} over {adj['slices']} slices" if isinstance(adj, dict) else ""
    how = f" ({percent(table.confidence)} CI, {guardband.replace('_', ' ')}{over})" if on_interval else ""
    also = _outcomes_text(undecided, drop, unit, limit, table.confidence)
    waved_text = _outcomes_text(waved, drop, unit, limit, table.confidence)
    if waved_text:  # undecided slices the policy counts as a pass: named, and said to pass
        waved_text = f"counted as a pass by the policy: {waved_text}"
        also = f"{also}; {waved_text}" if also else waved_text
    unknown_text = "; ".join(f"{sl.label} ({sl.rows} rows): {sl.reason}" for sl in (errors + unknown)[:5])
    status_on_fail = rule.on_fail
    if failing:
        shown = "; ".join(_slice_text(sl, drop, unit, on_interval, table.confidence) if sl.counted
                          else f"{sl.label} ({sl.reason})" for sl in failing[:5])
        more = f" and {len(failing) - 5} more" if len(failing) > 5 else ""
        msg = f"{len(failing)} slice(s) do not meet {limit}{how}: {shown}{more}"
        msg += f"; also {also}" if also else ""
        msg += f" ({tail})"
        status = Status.FAIL
        if top == OnFail.BLOCK:  # a blocking undecided slice is not lost because another slice failed a warn rule
            status_on_fail = OnFail.BLOCK
    elif undecided and (top == OnFail.BLOCK or not (errors or unknown)):
        assert top is not None
        costs = sorted({f"{sl.outcome.replace('_', ' ')} a {sl.severity.value}" for sl in undecided
                        if sl.outcome is not None and sl.severity is not None})
        msg = (f"{also} at {percent(table.confidence)} ({guardband.replace('_', ' ')}); the policy makes "
               f"{', '.join(costs)}")
        if errors or unknown:
            msg += f"; {len(errors + unknown)} counted slice(s) cannot be decided: {unknown_text}"
        msg += f" ({tail})"
        status, status_on_fail = Status.INCONCLUSIVE, top
    elif errors or unknown:
        msg = f"{len(errors + unknown)} counted slice(s) cannot be decided: {unknown_text}"
        msg += f"; also {also}" if also else ""
        msg += f" ({tail})"
        status = Status.ERROR if errors else Status.NOT_COMPUTABLE
    elif not counted:
        msg = (f"no slice has min_rows {rule.min_rows} rows (largest: "
               f"{max((sl.rows for sl in table.slices), default=0)}); collect more rows, bin coarser or lower "
               f"min_rows ({tail})")
        status = Status.NOT_COMPUTABLE
    else:
        assert worst is not None
        if waved:  # no slice disproven; the undecided ones the policy counts as a pass
            msg = f"no counted slice of {len(counted)} is proven to break {limit}{how}; {also} ({tail})"
        else:
            msg = (f"the worst of {len(counted)} counted slices, "
                   f"{_slice_text(worst, drop, unit, on_interval, table.confidence)}, meets {limit}{how} ({tail})")
        status = Status.PASS
    details["sentence"] = _sentence(res, status, failing, drop, unit, limit, table)
    return CheckResult(status=status, observed=observed, margin=margin, message=msg, details=details,
                       source="computed", **{**key, "on_fail": status_on_fail})


def adjust_slices(table: SliceTable, rule: SliceRule, drop: bool, severity: dict[str, str]) -> dict[str, Any]:
    """Re-read the counted slices' "disproven" outcomes with the rule's multiplicity correction.

    Parameters
    ----------
    table : SliceTable
        The slices, each counted one judged (:func:`judge_slice`).
    rule : SliceRule
        The rule (``multiplicity``: ``holm`` or ``bonferroni``; ``confidence``).
    drop : bool
        The rule is ``max_drop``.
    severity : dict
        The policy's severities of the undecided outcomes.

    Returns
    -------
    dict
        ``method``, ``slices`` (``m``: the counted slices, with or without a value), ``alpha`` (one-sided,
        ``(1 - confidence) / 2``) and ``changed`` (the slices disproven alone but not after the adjustment).

    Notes
    -----
    Each slice's one-sided p-value of harm inverts its percentile interval
    (:func:`gatekit.sections.comparison._p_values`, from its bootstrap replicates); the p-values are adjusted over
    the ``m`` slices (:func:`gatekit.stats.multiplicity.adjust_p_values`: Holm 1979 step-down, or Bonferroni;
    a slice without a p-value counts in ``m`` as p = 1). A slice stays disproven when its adjusted p-value is at
    most alpha, and becomes ``inconclusive`` otherwise; its status follows the policy's severity. A zero-width
    interval beyond the limit has no p-value and stays disproven (fail closed). Proofs of safety are not
    adjusted: the rule passes only when every slice is proven on its own (intersection-union, Berger 1982).
    """
    from gatekit.sections.comparison import _p_values, outcome_status
    from gatekit.stats.multiplicity import adjust_p_values

    assert rule.confidence is not None
    method: Literal["holm", "bonferroni"] = "bonferroni" if rule.multiplicity == "bonferroni" else "holm"
    conds = [_rule_key(rule)]
    alpha = (1 - rule.confidence) / 2
    judged = [sl for sl in table.slices if sl.counted and sl.outcome is not None]
    m = sum(sl.counted for sl in table.slices)  # a counted slice without a value or interval counts as p = 1
    raw: list[float] = []
    with_p: list[Slice] = []
    for sl in judged:
        zero = bool((sl.power or {}).get("zero_width"))
        p_harm = None if zero else _p_values(_slice_interval(sl, drop, rule.confidence), conds)[0]
        if sl.power is not None:
            sl.power["p_harm"] = p_harm
        if p_harm is not None:
            raw.append(p_harm)
            with_p.append(sl)
    adjusted = [float(a) for a in adjust_p_values(raw, method, family_size=m)] if with_p else []
    changed = []
    for sl, adj in zip(with_p, adjusted, strict=True):
        assert sl.power is not None
        sl.power["p_harm_adjusted"] = adj
        sl.power["multiplicity"] = method
        if sl.outcome == "disproven" and not adj <= alpha:
            sl.outcome = "inconclusive"
            sl.power["disproven_alone"] = True
            status, sl.severity = outcome_status("inconclusive", severity, rule.on_fail)
            sl.status = status.value
            changed.append(sl.label)
    return {"method": method, "slices": m, "alpha": alpha, "changed": changed}


def _slice_interval(sl: Slice, drop: bool, confidence: float) -> Any:
    """Return the interval a slice is decided on (its gap's for ``max_drop``) as an :class:`Interval`."""
    from gatekit.stats.intervals import Interval

    iv = sl.gap_interval if drop else sl.interval
    stat = sl.gap if drop else sl.value
    assert iv is not None and stat is not None
    return Interval(float(stat), iv[0], iv[1], confidence, "bootstrap_percentile",
                    replicates=sl.gap_replicates if drop else sl.replicates)


def judge_slice(sl: Slice, rule: SliceRule, drop: bool, confidence: float, severity: dict[str, str], *,
                whole_rows: int | None = None) -> None:
    """Set a counted slice's outcome, power figures, status and severity from its interval.

    Parameters
    ----------
    sl : Slice
        A counted slice with a value and the interval the rule reads (of its gap for ``max_drop``).
    rule : SliceRule
        The rule (``confidence``, ``power``, ``max_drop``, ``on_fail``).
    drop : bool
        The rule is ``max_drop``: the condition is ``gap <= max_drop`` on the gap's interval, and the margin
        whose power is judged is ``max_drop`` (the room between the whole and the limit); for ``op`` / ``value``
        the condition is ``value op limit`` on the value's interval, with no margin (the power figures give the
        distance of the value from the limit).
    confidence : float
        The intervals' level.
    severity : dict
        :meth:`gatekit.policy.specs.SliceRule.severities`.
    whole_rows : int, optional
        Rows of the whole: a ``max_drop`` slice holding all of them has a gap of 0 on every resample by
        construction (the slice is the whole), which meets ``max_drop >= 0``: ``proven``, not a zero-width
        ``insufficient_data`` (``power["slice_is_whole"]``).

    Notes
    -----
    ``sl.power`` is :func:`gatekit.sections.comparison.interval_power` of the percentile interval (se =
    ``(high - low) / (2 z_{1 - alpha})``, MDE = ``(z_{1 - alpha} + z_{power}) se``, rows needed = ``rows (MDE /
    max_drop)^2`` with the slice's rows); ``sl.outcome`` is :func:`gatekit.sections.comparison.judge_outcome`
    (``insufficient_data`` when an inconclusive slice's MDE exceeds ``max_drop``, or its interval has zero
    width); ``sl.status`` and ``sl.severity`` are :func:`gatekit.sections.comparison.outcome_status`.
    """
    from gatekit.sections.comparison import interval_power, judge_outcome, outcome_status

    interval = _slice_interval(sl, drop, confidence)
    conds = [_rule_key(rule)]  # gap <= max_drop, or value op limit
    sl.power = interval_power(interval, conds, sl.rows, "slice rows", confidence=confidence,
                              target=rule.power or 0.8, margin=conds[0][1] if drop else None)
    stat = sl.gap if drop else sl.value
    if stat is not None:  # said beside an undecided slice whose point value alone breaks the limit
        sl.power["point_passes"] = compare(stat, *conds[0])
    if drop and whole_rows is not None and sl.rows == whole_rows:
        sl.power["slice_is_whole"] = True
        sl.outcome = "proven"
    else:
        sl.outcome = judge_outcome(interval, conds, sl.power)
    status, sl.severity = outcome_status(sl.outcome, severity, rule.on_fail)
    sl.status = status.value


def slice_outcome(sl: Slice, rule: SliceRule, drop: bool, confidence: float, severity: dict[str, str],
                  ) -> dict[str, Any]:
    """Return ``details["outcome"]`` of a slice rule from its deciding slice, in the shape of a metric rule's.

    Returns
    -------
    dict
        ``result``, ``mode`` (the guardband), ``confidence``, ``alpha`` (``(1 - confidence) / 2``), ``p_harm`` and
        ``p_safe`` (the one-sided p-values inverting the slice's percentile interval,
        :func:`gatekit.stats.multiplicity.bootstrap_p_value` on its replicates; None for a zero-width interval),
        ``severity``, ``on_fail`` (the rule's), ``power`` (the slice's) and ``slice`` (its label).
    """
    from gatekit.sections.comparison import _p_values

    conds = [_rule_key(rule)]  # gap <= max_drop, or value op limit
    zero = bool((sl.power or {}).get("zero_width"))
    p_harm, p_safe = (None, None) if zero else _p_values(_slice_interval(sl, drop, confidence), conds)
    return {"result": sl.outcome, "mode": rule.hypothesis, "confidence": confidence, "alpha": (1 - confidence) / 2,
            "p_harm": p_harm, "p_safe": p_safe, "severity": severity, "on_fail": rule.on_fail.value,
            "power": sl.power, "slice": sl.label,
            **({"p_harm_adjusted": sl.power["p_harm_adjusted"], "multiplicity": sl.power["multiplicity"]}
               if sl.power and "p_harm_adjusted" in sl.power else {})}


def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


def _outcome_text(sl: Slice, drop: bool, unit: str, limit: str, confidence: float) -> str:
    """``[0.8, inf) (95% CI of the gap [-0.01, 0.09] straddles max_drop 0.05; 41 rows cannot show 0.05: ...)``."""
    iv = sl.gap_interval if drop else sl.interval
    p = sl.power or {}
    assert iv is not None
    ci = f"{percent(confidence)} CI {'of the gap ' if drop else ''}[{fmt(iv[0])}, {fmt(iv[1])}]{unit}"
    rows = f"{sl.rows:,} rows"
    if p.get("zero_width"):
        return (f"{sl.label} ({ci} has zero width: every resample of its {rows} gave the same value, so the "
                "bootstrap cannot measure their uncertainty)")
    # a slice broken on its own but not after the adjustment over the slices lies past the limit: never "straddles"
    parts = [f"{ci} {'lies past' if p.get('disproven_alone') else 'straddles'} {limit}"]
    if p.get("mde") is None:
        parts.append(rows)
    else:
        mde = f"smallest detectable {fmt(p['mde'])}{unit} at {percent(p['target'])} power"
        need = p.get("rows_needed")
        if sl.outcome == "insufficient_data":
            more = f"~{math.ceil(need):,} rows needed" if need is not None else \
                f"no finite number of rows shows a margin of {fmt(p['effect'])}{unit}"
            parts.append(f"{rows} cannot show {fmt(p['effect'])}{unit}: {mde}, {more}")
        elif p.get("effect_is_margin"):
            parts.append(f"{rows}, {mde}")
        else:
            parts.append(f"{rows}, {mde}" + (f"; ~{math.ceil(need):,} rows would resolve its distance from the "
                                             f"limit ({fmt(p['effect'])}{unit})" if need is not None else ""))
    if p.get("disproven_alone"):
        parts.append(f"broken on its own (p {fmt(p['p_harm'])}), not after {p['multiplicity'].capitalize()} over the "
                     f"slices (adjusted p {fmt(p['p_harm_adjusted'])})")
    if p.get("point_passes") is False:
        parts.append("its point value alone would fail")
    return f"{sl.label} ({'; '.join(parts)})"


def _outcomes_text(group: list[Slice], drop: bool, unit: str, limit: str, confidence: float) -> str:
    """Name undecided slices by outcome: ``1 slice insufficient data: ...; 2 slices inconclusive: ...``."""
    out = []
    for outcome in ("insufficient_data", "inconclusive"):
        these = [sl for sl in group if sl.outcome == outcome]
        if these:
            shown = ", ".join(_outcome_text(sl, drop, unit, limit, confidence) for sl in these[:5])
            more = f" and {len(these) - 5} more" if len(these) > 5 else ""
            out.append(f"{_plural(len(these), 'slice')} {outcome.replace('_', ' ')}: {shown}{more}")
    return "; ".join(out)


def _margin(stat: float, op: str, threshold: float) -> float | None:
    m = signed_margin(stat, op, threshold)
    if m is None:  # == / !=: the farther from (nearer to) the value, the weaker
        return -abs(stat - threshold) if op == "==" else abs(stat - threshold)
    return m


def _weakness(sl: Slice) -> tuple[int, int, float]:
    """Sort key, weakest first: counted slices (failing, undecided, passing), counted ones without a value, the rest.

    Counted slices with a status are ordered by status, then margin; slices under ``min_rows`` come after the
    counted ones without a value, and empty ones last.
    """
    m = sl.margin if sl.margin is not None else math.inf
    if sl.counted:  # a failing slice, then an undecided one the policy prices, then the passing ones
        rank = {"fail": 0, "inconclusive": 1, "pass": 2}.get(sl.status)
        return (0, rank, m) if rank is not None else (1, 0, 0.0)
    if sl.rows == 0:
        return (3, 0, 0.0)
    return 2, 0, m


def _slice_text(sl: Slice, drop: bool, unit: str, on_interval: bool, confidence: float) -> str:
    """``[0.6, 0.8) = 0.677 (drop 0.137 from the whole; 95% CI [0.01, 0.25]; 304 rows)``."""
    facts = []
    if drop and sl.gap is not None:
        facts.append(f"{'drop' if sl.gap >= 0 else 'rise'} {fmt(abs(sl.gap))}{unit} from the whole")
    iv = sl.gap_interval if drop else sl.interval
    if on_interval and iv is not None:
        facts.append(f"{percent(confidence)} CI [{fmt(iv[0])}, {fmt(iv[1])}]")
    facts.append(f"{sl.rows} rows")
    return f"{sl.label} = {fmt(sl.value)}{unit} ({'; '.join(facts)})"


def _sentence(res: ResolvedMetric, status: Status, failing: list[Slice], drop: bool, unit: str, limit: str,
              table: SliceTable) -> str:
    """One plain sentence for the report's list of what did not pass (empty for other statuses)."""
    if status != Status.FAIL or not failing:
        return ""
    sl = failing[0]
    name = res.spec.label.split(" (")[0] if res.spec.label else res.canonical
    if sl.value is None:
        shown = f"the slice {sl.label} of {name} has {sl.rows} rows, too few ({sl.reason})"
    elif drop and sl.gap is not None:
        what = f"{fmt(abs(sl.gap))}{unit} {'worse' if sl.gap >= 0 else 'better'} than on the whole rows"
        shown = (f"{name} on the slice {sl.label} ({sl.rows} rows) is {fmt(sl.value)}{unit}, {what} "
                 f"({fmt(table.whole.value)}{unit}); limit {limit}")
    else:
        shown = f"{name} on the slice {sl.label} ({sl.rows} rows) is {fmt(sl.value)}{unit}; every slice must be {limit}"
    more = len(failing) - 1
    return shown + (f"; {more} more slice{'s' if more != 1 else ''} fail{'s' if more == 1 else ''}" if more else "")


def _pair(iv: tuple[float, float] | None) -> list[float] | None:
    return None if iv is None else [iv[0], iv[1]]


def slice_details(table: SliceTable, ordered: list[Slice], drop: bool, on_interval: bool, guardband: str,
                  worst: Slice | None) -> dict[str, Any]:
    """Return the check's ``details`` on its slices: each slice (weakest first), the whole, the worst, the intervals.

    Returns
    -------
    dict
        ``slices``: one dict per slice (``slice``, ``values``, ``rows``, ``positives``, ``value``,
        ``interval``, ``gap``, ``gap_interval``, ``counted``, ``status``, ``reason``, ``interval_note``);
        ``whole`` (value, interval, rows); ``worst_slice``; ``intervals`` (level, method, resamples, seed,
        resampling, whether the decision read them); ``guardband`` and ``decided_on``; for a rule decided on
        intervals, ``interval`` and ``comparison`` of the deciding slice (as metric rules record them).
    """
    out: dict[str, Any] = {
        "slices": [{"slice": sl.label, "values": sl.values, "rows": sl.rows, "positives": sl.positives,
                    "value": sl.value, "interval": _pair(sl.interval), "gap": sl.gap,
                    "gap_interval": _pair(sl.gap_interval), "counted": sl.counted, "status": sl.status,
                    "reason": sl.reason or (sl.obs.reason if sl.obs is not None and sl.value is None else ""),
                    "interval_note": sl.interval_note,
                    **({"outcome": sl.outcome, "power": sl.power} if on_interval else {})} for sl in ordered],
        "whole": {"value": table.whole.value, "interval": _pair(table.whole_interval), "rows": table.rows,
                  "interval_note": table.whole_interval_note},
        "worst_slice": worst.label if worst is not None else None,
        "intervals": table.bootstrap,
        "decided_on": "interval" if on_interval else "point",
        "gap_definition": None if table.sign is None else
        ("whole - slice (higher is better)" if table.sign > 0 else "slice - whole (lower is better)"),
    }
    if on_interval:
        out["guardband"] = guardband
        if worst is not None:
            iv = worst.gap_interval if drop else worst.interval
            if iv is not None:
                out["interval"] = {"estimate": worst.gap if drop else worst.value, "low": iv[0], "high": iv[1],
                                   "confidence": table.confidence, "method": "bootstrap_percentile",
                                   "slice": worst.label}
    return out

