"""Typed policy spec (pydantic v2). Structure only; semantic checks live in :mod:`gatekit.policy.loader`.

Every model forbids unknown keys and uses strict types (``"0.9"`` is not a number, ``1`` is not a
boolean), so a typo never silently turns a rule off.
"""

from __future__ import annotations

import difflib
import reprlib
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationInfo, field_validator, model_validator
from pydantic_core import PydanticCustomError

from gatekit.policy.expressions import OPS, ExpressionError, comparisons, parse
from gatekit.core.results import OnFail

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


RELATIVE_KEYS = ("max_drop", "max_drop_pct", "max_increase", "max_increase_pct", "within", "within_pct")
"""The keys of a baseline-relative rule (one per rule)."""

GUARDBANDS = ("proven_harm", "proven_safe")


class AlertSpec(Spec):
    """Alert on repeated failures: a rule that failed in ``after`` of the last ``within`` runs of the policy.

    The current run counts as one of the ``within`` runs and must itself have failed (an alert fires on a
    failure, never on a pass). A failure is any status but ``pass`` and ``skipped`` (fail closed:
    ``error`` and ``not_computable`` count). Runs are those of the same policy name in the history store,
    any version.

    Parameters
    ----------
    after : int
        Failures needed, 1 <= after <= within (e.g. 3).
    within : int
        Window of most recent runs, current included (e.g. 5), at most 1000.

    Raises
    ------
    pydantic.ValidationError
        ``after`` greater than ``within``.
    """

    after: int = Field(ge=1)
    within: int = Field(ge=1, le=1000)

    @model_validator(mode="after")
    def _order(self) -> AlertSpec:
        if self.after > self.within:
            raise PydanticCustomError("alert", "alert.after ({after}) cannot exceed alert.within ({within}): "
                                      "it counts failures among the last `within` runs",
                                      {"after": self.after, "within": self.within})
        return self


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
        return v if v is None else _check_op(v)

    @field_validator("name")
    @classmethod
    def _name(cls, v: str, info: ValidationInfo) -> str:
        registry = (info.context or {}).get("registry")
        if registry is not None and registry.resolve(v) is None:
            raise _unknown_metric(registry, v, "")
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
    alert : AlertSpec, optional
        Alert when this gate failed in ``after`` of the last ``within`` runs.
    """

    gate: str = Field(min_length=1)
    require: str = Field(min_length=1)
    on_fail: OnFailField = OnFail.BLOCK
    description: str | None = None
    alert: AlertSpec | None = None

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
    """Allowed model artifact formats, detected from the file's content (never its extension).

    Parameters
    ----------
    allowed : list of str
        Any of ``onnx``, ``skops``, ``joblib``, ``pickle`` (any protocol) and ``pickle_v0`` ..
        ``pickle_v5`` (one pickle protocol), e.g. ``["onnx", "skops"]``.
    on_fail : {"block", "warn"}, optional
        Default: the section's.
    """

    allowed: list[str] = Field(min_length=1)
    on_fail: OnFailField | None = None

    @field_validator("allowed")
    @classmethod
    def _known(cls, v: list[str]) -> list[str]:
        from gatekit.model.formats import KNOWN_FORMAT_NAMES

        for name in v:
            if name not in KNOWN_FORMAT_NAMES:
                close = difflib.get_close_matches(name, KNOWN_FORMAT_NAMES, n=1, cutoff=0.5)
                hint = f"; did you mean {close[0]!r}?" if close else ""
                raise PydanticCustomError("model_format", "unknown model format {name}{hint} Known: {known}",
                                          {"name": repr(name), "hint": hint or ".",
                                           "known": ", ".join(KNOWN_FORMAT_NAMES)})
        return v


def _logical_type(v: Any) -> str:
    from gatekit.data.logical_types import normalize_type

    if not isinstance(v, str):
        raise PydanticCustomError("type_name", "a type must be a name such as float, not {v}", {"v": repr(v)})
    try:
        return normalize_type(v)
    except ValueError as exc:
        raise PydanticCustomError("type_name", "{msg}", {"msg": str(exc)}) from None


LogicalType = Annotated[str, BeforeValidator(_logical_type)]
"""A logical column type (:mod:`gatekit.data.logical_types`), aliases such as ``str`` or ``int`` accepted."""


class FeatureSignatureSpec(Spec):
    """Feature-signature compatibility between what the data producer sends and what the candidate expects.

    Parameters
    ----------
    mode : {"strict", "backward"}
        ``strict``: the candidate expects exactly the expected features (names and logical types).
        ``backward``: the candidate may drop nothing the expected signature has, may not change a type
        (integer -> float widening allowed), and every feature it adds needs a default.
    expected : dict of str to type, optional
        The producer's / production model's signature, e.g. ``{item_id: str, price: float}``.
    expected_file : str, optional
        A signature file (relative to the policy): a JSON / YAML mapping of name to type, or an MLflow
        ``MLmodel`` file.
    expected_model : str, optional
        The production model artifact (relative to the policy); its input signature is the expected one.
    candidate : dict of str to type, optional
        The candidate's declared input signature, when the artifact does not name its inputs (default:
        read from the candidate model: ONNX graph inputs, MLflow ``MLmodel``, scikit-learn
        ``feature_names_in_`` with types from the evaluation data).
    defaults : dict, optional
        Defaults for features the candidate adds (``{discount_rate: 0.0}``).
    validate_data : bool
        Also validate the evaluation data against the candidate's signature with pandera (default true).
    on_fail : {"block", "warn"}, optional
        Default: the section's.
    """

    mode: Annotated[Literal["strict", "backward"],
                    BeforeValidator(lambda v: "backward" if v == "compatible" else v,
                                    json_schema_input_type=Literal["strict", "backward", "compatible"])] = "strict"
    expected: dict[str, LogicalType] | None = Field(default=None, min_length=1)
    expected_file: str | None = None
    expected_model: str | None = None
    candidate: dict[str, LogicalType] | None = Field(default=None, min_length=1)
    defaults: dict[str, Any] = Field(default_factory=dict)
    validate_data: bool = True
    on_fail: OnFailField | None = None

    @model_validator(mode="after")
    def _one_source(self) -> FeatureSignatureSpec:
        """Refuse two expected signatures (one would be ignored silently) and defaults of None."""
        given = [k for k in ("expected", "expected_file", "expected_model") if getattr(self, k) is not None]
        if len(given) > 1:
            raise PydanticCustomError("signature_source", "give one expected signature, not {given}",
                                      {"given": " and ".join(given)})
        nulls = [k for k, v in self.defaults.items() if v is None]
        if nulls:
            raise PydanticCustomError("defaults", "defaults {names} are null; a default must be a value the model "
                                      "can take", {"names": ", ".join(map(repr, nulls))})
        return self


def _signature_shorthand(v: Any) -> Any:
    if v == "off":
        return None
    if v == "compatible":  # the seed's word for backward compatibility
        return {"mode": "backward"}
    if isinstance(v, str) and v in ("strict", "backward"):
        return {"mode": v}
    return v


class CompatibilitySpec(Spec):
    """Feature-signature and model-format compatibility (pandera + artifact inspection).

    Parameters
    ----------
    feature_signature : FeatureSignatureSpec or {"strict", "backward", "compatible", "off"}, optional
        A mode name alone means: expected = the evaluation data's columns and types.
    model_format : ModelFormatSpec, optional
    on_fail : {"block", "warn"}
        Default ``block``.
    """

    feature_signature: Annotated[
        FeatureSignatureSpec | None,
        BeforeValidator(_signature_shorthand, json_schema_input_type=FeatureSignatureSpec | Literal[
            "strict", "backward", "compatible", "off"] | None)] = None
    model_format: ModelFormatSpec | None = None
    on_fail: OnFailField = OnFail.BLOCK

    def rule_count(self) -> int:
        """Return the number of rules this section evaluates."""
        return (self.feature_signature is not None) + (self.model_format is not None)


def _refuse_repeats(v: list[str] | None) -> list[str] | None:
    if v:
        twice = sorted({c for c in v if v.count(c) > 1})
        if twice:
            raise PydanticCustomError("duplicate", "column(s) {c} listed more than once",
                                      {"c": ", ".join(map(repr, twice))})
    return v


DriftMethod = Literal["psi", "jensenshannon", "ks", "wasserstein", "chisquare"]
NUMERICAL_METHODS = ("psi", "jensenshannon", "ks", "wasserstein")
CATEGORICAL_METHODS = ("psi", "jensenshannon", "chisquare")
P_VALUE_METHODS = ("ks", "chisquare")
DEFAULT_DRIFT_THRESHOLDS = {"psi": 0.2, "jensenshannon": 0.1, "wasserstein": 0.1, "ks": 0.05, "chisquare": 0.05}


class DriftRule(Spec):
    """How one column (or one column type) is compared.

    Parameters
    ----------
    method : {"psi", "jensenshannon", "ks", "wasserstein", "chisquare"}, optional
        ``psi``: population stability index (gatekit's reference-quantile bins, or evidently's with
        ``psi.binning: evidently``); ``jensenshannon``: Jensen-Shannon distance; ``wasserstein``:
        Wasserstein distance normed by the reference's standard deviation; ``ks``: two-sample
        Kolmogorov-Smirnov p-value; ``chisquare``: chi-square p-value (categorical). All but gatekit's PSI
        are computed by evidently.
    threshold : float, optional
        Distances pass when ``score <= threshold``; p-values pass when ``p >= threshold``. Defaults:
        psi 0.2, jensenshannon 0.1, wasserstein 0.1, ks 0.05, chisquare 0.05.
    on_fail : {"block", "warn"}, optional
        Default: the section's.
    """

    method: DriftMethod | None = None
    threshold: float | None = Field(default=None, ge=0)
    on_fail: OnFailField | None = None


class PsiSpec(Spec):
    """PSI definition (recorded in the report with the bin edges).

    Parameters
    ----------
    bins : int
        Reference-quantile bins before duplicate edges are removed (default 10).
    binning : {"quantile", "evidently"}
        ``quantile``: the textbook credit-risk form, computed by gatekit; ``evidently``: evidently's own
        (equal-width bins over reference and current together).
    smoothing : float
        Share given to an empty bin (default 1e-4).
    """

    bins: int = Field(default=10, ge=2, le=1000)
    binning: Literal["quantile", "evidently"] = "quantile"
    smoothing: float = Field(default=1e-4, gt=0, lt=0.01)


class LeakageSpec(Spec):
    """Label-leakage scan: how well each feature alone predicts the target on the evaluation data.

    Parameters
    ----------
    auc : float
        Binary target: flag a feature whose single-feature ROC AUC, folded to ``max(AUC, 1 - AUC)``,
        exceeds this (default 0.9). A categorical feature is scored through its out-of-fold target mean.
    spearman : float
        Regression target: flag a feature whose absolute Spearman correlation with the target exceeds
        this (default 0.95); categorical features through their out-of-fold target mean.
    min_pairs : int
        Fewer valid (feature, target) rows -> not computable, never "no leakage" (default 30).
    features : list of str, optional
        Default: the drift features.
    on_fail : {"block", "warn"}, optional
        Default: the section's.
    """

    auc: float = Field(default=0.9, ge=0.5, le=1)
    spearman: float = Field(default=0.95, ge=0, le=1)
    min_pairs: int = Field(default=30, ge=2)
    features: list[str] | None = None
    on_fail: OnFailField | None = None

    @field_validator("features")
    @classmethod
    def _no_repeats(cls, v: list[str] | None) -> list[str] | None:
        """Refuse a column listed twice."""
        return _refuse_repeats(v)


class DriftSpec(Spec):
    """Feature drift between reference (training) and current (evaluation) data, per feature.

    Parameters
    ----------
    method, threshold : optional
        Shorthand: one method and threshold for every column (the method must suit both types).
    numerical, categorical : DriftRule, optional
        Defaults per column type (default psi 0.2 for both: distances, since p-values of large samples
        flag negligible shifts).
    columns : dict of str to DriftRule
        Per-column overrides.
    features : list of str, optional
        Columns compared; default every column both frames have, less the target, score, prediction.
    numerical_features, categorical_features : list of str, optional
        Column types, when the stored type is not what the column means (an integer code that is a
        category). Default: from the logical type (integer / float -> numerical; string, category,
        boolean -> categorical). The lists given to evidently are always explicit.
    reference : str, optional
        Reference data for this section (relative to the policy); default ``inputs.reference``.
    psi : PsiSpec
    leakage : LeakageSpec, optional
    evidently_report : bool or "auto"
        Save evidently's own HTML drift report beside gatekit's; ``auto`` (default): when both frames
        have at most 200,000 rows (evidently takes seconds per column at a million rows).
    on_fail : {"block", "warn"}
        Default ``warn``.
    """

    method: DriftMethod | None = None
    threshold: float | None = Field(default=None, ge=0)
    numerical: DriftRule | None = None
    categorical: DriftRule | None = None
    columns: dict[str, DriftRule] = Field(default_factory=dict)
    features: list[str] | None = Field(default=None, min_length=1)
    numerical_features: list[str] = Field(default_factory=list)
    categorical_features: list[str] = Field(default_factory=list)
    reference: str | None = None
    psi: PsiSpec = Field(default_factory=PsiSpec)
    leakage: LeakageSpec | None = None
    evidently_report: bool | Literal["auto"] = "auto"
    on_fail: OnFailField = OnFail.WARN

    @field_validator("numerical", "categorical")
    @classmethod
    def _method_fits_type(cls, rule: DriftRule | None, info: ValidationInfo) -> DriftRule | None:
        """Refuse a default method that does not apply to its column type (reported at its own line)."""
        allowed = NUMERICAL_METHODS if info.field_name == "numerical" else CATEGORICAL_METHODS
        if rule is not None and rule.method is not None and rule.method not in allowed:
            raise PydanticCustomError("drift_method", "{m} does not apply to {kind} columns; use one of {ok}",
                                      {"m": rule.method, "kind": info.field_name, "ok": ", ".join(allowed)})
        return rule

    @field_validator("features", "numerical_features", "categorical_features")
    @classmethod
    def _no_repeats(cls, v: list[str] | None) -> list[str] | None:
        """Refuse a column listed twice (it would count twice in drift_share)."""
        return _refuse_repeats(v)

    @model_validator(mode="after")
    def _types_once(self) -> DriftSpec:
        """Refuse a column listed as both numerical and categorical."""
        both = set(self.numerical_features) & set(self.categorical_features)
        if both:
            raise PydanticCustomError("drift_types", "column(s) {c} are listed as both numerical and categorical",
                                      {"c": ", ".join(sorted(both))})
        return self


Scalar = str | int | float | bool


class ColumnRules(Spec):
    """Rules on one column of the evaluation data. Each rule given becomes one Great Expectations expectation.

    Parameters
    ----------
    type : str, optional
        Logical type (:mod:`gatekit.data.logical_types`): integer, float, number, string, boolean, datetime,
        category. Great Expectations: gatekit's ``expect_column_logical_type_to_be``.
    timezone : str, optional
        Required with ``type: datetime``: ``naive``, ``aware``, ``UTC`` or an IANA zone name.
    required : bool
        The column must be present (default true). ``expect_column_to_exist``.
    max_null_fraction : float, optional
        At most this fraction of rows may be null (0 = no nulls). ``expect_column_values_to_not_be_null``
        with ``mostly = 1 - max_null_fraction``.
    min, max : float, optional
        Inclusive range of the non-null values. ``expect_column_values_to_be_between`` with ``mostly``.
    allowed : list, optional
        The allowed values. ``expect_column_values_to_be_in_set`` with ``mostly``.
    mostly : float
        Fraction of the non-null values that must meet ``min``/``max``/``allowed`` (default 1.0, as in
        Great Expectations).
    max_distinct : int, optional
        At most this many distinct values (category explosion).
        ``expect_column_unique_value_count_to_be_between``.
    max_unseen_share : float, optional
        At most this fraction of the non-null values may be values never seen in the reference data
        (``inputs.reference``). ``expect_column_values_to_be_in_set`` over the reference's values with
        ``mostly = 1 - max_unseen_share``.
    unique : bool
        Every non-null value is distinct (id columns). ``expect_column_values_to_be_unique``.
    on_fail : {"block", "warn"}, optional
        Default: the section's.
    description : str, optional
    """

    type: LogicalType | None = None
    timezone: str | None = None
    required: bool = True
    max_null_fraction: float | None = Field(default=None, ge=0, le=1)
    min: float | None = None
    max: float | None = None
    allowed: list[Scalar] | None = Field(default=None, min_length=1)
    mostly: float = Field(default=1.0, gt=0, le=1)
    max_distinct: int | None = Field(default=None, ge=1)
    max_unseen_share: float | None = Field(default=None, ge=0, le=1)
    unique: bool = False
    on_fail: OnFailField | None = None
    description: str | None = None

    @field_validator("timezone")
    @classmethod
    def _tz(cls, v: str | None, info: ValidationInfo) -> str | None:
        from gatekit.data.logical_types import check_timezone_rule

        if v is None:
            return v
        if info.data.get("type") != "datetime":
            raise PydanticCustomError("timezone", "timezone applies only to type: datetime", {})
        try:
            return check_timezone_rule(v)
        except ValueError as exc:
            raise PydanticCustomError("timezone", "{msg}", {"msg": str(exc)}) from None

    @field_validator("max")
    @classmethod
    def _range(cls, v: float | None, info: ValidationInfo) -> float | None:
        lo = info.data.get("min")
        if v is not None and lo is not None and lo > v:
            raise PydanticCustomError("range", "min {lo} is greater than max {hi}", {"lo": lo, "hi": v})
        return v

    @model_validator(mode="after")
    def _datetime_needs_tz(self) -> ColumnRules:
        """Require a time-zone rule for datetime columns (explicit, never assumed)."""
        if self.type == "datetime" and self.timezone is None:
            raise PydanticCustomError("timezone", "type: datetime needs timezone: naive, aware, UTC or a zone name "
                                      "such as Europe/Berlin", {})
        return self


class RowCountSpec(Spec):
    """Bounds on the number of rows of the evaluation data (``expect_table_row_count_to_be_between``)."""

    min: int | None = Field(default=None, ge=0)
    max: int | None = Field(default=None, ge=0)
    on_fail: OnFailField | None = None

    @model_validator(mode="after")
    def _bounded(self) -> RowCountSpec:
        """Require at least one bound, and min <= max."""
        if self.min is None and self.max is None:
            raise PydanticCustomError("row_count", "row_count needs min, max or both", {})
        if self.min is not None and self.max is not None and self.min > self.max:
            raise PydanticCustomError("row_count", "row_count min {lo} is greater than max {hi}",
                                      {"lo": self.min, "hi": self.max})
        return self


class ExpectationRule(Spec):
    """Any Great Expectations expectation, built-in or custom (``expectations/``), by its snake_case name.

    Parameters
    ----------
    type : str
        The expectation's name, e.g. ``expect_column_values_to_match_regex`` or a custom one such as
        ``expect_column_values_to_not_contain_pii``.
    kwargs : dict
        Its arguments, exactly as Great Expectations names them (``column``, ``mostly``, ...).
    name : str, optional
        Check name in the report; default ``<type>(<column>)``.
    on_fail : {"block", "warn"}, optional
        Default: the section's.
    description : str, optional
    """

    type: str = Field(pattern=r"^expect_[a-z0-9_]+$")
    kwargs: dict[str, Any] = Field(default_factory=dict)
    name: str | None = Field(default=None, min_length=1)
    on_fail: OnFailField | None = None
    description: str | None = None


class SuiteRef(Spec):
    """A Great Expectations suite JSON file, run as is (relative to the policy)."""

    path: str = Field(min_length=1)
    on_fail: OnFailField | None = None


def _suite_shorthand(v: Any) -> Any:
    return [{"path": x} if isinstance(x, str) else x for x in v] if isinstance(v, list) else v


class DataQualitySpec(Spec):
    """Data quality rules on the evaluation data, run on Great Expectations (in memory, nothing on disk).

    Parameters
    ----------
    columns : dict of str to ColumnRules
        Per-column rules, keyed by column name.
    required_columns : list of str
        Columns that must be present (shorthand for ``columns: {c: {}}``).
    row_count : RowCountSpec, optional
        Row count bounds; ``min_rows`` is a shorthand for ``row_count: {min: n}``.
    max_null_fraction : float, optional
        Null limit for every column of the data that has no ``max_null_fraction`` of its own.
    expectations : list of ExpectationRule
        Further expectations, built-in or custom, by name.
    suites : list of str or SuiteRef
        Great Expectations suite JSON files to run as they are.
    expectations_dir : str, optional
        Folder of custom expectations (relative to the policy). Default: the first ``expectations/``
        folder found beside the policy, in its parent folder, or in the current directory.
    on_fail : {"block", "warn"}
        Default severity of the section's rules (``block``).
    """

    columns: dict[str, ColumnRules] = Field(default_factory=dict)
    required_columns: list[str] = Field(default_factory=list)
    row_count: RowCountSpec | None = None
    min_rows: int | None = Field(default=None, ge=0)
    max_null_fraction: float | None = Field(default=None, ge=0, le=1)
    expectations: list[ExpectationRule] = Field(default_factory=list)
    suites: Annotated[list[SuiteRef],
                      BeforeValidator(_suite_shorthand, json_schema_input_type=list[SuiteRef | str])] = Field(
        default_factory=list)
    expectations_dir: str | None = None
    on_fail: OnFailField = OnFail.BLOCK

    @model_validator(mode="after")
    def _no_contradictions(self) -> DataQualitySpec:
        """Refuse two spellings of one rule that disagree (one would be ignored silently)."""
        if self.min_rows is not None and self.row_count is not None:
            raise PydanticCustomError("row_count", "give row_count: {{min: {n}}} or min_rows, not both (min_rows is "
                                      "row_count's shorthand)", {"n": self.min_rows})
        optional = [c for c in self.required_columns if c in self.columns and not self.columns[c].required]
        if optional:
            raise PydanticCustomError("required", "column(s) {cols} are in required_columns but say required: false "
                                      "under columns:; choose one", {"cols": ", ".join(map(repr, optional))})
        return self

    def rule_count(self) -> int:
        """Return the number of rules given (a section without rules is not a gate)."""
        return (len(self.columns) + len(self.required_columns) + (self.row_count is not None)
                + (self.min_rows is not None) + (self.max_null_fraction is not None) + len(self.expectations)
                + len(self.suites))


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
        JSON file of the production model's metrics, ``{"latency_p95_ms": 41.2, ...}``.
    """

    score: str | None = None
    prediction: str | None = None
    model: str | None = None
    model_sha256: str | None = Field(default=None, pattern=r"^[0-9a-fA-F]{64}$")
    trust_model: bool = False
    metrics: str | None = None

    @model_validator(mode="after")
    def _one_output(self) -> BaselineSpec:
        given = [k for k in ("score", "prediction", "model") if getattr(self, k) is not None]
        if len(given) > 1:
            raise PydanticCustomError("baseline", "give one of baseline score, prediction and model, not {keys}",
                                      {"keys": " and ".join(given)})
        if not given and self.metrics is None:
            raise PydanticCustomError("baseline", "a baseline needs score, prediction, model or metrics", {})
        return self


