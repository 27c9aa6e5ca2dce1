"""Adversarial tests of Issue 7: history store, configuration, calibration, alerts and the webhook.

Tests marked ``xfail(strict=True)`` show a bug (the reason says what is wrong); the others pin behaviour that
held under attack. Every store here is a SQLite file in ``tmp_path`` (or a local fake server); the PostgreSQL
tests run only when ``GATEKIT_TEST_POSTGRES_URL`` is set (``eval "$(scripts/start_test_postgres.sh)"``).
"""

from __future__ import annotations

import http.server
import json
import os
import socket
import sqlite3
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Iterator
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, ClassVar

import pytest
from typer.testing import CliRunner

from gatekit.cli import app
from gatekit.core.results import CheckResult, Decision, GateReport, OnFail, Status
from gatekit.history.alerts import post_webhook, record_and_alert, webhook_payload
from gatekit.history.config import history_url_from, load_config
from gatekit.history.records import CheckRecord, RunRecord
from gatekit.history.runs import RunView
from gatekit.history.store import HistoryError, HistoryStore
from gatekit.history.summary import summarize, trend
from gatekit.history.thresholds import propose_limit
from gatekit.history.views import render_markdown
from gatekit.policy import load_policy

PG_URL = os.environ.get("GATEKIT_TEST_POSTGRES_URL")
SECRET = "s3cretPW"


# --------------------------------------------------------------------------------------------------------------
# helpers
# --------------------------------------------------------------------------------------------------------------

def _cli(*args: Any, env: dict[str, str] | None = None) -> Any:
    return CliRunner().invoke(app, [str(a) for a in args], env=env)


def _url(db: Path) -> str:
    return f"sqlite:///{db}"


def _report(run_id: str, started: str, values: list[float | None], *, policy: str = "p", name: str = "auc_roc",
            decision: Decision = Decision.BLOCK, version: Any = 1) -> GateReport:
    """A report whose checks are ``performance/<name>/>=`` against 0.8 (metrics[i]), like `gatekit run` makes."""
    checks = [CheckResult(name=name, section="performance", metric=name,
                          status=Status.NOT_COMPUTABLE if v is None else (Status.PASS if v >= 0.8 else Status.FAIL),
                          on_fail=OnFail.BLOCK, observed=v, op=">=", threshold=0.8, message=f"{name} = {v}",
                          details={"rule": f"metrics[{i}]"})
              for i, v in enumerate(values)]
    meta = {"run_id": run_id, "started_at": started, "gatekit_version": "test",
            "policy": {"name": policy, "version": version, "sha256": "a" * 64, "path": "/x/p.yaml"},
            "inputs": {"files": {}}, "reproducibility": {"sha256": "r" * 64}, "enforcement": "enforced",
            "exit_code": 1}
    return GateReport(decision=decision, reason="because", checks=checks, metadata=meta)


def _store_with_runs(db: Path, policy: str, values: list[float], name: str = "auc_roc") -> None:
    """Record one run per value of a one-rule policy (``<name> >= ...``) in a SQLite store."""
    with HistoryStore(_url(db)) as st:
        for i, v in enumerate(values):
            st.record(_report(f"{policy}-{i:03d}", f"2026-01-01T00:{i // 60:02d}:{i % 60:02d}+00:00", [v],
                              policy=policy, name=name))


def _policy(tmp_path: Path, text: str, name: str = "policy.yaml") -> Path:
    p = tmp_path / name
    p.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
    return p


ALERT_POLICY = """\
version: 1
name: alerting
alert: {after: 1, within: 1}
metrics:
  - {name: auc_roc, op: ">=", value: 0.8, on_fail: block}
"""


@pytest.fixture
def failing_run(tmp_path: Path) -> dict[str, Path]:
    """A policy whose auc_roc rule fails (exit 1) and alerts on every failure, with its metrics file."""
    (tmp_path / "m.json").write_text(json.dumps({"auc_roc": 0.7}), encoding="utf-8")
    return {"policy": _policy(tmp_path, ALERT_POLICY), "metrics": tmp_path / "m.json", "dir": tmp_path}


class _Hook(http.server.BaseHTTPRequestHandler):
    """Fake webhook: ``/ok`` answers 200, ``/redirect`` answers 302 to ``/landed``, ``/500`` fails."""

    posts: ClassVar[list[tuple[str, str, bytes]]] = []

    def _answer(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        type(self).posts.append((self.command, self.path, body))
        if self.path == "/redirect":
            self.send_response(302)
            self.send_header("Location", "/landed")
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        code = 500 if self.path == "/500" else 200
        self.send_response(code)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"ok")

    do_POST = do_GET = _answer

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def hook() -> Iterator[str]:
    _Hook.posts = []
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Hook)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{srv.server_address[1]}"
    srv.shutdown()
    srv.server_close()


