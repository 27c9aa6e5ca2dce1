"""The ``compatibility:`` section: feature-signature compatibility (pandera) and the model's format.

Checks
------
``feature_signature``
    The expected signature (the producer's / production model's: from the policy, a signature file, the
    production model, or by default the evaluation data's columns) against the candidate's (from the
    policy, or read from the candidate artifact: ONNX graph inputs, an MLflow ``MLmodel`` signature,
    scikit-learn ``feature_names_in_``). ``strict``: the same names and logical types. ``backward``: the
    candidate drops nothing the expected signature has, changes no type (integer -> float widening
    allowed), and every feature it adds has a default. By default (no expected signature given) the
    candidate's features are compared with the evaluation data's columns: a feature the model takes that
    the data lacks, or of another type, is a change; a data column the model does not take is not part of
    its signature (an informational note only), whatever its role (target, score, prediction, sensitive).
    Every message says which side has what.

    A model that records no input types (scikit-learn keeps names only; a production model given as
    ``expected_model`` too) has none: its types are never taken from data. Against an expected signature,
    such a feature's expected type is compared with what the evaluation data holds, and said to be the
    data's (a different type leaves it unverified: ``not_computable``); against the evaluation data's
    columns (the default) it is compared by name only, and the message says its type was not compared.
``data_signature``
    pandera validates the evaluation data against the candidate's signature, lazily (every failure
    collected): each feature present (unless it has a default) and of its logical type.
``model_format``
    The model file's format detected from its content (:func:`gatekit.model.formats.detect_format`) is in
    the allow-list, and its name does not claim another format. A model given as a Python object has no
    file: its kind (``sklearn``, ``onnx`` for an onnxruntime session, ``python-object``) is what the
    allow-list must hold.

On an engine (``--engine duckdb``: the rows are an ibis table) the data's columns and types come from the
table's schema and one aggregate query (:func:`gatekit.sections.signatures.describe_table`), and
``data_signature`` computes pandera's checks as counts (:func:`gatekit.sections.signatures.validate_table`):
the same results as on the same rows in memory, without pulling them.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from gatekit.core.results import CheckKey, CheckResult, OnFail, Status
from gatekit.policy.loader import LoadedPolicy
from gatekit.policy.specs import CompatibilitySpec, FeatureSignatureSpec
from gatekit.sections.signatures import (
    Signature,
    SignatureUnavailable,
    compare_signatures,
    frame_types,
    model_signature,
    read_signature_file,
    validate_frame,
    validate_table,
)

SECTION = "compatibility"
DATA_SOURCE = "evaluation data columns (those the candidate does not take are not part of its signature)"


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
        data = _rows(ctx.inputs)
        if data is None:
            raise SignatureUnavailable("no expected signature: give feature_signature.expected, expected_file or "
                                       "expected_model, or evaluation data (its columns are the default)")
        # every column: which of them the model takes is the model's business (the target, score, prediction
        # or --sensitive role of a column does not change the check), and columns it does not take are not
        # part of its signature (compare_signatures(..., against="data"))
        return frame_types(data, categorical=frozenset(ctx.inputs.categorical.get("data", ()))), DATA_SOURCE

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
        sig, source = model_signature(raw, fmt, model, path)  # types it does not record stay unknown
        return sig, f"production model {path.name} ({source})"

    def _candidate(self, ctx: Any, fs: FeatureSignatureSpec) -> tuple[Signature, str]:
        inp = ctx.inputs
        is_object = inp.model_format is not None and inp.model_format.is_object and inp.model is not None
        if inp.model_path is None and not is_object:
            if fs.candidate is not None:
                return dict(fs.candidate), "policy (candidate)"
            raise SignatureUnavailable("the candidate's signature is unknown: give a model artifact (inputs.model) "
                                       "or feature_signature.candidate")
        declared = fs.candidate
        name = _model_name(inp)
        try:  # the artifact's own record first; types it lacks come from the declaration, never from the data
            sig, source = model_signature(inp.model_bytes, inp.model_format, inp.model, inp.model_path,
                                          names=getattr(inp.runner, "features", None)
                                          or (inp.info.get("model") or {}).get("features"))
        except SignatureUnavailable:
            if declared is None:
                raise
            return dict(declared), "policy (candidate; the model artifact does not name its inputs)"
        if declared is not None:
            # the policy's declaration must describe the artifact being gated, never replace it
            if list(declared) != list(sig):
                raise SignatureUnavailable(f"feature_signature.candidate lists {list(declared)} but the model "
                                           f"{name} takes {list(sig)}; fix or remove the declaration")
            clash = [f"{n}: {declared[n]} declared, {t} in the artifact" for n, t in sig.items()
                     if t is not None and t != declared[n]]
            if clash:
                raise SignatureUnavailable(f"feature_signature.candidate disagrees with the model "
                                           f"{name} on types ({'; '.join(clash)})")
            sig = {n: t or declared[n] for n, t in sig.items()}
            source = source.replace(" (types not recorded)", "").replace(" (some types not recorded)", "")
            source += " (types declared in the policy)"
        return sig, f"candidate model {name} ({source})"

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
            against = "data" if exp_src == DATA_SOURCE else "signature"
            # types the candidate does not record are compared with what the evaluation data holds, as the data's
            data = _rows(ctx.inputs) if against == "signature" and None in candidate.values() else None
            data_types = (frame_types(data, categorical=frozenset(ctx.inputs.categorical.get("data", ())))
                          if data is not None else None)
            breaking, notes, unverified, features = compare_signatures(expected, candidate, fs.mode, fs.defaults,
                                                                       against, data_types)
            not_recorded = [n for n, t in candidate.items() if t is None]
            details = {"mode": fs.mode, "expected": expected, "expected_source": exp_src, "candidate": candidate,
                       "candidate_source": cand_src, "breaking": breaking, "notes": notes, "unverified": unverified,
                       "types_not_recorded_by_candidate": not_recorded,
                       "defaults": {k: repr(v) for k, v in fs.defaults.items()}, "features": features}
            if breaking:
                status, msg = Status.FAIL, "; ".join(breaking)
            elif unverified:
                status = Status.NOT_COMPUTABLE
                msg = (f"names are compatible ({fs.mode}), but the type of {', '.join(unverified)} is not recorded on "
                       "both sides, so compatibility cannot be confirmed")
                if notes:
                    msg += f" ({'; '.join(notes)})"
            else:
                status = Status.PASS
                msg = f"{fs.mode}: the candidate's {len(candidate)} features are compatible with " + (
                    "the evaluation data's columns" if against == "data" else f"the expected {len(expected)}")
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
        data = _rows(ctx.inputs)
        if data is None:
            return CheckResult(status=Status.NOT_COMPUTABLE, message="no evaluation data was given", **base)
        if candidate is None:
            return CheckResult(status=Status.NOT_COMPUTABLE, message="the candidate's signature is unknown (see "
                                                                     "feature_signature)", **base)
        if ctx.inputs.frame is None:
            try:
                failures = validate_table(data, candidate, fs.defaults,
                                          frozenset(ctx.inputs.categorical.get("data", ())))
            except Exception as exc:  # noqa: BLE001 - an engine that cannot count: not computable, never a pass
                return CheckResult(status=Status.NOT_COMPUTABLE, message=f"the {ctx.inputs.engine} engine could not "
                                   f"count the data's types: {type(exc).__name__}: {exc}", **base)
            validator = (f"pandera's checks computed as counts on the {ctx.inputs.engine} engine "
                         "(gatekit.sections.signatures.validate_table)")
        else:
            failures = validate_frame(ctx.inputs.frame, candidate, fs.defaults)
            validator = "pandera"
        untyped = [n for n, t in candidate.items() if t is None]
        details = {"validator": validator, "failures": failures[:20], "failure_count": len(failures),
                   "types_not_checked": untyped}
        if not failures:
            if not untyped:
                what = ", each of its type"
            elif len(untyped) == len(candidate):
                what = "; their types are not checked: the candidate records none (scikit-learn keeps names only)"
            else:
                shown = ", ".join(untyped[:10]) + (f" and {len(untyped) - 10} more" if len(untyped) > 10 else "")
                what = f", each of its type except {shown}, whose type the candidate does not record (not checked)"
            return CheckResult(status=Status.PASS, observed=0.0, op="<=", threshold=0.0, margin=0.0,
                               message=f"the evaluation data has every feature the candidate takes "
                                       f"({len(candidate)}){what}", details=details, **base)
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
        if fmt is not None and fmt.is_object:
            return self._object_format(ctx, fmt, allowed, base)
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

    @staticmethod
    def _object_format(ctx: Any, fmt: Any, allowed: list[str], base: CheckKey) -> CheckResult:
        """Check the kind of a model given as a Python object (``sklearn``, ``onnx``, ``python-object``).

        There is no file, so no content to detect and no name to conflict with it.
        """
        from gatekit.model.loading import NOT_A_FILE

        record = ctx.inputs.info.get("model_object") or {}
        cls = record.get("class") or fmt.details.get("class")
        details = {"detected": fmt.format, "protocol": None, "satisfies": [fmt.format], "allowed": allowed,
                   "file": None, "given_as": "python object", "class": cls, "reason": NOT_A_FILE}
        if fmt.format in allowed:
            return CheckResult(status=Status.PASS, message=f"{NOT_A_FILE}: a {fmt.format} object ({cls}); allowed: "
                                                           f"{', '.join(allowed)}", details=details, **base)
        hint = {"sklearn": "allow sklearn, or save the model with skops and give the file",
                "onnx": "allow onnx", "python-object": "allow python-object, or give a model file"}[fmt.format] \
            if fmt.format in ("sklearn", "onnx", "python-object") else "give a model file"
        return CheckResult(status=Status.FAIL, message=f"{NOT_A_FILE}: a {fmt.format} object ({cls}), which the "
                                                       f"policy does not allow (allowed: {', '.join(allowed)}); {hint}",
                           details=details, **base)


def _rows(inputs: Any, reference: bool = False) -> Any:
    """Return the evaluation (or reference) rows: a pandas DataFrame, else the engine's ibis table, else None."""
    frame = inputs.reference if reference else inputs.frame
    if frame is not None:
        return frame
    return getattr(inputs, "reference_table" if reference else "table", None)


def _model_name(inputs: Any) -> str:
    """Name the candidate model for messages: its file name, or the class of a model given as an object."""
    if inputs.model_path is not None:
        return str(inputs.model_path.name)
    record = inputs.info.get("model_object") or {}
    return f"object {record.get('class') or type(inputs.model).__name__}"
