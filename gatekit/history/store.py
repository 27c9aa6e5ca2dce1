"""Gate history: every run's decision and checks in a database, through SQLAlchemy.

Any SQLAlchemy URL works; gatekit is tested on SQLite (the default, a file) and PostgreSQL. One run is one
transaction (the run row, its checks and its alerts commit together or not at all), so a run that crashes
while recording leaves no half record, and concurrent runs each add their own rows: run ids are unique
(timestamp, policy hash and a random part), SQLite writers wait for each other (``busy_timeout``, WAL
journal), PostgreSQL's transactions isolate them.

Tables (schema version 2): ``gatekit_runs`` (one row per run), ``gatekit_checks`` (one row per check),
``gatekit_alerts`` (alerts a run raised and whether the webhook took them), ``gatekit_schema``.
"""

from __future__ import annotations

import json
import math
import re
import time
from collections.abc import Sequence
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from sqlalchemy import (
    create_engine,
    event,
    select,
)
from sqlalchemy import exc as sa_exc
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.orm import Session, selectinload

from gatekit.core.errors import GatekitError, Problem
from gatekit.core.formatting import rule_text
from gatekit.core.secrets import mask_each
from gatekit.history.records import (
    SCHEMA_VERSION,
    AlertRecord,
    Base,
    CheckRecord,
    RunRecord,
    SchemaRow,
    migrate,
    utc,
    view,
)
from gatekit.history.runs import RunView, check_keys, stored_form


class HistoryError(GatekitError):
    """The history store cannot be opened, read or written (the message names the store, password hidden)."""

    def __init__(self, message: str) -> None:
        super().__init__([Problem(message)])


def _finite(x: Any) -> float | None:
    try:
        f = float(x)
    except (TypeError, ValueError):
        return None
    return f if math.isfinite(f) else None


