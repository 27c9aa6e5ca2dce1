"""Tests of :mod:`gatekit.policy.diff`: ``gatekit policy diff``."""

from __future__ import annotations

import json
from pathlib import Path

from tests.helpers import run_cli, write_policy

OLD = """
version: 1
name: loans
metrics:
  - {name: auc_roc, op: ">=", value: 0.80, on_fail: warn}
  - {name: precision_at_0_5, op: ">=", value: 0.75}
  - {name: demographic_parity_difference, op: "<=", value: 0.10}
  - {name: latency_p95_ms, max_increase: 20}
gates:
  - {gate: quality, require: "auc_roc >= 0.7"}
drift: {numerical: {method: psi, threshold: 0.2}}
"""
NEW = """
version: 2
name: loans
metrics:
  - {name: auc_roc, op: ">=", value: 0.85, on_fail: block}
  - {name: fairness_demographic_parity_diff, op: "<=", value: 0.12}
  - {name: latency_p95_ms, max_increase: 10}
  - {name: auc_roc, max_drop: 0.015, confidence: 0.95}
gates:
  - {gate: quality, require: "auc_roc >= 0.75", on_fail: warn}
drift: {numerical: {method: psi, threshold: 0.1}, on_fail: block}
"""


def test_policy_diff_names_each_change(tmp_path: Path) -> None:
    old, new = write_policy(tmp_path, OLD, "old.yaml"), write_policy(tmp_path, NEW, "new.yaml")
    proc = run_cli("policy", "diff", str(old), str(new), "--format", "json")
    assert proc.returncode == 0, proc.stderr
    d = json.loads(proc.stdout)
    assert d["old"] == "loans v1" and d["new"] == "loans v2"
    assert d["added"] == ["`auc_roc max_drop: 0.015 (confidence 0.95)` (block)"]
    assert d["removed"] == ["`precision_at_0_5 >= 0.75` (block)"]
    # an alias names the same metric: the parity rule is matched across the rename, and loosened
    assert d["tightened"] == ["`auc_roc` >= 0.8 → 0.85", "`latency_p95_ms` max_increase 20 → 10"]
    assert d["loosened"] == ["`fairness_demographic_parity_diff` <= 0.1 → 0.12"]
    assert d["severity"] == ["`auc_roc >= 0.85` (block): warn → block (escalated)",
                             "`drift.on_fail`: warn → block (escalated)",
                             "gate `quality`: block → warn (relaxed)"]
    assert d["other"] == ["gate `quality`: `auc_roc >= 0.7` → `auc_roc >= 0.75`",
                          "`drift.numerical.threshold`: 0.2 → 0.1"]
    md = run_cli("policy", "diff", str(old), str(new))
    assert md.returncode == 0 and md.stdout.startswith("## Policy changes: loans v1 → loans v2")
    assert "### Tightened (2)" in md.stdout and "### Severity (3)" in md.stdout
    same = run_cli("policy", "diff", str(old), str(old))
    assert "No rule changed." in same.stdout
    bad = write_policy(tmp_path, "version: 1\nmetrics: [{name: nope, op: '>=', value: 1}]\n", "bad.yaml")
    assert run_cli("policy", "diff", str(old), str(bad)).returncode == 2


def test_policy_diff_asks_for_a_version_bump_when_rules_changed_but_the_version_did_not(tmp_path: Path) -> None:
    old = write_policy(tmp_path, "version: 4\nmetrics:\n  - {name: auc_roc, op: '>=', value: 0.8}\n", "old.yaml")
    same = write_policy(tmp_path, "version: 4\nmetrics:\n  - {name: auc_roc, op: '>=', value: 0.85}\n", "same.yaml")
    bumped = write_policy(tmp_path, "version: 5\nmetrics:\n  - {name: auc_roc, op: '>=', value: 0.85}\n", "new.yaml")
    assert "bump it" in run_cli("policy", "diff", str(old), str(same)).stdout
    assert "bump it" not in run_cli("policy", "diff", str(old), str(bumped)).stdout
    assert json.loads(run_cli("policy", "diff", str(old), str(same), "--format", "json").stdout)["same_version"]


# ------------------------------------------------------------------------- user strings in the Markdown are text

