"""Tests of :mod:`gatekit.api`: the one workflow of ``gatekit run`` and ``gatekit.api.run`` (input options,
stale reports, enforcement, history), and that both give the same report for the same arguments.

The equivalence cases run one small policy on a metrics file both ways, the CLI through
``typer.testing.CliRunner``, and compare the JSON reports apart from what differs between any two runs (run id,
times, durations, the history store's path): decision, checks, ``metadata.enforcement`` and
``metadata.exit_code`` included.
"""

from __future__ import annotations

import json
import pickle
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import sklearn.metrics as skm

import gatekit
from gatekit.api import StaleReportError, enforcement, exit_code
from gatekit.core.errors import InputError, UsageError
from gatekit.core.results import Decision
from gatekit.history.config import history_url_from
from gatekit.history.store import HistoryStore
from tests.helpers import AUC_POLICY, SEED1, _cli, run_cli, write_json, write_policy
from tests.history.helpers import _policy, _url
from tests.report.helpers import BLOCKING, SEED_EX1, gk_ci, metrics_file
from tests.sections.helpers import _canary_frame, _rel

BLOCKS = {"auc_roc": 0.91, "precision_at_0_5": 0.76, "fairness_demographic_parity_diff": 0.12,
          "psi_feature_drift": 0.18, "latency_p95_ms": 130}  # README's run.json: block (parity) and a warn rule
WARNS = {**BLOCKS, "fairness_demographic_parity_diff": 0.05}  # only the latency warn rule fails
PILOT = """
    version: 1
    name: pilot
    mode: warn_only
    metrics:
      - {name: auc_roc, op: ">=", value: 0.95, on_fail: block}
      - {name: latency_p95_ms, op: "<=", value: 120, on_fail: warn}
"""
VOLATILE = ("run_id", "started_at", "finished_at", "duration_s", "timings_s")


def _json(folder: Path) -> dict[str, Any]:
    return json.loads((folder / "gate_report.json").read_text(encoding="utf-8"))


def _comparable(doc: dict[str, Any]) -> dict[str, Any]:
    """The report without what differs between any two runs of the same inputs."""
    meta = dict(doc["metadata"])
    for key in VOLATILE:
        meta.pop(key, None)
    meta["engine"] = {k: v for k, v in meta["engine"].items() if k != "available_memory_gib"}
    meta["inputs"] = {**meta["inputs"], "engine": meta["engine"]}
    if "history" in meta:
        meta["history"] = {k: v for k, v in meta["history"].items() if k != "store"}
    return {**doc, "metadata": meta}


CASES = {
    # name: (policy, metrics, CLI flags, API keyword arguments, decision, enforcement, exit code)
    "enforced block": (None, BLOCKS, [], {}, "block", "enforced", 1),
    "warn-only flag": (None, BLOCKS, ["--warn-only"], {"warn_only": True}, "block", "warn_only", 0),
    "policy mode warn_only": (PILOT, BLOCKS, [], {}, "block", "warn_only", 0),
    "fail-on-warn": (None, WARNS, ["--fail-on-warn"], {"fail_on_warn": True}, "warn", "fail_on_warn", 1),
    "warn enforced": (None, WARNS, [], {}, "warn", "enforced", 0),
}


@pytest.mark.parametrize("case", list(CASES))
def test_cli_and_api_give_the_same_report(tmp_path: Path, case: str) -> None:
    text, values, flags, kwargs, decision, mode, code = CASES[case]
    policy = write_policy(tmp_path, text) if text else SEED1
    metrics = write_json(tmp_path, values)
    res = _cli("run", policy, "--metrics", metrics, "--out", tmp_path / "d1", "--no-history", *flags)
    assert res.exit_code == code, res.output
    report = gatekit.run(policy, metrics=metrics, out=tmp_path / "d2", **kwargs)
    by_cli, by_api = _json(tmp_path / "d1"), _json(tmp_path / "d2")
    assert by_cli["decision"] == by_api["decision"] == report.decision.value == decision
    assert by_cli["checks"] == by_api["checks"]
    for doc in (by_cli, by_api, report.to_dict()):
        assert doc["metadata"]["enforcement"] == mode
        assert doc["metadata"]["exit_code"] == code
        assert doc["metadata"]["history"] == {"recorded": False, "error": "history is off"}
    assert _comparable(by_cli) == _comparable(by_api)
    assert sorted(p.name for p in (tmp_path / "d1").iterdir()) == sorted(p.name for p in (tmp_path / "d2").iterdir())


