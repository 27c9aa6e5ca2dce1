"""Fuzz the policy loader: mutate the shipped policies and check that every result is valid or invalid, never a crash.

Each case takes one policy of ``policies/`` (parsed), applies 1-4 random mutations (drop, duplicate or retype a
key; odd scalars; NUL and control characters; huge numbers; deep nesting; bad ``extends:``), writes it as YAML
(sometimes with a raw text mutation: a duplicated line, a NUL byte, a tab, a cut) into a scratch folder beside
a copy of ``policies/library/`` and runs :func:`gatekit.policy.loader.load_policy` on it in-process.

Outcomes: ``valid`` (loaded), ``invalid`` (:class:`~gatekit.core.errors.PolicyError`, exit 2) and ``crash``
(any other exception: exit 3, a bug); every crash is printed with its input and traceback.

Usage::

    python scripts/fuzz_policies.py --count 20000 --seed 0
"""

from __future__ import annotations

import argparse
import copy
import random
import shutil
import sys
import tempfile
import time
import traceback
from collections import Counter
from pathlib import Path
from typing import Any

import yaml

REPO = Path(__file__).resolve().parents[1]
POLICIES = REPO / "policies"

ODD_SCALARS: list[Any] = [
    None, True, False, 0, -1, 1, 2**63, -(2**63), 10**400, 1e308, -1e308, float("inf"), float("nan"), 0.5, "",
    " ", "a\x00b", "\x00", "\t", "\n", "line\nbreak", "\x1b[31mred", "\u202e", "é", "🙂", "~", "null", "yes",
    "0x1F", "1e-3", ">=", "auc_roc", "../../etc/passwd", "/etc/passwd", "x" * 5000, [], {}, [1, 2], {"a": 1},
    "{{7*7}}", "${HOME}", "a" * 300 + ".yaml", "base.yml", "library/hmda_applications.yaml", "library",
    "nonexistent.yaml", "/dev/null", "/proc/self/environ", "*.yaml",
]
BAD_EXTENDS: list[Any] = [
    "/etc/passwd", "/etc/shadow", "../../x", "../../../../../../etc/hostname", "a\x00b.yaml", "\x00", "",
    " ", "library", "library/", ".", "..", "/", "/dev/null", "/dev/zero", "/proc/self/environ", "x" * 5000,
    ("a/" * 2000) + "b.yaml", "nonexistent.yaml", "library/hmda_applications.yaml", "self.yaml", "fuzz.yaml",
    ["library/hmda_applications.yaml", "library/hmda_applications.yaml"], [], [None], [1], {"a": 1}, 3, None,
    True, "not_a_policy.yaml", "list.yaml", "scalar.yaml", "empty.yaml", "keys.yaml", "loop.yml", "bad.yaml",
    "link.yaml", "tab\t.yaml", "line\n.yaml", "C:\\x.yaml", "~/x.yaml", "base.YAML",
]
# files next to the fuzzed policy that a bad extends: may name
SCRATCH_FILES = {
    "not_a_policy.yaml": "root: x\npassword: hunter2\n",
    "list.yaml": "- a\n- b\n",
    "scalar.yaml": "just text\n",
    "empty.yaml": "",
    "keys.yaml": "1: a\n? [x]\n: b\n",
    "loop.yml": "version: 1\nextends: loop.yml\n",
    "bad.yaml": "version: 1\nmetrics: [\n",
    "base.YAML": "version: 1\nmetrics: [{name: auc_roc, op: '>=', value: 0.5}]\n",
    "secret.txt": "SECRET=abc\n",
}


def shipped_policies() -> list[tuple[str, Any]]:
    """Return the shipped policies (``policies/*.yaml``, ``policies/library/*.yaml``), parsed."""
    out = []
    for p in sorted([*POLICIES.glob("*.yaml"), *POLICIES.glob("library/*.yaml")]):
        out.append((p.name, yaml.safe_load(p.read_text(encoding="utf-8"))))
    return out


