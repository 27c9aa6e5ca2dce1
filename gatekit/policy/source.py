"""Read a policy YAML file safely, recording where every key and value is.

PyYAML's safe loader extended with YAML 1.2 floats, size and node limits (an alias bomb is measured,
never expanded), duplicate-key detection, and the key-path -> (line, column) map that every
problem message uses to point at its file and line.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import yaml

from gatekit.core.errors import PolicyError, Problem
from gatekit.core.yaml_limits import (  # the limits live in core: every YAML gatekit reads uses them
    MAX_PATH_CHARS,
    MAX_POLICY_BYTES,
    MAX_POLICY_DEPTH,
    MAX_POLICY_NODES,
    PolicyYamlLoader,
    depth_exceeds,
    expanded_size,
)

Path_ = tuple[Any, ...]
"""A key path into the policy mapping: keys and list indices, e.g. ``("metrics", 0, "op")``."""


def _walk(node: yaml.Node, path: Path_, pos: dict[Path_, tuple[int, int]], problems: list[Problem],
          file: str, seen_nodes: set[int] | None = None) -> None:
    seen_nodes = set() if seen_nodes is None else seen_nodes
    if id(node) in seen_nodes:  # an alias of a node already walked: its positions are the anchor's
        return
    seen_nodes.add(id(node))
    if isinstance(node, yaml.MappingNode):
        seen: dict[Any, int] = {}
        for key_node, value_node in node.value:
            key = key_node.value
            line = key_node.start_mark.line + 1
            if key in seen:
                problems.append(Problem(
                    f"duplicate key {key!r} (first at line {seen[key]}); YAML would silently keep only the "
                    "last one: remove or rename one of them", file, line, key_node.start_mark.column + 1,
                    dotted((*path, key))))
            seen[key] = line
            # the key paths are bound to names first: mypy reads pos[(*path, key)] as 3.11's pos[*path, key]
            key_path = (*path, key)
            value_path = (*path, key, "__value__")
            pos[key_path] = (line, key_node.start_mark.column + 1)
            pos[value_path] = (value_node.start_mark.line + 1, value_node.start_mark.column + 1)
            _walk(value_node, key_path, pos, problems, file, seen_nodes)
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            item_path = (*path, i)
            pos[item_path] = (item.start_mark.line + 1, item.start_mark.column + 1)
            _walk(item, item_path, pos, problems, file, seen_nodes)


def dotted(path: Path_) -> str:
    """Return a key path as the policy writes it: ``metrics[2].params.threshold``."""
    out = ""
    for p in path:
        if isinstance(p, int):
            out += f"[{p}]"
        else:
            out += ("." if out else "") + str(p)
    return out


def where(loc: Path_, pos: dict[Path_, tuple[int, int]]) -> tuple[int | None, int | None]:
    """Return the line and column of ``loc`` in the YAML, or of its nearest parent that has a position."""
    for n in range(len(loc), -1, -1):
        if tuple(loc[:n]) in pos:
            return pos[tuple(loc[:n])]
    return None, None


def read_yaml(path: Path, pos: dict[Path_, tuple[int, int]],
               problems: list[Problem]) -> tuple[Any, str]:
    """Read one policy YAML file safely: its data (positions into ``pos``) and its sha256.

    Raises
    ------
    PolicyError
        A path with a control character or too long, unreadable, oversized, not UTF-8, not YAML, or an alias
        bomb.
    """
    file = str(path)
    if any(ord(ch) < 32 or ord(ch) == 127 for ch in file):  # the OS raises ValueError for a NUL byte
        raise PolicyError([Problem("the policy's path holds a control character (a NUL byte, a newline, ...); "
                                   "check the path", repr(file)[1:-1][:300])])
    if len(file) > MAX_PATH_CHARS:
        raise PolicyError([Problem(f"the policy's path has {len(file):,} characters, more than any file system "
                                   f"allows ({MAX_PATH_CHARS:,}); check the path", file[:300] + "...")])
    try:
        if path.exists() and not path.is_file():
            raise PolicyError([Problem("not a regular file; give the policy's YAML file", file)])
        nbytes = path.stat().st_size if path.is_file() else 0
        if nbytes > MAX_POLICY_BYTES:
            raise PolicyError([Problem(f"the file is {nbytes:,} bytes; a policy is a small YAML file "
                                       f"(limit {MAX_POLICY_BYTES:,} bytes)", file)])
        raw = path.read_bytes()
    except FileNotFoundError:
        raise PolicyError([Problem("policy file not found; check the path", file)]) from None
    except OSError as exc:  # a name too long for the file system, no permission, a symlink loop, ...
        raise PolicyError([Problem(f"cannot read the policy file: {exc.strerror or type(exc).__name__}",
                                   file)]) from None
    digest = hashlib.sha256(raw).hexdigest()
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise PolicyError([Problem(f"not UTF-8 text (byte {exc.start}); save the policy as UTF-8", file)]) from None
    loader = None
    try:
        loader = PolicyYamlLoader(text)  # a SafeLoader subclass: no Python objects; may reject the text
        root = loader.get_single_node()  # parsed once: sized, walked for positions, then constructed
        size = expanded_size(root) if root is not None else 0
        if size is None:
            raise PolicyError([Problem("a YAML alias refers to itself (recursive structure); remove it", file)])
        if size > MAX_POLICY_NODES:
            raise PolicyError([Problem(f"the policy expands to more than {MAX_POLICY_NODES:,} values through "
                                       "YAML aliases; a policy this large is not a policy", file)])
        if root is not None and depth_exceeds(root, MAX_POLICY_DEPTH):
            raise PolicyError([Problem(f"the YAML is nested more than {MAX_POLICY_DEPTH} levels deep; a policy "
                                       "is never this deep", file)])
        data = loader.construct_document(root) if root is not None else None
        if root is not None:
            _walk(root, (), pos, problems, file)
    except RecursionError:
        raise PolicyError([Problem("the YAML is nested too deeply", file)]) from None
    except ValueError as exc:  # e.g. an integer with thousands of digits
        raise PolicyError([Problem(f"YAML value error: {exc}", file)]) from None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark
        line = mark.line + 1 if mark else None
        col = mark.column + 1 if mark else None
        raise PolicyError([Problem(f"YAML syntax error: {exc.problem}", file, line, col)]) from None
    except yaml.YAMLError as exc:
        raise PolicyError([Problem(f"YAML error: {exc}", file)]) from None
    finally:
        if loader is not None:
            loader.dispose()
    return data, digest
