"""The drift section on the DuckDB engine: the counts its formulas need, asked of the engine with ibis.

The rows stay in DuckDB; the formulas are those of the pandas path (:mod:`gatekit.stats.drift`), so both
engines give the same PSI, edges and counts:

- per table, one pass: rows, and per compared column the values present (not null, not NaN; infinite values
  count as present, as pandas' ``notna``) and the infinite ones;
- a column with at most :data:`SMALL_DISTINCT` distinct values on a side is read as exact value counts (one
  grouped query; one seeded block sample per table, :data:`SAMPLE_ROWS` rows of all the compared numerical
  columns, first tells the columns with many more apart, so no grouping runs in vain); the quantiles,
  edges, bin counts and unseen values follow in numpy
  (:func:`gatekit.stats.drift.quantiles_from_counts` is bit-equal to :func:`numpy.quantile`);
- a numerical reference column with more distinct values is never pulled whole: the order statistics
  numpy's linear quantile reads (``x[k]``, ``x[k + 1]``) are found exactly from small windows of the column
  (:func:`reference_order_statistics`: boundaries around each rank from the block sample, one ``histogram``
  pass counting the values at or below every boundary for all such columns, then one pass reading the few
  values of the segments that hold a rank), and the quantiles formed from them by
  :func:`gatekit.stats.drift.linear_quantile` (bit-equal to
  :func:`numpy.quantile`; DuckDB's exact ``quantile_cont`` is not: it interpolates as ``a + (b - a) t``
  throughout, numpy as ``b - (b - a)(1 - t)`` for ``t >= 0.5``). A rank no bracket holds (a sample that
  misrepresents the column) is found by :func:`gatekit.data.engine.order_statistics`;
- a current column with more distinct values is counted per bin by DuckDB's ``histogram`` aggregate (one pass
  for all such columns);
- KS and Wasserstein: the merged table (value, reference count, current count) and its two empirical CDFs
  are formed inside DuckDB (window sums over the distinct values), which returns their largest distance and
  the integral of their distance: exact, whatever the number of distinct values.

ibis and DuckDB are imported inside the functions (``gatekit --help`` stays fast).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any

import numpy as np

from gatekit.core.errors import NotComputable
from gatekit.data.engine import is_inf

SMALL_DISTINCT = 20_000
"""A column side with at most this many distinct values is read as exact value counts."""
VALUE_COUNTS_CAP = 1_000_000
"""At most this many distinct values or categories are read from one side of one column."""
UNSEEN_CAP = 1_000
"""At most this many current values that match no value of a discrete reference are listed (all are counted)."""
SAMPLE_ROWS = 400_000
"""Rows of the seeded block sample of a table's compared numerical columns (distinct-value probing and brackets)."""
BRACKET_Z = 5.0
"""Half-width of an order statistic's bracket around its sample rank, in binomial standard deviations."""
BRACKET_STEPS = 16
"""Boundaries placed inside one rank's bracket (the rows read around a rank are about 1/16 of the bracket's)."""
WINDOW_ROWS = 1_000_000
"""At most this many values are read from one segment around a rank (more: the engine's order statistics)."""
SAMPLE_SEED = 20240611


@dataclass
class ColumnCounts:
    """One column of one side, from the statistics pass.

    Parameters
    ----------
    present : int
        Values not null and not NaN (infinite values included, as pandas' ``notna``).
    inf : int
        Infinite values (floating columns).
    dtype : str
        The ibis type.
    floating : bool
        Whether the column is stored as floating point.
    integer : bool
        Whether it is stored as integers.
    numeric : bool
        Whether it is stored as numbers.
    """

    present: int
    inf: int
    dtype: str
    floating: bool
    integer: bool
    numeric: bool

    @property
    def finite(self) -> int:
        """Present values that are finite."""
        return self.present - self.inf


@dataclass
class SideCounts:
    """A table's row count, column names and per-column counts."""

    rows: int
    columns: list[str]
    counts: dict[str, ColumnCounts]
    kinds: dict[str, str | None]


def ibis_kind(dtype: Any) -> str | None:
    """``numerical`` (integer, float, decimal), ``categorical`` (string, boolean) or None, from an ibis type.

    The DuckDB engine's counterpart of :func:`gatekit.sections.drift.column_kind`.
    """
    if dtype.is_boolean() or dtype.is_string():
        return "categorical"
    if dtype.is_integer() or dtype.is_floating() or dtype.is_decimal():
        return "numerical"
    return None


def _valid(col: Any, floating: bool) -> Any:
    """Not missing: not null and, for floating columns, not NaN (pandas treats NaN as missing)."""
    ok = col.notnull()
    return ok & ~col.isnan() if floating else ok


def _finite(col: Any, floating: bool) -> Any:
    ok = col.notnull()
    return ok & ~col.isnan() & ~is_inf(col) if floating else ok


def lit(x: float) -> Any:
    """Return a float64 literal DuckDB reads back bit for bit (the shortest repr, parsed as DOUBLE)."""
    import ibis

    return ibis.literal(repr(float(x))).cast("float64")


def _run(table: Any, aggs: dict[str, Any]) -> dict[str, Any]:
    """One aggregate query: ``{key: expression}`` -> ``{key: value}`` (None for an empty SUM / MIN / MAX)."""
    if not aggs:
        return {}
    keys = list(aggs)
    expr = table.aggregate(**{f"a{i}": aggs[k] for i, k in enumerate(keys)})
    row = expr.to_pyarrow().to_pylist()[0]
    return {k: row[f"a{i}"] for i, k in enumerate(keys)}


def _isfinite(col: Any) -> Any:
    """DuckDB's ``isfinite`` (false for NaN and +-inf) on a floating column."""
    import ibis
    import ibis.expr.datatypes as dt

    def isfinite(x):  # type: ignore[no-untyped-def]
        """DuckDB's isfinite (a builtin function; the body is never called)."""

    return ibis.udf.scalar.builtin(isfinite, name="isfinite", signature=((dt.float64,), dt.boolean))(col)


def side_counts(table: Any) -> SideCounts:
    """Count rows, and per column the values present and the infinite ones.

    One pass counts every column's non-null values and, for floating columns, the non-finite ones (one
    ``isfinite`` test a value); only columns that hold NaN or infinite values get a second pass telling
    the two apart.

    Parameters
    ----------
    table : ibis.Table
        The table.

    Returns
    -------
    SideCounts
    """
    from gatekit.data.engine import is_spark

    spark = is_spark(table)
    schema = table.schema()
    columns = [str(c) for c in schema.names]
    kinds: dict[str, str | None] = {c: ibis_kind(schema[c]) for c in columns}
    aggs: dict[str, Any] = {"rows": table.count()}
    for i, name in enumerate(columns):
        col = table[name]
        aggs[f"{i}.notnull"] = col.count()
        if schema[name].is_floating():
            aggs[f"{i}.nonfinite"] = col.count(where=~_isfinite(col) if not spark else (col.isnan() | is_inf(col)))
    got = _run(table, aggs)
    odd = [i for i, name in enumerate(columns) if int(got.get(f"{i}.nonfinite") or 0) > 0]
    split: dict[str, Any] = {}
    if odd:
        more: dict[str, Any] = {}
        for i in odd:
            col = table[columns[i]]
            more[f"{i}.nan"] = col.count(where=col.isnan())
            more[f"{i}.inf"] = col.count(where=is_inf(col))
        split = _run(table, more)
    counts = {}
    for i, name in enumerate(columns):
        dtype = schema[name]
        nan, inf = int(split.get(f"{i}.nan") or 0), int(split.get(f"{i}.inf") or 0)
        counts[name] = ColumnCounts(present=int(got[f"{i}.notnull"] or 0) - nan, inf=inf, dtype=str(dtype),
                                    floating=bool(dtype.is_floating()), integer=bool(dtype.is_integer()),
                                    numeric=bool(dtype.is_numeric()))
    return SideCounts(int(got["rows"]), columns, counts, kinds)