class HistoryStore:
    """The run history in a SQL database.

    Parameters
    ----------
    url : str
        SQLAlchemy URL, e.g. ``sqlite:////abs/path/history.db`` or
        ``postgresql+psycopg://user@host:5432/db`` (PostgreSQL needs ``pip install 'gatekit[postgres]'``).
    create : bool
        Create the tables (and a SQLite file's folder) when missing; default True. With False a missing
        store raises.

    Raises
    ------
    HistoryError
        The URL is malformed, its driver is not installed, the server cannot be reached, or the store was
        written by a newer gatekit (schema version above :data:`SCHEMA_VERSION`).
    """

    def __init__(self, url: str, *, create: bool = True) -> None:
        try:
            parsed = make_url(url)
        except (sa_exc.ArgumentError, ValueError):  # ValueError: a port that is not a number
            raise HistoryError(mask_password(f"history store {mask_url(url)!r} is not a database URL; give e.g. "
                                             "sqlite:///path/history.db or postgresql+psycopg://user@host/db",
                                             url)) from None
        self._url = url
        self.display = mask_password(mask_url(parsed.render_as_string(hide_password=True)), url)
        self._sqlite = parsed.get_backend_name() == "sqlite"
        kwargs: dict[str, Any] = {}
        if self._sqlite and (parsed.database in (None, "", ":memory:") or "mode=memory" in str(parsed.query)):
            raise self._error(f"history store {self.display} is in memory: it would be gone when gatekit exits; "
                               "give a file (sqlite:///path/history.db) or a database server")
        if parsed.get_backend_name() == "postgresql" and parsed.get_driver_name() in ("psycopg", "psycopg2"):
            # never hang a CI job: bounded connect, lock wait and statement time
            kwargs["connect_args"] = {"connect_timeout": 10,
                                      "options": "-c lock_timeout=15000 -c statement_timeout=60000"}
        if self._sqlite:
            db = parsed.database
            if db and db != ":memory:":
                path = Path(db)
                if not path.exists():
                    if not create:
                        raise self._error(f"history store {self.display}: no such file {path} (no run has been "
                                           "recorded there yet)")
                    try:
                        path.parent.mkdir(parents=True, exist_ok=True)
                    except OSError as exc:
                        raise self._error(f"history store {self.display}: cannot create {path.parent}: "
                                           f"{exc}") from None
            kwargs["connect_args"] = {"timeout": 60}  # writers wait for each other instead of failing
        try:
            self.engine: Engine = create_engine(parsed, **kwargs)
        except (sa_exc.NoSuchModuleError, ModuleNotFoundError, ImportError) as exc:
            hint = " (pip install 'gatekit[postgres]')" if parsed.get_backend_name() == "postgresql" else ""
            raise self._error(f"history store {self.display}: its database driver is not installed{hint}: "
                               f"{exc}") from None
        if self._sqlite:
            event.listen(self.engine, "connect", _sqlite_pragmas)
        self._ready = False
        self._create = create

    def _read_only(self) -> None:
        """Reopen a SQLite store read-only and immutable (nothing is written beside it; no journal needed)."""
        from urllib.parse import quote

        db = self.engine.url.database
        self.engine.dispose()
        self.engine = create_engine(f"sqlite:///file:{quote(str(db))}?mode=ro&immutable=1&uri=true",
                                    connect_args={"timeout": 60})

    def close(self) -> None:
        """Release the store's connections."""
        self.engine.dispose()

    def __enter__(self) -> HistoryStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _fail(self, what: str, exc: BaseException) -> HistoryError:
        text = str(getattr(exc, "orig", None) or exc).strip().splitlines()
        return self._error(f"history store {self.display}: cannot {what}: {text[0] if text else type(exc).__name__}")

    def _error(self, message: str) -> HistoryError:
        """Return a HistoryError whose message never shows the store's password (a driver may quote the URL)."""
        return HistoryError(mask_password(message, self._url))

    def ensure_schema(self) -> None:
        """Create the tables if missing (safe when several runs start at once) and check the schema version.

        Raises
        ------
        HistoryError
            As for the constructor.
        """
        if self._ready:
            return
        for attempt in range(5):
            try:
                if self._create:
                    Base.metadata.create_all(self.engine)  # checkfirst; a concurrent creator may win the race
                with Session(self.engine) as s, s.begin():
                    row = s.get(SchemaRow, "schema_version")
                    if row is None:
                        s.add(SchemaRow(key="schema_version", value=str(SCHEMA_VERSION)))
                    else:
                        try:
                            version = int(row.value)
                        except ValueError:
                            raise self._error(f"history store {self.display} records schema version {row.value!r}, "
                                               "which is not a number: it was not written by gatekit") from None
                        if version > SCHEMA_VERSION:
                            raise self._error(f"history store {self.display} has schema version {row.value}, "
                                               f"written by a newer gatekit; this one reads version "
                                               f"{SCHEMA_VERSION}: upgrade gatekit")
                        if version < SCHEMA_VERSION:
                            migrate(s, version)
                            row.value = str(SCHEMA_VERSION)
                self._ready = True
                return
            except sa_exc.SQLAlchemyError as exc:
                text = str(exc)
                if self._sqlite and not self._create and "unable to open database file" in text and attempt == 0:
                    self._read_only()  # an archived store in a read-only folder: SQLite cannot make its -shm file
                    continue
                if not self._create and ("no such table" in text or "does not exist" in text):
                    raise self._error(f"history store {self.display} holds no gatekit history (no run has been "
                                       "recorded there yet)") from None
                # several runs starting on an empty store race to create the tables; the losers see the winner's
                race = isinstance(exc, sa_exc.IntegrityError) or "already exists" in text
                if not race or attempt == 4:
                    raise self._fail("open it", exc) from None
                time.sleep(0.05 * (attempt + 1))

    def record(self, report: Any, alerts: Sequence[dict[str, Any]] = ()) -> None:
        """Record one run, its checks and its alerts in one transaction.

        Parameters
        ----------
        report : GateReport
            The run's report (its ``metadata`` gives run id, times, policy and input hashes).
        alerts : sequence of dict
            Alerts raised (``key``, ``failures``, ``within``, ``after``, ``delivered``, ``delivery``).

        Raises
        ------
        HistoryError
            The write failed; nothing of the run was stored.
        """
        self.ensure_schema()
        meta = report.metadata
        files = meta.get("inputs", {}).get("files", {})
        pol = meta.get("policy", {})
        run = RunRecord(
            run_id=meta["run_id"], started_at=utc(datetime.fromisoformat(meta["started_at"])),
            recorded_at=datetime.now(timezone.utc), policy_name=str(pol.get("name")),
            policy_version=str(pol.get("version")), policy_sha256=str(pol.get("sha256")),
            policy_path=pol.get("path"), decision=report.decision.value, reason=report.reason,
            enforcement=meta.get("enforcement"), exit_code=meta.get("exit_code"),
            model_sha256=(files.get("model") or {}).get("sha256"), data_sha256=(files.get("data") or {}).get("sha256"),
            files_json=json.dumps({role: f.get("sha256") for role, f in files.items()}, sort_keys=True),
            reproducibility_sha256=meta.get("reproducibility", {}).get("sha256"),
            gatekit_version=meta.get("gatekit_version"), legitimate=None,
            model_name=str((meta.get("holdout") or {}).get("model") or pol.get("name")),
            policy_json=_json(pol.get("resolved")) if pol.get("resolved") is not None else None)
        for i, (c, key) in enumerate(zip(report.checks, check_keys(report.checks), strict=True)):
            obs = observation(c)
            run.checks.append(CheckRecord(
                position=i, key=key, section=c.section, name=c.name, metric=c.metric, status=c.status.value,
                on_fail=c.on_fail.value, observed=_finite(c.observed), op=c.op, threshold=_finite(c.threshold),
                margin=_finite(c.margin), rule=rule_text(c), message=c.message,
                observation_json=_json(obs) if obs is not None else None))
        for a in alerts:
            run.alerts.append(AlertRecord(key=a["key"], failures=a["failures"], window=a["within"], after=a["after"],
                                          delivered=a.get("delivered"), delivery=a.get("delivery"),
                                          ongoing=bool(a.get("ongoing"))))
        try:
            with Session(self.engine) as s, s.begin():  # commits on success, rolls back on any exception
                s.add(run)
        except sa_exc.IntegrityError as exc:
            raise self._fail(f"record run {meta['run_id']} (already recorded?)", exc) from None
        except sa_exc.SQLAlchemyError as exc:
            raise self._fail(f"record run {meta['run_id']}", exc) from None

    def runs(self, policy: str | None = None, last: int | None = None, *,
             exclude_illegitimate: bool = False, legitimate_only: bool = False,
             model_name: str | None = None) -> list[RunView]:
        """Read recorded runs, oldest first.

        Parameters
        ----------
        policy : str, optional
            Only runs of this policy name (any version).
        model_name : str, optional
            Only runs that gated this model (:attr:`RunView.model_name`).
        last : int, optional
            Only the ``last`` most recent runs (after the other filters).
        exclude_illegitimate : bool
            Leave out runs marked not legitimate (:meth:`mark`).
        legitimate_only : bool
            Keep only runs marked legitimate.

        Raises
        ------
        HistoryError
            The store cannot be read.
        """
        self.ensure_schema()
        q = select(RunRecord).options(selectinload(RunRecord.checks), selectinload(RunRecord.alerts))
        if policy is not None:
            q = q.where(RunRecord.policy_name == policy)
        if model_name is not None:
            q = q.where(RunRecord.model_name == model_name)
        if legitimate_only:
            q = q.where(RunRecord.legitimate.is_(True))
        elif exclude_illegitimate:
            q = q.where((RunRecord.legitimate.is_(None)) | (RunRecord.legitimate.is_(True)))
        # started_at has whole seconds (as the report); the recording time (microseconds) orders runs within one
        q = q.order_by(RunRecord.started_at.desc(), RunRecord.recorded_at.desc(), RunRecord.run_id.desc())
        if last is not None:
            q = q.limit(last)
        try:
            with Session(self.engine) as s:
                rows = s.scalars(q).all()
                out = [view(r) for r in rows]
        except sa_exc.SQLAlchemyError as exc:
            raise self._fail("read it", exc) from None
        except (ValueError, TypeError) as exc:  # a row another program wrote ('yesterday' as a time)
            raise self._error(f"history store {self.display} holds a value gatekit cannot read: {exc}") from None
        out.reverse()
        return out

    def holdout_uses(self, model_name: str, data_sha256: str) -> list[dict[str, Any]]:
        """Return the recorded runs that gated ``model_name`` on the data file with ``data_sha256``, oldest first.

        One light query (no check is loaded), on the ``(model_name, data_sha256)`` index.

        Returns
        -------
        list of dict
            ``run_id``, ``started_at`` (UTC), ``policy_name``, ``model_sha256`` and ``files`` (role -> sha256).

        Raises
        ------
        HistoryError
            The store cannot be read.
        """
        self.ensure_schema()
        q = (select(RunRecord.run_id, RunRecord.started_at, RunRecord.policy_name, RunRecord.model_sha256,
                    RunRecord.files_json)
             .where(RunRecord.model_name == model_name, RunRecord.data_sha256 == data_sha256)
             .order_by(RunRecord.started_at, RunRecord.recorded_at, RunRecord.run_id))
        try:
            with Session(self.engine) as s:
                rows = s.execute(q).all()
            return [{"run_id": r[0], "started_at": utc(r[1]), "policy_name": r[2], "model_sha256": r[3],
                     "files": json.loads(r[4] or "{}")} for r in rows]
        except sa_exc.SQLAlchemyError as exc:
            raise self._fail("read it", exc) from None
        except (ValueError, TypeError) as exc:
            raise self._error(f"history store {self.display} holds a value gatekit cannot read: {exc}") from None

    def policy_names(self) -> list[str]:
        """Names of the policies with recorded runs, sorted (one light query; no run is loaded).

        Raises
        ------
        HistoryError
            The store cannot be read.
        """
        self.ensure_schema()
        try:
            with Session(self.engine) as s:
                return sorted(s.scalars(select(RunRecord.policy_name).distinct()).all())
        except sa_exc.SQLAlchemyError as exc:
            raise self._fail("read it", exc) from None

    def mark(self, run_ids: Sequence[str], legitimate: bool | None) -> int:
        """Mark runs as legitimate (True), not legitimate (False) or unmarked (None) for calibration.

        Returns
        -------
        int
            Runs updated.

        Raises
        ------
        HistoryError
            A run id is not in the store (nothing is changed), or the write failed.
        """
        self.ensure_schema()
        try:
            with Session(self.engine) as s, s.begin():
                rows = s.scalars(select(RunRecord).where(RunRecord.run_id.in_(list(run_ids)))).all()
                missing = sorted(set(run_ids) - {r.run_id for r in rows})
                if missing:
                    raise self._error(f"history store {self.display} has no run {', '.join(missing)}; "
                                       "`gatekit history` lists the run ids")
                for r in rows:
                    r.legitimate = legitimate
        except sa_exc.SQLAlchemyError as exc:
            raise self._fail("mark runs", exc) from None
        return len(rows)


