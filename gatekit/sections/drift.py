"""The ``drift:`` section: per-feature drift between reference and current data, and a label-leakage scan.

Each feature is compared by its own method and threshold (per column, else per column type, else the
section's shorthand, else PSI 0.2). gatekit computes the textbook PSI itself (:mod:`gatekit.stats.drift`,
vectorised, edges and smoothing recorded); evidently (0.7 API, an explicit ``DataDefinition`` listing
every numerical and categorical column, never inferred) computes the other methods and, when asked,
its own PSI binning and its HTML drift report, saved beside gatekit's.

The metric names ``psi_feature_drift`` (largest PSI over the features, and which feature) and
``drift_share`` (share of drifted features) read the same computation through
:meth:`gatekit.sections.base.RunContext.drift`, so a ``metrics:`` rule on them agrees with this section.
"""

from __future__ import annotations

import math
from typing import Any

from gatekit.core.decision import evaluate_threshold
from gatekit.core.errors import NotComputable
from gatekit.core.formatting import fmt, fmt_pair
from gatekit.core.results import CheckKey, CheckResult, OnFail, Status
from gatekit.data.engine import TABLE_ENGINES
from gatekit.policy.loader import LoadedPolicy
from gatekit.policy.specs import (
    CATEGORICAL_METHODS,
    DEFAULT_DRIFT_THRESHOLDS,
    NUMERICAL_METHODS,
    P_VALUE_METHODS,
    DriftSpec,
)
from gatekit.sections.drift_common import METHOD_LABEL, SECTION, SKIPPED_SHOWN, DriftOutcome, Feature
from gatekit.sections.drift_evidently import run_evidently, unsafe_markup, want_evidently_report
from gatekit.stats.drift import UNSEEN_BIN, PsiResult, psi_categorical, psi_numerical
from gatekit.stats.leakage import leakage_score


def column_kind(series: Any) -> str | None:
    """Return ``numerical`` (integer / float), ``categorical`` (string, category, boolean) or None (other).

    Decided from the logical type (:mod:`gatekit.data.logical_types`), never by evidently's inference.
    """
    from gatekit.data.logical_types import describe_column

    desc = describe_column(series)
    logical = desc["logical"]
    if logical == "category":
        return "categorical"
    if logical in ("integer", "float"):
        return "numerical"
    if logical in ("string", "boolean"):
        return "categorical"
    return None


def _reference(ctx: Any, spec: DriftSpec) -> Any:
    if spec.reference is None:
        return ctx.inputs.reference
    from gatekit.core.hashing import record_file
    from gatekit.data.readers import read_frame

    path = (ctx.policy.base_dir / spec.reference).resolve()
    if not path.is_file():
        raise NotComputable(f"drift.reference not found: {path}")
    from gatekit.core.errors import InputError

    try:
        record_file(ctx.inputs.files, "drift_reference", path)
        return read_frame(path)
    except InputError as exc:  # an unreadable reference makes drift not computable; the other sections run
        raise NotComputable(str(exc)) from None


class _FrameSide:
    """The pandas side of a comparison: columns, kinds, types and counts read from a DataFrame."""

    def __init__(self, frame: Any) -> None:
        self.frame = frame
        self.columns = list(frame.columns)

    def has(self, name: str) -> bool:
        return name in self.frame.columns

    def kind(self, name: str) -> str | None:
        return column_kind(self.frame[name])

    def dtype(self, name: str) -> str:
        return str(self.frame[name].dtype)

    def present(self, name: str) -> int:
        return int(self.frame[name].notna().sum())

    def infinite(self, name: str) -> int:
        import numpy as np
        from pandas.api.types import is_float_dtype

        col = self.frame[name]
        return int(np.isinf(col.to_numpy(dtype=float, na_value=np.nan)).sum()) if is_float_dtype(col.dtype) else 0

    @property
    def rows(self) -> int:
        return len(self.frame)


def output_roles(ctx: Any) -> dict[str, str]:
    """Return the columns that are outputs, not inputs, of a model: column -> its role.

    The target, the candidate's score and prediction columns, and the production model's (baseline) score and
    prediction columns: none of them is a feature, so none is compared for drift or scanned for leakage unless
    ``drift.features`` names it.
    """
    info = ctx.inputs.info
    roles = {"target": info.get("target"), "score": info.get("score"), "prediction": info.get("prediction")}
    inputs_spec = getattr(ctx.policy.policy, "inputs", None)
    base_spec = getattr(inputs_spec, "baseline", None)
    if base_spec is not None:
        roles["baseline score"] = getattr(base_spec, "score", None)
        roles["baseline prediction"] = getattr(base_spec, "prediction", None)
    # a --baseline-score / --baseline-prediction flag: the loader records it as "score column 'name'"
    source = (info.get("baseline") or {}).get("source") if isinstance(info.get("baseline"), dict) else None
    if isinstance(source, str):
        import ast

        for role in ("score", "prediction"):
            if source.startswith(f"{role} column "):
                try:
                    name = ast.literal_eval(source[len(role) + 8:])
                except (ValueError, SyntaxError):
                    continue
                if isinstance(name, str):
                    roles[f"baseline {role}"] = name
    out: dict[str, str] = {}
    for role, col in roles.items():
        if isinstance(col, str) and col:
            out.setdefault(col, role)
    return out