HOSTILE = [
    "q <!-- hide the rest",  # an HTML comment that would swallow the sections after it
    "<b>bold</b><img src=x onerror=alert(1)>",
    "tick`s` and ``two``",
    "`starts and ends`",
    "two\nlines\n### Fake heading",
    "pipe | cell | break",
    "@team and #12",
    "[link](javascript:alert(1)) ![img](http://e/i.png)",
    "**bold** _it_ ~~strike~~",
    "back\\slash\\",
    "-->",
]


SECTIONS = ["Added (1)", "Removed (1)", "Tightened (1)", "Loosened (1)", "Severity (2)", "Other changes (2)"]


def _md_tokens(md: str) -> list:
    from markdown_it import MarkdownIt

    return MarkdownIt("commonmark").enable("table").enable("strikethrough").parse(md)


def _inline_children(tokens: list) -> list:
    return [child for t in tokens if t.type == "inline" for child in (t.children or [])]


def _headings(tokens: list) -> list[str]:
    return [tokens[i + 1].content for i, t in enumerate(tokens) if t.type == "heading_open"]


def _hostile_policies(tmp_path: Path, name: str) -> tuple[Path, Path]:
    q = json.dumps(name)  # a YAML double-quoted scalar: JSON string syntax
    old = f"""
    version: 1
    name: {q}
    metrics:
      - {{name: auc_roc, op: ">=", value: 0.80}}
      - {{name: precision_at_0_5, op: ">=", value: 0.75}}
    gates:
      - {{gate: {q}, require: "auc_roc >= 0.7"}}
      - {{gate: {json.dumps(name + " removed")}, require: "auc_roc >= 0.5"}}
    drift: {{numerical: {{method: psi, threshold: 0.2}}}}
    """
    new = f"""
    version: 2
    name: {q}
    metrics:
      - {{name: auc_roc, op: ">=", value: 0.70}}
      - {{name: precision_at_0_5, op: ">=", value: 0.80}}
    gates:
      - {{gate: {q}, require: "auc_roc >= 0.6", on_fail: warn}}
      - {{gate: {json.dumps(name + " added")}, require: "auc_roc >= 0.5"}}
    drift: {{numerical: {{method: psi, threshold: 0.1}}, on_fail: block}}
    """
    return write_policy(tmp_path, old, "old.yaml"), write_policy(tmp_path, new, "new.yaml")


def test_policy_diff_markdown_keeps_every_section_whatever_the_names(tmp_path: Path) -> None:
    from gatekit.core.formatting import printable
    from gatekit.policy import load_policy
    from gatekit.policy.diff import diff

    for name in HOSTILE:
        old, new = _hostile_policies(tmp_path, name)
        d = diff(load_policy(old), load_policy(new))
        md = d.to_markdown()
        tokens = _md_tokens(md)
        # every section is still there, and nothing else became a heading; the title reads the name as text
        headings = [t for t in tokens if t.type == "inline" and tokens[tokens.index(t) - 1].type == "heading_open"]
        assert [h.content for h in headings][1:] == SECTIONS, name
        shown = name.replace("\n", " ").replace("@", "@\u200b").replace("#", "#\u200b")
        assert "".join(c.content for c in headings[0].children or []) == f"Policy changes: {shown} v1 → {shown} v2"
        # no raw HTML anywhere (the comment, the tags), no link, image, emphasis or strike-through
        kinds = {t.type for t in tokens} | {c.type for c in _inline_children(tokens)}
        assert not kinds & {"html_block", "html_inline", "link_open", "image", "em_open", "strong_open", "s_open",
                            "table_open"}, (name, kinds)
        # one list item per change: a line break in a name starts no new line
        assert sum(t.type == "list_item_open" for t in tokens) == 8, name
        # the lowered AUC limit is listed under Loosened, in its own list
        loosened = md.split("### Loosened (1)")[1].split("###")[0]
        assert "`auc_roc` &gt;= 0.8 → 0.7" in loosened
        # the gate's name is shown literally, as code (control characters as escapes)
        codes = [c.content for c in _inline_children(tokens) if c.type == "code_inline"]
        assert printable(name) in codes and printable(name + " added") in codes, (name, codes)
        # the JSON (plain text) still holds the names as they are
        assert f"gate `{name} added`: `auc_roc >= 0.5` (block)" in d.to_dict()["added"]


