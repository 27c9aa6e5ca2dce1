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
log losses (the confusion cells), and to counts per distinct (target class, probability vector, production's
probability vector) row (the probability rows). The label metrics and log loss come from the cells, the
one-vs-rest / one-vs-one ROC AUCs from the probability rows, all exactly. Confidence intervals use the stratified
bootstrap of counted rows (:func:`gatekit.stats.intervals.counted_weight_batches`): on the cells for the label
metrics, on the probability rows for log loss and the AUCs (:func:`gatekit.metrics.multiclass.resampling_rows`).
The probability rows number about one per evaluation row when the probabilities are continuous (far fewer when
they are rounded or a model gives few distinct vectors, as a shallow tree does): memory of about
``8 * (k + 2)`` bytes per distinct row for ``k`` classes (``8 * (2k + 2)`` with a production model's
probabilities), the same order as the per-distinct-score rows a binary score gives on these engines.
"""

from __future__ import annotations

import functools
from typing import Any

import numpy as np

from gatekit.core.errors import InputError, input_error
from gatekit.core.labels import norm_label
from gatekit.data.classes import check_matrix, codes_of, is_pattern, label_classes, pattern_columns
from gatekit.data.labels import numeric
from gatekit.data.readers import require_column
from gatekit.metrics.registry import EvalData

MAX_CODE_VALUES = 10
"""A numeric target of whole numbers with at most this many distinct values could be class codes or a count:
gatekit asks for ``task`` instead of guessing."""

TASKS = ("classification", "multiclass", "regression")


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
          runner: Any, order: list[int] | None, what: str) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """Return one model's predicted codes, per-row log losses and probability matrix (checked) on a batch.

    The losses are NaN and the matrix None when the model gave labels, not probabilities.
    """
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
    return np.argmax(mat, axis=1), loss, mat


PROB = "__gatekit_p"
BASE_PROB = "__gatekit_bp"


def _prob_keys(k: int, cand: bool, base: bool) -> list[str]:
    """Columns of the probability rows: the target code, then each side's probability columns."""
    return [CODE, *([f"{PROB}{j}" for j in range(k)] if cand else []),
            *([f"{BASE_PROB}{j}" for j in range(k)] if base else [])]


def _prob_rows_batch(y: np.ndarray, mat: np.ndarray | None, base_mat: np.ndarray | None) -> Any:
    """Return one batch's counts per distinct (target code, probabilities, production's); None without any."""
    import pandas as pd

    if mat is None and base_mat is None:
        return None
    k = (mat if mat is not None else base_mat).shape[1]  # type: ignore[union-attr]
    cols: dict[str, Any] = {CODE: y}
    for prefix, m in ((PROB, mat), (BASE_PROB, base_mat)):
        if m is not None:
            cols.update({f"{prefix}{j}": m[:, j] for j in range(k)})
    keys = _prob_keys(k, mat is not None, base_mat is not None)
    return pd.DataFrame(cols).assign(**{COUNT: 1}).groupby(keys, sort=False)[COUNT].sum().reset_index()


def _cells_batch(batch: Any, target: str, classes: list[Any], sensitive: list[str], cand: dict[str, Any],
                 base: dict[str, Any] | None, file: str) -> tuple[str, Any]:
    """Reduce one batch to its confusion cells and its probability rows.

    The cells: counts and loss sums per (target, predicted, [baseline predicted], sensitive values). The
    probability rows: counts per distinct (target, probabilities, [baseline probabilities]).
    """
    try:
        y = codes_of(batch[target], classes, "target", target, file).astype(np.int64)
        part = batch[sensitive].copy() if sensitive else batch[[]].copy()
        part[CODE] = y
        part[PRED], part[LOSS], mat = _side(batch, y, classes, **cand)
        base_mat = None
        if base is not None:
            part[BASE_PRED], part[BASE_LOSS], base_mat = _side(batch, y, classes, **base)
        rows = _prob_rows_batch(y, mat, base_mat)
    except InputError as exc:
        return "error", "; ".join(p.message for p in exc.problems)
    except KeyboardInterrupt:
        raise
    except BaseException as exc:  # noqa: BLE001 - the model failing on the data (even sys.exit): bad input
        return "error", f"the model failed to score the data: {type(exc).__name__}: {exc}"
    part[COUNT] = 1
    by = [*sensitive, CODE, PRED, *([BASE_PRED] if base is not None else [])]
    sums = [LOSS, *([BASE_LOSS] if base is not None else []), COUNT]
    return "ok", (part.groupby(by, dropna=False, sort=False)[sums].sum(min_count=1).reset_index(), rows)