def model_features(ctx: Any) -> list[str] | None:
    """Return the candidate model's input columns when known: the bound runner's, else ``feature_names_in_``."""
    runner = getattr(ctx.inputs, "runner", None)
    names = getattr(runner, "features", None) if runner is not None else None
    if not names:
        recorded = getattr(getattr(ctx.inputs, "model", None), "feature_names_in_", None)
        try:
            names = [str(c) for c in recorded] if recorded is not None else None
        except TypeError:
            names = None
    return [str(c) for c in names] if names else None


def _default_features(ctx: Any, ref: Any, cur: Any, out: DriftOutcome | None) -> list[str]:
    """Return the compared features when the policy names none; record every column left out, and why.

    Output roles (:func:`output_roles`) are never features. With the candidate model's features known
    (:func:`model_features`) they are the features; every other column is listed as not compared. Otherwise
    every column of either side is compared (one dropped from the current data is a failing check naming it, as
    an all-missing column is, never silently left out).
    """
    roles = output_roles(ctx)
    columns = [str(c) for c in cur.columns if ref.has(c)] + [str(c) for c in ref.columns if not cur.has(c)]
    skipped: dict[str, str] = {c: f"not compared: the {roles[c]} column, not a feature" for c in columns if c in roles}
    model = model_features(ctx)
    if model is not None:
        names = [c for c in model if c not in roles]
        for c in columns:
            if c not in roles and c not in names:
                skipped[c] = "not compared: not a model feature"
    else:
        names = [c for c in columns if c not in roles]
    if out is not None:
        out.skipped = skipped
        out.features_from = "the model's features" if model is not None else "every column of the data"
    return names


def _plan_features(ctx: Any, spec: DriftSpec, ref: Any, cur: Any, outcome: DriftOutcome | None = None
                   ) -> list[Feature]:
    names = spec.features or _default_features(ctx, ref, cur, outcome)
    out = []
    for name in names:
        col = spec.columns.get(name)
        if name in spec.numerical_features:
            kind: str | None = "numerical"
        elif name in spec.categorical_features:
            kind = "categorical"
        elif ref.has(name):
            kind = ref.kind(name) or (cur.kind(name) if cur.has(name) else None)
        else:
            kind = None
        typedef = spec.numerical if kind == "numerical" else spec.categorical if kind == "categorical" else None
        section_method = spec.method or "psi"
        type_method = (typedef.method if typedef and typedef.method else None) or section_method
        method = (col.method if col and col.method else None) or type_method
        # a threshold belongs to the method of its own level: a column that only changes the method
        # (ks) never inherits a distance limit set for its type's method (psi 0.2)
        levels = [(method, col.threshold if col else None), (type_method, typedef.threshold if typedef else None),
                  (section_method, spec.threshold)]
        threshold = next((t for m, t in levels if t is not None and m == method), DEFAULT_DRIFT_THRESHOLDS[method])
        on_fail = (col.on_fail if col else None) or (typedef.on_fail if typedef else None) or spec.on_fail
        engine = "gatekit" if method == "psi" and spec.psi.binning == "quantile" else "evidently"
        f = Feature(name, kind, method, float(threshold), on_fail, engine)
        if not ref.has(name) or not cur.has(name):
            side = ("reference and the current" if not ref.has(name) and not cur.has(name) else
                    "reference" if not ref.has(name) else "current")
            f.problem = (f"column {name!r} is missing from the {side} data, so its drift cannot be measured; "
                         "restore the column or remove it from the compared features")
        elif kind is None:
            f.problem = (f"column {name!r} is neither numerical nor categorical ({ref.dtype(name)}); list it in "
                         "numerical_features or categorical_features")
        elif method not in (NUMERICAL_METHODS if kind == "numerical" else CATEGORICAL_METHODS):
            ok = NUMERICAL_METHODS if kind == "numerical" else CATEGORICAL_METHODS
            f.problem = f"{method} does not apply to {kind} column {name!r}; use one of {', '.join(ok)}"
        else:
            f.n_ref, f.n_cur = ref.present(name), cur.present(name)
            inf_ref, inf_cur = (ref.infinite(name), cur.infinite(name)) if kind == "numerical" else (0, 0)
            if f.n_ref == 0 or f.n_cur == 0:
                f.problem = f"every {'reference' if f.n_ref == 0 else 'current'} value of {name!r} is missing"
            elif inf_ref or inf_cur:
                # evidently (and its definitions on the engines) leave infinite values out unseen: 30 % of them
                # in the current data would compare the rest and pass; quantile bins are undefined with them
                f.problem = (f"column {name!r} holds infinite values ({inf_ref:,} in the reference, {inf_cur:,} in "
                             f"the current data), which {METHOD_LABEL[method]} cannot place, so its drift is not "
                             "measured; replace them (or drop those rows) before the gate, or compare the column "
                             "as categorical")
        out.append(f)
    return out


