"""The ``data_quality:`` expectations on the DuckDB engine: counts from ibis, verdicts from Great Expectations.

Great Expectations cannot validate a DuckDB table through duckdb-engine (its metric resolution fails), and
pulling a large table into pandas defeats the engine. So on ``engine == "duckdb"`` every built-in expectation
gatekit translates is computed here as the *metrics* Great Expectations would compute (row count, null count,
unexpected count, distinct count, min, max, ...), with ibis on the table, and then handed to the
expectation's own ``_validate`` method: Great Expectations itself decides ``success`` (``mostly``, strict
bounds, vacuous truth) and builds the result dict (``element_count``, ``unexpected_count``,
``unexpected_percent``, ``missing_count``, ``partial_unexpected_list``, ``observed_value``), so the section's
interpretation is shared by both engines.

Queries
-------
- one aggregate query (``Table.aggregate``) for every scalar of every translated rule (counts with
  ``where=`` filters for each rule's ``row_condition``, distinct counts, min/max/mean/median/sum/stdev);
- one ``GROUP BY`` per ``unique`` rule (rows whose value another row also holds);
- one anti-join per ``max_unseen_share`` rule (values never seen in the reference table);
- one ``filter ... LIMIT 20`` per rule that found unexpected values (the example values, first rows first:
  DuckDB keeps insertion order for such queries by default, ``preserve_insertion_order``);
- one streamed pass (record batches of the columns needed) for per-row expectations gatekit does not
  translate (custom ``ColumnMapExpectation`` classes and a few row-local built-ins): Great Expectations
  validates each pandas batch and the batch counts are summed.

Semantics pinned to Great Expectations on pandas
------------------------------------------------
- a float NaN is a missing value (pandas ``isna``), as is SQL NULL;
- ``in_set`` follows ``pandas.Series.isin``: numbers match numbers of equal value (``True`` counts as 1),
  strings match strings only, values of another kind never match;
- ``row_condition`` is a pandas ``DataFrame.query`` string (``condition_parser: pandas``) of comparisons,
  ``in`` / ``not in`` lists, ``and`` / ``or`` / ``not`` (``&``, ``|``, ``~``); a comparison with a missing
  value is false, except ``!=`` and ``not in``, which are true (as in pandas).

Anything else is refused (:func:`refusal`): the rule becomes an ``error`` check naming the expectation and
the reason, never a silent pass.
"""

from __future__ import annotations

import ast
import functools
import io
import math
import tokenize
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from gatekit.data.engine import is_inf, is_spark, map_batches

EXAMPLES = 20
"""Example failing values kept per rule (Great Expectations' ``partial_unexpected_count``)."""
STREAM_ROWS = 500_000
"""Rows per record batch when a per-row expectation is validated batch by batch."""
SET_LITERAL_MAX = 1000
"""Largest set of duplicated values filtered as a literal list when fetching ``unique`` examples."""
RUNTIME = {"result_format": {"result_format": "SUMMARY", "partial_unexpected_count": EXAMPLES}}

_COMMON_KWARGS = frozenset({"column", "mostly", "row_condition", "condition_parser", "meta", "notes",
                            "result_format", "catch_exceptions", "description", "severity", "id",
                            "rendered_content", "batch_id", "windows"})

# type -> (how, extra kwargs understood)
_MAP = {
    "expect_column_values_to_not_be_null": ("not_null", frozenset()),
    "expect_column_values_to_be_null": ("null", frozenset()),
    "expect_column_values_to_be_between": ("between", frozenset({"min_value", "max_value", "strict_min",
                                                                 "strict_max"})),
    "expect_column_values_to_be_in_set": ("in_set", frozenset({"value_set"})),
    "expect_column_values_to_not_be_in_set": ("not_in_set", frozenset({"value_set"})),
    "expect_column_values_to_be_unique": ("unique", frozenset()),
}
_AGG_BETWEEN = frozenset({"min_value", "max_value", "strict_min", "strict_max"})
_AGGREGATE = {
    "expect_column_to_exist": ("exist", frozenset({"column_index"})),
    "expect_table_row_count_to_be_between": ("rows", _AGG_BETWEEN),
    "expect_table_row_count_to_equal": ("rows", frozenset({"value"})),
    "expect_table_column_count_to_equal": ("ncols", frozenset({"value"})),
    "expect_table_column_count_to_be_between": ("ncols", _AGG_BETWEEN),
    "expect_column_unique_value_count_to_be_between": ("distinct", _AGG_BETWEEN),
    "expect_column_proportion_of_unique_values_to_be_between": ("unique_share", _AGG_BETWEEN),
    "expect_column_min_to_be_between": ("min", _AGG_BETWEEN),
    "expect_column_max_to_be_between": ("max", _AGG_BETWEEN),
    "expect_column_mean_to_be_between": ("mean", _AGG_BETWEEN),
    "expect_column_median_to_be_between": ("median", _AGG_BETWEEN),
    "expect_column_sum_to_be_between": ("sum", _AGG_BETWEEN),
    "expect_column_stdev_to_be_between": ("stdev", _AGG_BETWEEN),
    "expect_column_logical_type_to_be": ("logical", frozenset({"type_", "timezone"})),
}
_METRIC = {"min": "column.min", "max": "column.max", "mean": "column.mean", "median": "column.median",
           "sum": "column.sum", "stdev": "column.standard_deviation"}
_TABLE_LEVEL = frozenset({"rows", "ncols", "exist"})

TRANSLATED = frozenset(_MAP) | frozenset(_AGGREGATE)
"""Expectation types computed as counts on DuckDB."""

