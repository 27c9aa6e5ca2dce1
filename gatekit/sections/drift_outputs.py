"""Prediction drift and label drift: the drift section's ``prediction:`` and ``label:`` rules.

**Prediction drift** compares the candidate model's output on the current (evaluation) rows with its output on
the reference rows:

- binary classification: the positive class's score (numerical), or the predicted class shares when the
  current output is a prediction column of labels (the reference's scores then thresholded at the policy's
  decision threshold);
- regression: the forecast (numerical);
- multiclass: the predicted class shares (the argmax of the probabilities, or the prediction column), one check,
  and each class's probability, one check per class, when the current output has probabilities. The class
  shares catch a change in what the model predicts; each class's probability catches a shift in its confidence
  that leaves the argmax alone (a top-label probability would mix the classes).

The current side is the run's evaluation output (a score or prediction column, or the model's scores), or the
model scoring the current rows when no target was given. The reference side is, by ``prediction.source``: the
candidate model scoring the reference rows (``model``, the default: on pandas in memory, on DuckDB and Spark in
record batches where the rows are, :func:`gatekit.data.engine.map_batches`, as the evaluation rows are scored),
or a column of the reference (``reference_column``), which may come from an older model and is read only when
the policy asks for it.

**Label drift** compares the target column of the reference with the current data's: class shares for a
classification target, numbers for a regression target. A side without the target is not computable, never a
pass.

Both sides of every comparison become value counts (:mod:`gatekit.stats.counted_drift`): pandas counts its
arrays, the engines return grouped counts or add up per-batch counts, and one set of formulas gives the numbers,
so they are the same on every engine. The checks are built by the feature rules' own code (its messages and
details), passed in as ``feature_check``.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from gatekit.core.errors import InputError, NotComputable
from gatekit.core.labels import norm_label
from gatekit.core.results import CheckResult, OnFail, Status
from gatekit.data.engine import TABLE_ENGINES
from gatekit.policy.specs import CATEGORICAL_METHODS, DEFAULT_DRIFT_THRESHOLDS, NUMERICAL_METHODS, DriftSpec
from gatekit.sections.drift_common import METHOD_LABEL, SECTION, DriftOutcome, Feature
from gatekit.stats.counted_drift import (
    ValueCounts,
    add_counts,
    categorical_counts,
    evidently_method_counts,
    numerical_counts,
    psi_categorical_from_counts,
    psi_numerical_counts,
)
from gatekit.stats.drift import PsiResult, category_label

PREDICTION = "prediction"
LABEL = "label"
CLASSES = "classes"
"""The key of the predicted class shares among a side's outputs."""
PROBA = "probability of "
"""The key prefix of one class's probability among a side's outputs (``probability of <class>``)."""
BATCH_ROWS = 250_000
"""Rows per batch when the model scores an engine's reference rows."""


@dataclass
class Outputs:
    """One side's outputs as value counts, keyed by what is compared.

    Parameters
    ----------
    counts : dict of str to ValueCounts
        ``score`` (binary scores), ``forecast`` (regression), ``classes`` (predicted class shares) and
        ``probability of <class>`` (multiclass).
    origin : str
        Where they come from, in words (for the message).
    model : bool
        Scored by the model (a NaN or infinite output is then the model's failure, not a missing value).
    """

    counts: dict[str, ValueCounts] = field(default_factory=dict)
    origin: str = ""
    model: bool = False


@dataclass
class _Task:
    """What the current side's output is: the task, its class names and how the reference must match it."""

    task: str
    pos: str | None = None
    neg: str | None = None
    positive: Any = None
    classes: list[str] = field(default_factory=list)
    by_norm: dict[Any, str] = field(default_factory=dict)
    threshold: float = 0.5
    labels_only: bool = False

    def name_of(self, label: Any) -> str:
        """Return the class name a label is counted under (the current's class with the same normal form)."""
        key = norm_label(label)
        if self.task == "classification" and self.pos is not None:
            if key == norm_label(self.positive):
                return self.pos
            if self.neg is not None and self.by_norm.get(key) == self.neg:
                return self.neg
        return self.by_norm.get(key, category_label(label))


