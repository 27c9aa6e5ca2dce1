"""Plan the sections, run each one without letting it crash the others, and decide."""

from __future__ import annotations

import platform
import secrets
import time
from collections.abc import Callable
from datetime import datetime, timezone
from typing import Any

from gatekit.core.decision import decide
from gatekit.core.options import RunOptions
from gatekit.core.reproducibility import library_versions
from gatekit.core.results import CheckResult, OnFail, Status
from gatekit.core.version import __version__
from gatekit.data.inputs import RunInputs
from gatekit.metrics.registry import MetricRegistry
from gatekit.policy.loader import LoadedPolicy
from gatekit.report import Report
from gatekit.sections.base import RunContext, Section
from gatekit.sections.registry import SectionRegistry, default_sections


def run_sections(policy: LoadedPolicy, inputs: RunInputs, registry: MetricRegistry,
                 sections: SectionRegistry | None = None, info: dict[str, Any] | None = None,
                 attachments: dict[str, Any] | None = None,
                 progress: Callable[[str, int, int], None] | None = None,
                 options: RunOptions | None = None, timings_s: dict[str, float] | None = None) -> list[CheckResult]:
    """Run every registered section's adapter; a section that raises turns its planned checks into ``error``.

    Parameters
    ----------
    policy, inputs, registry
        As for :func:`evaluate`.
    sections : SectionRegistry, optional
        The sections to run, in order; default :func:`gatekit.sections.registry.default_sections`.
    info : dict, optional
        Receives what the sections report about the run (keyed by section), for the report's metadata.
    attachments : dict, optional
        Receives files the sections want written beside the report (name -> callable returning text).
    progress : callable, optional
        Called as ``progress(section_name, done, total)`` before each section runs (for a progress bar).
    options : RunOptions, optional
        How figures are computed (default :class:`~gatekit.core.options.RunOptions`).
    timings_s : dict, optional
        Receives each section's wall time in seconds (section key -> seconds).

    Returns
    -------
    list of CheckResult
        Ordered by report group (:attr:`SectionRegistry.group_order`), then policy order. A section the
        policy uses but the registry cannot evaluate (declared without an adapter, or not declared), and a
        section with rules whose adapter returned no check, are one blocking ``fail`` check each, whatever
        ``strict`` says: fail closed, never silently passed over. An adapter that returns anything but
        well-formed CheckResults is treated as one that raised.
    """
    sections = sections if sections is not None else default_sections()
    registry = policy.registry or registry  # a policy with custom metrics computes with the registry that has them
    ctx = RunContext(policy=policy, inputs=inputs, registry=registry, info=info if info is not None else {},
                     attachments=attachments if attachments is not None else {}, options=options or RunOptions())
    checks: list[CheckResult] = [
        CheckResult(name=f"{key}_section", section=key, status=Status.FAIL, on_fail=OnFail.BLOCK,
                    message=f"the policy's {key}: section has no adapter in this gatekit, so none of its rules "
                            "can be evaluated (a section declared but not run never passes)")
        for key in sections.unrunnable(policy.policy)]
    counts = policy.policy.rule_counts()
    todo = [(s.key, s.adapter, s.engines) for s in sections if s.adapter is not None]
    timings: dict[str, float] = {}
    for i, (key, make, engines) in enumerate(todo):
        name = key
        if progress is not None:
            progress(name, i, len(todo))
        section: Section | None = None
        started = time.perf_counter()
        try:
            section = make()
            name = section.name
            if inputs.engine not in engines:
                planned = section.planned(policy)
                checks.extend(CheckResult(name=n, section=name, status=Status.ERROR, on_fail=f,
                                          message=f"the {key} section does not run on the {inputs.engine} engine "
                                                  f"(it runs on {', '.join(engines)}): run with --engine "
                                                  f"{engines[0]} (never counted as a pass)")
                              for n, f in planned)
                continue
            produced = list(section.run(ctx))
            for c in produced:  # a plug-in's malformed result is its crash, not the whole run's
                if not (isinstance(c, CheckResult) and isinstance(c.status, Status) and isinstance(c.on_fail, OnFail)
                        and isinstance(c.section, str) and isinstance(c.name, str)):
                    raise TypeError(f"the adapter returned {type(c).__name__} {c!r:.80}, not a CheckResult with a "
                                    "Status and an OnFail")
            if not produced and counts.get(key, 0) > 0:
                produced = [CheckResult(name=f"{key}_section", section=name, status=Status.FAIL,
                                        on_fail=OnFail.BLOCK,
                                        message=f"the {key}: section has {counts[key]} rule(s) but its adapter "
                                                "returned no check, so none was evaluated (never a pass)")]
            checks.extend(produced)
        except KeyboardInterrupt:
            raise
        except BaseException as exc:  # noqa: BLE001 - one crashing adapter (even sys.exit in user code) never
            # aborts the others, and never ends the run with exit 0 and no report
            msg = f"the {name} section failed: {type(exc).__name__}: {exc}"
            try:
                planned = section.planned(policy) if section is not None else []
            except Exception:  # noqa: BLE001 - even its plan is unknown: one blocking error stands for it
                planned = []
            for check_name, on_fail in planned or [(f"{name}_section", OnFail.BLOCK)]:
                checks.append(CheckResult(name=check_name, section=name, status=Status.ERROR,
                                          on_fail=on_fail, message=msg))
        finally:
            timings[key] = round(time.perf_counter() - started, 3)
    if timings_s is not None:
        timings_s.update(timings)
    from gatekit.sections.families import run_families

    run_families(ctx, checks)  # the policy's families: members decided together (adjusted p-values)
    rank = {s: i for i, s in enumerate(sections.group_order)}
    return sorted(checks, key=lambda c: rank.get(c.section, len(rank)))


