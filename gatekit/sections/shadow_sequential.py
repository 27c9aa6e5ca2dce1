"""``interval: sequential`` on a ``metrics:`` rule: a shadow evaluation decided anytime-validly, row by row.

In a shadow deployment both models score every incoming row (the candidate silently), so the evaluation file
grows and the gate is run on it again and again. A fixed-n interval acted on at the first run that excludes
the limit errs more often than its level says (the canary's simulation, :mod:`gatekit.sections.canary_sequential`:
11.9 % false stops after 30 looks at a nominal 2.5 %). A *confidence sequence* covers the mean at every row
count at once, so the rule may be read at every prefix of the rows and the shadow stopped at the first proven
harm or proven safety (:mod:`gatekit.stats.sequential` for the constructions and their sources).

What the sequence bounds:

- a baseline-relative rule (``max_drop``, ``max_increase``, ``within``, ``min_increase``, ``min_decrease``;
  not their ``_pct`` forms, which are ratios of means) on a per-row metric
  (:data:`gatekit.metrics.per_row.PER_ROW`: accuracy, Brier score, log loss, MAE), with production scored on
  the same rows (``inputs.baseline`` ``score``, ``prediction`` or ``model``): the per-row differences
  ``d_i = v_candidate_i - v_production_i`` in row order. Both models score the same row, so the pairs need no
  arm assignment (unlike the canary's pairing in arrival order): with independent rows the ``d_i`` are
  independent with mean the change of the metric, and one confidence sequence for a mean applies;
- an absolute rule (``op``/``value``) on ``prediction_agreement_rate`` (per row: 1 when both models predict
  the same label at the decision threshold) or ``mean_score_difference`` (per row: ``s_c - s_b``): the per-row
  values themselves (:data:`gatekit.metrics.per_row.SHADOW_PER_ROW`).

Method (``inputs.sequential``, one setting for every sequential rule, as ``canary.sequential`` is for the
canary; :func:`gatekit.sections.canary_sequential.resolve_method`): by default the betting sequence for bounded
per-row values (accuracy, Brier score, agreement, score differences of probabilities; exact at every row count)
at every row up to 1,000 and then at row counts 1 % apart, and the normal mixture with the running standard
deviation for unbounded ones (log loss, MAE, a regression's score differences; asymptotic; no bounds before 30
rows of which 30 differ from the most common value; tightest at ``n_opt`` rows, default 1000) at every row
(:func:`gatekit.sections.canary_sequential.sequence`, :func:`gatekit.sections.canary_sequential.betting_looks`).
Order: the file's rows as given, or sorted stably by ``inputs.sequential.order_by``
(:func:`gatekit.data.arrival.arrival_order`).

Outcome (:func:`gatekit.sections.canary_sequential.read_sequence`): the first row count at which the sequence
lay wholly on the failing side of a limit (harm proven: the rule fails, stop the shadow) or wholly on the passing
side of every limit (safety proven: the rule passes, the shadow may stop); no bounds yet, or bounds wider than
the rule's margin, is ``insufficient_data``; otherwise inconclusive; each with the rule's severity
(:meth:`gatekit.policy.specs.MetricRule.severities`). A running intersection that became empty (later rows
contradict earlier ones: the rows are not exchangeable) makes the rule not computable, never a pass. A sequence
gives no p-value, so ``p_harm`` and ``p_safe`` are None (a testing family counts such a rule in its size and
keeps its status).

Engines: DuckDB and Spark gather the rows into counted rows (one per distinct combination, order lost), so a
sequential rule is not computable there: run with ``--engine pandas``.
"""

from __future__ import annotations

import math
from typing import Any

from gatekit.core.errors import NotComputable
from gatekit.core.formatting import fmt, percent
from gatekit.core.results import CheckResult, RuleKey, Status
from gatekit.metrics.registry import ResolvedMetric, row_weights
from gatekit.policy.specs import MetricRule
from gatekit.sections.comparison import _limit_text, conditions, decide_interval, outcome_status

DEFAULT_METHOD: str | None = None
"""No method given: :func:`gatekit.sections.canary_sequential.resolve_method` picks one per rule."""
DEFAULT_N_OPT = 1000


def _settings(ctx: Any) -> tuple[str | None, int, str | None]:
    """``inputs.sequential``'s method (None: not given), n_opt and order column (defaults without it)."""
    spec = ctx.policy.policy.inputs
    seq = spec.sequential if spec is not None else None
    if seq is None:
        return DEFAULT_METHOD, DEFAULT_N_OPT, None
    return seq.method, seq.n_opt, seq.order_by