class CanarySpec(Spec):
    """A canary traffic log: rows served by the candidate or by production, with their outcomes.

    Each rule compares the candidate arm with the production arm (unpaired: different rows), by a
    percentile bootstrap that resamples each arm on its own, stratified by class.

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
        Column holding the served model's score (or label); one of them.
    sensitive : str or list of str
        Sensitive columns for fairness rules.
    min_rows_per_arm : int
        Fewer rows in an arm make every rule not computable (too small to decide); default 100.
    rules : list of MetricRule
        Baseline-relative rules (``max_drop``, ``max_increase``, ``within`` and their ``_pct`` forms).
    """

    data: str
    arm: str = "arm"
    candidate_arm: str | int | bool = "candidate"
    baseline_arm: str | int | bool = "production"
    target: str
    positive_label: str | int | bool | None = None
    score: str | None = None
    prediction: str | None = None
    sensitive: list[str] = Field(default_factory=list)
    min_rows_per_arm: int = Field(default=100, ge=2)
    rules: list[MetricRule] = Field(min_length=1)

    @field_validator("sensitive", mode="before", json_schema_input_type=str | list[str])
    @classmethod
    def _one_or_many(cls, v: Any) -> Any:
        return [v] if isinstance(v, str) else v

    @model_validator(mode="after")
    def _checks(self, info: ValidationInfo) -> CanarySpec:
        if (self.score is None) == (self.prediction is None):
            raise PydanticCustomError("canary", "give one of canary score and prediction (the served model's "
                                      "output column)", {})
        if self.candidate_arm == self.baseline_arm:
            raise PydanticCustomError("canary", "candidate_arm and baseline_arm must differ", {})
        absolute = [r.name for r in self.rules if r.relative is None]
        if absolute:
            raise PydanticCustomError("canary", "canary rules compare the two arms: use max_drop, max_increase or "
                                      "within (or their _pct forms), not op/value ({names})",
                                      {"names": ", ".join(absolute)})
        registry = (info.context or {}).get("registry")
        for r in self.rules:
            res = registry.resolve(r.name) if registry is not None else None
            if res is not None and (res.spec.fn is None or res.spec.section == "rollout"):
                raise PydanticCustomError(
                    "canary", "{name} cannot be compared between canary arms: {why}",
                    {"name": repr(r.name), "why": "it is not computed from rows" if res.spec.fn is None
                     else "a shadow metric compares two models on the same rows"})
        delong = [r.name for r in self.rules if r.interval == "delong"]
        if delong:
            raise PydanticCustomError("canary", "the arms hold different rows, so DeLong's paired test does not "
                                      "apply; use interval: bootstrap ({names})", {"names": ", ".join(delong)})
        return self


