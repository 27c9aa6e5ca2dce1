"""Write the policy reference's key tables (docs/policy/*.md) from the pydantic specs in gatekit/policy/specs/.

Each table sits between two markers on its page and is replaced whole:

    <!-- spec-table: DriftSpec -->
    ...generated...
    <!-- /spec-table -->

A row per field of the spec: its YAML key, the type the policy file may hold (the spec's JSON Schema in validation
mode, so a shorthand such as ``sensitive: afam`` for a list shows), the default (``required``, ``not set``, or the
value as YAML), the allowed values (enums, bounds, patterns, the vocabularies gatekit checks) and the meaning (the
spec's numpydoc ``Parameters`` entry). Nothing is typed by hand, so the pages cannot drift from the specs:
tests/test_docs.py fails when a table is stale or a spec reachable from the policy has no table.

    python scripts/docs_spec_tables.py           # rewrite the tables in docs/
    python scripts/docs_spec_tables.py --check   # exit 1 (and say what) when a table is stale or missing
"""

from __future__ import annotations

import argparse
import enum
import inspect
import os
import re
import sys
import typing
from pathlib import Path
from typing import Any

import griffe
import yaml
from pydantic import BaseModel

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
BLOCK = re.compile(r"(<!-- spec-table: (?P<name>\w+) -->\n)(?P<body>.*?)(<!-- /spec-table -->)", re.S)
HEADER = ("| key | type | default | allowed values | meaning |\n"
          "|---|---|---|---|---|\n")
NOT_SET = "not set"
GENERIC = {"description": "Free text: why it exists; shown in the report.",
           "on_fail": "Severity: `block` or `warn`."}
"""Meanings of keys a spec's docstring leaves out (the same key means the same everywhere)."""
REQUIRED = "required"


def spec_classes() -> list[type[BaseModel]]:
    """Return every spec model reachable from :class:`~gatekit.policy.specs.Policy`, the policy first.

    Walks each field's annotation (lists, mappings, unions, ``Annotated``) depth first, in field order.
    """
    from gatekit.policy.specs import Policy

    seen: list[type[BaseModel]] = []

    def visit(cls: type[BaseModel]) -> None:
        if cls in seen:
            return
        seen.append(cls)
        for field in cls.model_fields.values():
            for sub in _models_in(field.annotation):
                visit(sub)

    visit(Policy)
    return seen


def _models_in(annotation: Any) -> list[type[BaseModel]]:
    if inspect.isclass(annotation) and issubclass(annotation, BaseModel):
        return [annotation]
    return [m for arg in typing.get_args(annotation) for m in _models_in(arg)]


def _validators_in(annotation: Any) -> list[Any]:
    """The functions of the Before/After validators inside an ``Annotated`` annotation, at any depth."""
    out = [getattr(m, "func", None) for m in getattr(annotation, "__metadata__", ())]
    return [f for f in out if f is not None] + [f for a in typing.get_args(annotation) for f in _validators_in(a)]


def _code(text: str) -> str:
    """The numpydoc text as Markdown in one table cell."""
    text = re.sub(r":(?:mod|class|func|data|meth|attr|command):`~?([^`]+)`",
                  lambda m: f"`{m.group(1).split('.')[-1] if m.group(0).count('~') else m.group(1)}`", text)
    text = text.replace("``", "`")
    return " ".join(text.split()).replace("|", "\\|")


def descriptions(cls: type[BaseModel]) -> dict[str, str]:
    """Field name -> the spec's numpydoc ``Parameters`` description (Markdown, one line)."""
    doc = inspect.getdoc(cls) or ""
    out: dict[str, str] = {}
    for section in griffe.Docstring(doc, parser="numpy").parse():
        if section.kind.value == "parameters":
            for p in section.value:
                out[p.name] = _code(p.description or "")
    return out


def _pages() -> dict[str, str]:
    """Spec class name -> the docs page (relative to docs/) that holds its table."""
    out: dict[str, str] = {}
    for page in sorted(DOCS.rglob("*.md")):
        for m in BLOCK.finditer(page.read_text(encoding="utf-8")):
            out[m.group("name")] = page.relative_to(DOCS).as_posix()
    return out


