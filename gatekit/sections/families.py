"""Testing families: the policy's ``families:`` applied to a run's confidence checks.

Each member of a family (:func:`gatekit.policy.specs.families.family_members`) was decided alone on its own
interval, as a one-sided test at ``alpha = (1 - confidence) / 2``: its check's ``details["outcome"]`` holds
``p_harm`` (the one-sided p-value of "a limit is broken") and ``p_safe`` (of "every limit holds"), such that
the rule alone is disproven iff ``p_harm <= alpha`` and proven iff ``p_safe <= alpha``. The family step adjusts
the members' ``p_harm`` together and their ``p_safe`` together by the family's method
(:func:`gatekit.stats.multiplicity.adjust_p_values`: Holm 1979, Bonferroni/Dunn 1961, Šidák 1967,
Benjamini & Hochberg 1995) with ``m`` = the number of members, and re-reads each outcome at the same
``alpha``:

- ``disproven`` iff adjusted ``p_harm <= alpha``; else ``proven`` iff adjusted ``p_safe <= alpha``; else
  ``inconclusive`` (``insufficient_data`` when the rule alone said so);
- a family never makes a rule more decisive than it was alone (adjusted p-values are at least the raw ones);
- the status and severity follow from the outcome as for a rule alone
  (:func:`gatekit.sections.comparison.outcome_status`).

Fail closed: a member without p-values (not computable, error, a section that crashed, no interval) counts in
``m`` (as a p-value of 1 would: the adjustment of the others is never less strict) and keeps its own status.
A family of one member is tested alone (no adjustment; the report says so). For Bonferroni and Šidák the
report adds each member's simultaneous interval, at the per-rule level
:func:`gatekit.stats.multiplicity.simultaneous_confidence`: the bootstrap replicates' percentiles
(``numpy.quantile``, as the rule's own interval) or ``estimate +- z se`` (DeLong). With Bonferroni the
family's decision is exactly what that interval's bound shows; with Šidák the decision is on the adjusted
p-value and the interval is for reading (the two levels differ in the fourth decimal).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from gatekit.core.results import CheckResult, OnFail, Status
from gatekit.policy.specs.families import METHOD_TEXT, STATS_METHOD, FamilySpec, family_alpha, family_members
from gatekit.stats.multiplicity import adjust_p_values, simultaneous_confidence

METHOD_NAME = {"holm": "Holm", "bonferroni": "Bonferroni", "sidak": "Šidák", "benjamini_hochberg": "Benjamini-Hochberg"}
"""How messages name each method."""


def _p(value: Any) -> float | None:
    """Return a p-value from a check's outcome, or None (missing, not a number, outside [0, 1])."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    v = float(value)
    return v if np.isfinite(v) and 0.0 <= v <= 1.0 else None


def _fmt_p(p: float | None) -> str:
    return "n/a" if p is None else f"{p:.3g}"


def simultaneous_interval(interval: Any, level: float) -> tuple[float, float] | None:
    """Return the two-sided ``level`` interval of a member from its kept interval (None when it cannot be widened).

    Parameters
    ----------
    interval : gatekit.stats.intervals.Interval
        The member's interval: a percentile bootstrap that kept its ``replicates``, or a normal (DeLong)
        interval with ``details["se"]``.
    level : float
        Two-sided level in (0, 1), e.g. :func:`~gatekit.stats.multiplicity.simultaneous_confidence`.

    Returns
    -------
    (low, high) or None
        ``numpy.quantile(replicates, [(1 - level) / 2, (1 + level) / 2])`` (linear interpolation, the rule's
        own percentile definition, Efron & Tibshirani 1993, ch. 13), or ``estimate -+ z se`` with
        ``z = Phi^-1((1 + level) / 2)``: :meth:`gatekit.stats.comparison_modes.Evidence.interval`.
    """
    from gatekit.stats.comparison_modes import Evidence

    if interval is None:
        return None
    try:
        return Evidence.from_interval(interval).interval(level)
    except ValueError:  # neither a standard error nor finite replicates: nothing to widen
        return None


def _refold(alone: str, harm_adj: float, safe_adj: float, alpha: float) -> str:
    """Return the outcome of a member in its family (see the module docstring)."""
    if alone not in ("proven", "disproven"):
        return alone  # inconclusive / insufficient_data alone: a larger p-value cannot decide it
    if harm_adj <= alpha:
        return "disproven"
    if safe_adj <= alpha:
        return "proven"
    return "inconclusive"


def family_power(power: dict[str, Any] | None, alpha: float, m: int) -> float | None:
    """Return a member's minimum detectable effect at the family's Bonferroni level ``alpha / m``.

    ``(z_{1 - alpha / m} + z_{power}) se`` (the normal-theory figure of
    :func:`gatekit.sections.comparison.power_figures` at the level the family's strictest step tests at; Holm's
    first step and Bonferroni's every step). None without a standard error.
    """
    from gatekit.stats.power import minimum_detectable_effect

    if not isinstance(power, dict) or not isinstance(power.get("se"), (int, float)) or not power["se"] > 0:
        return None
    target = float(power.get("target") or 0.8)
    if power.get("two_sided"):
        target = (1 + target) / 2
    # the two-sided level whose one-sided alpha is the family's alpha / m
    return minimum_detectable_effect(float(power["se"]), 1 - 2 * alpha / m, target)


