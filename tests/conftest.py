"""Fixtures shared by several test folders; the tests' history store is a temporary one."""

from __future__ import annotations

import base64
import json
import os
import pickle
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from sklearn.linear_model import LogisticRegression

import gatekit
from tests.helpers import REPO
from tests.history.helpers import (
    ALERT_POLICY,
    BASE,
    CALIB_AUCS,
    CALIB_POLICY,
    LATENCY_CHANGE,
    LOGLOSS,
    THROUGHPUT_CHANGE,
    TREND_POLICY,
    TREND_RUNS,
    _copy_db,
    _policy,
    _record,
)
from tests.sections.helpers import by_name, write_log
from tests.stats.helpers import NO_HTML, frames

os.environ.setdefault("DO_NOT_TRACK", "1")
os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")
# One OpenMP thread per process: the suite runs on every core (pytest-xdist), and two `gatekit demo`
# subprocesses timing 400 single-row predictions of a HistGradientBoosting model, each spinning up an OpenMP
# team per call on 2 shared cores, slowed each other from seconds to minutes (oversubscription).
os.environ.setdefault("OMP_NUM_THREADS", "1")


@pytest.fixture(scope="session", autouse=True)
def _history_outside_the_repository(tmp_path_factory: pytest.TempPathFactory) -> None:
    """Every `gatekit run` of the tests records into one temporary store, never .gatekit/ in the repository."""
    import os

    os.environ["GATEKIT_HISTORY_URL"] = str(tmp_path_factory.mktemp("history") / "history.db")
    os.environ.pop("GATEKIT_ALERT_WEBHOOK_URL", None)


@pytest.fixture
def repo() -> Path:
    return REPO


@pytest.fixture(scope="session")
def hmda_models(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The demo's HMDA candidate, production model and held-out rows (``gatekit demo``'s own training steps),
    trained once per test process for every test that reads them."""
    from gatekit.demo import train_hmda, train_hmda_production

    art = tmp_path_factory.mktemp("hmda")
    train_hmda(REPO, art)
    train_hmda_production(REPO, art)
    return art


@pytest.fixture
def demo_root(tmp_path: Path) -> Path:
    """A copy of the repository's data/ and policies/ in a temporary folder."""
    shutil.copytree(REPO / "data", tmp_path / "data")
    shutil.copytree(REPO / "policies", tmp_path / "policies")
    shutil.copytree(REPO / "expectations", tmp_path / "expectations")  # the policies' expectations_dir
    shutil.copytree(REPO / "examples", tmp_path / "examples")  # loan_approval_v2's custom_metrics.metrics_dir
    return tmp_path


# an artifact section on a signed model
@pytest.fixture
def files(tmp_path: Path) -> dict[str, Path]:
    X = pd.DataFrame({"a": np.arange(60.0), "b": np.arange(60.0) % 3})
    y = (X.a > 30).astype(int)
    out = {"data": tmp_path / "d.csv", "model": tmp_path / "m.pkl", "sig": tmp_path / "m.pkl.sig",
           "pem": tmp_path / "pub.pem", "card": tmp_path / "card.yaml", "prod_card": tmp_path / "prod.yaml"}
    X.assign(y=y).to_csv(out["data"], index=False)
    out["model"].write_bytes(pickle.dumps(LogisticRegression().fit(X, y)))
    key = Ed25519PrivateKey.generate()
    out["sig"].write_bytes(key.sign(out["model"].read_bytes()))
    out["pem"].write_bytes(key.public_key().public_bytes(Encoding.PEM, PublicFormat.SubjectPublicKeyInfo))
    out["raw_pub"] = tmp_path / "pub.b64"
    out["raw_pub"].write_text(base64.b64encode(key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)).decode())
    out["card"].write_text("name: m\nversion: 2.1.0\nowner: team\ntraining:\n  data_sha256: abc\nintended_use: ''\n")
    out["prod_card"].write_text('{"version": "2.0.10"}')
    out["key"] = key  # type: ignore[assignment]
    return out


