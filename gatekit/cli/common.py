"""What the commands share: the consoles, the error exits (2 invalid, 3 internal), a closed stdout, progress."""

from __future__ import annotations

import os
import sys
import traceback
from typing import Any, NoReturn

import typer

from gatekit.core.errors import EXIT_INTERNAL, EXIT_INVALID


def console(stderr: bool = False) -> Any:
    """Return a rich console on stdout (or stderr): no highlighting, 160 columns when not a terminal."""
    from rich.console import Console

    class _Console(Console):
        def on_broken_pipe(self) -> None:
            # rich exits 1 when the reader hangs up (`gatekit run ... | head -1`); 1 means "block" here, so
            # drop the rest of the output instead and let the decision set the exit code
            silence_stdout()
            raise OSError("stdout closed")

    console = _Console(stderr=stderr, highlight=False, soft_wrap=True)
    if not console.is_terminal:
        console.width = 160
    return console


def fail(exc: Exception, what: str) -> NoReturn:
    """Print ``what`` and each line of ``exc`` on stderr, then exit 2 (invalid policy, inputs or usage)."""
    from rich.text import Text

    from gatekit.core.formatting import printable

    err = console(stderr=True)
    err.print(Text(printable(what), style="bold red"))
    for line in str(exc).splitlines():
        err.print(Text(f"  {printable(line)}"))
    raise typer.Exit(EXIT_INVALID)


def load_policy_or_fail(path: Any) -> Any:
    """Load a policy file (:func:`gatekit.policy.load_policy`), or exit 2 with ``invalid policy: <path>`` and why.

    Returns
    -------
    LoadedPolicy
    """
    from gatekit.core.errors import PolicyError
    from gatekit.policy import load_policy

    try:
        return load_policy(path)
    except PolicyError as exc:
        fail(exc, f"invalid policy: {path}")


def refuse_control(value: object, option: str) -> None:
    """Exit 2 naming ``option`` when ``value`` (a path or store from the command line) is not one printable line.

    A control character (a line break, an escape), a bidirectional override, U+2028/U+2029 (YAML line
    breaks) or an undecodable byte in a path would forge a line wherever the path is written (a YAML comment,
    a log); None (the option not given) passes.
    """
    from gatekit.core.formatting import printable

    if value is None:
        return
    text = str(value)
    if printable(text) != text or "\u2028" in text or "\u2029" in text:
        shown = printable(text).replace("\u2028", "\\u2028").replace("\u2029", "\\u2029")
        fail(ValueError(f"{option} {shown} has a control character (a line break, an escape, ...) or an "
                        "undecodable byte; rename the file or give another path"), "invalid usage")


def internal(exc: BaseException) -> NoReturn:
    """Print an internal error (a bug) on stderr, with the traceback under ``GATEKIT_DEBUG``, then exit 3."""
    from gatekit.core.formatting import printable

    err = console(stderr=True)
    text = str(exc)
    if len(text) > 2000:  # a library may put megabytes in a message; the head says what happened
        text = text[:2000] + f" ... ({len(text) - 2000:,} more characters)"
    err.print(printable(f"internal error: {type(exc).__name__}: {text}"), markup=False)
    if os.environ.get("GATEKIT_DEBUG"):
        err.print(traceback.format_exc(), markup=False)
    else:
        err.print("(set GATEKIT_DEBUG=1 for the traceback; please report it)", markup=False)
    raise typer.Exit(EXIT_INTERNAL)


def silence_stdout() -> None:
    """Point stdout at /dev/null after a broken pipe (``gatekit run ... | head -1``), as Python's docs advise."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):
        pass


class SectionProgress:
    """Section-by-section progress on a terminal (rich, on stderr, cleared when done); None in CI logs."""

    def __init__(self) -> None:
        from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

        self._bar = Progress(TextColumn("gatekit: {task.description}"), BarColumn(), TimeElapsedColumn(),
                             console=console(stderr=True), transient=True)
        self._task = self._bar.add_task("reading the inputs", total=None)
        self._bar.start()

    @staticmethod
    def create(quiet: bool) -> SectionProgress | None:
        """Return a progress display when stderr is a terminal and the run is not quiet; otherwise None."""
        if quiet or not sys.stderr.isatty() or os.environ.get("CI"):
            return None
        return SectionProgress()

    def update(self, stage: str, done: int, total: int) -> None:
        """Show the stage about to run (``inputs`` or a section name)."""
        label = "reading the inputs" if stage == "inputs" else f"{stage.replace('_', ' ')} ({done + 1}/{total})"
        self._bar.update(self._task, description=label, completed=done if stage != "inputs" else None,
                         total=total if stage != "inputs" else None)

    def close(self) -> None:
        """Remove the display."""
        self._bar.stop()
