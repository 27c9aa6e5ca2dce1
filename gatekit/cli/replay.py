"""``gatekit replay``: what a new or changed policy would have decided on the recorded runs."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Annotated, Any

import typer

from gatekit.cli.common import console, fail, internal, load_policy_or_fail, refuse_control, silence_stdout
from gatekit.cli.history import _store
from gatekit.core.errors import EXIT_BLOCK


def _reference(runs: list[Any]) -> tuple[list[Any], str]:
    """Return the runs a false-block rate is taken over: those marked legitimate, else all not marked otherwise."""
    marked = [r for r in runs if r.legitimate is True]
    if marked:
        return marked, "the runs marked legitimate"
    kept = [r for r in runs if r.legitimate is not False]
    left = len(runs) - len(kept)
    return kept, "every run, none being marked legitimate" + (f"; {left} marked not legitimate left out" if left
                                                                else "")


def _finite(value: Any) -> Any:
    """Return ``value`` with every non-finite float written as null, so the JSON output is valid JSON."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_finite(v) for v in value]
    return value


def replay(
    policy: Annotated[Path, typer.Argument(metavar="POLICY", help="The new or changed policy file (it is only read).")],
    last: Annotated[int, typer.Option(min=1, max=1_000_000, help="Most recent recorded runs to replay.")] = 10,
    store: Annotated[str | None, typer.Option("--history", help="History store URL or SQLite file (default from "
                                                                "gatekit.toml, else .gatekit/history.db).")] = None,
    policy_name: Annotated[str | None, typer.Option(help="Replay the runs recorded under this policy name (default: "
                                                         "the policy's own name, unless --model-name is given).")]
    = None,
    model_name: Annotated[str | None, typer.Option(help="Replay the runs that gated this model (the policy's "
                                                        "holdout.model, else its name, as each run recorded it).")]
    = None,
    format: Annotated[str, typer.Option("--format", help="table or json.")] = "table",
    fail_on_change: Annotated[bool, typer.Option("--fail-on-change", help="Exit 1 when any run would be decided "
                                                                          "differently (or cannot be replayed "
                                                                          "completely).")] = False,
    suggest_limits: Annotated[bool, typer.Option("--suggest-limits", help="Also suggest each one-sided metric rule's "
                                                                          "limit for --false-block-rate.")] = False,
    false_block_rate: Annotated[float, typer.Option(min=0.0, max=0.99, help="Share of the reference runs (marked "
                                                                             "legitimate, else all) a suggested limit "
                                                                             "may block.")] = 0.05,
) -> None:
    """Replay POLICY on the recorded runs from their stored observations: the decision then and now, per run.

    Nothing is re-read from data. A rule with no stored observation in a run is not replayable there
    (never a pass). Exit 0 when the replay ran (a report, not a gate), 1 with --fail-on-change when a
    decision changes, 2 for an invalid policy or store.
    """
    from gatekit.history.replay import replay as do_replay
    from gatekit.history.replay import suggest_limits as do_suggest
    from gatekit.history.replay import summary
    from gatekit.history.store import HistoryError
    from gatekit.history.views import render_replay, render_suggestions

    if format not in ("table", "json"):
        fail(ValueError(f"--format must be table or json, not {format!r}"), "invalid usage")
    refuse_control(policy, "POLICY")
    refuse_control(store, "--history")
    lp = load_policy_or_fail(policy)
    name = policy_name if policy_name is not None else (None if model_name is not None else lp.name)
    selection = " and ".join(x for x in (f"policy {name!r}" if name is not None else "",
                                         f"model {model_name!r}" if model_name is not None else "") if x)
    with _store(store) as st:
        try:
            runs = st.runs(policy=name, last=last, model_name=model_name)
        except HistoryError as exc:
            fail(exc, "cannot read the history")
        display = st.display
    if not runs:
        fail(ValueError(f"no recorded runs of {selection} in {display}; give --policy-name or --model-name to "
                        "replay the runs of another policy or model, or --history for the store the runs were "
                        "recorded in (the default store is the one of the folder you run in)"), "nothing to replay")
    try:
        replays = do_replay(lp, runs)
        counts = summary(replays)
        proposals, why = None, ""
        reference: list[Any] = []
        if suggest_limits:
            reference, why = _reference(runs)
            proposals = do_suggest(lp, reference, false_block_rate) if reference else []
    except Exception as exc:  # noqa: BLE001
        internal(exc)
    try:
        if format == "json":
            import json

            doc: dict[str, Any] = {"policy": str(policy), "policy_name": lp.name, "store": display,
                                   "selection": {"policy_name": name, "model_name": model_name, "last": last},
                                   "summary": counts, "runs": [r.to_dict() for r in replays]}
            if proposals is not None:
                doc["suggested_limits"] = {
                    "false_block_rate": false_block_rate, "reference_runs": len(reference), "reference": why,
                    "definition": "per one-sided metric rule, the empirical quantile of its recorded values in the "
                                  "reference runs (Hyndman & Fan definition 1, numpy method inverted_cdf) on the "
                                  "passing side of its operator: ceil((1 - rate) * n) of the n runs with a value "
                                  "pass, at most floor(rate * n) are blocked",
                    "rules": [p.to_dict() for p in proposals]}
            typer.echo(json.dumps(_finite(doc), indent=2, allow_nan=False))
        else:
            out = console()
            render_replay(out, lp.name, display, selection, replays, counts)
            if proposals is not None:
                if reference:
                    render_suggestions(out, false_block_rate, len(reference), why, proposals)
                else:
                    typer.echo("no limits suggested: every run is marked not legitimate")
    except (OSError, UnicodeError):  # `gatekit replay ... | head`: the reader left
        silence_stdout()
    if fail_on_change and counts["changed"]:
        raise typer.Exit(EXIT_BLOCK)