def _our_psi(f: Feature, ref: Any, cur: Any, spec: DriftSpec, plain: bool = False) -> PsiResult:
    if f.kind == "numerical":
        return psi_numerical(ref[f.name], cur[f.name], spec.psi.bins, spec.psi.smoothing, plain=plain)
    return psi_categorical(ref[f.name], cur[f.name], spec.psi.smoothing)


def _rule_checks(spec: DriftSpec, features: list[Feature], out: DriftOutcome) -> None:
    """Add a not-computable check for a ``columns`` rule or a declared kind that matches no compared column."""
    compared = {f.name for f in features}
    for name, rule in spec.columns.items():  # an override that applies to nothing is a typo, not a pass
        if name not in compared:
            where = ("not in `features`" if spec.features else
                     f"{out.skipped[name]}" if name in out.skipped else
                     "not a column of both the reference and the current data")
            out.checks.append(CheckResult(
                name=f"{name}.drift", section=SECTION, status=Status.NOT_COMPUTABLE,
                on_fail=rule.on_fail or spec.on_fail,
                message=f"drift.columns has a rule for {name!r}, which is {where}; fix the name or remove the rule"))
            out.not_compared[name] = "its drift.columns rule applies to no compared column"
    for key in ("numerical_features", "categorical_features"):  # a declared kind for no compared column: a typo
        for name in getattr(spec, key):
            if name not in compared:
                out.checks.append(CheckResult(
                    name=f"{name}.drift", section=SECTION, status=Status.NOT_COMPUTABLE, on_fail=spec.on_fail,
                    message=f"drift.{key} lists {name!r}, which is not a compared column ("
                            + (out.skipped[name] if name in out.skipped else
                               "missing from the data, or not in `features`") + "); fix the name or remove it",
                    details={"feature": name}))
                out.not_compared[name] = f"drift.{key} lists it but it is not compared"


def compute_drift(ctx: Any) -> DriftOutcome:
    """Compare reference and current data per feature and scan for label leakage.

    On the DuckDB engine (``ctx.inputs.engine == "duckdb"``) the same checks come from counts the engine
    returns (:func:`_compute_drift_duckdb`). The ``prediction:`` and ``label:`` rules' checks go to
    ``outputs`` (:func:`gatekit.sections.drift_outputs.output_checks`).

    Parameters
    ----------
    ctx : RunContext
        The run (policy, inputs).

    Returns
    -------
    DriftOutcome
    """
    spec = ctx.policy.policy.drift or DriftSpec()
    out = DriftOutcome()
    if getattr(ctx.inputs, "engine", "pandas") in TABLE_ENGINES:
        out = _compute_drift_duckdb(ctx, spec, out)
    else:
        out = _compute_drift_pandas(ctx, spec, out)
    if spec.prediction is not None or spec.label is not None:
        from gatekit.sections.drift_outputs import output_checks

        out.outputs = output_checks(ctx, spec, out.reference_rows, _feature_check, out.unavailable)
    out.reference_rows = None  # the rows are not kept beyond the computation
    return out


def _compute_drift_pandas(ctx: Any, spec: DriftSpec, out: DriftOutcome) -> DriftOutcome:
    try:
        ref = _reference(ctx, spec)
    except NotComputable as exc:
        out.unavailable = exc.reason
        return out
    out.reference_rows = ref
    cur = ctx.inputs.frame
    if ref is None or cur is None:
        out.unavailable = ("no reference data (inputs.reference / --reference)" if ref is None else
                           "no current data (inputs.data / --data)") + ": drift compares the two"
        return out
    features = _plan_features(ctx, spec, _FrameSide(ref), _FrameSide(cur), out)
    _rule_checks(spec, features, out)
    report = want_evidently_report(spec, len(ref), len(cur))
    report_refused = None
    if report:
        unsafe = unsafe_markup([f for f in features if f.problem is None], ref, cur)
        if unsafe is not None:  # evidently writes category values raw into a <script> block of its page
            report = False
            report_refused = (f"evidently's HTML report is not written: {unsafe}, which has markup characters "
                              "(< > & quotes / backslash) that evidently would write unescaped into its page's "
                              "script; gatekit's own report shows every result")
    not_finite: dict[str, str] = {}
    ev_notes: dict[str, str] = {}
    ev_values, ev_errors, out.evidently_html = run_evidently(features, ref, cur, spec, report, not_finite,
                                                              ev_notes)
    out.info = _info(spec, features, len(ref), len(cur), [str(c) for c in cur.columns if c not in ref.columns],
                     out.evidently_html is not None, out)
    if report_refused is not None:
        out.info["evidently_report_refused"] = report_refused
    plain = ctx.options.reference_paths
    _feature_checks(features, lambda f: _our_psi(f, ref, cur, spec, plain), spec, ev_values, ev_errors, out,
                    not_finite, ev_notes)
    if spec.leakage is not None:
        side = _FrameSide(cur)
        data = ctx.inputs.eval_data
        for check in _leakage_checks(
                spec, features, data is not None and data.y_true is not None, side,
                lambda name, kind, min_pairs: leakage_score(cur[name], data.y_true, kind, data.task, min_pairs)):
            check.details.update(skipped_details(out))
            out.checks.append(check)
    return out


