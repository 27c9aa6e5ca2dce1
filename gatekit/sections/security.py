"""The ``security:`` section: personal data in data, outputs and metadata; licences of runtime packages.

On an engine (``--engine duckdb``: the rows are an ibis table) the PII scan reads every row, never all at
once: each column's distinct values with their counts are streamed from the engine in record batches
(:data:`PII_BATCH_ROWS` at a time) and each distinct value is scanned once, as in memory, so the counts are
the same as on the same rows in pandas. Integer columns are first narrowed by the engine to the values that
can hold a card or national id at all (at least 8 digits); nothing else is left out.
"""

from __future__ import annotations

import functools
from collections import Counter
from pathlib import Path
from typing import Any

from gatekit.core.errors import InputError
from gatekit.core.results import CheckKey, CheckResult, OnFail, Status
from gatekit.policy.loader import LoadedPolicy
from gatekit.sections.base import RunContext

SECTION = "security"
PII_BATCH_ROWS = 100_000
"""Distinct values per record batch streamed from an engine for the PII scan."""


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
        if frame is None and ctx.inputs.table is not None:
            return self._pii_data_table(ctx, spec, scanner, sev)
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

    def _pii_data_table(self, ctx: RunContext, spec: Any, scanner: Any, sev: OnFail) -> CheckResult:
        """``pii.data`` on an engine's table: every row, streamed as distinct values with counts."""
        table = ctx.inputs.table
        missing = [c for c in (spec.columns or []) if c not in table.columns]
        if missing:
            return CheckResult(name="pii.data", section=SECTION, on_fail=sev, status=Status.FAIL,
                               message=f"columns to scan are missing from the data: {missing}")
        try:
            rows = int(table.count().execute())
            if rows == 0:
                return CheckResult(name="pii.data", section=SECTION, on_fail=sev, status=Status.NOT_COMPUTABLE,
                                   message="the evaluation data has no rows to scan")
            found, cols = scan_table(table, scanner, spec.columns)
        except Exception as exc:  # noqa: BLE001 - a scan the engine cannot run is not a pass
            return CheckResult(name="pii.data", section=SECTION, on_fail=sev, status=Status.NOT_COMPUTABLE,
                               message=f"the {ctx.inputs.engine} engine could not stream the values to scan: "
                                       f"{type(exc).__name__}: {exc}")
        return self._result("pii.data", sev, found, f"the evaluation data ({rows:,} rows)", spec.max_values,
                            {"columns_scanned": len(cols), "engine": ctx.inputs.engine,
                             "scan": "every row: each column's distinct values with their counts, streamed"})

    def _pii_outputs(self, ctx: RunContext, spec: Any, scanner: Any, sev: OnFail) -> CheckResult:
        import pandas as pd

        from gatekit.validators.pii import scan_counts, scan_frame

        info = ctx.inputs.info
        frame = ctx.inputs.frame
        table = ctx.inputs.table if frame is None else None
        cols = [c for c in (info.get("score"), info.get("prediction")) if c and (
            (frame is not None and c in frame.columns) or (table is not None and c in table.columns))]
        data = ctx.inputs.eval_data
        if table is not None and cols:  # the output columns of an engine's table: streamed, as pii.data
            try:
                found, _ = scan_table(table, scanner, cols)
                n = int(table.count().execute()) * len(cols)
            except Exception as exc:  # noqa: BLE001 - not a pass
                return CheckResult(name="pii.outputs", section=SECTION, on_fail=sev, status=Status.NOT_COMPUTABLE,
                                   message=f"the {ctx.inputs.engine} engine could not stream the outputs to scan: "
                                           f"{type(exc).__name__}: {exc}")
            return self._result("pii.outputs", sev, found, f"the model's outputs ({n:,} values)", spec.max_values,
                                {"outputs_scanned": cols, "engine": ctx.inputs.engine})
        if data is not None and data.weights is not None and data.y_score is not None and not cols:
            # compact rows (an engine's): each distinct score stands for weights' rows
            import numpy as np

            values, inverse = np.unique(data.y_score, return_inverse=True)
            counts = np.bincount(inverse.reshape(-1), weights=data.weights).astype(np.int64)
            found = scan_counts("model_output", 0, zip(values.tolist(), counts.tolist(), strict=True), scanner)
            return self._result("pii.outputs", sev, found, f"the model's outputs ({int(counts.sum()):,} values)",
                                spec.max_values, {"outputs_scanned": ["model_output"]})
        outputs: dict[str, Any] = {c: frame[c] for c in cols} if frame is not None else {}
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
        elif fmt is not None and fmt.format == "onnx" and callable(getattr(ctx.inputs.model, "metadata", None)):
            docs["onnx metadata"] = ctx.inputs.model.metadata()  # a session given as an object: onnxruntime's view
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