def _json(value: Any) -> str:
    """Canonical JSON of a stored value (keys sorted; a non-finite number or an odd object becomes text)."""
    return json.dumps(stored_form(value), sort_keys=True, separators=(",", ":"), default=str, allow_nan=False)


def observation(check: Any) -> dict[str, Any] | None:
    """Return what a metric rule's check observed, as :mod:`gatekit.history.replay` re-decides it, else None.

    Parameters
    ----------
    check : CheckResult
        A check of a run; only the checks of ``metrics:`` rules (``details["rule"]`` is ``metrics[i]``) have
        an observation, and the looks of a sequential canary (``canary.rules[i]`` with ``details["sequential"]``:
        then ``rule``, ``sequential`` without the earlier looks, and ``result``).

    Returns
    -------
    dict or None
        ``rule`` (``metrics[i]``), ``params`` (the metric's parameters as the loader cleaned them),
        ``source`` (``computed``, ``metrics_file``, ...), ``statistic`` (``value``, ``change`` or
        ``relative_change_pct``: what ``observed`` is), ``candidate`` and ``baseline`` (the metric's
        values; ``baseline`` None for an absolute rule), ``decided_on`` (``point`` or ``interval``),
        ``interval`` (``low``, ``high``, ``confidence``, ``method``, and for a bootstrap ``resamples`` and
        ``seed``; for an operational figure measured in rounds ``confidence_asked``) when the check read one,
        and ``rounds`` (the rounds verdict of such a figure, else None). A candidate or baseline value that is not
        finite is None (:func:`~gatekit.history.runs.stored_form` for the rest).
    """
    details = check.details if isinstance(getattr(check, "details", None), dict) else {}
    ref = details.get("rule")
    seq = details.get("sequential")
    if isinstance(ref, str) and ref.startswith("canary.rules[") and isinstance(seq, dict):
        # a look of a sequential canary (gatekit.history.sequential reads it back; earlier looks are not repeated)
        return stored_form({"rule": ref, "sequential": {k: v for k, v in seq.items() if k != "looks"},
                            "result": (details.get("outcome") or {}).get("result")})
    if not (isinstance(ref, str) and ref.startswith("metrics[")):
        return None
    cmp = details.get("comparison")
    cmp = cmp if isinstance(cmp, dict) else {}
    statistic = cmp.get("statistic") or "value"
    candidate = cmp.get("candidate") if cmp else (check.observed if statistic == "value" else None)
    iv = details.get("interval")
    iv = iv if isinstance(iv, dict) else None
    interval = None
    if iv is not None:
        interval = {k: iv.get(k) for k in ("low", "high", "confidence", "method", "resamples", "seed",
                                          "confidence_asked", "se") if k in iv}
    return stored_form({"rule": ref, "params": details.get("params") or {}, "source": check.source,
                   "statistic": statistic, "candidate": _finite(candidate), "baseline": _finite(cmp.get("baseline")),
                   "decided_on": details.get("decided_on") or ("point" if check.observed is not None else None),
                   "interval": interval, "guardband": details.get("guardband"),
                   "rounds": details.get("verdict") if details.get("decision") else None})


