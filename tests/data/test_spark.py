"""Tests of :mod:`gatekit.data.spark`: inputs on Spark give the DuckDB engine's tables, rows and figures.

Every test runs on a real local Spark session (the ``spark`` fixture); the expected values come from the DuckDB
engine or the pandas engine on the same rows, computed independently of Spark.
"""

from __future__ import annotations

import pickle
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import gatekit
from gatekit.core.errors import InputError
from gatekit.data import engine as eng
from tests.data.test_engine import POLICY, _frame, _observed


def _open(value, engine: str, name: str = "data"):
    src = eng.source_of(value, name, engine)
    con = eng.connection_for([src], engine)
    return eng.open_table(src, con, name)


def test_a_csv_is_typed_as_on_duckdb(spark, tmp_path: Path) -> None:
    path = tmp_path / "d.csv"
    path.write_text('i,f,im,b,t,na,q\n'
                    '1,1.5,7,True,a,NA,"x, ""y"""\n'
                    '-2,2,,False,b,nan,"two\nlines"\n'
                    '3,-0.25,9,True,007,,plain\n')
    duck, sp = _open(str(path), "duckdb"), _open(str(path), "spark")
    assert sp.schema() == duck.schema()
    assert {str(c): str(t) for c, t in sp.schema().items()} == {
        "i": "int64", "f": "float64", "im": "int64", "b": "boolean", "t": "string", "na": "string", "q": "string"}
    pd.testing.assert_frame_equal(eng.sample_frame(sp, 10, 1), eng.sample_frame(duck, 10, 1))
    want = pd.read_csv(path)  # the pandas engine's reading of the same file
    got = eng.sample_frame(sp, 10, 1)
    assert got["q"].tolist() == want["q"].tolist() and got["t"].tolist() == want["t"].astype(str).tolist()
    assert got["na"].isna().all() and want["na"].isna().all()


def test_parquet_files_keep_their_order_and_samples_equal_duckdb_s(spark, tmp_path: Path) -> None:
    folder = tmp_path / "parts"
    folder.mkdir()
    sizes = [30, 500, 7, 2000]  # Spark reads the largest file first; positions must follow the sorted paths
    start = 0
    for i, n in enumerate(sizes):
        pq.write_table(pa.table({"k": np.arange(start, start + n), "v": np.arange(n) * 0.5}), folder / f"{i}.parquet")
        start += n
    duck, sp = _open(str(folder), "duckdb"), _open(str(folder), "spark")
    base, pos = eng.positioned(sp)
    got = base.select(k=base.k, p=pos).to_pandas()
    assert (got["k"].to_numpy() == got["p"].to_numpy()).all() and len(got) == sum(sizes)
    a, b = eng.sample_frame(sp, 300, 20240611), eng.sample_frame(duck, 300, 20240611)
    assert len(a) == 300
    pd.testing.assert_frame_equal(a, b)
    # the same rows as the hash of the positions computed here by numpy (the definition)
    from gatekit.stats.leakage import fold_of

    rate = 1.2 * 300 / sum(sizes)
    keep = np.flatnonzero(fold_of(np.arange(sum(sizes), dtype=np.int64), 4294967296, 20240611) < int(rate * 2**32))
    assert a["k"].tolist() == keep[:300].tolist()


def test_frames_from_python_give_the_pandas_engine_s_figures(spark, tmp_path: Path) -> None:
    df = _frame()
    df.loc[[3, 17], "a"] = None  # missing values stay missing on the way to Spark (Arrow, not NaN)
    want = _observed(gatekit.run(POLICY, data=df, target="y", score="s", engine="pandas"))
    for data in (df, pa.Table.from_pandas(df), spark.createDataFrame(df.astype({"a": "float64"})).na.fill(0.0, ["s"])):
        got = _observed(gatekit.run(POLICY, data=data, target="y", score="s", engine="spark"))
        assert [(n, s) for n, s, _ in got] == [(n, s) for n, s, _ in want]
        assert np.allclose([v for *_, v in got], [v for *_, v in want], rtol=1e-12, atol=0)
    auto = gatekit.run(POLICY, data=spark.createDataFrame(df), target="y", score="s")
    assert auto.metadata["engine"]["name"] == "spark" and auto.metadata["engine"]["why"].startswith("auto")
    assert auto.metadata["engine"]["pyspark"] == __import__("pyspark").__version__
    assert auto.metadata["inputs"]["files"]["data"]["sha256"] is None  # never collected to hash it
    nulls = eng.open_table(eng.source_of(df, "data"), eng.connection_for([], "spark"), "data")
    assert int(nulls.a.isnull().sum().to_pyarrow().as_py()) == 2


