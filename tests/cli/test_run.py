"""Tests of :mod:`gatekit.cli.run`: ``gatekit run`` and ``gatekit validate`` end to end in a subprocess:
exit codes, the input flags, ``$GITHUB_STEP_SUMMARY``.
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from tests.cli.helpers import EX1, EXERCISE2, OWN_POLICY, SEED_FORMAT, gk, load_report
from tests.helpers import POLICIES, SEED1, run_cli, write_json, write_policy
from tests.report.helpers import BLOCKING, PASSING, SEED_EX1, _files, gk_ci, metrics_file
from tests.sections.helpers import _auc, _canary, _canary_frame, _rel, _with, write_log


def test_canary_log_flag_of_the_cli(tmp_path: Path) -> None:
    better, worse = tmp_path / "better.csv", tmp_path / "worse.csv"
    fb = write_log(better, mu_candidate=1.6, mu_production=1.0, seed=2)
    fw = write_log(worse, mu_candidate=0.8, mu_production=1.4, seed=3)
    assert _auc(fb, "candidate") - _auc(fb, "production") >= -0.01
    assert _auc(fw, "candidate") - _auc(fw, "production") < -0.01
    (tmp_path / "policy.yaml").write_text(
        "version: 1\n"
        "canary:\n"
        "  data: not_there.csv\n"  # replaced by --canary-log
        "  target: y\n"
        "  score: score\n"
        "  rules:\n"
        "    - name: roc_auc\n"
        "      max_drop: 0.01\n", encoding="utf-8")
    broken = _with(fb, tmp_path / "broken.csv", lambda f: f.rename(columns={"score": "p"}))
    codes = {}
    for name, log_file in (("pass", better), ("block", worse), ("invalid", broken)):
        res = run_cli("run", "policy.yaml", "--canary-log", str(log_file), "--out", str(tmp_path / name), "-q",
                      cwd=tmp_path)
        codes[name] = res.returncode
        if name == "invalid":
            assert "'score' not found" in res.stderr, res.stderr
    assert codes == {"pass": 0, "block": 1, "invalid": 2}


def test_cli_github_step_summary_is_appended(tmp_path):
    summary = tmp_path / "summary.md"
    summary.write_text("# earlier step\n", encoding="utf-8")
    ok, bad = metrics_file(tmp_path, PASSING, "ok.json"), metrics_file(tmp_path, BLOCKING, "bad.json")
    r1 = gk_ci("run", SEED_EX1, "--metrics", ok, "--out", "A", "--format", "json,junit", "--no-history", cwd=tmp_path,
            GITHUB_STEP_SUMMARY=str(summary))
    r2 = gk_ci("run", SEED_EX1, "--metrics", bad, "--out", "B", "--format", "markdown", "--no-history", cwd=tmp_path,
            GITHUB_STEP_SUMMARY=str(summary))
    assert (r1.returncode, r2.returncode) == (0, 1)
    text = summary.read_text(encoding="utf-8")
    assert text.startswith("# earlier step\n")
    headings = [ln for ln in text.split("\n") if ln.startswith("### ")]
    assert headings == ["### ✅ gatekit: **PASS**, policy seed\\_example\\_1 version 1",
                        "### ⛔ gatekit: **BLOCK**, policy seed\\_example\\_1 version 1"]
    first, second = text.split("### ")[1:]
    # links to the report files written (json, junit) but not to the markdown itself
    assert "json report: A/gate\\_report.json" in first and "junit report: A/gate\\_report.junit.xml" in first
    footers = [ln for ln in second.split("\n") if ln.startswith("run ")]
    assert len(footers) == 1 and " · " not in footers[0]  # run 2 wrote only markdown: nothing to link
    assert "| ⛔ block | performance | auc\\_roc | fail | 0.85 | &gt;= 0.9 |" in second


@pytest.mark.parametrize(("where", "values", "code"), [("folder", PASSING, 0), ("missing_parent", BLOCKING, 1)])
def test_cli_unwritable_step_summary_keeps_the_exit_code(tmp_path, where, values, code):
    m = metrics_file(tmp_path, values)
    target = tmp_path if where == "folder" else tmp_path / "no" / "such" / "summary.md"
    res = gk_ci("run", SEED_EX1, "--metrics", m, "--out", "D", "--format", "json", "--no-history", cwd=tmp_path,
             GITHUB_STEP_SUMMARY=str(target))
    assert res.returncode == code, res.stderr
    assert "could not write the job summary" in res.stderr
    assert (tmp_path / "D" / "gate_report.json").is_file()
    assert "gatekit: PASS" in res.stdout if code == 0 else "gatekit: BLOCK" in res.stdout


SEED2 = POLICIES / "seed_example_2.yaml"
EX2 = {"mape": 11.5, "smape": 15.1, "latency_p95_ms": 120}


def flat(text: str) -> str:
    """Collapse whitespace (the terminal renderer may wrap long lines)."""
    return " ".join(text.split())


BAD_OP_POLICY = """
    version: 1
    metrics:
      - name: auc_roc
        op: "=>"
        value: 0.9
