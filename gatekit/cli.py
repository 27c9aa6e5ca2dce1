"""Command line: thin layer over the Python API. Exit codes: 0 pass/warn, 1 block, 2 invalid, 3 internal."""

from __future__ import annotations

import os
import sys
import traceback
from pathlib import Path
from typing import Annotated, Any

import typer

from gatekit import __version__

EXIT_PASS, EXIT_BLOCK, EXIT_INVALID, EXIT_INTERNAL = 0, 1, 2, 3

app = typer.Typer(
    name="gatekit",
    help="Model quality gate: evaluate a model against a YAML policy; exit 0 pass/warn, 1 block, "
         "2 invalid policy or inputs, 3 internal error.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


def _console(stderr: bool = False) -> Any:
    from rich.console import Console

    class _Console(Console):
        def on_broken_pipe(self) -> None:
            # rich exits 1 when the reader hangs up (`gatekit run ... | head -1`); 1 means "block" here, so
            # drop the rest of the output instead and let the decision set the exit code
            _silence_stdout()
            raise OSError("stdout closed")

    console = _Console(stderr=stderr, highlight=False, soft_wrap=True)
    if not console.is_terminal:
        console.width = 160
    return console


def _fail(exc: Exception, what: str) -> None:
    from rich.text import Text

    from gatekit.report.terminal import printable

    err = _console(stderr=True)
    err.print(Text(printable(what), style="bold red"))
    for line in str(exc).splitlines():
        err.print(Text(f"  {printable(line)}"))
    raise typer.Exit(EXIT_INVALID)


def _internal(exc: BaseException) -> None:
    from gatekit.report.terminal import printable

    err = _console(stderr=True)
    text = str(exc)
    if len(text) > 2000:  # a library may put megabytes in a message; the head says what happened
        text = text[:2000] + f" ... ({len(text) - 2000:,} more characters)"
    err.print(printable(f"internal error: {type(exc).__name__}: {text}"), markup=False)
    if os.environ.get("GATEKIT_DEBUG"):
        err.print(traceback.format_exc(), markup=False)
    else:
        err.print("(set GATEKIT_DEBUG=1 for the traceback; please report it)", markup=False)
    raise typer.Exit(EXIT_INTERNAL)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"gatekit {__version__}")
        raise typer.Exit()


@app.callback()
def main(
    version: Annotated[bool, typer.Option("--version", callback=_version, is_eager=True,
                                          help="Print the version and exit.")] = False,
) -> None:
    """gatekit: one policy over data quality, performance, fairness and drift checks."""


@app.command()
def validate(policy: Annotated[Path, typer.Argument(help="Policy YAML file.")]) -> None:
    """Check a policy without running it: exit 0 if valid, 2 if not (every problem with file:line)."""
    from gatekit.core.errors import PolicyError
    from gatekit.policy import load_policy

    try:
        lp = load_policy(policy)
    except PolicyError as exc:
        _fail(exc, f"invalid policy: {policy}")
    except Exception as exc:  # noqa: BLE001
        _internal(exc)
    pol = lp.policy
    parts = [f"{len(pol.metrics)} metric rules", f"{len(pol.gates)} gates"]
    for section in (pol.data_quality, pol.compatibility):
        if section is not None:
            parts.append(f"{section.rule_count()} {'data-quality' if section is pol.data_quality else 'compatibility'} "
                         "rules")
    if pol.canary is not None:
        parts.append(f"{len(pol.canary.rules)} canary rules")
    for label, section in (("robustness", pol.robustness), ("artifact", pol.artifact), ("security", pol.security)):
        if section is not None:
            parts.append(f"{section.rule_count()} {label} rules")
    relative = sum(r.relative is not None for r in pol.metrics)
    if relative:
        parts[0] += f" ({relative} relative to the baseline)"
    typer.echo(f"valid: {policy} (policy {lp.name!r} version {pol.version}, {', '.join(parts)}, "
               f"sha256 {lp.sha256[:12]})")


