"""A readable changelog between two versions of a policy: added, removed, tightened, loosened rules.

Rules are matched by identity, not by position: a metric rule by its metric (canonical name), form
(operator or baseline-relative key), parameters and confidence settings; a gate by its name. A matched
pair whose limit moved is *tightened* when fewer values pass (a higher bound for ``>=``/``>``, a lower
one for ``<=``/``<`` and for every ``max_*``/``within`` limit) and *loosened* otherwise; a severity
change ``warn`` -> ``block`` is an escalation. Everything else in the policy (sections, inputs) is
compared key by key and listed as a change with its old and new value.

Every name, key, value and gate expression comes from the user's policy files: in the Markdown it is
written as a code span fenced longer than any backtick run inside it, on one line with control
characters escaped, so a name holding ``<!--``, raw HTML, a backtick, a newline, link syntax or an
``@mention`` reads as text and cannot hide the sections that follow (a loosened limit stays visible).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from gatekit.core.formatting import md_escape, printable
from gatekit.policy.loader import LoadedPolicy


class _Code:
    """A user value shown as code: `` `value` `` in the plain text, a safely fenced code span in Markdown."""

    def __init__(self, value: object) -> None:
        self.value = str(value)


class _Text:
    """A user value shown as text: as it is in the plain text, escaped (``md_escape``) in Markdown."""

    def __init__(self, value: object) -> None:
        self.value = str(value)


class Entry(str):
    """One line of the changelog: its plain text (``str``, also the JSON) and ``md``, its Markdown.

    The plain text is what the JSON output holds (user values as they are, between backticks); ``md`` has
    every user value escaped (:func:`md_code`, :func:`gatekit.core.formatting.md_escape`).
    """

    md: str

    def __new__(cls, *parts: str | _Code | _Text) -> Entry:
        """Join ``parts``: literal text written by this module, :class:`_Code` and :class:`_Text` user values."""
        plain = "".join(f"`{p.value}`" if isinstance(p, _Code) else p.value if isinstance(p, _Text) else p
                        for p in parts)
        entry = super().__new__(cls, plain)
        entry.md = "".join(md_code(p.value) if isinstance(p, _Code) else md_escape(p.value) if isinstance(p, _Text)
                           else p for p in parts)
        return entry


def md_code(value: object) -> str:
    """Return ``value`` as a Markdown code span that shows it literally, on one line.

    Control characters (newlines too) are escaped (:func:`gatekit.core.formatting.printable`); the fence
    is one backtick longer than the longest backtick run inside, padded with a space when the value
    starts or ends with a backtick. Inside a code span CommonMark and GitHub read no HTML (``<!--``
    included), emphasis, link or mention.

    Parameters
    ----------
    value : object
        A name, key, value or expression from a policy.

    Returns
    -------
    str
        The code span.
    """
    s = printable(value)
    if not s.strip():
        return md_escape(repr(s))  # a code span of only spaces is not one: show the quoted value as text
    fence = "`" * (max((len(run) for run in re.findall(r"`+", s)), default=0) + 1)
    pad = " " if s[0] == "`" or s[-1] == "`" or (s[0] == " " and s[-1] == " ") else ""
    return f"{fence}{pad}{s}{pad}{fence}"


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
        """Return the changelog as Markdown (a pull-request description); every user value is escaped."""
        lines = [f"## Policy changes: {md_escape(self.old)} → {md_escape(self.new)}", ""]
        if self.empty():
            return "\n".join([*lines, "No rule changed.", ""])
        for title, items in (("Added", self.added), ("Removed", self.removed), ("Tightened", self.tightened),
                             ("Loosened", self.loosened), ("Severity", self.severity),
                             ("Other changes", self.other)):
            if items:
                lines += [f"### {title} ({len(items)})", "", *[f"- {_md(x)}" for x in items], ""]
        if self.same_version:
            lines += ["> **Note:** the rules changed but `version:` did not: bump it, so that reports and the run "
                      "history tell the two policies apart.", ""]
        return "\n".join(lines)

    def to_dict(self) -> dict[str, Any]:
        """Return the changes as a JSON-serialisable mapping."""
        return {k: getattr(self, k) for k in ("old", "new", "added", "removed", "tightened", "loosened",
                                              "severity", "other", "same_version")}


def _md(item: str) -> str:
    """Return an entry's Markdown (an entry built elsewhere, a plain ``str``, is escaped whole)."""
    return item.md if isinstance(item, Entry) else md_escape(item)


