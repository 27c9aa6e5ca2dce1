"""MLflow runs as the metrics input: ``--metrics mlflow:runs/<RUN_ID>`` reads a run's latest metric values.

The run is read from an MLflow tracking store (``--mlflow-tracking-uri``, else ``MLFLOW_TRACKING_URI``, else
MLflow's own default) through MLflow's client, imported only when a run is named (the ``gatekit[mlflow]``
extra). Each metric's latest value is taken as MLflow defines it (the largest ``step``, then the latest
``timestamp``, then the largest value: ``FileStore._get_metric_from_file`` and
``SqlAlchemyStore._update_latest_metrics_if_necessary`` in MLflow 3), checked like a metrics file's
(:func:`gatekit.data.metrics_file.observed_from_mapping`), and recorded with its step and timestamp, the run
id and the tracking URI (credentials masked) in the report's ``metadata.inputs.mlflow``.

The client helpers here (:func:`open_client`, :func:`fetch_run`, :func:`display_uri`, :func:`mask_secrets`) are
shared with :mod:`gatekit.history.mlflow_log`, which logs a gate's decision to a run.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from datetime import datetime, timezone
from typing import Any
from urllib.parse import urlsplit

from gatekit.core.errors import input_error
from gatekit.core.secrets import mask_each
from gatekit.data.metrics_file import ObservedMetric, observed_from_mapping
from gatekit.metrics.registry import MetricRegistry

PREFIX = "mlflow:"
"""A metrics input starting with this names an MLflow run (never a file)."""
FORM = "mlflow:runs/<RUN_ID>"
"""The one form of an MLflow metrics source."""
INSTALL_HINT = 'pip install "gatekit[mlflow]"'
"""What installs MLflow's client (mlflow-skinny) for gatekit."""
LATEST_RULE = ("MLflow's latest value of each metric: the largest step, then the latest timestamp, then the largest "
               "value")
"""How a value is chosen among a metric's history (MLflow's own rule, recorded in the report)."""

_RUN_ID = re.compile(r"[a-zA-Z0-9][\w\-]{0,255}")
"""A run id as MLflow validates it (``mlflow.utils.validation._RUN_ID_REGEX``)."""


def is_run_source(value: Any) -> bool:
    """Tell whether a metrics input names an MLflow run: text (or a path) starting with ``mlflow:``.

    Parameters
    ----------
    value : object
        A metrics input as given (``str``, a path, or anything else).

    Returns
    -------
    bool
        True for ``mlflow:...`` (well-formed or not: :func:`parse_run_source` says what is wrong).
    """
    if not isinstance(value, (str, os.PathLike)):
        return False
    text = os.fspath(value)
    return isinstance(text, str) and text.startswith(PREFIX)


def check_run_id(run_id: str, what: str) -> str:
    """Return ``run_id`` when it is a run id as MLflow accepts it.

    Parameters
    ----------
    run_id : str
        The id (32 hexadecimal digits for runs MLflow creates).
    what : str
        What the id was given as, for the message (``"--mlflow-run"``).

    Returns
    -------
    str

    Raises
    ------
    ValueError
        Not a letter or digit followed by up to 255 letters, digits, ``_`` or ``-`` (the value is not echoed).
    """
    if not isinstance(run_id, str) or _RUN_ID.fullmatch(run_id) is None:
        raise ValueError(f"{what} is not an MLflow run id (a letter or digit, then up to 255 letters, digits, '_' "
                         "or '-'; MLflow's run ids are 32 hexadecimal digits)")
    return run_id


def parse_run_source(value: str | os.PathLike[str]) -> str:
    """Return the run id of an MLflow metrics source ``mlflow:runs/<RUN_ID>``.

    Parameters
    ----------
    value : str or path-like
        The metrics input (a path built from ``mlflow:runs/abc`` keeps its text).

    Returns
    -------
    str
        The run id.

    Raises
    ------
    ValueError
        Any other form (``mlflow://abc``, ``mlflow:run/abc``, a bad run id); the message shows the form.
    """
    text = os.fspath(value)
    head, sep, run_id = str(text).partition("/")
    if head != "mlflow:runs" or not sep:
        raise ValueError(f"an MLflow metrics source is {FORM} (the run's id after 'mlflow:runs/'), e.g. "
                         "mlflow:runs/0a1b2c3d4e5f67890a1b2c3d4e5f6789")
    return check_run_id(run_id, f"{FORM}: the part after 'mlflow:runs/'")


