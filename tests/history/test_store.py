"""Tests of :mod:`gatekit.history.store`: SQLite and a real PostgreSQL server, transactional and concurrent
writes, stores that are not what gatekit expects, passwords in URLs.

The PostgreSQL tests run only when ``GATEKIT_TEST_POSTGRES_URL`` is set
(``eval "$(scripts/start_test_postgres.sh)"``).
"""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from gatekit.history.alerts import record_and_alert
from gatekit.history.records import CheckRecord, RunRecord
from gatekit.history.store import HistoryError, HistoryStore
from gatekit.policy import load_policy
from tests.helpers import REPO, _cli
from tests.history.helpers import (
    ALERT_POLICY,
    SECRET,
    _finishes_within,
    _policy,
    _report,
    _SilentServer,
    _store_with_runs,
    _url,
    report,
    store_urls,
)

PG_URL = os.environ.get("GATEKIT_TEST_POSTGRES_URL")


@pytest.fixture(params=["sqlite", "postgresql"])
def url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """An empty history store of each kind (on PostgreSQL a database of its own: tests run on several workers)."""
    yield from store_urls(request.param, tmp_path)


def test_a_run_reads_back_as_recorded(url: str) -> None:
    with HistoryStore(url) as st:
        st.record(report("r1", "2026-01-01T00:00:00+00:00", [("auc_roc", "pass", 0.9), ("auc_roc", "fail", 0.7)]))
        st.record(report("r2", "2026-01-02T00:00:00+00:00", [("auc_roc", "error", None)], policy="q"))
        runs = st.runs()
    assert [r.run_id for r in runs] == ["r1", "r2"]  # oldest first
    r1 = runs[0]
    assert (r1.policy_name, r1.policy_version, r1.decision, r1.model_sha256, r1.data_sha256) == \
        ("p", "1", "pass", "m" * 64, "d" * 64)
    assert r1.started_at.isoformat() == "2026-01-01T00:00:00+00:00"
    assert [(c["key"], c["status"], c["observed"]) for c in r1.checks] == [
        ("performance/auc_roc/>=", "pass", 0.9), ("performance/auc_roc/>=#2", "fail", 0.7)]
    with HistoryStore(url) as st:
        assert [r.run_id for r in st.runs(policy="q")] == ["r2"]
        assert [r.run_id for r in st.runs(last=1)] == ["r2"]


def test_a_write_that_fails_midway_leaves_no_half_record(url: str) -> None:
    bad = report("r1", "2026-01-01T00:00:00+00:00", [("auc_roc", "pass", 0.9), ("x", "pass", 0.9)])
    bad.checks[1].name = None  # NOT NULL: the second check's insert fails after the run row and the first check
    with HistoryStore(url) as st, pytest.raises(HistoryError, match="record run r1"):
        st.record(bad)
    with HistoryStore(url) as st:
        assert st.runs() == []
        with st.engine.connect() as conn:
            from sqlalchemy import text

            assert conn.execute(text("select count(*) from gatekit_checks")).scalar() == 0


def test_a_process_killed_before_commit_leaves_nothing(url: str, tmp_path: Path) -> None:
    # the run row and its checks are flushed (sent to the database) and then the process dies without committing
    script = textwrap.dedent(f"""
        import os
        from sqlalchemy.orm import Session
        from gatekit.history.records import CheckRecord, RunRecord
        from gatekit.history.store import HistoryStore
        from datetime import datetime, timezone
        st = HistoryStore({url!r}); st.ensure_schema()
        s = Session(st.engine); s.begin()
        now = datetime.now(timezone.utc)
        run = RunRecord(run_id="dying", started_at=now, recorded_at=now, policy_name="p", policy_version="1",
                        policy_sha256="a", decision="pass", reason="", files_json="{{}}")
        run.checks.append(CheckRecord(position=0, key="k", section="s", name="n", status="pass", on_fail="block",
                                      message=""))
        s.add(run); s.flush()
        os._exit(9)
    """)
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 9, proc.stderr
    with HistoryStore(url) as st:
        assert st.runs() == []


