"""Logical column types shared by data-quality rules and feature signatures.

A policy declares what a column *is* (integer, float, string, ...), not which pandas dtype happens to hold
it: a CSV-read string column is ``object``, the same column under pandas 3 is ``str``, an Arrow-backed one
``string[pyarrow]``; an integer column with a missing value is ``Int64`` (nullable) or, read from CSV,
``float64`` with integral values. Each logical type accepts every dtype that faithfully holds it.

=========== ==============================================================================================
logical     accepted columns
=========== ==============================================================================================
integer     int8..int64, uint8..uint64, nullable Int8..Int64 / UInt8..UInt64; float columns whose non-null
            values are all integral (an integer column with missing values read from CSV) are accepted
            with a note
float       float16/32/64, nullable Float32/Float64 (integers are *not* floats under ``strict``; a
            feature signature in ``backward`` mode accepts integer for float: a widening)
number      integer or float
string      object columns whose non-null values are all ``str``; ``str`` / ``string`` dtypes (python
            or pyarrow storage)
boolean     bool, nullable boolean, object columns of ``bool`` values only
datetime    datetime64 with a time-zone rule: ``naive`` (no zone), ``aware`` (any zone) or a zone name
            (``UTC``, ``Europe/Berlin``)
category    pandas ``category``
=========== ==============================================================================================

A ``category`` column also satisfies the logical type of its categories (categories all ``str`` ->
``string``), so a categorical holding a subset of the expected values passes ``string``.
Type names accept the usual aliases: ``int``/``long`` -> integer, ``str``/``text`` -> string, ``double``
-> float, ``bool`` -> boolean, ``timestamp`` -> datetime.
"""

from __future__ import annotations

from typing import Any

import numpy as np

LOGICAL_TYPES = ("integer", "float", "number", "string", "boolean", "datetime", "category")
_ALIASES = {
    "int": "integer", "long": "integer", "int64": "integer", "int32": "integer",
    "double": "float", "float64": "float", "float32": "float", "real": "float",
    "numeric": "number",
    "str": "string", "text": "string", "object": "string",
    "bool": "boolean",
    "timestamp": "datetime", "datetime64": "datetime",
    "categorical": "category",
}


_MAX_SHOWN = 60
"""Characters of a user's value shown in a message (a type name is a word; anything longer is clipped)."""


def _shown(value: Any) -> str:
    """Return a short repr of a declared value: a string clipped, anything else through :mod:`reprlib`.

    Never ``str()`` / ``repr()`` of the whole value: a list read from YAML through aliases may hold billions
    of items once turned into text.
    """
    import reprlib

    if isinstance(value, str):
        return repr(value[:_MAX_SHOWN] + "..." if len(value) > _MAX_SHOWN else value)
    r = reprlib.Repr()
    r.maxlevel, r.maxlist, r.maxdict, r.maxtuple, r.maxset, r.maxstring, r.maxother = 2, 4, 4, 4, 4, 20, 20
    text = r.repr(value)
    return text if len(text) <= _MAX_SHOWN else text[: _MAX_SHOWN - 3] + "..."


def normalize_type(name: str) -> str:
    """Return the logical type for a declared type name (case-insensitive, aliases accepted).

    Raises
    ------
    ValueError
        The name is not text, or not a known logical type or alias; the message lists the valid names and
        shows the value clipped (:func:`_shown`), whatever its size.
    """
    if not isinstance(name, str):  # a list or mapping (perhaps built from YAML aliases) is no type name
        raise ValueError(f"a type must be a name such as float, not a {type(name).__name__} ({_shown(name)})")
    key = name.strip().lower()
    if key in LOGICAL_TYPES:
        return key
    if key in _ALIASES:
        return _ALIASES[key]
    raise ValueError(f"unknown type {_shown(name)}; use one of {', '.join(LOGICAL_TYPES)} "
                     f"(aliases: {', '.join(sorted(_ALIASES))})")


def check_timezone_rule(rule: str) -> str:
    """Validate a datetime time-zone rule: ``naive``, ``aware`` or an IANA zone name / ``UTC``.

    Raises
    ------
    ValueError
        Unknown zone name.
    """
    if rule in ("naive", "aware"):
        return rule
    import zoneinfo

    if rule.upper() == "UTC":
        return "UTC"
    try:
        zoneinfo.ZoneInfo(rule)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"unknown time zone {_shown(rule)}; use naive, aware, UTC or an IANA name such as "
                         "Europe/Berlin") from None
    return rule