def test_without_out_the_api_writes_nothing_and_still_records_enforcement(tmp_path: Path) -> None:
    report = gatekit.run(SEED1, metrics=write_json(tmp_path, BLOCKS))
    assert report.metadata["enforcement"] == "enforced" and report.metadata["exit_code"] == 1
    assert not list(tmp_path.glob("**/gate_report.*"))


@pytest.mark.parametrize(("text", "kwargs", "flags"), [
    (None, {"warn_only": True, "fail_on_warn": True}, ["--warn-only", "--fail-on-warn"]),
    (PILOT, {"fail_on_warn": True}, ["--fail-on-warn"]),
])
def test_contradictions_are_one_usage_error_with_the_same_text(tmp_path: Path, text: str | None,
                                                               kwargs: dict[str, bool], flags: list[str]) -> None:
    policy = write_policy(tmp_path, text) if text else SEED1
    metrics = write_json(tmp_path, BLOCKS)
    with pytest.raises(UsageError) as info:
        gatekit.run(policy, metrics=metrics, out=tmp_path / "d2", **kwargs)
    res = _cli("run", policy, "--metrics", metrics, "--out", tmp_path / "d1", "--no-history", *flags)
    assert res.exit_code == 2
    assert "invalid usage" in res.output and str(info.value) in " ".join(res.output.split())
    assert not (tmp_path / "d1" / "gate_report.json").exists() and not (tmp_path / "d2" / "gate_report.json").exists()


def test_history_through_the_api_records_the_run_as_the_cli_does(tmp_path: Path) -> None:
    metrics = write_json(tmp_path, BLOCKS)
    db1, db2 = tmp_path / "cli.db", tmp_path / "api.db"
    res = _cli("run", SEED1, "--metrics", metrics, "--out", tmp_path / "d1", "--history", db1, "--warn-only")
    assert res.exit_code == 0, res.output
    report = gatekit.run(SEED1, metrics=metrics, out=tmp_path / "d2", history=db2, warn_only=True)
    by_cli, by_api = _json(tmp_path / "d1"), _json(tmp_path / "d2")
    for doc in (by_cli, by_api):
        assert doc["metadata"]["history"]["recorded"] is True  # the reports were rewritten after recording
    assert report.metadata["history"] == by_api["metadata"]["history"]
    assert _comparable(by_cli) == _comparable(by_api)
    recorded = []
    for db, doc in ((db1, by_cli), (db2, by_api)):
        with HistoryStore(history_url_from(str(db), tmp_path), create=False) as store:
            (run,) = store.runs(policy="seed_exercise_1")
        assert run.run_id == doc["metadata"]["run_id"]
        recorded.append(run)
    cli_run, api_run = recorded
    assert (cli_run.decision, cli_run.enforcement, cli_run.exit_code) == ("block", "warn_only", 0)
    assert (api_run.decision, api_run.enforcement, api_run.exit_code) == ("block", "warn_only", 0)
    assert [(c["key"], c["status"], c["observed"]) for c in cli_run.checks] == \
        [(c["key"], c["status"], c["observed"]) for c in api_run.checks]


def test_the_api_records_nothing_by_default(tmp_path: Path) -> None:
    """Not even in the store that GATEKIT_HISTORY_URL (set for the tests) or gatekit.toml name: that is the CLI's."""
    import os

    policy = write_policy(tmp_path, "version: 1\nname: api_default_unrecorded\nmetrics:\n"
                                    "  - {name: auc_roc, op: '>=', value: 0.9}\n")
    for kwargs in ({}, {"history": "off"}):
        report = gatekit.run(policy, metrics=write_json(tmp_path, BLOCKS), **kwargs)
        assert report.metadata["history"] == {"recorded": False, "error": "history is off"}
    env_store = Path(os.environ["GATEKIT_HISTORY_URL"])
    if env_store.exists():
        with HistoryStore(history_url_from(str(env_store), tmp_path), create=False) as store:
            assert store.runs(policy="api_default_unrecorded") == []


