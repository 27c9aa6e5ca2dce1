"""Tests of :mod:`gatekit.report.junit`: JUnit XML, validated against the schema CI tools accept."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest

from gatekit.core.results import CheckResult, Decision, Status
from gatekit.report import Report
from gatekit.report.junit import render_junit
from tests.report.helpers import (
    BLK,
    BLOCKING,
    PASSING,
    RUN_ID,
    SEED_EX1,
    SHA,
    WRN,
    F,
    P,
    gk_ci,
    meta,
    metrics_file,
    mixed_checks,
    mixed_report,
    parse_valid,
)

SECTIONS = ["performance", "fairness", "data_quality", "gates"]
CASE_NAMES = ["auc_roc", "precision_at_0_5", "latency_p95_ms[q=95]", "fairness_demographic_parity_diff",
              "fairness_equalized_odds_diff", "income.range", "age.max_null_fraction", "ship_gate"]


# Expected JUnit element per case, by hand from the junit.py docstring:
#   ("failure", type) | ("skipped", message prefix) | None for a clean pass.
W, SK, WB = "warning: ", "skipped: ", "would block (warn-only pilot): "
EXPECTED_CASES = {
    # strict: every block rule that is not a clean pass blocks -> failure block/<status>
    "strict": [None, ("failure", "block/fail"), ("skipped", W), ("failure", "block/error"), ("skipped", W),
               ("skipped", SK), ("failure", "block/not_computable"), None],
    # non-strict: only a failed block rule blocks; error / not_computable block rules warn
    "lenient": [None, ("failure", "block/fail"), ("skipped", W), ("skipped", W), ("skipped", W),
                ("skipped", SK), ("skipped", W), None],
    # strict under a warn-only pilot: what would block is skipped, never a failure
    "pilot": [None, ("skipped", WB), ("skipped", W), ("skipped", WB), ("skipped", W),
              ("skipped", SK), ("skipped", WB), None],
}


# (tests, failures, skipped) per suite, counted by hand from the table above
EXPECTED_COUNTS = {
    "strict": {"performance": (3, 1, 1), "fairness": (2, 1, 1), "data_quality": (2, 1, 1), "gates": (1, 0, 0)},
    "lenient": {"performance": (3, 1, 1), "fairness": (2, 0, 2), "data_quality": (2, 0, 2), "gates": (1, 0, 0)},
    "pilot": {"performance": (3, 0, 2), "fairness": (2, 0, 2), "data_quality": (2, 0, 2), "gates": (1, 0, 0)},
}
EXPECTED_TOTALS = {"strict": (8, 3, 3), "lenient": (8, 1, 5), "pilot": (8, 0, 6)}


def report_for(mode: str) -> Report:
    if mode == "strict":
        return mixed_report(True, enforcement="enforced")
    if mode == "lenient":
        return mixed_report(False, enforcement="enforced")
    return mixed_report(True, enforcement="warn_only")


def outcome(case: ET.Element) -> tuple[str, str] | None:
    kids = [k for k in case if k.tag in ("failure", "error", "skipped")]
    assert len(kids) <= 1, f"{case.get('name')}: more than one result element"
    if not kids:
        return None
    k = kids[0]
    return (k.tag, k.get("type")) if k.tag in ("failure", "error") else (k.tag, k.get("message"))


# --------------------------------------------------------------------------------------------------------------
# 1. JUnit
# --------------------------------------------------------------------------------------------------------------


def test_own_schema_rejects_properties_after_testcases(junit_schema):
    """The schema itself demands <properties> before the test cases (what consumers accept)."""
    good = ('<testsuites><testsuite name="s" tests="1" failures="0" errors="0" skipped="0">'
            '<properties><property name="a" value="b"/></properties><testcase name="t" classname="c"/>'
            '</testsuite></testsuites>')
    bad = ('<testsuites><testsuite name="s" tests="1" failures="0" errors="0" skipped="0">'
           '<testcase name="t" classname="c"/><properties><property name="a" value="b"/></properties>'
           '</testsuite></testsuites>')
    no_counts = '<testsuites><testsuite name="s"><testcase name="t" classname="c"/></testsuite></testsuites>'
    junit_schema.validate(good)
    assert not junit_schema.is_valid(bad)
    assert not junit_schema.is_valid(no_counts)


@pytest.mark.parametrize("mode", ["strict", "lenient", "pilot"])
def test_junit_mapping_counts_and_schema(mode, junit_schema):
    rep = report_for(mode)
    root = parse_valid(render_junit(rep), junit_schema)
    assert root.tag == "testsuites"
    assert root.get("name") == "gatekit: loan_gate"
    suites = root.findall("testsuite")
    # one suite per section, in report order
    assert [s.get("name") for s in suites] == [f"gatekit.{s}" for s in SECTIONS]
    for suite, section in zip(suites, SECTIONS, strict=True):
        tests, failures, skipped = EXPECTED_COUNTS[mode][section]
        assert (int(suite.get("tests")), int(suite.get("failures")), int(suite.get("skipped"))) == \
            (tests, failures, skipped), section
        assert suite.get("errors") == "0"
        # the attributes agree with the children
        cases = suite.findall("testcase")
        assert len(cases) == tests
        assert len(suite.findall("testcase/failure")) == failures
        assert len(suite.findall("testcase/skipped")) == skipped
        assert all(c.get("classname") == f"gatekit.{section}" for c in cases)
        assert suite.get("timestamp") == "2026-01-01T00:00:00"  # UTC without offset, as the JUnit schemas want
        # properties first, then the cases
        assert suite[0].tag == "properties"
        assert all(child.tag == "testcase" for child in list(suite)[1:])
        props = {p.get("name"): p.get("value") for p in suite.find("properties")}
        assert props == {"decision": "block", "policy": "loan_gate", "policy_version": "3", "run_id": RUN_ID,
                         "reproducibility_sha256": SHA}
    tests, failures, skipped = EXPECTED_TOTALS[mode]
    assert (int(root.get("tests")), int(root.get("failures")), int(root.get("skipped"))) == \
        (tests, failures, skipped)
    assert int(root.get("errors", "0")) == 0

    cases = root.findall("testsuite/testcase")
    assert [c.get("name") for c in cases] == CASE_NAMES
    checks = mixed_checks()
    for case, check, want in zip(cases, checks, EXPECTED_CASES[mode], strict=True):
        got = outcome(case)
        if want is None:
            assert got is None, check.name
        elif want[0] == "failure":
            assert got == want, check.name
            assert case.find("failure").get("message") == check.message
        else:
            assert got is not None and got[0] == "skipped", check.name
            assert got[1] == want[1] + check.message, check.name
    # system-out: status, severity, observed value and the rule, then the message
    outs = [c.findtext("system-out") for c in cases]
    assert outs[1] == ("status: fail; on_fail: block; observed: 0.7; rule: >= 0.75\n"
                       "precision_at_0_5 = 0.7 does not meet >= 0.75")
    assert "observed: 180; rule: <= 150" in outs[2]
    assert outs[3].startswith("status: error; on_fail: block; observed: n/a; rule: <= 0.1\n")
    assert outs[5].startswith("status: skipped; on_fail: block; observed: n/a; rule: 0 <= income\n")
    assert "observed: 1; rule: auc_roc >= 0.9" in outs[7]


def test_junit_all_pass_has_no_result_elements(junit_schema):
    checks = [c for c in mixed_checks() if c.status == Status.PASS]
    rep = Report(Decision.PASS, "Passed: all 2 checks passed.", checks, meta())
    root = parse_valid(render_junit(rep), junit_schema)
    assert [s.get("name") for s in root.findall("testsuite")] == ["gatekit.performance", "gatekit.gates"]
    assert (root.get("tests"), root.get("failures"), root.get("skipped")) == ("2", "0", "0")
    assert all(outcome(c) is None for c in root.iter("testcase"))
    assert {p.get("value") for p in root.iter("property") if p.get("name") == "decision"} == {"pass"}


def test_junit_interleaved_sections_make_one_suite_each_in_first_seen_order(junit_schema):
    checks = [CheckResult("a", "fairness", P, BLK, 1.0, ">=", 0.5, "ok"),
              CheckResult("b", "performance", F, WRN, 0.1, ">=", 0.5, "low"),
              CheckResult("c", "fairness", F, BLK, 0.1, ">=", 0.5, "low")]
    root = parse_valid(render_junit(Report(Decision.BLOCK, "r", checks, meta())), junit_schema)
    suites = root.findall("testsuite")
    assert [s.get("name") for s in suites] == ["gatekit.fairness", "gatekit.performance"]
    assert [c.get("name") for c in suites[0].findall("testcase")] == ["a", "c"]
    assert (suites[0].get("tests"), suites[0].get("failures"), suites[0].get("skipped")) == ("2", "1", "0")
    assert (suites[1].get("tests"), suites[1].get("failures"), suites[1].get("skipped")) == ("1", "0", "1")


def test_junit_optional_metadata_left_out(junit_schema):
    """Without started_at or a reproducibility hash the schema still holds and no empty property is written."""
    rep = Report(Decision.BLOCK, "r", [CheckResult("x", "performance", F, BLK, 0.1, ">=", 0.5, "low")],
                     {"policy": {"name": "p", "version": 1, "strict": True}})
    root = parse_valid(render_junit(rep), junit_schema)
    suite = root.find("testsuite")
    assert suite.get("timestamp") is None
    assert {p.get("name") for p in suite.iter("property")} == {"decision", "policy", "policy_version"}


NASTY = "a<b & \"c\" 'd' > é漢字 — ✓ 🚀"


def test_junit_escaping_and_non_ascii_round_trip(tmp_path, junit_schema):
    checks = [CheckResult(NASTY, "gates", F, BLK, 0.5, ">=", 0.9, f"message {NASTY}"),
              CheckResult(f"warn {NASTY}", "gates", F, WRN, 0.5, ">=", 0.9, f"note {NASTY}")]
    rep = Report(Decision.BLOCK, f"Blocked: {NASTY}", checks, meta(name=f"policy {NASTY}", version="v<2>&"))
    path = rep.save_junit(tmp_path / "j.xml")
    raw = path.read_bytes()
    assert "é漢字".encode() in raw  # written as UTF-8
    root = ET.parse(path).getroot()  # the parser reads the declared encoding
    junit_schema.validate(str(path))
    assert root.get("name") == f"gatekit: policy {NASTY}"
    cases = root.findall("testsuite/testcase")
    assert [c.get("name") for c in cases] == [NASTY, f"warn {NASTY}"]
    assert cases[0].find("failure").get("message") == f"message {NASTY}"
    assert cases[1].find("skipped").get("message") == f"warning: note {NASTY}"
    assert cases[0].findtext("system-out").endswith(f"\nmessage {NASTY}")
    props = {p.get("name"): p.get("value") for p in root.find("testsuite/properties")}
    assert props["policy"] == f"policy {NASTY}"
    assert props["policy_version"] == "v<2>&"


def test_junit_multiline_message_survives_in_attribute(junit_schema):
    msg = "first line\nsecond line\twith a tab"
    rep = Report(Decision.BLOCK, "r", [CheckResult("x", "gates", F, BLK, None, None, None, msg)], meta())
    root = parse_valid(render_junit(rep), junit_schema)
    assert root.find("testsuite/testcase/failure").get("message") == msg


def test_junit_control_characters_still_well_formed(junit_schema):
    checks = [CheckResult("col\x1b[31mred", "data_quality", F, BLK, None, None, None, "value 'x\x00y' found")]
    rep = Report(Decision.BLOCK, "r", checks, meta())
    root = parse_valid(render_junit(rep), junit_schema)
    assert "col" in root.find("testsuite/testcase").get("name")


def test_junit_lone_surrogate_still_well_formed(junit_schema):
    rep = Report(Decision.PASS, "r", [CheckResult("x", "gates", P, BLK, 1.0, None, None, "ok")],
                     meta(name="bad\ud800name"))
    parse_valid(render_junit(rep), junit_schema)


def test_cli_warn_only_junit_has_no_failures(tmp_path, junit_schema):
    m = metrics_file(tmp_path, BLOCKING)
    res = gk_ci("run", SEED_EX1, "--metrics", m, "--out", "D", "--format", "junit,markdown", "--warn-only",
             "--no-history", cwd=tmp_path)
    assert res.returncode == 0, res.stderr
    root = parse_valid((tmp_path / "D" / "gate_report.junit.xml").read_text(encoding="utf-8"), junit_schema)
    assert (root.get("tests"), root.get("failures"), root.get("skipped")) == ("3", "0", "1")
    skipped = root.find("testsuite/testcase/skipped")
    assert skipped.get("message").startswith("would block (warn-only pilot): ")
    md = (tmp_path / "D" / "gate_report.md").read_text(encoding="utf-8")
    assert "> Warn-only pilot: this decision is reported, not enforced (exit code 0)." in md


def test_cli_policy_name_with_control_character_gives_parseable_junit(tmp_path):
    pol = tmp_path / "p.yaml"
    pol.write_text('version: 1\nname: "ctl\\e[31mred"\nmetrics:\n  - name: auc_roc\n    op: ">="\n'
                   '    value: 0.9\n    on_fail: block\n', encoding="utf-8")
    m = metrics_file(tmp_path, PASSING)
    res = gk_ci("run", pol, "--metrics", m, "--out", "D", "--format", "junit", "--no-history", cwd=tmp_path)
    assert res.returncode == 0, res.stderr
    ET.parse(tmp_path / "D" / "gate_report.junit.xml")
