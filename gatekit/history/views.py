"""Text renderings of the run history and of a calibration (terminal tables and Markdown)."""

from __future__ import annotations

from typing import Any

from gatekit.core.formatting import fmt, printable


def _pct(x: float | None) -> str:
    return "-" if x is None else f"{100 * x:.0f}%"


def _rule(g: dict[str, Any]) -> str:
    """Return the gate's latest rule in words (as `gatekit run` says it), else ``op threshold``."""
    if g.get("rule"):
        return str(g["rule"])
    return f"{g['op']} {fmt(g['threshold'])}" if g["op"] and g["threshold"] is not None else (g["op"] or "")


def _label(g: dict[str, Any]) -> str:
    """``section/name``, plus ``#k`` for the k-th rule with the same name and operator."""
    return f"{g['section']}/{g['name']}" + (g["key"][g["key"].rfind("#"):] if "#" in g["key"] else "")


def _runs(n: int) -> str:
    return f"{n} run{'s' if n != 1 else ''}"


def _trend_text(g: dict[str, Any]) -> str:
    t = g["trend"]
    if t["points"] == 0:
        return "no values"
    if t["slope_per_run"] is None:
        return f"{fmt(t['first'])} -> {fmt(t['last'])}"
    return f"{fmt(t['first'])} -> {fmt(t['last'])} ({t['direction']}, {t['slope_per_run']:+.3g}/run)"


def render_table(console: Any, store: str, runs_by_policy: dict[str, list[Any]],
                 summaries: dict[str, dict[str, Any]]) -> None:
    """Print, per policy, the runs read and one row per gate (counts, hit rate, last value, trend)."""
    from rich.table import Table
    from rich.text import Text

    console.print(Text(printable(f"history: {store}")))
    if not runs_by_policy:
        console.print(Text("no runs recorded yet"))
    for name, runs in runs_by_policy.items():
        s = summaries[name]
        d = s["decisions"]
        console.print()
        console.print(Text(printable(f"policy {name}: last {_runs(s['runs'])} ({', '.join(s['policies']) or '-'}); "
                                     f"decisions {d.get('pass', 0)} pass, {d.get('warn', 0)} warn, "
                                     f"{d.get('block', 0)} block"), style="bold"))
        if not runs:
            console.print(Text("no runs recorded for this policy"))
            continue
        rt = Table(box=None, pad_edge=False, show_header=True, header_style="bold")
        for col in ("run", "started (UTC)", "version", "decision", "enforcement", "legitimate", "alerts"):
            rt.add_column(col, overflow="fold")
        for r in runs:
            rt.add_row(Text(printable(r.run_id)), Text(r.started_at.strftime("%Y-%m-%d %H:%M:%S")),
                       Text(printable(r.policy_version)), Text(r.decision), Text(printable(r.enforcement or "-")),
                       Text({True: "yes", False: "no", None: "-"}[r.legitimate]), Text(str(len(r.alerts) or "")))
        console.print(rt)
        gt = Table(box=None, pad_edge=False, show_header=True, header_style="bold")
        for col in ("gate", "runs", "pass", "warn", "block", "hit rate", "rule (latest)", "values", "trend"):
            gt.add_column(col, overflow="fold")
        for g in s["gates"]:
            rule = _rule(g)
            gt.add_row(Text(printable(_label(g))),
                       Text(str(g["runs"])), Text(str(g["pass"])), Text(str(g["warn"])), Text(str(g["block"])),
                       Text(_pct(g["hit_rate"])), Text(printable(rule)), Text(g["trend"]["sparkline"]),
                       Text(_trend_text(g)))
        console.print(gt)


def render_markdown(store: str, runs_by_policy: dict[str, list[Any]], summaries: dict[str, dict[str, Any]]) -> str:
    """Render the same as :func:`render_table` as Markdown (for a pull request or a wiki page)."""
    from gatekit.report.markdown import md_text as cell  # HTML, pipes and control characters escaped

    lines = [f"# Gate history ({cell(store)})", ""]
    for name, runs in runs_by_policy.items():
        s = summaries[name]
        d = s["decisions"]
        lines += [f"## {cell(name)}", "",
                  f"Last {_runs(s['runs'])}; decisions: {d.get('pass', 0)} pass, {d.get('warn', 0)} warn, "
                  f"{d.get('block', 0)} block.", ""]
        if not runs:
            continue
        lines += ["| gate | runs | pass | warn | block | hit rate | rule (latest) | trend |",
                  "|---|---|---|---|---|---|---|---|"]
        for g in s["gates"]:
            rule = _rule(g)
            lines.append(f"| {cell(_label(g))} | {g['runs']} | {g['pass']} | {g['warn']} | "
                         f"{g['block']} | {_pct(g['hit_rate'])} | {cell(rule)} | {cell(_trend_text(g))} |")
        lines.append("")
    return "\n".join(lines)


def render_calibration(console: Any, policy: str, runs: int, target: float, proposals: list[Any],
                       left_out: str = "") -> None:
    """Print each rule's current and proposed limit with the pass rates over the recorded runs."""
    from rich.table import Table
    from rich.text import Text

    console.print(Text(printable(f"calibration of {policy}: {_runs(runs)}{left_out}, target pass rate at least "
                                 f"{target:.0%}"), style="bold"))
    t = Table(box=None, pad_edge=False, show_header=True, header_style="bold")
    for col in ("rule", "runs with a value", "pass now", "proposed", "pass at proposed", "note"):
        t.add_column(col, overflow="fold")
    for p in proposals:
        proposed = "-" if p.proposed is None else (f"{p.field} {fmt(p.proposed)}" if p.status == "proposed"
                                                   else "unchanged")
        t.add_row(Text(printable(p.label)), Text(f"{p.values}" + (f" ({p.missing} without)" if p.missing else "")),
                  Text(_pct(p.current_pass_rate)), Text(proposed), Text(_pct(p.proposed_pass_rate)),
                  Text(printable(p.note)))
    console.print(t)
