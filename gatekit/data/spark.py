"""The Spark engine: the rows stay on a Spark cluster (or a local session), and gatekit asks it for aggregates.

Inputs are opened as Spark DataFrames and handed to sections as ibis tables on the PySpark backend, so the same
ibis expressions that compute the DuckDB engine's statistics run on Spark (:mod:`gatekit.data.engine`). Work
that needs the rows themselves (a model's scores, Great Expectations' per-row expectations, the PII scan) runs
on the executors in Arrow batches (``mapInArrow``) and sends back only small partial results, so the driver
never holds a table.

Row order. Where a definition depends on the rows' order (the leakage scan's folds, the seeded samples), Spark's
rows get the positions the other engines give them: Parquet files in sorted path order, each file's rows in
file order (``_metadata.row_index``); a CSV file in line order; a DataFrame in its partitions' order (what
``collect`` returns). The position is a hidden column of the opened view (:data:`POSITION`).

Session. :func:`session` returns the active session when no setting is given, else builds one from a master
URL (``local[*]`` by default, ``spark://``, ``yarn``, ``k8s://``, or a Spark Connect ``sc://`` URL) and
``key=value`` settings. gatekit's queries assume non-ANSI SQL semantics (a cast that fails is null, as on DuckDB),
so the session's ``spark.sql.ansi.enabled`` is set to false while gatekit runs, the session's time zone to
UTC (ibis does this too), and naive timestamps stay naive (``spark.sql.timestampType``).
"""

from __future__ import annotations

import functools
import pickle
import re
import secrets
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from gatekit.core.errors import input_error

POSITION = "__gatekit_row"
_NUMBER = r"^\s*[+-]?(([0-9]+\.?[0-9]*|\.[0-9]+)([eE][+-]?[0-9]+)?|(?i:inf|infinity))\s*$"
"""Text pandas reads as a float (Java's parser alone would also take ``3d``, ``2f`` and hex floats)."""
_MASTER = re.compile(r"^(local(\[(\*|[0-9]+)(, *[0-9]+)?\])?|yarn|spark://\S+|k8s://\S+|mesos://\S+|sc://\S+)$")
"""The master URLs Spark accepts."""
TRUE_FALSE = ("True", "False", "TRUE", "FALSE", "true", "false")
"""Text pandas' ``read_csv`` reads as booleans (as :data:`gatekit.data.engine.PANDAS_TRUE_FALSE`)."""
"""The hidden column holding each row's 0-based position in the input's order."""

LOCAL_DEFAULTS = {
    "spark.ui.enabled": "false",
    "spark.ui.showConsoleProgress": "false",
    "spark.sql.shuffle.partitions": "8",
    "spark.driver.memory": "2g",
    "spark.sql.execution.arrow.pyspark.enabled": "true",
}
"""Settings of a local session gatekit starts (a user's ``--spark-conf`` wins)."""

QUIET_LOG4J = Path(__file__).with_name("log4j2.properties")
"""The log configuration of a session gatekit starts: errors only (the JVM's start-up chatter stays quiet)."""

RUN_SETTINGS = {"spark.sql.ansi.enabled": "false", "spark.sql.session.timeZone": "UTC",
                "spark.sql.timestampType": "TIMESTAMP_NTZ"}
"""Settings gatekit's queries need on any session (set at connect): a failed cast is null (as on DuckDB), and a
timestamp without a time zone (pandas' naive ``datetime64``) stays one when it is sent to Spark."""


