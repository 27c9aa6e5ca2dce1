"""Loading a run's inputs: :func:`load_inputs` reads every file the options name, once, into :class:`RunInputs`.

The evaluation data, target, scores or predictions (or the candidate model scoring the rows), sensitive
columns, the reference data, metrics files, latency samples, the production model's rows and the canary
log. Problems raise :class:`~gatekit.core.errors.InputError` naming the file and column.
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

import numpy as np

from gatekit.core.errors import InputError, input_error
from gatekit.core.hashing import must_exist, record_file
from gatekit.core.labels import norm_label
from gatekit.data.baseline import load_baseline_rows, shadow_without_labels
from gatekit.data.canary import load_canary
from gatekit.data.engine import (
    TABLE_ENGINES,
    Source,
    categorical_columns,
    choose_engine,
    connection_for,
    content_sha256,
    engine_info,
    looks_like_table,
    open_table,
    read_pandas,
    row_count,
    source_of,
)
from gatekit.data.inputs import InputOptions, RunInputs, check_model_features, input_roles
from gatekit.data.labels import check_label_space, infer_positive, numeric, scalar_column, to01
from gatekit.data.metrics_file import ObservedMetric, load_observed
from gatekit.data.mlflow_runs import is_run_source, read_run_metrics
from gatekit.data.multiclass import decide_task, load_multiclass, load_multiclass_baseline
from gatekit.data.readers import canary_roles, require_column, role_conflict_message, role_conflicts
from gatekit.data.sensitive import sensitive_frame
from gatekit.data.slices import slice_frame
from gatekit.metrics.registry import EvalData, MetricRegistry
from gatekit.model.loading import load_model
from gatekit.model.scoring import MissingFeatures, make_runner, score_with_model


def _bind_without_target(run: RunInputs, model: Any, frame: Any, opts: InputOptions, file: str) -> None:
    """Bind a model to its features when there is no target (operational figures need no labels)."""
    task = opts.task or ("classification" if hasattr(model, "predict_proba") else "regression")
    try:
        positive = None
        if task == "classification":
            positive = infer_positive(list(getattr(model, "classes_", [])), opts.positive_label, file,
                                      "the model's classes")
        run.runner = make_runner(model, frame, opts, task, positive, file)
    except InputError as exc:
        run.runner_error = str(exc)


def _observed(source: Any, opts: InputOptions, registry: MetricRegistry, run: RunInputs,
              role: str = "metrics") -> dict[str, ObservedMetric]:
    """Read a metrics input: a JSON file, or an MLflow run's latest values (``mlflow:runs/<RUN_ID>``)."""
    if is_run_source(source):
        return read_run_metrics(source, registry, run.files, run.info, role, opts.mlflow_tracking_uri)
    return load_observed(Path(source), registry, run.files, run.info, role=role)


def _listed(v: Any) -> list[str]:
    return [v] if isinstance(v, str) else [x for x in (v or []) if isinstance(x, str)]


def _record_source(files: dict[str, dict[str, Any]], role: str, src: Source) -> None:
    """Record an input for the report.

    A file: its path, sha256 and size; several files: their combined digest; an object: its content hash (None
    when it cannot be told: an ibis table is not read to hash it).
    """
    if src.kind == "file":
        record_file(files, role, src.paths[0])
        return
    if src.kind == "files":
        import hashlib

        parts: dict[str, dict[str, Any]] = {}
        for i, p in enumerate(src.paths):
            record_file(parts, str(i), p)
        digest = hashlib.sha256("".join(parts[str(i)]["sha256"] for i in range(len(src.paths))).encode()).hexdigest()
        files[role] = {"path": src.label, "sha256": digest, "bytes": sum(v["bytes"] for v in parts.values()),
                       "files": [v["path"] for v in parts.values()]}
        return
    files[role] = {"path": src.label, "sha256": content_sha256(src), "bytes": None, "object": src.kind}


def _read_data(run: RunInputs, src: Source, con: Any) -> Any:
    """Read (pandas) or open (DuckDB) the evaluation data; return the pandas frame or None."""
    _record_source(run.files, "data", src)
    if con is not None:
        run.table = open_table(src, con, "data")
        run.categorical["data"] = categorical_columns(src)
        run.info["data"] = {"rows": row_count(run.table), "columns": len(run.table.columns)}
        return None
    frame = read_pandas(src)
    run.frame = frame
    run.info["data"] = {"rows": len(frame), "columns": int(frame.shape[1])}
    return frame