def numeric_summary(table: Any, names: list[str], floating: dict[str, bool]) -> dict[str, dict[str, Any]]:
    """Smallest and largest finite value and the population standard deviation of several columns, in one pass.

    Returns
    -------
    dict of str to dict
        Column -> ``{"min", "max", "std"}``.
    """
    aggs: dict[str, Any] = {}
    for i, name in enumerate(names):
        col = table[name]
        fin = _finite(col, floating[name])
        aggs[f"{i}.min"] = col.min(where=fin)
        aggs[f"{i}.max"] = col.max(where=fin)
        aggs[f"{i}.std"] = col.cast("float64").std(how="pop", where=fin)
    got = _run(table, aggs)
    return {name: {k: got[f"{i}.{k}"] for k in ("min", "max", "std")} for i, name in enumerate(names)}


def value_counts(table: Any, name: str, as_float: bool, floating: bool, finite_only: bool,
                 cap: int | None = None) -> tuple[list[Any], np.ndarray]:
    """Distinct non-missing values of one column and how often each occurs (one grouped query).

    Parameters
    ----------
    table : ibis.Table
        The table.
    name : str
        The column.
    as_float : bool
        Read the values as float64 (numerical PSI compares numbers as floats, as the pandas path).
    floating : bool
        Whether the column is stored as floating point (NaN is missing).
    finite_only : bool
        Leave out infinite values too.
    cap : int or None
        Most distinct values read (None: :data:`VALUE_COUNTS_CAP`).

    Returns
    -------
    values : list
        Python values (str, int, float, bool), unordered.
    counts : ndarray of int

    Raises
    ------
    NotComputable
        More than ``cap`` distinct values.
    """
    cap = VALUE_COUNTS_CAP if cap is None else cap
    col = table[name]
    keep = _finite(col, floating) if finite_only else _valid(col, floating)
    v = col.cast("float64") if as_float else col
    kept = table.filter(keep)
    grouped = kept.group_by(v=v).aggregate(n=kept.count()).limit(cap + 1)
    rows = grouped.to_pyarrow()
    values = rows.column("v").to_pylist()
    if len(values) > cap:
        raise NotComputable(f"column {name!r} has more than {cap:,} distinct values on one side; they are not read "
                            "out of the engine one by one")
    return values, np.asarray(rows.column("n").to_pylist(), dtype=np.int64)


def value_counts_if_few(table: Any, name: str, as_float: bool, floating: bool, finite_only: bool, n_rows: int,
                        cap: int | None = None) -> tuple[list[Any], np.ndarray] | None:
    """:func:`value_counts` when the column has at most ``cap`` distinct values, else None.

    A seeded block sample of about ``4 cap`` rows is counted first: more than ``cap`` distinct values in it
    means more in the column (a sample holds no value the column lacks), and the full grouping is skipped.
    """
    cap = SMALL_DISTINCT if cap is None else cap
    col = table[name]
    keep = _finite(col, floating) if finite_only else _valid(col, floating)
    if n_rows > 8 * cap:
        sample = _rough_sample(table, min(1.0, 4 * cap / n_rows), 20240611)
        seen = int(sample.filter(keep).select(v=col).distinct().count().to_pyarrow().as_py())
        if seen > cap:
            return None
    try:
        return value_counts(table, name, as_float, floating, finite_only, cap)
    except NotComputable:
        return None


def _rough_sample(table: Any, fraction: float, seed: int) -> Any:
    """Return a sample that only speeds a query up (the result never depends on which rows it holds).

    DuckDB: a block sample with ``seed``; Spark, whose ibis backend takes no seed: a Bernoulli row sample
    (``rand() <= fraction``), different rows each time and the same results.
    """
    from gatekit.data.engine import is_spark

    if is_spark(table):
        return table.sample(fraction, method="row")
    return table.sample(fraction, method="block", seed=seed)


def _double_list(values: Any) -> Any:
    """Return a DOUBLE[] literal parsed from text (each value's shortest repr: DuckDB reads it back bit for bit)."""
    import ibis

    return ibis.literal("[" + ", ".join(repr(float(v)) for v in values) + "]").cast("array<float64>")


def _histogram() -> Any:
    """DuckDB's ``histogram(x, boundaries)`` aggregate as an ibis builtin: counts of ``(b_{i-1}, b_i]``."""
    import ibis
    import ibis.expr.datatypes as dt

    def histogram(arg, boundaries):  # type: ignore[no-untyped-def]
        """DuckDB's histogram over given boundaries (a builtin aggregate; the body is never called)."""

    return ibis.udf.agg.builtin(histogram, name="histogram",
                                signature=((dt.float64, dt.Array(dt.float64)), dt.Map(dt.float64, dt.int64)))


def _bucket_counts(frame: Any, wanted: dict[str, tuple[str, np.ndarray]]) -> dict[str, np.ndarray]:
    """Count one batch's finite values per bucket ``(b_{i-1}, b_i]`` of sorted ``bounds`` (the last: above all)."""
    out: dict[str, np.ndarray] = {}
    for key, (name, bounds) in wanted.items():
        x = np.asarray(frame[name].to_numpy(dtype=float, na_value=np.nan), dtype=float)
        x = x[np.isfinite(x)]
        out[key] = np.bincount(np.searchsorted(bounds, x, side="left"), minlength=len(bounds) + 1).astype(np.int64)
    return out


def spark_histograms(table: Any, wanted: dict[str, tuple[str, Any]]) -> dict[str, list[tuple[float, int]]]:
    """DuckDB's ``histogram(x, boundaries)`` on Spark: per key, ``[(b_i, count of (b_{i-1}, b_i])]``.

    Spark has no histogram over given boundaries; the executors bin each Arrow batch with numpy
    (``searchsorted`` on the sorted boundaries, ``bincount``) and the driver adds the batches' counts
    (:func:`gatekit.data.engine.map_batches`): one pass over the columns, exact. Finite values only (nulls,
    NaN and infinities are not counted, as the DuckDB aggregate's ``where``).

    Parameters
    ----------
    table : ibis.Table
        The rows (Spark).
    wanted : dict of str to (str, sequence of float)
        Key -> (column, boundaries).
    """
    from gatekit.data.engine import map_batches

    if not wanted:
        return {}
    bounds = {k: (name, np.unique(np.asarray(b, dtype=float))) for k, (name, b) in wanted.items()}
    cols = list(dict.fromkeys(name for name, _ in bounds.values()))
    total = {k: np.zeros(len(b) + 1, dtype=np.int64) for k, (_, b) in bounds.items()}
    cast = table.select(**{c: table[c].cast("float64") for c in cols})
    for part in map_batches(cast, cols, functools.partial(_bucket_counts, wanted=bounds), SPARK_BATCH_ROWS):
        for k, counts in part.items():
            total[k] += counts
    return {k: [(float(b), int(c)) for b, c in zip(bounds[k][1], total[k][:-1], strict=True)] for k in bounds}


SPARK_BATCH_ROWS = 1_000_000
"""Rows per batch when Spark's executors bin values (:func:`spark_histograms`)."""


def _at_or_below(per: Any, bounds: np.ndarray) -> np.ndarray:
    """Cumulative counts at or below each boundary from a ``histogram`` map (``bounds`` sorted and distinct)."""
    got = dict(per or [])
    return np.cumsum([int(got.get(float(b), 0)) for b in bounds]).astype(np.int64)


