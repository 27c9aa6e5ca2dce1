"""The ``inputs:`` section: where the run's data, model and baseline results are.

:class:`BaselineSpec` (the production model's results on the evaluation rows) and
:class:`InputsSpec`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any, Literal

from pydantic import Field, field_validator, model_validator
from pydantic_core import PydanticCustomError

from gatekit.policy.specs.common import PathField, Spec, check_bins_map


def _setting(x: Any) -> Any:
    """Spark settings are text: ``true`` for YAML's true, ``4`` for 4 (other types are refused by the model)."""
    if isinstance(x, bool):
        return str(x).lower()
    return str(x) if isinstance(x, (str, int, float)) else x


class SparkSpec(Spec):
    """The Spark session of ``engine: spark``.

    Parameters
    ----------
    master : str, optional
        ``local[*]`` (default when no session is active), ``local[N]``, ``spark://host:port``, ``yarn``,
        ``k8s://...``, or a Spark Connect URL ``sc://host:port``.
    conf : dict of str to str
        Spark settings for the session gatekit starts, e.g. ``{"spark.executor.memory": "8g"}``.
    """

    master: str | None = Field(default=None, min_length=1, max_length=2000)
    conf: dict[str, str] = Field(default_factory=dict)

    @field_validator("conf", mode="before")
    @classmethod
    def _text_values(cls, v: Any) -> Any:
        if isinstance(v, dict):
            return {str(k): _setting(x) for k, x in v.items()}
        return v


def _metrics_source(v: Any) -> Any:
    """Check an MLflow metrics source (``mlflow:runs/<RUN_ID>``) where the policy names it; a file path passes."""
    from gatekit.data.mlflow_runs import is_run_source, parse_run_source

    if is_run_source(v):
        try:
            parse_run_source(v)
        except ValueError as exc:
            raise PydanticCustomError("mlflow_source", "{msg}", {"msg": str(exc)}) from None
    return v


class BaselineSpec(Spec):
    """The production (baseline) model's results on the evaluation rows. Paths are relative to the policy.

    Give one of ``score``, ``prediction`` and ``model`` (the baseline scored on the same rows: shadow
    mode, paired comparisons), and/or ``metrics`` (its figures, e.g. a load test's latency, for metrics
    gatekit cannot compute from the rows).

    Parameters
    ----------
    score : str, optional
        Column of ``inputs.data`` holding the production model's score (probability or forecast).
    prediction : str, optional
        Column of ``inputs.data`` holding the production model's predicted labels / forecasts.
    model : str, optional
        The production model artifact; gatekit scores the evaluation rows with it (same loading rules
        as ``inputs.model``).
    model_sha256 : str, optional
        Expected sha256 of the production model file.
    trust_model : bool
        Allow loading a pickle-based production model without a hash.
    metrics : str, optional
        JSON file of the production model's metrics, ``{"latency_p95_ms": 41.2, ...}``, or its MLflow run,
        ``mlflow:runs/<RUN_ID>`` (each metric's latest value; :mod:`gatekit.data.mlflow_runs`).
    """

    score: str | None = None
    prediction: str | None = None
    model: PathField | None = None
    model_sha256: str | None = Field(default=None, pattern=r"^[0-9a-fA-F]{64}$")
    trust_model: bool = False
    metrics: PathField | None = None

    _mlflow_metrics = field_validator("metrics")(_metrics_source)

    @model_validator(mode="after")
    def _one_output(self) -> BaselineSpec:
        given = [k for k in ("score", "prediction", "model") if getattr(self, k) is not None]
        if len(given) > 1:
            raise PydanticCustomError("baseline", "give one of baseline score, prediction and model, not {keys}",
                                      {"keys": " and ".join(given)})
        if not given and self.metrics is None:
            raise PydanticCustomError("baseline", "a baseline needs score, prediction, model or metrics", {})
        return self


