"""Tests of :mod:`gatekit.validators.licenses`: SPDX expressions, allow and deny lists, requirements."""

from __future__ import annotations

from pathlib import Path

import pytest

import gatekit
from gatekit.core.errors import InputError
from gatekit.core.results import Status
from gatekit.validators.licenses import check, decide, requirement_names, spdx
from tests.helpers import _check


def test_spdx_expressions_with_parentheses() -> None:
    allow, deny = ["MIT", "Apache-2.0", "BSD-*"], ["GPL-*", "AGPL-*"]
    assert decide("GPL-3.0-only AND (MIT OR Apache-2.0)", allow, deny, False)[0] == "denied"
    assert decide("(MIT OR Apache-2.0) AND GPL-3.0-only", allow, deny, False)[0] == "denied"
    assert decide("(MIT OR Apache-2.0) AND Unicode-DFS-2016", allow, deny, False)[0] == "not_allowed"


def test_deny_lists_catch_gpl_family_licences_however_written() -> None:
    deny = ["GPL-*", "LGPL-*", "AGPL-*"]
    for lic in ("LGPL", "GPLv3", "GNU General Public License (GPL)", "AGPLv3"):
        assert decide(lic, [], deny, False)[0] != "allowed", lic
    (rec,) = check(["python-stdnum"], [], deny, False)
    assert rec["status"] != "allowed"


def test_requirements_includes_are_followed_or_refused(tmp_path: Path) -> None:
    (tmp_path / "base.txt").write_text("python-stdnum\n")
    req = tmp_path / "req.txt"
    req.write_text("-r base.txt\n-e git+https://example.com/gplthing.git#egg=gplthing\nnumpy\n")
    try:
        names = requirement_names(req)
    except InputError:
        return  # refusing what it cannot check is fine
    assert "python-stdnum" in names and "gplthing" in names


def test_a_binary_requirements_file_is_one_clear_licence_error(tmp_path: Path) -> None:
    (tmp_path / "d.csv").write_text("a,b\n1,2\n3,4\n")
    (tmp_path / "req.txt").write_bytes(b"\xff\xfe\x00binary")
    report = gatekit.run({"version": 1, "inputs": {"data": str(tmp_path / "d.csv")},
                          "security": {"pii": {"scan": ["data"]},
                                       "licenses": {"requirements": str(tmp_path / "req.txt"), "allow": ["MIT"]}}})
    assert _check(report, "pii.data").status == Status.PASS
    lic = _check(report, "license_compliance")
    assert lic.status in (Status.ERROR, Status.FAIL) and "req.txt" in lic.message


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


def test_an_unparseable_licence_naming_a_denied_one_is_denied_even_with_allow_unknown() -> None:
    lic = "Artistic License OR GNU General Public License (GPL) (v2) OR GPL-2.0-or-later"
    assert decide(lic, [], ["GPL-*"], allow_unknown=True)[0] == "denied"
