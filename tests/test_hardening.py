"""Hostile and malformed inputs: never a traceback, never a pass, never code execution."""

from __future__ import annotations

import json
import pickle
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

import gatekit
from gatekit.core.errors import PolicyError
from gatekit.policy import load_policy
from tests.conftest import run_cli

AUC_POLICY = "version: 1\nmetrics:\n  - {name: auc_roc, op: '>=', value: 0.9}\n"


class _Evil:
    """Unpickling this creates a marker file: the proof that a pickle was loaded."""

    def __init__(self, marker: str) -> None:
        self.marker = marker

    def __reduce__(self):
        return (Path.touch, (Path(self.marker),))


def test_cli_model_does_not_inherit_the_policys_trust(tmp_path: Path) -> None:
    marker = tmp_path / "PWNED"
    (tmp_path / "evil.pkl").write_bytes(pickle.dumps(_Evil(str(marker))))
    (tmp_path / "good.joblib").write_bytes(b"")
    pd.DataFrame({"y": [0, 1], "x": [0.1, 0.9]}).to_csv(tmp_path / "d.csv", index=False)
    pol = tmp_path / "p.yaml"
    pol.write_text(AUC_POLICY + "inputs: {model: good.joblib, trust_model: true}\n")
    proc = run_cli("run", str(pol), "--data", str(tmp_path / "d.csv"), "--target", "y", "--model",
                   str(tmp_path / "evil.pkl"), "--out", str(tmp_path / "o"))
    assert proc.returncode == 2 and "refusing to unpickle" in proc.stderr
    assert not marker.exists()


@pytest.mark.parametrize(("name", "text", "expected"), [
    ("bomb", "version: 1\na: &a [x,x,x,x,x,x,x,x,x]\n" + "".join(
        f"{n}: &{n} [{','.join([f'*{p}'] * 9)}]\n" for p, n in zip("abcdefgh", "bcdefghi", strict=True))
     + "description: *i\n", "expands to more than"),
    ("recursive", "version: 1\ndescription: &a [*a]\n", "refers to itself"),
    ("deep", "version: 1\ndescription: " + "[" * 5000 + "]" * 5000 + "\n", "nested too deeply"),
    ("parens", "version: 1\ngates:\n  - {gate: g, require: \"" + "(" * 500 + "auc_roc > 0.5" + ")" * 500 + "\"}\n",
     "nested more than 50 levels"),
    ("nots", "version: 1\ngates:\n  - {gate: g, require: \"" + "NOT " * 900 + "auc_roc > 0.5\"}\n",
     "nested more than 50 levels"),
    ("bigint", "version: " + "1" * 5000 + "\nmetrics:\n  - {name: auc_roc, op: '>=', value: 0.9}\n", "digits"),
])
def test_pathological_yaml_is_a_policy_error_and_fast(tmp_path: Path, name: str, text: str, expected: str) -> None:
    p = tmp_path / f"{name}.yaml"
    p.write_text(text)
    t0 = time.perf_counter()
    with pytest.raises(PolicyError, match=expected):
        load_policy(p)
    assert time.perf_counter() - t0 < 10  # an alias bomb is measured, never expanded (it took 20 s and 3 GB)


def test_non_regular_file_and_markup_in_the_path(tmp_path: Path) -> None:
    proc = run_cli("validate", "/dev/zero")
    assert proc.returncode == 2 and "not a regular file" in proc.stderr
    (tmp_path / "x[").mkdir()
    odd = tmp_path / "x[" / "]y.yaml"  # the path reads "x[/]y.yaml": a closing tag to rich's markup parser
    odd.write_text("version: 1\nmetrics:\n  - {name: auc_roc, op: '=>', value: 0.9}\n")
    proc = run_cli("validate", str(odd))
    assert proc.returncode == 2 and "Traceback" not in proc.stderr and "x[/]y.yaml:3" in proc.stderr


def test_control_characters_from_data_never_reach_the_terminal(tmp_path: Path) -> None:
    spoof = "\x1b[1G\x1b[2Kgatekit: PASS"
    pd.DataFrame({"y": [1, 0, 1, 0], "s": [0.9, 0.1, 0.8, 0.2], "g": [spoof, spoof, "b", "b"]}).to_csv(
        tmp_path / "d.csv", index=False)
    pol = tmp_path / "p.yaml"
    pol.write_text("version: 1\nname: \"n\\e[31m\"\nmetrics:\n"
                   "  - {name: equal_opportunity_difference, op: '<=', value: 0.1}\n")
    proc = run_cli("run", str(pol), "--data", str(tmp_path / "d.csv"), "--target", "y", "--score", "s",
                   "--sensitive", "g", "--out", str(tmp_path / "o"))
    assert proc.returncode in (0, 1)
    assert "\x1b" not in proc.stdout and "\x1b" not in proc.stderr
    assert "\\x1b" in proc.stdout  # shown, escaped