def test_a_spark_table_name_and_a_missing_one(spark) -> None:
    df = _frame()
    spark.createDataFrame(df).createOrReplaceTempView("gatekit_test_rows")
    want = _observed(gatekit.run(POLICY, data=df, target="y", score="s", engine="pandas"))
    got = _observed(gatekit.run(POLICY, data="gatekit_test_rows", target="y", score="s", engine="spark"))
    assert np.allclose([v for *_, v in got], [v for *_, v in want], rtol=1e-12, atol=0)
    with pytest.raises(InputError, match="no such Spark table"):
        gatekit.run(POLICY, data="no_such_table_here", target="y", score="s", engine="spark")
    with pytest.raises(InputError, match="only the spark engine reads"):
        gatekit.run(POLICY, data=spark.createDataFrame(df), target="y", score="s", engine="duckdb")


def test_a_model_scores_on_the_executors_and_its_failures_are_bad_input(spark) -> None:
    from sklearn.linear_model import LogisticRegression

    df = _frame(600)
    model = LogisticRegression().fit(df[["a"]], df["y"])
    want = _observed(gatekit.run(POLICY, data=df, target="y", model=model, features=["a"], engine="pandas"))
    got = gatekit.run(POLICY, data=df, target="y", model=model, features=["a"], engine="spark")
    assert np.allclose([v for *_, v in _observed(got)], [v for *_, v in want], rtol=1e-12, atol=0)
    assert got.metadata["inputs"]["aggregated_rows"]["rows"] == 600

    class Exits:
        classes_ = (0, 1)

        def predict_proba(self, X):
            raise SystemExit(0)

    with pytest.raises(InputError, match="SystemExit"):
        gatekit.run(POLICY, data=df, target="y", model=Exits(), features=["a"], engine="spark")


def test_an_onnx_model_travels_as_its_bytes(tmp_path: Path) -> None:
    from skl2onnx import to_onnx
    from sklearn.linear_model import LogisticRegression

    from gatekit.model.onnx import OnnxModel

    df = _frame(300)
    sk = LogisticRegression().fit(df[["a"]].astype(np.float32), df["y"])
    raw = to_onnx(sk, df[["a"]].astype(np.float32).to_numpy()[:1], options={"zipmap": False}).SerializeToString()
    model = OnnxModel(raw, features=["a"])
    copy = pickle.loads(pickle.dumps(model))
    assert np.array_equal(copy.predict_proba(df[["a"]]), model.predict_proba(df[["a"]]))
    import onnxruntime as ort

    wrapped = OnnxModel.from_session(ort.InferenceSession(raw, providers=["CPUExecutionProvider"]), features=["a"])
    with pytest.raises(TypeError, match=r"pass the \.onnx file"):
        pickle.dumps(wrapped)


def test_uris_and_table_names_are_told_apart(tmp_path: Path) -> None:
    assert eng.source_of("s3a://bucket/loans/", "data").kind == "uri"
    assert eng.source_of("warehouse.loans", "data", "spark").kind == "table"
    assert eng.source_of("warehouse.loans", "data", "duckdb").kind == "file"  # other engines: a missing file
    assert eng.source_of("missing.csv", "data", "spark").kind == "file"  # a file name is never a table name
    (tmp_path / "t" / "_delta_log").mkdir(parents=True)
    assert eng.source_of(str(tmp_path / "t"), "data").kind == "delta"
    with pytest.raises(InputError, match="only the spark engine reads"):
        eng.choose_engine("duckdb", [eng.source_of("s3a://bucket/x", "data")])
    assert eng.choose_engine("auto", [eng.source_of("s3a://bucket/x", "data")])[0] == "spark"


