"""Load a policy YAML file into a validated :class:`~gatekit.policy.models.Policy`.

Every problem is reported with the file, the line and the key, all at once (not only the first):
YAML syntax errors, duplicate keys (which PyYAML would silently overwrite), unknown keys, wrong types,
unknown operators, unknown metric names (with the closest valid one), bad metric parameters,
duplicate metric rules and malformed ``require:`` expressions.
"""

from __future__ import annotations

import difflib
import hashlib
import inspect
import re
import reprlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, get_args

import yaml
from pydantic import BaseModel, ValidationError

from gatekit.core.errors import PolicyError, Problem
from gatekit.metrics.registry import MetricRegistry, ResolvedMetric, default_registry
from gatekit.policy.expressions import Node, parse
from gatekit.policy.models import Policy

Path_ = tuple[Any, ...]


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

    @property
    def name(self) -> str:
        """The policy's name, or the file's stem."""
        return self.policy.name or (self.path.stem if self.path else "policy")

    @property
    def base_dir(self) -> Path:
        """Folder against which relative input paths are resolved."""
        return self.path.parent if self.path else Path.cwd()


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


def _expanded_size(root: yaml.Node) -> int | None:
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
            kids = _children(node)
            memo[nid] = min(1 + sum(memo[id(k)] for k in kids), MAX_POLICY_NODES + 1)
            continue
        if nid in memo:
            continue
        if nid in active:
            return None
        active.add(nid)
        stack.append((node, True))
        for k in _children(node):
            if id(k) in active:
                return None
            if id(k) not in memo:
                stack.append((k, False))
    return memo[id(root)]


def _children(node: yaml.Node) -> list[yaml.Node]:
    if isinstance(node, yaml.MappingNode):
        return [n for pair in node.value for n in pair]
    if isinstance(node, yaml.SequenceNode):
        return list(node.value)
    return []


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
                    _dotted((*path, key))))
            seen[key] = line
            pos[(*path, key)] = (line, key_node.start_mark.column + 1)
            pos[(*path, key, "__value__")] = (value_node.start_mark.line + 1, value_node.start_mark.column + 1)
            _walk(value_node, (*path, key), pos, problems, file, seen_nodes)
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            pos[(*path, i)] = (item.start_mark.line + 1, item.start_mark.column + 1)
            _walk(item, (*path, i), pos, problems, file, seen_nodes)


def _dotted(path: Path_) -> str:
    out = ""
    for p in path:
        if isinstance(p, int):
            out += f"[{p}]"
        else:
            out += ("." if out else "") + str(p)
    return out


def _where(loc: Path_, pos: dict[Path_, tuple[int, int]]) -> tuple[int | None, int | None]:
    for n in range(len(loc), -1, -1):
        if tuple(loc[:n]) in pos:
            return pos[tuple(loc[:n])]
    return None, None


def _clean_loc(loc: Path_, data: Any) -> Path_:
    """Drop pydantic's union-branch markers (``'int'``, ``'str'``) that are not real keys."""
    out: list[Any] = []
    cur = data
    for p in loc:
        if isinstance(cur, dict) and p in cur:
            out.append(p)
            cur = cur[p]
        elif isinstance(cur, list) and isinstance(p, int) and p < len(cur):
            out.append(p)
            cur = cur[p]
        elif isinstance(cur, dict) and isinstance(p, str) and not out[-1:] == [p]:
            # a missing required key: keep it so the message names it
            if p.isidentifier() and p not in ("int", "str", "float", "bool", "list", "dict"):
                out.append(p)
            break
        else:
            break
    return tuple(out)


def _model_fields_at(path: Path_) -> list[str] | None:
    """Field names of the spec model that sits at ``path`` in the policy (None if not a model)."""
    model: Any = Policy
    keyed = False  # the previous field was a mapping of user keys (data_quality.columns.<name>)
    for p in path:
        if isinstance(p, int):
            continue
        if keyed:
            keyed = False
            continue
        field_info = model.model_fields.get(p)
        if field_info is None:
            return None
        keyed = _is_mapping(field_info.annotation)
        model = _find_model(field_info.annotation)
        if model is None:
            return None
    return sorted(model.model_fields)


