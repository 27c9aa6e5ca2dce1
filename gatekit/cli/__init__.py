"""Command line: thin layer over the Python API. Exit codes: 0 pass/warn, 1 block, 2 invalid, 3 internal.

The commands live by group in :mod:`gatekit.cli.run` (run, verify, validate), :mod:`gatekit.cli.policy`
(policy diff, schema, metrics), :mod:`gatekit.cli.history` (history, history mark, calibrate),
:mod:`gatekit.cli.replay` (replay), :mod:`gatekit.cli.init` (init) and :mod:`gatekit.cli.demo`; this module builds
the app from them, explicitly, in the order ``--help`` lists them. The console script is :func:`entry`.
"""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from gatekit.cli import demo as _demo
from gatekit.cli import history as _history
from gatekit.cli import init as _init
from gatekit.cli import policy as _policy
from gatekit.cli import replay as _replay
from gatekit.cli import run as _run
from gatekit.core.version import __version__

app = typer.Typer(
    name="gatekit",
    help="Model quality gate: evaluate a model against a YAML policy; exit 0 pass/warn, 1 block, "
         "2 invalid policy or inputs, 3 internal error.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


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


app.command()(_init.init)
app.command()(_run.validate)
app.command()(_run.verify)
app.command()(_run.run)
app.add_typer(_policy.policy_app, name="policy")
app.command()(_policy.schema)
app.add_typer(_history.history_app, name="history")
app.command()(_history.calibrate)
app.command()(_replay.replay)
app.command("metrics")(_policy.list_metrics)
app.command()(_demo.demo)


def entry() -> None:
    """Run the command line (the ``gatekit`` console script and ``python -m gatekit``).

    Raises
    ------
    SystemExit
        Always: with the command's exit code, or 130 after Ctrl-C.
    """
    try:
        app()
    except KeyboardInterrupt:
        sys.exit(130)


__all__ = ["app", "entry", "main"]
