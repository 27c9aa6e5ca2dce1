"""Tests of :mod:`gatekit.report` (the package module): report formats and files, strict JSON and its
published schema.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

import gatekit
from gatekit.core.results import Decision
from tests.cli.helpers import EX1, EXERCISE2, SEED_FORMAT, gk, load_report
from tests.helpers import REPO, SEED1, run_cli, write_json
from tests.model.helpers import _pickled
from tests.report.helpers import BLOCKING, PASSING, SEED_EX1, _files, gk_ci, metrics_file, mixed_report, parse_valid

# --------------------------------------------------------------------------------------------------------------
# 3. The command line
# --------------------------------------------------------------------------------------------------------------


def test_cli_writes_exactly_the_requested_formats(tmp_path, junit_schema):
    m = metrics_file(tmp_path, PASSING)
    res = gk_ci("run", SEED_EX1, "--metrics", m, "--out", "D", "--format", "junit,markdown", "--format", "json",
             "--no-history", cwd=tmp_path)
    assert res.returncode == 0, res.stderr
    d = tmp_path / "D"
    assert {p.name for p in d.iterdir()} == {"gate_report.json", "gate_report.junit.xml", "gate_report.md"}
    assert json.loads((d / "gate_report.json").read_text(encoding="utf-8"))["decision"] == "pass"
    root = parse_valid((d / "gate_report.junit.xml").read_text(encoding="utf-8"), junit_schema)
    # seed_example_1: two performance rules, one fairness rule, all pass
    assert [(s.get("name"), s.get("tests")) for s in root.findall("testsuite")] == \
        [("gatekit.performance", "2"), ("gatekit.fairness", "1")]
    assert (root.get("failures"), root.get("skipped")) == ("0", "0")
    assert (d / "gate_report.md").read_text(encoding="utf-8").startswith(
        "### ✅ gatekit: **PASS**, policy seed\\_example\\_1 version 1\n")


def test_cli_default_formats_and_case_and_duplicates(tmp_path):
    m = metrics_file(tmp_path, PASSING)
    assert gk_ci("run", SEED_EX1, "--metrics", m, "--out", "A", "--no-history", cwd=tmp_path).returncode == 0
    assert {p.name for p in (tmp_path / "A").iterdir()} == {"gate_report.json", "gate_report.html"}
    res = gk_ci("run", SEED_EX1, "--metrics", m, "--out", "B", "--format", " JUnit , junit,", "--no-history",
             cwd=tmp_path)
    assert res.returncode == 0, res.stderr
    assert {p.name for p in (tmp_path / "B").iterdir()} == {"gate_report.junit.xml"}


def test_cli_unknown_format_exits_2_naming_it(tmp_path):
    m = metrics_file(tmp_path, PASSING)
    res = gk_ci("run", SEED_EX1, "--metrics", m, "--out", "D", "--format", "junit,pdf", "--no-history", cwd=tmp_path)
    assert res.returncode == 2
    assert "pdf" in res.stderr
    assert "junit" in res.stderr  # the accepted formats are listed
    assert not (tmp_path / "D").exists()


# --------------------------------------------------------------------------------------------------------------
# 4. Python API
# --------------------------------------------------------------------------------------------------------------


def test_api_run_writes_only_requested_formats_and_to_junit_matches(tmp_path, junit_schema):
    import gatekit

    m = metrics_file(tmp_path, BLOCKING)
    out = tmp_path / "D"
    report = gatekit.run(str(SEED_EX1), metrics=str(m), out=out, formats=["junit"])
    assert report.decision == Decision.BLOCK
    assert sorted(p.name for p in out.iterdir()) == ["gate_report.junit.xml"]
    written = (out / "gate_report.junit.xml").read_text(encoding="utf-8")
    assert report.to_junit() == written
    root = parse_valid(written, junit_schema)
    fail = root.find("testsuite/testcase/failure")
    assert fail is not None and fail.get("type") == "block/fail"
    assert root.find("testsuite/testcase").get("name") == "auc_roc"
    assert (root.get("tests"), root.get("failures"), root.get("skipped")) == ("3", "1", "0")


def test_api_default_formats_and_unknown_format(tmp_path):
    import gatekit

    m = metrics_file(tmp_path, PASSING)
    gatekit.run(str(SEED_EX1), metrics=str(m), out=tmp_path / "A")
    assert {p.name for p in (tmp_path / "A").iterdir()} == {"gate_report.json", "gate_report.html"}
    with pytest.raises(ValueError, match="pdf"):
        gatekit.run(str(SEED_EX1), metrics=str(m), out=tmp_path / "B", formats=["junit", "pdf"])


def test_api_save_methods_create_folders(tmp_path):
    import gatekit

    m = metrics_file(tmp_path, BLOCKING)
    report = gatekit.run(str(SEED_EX1), metrics=str(m))
    html = report.save_html(tmp_path / "x" / "y" / "report.html")
    assert html == tmp_path / "x" / "y" / "report.html" and html.is_file()
    text = html.read_text(encoding="utf-8")
    assert "BLOCK" in text and "seed_example_1" in text and "auc_roc" in text
    j = report.save_json(tmp_path / "j" / "r.json")
    assert json.loads(j.read_text(encoding="utf-8"))["decision"] == "block"
    ju = report.save_junit(tmp_path / "k" / "deeper" / "r.xml")
    assert ju.read_text(encoding="utf-8") == report.to_junit()
    md = report.save_markdown(tmp_path / "m" / "r.md")
    assert md.read_text(encoding="utf-8") == report.to_markdown()
    assert report.to_markdown().startswith("### ⛔ gatekit: **BLOCK**, policy seed\\_example\\_1 version 1\n")
    assert not list(tmp_path.rglob(".*.tmp"))  # no temporary file is left behind


def test_hand_built_report_save_junit_and_markdown_with_str_paths(tmp_path, junit_schema):
    rep = mixed_report(True)
    j = rep.save_junit(str(tmp_path / "new" / "folder" / "r.xml"))  # a str path works too
    parse_valid(Path(j).read_text(encoding="utf-8"), junit_schema)
    md = rep.save_markdown(str(tmp_path / "other" / "r.md"))
    assert Path(md).read_text(encoding="utf-8").startswith("### ⛔ gatekit: **BLOCK**")


def test_hand_built_report_save_html(tmp_path):
    rep = mixed_report(True)
    p = rep.save_html(tmp_path / "new" / "folder" / "r.html")
    assert "BLOCK" in p.read_text(encoding="utf-8")


CHECK_KEYS = {"name", "section", "status", "on_fail", "observed", "op", "threshold", "message"}
STATUSES = {"pass", "fail", "error", "not_computable", "skipped"}


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


@pytest.mark.filterwarnings("ignore::RuntimeWarning")
def test_a_regressor_giving_infinite_errors_still_writes_strict_schema_valid_json(tmp_path: Path) -> None:
    jsonschema = pytest.importorskip("jsonschema")

    data = tmp_path / "d.csv"
    rng = np.random.default_rng(1)
    X = pd.DataFrame({"a": rng.normal(300, 50, 80), "b": rng.normal(size=80)})
    X.assign(r=rng.normal(size=80)).to_csv(data, index=False)
    from sklearn.linear_model import LinearRegression

    reg = LinearRegression().fit(X, np.exp(X.a / 2))  # huge, overflowing forecasts under noise
    model = _pickled(tmp_path, reg, "reg.pkl")
    report = gatekit.run({"version": 1, "inputs": {"data": str(data), "target": "r", "task": "regression",
                                                    "model": str(model), "trust_model": True},
                          "robustness": {"noise": {"scale": 5, "max_metric_drop": 0.1},
                                         "out_of_range": {"cases": ["extreme"], "extreme_factor": 1e300}},
                          "metrics": [{"name": "rmse", "op": "<=", "value": 1}]}, out=tmp_path / "out")
    assert report.decision == Decision.BLOCK
    doc = json.loads((tmp_path / "out" / "gate_report.json").read_text(), parse_constant=pytest.fail)
    schema = json.loads((REPO / "gatekit/report/schema/gate_report.v1.schema.json").read_text())
    jsonschema.validate(doc, schema)


def test_json_report_is_strict_json(tmp_path: Path) -> None:
    p, m = _files(tmp_path, {"smape": None, "auc_roc": 0.95})
    text = gatekit.run(p, metrics=m).to_json()
    json.loads(text, parse_constant=lambda c: pytest.fail(f"non-standard JSON constant {c}"))


def test_reports_validate_against_the_published_json_schema(tmp_path: Path, demo_root: Path) -> None:
    import jsonschema

    from gatekit.report import SCHEMA_PATH

    schema = json.loads(SCHEMA_PATH.read_text())
    jsonschema.Draft202012Validator.check_schema(schema)
    validator = jsonschema.Draft202012Validator(schema)
    # a blocking CLI run with every status kind that a metrics file can produce
    p, m = _files(tmp_path, {"smape": 15, "auc_roc": None})
    assert run_cli("run", str(p), "--metrics", str(m), "--out", str(tmp_path / "o")).returncode == 1
    validator.validate(json.loads((tmp_path / "o" / "gate_report.json").read_text()))
    # the demo's two real reports (model scored, fairness by group, regression)
    assert run_cli("demo", "--root", str(demo_root)).returncode == 0
    for name in ("loan_approval", "demand_forecast"):
        validator.validate(json.loads((demo_root / "reports/demo" / name / "gate_report.json").read_text()))
    # and the schema is not vacuous: a report without a decision fails it
    broken = json.loads((tmp_path / "o" / "gate_report.json").read_text())
    del broken["decision"]
    with pytest.raises(jsonschema.ValidationError):
        validator.validate(broken)


# --------------------------------------------------------------------------------------------------------------
# A set of reports is written all or none: a full disk never leaves a report that contradicts the exit code
# --------------------------------------------------------------------------------------------------------------


def _full_disk_on(monkeypatch: pytest.MonkeyPatch, names: set[str], after: int = 0) -> list[str]:
    """Make writing a temporary of a file named in ``names`` raise ENOSPC (after ``after`` such writes succeed)."""
    import errno

    import gatekit.report as report_module

    real = report_module._write_temporary
    attempts: list[str] = []

    def write(path: Path, text: str) -> Path:
        attempts.append(path.name)
        if path.name in names and sum(a in names for a in attempts) > after:
            raise OSError(errno.ENOSPC, "No space left on device", str(path))
        return real(path, text)

    monkeypatch.setattr(report_module, "_write_temporary", write)
    return attempts


def _passing_report(tmp_path: Path) -> gatekit.Report:
    report = gatekit.run(str(SEED_EX1), metrics=str(metrics_file(tmp_path, PASSING)))
    assert report.decision == Decision.PASS and report.metadata["exit_code"] == 0
    return report


def test_a_full_disk_on_the_second_format_leaves_no_report(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import errno

    from gatekit.report import write_reports

    report = _passing_report(tmp_path)
    report.attachments = {"evidently_drift.html": lambda: "<html>drift</html>"}
    attempts = _full_disk_on(monkeypatch, {"gate_report.html"})
    out = tmp_path / "out"
    with pytest.raises(OSError) as info:
        write_reports(report, out, ("json", "html"))
    assert info.value.errno == errno.ENOSPC
    # the attachment and the JSON were written (to temporaries) before the HTML failed; none of it is left
    assert attempts == ["evidently_drift.html", "gate_report.json", "gate_report.html"]
    assert sorted(p.name for p in out.iterdir()) == []


def test_a_rename_that_fails_removes_the_files_already_renamed(tmp_path: Path,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    import errno
    import os

    from gatekit.report import write_reports

    report = _passing_report(tmp_path)
    out = tmp_path / "out"
    real = os.replace
    renamed: list[str] = []

    def replace(src: Any, dst: Any) -> None:
        if renamed:  # the second rename fails
            raise OSError(errno.ENOSPC, "No space left on device")
        real(src, dst)
        renamed.append(Path(dst).name)

    monkeypatch.setattr(os, "replace", replace)
    with pytest.raises(OSError):
        write_reports(report, out, ("json", "html", "markdown"))
    assert renamed == ["gate_report.json"]  # it was in place, and is removed again
    assert sorted(p.name for p in out.iterdir()) == []


def test_a_complete_write_leaves_exactly_the_reports_and_no_temporary(tmp_path: Path) -> None:
    from gatekit.report import render, write_reports

    report = _passing_report(tmp_path)
    report.attachments = {"evidently_drift.html": lambda: "<html>drift</html>"}
    out = tmp_path / "out"
    (out).mkdir()
    (out / "gate_report.md").write_text("an earlier run's summary", encoding="utf-8")
    files = write_reports(report, out, ("json", "junit"))
    assert {k: p.name for k, p in files.items()} == {"evidently_drift.html": "evidently_drift.html",
                                                      "json": "gate_report.json", "junit": "gate_report.junit.xml"}
    assert sorted(p.name for p in out.iterdir()) == ["evidently_drift.html", "gate_report.json",
                                                     "gate_report.junit.xml"]
    assert (out / "evidently_drift.html").read_text(encoding="utf-8") == "<html>drift</html>"
    for fmt, name in (("json", "gate_report.json"), ("junit", "gate_report.junit.xml")):
        assert (out / name).read_text(encoding="utf-8") == render(report, fmt)


def test_an_attachment_that_cannot_be_written_never_costs_the_reports(tmp_path: Path,
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    from gatekit.report import write_reports

    report = _passing_report(tmp_path)
    report.attachments = {"evidently_drift.html": lambda: "<html>drift</html>"}
    _full_disk_on(monkeypatch, {"evidently_drift.html"})
    out = tmp_path / "out"
    files = write_reports(report, out, ("json",))
    assert set(files) == {"json"}
    assert sorted(p.name for p in out.iterdir()) == ["gate_report.json"]
    doc = json.loads((out / "gate_report.json").read_text(encoding="utf-8"))
    assert doc["metadata"]["attachments"]["evidently_drift.html"].startswith("not written: OSError")


def test_a_report_as_a_frame_and_inline_in_a_notebook(tmp_path: Path) -> None:
    import html

    import gatekit

    metrics = tmp_path / "m.json"
    metrics.write_text('{"auc_roc": 0.71, "precision_at_0_5": 0.9}')
    policy = {"version": 1, "name": "nb", "metrics": [
        {"name": "auc_roc", "op": ">=", "value": 0.8, "on_fail": "block"},
        {"name": "precision_at_0_5", "op": ">=", "value": 0.5, "on_fail": "warn"}]}
    report = gatekit.run(policy, metrics=metrics)
    frame = report.to_frame()
    assert list(frame.columns) == ["section", "name", "status", "on_fail", "observed", "op", "threshold", "margin",
                                   "message"]
    assert frame[["name", "status", "on_fail", "observed", "threshold"]].values.tolist() == [
        ["auc_roc", "fail", "block", 0.71, 0.8], ["precision_at_0_5", "pass", "warn", 0.9, 0.5]]
    shown = report._repr_html_()
    assert shown.startswith("<iframe srcdoc=") and html.escape(report.to_html(), quote=True) in shown
    assert "<script" not in shown.split('srcdoc="', 1)[0]  # the page is inside the attribute, escaped


def test_the_html_report_lists_what_needs_attention_first_blocking_first(tmp_path: Path) -> None:
    import re

    import gatekit

    metrics = tmp_path / "m.json"
    metrics.write_text('{"auc_roc": 0.71, "precision_at_0_5": 0.4, "recall_at_0_5": 0.9}')
    policy = {"version": 1, "name": "attention", "metrics": [
        {"name": "precision_at_0_5", "op": ">=", "value": 0.5, "on_fail": "warn"},
        {"name": "recall_at_0_5", "op": ">=", "value": 0.5, "on_fail": "block"},
        {"name": "auc_roc", "op": ">=", "value": 0.8, "on_fail": "block"}]}
    page = gatekit.run(policy, metrics=metrics).to_html()
    section = page.split('id="attention"', 1)[1].split("</section>", 1)[0]
    links = re.findall(r'href="#(check-\d+)"><b>([^<]+)</b>', section)
    # the block (auc_roc, the 3rd check) first, then the warn (precision, the 1st); the passing recall not listed
    assert [anchor for anchor, _ in links] == ["check-3", "check-1"]
    assert links[0][1].startswith("Ranking quality")  # the check's label, in words
    for anchor, _ in links:
        assert f'id="{anchor}"' in page  # each links to its row
    assert page.index('id="attention"') < page.index('id="section-')