@app.command()
def verify(
    report: Annotated[Path, typer.Argument(help="A gate_report.json written by gatekit run.")],
) -> None:
    """Recompute REPORT's reproducibility hash from the same files and today's libraries; exit 1 if it differs."""
    from gatekit.core.errors import InputError
    from gatekit.core.reproducibility import verify as do_verify

    try:
        res = do_verify(report)
    except InputError as exc:
        _fail(exc, "invalid report")
    except Exception as exc:  # noqa: BLE001
        _internal(exc)
    if res["match"]:
        typer.echo(f"reproducible: {res['recomputed']} matches the report")
        raise typer.Exit(0)
    typer.echo(f"NOT reproducible: the report records {res['recorded']}, the same inputs now give "
               f"{res['recomputed']}")
    for d in res["differences"]:
        typer.echo(f"  - {d}")
    raise typer.Exit(1)


@app.command()
def run(
    policy: Annotated[Path, typer.Argument(help="Policy YAML file.")],
    metrics: Annotated[Path | None, typer.Option(help="JSON of metrics already computed, e.g. "
                                                       '{"auc_roc": 0.91}.')] = None,
    data: Annotated[Path | None, typer.Option(help="Evaluation data (.csv or .parquet).")] = None,
    target: Annotated[str | None, typer.Option(help="Target column in --data.")] = None,
    positive_label: Annotated[str | None, typer.Option(help="Target value meaning positive (e.g. yes).")] = None,
    score: Annotated[str | None, typer.Option(help="Score / probability (or forecast) column.")] = None,
    prediction: Annotated[str | None, typer.Option(help="Predicted label (or forecast) column.")] = None,
    model: Annotated[Path | None, typer.Option(help="Model artifact to score --data (.skops, .onnx, "
                                                    ".joblib).")] = None,
    reference: Annotated[Path | None, typer.Option(help="Reference (training) data, .csv or .parquet.")] = None,
    model_sha256: Annotated[str | None, typer.Option(help="Expected sha256 of --model.")] = None,
    trust_model: Annotated[bool, typer.Option(help="Allow unpickling a model without a hash.")] = False,
    sensitive: Annotated[list[str] | None, typer.Option(help="Sensitive feature column (repeatable).")] = None,
    task: Annotated[str | None, typer.Option(help="classification or regression (default: inferred).")] = None,
    baseline_score: Annotated[str | None, typer.Option(help="Column of --data with the production model's "
                                                            "score (baseline; shadow).")] = None,
    baseline_prediction: Annotated[str | None, typer.Option(help="Column of --data with the production "
                                                                 "model's predicted label.")] = None,
    baseline_model: Annotated[Path | None, typer.Option(help="Production model artifact; gatekit scores --data "
                                                             "with it.")] = None,
    baseline_model_sha256: Annotated[str | None, typer.Option(help="Expected sha256 of --baseline-model.")] = None,
    baseline_trust_model: Annotated[bool, typer.Option(help="Allow unpickling --baseline-model without a "
                                                            "hash.")] = False,
    baseline_metrics: Annotated[Path | None, typer.Option(help="JSON of the production model's metrics.")] = None,
    canary_log: Annotated[Path | None, typer.Option(help="Canary traffic log (replaces canary.data).")] = None,
    out: Annotated[Path | None, typer.Option(help="Report folder (default reports/<run id>/).")] = None,
    fail_on_warn: Annotated[bool, typer.Option(help="Exit 1 on a warn decision too.")] = False,
    warn_only: Annotated[bool, typer.Option(help="Pilot mode: report what would block, exit 0.")] = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="Print only the decision and its reason.")] = False,
    history: Annotated[str | None, typer.Option(help="History store: a SQLAlchemy URL or a SQLite file (default "
                                                     "from gatekit.toml, else .gatekit/history.db).")] = None,
    no_history: Annotated[bool, typer.Option(help="Do not record this run in the history store.")] = False,
    format: Annotated[list[str] | None, typer.Option("--format", help="Report files: json, html, junit, markdown "
                                                     "(repeat or comma-separate; default json,html).")] = None,
) -> None:
    """Run POLICY and write gate_report.json and gate_report.html; the exit code carries the decision."""
    from gatekit.history.alerts import record_and_alert, record_run
    from gatekit.api import run as api_run
    from gatekit.history.config import load_config
    from gatekit.core.errors import InputError, PolicyError
    from gatekit.policy import load_policy
    from gatekit.report import DEFAULT_FORMATS, FILE_NAMES, check_formats, write_reports
    from gatekit.report.terminal import print_summary

    if sum(x is not None for x in (baseline_score, baseline_prediction, baseline_model)) > 1:
        _fail(ValueError("give only one of --baseline-score, --baseline-prediction and --baseline-model"),
              "invalid inputs")
    if score is not None and prediction is not None:
        _fail(ValueError("give only one of --score and --prediction (with --model, the model file is then "
                         "inspected, not run)"), "invalid inputs")
    if task not in (None, "classification", "regression"):
        _fail(ValueError(f"--task must be classification or regression, not {task!r}"), "invalid usage")
    if warn_only and fail_on_warn:
        _fail(ValueError("--warn-only (never fail) and --fail-on-warn (fail on warnings too) contradict each "
                         "other; choose one"), "invalid usage")
    if history is not None and history.startswith("-"):
        _fail(ValueError(f"--history needs a store (a URL, a file or off), not the option {history!r}"),
              "invalid usage")
    formats: tuple[str, ...] = DEFAULT_FORMATS
    if any(item.strip(" ,") for item in format or []):
        try:
            formats = check_formats(format)
        except ValueError as exc:
            _fail(ValueError(f"--format: {exc}"), "invalid usage")
    try:
        cfg = load_config(history, no_history=no_history)
    except InputError as exc:
        _fail(exc, "invalid configuration")
    if out is not None:
        if out.exists() and not out.is_dir():
            _fail(ValueError(f"--out {out} exists and is not a folder"), "invalid usage")
        for stale in (*FILE_NAMES.values(), "evidently_drift.html"):  # never leave an old decision behind
            try:
                (out / stale).unlink(missing_ok=True)
            except OSError as exc:
                _fail(exc, f"cannot remove the previous report in {out}")
    progress = _Progress.create(quiet)
    try:
        try:
            lp = load_policy(policy)
            report = api_run(lp, progress=progress.update if progress is not None else None, metrics=metrics,
                             data=data, target=target, positive_label=positive_label, score=score,
                             prediction=prediction, model=model, model_sha256=model_sha256,
                             reference=reference,
                             trust_model=trust_model or None, sensitive=sensitive or None, task=task,
                             baseline_score=baseline_score, baseline_prediction=baseline_prediction,
                             baseline_model=baseline_model, baseline_model_sha256=baseline_model_sha256,
                             baseline_trust_model=baseline_trust_model or None, baseline_metrics=baseline_metrics,
                             canary_data=canary_log)
            if report.metadata["policy"]["resolved"].get("mode") == "warn_only":
                if fail_on_warn:
                    raise _UsageConflict("the policy's mode: warn_only (a pilot that never fails) and --fail-on-warn "
                                         "contradict each other; remove one")
                warn_only = True  # the policy is being piloted: report what would block, exit 0
            code = exit_code(report.decision, fail_on_warn=fail_on_warn, warn_only=warn_only)
            report.metadata["enforcement"] = ("warn_only" if warn_only else
                                              "fail_on_warn" if fail_on_warn else "enforced")
            report.metadata["exit_code"] = code
            # alerts read the history before this run is added; neither a store nor a webhook problem changes the code
            record_and_alert(report, lp, cfg.history_url, cfg.webhook_url, cfg.webhook_timeout_s, record=False)
            out_dir = out if out is not None else Path("reports") / report.metadata["run_id"]
            written = write_reports(report, out_dir, formats)
            # recorded only once the reports are written, then the reports say whether it was
            record_run(report, cfg.history_url)
            if cfg.history_url is not None:
                report.attachments = {}  # written above; the report's links to them are kept
                written.update(write_reports(report, out_dir, formats))
        finally:
            if progress is not None:
                progress.close()  # before any message: the bar never overwrites an error
    except _UsageConflict as exc:
        _fail(exc, "invalid usage")
    except PolicyError as exc:
        _fail(exc, f"invalid policy: {policy}")
    except InputError as exc:
        _fail(exc, "invalid inputs")
    except OSError as exc:
        _fail(exc, "cannot read an input or write the report")
    except Exception as exc:  # noqa: BLE001
        _internal(exc)
    _github_step_summary(report, written)
    try:
        print_summary(report, written, _console(), quiet=quiet, warn_only=warn_only)
    except (OSError, UnicodeError):  # stdout closed, full or unable to encode: the reports are written
        _silence_stdout()  # so the flush at exit cannot fail either: the exit code stays the decision's
    raise typer.Exit(code)


