"""Multiclass evaluation inputs: the task, the class order, the target as codes and the probability matrix.

Where the probabilities come from (one column per class, in a recorded class order):

- probability columns named by a pattern with one ``*``: ``score: "score_*"`` takes every column
  ``score_<class>``, the class being what ``*`` stands for (``score_setosa`` -> class ``setosa``); in the
  data's column order;
- a model's ``predict_proba``, its columns in the order of the model's ``classes_``;
- or no probabilities: a prediction column of labels (the label metrics only).

The matrix is checked when it is loaded, never repaired: a missing probability, one outside [0, 1], or a row
whose probabilities do not sum to 1 within :data:`gatekit.metrics.multiclass.PROBA_SUM_TOL` is an input error
naming the rows (nothing is renormalised). A target value with no probability column is an input error too.

On the DuckDB and Spark engines the rows are streamed in batches where they are (:func:`load_multiclass_table`):
each batch is reduced to counts per (target class, predicted class, sensitive values) with the sum of its rows'
log losses, and, for each probability column, to counts per distinct (probability, true class). The label
metrics, log loss and the one-vs-rest / one-vs-one ROC AUCs are then exact; a confidence interval on log loss or
an AUC needs the rows themselves and is refused on these engines with the reason (the label metrics' intervals
resample the confusion cells, the row-level Poisson bootstrap).
"""

from __future__ import annotations

import fnmatch
import functools
from typing import Any

import numpy as np

from gatekit.core.errors import InputError, input_error
from gatekit.core.labels import norm_label
from gatekit.data.labels import numeric
from gatekit.data.readers import require_column
from gatekit.metrics.multiclass import PROBA_SUM_TOL
from gatekit.metrics.registry import EvalData

MAX_CODE_VALUES = 10
"""A numeric target of whole numbers with at most this many distinct values could be class codes or a count:
gatekit asks for ``task`` instead of guessing."""

TASKS = ("classification", "multiclass", "regression")


def is_pattern(score: Any) -> bool:
    """Return True when ``score`` names probability columns by a pattern (``"score_*"``)."""
    return isinstance(score, str) and score.count("*") == 1


def pattern_columns(columns: list[Any], pattern: str, file: str, role: str = "score") -> list[tuple[str, str]]:
    """Return ``(column, class label)`` of each column matching ``pattern``, in the data's column order.

    Raises
    ------
    InputError
        Fewer than two columns match.
    """
    prefix, suffix = pattern.split("*")
    found = []
    for c in map(str, columns):
        if fnmatch.fnmatchcase(c, pattern) and len(c) > len(prefix) + len(suffix):
            found.append((c, c[len(prefix): len(c) - len(suffix) if suffix else None]))
    if len(found) < 2:
        raise input_error(f"{role} pattern {pattern!r} matches {len(found)} column(s) ({[c for c, _ in found]}); "
                          "a multiclass score needs one probability column per class, e.g. score_setosa, "
                          "score_versicolor, score_virginica for score: 'score_*'", file, key=role)
    return found