class _SilentServer:
    """Accepts TCP connections and then either says nothing or trickles ``payload`` one byte at a time."""

    def __init__(self, payload: bytes = b"", every_s: float = 0.3) -> None:
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(8)
        self.port = self.sock.getsockname()[1]
        self.stop = threading.Event()
        self.conns: list[socket.socket] = []
        self.payload, self.every_s = payload, every_s
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        while not self.stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.conns.append(conn)
            threading.Thread(target=self._talk, args=(conn,), daemon=True).start()

    def _talk(self, conn: socket.socket) -> None:
        try:
            for b in self.payload:
                if self.stop.wait(self.every_s):
                    return
                conn.sendall(bytes([b]))
        except OSError:
            pass

    def close(self) -> None:
        self.stop.set()
        for c in self.conns:
            try:
                c.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            c.close()
        self.sock.close()


def _finishes_within(fn: Any, seconds: float) -> tuple[bool, float]:
    """Run ``fn`` in a daemon thread; return (finished in time, elapsed)."""
    t0 = time.monotonic()
    th = threading.Thread(target=lambda: _swallow(fn), daemon=True)
    th.start()
    th.join(seconds)
    return not th.is_alive(), time.monotonic() - t0


def _swallow(fn: Any) -> None:
    try:
        fn()
    except Exception:  # noqa: BLE001 - only the time matters here
        pass


# --------------------------------------------------------------------------------------------------------------
# secrets in URLs
# --------------------------------------------------------------------------------------------------------------

def test_a_malformed_url_never_shows_its_password() -> None:
    with pytest.raises(HistoryError) as exc:
        HistoryStore(f"postgresql+psycopg://gatekit:{SECRET}@127.0.0.1:notaport/db")
    assert SECRET not in str(exc.value)


def test_a_password_in_the_query_string_is_hidden() -> None:
    st = HistoryStore(f"postgresql+psycopg://gatekit@127.0.0.1:1/db?password={SECRET}")
    assert SECRET not in st.display


def test_a_password_in_the_userinfo_is_hidden_in_the_report_and_history_error(tmp_path: Path) -> None:
    report = _report("r1", "2026-01-01T00:00:00+00:00", [0.7])
    lp = load_policy(_policy(tmp_path, ALERT_POLICY))
    record_and_alert(report, lp, f"postgresql+psycopg://gatekit:{SECRET}@127.0.0.1:1/db", None, 1.0)
    assert report.metadata["history"]["recorded"] is False
    assert SECRET not in json.dumps(report.metadata)
    assert "***" in report.metadata["history"]["error"]


# --------------------------------------------------------------------------------------------------------------
# configuration
# --------------------------------------------------------------------------------------------------------------

@pytest.mark.parametrize(("text", "match"), [
    ("[history\n", "not valid TOML"),
    ("[history]\nurl = 5\n", "history.url"),
    ("[history]\nurl = 'x'\nextra = 1\n", "history.extra"),
    ("[bogus]\na = 1\n", "bogus"),
    ("[alerts]\ntimeout_s = 0\n", "alerts.timeout_s"),
    ("[alerts]\ntimeout_s = nan\n", "alerts.timeout_s"),
    ("[alerts]\ntimeout_s = '5'\n", "alerts.timeout_s"),
    ("history = 'x'\n", "history"),
    ("[history]\n", "history.url"),
])
def test_a_bad_gatekit_toml_is_exit_2_naming_file_and_key(failing_run: dict[str, Path], text: str,
                                                          match: str) -> None:
    (failing_run["dir"] / "gatekit.toml").write_text(text, encoding="utf-8")
    res = subprocess.run([sys.executable, "-m", "gatekit", "run", str(failing_run["policy"]), "--metrics",
                          str(failing_run["metrics"]), "--out", "r", "-q"], cwd=failing_run["dir"],
                         capture_output=True, text=True, timeout=120,
                         env={k: v for k, v in os.environ.items() if k != "GATEKIT_HISTORY_URL"})
    assert res.returncode == 2, res.stderr
    assert "gatekit.toml" in res.stderr and match in res.stderr and "Traceback" not in res.stderr


def test_an_empty_history_env_var_falls_back_to_gatekit_toml(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "gatekit.toml").write_text('[history]\nurl = "team.db"\n', encoding="utf-8")
    monkeypatch.setenv("GATEKIT_HISTORY_URL", "")
    assert load_config(start=tmp_path).history_url == _url((tmp_path / "team.db").resolve())


@pytest.mark.parametrize("name", ["my?x=1.db", "100%41.db"])
def test_a_plain_path_is_that_file(tmp_path: Path, name: str) -> None:
    url = history_url_from(name, tmp_path)
    assert url is not None
    with HistoryStore(url) as st:
        st.record(_report("r1", "2026-01-01T00:00:00+00:00", [0.9]))
    assert (tmp_path / name).is_file()


