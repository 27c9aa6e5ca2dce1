"""Resolve a policy's ``extends:``: read its base policies and merge the policy over them.

Mappings merge key by key; ``metrics``, ``canary.rules`` and ``gates`` merge rule by rule, a
child rule replacing the base rule with the same identity (:func:`rule_identity`, gate name).

What ``extends:`` reads: only a base policy its author could mean. A name is relative to the extending
policy's folder (``..`` and absolute paths are allowed: a shared library of bases may live anywhere), must end in
``.yaml`` or ``.yml`` (after symbolic links too), must be a regular file, and must parse to a non-empty mapping
with at least one policy key (``version:``, ``metrics:``, ...). Any other file (``/etc/shadow``, a data file, a
YAML file that is not a policy) is refused with a message that names the entry as written and never echoes the
file's content or keys.
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
        ``(name, op or relative key, params, confidence, guardband, mode)`` for a mapping, ``id(rule)`` otherwise.
    """
    if not isinstance(rule, dict):
        return id(rule)
    from gatekit.policy.specs import RELATIVE_KEYS

    form = rule.get("op") or next((k for k in RELATIVE_KEYS if k in rule), None)
    params = rule.get("params")  # params: {} is no params
    return _hashable((rule.get("name"), form,
                      repr(sorted(params.items(), key=repr)) if isinstance(params, dict) and params else None,
                      rule.get("confidence"), rule.get("guardband"), rule.get("mode")))


def _hashable(ident: Any) -> Any:
    """Return ``ident``, or its repr when it holds a list or mapping (a malformed rule: validation reports it)."""
    try:
        hash(ident)
    except TypeError:
        return ("unhashable", repr(ident))
    return ident


def _gate_identity(gate: Any) -> Any:
    return _hashable(gate.get("gate")) if isinstance(gate, dict) else id(gate)


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


BASE_SUFFIXES = (".yaml", ".yml")
"""The only files ``extends:`` reads: a base policy is a YAML file like the policy itself."""


def _policy_keys() -> frozenset[str]:
    from gatekit.policy.specs import Policy

    return frozenset(Policy.model_fields)


def _base_path(name: str, folder: Path, file: str) -> Path:
    """Check one ``extends:`` entry and return the file it names, resolved.

    Relative names are relative to the extending policy's folder; ``..`` and absolute paths are allowed (a
    shared library of base policies lives anywhere), but only a regular ``.yaml`` / ``.yml`` file is read.
    """
    from pydantic_core import PydanticCustomError

    from gatekit.policy.specs.common import check_path

    try:
        check_path(name)
    except PydanticCustomError as exc:
        raise PolicyError([Problem(f"extends: {exc.message()}", file, key="extends")]) from None
    if not name.lower().endswith(BASE_SUFFIXES):
        raise PolicyError([Problem("extends names a base policy, a YAML file ending in .yaml or .yml; "
                                   f"{name!r} is not one (no other file is read)", file, key="extends")])
    try:
        bpath = (folder / name).resolve()
        is_file = bpath.is_file()
    except (OSError, RuntimeError) as exc:  # a name too long, a symlink loop
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else "a symbolic link loop"
        raise PolicyError([Problem(f"extends: cannot read {name!r} ({reason})", file, key="extends")]) from None
    if not is_file:
        raise PolicyError([Problem(f"extends: {name} not found or not a regular file (relative to {folder})", file,
                                   key="extends")])
    if not bpath.name.lower().endswith(BASE_SUFFIXES):  # a .yaml symlink to another file
        raise PolicyError([Problem(f"extends: {name!r} is a link to a file that is not a .yaml / .yml policy",
                                   file, key="extends")])
    return bpath


def _check_base(bdata: Any, bpath: Path, name: str, file: str) -> dict[str, Any]:
    """Refuse a base file that is not a policy, without echoing any of its content or keys."""
    policy_keys = _policy_keys()
    if not isinstance(bdata, dict) or not bdata:
        kind = "empty" if not bdata else "not a mapping"
        raise PolicyError([Problem(f"extends: {name} is {kind}; a base policy is a mapping of policy keys "
                                   "(version:, metrics:, ...)", file, key="extends")])
    keys = list(bdata)
    if not all(isinstance(k, str) for k in keys) or not any(k in policy_keys for k in keys):
        raise PolicyError([Problem(f"extends: {name} does not look like a policy (none of its top-level keys is "
                                   "a policy key such as version: or metrics:); it is not read", file,
                                   key="extends")])
    return bdata


def resolve_extends(data: dict[str, Any], folder: Path, file: str, bases: list[tuple[str, str]],
                     seen: set[Path], offsets: dict[tuple[str, ...], int] | None = None) -> dict[str, Any]:
    """Merge the policy's ``extends:`` files (in order, each possibly extending others) under it.

    Parameters
    ----------
    data : dict
        The extending policy as read.
    folder : pathlib.Path
        The folder relative names are resolved against (the extending policy's).
    file : str
        The extending policy's file, for messages.
    bases : list of (str, str)
        Filled with each base file read (path, sha256), in merge order.
    seen : set of pathlib.Path
        The policies on the way here (a cycle is an error).
    offsets : dict, optional
        Filled with where the child's rules land in the merged rule lists.

    Returns
    -------
    dict
        The merged policy, without ``extends``.

    Raises
    ------
    PolicyError
        ``extends`` is not a file name or a list of them; a name with a control character, not ending in
        ``.yaml`` / ``.yml``, missing or not a regular file; a cycle; a base that is not valid YAML, not a
        mapping or has no policy key. A message names the entry as the policy writes it, never the base's
        content or keys.
    """
    ext = data.get("extends")
    names = [ext] if isinstance(ext, str) else ext
    if not isinstance(names, list) or not names or not all(isinstance(n, str) for n in names):
        raise PolicyError([Problem("extends must be a policy file or a list of them, e.g. extends: base.yaml", file,
                                   key="extends")])
    merged: dict[str, Any] = {}
    for name in names:
        bpath = _base_path(name, folder, file)
        if bpath in seen:
            raise PolicyError([Problem(f"extends cycle: {name} extends, directly or not, the policy itself", file,
                                       key="extends")])
        base_problems: list[Problem] = []
        bdata, bdigest = read_yaml(bpath, {}, base_problems)
        bdata = _check_base(bdata, bpath, name, file)  # first: a non-policy's duplicate keys are not echoed
        if base_problems:
            raise PolicyError(base_problems)
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