STREAMED_BUILTINS = frozenset({
    "expect_column_values_to_match_regex", "expect_column_values_to_not_match_regex",
    "expect_column_values_to_match_regex_list", "expect_column_values_to_not_match_regex_list",
    "expect_column_values_to_match_like_pattern", "expect_column_values_to_not_match_like_pattern",
    "expect_column_values_to_match_like_pattern_list", "expect_column_values_to_not_match_like_pattern_list",
    "expect_column_value_lengths_to_be_between", "expect_column_value_lengths_to_equal",
    "expect_column_values_to_match_strftime_format", "expect_column_values_to_be_dateutil_parseable",
    "expect_column_values_to_be_json_parseable", "expect_column_values_to_match_json_schema",
})
"""Built-in per-row expectations (each row judged alone) validated by Great Expectations batch by batch."""


class Untranslatable(ValueError):
    """A rule (or its ``row_condition``) gatekit cannot compute on DuckDB; the message says why."""


@dataclass
class Computed:
    """A result shaped like Great Expectations' ``ExpectationValidationResult`` (what the section reads).

    Parameters
    ----------
    success : bool or None
    result : dict
        The ``result`` dict built by the expectation's own ``_validate``.
    exception_info : dict
        ``{"raised_exception": True, "exception_message": ...}`` when the rule could not be evaluated.
    """

    success: bool | None
    result: dict[str, Any] = field(default_factory=dict)
    exception_info: dict[str, Any] = field(default_factory=dict)


@dataclass
class TableFacts:
    """Facts the section's interpretation reads besides a result: rows, and non-null values each rule saw.

    Parameters
    ----------
    rows : int
        Rows of the evaluation table.
    looked_at : dict of int to int
        ``id(item)`` -> non-null values of the item's column under its ``row_condition``.
    """

    rows: int
    looked_at: dict[int, int] = field(default_factory=dict)

    def looked(self, item: Any) -> int | None:
        """Return the non-null values the item's expectation looked at, or None when unknown."""
        return self.looked_at.get(id(item))


def _failed(message: str) -> Computed:
    return Computed(None, {}, {"raised_exception": True, "exception_message": message})


# routing ----------------------------------------------------------------------------------------------


def _is_builtin(cls: type) -> bool:
    mod = getattr(cls, "__module__", "") or ""
    return mod.startswith("great_expectations.") or mod.startswith("gatekit.")


def route(item: Any, table: Any) -> tuple[str, str | None]:
    """Decide how a rule runs on DuckDB.

    Parameters
    ----------
    item : gatekit.sections.data_quality.plan.Item
        A prepared item (its ``expectation`` built).
    table : ibis.Table
        The evaluation table.

    Returns
    -------
    how : {"counts", "stream", "column", "refuse"}
        ``"column"``: a column-aggregate expectation (built-in or custom) that reads one column and has no
        row condition runs in Great Expectations on that column alone, pulled into memory (:func:`one_column`).
    why : str or None
        For ``"refuse"``: why, in words, for the check's message.
    """
    from great_expectations.expectations.expectation import ColumnMapExpectation

    etype = item.expectation_type or ""
    cls = type(item.expectation)
    if etype in TRANSLATED and _is_builtin(cls):
        extra = (_MAP.get(etype) or _AGGREGATE[etype])[1]
        unknown = sorted(k for k in item.kwargs if k not in _COMMON_KWARGS and k not in extra)
        if unknown:
            return "refuse", (f"gatekit computes {etype} as counts on DuckDB and Spark but does not translate its "
                              f"argument(s) {', '.join(unknown)}")
        try:
            condition(table, item.kwargs)
        except Untranslatable as exc:
            return "refuse", str(exc)
        return "counts", None
    if issubclass(cls, ColumnMapExpectation) and (not _is_builtin(cls) or etype in STREAMED_BUILTINS):
        if cls._validate is not ColumnMapExpectation._validate:
            return "refuse", (f"{cls.__name__} overrides _validate, so its results on record batches cannot be "
                              "added up")
        return "stream", None
    if _one_column(item) is not None:
        return "column", None
    kind = next((b.__name__ for b in cls.__mro__ if b.__module__.startswith("great_expectations.expectations."
                                                                            "expectation")), cls.__name__)
    if not _is_builtin(cls):
        return "refuse", (f"it is a custom {kind}: on DuckDB and Spark gatekit runs custom per-row expectations "
                          "(ColumnMapExpectation) batch by batch and column aggregates of one column on that column "
                          "alone, but a multi-column or row-conditioned aggregate one needs every row in memory")
    return "refuse", (f"gatekit does not translate this built-in {kind} into counts on DuckDB and Spark, and it is "
                      "not a per-row expectation that can run batch by batch")


# row conditions ---------------------------------------------------------------------------------------

_NULL_TRUE = (ast.NotEq, ast.NotIn)


def condition(table: Any, kwargs: dict[str, Any]) -> Any:
    """Translate a rule's ``row_condition`` into an ibis boolean expression (None when it has none).

    Parameters
    ----------
    table : ibis.Table
        The table the condition filters (its column names and types).
    kwargs : dict
        The expectation's kwargs (``row_condition``, ``condition_parser``).

    Returns
    -------
    ibis.BooleanValue or None
        True on the rows pandas' ``DataFrame.query`` keeps; never null.

    Raises
    ------
    Untranslatable
        Another parser, or syntax outside comparisons, lists and boolean operators.
    """
    text = kwargs.get("row_condition")
    if text is None or text == "":
        return None
    parser = kwargs.get("condition_parser")
    if not isinstance(text, str) or parser != "pandas":
        raise Untranslatable(f"its row_condition {text!r} (condition_parser {parser!r}) is not a pandas query "
                             "string; on DuckDB and Spark gatekit translates only condition_parser: pandas")
    try:
        toks = []
        for tok in tokenize.generate_tokens(io.StringIO(text).readline):
            if tok.type == tokenize.OP and tok.string in ("&", "|"):
                toks.append((tokenize.NAME, "and" if tok.string == "&" else "or"))
            else:
                toks.append((tok.type, tok.string))
        tree = ast.parse(tokenize.untokenize(toks).strip(), mode="eval")
        return _bool(table, tree.body)
    except Untranslatable as exc:
        raise Untranslatable(f"cannot translate its row_condition {text!r} for DuckDB and Spark: {exc}") from None
    except Exception as exc:  # noqa: BLE001 - tokenize/ast/ibis refusals all mean "not translatable"
        raise Untranslatable(f"cannot translate its row_condition {text!r} for DuckDB and Spark: "
                             f"{type(exc).__name__}: {exc}") from None


