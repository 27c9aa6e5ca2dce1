"""CI outputs: JUnit XML, the Markdown summary, ``--format``, ``$GITHUB_STEP_SUMMARY``, the progress bar, the API.

Every expected value here is worked out by hand from the rules in the module docstrings of
``gatekit/report/junit.py`` and ``gatekit/report/markdown.py`` (and ``gatekit.core.decision.effect``), never by
calling the function under test for it.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import threading
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from gatekit.core.results import CheckResult, Decision, OnFail, Status
from gatekit.report import Report
from gatekit.report.junit import render_junit
from gatekit.report.markdown import MAX_ROWS, render_markdown

xmlschema = pytest.importorskip("xmlschema")

REPO = Path(__file__).resolve().parents[1]
SEED1 = REPO / "policies" / "seed_example_1.yaml"
PASSING = {"auc_roc": 0.92, "precision_at_0_5": 0.77, "fairness_demographic_parity_diff": 0.08}
BLOCKING = {"auc_roc": 0.85, "precision_at_0_5": 0.77, "fairness_demographic_parity_diff": 0.08}  # auc < 0.90
ALL_FILES = {"gate_report.json", "gate_report.html", "gate_report.junit.xml", "gate_report.md"}
ANSI = "\x1b["

# --------------------------------------------------------------------------------------------------------------
# A JUnit schema written for these tests: the shape Jenkins, GitLab and Azure DevOps read.
#   <testsuites> holds <testsuite> elements; a suite carries its counts (name, tests, failures, errors and
#   skipped required; time and timestamp optional), then an optional <properties> block FIRST, then its
#   <testcase> elements, then optionally its own system-out / system-err. A test case has a name and a
#   classname (time optional) and, in any order, at most one of each of failure / error / skipped /
#   system-out / system-err. A failure or error names a message and a type; a skip gives a message.
# No other attributes are allowed anywhere, so a misspelt attribute is caught too.
# --------------------------------------------------------------------------------------------------------------
JUNIT_XSD = """<?xml version="1.0" encoding="UTF-8"?>
<xs:schema xmlns:xs="http://www.w3.org/2001/XMLSchema" elementFormDefault="qualified">

  <xs:simpleType name="Count">
    <xs:restriction base="xs:nonNegativeInteger"/>
  </xs:simpleType>

  <xs:simpleType name="Seconds">
    <xs:restriction base="xs:decimal">
      <xs:minInclusive value="0"/>
    </xs:restriction>
  </xs:simpleType>

  <xs:complexType name="Problem">
    <xs:simpleContent>
      <xs:extension base="xs:string">
        <xs:attribute name="message" type="xs:string" use="required"/>
        <xs:attribute name="type" type="xs:string" use="required"/>
      </xs:extension>
    </xs:simpleContent>
  </xs:complexType>

  <xs:complexType name="Skip">
    <xs:simpleContent>
      <xs:extension base="xs:string">
        <xs:attribute name="message" type="xs:string" use="required"/>
      </xs:extension>
    </xs:simpleContent>
  </xs:complexType>

  <xs:complexType name="Property">
    <xs:attribute name="name" type="xs:string" use="required"/>
    <xs:attribute name="value" type="xs:string" use="required"/>
  </xs:complexType>

  <xs:complexType name="PropertyList">
    <xs:sequence>
      <xs:element name="property" type="Property" minOccurs="1" maxOccurs="unbounded"/>
    </xs:sequence>
  </xs:complexType>

  <xs:complexType name="Case">
    <xs:all>
      <xs:element name="failure" type="Problem" minOccurs="0"/>
      <xs:element name="error" type="Problem" minOccurs="0"/>
      <xs:element name="skipped" type="Skip" minOccurs="0"/>
      <xs:element name="system-out" type="xs:string" minOccurs="0"/>
      <xs:element name="system-err" type="xs:string" minOccurs="0"/>
    </xs:all>
    <xs:attribute name="name" type="xs:string" use="required"/>
    <xs:attribute name="classname" type="xs:string" use="required"/>
    <xs:attribute name="time" type="Seconds" use="optional"/>
  </xs:complexType>

  <xs:complexType name="Suite">
    <xs:sequence>
      <xs:element name="properties" type="PropertyList" minOccurs="0"/>
      <xs:element name="testcase" type="Case" minOccurs="0" maxOccurs="unbounded"/>
      <xs:element name="system-out" type="xs:string" minOccurs="0"/>
      <xs:element name="system-err" type="xs:string" minOccurs="0"/>
    </xs:sequence>
    <xs:attribute name="name" type="xs:string" use="required"/>
    <xs:attribute name="tests" type="Count" use="required"/>
    <xs:attribute name="failures" type="Count" use="required"/>
    <xs:attribute name="errors" type="Count" use="required"/>
    <xs:attribute name="skipped" type="Count" use="required"/>
    <xs:attribute name="time" type="Seconds" use="optional"/>
    <xs:attribute name="timestamp" type="xs:dateTime" use="optional"/>
  </xs:complexType>

  <xs:element name="testsuites">
    <xs:complexType>
      <xs:sequence>
        <xs:element name="testsuite" type="Suite" minOccurs="0" maxOccurs="unbounded"/>
      </xs:sequence>
      <xs:attribute name="name" type="xs:string" use="optional"/>
      <xs:attribute name="tests" type="Count" use="optional"/>
      <xs:attribute name="failures" type="Count" use="optional"/>
      <xs:attribute name="errors" type="Count" use="optional"/>
      <xs:attribute name="skipped" type="Count" use="optional"/>
      <xs:attribute name="time" type="Seconds" use="optional"/>
    </xs:complexType>
  </xs:element>
