"""Resolve a policy's ``extends:``: read its base policies and merge the policy over them.

Mappings merge key by key; ``metrics``, ``canary.rules`` and ``gates`` merge rule by rule, a
child rule replacing the base rule with the same identity (:func:`rule_identity`, gate name).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from gatekit.core.errors import PolicyError, Problem
from gatekit.policy.source import read_yaml


def rule_identity(rule: Any) -> Any:
    """Identity of a metric rule for ``extends:``: a child rule with the same identity replaces the base's.

    Parameters
    ----------
    rule : Any
        A rule as written in the YAML (a mapping); anything else is only identical to itself.

    Returns
    -------
    Any
        ``(name, op or relative key, params, confidence, guardband)`` for a mapping, ``id(rule)`` otherwise.
    """
    if not isinstance(rule, dict):
        return id(rule)
    from gatekit.policy.specs import RELATIVE_KEYS

    form = rule.get("op") or next((k for k in RELATIVE_KEYS if k in rule), None)
    params = rule.get("params")  # params: {} is no params
    return (rule.get("name"), form, repr(sorted(params.items())) if isinstance(params, dict) and params else None,
            rule.get("confidence"), rule.get("guardband"))


def _gate_identity(gate: Any) -> Any:
    return gate.get("gate") if isinstance(gate, dict) else id(gate)


def merge_policies(base: dict[str, Any], child: dict[str, Any]) -> dict[str, Any]:
    """Merge ``child`` over ``base`` (``extends:``).

    Mappings merge key by key, the child's scalars and lists winning; ``metrics`` (and ``canary.rules``)
    keep the base's rules and add the child's, a child rule with the same metric name, operator or
    relative key, parameters and confidence settings replacing the base's; ``gates`` likewise by gate
    name. Any other list is replaced whole by the child's.
    """
    out = dict(base)
    for key, value in child.items():
        old = out.get(key)
        if key in ("metrics", "rules", "gates") and isinstance(old, list) and isinstance(value, list):
            ident = _gate_identity if key == "gates" else rule_identity
            replaced = {ident(r) for r in value}
            out[key] = [r for r in old if ident(r) not in replaced] + list(value)
        elif isinstance(old, dict) and isinstance(value, dict):
            out[key] = merge_policies(old, value)
        else:
            out[key] = value
    return out


def resolve_extends(data: dict[str, Any], folder: Path, file: str, bases: list[tuple[str, str]],
                     seen: set[Path], offsets: dict[tuple[str, ...], int] | None = None) -> dict[str, Any]:
    """Merge the policy's ``extends:`` files (in order, each possibly extending others) under it."""
    ext = data.get("extends")
    names = [ext] if isinstance(ext, str) else ext
    if not isinstance(names, list) or not names or not all(isinstance(n, str) for n in names):
        raise PolicyError([Problem("extends must be a policy file or a list of them, e.g. extends: base.yaml", file,
                                   key="extends")])
    merged: dict[str, Any] = {}
    for name in names:
        bpath = (folder / name).resolve()
        if bpath in seen:
            raise PolicyError([Problem(f"extends cycle: {name} extends, directly or not, the policy itself", file,
                                       key="extends")])
        if not bpath.is_file():
            raise PolicyError([Problem(f"extends: {name} not found (relative to {folder})", file, key="extends")])
        base_problems: list[Problem] = []
        bdata, bdigest = read_yaml(bpath, {}, base_problems)
        if base_problems:
            raise PolicyError(base_problems)
        if not isinstance(bdata, dict):
            raise PolicyError([Problem("a base policy must be a mapping", str(bpath))])
        if "extends" in bdata:
            bdata = resolve_extends(bdata, bpath.parent, str(bpath), bases, seen | {bpath})
        bases.append((str(bpath), bdigest))
        merged = merge_policies(merged, bdata)
    child = {k: v for k, v in data.items() if k != "extends"}
    if offsets is not None:  # where the child's rules land in the merged lists (for its line numbers)
        for loc in (("metrics",), ("gates",), ("canary", "rules")):
            base_list: Any = merged
            child_list: Any = child
            for part in loc:
                base_list = base_list.get(part) if isinstance(base_list, dict) else None
                child_list = child_list.get(part) if isinstance(child_list, dict) else None
            if isinstance(base_list, list) and isinstance(child_list, list):
                ident = _gate_identity if loc == ("gates",) else rule_identity
                replaced = {ident(r) for r in child_list}
                offsets[loc] = sum(ident(r) not in replaced for r in base_list)
    return merge_policies(merged, child)