class OperationalSpec(Spec):
    """How gatekit measures the model's operational figures (see :mod:`gatekit.model.serving`).

    The figures are metric names for ``metrics:`` rules: ``latency_p50_ms``, ``latency_p95_ms``,
    ``latency_p99_ms``, ``batch_time_s``, ``throughput_rows_per_s``, ``peak_memory_mb``. They are
    measured whenever a rule asks for them and a model artifact is given (the candidate's, and the
    production model's for a baseline-relative rule); without one, a metrics file supplies them.

    Parameters
    ----------
    requests : int
        Single-row calls timed (default 400: enough for p95; p99 needs 2000; at most 100,000).
    warmup : int
        Untimed calls first (default 20; at most 10,000).
    percentile_method : {"nearest_rank", "linear"}
        Default ``nearest_rank``.
    batch_rows : int, optional
        Rows in the timed batch, at most 5,000,000 (about 8 GB for an ONNX feed of 12 columns);
        default the evaluation rows (drawn with replacement when larger).
    repeats : int
        Batch calls timed; the median counts (default 3).
    latency_samples, baseline_latency_samples : str, optional
        A load test's samples, ``{"latency_ms": [...]}`` (relative to the policy), used instead of
        measuring the candidate's (the production model's) online latency.
    """

    requests: int = Field(default=400, ge=1, le=100_000)
    warmup: int = Field(default=20, ge=0, le=10_000)
    percentile_method: Literal["nearest_rank", "linear"] = "nearest_rank"
    batch_rows: int | None = Field(default=None, ge=1, le=5_000_000)
    repeats: int = Field(default=3, ge=1, le=100)
    latency_samples: str | None = None
    baseline_latency_samples: str | None = None


