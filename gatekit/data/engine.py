"""The data plane's engines: where the rows are, and how sections get small aggregates of them.

Three engines (DESIGN.md, "The data plane"):

- ``pandas``: the rows are a pandas DataFrame in memory (today's path; small data and objects from Python);
- ``duckdb``: the rows are an ibis table on an in-process DuckDB connection. Parquet and CSV files are scanned
  lazily and out of core; DataFrames, polars frames and Arrow tables are registered without a copy. Sections
  ask the engine for aggregates (counts, sums, quantiles) and never pull a whole table into memory;
- ``spark``: the rows are an ibis table on the PySpark backend (:mod:`gatekit.data.spark`): the same ibis
  expressions run on a Spark cluster or a local session, and per-row work runs on the executors
  (:func:`map_batches`).

``auto`` picks DuckDB when the inputs would not comfortably fit in memory (:func:`choose_engine`).

An input is described by a :class:`Source` (:func:`source_of`): a file, a directory or glob of Parquet files,
a pandas or polars DataFrame, a pyarrow Table, an ibis table; on Spark also a pyspark DataFrame, a Spark table
name, a Delta table folder, or an object-store URI (``s3a://``, ``abfss://``, ``gs://``, ``hdfs://``).
"""

from __future__ import annotations

import glob as globmod
import hashlib
import os
import re
import secrets
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from gatekit.core.errors import input_error
from gatekit.data.readers import PARQUET_PANDAS_FACTOR, available_memory, check_csv_header, parquet_decoded_bytes

ENGINES = ("pandas", "duckdb", "spark", "auto")
"""Engine names accepted by ``--engine`` and the policy's ``inputs.engine``."""
TABLE_ENGINES = ("duckdb", "spark")
"""Engines whose rows are an ibis table (sections ask them for aggregates)."""
SPARK_KINDS = ("spark", "table", "uri", "delta")
"""Source kinds only the spark engine reads."""

AUTO_MEMORY_SHARE = 0.25
"""``auto`` picks DuckDB when the inputs' estimated size as pandas frames exceeds this share of available memory."""

PANDAS_EXPANSION = {".parquet": 3.0, ".pq": 3.0, ".csv": 6.0, ".txt": 6.0, ".gz": 24.0}
"""Estimated pandas bytes per file byte, by suffix, for files whose decoded size cannot be read from a footer: a
CSV of numbers takes about as much memory as its text, one of short strings up to about 20 times (a Python
object per value); the estimate errs high, since DuckDB is the safe side; gzip compresses text about 4 times."""

_GLOB_CHARS = frozenset("*?[")
_URI = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://")
_TABLE_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*){0,2}$")
_FILE_SUFFIX = re.compile(r"\.(csv|txt|parquet|pq|gz|json|tsv)$", re.IGNORECASE)


@dataclass
class Source:
    """One tabular input, before it is read.

    Parameters
    ----------
    kind : {"file", "files", "pandas", "polars", "arrow", "ibis", "spark", "table", "uri", "delta"}
        A single CSV/Parquet file; several Parquet files (a directory or a glob); a pandas DataFrame; a polars
        DataFrame; a pyarrow Table; an ibis table expression; a pyspark DataFrame; a Spark table name; Parquet
        files at an object-store URI; a Delta table folder (the last four: spark engine only).
    label : str
        How messages name the input: the path, or ``"<pandas DataFrame>"``.
    paths : list of pathlib.Path
        The files (``kind`` "file" or "files").
    obj : object or None
        The in-memory object (the other kinds).
    """

    kind: str
    label: str
    paths: list[Path] = field(default_factory=list)
    obj: Any = None

    @property
    def in_memory(self) -> bool:
        """True for objects handed over from Python (no file to read)."""
        return self.kind in ("pandas", "polars", "arrow", "ibis", "spark")


def _type_path(obj: Any) -> str:
    t = type(obj)
    return f"{t.__module__.split('.')[0]}.{t.__qualname__}"


