"""Typed policy spec (pydantic v2). Structure only; semantic checks live in :mod:`gatekit.policy.loader`.

Every model forbids unknown keys and uses strict types (``"0.9"`` is not a number, ``1`` is not a
boolean), so a typo never silently turns a rule off.
"""

from __future__ import annotations

import difflib
import reprlib
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationInfo, field_validator
from pydantic_core import PydanticCustomError

from gatekit.policy.expressions import OPS, ExpressionError, comparisons, parse
from gatekit.results import OnFail

_OP_TYPOS = {"=>": ">=", "=<": "<=", "=": "==", "<>": "!=", "≥": ">=", "≤": "<=", "≠": "!="}


class Spec(BaseModel):
    """Base of all spec models: frozen, strict, unknown keys rejected (the loader adds a suggestion)."""

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True, allow_inf_nan=False)


def _unknown_metric(registry: Any, name: str, where: str) -> PydanticCustomError:
    close = registry.suggest(name)
    hint = f"; did you mean {close!r}?" if close else ""
    return PydanticCustomError(
        "unknown_metric", "unknown metric {name}{where}{hint} (`gatekit metrics` lists the valid names)",
        {"name": repr(name), "where": where, "hint": hint},
    )


def _check_op(v: str) -> str:
    if v not in OPS:
        close = difflib.get_close_matches(v, OPS, n=1, cutoff=0.3)
        guess = _OP_TYPOS.get(v.strip()) or (close[0] if close else None)
        hint = f"; did you mean {guess!r}?" if guess else ""
        raise PydanticCustomError(
            "unknown_op", "unknown op {op}{hint} Use one of: {ops}",
            {"op": repr(v), "hint": hint or ".", "ops": ", ".join(OPS)},
        )
    return v


def _on_fail_value(v: Any) -> Any:
    if isinstance(v, str) and v in ("block", "warn"):
        return OnFail(v)
    if isinstance(v, OnFail):
        return v
    raise PydanticCustomError("on_fail", "on_fail must be 'block' or 'warn', not {v}", {"v": repr(v)})


OnFailField = Annotated[OnFail, BeforeValidator(_on_fail_value)]
"""``block`` or ``warn``; any other value is an error naming it."""


class MetricRule(Spec):
    """One threshold rule on a named metric: ``name op value``.

    Parameters
    ----------
    name : str
        A metric name (``gatekit metrics`` lists them), e.g. ``auc_roc``, ``precision_at_0_5``.
    op : str
        One of ``>=``, ``>``, ``<=``, ``<``, ``==``, ``!=``.
    value : float
        Threshold, in the metric's unit (fractions for rates, percent for MAPE/sMAPE, ms for latency).
    on_fail : {"block", "warn"}
        Severity; default ``block`` (fail closed).
    params : dict
        Metric parameters, e.g. ``{variant: "0-100"}`` for smape, ``{threshold: 0.4, sensitive: afam}``
        for fairness metrics.
    description : str, optional
        Why the rule exists; shown in the report.
    """

    name: str = Field(min_length=1)
    op: str
    value: float
    on_fail: OnFailField = OnFail.BLOCK
    params: dict[str, Any] = Field(default_factory=dict)
    description: str | None = None

    @field_validator("op")
    @classmethod
    def _op(cls, v: str) -> str:
        return _check_op(v)

    @field_validator("name")
    @classmethod
    def _name(cls, v: str, info: ValidationInfo) -> str:
        registry = (info.context or {}).get("registry")
        if registry is not None and registry.resolve(v) is None:
            raise _unknown_metric(registry, v, "")
        return v



