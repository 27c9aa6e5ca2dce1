"""The commands about the run history: ``history``, ``history mark`` and ``calibrate``."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from gatekit.cli.common import console, fail, internal, load_policy_or_fail, refuse_control, silence_stdout
from gatekit.core.errors import EXIT_INVALID

history_app = typer.Typer(help="The run history: per-gate outcomes and trends; mark runs for calibration.")
"""The ``gatekit history`` group (its callback lists the runs); :mod:`gatekit.cli` adds it to the app."""


def _store(history: str | None) -> Any:
    """Open the configured history store for reading (exit 2 with the reason when it cannot be)."""
    from gatekit.core.errors import InputError, input_error
    from gatekit.history.config import load_config
    from gatekit.history.store import HistoryError, HistoryStore

    try:
        cfg = load_config(history)
        if cfg.history_url is None:
            raise input_error("history is off (--history off, GATEKIT_HISTORY_URL or gatekit.toml); nothing to read")
        return HistoryStore(cfg.history_url, create=False)
    except (InputError, HistoryError) as exc:
        fail(exc, "cannot open the history")


def _store_file(history: str | None) -> dict[str, Path]:
    """Return the history store's SQLite file as ``{"history store": path}`` (empty for another store or none)."""
    from sqlalchemy.engine import make_url

    from gatekit.history.config import load_config

    try:
        url = load_config(history).history_url
        parsed = make_url(url) if url is not None else None
    except Exception:  # noqa: BLE001 - opening the store later reports the problem
        return {}
    db = parsed.database if parsed is not None and parsed.get_backend_name() == "sqlite" else None
    if not db or db == ":memory:" or db.startswith("file:"):
        return {}
    return {"history store": Path(db)}


def _policy_name(policy: str | None) -> str | None:
    """Return a policy file's name (its ``name:`` or stem), or the text itself taken as a policy name."""
    if policy is None:
        return None
    path = Path(policy)
    if path.suffix.lower() in (".yaml", ".yml") or path.is_file():
        return str(load_policy_or_fail(path).name)
    return policy


@history_app.callback(invoke_without_command=True)
def history(
    ctx: typer.Context,
    policy: Annotated[str | None, typer.Option(help="Policy file or policy name (default: every policy).")] = None,
    last: Annotated[int, typer.Option(min=1, max=1_000_000, help="Most recent runs to read.")] = 10,
    format: Annotated[str, typer.Option("--format", help="table, json or markdown.")] = "table",
    store: Annotated[str | None, typer.Option("--history", help="History store URL or SQLite file (default from "
                                                                "gatekit.toml, else .gatekit/history.db).")] = None,
    failing: Annotated[bool, typer.Option("--failing", help="Only the checks that warned or blocked at least once "
                                                            "in these runs.")] = False,
) -> None:
    """Show the last runs: per gate, pass / warn / block counts, hit rate and the trend of its observed value."""
    if ctx.invoked_subcommand is not None:
        ctx.obj = {"history": store}  # `gatekit history --history X mark ...` reads the same store
        return
    from gatekit.history.store import HistoryError
    from gatekit.history.summary import summarize
    from gatekit.history.views import render_markdown, render_table

    if format not in ("table", "json", "markdown"):
        fail(ValueError(f"--format must be table, json or markdown, not {format!r}"), "invalid usage")
    name = _policy_name(policy)
    with _store(store) as st:
        try:
            runs_by_policy: dict[str, list[Any]] = {}
            names = [name] if name is not None else st.policy_names()
            for n in names:
                runs_by_policy[n] = st.runs(policy=n, last=last)
        except HistoryError as exc:
            fail(exc, "cannot read the history")
        except Exception as exc:  # noqa: BLE001
            internal(exc)
        summaries = {n: summarize(r) for n, r in runs_by_policy.items()}
        if failing:  # what needs a look: checks that failed at least once in the window
            for summary in summaries.values():
                summary["gates"] = [g for g in summary["gates"] if g["warn"] + g["block"] > 0]
        try:
            if format == "json":
                import json

                doc = {"store": st.display, "last": last,
                       "policies": [{"policy": n, "summary": summaries[n],
                                     "runs": [{k: v for k, v in r.to_dict().items() if k != "checks"}
                                              for r in runs_by_policy[n]]} for n in names]}
                typer.echo(json.dumps(doc, indent=2, allow_nan=False))
            elif format == "markdown":
                typer.echo(render_markdown(st.display, runs_by_policy, summaries))
            else:
                render_table(console(), st.display, runs_by_policy, summaries)
        except (OSError, UnicodeError):  # `gatekit history | head`: the reader left; nothing is wrong
            silence_stdout()
    if name is not None and not runs_by_policy.get(name):
        raise typer.Exit(EXIT_INVALID)  # asked for a policy with no recorded run: say so in the exit code too


@history_app.command("mark")
def history_mark(
    ctx: typer.Context,
    run_ids: Annotated[list[str], typer.Argument(metavar="RUN_ID...", help="Run ids (from `gatekit history`).")],
    legitimate: Annotated[bool, typer.Option("--legitimate/--not-legitimate",
                                             help="A legitimate model (calibration learns from it) or not "
                                                  "(calibration leaves it out).")] = True,
    clear: Annotated[bool, typer.Option(help="Remove the mark instead.")] = False,
    store: Annotated[str | None, typer.Option("--history", help="History store URL or SQLite file.")] = None,
) -> None:
    """Mark runs legitimate or not, for `gatekit calibrate` (unmarked runs count as legitimate)."""
    from gatekit.history.store import HistoryError

    if store is None and isinstance(ctx.obj, dict):
        store = ctx.obj.get("history")

    with _store(store) as st:
        try:
            n = st.mark(run_ids, None if clear else legitimate)
        except HistoryError as exc:
            fail(exc, "cannot mark runs")
    typer.echo(f"marked {n} run{'s' if n != 1 else ''} "
               f"{'unmarked' if clear else ('legitimate' if legitimate else 'not legitimate')}")



