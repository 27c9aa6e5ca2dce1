"""Tests of :mod:`gatekit.data.engine`: what an input is, which engine runs it, and reading it on each."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import gatekit
from gatekit.core.errors import InputError
from gatekit.data import engine as eng


def _frame(n: int = 400, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    a = rng.normal(size=n)
    return pd.DataFrame({"a": a, "g": rng.choice(["x", "y", "z"], n), "y": (a + rng.normal(size=n) > 0).astype(int),
                         "s": np.round(1 / (1 + np.exp(-a)), 2)})


POLICY = {"version": 1, "name": "engines", "metrics": [
    {"name": "auc_roc", "op": ">=", "value": 0.6},
    {"name": "precision_at_0_5", "op": ">=", "value": 0.5},
    {"name": "demographic_parity_difference", "op": "<=", "value": 0.2, "params": {"sensitive": "g"}}]}


def _observed(report) -> list[tuple[str, str, float | None]]:
    return [(c.name, c.status.value, c.observed) for c in report.checks]


def test_source_kinds(tmp_path: Path) -> None:
    import ibis
    import polars as pl
    import pyarrow as pa

    df = _frame()
    assert eng.source_of(df, "data").kind == "pandas"
    assert eng.source_of(pl.from_pandas(df), "data").kind == "polars"
    assert eng.source_of(pl.from_pandas(df).lazy(), "data").kind == "polars"
    assert eng.source_of(pa.Table.from_pandas(df), "data").kind == "arrow"
    assert eng.source_of(ibis.memtable(df), "data").kind == "ibis"
    for i in range(3):
        df.iloc[i::3].to_parquet(tmp_path / f"part{i}.parquet")
    folder = eng.source_of(tmp_path, "data")
    assert folder.kind == "files" and [p.name for p in folder.paths] == ["part0.parquet", "part1.parquet",
                                                                         "part2.parquet"]
    assert len(eng.source_of(str(tmp_path / "part*.parquet"), "data").paths) == 3
    assert eng.source_of(tmp_path / "part0.parquet", "data").kind == "file"


@pytest.mark.parametrize(("value", "message"), [
    (3, r"must be a file path, a directory or glob of Parquet files, or a table \(pandas"),
    (pd.Series([1, 2]), r"must be a DataFrame, not a pandas Series"),
])
def test_unsupported_inputs_are_input_errors(value, message) -> None:
    with pytest.raises(InputError, match=message):
        eng.source_of(value, "data")


def test_an_empty_folder_or_pattern_is_an_input_error(tmp_path: Path) -> None:
    with pytest.raises(InputError, match=r"no \.parquet file"):
        eng.source_of(tmp_path, "data")
    with pytest.raises(InputError, match="no file matches"):
        eng.source_of(str(tmp_path / "*.parquet"), "data")
    (tmp_path / "a.csv").write_text("x\n1\n")
    with pytest.raises(InputError, match="only Parquet files"):
        eng.source_of(str(tmp_path / "*.csv"), "data")


def test_auto_picks_duckdb_when_the_data_would_not_fit(tmp_path: Path, monkeypatch) -> None:
    path = tmp_path / "d.parquet"
    _frame(5000).to_parquet(path)
    src = eng.source_of(path, "data")
    need = eng.estimated_pandas_bytes(src)
    assert need > 0
    monkeypatch.setattr(eng, "available_memory", lambda: int(need / eng.AUTO_MEMORY_SHARE) + 1)
    assert eng.choose_engine("auto", [src])[0] == "pandas"
    monkeypatch.setattr(eng, "available_memory", lambda: int(need / eng.AUTO_MEMORY_SHARE) - 1)
    engine, why = eng.choose_engine("auto", [src])
    assert engine == "duckdb" and "more than 25%" in why
    assert eng.choose_engine("auto", [eng.source_of(_frame(), "data")])[0] == "pandas"  # already in memory
    assert eng.choose_engine("pandas", [src]) == ("pandas", "asked for")
    assert eng.choose_engine("spark", [src]) == ("spark", "asked for")
    with pytest.raises(InputError, match="engine must be one of pandas, duckdb, spark, auto"):
        eng.choose_engine("sparc", [src])


def test_tables_from_python_give_the_file_s_figures_on_both_engines(tmp_path: Path) -> None:
    import ibis
    import polars as pl
    import pyarrow as pa

    df = _frame()
    path = tmp_path / "d.parquet"
    df.to_parquet(path)
    want = _observed(gatekit.run(POLICY, data=path, target="y", score="s", engine="pandas"))
    assert all(v is not None for _, _, v in want)
    for data in (df, pl.from_pandas(df), pa.Table.from_pandas(df), str(path)):
        for engine in ("pandas", "duckdb"):
            got = _observed(gatekit.run(POLICY, data=data, target="y", score="s", engine=engine))
            assert [(n, s) for n, s, _ in got] == [(n, s) for n, s, _ in want]
            assert np.allclose([v for *_, v in got], [v for *_, v in want], rtol=1e-12, atol=0)
    got = _observed(gatekit.run(POLICY, data=ibis.memtable(df), target="y", score="s"))  # auto: DuckDB
    assert np.allclose([v for *_, v in got], [v for *_, v in want], rtol=1e-12, atol=0)


def test_the_report_records_the_engine_and_its_versions(tmp_path: Path) -> None:
    import duckdb

    r = gatekit.run(POLICY, data=_frame(), target="y", score="s", engine="duckdb")
    assert r.metadata["engine"]["name"] == "duckdb" and r.metadata["engine"]["duckdb"] == duckdb.__version__
    assert r.metadata["inputs"]["files"]["data"]["path"] == "<pandas DataFrame>"
    assert len(r.metadata["inputs"]["files"]["data"]["sha256"]) == 64
    agg = r.metadata["inputs"]["aggregated_rows"]
    assert agg["rows"] == 400 and agg["groups"] <= 400


def test_the_content_hash_of_a_frame_follows_its_values() -> None:
    a, b = _frame(), _frame()
    assert eng.content_sha256(eng.source_of(a, "data")) == eng.content_sha256(eng.source_of(b, "data"))
    b.loc[0, "a"] += 1e-9
    assert eng.content_sha256(eng.source_of(a, "data")) != eng.content_sha256(eng.source_of(b, "data"))


def test_a_seeded_sample_is_repeatable_and_bounded() -> None:
    t = eng.to_ibis(_frame(5000))
    s1, s2 = eng.sample_frame(t, 500, 7), eng.sample_frame(t, 500, 7)
    assert len(s1) <= 500 and len(s1) > 400
    pd.testing.assert_frame_equal(s1, s2)
    assert len(eng.sample_frame(t, 10_000, 7)) == 5000  # a small table is taken whole


def test_batches_cover_every_row_once() -> None:
    df = _frame(1000)
    t = eng.to_ibis(df)
    parts = list(eng.iter_batches(t, ["a", "y"], 300))
    assert all(len(p) <= 300 for p in parts)
    whole = pd.concat(parts, ignore_index=True)
    assert sorted(whole["a"]) == sorted(df["a"]) and eng.row_count(t) == 1000


@pytest.mark.parametrize("kind", ["normal", "ties", "heavy", "tiny"])
def test_order_statistics_equal_numpys_sorted_values(kind: str) -> None:
    rng = np.random.default_rng(3)
    n = 5 if kind == "tiny" else 200_000
    values = {"normal": rng.normal(size=n), "ties": rng.integers(0, 7, n).astype(float) / 3,
              "heavy": rng.standard_cauchy(size=n), "tiny": np.array([3.0, -1.0, 2.0, 2.0, 9.0])}[kind]
    with_gaps = np.concatenate([values, [np.nan, np.inf, -np.inf]])
    t = eng.to_ibis(pd.DataFrame({"x": with_gaps}))
    ranks = sorted({0, n - 1, *(int(q * (n - 1)) for q in np.linspace(0, 1, 11)),
                    *(int(q * (n - 1)) + 1 for q in np.linspace(0, 0.9, 10))})
    count, got = eng.order_statistics(t, "x", ranks)
    srt = np.sort(values)
    assert count == n
    assert got == {k: float(srt[k]) for k in ranks}  # exact, not approximately
    with pytest.raises(ValueError, match="ranks must lie"):
        eng.order_statistics(t, "x", [n])


# --------------------------------------------------------------------------------------------------
# inputs one engine would read differently from the other: refused, never cast or renamed silently
# --------------------------------------------------------------------------------------------------


def test_parquet_files_that_disagree_on_a_type_are_refused(tmp_path: Path) -> None:
    # DuckDB would cast every file to the first one's types (1.4 read as 1): the gate passed on DuckDB what
    # pandas blocked
    df = _frame(100)
    df.to_parquet(tmp_path / "a.parquet")
    df.assign(s=df["s"].astype("float32")).to_parquet(tmp_path / "b.parquet")
    with pytest.raises(InputError, match=r"disagree on column 's': a.parquet has double, b.parquet has float"):
        eng.source_of(tmp_path, "data")
    df.drop(columns=["g"]).to_parquet(tmp_path / "b.parquet")
    with pytest.raises(InputError, match="no such column"):
        eng.source_of(str(tmp_path / "*.parquet"), "data")


def test_a_folder_with_other_files_is_refused_and_hive_keys_are_not_columns(tmp_path: Path) -> None:
    df = _frame(100)
    df.to_parquet(tmp_path / "a.parquet")
    (tmp_path / "notes.csv").write_text("x\n1\n")
    with pytest.raises(InputError, match="files that are not Parquet"):
        eng.source_of(tmp_path, "data")
    hive = tmp_path / "hive"
    df.to_parquet(hive, partition_cols=["g"])
    for engine in ("pandas", "duckdb"):  # the partition key is in folder names, not in the files: on neither
        with pytest.raises(InputError, match="sensitive column 'g' not found"):
            gatekit.run(POLICY, data=hive, target="y", score="s", engine=engine)


def test_duplicate_names_and_names_differing_in_case(tmp_path: Path) -> None:
    df = _frame(100)
    twice = pd.concat([df, df[["s"]]], axis=1)
    for engine in ("pandas", "duckdb"):
        with pytest.raises(InputError, match="two columns named 's'"):
            gatekit.run(POLICY, data=twice, target="y", score="s", engine=engine)
    cased = df.assign(S=0.0)
    assert gatekit.run(POLICY, data=cased, target="y", score="s", engine="pandas").checks
    with pytest.raises(InputError, match="differ only in case"):  # DuckDB would rename 'S' to 'S_1'
        gatekit.run(POLICY, data=cased, target="y", score="s", engine="duckdb")


def test_a_model_that_exits_or_returns_the_wrong_length_is_bad_input() -> None:
    df = _frame(200)

    class Exits:
        classes_ = (0, 1)

        def predict_proba(self, X):
            raise SystemExit(0)

    class Short:
        classes_ = (0, 1)

        def predict_proba(self, X):
            return np.full((len(X) - 3, 2), 0.5)

    for engine in ("pandas", "duckdb"):
        with pytest.raises(InputError, match="SystemExit"):
            gatekit.run(POLICY, data=df, target="y", model=Exits(), features=["a"], engine=engine)
        with pytest.raises(InputError, match=r"returned \d+ scores for \d+ rows|wrong length|scores for"):
            gatekit.run(POLICY, data=df, target="y", model=Short(), features=["a"], engine=engine)


def test_python_objects_that_are_not_tables_or_models() -> None:
    import polars as pl
    from sklearn.linear_model import LogisticRegression

    with pytest.raises(InputError, match=r"not polars\.Series"):
        gatekit.run(POLICY, data=pl.Series([1, 2]), target="y", score="s")
    lazy = pl.LazyFrame({"a": [1, 2]}).select(pl.col("missing"))
    with pytest.raises(InputError, match=r"LazyFrame could not be collected"):
        gatekit.run(POLICY, data=lazy, target="y", score="s")
    with pytest.raises(InputError, match="is the class LogisticRegression, not a fitted model"):
        gatekit.run(POLICY, data=_frame(), target="y", model=LogisticRegression)


def test_an_ibis_table_and_a_reference_file_run_on_one_connection(tmp_path: Path) -> None:
    # the reference file was opened on gatekit's own connection while the data stayed on the user's: the unseen
    # category join found no table "reference" and every such rule errored
    import ibis

    df = _frame(300)
    df.to_parquet(tmp_path / "ref.parquet")
    pol = {"version": 1, "data_quality": {"columns": {"g": {"max_unseen_share": 0}}}}
    df.to_parquet(tmp_path / "cur.parquet")
    con = ibis.duckdb.connect()
    con.raw_sql("CREATE TABLE reference AS SELECT 'nope' AS g")  # a user's table of that name is never used
    data = con.read_parquet(tmp_path / "cur.parquet")
    c = gatekit.run(pol, data=data, reference=tmp_path / "ref.parquet").checks[0]
    assert c.status.value == "pass", c.message
    other = ibis.duckdb.connect().read_parquet(tmp_path / "cur.parquet")
    with pytest.raises(InputError, match="two different connections"):
        gatekit.run(pol, data=data, reference=other)


def test_category_columns_are_categories_on_both_engines(tmp_path: Path) -> None:
    # DuckDB reads a pandas category as an enum ibis calls text (and a Parquet file pandas wrote as plain text):
    # a `type: category` rule passed on pandas and failed on DuckDB
    import polars as pl
    import pyarrow as pa

    df = pd.DataFrame({"c": ["a", "b", "a"] * 20, "k": pd.Categorical(["x", "y", "x"] * 20), "n": [1, 2, 3] * 20})
    df.to_parquet(tmp_path / "d.parquet")
    pol = {"version": 1, "data_quality": {"columns": {"c": {"type": "category"}, "k": {"type": "category"},
                                                      "n": {"type": "category"}}}}
    as_text = {"version": 1, "data_quality": {"columns": {"k": {"type": "string"}}}}  # its categories' type
    want = [("c.type", "fail"), ("k.type", "pass"), ("n.type", "fail"), ("k.type", "pass")]
    for data in (df, tmp_path / "d.parquet", pl.from_pandas(df), pa.Table.from_pandas(df)):
        assert eng.categorical_columns(eng.source_of(data, "data")) == ["k"]
        for engine in ("pandas", "duckdb"):
            checks = [*gatekit.run(pol, data=data, engine=engine).checks,
                      *gatekit.run(as_text, data=data, engine=engine).checks]
            assert [(c.name, c.status.value) for c in checks if c.name.endswith(".type")] == want, (data, engine)


def test_a_category_column_matches_a_category_signature_on_both_engines() -> None:
    df = pd.DataFrame({"c": ["a", "b", "a"] * 20, "k": pd.Categorical(["x", "y", "x"] * 20), "n": [1.0, 2, 3] * 20})
    for kind in ("category", "string"):
        sig = {"c": "string", "k": kind, "n": "float"}
        pol = {"version": 1, "compatibility": {"feature_signature": {"mode": "strict", "expected": sig,
                                                                     "candidate": sig, "validate_data": True}}}
        for engine in ("pandas", "duckdb"):
            checks = gatekit.run(pol, data=df, engine=engine).checks
            assert [c.status.value for c in checks] == ["pass", "pass"], (kind, engine, [c.message for c in checks])


def test_the_auto_note_says_sizes_in_words() -> None:
    assert [eng._size(n) for n in (0, 512, 48 * 1024, 120 * 1024**2, int(3.25 * 1024**3), 40 * 1024**3)] == [
        "0 bytes", "512 bytes", "48 KiB", "120 MiB", "3.2 GiB", "40 GiB"]



def test_nan_in_parquet_and_arrow_is_missing_on_duckdb_as_on_pandas(tmp_path: Path) -> None:
    """pyarrow, polars and Spark write NaN into Parquet as a value; pandas reads it as missing, so must DuckDB."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    import gatekit

    arrow = pa.table({"x": pa.array([1.0, float("nan"), 3.0, None, 50.0]), "n": pa.array([1, 2, 3, 4, 5])})
    pq.write_table(arrow, tmp_path / "nan.parquet")
    policy = {"version": 1, "data_quality": {"columns": {"x": {"max_null_fraction": 0.1, "min": 0, "max": 10}}}}
    for data in (tmp_path / "nan.parquet", arrow):
        by_engine = {e: {c.name: c.observed for c in gatekit.run(policy, data=data, engine=e).checks}
                     for e in ("pandas", "duckdb")}
        assert by_engine["duckdb"] == by_engine["pandas"]
        assert by_engine["duckdb"]["x.max_null_fraction"] == 2 / 5  # NaN and None
        assert by_engine["duckdb"]["x.range"] == 1 / 3  # 50 of the three present values 1, 3, 50