def _info(spec: DriftSpec, features: list[Feature], ref_rows: int, cur_rows: int, only_in_current: list[str],
          html: bool, out: DriftOutcome) -> dict[str, Any]:
    return {"reference_rows": ref_rows, "current_rows": cur_rows,
            "numerical": [f.name for f in features if f.kind == "numerical"],
            "categorical": [f.name for f in features if f.kind == "categorical"],
            "psi": {"binning": spec.psi.binning, "bins": spec.psi.bins, "smoothing": spec.psi.smoothing},
            "evidently_report": html, "only_in_current": only_in_current,
            "features_from": out.features_from or "drift.features", "not_compared": dict(out.skipped)}


def skipped_details(out: DriftOutcome) -> dict[str, Any]:
    """Return the columns left out of the default features for a check's details (the first :data:`SKIPPED_SHOWN`)."""
    if not out.skipped:
        return {}
    shown = dict(list(out.skipped.items())[:SKIPPED_SHOWN])
    got: dict[str, Any] = {"features_from": out.features_from, "not_compared": shown}
    if len(out.skipped) > len(shown):
        got["not_compared_total"] = len(out.skipped)
    return got


def _feature_checks(features: list[Feature], psi_of: Any, spec: DriftSpec, ev_values: dict[str, float],
                    ev_errors: dict[str, str], out: DriftOutcome, not_finite: dict[str, str],
                    notes: dict[str, str], extra: dict[str, Any] | None = None) -> None:
    for f in features:
        try:
            check = _feature_check(f, psi_of, spec, ev_values, ev_errors, out, not_finite=not_finite, notes=notes)
        except Exception as exc:  # noqa: BLE001 - one column that cannot be compared never hides the others
            msg = f"cannot compare {f.name!r}: {type(exc).__name__}: {exc}"
            out.psi_missing[f.name] = out.not_compared[f.name] = msg
            check = CheckResult(name=f"{f.name}.{f.method}", section=SECTION, status=Status.ERROR,
                                on_fail=f.on_fail, message=msg, details={"feature": f.name})
        if extra:
            check.details.update(extra)
        check.details.update(skipped_details(out))
        out.checks.append(check)