class _Progress:
    """Section-by-section progress on a terminal (rich, on stderr, cleared when done); None in CI logs."""

    def __init__(self) -> None:
        from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

        self._bar = Progress(TextColumn("gatekit: {task.description}"), BarColumn(), TimeElapsedColumn(),
                             console=_console(stderr=True), transient=True)
        self._task = self._bar.add_task("reading the inputs", total=None)
        self._bar.start()

    @staticmethod
    def create(quiet: bool) -> _Progress | None:
        """Return a progress display when stderr is a terminal and the run is not quiet; otherwise None."""
        if quiet or not sys.stderr.isatty() or os.environ.get("CI"):
            return None
        return _Progress()

    def update(self, stage: str, done: int, total: int) -> None:
        """Show the stage about to run (``inputs`` or a section name)."""
        label = "reading the inputs" if stage == "inputs" else f"{stage.replace('_', ' ')} ({done + 1}/{total})"
        self._bar.update(self._task, description=label, completed=done if stage != "inputs" else None,
                         total=total if stage != "inputs" else None)

    def close(self) -> None:
        """Remove the display."""
        self._bar.stop()


def _github_step_summary(report: Any, written: dict[str, Path]) -> None:
    """Append the Markdown summary to ``$GITHUB_STEP_SUMMARY`` when GitHub Actions sets it; never fail the run."""
    path = os.environ.get("GITHUB_STEP_SUMMARY")
    if not path:
        return
    from gatekit.report.markdown import render_markdown

    links = {f"{k} report": str(v) for k, v in written.items() if k in ("html", "json", "junit")}
    try:
        with open(path, "a", encoding="utf-8") as fh:
            fh.write(render_markdown(report, links) + "\n")
    except OSError as exc:
        _console(stderr=True).print(f"gatekit: could not write the job summary to {path}: {exc}", markup=False)


