"""Load a policy YAML file into a validated :class:`~gatekit.policy.specs.Policy`.

Every problem is reported with the file, the line and the key, all at once (not only the first):
YAML syntax errors, duplicate keys (which PyYAML would silently overwrite), unknown keys, wrong types,
unknown operators, unknown metric names (with the closest valid one), bad metric parameters,
duplicate metric rules and malformed ``require:`` expressions.

Reading the YAML lives in :mod:`gatekit.policy.source`, turning errors into problems in
:mod:`gatekit.policy.problems`, and ``extends:`` in :mod:`gatekit.policy.extends`.
"""

from __future__ import annotations

import dataclasses
import hashlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from gatekit.core.errors import PolicyError, Problem
from gatekit.core.yaml_limits import MAX_POLICY_BYTES, MAX_POLICY_NODES, PolicyYamlLoader
from gatekit.metrics.catalog import default_registry
from gatekit.metrics.custom import CustomMetrics
from gatekit.metrics.registry import MetricRegistry, ResolvedMetric
from gatekit.policy.expressions import Node, parse
from gatekit.policy.extends import merge_policies, resolve_extends
from gatekit.policy.problems import pydantic_problems, rule_problems
from gatekit.policy.source import Path_, read_yaml
from gatekit.policy.specs import Policy

__all__ = ["MAX_POLICY_BYTES", "MAX_POLICY_NODES", "LoadedPolicy", "PolicyYamlLoader", "load_policy",
           "merge_policies"]


@dataclass
class LoadedPolicy:
    """A validated policy with what the report needs to record about it.

    Parameters
    ----------
    policy : Policy
        The typed spec.
    path : pathlib.Path or None
        The file it came from (None for a policy given as a mapping).
    sha256 : str
        sha256 of the file's bytes (or of the canonical JSON of a mapping).
    resolved : dict of int to ResolvedMetric
        ``metrics[i]`` resolved against the registry.
    params : dict of int to dict
        ``metrics[i].params`` after the metric's own validators (e.g. a threshold as float).
    canary_resolved, canary_params : dict of int
        The same for ``canary.rules[i]``.
    bases : list of (str, str)
        The ``extends:`` files merged under this policy (path, sha256), in merge order.
    expressions : dict of int to Node
        ``gates[i].require`` parsed.
    positions : dict
        Key path -> (line, column), 1-based, for messages.
    registry : MetricRegistry or None
        The metric registry the policy was checked against when it loads custom metrics (``custom_metrics:``): a
        copy of the one given with them added, which the run must compute with; None when it loads none.
    custom : CustomMetrics or None
        The custom metrics loaded (:mod:`gatekit.metrics.custom`): their files, entry points and sources.
    """

    policy: Policy
    path: Path | None
    sha256: str
    resolved: dict[int, ResolvedMetric] = field(default_factory=dict)
    params: dict[int, dict[str, Any]] = field(default_factory=dict)
    canary_resolved: dict[int, ResolvedMetric] = field(default_factory=dict)
    canary_params: dict[int, dict[str, Any]] = field(default_factory=dict)
    bases: list[tuple[str, str]] = field(default_factory=list)
    expressions: dict[int, Node] = field(default_factory=dict)
    positions: dict[Path_, tuple[int, int]] = field(default_factory=dict)
    registry: MetricRegistry | None = None
    custom: CustomMetrics | None = None

    @property
    def name(self) -> str:
        """The policy's name, or the file's stem."""
        return self.policy.name or (self.path.stem if self.path else "policy")

    @property
    def base_dir(self) -> Path:
        """Folder against which relative input paths are resolved."""
        return self.path.parent if self.path else Path.cwd()


def _suite_problems(policy: Policy, base: Path, pos: dict[Path_, tuple[int, int]], file: str) -> list[Problem]:
    """Read each ``data_quality.suites`` file now, so a malformed suite is an invalid policy (exit 2), not a check.

    Only the file's structure is checked here (a readable JSON object with a non-empty ``expectations`` list of
    typed entries, :func:`gatekit.validators.gx.read_suite`); each expectation's arguments are Great
    Expectations' to check when the suite runs. A suite that does not exist yet is not a problem of the policy
    (it may be loaded where its files are not, as by ``gatekit policy diff``): like a missing model card, the
    check that reads it reports it when the policy runs.
    """
    from gatekit.validators.gx import read_suite

    found = []
    for i, ref in enumerate(policy.data_quality.suites if policy.data_quality else []):
        path = (base / ref.path).resolve()
        if not path.exists():
            continue
        try:
            read_suite(path)
        except ValueError as exc:
            line, col = pos.get(("data_quality", "suites", i, "path"), pos.get(("data_quality", "suites", i),
                                                                              (None, None)))
            found.append(Problem(f"{exc}; fix the suite file or remove it from the policy", file, line, col,
                                 key=f"data_quality.suites[{i}]"))
    return found