</xs:schema>
"""


@pytest.fixture(scope="module")
def junit_schema():
    return xmlschema.XMLSchema(JUNIT_XSD)


def parse_valid(xml_text: str, schema) -> ET.Element:
    """Parse JUnit text as bytes (it declares UTF-8), validate it against the schema, return the root."""
    assert xml_text.startswith('<?xml version="1.0" encoding="utf-8"?>')
    root = ET.fromstring(xml_text.encode("utf-8"))
    schema.validate(root)
    return root


# --------------------------------------------------------------------------------------------------------------
# Hand-built reports
# --------------------------------------------------------------------------------------------------------------
P, F, E, NC, S = Status.PASS, Status.FAIL, Status.ERROR, Status.NOT_COMPUTABLE, Status.SKIPPED
BLK, WRN = OnFail.BLOCK, OnFail.WARN
RUN_ID = "20260101T000000Z-abcdef12-000001"
SHA = "ab" * 32


def meta(strict: bool = True, *, name: str = "loan_gate", version: object = 3, **extra: object) -> dict:
    return {"policy": {"name": name, "version": version, "strict": strict}, "run_id": RUN_ID,
            "started_at": "2026-01-01T00:00:00+00:00", "reproducibility": {"sha256": SHA}, **extra}


def mixed_checks() -> list[CheckResult]:
    """Eight checks in four sections: every status, both severities."""
    return [
        CheckResult("auc_roc", "performance", P, BLK, 0.93, ">=", 0.9, "auc_roc = 0.93 meets >= 0.9"),
        CheckResult("precision_at_0_5", "performance", F, BLK, 0.7, ">=", 0.75,
                    "precision_at_0_5 = 0.7 does not meet >= 0.75"),
        CheckResult("latency_p95_ms", "performance", F, WRN, 180.0, "<=", 150.0, "latency 180 ms is over 150",
                    details={"params": {"q": 95}}),
        CheckResult("fairness_demographic_parity_diff", "fairness", E, BLK, None, "<=", 0.1,
                    "could not compute: no sensitive column"),
        CheckResult("fairness_equalized_odds_diff", "fairness", NC, WRN, None, "<=", 0.2, "only one group"),
        CheckResult("income.range", "data_quality", S, BLK, None, None, None, "no data was given",
                    details={"require": "0 <= income"}),
        CheckResult("age.max_null_fraction", "data_quality", NC, BLK, None, "<=", 0.05, "the data has no rows"),
        CheckResult("ship_gate", "gates", P, BLK, 1.0, None, None, "every condition holds",
                    details={"require": "auc_roc >= 0.9"}),
    ]


def mixed_report(strict: bool = True, **extra: object) -> Report:
    return Report(Decision.BLOCK, "Blocked: precision_at_0_5 = 0.7, expected >= 0.75.", mixed_checks(),
                      meta(strict, **extra))


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


# --------------------------------------------------------------------------------------------------------------
# 2. Markdown
# --------------------------------------------------------------------------------------------------------------
def cells(row: str) -> list[str]:
    """Split a GFM table row into cells: a pipe preceded by a backslash is part of the cell (GFM's rule)."""
    assert row.startswith("|") and row.endswith("|"), row
    parts = re.split(r"(?<!\\)\|", row)
    assert parts[0] == "" and parts[-1] == "", row
    return [p.strip() for p in parts[1:-1]]


def tables(md: str) -> list[list[str]]:
    """Every Markdown table (consecutive lines starting with '|') as its list of lines."""
    out: list[list[str]] = []
    current: list[str] = []
    for line in md.split("\n"):
        if line.startswith("|"):
            current.append(line)
        elif current:
            out.append(current)
            current = []
    if current:
        out.append(current)
    return out


HEADER = "| effect | section | check | status | observed | rule |"
SEP = "|---|---|---|---|---|---|"
# the non-passing rows of mixed_report, by hand (md escaping: _ -> \_, < -> &lt;, > -> &gt;; the status column
# is written as is)
ROW = {
    "precision": "| ⛔ block | performance | precision\\_at\\_0\\_5 | fail | 0.7 | &gt;= 0.75 |",
    "latency": "| ⚠️ warn | performance | latency\\_p95\\_ms\\[q=95\\] | fail | 180 | &lt;= 150 |",
    "dp": "| {} | fairness | fairness\\_demographic\\_parity\\_diff | error | n/a | &lt;= 0.1 |",
    "eo": "| ⚠️ warn | fairness | fairness\\_equalized\\_odds\\_diff | not_computable | n/a | &lt;= 0.2 |",
    "income": "| {} | data\\_quality | income.range | skipped | n/a | 0 &lt;= income |",
    "age": "| {} | data\\_quality | age.max\\_null\\_fraction | not_computable | n/a | &lt;= 0.05 |",
}


@pytest.mark.parametrize("strict", [True, False])
def test_markdown_heading_counts_and_non_passing_rows(strict):
    md = render_markdown(mixed_report(strict, enforcement="enforced"))
    lines = md.split("\n")
    assert lines[0] == "### ⛔ gatekit: **BLOCK**, policy loan\\_gate version 3"
    assert "Blocked: precision\\_at\\_0\\_5 = 0.7, expected &gt;= 0.75." in lines
    assert "8 checks: 2 pass, 2 fail, 1 error, 2 not computable, 1 skipped." in lines
    assert "Warn-only pilot" not in md
    eff = "⛔ block" if strict else "⚠️ warn"  # error / not_computable / skipped block rules
    want = [ROW["precision"], ROW["latency"], ROW["dp"].format(eff), ROW["eo"], ROW["income"].format(eff),
            ROW["age"].format(eff)]
    first, every = tables(md)
    assert first == [HEADER, SEP, *want]
    assert len(every) == 2 + 8  # the folded table lists every check
    assert every[2] == "| ✅ pass | performance | auc\\_roc | pass | 0.93 | &gt;= 0.9 |"
    assert every[-1] == "| ✅ pass | gates | ship\\_gate | pass | 1 | auc\\_roc &gt;= 0.9 |"
    assert "- **precision\\_at\\_0\\_5**: precision\\_at\\_0\\_5 = 0.7 does not meet &gt;= 0.75" in lines
    assert lines[-2] == f"run {RUN_ID}" and lines[-1] == ""


@pytest.mark.parametrize(("decision", "icon"), [(Decision.PASS, "✅"), (Decision.WARN, "⚠️")])
def test_markdown_heading_pass_and_warn(decision, icon):
    checks = [CheckResult("auc_roc", "performance", P, BLK, 0.93, ">=", 0.9, "ok")]
    if decision == Decision.WARN:
        checks.append(CheckResult("latency", "performance", F, WRN, 200.0, "<=", 150.0, "slow"))
    md = render_markdown(Report(decision, "because", checks, meta(enforcement="warn_only")))
    assert md.startswith(f"### {icon} gatekit: **{decision.value.upper()}**, policy loan\\_gate version 3\n")
    assert "Warn-only pilot" not in md  # the note is for a pilot's block only
    n_tables = len(tables(md))
    assert n_tables == (2 if decision == Decision.WARN else 1)  # no non-passing table when all passed


def test_markdown_escaping_keeps_html_out_and_the_table_whole():
    evil = [
        CheckResult("<script>alert(1)</script>", "gates", F, BLK, None, None, None, "<script>m()</script>"),
        CheckResult("a|b|c", "x|y", F, WRN, 0.5, ">=", 0.9, "pipes | everywhere"),
        CheckResult("tick`code`", "gates", F, WRN, None, None, None, "`rm -rf`", details={"require": "a | b"}),
        CheckResult("two\nlines\r\nhere", "gates", F, WRN, None, None, None, "line one\nline two"),
        CheckResult("esc\x1b[31m", "gates", F, WRN, None, None, None, "bell\x07"),
        CheckResult("back\\|slash\\", "gates", F, WRN, None, None, None, "trailing backslash \\"),
        CheckResult("[click](javascript:alert(1)) **bold** _it_", "gates", F, WRN, None, None, None, "x"),
    ]
    rep = Report(Decision.BLOCK, "<b>Blocked</b> & | <script>", evil,
                     meta(name="<img src=x onerror=alert(1)>", version="<i>1</i>"))
    md = render_markdown(rep, links={"HTML <report>": "a|b.html"})
    assert "<script" not in md.lower()
    assert "<img" not in md and "<b>" not in md and "<i>" not in md
    assert "\x1b" not in md and "\x07" not in md and "\r" not in md
    # the only raw HTML left is the folding markup
    tags = re.findall(r"<[^>]*>", md)
    assert md.count("<") == len(tags)
    for tag in tags:
        assert tag in ("<details>", "</details>", "<summary>", "</summary>"), tag
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in md
    assert "a\\|b\\|c" in md and "x\\|y" in md
    assert "\\[click\\](javascript:alert(1))" in md
    # every table row has exactly six cells; one line per check (a newline in a name cannot start a row)
    found = tables(md)
    assert [len(t) for t in found] == [2 + len(evil), 2 + len(evil)]
    for t in found:
        for line in t:
            assert len(cells(line)) == 6, line
    first = found[0]
    assert cells(first[2])[2] == "&lt;script&gt;alert(1)&lt;/script&gt;"
    assert cells(first[3])[1:3] == ["x\\|y", "a\\|b\\|c"]
    assert cells(first[4])[5] == "a \\| b"
    assert "\n" not in cells(first[5])[2] and cells(first[5])[2].startswith("two") and "here" in cells(first[5])[2]
    # the footer link is escaped too
    assert md.rstrip("\n").split("\n")[-1] == f"run {RUN_ID} · HTML &lt;report&gt;: a\\|b.html"


def test_markdown_warn_only_note():
    pilot = render_markdown(mixed_report(True, enforcement="warn_only"))
    note = "> Warn-only pilot: this decision is reported, not enforced (exit code 0)."
    assert note in pilot.split("\n")
    assert note not in render_markdown(mixed_report(True, enforcement="enforced"))
    assert note not in render_markdown(mixed_report(True))  # no enforcement recorded (the Python API)


def test_markdown_alerts_line():
    fired = [{"name": "auc|roc<x>", "failures": 3, "runs_considered": 5, "section": "performance"},
             {"name": "psi", "failures": 2, "runs_considered": 2}]
    md = render_markdown(mixed_report(True, alerts={"fired": fired}))
    lines = md.split("\n")
    i = lines.index("> **Alert:** auc\\|roc&lt;x&gt; failed in 3 of the last 5 runs.")
    assert lines[i + 1] == "> **Alert:** psi failed in 2 of the last 2 runs."
    assert lines[i + 2] == ""
    assert "**Alert:**" not in render_markdown(mixed_report(True, alerts={"fired": []}))
    assert "**Alert:**" not in render_markdown(mixed_report(True, alerts={"error": "store down", "fired": []}))


@pytest.mark.parametrize(("n_bad", "more"), [(50, None), (51, 1), (53, 3)])
def test_markdown_caps_non_passing_rows_at_50(n_bad, more):
    assert MAX_ROWS == 50  # the docstring's "at most 50 rows"
    checks = [CheckResult(f"rule{i:03d}", "gates", F, WRN, float(i), "<=", 0.0, f"why {i}") for i in range(n_bad)]
    checks += [CheckResult("ok1", "gates", P, BLK, 1.0, ">=", 0.0, "fine"),
               CheckResult("ok2", "gates", P, BLK, 1.0, ">=", 0.0, "fine")]
    md = render_markdown(Report(Decision.WARN, "warns", checks, meta()))
    first, every = tables(md)
    assert len(first) == 2 + 50
    assert cells(first[-1])[2] == "rule049"
    assert len(every) == 2 + n_bad + 2  # the folded table is complete
    more_lines = [ln for ln in md.split("\n") if ln.endswith("more in the full report.")]
    assert more_lines == ([] if more is None else [f"{more} more in the full report."])
    assert sum(ln.startswith("- **rule") for ln in md.split("\n")) == 50
    assert f"All {n_bad + 2} checks" in md


# --------------------------------------------------------------------------------------------------------------
# 3. The command line
# --------------------------------------------------------------------------------------------------------------
def cli_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if k not in ("CI", "GITHUB_STEP_SUMMARY", "FORCE_COLOR", "GATEKIT_DEBUG", "TTY_COMPATIBLE")}
    env["PYTHONIOENCODING"] = "utf-8"
    env.update(extra)
    return env