def _bool(table: Any, node: ast.AST) -> Any:
    if isinstance(node, ast.BoolOp):
        parts = [_bool(table, v) for v in node.values]
        out = parts[0]
        for p in parts[1:]:
            out = (out & p) if isinstance(node.op, ast.And) else (out | p)
        return out
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.Not, ast.Invert)):
        return ~_bool(table, node.operand)
    if isinstance(node, ast.Compare):
        out = None
        left = node.left
        for op, right in zip(node.ops, node.comparators, strict=True):
            part = _compare(table, left, op, right)
            out = part if out is None else out & part
            left = right
        return out
    if isinstance(node, ast.Name) and node.id in table.columns and table[node.id].type().is_boolean():
        return table[node.id].fill_null(False)
    raise Untranslatable(f"unsupported expression {ast.unparse(node)!r}")


def _operand(table: Any, node: ast.AST) -> tuple[str, Any]:
    if isinstance(node, ast.Name):
        if node.id not in table.columns:
            raise Untranslatable(f"no column {node.id!r}")
        return "col", node.id
    if isinstance(node, ast.Constant) and (node.value is None or isinstance(node.value, (int, float, str))):
        return "lit", node.value
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)) and isinstance(
            node.operand, ast.Constant) and isinstance(node.operand.value, (int, float)):
        v = node.operand.value
        return "lit", -v if isinstance(node.op, ast.USub) else v
    if isinstance(node, (ast.List, ast.Tuple, ast.Set)):
        return "list", [_operand(table, e)[1] if isinstance(e, (ast.Constant, ast.UnaryOp)) else _bad(e)
                        for e in node.elts]
    raise Untranslatable(f"unsupported operand {ast.unparse(node)!r}")


def _bad(node: ast.AST) -> Any:
    raise Untranslatable(f"unsupported list element {ast.unparse(node)!r}")


_FLIP: dict[type, type] = {ast.Lt: ast.Gt, ast.LtE: ast.GtE, ast.Gt: ast.Lt, ast.GtE: ast.LtE,
                           ast.Eq: ast.Eq, ast.NotEq: ast.NotEq}


def _compare(table: Any, left: ast.AST, op: ast.cmpop, right: ast.AST) -> Any:
    lk, lv = _operand(table, left)
    rk, rv = _operand(table, right)
    if lk != "col" and rk == "col" and type(op) in _FLIP:
        (lk, lv), (rk, rv), op = (rk, rv), (lk, lv), _FLIP[type(op)]()
    if lk != "col":
        raise Untranslatable(f"comparison without a column: {ast.unparse(left)} {ast.unparse(right)}")
    col = clean(table, lv)
    dtype = table[lv].type()
    default = isinstance(op, _NULL_TRUE)
    if isinstance(op, (ast.In, ast.NotIn)) or (rk == "list" and isinstance(op, (ast.Eq, ast.NotEq))):
        if rk != "list":
            raise Untranslatable("'in' needs a list of values")
        expr = isin(col, dtype, rv)
        expr = ~expr if isinstance(op, (ast.NotIn, ast.NotEq)) else expr
        return expr.fill_null(default)
    if rk == "col":
        other = clean(table, rv)
    elif rk == "lit":
        if rv is None:
            raise Untranslatable("comparison with None")
        other = _coerce(dtype, rv)
    else:
        raise Untranslatable("a list can only follow 'in', 'not in', '==' or '!='")
    ops = {ast.Eq: "__eq__", ast.NotEq: "__ne__", ast.Lt: "__lt__", ast.LtE: "__le__", ast.Gt: "__gt__",
           ast.GtE: "__ge__"}
    name = ops.get(type(op))
    if name is None:
        raise Untranslatable(f"unsupported operator {type(op).__name__}")
    return getattr(col, name)(other).fill_null(default)


def _coerce(dtype: Any, value: Any) -> Any:
    """Return a literal as the column's kind wants it (a date string for a timestamp column: a timestamp)."""
    if (dtype.is_timestamp() or dtype.is_date()) and isinstance(value, str):
        import pandas as pd

        ts = pd.Timestamp(value)
        return ts.date() if dtype.is_date() else ts.to_pydatetime()
    return value


# expressions on columns --------------------------------------------------------------------------------


def clean(table: Any, name: str) -> Any:
    """Return column ``name`` with float NaN read as missing (pandas' ``isna`` counts both NaN and null)."""
    col = table[name]
    return col.nullif(float("nan")) if col.type().is_floating() else col


def isin(col: Any, dtype: Any, values: list[Any]) -> Any:
    """Return ``col IN values`` with ``pandas.Series.isin`` semantics (missing values: see Returns).

    Parameters
    ----------
    col : ibis.Column
        The column (NaN already read as missing, :func:`clean`).
    dtype : ibis DataType
        The column's type.
    values : list
        The value set; values of a kind the column cannot equal are dropped (they never match in pandas).

    Returns
    -------
    ibis.BooleanColumn
        Null or false for a missing value: callers fill it (``fill_null``) or exclude missing values.
    """
    keep: list[Any] = []
    for v in values:
        if v is None or (isinstance(v, float) and math.isnan(v)):
            continue
        if dtype.is_string():
            ok = isinstance(v, str)
        elif dtype.is_integer():
            ok = isinstance(v, (int, float)) and math.isfinite(float(v)) and float(v) == int(v)
            v = int(v) if ok else v
        elif dtype.is_floating() or dtype.is_decimal():
            ok = isinstance(v, (int, float))
            v = float(v) if ok else v
        elif dtype.is_boolean():
            ok = isinstance(v, (int, float)) and v in (0, 1)
            v = bool(v) if ok else v
        elif dtype.is_timestamp() or dtype.is_date():
            try:
                v = _coerce(dtype, v) if isinstance(v, str) else v
                ok = True
            except ValueError:
                ok = False
        else:
            ok = True
        if ok and v not in keep:
            keep.append(v)
    if not keep:
        return col.isnull() & False  # no value can match (callers decide what a missing value reads as)
    return col.isin(keep)


