"""The section registry: every policy section declared once, read by everything that lists sections.

A *section* is a top-level block of the policy (``drift:``, ``data_quality:``, ``metrics:`` ...). Its
declaration (:class:`SectionInfo`) says its policy key, the spec it validates against, the adapter that
turns it into checks, which *report groups* its checks land in, whether its rules read the evaluation
rows, and how :command:`gatekit validate` names its rules. A *report group* (:class:`ReportGroup`) is a
heading of the report (``performance``, ``fairness``, ``rollout`` ...): the ``section`` field of a
:class:`~gatekit.core.results.CheckResult`. One policy section may fill several groups (``metrics:`` fills
performance, fairness, operational and drift), and one group may be filled by several sections.

What reads the registry: the orchestrator (which adapters run, in which order), the policy loader (the
policy model, so a registered section is a valid key), the report (group titles and order), ``validate``
(rule counts), and the API (whether a policy needs its data inputs). :meth:`SectionRegistry.problems` is
the completeness check: a policy field without a declaration, a declaration without a policy field, a
rules section without an adapter, or a group without a title. The test suite runs it on the default
registry, and the orchestrator turns any such gap that a policy actually uses into a blocking error, so
a half-added gate type is never silently passed over.

Registries are objects: :func:`default_sections` builds a fresh one; nothing is registered at import.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING, Any

from pydantic import create_model

from gatekit.policy.specs.policy import META_FIELDS, Policy

if TYPE_CHECKING:
    from gatekit.sections.base import Section



@dataclass(frozen=True)
class ReportGroup:
    """A heading of the report: the ``section`` of the checks filed under it.

    Parameters
    ----------
    key : str
        The checks' ``section`` value (``performance``).
    title : str
        The heading a person reads (``Performance``).
    """

    key: str
    title: str


@dataclass(frozen=True)
class SectionInfo:
    """One policy section, declared once.

    Parameters
    ----------
    key : str
        Its key in the policy YAML (``data_quality``).
    spec : type
        The annotation of its policy field: a spec model (the field is optional, default absent) or
        ``list[Rule]`` (default empty).
    adapter : callable or None
        A factory returning the adapter (:class:`~gatekit.sections.base.Section`) that evaluates it; None
        for a *settings* section, whose values other sections read (``operational:``).
    groups : tuple of str
        The report groups its checks are filed under.
    needs_data : bool
        Its rules read the evaluation rows, so a policy that uses it needs ``--data`` (or metrics).
    label : str or None
        How ``validate`` names its rules (``"data-quality rules"``); None for a settings section.
    settings : bool
        A settings section (no adapter, no rules of its own).
    engines : tuple of str
        The engines its adapter runs on (:mod:`gatekit.data.engine`). On any other engine the orchestrator turns
        each of its planned checks into an ``error`` naming the engine (fail closed): a plug-in section that
        reads ``ctx.inputs.frame`` declares only ``"pandas"`` (the default).
    """

    key: str
    spec: Any
    adapter: Callable[[], Section] | None = None
    groups: tuple[str, ...] = ()
    needs_data: bool = False
    label: str | None = None
    settings: bool = False
    engines: tuple[str, ...] = ("pandas",)

    def value(self, policy: Any) -> Any:
        """Return this section's value in a validated policy (None or an empty list when absent)."""
        return getattr(policy, self.key, None)

    def used(self, policy: Any) -> bool:
        """Tell whether ``policy`` sets this section (a non-empty list, or a block that is present)."""
        v = self.value(policy)
        return bool(v) if isinstance(v, list) else v is not None



