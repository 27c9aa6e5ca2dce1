"""The ``demo`` command: train the bundled models and gate them."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from gatekit.cli.common import console, fail, internal


def demo(
    root: Annotated[Path | None, typer.Option(help="Repository root holding data/ and policies/ "
                                                    "(default: found from the current folder).")] = None,
    out: Annotated[Path | None, typer.Option(help="Output folder (default <root>/reports/demo).")] = None,
) -> None:
    """Train models on the bundled HMDA, electricity and glass data, then gate them with the seven demo policies."""
    from gatekit.core.errors import GatekitError
    from gatekit.demo import run_demo

    try:
        code = run_demo(root, out, console())
    except GatekitError as exc:
        fail(exc, "demo failed")
    except OSError as exc:
        fail(exc, "demo failed: cannot write its output")
    except Exception as exc:  # noqa: BLE001
        internal(exc)
    raise typer.Exit(code)