def gk(*args: object, cwd: Path, **env: str) -> subprocess.CompletedProcess[str]:
    """Run ``python -m gatekit`` with pipes for stdout and stderr (CI unset, so only the pipes hide the bar)."""
    res = subprocess.run([sys.executable, "-m", "gatekit", *map(str, args)], cwd=cwd, capture_output=True,
                         text=True, encoding="utf-8", env=cli_env(**env), timeout=120, check=False)
    assert ANSI not in res.stdout and ANSI not in res.stderr, (res.stdout, res.stderr)
    return res


def metrics_file(folder: Path, values: dict, name: str = "m.json") -> Path:
    p = folder / name
    p.write_text(json.dumps(values), encoding="utf-8")
    return p


def test_cli_writes_exactly_the_requested_formats(tmp_path, junit_schema):
    m = metrics_file(tmp_path, PASSING)
    res = gk("run", SEED1, "--metrics", m, "--out", "D", "--format", "junit,markdown", "--format", "json",
             "--no-history", cwd=tmp_path)
    assert res.returncode == 0, res.stderr
    d = tmp_path / "D"
    assert {p.name for p in d.iterdir()} == {"gate_report.json", "gate_report.junit.xml", "gate_report.md"}
    assert json.loads((d / "gate_report.json").read_text(encoding="utf-8"))["decision"] == "pass"
    root = parse_valid((d / "gate_report.junit.xml").read_text(encoding="utf-8"), junit_schema)
    # seed_example_1: two performance rules, one fairness rule, all pass
    assert [(s.get("name"), s.get("tests")) for s in root.findall("testsuite")] == \
        [("gatekit.performance", "2"), ("gatekit.fairness", "1")]
    assert (root.get("failures"), root.get("skipped")) == ("0", "0")
    assert (d / "gate_report.md").read_text(encoding="utf-8").startswith(
        "### ✅ gatekit: **PASS**, policy seed\\_example\\_1 version 1\n")


