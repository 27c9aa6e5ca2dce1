"""The ``robustness:`` section: noise sensitivity and out-of-range inputs, probed by running the model.

On in-memory data the probes run on the evaluation rows (noise: all of them; out-of-range: ``rows`` of them).
When the rows are in an engine (``--engine duckdb``) they run on a documented, seeded sample
(:func:`gatekit.data.engine.sample_frame`): noise on :data:`NOISE_SAMPLE_ROWS` rows, out-of-range on
``out_of_range.rows`` rows, each with the rule's ``seed``; the sample is named in every check's details
and message. What does not need the rows one by one comes from the engine over all rows: each feature's
standard deviation (the noise scale) and training range (min / max), from the reference table when it has
the features, as in memory.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from gatekit.core.results import CheckResult, OnFail, Status
from gatekit.policy.loader import LoadedPolicy
from gatekit.sections.base import RunContext

SECTION = "robustness"
NOISE_SAMPLE_ROWS = 50_000
"""Rows of the seeded sample the noise probe scores ``repeats + 1`` times on an engine (the clean metric and
flip rate are those of the sample; a sample of 50,000 rows puts an AUC within about 0.005 of the full data's)."""


class RobustnessSection:
    """Checks ``noise.metric_drop``, ``noise.flip_rate`` and ``out_of_range.<case>``.

    Fail closed: without a model that can run on the data every check is not computable; a probe on
    which the model raised, or returned non-finite or out-of-range scores, fails its case.
    """

    name = "robustness"

    def planned(self, policy: LoadedPolicy) -> list[tuple[str, OnFail]]:
        """One check per configured rule and case."""
        spec = policy.policy.robustness
        if spec is None:
            return []
        out = []
        if spec.noise is not None:
            if spec.noise.max_metric_drop is not None:
                out.append(("noise.metric_drop", spec.on_fail))
            if spec.noise.max_flip_rate is not None:
                out.append(("noise.flip_rate", spec.on_fail))
        out += [(f"out_of_range.{c}", spec.on_fail) for c in (spec.out_of_range.cases if spec.out_of_range else [])]
        return out

    def run(self, ctx: RunContext) -> list[CheckResult]:
        """Run the probes."""
        spec = ctx.policy.policy.robustness
        if spec is None:
            return []
        runner = ctx.inputs.runner
        if runner is None or (ctx.inputs.frame is None and ctx.inputs.table is None):
            why = ctx.inputs.runner_error or "no model artifact that gatekit can run on the evaluation data " \
                                            "(inputs.model with inputs.data)"
            return [CheckResult(name=n, section=SECTION, on_fail=sev, status=Status.NOT_COMPUTABLE,
                                message=f"not probed: {why}") for n, sev in self.planned(ctx.policy)]
        out: list[CheckResult] = []
        if spec.noise is not None:
            out.extend(self._noise(ctx, spec.noise, spec.on_fail))
        if spec.out_of_range is not None:
            out.extend(self._oor(ctx, spec.out_of_range, spec.on_fail))
        return out

    @staticmethod
    def _noise(ctx: RunContext, spec: Any, sev: OnFail) -> list[CheckResult]:
        from gatekit.model.perturbation import noise

        runner = ctx.inputs.runner
        data = ctx.inputs.eval_data
        name = spec.metric or ("auc_roc" if runner.task == "classification" else "rmse")
        metric = ctx.registry.resolve(name)
        wanted = []
        if spec.max_metric_drop is not None:
            wanted.append(("noise.metric_drop", spec.max_metric_drop))
        if spec.max_flip_rate is not None:
            wanted.append(("noise.flip_rate", spec.max_flip_rate))
        has_target = data is not None and data.y_true is not None
        sample: dict[str, Any] | None = None
        try:
            if ctx.inputs.frame is None:  # an engine's table: a seeded sample, the scales over all rows
                frame, data, sample, (stds, sources, why) = _noise_sample(ctx, spec, data)
                has_target = data is not None and data.y_true is not None
                res = noise(runner, frame, None, spec.scale, spec.repeats, spec.seed,
                            metric if has_target else None, data, data.decision_threshold if data else 0.5, stds,
                            sources, why)
            else:
                res = noise(runner, ctx.inputs.frame, ctx.inputs.reference, spec.scale, spec.repeats, spec.seed,
                            metric if has_target else None, data, data.decision_threshold if data else 0.5)
        except Exception as exc:  # noqa: BLE001 - the model failing under noise is a finding, reported per rule
            return [CheckResult(name=n, section=SECTION, on_fail=sev, status=Status.ERROR,
                                message=f"the noisy scoring failed: {type(exc).__name__}: {exc}") for n, _ in wanted]
        setup = (f"Gaussian noise at {spec.scale:g} x std on {len(res['numeric_features'])} numeric features, "
                 f"{spec.repeats} repeats, seed {spec.seed}")
        if res.get("std_note"):
            setup += f"; {res['std_note']}"
        if sample is not None:
            setup += (f"; on a seeded sample of {sample['rows']:,} of the {sample['of_rows']:,} rows (seed "
                      f"{sample['seed']}, {sample['engine']}), stds over all rows")
        details = {k: v for k, v in res.items()}
        if sample is not None:
            details["sample"] = sample
        out = []
        for check, limit in wanted:
            if check == "noise.metric_drop":
                if "degradation" not in res:
                    reason = res.get("metric_error") or f"{name} needs the target column (inputs.target)"
                    out.append(CheckResult(name=check, section=SECTION, on_fail=sev, status=Status.NOT_COMPUTABLE,
                                           message=f"{name}: {reason}", details=details))
                    continue
                v = res["degradation"]
                msg = (f"{res['metric']} {res['clean']:.4g} clean, {sum(res['noisy']) / len(res['noisy']):.4g} "
                       f"noisy (mean): degradation {v:.4g} {'<=' if v <= limit else '>'} {limit:g}; {setup}")
            else:
                if "flip_rate" not in res:
                    out.append(CheckResult(name=check, section=SECTION, on_fail=sev, status=Status.NOT_COMPUTABLE,
                                           message="a flip rate needs a classifier", details=details))
                    continue
                v = res["flip_rate"]
                msg = (f"{v:.2%} of predicted labels flip under noise (mean of {spec.repeats}); limit "
                       f"{limit:.2%}; {setup}")
            out.append(CheckResult(name=check, section=SECTION, on_fail=sev,
                                   status=Status.PASS if v <= limit else Status.FAIL, observed=float(v), op="<=",
                                   threshold=float(limit), margin=float(limit - v), message=msg, details=details))
        return out

    @staticmethod
    def _oor(ctx: RunContext, spec: Any, sev: OnFail) -> list[CheckResult]:
        from gatekit.model.perturbation import out_of_range

        sample: dict[str, Any] | None = None
        if ctx.inputs.frame is None:  # an engine's table: the probe rows are a seeded sample, ranges over all rows
            try:
                frame, sample, ranges = _oor_sample(ctx, spec)
            except Exception as exc:  # noqa: BLE001 - an engine that cannot give the rows: no probe, never a pass
                return [CheckResult(name=f"out_of_range.{c}", section=SECTION, on_fail=sev,
                                    status=Status.NOT_COMPUTABLE,
                                    message=f"not probed: the rows could not be sampled from the "
                                            f"{ctx.inputs.engine} table ({type(exc).__name__}: {exc})")
                        for c in spec.cases]
            results = out_of_range(ctx.inputs.runner, frame, None, list(spec.cases), spec.rows, spec.extreme_factor,
                                   spec.seed, ranges)
        else:
            results = out_of_range(ctx.inputs.runner, ctx.inputs.frame, ctx.inputs.reference, list(spec.cases),
                                   spec.rows, spec.extreme_factor, spec.seed)
        out = []
        for r in results:
            name = f"out_of_range.{r.case}"
            probes = [{"target": p.target, "ok": p.ok, "outcome": p.outcome} for p in r.probes]
            if not r.probes:
                out.append(CheckResult(name=name, section=SECTION, on_fail=sev, status=Status.NOT_COMPUTABLE,
                                       message=f"no {'numeric' if r.case in ('extreme', 'wrong_type') else 'text'} "
                                               "feature to probe", details={"probes": probes}))
                continue
            failed = r.failed
            msg = (f"the model handled all {len(r.probes)} probe(s)" if not failed else
                   f"{len(failed)} of {len(r.probes)} probe(s) failed: " +
                   "; ".join(f"{p.target}: {p.outcome}" for p in failed[:5])
                   + (f"; and {len(failed) - 5} more" if len(failed) > 5 else ""))
            if r.note:
                ref = ctx.inputs.files.get("reference", {}).get("path", "the reference data")
                msg += f" (note: {r.note.replace('the reference data', Path(ref).name)})"
            details: dict[str, Any] = {"probes": probes, "rows": spec.rows}
            if sample is not None:
                details["sample"] = sample
                msg += (f"; rows from a seeded sample of the {sample['engine']} table (seed {sample['seed']}), "
                        "training ranges over all rows")
            out.append(CheckResult(name=name, section=SECTION, on_fail=sev,
                                   status=Status.PASS if not failed else Status.FAIL, observed=float(len(failed)),
                                   op="<=", threshold=0.0, margin=-float(len(failed)), message=msg,
                                   details=details))
        return out


def _sample(ctx: RunContext, columns: list[str], n: int, seed: int) -> tuple[Any, dict[str, Any]]:
    """Draw a seeded sample of ``n`` rows of the evaluation table's ``columns``; return it and its record."""
    from gatekit.data.engine import sample_frame

    table = ctx.inputs.table
    of_rows = int(table.count().execute())
    frame = sample_frame(table.select(*columns), n, seed)
    return frame, {"rows": len(frame), "of_rows": of_rows, "seed": seed, "engine": ctx.inputs.engine,
                   "method": "gatekit.data.engine.sample_frame"}


def _numeric_usable(table: Any, columns: list[str]) -> list[str]:
    """Of ``columns`` (numeric in the evaluation data), those the table lacks, holds as non-numbers, or all null."""
    schema = table.schema()
    absent = [c for c in columns if c not in schema or not (schema[c].is_numeric() or schema[c].is_boolean())]
    present = [c for c in columns if c not in absent]
    if not present:
        return absent
    row = table.aggregate(**{f"n{i}": table[c].count() for i, c in enumerate(present)}).to_pyarrow().to_pylist()[0]
    return absent + [c for i, c in enumerate(present) if not row[f"n{i}"]]


def _valid(col: Any) -> Any:
    """Return a float column with NaN as null (pandas skips both; DuckDB orders NaN above every number)."""
    import ibis

    return ibis.ifelse(col.isnan(), ibis.null(col.type()), col) if col.type().is_floating() else col


def table_ranges(ctx: RunContext, frame: Any, features: list[str]) -> tuple[dict[str, tuple[float, float]], str]:
    """Training ranges over all rows of the reference table (else the evaluation table), as in memory.

    The engine's counterpart of :func:`gatekit.model.perturbation.training_ranges`: the reference table is
    used when it has every feature and each feature numeric in the evaluation data is numeric and not all
    null there; min and max skip nulls and NaN. One aggregate query.
    """
    import pandas as pd

    from gatekit.model.perturbation import range_note, split_features

    numeric_eval = [c for c in features if pd.api.types.is_numeric_dtype(frame[c])]
    ref = ctx.inputs.reference_table
    usable = ref is not None and all(c in ref.columns for c in features)
    bad_ref = _numeric_usable(ref, numeric_eval) if usable else []
    table = ref if usable and not bad_ref else ctx.inputs.table
    numeric, _ = split_features(frame[features], features)
    if not numeric:
        return {}, range_note(usable, bad_ref)
    aggs = {}
    for i, c in enumerate(numeric):
        col = _valid(table[c])
        aggs[f"lo{i}"], aggs[f"hi{i}"] = col.min(), col.max()
    row = table.aggregate(**aggs).to_pyarrow().to_pylist()[0]
    return ({c: (_float(row[f"lo{i}"]), _float(row[f"hi{i}"])) for i, c in enumerate(numeric)},
            range_note(usable, bad_ref))


def table_stds(ctx: RunContext,
               numeric: list[str]) -> tuple[dict[str, float], dict[str, str], dict[str, list[str]]]:
    """Return each numeric feature's sample standard deviation (ddof 1) over all rows, where it came from and why.

    Per feature, as :func:`gatekit.model.perturbation.noise_scales` does in memory: the reference table's std
    where the reference has the feature as numbers with at least two values, else the evaluation table's for
    that feature only; nulls and NaN skipped. One aggregate query per table.
    """
    from gatekit.model.perturbation import EVAL, REFERENCE

    if not numeric:
        return {}, {}, {}
    ref = ctx.inputs.reference_table
    why: dict[str, list[str]] = {}
    usable = []
    for c in numeric:
        if ref is None:
            why.setdefault("no reference data", []).append(c)
        elif c not in ref.columns:
            why.setdefault("absent from the reference data", []).append(c)
        elif not ref.schema()[c].is_numeric() or ref.schema()[c].is_boolean():
            why.setdefault("not numeric in the reference data", []).append(c)
        else:
            usable.append(c)
    stds: dict[str, float] = {}
    sources: dict[str, str] = {}
    if usable:
        aggs = {f"s{i}": _valid(ref[c].cast("float64")).std(how="sample") for i, c in enumerate(usable)}
        row = ref.aggregate(**aggs).to_pyarrow().to_pylist()[0]
        for i, c in enumerate(usable):
            v = _float(row[f"s{i}"])
            if np.isfinite(v):
                stds[c], sources[c] = v, REFERENCE
            else:
                why.setdefault("fewer than 2 values in the reference data", []).append(c)
    rest = [c for c in numeric if c not in stds]
    if rest:
        table = ctx.inputs.table
        aggs = {f"s{i}": _valid(table[c].cast("float64")).std(how="sample") for i, c in enumerate(rest)}
        row = table.aggregate(**aggs).to_pyarrow().to_pylist()[0]
        for i, c in enumerate(rest):
            stds[c], sources[c] = _float(row[f"s{i}"]), EVAL
    return {c: stds[c] for c in numeric}, {c: sources[c] for c in numeric}, why


def _float(v: Any) -> float:
    return float("nan") if v is None else float(v)


def _noise_sample(ctx: RunContext, spec: Any,
                  data: Any) -> tuple[Any, Any, dict[str, Any], tuple[dict[str, float], dict[str, str],
                                                                       dict[str, list[str]]]]:
    """Return the noise probe's inputs on an engine.

    A seeded sample with the target and sensitive columns, its evaluation arrays (the metric is computed on
    the sample's rows), its record, and the stds over all rows.
    """
    from gatekit.data.labels import to01
    from gatekit.metrics.registry import EvalData
    from gatekit.model.perturbation import split_features

    runner = ctx.inputs.runner
    info = ctx.inputs.info
    target = info.get("target")
    sens = list(data.sensitive.columns) if data is not None and data.sensitive is not None else []
    cols = list(dict.fromkeys([*runner.features, *([target] if target else []), *sens]))
    cols = [c for c in cols if c in ctx.inputs.table.columns]
    frame, sample = _sample(ctx, cols, NOISE_SAMPLE_ROWS, spec.seed)
    frame = frame.reset_index(drop=True)
    rows: Any = None
    if data is not None and target and target in frame.columns:
        rows = EvalData(task=data.task, decision_threshold=data.decision_threshold, strict=data.strict,
                        positive_label=data.positive_label, sensitive_default=data.sensitive_default)
        if data.task == "classification":
            rows.y_true = to01(frame[target], data.positive_label).astype(int)
        else:
            rows.y_true = frame[target].astype(float).to_numpy()
        if sens:
            sf = frame[sens].copy()
            for c in sf.columns:
                col = sf[c].astype(object)
                sf[c] = col.where(col.isna(), col.map(str))
            rows.sensitive = sf
    numeric, _ = split_features(frame[runner.features], runner.features)
    return frame, rows, sample, table_stds(ctx, numeric)  # (stds, sources, why)


def _oor_sample(ctx: RunContext, spec: Any) -> tuple[Any, dict[str, Any], tuple[dict[str, tuple[float, float]], str]]:
    """Return the out-of-range probes' rows on an engine (a seeded sample), its record and the training ranges."""
    runner = ctx.inputs.runner
    frame, sample = _sample(ctx, list(runner.features), spec.rows, spec.seed)
    return frame.reset_index(drop=True), sample, table_ranges(ctx, frame, list(runner.features))
