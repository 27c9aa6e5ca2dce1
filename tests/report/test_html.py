"""Tests of :mod:`gatekit.report.html`: the self-contained HTML report; user text is escaped."""

from __future__ import annotations

import io
import itertools
from pathlib import Path

import pytest
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


def _histogram(edges: list[float], counts: list[int]) -> list[dict]:
    return [{"metric": "latency_p95_ms", "observed": 6.0, "details": {"histogram": {"edges_ms": edges,
                                                                                    "counts": counts}}}]


def test_a_latency_histogram_spanning_decades_is_drawn_on_log_axes() -> None:
    import math

    import numpy as np

    from gatekit.report.html import _latency_chart

    # the histogram: 2.5 ms to 6,515 ms; nearly every call in the first bins, a few slow ones
    edges = [float(e) for e in np.geomspace(2.5, 6515.0, 31)]
    counts = [0] * 30
    counts[:8] = [5, 40, 160, 120, 50, 15, 4, 2]
    counts[27], counts[29] = 1, 1
    chart = _latency_chart(_histogram(edges, counts))
    assert chart["x_log"] and chart["y_log"]  # 6515 / 2.5 = 2606 and 160 / 1: both over two decades
    assert [t["text"] for t in chart["x_ticks"]] == ["10", "100", "1,000"]
    assert [t["text"] for t in chart["y_ticks"]] == ["1", "10", "100"]
    decade = 336 / math.log10(6515.0 / 2.5)  # user units per power of ten on the 336-unit axis
    xs = [t["x"] for t in chart["x_ticks"]]
    assert xs[0] == round(56 + decade * math.log10(10 / 2.5), 1)
    assert [b - a for a, b in itertools.pairwise(xs)] == [pytest.approx(decade, abs=0.15)] * 2
    # geometric bins are equally wide on the log axis, and only the non-empty ones are drawn
    assert len(chart["bars"]) == 10 and {round(b["w"]) for b in chart["bars"]} == {round(336 / 30 - 1)}
    mark = chart["marks"][0]  # p95 = 6 ms
    assert mark["x"] == round(56 + decade * math.log10(6 / 2.5), 1)
    # on the count axis, 1 call sits half a count above the floor (min / 2): log10(2) / log10(320) of the height
    tallest, single = max(chart["bars"], key=lambda b: b["n"]), chart["bars"][-1]
    assert single["n"] == 1 and single["h"] == pytest.approx(150 * math.log10(2) / math.log10(320), abs=0.1)
    assert tallest["h"] == 150


def test_a_histogram_within_two_decades_stays_linear_and_says_no_log() -> None:
    from gatekit.report.html import _latency_chart

    chart = _latency_chart(_histogram([0.024, 0.028, 0.032, 0.036, 0.040], [50, 40, 30, 20]))
    assert not chart["x_log"] and not chart["y_log"]
    assert [t["text"] for t in chart["x_ticks"]] == ["0.025", "0.03", "0.035", "0.04"]
    assert [t["text"] for t in chart["y_ticks"]] == ["0", "20", "40"]
    assert [b["x"] for b in chart["bars"]] == [56, 140, 224, 308]  # 336 units / 4 equal bins


def test_the_html_says_log_scale_on_a_log_axis() -> None:
    import numpy as np

    from gatekit.core.results import CheckResult, Decision, OnFail, Status
    from gatekit.report import Report

    edges = [float(e) for e in np.linspace(2.5, 6515.0, 31)]  # linear bins, as the serving section makes them
    check = CheckResult("latency_p95_ms", "operational", Status.FAIL, OnFail.WARN, 6400.0, "<=", 50.0, "slow",
                        metric="latency_p95_ms",
                        details={"unit": "ms", "histogram": {"edges_ms": edges, "counts": [397] + [0] * 28 + [3]}})
    html = Report(Decision.WARN, "raw", [check], {"policy": {"name": "p", "version": 1}}).to_html()
    assert "latency of one call, ms (log scale)" in html and "calls (log scale)" in html
    assert 'data-x-scale="log"' in html and 'data-y-scale="log"' in html
    assert "Passed with warnings: 95th-percentile latency is 6,400 ms, above the limit of 50 ms." in html


def test_passing_checks_fold_and_the_rest_stay_open() -> None:
    import re

    from tests.report.helpers import mixed_report

    html = mixed_report().to_html()
    # performance: auc_roc passed (folded); precision and latency failed (shown)
    perf = html.split('id="section-performance"', 1)[1].split("<h2", 1)[0]
    shown, folded = perf.split('<details class="fold passed"', 1)
    assert re.findall(r'<tr class="check-row" data-status="(\w+)"', shown) == ["fail", "fail"]
    assert re.findall(r'<tr class="check-row" data-status="(\w+)"', folded) == ["pass"]
    assert '<summary>1 passed</summary>' in folded and "open" not in folded.split(">", 1)[0]
    gates = html.split('id="section-gates"', 1)[1].split("<h2", 1)[0]  # every check passed: all folded
    assert gates.index('<details class="fold passed"') < gates.index('data-status="pass"')
    assert "@media print" in html and "details::details-content { content-visibility: visible" in html