def display_uri(uri: str) -> str:
    """Return a tracking URI fit to show: the password (or a token as the user) and query values masked.

    Parameters
    ----------
    uri : str
        ``http://user:pw@host:5000``, ``databricks``, ``sqlite:///mlflow.db``, ``file:///...``, a path.

    Returns
    -------
    str
        ``http://user:***@host:5000``; ``https://***@host`` for a user part without ``:`` (a token); every query
        parameter's value as ``***``; no fragment.
    """
    try:
        parts = urlsplit(uri)
    except ValueError:  # an invalid IPv6 literal, ...: nothing of it is shown
        return "<an unparsable URI>"
    shown = uri.partition("#")[0]
    if "@" in parts.netloc:
        userinfo, _, host = parts.netloc.rpartition("@")  # to the last '@': an unescaped '@' in a password too
        user, colon, _ = userinfo.partition(":")
        shown = shown.replace(parts.netloc, f"{user}:***@{host}" if colon else f"***@{host}", 1)
    if parts.query:
        query = "&".join(f"{p.partition('=')[0]}=***" for p in re.split(r"[&;]", parts.query) if p)
        shown = shown.partition("?")[0] + "?" + query
    return shown  # otherwise as given: rebuilding it would fold sqlite:////abs/path's slashes


def mask_secrets(text: str, uri: str | None) -> str:
    """Replace the secrets of ``uri`` (its password or token, its query values) wherever ``text`` quotes them.

    MLflow's errors quote the URI they failed on (``API request to http://user:pw@host/... failed``).

    Parameters
    ----------
    text : str
        A message.
    uri : str or None
        The tracking URI the message may quote.

    Returns
    -------
    str
        ``text`` with each secret, also URL-quoted or unquoted, as ``***``; a secret under 4 characters only
        where it sits as ``:secret@`` or ``=secret`` (so that masking never garbles the rest).
    """
    if not uri:
        return text
    try:
        parts = urlsplit(uri)
    except ValueError:
        return text.replace(uri, "<the tracking URI>")
    userinfo = parts.netloc.rpartition("@")[0]
    found = [userinfo.partition(":")[2] if ":" in userinfo else userinfo]
    found += [p.partition("=")[2] for p in re.split(r"[&;]", parts.query) if p]
    return mask_each(text, found, short_user=True)


def import_mlflow(purpose: str) -> Any:
    """Import MLflow's client, or say how to install it.

    Parameters
    ----------
    purpose : str
        What needs it, for the message (``"reading MLflow run abc"``).

    Returns
    -------
    module
        ``mlflow``.

    Raises
    ------
    InputError
        MLflow is not installed (or cannot be imported): the message says ``pip install "gatekit[mlflow]"``.
    """
    try:
        import mlflow
    except ImportError as exc:
        raise input_error(f"{purpose} needs MLflow's client, which is not installed ({exc}): "
                          f"{INSTALL_HINT}") from None
    return mlflow


def _local_store(uri: str) -> tuple[str, str] | None:
    """Return ``(kind, path)`` of a tracking store kept in a local file or folder; None for a remote one."""
    parts = urlsplit(uri)
    if parts.scheme == "file":
        from urllib.request import url2pathname

        return "folder", url2pathname(parts.path)
    if parts.scheme == "" or (len(parts.scheme) == 1 and os.name == "nt"):  # a plain path (C:\... on Windows)
        return "folder", uri
    if parts.scheme == "sqlite" and uri.startswith("sqlite:///"):
        path = uri[len("sqlite:///"):].partition("?")[0]
        return ("database", path) if path and path != ":memory:" else None
    return None


def resolve_tracking_uri(tracking_uri: str | None, purpose: str) -> str:
    """Return the tracking URI to use: ``tracking_uri``, else MLflow's (``MLFLOW_TRACKING_URI``, else its default).

    Parameters
    ----------
    tracking_uri : str, optional
        Given explicitly (``--mlflow-tracking-uri``).
    purpose : str
        For the message when MLflow is missing.

    Returns
    -------
    str

    Raises
    ------
    InputError
        MLflow is not installed; ``tracking_uri`` is empty.
    """
    mlflow = import_mlflow(purpose)
    if tracking_uri is not None:
        if not tracking_uri.strip():
            raise input_error("the MLflow tracking URI is empty; give a URI (http://host:5000, databricks, "
                              "sqlite:///path/mlflow.db, file:///path/mlruns) or leave it out",
                              key="mlflow_tracking_uri")
        return tracking_uri
    return str(mlflow.get_tracking_uri())  # mlflow.set_tracking_uri(), else MLFLOW_TRACKING_URI, else the default