class SignatureSpec(Spec):
    """A detached Ed25519 signature over the model file's bytes (paths relative to the policy).

    Parameters
    ----------
    file : str
        The signature: 64 raw bytes, or their base64 / hex text.
    public_key : str
        The signer's public key: a PEM ``PUBLIC KEY`` file, or the raw 32-byte key as base64 / hex text.
    required : bool
        A missing or invalid signature fails the check (default true); false reports it only.
    """

    file: str
    public_key: str
    required: bool = True


class MetadataSpec(Spec):
    """The model card / metadata file the artifact must come with (YAML or JSON, relative to the policy).

    Parameters
    ----------
    file : str
        The candidate's metadata file.
    required_fields : list of str
        Fields that must be present and non-empty; dotted names reach into mappings (``training.data_sha256``).
    version_field : str
        Field holding the model's version (default ``version``).
    greater_than_production : bool
        The version must be greater than the production model's (PEP 440 ordering, which orders plain
        ``X.Y.Z`` semantic versions as SemVer does).
    production_file : str, optional
        The production model's metadata file (its ``version_field``).
    production_version : str, optional
        The production version, given directly.
    """

    file: str
    required_fields: list[str] = Field(default_factory=list)
    version_field: str = "version"
    greater_than_production: bool = False
    production_file: str | None = None
    production_version: str | None = None

    @model_validator(mode="after")
    def _production_given(self) -> MetadataSpec:
        if self.greater_than_production and not (self.production_file or self.production_version):
            raise PydanticCustomError("metadata", "greater_than_production needs production_file or "
                                      "production_version", {})
        return self