def _binary_names(info: dict[str, Any]) -> tuple[str, str, dict[Any, str]]:
    pos_label = info.get("positive_label")
    neg_label = info.get("negative_label")
    pos = category_label(pos_label)
    neg = category_label(neg_label) if neg_label is not None else f"not {pos}"
    by_norm = {norm_label(pos_label): pos}
    if neg_label is not None:
        by_norm[norm_label(neg_label)] = neg
    return pos, neg, by_norm


# ----------------------------------------------------------------------------------- per-batch counting


def _model_counts(frame: Any, runner: Any, task: str, names: list[str] | None, threshold: float,
                  labels: dict[str, Any] | None) -> dict[str, ValueCounts]:
    """Score one batch with the model and count its outputs (runs where the rows are; picklable).

    ``names``: multiclass, the class name of each of the runner's probability columns; ``labels``: binary
    labels only, ``{"1": positive name, "0": negative name}`` (the scores thresholded at ``threshold``).
    """
    out = runner(frame[runner.features])
    if task == "multiclass":
        mat = np.asarray(out, dtype=float)
        got: dict[str, ValueCounts] = {}
        assert names is not None
        got[CLASSES] = categorical_counts(_argmax_names(mat, names))
        for j, name in enumerate(names):
            got[PROBA + name] = numerical_counts(mat[:, j])
        return got
    s = np.asarray(out, dtype=float).reshape(-1)
    if task == "classification" and labels is not None:
        lab = np.full(len(s), None, dtype=object)
        lab[np.isfinite(s) & (s >= threshold)] = labels["1"]
        lab[np.isfinite(s) & (s < threshold)] = labels["0"]
        return {CLASSES: categorical_counts(lab)}
    return {"score" if task == "classification" else "forecast": numerical_counts(s)}


def _argmax_names(mat: np.ndarray, names: list[str]) -> np.ndarray:
    """Return each row's predicted class (the argmax, the first of ties); None where a probability is not finite."""
    finite = np.isfinite(mat).all(axis=1)
    out = np.full(len(mat), None, dtype=object)
    if len(mat):
        out[finite] = np.array(names, dtype=object)[np.argmax(mat[finite], axis=1)] if finite.any() else []
    return out


def _pattern_counts(frame: Any, columns: list[str], names: list[str]) -> dict[str, ValueCounts]:
    """Count one batch of probability columns (one per class): each class's probability and the argmax's class."""
    mat = frame[columns].to_numpy(dtype=float)
    got = {CLASSES: categorical_counts(_argmax_names(mat, names))}
    for j, name in enumerate(names):
        got[PROBA + name] = numerical_counts(mat[:, j])
    return got


def _over_batches(rows: Any, engine: str, columns: list[str], fn: Any) -> dict[str, ValueCounts]:
    """Apply ``fn`` (a batch -> counts) to a pandas frame at once, or to an engine's table batch by batch."""
    if engine not in TABLE_ENGINES:
        return dict(fn(rows[columns]))
    from gatekit.data.engine import map_batches

    parts: dict[str, list[ValueCounts]] = {}
    for got in map_batches(rows, columns, fn, BATCH_ROWS):
        for k, v in got.items():
            parts.setdefault(k, []).append(v)
    return {k: add_counts(v) for k, v in parts.items()}


def _column_values(rows: Any, engine: str, column: str) -> tuple[Any, Any, bool]:
    """Return one column's distinct values, their counts and whether it is stored as integers.

    pandas: the column itself (weights None); an engine: one grouped count (nulls in one group).
    """
    if engine not in TABLE_ENGINES:
        from pandas.api.types import is_bool_dtype, is_integer_dtype

        col = rows[column]
        return col, None, bool(is_integer_dtype(col.dtype) and not is_bool_dtype(col.dtype))
    dtype = rows.schema()[column]
    g = rows.group_by(v=rows[column]).aggregate(n=rows.count()).to_pandas()
    return g["v"], g["n"].to_numpy(dtype=np.int64), bool(dtype.is_integer())