def adjust_family(family: FamilySpec, confidence: float, members: list[tuple[str, CheckResult | None]],
                  evidence: dict[int, Any]) -> dict[str, Any]:
    """Decide one family's members together; change their checks in place and return the family's summary.

    Parameters
    ----------
    family : FamilySpec
        The family.
    confidence : float
        Its members' one confidence (``alpha = (1 - confidence) / 2``).
    members : list of (str, CheckResult or None)
        Each member's place in the policy (``metrics[3]``) and its check (None when the run has none).
    evidence : dict of int to Interval
        The run's intervals by ``id(check)`` (:attr:`gatekit.sections.base.RunContext.evidence`).

    Returns
    -------
    dict
        ``name``, ``method``, ``method_text``, ``size`` (``m``), ``tested`` (members with p-values),
        ``confidence``, ``alpha``, ``simultaneous_confidence`` (Bonferroni, Šidák), ``changed`` (members the
        family decided otherwise than alone) and ``members`` (one entry per member: ``rule``, ``check``,
        ``section``, the ``details["family"]`` figures and the final ``status``).
        Each tested member's check gets ``details["family"]``, its outcome, status, severity and message
        re-derived.

    Raises
    ------
    ValueError
        From :func:`~gatekit.stats.multiplicity.adjust_p_values` (not on p-values read through :func:`_p`).
    """
    m = len(members)
    alpha = (1.0 - confidence) / 2.0
    name = METHOD_NAME[family.method]
    level = (simultaneous_confidence(confidence, m, family.method)
             if family.method in ("bonferroni", "sidak") else None)
    tested: list[tuple[int, CheckResult, dict[str, Any], float, float]] = []
    for i, (_, check) in enumerate(members):
        outcome = check.details.get("outcome") if check is not None else None
        if isinstance(outcome, dict) and check is not None:
            harm, safe = _p(outcome.get("p_harm")), _p(outcome.get("p_safe"))
            if harm is not None and safe is not None and outcome.get("result") in (
                    "proven", "disproven", "inconclusive", "insufficient_data"):
                tested.append((i, check, outcome, harm, safe))
    method = STATS_METHOD[family.method]
    harm_adj = adjust_p_values([t[3] for t in tested], method, m)  # type: ignore[arg-type]
    safe_adj = adjust_p_values([t[4] for t in tested], method, m)  # type: ignore[arg-type]
    summary: dict[str, Any] = {"name": family.name, "method": family.method, "method_text": METHOD_TEXT[family.method],
                               "size": m, "tested": len(tested), "confidence": confidence, "alpha": alpha,
                               "description": family.description, "changed": 0, "members": []}
    if level is not None:
        summary["simultaneous_confidence"] = level
    records: dict[int, dict[str, Any]] = {}
    for (i, check, outcome, harm, safe), ha, sa in zip(tested, harm_adj, safe_adj, strict=True):
        alone = str(outcome["result"])
        final = alone if m == 1 else _refold(alone, float(ha), float(sa), alpha)
        mde = family_power(outcome.get("power"), alpha, m) if m > 1 else None
        power = outcome.get("power") or {}
        if final == "inconclusive" and power.get("effect_is_margin") and mde is not None and mde > power["effect"]:
            # the family's stricter level cannot show the margin on these rows: not an inconclusive interval that
            # proven_harm would pass, but too little data for the family (the rule alone was decided)
            final = "insufficient_data"
        record: dict[str, Any] = {"name": family.name, "method": family.method, "size": m, "alpha": alpha,
                                  "p_harm": harm, "p_harm_adjusted": float(ha), "p_safe": safe,
                                  "p_safe_adjusted": float(sa), "result_alone": alone, "result": final,
                                  "decided_by_family": final != alone, "status_alone": check.status.value,
                                  "mde_in_family": mde}
        if level is not None:
            record["simultaneous_confidence"] = level
            bounds = simultaneous_interval(evidence.get(id(check)), level)
            if bounds is not None:
                record["simultaneous_interval"] = {"low": bounds[0], "high": bounds[1], "confidence": level}
        if final != alone:
            from gatekit.sections.comparison import outcome_status

            severity = outcome.get("severity") or {}
            status, on_fail = outcome_status(final, severity, OnFail(outcome.get("on_fail", check.on_fail.value)))
            check.status, check.on_fail = status, on_fail
            outcome["result"] = final
            summary["changed"] += 1
        check.details["family"] = record
        check.message = _message(family, name, m, record, check.message, check.status, check.on_fail)
        records[i] = record
    for i, (where, check) in enumerate(members):
        entry: dict[str, Any] = {"rule": where, "check": check.name if check is not None else None,
                                 "section": check.section if check is not None else None,
                                 "status": check.status.value if check is not None else "missing"}
        if i in records:
            entry.update({k: v for k, v in records[i].items() if k not in ("name", "method", "size", "alpha")})
        else:
            entry.update({"p_harm": None, "p_harm_adjusted": None, "p_safe": None, "p_safe_adjusted": None,
                          "result_alone": None, "result": None, "decided_by_family": False,
                          "note": "no p-value (not computable, error or no interval): counted in the family's size, "
                                  "status kept"})
            if check is not None:
                check.details["family"] = {"name": family.name, "method": family.method, "size": m, "alpha": alpha,
                                           "p_harm": None, "p_harm_adjusted": None, "p_safe": None,
                                           "p_safe_adjusted": None, "result_alone": None, "result": None,
                                           "decided_by_family": False}
        summary["members"].append(entry)
    return summary


