"""Scoring evaluation rows with a loaded model.

The model is bound to its feature columns and to the column of ``predict_proba`` that belongs to the
positive label (:class:`gatekit.model.serving.Runner`). Columns the model needs but the data lacks
raise an InputError caused by :class:`MissingFeatures`, so the run can report them and still run the
data sections.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from gatekit.core.errors import input_error
from gatekit.core.labels import norm_label


class MissingFeatures(Exception):
    """The data lacks feature columns the model needs (a data problem the run reports, not a usage error)."""


def make_runner(model: Any, frame: Any, opts: Any, task: str, positive: Any, file: str,
                baseline: bool = False) -> Any:
    """Bind a loaded model to its feature columns and positive class (:class:`gatekit.model.serving.Runner`).

    ``opts`` is the run's :class:`gatekit.data.inputs.InputOptions`; only ``opts.features`` is read.

    Raises
    ------
    InputError
        No feature names, columns missing from the data (caused by :class:`MissingFeatures`), no
        ``predict_proba`` on a classifier, or a positive label that is not one of the model's classes.
    """
    from gatekit.model.serving import Runner

    recorded = [str(c) for c in getattr(model, "feature_names_in_", [])]
    # the candidate: inputs.features, else the model's own names; the production model: its own names,
    # else the candidate's list (a model fitted on arrays records none)
    features = (recorded or opts.features) if baseline else (opts.features or recorded)
    if not features:
        who = "the production model" if baseline else "the model"
        raise input_error(f"{who} does not record its feature names (feature_names_in_); list them in "
                          "inputs.features (they must suit both models), or refit it on a DataFrame", file,
                          key="features")
    missing = [c for c in features if c not in frame.columns]
    if missing:
        msg = f"the {'production ' if baseline else ''}model needs columns missing from the data: {missing}"
        raise input_error(msg, file, key="features") from MissingFeatures(msg)
    idx = None
    if task == "classification":
        if not hasattr(model, "predict_proba"):
            raise input_error("the classifier has no predict_proba; give a score column instead", file)
        idx = _positive_index(list(getattr(model, "classes_", [])), positive)
    return Runner(model, list(features), task, idx)


def score_with_model(model: Any, frame: Any, opts: Any, task: str, positive: Any, file: str,
                     info: dict[str, Any], baseline: bool = False) -> tuple[np.ndarray, Any]:
    """Score the evaluation rows with a loaded model; return the scores and the bound runner."""
    runner = make_runner(model, frame, opts, task, positive, file, baseline)
    info["model"] = {"class": type(model).__name__, "features": runner.features}
    if runner.positive_index is not None:
        info["model"]["positive_class_index"] = runner.positive_index
    try:
        return runner(frame[runner.features]), runner
    except Exception as exc:  # noqa: BLE001 - the model failing on the data is an input problem
        raise input_error(f"the model failed to score the data: {type(exc).__name__}: {exc}", file) from None


def _positive_index(classes: list[Any], positive: Any) -> int:
    """Column of ``predict_proba`` that belongs to the positive label.

    The label must be one of the model's classes (in :func:`gatekit.core.labels.norm_label` form).
    A model trained on 0/1 scoring a yes/no target is refused: which class means "yes" is not recorded anywhere.
    """
    want = norm_label(positive)
    hits = [i for i, c in enumerate(classes) if norm_label(c) == want]
    if len(hits) == 1:
        return hits[0]
    raise input_error(f"the positive label {positive!r} is not one of the model's classes {classes}; the target "
                      "must use the labels the model was trained on (or give a score column instead)",
                      key="positive_label")
