"""The production (baseline) model's output on the evaluation rows, for paired comparisons.

From a score or prediction column, or the production model scoring the same rows; and the shadow
mode before outcomes exist (candidate and production outputs on the same rows, no target).
"""

from __future__ import annotations

from typing import Any

from gatekit.core.errors import InputError
from gatekit.data.inputs import InputOptions, RunInputs, check_model_features
from gatekit.data.labels import check_label_space, infer_positive, numeric, scalar_column, to01
from gatekit.data.readers import require_column
from gatekit.metrics.registry import EvalData
from gatekit.model.loading import load_model
from gatekit.model.scoring import MissingFeatures, score_with_model


def shadow_without_labels(opts: InputOptions, run: RunInputs, frame: Any, model: Any, file: str,
                          decision_threshold: float, strict: bool) -> None:
    """Shadow mode before outcomes exist: candidate and production outputs on the same rows, no target.

    Only the shadow metrics (agreement, score differences) are computable; every metric that needs the
    target says so. The task is ``inputs.task`` (default classification); predicted labels need
    ``positive_label`` unless they are 0/1, true/false or yes/no.
    """
    task = opts.task or "classification"
    data = EvalData(task=task, decision_threshold=decision_threshold, strict=strict)
    positive = opts.positive_label
    if task == "classification" and positive is None:
        # the label columns given (either model's predictions) say which label is positive (1/true/yes)
        labels = [c for c in (opts.prediction, opts.baseline_prediction) if c is not None]
        values = [v for c in labels for v in require_column(frame, c, "prediction", file).dropna().unique().tolist()]
        if values:
            positive = infer_positive(list(dict.fromkeys(values)), None, file, " / ".join(labels))
    if opts.score is not None:
        col = require_column(frame, opts.score, "score", file)
        scalar_column(col, "score", opts.score, file)
        data.y_score = numeric(col, "score column", opts.score, file, "score")
    elif opts.prediction is not None:
        col = require_column(frame, opts.prediction, "prediction", file)
        scalar_column(col, "prediction", opts.prediction, file)
        if task == "classification":
            data.y_pred = to01(col, positive)
        else:
            data.y_pred = numeric(col, "prediction column", opts.prediction, file, "prediction")
    else:
        if task == "classification":
            classes = list(getattr(model, "classes_", []))
            positive = infer_positive(classes, positive, str(opts.model), "the model's classes")
        data.y_score, run.runner = score_with_model(model, frame, opts, task, positive, file, run.info)
    data.positive_label = positive
    run.eval_data = data
    load_baseline_rows(opts, run, frame, None, task, positive, file)
    run.no_eval_reason = "no target column was given, so only the shadow comparisons are computed"
    run.info.update({"task": task, "target": None, "positive_label": positive, "score": opts.score,
                     "prediction": opts.prediction, "shadow_without_labels": True})


def load_baseline_model(opts: InputOptions, run: RunInputs, file: str) -> Any:
    """Load the production model (``opts.baseline_model``) under the candidate's rules, record it, and return it.

    The file's record goes to ``run.files["baseline_model"]`` (an object from Python is recorded in ``run.info``);
    a model that reads the target or an output column is refused as the candidate's would be.

    Raises
    ------
    InputError
        The model cannot be loaded safely, or it reads the target or an output column.
    """
    assert opts.baseline_model is not None
    files: dict[str, dict[str, Any]] = {}
    model = load_model(opts.baseline_model, opts.baseline_model_sha256, opts.baseline_trust_model, files,
                       baseline=True, info=run.info)
    if "model" in files:
        run.files["baseline_model"] = files["model"]
    run.baseline_model = model
    check_model_features(model, opts, "baseline model", file)
    return model


def load_baseline_rows(opts: InputOptions, run: RunInputs, frame: Any, target: Any, task: str, positive: Any,
                       file: str) -> None:
    """Attach the production model's output on the evaluation rows as ``run.eval_data.baseline``.

    From a score column, a prediction column, or the production model scoring the same rows (loaded
    under the same rules as the candidate's). Same target and sensitive columns as the candidate.
    """
    from dataclasses import replace

    data = run.eval_data
    assert data is not None
    base = replace(data, y_score=None, y_pred=None, cache={}, baseline=None)
    if opts.baseline_score is not None:
        col = require_column(frame, opts.baseline_score, "baseline score", file)
        scalar_column(col, "baseline score", opts.baseline_score, file)
        base.y_score = numeric(col, "baseline score column", opts.baseline_score, file, "baseline.score")
        source = f"score column {opts.baseline_score!r}"
    elif opts.baseline_prediction is not None:
        col = require_column(frame, opts.baseline_prediction, "baseline prediction", file)
        scalar_column(col, "baseline prediction", opts.baseline_prediction, file)
        if task == "classification":
            if target is not None:
                check_label_space(col, target, opts.baseline_prediction, opts.target or "", file)
            base.y_pred = to01(col, positive)
        else:
            base.y_pred = numeric(col, "baseline prediction column", opts.baseline_prediction, file,
                                  "baseline.prediction")
        source = f"prediction column {opts.baseline_prediction!r}"
    else:
        model = load_baseline_model(opts, run, file)
        info: dict[str, Any] = {}
        try:
            base.y_score, run.baseline_runner = score_with_model(model, frame, opts, task, positive, file, info,
                                                                 baseline=True)
        except InputError as exc:
            if not isinstance(exc.__cause__, MissingFeatures):
                raise
            run.baseline_scoring_error = str(exc.__cause__)
        run.info["baseline_model"] = info.get("model")
        name = getattr(opts.baseline_model, "name", None)
        source = f"model {name if isinstance(name, str) else type(model).__name__}"
    data.baseline = base
    run.info["baseline"] = {"source": source, "paired": True}
