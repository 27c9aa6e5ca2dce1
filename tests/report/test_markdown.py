"""Tests of :mod:`gatekit.report.markdown`: the summary for a pull-request comment or a job summary."""

from __future__ import annotations

import re

import pytest

from gatekit.core.results import CheckResult, Decision
from gatekit.report import Report
from gatekit.report.markdown import MAX_ROWS, render_markdown
from tests.report.helpers import BLK, RUN_ID, WRN, F, P, meta, mixed_report

# --------------------------------------------------------------------------------------------------------------
# 2. Markdown
# --------------------------------------------------------------------------------------------------------------


def cells(row: str) -> list[str]:
    """Split a GFM table row into cells: a pipe preceded by a backslash is part of the cell (GFM's rule)."""
    assert row.startswith("|") and row.endswith("|"), row
    parts = re.split(r"(?<!\\)\|", row)
    assert parts[0] == "" and parts[-1] == "", row
    return [p.strip() for p in parts[1:-1]]


def tables(md: str) -> list[list[str]]:
    """Every Markdown table (consecutive lines starting with '|') as its list of lines."""
    out: list[list[str]] = []
    current: list[str] = []
    for line in md.split("\n"):
        if line.startswith("|"):
            current.append(line)
        elif current:
            out.append(current)
            current = []
    if current:
        out.append(current)
    return out


HEADER = "| effect | section | check | status | observed | rule |"
SEP = "|---|---|---|---|---|---|"


# the non-passing rows of mixed_report, by hand (md escaping: _ -> \_, < -> &lt;, > -> &gt;; the status column
# is written as is)
ROW = {
    "precision": "| ⛔ block | performance | precision\\_at\\_0\\_5 | fail | 0.7 | &gt;= 0.75 |",
    "latency": "| ⚠️ warn | performance | latency\\_p95\\_ms\\[q=95\\] | fail | 180 | &lt;= 150 |",
    "dp": "| {} | fairness | fairness\\_demographic\\_parity\\_diff | error | n/a | &lt;= 0.1 |",
    "eo": "| ⚠️ warn | fairness | fairness\\_equalized\\_odds\\_diff | not_computable | n/a | &lt;= 0.2 |",
    "income": "| {} | data\\_quality | income.range | skipped | n/a | 0 &lt;= income |",
    "age": "| {} | data\\_quality | age.max\\_null\\_fraction | not_computable | n/a | &lt;= 0.05 |",
}


@pytest.mark.parametrize("strict", [True, False])
def test_markdown_heading_counts_and_non_passing_rows(strict):
    md = render_markdown(mixed_report(strict, enforcement="enforced"))
    lines = md.split("\n")
    assert lines[0] == "### ⛔ gatekit: **BLOCK**, policy loan\\_gate version 3"
    # the reason in plain words (gatekit.report.plain); strict, the error / not computable / skipped block rules block
    more = "; 3 more checks block" if strict else ""
    assert f"Blocked: precision\\_at\\_0\\_5 is 0.7, below the minimum of 0.75{more}." in lines
    assert "8 checks: 2 pass, 2 fail, 1 error, 2 not computable, 1 skipped." in lines
    assert "Warn-only pilot" not in md
    eff = "⛔ block" if strict else "⚠️ warn"  # error / not_computable / skipped block rules
    want = [ROW["precision"], ROW["latency"], ROW["dp"].format(eff), ROW["eo"], ROW["income"].format(eff),
            ROW["age"].format(eff)]
    first, every = tables(md)
    assert first == [HEADER, SEP, *want]
    assert len(every) == 2 + 8  # the folded table lists every check
    assert every[2] == "| ✅ pass | performance | auc\\_roc | pass | 0.93 | &gt;= 0.9 |"
    assert every[-1] == "| ✅ pass | gates | ship\\_gate | pass | 1 | auc\\_roc &gt;= 0.9 |"
    assert "- **precision\\_at\\_0\\_5**: precision\\_at\\_0\\_5 = 0.7 does not meet &gt;= 0.75" in lines
    assert lines[-2] == f"run {RUN_ID}" and lines[-1] == ""


@pytest.mark.parametrize(("decision", "icon"), [(Decision.PASS, "✅"), (Decision.WARN, "⚠️")])
def test_markdown_heading_pass_and_warn(decision, icon):
    checks = [CheckResult("auc_roc", "performance", P, BLK, 0.93, ">=", 0.9, "ok")]
    if decision == Decision.WARN:
        checks.append(CheckResult("latency", "performance", F, WRN, 200.0, "<=", 150.0, "slow"))
    md = render_markdown(Report(decision, "because", checks, meta(enforcement="warn_only")))
    assert md.startswith(f"### {icon} gatekit: **{decision.value.upper()}**, policy loan\\_gate version 3\n")
    assert "Warn-only pilot" not in md  # the note is for a pilot's block only
    n_tables = len(tables(md))
    assert n_tables == (2 if decision == Decision.WARN else 1)  # no non-passing table when all passed


