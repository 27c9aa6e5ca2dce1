"""Reading tabular files: a CSV (or ``.csv.gz``) or Parquet file into a DataFrame, and a named column out of it.

Every problem (unknown format, malformed CSV, duplicate header, missing column, a file too big for memory)
raises an InputError naming the file and, for a column, the closest existing name. :func:`role_conflicts`
finds a column named in two roles that must differ (the target as the score, ...).
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from gatekit.core.errors import input_error

PARQUET_PANDAS_FACTOR = 1.5
"""Estimated pandas bytes per byte of decoded Parquet values (:func:`parquet_decoded_bytes`)."""

_TOO_BIG = ("does not fit in the memory available; read it out of core with --engine duckdb (or inputs.engine: "
            "duckdb), or give a sample")

_PHYSICAL_WIDTH = {"BOOLEAN": 1, "INT32": 4, "INT64": 8, "INT96": 12, "FLOAT": 4, "DOUBLE": 8}


def parquet_decoded_bytes(meta: Any) -> int:
    """Estimate the bytes a Parquet file's values take once decoded, from its footer alone.

    Per row group, the larger of its ``total_byte_size`` (the uncompressed pages) and its rows times the
    width of a row (each leaf column's physical width: 8 bytes for an ``INT64`` or ``DOUBLE``, the type
    length of a fixed-length byte array, 8 bytes, a pointer, for a string or binary value). The pages alone
    are not enough: a dictionary- or run-length-encoded column of 500 million equal numbers is 2 MB of pages
    and 4 GB of values.

    Parameters
    ----------
    meta : pyarrow.parquet.FileMetaData
        The file's footer (``pyarrow.parquet.ParquetFile(path).metadata``).

    Returns
    -------
    int
    """
    schema = meta.schema
    row_width = 0
    for i in range(len(schema)):
        col = schema.column(i)
        width = _PHYSICAL_WIDTH.get(col.physical_type)
        if width is None:  # BYTE_ARRAY: a pointer and a Python str per value in pandas (about 57 bytes + the text,
            # measured 4.8x the footer's page size on short strings); FIXED_LEN_BYTE_ARRAY: its length, at least 8
            width = max(8, col.length or 0) if col.physical_type == "FIXED_LEN_BYTE_ARRAY" else 64
        row_width += width
    total = 0
    for i in range(meta.num_row_groups):
        rg = meta.row_group(i)
        total += max(rg.total_byte_size, rg.num_rows * row_width)
    return total


def available_memory() -> int:
    """Memory available to new allocations, in bytes: the smaller of the host's and the container's.

    The host's ``MemAvailable`` (Linux; else physical memory), and, in a container, its cgroup limit minus its use
    (cgroup v2 ``memory.max`` / ``memory.current``, v1 ``memory.limit_in_bytes`` / ``memory.usage_in_bytes``): a CI
    runner in a container sees the host's memory in ``/proc/meminfo``. Used by :mod:`gatekit.data.engine` too.
    """
    import os

    host = 8 * 1024**3
    try:
        with open("/proc/meminfo", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("MemAvailable:"):
                    host = int(line.split()[1]) * 1024
                    break
    except (OSError, ValueError, IndexError):
        try:
            host = int(os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE"))
        except (ValueError, OSError, AttributeError):
            pass
    for limit_file, used_file in (("/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory.current"),
                                  ("/sys/fs/cgroup/memory/memory.limit_in_bytes",
                                   "/sys/fs/cgroup/memory/memory.usage_in_bytes")):
        try:
            with open(limit_file, encoding="ascii") as fh:
                raw = fh.read().strip()
            if raw == "max" or int(raw) >= 1 << 60:  # no limit
                continue
            with open(used_file, encoding="ascii") as fh:
                used = int(fh.read().strip())
            return max(0, min(host, int(raw) - used))
        except (OSError, ValueError):
            continue
    return host


def _check_parquet_fits(path: Path) -> None:
    """Refuse a Parquet file whose values would not fit in the available memory, before reading it.

    A few megabytes of compressed Parquet can hold gigabytes of values (a column of one repeated number):
    the footer says how much a read would take (:func:`parquet_decoded_bytes`, times
    :data:`PARQUET_PANDAS_FACTOR`), so the file is refused with a clear message instead of the process
    running out of memory.
    """
    import importlib

    pq: Any = importlib.import_module("pyarrow.parquet")  # pyarrow ships no types: Any, whatever mypy is told
    meta = pq.ParquetFile(path).metadata
    decoded = parquet_decoded_bytes(meta)
    need, have = decoded * PARQUET_PANDAS_FACTOR, available_memory()
    if need > have:
        raise input_error(f"the Parquet file holds {meta.num_rows:,} rows, about {decoded / 2**20:,.0f} MiB of values "
                          f"(about {need / 2**20:,.0f} MiB in memory, {have / 2**20:,.0f} MiB available): it "
                          f"{_TOO_BIG}", str(path))


def check_csv_header(path: Path) -> None:
    """Refuse a CSV file (``.csv``, ``.txt``, ``.csv.gz``) whose header names a column twice.

    pandas and DuckDB would both rename the copies and read the first silently.

    Raises
    ------
    InputError
        Naming the duplicated names and the file.
    """
    import pandas as pd

    first = pd.read_csv(path, nrows=1, header=None, dtype=str, keep_default_na=False)
    header = first.iloc[0].tolist() if len(first) else []
    dup = sorted({str(h) for h in header if header.count(h) > 1})
    if dup:
        raise input_error(f"duplicate column name(s) {dup} in the header; a reader would rename the copies and use "
                          "the first silently: rename them", str(path))


def read_frame(path: Path) -> Any:
    """Read a CSV (also gzip-compressed, ``.csv.gz``) or Parquet file into a pandas DataFrame.

    A Parquet file whose uncompressed size (its footer's row groups) would not fit in the available memory
    is refused before it is read; a CSV file that runs out of memory while read is refused too (both
    suggest ``--engine duckdb``): a small compressed file that inflates to gigabytes is bad input, not a
    crash.

    Raises
    ------
    InputError
        Unknown extension, unreadable or malformed file (naming the file and, for CSV, the line), or a
        file too big for memory.
    """
    import pandas as pd

    suffix = path.suffix.lower()
    try:
        if suffix in (".csv", ".txt") or path.name.lower().endswith(".csv.gz"):
            check_csv_header(path)
            import warnings

            with warnings.catch_warnings():  # a row with more fields than the header would lose its extra values
                warnings.simplefilter("error", pd.errors.ParserWarning)
                return pd.read_csv(path, index_col=False)  # a trailing comma on every row must not shift columns
        if suffix in (".parquet", ".pq"):
            if path.is_file():  # a folder of Parquet files is sized by the engine (--engine auto)
                _check_parquet_fits(path)
            return pd.read_parquet(path)
    except MemoryError:
        raise input_error(f"the data file {_TOO_BIG}", str(path)) from None
    except (pd.errors.ParserError, pd.errors.ParserWarning) as exc:
        raise input_error(f"malformed CSV: {str(exc).strip()}; every row needs as many fields as the header",
                          str(path)) from None
    except pd.errors.EmptyDataError:
        raise input_error("the file is empty (no header row)", str(path)) from None
    except (OSError, ValueError, ImportError) as exc:
        raise input_error(f"cannot read the data file: {exc}", str(path)) from None
    raise input_error(f"unsupported data format {suffix!r}; use .csv (or gzip-compressed .csv.gz) or .parquet",
                      str(path))


def require_column(frame: Any, name: str, role: str, file: str) -> Any:
    """Return column ``name`` of ``frame``.

    Raises
    ------
    InputError
        The column is missing (naming its ``role``, the closest column name and the columns there are).
    """
    if name not in frame.columns:
        same = [c for c in frame.columns if str(c) == name]  # Parquet may have non-text column names
        if len(same) == 1:
            return frame[same[0]]
        close = difflib.get_close_matches(name, [str(c) for c in frame.columns], n=1)
        hint = f"; did you mean {close[0]!r}?" if close else ""
        cols = ", ".join(map(str, frame.columns[:30]))
        more = f" (and {len(frame.columns) - 30} more)" if len(frame.columns) > 30 else ""
        raise input_error(f"{role} column {name!r} not found{hint or '.'} Columns: {cols}{more}", file, key=role)
    return frame[name]


ALLOWED_SHARED_ROLES = frozenset({frozenset({"sensitive", "feature"})})
"""Pairs of roles one column may hold at once: a sensitive attribute may also be a model feature (the fairness
rules then measure a model that sees it; whether it should is the policy author's call, not a wrong input)."""


def role_conflicts(roles: Iterable[tuple[str, Any]]) -> list[tuple[str, str, str]]:
    """Find the columns given in two roles that must not coincide.

    One column as both the target and the score (or the prediction, a baseline's output, a sensitive attribute
    or a model feature) makes every figure meaningless, e.g. an AUC of 1.0 for a score that is the target. Every
    pair of different roles is refused except those in :data:`ALLOWED_SHARED_ROLES`; a column repeated within
    one role (``sensitive: [a, a]``) is not a conflict.

    Parameters
    ----------
    roles : iterable of (str, str or list of str or None)
        Role name (as the messages say it, e.g. ``"baseline score"``) and its column or columns; None is unset.

    Returns
    -------
    list of (str, str, str)
        ``(first role, second role, column)`` for every conflict, in the order the roles were given.
    """
    holder: dict[str, str] = {}
    out: list[tuple[str, str, str]] = []
    for role, cols in roles:
        for col in [cols] if isinstance(cols, str) else (cols or []):
            if not isinstance(col, str):
                continue
            first = holder.get(col)
            if first is None:
                holder[col] = role
            elif first != role and frozenset({first, role}) not in ALLOWED_SHARED_ROLES:
                out.append((first, role, col))
    return out


def role_conflict_message(first: str, second: str, column: str) -> str:
    """Say that ``column`` is given as both ``first`` and ``second``, and what to do.

    Parameters
    ----------
    first, second : str
        The two roles.
    column : str
        The column.

    Returns
    -------
    str
    """
    return (f"column {column!r} is given as both the {first} column and the {second} column; one column cannot "
            "play both roles (e.g. a score that is the target gives a perfect AUC): name the right column for each")


def canary_roles(spec: Any) -> list[tuple[str, Any]]:
    """Return a canary spec's column roles (arm, target, score, prediction, sensitive), for :func:`role_conflicts`.

    Parameters
    ----------
    spec : gatekit.policy.specs.CanarySpec
        Or any object with those attributes.

    Returns
    -------
    list of (str, Any)
    """
    return [("canary arm", spec.arm), ("canary target", spec.target), ("canary score", spec.score),
            ("canary prediction", spec.prediction), ("canary sensitive", spec.sensitive)]
