"""The ``gates:`` section: named gates with a ``require:`` boolean expression over metric names."""

from __future__ import annotations

from typing import Any

from gatekit.core.compare import compare
from gatekit.core.formatting import fmt
from gatekit.core.results import CheckResult, OnFail, Status
from gatekit.policy.expressions import Comparison, comparisons, evaluate
from gatekit.policy.loader import LoadedPolicy
from gatekit.sections.base import Observation, RunContext


class GatesSection:
    """Evaluates each gate's expression in three-valued logic (an unknown value never passes)."""

    name = "gates"

    def planned(self, policy: LoadedPolicy) -> list[tuple[str, OnFail]]:
        """One check per gate."""
        return [(g.gate, g.on_fail) for g in policy.policy.gates]

    def run(self, ctx: RunContext) -> list[CheckResult]:
        """Evaluate every gate; record each comparison's values and outcome in ``details``."""
        out: list[CheckResult] = []
        for i, gate in enumerate(ctx.policy.policy.gates):
            node = ctx.policy.expressions[i]
            values: dict[str, Observation] = {}
            for cmp in comparisons(node):
                for name in cmp.names():
                    res = ctx.registry.resolve(name)
                    assert res is not None  # validated at load time
                    values[name] = ctx.metric(res)

            def side(x: str | float, values: dict[str, Observation] = values) -> float | None:
                return x if isinstance(x, float) else values[x].value

            def leaf(c: Comparison, side: Any = side) -> bool | None:
                a, b = side(c.left), side(c.right)
                return None if a is None or b is None else compare(a, c.op, b)

            result = evaluate(node, leaf)
            conditions: list[dict[str, Any]] = []
            parts = []
            for c in comparisons(node):
                r = leaf(c)
                shown = ", ".join(f"{n} = {fmt(values[n].value)}" if values[n].value is not None
                                  else f"{n}: {values[n].reason}" for n in c.names())
                conditions.append({"condition": str(c), "left": side(c.left), "right": side(c.right),
                                   "result": r, "shown": shown})
                parts.append(f"{c} {({True: 'holds', False: 'fails', None: 'unknown'})[r]} ({shown})")
            if result is True:
                status = Status.PASS
            elif result is False:
                status = Status.FAIL
            elif any(v.state == "error" for v in values.values()):
                status = Status.ERROR
            else:
                status = Status.NOT_COMPUTABLE
            details = {"require": gate.require, "conditions": conditions, "description": gate.description,
                       "values": {n: {"value": v.value, "state": v.state, "source": v.source, "reason": v.reason,
                                      # which definition a name in an expression used (defaults apply there)
                                      **{k: v.details[k] for k in ("threshold", "sensitive_columns", "variant")
                                         if k in v.details}}
                                  for n, v in values.items()}}
            out.append(CheckResult(name=gate.gate, section="gates", status=status, on_fail=gate.on_fail,
                                   message="; ".join(parts), details=details))
        for i, check in enumerate(out):  # which rule each check is (alerts read the rule's settings)
            check.details["rule"] = f"gates[{i}]"
        return out