def scan_table(table: Any, scanner: Any, columns: list[str] | None = None) -> tuple[dict[str, dict[str, int]],
                                                                                    list[str]]:
    """Count, per column of an ibis table, the values holding each kind of personal data.

    :func:`gatekit.validators.pii.scan_frame` on an engine, with the same result on the same rows. Per
    column one query streams its distinct non-null values with their counts (``group_by`` / ``count``)
    in record batches of :data:`PII_BATCH_ROWS`; each distinct value is scanned once
    (:func:`gatekit.validators.pii.scan_counts`). Columns scanned by default: all but boolean and timestamp
    ones (they cannot hold the kinds), as in memory. An integer column is narrowed by the engine to values of
    at least 8 digits (``|x| >= 10**7``) when national ids other than ``us.ssn`` are looked for, else 13
    (``|x| >= 10**12``, the shortest card) when cards are, else it cannot hold any kind: shorter integers
    hold none of them (e-mail needs ``@``, phone ``+``, IBAN letters, ``us.ssn`` dashes). Float and text
    columns are not narrowed. NaN is missing, as in pandas.

    Parameters
    ----------
    table : ibis.Table
        The rows.
    scanner : gatekit.validators.pii.Scanner
        What to look for.
    columns : list of str, optional
        Columns to scan (default as above).

    Returns
    -------
    findings : dict
        ``{column: {kind: count}}`` as :func:`gatekit.validators.pii.scan_frame` returns it.
    columns : list of str
        The columns scanned.
    """
    import ibis

    from gatekit.data.engine import is_spark, iter_batches, map_batches
    from gatekit.validators.pii import scan_counts

    schema = table.schema()
    cols = list(columns) if columns is not None else [
        c for c in table.columns if not (schema[c].is_boolean() or schema[c].is_timestamp())]
    min_digits = None
    if "national_id" in scanner.kinds and any(name != "us.ssn" for name, _ in scanner.national_id_modules):
        min_digits = 8
    elif "card" in scanner.kinds:
        min_digits = 13
    out: dict[str, dict[str, int]] = {}
    for pos, c in enumerate(cols):
        col = table[c]
        dtype = schema[c]
        rows = table.filter(col.notnull())
        if dtype.is_floating():
            rows = rows.filter(~col.isnan())
        if dtype.is_integer() and min_digits is not None:
            rows = rows.filter(col.cast("float64").abs() >= 10.0 ** (min_digits - 1))
        counts = rows.group_by(value=col).aggregate(n=ibis._.count())

        skip = dtype.is_integer() and min_digits is None  # an integer holds none of the kinds: only its name
        if is_spark(table):  # the executors scan the distinct values; only the counts per kind come back
            counted: Counter[str] = Counter()
            if not skip:
                for part in map_batches(counts, ["value", "n"], functools.partial(_scan_batch, scanner=scanner),
                                        PII_BATCH_ROWS):
                    counted.update(part)
            out.update(scan_counts(c, pos, [], scanner, counted=dict(counted)))
            continue

        def pairs(expr: Any = counts, skip: bool = skip) -> Any:
            if skip:
                return
            for batch in iter_batches(expr, ["value", "n"], PII_BATCH_ROWS):
                yield from zip(batch["value"].tolist(), batch["n"].tolist(), strict=True)

        out.update(scan_counts(c, pos, pairs(), scanner))
    return out, cols


def _scan_batch(frame: Any, scanner: Any) -> dict[str, int]:
    """Rows per kind of personal data in one batch of (value, count) pairs (runs on a Spark executor)."""
    from gatekit.validators.pii import scan_counts

    got = scan_counts("", 0, zip(frame["value"].tolist(), frame["n"].tolist(), strict=True), scanner)
    return dict(got.get("", {}))
