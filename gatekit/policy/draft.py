"""Draft a policy from reference rows: what ``gatekit init`` writes for a new user to review and commit.

Pure functions, no input or output of their own: :func:`profile_frame` describes the columns of the reference
rows; :func:`probe_policy` builds the policy a first run measures the model with (metric values, the model's
features and format, drift); :func:`read_probe` collects what that run measured; :func:`draft_policy` writes
the policy text (YAML with comments) and the mapping it parses to. The command (:mod:`gatekit.cli.init`) reads
the files, runs the probe through :mod:`gatekit.api`, writes the text and validates it with the project's
loader before it keeps the file.

What the draft holds
--------------------
- ``data_quality``: per column, the logical type (:mod:`gatekit.data.logical_types`), the range of a numeric
  column widened by a stated margin (``margin`` times the observed range on each side, rounded outward), the
  allowed values of a low-cardinality text column (at most ``max_categories`` values, each at least twice on
  average), and a null limit (0 when the reference rows have no null, else the observed share times
  ``1 + margin``, rounded up). Values are never written for an identifier-like or free-text column, nor for a
  column where the personal-data scanner (:mod:`gatekit.validators.pii`) finds anything: a comment says why.
- ``metrics``: the task's rules (classification: ROC AUC, PR AUC, precision and recall at the decision threshold,
  Brier score; labels only: accuracy, precision, recall, F1; regression: RMSE, MAE, R², MAPE, sMAPE), each at the
  value measured now moved by ``metric_margin`` (relative) in the failing direction and rounded outward to two
  significant digits, the measured value in a comment; a rule the rows cannot compute is written commented out
  with the reason.
- fairness rules per sensitive column (classification): demographic parity, equal opportunity and equalized odds
  differences at the usual limit of 0.10 (the seed's worked example 1), or above the measured value when it is
  higher (said in a comment).
- ``drift`` (PSI 0.2 per feature, the leakage scan with a target) when current rows are given; otherwise the block
  is written commented out, since comparing the rows with themselves measures nothing.
- ``compatibility``: the model's feature signature (its features, typed as the model records them, else as the
  rows hold them) and its file format, when a model is given.
- every rule ``on_fail: warn`` and ``mode: warn_only``: the seed's advice to pilot a policy before enforcing it.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from gatekit.core.errors import input_error
from gatekit.core.formatting import printable

DEFAULT_MARGIN = 0.1
"""Ranges are widened by this share of the observed range on each side (``gatekit init --margin``)."""
DEFAULT_METRIC_MARGIN = 0.05
"""Metric limits sit this share (relative) of the measured value on the failing side (``--metric-margin``)."""
DEFAULT_MAX_CATEGORIES = 20
"""A text column with at most this many distinct values gets an allowed set (``--max-categories``)."""
FAIRNESS_LIMIT = 0.10
"""The usual limit on a fairness difference (the seed's worked example 1: parity difference <= 0.10)."""
DRIFT_PSI = 0.2
"""PSI limit per feature (the usual reading: < 0.1 stable, 0.1-0.25 moving, > 0.25 shifted)."""
CATEGORICAL_INTEGER_MAX = 10
"""An integer column with at most this many distinct values is compared as categories in drift (a code)."""
MIN_ROWS_FOR_UNIQUE = 10
"""A column is called an identifier (``unique: true``) only when at least this many rows are all distinct."""
MAX_SET_VALUE_CHARS = 64
"""A value longer than this is free text: no allowed set is written for its column."""
MAX_DRAFT_COLUMNS = 1000
"""Per-column rules (and drift features) are written for at most this many columns: a wider draft would pass the
policy loader's size limit (:data:`gatekit.core.yaml_limits.MAX_POLICY_NODES`); the rest are named by count only."""

CLASSIFICATION_SCORE_METRICS = ("auc_roc", "pr_auc", "precision_at_{t}", "recall_at_{t}", "brier_score")
CLASSIFICATION_LABEL_METRICS = ("accuracy", "precision_at_{t}", "recall_at_{t}", "f1_at_{t}")
REGRESSION_METRICS = ("rmse", "mae", "r2", "mape", "smape")
MULTICLASS_SCORE_METRICS = ("accuracy", "balanced_accuracy", "roc_auc_ovr", "f1_macro")
MULTICLASS_LABEL_METRICS = ("accuracy", "balanced_accuracy", "f1_macro")
FAIRNESS_METRICS = ("fairness_demographic_parity_diff", "fairness_equal_opportunity_diff",
                    "fairness_equalized_odds_diff")


@dataclass(frozen=True)
class ColumnProfile:
    """What the reference rows say about one column.

    Parameters
    ----------
    name : str
        The column's name.
    role : {"target", "score", "prediction", "sensitive", "feature"}
        Its role in the run.
    logical : str or None
        The logical type to write (:data:`gatekit.data.logical_types.LOGICAL_TYPES`), None when it cannot be told
        (every value null, mixed types).
    rows, nulls, distinct : int
        Rows, null values and distinct non-null values.
    minimum, maximum : float or None
        Range of the non-null values of a numeric column (None otherwise, or when it holds personal data).
    values : tuple or None
        The allowed set (sorted), for a low-cardinality text or boolean target column without personal data.
    unique : bool
        Every value is present and distinct, over at least :data:`MIN_ROWS_FOR_UNIQUE` rows (an identifier).
    pii : dict of str to int
        Kinds of personal data found and in how many rows (values never kept).
    note : str
        What the comment beside the column's rules says (observed range, why no set, ...).
    timezone : str or None
        ``naive`` or the zone name of a datetime column.
    """

    name: str
    role: str
    logical: str | None
    rows: int
    nulls: int
    distinct: int
    minimum: float | None = None
    maximum: float | None = None
    values: tuple[Any, ...] | None = None
    unique: bool = False
    pii: dict[str, int] = field(default_factory=dict)
    note: str = ""
    timezone: str | None = None

    @property
    def null_fraction(self) -> float:
        """Return the share of null values (0 for an empty frame)."""
        return self.nulls / self.rows if self.rows else 0.0

    @property
    def numeric(self) -> bool:
        """Tell whether the column holds numbers (integer or float)."""
        return self.logical in ("integer", "float")

    @property
    def driftable(self) -> bool:
        """Tell whether the column can be compared for drift.

        A feature (or sensitive attribute) of a numeric, boolean or low-cardinality text type; never an identifier,
        a constant or personal data.
        """
        if self.role not in ("feature", "sensitive") or self.pii or self.unique or self.distinct <= 1:
            return False
        if self.numeric or self.logical == "boolean":
            return True
        return self.logical in ("string", "category") and self.values is not None

    @property
    def drift_categorical(self) -> bool:
        """Tell whether the column is an integer code with few values (a credit score 1-6, a 0/1 flag).

        Drift compares such a column as categories, not in bins.
        """
        return self.logical == "integer" and self.distinct <= CATEGORICAL_INTEGER_MAX


def _python(v: Any) -> Any:
    """Return a numpy scalar as the Python scalar it holds (for YAML and comparisons)."""
    item = getattr(v, "item", None)
    return item() if callable(item) and not isinstance(v, (str, bytes)) else v


def profile_column(series: Any, name: str, role: str = "feature", *, max_categories: int = DEFAULT_MAX_CATEGORIES,
                   scanner: Any = None) -> ColumnProfile:
    """Describe one column of the reference rows.

    Parameters
    ----------
    series : pandas.Series
        The column, shape (n_rows,).
    name : str
        Its name.
    role : str
        ``target``, ``score``, ``prediction``, ``sensitive`` or ``feature``.
    max_categories : int
        A text column with at most this many distinct values (and at least two rows per value on average, every
        value at most :data:`MAX_SET_VALUE_CHARS` characters) gets an allowed set.
    scanner : gatekit.validators.pii.Scanner, optional
        Personal-data scanner; a column where it finds anything keeps no value in the profile. Default: every
        kind gatekit detects.

    Returns
    -------
    ColumnProfile
    """
    import numpy as np

    from gatekit.data.logical_types import describe_column
    from gatekit.validators.pii import Scanner, scan_counts

    scanner = scanner if scanner is not None else Scanner()
    rows = len(series)
    desc = describe_column(series)
    logical: str | None = desc["logical"]
    nulls = rows - int(desc["non_null"])
    counts = series.value_counts(dropna=True)
    distinct = len(counts)
    found = scan_counts(name, 0, ((v, n) for v, n in counts.items()), scanner) if logical != "datetime" else {}
    pii = {k: n for kinds in found.values() for k, n in kinds.items()}
    timezone = None
    notes: list[str] = []
    if logical == "category":
        logical = desc.get("categories_logical") if desc.get("categories_logical") in ("string", "integer",
                                                                                         "float", "boolean") else None
    if logical == "float" and desc.get("integral") and nulls:
        logical = "integer"  # an integer column with gaps, as a CSV reader holds it (frame_types does the same)
        notes.append("whole numbers with gaps, read as float")
    if logical == "datetime":
        timezone = desc.get("tz") or "naive"
    if logical not in ("integer", "float", "string", "boolean", "datetime") or desc["non_null"] == 0:
        notes.append("every value is null: no type" if desc["non_null"] == 0 else
                     f"mixed value types ({desc.get('inferred', desc['dtype'])}): no type")
        logical = None
    unique = (nulls == 0 and distinct == rows and rows >= MIN_ROWS_FOR_UNIQUE
              and logical in ("integer", "string"))
    minimum = maximum = None
    values: tuple[Any, ...] | None = None
    if pii:
        shown = ", ".join(f"{k} in {n:,} rows" for k, n in pii.items())
        notes.append(f"personal data found ({shown}): no value written; keep it out with security: pii")
    elif unique:
        notes.append(f"all {rows:,} values distinct (an identifier): no range or set written")
    elif logical == "integer" and 0 < distinct <= 2 and {int(v) for v in counts.index} <= {0, 1}:
        values = tuple(sorted(int(v) for v in counts.index))  # a 0/1 flag: its values, not a range around them
        notes.append("a flag: its values, not a range")
    elif logical in ("integer", "float") and distinct:
        vals = series.to_numpy(dtype=float, na_value=np.nan)
        vals = vals[~np.isnan(vals)]
        if len(vals) and np.isfinite(vals).all():
            minimum, maximum = float(vals.min()), float(vals.max())
        else:
            notes.append("infinite values: no range written")
    elif logical in ("string", "boolean") and distinct:
        texts = [str(v) for v in counts.index]
        if logical == "boolean":
            values = None  # the type says it all
        elif distinct > max_categories:
            notes.append(f"{distinct:,} distinct values (more than {max_categories}: an identifier, a date or free "
                         "text): no set written")
        elif distinct * 2 > desc["non_null"]:
            notes.append(f"{distinct:,} distinct values in {desc['non_null']:,} rows (most values unique): no set "
                         "written")
        elif max(len(t) for t in texts) > MAX_SET_VALUE_CHARS:
            notes.append(f"values longer than {MAX_SET_VALUE_CHARS} characters (free text): no set written")
        else:
            values = tuple(sorted((_python(v) for v in counts.index), key=lambda v: (str(type(v)), str(v))))
    return ColumnProfile(name=str(name), role=role, logical=logical, rows=rows, nulls=nulls, distinct=distinct,
                         minimum=minimum, maximum=maximum, values=values, unique=unique, pii=pii,
                         note="; ".join(notes), timezone=timezone)


def profile_frame(frame: Any, *, target: str | None = None, score: str | None = None, prediction: str | None = None,
                  sensitive: Sequence[str] = (), max_categories: int = DEFAULT_MAX_CATEGORIES,
                  scanner: Any = None) -> list[ColumnProfile]:
    """Describe every column of the reference rows, in the frame's order.

    Parameters
    ----------
    frame : pandas.DataFrame
        The reference rows, shape (n_rows, n_columns).
    target, score, prediction : str, optional
        Columns in those roles.
    sensitive : sequence of str
        Sensitive attribute columns.
    max_categories : int
        See :func:`profile_column`.
    scanner : gatekit.validators.pii.Scanner, optional
        See :func:`profile_column`.

    Returns
    -------
    list of ColumnProfile
        One per column. A column whose name holds personal data is left out (its name would be echoed).
    """
    from gatekit.validators.pii import Scanner

    scanner = scanner if scanner is not None else Scanner()
    roles = {c: r for r, cols in (("sensitive", list(sensitive)), ("prediction", [prediction]), ("score", [score]),
                                  ("target", [target])) for c in cols if c}
    out = []
    for c in frame.columns:
        if scanner.kinds_in(str(c)):
            continue  # a header that is personal data (a CSV without its header row): never written
        out.append(profile_column(frame[c], str(c), roles.get(str(c), "feature"), max_categories=max_categories,
                                  scanner=scanner))
    return out


def target_facts(frame: Any, target: str, task: str | None, positive_label: Any, file: str) -> tuple[str, Any]:
    """Return the task and the positive label the target column gives (:mod:`gatekit.data.labels`).

    Parameters
    ----------
    frame : pandas.DataFrame
        The rows.
    target : str
        The target column (must exist).
    task : {"classification", "multiclass", "regression"} or None
        Declared task; inferred when None.
    positive_label : object, optional
        Declared positive label (classification).
    file : str
        The rows' file, for messages.

    Returns
    -------
    task : {"classification", "multiclass", "regression"}
        ``multiclass`` for a classification target with more than two classes.
    positive : object or None
        The positive label as a Python scalar (binary classification), else None.

    Raises
    ------
    InputError
        A positive label given for a multiclass target, a classification target whose positive value cannot be
        told, a declared positive label that is not among the target's values, or a regression target that is not
        numeric.
    """
    from gatekit.core.labels import norm_label
    from gatekit.data.labels import infer_positive, infer_task

    col = frame[target]
    found = infer_task(col, task)
    n_classes = col.dropna().nunique()
    if found == "multiclass" or (found == "classification" and n_classes > 2):
        if positive_label is not None:
            raise input_error(f"target {target!r} has {n_classes} classes (multiclass): a positive label applies to "
                              "binary classification only; leave out --positive-label", file, key="positive_label")
        return "multiclass", None
    if found != "classification":
        from pandas.api.types import is_bool_dtype, is_numeric_dtype

        if not is_numeric_dtype(col) or is_bool_dtype(col):
            raise input_error(f"target {target!r} is not numeric ({col.dtype}), so it cannot be a regression target; "
                              "leave out --task regression for a classification target", file, key="target")
        return found, None
    positive = _python(infer_positive(col.dropna().unique().tolist(), positive_label, file, target))
    if positive_label is not None and norm_label(positive) not in {norm_label(v) for v in col.dropna().unique()}:
        raise input_error(f"positive label {positive!r} is not a value of target {target!r} (values: "
                          f"{sorted(map(str, col.dropna().unique()))[:10]})", file, key="positive_label")
    if isinstance(positive, str):
        return found, positive
    # the label's own type, as the target holds it: a 0/1 target gives 1, a boolean one True
    same = [v for v in col.dropna().unique().tolist() if norm_label(v) == norm_label(positive)]
    return found, _python(same[0]) if same else positive


# --- numbers as the policy writes them ---------------------------------------------------------------------------


def _decimal_step(exponent: int) -> Decimal:
    return Decimal(1).scaleb(exponent)


def round_outward(x: float, down: bool, exponent: int) -> float:
    """Round ``x`` down (or up) to a multiple of ``10 ** exponent``, exactly (decimal arithmetic).

    Parameters
    ----------
    x : float
        Finite value.
    down : bool
        Round toward minus infinity (else toward plus infinity).
    exponent : int
        Power of ten of the step (``-2``: hundredths).

    Returns
    -------
    float
        The rounded value; it is ``<= x`` when ``down``, else ``>= x`` (``x`` read at twelve significant digits,
        so binary noise such as ``0.07700000000000001`` does not push it up a step).
    """
    step = _decimal_step(exponent)
    # twelve significant digits first: 0.07 * 1.1 is 0.07700000000000001 in binary, and is meant as 0.077
    q = Decimal(f"{float(x):.12g}") / step
    n = math.floor(q) if down else math.ceil(q)
    return float(Decimal(n) * step)


def round_significant(x: float, down: bool, digits: int = 2) -> float:
    """Round ``x`` outward to ``digits`` significant digits (``0.7731`` down -> ``0.77``; ``0.0945`` up -> ``0.095``).

    Parameters
    ----------
    x : float
        Finite value; 0 stays 0.
    down : bool
        Round toward minus infinity (else toward plus infinity).
    digits : int
        Significant digits kept.

    Returns
    -------
    float
    """
    if x == 0 or not math.isfinite(x):
        return x
    return round_outward(x, down, math.floor(math.log10(abs(x))) - (digits - 1))


def widened_range(lo: float, hi: float, margin: float, integer: bool) -> tuple[float, float]:
    """Widen ``[lo, hi]`` by ``margin`` times its width on each side, rounded outward.

    The step of the rounding is a thousandth of the width's order of magnitude (three significant digits of the
    width), at least 1 for an integer column. A range that starts at or above 0 is not widened below 0 (no
    negative value was seen: ratios, counts, rates). A constant column (``lo == hi``) is widened by ``margin``
    times ``max(|lo|, 1)``.

    Parameters
    ----------
    lo, hi : float
        Observed minimum and maximum, ``lo <= hi``.
    margin : float
        Share of the width added on each side, ``>= 0``.
    integer : bool
        The column holds whole numbers: the limits are whole numbers.

    Returns
    -------
    (float, float)
        ``(new_lo, new_hi)`` with ``new_lo <= lo`` and ``new_hi >= hi``.

    Raises
    ------
    ValueError
        The widened range is not finite in float (values near ``±1.8e308``).
    """
    width = hi - lo if hi > lo else max(abs(lo), 1.0)
    pad = margin * width
    new_lo, new_hi = lo - pad, hi + pad
    if not all(math.isfinite(x) for x in (width, new_lo, new_hi)):
        raise ValueError("the widened range overflows a float")
    if lo >= 0:
        new_lo = max(new_lo, 0.0)
    exponent = math.floor(math.log10(width)) - 2
    if integer:
        exponent = max(exponent, 0)
    out_lo, out_hi = round_outward(new_lo, True, exponent), round_outward(new_hi, False, exponent)
    if not (math.isfinite(out_lo) and math.isfinite(out_hi)):
        raise ValueError("the widened range overflows a float")
    return min(out_lo, lo), max(out_hi, hi)


def null_limit(fraction: float, margin: float) -> float:
    """Return the ``max_null_fraction`` drafted for an observed null share: 0 for none, else share times ``1 + margin``.

    Rounded up to two significant digits and capped at 1.
    """
    if fraction <= 0:
        return 0.0
    return min(1.0, round_significant(fraction * (1 + margin), down=False))


def metric_limit(value: float, higher_is_better: bool, margin: float,
                 bounds: tuple[float | None, float | None] = (None, None)) -> float:
    """Return the limit drafted for a metric measured at ``value``.

    ``value - margin * |value|`` rounded down to two significant digits for a metric where higher is better,
    ``value + margin * |value|`` rounded up otherwise, kept within the metric's bounds. The measured value
    always meets the limit.

    Parameters
    ----------
    value : float
        Measured value, finite.
    higher_is_better : bool
        The metric's direction (the rule is ``>=`` when true, else ``<=``).
    margin : float
        Relative slack, ``>= 0``.
    bounds : (float or None, float or None)
        The metric's range.

    Returns
    -------
    float
    """
    slack = margin * abs(value)
    limit = (round_significant(value - slack, down=True) if higher_is_better
             else round_significant(value + slack, down=False))
    lo, hi = bounds
    if lo is not None:
        limit = max(limit, lo)
    if hi is not None:
        limit = min(limit, hi)
    return min(limit, value) if higher_is_better else max(limit, value)


def _num(x: float, integer: bool = False) -> int | float:
    """Return ``x`` as the YAML number to write: an int for whole limits of integer columns."""
    if integer or (float(x).is_integer() and abs(x) < 1e15):
        return int(x)
    return float(x)


def _shown(x: float) -> str:
    """Return a measured value for a comment: four significant digits."""
    return f"{x:.4g}"


# --- YAML with comments ------------------------------------------------------------------------------------------


@dataclass
class Entry:
    """One ``key: value`` of a block mapping, with its comments.

    ``value`` is a scalar, a :class:`Flow` (one line), a list of :class:`Entry` (a nested block mapping) or a list
    of :class:`Item` (a block sequence). A ``commented`` entry is written with every line behind ``#`` (a block the
    user may uncomment) and is not part of the document.
    """

    key: str
    value: Any
    comment: str = ""
    before: list[str] = field(default_factory=list)
    commented: bool = False


@dataclass
class Flow:
    """A mapping or list written on one line (``{type: float, min: 0}``, ``[a, b]``)."""

    value: Any


@dataclass
class Item:
    """One item of a block sequence, written as a flow value on its dash line."""

    value: Any
    comment: str = ""
    before: list[str] = field(default_factory=list)
    commented: bool = False


def comment_text(text: object) -> str:
    """Return ``text`` as one printable line for a YAML comment (control characters and line breaks escaped)."""
    return printable(text).replace("\u2028", "\\u2028").replace("\u2029", "\\u2029").replace("\u0085", "\\x85")


def scalar(v: Any) -> str:
    """Return a scalar as YAML text: quoted where YAML would read it as something else (``'yes'``, ``'1.0'``).

    Numbers are written in positional notation (``0.00001``, never ``1e-05``, which YAML 1.1 reads as text).
    """
    import yaml

    v = _python(v)
    if isinstance(v, bool) or v is None:
        return {True: "true", False: "false", None: "null"}[v]
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float):
        import numpy as np

        if not math.isfinite(v):
            raise ValueError(f"cannot write {v} in a policy")
        text = np.format_float_positional(v, trim="-")
        return text if "." in text or v.is_integer() else text + ".0"
    s = str(v)
    if _needs_double_quotes(s):
        return _double_quoted(s)
    text = yaml.safe_dump([s], default_flow_style=True, width=1 << 30, allow_unicode=True).strip()
    if text.endswith("\n..."):
        text = text[: -len("\n...")].strip()
    text = text[1:-1]
    if "\n" in text or text.startswith('"'):  # a line break or a character YAML escapes: one double-quoted line
        return _double_quoted(s)
    if not text.startswith("'") and _number_like(s):  # 1e3, 0x10, 1_000, .5: numbers to a YAML 1.2 reader
        return "'" + s.replace("'", "''") + "'"
    return text