def source_of(value: Any, role: str, engine: str | None = None) -> Source:
    """Describe an input value: a path (file, directory of Parquet files, glob) or a table object.

    Parameters
    ----------
    value : str, os.PathLike, pandas.DataFrame, polars.DataFrame, pyarrow.Table or ibis.Table
        The input as given to ``gatekit.run`` or on the command line.
    role : str
        ``"data"`` or ``"reference"``, for messages.
    engine : str, optional
        The engine asked for: with ``"spark"`` (or ``"auto"`` while this process has a Spark session) a name that
        is no file, such as ``warehouse.loans``, is a Spark table name.

    Returns
    -------
    Source

    Raises
    ------
    InputError
        An unsupported type, a path that does not exist, a directory or glob with no Parquet file.
    """
    module = type(value).__module__.split(".")[0]
    if module == "pyspark" and hasattr(value, "mapInArrow") and hasattr(value, "schema"):
        return _checked_names(Source("spark", "<pyspark DataFrame>", obj=value), list(value.columns), role)
    if module == "pandas":
        if not isinstance(value, __import__("pandas").DataFrame):
            raise input_error(f"{role} must be a DataFrame, not a pandas {type(value).__name__}", key=role)
        return _checked_names(Source("pandas", "<pandas DataFrame>", obj=value), list(value.columns), role)
    if module == "polars" and type(value).__name__ == "LazyFrame":
        try:
            value = value.collect()
        except Exception as exc:  # noqa: BLE001 - the user's query failing is bad input
            raise input_error(f"the polars LazyFrame could not be collected: {type(exc).__name__}: "
                              f"{str(exc)[:300]}", key=role) from None
        return _checked_names(Source("polars", "<polars LazyFrame>", obj=value), list(value.columns), role)
    if module == "polars" and type(value).__name__ == "DataFrame":
        return _checked_names(Source("polars", "<polars DataFrame>", obj=value), list(value.columns), role)
    if module == "pyarrow" and hasattr(value, "schema") and hasattr(value, "num_rows"):
        return _checked_names(Source("arrow", "<pyarrow Table>", obj=value), list(value.column_names), role)
    if module == "ibis" and hasattr(value, "schema") and hasattr(value, "to_pyarrow_batches"):
        return Source("ibis", "<ibis table>", obj=value)
    if not isinstance(value, (str, os.PathLike)):
        raise input_error(f"{role} must be a file path, a directory or glob of Parquet files, or a table (pandas or "
                          f"polars DataFrame, pyarrow Table, ibis table), not {_type_path(value)}", key=role)
    text = os.fspath(value)
    if not isinstance(text, str):
        raise input_error(f"{role} must be a text path, not bytes", key=role)
    if _URI.match(text) and not text.lower().startswith("file:"):
        return Source("uri", text)
    path = Path(text)
    if path.is_dir() and (path / "_delta_log").is_dir():
        return Source("delta", text, paths=[path])
    if (not path.exists() and looks_like_table(text)
            and (engine == "spark" or (engine in (None, "auto") and _spark_session_active()))):
        return Source("table", text)  # a Spark table name (auto: when this process has a Spark session)
    if path.is_dir():
        found = sorted(p for p in path.rglob("*") if p.is_file() and not p.name.startswith((".", "_")))
        files = [p for p in found if p.suffix.lower() in (".parquet", ".pq")]
        if not files:
            raise input_error("the directory holds no .parquet file", text, key=role)
        others = [p for p in found if p not in files]
        if others:  # a folder of Parquet files and something else is not what the user thinks it is
            raise input_error(f"the directory holds files that are not Parquet (e.g. {others[0].name!r}); give a "
                              "glob such as dir/*.parquet to read only the Parquet files", text, key=role)
        return _same_schema(Source("files", text, paths=files), role)
    if _GLOB_CHARS & set(path.name) and not path.exists():
        files = sorted(Path(p) for p in globmod.glob(text, recursive=True) if Path(p).is_file())
        if not files:
            raise input_error("no file matches the pattern", text, key=role)
        bad = [p for p in files if p.suffix.lower() not in (".parquet", ".pq")]
        if bad:
            raise input_error(f"a pattern may match only Parquet files; {bad[0].name!r} is not one", text, key=role)
        return _same_schema(Source("files", text, paths=files), role)
    return Source("file", text, paths=[path])


def looks_like_table(text: str) -> bool:
    """Tell whether a missing path could be a Spark table name (``db.table``, no file suffix)."""
    return bool(_TABLE_NAME.match(text)) and not _FILE_SUFFIX.search(text)


def _spark_session_active() -> bool:
    """Tell whether this process has an active Spark session (without importing pyspark when it has none)."""
    import sys

    sql = sys.modules.get("pyspark.sql")
    try:
        return sql is not None and sql.SparkSession.getActiveSession() is not None
    except Exception:  # noqa: BLE001 - a half-started session counts as none
        return False