def test_cli_default_formats_and_case_and_duplicates(tmp_path):
    m = metrics_file(tmp_path, PASSING)
    assert gk("run", SEED1, "--metrics", m, "--out", "A", "--no-history", cwd=tmp_path).returncode == 0
    assert {p.name for p in (tmp_path / "A").iterdir()} == {"gate_report.json", "gate_report.html"}
    res = gk("run", SEED1, "--metrics", m, "--out", "B", "--format", " JUnit , junit,", "--no-history",
             cwd=tmp_path)
    assert res.returncode == 0, res.stderr
    assert {p.name for p in (tmp_path / "B").iterdir()} == {"gate_report.junit.xml"}


def test_cli_unknown_format_exits_2_naming_it(tmp_path):
    m = metrics_file(tmp_path, PASSING)
    res = gk("run", SEED1, "--metrics", m, "--out", "D", "--format", "junit,pdf", "--no-history", cwd=tmp_path)
    assert res.returncode == 2
    assert "pdf" in res.stderr
    assert "junit" in res.stderr  # the accepted formats are listed
    assert not (tmp_path / "D").exists()


def test_cli_removes_stale_reports_of_every_format_first(tmp_path):
    m = metrics_file(tmp_path, BLOCKING)
    d = tmp_path / "D"
    d.mkdir()

    def plant() -> None:
        for name in ALL_FILES:
            (d / name).write_text("STALE from an earlier run", encoding="utf-8")
    plant()
    (d / "notes.txt").write_text("mine", encoding="utf-8")  # not a report: kept
    res = gk("run", SEED1, "--metrics", m, "--out", d, "--format", "markdown", "--no-history", cwd=tmp_path)
    assert res.returncode == 1, res.stderr
    assert {p.name for p in d.iterdir()} == {"gate_report.md", "notes.txt"}
    assert (d / "gate_report.md").read_text(encoding="utf-8").startswith("### ⛔ gatekit: **BLOCK**")
    # a run that fails on its inputs leaves no old decision behind either
    plant()
    res = gk("run", SEED1, "--metrics", tmp_path / "missing.json", "--out", d, "--format", "json", "--no-history",
             cwd=tmp_path)
    assert res.returncode == 2
    assert {p.name for p in d.iterdir()} == {"notes.txt"}