def calibrate(
    policy: Annotated[Path, typer.Option(help="The policy file to calibrate (it is never edited).")],
    last: Annotated[int, typer.Option(min=1, max=1_000_000, help="Most recent runs of the policy to learn from.")] = 10,
    target_pass_rate: Annotated[float, typer.Option(min=0.01, max=1.0, help="Share of legitimate runs that should "
                                                                             "pass each rule.")] = 0.8,
    out: Annotated[Path | None, typer.Option(help="Proposed policy file (default <policy>.proposed.yaml beside "
                                                  "the policy, so its relative paths still hold).")] = None,
    legitimate_only: Annotated[bool, typer.Option(help="Learn only from runs marked legitimate (default: every "
                                                       "run not marked otherwise).")] = False,
    format: Annotated[str, typer.Option("--format", help="table or json.")] = "table",
    store: Annotated[str | None, typer.Option("--history", help="History store URL or SQLite file.")] = None,
    force: Annotated[bool, typer.Option("--force", help="Replace the proposed policy file when it exists.")] = False,
) -> None:
    """Propose each metric rule's limit so that the target share of recorded runs would pass; write a copy."""
    from datetime import datetime, timezone

    from gatekit.core.formatting import printable
    from gatekit.history.store import HistoryError
    from gatekit.history.thresholds import calibrate as do_calibrate
    from gatekit.history.thresholds import check_out, comment_text, write_proposed
    from gatekit.history.views import render_calibration

    if format not in ("table", "json"):
        fail(ValueError(f"--format must be table or json, not {format!r}"), "invalid usage")
    # the paths go into the proposed file's comments and onto the terminal: one printable line each
    refuse_control(policy, "--policy")
    refuse_control(out, "--out")
    refuse_control(store, "--history")
    lp = load_policy_or_fail(policy)
    out = out if out is not None else policy.with_name(f"{policy.stem}.proposed.yaml")
    try:
        check_out(lp, out, _store_file(store))
    except ValueError as exc:
        fail(exc, "invalid usage")
    with _store(store) as st:
        try:
            runs = st.runs(policy=lp.name, last=last, exclude_illegitimate=not legitimate_only,
                           legitimate_only=legitimate_only)
            left_out = sum(r.legitimate is False for r in st.runs(policy=lp.name, last=last))
        except HistoryError as exc:
            fail(exc, "cannot read the history")
        display = st.display
    if not runs:
        fail(ValueError(f"no recorded runs of policy {lp.name!r}"
                         f"{' marked legitimate' if legitimate_only else ''} in {display}; run it first"),
              "nothing to calibrate")
    try:
        proposals = do_calibrate(lp, runs, target_pass_rate)
        # every value in a comment is one printable line: a run id from a shared store cannot end the comment
        header = (f"# Proposed by `gatekit calibrate` on {datetime.now(timezone.utc).date().isoformat()}: each changed "
                  f"limit lets at least {target_pass_rate:.0%} of the last\n# {len(runs)} runs "
                  f"({comment_text(runs[0].run_id)} .. {comment_text(runs[-1].run_id)}) pass (the table printed by "
                  f"the command has\n# each rule's rate). Review with: gatekit policy diff {comment_text(policy)} "
                  f"{comment_text(out)}\n")
        changed = [p for p in proposals if p.status == "proposed"]
        not_written = write_proposed(lp, proposals, out, header=header, force=force) if changed else []
    except FileExistsError:
        fail(ValueError(f"--out {out} already exists; give --force to replace it, or another --out"),
             "invalid usage")
    except (ValueError, OSError) as exc:
        fail(exc, "cannot write the proposed policy")
    except Exception as exc:  # noqa: BLE001
        internal(exc)
    try:
        if format == "json":
            import json

            typer.echo(json.dumps({"policy": str(policy), "runs": len(runs), "left_out_not_legitimate": left_out,
                                   "target_pass_rate": target_pass_rate,
                                   "proposed_file": str(out) if changed else None, "not_written": not_written,
                                   "rules": [p.to_dict() for p in proposals]}, indent=2, allow_nan=False))
        else:
            note = f" ({left_out} marked not legitimate left out)" if left_out else ""
            render_calibration(console(), lp.name, len(runs), target_pass_rate, proposals, note)
            pol, dest = printable(policy), printable(out)
            if changed and out.resolve().parent != policy.resolve().parent:
                typer.echo(f"note: {dest} is not in the policy's folder; the policy's relative paths (inputs, "
                           "extends, baseline files) are relative to the file's own folder, so move it beside "
                           f"{pol} before running it")
            for line in not_written:
                typer.echo(f"not written: {printable(line)}")
            typer.echo(f"proposed policy: {dest} (review: gatekit policy diff {pol} {dest})" if changed else
                       "no limit changes: no proposed file written")
    except (OSError, UnicodeError):  # `gatekit calibrate ... | head`: the reader left; the file is written
        silence_stdout()

