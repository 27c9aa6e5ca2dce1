"""A recorded run as plain data, and the identity of a check across runs (no database imports).

:class:`RunView` and :func:`check_keys` are what alerts, views and threshold tuning read; loading them does
not load SQLAlchemy.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any


def check_keys(checks: Iterable[Any]) -> list[str]:
    """Stable identity of each check across runs: ``section/name/op``, plus ``#k`` for the k-th repeat.

    A rule keeps its key when its threshold or severity changes (calibration, escalation from warn to
    block), so its history continues; two rules on the same metric with the same operator are told apart
    by their order.

    Parameters
    ----------
    checks : iterable of CheckResult or mapping
        Objects with ``section``, ``name`` and ``op`` (attributes or keys), in report order.
    """
    seen: dict[str, int] = {}
    out = []
    for c in checks:
        get = c.get if isinstance(c, dict) else (lambda k, c=c: getattr(c, k))
        base = f"{get('section')}/{get('name')}/{get('op') or '-'}"
        seen[base] = seen.get(base, 0) + 1
        out.append(base if seen[base] == 1 else f"{base}#{seen[base]}")
    return out


def stored_form(value: Any) -> Any:
    """Return ``value`` as the store keeps it in strict JSON.

    Infinities become the text ``"Infinity"`` / ``"-Infinity"`` (a bin edge of ``.inf`` in a policy), NaN
    None, tuples lists, numpy scalars Python numbers, mapping keys text. What the store wrote and what is
    compared with it (:mod:`gatekit.history.replay`) both go through it.
    """
    if isinstance(value, float):
        if math.isnan(value):
            return None
        return value if math.isfinite(value) else ("Infinity" if value > 0 else "-Infinity")
    if isinstance(value, dict):
        return {str(k): stored_form(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [stored_form(v) for v in value]
    if hasattr(value, "item") and callable(value.item) and not isinstance(value, (str, bytes)):
        try:  # a numpy scalar
            return stored_form(value.item())
        except (TypeError, ValueError):
            return str(value)
    return value


@dataclass
class RunView:
    """A recorded run as read back (plain data, detached from the database).

    ``model_name`` is the model the run gated (the policy's ``holdout.model``, else its name); ``policy`` the
    resolved policy the run used (None for runs recorded before history schema 3). Each check is a mapping with
    ``key``, ``section``, ``name``, ``metric``, ``status``, ``on_fail``, ``observed``, ``op``, ``threshold``,
    ``margin``, ``rule``, ``message`` and ``observation`` (what replay reads: :func:`gatekit.history.store.observation`;
    None before schema 3).
    """

    run_id: str
    started_at: datetime
    policy_name: str
    policy_version: str
    policy_sha256: str
    decision: str
    reason: str
    enforcement: str | None
    model_sha256: str | None
    data_sha256: str | None
    legitimate: bool | None
    policy_path: str | None = None
    exit_code: int | None = None
    reproducibility_sha256: str | None = None
    gatekit_version: str | None = None
    recorded_at: datetime | None = None
    files: dict[str, Any] = field(default_factory=dict)
    checks: list[dict[str, Any]] = field(default_factory=list)
    alerts: list[dict[str, Any]] = field(default_factory=list)
    model_name: str | None = None
    policy: dict[str, Any] | None = None

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-ready mapping (times in ISO 8601, UTC)."""
        return {"run_id": self.run_id, "started_at": self.started_at.isoformat(timespec="seconds"),
                "policy_name": self.policy_name, "policy_version": self.policy_version,
                "policy_sha256": self.policy_sha256, "decision": self.decision, "reason": self.reason,
                "enforcement": self.enforcement, "model_sha256": self.model_sha256,
                "data_sha256": self.data_sha256, "files": self.files, "legitimate": self.legitimate,
                "policy_path": self.policy_path, "exit_code": self.exit_code,
                "reproducibility_sha256": self.reproducibility_sha256, "gatekit_version": self.gatekit_version,
                "recorded_at": self.recorded_at.isoformat() if self.recorded_at else None,
                "model_name": self.model_name, "checks": self.checks, "alerts": self.alerts}
