"""Tests of :mod:`gatekit.report.html`: the self-contained HTML report; user text is escaped."""

from __future__ import annotations

import io
from pathlib import Path

from rich.console import Console

import gatekit
from gatekit.report.html import render_html
from gatekit.report.terminal import print_summary
from tests.cli.helpers import gk, load_report
from tests.helpers import _cli, write_json, write_policy
from tests.history.helpers import ALERT_POLICY, _policy
from tests.report.helpers import _files
from tests.sections.helpers import csv


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


def test_html_shows_a_row_per_column_and_the_signature_table(tmp_path: Path) -> None:
    from gatekit.report.html import render_html

    data = csv(tmp_path, {"a": [1.0, 2.0], "b": ["x", "<script>alert(1)</script>"]})
    pol = {"version": 1,
           "data_quality": {"columns": {"a": {"type": "float", "min": 0}, "b": {"allowed": ["x"]}, "gone": {}}},
           "compatibility": {"feature_signature": {"mode": "backward", "expected": {"a": "float"},
                                                   "candidate": {"a": "float", "n": "float"}, "validate_data": False}}}
    html = render_html(gatekit.run(pol, data=data))
    assert html.count('class="dq-row"') == 3  # a, b and the missing column
    assert html.count('class="sig-row"') == 2 and "new, no default" in html
    assert "<script>alert(1)</script>" not in html and "&lt;script&gt;" in html


def test_the_html_alert_box_escapes_names(failing_run: dict[str, Path]) -> None:
    evil = ALERT_POLICY.replace("name: alerting", 'name: "<script>alert(1)</script>"').replace(
        "metrics:", 'gates:\n  - gate: "<img src=x onerror=alert(2)>"\n    require: "auc_roc >= 0.9"\nmetrics:')
    policy = _policy(failing_run["dir"], evil, "evil.yaml")
    res = _cli("run", policy, "--metrics", failing_run["metrics"], "--history", failing_run["dir"] / "h.db",
               "--out", failing_run["dir"] / "r", "-q")
    assert res.exit_code == 1, res.output
    html = (failing_run["dir"] / "r" / "gate_report.html").read_text(encoding="utf-8")
    assert 'id="alerts"' in html
    assert "<script>alert" not in html and "<img src=x" not in html
    assert "&lt;img src=x onerror=alert(2)&gt;" in html


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
