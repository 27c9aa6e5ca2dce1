"""The README and the documentation site (docs/, mkdocs.yml) against the code they describe.

What `mkdocs build --strict` cannot see: a command shown that the CLI no longer accepts, a `gatekit.run` keyword
that no longer exists, a policy shown that no longer validates, a policy key or default that changed without its
reference table, a metric without a catalog entry, a relative link in the README, and the extension walkthrough's
code and output.
"""

from __future__ import annotations

import ast
import contextlib
import importlib.util
import inspect
import io
import re
import shlex
from pathlib import Path
from typing import Any

import pytest
import yaml
from pydantic import BaseModel
from typer.testing import CliRunner

import gatekit.api
from gatekit.cli import app
from gatekit.metrics.catalog import default_registry
from gatekit.policy.specs import Policy
from gatekit.policy.specs.policy import META_FIELDS
from gatekit.sections.registry import default_sections
from tests.helpers import REPO

DOCS = REPO / "docs"
PAGES = sorted(DOCS.rglob("*.md"))
TEXTS = [REPO / "README.md", *PAGES]
FENCE = re.compile(r"^(?P<indent>[ ]*)```(?P<lang>[\w+-]*)[^\n]*\n(?P<body>.*?)^(?P=indent)```[ ]*$", re.M | re.S)
MARKER = re.compile(r"<!-- docs-test: (?P<what>[\w-]+) -->\s*$")
TABLE = re.compile(r"<!-- spec-table: (?P<name>\w+) -->\n(?P<body>.*?)<!-- /spec-table -->", re.S)


def _rel(path: Path) -> str:
    return path.relative_to(REPO).as_posix()


def blocks(path: Path, *langs: str) -> list[tuple[str, str, str | None]]:
    """The fenced code blocks of a Markdown file in these languages: (language, body, docs-test marker or None)."""
    text = path.read_text(encoding="utf-8")
    out = []
    for m in FENCE.finditer(text):
        if m.group("lang") not in langs:
            continue
        before = text[: m.start()].rstrip("\n").rsplit("\n", 1)[-1]
        mark = MARKER.search(before)
        body = "\n".join(line[len(m.group("indent")):] for line in m.group("body").splitlines())
        out.append((m.group("lang"), body, mark.group("what") if mark else None))
    return out


# --- commands ---------------------------------------------------------------------------------------------------

SHELL = ("bash", "sh", "shell", "console", "make", "yaml", "")
OPERATORS = {"&&", "||", ";", "|", ">", ">>", "<", "&", "(", ")", ";;", "2>"}


def _tokens(line: str) -> list[str]:
    lexer = shlex.shlex(line, posix=True, punctuation_chars=";&|<>()")
    lexer.whitespace_split = True
    lexer.commenters = "#"
    return list(lexer)


def gatekit_commands(body: str, lang: str) -> list[list[str]]:
    """Each ``gatekit ...`` command in a shell, Makefile or CI-YAML block, as its argument list."""
    out: list[list[str]] = []
    for raw in body.replace("\\\n", " ").splitlines():
        line = raw.strip()
        if lang == "yaml":  # a CI step: `run: gatekit ...`, `- gatekit ...`, `entry: bash -c '...'`
            line = re.sub(r"^(?:-\s+)?(?:[\w-]+:\s+)?", "", line)
        if "gatekit " not in line or line.startswith("#"):
            continue
        try:
            tokens = _tokens(line)
        except ValueError:  # an unterminated quote: not a command line (YAML prose)
            continue
        stack = [tokens]
        while stack:
            toks = stack.pop()
            for i, tok in enumerate(toks):
                if i > 0 and toks[i - 1] == "-c":  # bash -c '... gatekit validate "$f" ...'
                    stack.append(_tokens(tok))
                if tok == "gatekit" and i + 1 < len(toks):
                    args = []
                    for t in toks[i + 1:]:
                        if t in OPERATORS:
                            break
                        args.append(t)
                    if not any(a.startswith("[") for a in args):  # a synopsis (`run POLICY [--out DIR]`) is no command
                        out.append(args)
    return out


def all_commands() -> list[tuple[str, list[str]]]:
    found = []
    for path in TEXTS:
        for lang, body, _ in blocks(path, *SHELL):
            found += [(_rel(path), args) for args in gatekit_commands(body, lang)]
    return found


def test_the_readme_and_the_docs_show_gatekit_commands() -> None:
    commands = all_commands()
    readme = [args for where, args in commands if where == "README.md"]
    assert ["run", "my_gate.yaml", "--out", "reports/my_gate"] in readme
    assert any(args[:1] == ["validate"] for args in readme)
    assert len(commands) > 40  # every page's examples are read, not just the README's