def sequential_check(ctx: Any, rule: MetricRule, res: ResolvedMetric, params: dict[str, Any],
                     meta: dict[str, Any]) -> CheckResult:
    """Decide a ``metrics:`` rule with ``interval: sequential`` on a confidence sequence over the rows.

    Parameters
    ----------
    ctx : RunContext
        The run (``ctx.inputs.eval_data`` with its ``baseline`` rows, ``ctx.inputs.eval_order``).
    rule : MetricRule
        The rule (``confidence`` set; its metric and form checked at load by
        :func:`gatekit.policy.specs.metrics.check_sequential_rule`).
    res : ResolvedMetric
        Its metric.
    params : dict
        The metric's parameters.
    meta : dict
        Details every check of the rule carries (unit, params, label, description).

    Returns
    -------
    CheckResult
        ``observed``: the mean per-row difference (relative rule; the change of the metric) or the mean per-row
        value (absolute rule; the metric). ``details["sequential"]``: ``method``, ``construction``,
        ``confidence``, ``rows``, ``estimate``, ``cs`` (``[low, high]`` at the current rows), ``stopped_at``
        (``rows``, ``result``, ``cs``) or None, ``n_opt``, ``rows_needed``, ``per_row``, ``order_by``,
        ``source``; ``details["interval"]`` the sequence now (method ``confidence_sequence``);
        ``details["outcome"]`` as every interval-decided rule's, p-values None. Not computable (never a pass)
        without evaluation rows, on counted rows (DuckDB, Spark), without production's rows for a relative
        rule, or when the per-row values cannot be computed.
    """
    from gatekit.metrics.per_row import PER_ROW, SHADOW_PER_ROW, per_row_values
    from gatekit.sections.canary_sequential import (
        _finite,
        _rows_needed,
        read_sequence,
        resolve_method,
        sequence,
        sequence_outcome,
        undecided_verdict,
        untrusted_reason,
    )

    assert rule.confidence is not None
    conf = rule.confidence
    given_method, n_opt, order_by = _settings(ctx)
    conds = conditions(rule)
    key = rule.relative[0] if rule.relative else None
    op, threshold = conds[0] if len(conds) == 1 else ("within", conds[1][1])
    common: RuleKey = dict(name=rule.check_name, section=res.spec.section, on_fail=rule.on_fail,
                           metric=res.canonical, source="computed", op=op, threshold=threshold)
    details: dict[str, Any] = dict(meta)
    limit_text = _limit_text(rule, meta.get("unit"))

    def not_computable(why: str) -> CheckResult:
        return CheckResult(status=Status.NOT_COMPUTABLE, details=details, message=f"{rule.name}: {why}", **common)

    data = ctx.inputs.eval_data
    if data is None:
        return not_computable(ctx.inputs.scoring_error or ctx.inputs.no_eval_reason)
    if row_weights(data) is not None:
        return not_computable(f"interval: sequential reads the rows one by one in arrival order, and the "
                              f"{ctx.inputs.engine} engine gathers them into counted rows (their order is lost); "
                              "run with --engine pandas (or inputs.engine: pandas)")
    name = res.spec.name
    spec = PER_ROW.get(name) if key is not None else SHADOW_PER_ROW.get(name)
    if spec is None:  # the loader refuses these; kept so no other rule is ever read as a sequence
        return not_computable(f"{name} has no per-row values for interval: sequential")
    bounds = spec.bounds
    if name == "mean_score_difference" and data.task != "classification":
        if given_method == "betting":
            return not_computable("inputs.sequential.method betting needs bounded per-row values, and the score "
                                  f"differences of a {data.task} task are unbounded; use method: normal_mixture")
        bounds = None  # a forecast's differences have no bounds: the default is then the normal mixture
    method = resolve_method(given_method, bounds)
    try:
        if key is not None:
            if data.baseline is None:
                return not_computable("interval: sequential compares both models row by row, and production's "
                                      "output on the same rows is missing: give inputs.baseline.score, prediction "
                                      "or model (a metrics-file baseline has no rows)")
            c = per_row_values(name, data)
            b = per_row_values(name, data.baseline)
            values = c - b
            cand_value, base_value = float(c.mean()), float(b.mean())
        else:
            values = per_row_values(name, data, params)
            cand_value, base_value = float(values.mean()), None
    except NotComputable as exc:
        return not_computable(f"no per-row values: {exc.reason}")
    order = ctx.inputs.eval_order
    if order is not None:
        values = values[order]
    rows = int(values.size)
    if rows == 0:
        return not_computable("the evaluation data has no rows")
    try:
        cs = sequence(values, method, conf, n_opt, bounds, differences=key is not None)
    except ValueError as exc:  # a per-row value outside its bounds (scores that are no probabilities)
        return not_computable(f"the {method} sequence cannot read these rows: {exc}"
                              + ("" if given_method else "; give inputs.sequential.method: normal_mixture"))
    reading = read_sequence(cs, conds, rule, values, "rows", "difference" if key is not None else "value")
    low, high = reading.low, reading.high
    estimate = float(values.mean())
    method_text = (f"normal mixture, estimated spread, tightest at {n_opt} rows" if method == "normal_mixture"
                   else "betting, hedged capital")
    construction = ("candidate and production scored on the same rows: per-row differences in row order"
                    if key is not None else "per-row values in row order")
    decide_as = "proven_harm" if rule.hypothesis == "proven_harm" else "proven_safe"
    comparison: dict[str, Any] = {"candidate": cand_value, "rule": limit_text, "conditions": conds,
                                  "statistic": "value" if key is None else "change",
                                  "definition": None if key is None else "candidate - baseline"}
    if key is not None:
        comparison.update({"baseline": base_value, "baseline_source": "computed", "baseline_label": "production",
                           "change": estimate,
                           "relative_change_pct": 100 * estimate / abs(base_value) if base_value else None})
    details["comparison"] = comparison
    details["sequential"] = {
        "method": method, "method_given": given_method, "construction": construction, "confidence": conf,
        "rows": rows, "estimate": estimate, "cs": [_finite(low), _finite(high)], "stopped_at": None, "n_opt": n_opt,
        "rows_needed": None, "per_row": spec.definition, "order_by": order_by, "source": cs.details.get("source")}
    unit = f" {meta.get('unit')}" if meta.get("unit") in ("%", "ms") else ""
    head = (f"{rule.name} mean per-row difference {estimate:+.4g}{unit} (candidate minus production on the same "
            f"rows: candidate {fmt(cand_value)} vs production {fmt(base_value)})" if key is not None else
            f"{rule.name} = {fmt(cand_value)} (mean of the per-row values)")
    shown = (lambda v: f"{v:+.4g}") if key is not None else (lambda v: f"{v:.4g}")
    in_order = f"{'order of ' + repr(order_by) if order_by else 'file order'}"
    if reading.result is None:  # an empty intersection, or an early stop the later rows contradict
        assert reading.empty is not None
        before = (f"[{shown(low)}, {shown(high)}]" if math.isfinite(low) and math.isfinite(high) else "no bounds")
        why = untrusted_reason(reading, details["sequential"], int(cs.looks[reading.empty]),
                               f"{percent(conf)} confidence sequence ({method_text}; rows in {in_order})", before,
                               "rows", "row", "the models' performance drifted, or the rows are not in arrival order",
                               conf)
        return CheckResult(status=Status.NOT_COMPUTABLE, observed=estimate, details=details,
                           message=f"{head}: {why}; not computable (never a pass): check inputs.sequential.order_by, "
                                   "or restart the shadow", **common)
    outcome = reading.result
    if reading.stop is not None:
        idx = reading.stop
        details["sequential"]["stopped_at"] = {"rows": int(cs.looks[idx]), "result": outcome,
                                               "cs": [_finite(float(cs.low[idx])), _finite(float(cs.high[idx]))]}
    severity = rule.severities()
    status, on_fail = outcome_status(outcome, severity, rule.on_fail)
    needed = (_rows_needed(values, conds, method, conf, n_opt, 1.0)
              if outcome in ("inconclusive", "insufficient_data") and math.isfinite(low) and math.isfinite(high)
              else None)  # without bounds the estimated spread is what is in doubt
    details["sequential"]["rows_needed"] = needed
    sd = float(values.std(ddof=1)) if rows > 1 else None
    details["interval"] = {"estimate": estimate, "low": _finite(low), "high": _finite(high), "confidence": conf,
                           "method": "confidence_sequence", "sequence_method": method}
    details["guardband"] = decide_as
    details["decided_on"] = "confidence_sequence"
    details["outcome"] = sequence_outcome(rule, reading, outcome, severity, method_text, "the rows", estimate, sd,
                                          rows, rows, needed, "evaluation rows")
    margin = None
    if math.isfinite(low) and math.isfinite(high):
        margin = decide_interval(low, high, conds, decide_as)[1]
    bounds_text = f"[{shown(low)}, {shown(high)}]" if math.isfinite(low) and math.isfinite(high) else "no bounds yet"
    what = "differences" if key is not None else "values"
    cs_text = (f"anytime-valid {percent(conf)} confidence sequence ({method_text}; per-row {what} of {rows:,} rows "
               f"in {in_order}) {bounds_text}")
    stopped = details["sequential"]["stopped_at"]
    if stopped is not None:
        at = f"[{shown(stopped['cs'][0])}, {shown(stopped['cs'][1])}]"
        verdict = (f"harm proven at row {stopped['rows']:,} ({at} breaks it): stop the shadow, the rule fails"
                   if outcome == "disproven" else
                   f"safety proven at row {stopped['rows']:,} ({at} meets it): the shadow may stop, the rule passes")
    else:
        verdict = undecided_verdict(outcome, severity, reading, needed, "rows")
    common = {**common, "on_fail": on_fail}
    return CheckResult(status=status, observed=estimate, margin=margin,
                       message=f"{head}, {cs_text}; limit {limit_text}: {verdict}", details=details, **common)
