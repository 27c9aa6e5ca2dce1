"""The ``security:`` section: personal data in data, outputs and metadata; licences of runtime packages."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from gatekit.core.errors import InputError
from gatekit.core.results import CheckKey, CheckResult, OnFail, Status
from gatekit.policy.loader import LoadedPolicy
from gatekit.sections.base import RunContext

SECTION = "security"


class SecuritySection:
    """Checks ``pii.data``, ``pii.outputs``, ``pii.metadata`` and ``license_compliance``.

    PII checks report how many values hold each kind of personal data and where (column or field),
    never the values. Fail closed: a place that cannot be scanned (no data, no outputs, an unreadable
    metadata file) is not computable; a licence that cannot be read is not allowed unless the policy
    says ``allow_unknown``.
    """

    name = "security"

    def planned(self, policy: LoadedPolicy) -> list[tuple[str, OnFail]]:
        """One check per place scanned, and one for licences."""
        spec = policy.policy.security
        if spec is None:
            return []
        out = [(f"pii.{where}", spec.on_fail) for where in (spec.pii.scan if spec.pii else [])]
        if spec.licenses is not None:
            out.append(("license_compliance", spec.on_fail))
        return out

    def run(self, ctx: RunContext) -> list[CheckResult]:
        """Scan and check."""
        spec = ctx.policy.policy.security
        if spec is None:
            return []
        out: list[CheckResult] = []
        if spec.pii is not None:
            from gatekit.validators.pii import Scanner

            scanner = Scanner(spec.pii.kinds, spec.pii.national_ids)
            for where in spec.pii.scan:
                out.append(getattr(self, f"_pii_{where}")(ctx, spec.pii, scanner, spec.on_fail))
        if spec.licenses is not None:
            out.append(self._licenses(ctx, spec.licenses, spec.on_fail))
        return out

    @staticmethod
    def _result(name: str, sev: OnFail, found: dict[str, Any], scanned: str, limit: int,
                details: dict[str, Any]) -> CheckResult:
        n = sum(sum(v.values()) if isinstance(v, dict) else 1 for v in found.values())
        kinds: dict[str, int] = {}
        for v in found.values():
            for k in (v if isinstance(v, dict) else {kk: 1 for kk in v}):
                kinds[k] = kinds.get(k, 0) + (v[k] if isinstance(v, dict) else 1)
        where = ", ".join(f"{place} ({', '.join(f'{k} {c}' if isinstance(c, int) else k for k, c in v.items())})"
                          if isinstance(v, dict) else f"{place} ({', '.join(v)})" for place, v in found.items())
        msg = (f"no personal data found in {scanned}" if not n else
               f"{n} value(s) with personal data in {scanned}: {where}; the values are not shown")
        return CheckResult(name=name, section=SECTION, on_fail=sev,
                           status=Status.PASS if n <= limit else Status.FAIL, observed=float(n), op="<=",
                           threshold=float(limit), margin=float(limit - n), message=msg,
                           details={**details, "findings": found, "by_kind": kinds})

    def _pii_data(self, ctx: RunContext, spec: Any, scanner: Any, sev: OnFail) -> CheckResult:
        from gatekit.validators.pii import scan_frame

        frame = ctx.inputs.frame
        if frame is None:
            return CheckResult(name="pii.data", section=SECTION, on_fail=sev, status=Status.NOT_COMPUTABLE,
                               message="no evaluation data was given to scan (inputs.data / --data)")
        missing = [c for c in (spec.columns or []) if c not in frame.columns]
        if missing:
            return CheckResult(name="pii.data", section=SECTION, on_fail=sev, status=Status.FAIL,
                               message=f"columns to scan are missing from the data: {missing}")
        if len(frame) == 0:
            return CheckResult(name="pii.data", section=SECTION, on_fail=sev, status=Status.NOT_COMPUTABLE,
                               message="the evaluation data has no rows to scan")
        found = scan_frame(frame, scanner, spec.columns)
        return self._result("pii.data", sev, found, f"the evaluation data ({len(frame):,} rows)", spec.max_values,
                            {"columns_scanned": len(spec.columns or frame.columns)})

    def _pii_outputs(self, ctx: RunContext, spec: Any, scanner: Any, sev: OnFail) -> CheckResult:
        import pandas as pd

        from gatekit.validators.pii import scan_frame

        info = ctx.inputs.info
        frame = ctx.inputs.frame
        cols = [c for c in (info.get("score"), info.get("prediction")) if c and frame is not None
                and c in frame.columns]
        outputs: dict[str, Any] = {c: frame[c] for c in cols} if frame is not None else {}
        data = ctx.inputs.eval_data
        if data is not None and data.y_score is not None and not cols:
            outputs["model_output"] = pd.Series(data.y_score)
        if not outputs:
            return CheckResult(name="pii.outputs", section=SECTION, on_fail=sev, status=Status.NOT_COMPUTABLE,
                               message="no model outputs to scan (a score or prediction column, or a model that "
                                       "scored the data)")
        found = scan_frame(pd.DataFrame(outputs), scanner)
        n = sum(len(v) for v in outputs.values())
        return self._result("pii.outputs", sev, found, f"the model's outputs ({n:,} values)", spec.max_values,
                            {"outputs_scanned": list(outputs)})

    def _pii_metadata(self, ctx: RunContext, spec: Any, scanner: Any, sev: OnFail) -> CheckResult:
        from gatekit.sections.artifact import read_metadata
        from gatekit.validators.pii import scan_mapping

        base = ctx.policy.base_dir
        paths = [base / p for p in spec.metadata_files]
        art = ctx.policy.policy.artifact
        if art is not None and art.metadata is not None:
            paths.insert(0, base / art.metadata.file)
        docs: dict[str, Any] = {}
        for p in paths:
            try:
                docs[Path(p).name] = read_metadata(Path(p).resolve())
            except ValueError as exc:
                return CheckResult(name="pii.metadata", section=SECTION, on_fail=sev, status=Status.NOT_COMPUTABLE,
                                   message=f"cannot scan the metadata: {exc}")
        fmt = ctx.inputs.model_format
        if fmt is not None and fmt.format == "onnx" and ctx.inputs.model_bytes is not None:
            import onnx

            m = onnx.load_model_from_string(ctx.inputs.model_bytes)
            docs["onnx metadata"] = {"doc_string": m.doc_string, "producer": m.producer_name,
                                     **{p.key: p.value for p in m.metadata_props}}
        if not docs:
            return CheckResult(name="pii.metadata", section=SECTION, on_fail=sev, status=Status.NOT_COMPUTABLE,
                               message="no metadata to scan: give artifact.metadata.file, security.pii.metadata_files "
                                       "or an ONNX model")
        found = {f"{doc}: {path}": kinds for doc, content in docs.items()
                 for path, kinds in scan_mapping(content, scanner).items()}
        return self._result("pii.metadata", sev, found, f"the model's metadata ({', '.join(docs)})", spec.max_values,
                            {"documents": list(docs)})

    @staticmethod
    def _licenses(ctx: RunContext, spec: Any, sev: OnFail) -> CheckResult:
        from gatekit.validators.licenses import check, requirement_names

        base: CheckKey = dict(name="license_compliance", section=SECTION, on_fail=sev)
        names = None
        source = "the packages installed where gatekit runs"
        if spec.requirements is not None:
            path = (ctx.policy.base_dir / spec.requirements).resolve()
            try:
                names = requirement_names(path)
            except InputError as exc:
                return CheckResult(status=Status.ERROR, message=str(exc), **base)
            source = f"{path.name} ({len(names)} packages)"
        records = check(names, spec.allow, spec.deny, spec.allow_unknown)
        # installing or upgrading one of these packages changes the decision: the reproducibility hash
        # covers their versions (None: not installed)
        ctx.info.setdefault("reproducibility_packages", {}).update({r["package"]: r["version"] for r in records})
        bad = [r for r in records if r["status"] != "allowed"]
        shown = "; ".join(f"{r['package']} ({r['license'] or r['source']}: {r['status'].replace('_', ' ')})"
                          for r in bad[:10])
        more = f" and {len(bad) - 10} more" if len(bad) > 10 else ""
        msg = (f"all {len(records)} packages of {source} have allowed licences" if not bad else
               f"{len(bad)} of {len(records)} packages of {source} are not allowed: {shown}{more}")
        return CheckResult(status=Status.PASS if not bad else Status.FAIL, observed=float(len(bad)), op="<=",
                           threshold=0.0, margin=-float(len(bad)), message=msg,
                           details={"packages": records, "allow": spec.allow, "deny": spec.deny,
                                    "allow_unknown": spec.allow_unknown, "source": source}, **base)