@pytest.mark.parametrize(("where", "args"), all_commands(), ids=lambda v: v if isinstance(v, str) else " ".join(v))
def test_every_command_shown_parses(where: str, args: list[str]) -> None:
    # --help is eager: click parses every option first (an unknown one is a usage error, exit 2), then prints help
    result = CliRunner().invoke(app, [*args, "--help"])
    assert result.exit_code == 0, f"{where}: gatekit {' '.join(args)}\n{result.output}"
    assert "Usage:" in result.output


def test_an_unknown_flag_fails_the_parse_check() -> None:
    result = CliRunner().invoke(app, ["run", "p.yaml", "--no-such-flag", "--help"])
    assert result.exit_code == 2


def test_the_set_up_commands_ci_relies_on_are_in_the_readme() -> None:
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    ci = (REPO / ".ci" / "run").read_text(encoding="utf-8")
    test_command = 'pip install -e ".[dev]" && python -m pytest -q -n auto'
    assert f"# README: {test_command}" in ci
    assert ("python3 -m venv .venv && . .venv/bin/activate && " + test_command) in readme
    assert "python3 -m venv .venv && . .venv/bin/activate && pip install -e . && gatekit demo" in readme


# --- Python -------------------------------------------------------------------------------------------------------

PYTHON = [(path, body) for path in TEXTS for _, body, _ in blocks(path, "python")]


@pytest.mark.parametrize(("path", "body"), PYTHON, ids=[f"{_rel(p)}#{i}" for i, (p, _) in enumerate(PYTHON)])
def test_every_python_block_compiles_and_calls_run_with_real_keywords(path: Path, body: str) -> None:
    tree = ast.parse(body, filename=_rel(path))
    accepted = set(inspect.signature(gatekit.api.run).parameters)
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "run":
            base = ast.unparse(node.func.value)
            if base in ("gatekit", "gatekit.api"):
                unknown = {k.arg for k in node.keywords if k.arg is not None} - accepted
                assert not unknown, f"{_rel(path)}: gatekit.run(...) has no keyword {sorted(unknown)}"


