"""The ``drift:`` section: feature, prediction and label drift between reference and current data, and leakage.

:class:`DriftRule`, :class:`PsiSpec`, :class:`LeakageSpec`, :class:`PredictionDriftSpec`,
:class:`LabelDriftSpec` and :class:`DriftSpec`, with the drift
method names, which of them suit numerical or categorical columns, which are p-values, and their
default thresholds.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, ValidationInfo, field_validator, model_validator
from pydantic_core import PydanticCustomError

from gatekit.core.results import OnFail
from gatekit.policy.specs.common import OnFailField, Spec


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


OutputSource = Literal["model", "reference_column"]


class PredictionDriftSpec(Spec):
    """Prediction drift: the candidate's output on the current rows against its output on the reference rows.

    Parameters
    ----------
    method : {"psi", "jensenshannon", "ks", "wasserstein", "chisquare"}, optional
        Default ``psi``. A score or forecast is numerical (psi, jensenshannon, ks, wasserstein); predicted
        classes are categorical (psi, jensenshannon, chisquare). A method that does not suit what is compared
        makes that check not computable, never a pass.
    threshold : float, optional
        As a :class:`DriftRule`'s (default: the method's, psi 0.2).
    on_fail : {"block", "warn"}, optional
        Default: the section's.
    source : {"model", "reference_column"}, optional
        Where the reference side's output comes from. ``model`` (the default): the candidate model scores the
        reference rows, the same way it scores the evaluation rows (on DuckDB and Spark in record batches
        where the rows are); ``reference_column``: a column of the reference data (``column``). A score
        column stored with the reference may come from an older model, so it is used only when asked for.
    column : str, optional
        ``source: reference_column``: the reference's column, or ``'prefix_*'`` for one probability column per
        class (multiclass). Default: the run's score or prediction column (``inputs.score`` /
        ``inputs.prediction``).
    """

    method: DriftMethod | None = None
    threshold: float | None = Field(default=None, ge=0)
    on_fail: OnFailField | None = None
    source: OutputSource | None = None
    column: str | None = Field(default=None, min_length=1)

    @model_validator(mode="after")
    def _column_needs_its_source(self) -> PredictionDriftSpec:
        """Refuse ``column`` with ``source: model`` (it would be silently unused)."""
        if self.column is not None and self.source == "model":
            raise PydanticCustomError("prediction_column", "column {c} is read only with source: reference_column "
                                      "(source: model scores the reference rows with the candidate model)",
                                      {"c": repr(self.column)})
        return self


class LabelDriftSpec(Spec):
    """Label drift: the target's distribution in the reference data against the current (evaluation) data.

    Parameters
    ----------
    method : {"psi", "jensenshannon", "ks", "wasserstein", "chisquare"}, optional
        Default ``psi``. A classification target is compared as class shares (psi, jensenshannon, chisquare), a
        regression target as numbers (psi, jensenshannon, ks, wasserstein).
    threshold : float, optional
        As a :class:`DriftRule`'s (default: the method's, psi 0.2).
    on_fail : {"block", "warn"}, optional
        Default: the section's.
    column : str, optional
        The reference's target column (default: the run's target, ``inputs.target``).
    """

    method: DriftMethod | None = None
    threshold: float | None = Field(default=None, ge=0)
    on_fail: OnFailField | None = None
    column: str | None = Field(default=None, min_length=1)


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
    prediction : PredictionDriftSpec, optional
        Prediction drift: the candidate's scores (binary), forecasts (regression), or predicted class shares and
        each class's probability (multiclass) on the current rows against the reference rows.
    label : LabelDriftSpec, optional
        Label drift: the target on the reference rows against the current rows (both must have it).
    evidently_report : bool or "auto"
        Save evidently's own HTML drift report beside gatekit's: ``false`` (default; it took about half of a
        small policy's run and 3.7 MB), ``true``, or ``auto``: when both frames have at most 200,000 rows
        (evidently takes seconds per column at a million rows).
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
    prediction: PredictionDriftSpec | None = None
    label: LabelDriftSpec | None = None
    evidently_report: bool | Literal["auto"] = False
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

    def rule_count(self) -> int:
        """Return the drift rules declared.

        One per column listed in ``features`` (one rule "every shared column" when none is listed: the
        columns are known only from the data), plus one each for the leakage scan, prediction drift and label
        drift. ``numerical_features``, ``categorical_features`` and ``columns`` refine how columns are compared,
        not which.
        """
        return ((len(set(self.features)) if self.features else 1)
                + sum(x is not None for x in (self.leakage, self.prediction, self.label)))