class ArtifactSpec(Spec):
    """Integrity and provenance of the model artifact (``inputs.model``).

    Parameters
    ----------
    on_fail : {"block", "warn"}
        Severity of every check here (default block).
    sha256 : str, optional
        Expected sha256 of the model file (64 hex digits).
    signature : SignatureSpec, optional
        A detached Ed25519 signature that must verify with the given public key. A verified signature
        also allows a pickle / joblib model to be loaded.
    metadata : MetadataSpec, optional
        The model card's required fields and version.
    """

    on_fail: OnFailField = OnFail.BLOCK
    sha256: str | None = Field(default=None, pattern=r"^[0-9a-fA-F]{64}$")
    signature: SignatureSpec | None = None
    metadata: MetadataSpec | None = None

    def rule_count(self) -> int:
        """Return the number of rules given."""
        return (self.sha256 is not None) + (self.signature is not None) + (self.metadata is not None)


class PiiSpec(Spec):
    """Personal data that must not be in the evaluation data, the model's outputs or its metadata.

    Parameters
    ----------
    kinds : list of {"email", "phone", "card", "iban", "national_id"}
        What to look for (default all; see :mod:`gatekit.validators.pii`).
    national_ids : list of str
        python-stdnum modules for ``national_id`` (default ``[us.ssn]``; e.g. ``de.idnr``, ``nl.bsn``).
    scan : list of {"data", "outputs", "metadata"}
        Where to look (default all three).
    columns : list of str, optional
        Data columns to scan; default every text and numeric column.
    metadata_files : list of str
        More metadata files (YAML / JSON) to scan; ``artifact.metadata.file`` and an ONNX file's
        metadata are scanned anyway.
    max_values : int
        Values with personal data tolerated per place (default 0).
    """

    kinds: list[Literal["email", "phone", "card", "iban", "national_id"]] = Field(
        default_factory=lambda: ["email", "phone", "card", "iban", "national_id"], min_length=1)
    national_ids: list[str] = Field(default_factory=lambda: ["us.ssn"])
    scan: list[Literal["data", "outputs", "metadata"]] = Field(
        default_factory=lambda: ["data", "outputs", "metadata"], min_length=1)
    columns: list[str] | None = Field(default=None, min_length=1)
    metadata_files: list[str] = Field(default_factory=list)
    max_values: int = Field(default=0, ge=0)

    @field_validator("national_ids")
    @classmethod
    def _modules(cls, v: list[str]) -> list[str]:
        from gatekit.validators.pii import _stdnum

        for m in v:
            try:
                _stdnum(m)
            except ValueError as exc:
                raise PydanticCustomError("stdnum", "{why}", {"why": str(exc)}) from None
        return v