def _metric_rules(lp: LoadedPolicy) -> dict[tuple[Any, ...], Any]:
    out = {}
    for i, r in enumerate(lp.policy.metrics):
        res = lp.resolved[i]
        params = tuple(sorted((k, repr(v)) for k, v in {**res.name_params, **lp.params.get(i, {})}.items()))
        key = (res.canonical, r.form, params, r.confidence, r.guardband, r.mode, r.interval)
        out[key] = r
    return out


_RANK = {"pass": 0, "warn": 1, "block": 2}
"""Severities of an undecided interval, from the least strict."""


def _limit(rule: Any) -> float:
    rel = rule.relative
    return rel[1] if rel else rule.value


def _shown(rule: Any) -> str:
    rel = rule.relative
    shown = f"{rule.name} {rel[0]}: {rel[1]:g}" if rel else f"{rule.name} {rule.op} {rule.value:g}"
    if rule.params:
        shown += f" {rule.params}"
    if rule.confidence is not None:
        framing = rule.mode or rule.guardband
        shown += f" (confidence {rule.confidence:g}{', ' + framing if framing else ''})"
    return shown


def _text(rule: Any) -> Entry:
    return Entry(_Code(_shown(rule)), " (", _Text(rule.on_fail.value), ")")


def _tighter(rule: Any, old: float, new: float) -> bool:
    """Return True when ``new`` lets fewer values pass than ``old`` for this rule's form."""
    if rule.relative is None and rule.op in (">=", ">"):
        return new > old
    if rule.relative is not None and rule.relative[0].startswith("min_"):
        return new > old  # min_increase / min_decrease: a larger required gain is stricter
    return new < old  # <=, <, max_*, within: a smaller limit is stricter


def _flatten(obj: Any, prefix: str = "") -> dict[str, Any]:
    if isinstance(obj, dict):
        out: dict[str, Any] = {}
        for k, v in obj.items():
            out.update(_flatten(v, f"{prefix}.{k}" if prefix else str(k)))
        return out
    return {prefix: obj}


def _undecided_costs(d: PolicyDiff, ra: Any, rb: Any, *who: str | _Code) -> None:
    """Add what an undecided interval costs, where it changed, to ``d.severity`` (metric and slice rules alike).

    Parameters
    ----------
    d : PolicyDiff
        The diff being built.
    ra, rb : MetricRule or SliceRule
        The old and the new rule (``confidence``, ``on_fail`` and ``severities()``); nothing when either rule has
        no ``confidence``.
    *who
        How the entry names the rule.
    """
    if ra.confidence is None or rb.confidence is None:
        return
    sa, sb = ra.severities(), rb.severities()
    for outcome in ("inconclusive", "insufficient_data"):
        if sa[outcome] != sb[outcome]:
            verb = "escalated" if _RANK[sb[outcome]] > _RANK[sa[outcome]] else "relaxed"
            d.severity.append(Entry(*who, f" ({rb.on_fail.value}): {outcome.replace('_', ' ')} {sa[outcome]} → "
                                    f"{sb[outcome]} ({verb})"))


