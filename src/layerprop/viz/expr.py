"""A small parser for the user's own expressions: ``(a*b + c*d)*t`` → a recorded graph.

The grammar is Python's, cut down to what a computational graph of the notes needs::

    expression := term (('+' | '-') term)*
    term       := unary (('*' | '/') unary)*
    unary      := ('-' | '+') unary | power
    power      := primary ('**' unary)?          # right-associative: 2**3**2 = 2**(3**2)
    primary    := NUMBER | NAME | FUNCTION '(' expression ')' | '(' expression ')'

so, as in Python, ``**`` binds tighter than a unary minus on its left (``-x**2`` is ``-(x**2)``) and
looser than one on its right (``2**-1`` is ``2**(-1)``). Numbers are ``2``, ``2.5``, ``.5``, ``1e-3``;
names are identifiers; the functions are ``exp``, ``log``, ``sigmoid``, ``relu`` and ``tanh``. The
Unicode minus ``−`` is read as ``-``.

Parsing is a hand-written recursive descent over tokens: nothing is ever handed to ``eval`` or
:mod:`ast`. :meth:`Expression.build` then turns the tree into Variables through the operators of
:mod:`layerprop.graph`, so every operation is recorded as a node of a real graph and ``backward``
works on the result. Numbers become constants (no gradient); a minus written directly before a
number is part of that number, so ``-1*x`` draws the notes' "× by −1" node.

Every mistake raises :class:`ExpressionError`, a one-line message that names the 1-based column
of the offending character, e.g. ``unexpected ')' at column 6 in '(a*b))'``.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

from ..errors import LayerpropError

#: the functions an expression may call (each is the layerprop.graph function of that name)
FUNCTIONS = ("exp", "log", "sigmoid", "relu", "tanh")

_NUMBER = re.compile(r"(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?")
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_OPERATORS = ("**", "+", "-", "*", "/", "(", ")", ",")
_MINUS_SIGNS = {"−": "-"}  # U+2212, as written in the notes


class ExpressionError(LayerpropError, ValueError):
    """A malformed expression (or a missing value for one of its names).

    ``column`` is the 1-based position of the offending character (``None`` when the mistake is
    not at one place), ``text`` the whole expression; ``str(error)`` is one line.
    """

    def __init__(self, message: str, column: int | None = None, text: str | None = None, hint: str = ""):
        self.column = column
        self.text = text
        where = f" at column {column}" if column is not None else ""
        within = f" in {text!r}" if text is not None else ""
        super().__init__(f"{message}{where}{within}" + (f": {hint}" if hint else ""))


# -- tokens ----------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Token:
    kind: str  # "number", "name", "op", "end"
    text: str
    column: int  # 1-based

    def describe(self) -> str:
        if self.kind == "end":
            return "end of expression"
        if self.kind == "name":
            return f"name {self.text!r}"
        if self.kind == "number":
            return f"number {self.text}"
        return repr(self.text)


def tokenize(text: str) -> list[Token]:
    """Split ``text`` into tokens; an unknown character raises :class:`ExpressionError`."""
    source = "".join(_MINUS_SIGNS.get(ch, ch) for ch in text)  # same length: columns stay right
    tokens, i, n = [], 0, len(source)
    while i < n:
        ch = source[i]
        if ch.isspace():
            i += 1
            continue
        match = _NUMBER.match(source, i) if (ch.isdigit() or ch == ".") else None
        if match:
            tokens.append(Token("number", match.group(), i + 1))
            i = match.end()
            continue
        match = _NAME.match(source, i)
        if match:
            tokens.append(Token("name", match.group(), i + 1))
            i = match.end()
            continue
        op = next((o for o in _OPERATORS if source.startswith(o, i)), None)
        if op is None:
            raise ExpressionError(f"unexpected character {text[i]!r}", i + 1, text)
        tokens.append(Token("op", op, i + 1))
        i += len(op)
    tokens.append(Token("end", "", n + 1))
    return tokens


# -- the tree --------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Num:
    value: float
    column: int


@dataclass(frozen=True)
class Name:
    name: str
    column: int


@dataclass(frozen=True)
class Unary:
    op: str  # "-" or "+"
    operand: object
    column: int


@dataclass(frozen=True)
class Binary:
    op: str  # "+", "-", "*", "/", "**"
    left: object
    right: object
    column: int


@dataclass(frozen=True)
class Call:
    function: str
    argument: object
    column: int


class _Parser:
    """Recursive descent over the token list; one method per grammar rule."""

    def __init__(self, text: str):
        self.text = text
        self.tokens = tokenize(text)
        self.pos = 0

    # helpers
    @property
    def current(self) -> Token:
        return self.tokens[self.pos]

    def advance(self) -> Token:
        token = self.tokens[self.pos]
        self.pos += 1
        return token

    def at_op(self, *ops) -> bool:
        return self.current.kind == "op" and self.current.text in ops

    def fail(self, message: str, column: int | None, hint: str = ""):
        raise ExpressionError(message, column, self.text, hint)

    # grammar
    def parse(self):
        if self.current.kind == "end":
            self.fail("empty expression", None)
        tree = self.expression()
        if self.current.kind != "end":
            token = self.current
            if token.kind == "op" and token.text == ")":
                self.fail("unexpected ')'", token.column, "no '(' to close")
            self.fail(f"unexpected {token.describe()}", token.column, "expected an operator")
        return tree

    def expression(self):
        left = self.term()
        while self.at_op("+", "-"):
            op = self.advance()
            left = Binary(op.text, left, self.operand_after(op, self.term), op.column)
        return left

    def term(self):
        left = self.unary()
        while self.at_op("*", "/"):
            op = self.advance()
            left = Binary(op.text, left, self.operand_after(op, self.unary), op.column)
        return left

    def unary(self):
        if self.at_op("-", "+"):
            op = self.advance()
            operand = self.operand_after(op, self.unary)
            if op.text == "+":
                return operand
            if isinstance(operand, Num):  # "-1" is one number, as the notes' "× −1" node wants
                return Num(-operand.value, op.column)
            return Unary("-", operand, op.column)
        return self.power()

    def power(self):
        base = self.primary()
        if self.at_op("**"):
            op = self.advance()
            return Binary("**", base, self.operand_after(op, self.unary), op.column)
        return base

    def operand_after(self, op: Token, rule):
        """Parse the operand that must follow operator ``op``, or say that it is missing."""
        token = self.current
        if token.kind == "end" or (token.kind == "op" and token.text in (")", ",", "*", "/", "**")):
            self.fail(f"missing operand after {op.text!r}", op.column)
        return rule()

    def primary(self):
        token = self.current
        if token.kind == "number":
            self.advance()
            return Num(float(token.text), token.column)
        if token.kind == "name":
            self.advance()
            if self.at_op("("):
                return self.call(token)
            if token.text in FUNCTIONS:
                self.fail(f"function {token.text!r} without '('", token.column, f"write {token.text}(x)")
            return Name(token.text, token.column)
        if self.at_op("("):
            opening = self.advance()
            if self.at_op(")"):
                self.fail("missing operand inside '()'", opening.column)
            inner = self.expression()
            self.close(opening)
            return inner
        if token.kind == "end":
            self.fail("missing operand at end of expression", token.column)
        if token.kind == "op" and token.text == ")":
            self.fail("unexpected ')'", token.column)
        self.fail(f"missing operand before {token.describe()}", token.column)

    def call(self, name: Token):
        if name.text not in FUNCTIONS:
            self.fail(f"unknown function {name.text!r}", name.column, f"known: {', '.join(FUNCTIONS)}")
        opening = self.advance()
        if self.at_op(")"):
            self.fail(f"{name.text}() needs one argument", opening.column)
        argument = self.expression()
        if self.at_op(","):
            self.fail("unexpected ','", self.current.column, f"{name.text}() takes one argument")
        self.close(opening)
        return Call(name.text, argument, name.column)

    def close(self, opening: Token):
        if self.at_op(")"):
            self.advance()
            return
        token = self.current
        if token.kind == "end":
            self.fail("missing ')' to close the '(' opened", opening.column)
        self.fail(f"unexpected {token.describe()}", token.column, "expected ')' or an operator")


# -- the public object -----------------------------------------------------------------------------
class Expression:
    """A parsed expression: its tree, the names it uses, and :meth:`build` to record its graph.

    >>> e = Expression("(a*b + c*d)*t")
    >>> e.names
    ['a', 'b', 'c', 'd', 't']
    >>> price = e.build({"a": 100, "b": 2, "c": 150, "d": 3, "t": 1.1})
    >>> price.backward()
    """

    def __init__(self, text: str):
        self.text = text
        self.tree = _Parser(text).parse()
        self._first_column: dict[str, int] = {}
        self._collect_names(self.tree)

    def _collect_names(self, node):
        if isinstance(node, Name):
            self._first_column.setdefault(node.name, node.column)
        elif isinstance(node, Unary):
            self._collect_names(node.operand)
        elif isinstance(node, Binary):
            self._collect_names(node.left)
            self._collect_names(node.right)
        elif isinstance(node, Call):
            self._collect_names(node.argument)

    @property
    def names(self) -> list[str]:
        """The names the expression uses, in order of first appearance."""
        return sorted(self._first_column, key=self._first_column.get)

    def column_of(self, name: str) -> int | None:
        """The column where ``name`` first appears."""
        return self._first_column.get(name)

    def build(self, values: dict, output_name: str | None = None):
        """Record the expression's graph with ``values`` for its names; return the output Variable.

        Every name becomes one :class:`~layerprop.graph.Variable` (used as often as it appears, so
        ``a*a`` branches); numbers become constants. A name without a value raises
        :class:`ExpressionError` at its first column.
        """
        from ..graph import Variable

        variables = {}
        for name in self.names:
            if name not in values:
                raise ExpressionError(
                    f"no value for {name!r}", self.column_of(name), self.text, f"give one with --set {name}=NUMBER"
                )
            variables[name] = Variable(float(values[name]), name=name)
        result = self._build(self.tree, variables)
        if not isinstance(result, Variable) or result.creator is None:
            raise ExpressionError("nothing to draw", None, self.text, "the expression has no operation")
        if output_name is not None:
            result.name = output_name
        return result

    def build_from(self, variables: dict):
        """Record the expression on the given Variables ``{name: Variable}`` (e.g. for a gradient check)."""
        return self._build(self.tree, variables)

    def _build(self, node, variables):
        from .. import graph as G

        if isinstance(node, Num):
            return node.value
        if isinstance(node, Name):
            return variables[node.name]
        if isinstance(node, Unary):
            return G.neg(self._build(node.operand, variables))
        if isinstance(node, Call):
            return getattr(G, node.function)(self._build(node.argument, variables))
        if node.op == "**":
            exponent = _constant_value(node.right)
            if exponent is None:
                raise ExpressionError(
                    "the exponent of '**' must be a number",
                    node.column,
                    self.text,
                    "for a variable exponent y write exp(y*log(x))",
                )
            if float(exponent).is_integer():
                exponent = int(exponent)  # draws as "**2", not "**2.0"
            return G.power(self._build(node.left, variables), exponent)
        left = self._build(node.left, variables)
        right = self._build(node.right, variables)
        operation = {"+": G.add, "-": G.sub, "*": G.mul, "/": G.div}[node.op]
        return operation(left, right)


def _constant_value(node) -> float | None:
    """The value of a sub-tree made of numbers only (for exponents); ``None`` if it has a name."""
    if isinstance(node, Num):
        return node.value
    if isinstance(node, Unary):
        inner = _constant_value(node.operand)
        return None if inner is None else -inner
    if isinstance(node, Binary):
        left, right = _constant_value(node.left), _constant_value(node.right)
        if left is None or right is None:
            return None
        try:
            if node.op == "+":
                return left + right
            if node.op == "-":
                return left - right
            if node.op == "*":
                return left * right
            if node.op == "/":
                return left / right
            value = left**right
            return value if isinstance(value, float) else None  # a negative base to a fraction: complex
        except (ZeroDivisionError, OverflowError):
            return None
    if isinstance(node, Call):
        inner = _constant_value(node.argument)
        if inner is None:
            return None
        functions = {
            "exp": math.exp,
            "log": math.log,
            "tanh": math.tanh,
            "relu": lambda v: max(v, 0.0),
            "sigmoid": lambda v: 1.0 / (1.0 + math.exp(-v)),
        }
        try:
            return functions[node.function](inner)
        except (ValueError, OverflowError):
            return None
    return None


def parse_expression(text: str) -> Expression:
    """Parse ``text`` (see the module docstring for the grammar); raise :class:`ExpressionError`."""
    return Expression(text)


_ASSIGNMENT = re.compile(r"\s*([A-Za-z_][A-Za-z0-9_]*)\s*=\s*([-+−]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)\s*")


def parse_assignment(text: str) -> tuple[str, float]:
    """Parse ``NAME=NUMBER`` (as given to ``--set``); raise :class:`ExpressionError` otherwise."""
    match = _ASSIGNMENT.fullmatch(text)
    if match is None:
        raise ExpressionError(f"--set {text!r}: expected NAME=NUMBER", hint="e.g. a=100 or t=1.1")
    name, number = match.groups()
    return name, float(number.replace("−", "-"))
