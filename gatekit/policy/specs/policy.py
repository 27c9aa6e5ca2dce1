"""The top-level :class:`Policy`: a whole policy file, validated.

It holds one optional spec per section, imported from the section modules of
:mod:`gatekit.policy.specs`.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, ValidationInfo, field_validator

from gatekit.policy.specs.artifact import ArtifactSpec
from gatekit.policy.specs.canary import CanarySpec
from gatekit.policy.specs.common import AlertSpec, PathField, Spec
from gatekit.policy.specs.compatibility import CompatibilitySpec
from gatekit.policy.specs.custom_metrics import CustomMetricsSpec
from gatekit.policy.specs.data_quality import DataQualitySpec
from gatekit.policy.specs.drift import DriftSpec
from gatekit.policy.specs.families import FamilySpec, check_families
from gatekit.policy.specs.gates import GateRule
from gatekit.policy.specs.holdout import HoldoutSpec
from gatekit.policy.specs.inputs import InputsSpec
from gatekit.policy.specs.metrics import MetricRule
from gatekit.policy.specs.operational import OperationalSpec
from gatekit.policy.specs.robustness import RobustnessSpec
from gatekit.policy.specs.security import SecuritySpec
from gatekit.policy.specs.slices import SliceRule


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
    custom_metrics : CustomMetricsSpec, optional
        The policy's own metrics (``@gatekit.metric`` functions in a folder, or installed entry points), usable by
        name in every rule.
    metrics : list of MetricRule
    gates : list of GateRule
    slices : list of SliceRule
        A metric on each segment of the evaluation rows, with a rule on the worst slice.
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
    holdout : HoldoutSpec, optional
        A budget on how many candidates of the model the same evaluation rows may gate (test-set reuse;
        counted in the run history).
    alert : AlertSpec, optional
        Default repeated-failure alert for every check of the policy; a metric rule's or gate's own
        ``alert:`` replaces it for that rule.
    families : list of FamilySpec
        Confidence rules decided together with a multiplicity adjustment (Holm, Bonferroni, Šidák,
        Benjamini-Hochberg); see :mod:`gatekit.policy.specs.families`.
    """

    version: int | str
    extends: PathField | list[PathField] | None = None
    name: str | None = None
    description: str | None = None
    strict: bool = True
    mode: Literal["enforce", "warn_only"] = "enforce"
    decision_threshold: float = Field(default=0.5, ge=0, le=1)
    inputs: InputsSpec | None = None
    custom_metrics: CustomMetricsSpec | None = None
    metrics: list[MetricRule] = Field(default_factory=list)
    gates: list[GateRule] = Field(default_factory=list)
    slices: list[SliceRule] = Field(default_factory=list)
    compatibility: CompatibilitySpec | None = None
    drift: DriftSpec | None = None
    data_quality: DataQualitySpec | None = None
    canary: CanarySpec | None = None
    operational: OperationalSpec | None = None
    artifact: ArtifactSpec | None = None
    security: SecuritySpec | None = None
    robustness: RobustnessSpec | None = None
    holdout: HoldoutSpec | None = None
    alert: AlertSpec | None = None
    families: list[FamilySpec] = Field(default_factory=list)

    @field_validator("metrics")
    @classmethod
    def _sequential(cls, v: list[MetricRule], info: ValidationInfo) -> list[MetricRule]:
        if "inputs" in info.data:  # else its own error is reported
            from gatekit.policy.specs.metrics import check_sequential_inputs

            check_sequential_inputs(v, info.data["inputs"], (info.context or {}).get("registry"))
        return v

    @field_validator("families")
    @classmethod
    def _families(cls, v: list[FamilySpec], info: ValidationInfo) -> list[FamilySpec]:
        if v and "metrics" in info.data and "canary" in info.data:  # else their own errors are reported
            canary = info.data["canary"]
            check_families(v, info.data["metrics"], canary.rules if canary else [],
                           (info.context or {}).get("registry"),
                           canary_sequential=canary is not None and canary.sequential is not None)
        return v

    def rule_counts(self) -> dict[str, int]:
        """Return the number of rules in each section this policy sets (settings blocks are left out).

        A section is any field that is not one of :data:`META_FIELDS`: a list counts its items, a block its
        ``rule_count()``; a block without ``rule_count`` (``operational:``) holds settings, not rules. Works
        on a subclass with a plug-in's section too.
        """
        out: dict[str, int] = {}
        for key in type(self).model_fields:
            value = getattr(self, key)
            if key in META_FIELDS or value is None or (isinstance(value, list) and not value):
                continue
            if isinstance(value, list):
                out[key] = len(value)
            elif hasattr(value, "rule_count"):
                out[key] = int(value.rule_count())
        return out


META_FIELDS = frozenset({"version", "extends", "name", "description", "strict", "mode", "decision_threshold",
                         "inputs", "alert", "custom_metrics", "holdout", "families"})
"""Policy keys that configure the run itself rather than declare rules: never sections."""