def _checked_names(source: Source, names: list[Any], role: str, case: bool = False) -> Source:
    """Refuse a table with two columns of one name.

    With ``case`` (DuckDB matches column names ignoring case, and renames the second of ``x`` and ``X``), also two
    names that differ only in case.
    """
    text = [str(n) for n in names]
    dup = sorted({n for n in text if text.count(n) > 1})
    if dup:
        raise input_error(f"the {role} table has two columns named {dup[0]!r}; rename one (every rule would read "
                          "only one of them)", source.label, key=role)
    if not case:
        return source
    lower: dict[str, str] = {}
    for n in text:
        if n.lower() in lower:
            raise input_error(f"the {role} table has columns {lower[n.lower()]!r} and {n!r}, which differ only in "
                              "case; DuckDB matches column names ignoring case, so rename one", source.label, key=role)
        lower[n.lower()] = n
    return source


def _same_schema(source: Source, role: str) -> Source:
    """Refuse Parquet files whose columns or types differ (DuckDB would cast every file to the first one's types)."""
    import pyarrow.parquet as pq

    first = None
    for p in source.paths:
        try:
            schema = pq.read_schema(p)
        except Exception as exc:  # noqa: BLE001 - an unreadable footer is bad input
            raise input_error(f"cannot read the Parquet file's schema: {str(exc)[:200]}", str(p), key=role) from None
        fields = [(f.name, str(f.type)) for f in schema if not f.name.startswith("__index_level_")]
        if first is None:
            first = (p, fields)
            _checked_names(source, [n for n, _ in fields], role)
            continue
        if fields != first[1]:
            a, b = dict(first[1]), dict(fields)
            diff = next(((n, a.get(n), b.get(n)) for n in dict.fromkeys([*a, *b]) if a.get(n) != b.get(n)),
                        ("(column order)", None, None))
            raise input_error(f"the Parquet files disagree on column {diff[0]!r}: {first[0].name} has "
                              f"{diff[1] or 'no such column'}, {p.name} has {diff[2] or 'no such column'}; every file "
                              "of one input must have the same columns and types (gatekit never casts them "
                              "silently)", source.label, key=role)
    return source


def estimated_pandas_bytes(source: Source) -> int:
    """Estimate the memory the input would take as a pandas DataFrame, in bytes.

    Parquet files: their decoded size from the footer (:func:`gatekit.data.readers.parquet_decoded_bytes`, times
    :data:`~gatekit.data.readers.PARQUET_PANDAS_FACTOR`); other files: their size times :data:`PANDAS_EXPANSION`;
    in-memory objects: 0 (they are already in memory).
    """
    if source.in_memory:
        return 0
    total = 0
    for p in source.paths:
        suffix = p.suffix.lower()
        if suffix in (".parquet", ".pq"):
            try:
                import pyarrow.parquet as pq

                total += int(PARQUET_PANDAS_FACTOR * parquet_decoded_bytes(pq.ParquetFile(p).metadata))
                continue
            except Exception:  # noqa: BLE001 - an unreadable file is reported by the reader; estimate from its size
                pass
        try:
            total += int(p.stat().st_size * PANDAS_EXPANSION.get(suffix, 3.0))
        except OSError:
            pass
    return total


def choose_engine(requested: str, sources: list[Source]) -> tuple[str, str]:
    """Pick the engine for a run.

    Parameters
    ----------
    requested : {"pandas", "duckdb", "spark", "auto"}
        The engine asked for.
    sources : list of Source
        The evaluation and reference data.

    Returns
    -------
    (str, str)
        The engine and why it was chosen (recorded in the report).

    Raises
    ------
    InputError
        An unknown engine, or an input only Spark reads (a pyspark DataFrame, a table name, a URI, a Delta folder)
        on another engine.
    """
    if requested not in ENGINES:
        raise input_error(f"engine must be one of {', '.join(ENGINES)}, not {requested!r}", key="engine")
    spark_only = [s for s in sources
                  if s.kind in SPARK_KINDS or (s.kind == "ibis" and _backend_name(s.obj) == "pyspark")]
    if spark_only and requested not in ("spark", "auto"):
        what = {"spark": "a pyspark DataFrame", "table": "a Spark table name", "uri": "an object-store URI",
                "delta": "a Delta table", "ibis": "an ibis table on Spark"}[spark_only[0].kind]
        raise input_error(f"{spark_only[0].label} is {what}, which only the spark engine reads; run with "
                          "--engine spark (or inputs.engine: spark)", spark_only[0].label, key="engine")
    if requested != "auto":
        return requested, "asked for"
    if spark_only:
        return "spark", f"auto: {spark_only[0].label} is on Spark"
    if any(s.kind == "ibis" for s in sources):
        return "duckdb", "auto: an ibis table was given"
    need = sum(estimated_pandas_bytes(s) for s in sources)
    avail = available_memory()
    big = need > AUTO_MEMORY_SHARE * avail
    return ("duckdb" if big else "pandas"), (
        f"auto: the data would take about {_size(need)} as pandas frames, "
        f"{'more' if big else 'less'} than {AUTO_MEMORY_SHARE:.0%} of the memory available")


