"""The ``artifact:`` section: the model file's hash, its signature, and its metadata (model card).

A model given as a Python object (``gatekit.run(policy, model=fitted)``) has no file: the sha256 and
signature rules, which are about the file's bytes, are not computable for it (never a pass), with the
reason :data:`gatekit.model.loading.NOT_A_FILE`; the model card rules read the card file and run as usual.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from gatekit.core.results import CheckKey, CheckResult, OnFail, Status
from gatekit.policy.loader import LoadedPolicy
from gatekit.sections.base import RunContext

SECTION = "artifact"
MAX_CARD_BYTES = 1_000_000


class ArtifactSection:
    """Checks ``model_sha256``, ``model_signature``, ``metadata.required_fields`` and ``metadata.version``.

    Fail closed: no model artifact, a missing or unverifiable signature, a missing or unreadable
    metadata file, and a version that does not parse are never a pass.
    """

    name = "artifact"

    def planned(self, policy: LoadedPolicy) -> list[tuple[str, OnFail]]:
        """One check per configured rule."""
        spec = policy.policy.artifact
        if spec is None:
            return []
        out = []
        if spec.sha256 is not None:
            out.append(("model_sha256", spec.on_fail))
        if spec.signature is not None:
            out.append(("model_signature", spec.on_fail if spec.signature.required else OnFail.WARN))
        if spec.metadata is not None:
            out.append(("metadata.required_fields", spec.on_fail))
            if spec.metadata.greater_than_production:
                out.append(("metadata.version", spec.on_fail))
        return out

    def run(self, ctx: RunContext) -> list[CheckResult]:
        """Evaluate the configured rules."""
        spec = ctx.policy.policy.artifact
        if spec is None:
            return []
        model = ctx.inputs.files.get("model")
        obj = ctx.inputs.info.get("model_object") if model is None else None
        out: list[CheckResult] = []
        if spec.sha256 is not None:
            out.append(self._not_a_file("model_sha256", obj, spec.on_fail, {"expected": spec.sha256.lower()})
                       if obj is not None else self._sha256(spec.sha256.lower(), model, spec.on_fail))
        if spec.signature is not None:
            sev = spec.on_fail if spec.signature.required else OnFail.WARN
            out.append(self._not_a_file("model_signature", obj, sev, {"verified": False})
                       if obj is not None else self._signature(model, sev))
        if spec.metadata is not None:
            out.extend(self._metadata(ctx, spec.metadata, spec.on_fail))
        return out

    @staticmethod
    def _not_a_file(name: str, obj: dict[str, Any], sev: OnFail, details: dict[str, Any]) -> CheckResult:
        """Report a rule on the model file's bytes as not computable for a model given as a Python object."""
        from gatekit.model.loading import NOT_A_FILE

        what = "its sha256" if name == "model_sha256" else "its signature"
        content = (f"; its content hash ({obj.get('content_sha256')}) is gatekit's own, not a file's sha256"
                   if obj.get("content_sha256") else "")
        return CheckResult(name=name, section=SECTION, on_fail=sev, status=Status.NOT_COMPUTABLE,
                           message=f"{NOT_A_FILE} ({obj.get('class')}), so {what} cannot be checked{content}; gate "
                                   "the saved artifact (inputs.model: a skops or ONNX file) to check it",
                           details={**details, "reason": NOT_A_FILE, "model_object": dict(obj)})

    @staticmethod
    def _sha256(expected: str, model: dict[str, Any] | None, sev: OnFail) -> CheckResult:
        base: CheckKey = dict(name="model_sha256", section=SECTION, on_fail=sev)
        details: dict[str, Any] = {"expected": expected}
        if model is None:
            return CheckResult(status=Status.NOT_COMPUTABLE, message="no model artifact was given (inputs.model / "
                               "--model)", details=details, **base)
        details.update({"actual": model["sha256"], "file": model["path"]})
        if model["sha256"] == expected:
            return CheckResult(status=Status.PASS, message=f"sha256 of {Path(model['path']).name} matches",
                               details=details, **base)
        return CheckResult(status=Status.FAIL, message=f"sha256 of {Path(model['path']).name} is {model['sha256']}, "
                           f"not the expected {expected}: this is not the artifact the policy names", details=details,
                           **base)

    @staticmethod
    def _signature(model: dict[str, Any] | None, sev: OnFail) -> CheckResult:
        base: CheckKey = dict(name="model_signature", section=SECTION, on_fail=sev)
        if model is None:
            return CheckResult(status=Status.NOT_COMPUTABLE, message="no model artifact was given to verify", **base)
        sig = model.get("signature") or {"verified": False, "reason": "the signature was not checked"}
        status = Status.PASS if sig["verified"] is True else Status.FAIL
        return CheckResult(status=status, message=f"{Path(model['path']).name}: {sig['reason']}", details=dict(sig),
                           **base)

    @staticmethod
    def _metadata(ctx: RunContext, spec: Any, sev: OnFail) -> list[CheckResult]:
        path = (ctx.policy.base_dir / spec.file).resolve()
        fields_check: CheckKey = dict(name="metadata.required_fields", section=SECTION, on_fail=sev)
        out: list[CheckResult] = []
        try:
            card = read_metadata(path)
        except ValueError as exc:
            out.append(CheckResult(status=Status.FAIL, message=str(exc), details={"file": str(path)}, **fields_check))
            if spec.greater_than_production:
                out.append(CheckResult(name="metadata.version", section=SECTION, on_fail=sev,
                                       status=Status.NOT_COMPUTABLE, message=f"no metadata: {exc}"))
            return out
        missing = [f for f in spec.required_fields if _empty(_get(card, f))]
        details = {"file": str(path), "required": spec.required_fields, "missing": missing,
                   "present": [f for f in spec.required_fields if f not in missing]}
        msg = (f"{path.name} has all {len(spec.required_fields)} required fields" if not missing else
               f"{path.name} lacks {len(missing)} required field(s): {', '.join(missing)}")
        out.append(CheckResult(status=Status.PASS if not missing else Status.FAIL, observed=float(len(missing)),
                               op="<=", threshold=0.0, margin=-float(len(missing)), message=msg, details=details,
                               **fields_check))
        if spec.greater_than_production:
            out.append(_version_check(ctx, spec, card, sev))
        return out