def decide_task(target: Any, declared: str | None, opts: Any, model: Any, column: str, file: str) -> str:
    """Return the task: ``declared`` (``classification`` with more than two classes is ``multiclass``), else inferred.

    Inference: booleans or at most two values are classification; text with more is multiclass; numbers with
    more are multiclass when probability columns (``score: 'score_*'``) or a model with more than two classes
    say so, regression when a model without ``predict_proba`` does, and otherwise regression, except whole
    numbers with at most :data:`MAX_CODE_VALUES` distinct values: class codes or a count cannot be told apart,
    and the error says so.

    Parameters
    ----------
    target : pandas.Series
        The target's values (or its distinct values).
    declared : str or None
        ``inputs.task`` / ``--task``.
    opts : InputOptions
        For the score pattern.
    model : object or None
        The candidate model.
    column, file : str
        For messages.

    Raises
    ------
    InputError
        An unknown task, or a target whose task cannot be told.
    """
    if declared not in (None, *TASKS):
        raise input_error(f"task must be 'classification', 'multiclass' or 'regression', not {declared!r}", file,
                          key="task")
    nonnull = target.dropna()
    n_classes = len({norm_label(v) for v in nonnull.unique()})
    proba_classes = len(getattr(model, "classes_", [])) if hasattr(model, "predict_proba") else 0
    evidence = is_pattern(opts.score) or proba_classes > 2
    if declared == "regression" or declared == "multiclass":
        return declared
    if declared == "classification":
        return "multiclass" if n_classes > 2 or evidence else "classification"
    if target.dtype == bool or n_classes <= 2:
        return "multiclass" if evidence else "classification"
    if not np.issubdtype(target.dtype, np.number):
        return "multiclass"
    if evidence:
        return "multiclass"
    if model is not None and not hasattr(model, "predict_proba"):
        return "regression"
    values = nonnull.to_numpy(dtype=float)
    if n_classes <= MAX_CODE_VALUES and np.all(values == np.round(values)):
        shown = sorted({float(v) for v in values})
        shown_txt = ", ".join(f"{v:g}" for v in shown)
        raise input_error(f"cannot tell the task of target {column!r}: it holds {n_classes} distinct whole numbers "
                          f"({shown_txt}), which may be class codes or a quantity; set task: multiclass "
                          "(--task classification) for classes, or task: regression (--task regression)", file,
                          key="task")
    return "regression"


def _norm_map(values: list[Any]) -> dict[Any, Any]:
    """norm_label -> the first original value with that form, in order."""
    out: dict[Any, Any] = {}
    for v in values:
        out.setdefault(norm_label(v), v)
    return out


def _sort_key(v: Any) -> tuple[int, Any]:
    n = norm_label(v)
    return (1, str(n)) if isinstance(n, str) else (0, n)


def refuse_merged_labels(values: Any, what: str, file: str, key: str) -> None:
    """Refuse distinct labels that gatekit's one normal form would merge into one class.

    Labels compare by :func:`gatekit.core.labels.norm_label` (text case-insensitively, numbers by value), which
    is right for a binary target's ``yes``/``Yes``; with many classes, ``A`` and ``a`` (or ``1`` and ``01``) in
    one column are two classes that would silently become one, and every count with them.

    Raises
    ------
    InputError
        Naming the labels that collide and what to do.
    """
    groups: dict[Any, set[str]] = {}
    for v in values:
        if v is None or (isinstance(v, float) and v != v):
            continue
        groups.setdefault(norm_label(v), set()).add(v.strip() if isinstance(v, str) else repr(norm_label(v)))
    merged = [sorted(g) for g in groups.values() if len(g) > 1]
    if merged:
        shown = "; ".join(" and ".join(repr(x) for x in g) for g in merged[:3])
        raise input_error(f"{what} holds labels that gatekit compares as one class ({shown}): labels are compared "
                          "case-insensitively and numbers by value, so these would merge; rename one of each pair "
                          "in the data (or the model's classes_)", file, key=key)


def label_classes(*series: Any, file: str = "") -> list[Any]:
    """Return the classes of label columns: their distinct values (one per normal form), numbers first, then text.

    Raises
    ------
    InputError
        Two distinct values of one normal form (:func:`refuse_merged_labels`).
    """
    vals: list[Any] = []
    for s in series:
        uniq = s.dropna().unique().tolist()
        refuse_merged_labels(uniq, f"column {s.name!r}", file, "target")
        vals.extend(uniq)
    return sorted(_norm_map(vals).values(), key=_sort_key)


