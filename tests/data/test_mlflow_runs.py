"""Tests of :mod:`gatekit.data.mlflow_runs`: an MLflow run's latest metric values as the metrics input.

Against a real tracking store (MLflow's file store in a temporary folder, :mod:`tests.data.mlflow_helpers`); the
runs are written with MLflow's own client.
"""

from __future__ import annotations

import json
import math
from datetime import datetime, timezone
from pathlib import Path

import pytest

import gatekit
from gatekit import api
from gatekit.core.errors import InputError, PolicyError
from gatekit.core.results import Decision, Status
from gatekit.data.mlflow_runs import display_uri, mask_secrets, parse_run_source
from tests.core.helpers import by_name
from tests.data.mlflow_helpers import file_store, gatekit_cli, new_run
from tests.helpers import POLICIES

SEED1 = POLICIES / "seed_example_1.yaml"  # auc_roc >= 0.90, precision_at_0_5 >= 0.75, parity difference <= 0.10
PASSING = {"auc_roc": 0.93, "precision_at_0_5": 0.8, "fairness_demographic_parity_diff": 0.05}


@pytest.fixture
def store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    return file_store(tmp_path, monkeypatch)


def test_a_runs_metrics_decide_as_a_metrics_file_with_the_same_values_does(store: str, tmp_path: Path) -> None:
    run_id = new_run(store, {**PASSING, "loss": 0.31})
    report = gatekit.run(SEED1, metrics=f"mlflow:runs/{run_id}")
    same = tmp_path / "m.json"
    same.write_text(json.dumps(PASSING), encoding="utf-8")
    from_file = gatekit.run(SEED1, metrics=same)
    assert report.decision == from_file.decision == Decision.PASS
    assert {c.name: c.observed for c in report.checks} == PASSING
    assert [c.status for c in report.checks] == [c.status for c in from_file.checks]
    assert report.metadata["inputs"]["unused_metrics_in_file"] == ["loss"]
    assert by_name(report)["auc_roc"].details["file"] == f"mlflow:runs/{run_id}"
    assert by_name(report)["auc_roc"].source == "metrics_file"


def test_the_latest_value_is_mlflows_largest_step_then_latest_timestamp(store: str) -> None:
    from mlflow import MlflowClient

    # auc_roc: logged last at step 3, but step 5 is the largest -> 0.91 (step 5)
    # precision: two values at step 7, the later timestamp wins -> 0.55
    t0 = 1_700_000_000_000
    run_id = new_run(store, {"auc_roc": [(0.95, 1, t0), (0.91, 5, t0 + 1), (0.99, 3, t0 + 2)],
                             "precision_at_0_5": [(0.6, 7, t0 + 1000), (0.55, 7, t0 + 2000)],
                             "fairness_demographic_parity_diff": [(0.04, 0, t0 + 5)]})
    report = gatekit.run(SEED1, metrics=f"mlflow:runs/{run_id}")
    observed = {c.name: c.observed for c in report.checks}
    assert observed == {"auc_roc": 0.91, "precision_at_0_5": 0.55, "fairness_demographic_parity_diff": 0.04}
    assert observed == MlflowClient(store).get_run(run_id).data.metrics  # what MLflow itself calls latest
    assert by_name(report)["precision_at_0_5"].status == Status.FAIL  # 0.55 < 0.75
    assert report.decision == Decision.BLOCK
    # provenance: run id, store, and each metric's step and timestamp
    prov = report.metadata["inputs"]["mlflow"]["metrics"]
    assert prov["run_id"] == run_id and prov["tracking_uri"] == store
    assert prov["metrics"]["auc_roc"] == {"value": 0.91, "step": 5, "timestamp_ms": t0 + 1,
                                          "time": datetime.fromtimestamp((t0 + 1) / 1000, tz=timezone.utc)
                                          .isoformat(timespec="milliseconds")}
    assert prov["metrics"]["precision_at_0_5"]["step"] == 7
    assert prov["metrics"]["precision_at_0_5"]["timestamp_ms"] == t0 + 2000
    assert prov["metrics"]["auc_roc"]["time"] == "2023-11-14T22:13:20.001+00:00"
    files = report.metadata["inputs"]["files"]["metrics"]
    assert files["path"] == f"mlflow:runs/{run_id}" and files["object"] == "mlflow_run" and files["bytes"] is None


@pytest.mark.parametrize("bad", [math.nan, math.inf])
def test_a_nan_or_infinite_metric_is_not_computable_and_never_a_pass(store: str, bad: float) -> None:
    run_id = new_run(store, {**PASSING, "auc_roc": bad})
    report = gatekit.run(SEED1, metrics=f"mlflow:runs/{run_id}")
    assert by_name(report)["auc_roc"].status == Status.NOT_COMPUTABLE
    assert by_name(report)["auc_roc"].observed is None
    assert report.decision == Decision.BLOCK  # strict: a block rule that is not a pass blocks