_WRITER = textwrap.dedent("""
    import sys
    from gatekit.history.store import HistoryStore
    from tests.history.helpers import report
    url, worker, n = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    with HistoryStore(url) as st:
        for i in range(n):
            st.record(report(f"w{worker}-{i}", "2026-01-01T00:00:00+00:00",
                             [("auc_roc", "pass", worker + i / 100), ("precision", "fail", 0.5)]))
""")


def test_concurrent_runs_do_not_corrupt_the_store(url: str) -> None:
    workers, each = 6, 8
    # all start on an empty store: table creation races too
    procs = [subprocess.Popen([sys.executable, "-c", _WRITER, url, str(w), str(each)], cwd=REPO,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for w in range(workers)]
    for p in procs:
        _, err = p.communicate(timeout=240)
        assert p.returncode == 0, err
    with HistoryStore(url) as st:
        runs = st.runs()
    assert sorted(r.run_id for r in runs) == sorted(f"w{w}-{i}" for w in range(workers) for i in range(each))
    assert all(len(r.checks) == 2 for r in runs)
    assert {r.run_id: r.checks[0]["observed"] for r in runs}["w3-5"] == pytest.approx(3.05)
    if url.startswith("sqlite"):
        con = sqlite3.connect(url[len("sqlite:///"):])
        assert con.execute("pragma integrity_check").fetchone()[0] == "ok"
        con.close()


def test_a_store_from_a_newer_gatekit_is_refused(url: str) -> None:
    from sqlalchemy import text

    with HistoryStore(url) as st:
        st.ensure_schema()
        with st.engine.begin() as conn:
            conn.execute(text("update gatekit_schema set value = '99' where key = 'schema_version'"))
    with HistoryStore(url) as st, pytest.raises(HistoryError, match=r"schema version 99.*upgrade gatekit"):
        st.runs()


def test_marks_are_all_or_nothing(url: str) -> None:
    with HistoryStore(url) as st:
        st.record(report("r1", "2026-01-01T00:00:00+00:00", [("auc_roc", "pass", 0.9)]))
        with pytest.raises(HistoryError, match="no run nope"):
            st.mark(["r1", "nope"], False)
        assert st.runs()[0].legitimate is None
        assert st.mark(["r1"], False) == 1
        assert st.runs(exclude_illegitimate=True) == []
        assert [r.run_id for r in st.runs(legitimate_only=False)] == ["r1"]


def test_unusable_stores_say_what_is_wrong(tmp_path: Path) -> None:
    with pytest.raises(HistoryError, match="not a database URL"):
        HistoryStore("postgresql://a b:c")
    with pytest.raises(HistoryError, match="driver is not installed"):
        HistoryStore("mysql+notadriver://u:secret@localhost/db")
    with pytest.raises(HistoryError) as exc:  # nothing listens there; the password never shows
        HistoryStore("postgresql+psycopg://u:secret@127.0.0.1:1/db").runs()
    assert "secret" not in str(exc.value) and "***" in str(exc.value)
    with pytest.raises(HistoryError, match="no such file"):
        HistoryStore(f"sqlite:///{tmp_path / 'none.db'}", create=False)


def test_a_malformed_url_never_shows_its_password() -> None:
    with pytest.raises(HistoryError) as exc:
        HistoryStore(f"postgresql+psycopg://gatekit:{SECRET}@127.0.0.1:notaport/db")
    assert SECRET not in str(exc.value)


def test_a_password_in_the_query_string_is_hidden() -> None:
    st = HistoryStore(f"postgresql+psycopg://gatekit@127.0.0.1:1/db?password={SECRET}")
    assert SECRET not in st.display


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
def test_a_long_policy_name_is_recorded_on_postgres(tmp_path: Path) -> None:
    for pg in store_urls("postgresql", tmp_path):
        with HistoryStore(pg) as st:
            st.record(_report(f"long-{time.time_ns()}", "2026-01-01T00:00:00+00:00", [0.7], policy="n" * 250))
            assert st.runs()[0].policy_name == "n" * 250


@pytest.mark.parametrize("url", ["postgresql+psycopg://u:pa/ssword@host:abc/db",
                                 "postgresql+psycopg://u:p@ss/word@127.0.0.1:1/db",
                                 "postgresql+psycopg://u:hunter2secret@127.0.0.1:1/db"])
def test_no_message_of_the_store_shows_its_password(url: str) -> None:
    # masked where the store raises, so `gatekit history`, the reports and the history record all get it
    with pytest.raises(HistoryError) as info:
        with HistoryStore(url) as store:
            store.ensure_schema()
    text = str(info.value)
    for piece in ("pa/ssword", "ssword", "p@ss/word", "ss/word", "hunter2secret"):
        assert piece not in text, text


SECRET_URLS = [
    ("postgresql+psycopg://u:s3cretA@127.0.0.1:1/db?password=s3cretB&sslpassword=s3cretC",
     ["s3cretA", "s3cretB", "s3cretC"]),
    ("postgresql+psycopg://u@127.0.0.1:1/db?application_name=keepme&SSLPassword=Hunter22&PWD=Abcdef12",
     ["Hunter22", "Abcdef12"]),
    ("postgresql+psycopg://u@127.0.0.1:1/db?client_secret=Sekr1t99&api_token=Tok3n999&sslkey=/keys/Kf99.pem",
     ["Sekr1t99", "Tok3n999", "/keys/Kf99.pem"]),
    ("postgresql+psycopg://u@127.0.0.1:1/db?Access_Key=AKIAZZ99&passwd=Qwerty99&ssl%70assword=Qu0ted99",
     ["AKIAZZ99", "Qwerty99", "Qu0ted99"]),
]


@pytest.mark.parametrize(("url", "secrets"), SECRET_URLS)
def test_mask_url_hides_every_secret_parameter(url: str, secrets: list[str]) -> None:
    from gatekit.history.store import mask_password, mask_url

    masked = mask_url(url)
    for secret in secrets:
        assert secret not in masked, masked
        assert secret not in mask_password(f"driver says: {url} / {secret}", url)
    assert masked.startswith("postgresql+psycopg://u")
    assert "keepme" in mask_url(SECRET_URLS[1][0]) and "application_name=keepme" in mask_url(SECRET_URLS[1][0])


@pytest.mark.parametrize(("url", "secrets"), SECRET_URLS)
def test_no_message_of_the_store_shows_a_secret_parameter(url: str, secrets: list[str]) -> None:
    with pytest.raises(HistoryError) as info:
        with HistoryStore(url) as store:
            store.ensure_schema()
    for text in (str(info.value), HistoryStore(url, create=False).display):
        for secret in secrets:
            assert secret not in text, text


def test_a_secret_query_parameter_shows_neither_on_the_terminal_nor_in_the_report(tmp_path: Path) -> None:
    policy = _policy(tmp_path, 'version: 1\nname: sec\nmetrics:\n  - {name: auc_roc, op: ">=", value: 0.8}\n')
    (tmp_path / "m.json").write_text('{"auc_roc": 0.9}', encoding="utf-8")
    url, secrets = SECRET_URLS[0]
    res = _cli("run", policy, "--metrics", tmp_path / "m.json", "--history", url, "--out", tmp_path / "o")
    assert res.exit_code == 0, res.output
    assert "NOT recorded in history" in res.output
    report = (tmp_path / "o" / "gate_report.json").read_text(encoding="utf-8")
    for secret in secrets:
        assert secret not in res.output and secret not in report


def test_an_older_store_gains_model_names_and_observations_in_place(tmp_path: Path) -> None:
    from sqlalchemy import inspect

    db = tmp_path / "h.db"
    with sqlite3.connect(db) as c:
        c.executescript(V1_DDL)
        c.execute("UPDATE gatekit_runs SET data_sha256 = ? WHERE run_id = 'old-1'", ("d" * 64,))
    with HistoryStore(_url(db)) as st:
        (old,) = st.runs()
        assert old.model_name == "p" and old.policy is None and old.checks[0]["observation"] is None
        assert [u["run_id"] for u in st.holdout_uses("p", "d" * 64)] == ["old-1"]  # the policy's name stands for it
        st.record(report("new-1", "2026-01-02T00:00:00+00:00", [("auc_roc", "fail", 0.7)]))
        assert [u["run_id"] for u in st.holdout_uses("p", "d" * 64)] == ["old-1", "new-1"]
        indexes = {i["name"] for i in inspect(st.engine).get_indexes("gatekit_runs")}
    assert "ix_gatekit_runs_holdout" in indexes
    with sqlite3.connect(db) as c:
        assert c.execute("SELECT value FROM gatekit_schema").fetchone()[0] == "3"


def test_a_metric_check_stores_what_replay_reads(url: str) -> None:
    from gatekit.core.results import CheckResult, OnFail, Status

    rep = report("r1", "2026-01-01T00:00:00+00:00", [("auc_roc", "pass", 0.9)])
    rep.metadata["policy"]["resolved"] = {"version": 1, "decision_threshold": 0.5, "metrics": []}
    rep.checks.append(CheckResult(
        name="auc_roc vs baseline", section="performance", status=Status.FAIL, on_fail=OnFail.BLOCK, observed=-0.04,
        op=">=", threshold=-0.02, metric="roc_auc", source="computed",
        details={"rule": "metrics[1]", "params": {"sensitive": ("a", "b")}, "decided_on": "interval",
                 "guardband": "proven_harm", "comparison": {"statistic": "change", "candidate": 0.8, "baseline": 0.84},
                 "interval": {"low": -0.07, "high": -0.025, "confidence": 0.95, "method": "bootstrap_percentile",
                              "resamples": 2000, "seed": 1, "estimate": float("nan")}}))
    rep.checks.append(CheckResult(name="psi", section="drift", status=Status.PASS, on_fail=OnFail.WARN))
    with HistoryStore(url) as st:
        st.record(rep)
        (run,) = st.runs()
    assert run.policy == {"version": 1, "decision_threshold": 0.5, "metrics": []}
    assert run.model_name == "p"
    first, second, drift = (c["observation"] for c in run.checks)
    assert first == {"rule": "metrics[0]", "params": {}, "source": None, "statistic": "value", "candidate": 0.9,
                     "baseline": None, "decided_on": "point", "interval": None, "guardband": None, "rounds": None}
    assert second["statistic"] == "change" and (second["candidate"], second["baseline"]) == (0.8, 0.84)
    assert second["params"] == {"sensitive": ["a", "b"]} and second["decided_on"] == "interval"
    assert second["interval"] == {"low": -0.07, "high": -0.025, "confidence": 0.95, "method": "bootstrap_percentile",
                                  "resamples": 2000, "seed": 1}
    assert drift is None


def test_a_schema_2_store_is_migrated_on_both_databases(url: str) -> None:
    from sqlalchemy import text

    with HistoryStore(url) as st:
        st.record(report("r1", "2026-01-01T00:00:00+00:00", [("auc_roc", "pass", 0.9)], policy="q"))
        with st.engine.begin() as conn:  # back to the tables gatekit wrote before schema 3
            conn.execute(text("DROP INDEX ix_gatekit_runs_holdout"))
            conn.execute(text("ALTER TABLE gatekit_runs DROP COLUMN model_name"))
            conn.execute(text("ALTER TABLE gatekit_runs DROP COLUMN policy_json"))
            conn.execute(text("ALTER TABLE gatekit_checks DROP COLUMN observation_json"))
            conn.execute(text("UPDATE gatekit_schema SET value = '2' WHERE key = 'schema_version'"))
    with HistoryStore(url, create=False) as st:
        (run,) = st.runs()
        assert run.model_name == "q" and run.checks[0]["observation"] is None
        assert [u["run_id"] for u in st.holdout_uses("q", "d" * 64)] == ["r1"]
        with st.engine.connect() as conn:
            assert conn.execute(text("SELECT value FROM gatekit_schema")).scalar() == "3"
