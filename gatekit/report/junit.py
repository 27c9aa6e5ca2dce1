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

import re
from collections import Counter

from gatekit.core.decision import effect
from gatekit.core.formatting import fmt, rule_text
from gatekit.core.results import Decision, GateReport, Status

_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ud800-\udfff\ufffe\uffff]")


def xml_text(value: object) -> str:
    r"""Return text XML 1.0 can hold: control characters and lone surrogates become visible escapes (``\x1b``).

    XML forbids them even as character references, and one would make the whole file unreadable to every
    JUnit consumer.
    """
    return _NOT_XML.sub(lambda m: f"\\x{ord(m.group()):02x}" if ord(m.group()) < 0x100 else
                        f"\\u{ord(m.group()):04x}", str(value))


def _timestamp(started: object) -> str | None:
    """``2026-11-30T04:13:38+00:00`` -> ``2026-11-30T04:13:38`` (UTC; the JUnit schemas' pattern has no offset)."""
    from datetime import datetime, timezone

    try:
        t = datetime.fromisoformat(str(started))
    except ValueError:
        return None
    if t.tzinfo is not None:
        t = t.astimezone(timezone.utc).replace(tzinfo=None)
    return t.isoformat(timespec="seconds")


def is_pilot(report: GateReport) -> bool:
    """Tell whether the run is a warn-only pilot (the CLI's enforcement, or the policy's ``mode: warn_only``)."""
    meta = report.metadata
    if meta.get("enforcement") is not None:
        return meta["enforcement"] == "warn_only"
    return ((meta.get("policy") or {}).get("resolved") or {}).get("mode") == "warn_only"


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
    pilot = is_pilot(report)
    xml = JUnitXml(xml_text(f"gatekit: {pol.get('name', 'policy')}"))
    suites: dict[str, TestSuite] = {}

    def suite_for(section: str) -> TestSuite:
        suite = suites.get(section)
        if suite is None:
            suite = suites[section] = TestSuite(xml_text(f"gatekit.{section}"))
            stamp = _timestamp(meta.get("started_at"))
            if stamp:
                suite.timestamp = stamp
            for key, val in (("decision", report.decision.value), ("policy", pol.get("name")),
                             ("policy_version", pol.get("version")), ("run_id", meta.get("run_id")),
                             ("reproducibility_sha256", (meta.get("reproducibility") or {}).get("sha256"))):
                if val is not None:
                    suite.add_property(key, xml_text(val))
        return suite

    seen: dict[tuple[str, str], int] = {}
    names = []
    for c in report.checks:
        params = c.details.get("params") or {}
        names.append(c.name + (f"[{', '.join(f'{k}={v}' for k, v in params.items())}]" if params else ""))
    counts = Counter((c.section, n) for c, n in zip(report.checks, names, strict=True))
    repeated = {k for k, v in counts.items() if v > 1}
    for c, name in zip(report.checks, names, strict=True):
        suite = suite_for(c.section)
        if (c.section, name) in repeated:  # two rules on one metric: tell them apart by their rule (and order)
            name = f"{name} ({rule_text(c)})"
            seen[(c.section, name)] = seen.get((c.section, name), 0) + 1
            if seen[(c.section, name)] > 1:
                name += f" #{seen[(c.section, name)]}"
        case = TestCase(xml_text(name), xml_text(f"gatekit.{c.section}"))
        observed = fmt(c.observed) if c.observed is not None else "n/a"
        case.system_out = xml_text(f"status: {c.status.value}; on_fail: {c.on_fail.value}; observed: {observed}; "
                                   f"rule: {rule_text(c, interval=True)}\n{c.message}")
        message = xml_text(c.message)
        eff = effect(c, strict)
        if c.status == Status.SKIPPED:
            case.result = [Skipped(f"skipped: {message}")]
        elif eff == Decision.BLOCK and not pilot:
            case.result = [Failure(message, f"block/{c.status.value}")]
        elif eff == Decision.BLOCK:
            case.result = [Skipped(f"would block (warn-only pilot): {message}")]
        elif eff == Decision.WARN:
            case.result = [Skipped(f"warning: {message}")]
        suite.add_testcase(case)
    if not report.checks:  # a policy that checked nothing still shows its decision, never a green empty suite
        case = TestCase("decision", "gatekit.core.decision")
        reason = xml_text(report.reason)
        if report.decision == Decision.BLOCK and not pilot:
            case.result = [Failure(reason, "block/no_checks")]
        elif report.decision != Decision.PASS:
            case.result = [Skipped(f"warning: {reason}")]
        suite_for("decision").add_testcase(case)
    for suite in suites.values():
        suite.update_statistics()
        xml.add_testsuite(suite)
    xml.update_statistics()
    return '<?xml version="1.0" encoding="utf-8"?>\n' + xml.tostring().decode("utf-8") + "\n"