def _is_mapping(annotation: Any) -> bool:
    from typing import get_origin

    if get_origin(annotation) is dict:
        return True
    return any(_is_mapping(a) for a in get_args(annotation))


def _find_model(annotation: Any) -> Any:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in get_args(annotation):
        found = _find_model(arg)
        if found is not None:
            return found
    return None


def _unknown_key_message(loc: Path_) -> str:
    key = str(loc[-1])
    allowed = _model_fields_at(loc[:-1]) or []
    close = difflib.get_close_matches(key, allowed, n=1, cutoff=0.6)
    hint = f"; did you mean {close[0]!r}?" if close else "."
    return f"unknown key {key!r}{hint} Allowed keys here: {', '.join(allowed)}"


def _pydantic_problems(err: ValidationError, data: Any, pos: dict[Path_, tuple[int, int]],
                       file: str) -> list[Problem]:
    problems: list[Problem] = []
    seen: set[tuple[Path_, str]] = set()
    for e in err.errors(include_url=False):
        loc = _clean_loc(tuple(e["loc"]), data)
        etype = e["type"]
        msg = e["msg"]
        if etype == "missing":
            msg = f"required key {loc[-1]!r} is missing"
            line, col = _where(loc[:-1], pos)
            if line is None and len(loc) == 1:
                line, col = 1, 1
        elif etype == "extra_forbidden":
            loc = tuple(e["loc"])
            msg = _unknown_key_message(loc)
            line, col = _where(loc, pos)
        else:
            line, col = _where(loc, pos)
            given = e.get("input")
            if etype.endswith("_type") or etype in ("literal_error", "string_pattern_mismatch"):
                msg = f"{msg} (got {reprlib.repr(given)})"
        key = (loc, msg)
        if key in seen:
            continue
        seen.add(key)
        problems.append(Problem(msg, file, line, col, _dotted(loc) or None))
    return problems


def _param_defaults(res: ResolvedMetric) -> dict[str, Any]:
    """Default values of a metric's rule parameters (from its function signature)."""
    if res.spec.fn is None:
        return {}
    sig = inspect.signature(res.spec.fn)
    return {k: p.default for k, p in sig.parameters.items()
            if k in res.spec.params and k not in res.name_params and p.default is not inspect.Parameter.empty}


def _rule_problems(data: dict[str, Any], pos: dict[Path_, tuple[int, int]], registry: MetricRegistry,
                   file: str) -> tuple[list[Problem], dict[int, dict[str, Any]], dict[int, dict[str, Any]]]:
    """Cross-rule and parameter checks, on the raw mapping so they run even when other keys are invalid.

    A duplicate rule is one with the same metric, the same parameters (defaults filled in), the same
    operator (or baseline-relative key) and the same ``on_fail``: the looser of the two could never decide
    anything. Tiers on one metric (``auc_roc >= 0.85`` warn and ``auc_roc >= 0.75`` block) differ in
    ``on_fail`` and are fine. Returns the problems and the cleaned parameters of ``metrics:`` and of
    ``canary.rules``.
    """
    problems: list[Problem] = []
    canary = data.get("canary")
    cleaned = _list_rule_problems(data.get("metrics"), ("metrics",), pos, registry, file, problems)
    canary_cleaned = _list_rule_problems(canary.get("rules") if isinstance(canary, dict) else None,
                                         ("canary", "rules"), pos, registry, file, problems)

    def at(loc: Path_) -> tuple[int | None, int | None]:
        return _where(loc, pos)

    gates = data.get("gates")
    gate_names: dict[str, int] = {}
    for i, gate in enumerate(gates if isinstance(gates, list) else []):
        name = gate.get("gate") if isinstance(gate, dict) else None
        if not isinstance(name, str):
            continue
        if name in gate_names:
            problems.append(Problem(f"duplicate gate name {name!r} (also gates[{gate_names[name]}])",
                                    file, *at(("gates", i, "gate")), _dotted(("gates", i, "gate"))))
        gate_names.setdefault(name, i)
    return problems, cleaned, canary_cleaned


