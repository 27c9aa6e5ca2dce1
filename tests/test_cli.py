"""End-to-end tests of the command line: the real entry points in a subprocess, exit codes and report files."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import write_json, write_policy

POLICIES = Path(__file__).resolve().parents[1] / "policies"
SEED1 = POLICIES / "seed_exercise_1.yaml"
SEED2 = POLICIES / "seed_example_2.yaml"
SEED_FORMAT = POLICIES / "seed_format.yaml"

# The console script installed next to the interpreter running the tests (a venv's bin/ or Scripts/).
CONSOLE_SCRIPT = Path(sys.executable).parent / ("gatekit.exe" if os.name == "nt" else "gatekit")

EX1 = {"auc_roc": 0.92, "precision_at_0_5": 0.77, "fairness_demographic_parity_diff": 0.08}
EX2 = {"mape": 11.5, "smape": 15.1, "latency_p95_ms": 120}
EXERCISE2 = {"auc_roc": 0.91, "precision_at_0_5": 0.76, "fairness_demographic_parity_diff": 0.12,
             "psi_feature_drift": 0.18, "latency_p95_ms": 130}

CHECK_KEYS = {"name", "section", "status", "on_fail", "observed", "op", "threshold", "message"}
STATUSES = {"pass", "fail", "error", "not_computable", "skipped"}


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env.pop("GATEKIT_DEBUG", None)
    env["PYTHONIOENCODING"] = "utf-8"
    return env


def gk(*args: object, cwd: Path, script: bool = False) -> subprocess.CompletedProcess[str]:
    """Run gatekit as ``python -m gatekit`` (default) or through the console script."""
    cmd = [str(CONSOLE_SCRIPT)] if script else [sys.executable, "-m", "gatekit"]
    return subprocess.run([*cmd, *map(str, args)], cwd=cwd, capture_output=True, text=True, encoding="utf-8",
                          env=_env(), timeout=300, check=False)


def flat(text: str) -> str:
    """Collapse whitespace (the terminal renderer may wrap long lines)."""
    return " ".join(text.split())


def _reject_constant(name: str) -> None:
    raise ValueError(f"non-standard JSON constant {name}")


def load_report(out: Path) -> dict:
    path = out / "gate_report.json"
    assert path.is_file()
    return json.loads(path.read_text(encoding="utf-8"), parse_constant=_reject_constant)


OWN_POLICY = """
    version: 1
    name: loan_gate
    metrics:
      - name: auc_roc
        op: ">="
        value: 0.90
        on_fail: block
      - name: precision_at_0_5
        op: ">="
        value: 0.75
        on_fail: block
      - name: fairness_demographic_parity_diff
        op: "<="
        value: 0.10
        on_fail: block
"""

BAD_OP_POLICY = """
    version: 1
    metrics:
      - name: auc_roc
        op: "=>"
        value: 0.9