def session(master: str | None = None, conf: dict[str, str] | None = None) -> Any:
    """Return a Spark session: the active one when nothing is asked for, else one built from the settings.

    Parameters
    ----------
    master : str, optional
        ``local[N]`` / ``local[*]`` (the default), ``spark://host:port``, ``yarn``, ``k8s://...``, or a Spark
        Connect URL ``sc://host:port``.
    conf : dict of str to str, optional
        Spark settings (``spark.executor.memory`` ...), applied when the session is built.

    Returns
    -------
    pyspark.sql.SparkSession

    Raises
    ------
    InputError
        pyspark is not installed, or the session cannot start (no Java, a bad master URL).
    """
    try:
        from pyspark.sql import SparkSession
    except ImportError:
        raise input_error("the spark engine needs pyspark: pip install 'gatekit[spark]'", key="engine") from None
    conf = dict(conf or {})
    if master is not None and not _MASTER.match(master):
        raise input_error(f"{master!r} is not a Spark master URL; use local[*], local[N], spark://host:port, yarn, "
                          "k8s://https://host:port or sc://host:port", key="spark_master")
    unreachable = _unreachable(master)
    if unreachable:
        raise input_error(f"the Spark master {master!r} does not answer ({unreachable}); check the URL and that the "
                          "cluster is up", key="spark_master")
    active = SparkSession.getActiveSession()
    if active is not None and (master is None and not conf):
        return active
    if active is not None and master is not None and not master.startswith("sc://"):
        running = _master_of(active)
        if running != master:
            raise input_error(f"a Spark session ({running}) is already running in this process, so spark_master "
                              f"{master!r} cannot start another; stop it (spark.stop()) or leave spark_master out "
                              "to run on it", key="spark_master")
    try:
        if master is not None and master.startswith("sc://"):
            builder = SparkSession.builder.remote(master)
        else:
            builder = SparkSession.builder.master(master or "local[*]")
            local = (master or "local").startswith("local")
            settings = {**LOCAL_DEFAULTS, "spark.pyspark.python": sys.executable,
                        "spark.pyspark.driver.python": sys.executable} if local else {}
            settings["spark.driver.extraJavaOptions"] = f"-Dlog4j2.configurationFile={QUIET_LOG4J.as_uri()}"
            for key, value in settings.items():
                if key not in conf:
                    builder = builder.config(key, value)
        for key, value in conf.items():
            builder = builder.config(key, value)
        spark = builder.appName("gatekit").getOrCreate()
        spark.conf.get("spark.sql.shuffle.partitions")  # Spark checks the settings when the session state is built
    except Exception as exc:  # noqa: BLE001 - no Java, a bad URL: the user's setup, said plainly
        first = redact(java_message(exc), conf)
        raise input_error(f"Spark could not start on master {master or 'local[*]'!r} ({type(exc).__name__}: "
                          f"{first}); the spark engine needs Java 17 or 21 (java on PATH, or JAVA_HOME) and a "
                          "reachable master", key="engine") from None
    if (master or "local").startswith("local"):
        spark.sparkContext.setLogLevel("FATAL")  # gatekit reports a failed query itself, once, in its check
    return spark


_CHANGED: list[tuple[Any, str, str | None]] = []
"""(session, setting, value before gatekit set it): what :func:`restore_settings` puts back after a run."""


def _unreachable(master: str | None, timeout_s: float = 5.0) -> str | None:
    """Why a ``spark://`` or ``sc://`` master cannot be reached (no TCP connection in ``timeout_s``), else None.

    Spark's own client retries an unreachable standalone master for about a minute before giving up; a TCP
    connection to each host tells in seconds. Other masters (``local``, ``yarn``, ``k8s://``) are not checked.
    """
    import socket
    from urllib.parse import urlsplit

    if master is None or not master.startswith(("spark://", "sc://")):
        return None
    scheme, rest = master.split("://", 1)
    hosts = rest.split("/")[0].split(";")[0].split(",")
    why = "no host"
    for hp in hosts:
        parts = urlsplit(f"//{hp}")
        try:
            port = parts.port or (15002 if scheme == "sc" else 7077)
        except ValueError:
            return f"{hp!r} is not host:port"
        try:
            with socket.create_connection((parts.hostname or "", port), timeout=timeout_s):
                return None
        except OSError as exc:
            why = f"{parts.hostname}:{port}: {exc.strerror or type(exc).__name__}"
    return why