def _compute_drift_duckdb(ctx: Any, spec: DriftSpec, out: DriftOutcome) -> DriftOutcome:
    """Run the drift section on DuckDB: the same features, rules and messages, from counts the engine returns.

    PSI (gatekit's binning) comes from :func:`gatekit.sections.drift_counts.psi_results`; the methods evidently
    defines (KS, Wasserstein, Jensen-Shannon, chi-square, evidently's PSI binning) are computed by gatekit from
    counts with evidently's definitions (:func:`gatekit.sections.drift_counts.evidently_values`), since evidently
    reads pandas frames; its HTML page is not written (``info["evidently_report_refused"]`` says so).
    """
    from gatekit.sections import drift_counts as dc

    try:
        ref_table = _reference_table(ctx, spec)
    except NotComputable as exc:
        out.unavailable = exc.reason
        return out
    out.reference_rows = ref_table
    cur_table = ctx.inputs.table
    if ref_table is None or cur_table is None:
        out.unavailable = ("no reference data (inputs.reference / --reference)" if ref_table is None else
                           "no current data (inputs.data / --data)") + ": drift compares the two"
        return out
    ref_side = dc.TableSide(dc.side_counts(ref_table))
    cur_side = dc.TableSide(dc.side_counts(cur_table))
    features = _plan_features(ctx, spec, ref_side, cur_side, out)
    _rule_checks(spec, features, out)
    ready = [f for f in features if f.problem is None]
    psi = (dc.psi_results(ref_table, cur_table, ref_side, cur_side, ready, spec.psi.bins,
                          spec.psi.smoothing) if spec.psi.binning == "quantile" else {})
    not_finite: dict[str, str] = {}
    ev_notes: dict[str, str] = {}
    ev_values, ev_errors = dc.evidently_values(ref_table, cur_table, ref_side, cur_side, ready, spec,
                                               not_finite, ev_notes)
    out.info = _info(spec, features, ref_side.rows, cur_side.rows,
                     [c for c in cur_side.columns if not ref_side.has(c)], False, out)
    out.info["engine"] = ctx.inputs.engine
    if want_evidently_report(spec, ref_side.rows, cur_side.rows):
        out.info["evidently_report_refused"] = dc.NO_EVIDENTLY_PAGE

    def psi_of(f: Feature) -> PsiResult:
        got = psi[f.name]
        if isinstance(got, Exception):
            raise got
        return got

    _feature_checks(features, psi_of, spec, ev_values, ev_errors, out, not_finite, ev_notes,
                    extra={"data_engine": ctx.inputs.engine})
    if spec.leakage is not None:
        data = ctx.inputs.eval_data
        has_target = data is not None and data.y_true is not None
        scorer = dc.LeakageScorer(cur_table, ctx.inputs.info.get("target"), data) if has_target else None
        for check in _leakage_checks(spec, features, has_target, cur_side,
                                     lambda name, kind, min_pairs: scorer.score(name, kind, min_pairs)):  # type: ignore[union-attr]
            check.details.update({"data_engine": ctx.inputs.engine})
            if scorer is not None and scorer.read_into_memory:
                check.details["engine_note"] = ("a regression target's Spearman scan read the feature and the target "
                                                "into memory, one feature at a time")
            check.details.update(skipped_details(out))
            out.checks.append(check)
    return out


def _reference_table(ctx: Any, spec: DriftSpec) -> Any:
    """Return the reference as an ibis table: the run's, or ``drift.reference`` read and handed to DuckDB."""
    if spec.reference is None:
        return ctx.inputs.reference_table
    frame = _reference(ctx, spec)
    from gatekit.data.engine import to_ibis

    return to_ibis(frame)


class _ThresholdKey(CheckKey):
    """What every result of one feature's drift rule shares."""

    op: str
    threshold: float


