"""The shared comparison of observed values with thresholds, and the gate decision.

Decision contract (see README "Decision semantics"):

- ``block`` if any ``block`` rule failed or is ``inconclusive`` (its ``on_fail`` is then the severity the
  policy set for an inconclusive outcome), or, in strict mode, any ``block`` rule is not a clean
  pass (error, not computable, skipped);
- otherwise ``warn`` if any rule is not a clean pass (a ``warn`` rule failed or could not be
  evaluated, or in non-strict mode a ``block`` rule could not be evaluated);
- otherwise ``pass``. A policy that evaluated no rule at all does not pass.
"""

from __future__ import annotations

from gatekit.core.compare import compare
from gatekit.core.formatting import fmt, fmt_pair, percent
from gatekit.core.results import CheckResult, Decision, OnFail, Status

FAILED = frozenset({"fail", "error", "not_computable", "inconclusive"})
"""Statuses that count as a failure in history and alerts (``skipped`` is neither pass nor failure)."""


def margin(observed: float, op: str, threshold: float) -> float | None:
    """Signed distance to the threshold, positive on the passing side.

    ``observed - threshold`` for ``>=`` and ``>``; ``threshold - observed`` for ``<=`` and ``<``;
    None for ``==`` and ``!=`` (no direction).
    """
    if op in (">=", ">"):
        return observed - threshold
    if op in ("<=", "<"):
        return threshold - observed
    return None


def evaluate_threshold(observed: float, op: str, threshold: float) -> tuple[Status, float | None]:
    """Compare ``observed OP threshold``; return the status and the margin."""
    return (Status.PASS if compare(observed, op, threshold) else Status.FAIL), margin(observed, op, threshold)


def _describe(c: CheckResult) -> str:
    if c.status == Status.FAIL and c.section in ("data_quality", "compatibility", "robustness", "artifact",
                                                "security") and c.message:
        return f"{c.name}: {c.message}"  # a count against 0 says less than the sentence that names the column
    iv = c.details.get("interval") if c.details.get("decided_on") == "interval" else None
    if c.status == Status.FAIL and iv:
        cmp = c.details.get("comparison", {})
        what = {"change": "change", "relative_change_pct": "relative change (%)"}.get(cmp.get("statistic"), "value")
        return (f"{c.name}: {what} {fmt(c.observed)}, {percent(iv['confidence'])} CI "
                f"[{fmt(iv['low'])}, {fmt(iv['high'])}] vs limit {cmp.get('rule')} ({c.details.get('guardband')})")
    if c.status == Status.FAIL and c.observed is not None and c.op and c.threshold is not None and c.op != "within":
        shown, limit = fmt_pair(c.observed, c.threshold)
        if c.on_fail == OnFail.WARN:
            return f"{c.name} = {shown}, expected {c.op} {limit} (a warn rule)"
        return f"{c.name} = {shown}, required {c.op} {limit}"
    if c.status == Status.FAIL:
        return f"{c.name} failed ({c.message})"
    return f"{c.name} is {c.status.value.replace('_', ' ')} ({c.message})"


def effect(check: CheckResult, strict: bool) -> Decision:
    """Return what one check contributes to the decision: ``block``, ``warn`` or ``pass`` (as :func:`decide`).

    A ``block`` rule that failed blocks, and in strict mode so does one that is not a clean pass; an
    ``inconclusive`` check counts as a failure of its ``on_fail`` (the severity the policy set for an
    inconclusive outcome); any other check that is not a clean pass warns.
    """
    if check.status == Status.PASS:
        return Decision.PASS
    if check.on_fail == OnFail.BLOCK and (check.status in (Status.FAIL, Status.INCONCLUSIVE) or strict):
        return Decision.BLOCK
    return Decision.WARN


def decide(checks: list[CheckResult], strict: bool) -> tuple[Decision, str]:
    """Decide pass / warn / block from the checks.

    Parameters
    ----------
    checks : list of CheckResult
        Every check of the run.
    strict : bool
        Strict mode: a ``block`` rule that is not a clean pass blocks.

    Returns
    -------
    decision : Decision
    reason : str
        One sentence: the first blocking (or warning) check and its figures.
    """
    if not checks:
        if strict:
            return Decision.BLOCK, "Blocked: the policy has no rules, so nothing was checked."
        return Decision.WARN, "Passed with warnings: the policy has no rules, so nothing was checked."
    blocking = [c for c in checks if effect(c, strict) == Decision.BLOCK]
    if blocking:
        blocking.sort(key=lambda c: c.status != Status.FAIL)  # stable: real failures first, policy order kept
        more = f"; also blocking: {_names(blocking[1:])}" if len(blocking) > 1 else ""
        return Decision.BLOCK, f"Blocked: {_describe(blocking[0])}{more}."
    warning = [c for c in checks if c.status != Status.PASS]
    if warning:
        warning.sort(key=lambda c: c.status != Status.FAIL)
        more = f"; also: {_names(warning[1:])}" if len(warning) > 1 else ""
        return Decision.WARN, f"Passed with warnings: {_describe(warning[0])}{more}."
    return Decision.PASS, "Passed: the only check passed." if len(checks) == 1 else \
        f"Passed: all {len(checks)} checks passed."


def _names(checks: list[CheckResult], limit: int = 5) -> str:
    shown = ", ".join(c.name for c in checks[:limit])
    return shown + (f" and {len(checks) - limit} more" if len(checks) > limit else "")