def test_a_metric_outside_its_range_is_refused_naming_the_run(store: str) -> None:
    run_id = new_run(store, {**PASSING, "auc_roc": 91.0})  # percent, not a fraction
    with pytest.raises(InputError, match="outside the range") as exc:
        gatekit.run(SEED1, metrics=f"mlflow:runs/{run_id}")
    assert exc.value.problems[0].file == f"mlflow:runs/{run_id}" and exc.value.problems[0].key == "auc_roc"


def test_a_run_that_does_not_exist_or_is_deleted_is_an_input_error(store: str) -> None:
    from mlflow import MlflowClient

    with pytest.raises(InputError, match=f"the MLflow tracking store {store} has no run 0123abcd"):
        gatekit.run(SEED1, metrics="mlflow:runs/0123abcd")
    run_id = new_run(store, PASSING)
    MlflowClient(store).delete_run(run_id)
    with pytest.raises(InputError, match="is deleted; restore it"):
        gatekit.run(SEED1, metrics=f"mlflow:runs/{run_id}")


@pytest.mark.parametrize("source", ["mlflow://abc", "mlflow:run/abc", "mlflow:runs/", "mlflow:runs/a b",
                                    "mlflow:runs/-abc"])
def test_a_malformed_source_says_the_form(store: str, source: str) -> None:
    with pytest.raises(InputError, match=r"mlflow:runs/<RUN_ID>|not an MLflow run id"):
        gatekit.run(SEED1, metrics=source)
    with pytest.raises(ValueError, match=r"mlflow:runs/<RUN_ID>|not an MLflow run id"):
        parse_run_source(source)


def test_a_policy_names_a_run_and_a_malformed_one_is_a_policy_error_with_its_line(store: str,
                                                                                 tmp_path: Path) -> None:
    run_id = new_run(store, PASSING)
    policy = tmp_path / "p.yaml"
    policy.write_text(SEED1.read_text(encoding="utf-8") + f"inputs:\n  metrics: mlflow:runs/{run_id}\n",
                      encoding="utf-8")
    assert gatekit.run(policy).decision == Decision.PASS  # not a file beside the policy
    lines = SEED1.read_text(encoding="utf-8").count("\n")
    policy.write_text(SEED1.read_text(encoding="utf-8") + "inputs:\n  metrics: mlflow://oops\n", encoding="utf-8")
    with pytest.raises(PolicyError, match="mlflow:runs/<RUN_ID>") as exc:
        api.validate(policy)
    assert exc.value.problems[0].line == lines + 2


def test_the_production_models_run_is_the_baseline_of_relative_rules(store: str, tmp_path: Path) -> None:
    candidate = new_run(store, {"auc_roc": 0.90})
    production = new_run(store, {"auc_roc": 0.92})
    policy = tmp_path / "p.yaml"
    policy.write_text(f"version: 1\ninputs: {{baseline: {{metrics: 'mlflow:runs/{production}'}}}}\n"
                      "metrics:\n  - {name: auc_roc, max_drop: 0.01}\n", encoding="utf-8")
    report = gatekit.run(policy, metrics=f"mlflow:runs/{candidate}")
    check = report.checks[0]
    assert check.observed == pytest.approx(0.90 - 0.92, abs=1e-12)
    assert check.status == Status.FAIL and report.decision == Decision.BLOCK
    assert report.metadata["inputs"]["mlflow"]["baseline_metrics"]["run_id"] == production
    # the same run as both is refused, as the same file is
    with pytest.raises(InputError, match="same content"):
        gatekit.run(policy, metrics=f"mlflow:runs/{production}")


def test_the_recorded_digest_follows_the_runs_content(store: str) -> None:
    from mlflow import MlflowClient

    run_id = new_run(store, PASSING)
    first = gatekit.run(SEED1, metrics=f"mlflow:runs/{run_id}").metadata
    again = gatekit.run(SEED1, metrics=f"mlflow:runs/{run_id}").metadata
    sha = first["inputs"]["files"]["metrics"]["sha256"]
    assert again["inputs"]["files"]["metrics"]["sha256"] == sha
    assert again["reproducibility"]["sha256"] == first["reproducibility"]["sha256"]
    MlflowClient(store).log_metric(run_id, "loss", 0.2)  # any new value of the run changes what was read
    changed = gatekit.run(SEED1, metrics=f"mlflow:runs/{run_id}").metadata
    assert changed["inputs"]["files"]["metrics"]["sha256"] != sha
    assert changed["reproducibility"]["sha256"] != first["reproducibility"]["sha256"]


