"""Property-based fuzz test of the policy loader and ``gatekit validate`` (Hypothesis, bounded budget).

The shipped policies (``policies/``) are mutated: keys dropped, duplicated, renamed and retyped; odd scalars
(NUL and control characters, huge numbers, NaN, empty strings); deep nesting; bad ``extends:``; raw text cuts
and duplicated lines. Every result must be a policy (exit 0) or a :class:`PolicyError` (exit 2), never another
exception (exit 3). ``scripts/fuzz_policies.py`` runs the same mutations at scale.
"""

from __future__ import annotations

import importlib.util
import os
import random
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from gatekit.cli import app
from gatekit.core.errors import PolicyError
from gatekit.policy.loader import load_policy

REPO = Path(__file__).resolve().parents[2]
_spec = importlib.util.spec_from_file_location("fuzz_policies", REPO / "scripts" / "fuzz_policies.py")
assert _spec is not None and _spec.loader is not None
fuzz = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(fuzz)

CORPUS = fuzz.shipped_policies()
BUDGET = settings(max_examples=200, deadline=None, derandomize=True, database=None,
                  suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])

# values Hypothesis draws itself (and shrinks), put at a random place of the policy
odd_values = st.one_of(
    st.text(alphabet=st.characters(codec="utf-8"), max_size=30),
    st.text(alphabet=st.sampled_from("\x00\x01\t\n\r\x1b\x7f/.a"), max_size=10),
    st.integers(min_value=-(10**30), max_value=10**30) | st.sampled_from([2**63, -(2**64), 10**400]),
    st.floats(allow_nan=True, allow_infinity=True),
    st.none(), st.booleans(),
    st.lists(st.sampled_from(["a", 1, None, "a\x00b", "library/hmda_applications.yaml"]), max_size=3),
    st.dictionaries(st.sampled_from(["name", "op", "value", "version", "extends", "x"]),
                    st.sampled_from([None, 1, "x", ">=", [], {}]), max_size=3),
    st.sampled_from(fuzz.BAD_EXTENDS),
)


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    target = fuzz.prepare(tmp_path_factory.mktemp("fuzz"))
    return target.parent


def _case(rnd: random.Random, index: int, value: Any, raw: bool) -> str:
    _, data = CORPUS[index % len(CORPUS)]
    text = fuzz.make_case(rnd, [(None, data)])
    import yaml

    try:
        parsed = yaml.safe_load(text)
    except yaml.YAMLError:
        return text
    if isinstance(parsed, dict) and not raw:
        paths = [p for p in fuzz._paths(parsed) if p]
        if paths:
            path = rnd.choice(paths)
            try:
                fuzz._get(parsed, path[:-1])[path[-1]] = value
                text = yaml.safe_dump(parsed, sort_keys=False, allow_unicode=True)
            except (KeyError, IndexError, TypeError, ValueError, yaml.YAMLError, RecursionError):
                pass
    return text


CHILD = "GATEKIT_FUZZ_CHILD"


def test_the_fuzz_run_passes_in_its_own_process() -> None:
    # Hypothesis raises the recursion limit while it runs and the cases nest deeply; a pytest-xdist worker
    # that had run hundreds of other tests crashed once under that mix (never alone), so the fuzz run gets a
    # fresh interpreter: a crash there fails this test with its output instead of taking a worker down.
    import subprocess
    import sys

    proc = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "no:xdist",
                           f"{__file__}::test_mutated_policies_load_or_raise_policy_error"],
                          capture_output=True, text=True, cwd=REPO, env={**os.environ, CHILD: "1"}, timeout=900)
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-4000:]
    assert "1 passed" in proc.stdout


@pytest.mark.skipif(not os.environ.get(CHILD), reason="run by test_the_fuzz_run_passes_in_its_own_process")
@BUDGET
@given(rnd=st.randoms(use_true_random=False), index=st.integers(min_value=0, max_value=len(CORPUS) - 1),
       value=odd_values, raw=st.booleans())
def test_mutated_policies_load_or_raise_policy_error(folder: Path, rnd: random.Random, index: int, value: Any,
                                                      raw: bool) -> None:
    target = folder / "fuzz.yaml"
    target.write_text(_case(rnd, index, value, raw), encoding="utf-8", errors="surrogatepass")
    try:
        load_policy(target)
    except PolicyError as exc:
        assert exc.problems
        for p in exc.problems:  # a base that is not a policy is never echoed
            assert "hunter2" not in str(p) and "SECRET" not in str(p)
    result = CliRunner().invoke(app, ["validate", str(target)])
    assert result.exit_code in (0, 2), result.output
    assert "internal error" not in result.output and "Traceback" not in result.output


def test_the_shipped_policies_validate() -> None:
    # the fuzz corpus itself: every shipped policy is valid as it is (the mutations start from valid policies)
    for name, _ in CORPUS:
        path = next(REPO.glob(f"policies/**/{name}"))
        result = CliRunner().invoke(app, ["validate", str(path)])
        assert result.exit_code == 0, (name, result.output)