def test_markdown_escaping_keeps_html_out_and_the_table_whole():
    evil = [
        CheckResult("<script>alert(1)</script>", "gates", F, BLK, None, None, None, "<script>m()</script>"),
        CheckResult("a|b|c", "x|y", F, WRN, 0.5, ">=", 0.9, "pipes | everywhere"),
        CheckResult("tick`code`", "gates", F, WRN, None, None, None, "`rm -rf`", details={"require": "a | b"}),
        CheckResult("two\nlines\r\nhere", "gates", F, WRN, None, None, None, "line one\nline two"),
        CheckResult("esc\x1b[31m", "gates", F, WRN, None, None, None, "bell\x07"),
        CheckResult("back\\|slash\\", "gates", F, WRN, None, None, None, "trailing backslash \\"),
        CheckResult("[click](javascript:alert(1)) **bold** _it_", "gates", F, WRN, None, None, None, "x"),
    ]
    rep = Report(Decision.BLOCK, "<b>Blocked</b> & | <script>", evil,
                     meta(name="<img src=x onerror=alert(1)>", version="<i>1</i>"))
    md = render_markdown(rep, links={"HTML <report>": "a|b.html"})
    assert "<script" not in md.lower()
    assert "<img" not in md and "<b>" not in md and "<i>" not in md
    assert "\x1b" not in md and "\x07" not in md and "\r" not in md
    # the only raw HTML left is the folding markup
    tags = re.findall(r"<[^>]*>", md)
    assert md.count("<") == len(tags)
    for tag in tags:
        assert tag in ("<details>", "</details>", "<summary>", "</summary>"), tag
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in md
    assert "a\\|b\\|c" in md and "x\\|y" in md
    assert "\\[click\\](javascript:alert(1))" in md
    # every table row has exactly six cells; one line per check (a newline in a name cannot start a row)
    found = tables(md)
    assert [len(t) for t in found] == [2 + len(evil), 2 + len(evil)]
    for t in found:
        for line in t:
            assert len(cells(line)) == 6, line
    first = found[0]
    assert cells(first[2])[2] == "&lt;script&gt;alert(1)&lt;/script&gt;"
    assert cells(first[3])[1:3] == ["x\\|y", "a\\|b\\|c"]
    assert cells(first[4])[5] == "a \\| b"
    assert "\n" not in cells(first[5])[2] and cells(first[5])[2].startswith("two") and "here" in cells(first[5])[2]
    # the footer link is escaped too
    assert md.rstrip("\n").split("\n")[-1] == f"run {RUN_ID} · HTML &lt;report&gt;: a\\|b.html"


def test_markdown_warn_only_note():
    pilot = render_markdown(mixed_report(True, enforcement="warn_only"))
    note = "> Warn-only pilot: this decision is reported, not enforced (exit code 0)."
    assert note in pilot.split("\n")
    assert note not in render_markdown(mixed_report(True, enforcement="enforced"))
    assert note not in render_markdown(mixed_report(True))  # no enforcement recorded (the Python API)


def test_markdown_alerts_line():
    fired = [{"name": "auc|roc<x>", "failures": 3, "runs_considered": 5, "section": "performance"},
             {"name": "psi", "failures": 2, "runs_considered": 2}]
    md = render_markdown(mixed_report(True, alerts={"fired": fired}))
    lines = md.split("\n")
    i = lines.index("> **Alert:** auc\\|roc&lt;x&gt; failed in 3 of the last 5 runs.")
    assert lines[i + 1] == "> **Alert:** psi failed in 2 of the last 2 runs."
    assert lines[i + 2] == ""
    assert "**Alert:**" not in render_markdown(mixed_report(True, alerts={"fired": []}))
    assert "**Alert:**" not in render_markdown(mixed_report(True, alerts={"error": "store down", "fired": []}))


@pytest.mark.parametrize(("n_bad", "more"), [(50, None), (51, 1), (53, 3)])
def test_markdown_caps_non_passing_rows_at_50(n_bad, more):
    assert MAX_ROWS == 50  # the docstring's "at most 50 rows"
    checks = [CheckResult(f"rule{i:03d}", "gates", F, WRN, float(i), "<=", 0.0, f"why {i}") for i in range(n_bad)]
    checks += [CheckResult("ok1", "gates", P, BLK, 1.0, ">=", 0.0, "fine"),
               CheckResult("ok2", "gates", P, BLK, 1.0, ">=", 0.0, "fine")]
    md = render_markdown(Report(Decision.WARN, "warns", checks, meta()))
    first, every = tables(md)
    assert len(first) == 2 + 50
    assert cells(first[-1])[2] == "rule049"
    assert len(every) == 2 + n_bad + 2  # the folded table is complete
    more_lines = [ln for ln in md.split("\n") if ln.endswith("more in the full report.")]
    assert more_lines == ([] if more is None else [f"{more} more in the full report."])
    assert sum(ln.startswith("- **rule") for ln in md.split("\n")) == 50
    assert f"All {n_bad + 2} checks" in md


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


