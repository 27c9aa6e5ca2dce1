"""The ``compatibility:`` section: feature-signature compatibility (pandera) and the model's format.

Checks
------
``feature_signature``
    The expected signature (the producer's / production model's: from the policy, a signature file, the
    production model, or by default the evaluation data's columns) against the candidate's (from the
    policy, or read from the candidate artifact: ONNX graph inputs, an MLflow ``MLmodel`` signature,
    scikit-learn ``feature_names_in_`` with types from the evaluation data). ``strict``: the same names
    and logical types. ``backward``: the candidate drops nothing the expected signature has, changes no
    type (integer -> float widening allowed), and every feature it adds has a default.
``data_signature``
    pandera validates the evaluation data against the candidate's signature, lazily (every failure
    collected): each feature present (unless it has a default) and of its logical type.
``model_format``
    The model file's format detected from its content (:func:`gatekit.model.formats.detect_format`) is in
    the allow-list, and its name does not claim another format.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from gatekit.core.results import CheckKey, CheckResult, OnFail, Status
from gatekit.policy.loader import LoadedPolicy
from gatekit.policy.specs import CompatibilitySpec, FeatureSignatureSpec

SECTION = "compatibility"
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


def compare_signatures(expected: Signature, candidate: Signature, mode: str,
                       defaults: dict[str, Any]) -> tuple[list[str], list[str], list[str], list[dict[str, Any]]]:
    """Compare two signatures.

    Parameters
    ----------
    expected : dict of str to logical type or None
        The producer's signature.
    candidate : dict of str to logical type or None
        The candidate's.
    mode : {"strict", "backward"}
        See :class:`~gatekit.policy.specs.FeatureSignatureSpec`.
    defaults : dict
        Defaults of features the candidate adds (``backward``).

    Returns
    -------
    breaking : list of str
        Incompatibilities, each a sentence ("breaking change: new required feature x without default").
    notes : list of str
        Compatible differences (a new feature with a default, a widening, order).
    unverified : list of str
        Features present on both sides whose type one side does not record.
    features : list of dict
        One row per feature (expected ones first, then the candidate's new ones): ``name``, ``expected``,
        ``candidate`` (type or None), ``change`` (``same``, ``removed``, ``new, no default``,
        ``new, default <value>``, ``type changed``, ``widened``, ``type unknown``) and ``breaking``; the
        report's signature table is drawn from it.
    """
    breaking: list[str] = []
    notes: list[str] = []
    unverified: list[str] = []
    rows: dict[str, dict[str, Any]] = {}

    def row(name: str, change: str, is_breaking: bool) -> None:
        rows[name] = {"name": name, "expected": expected.get(name), "candidate": candidate.get(name),
                      "change": change, "breaking": is_breaking}

    for name in expected:
        if name not in candidate:
            breaking.append(f"breaking change: feature {name} removed (the candidate does not take it)")
            row(name, "removed", True)
    for name, typ in candidate.items():
        if name in expected:
            continue
        if mode == "backward" and name in defaults:
            notes.append(f"new feature {name} ({typ or 'type unknown'}) defaults to {defaults[name]!r}")
            row(name, f"new, default {defaults[name]!r}", False)
        elif mode == "backward":
            breaking.append(f"breaking change: new required feature {name} without default")
            row(name, "new, no default", True)
        else:
            breaking.append(f"breaking change: new feature {name} ({typ or 'type unknown'}) not in the expected "
                            "signature (strict)")
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
                notes.append(f"{name}: integer -> {got} (a widening)")
                row(name, "widened", False)
            else:
                breaking.append(f"breaking change: type of {name} changed from {want} to {got}")
                row(name, "type changed", True)
        else:
            row(name, "same", False)
    if mode == "strict" and not breaking and [n for n in candidate if n in expected] != \
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


class CompatibilitySection:
    """Adapter for ``compatibility:``."""

    name = SECTION

    def planned(self, policy: LoadedPolicy) -> list[tuple[str, OnFail]]:
        """Return the checks planned from the policy."""
        spec: CompatibilitySpec | None = policy.policy.compatibility
        if spec is None:
            return []
        out = []
        if spec.feature_signature is not None:
            sev = spec.feature_signature.on_fail or spec.on_fail
            out.append(("feature_signature", sev))
            if spec.feature_signature.validate_data:
                out.append(("data_signature", sev))
        if spec.model_format is not None:
            out.append(("model_format", spec.model_format.on_fail or spec.on_fail))
        return out

    def run(self, ctx: Any) -> list[CheckResult]:
        """Evaluate the feature signature, the data against it and the model's format."""
        spec: CompatibilitySpec | None = ctx.policy.policy.compatibility
        if spec is None:
            return []
        out: list[CheckResult] = []
        if spec.feature_signature is not None:
            out.extend(self._signature(ctx, spec.feature_signature, spec.feature_signature.on_fail or spec.on_fail))
        if spec.model_format is not None:
            out.append(self._format(ctx, spec.model_format.allowed, spec.model_format.on_fail or spec.on_fail))
        return out

    def _expected(self, ctx: Any, fs: FeatureSignatureSpec) -> tuple[Signature, str]:
        base = ctx.policy.base_dir
        if fs.expected is not None:
            return dict(fs.expected), "policy (expected)"
        if fs.expected_file is not None:
            path = (base / fs.expected_file).resolve()
            return read_signature_file(path), f"file {path.name}"
        if fs.expected_model is not None:
            return self._production_model(ctx, (base / fs.expected_model).resolve())
        if ctx.inputs.frame is None:
            raise SignatureUnavailable("no expected signature: give feature_signature.expected, expected_file or "
                                       "expected_model, or evaluation data (its columns are the default)")
        info = ctx.inputs.info
        not_features = {c for c in (info.get("target"), info.get("score"), info.get("prediction"),
                                    *(info.get("sensitive") or [])) if c}
        return frame_types(ctx.inputs.frame, not_features), \
            "evaluation data columns (less target, score, prediction and sensitive columns)"

    def _production_model(self, ctx: Any, path: Path) -> tuple[Signature, str]:
        from gatekit.model.formats import detect_format

        if not path.is_file():
            raise SignatureUnavailable(f"production model not found: {path}")
        raw = path.read_bytes()
        fmt = detect_format(raw)
        model = None
        if fmt.format == "skops":
            from gatekit.model.loading import UntrustedTypes, load_skops

            try:
                model = load_skops(raw, allow_untrusted=False)
            except UntrustedTypes as exc:
                raise SignatureUnavailable(f"{path.name}: the skops file holds types skops does not trust by "
                                           f"default ({exc.types}); give the expected signature as a file "
                                           "instead") from None
            except Exception as exc:  # noqa: BLE001 - an unreadable production model is not a pass
                raise SignatureUnavailable(f"{path.name}: cannot load the skops model: {exc}") from None
        elif fmt.format in ("pickle", "joblib"):
            raise SignatureUnavailable(f"{path.name} is a {fmt.format} file and gatekit never unpickles a production "
                                       "model to read its signature; give expected / expected_file, or save it with "
                                       "skops or ONNX")
        elif fmt.format == "unknown":
            raise SignatureUnavailable(f"{path.name} is not a model file gatekit can read "
                                       f"({fmt.details.get('reason', 'unknown format')})")
        fill = ctx.inputs.reference if ctx.inputs.reference is not None else ctx.inputs.frame
        sig, source = model_signature(raw, fmt, model, path, fill)
        return sig, f"production model {path.name} ({source})"

    def _candidate(self, ctx: Any, fs: FeatureSignatureSpec) -> tuple[Signature, str]:
        inp = ctx.inputs
        if inp.model_path is None:
            if fs.candidate is not None:
                return dict(fs.candidate), "policy (candidate)"
            raise SignatureUnavailable("the candidate's signature is unknown: give a model artifact (inputs.model) "
                                       "or feature_signature.candidate")
        declared = fs.candidate
        try:  # the artifact's own record first; types it lacks come from the declaration, then the data
            sig, source = model_signature(inp.model_bytes, inp.model_format, inp.model, inp.model_path,
                                          None if declared is not None else inp.frame)
        except SignatureUnavailable:
            if declared is None:
                raise
            return dict(declared), "policy (candidate; the model artifact does not name its inputs)"
        if declared is not None:
            # the policy's declaration must describe the artifact being gated, never replace it
            if list(declared) != list(sig):
                raise SignatureUnavailable(f"feature_signature.candidate lists {list(declared)} but the model "
                                           f"{inp.model_path.name} takes {list(sig)}; fix or remove the declaration")
            clash = [f"{n}: {declared[n]} declared, {t} in the artifact" for n, t in sig.items()
                     if t is not None and t != declared[n]]
            if clash:
                raise SignatureUnavailable(f"feature_signature.candidate disagrees with the model "
                                           f"{inp.model_path.name} on types ({'; '.join(clash)})")
            sig = {n: t or declared[n] for n, t in sig.items()}
            source += " (types declared in the policy)"
        return sig, f"candidate model {inp.model_path.name} ({source})"

    def _signature(self, ctx: Any, fs: FeatureSignatureSpec, sev: OnFail) -> list[CheckResult]:
        out: list[CheckResult] = []
        candidate: Signature | None = None
        try:
            candidate, cand_src = self._candidate(ctx, fs)  # kept for the data check if the expected side fails
            expected, exp_src = self._expected(ctx, fs)
        except SignatureUnavailable as exc:
            out.append(CheckResult(name="feature_signature", section=SECTION, status=Status.NOT_COMPUTABLE,
                                   on_fail=sev, message=str(exc), details={"mode": fs.mode}))
        else:
            assert candidate is not None
            breaking, notes, unverified, features = compare_signatures(expected, candidate, fs.mode, fs.defaults)
            details = {"mode": fs.mode, "expected": expected, "expected_source": exp_src, "candidate": candidate,
                       "candidate_source": cand_src, "breaking": breaking, "notes": notes, "unverified": unverified,
                       "defaults": {k: repr(v) for k, v in fs.defaults.items()}, "features": features}
            if breaking:
                status, msg = Status.FAIL, "; ".join(breaking)
            elif unverified:
                status = Status.NOT_COMPUTABLE
                msg = (f"names are compatible ({fs.mode}), but the type of {', '.join(unverified)} is not recorded on "
                       "both sides, so compatibility cannot be confirmed")
            else:
                status = Status.PASS
                msg = f"{fs.mode}: the candidate's {len(candidate)} features are compatible with the expected " \
                      f"{len(expected)}"
                if notes:
                    msg += f" ({'; '.join(notes)})"
            out.append(CheckResult(name="feature_signature", section=SECTION, status=status, on_fail=sev,
                                   observed=float(len(breaking)), op="<=", threshold=0.0,
                                   margin=-float(len(breaking)), message=msg, details=details))
        if fs.validate_data:
            out.append(self._data(ctx, candidate, fs, sev))
        return out

    def _data(self, ctx: Any, candidate: Signature | None, fs: FeatureSignatureSpec, sev: OnFail) -> CheckResult:
        base: CheckKey = dict(name="data_signature", section=SECTION, on_fail=sev)
        if ctx.inputs.frame is None:
            return CheckResult(status=Status.NOT_COMPUTABLE, message="no evaluation data was given", **base)
        if candidate is None:
            return CheckResult(status=Status.NOT_COMPUTABLE, message="the candidate's signature is unknown (see "
                                                                     "feature_signature)", **base)
        failures = validate_frame(ctx.inputs.frame, candidate, fs.defaults)
        details = {"validator": "pandera", "failures": failures[:20], "failure_count": len(failures)}
        if not failures:
            return CheckResult(status=Status.PASS, observed=0.0, op="<=", threshold=0.0, margin=0.0,
                               message=f"the evaluation data has every feature the candidate takes "
                                       f"({len(candidate)}), each of its type", details=details, **base)
        parts = []
        for f in failures[:5]:
            parts.append(f"column {f['column']!r} missing" if f["failure"] == "missing" else
                         f"column {f['column']!r}: {f['check']} ({f['failure']})")
        more = f" and {len(failures) - 5} more" if len(failures) > 5 else ""
        return CheckResult(status=Status.FAIL, observed=float(len(failures)), op="<=", threshold=0.0,
                           margin=-float(len(failures)),
                           message=f"the evaluation data does not match the candidate's signature: "
                                   f"{'; '.join(parts)}{more}", details=details, **base)

    def _format(self, ctx: Any, allowed: list[str], sev: OnFail) -> CheckResult:
        from gatekit.model.formats import extension_conflict

        base: CheckKey = dict(name="model_format", section=SECTION, on_fail=sev)
        fmt, path = ctx.inputs.model_format, ctx.inputs.model_path
        if fmt is None or path is None:
            return CheckResult(status=Status.NOT_COMPUTABLE, message="no model artifact was given (inputs.model / "
                                                                     "--model)", details={"allowed": allowed}, **base)
        names = sorted(fmt.names())
        conflict = extension_conflict(path, fmt)
        shown = fmt.format + (f" (pickle protocol {fmt.protocol})" if fmt.protocol is not None else "")
        details = {"detected": fmt.format, "protocol": fmt.protocol, "satisfies": names, "allowed": allowed,
                   "file": path.name, "format_details": json.loads(json.dumps(fmt.details, default=str))}
        if conflict:
            return CheckResult(status=Status.FAIL, message=f"{conflict}; allowed: {', '.join(allowed)}",
                               details={**details, "extension_conflict": conflict}, **base)
        if set(names) & set(allowed):
            return CheckResult(status=Status.PASS, message=f"{path.name} is {shown}; allowed: {', '.join(allowed)}",
                               details=details, **base)
        return CheckResult(status=Status.FAIL, message=f"{path.name} is {shown}, which the policy does not allow "
                                                       f"(allowed: {', '.join(allowed)})", details=details, **base)
