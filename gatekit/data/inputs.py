"""Run inputs: where the inputs are (:class:`InputOptions`) and everything a run loaded (:class:`RunInputs`).

Everything is read once, by :func:`gatekit.data.loader.load_inputs`, and shared read-only by the section
adapters. Each file's sha256 is recorded for the report. Problems raise
:class:`~gatekit.core.errors.InputError` naming the file and column.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from gatekit.core.errors import input_error
from gatekit.data.canary import CanaryArms
from gatekit.data.metrics_file import ObservedMetric
from gatekit.data.readers import role_conflict_message, role_conflicts
from gatekit.metrics.registry import EvalData


def input_roles(opts: InputOptions) -> list[tuple[str, Any]]:
    """Return the evaluation data's column roles of ``opts``, for :func:`role_conflicts`.

    Parameters
    ----------
    opts : InputOptions
        The merged options.

    Returns
    -------
    list of (str, Any)
    """
    return [("target", opts.target), ("score", opts.score), ("prediction", opts.prediction),
            ("baseline score", opts.baseline_score), ("baseline prediction", opts.baseline_prediction),
            ("sensitive", [*opts.sensitive, *opts.extra_sensitive]), ("feature", opts.features)]


@dataclass
class InputOptions:
    """Input locations and column names, after merging CLI flags over the policy's ``inputs:``.

    Paths are absolute or relative to the current directory here (policy-relative paths are resolved
    by :func:`merge_options`).
    """

    data: Any = None
    """The evaluation data: a path (file, directory or glob of Parquet files) or a table object
    (:func:`gatekit.data.engine.source_of`)."""
    target: str | None = None
    positive_label: Any = None
    score: str | None = None
    prediction: str | None = None
    model: Any = None
    """The candidate model: a file path or a fitted object (scikit-learn, an onnxruntime session, ...)."""
    model_sha256: str | None = None
    trust_model: bool = False
    features: list[str] | None = None
    sensitive: list[str] = field(default_factory=list)
    extra_sensitive: list[str] = field(default_factory=list)
    sensitive_bins: dict[str, Any] = field(default_factory=dict)
    """Column -> bin edges or ``"categories"`` (:func:`gatekit.data.sensitive.sensitive_frame`)."""
    slice_bins: dict[str, list[Any]] = field(default_factory=dict)
    """Column the policy's ``slices:`` rules slice by -> each such rule's ``bins`` entry for it (edges,
    ``"categories"`` or None): read with the rows as ``EvalData.segments`` (:func:`gatekit.data.slices.slice_frame`)."""
    metrics: Path | str | None = None
    """A metrics JSON file, or an MLflow run as ``mlflow:runs/<RUN_ID>`` (:mod:`gatekit.data.mlflow_runs`)."""
    reference: Any = None
    """The reference data, as ``data``."""
    engine: str = "auto"
    """``pandas``, ``duckdb``, ``spark`` or ``auto`` (:func:`gatekit.data.engine.choose_engine`)."""
    spark_master: str | None = None
    """The Spark master URL (``local[*]``, ``spark://...``, ``sc://...``); None: the active session or a local one."""
    spark_conf: dict[str, str] = field(default_factory=dict)
    """Spark settings for a session gatekit starts (:func:`gatekit.data.spark.session`)."""
    task: str | None = None
    quantiles: dict[float, str] = field(default_factory=dict)
    """Quantile level in (0, 1) -> the column of ``data`` with its forecast (regression; ``inputs.quantiles``)."""
    baseline_score: str | None = None
    baseline_prediction: str | None = None
    baseline_model: Any = None
    baseline_model_sha256: str | None = None
    baseline_trust_model: bool = False
    baseline_metrics: Path | str | None = None
    """As ``metrics``, for the production model."""
    mlflow_tracking_uri: str | None = None
    """The MLflow tracking store of ``mlflow:runs/...`` metrics (None: ``MLFLOW_TRACKING_URI``, else MLflow's
    default)."""
    latency_samples: Path | None = None
    baseline_latency_samples: Path | None = None
    model_signature: tuple[Path, Path] | None = None
    artifact_sha256: str | None = None
    order_by: str | None = None
    """``inputs.sequential.order_by``: the column giving the evaluation rows' arrival order (pandas engine)."""
    canary: Any = None
    """The policy's ``canary:`` spec (:class:`gatekit.policy.specs.CanarySpec`), when it has one."""
    canary_data: Path | None = None

    @property
    def all_sensitive(self) -> list[str]:
        """The sensitive columns loaded: ``sensitive`` then the other columns fairness rules name, each once."""
        return [*self.sensitive, *(c for c in self.extra_sensitive if c not in self.sensitive)]

    @property
    def group_columns(self) -> list[str]:
        """The columns an engine groups the rows by beside the roles: the sensitive columns, then the slice columns."""
        sens = self.all_sensitive
        return [*sens, *(c for c in self.slice_bins if c not in sens)]

    @property
    def model_label(self) -> str | None:
        """How the report names the candidate model: its path, or the class of a fitted object; None without one."""
        if self.model is None:
            return None
        return str(self.model) if isinstance(self.model, (str, os.PathLike)) else type(self.model).__name__

    @property
    def has_baseline_rows(self) -> bool:
        """True when the baseline model's output on the evaluation rows is given (column or model)."""
        return any(x is not None for x in (self.baseline_score, self.baseline_prediction, self.baseline_model))


@dataclass
class RunInputs:
    """Everything a run reads, loaded once.

    Parameters
    ----------
    eval_data : EvalData or None
        Arrays for metric functions; None when no evaluation data was given.
    observed : dict of str to ObservedMetric
        Metrics-file values keyed by canonical metric name.
    files : dict
        Role -> ``{"path", "sha256", "bytes"}`` for every file read.
    info : dict
        Facts for the report: rows, columns, task, positive label, model details, unused metric names.
    frame : pandas.DataFrame or None
        The evaluation data as read (data-quality and compatibility sections validate it).
    reference : pandas.DataFrame or None
        The reference (training) data, when given.
    model : object or None
        The loaded candidate model (an :class:`gatekit.model.onnx.OnnxModel` for an ONNX file).
    model_path : pathlib.Path or None
    model_bytes : bytes or None
        The model file's bytes, read once (format detection and signature reading use the same bytes
        that were hashed).
    model_format : gatekit.model.formats.FormatInfo or None
        The format detected from the model file's content.
    no_eval_reason : str
        Why ``eval_data`` is None (shown by metric rules that cannot be computed).
    scoring_error : str or None
        Why the model could not score the data (metric rules report it as their error; the data-quality
        and compatibility sections still run).
    baseline_observed : dict of str to ObservedMetric
        The baseline (production) model's metrics file values.
    baseline_model : object or None
        The loaded production model, when given.
    baseline_scoring_error : str or None
        Why the production model could not score the data.
    canary : CanaryArms or None
        The canary traffic log split into its two arms.
    runner, baseline_runner : gatekit.model.serving.Runner or None
        The candidate's (production's) model bound to its features, when it can run on the data
        (operational figures are measured with it).
    runner_error : str or None
        Why the candidate's model cannot run on the data (a model given beside a score column).
    """

    eval_data: EvalData | None = None
    observed: dict[str, ObservedMetric] = field(default_factory=dict)
    files: dict[str, dict[str, Any]] = field(default_factory=dict)
    info: dict[str, Any] = field(default_factory=dict)
    frame: Any = None
    reference: Any = None
    model: Any = None
    model_path: Path | None = None
    model_bytes: bytes | None = None
    model_format: Any = None
    no_eval_reason: str = "no evaluation data was given and the metrics file does not have it"
    scoring_error: str | None = None
    baseline_observed: dict[str, ObservedMetric] = field(default_factory=dict)
    baseline_model: Any = None
    baseline_scoring_error: str | None = None
    canary: CanaryArms | None = None
    eval_order: Any = None
    """Positions of the evaluation rows in arrival order (``inputs.sequential.order_by``, read on the pandas
    engine by :func:`gatekit.data.arrival.arrival_order`); None: the file's row order."""
    runner: Any = None
    baseline_runner: Any = None
    runner_error: str | None = None
    latency_samples: list[float] | None = None
    baseline_latency_samples: list[float] | None = None
    engine: str = "pandas"
    """The engine the rows are on: ``"pandas"`` (``frame`` / ``reference`` are DataFrames in memory), ``"duckdb"``
    or ``"spark"`` (``table`` / ``reference_table`` are ibis tables on a DuckDB connection or the PySpark backend;
    ``frame`` and ``reference`` are None, and sections ask the engine for aggregates instead of reading rows)."""
    table: Any = None
    """The evaluation data as an ibis table (``engine`` "duckdb" or "spark"), else None."""
    reference_table: Any = None
    """The reference data as an ibis table (``engine`` "duckdb" or "spark"), else None."""
    categorical: dict[str, list[str]] = field(default_factory=dict)
    """On DuckDB: the columns each input (``"data"``, ``"reference"``) held as categories, which DuckDB reads as
    text (:func:`gatekit.data.engine.categorical_columns`); type rules describe them as pandas does."""
    load_s: float | None = None
    """Seconds spent reading the inputs (and, on DuckDB, aggregating the evaluation rows)."""
    sample: Any = None
    """On DuckDB with a model: a seeded sample of the evaluation rows as a pandas DataFrame
    (:data:`gatekit.data.aggregate.SAMPLE_ROWS` rows, ``info["sample"]`` says how it was drawn): what the model is
    bound to and timed on. None on pandas (the whole ``frame`` is used)."""


def check_model_features(model: Any, opts: InputOptions, who: str, file: str) -> None:
    """Refuse a model whose recorded input columns (``feature_names_in_``) include the target or an output column.

    A model that reads the target scores perfectly and proves nothing; one that reads its own (or the baseline's)
    score column is scored from the answer it is asked for.

    Parameters
    ----------
    model : object
        The loaded model.
    opts : InputOptions
        The merged options (the roles checked against the model's columns).
    who : str
        ``"model"`` or ``"baseline model"``, for the message.
    file : str
        The evaluation data, for the message.

    Raises
    ------
    InputError
        Naming the role, the column and the model.
    """
    recorded = getattr(model, "feature_names_in_", None)
    try:
        names = [str(c) for c in recorded] if recorded is not None else []
    except TypeError:
        return
    roles = [r for r in input_roles(opts) if r[0] not in ("sensitive", "feature")]
    found = role_conflicts([*roles, (f"{who}'s feature", names)])
    if found:
        first, second, col = found[0]
        raise input_error(role_conflict_message(first, second, col) + f" (the {who} was fitted on column {col!r}; "
                          "a model must not read its own target or output)", file, key=first)