def counts_below(table: Any, edges: dict[str, tuple[bool, np.ndarray]], last_inclusive: bool = False
                 ) -> dict[str, np.ndarray]:
    """Finite values below each edge, for several columns in one pass (DuckDB's ``histogram`` aggregate).

    ``histogram(x, boundaries)`` counts the values in ``(b_{i-1}, b_i]``; a value is below ``e`` exactly
    when it is at or below the largest double under ``e`` (``math.nextafter(e, -inf)``), so those are the
    boundaries (the last is ``e`` itself with ``last_inclusive``).

    Parameters
    ----------
    table : ibis.Table
        The table.
    edges : dict of str to (bool, ndarray)
        Column -> (stored as floating point, edges ascending; a repeated edge gets the same count).
    last_inclusive : bool
        Count the values at or below the last edge instead of below it (``numpy.histogram``'s closed last bin).

    Returns
    -------
    dict of str to ndarray of int
        Column -> counts, one per edge.
    """
    import math

    from gatekit.data.engine import is_spark

    hist = _histogram()
    aggs: dict[str, Any] = {}
    bounds: dict[str, list[float]] = {}
    for name, (floating, es) in edges.items():
        if len(es) == 0:
            continue
        b = [math.nextafter(float(e), -math.inf) for e in es]
        if last_inclusive:
            b[-1] = float(es[-1])
        bounds[name] = b
        col = table[name]
        aggs[name] = hist(col.cast("float64"), _double_list(b), where=_finite(col, floating))
    got = spark_histograms(table, {n: (n, b) for n, b in bounds.items()}) if is_spark(table) else _run(table, aggs)
    out: dict[str, np.ndarray] = {}
    for name, (_, es) in edges.items():
        if len(es) == 0:
            out[name] = np.zeros(0, dtype=np.int64)
            continue
        per = dict(got[name] or [])
        ub = sorted(set(bounds[name]))  # a repeated edge (discrete windows a few doubles apart) is one boundary
        cum = np.cumsum([int(per.get(b, 0)) for b in ub])
        out[name] = np.asarray(cum, dtype=np.int64)[np.searchsorted(ub, bounds[name])]
    return out


def unseen_values(table: Any, name: str, floating: bool, windows: np.ndarray,
                  cap: int | None = None) -> tuple[list[float], int]:
    """Finite current values in no match window of a discrete reference: the smallest ``cap``, and how many.

    ``windows`` is :func:`gatekit.stats.drift.discrete_windows`' ``[l_1, h_1, ..., l_d, h_d]``; a value matches
    when ``l_i <= v < h_i`` for some ``i`` (the pandas path's bins, bit for bit).
    """
    import functools
    import operator

    cap = UNSEEN_CAP if cap is None else cap
    col = table[name]
    x = col.cast("float64")
    matched = functools.reduce(operator.or_, [(x >= lit(lo)) & (x < lit(hi))
                                              for lo, hi in zip(windows[0::2], windows[1::2], strict=True)])
    keep = _finite(col, floating) & ~matched
    d = table.filter(keep).select(v=x).distinct()
    total = int(d.count().to_pyarrow().as_py())
    vals = d.order_by("v").limit(cap).to_pyarrow().column("v").to_pylist()
    return [float(v) for v in vals], total


def sample_values(table: Any, names: list[str], n_rows: int, rows: int | None = None) -> dict[str, np.ndarray]:
    """Finite values of several numerical columns in one seeded block sample of the table (one query).

    Parameters
    ----------
    table : ibis.Table
        The table.
    names : list of str
        Numeric columns.
    n_rows : int
        The table's rows.
    rows : int or None
        Rows wanted (None: :data:`SAMPLE_ROWS`); a table of at most this many rows is read whole.

    Returns
    -------
    dict of str to ndarray of float
        Column -> its sampled finite values as float64, unordered. A subset of the column's values, so more
        than ``c`` distinct values in it means more than ``c`` in the column.
    """
    if not names:
        return {}
    rows = SAMPLE_ROWS if rows is None else rows
    t = table if n_rows <= rows else _rough_sample(table, rows / n_rows, SAMPLE_SEED)
    got = t.select(**{f"c{i}": t[name].cast("float64") for i, name in enumerate(names)}).to_pyarrow()
    out: dict[str, np.ndarray] = {}
    for i, name in enumerate(names):
        v = np.asarray(got.column(f"c{i}").to_numpy(zero_copy_only=False), dtype=float)
        out[name] = v[np.isfinite(v)]
    return out


def few_values(table: Any, name: str, floating: bool, sample: np.ndarray,
               cap: int) -> tuple[list[Any], np.ndarray] | None:
    """Return a numerical column's finite values as exact value counts (float64) if at most ``cap``, else None.

    ``sample`` (:func:`sample_values`) holding more than ``cap`` distinct values decides without a query.
    """
    if len(np.unique(sample)) > cap:
        return None
    try:
        return value_counts(table, name, True, floating, True, cap)
    except NotComputable:
        return None


class _Windows:
    """The read brackets of one column: exact value counts inside ``(a0, a1]`` and the values at or below ``a0``.

    Parameters
    ----------
    segments : list of (float, float, int, ndarray, ndarray)
        ``(a0, a1, below, values, counts)``: every finite value in ``(a0, a1]`` (sorted, distinct) with its
        count, and ``below`` the number of finite values at or below ``a0`` (``a0 = -inf``: none).
    """

    def __init__(self, segments: list[tuple[float, float, int, np.ndarray, np.ndarray]]) -> None:
        self.segments = segments

    def _find(self, x: float) -> tuple[float, float, int, np.ndarray, np.ndarray] | None:
        for seg in self.segments:
            if seg[0] < x <= seg[1]:
                return seg
        return None

    def count_below(self, e: float) -> int | None:
        """Finite values below ``e`` when a read bracket holds ``e``, else None."""
        seg = self._find(e)
        if seg is None:
            return None
        return seg[2] + int(seg[4][seg[3] < e].sum())

    def largest_below(self, x: float) -> float | None:
        """Return the largest finite value below ``x`` (NaN: none) when the read brackets tell, else None."""
        seg = self._find(x)
        if seg is None:
            return None
        less = seg[3][seg[3] < x]
        if len(less):
            return float(less[-1])
        return float("nan") if seg[2] == 0 else None


