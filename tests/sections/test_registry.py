"""The section registry: completeness, and a toy section added through the registry alone."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from pydantic import create_model

import gatekit
from gatekit.core.results import CheckResult, OnFail, Status
from gatekit.policy.specs import Policy
from gatekit.policy.specs.common import Spec
from gatekit.policy.specs.policy import META_FIELDS
from gatekit.sections.registry import ReportGroup, SectionInfo, default_sections


class ToySpec(Spec):
    """A toy section: one rule, ``max_widgets``, checked against the number of rows."""

    max_widgets: int
    on_fail: OnFail = OnFail.BLOCK

    def rule_count(self) -> int:
        return 1


class ToySection:
    name = "toy"

    def planned(self, policy: Any) -> list[tuple[str, OnFail]]:
        spec = getattr(policy.policy, "toy", None)
        return [("max_widgets", spec.on_fail)] if spec is not None else []

    def run(self, ctx: Any) -> list[CheckResult]:
        spec = getattr(ctx.policy.policy, "toy", None)
        if spec is None:
            return []
        widgets = 3.0  # the toy's "observation"
        ok = widgets <= spec.max_widgets
        return [CheckResult("max_widgets", "toy", Status.PASS if ok else Status.FAIL, spec.on_fail, widgets, "<=",
                            float(spec.max_widgets), f"widgets = 3 {'meets' if ok else 'does not meet'} "
                            f"<= {spec.max_widgets}")]


def toy_registry(adapter: Any = ToySection) -> Any:
    reg = default_sections()
    reg.add_group(ReportGroup("toy", "Toy widgets"))
    reg.register(SectionInfo("toy", ToySpec, adapter, groups=("toy",), label="toy rules"))
    return reg


def write_policy(tmp_path: Path, limit: int) -> tuple[Path, Path]:
    (tmp_path / "m.json").write_text(json.dumps({"auc_roc": 0.95}))
    p = tmp_path / "p.yaml"
    p.write_text(f"version: 1\nmetrics:\n  - {{name: auc_roc, op: '>=', value: 0.9}}\ntoy:\n  max_widgets: {limit}\n")
    return p, tmp_path / "m.json"


def test_the_default_registry_is_complete() -> None:
    assert default_sections().problems() == []


def test_every_policy_field_is_a_setting_or_a_registered_section() -> None:
    reg = default_sections()
    assert set(Policy.model_fields) == META_FIELDS | {s.key for s in reg}
    assert reg.policy_model is Policy  # the built-in sections are Policy's own fields


def test_a_spec_field_without_a_registered_section_fails_the_completeness_check() -> None:
    # the fail-open path the review found: a calibration spec added to the policy, its adapter forgotten
    with_calibration = create_model("Policy", __base__=Policy, calibration=(ToySpec | None, None))
    problems = default_sections().problems(with_calibration)
    assert problems == ["policy field 'calibration' has no section declaration (register a SectionInfo for it)"]


def test_a_registered_section_without_an_adapter_fails_the_completeness_check() -> None:
    reg = toy_registry(adapter=None)
    assert reg.problems() == ["section 'toy' has no adapter: its rules would never be evaluated"]


def test_a_section_filed_under_an_untitled_group_fails_the_completeness_check() -> None:
    reg = default_sections()
    reg.register(SectionInfo("toy", ToySpec, ToySection, groups=("toys",), label="toy rules"))
    assert reg.problems() == ["section 'toy' files checks under report group 'toys', which has no title"]


def test_registering_a_key_twice_or_a_setting_is_refused() -> None:
    reg = default_sections()
    with pytest.raises(ValueError, match="drift"):
        reg.register(SectionInfo("drift", ToySpec, ToySection, groups=("drift",)))
    with pytest.raises(ValueError, match="inputs"):
        reg.register(SectionInfo("inputs", ToySpec, ToySection, groups=("drift",)))


@pytest.mark.parametrize(("limit", "status", "decision"), [(5, "pass", "pass"), (2, "fail", "block")])
def test_a_toy_section_registered_alone_runs_reports_and_counts(tmp_path: Path, limit: int, status: str,
                                                                decision: str) -> None:
    policy, metrics = write_policy(tmp_path, limit)
    reg = toy_registry()
    report = gatekit.run(policy, metrics=metrics, sections=reg, out=tmp_path / "out", formats="json,html,markdown")
    toy = [c for c in report.checks if c.section == "toy"]
    assert [(c.name, c.status.value, c.observed) for c in toy] == [("max_widgets", status, 3.0)]
    assert report.decision.value == decision
    # the report files it under its own group, titled by the registry, after the built-in groups
    assert [c.section for c in report.checks] == ["performance", "toy"]
    html = (tmp_path / "out" / "gate_report.html").read_text()
    assert "Toy widgets" in html
    summary = gatekit.api.validate(policy, sections=reg)
    assert "1 toy rule" in summary.counts_text


def test_without_the_registry_the_toy_key_is_an_invalid_policy(tmp_path: Path) -> None:
    from gatekit.core.errors import PolicyError

    policy, metrics = write_policy(tmp_path, 5)
    with pytest.raises(PolicyError, match="toy"):
        gatekit.run(policy, metrics=metrics)


def test_a_used_section_without_an_adapter_blocks_at_run_time(tmp_path: Path) -> None:
    policy, metrics = write_policy(tmp_path, 5)
    reg = toy_registry(adapter=None)
    report = gatekit.run(policy, metrics=metrics, sections=reg)
    toy = [c for c in report.checks if c.section == "toy"]
    assert [(c.name, c.status, c.on_fail) for c in toy] == [("toy_section", Status.FAIL, OnFail.BLOCK)]
    assert "no adapter" in toy[0].message
    assert report.decision.value == "block"


# --- fail-open paths a hostile review found in the registry and the orchestrator ---


class EmptySection(ToySection):
    def run(self, ctx: Any) -> list[CheckResult]:
        return []


class MalformedSection(ToySection):
    def run(self, ctx: Any) -> list[Any]:
        return [None]


class StringStatusSection(ToySection):
    def run(self, ctx: Any) -> list[Any]:
        return [CheckResult("max_widgets", "toy", "pass", "block")]  # type: ignore[arg-type]


def test_a_settings_section_whose_spec_holds_rules_is_incomplete_and_blocks(tmp_path: Path) -> None:
    reg = default_sections()
    reg.add_group(ReportGroup("toy", "Toy"))
    reg.register(SectionInfo("toy", ToySpec, settings=True))
    assert reg.problems() == ["settings section 'toy' has a spec that counts rules: they would never be evaluated"]
    policy, metrics = write_policy(tmp_path, 5)
    report = gatekit.run(policy, metrics=metrics, sections=reg)
    assert [(c.name, c.status) for c in report.checks if c.section == "toy"] == [("toy_section", Status.FAIL)]
    assert report.decision.value == "block"


def test_an_adapter_that_returns_no_check_for_its_rules_blocks(tmp_path: Path) -> None:
    policy, metrics = write_policy(tmp_path, 5)
    report = gatekit.run(policy, metrics=metrics, sections=toy_registry(adapter=EmptySection))
    toy = [c for c in report.checks if c.section == "toy"]
    assert [(c.name, c.status, c.on_fail) for c in toy] == [("toy_section", Status.FAIL, OnFail.BLOCK)]
    assert "returned no check" in toy[0].message and report.decision.value == "block"


@pytest.mark.parametrize("adapter", [MalformedSection, StringStatusSection])
def test_an_adapter_returning_malformed_results_becomes_error_checks(tmp_path: Path, adapter: Any) -> None:
    policy, metrics = write_policy(tmp_path, 5)
    report = gatekit.run(policy, metrics=metrics, sections=toy_registry(adapter=adapter))
    toy = [c for c in report.checks if c.section == "toy"]
    assert [(c.name, c.status) for c in toy] == [("max_widgets", Status.ERROR)]
    assert "not a CheckResult" in toy[0].message and report.decision.value == "block"


def test_a_section_without_an_adapter_blocks_even_when_the_policy_is_not_strict(tmp_path: Path) -> None:
    policy, metrics = write_policy(tmp_path, 5)
    policy.write_text("strict: false\n" + policy.read_text())
    report = gatekit.run(policy, metrics=metrics, sections=toy_registry(adapter=None))
    assert report.decision.value == "block"


@pytest.mark.parametrize("key", ["rule_counts", "model_config", "model_fields", "_private", "not-an-identifier"])
def test_a_key_that_clashes_with_the_policy_model_is_refused(key: str) -> None:
    with pytest.raises(ValueError, match="cannot name a section"):
        default_sections().register(SectionInfo(key, ToySpec, ToySection, groups=("drift",)))