def test_spark_conf_on_the_command_line(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from gatekit.cli import app

    res = CliRunner().invoke(app, ["run", str(tmp_path / "p.yaml"), "--engine", "spark", "--spark-conf", "novalue"])
    assert res.exit_code == 2
    assert "KEY=VALUE" in res.output


def test_the_policy_names_the_spark_session(tmp_path: Path) -> None:
    from gatekit.policy.loader import load_policy
    from gatekit.policy.run_inputs import merge_options

    path = tmp_path / "p.yaml"
    path.write_text("version: 1\nname: s\ninputs:\n  data: s3a://bucket/rows/\n  engine: spark\n  spark:\n"
                    "    master: local[2]\n    conf: {spark.executor.memory: 2g, spark.sql.adaptive.enabled: true}\n"
                    "metrics:\n  - {name: auc_roc, op: '>=', value: 0.5}\n")
    opts = merge_options(load_policy(path))
    assert opts.data == "s3a://bucket/rows/" and opts.engine == "spark" and opts.spark_master == "local[2]"
    assert opts.spark_conf == {"spark.executor.memory": "2g", "spark.sql.adaptive.enabled": "true"}


CONNECT_SCRIPT = """
import json, sys
from pyspark.sql import SparkSession
spark = SparkSession.builder.remote("local[2]").getOrCreate()   # a local Spark Connect server
import gatekit
from sklearn.linear_model import LogisticRegression
from tests.data.test_engine import POLICY, _frame, _observed
df = _frame(600)
model = LogisticRegression().fit(df[["a"]], df["y"])
out = {}
for name, data in (("pandas", df), ("connect", spark.createDataFrame(df))):
    report = gatekit.run(POLICY, data=data, target="y", model=model, features=["a"])
    out[name] = [report.metadata["engine"]["name"], _observed(report)]
print(json.dumps(out))
"""


@pytest.mark.slow
def test_a_spark_connect_session_gives_the_same_figures(spark) -> None:
    """A DataFrame of a Spark Connect session (``sc://``; here a local Connect server) runs the same statistics,
    and the model scores on its executors (``mapInArrow`` through Connect)."""
    import json
    import subprocess
    import sys

    from tests.helpers import REPO

    proc = subprocess.run([sys.executable, "-c", CONNECT_SCRIPT], capture_output=True, text=True, cwd=REPO,
                          timeout=600, env={**__import__("os").environ, "PYTHONPATH": str(REPO)})
    assert proc.returncode == 0, proc.stderr[-3000:]
    got = json.loads(proc.stdout.strip().splitlines()[-1])
    assert got["pandas"][0] == "pandas" and got["connect"][0] == "spark"
    want, mine = got["pandas"][1], got["connect"][1]
    assert [(n, s) for n, s, _ in mine] == [(n, s) for n, s, _ in want]
    assert np.allclose([v for *_, v in mine], [v for *_, v in want], rtol=1e-12, atol=0)


def test_a_user_s_session_keeps_its_settings_after_a_run(spark) -> None:
    spark.conf.set("spark.sql.ansi.enabled", "true")
    spark.conf.set("spark.sql.session.timeZone", "Europe/Paris")
    try:
        report = gatekit.run(POLICY, data=spark.createDataFrame(_frame()), target="y", score="s")
        assert report.metadata["engine"]["name"] == "spark"
        assert spark.conf.get("spark.sql.ansi.enabled") == "true"
        assert spark.conf.get("spark.sql.session.timeZone") == "Europe/Paris"
        with pytest.raises(InputError):  # also when the run fails
            gatekit.run(POLICY, data=spark.createDataFrame(_frame()), target="nope", score="s")
        assert spark.conf.get("spark.sql.ansi.enabled") == "true"
    finally:
        spark.conf.set("spark.sql.ansi.enabled", "false")
        spark.conf.set("spark.sql.session.timeZone", "UTC")


def test_spark_settings_that_cannot_work_are_refused_quickly(spark) -> None:
    import time

    from gatekit.data.spark import session

    start = time.monotonic()
    with pytest.raises(InputError, match="does not answer"):
        session("spark://127.0.0.1:1")
    with pytest.raises(InputError, match=r"is not host:port|does not answer"):
        session("sc://localhost:notaport")
    assert time.monotonic() - start < 15  # Spark's own client would retry for about a minute
    with pytest.raises(InputError, match="already running in this process"):
        session("local[1]")  # the fixture's local[2] session is active: another master cannot start


def test_a_table_name_under_auto(spark) -> None:
    df = _frame()
    spark.createDataFrame(df).createOrReplaceTempView("gatekit_auto_rows")
    got = gatekit.run(POLICY, data="gatekit_auto_rows", target="y", score="s")  # a session is active: Spark
    assert got.metadata["engine"]["name"] == "spark"
    want = _observed(gatekit.run(POLICY, data=df, target="y", score="s", engine="pandas"))
    assert np.allclose([v for *_, v in _observed(got)], [v for *_, v in want], rtol=1e-12, atol=0)
    with pytest.raises(InputError, match="run with --engine spark"):
        gatekit.run(POLICY, data="gatekit_auto_rows", target="y", score="s", engine="duckdb")


def test_infinities_are_seen_on_spark(spark, tmp_path: Path) -> None:
    """ibis' isinf is FALSE on PySpark: an infinity must still stop PSI and fail an integer type, as elsewhere."""
    rng = np.random.default_rng(3)
    ref = pd.DataFrame({"x": rng.normal(size=2000), "k": np.arange(2000, dtype=float)})
    cur = ref.copy()
    cur.loc[:39, "x"] = np.inf
    cur.loc[5, "k"] = -np.inf
    ref.to_parquet(tmp_path / "ref.parquet")
    cur.to_parquet(tmp_path / "cur.parquet")
    policy = {"version": 1, "name": "inf", "drift": {"numerical": {"method": "psi", "threshold": 0.1},
                                                     "evidently_report": False},
              "data_quality": {"columns": {"k": {"type": "integer"}}}}
    got = {}
    for engine in ("pandas", "duckdb", "spark"):
        report = gatekit.run(policy, data=str(tmp_path / "cur.parquet"), reference=str(tmp_path / "ref.parquet"),
                             engine=engine)
        got[engine] = {c.name: c.status.value for c in report.checks}
    assert got["spark"] == got["duckdb"] == got["pandas"]
    assert got["spark"]["x.psi"] == "not_computable"
    assert got["spark"]["k.type"] == "fail"  # -inf is not a whole number


def test_hostile_inputs_on_spark_read_as_on_duckdb(spark, tmp_path: Path) -> None:
    """Findings of the hostile review, each pinned: glob characters in a file name, Java-only number spellings,
    nested folders' order, pandas' saved index, an integer sum that overflows, temporary views left behind."""
    (tmp_path / "d[1].csv").write_text("v\n1\n2\n3\n")
    (tmp_path / "d1.csv").write_text("v\n100\n")
    assert eng.row_count(_open(str(tmp_path / "d[1].csv"), "spark")) == 3
    (tmp_path / "amount.csv").write_text("amount\n1.5\n2.0\n3d\n0x1Ap0\n")
    assert str(_open(str(tmp_path / "amount.csv"), "spark").schema()["amount"]) == "string"
    for sub in ("x", "x-y"):
        (tmp_path / "nest" / sub).mkdir(parents=True)
    pd.DataFrame({"k": [1, 2, 3]}).to_parquet(tmp_path / "nest" / "x" / "p.parquet", index=False)
    pd.DataFrame({"k": [4, 5]}, index=[7, 3]).to_parquet(tmp_path / "nest" / "x-y" / "p.parquet")  # index saved
    sp, duck = _open(str(tmp_path / "nest"), "spark"), _open(str(tmp_path / "nest"), "duckdb")
    base, pos = eng.positioned(sp)
    got = base.order_by(pos).k.to_pyarrow().to_pylist()
    dbase, dpos = eng.positioned(duck)
    assert got == dbase.order_by(dpos).k.to_pyarrow().to_pylist() and got[:3] == [1, 2, 3]  # x/ before x-y/
    assert "__index_level_0__" not in sp.columns
    policy = {"version": 1, "name": "sum", "data_quality": {"expectations": [
        {"type": "expect_column_sum_to_be_between", "kwargs": {"column": "big", "max_value": 0}}]}}
    big = pd.DataFrame({"big": pd.array([2**62] * 3 + [None], dtype="Int64")})
    check = gatekit.run(policy, data=big, engine="spark").checks[0]
    assert check.status.value in ("error", "not_computable"), (check.status, check.observed)  # never a wrapped sum
    import re

    ours = re.compile(r"^gatekit_(data|reference)_[0-9a-f]{8}(_pos)?$")
    assert not [t for t in spark.catalog.listTables() if ours.match(t.name)]  # views dropped after runs


def test_spark_settings_are_checked_before_the_jvm_and_never_echoed(spark, tmp_path: Path) -> None:
    from gatekit.data.spark import java_message, redact, session

    with pytest.raises(InputError, match="is not a Spark master URL"):
        session("local[abc]")
    assert redact("value 'hunter2' is invalid", {"spark.sql.shuffle.partitions": "hunter2"}) == (
        "value '<value>' is invalid")
    assert java_message(RuntimeError("An error occurred while calling o46.parquet.\n: "
                                     "org.apache.spark.SparkException: [X] the footer is bad.\n\tat x")) == (
        "[X] the footer is bad.")
    with pytest.raises(InputError, match="engine is duckdb"):
        gatekit.run(POLICY, data=_frame(), target="y", score="s", engine="duckdb", spark_master="local[2]")
