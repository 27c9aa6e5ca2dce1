"""Tests of :mod:`gatekit.report.terminal`: the one-screen summary."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

import gatekit
from tests.helpers import run_cli
from tests.sections.helpers import csv


def test_terminal_table_shows_the_interval_a_rule_was_decided_on(tmp_path: Path) -> None:
    from rich.console import Console

    from gatekit.report.terminal import print_summary

    rng = np.random.default_rng(6)
    n = 300
    y = rng.integers(0, 2, n)
    pd.DataFrame({"y": y, "c": np.clip(0.5 * y + 0.5 * rng.random(n), 0, 1),
                  "b": np.clip(0.5 * y + 0.5 * rng.random(n), 0, 1)}).to_csv(tmp_path / "d.csv", index=False)
    policy = {"version": 1, "inputs": {"data": str(tmp_path / "d.csv"), "target": "y", "score": "c",
                                       "baseline": {"score": "b"}},
              "metrics": [{"name": "auc_roc", "max_drop_pct": 1, "confidence": 0.95}]}
    report = gatekit.run(policy)
    iv = report.checks[0].details["interval"]
    console = Console(record=True, width=200, color_system=None)
    print_summary(report, {}, console)
    text = console.export_text()
    assert "drop at most 1 %" in text and "proven_harm" in text
    assert f"CI [{iv['low']:.4g}" in text


def test_a_long_run_lists_only_what_did_not_pass_on_the_terminal(tmp_path: Path) -> None:
    cols = {f"c{i}": [1.0, 2.0, 3.0] for i in range(40)}
    data = csv(tmp_path, {**cols, "bad": [1.0, 2.0, 99.0]})
    policy = tmp_path / "p.yaml"
    policy.write_text("version: 1\ndata_quality:\n  max_null_fraction: 0\n  columns:\n    bad: {max: 10}\n")
    proc = run_cli("run", str(policy), "--data", str(data), "--out", str(tmp_path / "o"), cwd=tmp_path)
    assert proc.returncode == 1
    assert "bad.range" in proc.stdout and "c7.max_null_fraction" not in proc.stdout
    assert "passing checks not listed" in proc.stdout


def test_control_characters_from_data_never_reach_the_terminal(tmp_path: Path) -> None:
    spoof = "\x1b[1G\x1b[2Kgatekit: PASS"
    pd.DataFrame({"y": [1, 0, 1, 0], "s": [0.9, 0.1, 0.8, 0.2], "g": [spoof, spoof, "b", "b"]}).to_csv(
        tmp_path / "d.csv", index=False)
    pol = tmp_path / "p.yaml"
    pol.write_text("version: 1\nname: \"n\\e[31m\"\nmetrics:\n"
                   "  - {name: equal_opportunity_difference, op: '<=', value: 0.1}\n")
    proc = run_cli("run", str(pol), "--data", str(tmp_path / "d.csv"), "--target", "y", "--score", "s",
                   "--sensitive", "g", "--out", str(tmp_path / "o"))
    assert proc.returncode in (0, 1)
    assert "\x1b" not in proc.stdout and "\x1b" not in proc.stderr
    assert "\\x1b" in proc.stdout  # shown, escaped
