"""Typed policy spec (pydantic v2), one module per policy section.

Structure only; semantic checks across rules live in :mod:`gatekit.policy.problems` and
:mod:`gatekit.policy.loader`. Every model forbids unknown keys and uses strict types (``"0.9"`` is not a
number, ``1`` is not a boolean), so a typo never silently turns a rule off. :mod:`~.common` holds the
shared base class and validators, :mod:`~.policy` the top-level :class:`Policy`, and each other module
one section of the policy file (``metrics:``, ``gates:``, ``compatibility:``, ``drift:``,
``data_quality:``, ``slices:``, ``canary:``, ``operational:``, ``artifact:``, ``security:``, ``robustness:``,
``inputs:``).
"""

from gatekit.policy.specs.artifact import ArtifactSpec, MetadataSpec, SignatureSpec
from gatekit.policy.specs.canary import CanarySpec
from gatekit.policy.specs.common import AlertSpec, LogicalType, OnFailField, Spec
from gatekit.policy.specs.compatibility import CompatibilitySpec, FeatureSignatureSpec, ModelFormatSpec
from gatekit.policy.specs.data_quality import (
    ColumnRules,
    DataQualitySpec,
    ExpectationRule,
    RowCountSpec,
    Scalar,
    SuiteRef,
)
from gatekit.policy.specs.drift import (
    CATEGORICAL_METHODS,
    DEFAULT_DRIFT_THRESHOLDS,
    NUMERICAL_METHODS,
    P_VALUE_METHODS,
    DriftMethod,
    DriftRule,
    DriftSpec,
    LeakageSpec,
    PsiSpec,
)
from gatekit.policy.specs.gates import GateRule
from gatekit.policy.specs.holdout import HoldoutSpec
from gatekit.policy.specs.inputs import BaselineSpec, InputsSpec
from gatekit.policy.specs.metrics import GUARDBANDS, RELATIVE_KEYS, MetricRule
from gatekit.policy.specs.operational import OperationalSpec
from gatekit.policy.specs.policy import Policy
from gatekit.policy.specs.robustness import NoiseSpec, OutOfRangeSpec, RobustnessSpec
from gatekit.policy.specs.security import LicenseSpec, PiiSpec, SecuritySpec
from gatekit.policy.specs.slices import SliceRule

__all__ = [
    "CATEGORICAL_METHODS",
    "DEFAULT_DRIFT_THRESHOLDS",
    "GUARDBANDS",
    "NUMERICAL_METHODS",
    "P_VALUE_METHODS",
    "RELATIVE_KEYS",
    "AlertSpec",
    "ArtifactSpec",
    "BaselineSpec",
    "CanarySpec",
    "ColumnRules",
    "CompatibilitySpec",
    "DataQualitySpec",
    "DriftMethod",
    "DriftRule",
    "DriftSpec",
    "ExpectationRule",
    "FeatureSignatureSpec",
    "GateRule",
    "HoldoutSpec",
    "InputsSpec",
    "LeakageSpec",
    "LicenseSpec",
    "LogicalType",
    "MetadataSpec",
    "MetricRule",
    "ModelFormatSpec",
    "NoiseSpec",
    "OnFailField",
    "OperationalSpec",
    "OutOfRangeSpec",
    "PiiSpec",
    "Policy",
    "PsiSpec",
    "RobustnessSpec",
    "RowCountSpec",
    "Scalar",
    "SecuritySpec",
    "SignatureSpec",
    "SliceRule",
    "Spec",
    "SuiteRef",
]