class GateRule(Spec):
    """A named gate whose condition is a ``require:`` expression over metric names.

    Parameters
    ----------
    gate : str
        Name shown in the report, e.g. ``model_performance``.
    require : str
        Boolean expression, e.g. ``auc_roc >= 0.90 AND precision_at_0_5 >= 0.75`` (see
        :mod:`gatekit.policy.expressions`).
    on_fail : {"block", "warn"}
        Default ``block``.
    """

    gate: str = Field(min_length=1)
    require: str = Field(min_length=1)
    on_fail: OnFailField = OnFail.BLOCK
    description: str | None = None

    @field_validator("require")
    @classmethod
    def _require(cls, v: str, info: ValidationInfo) -> str:
        try:
            node = parse(v)
        except ExpressionError as exc:
            raise PydanticCustomError(
                "expression", "malformed expression at character {col} of {expr}: {why}",
                {"col": exc.column, "expr": reprlib.repr(v), "why": exc.message},
            ) from None
        registry = (info.context or {}).get("registry")
        if registry is not None:
            for cmp in comparisons(node):
                for name in cmp.names():
                    if registry.resolve(name) is None:
                        raise _unknown_metric(registry, name, " in the require expression")
        return v



class ModelFormatSpec(Spec):
    """Allowed model artifact formats, e.g. ``["onnx", "skops"]``."""

    allowed: list[str] = Field(min_length=1)


class CompatibilitySpec(Spec):
    """Feature-signature and model-format compatibility (evaluated from a later release on).

    Parameters
    ----------
    feature_signature : {"strict", "compatible", "off"}, optional
        ``strict``: same columns, order and dtypes as the reference; ``compatible``: a superset with
        compatible dtypes.
    model_format : ModelFormatSpec, optional
    on_fail : {"block", "warn"}
    """

    feature_signature: Literal["strict", "compatible", "off"] | None = None
    model_format: ModelFormatSpec | None = None
    on_fail: OnFailField = OnFail.BLOCK



class DriftSpec(Spec):
    """Feature drift between reference and current data (evaluated from a later release on)."""

    method: Literal["psi", "jensenshannon", "ks", "wasserstein", "chisquare"] = "psi"
    threshold: float = 0.2
    features: list[str] | None = None
    reference: str | None = None
    on_fail: OnFailField = OnFail.WARN



class DataQualitySpec(Spec):
    """Data quality rules on the evaluation data (evaluated from a later release on)."""

    required_columns: list[str] = Field(default_factory=list)
    max_null_fraction: float | None = Field(default=None, ge=0, le=1)
    min_rows: int | None = Field(default=None, ge=0)
    on_fail: OnFailField = OnFail.BLOCK



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
        Column holding the positive-class probability (classification) or the forecast (regression).
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
    metrics : str, optional
        JSON file of metrics already computed, ``{"auc_roc": 0.91, ...}``.
    task : {"classification", "regression"}, optional
        Declared problem type; inferred from the target when absent.
    """

    data: str | None = None
    target: str | None = None
    positive_label: str | int | bool | None = None
    score: str | None = None
    prediction: str | None = None
    model: str | None = None
    model_sha256: str | None = Field(default=None, pattern=r"^[0-9a-fA-F]{64}$")
    trust_model: bool = False
    features: list[str] | None = None
    sensitive: list[str] = Field(default_factory=list)
    metrics: str | None = None
    task: Literal["classification", "regression"] | None = None

    @field_validator("sensitive", mode="before")
    @classmethod
    def _one_or_many(cls, v: Any) -> Any:
        return [v] if isinstance(v, str) else v


class Policy(Spec):
    """A gatekit policy (the YAML file), validated.

    Parameters
    ----------
    version : int or str
        The policy's own version (recorded in the report), e.g. ``1`` or ``"2.3.0"``.
    name : str, optional
        Policy name; defaults to the file's stem.
    strict : bool
        Strict mode (default true): a block rule that is not a clean pass (error, not computable,
        skipped, missing) blocks.
    decision_threshold : float
        Score threshold for predicted labels (``score >= threshold``), default 0.5.
    inputs : InputsSpec, optional
    metrics : list of MetricRule
    gates : list of GateRule
    compatibility, drift, data_quality : optional
        Parsed and validated; evaluated from later releases on (reported as ``skipped``).
    """

    version: int | str
    name: str | None = None
    description: str | None = None
    strict: bool = True
    decision_threshold: float = Field(default=0.5, ge=0, le=1)
    inputs: InputsSpec | None = None
    metrics: list[MetricRule] = Field(default_factory=list)
    gates: list[GateRule] = Field(default_factory=list)
    compatibility: CompatibilitySpec | None = None
    drift: DriftSpec | None = None
    data_quality: DataQualitySpec | None = None
