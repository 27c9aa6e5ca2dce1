"""The HTML report in a real browser: Debian's chromium driven by Playwright (system executable, no download).

Each test opens a report written by `gatekit run`, and checks what a reader sees: the decision banner, one
row per check, every chart drawn, no console errors, no network request but the file itself, a phone-width
layout without sideways scrolling, a printable PDF, and user text (a column named ``<script>``) shown as text.
Screenshots are saved as test artifacts in ``$GATEKIT_TEST_ARTIFACTS`` (default ``reports/test-artifacts``).
"""

from __future__ import annotations

import itertools
import json
import os
import shutil
import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from tests.helpers import REPO, run_cli, write_json

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ARTIFACTS = Path(os.environ.get("GATEKIT_TEST_ARTIFACTS", REPO / "reports" / "test-artifacts"))
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--no-first-run", "--disable-quic"]


def _unavailable(why: str) -> None:
    if os.environ.get("GATEKIT_REQUIRE_BROWSER"):
        pytest.fail(f"GATEKIT_REQUIRE_BROWSER is set but {why}")
    pytest.skip(why)


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _unavailable("playwright is not installed (pip install -e '.[dev]')")
    if not Path(CHROMIUM).exists():
        _unavailable("Debian's chromium is not installed (apt-get install chromium)")
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield b
        b.close()


class Page:
    """A page with what the browser saw: console errors, page errors, requests and dialogs."""

    def __init__(self, browser: Any, path: Path, width: int = 1200, height: int = 900) -> None:
        self.context = browser.new_context(viewport={"width": width, "height": height})
        self.page = self.context.new_page()
        self.console_errors: list[str] = []
        self.page_errors: list[str] = []
        self.requests: list[str] = []
        self.dialogs: list[str] = []
        self.page.on("console", lambda m: self.console_errors.append(m.text) if m.type == "error" else None)
        self.page.on("pageerror", lambda e: self.page_errors.append(str(e)))
        self.page.on("request", lambda r: self.requests.append(r.url))
        self.page.on("dialog", lambda d: (self.dialogs.append(d.message), d.dismiss()))
        self.url = path.resolve().as_uri()
        self.page.goto(self.url, wait_until="load")

    def close(self) -> None:
        self.context.close()


def _screenshot(page: Any, name: str) -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    out = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(out), full_page=True)
    return out


