"""Operational rules measured in rounds: decided on the interval of the median, three ways.

A figure gatekit measured in rounds (:mod:`gatekit.model.serving`) is gated on the median of its rounds,
and the rule reads the interval of that median (the order-statistic interval of
:func:`gatekit.model.serving.median_interval`):

- the whole interval meets the limit: ``pass`` (recorded as ``guardband: proven_safe``);
- the whole interval breaks it: ``fail`` (``guardband: proven_harm``);
- the interval contains the limit: **too noisy to decide**, ``not_computable`` (``guardband: too_noisy``,
  ``verdict: too_noisy``). Fail closed, and the same as any figure that could not be obtained: a ``block``
  rule blocks when the policy is ``strict`` and warns otherwise; a ``warn`` rule warns; history and alerts
  count it as a failure. It is never a pass, and never a fail that blames the model for the machine.

Against production, the statistic is the change per interleaved round pair (candidate round ``i`` minus
production round ``i``, or in percent of production's), its median and interval.

A figure without rounds (a load test's one list of samples, peak memory, a metrics-file value) is decided
on its value by :mod:`gatekit.sections.metric_rules` as before: :func:`rounds_check` returns None for it.
"""

from __future__ import annotations

from typing import Any

from gatekit.core.errors import NotComputable
from gatekit.core.formatting import fmt
from gatekit.core.results import CheckResult, RuleKey, Status
from gatekit.metrics.registry import ResolvedMetric
from gatekit.policy.specs import MetricRule
from gatekit.sections.base import Observation

DECISION = ("three ways on the interval of the median of the rounds: pass if it lies wholly on the passing side "
            "of the limit, fail if wholly on the failing side, else too noisy to decide (not_computable: never a "
            "pass)")


def _rounds(obs: Observation | None) -> dict[str, Any] | None:
    """Return the rounds summary of a measured figure, or None when it has no spread (fewer than 2 rounds)."""
    if obs is None or obs.state != "ok" or obs.value is None:
        return None
    r = obs.details.get("rounds")
    return r if isinstance(r, dict) and int(r.get("count", 0)) >= 2 else None


def _signed(v: float | None) -> str:
    """Return a change with its sign: ``+0.7``."""
    return "n/a" if v is None else f"{v:+.4g}"