class _UsageConflict(ValueError):
    """Flags and policy settings that contradict each other."""


def _silence_stdout() -> None:
    """Point stdout at /dev/null after a broken pipe (``gatekit run ... | head -1``), as Python's docs advise."""
    import os

    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):
        pass


def exit_code(decision: Any, *, fail_on_warn: bool = False, warn_only: bool = False) -> int:
    """Map a decision to the CLI's exit code (0 pass/warn, 1 block; see README "Exit codes")."""
    from gatekit.core.results import Decision

    if warn_only:
        return EXIT_PASS
    if decision == Decision.BLOCK or (fail_on_warn and decision == Decision.WARN):
        return EXIT_BLOCK
    return EXIT_PASS


policy_app = typer.Typer(help="Work with policy files.", no_args_is_help=True)
app.add_typer(policy_app, name="policy")


@policy_app.command("diff")
def policy_diff(
    old: Annotated[Path, typer.Argument(help="The policy as it was.")],
    new: Annotated[Path, typer.Argument(help="The policy as it is now.")],
    format: Annotated[str, typer.Option("--format", help="markdown or json.")] = "markdown",
) -> None:
    """Print a changelog from OLD to NEW: added, removed, tightened, loosened rules and severity changes."""
    import json

    from gatekit.core.errors import PolicyError
    from gatekit.policy import load_policy
    from gatekit.policy.diff import diff

    if format not in ("markdown", "json"):
        _fail(ValueError(f"--format must be markdown or json, not {format!r}"), "invalid usage")
    try:
        d = diff(load_policy(old), load_policy(new))
    except PolicyError as exc:
        _fail(exc, "invalid policy")
    except Exception as exc:  # noqa: BLE001
        _internal(exc)
    typer.echo(d.to_markdown() if format == "markdown" else json.dumps(d.to_dict(), indent=2))


@app.command()
def schema() -> None:
    """Print the policy file's JSON Schema (for editor completion and validation in other tools)."""
    import json

    from gatekit.policy.models import Policy

    doc = Policy.model_json_schema()
    doc = {"$schema": "https://json-schema.org/draft/2020-12/schema", **doc}
    typer.echo(json.dumps(doc, indent=2, sort_keys=False))


