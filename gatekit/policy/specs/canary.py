"""The ``canary:`` section: a canary traffic log and the rules comparing its two arms.

:class:`CanarySpec` takes baseline-relative :class:`~gatekit.policy.specs.metrics.MetricRule`
rules only, on metrics computed from rows.
"""

from __future__ import annotations

import math
from typing import Any, Literal

from pydantic import Field, ValidationInfo, field_validator, model_validator
from pydantic_core import PydanticCustomError

from gatekit.policy.specs.common import PathField, Spec
from gatekit.policy.specs.metrics import MetricRule
from gatekit.stats.intervals import DEFAULT_RESAMPLES

SEQUENTIAL_BONFERRONI = ("roc_auc", "pr_auc", "latency_p50_ms", "latency_p95_ms", "latency_p99_ms")
"""Canary metrics that are no mean of rows and that ``canary.sequential`` takes through Bonferroni over looks."""


MAX_LOOK_RESAMPLES = 100_000
"""The most resamples a Bonferroni look may need; a larger ``max_looks`` is refused at load."""
TAIL_REPLICATES = 10
"""Bootstrap replicates that must lie beyond each bound of a look's percentile interval."""


def look_resamples(confidence: float, max_looks: int, given: int = DEFAULT_RESAMPLES) -> int:
    """Bootstrap resamples of a Bonferroni look: at least ``ceil(20 K / (1 - c))``, so 10 lie beyond each bound.

    A percentile interval at level ``1 - (1 - c) / K`` cuts ``B (1 - c) / (2 K)`` replicates off each end; with
    ``B`` = 2,000 and ``K`` = 30 that is 1.7 replicates, and at ``K`` = 10,000 none (the interval is then the
    range of the replicates, narrower than the level asks). ``B = ceil(2 m K / (1 - c))`` leaves ``m`` =
    :data:`TAIL_REPLICATES` beyond each bound.

    Parameters
    ----------
    confidence : float
        The rule's two-sided confidence ``c``.
    max_looks : int
        ``K``.
    given : int
        The rule's ``resamples`` (default 2,000).

    Returns
    -------
    int
        ``max(given, ceil(2 * 10 * K / (1 - c)))`` (computed in exact decimals: 20 x 30 / 0.05 is 12,000).
    """
    from fractions import Fraction

    need = Fraction(2 * TAIL_REPLICATES * max_looks) / (1 - Fraction(str(confidence)))
    return max(int(given), math.ceil(need))


def largest_max_looks(confidence: float) -> int:
    """Return the largest ``max_looks`` whose looks need at most :data:`MAX_LOOK_RESAMPLES` resamples."""
    from fractions import Fraction

    return int(Fraction(MAX_LOOK_RESAMPLES) * (1 - Fraction(str(confidence))) / (2 * TAIL_REPLICATES))


class _CanaryMetrics:
    """A metric registry as a canary's rules see it: the served-latency metrics are computed from the log's rows."""

    def __init__(self, registry: Any) -> None:
        self._registry = registry

    def resolve(self, name: str) -> Any:
        """Resolve ``name``; a served-latency metric resolves to the function reading the logged latencies."""
        from gatekit.metrics.latency import ROW_LATENCY_METRICS, row_latency

        res = self._registry.resolve(name)
        if res is not None and res.spec.name in ROW_LATENCY_METRICS and res.spec.fn is None:
            return row_latency(res)
        return res

    def __getattr__(self, attr: str) -> Any:
        return getattr(self._registry, attr)


