"""Shared building blocks of the policy spec models.

The :class:`Spec` base class (frozen, strict, unknown keys rejected), the ``op`` and ``on_fail``
validators, the unknown-metric error with its did-you-mean, the :data:`LogicalType` column type
shared by the compatibility and data-quality sections, and :class:`AlertSpec`, which metric rules,
gates and the policy itself all take.
"""

from __future__ import annotations

import difflib
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, model_validator
from pydantic_core import PydanticCustomError

from gatekit.core.compare import OPS
from gatekit.core.results import OnFail
from gatekit.core.yaml_limits import MAX_PATH_CHARS

_OP_TYPOS = {"=>": ">=", "=<": "<=", "=": "==", "<>": "!=", "≥": ">=", "≤": "<=", "≠": "!="}


class Spec(BaseModel):
    """Base of all spec models: frozen, strict, unknown keys rejected (the loader adds a suggestion)."""

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True, allow_inf_nan=False)


def unknown_metric(registry: Any, name: str, where: str) -> PydanticCustomError:
    """Return the validation error for a metric name the registry does not know, with a did-you-mean."""
    explain = getattr(registry, "explain", None)
    problem = explain(name) if explain is not None else None
    if problem:
        return PydanticCustomError("metric_name", "metric name {name}{where}: {problem}",
                                   {"name": repr(name), "where": where, "problem": problem})
    close = registry.suggest(name)
    hint = f"; did you mean {close!r}?" if close else ""
    return PydanticCustomError(
        "unknown_metric", "unknown metric {name}{where}{hint} (`gatekit metrics` lists the valid names)",
        {"name": repr(name), "where": where, "hint": hint},
    )


def check_op(v: str) -> str:
    """Validate a comparison operator, naming the intended one for a typo (``=>`` -> ``>=``)."""
    if v not in OPS:
        close = difflib.get_close_matches(v, OPS, n=1, cutoff=0.3)
        guess = _OP_TYPOS.get(v.strip()) or (close[0] if close else None)
        hint = f"; did you mean {guess!r}?" if guess else ""
        raise PydanticCustomError(
            "unknown_op", "unknown op {op}{hint} Use one of: {ops}",
            {"op": repr(v), "hint": hint or ".", "ops": ", ".join(OPS)},
        )
    return v


def _on_fail_value(v: Any) -> Any:
    if isinstance(v, str) and v in ("block", "warn"):
        return OnFail(v)
    if isinstance(v, OnFail):
        return v
    raise PydanticCustomError("on_fail", "on_fail must be 'block' or 'warn', not {v}", {"v": repr(v)})


OnFailField = Annotated[OnFail, BeforeValidator(_on_fail_value)]
"""``block`` or ``warn``; any other value is an error naming it."""


def _logical_type(v: Any) -> str:
    from gatekit.data.logical_types import normalize_type

    if not isinstance(v, str):
        raise PydanticCustomError("type_name", "a type must be a name such as float, not {v}", {"v": repr(v)})
    try:
        return normalize_type(v)
    except ValueError as exc:
        raise PydanticCustomError("type_name", "{msg}", {"msg": str(exc)}) from None


LogicalType = Annotated[str, BeforeValidator(_logical_type)]
"""A logical column type (:mod:`gatekit.data.logical_types`), aliases such as ``str`` or ``int`` accepted."""



def check_bins_map(v: dict[str, Any], error_type: str, prefix: str = "") -> dict[str, Any]:
    """Validate a ``column -> bins`` mapping (``inputs.sensitive_bins``, a slice rule's ``bins``).

    Parameters
    ----------
    v : dict of str to object
        Per column: strictly increasing bin edges, or ``categories`` (:func:`gatekit.data.sensitive.check_bins`).
    error_type : str
        The pydantic error type reported (the policy key).
    prefix : str
        Put before the column in the message (``"bins."``).

    Returns
    -------
    dict of str to (list of float or str)
        The cleaned entries.

    Raises
    ------
    pydantic_core.PydanticCustomError
        An entry that is not increasing edges or ``categories``, naming its column.
    """
    from gatekit.data.sensitive import check_bins

    out = {}
    for col, spec in v.items():
        try:
            out[col] = check_bins(spec)
        except ValueError as exc:
            raise PydanticCustomError(error_type, "{prefix}{col}: {msg}",
                                      {"prefix": prefix, "col": col, "msg": str(exc)}) from None
    return out


def check_path(v: str) -> str:
    """Validate a file path a policy names: not empty, no NUL or other control character, not absurdly long.

    The operating system refuses such a path with an exception that is no :class:`OSError` (``ValueError:
    embedded null byte``), long after the policy was read; checked here, the error names the policy's file,
    line and key. The path's content is never echoed (only the character's position and code).

    Parameters
    ----------
    v : str
        The path as written in the policy.

    Returns
    -------
    str
        ``v`` unchanged.

    Raises
    ------
    pydantic_core.PydanticCustomError
        An empty path, a control character (NUL, newline, tab, ...) or more than :data:`MAX_PATH_CHARS`
        characters.
    """
    if not v.strip():
        raise PydanticCustomError("path", "a file path cannot be empty; name the file (relative to the policy) or "
                                  "remove the key", {})
    if len(v) > MAX_PATH_CHARS:
        raise PydanticCustomError("path", "a file path of {n} characters is longer than any file system allows "
                                  "({limit}); check the value", {"n": len(v), "limit": MAX_PATH_CHARS})
    bad = next((i for i, ch in enumerate(v) if ord(ch) < 32 or ord(ch) == 127), None)
    if bad is not None:
        raise PydanticCustomError("path", "a file path cannot hold a control character ({code} at character "
                                  "{pos}); remove it (a NUL byte or a newline in a path is a copy-paste mistake)",
                                  {"code": f"U+{ord(v[bad]):04X}", "pos": bad + 1})
    return v


PathField = Annotated[str, AfterValidator(check_path)]
"""A file path in the policy (relative to the policy file): a string checked by :func:`check_path`."""


class AlertSpec(Spec):
    """Alert on repeated failures: a rule that failed in ``after`` of the last ``within`` runs of the policy.

    The current run counts as one of the ``within`` runs and must itself have failed (an alert fires on a
    failure, never on a pass). A failure is any status but ``pass`` and ``skipped`` (fail closed:
    ``error`` and ``not_computable`` count). Runs are those of the same policy name in the history store,
    any version.

    Parameters
    ----------
    after : int
        Failures needed, 1 <= after <= within (e.g. 3).
    within : int
        Window of most recent runs, current included (e.g. 5), at most 1000.

    Raises
    ------
    pydantic.ValidationError
        ``after`` greater than ``within``.
    """

    after: int = Field(ge=1)
    within: int = Field(ge=1, le=1000)

    @model_validator(mode="after")
    def _order(self) -> AlertSpec:
        if self.after > self.within:
            raise PydanticCustomError("alert", "alert.after ({after}) cannot exceed alert.within ({within}): "
                                      "it counts failures among the last `within` runs",
                                      {"after": self.after, "within": self.within})
        return self