def _size(n: int) -> str:
    """Return a byte count in words: ``"3.2 GiB"``, ``"120 MiB"``, ``"48 KiB"`` (never ``"0.00 GiB"``)."""
    for unit, size in (("GiB", 1024**3), ("MiB", 1024**2), ("KiB", 1024)):
        if n >= size:
            value = n / size
            return f"{value:.1f} {unit}" if value < 10 else f"{value:.0f} {unit}"
    return f"{n} bytes"


def _backend_name(table: Any) -> str | None:
    try:
        return str(table._find_backend(use_default=True).name)
    except Exception:  # noqa: BLE001 - an unbound expression
        return None


def is_inf(col: Any) -> Any:
    """Return ``col`` is +inf or -inf, as an ibis boolean, the same on DuckDB and Spark.

    ibis 12's ``isinf`` compiles to ``FALSE`` on PySpark (its compiler compares two SQL nodes with Python's
    ``==``), so an infinity would pass unseen there; two comparisons with infinite literals work on both.
    """
    import ibis

    inf = ibis.literal(float("inf"), type="float64")
    return (col == inf) | (col == -inf)


def is_spark(table: Any) -> bool:
    """Tell whether an ibis table is on the PySpark backend (the spark engine)."""
    return _backend_name(table) == "pyspark"


def engine_info(engine: str, reason: str, con: Any = None) -> dict[str, Any]:
    """Return what the report records about the engine: name, versions, why it was chosen (and Spark's master)."""
    from importlib.metadata import PackageNotFoundError, version

    out: dict[str, Any] = {"name": engine, "why": reason}
    if reason.startswith("auto"):
        out["available_memory_gib"] = round(available_memory() / 1024**3, 1)
    libs = {"pandas": ("pandas",), "duckdb": ("duckdb", "ibis-framework")}.get(engine, ("pyspark", "ibis-framework"))
    for lib in libs:
        try:
            out[lib] = version(lib)
        except PackageNotFoundError:  # pragma: no cover - installed with gatekit
            out[lib] = None
    if engine == "spark" and con is not None:
        from gatekit.data.spark import version_info

        out.update(version_info(con._session))
    return out


def connect() -> Any:
    """Return a new in-process DuckDB connection through ibis (one per run; nothing is written to disk)."""
    import ibis

    return ibis.duckdb.connect()


def release() -> None:
    """End a run's use of its engine.

    The run's Spark tables' positions are forgotten; the Spark session loses the run's temporary views and gets
    back the settings gatekit changed (:func:`gatekit.data.spark.restore_settings`).
    """
    import sys

    _POSITIONED.clear()  # the run's Spark tables (their views are dropped below)
    if "gatekit.data.spark" in sys.modules:
        sys.modules["gatekit.data.spark"].restore_settings()


def connection_for(sources: list[Source], engine: str = "duckdb", master: str | None = None,
                   conf: dict[str, str] | None = None) -> Any:
    """Return the connection a run's tables must share: an ibis table's own, else a new one.

    Queries that join the evaluation and the reference table (unseen categories) run on one connection, so the
    files and frames of a run are opened on the connection of an ibis table the user gave. On ``spark``: the
    session of a pyspark DataFrame the user gave, else :func:`gatekit.data.spark.session` of ``master`` and
    ``conf`` (the active session, or a local one).

    Raises
    ------
    InputError
        Two ibis tables on different connections.
    """
    if engine == "spark":
        from gatekit.data import spark

        given = [s.obj.sparkSession for s in sources if s.kind == "spark"]
        given += [s.obj._find_backend(use_default=True)._session for s in sources
                  if s.kind == "ibis" and _backend_name(s.obj) == "pyspark"]
        return spark.connect(given[0] if given else spark.session(master, conf))
    backends: list[Any] = []
    for s in sources:
        if s.kind == "ibis":
            b = s.obj._find_backend(use_default=True)
            if all(b is not other for other in backends):
                backends.append(b)
    if len(backends) > 1:
        raise input_error("the data and the reference are ibis tables on two different connections; give both on "
                          "one connection (or one of them as a file or a DataFrame)", key="reference")
    return backends[0] if backends else connect()