# every hostile string a policy, the data or a file name can hold; each is rendered and the Markdown's structure
# (headings, tables and their cells, lists, the folding markup) must be the one a plain name gives
HOSTILE = [
    "x <!-- hides what follows",
    "-->",
    "<b>raw</b> <img src=x onerror=alert(1)>",
    "tick`s` ``two``",
    "a | b | c",
    "line\nbreak\n### Fake heading\n| fake | row |",
    "[link](javascript:alert(1)) ![img](http://e/i.png) <https://e>",
    "**bold** _it_ ~~strike~~",
    "@team #12",
    "back\\slash\\",
    "\x1b[31mred\u202e",
]


def md_structure(md: str) -> list[tuple[str, str]]:
    """The Markdown's parsed structure (CommonMark + GFM tables and strike-through): every token but plain text."""
    from markdown_it import MarkdownIt

    tokens = MarkdownIt("commonmark").enable("table").enable("strikethrough").parse(md)
    out = []
    for t in tokens:
        if t.type == "inline":
            out += [(c.type, c.content if c.type.startswith("html") else "") for c in t.children or []
                    if c.type not in ("text", "softbreak")]
        else:
            out.append((t.type, t.content if t.type.startswith("html") else ""))
    return out


def _hostile_report(s: str) -> Report:
    checks = [CheckResult(s, s, F, BLK, 0.5, ">=", 0.9, s, details={"params": {s: s}}),
              CheckResult(s, "gates", F, WRN, None, None, None, s, details={"require": s}),
              CheckResult(s, "data_quality", P, WRN, 1.0, "<=", 2.0, s)]
    alerts = {"fired": [{"name": s, "failures": 3, "runs_considered": 5, "section": s}]}
    return Report(Decision.BLOCK, s, checks, {**meta(name=s, version=s), "alerts": alerts})


@pytest.mark.parametrize("s", HOSTILE)
def test_markdown_structure_survives_every_hostile_string(s: str) -> None:
    plain = render_markdown(_hostile_report("plain"), links={"plain": "plain"})
    md = render_markdown(_hostile_report(s), links={s: s})
    assert md_structure(md) == md_structure(plain)
    assert "<!--" not in md and "<b>" not in md and "<img" not in md and "\x1b" not in md
    assert [len(cells(line)) for t in tables(md) for line in t] == [6] * (2 + 2 + 2 + 3)


def _slice_check(status: str = "fail") -> CheckResult:
    """A slice rule's check as gatekit.sections.slices writes it, by hand: two slices, the weakest first."""
    from gatekit.core.results import OnFail, Status

    slices = [{"slice": "a|<b>", "rows": 40, "value": 0.61, "interval": [0.5, 0.72], "gap": 0.2,
               "gap_interval": [0.09, 0.31], "counted": True, "status": status},
              {"slice": "north", "rows": 12, "value": None, "interval": None, "gap": None, "gap_interval": None,
               "counted": False, "status": "not_counted"}]
    return CheckResult("auc_roc by region", "slices", Status(status), OnFail.BLOCK, 0.2, "<=", 0.15, "msg",
                       metric="roc_auc", details={
                           "form": "max_drop", "slices": slices, "min_rows": 30, "decided_on": "point",
                           "whole": {"value": 0.81, "interval": [0.78, 0.84], "rows": 52},
                           "intervals": {"confidence": 0.9, "resamples": 2000, "seed": 7},
                           "gap_definition": "whole - slice (higher is better)", "label": "Ranking quality, by region"})


def test_a_slice_rule_s_slices_are_a_folded_table_weakest_first() -> None:
    md = render_markdown(Report(Decision.BLOCK, "raw", [_slice_check()], meta()))
    assert "<details><summary>⚠️ auc\\_roc by region: 2 slices, weakest first</summary>" in md
    table = tables(md)[-1]
    assert table[0] == "| slice | rows | roc\\_auc | 90 % CI | worse than whole by (90 % CI) | status |"
    assert cells(table[2]) == ["**whole**", "52", "0.81", "[0.78, 0.84]", "—", ""]
    # a max_drop rule is decided on the gap's interval: the table shows it beside the gap
    assert cells(table[3]) == ["a\\|&lt;b&gt;", "40", "0.61", "[0.5, 0.72]", "0.2 [0.09, 0.31]", "fail"]
    assert cells(table[4]) == ["north", "12", "—", "—", "—", "not counted"]
    assert "Intervals: percentile bootstrap, 2000 resamples, seed 7; shown only. Slices under 30 rows" in md
