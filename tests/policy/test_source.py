"""Tests of :mod:`gatekit.policy.source`: reading policy YAML safely, with file:line errors."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from gatekit.core.errors import PolicyError
from gatekit.policy import load_policy
from tests.helpers import write_policy as write
from tests.policy.helpers import only, problems_of


@pytest.mark.parametrize(("name", "text", "expected"), [
    ("bomb", "version: 1\na: &a [x,x,x,x,x,x,x,x,x]\n" + "".join(
        f"{n}: &{n} [{','.join([f'*{p}'] * 9)}]\n" for p, n in zip("abcdefgh", "bcdefghi", strict=True))
     + "description: *i\n", "expands to more than"),
    ("recursive", "version: 1\ndescription: &a [*a]\n", "refers to itself"),
    ("deep", "version: 1\ndescription: " + "[" * 5000 + "]" * 5000 + "\n", "nested too deeply"),
    ("parens", "version: 1\ngates:\n  - {gate: g, require: \"" + "(" * 500 + "auc_roc > 0.5" + ")" * 500 + "\"}\n",
     "nested more than 50 levels"),
    ("nots", "version: 1\ngates:\n  - {gate: g, require: \"" + "NOT " * 900 + "auc_roc > 0.5\"}\n",
     "nested more than 50 levels"),
    ("bigint", "version: " + "1" * 5000 + "\nmetrics:\n  - {name: auc_roc, op: '>=', value: 0.9}\n", "digits"),
])
def test_pathological_yaml_is_a_policy_error_and_fast(tmp_path: Path, name: str, text: str, expected: str) -> None:
    p = tmp_path / f"{name}.yaml"
    p.write_text(text)
    t0 = time.perf_counter()
    with pytest.raises(PolicyError, match=expected):
        load_policy(p)
    assert time.perf_counter() - t0 < 10  # an alias bomb is measured, never expanded (it took 20 s and 3 GB)


def test_duplicate_yaml_key(tmp_path: Path) -> None:
    p = write(tmp_path, """
        version: 1
        metrics:
          - name: auc_roc
            op: ">="
            value: 0.9
            value: 0.8
    """)
    prob = only(problems_of(p))
    assert (prob.line, prob.key) == (6, "metrics[0].value")
    assert "duplicate" in prob.message.lower()


def test_duplicate_top_level_yaml_key(tmp_path: Path) -> None:
    p = write(tmp_path, """
        version: 1
        strict: true
        strict: false
        metrics:
          - {name: auc_roc, op: ">=", value: 0.9}
    """)
    prob = only(problems_of(p))
    assert (prob.line, prob.key) == (3, "strict")


def test_yaml_syntax_error_has_line(tmp_path: Path) -> None:
    p = write(tmp_path, """
        version: 1
        metrics:
          - name: auc_roc
            op: ">="
            value: [0.9
    """)
    prob = only(problems_of(p))
    assert prob.line is not None and prob.line >= 5  # the unclosed '[' opens on line 5
    assert "yaml" in prob.message.lower()


def test_yaml_bad_indentation_has_line(tmp_path: Path) -> None:
    p = write(tmp_path, "version: 1\nmetrics:\n  - name: auc_roc\n    op: \">=\"\n   value: 0.9\n")
    prob = only(problems_of(p))
    assert prob.line == 5


@pytest.mark.parametrize("text", ["", "\n\n", "# only a comment\n"])
def test_empty_file(tmp_path: Path, text: str) -> None:
    p = tmp_path / "empty.yaml"
    p.write_text(text, encoding="utf-8")
    prob = only(problems_of(p))
    assert "empty" in prob.message


def test_not_a_mapping(tmp_path: Path) -> None:
    p = write(tmp_path, "- auc_roc\n- precision\n")
    prob = only(problems_of(p))
    assert "mapping" in prob.message


def test_missing_file(tmp_path: Path) -> None:
    p = tmp_path / "nope.yaml"
    prob = only(problems_of(p))
    assert "not found" in prob.message


def test_yaml_1_2_exponent_floats_are_numbers(tmp_path: Path) -> None:
    # PyYAML (YAML 1.1) reads 1e-3 as a string; a policy author means 0.001
    p = write(tmp_path, """
        version: 1
        decision_threshold: 5e-1
        metrics:
          - {name: log_loss, op: "<=", value: 1e-3}
          - {name: brier_score, op: "<=", value: "1e-3"}
    """)
    probs = problems_of(p)
    assert [(x.line, x.key) for x in probs] == [(5, "metrics[1].value")]  # only the quoted one is a string
    p.write_text(p.read_text().replace('value: "1e-3"', "value: 2E-3"))
    lp = load_policy(p)
    assert lp.policy.decision_threshold == 0.5
    assert [r.value for r in lp.policy.metrics] == [0.001, 0.002]


def test_yaml_tags_for_python_objects_are_refused(tmp_path: Path) -> None:
    p = write(tmp_path, """
        version: 1
        description: !!python/object/apply:os.system ["touch pwned"]
        metrics:
          - {name: auc_roc, op: ">=", value: 0.9}
    """)
    assert problems_of(p)
    assert not (tmp_path / "pwned").exists()


# --------------------------------------------------------------------------------------------------
# The policy's own path: a NUL byte or an impossible length is a policy error (exit 2), never exit 3
# --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("path", "expected"), [
    ("pol\x00icy.yaml", "control character"),
    ("x" * 5000 + ".yaml", "more than any file system allows"),
    ("d" * 300 + ".yaml", "cannot read the policy file"),  # one component longer than NAME_MAX (255)
])
def test_impossible_policy_path_is_a_policy_error(tmp_path: Path, path: str, expected: str) -> None:
    with pytest.raises(PolicyError) as err:
        load_policy(tmp_path / path)
    assert expected in str(err.value)


def test_impossible_policy_path_exits_2_on_the_cli(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from gatekit.cli import app

    result = CliRunner().invoke(app, ["validate", str(tmp_path / ("x" * 5000 + ".yaml"))])
    assert result.exit_code == 2, result.output
    assert "internal error" not in result.output