def open_client(tracking_uri: str | None, purpose: str, file: str | None = None,
                key: str | None = "mlflow_tracking_uri") -> tuple[Any, str]:
    """Open an MLflow client on a tracking store that exists.

    A local store (a ``file:`` folder, a plain path, a ``sqlite:///`` file) must exist: MLflow would create an
    empty one, and the run asked for would then be reported missing from a store nobody meant.

    Parameters
    ----------
    tracking_uri : str, optional
        The store (default: :func:`resolve_tracking_uri`).
    purpose : str
        What the client is for, at the start of every message.
    file, key : str, optional
        Where the errors say the problem is (the metrics source; the option).

    Returns
    -------
    (mlflow.MlflowClient, str)
        The client and the tracking URI it uses.

    Raises
    ------
    InputError
        MLflow is not installed; the local store does not exist; the store needs a package that is missing
        (``alembic`` for a database store); MLflow refuses the store (the file store without
        ``MLFLOW_ALLOW_FILE_STORE=true``). Secrets of the URI are masked in every message.
    """
    uri = resolve_tracking_uri(tracking_uri, purpose)
    shown = display_uri(uri)
    local = _local_store(uri)
    if local is not None and not (os.path.isdir(local[1]) if local[0] == "folder" else os.path.isfile(local[1])):
        default = " (MLflow's default)" if tracking_uri is None and not os.environ.get("MLFLOW_TRACKING_URI") else ""
        raise input_error(f"{purpose}: the MLflow tracking store {shown}{default} does not exist (no {local[0]} "
                          f"{local[1]}); set MLFLOW_TRACKING_URI or --mlflow-tracking-uri to the store the run is in",
                          file, key)
    from mlflow import MlflowClient

    try:
        return MlflowClient(tracking_uri=uri), uri
    except ImportError as exc:  # the database store imports alembic, which mlflow-skinny leaves out
        raise input_error(f"{purpose}: the MLflow tracking store {shown} needs the Python package "
                          f"{exc.name or exc!s}, which is not installed (mlflow-skinny leaves out the database "
                          f"store's packages): pip install {exc.name or 'mlflow'}, or use a tracking server "
                          "(http://...)", file, key) from None
    except Exception as exc:  # noqa: BLE001 - MlflowException and whatever a store's constructor raises
        raise input_error(f"{purpose}: MLflow cannot open the tracking store {shown}: "
                          f"{mask_secrets(str(exc), uri)}", file, key) from None


def fetch_run(client: Any, run_id: str, uri: str, purpose: str, file: str | None = None,
              key: str | None = None) -> Any:
    """Return an active run of the store, or say why it cannot be had.

    Parameters
    ----------
    client : mlflow.MlflowClient
        From :func:`open_client`.
    run_id : str
        The run.
    uri : str
        The client's tracking URI (shown masked).
    purpose : str
        What the run is for, at the start of every message.
    file, key : str, optional
        Where the errors say the problem is (the metrics source; the option).

    Returns
    -------
    mlflow.entities.Run

    Raises
    ------
    InputError
        No such run; the run is deleted; the store cannot be reached or refuses the request (MLflow's message,
        secrets masked).
    """
    shown = display_uri(uri)
    try:
        run = client.get_run(run_id)
    except Exception as exc:  # noqa: BLE001 - MlflowException (also for a store that cannot be reached), OSError
        code = getattr(exc, "error_code", None)
        if code == "RESOURCE_DOES_NOT_EXIST":
            raise input_error(f"{purpose}: the MLflow tracking store {shown} has no run {run_id}", file,
                              key) from None
        raise input_error(f"{purpose}: cannot read run {run_id} from the MLflow tracking store {shown}: "
                          f"{type(exc).__name__}: {mask_secrets(str(exc), uri)}", file, key) from None
    if run.info.lifecycle_stage != "active":
        raise input_error(f"{purpose}: MLflow run {run_id} in {shown} is {run.info.lifecycle_stage}; restore it "
                          "(mlflow runs restore) or name another run", file, key)
    return run