def _number_like(s: str) -> bool:
    """Tell whether a YAML reader (1.1 or 1.2) might read the plain text ``s`` as a number."""
    import re

    t = s.strip().replace("_", "")
    if re.fullmatch(r"[-+]?(0[xob][0-9a-fA-F]+|[0-9]+(:[0-5]?[0-9])+(\.[0-9]*)?|\.(inf|Inf|INF|nan|NaN|NAN))", t):
        return True
    try:
        float(t)
    except ValueError:
        return False
    return True


def _needs_double_quotes(s: str) -> bool:
    """Tell whether ``s`` holds a character a single-quoted YAML scalar cannot keep on one line."""
    return any(ord(c) < 0x20 or c in "\x7f\x85\u2028\u2029\ufeff" or 0xD800 <= ord(c) <= 0xDFFF for c in s)


def _double_quoted(s: str) -> str:
    """Return ``s`` as one double-quoted YAML line (JSON escapes are YAML's; surrogates as backslash-u escapes)."""
    import json

    text = json.dumps(s, ensure_ascii=False)
    return "".join(c if c.isprintable() or c == " " else f"\\u{ord(c):04x}" for c in text)


def flow(v: Any) -> str:
    """Return a mapping, list or scalar as one line of flow YAML."""
    if isinstance(v, dict):
        return "{" + ", ".join(f"{scalar(k)}: {flow(x)}" for k, x in v.items()) + "}"
    if isinstance(v, (list, tuple)):
        return "[" + ", ".join(flow(x) for x in v) + "]"
    return scalar(v)