def _list_rule_problems(rules: Any, prefix: Path_, pos: dict[Path_, tuple[int, int]], registry: MetricRegistry,
                        file: str, problems: list[Problem]) -> dict[int, dict[str, Any]]:
    """Validate the parameters of one list of metric rules and find repeated rules; return cleaned params."""
    from gatekit.policy.models import RELATIVE_KEYS

    cleaned: dict[int, dict[str, Any]] = {}

    def at(loc: Path_) -> tuple[int | None, int | None]:
        return _where(loc, pos)

    where = ".".join(str(p) for p in prefix)
    seen: dict[tuple[Any, ...], int] = {}
    for i, rule in enumerate(rules if isinstance(rules, list) else []):
        if not isinstance(rule, dict) or not isinstance(rule.get("name"), str):
            continue
        res = registry.resolve(rule["name"])
        if res is None:  # reported by the model's validator
            continue
        params = rule.get("params") or {}
        clean: dict[str, Any] = {}
        for pname, pval in (params.items() if isinstance(params, dict) else []):
            ploc = (*prefix, i, "params", pname)
            if pname not in res.spec.params:
                allowed = ", ".join(res.spec.params) or "none"
                problems.append(Problem(f"metric {res.canonical!r} has no parameter {pname!r} (allowed: {allowed})",
                                        file, *at(ploc), _dotted(ploc)))
                continue
            if pname in res.name_params:
                problems.append(Problem(f"parameter {pname!r} is already set by the metric name {rule['name']!r}",
                                        file, *at(ploc), _dotted(ploc)))
                continue
            try:
                clean[pname] = res.spec.params[pname](pval)
            except (ValueError, TypeError) as exc:
                problems.append(Problem(f"bad value {pval!r} for parameter {pname!r}: {exc}", file, *at(ploc),
                                        _dotted(ploc)))
        cleaned[i] = clean
        applied = {**_param_defaults(res), **clean}
        form = rule.get("op") or next((k for k in RELATIVE_KEYS if k in rule), None)
        dup_key = (res.canonical, str(form), str(rule.get("on_fail", "block")),
                   tuple(sorted((k, repr(v)) for k, v in applied.items())),
                   tuple(repr(rule.get(k)) for k in ("confidence", "guardband", "interval")))
        if dup_key in seen:
            first = seen[dup_key]
            problems.append(Problem(
                f"duplicate rule: {rule['name']} {form} ... with on_fail {dup_key[2]} repeats "
                f"{where}[{first}] (line {at((*prefix, first))[0]}); keep the stricter one",
                file, *at((*prefix, i)), _dotted((*prefix, i))))
        else:
            seen[dup_key] = i
    return cleaned


def _has_rules(policy: Policy) -> bool:
    if policy.metrics or policy.gates or policy.drift is not None or policy.canary is not None:
        return True
    return any(spec is not None and spec.rule_count() > 0
               for spec in (policy.compatibility, policy.data_quality, policy.artifact, policy.security,
                            policy.robustness))


def _read_yaml(path: Path, pos: dict[Path_, tuple[int, int]],
               problems: list[Problem]) -> tuple[Any, str]:
    """Read one policy YAML file safely: its data (positions into ``pos``) and its sha256.

    Raises
    ------
    PolicyError
        Unreadable, oversized, not UTF-8, not YAML, or an alias bomb.
    """
    file = str(path)
    if path.exists() and not path.is_file():
        raise PolicyError([Problem("not a regular file; give the policy's YAML file", file)])
    if path.is_file() and path.stat().st_size > MAX_POLICY_BYTES:
        raise PolicyError([Problem(f"the file is {path.stat().st_size:,} bytes; a policy is a small YAML file "
                                   f"(limit {MAX_POLICY_BYTES:,} bytes)", file)])
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise PolicyError([Problem("policy file not found; check the path", file)]) from None
    except OSError as exc:
        raise PolicyError([Problem(f"cannot read the policy file: {exc.strerror}", file)]) from None
    digest = hashlib.sha256(raw).hexdigest()
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise PolicyError([Problem(f"not UTF-8 text (byte {exc.start}); save the policy as UTF-8", file)]) from None
    loader = None
    try:
        loader = PolicyYamlLoader(text)  # a SafeLoader subclass: no Python objects; may reject the text
        root = loader.get_single_node()  # parsed once: sized, walked for positions, then constructed
        size = _expanded_size(root) if root is not None else 0
        if size is None:
            raise PolicyError([Problem("a YAML alias refers to itself (recursive structure); remove it", file)])
        if size > MAX_POLICY_NODES:
            raise PolicyError([Problem(f"the policy expands to more than {MAX_POLICY_NODES:,} values through "
                                       "YAML aliases; a policy this large is not a policy", file)])
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


