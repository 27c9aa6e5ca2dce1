"""Logging a gate run to an MLflow run: ``gatekit run --mlflow-run RUN_ID`` (``gatekit.run(mlflow_run=...)``).

Beside the candidate's own metrics and model, the run receives:

- tags: ``gatekit.decision`` (``pass``, ``warn`` or ``block``), ``gatekit.reason``, ``gatekit.policy.name``,
  ``gatekit.policy.version``, ``gatekit.policy.sha256``, ``gatekit.counts.<status>`` for each status (``pass``,
  ``fail``, ``error``, ``not_computable``, ``skipped``), ``gatekit.enforcement``, ``gatekit.exit_code``,
  ``gatekit.run_id`` (the report's run id) and ``gatekit.version``;
- metrics: ``gatekit.<check name>`` = the check's observed value, for every check with a finite one (step 0),
  the name made of MLflow's portable characters (:func:`metric_keys`);
- artifacts under ``gatekit/``: ``gate_report.json``, ``gate_report.html``, ``gate_report.junit.xml`` and
  ``gate_report.md`` (every format, whatever ``--format`` wrote), and the attachments written beside the report
  (``evidently_drift.html``).

``gatekit.decision`` is removed first when an earlier gate run left one, and set last: a run that carries it
carries everything above from the same gate run, and a logging that fails part-way leaves no decision rather
than an old one. The run must exist and be active; it is checked before the evaluation
(:func:`open_target`), so a wrong id costs nothing. MLflow is imported only when a run is named.
"""

from __future__ import annotations

import math
import re
import shutil
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gatekit.core.errors import input_error
from gatekit.data.mlflow_runs import check_run_id, display_uri, fetch_run, mask_secrets, open_client
from gatekit.report import FILE_NAMES, FORMATS, render

ARTIFACT_PATH = "gatekit"
"""The folder of the run's artifacts the reports are logged into."""
DECISION_TAG = "gatekit.decision"
"""The tag holding the decision; set last, after everything else was logged."""
METRIC_PREFIX = "gatekit."
MAX_KEY = 250
"""MLflow's longest metric key (``mlflow.utils.validation.MAX_ENTITY_KEY_LENGTH``)."""
MAX_TAG_VALUE = 5000
"""Longest tag value logged: MLflow's own stores take 8000 characters, Databricks' 5000."""

_NOT_PORTABLE = re.compile(r"[^A-Za-z0-9_.\-]")
"""Characters outside the ones every MLflow store and platform accepts in a key (MLflow also takes ``/``, space and,
except on Windows, ``:``; a ``/`` makes a key a path that must not resolve to another)."""


class MlflowLogError(Exception):
    """The gate ran and its reports were written, but logging to the MLflow run failed.

    ``gatekit run`` prints the decision, then this error on stderr, and exits 2: a pipeline that relies on the
    run's ``gatekit.decision`` tag must not go on as if it had been set.

    Parameters
    ----------
    message : str
        What failed (secrets of the tracking URI masked).
    report : gatekit.report.Report
        The gate's report; ``report.metadata["mlflow"]`` records the failure too.
    """

    def __init__(self, message: str, report: Any) -> None:
        super().__init__(message)
        self.report = report


@dataclass
class MlflowTarget:
    """An MLflow run that exists and is active, and the client to log to it (:func:`open_target`).

    Parameters
    ----------
    client : mlflow.MlflowClient
        The client on the run's tracking store.
    run_id : str
        The run.
    tracking_uri : str
        The store's URI (shown only through :func:`~gatekit.data.mlflow_runs.display_uri`).
    """

    client: Any
    run_id: str
    tracking_uri: str


def open_target(run_id: str, tracking_uri: str | None = None) -> MlflowTarget:
    """Check, before the evaluation, that the run to log to exists and is active.

    Parameters
    ----------
    run_id : str
        The MLflow run (``--mlflow-run``).
    tracking_uri : str, optional
        Its tracking store (default ``MLFLOW_TRACKING_URI``, else MLflow's default).

    Returns
    -------
    MlflowTarget

    Raises
    ------
    InputError
        Not a run id; MLflow not installed (``pip install "gatekit[mlflow]"``); a store that does not exist,
        cannot be reached or refuses; no such run, or a deleted one (exit 2, before anything is evaluated).
    """
    try:
        check_run_id(run_id, "--mlflow-run")
    except ValueError as exc:
        raise input_error(str(exc), key="mlflow_run") from None
    purpose = f"logging to MLflow run {run_id}"
    client, uri = open_client(tracking_uri, purpose, key="mlflow_run")
    fetch_run(client, run_id, uri, purpose, key="mlflow_run")
    return MlflowTarget(client, run_id, uri)


def metric_key(name: str) -> str:
    """Return the MLflow metric key of a check: ``gatekit.`` and its name in MLflow's portable characters.

    Parameters
    ----------
    name : str
        The check's name (``auc_roc``, ``psi:age``, ``group gap (sex)``).

    Returns
    -------
    str
        ``gatekit.`` + the name with each character other than ASCII letters, digits, ``_``, ``.`` and ``-``
        replaced by ``_``, cut to :data:`MAX_KEY` characters (``gatekit.psi_age``).
    """
    return (METRIC_PREFIX + _NOT_PORTABLE.sub("_", name))[:MAX_KEY]