def _numeric_column(rows: Any, engine: str, column: str, what: str) -> ValueCounts:
    import pandas as pd

    values, weights, integer = _column_values(rows, engine, column)
    try:
        v = pd.to_numeric(pd.Series(values).reset_index(drop=True), errors="raise").astype(float)
    except (TypeError, ValueError):
        raise NotComputable(f"the {what} {column!r} is not numeric") from None
    return numerical_counts(v.to_numpy(), weights, integer)


# ----------------------------------------------------------------------------------------- the sides


def _plan(ctx: Any) -> _Task:
    """Return the current side's task and class names (raises NotComputable when there is no task)."""
    info = ctx.inputs.info
    data = ctx.inputs.eval_data
    runner = getattr(ctx.inputs, "runner", None)
    task = info.get("task") or (data.task if data is not None else None) or getattr(runner, "task", None)
    if task is None:
        raise NotComputable("the run has no model output to compare: give the evaluation data's target and a score, "
                            "prediction or model (inputs.target, inputs.score / prediction / model)")
    threshold = getattr(data, "decision_threshold", None)
    t = _Task(task=task, threshold=float(threshold if threshold is not None else ctx.policy.policy.decision_threshold))
    if task == "classification":
        t.positive = info.get("positive_label") if info.get("positive_label") is not None else (
            data.positive_label if data is not None else None)
        if t.positive is None and runner is not None and getattr(runner, "positive_index", None) is not None:
            classes = list(getattr(runner.model, "classes_", []))
            t.positive = classes[runner.positive_index] if classes else None
        if t.positive is None:
            raise NotComputable("the positive label is not known, so the scores' class cannot be told")
        negative = info.get("negative_label")
        model_classes = list(getattr(getattr(runner, "model", None), "classes_", []))
        if negative is None and len(model_classes) == 2:  # no target: the model's other class
            negative = next((c for c in model_classes if norm_label(c) != norm_label(t.positive)), None)
        t.pos, t.neg, t.by_norm = _binary_names({**info, "positive_label": t.positive, "negative_label": negative})
        t.classes = [t.neg, t.pos]
    elif task == "multiclass":
        classes = list(getattr(data, "classes", None) or getattr(runner, "classes", None) or [])
        t.classes = [category_label(c) for c in classes]
        t.by_norm = {norm_label(c): category_label(c) for c in classes}
    return t


def current_outputs(ctx: Any, t: _Task) -> Outputs:
    """Return the candidate's output on the current rows as value counts.

    The run's evaluation output (compact rows counted by their ``weights`` on an engine); with no target, the
    model scoring the current rows.

    Raises
    ------
    NotComputable
        The model could not score the rows, or there is no output.
    """
    info = ctx.inputs.info
    data = ctx.inputs.eval_data
    inputs = ctx.inputs
    if inputs.scoring_error:
        raise NotComputable(f"the model could not score the evaluation rows: {inputs.scoring_error}")
    col = info.get("score") or info.get("prediction")
    origin = (f"{'score' if info.get('score') else 'prediction'} column {col!r} of the evaluation data" if col else
              "the candidate model's output on the evaluation rows")
    if data is None or (data.y_score is None and data.y_pred is None
                        and getattr(data, "probability_rows", None) is None):
        runner = getattr(inputs, "runner", None)
        if runner is None or (t.task == "multiclass" and not hasattr(runner, "classes")):
            why = inputs.runner_error or inputs.no_eval_reason
            raise NotComputable(f"no output of the candidate on the current rows ({why})")
        rows = inputs.table if inputs.engine in TABLE_ENGINES else inputs.frame
        if rows is None:
            raise NotComputable("no current data (inputs.data / --data)")
        return Outputs(_score(rows, inputs.engine, runner, t, labels_only=False), "the candidate model's output "
                       "on the evaluation rows", model=True)
    w = data.weights
    got: dict[str, ValueCounts] = {}
    if t.task == "classification":
        if data.y_score is not None:
            got["score"] = numerical_counts(data.y_score, w)
        else:
            t.labels_only = True
            y = np.asarray(data.y_pred, dtype=float)
            lab = np.full(len(y), None, dtype=object)
            lab[y == 1] = t.pos
            lab[y == 0] = t.neg
            got[CLASSES] = categorical_counts(lab, w)
    elif t.task == "regression":
        got["forecast"] = numerical_counts(data.y_score if data.y_score is not None else data.y_pred, w)
    else:
        names = np.array(t.classes, dtype=object)
        if data.y_pred is not None:
            codes = np.asarray(data.y_pred, dtype=float)
        else:
            codes = np.argmax(np.asarray(data.y_score, dtype=float), axis=1).astype(float)
        ok = np.isfinite(codes)
        pred = np.full(len(codes), None, dtype=object)
        pred[ok] = names[codes[ok].astype(np.int64)]
        got[CLASSES] = categorical_counts(pred, w)
        if data.y_score is not None:
            mat = np.asarray(data.y_score, dtype=float)
            for j, name in enumerate(t.classes):
                got[PROBA + name] = numerical_counts(mat[:, j], w)
        elif getattr(data.probability_rows, "y_score", None) is not None:  # an engine's rows, by probability vector
            rows = data.probability_rows
            mat = np.asarray(rows.y_score, dtype=float)
            for j, name in enumerate(t.classes):
                got[PROBA + name] = numerical_counts(mat[:, j], rows.weights)
        else:
            t.labels_only = True
    return Outputs(got, origin, model=not col)


