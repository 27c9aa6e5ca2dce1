"""Tests of :mod:`gatekit.orchestrator`: one failing rule or section never stops the others or counts as
a pass, and the report's metadata (run id, policy hash).
"""

from __future__ import annotations

import hashlib
import json
import math
from pathlib import Path

import pandas as pd
from typer.testing import CliRunner

import gatekit
from gatekit import cli
from gatekit.core.results import Status
from gatekit.data.inputs import InputOptions
from gatekit.data.loader import load_inputs
from gatekit.metrics.catalog import default_registry
from gatekit.metrics.registry import MetricSpec
from gatekit.orchestrator import evaluate
from gatekit.policy import load_policy
from gatekit.sections.registry import default_sections
from tests.cli.helpers import EX1, OWN_POLICY, gk, load_report
from tests.helpers import POLICIES, write_json, write_policy
from tests.helpers import write_json as metrics_file
from tests.report.helpers import _files


def test_policy_sha256_of_own_policy(tmp_path: Path) -> None:
    pol = write_policy(tmp_path, OWN_POLICY + "# trailing comment changes the bytes, not the rules\n")
    out = tmp_path / "out"
    res = gk("run", pol, "--metrics", write_json(tmp_path, EX1), "--out", out, cwd=tmp_path)
    assert res.returncode == 0, res.stderr
    assert load_report(out)["metadata"]["policy"]["sha256"] == hashlib.sha256(pol.read_bytes()).hexdigest()


def test_report_metadata_records_policy_hash(tmp_path: Path) -> None:
    import hashlib

    pol = POLICIES / "seed_example_2.yaml"
    report = gatekit.run(pol, metrics=metrics_file(tmp_path, {"mape": 11.5, "smape": 15.1, "latency_p95_ms": 120}))
    assert report.metadata["policy"]["sha256"] == hashlib.sha256(pol.read_bytes()).hexdigest()
    d = report.to_dict()
    assert d["decision"] == "block"
    assert d["counts"]["fail"] == 1 and d["counts"]["pass"] == 2
    assert all(v is None or math.isfinite(v) for c in d["checks"] for v in (c["observed"], c["threshold"]))


def _boom(data, **_):
    raise ZeroDivisionError("deliberate")


def _data(tmp_path: Path) -> Path:
    path = tmp_path / "d.csv"
    pd.DataFrame({"y": [0, 1, 0, 1], "s": [0.1, 0.8, 0.3, 0.9]}).to_csv(path, index=False)
    return path


def test_a_raising_metric_is_error_and_the_others_still_run(tmp_path: Path) -> None:
    reg = default_registry()
    reg.register(MetricSpec("exploding_metric", "performance", "fraction", "raises", _boom))
    p = tmp_path / "p.yaml"
    p.write_text("version: 1\nmetrics:\n"
                 "  - {name: exploding_metric, op: '>=', value: 0, on_fail: warn}\n"
                 "  - {name: auc_roc, op: '>=', value: 0.9}\n")
    report = gatekit.run(p, registry=reg, data=_data(tmp_path), target="y", score="s")
    boom, auc = report.checks
    assert boom.status == Status.ERROR and "ZeroDivisionError: deliberate" in boom.message
    assert auc.status == Status.PASS and auc.observed == 1.0
    assert report.decision.value == "warn"  # a warn rule that errored never passes


def test_a_crashing_section_turns_its_checks_into_errors(tmp_path: Path) -> None:
    class Crashing:
        name = "metrics"

        def planned(self, policy):
            return [(r.name, r.on_fail) for r in policy.policy.metrics]

        def run(self, ctx):
            raise RuntimeError("adapter bug")

    p = tmp_path / "p.yaml"
    p.write_text("version: 1\nmetrics:\n  - {name: auc_roc, op: '>=', value: 0.9}\n"
                 "gates:\n  - {gate: g, require: auc_roc >= 0.9}\n")
    reg = default_registry()
    lp = load_policy(p, reg)
    inputs = load_inputs(InputOptions(data=_data(tmp_path), target="y", score="s"), reg)
    sections = default_sections()
    sections.replace("metrics", adapter=Crashing)  # the metric rules' adapter crashes
    report = evaluate(lp, inputs, reg, sections=sections)
    by_name = {c.name: c for c in report.checks}
    assert by_name["auc_roc"].status == Status.ERROR and "adapter bug" in by_name["auc_roc"].message
    assert by_name["g"].status == Status.PASS  # the gates section still ran
    assert report.decision.value == "block"


def test_internal_error_exits_3(tmp_path: Path, monkeypatch) -> None:
    p = tmp_path / "p.yaml"
    p.write_text("version: 1\nmetrics:\n  - {name: auc_roc, op: '>=', value: 0.9}\n")
    m = tmp_path / "m.json"
    m.write_text(json.dumps({"auc_roc": 0.95}))

    def broken(*a, **k):
        raise RuntimeError("bug")

    monkeypatch.setattr("gatekit.api.run", broken)
    result = CliRunner().invoke(cli.app, ["run", str(p), "--metrics", str(m), "--out", str(tmp_path / "o")])
    assert result.exit_code == 3
    assert "internal error: RuntimeError: bug" in result.output


def test_two_runs_in_the_same_second_get_different_ids(tmp_path: Path) -> None:
    p, m = _files(tmp_path, {"smape": 12, "auc_roc": 0.95})
    ids = {gatekit.run(p, metrics=m).metadata["run_id"] for _ in range(5)}
    assert len(ids) == 5