def _with_comment(line: str, comment: str) -> str:
    return f"{line}  # {comment_text(comment)}" if comment else line


COMMENT_WIDTH = 116
"""Comment paragraphs are wrapped to this many characters (indentation included)."""


def _comment_block(paragraphs: list[str], pad: str) -> list[str]:
    """Return comment lines for ``paragraphs``, each wrapped at :data:`COMMENT_WIDTH`.

    ``""`` is an empty line and ``"#"`` an empty comment line.
    """
    import textwrap

    out: list[str] = []
    for par in paragraphs:
        if par in ("", "#"):
            out.append(f"{pad}#" if par else "")
            continue
        width = max(40, COMMENT_WIDTH - len(pad) - 2)
        out.extend(f"{pad}# {line}" for line in textwrap.wrap(comment_text(par), width, break_long_words=False,
                                                               break_on_hyphens=False))
    return out


def render(entries: list[Entry], indent: int = 0) -> list[str]:
    """Return the lines of a block mapping (comments included).

    Parameters
    ----------
    entries : list of Entry
        The mapping's entries in order.
    indent : int
        Spaces before each key.

    Returns
    -------
    list of str
    """
    pad = " " * indent
    out: list[str] = []
    for e in entries:
        lines = _comment_block(e.before, pad)
        own: list[str] = []
        if isinstance(e.value, list) and e.value and isinstance(e.value[0], Entry):
            own.append(_with_comment(f"{pad}{scalar(e.key)}:", e.comment))
            own.extend(render(e.value, indent + 2))
        elif isinstance(e.value, list) and e.value and isinstance(e.value[0], Item):
            own.append(_with_comment(f"{pad}{scalar(e.key)}:", e.comment))
            for item in e.value:
                own.extend(_comment_block(item.before, pad + "  "))
                line = _with_comment(f"{pad}  - {flow(item.value)}", item.comment)
                own.append(f"{pad}  # {line[len(pad) + 2:]}" if item.commented else line)
        else:
            value = e.value.value if isinstance(e.value, Flow) else e.value
            line = f"{pad}{scalar(e.key)}: {flow(value)}"
            if isinstance(value, dict) and value and len(line) > COMMENT_WIDTH:  # too long for one line: a block
                own.append(_with_comment(f"{pad}{scalar(e.key)}:", e.comment))
                own.extend(f"{pad}  {scalar(k)}: {flow(v)}" for k, v in value.items())
            else:
                own.append(_with_comment(line, e.comment))
        if e.commented:
            own = [f"{pad}# {line[len(pad):]}" for line in own]
        out.extend(lines + own)
    return out