def test_history_false_records_nothing_and_true_is_a_clear_error(tmp_path: Path,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    metrics = write_json(tmp_path, BLOCKS)
    report = gatekit.run(SEED1, metrics=metrics, history=False)
    assert report.metadata["history"]["recorded"] is False and not (tmp_path / ".gatekit").exists()
    with pytest.raises(UsageError, match="history must be a SQLAlchemy URL"):
        gatekit.run(SEED1, metrics=metrics, history=True)  # which store? never a guess


def test_alerts_read_the_history_before_the_run_is_added(tmp_path: Path) -> None:
    policy = write_policy(tmp_path, """
        version: 1
        name: alerting
        alert: {after: 2, within: 3}
        metrics:
          - {name: auc_roc, op: ">=", value: 0.95, on_fail: block}
    """)
    metrics, db = write_json(tmp_path, BLOCKS), tmp_path / "h.db"
    first = gatekit.run(policy, metrics=metrics, history=db)
    assert first.metadata["alerts"] == {"fired": []}  # one failure of two needed: its own run is counted once
    second = gatekit.run(policy, metrics=metrics, history=db)
    (alert,) = second.metadata["alerts"]["fired"]
    assert alert["failures"] == 2 and alert["failed_runs"] == [first.metadata["run_id"], second.metadata["run_id"]]
    assert alert["delivered"] is None  # no webhook configured


def test_the_api_clears_stale_reports_and_lists_what_it_wrote(tmp_path: Path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    for stale in ("gate_report.junit.xml", "gate_report.md", "evidently_drift.html"):
        (out / stale).write_text("old", encoding="utf-8")
    written: dict[str, Path] = {}
    gatekit.run(SEED1, metrics=write_json(tmp_path, BLOCKS), out=out, written=written)
    assert sorted(p.name for p in out.iterdir()) == ["gate_report.html", "gate_report.json"]
    assert written == {"json": out / "gate_report.json", "html": out / "gate_report.html"}


def test_reports_root_is_the_clis_default_folder(tmp_path: Path) -> None:
    written: dict[str, Path] = {}
    report = gatekit.run(SEED1, metrics=write_json(tmp_path, BLOCKS), reports_root=tmp_path / "reports",
                         formats="json", written=written)
    assert written == {"json": tmp_path / "reports" / report.metadata["run_id"] / "gate_report.json"}
    with pytest.raises(UsageError, match="not both"):
        gatekit.run(SEED1, metrics=write_json(tmp_path, BLOCKS), out=tmp_path / "x", reports_root=tmp_path)


def test_an_out_that_is_a_file_or_a_stale_report_that_stays(tmp_path: Path) -> None:
    metrics = write_json(tmp_path, BLOCKS)
    with pytest.raises(UsageError, match="exists and is not a folder"):
        gatekit.run(SEED1, metrics=metrics, out=metrics)
    (tmp_path / "out" / "gate_report.json").mkdir(parents=True)  # a folder where the report goes
    (tmp_path / "out" / "gate_report.json" / "x").write_text("x", encoding="utf-8")
    with pytest.raises(StaleReportError) as info:
        gatekit.run(SEED1, metrics=metrics, out=tmp_path / "out")
    assert isinstance(info.value, OSError) and info.value.folder == tmp_path / "out"
    res = _cli("run", SEED1, "--metrics", metrics, "--out", tmp_path / "out", "--no-history")
    assert res.exit_code == 2 and f"cannot remove the previous report in {tmp_path / 'out'}" in res.output


@pytest.mark.parametrize(("decision", "fail_on_warn", "warn_only", "code"), [
    (Decision.PASS, False, False, 0), (Decision.WARN, False, False, 0), (Decision.BLOCK, False, False, 1),
    (Decision.WARN, True, False, 1), (Decision.PASS, True, False, 0), (Decision.BLOCK, False, True, 0),
    (Decision.WARN, False, True, 0), ("block", False, False, 1),
])
def test_exit_code(decision: Decision | str, fail_on_warn: bool, warn_only: bool, code: int) -> None:
    assert exit_code(decision, fail_on_warn=fail_on_warn, warn_only=warn_only) == code


def test_enforcement_without_a_policy() -> None:
    assert enforcement() == "enforced"
    assert enforcement(warn_only=True) == "warn_only"
    assert enforcement(fail_on_warn=True) == "fail_on_warn"
    with pytest.raises(UsageError, match="contradict"):
        enforcement(warn_only=True, fail_on_warn=True)


def test_python_api_takes_the_cli_name_canary_log(tmp_path: Path) -> None:
    rng = np.random.default_rng(4)
    n = 400
    arm = np.where(rng.random(n) < 0.5, "candidate", "production")
    y = rng.integers(0, 2, n)
    s = np.clip(0.5 * y + 0.5 * rng.random(n), 0, 1)
    pd.DataFrame({"arm": arm, "y": y, "s": s}).to_csv(tmp_path / "log.csv", index=False)
    policy = {"version": 1, "canary": {"data": str(tmp_path / "missing.csv"), "target": "y", "score": "s",
                                       "rules": [{"name": "auc_roc", "max_drop": 0.5, "confidence": 0.9}]}}
    check = gatekit.run(policy, canary_log=str(tmp_path / "log.csv")).checks[0]
    expected = (skm.roc_auc_score(y[arm == "candidate"], s[arm == "candidate"])
                - skm.roc_auc_score(y[arm == "production"], s[arm == "production"]))
    assert check.observed == pytest.approx(expected, abs=1e-12)


ALL_FILES = {"gate_report.json", "gate_report.html", "gate_report.junit.xml", "gate_report.md"}


def test_cli_removes_stale_reports_of_every_format_first(tmp_path):
    m = metrics_file(tmp_path, BLOCKING)
    d = tmp_path / "D"
    d.mkdir()

    def plant() -> None:
        for name in ALL_FILES:
            (d / name).write_text("STALE from an earlier run", encoding="utf-8")
    plant()
    (d / "notes.txt").write_text("mine", encoding="utf-8")  # not a report: kept
    res = gk_ci("run", SEED_EX1, "--metrics", m, "--out", d, "--format", "markdown", "--no-history", cwd=tmp_path)
    assert res.returncode == 1, res.stderr
    assert {p.name for p in d.iterdir()} == {"gate_report.md", "notes.txt"}
    assert (d / "gate_report.md").read_text(encoding="utf-8").startswith("### ⛔ gatekit: **BLOCK**")
    # a run that fails on its inputs leaves no old decision behind either
    plant()
    res = gk_ci("run", SEED_EX1, "--metrics", tmp_path / "missing.json", "--out", d, "--format", "json", "--no-history",
             cwd=tmp_path)
    assert res.returncode == 2
    assert {p.name for p in d.iterdir()} == {"notes.txt"}


class _Evil:
    """Unpickling this creates a marker file: the proof that a pickle was loaded."""

    def __init__(self, marker: str) -> None:
        self.marker = marker

    def __reduce__(self):
        return (Path.touch, (Path(self.marker),))


def test_cli_model_does_not_inherit_the_policys_trust(tmp_path: Path) -> None:
    marker = tmp_path / "PWNED"
    (tmp_path / "evil.pkl").write_bytes(pickle.dumps(_Evil(str(marker))))
    (tmp_path / "good.joblib").write_bytes(b"")
    pd.DataFrame({"y": [0, 1], "x": [0.1, 0.9]}).to_csv(tmp_path / "d.csv", index=False)
    pol = tmp_path / "p.yaml"
    pol.write_text(AUC_POLICY + "inputs: {model: good.joblib, trust_model: true}\n")
    proc = run_cli("run", str(pol), "--data", str(tmp_path / "d.csv"), "--target", "y", "--model",
                   str(tmp_path / "evil.pkl"), "--out", str(tmp_path / "o"))
    assert proc.returncode == 2 and "refusing to unpickle" in proc.stderr
    assert not marker.exists()


def test_a_failed_run_removes_the_previous_report(tmp_path: Path) -> None:
    pol = tmp_path / "p.yaml"
    pol.write_text(AUC_POLICY)
    good = tmp_path / "good.json"
    good.write_text(json.dumps({"auc_roc": 0.95}))
    assert run_cli("run", str(pol), "--metrics", str(good), "--out", str(tmp_path / "o")).returncode == 0
    assert (tmp_path / "o" / "gate_report.json").exists()
    bad = tmp_path / "bad.json"
    bad.write_text("{")
    assert run_cli("run", str(pol), "--metrics", str(bad), "--out", str(tmp_path / "o")).returncode == 2
    assert not (tmp_path / "o" / "gate_report.json").exists()
    assert not (tmp_path / "o" / "gate_report.html").exists()


def test_out_and_demo_out_pointing_at_a_file(tmp_path: Path, demo_root: Path) -> None:
    f = tmp_path / "file"
    f.write_text("x")
    pol = tmp_path / "p.yaml"
    pol.write_text(AUC_POLICY)
    (tmp_path / "m.json").write_text(json.dumps({"auc_roc": 0.95}))
    proc = run_cli("run", str(pol), "--metrics", str(tmp_path / "m.json"), "--out", str(f))
    assert proc.returncode == 2 and "is not a folder" in proc.stderr
    proc = run_cli("demo", "--root", str(demo_root), "--out", str(f))
    assert proc.returncode == 2 and "Traceback" not in proc.stderr


def test_inputs_section_paths_are_relative_to_the_policy(tmp_path) -> None:
    sub = tmp_path / "pol"
    sub.mkdir()
    y, s = [0, 1, 0, 1], [0.1, 0.8, 0.3, 0.9]
    pd.DataFrame({"y": y, "s": s}).to_csv(tmp_path / "d.csv", index=False)
    p = sub / "p.yaml"
    p.write_text("version: 1\ninputs: {data: ../d.csv, target: y, score: s}\n"
                 "metrics:\n  - {name: auc_roc, op: '>=', value: 0.9}\n")
    r = gatekit.run(p)
    assert r.decision.value == "pass" and r.checks[0].observed == 1.0


def test_api_accepts_one_sensitive_column_as_a_string(tmp_path) -> None:
    path = tmp_path / "d.csv"
    pd.DataFrame({"y": [1, 0, 1, 0], "s": [0.9, 0.6, 0.3, 0.1], "grp": ["a", "a", "b", "b"]}).to_csv(path, index=False)
    p = tmp_path / "p.yaml"
    p.write_text("version: 1\nmetrics:\n  - {name: demographic_parity_difference, op: '<=', value: 1, "
                 "params: {min_group_size: 1}}\n")  # groups of 2 rows: below the default minimum of 30
    r = gatekit.run(p, data=path, target="y", score="s", sensitive="grp")
    assert r.checks[0].observed == pytest.approx(1.0)  # a: both predicted positive, b: none (by hand)
    assert r.checks[0].details["sensitive_columns"] == ["grp"]


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="uses /proc as an unwritable report folder")
def test_a_run_whose_report_cannot_be_written_is_not_recorded_as_a_pass(tmp_path: Path) -> None:
    policy = _policy(tmp_path, 'version: 1\nname: rep\nmetrics:\n  - {name: auc_roc, op: ">=", value: 0.8}\n')
    (tmp_path / "m.json").write_text('{"auc_roc": 0.9}', encoding="utf-8")
    db = tmp_path / "h.db"
    res = _cli("run", policy, "--metrics", tmp_path / "m.json", "--history", db, "--out",
               "/proc/gatekit-no-such-dir/sub", "-q")
    assert res.exit_code == 2, res.output
    runs = HistoryStore(_url(db)).runs() if db.exists() else []
    assert not any(r.decision == "pass" and r.exit_code == 0 for r in runs)


def test_canary_log_without_canary_section_is_refused(tmp_path: Path) -> None:
    _canary_frame(300, 300).to_csv(tmp_path / "c.csv", index=False)
    pol = _rel(tmp_path, "- {name: auc_roc, max_drop: 0.5}")
    with pytest.raises(InputError, match="canary"):
        gatekit.run(pol, canary_data=str(tmp_path / "c.csv"))


# ------------------------------------------------------------------------------------------------------
# A full disk while writing the reports: no report of the run remains, the API raises, the CLI exits 2
# ------------------------------------------------------------------------------------------------------


def _full_disk_on(monkeypatch: pytest.MonkeyPatch, name: str, after: int = 0) -> list[str]:
    """Make the write of ``name`` (a report file's temporary) raise ENOSPC once ``after`` writes of it succeeded."""
    import errno

    import gatekit.report as report_module

    real = report_module._write_temporary
    attempts: list[str] = []

    def write(path: Path, text: str) -> Path:
        attempts.append(path.name)
        if path.name == name and attempts.count(name) > after:
            raise OSError(errno.ENOSPC, "No space left on device", str(path))
        return real(path, text)

    monkeypatch.setattr(report_module, "_write_temporary", write)
    return attempts


def _reports_left(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir()) if folder.exists() else []


def test_a_full_disk_on_the_second_format_leaves_no_report_and_raises(tmp_path: Path,
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    import errno

    metrics = write_json(tmp_path, {**WARNS, "fairness_demographic_parity_diff": 0.01, "latency_p95_ms": 10})
    out = tmp_path / "o"
    first = gatekit.run(SEED1, metrics=metrics, out=out)  # a previous run's reports
    assert first.metadata["exit_code"] == 0 and _reports_left(out) == ["gate_report.html", "gate_report.json"]
    attempts = _full_disk_on(monkeypatch, "gate_report.html")
    with pytest.raises(OSError) as info:
        gatekit.run(SEED1, metrics=metrics, out=out)
    assert info.value.errno == errno.ENOSPC
    assert attempts == ["gate_report.json", "gate_report.html"]  # the JSON was written before the HTML failed
    assert _reports_left(out) == []


def test_the_cli_exits_2_on_a_full_disk_and_leaves_no_report(tmp_path: Path,
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    metrics = write_json(tmp_path, {**WARNS, "fairness_demographic_parity_diff": 0.01, "latency_p95_ms": 10})
    _full_disk_on(monkeypatch, "gate_report.html")
    res = _cli("run", SEED1, "--metrics", metrics, "--out", tmp_path / "o")
    assert res.exit_code == 2, res.output
    assert "No space left on device" in res.output
    assert _reports_left(tmp_path / "o") == []


def test_a_full_disk_on_the_rewrite_after_recording_history_leaves_no_report(tmp_path: Path,
                                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    # the first set (json, html) is written, the run recorded, then rewriting the JSON fails: the first set,
    # which would say exit code 0, is removed too
    metrics = write_json(tmp_path, {**WARNS, "fairness_demographic_parity_diff": 0.01, "latency_p95_ms": 10})
    attempts = _full_disk_on(monkeypatch, "gate_report.json", after=1)
    out = tmp_path / "o"
    with pytest.raises(OSError):
        gatekit.run(SEED1, metrics=metrics, out=out, history=tmp_path / "h.db")
    assert attempts == ["gate_report.json", "gate_report.html", "gate_report.json"]
    assert _reports_left(out) == []
    monkeypatch.undo()
    assert gatekit.run(SEED1, metrics=metrics).metadata["exit_code"] == 0  # what the removed reports said
    attempts = _full_disk_on(monkeypatch, "gate_report.json", after=1)
    res = _cli("run", SEED1, "--metrics", metrics, "--out", tmp_path / "o2", "--history", tmp_path / "h2.db")
    assert res.exit_code == 2, res.output
    assert attempts == ["gate_report.json", "gate_report.html", "gate_report.json"]
    assert _reports_left(tmp_path / "o2") == []


# ------------------------------------------------------------------------------------------------------
# A report never replaces a file the run reads
# ------------------------------------------------------------------------------------------------------


def test_a_report_name_that_is_a_file_the_policy_reads_is_refused(tmp_path: Path) -> None:
    out = tmp_path / "o"
    out.mkdir()
    metrics = out / "gate_report.json"  # the metrics of an earlier pipeline step, under a report's name
    metrics.write_text(json.dumps({"auc_roc": 0.95}), encoding="utf-8")
    pol = tmp_path / "p.yaml"
    pol.write_text(AUC_POLICY + "inputs: {metrics: o/gate_report.json}\n", encoding="utf-8")
    with pytest.raises(UsageError) as info:
        gatekit.run(pol, out=out)
    assert str(info.value).endswith(f"--out {out}: {metrics.resolve()} is the policy's inputs.metrics, and this run "
                                    "writes its report gate_report.json there; give another --out or move the file")
    res = _cli("run", pol, "--out", out)
    assert res.exit_code == 2 and "inputs.metrics" in " ".join(res.stderr.split())
    assert json.loads(metrics.read_text(encoding="utf-8")) == {"auc_roc": 0.95}  # never removed nor replaced
    assert sorted(p.name for p in out.iterdir()) == ["gate_report.json"]


def test_a_report_name_that_is_an_input_given_to_the_run_or_a_hard_link_is_refused(tmp_path: Path) -> None:
    import os

    out = tmp_path / "o"
    out.mkdir()
    pol = tmp_path / "p.yaml"
    pol.write_text(AUC_POLICY, encoding="utf-8")
    given = out / "gate_report.md"
    given.write_text(json.dumps({"auc_roc": 0.95}), encoding="utf-8")
    with pytest.raises(UsageError, match=r"is the metrics input, and this run writes its report gate_report\.md"):
        gatekit.run(pol, metrics=given, out=out)
    linked = tmp_path / "m.json"
    linked.write_text(json.dumps({"auc_roc": 0.95}), encoding="utf-8")
    os.link(linked, out / "gate_report.html")  # the metrics file under a report's name, by a hard link
    with pytest.raises(UsageError, match=r"is the metrics input, and this run writes its report gate_report\.html"):
        gatekit.run(pol, metrics=linked, out=out)
    assert json.loads(linked.read_text(encoding="utf-8")) == {"auc_roc": 0.95}
    assert sorted(p.name for p in out.iterdir()) == ["gate_report.html", "gate_report.md"]
    # elsewhere the same run writes its reports
    report = gatekit.run(pol, metrics=linked, out=tmp_path / "elsewhere")
    assert report.metadata["exit_code"] == 0


def test_a_policy_that_cannot_be_loaded_still_clears_the_previous_reports(tmp_path: Path) -> None:
    from gatekit.core.errors import PolicyError

    out = tmp_path / "o"
    pol = tmp_path / "p.yaml"
    pol.write_text(AUC_POLICY, encoding="utf-8")
    metrics = write_json(tmp_path, {"auc_roc": 0.95})
    gatekit.run(pol, metrics=metrics, out=out)
    assert sorted(p.name for p in out.iterdir()) == ["gate_report.html", "gate_report.json"]
    pol.write_text("version: 1\nmetrics: [{name: auc_roc, op: '>=', value: high}]\n", encoding="utf-8")
    with pytest.raises(PolicyError):
        gatekit.run(pol, metrics=metrics, out=out)
    assert sorted(p.name for p in out.iterdir()) == []


def test_a_policy_that_cannot_be_loaded_never_removes_an_input_in_the_report_folder(tmp_path: Path) -> None:
    # the metrics file is named gate_report.json in --out: with a valid policy the run is refused (it would
    # overwrite its input); with a broken policy the old reports used to be cleared first, deleting the input
    from gatekit.core.errors import UsageError

    out = tmp_path / "ci"
    out.mkdir()
    metrics = out / "gate_report.json"
    metrics.write_text('{"auc_roc": 0.95}', encoding="utf-8")
    pol = tmp_path / "bad.yaml"
    pol.write_text("version: 1\nmetrics: [{name: auc_roc, op: '>=', value: 0.9, on_fil: block}]\n", encoding="utf-8")
    with pytest.raises(UsageError, match="is the metrics input"):
        gatekit.run(pol, metrics=metrics, out=out)
    assert metrics.read_text(encoding="utf-8") == '{"auc_roc": 0.95}'