def probability_rows(parts: list[Any], classes: list[Any], cand: bool, base: bool, decision_threshold: float,
                     strict: bool) -> tuple[EvalData | None, EvalData | None]:
    """Merge the batches' probability rows into the candidate's and production's compact rows.

    Parameters
    ----------
    parts : list of pandas.DataFrame
        Each batch's counts per distinct (target code, candidate probabilities, production probabilities).
    classes : list
        The class order (``k`` classes).
    cand, base : bool
        Whether the candidate / production gave probabilities.
    decision_threshold, strict : float, bool
        As for :class:`EvalData`.

    Returns
    -------
    candidate, production : EvalData or None
        Multiclass rows, one per distinct (target code, probabilities of both sides), sorted by them (the same
        order on every engine; an interval gathers them in its own canonical order,
        :func:`gatekit.metrics.weighted.counted_rows`): ``y_true``
        the codes, ``y_score`` the side's matrix of shape (m, k), ``weights`` the counts. The candidate's
        ``baseline`` is production's rows when both gave probabilities (a paired resample draws them together).
        None for a side that gave labels only.
    """
    import pandas as pd

    if not (cand or base):
        return None, None
    k = len(classes)
    keys = _prob_keys(k, cand, base)
    if parts:
        whole = pd.concat(parts, ignore_index=True).groupby(keys, sort=True)[COUNT].sum().reset_index()
    else:
        whole = pd.DataFrame({c: [] for c in [*keys, COUNT]})
    y = whole[CODE].to_numpy(dtype=np.int64)
    w = whole[COUNT].to_numpy(dtype=np.int64)

    def side(prefix: str) -> EvalData:
        mat = whole[[f"{prefix}{j}" for j in range(k)]].to_numpy(dtype=float).reshape(len(whole), k)
        return EvalData(task="multiclass", decision_threshold=decision_threshold, strict=strict, classes=classes,
                        y_true=y, y_score=mat, weights=w)

    c_rows = side(PROB) if cand else None
    b_rows = side(BASE_PROB) if base else None
    if c_rows is not None:
        c_rows.baseline = b_rows
    return c_rows, b_rows


def load_multiclass_table(run: Any, opts: Any, model: Any, base_model: Any, file: str, decision_threshold: float,
                          strict: bool, runner: Any, base_runner: Any) -> None:
    """Fill ``run.eval_data`` for a multiclass target on an engine's table (DuckDB or Spark).

    The rows are streamed in batches where they are (:func:`gatekit.data.engine.map_batches`); each batch
    becomes counts and log-loss sums per (target class, predicted class, production's predicted class,
    sensitive values), and counts per distinct (target class, probabilities, production's probabilities).
    ``EvalData`` then holds the cells: ``weights`` the counts, ``loss_sums`` the sums, ``y_pred`` the predicted
    classes, no probability matrix; and ``probability_rows`` the distinct probability rows with their counts
    (:func:`probability_rows`; on the baseline too), from which the AUCs and the intervals of log loss and the
    AUCs are computed.

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
    need = [target, *opts.group_columns]
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
    fn = functools.partial(_cells_batch, target=target, classes=classes, sensitive=list(opts.group_columns),
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
    by = [*opts.group_columns, CODE, PRED, *([BASE_PRED] if base is not None else [])]
    sums = [LOSS, *([BASE_LOSS] if base is not None else []), COUNT]
    if parts:
        cells = pd.concat([c for c, _ in parts], ignore_index=True).groupby(by, dropna=False, sort=True)[sums].sum(
            min_count=1).reset_index()
    else:
        cells = pd.DataFrame({c: [] for c in [*by, *sums]})
    data = EvalData(task="multiclass", decision_threshold=decision_threshold, strict=strict, classes=classes)
    data.y_true = cells[CODE].to_numpy(dtype=np.int64)
    data.y_pred = cells[PRED].to_numpy(dtype=float)
    data.weights = cells[COUNT].to_numpy(dtype=np.int64)
    loss = cells[LOSS].to_numpy(dtype=float)
    data.loss_sums = None if np.isnan(loss).any() else loss
    has_cand = cand["score_cols"] is not None or cand["runner"] is not None
    has_base = base is not None and (base["score_cols"] is not None or base["runner"] is not None)
    cand_rows, base_rows = probability_rows([r for _, r in parts if r is not None], classes, has_cand, has_base,
                                            decision_threshold, strict)
    data.probability_rows = cand_rows
    data.sensitive_default = list(opts.sensitive)
    if sens:
        from gatekit.data.sensitive import sensitive_frame

        data.sensitive = sensitive_frame(cells, sens, opts.sensitive_bins, file)
    if opts.slice_bins:
        from gatekit.data.slices import slice_frame

        data.segments = slice_frame(cells, opts.slice_bins, file)
    if base is not None:
        from dataclasses import replace

        bloss = cells[BASE_LOSS].to_numpy(dtype=float)
        data.baseline = replace(data, y_pred=cells[BASE_PRED].to_numpy(dtype=float), cache={}, baseline=None,
                                loss_sums=None if np.isnan(bloss).any() else bloss, probability_rows=base_rows)
        run.info["baseline"] = {"source": "probability columns" if base["score_cols"] else
                                "prediction column" if base["pred_col"] else "model", "paired": True}
    run.eval_data = data
    run.info["classes"] = [str(c) for c in classes]
    run.info["aggregated_rows"] = {"groups": len(cells), "rows": int(data.weights.sum()),
                                   "by": [*sens, "target class", "predicted class"],
                                   "probability_rows": next((len(r.y_true) for r in (cand_rows, base_rows)
                                                             if r is not None and r.y_true is not None), None),
                                   "note": "multiclass rows streamed in batches and reduced to confusion cells "
                                           "with log-loss sums, and to counts per distinct (class, probability "
                                           "vector) row for the AUCs and the intervals of log loss and the AUCs"}
    run.info.update({"task": "multiclass", "target": target, "positive_label": None, "score": opts.score,
                     "prediction": opts.prediction, "model_path": opts.model_label, "sensitive": opts.sensitive})
