"""The ``metrics:`` section: one rule per metric, absolute or relative to the baseline.

:class:`MetricRule` with its confidence-interval options, and the constants naming the
baseline-relative keys (:data:`RELATIVE_KEYS`) and the guardbands (:data:`GUARDBANDS`).
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field, ValidationInfo, field_validator, model_validator
from pydantic_core import PydanticCustomError

from gatekit.core.results import OnFail
from gatekit.policy.specs.common import AlertSpec, OnFailField, Spec, check_op, unknown_metric

RELATIVE_KEYS = ("max_drop", "max_drop_pct", "max_increase", "max_increase_pct", "within", "within_pct")
"""The keys of a baseline-relative rule (one per rule)."""

GUARDBANDS = ("proven_harm", "proven_safe")


class MetricRule(Spec):
    """One rule on a named metric: an absolute threshold ``name op value``, or a change from the baseline.

    Parameters
    ----------
    name : str
        A metric name (``gatekit metrics`` lists them), e.g. ``auc_roc``, ``precision_at_0_5``.
    op : str
        One of ``>=``, ``>``, ``<=``, ``<``, ``==``, ``!=`` (absolute rules).
    value : float
        Threshold, in the metric's unit (fractions for rates, percent for MAPE/sMAPE, ms for latency).
    max_drop, max_increase, within : float, optional
        A baseline-relative rule on ``delta = candidate - baseline`` in the metric's unit: ``max_drop: d``
        holds when ``delta >= -d``, ``max_increase: d`` when ``delta <= d``, ``within: d`` when
        ``|delta| <= d``. "Drop" is literal: a fall in the value, whatever the metric's direction (use
        ``max_increase`` for an error or latency).
    max_drop_pct, max_increase_pct, within_pct : float, optional
        The same on the relative change ``100 * (candidate - baseline) / |baseline|`` in percent; a
        baseline of 0 makes the rule not computable.
    confidence : float, optional
        Two-sided confidence level in (0.5, 1), e.g. 0.95: decide on the confidence interval's bound
        instead of the point value (see ``guardband``).
    guardband : {"proven_harm", "proven_safe"}, optional
        ``proven_harm`` fails the rule only when the whole interval lies on the failing side (the data
        proves the limit is broken); ``proven_safe`` passes it only when the whole interval lies on the
        passing side (the data proves the limit holds). Default: ``proven_harm`` for relative rules
        (project 2: "block if worse by more than 2 % with 95 % confidence"), ``proven_safe`` for
        absolute rules (``>= X`` passes only if the lower bound is ``>= X``).
    interval : {"bootstrap", "delong"}
        ``bootstrap``: percentile bootstrap over evaluation rows, stratified by class, paired when the
        baseline scored the same rows; ``delong``: DeLong's variance (``roc_auc`` only, absolute change or
        value). Default ``bootstrap``.
    resamples : int
        Bootstrap resamples (default 2000, at least 200).
    seed : int
        Bootstrap seed (recorded in the report).
    on_fail : {"block", "warn"}
        Severity; default ``block`` (fail closed).
    params : dict
        Metric parameters, e.g. ``{variant: "0-100"}`` for smape, ``{threshold: 0.4, sensitive: afam}``
        for fairness metrics.
    description : str, optional
        Why the rule exists; shown in the report.
    alert : AlertSpec, optional
        Alert when this rule failed in ``after`` of the last ``within`` runs (replaces the policy's default).

    Raises
    ------
    pydantic.ValidationError
        Both or neither of an absolute and a relative form, a confidence option without ``confidence``,
        ``delong`` on a metric other than ROC AUC or on a percent change, ``confidence`` with ``==``/``!=``.
    """

    name: str = Field(min_length=1)
    op: str | None = None
    value: float | None = None
    max_drop: float | None = Field(default=None, ge=0)
    max_drop_pct: float | None = Field(default=None, ge=0)
    max_increase: float | None = Field(default=None, ge=0)
    max_increase_pct: float | None = Field(default=None, ge=0)
    within: float | None = Field(default=None, ge=0)
    within_pct: float | None = Field(default=None, ge=0)
    confidence: float | None = Field(default=None, gt=0.5, lt=1)
    guardband: Literal["proven_harm", "proven_safe"] | None = None
    interval: Literal["bootstrap", "delong"] | None = None
    resamples: int | None = Field(default=None, ge=200, le=100_000)
    seed: int | None = Field(default=None, ge=0)
    on_fail: OnFailField = OnFail.BLOCK
    params: dict[str, Any] = Field(default_factory=dict)
    description: str | None = None
    alert: AlertSpec | None = None

    @field_validator("op")
    @classmethod
    def _op(cls, v: str | None) -> str | None:
        return v if v is None else check_op(v)

    @field_validator("name")
    @classmethod
    def _name(cls, v: str, info: ValidationInfo) -> str:
        registry = (info.context or {}).get("registry")
        if registry is not None and registry.resolve(v) is None:
            raise unknown_metric(registry, v, "")
        return v

    @model_validator(mode="after")
    def _one_form(self, info: ValidationInfo) -> MetricRule:
        relative = [k for k in RELATIVE_KEYS if getattr(self, k) is not None]
        absolute = self.op is not None or self.value is not None
        if len(relative) > 1:
            raise PydanticCustomError("rule_form", "give one of {keys}, not several", {"keys": ", ".join(relative)})
        if absolute and relative:
            raise PydanticCustomError("rule_form", "a rule is either absolute (op + value) or relative to the "
                                      "baseline ({key}), not both; write two rules", {"key": relative[0]})
        if not relative and (self.op is None or self.value is None):
            raise PydanticCustomError(
                "rule_form", "a metric rule needs op and value (e.g. op: '>=', value: 0.8) or a baseline-relative "
                "limit ({keys})", {"keys": ", ".join(RELATIVE_KEYS)})
        if self.confidence is None:
            given = [k for k in ("guardband", "interval", "resamples", "seed") if getattr(self, k) is not None]
            if given:
                raise PydanticCustomError("confidence", "{keys} only apply with confidence (e.g. confidence: 0.95)",
                                          {"keys": ", ".join(given)})
            return self
        if self.op in ("==", "!="):
            raise PydanticCustomError("confidence", "confidence needs a one-sided rule (>=, >, <=, <), not {op}",
                                      {"op": self.op})
        registry = (info.context or {}).get("registry")
        res = registry.resolve(self.name) if registry is not None else None
        if res is not None and res.spec.fn is None:
            raise PydanticCustomError("confidence", "{name} is not computed from evaluation rows (it comes from a "
                                      "metrics file), so it has no confidence interval; drop confidence",
                                      {"name": repr(self.name)})
        if self.interval == "delong":
            if relative and relative[0].endswith("_pct"):
                raise PydanticCustomError("confidence", "interval: delong bounds an AUC or an AUC difference; "
                                          "use interval: bootstrap for a percent change", {})
            if res is not None and res.spec.name != "roc_auc":
                raise PydanticCustomError("confidence", "interval: delong is DeLong's test for ROC AUC; {name} "
                                          "needs interval: bootstrap", {"name": repr(self.name)})
            if self.resamples is not None or self.seed is not None:
                raise PydanticCustomError("confidence", "resamples and seed apply to interval: bootstrap, not "
                                          "delong", {})
        return self

    @property
    def relative(self) -> tuple[str, float] | None:
        """``(key, limit)`` of a baseline-relative rule (e.g. ``("max_drop", 0.015)``), None for an absolute one."""
        for k in RELATIVE_KEYS:
            v = getattr(self, k)
            if v is not None:
                return k, v
        return None

    @property
    def check_name(self) -> str:
        """Name of the rule's check in the report: the metric name, plus ``vs baseline`` for a relative rule."""
        return f"{self.name} vs baseline" if self.relative else self.name

    @property
    def form(self) -> str:
        """The operator or relative key (used to tell repeated rules apart)."""
        rel = self.relative
        return rel[0] if rel else str(self.op)
