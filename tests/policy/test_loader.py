"""Tests of :mod:`gatekit.policy.loader`: the seed policies load, with fail-closed defaults."""

from __future__ import annotations

from pathlib import Path

import pytest

import gatekit
from gatekit.core.results import OnFail
from gatekit.policy import load_policy
from tests.helpers import POLICIES
from tests.helpers import write_json as metrics_file
from tests.helpers import write_policy as policy_file
from tests.helpers import write_policy as write
from tests.policy.helpers import only, problems_of


def test_policy_without_rules_does_not_pass(tmp_path: Path) -> None:
    # a policy with no rules could never pass: it is refused at validation (exit 2), never run to a pass
    from gatekit.core.errors import PolicyError

    pol = policy_file(tmp_path, "version: 1\nmetrics: []\n")
    m = metrics_file(tmp_path, {"auc_roc": 0.95})
    with pytest.raises(PolicyError, match="no rules"):
        gatekit.run(pol, metrics=m)


# --------------------------------------------------------------------------------------------------
# Valid policies
# --------------------------------------------------------------------------------------------------


def test_seed_format_loads() -> None:
    lp = load_policy(POLICIES / "seed_format.yaml")
    pol = lp.policy
    assert pol.strict is True
    assert [(r.name, r.op, r.value, r.on_fail) for r in pol.metrics] == [
        ("auc_roc", ">=", 0.90, OnFail.BLOCK),
        ("fairness_demographic_parity_diff", "<=", 0.10, OnFail.BLOCK),
        ("latency_p95_ms", "<=", 120.0, OnFail.WARN),
    ]
    assert [(g.gate, g.on_fail) for g in pol.gates] == [("model_performance", OnFail.BLOCK)]
    assert pol.gates[0].require == "auc_roc >= 0.90 AND precision_at_0_5 >= 0.75"
    assert pol.compatibility is not None
    assert pol.compatibility.feature_signature is not None
    assert pol.compatibility.feature_signature.mode == "strict"
    assert pol.compatibility.model_format is not None
    assert list(pol.compatibility.model_format.allowed) == ["onnx", "pickle_v2"]


@pytest.mark.parametrize("name", ["seed_example_1.yaml", "seed_example_2.yaml", "seed_exercise_1.yaml"])
def test_seed_examples_load(name: str) -> None:
    lp = load_policy(POLICIES / name)
    assert lp.policy.metrics
    assert lp.name == name.removesuffix(".yaml")


def test_sha256_is_of_the_file_bytes(tmp_path: Path) -> None:
    import hashlib

    p = write(tmp_path, """
        version: 1
        metrics:
          - name: auc_roc
            op: ">="
            value: 0.9
    """)
    assert load_policy(p).sha256 == hashlib.sha256(p.read_bytes()).hexdigest()


def test_defaults_fail_closed(tmp_path: Path) -> None:
    p = write(tmp_path, """
        version: 1
        metrics:
          - name: auc_roc
            op: ">="
            value: 1
    """)
    pol = load_policy(p).policy
    assert pol.strict is True
    assert pol.metrics[0].on_fail == OnFail.BLOCK
    assert pol.metrics[0].value == 1.0  # an integer threshold is a number


def test_policy_without_rules_is_invalid(tmp_path: Path) -> None:
    p = write(tmp_path, """
        version: 1
        metrics: []
    """)
    prob = only(problems_of(p))
    assert "no rules" in prob.message and prob.line == 1


# --------------------------------------------------------------------------------------------------
# Every path-valued key: a NUL byte (or another control character, or nothing) is refused at validation
# with file:line:key (exit 2), never an "internal error" when the path is opened
# --------------------------------------------------------------------------------------------------

_HEAD = "version: 1\nmetrics:\n  - {name: auc_roc, op: '>=', value: 0.5}\n"  # 3 lines
# key -> the section that names it, the path on the section's last line
PATH_KEYS = {
    "inputs.data": "inputs:\n  data: BAD\n",
    "inputs.model": "inputs:\n  model: BAD\n",
    "inputs.metrics": "inputs:\n  metrics: BAD\n",
    "inputs.reference": "inputs:\n  reference: BAD\n",
    "inputs.baseline.model": "inputs:\n  baseline:\n    model: BAD\n",
    "inputs.baseline.metrics": "inputs:\n  baseline:\n    metrics: BAD\n",
    "canary.data": "canary:\n  target: y\n  score: s\n  rules: [{name: auc_roc, max_drop: 0.1}]\n  data: BAD\n",
    "artifact.signature.file": "artifact:\n  signature:\n    public_key: k.pub\n    file: BAD\n",
    "artifact.signature.public_key": "artifact:\n  signature:\n    file: m.sig\n    public_key: BAD\n",
    "artifact.metadata.file": "artifact:\n  metadata:\n    file: BAD\n",
    "artifact.metadata.production_file": "artifact:\n  metadata:\n    file: card.yaml\n    production_file: BAD\n",
    "security.licenses.requirements": "security:\n  licenses:\n    requirements: BAD\n",
    "security.pii.metadata_files[0]": "security:\n  pii:\n    metadata_files:\n      - BAD\n",
    "data_quality.expectations_dir": "data_quality:\n  expectations_dir: BAD\n",
    "data_quality.suites[0]": "data_quality:\n  suites:\n    - BAD\n",
    "data_quality.suites[0].path": "data_quality:\n  suites:\n    - path: BAD\n",
    "operational.latency_samples": "operational:\n  latency_samples: BAD\n",
    "operational.baseline_latency_samples": "operational:\n  baseline_latency_samples: BAD\n",
    "compatibility.feature_signature.expected_file": "compatibility:\n  feature_signature:\n    expected_file: BAD\n",
    "compatibility.feature_signature.expected_model": "compatibility:\n  feature_signature:\n    expected_model: BAD\n",
    "extends": "extends: BAD\n",
}