class LicenseSpec(Spec):
    """Licences of the model's runtime packages (see :mod:`gatekit.validators.licenses`).

    Parameters
    ----------
    requirements : str, optional
        The model's requirements file (relative to the policy); default every package installed in
        the environment gatekit runs in.
    allow, deny : list of str
        SPDX identifiers or shell patterns (``BSD-*``); deny wins. With an empty allow list, anything
        not denied is allowed.
    allow_unknown : bool
        Let a package whose licence cannot be read pass (default false: fail closed).
    """

    requirements: str | None = None
    allow: list[str] = Field(default_factory=list)
    deny: list[str] = Field(default_factory=list)
    allow_unknown: bool = False

    @model_validator(mode="after")
    def _lists(self) -> LicenseSpec:
        if not self.allow and not self.deny:
            raise PydanticCustomError("licenses", "give an allow list, a deny list, or both", {})
        return self


class SecuritySpec(Spec):
    """Security and compliance checks: personal data and licences.

    Parameters
    ----------
    on_fail : {"block", "warn"}
        Severity of every check here (default block).
    pii : PiiSpec, optional
    licenses : LicenseSpec, optional
    """

    on_fail: OnFailField = OnFail.BLOCK
    pii: PiiSpec | None = None
    licenses: LicenseSpec | None = None

    def rule_count(self) -> int:
        """Return the number of rules given."""
        return (len(self.pii.scan) if self.pii else 0) + (self.licenses is not None)


