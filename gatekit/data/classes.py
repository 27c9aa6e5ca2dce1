"""Class labels and probability matrices: the checks every multiclass input goes through.

Shared by the evaluation data (:mod:`gatekit.data.multiclass`) and canary traffic logs (:mod:`gatekit.data.canary`):
probability columns named by a pattern (``score: "score_*"``), the class order of label columns, labels mapped to
class codes, and the probability matrix refused (never repaired) when a value is missing, outside [0, 1], or a
row does not sum to 1 within :data:`gatekit.metrics.multiclass.PROBA_SUM_TOL`.
"""

from __future__ import annotations

import fnmatch
from typing import Any

import numpy as np

from gatekit.core.errors import input_error
from gatekit.core.labels import norm_label
from gatekit.metrics.multiclass import PROBA_SUM_TOL


def is_pattern(score: Any) -> bool:
    """Return True when ``score`` names probability columns by a pattern (``"score_*"``)."""
    return isinstance(score, str) and score.count("*") == 1


def pattern_columns(columns: list[Any], pattern: str, file: str, role: str = "score") -> list[tuple[str, str]]:
    """Return ``(column, class label)`` of each column matching ``pattern``, in the data's column order.

    Raises
    ------
    InputError
        Fewer than two columns match.
    """
    prefix, suffix = pattern.split("*")
    found = []
    for c in map(str, columns):
        if fnmatch.fnmatchcase(c, pattern) and len(c) > len(prefix) + len(suffix):
            found.append((c, c[len(prefix): len(c) - len(suffix) if suffix else None]))
    if len(found) < 2:
        raise input_error(f"{role} pattern {pattern!r} matches {len(found)} column(s) ({[c for c, _ in found]}); "
                          "a multiclass score needs one probability column per class, e.g. score_setosa, "
                          "score_versicolor, score_virginica for score: 'score_*'", file, key=role)
    return found


def _norm_map(values: list[Any]) -> dict[Any, Any]:
    """norm_label -> the first original value with that form, in order."""
    out: dict[Any, Any] = {}
    for v in values:
        out.setdefault(norm_label(v), v)
    return out


def _sort_key(v: Any) -> tuple[int, Any]:
    n = norm_label(v)
    return (1, str(n)) if isinstance(n, str) else (0, n)


def refuse_merged_labels(values: Any, what: str, file: str, key: str) -> None:
    """Refuse distinct labels that gatekit's one normal form would merge into one class.

    Labels compare by :func:`gatekit.core.labels.norm_label` (text case-insensitively, numbers by value), which
    is right for a binary target's ``yes``/``Yes``; with many classes, ``A`` and ``a`` (or ``1`` and ``01``) in
    one column are two classes that would silently become one, and every count with them.

    Raises
    ------
    InputError
        Naming the labels that collide and what to do.
    """
    groups: dict[Any, set[str]] = {}
    for v in values:
        if v is None or (isinstance(v, float) and v != v):
            continue
        groups.setdefault(norm_label(v), set()).add(v.strip() if isinstance(v, str) else repr(norm_label(v)))
    merged = [sorted(g) for g in groups.values() if len(g) > 1]
    if merged:
        shown = "; ".join(" and ".join(repr(x) for x in g) for g in merged[:3])
        raise input_error(f"{what} holds labels that gatekit compares as one class ({shown}): labels are compared "
                          "case-insensitively and numbers by value, so these would merge; rename one of each pair "
                          "in the data (or the model's classes_)", file, key=key)


def label_classes(*series: Any, file: str = "") -> list[Any]:
    """Return the classes of label columns: their distinct values (one per normal form), numbers first, then text.

    Raises
    ------
    InputError
        Two distinct values of one normal form (:func:`refuse_merged_labels`).
    """
    vals: list[Any] = []
    for s in series:
        uniq = s.dropna().unique().tolist()
        refuse_merged_labels(uniq, f"column {s.name!r}", file, "target")
        vals.extend(uniq)
    return sorted(_norm_map(vals).values(), key=_sort_key)


def codes_of(values: Any, classes: list[Any], role: str, column: str, file: str) -> np.ndarray:
    """Map labels to codes into ``classes`` (compared in normal form); NaN stays NaN.

    Raises
    ------
    InputError
        A value that is not one of ``classes`` (naming up to five of them and the classes).
    """
    refuse_merged_labels(classes, "the classes (probability columns or the model's classes_)", file, "score")
    index = {norm_label(c): i for i, c in enumerate(classes)}
    out = np.full(len(values), np.nan)
    mask = values.notna().to_numpy()
    uniq = values[mask].unique()
    refuse_merged_labels(list(uniq), f"{role} column {column!r}", file, role)
    lookup = {v: index.get(norm_label(v)) for v in uniq}
    unknown = [v for v, i in lookup.items() if i is None]
    if unknown:
        raise input_error(f"{role} column {column!r} has values {sorted(map(str, unknown))[:5]} that are not among "
                          f"the classes {[str(c) for c in classes][:20]}; every {role} value needs its class (a "
                          "probability column score_<class>, or one of the model's classes_)", file, key=role)
    out[mask] = values[mask].map(lookup).to_numpy(dtype=float)
    return out


def check_matrix(p: np.ndarray, what: str, file: str | None, key: str = "score", first_row: int | None = 0,
                 csv_lines: bool = False) -> None:
    """Refuse a probability matrix with a missing value, a value outside [0, 1] or a row not summing to 1.

    Parameters
    ----------
    p : ndarray of shape (n_rows, n_classes)
        The probabilities, one column per class.
    what : str
        How the message names the probabilities (``probability columns 'score_*'``, ``the model's
        predict_proba``).
    file, key : str
        For the message.
    first_row : int or None
        Position of ``p``'s first row in the data; None when it is not known (an engine's batch): the message
        then names no rows.
    csv_lines : bool
        Name rows as CSV file lines (header on line 1).

    Raises
    ------
    InputError
        Naming the first rows concerned; the rows are never renormalised.
    """
    def where(idx: np.ndarray) -> str:
        if first_row is None:
            return "rows of one batch read from the engine"
        idx = idx[:5] + first_row
        return f"file lines {(idx + 2).tolist()}" if csv_lines else f"rows {idx.tolist()}, counted from 0"

    bad = ~np.isfinite(p).all(axis=1)
    if bad.any():
        raise input_error(f"{int(bad.sum())} rows of {what} have a missing or non-finite probability "
                          f"({where(np.flatnonzero(bad))}...); fill them: a gate never drops rows silently", file,
                          key=key)
    out = (p < 0).any(axis=1) | (p > 1).any(axis=1)
    if out.any():
        raise input_error(f"{int(out.sum())} rows of {what} have a probability outside [0, 1] "
                          f"({where(np.flatnonzero(out))}...); they must be probabilities", file, key=key)
    sums = p.sum(axis=1)
    off = np.abs(sums - 1.0) > PROBA_SUM_TOL
    if off.any():
        i = np.flatnonzero(off)
        raise input_error(f"{int(off.sum())} rows of {what} do not sum to 1 within {PROBA_SUM_TOL:g} "
                          f"({where(i)}...: sums {[round(float(s), 6) for s in sums[i[:5]]]}); gatekit never "
                          "renormalises them: give every class's probability (one column per class)", file,
                          key=key)