def _iso(ms: int) -> str:
    """Return an MLflow timestamp (milliseconds since the epoch) as ISO 8601 UTC text."""
    return datetime.fromtimestamp(ms / 1000, tz=timezone.utc).isoformat(timespec="milliseconds")


def read_run_metrics(source: str | os.PathLike[str], registry: MetricRegistry, files: dict[str, dict[str, Any]],
                     info: dict[str, Any], role: str = "metrics",
                     tracking_uri: str | None = None) -> dict[str, ObservedMetric]:
    """Read an MLflow run's latest metric values as the metrics input (``--metrics mlflow:runs/<RUN_ID>``).

    Parameters
    ----------
    source : str or path-like
        ``mlflow:runs/<RUN_ID>``.
    registry : MetricRegistry
        Resolves the run's metric names; names it does not know are listed as unused, as a file's are.
    files : dict
        The run's input records: ``files[role]`` becomes ``{"path": "mlflow:runs/<id>", "sha256", "bytes": None,
        "object": "mlflow_run", "tracking_uri"}``, the sha256 over the canonical JSON of the run id and every
        metric's latest key, value, step and timestamp (so the reproducibility hash changes when the run does).
    info : dict
        The run's facts: ``info["mlflow"][role]`` records the run id, the tracking URI (credentials masked), the
        experiment id, run name and status, MLflow's version, the rule choosing the latest value, and for each
        metric used its key, value, step, timestamp (ms) and time (ISO 8601 UTC).
    role : {"metrics", "baseline_metrics"}
        The candidate's metrics or production's.
    tracking_uri : str, optional
        The store (default ``MLFLOW_TRACKING_URI``, else MLflow's default).

    Returns
    -------
    dict of str to ObservedMetric
        By canonical metric name; NaN and infinite values are None (not computable, never a pass).

    Raises
    ------
    InputError
        A malformed source; MLflow not installed (``pip install "gatekit[mlflow]"``); a store that does not
        exist, cannot be reached or refuses; no such run, or a deleted one; a metric with several latest values
        (logged for different datasets or models); a value outside its metric's range.
    """
    label = str(os.fspath(source))
    try:
        run_id = parse_run_source(source)
    except ValueError as exc:
        raise input_error(str(exc), key=role) from None  # the text is not echoed: it is not a run's name
    purpose = f"reading the {role.replace('_', ' ')} of MLflow run {run_id}"
    client, uri = open_client(tracking_uri, purpose, label, None)
    run = fetch_run(client, run_id, uri, purpose, label)
    latest: dict[str, Any] = {}
    several: list[str] = []
    for m in run.data.to_proto().metrics:  # one per key and dataset/model: MLflow's latest of each
        if m.key in latest:
            several.append(m.key)
        latest[m.key] = m
    if several:
        raise input_error(f"metric(s) {sorted(set(several))} of MLflow run {run_id} have several latest values "
                          "(logged for different datasets or models); log the evaluation's figure under its own "
                          "name", label, key=sorted(set(several))[0])
    observed = observed_from_mapping({k: float(m.value) for k, m in latest.items()}, registry, label, info, role)
    content = json.dumps({"run_id": run_id,
                          "metrics": [[k, repr(float(m.value)), int(m.step), int(m.timestamp)]
                                      for k, m in sorted(latest.items())]}, separators=(",", ":"))
    shown = display_uri(uri)
    files[role] = {"path": label, "sha256": hashlib.sha256(content.encode()).hexdigest(), "bytes": None,
                   "object": "mlflow_run", "tracking_uri": shown}
    version = getattr(import_mlflow(purpose), "__version__", None)
    used = {o.name: latest[o.name] for o in observed.values()}
    info.setdefault("mlflow", {})[role] = {
        "run_id": run_id, "tracking_uri": shown, "experiment_id": run.info.experiment_id,
        "run_name": run.info.run_name, "status": run.info.status, "mlflow_version": version, "latest": LATEST_RULE,
        "metrics": {k: {"value": float(m.value), "step": int(m.step), "timestamp_ms": int(m.timestamp),
                        "time": _iso(int(m.timestamp))} for k, m in sorted(used.items())}}
    return observed