def _score(rows: Any, engine: str, runner: Any, t: _Task, labels_only: bool) -> dict[str, ValueCounts]:
    """Score rows with the candidate's bound runner and count the outputs (pandas at once, engines in batches)."""
    columns = list(runner.features)
    have = list(rows.columns)
    missing = [c for c in columns if c not in have]
    if missing:
        raise NotComputable(f"the rows lack columns the model needs: {missing}")
    names = [t.name_of(c) for c in getattr(runner, "classes", [])] if t.task == "multiclass" else None
    labels = {"1": t.pos, "0": t.neg} if labels_only and t.task == "classification" else None
    fn = functools.partial(_model_counts, runner=runner, task=t.task, names=names, threshold=t.threshold,
                           labels=labels)
    try:
        return _over_batches(rows, engine, columns, fn)
    except NotComputable:
        raise
    except KeyboardInterrupt:
        raise
    except BaseException as exc:  # noqa: BLE001 - the model failing on the rows (even sys.exit): not computable
        from gatekit.data.spark import java_message

        raise NotComputable(f"the model failed to score the reference rows: {type(exc).__name__}: "
                            f"{java_message(exc)}") from None


def reference_outputs(ctx: Any, spec: Any, t: _Task, ref: Any, current: Outputs) -> Outputs:
    """Return the candidate's output on the reference rows, from the model or a reference column.

    Raises
    ------
    NotComputable
        Naming what to give: a model, a column, the model's features in the reference.
    """
    inputs = ctx.inputs
    engine = inputs.engine
    source = spec.source or "model"
    if source == "model":
        runner = getattr(inputs, "runner", None)
        if runner is None:
            why = (f" ({inputs.runner_error})" if inputs.runner_error else
                   f" ({inputs.scoring_error})" if inputs.scoring_error else "")
            has_model = inputs.model is not None
            raise NotComputable(
                ("the candidate model cannot score the reference rows" + why if has_model else
                 "no model to score the reference rows with") + ": give the candidate model (--model / inputs.model)"
                " that can score them, or compare a column the reference holds (drift.prediction.source: "
                "reference_column, with column: when its name differs from the score or prediction column)")
        missing = [c for c in runner.features if c not in list(ref.columns)]
        if missing:
            raise NotComputable(f"the reference data lacks columns the model needs: {missing}; give a reference "
                                "with the model's features, or set drift.prediction.source: reference_column")
        return Outputs(_score(ref, engine, runner, t, labels_only=t.labels_only),
                       "the candidate model's output on the reference rows", model=True)
    info = inputs.info
    column = spec.column or info.get("score") or info.get("prediction")
    if column is None:
        raise NotComputable("drift.prediction.source is reference_column but no column is named: set "
                            "drift.prediction.column (the evaluation output came from the model, not a column)")
    origin = f"column {column!r} of the reference data"
    from gatekit.data.classes import is_pattern

    if t.task == "multiclass" and is_pattern(column):
        from gatekit.data.classes import pattern_columns

        try:
            cols = pattern_columns(list(ref.columns), column, "the reference data", "drift.prediction.column")
        except InputError as exc:
            raise NotComputable("; ".join(p.message for p in exc.problems)) from None
        names = [t.name_of(label) for _, label in cols]
        fn = functools.partial(_pattern_counts, columns=[c for c, _ in cols], names=names)
        return Outputs(_over_batches(ref, engine, [c for c, _ in cols], fn), f"columns {column!r} of the reference "
                       "data")
    if column not in list(ref.columns):
        raise NotComputable(f"the reference data has no column {column!r}: give a reference with the model's "
                            "output in it, set drift.prediction.column, or score it with the model (source: model)")
    if t.task == "regression" or (t.task == "classification" and not t.labels_only):
        what = "forecast" if t.task == "regression" else "score"
        return Outputs({what: _numeric_column(ref, engine, column, f"reference {what} column")}, origin)
    values, weights, _ = _column_values(ref, engine, column)
    labels: list[Any] = [None if _missing(v) else t.name_of(v) for v in values]
    return Outputs({CLASSES: categorical_counts(np.array(labels, dtype=object), weights)}, origin)


