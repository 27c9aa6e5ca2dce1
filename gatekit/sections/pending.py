"""Sections that are parsed and validated but not evaluated yet: their rules report ``skipped``.

Fail closed: in strict mode a skipped ``block`` rule blocks, so a policy never passes on a check that
did not run.
"""

from __future__ import annotations

from typing import Any

from gatekit.policy.loader import LoadedPolicy
from gatekit.results import CheckResult, OnFail, Status
from gatekit.sections.base import RunContext

NOT_IMPLEMENTED = "not implemented: this gatekit version parses and validates this rule but does not evaluate it yet"


def _rules(section: str, spec: Any) -> list[tuple[str, dict[str, Any]]]:
    if spec is None:
        return []
    if section == "drift":
        return [(f"drift_{spec.method}", {"method": spec.method, "threshold": spec.threshold,
                                         "features": spec.features})]
    return []


class PendingSection:
    """Reports each configured rule of a not-yet-implemented section as ``skipped``."""

    def __init__(self, name: str) -> None:
        self.name = name

    def planned(self, policy: LoadedPolicy) -> list[tuple[str, OnFail]]:
        """One check per configured rule, with the section's ``on_fail``."""
        spec = getattr(policy.policy, self.name)
        return [(n, spec.on_fail) for n, _ in _rules(self.name, spec)]

    def run(self, ctx: RunContext) -> list[CheckResult]:
        """Return a ``skipped`` check per configured rule."""
        spec = getattr(ctx.policy.policy, self.name)
        return [CheckResult(name=n, section=self.name, status=Status.SKIPPED, on_fail=spec.on_fail,
                            message=NOT_IMPLEMENTED, details={"rule": d})
                for n, d in _rules(self.name, spec)]
