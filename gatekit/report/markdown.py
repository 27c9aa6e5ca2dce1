"""Markdown summary: a compact decision for a pull-request comment or GitHub's job summary.

GitHub renders HTML inside Markdown, so every value that comes from a policy or the data is escaped
(``<``, ``>``, ``&``, table pipes, backticks, line breaks): a column named ``<script>`` reads as text.
"""

from __future__ import annotations

from typing import Any

from gatekit.core.decision import effect
from gatekit.core.formatting import display_name, fmt, md_escape, observed_text, percent, rule_text
from gatekit.core.results import Decision, GateReport
from gatekit.report.junit import is_pilot
from gatekit.report.plain import reason_sentence

_ICON = {"pass": "✅", "warn": "⚠️", "block": "⛔"}
MAX_ROWS = 50


def md_text(value: object) -> str:
    """Escape text for a Markdown table cell (GitHub-flavoured): :func:`gatekit.core.formatting.md_escape`."""
    return md_escape(value)


MAX_SLICES = 20
"""Slices shown per slice rule (weakest first); the JSON report has them all."""


def slice_table(check: Any) -> list[str]:
    """Return a slice rule's slices as a folded Markdown table, weakest first (at most :data:`MAX_SLICES` rows).

    Parameters
    ----------
    check : CheckResult
        A check of the ``slices`` section (``details["slices"]``, ``details["whole"]``; see
        :mod:`gatekit.sections.slices`).

    Returns
    -------
    list of str
        Lines: a ``<details>`` block with the whole rows' row, one row per slice (rows, value, interval, gap from
        the whole for a ``max_drop`` rule, status) and a note on the interval's level.
    """
    d = check.details
    drop = d.get("form") == "max_drop"
    iv = d.get("intervals") or {}
    level = f"{percent(float(iv.get('confidence', 0.95)))} CI".replace("%", " %")

    def num(v: Any) -> str:
        return "—" if v is None else fmt(float(v))

    def pair(p: Any) -> str:
        return f"[{num(p[0])}, {num(p[1])}]" if p else "—"

    slices = d["slices"]
    icon = _ICON["pass"] if check.status.value == "pass" else _ICON["warn"]
    gap_head = f" worse than whole by ({level}) |" if drop else ""
    head = f"| slice | rows | {md_text(check.metric or 'value')} | {level} |{gap_head} status |"
    out = [f"<details><summary>{icon} {md_text(check.name)}: {len(slices)} slices, weakest first</summary>", "",
           head, "|---|---|---|---|" + ("---|" if drop else "") + "---|"]
    whole = d.get("whole") or {}
    out.append(f"| **whole** | {whole.get('rows', '')} | {num(whole.get('value'))} | {pair(whole.get('interval'))} |"
               + (" — |" if drop else "") + "  |")
    for sl in slices[:MAX_SLICES]:
        gi = f" {pair(sl['gap_interval'])}" if sl.get("gap_interval") else ""  # the interval a max_drop rule reads
        gap = f" {num(sl.get('gap'))}{gi} |" if drop else ""
        out.append(f"| {md_text(sl['slice'])} | {sl['rows']} | {num(sl.get('value'))} | {pair(sl.get('interval'))} |"
                   f"{gap} {md_text(_slice_status(sl))} |")
    if len(slices) > MAX_SLICES:
        out.append(f"\n{len(slices) - MAX_SLICES} more slices in the full report.")
    out += ["", f"Intervals: percentile bootstrap, {iv.get('resamples')} resamples, seed {iv.get('seed')}; "
            f"{'the rule decides on them' if d.get('decided_on') == 'interval' else 'shown only'}. Slices under "
            f"{d.get('min_rows')} rows are listed, not counted.", "", "</details>", ""]
    return out


def _slice_status(sl: dict[str, Any]) -> str:
    """Return a slice's status, with its outcome when its interval decided nothing (``pass (inconclusive)``)."""
    status, outcome = str(sl.get("status", "")), sl.get("outcome")
    if outcome in ("inconclusive", "insufficient_data") and outcome != status:
        return f"{status.replace('_', ' ')} ({str(outcome).replace('_', ' ')})"
    return status.replace("_", " ")