def java_message(exc: BaseException) -> str:
    """Return the useful first line of a Spark or Py4J error (the Java exception's message, not Py4J's preamble)."""
    text = str(exc).strip()
    if not text:
        return type(exc).__name__
    lines = [ln.strip() for ln in text.splitlines() if ln.strip()]
    if lines[0].startswith("An error occurred while calling") and len(lines) > 1:
        line = lines[1].lstrip(": ")
        head, sep, rest = line.partition(": ")
        return (rest if sep and "." in head and " " not in head else line)[:300]
    return lines[0][:300]


def redact(text: str, conf: dict[str, str] | None) -> str:
    """Replace every ``--spark-conf`` value in ``text`` by ``<value>`` (a value may be a secret)."""
    for value in sorted((v for v in (conf or {}).values() if len(v) >= 2), key=len, reverse=True):
        text = text.replace(value, "<value>")
    return text


def _master_of(spark: Any) -> str:
    try:
        return str(spark.sparkContext.master)
    except Exception:  # noqa: BLE001 - Spark Connect has no SparkContext
        return "spark connect"


def connect(spark: Any) -> Any:
    """Return an ibis PySpark backend on ``spark`` with gatekit's run settings (:data:`RUN_SETTINGS`).

    The session's values before are kept; :func:`restore_settings` puts them back when the run ends (a user's
    notebook session keeps its own ANSI mode and time zone).
    """
    import ibis

    for key in (*RUN_SETTINGS, "spark.sql.mapKeyDedupPolicy"):
        try:
            _CHANGED.append((spark, key, spark.conf.get(key, None)))
        except Exception:  # noqa: BLE001 - a setting the session does not expose
            continue
    return ibis.pyspark.connect(spark, **RUN_SETTINGS)


_VIEWS: list[tuple[Any, str]] = []
"""Temporary views a run registered on a session (dropped when the run ends)."""


def restore_settings() -> None:
    """Drop the run's temporary views and put back the session settings :func:`connect` changed; never raises."""
    while _VIEWS:
        spark, view = _VIEWS.pop()
        try:
            spark.catalog.dropTempView(view)
        except Exception:  # noqa: BLE001 - a stopped session has nothing to drop
            continue
    while _CHANGED:
        spark, key, value = _CHANGED.pop()
        try:
            if value is None:
                spark.conf.unset(key)
            else:
                spark.conf.set(key, value)
        except Exception:  # noqa: BLE001 - a stopped session has nothing to restore
            continue


def spark_dataframe(expr: Any) -> Any:
    """Return the pyspark DataFrame an ibis expression on the PySpark backend stands for (nothing runs)."""
    backend = expr._find_backend(use_default=False)
    return backend._session.sql(backend.compile(expr.as_table()))


def _with_positions(df: Any) -> Any:
    """Add :data:`POSITION`: each row's 0-based position in the order of the DataFrame's partitions.

    One small job counts the rows of each partition (``spark_partition_id``); a row's position is its
    partition's offset plus its index within the partition (the low 33 bits of ``monotonically_increasing_id``).
    Stable while the DataFrame's partitioning is (a file scan, a cached frame).
    """
    from pyspark.sql import functions as F

    tagged = df.withColumn("__gk_pid", F.spark_partition_id()).withColumn("__gk_mid",
                                                                         F.monotonically_increasing_id())
    counts = sorted((int(r[0]), int(r[1])) for r in tagged.groupBy("__gk_pid").count().collect())
    offsets: list[Any] = []
    total = 0
    for pid, n in counts:
        offsets += [F.lit(pid), F.lit(total)]
        total += n
    start = F.element_at(F.create_map(*offsets), F.col("__gk_pid")) if offsets else F.lit(0)
    pos = (start + F.col("__gk_mid") - F.col("__gk_pid").cast("long") * F.lit(1 << 33)).cast("long")
    return tagged.withColumn(POSITION, pos).drop("__gk_pid", "__gk_mid")


