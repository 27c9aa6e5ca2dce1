"""Tests of :mod:`gatekit.history.mlflow_log`: a gate run's decision, values and reports logged to an MLflow run.

Against a real tracking store (MLflow's file store in a temporary folder, :mod:`tests.data.mlflow_helpers`); what
was logged is read back with MLflow's own client.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any
from urllib.parse import urlparse
from urllib.request import url2pathname

import pytest

import gatekit
from gatekit.core.errors import InputError
from gatekit.core.results import CheckResult, Decision, OnFail, Status
from gatekit.history.mlflow_log import MlflowLogError, log_report, metric_key, metric_keys, open_target, run_tags
from gatekit.report import Report
from tests.data.mlflow_helpers import file_store, gatekit_cli, new_run
from tests.helpers import POLICIES

SEED1 = POLICIES / "seed_example_1.yaml"  # auc_roc >= 0.90, precision_at_0_5 >= 0.75, parity difference <= 0.10
PASSING = {"auc_roc": 0.93, "precision_at_0_5": 0.8, "fairness_demographic_parity_diff": 0.05}
REPORTS = ["gatekit/gate_report.html", "gatekit/gate_report.json", "gatekit/gate_report.junit.xml",
           "gatekit/gate_report.md"]


@pytest.fixture
def store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    return file_store(tmp_path, monkeypatch)


def _metrics_file(tmp_path: Path, values: dict[str, float]) -> Path:
    path = tmp_path / "metrics.json"
    path.write_text(json.dumps(values), encoding="utf-8")
    return path


def _run(uri: str, run_id: str) -> Any:
    from mlflow import MlflowClient

    return MlflowClient(uri).get_run(run_id)


def _artifacts(uri: str, run_id: str) -> list[str]:
    from mlflow import MlflowClient

    return sorted(a.path for a in MlflowClient(uri).list_artifacts(run_id, "gatekit"))


def _artifact_dir(uri: str, run_id: str) -> Path:
    """The run's artifact folder in the file store."""
    return Path(url2pathname(urlparse(_run(uri, run_id).info.artifact_uri).path))


def test_the_decision_policy_counts_values_and_reports_are_logged(store: str, tmp_path: Path) -> None:
    from mlflow import MlflowClient

    run_id = new_run(store, {"loss": 0.3})
    values = {"auc_roc": 0.93, "precision_at_0_5": 0.7, "fairness_demographic_parity_diff": 0.05}
    report = gatekit.run(SEED1, metrics=_metrics_file(tmp_path, values), mlflow_run=run_id, out=tmp_path / "out",
                         formats="json")
    assert report.decision == Decision.BLOCK  # precision 0.7 < 0.75
    run = _run(store, run_id)
    pol = report.metadata["policy"]
    assert run.data.tags["gatekit.decision"] == "block"
    expected_tags = {"gatekit.decision": "block", "gatekit.reason": report.reason,
                     "gatekit.policy.name": "seed_example_1", "gatekit.policy.version": "1",
                     "gatekit.policy.sha256": pol["sha256"], "gatekit.counts.pass": "2", "gatekit.counts.fail": "1",
                     "gatekit.counts.error": "0", "gatekit.counts.not_computable": "0", "gatekit.counts.skipped": "0",
                     "gatekit.counts.inconclusive": "0",
                     "gatekit.enforcement": "enforced", "gatekit.exit_code": "1",
                     "gatekit.run_id": report.metadata["run_id"], "gatekit.version": gatekit.__version__}
    assert {k: v for k, v in run.data.tags.items() if k.startswith("gatekit.")} == expected_tags
    assert run.data.metrics == {"loss": 0.3, **{f"gatekit.{k}": v for k, v in values.items()}}
    # every report format, whatever --format wrote
    assert _artifacts(store, run_id) == REPORTS
    logged = json.loads(Path(MlflowClient(store).download_artifacts(run_id, "gatekit/gate_report.json", str(
        tmp_path / "dl"))).read_text(encoding="utf-8"))
    assert logged["decision"] == "block" and logged["checks"] == report.to_dict()["checks"]
    record = {"run_id": run_id, "tracking_uri": store, "artifact_path": "gatekit", "decision_tag": "gatekit.decision",
              "metrics": {f"gatekit.{k}": k for k in values}}
    assert logged["metadata"]["mlflow"] == record  # as it was when logged
    assert report.metadata["mlflow"] == {**record, "logged": True}
    on_disk = json.loads((tmp_path / "out" / "gate_report.json").read_text(encoding="utf-8"))
    assert on_disk["metadata"]["mlflow"] == {**record, "logged": True}  # rewritten once logged


def test_reading_a_run_and_logging_back_to_it(store: str) -> None:
    run_id = new_run(store, PASSING)
    report = gatekit.run(SEED1, metrics=f"mlflow:runs/{run_id}", mlflow_run=run_id)
    assert report.decision == Decision.PASS
    run = _run(store, run_id)
    assert run.data.tags["gatekit.decision"] == "pass"
    assert run.data.metrics == {**PASSING, **{f"gatekit.{k}": v for k, v in PASSING.items()}}


