"""Report contents: run ids, enforcement mode, escaping in HTML and terminal, strict JSON."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
from rich.console import Console

import gatekit
from gatekit.core.errors import InputError
from gatekit.report.html import render_html
from gatekit.report.terminal import print_summary
from tests.conftest import run_cli

POLICY = """version: 1
name: "[bold]x[/bold] <img src=x onerror=alert(1)>"
metrics:
  - {name: smape, op: "<=", value: 14, params: {variant: "0-100"}}
  - {name: smape, op: "<=", value: 14}
  - {name: auc_roc, op: ">=", value: 0.9, on_fail: warn}
"""


def _files(tmp_path: Path, metrics: dict) -> tuple[Path, Path]:
    p = tmp_path / "p.yaml"
    p.write_text(POLICY)
    m = tmp_path / "m.json"
    m.write_text(json.dumps(metrics))
    return p, m


def test_two_runs_in_the_same_second_get_different_ids(tmp_path: Path) -> None:
    p, m = _files(tmp_path, {"smape": 12, "auc_roc": 0.95})
    ids = {gatekit.run(p, metrics=m).metadata["run_id"] for _ in range(5)}
    assert len(ids) == 5


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


def test_user_strings_are_escaped_in_html_and_not_markup_in_terminal(tmp_path: Path) -> None:
    p, m = _files(tmp_path, {"smape": 12, "auc_roc": 0.95})
    report = gatekit.run(p, metrics=m)
    html = render_html(report)
    assert "<img src=x" not in html and "&lt;img src=x onerror=alert(1)&gt;" in html
    buf = io.StringIO()
    print_summary(report, {}, Console(file=buf, width=200, color_system=None))
    out = buf.getvalue()
    assert "[bold]x[/bold]" in out  # printed literally, not interpreted by rich
    assert "smape[variant=0-100]" in out  # two rules on one metric are told apart


def test_json_report_is_strict_json(tmp_path: Path) -> None:
    p, m = _files(tmp_path, {"smape": None, "auc_roc": 0.95})
    text = gatekit.run(p, metrics=m).to_json()
    json.loads(text, parse_constant=lambda c: pytest.fail(f"non-standard JSON constant {c}"))


@pytest.mark.parametrize(("name", "value"), [("precision_at_0_5", 1.5), ("demographic_parity_difference", -0.1),
                                             ("smape", 250.0), ("auc_roc", 91.0)])
def test_metrics_file_value_outside_the_metric_range_is_refused(tmp_path: Path, name: str, value: float) -> None:
    p = tmp_path / "p.yaml"
    p.write_text(f"version: 1\nmetrics:\n  - {{name: {name}, op: '<=', value: 1000}}\n")
    m = tmp_path / "m.json"
    m.write_text(json.dumps({name: value}))
    with pytest.raises(InputError, match="outside the range"):
        gatekit.run(p, metrics=m)


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


def test_the_report_roc_curve_is_scikit_learns(monkeypatch) -> None:
    import numpy as np
    from sklearn.metrics import roc_auc_score, roc_curve

    from gatekit.report.charts import _thin, roc

    rng = np.random.default_rng(3)
    for n in (40, 5000):
        y = (rng.random(n) < 0.3).astype(int)
        s = np.round(rng.random(n) * (1 + y), 2)  # ties on purpose
        fpr, tpr, _ = roc_curve(y, s, drop_intermediate=False)
        got = roc(y, s)
        assert (got["fpr"], got["tpr"]) == _thin(fpr, tpr)
        assert abs(got["auc"] - roc_auc_score(y, s)) < 1e-12
        assert roc(y, s, plain=True) == {**got, "auc": roc_auc_score(y, s)}
    assert roc(np.zeros(5), np.arange(5.0)) is None  # one class: no curve


def test_the_latency_chart_marks_every_percentile_of_the_same_samples() -> None:
    from gatekit.report.html import _latency_chart

    hist = {"edges_ms": [0.0, 1.0, 2.0, 3.0, 4.0], "counts": [5, 10, 3, 2]}
    checks = [
        {"metric": "latency_p50_ms", "observed": 1.2, "details": {"histogram": dict(hist)}},
        {"metric": "latency_p95_ms", "observed": 2.9, "details": {"histogram": dict(hist)}},  # equal, not identical
        {"metric": "latency_p99_ms", "observed": 0.4,  # a comparison: observed is the change, mark the candidate
         "details": {"candidate_details": {"histogram": dict(hist)}, "comparison": {"candidate": 3.5}}},
        {"metric": "latency_p95_ms", "observed": 9.0,  # a load test's samples: another chart's
         "details": {"histogram": {"edges_ms": [0.0, 10.0], "counts": [3]}}},
    ]
    chart = _latency_chart(checks)
    assert [(m["label"], m["value"]) for m in chart["marks"]] == [("p50", "1.2"), ("p95", "2.9"), ("p99", "3.5")]
    assert chart["n"] == 20 and len(chart["bars"]) == 4


def test_a_pilot_markdown_says_would_block_not_block() -> None:
    from gatekit.core.results import CheckResult, Decision, OnFail, Status
    from gatekit.report import Report

    check = CheckResult("auc_roc", "performance", Status.FAIL, OnFail.BLOCK, 0.7, ">=", 0.8, "auc_roc = 0.7")
    meta = {"policy": {"name": "p", "version": 1, "strict": True}, "run_id": "r", "enforcement": "warn_only"}
    md = Report(Decision.BLOCK, "Blocked: auc_roc", [check], meta).to_markdown()
    assert "**WOULD BLOCK (warn-only pilot, not enforced)**" in md and "⛔" not in md
    assert "| ⚠️ would block | performance | auc\\_roc | fail | 0.7 | &gt;= 0.8 |" in md
    enforced = Report(Decision.BLOCK, "Blocked", [check], {**meta, "enforcement": "enforced"}).to_markdown()
    assert "⛔ gatekit: **BLOCK**" in enforced


def test_markdown_cells_never_mention_or_link_on_github() -> None:
    from gatekit.report.markdown import md_text

    assert md_text("@team owns #12") == "@\u200bteam owns #\u200b12"
    assert md_text("a\\|b") == "a\\\\\\|b"  # the backslash escaped first, then the pipe: the row keeps its cells