def _parquet_positions(df: Any, order: list[str] | None = None) -> Any:
    """Add :data:`POSITION` to a Parquet scan: files in the input's order, each file's rows in file order.

    ``order``: the local files in the order the other engines read them (:func:`gatekit.data.engine.source_of`
    sorts them as paths, part by part); files Spark names otherwise (an object store) follow in text order.
    """
    from urllib.parse import unquote, urlsplit

    from pyspark.sql import functions as F

    rank = {p: i for i, p in enumerate(order or [])}

    def where(uri: str) -> tuple[int, str]:
        local = unquote(urlsplit(uri).path) if uri.startswith("file:") else uri
        return (rank.get(local, len(rank)), uri)

    counts = sorted(((str(r[0]), int(r[1])) for r in df.groupBy(F.col("_metadata.file_path")).count().collect()),
                    key=lambda c: where(c[0]))
    offsets: list[Any] = []
    total = 0
    for path, n in counts:
        offsets += [F.lit(path), F.lit(total)]
        total += n
    if not offsets:
        return df.withColumn(POSITION, F.lit(0).cast("long"))
    start = F.element_at(F.create_map(*offsets), F.col("_metadata.file_path"))
    return df.withColumn(POSITION, (start + F.col("_metadata.row_index")).cast("long"))


def _read_csv(spark: Any, path: str, na_values: list[str], label: str) -> Any:
    """Read a CSV file as pandas would type it: integers, floats, booleans (only True/False text) or text.

    Every column is read as text (RFC 4180 quoting, one partition per file so that line order is kept); pandas'
    missing-value strings become null; a column of only ``True``/``False`` text with no missing value becomes
    ``boolean`` (as pandas reads it), one whose values all read as 64-bit integers ``bigint``, else one whose
    values all read as numbers ``double`` (as DuckDB's typing on the other engine:
    :data:`gatekit.data.engine.CSV_TYPES`).
    """
    from pyspark.sql import functions as F

    raw = (spark.read.option("header", True).option("inferSchema", False).option("multiLine", True)
           .option("escape", '"').option("mode", "FAILFAST").csv(path))
    names = raw.columns
    na = F.array(*[F.lit(v) for v in na_values])
    cleaned = raw.select(*[F.when(F.array_contains(na, F.col(f"`{c}`")), F.lit(None))
                           .otherwise(F.col(f"`{c}`")).alias(c) for c in names])
    checks = []
    for i, c in enumerate(names):
        col = F.col(f"`{c}`")
        checks += [F.count(col).alias(f"n{i}"),
                   F.count(F.when(col.rlike(r"^\s*[+-]?[0-9]+\s*$") & col.try_cast("bigint").isNotNull(),
                                  1)).alias(f"i{i}"),
                   F.count(F.when(col.rlike(_NUMBER) & col.try_cast("double").isNotNull(), 1)).alias(f"d{i}"),
                   F.count(F.when(col.isin(*TRUE_FALSE), 1)).alias(f"b{i}"), F.count(F.lit(1)).alias(f"r{i}")]
    got = cleaned.agg(*checks).collect()[0].asDict() if names else {}
    casts = []
    for i, c in enumerate(names):
        n = got[f"n{i}"]
        if n and got[f"b{i}"] == n == got[f"r{i}"]:  # only True/False text and no missing value: booleans
            casts.append(F.col(f"`{c}`").isin("True", "TRUE", "true").alias(c))
        elif n and got[f"i{i}"] == n:
            casts.append(F.trim(F.col(f"`{c}`")).cast("bigint").alias(c))
        elif n and got[f"d{i}"] == n:
            casts.append(F.col(f"`{c}`").cast("double").alias(c))
        else:
            casts.append(F.col(f"`{c}`").alias(c))
    return cleaned.select(*casts)