def describe_column(series: Any) -> dict[str, Any]:
    """Describe a pandas Series' storage as plain data (used by both GE and pandera checks).

    Parameters
    ----------
    series : pandas.Series
        The column, any length.

    Returns
    -------
    dict
        ``dtype`` (str), ``logical`` (the logical type the storage holds, or ``"mixed"`` / ``"other"``),
        ``non_null`` (int), ``tz`` (zone name or None, datetime only), ``integral`` (float columns: all
        non-null values are whole numbers), ``categories_logical`` (category columns: the logical type of
        the categories).
    """
    import pandas as pd
    from pandas.api import types as pdt

    dtype = series.dtype
    out: dict[str, Any] = {"dtype": str(dtype), "non_null": int(series.notna().sum()), "tz": None,
                           "integral": None, "categories_logical": None}
    if isinstance(dtype, pd.CategoricalDtype):
        out["logical"] = "category"
        out["categories_logical"] = describe_column(pd.Series(dtype.categories))["logical"]
    elif pdt.is_bool_dtype(dtype):
        out["logical"] = "boolean"
    elif pdt.is_integer_dtype(dtype):
        out["logical"] = "integer"
    elif pdt.is_float_dtype(dtype):
        out["logical"] = "float"
        vals = series.to_numpy(dtype=float, na_value=np.nan)
        vals = vals[~np.isnan(vals)]
        head = vals[:1000]  # a fractional value among the first thousand settles it without a full pass
        # an infinite value is not an integer (and ``inf % 1`` would warn): any makes the column not integral
        out["integral"] = (bool(len(vals)) and bool(np.all(np.isfinite(head))) and bool(np.all(head % 1 == 0))
                           and bool(np.all(np.isfinite(vals))) and bool(np.all(vals % 1 == 0)))
    elif pdt.is_datetime64_any_dtype(dtype):
        out["logical"] = "datetime"
        tz = getattr(dtype, "tz", None)
        out["tz"] = str(tz) if tz is not None else None
    elif pdt.is_string_dtype(dtype) and not pdt.is_object_dtype(dtype):
        out["logical"] = "string"
    elif pdt.is_object_dtype(dtype):
        kind = pd.api.types.infer_dtype(series, skipna=True)
        out["logical"] = {"string": "string", "boolean": "boolean", "empty": "empty",
                          "integer": "integer", "floating": "float"}.get(kind, "mixed")
        out["inferred"] = kind
    else:
        out["logical"] = "other"
    return out


def type_matches(desc: dict[str, Any], expected: str, timezone: str | None = None,
                 allow_widening: bool = False) -> tuple[bool | None, str]:
    """Decide whether a described column holds the expected logical type.

    Parameters
    ----------
    desc : dict
        From :func:`describe_column`.
    expected : str
        A logical type (already normalized by :func:`normalize_type`).
    timezone : str, optional
        The time-zone rule for ``datetime`` (``naive``, ``aware`` or a zone name).
    allow_widening : bool
        Accept integer where float is expected (backward-compatible signatures).

    Returns
    -------
    ok : bool or None
        None when the column has no non-null value, so its type cannot be told (fail closed: callers
        report it as not computable, never as a pass).
    note : str
        What was observed, in words (``"object column of str values"``, ``"datetime64[ns, UTC]"``).
    """
    logical = desc["logical"]
    observed = f"{desc['dtype']} column"
    if desc.get("inferred"):
        observed += f" of {desc['inferred']} values"
    if desc["non_null"] == 0 and logical in ("float", "empty", "mixed", "string"):
        # an all-null column read from CSV is float64 / object: its declared type cannot be told
        return None, f"{observed}, every value is null, so its type cannot be checked"
    if logical == "category" and expected != "category":
        logical = desc.get("categories_logical") or logical
        observed += f" (categories of type {logical})"
    if expected == "number":
        return logical in ("integer", "float"), observed
    if expected == "integer" and logical == "float" and desc.get("integral"):
        return True, observed + " with whole-number values only (an integer column with missing values)"
    if expected == "float" and logical == "integer" and allow_widening:
        return True, observed + " (integer accepted for float: a widening)"
    if logical != expected:
        return False, observed
    if expected == "datetime":
        tz = desc.get("tz")
        rule = timezone or "naive"
        if rule == "naive" and tz is not None:
            return False, observed + f" is time-zone aware ({tz}) but naive is required"
        if rule == "aware" and tz is None:
            return False, observed + " is naive (no time zone) but an aware column is required"
        if rule not in ("naive", "aware") and str(tz) != rule and not (rule == "UTC" and str(tz) in ("UTC", "utc")):
            return False, observed + f" has time zone {tz} but {rule} is required"
    return True, observed
