"""The ``metrics:`` section: threshold rules on named metrics (performance, fairness, operational, drift)."""

from __future__ import annotations

import math
from typing import Any

from gatekit.core.decision import evaluate_threshold
from gatekit.core.formatting import fmt, fmt_pair
from gatekit.core.results import CheckResult, OnFail, RuleKey, Status
from gatekit.metrics.registry import ResolvedMetric
from gatekit.policy.loader import LoadedPolicy
from gatekit.policy.specs import MetricRule
from gatekit.sections.base import STATE_STATUS, Observation, RunContext


class MetricRulesSection:
    """Evaluates each ``metrics:`` rule; the report section is the metric's own (``performance``, ...)."""

    name = "metrics"

    def planned(self, policy: LoadedPolicy) -> list[tuple[str, OnFail]]:
        """One check per metric rule."""
        return [(r.check_name, r.on_fail) for r in policy.policy.metrics]

    def run(self, ctx: RunContext) -> list[CheckResult]:
        """Compute or look up each rule's metric and compare it with the threshold."""
        out: list[CheckResult] = []
        for i, rule in enumerate(ctx.policy.policy.metrics):
            res = ctx.policy.resolved[i]
            params = ctx.policy.params.get(i, {})  # validated and cleaned once, by the loader
            obs = ctx.metric(res, params)
            if rule.relative is not None or rule.confidence is not None:
                meta = {"unit": res.spec.unit, "params": params, "label": res.spec.label,
                        "description": rule.description}
                if rule.interval == "sequential":  # a confidence sequence over the rows in arrival order
                    from gatekit.sections.shadow_sequential import sequential_check

                    out.append(sequential_check(ctx, rule, res, {**res.name_params, **params}, meta))
                    continue
                out.append(self._compared(ctx, rule, res, params, obs, meta))
                continue
            op, value = rule.op, rule.value
            assert op is not None and value is not None  # MetricRule._one_form: no relative form means op + value
            base: RuleKey = dict(name=rule.name, section=res.spec.section, on_fail=rule.on_fail, op=op,
                                 threshold=value, metric=res.canonical, source=obs.source)
            details = {**obs.details, "unit": res.spec.unit, "params": params, "label": res.spec.label,
                       "description": rule.description}
            if res.spec.section == "operational" and (check := _rounds_check(ctx, rule, res, params, obs)):
                out.append(check)  # measured in rounds: decided on the interval (gatekit.sections.operational_rules)
                continue
            if obs.state != "ok" or obs.value is None:
                out.append(CheckResult(status=STATE_STATUS.get(obs.state, Status.NOT_COMPUTABLE),
                                       message=obs.reason, details=details, **base))
                continue
            status, m = evaluate_threshold(obs.value, op, value)
            verdict = "meets" if status == Status.PASS else "does not meet"
            unit = f" {res.spec.unit}" if res.spec.unit in ("%", "ms") else ""
            shown, limit = fmt_pair(obs.value, value)
            msg = f"{rule.name} = {shown}{unit} {verdict} {op} {limit}{unit}"
            if obs.details.get("note"):
                msg += f"; note: {obs.details['note']}"
            file_value = obs.details.get("metrics_file_value")
            if file_value is not None and not math.isclose(file_value, obs.value, rel_tol=1e-6, abs_tol=1e-9):
                msg += f" (computed from the data; the metrics file says {fmt(file_value)})"
            out.append(CheckResult(status=status, observed=obs.value, margin=m, message=msg, details=details,
                                   **base))
        for i, check in enumerate(out):  # which rule each check is (alerts read the rule's settings)
            check.details["rule"] = f"metrics[{i}]"
        return out

    @staticmethod
    def _compared(ctx: RunContext, rule: MetricRule, res: ResolvedMetric, params: dict[str, Any],
                  obs: Observation, details: dict[str, Any]) -> CheckResult:
        """Evaluate a baseline-relative rule or a rule with confidence (:mod:`gatekit.sections.comparison`)."""
        from gatekit.sections.comparison import Side, evaluate_rule

        data = ctx.inputs.eval_data
        cand = Side(obs, data if obs.source == "computed" else None, "candidate")
        base = None
        if rule.relative is not None:
            bobs = ctx.baseline_metric(res, params)
            rows = data.baseline if data is not None and bobs.source == "computed" else None
            base = Side(bobs, rows, "production")
            kinds = {str(o.details.get("figure_kind") or o.source) for o in (obs, bobs) if o.state == "ok"}
            if res.spec.section == "operational" and len(kinds) > 1:
                # a load test against an in-process timing (or a declared figure) compares two different things
                from gatekit.sections.comparison import conditions

                conds = conditions(rule)
                return CheckResult(name=rule.check_name, section=res.spec.section, on_fail=rule.on_fail,
                                   status=Status.NOT_COMPUTABLE, metric=res.canonical,
                                   op=conds[0][0] if len(conds) == 1 else "within", threshold=conds[-1][1],
                                   message=f"{rule.name}: the candidate's figure and production's come from different "
                                           f"sources ({' vs '.join(sorted(kinds))}); give both as load-test samples or "
                                           "let gatekit time both models", details=details)
            if res.spec.section == "operational" and (check := _rounds_check(ctx, rule, res, params, obs, bobs)):
                return check
        return evaluate_rule(rule, res, {**res.name_params, **params}, cand, base, paired=True,
                             section=res.spec.section, name=rule.check_name, base_details=details,
                             intervals=ctx.intervals, evidence=ctx.evidence)


def _rounds_check(ctx: RunContext, rule: MetricRule, res: ResolvedMetric, params: dict[str, Any], obs: Observation,
                  bobs: Observation | None = None) -> CheckResult | None:
    """Return the check of an operational figure measured in rounds (decided on its interval), else None."""
    from gatekit.sections.base import _default_operational
    from gatekit.sections.operational_rules import rounds_check

    spec = ctx.policy.policy.operational or _default_operational()
    meta = {"unit": res.spec.unit, "params": params, "label": res.spec.label, "description": rule.description}
    return rounds_check(rule, res, obs, bobs, meta, spec.confidence)
