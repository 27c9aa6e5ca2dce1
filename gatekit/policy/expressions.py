"""Safe parser and evaluator for ``require:`` expressions. No ``eval``, no Python syntax.

Grammar (keywords case-insensitive)::

    expr       := or_expr
    or_expr    := and_expr ( "OR" and_expr )*
    and_expr   := not_expr ( "AND" not_expr )*
    not_expr   := "NOT" not_expr | primary
    primary    := "(" expr ")" | comparison
    comparison := operand OP operand          OP in >=, >, <=, <, ==, !=
    operand    := NAME | NUMBER               NAME: a metric name, NUMBER: 0.9, -1, 1e-3, 12

Evaluation is three-valued (Kleene logic) so that a metric that cannot be computed never makes a
gate pass by accident: ``AND`` is false if any side is false, else unknown if any side is unknown;
``OR`` is true if any side is true, else unknown if any side is unknown; ``NOT unknown`` is unknown.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from dataclasses import dataclass

from gatekit.core.compare import OPS

_TOKEN = re.compile(
    r"\s*(?:(?P<num>-?(?:[0-9]+\.[0-9]*|\.[0-9]+|[0-9]+)(?:[eE][-+]?[0-9]+)?(?![A-Za-z_0-9.]))"
    r"|(?P<op>>=|<=|==|!=|>|<)"
    r"|(?P<paren>[()])"
    r"|(?P<name>[A-Za-z_][A-Za-z0-9_]*))"
)

_KEYWORDS = {"AND", "OR", "NOT"}
MAX_EXPRESSION_CHARS = 10_000
MAX_EXPRESSION_DEPTH = 50


class ExpressionError(ValueError):
    """A ``require:`` expression that does not parse.

    Parameters
    ----------
    message : str
        What is wrong.
    column : int
        1-based column in the expression where the problem is.
    """

    def __init__(self, message: str, column: int) -> None:
        super().__init__(message)
        self.message = message
        self.column = column


@dataclass(frozen=True)
class Token:
    """One lexical token: kind is ``num``, ``op``, ``paren``, ``name`` or ``kw``."""

    kind: str
    text: str
    column: int


@dataclass(frozen=True)
class Comparison:
    """``left OP right``; each side a metric name (str) or a number (float)."""

    left: str | float
    op: str
    right: str | float

    def __str__(self) -> str:
        return f"{_fmt(self.left)} {self.op} {_fmt(self.right)}"

    def names(self) -> list[str]:
        """Metric names used by this comparison."""
        return [x for x in (self.left, self.right) if isinstance(x, str)]


@dataclass(frozen=True)
class BoolOp:
    """``AND`` / ``OR`` over two or more operands, or ``NOT`` over one."""

    op: str
    operands: tuple[Node, ...]

    def __str__(self) -> str:
        if self.op == "NOT":
            return f"NOT {_paren(self.operands[0])}"
        return f" {self.op} ".join(_paren(o) for o in self.operands)


Node = Comparison | BoolOp


def _fmt(x: str | float) -> str:
    return x if isinstance(x, str) else f"{x:g}"


def _paren(n: Node) -> str:
    return f"({n})" if isinstance(n, BoolOp) and n.op != "NOT" else str(n)


def tokenize(text: str) -> list[Token]:
    """Split ``text`` into tokens; raises :class:`ExpressionError` on an unexpected character."""
    tokens: list[Token] = []
    pos = 0
    text = text.rstrip()
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if not m or m.end() == pos:
            col = pos + 1 + (len(text[pos:]) - len(text[pos:].lstrip()))
            bad = text[col - 1] if col - 1 < len(text) else ""
            hint = " (use AND / OR / NOT, not && / || / !)" if bad in "&|!" else ""
            if bad == "=":
                hint = " (use == for equality, >= or <= for bounds)"
            glued = re.match(r"-?[0-9.]+(?:[eE][-+]?[0-9]+)?[A-Za-z_]\w*", text[col - 1:])
            if glued:
                raise ExpressionError(f"{glued.group(0)!r}: put a space between a number and the next word", col)
            raise ExpressionError(f"unexpected character {bad!r}{hint}", col)
        kind = m.lastgroup or ""
        txt = m.group(kind)
        col = m.start(kind) + 1
        if kind == "name" and txt.upper() in _KEYWORDS:
            tokens.append(Token("kw", txt.upper(), col))
        else:
            tokens.append(Token(kind, txt, col))
        pos = m.end()
    return tokens


class _Parser:
    def __init__(self, text: str) -> None:
        self.depth = 0
        self.text = text.rstrip()
        self.tokens = tokenize(text)
        self.i = 0

    def peek(self) -> Token | None:
        return self.tokens[self.i] if self.i < len(self.tokens) else None

    def take(self) -> Token:
        tok = self.peek()
        if tok is None:
            raise ExpressionError("the expression ends too early", len(self.text) + 1)
        self.i += 1
        return tok

    def parse(self) -> Node:
        if not self.tokens:
            raise ExpressionError("the expression is empty", 1)
        node = self.or_expr()
        tok = self.peek()
        if tok is not None:
            raise ExpressionError(f"unexpected {tok.text!r}; expected AND, OR or the end", tok.column)
        return node

    def or_expr(self) -> Node:
        parts = [self.and_expr()]
        while (t := self.peek()) is not None and t.kind == "kw" and t.text == "OR":
            self.take()
            parts.append(self.and_expr())
        return parts[0] if len(parts) == 1 else BoolOp("OR", tuple(parts))

    def and_expr(self) -> Node:
        parts = [self.not_expr()]
        while (t := self.peek()) is not None and t.kind == "kw" and t.text == "AND":
            self.take()
            parts.append(self.not_expr())
        return parts[0] if len(parts) == 1 else BoolOp("AND", tuple(parts))

    def nest(self, t: Token) -> None:
        self.depth += 1
        if self.depth > MAX_EXPRESSION_DEPTH:
            raise ExpressionError(f"the expression is nested more than {MAX_EXPRESSION_DEPTH} levels deep "
                                  "(parentheses or NOT)", t.column)

    def not_expr(self) -> Node:
        t = self.peek()
        if t is not None and t.kind == "kw" and t.text == "NOT":
            self.take()
            self.nest(t)
            node = BoolOp("NOT", (self.not_expr(),))
            self.depth -= 1
            return node
        return self.primary()

    def primary(self) -> Node:
        t = self.peek()
        if t is not None and t.kind == "paren" and t.text == "(":
            self.take()
            self.nest(t)
            node = self.or_expr()
            self.depth -= 1
            close = self.peek()
            if close is None or close.text != ")":
                col = close.column if close else len(self.text) + 1
                raise ExpressionError(f"missing ')' to close the '(' at column {t.column}", col)
            self.take()
            return node
        return self.comparison()

    def operand(self) -> str | float:
        t = self.take()
        if t.kind == "num":
            value = float(t.text)
            if not math.isfinite(value):
                raise ExpressionError(f"the number {t.text[:20]}... is too large", t.column)
            return value
        if t.kind == "name":
            return t.text
        raise ExpressionError(f"expected a metric name or a number, found {t.text!r}", t.column)

    def comparison(self) -> Comparison:
        left = self.operand()
        t = self.peek()
        if t is None or t.kind != "op":
            col = t.column if t else len(self.text) + 1
            found = repr(t.text) if t else "the end"
            raise ExpressionError(f"expected a comparison operator ({', '.join(OPS)}), found {found}", col)
        self.take()
        right = self.operand()
        if isinstance(left, float) and isinstance(right, float):
            raise ExpressionError("a comparison needs at least one metric name", t.column)
        return Comparison(left, t.text, right)


def parse(text: str) -> Node:
    """Parse a ``require:`` expression.

    Parameters
    ----------
    text : str
        E.g. ``"auc_roc >= 0.90 AND (precision_at_0_5 >= 0.75 OR recall_at_0_5 >= 0.8)"``.

    Returns
    -------
    Comparison or BoolOp
        The syntax tree.

    Raises
    ------
    ExpressionError
        With the 1-based column of the problem.
    """
    if len(text) > MAX_EXPRESSION_CHARS:
        raise ExpressionError(f"the expression is {len(text):,} characters long (limit {MAX_EXPRESSION_CHARS:,})", 1)
    try:
        return _Parser(text).parse()
    except RecursionError:
        raise ExpressionError("the expression is nested too deeply (parentheses or NOT)", 1) from None


def comparisons(node: Node) -> list[Comparison]:
    """All comparisons in ``node``, left to right."""
    if isinstance(node, Comparison):
        return [node]
    out: list[Comparison] = []
    for o in node.operands:
        out.extend(comparisons(o))
    return out


def evaluate(node: Node, leaf: Callable[[Comparison], bool | None]) -> bool | None:
    """Evaluate ``node`` in three-valued logic.

    Parameters
    ----------
    node : Comparison or BoolOp
        Parsed expression.
    leaf : callable
        ``leaf(comparison) -> True | False | None``; None means unknown (a value is missing or not
        computable).

    Returns
    -------
    bool or None
        None when the outcome depends on an unknown value.
    """
    if isinstance(node, Comparison):
        return leaf(node)
    vals = [evaluate(o, leaf) for o in node.operands]
    if node.op == "NOT":
        return None if vals[0] is None else not vals[0]
    if node.op == "AND":
        if any(v is False for v in vals):
            return False
        return None if any(v is None for v in vals) else True
    if any(v is True for v in vals):
        return True
    return None if any(v is None for v in vals) else False