def open_table(source: Source, con: Any, name: str) -> Any:
    """Return the input as an ibis table on ``con`` (files are scanned lazily, objects registered without a copy).

    Parameters
    ----------
    source : Source
        The input.
    con : ibis DuckDB backend
        From :func:`connect`.
    name : str
        The table's name on the connection (``"data"``, ``"reference"``).

    Returns
    -------
    ibis.Table

    Raises
    ------
    InputError
        A file DuckDB cannot read, or an ibis table on another backend.
    """
    if getattr(con, "name", None) == "pyspark":
        from gatekit.data import spark

        table, positioned = spark.open_table(source, con, name, _pandas_na_values(),
                                             lambda names: _checked_names(source, names, name, case=True))
        _POSITIONED.append((table, positioned))
        return table
    if source.kind in SPARK_KINDS:
        raise input_error("only the spark engine reads this input; run with --engine spark", source.label, key=name)
    try:
        if source.kind == "ibis":
            backend = source.obj._find_backend(use_default=True)
            if getattr(backend, "name", None) != "duckdb":
                raise input_error(f"the ibis table is on the {getattr(backend, 'name', '?')} backend; gatekit runs "
                                  "ibis tables on DuckDB and on Spark: pass a DuckDB or PySpark table or a "
                                  "DataFrame, or run with engine='pandas' (the table is then read into memory)",
                                  source.label, key=name)
            _checked_names(source, list(source.obj.columns), name, case=True)
            return source.obj
        view = f"gatekit_{name}_{secrets.token_hex(4)}"  # never a name the user's connection already has
        if source.kind in ("pandas", "polars", "arrow"):
            names = source.obj.column_names if source.kind == "arrow" else list(source.obj.columns)
            _checked_names(source, names, name, case=True)
            obj = source.obj.to_arrow() if source.kind == "polars" else source.obj
            con.con.register(view, obj)  # DuckDB scans the DataFrame / Arrow table in place, no copy
            return nan_as_missing(con.table(view))
        suffixes = {p.suffix.lower() for p in source.paths}
        files = [str(p) for p in source.paths]
        for p in source.paths:
            if not p.is_file():
                raise input_error(f"{name} file not found", str(p), key=name)
        if suffixes <= {".parquet", ".pq"}:
            # hive partition keys in folder names are not columns on either engine (pandas reads each file)
            import pyarrow.parquet as pq

            _checked_names(source, list(pq.read_schema(files[0]).names), name, case=True)
            table = con.read_parquet(files, table_name=view, hive_partitioning=False)
            saved_index = [c for c in table.columns if str(c).startswith("__index_level_")]
            return nan_as_missing(table.drop(*saved_index) if saved_index else table)  # pandas' index: no column
        if len(files) == 1 and (suffixes <= {".csv", ".txt"} or files[0].lower().endswith(".csv.gz")):
            check_csv_header(source.paths[0])
            return _as_pandas_reads(con.read_csv(files[0], table_name=view, auto_type_candidates=CSV_TYPES,
                                                 nullstr=_pandas_na_values()))
    except Exception as exc:
        from gatekit.core.errors import InputError

        if isinstance(exc, InputError):
            raise
        raise input_error(f"DuckDB cannot read the {name}: {str(exc).splitlines()[0][:300]}", source.label,
                          key=name) from None
    raise input_error(f"unsupported data format {sorted(suffixes)}; use .csv or .parquet", source.label, key=name)


def nan_as_missing(table: Any) -> Any:
    """Read a floating-point NaN as missing (NULL), as pandas and the other engines do.

    DuckDB keeps NaN as a value (it sorts above every number and counts as present), so a Parquet file or an
    Arrow table written with NaN (pyarrow, polars, Spark) would count fewer missing values, and a different
    median and range, than pandas reads from the same file. Each floating column becomes
    ``CASE WHEN isnan(x) THEN NULL ELSE x END`` in the view; a table with none is returned unchanged.
    """
    import ibis

    floating = [c for c, t in table.schema().items() if t.is_floating()]
    if not floating:
        return table
    return table.mutate(**{c: table[c].isnan().ifelse(ibis.null(table[c].type()), table[c]) for c in floating})


CSV_TYPES = ["BIGINT", "DOUBLE", "VARCHAR"]
"""Types DuckDB may infer for a CSV column: those pandas' ``read_csv`` infers (DuckDB alone would also read
``yes``/``no`` as booleans and ISO dates as dates, which pandas keeps as text)."""
PANDAS_TRUE_FALSE = ("True", "False", "TRUE", "FALSE", "true", "false")
"""Text pandas' ``read_csv`` reads as booleans (a column of only these, with no missing value, becomes ``bool``)."""


def _pandas_na_values() -> list[str]:
    """Return the strings pandas' ``read_csv`` reads as missing by default (``NA``, ``null``, ``nan``, ...)."""
    from pandas._libs.parsers import STR_NA_VALUES  # type: ignore[import-not-found]

    return sorted(STR_NA_VALUES)