# the logical type ----------------------------------------------------------------------------------------


def describe(dtype: Any, non_null: int, non_integral: int | None, categorical: bool = False) -> dict[str, Any]:
    """Describe an ibis column type like :func:`gatekit.data.logical_types.describe_column` describes pandas.

    Parameters
    ----------
    dtype : ibis DataType
        The column's type (``Table.schema()``).
    non_null : int
        Non-null (and non-NaN) values of the column.
    non_integral : int or None
        For float columns: non-null values that are not whole numbers (``x % 1 != 0``; infinities count);
        None when not counted (only an ``integer`` rule needs it): ``integral`` is then None.
    categorical : bool
        The input held the column as categories (a pandas ``category``, an Arrow dictionary, a Parquet column
        pandas wrote as categorical: :func:`gatekit.data.engine.categorical_columns`), which DuckDB reads as
        text or an enum: it is described as pandas describes it (``category``, with its categories' type).

    Returns
    -------
    dict
        ``dtype`` (ibis type name), ``logical``, ``non_null``, ``tz``, ``integral``, ``categories_logical``.
        DuckDB has no categorical type (a pandas category column arrives as strings) and a date column is
        a datetime without zone.
    """
    name = str(dtype).lstrip("!")
    out: dict[str, Any] = {"dtype": name, "non_null": int(non_null), "tz": None, "integral": None,
                           "categories_logical": None}
    if dtype.is_boolean():
        out["logical"] = "boolean"
    elif dtype.is_integer():
        out["logical"] = "integer"
    elif dtype.is_floating():
        out["logical"] = "float"
        out["integral"] = None if non_integral is None else bool(non_null) and non_integral == 0
    elif dtype.is_decimal():
        scale = getattr(dtype, "scale", None)
        out["logical"] = "integer" if scale == 0 else "float"
        if scale != 0:
            out["integral"] = None if non_integral is None else bool(non_null) and non_integral == 0
    elif dtype.is_timestamp():
        out["logical"] = "datetime"
        out["tz"] = dtype.timezone
    elif dtype.is_date():
        out["logical"] = "datetime"
    elif dtype.is_string():
        out["logical"] = "string"
    elif dtype.is_null():
        out["logical"] = "empty"
    else:
        out["logical"] = "other"
    if categorical:
        out.update({"dtype": "category", "categories_logical": out["logical"], "logical": "category",
                    "integral": None})
    return out


# evaluation ------------------------------------------------------------------------------------------------


class _Query:
    """Named aggregates collected for one ``Table.aggregate`` call.

    The same aggregate asked by several rules (a column's row, null and non-null counts are read by each of
    its rules) is computed once. ``derive`` names a difference of two aggregates (nulls = rows - non-null),
    filled in after the query.
    """

    def __init__(self) -> None:
        self.exprs: dict[str, Any] = {}
        self.owners: dict[str, set[int]] = {}
        self.derived: dict[str, tuple[str, str]] = {}
        self._by_op: dict[Any, str] = {}
        self.counts: set[str] = set()
        """Keys of counts: 0 on no rows (Spark sums a filtered count over no rows to NULL, DuckDB to 0)."""

    def add(self, owner: int, expr: Any) -> str:
        op = expr.op()
        key = self._by_op.get(op)
        if key is None:
            key = f"a{len(self.exprs)}"
            self._by_op[op] = key
            self.exprs[key] = expr.name(key)
            import ibis.expr.operations as ops

            if isinstance(op, (ops.CountStar, ops.Count, ops.CountDistinct, ops.CountDistinctStar)):
                self.counts.add(key)
        self.owners.setdefault(key, set()).add(owner)
        return key

    def derive(self, minuend: str, subtrahend: str) -> str:
        key = f"d{len(self.derived)}"
        self.derived[key] = (minuend, subtrahend)
        return key


def _scalar(v: Any) -> Any:
    if hasattr(v, "as_py"):
        v = v.as_py()
    if isinstance(v, float) and math.isnan(v):
        return None
    return v


def _run_aggregate(table: Any, query: _Query) -> tuple[dict[str, Any], dict[int, str]]:
    """Run every aggregate in one query; on failure, per owner (so one bad rule fails alone)."""
    values: dict[str, Any] = {}
    errors: dict[int, str] = {}
    if query.exprs:
        try:
            row = table.aggregate(list(query.exprs.values())).to_pyarrow()
            values = {k: _scalar(row.column(k)[0]) for k in query.exprs}
        except Exception:  # noqa: BLE001 - find the rule that broke it, run the rest
            owners: dict[int, list[str]] = {}
            for key, owned_by in query.owners.items():
                for owner in owned_by:
                    owners.setdefault(owner, []).append(key)
            for owner, keys in owners.items():
                try:
                    row = table.aggregate([query.exprs[k] for k in keys]).to_pyarrow()
                    values.update({k: _scalar(row.column(k)[0]) for k in keys})
                except Exception as exc:  # noqa: BLE001 - this rule's error alone
                    text = str(exc).strip()
                    errors[owner] = f"{type(exc).__name__}: {text.splitlines()[0] if text else ''}"
    for key in query.counts:
        if key in values and values[key] is None:
            values[key] = 0
    for key, (a, b) in query.derived.items():
        if values.get(a) is not None and values.get(b) is not None:
            values[key] = values[a] - values[b]
    return values, errors


