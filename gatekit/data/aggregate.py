"""Evaluation arrays from an engine's table: the rows aggregated to one row per distinct combination of roles.

On the DuckDB engine the metric rules never see the rows themselves. :func:`load_eval_from_table` groups the
evaluation table by the columns the metrics read (target, score or prediction, the production model's output,
the sensitive columns, the columns ``slices:`` rules slice by) and counts the rows of each group; the groups
become a compact :class:`EvalData` whose ``weights`` are those counts. Every metric equals its value on the rows
the counts stand for (scikit-learn and fairlearn with ``sample_weight``; gatekit's own kernels weight their
sums). A model is run over the table in record batches (memory bounded by one batch) and its scores aggregated
the same way.

The compact frame goes through the same code as a pandas frame (:func:`gatekit.data.loader.load_inputs`), so
the checks on labels, tasks and columns are the same on both engines.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import replace
from typing import Any

import numpy as np

from gatekit.core.errors import InputError, input_error
from gatekit.data.baseline import load_baseline_model
from gatekit.data.classes import is_pattern
from gatekit.data.engine import map_batches, sample_frame
from gatekit.data.inputs import InputOptions, RunInputs
from gatekit.data.labels import infer_positive
from gatekit.data.multiclass import decide_task, load_multiclass_table
from gatekit.data.readers import require_column
from gatekit.data.spark import java_message
from gatekit.model.scoring import MissingFeatures, make_runner

SCORE = "__gatekit_score"
BASELINE_SCORE = "__gatekit_baseline_score"
COUNT = "__gatekit_rows"

SAMPLE_ROWS = 10_000
"""Rows of the seeded sample a model is bound to (its feature columns) and timed on, on the DuckDB engine."""
SAMPLE_SEED = 20240611
"""Seed of that sample (:func:`gatekit.data.engine.sample_frame`)."""
BATCH_ROWS = 250_000
"""Rows per record batch when a model scores an engine's table."""


def _nulls(table: Any, column: str) -> int:
    return int(table.filter(table[column].isnull()).count().to_pyarrow().as_py())


def _target_values(table: Any, target: str) -> Any:
    """Return the target's distinct values (at most 1,001) as a pandas Series, for task and label inference."""
    return table.select(target).distinct().limit(1001).to_pandas()[target]


