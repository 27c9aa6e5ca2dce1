"""A readable changelog between two versions of a policy: added, removed, tightened, loosened rules.

Rules are matched by identity, not by position: a metric rule by its metric (canonical name), form
(operator or baseline-relative key), parameters and confidence settings; a gate by its name. A matched
pair whose limit moved is *tightened* when fewer values pass (a higher bound for ``>=``/``>``, a lower
one for ``<=``/``<`` and for every ``max_*``/``within`` limit) and *loosened* otherwise; a severity
change ``warn`` -> ``block`` is an escalation. Everything else in the policy (sections, inputs) is
compared key by key and listed as a change with its old and new value.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from gatekit.policy.loader import LoadedPolicy


@dataclass
class PolicyDiff:
    """The changes from one policy to another."""

    old: str
    new: str
    added: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    tightened: list[str] = field(default_factory=list)
    loosened: list[str] = field(default_factory=list)
    severity: list[str] = field(default_factory=list)
    other: list[str] = field(default_factory=list)
    same_version: bool = False

    def empty(self) -> bool:
        """Return True when nothing changed."""
        return not (self.added or self.removed or self.tightened or self.loosened or self.severity or self.other)

    def to_markdown(self) -> str:
        """Return the changelog as Markdown (a pull-request description)."""
        lines = [f"## Policy changes: {self.old} → {self.new}", ""]
        if self.empty():
            return "\n".join([*lines, "No rule changed.", ""])
        for title, items in (("Added", self.added), ("Removed", self.removed), ("Tightened", self.tightened),
                             ("Loosened", self.loosened), ("Severity", self.severity),
                             ("Other changes", self.other)):
            if items:
                lines += [f"### {title} ({len(items)})", "", *[f"- {x}" for x in items], ""]
        if self.same_version:
            lines += ["> **Note:** the rules changed but `version:` did not: bump it, so that reports and the run "
                      "history tell the two policies apart.", ""]
        return "\n".join(lines)

    def to_dict(self) -> dict[str, Any]:
        """Return the changes as a JSON-serialisable mapping."""
        return {k: getattr(self, k) for k in ("old", "new", "added", "removed", "tightened", "loosened",
                                              "severity", "other", "same_version")}


def _metric_rules(lp: LoadedPolicy) -> dict[tuple[Any, ...], Any]:
    out = {}
    for i, r in enumerate(lp.policy.metrics):
        res = lp.resolved[i]
        params = tuple(sorted((k, repr(v)) for k, v in {**res.name_params, **lp.params.get(i, {})}.items()))
        key = (res.canonical, r.form, params, r.confidence, r.guardband, r.interval)
        out[key] = r
    return out


def _limit(rule: Any) -> float:
    rel = rule.relative
    return rel[1] if rel else rule.value


def _text(rule: Any) -> str:
    rel = rule.relative
    shown = f"{rule.name} {rel[0]}: {rel[1]:g}" if rel else f"{rule.name} {rule.op} {rule.value:g}"
    if rule.params:
        shown += f" {rule.params}"
    if rule.confidence is not None:
        shown += f" (confidence {rule.confidence:g}{', ' + rule.guardband if rule.guardband else ''})"
    return f"`{shown}` ({rule.on_fail.value})"


def _tighter(rule: Any, old: float, new: float) -> bool:
    """Return True when ``new`` lets fewer values pass than ``old`` for this rule's form."""
    if rule.relative is None and rule.op in (">=", ">"):
        return new > old
    return new < old  # <=, <, max_*, within: a smaller limit is stricter


def _flatten(obj: Any, prefix: str = "") -> dict[str, Any]:
    if isinstance(obj, dict):
        out: dict[str, Any] = {}
        for k, v in obj.items():
            out.update(_flatten(v, f"{prefix}.{k}" if prefix else str(k)))
        return out
    return {prefix: obj}


def diff(old: LoadedPolicy, new: LoadedPolicy) -> PolicyDiff:
    """Compare two loaded policies.

    Parameters
    ----------
    old, new : LoadedPolicy
        The two versions.

    Returns
    -------
    PolicyDiff
    """
    d = PolicyDiff(f"{old.name} v{old.policy.version}", f"{new.name} v{new.policy.version}")
    a, b = _metric_rules(old), _metric_rules(new)
    for key in a.keys() - b.keys():
        d.removed.append(_text(a[key]))
    for key in b.keys() - a.keys():
        d.added.append(_text(b[key]))
    for key in sorted(a.keys() & b.keys(), key=str):
        ra, rb = a[key], b[key]
        la, lb = _limit(ra), _limit(rb)
        if la != lb:
            bucket = d.tightened if _tighter(rb, la, lb) else d.loosened
            form = rb.relative[0] if rb.relative else rb.op
            bucket.append(f"`{rb.name}` {form} {la:g} → {lb:g}")
        if ra.on_fail != rb.on_fail:
            verb = "escalated" if rb.on_fail.value == "block" else "relaxed"
            d.severity.append(f"{_text(rb)}: {ra.on_fail.value} → {rb.on_fail.value} ({verb})")
    ga = {g.gate: g for g in old.policy.gates}
    gb = {g.gate: g for g in new.policy.gates}
    d.removed += [f"gate `{n}`: `{ga[n].require}` ({ga[n].on_fail.value})" for n in sorted(ga.keys() - gb.keys())]
    d.added += [f"gate `{n}`: `{gb[n].require}` ({gb[n].on_fail.value})" for n in sorted(gb.keys() - ga.keys())]
    for n in sorted(ga.keys() & gb.keys()):
        if ga[n].require != gb[n].require:
            d.other.append(f"gate `{n}`: `{ga[n].require}` → `{gb[n].require}`")
        if ga[n].on_fail != gb[n].on_fail:
            verb = "escalated" if gb[n].on_fail.value == "block" else "relaxed"
            d.severity.append(f"gate `{n}`: {ga[n].on_fail.value} → {gb[n].on_fail.value} ({verb})")
    skip = {"metrics", "gates", "version", "name", "description"}
    fa = _flatten({k: v for k, v in old.policy.model_dump(mode="json", exclude_none=True).items() if k not in skip})
    fb = _flatten({k: v for k, v in new.policy.model_dump(mode="json", exclude_none=True).items() if k not in skip})
    for setting in sorted(fa.keys() | fb.keys()):  # dotted setting paths (``key`` above is a rule's identity)
        if fa.get(setting) != fb.get(setting):
            if setting not in fa:
                d.added.append(f"`{setting}`: {fb[setting]!r}")
            elif setting not in fb:
                d.removed.append(f"`{setting}`: {fa[setting]!r}")
            elif setting.endswith("on_fail"):
                verb = "escalated" if fb[setting] == "block" else "relaxed"
                d.severity.append(f"`{setting}`: {fa[setting]} → {fb[setting]} ({verb})")
            else:
                d.other.append(f"`{setting}`: {fa[setting]!r} → {fb[setting]!r}")
    for bucket in (d.added, d.removed, d.tightened, d.loosened, d.severity):
        bucket.sort()
    d.same_version = not d.empty() and str(old.policy.version) == str(new.policy.version)
    return d
