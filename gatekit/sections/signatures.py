"""Feature signatures: read from a file, derived from a model or a frame, compared, and validated by pandera.

A signature is an ordered mapping of column name to logical type (:mod:`gatekit.data.logical_types`).
:func:`compare_signatures` lists the breaking changes between an expected signature and the candidate's, each
message saying which side has what; :func:`validate_frame` checks a frame against a signature with pandera.
The ``compatibility:`` section (:mod:`gatekit.sections.compatibility`) decides on them.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

Signature = dict[str, "str | None"]  # feature name -> logical type (None: unknown)


class SignatureUnavailable(Exception):
    """A signature cannot be determined (the check is not computable)."""


def frame_types(frame: Any, exclude: set[str] | None = None) -> Signature:
    """Return each column's logical type as stored (:func:`gatekit.data.logical_types.describe_column`).

    A float column with missing values whose other values are all whole numbers is ``integer``: that is
    how CSV readers hold an integer column with gaps (an integer column without gaps would be int64).

    Parameters
    ----------
    frame : pandas.DataFrame
        The data.
    exclude : set of str, optional
        Columns left out (the target, score and sensitive columns are not model features).
    """
    from gatekit.data.logical_types import LOGICAL_TYPES, describe_column

    out: Signature = {}
    for c in frame.columns:
        if exclude and str(c) in exclude:
            continue
        desc = describe_column(frame[c])
        logical = desc["logical"]
        if logical == "float" and desc.get("integral") and desc["non_null"] < len(frame):
            logical = "integer"
        out[str(c)] = logical if logical in LOGICAL_TYPES else None
    return out


def read_signature_file(path: Path) -> Signature:
    """Read a signature file (JSON / YAML ``{name: type}`` or ``{"features": [...]}``, or an MLflow ``MLmodel``).

    Raises
    ------
    SignatureUnavailable
        Missing, unreadable or malformed file, or an unknown type name (the message names the file).
    """
    from gatekit.data.logical_types import normalize_type
    from gatekit.model.formats import mlflow_signature

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
    import yaml

    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise SignatureUnavailable(f"{path}: cannot read the signature file: {exc}") from None
    if isinstance(data, dict) and isinstance(data.get("features"), list):
        data = {f.get("name"): f.get("type") for f in data["features"] if isinstance(f, dict)}
    if not isinstance(data, dict) or not data:
        raise SignatureUnavailable(f"{path}: expected a mapping of feature name to type")
    out: Signature = {}
    for name, typ in data.items():
        try:
            out[str(name)] = normalize_type(typ) if typ is not None else None
        except ValueError as exc:
            raise SignatureUnavailable(f"{path}: feature {name!r}: {exc}") from None
    return out


def model_signature(raw: bytes | None, fmt: Any, model: Any, path: Path | None,
                    fill_types_from: Any = None) -> tuple[Signature, str]:
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
    fill_types_from : pandas.DataFrame, optional
        Frame whose column types stand in for types the artifact does not record (scikit-learn).

    Returns
    -------
    signature : dict of str to str or None
    source : str
        Where it came from, for the report.

    Raises
    ------
    SignatureUnavailable
        The artifact names no inputs.
    """
    from gatekit.model.formats import mlflow_signature, onnx_signature, sklearn_signature

    own = None  # what the artifact itself says: ONNX graph inputs or scikit-learn feature_names_in_
    if fmt is not None and fmt.format == "onnx" and raw is not None:
        own = onnx_signature(raw)
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
                f"{[f.name for f in mlmodel.features]} but the artifact takes {[f.name for f in sig.features]}")
        else:  # same names: the MLmodel adds the types scikit-learn does not record
            types = {f.name: f.type for f in mlmodel.features}
            sig = type(sig)(source=f"{sig.source} + mlflow", features=[
                type(f)(f.name, f.type or types.get(f.name), f.required) for f in sig.features],
                tensor_inputs=sig.tensor_inputs, notes=sig.notes)
    if sig is None:
        sig = own
    if sig is None or sig.features is None:
        notes = "; ".join(sig.notes) if sig is not None and sig.notes else "no model artifact was given"
        raise SignatureUnavailable(f"the model does not name its input features ({notes})")
    out: Signature = {f.name: f.type for f in sig.features}
    source = sig.source
    if fill_types_from is not None and any(t is None for t in out.values()):
        known = frame_types(fill_types_from)
        out = {n: (t if t is not None else known.get(n)) for n, t in out.items()}
        source += " (types from the data)"
    return out, source


def compare_signatures(expected: Signature, candidate: Signature, mode: str, defaults: dict[str, Any],
                       against: str = "signature") -> tuple[list[str], list[str], list[str], list[dict[str, Any]]]:
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
        the order of the data's columns is not compared.

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
        feature)``) and ``breaking``; the report's signature table is drawn from it.
    """
    if against not in ("signature", "data"):
        raise ValueError(f"against must be 'signature' or 'data', not {against!r}")
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
        shown = ", ".join(data_only[:10]) + (f" and {len(data_only) - 10} more" if len(data_only) > 10 else "")
        notes.append(f"the evaluation data has {len(data_only)} column(s) the candidate does not take, not part "
                     f"of its signature: {shown}")
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
    for name, want in expected.items():
        got = candidate.get(name, "absent")
        if got == "absent":
            continue
        if want is None or got is None:
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
    if mode == "strict" and not on_data and not breaking and [n for n in candidate if n in expected] != \
            [n for n in expected if n in candidate]:
        notes.append("same features in a different order (models that take named columns are not affected)")
    order = list(expected) + [n for n in candidate if n not in expected]
    return breaking, notes, unverified, [rows[n] for n in order]


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