class SequentialSpec(Spec):
    """``canary.sequential``: decide the rollout anytime-validly, as its rows accumulate.

    Every rule is decided on a confidence sequence of the arms' difference at every prefix of the log (valid
    at every row at once, so the rollout may be looked at after every batch and stopped at the first proven
    harm or proven safety); see :mod:`gatekit.sections.canary_sequential`.

    Parameters
    ----------
    method : {"normal_mixture", "betting"}, optional
        ``betting``: the hedged-capital sequence for bounded values (Waudby-Smith & Ramdas, *JRSS-B* 2024),
        exact at every sample size, for ``accuracy`` and ``brier_score`` only; ``normal_mixture``: the
        asymptotic confidence sequence with the normal mixture boundary (Howard et al., *Ann. Statist.* 2021;
        Waudby-Smith et al., *Ann. Statist.* 2024), for any per-row metric, with no bounds before 30 pairs of
        which 30 differ from the most common difference. Default: ``betting`` for ``accuracy`` and
        ``brier_score``, ``normal_mixture`` for ``log_loss``, ``mae`` and ``latency_mean_ms``
        (:func:`gatekit.sections.canary_sequential.resolve_method`).
    order_by : str, optional
        Column giving the rows' arrival order (numbers or date-times); default the log's row order.
    n_opt : int
        Pairs of rows at which the normal mixture boundary is tightest (fix it before the rollout); default 1000.
    max_looks : int, optional
        The number of looks declared for the rollout; needed by ``roc_auc`` / ``pr_auc`` rules and the latency
        percentiles (``latency_p50_ms``, ``latency_p95_ms``, ``latency_p99_ms``), whose look
        ``k`` reads the bootstrap interval at confidence ``1 - (1 - c) / max_looks`` (Bonferroni) from at least
        ``ceil(20 max_looks / (1 - c))`` resamples (:func:`look_resamples`); refused when that exceeds 100,000
        (at ``c`` = 0.95: ``max_looks`` above 250).
    rollout : str, optional
        Names the rollout; looks are counted over recorded runs of this policy with the same name (default:
        the policy's name). Change it when a new candidate's rollout starts.
    """

    method: Literal["normal_mixture", "betting"] | None = None
    order_by: str | None = None
    n_opt: int = Field(default=1000, ge=2)
    max_looks: int | None = Field(default=None, ge=1, le=10_000)
    rollout: str | None = Field(default=None, min_length=1)