def _slice_rules(d: PolicyDiff, old: list[Any], new: list[Any]) -> None:
    """Add the changes of the ``slices:`` rules, matched by their check name, to ``d``.

    A limit is tightened or loosened by its direction (``max_drop`` and ``<=`` / ``<``: smaller is tighter;
    ``>=`` / ``>``: larger is tighter); ``on_fail``, the severities of the undecided outcomes (with ``confidence``)
    and ``multiplicity`` are severity changes (an adjustment over the slices blocks less: relaxed); any other key
    is listed under other changes.
    """
    a = {r.check_name: r for r in old}
    b = {r.check_name: r for r in new}
    for name in sorted(a.keys() - b.keys()):
        d.removed.append(Entry("slices ", _Code(name)))
    for name in sorted(b.keys() - a.keys()):
        d.added.append(Entry("slices ", _Code(name)))
    for name in sorted(a.keys() & b.keys()):
        ra, rb = a[name], b[name]
        da, db = ra.model_dump(mode="json", exclude_none=True), rb.model_dump(mode="json", exclude_none=True)
        handled = {"max_drop", "value", "on_fail", "inconclusive", "insufficient_data", "multiplicity"}
        form_a = "max_drop" if ra.max_drop is not None else ra.op
        form_b = "max_drop" if rb.max_drop is not None else rb.op
        la = ra.max_drop if ra.max_drop is not None else ra.value
        lb = rb.max_drop if rb.max_drop is not None else rb.value
        if form_a == form_b and la != lb and la is not None and lb is not None:
            tighter = lb > la if form_b in (">=", ">") else lb < la
            (d.tightened if tighter else d.loosened).append(
                Entry("slices ", _Code(name), " ", _Text(str(form_b)), f" {la:g} → {lb:g}"))
        elif form_a != form_b and la == lb and {form_a, form_b} in ({">", ">="}, {"<", "<="}):
            # the same limit, made strict or not: ">=" -> ">" (or "<=" -> "<") shuts out the limit itself
            tighter = form_b in (">", "<")
            (d.tightened if tighter else d.loosened).append(
                Entry("slices ", _Code(name), f" {form_a} {la:g} → {form_b} {lb:g}"))
            handled.add("op")
        elif form_a != form_b:
            handled.discard("max_drop")
            handled.discard("value")
        if ra.on_fail != rb.on_fail:
            verb = "escalated" if rb.on_fail.value == "block" else "relaxed"
            d.severity.append(Entry("slices ", _Code(name), f": {ra.on_fail.value} → {rb.on_fail.value} ({verb})"))
        _undecided_costs(d, ra, rb, "slices ", _Code(name))
        ma, mb = ra.multiplicity or "none", rb.multiplicity or "none"
        if ma != mb:  # none blocks most, then holm (it rejects whatever Bonferroni does, and more), bonferroni least
            rank = {"none": 2, "holm": 1, "bonferroni": 0}
            verb = "escalated" if rank[mb] > rank[ma] else "relaxed"
            d.severity.append(Entry("slices ", _Code(name), f": multiplicity {ma} → {mb} ({verb})"))
        for key in sorted((da.keys() | db.keys()) - handled):
            if da.get(key) != db.get(key):
                d.other.append(Entry("slices ", _Code(name), " ", _Code(key), ": ", _Text(repr(da.get(key))),
                                     " → ", _Text(repr(db.get(key)))))


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
            bucket.append(Entry(_Code(rb.name), " ", _Text(form), f" {la:g} → {lb:g}"))
        if ra.on_fail != rb.on_fail:
            verb = "escalated" if rb.on_fail.value == "block" else "relaxed"
            d.severity.append(Entry(_Code(_shown(rb)), f" ({rb.on_fail.value}): {ra.on_fail.value} → "
                                    f"{rb.on_fail.value} ({verb})"))
        _undecided_costs(d, ra, rb, _Code(_shown(rb)))
    _slice_rules(d, old.policy.slices, new.policy.slices)
    ga = {g.gate: g for g in old.policy.gates}
    gb = {g.gate: g for g in new.policy.gates}
    d.removed += [Entry("gate ", _Code(n), ": ", _Code(ga[n].require), f" ({ga[n].on_fail.value})")
                  for n in sorted(ga.keys() - gb.keys())]
    d.added += [Entry("gate ", _Code(n), ": ", _Code(gb[n].require), f" ({gb[n].on_fail.value})")
                for n in sorted(gb.keys() - ga.keys())]
    for n in sorted(ga.keys() & gb.keys()):
        if ga[n].require != gb[n].require:
            d.other.append(Entry("gate ", _Code(n), ": ", _Code(ga[n].require), " → ", _Code(gb[n].require)))
        if ga[n].on_fail != gb[n].on_fail:
            verb = "escalated" if gb[n].on_fail.value == "block" else "relaxed"
            d.severity.append(Entry("gate ", _Code(n), f": {ga[n].on_fail.value} → {gb[n].on_fail.value} ({verb})"))
    skip = {"metrics", "gates", "slices", "version", "name", "description"}
    fa = _flatten({k: v for k, v in old.policy.model_dump(mode="json", exclude_none=True).items() if k not in skip})
    fb = _flatten({k: v for k, v in new.policy.model_dump(mode="json", exclude_none=True).items() if k not in skip})
    for setting in sorted(fa.keys() | fb.keys()):  # dotted setting paths (``key`` above is a rule's identity)
        if fa.get(setting) != fb.get(setting):
            if setting not in fa:
                d.added.append(Entry(_Code(setting), ": ", _Text(repr(fb[setting]))))
            elif setting not in fb:
                d.removed.append(Entry(_Code(setting), ": ", _Text(repr(fa[setting]))))
            elif setting.endswith("on_fail"):
                verb = "escalated" if fb[setting] == "block" else "relaxed"
                d.severity.append(Entry(_Code(setting), ": ", _Text(fa[setting]), " → ", _Text(fb[setting]),
                                        f" ({verb})"))
            else:
                d.other.append(Entry(_Code(setting), ": ", _Text(repr(fa[setting])), " → ",
                                     _Text(repr(fb[setting]))))
    for bucket in (d.added, d.removed, d.tightened, d.loosened, d.severity):
        bucket.sort()
    d.same_version = not d.empty() and str(old.policy.version) == str(new.policy.version)
    return d
