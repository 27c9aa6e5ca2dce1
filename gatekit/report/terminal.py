"""One-screen terminal summary (rich; plain text without colour when stdout is not a terminal)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from gatekit.core.decision import fmt
from gatekit.core.results import GateReport, Status

_STYLE = {"pass": "bold green", "warn": "bold yellow", "block": "bold red"}
_CONTROL = {i: f"\\x{i:02x}" for i in [*range(0x00, 0x20), 0x7F, *range(0x80, 0xA0)]}
# bidirectional overrides and isolates reorder the rest of the line (a column name could read reversed)
_CONTROL.update({i: f"\\u{i:04x}" for i in [0x061C, 0x200E, 0x200F, *range(0x202A, 0x202F), *range(0x2066, 0x206A)]})


MAX_TABLE_ROWS = 30


def printable(text: object) -> str:
    """Return ``text`` safe for a terminal.

    Control characters (ANSI escapes included), bidirectional overrides and lone surrogates are shown
    as escapes, so data can never move the cursor, reorder a line or forge a log line.
    """
    s = str(text).translate(_CONTROL)
    return s.encode("utf-8", "backslashreplace").decode("utf-8")


def display_name(name: str, params: dict[str, Any] | None) -> str:
    """``smape`` with ``{variant: "0-100"}`` -> ``smape[variant=0-100]``, so two rules on one metric differ."""
    if not params:
        return name
    return f"{name}[{', '.join(f'{k}={v}' for k, v in params.items())}]"


def unit_suffix(c: Any) -> str:
    """Return the unit shown after a check's figures: `` %`` or `` ms`` (a relative change is in %), else ``""``."""
    if (c.details.get("comparison") or {}).get("statistic") == "relative_change_pct":
        return " %"
    unit = c.details.get("unit")
    return f" {unit}" if unit in ("%", "ms") else ""


def observed_text(c: Any, missing: str = "-") -> str:
    """Return a check's observed value with its unit (``130 ms``), or ``missing`` when it has none."""
    return f"{fmt(c.observed)}{unit_suffix(c)}" if c.observed is not None else missing


def rule_text(c: Any, interval: bool = False) -> str:
    """Return the rule a check was decided on, in words: ``>= 0.8``, ``<= 120 ms``, ``drop at most 0.015``.

    Parameters
    ----------
    c : CheckResult
        The check.
    interval : bool
        Add the confidence interval the decision read (``CI [low, high]``) before the guardband.
    """
    cmp = c.details.get("comparison") or {}
    rule = f"{c.op} {fmt(c.threshold)}{unit_suffix(c)}" if c.op and c.threshold is not None else (
        c.details.get("require") or c.op or "")
    if cmp.get("definition"):  # a comparison with the baseline: say it in words
        rule = cmp["rule"]
    iv = c.details.get("interval") if c.details.get("decided_on") == "interval" else None
    if iv:  # the decision read the interval, not the point: say so, and which way it was read
        ci = f"CI [{fmt(iv['low'])}, {fmt(iv['high'])}], " if interval else f"{iv.get('confidence', 0):.0%} CI, "
        rule += f" ({ci}{c.details.get('guardband')})"
    return str(rule)


def print_summary(report: GateReport, written: dict[str, Path], console: Any, quiet: bool = False,
                  warn_only: bool = False) -> None:
    """Print the decision, the reason, the checks that did not pass and where the reports are."""
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
    console.print(Text(printable(report.reason)))
    alerts = report.metadata.get("alerts") or {}
    for a in alerts.get("fired", []):  # repeated failures are shown even with --quiet
        from gatekit.history.alerts import alert_text

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
    for kind, path in written.items():
        label = f"{kind} report" if kind in ("json", "html", "junit", "markdown") else "attached"
        console.print(Text(printable(f"{label}: {path}")))
