"""The HTML report in a real browser: Debian's chromium driven by Playwright (system executable, no download).

Each test opens a report written by `gatekit run`, and checks what a reader sees: the decision banner, one
row per check, every chart drawn, no console errors, no network request but the file itself, a phone-width
layout without sideways scrolling, a printable PDF, and user text (a column named ``<script>``) shown as text.
Screenshots are saved as test artifacts in ``$GATEKIT_TEST_ARTIFACTS`` (default ``reports/test-artifacts``).
"""

from __future__ import annotations

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
        assert kinds == ["drift", "fairness", "latency", "roc"]
        for i in range(charts.count()):  # every chart is drawn: a visible SVG with visible marks in it
            svg = charts.nth(i).locator("svg")
            box = svg.bounding_box()
            assert box is not None and box["width"] > 100 and box["height"] > 50, kinds[i]
            marks = svg.locator("rect, polyline, line")
            sizes = [marks.nth(j).bounding_box() for j in range(marks.count())]
            assert any(b and (b["width"] > 1 or b["height"] > 1) for b in sizes), kinds[i]
        assert page.locator("polyline.roc-curve").count() == 2  # candidate and production on the same rows
        assert page.locator("rect.latency-bar").count() >= 5
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
