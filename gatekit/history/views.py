"""Text renderings of the run history, a calibration and a replay (terminal tables and Markdown)."""

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
        from gatekit.history.sequential import render_looks

        render_looks(console, runs)  # a sequential canary's looks (nothing for other policies)


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
        from gatekit.history.sequential import looks_markdown

        lines += looks_markdown(runs)  # a sequential canary's looks
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


def _now_text(r: Any) -> str:
    """Return a replayed decision in words: ``block``, or ``incomplete (at least warn)``."""
    if r.decision_now == "incomplete":
        return f"incomplete (at least {r.at_least})" if r.at_least else "incomplete"
    return str(r.decision_now)


def render_replay(console: Any, policy: str, store: str, selection: str, replays: list[Any],
                  summary: dict[str, Any]) -> None:
    """Print one row per replayed run: id, time, model, decision then and now, the rules that changed.

    Under the table, each run's rules and sections that could not be replayed, and why.
    """
    from rich.table import Table
    from rich.text import Text

    console.print(Text(printable(f"replay of {policy} on {_runs(summary['runs'])} of {selection} ({store})"),
                       style="bold"))
    t = Table(box=None, pad_edge=False, show_header=True, header_style="bold")
    for col in ("run", "started (UTC)", "model", "decision then", "decision now", "rules that changed"):
        t.add_column(col, overflow="fold")
    for r in replays:
        changed = "; ".join(f"{label}: {rule.then or 'absent'} -> {rule.now}" for label, rule in
                            ((x.label, x) for x in r.rules if x.changed))
        style = "bold" if r.changed else ""
        t.add_row(Text(printable(r.run_id)), Text(r.started_at.replace("T", " ")[:19]),
                  Text(printable(r.model_name or "-")), Text(r.decision_then), Text(_now_text(r), style=style),
                  Text(printable(changed or "-")))
    console.print(t)
    console.print(Text(f"{summary['changed']} of {_runs(summary['runs'])} decided differently: "
                       f"{summary['newly_blocked']} newly blocked, {summary['no_longer_blocked']} no longer blocked, "
                       f"{summary['incomplete']} incomplete (a rule not replayable; never counted as a pass)"))
    for r in replays:
        for why in r.not_replayable:
            console.print(Text(printable(f"  {r.run_id}: not replayable: {why}")))


def render_suggestions(console: Any, rate: float, runs: int, reference: str, proposals: list[Any]) -> None:
    """Print each one-sided rule's suggested limit for a false-block rate, with the quantile it comes from."""
    from rich.table import Table
    from rich.text import Text

    console.print()
    console.print(Text(printable(f"suggested limits for a false-block rate of at most {rate:.1%}: the empirical "
                                 f"quantile of each rule's recorded values in {_runs(runs)} ({reference}); a figure "
                                 "of these past runs, not a guarantee for future models"), style="bold"))
    t = Table(box=None, pad_edge=False, show_header=True, header_style="bold")
    for col in ("rule", "runs with a value", "blocked now", "quantile", "suggested", "blocked at suggested", "note"):
        t.add_column(col, overflow="fold")
    for p in proposals:
        blocked_now = None if p.current_pass_rate is None else 1 - p.current_pass_rate
        blocked_then = None if p.proposed_pass_rate is None else 1 - p.proposed_pass_rate
        suggested = "-" if p.proposed is None else (f"{p.field} {fmt(p.proposed)}" if p.status == "proposed"
                                                    else "unchanged")
        t.add_row(Text(printable(p.label)), Text(f"{p.values}" + (f" ({p.missing} without)" if p.missing else "")),
                  Text(_pct(blocked_now)), Text("-" if p.quantile is None else fmt(p.quantile)), Text(suggested),
                  Text(_pct(blocked_then)), Text(printable(p.note)))
    console.print(t)
