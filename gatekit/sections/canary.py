"""The ``canary:`` section: the candidate's arm against production's arm of a canary traffic log."""

from __future__ import annotations

from typing import Any

from gatekit.core.results import CheckResult, OnFail, Status
from gatekit.metrics.latency import rows_for
from gatekit.policy.loader import LoadedPolicy
from gatekit.sections.base import Observation, RunContext
from gatekit.sections.comparison import Side, evaluate_rule


class CanarySection:
    """Evaluates each ``canary.rules`` rule on the two arms (unpaired; section ``rollout``).

    An arm with fewer than ``min_rows_per_arm`` rows makes every rule ``not_computable`` (too small to
    decide; it blocks in strict mode); an interval whose resamples are too often undefined (a class or
    group too small in an arm) is not computable for the same reason.
    """

    name = "canary"

    def planned(self, policy: LoadedPolicy) -> list[tuple[str, OnFail]]:
        """One check per canary rule."""
        spec = policy.policy.canary
        return [(self.check_name(r.name), r.on_fail) for r in (spec.rules if spec else [])]

    @staticmethod
    def check_name(metric: str) -> str:
        """Name of a canary rule's check."""
        return f"{metric} canary vs production"

    def run(self, ctx: RunContext) -> list[CheckResult]:
        """Compute each rule's metric on both arms and compare them."""
        spec = ctx.policy.policy.canary
        arms = ctx.inputs.canary
        if spec is None:
            return []
        assert arms is not None  # loaded with the inputs whenever the policy has a canary section
        sizes = {"candidate": arms.info["rows_candidate"], "production": arms.info["rows_baseline"]}
        small = {k: v for k, v in sizes.items() if v < spec.min_rows_per_arm}
        neither = arms.info.get("rows_in_neither_arm", 0)
        out: list[CheckResult] = []
        for i, rule in enumerate(spec.rules):
            res = _rows_metric(ctx, ctx.policy.canary_resolved[i])
            params = {**res.name_params, **ctx.policy.canary_params.get(i, {})}
            meta: dict[str, Any] = {"unit": res.spec.unit, "params": params, "label": res.spec.label,
                                    "description": rule.description, "canary": arms.info}
            name = self.check_name(rule.name)
            if spec.sequential is not None:  # anytime-valid, as the log grows (gatekit.sections.canary_sequential)
                from gatekit.sections.canary_sequential import sequential_rule_check

                out.append(sequential_rule_check(ctx, i, rule, res, params, meta, name, small))
                continue
            if small:
                out.append(CheckResult(
                    name=name, section="rollout", status=Status.NOT_COMPUTABLE, on_fail=rule.on_fail,
                    metric=res.canonical, details=meta,
                    message=f"too few rows to decide: {', '.join(f'{k} arm {v}' for k, v in small.items())} "
                            f"(min_rows_per_arm {spec.min_rows_per_arm})"))
                continue
            sides = []
            for label, data in (("canary arm", arms.candidate), ("production arm", arms.baseline)):
                data = rows_for(res, data)  # served latency: the rows in a canonical order, with their latencies
                obs = _on_rows(res, data, params)
                sides.append(Side(obs, data, label))
            groups = _group_mismatch(sides[0].obs, sides[1].obs)
            if groups:
                out.append(CheckResult(name=name, section="rollout", status=Status.NOT_COMPUTABLE,
                                       on_fail=rule.on_fail, metric=res.canonical, details=meta, message=groups))
                continue
            check = evaluate_rule(rule, res, params, sides[0], sides[1], paired=False, section="rollout",
                                  name=name, base_details=meta, intervals=ctx.intervals, evidence=ctx.evidence)
            if neither:
                check.message += f" ({neither} rows of the log are in neither arm and were not compared)"
            out.append(check)
        for i, check in enumerate(out):  # which rule each check is (alerts read the rule's settings)
            check.details["rule"] = f"canary.rules[{i}]"
        return out


def _group_mismatch(cand: Observation, base: Observation) -> str:
    """Why a between-group difference cannot be compared across arms (different groups), or ''."""
    a = set((cand.details or {}).get("by_group") or {})
    b = set((base.details or {}).get("by_group") or {})
    if cand.state != "ok" or base.state != "ok" or not a or not b or a == b:
        return ""
    only = [f"{sorted(x - y)} only in the {arm} arm" for x, y, arm in ((a, b, "canary"), (b, a, "production"))
            if x - y]
    return ("the arms hold different groups (" + "; ".join(only) + "), so their between-group differences are "
            "not comparable: the missing group's gap in the other arm is unknown")


def _rows_metric(ctx: RunContext, res: Any) -> Any:
    """Return a rule's metric as the canary computes it: a served-latency name reads the log's latencies.

    ``latency_mean_ms`` and ``latency_p50_ms`` / ``p95`` / ``p99`` (catalog specs without a function) get the
    function of :func:`gatekit.metrics.latency.row_latency`, with the policy's ``operational.percentile_method``
    (default nearest rank), so a canary's percentile is the operational section's; other metrics are returned as
    they are.
    """
    from gatekit.metrics.latency import ROW_LATENCY_METRICS, row_latency

    if res.spec.name not in ROW_LATENCY_METRICS or res.spec.fn is not None:
        return res
    operational = getattr(ctx.policy.policy, "operational", None)
    return row_latency(res, getattr(operational, "percentile_method", None) or "nearest_rank")


def _on_rows(res: Any, data: Any, params: dict[str, Any]) -> Observation:
    if res.spec.fn is None:
        return Observation(None, "not_computable", f"{res.canonical} is not computed from rows, so a canary log "
                           "cannot give it")
    return RunContext.from_rows(res.spec.fn, data, params)
