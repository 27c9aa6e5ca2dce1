"""The ``slices:`` section: any metric computed on each segment of the evaluation rows.

:class:`SliceRule`: one metric, one segmentation (a column, several columns and their intersections, numeric
columns in stated bins), and one rule on the slices: the worst slice meets ``op value``, or no slice falls more
than ``max_drop`` below the whole. Evaluated by :mod:`gatekit.sections.slices`.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import Field, ValidationInfo, field_validator, model_validator
from pydantic_core import PydanticCustomError

from gatekit.core.results import OnFail
from gatekit.policy.specs.common import OnFailField, Spec, check_bins_map, check_op, unknown_metric
from gatekit.policy.specs.metrics import Severity, outcome_severities

DEFAULT_MIN_ROWS = 30
"""Rows a slice needs to be counted (``min_rows``). At 30 rows the 95 % interval of a rate near 0.5 is already
about +-0.17 wide: a slice's value measured on fewer rows is mostly noise (the fairness groups' default too)."""

SLICE_SECTIONS = ("performance",)
"""The report sections whose metrics a slice rule may compute: metrics of the model's quality on the rows. A
fairness metric is itself a comparison of groups, a shadow metric compares two models, and operational and drift
figures are not computed per row."""


class SliceRule(Spec):
    """One metric on every slice of the evaluation rows, with a rule on the worst slice.

    Parameters
    ----------
    metric : str
        A performance metric computed from the evaluation rows (``roc_auc``, ``accuracy``, ``rmse``,
        ``precision_at_0_5``, ``recall[class=fraud]``, ...; ``gatekit metrics`` lists them). Fairness, shadow,
        operational and drift metrics, and metrics only read from a metrics file, are refused.
    by : str or list of str
        The column(s) whose values make the slices. With several columns the slices are every combination of
        their values (the intersections), an empty one listed with 0 rows and never dropped.
    bins : dict of str to list of float or "categories"
        Bin edges per numeric column of ``by`` (``{lvrat: [0, 0.6, 0.8, .inf]}`` gives the slices ``[0, 0.6)``,
        ``[0.6, 0.8)``, ``[0.8, inf)``; left-closed, right-open); a value outside every bin is its own slice,
        ``(outside bins)``, never dropped. ``categories`` keeps a numeric column's values as slices (codes). A
        numeric column with more than 20 distinct values and no entry here is refused when the data is read.
        Missing values are their own slice, ``(missing)``.
    min_rows : int
        Rows a slice needs to be counted (default 30). A smaller slice is listed with its value and not counted.
    small_slices : {"exclude", "block"}
        ``exclude`` (default): a slice under ``min_rows`` is listed and not counted; ``block``: any slice under
        ``min_rows`` (an empty intersection or bin too) fails the rule.
    params : dict
        The metric's parameters, as in a metric rule (``{threshold: 0.4}``).
    op : str, optional
        With ``value``: every counted slice must meet ``slice op value`` (the worst slice decides). One of
        ``>=``, ``>``, ``<=``, ``<``, ``==``, ``!=``.
    value : float, optional
        The limit of ``op``, in the metric's unit.
    max_drop : float, optional
        Instead of ``op`` and ``value``: no counted slice may be worse than the whole rows by more than this, in
        the metric's unit. Worse follows the metric's direction: ``whole - slice`` for a metric where higher is
        better (AUC), ``slice - whole`` for one where lower is better (RMSE); a metric of no direction is refused.
    confidence : float, optional
        Two-sided confidence level in (0.5, 1), e.g. 0.95: decide on each slice's bootstrap interval instead of
        its point value (see ``guardband``). Without it every slice still gets a 95 % interval in the report,
        for reading only.
    guardband : {"proven_harm", "proven_safe"}, optional
        As in a metric rule. Default ``proven_safe`` for ``op`` / ``value`` (each slice's interval must meet the
        limit), ``proven_harm`` for ``max_drop`` (a slice fails only when its whole interval of the gap lies
        beyond ``max_drop``).
    inconclusive : {"block", "warn", "pass"}, optional
        With ``confidence``: what a counted slice whose interval straddles the limit costs (its outcome is
        ``inconclusive``). Default: ``pass`` under ``proven_harm`` (not proven harm), the rule's ``on_fail`` under
        ``proven_safe``, as in a metric rule.
    insufficient_data : {"block", "warn", "pass"}, optional
        With ``confidence``: what a straddling slice costs when its rows could not have shown the margin: on a
        ``max_drop`` rule, the smallest gap its rows can show at this confidence and ``power`` is larger than
        ``max_drop`` (a zero-width interval too). Default: the rule's ``on_fail``.
    power : float, optional
        With ``confidence``: target power of each slice's minimum detectable effect and rows-needed figure
        (default 0.8).
    multiplicity : {"none", "holm", "bonferroni"}, optional
        With ``confidence``: control the chance that *any* slice is shown broken while every slice truly meets the
        limit. A rule over ``m`` slices is ``m`` tests: at 95 % each side of each errs 2.5 %, so 20 fine slices show
        one "broken" with probability up to 1 - 0.975^20, about 40 %. ``holm`` (Holm 1979) or ``bonferroni`` adjust
        the slices' one-sided p-values of harm over the counted slices; a slice is disproven only when its adjusted
        p-value is at most ``(1 - confidence) / 2`` (else it is ``inconclusive``, priced by ``inconclusive:``).
        Proving every slice safe needs no adjustment (each must be proven on its own: the intersection-union test,
        Berger 1982). Default ``none`` (each slice at the rule's confidence, as before).
    resamples : int, optional
        Bootstrap resamples of the intervals (at least 200; default 2000 with ``confidence``, as metric rules,
        and 1000 for intervals only shown). Each resample draws once per row, and a metric without a vectorised
        kernel (``pr_auc``, the percentage errors, ...) is recomputed on each resample of each slice: fewer
        resamples make the intervals faster and coarser.
    seed : int, optional
        Bootstrap seed (recorded in the report).
    on_fail : {"block", "warn"}
        Severity; default ``block`` (fail closed).
    name : str, optional
        The check's name in the report (default ``<metric> by <columns>``).
    description : str, optional
        Why the rule exists; shown in the report.

    Raises
    ------
    pydantic.ValidationError
        An unknown metric or one not computed from rows per slice, bad metric parameters, both or neither of
        ``op`` / ``value`` and ``max_drop``, ``max_drop`` on a metric of no direction, bins on a column not in
        ``by``, bin edges that do not increase, ``guardband``, ``inconclusive``, ``insufficient_data``, ``power`` or
        ``multiplicity`` without ``confidence``, ``confidence`` with ``==`` / ``!=``.
    """

    metric: str = Field(min_length=1)
    by: list[str] = Field(min_length=1)
    bins: dict[str, list[Annotated[float, Field(allow_inf_nan=True)]] | Literal["categories"]] = Field(
        default_factory=dict)
    min_rows: int = Field(default=DEFAULT_MIN_ROWS, ge=1)
    small_slices: Literal["exclude", "block"] = "exclude"
    params: dict[str, Any] = Field(default_factory=dict)
    op: str | None = None
    value: float | None = None
    max_drop: float | None = Field(default=None, ge=0)
    confidence: float | None = Field(default=None, gt=0.5, lt=1)
    guardband: Literal["proven_harm", "proven_safe"] | None = None
    inconclusive: Severity | None = None
    insufficient_data: Severity | None = None
    power: float | None = Field(default=None, gt=0.5, lt=1)
    multiplicity: Literal["none", "holm", "bonferroni"] | None = None
    resamples: int | None = Field(default=None, ge=200, le=100_000)
    seed: int | None = Field(default=None, ge=0)
    on_fail: OnFailField = OnFail.BLOCK
    name: str | None = Field(default=None, min_length=1)
    description: str | None = None

    @field_validator("by", mode="before", json_schema_input_type=str | list[str])
    @classmethod
    def _one_or_many(cls, v: Any) -> Any:
        return [v] if isinstance(v, str) else v

    @field_validator("by")
    @classmethod
    def _columns(cls, v: list[str]) -> list[str]:
        if any(not c for c in v):
            raise PydanticCustomError("slices", "a column name in by cannot be empty", {})
        if len(set(v)) != len(v):
            raise PydanticCustomError("slices", "by names a column twice ({cols}); name each column once",
                                      {"cols": ", ".join(v)})
        return v

    @field_validator("op")
    @classmethod
    def _op(cls, v: str | None) -> str | None:
        return v if v is None else check_op(v)

    @field_validator("metric")
    @classmethod
    def _metric(cls, v: str, info: ValidationInfo) -> str:
        registry = (info.context or {}).get("registry")
        if registry is None:
            return v
        res = registry.resolve(v)
        if res is None:
            raise unknown_metric(registry, v, " in slices")
        if res.spec.fn is None or res.spec.section not in SLICE_SECTIONS:
            why = ("it is not computed from the evaluation rows (it can only be read from a metrics file)"
                   if res.spec.fn is None else
                   {"fairness": "a fairness metric already compares groups (use it in a metrics: rule with params: "
                                "{sensitive: <column>})",
                    "rollout": "a shadow metric compares two models on the same rows, not a model on a segment"}.get(
                       res.spec.section, f"it is a figure of the {res.spec.section} section, not computed per row"))
            raise PydanticCustomError("slices", "{name} cannot be computed per slice, as {why}; slices take a "
                                      "performance metric (roc_auc, accuracy, rmse, precision_at_0_5, ...)",
                                      {"name": repr(v), "why": why})
        return v

    @field_validator("params")
    @classmethod
    def _params(cls, v: dict[str, Any], info: ValidationInfo) -> dict[str, Any]:
        registry = (info.context or {}).get("registry")
        name = info.data.get("metric")
        res = registry.resolve(name) if registry is not None and isinstance(name, str) else None
        if res is None:
            return v  # an unknown metric is reported by its own validator; without a registry, taken as written
        out: dict[str, Any] = {}
        for key, val in v.items():
            if key not in res.spec.params:
                allowed = ", ".join(res.spec.params) or "none"
                raise PydanticCustomError("slices", "metric {m} has no parameter {p} (allowed: {allowed})",
                                          {"m": repr(res.canonical), "p": repr(key), "allowed": allowed})
            if key in res.name_params:
                raise PydanticCustomError("slices", "parameter {p} is already set by the metric name {m}",
                                          {"p": repr(key), "m": repr(name)})
            try:
                out[key] = res.spec.params[key](val)
            except (ValueError, TypeError) as exc:
                raise PydanticCustomError("slices", "bad value {val} for parameter {p}: {msg}",
                                          {"val": repr(val), "p": repr(key), "msg": str(exc)}) from None
        return out

    @field_validator("bins")
    @classmethod
    def _bins(cls, v: dict[str, Any]) -> dict[str, Any]:
        return check_bins_map(v, "slices", "bins.")

    @model_validator(mode="after")
    def _one_form(self, info: ValidationInfo) -> SliceRule:
        stray = [c for c in self.bins if c not in self.by]
        if stray:
            raise PydanticCustomError("slices", "bins names {cols}, which by does not list ({by}); bin only the "
                                      "columns the rule slices by", {"cols": ", ".join(map(repr, stray)),
                                                                      "by": ", ".join(self.by)})
        absolute = self.op is not None or self.value is not None
        if absolute and self.max_drop is not None:
            raise PydanticCustomError("rule_form", "a slice rule is either op + value (every slice meets it) or "
                                      "max_drop (no slice falls further below the whole), not both; write two rules",
                                      {})
        if self.max_drop is None and (self.op is None or self.value is None):
            raise PydanticCustomError("rule_form", "a slice rule needs op and value (e.g. op: '>=', value: 0.7: the "
                                      "worst slice decides) or max_drop (the largest gap of a slice from the whole)",
                                      {})
        registry = (info.context or {}).get("registry")
        res = registry.resolve(self.metric) if registry is not None else None
        if self.max_drop is not None and res is not None and res.spec.higher_is_better is None:
            raise PydanticCustomError("slices", "{name} has no direction (higher is not better or worse), so a drop "
                                      "from the whole is not defined; use op and value", {"name": repr(self.metric)})
        if self.confidence is None:
            given = [k for k in ("guardband", "inconclusive", "insufficient_data", "power", "multiplicity")
                     if getattr(self, k) is not None]
            if given:
                raise PydanticCustomError("confidence", "{keys} only {verb} with confidence (e.g. confidence: 0.95)",
                                          {"keys": ", ".join(given), "verb": "applies" if len(given) == 1 else "apply"})
        elif self.op in ("==", "!="):
            raise PydanticCustomError("confidence", "confidence needs a one-sided rule (>=, >, <=, <), not {op}",
                                      {"op": self.op})
        return self

    @property
    def hypothesis(self) -> str:
        """The rule's framing under ``confidence``: its ``guardband``, else the default.

        The default is ``proven_harm`` for ``max_drop`` and ``proven_safe`` for ``op`` / ``value``.
        """
        return self.guardband or ("proven_harm" if self.max_drop is not None else "proven_safe")

    def severities(self) -> dict[str, str]:
        """Return the severity of an ``inconclusive`` and an ``insufficient_data`` slice, defaults applied.

        :func:`gatekit.policy.specs.metrics.outcome_severities`, as for metric rules.
        """
        return outcome_severities(self.hypothesis, self.on_fail, self.inconclusive, self.insufficient_data)

    @property
    def check_name(self) -> str:
        """Name of the rule's check: its ``name``, else ``<metric> by <column> x <column>``."""
        return self.name or f"{self.metric} by {' x '.join(self.by)}"
