"""Tests of :mod:`gatekit.policy.expressions`: parsing, errors with columns, Kleene logic."""

from __future__ import annotations

import itertools

import pytest

from gatekit.core.compare import compare
from gatekit.policy.expressions import BoolOp, Comparison, ExpressionError, comparisons, evaluate, parse

T, F, U = True, False, None


def C(name: str, op: str = ">=", value: float = 1.0) -> Comparison:
    return Comparison(name, op, value)


def truth_leaf(env: dict[str, bool | None]):
    """Leaf that ignores the comparison and returns the truth value assigned to its metric name."""

    def leaf(c: Comparison) -> bool | None:
        assert isinstance(c.left, str)
        return env[c.left]

    return leaf


# --------------------------------------------------------------------------------------------------
# parse(): structure, precedence, keywords
# --------------------------------------------------------------------------------------------------


def test_single_comparison() -> None:
    node = parse("auc_roc >= 0.90")
    assert node == Comparison("auc_roc", ">=", 0.9)
    assert isinstance(node.right, float)


@pytest.mark.parametrize("op", [">=", ">", "<=", "<", "==", "!="])
def test_every_operator_parses(op: str) -> None:
    assert parse(f"latency_p95_ms {op} 120") == Comparison("latency_p95_ms", op, 120.0)


@pytest.mark.parametrize(
    ("text", "number"),
    [("a >= 12", 12.0), ("a >= 0.9", 0.9), ("a >= -1", -1.0), ("a >= 1e-3", 0.001), ("a >= .5", 0.5),
     ("a>=0.75", 0.75)],
)
def test_number_literals(text: str, number: float) -> None:
    assert parse(text) == Comparison("a", ">=", number)


def test_metric_on_both_sides_and_number_on_the_left() -> None:
    assert parse("auc_roc >= pr_auc") == Comparison("auc_roc", ">=", "pr_auc")
    assert parse("0.9 <= auc_roc") == Comparison(0.9, "<=", "auc_roc")


def test_or_binds_looser_than_and() -> None:
    # a OR (b AND c)
    assert parse("a >= 1 OR b >= 1 AND c >= 1") == BoolOp("OR", (C("a"), BoolOp("AND", (C("b"), C("c")))))
    # (a AND b) OR c
    assert parse("a >= 1 AND b >= 1 OR c >= 1") == BoolOp("OR", (BoolOp("AND", (C("a"), C("b"))), C("c")))


def test_not_binds_tighter_than_and() -> None:
    assert parse("NOT a >= 1 AND b >= 1") == BoolOp("AND", (BoolOp("NOT", (C("a"),)), C("b")))
    assert parse("NOT NOT a >= 1") == BoolOp("NOT", (BoolOp("NOT", (C("a"),)),))


def test_parentheses_override_precedence() -> None:
    assert parse("(a >= 1 OR b >= 1) AND c >= 1") == BoolOp("AND", (BoolOp("OR", (C("a"), C("b"))), C("c")))
    assert parse("NOT (a >= 1 AND b >= 1)") == BoolOp("NOT", (BoolOp("AND", (C("a"), C("b"))),))
    assert parse("((a >= 1))") == C("a")


def test_keywords_are_case_insensitive() -> None:
    upper = parse("a >= 1 AND NOT b >= 1 OR c >= 1")
    assert parse("a >= 1 and not b >= 1 or c >= 1") == upper
    assert parse("a >= 1 And Not b >= 1 oR c >= 1") == upper


# Truth-table oracle: each expression with its Python equivalent (written by hand, not derived from gatekit).
BOOLEAN_CASES = [
    ("a >= 1 OR b >= 1 AND c >= 1", lambda a, b, c: a or (b and c)),
    ("a >= 1 AND b >= 1 OR c >= 1", lambda a, b, c: (a and b) or c),
    ("(a >= 1 OR b >= 1) AND c >= 1", lambda a, b, c: (a or b) and c),
    ("NOT a >= 1 AND b >= 1", lambda a, b, c: (not a) and b),
    ("NOT (a >= 1 AND b >= 1)", lambda a, b, c: not (a and b)),
    ("NOT a >= 1 OR NOT b >= 1 AND c >= 1", lambda a, b, c: (not a) or ((not b) and c)),
    ("a >= 1 AND b >= 1 AND c >= 1", lambda a, b, c: a and b and c),
    ("a >= 1 OR b >= 1 OR c >= 1", lambda a, b, c: a or b or c),
    ("a >= 1 and (b >= 1 or not c >= 1)", lambda a, b, c: a and (b or not c)),
    ("NOT (NOT a >= 1 OR (b >= 1 AND NOT c >= 1))", lambda a, b, c: not ((not a) or (b and not c))),
]


@pytest.mark.parametrize(("text", "oracle"), BOOLEAN_CASES, ids=[c[0] for c in BOOLEAN_CASES])
def test_precedence_matches_truth_table(text: str, oracle) -> None:
    node = parse(text)
    for a, b, c in itertools.product([True, False], repeat=3):
        got = evaluate(node, truth_leaf({"a": a, "b": b, "c": c}))
        assert got is bool(oracle(a, b, c)), (text, a, b, c)


@pytest.mark.parametrize("text", [c[0] for c in BOOLEAN_CASES])
def test_str_round_trips(text: str) -> None:
    node = parse(text)
    assert parse(str(node)) == node


def test_comparisons_lists_leaves_left_to_right() -> None:
    node = parse("a >= 1 AND (b < 2 OR NOT c == 3)")
    assert comparisons(node) == [Comparison("a", ">=", 1.0), Comparison("b", "<", 2.0), Comparison("c", "==", 3.0)]