def rounds_check(rule: MetricRule, res: ResolvedMetric, obs: Observation, baseline: Observation | None,
                 base_details: dict[str, Any], confidence: float) -> CheckResult | None:
    """Evaluate an operational rule on a figure measured in rounds; None when the figure has no rounds.

    Parameters
    ----------
    rule : MetricRule
        An absolute rule or a baseline-relative one (``confidence`` is refused for operational metrics by
        the policy: the rounds give the interval).
    res : ResolvedMetric
        Its metric (section ``operational``).
    obs : Observation
        The candidate's figure; ``details["rounds"]`` from :func:`gatekit.model.serving.value`.
    baseline : Observation or None
        Production's figure, for a baseline-relative rule.
    base_details : dict
        Details every check of this rule carries (unit, params, label, description).
    confidence : float
        Coverage asked of the interval (``operational.confidence``).

    Returns
    -------
    CheckResult or None
        ``observed`` is the median (of the figure, or of the per-pair change), ``details["interval"]``
        its interval (``method: order_statistic_median``, ``confidence`` the exact coverage),
        ``details["verdict"]`` ``pass`` / ``fail`` / ``too_noisy``. None when the candidate's figure has no
        rounds or could not be measured (the caller's usual path reports it), or, for a relative rule,
        when production's figure could not be obtained.
    """
    from gatekit.model.serving import decide_on_interval, paired_changes, round_stats
    from gatekit.sections.comparison import _limit_text, conditions

    rounds = _rounds(obs)
    if rounds is None:
        return None
    key = rule.relative[0] if rule.relative else None
    if key is not None and (baseline is None or baseline.state != "ok" or baseline.value is None):
        return None
    conds = conditions(rule)
    op, threshold = conds[0] if len(conds) == 1 else ("within", conds[1][1])
    common: RuleKey = dict(name=rule.check_name, section=res.spec.section, on_fail=rule.on_fail, metric=res.canonical,
                           source=obs.source, op=op, threshold=threshold)
    unit_name = base_details.get("unit")
    relative_pct = bool(key and key.endswith("_pct"))
    unit = " %" if relative_pct else (f" {unit_name}" if unit_name in ("%", "ms") else "")
    limit = _limit_text(rule, unit_name)
    clock = obs.details.get("clock", "")
    clock_text = {"cpu": "CPU time", "wall": "wall-clock time", "load_test": "the load test's times"}.get(clock, "")
    if key is None:
        details: dict[str, Any] = {**obs.details, **base_details}
        point, low, high = float(rounds["median"]), rounds.get("low"), rounds.get("high")
        coverage, cv, n = rounds.get("coverage"), rounds.get("cv"), int(rounds["count"])
        details["comparison"] = {"candidate": point, "rule": limit, "conditions": conds, "statistic": "value",
                                 "definition": None}
        head = f"{rule.name} = {fmt(point)}{unit}"
        spread = f"{obs.details.get('statistic', f'median of {n} rounds')}, {clock_text}"
        interval_error = str(rounds.get("interval_error") or "")
        bound: Any = fmt
    else:
        brounds = _rounds(baseline)
        assert baseline is not None
        details = {**base_details, "candidate_details": obs.details, "baseline_details": baseline.details}
        comparison: dict[str, Any] = {"candidate": float(rounds["median"]), "baseline": float(baseline.value or 0),
                                      "baseline_source": baseline.source, "baseline_label": "production",
                                      "rule": limit, "conditions": conds,
                                      "statistic": "relative_change_pct" if relative_pct else "change",
                                      "definition": ("median over round pairs of 100 * (candidate - production) / "
                                                     "|production|" if relative_pct else
                                                     "median over round pairs of candidate - production")}
        details["comparison"] = comparison
        if brounds is None:
            return CheckResult(status=Status.NOT_COMPUTABLE, details=details,
                               message=f"{rule.name}: the candidate's figure comes in {rounds['count']} rounds and "
                                       "production's in one; give both as load tests in rounds, or let gatekit time "
                                       "both models", **common)
        try:
            changes = paired_changes(rounds["values"], brounds["values"], relative_pct)
        except NotComputable as exc:
            return CheckResult(status=Status.NOT_COMPUTABLE, details=details, message=f"{rule.name}: {exc.reason}",
                               **common)
        stats = round_stats(changes, confidence)
        stats.cv = None  # a change's mean can be near 0: its coefficient of variation says nothing
        comparison.update({"baseline": float(brounds["median"]), "change": stats.median if not relative_pct else
                           float(rounds["median"]) - float(brounds["median"]),
                           "relative_change_pct": stats.median if relative_pct else None,
                           "per_round": changes})
        details["rounds"] = stats.to_dict()
        point, low, high, coverage, cv, n = stats.median, stats.low, stats.high, stats.coverage, stats.cv, len(changes)
        what = "relative change" if relative_pct else "change"
        head = (f"{rule.name} {what} {point:+.4g}{unit}, candidate {fmt(comparison['candidate'])} vs production "
                f"{fmt(comparison['baseline'])}{'' if relative_pct else unit}")
        paired = "interleaved round pairs" if clock in ("cpu", "wall") else "round pairs (in the load tests' order)"
        spread = f"median over {n} {paired}, {clock_text}"
        interval_error = stats.interval_error
        bound = _signed
    details["decision"] = DECISION
    other = obs.details.get("other_clock") if key is None else None
    ratio = obs.details.get("wall_over_cpu")
    aside = f"; {other['clock']} clock {fmt(other['median'])}{unit}" if other else ""
    if isinstance(ratio, (int, float)) and ratio >= 1.5:
        aside += f"; wall / CPU {ratio:.1f}: the process waited for a core (a busy machine)"
    if low is None or high is None:
        details["verdict"] = "not_computable"
        return CheckResult(status=Status.NOT_COMPUTABLE, observed=point, details=details,
                           message=f"{head} ({spread}{aside}); no interval: {interval_error}", **common)
    details["interval"] = {"estimate": point, "low": low, "high": high, "confidence": coverage,
                           "confidence_asked": confidence, "method": "order_statistic_median", "rounds": n,
                           "order_statistics": (details.get("rounds") or rounds).get("order_statistics")}
    details["decided_on"] = "interval"
    verdict, margin = decide_on_interval(float(low), float(high), conds)
    details["verdict"] = verdict
    details["guardband"] = {"pass": "proven_safe", "fail": "proven_harm", "too_noisy": "too_noisy"}[verdict]
    cv_text = f", CV {100 * cv:.1f} %" if cv is not None else ""
    shown = f"{head} ({spread}; {coverage:.1%} CI [{bound(low)}, {bound(high)}]{unit}{cv_text}{aside})"
    if verdict == "too_noisy":
        advice = {"cpu": "measure on a quieter machine, or raise operational.rounds",
                  "wall": "measure on a quieter machine, use operational.clock: cpu, or raise operational.rounds"}.get(
            clock, "run the load test on a quieter machine, or in more rounds")
        return CheckResult(status=Status.NOT_COMPUTABLE, observed=point, details=details,
                           message=f"too noisy to decide: {shown}: the interval contains the limit {limit}, so the "
                                   f"measurement cannot say which side the figure is on. Not a pass (fail closed): "
                                   f"{advice}", **common)
    text = "meets" if verdict == "pass" else "does not meet"
    whole = "the whole interval meets it" if verdict == "pass" else "the whole interval breaks it"
    return CheckResult(status=Status.PASS if verdict == "pass" else Status.FAIL, observed=point, margin=margin,
                       message=f"{shown} {text} {limit}: {whole}", details=details, **common)
