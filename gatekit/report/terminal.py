"""One-screen terminal summary (rich; plain text without colour when stdout is not a terminal)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from gatekit.core.formatting import display_name, observed_text, printable, rule_text
from gatekit.core.results import GateReport, Status
from gatekit.report.plain import reason_sentence

_STYLE = {"pass": "bold green", "warn": "bold yellow", "block": "bold red"}


MAX_TABLE_ROWS = 30


def print_summary(report: GateReport, written: dict[str, Path], console: Any, quiet: bool = False,
                  warn_only: bool = False) -> None:
    """Print the decision, its reason in plain words, the checks that did not pass and where the reports are.

    The reason is :func:`gatekit.report.plain.reason_sentence`, the sentence of the HTML banner and the Markdown.
    """
    from rich.table import Table
    from rich.text import Text

    d = report.decision.value
    head = Text(f"gatekit: {d.upper()}", style=_STYLE[d])
    head.append(f"  {printable(report.metadata.get('policy', {}).get('name', ''))}", style="")
    if warn_only and d == "block":
        head.append("  (warn-only pilot: would block, exit 0)", style="bold")
    elif report.metadata.get("enforcement") == "fail_on_warn" and d == "warn":
        head.append("  (--fail-on-warn: exit 1)", style="bold")
    console.print(head)
    console.print(Text(printable(reason_sentence(report))))
    alerts = report.metadata.get("alerts") or {}
    for a in alerts.get("fired", []):  # repeated failures are shown even with --quiet
        from gatekit.core.formatting import alert_text

        delivered = a.get("delivered")
        where = "webhook: " + (f"delivered ({a['delivery']})" if delivered else str(a.get("delivery"))
                               if delivered is None else f"NOT delivered: {a['delivery']}")
        console.print(Text(printable(f"ALERT: {alert_text(a)} [{where}]"), style="bold red"))
    if alerts.get("error"):
        console.print(Text(printable(f"alerts: {alerts['error']}"), style="yellow"))
    hist = report.metadata.get("history") or {}
    if hist.get("error") and hist.get("error") != "history is off":  # shown with --quiet too: a gap in history
        console.print(Text(printable(f"NOT recorded in history: {hist['error']}"), style="yellow"))
    if quiet:
        return
    counts = ", ".join(f"{n} {s.replace('_', ' ')}" for s, n in report.counts().items() if n)
    console.print(Text(f"{len(report.checks)} check{'s' if len(report.checks) != 1 else ''}: {counts}"))
    custom = (report.metadata.get("sections") or {}).get("data_quality", {}).get("custom_expectations") or {}
    if custom.get("loaded") or custom.get("errors"):
        names = ", ".join(e["name"] for e in custom.get("loaded", [])) or "none"
        bad = f"; {len(custom['errors'])} file(s) failed to load" if custom.get("errors") else ""
        console.print(Text(printable(f"custom expectations from {custom.get('folder')}: {names}{bad}")))
    table = Table(show_header=True, header_style="bold", box=None, pad_edge=False)
    for col in ("section", "check", "status", "on fail", "observed", "rule"):
        table.add_column(col, overflow="fold")
    # one screen: a long run lists the checks that did not pass; the reports hold every check
    shown = report.checks if len(report.checks) <= MAX_TABLE_ROWS else \
        [c for c in report.checks if c.status != Status.PASS]
    for c in shown:
        rule = rule_text(c, interval=True)
        style = "green" if c.status == Status.PASS else ("red" if c.on_fail.value == "block" else "yellow")
        # every cell is a Text: names and expressions come from the user and must never be read as rich markup
        table.add_row(Text(c.section), Text(printable(display_name(c.name, c.details.get("params")))),
                      Text(c.status.value, style=style), Text(c.on_fail.value),
                      Text(observed_text(c)), Text(printable(rule)))
    if shown:
        console.print(table)
    if len(shown) < len(report.checks):
        console.print(Text(f"({len(report.checks) - len(shown)} passing checks not listed; the reports have them "
                           "all)"))
    for c in report.checks:
        if c.status != Status.PASS:
            console.print(Text(printable(f"  - {c.name}: {c.message}")))
    if hist.get("recorded"):
        console.print(Text(printable(f"recorded in history: {hist.get('store')}")))
    logged = report.metadata.get("mlflow") or {}
    if logged.get("logged"):  # a failure is the CLI's error on stderr
        console.print(Text(printable(f"logged to MLflow run {logged.get('run_id')} ({logged.get('tracking_uri')})")))
    for kind, path in written.items():
        label = f"{kind} report" if kind in ("json", "html", "junit", "markdown") else "attached"
        console.print(Text(printable(f"{label}: {path}")))