@dataclass
class SectionRegistry:
    """The sections a policy may hold, in the order they run, and the report groups, in report order.

    Examples
    --------
    >>> sections = default_sections()
    >>> sections.register(SectionInfo("toy", ToySpec | None, ToySection, groups=("toy",), label="toy rules"))
    ... # doctest: +SKIP
    >>> sections.add_group(ReportGroup("toy", "Toy"))  # doctest: +SKIP
    """

    _sections: dict[str, SectionInfo] = field(default_factory=dict)
    _groups: dict[str, ReportGroup] = field(default_factory=dict)

    def register(self, info: SectionInfo) -> None:
        """Add a section (it runs after those already registered).

        Raises
        ------
        ValueError
            A section with this key is registered already, or the key is one of :data:`META_FIELDS`.
        """
        if info.key in self._sections or info.key in META_FIELDS:
            raise ValueError(f"a section {info.key!r} is registered already (or is a policy setting)")
        if not info.key.isidentifier() or info.key.startswith("_") or info.key.startswith("model_") \
                or hasattr(Policy, info.key):
            raise ValueError(f"{info.key!r} cannot name a section: it is not an identifier, or it clashes with an "
                             "attribute of the policy model")
        self._sections[info.key] = info
        self.__dict__.pop("policy_model", None)

    def replace(self, key: str, **changes: Any) -> None:
        """Change a registered section's declaration (e.g. its ``adapter``), keeping its place in the order.

        Raises
        ------
        KeyError
            No section has this key.
        """
        from dataclasses import replace as _replace

        self._sections[key] = _replace(self._sections[key], **changes)
        self.__dict__.pop("policy_model", None)

    def add_group(self, group: ReportGroup) -> None:
        """Add a report group (shown after those already added).

        Raises
        ------
        ValueError
            A group with this key exists already.
        """
        if group.key in self._groups:
            raise ValueError(f"a report group {group.key!r} exists already")
        self._groups[group.key] = group

    def __iter__(self) -> Iterator[SectionInfo]:
        """Iterate over the sections in run order."""
        return iter(self._sections.values())

    def __contains__(self, key: object) -> bool:
        """Tell whether a section has this policy key."""
        return key in self._sections

    def __getitem__(self, key: str) -> SectionInfo:
        """Return the section with this policy key (KeyError if none)."""
        return self._sections[key]

    @property
    def group_order(self) -> tuple[str, ...]:
        """Report groups in report order."""
        return tuple(self._groups)

    def group_title(self, key: str) -> str:
        """Return a report group's title (an unknown group's key, in words)."""
        g = self._groups.get(key)
        return g.title if g is not None else key.replace("_", " ").title()

    @cached_property
    def policy_model(self) -> type[Policy]:
        """The pydantic model a policy is validated against.

        :class:`~gatekit.policy.specs.Policy` itself when every registered section is one of its fields,
        else a subclass with a field for each registered section that is not (a plug-in's).
        """
        # field name -> (type, default); typed Any, as mypy matches **extra against create_model's own keywords too
        extra: dict[str, Any] = {s.key: ((s.spec, []) if _is_list(s.spec) else (s.spec | None, None))
                                 for s in self if s.key not in Policy.model_fields}
        if not extra:
            return Policy
        return create_model("Policy", __base__=Policy, __module__=Policy.__module__, **extra)

    def problems(self, model: type[Any] | None = None) -> list[str]:
        """Return what is incomplete: the completeness check (empty when every section is whole).

        Parameters
        ----------
        model : pydantic model class, optional
            The policy model to check against (default :attr:`policy_model`).

        Returns
        -------
        list of str
            One sentence per gap: a policy field with no declaration, a declaration with no policy field, a
            rules section with no adapter, a settings section with an adapter or groups, a report group
            with no title.
        """
        model = model or self.policy_model
        fields = set(model.model_fields) - META_FIELDS
        out = [f"policy field {k!r} has no section declaration (register a SectionInfo for it)"
               for k in sorted(fields - set(self._sections))]
        out += [f"section {k!r} is declared but the policy model has no field for it"
                for k in sorted(set(self._sections) - fields)]
        for s in self:
            if s.settings:
                if s.adapter is not None or s.groups:
                    out.append(f"settings section {s.key!r} declares an adapter or report groups")
                if hasattr(s.spec, "rule_count"):
                    out.append(f"settings section {s.key!r} has a spec that counts rules: they would never be "
                               "evaluated")
                continue
            if s.adapter is None:
                out.append(f"section {s.key!r} has no adapter: its rules would never be evaluated")
            if not s.groups:
                out.append(f"section {s.key!r} files its checks under no report group")
            out += [f"section {s.key!r} files checks under report group {g!r}, which has no title"
                    for g in s.groups if g not in self._groups]
        return out

    def unrunnable(self, policy: Any) -> list[str]:
        """Return the sections ``policy`` uses that this registry cannot evaluate (fail closed at run time).

        A policy field that is set but not declared, declared without an adapter, or declared as settings
        while its block holds rules (``rule_count() > 0``), is listed.
        """
        counts = policy.rule_counts()
        out = []
        for key in type(policy).model_fields:
            if key in META_FIELDS:
                continue
            info = self._sections.get(key)
            v = getattr(policy, key, None)
            set_ = bool(v) if isinstance(v, list) else v is not None
            no_adapter = info is None or info.adapter is None
            if set_ and no_adapter and (info is None or not info.settings or counts.get(key, 0) > 0):
                out.append(key)
        return out

    def rule_counts(self, policy: Any) -> dict[str, int]:
        """Return the number of rules per rules section that ``policy`` uses (settings sections left out)."""
        counts = policy.rule_counts()
        return {s.key: counts[s.key] for s in self if not s.settings and s.key in counts}

    def has_rules(self, policy: Any) -> bool:
        """Tell whether ``policy`` declares at least one rule (a policy that checks nothing never passes)."""
        return any(n > 0 for n in self.rule_counts(policy).values())

    def needs_data(self, policy: Any) -> bool:
        """Tell whether any section ``policy`` uses reads the evaluation rows."""
        return any(s.needs_data and s.used(policy) for s in self)


