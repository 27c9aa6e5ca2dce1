"""Feature signatures: read from a file, derived from a model or a frame, compared, and validated by pandera.

A signature is an ordered mapping of column name to logical type (:mod:`gatekit.data.logical_types`).
:func:`compare_signatures` lists the breaking changes between an expected signature and the candidate's, each
message saying which side has what; :func:`validate_frame` checks a frame against a signature with pandera.
The ``compatibility:`` section (:mod:`gatekit.sections.compatibility`) decides on them.

Rows in an engine (an ibis table on DuckDB, ``--engine duckdb``) are never pulled: :func:`describe_table`
describes every column from the table's schema and one aggregate query (non-null counts, and whether a
float column's values are all whole numbers), in the form :func:`gatekit.data.logical_types.describe_column`
gives for a pandas column, so :func:`frame_types` and :func:`validate_table` apply the same rules
(:func:`gatekit.data.logical_types.type_matches`) and give the same results as on the same rows in memory.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from gatekit.data.engine import is_inf

Signature = dict[str, "str | None"]  # feature name -> logical type (None: unknown)


class SignatureUnavailable(Exception):
    """A signature cannot be determined (the check is not computable)."""


def frame_types(frame: Any, exclude: set[str] | None = None,
                categorical: frozenset[str] = frozenset()) -> Signature:
    """Return each column's logical type as stored (:func:`gatekit.data.logical_types.describe_column`).

    A float column with missing values whose other values are all whole numbers is ``integer``: that is
    how CSV readers hold an integer column with gaps (an integer column without gaps would be int64).

    Parameters
    ----------
    frame : pandas.DataFrame or ibis.Table
        The data; an ibis table is described by :func:`describe_table` (one aggregate query).
    exclude : set of str, optional
        Columns left out (the target, score and sensitive columns are not model features).
    categorical : frozenset of str
        For an ibis table: the columns the input held as categories (``RunInputs.categorical``).
    """
    from gatekit.data.logical_types import LOGICAL_TYPES, describe_column

    out: Signature = {}
    if is_table(frame):
        cols = [str(c) for c in frame.columns if not (exclude and str(c) in exclude)]
        descs, rows = describe_table(frame, cols, integral=True, categorical=categorical)
    else:
        cols = [c for c in frame.columns if not (exclude and str(c) in exclude)]
        descs, rows = {str(c): describe_column(frame[c]) for c in cols}, len(frame)
    for c in cols:
        desc = descs[str(c)]
        logical = desc["logical"]
        if logical == "float" and desc.get("integral") and desc["non_null"] < rows:
            logical = "integer"
        out[str(c)] = logical if logical in LOGICAL_TYPES else None
    return out


def is_table(obj: Any) -> bool:
    """Return True for an ibis table (rows in an engine), False for a pandas DataFrame."""
    return type(obj).__module__.startswith("ibis.") and callable(getattr(obj, "schema", None))


def _ibis_logical(dtype: Any) -> str:
    """Return the logical type of an ibis column type.

    As :func:`gatekit.data.logical_types.describe_column` names the pandas column holding the same values,
    and as the data-quality section names the engine's columns: boolean; integer; float (floating, and a
    decimal with a scale; a decimal of scale 0 is integer); string; datetime (timestamp, and date: a day
    without a zone); ``empty`` for DuckDB's null type (a column of missing values only); else ``other``.
    """
    if dtype.is_boolean():
        return "boolean"
    if dtype.is_integer():
        return "integer"
    if dtype.is_floating():
        return "float"
    if dtype.is_decimal():
        return "integer" if getattr(dtype, "scale", None) == 0 else "float"
    if dtype.is_string():
        return "string"
    if dtype.is_timestamp() or dtype.is_date():
        return "datetime"
    if dtype.is_null():
        return "empty"
    return "other"


def describe_table(table: Any, columns: list[str], integral: bool | list[str] = False,
                   categorical: frozenset[str] = frozenset()) -> tuple[dict[str, dict[str, Any]], int]:
    """Describe columns of an ibis table as :func:`gatekit.data.logical_types.describe_column` describes pandas ones.

    One aggregate query: the row count, each column's non-null count (a float's NaN counts as missing, as in
    pandas), and for float columns asked for, the count of values that are not whole numbers (``x % 1 <> 0``,
    NaN and infinities included, as numpy's ``x % 1 == 0`` is false for them). The logical type comes from the
    schema (:func:`_ibis_logical`); ``dtype`` is the pandas dtype the column converts to (ibis' mapping:
    strings ``object``, ``int64``, ``float64``, ``datetime64[ns, UTC]``), as the pandas path reports it.
    A string or float column whose values are all missing has ``non_null`` 0, so :func:`type_matches` says
    its type cannot be told, as on the pandas column.

    Parameters
    ----------
    table : ibis.Table
        The data (never pulled; only the aggregate's one row is).
    columns : list of str
        Columns to describe (each in the table).
    integral : bool or list of str
        Float columns whose ``integral`` flag is computed: all (True), none (False), or those listed.
    categorical : frozenset of str
        Columns the input held as categories (``RunInputs.categorical``): described as pandas describes a
        ``category`` column (DuckDB reads them as text).

    Returns
    -------
    descriptions : dict of str to dict
        ``dtype``, ``logical``, ``non_null``, ``tz``, ``integral``, ``categories_logical`` per column.
    rows : int
        The table's row count.
    """
    import ibis

    schema = table.schema()
    aggs: dict[str, Any] = {"__rows": table.count()}
    for i, c in enumerate(columns):
        col, dtype = table[c], schema[c]
        valid = col.notnull() & ~col.isnan() if dtype.is_floating() else col.notnull()
        aggs[f"n{i}"] = valid.cast("int64").sum()
        if (dtype.is_floating() or (dtype.is_decimal() and getattr(dtype, "scale", None) != 0)) and (
                integral is True or (isinstance(integral, list) and c in integral)):
            frac = ibis.ifelse(is_inf(col), ibis.literal(1.0), col % 1) if dtype.is_floating() else col % 1
            aggs[f"f{i}"] = (valid & (frac != 0)).cast("int64").sum()
    row = table.aggregate(**aggs).to_pyarrow().to_pylist()[0]
    rows = int(row["__rows"] or 0)
    out: dict[str, dict[str, Any]] = {}
    for i, c in enumerate(columns):
        dtype = schema[c]
        try:
            pandas_dtype = str(dtype.copy(nullable=True).to_pandas())
        except Exception:  # noqa: BLE001 - a type ibis has no pandas dtype for: its own name
            pandas_dtype = str(dtype.copy(nullable=True))
        non_null = int(row[f"n{i}"] or 0)
        desc: dict[str, Any] = {"dtype": pandas_dtype, "logical": _ibis_logical(dtype), "non_null": non_null,
                                "tz": None, "integral": None, "categories_logical": None}
        if dtype.is_timestamp():
            desc["tz"] = dtype.timezone
        if f"f{i}" in row:
            desc["integral"] = bool(non_null) and not row[f"f{i}"]
        if desc["logical"] == "string" and not non_null:
            desc["logical"], desc["inferred"] = "empty", "empty"  # pandas: an object column of missing values
        if c in categorical:  # held as categories (a pandas category, an Arrow dictionary): as pandas says
            desc.update({"dtype": "category", "categories_logical": desc["logical"], "logical": "category",
                         "integral": None})
        out[c] = desc
    return out, rows


def read_signature_file(path: Path) -> Signature:
    """Read a signature file (JSON / YAML ``{name: type}`` or ``{"features": [...]}``, or an MLflow ``MLmodel``).

    The file is read with the bounds a policy file has (:func:`gatekit.model.formats.read_small_yaml`: size,
    YAML aliases measured and never expanded past a limit, depth), and a value shown in a message is clipped.

    Raises
    ------
    SignatureUnavailable
        Missing, unreadable, oversized or malformed file (an alias bomb included), a feature name that is not
        text, or an unknown type name (the message names the file).
    """
    from gatekit.data.logical_types import normalize_type
    from gatekit.model.formats import mlflow_signature, read_small_yaml, short

    if not path.is_file():
        raise SignatureUnavailable(f"signature file not found: {path}")
    if path.name == "MLmodel":
        try:
            sig = mlflow_signature(path.parent)
        except ValueError as exc:
            raise SignatureUnavailable(str(exc)) from None
        if sig is None or sig.features is None:
            raise SignatureUnavailable(f"{path}: the MLmodel file has no column-based input signature")
        return {f.name: f.type for f in sig.features}
    try:
        data = read_small_yaml(path, "signature file")
    except ValueError as exc:
        raise SignatureUnavailable(f"cannot read the signature file: {exc}") from None
    if isinstance(data, dict) and isinstance(data.get("features"), list):
        items = [(f.get("name"), f.get("type")) for f in data["features"] if isinstance(f, dict)]
    elif isinstance(data, dict):
        items = list(data.items())
    else:
        items = []
    if not items:
        raise SignatureUnavailable(f"{path}: expected a mapping of feature name to type")
    out: Signature = {}
    for name, typ in items:
        if not isinstance(name, (str, int)) or isinstance(name, bool):
            raise SignatureUnavailable(f"{path}: a feature name must be text, not {short(name)}")
        try:
            out[str(name)] = normalize_type(typ) if typ is not None else None
        except ValueError as exc:
            raise SignatureUnavailable(f"{path}: feature {short(str(name))!r}: {exc}") from None
    return out


def _named_matrix(own: Any, names: list[str]) -> tuple[Signature, str] | None:
    """Return the signature of a graph with one ``[N, n]`` tensor input whose columns ``names`` lists in order.

    skl2onnx's ``to_onnx(model, X)`` makes one such input; every column then has the tensor's element type.

    Raises
    ------
    SignatureUnavailable
        ``names`` does not have the tensor's width.
    """
    tensors = own.tensor_inputs or []
    if len(tensors) != 1 or tensors[0].get("shape") is None or len(tensors[0]["shape"]) != 2:
        return None
    t = tensors[0]
    width = t["shape"][1]
    if width is not None and width != len(names):
        raise SignatureUnavailable(f"the model's input {t['name']!r} takes {width} columns but inputs.features "
                                   f"lists {len(names)}; list exactly its columns, in order")
    return ({str(n): t["type"] for n in names},
            f"{own.source} (one input {t['name']!r} of {len(names)} columns, named by inputs.features)")


def model_signature(raw: bytes | None, fmt: Any, model: Any, path: Path | None,
                    names: list[str] | None = None) -> tuple[Signature, str]:
    """Read a model artifact's input signature.

    Parameters
    ----------
    raw : bytes or None
        The artifact's bytes (ONNX).
    fmt : FormatInfo or None
        The detected format (:func:`gatekit.model.formats.detect_format`).
    model : object or None
        The loaded model (scikit-learn).
    path : pathlib.Path or None
        The artifact's path (an ``MLmodel`` beside it is read first: it records types).
    names : list of str, optional
        The columns the model is run on (``inputs.features``): they name the columns of an ONNX graph with one
        ``[N, n]`` tensor input, which records no names.

    Returns
    -------
    signature : dict of str to str or None
        A type the artifact does not record (scikit-learn keeps names only) is None: it is never taken from
        data, whose types are the data's, not the model's.
    source : str
        Where it came from, for the report (``... (types not recorded)`` when some are None).

    Raises
    ------
    SignatureUnavailable
        The artifact names no inputs.
    """
    from gatekit.model.formats import mlflow_signature, onnx_signature, short, sklearn_signature

    own = None  # what the artifact itself says: ONNX graph inputs or scikit-learn feature_names_in_
    if fmt is not None and fmt.format == "onnx" and raw is not None:
        own = onnx_signature(raw)
    elif model is not None and callable(getattr(model, "input_signature", None)):
        own = model.input_signature()  # an ONNX session given as an object: its inputs as onnxruntime lists them
    elif model is not None:
        own = sklearn_signature(model)
    sig = own if own is not None and own.features is not None else None
    mlmodel = None
    if path is not None:
        try:
            mlmodel = mlflow_signature(path)
        except ValueError as exc:
            raise SignatureUnavailable(str(exc)) from None
    if mlmodel is not None and mlmodel.features is not None:
        if sig is None or sig.features is None:  # a sig set above has features; the test is for the type checker
            sig = mlmodel
        elif [f.name for f in sig.features] != [f.name for f in mlmodel.features]:
            # an MLmodel file beside the artifact must describe it, not another model
            raise SignatureUnavailable(
                f"the MLmodel beside {path.name if path else 'the model'} lists inputs "
                f"{short([f.name for f in mlmodel.features], 300)} but the artifact takes "
                f"{short([f.name for f in sig.features], 300)}")
        else:  # same names: the MLmodel adds the types scikit-learn does not record
            types = {f.name: f.type for f in mlmodel.features}
            sig = type(sig)(source=f"{sig.source} + mlflow", features=[
                type(f)(f.name, f.type or types.get(f.name), f.required) for f in sig.features],
                tensor_inputs=sig.tensor_inputs, notes=sig.notes)
    if sig is None:
        sig = own
    if (sig is None or sig.features is None) and own is not None and names:
        named = _named_matrix(own, names)  # ONNX as exported in the wild: one [N, n] tensor, columns named by us
        if named is not None:
            return named
    if sig is None or sig.features is None:
        notes = "; ".join(sig.notes) if sig is not None and sig.notes else "no model artifact was given"
        hint = ("; list its columns in order in inputs.features (or --features)" if own is not None and
                len(own.tensor_inputs or []) == 1 and not names else "")
        raise SignatureUnavailable(f"the model does not name its input features ({notes}){hint}")
    out: Signature = {f.name: f.type for f in sig.features}
    source = sig.source
    if any(t is None for t in out.values()):
        source += " (types not recorded)" if all(t is None for t in out.values()) else " (some types not recorded)"
    return out, source


def compare_signatures(expected: Signature, candidate: Signature, mode: str, defaults: dict[str, Any],
                       against: str = "signature", data_types: Signature | None = None) -> tuple[
        list[str], list[str], list[str], list[dict[str, Any]]]:
    """Compare the candidate model's signature with the expected one (or with the evaluation data's columns).

    Every message says which side has what: the expected signature (``against="signature"``) or the
    evaluation data (``against="data"``) on one side, the candidate model on the other.

    Parameters
    ----------
    expected : dict of str to logical type or None
        The producer's signature (``against="signature"``), or the evaluation data's columns and their
        stored types (``against="data"``).
    candidate : dict of str to logical type or None
        The candidate model's signature: the features it takes.
    mode : {"strict", "backward"}
        See :class:`~gatekit.policy.specs.FeatureSignatureSpec`.
    defaults : dict
        Defaults of features the candidate takes that the other side lacks (``backward``).
    against : {"signature", "data"}, default "signature"
        What ``expected`` is. ``"data"``: data columns the candidate does not take are not part of its
        signature, so they are never a change (only an informational note and a ``data only`` row), and
        the order of the data's columns is not compared. A feature whose type the candidate does not record
        (scikit-learn keeps names only) is compared by name only: its row is ``names only (type not
        recorded)`` and a note says its type was not compared (the data's type is never the candidate's).
    data_types : dict of str to logical type or None, optional
        The evaluation data's stored types (:func:`frame_types`), with ``against="signature"`` only: for a
        feature whose type the candidate does not record, the expected type is compared with what the
        evaluation data holds, and reported as the data's, never as the candidate's. The same type: row
        ``same in the evaluation data``, a note saying so; another type, or none in the data: the type is
        unverified and a note says what the data holds.

    Returns
    -------
    breaking : list of str
        Incompatibilities, each a sentence naming the sides ("breaking change: new required feature x
        without default: the candidate takes it, the expected signature does not have it").
    notes : list of str
        Compatible differences (a new feature with a default, a widening, order, data columns the model
        does not take).
    unverified : list of str
        Features present on both sides whose type one side does not record.
    features : list of dict
        One row per feature (expected ones first, then the candidate's new ones): ``name``, ``expected``,
        ``candidate`` (type or None), ``change`` (``same``, ``removed``, ``new, no default``,
        ``new, default <value>``, ``type changed``, ``widened``, ``type unknown``, ``data only (not a
        feature)``, ``names only (type not recorded)``, ``same in the evaluation data``) and ``breaking``
        (and ``data``: the evaluation data's type, where it stood in for a type the candidate does not
        record); the report's signature table is drawn from it.
    """
    if against not in ("signature", "data"):
        raise ValueError(f"against must be 'signature' or 'data', not {against!r}")
    if against == "data":
        data_types = None  # the expected side is the data: its types can never stand in for the candidate's
    on_data = against == "data"
    other = "the evaluation data" if on_data else "the expected signature"
    breaking: list[str] = []
    notes: list[str] = []
    unverified: list[str] = []
    rows: dict[str, dict[str, Any]] = {}

    def row(name: str, change: str, is_breaking: bool) -> None:
        rows[name] = {"name": name, "expected": expected.get(name), "candidate": candidate.get(name),
                      "change": change, "breaking": is_breaking}

    data_only: list[str] = []
    for name in expected:
        if name in candidate:
            continue
        if on_data:  # a column the model does not take is not part of its signature
            data_only.append(name)
            row(name, "data only (not a feature)", False)
        else:
            breaking.append(f"breaking change: feature {name} removed: the expected signature has it, the "
                            "candidate does not take it")
            row(name, "removed", True)
    if data_only:
        notes.append(f"the evaluation data has {len(data_only)} column(s) the candidate does not take, not part "
                     f"of its signature: {_shown(data_only)}")
    for name, typ in candidate.items():
        if name in expected:
            continue
        has = f"the candidate takes it, {other} does not have it"
        if mode == "backward" and name in defaults:
            notes.append(f"new feature {name} ({typ or 'type unknown'}) defaults to {defaults[name]!r} ({has})")
            row(name, f"new, default {defaults[name]!r}", False)
        elif mode == "backward":
            breaking.append(f"breaking change: new required feature {name} without default: {has}")
            row(name, "new, no default", True)
        else:
            breaking.append(f"breaking change: new feature {name} ({typ or 'type unknown'}): {has} (strict)")
            row(name, "new, default " + repr(defaults[name]) if name in defaults else "new, no default", True)
    names_only: list[str] = []
    held_same: list[str] = []
    for name, want in expected.items():
        got = candidate.get(name, "absent")
        if got == "absent":
            continue
        held = data_types.get(name) if data_types is not None else None
        if got is None and on_data:  # the data's own type is on the other side: nothing to compare it with
            names_only.append(name)
            row(name, "names only (type not recorded)", False)
        elif got is None and want is not None and data_types is not None:
            if held == want:
                held_same.append(name)
                row(name, "same in the evaluation data", False)
            else:
                unverified.append(name)
                what = (f"the evaluation data holds {held}" if held is not None else "the evaluation data's type "
                        "of it cannot be told" if name in data_types else "the evaluation data does not have it")
                notes.append(f"{name}: the candidate does not record its type; the expected signature has {want}, "
                             f"{what}")
                row(name, "type unknown", False)
            rows[name]["data"] = held
        elif want is None or got is None:
            unverified.append(name)
            row(name, "type unknown", False)
        elif want != got:
            if mode == "backward" and want == "integer" and got in ("float", "number"):
                notes.append(f"{name}: integer -> {got} (a widening: {other} has integer, the candidate takes "
                             f"{got})")
                row(name, "widened", False)
            else:
                breaking.append(f"breaking change: type of {name} changed from {want} to {got}: {other} has "
                                f"{want}, the candidate takes {got}")
                row(name, "type changed", True)
        else:
            row(name, "same", False)
    if names_only:
        notes.append(f"names only for {_shown(names_only)}: the candidate does not record input types (scikit-learn "
                     "keeps names only), so the evaluation data's types are not compared with it")
    if held_same:
        notes.append(f"the candidate does not record the type of {_shown(held_same)}: the evaluation data holds "
                     "the expected type (compared with the data, not with the candidate)")
    if mode == "strict" and not on_data and not breaking and [n for n in candidate if n in expected] != \
            [n for n in expected if n in candidate]:
        notes.append("same features in a different order (models that take named columns are not affected)")
    order = list(expected) + [n for n in candidate if n not in expected]
    return breaking, notes, unverified, [rows[n] for n in order]


def _shown(names: list[str], limit: int = 10) -> str:
    """Return up to ``limit`` names, comma-separated, and how many more there are."""
    return ", ".join(names[:limit]) + (f" and {len(names) - limit} more" if len(names) > limit else "")


def validate_frame(frame: Any, signature: Signature, defaults: dict[str, Any]) -> list[dict[str, Any]]:
    """Validate a frame against a signature with pandera (lazy: every failure collected).

    Parameters
    ----------
    frame : pandas.DataFrame
        The data, any shape.
    signature : dict of str to logical type or None
        Features and their logical types (None: presence only).
    defaults : dict
        Features with a default need not be present.

    Returns
    -------
    list of dict
        One ``{"column", "check", "failure"}`` per failure (empty when the frame conforms).
    """
    import pandera.pandas as pa
    from pandera.errors import SchemaErrors

    from gatekit.data.logical_types import describe_column, type_matches

    def logical(expected: str) -> Any:
        def check(series: Any) -> bool:
            ok, _ = type_matches(describe_column(series), expected)
            return ok is True

        return pa.Check(check, element_wise=False, name=f"logical_type_{expected}",
                        error=f"logical_type_{expected}")

    columns = {name: pa.Column(None, checks=[logical(t)] if t else [], required=name not in defaults,
                               nullable=True)
               for name, t in signature.items()}
    schema = pa.DataFrameSchema(columns, strict=False)
    try:
        schema.validate(frame, lazy=True)
    except SchemaErrors as exc:
        out = []
        for row in exc.failure_cases.head(1000).to_dict("records"):
            col = row.get("column")
            failure = row.get("failure_case")
            if row.get("check") == "column_in_dataframe":
                col, failure = failure, "missing"
            elif "logical_type_" in str(row.get("check", "")):  # pandera reports the check's error text
                failure = describe_column(frame[col])["dtype"] if col in frame.columns else failure
                row["check"] = f"not {str(row['check']).split('logical_type_', 1)[1].split()[0]}"
            out.append({"column": None if col is None else str(col), "check": str(row.get("check")),
                        "failure": None if failure is None else str(failure)})
        return out
    return []


def validate_table(table: Any, signature: Signature, defaults: dict[str, Any],
                   categorical: frozenset[str] = frozenset()) -> list[dict[str, Any]]:
    """Validate an ibis table against a signature: :func:`validate_frame`'s checks, computed as counts.

    pandera's pandas backend needs the rows in memory and its ibis backend reports no counts, so on an
    engine the same two checks are computed from the schema and one aggregate query
    (:func:`describe_table`), never pulling the rows: each feature without a default is present, and each
    typed feature holds its logical type (:func:`gatekit.data.logical_types.type_matches`: a column whose
    values are all missing fails, as in :func:`validate_frame`). The failures are listed as pandera lists
    them on the same rows in memory: missing columns first, then type failures, each in signature order.

    Parameters
    ----------
    table : ibis.Table
        The data.
    signature : dict of str to logical type or None
        Features and their logical types (None: presence only).
    defaults : dict
        Features with a default need not be present.
    categorical : frozenset of str
        Columns the input held as categories (:func:`describe_table`).

    Returns
    -------
    list of dict
        One ``{"column", "check", "failure"}`` per failure (empty when the table conforms); a type failure's
        ``failure`` is the column's pandas dtype (:func:`describe_table`).
    """
    from gatekit.data.logical_types import type_matches

    present = set(map(str, table.columns))
    out = [{"column": name, "check": "column_in_dataframe", "failure": "missing"}
           for name in signature if name not in present and name not in defaults]
    typed = [name for name, t in signature.items() if t and name in present]
    if typed:
        ints = [n for n in typed if signature[n] == "integer"]  # only there does a float's integrality matter
        descs, _ = describe_table(table, typed, integral=ints, categorical=categorical)
        for name in typed:
            expected = signature[name]
            assert expected is not None
            ok, _ = type_matches(descs[name], expected)
            if ok is not True:
                out.append({"column": name, "check": f"not {expected}", "failure": descs[name]["dtype"]})
    return out
