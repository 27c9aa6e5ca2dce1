"""Tests of :mod:`gatekit.policy.problems`: every kind of mistake is a PolicyError naming file, line and
key, and all of them are reported together.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from gatekit.cli import app
from gatekit.policy import load_policy
from tests.helpers import write_policy
from tests.helpers import write_policy as write
from tests.policy.helpers import only, problems_of


def test_validate_names_file_line_and_key_for_typos_in_the_new_sections(tmp_path: Path) -> None:
    p = write_policy(tmp_path, """
        version: 1
        operational: {request: 400}
        artifact:
          signatur: {file: a, public_key: b}
        robustness:
          out_of_range: {cases: [extremes]}
        security:
          licenses: {allow: [MIT], requirement: r.txt}
        metrics: [{name: auc_roc, op: ">=", value: 0.5}]
    """)
    res = CliRunner().invoke(app, ["validate", str(p)])
    assert res.exit_code == 2
    for frag in ("policy.yaml:2:", "'requests'", "policy.yaml:4:", "'signature'", "policy.yaml:6:",
                 "'extremes'", "policy.yaml:8:", "'requirements'"):
        assert frag in res.output, frag


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