class RowSequenceSpec(Spec):
    """``inputs.sequential``: how ``metrics:`` rules with ``interval: sequential`` read the evaluation rows.

    The rows (both models scored on each: a shadow evaluation) are read in arrival order and every rule with
    ``interval: sequential`` is decided on an anytime-valid confidence sequence at every prefix
    (:mod:`gatekit.sections.shadow_sequential`). One setting for all such rules, like ``canary.sequential``:
    the method and ``n_opt`` are fixed before the rows arrive, and the order is a property of the rows.

    Parameters
    ----------
    method : {"normal_mixture", "betting"}, optional
        ``betting``: the hedged-capital sequence for bounded values (Waudby-Smith & Ramdas, *JRSS-B* 2024), exact
        at every row count: ``accuracy``, ``brier_score``, ``prediction_agreement_rate`` and
        ``mean_score_difference`` of probabilities; ``normal_mixture``: the asymptotic sequence with the normal
        mixture boundary (Howard et al., *Ann. Statist.* 2021; Waudby-Smith et al., *Ann. Statist.* 2024), any
        per-row value, no bounds before 30 rows of which 30 differ from the most common value. Default:
        ``betting`` for those bounded values, ``normal_mixture`` for ``log_loss``, ``mae`` and a regression's
        score differences (:func:`gatekit.sections.canary_sequential.resolve_method`).
    n_opt : int
        Rows at which the normal mixture boundary is tightest (fix it before the rows arrive); default 1000.
    order_by : str, optional
        Column of ``inputs.data`` giving the rows' arrival order (numbers or date-times; ties keep the file's
        order); default the file's row order.
    """

    method: Literal["normal_mixture", "betting"] | None = None
    n_opt: int = Field(default=1000, ge=2)
    order_by: str | None = Field(default=None, min_length=1)


def check_quantiles(levels: Any) -> dict[float, str]:
    """Validate quantile forecasts: a mapping of quantile level -> column name (``inputs.quantiles``).

    The one check behind ``inputs.quantiles``, ``gatekit run --quantiles`` and ``gatekit.run(quantiles=...)``.

    Parameters
    ----------
    levels : mapping of float (or number text) to str
        Each quantile level and the column of ``data`` holding its forecast.

    Returns
    -------
    dict of float to str
        The levels as floats, in the given order.

    Raises
    ------
    ValueError
        Not a mapping, a level that is not a number strictly between 0 and 1 (NaN and infinities are not), the
        same level given twice (``0.9`` and ``0.90``), or a column that is not a non-empty text.
    """
    if not isinstance(levels, Mapping):
        raise ValueError(f"quantiles must map each quantile level to a column, e.g. {{0.9: forecast_p90}}, not "
                         f"{type(levels).__name__}")
    out: dict[float, str] = {}
    for q, col in levels.items():
        try:
            level = float(q)
        except (TypeError, ValueError):
            raise ValueError(f"quantile level {q!r} is not a number (write e.g. 0.9: forecast_p90)") from None
        if isinstance(q, bool) or not 0.0 < level < 1.0:
            raise ValueError(f"quantile level {level:g} is not strictly between 0 and 1 (write e.g. 0.9: "
                             "forecast_p90)")
        if level in out:
            raise ValueError(f"quantile level {level:g} is given twice")
        if not isinstance(col, str) or not col.strip():
            raise ValueError(f"quantile {level:g} names no column")
        out[level] = col
    return out