def codes_of(values: Any, classes: list[Any], role: str, column: str, file: str) -> np.ndarray:
    """Map labels to codes into ``classes`` (compared in normal form); NaN stays NaN.

    Raises
    ------
    InputError
        A value that is not one of ``classes`` (naming up to five of them and the classes).
    """
    refuse_merged_labels(classes, "the classes (probability columns or the model's classes_)", file, "score")
    index = {norm_label(c): i for i, c in enumerate(classes)}
    out = np.full(len(values), np.nan)
    mask = values.notna().to_numpy()
    uniq = values[mask].unique()
    refuse_merged_labels(list(uniq), f"{role} column {column!r}", file, role)
    lookup = {v: index.get(norm_label(v)) for v in uniq}
    unknown = [v for v, i in lookup.items() if i is None]
    if unknown:
        raise input_error(f"{role} column {column!r} has values {sorted(map(str, unknown))[:5]} that are not among "
                          f"the classes {[str(c) for c in classes][:20]}; every {role} value needs its class (a "
                          "probability column score_<class>, or one of the model's classes_)", file, key=role)
    out[mask] = values[mask].map(lookup).to_numpy(dtype=float)
    return out


def check_matrix(p: np.ndarray, what: str, file: str | None, key: str = "score", first_row: int | None = 0,
                 csv_lines: bool = False) -> None:
    """Refuse a probability matrix with a missing value, a value outside [0, 1] or a row not summing to 1.

    Parameters
    ----------
    p : ndarray of shape (n_rows, n_classes)
        The probabilities, one column per class.
    what : str
        How the message names the probabilities (``probability columns 'score_*'``, ``the model's
        predict_proba``).
    file, key : str
        For the message.
    first_row : int or None
        Position of ``p``'s first row in the data; None when it is not known (an engine's batch): the message
        then names no rows.
    csv_lines : bool
        Name rows as CSV file lines (header on line 1).

    Raises
    ------
    InputError
        Naming the first rows concerned; the rows are never renormalised.
    """
    def where(idx: np.ndarray) -> str:
        if first_row is None:
            return "rows of one batch read from the engine"
        idx = idx[:5] + first_row
        return f"file lines {(idx + 2).tolist()}" if csv_lines else f"rows {idx.tolist()}, counted from 0"

    bad = ~np.isfinite(p).all(axis=1)
    if bad.any():
        raise input_error(f"{int(bad.sum())} rows of {what} have a missing or non-finite probability "
                          f"({where(np.flatnonzero(bad))}...); fill them: a gate never drops rows silently", file,
                          key=key)
    out = (p < 0).any(axis=1) | (p > 1).any(axis=1)
    if out.any():
        raise input_error(f"{int(out.sum())} rows of {what} have a probability outside [0, 1] "
                          f"({where(np.flatnonzero(out))}...); they must be probabilities", file, key=key)
    sums = p.sum(axis=1)
    off = np.abs(sums - 1.0) > PROBA_SUM_TOL
    if off.any():
        i = np.flatnonzero(off)
        raise input_error(f"{int(off.sum())} rows of {what} do not sum to 1 within {PROBA_SUM_TOL:g} "
                          f"({where(i)}...: sums {[round(float(s), 6) for s in sums[i[:5]]]}); gatekit never "
                          "renormalises them: give every class's probability (one column per class)", file,
                          key=key)


