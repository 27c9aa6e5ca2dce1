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

RELATIVE_KEYS = ("max_drop", "max_drop_pct", "max_increase", "max_increase_pct", "within", "within_pct",
                 "min_increase", "min_increase_pct", "min_decrease", "min_decrease_pct")
"""The keys of a baseline-relative rule (one per rule)."""

GUARDBANDS = ("proven_harm", "proven_safe")

MODES = {"non_inferiority": ("max_drop", "max_increase"), "equivalence": ("within",),
         "superiority": ("min_increase", "min_decrease")}
"""Named comparison modes and the relative keys (with their ``_pct`` forms) each is written with."""

Severity = Literal["block", "warn", "pass"]


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
    min_increase, min_decrease : float, optional
        Superiority: the candidate must beat the baseline by more than the margin, ``delta > g`` for
        ``min_increase: g`` and ``delta < -g`` for ``min_decrease: g`` (``0``: any improvement).
    max_drop_pct, max_increase_pct, within_pct, min_increase_pct, min_decrease_pct : float, optional
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
        absolute rules (``>= X`` passes only if the lower bound is ``>= X``); ``min_increase`` /
        ``min_decrease`` rules default to ``mode: superiority``.
    mode : {"non_inferiority", "equivalence", "superiority"}, optional
        Name the hypothesis a baseline-relative rule with ``confidence`` is to prove (instead of a
        ``guardband``): ``non_inferiority`` with ``max_drop`` / ``max_increase`` (the limit is the margin),
        ``equivalence`` with ``within`` (two one-sided tests, Schuirmann 1987), ``superiority`` with
        ``min_increase`` / ``min_decrease``. The rule passes when the interval proves it, fails when the
        interval proves the opposite, and is ``inconclusive`` when the interval straddles the limit.
    inconclusive : {"block", "warn", "pass"}, optional
        What an interval that straddles the limit costs. Default: ``pass`` under ``guardband: proven_harm``
        (inconclusive is not harm), otherwise the rule's ``on_fail`` (not proven is not a pass).
    insufficient_data : {"block", "warn", "pass"}, optional
        What an inconclusive interval costs when the data could not have decided: the smallest effect the
        rows can show at this confidence and ``power`` is larger than the rule's margin. Default: the rule's
        ``on_fail`` (a rule that cannot decide never reads as a pass unless the policy says so).
    power : float
        Target power of the minimum detectable effect and the rows-needed figure (default 0.8).
    interval : {"bootstrap", "delong", "sequential"}
        ``bootstrap``: percentile bootstrap over evaluation rows, stratified by class, paired when the
        baseline scored the same rows; ``delong``: DeLong's variance (``roc_auc`` only, absolute change or
        value); ``sequential``: an anytime-valid confidence sequence over the rows in arrival order, read at
        every prefix (``metrics:`` rules only: ``max_drop``, ``max_increase``, ``within``, ``min_increase``
        or ``min_decrease`` on a per-row metric with a paired baseline, or ``op``/``value`` on
        ``prediction_agreement_rate`` or ``mean_score_difference``; ``inputs.sequential`` sets its method and
        the rows' order; :mod:`gatekit.sections.shadow_sequential`). Default ``bootstrap``.
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
        ``delong`` on a metric other than ROC AUC or on a percent change, ``confidence`` with ``==``/``!=``,
        ``sequential`` on a metric or form a confidence sequence cannot decide (:func:`check_sequential_rule`).
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
    min_increase: float | None = Field(default=None, ge=0)
    min_increase_pct: float | None = Field(default=None, ge=0)
    min_decrease: float | None = Field(default=None, ge=0)
    min_decrease_pct: float | None = Field(default=None, ge=0)
    guardband: Literal["proven_harm", "proven_safe"] | None = None
    mode: Literal["non_inferiority", "equivalence", "superiority"] | None = None
    inconclusive: Severity | None = None
    insufficient_data: Severity | None = None
    power: float | None = Field(default=None, gt=0.5, lt=1)
    interval: Literal["bootstrap", "delong", "sequential"] | None = None
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
            given = [k for k in ("guardband", "interval", "resamples", "seed", "mode", "inconclusive",
                                 "insufficient_data", "power") if getattr(self, k) is not None]
            if given:
                raise PydanticCustomError("confidence", "{keys} only {verb} with confidence (e.g. confidence: 0.95)",
                                          {"keys": ", ".join(given), "verb": "applies" if len(given) == 1 else "apply"})
            return self
        if self.op in ("==", "!="):
            raise PydanticCustomError("confidence", "confidence needs a one-sided rule (>=, >, <=, <), not {op}",
                                      {"op": self.op})
        if self.mode is not None:
            if self.guardband is not None:
                raise PydanticCustomError("mode", "give mode or guardband, not both (mode {mode} decides like "
                                          "guardband: proven_safe, with an inconclusive outcome of its own)",
                                          {"mode": self.mode})
            keys = MODES[self.mode]
            if not relative or relative[0].removesuffix("_pct") not in keys:
                raise PydanticCustomError("mode", "mode {mode} compares with production through {keys} (or their "
                                          "_pct forms){got}", {"mode": self.mode, "keys": " or ".join(keys),
                                          "got": f", not {relative[0]}" if relative else ", not op/value"})
        registry = (info.context or {}).get("registry")
        res = registry.resolve(self.name) if registry is not None else None
        if res is not None and res.spec.fn is None:
            raise PydanticCustomError("confidence", "{name} is not computed from evaluation rows (it comes from a "
                                      "metrics file), so it has no confidence interval; drop confidence",
                                      {"name": repr(self.name)})
        if self.interval == "sequential":
            check_sequential_rule(self, relative[0] if relative else None,
                                  res.spec.name if res is not None else None)
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

    @property
    def hypothesis(self) -> str:
        """The rule's framing under ``confidence``: its ``mode``, else its guardband, else the default.

        The default is ``proven_harm`` for ``max_drop`` / ``max_increase`` / ``within`` (block only a proven
        breach), ``superiority`` for ``min_increase`` / ``min_decrease`` (a gain must be shown, not merely not
        disproven) and ``proven_safe`` for an absolute rule.
        """
        if self.mode is not None:
            return self.mode
        if self.guardband is not None:
            return self.guardband
        rel = self.relative
        if rel is None:
            return "proven_safe"
        return "superiority" if rel[0].startswith("min_") else "proven_harm"

    def severities(self) -> dict[str, str]:
        """Return the severity of an ``inconclusive`` and an ``insufficient_data`` outcome, defaults applied."""
        return outcome_severities(self.hypothesis, self.on_fail, self.inconclusive, self.insufficient_data)


def outcome_severities(hypothesis: str, on_fail: OnFail, inconclusive: str | None,
                       insufficient_data: str | None) -> dict[str, str]:
    """Return the severities of a confidence rule's ``inconclusive`` and ``insufficient_data`` outcomes.

    Parameters
    ----------
    hypothesis : str
        The rule's framing (``proven_harm``, ``proven_safe`` or a mode).
    on_fail : OnFail
        The rule's severity.
    inconclusive, insufficient_data : {"block", "warn", "pass"} or None
        What the policy wrote (None: not written).

    Returns
    -------
    dict
        ``{"inconclusive": s, "insufficient_data": s}``. Defaults: ``inconclusive`` is ``pass`` under
        ``proven_harm`` (not proven harm) and ``on_fail`` otherwise; ``insufficient_data`` is ``on_fail`` (a rule
        that cannot decide never reads as a pass unless the policy says so). Used by metric, canary and slice rules.
    """
    return {"inconclusive": inconclusive or ("pass" if hypothesis == "proven_harm" else on_fail.value),
            "insufficient_data": insufficient_data or on_fail.value}


SEQUENTIAL_SHADOW = ("prediction_agreement_rate", "mean_score_difference")
"""Shadow metrics an absolute rule with ``interval: sequential`` takes (means of per-row values,
:data:`gatekit.metrics.per_row.SHADOW_PER_ROW`)."""


def sequential_choices() -> str:
    """Return the rules ``interval: sequential`` takes, in words (for load errors)."""
    from gatekit.metrics.per_row import PER_ROW

    return (f"max_drop, max_increase, within, min_increase or min_decrease on {', '.join(PER_ROW)} (per-row "
            f"differences against production on the same rows), or op/value on {' or '.join(SEQUENTIAL_SHADOW)}")


def check_sequential_rule(rule: MetricRule, key: str | None, metric: str | None) -> None:
    """Refuse a rule with ``interval: sequential`` that a confidence sequence of a row mean cannot decide.

    Parameters
    ----------
    rule : MetricRule
        The rule (``confidence`` set, ``interval: sequential``).
    key : str or None
        Its relative key (None: an absolute rule).
    metric : str or None
        Its canonical metric name (None when no registry resolved it: only the form is checked).

    Raises
    ------
    pydantic_core.PydanticCustomError
        ``resamples`` / ``seed`` given, a ``_pct`` form (a ratio of means, not a mean of rows), a relative rule
        on a metric without per-row values, or an absolute rule on a metric other than
        :data:`SEQUENTIAL_SHADOW`. Each message names the rule and the choices.
    """
    from gatekit.metrics.per_row import PER_ROW

    if rule.resamples is not None or rule.seed is not None:
        raise PydanticCustomError("sequential", "rule {name}: resamples and seed apply to interval: bootstrap, not "
                                  "sequential", {"name": repr(rule.name)})
    if key is not None and key.endswith("_pct"):
        raise PydanticCustomError("sequential", "rule {name}: a change in percent is a ratio of the models' means, not "
                                  "a mean of rows, so interval: sequential cannot bound it; use {plain} (interval: "
                                  "sequential takes {choices})", {"name": repr(rule.name),
                                                                  "plain": key.removesuffix("_pct"),
                                                                  "choices": sequential_choices()})
    if metric is None:
        return
    ok = metric in PER_ROW if key is not None else metric in SEQUENTIAL_SHADOW
    if not ok:
        form = f"{key}" if key is not None else f"op/value ({rule.op} {rule.value})"
        raise PydanticCustomError("sequential", "rule {name}: interval: sequential decides a mean of per-row values in "
                                  "arrival order, and {metric} with {form} is not one; it takes {choices} (or use "
                                  "interval: bootstrap)", {"name": repr(rule.name), "metric": metric, "form": form,
                                                           "choices": sequential_choices()})


def check_sequential_inputs(metrics: list[MetricRule], inputs: Any, registry: Any) -> None:
    """Check ``inputs.sequential`` against the ``metrics:`` rules with ``interval: sequential`` (load time).

    Parameters
    ----------
    metrics : list of MetricRule
        The policy's ``metrics:``.
    inputs : InputsSpec or None
        The policy's ``inputs:``.
    registry : MetricRegistry or None
        Resolves the rules' metrics.

    Raises
    ------
    pydantic_core.PydanticCustomError
        ``inputs.sequential`` with no rule using it; ``method: betting`` with a rule whose per-row values have
        no known bounds (naming the rule and the bounded metrics).
    """
    from gatekit.metrics.per_row import PER_ROW, SHADOW_PER_ROW

    seq = getattr(inputs, "sequential", None)
    users = [(i, r) for i, r in enumerate(metrics) if r.interval == "sequential"]
    if seq is None:
        return
    if not users:
        raise PydanticCustomError("sequential", "inputs.sequential sets how rules with interval: sequential read the "
                                  "rows, and no metrics: rule has it; add interval: sequential to a rule or remove "
                                  "inputs.sequential", {})
    if seq.method != "betting" or registry is None:
        return
    known = {**PER_ROW, **SHADOW_PER_ROW}
    for i, r in users:
        res = registry.resolve(r.name)
        name = res.spec.name if res is not None else r.name
        if name in known and known[name].bounds is None:
            bounded = ", ".join(k for k, v in known.items() if v.bounds is not None)
            raise PydanticCustomError("sequential", "metrics[{i}] ({rule}): inputs.sequential.method betting needs "
                                      "per-row values with known bounds ({bounded}); {name} is unbounded: use "
                                      "method: normal_mixture", {"i": str(i), "rule": r.name, "bounded": bounded,
                                                                 "name": name})