"""


# --------------------------------------------------------------------------------------------------
# Entry points
# --------------------------------------------------------------------------------------------------


def test_console_script_is_installed() -> None:
    assert CONSOLE_SCRIPT.is_file(), f"no gatekit console script next to {sys.executable}"


@pytest.mark.parametrize("script", [False, True], ids=["python-m", "console-script"])
def test_help(tmp_path: Path, script: bool) -> None:
    res = gk("--help", cwd=tmp_path, script=script)
    assert res.returncode == 0, res.stderr
    for command in ("run", "validate"):
        assert command in res.stdout


def test_run_help(tmp_path: Path) -> None:
    res = gk("run", "--help", cwd=tmp_path)
    assert res.returncode == 0, res.stderr
    out = flat(res.stdout)
    for option in ("--metrics", "--out", "--fail-on-warn", "--warn-only"):
        assert option in out


def test_version(tmp_path: Path) -> None:
    import gatekit

    res = gk("--version", cwd=tmp_path)
    assert res.returncode == 0
    assert gatekit.__version__ in res.stdout


# --------------------------------------------------------------------------------------------------
# Exit codes of `gatekit run`
# --------------------------------------------------------------------------------------------------


def test_exercise_1_policy_on_example_1_metrics_warns_exit_0(tmp_path: Path) -> None:
    out = tmp_path / "out"
    res = gk("run", SEED1, "--metrics", write_json(tmp_path, EX1), "--out", out, cwd=tmp_path)
    assert res.returncode == 0, res.stderr
    assert load_report(out)["decision"] == "warn"


def test_fail_on_warn_turns_warn_into_exit_1(tmp_path: Path) -> None:
    out = tmp_path / "out"
    res = gk("run", SEED1, "--metrics", write_json(tmp_path, EX1), "--out", out, "--fail-on-warn", cwd=tmp_path)
    assert res.returncode == 1, res.stderr
    assert load_report(out)["decision"] == "warn"


@pytest.mark.parametrize("extra", [[], ["--fail-on-warn"]])
def test_own_policy_passes_exit_0(tmp_path: Path, extra: list[str]) -> None:
    out = tmp_path / "out"
    pol = write_policy(tmp_path, OWN_POLICY)
    res = gk("run", pol, "--metrics", write_json(tmp_path, EX1), "--out", out, *extra, cwd=tmp_path)
    assert res.returncode == 0, res.stderr
    report = load_report(out)
    assert report["decision"] == "pass"
    assert [c["status"] for c in report["checks"]] == ["pass"] * 3


def test_seed_example_2_blocks_exit_1_console_script(tmp_path: Path) -> None:
    out = tmp_path / "out"
    res = gk("run", SEED2, "--metrics", write_json(tmp_path, EX2), "--out", out, cwd=tmp_path, script=True)
    assert res.returncode == 1, res.stderr
    report = load_report(out)
    assert report["decision"] == "block"
    assert [c["name"] for c in report["checks"] if c["status"] == "fail"] == ["smape"]
    assert [c["name"] for c in report["checks"] if c["status"] != "pass"] == ["smape"]


def test_warn_only_exits_0_on_block_and_keeps_the_decision(tmp_path: Path) -> None:
    out = tmp_path / "out"
    res = gk("run", SEED2, "--metrics", write_json(tmp_path, EX2), "--out", out, "--warn-only", cwd=tmp_path)
    assert res.returncode == 0, res.stderr
    assert load_report(out)["decision"] == "block"


def test_exercise_2_blocks_on_parity_exit_1(tmp_path: Path) -> None:
    out = tmp_path / "out"
    res = gk("run", SEED1, "--metrics", write_json(tmp_path, EXERCISE2), "--out", out, cwd=tmp_path)
    assert res.returncode == 1, res.stderr
    report = load_report(out)
    assert report["decision"] == "block"
    checks = {c["name"]: c for c in report["checks"]}
    blocking = [c["name"] for c in report["checks"] if c["on_fail"] == "block" and c["status"] != "pass"]
    assert blocking == ["fairness_demographic_parity_diff"]
    assert checks["latency_p95_ms"]["status"] == "fail"
    assert checks["latency_p95_ms"]["on_fail"] == "warn"
    assert checks["psi_feature_drift"]["status"] == "pass"


def test_seed_format_blocks_on_uncheckable_compatibility(tmp_path: Path) -> None:
    out = tmp_path / "out"
    metrics = {"auc_roc": 0.95, "precision_at_0_5": 0.80, "fairness_demographic_parity_diff": 0.05,
               "latency_p95_ms": 100}
    res = gk("run", SEED_FORMAT, "--metrics", write_json(tmp_path, metrics), "--out", out, cwd=tmp_path)
    assert res.returncode == 1, res.stderr
    report = load_report(out)
    assert report["decision"] == "block"
    # only a metrics file: no model, no data, so neither signature nor format can be checked: fail closed
    nc = [c for c in report["checks"] if c["status"] == "not_computable"]
    assert {c["name"] for c in nc} == {"feature_signature", "data_signature", "model_format"}
    assert all(c["section"] == "compatibility" for c in nc)
    assert all(c["status"] == "pass" for c in report["checks"] if c["section"] != "compatibility")


def test_require_gate_unknown_blocks_exit_1(tmp_path: Path) -> None:
    pol = write_policy(tmp_path, """
        version: 1
        gates:
          - gate: performance
            require: "auc_roc >= 0.90 AND (precision_at_0_5 >= 0.75 OR recall_at_0_5 >= 0.80)"
    """)
    out = tmp_path / "out"
    res = gk("run", pol, "--metrics", write_json(tmp_path, {"auc_roc": 0.92, "precision_at_0_5": 0.7}), "--out", out,
             cwd=tmp_path)
    assert res.returncode == 1, res.stderr
    (check,) = load_report(out)["checks"]
    assert check["status"] == "not_computable"

    out2 = tmp_path / "out2"
    full = {"auc_roc": 0.92, "precision_at_0_5": 0.7, "recall_at_0_5": 0.85}
    res = gk("run", pol, "--metrics", write_json(tmp_path, full, "m2.json"), "--out", out2, cwd=tmp_path)
    assert res.returncode == 0, res.stderr
    assert load_report(out2)["decision"] == "pass"


# --------------------------------------------------------------------------------------------------
# Exit code 2: invalid policy or inputs
# --------------------------------------------------------------------------------------------------


def test_invalid_op_exit_2_names_the_line(tmp_path: Path) -> None:
    pol = write_policy(tmp_path, BAD_OP_POLICY)
    out = tmp_path / "out"
    res = gk("run", pol, "--metrics", write_json(tmp_path, EX1), "--out", out, cwd=tmp_path)
    assert res.returncode == 2
    err = flat(res.stderr)
    assert f"{pol.name}:4" in err          # file:line of `op: "=>"`
    assert "'>='" in err                   # the suggestion
    assert "Traceback" not in res.stderr
    assert not (out / "gate_report.json").exists()


def test_invalid_policy_exit_2_even_with_warn_only(tmp_path: Path) -> None:
    pol = write_policy(tmp_path, BAD_OP_POLICY)
    res = gk("run", pol, "--metrics", write_json(tmp_path, EX1), "--out", tmp_path / "out", "--warn-only",
             cwd=tmp_path)
    assert res.returncode == 2


def test_missing_policy_file_exit_2(tmp_path: Path) -> None:
    res = gk("run", tmp_path / "nope.yaml", "--metrics", write_json(tmp_path, EX1), "--out", tmp_path / "out",
             cwd=tmp_path)
    assert res.returncode == 2
    assert "nope.yaml" in flat(res.stderr)


def test_missing_metrics_file_exit_2(tmp_path: Path) -> None:
    res = gk("run", SEED1, "--metrics", tmp_path / "absent.json", "--out", tmp_path / "out", cwd=tmp_path)
    assert res.returncode == 2
    assert "absent.json" in flat(res.stderr)
    assert "Traceback" not in res.stderr


@pytest.mark.parametrize("text", ['{"auc_roc": 0.92,', "not json at all", ""])
def test_bad_json_exit_2(tmp_path: Path, text: str) -> None:
    m = tmp_path / "bad.json"
    m.write_text(text, encoding="utf-8")
    res = gk("run", SEED1, "--metrics", m, "--out", tmp_path / "out", cwd=tmp_path)
    assert res.returncode == 2
    assert "bad.json" in flat(res.stderr)
    assert "Traceback" not in res.stderr


@pytest.mark.parametrize("data", [[0.92, 0.77], {"auc_roc": "high"}])
def test_metrics_json_of_the_wrong_shape_exit_2(tmp_path: Path, data: object) -> None:
    res = gk("run", SEED1, "--metrics", write_json(tmp_path, data), "--out", tmp_path / "out", cwd=tmp_path)
    assert res.returncode == 2
    assert "Traceback" not in res.stderr


# --------------------------------------------------------------------------------------------------
# gatekit validate
# --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("policy", [SEED1, SEED2, SEED_FORMAT], ids=lambda p: p.name)
def test_validate_valid_policies_exit_0(tmp_path: Path, policy: Path) -> None:
    res = gk("validate", policy, cwd=tmp_path)
    assert res.returncode == 0, res.stderr


def test_validate_invalid_policy_exit_2_names_the_line(tmp_path: Path) -> None:
    pol = write_policy(tmp_path, BAD_OP_POLICY)
    for script in (False, True):
        res = gk("validate", pol, cwd=tmp_path, script=script)
        assert res.returncode == 2
        assert f"{pol.name}:4" in flat(res.stderr)


def test_validate_reports_every_problem(tmp_path: Path) -> None:
    pol = write_policy(tmp_path, """
        version: 1
        metrics:
          - name: auc_roc
            opp: ">="
            value: 0.9
          - name: fairness_demographic_parity_dif
            op: "<="
            value: "0.10"
    """)
    res = gk("validate", pol, cwd=tmp_path)
    assert res.returncode == 2
    err = flat(res.stderr)
    assert f"{pol.name}:4" in err and "'op'" in err
    assert f"{pol.name}:6" in err and "fairness_demographic_parity_diff" in err
    assert f"{pol.name}:8" in err


def test_validate_empty_file_exit_2(tmp_path: Path) -> None:
    pol = tmp_path / "empty.yaml"
    pol.write_text("", encoding="utf-8")
    res = gk("validate", pol, cwd=tmp_path)
    assert res.returncode == 2
    assert "empty.yaml" in flat(res.stderr)


def test_validate_yaml_syntax_error_exit_2(tmp_path: Path) -> None:
    pol = write_policy(tmp_path, "version: 1\nmetrics:\n  - name: auc_roc\n    op: \">=\"\n   value: 0.9\n")
    res = gk("validate", pol, cwd=tmp_path)
    assert res.returncode == 2
    assert f"{pol.name}:5" in flat(res.stderr)


# --------------------------------------------------------------------------------------------------
# Report files
# --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("policy", "metrics"),
    [(SEED1, EXERCISE2), (SEED1, EX1), (SEED_FORMAT, {"auc_roc": 0.95})],
    ids=["exercise2", "seed1-not-computable", "seed-format-skipped-and-gates"],
)
def test_json_report_schema(tmp_path: Path, policy: Path, metrics: dict) -> None:
    out = tmp_path / "out"
    res = gk("run", policy, "--metrics", write_json(tmp_path, metrics), "--out", out, cwd=tmp_path)
    assert res.returncode in (0, 1), res.stderr
    report = load_report(out)
    assert report["schema_version"] == 1
    assert report["decision"] in ("pass", "warn", "block")
    assert res.returncode == (1 if report["decision"] == "block" else 0)
    assert report["checks"]
    for c in report["checks"]:
        assert CHECK_KEYS <= set(c), sorted(CHECK_KEYS - set(c))
        assert c["status"] in STATUSES
        assert c["on_fail"] in ("block", "warn")
        assert isinstance(c["name"], str) and c["name"]
        assert isinstance(c["message"], str)
        for k in ("observed", "threshold"):
            assert c[k] is None or isinstance(c[k], (int, float))
    assert report["metadata"]["policy"]["sha256"] == hashlib.sha256(policy.read_bytes()).hexdigest()
    assert (out / "gate_report.html").is_file()


def test_json_report_values(tmp_path: Path) -> None:
    out = tmp_path / "out"
    gk("run", SEED1, "--metrics", write_json(tmp_path, EXERCISE2), "--out", out, cwd=tmp_path)
    checks = {c["name"]: c for c in load_report(out)["checks"]}
    parity = checks["fairness_demographic_parity_diff"]
    assert (parity["observed"], parity["op"], parity["threshold"]) == (0.12, "<=", 0.10)
    assert (parity["status"], parity["on_fail"], parity["section"]) == ("fail", "block", "fairness")
    lat = checks["latency_p95_ms"]
    assert (lat["observed"], lat["op"], lat["threshold"]) == (130, "<=", 120)


def test_policy_sha256_of_own_policy(tmp_path: Path) -> None:
    pol = write_policy(tmp_path, OWN_POLICY + "# trailing comment changes the bytes, not the rules\n")
    out = tmp_path / "out"
    res = gk("run", pol, "--metrics", write_json(tmp_path, EX1), "--out", out, cwd=tmp_path)
    assert res.returncode == 0, res.stderr
    assert load_report(out)["metadata"]["policy"]["sha256"] == hashlib.sha256(pol.read_bytes()).hexdigest()


def test_html_report_escapes_policy_text(tmp_path: Path) -> None:
    payload = "<script>alert(1)</script>"
    pol = write_policy(tmp_path, f"""
        version: 1
        name: "{payload}"
        description: "{payload}"
        metrics:
          - name: auc_roc
            op: ">="
            value: 0.90
            description: "{payload}"
    """)
    out = tmp_path / "out"
    res = gk("run", pol, "--metrics", write_json(tmp_path, {"auc_roc": 0.95}), "--out", out, cwd=tmp_path)
    assert res.returncode == 0, res.stderr
    html_path = out / "gate_report.html"
    assert html_path.is_file()
    html = html_path.read_text(encoding="utf-8")
    assert html.lstrip().lower().startswith("<!doctype html")
    assert payload not in html
    assert "<script" not in html.lower()
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    # and the JSON keeps the text as written
    report = load_report(out)
    assert report["metadata"]["policy"]["name"] == payload