def load_multiclass(run: Any, frame: Any, opts: Any, model: Any, file: str, target: Any, data: EvalData,
                    csv_lines: bool) -> None:
    """Fill ``data`` (a multiclass :class:`EvalData`) from a pandas frame of the rows.

    Sets ``data.classes``, ``data.y_true`` (codes), and ``data.y_score`` (probability matrix) or ``data.y_pred``
    (codes); a model scoring the rows sets ``run.runner`` (or ``run.scoring_error`` when the data lacks its
    features).

    Raises
    ------
    InputError
        A single score column, an unusable probability matrix, a target or prediction value without its class.
    """
    from gatekit.model.scoring import MissingFeatures, score_with_model

    if opts.score is not None and not is_pattern(opts.score):
        n = len({norm_label(v) for v in target.dropna().unique()})
        raise input_error(f"target {opts.target!r} has {n} classes (multiclass): one score column "
                          f"({opts.score!r}) cannot hold them; give one probability column per class by a pattern "
                          "(score: 'score_*' takes score_<class> columns), a model with predict_proba, or a "
                          "prediction column of labels", file, key="score")
    source = None
    if is_pattern(opts.score):
        cols = pattern_columns(list(frame.columns), opts.score, file)
        classes: list[Any] = [label for _, label in cols]
        mat = np.column_stack([numeric(frame[c], "probability column", c, file, "score") for c, _ in cols])
        check_matrix(mat, f"probability columns {opts.score!r}", file, "score", csv_lines=csv_lines)
        data.y_score = mat
        source = {"columns": [c for c, _ in cols]}
    elif opts.model is not None and opts.prediction is None:
        classes = list(getattr(model, "classes_", []))
        try:
            mat, run.runner = score_with_model(model, frame, opts, "multiclass", None, file, run.info)
        except InputError as exc:
            if not isinstance(exc.__cause__, MissingFeatures):
                raise
            run.scoring_error = str(exc.__cause__)
            mat = None
        if mat is not None:
            check_matrix(np.asarray(mat, dtype=float), "the model's predict_proba", file, "model",
                         csv_lines=csv_lines)
            data.y_score = np.asarray(mat, dtype=float)
        source = {"model_classes": [str(c) for c in classes]}
    elif opts.prediction is not None:
        pred = require_column(frame, opts.prediction, "prediction", file)
        classes = label_classes(target, pred, file=file)
    else:
        classes = label_classes(target, file=file)
    data.classes = classes
    codes = codes_of(target, classes, "target", opts.target, file)
    data.y_true = codes.astype(np.int64)
    if opts.prediction is not None:
        pred = require_column(frame, opts.prediction, "prediction", file)
        data.y_pred = codes_of(pred, classes, "prediction", opts.prediction, file)
    run.info["classes"] = [str(c) for c in classes]
    if source:
        run.info["class_probabilities"] = source


def load_multiclass_baseline(opts: Any, run: Any, frame: Any, file: str, csv_lines: bool) -> None:
    """Attach the production model's multiclass output on the same rows as ``run.eval_data.baseline``.

    From probability columns (``baseline.score: 'prod_*'``, classes in the candidate's order), a prediction
    column, or the production model's ``predict_proba`` (its ``classes_`` reordered to the candidate's).

    Raises
    ------
    InputError
        A class the candidate has that the production output lacks (or the reverse), a single score column, or
        an unusable matrix.
    """
    from dataclasses import replace

    from gatekit.data.baseline import load_baseline_model
    from gatekit.model.scoring import MissingFeatures, score_with_model

    data = run.eval_data
    classes = list(data.classes or [])
    base = replace(data, y_score=None, y_pred=None, cache={}, baseline=None, loss_sums=None)

    def reorder(names: list[Any], mat: np.ndarray, what: str) -> np.ndarray:
        where = {norm_label(c): i for i, c in enumerate(names)}
        missing = [str(c) for c in classes if norm_label(c) not in where]
        extra = [str(c) for c in names if norm_label(c) not in {norm_label(x) for x in classes}]
        if missing or extra:
            raise input_error(f"{what} has classes {[str(c) for c in names]}, the candidate's are "
                              f"{[str(c) for c in classes]}: the two must score the same classes", file,
                              key="baseline")
        return mat[:, [where[norm_label(c)] for c in classes]]

    if opts.baseline_score is not None:
        if not is_pattern(opts.baseline_score):
            raise input_error("a multiclass baseline needs one probability column per class: give baseline.score a "
                              "pattern such as 'prod_score_*'", file, key="baseline.score")
        cols = pattern_columns(list(frame.columns), opts.baseline_score, file, "baseline.score")
        mat = np.column_stack([numeric(frame[c], "probability column", c, file, "baseline.score") for c, _ in cols])
        check_matrix(mat, f"baseline probability columns {opts.baseline_score!r}", file, "baseline.score",
                     csv_lines=csv_lines)
        base.y_score = reorder([label for _, label in cols], mat, f"baseline.score {opts.baseline_score!r}")
        source = f"probability columns {opts.baseline_score!r}"
    elif opts.baseline_prediction is not None:
        col = require_column(frame, opts.baseline_prediction, "baseline prediction", file)
        base.y_pred = codes_of(col, classes, "baseline prediction", opts.baseline_prediction, file)
        source = f"prediction column {opts.baseline_prediction!r}"
    else:
        model = load_baseline_model(opts, run, file)
        info: dict[str, Any] = {}
        try:
            mat, run.baseline_runner = score_with_model(model, frame, opts, "multiclass", None, file, info,
                                                        baseline=True)
            mat = np.asarray(mat, dtype=float)
            check_matrix(mat, "the production model's predict_proba", file, "baseline.model", csv_lines=csv_lines)
            base.y_score = reorder(list(model.classes_), mat, "the production model")
        except InputError as exc:
            if not isinstance(exc.__cause__, MissingFeatures):
                raise
            run.baseline_scoring_error = str(exc.__cause__)
        run.info["baseline_model"] = info.get("model")
        name = getattr(opts.baseline_model, "name", None)
        source = f"model {name if isinstance(name, str) else type(model).__name__}"
    data.baseline = base
    run.info["baseline"] = {"source": source, "paired": True}