def test_a_sqlite_url_with_its_driver_is_relative_to_the_config_file(tmp_path: Path) -> None:
    url = history_url_from("sqlite+pysqlite:///rel.db", tmp_path)
    assert url is not None and str(tmp_path.resolve()) in url


@pytest.mark.parametrize("url", ["sqlite://", "sqlite:///", "sqlite:///:memory:"])
def test_an_in_memory_store_is_not_reported_as_recorded(tmp_path: Path, url: str) -> None:
    report = _report("r1", "2026-01-01T00:00:00+00:00", [0.7])
    record_and_alert(report, load_policy(_policy(tmp_path, ALERT_POLICY)), url, None, 1.0)
    assert report.metadata["history"]["recorded"] is not True


# --------------------------------------------------------------------------------------------------------------
# stores that are not what gatekit expects
# --------------------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("content", [b"hello, not a database\n", b"SQLite format 3\x00" + b"\xff" * 2000])
def test_a_file_that_is_not_a_store_never_changes_the_exit_code(failing_run: dict[str, Path], content: bytes) -> None:
    db = failing_run["dir"] / "bad.db"
    db.write_bytes(content)
    res = _cli("run", failing_run["policy"], "--metrics", failing_run["metrics"], "--history", db,
               "--out", failing_run["dir"] / "r", "-q")
    assert res.exit_code == 1, res.output
    doc = json.loads((failing_run["dir"] / "r" / "gate_report.json").read_text(encoding="utf-8"))
    assert doc["metadata"]["history"]["recorded"] is False
    assert _cli("history", "--history", db).exit_code == 2
    assert _cli("history", "mark", "x", "--history", db).exit_code == 2


def test_a_store_that_is_a_directory_never_changes_the_exit_code(failing_run: dict[str, Path]) -> None:
    res = _cli("run", failing_run["policy"], "--metrics", failing_run["metrics"], "--history", failing_run["dir"],
               "--out", failing_run["dir"] / "r", "-q")
    assert res.exit_code == 1, res.output


def test_an_unreadable_schema_version_is_a_history_error(tmp_path: Path) -> None:
    db = tmp_path / "h.db"
    _store_with_runs(db, "p", [0.9])
    with sqlite3.connect(db) as c:
        c.execute("UPDATE gatekit_schema SET value = '1.0' WHERE key = 'schema_version'")
    with pytest.raises(HistoryError):
        HistoryStore(_url(db)).ensure_schema()


def test_an_unparsable_row_is_a_history_error(tmp_path: Path) -> None:
    db = tmp_path / "h.db"
    _store_with_runs(db, "p", [0.9, 0.7])
    with sqlite3.connect(db) as c:
        c.execute("UPDATE gatekit_runs SET started_at = 'yesterday' WHERE run_id = 'p-000'")
    with pytest.raises(HistoryError):
        HistoryStore(_url(db)).runs()


def test_tables_of_another_app_are_reported_not_crashed_on(failing_run: dict[str, Path]) -> None:
    db = failing_run["dir"] / "other.db"
    with sqlite3.connect(db) as c:
        c.execute("CREATE TABLE gatekit_runs (id INTEGER PRIMARY KEY, foo TEXT)")
        c.execute("INSERT INTO gatekit_runs (foo) VALUES ('x')")
    res = _cli("run", failing_run["policy"], "--metrics", failing_run["metrics"], "--history", db,
               "--out", failing_run["dir"] / "r", "-q")
    assert res.exit_code == 1, res.output
    res = _cli("history", "--history", db)
    assert res.exit_code == 2 and "gatekit_runs" in res.output