class NoiseSpec(Spec):
    """Gaussian noise at ``scale`` x each numeric feature's std (see :mod:`gatekit.model.perturbation`).

    Parameters
    ----------
    scale : float
        ``k`` (default 0.1).
    repeats : int
        Noisy scorings averaged (default 5).
    seed : int
        Seed of the noise (default 20261129).
    metric : str
        Metric whose degradation is gated (default ``auc_roc`` for a classifier, ``rmse`` otherwise).
    max_metric_drop : float, optional
        Largest tolerated degradation of the metric, in its unit.
    max_flip_rate : float, optional
        Largest tolerated share of rows whose predicted label flips (classifiers).
    """

    scale: float = Field(default=0.1, gt=0, le=10)
    repeats: int = Field(default=5, ge=1, le=1000)
    seed: int = Field(default=20261129, ge=0)
    metric: str | None = None
    max_metric_drop: float | None = Field(default=None, ge=0)
    max_flip_rate: float | None = Field(default=None, ge=0, le=1)

    @model_validator(mode="after")
    def _something(self, info: ValidationInfo) -> NoiseSpec:
        if self.max_metric_drop is None and self.max_flip_rate is None:
            raise PydanticCustomError("noise", "give max_metric_drop, max_flip_rate, or both", {})
        registry = (info.context or {}).get("registry")
        if self.metric is not None and registry is not None:
            res = registry.resolve(self.metric)
            if res is None:
                raise _unknown_metric(registry, self.metric, " in robustness.noise.metric")
            if res.spec.fn is None or res.spec.section not in ("performance",):
                raise PydanticCustomError("noise", "{m} is not a performance metric computed from rows",
                                          {"m": repr(self.metric)})
        return self