def test_a_second_gate_run_replaces_the_decision(store: str, tmp_path: Path) -> None:
    run_id = new_run(store)
    gatekit.run(SEED1, metrics=_metrics_file(tmp_path, PASSING), mlflow_run=run_id)
    assert _run(store, run_id).data.tags["gatekit.decision"] == "pass"
    gatekit.run(SEED1, metrics=_metrics_file(tmp_path, {**PASSING, "auc_roc": 0.5}), mlflow_run=run_id)
    run = _run(store, run_id)
    assert run.data.tags["gatekit.decision"] == "block"
    assert run.data.tags["gatekit.counts.fail"] == "1"
    assert run.data.metrics["gatekit.auc_roc"] == 0.5  # the latest value of the metric


def test_warn_only_logs_the_decision_and_its_enforcement(store: str, tmp_path: Path) -> None:
    run_id = new_run(store)
    report = gatekit.run(SEED1, metrics=_metrics_file(tmp_path, {**PASSING, "auc_roc": 0.5}), mlflow_run=run_id,
                         warn_only=True)
    tags = _run(store, run_id).data.tags
    assert report.metadata["exit_code"] == 0
    assert (tags["gatekit.decision"], tags["gatekit.enforcement"], tags["gatekit.exit_code"]) == \
        ("block", "warn_only", "0")


def test_the_run_is_checked_before_the_evaluation(store: str, tmp_path: Path) -> None:
    from mlflow import MlflowClient

    out = tmp_path / "out"
    out.mkdir()
    (out / "gate_report.json").write_text("{}", encoding="utf-8")  # an earlier run's report
    seen: list[str] = []
    with pytest.raises(InputError, match="has no run 0123abcd"):
        gatekit.run(SEED1, metrics=_metrics_file(tmp_path, PASSING), mlflow_run="0123abcd", out=out,
                    progress=lambda stage, done, total: seen.append(stage))
    assert seen == []  # nothing was evaluated
    assert not (out / "gate_report.json").exists()  # and no old decision is left
    deleted = new_run(store)
    MlflowClient(store).delete_run(deleted)
    with pytest.raises(InputError, match="is deleted"):
        open_target(deleted)
    with pytest.raises(InputError, match="--mlflow-run is not an MLflow run id"):
        open_target("../x")


def test_a_failed_logging_raises_after_the_reports_and_leaves_no_decision(store: str, tmp_path: Path) -> None:
    run_id = new_run(store)
    gatekit.run(SEED1, metrics=_metrics_file(tmp_path, PASSING), mlflow_run=run_id)
    assert _run(store, run_id).data.tags["gatekit.decision"] == "pass"
    # a file where the reports' folder goes: MLflow cannot create it (whoever runs the tests, root too)
    (_artifact_dir(store, run_id) / "gatekit").rename(tmp_path / "moved")
    (_artifact_dir(store, run_id) / "gatekit").write_text("in the way", encoding="utf-8")
    out = tmp_path / "out"
    with pytest.raises(MlflowLogError, match=f"could not log the gate run to MLflow run {run_id}") as exc:
        gatekit.run(SEED1, metrics=_metrics_file(tmp_path, {**PASSING, "auc_roc": 0.5}), mlflow_run=run_id, out=out)
    report = exc.value.report
    assert report.decision == Decision.BLOCK
    assert report.metadata["mlflow"]["logged"] is False
    assert "(logging the reports as artifacts)" in report.metadata["mlflow"]["error"]
    assert "gatekit.decision" not in _run(store, run_id).data.tags  # the earlier "pass" is gone, not kept
    on_disk = json.loads((out / "gate_report.json").read_text(encoding="utf-8"))
    assert on_disk["decision"] == "block" and on_disk["metadata"]["mlflow"]["logged"] is False
    assert on_disk["metadata"]["exit_code"] == 1  # the decision's; the process exits 2 (the CLI test)


def test_a_run_deleted_during_the_evaluation_fails_the_logging(store: str, tmp_path: Path) -> None:
    from mlflow import MlflowClient

    run_id = new_run(store)
    with pytest.raises(MlflowLogError) as exc:
        gatekit.run(SEED1, metrics=_metrics_file(tmp_path, PASSING), mlflow_run=run_id,
                    progress=lambda stage, done, total: MlflowClient(store).delete_run(run_id))
    assert "(logging the observed values and tags)" in str(exc.value)
    assert "must be in 'active' lifecycle_stage" in str(exc.value)
    assert exc.value.report.decision == Decision.PASS
    assert "gatekit.decision" not in _run(store, run_id).data.tags