def reference_order_statistics(table: Any, ranks: dict[str, list[int]], floating: dict[str, bool],
                               n_finite: dict[str, int], samples: dict[str, np.ndarray]
                               ) -> tuple[dict[str, dict[int, float]], dict[str, _Windows],
                                          dict[str, tuple[float, float]]]:
    """Exact order statistics of several numerical columns, reading only small windows around each rank.

    Two passes over the table, each one aggregate for all the columns:

    1. boundaries: for each rank, the sample's values around its place in the sample (:data:`BRACKET_Z`
       binomial standard deviations either side, every few of them: about :data:`BRACKET_STEPS` per rank),
       each also with the double just below it; DuckDB's ``histogram`` counts the finite values at or below
       every boundary (and the pass gives each column's smallest and largest finite value). Each rank then
       lies in a known segment ``(b_{j-1}, b_j]`` with a known count below it; a segment ``(b^-, b]`` holds
       the single value ``b`` (a tie), whose count is known;
    2. the finite values inside the other segments that hold a rank (each at most :data:`WINDOW_ROWS` rows) are
       read (``list`` aggregates), sorted, and the ``k``-th smallest value read off: exactly
       ``np.sort(values)[k]``.

    A rank in a segment of more rows (a sample that misrepresents the column) is left to
    :func:`gatekit.data.engine.order_statistics` (also exact).

    Parameters
    ----------
    table : ibis.Table
        The table.
    ranks : dict of str to list of int
        Column -> 0-based ranks among its finite values.
    floating : dict of str to bool
        Column -> stored as floating point.
    n_finite : dict of str to int
        Column -> its finite values (>= 1).
    samples : dict of str to ndarray
        Column -> sampled finite values (:func:`sample_values`).

    Returns
    -------
    values : dict of str to dict of int to float
        Column -> rank -> value.
    windows : dict of str to _Windows
        Column -> the segments known value by value (counts below a value, the largest value below a value).
    ranges : dict of str to (float, float)
        Column -> smallest and largest finite value.
    """
    import math

    from gatekit.data.engine import is_spark, order_statistics

    spark = is_spark(table)
    hists: dict[str, tuple[str, Any]] = {}
    hist = _histogram()
    bounds: dict[str, np.ndarray] = {}
    aggs: dict[str, Any] = {}
    for i, (name, ks) in enumerate(ranks.items()):
        n, s = n_finite[name], np.sort(samples[name])
        m = len(s)
        bs: list[float] = []
        for k in ks:
            if m == 0:
                break
            p = k / n
            h = math.ceil(BRACKET_Z * math.sqrt(m * p * (1 - p))) + 1
            first, last = max(0, math.floor(p * m) - h), min(m - 1, math.ceil(p * m) + h)
            step = max(1, (last - first) // BRACKET_STEPS)
            bs.extend(s[first:last + 1:step].tolist())
            bs.append(float(s[last]))
        b = np.unique(np.asarray(bs, dtype=float))
        bounds[name] = np.unique(np.concatenate((b, np.nextafter(b, -np.inf))))
        col = table[name]
        fin = _finite(col, floating[name])
        x = col.cast("float64")
        if len(bounds[name]) and spark:
            hists[f"{i}.h"] = (name, bounds[name])
        elif len(bounds[name]):
            aggs[f"{i}.h"] = hist(x, _double_list(bounds[name]), where=fin)
        aggs[f"{i}.min"] = x.min(where=fin)
        aggs[f"{i}.max"] = x.max(where=fin)
    got = _run(table, aggs)
    if hists:
        got.update(spark_histograms(table, hists))
    values: dict[str, dict[int, float]] = {name: {} for name in ranks}
    segments: dict[str, list[tuple[float, float, int, np.ndarray, np.ndarray]]] = {name: [] for name in ranks}
    ranges: dict[str, tuple[float, float]] = {}
    to_read: dict[str, list[tuple[int, float, float, int, int]]] = {}
    seg_of: dict[str, dict[int, int]] = {}
    reads: dict[str, Any] = {}
    for i, (name, ks) in enumerate(ranks.items()):
        n, b = n_finite[name], bounds[name]
        ranges[name] = (float(got[f"{i}.min"]), float(got[f"{i}.max"]))
        cum = _at_or_below(got.get(f"{i}.h"), b)
        # segment j is (b[j-1], b[j]] (b[-1] = -inf, b[len] = +inf), below[j] values lie at or below its start
        below = np.concatenate(([0], cum))
        upto = np.concatenate((cum, [n]))
        seg_of[name] = {k: int(np.searchsorted(cum, k, side="right")) for k in ks}
        read: list[tuple[int, float, float, int, int]] = []
        for j in sorted(set(seg_of[name].values())):
            lo = -math.inf if j == 0 else float(b[j - 1])
            hi = math.inf if j == len(b) else float(b[j])
            count = int(upto[j] - below[j])
            if lo > -math.inf and hi < math.inf and np.nextafter(lo, np.inf) == hi:  # one value: a tie, known
                segments[name].append((lo, hi, int(below[j]), np.array([hi]), np.array([count], dtype=np.int64)))
            elif count <= WINDOW_ROWS:
                read.append((j, lo, hi, int(below[j]), count))
        if read:
            col = table[name]
            x = col.cast("float64")
            cond = None
            for _j, lo, hi, _b, _c in read:
                term = None
                if lo > -math.inf:
                    term = x > lit(lo)
                if hi < math.inf:
                    term = (x <= lit(hi)) if term is None else term & (x <= lit(hi))
                term = ibis_true() if term is None else term
                cond = term if cond is None else cond | term
            reads[name] = x.collect(where=_finite(col, floating[name]) & cond)
            to_read[name] = read
    window_values = _run(table, {name: reads[name] for name in reads}) if reads else {}
    for name, read in to_read.items():
        v = np.sort(np.asarray(window_values[name] or [], dtype=float))
        for _j, lo, hi, start, count in read:
            inside = v[(v > lo) & (v <= hi)]
            if len(inside) != count:  # the engine answered differently twice: this segment is not trusted
                continue
            u, c = np.unique(inside, return_counts=True)
            segments[name].append((lo, hi, start, u, c.astype(np.int64)))
    for name, ks in ranks.items():
        for lo, hi, start, u, c in segments[name]:
            cs = np.cumsum(c)
            for k in ks:
                if start <= k < start + int(cs[-1]) and lo < float(u[0]) and float(u[-1]) <= hi:
                    values[name][k] = float(u[int(np.searchsorted(cs, k - start, side="right"))])
        missing = [k for k in ks if k not in values[name]]
        if missing:  # a segment too full to read: the engine's exact search
            values[name].update(order_statistics(table, name, missing)[1])
    return values, {name: _Windows(segments[name]) for name in ranks}, ranges


def ibis_true() -> Any:
    """Return a boolean true literal."""
    import ibis

    return ibis.literal(True)


def large_reference_bins(table: Any, names: list[str], floating: dict[str, bool], n_finite: dict[str, int],
                         samples: dict[str, np.ndarray], bins: int) -> dict[str, Any]:
    """Quantile bins of numerical reference columns with more than ``bins`` distinct values, never read whole.

    The numbers of :func:`gatekit.stats.drift.reference_bins` on the sorted column, computed from order
    statistics (:func:`reference_order_statistics`): numpy's linear quantiles
    (:func:`gatekit.stats.drift.linear_quantile`, bit-equal to :func:`numpy.quantile`), the largest value below
    and the smallest at or above each (the next order statistic, or the brackets), the edges
    (:func:`gatekit.stats.drift.quantile_edges`), and the values below each edge (the brackets, else one
    ``histogram`` pass for all columns).

    Parameters
    ----------
    table : ibis.Table
        The reference.
    names : list of str
        Numerical columns, each with more than ``bins`` distinct finite values.
    floating, n_finite, samples
        As :func:`reference_order_statistics`.
    bins : int
        ``psi.bins``.

    Returns
    -------
    dict of str to (edges, ref_counts, distinct, mode)
        ``distinct`` is ``[smallest, largest]`` (a numerical result reads only its ends); ``mode`` returns the
        most frequent value and its count (one grouped query, only when called).
    """
    import functools

    from gatekit.stats.drift import linear_quantile, linear_quantile_positions, quantile_edges

    if not names:
        return {}
    probs = np.arange(1, bins) / bins
    pos = {name: linear_quantile_positions(n_finite[name], probs) for name in names}
    ranks = {name: sorted(set(pos[name][0].tolist()) | set(pos[name][1].tolist())) for name in names}
    values, windows, ranges = reference_order_statistics(table, ranks, floating, n_finite, samples)
    qs: dict[str, np.ndarray] = {}
    lowers: dict[str, np.ndarray] = {}
    uppers: dict[str, np.ndarray] = {}
    ask: dict[tuple[str, int], float] = {}  # (column, quantile index) -> find the largest value below it
    for name in names:
        lo, hi, gamma = pos[name]
        a = np.array([values[name][int(k)] for k in lo])
        b = np.array([values[name][int(k)] for k in hi])
        q = linear_quantile(a, b, gamma)
        # no value lies between x[lo] and x[hi], and x[lo] <= q <= x[hi]
        upper = np.where(a >= q, a, b)
        lower = np.full(len(q), np.nan)
        for i in range(len(q)):
            if a[i] < q[i]:
                lower[i] = a[i]
            else:
                near = windows[name].largest_below(float(a[i]))
                if near is None:
                    ask[(name, i)] = float(a[i])
                else:
                    lower[i] = near
        qs[name], lowers[name], uppers[name] = q, lower, upper
    if ask:
        aggs = {}
        for j, ((name, _i), x) in enumerate(ask.items()):
            col = table[name]
            v = col.cast("float64")
            aggs[str(j)] = v.max(where=_finite(col, floating[name]) & (v < lit(x)))
        found = _run(table, aggs)
        for j, (name, i) in enumerate(ask):
            lowers[name][i] = np.nan if found[str(j)] is None else float(found[str(j)])
    edges = {name: quantile_edges(qs[name], lowers[name], uppers[name]) for name in names}
    below: dict[str, np.ndarray] = {}
    rest: dict[str, tuple[bool, np.ndarray]] = {}
    for name in names:
        got_below = [windows[name].count_below(float(e)) for e in edges[name]]
        if any(g is None for g in got_below):
            rest[name] = (floating[name], edges[name])
        else:
            below[name] = np.asarray(got_below, dtype=np.int64)
    below.update(counts_below(table, rest) if rest else {})
    out: dict[str, Any] = {}
    for name in names:
        ref_counts = np.diff(np.concatenate(([0], below[name], [n_finite[name]])))
        mode = functools.partial(_mode_query, table, name, floating[name])
        out[name] = (edges[name], ref_counts, np.asarray(ranges[name], dtype=float), mode)
    return out


def _mode_query(table: Any, name: str, floating: bool) -> tuple[float, int]:
    """Return the most frequent finite value (the smallest of ties) and its count (one grouped query)."""
    col = table[name]
    kept = table.filter(_finite(col, floating))
    g = kept.group_by(v=col.cast("float64")).aggregate(n=kept.count())
    row = g.order_by([g.n.desc(), g.v]).limit(1).to_pyarrow().to_pylist()[0]
    return float(row["v"]), int(row["n"])


def cdf_distances(ref: Any, cur: Any, name: str, ref_floating: bool, cur_floating: bool, n_ref: int,
                  n_cur: int) -> tuple[float, float]:
    """Return the KS statistic and the Wasserstein-1 distance of one column's finite values, computed in DuckDB.

    The two sides are stacked, grouped by value into (value, reference count, current count), and each
    side's empirical CDF at each distinct value is its running count over its size (integer window sums,
    then one division, as scipy's ``searchsorted(..., side="right") / n``). Returned: the largest absolute
    CDF difference (``scipy.stats.ks_2samp``'s statistic) and the sum over consecutive distinct values of
    the CDF difference times the gap to the next value (``scipy.stats.wasserstein_distance``). Exact for
    any number of distinct values; the sum's order differs from scipy's (rounding, ~1e-15 relative).
    """
    import ibis

    rc, cc = ref[name], cur[name]
    r = ref.filter(_finite(rc, ref_floating)).select(v=rc.cast("float64"), a=ibis.literal(1, type="int64"),
                                                      b=ibis.literal(0, type="int64"))
    c = cur.filter(_finite(cc, cur_floating)).select(v=cc.cast("float64"), a=ibis.literal(0, type="int64"),
                                                      b=ibis.literal(1, type="int64"))
    u = r.union(c, distinct=False)
    g = u.group_by("v").aggregate(nr=u.a.sum(), nc=u.b.sum())
    cum = ibis.window(order_by=g.v, preceding=None, following=0)
    g = g.mutate(fr=g.nr.sum().over(cum).cast("float64") / float(n_ref),
                 fc=g.nc.sum().over(cum).cast("float64") / float(n_cur),
                 nxt=g.v.lead().over(ibis.window(order_by=g.v)))
    diff = (g.fr - g.fc).abs()
    got = _run(g, {"d": diff.max(), "w": (diff * (g.nxt - g.v)).sum()})
    return float(got["d"]), float(got["w"] or 0.0)


NO_EVIDENTLY_PAGE = ("evidently's HTML report is not written on the DuckDB engine: evidently reads pandas frames in "
                     "memory and the rows stay in DuckDB; its methods are computed by gatekit from counts with "
                     "evidently's definitions, and gatekit's own report shows every result")
"""Why there is no evidently page on DuckDB (the drift section's ``info["evidently_report_refused"]``)."""


class TableSide:
    """The DuckDB side of a comparison: columns, kinds, types and counts from :func:`side_counts`."""

    def __init__(self, counts: SideCounts) -> None:
        self.sc = counts
        self.columns = list(counts.columns)
        self.counts = counts.counts
        self.rows = counts.rows

    def has(self, name: Any) -> bool:
        """Whether the table has this column."""
        return name in self.sc.kinds

    def kind(self, name: str) -> str | None:
        """``numerical``, ``categorical`` or None (:func:`ibis_kind`)."""
        return self.sc.kinds[name]

    def dtype(self, name: str) -> str:
        """Return the column's ibis type."""
        return self.counts[name].dtype

    def present(self, name: str) -> int:
        """Non-missing values of the column."""
        return self.counts[name].present

    def infinite(self, name: str) -> int:
        """Infinite values of the column (0 unless stored as floating point)."""
        return self.counts[name].inf


def _numeric_storage(name: str, side: str, c: ColumnCounts) -> None:
    if not c.numeric:
        raise NotComputable(f"column {name!r} is stored as {c.dtype} in the {side} data; on the DuckDB engine a "
                            "numerical comparison needs a numeric column (cast it, or list it in "
                            "categorical_features)")


def psi_results(ref: Any, cur: Any, rs: TableSide, cs: TableSide, features: list[Any], bins: int,
                smoothing: float) -> dict[str, Any]:
    """Compute gatekit's PSI of every feature from what DuckDB returns (the pandas path's numbers and counts).

    Parameters
    ----------
    ref : ibis.Table
        The reference.
    cur : ibis.Table
        The current data.
    rs : TableSide
        The reference's statistics pass.
    cs : TableSide
        The current data's.
    features : list of Feature
        The compared features (no planning problem).
    bins : int
        ``psi.bins``.
    smoothing : float
        ``psi.smoothing``.

    Returns
    -------
    dict of str to PsiResult or NotComputable
        Per feature: the result, or why there is none (the pandas path's reasons).

    Notes
    -----
    Queries: one seeded block sample per table of the compared numerical columns (:func:`sample_values`); per
    categorical feature one grouped count per side; per numerical feature one grouped count per side with few
    distinct values (at most ``max(SMALL_DISTINCT, bins)`` on the reference, :data:`SMALL_DISTINCT` on the
    current side; a sample with more decides without a query); the reference's other columns through
    :func:`large_reference_bins` (two passes for all of them, never a column whole); the current side's other
    columns through one ``histogram`` pass shared by all; per discrete feature whose current side has many
    values, one query for the values the reference lacks.
    """
    import functools

    from gatekit.stats.counted_drift import reference_bins
    from gatekit.stats.drift import (
        label_counts,
        psi_categorical_counts,
        psi_from_bins,
    )

    out: dict[str, Any] = {}
    plans: dict[str, dict[str, Any]] = {}
    large: list[str] = []
    numeric = [f.name for f in features if f.kind != "categorical" and rs.counts[f.name].numeric
               and cs.counts[f.name].numeric and rs.counts[f.name].present > 0 and cs.counts[f.name].present > 0
               and not (rs.counts[f.name].inf or cs.counts[f.name].inf)]
    ref_sample = sample_values(ref, numeric, rs.rows)
    cur_sample = sample_values(cur, numeric, cs.rows)
    for f in features:
        name = f.name
        r, c = rs.counts[name], cs.counts[name]
        miss_r, miss_c = rs.rows - r.present, cs.rows - c.present
        try:
            if r.present == 0 or c.present == 0:
                side = "reference" if r.present == 0 else "current"
                raise NotComputable(f"every {side} value is missing",
                                    {"missing_reference": miss_r, "missing_current": miss_c})
            if f.kind == "categorical":
                rv, rn = value_counts(ref, name, False, r.floating, False)
                cv, cn = value_counts(cur, name, False, c.floating, False)
                out[name] = psi_categorical_counts(label_counts(rv, rn), label_counts(cv, cn), miss_r, miss_c,
                                                   smoothing)
                continue
            _numeric_storage(name, "reference", r)
            _numeric_storage(name, "current", c)
            if r.inf or c.inf:
                raise NotComputable("the column holds infinite values; quantile bins are undefined")
            n = r.finite
            plan: dict[str, Any] = {"miss_r": miss_r, "miss_c": miss_c}
            plans[name] = plan
            # at most max(SMALL_DISTINCT, bins) values: exact value counts (a column with at most `bins` values is
            # discrete; the order-statistics route below is for more)
            few = few_values(ref, name, r.floating, ref_sample[name], max(SMALL_DISTINCT, bins))
            if few is None:  # many values: quantile bins from order statistics, after this loop (all columns at once)
                large.append(name)
                continue
            order = np.argsort(np.asarray(few[0], dtype=float), kind="stable")
            vals, cnts = np.asarray(few[0], dtype=float)[order], few[1][order]
            if len(vals) == 1:
                del plans[name]
                raise NotComputable(f"fewer than 2 usable bins: every reference value is {vals[0]:g}",
                                    {"n_reference": n})
            kind, edges, ref_counts = reference_bins(vals, cnts, bins)
            plan.update(kind=kind, edges=edges, ref_counts=ref_counts, distinct=vals,
                        mode=functools.partial(_mode_of_counts, vals, cnts))
        except NotComputable as exc:
            out[name] = exc
    for name, (edges, ref_counts, ends, mode) in large_reference_bins(
            ref, large, {k: rs.counts[k].floating for k in large}, {k: rs.counts[k].finite for k in large},
            {k: ref_sample[k] for k in large}, bins).items():
        plans[name].update(kind="numerical", edges=edges, ref_counts=ref_counts, mode=mode, distinct=ends)
    # the current side: value counts when it has few values (bins, unseen values and the values beyond the
    # reference's range in numpy)
    for name, plan in plans.items():
        c = cs.counts[name]
        kind, edges, distinct = plan["kind"], plan["edges"], plan["distinct"]
        cur_few = few_values(cur, name, c.floating, cur_sample[name], SMALL_DISTINCT)
        if cur_few is None:
            continue
        cur_vals = np.asarray(cur_few[0], dtype=float)
        weights = np.asarray(cur_few[1], dtype=np.int64)
        idx = np.searchsorted(edges, cur_vals, side="right")
        plan["cur_counts"] = np.bincount(idx, weights=weights, minlength=len(edges) + 1).astype(np.int64)
        if kind == "discrete":
            plan["unseen"] = [float(v) for v in np.unique(cur_vals[idx % 2 == 0])]
        else:
            plan["outside"] = (int(weights[cur_vals < distinct[0]].sum()),
                               int(weights[cur_vals > distinct[-1]].sum()))
    # the other current columns: one histogram pass; a numerical column's edges get the reference's smallest
    # value and the next double above its largest around them (counted below: values outside its range)
    need_hist: dict[str, tuple[bool, np.ndarray]] = {}
    for name, p in plans.items():
        if "cur_counts" in p:
            continue
        es = p["edges"]
        if p["kind"] == "numerical":
            es = np.concatenate(([p["distinct"][0]], es, [np.nextafter(p["distinct"][-1], np.inf)]))
        need_hist[name] = (cs.counts[name].floating, es)
    for name, below in counts_below(cur, need_hist).items():
        p, n_cur = plans[name], cs.counts[name].finite
        if p["kind"] == "numerical":
            p["outside"] = (int(below[0]), int(n_cur - below[-1]))
            below = below[1:-1]
        p["cur_counts"] = np.diff(np.concatenate(([0], below, [n_cur])))
    for name, p in plans.items():
        try:
            total = None
            if p["kind"] == "discrete" and "unseen" not in p:
                p["unseen"], n_unseen = unseen_values(cur, name, cs.counts[name].floating, p["edges"])
                total = n_unseen if n_unseen > len(p["unseen"]) else None
            res = psi_from_bins(p["kind"], p["edges"], p["ref_counts"], p["cur_counts"], p["miss_r"], p["miss_c"],
                                smoothing, p["mode"], p["distinct"], p.get("unseen", []), p.get("outside", (0, 0)))
            res.unseen_total = total
            out[name] = res
        except NotComputable as exc:
            out[name] = exc
    return out


def _mode_of_counts(values: np.ndarray, counts: np.ndarray) -> tuple[float, int]:
    top = int(np.argmax(counts))  # the first of ties: the smallest value, as numpy.unique + argmax
    return float(values[top]), int(counts[top])


def _empty_side(name: str, n_r: int, n_c: int) -> None:
    if n_r == 0 or n_c == 0:
        side = "reference" if n_r == 0 else "current"
        raise NotComputable(f"evidently failed: ValueError: An empty column '{name}' was provided for drift "
                            f"calculation in the {side} dataset.")


def _keyed_counts(ref: Any, cur: Any, name: str, r: ColumnCounts, c: ColumnCounts
                  ) -> tuple[np.ndarray, np.ndarray, list[Any]]:
    """Count each value of both sides (finite, non-missing), as evidently's keyed bins."""
    rv, rn = value_counts(ref, name, False, r.floating, True)
    cv, cn = value_counts(cur, name, False, c.floating, True)
    rd = dict(zip(rv, rn.tolist(), strict=True))
    cd = dict(zip(cv, cn.tolist(), strict=True))
    keys = list(set(rd) | set(cd))
    return (np.array([rd.get(k, 0) for k in keys], dtype=np.int64),
            np.array([cd.get(k, 0) for k in keys], dtype=np.int64), keys)


def _binned_shares(ref: Any, cur: Any, f: Any, rs: TableSide, cs: TableSide) -> tuple[np.ndarray, np.ndarray]:
    """Return evidently's ``get_binned_data`` shares (before any zero fill) from counts.

    A numerical column with more than 20 distinct reference values: Sturges bins over both sides together
    (:func:`gatekit.stats.drift.sturges_edges`), counted as ``numpy.histogram`` does; else one bin per value.
    """
    from gatekit.stats.drift import EVIDENTLY_DISCRETE_MAX, sturges_edges

    name = f.name
    r, c = rs.counts[name], cs.counts[name]
    if f.kind == "numerical":
        _numeric_storage(name, "reference", r)
        _numeric_storage(name, "current", c)
        few = value_counts_if_few(ref, name, False, r.floating, True, r.finite, cap=EVIDENTLY_DISCRETE_MAX)
        if few is None:
            # pandas stores a column without missing values of an integer type as integers, and numpy then
            # uses bins at least 1 wide
            integer = r.integer and c.integer and r.present == rs.rows and c.present == cs.rows
            n_r, n_c = r.finite, c.finite
            fl = {name: r.floating}
            rsum, csum = numeric_summary(ref, [name], fl)[name], numeric_summary(cur, [name], {name: c.floating})[name]
            edges = sturges_edges(min(rsum["min"], csum["min"]), max(rsum["max"], csum["max"]), n_r + n_c, integer)
            rb = counts_below(ref, {name: (r.floating, edges)}, last_inclusive=True)[name]
            cb = counts_below(cur, {name: (c.floating, edges)}, last_inclusive=True)[name]
            return np.diff(rb) / n_r, np.diff(cb) / n_c
    rc, cc, _ = _keyed_counts(ref, cur, name, r, c)
    return rc / int(rc.sum()), cc / int(cc.sum())


def evidently_values(ref: Any, cur: Any, rs: TableSide, cs: TableSide, features: list[Any], spec: Any,
                     not_finite: dict[str, str], notes: dict[str, str]) -> tuple[dict[str, float], dict[str, str]]:
    """Compute the methods evidently defines from counts DuckDB returns.

    The counterpart of :func:`gatekit.sections.drift_evidently.run_evidently` (same keys, same handling of a
    value that is not a number): KS p-value (:func:`cdf_distances`, :func:`gatekit.stats.drift.ks_p_value`),
    normed Wasserstein distance, Jensen-Shannon distance and evidently's PSI on evidently's bins
    (:func:`_binned_shares`), and the chi-square p-value on the category counts. Missing and infinite values
    are left out, as evidently does.

    Returns
    -------
    values : dict of str to float
        By feature name (``"<name>#psi"``: evidently's PSI beside another method).
    errors : dict of str to str
    """
    from scipy.spatial import distance

    from gatekit.sections.drift_evidently import JS_ROUNDING_NOTE, explain_non_finite_counts
    from gatekit.stats.drift import (
        evidently_chisquare,
        evidently_psi,
        jensenshannon_from_shares,
        ks_p_value,
        wasserstein_normed,
    )

    need = [f for f in features if f.engine == "evidently"]
    jobs = [(f.name, f, f.method) for f in need]
    jobs += [(f"{f.name}#psi", f, "psi") for f in need if spec.psi.binning == "evidently" and f.method != "psi"]
    values: dict[str, float] = {}
    errors: dict[str, str] = {}
    distances: dict[str, tuple[float, float]] = {}
    for key, f, method in jobs:
        name = f.name
        r, c = rs.counts[name], cs.counts[name]
        n_r, n_c = r.finite, c.finite
        n_cats = None
        try:
            _empty_side(name, n_r, n_c)
            if method in ("ks", "wasserstein"):
                _numeric_storage(name, "reference", r)
                _numeric_storage(name, "current", c)
                if name not in distances:
                    distances[name] = cdf_distances(ref, cur, name, r.floating, c.floating, n_r, n_c)
                d, w = distances[name]
                if method == "ks":
                    v = ks_p_value(d, n_r, n_c)
                else:
                    summary = numeric_summary(ref, [name], {name: r.floating})[name]
                    v = wasserstein_normed(w, summary["std"] or 0.0)
            elif method == "chisquare":
                rc, cc, keys = _keyed_counts(ref, cur, name, r, c)
                n_cats = len({str(k) for k in keys})
                v = evidently_chisquare(rc, cc)
            else:
                rp, cp = _binned_shares(ref, cur, f, rs, cs)
                if method == "psi":
                    v = evidently_psi(rp, cp)
                else:
                    import warnings

                    with warnings.catch_warnings():
                        warnings.simplefilter("ignore")
                        v = float(distance.jensenshannon(rp, cp))
                    if not np.isfinite(v):
                        try:
                            values[key] = jensenshannon_from_shares(rp, cp)
                            notes[key] = JS_ROUNDING_NOTE.format(value=v)
                        except NotComputable as exc:
                            not_finite[key] = f"evidently's Jensen-Shannon distance is {v!r}: {exc.reason}"
                        continue
        except NotComputable as exc:
            errors[key] = exc.reason
            continue
        except Exception as exc:  # noqa: BLE001 - one column's failure is its own error
            errors[key] = f"{type(exc).__name__}: {exc}"
            continue
        if np.isfinite(v):
            values[key] = float(v)
        else:
            constant = False
            if method == "wasserstein" and r.finite >= 2:
                summary = numeric_summary(ref, [name], {name: r.floating})[name]
                constant = summary["min"] == summary["max"]
            not_finite[key] = explain_non_finite_counts(method, v, f.kind, constant, n_cats)
    return values, errors




def _grouped_auc(table: Any, score: Any, y: Any) -> tuple[int, int, int]:
    """``(2 sum_v p_v N_<v + sum_v p_v n_v, P, N)`` over the distinct values of ``score`` (exact integers).

    :func:`gatekit.stats.leakage.auc_from_sums` turns them into the ROC AUC. ``y`` is 0/1; the negatives
    below each score are a running window sum over the distinct scores, in DuckDB.
    """
    import ibis

    g = table.group_by(v=score).aggregate(p=y.sum(), q=(1 - y).sum())
    g = g.mutate(below=g.q.sum().over(ibis.window(order_by=g.v, preceding=None, following=0)) - g.q)
    got = _run(g, {"num": (2 * g.p * g.below + g.p * g.q).sum(), "P": g.p.sum(), "N": g.q.sum()})
    return int(got["num"] or 0), int(got["P"] or 0), int(got["N"] or 0)


OOF_GROUPS_IN_MEMORY = 200_000
"""At most this many (key, fold) groups are finished in memory (one query instead of four scans)."""


def _oof_auc_from_groups(g: Any) -> float | None:
    """Return the out-of-fold target mean's AUC from (key, fold, rows, positives) groups, as the engine query does.

    The same float64 divisions and integer sums as the SQL in :meth:`LeakageScorer._oof_score`, so the value is
    identical; None when a fold holds every row (the query's own path then says what the engine gives).
    """
    import pandas as pd

    if g.empty:
        return None
    n = g["n"].to_numpy(dtype=np.int64)
    s = g["s"].to_numpy(dtype=np.int64)
    n_all, s_all = int(n.sum()), int(s.sum())
    key = g["k"].astype(object).where(g["k"].notna(), None)
    kn = g.groupby(key, dropna=False, sort=False)["n"].transform("sum").to_numpy(dtype=np.int64)
    ks = g.groupby(key, dropna=False, sort=False)["s"].transform("sum").to_numpy(dtype=np.int64)
    fn = g.groupby("fold", sort=False)["n"].transform("sum").to_numpy(dtype=np.int64)
    fs = g.groupby("fold", sort=False)["s"].transform("sum").to_numpy(dtype=np.int64)
    other = (kn - n).astype(np.float64)
    rest = (n_all - fn).astype(np.float64)
    if np.any((other <= 0) & (rest == 0)):
        return None
    with np.errstate(divide="ignore", invalid="ignore"):
        enc = np.where(other > 0, (ks - s).astype(np.float64) / other, (s_all - fs).astype(np.float64) / rest)
    e = pd.DataFrame({"v": enc, "p": s, "q": n - s}).groupby("v", sort=True)[["p", "q"]].sum()
    p, q = e["p"].to_numpy(dtype=np.int64), e["q"].to_numpy(dtype=np.int64)
    below = np.cumsum(q) - q
    from gatekit.stats.leakage import auc_from_sums

    num = int(sum(2 * int(a) * int(b) + int(a) * int(c) for a, b, c in zip(p, below, q, strict=True)))
    return auc_from_sums(num, int(p.sum()), int(q.sum()))


def _decile_edges(pairs: Any, name: str, x: Any, n: int) -> list[float]:
    """Return the edges ``pandas.qcut(x, 10)`` cuts a feature at, bit for bit, from exact order statistics.

    pandas asks numpy for the percentiles ``linspace(0, 1, 11) * 100`` (linear, Hyndman & Fan type 7); the
    engine returns the order statistics each one reads (:func:`gatekit.data.engine.order_statistics`, exact)
    and :func:`gatekit.stats.drift.linear_quantile` interpolates them as numpy does. (The engines' own
    quantiles interpolate differently in the last bit, which moves a row sitting on an edge to the next bin.)
    A feature with infinite values falls back to the engine's quantile.
    """
    from gatekit.data.engine import order_statistics
    from gatekit.stats.drift import linear_quantile, linear_quantile_positions

    probs = (np.linspace(0, 1, 11) * 100) / 100  # pandas' qcut -> Series.quantile -> numpy's percentile
    lo, hi, gamma = linear_quantile_positions(n, probs)
    try:
        n_finite, got = order_statistics(pairs, name, sorted({int(k) for k in (*lo, *hi)}))
    except ValueError:
        n_finite, got = -1, {}
    if n_finite != n:  # infinities among the values: the engine's own quantile
        return list(pairs.aggregate(q=x.quantile(list(np.linspace(0, 1, 11)))).to_pyarrow().column("q")[0].as_py())
    a = np.array([got[int(k)] for k in lo])
    b = np.array([got[int(k)] for k in hi])
    return [float(v) for v in linear_quantile(a, b, gamma)]


class LeakageScorer:
    """The label-leakage scan's scores of one table's features, from grouped counts DuckDB returns.

    Classification targets only: the feature's folded ROC AUC from (value, target) counts (exact, the rank
    statistic of :func:`gatekit.stats.leakage.auc_from_counts`), the missing indicator's from four counts
    (exact), and the out-of-fold target encodings (the deciles of a numerical feature, the categories of a
    categorical one) computed in DuckDB with the pandas engine's folds (:func:`gatekit.stats.leakage.fold_of`: a
    hash of each row's position, the same on both engines, so every score is equal). A regression target
    is not computable here (its Spearman correlations are not computed from counts yet).

    Parameters
    ----------
    table : ibis.Table
        The evaluation data.
    target : str or None
        The target column.
    data : EvalData
        The run's (compact) evaluation data: its task and positive label.
    """

    def __init__(self, table: Any, target: str | None, data: Any) -> None:
        from gatekit.data.engine import positioned

        table, self.position = positioned(table)  # the rows with their positions (the folds hash them)
        self.table = table
        self.target = target
        self.task = data.task
        self.positive = data.positive_label
        self._target: tuple[Any, Any] | None = None
        self.read_into_memory = False
        """True once a feature and the target were read into memory (a regression target's Spearman scan)."""

    def _y(self) -> tuple[Any, Any]:
        """Return the target as 0/1 and where it is present (labels as :func:`gatekit.core.labels.norm_label`)."""
        import ibis

        from gatekit.core.labels import norm_label

        if self._target is not None:
            return self._target
        t = self.table
        col = t[self.target]
        floating = t.schema()[self.target].is_floating()
        has = _valid(col, floating)
        values = t.filter(has).select(v=col).distinct().limit(1001).to_pyarrow().column("v").to_pylist()
        want = norm_label(self.positive)
        pos = [v for v in values if norm_label(v) == want]
        y = ibis.ifelse(col.isin(pos), 1, 0) if pos else ibis.literal(0)
        self._target = (y.cast("int64"), has)
        return self._target

    def score(self, name: str, kind: str, min_pairs: int) -> Any:
        """Score one feature: its :class:`gatekit.stats.leakage.LeakageResult` (the pandas path's rules and messages).

        A regression target is scored by :func:`gatekit.stats.leakage.leakage_score` on the feature and target
        columns read into memory together (Spearman's ranks need every value), one feature at a time.

        Raises
        ------
        NotComputable
            No target, too few pairs, one class, or neither the values nor the gaps could be scored.
        """
        from gatekit.stats.leakage import LeakageResult, auc_from_counts, auc_from_sums, combine_scores

        if self.target is None:
            raise NotComputable("no target column was given, so the leakage scan has nothing to score against")
        if self.task != "classification":
            # Spearman's ranks need every value: the feature and the target are read into memory together, one
            # feature at a time (16 bytes a row), and scored by the pandas path's own function
            from gatekit.stats.leakage import leakage_score

            pair = self.table.select(f=self.table[name], y=self.table[self.target]).to_pandas()
            res = leakage_score(pair["f"], pair["y"].astype(float).to_numpy(), kind, self.task, min_pairs)
            self.read_into_memory = True
            return res
        t = self.table
        y, has_t = self._y()
        col = t[name]
        floating = t.schema()[name].is_floating()
        ok = _valid(col, floating)
        with_t = t.filter(has_t)
        got = _run(with_t, {
            "rows": with_t.count(), "p_miss": (~ok & (y == 1)).sum(), "n_miss": (~ok & (y == 0)).sum(),
            "p_ok": (ok & (y == 1)).sum(), "n_ok": (ok & (y == 0)).sum()})
        p_miss, n_miss, p_ok, n_ok = (int(got[k] or 0) for k in ("p_miss", "n_miss", "p_ok", "n_ok"))
        n_rows, n_missing = int(got["rows"]), p_miss + n_miss
        miss_score = None
        if n_rows >= min_pairs and 0 < n_missing < n_rows and (p_miss + p_ok) > 0 and (n_miss + n_ok) > 0:
            auc = auc_from_counts(np.array([p_ok, p_miss]), np.array([n_ok, n_miss]))
            miss_score = max(auc, 1.0 - auc)
        values_res = None
        why = None
        try:
            n = p_ok + n_ok
            if n < min_pairs:
                raise NotComputable(f"only {n} rows have both the feature and the target (at least {min_pairs} "
                                    "needed)", {"n_pairs": n})
            if p_ok == 0 or n_ok == 0:
                raise NotComputable("the target has one value in these rows", {"n_pairs": n})
            pairs = t.filter(has_t & ok)
            y2 = y
            candidates: list[tuple[float, bool]] = []
            if kind == "numerical":
                x = col.cast("float64")
                auc = auc_from_sums(*_grouped_auc(pairs, x, y2))
                candidates.append((max(auc, 1.0 - auc), False))
                inner = np.unique(np.asarray(_decile_edges(pairs, name, x, n), dtype=float))[1:-1]
                code = sum(((x > lit(e)).cast("int64") for e in inner), start=ibis_zero())
                candidates.append((self._oof_score(pairs, code, y2), True))
            else:
                candidates.append((self._oof_score(pairs, col, y2), True))
            value, encoded = max(candidates, key=lambda c: c[0])
            values_res = LeakageResult("auc", value, n, encoded)
        except NotComputable as exc:
            why = exc
        return combine_scores(values_res, why, miss_score, n_rows, n_missing, "classification")

    def _oof_score(self, pairs: Any, key: Any, y: Any, folds: int = 5) -> float:
        """Return the folded AUC of the out-of-fold target mean of ``key``, computed in DuckDB.

        :func:`gatekit.stats.leakage.out_of_fold_target_mean`'s definition: a key absent from the other folds
        gets their overall mean.
        """
        import ibis

        from gatekit.stats.leakage import auc_from_sums, fold_of

        # each row's position in the whole table (DuckDB: row_number over the scan, which keeps the insertion
        # order; Spark: the hidden position column), hashed as pandas does: no window over the kept rows
        base = pairs.select(k=key, y=y, fold=fold_of(self.position, folds))
        g = base.group_by(["k", "fold"]).aggregate(n=base.count(), s=base.y.sum())
        few = g.limit(OOF_GROUPS_IN_MEMORY + 1).to_pandas()
        if len(few) <= OOF_GROUPS_IN_MEMORY:  # the usual case: one pass, the rest on these counts
            auc = _oof_auc_from_groups(few)
            if auc is not None:
                return max(auc, 1.0 - auc)
        per_key = g.group_by("k").aggregate(kn=g.n.sum(), ks=g.s.sum())
        per_fold = g.group_by("fold").aggregate(fn=g.n.sum(), fs=g.s.sum())
        total = _run(g, {"n": g.n.sum(), "s": g.s.sum()})
        n_all, s_all = int(total["n"]), int(total["s"])
        j = g.join(per_key, "k").join(per_fold, "fold")
        other = (j.kn - j.n).cast("float64")
        enc = ibis.ifelse(other > 0, (j.ks - j.s).cast("float64") / other,
                          (s_all - j.fs).cast("float64") / (n_all - j.fn).cast("float64"))
        e = j.select(v=enc, p=j.s, q=j.n - j.s)
        e = e.group_by("v").aggregate(p=e.p.sum(), q=e.q.sum())
        e = e.mutate(below=e.q.sum().over(ibis.window(order_by=e.v, preceding=None, following=0)) - e.q)
        got = _run(e, {"num": (2 * e.p * e.below + e.p * e.q).sum(), "P": e.p.sum(), "N": e.q.sum()})
        auc = auc_from_sums(int(got["num"] or 0), int(got["P"] or 0), int(got["N"] or 0))
        return max(auc, 1.0 - auc)


def ibis_zero() -> Any:
    """Return an int64 zero literal (the start of a sum of indicator columns)."""
    import ibis

    return ibis.literal(0, type="int64")