def check_roles(opts: InputOptions) -> None:
    """Refuse a column given in two roles that must not coincide (the target as the score, ...).

    The evaluation data's roles (:func:`~gatekit.data.inputs.input_roles`) and the canary log's
    (:func:`~gatekit.data.inputs.canary_roles`, with the sensitive columns the canary rules name) are checked
    separately: they are columns of different files.

    Parameters
    ----------
    opts : InputOptions
        The merged options (policy and overrides).

    Raises
    ------
    InputError
        Naming both roles and the column (exit 2).
    """
    found = role_conflicts(input_roles(opts))
    if opts.canary is not None:
        named = [p for r in opts.canary.rules for p in _listed(r.params.get("sensitive"))]
        found += role_conflicts([*canary_roles(opts.canary), ("canary sensitive", named)])
    if found:
        first, second, col = found[0]
        raise input_error(role_conflict_message(first, second, col), str(opts.data) if opts.data else None,
                          key=second)


SAME_CONTENT_ROLES = (("data", "reference", "drift and unseen-category rules would compare the rows with themselves"),
                      ("model", "baseline_model", "every comparison with production would compare the model with "
                                                  "itself"),
                      ("metrics", "baseline_metrics", "every comparison with production would compare the figures "
                                                      "with themselves"))
"""Pairs of inputs that must not be the same content, and what would go wrong if they were."""


def check_distinct_inputs(files: dict[str, dict[str, Any]]) -> None:
    """Refuse two inputs that must differ but have the same content (the data given again as the reference, ...).

    Parameters
    ----------
    files : dict
        The run's file records (role -> ``{"path", "sha256", ...}``).

    Raises
    ------
    InputError
        Naming both roles, the files and why it would make every comparison pass trivially.
    """
    for a, b, why in SAME_CONTENT_ROLES:
        fa, fb = files.get(a), files.get(b)
        if fa and fb and fa.get("sha256") and fa.get("sha256") == fb.get("sha256"):
            raise input_error(f"the {b.replace('_', ' ')} ({fb.get('path')}) has the same content as the "
                              f"{a.replace('_', ' ')} ({fa.get('path')}, sha256 {str(fa['sha256'])[:12]}...): {why}; "
                              "give the right file", str(fb.get("path")), key=b)


def load_inputs(opts: InputOptions, registry: MetricRegistry, decision_threshold: float = 0.5,
                strict: bool = True, allow_empty: bool = False) -> RunInputs:
    """Load every input named in ``opts`` once.

    Parameters
    ----------
    opts : InputOptions
        Where the inputs are and which columns to use.
    registry : MetricRegistry
        To resolve names in a metrics file.
    decision_threshold : float
        Score threshold for predicted labels, passed on to :class:`EvalData`.
    strict : bool
        Passed on to :class:`EvalData` (missing sensitive values are errors in strict mode).
    allow_empty : bool
        Accept no data and no metrics file (a policy whose rules need neither, such as a compatibility
        check between two declared signatures).

    Returns
    -------
    RunInputs

    Raises
    ------
    InputError
        A file or column is missing or unusable; two inputs that must differ have the same content
        (:func:`check_distinct_inputs`).
    """
    import time

    started = time.perf_counter()
    run = _load_inputs(opts, registry, decision_threshold, strict, allow_empty)
    check_distinct_inputs(run.files)
    run.load_s = round(time.perf_counter() - started, 3)
    return run


