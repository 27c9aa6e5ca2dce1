"""Tests of :mod:`gatekit.core.reproducibility`: the hash in every report, and
`gatekit verify REPORT.json`.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

import gatekit
from gatekit.cli import app
from gatekit.core.errors import InputError
from gatekit.core.reproducibility import verify
from gatekit.core.results import Decision
from tests.helpers import run_cli, write_json, write_policy


def test_verify_after_the_files_moved_is_not_reproducible_and_names_them(art: dict[str, Any]) -> None:
    out = art["dir"] / "out"
    gatekit.run({"version": 1, "inputs": {"data": str(art["data"]), "target": "y", "model": str(art["model"]),
                                          "trust_model": True},
                 "metrics": [{"name": "auc_roc", "op": ">=", "value": 0.5}]}, out=out)
    art["data"].rename(art["dir"] / "moved.csv")
    res = CliRunner().invoke(app, ["verify", str(out / "gate_report.json")])
    assert res.exit_code == 1 and "NOT reproducible" in res.output and "data:" in res.output


def test_verify_notices_a_changed_model_card(art: dict[str, Any]) -> None:
    card = art["dir"] / "card.yaml"
    card.write_text("name: m\nversion: 2.0.0\nowner: team\n")
    policy = write_policy(art["dir"], """
        version: 1
        inputs: {model: m.pkl, trust_model: true}
        artifact:
          metadata: {file: card.yaml, required_fields: [name, version, owner]}
    """)
    first = gatekit.run(policy, out=art["dir"] / "out")
    assert first.decision == Decision.PASS
    card.write_text("name: m\nversion: 2.0.0\n")  # owner removed: a re-run blocks
    assert gatekit.run(policy).decision == Decision.BLOCK
    assert verify(art["dir"] / "out" / "gate_report.json")["match"] is False


def test_reproducibility_records_the_libraries_the_new_sections_run_on() -> None:
    from gatekit.core.reproducibility import library_versions

    assert {"onnxruntime", "cryptography", "python-stdnum"} <= set(library_versions())


def test_verify_on_a_tampered_report_or_a_folder_is_exit_2(art: dict[str, Any]) -> None:
    out = art["dir"] / "out"
    gatekit.run({"version": 1, "inputs": {"data": str(art["data"]), "target": "y", "model": str(art["model"]),
                                          "trust_model": True},
                 "metrics": [{"name": "auc_roc", "op": ">=", "value": 0.5}]}, out=out)
    good = json.loads((out / "gate_report.json").read_text())
    edits = [lambda m: m["reproducibility"].pop("components"), lambda m: m.update(policy="p.yaml"),
             lambda m: m["inputs"].update(files=[1, 2])]
    for i, edit in enumerate(edits):
        doc = json.loads(json.dumps(good))
        edit(doc["metadata"])
        p = art["dir"] / f"tampered{i}.json"
        p.write_text(json.dumps(doc))
        assert CliRunner().invoke(app, ["verify", str(p)]).exit_code == 2, i
    assert CliRunner().invoke(app, ["verify", str(art["dir"])]).exit_code == 2


def test_verify_from_another_folder_after_relative_inputs(art: dict[str, Any], tmp_path_factory: Any,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    policy = write_policy(art["dir"], "version: 1\nmetrics: [{name: auc_roc, op: '>=', value: 0.5}]\n")
    monkeypatch.chdir(art["dir"])
    gatekit.run(policy.name, data="d.csv", target="y", model="m.pkl", trust_model=True, out="out")
    monkeypatch.chdir(tmp_path_factory.mktemp("elsewhere"))
    assert verify(art["dir"] / "out" / "gate_report.json")["match"] is True


def test_a_changed_base_policy_breaks_reproducibility(tmp_path: Path) -> None:
    from gatekit.core.reproducibility import verify

    write_policy(tmp_path, "version: 1\nmetrics: [{name: auc_roc, op: '>=', value: 0.8}]\n", "base.yaml")
    child = write_policy(tmp_path, "version: 2\nextends: base.yaml\n", "child.yaml")
    metrics = write_json(tmp_path, {"auc_roc": 0.9})
    assert run_cli("run", str(child), "--metrics", str(metrics), "--out", str(tmp_path / "o")).returncode == 0
    report = tmp_path / "o" / "gate_report.json"
    assert verify(report)["match"] is True
    (tmp_path / "base.yaml").write_text("version: 1\nmetrics: [{name: auc_roc, op: '>=', value: 0.95}]\n")
    res = verify(report)
    assert res["match"] is False and any(d.startswith("policy_base_0") for d in res["differences"])


@pytest.fixture
def run_dir(tmp_path: Path) -> Path:
    (tmp_path / "d.csv").write_text("y,s\n" + "".join(f"{i % 2},{(i % 2) * 0.6 + (i % 7) / 20}\n" for i in range(60)))
    write_policy(tmp_path, """
        version: 1
        inputs: {data: d.csv, target: y, score: s}
        metrics:
          - {name: auc_roc, op: ">=", value: 0.5}
    """)
    gatekit.run(tmp_path / "policy.yaml", out=tmp_path / "out")
    return tmp_path


def test_hash_is_the_sha256_of_the_canonical_components(run_dir: Path) -> None:
    meta = json.loads((run_dir / "out" / "gate_report.json").read_text())["metadata"]
    rec = meta["reproducibility"]
    policy_sha = hashlib.sha256((run_dir / "policy.yaml").read_bytes()).hexdigest()
    data_sha = hashlib.sha256((run_dir / "d.csv").read_bytes()).hexdigest()
    expected = {"policy": policy_sha, "files": {"data": data_sha}, "libraries": meta["libraries"]}
    assert rec["components"] == expected
    canonical = json.dumps(expected, sort_keys=True, separators=(",", ":"))
    assert rec["sha256"] == hashlib.sha256(canonical.encode()).hexdigest()


def test_verify_matches_then_names_what_changed(run_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    report = run_dir / "out" / "gate_report.json"
    assert verify(report)["match"] is True
    with (run_dir / "d.csv").open("a") as fh:
        fh.write("1,0.9\n")
    res = verify(report)
    assert res["match"] is False and any(d.startswith("data: sha256") for d in res["differences"])
    proc = run_cli("verify", str(report))
    assert proc.returncode == 1 and "NOT reproducible" in proc.stdout and "data:" in proc.stdout


def test_verify_names_a_changed_library(run_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import gatekit.core.reproducibility as orch

    real = orch.library_versions()
    monkeypatch.setattr(orch, "library_versions", lambda: {**real, "scikit-learn": "0.0.1"})
    res = verify(run_dir / "out" / "gate_report.json")
    assert res["match"] is False
    assert res["differences"] == [f"scikit-learn: {real['scikit-learn']} is now 0.0.1"]


def test_verify_refuses_what_is_not_a_report(tmp_path: Path) -> None:
    (tmp_path / "x.json").write_text('{"decision": "pass", "metadata": {}}')
    with pytest.raises(InputError, match="reproducibility"):
        verify(tmp_path / "x.json")
    proc = run_cli("verify", str(tmp_path / "missing.json"))
    assert proc.returncode == 2 and "not found" in proc.stderr
    ok = run_cli("verify", str(tmp_path / "x.json"))
    assert ok.returncode == 2


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
        "package surely-not-installed-xyz: None is now 1.0 (a licence check or a custom metric read it)"]


def test_a_suite_file_is_in_the_reproducibility_hash(tmp_path: Path) -> None:
    suite = tmp_path / "suite.json"
    suite.write_text('{"expectations": [{"type": "expect_column_to_exist", "kwargs": {"column": "x"}}]}')
    (tmp_path / "d.csv").write_text("x\n1\n2\n")
    (tmp_path / "policy.yaml").write_text("version: 1\ninputs: {data: d.csv}\ndata_quality: {suites: [suite.json]}\n")
    gatekit.run(tmp_path / "policy.yaml", out=tmp_path / "out")
    report = tmp_path / "out" / "gate_report.json"
    files = json.loads(report.read_text())["metadata"]["reproducibility"]["components"]["files"]
    assert files["suite_0"] == hashlib.sha256(suite.read_bytes()).hexdigest()
    assert verify(report)["match"] is True
    suite.write_text('{"expectations": [{"type": "expect_column_to_exist", "kwargs": {"column": "y"}}]}')
    res = verify(report)  # another rule in the suite is another gate: not the same run
    assert res["match"] is False and any(d.startswith("suite_0: sha256") for d in res["differences"])
