"""Tests of :mod:`gatekit.sections.security`: personal data in data, outputs and metadata; licences."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
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


# the DuckDB engine: every row scanned, streamed as distinct values with counts; the same findings as pandas

PII_FRAME = pd.DataFrame({
    "note": ["ok", "mail carol@example.com", "card 4111 1111 1111 1111", None, "mail carol@example.com", "+44 20 7946 "
             "0958", "DE89 3704 0044 0532 0130 00", "536-90-4399", "ok", "x"],
    "acct": [4111111111111111, 1, 2, 3, 4, 5, 6, 7, 8, 4111111111111111],  # integers: cards only from 13 digits
    "amount": [4.111111111111111e15, 1.5, np.nan, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0],
    "flag": [True, False] * 5, "jane.doe@example.com": ["a"] * 10,  # a header that is personal data
    "when": pd.date_range("2024-01-01", periods=10)})


@pytest.mark.parametrize("national_ids", [["us.ssn"], ["us.ssn", "de.idnr"]])
@pytest.mark.parametrize("columns", [None, ["note", "acct"]])
def test_pii_scan_of_a_duckdb_table_equals_pandas(national_ids: list[str], columns: list[str] | None) -> None:
    import ibis

    from gatekit.sections.security import scan_table
    from gatekit.validators.pii import Scanner, scan_frame

    scanner = Scanner(national_ids=national_ids)
    found, scanned = scan_table(ibis.memtable(PII_FRAME), scanner, columns)
    assert found == scan_frame(PII_FRAME, scanner, columns)
    assert scanned == (columns or ["note", "acct", "amount", "jane.doe@example.com"])
    if columns is None:
        assert found["note"] == {"email": 2, "card": 1, "phone": 1, "iban": 1, "national_id": 1}
        assert found["acct"] == {"card": 2} and found["amount"] == {"card": 1}
        assert found["<column 4, name redacted>"] == {"email (column name)": 1}


def _security(engine: str, frame: pd.DataFrame, policy: dict[str, Any], data: Any = None) -> Any:
    import ibis

    from gatekit.data.inputs import RunInputs
    from gatekit.metrics import default_registry
    from gatekit.policy.loader import load_policy
    from gatekit.sections.base import RunContext
    from gatekit.sections.security import SecuritySection

    registry = default_registry()
    info = {"score": "s"} if "s" in frame.columns else {}
    inputs = (RunInputs(engine="duckdb", table=ibis.memtable(frame), info=info, eval_data=data) if engine == "duckdb"
              else RunInputs(frame=frame, info=info, eval_data=data))
    return SecuritySection().run(RunContext(policy=load_policy(policy, registry), inputs=inputs, registry=registry))


def test_security_section_on_duckdb_equals_pandas() -> None:
    frame = PII_FRAME.assign(s=["0.1", "0.2", "jane.doe@example.com", "0.4", "0.5", "0.6", "0.7", "0.8", "0.9",
                                "1.0"])
    policy = {"version": 1, "security": {"pii": {"scan": ["data", "outputs"]}}}
    on_pandas = _security("pandas", frame, policy)
    on_duckdb = _security("duckdb", frame, policy)
    for a, b in zip(on_pandas, on_duckdb, strict=True):
        assert (a.name, a.status, a.observed, a.message) == (b.name, b.status, b.observed, b.message)
        assert a.details["findings"] == b.details["findings"] and a.details["by_kind"] == b.details["by_kind"]
    assert on_duckdb[0].details["engine"] == "duckdb" and on_duckdb[0].status == Status.FAIL


def test_pii_in_compact_model_outputs_counts_the_rows_they_stand_for() -> None:
    from gatekit.metrics.registry import EvalData

    policy = {"version": 1, "security": {"pii": {"scan": ["outputs"], "kinds": ["card"]}}}
    rows = np.array([0.25, 4.111111111111111e15, 0.25, 4.111111111111111e15, 4.111111111111111e15, 0.5])
    on_rows = _security("pandas", pd.DataFrame({"x": np.arange(6)}), policy, EvalData(y_score=rows))
    values, counts = np.unique(rows, return_counts=True)
    compact = EvalData(y_score=values, weights=counts)
    on_counts = _security("duckdb", pd.DataFrame({"x": np.arange(6)}), policy, compact)
    (a,), (b,) = on_rows, on_counts
    assert (a.status, a.observed, a.message) == (b.status, b.observed, b.message) == (
        Status.FAIL, 3.0, "3 value(s) with personal data in the model's outputs (6 values): model_output (card 3); "
                          "the values are not shown")


def test_onnx_metadata_of_a_session_is_scanned_as_that_of_its_file(tmp_path: Path) -> None:
    import onnx
    import onnxruntime as ort
    from onnx import TensorProto, helper

    graph = helper.make_graph([helper.make_node("Identity", ["x"], ["y"])], "g",
                              [helper.make_tensor_value_info("x", TensorProto.FLOAT, [None, 1])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, [None, 1])])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], doc_string="owner jane@example.com")
    onnx.helper.set_model_props(model, {"contact": "+44 20 7946 0958"})
    (tmp_path / "m.onnx").write_bytes(model.SerializeToString())
    pd.DataFrame({"x": [0.1, 0.2]}).to_csv(tmp_path / "d.csv", index=False)
    policy = {"version": 1, "security": {"pii": {"scan": ["metadata"]}}}
    by_file = _check(gatekit.run(policy, data=tmp_path / "d.csv", model=tmp_path / "m.onnx"), "pii.metadata")
    session = ort.InferenceSession(str(tmp_path / "m.onnx"), providers=["CPUExecutionProvider"])
    by_object = _check(gatekit.run(policy, data=tmp_path / "d.csv", model=session), "pii.metadata")
    assert by_object.status == by_file.status == Status.FAIL
    assert by_object.details["findings"] == by_file.details["findings"] == {
        "onnx metadata: doc_string": ["email"], "onnx metadata: contact": ["phone"]}
