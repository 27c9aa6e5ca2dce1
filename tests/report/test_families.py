"""Tests of :mod:`gatekit.report.families`: the testing families in the HTML, Markdown and JSON reports."""

from __future__ import annotations

import html
import json
from pathlib import Path
from typing import Any

import pytest

import gatekit
from gatekit.report.families import html_tables, markdown_lines
from gatekit.report.markdown import md_text

META: dict[str, Any] = {"families": [{
    "name": "vs_production", "method": "bonferroni",
    "method_text": "Bonferroni (family-wise error rate, any dependence)",
    "size": 3, "tested": 2, "confidence": 0.95, "alpha": 0.025, "simultaneous_confidence": 1 - 0.05 / 3,
    "changed": 1, "description": "Every rule against production.",
    "members": [
        {"rule": "metrics[0]", "check": "auc_roc vs baseline", "section": "performance", "status": "pass",
         "p_harm": 0.012, "p_harm_adjusted": 0.036, "p_safe": 0.99, "p_safe_adjusted": 1.0, "result_alone": "disproven",
         "result": "inconclusive", "decided_by_family": True,
         "simultaneous_interval": {"low": -0.05, "high": 0.0012, "confidence": 1 - 0.05 / 3}},
        {"rule": "metrics[1]", "check": "brier vs baseline", "section": "performance", "status": "pass",
         "p_harm": 1.0, "p_harm_adjusted": 1.0, "p_safe": 0.001, "p_safe_adjusted": 0.003, "result_alone": "proven",
         "result": "proven", "decided_by_family": False},
        {"rule": "canary.rules[0]", "check": None, "section": None, "status": "missing", "p_harm": None,
         "p_harm_adjusted": None, "p_safe": None, "p_safe_adjusted": None, "result_alone": None, "result": None,
         "decided_by_family": False, "note": "no p-value"}]}]}


def test_tables_hold_each_members_raw_and_adjusted_p_values() -> None:
    (fam,) = html_tables(META)
    assert (fam["name"], fam["size"], fam["tested"], fam["changed"]) == ("vs_production", 3, 2, 1)
    assert fam["level"] == ("One-sided level α = 0.025 per rule (confidence 0.95), 3 rules; each rule's simultaneous "
                            "interval at 98.3333%")
    first, second, third = fam["rows"]
    assert (first["p_harm"], first["p_harm_adjusted"], first["alone"], first["result"], first["changed"]) == \
        ("0.012", "0.036", "disproven", "inconclusive", True)
    assert first["interval"] == "[-0.05, +0.0012]"
    assert (second["p_safe"], second["p_safe_adjusted"], second["interval"]) == ("0.001", "0.003", "")
    assert (third["check"], third["p_harm"], third["result"], third["status"]) == ("no check", "n/a", "n/a", "missing")
    assert html_tables({}) == [] and markdown_lines({}, md_text) == []


def test_markdown_marks_what_the_family_changed() -> None:
    text = "\n".join(markdown_lines(META, md_text))
    assert ("<summary>Family vs\\_production: Bonferroni (family-wise error rate, any dependence), 3 rules, 1 decided "
            "otherwise than alone</summary>") in text
    first = ("| metrics\\[0\\] | auc\\_roc vs baseline | 0.012 → 0.036 | 0.99 → 1 | disproven | **inconclusive** "
             "| pass |")
    assert first in text
    assert "| metrics\\[1\\] | brier vs baseline | 1 → 1 | 0.001 → 0.003 | proven | proven | pass |" in text


def test_a_real_runs_reports_show_the_family(hmda_models: Path, tmp_path: Path) -> None:
    import jsonschema

    from gatekit.report import SCHEMA_PATH

    policy = {"version": 1, "name": "families_report",
              "inputs": {"data": str(hmda_models / "hmda_holdout.csv"), "target": "deny", "positive_label": "yes",
                         "model": str(hmda_models / "hmda_candidate.skops"),
                         "baseline": {"model": str(hmda_models / "hmda_production.skops")}},
              "metrics": [{"name": "auc_roc", "op": ">=", "value": 0.871, "confidence": 0.95,
                           "guardband": "proven_harm"},
                          {"name": "accuracy", "max_drop": 0.0, "confidence": 0.95},
                          {"name": "brier", "max_increase": 0.0, "confidence": 0.95}],
              "families": [{"name": "vs_production", "method": "bonferroni"}]}
    report = gatekit.run(policy, out=tmp_path, formats=["json", "html", "markdown"])
    doc = json.loads((tmp_path / "gate_report.json").read_text())
    jsonschema.validate(doc, json.loads(SCHEMA_PATH.read_text()))
    (fam,) = doc["metadata"]["families"]
    assert (fam["name"], fam["method"], fam["size"], fam["tested"]) == ("vs_production", "bonferroni", 3, 3)
    for member, check in zip(fam["members"], [c for c in doc["checks"] if "family" in c["details"]], strict=True):
        assert member["p_harm_adjusted"] == check["details"]["family"]["p_harm_adjusted"] == \
            pytest.approx(min(1.0, 3 * member["p_harm"]), rel=1e-12)
    broken = json.loads(json.dumps(doc))
    broken["metadata"]["families"][0]["members"][0]["p_harm_adjusted"] = 1.5
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(broken, json.loads(SCHEMA_PATH.read_text()))
    page = html.unescape((tmp_path / "gate_report.html").read_text())
    md = (tmp_path / "gate_report.md").read_text()
    assert 'id="testing-families"' in page and page.count('class="family-row"') == 3
    for member in fam["members"]:
        for key in ("p_harm", "p_harm_adjusted", "p_safe", "p_safe_adjusted"):
            assert f">{member[key]:.3g}<" in page
        assert f"{member['p_harm']:.3g} → {member['p_harm_adjusted']:.3g}" in md
    first = next(c for c in report.checks if c.details.get("rule") == "metrics[0]")
    assert f"{first.details['family']['p_harm']:.3g} -> {first.details['family']['p_harm_adjusted']:.3g}" \
        in first.message
