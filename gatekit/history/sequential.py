"""The looks of a sequential canary in the run history (``canary.sequential``).

Each run of a policy with ``canary.sequential`` records, per canary rule, what the look saw
(:func:`gatekit.history.store.observation`: the confidence sequence at the log's rows, where it stopped, the
log's sha256, the rollout's name). Before the next run evaluates, :func:`canary_looks` reads them back so that

- an AUC rule knows its look number (Bonferroni over ``max_looks``: :mod:`gatekit.sections.canary_sequential`);
- every sequential check lists the rollout's earlier looks (``details["sequential"]["looks"]``);

and :func:`looks_rows` / :func:`render_looks` show the looks of each rollout in ``gatekit history``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from gatekit.core.formatting import printable
from gatekit.policy.loader import LoadedPolicy
from gatekit.sections.canary_sequential import Looks


def looks_of(runs: Sequence[Any]) -> list[dict[str, Any]]:
    """Return the sequential canary looks recorded in ``runs`` (oldest first), one per rule and run.

    Parameters
    ----------
    runs : sequence of RunView
        Recorded runs, oldest first.

    Returns
    -------
    list of dict
        ``run_id``, ``started_at`` (ISO 8601), ``decision``, ``check``, ``rule`` (``canary.rules[i]``), ``metric``,
        ``rollout``, ``method``, ``log_sha256``, ``rows``, ``look``, ``cs`` (``[low, high]`` or None),
        ``stopped_at``, ``result`` and ``status``.
    """
    out = []
    for r in runs:
        for c in r.checks:
            obs = c.get("observation")
            seq = obs.get("sequential") if isinstance(obs, dict) else None
            if not isinstance(seq, dict):
                continue
            out.append({"run_id": r.run_id, "started_at": r.started_at.isoformat(timespec="seconds"),
                        "decision": r.decision, "check": c.get("name"), "rule": obs.get("rule"),
                        "metric": c.get("metric"), "rollout": seq.get("rollout"), "method": seq.get("method"),
                        "log_sha256": seq.get("log_sha256"), "rows": seq.get("rows"), "look": seq.get("look"),
                        "cs": seq.get("cs"), "stopped_at": seq.get("stopped_at"), "result": obs.get("result"),
                        "status": c.get("status")})
    return out


def canary_looks(policy: LoadedPolicy, history_url: str | None) -> Looks | None:
    """Read the earlier looks of a policy's sequential canary from the history, for the run about to start.

    Called by :func:`gatekit.api.run` before the evaluation (the run itself is recorded afterwards).

    Parameters
    ----------
    policy : LoadedPolicy
        The policy; nothing is read unless it has ``canary.sequential``.
    history_url : str or None
        The history store the run records into; None when history is off.

    Returns
    -------
    Looks or None
        None without ``canary.sequential``; ``Looks(available=False, reason=...)`` when history is off or the
        store cannot be read (an AUC rule is then not computable; per-row rules are decided without it).
    """
    canary = getattr(policy.policy, "canary", None)
    if canary is None or getattr(canary, "sequential", None) is None:
        return None
    if history_url is None:
        return Looks(False, "the run history is off (set a history store: --history, GATEKIT_HISTORY_URL or "
                            "gatekit.toml)")
    from gatekit.history.store import HistoryError, HistoryStore, mask_password

    try:
        with HistoryStore(history_url) as store:
            runs = store.runs(policy=policy.name)
    except HistoryError as exc:
        return Looks(False, f"the run history could not be read: {mask_password(str(exc), history_url)}")
    return Looks(True, "", tuple(looks_of(runs)))


def looks_rows(runs: Sequence[Any]) -> list[list[str]]:
    """Rows of the looks table: rollout, rule, look, rows, confidence sequence, outcome, run.

    Parameters
    ----------
    runs : sequence of RunView
        Recorded runs of one policy, oldest first.

    Returns
    -------
    list of list of str
        One row per recorded look; empty when the policy has no sequential canary looks.
    """
    out = []
    for lk in looks_of(runs):
        cs = lk["cs"]
        cs_text = "-" if not isinstance(cs, list) or len(cs) != 2 else _cs_text(cs)
        stop = lk["stopped_at"]
        outcome = lk["result"] or lk["status"] or "-"
        if isinstance(stop, dict) and stop.get("rows") is not None:
            outcome += f" (stopped at row {stop['rows']})"
        out.append([str(lk["rollout"] or "-"), f"{lk['rule']} {lk['metric']}", str(lk["look"] or "-"),
                    str(lk["rows"] if lk["rows"] is not None else "-"), cs_text, outcome, lk["run_id"]])
    return out


LOOKS_HEADER = ("rollout", "rule", "look", "rows", "confidence sequence", "outcome", "run")
"""Column titles of :func:`looks_rows`."""


def _cs_text(cs: list[Any]) -> str:
    if not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in cs):
        return "no bounds yet"  # None: too few pairs for the normal mixture
    return f"[{cs[0]:+.4g}, {cs[1]:+.4g}]"


def render_looks(console: Any, runs: Sequence[Any]) -> None:
    """Print the looks table of one policy's runs (nothing when it has no sequential canary looks)."""
    from rich.table import Table
    from rich.text import Text

    rows = looks_rows(runs)
    if not rows:
        return
    t = Table(box=None, pad_edge=False, show_header=True, header_style="bold", title="sequential canary looks",
              title_justify="left")
    for col in LOOKS_HEADER:
        t.add_column(col, overflow="fold")
    for row in rows:
        t.add_row(*(Text(printable(v)) for v in row))
    console.print(t)


def looks_markdown(runs: Sequence[Any]) -> list[str]:
    """Return the looks table of one policy's runs as Markdown lines (none when it has no sequential canary looks)."""
    from gatekit.report.markdown import md_text as cell

    rows = looks_rows(runs)
    if not rows:
        return []
    lines = ["Sequential canary looks:", "", "| " + " | ".join(LOOKS_HEADER) + " |",
             "|" + "---|" * len(LOOKS_HEADER)]
    lines += ["| " + " | ".join(cell(v) for v in row) + " |" for row in rows]
    return [*lines, ""]