def _head(expr: Any, n: int = EXAMPLES) -> list[Any]:
    return list(expr.limit(n).to_pyarrow().column(0).to_pylist())


def _validate(item: Any, metrics: dict[str, Any]) -> Computed:
    """Let the expectation's own ``_validate`` decide success and build the result dict from ``metrics``."""
    try:
        out = item.expectation._validate(metrics=metrics, runtime_configuration=RUNTIME)
    except Exception as exc:  # noqa: BLE001 - reported as Great Expectations reports a raised expectation
        return _failed(f"{type(exc).__name__}: {exc}")
    success = out.get("success")
    return Computed(bool(success) if success is not None else None, dict(out.get("result") or {}))


def _bounds(item: Any) -> tuple[Any, Any]:
    """Return the bounds as the expectation parsed them (``3`` reads 3.0, a date string a date)."""
    exp = item.expectation
    return getattr(exp, "min_value", item.kwargs.get("min_value")), getattr(exp, "max_value",
                                                                          item.kwargs.get("max_value"))


def _between_error(item: Any, dtype: Any) -> str | None:
    """Return the error Great Expectations' pandas ``between`` raises for these bounds on this column, if any."""
    import datetime as dt

    lo, hi = _bounds(item)
    if lo is None and hi is None:
        return "ValueError: min_value and max_value cannot both be None"
    bounds = [b for b in (lo, hi) if b is not None]
    if dtype.is_timestamp():
        for b in bounds:
            if not isinstance(b, dt.datetime):
                kind = "date" if isinstance(b, dt.date) else type(b).__name__
                return f"TypeError: Invalid comparison between dtype=datetime64 and {kind}"
            if (b.tzinfo is None) != (dtype.timezone is None):
                return "TypeError: Invalid comparison between tz-naive and tz-aware datetimes"
    elif dtype.is_date():
        return "TypeError: gatekit does not compare date columns with bounds on DuckDB"
    else:
        for b in bounds:
            if isinstance(b, (dt.date, dict)) or isinstance(b, str) != dtype.is_string():
                return ("TypeError: Column values, min_value, and max_value must either be None or of the same "
                        "type.")
    if lo is not None and hi is not None and lo > hi:
        return "ValueError: min_value cannot be greater than max_value"
    return None


def evaluate(items: list[Any], table: Any, reference: Any,
             categorical: frozenset[str] = frozenset()) -> tuple[dict[int, Computed], TableFacts]:
    """Compute every ``"counts"`` item's result on the table (see :func:`route`).

    Parameters
    ----------
    items : list of Item
        Items routed to ``"counts"``, their expectations built.
    table : ibis.Table
        The evaluation rows.
    reference : ibis.Table or None
        The reference rows (``unseen`` items only).
    categorical : frozenset of str
        Columns the input held as categories (:func:`describe`'s ``categorical``).

    Returns
    -------
    results : dict of int to Computed
        ``id(item)`` -> its result.
    facts : TableFacts
        Rows, and the non-null values each item looked at.
    """
    q = _Query()
    n_key = q.add(-1, table.count())
    plans: dict[int, Callable[[dict[str, Any]], Computed]] = {}
    looked_keys: dict[int, str] = {}
    errors: dict[int, str] = {}
    columns = list(table.columns)
    for item in items:
        owner = id(item)
        etype = item.expectation_type or ""
        how = (_MAP.get(etype) or _AGGREGATE[etype])[0]
        try:
            cond = condition(table, item.kwargs)
            if how == "exist":
                plans[owner] = (lambda v: lambda vals: _validate(v, {"table.columns": columns}))(item)
                continue
            if how == "ncols":
                plans[owner] = (lambda v: lambda vals: _validate(v, {"table.column_count": len(columns)}))(item)
                continue
            total = q.add(owner, table.count(where=cond) if cond is not None else table.count())
            if how == "rows":
                plans[owner] = (lambda v, k: lambda vals: _validate(v, {"table.row_count": vals[k]}))(item, total)
                continue
            name = item.column
            col = clean(table, name)
            dtype = table[name].type()
            both = _restrict(cond)
            looked_keys[owner] = q.add(owner, col.count(where=cond) if cond is not None else col.count())
            nulls = q.derive(total, looked_keys[owner])
            plans[owner] = _plan_item(item, how, table, col, dtype, cond, both, total, nulls, q, reference,
                                      name in categorical)
        except Untranslatable as exc:
            errors[owner] = str(exc)
        except Exception as exc:  # noqa: BLE001 - ibis refused the expression: this rule's error alone
            errors[owner] = f"{type(exc).__name__}: {exc}"
    values, agg_errors = _run_aggregate(table, q)
    if -1 in agg_errors:
        raise RuntimeError(f"DuckDB could not count the rows: {agg_errors[-1]}")
    errors.update(agg_errors)
    results: dict[int, Computed] = {}
    for item in items:
        owner = id(item)
        if owner in errors:
            results[owner] = _failed(errors[owner])
            continue
        try:
            results[owner] = plans[owner](values)
        except Exception as exc:  # noqa: BLE001 - a follow-up query failed: this rule's error alone
            results[owner] = _failed(f"{type(exc).__name__}: {exc}")
    facts = TableFacts(int(values[n_key]), {o: int(values[k]) for o, k in looked_keys.items()
                                           if o not in errors and values.get(k) is not None})
    return results, facts


def _wants_integer(item: Any) -> bool:
    from gatekit.data.logical_types import normalize_type

    try:
        return normalize_type(item.kwargs.get("type_", "")) == "integer"
    except ValueError:
        return True  # an unknown name: describe fully, type_matches will say what it makes of it