class OutOfRangeSpec(Spec):
    """Inputs outside what the model was trained on (see :mod:`gatekit.model.perturbation`).

    Parameters
    ----------
    cases : list of {"extreme", "missing", "unseen_category", "wrong_type"}
        Default all four.
    rows : int
        Evaluation rows per probe (default 200).
    extreme_factor : float
        Extreme values lie ``f`` ranges beyond the training range (default 10).
    seed : int
    """

    cases: list[Literal["extreme", "missing", "unseen_category", "wrong_type"]] = Field(
        default_factory=lambda: ["extreme", "missing", "unseen_category", "wrong_type"], min_length=1)
    rows: int = Field(default=200, ge=1, le=1_000_000)
    extreme_factor: float = Field(default=10.0, gt=0)
    seed: int = Field(default=20261129, ge=0)


class RobustnessSpec(Spec):
    """Robustness of the candidate model, probed by running it.

    Parameters
    ----------
    on_fail : {"block", "warn"}
    noise : NoiseSpec, optional
    out_of_range : OutOfRangeSpec, optional
    """

    on_fail: OnFailField = OnFail.BLOCK
    noise: NoiseSpec | None = None
    out_of_range: OutOfRangeSpec | None = None

    def rule_count(self) -> int:
        """Return the number of rules given."""
        n = 0
        if self.noise is not None:
            n += (self.noise.max_metric_drop is not None) + (self.noise.max_flip_rate is not None)
        return n + (len(self.out_of_range.cases) if self.out_of_range else 0)


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
    reference : str, optional
        Reference (training) data, ``.csv`` or ``.parquet``: the values data-quality rules compare with
        (``max_unseen_share``) and drift.
    task : {"classification", "regression"}, optional
        Declared problem type; inferred from the target when absent.
    baseline : BaselineSpec, optional
        The production model's results on the same rows (for baseline-relative rules and shadow metrics).
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
    reference: str | None = None
    task: Literal["classification", "regression"] | None = None
    baseline: BaselineSpec | None = None

    @field_validator("sensitive", mode="before", json_schema_input_type=str | list[str])
    @classmethod
    def _one_or_many(cls, v: Any) -> Any:
        return [v] if isinstance(v, str) else v


class Policy(Spec):
    """A gatekit policy (the YAML file), validated.

    Parameters
    ----------
    version : int or str
        The policy's own version (recorded in the report), e.g. ``1`` or ``"2.3.0"``.
    extends : str or list of str, optional
        Base policies merged under this one (relative to this file); see
        :func:`gatekit.policy.loader.merge_policies`. Resolved before validation, so never set here.
    name : str, optional
        Policy name; defaults to the file's stem.
    strict : bool
        Strict mode (default true): a block rule that is not a clean pass (error, not computable,
        skipped, missing) blocks.
    mode : {"enforce", "warn_only"}
        ``warn_only`` pilots the policy: the report says what would have blocked, ``gatekit run`` exits 0
        (as ``--warn-only``). Default ``enforce``.
    decision_threshold : float
        Score threshold for predicted labels (``score >= threshold``), default 0.5.
    inputs : InputsSpec, optional
    metrics : list of MetricRule
    gates : list of GateRule
    compatibility, drift, data_quality : optional
        Section specs (see their classes).
    canary : CanarySpec, optional
        A canary traffic log and the rules comparing its two arms.
    operational : OperationalSpec, optional
        How latency, batch time and memory are measured (defaults apply without it).
    artifact : ArtifactSpec, optional
        Model file hash, signature and metadata checks.
    security : SecuritySpec, optional
        Personal data and licence checks.
    robustness : RobustnessSpec, optional
        Noise sensitivity and out-of-range inputs.
    alert : AlertSpec, optional
        Default repeated-failure alert for every check of the policy; a metric rule's or gate's own
        ``alert:`` replaces it for that rule.
    """

    version: int | str
    extends: str | list[str] | None = None
    name: str | None = None
    description: str | None = None
    strict: bool = True
    mode: Literal["enforce", "warn_only"] = "enforce"
    decision_threshold: float = Field(default=0.5, ge=0, le=1)
    inputs: InputsSpec | None = None
    metrics: list[MetricRule] = Field(default_factory=list)
    gates: list[GateRule] = Field(default_factory=list)
    compatibility: CompatibilitySpec | None = None
    drift: DriftSpec | None = None
    data_quality: DataQualitySpec | None = None
    canary: CanarySpec | None = None
    operational: OperationalSpec | None = None
    artifact: ArtifactSpec | None = None
    security: SecuritySpec | None = None
    robustness: RobustnessSpec | None = None
    alert: AlertSpec | None = None