def _as_pandas_reads(table: Any) -> Any:
    """Cast text columns that pandas would read as booleans (only True/False text, no missing value) to booleans."""
    text = [c for c, t in table.schema().items() if t.is_string()]
    if not text:
        return table
    flags = table.aggregate(**{f"c{i}": (table[c].isin(PANDAS_TRUE_FALSE)).all() & table[c].notnull().all()
                               for i, c in enumerate(text)}).to_pyarrow().to_pylist()[0]
    casts = {c: table[c].isin(["True", "TRUE", "true"]) for i, c in enumerate(text) if flags[f"c{i}"]}
    return table.mutate(**casts) if casts else table


def read_pandas(source: Source) -> Any:
    """Return the input as a pandas DataFrame (the pandas engine).

    Raises
    ------
    InputError
        As :func:`gatekit.data.readers.read_frame` for files.
    """
    import pandas as pd

    from gatekit.data.readers import read_frame

    if source.kind == "pandas":
        return source.obj
    if source.kind in ("polars", "arrow"):
        return source.obj.to_pandas()
    if source.kind == "ibis":
        return source.obj.to_pandas()
    if source.kind == "file":
        return read_frame(source.paths[0])
    try:
        return pd.concat([pd.read_parquet(p) for p in source.paths], ignore_index=True)
    except (OSError, ValueError) as exc:
        raise input_error(f"cannot read the Parquet files: {exc}", source.label) from None


def content_sha256(source: Source) -> str | None:
    """Return a sha256 of an in-memory table's content (columns, types and values), or None when it cannot be told.

    pandas: ``pandas.util.hash_pandas_object`` of the rows (index included) with the column names and dtypes;
    polars and Arrow tables: the same through pandas; ibis tables and Spark inputs: None (the rows are not read
    to hash them).
    """
    if source.kind not in ("pandas", "polars", "arrow"):
        return None  # an ibis table or a Spark DataFrame is never read to hash it
    import pandas as pd

    frame = source.obj if source.kind == "pandas" else source.obj.to_pandas()
    h = hashlib.sha256()
    h.update(repr([(str(c), str(t)) for c, t in frame.dtypes.items()]).encode())
    try:
        h.update(pd.util.hash_pandas_object(frame, index=True).to_numpy().tobytes())
    except TypeError:  # unhashable cells (lists, dicts)
        return None
    return h.hexdigest()


_POSITIONED: list[tuple[Any, Any]] = []
"""Spark tables opened by :func:`open_table` in this run: (the table, a function returning the same rows with
their positions); emptied by :func:`release`."""

POSITION = "__gatekit_row"


def positioned(table: Any) -> tuple[Any, Any]:
    """Return ``(base, position)``: a table with ``table``'s columns and an expression of each row's position.

    The position counts rows from 0 in the input's order (:mod:`gatekit.data.spark` says what order means on
    Spark). On DuckDB it is ``row_number()`` over the scan (DuckDB keeps the insertion order); on Spark the
    hidden position column of the view :func:`open_table` made. ``table`` must be a table :func:`open_table`
    returned, or a projection of one's columns.

    Raises
    ------
    ValueError
        A Spark expression that is not a projection of an opened table.
    """
    import ibis

    if not is_spark(table):
        base = table.mutate(**{POSITION: ibis.row_number().cast("int64")})
        return base, base[POSITION]
    import ibis.expr.operations as ops

    op = table.op()
    for t, make in _POSITIONED:
        if t.op() == op:
            base = make()
            return base, base[POSITION]
    if isinstance(op, ops.Project) and all(isinstance(v, ops.Field) for v in op.values.values()):
        for t, make in _POSITIONED:
            if t.op() == op.parent:
                base = make()
                return base.select(*table.columns, POSITION), base[POSITION]
    raise ValueError("this Spark table has no row positions (open it with gatekit.data.engine.open_table)")


