"""Helpers of the tests of whole runs on observed metrics."""

from __future__ import annotations

from gatekit.core.results import CheckResult, GateReport


def by_name(report: GateReport) -> dict[str, CheckResult]:
    names = [c.name for c in report.checks]
    assert len(names) == len(set(names)), names
    return {c.name: c for c in report.checks}
