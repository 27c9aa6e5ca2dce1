"""Section adapters: one per policy section, each turning its part of the policy into CheckResults.

Every section is declared once in :mod:`gatekit.sections.registry` (its policy key, spec, adapter, report
groups, whether it reads the evaluation rows); adding a gate type is one spec model, one adapter and one
:class:`~gatekit.sections.registry.SectionInfo`, and the orchestrator, the report, ``validate`` and the API
follow from the registry. The completeness test fails when a policy field and the registry disagree.
"""

from gatekit.sections.base import RunContext, Section
from gatekit.sections.registry import ReportGroup, SectionInfo, SectionRegistry, default_sections

__all__ = ["ReportGroup", "RunContext", "Section", "SectionInfo", "SectionRegistry", "default_sections"]