def _missing(v: Any) -> bool:
    import pandas as pd

    try:
        return bool(pd.isna(v))
    except (TypeError, ValueError):
        return False


# ----------------------------------------------------------------------------------------- the checks


def _method(rule: Any) -> tuple[str, float]:
    method = rule.method or "psi"
    threshold = rule.threshold if rule.threshold is not None else DEFAULT_DRIFT_THRESHOLDS[method]
    return method, float(threshold)


def _unavailable(name: str, rule: Any, spec: DriftSpec, reason: str, what: str) -> CheckResult:
    method, _ = _method(rule)
    return CheckResult(name=f"{name}.{method}", section=SECTION, status=Status.NOT_COMPUTABLE,
                       on_fail=rule.on_fail or spec.on_fail,
                       message=f"{what} not computed: {reason}",
                       details={"output": name, "method": method, "label": f"{METHOD_LABEL[method]} of the {name}"})


def _compare(key: str, title: str, name: str, rule: Any, spec: DriftSpec, ref: ValueCounts, cur: ValueCounts,
             feature_check: Any, extra: dict[str, Any], model_ref: bool, model_cur: bool) -> CheckResult:
    """Compare one output's two sides with the feature rules' code (:func:`gatekit.sections.drift._feature_check`)."""
    method, threshold = _method(rule)
    kind = cur.kind
    engine = "gatekit" if method == "psi" and spec.psi.binning == "quantile" else "evidently"
    f = Feature(name, kind, method, threshold, rule.on_fail or spec.on_fail, engine, n_ref=ref.n, n_cur=cur.n)
    ok = NUMERICAL_METHODS if kind == "numerical" else CATEGORICAL_METHODS
    what = "numbers" if kind == "numerical" else "class shares"
    if method not in ok:
        f.problem = f"{method} does not apply to the {title} ({what}); use one of {', '.join(ok)}"
    else:
        for side, vc, by_model in (("reference", ref, model_ref), ("current", cur, model_cur)):
            bad = vc.infinite + (vc.missing if by_model else 0)
            if bad:
                f.problem = (f"the model gave {bad:,} outputs that are not numbers (NaN or infinite) on the {side} "
                             f"rows, so the {title} is not compared" if by_model else
                             f"the {side} {title} holds {bad:,} infinite values, which {METHOD_LABEL[method]} cannot "
                             "place")
                break
        else:
            if ref.n == 0 or cur.n == 0:
                f.problem = f"every {'reference' if ref.n == 0 else 'current'} value of the {title} is missing"
    ev_values: dict[str, float] = {}
    ev_errors: dict[str, str] = {}
    not_finite: dict[str, str] = {}
    notes: dict[str, str] = {}
    if f.problem is None and (engine == "evidently" or spec.psi.binning == "evidently"):
        from gatekit.sections.drift_evidently import JS_ROUNDING_NOTE, explain_non_finite_counts

        jobs = [(name, method)] if engine == "evidently" else []
        if spec.psi.binning == "evidently" and method != "psi":
            jobs.append((f"{name}#psi", "psi"))
        for job, m in jobs:
            try:
                v, nan = evidently_method_counts(m, ref, cur)
            except NotComputable as exc:
                ev_errors[job] = exc.reason
                continue
            if nan is not None:
                notes[job] = JS_ROUNDING_NOTE.format(value=nan)
            if np.isfinite(v):
                ev_values[job] = float(v)
            else:
                constant = m == "wasserstein" and len(ref.values) == 1
                n_cats = len(set(map(str, ref.values)) | set(map(str, cur.values))) if m == "chisquare" else None
                not_finite[job] = explain_non_finite_counts(m, v, kind, constant, n_cats)

    def psi_of(feat: Feature) -> PsiResult:
        if kind == "numerical":
            return psi_numerical_counts(ref, cur, spec.psi.bins, spec.psi.smoothing)
        return psi_categorical_from_counts(ref, cur, spec.psi.smoothing)

    scratch = DriftOutcome()
    try:
        check = feature_check(f, psi_of, spec, ev_values, ev_errors, scratch, not_finite=not_finite, notes=notes,
                              aggregated=False)
    except Exception as exc:  # noqa: BLE001 - one comparison that cannot be made never hides the others
        check = CheckResult(name=f"{name}.{method}", section=SECTION, status=Status.ERROR, on_fail=f.on_fail,
                            message=f"cannot compare the {title}: {type(exc).__name__}: {exc}")
    check.details.update({"feature": title, "output": key, "label": f"{METHOD_LABEL[method]} of the {title}",
                          **extra})
    if check.status in (Status.PASS, Status.FAIL):
        check.message += f"; reference: {extra['reference_source']}; current: {extra['current_source']}"
    return check


