"""Reading tabular files: a CSV or Parquet file into a DataFrame, and a named column out of it.

Every problem (unknown format, malformed CSV, duplicate header, missing column) raises an InputError
naming the file and, for a column, the closest existing name.
"""

from __future__ import annotations

import difflib
from pathlib import Path
from typing import Any

from gatekit.core.errors import input_error


def read_frame(path: Path) -> Any:
    """Read a CSV or Parquet file into a pandas DataFrame.

    Raises
    ------
    InputError
        Unknown extension, unreadable or malformed file (naming the file and, for CSV, the line).
    """
    import pandas as pd

    suffix = path.suffix.lower()
    try:
        if suffix in (".csv", ".txt") or path.name.lower().endswith(".csv.gz"):
            first = pd.read_csv(path, nrows=1, header=None, dtype=str, keep_default_na=False)
            header = first.iloc[0].tolist() if len(first) else []
            dup = sorted({str(h) for h in header if header.count(h) > 1})
            if dup:
                raise input_error(f"duplicate column name(s) {dup} in the header; pandas would rename the copies "
                                  "and use the first silently: rename them", str(path))
            import warnings

            with warnings.catch_warnings():  # a row with more fields than the header would lose its extra values
                warnings.simplefilter("error", pd.errors.ParserWarning)
                return pd.read_csv(path, index_col=False)  # a trailing comma on every row must not shift columns
        if suffix in (".parquet", ".pq"):
            return pd.read_parquet(path)
    except (pd.errors.ParserError, pd.errors.ParserWarning) as exc:
        raise input_error(f"malformed CSV: {str(exc).strip()}; every row needs as many fields as the header",
                          str(path)) from None
    except pd.errors.EmptyDataError:
        raise input_error("the file is empty (no header row)", str(path)) from None
    except (OSError, ValueError, ImportError) as exc:
        raise input_error(f"cannot read the data file: {exc}", str(path)) from None
    raise input_error(f"unsupported data format {suffix!r}; use .csv or .parquet", str(path))


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
