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

import os
from dataclasses import dataclass, field
from typing import Any

from gatekit.core.decision import evaluate_threshold
from gatekit.core.errors import NotComputable
from gatekit.core.formatting import fmt, fmt_pair
from gatekit.core.results import CheckKey, CheckResult, OnFail, Status
from gatekit.policy.loader import LoadedPolicy
from gatekit.policy.specs import (
    CATEGORICAL_METHODS,
    DEFAULT_DRIFT_THRESHOLDS,
    NUMERICAL_METHODS,
    P_VALUE_METHODS,
    DriftSpec,
)
from gatekit.stats.drift import (
    PsiResult,
    leakage_score,
    psi_categorical,
    psi_numerical,
)

SECTION = "drift"
EVIDENTLY_REPORT_MAX_ROWS = 200_000
METHOD_LABEL = {"psi": "PSI", "jensenshannon": "Jensen-Shannon distance", "wasserstein": "Wasserstein distance "
                "(normed)", "ks": "KS p-value", "chisquare": "chi-square p-value"}


@dataclass
class _Feature:
    name: str
    kind: str | None
    method: str
    threshold: float
    on_fail: OnFail
    engine: str  # "gatekit" or "evidently"
    problem: str | None = None  # why it cannot be compared (decided before computing)
    n_ref: int = 0  # non-missing values on each side (counted once: a text column's isna costs a pass)
    n_cur: int = 0


@dataclass
class DriftOutcome:
    """Everything the drift computation found (shared by the section and the drift metric names).

    Parameters
    ----------
    checks : list of CheckResult
        One per feature (and per leakage-scanned feature).
    psi : dict of str to float
        PSI per feature in the section's definition (for ``psi_feature_drift``).
    psi_missing : dict of str to str
        Features whose PSI could not be computed, and why.
    drifted, compared : int
        Features that failed their rule, and features with a result (for ``drift_share``).
    unavailable : str or None
        Why nothing could be compared (no reference or no current data).
    info : dict
        The definitions used, for the report's metadata.
    evidently_html : callable or None
        Renders evidently's own HTML report.
    """

    checks: list[CheckResult] = field(default_factory=list)
    psi: dict[str, float] = field(default_factory=dict)
    psi_missing: dict[str, str] = field(default_factory=dict)
    drifted: int = 0
    compared: int = 0
    not_compared: dict[str, str] = field(default_factory=dict)
    unavailable: str | None = None
    info: dict[str, Any] = field(default_factory=dict)
    evidently_html: Any = None


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


def _plan_features(ctx: Any, spec: DriftSpec, ref: Any, cur: Any) -> list[_Feature]:
    info = ctx.inputs.info
    not_features = {c for c in (info.get("target"), info.get("score"), info.get("prediction")) if c}
    names = spec.features or [str(c) for c in cur.columns if c in ref.columns and str(c) not in not_features]
    out = []
    for name in names:
        col = spec.columns.get(name)
        if name in spec.numerical_features:
            kind: str | None = "numerical"
        elif name in spec.categorical_features:
            kind = "categorical"
        elif name in ref.columns:
            kind = column_kind(ref[name]) or (column_kind(cur[name]) if name in cur.columns else None)
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
        f = _Feature(name, kind, method, float(threshold), on_fail, engine)
        if name not in ref.columns or name not in cur.columns:
            side = "reference" if name not in ref.columns else "current"
            f.problem = f"column {name!r} is missing from the {side} data"
        elif kind is None:
            f.problem = (f"column {name!r} is neither numerical nor categorical ({ref[name].dtype}); list it in "
                         "numerical_features or categorical_features")
        elif method not in (NUMERICAL_METHODS if kind == "numerical" else CATEGORICAL_METHODS):
            ok = NUMERICAL_METHODS if kind == "numerical" else CATEGORICAL_METHODS
            f.problem = f"{method} does not apply to {kind} column {name!r}; use one of {', '.join(ok)}"
        else:
            f.n_ref, f.n_cur = int(ref[name].notna().sum()), int(cur[name].notna().sum())
            if f.n_ref == 0 or f.n_cur == 0:
                f.problem = f"every {'reference' if f.n_ref == 0 else 'current'} value of {name!r} is missing"
        out.append(f)
    return out


def _our_psi(f: _Feature, ref: Any, cur: Any, spec: DriftSpec, plain: bool = False) -> PsiResult:
    if f.kind == "numerical":
        return psi_numerical(ref[f.name], cur[f.name], spec.psi.bins, spec.psi.smoothing, plain=plain)
    return psi_categorical(ref[f.name], cur[f.name], spec.psi.smoothing)


