"""Markdown summary: a compact decision for a pull-request comment or GitHub's job summary.

GitHub renders HTML inside Markdown, so every value that comes from a policy or the data is escaped
(``<``, ``>``, ``&``, table pipes, backticks, line breaks): a column named ``<script>`` reads as text.
"""

from __future__ import annotations

from typing import Any

from gatekit.core.decision import effect
from gatekit.core.formatting import display_name, md_escape, observed_text, rule_text
from gatekit.core.results import Decision, GateReport
from gatekit.report.junit import is_pilot
from gatekit.report.plain import reason_sentence

_ICON = {"pass": "✅", "warn": "⚠️", "block": "⛔"}
MAX_ROWS = 50


def md_text(value: object) -> str:
    """Escape text for a Markdown table cell (GitHub-flavoured): :func:`gatekit.core.formatting.md_escape`."""
    return md_escape(value)


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
        (at most 50 rows) and, folded, every check.
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
    foot = [f"run {md_text(meta.get('run_id', ''))}"]
    foot += [f"{md_text(k)}: {md_text(v)}" for k, v in (links or {}).items()]
    lines.append(" · ".join(foot))
    return "\n".join(lines) + "\n"