# --- engines: stream the rows, keep the confusion cells --------------------------------------------------------

CODE = "__gatekit_class"
PRED = "__gatekit_pred"
LOSS = "__gatekit_loss"
BASE_PRED = "__gatekit_base_pred"
BASE_LOSS = "__gatekit_base_loss"
COUNT = "__gatekit_rows"


def _side(batch: Any, y: np.ndarray, classes: list[Any], score_cols: list[str] | None, pred_col: str | None,
          runner: Any, order: list[int] | None, what: str) -> tuple[np.ndarray, np.ndarray, Any]:
    """Return one model's predicted codes, per-row log losses and per-column (probability, class) counts on a batch.

    The losses are NaN and the counts None when the model gave labels, not probabilities.
    """
    import pandas as pd

    if pred_col is not None:
        pred = codes_of(batch[pred_col], classes, "prediction", pred_col, what)
        if np.isnan(pred).any():
            raise input_error(f"{int(np.isnan(pred).sum())} rows have no prediction ({pred_col!r})", what)
        return pred.astype(np.int64), np.full(len(y), np.nan), None
    if score_cols is not None:
        mat = batch[score_cols].to_numpy(dtype=float)
    else:
        mat = np.asarray(runner(batch[runner.features]), dtype=float)
        if order is not None:
            mat = mat[:, order]
    check_matrix(mat, what, None, first_row=None)
    eps = np.finfo(float).eps
    loss = -np.log(np.clip(mat[np.arange(len(y)), y], eps, 1 - eps))
    k = mat.shape[1]
    tables = pd.DataFrame({"col": np.repeat(np.arange(k), len(y)), "p": mat.T.reshape(-1), "y": np.tile(y, k),
                           COUNT: 1}).groupby(["col", "p", "y"], sort=False)[COUNT].sum().reset_index()
    return np.argmax(mat, axis=1), loss, tables


def _cells_batch(batch: Any, target: str, classes: list[Any], sensitive: list[str], cand: dict[str, Any],
                 base: dict[str, Any] | None, file: str) -> tuple[str, Any]:
    """Reduce one batch to counts and loss sums per (target, predicted, [baseline predicted], sensitive values)."""
    try:
        y = codes_of(batch[target], classes, "target", target, file).astype(np.int64)
        part = batch[sensitive].copy() if sensitive else batch[[]].copy()
        part[CODE] = y
        part[PRED], part[LOSS], tables = _side(batch, y, classes, **cand)
        base_tables = None
        if base is not None:
            part[BASE_PRED], part[BASE_LOSS], base_tables = _side(batch, y, classes, **base)
    except InputError as exc:
        return "error", "; ".join(p.message for p in exc.problems)
    except KeyboardInterrupt:
        raise
    except BaseException as exc:  # noqa: BLE001 - the model failing on the data (even sys.exit): bad input
        return "error", f"the model failed to score the data: {type(exc).__name__}: {exc}"
    part[COUNT] = 1
    by = [*sensitive, CODE, PRED, *([BASE_PRED] if base is not None else [])]
    sums = [LOSS, *([BASE_LOSS] if base is not None else []), COUNT]
    return "ok", (part.groupby(by, dropna=False, sort=False)[sums].sum(min_count=1).reset_index(), tables,
                  base_tables)