def _feature_check(f: Feature, psi_of: Any, spec: DriftSpec, ev_values: dict[str, float],
                   ev_errors: dict[str, str], out: DriftOutcome,
                   not_finite: dict[str, str] | None = None, notes: dict[str, str] | None = None,
                   aggregated: bool = True) -> CheckResult:
    """Build one comparison's check (a feature's; prediction and label drift pass ``aggregated=False``).

    ``aggregated``: the PSI a non-PSI rule shows is counted by ``psi_feature_drift`` (said in the message).
    """
    not_finite = not_finite or {}
    notes = notes or {}
    name = f"{f.name}.{f.method}"
    op = ">=" if f.method in P_VALUE_METHODS else "<="
    base: _ThresholdKey = dict(name=name, section=SECTION, on_fail=f.on_fail, op=op, threshold=f.threshold)
    details: dict[str, Any] = {"feature": f.name, "kind": f.kind, "method": f.method, "engine": f.engine,
                               "label": METHOD_LABEL[f.method]}
    if f.problem is not None:
        out.psi_missing[f.name] = out.not_compared[f.name] = f.problem
        return CheckResult(status=Status.NOT_COMPUTABLE, message=f.problem, details=details, **base)
    details.update({"n_reference": f.n_ref, "n_current": f.n_cur})
    psi_res = None
    if spec.psi.binning == "quantile":
        try:
            psi_res = psi_of(f)
            out.psi[f.name] = psi_res.value
        except NotComputable as exc:
            out.psi_missing[f.name] = exc.reason
    elif f.method != "psi":  # evidently's PSI, computed beside this feature's own method
        if f"{f.name}#psi" in ev_values:
            out.psi[f.name] = ev_values[f"{f.name}#psi"]
        else:
            out.psi_missing[f.name] = ev_errors.get(f"{f.name}#psi", not_finite.get(f"{f.name}#psi",
                                                                                  "evidently gave no PSI"))
    if f.engine == "gatekit":
        if psi_res is None:
            out.not_compared[f.name] = out.psi_missing[f.name]
            return CheckResult(status=Status.NOT_COMPUTABLE, message=out.psi_missing[f.name], details=details, **base)
        value = psi_res.value
        binning = {"numerical": f"{spec.psi.bins} reference-quantile bins, a quantile equal to a reference value "
                                 "moved to the midpoint below it (no reference value on an edge), duplicate "
                                 "edges removed, open outer bins, closed on the left",
                   "discrete": f"one bin per reference value (the reference has at most {spec.psi.bins} "
                               "distinct values), compared like categories: a current value counts with a "
                               "reference value within 1 % of the distance from it to the nearest other "
                               "reference value (details: tolerance), and every current value that matches "
                               "none counts in one more bin, empty in the reference (its share smoothed)",
                   "categorical": "one bin per category"}[psi_res.kind]
        if psi_res.kind == "discrete":
            details["values"] = psi_res.values
            details["tolerance"] = psi_res.tolerance
        if psi_res.kind == "numerical" and psi_res.reference_range is not None:
            details["outside_reference_range"] = _outside(psi_res)
        details.update({"missing_bin": psi_res.missing_bin,
                        "categories" if psi_res.kind == "categorical" else "bins": psi_res.bins,
                        "reference_counts": psi_res.reference_counts, "current_counts": psi_res.current_counts,
                        "smoothing": psi_res.smoothing, "unseen_categories": psi_res.unseen, "binning": binning})
    else:
        if f.name in not_finite:  # a NaN / inf is no measurement: not computable, never "drift detected"
            out.not_compared[f.name] = not_finite[f.name]
            if f.method == "psi":
                out.psi_missing[f.name] = not_finite[f.name]
            return CheckResult(status=Status.NOT_COMPUTABLE, message=not_finite[f.name], details=details, **base)
        if f.name in ev_errors or f.name not in ev_values:
            out.not_compared[f.name] = ev_errors.get(f.name, "evidently gave no value")
            if f.method == "psi":
                out.psi_missing[f.name] = out.not_compared[f.name]
            return CheckResult(status=Status.ERROR, message=out.not_compared[f.name], details=details, **base)
        value = ev_values[f.name]
        if f.name in notes:
            details["note"] = notes[f.name]
        if f.method == "psi":
            out.psi[f.name] = value
            out.psi_missing.pop(f.name, None)
            details["binning"] = "evidently's (equal-width bins over reference and current together)"
    if not math.isfinite(value):  # last guard: whatever computed it, a NaN / inf is not a measurement
        reason = f"{METHOD_LABEL[f.method]} of {f.name!r} came out as {value!r}, which is not a measurement"
        out.not_compared[f.name] = reason
        out.psi.pop(f.name, None)
        out.psi_missing.setdefault(f.name, reason)
        return CheckResult(status=Status.NOT_COMPUTABLE, message=reason, details=details, **base)
    status, margin = evaluate_threshold(value, op, f.threshold)
    out.compared += 1
    out.drifted += status == Status.FAIL
    shown, limit = fmt_pair(value, f.threshold)
    sizes = f"n = {f.n_ref:,} reference vs {f.n_cur:,} current"
    if f.method in P_VALUE_METHODS:
        verdict = "no drift detected" if status == Status.PASS else "drift detected"
        msg = f"{METHOD_LABEL[f.method]} p = {shown} ({sizes}); {verdict} (the rule needs p {op} {limit})"
        details["p_value"] = value
    else:
        msg = f"{METHOD_LABEL[f.method]} {shown} {'meets' if status == Status.PASS else 'exceeds'} " \
              f"{op} {limit} ({sizes})"
    if "note" in details:
        msg += f"; {details['note']}"
    if psi_res is not None:
        if f.method != "psi":  # the PSI psi_feature_drift uses for this feature, shown where it is counted
            details["psi"] = psi_res.value
            msg += f"; PSI {fmt(psi_res.value)}" + (" (counted by psi_feature_drift)" if aggregated else "")
        else:
            k = psi_res.n_bins
            # PSI of two samples of one distribution is about (k - 1)(1/n + 1/m), not 0 (Yurdakul 2018)
            expected = (k - 1) * (1 / f.n_ref + 1 / f.n_cur)
            details["psi_without_drift_expected"] = expected
            msg += f"; about {fmt(expected)} is expected from sampling alone"
        if psi_res.unseen:
            shown_unseen = ", ".join(repr(u) for u in psi_res.unseen[:10])
            n_unseen = psi_res.unseen_total if psi_res.unseen_total is not None else len(psi_res.unseen)
            more = f" and {n_unseen - 10} more" if n_unseen > 10 else ""
            what = "categories" if psi_res.kind == "categorical" else "values"
            msg += f"; {what} only in the current data: {shown_unseen}{more}"
            if psi_res.kind == "discrete":
                n_other = psi_res.current_counts[psi_res.bins.index(UNSEEN_BIN)]
                msg += (f" ({n_other:,} of {psi_res.n_current:,} current values, "
                        f"{_pct(n_other / psi_res.n_current)}, in one bin the reference has no value in)")
            details.setdefault("unseen_categories", psi_res.unseen)
        if psi_res.kind == "numerical" and psi_res.reference_range is not None:
            out_of = _outside(psi_res)
            if out_of["below"] or out_of["above"]:
                lo, hi = psi_res.reference_range
                msg += (f"; {_pct(out_of['share'])} of the current values ({out_of['below']:,} below, "
                        f"{out_of['above']:,} above) lie outside the reference's range [{fmt(lo)}, {fmt(hi)}], "
                        "counted in the open outer bins")
        if f.method == "psi" and (0 in psi_res.reference_counts or 0 in psi_res.current_counts):
            msg += f"; smoothing {psi_res.smoothing:g} for empty bins"
    return CheckResult(status=status, observed=value, margin=margin, message=msg, details=details, **base)