def _link(name: str, here: str, pages: dict[str, str]) -> str:
    """A spec's name, linked to the page holding its table (``(below)`` when it is on this page)."""
    target = pages.get(name)
    if target is None:
        return f"`{name}`"
    if target == here:
        return f"`{name}` (below)"
    return f"[`{name}`]({os.path.relpath(target, start=os.path.dirname(here) or '.')})"


_JSON_TYPES = {"string": "string", "integer": "integer", "number": "number", "boolean": "boolean", "null": "null"}


def _type(schema: dict[str, Any], here: str, pages: dict[str, str]) -> str:
    """A JSON Schema node in words: ``list of string``, ``mapping of string to ColumnRules``, ``string or list``."""
    if "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[-1]
        return "`block` or `warn`" if name == "OnFail" else _link(name, here, pages)
    if "anyOf" in schema:
        parts = [_type(s, here, pages) for s in schema["anyOf"] if s.get("type") != "null"]
        return " or ".join(dict.fromkeys(parts))
    if "enum" in schema or "const" in schema:
        return _JSON_TYPES.get(schema.get("type", "string"), "string")
    kind = schema.get("type")
    if kind == "array":
        return f"list of {_type(schema.get('items', {}), here, pages)}" if schema.get("items") else "list"
    if kind == "object":
        extra = schema.get("additionalProperties")
        return f"mapping of string to {_type(extra, here, pages)}" if isinstance(extra, dict) and extra else "mapping"
    return _JSON_TYPES.get(kind, "any") if kind else "any"


def _allowed(schema: dict[str, Any]) -> list[str]:
    """Enums, bounds, lengths and patterns of a JSON Schema node (and its alternatives, items and values)."""
    out: list[str] = []
    for alt in schema.get("anyOf", [schema]):
        if "const" in alt:
            out.append(f"`{str(alt['const']).lower() if isinstance(alt['const'], bool) else alt['const']}`")
        if "enum" in alt:
            out.append(", ".join(f"`{v}`" if not isinstance(v, bool) else f"`{str(v).lower()}`" for v in alt["enum"]))
        for key, words in (("minimum", ">="), ("exclusiveMinimum", ">"), ("maximum", "<="), ("exclusiveMaximum", "<")):
            if key in alt:
                out.append(f"{words} {alt[key]:,}" if isinstance(alt[key], int) else f"{words} {alt[key]}")
        if "minItems" in alt:
            out.append(f"at least {alt['minItems']} item{'s' if alt['minItems'] != 1 else ''}")
        if "minProperties" in alt:
            out.append(f"at least {alt['minProperties']} entr{'ies' if alt['minProperties'] != 1 else 'y'}")
        if "minLength" in alt:
            out.append("not empty" if alt["minLength"] == 1 else f"at least {alt['minLength']} characters")
        if "maxLength" in alt:
            out.append(f"at most {alt['maxLength']} characters")
        if "pattern" in alt:
            out.append(f"matches `{alt['pattern']}`")
        for sub in ("items", "additionalProperties"):
            if isinstance(alt.get(sub), dict):
                out += _allowed(alt[sub])
    return out


def _vocabulary(cls: type[BaseModel], name: str, annotation: Any) -> list[str]:
    """What gatekit checks beyond the schema: paths, logical types, model formats, metric names, operators."""
    from gatekit.core.compare import OPS
    from gatekit.data.logical_types import LOGICAL_TYPES
    from gatekit.model.formats import KNOWN_FORMAT_NAMES
    from gatekit.policy.specs.common import check_path

    funcs = {getattr(f, "__name__", "") for f in _validators_in(annotation)}
    out = []
    if check_path.__name__ in funcs:
        out.append("a path, relative to the policy file")
    if "_logical_type" in funcs:
        out.append("a logical type: " + ", ".join(f"`{t}`" for t in LOGICAL_TYPES) + " (aliases `int`, `str`, ...)")
    special = {
        ("ModelFormatSpec", "allowed"): ", ".join(f"`{f}`" for f in KNOWN_FORMAT_NAMES),
        ("MetricRule", "name"): "a metric name (`gatekit metrics`; see [the catalog](metrics.md#the-metric-catalog))",
        ("NoiseSpec", "metric"): "a performance metric computed from rows",
        ("MetricRule", "op"): ", ".join(f"`{o}`" for o in OPS),
        ("GateRule", "require"): "an expression (see [gates](gates.md))",
        ("SliceRule", "metric"): "a performance metric computed from rows (see [the catalog]"
                                 "(metrics.md#the-metric-catalog))",
        ("SliceRule", "op"): ", ".join(f"`{o}`" for o in OPS),
        ("PiiSpec", "national_ids"): "python-stdnum modules (`us.ssn`, `de.idnr`, ...)",
    }
    if (cls.__name__, name) in special:
        out.append(special[(cls.__name__, name)])
    return out