MAX_PATHS = 5_000
"""Paths collected per document: a mutated document with YAML aliases can name exponentially many (an alias
bomb), and the harness must not be what runs out of memory."""


def _paths(node: Any, prefix: tuple[Any, ...] = (), out: list[tuple[Any, ...]] | None = None) -> list[tuple[Any, ...]]:
    out = [] if out is None else out
    if len(out) >= MAX_PATHS:
        return out
    out.append(prefix)
    if len(prefix) > 30:  # a deeply nested value is mutated as a whole
        return out
    if isinstance(node, dict):
        for k, v in node.items():
            _paths(v, (*prefix, k), out)
    elif isinstance(node, list):
        for i, v in enumerate(node):
            _paths(v, (*prefix, i), out)
    return out


def _get(node: Any, path: tuple[Any, ...]) -> Any:
    for p in path:
        node = node[p]
    return node


def _deep(rng: random.Random) -> Any:
    depth = rng.choice([10, 50, 200, 400])
    node: Any = rng.choice(ODD_SCALARS[:6])
    for _ in range(depth):
        node = {"k": node} if rng.random() < 0.5 else [node]
    return node


def mutate(data: Any, rng: random.Random) -> Any:
    """Apply one random structural mutation to a parsed policy; return the result (``data`` may be changed)."""
    paths = _paths(data)
    path = rng.choice(paths)
    kind = rng.randrange(9)
    if kind == 0 and path:  # drop a key or item
        parent = _get(data, path[:-1])
        del parent[path[-1]]
        return data
    if kind == 1 and path:  # duplicate a list item / copy a value under another key
        parent = _get(data, path[:-1])
        if isinstance(parent, list):
            parent.insert(path[-1], copy.deepcopy(parent[path[-1]]))
        else:
            parent[str(path[-1]) + rng.choice(["_", "s", "2"])] = copy.deepcopy(parent[path[-1]])
        return data
    if kind == 2 and path:  # retype a value
        parent = _get(data, path[:-1])
        parent[path[-1]] = rng.choice(ODD_SCALARS)
        return data
    if kind == 3 and path:  # deep nesting
        parent = _get(data, path[:-1])
        parent[path[-1]] = _deep(rng)
        return data
    if kind == 4 and isinstance(data, dict):  # bad extends
        data["extends"] = copy.deepcopy(rng.choice(BAD_EXTENDS))
        return data
    if kind == 5 and isinstance(data, dict):  # a path-valued key with an odd value
        section, key = rng.choice([("inputs", "data"), ("inputs", "model"), ("inputs", "metrics"),
                                   ("inputs", "reference"), ("canary", "data"), ("operational", "latency_samples"),
                                   ("security", "licenses"), ("data_quality", "expectations_dir"),
                                   ("artifact", "metadata"), ("artifact", "signature")])
        value = rng.choice(ODD_SCALARS)
        if key in ("metadata", "signature"):
            value = {"file": value, "public_key": value} if key == "signature" else {"file": value}
        elif key == "licenses":
            value = {"requirements": value}
        sec = data.get(section)
        data[section] = {**(sec if isinstance(sec, dict) else {}), key: value}
        return data
    if kind == 6 and path:  # rename a key (an unknown key, or an odd one)
        parent = _get(data, path[:-1])
        if isinstance(parent, dict):
            new = rng.choice(["x", "", " ", "\x00", "version", "extends", "metrics", 1, "🙂", "a\tb"])
            parent[new] = parent.pop(path[-1])
        return data
    if kind == 7:  # a huge number somewhere
        if path:
            parent = _get(data, path[:-1])
            parent[path[-1]] = rng.choice([10**4000, -(10**4000), 2**64, 1e308 * 10, 1e-320])
        return data
    if isinstance(data, dict):  # a whole-section replacement
        data[rng.choice(list(data) or ["metrics"])] = rng.choice(ODD_SCALARS)
    return data