def metric_keys(checks: list[Any]) -> dict[str, tuple[str, float]]:
    """Return the metrics to log: MLflow key -> (check name, observed value), in the report's order.

    Only checks whose observed value is a finite number are logged (None, NaN and infinities are not values).
    Two checks whose keys coincide after :func:`metric_key` (``psi:age`` and ``psi_age``, or one name in two
    sections) are told apart deterministically: the first in the report's order keeps the key, the next get
    ``_2``, ``_3``, ... (the first suffix not already taken; the key cut to leave room for it).

    Parameters
    ----------
    checks : list of CheckResult
        The report's checks, in its order.

    Returns
    -------
    dict of str to (str, float)
    """
    out: dict[str, tuple[str, float]] = {}
    for check in checks:
        value = check.observed
        if value is None or isinstance(value, bool):
            continue
        try:
            number = float(value)
        except (TypeError, ValueError):
            continue
        if not math.isfinite(number):
            continue
        key = metric_key(str(check.name))
        n = 2
        while key in out:
            suffix = f"_{n}"
            key = metric_key(str(check.name))[:MAX_KEY - len(suffix)] + suffix
            n += 1
        out[key] = (str(check.name), number)
    return out


def run_tags(report: Any) -> dict[str, str]:
    """Return the tags of a gate run, :data:`DECISION_TAG` last (the order they are logged in).

    Parameters
    ----------
    report : GateReport
        The run's report (``metadata`` as :func:`gatekit.run` fills it).

    Returns
    -------
    dict of str to str
        Values as text; the reason cut to :data:`MAX_TAG_VALUE` characters.
    """
    meta = report.metadata
    pol = meta.get("policy") or {}
    tags = {"gatekit.reason": _cut(str(report.reason)), "gatekit.policy.name": pol.get("name"),
            "gatekit.policy.version": pol.get("version"), "gatekit.policy.sha256": pol.get("sha256"),
            **{f"gatekit.counts.{status}": n for status, n in report.counts().items()},
            "gatekit.enforcement": meta.get("enforcement"), "gatekit.exit_code": meta.get("exit_code"),
            "gatekit.run_id": meta.get("run_id"), "gatekit.version": meta.get("gatekit_version")}
    out = {k: str(v) for k, v in tags.items() if v is not None}
    out[DECISION_TAG] = report.decision.value
    return out


def _cut(text: str) -> str:
    return text if len(text) <= MAX_TAG_VALUE else text[:MAX_TAG_VALUE - 1] + "…"


def log_report(report: Any, target: MlflowTarget, written: dict[str, Path] | None = None) -> MlflowLogError | None:
    """Log a gate run's decision, observed values and reports to the MLflow run; never raises.

    ``report.metadata["mlflow"]`` records the run id, the tracking URI (credentials masked), the artifact folder
    and the metric keys (key -> check name) before the reports are rendered for MLflow; once the logging is
    done it also records ``logged`` (True or False) and, on failure, ``error``.

    Parameters
    ----------
    report : gatekit.report.Report
        The run's report.
    target : MlflowTarget
        From :func:`open_target`.
    written : dict, optional
        The files the run wrote (:func:`gatekit.report.write_reports`); its attachments (files that are not a
        report format) are logged beside the reports.

    Returns
    -------
    MlflowLogError or None
        The failure (with the report), or None when everything was logged.
    """
    from mlflow.entities import Metric, RunTag  # installed: open_target imported it

    client, run_id = target.client, target.run_id
    metrics = metric_keys(report.checks)
    record: dict[str, Any] = {"run_id": run_id, "tracking_uri": display_uri(target.tracking_uri),
                              "artifact_path": ARTIFACT_PATH, "decision_tag": DECISION_TAG,
                              "metrics": {k: name for k, (name, _) in metrics.items()}}
    report.metadata["mlflow"] = record
    tags = run_tags(report)
    step = "reading the run's tags"
    try:
        if DECISION_TAG in client.get_run(run_id).data.tags:
            step = f"removing the earlier {DECISION_TAG} tag"
            client.delete_tag(run_id, DECISION_TAG)
        step = "logging the reports as artifacts"
        with tempfile.TemporaryDirectory(prefix="gatekit-mlflow-") as tmp:
            folder = Path(tmp)
            for fmt in FORMATS:
                (folder / FILE_NAMES[fmt]).write_text(render(report, fmt), encoding="utf-8",
                                                      errors="backslashreplace")
            for name, path in (written or {}).items():
                if name not in FORMATS and Path(path).is_file():
                    shutil.copyfile(path, folder / Path(path).name)
            client.log_artifacts(run_id, str(folder), ARTIFACT_PATH)
        step = "logging the observed values and tags"
        now = int(time.time() * 1000)
        client.log_batch(run_id, metrics=[Metric(k, v, now, 0) for k, (_, v) in metrics.items()],
                         tags=[RunTag(k, v) for k, v in tags.items() if k != DECISION_TAG], synchronous=True)
        step = f"setting the {DECISION_TAG} tag"
        client.set_tag(run_id, DECISION_TAG, tags[DECISION_TAG], synchronous=True)
    except Exception as exc:  # noqa: BLE001 - MlflowException, OSError, a store's own errors: reported, never lost
        message = (f"could not log the gate run to MLflow run {run_id} in {record['tracking_uri']} ({step}): "
                   f"{type(exc).__name__}: {mask_secrets(str(exc), target.tracking_uri)}")
        record.update(logged=False, error=message)
        return MlflowLogError(message, report)
    record["logged"] = True
    return None