def _load_inputs(opts: InputOptions, registry: MetricRegistry, decision_threshold: float, strict: bool,
                 allow_empty: bool) -> RunInputs:
    check_roles(opts)
    run = RunInputs()
    for which in ("latency_samples", "baseline_latency_samples"):
        path = getattr(opts, which)
        if path is not None:
            from gatekit.model.serving import load_samples

            samples = load_samples(path)  # names the file when it is missing or malformed
            record_file(run.files, which, path)
            setattr(run, which, samples)
    if opts.canary is not None:
        if opts.canary_data is None:
            raise input_error("the policy has a canary: section but no traffic log; set canary.data or --canary-log")
        named = [p for r in opts.canary.rules for p in _listed(r.params.get("sensitive"))]
        run.canary = load_canary(opts.canary, opts.canary_data, run.files, decision_threshold, strict, named,
                                 bins=opts.sensitive_bins)
        run.info["canary"] = run.canary.info
    if opts.metrics is not None:
        run.observed = _observed(opts.metrics, opts, registry, run)
    if opts.baseline_metrics is not None:
        run.baseline_observed = _observed(opts.baseline_metrics, opts, registry, run, role="baseline_metrics")
    data_src = source_of(opts.data, "data", opts.engine) if opts.data is not None else None
    ref_src = source_of(opts.reference, "reference", opts.engine) if opts.reference is not None else None
    for src, role in ((data_src, "data"), (ref_src, "reference")):  # the evaluation data is named first
        if src is not None and src.kind == "file":
            if not src.paths[0].exists() and looks_like_table(src.label):
                raise input_error(f"{role} file not found; to read a Spark table of that name run with --engine "
                                  "spark (or inputs.engine: spark)", src.label, key=role)
            must_exist(src.paths[0], role)
    engine, why = choose_engine(opts.engine, [s for s in (data_src, ref_src) if s is not None])
    run.engine = engine
    if engine != "spark" and (opts.spark_master or opts.spark_conf):
        raise input_error(f"Spark settings (spark master / conf) were given but the engine is {engine}; give "
                          "--engine spark, or leave them out", key="engine")
    con = (connection_for([s for s in (data_src, ref_src) if s is not None], engine, opts.spark_master,
                          opts.spark_conf) if engine in TABLE_ENGINES else None)
    run.info["engine"] = engine_info(engine, why, con)
    if engine == "spark" and opts.spark_conf:  # the settings' names only: a value may be a secret (an S3 key)
        run.info["engine"]["spark_conf_keys"] = sorted(opts.spark_conf)
    if ref_src is not None:
        _record_source(run.files, "reference", ref_src)
        if con is not None:
            run.reference_table = open_table(ref_src, con, "reference")
            run.categorical["reference"] = categorical_columns(ref_src)
            run.info["reference"] = {"rows": row_count(run.reference_table),
                                     "columns": len(run.reference_table.columns)}
        else:
            run.reference = read_pandas(ref_src)
            run.info["reference"] = {"rows": len(run.reference), "columns": int(run.reference.shape[1])}
    if data_src is None:
        for flag, val in (("target", opts.target), ("score", opts.score), ("prediction", opts.prediction),
                          ("sensitive", opts.sensitive),
                          ("baseline score", opts.baseline_score), ("baseline prediction", opts.baseline_prediction),
                          ("baseline model", opts.baseline_model)):
            if val:
                raise input_error(f"{flag} is set but no evaluation data is: give --data (or inputs.data)", key=flag)
        if opts.model is not None:  # inspected without data: format, signature, hash (artifact rules)
            run.model = load_model(opts.model, opts.model_sha256, opts.trust_model, run.files, run,
                                   signature=opts.model_signature, artifact_sha256=opts.artifact_sha256)
            run.no_eval_reason = "no evaluation data was given (--data), so the model scored nothing"
            return run
        if opts.metrics is None and opts.latency_samples is None and not (allow_empty and opts.reference is None):
            raise input_error("nothing to evaluate: give evaluation data (--data with --target and --score, "
                              "--prediction or --model) or a metrics file (--metrics), on the command line or "
                              "in the policy's inputs: section")
        return run
    frame = _read_data(run, data_src, con)
    file = data_src.label
    if opts.score is not None and opts.prediction is not None:
        raise input_error("give only one of score and prediction", file)
    # a model given with a score or prediction column is inspected (format, signature), not run: the
    # column holds its output
    model = None
    if opts.model is not None:
        model = load_model(opts.model, opts.model_sha256, opts.trust_model, run.files, run,
                           signature=opts.model_signature, artifact_sha256=opts.artifact_sha256)
        run.model = model
        check_model_features(model, opts, "model", file)
    if run.engine in TABLE_ENGINES:
        from gatekit.data.aggregate import load_eval_from_table

        load_eval_from_table(run, opts, model, file, decision_threshold, strict, _load_eval)
        return run
    return _load_eval(run, frame, opts, model, file, data_src.kind == "file" and data_src.paths[0].suffix.lower()
                      in (".csv", ".txt"), decision_threshold, strict)


