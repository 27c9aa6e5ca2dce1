"""The reproducibility hash in every report, and `gatekit verify REPORT.json`."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

import gatekit
from gatekit.core.errors import InputError
from gatekit.core.reproducibility import verify
from tests.conftest import run_cli, write_policy


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