def default_text(field: Any) -> str:
    """A field's default as the table shows it: ``required``, ``not set``, or the value as YAML (flow style)."""
    if field.is_required():
        return REQUIRED
    value = field.get_default(call_default_factory=True)
    if value is None:
        return NOT_SET
    if isinstance(value, BaseModel):
        return f"the defaults of `{type(value).__name__}`"
    return "`" + yaml_text(_plain(value)) + "`"


def _plain(value: Any) -> Any:
    """``value`` with enums as their values (``OnFail.BLOCK`` -> ``"block"``), for YAML."""
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    return value


def yaml_text(value: Any) -> str:
    """``value`` as one line of YAML (flow style)."""
    text = yaml.safe_dump(value, default_flow_style=True, width=10_000, sort_keys=False).strip()
    return text.removesuffix("\n...").removesuffix("...").strip()


def render(cls: type[BaseModel], page: str, pages: dict[str, str]) -> str:
    """The table of one spec model, as its page (``page``, relative to docs/) shows it."""
    from gatekit.policy.specs import Policy

    props = Policy.model_json_schema(mode="validation")
    schema = props if cls is Policy else props["$defs"][cls.__name__]
    docs = descriptions(cls)
    first: dict[str, str] = {}  # a description shared by several keys ("a, b : float") -> its first key
    rows = [HEADER]
    for name, field in cls.model_fields.items():
        node = schema["properties"][name]
        allowed = _allowed(node) + _vocabulary(cls, name, field.annotation)
        meaning = docs.get(name) or GENERIC.get(name, "")
        if meaning and meaning in first and meaning not in GENERIC.values():
            meaning = f"As `{first[meaning]}`."
        else:
            first.setdefault(meaning, name)
        rows.append(f"| `{name}` | {_type(node, page, pages)} | {default_text(field)} | "
                    f"{'; '.join(allowed) if allowed else ''} | {meaning} |\n")
    return "".join(rows)


def update(check: bool = False) -> list[str]:
    """Rewrite (or, with ``check``, only compare) every table in docs/; return what was stale or missing.

    Returns
    -------
    list of str
        One line per stale table, unknown spec name in a marker, or spec without a table (empty when all is well).
    """
    by_name = {c.__name__: c for c in spec_classes()}
    pages = _pages()
    problems = [f"{name}: no table in docs/ (add <!-- spec-table: {name} --><!-- /spec-table --> to its page)"
                for name in by_name if name not in pages]
    for page in sorted(DOCS.rglob("*.md")):
        rel = page.relative_to(DOCS).as_posix()
        text = page.read_text(encoding="utf-8")

        def fill(m: re.Match[str], rel: str = rel) -> str:
            cls = by_name.get(m.group("name"))
            if cls is None:
                problems.append(f"{rel}: no spec named {m.group('name')} is reachable from the policy")
                return m.group(0)
            return m.group(1) + render(cls, rel, pages) + m.group(4)

        new = BLOCK.sub(fill, text)
        if new != text:
            problems.append(f"{rel}: spec tables are stale (run python scripts/docs_spec_tables.py)")
            if not check:
                page.write_text(new, encoding="utf-8")
    return problems


def main() -> int:
    """Command line: rewrite the tables, or check them (``--check``)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="change nothing; exit 1 when a table is stale")
    args = parser.parse_args()
    problems = update(check=args.check)
    for p in problems:
        print(p, file=sys.stderr)
    if args.check:
        return 1 if problems else 0
    return 1 if any("no table" in p or "no spec named" in p for p in problems) else 0


if __name__ == "__main__":
    sys.exit(main())