def _want_evidently_report(spec: DriftSpec, ref: Any, cur: Any) -> bool:
    if spec.evidently_report == "auto":
        return max(len(ref), len(cur)) <= EVIDENTLY_REPORT_MAX_ROWS
    return bool(spec.evidently_report)


def _safe_name(name: str) -> bool:
    return name.isprintable() and not any(ch in name for ch in "<>&\"'`\\/")


def _run_evidently(features: list[_Feature], ref: Any, cur: Any, spec: DriftSpec,
                   report: bool) -> tuple[dict[str, float], dict[str, str], Any]:
    """Run evidently's ValueDrift on the features that need it (and on every feature when its HTML is wanted).

    Returns values by feature name, errors by feature name, and a renderer of evidently's HTML (or None).
    """
    need = [f for f in features if f.problem is None and (f.engine == "evidently" or report)]
    # with evidently's PSI binning, psi_feature_drift needs evidently's PSI of every feature, whatever its method
    extra_psi = [f for f in need if spec.psi.binning == "evidently" and f.method != "psi"]
    if not need:
        return {}, {}, None
    os.environ.setdefault("DO_NOT_TRACK", "1")
    import warnings

    from evidently import DataDefinition, Dataset, Report
    from evidently.metrics import ValueDrift

    # evidently writes column names raw into a <script> block of its HTML: a name with markup characters
    # goes to it under an alias (gatekit_column_<i>), so its report can never run code from the header
    alias = {f.name: (f.name if _safe_name(f.name) else f"gatekit_column_{i}") for i, f in enumerate(need)}
    names = [f.name for f in need]
    definition = DataDefinition(numerical_columns=[alias[f.name] for f in need if f.kind == "numerical"],
                                categorical_columns=[alias[f.name] for f in need if f.kind == "categorical"])
    metrics = [ValueDrift(column=alias[f.name], method=f.method if f.engine == "evidently" else "psi",
                          threshold=f.threshold) for f in need]
    metrics += [ValueDrift(column=alias[f.name], method="psi") for f in extra_psi]
    cur, ref = cur[names].rename(columns=alias), ref[names].rename(columns=alias)
    names = [alias[n] for n in names]
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # scipy's divide-by-zero notes on empty bins: the values stand
            snapshot = Report(metrics).run(Dataset.from_pandas(cur[names], data_definition=definition),
                                           Dataset.from_pandas(ref[names], data_definition=definition))
        results = snapshot.dict()["metrics"]
    except Exception as exc:  # noqa: BLE001 - evidently failing is each of its features' error
        msg = f"evidently failed: {type(exc).__name__}: {exc}"
        return {}, {f.name: msg for f in need if f.engine == "evidently"}, None
    values: dict[str, float] = {}
    errors: dict[str, str] = {}
    keys = [f.name if f.engine == "evidently" else None for f in need] + [f"{f.name}#psi" for f in extra_psi]
    for key, res in zip(keys, results, strict=True):
        if key is None:
            continue
        try:
            values[key] = float(res["value"])
        except (TypeError, ValueError, KeyError):
            errors[key] = f"evidently returned no value ({res.get('value')!r})"
    return values, errors, ((lambda: snapshot.get_html_str(as_iframe=False)) if report else None)