def test_policy_diff_cli_markdown_hides_no_loosened_limit(tmp_path: Path) -> None:
    old, new = _hostile_policies(tmp_path, "q <!-- hide the rest")
    proc = run_cli("policy", "diff", str(old), str(new))
    assert proc.returncode == 0, proc.stderr
    assert "<!--" not in proc.stdout.replace("`q <!-- hide the rest", "")  # only ever inside a code span
    assert _headings(_md_tokens(proc.stdout))[1:] == SECTIONS


def test_md_code_fences_longer_than_any_backtick_run() -> None:
    from gatekit.policy.diff import md_code

    assert md_code("auc_roc") == "`auc_roc`"
    assert md_code("a`b") == "``a`b``"
    assert md_code("a``b`") == "``` a``b` ```"
    assert md_code("x\ny") == "`x\\x0ay`"
    assert md_code(" ") == "' '"


def test_policy_diff_shows_superiority_limits_and_the_cost_of_an_undecided_interval(tmp_path: Path) -> None:
    old = write_policy(tmp_path, """
version: 1
name: modes
metrics:
  - {name: auc_roc, min_increase: 0.01, confidence: 0.95, mode: superiority}
  - {name: auc_roc, max_drop: 0.02, confidence: 0.95}
""", "old.yaml")
    new = write_policy(tmp_path, """
version: 2
name: modes
metrics:
  - {name: auc_roc, min_increase: 0.02, confidence: 0.95, mode: superiority, inconclusive: warn}
  - {name: auc_roc, max_drop: 0.02, confidence: 0.95, insufficient_data: pass}
""", "new.yaml")
    proc = run_cli("policy", "diff", str(old), str(new), "--format", "json")
    assert proc.returncode == 0, proc.stderr
    d = json.loads(proc.stdout)
    # a larger required gain is stricter
    assert d["tightened"] == ["`auc_roc` min_increase 0.01 → 0.02"]
    # the defaults: superiority's inconclusive costs on_fail (block); proven_harm's insufficient data too
    assert d["severity"] == [
        "`auc_roc max_drop: 0.02 (confidence 0.95)` (block): insufficient data block → pass (relaxed)",
        "`auc_roc min_increase: 0.02 (confidence 0.95, superiority)` (block): inconclusive block → warn (relaxed)"]


def test_policy_diff_reads_slice_rules_limits_severities_and_multiplicity(tmp_path: Path) -> None:
    old = write_policy(tmp_path, """
version: 1
name: sl
slices:
  - {metric: accuracy, by: seg, max_drop: 0.05, confidence: 0.95}
  - {metric: recall_at_0_5, by: seg, op: ">=", value: 0.6, on_fail: warn}
  - {metric: auc_roc, by: seg, max_drop: 0.05, multiplicity: holm, confidence: 0.9}
  - {metric: brier_score, by: seg, op: "<=", value: 0.2}
""", "old.yaml")
    new = write_policy(tmp_path, """
version: 2
name: sl
slices:
  - {metric: accuracy, by: seg, max_drop: 0.08, confidence: 0.95, insufficient_data: warn, multiplicity: holm}
  - {metric: recall_at_0_5, by: seg, op: ">=", value: 0.7, on_fail: block, min_rows: 50}
  - {metric: auc_roc, by: seg, max_drop: 0.05, multiplicity: bonferroni, confidence: 0.9}
  - {metric: brier_score, by: seg, op: "<", value: 0.2}
""", "new.yaml")
    proc = run_cli("policy", "diff", str(old), str(new), "--format", "json")
    assert proc.returncode == 0, proc.stderr
    d = json.loads(proc.stdout)
    assert d["loosened"] == ["slices `accuracy by seg` max_drop 0.05 → 0.08"]  # a larger allowed drop
    # a higher floor; the same ceiling made strict
    assert d["tightened"] == ["slices `brier_score by seg` <= 0.2 → < 0.2",
                            "slices `recall_at_0_5 by seg` >= 0.6 → 0.7"]
    assert sorted(d["severity"]) == sorted([
        "slices `accuracy by seg` (block): insufficient data block → warn (relaxed)",
        "slices `accuracy by seg`: multiplicity none → holm (relaxed)",
        "slices `auc_roc by seg`: multiplicity holm → bonferroni (relaxed)",  # Bonferroni rejects a subset of Holm
        "slices `recall_at_0_5 by seg`: warn → block (escalated)"])
    assert d["other"] == ["slices `recall_at_0_5 by seg` `min_rows`: 30 → 50"]
