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
of the offending character, e.g. ``unexpected ')' at column 6 in '(a*b))'``, with the same message
in Korean as ``message_ko`` (``짝이 없는 ')' ('(a*b))'의 6번째 글자)``) for pages and commands in Korean.

An expression may name its output: ``price = (apple*n + orange*m)*tax`` is the expression on the
right, whose result :meth:`Expression.build` calls ``price`` (:attr:`Expression.output_name`).

Limits: an expression has at most :data:`MAX_LENGTH` characters and nests at most
:data:`MAX_DEPTH` levels deep (each '(' , function call, unary sign and '**' on the way down is
one level); beyond either it raises :class:`ExpressionLimitError` (an :class:`ExpressionError`).
Long flat chains need no nesting: ``a + a + … + a`` with 1000 terms is fine — the tree is walked
without recursion. Numbers and ``--set`` values must be finite: ``1e400``, ``nan`` and ``inf``
are refused with an :class:`ExpressionError`.
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
_OPERATORS = ("**", "+", "-", "*", "/", "(", ")", ",", "=")
_MINUS_SIGNS = {"−": "-"}  # U+2212, as written in the notes

#: the longest expression accepted, in characters
MAX_LENGTH = 10_000
#: the deepest nesting accepted: '(' , function calls, unary signs and '**' each add one level
MAX_DEPTH = 64


class ExpressionError(LayerpropError, ValueError):
    """A malformed expression (or a missing value for one of its names).

    ``column`` is the 1-based position of the offending character (``None`` when the mistake is
    not at one place), ``text`` the whole expression; ``str(error)`` is one line, and
    ``message_ko`` the same line in Korean (from ``message_ko`` and ``hint_ko``; the English words
    where no Korean ones are given).
    """

    def __init__(
        self,
        message: str,
        column: int | None = None,
        text: str | None = None,
        hint: str = "",
        message_ko: str | None = None,
        hint_ko: str | None = None,
    ):
        self.column = column
        self.text = text
        where = f" at column {column}" if column is not None else ""
        within = f" in {text!r}" if text is not None else ""
        super().__init__(f"{message}{where}{within}" + (f": {hint}" if hint else ""))
        if text is not None and column is not None:
            place = f" ({text!r}의 {column}번째 글자)"
        elif text is not None or column is not None:
            place = f" ({text!r})" if text is not None else f" ({column}번째 글자)"
        else:
            place = ""
        hint_ko = hint_ko if hint_ko is not None else hint
        self.message_ko = (message_ko or message) + place + (f": {hint_ko}" if hint_ko else "")


class ExpressionLimitError(ExpressionError):
    """An expression longer than :data:`MAX_LENGTH` or nested deeper than :data:`MAX_DEPTH`."""


def _shown(text: str, limit: int = 60) -> str:
    """``text`` cut to ``limit`` characters for an error message (a long expression stays one line)."""
    return text if len(text) <= limit else text[: limit - 1] + "…"


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

    def describe_ko(self) -> str:
        """:meth:`describe` in Korean."""
        if self.kind == "end":
            return "수식의 끝"
        if self.kind == "name":
            return f"이름 {self.text!r}"
        if self.kind == "number":
            return f"숫자 {self.text}"
        return repr(self.text)


def tokenize(text: str) -> list[Token]:
    """Split ``text`` into tokens; an unknown character raises :class:`ExpressionError`."""
    if not isinstance(text, str):
        raise ExpressionError(
            f"an expression must be a string, got {type(text).__name__}",
            message_ko=f"수식은 문자열이어야 합니다 (받은 것: {type(text).__name__})",
        )
    if len(text) > MAX_LENGTH:
        raise ExpressionLimitError(
            f"the expression has {len(text):,} characters, more than the limit of {MAX_LENGTH:,}",
            None,
            _shown(text),
            message_ko=f"수식이 {len(text):,}자입니다 — 최대 {MAX_LENGTH:,}자까지 쓸 수 있습니다",
        )
    source = "".join(_MINUS_SIGNS.get(ch, ch) for ch in text)  # same length: columns stay right
    tokens, i, n = [], 0, len(source)
    while i < n:
        ch = source[i]
        if ch.isspace():
            i += 1
            continue
        match = _NUMBER.match(source, i) if (ch.isdigit() or ch == ".") else None
        if match:
            if not math.isfinite(float(match.group())):
                raise ExpressionError(
                    f"number {_shown(match.group(), 30)} is too large for a float",
                    i + 1,
                    _shown(text),
                    "numbers must be finite",
                    f"숫자 {_shown(match.group(), 30)}이(가) float로 나타내기에 너무 큽니다",
                    "숫자는 유한해야 합니다",
                )
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
            raise ExpressionError(
                f"unexpected character {text[i]!r}", i + 1, _shown(text), message_ko=f"쓸 수 없는 문자 {text[i]!r}"
            )
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