def open_table(source: Any, con: Any, name: str, na_values: list[str],
               check_names: Callable[[list[str]], Any]) -> tuple[Any, Callable[[], Any]]:
    """Open an input on Spark: return the ibis table and a function returning it with :data:`POSITION`.

    Parameters
    ----------
    source : gatekit.data.engine.Source
        A file or Parquet files, a Delta table folder, a pyspark DataFrame, a pandas / polars DataFrame or Arrow
        table (sent to Spark through Arrow), an ibis table on the same PySpark backend, or a Spark table name.
    con : ibis PySpark backend
        From :func:`connect`.
    name : str
        ``"data"`` or ``"reference"``.
    na_values : list of str
        Text a CSV cell holds for a missing value (pandas' defaults).
    check_names : callable
        Refuses the input's column names (duplicates, names differing only in case) with an InputError.

    Raises
    ------
    InputError
        A file Spark cannot read, an unknown table, an ibis table on another backend.
    """
    from gatekit.data.readers import check_csv_header

    spark = con._session
    locate: Callable[[Any], Any] = _with_positions
    try:
        if source.kind == "spark":
            df = source.obj
            if df.sparkSession is not spark and getattr(df.sparkSession, "_jsparkSession", 1) != getattr(
                    spark, "_jsparkSession", 2):
                raise input_error("the pyspark DataFrames are on two different Spark sessions; give both on one",
                                  source.label, key=name)
        elif source.kind == "ibis":
            backend = source.obj._find_backend(use_default=True)
            if getattr(backend, "name", None) != "pyspark":
                raise input_error(f"the ibis table is on the {getattr(backend, 'name', '?')} backend, not on Spark; "
                                  "pass a pyspark DataFrame or a path, or run with engine='duckdb'",
                                  source.label, key=name)
            df = spark_dataframe(source.obj)
        elif source.kind in ("pandas", "polars", "arrow"):
            df = spark.createDataFrame(_plain_arrow(source))
        elif source.kind == "table":
            if not spark.catalog.tableExists(source.label):
                raise input_error("no such Spark table (and no such file)", source.label, key=name)
            df = spark.table(source.label)
        elif source.kind == "delta":
            df = spark.read.format("delta").load(source.label)
            locate = _parquet_positions_or_plain
        else:
            files = [str(p) for p in source.paths]
            suffixes = {p.suffix.lower() for p in source.paths}
            if source.kind == "uri" or suffixes <= {".parquet", ".pq"}:
                df = (spark.read.option("recursiveFileLookup", source.kind == "uri")
                      .parquet(*[_literal(f) for f in files] if files else [source.label]))
                df = df.drop(*[c for c in df.columns if c.startswith("__index_level_")])  # pandas' saved index
                order = [str(p.resolve()) for p in source.paths]
                locate = functools.partial(_parquet_positions, order=order)
            elif len(files) == 1 and (suffixes <= {".csv", ".txt"} or files[0].lower().endswith(".csv.gz")):
                check_csv_header(source.paths[0])
                # parsed once: a CSV has no columnar layout to scan again, and every statistic is a query
                df = _read_csv(spark, _literal(files[0]), na_values, source.label).persist(_memory_and_disk())
            else:
                raise input_error(f"unsupported data format {sorted(suffixes)}; use .csv or .parquet", source.label,
                                  key=name)
        check_names(list(df.columns))
    except Exception as exc:
        from gatekit.core.errors import InputError

        if isinstance(exc, InputError):
            raise
        first = java_message(exc)
        if "PARQUET_TYPE_ILLEGAL" in first and "NANOS" in first:
            first += ("; Spark reads no nanosecond timestamps: write them in microseconds (pandas: "
                      "df.to_parquet(path, coerce_timestamps='us', allow_truncated_timestamps=True))")
        raise input_error(f"Spark cannot read the {name}: {first}", source.label, key=name) from None
    # two views: the rows (deterministic, as Spark requires of a subquery inside an aggregate) and the same rows
    # with their positions (a partition counter, which Spark calls non-deterministic), read only for positions
    view = f"gatekit_{name}_{secrets.token_hex(4)}"
    df.createOrReplaceTempView(view)
    _VIEWS.append((spark, view))
    made: list[Any] = []
    instants = [f.name for f in df.schema.fields if type(f.dataType).__name__ == "TimestampType"]

    def typed(table: Any) -> Any:
        # Spark's TimestampType holds instants (shown in the session's time zone, UTC here), which ibis calls
        # naive; they are UTC timestamps, as DuckDB and pandas give a time-zone-aware column
        return table.mutate(**{c: table[c].cast("timestamp('UTC')") for c in instants}) if instants else table

    def positioned() -> Any:  # counted on first use only (the leakage scan, a sample)
        if not made:
            locate(df).createOrReplaceTempView(f"{view}_pos")
            _VIEWS.append((spark, f"{view}_pos"))
            made.append(typed(con.table(f"{view}_pos")))
        return made[0]

    return typed(con.table(view)), positioned


