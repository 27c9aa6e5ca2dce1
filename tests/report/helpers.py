"""Helpers of the report tests: hand-built reports, the JUnit schema, and the CLI run with pipes.

Every expected value in these tests is worked out by hand from the rules in the module docstrings of
``gatekit/report/junit.py`` and ``gatekit/report/markdown.py`` (and ``gatekit.core.decision.effect``),
never by calling the function under test for it.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

from gatekit.core.results import CheckResult, Decision, OnFail, Status
from gatekit.report import Report
from tests.helpers import REPO

# hand-built reports, the JUnit schema, and the CLI with pipes
SEED_EX1 = REPO / "policies" / "seed_example_1.yaml"
PASSING = {"auc_roc": 0.92, "precision_at_0_5": 0.77, "fairness_demographic_parity_diff": 0.08}
BLOCKING = {"auc_roc": 0.85, "precision_at_0_5": 0.77, "fairness_demographic_parity_diff": 0.08}  # auc < 0.90
ANSI = "\x1b["

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


def parse_valid(xml_text: str, schema) -> ET.Element:
    """Parse JUnit text as bytes (it declares UTF-8), validate it against the schema, return the root."""
    assert xml_text.startswith('<?xml version="1.0" encoding="utf-8"?>')
    root = ET.fromstring(xml_text.encode("utf-8"))
    schema.validate(root)
    return root


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


def cli_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if k not in ("CI", "GITHUB_STEP_SUMMARY", "FORCE_COLOR", "GATEKIT_DEBUG", "TTY_COMPATIBLE")}
    env["PYTHONIOENCODING"] = "utf-8"
    env.update(extra)
    return env


def gk_ci(*args: object, cwd: Path, **env: str) -> subprocess.CompletedProcess[str]:
    """Run ``python -m gatekit`` with pipes for stdout and stderr (CI unset, so only the pipes hide the bar)."""
    res = subprocess.run([sys.executable, "-m", "gatekit", *map(str, args)], cwd=cwd, capture_output=True,
                         text=True, encoding="utf-8", env=cli_env(**env), timeout=120, check=False)
    assert ANSI not in res.stdout and ANSI not in res.stderr, (res.stdout, res.stderr)
    return res


def metrics_file(folder: Path, values: dict, name: str = "m.json") -> Path:
    p = folder / name
    p.write_text(json.dumps(values), encoding="utf-8")
    return p


# a policy with markup in its name
POLICY = """version: 1
name: "[bold]x[/bold] <img src=x onerror=alert(1)>"
metrics:
  - {name: smape, op: "<=", value: 14, params: {variant: "0-100"}}
  - {name: smape, op: "<=", value: 14}
  - {name: auc_roc, op: ">=", value: 0.9, on_fail: warn}
"""


def _files(tmp_path: Path, metrics: dict) -> tuple[Path, Path]:
    p = tmp_path / "p.yaml"
    p.write_text(POLICY)
    m = tmp_path / "m.json"
    m.write_text(json.dumps(metrics))
    return p, m