def mask_password(text: str, history_url: str) -> str:
    """Replace the store URL's password in ``text`` with ``***`` (a driver's message may quote it).

    Every message a :class:`HistoryStore` raises goes through it.

    Both readings of the password are masked: SQLAlchemy's (up to the first ``@``) and the one up to the
    last ``@`` (an unescaped ``@`` or ``/`` in a password, or a URL SQLAlchemy cannot parse, leaves part
    of it in the host or database the store shows), each also in its URL-quoted forms and split at URL
    punctuation. The values of the query parameters that hold secrets (:func:`mask_url`) are masked too.
    Pieces under 4 characters are masked only where they sit as ``:piece@`` or ``=piece``, so that
    masking never garbles the rest of the message.
    """
    from sqlalchemy.engine import make_url

    userinfo = history_url.partition("://")[2].rpartition("@")[0]
    readings = {userinfo.partition(":")[2]} if ":" in userinfo else set()
    params = [value for name, value in _query_params(history_url) if _SECRET_PARAM.search(name)]
    try:
        parsed = make_url(history_url)
        readings.add(str(parsed.password or ""))
        for name, value in parsed.query.items():  # ?sslpassword=..., ?token=...: as SQLAlchemy reads them
            if _SECRET_PARAM.search(name):
                params.extend([value] if isinstance(value, str) else value)
    except Exception:  # noqa: BLE001 - unparsable: the readings by hand
        pass
    pieces = [piece for pw in filter(None, readings) for piece in {pw, *re.split(r"[@/:?#&=%]", pw)}]
    return mask_each(text, [*pieces, *params])  # a query value ends at '&': it is masked whole


