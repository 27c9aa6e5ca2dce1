"""The ``data_quality:`` section: rules on the evaluation data, run on Great Expectations.

:class:`ColumnRules` (per-column rules), :class:`RowCountSpec`, :class:`ExpectationRule` (any
expectation by name), :class:`SuiteRef` (a suite file run as is) and :class:`DataQualitySpec`.
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BeforeValidator, Field, ValidationInfo, field_validator, model_validator
from pydantic_core import PydanticCustomError

from gatekit.core.results import OnFail
from gatekit.policy.specs.common import LogicalType, OnFailField, PathField, Spec

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
    """Any Great Expectations expectation, built-in or custom (``expectations_dir``), by its snake_case name.

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

    path: PathField
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
        Folder of custom expectations (relative to the policy file). Default: an ``expectations/`` folder
        beside the policy file itself (never its parent folder nor the current directory; a policy given
        as a mapping has no default). Custom code is imported only when the policy names an expectation
        that is not built in, or sets this.
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
    expectations_dir: PathField | None = None
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
