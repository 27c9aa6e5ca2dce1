"""A real MLflow tracking store for the tests: MLflow's file store in a temporary folder.

mlflow-skinny 3.18 has two local stores: the database one (``sqlite:///...``) needs alembic, which mlflow-skinny
leaves out, and the file one (``file:///...``), which MLflow 3 keeps in maintenance mode and opens only with
``MLFLOW_ALLOW_FILE_STORE=true``. The tests use the file store with that setting: the same client, the same
REST-free store code MLflow's own tests exercise, and no extra dependency.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("mlflow")


def file_store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """Create an empty file store in ``tmp_path`` and make it MLflow's tracking store (``MLFLOW_TRACKING_URI``)."""
    root = tmp_path / "mlruns"
    root.mkdir()
    uri = root.as_uri()
    monkeypatch.setenv("MLFLOW_ALLOW_FILE_STORE", "true")
    monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)
    return uri


def new_run(uri: str, metrics: dict[str, Any] | None = None, experiment: str = "gate") -> str:
    """Create a run with MLflow's own client and log ``metrics`` (name -> value, or a list of (value, step, ms))."""
    from mlflow import MlflowClient

    client = MlflowClient(uri)
    found = client.get_experiment_by_name(experiment)
    exp = found.experiment_id if found is not None else client.create_experiment(experiment)
    run_id = client.create_run(exp).info.run_id
    for name, value in (metrics or {}).items():
        for v, step, ts in value if isinstance(value, list) else [(value, 0, None)]:
            client.log_metric(run_id, name, v, timestamp=ts, step=step)
    return str(run_id)


def gatekit_cli(*args: object, cwd: Path, env: dict[str, str] | None = None,
                pre: str = "") -> subprocess.CompletedProcess[str]:
    """Run ``gatekit`` in a subprocess with this process's environment (and ``env`` over it).

    ``pre`` is Python run before the CLI in the same process (e.g. making ``mlflow`` unimportable).
    """
    code = f"import sys\n{pre}\nfrom gatekit.cli import entry\nsys.argv = ['gatekit', *sys.argv[1:]]\nentry()\n"
    full_env = {**os.environ, "PYTHONIOENCODING": "utf-8", **(env or {})}
    full_env.pop("GATEKIT_DEBUG", None)
    return subprocess.run([sys.executable, "-c", code, *map(str, args)], cwd=cwd, capture_output=True, text=True,
                          encoding="utf-8", env=full_env, timeout=300, check=False)
