"""Tests of :mod:`gatekit.history.alerts`: repeated-failure alerts, the webhook, and a history that fails
without changing the decision.
"""

from __future__ import annotations

import http.server
import json
import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any, ClassVar

import pytest

from gatekit.history.alerts import evaluate_alerts, post_webhook, record_and_alert, webhook_payload
from gatekit.history.store import HistoryStore
from gatekit.policy import load_policy
from tests.helpers import _cli, write_json, write_policy
from tests.history.helpers import ALERT_POLICY, SECRET, _finishes_within, _policy, _report, _SilentServer, report

# ------------------------------------------------------------------------------------------------------ alerts


class _RecordingHook(http.server.BaseHTTPRequestHandler):
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
def webhook() -> Iterator[tuple[str, type[_RecordingHook]]]:
    handler = type("Hook", (_RecordingHook,), {"received": [], "answer": 200})
    server = http.server.HTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/hook", handler
    server.shutdown()
    server.server_close()


ALERT_AFTER_3_OF_5 = """
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


def test_an_alert_fires_on_the_third_failure_in_five_runs_and_posts_json(tmp_path: Path, webhook: Any) -> None:
    url, handler = webhook
    policy = write_policy(tmp_path, ALERT_AFTER_3_OF_5)
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
def test_a_failing_webhook_is_reported_and_never_changes_the_decision(tmp_path: Path, webhook: Any,
                                                                      answer: int | None) -> None:
    url, handler = webhook
    handler.answer = answer or 200
    if answer is None:
        url = "http://127.0.0.1:1/nothing-listens"
    policy = write_policy(tmp_path, ALERT_AFTER_3_OF_5.replace("after: 3, within: 5", "after: 1, within: 1"))
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
    policy = write_policy(tmp_path, ALERT_AFTER_3_OF_5)
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
    assert post_webhook("file:///etc/passwd", {}, 1) == (
        False, "not posted: the webhook (GATEKIT_ALERT_WEBHOOK_URL / gatekit.toml [alerts] webhook_url) must start "
               "with http:// or https://")


def test_alerts_without_history_say_so(tmp_path: Path) -> None:
    lp = load_policy(write_policy(tmp_path, ALERT_AFTER_3_OF_5))
    rep = report("now", "2026-01-03T00:00:00+00:00", [("auc_roc", "fail", 0.5)])
    record_and_alert(rep, lp, None, None)
    assert rep.metadata["history"] == {"recorded": False, "error": "history is off"}
    assert "history is off" in rep.metadata["alerts"]["error"]


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


def test_a_password_in_the_userinfo_is_hidden_in_the_report_and_history_error(tmp_path: Path) -> None:
    report = _report("r1", "2026-01-01T00:00:00+00:00", [0.7])
    lp = load_policy(_policy(tmp_path, ALERT_POLICY))
    record_and_alert(report, lp, f"postgresql+psycopg://gatekit:{SECRET}@127.0.0.1:1/db", None, 1.0)
    assert report.metadata["history"]["recorded"] is False
    assert SECRET not in json.dumps(report.metadata)
    assert "***" in report.metadata["history"]["error"]


@pytest.mark.parametrize("url", ["sqlite://", "sqlite:///", "sqlite:///:memory:"])
def test_an_in_memory_store_is_not_reported_as_recorded(tmp_path: Path, url: str) -> None:
    report = _report("r1", "2026-01-01T00:00:00+00:00", [0.7])
    record_and_alert(report, load_policy(_policy(tmp_path, ALERT_POLICY)), url, None, 1.0)
    assert report.metadata["history"]["recorded"] is not True


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


# ------------------------------------------------------------------------- the webhook URL never reaches output

HOOK_SECRET_PATH = "services/T0SECRET B0SECRET/XyZsecretToken"
HOSTILE_HOOKS = [
    f"http://hooks.example.com/{HOOK_SECRET_PATH}",  # a space in a CI secret
    "http://hooks.example.com/services/T0SECRET\nB0SECRET/XyZsecretToken",  # a line break
    "http://hooks.example.com/services/T0SECRET\tB0SECRET/XyZsecretToken",
    "https://user:XyZsecretToken@hooks.example.com:99999/services/T0SECRET",  # a port out of range
    "http://[hooks.example.com/services/T0SECRET/XyZsecretToken",  # an unclosed IPv6 bracket
    "https:///services/T0SECRET/XyZsecretToken",  # no host
]
NAMED = "the webhook (GATEKIT_ALERT_WEBHOOK_URL / gatekit.toml [alerts] webhook_url)"


def _leaks(text: str) -> list[str]:
    return [s for s in ("T0SECRET", "B0SECRET", "XyZsecretToken", "services") if s in text]


@pytest.mark.parametrize("url", HOSTILE_HOOKS)
def test_a_malformed_webhook_url_is_not_posted_and_never_quoted(url: str) -> None:
    ok, what = post_webhook(url, {"text": "x"}, 1)
    assert ok is False
    assert what.startswith(f"not posted: {NAMED}"), what
    assert _leaks(what) == [], what
    assert "http://hooks.example.com/" not in what and "user" not in what


@pytest.mark.parametrize("exc_text", ["unknown url type: {url}", "<urlopen error {url} failed>", "{url}"])
@pytest.mark.parametrize("kind", ["ValueError", "URLError"])
def test_an_exception_quoting_the_webhook_url_is_scrubbed(monkeypatch: pytest.MonkeyPatch, exc_text: str,
                                                          kind: str) -> None:
    import urllib.error
    import urllib.request

    url = "https://hooks.example.com/services/T0SECRET/B0SECRET/XyZsecretToken?token=XyZsecretToken"

    class _Opener:
        def open(self, req: Any, timeout: float) -> Any:
            text = exc_text.format(url=req.full_url)
            raise ValueError(text) if kind == "ValueError" else urllib.error.URLError(text)

    monkeypatch.setattr(urllib.request, "build_opener", lambda *a: _Opener())
    ok, what = post_webhook(url, {"text": "x"}, 2)
    assert ok is False and _leaks(what) == [], what
    # at most the scheme and host, and the webhook named by its settings
    assert what.startswith(f"{NAMED} at https://hooks.example.com: "), what


def test_a_delivery_names_the_host_only(webhook: Any) -> None:
    url, handler = webhook
    ok, what = post_webhook(url + "/T0SECRET?k=XyZsecretToken", {"text": "x"}, 5)
    port = url.split(":")[2].split("/")[0]
    assert (ok, what) == (True, f"{NAMED} at http://127.0.0.1:{port}: HTTP 200")
    assert len(handler.received) == 1


def test_a_webhook_url_with_a_space_reaches_no_output_report_or_history(tmp_path: Path) -> None:
    policy = write_policy(tmp_path, ALERT_AFTER_3_OF_5.replace("after: 3, within: 5", "after: 1, within: 1"))
    db = tmp_path / "h.db"
    proc = _run(tmp_path, policy, 0.8, f"sqlite:///{db}",
                {"GATEKIT_ALERT_WEBHOOK_URL": f"http://hooks.example.com/{HOOK_SECRET_PATH}"})
    assert proc.returncode == 1, proc.stderr  # the decision is the gate's, as without alerts
    assert "NOT delivered" in proc.stdout and "GATEKIT_ALERT_WEBHOOK_URL" in proc.stdout
    texts = {"stdout": proc.stdout, "stderr": proc.stderr,
             "json": (tmp_path / "out" / "gate_report.json").read_text(),
             "html": (tmp_path / "out" / "gate_report.html").read_text()}
    with HistoryStore(f"sqlite:///{db}") as store:
        [run] = store.runs()
    texts["history"] = json.dumps(run.alerts)
    texts["history_db"] = db.read_bytes().decode("latin-1")
    for where, text in texts.items():
        assert _leaks(text) == [], where
    a = json.loads(texts["json"])["metadata"]["alerts"]["fired"][0]
    assert a["delivered"] is False and "a space, a line break or a control character" in a["delivery"]
    assert [x["delivery"] for x in run.alerts] == [a["delivery"]]


def test_a_store_error_quoting_the_password_is_masked(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import gatekit.history.store as store_mod

    url = f"postgresql+psycopg://gatekit:{SECRET}@127.0.0.1:1/db"

    class _Broken:
        def __init__(self, u: str, **kw: Any) -> None:
            raise store_mod.HistoryError(f"cannot connect: password {SECRET} rejected by {u}")

    monkeypatch.setattr(store_mod, "HistoryStore", _Broken)
    lp = load_policy(write_policy(tmp_path, ALERT_AFTER_3_OF_5))
    rep = report("now", "2026-01-03T00:00:00+00:00", [("auc_roc", "fail", 0.5)])
    record_and_alert(rep, lp, url, "http://127.0.0.1:9/x")
    assert SECRET not in json.dumps(rep.metadata["history"]) and SECRET not in json.dumps(rep.metadata["alerts"])
    assert "***" in rep.metadata["history"]["error"]


@pytest.mark.parametrize("password", ["pa/ss" + SECRET, "p@ss/" + SECRET, SECRET + "?x#y"])
def test_an_unparsable_store_url_never_shows_its_password(tmp_path: Path, password: str) -> None:
    url = f"postgresql+psycopg://gatekit:{password}@db.internal:notaport/gatekit"
    lp = load_policy(write_policy(tmp_path, ALERT_AFTER_3_OF_5))
    rep = report("now", "2026-01-03T00:00:00+00:00", [("auc_roc", "fail", 0.5)])
    record_and_alert(rep, lp, url, None)
    shown = json.dumps(rep.metadata["history"]) + json.dumps(rep.metadata["alerts"])
    assert rep.metadata["history"]["recorded"] is False and "gatekit:***@" in shown
    assert SECRET not in shown, shown