V1_DDL = """
CREATE TABLE gatekit_runs (run_id VARCHAR(120) NOT NULL, started_at DATETIME NOT NULL, recorded_at DATETIME NOT NULL,
  policy_name VARCHAR(200) NOT NULL, policy_version VARCHAR(100) NOT NULL, policy_sha256 VARCHAR(64) NOT NULL,
  policy_path TEXT, decision VARCHAR(10) NOT NULL, reason TEXT NOT NULL, enforcement VARCHAR(20), exit_code INTEGER,
  model_sha256 VARCHAR(64), data_sha256 VARCHAR(64), files_json TEXT NOT NULL, reproducibility_sha256 VARCHAR(64),
  gatekit_version VARCHAR(40), legitimate BOOLEAN, PRIMARY KEY (run_id));
CREATE TABLE gatekit_schema ("key" VARCHAR(50) NOT NULL, value VARCHAR(200) NOT NULL, PRIMARY KEY ("key"));
CREATE TABLE gatekit_checks (id INTEGER NOT NULL, run_id VARCHAR(120) NOT NULL, position INTEGER NOT NULL,
  "key" VARCHAR(500) NOT NULL, section VARCHAR(100) NOT NULL, name VARCHAR(300) NOT NULL, metric VARCHAR(100),
  status VARCHAR(20) NOT NULL, on_fail VARCHAR(10) NOT NULL, observed FLOAT, op VARCHAR(10), threshold FLOAT,
  margin FLOAT, message TEXT NOT NULL, PRIMARY KEY (id),
  FOREIGN KEY(run_id) REFERENCES gatekit_runs (run_id) ON DELETE CASCADE);
CREATE TABLE gatekit_alerts (id INTEGER NOT NULL, run_id VARCHAR(120) NOT NULL, "key" VARCHAR(500) NOT NULL,
  failures INTEGER NOT NULL, window INTEGER NOT NULL, "after" INTEGER NOT NULL, delivered BOOLEAN, delivery TEXT,
  PRIMARY KEY (id), FOREIGN KEY(run_id) REFERENCES gatekit_runs (run_id) ON DELETE CASCADE);
INSERT INTO gatekit_schema VALUES ('schema_version', '1');
INSERT INTO gatekit_runs VALUES ('old-1', '2026-01-01 00:00:00.000000', '2026-01-01 00:00:00.000000', 'p', '1',
  'x', NULL, 'block', 'r', 'enforced', 1, NULL, NULL, '{}', NULL, 'test', NULL);
INSERT INTO gatekit_checks VALUES (1, 'old-1', 0, 'performance/auc_roc/>=', 'performance', 'auc_roc', 'auc_roc',
  'fail', 'block', 0.7, '>=', 0.8, -0.1, 'auc_roc = 0.7');
"""


def test_a_store_written_by_the_first_schema_1_still_records_and_reads(tmp_path: Path) -> None:
    db = tmp_path / "h.db"
    with sqlite3.connect(db) as c:
        c.executescript(V1_DDL)
    with HistoryStore(_url(db)) as st:
        st.record(_report("new-1", "2026-01-02T00:00:00+00:00", [0.7]))
        assert [r.run_id for r in st.runs()] == ["old-1", "new-1"]


def _immutable(folder: Path, on: bool) -> bool:
    try:
        return subprocess.run(["chattr", "+i" if on else "-i", str(folder)], capture_output=True,
                              timeout=10).returncode == 0
    except (OSError, subprocess.SubprocessError):
        return False


def test_history_reads_a_store_in_a_read_only_folder(tmp_path: Path) -> None:
    folder = tmp_path / "archive"
    folder.mkdir()
    db = folder / "h.db"
    _store_with_runs(db, "p", [0.9, 0.7])
    for extra in ("h.db-wal", "h.db-shm"):
        assert not (folder / extra).exists()  # checkpointed on close
    if os.geteuid() != 0:
        folder.chmod(0o555)
    elif not _immutable(folder, True):
        pytest.skip("needs chattr +i (root on a file system with attributes) or a non-root user")
    try:
        res = _cli("history", "--history", db, "--format", "json")
    finally:
        _immutable(folder, False) if os.geteuid() == 0 else folder.chmod(0o755)
    assert res.exit_code == 0, res.output


# --------------------------------------------------------------------------------------------------------------
# the history command
# --------------------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("command", ["history", "calibrate"])
def test_a_huge_last_is_a_usage_error_or_works(tmp_path: Path, command: str) -> None:
    db = tmp_path / "h.db"
    _store_with_runs(db, "policy", [0.9, 0.7])
    policy = _policy(tmp_path, 'version: 1\nname: policy\nmetrics:\n  - {name: auc_roc, op: ">=", value: 0.99}\n')
    args = ["--policy", policy] if command == "calibrate" else []
    res = subprocess.run([sys.executable, "-m", "gatekit", command, *map(str, args), "--history", _url(db), "--last",
                          "99999999999999999999"], capture_output=True, text=True, timeout=120)
    assert res.returncode in (0, 2), res.stderr
    assert "Traceback" not in res.stderr


@pytest.mark.parametrize("last", ["0", "-1"])
def test_last_below_one_is_a_usage_error(tmp_path: Path, last: str) -> None:
    db = tmp_path / "h.db"
    _store_with_runs(db, "p", [0.9])
    assert _cli("history", "--history", db, "--last", last).exit_code == 2


def test_history_of_a_missing_policy_file_or_unknown_name_is_exit_2(tmp_path: Path) -> None:
    db = tmp_path / "h.db"
    _store_with_runs(db, "p", [0.9])
    assert _cli("history", "--history", db, "--policy", tmp_path / "missing.yaml").exit_code == 2
    assert _cli("history", "--history", db, "--policy", "nosuch").exit_code == 2
    res = _cli("history", "mark", "nope1", "nope2", "--history", db)
    assert res.exit_code == 2 and "nope1" in res.output