def sample_frame(table: Any, n: int, seed: int) -> Any:
    """Return about ``n`` rows of ``table`` as a pandas DataFrame: a seeded sample, the same on every engine.

    Each row is kept when a hash of its position (:func:`gatekit.stats.leakage.fold_of` with ``2**32`` folds and
    ``seed``: MurmurHash3's finaliser) falls below ``min(1, 1.2 n / rows)`` of the hash's range; the first ``n``
    kept rows in the table's order are returned, so DuckDB and Spark return the same rows. Every row of a table
    of at most ``n`` rows.

    Parameters
    ----------
    table : ibis.Table
        The rows (a table :func:`open_table` returned, or a projection of its columns).
    n : int
        Rows wanted (> 0).
    seed : int
        The sample's seed (a non-negative integer below 2**31).

    Returns
    -------
    pandas.DataFrame
        At most ``n`` rows (fewer when the draw falls short), in the table's order.
    """
    from gatekit.stats.leakage import fold_of

    rows = row_count(table)
    if rows <= n:
        return table.to_pandas() if not is_spark(table) else _ordered(table).to_pandas()
    rate = min(1.0, 1.2 * n / rows)
    base, pos = positioned(table)
    kept = base.filter(fold_of(pos, 4294967296, seed) < int(rate * 4294967296))
    return kept.order_by(kept[POSITION]).limit(n).select(*table.columns).to_pandas()


def _ordered(table: Any) -> Any:
    """Return a Spark table in its rows' order (Spark returns rows in no set order otherwise)."""
    base, _pos = positioned(table)
    return base.order_by(base[POSITION]).select(*table.columns)


def iter_batches(table: Any, columns: list[str], batch_rows: int = 250_000) -> Iterator[Any]:
    """Yield ``table``'s ``columns`` as pandas DataFrames of at most ``batch_rows`` rows, in the table's order.

    Memory stays bounded by one batch (Arrow record batches from DuckDB's streaming result: the relation's own
    reader where the backend exposes it, else ibis' ``to_pyarrow_batches``). DuckDB only: on Spark, per-row work
    runs on the executors (:func:`map_batches`).
    """
    expr = table.select(*columns)
    to_relation = getattr(expr._find_backend(use_default=True), "_to_duckdb_relation", None)
    if to_relation is not None:
        rel = to_relation(expr)
        reader = (rel.to_arrow_reader(batch_rows) if hasattr(rel, "to_arrow_reader")
                  else rel.fetch_arrow_reader(batch_rows))
    else:
        reader = expr.to_pyarrow_batches(chunk_size=batch_rows)
    for batch in reader:
        yield batch.to_pandas()


def map_batches(table: Any, columns: list[str], fn: Any, batch_rows: int = 250_000) -> Iterator[Any]:
    """Apply ``fn`` to ``table``'s ``columns`` in pandas batches and yield its results, in the table's order.

    DuckDB: batches stream to this process (:func:`iter_batches`); Spark: ``fn`` runs on the executors and only
    its results come back (:func:`gatekit.data.spark.map_batches`). ``fn`` should return something small
    (counts, partial aggregates); on Spark it and what it refers to are pickled to the executors.

    Parameters
    ----------
    table : ibis.Table
        The rows.
    columns : list of str
        The columns ``fn`` reads.
    fn : callable
        ``pandas.DataFrame -> object``.
    batch_rows : int
        Rows per batch (at most).
    """
    if is_spark(table):
        from gatekit.data import spark

        yield from spark.map_batches(table.select(*columns), fn, batch_rows)
        return
    for frame in iter_batches(table, columns, batch_rows):
        yield fn(frame)


def row_count(table: Any) -> int:
    """Return the number of rows of an ibis table."""
    return int(table.count().to_pyarrow().as_py())


def to_ibis(frame: Any) -> Any:
    """Return a pandas DataFrame (or an ibis table, unchanged) as an ibis table on DuckDB."""
    import ibis

    if type(frame).__module__.split(".")[0] == "ibis":
        return frame
    return ibis.memtable(frame)


ORDER_STAT_WINDOW = 0.002
"""Half-width, as a share of the rows, of the window first read around each wanted rank (widened when DuckDB's
approximate quantile misses it)."""


