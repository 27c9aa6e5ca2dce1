"""Tests of policy loading: the seed format loads; every kind of mistake is a PolicyError naming file, line, key."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from gatekit.core.errors import PolicyError, Problem
from gatekit.core.results import OnFail
from gatekit.policy import load_policy
from tests.conftest import write_policy as write

POLICIES = Path(__file__).resolve().parents[1] / "policies"


def problems_of(path: Path) -> list[Problem]:
    with pytest.raises(PolicyError) as info:
        load_policy(path)
    problems = info.value.problems
    assert problems, "a PolicyError must list at least one problem"
    for p in problems:
        assert isinstance(p, Problem)
        assert p.file == str(path)
    return problems


def only(problems: list[Problem]) -> Problem:
    assert len(problems) == 1, [str(p) for p in problems]
    return problems[0]


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


def test_same_metric_with_different_ops_is_not_a_duplicate(tmp_path: Path) -> None:
    p = write(tmp_path, """
        version: 1
        metrics:
          - name: auc_roc
            op: ">="
            value: 0.9
          - name: auc_roc
            op: "<="
            value: 0.999
    """)
    assert len(load_policy(p).policy.metrics) == 2


def test_same_metric_with_different_params_is_not_a_duplicate(tmp_path: Path) -> None:
    p = write(tmp_path, """
        version: 1
        metrics:
          - name: smape
            op: "<="
            value: 14
            params: {variant: "0-100"}
          - name: smape
            op: "<="
            value: 20
            params: {variant: "0-200"}
    """)
    assert len(load_policy(p).policy.metrics) == 2


# --------------------------------------------------------------------------------------------------
# Each kind of mistake: file, 1-based line, key, helpful message
# --------------------------------------------------------------------------------------------------


def test_unknown_key_with_suggestion(tmp_path: Path) -> None:
    p = write(tmp_path, """
        version: 1
        metrics:
          - name: auc_roc
            opp: ">="
            value: 0.9
    """)
    probs = problems_of(p)
    prob = next(x for x in probs if x.key == "metrics[0].opp")
    assert prob.line == 4
    assert "'opp'" in prob.message
    assert "did you mean 'op'" in prob.message
    # op is optional since a rule may be baseline-relative instead; the suggestion names it
    assert len(probs) == 1


def test_unknown_top_level_key(tmp_path: Path) -> None:
    p = write(tmp_path, """
        version: 1
        stirct: true
    """)
    prob = only(problems_of(p))
    assert (prob.line, prob.key) == (2, "stirct")
    assert "did you mean 'strict'" in prob.message


def test_unknown_nested_key(tmp_path: Path) -> None:
    p = write(tmp_path, """
        version: 1
        compatibility:
          feature_signatur: strict
    """)
    prob = only(problems_of(p))
    assert (prob.line, prob.key) == (3, "compatibility.feature_signatur")
    assert "did you mean 'feature_signature'" in prob.message


def test_string_threshold_is_a_type_error(tmp_path: Path) -> None:
    p = write(tmp_path, """
        version: 1
        metrics:
          - name: fairness_demographic_parity_diff
            op: "<="
            value: "0.10"
    """)
    prob = only(problems_of(p))
    assert (prob.line, prob.key) == (5, "metrics[0].value")
    assert "0.10" in prob.message


@pytest.mark.parametrize(
    ("snippet", "line", "key"),
    [
        ("strict: \"yes\"", 2, "strict"),        # strict types: a string is not a boolean
        ("strict: 1", 2, "strict"),              # ... nor is an integer
        ("decision_threshold: \"0.5\"", 2, "decision_threshold"),
        ("metrics: {name: auc_roc}", 2, "metrics"),  # a mapping where a list is expected
    ],
)
def test_wrong_top_level_types(tmp_path: Path, snippet: str, line: int, key: str) -> None:
    p = write(tmp_path, f"version: 1\n{snippet}\n")
    probs = problems_of(p)
    assert {(x.line, x.key) for x in probs} == {(line, key)}


@pytest.mark.parametrize(
    ("field", "text"),
    [("value", "true"), ("name", "123"), ("op", "[\">=\"]"), ("on_fail", "blok"), ("on_fail", "true")],
)
def test_wrong_rule_field_types(tmp_path: Path, field: str, text: str) -> None:
    fields = {"name": "auc_roc", "op": '">="', "value": "0.9", "on_fail": "block"}
    fields[field] = text
    body = "version: 1\nmetrics:\n" + "".join(
        f"{'  - ' if i == 0 else '    '}{k}: {v}\n" for i, (k, v) in enumerate(fields.items()))
    p = write(tmp_path, body)
    line = 3 + list(fields).index(field)
    prob = only(problems_of(p))
    assert (prob.line, prob.key) == (line, f"metrics[0].{field}")


def test_unknown_op_suggests_the_right_one(tmp_path: Path) -> None:
    p = write(tmp_path, """
        version: 1
        metrics:
          - name: auc_roc
            op: "=>"
            value: 0.9
    """)
    prob = only(problems_of(p))
    assert (prob.line, prob.key) == (4, "metrics[0].op")
    assert "'>='" in prob.message
    # the rendered problem carries file:line
    assert f"{p}:4" in str(prob)


def test_unknown_op_less_equal_typo(tmp_path: Path) -> None:
    p = write(tmp_path, """
        version: 1
        metrics:
          - name: fairness_demographic_parity_diff
            op: "=<"
            value: 0.1
    """)
    prob = only(problems_of(p))
    assert (prob.line, prob.key) == (4, "metrics[0].op")
    assert "'<='" in prob.message


def test_unknown_metric_suggests_closest(tmp_path: Path) -> None:
    p = write(tmp_path, """
        version: 1
        metrics:
          - name: fairness_demographic_parity_dif
            op: "<="
            value: 0.10
    """)
    prob = only(problems_of(p))
    assert (prob.line, prob.key) == (3, "metrics[0].name")
    assert "fairness_demographic_parity_dif'" in prob.message
    assert "'fairness_demographic_parity_diff'" in prob.message


def test_unknown_metric_in_require_expression(tmp_path: Path) -> None:
    p = write(tmp_path, """
        version: 1
        gates:
          - gate: perf
            require: "auc_rox >= 0.9"
    """)
    prob = only(problems_of(p))
    assert (prob.line, prob.key) == (4, "gates[0].require")
    assert "'auc_roc'" in prob.message


def test_duplicate_metric_rule(tmp_path: Path) -> None:
    p = write(tmp_path, """
        version: 1
        metrics:
          - name: auc_roc
            op: ">="
            value: 0.9
          - name: precision_at_0_5
            op: ">="
            value: 0.75
          - name: auc_roc
            op: ">="
            value: 0.85
    """)
    prob = only(problems_of(p))
    assert prob.line == 9
    assert prob.key is not None and prob.key.startswith("metrics[2]")
    assert "duplicate" in prob.message.lower()


def test_duplicate_metric_rule_through_an_alias(tmp_path: Path) -> None:
    # auc_roc is the seed's name for roc_auc: the same metric
    p = write(tmp_path, """
        version: 1
        metrics:
          - name: auc_roc
            op: ">="
            value: 0.9
          - name: roc_auc
            op: ">="
            value: 0.85
    """)
    prob = only(problems_of(p))
    assert prob.line == 6
    assert prob.key is not None and prob.key.startswith("metrics[1]")


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


def test_missing_required_rule_key(tmp_path: Path) -> None:
    p = write(tmp_path, """
        version: 1
        metrics:
          - name: auc_roc
            value: 0.9
    """)
    prob = only(problems_of(p))
    assert prob.line == 3
    assert prob.key == "metrics[0]" and "needs op and value" in prob.message


@pytest.mark.parametrize(
    ("expr", "char"),
    [("auc_roc >= 0.9 AND", 19), ("auc_roc => 0.9", 9), ("(auc_roc >= 0.9", 16),
     ("auc_roc >= 0.9 && pr_auc >= 0.5", 16)],
)
def test_malformed_require_expression(tmp_path: Path, expr: str, char: int) -> None:
    p = write(tmp_path, f"""
        version: 1
        gates:
          - gate: perf
            require: "{expr}"
    """)
    prob = only(problems_of(p))
    assert (prob.line, prob.key) == (4, "gates[0].require")
    assert re.search(rf"\b{char}\b", prob.message), prob.message


def test_bad_metric_parameter(tmp_path: Path) -> None:
    p = write(tmp_path, """
        version: 1
        metrics:
          - name: smape
            op: "<="
            value: 14
            params: {varient: "0-100"}
    """)
    prob = only(problems_of(p))
    assert prob.line == 6
    assert prob.key == "metrics[0].params.varient"


# --------------------------------------------------------------------------------------------------
# All problems at once
# --------------------------------------------------------------------------------------------------


def test_problems_in_several_rules_are_reported_together(tmp_path: Path) -> None:
    p = write(tmp_path, """
        version: 1
        metrics:
          - name: auc_roc
            op: "=>"
            value: 0.9
          - name: precision_at_0_5
            op: ">="
            value: "0.75"
          - name: fairness_demographic_parity_dif
            op: "<="
            value: 0.1
        gates:
          - gate: perf
            require: "auc_roc >="
    """)
    got = {(x.line, x.key) for x in problems_of(p)}
    assert got == {(4, "metrics[0].op"), (8, "metrics[1].value"), (9, "metrics[2].name"), (14, "gates[0].require")}


def test_duplicate_yaml_key_and_schema_problem_reported_together(tmp_path: Path) -> None:
    p = write(tmp_path, """
        version: 1
        version: 2
        metrics:
          - name: auc_roc
            op: "=>"
            value: 0.9
    """)
    got = {(x.line, x.key) for x in problems_of(p)}
    assert got == {(2, "version"), (5, "metrics[0].op")}


def test_unknown_key_and_type_error_in_sibling_rules(tmp_path: Path) -> None:
    p = write(tmp_path, """
        version: 1
        metrics:
          - name: auc_roc
            opp: ">="
            value: 0.9
          - name: precision_at_0_5
            op: ">="
            value: "x"
    """)
    got = {(x.line, x.key) for x in problems_of(p)}
    assert got == {(4, "metrics[0].opp"), (8, "metrics[1].value")}


def test_two_unknown_keys_in_one_rule_are_both_reported(tmp_path: Path) -> None:
    p = write(tmp_path, """
        version: 1
        metrics:
          - name: auc_roc
            opp: ">="
            valu: 0.9
    """)
    got = {(x.line, x.key) for x in problems_of(p)}
    assert (4, "metrics[0].opp") in got
    assert (5, "metrics[0].valu") in got


def test_top_level_unknown_key_does_not_hide_rule_problems(tmp_path: Path) -> None:
    p = write(tmp_path, """
        version: 1
        descripton: loan model gate
        metrics:
          - name: auc_roc
            op: "=>"
            value: 0.9
    """)
    got = {(x.line, x.key) for x in problems_of(p)}
    assert (2, "descripton") in got
    assert (5, "metrics[0].op") in got


def test_policy_error_str_lists_every_problem(tmp_path: Path) -> None:
    p = write(tmp_path, """
        version: 1
        metrics:
          - name: auc_roc
            op: "=>"
            value: 0.9
          - name: fairness_demographic_parity_dif
            op: "<="
            value: 0.1
    """)
    with pytest.raises(PolicyError) as info:
        load_policy(p)
    text = str(info.value)
    assert f"{p}:4" in text
    assert f"{p}:6" in text


def test_non_finite_threshold_is_rejected(tmp_path: Path) -> None:
    # value: .nan would make `!=` pass everything (NaN is never close to anything): fail open
    p = write(tmp_path, """
        version: 1
        metrics:
          - {name: mape, op: "!=", value: .nan}
          - {name: smape, op: "<=", value: .inf}
    """)
    got = {(x.line, x.key) for x in problems_of(p)}
    assert got == {(3, "metrics[0].value"), (4, "metrics[1].value")}


def test_duplicate_rule_counts_default_params(tmp_path: Path) -> None:
    # smape's default variant is "0-200", so these two rules are the same rule
    p = write(tmp_path, """
        version: 1
        metrics:
          - {name: smape, op: "<=", value: 14}
          - {name: smape, op: "<=", value: 12, params: {variant: "0-200"}}
          - {name: smape, op: "<=", value: 7, params: {variant: "0-100"}}
    """)
    probs = problems_of(p)
    assert len(probs) == 1 and probs[0].line == 4 and "duplicate" in probs[0].message


def test_rule_level_problems_are_reported_with_structural_ones(tmp_path: Path) -> None:
    p = write(tmp_path, """
        version: 1
        metrics:
          - {name: auc_roc, op: "=>", value: 0.9}
          - {name: smape, op: "<=", value: 14, params: {variant: "0-50"}}
          - {name: mape, op: "<=", value: 12}
          - {name: mape, op: "<=", value: 10}
        gates:
          - {gate: g, require: "auc_roc >= 0.9"}
          - {gate: g, require: "auc_roc >= 0.8"}
    """)
    got = {(x.line, x.key) for x in problems_of(p)}
    assert got == {(3, "metrics[0].op"), (4, "metrics[1].params.variant"), (6, "metrics[3]"), (9, "gates[1].gate")}


def test_warn_and_block_tiers_on_one_metric_are_not_duplicates(tmp_path: Path) -> None:
    p = write(tmp_path, """
        version: 1
        metrics:
          - {name: auc_roc, op: ">=", value: 0.75, on_fail: block}
          - {name: auc_roc, op: ">=", value: 0.85, on_fail: warn}
    """)
    assert len(load_policy(p).policy.metrics) == 2


def test_policy_without_rules_is_invalid(tmp_path: Path) -> None:
    p = write(tmp_path, """
        version: 1
        metrics: []
    """)
    prob = only(problems_of(p))
    assert "no rules" in prob.message and prob.line == 1


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