class InputsSpec(Spec):
    """Where the run's inputs are. Paths are relative to the policy file.

    Parameters
    ----------
    data : str, optional
        Evaluation data set, ``.csv`` or ``.parquet``.
    target : str, optional
        Target column in ``data``.
    positive_label : str, int or bool, optional
        The target value that means "positive" (e.g. ``"yes"``). Inferred for 0/1, booleans and
        yes/no or true/false text; required otherwise.
    score : str, optional
        Column holding the positive-class probability (classification) or the forecast (regression); for a
        multiclass target, a pattern with one ``*`` naming one probability column per class (``score_*`` takes
        ``score_<class>``).
    prediction : str, optional
        Column holding predicted labels (classification) or the forecast (regression).
    model : str, optional
        Model artifact to score ``data``: ``.skops`` (loaded with skops' trusted-type check) or
        ``.joblib`` / ``.pkl`` (loaded only when ``model_sha256`` matches or ``trust_model`` is true).
    model_sha256 : str, optional
        Expected sha256 of the model file.
    trust_model : bool
        Allow loading a pickle-based model without a hash (you vouch for its origin).
    features : list of str, optional
        Feature columns passed to the model; default the model's ``feature_names_in_``.
    sensitive : str or list of str
        Sensitive feature column(s) for fairness metrics.
    sensitive_bins : dict of str to list of float or "categories"
        How to group a numeric sensitive column: bin edges (``{age: [0, 25, 40, 65, 120]}`` gives the groups
        ``[0, 25)``, ``[25, 40)``, ...; ``.inf`` accepted), or ``categories`` to keep its values as groups (codes).
        A numeric sensitive column with more than 20 distinct values and no entry here is refused
        (:mod:`gatekit.data.sensitive`).
    metrics : str, optional
        JSON file of metrics already computed, ``{"auc_roc": 0.91, ...}``, or an MLflow run,
        ``mlflow:runs/<RUN_ID>`` (each metric's latest value, from the tracking store that
        ``MLFLOW_TRACKING_URI`` or ``--mlflow-tracking-uri`` names; :mod:`gatekit.data.mlflow_runs`).
    reference : str, optional
        Reference (training) data, ``.csv`` or ``.parquet``: the values data-quality rules compare with
        (``max_unseen_share``) and drift.
    task : {"classification", "multiclass", "regression"}, optional
        Declared problem type; inferred from the target when absent (``classification`` with more than two
        classes is multiclass; :mod:`gatekit.data.multiclass`).
    quantiles : mapping of float to str, optional
        Quantile forecasts of a regression target: each quantile level in (0, 1) and the column of ``data``
        holding its forecast (``{0.1: demand_p10, 0.9: demand_p90}``), for ``pinball_loss_at_<q>`` and
        ``interval_coverage_at_<c>`` (:mod:`gatekit.metrics.regression`).
    baseline : BaselineSpec, optional
        The production model's results on the same rows (for baseline-relative rules and shadow metrics).
    engine : {"auto", "pandas", "duckdb", "spark"}
        Where the rows are evaluated: ``pandas`` reads them into memory; ``duckdb`` scans them out of core and
        computes aggregates; ``spark`` runs the same aggregates on a Spark session (``spark:``); ``auto``
        (default) picks DuckDB when the data would not fit comfortably in memory.
    spark : SparkSpec, optional
        The Spark session to run on (``engine: spark``): master URL and settings.
    sequential : RowSequenceSpec, optional
        Method, ``n_opt`` and row order of the ``metrics:`` rules with ``interval: sequential`` (absent: betting
        for bounded per-row values and the normal mixture for unbounded ones, ``n_opt`` 1000, the file's row
        order).
    """

    data: PathField | None = None
    target: str | None = None
    positive_label: str | int | bool | None = None
    score: str | None = None
    prediction: str | None = None
    model: PathField | None = None
    model_sha256: str | None = Field(default=None, pattern=r"^[0-9a-fA-F]{64}$")
    trust_model: bool = False
    features: list[str] | None = None
    sensitive: list[str] = Field(default_factory=list)
    sensitive_bins: dict[str, list[Annotated[float, Field(allow_inf_nan=True)]] | Literal["categories"]] = Field(
        default_factory=dict)
    metrics: PathField | None = None
    reference: PathField | None = None
    task: Literal["classification", "multiclass", "regression"] | None = None
    baseline: BaselineSpec | None = None
    engine: Literal["auto", "pandas", "duckdb", "spark"] = "auto"
    spark: SparkSpec | None = None
    quantiles: dict[float, str] = Field(default_factory=dict)
    sequential: RowSequenceSpec | None = None

    _mlflow_metrics = field_validator("metrics")(_metrics_source)

    @field_validator("sensitive", mode="before", json_schema_input_type=str | list[str])
    @classmethod
    def _one_or_many(cls, v: Any) -> Any:
        return [v] if isinstance(v, str) else v

    @field_validator("quantiles")
    @classmethod
    def _quantile_levels(cls, v: dict[float, str]) -> dict[float, str]:
        return check_quantiles(v)

    @field_validator("sensitive_bins")
    @classmethod
    def _bins(cls, v: dict[str, Any]) -> dict[str, Any]:
        return check_bins_map(v, "sensitive_bins")

    @model_validator(mode="after")
    def _distinct_roles(self) -> InputsSpec:
        from gatekit.data.readers import role_conflict_message, role_conflicts

        b = self.baseline
        found = role_conflicts([("target", self.target), ("score", self.score), ("prediction", self.prediction),
                                ("baseline score", b.score if b else None),
                                ("baseline prediction", b.prediction if b else None),
                                ("sensitive", self.sensitive), ("feature", self.features)])
        if found:
            raise PydanticCustomError("column_roles", "{msg}", {"msg": role_conflict_message(*found[0])})
        return self
