"""Tests of :mod:`gatekit.validators.pii`: personal data in text (checksums validated by python-stdnum)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from stdnum import iban as std_iban
from stdnum import luhn
from stdnum.us import ssn as std_ssn

import gatekit
from gatekit.core.results import Status
from gatekit.validators.pii import Scanner, scan_frame, scan_mapping
from tests.helpers import _check


def test_a_card_number_stored_as_a_float_is_found_and_not_shown(tmp_path: Path) -> None:
    (tmp_path / "d.csv").write_text("acct,x\n4.111111111111111e15,1\n1.5,2\n")
    report = gatekit.run({"version": 1, "inputs": {"data": str(tmp_path / "d.csv")},
                          "security": {"pii": {"scan": ["data"]}}})
    c = _check(report, "pii.data")
    assert c.status == Status.FAIL and c.details["by_kind"] == {"card": 1}
    assert "4111111111111111" not in report.to_json()


def test_personal_data_in_a_header_row_is_not_echoed(tmp_path: Path) -> None:
    (tmp_path / "d.csv").write_text("jane.doe@example.com,0.5\nbob@example.org,0.2\nx,0.9\n")
    report = gatekit.run({"version": 1, "inputs": {"data": str(tmp_path / "d.csv")},
                          "security": {"pii": {"scan": ["data"]}}})
    assert "jane.doe" not in report.to_json()


SCANNER = Scanner()


@pytest.mark.parametrize(("text", "kinds"), [
    ("alice@example.com", {"email"}),
    ("write to first.last+tag@mail.example.co.uk today", {"email"}),
    ("+44 20 7946 0958", {"phone"}),
    ("+1 (555) 123-4567", {"phone"}),
    ("+12345678.90", set()),                       # a signed amount, not a phone
    ("4111 1111 1111 1111", {"card"}),             # Luhn-valid Visa test number
    ("4111-1111-1111-1111", {"card"}),
    ("4111111111111112", set()),                   # fails Luhn
    ("1705314600000", set()),                      # an epoch timestamp (first digit 1: no card network)
    ("GB82 WEST 1234 5698 7654 32", {"iban"}),     # the ECBS example IBAN
    ("GB82 WEST 1234 5698 7654 33", set()),        # check digits broken
    ("SSN 536-90-4399", {"national_id"}),
    ("000-12-3456", set()),                        # area 000 is never issued
    ("2024-01-15", set()),
    ("nothing here", set()),
])
def test_scanner_kinds(text: str, kinds: set[str]) -> None:
    assert SCANNER.kinds_in(text) == kinds


def test_checksums_agree_with_stdnum_called_directly() -> None:
    for number in ("4111111111111111", "4111111111111112", "5500005555555559", "5500005555555558"):
        assert ("card" in SCANNER.kinds_in(number)) == luhn.is_valid(number)
    for number in ("GB82WEST12345698765432", "DE89370400440532013000", "DE89370400440532013001"):
        assert ("iban" in SCANNER.kinds_in(number)) == std_iban.is_valid(number)
    for number in ("536-90-4399", "666-12-3456", "123-45-6789"):
        assert ("national_id" in SCANNER.kinds_in(number)) == std_ssn.is_valid(number)


def test_other_national_ids_by_stdnum_module() -> None:
    scanner = Scanner(["national_id"], ["de.idnr"])
    assert scanner.kinds_in("Steuer-ID 36574261809") == {"national_id"}
    assert scanner.kinds_in("Steuer-ID 36574261808") == set()
    with pytest.raises(ValueError, match="no module"):
        Scanner(["national_id"], ["xx.nothing"])


def test_scan_frame_counts_values_not_showing_them() -> None:
    frame = pd.DataFrame({"note": ["a@b.io", "a@b.io", "fine", None], "acct": [4111111111111111.0, 1.0, 2.0, None],
                          "flag": [True, False, True, False]})
    assert scan_frame(frame, SCANNER) == {"note": {"email": 2}, "acct": {"card": 1}}
    assert scan_mapping({"owner": "bob@x.org", "tags": ["+44 20 7946 0958", "ok"]}, SCANNER) == {
        "owner": ["email"], "tags[0]": ["phone"]}


def test_counts_from_anywhere_give_scan_frames_findings() -> None:
    from gatekit.validators.pii import scan_counts

    frame = pd.DataFrame({"note": ["a@b.example.com x", "+44 20 7946 0958", "a@b.example.com x", None,
                                   "4111111111111111"], "n": [1, 2, 3, 4, 5]})
    whole = scan_frame(frame, SCANNER)
    for pos, col in enumerate(frame.columns):
        # the distinct values in another order (an engine's group-by), with their counts
        pairs = list(frame[col].value_counts(dropna=True).items())[::-1]
        assert scan_counts(col, pos, iter(pairs), SCANNER) == {k: v for k, v in whole.items() if k == col}
    assert list(whole["note"]) == ["email", "phone", "card"]  # the order of KINDS, whatever the values' order
