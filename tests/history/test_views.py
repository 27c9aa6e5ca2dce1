"""Tests of :mod:`gatekit.history.views`: the history and calibration as terminal tables and Markdown."""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pytest

from gatekit.history.runs import RunView
from gatekit.history.summary import summarize
from gatekit.history.views import render_markdown
from tests.helpers import _cli
from tests.history.helpers import _store_with_runs, _url
from tests.report.test_markdown import HOSTILE, cells, md_structure


def test_calibrate_table_format(work: dict[str, Any]) -> None:
    res = _cli("calibrate", "--policy", work["policy"], "--history", _url(work["db"]))
    assert res.exit_code == 0, res.output
    assert "calibration of calib_e2e: 10 runs, target pass rate at least 80%" in res.stdout
    assert "value 0.72" in res.stdout and "max_drop 9" in res.stdout and "max_increase 2" in res.stdout
    assert "proposed policy:" in res.stdout


def test_history_markdown_has_a_row_per_gate(store: dict[str, Any]) -> None:
    res = _cli("history", "--history", _url(store["db"]), "--policy", "trend_demo", "--format", "markdown")
    assert res.exit_code == 0, res.output
    import html

    # Markdown escapes underscores and HTML characters; compare the text a reader sees
    lines = html.unescape(res.stdout.replace("\\_", "_")).splitlines()
    assert "## trend_demo" in lines
    assert "Last 4 runs; decisions: 2 pass, 1 warn, 1 block." in lines
    rows = [line for line in lines if line.startswith("| ") and not line.startswith("| gate ")]
    assert len(rows) == 4
    row = {r.split(" | ")[0][2:]: r for r in rows}
    assert row["operational/latency_p95_ms"].startswith(
        "| operational/latency_p95_ms | 4 | 3 | 0 | 1 | 25% | <= 3 ms | 1 -> 4 (worsening, +1/run) |")
    assert row["performance/auc_roc"].startswith("| performance/auc_roc | 4 | 3 | 1 | 0 | 25% | >= 0.82 |")
    assert "(improving, +0.02/run)" in row["performance/auc_roc"]
    assert row["performance/log_loss"].startswith("| performance/log_loss | 4 | 4 | 0 | 0 | 0% | < 0.5 |")
    assert "flat" in row["performance/log_loss"]
    assert row["performance/brier_score"].startswith("| performance/brier_score | 4 | 4 | 0 | 0 | 0% | <= 0.3 |")
    assert "(improving, -0.05/run)" in row["performance/brier_score"]


def test_history_table_format(store: dict[str, Any]) -> None:
    res = _cli("history", "--history", _url(store["db"]), "--policy", "trend_demo")
    assert res.exit_code == 0, res.output
    assert "policy trend_demo: last 4 runs" in res.stdout and "2 pass, 1 warn, 1 block" in res.stdout
    for run_id in store["trend_ids"]:
        assert run_id in res.stdout
    res = _cli("history", "--history", _url(store["db"]), "--format", "yaml")
    assert res.exit_code == 2


def test_history_markdown_escapes_html_in_names() -> None:
    view = RunView(run_id="r1", started_at=datetime(2026, 1, 1, tzinfo=timezone.utc),
                   policy_name="<img src=x onerror=alert(1)>", policy_version="1", policy_sha256="a" * 64,
                   decision="block", reason="r", enforcement="enforced", model_sha256=None, data_sha256=None,
                   legitimate=None,
                   checks=[{"key": "gates/<script>x</script>/-", "section": "gates", "name": "<script>x</script>",
                            "metric": None, "status": "fail", "on_fail": "block", "observed": None, "op": None,
                            "threshold": None, "margin": None, "rule": "auc_roc >= 0.9", "message": "m"}])
    md = render_markdown("sqlite:///h.db", {view.policy_name: [view]}, {view.policy_name: summarize([view])})
    assert "<img" not in md and "<script>" not in md


def test_history_table_escapes_control_characters(tmp_path: Path) -> None:
    db = tmp_path / "h.db"
    _store_with_runs(db, "evil\x1b[31mRED\u202e\nline", [0.9, 0.7])
    res = _cli("history", "--history", db)
    assert res.exit_code == 0, res.output
    assert "\x1b" not in res.output and "\u202e" not in res.output and "\\x1b" in res.output


def _hostile_view(s: str) -> RunView:
    check = {"key": f"gates/{s}/-", "section": "gates", "name": s, "metric": None, "status": "fail",
             "on_fail": "block", "observed": 0.5, "op": ">=", "threshold": 0.9, "margin": None, "rule": s,
             "message": s}
    return RunView(run_id=s, started_at=datetime(2026, 1, 1, tzinfo=timezone.utc), policy_name=s, policy_version=s,
                   policy_sha256="a" * 64, decision="block", reason=s, enforcement="enforced", model_sha256=None,
                   data_sha256=None, legitimate=None, checks=[check, {**check, "key": f"gates/{s}/-#2"}])


@pytest.mark.parametrize("s", HOSTILE)
def test_history_markdown_structure_survives_every_hostile_string(s: str) -> None:
    def render(name: str) -> str:
        view = _hostile_view(name)
        return render_markdown(f"sqlite:///{name}.db", {name: [view]}, {name: summarize([view])})

    md = render(s)
    assert md_structure(md) == md_structure(render("plain"))
    assert "<!--" not in md and "<b>" not in md and "<img" not in md and "\x1b" not in md
    rows = [line for line in md.split("\n") if line.startswith("|")]
    assert [len(cells(line)) for line in rows] == [8] * 4  # header, separator, one row per gate