def prediction_checks(ctx: Any, spec: DriftSpec, ref: Any, feature_check: Any) -> list[CheckResult]:
    """Return the prediction-drift checks (``drift.prediction``).

    Parameters
    ----------
    ctx : RunContext
        The run.
    spec : DriftSpec
        The drift section (its ``prediction`` rule is set).
    ref : pandas.DataFrame or ibis.Table or None
        The reference rows (an ibis table on DuckDB / Spark); None when there are none.
    feature_check : callable
        :func:`gatekit.sections.drift._feature_check` (builds a check from a planned comparison).

    Returns
    -------
    list of CheckResult
        ``prediction.<method>`` (the score, forecast or predicted class shares) and, multiclass,
        ``prediction[<class>].<method>`` per class probability; one not-computable ``prediction.<method>`` when
        a side cannot be had.
    """
    rule = spec.prediction
    assert rule is not None
    if ref is None:
        return [_unavailable(PREDICTION, rule, spec, "no reference data (inputs.reference / --reference)",
                             "prediction drift")]
    try:
        t = _plan(ctx)
        cur = current_outputs(ctx, t)
        refs = reference_outputs(ctx, rule, t, ref, cur)
    except NotComputable as exc:
        return [_unavailable(PREDICTION, rule, spec, exc.reason, "prediction drift")]
    engine = ctx.inputs.engine
    extra: dict[str, Any] = {"reference_source": refs.origin, "current_source": cur.origin,
                             "source": rule.source or "model"}
    if engine in TABLE_ENGINES:
        extra["data_engine"] = engine
    out = []
    for key, counts in cur.counts.items():
        if key == CLASSES:
            name, title = PREDICTION, "predicted classes"
        elif key.startswith(PROBA):
            name, title = f"{PREDICTION}[{key[len(PROBA):]}]", key
        else:
            name, title = PREDICTION, f"prediction {key}" if key == "score" else "forecast"
        other = refs.counts.get(key)
        if other is None:
            method, _ = _method(rule)
            out.append(CheckResult(
                name=f"{name}.{method}", section=SECTION, status=Status.NOT_COMPUTABLE,
                on_fail=rule.on_fail or spec.on_fail,
                message=f"the {title} is not compared: the reference side ({refs.origin}) has no {title}; give "
                        "the model (source: model) or a reference column of the same kind",
                details={"feature": title, "output": key, "method": method, **extra}))
            continue
        out.append(_compare(key, title, name, rule, spec, other, counts, feature_check, extra, refs.model, cur.model))
    return out


