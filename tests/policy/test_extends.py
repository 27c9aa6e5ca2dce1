"""Tests of :mod:`gatekit.policy.extends`: a policy's ``extends:``."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from tests.helpers import write_policy


def test_extends_merges_a_base_policy_under_the_child(tmp_path: Path) -> None:
    from gatekit.policy.loader import load_policy

    write_policy(tmp_path, """
        version: 1
        strict: true
        decision_threshold: 0.4
        metrics:
          - {name: auc_roc, op: ">=", value: 0.80}
          - {name: precision_at_0_5, op: ">=", value: 0.75}
        gates:
          - {gate: g1, require: "auc_roc >= 0.7"}
        drift: {numerical: {method: psi, threshold: 0.2}}
    """, "base.yaml")
    child = write_policy(tmp_path, """
        version: 3
        extends: base.yaml
        metrics:
          - {name: auc_roc, op: ">=", value: 0.85}
          - {name: recall_at_0_5, op: ">=", value: 0.5}
        gates:
          - {gate: g1, require: "auc_roc >= 0.75", on_fail: warn}
        drift: {numerical: {threshold: 0.1}}
    """, "child.yaml")
    lp = load_policy(child)
    pol = lp.policy
    # the child's auc_roc >= rule replaces the base's; the base's other rule is kept, first
    assert [(r.name, r.value) for r in pol.metrics] == [("precision_at_0_5", 0.75), ("auc_roc", 0.85),
                                                        ("recall_at_0_5", 0.5)]
    assert [(g.gate, g.require, g.on_fail.value) for g in pol.gates] == [("g1", "auc_roc >= 0.75", "warn")]
    assert pol.drift.numerical.method == "psi" and pol.drift.numerical.threshold == 0.1  # merged key by key
    assert pol.decision_threshold == 0.4 and pol.version == 3
    assert lp.bases == [(str((tmp_path / "base.yaml").resolve()),
                         hashlib.sha256((tmp_path / "base.yaml").read_bytes()).hexdigest())]


def test_extends_problems_point_at_the_childs_lines(tmp_path: Path) -> None:
    from gatekit.core.errors import PolicyError
    from gatekit.policy.loader import load_policy

    write_policy(tmp_path, "version: 1\nmetrics: [{name: auc_roc, op: '>=', value: 0.8}]\n", "base.yaml")
    child = write_policy(tmp_path, 'version: 2\nextends: base.yaml\nmetrics:\n  - {name: recall_at_0_5, op: ">=", '
                                   'value: "x"}\n', "child.yaml")
    with pytest.raises(PolicyError) as err:
        load_policy(child)
    problem = err.value.problems[0]
    assert problem.line == 4 and problem.key == "metrics[1].value"  # the child's rule, after the base's one
    loop = write_policy(tmp_path, "version: 1\nextends: loop.yaml\nmetrics: []\n", "loop.yaml")
    with pytest.raises(PolicyError, match="cycle"):
        load_policy(loop)
    missing = write_policy(tmp_path, "version: 1\nextends: nope.yaml\n", "m.yaml")
    with pytest.raises(PolicyError, match="not found"):
        load_policy(missing)


# --------------------------------------------------------------------------------------------------
# extends: reads only base policies: a .yaml / .yml file that is a mapping with policy keys. Any other
# file is refused without echoing its content or keys.
# --------------------------------------------------------------------------------------------------

_RULE = "metrics:\n  - {name: auc_roc, op: '>=', value: 0.5}\n"


def _extends_problem(tmp_path: Path, name: str) -> tuple[str, int | None]:
    from gatekit.core.errors import PolicyError
    from gatekit.policy.loader import load_policy

    child = write_policy(tmp_path, f"version: 1\nextends: {name}\n" + _RULE, "child.yaml")
    with pytest.raises(PolicyError) as err:
        load_policy(child)
    problems = err.value.problems
    assert len(problems) == 1, [str(p) for p in problems]
    assert problems[0].key == "extends" and problems[0].file == str(child)
    return problems[0].message, problems[0].line


@pytest.mark.parametrize("name", ["/etc/passwd", "/etc/shadow", "../../x", "secret.txt", "/dev/null", "/dev/zero",
                                  "/proc/self/environ", "base.json", "library", "."])
def test_extends_reads_only_yaml_files(tmp_path: Path, name: str) -> None:
    (tmp_path / "secret.txt").write_text("version: 1\nSECRET_TOKEN: abc\n")
    message, line = _extends_problem(tmp_path, name)
    assert "ending in .yaml or .yml" in message and line == 2
    assert "SECRET" not in message and "root" not in message


@pytest.mark.parametrize(("text", "expected"), [
    ("root: x\npassword: hunter2\n", "does not look like a policy"),
    ("1: a\n2: b\n", "does not look like a policy"),
    ("- root\n- hunter2\n", "not a mapping"),
    ("hunter2\n", "not a mapping"),
    ("", "is empty"),
    ("{}\n", "is empty"),
    ("password: hunter2\npassword: hunter3\n", "does not look like a policy"),  # duplicate keys not echoed
])
def test_extends_refuses_a_yaml_file_that_is_not_a_policy_without_echoing_it(tmp_path: Path, text: str,
                                                                           expected: str) -> None:
    (tmp_path / "other.yaml").write_text(text)
    message, line = _extends_problem(tmp_path, "other.yaml")
    assert expected in message and line == 2
    assert "hunter" not in message and "password" not in message and "root" not in message


def test_extends_refuses_a_yaml_link_to_another_file(tmp_path: Path) -> None:
    (tmp_path / "secret.txt").write_text("version: 1\npassword: hunter2\n")
    (tmp_path / "link.yaml").symlink_to(tmp_path / "secret.txt")
    message, _ = _extends_problem(tmp_path, "link.yaml")
    assert "not a .yaml / .yml policy" in message and "hunter2" not in message


@pytest.mark.parametrize(("name", "expected"), [
    ("missing.yaml", "not found or not a regular file"),
    ("folder.yaml", "not found or not a regular file"),
    ("d" * 300 + ".yaml", "cannot read"),  # one component longer than NAME_MAX: OSError, not exit 3
    ('"a\\u0000b.yaml"', "control character"),
    ('""', "cannot be empty"),
    ("[]", "extends must be a policy file or a list of them"),
    ("[3]", "extends must be a policy file or a list of them"),
    ("{a: 1}", "extends must be a policy file or a list of them"),
])
def test_extends_bad_names_are_policy_errors_on_the_extends_line(tmp_path: Path, name: str, expected: str) -> None:
    (tmp_path / "folder.yaml").mkdir()
    message, line = _extends_problem(tmp_path, name)
    assert expected in message and line == 2


def test_extends_may_name_a_base_policy_in_a_parent_folder(tmp_path: Path) -> None:
    # judgement: shared bases live anywhere (policies/library/...); only what is read is restricted
    from gatekit.policy.loader import load_policy

    write_policy(tmp_path, "version: 1\n" + _RULE, "shared.yml")
    (tmp_path / "team").mkdir()
    child = write_policy(tmp_path / "team", "version: 2\nextends: ../shared.yml\n", "child.yaml")
    lp = load_policy(child)
    assert [r.name for r in lp.policy.metrics] == ["auc_roc"]
    assert lp.bases[0][0] == str((tmp_path / "shared.yml").resolve())


@pytest.mark.parametrize("rule", [
    "{name: {a: 1}, op: '>=', value: 0.5}",
    "{name: [auc_roc], op: '>=', value: 0.5}",
    "{name: auc_roc, op: [], value: 0.5}",
    "{name: auc_roc, op: '>=', value: 0.5, confidence: {a: 1}}",
    "{name: auc_roc, op: '>=', value: 0.5, params: {1: a, b: c}}",  # keys of mixed types cannot be sorted
])
def test_extends_with_malformed_child_rules_is_a_policy_error(tmp_path: Path, rule: str) -> None:
    from gatekit.core.errors import PolicyError
    from gatekit.policy.loader import load_policy

    write_policy(tmp_path, "version: 1\n" + _RULE + "gates:\n  - {gate: g, require: 'auc_roc > 0.5'}\n",
                 "base.yaml")
    child = write_policy(tmp_path, f"version: 1\nextends: base.yaml\nmetrics:\n  - {rule}\n"
                                   "gates:\n  - {gate: {x: 1}, require: 'auc_roc > 0.5'}\n", "child.yaml")
    with pytest.raises(PolicyError):
        load_policy(child)