def compute_drift(ctx: Any) -> DriftOutcome:
    """Compare reference and current data per feature and scan for label leakage.

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
    try:
        ref = _reference(ctx, spec)
    except NotComputable as exc:
        out.unavailable = exc.reason
        return out
    cur = ctx.inputs.frame
    if ref is None or cur is None:
        out.unavailable = ("no reference data (inputs.reference / --reference)" if ref is None else
                           "no current data (inputs.data / --data)") + ": drift compares the two"
        return out
    features = _plan_features(ctx, spec, ref, cur)
    compared = {f.name for f in features}
    for name, rule in spec.columns.items():  # an override that applies to nothing is a typo, not a pass
        if name not in compared:
            where = ("not in `features`" if spec.features else
                     "not a column of both the reference and the current data (or it is the target / score)")
            out.checks.append(CheckResult(
                name=f"{name}.drift", section=SECTION, status=Status.NOT_COMPUTABLE,
                on_fail=rule.on_fail or spec.on_fail,
                message=f"drift.columns has a rule for {name!r}, which is {where}; fix the name or remove the rule"))
            out.not_compared[name] = "its drift.columns rule applies to no compared column"
    report = _want_evidently_report(spec, ref, cur)
    ev_values, ev_errors, out.evidently_html = _run_evidently(features, ref, cur, spec, report)
    out.info = {"reference_rows": len(ref), "current_rows": len(cur),
                "numerical": [f.name for f in features if f.kind == "numerical"],
                "categorical": [f.name for f in features if f.kind == "categorical"],
                "psi": {"binning": spec.psi.binning, "bins": spec.psi.bins, "smoothing": spec.psi.smoothing},
                "evidently_report": out.evidently_html is not None}
    for f in features:
        try:
            out.checks.append(_feature_check(f, ref, cur, spec, ev_values, ev_errors, out,
                                             plain=ctx.options.reference_paths))
        except Exception as exc:  # noqa: BLE001 - one column that cannot be compared never hides the others
            msg = f"cannot compare {f.name!r}: {type(exc).__name__}: {exc}"
            out.psi_missing[f.name] = out.not_compared[f.name] = msg
            out.checks.append(CheckResult(name=f"{f.name}.{f.method}", section=SECTION, status=Status.ERROR,
                                          on_fail=f.on_fail, message=msg, details={"feature": f.name}))
    if spec.leakage is not None:
        out.checks.extend(_leakage_checks(ctx, spec, features, cur))
    return out


class _ThresholdKey(CheckKey):
    """What every result of one feature's drift rule shares."""

    op: str
    threshold: float


def _feature_check(f: _Feature, ref: Any, cur: Any, spec: DriftSpec, ev_values: dict[str, float],
                   ev_errors: dict[str, str], out: DriftOutcome, plain: bool = False) -> CheckResult:
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
            psi_res = _our_psi(f, ref, cur, spec, plain)
            out.psi[f.name] = psi_res.value
        except NotComputable as exc:
            out.psi_missing[f.name] = exc.reason
    elif f.method != "psi":  # evidently's PSI, computed beside this feature's own method
        if f"{f.name}#psi" in ev_values:
            out.psi[f.name] = ev_values[f"{f.name}#psi"]
        else:
            out.psi_missing[f.name] = ev_errors.get(f"{f.name}#psi", "evidently gave no PSI")
    if f.engine == "gatekit":
        if psi_res is None:
            out.not_compared[f.name] = out.psi_missing[f.name]
            return CheckResult(status=Status.NOT_COMPUTABLE, message=out.psi_missing[f.name], details=details, **base)
        value = psi_res.value
        binning = {"numerical": f"{spec.psi.bins} reference-quantile bins, duplicate edges removed, open outer "
                                 "bins, closed on the left",
                   "discrete": f"one bin per value (the reference has at most {spec.psi.bins} distinct values)",
                   "categorical": "one bin per category"}[psi_res.kind]
        details.update({"missing_bin": psi_res.missing_bin,
                        "bins" if psi_res.kind == "numerical" else "categories": psi_res.bins,
                        "reference_counts": psi_res.reference_counts, "current_counts": psi_res.current_counts,
                        "smoothing": psi_res.smoothing, "unseen_categories": psi_res.unseen, "binning": binning})
    else:
        if f.name in ev_errors or f.name not in ev_values:
            out.not_compared[f.name] = ev_errors.get(f.name, "evidently gave no value")
            if f.method == "psi":
                out.psi_missing[f.name] = out.not_compared[f.name]
            return CheckResult(status=Status.ERROR, message=out.not_compared[f.name], details=details, **base)
        value = ev_values[f.name]
        if f.method == "psi":
            out.psi[f.name] = value
            out.psi_missing.pop(f.name, None)
            details["binning"] = "evidently's (equal-width bins over reference and current together)"
    status, margin = evaluate_threshold(value, op, f.threshold)
    out.compared += 1
    out.drifted += status == Status.FAIL
    shown, limit = fmt_pair(value, f.threshold)
    sizes = f"n = {f.n_ref:,} reference vs {f.n_cur:,} current"
    if f.method in P_VALUE_METHODS:
        verdict = "no drift detected" if status == Status.PASS else "drift detected"
        msg = f"{METHOD_LABEL[f.method]} p = {shown} ({sizes}); {verdict} at {op} {limit}"
        details["p_value"] = value
    else:
        msg = f"{METHOD_LABEL[f.method]} {shown} {'meets' if status == Status.PASS else 'exceeds'} " \
              f"{op} {limit} ({sizes})"
    if psi_res is not None:
        if f.method != "psi":  # the PSI psi_feature_drift uses for this feature, shown where it is counted
            details["psi"] = psi_res.value
            msg += f"; PSI {fmt(psi_res.value)} (counted by psi_feature_drift)"
        else:
            k = (len(psi_res.bins) + 1 if psi_res.kind == "numerical" else len(psi_res.bins)) + psi_res.missing_bin
            # PSI of two samples of one distribution is about (k - 1)(1/n + 1/m), not 0 (Yurdakul 2018)
            expected = (k - 1) * (1 / f.n_ref + 1 / f.n_cur)
            details["psi_without_drift_expected"] = expected
            msg += f"; about {fmt(expected)} is expected from sampling alone"
        if psi_res.unseen:
            shown_unseen = ", ".join(repr(u) for u in psi_res.unseen[:10])
            more = f" and {len(psi_res.unseen) - 10} more" if len(psi_res.unseen) > 10 else ""
            what = "categories" if psi_res.kind == "categorical" else "values"
            msg += f"; {what} only in the current data: {shown_unseen}{more}"
            details.setdefault("unseen_categories", psi_res.unseen)
        if f.method == "psi" and (0 in psi_res.reference_counts or 0 in psi_res.current_counts):
            msg += f"; smoothing {psi_res.smoothing:g} for empty bins"
    return CheckResult(status=status, observed=value, margin=margin, message=msg, details=details, **base)


