"""Tests of :mod:`gatekit.sections.security`: personal data in data, outputs and metadata; licences."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd
import pytest

import gatekit
from gatekit.core.errors import PolicyError
from gatekit.core.results import Decision, Status
from tests.helpers import _check


def test_personal_data_in_model_card_keys_is_not_echoed(art: dict[str, Any]) -> None:
    card = art["dir"] / "card.yaml"
    card.write_text('name: m\ncontacts:\n  "+44 20 7946 0958": {phone: "+44 20 7946 0958"}\n')
    report = gatekit.run({"version": 1, "inputs": {"model": str(art["model"]), "trust_model": True},
                          "security": {"pii": {"scan": ["metadata"], "metadata_files": [str(card)]}}})
    assert _check(report, "pii.metadata").status == Status.FAIL
    assert "7946" not in report.to_json()


def test_personal_data_in_model_card_keys_is_found(art: dict[str, Any]) -> None:
    card = art["dir"] / "card.yaml"
    card.write_text("name: m\nreviewers:\n  jane.doe@example.com: lead\n")
    report = gatekit.run({"version": 1, "inputs": {"model": str(art["model"]), "trust_model": True},
                          "security": {"pii": {"scan": ["metadata"], "metadata_files": [str(card)]}}})
    assert _check(report, "pii.metadata").status == Status.FAIL


@pytest.mark.parametrize("case", ["no_columns", "no_rows"])
def test_pii_data_on_nothing_is_not_a_pass(tmp_path: Path, case: str) -> None:
    (tmp_path / "d.csv").write_text("email,a\n" + ("jane.doe@example.com,1\n" if case == "no_columns" else ""))
    pii: dict[str, Any] = {"scan": ["data"], **({"columns": []} if case == "no_columns" else {})}
    policy = {"version": 1, "inputs": {"data": str(tmp_path / "d.csv")}, "security": {"pii": pii}}
    if case == "no_columns":  # an empty list of columns is refused when the policy is loaded
        with pytest.raises(PolicyError, match="columns"):
            gatekit.run(policy)
        return
    assert _check(gatekit.run(policy), "pii.data").status != Status.PASS


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