def _load_eval(run: RunInputs, frame: Any, opts: InputOptions, model: Any, file: str, csv_lines: bool,
               decision_threshold: float, strict: bool) -> RunInputs:
    """Load the evaluation arrays from a pandas frame of the rows (or of the engine's aggregated rows)."""
    if opts.order_by is not None and run.engine not in TABLE_ENGINES and frame is not None:
        from gatekit.data.arrival import arrival_order  # the rows' arrival order (inputs.sequential.order_by)

        run.eval_order = arrival_order(frame, opts.order_by, file)
    if opts.target is None and opts.has_baseline_rows and (opts.score or opts.prediction or opts.model):
        shadow_without_labels(opts, run, frame, model, file, decision_threshold, strict)
        return run
    if opts.target is None:
        for flag, val in (("score", opts.score), ("prediction", opts.prediction), ("sensitive", opts.sensitive),
                          ("baseline score", opts.baseline_score), ("baseline prediction", opts.baseline_prediction)):
            if val:
                raise input_error(f"{flag} is set but no target column is: set --target (or inputs.target)", file,
                                  key="target")
        # data-quality and compatibility rules need no target; metric rules report what is missing
        run.no_eval_reason = "no target column was given (inputs.target / --target), so no metric is computed"
        if model is not None and frame is not None:  # timing a model needs no labels: bind it for operational figures
            _bind_without_target(run, model, frame, opts, file)
        return run
    target = require_column(frame, opts.target, "target", file)
    n_missing_target = int(target.isna().sum())
    if n_missing_target:
        idx = np.flatnonzero(target.isna().to_numpy())[:5]
        where = f"file lines {(idx + 2).tolist()}" if csv_lines else f"rows {idx.tolist()}, counted from 0"
        raise input_error(f"{n_missing_target} rows have no target value ({where}...); remove or fill "
                          "them: a gate never drops rows silently", file, key=opts.target)
    for role, name in (("target", opts.target), ("score", opts.score), ("prediction", opts.prediction),
                       *(("sensitive", c) for c in (*opts.sensitive, *opts.extra_sensitive))):
        if name is not None and name in frame.columns:
            scalar_column(frame[name], role, name, file)
    task = decide_task(target, opts.task, opts, model, opts.target, file)
    n_classes = len({norm_label(v) for v in target.dropna().unique()})
    data = EvalData(task=task, decision_threshold=decision_threshold, strict=strict)
    positive = None
    if task == "multiclass":
        load_multiclass(run, frame, opts, model, file, target, data, csv_lines)
    elif task == "classification":
        positive = infer_positive(target.dropna().unique().tolist(), opts.positive_label, file, opts.target)
        data.y_true = to01(target, positive).astype(int)
        if data.y_true.sum() == 0 and n_classes == 2:
            distinct = target.dropna().unique().tolist()[:10]
            raise input_error(f"positive label {positive!r} matches no value of target {opts.target!r} "
                              f"(values: {distinct}); check inputs.positive_label", file, key="positive_label")
        data.positive_label = positive
        others = [v for v in target.dropna().unique().tolist() if norm_label(v) != norm_label(positive)]
        if len({norm_label(v) for v in others}) == 1:  # the other class's label, for the report's confusion matrix
            run.info["negative_label"] = others[0]
    else:
        data.y_true = numeric(target, "regression target", opts.target, file, "target")
    if task == "multiclass":
        pass  # outputs loaded with the classes (load_multiclass)
    elif opts.score is not None:
        col = require_column(frame, opts.score, "score", file)
        data.y_score = numeric(col, "score column", opts.score, file, "score")
    elif opts.prediction is not None:
        col = require_column(frame, opts.prediction, "prediction", file)
        if task == "classification":
            check_label_space(col, target, opts.prediction, opts.target, file)
            data.y_pred = to01(col, positive)
        else:
            data.y_pred = numeric(col, "prediction column", opts.prediction, file, "prediction")
    elif opts.model is not None:
        try:
            data.y_score, run.runner = score_with_model(model, frame, opts, task, positive, file, run.info)
        except InputError as exc:
            if not isinstance(exc.__cause__, MissingFeatures):
                raise
            # the data lacks columns the model needs: the metric rules cannot be computed, but the
            # data-quality and compatibility sections still run and say which columns are missing
            run.scoring_error = str(exc.__cause__)
    _forecast_inputs(run, frame, opts, data, task, file)
    all_sensitive = opts.all_sensitive
    data.sensitive_default = list(opts.sensitive)
    if all_sensitive:
        for c in all_sensitive:
            require_column(frame, c, "sensitive", file)
        data.sensitive = sensitive_frame(frame, all_sensitive, opts.sensitive_bins, file)
    if opts.slice_bins:
        data.segments = slice_frame(frame, opts.slice_bins, file)
    run.eval_data = data
    if opts.has_baseline_rows and task == "multiclass":
        load_multiclass_baseline(opts, run, frame, file, csv_lines)
    elif opts.has_baseline_rows:
        load_baseline_rows(opts, run, frame, target, task, positive, file)
        if data.baseline is not None:
            data.baseline.train_target = data.train_target  # MASE scales both models by the same training series
    if opts.model is not None and (opts.score is not None or opts.prediction is not None):
        run.info["model_scored_by"] = ("the score / prediction column (the model file is not run for them; "
                                       "operational figures, when asked for, run it)")
        try:  # bound now so operational rules can time it; a model that cannot run says why there
            run.runner = make_runner(model, frame, opts, task, positive, file)
        except InputError as exc:
            run.runner_error = str(exc)
    run.info.update({"task": task, "target": opts.target, "positive_label": positive,
                     "score": opts.score, "prediction": opts.prediction,
                     "model_path": opts.model_label, "sensitive": opts.sensitive})
    return run


