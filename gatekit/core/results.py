"""Result data: statuses, check results and the gate report. Pure data, no rendering.

The HTML, JUnit and Markdown renderings live in :mod:`gatekit.report`; :class:`gatekit.report.Report` is a
GateReport that can render and save itself (what :func:`gatekit.run` returns).

The JSON report (``schema_version`` 1) is ``GateReport.to_dict()``; every consumer may rely on the
fields ``schema_version``, ``decision``, ``checks[]`` (``name``, ``section``, ``status``, ``on_fail``,
``observed``, ``op``, ``threshold``, ``message``) and ``metadata``.
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, field
from enum import Enum
from typing import Any, TypedDict

SCHEMA_VERSION = 1


class Status(str, Enum):
    """Outcome of one check. Only ``PASS`` counts as a pass (fail closed)."""

    PASS = "pass"
    FAIL = "fail"
    ERROR = "error"
    NOT_COMPUTABLE = "not_computable"
    SKIPPED = "skipped"
    INCONCLUSIVE = "inconclusive"
    """A confidence rule whose interval straddles its limit, or whose data are too few to show its margin; it
    counts as a failure of the severity the policy set for that outcome (``check.on_fail``)."""


class OnFail(str, Enum):
    """Severity of a rule: a failing ``block`` rule blocks, a failing ``warn`` rule warns."""

    BLOCK = "block"
    WARN = "warn"


class Decision(str, Enum):
    """The gate's decision."""

    PASS = "pass"
    WARN = "warn"
    BLOCK = "block"


class CheckKey(TypedDict):
    """What every result of one rule shares: ``key: CheckKey = dict(name=..., section=..., on_fail=...)``.

    Passed as ``CheckResult(status=..., message=..., **key)``; a module whose results share more fields
    (``op``, ``threshold``, ...) extends it, so that the type checker still checks each keyword.
    """

    name: str
    section: str
    on_fail: OnFail


class RuleKey(CheckKey):
    """CheckKey of a threshold rule on a metric: its comparison, and where the observed value came from."""

    op: str
    threshold: float
    metric: str
    source: str | None


@dataclass
class CheckResult:
    """The outcome of one rule of the policy.

    Parameters
    ----------
    name : str
        The rule's name as written in the policy (e.g. ``auc_roc`` or a gate's name).
    section : str
        Policy section the rule belongs to (``performance``, ``fairness``, ``gates``, ...).
    status : Status
        ``pass``, ``fail``, ``error``, ``not_computable``, ``skipped`` or ``inconclusive``.
    on_fail : OnFail
        Severity of the rule.
    observed : float or None
        The observed value; None when it could not be obtained.
    op : str or None
        Comparison operator of the rule (``>=``, ``>``, ``<=``, ``<``, ``==``, ``!=``), or ``within`` for a
        two-sided band ``-threshold <= observed <= threshold`` (a baseline-relative ``within`` rule).
    threshold : float or None
        The rule's threshold.
    message : str
        One sentence a person can read: what was observed against what, or why it has no value.
    margin : float or None
        Signed distance to the threshold, positive on the passing side (``observed - threshold``
        for ``>=``/``>``, ``threshold - observed`` for ``<=``/``<``); None for ``==``/``!=``.
    metric : str or None
        Canonical metric name when the rule is a metric rule (``roc_auc`` for ``auc_roc``).
    source : str or None
        Where the observed value came from: ``computed`` or ``metrics_file``.
    details : dict
        Extra, check-specific data (definition used, counts, per-group values, sub-conditions).
    """

    name: str
    section: str
    status: Status
    on_fail: OnFail
    observed: float | None = None
    op: str | None = None
    threshold: float | None = None
    message: str = ""
    margin: float | None = None
    metric: str | None = None
    source: str | None = None
    details: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-serialisable mapping (non-finite floats become None)."""
        d = asdict(self)
        d["status"] = self.status.value
        d["on_fail"] = self.on_fail.value
        return _json_safe(d)


@dataclass
class GateReport:
    """The decision of one gate run and everything needed to explain it.

    Parameters
    ----------
    decision : Decision
        ``pass``, ``warn`` or ``block``.
    reason : str
        One sentence saying why (the first blocking rule and its figures, or "all rules passed").
    checks : list of CheckResult
        One per rule, in policy order within each section.
    metadata : dict
        Run metadata: run id, policy path/sha256/version, input sha256s, library versions, timestamps.
    """

    decision: Decision
    reason: str
    checks: list[CheckResult]
    metadata: dict[str, Any] = field(default_factory=dict)
    schema_version: int = SCHEMA_VERSION
    attachments: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)
    """File name -> callable returning the file's text (evidently's drift report); written beside the
    report by :func:`gatekit.report.write_reports`, never part of the JSON."""

    def counts(self) -> dict[str, int]:
        """Return the number of checks per status (every status present, zeros included)."""
        out = {s.value: 0 for s in Status}
        for c in self.checks:
            out[c.status.value] += 1
        return out

    def to_dict(self) -> dict[str, Any]:
        """Return the JSON report as a plain mapping (schema ``schema_version``)."""
        return _json_safe(
            {
                "schema_version": self.schema_version,
                "decision": self.decision.value,
                "reason": self.reason,
                "counts": self.counts(),
                "checks": [c.to_dict() for c in self.checks],
                "metadata": self.metadata,
            }
        )

    def to_json(self, indent: int = 2) -> str:
        """Return the JSON report as text (strict JSON: no NaN or Infinity)."""
        return json.dumps(self.to_dict(), indent=indent, allow_nan=False, ensure_ascii=False)


def _json_safe(obj: Any) -> Any:
    """Convert numpy scalars, enums and non-finite floats into strict-JSON values."""
    if isinstance(obj, Enum):
        return obj.value
    if isinstance(obj, dict):
        return {str(k): _json_safe(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_json_safe(v) for v in obj]
    if isinstance(obj, bool) or obj is None or isinstance(obj, str):
        return obj
    if isinstance(obj, int):
        return obj
    try:
        f = float(obj)
    except (TypeError, ValueError):
        return str(obj)
    if hasattr(obj, "dtype") and getattr(obj.dtype, "kind", "") in "iub":
        return int(obj)
    return f if math.isfinite(f) else None