def _is_list(annotation: Any) -> bool:
    return getattr(annotation, "__origin__", None) is list


def _data_quality() -> Section:
    from gatekit.sections.data_quality import DataQualitySection

    return DataQualitySection()


def _compatibility() -> Section:
    from gatekit.sections.compatibility import CompatibilitySection

    return CompatibilitySection()


def _metrics() -> Section:
    from gatekit.sections.metric_rules import MetricRulesSection

    return MetricRulesSection()


def _slices() -> Section:
    from gatekit.sections.slices import SlicesSection

    return SlicesSection()


def _gates() -> Section:
    from gatekit.sections.gates import GatesSection

    return GatesSection()


def _drift() -> Section:
    from gatekit.sections.drift import DriftSection

    return DriftSection()


def _robustness() -> Section:
    from gatekit.sections.robustness import RobustnessSection

    return RobustnessSection()


def _artifact() -> Section:
    from gatekit.sections.artifact import ArtifactSection

    return ArtifactSection()


def _security() -> Section:
    from gatekit.sections.security import SecuritySection

    return SecuritySection()


def _canary() -> Section:
    from gatekit.sections.canary import CanarySection

    return CanarySection()


BOTH = ("pandas", "duckdb", "spark")
"""The engines gatekit's own sections run on (every engine)."""


def default_sections() -> SectionRegistry:
    """Return a fresh registry of gatekit's built-in sections and report groups.

    Sections run in this order (data checks first; the canary last), each adapter imported when first
    built, so ``--help`` and ``validate`` stay fast. Report groups are listed in report order.
    """
    from gatekit.policy import specs as s

    reg = SectionRegistry()
    for key, title in (("data_quality", "Data quality"), ("compatibility", "Compatibility"),
                       ("performance", "Performance"), ("slices", "Slices"), ("gates", "Gates"),
                       ("fairness", "Fairness"),
                       ("drift", "Drift"), ("operational", "Operational"), ("robustness", "Robustness"),
                       ("artifact", "Artifact"), ("security", "Security"), ("rollout", "Rollout")):
        reg.add_group(ReportGroup(key, title))
    for info in (
        SectionInfo("data_quality", s.DataQualitySpec, _data_quality, ("data_quality",), needs_data=True,
                    label="data-quality rules", engines=BOTH),
        SectionInfo("compatibility", s.CompatibilitySpec, _compatibility, ("compatibility",),
                    label="compatibility rules", engines=BOTH),
        SectionInfo("metrics", list[s.MetricRule], _metrics, ("performance", "fairness", "operational", "drift"),
                    engines=BOTH,
                    needs_data=True, label="metric rules"),
        SectionInfo("slices", list[s.SliceRule], _slices, ("slices",), needs_data=True, label="slice rules",
                    engines=BOTH),
        SectionInfo("gates", list[s.GateRule], _gates, ("gates",), needs_data=True, label="gates", engines=BOTH),
        SectionInfo("drift", s.DriftSpec, _drift, ("drift",), needs_data=True, label="drift rules", engines=BOTH),
        SectionInfo("robustness", s.RobustnessSpec, _robustness, ("robustness",), label="robustness rules",
                    engines=BOTH),
        SectionInfo("artifact", s.ArtifactSpec, _artifact, ("artifact",), label="artifact rules", engines=BOTH),
        SectionInfo("security", s.SecuritySpec, _security, ("security",), label="security rules", engines=BOTH),
        SectionInfo("canary", s.CanarySpec, _canary, ("rollout",), label="canary rules", engines=BOTH),
        SectionInfo("operational", s.OperationalSpec, settings=True),
    ):
        reg.register(info)
    return reg