def test_a_failed_run_removes_the_previous_report(tmp_path: Path) -> None:
    pol = tmp_path / "p.yaml"
    pol.write_text(AUC_POLICY)
    good = tmp_path / "good.json"
    good.write_text(json.dumps({"auc_roc": 0.95}))
    assert run_cli("run", str(pol), "--metrics", str(good), "--out", str(tmp_path / "o")).returncode == 0
    assert (tmp_path / "o" / "gate_report.json").exists()
    bad = tmp_path / "bad.json"
    bad.write_text("{")
    assert run_cli("run", str(pol), "--metrics", str(bad), "--out", str(tmp_path / "o")).returncode == 2
    assert not (tmp_path / "o" / "gate_report.json").exists()
    assert not (tmp_path / "o" / "gate_report.html").exists()


def test_one_class_data_is_not_rescued_by_a_stale_metrics_file(tmp_path: Path) -> None:
    pd.DataFrame({"y": [1, 1, 1], "s": [0.2, 0.5, 0.9]}).to_csv(tmp_path / "d.csv", index=False)
    (tmp_path / "m.json").write_text(json.dumps({"auc_roc": 0.99}))
    pol = tmp_path / "p.yaml"
    pol.write_text(AUC_POLICY)
    report = gatekit.run(pol, data=tmp_path / "d.csv", target="y", score="s", metrics=tmp_path / "m.json")
    check = report.checks[0]
    assert check.status.value == "not_computable" and report.decision.value == "block"
    assert check.details["metrics_file_value"] == 0.99


def test_floating_point_noise_at_the_threshold_is_equality(tmp_path: Path) -> None:
    # selection rates 0.07 and 0.05: 0.07 - 0.05 = 0.020000000000000018 in binary floating point
    n_a, n_b = 100, 100
    y = [1] * 50 + [0] * 50 + [1] * 50 + [0] * 50
    s = [0.9] * 7 + [0.1] * 93 + [0.9] * 5 + [0.1] * 95
    g = ["a"] * n_a + ["b"] * n_b
    pd.DataFrame({"y": y, "s": s, "g": g}).to_csv(tmp_path / "d.csv", index=False)
    pol = tmp_path / "p.yaml"
    pol.write_text("version: 1\nmetrics:\n  - {name: demographic_parity_difference, op: '<=', value: 0.02}\n")
    report = gatekit.run(pol, data=tmp_path / "d.csv", target="y", score="s", sensitive=["g"])
    assert report.checks[0].observed == 0.07 - 0.05 != 0.02
    assert report.checks[0].status.value == "pass"


def test_unwritable_stdout_keeps_the_exit_code(tmp_path: Path) -> None:
    pol = tmp_path / "p.yaml"
    pol.write_text(AUC_POLICY)
    (tmp_path / "m.json").write_text(json.dumps({"auc_roc": 0.5}))
    with open("/dev/full", "w") as full:
        proc = subprocess.run([sys.executable, "-m", "gatekit", "run", str(pol), "--metrics",
                               str(tmp_path / "m.json"), "--out", str(tmp_path / "o")],
                              stdout=full, stderr=subprocess.PIPE, text=True, timeout=120)
    assert proc.returncode == 1 and "Traceback" not in proc.stderr


def test_out_and_demo_out_pointing_at_a_file(tmp_path: Path, demo_root: Path) -> None:
    f = tmp_path / "file"
    f.write_text("x")
    pol = tmp_path / "p.yaml"
    pol.write_text(AUC_POLICY)
    (tmp_path / "m.json").write_text(json.dumps({"auc_roc": 0.95}))
    proc = run_cli("run", str(pol), "--metrics", str(tmp_path / "m.json"), "--out", str(f))
    assert proc.returncode == 2 and "is not a folder" in proc.stderr
    proc = run_cli("demo", "--root", str(demo_root), "--out", str(f))
    assert proc.returncode == 2 and "Traceback" not in proc.stderr


def test_duplicate_csv_columns_are_refused(tmp_path: Path) -> None:
    (tmp_path / "d.csv").write_text("y,s,s\n1,0.9,0.1\n0,0.2,0.8\n")
    pol = tmp_path / "p.yaml"
    pol.write_text(AUC_POLICY)
    proc = run_cli("run", str(pol), "--data", str(tmp_path / "d.csv"), "--target", "y", "--score", "s",
                   "--out", str(tmp_path / "o"))
    assert proc.returncode == 2 and "duplicate column name(s) ['s']" in proc.stderr


def test_an_identifier_as_sensitive_feature_is_not_computable_quickly(tmp_path: Path) -> None:
    import numpy as np

    from gatekit.core.errors import NotComputable
    from gatekit.metrics import EvalData, fairness

    n = 2002  # 1,001 groups of 2 rows: over the limit of 1,000
    data = EvalData(y_true=np.tile([0, 1], n // 2), y_score=np.tile([0.2, 0.8], n // 2),
                    sensitive=pd.DataFrame({"id": np.repeat(np.arange(n // 2), 2).astype(str)}),
                    task="classification")
    t0 = time.perf_counter()
    with pytest.raises(NotComputable, match="1,001 groups"):
        fairness.demographic_parity_difference(data)
    assert time.perf_counter() - t0 < 5