history_app = typer.Typer(help="The run history: per-gate outcomes and trends; mark runs for calibration.")
app.add_typer(history_app, name="history")


def _store(history: str | None) -> Any:
    """Open the configured history store for reading (exit 2 with the reason when it cannot be)."""
    from gatekit.history.config import load_config
    from gatekit.core.errors import InputError, input_error
    from gatekit.history.store import HistoryError, HistoryStore

    try:
        cfg = load_config(history)
        if cfg.history_url is None:
            raise input_error("history is off (--history off, GATEKIT_HISTORY_URL or gatekit.toml); nothing to read")
        return HistoryStore(cfg.history_url, create=False)
    except (InputError, HistoryError) as exc:
        _fail(exc, "cannot open the history")


def _policy_name(policy: str | None) -> str | None:
    """Return a policy file's name (its ``name:`` or stem), or the text itself taken as a policy name."""
    if policy is None:
        return None
    path = Path(policy)
    if path.suffix.lower() in (".yaml", ".yml") or path.is_file():
        from gatekit.core.errors import PolicyError
        from gatekit.policy import load_policy

        try:
            return load_policy(path).name
        except PolicyError as exc:
            _fail(exc, f"invalid policy: {policy}")
    return policy


@history_app.callback(invoke_without_command=True)
def history(
    ctx: typer.Context,
    policy: Annotated[str | None, typer.Option(help="Policy file or policy name (default: every policy).")] = None,
    last: Annotated[int, typer.Option(min=1, max=1_000_000, help="Most recent runs to read.")] = 10,
    format: Annotated[str, typer.Option("--format", help="table, json or markdown.")] = "table",
    store: Annotated[str | None, typer.Option("--history", help="History store URL or SQLite file (default from "
                                                                "gatekit.toml, else .gatekit/history.db).")] = None,
) -> None:
    """Show the last runs: per gate, pass / warn / block counts, hit rate and the trend of its observed value."""
    if ctx.invoked_subcommand is not None:
        ctx.obj = {"history": store}  # `gatekit history --history X mark ...` reads the same store
        return
    from gatekit.history.store import HistoryError, summarize
    from gatekit.history.views import render_markdown, render_table

    if format not in ("table", "json", "markdown"):
        _fail(ValueError(f"--format must be table, json or markdown, not {format!r}"), "invalid usage")
    name = _policy_name(policy)
    with _store(store) as st:
        try:
            runs_by_policy: dict[str, list[Any]] = {}
            names = [name] if name is not None else st.policy_names()
            for n in names:
                runs_by_policy[n] = st.runs(policy=n, last=last)
        except HistoryError as exc:
            _fail(exc, "cannot read the history")
        except Exception as exc:  # noqa: BLE001
            _internal(exc)
        summaries = {n: summarize(r) for n, r in runs_by_policy.items()}
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
                render_table(_console(), st.display, runs_by_policy, summaries)
        except (OSError, UnicodeError):  # `gatekit history | head`: the reader left; nothing is wrong
            _silence_stdout()
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
            _fail(exc, "cannot mark runs")
    typer.echo(f"marked {n} run{'s' if n != 1 else ''} "
               f"{'unmarked' if clear else ('legitimate' if legitimate else 'not legitimate')}")