def _forecast_inputs(run: RunInputs, frame: Any, opts: InputOptions, data: EvalData, task: str, file: str) -> None:
    """Load a regression run's quantile forecasts (``inputs.quantiles``) and training series (for MASE).

    The training series is the reference data's target column in row order: an array on pandas, read from the
    engine (ordered by row position, :func:`gatekit.data.engine.positioned`) the first time MASE asks for it.
    """
    if opts.quantiles and task != "regression":
        raise input_error(f"quantiles are given but the target is {task}: quantile forecasts are for a numeric "
                          "(regression) target", file, key="quantiles")
    if task != "regression":
        return
    if opts.quantiles:
        data.quantiles = {}
        # recorded with the other column roles (report metadata["inputs"]), whether from the policy or --quantiles
        run.info["quantiles"] = {str(float(q)): col for q, col in sorted(opts.quantiles.items())}
        for q, col in sorted(opts.quantiles.items()):
            values = require_column(frame, col, f"{float(q):g}-quantile forecast", file)
            data.quantiles[float(q)] = numeric(values, f"{float(q):g}-quantile forecast column", col, file,
                                               "quantiles")
    target = str(opts.target)
    if run.reference is not None and target in run.reference.columns:
        data.train_target = numeric(run.reference[target], "reference target", target, "reference", "reference")
    elif run.reference_table is not None and target in run.reference_table.columns:
        table, column = run.reference_table, target
        data.train_target = functools.cache(lambda: _ordered_column(table, column))  # read once, on first use


def _ordered_column(table: Any, column: str) -> np.ndarray:
    """Return one column of an engine's table in row order, as floats (NaN where missing or not numeric).

    Raises
    ------
    NotComputable
        The engine could not read it (said plainly: a metric asking for it is then not computable).
    """
    import pandas as pd

    from gatekit.core.errors import NotComputable
    from gatekit.data.engine import positioned

    try:
        base, pos = positioned(table.select(column))
        values = base.order_by(pos).select(column).to_pandas()[column]
    except Exception as exc:  # noqa: BLE001 - an engine failure makes the metric not computable, not a crash
        raise NotComputable(f"could not read the reference's {column!r} in row order: {type(exc).__name__}: "
                            f"{exc}") from None
    return pd.to_numeric(values, errors="coerce").to_numpy(dtype=float)