class CanarySpec(Spec):
    """A canary traffic log: rows served by the candidate or by production, with their outcomes.

    Each rule compares the candidate arm with the production arm (unpaired: different rows), by a
    percentile bootstrap that resamples each arm on its own, stratified by class. The outcome may be binary,
    numeric or multiclass (:mod:`gatekit.data.canary`).

    Parameters
    ----------
    data : str
        The traffic log, ``.csv`` or ``.parquet`` (relative to the policy).
    arm : str
        Column naming which model served the row (default ``arm``).
    candidate_arm, baseline_arm : str, int or bool
        Values of ``arm`` for the candidate and for production (defaults ``candidate``, ``production``);
        compared in the normal label form (``1``, ``1.0`` and ``"1"`` are the same arm).
    target : str
        Outcome column.
    positive_label : str, int or bool, optional
        As in ``inputs``.
    score, prediction : str, optional
        Column holding the served model's score (or label); one of them. For a multiclass outcome, ``score``
        names one probability column per class by a pattern (``"score_*"`` takes ``score_<class>``, as
        ``inputs.score``), or ``prediction`` the predicted class.
    task : {"classification", "multiclass", "regression"}, optional
        The outcome's problem type; inferred when absent (a ``score`` pattern means multiclass; otherwise as
        ``inputs.task`` infers it, with whole-number outcomes of more than two values taken as regression).
    sensitive : str or list of str
        Sensitive columns for fairness rules.
    latency : str, optional
        Column holding each row's served latency in milliseconds (numbers, finite, >= 0; a missing or bad value
        is an input error). Needed by the rules on ``latency_mean_ms``, ``latency_p50_ms``, ``latency_p95_ms``
        and ``latency_p99_ms``, which read each arm's logged latencies (:mod:`gatekit.metrics.latency`).
    min_rows_per_arm : int
        Fewer rows in an arm make every rule not computable (too small to decide); default 100.
    rules : list of MetricRule
        Baseline-relative rules (``max_drop``, ``max_increase``, ``within`` and their ``_pct`` forms).
    sequential : SequentialSpec, optional
        Decide anytime-validly as the log grows (absent: one fixed-n comparison of the whole log).
    """

    data: PathField
    arm: str = "arm"
    candidate_arm: str | int | bool = "candidate"
    baseline_arm: str | int | bool = "production"
    target: str
    positive_label: str | int | bool | None = None
    score: str | None = None
    prediction: str | None = None
    task: Literal["classification", "multiclass", "regression"] | None = None
    sensitive: list[str] = Field(default_factory=list)
    latency: str | None = Field(default=None, min_length=1)
    min_rows_per_arm: int = Field(default=100, ge=2)
    rules: list[MetricRule] = Field(min_length=1)
    sequential: SequentialSpec | None = None

    @field_validator("sensitive", mode="before", json_schema_input_type=str | list[str])
    @classmethod
    def _one_or_many(cls, v: Any) -> Any:
        return [v] if isinstance(v, str) else v

    @field_validator("rules", mode="wrap")
    @classmethod
    def _latency_rules(cls, v: Any, handler: Any, info: ValidationInfo) -> Any:
        """Validate the rules against the canary's view of the catalog, where served latency comes from rows.

        The catalog's ``latency_*_ms`` specs have no function (under ``metrics:`` they are measured or read from a
        metrics file, so a rule there takes no ``confidence``); a canary computes them from its latency column
        (:func:`gatekit.metrics.latency.row_latency`), so its rules on them may. The validation context's registry
        is :class:`_CanaryMetrics` while ``rules`` is validated, and restored after.
        """
        ctx = info.context
        if not isinstance(ctx, dict) or ctx.get("registry") is None:
            return handler(v)
        registry = ctx["registry"]
        ctx["registry"] = _CanaryMetrics(registry)
        try:
            return handler(v)
        finally:
            ctx["registry"] = registry

    @model_validator(mode="after")
    def _checks(self, info: ValidationInfo) -> CanarySpec:
        if (self.score is None) == (self.prediction is None):
            raise PydanticCustomError("canary", "give one of canary score and prediction (the served model's "
                                      "output column)", {})
        from gatekit.data.readers import canary_roles, role_conflict_message, role_conflicts

        found = role_conflicts(canary_roles(self))
        if found:
            raise PydanticCustomError("column_roles", "{msg}", {"msg": role_conflict_message(*found[0])})
        from gatekit.core.labels import norm_label

        if norm_label(self.candidate_arm) == norm_label(self.baseline_arm):
            # rows are matched to arms in normal form (case, spaces, 1 / "1" / 1.0 / true), so these would pick the
            # same rows and compare the production arm with itself
            raise PydanticCustomError("canary", "candidate_arm {a} and baseline_arm {b} name the same arm (arms are "
                                      "matched ignoring case, spaces and number formats); they must differ",
                                      {"a": repr(self.candidate_arm), "b": repr(self.baseline_arm)})
        absolute = [r.name for r in self.rules if r.relative is None]
        if absolute:
            raise PydanticCustomError("canary", "canary rules compare the two arms: use max_drop, max_increase or "
                                      "within (or their _pct forms), not op/value ({names})",
                                      {"names": ", ".join(absolute)})
        self._latency_column()
        registry = (info.context or {}).get("registry")
        from gatekit.metrics.latency import ROW_LATENCY_METRICS

        for i, r in enumerate(self.rules):
            res = registry.resolve(r.name) if registry is not None else None
            if res is not None and res.spec.name in ROW_LATENCY_METRICS and res.spec.source is None:
                if self.latency is None:
                    raise PydanticCustomError(
                        "canary", "canary.rules[{i}] ({name}): a canary latency rule reads each row's served latency "
                        "from the log; name its column in milliseconds (canary.latency: <column>)",
                        {"i": str(i), "name": r.name})
                key = r.relative[0] if r.relative else ""
                if key.removesuffix("_pct") in ("max_drop", "min_increase"):
                    # lower latency is better: a literal "drop" limit would let any slowdown through
                    raise PydanticCustomError(
                        "canary", "canary.rules[{i}] ({name}): {key} limits a fall, and a slower candidate's latency "
                        "rises; use max_increase{pct} (at most this much slower) or min_decrease{pct} (faster by at "
                        "least this much)", {"i": str(i), "name": r.name, "key": key,
                                             "pct": "_pct" if key.endswith("_pct") else ""})
                continue
            if res is not None and (res.spec.fn is None or res.spec.section == "rollout"):
                raise PydanticCustomError(
                    "canary", "{name} cannot be compared between canary arms: {why}",
                    {"name": repr(r.name), "why": "it is not computed from rows" if res.spec.fn is None
                     else "a shadow metric compares two models on the same rows"})
        delong = [r.name for r in self.rules if r.interval == "delong"]
        if delong:
            raise PydanticCustomError("canary", "the arms hold different rows, so DeLong's paired test does not "
                                      "apply; use interval: bootstrap ({names})", {"names": ", ".join(delong)})
        seq_rules = [r.name for r in self.rules if r.interval == "sequential"]
        if seq_rules:
            raise PydanticCustomError("canary", "interval: sequential is for metrics: rules (a shadow's rows); a "
                                      "canary is made anytime-valid by canary.sequential, with interval: bootstrap "
                                      "or no interval ({names})", {"names": ", ".join(seq_rules)})
        if self.sequential is not None:
            self._sequential_rules(registry)
        return self

    def _latency_column(self) -> None:
        """Refuse a latency column that is also another role's column (it would be read as two things)."""
        if self.latency is None:
            return
        roles = [("arm", self.arm), ("target", self.target), ("score", self.score), ("prediction", self.prediction),
                 *(("sensitive", c) for c in self.sensitive)]
        if self.sequential is not None and self.sequential.order_by is not None:
            roles.append(("sequential.order_by", self.sequential.order_by))
        for role, col in roles:
            if col == self.latency:
                raise PydanticCustomError("column_roles", "canary.latency {col} is also the canary's {role} column; "
                                          "the served latency needs its own column", {"col": repr(col), "role": role})

    def _sequential_rules(self, registry: Any) -> None:
        """Refuse rules a confidence sequence cannot decide (naming the rule and the metrics it can)."""
        from gatekit.metrics.per_row import CANARY_PER_ROW as PER_ROW

        seq = self.sequential
        assert seq is not None
        choices = (f"{', '.join(PER_ROW)} (confidence sequences) or {', '.join(SEQUENTIAL_BONFERRONI)} (Bonferroni "
                   "over max_looks)")
        for i, r in enumerate(self.rules):
            res = registry.resolve(r.name) if registry is not None else None
            name = res.spec.name if res is not None else r.name
            where = f"canary.rules[{i}] ({r.name})"
            if name not in PER_ROW and name not in SEQUENTIAL_BONFERRONI:
                raise PydanticCustomError("canary_sequential", "{where}: canary.sequential decides a rule on the "
                                          "mean of per-row values, and {name} is not one; sequential canary rules "
                                          "take {choices}", {"where": where, "name": name, "choices": choices})
            if r.confidence is None:
                raise PydanticCustomError("canary_sequential", "{where}: canary.sequential decides every rule on a "
                                          "confidence sequence; give the rule a confidence (e.g. confidence: 0.95)",
                                          {"where": where})
            key = r.relative[0] if r.relative else ""
            if key.endswith("_pct"):
                raise PydanticCustomError("canary_sequential", "{where}: a change in percent is a ratio of the arms' "
                                          "means, not a mean of rows; under canary.sequential use {plain}",
                                          {"where": where, "plain": key.removesuffix("_pct")})
            if name in PER_ROW and seq.method == "betting" and PER_ROW[name].bounds is None:
                bounded = ", ".join(k for k, v in PER_ROW.items() if v.bounds is not None)
                raise PydanticCustomError("canary_sequential", "{where}: method betting needs per-row values with "
                                          "known bounds ({bounded}); {name} is unbounded: use method: "
                                          "normal_mixture", {"where": where, "bounded": bounded, "name": name})
            if name in SEQUENTIAL_BONFERRONI and seq.max_looks is None:
                raise PydanticCustomError("canary_sequential", "{where}: {name} is not a mean of rows, so each look "
                                          "reads its bootstrap interval at confidence 1 - (1 - c) / max_looks "
                                          "(Bonferroni); declare canary.sequential.max_looks (the looks the "
                                          "rollout may take, e.g. 30)", {"where": where, "name": name})
            if name in SEQUENTIAL_BONFERRONI and seq.max_looks is not None:
                need = look_resamples(r.confidence, seq.max_looks, r.resamples or DEFAULT_RESAMPLES)
                if need > MAX_LOOK_RESAMPLES:
                    raise PydanticCustomError(
                        "canary_sequential", "{where}: canary.sequential.max_looks {k} is too many for a bootstrap "
                        "look: each look reads the interval at confidence 1 - (1 - {c}) / {k}, which needs at least "
                        "20 x {k} / (1 - {c}) = {need} resamples (10 beyond each bound), above the {cap} gatekit "
                        "computes; declare max_looks {fit} or fewer (or a lower confidence)",
                        {"where": where, "k": str(seq.max_looks), "c": f"{r.confidence:g}", "need": f"{need:,}",
                         "cap": f"{MAX_LOOK_RESAMPLES:,}", "fit": str(largest_max_looks(r.confidence))})

    def rule_count(self) -> int:
        """Return the number of rules comparing the two arms."""
        return len(self.rules)
