"""JUnit XML: one test case per check, for the test-report views of Jenkins, GitLab, GitHub and Azure DevOps.

Written with junitparser. The mapping follows what those consumers count:

- a check that blocks the model (a failed ``block`` rule; in strict mode, any ``block`` rule that is not a
  clean pass) is a ``<failure>`` (type ``block/<status>``), so the pipeline's test view turns red;
- a check that only warns (a failed ``warn`` rule, or a ``block`` rule that could not be evaluated in
  non-strict mode) is ``<skipped>`` with the message ``warning: ...``, the usual way to show a
  non-fatal finding (JUnit has no warning element; consumers show skipped tests in yellow);
- a ``skipped`` check is ``<skipped>``; a passing check has no child element;
- under a warn-only pilot, blocking checks are ``<skipped>`` with ``would block: ...``: the pilot reports,
  it does not fail anything.

One ``<testsuite>`` per report section (``classname`` ``gatekit.<section>``), in report order, with the
decision, policy, version, run id and reproducibility hash as suite properties. Every case's
``<system-out>`` holds the observed value, the rule and the check's message.
"""

from __future__ import annotations

from typing import Any

from gatekit.decision import effect, fmt
from gatekit.results import Decision, GateReport, Status


def _rule(c: Any) -> str:
    if c.op and c.threshold is not None:
        return f"{c.op} {fmt(c.threshold)}"
    return str(c.details.get("require") or c.op or "")


def render_junit(report: GateReport) -> str:
    """Render the report as JUnit XML text (UTF-8, with an XML declaration).

    Parameters
    ----------
    report : GateReport
        The run's report; ``metadata["enforcement"] == "warn_only"`` turns blocking failures into skips.

    Returns
    -------
    str
        ``<testsuites>`` with one ``<testsuite>`` per section.
    """
    from junitparser import Failure, JUnitXml, Skipped, TestCase, TestSuite

    meta = report.metadata
    pol = meta.get("policy", {})
    strict = bool(pol.get("strict", True))
    pilot = meta.get("enforcement") == "warn_only"
    xml = JUnitXml(f"gatekit: {pol.get('name', 'policy')}")
    suites: dict[str, TestSuite] = {}
    for c in report.checks:
        suite = suites.get(c.section)
        if suite is None:
            suite = suites[c.section] = TestSuite(f"gatekit.{c.section}")
            suite.timestamp = meta.get("started_at")
            for key, val in (("decision", report.decision.value), ("policy", pol.get("name")),
                             ("policy_version", pol.get("version")), ("run_id", meta.get("run_id")),
                             ("reproducibility_sha256", (meta.get("reproducibility") or {}).get("sha256"))):
                if val is not None:
                    suite.add_property(key, str(val))
        params = c.details.get("params") or {}
        name = c.name + (f"[{', '.join(f'{k}={v}' for k, v in params.items())}]" if params else "")
        case = TestCase(name, f"gatekit.{c.section}")
        observed = fmt(c.observed) if c.observed is not None else "n/a"
        case.system_out = (f"status: {c.status.value}; on_fail: {c.on_fail.value}; observed: {observed}; "
                           f"rule: {_rule(c)}\n{c.message}")
        eff = effect(c, strict)
        if c.status == Status.SKIPPED:
            case.result = [Skipped(f"skipped: {c.message}")]
        elif eff == Decision.BLOCK and not pilot:
            case.result = [Failure(c.message, f"block/{c.status.value}")]
        elif eff == Decision.BLOCK:
            case.result = [Skipped(f"would block (warn-only pilot): {c.message}")]
        elif eff == Decision.WARN:
            case.result = [Skipped(f"warning: {c.message}")]
        suite.add_testcase(case)
    for suite in suites.values():
        suite.update_statistics()
        xml.add_testsuite(suite)
    xml.update_statistics()
    return '<?xml version="1.0" encoding="utf-8"?>\n' + xml.tostring().decode("utf-8") + "\n"