def load_eval_from_table(run: RunInputs, opts: InputOptions, model: Any, file: str, decision_threshold: float,
                         strict: bool, load_eval: Callable[..., RunInputs]) -> None:
    """Fill ``run.eval_data`` (compact, weighted) from ``run.table``.

    Parameters
    ----------
    run : RunInputs
        With ``table`` set (an ibis table on DuckDB).
    opts : InputOptions
        The merged options.
    model : object or None
        The loaded candidate model.
    file : str
        How messages name the data.
    decision_threshold, strict : float, bool
        As :func:`gatekit.data.loader.load_inputs`.
    load_eval : callable
        The pandas path's evaluation loader, run on the aggregated frame.

    Raises
    ------
    InputError
        A missing role column, rows without a target value, a model that cannot score the rows.
    """
    table = run.table
    head = table.limit(0).to_pandas()  # the columns and their types, no rows
    roles = [("target", opts.target), ("score", opts.score), ("prediction", opts.prediction),
             ("baseline score", opts.baseline_score), ("baseline prediction", opts.baseline_prediction),
             *(("sensitive", c) for c in opts.all_sensitive),
             *(("slice", c) for c in opts.group_columns if c not in opts.all_sensitive),
             *((f"{float(q):g}-quantile forecast", c) for q, c in sorted(opts.quantiles.items()))]
    for role, name in roles:
        if name is not None and not is_pattern(name):  # a pattern ('score_*') is matched by the multiclass path
            require_column(head, name, role, file)
    if opts.target is not None:
        missing = _nulls(table, opts.target)
        if missing:
            raise input_error(f"{missing} rows have no target value; remove or fill them: a gate never drops rows "
                              "silently", file, key=opts.target)
    # a model scores the rows for the target's metrics: without a target there is nothing to score them against
    scoring = model is not None and opts.score is None and opts.prediction is None and opts.target is not None
    base_model = None
    if opts.baseline_model is not None:
        base_model = load_baseline_model(opts, run, file)
    sample = sample_frame(table, SAMPLE_ROWS, SAMPLE_SEED) if (model is not None or base_model is not None) else None
    run.sample = sample
    if sample is not None:
        run.info["sample"] = {"rows": len(sample), "seed": SAMPLE_SEED,
                              "method": "rows whose position hash falls below the sampling rate "
                                        "(gatekit.data.engine.sample_frame): the same rows on every engine"}
    task, positive = _task_and_positive(table, opts, model, file)
    if task == "multiclass":
        _multiclass(run, opts, model, base_model, sample, file, decision_threshold, strict)
        return
    if opts.target is not None and task is not None and opts.task != task:
        opts = replace(opts, task=task)  # decided with the model's evidence, which the compact frame lacks
    runner, base_runner = _bind_runners(run, opts, model, base_model, sample, file, task or "classification",
                                        positive, scoring)
    keys = [c for c in dict.fromkeys(n for _, n in roles if n is not None)]
    score_runner = runner if scoring else None
    if score_runner is None and base_runner is None:
        compact = table.group_by(keys).agg(**{COUNT: table.count()}).to_pandas() if keys else None
    else:
        compact = _score_and_aggregate(table, keys, score_runner, base_runner, file)
    copts = replace(opts, model=None, baseline_model=None)
    if scoring:
        copts.score = SCORE if score_runner is not None else None
    if base_runner is not None:
        copts.baseline_score = BASELINE_SCORE
    elif opts.baseline_model is not None:
        copts.baseline_score = None  # its scoring error is reported by the rules that need it
    if compact is None or (scoring and score_runner is None and opts.target is not None):
        # nothing to aggregate (no role column) or the model cannot score: the metric rules say why
        if opts.target is None or compact is None:
            run.no_eval_reason = ("no target column was given (inputs.target / --target), so no metric is computed"
                                  if opts.target is None else run.no_eval_reason)
            run.runner = runner
            return
    load_eval(run, compact, copts, None, file, False, decision_threshold, strict)
    weights = compact[COUNT].to_numpy(dtype=np.int64)
    if run.eval_data is not None:
        run.eval_data.weights = weights
        if run.eval_data.baseline is not None:
            run.eval_data.baseline.weights = weights
    run.runner, run.baseline_runner = runner, base_runner
    run.info["aggregated_rows"] = {"groups": len(compact), "rows": int(weights.sum()),
                                   "by": [str(k) for k in keys] + ([SCORE] if score_runner else [])}
    if "score" in run.info:
        run.info["score"] = opts.score
    if opts.model is not None:
        run.info["model_path"] = opts.model_label
    if base_model is not None and "baseline" in run.info:
        run.info["baseline"]["source"] = f"model {getattr(opts.baseline_model, 'name', type(base_model).__name__)}"


def _task_and_positive(table: Any, opts: InputOptions, model: Any, file: str) -> tuple[str | None, Any]:
    """Return the task and positive label a model is bound with (the compact frame's checks decide them again)."""
    if opts.target is None:
        task = opts.task or ("classification" if hasattr(model, "predict_proba") else "regression")
        if task == "classification" and model is not None:
            return task, infer_positive(list(getattr(model, "classes_", [])), opts.positive_label, file,
                                        "the model's classes")
        return task, opts.positive_label
    values = _target_values(table, opts.target)
    task = decide_task(values, opts.task, opts, model, opts.target, file)
    if task != "classification" or values.nunique() > 2:
        return task, None
    return task, infer_positive(values.dropna().unique().tolist(), opts.positive_label, file, opts.target)