@pytest.fixture(scope="module")
def full_report(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A run with every chart: drift, ROC (candidate and production), latency histogram, rates by group."""
    import skops.io as sio
    from sklearn.linear_model import LogisticRegression

    d = tmp_path_factory.mktemp("browser_full")
    rng = np.random.default_rng(7)
    n = 1200
    df = pd.DataFrame({"x1": rng.normal(size=n), "x2": rng.normal(size=n), "grp": rng.choice(["A", "B"], n)})
    logit = 1.2 * df["x1"] - 0.8 * df["x2"] + 0.3 * (df["grp"] == "A")
    df["y"] = (rng.random(n) < 1 / (1 + np.exp(-logit))).astype(int)
    train, hold = df.iloc[:800], df.iloc[800:]
    cand = LogisticRegression().fit(train[["x1", "x2"]], train["y"])
    base = LogisticRegression().fit(train[["x1"]], train["y"])
    sio.dump(cand, d / "cand.skops")
    sio.dump(base, d / "base.skops")
    train.to_csv(d / "train.csv", index=False)
    hold.to_csv(d / "hold.csv", index=False)
    (d / "policy.yaml").write_text(textwrap.dedent("""
        version: 3
        name: browser_full
        inputs:
          data: hold.csv
          target: y
          model: cand.skops
          reference: train.csv
          sensitive: grp
          baseline: {model: base.skops}
        data_quality:
          columns:
            x1: {type: float, max_null_fraction: 0}
            grp: {type: string, allowed: [A, B]}
        drift:
          on_fail: warn
          numerical: {method: psi, threshold: 0.2}
          categorical: {method: psi, threshold: 0.2}
        operational: {requests: 400, warmup: 10}
        metrics:
          - {name: auc_roc, op: ">=", value: 0.6}
          - {name: auc_roc, max_drop: 0.05, confidence: 0.95, interval: delong}
          - {name: ece, op: "<=", value: 0.2, params: {bins: 10}}
          - {name: demographic_parity_difference, op: "<=", value: 0.3}
          - {name: latency_p95_ms, op: "<=", value: 1000}
        """))
    proc = run_cli("run", str(d / "policy.yaml"), "--out", str(d / "out"), "--no-history")
    assert proc.returncode in (0, 1), proc.stderr
    return d / "out"


def test_the_report_reads_right_in_a_browser(browser: Any, full_report: Path) -> None:
    report = json.loads((full_report / "gate_report.json").read_text())
    p = Page(browser, full_report / "gate_report.html")
    try:
        page = p.page
        assert page.locator("#decision h1").inner_text() == report["decision"].upper()
        assert page.locator("#decision p").first.inner_text() == report["reason"]
        assert page.locator("tr.check-row").count() == len(report["checks"])
        charts = page.locator("figure.chart")
        kinds = sorted(charts.nth(i).get_attribute("data-chart") for i in range(charts.count()))
        assert kinds == ["drift", "fairness", "latency", "reliability", "roc"]
        for i in range(charts.count()):  # every chart is drawn: a visible SVG with visible marks in it
            svg = charts.nth(i).locator("svg")
            box = svg.bounding_box()
            assert box is not None and box["width"] > 100 and box["height"] > 50, kinds[i]
            marks = svg.locator("rect, polyline, line")
            sizes = [marks.nth(j).bounding_box() for j in range(marks.count())]
            assert any(b and (b["width"] > 1 or b["height"] > 1) for b in sizes), kinds[i]
        assert page.locator("polyline.roc-curve").count() == 2  # candidate and production on the same rows
        assert page.locator("rect.latency-bar").count() >= 5
        ece = next(c for c in report["checks"] if c.get("metric") == "expected_calibration_error")
        assert page.locator("circle.reliability-point").count() == ece["details"]["n_bins_nonempty"]
        assert p.console_errors == [] and p.page_errors == []
        assert p.requests == [p.url]  # the page itself, nothing else: no CDN, no font, no image
        shot = _screenshot(page, "report_desktop")
        assert shot.stat().st_size > 10_000
        # the run metadata footer folds open and shows the policy version and the reproducibility hash
        page.locator("#run-metadata summary").click()
        footer = page.locator("#run-metadata").inner_text()
        assert "browser_full version 3" in footer and report["metadata"]["reproducibility"]["sha256"] in footer
    finally:
        p.close()


def test_the_report_fits_a_phone_and_prints(browser: Any, full_report: Path) -> None:
    p = Page(browser, full_report / "gate_report.html", width=375, height=800)
    try:
        page = p.page
        overflow = page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
        assert overflow <= 1, f"the page scrolls sideways by {overflow}px on a 375px screen"
        assert page.locator("#decision").bounding_box()["width"] <= 375
        _screenshot(page, "report_phone")
        texts = page.evaluate(CHART_TEXT_PX)  # the reliability diagram's text too (its ECE line)
        assert any(t["text"].startswith("ECE ") for t in texts)
        assert not [t for t in texts if t["px"] < MIN_CHART_FONT_PX]
        page.emulate_media(media="print")
        page.set_viewport_size({"width": 703, "height": 1000})  # A4 less 12 mm margins, at 96 px per inch
        right = page.evaluate("Math.max(...[...document.querySelectorAll('table.checks th, table.checks td')]"
                              ".map(e => e.getBoundingClientRect().right))")
        assert right <= 703 + 1, f"a table column ends at {right}px, past the printed page"
        assert page.locator("section.print-only").is_visible()  # the run metadata, folded on screen, is printed
        assert "Reproducibility hash" in page.locator("section.print-only").inner_text()
        pdf = page.pdf(format="A4")
        assert pdf[:5] == b"%PDF-" and len(pdf) > 10_000
        (ARTIFACTS / "report_print.pdf").write_bytes(pdf)
    finally:
        p.close()


def test_user_text_that_looks_like_html_renders_as_text(browser: Any, tmp_path: Path) -> None:
    col = "<script>alert(1)</script>"
    pd.DataFrame({col: [1.0, 2.0, None], "<img src=x onerror=alert(2)>": ["a", "b", "c"]}).to_csv(
        tmp_path / "data.csv", index=False)
    policy = tmp_path / "policy.yaml"
    policy.write_text(textwrap.dedent(f"""
        version: 1
        name: "<b>bold</b> policy"
        description: "<script>alert(3)</script>"
        data_quality:
          columns:
            "{col}": {{type: float, max_null_fraction: 0}}
            "<img src=x onerror=alert(2)>": {{allowed: [a, b]}}
        metrics:
          - {{name: auc_roc, op: ">=", value: 0.5}}
        """))
    metrics = write_json(tmp_path, {"auc_roc": 0.9})
    proc = run_cli("run", str(policy), "--data", str(tmp_path / "data.csv"), "--metrics", str(metrics), "--out",
                   str(tmp_path / "out"), "--no-history")
    assert proc.returncode == 1, proc.stderr
    p = Page(browser, tmp_path / "out" / "gate_report.html")
    try:
        page = p.page
        assert page.locator("script").count() == 0 and page.locator("img").count() == 0
        # the policy's name is not markup either: no <b> element holds just "bold"
        assert page.evaluate("[...document.querySelectorAll('b')].filter(e => e.textContent === 'bold').length") == 0
        body = page.locator("body").inner_text()
        assert col in body and "<img src=x onerror=alert(2)>" in body and "<b>bold</b> policy" in body
        assert p.dialogs == [] and p.console_errors == [] and p.page_errors == []
        assert p.requests == [p.url]
        _screenshot(page, "report_script_names")
    finally:
        p.close()


# ------------------------------------------------------------------------------------------ a phone, 400 px wide
PHONE = 400
MIN_CHART_FONT_PX = 10
DEMO_POLICIES = ("loan_serving", "loan_approval", "loan_approval_v2", "seed_mini_challenge", "seed_project_2",
                 "demand_forecast")
# every text in a chart: its font size as drawn, in CSS px (the SVG's scale times its font size; a rotated
# label's scale is the length of the CTM's first column)
CHART_TEXT_PX = """[...document.querySelectorAll('figure.chart svg text')].map(t => {
  const m = t.getScreenCTM();
  return {text: t.textContent.trim(), px: Math.hypot(m.a, m.b) * parseFloat(getComputedStyle(t).fontSize)};
})"""
# the first element after the banner that shows a check: an item of the attention list, or a check's row
FIRST_CHECK = """(() => {
  const banner = document.getElementById('decision');
  const all = [...document.querySelectorAll('#attention li, tr.check-row')];
  const first = all.find(e => banner.compareDocumentPosition(e) & Node.DOCUMENT_POSITION_FOLLOWING);
  return first && {tag: first.tagName, effect: first.dataset.effect || null, status: first.dataset.status,
                   target: first.querySelector('a') ? first.querySelector('a').getAttribute('href') : null};
})()"""


@pytest.fixture(scope="module")
def demo_reports(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The six demo reports, written by `gatekit demo` on a copy of the repository's data and policies."""
    d = tmp_path_factory.mktemp("demo")
    for name in ("data", "policies", "expectations", "examples"):
        shutil.copytree(REPO / name, d / name)
    proc = run_cli("demo", "--root", str(d), "--out", str(d / "out"), cwd=d)  # its history stays in d
    assert proc.returncode == 0, proc.stderr
    return d / "out"


def _phone(browser: Any, path: Path) -> Page:
    return Page(browser, path, width=PHONE, height=900)


@pytest.mark.parametrize("policy", DEMO_POLICIES)
def test_a_demo_report_is_legible_on_a_400px_phone(browser: Any, demo_reports: Path, policy: str) -> None:
    report = json.loads((demo_reports / policy / "gate_report.json").read_text())
    p = _phone(browser, demo_reports / policy / "gate_report.html")
    try:
        page = p.page
        # nothing runs off the page: the page itself never scrolls sideways (wide tables scroll in their box)
        width = page.evaluate("document.scrollingElement.scrollWidth")
        assert width <= PHONE + 1, f"{policy}: the page is {width}px wide on a {PHONE}px screen"
        texts = page.evaluate(CHART_TEXT_PX)
        assert texts, policy  # every demo report draws at least one chart
        small = [t for t in texts if t["px"] < MIN_CHART_FONT_PX]
        assert not small, f"{policy}: chart text drawn below {MIN_CHART_FONT_PX}px: {small[:5]}"
        # the passing checks are folded; what did not pass is in view
        passed = sum(c["status"] == "pass" for c in report["checks"])
        folds = page.locator("details.passed")
        assert sum(int(folds.nth(i).locator("summary").inner_text().split()[0]) for i in range(folds.count())) \
            == passed
        assert page.evaluate("[...document.querySelectorAll('details.passed')].every(d => !d.open)")
        rows = page.locator("tr.check-row")
        for i in range(rows.count()):
            row = rows.nth(i)
            assert row.is_visible() == (row.get_attribute("data-status") != "pass"), row.get_attribute("id")
        first = page.evaluate(FIRST_CHECK)
        if report["decision"] == "pass":
            assert first["tag"] == "TR" and first["status"] == "pass" and not page.locator("#attention").count()
        else:  # the first check shown after the banner is what decided: a failure, blocking before warning
            assert first["tag"] == "LI" and first["effect"] == report["decision"] \
                and first["status"] in ("fail", "inconclusive")
            assert page.locator(first["target"]).is_visible()  # its row, not folded away
        _screenshot(page, f"phone_{policy}")
        page.emulate_media(media="print")  # printed, every passing check is unfolded
        assert all(rows.nth(i).is_visible() for i in range(rows.count()))
    finally:
        p.close()


@pytest.fixture(scope="module")
def block_and_warn_report(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A report whose warning comes first in policy order and whose blocking rule comes later, with the issue's
    latency histogram (2.5 ms to 6,515 ms) and rates by group."""
    from gatekit.core.results import CheckResult, Decision, OnFail, Status
    from gatekit.report import Report

    edges = [float(e) for e in np.linspace(2.5, 6515.0, 31)]
    counts = [391, 3, 1] + [0] * 24 + [2, 0, 3]
    by_group = {g: {"count": 300, "n_positive": 40, "selection_rate": r, "true_positive_rate": 0.5,
                    "false_positive_rate": 0.05} for g, r in (("a long group name one", 0.1), ("group two", 0.18))}
    checks = [
        CheckResult("latency_p95_ms", "operational", Status.FAIL, OnFail.WARN, 6400.0, "<=", 50.0, "raw",
                    metric="latency_p95_ms", details={"unit": "ms", "histogram": {"edges_ms": edges,
                                                                                  "counts": counts}}),
        CheckResult("auc_roc", "performance", Status.PASS, OnFail.BLOCK, 0.9, ">=", 0.8, "raw", metric="roc_auc"),
        CheckResult("dp", "fairness", Status.FAIL, OnFail.BLOCK, 0.08, "<=", 0.05, "raw",
                    metric="demographic_parity_difference",
                    details={"by_group": by_group, "sensitive_columns": ["group"], "threshold": 0.5}),
    ]
    d = tmp_path_factory.mktemp("block_and_warn")
    Report(Decision.BLOCK, "raw", checks, {"policy": {"name": "p", "version": 1, "strict": True}}).save_html(
        d / "gate_report.html")
    return d / "gate_report.html"


def test_blocking_comes_before_warning_and_a_wide_latency_axis_is_logarithmic(browser: Any,
                                                                                  block_and_warn_report: Path) -> None:
    p = _phone(browser, block_and_warn_report)
    try:
        page = p.page
        assert page.locator("#decision p").inner_text() == \
            "Blocked: demographic parity difference is 0.08, above the limit of 0.05."
        first = page.evaluate(FIRST_CHECK)
        assert first == {"tag": "LI", "effect": "block", "status": "fail", "target": "#check-3"}
        effects = page.locator("#attention li").evaluate_all("items => items.map(i => i.dataset.effect)")
        assert effects == ["block", "warn"]
        assert page.locator("#attention li").nth(1).inner_text().endswith(
            "95th-percentile latency is 6,400 ms, above the limit of 50 ms.")
        chart = page.locator("#latency-chart")
        assert chart.get_attribute("data-x-scale") == "log" and chart.get_attribute("data-y-scale") == "log"
        labels = chart.locator("text").evaluate_all("els => els.map(e => e.textContent.trim())")
        assert "latency of one call, ms (log scale)" in labels and "calls (log scale)" in labels
        ticks = chart.locator("text.x-tick")
        assert ticks.evaluate_all("els => els.map(e => e.textContent)") == ["10", "100", "1,000"]
        ticks = [ticks.nth(i).bounding_box() for i in range(3)]
        gaps = [b["x"] + b["width"] / 2 - (a["x"] + a["width"] / 2) for a, b in itertools.pairwise(ticks)]
        assert abs(gaps[0] - gaps[1]) < 2, gaps  # each decade the same room on the screen
        assert page.evaluate("document.scrollingElement.scrollWidth") <= PHONE + 1
        assert min(t["px"] for t in page.evaluate(CHART_TEXT_PX)) >= MIN_CHART_FONT_PX
        _screenshot(page, "phone_block_and_warn")
    finally:
        p.close()


@pytest.fixture(scope="module")
def forecast_report(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A regression run on the demo's electricity demand (Nov-Dec held out, last week's value as the forecast)."""
    import gatekit

    df = pd.read_csv(REPO / "data" / "elecdemand" / "elecdemand.csv")
    cut = df["timestamp"] < "2014-11-01"
    train, hold = df[cut], df[~cut].copy()
    hold["forecast"] = np.concatenate([train["Demand"].to_numpy()[-336:], hold["Demand"].to_numpy()[:-336]])
    pol = {"version": 1, "metrics": [{"name": "mase", "op": "<=", "value": 1.5, "params": {"seasonal_period": 48}},
                                     {"name": "wape", "op": "<=", "value": 10}]}
    r = gatekit.run(pol, data=hold, target="Demand", prediction="forecast", reference=train)
    d = tmp_path_factory.mktemp("forecast")
    r.save_html(d / "gate_report.html")
    return d / "gate_report.html"


def test_the_forecast_charts_are_legible_on_a_400px_phone(browser: Any, forecast_report: Path) -> None:
    p = _phone(browser, forecast_report)
    try:
        page = p.page
        assert page.evaluate("document.scrollingElement.scrollWidth") <= PHONE + 1
        for chart in ("forecast-scatter", "residuals"):
            assert page.locator(f'figure[data-chart="{chart}"]').is_visible(), chart
        assert page.locator("circle.forecast-point").count() == 2000  # 2,928 held-out rows, sampled
        assert "2000 of the 2928" in page.locator("#forecast-scatter-chart figcaption").inner_text()
        texts = page.evaluate(CHART_TEXT_PX)
        small = [t for t in texts if t["px"] < MIN_CHART_FONT_PX]
        assert not small, f"chart text drawn below {MIN_CHART_FONT_PX}px: {small[:5]}"
        labels = {t["text"] for t in texts}
        assert {"actual", "forecast", "residual: actual − forecast"} <= labels
        _screenshot(page, "phone_forecast")
    finally:
        p.close()


CONFUSION_TEXT_PX = """[...document.querySelectorAll('#confusion-matrix :is(th, td, span)')]
.map(e => parseFloat(getComputedStyle(e).fontSize))"""


def test_the_confusion_matrix_is_legible_on_a_400px_phone(browser: Any, full_report: Path) -> None:
    report = json.loads((full_report / "gate_report.json").read_text())
    cm = report["metadata"]["charts"]["confusion"]
    p = _phone(browser, full_report / "gate_report.html")
    try:
        page = p.page
        assert page.evaluate("document.scrollingElement.scrollWidth") <= PHONE + 1
        table = page.locator("#confusion-matrix table.confusion")
        assert table.is_visible()
        box = table.bounding_box()
        assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= PHONE + 1
        cells = page.locator("td.confusion-cell")
        assert cells.count() == 4
        shown = [cells.nth(i).inner_text().split("\n")[0] for i in range(4)]
        assert shown == [f"{n:,}" for row in cm["counts"] for n in row]
        assert min(page.evaluate(CONFUSION_TEXT_PX)) >= MIN_CHART_FONT_PX
        _screenshot(page, "phone_confusion")
    finally:
        p.close()


def test_a_slice_table_fits_a_400px_phone(browser: Any, tmp_path: Path) -> None:
    from gatekit.core.results import Decision
    from gatekit.report import Report
    from tests.report.helpers import meta
    from tests.report.test_markdown import _slice_check

    check = _slice_check()
    check.details["slices"][0]["slice"] = "region=north-east-coastal, channel=partner-web"  # a long label
    path = tmp_path / "gate_report.html"
    Report(Decision.BLOCK, "raw", [check], meta()).save_html(path)
    p = _phone(browser, path)
    try:
        page = p.page
        assert page.evaluate("document.scrollingElement.scrollWidth") <= PHONE + 1
        table = page.locator("table.slices")
        assert table.is_visible()  # the rule failed: its slices are open
        # each slice is a block of labelled cells on a phone: nothing scrolls sideways, even in its own box
        assert page.evaluate("(() => { const t = document.querySelector('table.slices');"
                             " return t.scrollWidth <= t.parentElement.clientWidth; })()")
        sizes = page.evaluate("[...document.querySelectorAll('table.slices td')].map("
                              "t => parseFloat(getComputedStyle(t).fontSize))")
        assert sizes and min(sizes) >= 12
        assert page.locator("tr.slice-row").first.inner_text().startswith("region=north-east-coastal")
        _screenshot(page, "phone_slices")
    finally:
        p.close()
