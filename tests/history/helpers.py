"""Helpers of the history tests: CLI runs, SQLite URLs, hand-built reports and recorded stores, fake
servers, and the data of the calibration store (the ``store`` fixture in tests/conftest.py).
"""

from __future__ import annotations

import json
import socket
import sqlite3
import textwrap
import threading
import time
from pathlib import Path
from typing import Any

from gatekit.core.results import CheckResult, Decision, GateReport, OnFail, Status
from gatekit.history.store import HistoryStore
from tests.helpers import _cli


# the calibration store: runs recorded by `gatekit run`
def _url(db: Path) -> str:
    return f"sqlite:///{db}"


def _record(policy: Path, metrics: dict[str, float], db: Path, out: Path) -> str:
    """Record one run of ``policy`` through `gatekit run --metrics ... --history ...`; return its run id."""
    mfile = out.with_suffix(".json")
    mfile.parent.mkdir(parents=True, exist_ok=True)
    mfile.write_text(json.dumps(metrics), encoding="utf-8")
    res = _cli("run", policy, "--metrics", mfile, "--history", _url(db), "--out", out, "-q")
    assert res.exit_code in (0, 1), res.output
    report = json.loads((out / "gate_report.json").read_text(encoding="utf-8"))
    assert report["metadata"]["history"]["recorded"] is True, report["metadata"]["history"]
    return report["metadata"]["run_id"]


def _copy_db(src: Path, dst: Path) -> Path:
    """A consistent copy of a SQLite store (WAL journal included), so a test may mark runs in its own copy."""
    with sqlite3.connect(src) as a, sqlite3.connect(dst) as b:
        a.backup(b)
    return dst


CALIB_POLICY = """\
# Calibration test policy: this comment must survive.
version: 4
name: calib_e2e
inputs:
  baseline:
    metrics: base.json   # production's figures
metrics:
  # ranking quality
  - name: auc_roc
    op: ">="
    value: 0.90          # far too strict for this history
    on_fail: block
  - {name: log_loss, op: "<", value: 0.5, on_fail: warn}
  - name: throughput_rows_per_s
    max_drop: 5          # rows/s
  - {name: latency_p95_ms, max_increase: 1}   # ms
  - {name: throughput_rows_per_s, max_drop_pct: 0.5}
  - {name: latency_p95_ms, max_increase_pct: 2}
  - {name: mape, within: 3}
"""

BASE = {"throughput_rows_per_s": 1000, "latency_p95_ms": 50, "mape": 10}


# ten runs, oldest first
CALIB_AUCS = [0.75, 0.71, 0.79, 0.70, 0.77, 0.72, 0.78, 0.74, 0.73, 0.76]
LOGLOSS = [0.30, 0.24, 0.38, 0.20, 0.34, 0.26, 0.36, 0.22, 0.32, 0.28]
THROUGHPUT_CHANGE = [-12.5, -3, 5, -8.25, 0, -1, 2, -20, 4, -6]   # exact in binary: candidate - 1000
LATENCY_CHANGE = [0.5, 1, 3, 0, 2, 1.5, 0.25, 4, 1, 0.75]         # exact in binary: candidate - 50

TREND_POLICY = """\
version: 1
name: trend_demo
metrics:
  - {name: latency_p95_ms, op: "<=", value: 3, on_fail: block}
  - {name: auc_roc, op: ">=", value: 0.82, on_fail: warn}
  - {name: log_loss, op: "<", value: 0.5, on_fail: warn}
  - {name: brier_score, op: "<=", value: 0.3, on_fail: warn}
"""
TREND_RUNS = [  # oldest first
    {"latency_p95_ms": 1, "auc_roc": 0.90, "log_loss": 0.3, "brier_score": 0.25},
    {"latency_p95_ms": 2, "auc_roc": 0.80, "log_loss": 0.3, "brier_score": 0.20},
    {"latency_p95_ms": 3, "auc_roc": 0.85, "log_loss": 0.3, "brier_score": 0.15},
    {"latency_p95_ms": 4, "auc_roc": 0.95, "log_loss": 0.3, "brier_score": 0.10},
]


def _calibrate_json(policy: Path, db: Path, *extra: str) -> dict[str, Any]:
    res = _cli("calibrate", "--policy", policy, "--history", _url(db), "--format", "json", *extra)
    assert res.exit_code == 0, res.output
    return json.loads(res.stdout)


def _history_json(db: Path, *extra: str) -> dict[str, Any]:
    res = _cli("history", "--history", _url(db), "--format", "json", *extra)
    assert res.exit_code == 0, res.output
    return json.loads(res.stdout)


def _gates(doc: dict[str, Any], policy: str) -> dict[str, dict[str, Any]]:
    (entry,) = [p for p in doc["policies"] if p["policy"] == policy]
    return {g["key"]: g for g in entry["summary"]["gates"]}


# hand-built reports
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


# hand-built reports, stores and policies; servers that never answer
SECRET = "s3cretPW"


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


# a store of each kind for the replay and holdout tests: SQLite in tmp_path, or a database of its own on the test
# PostgreSQL server (created and dropped here, so that tests on other workers never see it)
def store_urls(kind: str, tmp_path: Path) -> Any:
    """Yield an empty store URL of ``kind`` (``sqlite`` or ``postgresql``); skip without a PostgreSQL server."""
    import os
    import uuid

    import pytest
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    if kind == "sqlite":
        yield _url(tmp_path / "h.db")
        return
    server = os.environ.get("GATEKIT_TEST_POSTGRES_URL")
    if not server:
        if os.environ.get("GATEKIT_REQUIRE_POSTGRES"):
            pytest.fail("GATEKIT_REQUIRE_POSTGRES is set but GATEKIT_TEST_POSTGRES_URL is not")
        pytest.skip("no PostgreSQL server: eval \"$(scripts/start_test_postgres.sh)\" to run these tests")
    name = f"gk_{uuid.uuid4().hex[:16]}"
    admin = create_engine(server, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f"CREATE DATABASE {name}"))
    try:
        yield make_url(server).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        admin.dispose()