def render_markdown(report: GateReport, links: dict[str, str] | None = None) -> str:
    """Render the decision, the counts and the checks that did not pass as Markdown.

    Parameters
    ----------
    report : GateReport
        The run's report.
    links : dict of str to str, optional
        Report files to mention (label -> path or URL), e.g. ``{"HTML report": "reports/x/gate_report.html"}``.

    Returns
    -------
    str
        A heading with the decision, its reason in plain words (:func:`gatekit.report.plain.reason_sentence`), a
        counts line, a table of the checks that did not pass
        (at most 50 rows) and, folded, every check and the confusion matrix
        (:func:`gatekit.report.confusion.markdown_lines`).
    """
    meta = report.metadata
    pol = meta.get("policy", {})
    d = report.decision.value
    strict = bool(pol.get("strict", True))
    pilot = is_pilot(report)
    shown = "WOULD BLOCK (warn-only pilot, not enforced)" if pilot and d == "block" else d.upper()
    title = (f"{_ICON['warn' if pilot and d == 'block' else d]} gatekit: **{shown}**, policy "
             f"{md_text(pol.get('name', ''))} "
             f"version {md_text(pol.get('version'))}")
    lines = [f"### {title}", "", md_text(reason_sentence(report)), ""]
    if pilot and d == "block":
        lines += ["> Warn-only pilot: this decision is reported, not enforced (exit code 0).", ""]
    counts = ", ".join(f"{n} {s.replace('_', ' ')}" for s, n in report.counts().items() if n)
    lines += [f"{len(report.checks)} checks: {counts}.", ""]
    alerts = (meta.get("alerts") or {}).get("fired") or []
    for a in alerts:
        lines.append(f"> **Alert:** {md_text(a['name'])} failed in {md_text(a['failures'])} of the last "
                     f"{md_text(a['runs_considered'])} runs.")
    if alerts:
        lines.append("")
    bad = [c for c in report.checks if effect(c, strict) != Decision.PASS]
    header = ["| effect | section | check | status | observed | rule |", "|---|---|---|---|---|---|"]

    def row(c: Any) -> str:
        eff = effect(c, strict).value
        if pilot and eff == "block":
            eff = "would block"
        observed = observed_text(c, "n/a")
        name = display_name(c.name, c.details.get("params"))
        icon = _ICON.get(eff, _ICON["warn"])
        return (f"| {icon} {eff} | {md_text(c.section)} | {md_text(name)} | {c.status.value} | "
                f"{md_text(observed)} | {md_text(rule_text(c, interval=True))} |")

    if bad:
        lines += header + [row(c) for c in bad[:MAX_ROWS]]
        if len(bad) > MAX_ROWS:
            lines.append(f"\n{len(bad) - MAX_ROWS} more in the full report.")
        lines.append("")
        lines += ["<details><summary>Why each one did not pass</summary>", ""]
        lines += [f"- **{md_text(c.name)}**: {md_text(c.message)}" for c in bad[:MAX_ROWS]]
        lines += ["", "</details>", ""]
    lines += [f"<details><summary>All {len(report.checks)} checks</summary>", "", *header]
    lines += [row(c) for c in report.checks] + ["", "</details>", ""]
    for c in report.checks:
        if c.section == "slices" and c.details.get("slices"):
            lines += slice_table(c)
    from gatekit.report.confusion import markdown_lines

    lines += markdown_lines(meta, md_text)
    from gatekit.report.families import markdown_lines as family_lines

    lines += family_lines(meta, md_text)
    foot = [f"run {md_text(meta.get('run_id', ''))}"]
    foot += [f"{md_text(k)}: {md_text(v)}" for k, v in (links or {}).items()]
    lines.append(" · ".join(foot))
    return "\n".join(lines) + "\n"