"""


def test_run_help(tmp_path: Path) -> None:
    res = gk("run", "--help", cwd=tmp_path)
    assert res.returncode == 0, res.stderr
    out = flat(res.stdout)
    for option in ("--metrics", "--out", "--fail-on-warn", "--warn-only", "--no-history", "--engine",
                   "--spark-master", "--spark-conf"):
        assert option in out
    assert "--no-no-history" not in out  # one flag, not a pair
    assert "POLICY" in out


def test_validate_counts_in_words(tmp_path: Path) -> None:
    res = gk("validate", str(POLICIES / "loan_approval.yaml"), cwd=tmp_path)
    assert res.returncode == 0, res.stderr
    assert ", 1 gate, " in flat(res.stdout) and "1 gates" not in flat(res.stdout)


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


def test_baseline_flags_of_the_cli(holdout: tuple[Path, pd.DataFrame], tmp_path: Path) -> None:
    path, _ = holdout
    (tmp_path / "policy.yaml").write_text("version: 1\nmetrics:\n  - name: roc_auc\n    max_drop: 0.01\n",
                                          encoding="utf-8")
    common = ["run", "policy.yaml", "--data", str(path), "--target", "y", "-q"]
    ok = run_cli(*common, "--score", "cand", "--baseline-score", "prod", "--out", "a", cwd=tmp_path)
    worse = run_cli(*common, "--score", "prod", "--baseline-score", "cand", "--out", "b", cwd=tmp_path)
    both = run_cli(*common, "--score", "cand", "--baseline-score", "prod", "--baseline-model", "m.skops",
                   "--out", "c", cwd=tmp_path)
    assert (ok.returncode, worse.returncode, both.returncode) == (0, 1, 2), (ok.stderr, worse.stderr, both.stderr)
    assert "only one of --baseline-score" in both.stderr
    report = json.loads((tmp_path / "b" / "gate_report.json").read_text(encoding="utf-8"))
    assert report["decision"] == "block" and report["checks"][0]["status"] == "fail"


def test_a_warn_only_policy_reports_what_would_block_and_exits_0(tmp_path: Path) -> None:
    metrics = write_json(tmp_path, {"auc_roc": 0.5})
    policy = write_policy(tmp_path, """
        version: 1
        mode: warn_only
        metrics:
          - {name: auc_roc, op: ">=", value: 0.9}
    """)
    proc = run_cli("run", str(policy), "--metrics", str(metrics), "--out", str(tmp_path / "o"))
    assert proc.returncode == 0, proc.stderr
    assert "would block" in proc.stdout
    report = json.loads((tmp_path / "o" / "gate_report.json").read_text())
    assert report["decision"] == "block" and report["metadata"]["enforcement"] == "warn_only"
    assert report["metadata"]["exit_code"] == 0
    conflict = run_cli("run", str(policy), "--metrics", str(metrics), "--fail-on-warn", "--out", str(tmp_path / "x"))
    assert conflict.returncode == 2 and "contradict" in conflict.stderr
    enforced = write_policy(tmp_path, "version: 1\nmetrics: [{name: auc_roc, op: '>=', value: 0.9}]\n", "e.yaml")
    assert run_cli("run", str(enforced), "--metrics", str(metrics), "--out", str(tmp_path / "e")).returncode == 1


def test_enforcement_mode_and_exit_code_are_recorded_and_shown(tmp_path: Path) -> None:
    p, m = _files(tmp_path, {"smape": 12, "auc_roc": 0.8})  # warn: auc_roc fails a warn rule
    proc = run_cli("run", str(p), "--metrics", str(m), "--out", str(tmp_path / "o"), "--fail-on-warn")
    assert proc.returncode == 1
    report = json.loads((tmp_path / "o" / "gate_report.json").read_text())
    assert (report["decision"], report["metadata"]["enforcement"], report["metadata"]["exit_code"]) == (
        "warn", "fail_on_warn", 1)
    assert "treats warnings as failures (exit code 1)" in (tmp_path / "o" / "gate_report.html").read_text()

    proc = run_cli("run", str(p), "--metrics", str(m), "--out", str(tmp_path / "o2"), "--fail-on-warn",
                   "--warn-only")
    assert proc.returncode == 2 and "contradict" in proc.stderr


def test_cli_two_baseline_outputs_and_missing_canary_log_exit_2(tmp_path: Path) -> None:
    pol = _rel(tmp_path, "- {name: auc_roc, max_drop: 0.02}")
    proc = run_cli("run", str(pol), "--baseline-score", "bs", "--baseline-model", "x.skops",
                   "--out", str(tmp_path / "o"))
    assert proc.returncode == 2 and "give only one of --baseline-score" in proc.stderr
    cpol = _canary(tmp_path, "- {name: auc_roc, max_drop: 0.02}", _canary_frame(150, 150))
    proc = run_cli("run", str(cpol), "--canary-log", str(tmp_path / "nope.csv"), "--out", str(tmp_path / "o"))
    assert proc.returncode == 2 and "canary log file not found" in proc.stderr
    assert "Traceback" not in proc.stderr


# validate and verify print only escaped text from the files they read
HOSTILE_TEXT = "\x1b[2J\x1b]0;pwned\x07[red]red[/red]\u202e"


def _no_raw_escapes(text: str) -> None:
    assert not any(c in text for c in "\x1b\x07\u202e"), repr(text)


def test_validate_prints_the_policys_text_escaped(tmp_path: Path) -> None:
    pol = tmp_path / "pol[red]x.yaml"  # the loader refuses a path with a control character
    pol.write_text('version: "1\\e[2J\\e]0;t\\a [red]r[/red]"\n'
                   'name: "evil \\e]0;title\\a [bold]b[/bold] \\e[31m"\n'
                   "metrics:\n  - {name: auc_roc, op: '>=', value: 0.9}\n", encoding="utf-8")
    res = gk("validate", pol.name, cwd=tmp_path)
    assert res.returncode == 0, res.stderr
    _no_raw_escapes(res.stdout)
    assert res.stdout.startswith("valid: pol[red]x.yaml (policy 'evil \\x1b]0;title\\x07 [bold]b[/bold] ")
    assert "version 1\\x1b[2J\\x1b]0;t\\x07 [red]r[/red]" in res.stdout


def test_verify_prints_the_reports_text_escaped(tmp_path: Path) -> None:
    role, lib, pkg = f"data{HOSTILE_TEXT}", f"numpy{HOSTILE_TEXT}", f"pkg{HOSTILE_TEXT}\nforged line"
    report = {"metadata": {
        "policy": {"path": str(tmp_path / f"gone{HOSTILE_TEXT}.yaml")},
        "reproducibility": {"sha256": f"x{HOSTILE_TEXT}", "components": {
            "policy": "abc", "files": {role: "y"}, "libraries": {lib: "1"}, "packages": {pkg: "1"}}},
        "inputs": {"files": {role: {"path": f"/nonexistent{HOSTILE_TEXT}", "sha256": "y"}}}}}
    path = tmp_path / "r.json"
    path.write_text(json.dumps(report), encoding="utf-8")
    res = gk("verify", path, cwd=tmp_path)
    assert res.returncode == 1, res.stderr
    _no_raw_escapes(res.stdout)
    lines = res.stdout.splitlines()
    assert lines[0].startswith("NOT reproducible: the report records x\\x1b[2J\\x1b]0;pwned\\x07[red]red[/red]")
    assert all(line.startswith("  - ") for line in lines[1:]) and len(lines) >= 5  # one line per difference
    out = res.stdout
    assert "gone\\x1b[2J" in out and "/nonexistent\\x1b[2J" in out and "numpy\\x1b[2J" in out
    assert "pkg\\x1b[2J" in out and "\\x0aforged line" in out


def test_run_with_an_empty_history_is_a_usage_error_not_history_off(tmp_path: Path) -> None:
    m = tmp_path / "m.json"
    m.write_text(json.dumps(EX1), encoding="utf-8")
    res = gk("run", SEED1, "--metrics", m, "--history", "", "--out", tmp_path / "o", cwd=tmp_path)
    assert res.returncode == 2, res.stderr
    assert "--history needs a store: a URL, a file, or off" in res.stderr
    assert not (tmp_path / "o" / "gate_report.json").exists()


def test_quantiles_flag_is_inputs_quantiles_and_is_recorded(tmp_path: Path) -> None:
    """``--quantiles LEVEL=COLUMN`` (repeated or comma-separated) replaces inputs.quantiles; bad values exit 2."""
    import numpy as np
    import sklearn.metrics as skm

    rng = np.random.default_rng(4)
    y = 10 + rng.normal(size=120)
    f = y + rng.normal(scale=0.5, size=120)
    rows = pd.DataFrame({"y": y, "f": f, "p10": f - 0.6, "p90": f + 0.6, "wide": f + 2.0})
    rows.to_csv(tmp_path / "fc.csv", index=False)
    write_policy(tmp_path, name="p.yaml", text="""
        version: 1
        inputs: {quantiles: {0.9: wide}}
        metrics:
          - {name: pinball_loss_at_0_9, op: "<=", value: 5}
          - {name: interval_coverage_at_0_8, op: ">=", value: 0.1}
        """)
    base = ["run", "p.yaml", "--data", "fc.csv", "--target", "y", "--prediction", "f", "--no-history", "-q"]
    for flags in (["--quantiles", "0.1=p10,0.9=p90"], ["--quantiles", "0.1=p10", "--quantiles", "0.9=p90"]):
        res = gk(*base, *flags, "--out", "out", cwd=tmp_path)
        assert res.returncode == 0, res.stderr
        report = load_report(tmp_path / "out")
        observed = {c["name"]: c["observed"] for c in report["checks"]}
        assert observed["pinball_loss_at_0_9"] == pytest.approx(skm.mean_pinball_loss(y, f + 0.6, alpha=0.9))
        assert observed["interval_coverage_at_0_8"] == pytest.approx(np.mean((f - 0.6 <= y) & (y <= f + 0.6)))
        assert report["metadata"]["inputs"]["quantiles"] == {"0.1": "p10", "0.9": "p90"}  # the flag, not the policy
    for bad, said in (("1.5=p90", "quantile level 1.5 is not strictly between 0 and 1"),
                      ("p90", "give LEVEL=COLUMN"), ("0.9=", "quantile 0.9 names no column"),
                      ("high=p90", "quantile level 'high' is not a number"),
                      ("0.9=p90,0.90=wide", "quantile level 0.9 is given twice")):
        res = gk(*base, "--quantiles", bad, "--out", "bad", cwd=tmp_path)
        assert res.returncode == 2 and "--quantiles" in res.stderr and said in res.stderr, (bad, res.stderr)