_SECRET_PARAM = re.compile(r"password|passwd|pwd|secret|token|key", re.IGNORECASE)
"""A query parameter whose name matches holds a secret (``password``, ``sslpassword``, ``api_key``, ...)."""

_QUERY_PARAM = re.compile(r"([?&;])([^=&;#]*)=([^&;#]*)")


def _query_params(url: str) -> list[tuple[str, str]]:
    """Return a URL's query parameters as ``(name, value)``, read by hand and both also URL-unquoted."""
    from urllib.parse import unquote_plus

    query = url.partition("?")[2]
    out = []
    for m in _QUERY_PARAM.finditer("?" + query if query else ""):
        out.append((m[2], m[3]))
        out.append((unquote_plus(m[2]), unquote_plus(m[3])))
    return out


def mask_url(url: str) -> str:
    """Hide the secrets in a database URL, even one SQLAlchemy cannot parse.

    The password in the user information becomes ``user:***@``, and the value of every query parameter
    whose name contains ``password``, ``passwd``, ``pwd``, ``secret``, ``token`` or ``key`` (in any case,
    also URL-quoted: ``sslpassword``, ``ssl%70assword``, ``api_key``) becomes ``***``.
    """
    from urllib.parse import unquote_plus

    masked = re.sub(r"(://[^/?#]*?:)[^/?#]*@", r"\1***@", url)  # greedy to the last '@': an unescaped '@' too
    head, sep, query = masked.partition("?")

    def hide(m: re.Match[str]) -> str:
        secret = _SECRET_PARAM.search(m[2]) or _SECRET_PARAM.search(unquote_plus(m[2]))
        return f"{m[1]}{m[2]}=***" if secret else m[0]

    return head + (_QUERY_PARAM.sub(hide, sep + query) if sep else "")


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA busy_timeout=1000")  # switching the journal needs the lock: do not wait long for it
    try:
        cur.execute("PRAGMA journal_mode=WAL")  # readers do not block the writer
    except Exception:  # noqa: BLE001 - read-only, a network file system or a writer holding the lock: keep the
        pass  # journal it has; the write itself then waits its full busy timeout, once
    cur.execute("PRAGMA busy_timeout=60000")
    cur.close()