def read_metadata(path: Path) -> dict[str, Any]:
    """Read a model card / metadata file (YAML or JSON, which YAML reads too) as a mapping.

    Raises
    ------
    ValueError
        Missing file, a YAML error (with its line), or a top level that is not a mapping.
    """
    import yaml

    class NoAliases(yaml.SafeLoader):
        """Safe loading without aliases: ``*name`` could expand a 400-byte card into billions of values."""

        def compose_node(self, parent: Any, index: Any) -> Any:
            if self.check_event(yaml.AliasEvent):
                raise yaml.YAMLError("aliases (*name) are not allowed in a model card; write the values out")
            return super().compose_node(parent, index)

    if not path.is_file():
        raise ValueError(f"the metadata file {path} does not exist")
    if path.stat().st_size > MAX_CARD_BYTES:
        raise ValueError(f"{path}: {path.stat().st_size:,} bytes; a model card is a small YAML / JSON file "
                         f"(limit {MAX_CARD_BYTES:,} bytes)")
    loader = None
    try:
        loader = NoAliases(path.read_text(encoding="utf-8-sig"))
        data = loader.get_single_data()
    except yaml.YAMLError as exc:
        raise ValueError(f"{path}: not valid YAML/JSON: {exc}") from None
    except UnicodeDecodeError:
        raise ValueError(f"{path}: not UTF-8 text") from None
    except RecursionError:
        raise ValueError(f"{path}: nested too deeply") from None
    finally:
        if loader is not None:
            loader.dispose()
    if not isinstance(data, dict):
        raise ValueError(f"{path}: expected a mapping of fields, not {type(data).__name__}")
    return data


def _get(card: dict[str, Any], dotted: str) -> Any:
    cur: Any = card
    for part in dotted.split("."):
        if not isinstance(cur, dict) or part not in cur:
            return None
        cur = cur[part]
    return cur


def _empty(v: Any) -> bool:
    return v is None or (isinstance(v, (str, list, dict)) and not (v.strip() if isinstance(v, str) else v))


def _version_check(ctx: RunContext, spec: Any, card: dict[str, Any], sev: OnFail) -> CheckResult:
    """Check that the candidate's version is greater than production's (PEP 440 ordering)."""
    from packaging.version import InvalidVersion, Version

    base: CheckKey = dict(name="metadata.version", section=SECTION, on_fail=sev)
    raw = _get(card, spec.version_field)
    if _empty(raw):
        return CheckResult(status=Status.FAIL, message=f"the metadata has no {spec.version_field!r}", **base)
    if not isinstance(raw, str):
        return CheckResult(status=Status.FAIL, message=f"{spec.version_field} must be text: YAML read {raw!r} as a "
                           f"{type(raw).__name__} (1.10 becomes 1.1); quote it: {spec.version_field}: '...'", **base)
    try:
        cand = Version(raw)
    except (InvalidVersion, ValueError):
        return CheckResult(status=Status.FAIL, message=f"{spec.version_field} {raw[:40]!r} is not a version (X.Y.Z)",
                           **base)
    prod_raw: Any = spec.production_version
    source = "production_version"
    if prod_raw is None:
        ppath = (ctx.policy.base_dir / spec.production_file).resolve()
        try:
            prod_raw = _get(read_metadata(ppath), spec.version_field)
        except ValueError as exc:
            return CheckResult(status=Status.NOT_COMPUTABLE, message=f"production metadata: {exc}", **base)
        source = str(ppath)
    if not isinstance(prod_raw, str):
        return CheckResult(status=Status.NOT_COMPUTABLE, message=f"production {spec.version_field} must be text, not "
                           f"the {type(prod_raw).__name__} {prod_raw!r} (quote it in the card)", **base)
    try:
        prod = Version(prod_raw)
    except (InvalidVersion, ValueError):
        return CheckResult(status=Status.NOT_COMPUTABLE,
                           message=f"production version {prod_raw[:40]!r} is not a version", **base)
    details = {"candidate": str(cand), "production": str(prod), "production_source": source,
               "ordering": "PEP 440 (packaging.version)"}
    if cand > prod:
        return CheckResult(status=Status.PASS, message=f"version {cand} > production {prod}", details=details, **base)
    return CheckResult(status=Status.FAIL, message=f"version {cand} is not greater than production {prod}: bump "
                       "the version for a new model", details=details, **base)