def _pct(share: float) -> str:
    """Format a share as a percent: 1 decimal, never "0.0 %" or "100.0 %" for a share that is not exactly 0 or 1."""
    pct = 100 * share
    if 0 < pct < 0.05:
        return "< 0.1 %"
    if 99.95 <= pct < 100:
        return "> 99.9 %"
    return f"{pct:.1f} %"


def _outside(res: PsiResult) -> dict[str, Any]:
    """Return the current values beyond the reference's range (quantile bins): counts, share, and the range."""
    assert res.reference_range is not None
    n = res.outside_below + res.outside_above
    return {"below": res.outside_below, "above": res.outside_above,
            "share": n / res.n_current if res.n_current else 0.0,
            "reference_min": res.reference_range[0], "reference_max": res.reference_range[1]}


def _leakage_checks(spec: DriftSpec, features: list[Feature], has_target: bool, cur: Any,
                    score: Any) -> list[CheckResult]:
    """One check per scanned feature; ``score(name, kind, min_pairs)`` gives its :class:`LeakageResult`."""
    lk = spec.leakage
    assert lk is not None
    sev = lk.on_fail or spec.on_fail
    names = lk.features or [f.name for f in features]
    kinds = {f.name: f.kind for f in features}
    out = []
    for name in names:
        base: CheckKey = dict(name=f"{name}.leakage", section=SECTION, on_fail=sev)
        if not has_target:
            out.append(CheckResult(status=Status.NOT_COMPUTABLE, message="no target (inputs.target): the leakage "
                                   "scan needs the evaluation labels", **base))
            continue
        if not cur.has(name):
            out.append(CheckResult(status=Status.NOT_COMPUTABLE, message=f"column {name!r} is not in the evaluation "
                                   "data", **base))
            continue
        kind = kinds.get(name) or cur.kind(name)
        if kind is None:
            out.append(CheckResult(status=Status.NOT_COMPUTABLE, message=f"column {name!r} is neither numerical nor "
                                   "categorical", **base))
            continue
        try:
            res = score(name, kind, lk.min_pairs)
        except NotComputable as exc:
            out.append(CheckResult(status=Status.NOT_COMPUTABLE, message=f"not evaluated: {exc.reason}",
                                   details=dict(exc.details), **base))
            continue
        except Exception as exc:  # noqa: BLE001 - one feature's failure is its own error
            out.append(CheckResult(status=Status.ERROR, message=f"{type(exc).__name__}: {exc}", **base))
            continue
        limit = {"auc": lk.auc, "spearman": lk.spearman}[res.measure]
        status, margin = evaluate_threshold(res.value, "<=", limit)
        label = {"auc": "single-feature ROC AUC (folded)", "spearman": "|Spearman correlation| with the target"}[
            res.measure] + (" of its out-of-fold target mean" if res.encoded else "")
        if res.source == "missing":
            label = {"auc": "single-feature ROC AUC (folded)", "spearman": "|Spearman correlation| with the "
                     "target"}[res.measure] + " of its missing indicator" + (
                " (over the largest a 0/1 score reaches)" if res.measure == "spearman" else "")
        shown, lim = fmt_pair(res.value, limit)
        verdict = "no sign of leakage" if status == Status.PASS else "possible label leakage: this feature alone " \
                                                                     "predicts the target"
        share = res.n_missing / res.n_rows if res.n_rows else 0.0
        if res.values_problem is not None and status == Status.PASS:  # only the gaps were scored: no pass
            out.append(CheckResult(
                status=Status.NOT_COMPUTABLE,
                message=f"not evaluated: {res.values_problem}; its missing indicator ({res.n_missing:,} of "
                        f"{res.n_rows:,} rows, {100 * share:.1f} % missing) scores {shown}, under the limit {lim}, "
                        "but the values themselves were not scanned",
                details={"measure": res.measure, "n_pairs": res.n_pairs, "feature": name, "n_rows": res.n_rows,
                         "n_missing": res.n_missing, "missing_share": share,
                         "missing_indicator_score": res.missing_value}, **base))
            continue
        rows = f"n = {res.n_pairs:,}" if res.source == "values" else f"n = {res.n_rows:,}"
        if res.n_missing:
            rows += (f"; {res.n_missing:,} of {res.n_rows:,} rows ({100 * share:.1f} %) have no value, "
                     f"scored as a missing indicator"
                     + (f" ({fmt(res.missing_value)})" if res.missing_value is not None and res.source == "values"
                        else "")
                     + (f", values alone {fmt(res.values_value)} on {res.n_pairs:,} rows"
                        if res.source == "missing" and res.values_value is not None else ""))
        out.append(CheckResult(status=status, observed=res.value, op="<=", threshold=limit, margin=margin,
                               message=f"{label} {shown} ({rows}); {verdict} (limit {lim})",
                               details={"measure": res.measure, "n_pairs": res.n_pairs, "feature": name,
                                        "target_encoded": res.encoded, "label": f"Leakage: {label}",
                                        "n_rows": res.n_rows, "n_missing": res.n_missing, "missing_share": share,
                                        "scored": res.source, "missing_indicator_score": res.missing_value,
                                        "values_score": res.values_value}, **base))
    return out


