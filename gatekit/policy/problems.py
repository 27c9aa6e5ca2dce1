"""Turn what is wrong with a policy mapping into :class:`~gatekit.core.errors.Problem` s with file:line.

pydantic's validation errors become messages at the offending key (unknown keys with a did-you-mean
and the keys allowed there, wrong types with the value given); the cross-rule checks that pydantic
cannot make (metric parameters, repeated rules, repeated gate names) run on the raw mapping, so
they are reported even when other keys are invalid.
"""

from __future__ import annotations

import difflib
import inspect
import reprlib
from typing import Any, get_args

from pydantic import BaseModel, ValidationError

from gatekit.core.errors import Problem
from gatekit.metrics.registry import MetricRegistry, ResolvedMetric
from gatekit.policy.source import Path_, dotted, where
from gatekit.policy.specs import Policy


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


def pydantic_problems(err: ValidationError, data: Any, pos: dict[Path_, tuple[int, int]],
                       file: str) -> list[Problem]:
    """Turn pydantic's validation errors into problems with file, line, column and key (and a did-you-mean)."""
    problems: list[Problem] = []
    seen: set[tuple[Path_, str]] = set()
    for e in err.errors(include_url=False):
        loc = _clean_loc(tuple(e["loc"]), data)
        etype = e["type"]
        msg = e["msg"]
        if etype == "missing":
            msg = f"required key {loc[-1]!r} is missing"
            line, col = where(loc[:-1], pos)
            if line is None and len(loc) == 1:
                line, col = 1, 1
        elif etype == "extra_forbidden":
            loc = tuple(e["loc"])
            msg = _unknown_key_message(loc)
            line, col = where(loc, pos)
        else:
            line, col = where(loc, pos)
            given = e.get("input")
            if etype.endswith("_type") or etype in ("literal_error", "string_pattern_mismatch"):
                msg = f"{msg} (got {reprlib.repr(given)})"
        key = (loc, msg)
        if key in seen:
            continue
        seen.add(key)
        problems.append(Problem(msg, file, line, col, dotted(loc) or None))
    return problems


def _param_defaults(res: ResolvedMetric) -> dict[str, Any]:
    """Default values of a metric's rule parameters (from its function signature)."""
    if res.spec.fn is None:
        return {}
    sig = inspect.signature(res.spec.fn)
    return {k: p.default for k, p in sig.parameters.items()
            if k in res.spec.params and k not in res.name_params and p.default is not inspect.Parameter.empty}


def _required_params(res: ResolvedMetric) -> list[str]:
    """Rule parameters of a metric that have no default (none of gatekit's own; a custom metric may have some)."""
    if res.spec.fn is None or not res.spec.params:
        return []
    sig = inspect.signature(res.spec.fn)
    return [k for k, p in sig.parameters.items()
            if k in res.spec.params and k not in res.name_params and p.default is inspect.Parameter.empty
            and p.kind in (inspect.Parameter.KEYWORD_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)]


def rule_problems(data: dict[str, Any], pos: dict[Path_, tuple[int, int]], registry: MetricRegistry,
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
        return where(loc, pos)

    gates = data.get("gates")
    gate_names: dict[str, int] = {}
    for i, gate in enumerate(gates if isinstance(gates, list) else []):
        name = gate.get("gate") if isinstance(gate, dict) else None
        if not isinstance(name, str):
            continue
        if name in gate_names:
            problems.append(Problem(f"duplicate gate name {name!r} (also gates[{gate_names[name]}])",
                                    file, *at(("gates", i, "gate")), dotted(("gates", i, "gate"))))
        gate_names.setdefault(name, i)
    return problems, cleaned, canary_cleaned


def _list_rule_problems(rules: Any, prefix: Path_, pos: dict[Path_, tuple[int, int]], registry: MetricRegistry,
                        file: str, problems: list[Problem]) -> dict[int, dict[str, Any]]:
    """Validate the parameters of one list of metric rules and find repeated rules; return cleaned params."""
    from gatekit.policy.specs import RELATIVE_KEYS

    cleaned: dict[int, dict[str, Any]] = {}

    def at(loc: Path_) -> tuple[int | None, int | None]:
        return where(loc, pos)

    where_text = ".".join(str(p) for p in prefix)
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
                                        file, *at(ploc), dotted(ploc)))
                continue
            if pname in res.name_params:
                problems.append(Problem(f"parameter {pname!r} is already set by the metric name {rule['name']!r}",
                                        file, *at(ploc), dotted(ploc)))
                continue
            try:
                clean[pname] = res.spec.params[pname](pval)
            except (ValueError, TypeError) as exc:
                problems.append(Problem(f"bad value {pval!r} for parameter {pname!r}: {exc}", file, *at(ploc),
                                        dotted(ploc)))
        given = params if isinstance(params, dict) else {}
        needed = [k for k in _required_params(res) if k not in given]
        if needed:  # a parameter without a default (a custom metric's): the rule must give it
            ploc = (*prefix, i)
            problems.append(Problem(f"metric {res.canonical!r} needs parameter(s) {', '.join(needed)}: give them "
                                    f"under params: (e.g. params: {{{needed[0]}: ...}})", file, *at(ploc),
                                    dotted(ploc)))
        cleaned[i] = clean
        applied = {**_param_defaults(res), **clean}
        form = rule.get("op") or next((k for k in RELATIVE_KEYS if k in rule), None)
        dup_key = (res.canonical, str(form), str(rule.get("on_fail", "block")),
                   tuple(sorted((k, repr(v)) for k, v in applied.items())),
                   tuple(repr(rule.get(k)) for k in ("confidence", "guardband", "mode", "interval")))
        if dup_key in seen:
            first = seen[dup_key]
            problems.append(Problem(
                f"duplicate rule: {rule['name']} {form} ... with on_fail {dup_key[2]} repeats "
                f"{where_text}[{first}] (line {at((*prefix, first))[0]}); keep the stricter one",
                file, *at((*prefix, i)), dotted((*prefix, i))))
        else:
            seen[dup_key] = i
    return cleaned
