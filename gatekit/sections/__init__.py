"""Section adapters: one per policy section. Each turns its part of the policy into CheckResults.

Adding a gate type = one spec model + one adapter class here + tests; the orchestrator does not change.
"""

from gatekit.sections.artifact import ArtifactSection
from gatekit.sections.base import RunContext, Section
from gatekit.sections.canary import CanarySection
from gatekit.sections.compatibility import CompatibilitySection
from gatekit.sections.data_quality import DataQualitySection
from gatekit.sections.drift import DriftSection
from gatekit.sections.gates import GatesSection
from gatekit.sections.metric_rules import MetricRulesSection
from gatekit.sections.robustness import RobustnessSection
from gatekit.sections.security import SecuritySection


def default_sections() -> list[Section]:
    """Return the adapters run by default, in report order (data checks first)."""
    return [
        DataQualitySection(),
        CompatibilitySection(),
        MetricRulesSection(),
        GatesSection(),
        DriftSection(),
        RobustnessSection(),
        ArtifactSection(),
        SecuritySection(),
        CanarySection(),
    ]


__all__ = ["RunContext", "Section", "default_sections"]