def _message(family: FamilySpec, name: str, m: int, rec: dict[str, Any], alone_message: str, status: Status,
             on_fail: OnFail) -> str:
    """Return the member's message: what the family decided, on which adjusted p-value, then the rule alone."""
    alpha = rec["alpha"]
    if m == 1:
        return (f"{alone_message} [family {family.name!r}: its only member, so tested alone (no adjustment); "
                f"p_harm {_fmt_p(rec['p_harm'])}, p_safe {_fmt_p(rec['p_safe'])}, alpha {alpha:.3g}]")
    figures = (f"p_harm {_fmt_p(rec['p_harm'])} -> {_fmt_p(rec['p_harm_adjusted'])}, p_safe {_fmt_p(rec['p_safe'])} "
               f"-> {_fmt_p(rec['p_safe_adjusted'])} (raw -> {name}-adjusted over {m} rules, alpha {alpha:.3g})")
    sim = rec.get("simultaneous_interval")
    sim_text = (f"; simultaneous {sim['confidence']:.2%} interval [{sim['low']:+.4g}, {sim['high']:+.4g}]"
                if sim else "")
    if rec["decided_by_family"]:
        effect = {Status.PASS: "counted as a pass by the policy", Status.FAIL: "it fails"}.get(
            status, f"a {on_fail.value} by the policy")
        return (f"{rec['result']} in family {family.name!r}, {effect} ({figures}{sim_text}): alone it was "
                f"{rec['result_alone']}, which the family does not confirm at its level. Alone: {alone_message}")
    return f"{alone_message} [family {family.name!r}: still {rec['result']}; {figures}{sim_text}]"


def apply_families(families: list[FamilySpec], metrics: list[Any], canary_rules: list[Any], registry: Any,
                   checks: list[CheckResult], evidence: dict[int, Any]) -> list[dict[str, Any]]:
    """Apply every family of a policy to a run's checks (in place); return the families' summaries.

    Parameters
    ----------
    families : list of FamilySpec
        The policy's ``families:``.
    metrics, canary_rules : list of MetricRule
        The policy's ``metrics:`` and ``canary.rules`` (the members are found among them).
    registry : MetricRegistry or None
        Resolves metric aliases of the families' filters.
    checks : list of CheckResult
        The run's checks; a member's check is the one whose ``details["rule"]`` names it.
    evidence : dict of int to Interval
        The run's intervals by ``id(check)``.

    Returns
    -------
    list of dict
        One :func:`adjust_family` summary per family, in policy order. A family step that raises turns its
        members' checks into ``error`` (fail closed) and its summary records the error.
    """
    by_rule: dict[str, CheckResult] = {}
    for c in checks:
        where = c.details.get("rule") if isinstance(c.details, dict) else None
        if isinstance(where, str):
            by_rule.setdefault(where, c)
    out = []
    for family in families:
        members = family_members(family, metrics, canary_rules, registry)
        if not members:  # the loader refuses this; a policy built in code may not have been loaded
            out.append({"name": family.name, "method": family.method, "size": 0, "members": [],
                        "error": "no member"})
            continue
        pairs = [(mem.where, by_rule.get(mem.where)) for mem in members]
        confidence, _ = family_alpha(members)
        try:
            out.append(adjust_family(family, confidence, pairs, evidence))
        except Exception as exc:  # noqa: BLE001 - a family that cannot be decided decides nothing as a pass
            msg = f"the family {family.name!r} could not be decided: {type(exc).__name__}: {exc}"
            for _, check in pairs:
                if check is not None:
                    check.status = Status.ERROR
                    check.message = f"{msg} (never counted as a pass). Alone: {check.message}"
            out.append({"name": family.name, "method": family.method, "size": len(pairs), "members": [],
                        "error": msg})
    return out


def run_families(ctx: Any, checks: list[CheckResult]) -> None:
    """Apply the policy's families to the run's checks; put the summaries in ``ctx.info["families"]``.

    Parameters
    ----------
    ctx : RunContext
        The run (policy, registry, ``evidence``, ``info``).
    checks : list of CheckResult
        Every check of the run (changed in place).
    """
    policy = ctx.policy.policy
    families = getattr(policy, "families", None) or []
    if not families:
        return
    canary = policy.canary.rules if policy.canary is not None else []
    ctx.info["families"] = apply_families(families, list(policy.metrics), list(canary), ctx.registry, checks,
                                          ctx.evidence)