def document(entries: list[Entry]) -> dict[str, Any]:
    """Return the mapping the rendered entries parse to (commented entries and items left out)."""
    out: dict[str, Any] = {}
    for e in entries:
        if e.commented:
            continue
        v = e.value
        if isinstance(v, list) and v and isinstance(v[0], Entry):
            out[e.key] = document(v)
        elif isinstance(v, list) and v and isinstance(v[0], Item):
            out[e.key] = [_plain(i.value) for i in v if not i.commented]
        else:
            out[e.key] = _plain(v.value if isinstance(v, Flow) else v)
    return out


def _plain(v: Any) -> Any:
    if isinstance(v, dict):
        return {k: _plain(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [_plain(x) for x in v]
    return _python(v)


# --- the probe run -----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class DraftSettings:
    """What the command was given, as the policy will name it.

    Parameters
    ----------
    name : str
        The policy's name.
    data : str
        The reference rows' path as the policy writes it (relative to the policy file).
    data_label : str
        The reference rows' file name, for comments.
    current : str, optional
        The current rows' path as the policy writes it; drift compares ``data`` (reference) with it.
    current_label : str, optional
        The current rows' file name.
    model : str, optional
        The model's path as the policy writes it.
    model_sha256 : str, optional
        The model file's expected sha256 (written to ``inputs.model_sha256``).
    target, score, prediction : str, optional
        Columns in those roles.
    positive_label : object, optional
        The positive label (classification).
    sensitive : tuple of str
        Sensitive columns.
    task : {"classification", "regression"}, optional
        The task (None without a target).
    margin : float
        Share of the observed range added on each side of a range (and to an observed null share).
    metric_margin : float
        Relative slack of a metric limit from its measured value.
    max_categories : int
        Largest allowed set written.
    decision_threshold : float
        Score threshold for predicted labels.
    """

    name: str
    data: str
    data_label: str
    current: str | None = None
    current_label: str | None = None
    model: str | None = None
    model_sha256: str | None = None
    target: str | None = None
    score: str | None = None
    prediction: str | None = None
    positive_label: Any = None
    sensitive: tuple[str, ...] = ()
    task: str | None = None
    margin: float = DEFAULT_MARGIN
    metric_margin: float = DEFAULT_METRIC_MARGIN
    max_categories: int = DEFAULT_MAX_CATEGORIES
    decision_threshold: float = 0.5

    @property
    def has_outputs(self) -> bool:
        """A model, score or prediction column is given: the metric rules can be measured."""
        return self.target is not None and (self.model is not None or self.score is not None
                                            or self.prediction is not None)

    @property
    def evaluation_label(self) -> str:
        """The file the run evaluates: the current rows when given, else the reference rows."""
        return self.current_label or self.data_label


def _token(t: float) -> str:
    import numpy as np

    return np.format_float_positional(float(t), trim="0").replace(".", "_")


def metric_candidates(settings: DraftSettings) -> list[tuple[str, dict[str, Any]]]:
    """Return the task's metric rules to measure: ``(name, params)`` in the order the policy lists them.

    Classification with scores (a model or a score column): ROC AUC, PR AUC, precision and recall at the decision
    threshold, Brier score; with predicted labels only: accuracy, precision, recall, F1. Regression: RMSE, MAE,
    R², MAPE, sMAPE. Multiclass (:mod:`gatekit.metrics.multiclass`): accuracy, balanced accuracy, one-vs-rest ROC
    AUC (with probabilities) and macro F1. Then, for binary classification, three fairness differences per
    sensitive column.
    """
    if not settings.has_outputs:
        return []
    t = _token(settings.decision_threshold)
    if settings.task == "regression":
        names: Iterable[str] = REGRESSION_METRICS
    elif settings.task == "multiclass":
        names = MULTICLASS_LABEL_METRICS if settings.prediction is not None else MULTICLASS_SCORE_METRICS
    elif settings.prediction is not None:
        names = (n.format(t=t) for n in CLASSIFICATION_LABEL_METRICS)
    else:
        names = (n.format(t=t) for n in CLASSIFICATION_SCORE_METRICS)
    out: list[tuple[str, dict[str, Any]]] = [(n, {}) for n in names]
    if settings.task == "classification":
        out += [(n, {"sensitive": s}) for s in settings.sensitive for n in FAIRNESS_METRICS]
    return out


def probe_policy(profiles: list[ColumnProfile], settings: DraftSettings) -> dict[str, Any] | None:
    """Return the policy a first run measures with (as a mapping), or None when nothing needs measuring.

    It holds every metric rule of :func:`metric_candidates` (limits that do not matter: only the measured values
    are read), the feature signature and model format when a model is given, and drift with the leakage scan
    over every comparable column when current rows are given. Everything ``warn``, ``mode: warn_only``.
    """
    pol: dict[str, Any] = {"version": 1, "name": f"{settings.name} (gatekit init probe)", "mode": "warn_only",
                           "decision_threshold": settings.decision_threshold}
    rules = [{"name": n, "op": ">=", "value": 0, "on_fail": "warn", **({"params": p} if p else {})}
             for n, p in metric_candidates(settings)]
    if rules:
        pol["metrics"] = rules
    if settings.model is not None:
        pol["compatibility"] = {"on_fail": "warn", "feature_signature": "strict",
                                "model_format": {"allowed": ["onnx"]}}
    if settings.current is not None:
        features = [p.name for p in _capped(profiles) if p.driftable]
        if features:
            pol["drift"] = _drift_mapping(profiles, features, leakage=settings.target is not None)
    return pol if len(pol) > 4 else None


def _drift_mapping(profiles: list[ColumnProfile], features: list[str], leakage: bool) -> dict[str, Any]:
    by_name = {p.name: p for p in profiles}
    out: dict[str, Any] = {"on_fail": "warn", "features": features}
    cats = [f for f in features if by_name[f].drift_categorical]
    if cats:
        out["categorical_features"] = cats
    out["numerical"] = {"method": "psi", "threshold": DRIFT_PSI}
    out["categorical"] = {"method": "psi", "threshold": DRIFT_PSI}
    if leakage:
        out["leakage"] = {"auc": 0.9, "spearman": 0.95}
    return out


@dataclass
class Measured:
    """What the probe run measured.

    Parameters
    ----------
    metrics : dict of int to (float or None, str)
        Index of the rule in the probe's ``metrics:`` (the order of :func:`metric_candidates`) -> measured value
        (None when not computable) and the run's message.
    psi : dict of str to float
        PSI per feature.
    leakage : dict of str to float
        Single-feature leakage score per feature.
    model_features : list of str, optional
        The model's input columns, in its order.
    model_types : dict of str to (str or None)
        The type the model records per feature (None where it records none).
    model_format : str, optional
        The model file's format as its content shows (``skops``, ``onnx``, ``joblib``, ``pickle``).
    rows : int, optional
        Rows the metrics were measured on.
    """

    metrics: dict[int, tuple[float | None, str]] = field(default_factory=dict)
    psi: dict[str, float] = field(default_factory=dict)
    leakage: dict[str, float] = field(default_factory=dict)
    model_features: list[str] | None = None
    model_types: dict[str, str | None] = field(default_factory=dict)
    model_format: str | None = None
    rows: int | None = None


def read_probe(report: Any) -> Measured:
    """Collect what a probe run measured from its report (:class:`~gatekit.core.results.GateReport`).

    Only finite observed values of checks that ran count; a check that could not be computed keeps its message.
    """
    m = Measured()
    data_info = ((getattr(report, "metadata", None) or {}).get("inputs") or {}).get("data")
    if isinstance(data_info, dict) and isinstance(data_info.get("rows"), int):
        m.rows = data_info["rows"]
    for c in report.checks:
        observed = c.observed if c.observed is not None and math.isfinite(c.observed) else None
        ran = c.status.value in ("pass", "fail")
        rule = str((c.details or {}).get("rule") or "")
        if rule.startswith("metrics[") and rule.endswith("]") and rule[8:-1].isdigit():
            m.metrics[int(rule[8:-1])] = (observed if ran else None, c.message)
        elif c.section == "drift" and observed is not None and ran:
            name, _, kind = c.name.rpartition(".")
            if kind == "psi":
                m.psi[name] = observed
            elif kind == "leakage":
                m.leakage[name] = observed
        elif c.name == "feature_signature":
            cand = (c.details or {}).get("candidate")
            if isinstance(cand, dict):
                m.model_features = [str(k) for k in cand]
                m.model_types = {str(k): v for k, v in cand.items()}
        elif c.name == "model_format":
            det = (c.details or {}).get("detected")
            if isinstance(det, str) and det != "unknown":
                m.model_format = det
    return m


# --- the draft ---------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Draft:
    """A drafted policy.

    Parameters
    ----------
    text : str
        The YAML file's text, comments included.
    document : dict
        The mapping ``text`` parses to.
    notes : list of str
        What the command should tell the user (rules left out and why).
    """

    text: str
    document: dict[str, Any]
    notes: list[str]


def _column_rules(p: ColumnProfile, settings: DraftSettings) -> tuple[dict[str, Any], str]:
    rules: dict[str, Any] = {}
    comment: list[str] = []
    if p.logical is not None:
        rules["type"] = p.logical
        if p.logical == "datetime":
            rules["timezone"] = p.timezone or "naive"
    if p.minimum is not None and p.maximum is not None:
        integer = p.logical == "integer"
        try:
            lo, hi = widened_range(p.minimum, p.maximum, settings.margin, integer)
        except ValueError:
            comment.append("values near the largest float: no range written")
        else:
            rules["min"], rules["max"] = _num(lo, integer), _num(hi, integer)
            comment.append(f"reference {_shown(p.minimum)} .. {_shown(p.maximum)}")
    if p.values is not None:
        rules["allowed"] = list(p.values)
    if p.unique:
        rules["unique"] = True
    limit = 0.0 if p.role == "target" else null_limit(p.null_fraction, settings.margin)
    rules["max_null_fraction"] = _num(limit)
    if p.nulls:
        comment.append(f"{p.null_fraction:.2%} null")
    elif not p.note:
        comment.append("no nulls")
    if p.role != "feature":
        comment.insert(0, {"sensitive": "the sensitive attribute"}.get(p.role, f"the {p.role}"))
    if p.note:
        comment.append(p.note)
    return rules, "; ".join(comment)


def _header(settings: DraftSettings, rows: int, n_columns: int, output: str) -> list[str]:
    roles = []
    if settings.target:
        roles.append(f"target {settings.target} ({settings.task}"
                     + (f", positive label {settings.positive_label!r})" if settings.task == "classification" else ")"))
    if settings.sensitive:
        roles.append("sensitive " + ", ".join(settings.sensitive))
    if settings.model:
        roles.append(f"model {settings.model}")
    elif settings.score or settings.prediction:
        roles.append(f"{'score' if settings.score else 'prediction'} column {settings.score or settings.prediction}")
    first = (f"Drafted by `gatekit init` from {settings.data_label} ({rows:,} rows, {n_columns} columns)"
             + (f" and {settings.current_label}" if settings.current_label else "") + "."
             + (f" {', '.join(roles)[:1].upper()}{', '.join(roles)[1:]}." if roles else ""))
    return [first, "#",
            "Review every rule before you commit it: the limits describe the rows init was given, not what the model "
            "must meet. Ranges are the reference rows' own, widened by "
            f"{settings.margin:g} of their width on each side (--margin); metric limits sit "
            f"{settings.metric_margin:.0%} below (above, for errors) the values measured now, shown beside each "
            "(--metric-margin).", "#",
            "Pilot first (the seed's advice): `mode: warn_only` reports what would block and never fails the pipeline, "
            "and every rule is on_fail: warn. When the gate's history shows it is right (gatekit history --policy "
            f"{output}), remove the mode line, or move single rules to on_fail: block; `gatekit policy diff` lists "
            "every escalation for the pull request.", "#",
            f"Run it:  gatekit run {output}",
            f"In CI:   gatekit run {output} --data NEW_ROWS.csv" + (" --model MODEL" if settings.model else "")]


def draft_policy(profiles: list[ColumnProfile], settings: DraftSettings, measured: Measured | None = None, *,
                 output: str = "gatekit.yaml") -> Draft:
    """Draft the policy text for the profiled reference rows and what the probe run measured.

    Parameters
    ----------
    profiles : list of ColumnProfile
        From :func:`profile_frame`, over the reference rows.
    settings : DraftSettings
        Paths, roles and margins.
    measured : Measured, optional
        From :func:`read_probe`; None when nothing was measured (no model, score or current rows).
    output : str
        The policy file's name, for the commands in its header comment.

    Returns
    -------
    Draft
    """
    from gatekit.metrics.catalog import default_registry

    measured = measured or Measured()
    notes: list[str] = []
    rows = profiles[0].rows if profiles else 0
    top: list[Entry] = [
        Entry("version", 1, before=_header(settings, rows, len(profiles), output)),
        Entry("name", settings.name),
        Entry("mode", "warn_only", comment="pilot: report what would block, exit 0; remove this line to enforce"),
        Entry("strict", True, comment="a rule that cannot be computed is not a pass"),
    ]
    if settings.task == "classification":
        top.append(Entry("decision_threshold", _num(settings.decision_threshold),
                         comment="score >= threshold is a positive prediction"))
    top.append(_inputs(settings))
    top.append(_data_quality(profiles, settings))
    metrics, metric_notes = _metrics(settings, measured, default_registry())
    notes += metric_notes
    if metrics is not None:
        top.append(metrics)
    top.append(_drift(profiles, settings, measured))
    compat = _compatibility(profiles, settings, measured)
    if compat is not None:
        top.append(compat)
    text = "\n".join(render(top)) + "\n"
    return Draft(text=text, document=document(top), notes=notes)


def redact_reason(message: str, values: Iterable[Any] = ()) -> str:
    """Return a metric's not-computable reason without the data values it may quote (group names, class labels).

    The draft and the console never copy a value of the rows: ``group(s) bob@corp.com have no positive labels``
    becomes ``some group(s) have no positive labels``; quoted values (``'x'``, ``"x"``) and bracketed lists become
    ``…``. Counts, thresholds and the kind of reason stay. Run the policy to see the full reason in the report.

    Parameters
    ----------
    message : str
        The reason a check gave.
    values : iterable, optional
        Values of the rows (the sensitive columns' groups, the target's classes) to take out wherever they stand
        as a whole word, whatever the message's wording.

    Returns
    -------
    str
    """
    import re

    text = str(message)
    for v in sorted({str(v) for v in values if len(str(v).strip()) >= 3}, key=len, reverse=True):  # not "a"
        text = re.sub(rf"(?<![\w@.-]){re.escape(v)}(?![\w@-])", "…", text)
    text = re.sub(r"\(counted: [^)]*\)", "(counted: …)", text)
    text = re.sub(r"group\(s\) .*? have no", "some group(s) have no", text, flags=re.S)
    text = re.sub(r"class\(es\) .*? (?=ha(?:ve|s) )", "some class(es) ", text, flags=re.S)
    text = re.sub(r"'[^']*'|\"[^\"]*\"|\[[^\]]*\]", "…", text)
    return text


def _inputs(settings: DraftSettings) -> Entry:
    e: list[Entry] = []
    if settings.current is not None:
        e.append(Entry("data", settings.current, comment="the rows gated (current)"))
        e.append(Entry("reference", settings.data, comment="the reference rows the ranges and drift come from"))
    else:
        e.append(Entry("data", settings.data, comment="the rows gated; in CI give the new rows with --data"))
    if settings.target is not None:
        e.append(Entry("target", settings.target))
        if settings.task == "classification":
            e.append(Entry("positive_label", settings.positive_label))
        e.append(Entry("task", settings.task))
    if settings.model is not None:
        e.append(Entry("model", settings.model))
        if settings.model_sha256:
            e.append(Entry("model_sha256", settings.model_sha256))
    if settings.score is not None:
        e.append(Entry("score", settings.score))
    if settings.prediction is not None:
        e.append(Entry("prediction", settings.prediction))
    if settings.sensitive:
        e.append(Entry("sensitive", Flow(list(settings.sensitive))))
    return Entry("inputs", e, before=["", "Paths are relative to this file."])


def _capped(profiles: list[ColumnProfile]) -> list[ColumnProfile]:
    """Return the profiles that get rules: every role column, then features up to :data:`MAX_DRAFT_COLUMNS` in all."""
    room = MAX_DRAFT_COLUMNS - sum(p.role != "feature" for p in profiles)
    out = []
    for p in profiles:
        if p.role != "feature" or room > 0:
            out.append(p)
            room -= p.role == "feature"
    return out


def _data_quality(profiles: list[ColumnProfile], settings: DraftSettings) -> Entry:
    cols = []
    kept = _capped(profiles)
    for p in kept:
        rules, comment = _column_rules(p, settings)
        cols.append(Entry(p.name, Flow(rules), comment=comment))
    if len(kept) < len(profiles):
        cols[-1].comment += (f"; {len(profiles) - len(kept):,} more columns have no rule (more than "
                             f"{MAX_DRAFT_COLUMNS:,}: the policy would pass the loader's size limit); add the ones "
                             "that matter")
    e = [Entry("on_fail", "warn"),
         Entry("row_count", Flow({"min": 300}), commented=True,
               comment="fewer rows make the metrics too noisy to gate on; set your own"),
         Entry("columns", cols)]
    return Entry("data_quality", e, before=[
        "", f"Types, ranges, allowed values and null limits of the {profiles[0].rows if profiles else 0:,} reference "
        f"rows. Range = observed min .. max widened by {settings.margin:g} of the width on each side (--margin), "
        "rounded outward, never below 0 where no negative value was seen. Null limit = 0 where the rows have no null, "
        f"else the observed share x {1 + settings.margin:g}. Allowed sets only for text columns with at most "
        f"{settings.max_categories} values (--max-categories); the values of identifiers, free text and personal data "
        "are never written."])


def _metrics(settings: DraftSettings, measured: Measured, registry: Any) -> tuple[Entry | None, list[str]]:
    candidates = metric_candidates(settings)
    notes: list[str] = []
    if not candidates:
        if settings.target is None:
            return None, notes
        hint = ("give --model (or --score / --prediction) to `gatekit init` to draft the task's metric rules with the "
                "values measured now")
        notes.append(f"no metric rules: {hint}")
        example = {"classification": ("auc_roc", ">=", 0.8), "multiclass": ("balanced_accuracy", ">=", 0.8)}.get(
            settings.task or "", ("rmse", "<=", 1.0))
        return Entry("metrics", [Item({"name": example[0], "op": example[1], "value": example[2],
                                       "on_fail": "warn"})],
                     commented=True, before=["", f"Metric rules need the model's output: {hint}."]), notes
    if settings.task == "multiclass" and settings.sensitive:
        notes.append("no fairness rules: gatekit init drafts them for binary classification only; see "
                     "docs/metrics/fairness.md to write them by hand")
    items: list[Item] = []
    where = f"{settings.evaluation_label}" + (f", {measured.rows:,} rows" if measured.rows else "")
    for i, (name, params) in enumerate(candidates):
        res = registry.resolve(name)
        assert res is not None, name  # the candidates are names of the default registry
        spec = res.spec
        value, message = measured.metrics.get(i, (None, "not measured"))
        message = redact_reason(message)
        higher = bool(spec.higher_is_better)
        rule: dict[str, Any] = {"name": name, "op": ">=" if higher else "<="}
        before: list[str] = []
        if spec.section == "fairness" and params.get("sensitive") and params["sensitive"] == settings.sensitive[0] \
                and name == FAIRNESS_METRICS[0]:
            before = ["#", f"Fairness across the groups of each sensitive column: {FAIRNESS_LIMIT:g} is the usual "
                      "limit (the seed's worked example 1)."]
        if value is None:
            rule["value"] = FAIRNESS_LIMIT if spec.section == "fairness" else 0
            rule["on_fail"] = "warn"
            if params:
                rule["params"] = dict(params)
            items.append(Item(rule, comment=f"not computable on {settings.evaluation_label}: {message}",
                              before=before, commented=True))
            notes.append(f"{name}{' (' + params['sensitive'] + ')' if params.get('sensitive') else ''}: left out "
                         f"(commented), not computable on these rows: {message}")
            continue
        limit = metric_limit(value, higher, settings.metric_margin, spec.bounds)
        comment = f"now {_shown(value)}"
        if spec.section == "fairness":
            if limit <= FAIRNESS_LIMIT:
                limit = FAIRNESS_LIMIT
            else:
                comment += f"; ABOVE the usual {FAIRNESS_LIMIT:g}: the limit follows the model, review it"
                notes.append(f"{name} ({params['sensitive']}) is {_shown(value)}, above the usual {FAIRNESS_LIMIT:g}: "
                             "the drafted limit follows the model; review it")
        rule["value"] = _num(limit)
        rule["on_fail"] = "warn"
        if params:
            rule["params"] = dict(params)
        lo_b, hi_b = spec.bounds
        at_bound = (lo_b is not None and limit <= lo_b) if higher else (hi_b is not None and limit >= hi_b)
        if at_bound:  # e.g. smape <= 200 or a fairness difference <= 1: a rule no value can fail
            items.append(Item(rule, comment=f"{comment}; the limit is the metric's bound, so it can never fail: "
                                            "set your own, then uncomment", before=before, commented=True))
            notes.append(f"{name}{' (' + params['sensitive'] + ')' if params.get('sensitive') else ''}: left out "
                         f"(commented): the limit would be the metric's bound {_shown(limit)} and could never fail")
            continue
        items.append(Item(rule, comment=comment, before=before))
    head = ["", f"The task's metric rules ({settings.task}), measured now on {where}. Limit = the value now "
            f"-/+ {settings.metric_margin:.0%} of it (below for scores, above for errors), rounded outward to two "
            "significant digits (--metric-margin)."
            + (" Measured on the rows init was given: if they are the training rows, the values are optimistic."
               if settings.current is None else "")]
    if all(i.commented for i in items):  # nothing to gate on: the whole block commented, never an empty `metrics:`
        head[-1] += " No rule can be measured on these rows: every rule below is commented out with the reason."
        return Entry("metrics", items, before=head, commented=True), notes
    return Entry("metrics", items, before=head), notes


def _drift(profiles: list[ColumnProfile], settings: DraftSettings, measured: Measured) -> Entry:
    profiles = _capped(profiles)
    driftable = [p.name for p in profiles if p.driftable]
    if measured.model_features is not None:
        features = [f for f in measured.model_features if f in driftable]
        source = "the model's features"
    else:
        features = [p.name for p in profiles if p.driftable and p.role == "feature"]
        source = "every feature column that can be compared"
    left = [p.name for p in profiles if p.role == "feature" and p.name not in features]
    before = ["", f"Feature drift, reference -> current rows: PSI per feature over {source} (< 0.1 stable, 0.1-0.25 "
              "moving, > 0.25 shifted). Integer codes with few values are compared as categories."]
    if left:
        shown = ", ".join(left[:12]) + (f" and {len(left) - 12} more" if len(left) > 12 else "")
        before[-1] += (f" Not compared: {shown} (identifiers, free text, personal data, constants or not model "
                       "features).")
    if not features:
        before[-1] += " No column can be compared."
        return Entry("drift", Flow({}), commented=True, before=before)
    mapping = _drift_mapping(profiles, features, leakage=settings.target is not None)
    entries: list[Entry] = [Entry("on_fail", "warn")]
    comment_psi = ""
    if measured.psi:
        shown_psi = ", ".join(f"{f} {measured.psi[f]:.3f}" for f in features if f in measured.psi)
        comment_psi = f"PSI now: {shown_psi}"
    entries.append(Entry("features", Flow(mapping["features"])))
    if "categorical_features" in mapping:
        entries.append(Entry("categorical_features", Flow(mapping["categorical_features"])))
    entries.append(Entry("numerical", Flow(mapping["numerical"])))
    entries.append(Entry("categorical", Flow(mapping["categorical"])))
    if "leakage" in mapping:
        top = max(measured.leakage.items(), key=lambda kv: kv[1]) if measured.leakage else None
        entries.append(Entry("leakage", Flow(mapping["leakage"]),
                             comment="one feature alone predicting the target this well needs a look"
                             + (f"; highest now {top[0]} {top[1]:.3f}" if top else "")))
    if comment_psi:
        before[-1] += f" {comment_psi}."
    if settings.current is None:
        before[-1] += (" Drift compares the reference rows with new ones, so it needs both: run `gatekit init "
                       f"{settings.data} --current NEW_ROWS.csv ...`, or uncomment this block and set "
                       "inputs.reference to the training rows and inputs.data to the rows gated.")
        return Entry("drift", entries, commented=True, before=before)
    return Entry("drift", entries, before=before)


def _compatibility(profiles: list[ColumnProfile], settings: DraftSettings, measured: Measured) -> Entry | None:
    if settings.model is None:
        return None
    by_name = {p.name: p for p in profiles}
    entries: list[Entry] = [Entry("on_fail", "warn")]
    before = ["", "The model's interface: its features and their types (as the model records them, else as the rows "
              "hold them), and its file format."]
    if measured.model_features:
        expected = {}
        for f in measured.model_features:
            t = measured.model_types.get(f) or (by_name[f].logical if f in by_name else None)
            expected[f] = t or "string"
        entries.append(Entry("feature_signature", [Entry("mode", "strict",
                                                         comment="exactly these features, of these types"),
                                                   Entry("expected", Flow(expected))]))
    if measured.model_format:
        fmt = measured.model_format
        comment = ("detected from the file's content" if fmt in ("skops", "onnx") else
                   "a pickle runs code when loaded: prefer skops or ONNX for what you ship")
        entries.append(Entry("model_format", Flow({"allowed": [fmt]}), comment=comment))
    if len(entries) == 1:
        return None
    return Entry("compatibility", entries, before=before)
