"""The history store (SQLite and a real PostgreSQL server), transactional and concurrent writes, alerts."""

from __future__ import annotations

import http.server
import json
import os
import sqlite3
import subprocess
import sys
import textwrap
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any, ClassVar

import pytest

from gatekit.core.results import CheckResult, Decision, GateReport, OnFail, Status
from gatekit.history.alerts import evaluate_alerts, post_webhook, record_and_alert
from gatekit.history.config import load_config
from gatekit.history.records import Base
from gatekit.history.runs import check_keys
from gatekit.history.store import HistoryError, HistoryStore
from gatekit.policy import load_policy
from tests.conftest import run_cli, write_json, write_policy

PG_URL = os.environ.get("GATEKIT_TEST_POSTGRES_URL")


def _postgres_url() -> str:
    if PG_URL:
        return PG_URL
    if os.environ.get("GATEKIT_REQUIRE_POSTGRES"):
        pytest.fail("GATEKIT_REQUIRE_POSTGRES is set but GATEKIT_TEST_POSTGRES_URL is not: the PostgreSQL server "
                    "did not start (scripts/start_test_postgres.sh)")
    pytest.skip("no PostgreSQL server: eval \"$(scripts/start_test_postgres.sh)\" to run these tests")


@pytest.fixture(params=["sqlite", "postgresql"])
def url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """An empty history store of each kind."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'h.db'}"
        return
    u = _postgres_url()
    store = HistoryStore(u)
    Base.metadata.drop_all(store.engine)  # every test starts from an empty database
    store.close()
    yield u


def report(run_id: str, started: str, checks: list[tuple[str, str, float | None]], policy: str = "p",
           decision: Decision = Decision.PASS, version: int = 1) -> GateReport:
    """A report with checks (name, status, observed) in section performance, rule ``>= 0.8``."""
    cs = [CheckResult(name=n, section="performance", status=Status(s), on_fail=OnFail.BLOCK, observed=v, op=">=",
                      threshold=0.8, message=f"{n} {s}", details={"rule": f"metrics[{i}]"})
          for i, (n, s, v) in enumerate(checks)]
    meta = {"run_id": run_id, "started_at": started, "gatekit_version": "test",
            "policy": {"name": policy, "version": version, "sha256": "a" * 64, "path": "/x/p.yaml"},
            "inputs": {"files": {"data": {"sha256": "d" * 64}, "model": {"sha256": "m" * 64}}},
            "reproducibility": {"sha256": "r" * 64}, "enforcement": "enforced", "exit_code": 0}
    return GateReport(decision=decision, reason="because", checks=cs, metadata=meta)


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
    from tests.test_history import report
    url, worker, n = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    with HistoryStore(url) as st:
        for i in range(n):
            st.record(report(f"w{worker}-{i}", "2026-01-01T00:00:00+00:00",
                             [("auc_roc", "pass", worker + i / 100), ("precision", "fail", 0.5)]))
""")