def order_statistics(table: Any, column: str, ranks: list[int]) -> tuple[int, dict[int, float]]:
    """Return exact order statistics of a column's finite values, reading only small windows of it.

    The ``k``-th smallest finite value (0-based) for each ``k`` in ``ranks``, found without sorting the column:
    DuckDB's approximate quantiles (t-digest) place a window of about :data:`ORDER_STAT_WINDOW` of the rows
    around each rank, one aggregate counts the values below and up to each window, and only the values inside
    the windows are read and sorted. A window that does not bracket its rank is widened (four times, three
    tries), then the rank is read with an exact ``ORDER BY ... LIMIT 1 OFFSET k``. So the result equals
    ``np.sort(values)[k]`` exactly, and numpy's linear quantile can be formed from it bit for bit
    (:func:`gatekit.stats.drift.linear_quantile`-style arithmetic on ``x[k]`` and ``x[k + 1]``).

    Parameters
    ----------
    table : ibis.Table
        The rows (DuckDB).
    column : str
        A numeric column; nulls, NaN and infinities are left out.
    ranks : list of int
        0-based ranks among the finite values, each in ``[0, n)``.

    Returns
    -------
    n : int
        The number of finite values.
    values : dict of int to float
        The value of each rank (empty when ``n == 0``).

    Raises
    ------
    ValueError
        A rank outside ``[0, n)``.
    """
    import ibis
    import numpy as np

    col = table[column].cast("float64")
    valid = col.notnull() & ~col.isnan() & ~is_inf(col)
    finite = table.filter(valid).select(v=col)
    n = int(finite.count().to_pyarrow().as_py())
    wanted = sorted(set(int(k) for k in ranks))
    if n == 0 or not wanted:
        return n, {}
    if wanted[0] < 0 or wanted[-1] >= n:
        raise ValueError(f"ranks must lie in [0, {n}); got {wanted[0]} .. {wanted[-1]}")
    out: dict[int, float] = {}
    todo = wanted
    width = max(ORDER_STAT_WINDOW, 64 / n)
    for _ in range(3):
        if not todo:
            break
        qs = [k / (n - 1) if n > 1 else 0.5 for k in todo]
        lo_q = [max(0.0, q - width) for q in qs]
        hi_q = [min(1.0, q + width) for q in qs]
        approx = finite.aggregate(lo=finite.v.approx_quantile(lo_q), hi=finite.v.approx_quantile(hi_q))
        row = approx.to_pyarrow().to_pylist()[0]
        los, his = [float(x) for x in row["lo"]], [float(x) for x in row["hi"]]
        counts = finite.aggregate(**{f"b{i}": (finite.v < lo).sum() for i, lo in enumerate(los)},
                                  **{f"u{i}": (finite.v <= hi).sum() for i, hi in enumerate(his)})
        c = counts.to_pyarrow().to_pylist()[0]
        good = [i for i, k in enumerate(todo) if int(c[f"b{i}"] or 0) <= k < int(c[f"u{i}"] or 0)]
        if good:
            cond = None
            for i in good:
                term = (finite.v >= los[i]) & (finite.v <= his[i])
                cond = term if cond is None else cond | term
            window = np.sort(finite.filter(cond).v.to_pyarrow().to_numpy(zero_copy_only=False).astype(float))
            for i in good:
                start = int(np.searchsorted(window, los[i], side="left"))
                out[todo[i]] = float(window[start + todo[i] - int(c[f"b{i}"] or 0)])
        todo = [k for i, k in enumerate(todo) if i not in set(good)]
        width *= 4
    for k in todo:  # the approximation missed three times: the exact sort for this rank alone
        if is_spark(table):  # ibis' OFFSET on Spark fails: the rank by a window instead
            ranked = finite.mutate(r=ibis.row_number().over(order_by=finite.v))
            out[k] = float(ranked.filter(ranked.r == k).v.to_pyarrow().to_pylist()[0])
        else:
            out[k] = float(finite.order_by(finite.v).limit(1, offset=k).v.to_pyarrow().to_pylist()[0])
    return n, out


def categorical_columns(source: Source) -> list[str]:
    """Return the columns an input holds as categories, which DuckDB reads as text (or an enum ibis calls text).

    A pandas ``category`` column, a polars ``Categorical`` / ``Enum``, an Arrow dictionary column, and a Parquet
    column stored as a dictionary type or recorded as ``categorical`` in the pandas metadata pandas writes (what
    ``pandas.read_parquet`` turns back into ``category``). CSV files and ibis tables hold none.

    Parameters
    ----------
    source : Source
        The input.

    Returns
    -------
    list of str
    """
    if source.kind == "pandas":
        import pandas as pd

        return [str(c) for c, t in source.obj.dtypes.items() if isinstance(t, pd.CategoricalDtype)]
    if source.kind == "polars":
        return [str(c) for c, t in source.obj.schema.items() if str(t).startswith(("Categorical", "Enum"))]
    if source.kind == "arrow":
        import pyarrow as pa

        return [f.name for f in source.obj.schema if pa.types.is_dictionary(f.type)]
    if source.kind in ("file", "files") and source.paths and source.paths[0].suffix.lower() in (".parquet", ".pq"):
        import pyarrow as pa
        import pyarrow.parquet as pq

        try:
            schema = pq.read_schema(source.paths[0])
        except Exception:  # noqa: BLE001 - an unreadable footer is reported by the reader
            return []
        out = [f.name for f in schema if pa.types.is_dictionary(f.type)]
        meta = schema.pandas_metadata or {}
        out += [str(c.get("name")) for c in meta.get("columns", [])
                if c.get("pandas_type") == "categorical" and str(c.get("name")) not in out]
        return out
    return []