def _literal(path: str) -> str:
    """Return a local file's path with Hadoop's glob characters escaped (``d[1].csv`` is read, not ``d1.csv``)."""
    return re.sub(r"([\[\]{}*?\\])", r"\\\1", path)


def _memory_and_disk() -> Any:
    from pyspark import StorageLevel

    return StorageLevel.MEMORY_AND_DISK


def _parquet_positions_or_plain(df: Any) -> Any:
    """Positions for a Delta scan (its Parquet files in path order), else partition order."""
    try:
        return _parquet_positions(df)
    except Exception:  # noqa: BLE001 - a source without file metadata: partition order
        return _with_positions(df)


def _plain_arrow(source: Any) -> Any:
    """Return an in-memory input as an Arrow table Spark accepts (categories as their values, no index)."""
    import pyarrow as pa

    if source.kind == "pandas":
        table = pa.Table.from_pandas(source.obj, preserve_index=False)
    elif source.kind == "polars":
        table = source.obj.to_arrow()
    else:
        table = source.obj
    fields = [pa.field(f.name, f.type.value_type if pa.types.is_dictionary(f.type) else f.type)
              for f in table.schema]
    return table.cast(pa.schema(fields))


def map_batches(expr: Any, fn: Callable[[Any], Any], batch_rows: int) -> Iterator[Any]:
    """Run ``fn`` on the executors over the rows of ``expr`` in pandas batches; yield its results in row order.

    Each Spark partition's Arrow batches are gathered into pandas frames of at most ``batch_rows`` rows and
    ``fn`` runs on each; what ``fn`` returns (small: counts, partial aggregates) is pickled back to the driver,
    which never holds the rows. ``fn`` and what it refers to (a model) are sent to the executors with
    cloudpickle, so gatekit must be installed where they run.

    Raises
    ------
    Exception
        What ``fn`` raised on an executor, raised again on the driver (or a RuntimeError naming it).
    """
    import pyarrow as pa

    df = spark_dataframe(expr)

    def run(batches: Iterator[Any]) -> Iterator[Any]:
        from pyspark import TaskContext

        ctx = TaskContext.get()
        part = ctx.partitionId() if ctx is not None else 0
        seq = 0
        pending: list[Any] = []
        size = 0

        def emit(chunk: list[Any], seq: int) -> Any:
            frame = pa.Table.from_batches(chunk).to_pandas()
            try:
                payload = pickle.dumps(("ok", fn(frame)))
            except BaseException as exc:  # noqa: BLE001 - sent to the driver and raised there
                try:
                    payload = pickle.dumps(("error", exc))
                except Exception:  # noqa: BLE001 - an exception that does not pickle
                    payload = pickle.dumps(("error", RuntimeError(f"{type(exc).__name__}: {exc}")))
            return pa.RecordBatch.from_pydict({"part": pa.array([part], pa.int64()), "seq": pa.array([seq], pa.int64()),
                                               "payload": pa.array([payload], pa.binary())})

        for batch in batches:
            if batch.num_rows == 0:
                continue
            pending.append(batch)
            size += batch.num_rows
            if size >= batch_rows:
                yield emit(pending, seq)
                seq, pending, size = seq + 1, [], 0
        if pending:
            yield emit(pending, seq)

    rows = df.mapInArrow(run, "part long, seq long, payload binary").collect()
    for row in sorted(rows, key=lambda r: (r["part"], r["seq"])):
        status, value = pickle.loads(row["payload"])
        if status == "error":
            raise value
        yield value


def version_info(spark: Any) -> dict[str, Any]:
    """Return what the report records about a Spark session: versions and master."""
    out: dict[str, Any] = {"spark": getattr(spark, "version", None), "master": _master_of(spark)}
    return out
