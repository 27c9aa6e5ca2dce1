"""Scoring evaluation rows with a loaded model.

The model is bound to its feature columns and to the column of ``predict_proba`` that belongs to the
positive label (:class:`gatekit.model.serving.Runner`). Columns the model needs but the data lacks
raise an InputError caused by :class:`MissingFeatures`, so the run can report them and still run the
data sections.

Rows that are not in memory (``--engine duckdb``) are scored in record batches: :func:`score_batches`
takes an iterator of pandas frames (:func:`arrow_frames` converts pyarrow record batches) and yields one
score array per frame, so memory holds one batch at a time; :func:`score_stream` binds the model and
collects the scores. The model is any of :func:`gatekit.model.loading.load_model`'s: a file's, or an
object given in Python.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from gatekit.core.errors import input_error
from gatekit.core.labels import norm_label
from gatekit.model.serving import Runner


class MissingFeatures(Exception):
    """The data lacks feature columns the model needs (a data problem the run reports, not a usage error)."""


@dataclass
class ProbaRunner(Runner):
    """A multiclass classifier bound to its features; a call returns the ``predict_proba`` matrix.

    Parameters
    ----------
    classes : list
        The model's ``classes_``: the matrix's column order.
    """

    classes: list[Any] = field(default_factory=list)

    def __call__(self, X: Any) -> np.ndarray:
        """Return the class probabilities of the rows of ``X``, shape (n_rows, n_classes)."""
        p = np.asarray(self.model.predict_proba(X), dtype=float)
        if p.ndim != 2 or p.shape[1] != len(self.classes):
            raise ValueError(f"predict_proba returned shape {p.shape}, not (rows, {len(self.classes)} classes)")
        return p

    def request_function(self) -> Any:
        """One request is one ``predict_proba`` call (all classes)."""
        return self


def proba_runner(model: Any, features: list[str], file: str | None = None, baseline: bool = False) -> Any:
    """Bind a multiclass classifier to its features: ``runner(frame)`` gives the whole ``predict_proba`` matrix.

    Parameters
    ----------
    model : object
        A fitted classifier with ``predict_proba`` and ``classes_`` (the matrix's column order).
    features : list of str
        Columns it reads, in order.
    file : str, optional
        The data's name, for messages.
    baseline : bool
        The production model (for messages).

    Returns
    -------
    ProbaRunner
        A :class:`gatekit.model.serving.Runner` whose call returns shape (n_rows, n_classes), columns in
        ``runner.classes`` order.

    Raises
    ------
    InputError
        No ``predict_proba``, or no recorded ``classes_``.
    """
    who = "the production model" if baseline else "the model"
    if not hasattr(model, "predict_proba"):
        raise input_error(f"{who} has no predict_proba; a multiclass target needs class probabilities (or give a "
                          "prediction column of labels)", file, key="model")
    classes = list(getattr(model, "classes_", []))
    if len(classes) < 2:
        raise input_error(f"{who} does not record its classes (classes_), so which predict_proba column is which "
                          "class is unknown; set classes_ on it, or give the probability columns (score: "
                          "'score_*')", file, key="model")

    return ProbaRunner(model, features, "multiclass", None, classes)


SCORE_BATCH_ROWS = 100_000
"""Rows per record batch when the rows are scored from an engine (about 100k rows x 20 features of float64:
16 MB per batch as a DataFrame)."""


def make_runner(model: Any, frame: Any, opts: Any, task: str, positive: Any, file: str,
                baseline: bool = False) -> Any:
    """Bind a loaded model to its feature columns and positive class (:class:`gatekit.model.serving.Runner`).

    ``opts`` is the run's :class:`gatekit.data.inputs.InputOptions`; only ``opts.features`` is read.
    ``frame`` is only asked for its ``columns``: a pandas DataFrame, an ibis table (``table.columns``) or
    a list of column names.

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
        if type(model).__name__ == "OnnxModel":
            raise input_error(f"{who} (ONNX) takes its columns as one unnamed tensor; list them in order in "
                              "inputs.features or with --features (e.g. --features pirat,hirat,lvrat)", file,
                              key="features")
        both = " (they must suit both models)" if baseline or opts.baseline_model is not None else ""
        raise input_error(f"{who} was fitted without column names (scikit-learn's feature_names_in_); list them "
                          f"in order in inputs.features or with --features{both}, or refit it on a DataFrame", file,
                          key="features")
    columns = frame.columns if hasattr(frame, "columns") else list(frame)
    missing = [c for c in features if c not in columns]
    if missing:
        msg = f"the {'production ' if baseline else ''}model needs columns missing from the data: {missing}"
        raise input_error(msg, file, key="features") from MissingFeatures(msg)
    if task == "multiclass":
        return proba_runner(model, list(features), file, baseline)
    idx = None
    if task == "classification":
        if not hasattr(model, "predict_proba"):
            raise input_error("the classifier has no predict_proba; give a score column instead", file)
        classes = list(getattr(model, "classes_", []))
        if not classes:
            who = "the production model" if baseline else "the model"
            raise input_error(f"{who} does not record its classes (classes_), so which predict_proba column is the "
                              f"positive label {positive!r} is unknown; set classes_ on it (e.g. [0, 1]), or give "
                              "a score column instead", file, key="model")
        idx = _positive_index(classes, positive)
    return Runner(model, list(features), task, idx)


def score_with_model(model: Any, frame: Any, opts: Any, task: str, positive: Any, file: str,
                     info: dict[str, Any], baseline: bool = False) -> tuple[np.ndarray, Any]:
    """Score the evaluation rows with a loaded model; return the scores and the bound runner."""
    runner = make_runner(model, frame, opts, task, positive, file, baseline)
    info["model"] = {"class": type(model).__name__, "features": runner.features}
    if runner.positive_index is not None:
        info["model"]["positive_class_index"] = runner.positive_index
    try:
        scores = runner(frame[runner.features])
    except KeyboardInterrupt:
        raise
    except BaseException as exc:  # noqa: BLE001 - the model failing on the data (even sys.exit) is an input problem
        raise input_error(f"the model failed to score the data: {type(exc).__name__}: {exc}", file) from None
    if len(scores) != len(frame):
        raise input_error(f"the model returned {len(scores):,} scores for {len(frame):,} rows", file)
    return scores, runner


def arrow_frames(batches: Iterable[Any]) -> Iterator[Any]:
    """Convert pyarrow record batches to pandas frames, one at a time.

    ``table.select(runner.features).to_pyarrow_batches(chunk_size=SCORE_BATCH_ROWS)`` of an ibis table
    gives such batches; each is converted with ``RecordBatch.to_pandas()`` (pyarrow's mapping: strings to
    ``object``, an integer column with nulls to ``float64``, as ``pandas.read_parquet`` reads them).

    Parameters
    ----------
    batches : iterable of pyarrow.RecordBatch
        Record batches (a ``RecordBatchReader`` is one).

    Yields
    ------
    pandas.DataFrame
    """
    for batch in batches:
        yield batch.to_pandas()


def score_batches(runner: Any, frames: Iterable[Any], file: str | None = None) -> Iterator[np.ndarray]:
    """Score rows batch by batch: one score array per frame, in order, memory bounded by one batch.

    Parameters
    ----------
    runner : gatekit.model.serving.Runner
        The model bound to its features (:func:`make_runner`; a model file's or an object's).
    frames : iterable of pandas.DataFrame
        The rows, each frame holding at least ``runner.features`` (:func:`arrow_frames` of the table's
        record batches).
    file : str, optional
        The data's name, for messages.

    Yields
    ------
    ndarray of shape (len(frame),)
        The positive class's probability (classifier) or the forecast (regressor), as
        ``runner(frame[runner.features])`` gives it for the same rows in one frame.

    Raises
    ------
    InputError
        A frame lacks feature columns (caused by :class:`MissingFeatures`), or the model failed on a batch
        (the message says which rows).
    """
    start = 0
    for frame in frames:
        missing = [c for c in runner.features if c not in frame.columns]
        if missing:
            msg = f"the model needs columns missing from the data: {missing}"
            raise input_error(msg, file, key="features") from MissingFeatures(msg)
        try:
            scores = np.asarray(runner(frame[runner.features]), dtype=float).reshape(-1)
        except KeyboardInterrupt:
            raise
        except BaseException as exc:  # noqa: BLE001 - the model failing on the data (even sys.exit) is an input problem
            raise input_error(f"the model failed to score the data (rows {start:,} to {start + len(frame) - 1:,}): "
                              f"{type(exc).__name__}: {exc}", file) from None
        if len(scores) != len(frame):
            raise input_error(f"the model returned {len(scores)} scores for {len(frame)} rows", file)
        start += len(frame)
        yield scores


def score_stream(model: Any, columns: Any, frames: Any, opts: Any, task: str, positive: Any, file: str,
                 info: dict[str, Any], baseline: bool = False) -> tuple[np.ndarray, Any]:
    """Score rows that come in batches: :func:`score_with_model` for an engine's table.

    Parameters
    ----------
    model : object
        The loaded model (a file's or an object's).
    columns : ibis.Table or list of str
        The data's columns (only names are read), to bind the model (:func:`make_runner`).
    frames : callable
        ``frames(features) -> iterable of pandas.DataFrame``: the rows of those columns, batch by batch
        (e.g. ``lambda cols: arrow_frames(table.select(cols).to_pyarrow_batches(chunk_size=SCORE_BATCH_ROWS))``).
    opts, task, positive, file, info, baseline
        As :func:`score_with_model`.

    Returns
    -------
    scores : ndarray of shape (n_rows,)
        The table's rows in the order the batches give them.
    runner : gatekit.model.serving.Runner
    """
    runner = make_runner(model, columns, opts, task, positive, file, baseline)
    info["model"] = {"class": type(model).__name__, "features": runner.features, "scored": "in record batches"}
    if runner.positive_index is not None:
        info["model"]["positive_class_index"] = runner.positive_index
    parts = list(score_batches(runner, frames(list(runner.features)), file))
    return (np.concatenate(parts) if parts else np.empty(0, dtype=float)), runner


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