def label_checks(ctx: Any, spec: DriftSpec, ref: Any, feature_check: Any) -> list[CheckResult]:
    """Return the label-drift check (``drift.label``): the target on the reference rows against the current rows.

    Parameters
    ----------
    ctx, spec, ref, feature_check
        As :func:`prediction_checks`.

    Returns
    -------
    list of CheckResult
        One ``label.<method>`` check: class shares for a classification target, numbers for a regression target;
        not computable when either side lacks the target.
    """
    rule = spec.label
    assert rule is not None
    inputs = ctx.inputs
    target = inputs.info.get("target")
    if ref is None:
        return [_unavailable(LABEL, rule, spec, "no reference data (inputs.reference / --reference)", "label drift")]
    if not target:
        return [_unavailable(LABEL, rule, spec, "no target column was given (inputs.target / --target); label drift "
                             "compares the target of the reference with the current data's", "label drift")]
    column = rule.column or target
    engine = inputs.engine
    cur_rows = inputs.table if engine in TABLE_ENGINES else inputs.frame
    task = inputs.info.get("task") or getattr(inputs.eval_data, "task", None)
    if column not in list(ref.columns):
        return [_unavailable(LABEL, rule, spec, f"the reference data has no column {column!r} (the target); give a "
                             "reference with the labels, or set drift.label.column to its name there", "label drift")]
    if cur_rows is None or target not in list(cur_rows.columns):
        return [_unavailable(LABEL, rule, spec, f"the current data has no target column {target!r}", "label drift")]
    title = f"label {target}" if column == target else f"label {target} (reference column {column})"
    extra: dict[str, Any] = {"reference_source": f"column {column!r} of the reference data",
                             "current_source": f"target {target!r} of the evaluation data"}
    if engine in TABLE_ENGINES:
        extra["data_engine"] = engine
    try:
        if task == "regression":
            cur = _numeric_column(cur_rows, engine, target, "target")
            refc = _numeric_column(ref, engine, column, "reference target column")
        else:
            cv, cw, _ = _column_values(cur_rows, engine, target)
            rv, rw, _ = _column_values(ref, engine, column)
            cur, refc = categorical_counts(cv, cw), categorical_counts(rv, rw)
    except NotComputable as exc:
        return [_unavailable(LABEL, rule, spec, exc.reason, "label drift")]
    return [_compare(LABEL, title, LABEL, rule, spec, refc, cur, feature_check, extra, False, False)]


def output_checks(ctx: Any, spec: DriftSpec, ref: Any, feature_check: Any,
                  unavailable: str | None = None) -> list[CheckResult]:
    """Return the prediction- and label-drift checks the policy asks for (none without those rules).

    Parameters
    ----------
    ctx, spec, ref, feature_check
        As :func:`prediction_checks`.
    unavailable : str, optional
        Why the drift section has nothing to compare (no reference or no current data): each rule is then one
        not-computable check saying so.
    """
    out: list[CheckResult] = []
    for name, rule, fn in ((PREDICTION, spec.prediction, prediction_checks), (LABEL, spec.label, label_checks)):
        if rule is None:
            continue
        if unavailable is not None:
            out.append(_unavailable(name, rule, spec, unavailable, f"{name} drift"))
            continue
        try:
            out.extend(fn(ctx, spec, ref, feature_check))
        except Exception as exc:  # noqa: BLE001 - one rule failing never hides the other or the feature checks
            method, _ = _method(rule)
            out.append(CheckResult(name=f"{name}.{method}", section=SECTION, status=Status.ERROR,
                                   on_fail=rule.on_fail or spec.on_fail,
                                   message=f"{name} drift failed: {type(exc).__name__}: {exc}"))
    return out


def planned(spec: DriftSpec) -> list[tuple[str, OnFail]]:
    """Return the stand-in checks of the prediction and label rules (when the section fails as a whole)."""
    out = []
    for name, rule in ((PREDICTION, spec.prediction), (LABEL, spec.label)):
        if rule is not None:
            out.append((f"{name}.{_method(rule)[0]}", rule.on_fail or spec.on_fail))
    return out


__all__ = ["Outputs", "current_outputs", "label_checks", "output_checks", "planned", "prediction_checks",
           "reference_outputs"]