def test_cli_github_step_summary_is_appended(tmp_path):
    summary = tmp_path / "summary.md"
    summary.write_text("# earlier step\n", encoding="utf-8")
    ok, bad = metrics_file(tmp_path, PASSING, "ok.json"), metrics_file(tmp_path, BLOCKING, "bad.json")
    r1 = gk("run", SEED1, "--metrics", ok, "--out", "A", "--format", "json,junit", "--no-history", cwd=tmp_path,
            GITHUB_STEP_SUMMARY=str(summary))
    r2 = gk("run", SEED1, "--metrics", bad, "--out", "B", "--format", "markdown", "--no-history", cwd=tmp_path,
            GITHUB_STEP_SUMMARY=str(summary))
    assert (r1.returncode, r2.returncode) == (0, 1)
    text = summary.read_text(encoding="utf-8")
    assert text.startswith("# earlier step\n")
    headings = [ln for ln in text.split("\n") if ln.startswith("### ")]
    assert headings == ["### ✅ gatekit: **PASS**, policy seed\\_example\\_1 version 1",
                        "### ⛔ gatekit: **BLOCK**, policy seed\\_example\\_1 version 1"]
    first, second = text.split("### ")[1:]
    # links to the report files written (json, junit) but not to the markdown itself
    assert "json report: A/gate\\_report.json" in first and "junit report: A/gate\\_report.junit.xml" in first
    footers = [ln for ln in second.split("\n") if ln.startswith("run ")]
    assert len(footers) == 1 and " · " not in footers[0]  # run 2 wrote only markdown: nothing to link
    assert "| ⛔ block | performance | auc\\_roc | fail | 0.85 | &gt;= 0.9 |" in second


