"""YAML read within limits: a safe loader with YAML 1.2 floats, and size, alias and depth limits.

Policies (:mod:`gatekit.policy.source`) and every other YAML file gatekit reads (signature files, an MLflow
``MLmodel`` beside a model) use these, so a small file can never expand into gigabytes (an alias bomb is measured
on the node graph, never expanded) or nest deeper than anything later recurses into safely.
"""

from __future__ import annotations

import re

import yaml


class PolicyYamlLoader(yaml.SafeLoader):
    """PyYAML's safe loader (no Python objects) that also reads YAML 1.2 floats such as ``1e-3``.

    PyYAML follows YAML 1.1, where a float needs a dot, so ``value: 1e-3`` would be the string
    ``"1e-3"`` and then a type error; YAML 1.2 and every other parser read it as 0.001.
    """


PolicyYamlLoader.add_implicit_resolver(
    "tag:yaml.org,2002:float",
    re.compile(r"^[-+]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)[eE][-+]?[0-9]+$"),
    list("-+0123456789."),
)

MAX_POLICY_BYTES = 1024 * 1024
MAX_POLICY_NODES = 100_000
MAX_POLICY_DEPTH = 64
"""Deepest nesting of mappings and lists a policy may have (the deepest shipped policy has 7); checked on the
parsed nodes without recursion, so nothing later recurses into a deeper structure."""
MAX_PATH_CHARS = 4096
"""The longest path gatekit reads (Linux's PATH_MAX); a longer one is a mistake, never a file."""


def expanded_size(root: yaml.Node) -> int | None:
    """Count the nodes of the document with YAML aliases expanded; None if an alias is recursive.

    Computed on the node graph with memoisation, so an alias bomb ("billion laughs") is measured in
    time proportional to its text, never expanded.
    """
    memo: dict[int, int] = {}
    stack: list[tuple[yaml.Node, bool]] = [(root, False)]
    active: set[int] = set()
    while stack:
        node, done = stack.pop()
        nid = id(node)
        if done:
            active.discard(nid)
            kids = children(node)
            memo[nid] = min(1 + sum(memo[id(k)] for k in kids), MAX_POLICY_NODES + 1)
            continue
        if nid in memo:
            continue
        if nid in active:
            return None
        active.add(nid)
        stack.append((node, True))
        for k in children(node):
            if id(k) in active:
                return None
            if id(k) not in memo:
                stack.append((k, False))
    return memo[id(root)]


def depth_exceeds(root: yaml.Node, limit: int) -> bool:
    """Tell whether the node tree nests deeper than ``limit`` (iterative; aliases are followed once)."""
    stack: list[tuple[yaml.Node, int]] = [(root, 1)]
    seen: set[int] = set()
    while stack:
        node, depth = stack.pop()
        if depth > limit:
            return True
        if id(node) in seen:
            continue
        seen.add(id(node))
        stack.extend((k, depth + 1) for k in children(node))
    return False


def children(node: yaml.Node) -> list[yaml.Node]:
    """Return a node's child nodes (a mapping's keys and values, a sequence's items; none for a scalar)."""
    if isinstance(node, yaml.MappingNode):
        return [n for pair in node.value for n in pair]
    if isinstance(node, yaml.SequenceNode):
        return list(node.value)
    return []
