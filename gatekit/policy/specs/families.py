"""The ``families:`` key: confidence rules tested together, with a multiplicity adjustment.

A policy of many confidence rules at 95 % errs somewhere far more often than 5 % of the time: with 30
independent rules that are all truly fine, ``1 - 0.95 ** 30``, about 79 %, of runs fail at least one. A
family groups such rules and decides them together at the family's level (Holm, Bonferroni, Šidák: the
family-wise error rate; Benjamini-Hochberg: the false discovery rate, for screening). The statistics are
:mod:`gatekit.stats.multiplicity`; the step that applies them to a run's checks is
:mod:`gatekit.sections.families`.

:class:`FamilySpec` is one family; :func:`family_members` says which rules it holds and
:func:`check_families` is the load-time check (a family with no member, members of different confidence, a
rule in two families, a metric filter that names no confidence rule).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

from pydantic import Field, ValidationInfo, field_validator
from pydantic_core import PydanticCustomError

from gatekit.policy.specs.common import OnFailField, Spec, unknown_metric
from gatekit.policy.specs.metrics import MetricRule

FamilyMethod = Literal["holm", "bonferroni", "sidak", "benjamini_hochberg"]

STATS_METHOD = {"holm": "holm", "bonferroni": "bonferroni", "sidak": "sidak", "benjamini_hochberg": "bh"}
"""Policy method -> the method name of :func:`gatekit.stats.multiplicity.adjust_p_values`."""

METHOD_TEXT = {
    "holm": "Holm's step-down (family-wise error rate, any dependence)",
    "bonferroni": "Bonferroni (family-wise error rate, any dependence)",
    "sidak": "Šidák (family-wise error rate, independent rules)",
    "benjamini_hochberg": "Benjamini-Hochberg (false discovery rate, for screening)",
}
"""What each method controls, as the report says it."""


class FamilySpec(Spec):
    """A family of confidence rules decided together, with a multiplicity adjustment.

    Members are every rule with ``confidence`` in ``metrics:`` and ``canary.rules`` that matches all of the
    filters given (no filter: all of them). Each member is a one-sided test at the family's level
    ``alpha = (1 - confidence) / 2``; the members' p-values are adjusted together and each rule's outcome
    (proven, disproven, inconclusive) is read from its adjusted p-value.

    Parameters
    ----------
    name : str
        The family's name (unique in the policy), shown in the report.
    method : {"holm", "bonferroni", "sidak", "benjamini_hochberg"}
        ``holm``: Holm's step-down (family-wise error rate under any dependence; rejects all that Bonferroni
        does); ``bonferroni``: ``m p`` (any dependence; the report adds each rule's simultaneous interval);
        ``sidak``: ``1 - (1 - p)^m`` (independent rules); ``benjamini_hochberg``: the false discovery rate,
        for screening many rules, not for blocking. Default ``holm``.
    section : {"metrics", "canary"}, optional
        Only rules of this policy section.
    metrics : list of str, optional
        Only rules on these metrics, as the rules write them (aliases resolved: ``auc`` finds ``auc_roc``).
    on_fail : {"block", "warn"}, optional
        Only rules of this severity.
    description : str, optional
        Why the family exists; shown in the report.
    """

    name: str = Field(min_length=1)
    method: FamilyMethod = "holm"
    section: Literal["metrics", "canary"] | None = None
    metrics: list[str] | None = Field(default=None, min_length=1)
    on_fail: OnFailField | None = None
    description: str | None = None

    @field_validator("metrics")
    @classmethod
    def _known(cls, v: list[str] | None, info: ValidationInfo) -> list[str] | None:
        registry = (info.context or {}).get("registry")
        for name in v or []:
            if registry is not None and registry.resolve(name) is None:
                raise unknown_metric(registry, name, " in the family's metrics filter")
        return v

    def filters_text(self) -> str:
        """Return the family's filters in words (``section metrics, on_fail block``), or ``no filter``."""
        parts = [f"section {self.section}"] if self.section else []
        if self.metrics:
            parts.append(f"metrics {', '.join(self.metrics)}")
        if self.on_fail is not None:
            parts.append(f"on_fail {self.on_fail.value}")
        return ", ".join(parts) or "no filter"


@dataclass(frozen=True)
class Member:
    """One rule of a family.

    Parameters
    ----------
    where : str
        The rule's place in the policy, as its check records it (``details["rule"]``): ``metrics[3]`` or
        ``canary.rules[0]``.
    rule : MetricRule
        The rule.
    """

    where: str
    rule: MetricRule


def _canonical(registry: Any, name: str) -> str:
    res = registry.resolve(name) if registry is not None else None
    return res.canonical if res is not None else name


def confidence_rules(metrics: Sequence[MetricRule], canary_rules: Sequence[MetricRule]) -> list[tuple[str, Member]]:
    """Return every rule with ``confidence`` as ``(section key, member)``, ``metrics:`` first, in policy order."""
    out = [("metrics", Member(f"metrics[{i}]", r)) for i, r in enumerate(metrics) if r.confidence is not None]
    out += [("canary", Member(f"canary.rules[{i}]", r)) for i, r in enumerate(canary_rules)
            if r.confidence is not None]
    return out


def family_members(family: FamilySpec, metrics: Sequence[MetricRule], canary_rules: Sequence[MetricRule],
                   registry: Any = None, *, ignore_metrics: bool = False) -> list[Member]:
    """Return the rules a family holds, in policy order (``metrics:`` first).

    Parameters
    ----------
    family : FamilySpec
        The family.
    metrics, canary_rules : sequence of MetricRule
        The policy's ``metrics:`` and ``canary.rules``.
    registry : MetricRegistry, optional
        Resolves aliases in the ``metrics`` filter and the rules' names (without it, names are compared as
        written).
    ignore_metrics : bool
        Leave the ``metrics`` filter out (to tell which of its names matches nothing).

    Returns
    -------
    list of Member
    """
    wanted = None if family.metrics is None or ignore_metrics else {_canonical(registry, n) for n in family.metrics}
    return [m for section, m in confidence_rules(metrics, canary_rules)
            if (family.section is None or family.section == section)
            and (family.on_fail is None or m.rule.on_fail == family.on_fail)
            and (wanted is None or _canonical(registry, m.rule.name) in wanted)]


def _scope(family: FamilySpec) -> str:
    """Where a family looks for rules, in words (its section and severity filters)."""
    parts = [f"in {family.section}:" if family.section else "in metrics: or canary:"]
    if family.on_fail is not None:
        parts.append(f"with on_fail {family.on_fail.value}")
    return " " + " ".join(parts)


def _err(msg: str, **kw: Any) -> PydanticCustomError:
    return PydanticCustomError("families", msg, {k: str(v) for k, v in kw.items()})


def check_families(families: list[FamilySpec], metrics: Sequence[MetricRule], canary_rules: Sequence[MetricRule],
                   registry: Any = None, canary_sequential: bool = False) -> list[FamilySpec]:
    """Check the families against the policy's rules (the load-time checks).

    Parameters
    ----------
    families : list of FamilySpec
        ``families:`` as validated.
    metrics, canary_rules : sequence of MetricRule
        The policy's ``metrics:`` and ``canary.rules``.
    registry : MetricRegistry, optional
        Resolves metric aliases.
    canary_sequential : bool
        The canary is ``canary.sequential`` (its rules are decided on confidence sequences).

    Returns
    -------
    list of FamilySpec
        ``families`` unchanged.

    Raises
    ------
    pydantic_core.PydanticCustomError
        Two families with one name; a ``metrics`` filter naming a metric no rule of the family's section and
        severity with ``confidence`` uses; a family with no member; members of different ``confidence`` (the
        family is tested at one level); a rule in two families; a member decided on a confidence sequence
        (``interval: sequential``, or a rule of a ``canary.sequential`` canary), which has no p-value to adjust.
        Each message names the family and what to do.
    """
    seen: dict[str, int] = {}
    owner: dict[str, str] = {}
    for i, fam in enumerate(families):
        label = f"families[{i}] {fam.name!r}"
        if fam.name in seen:
            raise _err("{label}: the name is used by families[{j}] too; give each family its own name",
                       label=label, j=seen[fam.name])
        seen[fam.name] = i
        candidates = family_members(fam, metrics, canary_rules, registry, ignore_metrics=True)
        used = {_canonical(registry, m.rule.name) for m in candidates}
        for name in fam.metrics or []:
            if _canonical(registry, name) not in used:
                raise _err("{label}: its metrics filter names {name}, but no rule with confidence{scope} uses "
                           "that metric; add confidence: to the rule you meant, or remove the name from the filter",
                           label=label, name=repr(name), scope=_scope(fam))
        members = family_members(fam, metrics, canary_rules, registry)
        if not members:
            raise _err("{label} has no member: no rule with confidence in metrics: or canary: matches its filters "
                       "({filters}); add confidence: to the rules it should hold, or loosen its filters",
                       label=label, filters=fam.filters_text())
        sequential = [m for m in members if m.rule.interval == "sequential"
                      or (canary_sequential and m.where.startswith("canary."))]
        if sequential:
            found = ", ".join(f"{m.where} ({m.rule.name})" for m in sequential)
            raise _err("{label} holds {found}, decided on an anytime-valid confidence sequence, which has no p-value a "
                       "family could adjust (its sequence is valid at every look on its own); narrow the family's "
                       "filters (section: metrics, metrics: [...]) so it holds no sequential rule",
                       label=label, found=found)
        levels = sorted({m.rule.confidence for m in members if m.rule.confidence is not None})
        if len(levels) > 1:
            found = "; ".join(f"{m.where} {m.rule.name}: {m.rule.confidence}" for m in members)
            raise _err("{label}: its members have different confidence ({found}); a family is tested at one level "
                       "alpha = (1 - confidence) / 2, so give them the same confidence or split the family",
                       label=label, found=found)
        for m in members:
            if m.where in owner:
                raise _err("{label}: {where} ({name}) is in family {other} too; a rule belongs to at most one family, "
                           "so narrow a filter (section, metrics, on_fail)", label=label, where=m.where,
                           name=m.rule.name, other=repr(owner[m.where]))
            owner[m.where] = fam.name
    return families


def family_alpha(members: Sequence[Member]) -> tuple[float, float]:
    """Return the family's ``(confidence, alpha)``: its members' one confidence and ``(1 - confidence) / 2``."""
    confidence = members[0].rule.confidence
    assert confidence is not None
    return float(confidence), (1.0 - float(confidence)) / 2.0


__all__ = ["METHOD_TEXT", "STATS_METHOD", "FamilyMethod", "FamilySpec", "Member", "check_families",
           "confidence_rules", "family_alpha", "family_members"]