def text_mutation(text: str, rng: random.Random) -> str:
    """Apply one random mutation to the YAML text itself."""
    lines = text.splitlines(keepends=True) or [""]
    i = rng.randrange(len(lines))
    kind = rng.randrange(6)
    if kind == 0:
        lines.insert(i, lines[i])  # a duplicate key
    elif kind == 1:
        pos = rng.randrange(len(text) + 1)
        return text[:pos] + rng.choice(["\x00", "\t", "\x1b", "\r", "\ufeff", "&a ", "*a ", "!!python/object "]) \
            + text[pos:]
    elif kind == 2:
        return text[: rng.randrange(len(text) + 1)]  # cut
    elif kind == 3:
        lines[i] = "  " + lines[i]  # bad indent
    elif kind == 4:
        return "a: &a [" + ", ".join(["*a"] * 3) + "]\n" + text  # recursive alias
    else:
        return text + "extends: " + rng.choice(["/etc/passwd", "../../x.yaml", "\"a\\0b.yaml\"", "[]"]) + "\n"
    return "".join(lines)


def make_case(rng: random.Random, corpus: list[tuple[str, Any]]) -> str:
    """Return one fuzzed policy's YAML text."""
    _, data = rng.choice(corpus)
    data = copy.deepcopy(data)
    for _ in range(rng.randint(1, 4)):
        try:
            data = mutate(data, rng)
        except (KeyError, IndexError, TypeError, RecursionError):
            pass  # a path invalidated by an earlier mutation; copying a deeply nested value
    try:
        text = yaml.safe_dump(data, sort_keys=False, allow_unicode=True)
    except (yaml.YAMLError, ValueError, RecursionError):
        text = "version: 1\n"
    if rng.random() < 0.2:
        text = text_mutation(text, rng)
    return text


def prepare(folder: Path) -> Path:
    """Lay out a scratch folder: a copy of ``policies/library`` and the odd files a bad extends: may name."""
    shutil.copytree(POLICIES / "library", folder / "library")
    for name, text in SCRATCH_FILES.items():
        (folder / name).write_text(text, encoding="utf-8")
    link = folder / "link.yaml"
    if not link.exists():
        link.symlink_to(folder / "secret.txt")
    return folder / "fuzz.yaml"


def run_case(target: Path, text: str) -> tuple[str, str]:
    """Load ``text`` as the policy ``target``; return (outcome, detail)."""
    from gatekit.core.errors import PolicyError
    from gatekit.policy.loader import load_policy

    target.write_text(text, encoding="utf-8", errors="surrogatepass")
    try:
        load_policy(target)
    except PolicyError as exc:
        for p in exc.problems:
            if "hunter2" in str(p) or "password" in str(p) or "SECRET" in str(p):
                return "crash", f"a message echoes a base file's content: {p}"
        return "invalid", ""
    except Exception:  # noqa: BLE001 - the point: any other exception is a crash
        return "crash", traceback.format_exc()
    return "valid", ""


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=20_000, help="fuzzed policies to load (default 20000)")
    parser.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    parser.add_argument("--show", type=int, default=5, help="crashes printed in full (default 5)")
    args = parser.parse_args(argv)
    rng = random.Random(args.seed)
    corpus = shipped_policies()
    counts: Counter[str] = Counter()
    crashes: list[tuple[str, str]] = []
    start = time.monotonic()
    sys.setrecursionlimit(max(sys.getrecursionlimit(), 1000))
    with tempfile.TemporaryDirectory() as tmp:
        target = prepare(Path(tmp))
        for _ in range(args.count):
            text = make_case(rng, corpus)
            outcome, detail = run_case(target, text)
            counts[outcome] += 1
            if outcome == "crash":
                crashes.append((text, detail))
    took = time.monotonic() - start
    print(f"{args.count} fuzzed policies (seed {args.seed}) in {took:.1f} s: "
          + ", ".join(f"{k} {counts[k]}" for k in ("valid", "invalid", "crash")))
    for text, detail in crashes[: args.show]:
        print("--- crash; input:")
        print(repr(text[:2000]))
        print(detail)
    return 1 if crashes else 0


if __name__ == "__main__":
    sys.exit(main())