# the calibration store: runs recorded by `gatekit run`
@pytest.fixture(scope="session")
def store(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """One SQLite store with ten runs of calib_e2e and four of trend_demo, recorded by `gatekit run`."""
    root = tmp_path_factory.mktemp("calib")
    db = root / "h.db"
    (root / "base.json").write_text(json.dumps(BASE), encoding="utf-8")
    policy = root / "calib.yaml"
    policy.write_text(CALIB_POLICY, encoding="utf-8")
    ids = []
    for i in range(10):
        m = {"auc_roc": CALIB_AUCS[i], "log_loss": LOGLOSS[i], "throughput_rows_per_s": 1000 + THROUGHPUT_CHANGE[i],
             "latency_p95_ms": 50 + LATENCY_CHANGE[i], "mape": 11}
        ids.append(_record(policy, m, db, root / "runs" / f"calib{i}"))
    trend = root / "trend.yaml"
    trend.write_text(TREND_POLICY, encoding="utf-8")
    trend_ids = [_record(trend, m, db, root / "runs" / f"trend{i}") for i, m in enumerate(TREND_RUNS)]
    return {"root": root, "db": db, "policy": policy, "ids": ids, "trend": trend, "trend_ids": trend_ids}


@pytest.fixture
def work(store: dict[str, Any], tmp_path: Path) -> dict[str, Any]:
    """The policy and a private copy of the store in tmp_path (tests that mark runs or write files)."""
    (tmp_path / "base.json").write_text(json.dumps(BASE), encoding="utf-8")
    policy = tmp_path / "calib.yaml"
    policy.write_text(CALIB_POLICY, encoding="utf-8")
    return {**store, "policy": policy, "db": _copy_db(store["db"], tmp_path / "h.db"), "dir": tmp_path}


# canary traffic logs
@pytest.fixture(scope="module")
def log(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, pd.DataFrame]:
    path = tmp_path_factory.mktemp("canary") / "traffic.csv"
    return path, write_log(path)


# a holdout scored by a candidate and by production
def sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


@pytest.fixture(scope="module")
def holdout(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, pd.DataFrame]:
    """A holdout scored by a candidate (``cand``, better) and by production (``prod``), with a group column."""
    rng = np.random.default_rng(20)
    n = 400
    y = (rng.random(n) < 0.4).astype(int)
    g = rng.choice(["a", "b", "c"], n)
    cand = np.round(sigmoid(1.9 * y + rng.standard_normal(n) - 0.6), 4)
    prod = np.round(sigmoid(1.0 * y + 0.3 * (g == "a") + rng.standard_normal(n) - 0.5), 4)
    path = tmp_path_factory.mktemp("holdout") / "holdout.csv"
    pd.DataFrame({"y": y, "cand": cand, "prod": prod, "grp": g}).to_csv(path, index=False)
    return path, pd.read_csv(path)  # expected values from the values as read back


# label leakage
@pytest.fixture(scope="module")
def leak(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    rng = np.random.default_rng(7)
    n = 120

    def frame() -> pd.DataFrame:
        t = rng.integers(0, 2, n)
        sparse = rng.normal(size=n)
        sparse[20:] = np.nan  # 20 usable pairs < min_pairs 30
        return pd.DataFrame({"t": t, "leak": t, "anti": 1 - t, "rnd": rng.normal(size=n),
                             "txt": np.where(t == 1, "yes", "no"), "sparse": sparse})

    folder = tmp_path_factory.mktemp("leak")
    r, c = frames(folder, frame(), frame())
    pol = {"version": 1, "drift": {**NO_HTML, "leakage": {}}}
    return {"c": c, "r": r, "checks": by_name(gatekit.run(pol, data=c, reference=r, target="t")),
            "no_target": by_name(gatekit.run(pol, data=c, reference=r))}


# the HMDA evaluation data
@pytest.fixture
def hmda(tmp_path: Path) -> tuple[pd.DataFrame, Path]:
    df = pd.read_csv(REPO / "data" / "hmda" / "hmda.csv").iloc[:800]
    path = tmp_path / "eval.csv"
    df.to_csv(path, index=False)
    return df, path


# a signed pickle, its key and a marker pickle
class _Marker:
    """Unpickling this writes a marker file: proof that a pickle was loaded."""

    def __init__(self, marker: str) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple[Any, ...]:
        return (Path(self.marker).write_text, ("unpickled",))


@pytest.fixture
def art(tmp_path: Path) -> dict[str, Any]:
    """Evaluation data, a logistic-regression pickle, its Ed25519 signature and public key, a marker pickle."""
    rng = np.random.default_rng(0)
    X = pd.DataFrame({"a": rng.integers(0, 50, 120).astype(float), "b": rng.integers(0, 3, 120)})
    y = (X.a + rng.normal(0, 10, 120) > 25).astype(int)
    f: dict[str, Any] = {"dir": tmp_path, "data": tmp_path / "d.csv", "model": tmp_path / "m.pkl",
                         "sig": tmp_path / "m.pkl.sig", "pub": tmp_path / "pub.pem", "evil": tmp_path / "evil.pkl",
                         "marker": tmp_path / "MARKER"}
    X.assign(y=y).to_csv(f["data"], index=False)
    f["model"].write_bytes(pickle.dumps(LogisticRegression().fit(X, y)))
    key = Ed25519PrivateKey.generate()
    f["key"] = key
    f["sig"].write_bytes(key.sign(f["model"].read_bytes()))
    f["pub"].write_bytes(key.public_key().public_bytes(Encoding.PEM, PublicFormat.SubjectPublicKeyInfo))
    f["evil"].write_bytes(pickle.dumps(_Marker(str(f["marker"]))))
    return f


# hand-built reports, stores and policies; servers that never answer
@pytest.fixture
def failing_run(tmp_path: Path) -> dict[str, Path]:
    """A policy whose auc_roc rule fails (exit 1) and alerts on every failure, with its metrics file."""
    (tmp_path / "m.json").write_text(json.dumps({"auc_roc": 0.7}), encoding="utf-8")
    return {"policy": _policy(tmp_path, ALERT_POLICY), "metrics": tmp_path / "m.json", "dir": tmp_path}


@pytest.fixture(scope="session")
def spark() -> Any:
    """A local Spark session (two cores) for the spark engine's tests, one per test process.

    gatekit's runs use the active session (:func:`gatekit.data.spark.session`), so every Spark test shares this
    JVM. Without Java the tests are skipped, unless GATEKIT_REQUIRE_SPARK is set (CI), where they fail.
    """
    try:
        from gatekit.data.spark import session

        s = session("local[2]", {"spark.sql.shuffle.partitions": "4", "spark.driver.memory": "1g"})
    except Exception as exc:  # noqa: BLE001 - no pyspark or no Java on this machine
        if os.environ.get("GATEKIT_REQUIRE_SPARK"):
            pytest.fail(f"GATEKIT_REQUIRE_SPARK is set but a local Spark session could not start: {exc}")
        pytest.skip(f"no local Spark session: {exc}")
    return s