def test_history_markdown_escapes_html_in_names() -> None:
    view = RunView(run_id="r1", started_at=datetime(2026, 1, 1, tzinfo=timezone.utc),
                   policy_name="<img src=x onerror=alert(1)>", policy_version="1", policy_sha256="a" * 64,
                   decision="block", reason="r", enforcement="enforced", model_sha256=None, data_sha256=None,
                   legitimate=None,
                   checks=[{"key": "gates/<script>x</script>/-", "section": "gates", "name": "<script>x</script>",
                            "metric": None, "status": "fail", "on_fail": "block", "observed": None, "op": None,
                            "threshold": None, "margin": None, "rule": "auc_roc >= 0.9", "message": "m"}])
    md = render_markdown("sqlite:///h.db", {view.policy_name: [view]}, {view.policy_name: summarize([view])})
    assert "<img" not in md and "<script>" not in md


def test_history_table_escapes_control_characters(tmp_path: Path) -> None:
    db = tmp_path / "h.db"
    _store_with_runs(db, "evil\x1b[31mRED\u202e\nline", [0.9, 0.7])
    res = _cli("history", "--history", db)
    assert res.exit_code == 0, res.output
    assert "\x1b" not in res.output and "\u202e" not in res.output and "\\x1b" in res.output


def test_history_survives_a_closed_pipe(tmp_path: Path) -> None:
    db = tmp_path / "h.db"
    _store_with_runs(db, "p", [0.9, 0.7, 0.8])
    proc = subprocess.Popen([sys.executable, "-m", "gatekit", "history", "--history", _url(db)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert proc.stdout is not None and proc.stderr is not None
    proc.stdout.close()  # the reader leaves before anything is written
    err = proc.stderr.read().decode()
    assert proc.wait(timeout=120) == 0 and "Traceback" not in err


def test_history_reads_only_the_runs_it_shows(tmp_path: Path) -> None:
    from sqlalchemy import event
    from sqlalchemy.orm import Session

    db = tmp_path / "h.db"
    st = HistoryStore(_url(db))
    st.ensure_schema()
    with Session(st.engine) as s, s.begin():
        for i in range(300):
            run = RunRecord(run_id=f"g{i:04d}", started_at=datetime(2026, 1, 1, 0, i // 60, i % 60),
                            recorded_at=datetime(2026, 1, 1), policy_name=f"pol{i % 4}",
                            policy_version="1", policy_sha256="x", policy_path=None, decision="pass", reason="r",
                            enforcement="enforced", exit_code=0, model_sha256=None, data_sha256=None,
                            files_json="{}", reproducibility_sha256=None, gatekit_version="t", legitimate=None)
            for k in range(3):
                run.checks.append(CheckRecord(position=k, key=f"performance/m{k}/>=", section="performance",
                                              name=f"m{k}", metric="m", status="pass", on_fail="block", observed=0.5,
                                              op=">=", threshold=0.4, margin=0.1, message="m"))
            s.add(run)
    st.close()
    loaded = []

    def count(target: Any, context: Any) -> None:
        loaded.append(target)

    event.listen(CheckRecord, "load", count)
    try:
        res = _cli("history", "--history", db, "--last", "1", "--format", "json")
    finally:
        event.remove(CheckRecord, "load", count)
    assert res.exit_code == 0, res.output
    assert len(loaded) <= 4 * 1 * 3 * 2  # four policies, the last run of each, three checks (some slack)


# --------------------------------------------------------------------------------------------------------------
# gatekit run and the store
# --------------------------------------------------------------------------------------------------------------

def test_ten_concurrent_runs_on_one_new_sqlite_store_are_all_recorded(failing_run: dict[str, Path]) -> None:
    db = failing_run["dir"] / "conc.db"
    procs = [subprocess.Popen([sys.executable, "-m", "gatekit", "run", str(failing_run["policy"]), "--metrics",
                               str(failing_run["metrics"]), "--history", _url(db), "--out",
                               str(failing_run["dir"] / f"r{i}"), "-q"],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE) for i in range(10)]
    outs = [p.communicate(timeout=240) for p in procs]
    assert [p.returncode for p in procs] == [1] * 10, [o[1][-500:] for o in outs]
    for i in range(10):
        doc = json.loads((failing_run["dir"] / f"r{i}" / "gate_report.json").read_text(encoding="utf-8"))
        assert doc["metadata"]["history"]["recorded"] is True, doc["metadata"]["history"]
    with sqlite3.connect(db) as c:
        assert c.execute("SELECT count(*) FROM gatekit_runs").fetchone()[0] == 10
        assert c.execute("SELECT count(*) FROM gatekit_checks").fetchone()[0] == 10
        assert c.execute("PRAGMA integrity_check").fetchone()[0] == "ok"


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


def test_nan_and_infinite_metrics_are_stored_without_a_value(tmp_path: Path) -> None:
    policy = _policy(tmp_path, 'version: 1\nname: nan\nmetrics:\n  - {name: auc_roc, op: ">=", value: 0.8}\n')
    db = tmp_path / "h.db"
    for i, v in enumerate(["NaN", "Infinity", "-Infinity"]):
        (tmp_path / "m.json").write_text(f'{{"auc_roc": {v}}}', encoding="utf-8")
        res = _cli("run", policy, "--metrics", tmp_path / "m.json", "--history", db, "--out", tmp_path / f"r{i}",
                   "-q")
        assert res.exit_code == 1, res.output  # fail closed
    res = _cli("history", "--history", db, "--format", "json")
    assert res.exit_code == 0, res.output
    gate = json.loads(res.stdout)["policies"][0]["summary"]["gates"][0]
    assert gate["block"] == 3 and gate["observed"] == [None, None, None]


def test_the_trend_of_huge_values_is_not_flat() -> None:
    assert trend([1e308, 0.0, 1.7e308, 1e308], "<=")["direction"] != "flat"


# --------------------------------------------------------------------------------------------------------------
# PostgreSQL
# --------------------------------------------------------------------------------------------------------------

def test_an_unanswering_postgres_server_does_not_hang_the_run(tmp_path: Path) -> None:
    srv = _SilentServer()
    report = _report("r1", "2026-01-01T00:00:00+00:00", [0.7])
    lp = load_policy(_policy(tmp_path, ALERT_POLICY))
    try:
        done, _ = _finishes_within(lambda: record_and_alert(
            report, lp, f"postgresql+psycopg://gatekit@127.0.0.1:{srv.port}/db", None, 1.0), 15)
    finally:
        srv.close()
    assert done


@pytest.mark.skipif(not PG_URL, reason="no PostgreSQL server: eval \"$(scripts/start_test_postgres.sh)\"")
def test_a_long_policy_name_is_recorded_on_postgres() -> None:
    assert PG_URL is not None
    with HistoryStore(PG_URL) as st:
        st.record(_report(f"long-{time.time_ns()}", "2026-01-01T00:00:00+00:00", [0.7], policy="n" * 250))


# --------------------------------------------------------------------------------------------------------------
# webhook
# --------------------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("url", ["http://127.0.0.1:9/a b", "http://[::1", "http://127.0.0.1:abc/x"])
def test_post_webhook_never_raises_on_a_malformed_url(url: str) -> None:
    ok, why = post_webhook(url, {"text": "x"}, 1.0)
    assert ok is False and why


def test_a_malformed_webhook_url_never_changes_the_exit_code(failing_run: dict[str, Path]) -> None:
    res = _cli("run", failing_run["policy"], "--metrics", failing_run["metrics"], "--history",
               failing_run["dir"] / "h.db", "--out", failing_run["dir"] / "r", "-q",
               env={"GATEKIT_ALERT_WEBHOOK_URL": "http://hooks.example.com/services/T0 B0"})
    assert res.exit_code == 1, res.output
    assert (failing_run["dir"] / "r" / "gate_report.json").is_file()


def test_a_redirected_webhook_is_not_reported_delivered(hook: str) -> None:
    ok, why = post_webhook(f"{hook}/redirect", {"text": "x"}, 2.0)
    assert [(m, p) for m, p, _ in _Hook.posts][:1] == [("POST", "/redirect")]
    assert ok is False, (why, _Hook.posts)


def test_a_failing_or_hanging_webhook_is_not_delivered_within_its_timeout(hook: str) -> None:
    ok, why = post_webhook(f"{hook}/500", {"text": "x"}, 2.0)
    assert ok is False and "500" in why
    silent = _SilentServer()
    try:
        t0 = time.monotonic()
        ok, why = post_webhook(f"http://127.0.0.1:{silent.port}/hook", {"text": "x"}, 1.0)
        assert ok is False and time.monotonic() - t0 < 5
        ok, why = post_webhook(f"https://127.0.0.1:{silent.port}/hook", {"text": "x"}, 1.0)
        assert ok is False and time.monotonic() - t0 < 10
    finally:
        silent.close()
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        closed = s.getsockname()[1]
    ok, why = post_webhook(f"https://127.0.0.1:{closed}/hook", {"text": "x"}, 1.0)
    assert ok is False and why


def test_a_trickling_webhook_is_cut_at_its_timeout() -> None:
    answer = b"HTTP/1.1 200 OK\r\n" + b"".join(b"X-Pad-%d: v\r\n" % i for i in range(40)) + b"\r\n"
    srv = _SilentServer(answer, every_s=0.3)
    try:
        done, elapsed = _finishes_within(
            lambda: post_webhook(f"http://127.0.0.1:{srv.port}/hook", {"text": "x"}, 1.0), 6)
    finally:
        srv.close()
    assert done, f"still waiting after {elapsed:.1f} s with timeout_s = 1"


def test_the_webhook_text_escapes_chat_markup_and_control_characters() -> None:
    report = _report("r1", "2026-01-01T00:00:00+00:00", [0.7], policy="<!channel> pol\nFAKE: all passed\x1b[2J")
    alert = {"key": "k", "name": "<https://evil.example|click>", "section": "gates", "on_fail": "block",
             "status": "fail", "failures": 3, "after": 3, "within": 5, "runs_considered": 5, "failed_runs": ["r1"],
             "message": "m", "ongoing": False, "since": "r1"}
    text = webhook_payload(report, [alert])["text"]
    assert "<!channel>" not in text and "<https://" not in text
    assert "\x1b" not in text and "\nFAKE" not in text


def test_the_html_alert_box_escapes_names(failing_run: dict[str, Path]) -> None:
    evil = ALERT_POLICY.replace("name: alerting", 'name: "<script>alert(1)</script>"').replace(
        "metrics:", 'gates:\n  - gate: "<img src=x onerror=alert(2)>"\n    require: "auc_roc >= 0.9"\nmetrics:')
    policy = _policy(failing_run["dir"], evil, "evil.yaml")
    res = _cli("run", policy, "--metrics", failing_run["metrics"], "--history", failing_run["dir"] / "h.db",
               "--out", failing_run["dir"] / "r", "-q")
    assert res.exit_code == 1, res.output
    html = (failing_run["dir"] / "r" / "gate_report.html").read_text(encoding="utf-8")
    assert 'id="alerts"' in html
    assert "<script>alert" not in html and "<img src=x" not in html
    assert "&lt;img src=x onerror=alert(2)&gt;" in html


# --------------------------------------------------------------------------------------------------------------
# alert settings
# --------------------------------------------------------------------------------------------------------------

@pytest.mark.parametrize(("alert", "match"), [
    ("{after: 5, within: 3}", "cannot exceed"),
    ("{after: 0, within: 3}", "alert.after"),
    ("{after: 1, within: 1001}", "alert.within"),
    ("{after: 3}", "within"),
    ("{after: 1.5, within: 2}", "alert.after"),
    ("{after: 1, within: 5, extra: 1}", "extra"),
])
def test_bad_alert_settings_are_refused_with_the_line(tmp_path: Path, alert: str, match: str) -> None:
    p = _policy(tmp_path, f'version: 1\nname: al\nmetrics:\n  - {{name: auc_roc, op: ">=", value: 0.8, '
                          f'alert: {alert}}}\n')
    res = _cli("validate", p)
    assert res.exit_code == 2 and "policy.yaml:4:" in res.output and match in res.output


# --------------------------------------------------------------------------------------------------------------
# calibrate
# --------------------------------------------------------------------------------------------------------------

AUCS = [0.80, 0.81, 0.82, 0.83, 0.84, 0.85, 0.86, 0.87, 0.88, 0.89]


def test_calibrate_flow_style_and_odd_number_spellings(tmp_path: Path) -> None:
    policy = _policy(tmp_path, """\
        # keep me
        version: 3
        name: odd
        metrics:
          - {name: auc_roc, op: ">=", value: 9e-1, on_fail: block}
          - {name: log_loss, op: "<", value: .5, on_fail: warn}
          - {name: brier_score, within: 0.1}
        """)
    db = tmp_path / "h.db"
    with HistoryStore(_url(db)) as st:
        for i, a in enumerate(AUCS):
            r = _report(f"o{i}", f"2026-01-01T00:00:{i:02d}+00:00", [a], policy="odd")
            r.checks.append(CheckResult(name="log_loss", section="performance", metric="log_loss", status=Status.PASS,
                                        on_fail=OnFail.WARN, observed=0.3 + i / 100, op="<", threshold=0.5,
                                        message="m", details={"rule": "metrics[1]"}))
            st.record(r)
    res = _cli("calibrate", "--policy", policy, "--history", db, "--format", "json")
    assert res.exit_code == 0, res.output
    rules = {r["rule"]: r for r in json.loads(res.stdout)["rules"]}
    assert rules["metrics[0]"]["proposed"] == 0.82 and rules["metrics[1]"]["proposed"] == 0.38
    assert rules["metrics[2]"]["status"] == "skipped"
    out = tmp_path / "policy.proposed.yaml"
    text = out.read_text(encoding="utf-8")
    assert "# keep me" in text and "{name: auc_roc, op: \">=\", value: 0.82, on_fail: block}" in text
    assert load_policy(out).policy.version == 4
    diff = _cli("policy", "diff", policy, out)
    assert diff.exit_code == 0 and "0.9 → 0.82" in diff.output and "0.5 → 0.38" in diff.output


def test_calibrate_without_runs_or_values(tmp_path: Path) -> None:
    policy = _policy(tmp_path, 'version: 1\nname: none\nmetrics:\n  - {name: auc_roc, op: ">=", value: 0.9}\n')
    db = tmp_path / "h.db"
    _store_with_runs(db, "other", [0.9])
    res = _cli("calibrate", "--policy", policy, "--history", db)
    assert res.exit_code == 2 and "no recorded runs" in res.output
    _store_with_runs(db, "none", [None, None])  # never computable
    res = _cli("calibrate", "--policy", policy, "--history", db, "--format", "json")
    assert res.exit_code == 0, res.output
    doc = json.loads(res.stdout)
    assert doc["proposed_file"] is None and doc["rules"][0]["status"] == "skipped"


def test_calibrate_never_writes_over_the_policy_through_a_hard_link(tmp_path: Path) -> None:
    policy = _policy(tmp_path, 'version: 1\nname: hl\nmetrics:\n  - {name: auc_roc, op: ">=", value: 0.99}\n')
    original = policy.read_bytes()
    os.link(policy, tmp_path / "hard.yaml")
    db = tmp_path / "h.db"
    _store_with_runs(db, "hl", AUCS)
    _cli("calibrate", "--policy", policy, "--history", db, "--out", tmp_path / "hard.yaml")
    assert policy.read_bytes() == original


def test_calibrate_with_a_yaml_anchor_writes_a_loadable_policy_or_refuses(tmp_path: Path) -> None:
    policy = _policy(tmp_path, """\
        version: 1
        name: anc
        metrics:
          - {name: auc_roc, op: ">=", value: &lim 0.99}
          - {name: accuracy, op: ">=", value: *lim}
        """)
    db = tmp_path / "h.db"
    with HistoryStore(_url(db)) as st:
        for i, a in enumerate(AUCS):
            r = _report(f"a{i}", f"2026-01-01T00:00:{i:02d}+00:00", [a], policy="anc")
            r.checks.append(CheckResult(name="accuracy", section="performance", metric="accuracy",
                                        status=Status.FAIL, on_fail=OnFail.BLOCK, observed=0.9 + i / 100, op=">=",
                                        threshold=0.99, message="m", details={"rule": "metrics[1]"}))
            st.record(r)
    res = _cli("calibrate", "--policy", policy, "--history", db)
    if res.exit_code == 0:
        load_policy(tmp_path / "policy.proposed.yaml")  # must not raise
    else:
        assert res.exit_code == 2


@pytest.mark.parametrize(("written", "bumped"), [("0x1F", 32), ("017", 16), ("0b11", 4)])
def test_calibrate_bumps_the_version_gatekit_read(tmp_path: Path, written: str, bumped: int) -> None:
    policy = _policy(tmp_path, f'version: {written}\nname: ver\nmetrics:\n  - {{name: auc_roc, op: ">=", '
                               'value: 0.99}\n')
    db = tmp_path / "h.db"
    _store_with_runs(db, "ver", AUCS)
    res = _cli("calibrate", "--policy", policy, "--history", db)
    assert res.exit_code == 0, res.output
    assert load_policy(tmp_path / "policy.proposed.yaml").policy.version == bumped


def test_calibrate_out_elsewhere_keeps_the_policy_runnable(tmp_path: Path) -> None:
    policy = _policy(tmp_path, """\
        version: 1
        name: rel
        inputs:
          baseline:
            metrics: base.json
        metrics:
          - {name: auc_roc, op: ">=", value: 0.99}
        """)
    (tmp_path / "base.json").write_text('{"auc_roc": 0.8}', encoding="utf-8")
    (tmp_path / "m.json").write_text('{"auc_roc": 0.85}', encoding="utf-8")
    db = tmp_path / "h.db"
    _store_with_runs(db, "rel", AUCS)
    out = tmp_path / "sub" / "proposed.yaml"
    res = _cli("calibrate", "--policy", policy, "--history", db, "--out", out)
    assert res.exit_code == 0, res.output
    warned = "relative" in res.output
    run = _cli("run", out, "--metrics", tmp_path / "m.json", "--no-history", "--out", tmp_path / "r", "-q")
    assert warned or run.exit_code != 2, run.output


def test_propose_limit_for_the_smallest_positive_value() -> None:
    limit = propose_limit([5e-324], ">=", 0.8)
    assert limit <= 5e-324


def test_propose_limit_for_huge_and_tiny_targets() -> None:
    values = [float(v) for v in range(1, 11)]
    assert propose_limit(values, ">=", 1.0) <= 1.0
    assert propose_limit(values, ">=", 0.01) == 10.0
    assert propose_limit([1e308, 1.5e308], "<=", 1.0) >= 1.5e308