@app.command()
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
) -> None:
    """Propose each metric rule's limit so that the target share of recorded runs would pass; write a copy."""
    from datetime import datetime, timezone

    from gatekit.history.thresholds import calibrate as do_calibrate
    from gatekit.history.thresholds import check_out, write_proposed
    from gatekit.core.errors import PolicyError
    from gatekit.history.store import HistoryError
    from gatekit.history.views import render_calibration
    from gatekit.policy import load_policy

    if format not in ("table", "json"):
        _fail(ValueError(f"--format must be table or json, not {format!r}"), "invalid usage")
    try:
        lp = load_policy(policy)
    except PolicyError as exc:
        _fail(exc, f"invalid policy: {policy}")
    out = out if out is not None else policy.with_name(f"{policy.stem}.proposed.yaml")
    try:
        check_out(lp, out)
    except ValueError as exc:
        _fail(exc, "invalid usage")
    with _store(store) as st:
        try:
            runs = st.runs(policy=lp.name, last=last, exclude_illegitimate=not legitimate_only,
                           legitimate_only=legitimate_only)
            left_out = sum(r.legitimate is False for r in st.runs(policy=lp.name, last=last))
        except HistoryError as exc:
            _fail(exc, "cannot read the history")
        display = st.display
    if not runs:
        _fail(ValueError(f"no recorded runs of policy {lp.name!r}"
                         f"{' marked legitimate' if legitimate_only else ''} in {display}; run it first"),
              "nothing to calibrate")
    try:
        proposals = do_calibrate(lp, runs, target_pass_rate)
        header = (f"# Proposed by `gatekit calibrate` on {datetime.now(timezone.utc).date().isoformat()}: each changed "
                  f"limit lets at least {target_pass_rate:.0%} of the last\n# {len(runs)} runs ({runs[0].run_id} .. "
                  f"{runs[-1].run_id}) pass (the table printed by the command has\n# each rule's rate). Review with: "
                  f"gatekit policy diff {policy} {out}\n")
        changed = [p for p in proposals if p.status == "proposed"]
        not_written = write_proposed(lp, proposals, out, header=header) if changed else []
    except (ValueError, OSError) as exc:
        _fail(exc, "cannot write the proposed policy")
    except Exception as exc:  # noqa: BLE001
        _internal(exc)
    try:
        if format == "json":
            import json

            typer.echo(json.dumps({"policy": str(policy), "runs": len(runs), "left_out_not_legitimate": left_out,
                                   "target_pass_rate": target_pass_rate,
                                   "proposed_file": str(out) if changed else None, "not_written": not_written,
                                   "rules": [p.to_dict() for p in proposals]}, indent=2, allow_nan=False))
        else:
            note = f" ({left_out} marked not legitimate left out)" if left_out else ""
            render_calibration(_console(), lp.name, len(runs), target_pass_rate, proposals, note)
            if changed and out.resolve().parent != policy.resolve().parent:
                typer.echo(f"note: {out} is not in the policy's folder; the policy's relative paths (inputs, "
                           "extends, baseline files) are relative to the file's own folder, so move it beside "
                           f"{policy} before running it")
            for line in not_written:
                typer.echo(f"not written: {line}")
            typer.echo(f"proposed policy: {out} (review: gatekit policy diff {policy} {out})" if changed else
                       "no limit changes: no proposed file written")
    except (OSError, UnicodeError):  # `gatekit calibrate ... | head`: the reader left; the file is written
        _silence_stdout()


@app.command("metrics")
def list_metrics() -> None:
    """List the metric names a policy may use, with units and definitions."""
    from gatekit.metrics import default_registry

    reg = default_registry()
    for spec in reg.specs():
        name = spec.name.replace("_at_T", "_at_<T>  (e.g. " + spec.name.replace("_at_T", "_at_0_5") + ")")
        aliases = f"  aliases: {', '.join(spec.aliases)}" if spec.aliases else ""
        params = f"  params: {', '.join(spec.params)}" if spec.params else ""
        typer.echo(f"{name}  [{spec.section}, {spec.unit}]  {spec.description}{aliases}{params}")


@app.command()
def demo(
    root: Annotated[Path | None, typer.Option(help="Repository root holding data/ and policies/ "
                                                    "(default: found from the current folder).")] = None,
    out: Annotated[Path | None, typer.Option(help="Output folder (default <root>/reports/demo).")] = None,
) -> None:
    """Train candidate models on the bundled HMDA and electricity data, then gate them with both policies."""
    from gatekit.demo import run_demo
    from gatekit.core.errors import GatekitError

    try:
        code = run_demo(root, out, _console())
    except GatekitError as exc:
        _fail(exc, "demo failed")
    except OSError as exc:
        _fail(exc, "demo failed: cannot write its output")
    except Exception as exc:  # noqa: BLE001
        _internal(exc)
    raise typer.Exit(code)


def entry() -> None:
    """Console-script entry point."""
    try:
        app()
    except KeyboardInterrupt:
        sys.exit(130)


if __name__ == "__main__":
    entry()