def test_the_tracking_uri_argument_overrides_the_environment(store: str, tmp_path: Path,
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    run_id = new_run(store, PASSING)
    monkeypatch.setenv("MLFLOW_TRACKING_URI", (tmp_path / "elsewhere").as_uri())
    with pytest.raises(InputError, match="does not exist"):
        gatekit.run(SEED1, metrics=f"mlflow:runs/{run_id}")
    report = gatekit.run(SEED1, metrics=f"mlflow:runs/{run_id}", mlflow_tracking_uri=store)
    assert report.decision == Decision.PASS
    assert report.metadata["inputs"]["mlflow"]["metrics"]["tracking_uri"] == store


def test_a_local_store_that_does_not_exist_is_refused_not_created(tmp_path: Path,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MLFLOW_ALLOW_FILE_STORE", "true")
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    monkeypatch.chdir(tmp_path)
    with pytest.raises(InputError, match=r"sqlite:///.*mlflow\.db \(MLflow's default\) does not exist"):
        gatekit.run(SEED1, metrics="mlflow:runs/abc")  # MLflow 3's default store is ./mlflow.db
    missing = tmp_path / "mlruns"
    with pytest.raises(InputError, match="no folder"):
        gatekit.run(SEED1, metrics="mlflow:runs/abc", mlflow_tracking_uri=missing.as_uri())
    assert list(tmp_path.iterdir()) == []  # MLflow would have created both


def test_a_database_store_without_alembic_says_which_package_is_missing(tmp_path: Path) -> None:
    try:
        import alembic  # noqa: F401
    except ImportError:
        pass
    else:
        pytest.skip("alembic is installed here: the database store opens")
    db = tmp_path / "mlflow.db"
    db.touch()
    with pytest.raises(InputError, match="needs the Python package alembic"):
        gatekit.run(SEED1, metrics="mlflow:runs/abc", mlflow_tracking_uri=f"sqlite:///{db}")


def test_an_unreachable_store_is_an_input_error_without_the_password(monkeypatch: pytest.MonkeyPatch) -> None:
    import socket

    with socket.socket() as s:  # a port nothing listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "0")
    uri = f"http://gate:s3cr3t-pw@127.0.0.1:{port}"
    with pytest.raises(InputError) as exc:
        gatekit.run(SEED1, metrics="mlflow:runs/abc", mlflow_tracking_uri=uri)
    text = str(exc.value)
    assert f"cannot read run abc from the MLflow tracking store http://gate:***@127.0.0.1:{port}" in text
    assert "s3cr3t" not in text


def test_display_uri_and_mask_secrets_hide_credentials() -> None:
    assert display_uri("https://user:pw@host:5000/x?token=abc&a=1#f") == "https://user:***@host:5000/x?token=***&a=***"
    assert display_uri("https://tok3n@host") == "https://***@host"
    assert display_uri("sqlite:////abs/mlflow.db") == "sqlite:////abs/mlflow.db"
    assert display_uri("databricks") == "databricks"
    uri = "http://u:hunter22@h?api_key=zz9&x=1"
    # a secret under 4 characters is masked only as a password or a parameter's value
    masked = mask_secrets(f"GET {uri} failed: hunter22, key zz9", uri)
    assert masked == "GET http://u:***@h?api_key=***&x=*** failed: ***, key zz9"


def test_without_mlflow_installed_the_message_says_how_to_install_it(tmp_path: Path,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    import sys

    monkeypatch.setitem(sys.modules, "mlflow", None)  # `import mlflow` now raises ImportError, as when absent
    with pytest.raises(InputError, match=r'pip install "gatekit\[mlflow\]"'):
        gatekit.run(SEED1, metrics="mlflow:runs/abc")
    res = gatekit_cli("run", SEED1, "--metrics", "mlflow:runs/abc", "--no-history", cwd=tmp_path,
                      pre="sys.modules['mlflow'] = None")
    assert res.returncode == 2, res.stderr
    assert 'pip install "gatekit[mlflow]"' in res.stderr
    assert "Traceback" not in res.stderr


def test_the_cli_reads_a_run_and_exits_with_its_decision(store: str, tmp_path: Path) -> None:
    passing = new_run(store, PASSING)
    blocking = new_run(store, {**PASSING, "auc_roc": 0.85})
    for run_id, code in ((passing, 0), (blocking, 1), ("0123abcd", 2)):
        res = gatekit_cli("run", SEED1, "--metrics", f"mlflow:runs/{run_id}", "--out", tmp_path / run_id,
                          "--no-history", "-q", cwd=tmp_path)
        assert res.returncode == code, res.stderr
    assert "has no run 0123abcd" in res.stderr and "Traceback" not in res.stderr
    report = json.loads((tmp_path / blocking / "gate_report.json").read_text(encoding="utf-8"))
    assert report["decision"] == "block"
    assert report["metadata"]["inputs"]["mlflow"]["metrics"]["metrics"]["auc_roc"]["value"] == 0.85
    # --mlflow-tracking-uri over MLFLOW_TRACKING_URI
    res = gatekit_cli("run", SEED1, "--metrics", f"mlflow:runs/{passing}", "--mlflow-tracking-uri", store,
                      "--no-history", "-q", cwd=tmp_path, env={"MLFLOW_TRACKING_URI": (tmp_path / "none").as_uri()})
    assert res.returncode == 0, res.stderr
