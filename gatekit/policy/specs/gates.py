"""The ``gates:`` section: named gates whose condition is a ``require:`` expression.

:class:`GateRule` parses its expression when validated and checks every metric name in it
against the registry passed in the validation context.
"""

from __future__ import annotations

import reprlib

from pydantic import Field, ValidationInfo, field_validator
from pydantic_core import PydanticCustomError

from gatekit.core.results import OnFail
from gatekit.policy.expressions import ExpressionError, comparisons, parse
from gatekit.policy.specs.common import AlertSpec, OnFailField, Spec, unknown_metric


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
                        raise unknown_metric(registry, name, " in the require expression")
        return v
