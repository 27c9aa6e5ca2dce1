"""Project configuration: ``gatekit.toml`` (history store, alert webhook), with environment overrides.

The file is looked for in the current folder and then each parent folder; the first one found is used.
Every key is optional::

    [history]
    url = "sqlite:///.gatekit/history.db"   # any SQLAlchemy URL; a plain path is a SQLite file
    # url = "postgresql+psycopg://gatekit@db.internal/gatekit"
    # url = "off"                           # record nothing

    [alerts]
    webhook_url = "https://hooks.example.com/T000/B000/XXXX"
    timeout_s = 5

Precedence, highest first: the command-line option (``--history``), the environment
(``GATEKIT_HISTORY_URL``, ``GATEKIT_ALERT_WEBHOOK_URL``), ``gatekit.toml``, the default (a SQLite file
``.gatekit/history.db`` in the current folder). A relative SQLite path in ``gatekit.toml`` is relative to
that file's folder; elsewhere, to the current folder.
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass, field
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from gatekit.core.errors import input_error

CONFIG_FILE = "gatekit.toml"
DEFAULT_HISTORY = Path(".gatekit") / "history.db"
OFF = ("off", "none")


class _HistoryConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)
    url: str


class _AlertsConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)
    webhook_url: str | None = None
    timeout_s: float = Field(default=5.0, gt=0, le=120)


class _FileConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)
    history: _HistoryConfig | None = None
    alerts: _AlertsConfig = Field(default_factory=_AlertsConfig)


@dataclass(frozen=True)
class Config:
    """The settings a run uses.

    Parameters
    ----------
    history_url : str or None
        SQLAlchemy URL of the history store; None when history is off.
    webhook_url : str or None
        Where repeated-failure alerts are posted (JSON, HTTP POST); None for none.
    webhook_timeout_s : float
        Seconds to wait for the webhook, in seconds.
    source : pathlib.Path or None
        The ``gatekit.toml`` read, if any.

    Notes
    -----
    ``history_url`` (it may hold a database password) and ``webhook_url`` (its path is a Slack-style hook's
    secret) are left out of the ``repr``, so a traceback or a log line that shows the configuration shows
    neither.
    """

    history_url: str | None = field(repr=False)
    webhook_url: str | None = field(default=None, repr=False)
    webhook_timeout_s: float = 5.0
    source: Path | None = None


def find_config(start: Path | None = None) -> Path | None:
    """Return the first ``gatekit.toml`` in ``start`` (default: the current folder) or its parents.

    Raises
    ------
    InputError
        The file found is not trusted (:func:`check_trusted`).
    """
    folder = (start or Path.cwd()).resolve()
    for candidate in (folder, *folder.parents):
        path = candidate / CONFIG_FILE
        if path.is_file():
            check_trusted(path)
            return path
    return None


def check_trusted(path: Path) -> None:
    """Refuse a ``gatekit.toml`` that someone other than the user (or root) could have written.

    The file chooses where run summaries go (the history store, the alert webhook), and it is looked for in
    every parent folder, so one planted in a shared folder (``/tmp``, a multi-user home) would receive them.
    Like git's ``safe.directory`` check, a file owned by another user, or writable by every user, is an error
    naming the file and the owner; nothing is read from it. (Group-writable is allowed: a umask of 002 makes
    every file so on many systems.) POSIX only (elsewhere nothing is checked).

    Raises
    ------
    InputError
        Owned by another user than the current one or root, or world-writable.
    """
    if not hasattr(os, "getuid"):  # pragma: no cover - Windows
        return
    st = path.stat()
    me = os.getuid()
    if st.st_uid not in (me, 0):
        raise input_error(f"not used: the file belongs to another user (uid {st.st_uid}), and it decides where run "
                          "results are sent; if it is yours, `chown` it, else remove it or run from a folder that "
                          "has your own gatekit.toml", file=str(path))
    if st.st_mode & 0o002:
        raise input_error("not used: every user can write the file (world-writable), and it decides where run "
                          f"results are sent; `chmod o-w {path.name}`", file=str(path))


def _read(path: Path) -> _FileConfig:
    if sys.version_info >= (3, 11):
        import tomllib
    else:  # pragma: no cover - Python 3.10
        import tomli as tomllib
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        raise input_error(f"cannot read the configuration: {exc}", file=str(path)) from None
    except tomllib.TOMLDecodeError as exc:  # its message names the line and column
        raise input_error(f"not valid TOML: {exc}", file=str(path)) from None
    try:
        cfg = _FileConfig.model_validate(raw)
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors())
        keys = "keys: [history] url; [alerts] webhook_url, timeout_s"
        raise input_error(f"{problems} ({keys})", file=str(path)) from None
    if cfg.history is not None and not cfg.history.url.strip():  # never "off" by an empty value: say off
        raise input_error("the history store is empty; give a URL, a file, or off", file=str(path),
                          key="history.url")
    return cfg


def history_url_from(value: str, base: Path, *, what: str = "history") -> str | None:
    """Turn a configured store into a SQLAlchemy URL: ``off`` -> None, a plain path -> a SQLite URL.

    Parameters
    ----------
    value : str
        A SQLAlchemy URL (``dialect[+driver]://...``), a file path, or ``off``.
    base : pathlib.Path
        Folder a relative path (also in a ``sqlite:///relative`` URL) is relative to.
    what : str
        What gave ``value`` (``--history``), for the error message.

    Raises
    ------
    gatekit.core.errors.InputError
        ``value`` is empty or blank: history is turned off only by saying so (``off``), never by an empty
        option or key (an unset shell variable in ``--history "$STORE"``).
    """
    from sqlalchemy.engine import URL, make_url

    if not value.strip():
        raise input_error(f"{what} needs a store: a URL, a file, or off (it is empty)")
    if value.strip().lower() in OFF:
        return None
    if "://" not in value:  # a file path, taken literally ('?' and '%' are part of the name, not URL syntax)
        return URL.create("sqlite", database=str((base / value).resolve())).render_as_string(hide_password=False)
    try:
        url = make_url(value)
    except Exception:  # noqa: BLE001 - the store reports a malformed URL, password hidden
        return value
    db = url.database
    if url.get_backend_name() == "sqlite" and db and db != ":memory:" and not db.startswith("file:") \
            and not Path(db).is_absolute():
        return url.set(database=str((base / db).resolve())).render_as_string(hide_password=False)
    return value


def load_config(history: str | None = None, *, no_history: bool = False, start: Path | None = None) -> Config:
    """Resolve the run's settings (command line, then environment, then ``gatekit.toml``, then defaults).

    Parameters
    ----------
    history : str, optional
        ``--history``: a SQLAlchemy URL, a SQLite file path, or ``off``.
    no_history : bool
        ``--no-history``: record nothing, whatever else says.
    start : pathlib.Path, optional
        Folder to search ``gatekit.toml`` from (default: the current folder).

    Raises
    ------
    gatekit.core.errors.InputError
        ``gatekit.toml`` is not valid TOML or has unknown keys or wrong types (the message names the file).
    """
    cwd = (start or Path.cwd()).resolve()
    path = find_config(cwd)
    file_cfg = _read(path) if path is not None else _FileConfig()
    if no_history:
        url = None
    elif history is not None:  # an empty --history is an error, not "off"
        url = history_url_from(history, cwd, what="--history")
    elif os.environ.get("GATEKIT_HISTORY_URL", "").strip():  # empty (a CI secret that is not set) = not given
        url = history_url_from(os.environ["GATEKIT_HISTORY_URL"], cwd, what="GATEKIT_HISTORY_URL")
    elif file_cfg.history is not None and path is not None:
        url = history_url_from(file_cfg.history.url, path.parent)
    else:
        url = history_url_from(str(DEFAULT_HISTORY), cwd)
    # an empty or blank variable (a CI secret that is not set) is not given; a trailing newline is not part of it
    webhook = (os.environ.get("GATEKIT_ALERT_WEBHOOK_URL") or "").strip() or (file_cfg.alerts.webhook_url or "").strip()
    return Config(history_url=url, webhook_url=webhook or None, webhook_timeout_s=file_cfg.alerts.timeout_s,
                  source=path)