def _try_sum(col: Any, cond: Any) -> Any:
    """Spark's ``try_sum``: the sum, or NULL when it overflows a 64-bit integer (never a wrapped value)."""
    import ibis
    import ibis.expr.datatypes as dt

    def try_sum(x):  # type: ignore[no-untyped-def]
        """Spark's try_sum (a builtin aggregate; the body is never called)."""

    fn = ibis.udf.agg.builtin(try_sum, name="try_sum", signature=((dt.int64,), dt.int64))
    return fn(col.cast("int64"), where=cond)


def _not_whole(col: Any, dtype: Any) -> Any:
    """Return "a non-null value that is not a whole number" (numpy's ``x % 1 != 0``, infinities included).

    ``x != floor(x)`` is far cheaper than DuckDB's ``fmod``; ibis' ``floor`` yields a 64-bit integer, so it is
    only taken below 2**53 in magnitude, where it is exact (every larger double is a whole number).
    """
    if dtype.is_decimal():
        return col.notnull() & (col != col.floor().cast(dtype))
    finite_small = col.abs() < 2.0 ** 53
    return is_inf(col).fill_null(False) | finite_small.ifelse(col != col.floor(), False).fill_null(False)


def _restrict(cond: Any) -> Callable[[Any], Any]:
    """Return ``e -> e & cond`` (or the identity when the rule has no row condition)."""
    if cond is None:
        return lambda e: e
    return lambda e: e & cond


def _plan_item(item: Any, how: str, table: Any, col: Any, dtype: Any, cond: Any, both: Callable[[Any], Any],
               total: str, nulls: str, q: _Query, reference: Any,
               categorical: bool = False) -> Callable[[dict[str, Any]], Computed]:
    """Register an item's aggregates on ``q``; return the function turning their values into its result."""
    owner = id(item)
    if how == "logical":
        # whole-number floats matter only where an integer is expected (an integer column with missing values
        # read as float); elsewhere the scan is skipped and ``integral`` stays None
        nonint = q.add(owner, table.count(where=both(_not_whole(col, dtype)))) if (
            (dtype.is_floating() or dtype.is_decimal()) and _wants_integer(item)) else None

        def logical(vals: dict[str, Any]) -> Computed:
            non_null = vals[total] - vals[nulls]
            desc = describe(dtype, non_null, vals[nonint] if nonint else None, categorical)
            return _validate(item, {"gatekit.column.description": desc})
        return logical
    if how in _METRIC or how in ("distinct", "unique_share"):
        if how in ("distinct", "unique_share"):
            key = q.add(owner, col.nunique(where=both(col.notnull())) if cond is not None else col.nunique())
        elif how == "stdev":
            key = q.add(owner, col.std(how="sample", where=cond))
        elif how == "sum" and dtype.is_integer() and is_spark(table):
            key = q.add(owner, _try_sum(col, cond))  # Spark's non-ANSI sum of bigints wraps around on overflow
        else:
            key = q.add(owner, getattr(col, how)(where=cond))

        def aggregate(vals: dict[str, Any]) -> Computed:
            value = vals[key]
            non_null = vals[total] - vals[nulls]
            if how == "sum" and non_null == 0:
                value = 0  # pandas: the sum of no values is 0
            if value is None and dtype.is_timestamp():
                import pandas as pd

                value = pd.NaT  # what pandas gives (and Great Expectations then fails to compare)
            if how == "distinct":
                return _validate(item, {"column.distinct_values.count": value})
            if how == "unique_share":
                share = value / non_null if vals[total] > 0 and non_null > 0 else 0
                return _validate(item, {"column.unique_proportion": share})
            return _validate(item, {_METRIC[how]: value})
        return aggregate
    # map expectations: null count, unexpected count, example values
    map_metric = item.expectation.map_metric
    if how == "not_null":
        def not_null(vals: dict[str, Any]) -> Computed:
            k = min(vals[nulls], EXAMPLES)
            filler = float("nan") if dtype.is_floating() else None
            return _validate(item, {"table.row_count": vals[total], f"{map_metric}.unexpected_count": vals[nulls],
                                    f"{map_metric}.unexpected_values": [filler] * k})
        return not_null
    if how == "null":
        bad = both(col.notnull())
        bad_key = q.add(owner, table.count(where=bad))

        def null(vals: dict[str, Any]) -> Computed:
            ex = _head(table.filter(bad).select(col.name("v"))) if vals[bad_key] else []
            return _validate(item, {"table.row_count": vals[total], f"{map_metric}.unexpected_count": vals[bad_key],
                                    f"{map_metric}.unexpected_values": ex})
        return null
    if how == "unique":
        return _unique(item, table, col, both, total, nulls, map_metric)
    if item.kind == "unseen":
        return _unseen(item, table, col, dtype, both, total, nulls, map_metric, reference)
    if how == "between":
        err = _between_error(item, dtype)
        if err is not None:
            return lambda vals: _failed(err)
        kw = item.kwargs
        lo, hi = _bounds(item)
        x = col.cast("int8") if dtype.is_boolean() else col
        ok = None
        if lo is not None:
            ok = (x > lo) if kw.get("strict_min") else (x >= lo)
        if hi is not None:
            up = (x < hi) if kw.get("strict_max") else (x <= hi)
            ok = up if ok is None else ok & up
        if ok is None:  # both bounds missing: refused by _between_error above
            return lambda vals: _failed("ValueError: min_value and max_value cannot both be None")
        bad = both(col.notnull() & ~ok.fill_null(False))
    else:  # in_set / not_in_set
        values = item.kwargs.get("value_set")
        if values is None:  # Great Expectations: vacuously true
            bad = both(col.notnull()) & False
        else:
            member = isin(col, dtype, list(values)).fill_null(False)
            bad = both(col.notnull() & (~member if how == "in_set" else member))
    bad_key = q.add(owner, table.count(where=bad))

    def mapped(vals: dict[str, Any]) -> Computed:
        ex = _head(table.filter(bad).select(col.name("v"))) if vals[bad_key] else []
        return _validate(item, {"table.row_count": vals[total], "column_values.nonnull.unexpected_count": vals[nulls],
                                f"{map_metric}.unexpected_count": vals[bad_key],
                                f"{map_metric}.unexpected_values": ex})
    return mapped