def load_policy(source: str | Path | dict[str, Any], registry: MetricRegistry | None = None, *,
                model: type[Policy] = Policy) -> LoadedPolicy:
    """Read and validate a policy.

    Parameters
    ----------
    source : str, pathlib.Path or dict
        Path of a YAML file, or an already parsed mapping.
    registry : MetricRegistry, optional
        Metric names to accept; default :func:`~gatekit.metrics.default_registry`. A policy with
        ``custom_metrics:`` is checked against a copy of it with its own metrics added
        (:attr:`LoadedPolicy.registry`); this one is left unchanged.
    model : type
        The policy model to validate against: :class:`~gatekit.policy.specs.Policy`, or the subclass a section
        registry builds with a plug-in's section (:attr:`gatekit.sections.registry.SectionRegistry.policy_model`).

    Returns
    -------
    LoadedPolicy

    Raises
    ------
    PolicyError
        Listing every problem found, each with file, line, column and key.
    """
    registry = registry or default_registry()
    pos: dict[Path_, tuple[int, int]] = {}
    problems: list[Problem] = []
    if isinstance(source, dict):
        import json

        data: Any = source
        path = None
        file = "<policy>"
        digest = hashlib.sha256(json.dumps(source, sort_keys=True, default=str).encode()).hexdigest()
    else:
        path = Path(source)
        file = str(path)
        data, digest = read_yaml(path, pos, problems)
    bases: list[tuple[str, str]] = []
    if isinstance(data, dict) and "extends" in data:
        offsets: dict[tuple[str, ...], int] = {}
        try:
            data = resolve_extends(data, path.parent if path is not None else Path.cwd(), file, bases,
                                    {path.resolve()} if path is not None else set(), offsets)
        except RecursionError:
            raise PolicyError([Problem("the policy (with its extends: bases) is nested too deeply", file,
                                       key="extends")]) from None
        except PolicyError as exc:  # the child's extends: problems point at its extends: line
            line, col = pos.get(("extends",), (None, None))
            raise PolicyError([dataclasses.replace(p, line=line, column=col)
                               if p.file == file and p.line is None and p.key == "extends" else p
                               for p in exc.problems]) from None
        for loc, shift in offsets.items():  # the child's rules follow the base's kept rules
            n = len(loc)
            pos = {((*k[:n], k[n] + shift, *k[n + 1:]) if k[:n] == loc and len(k) > n and isinstance(k[n], int)
                    else k): v for k, v in pos.items()}
    if not isinstance(data, dict):
        kind = "empty" if data is None else f"a {type(data).__name__}"
        raise PolicyError([Problem(f"the policy must be a mapping with at least 'version:', but the file is {kind}",
                                   file, 1)])
    custom = None
    if data.get("custom_metrics") is not None:  # before any metric name is checked: rules may name them
        from gatekit.policy.custom_metrics import load_custom_metrics

        registry, custom, found = load_custom_metrics(data["custom_metrics"], path.parent if path is not None
                                                      else Path.cwd(), pos, file, registry)
        if found:  # the rules naming these metrics would only add "unknown metric" noise
            raise PolicyError(problems + found)
    found, cleaned_params, canary_params = rule_problems(data, pos, registry, file)
    problems.extend(found)
    try:
        policy = model.model_validate(data, context={"registry": registry})
    except ValidationError as exc:
        problems.extend(pydantic_problems(exc, data, pos, file))
        policy = None
    except RecursionError:
        raise PolicyError([Problem("the policy is nested too deeply", file)]) from None
    if policy is not None and not any(policy.rule_counts().values()):
        problems.append(Problem("the policy has no rules (metrics:, gates: or a section), so it could never pass; "
                                "add at least one rule", file, 1, 1))
    if policy is not None:
        problems.extend(_suite_problems(policy, path.parent if path is not None else Path.cwd(), pos, file))
    if problems:
        raise PolicyError(sorted(problems, key=lambda p: (p.line or 0, p.column or 0)))
    assert policy is not None
    lp = LoadedPolicy(policy=policy, path=path, sha256=digest, positions=pos, params=cleaned_params,
                      canary_params=canary_params, bases=bases, custom=custom,
                      registry=registry if custom is not None else None)
    for i, rule in enumerate(policy.metrics):
        resolved = registry.resolve(rule.name)
        assert resolved is not None  # validated by MetricRule
        lp.resolved[i] = resolved
    for i, rule in enumerate(policy.canary.rules if policy.canary else []):
        resolved = registry.resolve(rule.name)
        assert resolved is not None
        lp.canary_resolved[i] = resolved
    for i, gate in enumerate(policy.gates):
        lp.expressions[i] = parse(gate.require)  # validated by GateRule
    return lp