class DriftSection:
    """Adapter for ``drift:`` (gatekit's PSI, evidently for the other methods)."""

    name = SECTION

    def planned(self, policy: LoadedPolicy) -> list[tuple[str, OnFail]]:
        """Return one stand-in check: the features are known only once the data is read."""
        spec = policy.policy.drift
        if spec is None:
            return []
        from gatekit.sections.drift_outputs import planned

        return [("drift", spec.on_fail), *planned(spec)]

    def run(self, ctx: Any) -> list[CheckResult]:
        """Return the per-feature drift (and leakage) checks."""
        spec = ctx.policy.policy.drift
        if spec is None:
            return []
        outcome = ctx.drift()
        ctx.info[SECTION] = outcome.info
        if outcome.evidently_html is not None:
            ctx.attachments["evidently_drift.html"] = outcome.evidently_html
        if outcome.unavailable is not None:
            return [CheckResult(name="drift", section=SECTION, status=Status.NOT_COMPUTABLE, on_fail=spec.on_fail,
                                message=outcome.unavailable), *outcome.outputs]
        if not outcome.checks:
            return [CheckResult(name="drift", section=SECTION, status=Status.NOT_COMPUTABLE, on_fail=spec.on_fail,
                                message="no feature to compare: the reference and current data share no column "
                                        "that is a feature" + (f" ({_skipped_summary(outcome.skipped)})"
                                                               if outcome.skipped else ""),
                                details={"not_compared": dict(outcome.skipped)}), *outcome.outputs]
        return [*outcome.checks, *outcome.outputs]


def aggregate(outcome: DriftOutcome, name: str) -> tuple[float, dict[str, Any]]:
    """Return ``psi_feature_drift`` or ``drift_share`` from a drift outcome.

    Raises
    ------
    NotComputable
        No data to compare, or a feature could not be compared (an aggregate would hide it: fail closed).
    """
    if outcome.unavailable is not None:
        raise NotComputable(outcome.unavailable)
    if name == "psi_feature_drift":
        if outcome.psi_missing:
            first = next(iter(outcome.psi_missing.values()))
            raise NotComputable(f"PSI could not be computed for {', '.join(sorted(outcome.psi_missing))} "
                                f"({first}); a maximum without them could hide drift",
                                {"psi": outcome.psi, "not_computed": outcome.psi_missing})
        if not outcome.psi:
            raise NotComputable("no feature to compare")
        feature = max(outcome.psi, key=lambda k: outcome.psi[k])
        note = f"largest PSI: feature {feature}"
        if outcome.skipped:
            note += f" ({_skipped_summary(outcome.skipped)})"
        return outcome.psi[feature], {"feature": feature, "psi": outcome.psi, "note": note,
                                      **skipped_details(outcome)}
    if outcome.not_compared:
        raise NotComputable(f"{', '.join(sorted(outcome.not_compared))} could not be compared; a share without them "
                            "could hide drift", {"not_compared": outcome.not_compared})
    if outcome.compared == 0:
        raise NotComputable("no feature to compare")
    return outcome.drifted / outcome.compared, {"drifted": outcome.drifted, "compared": outcome.compared,
                                                **skipped_details(outcome)}


def _skipped_summary(skipped: dict[str, str]) -> str:
    """One line naming the columns left out of the default features, grouped by reason."""
    by_reason: dict[str, list[str]] = {}
    for name, reason in skipped.items():
        key = reason.removeprefix("not compared: ").removesuffix(", not a feature")
        by_reason.setdefault(key, []).append(name)
    parts = []
    for reason, names in by_reason.items():
        shown = ", ".join(names[:5]) + (f" and {len(names) - 5} more" if len(names) > 5 else "")
        parts.append(f"{shown}: {reason}")
    return "not compared: " + "; ".join(parts)


__all__ = ["DriftOutcome", "DriftSection", "aggregate", "compute_drift"]
