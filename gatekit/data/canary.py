"""Canary traffic logs, split into the candidate's arm and production's arm.

One log of served rows with their outcomes becomes the candidate's rows and production's rows
(each an :class:`~gatekit.metrics.registry.EvalData`). The outcome is binary, numeric (regression) or
multiclass: for a multiclass outcome the served model's output is one probability column per class, named by a
pattern (``score: "score_*"``, as ``inputs.score``; :mod:`gatekit.data.multiclass`), or a predicted-class
column (``prediction``). Both arms share one class order, and each arm's rows are checked as the evaluation
data's are (a missing probability, one outside [0, 1] or a row not summing to 1 is an input error naming the
file lines; nothing is renormalised). An outcome class that occurs in one arm only is refused: the arms'
averages over classes (``balanced_accuracy``, ``f1_macro``, ...) would then average different classes.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from gatekit.core.errors import input_error
from gatekit.core.hashing import must_exist, record_file
from gatekit.core.labels import norm_label
from gatekit.data.classes import check_matrix, codes_of, is_pattern, label_classes, pattern_columns
from gatekit.data.labels import check_label_space, infer_positive, infer_task, numeric, to01
from gatekit.data.readers import canary_roles, read_frame, require_column, role_conflict_message, role_conflicts
from gatekit.data.sensitive import sensitive_frame
from gatekit.metrics.registry import EvalData


@dataclass
class CanaryArms:
    """A canary traffic log split by arm.

    Parameters
    ----------
    candidate, baseline : EvalData
        The rows served by the candidate and by production (each with its own outcomes).
    info : dict
        File, rows per arm, rows in neither arm, positives per arm, and ``latency_column`` when the log has one
        (each arm's ``latency_ms`` then holds its rows' served latencies, in the rows' order).
    """

    candidate: EvalData
    baseline: EvalData
    info: dict[str, Any] = field(default_factory=dict)
    arrival: np.ndarray | None = None
    """Which arm served each row of the log in arrival order (``canary.sequential.order_by``, else the log's
    order): 1 candidate, 0 production, -1 neither; each arm's rows are in this order too."""
    history: Any = None
    """The rollout's earlier looks from the run history (:class:`gatekit.sections.canary_sequential.Looks`), set
    by :func:`gatekit.api.run` for ``canary.sequential``; None when nobody read the history."""


def load_canary(spec: Any, path: Path, files: dict[str, dict[str, Any]], decision_threshold: float = 0.5,
                strict: bool = True, extra_sensitive: list[str] | None = None,
                bins: dict[str, Any] | None = None) -> CanaryArms:
    """Read a canary traffic log and split it into the candidate's and production's arms.

    Parameters
    ----------
    spec : gatekit.policy.specs.CanarySpec
        Column names and arm values.
    path : pathlib.Path
        The log, ``.csv`` or ``.parquet``.
    files : dict
        The run's file records (role ``canary_log`` is added).
    decision_threshold, strict : float, bool
        As for :class:`EvalData`.
    extra_sensitive : list of str, optional
        Sensitive columns named by the rules' parameters.
    bins : dict, optional
        ``inputs.sensitive_bins`` (:func:`gatekit.data.sensitive.sensitive_frame`), for the log's columns.

    Returns
    -------
    CanaryArms

    Raises
    ------
    InputError
        Missing file or column, an arm with no rows, missing outcomes, a non-numeric score, a bad served latency
        (``canary.latency``: :func:`check_latencies`).
    """
    found = role_conflicts([*canary_roles(spec), ("canary sensitive", extra_sensitive or [])])
    if found:
        raise input_error(role_conflict_message(*found[0]), str(path), key=found[0][1])
    must_exist(path, "canary log")
    record_file(files, "canary_log", path)
    frame = read_frame(path)
    file = str(path)
    if getattr(spec, "latency", None) is not None:
        check_latencies(frame, spec.latency, file)  # before any reordering: the file lines named are the file's
    seq = getattr(spec, "sequential", None)
    if seq is not None and seq.order_by is not None:
        frame = _in_arrival_order(frame, seq.order_by, file)
    arm = require_column(frame, spec.arm, "arm", file)
    arm_text = arm.astype(object).map(lambda v: None if v is None or v != v else str(norm_label(v)))
    target = require_column(frame, spec.target, "target", file)
    if arm_text.isna().any():
        idx = np.flatnonzero(arm_text.isna().to_numpy())[:5]
        raise input_error(f"{int(arm_text.isna().sum())} rows have no {spec.arm!r} value (rows {idx.tolist()}, "
                          "counted from 0): which model served them is unknown; fill or remove them (a canary "
                          "comparison never drops rows silently)", file, key=spec.arm)
    counts = {str(k): int(v) for k, v in arm_text.value_counts(dropna=False).items()}
    for which, value in (("candidate_arm", spec.candidate_arm), ("baseline_arm", spec.baseline_arm)):
        if counts.get(str(norm_label(value)), 0) == 0:
            raise input_error(f"no row has {spec.arm} = {value!r} ({which}); the column holds {counts}", file,
                              key=spec.arm)
    if target.isna().any():
        idx = np.flatnonzero(target.isna().to_numpy())[:5]
        raise input_error(f"{int(target.isna().sum())} rows have no outcome (rows {idx.tolist()}, counted from 0); "
                          "a canary comparison never drops rows silently", file, key=spec.target)
    task = canary_task(spec, target, file)
    is_cand = (arm_text == str(norm_label(spec.candidate_arm))).to_numpy()
    is_base = (arm_text == str(norm_label(spec.baseline_arm))).to_numpy()
    arrival = np.where(is_cand, 1, np.where(is_base, 0, -1)).astype(np.int8)
    if task == "multiclass":
        out = _multiclass_arms(spec, frame, file, arm_text, target, decision_threshold, strict, extra_sensitive,
                               bins)
        out.arrival = arrival
        return _with_latency(out, spec, frame, is_cand, is_base)
    positive = None
    if task == "classification":
        positive = infer_positive(target.unique().tolist(), spec.positive_label, file, spec.target)
        y = to01(target, positive).astype(int)
        if y.sum() == 0 and target.nunique() == 2:
            raise input_error(f"positive label {positive!r} matches no value of outcome {spec.target!r} (values: "
                              f"{target.unique().tolist()[:10]}); check canary.positive_label", file,
                              key="positive_label")
    else:
        y = numeric(target, "outcome", spec.target, file, spec.target)
    out_col = spec.score or spec.prediction
    col = require_column(frame, out_col, "score" if spec.score else "prediction", file)
    if spec.score is not None or task == "regression":
        values = numeric(col, "score column" if spec.score else "prediction column", out_col, file, out_col)
    else:
        check_label_space(col, target, out_col, spec.target, file)
        values = to01(col, positive)
    sf = _sensitive(spec, frame, file, extra_sensitive, bins)
    arms: dict[str, EvalData] = {}
    targets: dict[str, np.ndarray] = {}  # each arm's y_true
    for name, value in (("candidate", spec.candidate_arm), ("baseline", spec.baseline_arm)):
        mask = (arm_text == str(norm_label(value))).to_numpy()
        targets[name] = y[mask]
        d = EvalData(y_true=targets[name], task=task, decision_threshold=decision_threshold, strict=strict,
                     positive_label=positive, sensitive_default=list(spec.sensitive))
        if spec.score is not None:
            d.y_score = values[mask]
        else:
            d.y_pred = values[mask]
        if sf is not None:
            d.sensitive = sf[mask].reset_index(drop=True)
        arms[name] = d
    info = {"file": file, "rows": len(frame), "arm_column": spec.arm,
            "rows_candidate": len(targets["candidate"]), "rows_baseline": len(targets["baseline"]),
            "rows_in_neither_arm": int(len(frame) - len(targets["candidate"]) - len(targets["baseline"])),
            "task": task, "positive_label": positive}
    if task == "classification":
        info["positives_candidate"] = int(targets["candidate"].sum())
        info["positives_baseline"] = int(targets["baseline"].sum())
    return _with_latency(CanaryArms(arms["candidate"], arms["baseline"], info, arrival), spec, frame, is_cand, is_base)


def check_latencies(frame: Any, column: str, file: str) -> None:
    """Refuse a latency column that is not one finite number >= 0 (ms) per row.

    Parameters
    ----------
    frame : pandas.DataFrame
        The log, in the file's row order.
    column : str
        ``canary.latency``.
    file : str
        The log's path (a ``.csv`` log's rows are named by file line, header = line 1).

    Raises
    ------
    InputError
        The column is missing, holds date-times (instants, not durations), is 0 on every row (a placeholder), or
        some rows hold a missing, non-numeric, infinite or negative value: the message names the column, how many
        rows of each kind, and the first file lines (or rows, counted from 0). A duration column is read in
        milliseconds (:func:`latency_values`).
    """
    import pandas as pd

    col = require_column(frame, column, "latency", file)
    if pd.api.types.is_datetime64_any_dtype(col.dtype):
        raise input_error(f"latency column {column!r} (canary.latency) holds date-times, not durations: name the "
                          "column of each row's served latency in milliseconds (a number, or a duration)", file,
                          key=column)
    raw = col.to_numpy(dtype=object)
    missing = col.isna().to_numpy()
    values = latency_values(col, coerce=True)
    text = ~missing & np.isnan(values)
    with np.errstate(invalid="ignore"):
        infinite = np.isinf(values)
        negative = values < 0
    csv_lines = Path(file).suffix.lower() in (".csv", ".txt")
    problems = []
    for mask, what in ((missing, "no value"), (text, "a value that is not a number"),
                       (infinite, "an infinite value"), (negative & ~infinite, "a negative value")):
        if mask.any():
            idx = np.flatnonzero(mask)[:5]
            where = f"file lines {(idx + 2).tolist()}" if csv_lines else f"rows {idx.tolist()}, counted from 0"
            example = "" if what == "no value" else f", e.g. {raw[idx[0]]!r}"
            problems.append(f"{int(mask.sum())} rows have {what} ({where}{example})")
    if problems:
        raise input_error(f"latency column {column!r} (canary.latency): {'; '.join(problems)}, of {len(col)} rows; "
                          "every served row needs its latency in milliseconds, a finite number >= 0 (a canary "
                          "comparison never drops rows silently)", file, key=column)
    if len(values) and not np.any(values):
        raise input_error(f"latency column {column!r} (canary.latency): every one of its {len(col)} rows is 0, a "
                          "placeholder, not a measurement; log each row's served latency in milliseconds", file,
                          key=column)


def latency_values(col: Any, coerce: bool = False) -> np.ndarray:
    """Return a latency column as milliseconds.

    Parameters
    ----------
    col : pandas.Series of shape (n_rows,)
        Numbers (taken as milliseconds), text holding numbers, or durations (``timedelta64``, converted to
        milliseconds; a parquet duration column reads as one).
    coerce : bool
        Give NaN for values that are not numbers (the caller reports them) instead of raising.

    Returns
    -------
    ndarray of float, shape (n_rows,)
        Booleans are not numbers here (NaN).
    """
    import pandas as pd

    if pd.api.types.is_timedelta64_dtype(col.dtype):
        return (col.dt.total_seconds() * 1000.0).to_numpy(dtype=float, na_value=np.nan)
    if col.dtype == bool or pd.api.types.is_bool_dtype(col.dtype):
        return np.full(len(col), np.nan)
    as_num = pd.to_numeric(col, errors="coerce" if coerce else "raise")
    return np.asarray(as_num.to_numpy(dtype=float, na_value=np.nan), dtype=float)


def _with_latency(out: CanaryArms, spec: Any, frame: Any, is_cand: np.ndarray, is_base: np.ndarray) -> CanaryArms:
    """Give each arm's rows their served latencies (``canary.latency``, checked by :func:`check_latencies`)."""
    column = getattr(spec, "latency", None)
    if column is None:
        return out
    file = out.info.get("file", "")
    lat = latency_values(require_column(frame, column, "latency", file))
    out.candidate.latency_ms = lat[is_cand]
    out.baseline.latency_ms = lat[is_base]
    for arm, values in (("candidate", out.candidate.latency_ms), ("production", out.baseline.latency_ms)):
        if values.size and not np.any(values):  # one arm's placeholder would read as an arm infinitely fast
            raise input_error(f"latency column {column!r} (canary.latency): every one of the {values.size} "
                              f"{arm} rows is 0, a placeholder, not a measurement; log each row's served latency "
                              "in milliseconds", file, key=column)
    out.info["latency_column"] = column
    return out


def _in_arrival_order(frame: Any, column: str, file: str) -> Any:
    """Return the log's rows sorted by ``column`` (:func:`gatekit.data.arrival.arrival_order`; stable).

    Raises
    ------
    InputError
        The column is missing, has missing values, or holds values that are neither numbers nor date-times.
    """
    from gatekit.data.arrival import arrival_order

    order = arrival_order(frame, column, file, key="canary.sequential.order_by")
    return frame.iloc[order].reset_index(drop=True)


def _sensitive(spec: Any, frame: Any, file: str, extra_sensitive: list[str] | None,
               bins: dict[str, Any] | None) -> Any:
    """Return the log's sensitive columns as groups (:func:`gatekit.data.sensitive.sensitive_frame`), or None."""
    sens_cols = list(dict.fromkeys([*spec.sensitive, *(extra_sensitive or [])]))
    if not sens_cols:
        return None
    for c in sens_cols:
        require_column(frame, c, "sensitive", file)
    return sensitive_frame(frame, sens_cols, {c: b for c, b in (bins or {}).items() if c in sens_cols}, file)


def canary_task(spec: Any, target: Any, file: str) -> str:
    """Return the outcome's task: ``canary.task`` when given, else inferred.

    Probability columns named by a pattern (``score: "score_*"``) mean multiclass; otherwise two values or fewer
    (or booleans) are classification, more numbers regression, more text multiclass
    (:func:`gatekit.data.labels.infer_task`). A declared ``classification`` with more than two classes is
    multiclass, as for ``inputs.task``.

    Raises
    ------
    InputError
        A score pattern with a task other than multiclass, or one score column for a multiclass outcome.
    """
    declared = getattr(spec, "task", None)
    pattern = is_pattern(spec.score)
    n_classes = len({norm_label(v) for v in target.dropna().unique()})
    if declared == "classification" and (n_classes > 2 or pattern):
        declared = "multiclass"
    if pattern and declared not in (None, "multiclass"):
        raise input_error(f"canary score {spec.score!r} names one probability column per class, which is a "
                          f"multiclass output, but canary.task is {declared!r}", file, key="task")
    task = declared or ("multiclass" if pattern else infer_task(target, None))
    if task == "multiclass" and spec.score is not None and not pattern:
        raise input_error(f"outcome {spec.target!r} has {n_classes} classes (multiclass): one score column "
                          f"({spec.score!r}) cannot hold them; give one probability column per class by a pattern "
                          "(score: 'score_*' takes the score_<class> columns) or a predicted-class column "
                          "(prediction)", file, key="score")
    return task


def _multiclass_arms(spec: Any, frame: Any, file: str, arm_text: Any, target: Any, decision_threshold: float,
                     strict: bool, extra_sensitive: list[str] | None, bins: dict[str, Any] | None) -> CanaryArms:
    """Split a log with a multiclass outcome into its arms (one class order for both).

    Raises
    ------
    InputError
        A probability column missing for an outcome class, a bad probability matrix (missing, outside [0, 1], a
        row not summing to 1: the file lines are named), an outcome or predicted label without its class, or
        an outcome class that occurs in one arm only.
    """
    csv_lines = Path(file).suffix.lower() in (".csv", ".txt")
    mat = pred = None
    if is_pattern(spec.score):
        cols = pattern_columns(list(frame.columns), spec.score, file)
        classes: list[Any] = [label for _, label in cols]
        for c, _ in cols:
            missing = frame[c].isna().to_numpy()
            if missing.any():
                idx = np.flatnonzero(missing)[:5]
                where = f"file lines {(idx + 2).tolist()}" if csv_lines else f"rows {idx.tolist()}, counted from 0"
                raise input_error(f"probability column {c!r} has {int(missing.sum())} missing values ({where}...); "
                                  "every served row needs every class's probability (a canary comparison never "
                                  "drops rows silently)", file, key=c)
        have = {norm_label(label) for _, label in cols}
        lacking = [str(v) for v in target.dropna().unique() if norm_label(v) not in have]
        if lacking:
            prefix, suffix = spec.score.split("*")
            raise input_error(f"outcome {spec.target!r} has class(es) {sorted(lacking)[:5]} with no probability "
                              f"column: expected {[prefix + c + suffix for c in sorted(lacking)[:5]]} (pattern "
                              f"{spec.score!r} matches {[c for c, _ in cols]}); give every class's probability",
                              file, key="score")
        mat = np.column_stack([numeric(frame[c], "probability column", c, file, c) for c, _ in cols])
        check_matrix(mat, f"probability columns {spec.score!r}", file, "score", csv_lines=csv_lines)
    else:
        col = require_column(frame, spec.prediction, "prediction", file)
        classes = label_classes(target, col, file=file)
        pred = codes_of(col, classes, "prediction", spec.prediction, file)
        if np.isnan(pred).any():
            idx = np.flatnonzero(np.isnan(pred))[:5]
            raise input_error(f"{int(np.isnan(pred).sum())} rows have no prediction ({spec.prediction!r}, rows "
                              f"{idx.tolist()}, counted from 0); a canary comparison never drops rows silently",
                              file, key=spec.prediction)
    y = codes_of(target, classes, "outcome", spec.target, file).astype(np.int64)
    sf = _sensitive(spec, frame, file, extra_sensitive, bins)
    arms: dict[str, EvalData] = {}
    per_arm: dict[str, dict[str, int]] = {}
    for name, value in (("candidate", spec.candidate_arm), ("baseline", spec.baseline_arm)):
        mask = (arm_text == str(norm_label(value))).to_numpy()
        d = EvalData(y_true=y[mask], task="multiclass", classes=classes, decision_threshold=decision_threshold,
                     strict=strict, sensitive_default=list(spec.sensitive))
        if mat is not None:
            d.y_score = mat[mask]
        else:
            d.y_pred = pred[mask]  # type: ignore[index]
        if sf is not None:
            d.sensitive = sf[mask].reset_index(drop=True)
        arms[name] = d
        counts = np.bincount(y[mask], minlength=len(classes))
        per_arm[name] = {str(c): int(n) for c, n in zip(classes, counts, strict=True) if n}
    arm_value = {"candidate": spec.candidate_arm, "baseline": spec.baseline_arm}
    for one, other in (("candidate", "baseline"), ("baseline", "candidate")):
        only = [c for c in per_arm[one] if c not in per_arm[other]]
        if only:
            raise input_error(f"outcome {spec.target!r}: class(es) {only} occur only in the {arm_value[one]!r} arm "
                              f"({', '.join(f'{c}: {per_arm[one][c]} rows' for c in only[:5])}), not in the "
                              f"{arm_value[other]!r} arm; the arms' multiclass metrics would average different "
                              "classes: collect traffic of every class in both arms, or leave those rows out of "
                              "the log", file, key=spec.target)
    n_c, n_b = len(arms["candidate"].y_true), len(arms["baseline"].y_true)  # type: ignore[arg-type]
    info = {"file": file, "rows": len(frame), "arm_column": spec.arm, "rows_candidate": n_c, "rows_baseline": n_b,
            "rows_in_neither_arm": int(len(frame) - n_c - n_b), "task": "multiclass", "positive_label": None,
            "classes": [str(c) for c in classes], "class_rows_candidate": per_arm["candidate"],
            "class_rows_baseline": per_arm["baseline"],
            "output": f"probability columns {spec.score!r}" if mat is not None else
                      f"prediction column {spec.prediction!r}"}
    return CanaryArms(arms["candidate"], arms["baseline"], info)