# --------------------------------------------------------------------------------------------------
# parse(): errors with 1-based columns
# --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "column"),
    [
        ("auc_roc >=", 11),              # ends after the operator: column just past the end (len 10)
        ("auc_roc >= 0.9 AND", 19),      # dangling AND (len 18)
        ("(a >= 1", 8),                  # the ')' is missing at the end (len 7)
        ("a => 1", 3),                   # '=>' is not an operator: the '=' at column 3
        ("a && b", 3),                   # '&&' is not AND
        ("a >= 1 || b >= 1", 8),         # '||' is not OR
        ("a >= 1 b >= 1", 8),            # two comparisons with no keyword between them
        ("a >= 1)", 7),                  # unbalanced ')'
        ("a >= 1 OR OR b >= 1", 11),     # second OR where an operand is expected
        ("a = 1", 3),                    # single '='
    ],
)
def test_malformed_expression_reports_column(text: str, column: int) -> None:
    with pytest.raises(ExpressionError) as info:
        parse(text)
    assert info.value.column == column
    assert info.value.message


def test_comparison_of_two_numbers_is_rejected() -> None:
    with pytest.raises(ExpressionError) as info:
        parse("0.5 >= 0.4")
    # either the start of the comparison or its operator is a fair place to point at
    assert info.value.column in (1, 5)
    assert "metric" in info.value.message


@pytest.mark.parametrize("text", ["", "   "])
def test_empty_expression_is_an_error(text: str) -> None:
    with pytest.raises(ExpressionError) as info:
        parse(text)
    assert info.value.column == 1


def test_error_hints() -> None:
    with pytest.raises(ExpressionError) as info:
        parse("a => 1")
    assert ">=" in info.value.message
    with pytest.raises(ExpressionError) as info:
        parse("a >= 1 && b >= 1")
    assert "AND" in info.value.message


@pytest.mark.parametrize("text", ["AND >= 1", "NOT", "a >= 1 AND (b >= 2 OR)", "a >= >= 1", "()", "a >= 1 AND"])
def test_more_malformed_inputs_raise(text: str) -> None:
    with pytest.raises(ExpressionError) as info:
        parse(text)
    assert 1 <= info.value.column <= len(text) + 1


# --------------------------------------------------------------------------------------------------
# evaluate(): Kleene three-valued logic
# --------------------------------------------------------------------------------------------------


# Kleene's strong three-valued logic, written out by hand.
AND_TABLE = {
    (T, T): T, (T, F): F, (T, U): U,
    (F, T): F, (F, F): F, (F, U): F,
    (U, T): U, (U, F): F, (U, U): U,
}
OR_TABLE = {
    (T, T): T, (T, F): T, (T, U): T,
    (F, T): T, (F, F): F, (F, U): U,
    (U, T): T, (U, F): U, (U, U): U,
}
NOT_TABLE = {T: F, F: T, U: U}


@pytest.mark.parametrize(("a", "b"), list(AND_TABLE))
def test_kleene_and(a, b) -> None:
    assert evaluate(parse("a >= 1 AND b >= 1"), truth_leaf({"a": a, "b": b})) is AND_TABLE[(a, b)]


@pytest.mark.parametrize(("a", "b"), list(OR_TABLE))
def test_kleene_or(a, b) -> None:
    assert evaluate(parse("a >= 1 OR b >= 1"), truth_leaf({"a": a, "b": b})) is OR_TABLE[(a, b)]


@pytest.mark.parametrize("a", [T, F, U])
def test_kleene_not(a) -> None:
    assert evaluate(parse("NOT a >= 1"), truth_leaf({"a": a})) is NOT_TABLE[a]


def test_kleene_named_cases() -> None:
    assert evaluate(parse("u >= 1 AND f >= 1"), truth_leaf({"u": U, "f": F})) is False
    assert evaluate(parse("u >= 1 OR t >= 1"), truth_leaf({"u": U, "t": T})) is True
    assert evaluate(parse("u >= 1 AND t >= 1"), truth_leaf({"u": U, "t": T})) is None
    assert evaluate(parse("u >= 1 OR f >= 1"), truth_leaf({"u": U, "f": F})) is None


def test_kleene_nested() -> None:
    node = parse("a >= 1 AND (b >= 1 OR c >= 1)")
    assert evaluate(node, truth_leaf({"a": T, "b": F, "c": U})) is None
    assert evaluate(node, truth_leaf({"a": T, "b": T, "c": U})) is True
    assert evaluate(node, truth_leaf({"a": F, "b": U, "c": U})) is False
    assert evaluate(node, truth_leaf({"a": U, "b": F, "c": F})) is False


def test_evaluate_with_real_values() -> None:
    values = {"auc_roc": 0.92, "precision_at_0_5": 0.70, "recall_at_0_5": None}

    def leaf(c: Comparison) -> bool | None:
        sides = [values[x] if isinstance(x, str) else x for x in (c.left, c.right)]
        return None if None in sides else compare(sides[0], c.op, sides[1])

    expr = "auc_roc >= 0.90 AND (precision_at_0_5 >= 0.75 OR recall_at_0_5 >= 0.80)"
    assert evaluate(parse(expr), leaf) is None            # T AND (F OR U) = U
    values["recall_at_0_5"] = 0.85
    assert evaluate(parse(expr), leaf) is True            # T AND (F OR T) = T
    values["recall_at_0_5"] = 0.50
    assert evaluate(parse(expr), leaf) is False           # T AND (F OR F) = F