def test_the_extension_walkthrough_runs_and_prints_what_the_page_shows(tmp_path: Path,
                                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    page = DOCS / "extending" / "sections-and-metrics.md"
    marked = [(body, what) for _, body, what in blocks(page, "python", "text") if what is not None]
    assert [what for _, what in marked] == ["run", "output", "run", "output"]
    monkeypatch.chdir(tmp_path)  # nothing is written; if it were, not into the repository
    for (code, _), (expected, _) in zip(marked[::2], marked[1::2], strict=True):
        printed = io.StringIO()
        with contextlib.redirect_stdout(printed):
            exec(compile(code, str(page), "exec", dont_inherit=True), {"__name__": "walkthrough"})
        assert printed.getvalue().strip() == expected.strip()


# --- policies shown -----------------------------------------------------------------------------------------------

POLICY_KEYS = set(Policy.model_fields)


def policy_blocks() -> list[tuple[str, dict[str, Any]]]:
    """YAML blocks whose top-level keys are all policy keys: a policy (or a fragment of one) a reader may copy."""
    out = []
    for path in TEXTS:
        for _, body, mark in blocks(path, "yaml"):
            if mark == "illustrative":
                continue
            try:
                doc = yaml.safe_load(body)
            except yaml.YAMLError:
                continue
            if isinstance(doc, dict) and doc and set(doc) <= POLICY_KEYS:
                out.append((_rel(path), doc))
    return out


@pytest.mark.parametrize(("where", "doc"), policy_blocks(), ids=lambda v: v if isinstance(v, str) else "")
def test_every_policy_shown_validates(where: str, doc: dict[str, Any]) -> None:
    policy = {"version": 1, **doc}
    policy.pop("extends", None)  # a base file of the reader's, not ours
    sections = default_sections()
    if all(k in META_FIELDS or (k in sections and sections[k].settings) for k in policy):
        policy["metrics"] = [{"name": "auc_roc", "op": ">=", "value": 0.5}]  # settings alone: inside a policy
    gatekit.api.validate(policy)


def test_the_readme_policy_is_checked() -> None:
    assert any(where == "README.md" and doc.get("name") == "my_first_gate" for where, doc in policy_blocks())


# --- the policy reference -----------------------------------------------------------------------------------------


def _reachable_specs() -> list[type[BaseModel]]:
    seen: list[type[BaseModel]] = []
    todo: list[Any] = [Policy]
    while todo:
        t = todo.pop()
        if isinstance(t, type) and issubclass(t, BaseModel):
            if t in seen:
                continue
            seen.append(t)
            todo += [f.annotation for f in t.model_fields.values()]
        else:
            todo += list(getattr(t, "__args__", ()))
    return seen


def _tables() -> dict[str, tuple[Path, dict[str, list[str]]]]:
    """Spec name -> (page, key -> the row's cells) of every generated table in docs/."""
    out = {}
    for page in PAGES:
        for m in TABLE.finditer(page.read_text(encoding="utf-8")):
            rows = {}
            for line in m.group("body").splitlines()[2:]:
                cells = [c.strip() for c in re.split(r"(?<!\\)\|", line)[1:-1]]
                rows[cells[0].strip("`")] = cells
            out[m.group("name")] = (page, rows)
    return out


def _plain(value: Any) -> Any:
    if hasattr(value, "value") and type(value).__module__.startswith("gatekit"):
        return value.value  # OnFail.BLOCK -> "block"
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value


def test_every_spec_reachable_from_the_policy_has_a_table_with_every_key_and_its_default() -> None:
    tables = _tables()
    for spec in _reachable_specs():
        assert spec.__name__ in tables, f"{spec.__name__} has no <!-- spec-table --> in docs/policy/"
        page, rows = tables[spec.__name__]
        assert set(rows) == set(spec.model_fields), f"{_rel(page)}: {spec.__name__}'s keys"
        for key, field in spec.model_fields.items():
            shown = rows[key][2]
            if field.is_required():
                assert shown == "required", (spec.__name__, key)
                continue
            default = field.get_default(call_default_factory=True)
            if default is None:
                assert shown == "not set", (spec.__name__, key, shown)
            elif isinstance(default, BaseModel):
                assert type(default).__name__ in shown, (spec.__name__, key, shown)
            else:
                assert yaml.safe_load(shown.strip("`")) == _plain(default), (spec.__name__, key, shown)


def test_every_policy_section_has_its_page() -> None:
    tables = _tables()
    for info in default_sections():
        page = DOCS / "policy" / f"{info.key}.md"
        assert page.is_file(), f"the {info.key}: section has no page docs/policy/{info.key}.md"
        spec = getattr(info.spec, "__args__", (info.spec,))[0]  # list[MetricRule] -> MetricRule
        assert tables[spec.__name__][0] == page, f"{spec.__name__}'s table is not on {_rel(page)}"
    nav = (REPO / "mkdocs.yml").read_text(encoding="utf-8")
    for page in PAGES:
        assert page.relative_to(DOCS).as_posix() in nav, f"{_rel(page)} is not in mkdocs.yml's nav"


def test_the_spec_tables_are_what_the_generator_writes_today() -> None:
    spec = importlib.util.spec_from_file_location("docs_spec_tables", REPO / "scripts" / "docs_spec_tables.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert module.update(check=True) == []


def test_every_metric_has_a_row_in_the_catalog() -> None:
    page = (DOCS / "policy" / "metrics.md").read_text(encoding="utf-8")
    catalog = page.split("## The metric catalog", 1)[1]
    missing = [s.name for s in default_registry().specs() if f"`{s.name}`" not in catalog]
    assert not missing, f"docs/policy/metrics.md's catalog lacks {missing}"


# --- links --------------------------------------------------------------------------------------------------------

LINK = re.compile(r"!?\[[^\]]*\]\((?P<target>[^)\s]+)(?:\s+\"[^\"]*\")?\)")


def _prose(text: str) -> str:
    """Markdown without code blocks and inline code (a link shown as code is not a link)."""
    return re.sub(r"`[^`\n]*`", "", FENCE.sub("", text))


def _slug(heading: str) -> str:
    """The anchor mkdocs' toc (and GitHub) gives a heading: lower case, punctuation dropped, spaces as hyphens."""
    text = re.sub(r"[^\w\s-]", "", heading.replace("`", "")).strip().lower()
    return re.sub(r"[-\s]+", "-", text)


LINKS = [(path, m.group("target")) for path in TEXTS for m in LINK.finditer(_prose(path.read_text(encoding="utf-8")))
         if not re.match(r"^(?:[a-z]+:|#)", m.group("target"))]


@pytest.mark.parametrize(("path", "target"), LINKS, ids=[f"{_rel(p)}->{t}" for p, t in LINKS])
def test_every_relative_link_resolves(path: Path, target: str) -> None:
    file, _, anchor = target.partition("#")
    resolved = (path.parent / file).resolve()
    assert resolved.exists(), f"{_rel(path)} links to {target}, which does not exist"
    if path.is_relative_to(DOCS):  # the site holds docs/ only: a link out of it is broken there
        assert resolved.is_relative_to(DOCS), f"{_rel(path)} links out of docs/: {target} (use `code`, not a link)"
    if anchor and resolved.suffix == ".md" and resolved != DOCS / "reference" / "api.md":
        headings = re.findall(r"^#{1,6}\s+(.*?)\s*$", FENCE.sub("", resolved.read_text(encoding="utf-8")), re.M)
        assert anchor in {_slug(h) for h in headings}, f"{_rel(path)} links to a missing anchor: {target}"


def test_the_readme_links_every_docs_page() -> None:
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    linked = {(REPO / m.group("target").partition("#")[0]).resolve() for m in LINK.finditer(readme)}
    missing = [_rel(p) for p in PAGES if p.resolve() not in linked]
    assert not missing, f"README.md does not link {missing}"
