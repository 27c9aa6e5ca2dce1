"""The ``robustness:`` section: the candidate model probed with noisy and out-of-range inputs.

:class:`NoiseSpec`, :class:`OutOfRangeSpec` and :class:`RobustnessSpec`.
"""

from __future__ import annotations

from typing import Literal, get_args

from pydantic import Field, ValidationInfo, model_validator
from pydantic_core import PydanticCustomError

from gatekit.core.results import OnFail
from gatekit.policy.specs.common import OnFailField, Spec, unknown_metric


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
                raise unknown_metric(registry, self.metric, " in robustness.noise.metric")
            if res.spec.fn is None or res.spec.section not in ("performance",):
                raise PydanticCustomError("noise", "{m} is not a performance metric computed from rows",
                                          {"m": repr(self.metric)})
        return self


OutOfRangeCase = Literal["extreme", "missing", "unseen_category", "wrong_type"]


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

    cases: list[OutOfRangeCase] = Field(default_factory=lambda: list(get_args(OutOfRangeCase)), min_length=1)
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
