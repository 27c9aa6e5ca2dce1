"""Exceptions raised by gatekit.

Every user-facing error carries enough context (file, line, key) to be fixed without a traceback.
The CLI maps :class:`PolicyError`, :class:`InputError` and :class:`UsageError` to exit code 2 (the exit
codes are :data:`EXIT_PASS`, :data:`EXIT_BLOCK`, :data:`EXIT_INVALID` and :data:`EXIT_INTERNAL`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

EXIT_PASS, EXIT_BLOCK, EXIT_INVALID, EXIT_INTERNAL = 0, 1, 2, 3
"""The command line's exit codes (README "Exit codes"): ``pass`` or ``warn``; ``block``; an invalid policy,
input or usage; an internal error (a bug). :func:`gatekit.api.exit_code` maps a decision to the first two."""


@dataclass(frozen=True)
class Problem:
    """One problem found in a policy or input file.

    Parameters
    ----------
    message : str
        What is wrong and, where possible, what to do.
    file : str or None
        Path of the file the problem is in.
    line : int or None
        1-based line number in ``file``.
    column : int or None
        1-based column number in ``file``.
    key : str or None
        Dotted path of the offending key, e.g. ``metrics[1].op``.
    """

    message: str
    file: str | None = None
    line: int | None = None
    column: int | None = None
    key: str | None = None

    def __str__(self) -> str:
        where = self.file or ""
        if self.file and self.line is not None:
            where += f":{self.line}"
            if self.column is not None:
                where += f":{self.column}"
        parts = [p for p in (where, self.key) if p]
        return f"{': '.join(parts)}: {self.message}" if parts else self.message

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-serialisable mapping of the problem's fields."""
        return {
            "message": self.message,
            "file": self.file,
            "line": self.line,
            "column": self.column,
            "key": self.key,
        }


@dataclass
class GatekitError(Exception):
    """Base class of gatekit's user-facing errors (exit code 2 in the CLI)."""

    problems: list[Problem] = field(default_factory=list)

    def __str__(self) -> str:
        return "\n".join(str(p) for p in self.problems)


class PolicyError(GatekitError):
    """The policy file is not valid: YAML syntax, unknown keys, wrong types, unknown metrics, ..."""


class InputError(GatekitError):
    """An input (data file, metrics JSON, model artifact, column) is missing or unusable."""


class UsageError(GatekitError):
    """Arguments that contradict each other or the policy (``--warn-only`` with ``--fail-on-warn``, ...)."""


def input_error(message: str, file: str | None = None, key: str | None = None) -> InputError:
    """Build an :class:`InputError` holding a single :class:`Problem`."""
    return InputError([Problem(message=message, file=file, key=key)])


def usage_error(message: str) -> UsageError:
    """Build a :class:`UsageError` holding a single :class:`Problem`.

    Parameters
    ----------
    message : str
        What contradicts what, and what to do.

    Returns
    -------
    UsageError
    """
    return UsageError([Problem(message=message)])


class NotComputable(Exception):
    """A metric is undefined on the given input (0/0, a single class, an empty group, ...).

    Raised by metric functions; the orchestrator turns it into status ``not_computable``,
    which never counts as a pass.

    Parameters
    ----------
    reason : str
        Human-readable reason, e.g. ``"y_true has a single class (1)"``.
    details : dict, optional
        Extra figures worth reporting (counts, groups).
    """

    def __init__(self, reason: str, details: dict[str, Any] | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.details = details or {}