@pytest.mark.parametrize(("where", "values", "code"), [("folder", PASSING, 0), ("missing_parent", BLOCKING, 1)])
def test_cli_unwritable_step_summary_keeps_the_exit_code(tmp_path, where, values, code):
    m = metrics_file(tmp_path, values)
    target = tmp_path if where == "folder" else tmp_path / "no" / "such" / "summary.md"
    res = gk("run", SEED1, "--metrics", m, "--out", "D", "--format", "json", "--no-history", cwd=tmp_path,
             GITHUB_STEP_SUMMARY=str(target))
    assert res.returncode == code, res.stderr
    assert "could not write the job summary" in res.stderr
    assert (tmp_path / "D" / "gate_report.json").is_file()
    assert "gatekit: PASS" in res.stdout if code == 0 else "gatekit: BLOCK" in res.stdout


def test_cli_warn_only_junit_has_no_failures(tmp_path, junit_schema):
    m = metrics_file(tmp_path, BLOCKING)
    res = gk("run", SEED1, "--metrics", m, "--out", "D", "--format", "junit,markdown", "--warn-only",
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
    res = gk("run", pol, "--metrics", m, "--out", "D", "--format", "junit", "--no-history", cwd=tmp_path)
    assert res.returncode == 0, res.stderr
    ET.parse(tmp_path / "D" / "gate_report.junit.xml")


def test_cli_no_progress_bar_on_pipes(tmp_path):
    m = metrics_file(tmp_path, PASSING)
    res = gk("run", SEED1, "--metrics", m, "--out", "D", "--no-history", cwd=tmp_path)  # CI unset, no TTY
    assert res.returncode == 0
    assert ANSI not in res.stdout and ANSI not in res.stderr
    assert "reading the inputs" not in res.stderr and "\r" not in res.stderr
    assert res.stderr == ""


def _run_with_tty_stderr(args: list[object], cwd: Path, **env: str) -> tuple[int, bytes]:
    """Run gatekit with stderr on a pseudo-terminal (read while it runs); return the exit code and stderr."""
    pty = pytest.importorskip("pty")
    master, slave = pty.openpty()
    chunks: list[bytes] = []

    def pump() -> None:
        while True:
            try:
                data = os.read(master, 65536)
            except OSError:
                return
            if not data:
                return
            chunks.append(data)

    reader = threading.Thread(target=pump, daemon=True)
    reader.start()
    try:
        proc = subprocess.run([sys.executable, "-m", "gatekit", *map(str, args)], cwd=cwd, stdout=subprocess.PIPE,
                              stderr=slave, stdin=subprocess.DEVNULL, env=cli_env(**env), timeout=120, check=False)
    finally:
        os.close(slave)
    reader.join(timeout=10)
    os.close(master)
    assert ANSI.encode() not in proc.stdout  # stdout is a pipe
    return proc.returncode, b"".join(chunks)


@pytest.mark.skipif(sys.platform == "win32", reason="pseudo-terminals are POSIX")
def test_progress_bar_only_on_a_terminal_outside_ci(tmp_path):
    """Control: on a terminal the bar does show, so its absence on pipes above means something."""
    m = metrics_file(tmp_path, PASSING)
    base = ["run", SEED1, "--metrics", m, "--format", "json", "--no-history"]
    code, err = _run_with_tty_stderr([*base, "--out", "T"], tmp_path)
    assert code == 0
    assert b"gatekit: reading the inputs" in err or b"gatekit: performance" in err
    code, err = _run_with_tty_stderr([*base, "--out", "C"], tmp_path, CI="true")
    assert code == 0 and b"\x1b[" not in err and b"reading the inputs" not in err
    code, err = _run_with_tty_stderr([*base, "--out", "Q", "--quiet"], tmp_path)
    assert code == 0 and b"\x1b[" not in err and b"reading the inputs" not in err


# --------------------------------------------------------------------------------------------------------------
# 4. Python API
# --------------------------------------------------------------------------------------------------------------
def test_api_run_writes_only_requested_formats_and_to_junit_matches(tmp_path, junit_schema):
    import gatekit

    m = metrics_file(tmp_path, BLOCKING)
    out = tmp_path / "D"
    report = gatekit.run(str(SEED1), metrics=str(m), out=out, formats=["junit"])
    assert report.decision == Decision.BLOCK
    assert sorted(p.name for p in out.iterdir()) == ["gate_report.junit.xml"]
    written = (out / "gate_report.junit.xml").read_text(encoding="utf-8")
    assert report.to_junit() == written
    root = parse_valid(written, junit_schema)
    fail = root.find("testsuite/testcase/failure")
    assert fail is not None and fail.get("type") == "block/fail"
    assert root.find("testsuite/testcase").get("name") == "auc_roc"
    assert (root.get("tests"), root.get("failures"), root.get("skipped")) == ("3", "1", "0")


def test_api_default_formats_and_unknown_format(tmp_path):
    import gatekit

    m = metrics_file(tmp_path, PASSING)
    gatekit.run(str(SEED1), metrics=str(m), out=tmp_path / "A")
    assert {p.name for p in (tmp_path / "A").iterdir()} == {"gate_report.json", "gate_report.html"}
    with pytest.raises(ValueError, match="pdf"):
        gatekit.run(str(SEED1), metrics=str(m), out=tmp_path / "B", formats=["junit", "pdf"])


def test_api_save_methods_create_folders(tmp_path):
    import gatekit

    m = metrics_file(tmp_path, BLOCKING)
    report = gatekit.run(str(SEED1), metrics=str(m))
    html = report.save_html(tmp_path / "x" / "y" / "report.html")
    assert html == tmp_path / "x" / "y" / "report.html" and html.is_file()
    text = html.read_text(encoding="utf-8")
    assert "BLOCK" in text and "seed_example_1" in text and "auc_roc" in text
    j = report.save_json(tmp_path / "j" / "r.json")
    assert json.loads(j.read_text(encoding="utf-8"))["decision"] == "block"
    ju = report.save_junit(tmp_path / "k" / "deeper" / "r.xml")
    assert ju.read_text(encoding="utf-8") == report.to_junit()
    md = report.save_markdown(tmp_path / "m" / "r.md")
    assert md.read_text(encoding="utf-8") == report.to_markdown()
    assert report.to_markdown().startswith("### ⛔ gatekit: **BLOCK**, policy seed\\_example\\_1 version 1\n")
    assert not list(tmp_path.rglob(".*.tmp"))  # no temporary file is left behind


def test_hand_built_report_save_junit_and_markdown_with_str_paths(tmp_path, junit_schema):
    rep = mixed_report(True)
    j = rep.save_junit(str(tmp_path / "new" / "folder" / "r.xml"))  # a str path works too
    parse_valid(Path(j).read_text(encoding="utf-8"), junit_schema)
    md = rep.save_markdown(str(tmp_path / "other" / "r.md"))
    assert Path(md).read_text(encoding="utf-8").startswith("### ⛔ gatekit: **BLOCK**")


def test_hand_built_report_save_html(tmp_path):
    rep = mixed_report(True)
    p = rep.save_html(tmp_path / "new" / "folder" / "r.html")
    assert "BLOCK" in p.read_text(encoding="utf-8")