def test_check_names_become_portable_unique_metric_keys() -> None:
    def check(name: str, observed: Any) -> CheckResult:
        return CheckResult(name=name, section="s", status=Status.PASS, on_fail=OnFail.BLOCK, observed=observed)

    long = "x" * 300
    checks = [check("psi:age", 0.1), check("psi_age", 0.2), check("group gap (sex)", 0.3), check("auc_roc", None),
              check("nan", float("nan")), check("inf", float("inf")), check(long, 1.0), check(long, 2.0),
              check("psi_age_2", 0.4), check("été", 5)]
    assert metric_key("psi:age") == "gatekit.psi_age"
    assert metric_keys(checks) == {
        "gatekit.psi_age": ("psi:age", 0.1),
        "gatekit.psi_age_2": ("psi_age", 0.2),  # second of the same key: _2
        "gatekit.group_gap__sex_": ("group gap (sex)", 0.3),
        "gatekit." + "x" * 242: (long, 1.0),  # cut to MLflow's 250 characters
        "gatekit." + "x" * 240 + "_2": (long, 2.0),
        "gatekit.psi_age_2_2": ("psi_age_2", 0.4),  # its own key was taken by the second psi_age
        "gatekit._t_": ("été", 5.0),
    }


def test_mlflow_accepts_every_key_and_tag(store: str) -> None:
    names = ["psi:age", "psi_age", "a/b/../c", "group gap (sex)", "x" * 300, "x" * 300, "..", "-lead"]
    checks = [CheckResult(name=n, section="s", status=Status.FAIL, on_fail=OnFail.WARN, observed=i / 10)
              for i, n in enumerate(names)]
    report = Report(decision=Decision.WARN, reason="r" * 9000, checks=checks,
                    metadata={"policy": {"name": "p", "version": "2.1", "sha256": "0" * 64}, "run_id": "r1",
                              "enforcement": "enforced", "exit_code": 0, "gatekit_version": "0.1.0"})
    run_id = new_run(store)
    assert log_report(report, open_target(run_id)) is None
    run = _run(store, run_id)
    assert run.data.metrics == {k: v for k, (_, v) in metric_keys(checks).items()}
    assert len(run.data.metrics) == len(names)
    assert run.data.tags["gatekit.reason"] == "r" * 4999 + "…"
    assert {k: v for k, v in run.data.tags.items() if k.startswith("gatekit.")} == run_tags(report) | {
        "gatekit.reason": "r" * 4999 + "…"}


def test_the_cli_exits_2_when_logging_fails_after_printing_the_decision(store: str, tmp_path: Path) -> None:
    run_id = new_run(store)
    metrics = _metrics_file(tmp_path, PASSING)
    res = gatekit_cli("run", SEED1, "--metrics", metrics, "--mlflow-run", run_id, "--out", tmp_path / "ok",
                      "--no-history", cwd=tmp_path)
    assert res.returncode == 0, res.stderr
    assert f"logged to MLflow run {run_id} ({store})" in res.stdout
    assert _run(store, run_id).data.tags["gatekit.decision"] == "pass"
    (_artifact_dir(store, run_id) / "gatekit").rename(tmp_path / "moved")
    (_artifact_dir(store, run_id) / "gatekit").write_text("in the way", encoding="utf-8")
    res = gatekit_cli("run", SEED1, "--metrics", metrics, "--mlflow-run", run_id, "--out", tmp_path / "failed",
                      "--no-history", cwd=tmp_path)
    assert res.returncode == 2, res.stderr
    assert "PASS" in res.stdout  # the decision is printed first
    assert "the gate decided, but logging to MLflow failed" in res.stderr
    assert f"could not log the gate run to MLflow run {run_id}" in res.stderr and "Traceback" not in res.stderr
    assert "gatekit.decision" not in _run(store, run_id).data.tags
    report = json.loads((tmp_path / "failed" / "gate_report.json").read_text(encoding="utf-8"))
    assert report["decision"] == "pass" and report["metadata"]["mlflow"]["logged"] is False
    # a run that does not exist: exit 2 before anything is evaluated or written
    res = gatekit_cli("run", SEED1, "--metrics", metrics, "--mlflow-run", "0123abcd", "--out", tmp_path / "none",
                      "--no-history", cwd=tmp_path)
    assert res.returncode == 2 and "has no run 0123abcd" in res.stderr
    assert not (tmp_path / "none" / "gate_report.json").exists()


def test_without_mlflow_installed_logging_says_how_to_install_it(tmp_path: Path,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    import sys

    monkeypatch.setitem(sys.modules, "mlflow", None)  # `import mlflow` now raises ImportError, as when absent
    seen: list[str] = []
    with pytest.raises(InputError, match=r'logging to MLflow run abc needs MLflow.*pip install "gatekit\[mlflow\]"'):
        gatekit.run(SEED1, metrics=_metrics_file(tmp_path, PASSING), mlflow_run="abc",
                    progress=lambda stage, done, total: seen.append(stage))
    assert seen == []