def _children(node) -> tuple:
    """The sub-trees of ``node``, left to right."""
    if isinstance(node, Binary):
        return (node.left, node.right)
    if isinstance(node, Unary):
        return (node.operand,)
    if isinstance(node, Call):
        return (node.argument,)
    return ()


def _fold(tree, combine, children=_children):
    """Evaluate ``tree`` bottom-up without recursion: ``combine(node, values of its children)``.

    Children are evaluated left to right, so graph nodes are recorded in reading order. A chain of
    1000 terms is 1000 levels deep as a tree; an explicit stack keeps Python's recursion limit out.
    """
    stack, values = [(tree, False)], []
    while stack:
        node, expanded = stack.pop()
        kids = children(node)
        if kids and not expanded:
            stack.append((node, True))
            stack.extend((kid, False) for kid in reversed(kids))
            continue
        arguments = values[len(values) - len(kids) :] if kids else []
        if kids:
            del values[len(values) - len(kids) :]
        values.append(combine(node, arguments))
    return values[0]


class _Parser:
    """Recursive descent over the token list; one method per grammar rule.

    ``depth`` counts the nesting levels entered (see :data:`MAX_DEPTH`), so that the recursion
    stays far below Python's own limit.
    """

    def __init__(self, text: str):
        self.text = text
        self.tokens = tokenize(text)
        self.pos = 0
        self.depth = 0

    def nested(self, rule, token: Token):
        """Run ``rule()`` one nesting level deeper than now (opened by ``token``)."""
        if self.depth >= MAX_DEPTH:
            raise ExpressionLimitError(
                f"the expression nests deeper than the limit of {MAX_DEPTH} levels",
                token.column,
                _shown(self.text),
                "each '(', function call, sign and '**' is one level",
                f"수식이 너무 깊게 중첩되었습니다 — 최대 {MAX_DEPTH}단계까지 쓸 수 있습니다",
                "'(', 함수 호출, 부호, '**'가 각각 한 단계입니다",
            )
        self.depth += 1
        try:
            return rule()
        finally:
            self.depth -= 1

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

    def fail(self, message: str, column: int | None, hint: str = "", message_ko: str = "", hint_ko: str = ""):
        raise ExpressionError(message, column, _shown(self.text), hint, message_ko or None, hint_ko or None)

    # grammar
    def parse(self):
        """The tree of the expression; ``self.output_name`` the name before a leading ``NAME =`` (or None)."""
        self.output_name = None
        if self.current.kind == "name" and self.tokens[self.pos + 1].text == "=":
            self.output_name = self.advance().text
            self.advance()
        if self.current.kind == "end":
            self.fail("empty expression", None, message_ko="수식이 비어 있습니다")
        tree = self.expression()
        if self.current.kind != "end":
            token = self.current
            if token.kind == "op" and token.text == ")":
                self.fail("unexpected ')'", token.column, "no '(' to close", "짝이 없는 ')'", "닫을 '('가 없습니다")
            if token.kind == "op" and token.text == "=":
                self.fail(
                    "unexpected '='",
                    token.column,
                    "only the output's name may stand before one '=', as in price = apple * n",
                    "예상하지 못한 '='",
                    "'=' 앞에는 출력의 이름만 올 수 있습니다 (예: price = apple * n)",
                )
            self.fail(
                f"unexpected {token.describe()}",
                token.column,
                "expected an operator",
                f"예상하지 못한 {token.describe_ko()}",
                "연산자가 와야 합니다",
            )
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
            operand = self.nested(lambda: self.operand_after(op, self.unary), op)
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
            return Binary("**", base, self.nested(lambda: self.operand_after(op, self.unary), op), op.column)
        return base

    def operand_after(self, op: Token, rule):
        """Parse the operand that must follow operator ``op``, or say that it is missing."""
        token = self.current
        if token.kind == "end" or (token.kind == "op" and token.text in (")", ",", "*", "/", "**", "=")):
            self.fail(
                f"missing operand after {op.text!r}", op.column, message_ko=f"{op.text!r} 뒤에 피연산자가 없습니다"
            )
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
                self.fail(
                    f"function {token.text!r} without '('",
                    token.column,
                    f"write {token.text}(x)",
                    f"함수 {token.text!r} 뒤에 '('가 없습니다",
                    f"{token.text}(x)처럼 쓰세요",
                )
            return Name(token.text, token.column)
        if self.at_op("("):
            opening = self.advance()
            if self.at_op(")"):
                self.fail("missing operand inside '()'", opening.column, message_ko="'()' 안에 피연산자가 없습니다")
            inner = self.nested(self.expression, opening)
            self.close(opening)
            return inner
        if token.kind == "end":
            self.fail("missing operand at end of expression", token.column, message_ko="수식 끝에 피연산자가 없습니다")
        if token.kind == "op" and token.text == ")":
            self.fail("unexpected ')'", token.column, message_ko="짝이 없는 ')'")
        self.fail(
            f"missing operand before {token.describe()}",
            token.column,
            message_ko=f"{token.describe_ko()} 앞에 피연산자가 없습니다",
        )

    def call(self, name: Token):
        if name.text not in FUNCTIONS:
            self.fail(
                f"unknown function {name.text!r}",
                name.column,
                f"known: {', '.join(FUNCTIONS)}",
                f"모르는 함수 {name.text!r}",
                f"쓸 수 있는 함수: {', '.join(FUNCTIONS)}",
            )
        opening = self.advance()
        if self.at_op(")"):
            self.fail(
                f"{name.text}() needs one argument",
                opening.column,
                message_ko=f"{name.text}()에는 인수가 하나 필요합니다",
            )
        argument = self.nested(self.expression, opening)
        if self.at_op(","):
            self.fail(
                "unexpected ','",
                self.current.column,
                f"{name.text}() takes one argument",
                "예상하지 못한 ','",
                f"{name.text}()의 인수는 하나뿐입니다",
            )
        self.close(opening)
        return Call(name.text, argument, name.column)

    def close(self, opening: Token):
        if self.at_op(")"):
            self.advance()
            return
        token = self.current
        if token.kind == "end":
            self.fail(
                "missing ')' to close the '(' opened", opening.column, message_ko="여기서 연 '('를 닫는 ')'가 없습니다"
            )
        self.fail(
            f"unexpected {token.describe()}",
            token.column,
            "expected ')' or an operator",
            f"예상하지 못한 {token.describe_ko()}",
            "')' 또는 연산자가 와야 합니다",
        )


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
        parser = _Parser(text)
        self.tree = parser.parse()
        #: the name given before ``=`` (``price`` in ``price = apple * n``), or None
        self.output_name = parser.output_name
        self._first_column: dict[str, int] = {}
        stack = [self.tree]  # pre-order, left to right, without recursion
        while stack:
            node = stack.pop()
            if isinstance(node, Name):
                self._first_column.setdefault(node.name, node.column)
            stack.extend(reversed(_children(node)))

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
        :class:`ExpressionError` at its first column. The output is called :attr:`output_name`
        when the expression names it, else ``output_name``.
        """
        from .variable import Variable

        variables = {}
        for name in self.names:
            if name not in values:
                raise ExpressionError(
                    f"no value for {name!r}",
                    self.column_of(name),
                    self.text,
                    f"give one with --set {name}=NUMBER",
                    f"{name!r}의 값이 없습니다",
                    f"--set {name}=숫자로 값을 주세요",
                )
            try:
                value = float(values[name])
            except (TypeError, ValueError, OverflowError):
                value = None
            if value is None or not math.isfinite(value):
                raise ExpressionError(
                    f"the value for {name!r} must be a finite number, got {values[name]!r}",
                    self.column_of(name),
                    _shown(self.text),
                    message_ko=f"{name!r}의 값은 유한한 숫자여야 합니다 (받은 값: {values[name]!r})",
                )
            variables[name] = Variable(value, name=name)
        result = self._build(self.tree, variables)
        if not isinstance(result, Variable) or result.creator is None:
            raise ExpressionError(
                "nothing to draw",
                None,
                self.text,
                "the expression has no operation",
                "그릴 것이 없습니다",
                "수식에 연산이 없습니다",
            )
        name = self.output_name or output_name
        if name is not None:
            result.name = name
        return result

    def build_from(self, variables: dict):
        """Record the expression on the given Variables ``{name: Variable}`` (e.g. for a gradient check)."""
        return self._build(self.tree, variables)

    def _build(self, node, variables):
        from . import functions as G

        tree = node  # the root: the tree is walked with an explicit stack (see _fold)
        operations = {"+": G.add, "-": G.sub, "*": G.mul, "/": G.div}

        def combine(node, operands):
            if isinstance(node, Num):
                return node.value
            if isinstance(node, Name):
                return variables[node.name]
            if isinstance(node, Unary):
                return G.neg(operands[0])
            if isinstance(node, Call):
                return getattr(G, node.function)(operands[0])
            if node.op == "**":
                exponent = _constant_value(node.right)
                if exponent is None:
                    raise ExpressionError(
                        "the exponent of '**' must be a number",
                        node.column,
                        _shown(self.text),
                        "for a variable exponent y write exp(y*log(x))",
                        "'**'의 지수는 숫자여야 합니다",
                        "변수 y를 지수로 쓰려면 exp(y*log(x))로 쓰세요",
                    )
                if float(exponent).is_integer():
                    exponent = int(exponent)  # draws as "**2", not "**2.0"
                return G.power(operands[0], exponent)
            return operations[node.op](*operands)

        def children(node):  # the exponent of '**' is a constant, not a part of the graph
            return (node.left,) if isinstance(node, Binary) and node.op == "**" else _children(node)

        return _fold(tree, combine, children)


_CONSTANT_FUNCTIONS = {
    "exp": math.exp,
    "log": math.log,
    "tanh": math.tanh,
    "relu": lambda v: max(v, 0.0),
    "sigmoid": lambda v: 1.0 / (1.0 + math.exp(-v)),
}


def _constant_value(tree) -> float | None:
    """The value of a sub-tree made of numbers only (for exponents); ``None`` if it has a name, or
    if its value is not a finite real number."""

    def combine(node, operands):
        if isinstance(node, Num):
            return node.value
        if isinstance(node, Name) or any(v is None for v in operands):
            return None
        try:
            if isinstance(node, Unary):
                value = -operands[0]
            elif isinstance(node, Call):
                value = _CONSTANT_FUNCTIONS[node.function](operands[0])
            elif node.op == "+":
                value = operands[0] + operands[1]
            elif node.op == "-":
                value = operands[0] - operands[1]
            elif node.op == "*":
                value = operands[0] * operands[1]
            elif node.op == "/":
                value = operands[0] / operands[1]
            else:
                value = operands[0] ** operands[1]
        except (ZeroDivisionError, OverflowError, ValueError):
            return None
        # a negative base to a fraction is complex; inf − inf is NaN: neither is an exponent
        return value if isinstance(value, float) and math.isfinite(value) else None

    return _fold(tree, combine)


def parse_expression(text: str) -> Expression:
    """Parse ``text`` (see the module docstring for the grammar); raise :class:`ExpressionError`.

    :data:`MAX_DEPTH` keeps the parser's recursion at a few hundred frames; should the caller
    itself already stand deep in the stack, running out of it is still reported as an
    :class:`ExpressionLimitError`, never as Python's RecursionError."""
    try:
        return Expression(text)
    except RecursionError:
        raise ExpressionLimitError(
            "the expression nests too deeply for the Python stack left",
            None,
            _shown(str(text)),
            message_ko="남은 Python 스택에 비해 수식이 너무 깊게 중첩되었습니다",
        ) from None