def evaluate(policy: LoadedPolicy, inputs: RunInputs, registry: MetricRegistry, *, run_id: str | None = None,
             sections: SectionRegistry | None = None,
             progress: Callable[[str, int, int], None] | None = None, options: RunOptions | None = None) -> Report:
    """Evaluate a loaded policy on loaded inputs and return the report.

    Parameters
    ----------
    policy : LoadedPolicy
        The validated policy.
    inputs : RunInputs
        Inputs loaded once, shared read-only by the sections.
    registry : MetricRegistry
        Metric definitions.
    run_id : str, optional
        Defaults to ``<UTC timestamp>-<policy sha256[:8]>``.
    sections : SectionRegistry, optional
        The sections to run; default :func:`gatekit.sections.registry.default_sections`.
    progress : callable, optional
        ``progress(section_name, done, total)`` before each section (see :func:`run_sections`).
    options : RunOptions, optional
        How figures are computed (default :class:`~gatekit.core.options.RunOptions`).

    Returns
    -------
    Report
        With ``metadata["charts"]`` when there is chart data (:func:`gatekit.report.charts.chart_data`).
    """
    started = datetime.now(timezone.utc)
    t0 = time.perf_counter()
    section_info: dict[str, Any] = {}
    attachments: dict[str, Any] = {}
    options = options or RunOptions()
    sections = sections if sections is not None else default_sections()
    timings: dict[str, float] = {}
    checks = run_sections(policy, inputs, registry, sections, section_info, attachments, progress, options, timings)
    decision, reason = decide(checks, policy.policy.strict)
    finished = datetime.now(timezone.utc)
    # timestamp for sorting, policy hash for grouping, random part so two runs in one second never collide
    run_id = run_id or f"{started.strftime('%Y%m%dT%H%M%SZ')}-{policy.sha256[:8]}-{secrets.token_hex(3)}"
    meta: dict[str, Any] = {  # the report's JSON metadata
        "run_id": run_id,
        "gatekit_version": __version__,
        "started_at": started.isoformat(timespec="seconds"),
        "finished_at": finished.isoformat(timespec="seconds"),
        "duration_s": round(time.perf_counter() - t0, 3),
        "policy": {
            "name": policy.name,
            "path": str(policy.path.resolve()) if policy.path else None,
            "sha256": policy.sha256,
            "version": policy.policy.version,
            "strict": policy.policy.strict,
            "decision_threshold": policy.policy.decision_threshold,
            "resolved": policy.policy.model_dump(mode="json", exclude_none=True),
        },
        "engine": inputs.info.get("engine", {"name": inputs.engine}),
        "inputs": {"files": inputs.files, **inputs.info},
        "timings_s": {"inputs": inputs.load_s, **timings},
        "sections": section_info,
        "report_groups": {g: sections.group_title(g) for g in sections.group_order},
        "libraries": library_versions(),
        "platform": platform.platform(),
    }
    from gatekit.core.reproducibility import components, digest

    packages = section_info.pop("reproducibility_packages", None)  # what a licence check read
    if "families" in section_info:  # the testing families' summaries (gatekit.sections.families)
        meta["families"] = section_info.pop("families")
    if policy.custom is not None:  # the policy's custom metrics: what ran, from where
        meta["custom_metrics"] = {"metrics": policy.custom.as_info(), "files": policy.custom.files,
                                  "entry_points": policy.custom.entry_points}
        packages = {**policy.custom.packages(), **(packages or {})} or None
    parts = components(policy.sha256, inputs.files, meta["libraries"], packages)
    meta["reproducibility"] = {"sha256": digest(parts), "components": parts,
                               "definition": "sha256 of the canonical JSON of the policy's sha256, each input file's "
                                             "sha256 by role, and the library versions"}
    from gatekit.report.charts import chart_data

    charts = chart_data(inputs, options.reference_paths)
    if charts:
        meta["charts"] = charts
    return Report(decision=decision, reason=reason, checks=checks, metadata=meta, attachments=attachments)