def test_concurrent_runs_do_not_corrupt_the_store(url: str) -> None:
    workers, each = 6, 8
    # all start on an empty store: table creation races too
    procs = [subprocess.Popen([sys.executable, "-c", _WRITER, url, str(w), str(each)], cwd=Path(__file__).parent.parent,
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


def test_check_keys_tell_repeated_rules_apart() -> None:
    cs = [{"section": "performance", "name": "auc_roc", "op": ">="}, {"section": "performance", "name": "auc_roc",
                                                                        "op": ">="},
          {"section": "gates", "name": "g", "op": None}]
    assert check_keys(cs) == ["performance/auc_roc/>=", "performance/auc_roc/>=#2", "gates/g/-"]


# ----------------------------------------------------------------------------------------------- configuration


def test_configuration_precedence(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("GATEKIT_HISTORY_URL", raising=False)
    sub = tmp_path / "a" / "b"
    sub.mkdir(parents=True)
    assert load_config(start=sub).history_url == f"sqlite:///{sub / '.gatekit' / 'history.db'}"
    (tmp_path / "gatekit.toml").write_text('[history]\nurl = "sqlite:///store/h.db"\n[alerts]\n'
                                           'webhook_url = "http://127.0.0.1:9/x"\ntimeout_s = 2\n')
    cfg = load_config(start=sub)  # found in a parent; relative to the file's folder
    assert (cfg.history_url, cfg.webhook_url, cfg.webhook_timeout_s, cfg.source) == (
        f"sqlite:///{tmp_path / 'store' / 'h.db'}", "http://127.0.0.1:9/x", 2.0, tmp_path / "gatekit.toml")
    monkeypatch.setenv("GATEKIT_HISTORY_URL", "postgresql+psycopg://u@h/db")
    assert load_config(start=sub).history_url == "postgresql+psycopg://u@h/db"
    assert load_config("off", start=sub).history_url is None
    assert load_config("x.db", start=sub).history_url == f"sqlite:///{sub / 'x.db'}"
    assert load_config(no_history=True, start=sub).history_url is None


@pytest.mark.parametrize(("text", "match"), [
    ("[history]\nurl = \n", r"gatekit.toml: not valid TOML.*line 2"),
    ("[history]\nuri = 'x'\n", r"history.uri: Extra inputs"),
    ("[alerts]\ntimeout_s = -1\n", r"alerts.timeout_s"),
])
def test_a_bad_configuration_names_the_file_and_the_key(tmp_path: Path, text: str, match: str) -> None:
    from gatekit.core.errors import InputError

    (tmp_path / "gatekit.toml").write_text(text)
    with pytest.raises(InputError, match=match):
        load_config(start=tmp_path)
    policy = write_policy(tmp_path, "version: 1\n")
    proc = run_cli("run", str(policy), cwd=tmp_path)
    assert proc.returncode == 2 and "gatekit.toml" in proc.stderr


# ------------------------------------------------------------------------------------------------------ alerts


class _Hook(http.server.BaseHTTPRequestHandler):
    received: ClassVar[list[dict[str, Any]]] = []
    answer = 200

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        type(self).received.append({"json": json.loads(body), "type": self.headers["Content-Type"]})
        self.send_response(type(self).answer)
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def hook() -> Iterator[tuple[str, type[_Hook]]]:
    handler = type("Hook", (_Hook,), {"received": [], "answer": 200})
    server = http.server.HTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/hook", handler
    server.shutdown()
    server.server_close()


ALERT_POLICY = """
version: 1
name: alerting
metrics:
  - name: auc_roc
    op: ">="
    value: 0.9
    alert: {after: 3, within: 5}
  - name: precision_at_0_5
    op: ">="
    value: 0.75
    on_fail: warn
"""


def _run(tmp_path: Path, policy: Path, auc: float, store: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    m = write_json(tmp_path, {"auc_roc": auc, "precision_at_0_5": 0.8})
    return subprocess.run([sys.executable, "-m", "gatekit", "run", str(policy), "--metrics", str(m), "--history",
                           store, "--out", str(tmp_path / "out")], capture_output=True, text=True, timeout=300,
                          env={**os.environ, **env}, cwd=tmp_path)


def test_an_alert_fires_on_the_third_failure_in_five_runs_and_posts_json(tmp_path: Path, hook: Any) -> None:
    url, handler = hook
    policy = write_policy(tmp_path, ALERT_POLICY)
    store = f"sqlite:///{tmp_path / 'h.db'}"
    env = {"GATEKIT_ALERT_WEBHOOK_URL": url}
    # fail, pass, fail, pass, fail: the 5th run is the 3rd failure in the last 5 -> alert
    codes = [_run(tmp_path, policy, auc, store, env).returncode for auc in (0.8, 0.95, 0.85, 0.93, 0.7)]
    assert codes == [1, 0, 1, 0, 1]  # the decisions, unchanged by the alert
    assert len(handler.received) == 1
    msg = handler.received[0]
    assert msg["type"] == "application/json"
    body = msg["json"]
    assert body["policy"]["name"] == "alerting" and body["decision"] == "block"
    [a] = body["alerts"]
    assert (a["name"], a["failures"], a["after"], a["within"], len(a["failed_runs"])) == ("auc_roc", 3, 3, 5, 3)
    assert "failed in 3 of the last 5 runs" in body["text"]
    rep = json.loads((tmp_path / "out" / "gate_report.json").read_text())
    assert rep["metadata"]["alerts"]["fired"][0]["delivered"] is True
    html = (tmp_path / "out" / "gate_report.html").read_text()
    assert 'id="alerts"' in html and "failed in <b>3 of the last 5 runs</b>" in html
    with HistoryStore(store) as st:
        runs = st.runs()
    assert [len(r.alerts) for r in runs] == [0, 0, 0, 0, 1] and runs[-1].alerts[0]["delivered"] is True
    # a sixth run that passes raises nothing; a seventh that fails is again 3 of the last 5
    _run(tmp_path, policy, 0.95, store, env)
    assert len(handler.received) == 1
    _run(tmp_path, policy, 0.7, store, env)
    assert len(handler.received) == 2
    # an eighth failure keeps the alert on the report but does not post again: once per streak
    _run(tmp_path, policy, 0.7, store, env)
    assert len(handler.received) == 2
    rep = json.loads((tmp_path / "out" / "gate_report.json").read_text())
    [a] = rep["metadata"]["alerts"]["fired"]
    assert a["ongoing"] is True and a["delivered"] is None and "ongoing since run" in a["delivery"]
    assert "ongoing since run" in (tmp_path / "out" / "gate_report.html").read_text()


@pytest.mark.parametrize("answer", [500, None])
def test_a_failing_webhook_is_reported_and_never_changes_the_decision(tmp_path: Path, hook: Any,
                                                                      answer: int | None) -> None:
    url, handler = hook
    handler.answer = answer or 200
    if answer is None:
        url = "http://127.0.0.1:1/nothing-listens"
    policy = write_policy(tmp_path, ALERT_POLICY.replace("after: 3, within: 5", "after: 1, within: 1"))
    store = f"sqlite:///{tmp_path / 'h.db'}"
    proc = _run(tmp_path, policy, 0.8, store, {"GATEKIT_ALERT_WEBHOOK_URL": url})
    assert proc.returncode == 1  # block, as without alerts
    assert "NOT delivered" in proc.stdout
    rep = json.loads((tmp_path / "out" / "gate_report.json").read_text())
    a = rep["metadata"]["alerts"]["fired"][0]
    assert a["delivered"] is False and (("HTTP 500" in a["delivery"]) if answer else "refused" in a["delivery"])
    assert rep["decision"] == "block" and rep["metadata"]["exit_code"] == 1
    proc = _run(tmp_path, policy, 0.95, store, {"GATEKIT_ALERT_WEBHOOK_URL": url})
    assert proc.returncode == 0


def test_a_broken_store_is_reported_and_never_changes_the_decision(tmp_path: Path) -> None:
    policy = write_policy(tmp_path, ALERT_POLICY)
    proc = _run(tmp_path, policy, 0.95, "postgresql+psycopg://u:pw@127.0.0.1:1/db", {})
    assert proc.returncode == 0, proc.stderr
    assert "NOT recorded in history" in proc.stdout and "pw" not in proc.stdout
    rep = json.loads((tmp_path / "out" / "gate_report.json").read_text())
    assert rep["metadata"]["history"]["recorded"] is False
    assert "alerts could not be evaluated" in rep["metadata"]["alerts"]["error"]


def test_alert_settings_rule_over_policy_and_window_counts_runs_not_appearances(tmp_path: Path) -> None:
    lp = load_policy(write_policy(tmp_path, """
        version: 1
        alert: {after: 2, within: 2}
        metrics:
          - {name: auc_roc, op: ">=", value: 0.9, alert: {after: 1, within: 1}}
          - {name: precision_at_0_5, op: ">=", value: 0.9}
        """))
    cur = report("now", "2026-01-03T00:00:00+00:00", [("auc_roc", "fail", 0.5), ("precision_at_0_5", "fail", 0.5)])
    cur.checks[1].details["rule"] = "metrics[1]"
    # the previous run had no precision check at all: it counts as a run without that failure
    prev = report("before", "2026-01-02T00:00:00+00:00", [("auc_roc", "pass", 0.95)])
    with HistoryStore(f"sqlite:///{tmp_path / 'h.db'}") as st:
        st.record(prev)
        fired = evaluate_alerts(cur, lp, st.runs())
    assert [(a["name"], a["failures"], a["within"]) for a in fired] == [("auc_roc", 1, 1)]


def test_post_webhook_refuses_other_schemes() -> None:
    assert post_webhook("file:///etc/passwd", {}, 1) == (False, "the webhook URL must start with http:// or https://")


def test_alerts_without_history_say_so(tmp_path: Path) -> None:
    lp = load_policy(write_policy(tmp_path, ALERT_POLICY))
    rep = report("now", "2026-01-03T00:00:00+00:00", [("auc_roc", "fail", 0.5)])
    record_and_alert(rep, lp, None, None)
    assert rep.metadata["history"] == {"recorded": False, "error": "history is off"}
    assert "history is off" in rep.metadata["alerts"]["error"]