def _bind_runners(run: RunInputs, opts: InputOptions, model: Any, base_model: Any, sample: Any, file: str,
                  task: str, positive: Any, scoring: bool) -> tuple[Any, Any]:
    """Bind the candidate and production models to the engine's sample (their features, checked on real rows).

    A model that cannot take the rows' features is the run's scoring error when gatekit scores with it (the
    metric rules report it), else its runner error; any other problem raises.

    Returns
    -------
    (runner or None, baseline runner or None)
    """
    runner = base_runner = None
    if model is not None and sample is not None:
        try:
            runner = make_runner(model, sample, opts, task, positive, file)
            run.info["model"] = {"class": type(model).__name__, "features": runner.features}
        except InputError as exc:
            if scoring and not isinstance(exc.__cause__, MissingFeatures):
                raise
            if scoring:
                run.scoring_error = str(exc.__cause__)
            else:
                run.runner_error = str(exc)
    if base_model is not None and sample is not None:
        try:
            base_runner = make_runner(base_model, sample, opts, task, positive, file, baseline=True)
            run.info["baseline_model"] = {"class": type(base_model).__name__, "features": base_runner.features}
        except InputError as exc:
            if not isinstance(exc.__cause__, MissingFeatures):
                raise
            run.baseline_scoring_error = str(exc.__cause__)
    return runner, base_runner


def _multiclass(run: RunInputs, opts: InputOptions, model: Any, base_model: Any, sample: Any, file: str,
                decision_threshold: float, strict: bool) -> None:
    """Load a multiclass target on the engine: bind the model(s) to the sample, stream the rows to confusion cells."""
    scoring = model is not None and opts.score is None and opts.prediction is None
    runner, base_runner = _bind_runners(run, opts, model, base_model, sample, file, "multiclass", None, scoring)
    if base_model is not None and base_runner is None:
        opts = replace(opts, baseline_model=None)  # its scoring error is reported by the rules that need it
    load_multiclass_table(run, opts, model, base_model, file, decision_threshold, strict,
                          runner if scoring else None, base_runner)
    run.runner, run.baseline_runner = runner, base_runner


def _score_batch(batch: Any, keys: list[str], by: list[str], runner: Any, base_runner: Any) -> tuple[str, Any]:
    """Score one batch with the model(s) and count its rows per distinct (keys, scores) (runs where the rows are).

    Returns ``("ok", counts frame)``, or ``("error", message)`` when a model fails on the batch.
    """
    part = batch[keys].copy()
    for col, r in ((SCORE, runner), (BASELINE_SCORE, base_runner)):
        if r is None:
            continue
        try:
            scores = r(batch[r.features])
        except KeyboardInterrupt:
            raise
        except BaseException as exc:  # noqa: BLE001 - the model failing on the data (even sys.exit): bad input
            return "error", f"the model failed to score the data: {type(exc).__name__}: {exc}"
        if len(scores) != len(batch):
            return "error", f"the model returned {len(scores):,} scores for {len(batch):,} rows"
        part[col] = scores
    return "ok", part.groupby(by, dropna=False, sort=False).size().rename(COUNT).reset_index()


def _score_and_aggregate(table: Any, keys: list[str], runner: Any, base_runner: Any, file: str) -> Any:
    """Run the model(s) over ``table`` in record batches and count the rows per distinct (keys, scores)."""
    import pandas as pd

    need = list(dict.fromkeys([*keys, *(runner.features if runner else []),
                               *(base_runner.features if base_runner else [])]))
    by = list(keys)
    if runner is not None:
        by.append(SCORE)
    if base_runner is not None:
        by.append(BASELINE_SCORE)
    parts = []
    score = functools.partial(_score_batch, keys=keys, by=by, runner=runner, base_runner=base_runner)
    try:
        for status, part in map_batches(table, need, score, BATCH_ROWS):
            if status == "error":
                raise input_error(part, file)
            parts.append(part)
    except InputError:
        raise
    except Exception as exc:  # noqa: BLE001 - Spark could not ship the model or run the batches: said plainly
        raise input_error(f"the engine could not score the data with the model: {type(exc).__name__}: "
                          f"{java_message(exc)}", file) from None  # Py4J's preamble replaced by the Java message
    if not parts:
        return pd.DataFrame({**{c: [] for c in by}, COUNT: []})
    whole = pd.concat(parts, ignore_index=True)
    return whole.groupby(by, dropna=False, sort=False)[COUNT].sum().reset_index()
