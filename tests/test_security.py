"""The security section: personal data (python-stdnum validated) and licence compliance."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from stdnum import iban as std_iban
from stdnum import luhn
from stdnum.us import ssn as std_ssn

import gatekit
from gatekit.core.errors import PolicyError
from gatekit.core.results import Decision, Status
from gatekit.policy.loader import load_policy
from gatekit.validators.licenses import decide, spdx
from gatekit.validators.pii import Scanner, scan_frame, scan_mapping

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


def _write(tmp_path: Path, notes: list[str]) -> dict[str, Any]:
    n = len(notes)
    pd.DataFrame({"y": [i % 2 for i in range(n)], "s": [i / n for i in range(n)], "note": notes}).to_csv(
        tmp_path / "d.csv", index=False)
    return {"version": 1, "inputs": {"data": str(tmp_path / "d.csv"), "target": "y", "score": "s"}}


def test_pii_checks_in_a_run(tmp_path: Path) -> None:
    pol = _write(tmp_path, ["ok"] * 7 + ["mail carol@example.com", "card 4111 1111 1111 1111", "ok"])
    (tmp_path / "card.yaml").write_text("name: m\nowner: dana@example.org\nversion: 1.0.0\n")
    pol["security"] = {"pii": {"metadata_files": [str(tmp_path / "card.yaml")]}}
    report = gatekit.run(pol)
    checks = {c.name: c for c in report.checks}
    data = checks["pii.data"]
    assert data.status == Status.FAIL and data.observed == 2 and data.details["by_kind"] == {"email": 1, "card": 1}
    assert "carol" not in data.message and "4111" not in data.message and "carol" not in str(data.details)
    assert checks["pii.outputs"].status == Status.PASS
    meta = checks["pii.metadata"]
    assert meta.status == Status.FAIL and "owner" in meta.message and "dana" not in meta.message
    assert report.decision == Decision.BLOCK
    pol["security"]["pii"]["max_values"] = 2
    pol["security"]["pii"]["scan"] = ["data"]
    assert gatekit.run(pol).decision == Decision.PASS


def test_pii_without_anything_to_scan_is_not_computable(tmp_path: Path) -> None:
    pol = {"version": 1, "inputs": {"metrics": str(tmp_path / "m.json")},
           "security": {"pii": {"scan": ["data", "metadata"]}}}
    (tmp_path / "m.json").write_text('{"auc_roc": 0.9}')
    report = gatekit.run(pol)
    assert {c.status for c in report.checks} == {Status.NOT_COMPUTABLE} and report.decision == Decision.BLOCK


@pytest.mark.parametrize(("text", "ident"), [
    ("MIT License", "MIT"), ("Apache License 2.0", "Apache-2.0"), ("Apache License, Version 2.0", "Apache-2.0"),
    ("Apache 2", "Apache-2.0"), ("3-Clause BSD License", "BSD-3-Clause"), ("2-clause BSD", "BSD-2-Clause"),
    ("PSFL", "PSF-2.0"), ("ISC License", "ISC"), ("GPL-3.0-only", "GPL-3.0-only"),
])
def test_spdx_names(text: str, ident: str) -> None:
    assert spdx(text) == ident


@pytest.mark.parametrize(("lic", "status"), [
    ("MIT", "allowed"), ("GPL-3.0-only", "denied"), ("MIT OR GPL-3.0-only", "allowed"),
    ("MIT AND GPL-3.0-only", "denied"), ("BSD-3-Clause AND Zlib", "not_allowed"), ("EPL-2.0", "not_allowed"),
    ("BSD-3-Clause WITH Some-exception", "allowed"), (None, "unknown"),
])
def test_licence_decisions(lic: str | None, status: str) -> None:
    assert decide(lic, ["MIT", "BSD-*"], ["GPL-*"], allow_unknown=False)[0] == status


def test_license_compliance_on_a_requirements_file(tmp_path: Path) -> None:
    (tmp_path / "req.txt").write_text("# runtime\nnumpy>=1.26\nPyYAML\nsurely-not-installed-xyz==1.0\n")
    pol = {"version": 1, "inputs": {"metrics": str(tmp_path / "m.json")},
           "security": {"licenses": {"requirements": str(tmp_path / "req.txt"),
                                     "allow": ["MIT", "BSD-*", "0BSD", "Zlib", "CC0-1.0"], "deny": ["GPL-*"]}}}
    (tmp_path / "m.json").write_text("{}")
    check = gatekit.run(pol).checks[0]
    by = {r["package"]: r for r in check.details["packages"]}
    assert by["pyyaml"]["status"] == "allowed"  # MIT
    assert by["surely-not-installed-xyz"]["status"] == "unknown"  # never downloaded: fail closed
    assert check.status == Status.FAIL and check.observed == sum(r["status"] != "allowed" for r in by.values())
    pol["security"]["licenses"]["allow_unknown"] = True
    assert gatekit.run(pol).checks[0].details["packages"][-1]["status"] == "allowed"


def test_policy_validation() -> None:
    with pytest.raises(PolicyError, match="allow list"):
        load_policy({"version": 1, "security": {"licenses": {}}})
    with pytest.raises(PolicyError, match="no module"):
        load_policy({"version": 1, "security": {"pii": {"national_ids": ["zz.nope"]}}})
    with pytest.raises(PolicyError, match="kinds"):
        load_policy({"version": 1, "security": {"pii": {"kinds": ["ssn"]}}})


def test_an_unparseable_licence_naming_a_denied_one_is_denied_even_with_allow_unknown() -> None:
    lic = "Artistic License OR GNU General Public License (GPL) (v2) OR GPL-2.0-or-later"
    assert decide(lic, [], ["GPL-*"], allow_unknown=True)[0] == "denied"


def test_licence_check_packages_are_in_the_reproducibility_hash(tmp_path: Path,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    from gatekit.core import reproducibility

    (tmp_path / "req.txt").write_text("surely-not-installed-xyz\n")
    (tmp_path / "m.json").write_text("{}")
    (tmp_path / "p.yaml").write_text("version: 1\ninputs: {metrics: m.json}\n"
                                     "security: {licenses: {requirements: req.txt, allow: [MIT]}}\n")
    gatekit.run(tmp_path / "p.yaml", out=tmp_path / "o")
    report = tmp_path / "o" / "gate_report.json"
    assert reproducibility.verify(report)["match"] is True
    # installing the package would change the licence check's outcome: verify must notice
    monkeypatch.setattr(reproducibility, "installed_versions", lambda names: {n: "1.0" for n in names})
    res = reproducibility.verify(report)
    assert res["match"] is False and res["differences"] == [
        "package surely-not-installed-xyz: None is now 1.0 (a licence check read it)"]