def _unique(item: Any, table: Any, col: Any, both: Callable[[Any], Any], total: str, nulls: str,
            map_metric: str) -> Callable[[dict[str, Any]], Computed]:
    """Rows whose non-null value another row (under the condition) also holds: one GROUP BY."""
    values = table.filter(both(col.notnull())).select(v=col)
    groups = values.group_by("v").agg(c=values.count())
    dups = groups.filter(groups.c > 1)

    def unique(vals: dict[str, Any]) -> Computed:
        stats = dups.aggregate([dups.c.sum().name("rows"), dups.count().name("values")]).to_pyarrow()
        dup_rows = stats.column("rows")[0].as_py() or 0
        dup_values = stats.column("values")[0].as_py() or 0
        ex: list[Any] = []
        if dup_rows:
            if dup_values <= SET_LITERAL_MAX:
                held = dups.select("v").to_pyarrow().column(0).to_pylist()
                member = col.isin(held)
            else:
                member = col.isin(dups.v)
            ex = _head(table.filter(both(col.notnull() & member)).select(col.name("v")))
        return _validate(item, {"table.row_count": vals[total], "column_values.nonnull.unexpected_count": vals[nulls],
                                f"{map_metric}.unexpected_count": int(dup_rows),
                                f"{map_metric}.unexpected_values": ex})
    return unique


def _unseen(item: Any, table: Any, col: Any, dtype: Any, both: Callable[[Any], Any], total: str, nulls: str,
            map_metric: str, reference: Any) -> Callable[[dict[str, Any]], Computed]:
    """Values never seen in the reference's column (an anti-join on its distinct non-null values)."""
    name = item.column
    ref_col = clean(reference, name)
    ref_type = reference[name].type()
    seen = reference.filter(ref_col.notnull()).select(v=ref_col).distinct()
    numeric = (dtype.is_numeric() or dtype.is_boolean()) and (ref_type.is_numeric() or ref_type.is_boolean())
    comparable = numeric or (dtype.is_string() and ref_type.is_string()) or dtype == ref_type or (
        dtype.is_temporal() and ref_type.is_temporal())
    if comparable:
        bad = both(col.notnull() & ~col.isin(seen.v))
    else:  # no value of one kind equals a value of the other (pandas isin)
        bad = both(col.notnull())

    def unseen(vals: dict[str, Any]) -> Computed:
        stats = table.aggregate([table.count(where=bad).name("n")]).to_pyarrow()
        n_bad = int(stats.column("n")[0].as_py())
        item.reference_distinct = int(seen.count().to_pyarrow().as_py())
        ex = _head(table.filter(bad).select(col.name("v"))) if n_bad else []
        return _validate(item, {"table.row_count": vals[total], "column_values.nonnull.unexpected_count": vals[nulls],
                                f"{map_metric}.unexpected_count": n_bad, f"{map_metric}.unexpected_values": ex})
    return unseen


# per-row expectations batch by batch ------------------------------------------------------------------------


def _one_column(item: Any) -> str | None:
    """Return the column a column-aggregate expectation reads when it reads exactly one, with no row condition."""
    from great_expectations.expectations.expectation import ColumnAggregateExpectation

    from gatekit.sections.data_quality.plan import item_columns

    if not isinstance(item.expectation, ColumnAggregateExpectation):
        return None
    cols = item_columns(item)
    if cols is None or len(cols) != 1 or not isinstance(cols[0], str) or item.kwargs.get("row_condition"):
        return None
    return cols[0]


def one_column(items: list[Any], table: Any, make_validator: Callable[[Any], Any]) -> dict[int, Any]:
    """Run column-aggregate expectations in Great Expectations on the one column each reads, pulled into memory.

    An aggregate (the share of the most common value, a KL divergence, ...) needs all of a column's values at
    once; one column of the table is read into a one-column pandas frame (8 bytes a row for numbers), never the
    whole table. Each item's ``hint`` says so, with the rows read.

    Parameters
    ----------
    items : list of Item
        Items routed to ``"column"``.
    table : ibis.Table
        The evaluation rows.
    make_validator : callable
        ``frame -> Validator`` (:class:`gatekit.validators.gx.Validator`).

    Returns
    -------
    dict of int to result
        Great Expectations' results by ``id(item)``.
    """
    by_col: dict[str, list[Any]] = {}
    for item in items:
        col = _one_column(item)
        if col is not None:
            by_col.setdefault(col, []).append(item)
    out: dict[int, Any] = {}
    for col, its in by_col.items():
        if col not in table.columns:
            for item in its:
                out[id(item)] = Computed(None, {}, {"raised_exception": True,
                                                    "exception_message": f"column {col!r} is not in the data"})
            continue
        frame = table.select(col).to_pandas()
        validator = make_validator(frame)
        for item, res in zip(its, validator.validate([i.expectation for i in its], EXAMPLES), strict=True):
            item.hint = (f"{item.hint}; " if item.hint else "") + (
                f"on DuckDB this aggregate ran on column {col!r} alone, read into memory ({len(frame):,} rows)")
            out[id(item)] = res
    return out


_VALIDATORS: dict[Any, Any] = {}
"""The validator each process reuses for :func:`_stream_batch`, by its factory."""