def _score_counts(tables: list[Any], k: int) -> list[tuple[np.ndarray, np.ndarray, np.ndarray]] | None:
    """Merge the batches' (column, probability, class) counts into one (probabilities, classes, counts) per column."""
    import pandas as pd

    if not tables or any(tb is None for tb in tables):
        return None
    whole = pd.concat(tables, ignore_index=True).groupby(["col", "p", "y"], sort=True)[COUNT].sum().reset_index()
    out = []
    for j in range(k):
        part = whole[whole["col"] == j]
        out.append((part["p"].to_numpy(dtype=float), part["y"].to_numpy(dtype=np.int64),
                    part[COUNT].to_numpy(dtype=np.int64)))
    return out


def load_multiclass_table(run: Any, opts: Any, model: Any, base_model: Any, file: str, decision_threshold: float,
                          strict: bool, runner: Any, base_runner: Any) -> None:
    """Fill ``run.eval_data`` for a multiclass target on an engine's table (DuckDB or Spark).

    The rows are streamed in batches where they are (:func:`gatekit.data.engine.map_batches`); each batch
    becomes counts and log-loss sums per (target class, predicted class, production's predicted class,
    sensitive values). ``EvalData`` then holds those cells: ``weights`` the counts, ``loss_sums`` the sums,
    ``y_pred`` the predicted classes, ``score_counts`` each probability column's distinct (probability, class)
    counts, and no probability matrix.

    Raises
    ------
    InputError
        As :func:`load_multiclass`; a problem found in a batch names the batch's rows.
    """
    import pandas as pd

    from gatekit.data.engine import map_batches
    from gatekit.data.spark import java_message

    table = run.table
    target = opts.target
    head = table.limit(0).to_pandas()
    if opts.score is not None and not is_pattern(opts.score):
        raise input_error(f"target {target!r} has more than two classes (multiclass): one score column "
                          f"({opts.score!r}) cannot hold them; give score: 'score_*' (one column per class), a model "
                          "or a prediction column", file, key="score")
    classes: list[Any]
    cand: dict[str, Any] = {"score_cols": None, "pred_col": None, "runner": None, "order": None,
                            "what": f"the probabilities in {file}"}
    need = [target, *opts.all_sensitive]
    if is_pattern(opts.score):
        cols = pattern_columns(list(head.columns), opts.score, file)
        classes = [label for _, label in cols]
        cand["score_cols"] = [c for c, _ in cols]
        need += cand["score_cols"]
        run.info["class_probabilities"] = {"columns": cand["score_cols"]}
    elif opts.prediction is not None:
        require_column(head, opts.prediction, "prediction", file)
        vals = table.select(target, opts.prediction).distinct().limit(10_001).to_pandas()
        classes = label_classes(vals[target], vals[opts.prediction], file=file)
        cand["pred_col"] = opts.prediction
        need.append(opts.prediction)
    elif runner is not None:
        classes = list(runner.classes)
        cand["runner"] = runner
        need += runner.features
        run.info["class_probabilities"] = {"model_classes": [str(c) for c in classes]}
    else:
        if model is not None and run.scoring_error:
            run.no_eval_reason = None
            return  # the metric rules report the scoring error
        vals = table.select(target).distinct().limit(10_001).to_pandas()
        classes = label_classes(vals[target], file=file)
    base: dict[str, Any] | None = None
    if opts.baseline_score is not None or opts.baseline_prediction is not None or base_runner is not None:
        base = {"score_cols": None, "pred_col": None, "runner": None, "order": None,
                "what": f"the production probabilities in {file}"}
        if opts.baseline_prediction is not None:
            base["pred_col"] = opts.baseline_prediction
            need.append(opts.baseline_prediction)
        elif opts.baseline_score is not None:
            if not is_pattern(opts.baseline_score):
                raise input_error("a multiclass baseline needs one probability column per class: give baseline.score "
                                  "a pattern such as 'prod_score_*'", file, key="baseline.score")
            bcols = dict((lab, c) for c, lab in pattern_columns(list(head.columns), opts.baseline_score, file,
                                                                "baseline.score"))
            by_norm = {norm_label(lab): c for lab, c in bcols.items()}
            if set(by_norm) != {norm_label(c) for c in classes}:
                raise input_error(f"baseline.score {opts.baseline_score!r} has classes {list(bcols)}, the candidate's "
                                  f"are {[str(c) for c in classes]}: the two must score the same classes", file,
                                  key="baseline")
            base["score_cols"] = [by_norm[norm_label(c)] for c in classes]
            need += base["score_cols"]
        else:
            where = {norm_label(c): i for i, c in enumerate(base_runner.classes)}
            if set(where) != {norm_label(c) for c in classes}:
                raise input_error(f"the production model has classes {[str(c) for c in base_runner.classes]}, the "
                                  f"candidate's are {[str(c) for c in classes]}", file, key="baseline")
            base["runner"] = base_runner
            base["order"] = [where[norm_label(c)] for c in classes]
            need += base_runner.features
    fn = functools.partial(_cells_batch, target=target, classes=classes, sensitive=list(opts.all_sensitive),
                           cand=cand, base=base, file=file)
    parts = []
    try:
        for status, part in map_batches(table, list(dict.fromkeys(need)), fn):
            if status == "error":
                raise input_error(part, file)
            parts.append(part)
    except InputError:
        raise
    except Exception as exc:  # noqa: BLE001 - the engine could not run the batches: said plainly
        raise input_error(f"the engine could not read the rows batch by batch: {type(exc).__name__}: "
                          f"{java_message(exc)}", file) from None
    sens = list(opts.all_sensitive)
    by = [*sens, CODE, PRED, *([BASE_PRED] if base is not None else [])]
    sums = [LOSS, *([BASE_LOSS] if base is not None else []), COUNT]
    if parts:
        cells = pd.concat([c for c, _, _ in parts], ignore_index=True).groupby(by, dropna=False, sort=True)[sums].sum(
            min_count=1).reset_index()
    else:
        cells = pd.DataFrame({c: [] for c in [*by, *sums]})
    data = EvalData(task="multiclass", decision_threshold=decision_threshold, strict=strict, classes=classes)
    data.y_true = cells[CODE].to_numpy(dtype=np.int64)
    data.y_pred = cells[PRED].to_numpy(dtype=float)
    data.weights = cells[COUNT].to_numpy(dtype=np.int64)
    loss = cells[LOSS].to_numpy(dtype=float)
    data.loss_sums = None if np.isnan(loss).any() else loss
    data.score_counts = _score_counts([tb for _, tb, _ in parts], len(classes))
    data.sensitive_default = list(opts.sensitive)
    if sens:
        from gatekit.data.sensitive import sensitive_frame

        data.sensitive = sensitive_frame(cells, sens, opts.sensitive_bins, file)
    if base is not None:
        from dataclasses import replace

        bloss = cells[BASE_LOSS].to_numpy(dtype=float)
        data.baseline = replace(data, y_pred=cells[BASE_PRED].to_numpy(dtype=float), cache={}, baseline=None,
                                loss_sums=None if np.isnan(bloss).any() else bloss,
                                score_counts=_score_counts([tb for _, _, tb in parts], len(classes)))
        run.info["baseline"] = {"source": "probability columns" if base["score_cols"] else
                                "prediction column" if base["pred_col"] else "model", "paired": True}
    run.eval_data = data
    run.info["classes"] = [str(c) for c in classes]
    run.info["aggregated_rows"] = {"groups": len(cells), "rows": int(data.weights.sum()),
                                   "by": [*sens, "target class", "predicted class"],
                                   "note": "multiclass rows streamed in batches and reduced to confusion cells "
                                           "with log-loss sums, and each probability column to distinct "
                                           "(probability, class) counts"}
    run.info.update({"task": "multiclass", "target": target, "positive_label": None, "score": opts.score,
                     "prediction": opts.prediction, "model_path": opts.model_label, "sensitive": opts.sensitive})