def _leakage_checks(ctx: Any, spec: DriftSpec, features: list[_Feature], cur: Any) -> list[CheckResult]:
    lk = spec.leakage
    assert lk is not None
    sev = lk.on_fail or spec.on_fail
    data = ctx.inputs.eval_data
    names = lk.features or [f.name for f in features]
    kinds = {f.name: f.kind for f in features}
    out = []
    for name in names:
        base: CheckKey = dict(name=f"{name}.leakage", section=SECTION, on_fail=sev)
        if data is None or data.y_true is None:
            out.append(CheckResult(status=Status.NOT_COMPUTABLE, message="no target (inputs.target): the leakage "
                                   "scan needs the evaluation labels", **base))
            continue
        if name not in cur.columns:
            out.append(CheckResult(status=Status.NOT_COMPUTABLE, message=f"column {name!r} is not in the evaluation "
                                   "data", **base))
            continue
        kind = kinds.get(name) or column_kind(cur[name])
        if kind is None:
            out.append(CheckResult(status=Status.NOT_COMPUTABLE, message=f"column {name!r} is neither numerical nor "
                                   "categorical", **base))
            continue
        try:
            res = leakage_score(cur[name], data.y_true, kind, data.task, lk.min_pairs)
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
        shown, lim = fmt_pair(res.value, limit)
        verdict = "no sign of leakage" if status == Status.PASS else "possible label leakage: this feature alone " \
                                                                     "predicts the target"
        out.append(CheckResult(status=status, observed=res.value, op="<=", threshold=limit, margin=margin,
                               message=f"{label} {shown} (n = {res.n_pairs:,}); {verdict} (limit {lim})",
                               details={"measure": res.measure, "n_pairs": res.n_pairs, "feature": name,
                                        "target_encoded": res.encoded, "label": f"Leakage: {label}"}, **base))
    return out


class DriftSection:
    """Adapter for ``drift:`` (gatekit's PSI, evidently for the other methods)."""

    name = SECTION

    def planned(self, policy: LoadedPolicy) -> list[tuple[str, OnFail]]:
        """Return one stand-in check: the features are known only once the data is read."""
        spec = policy.policy.drift
        return [] if spec is None else [("drift", spec.on_fail)]

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
                                message=outcome.unavailable)]
        if not outcome.checks:
            return [CheckResult(name="drift", section=SECTION, status=Status.NOT_COMPUTABLE, on_fail=spec.on_fail,
                                message="no feature to compare: the reference and current data share no column "
                                        "besides the target, score and prediction")]
        return outcome.checks


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
        return outcome.psi[feature], {"feature": feature, "psi": outcome.psi,
                                      "note": f"largest PSI: feature {feature}"}
    if outcome.not_compared:
        raise NotComputable(f"{', '.join(sorted(outcome.not_compared))} could not be compared; a share without them "
                            "could hide drift", {"not_compared": outcome.not_compared})
    if outcome.compared == 0:
        raise NotComputable("no feature to compare")
    return outcome.drifted / outcome.compared, {"drifted": outcome.drifted, "compared": outcome.compared}


__all__ = ["DriftOutcome", "DriftSection", "aggregate", "compute_drift"]
