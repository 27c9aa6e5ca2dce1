"""Fixtures of the report tests: the JUnit schema the CI tools accept."""

from __future__ import annotations

import pytest

from tests.report.helpers import JUNIT_XSD


# hand-built reports, the JUnit schema, and the CLI with pipes
@pytest.fixture(scope="module")
def junit_schema():
    xmlschema = pytest.importorskip("xmlschema")
    return xmlschema.XMLSchema(JUNIT_XSD)