_ASSIGNMENT = re.compile(r"\s*([A-Za-z_][A-Za-z0-9_]*)\s*=\s*([-+−]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)\s*")


_NON_FINITE = re.compile(r"\s*([A-Za-z_][A-Za-z0-9_]*)\s*=\s*([-+−]?(?:nan|inf|infinity))\s*", re.IGNORECASE)


def parse_assignment(text: str) -> tuple[str, float]:
    """Parse ``NAME=NUMBER`` (as given to ``--set``); raise :class:`ExpressionError` otherwise.

    Values must be finite: ``nan``, ``inf`` and numbers beyond the float range (``1e400``) are
    refused alike."""
    match = _ASSIGNMENT.fullmatch(text)
    if match is None:
        words = _NON_FINITE.fullmatch(text)
        if words is not None:
            raise ExpressionError(
                f"--set {_shown(text)!r}: {words.group(2)} is not accepted",
                hint="values must be finite numbers",
                message_ko=f"--set {_shown(text)!r}: {words.group(2)}은(는) 쓸 수 없습니다",
                hint_ko="값은 유한한 숫자여야 합니다",
            )
        raise ExpressionError(
            f"--set {_shown(text)!r}: expected NAME=NUMBER",
            hint="e.g. a=100 or t=1.1",
            message_ko=f"--set {_shown(text)!r}: 이름=숫자 꼴이어야 합니다",
            hint_ko="예: a=100, t=1.1",
        )
    name, number = match.groups()
    value = float(number.replace("−", "-"))
    if not math.isfinite(value):
        raise ExpressionError(
            f"--set {_shown(text)!r}: {number} is too large for a float",
            hint="values must be finite numbers",
            message_ko=f"--set {_shown(text)!r}: {number}은(는) float로 나타내기에 너무 큽니다",
            hint_ko="값은 유한한 숫자여야 합니다",
        )
    return name, value