def _rule_identity(rule: Any) -> Any:
    if not isinstance(rule, dict):
        return id(rule)
    from gatekit.policy.models import RELATIVE_KEYS

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
            ident = _gate_identity if key == "gates" else _rule_identity
            replaced = {ident(r) for r in value}
            out[key] = [r for r in old if ident(r) not in replaced] + list(value)
        elif isinstance(old, dict) and isinstance(value, dict):
            out[key] = merge_policies(old, value)
        else:
            out[key] = value
    return out


def _resolve_extends(data: dict[str, Any], folder: Path, file: str, bases: list[tuple[str, str]],
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
        bdata, bdigest = _read_yaml(bpath, {}, base_problems)
        if base_problems:
            raise PolicyError(base_problems)
        if not isinstance(bdata, dict):
            raise PolicyError([Problem("a base policy must be a mapping", str(bpath))])
        if "extends" in bdata:
            bdata = _resolve_extends(bdata, bpath.parent, str(bpath), bases, seen | {bpath})
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
                ident = _gate_identity if loc == ("gates",) else _rule_identity
                replaced = {ident(r) for r in child_list}
                offsets[loc] = sum(ident(r) not in replaced for r in base_list)
    return merge_policies(merged, child)


def load_policy(source: str | Path | dict[str, Any], registry: MetricRegistry | None = None) -> LoadedPolicy:
    """Read and validate a policy.

    Parameters
    ----------
    source : str, pathlib.Path or dict
        Path of a YAML file, or an already parsed mapping.
    registry : MetricRegistry, optional
        Metric names to accept; default :func:`~gatekit.metrics.default_registry`.

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
        data, digest = _read_yaml(path, pos, problems)
    bases: list[tuple[str, str]] = []
    if isinstance(data, dict) and "extends" in data:
        offsets: dict[tuple[str, ...], int] = {}
        data = _resolve_extends(data, path.parent if path is not None else Path.cwd(), file, bases,
                                {path.resolve()} if path is not None else set(), offsets)
        for loc, shift in offsets.items():  # the child's rules follow the base's kept rules
            n = len(loc)
            pos = {((*k[:n], k[n] + shift, *k[n + 1:]) if k[:n] == loc and len(k) > n and isinstance(k[n], int)
                    else k): v for k, v in pos.items()}
    if not isinstance(data, dict):
        kind = "empty" if data is None else f"a {type(data).__name__}"
        raise PolicyError([Problem(f"the policy must be a mapping with at least 'version:', but the file is {kind}",
                                   file, 1)])
    rule_problems, cleaned_params, canary_params = _rule_problems(data, pos, registry, file)
    problems.extend(rule_problems)
    try:
        policy = Policy.model_validate(data, context={"registry": registry})
    except ValidationError as exc:
        problems.extend(_pydantic_problems(exc, data, pos, file))
        policy = None
    except RecursionError:
        raise PolicyError([Problem("the policy is nested too deeply", file)]) from None
    if policy is not None and not _has_rules(policy):
        problems.append(Problem("the policy has no rules (metrics:, gates: or a section), so it could never pass; "
                                "add at least one rule", file, 1, 1))
    if problems:
        raise PolicyError(sorted(problems, key=lambda p: (p.line or 0, p.column or 0)))
    assert policy is not None
    lp = LoadedPolicy(policy=policy, path=path, sha256=digest, positions=pos, params=cleaned_params,
                      canary_params=canary_params, bases=bases)
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