@pytest.mark.parametrize(("value", "expected"), [
    ('"a\\u0000b"', "control character (U+0000 at character 2)"),
    ('"data\\n.csv"', "control character (U+000A at character 5)"),
    ('"a\\tb"', "control character (U+0009 at character 2)"),
    ('"  "', "cannot be empty"),
    ('""', "cannot be empty"),
    ('"' + "x" * 5000 + '"', "5000 characters"),
])
@pytest.mark.parametrize("key", list(PATH_KEYS))
def test_bad_path_values_are_refused_with_file_line_and_key(tmp_path: Path, key: str, value: str,
                                                             expected: str) -> None:
    body = PATH_KEYS[key]
    path = tmp_path / "p.yaml"
    path.write_text(_HEAD + body.replace("BAD", value))
    problem = only(problems_of(path))
    assert problem.key == key
    assert problem.line == 3 + body.count("\n")  # the section's last line holds the path
    assert expected in problem.message
    assert "x" * 100 not in problem.message  # the value itself is never echoed


@pytest.mark.parametrize("key", ["data", "model", "metrics", "reference", "baseline_model", "baseline_metrics",
                                 "latency_samples", "baseline_latency_samples"])
def test_bad_override_paths_are_input_errors_naming_the_option(tmp_path: Path, key: str) -> None:
    from gatekit.core.errors import InputError

    pol = write(tmp_path, _HEAD)
    with pytest.raises(InputError) as err:
        gatekit.run(pol, **{key: "a\x00b.csv"})
    problem = only(err.value.problems)
    assert problem.key == key and "control character (U+0000 at character 2)" in problem.message
    with pytest.raises(InputError, match=r"must be a file path(,| or a fitted model)"):
        gatekit.run(pol, **{key: 3})


def test_nul_in_a_policy_path_exits_2_not_3(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from gatekit.cli import app

    pol = write(tmp_path, _HEAD + 'inputs:\n  data: "a\\u0000b"\n  target: y\n  score: s\n')
    for command in (["validate", str(pol)], ["run", str(pol), "--out", str(tmp_path / "out")]):
        result = CliRunner().invoke(app, command)
        assert result.exit_code == 2, result.output
        assert "inputs.data" in result.output and "internal error" not in result.output


# --------------------------------------------------------------------------------------------------
# Column roles that must differ, checked in the policy (file:line) as well as at run time
# --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("inputs", "first", "second", "column"), [
    ("  target: y\n  score: y\n", "target", "score", "y"),
    ("  target: y\n  prediction: y\n", "target", "prediction", "y"),
    ("  target: y\n  score: s\n  baseline: {score: s}\n", "score", "baseline score", "s"),
    ("  target: y\n  prediction: p\n  baseline: {prediction: p}\n", "prediction", "baseline prediction", "p"),
    ("  target: y\n  score: s\n  baseline: {prediction: y}\n", "target", "baseline prediction", "y"),
    ("  target: y\n  score: s\n  sensitive: [g, y]\n", "target", "sensitive", "y"),
    ("  target: y\n  score: s\n  sensitive: s\n", "score", "sensitive", "s"),
    ("  target: y\n  model: m.skops\n  features: [a, y]\n", "target", "feature", "y"),
    ("  target: y\n  score: s\n  baseline: {model: m.skops}\n  features: [s]\n", "score", "feature", "s"),
])
def test_one_column_in_two_roles_is_a_policy_error(tmp_path: Path, inputs: str, first: str, second: str,
                                                    column: str) -> None:
    path = tmp_path / "p.yaml"
    path.write_text(_HEAD + "inputs:\n" + inputs)
    problem = only(problems_of(path))
    assert problem.key == "inputs" and problem.line == 4
    assert f"column {column!r} is given as both the {first} column and the {second} column" in problem.message


def test_a_sensitive_column_may_also_be_a_model_feature(tmp_path: Path) -> None:
    path = tmp_path / "p.yaml"
    path.write_text(_HEAD + "inputs:\n  target: y\n  model: m.skops\n  features: [a, g]\n  sensitive: g\n")
    assert load_policy(path).policy.inputs.sensitive == ["g"]


@pytest.mark.parametrize(("canary", "first", "second", "column"), [
    ("  arm: y\n  target: y\n  score: s\n", "canary arm", "canary target", "y"),
    ("  target: y\n  score: y\n", "canary target", "canary score", "y"),
    ("  target: y\n  prediction: arm\n", "canary arm", "canary prediction", "arm"),
    ("  target: y\n  score: s\n  sensitive: [g, s]\n", "canary score", "canary sensitive", "s"),
    ("  target: y\n  score: s\n  sensitive: arm\n", "canary arm", "canary sensitive", "arm"),
])
def test_canary_columns_in_two_roles_are_a_policy_error(tmp_path: Path, canary: str, first: str, second: str,
                                                         column: str) -> None:
    path = tmp_path / "p.yaml"
    path.write_text(_HEAD + "canary:\n  data: log.csv\n  rules: [{name: auc_roc, max_drop: 0.1}]\n" + canary)
    problem = only(problems_of(path))
    assert problem.key == "canary" and problem.line == 4
    assert f"column {column!r} is given as both the {first} column and the {second} column" in problem.message