def test_the_reliability_diagram_uses_a_calibration_rules_binning_else_fifteen_equal_width_bins() -> None:
    import re

    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(5)
    s = np.round(rng.uniform(0, 1, 300), 3)
    df = pd.DataFrame({"y": (rng.random(300) < s).astype(int), "s": s})
    with_rule = {"version": 1, "metrics": [
        {"name": "ece", "op": "<=", "value": 0.5, "params": {"bins": 4}}, {"name": "auc_roc", "op": ">=", "value": 0}]}
    html = render_html(gatekit.run(with_rule, data=df, target="y", score="s"))
    assert 'data-chart="reliability"' in html and "4 equal-width bins" in html
    assert html.count('class="reliability-bar"') == 4 and html.count('class="reliability-point"') == 4
    # the bars' heights are the observed rates, by hand: right-closed quarter bins
    for b, (lo, hi) in enumerate([(0, 0.25), (0.25, 0.5), (0.5, 0.75), (0.75, 1)]):
        inside = (df.s > lo) & (df.s <= hi) | ((lo == 0) & (df.s == 0))
        rate = df.y[inside].mean()
        heights = [float(h) for h in re.findall(r'class="reliability-bar" x="[^"]+" y="[^"]+" width="[^"]+" '
                                                r'height="([^"]+)"', html)]
        assert heights[b] == pytest.approx(300 * rate, abs=0.1)
    without = {"version": 1, "metrics": [{"name": "auc_roc", "op": ">=", "value": 0}]}
    html = render_html(gatekit.run(without, data=df, target="y", score="s"))
    assert "15 equal-width bins" in html
    assert html.count('class="reliability-bar"') == len({min(int(np.ceil(v * 15)) - 1, 14) if v > 0 else 0
                                                          for v in df.s})
    labels_only = render_html(gatekit.run(without, data=df.assign(p=(df.s > 0.5).astype(int)), target="y",
                                          prediction="p"))
    assert 'data-chart="reliability"' not in labels_only


def test_a_multiclass_calibration_rule_draws_the_top_label_diagram() -> None:
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(2)
    p = rng.dirichlet([1, 1, 1], 200).round(3)
    p[:, 2] = 1 - p[:, :2].sum(axis=1)
    df = pd.DataFrame({"y": rng.choice(["a", "b", "c"], 200), "score_a": p[:, 0], "score_b": p[:, 1],
                       "score_c": p[:, 2]})
    pol = {"version": 1, "metrics": [{"name": "ece", "op": "<=", "value": 1, "params": {"bins": 5}}]}
    html = render_html(gatekit.run(pol, data=df, target="y", score="score_*"))
    assert "share predicted right" in html and "5 equal-width bins" in html
    # confidences are at least 1/3: the bins (0, 0.2] is empty, the others by hand
    conf = p.max(axis=1)
    assert html.count('class="reliability-point"') == len({int(np.ceil(c * 5)) for c in conf})


def test_a_slice_rule_s_slices_are_a_table_weakest_first_open_when_it_did_not_pass() -> None:
    import re

    from gatekit.core.results import Decision
    from gatekit.report import Report
    from tests.report.helpers import meta
    from tests.report.test_markdown import _slice_check

    html = Report(Decision.BLOCK, "raw", [_slice_check()], meta()).to_html()
    fold = html.split('<details class="fold slices-fold"', 1)[1].split("</details>", 1)[0]
    assert fold.split(">", 1)[0].endswith(" open")  # the rule failed: its slices are in view
    assert re.findall(r'<tr class="slice-row" data-status="(\w+)"', fold) == ["fail", "not_counted"]
    assert "a|&lt;b&gt;" in fold and "<b>a|<b>" not in fold  # a slice's label is text
    assert "0.5 to 0.72" in fold and "0.09 to 0.31" in fold and "no interval" in fold
    assert "Worse than whole: whole - slice (higher is better), limit 0.15." in fold
    assert "90 % interval" in fold
    passed = Report(Decision.PASS, "raw", [_slice_check("pass")], meta()).to_html()
    assert not passed.split('<details class="fold slices-fold"', 1)[1].split(">", 1)[0].endswith(" open")


def test_a_margin_from_an_interval_bound_says_so_and_is_not_green_on_a_check_that_did_not_pass() -> None:
    from gatekit.core.results import CheckResult, Decision, OnFail, Status
    from gatekit.report import Report
    from tests.report.helpers import meta

    def check(status: Status, margin: float) -> CheckResult:
        # max_drop 0.05 on a slice decided on its gap's interval under proven_harm: the margin is the best bound's
        return CheckResult(name=f"auc by seg {status.value}", section="slices", status=status, on_fail=OnFail.BLOCK,
                           metric="roc_auc", op="<=", threshold=0.05, observed=0.1078, margin=margin,
                           message="m", details={"decided_on": "interval", "guardband": "proven_harm",
                                                "outcome": {"mode": "proven_harm", "result": "insufficient_data"}})

    html = Report(Decision.BLOCK, "b", [check(Status.INCONCLUSIVE, 0.01194), check(Status.PASS, 0.02)],
                  meta()).to_html()
    rows = [r.split("</tr>", 1)[0] for r in html.split('<tr class="check-row"')[1:]]
    blocked, passed = (next(r for r in rows if f"auc by seg {s}" in r) for s in ("inconclusive", "pass"))
    assert '+0.01194 inside the limit<br><span class="src">of the interval&#39;s best bound</span>' in blocked
    assert 'class="held"' in blocked and 'class="pos"' not in blocked  # not drawn as a pass
    assert 'class="pos"' in passed and "of the interval&#39;s best bound" in passed