def _stream_batch(frame: Any, expectations: list[Any], make_validator: Callable[[Any], Any]) -> list[tuple[Any, ...]]:
    """Validate one batch with Great Expectations: per expectation its counts, or why it failed.

    Returns, per expectation, ``("ok", element_count, missing_count, unexpected_count, first unexpected values)``
    or ``("failed", exception_info)``. Runs where the batch is (on Spark, on an executor).
    """
    validator = _VALIDATORS.get(make_validator)
    if validator is None:  # one Great Expectations context per process (a worker validates many batches)
        validator = _VALIDATORS[make_validator] = make_validator(frame)
    else:
        validator.use(frame)
    out: list[tuple[Any, ...]] = []
    for res in validator.validate(expectations, EXAMPLES):
        info = res.exception_info if res is not None else None
        raised = isinstance(info, dict) and (info.get("raised_exception") or any(
            isinstance(v, dict) and v.get("raised_exception") for v in info.values()))
        if res is None or raised:
            out.append(("failed", _plain_info(info) if isinstance(info, dict) and raised else
                        {"raised_exception": True, "exception_message": "no result"}))
            continue
        r = res.result or {}
        out.append(("ok", int(r.get("element_count") or 0), int(r.get("missing_count") or 0),
                    int(r.get("unexpected_count") or 0), list(r.get("partial_unexpected_list") or [])[:EXAMPLES]))
    return out


def _custom_sources() -> list[tuple[str, str, str]]:
    """Return the custom expectation modules this run loaded: (module name, file, source text), for executors."""
    import sys

    out = []
    for name, module in sorted(sys.modules.items()):
        path = getattr(module, "__file__", None)
        if name.startswith("gatekit_expectations.") and path:
            out.append((name, str(path), Path(path).read_text(encoding="utf-8")))
    return out


def _stream_batch_remote(frame: Any, specs: list[tuple[str, dict[str, Any]]], sources: list[tuple[str, str, str]],
                         make_validator: Callable[[Any], Any]) -> list[tuple[Any, ...]]:
    """:func:`_stream_batch` on a Spark executor: import the custom expectation files, rebuild the expectations.

    The custom files are the ones the policy's ``expectations_dir`` holds, run here as on the driver (the same
    trust: the policy named them); each is imported once per worker process under the driver's module name.
    """
    import sys
    import types

    from gatekit.validators.gx import builtin_expectations, expectation_class

    builtin_expectations()
    for name, path, text in sources:
        if name not in sys.modules:
            module = types.ModuleType(name)
            module.__file__ = path
            sys.modules[name] = module
            exec(compile(text, path, "exec"), module.__dict__)
    expectations = []
    for etype, kwargs in specs:
        cls = expectation_class(etype)
        if cls is None:
            raise RuntimeError(f"{etype} is not registered on the Spark executor")
        expectations.append(cls(**kwargs))
    return _stream_batch(frame, expectations, make_validator)


def _plain_info(info: dict[str, Any]) -> dict[str, Any]:
    """Great Expectations' exception info as plain data (it crosses processes on Spark)."""
    import json

    return json.loads(json.dumps(info, default=str))


def stream(items: list[Any], table: Any, make_validator: Callable[[Any], Any],
           batch_rows: int = STREAM_ROWS) -> dict[int, Computed]:
    """Validate per-row expectations batch by batch with Great Expectations and add the counts up.

    Each record batch of the columns the items read (every column when one has a ``row_condition``) becomes
    a pandas frame Great Expectations validates; per item the batches' ``element_count``, ``missing_count``
    and ``unexpected_count`` are summed and the first :data:`EXAMPLES` unexpected values kept, then the
    expectation's own ``_validate`` decides on the totals (``mostly`` on all rows, not per batch). Exact for
    expectations that judge each row alone.

    Parameters
    ----------
    items : list of Item
        Items routed to ``"stream"``.
    table : ibis.Table
        The evaluation rows.
    make_validator : callable
        ``frame -> Validator`` (:class:`gatekit.validators.gx.Validator`).
    batch_rows : int
        Rows per batch.

    Returns
    -------
    dict of int to Computed
    """
    from gatekit.sections.data_quality.plan import item_columns

    if not items:
        return {}
    need: list[str] | None = []
    for item in items:
        cols = item_columns(item)
        if cols is None or need is None:
            need = None
        else:
            need.extend(c for c in cols if isinstance(c, str) and c in table.columns and c not in need)
    names = list(table.columns) if need is None else need or list(table.columns[:1])
    sums: dict[int, dict[str, Any]] = {id(i): {"element": 0, "missing": 0, "unexpected": 0, "values": []}
                                       for i in items}
    failed: dict[int, Computed] = {}
    keys = [id(i) for i in items]
    validate = functools.partial(_stream_batch, expectations=[i.expectation for i in items],
                                 make_validator=make_validator)
    if is_spark(table):  # the executors rebuild the expectations (and the custom ones' modules) from plain data
        validate = functools.partial(_stream_batch_remote, specs=[(i.expectation.expectation_type,
                                                                   dict(i.expectation.configuration.kwargs))
                                                                  for i in items],
                                     sources=_custom_sources(), make_validator=make_validator)
    for part in map_batches(table, names, validate, batch_rows):
        for key, got in zip(keys, part, strict=True):
            if key in failed:
                continue
            if got[0] == "failed":
                failed[key] = Computed(None, {}, got[1])
                continue
            s = sums[key]
            s["element"] += got[1]
            s["missing"] += got[2]
            s["unexpected"] += got[3]
            if len(s["values"]) < EXAMPLES:
                s["values"].extend(got[4][:EXAMPLES - len(s["values"])])
    out: dict[int, Computed] = dict(failed)
    for item in items:
        if id(item) in out:
            continue
        s = sums[id(item)]
        mm = item.expectation.map_metric
        out[id(item)] = _validate(item, {"table.row_count": s["element"],
                                         "column_values.nonnull.unexpected_count": s["missing"],
                                         f"{mm}.unexpected_count": s["unexpected"],
                                         f"{mm}.unexpected_values": s["values"]})
    return out
