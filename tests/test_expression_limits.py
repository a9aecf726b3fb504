"""The expression parser's stated limits, its iterative tree walks, and a fuzz test (issue 8, item 7).

Limits: :data:`~layerprop.viz.expr.MAX_LENGTH` characters and :data:`~layerprop.viz.expr.MAX_DEPTH`
nesting levels; beyond them :class:`ExpressionLimitError` (an ExpressionError, a ValueError) —
never Python's RecursionError. Long flat chains need no nesting and work. The graph's own
backward and topological sort run without recursion, so a 1000-term sum built through the API
works too.
"""

from __future__ import annotations

import math
import sys

import pytest

from layerprop.errors import LayerpropError
from layerprop.graph import Variable
from layerprop.graph.expression import MAX_DEPTH, MAX_LENGTH, ExpressionLimitError
from layerprop.viz import ExpressionError, parse_assignment, parse_expression


def test_a_1000_term_sum_parses_builds_and_backpropagates():
    text = "+".join(["a"] * 1000)
    out = parse_expression(text).build({"a": 1.5})
    out.backward()
    assert out.item() == 1500.0
    assert out.nodes()[0].inputs[0].grad == 1000.0


def test_a_1000_factor_product_and_a_long_constant_exponent():
    x = parse_expression("*".join(["x"] * 1000)).build({"x": 1.0})
    x.backward()
    assert x.item() == 1.0
    # a deep constant exponent (1+1+…+1) is folded without recursion
    y = parse_expression("x**(" + "+".join(["1"] * 1000) + ")").build({"x": 1.0})
    assert [node.label for node in y.nodes()] == ["**1000"]


def test_the_graph_api_takes_a_1000_term_sum_and_a_5000_deep_chain():
    x = Variable(2.0, name="x")
    total = x
    for _ in range(999):
        total = total + x
    total.backward()
    assert x.grad == 1000.0
    y = Variable(1.0)
    chain = y
    for _ in range(5000):
        chain = chain * 1.0 + 0.0
    chain.backward()
    assert y.grad == 1.0


@pytest.mark.parametrize(
    "text",
    [
        "(" * (MAX_DEPTH + 1) + "a" + ")" * (MAX_DEPTH + 1),
        "(" * 200 + "a" + ")" * 200,  # the depth reported in issue 8
        "exp(" * (MAX_DEPTH + 1) + "a" + ")" * (MAX_DEPTH + 1),
        "-" * (MAX_DEPTH + 1) + "a",
        "a" + "**1" * (MAX_DEPTH + 1),
        "(" * 5000,  # unclosed: still a limit error, not a recursion
    ],
)
def test_nesting_beyond_the_limit_is_the_projects_error(text):
    with pytest.raises(ExpressionLimitError, match=f"deeper than the limit of {MAX_DEPTH} levels") as info:
        parse_expression(text)
    assert isinstance(info.value, ExpressionError) and isinstance(info.value, ValueError)
    assert len(str(info.value)) < 300  # one short line, not the whole expression


def test_nesting_up_to_the_limit_works():
    out = parse_expression("(" * MAX_DEPTH + "a*2" + ")" * MAX_DEPTH).build({"a": 2.0})
    assert out.item() == 4.0
    out = parse_expression("tanh(" * MAX_DEPTH + "a" + ")" * MAX_DEPTH).build({"a": 0.5})
    out.backward()
    assert math.isfinite(out.item())


def test_length_beyond_the_limit_is_the_projects_error():
    with pytest.raises(ExpressionLimitError, match=f"more than the limit of {MAX_LENGTH:,}"):
        parse_expression("a+" * (MAX_LENGTH // 2) + "a")


def test_a_caller_deep_in_the_stack_still_gets_the_projects_error():
    def deep(n):
        if n:
            return deep(n - 1)
        return parse_expression("exp(" * MAX_DEPTH + "a" + ")" * MAX_DEPTH)

    depth = sys.getrecursionlimit() - 150
    try:
        result = deep(depth)
    except ExpressionLimitError as exc:  # refused with the project's error, never RecursionError
        assert "too deeply for the Python stack" in str(exc)
    else:
        assert result.names == ["a"]


@pytest.mark.parametrize("text", ["x*1e400", "1e309+x", "x**1e999"])
def test_numbers_beyond_the_float_range_are_refused(text):
    with pytest.raises(ExpressionError, match="too large for a float"):
        parse_expression(text)


@pytest.mark.parametrize("item", ["a=nan", "a=inf", "a=-inf", "a=NaN", "a=1e400", "a=-1e400", "a=Infinity"])
def test_set_refuses_every_non_finite_value_alike(item):
    with pytest.raises(ExpressionError, match="values must be finite numbers"):
        parse_assignment(item)


def test_set_accepts_large_finite_values():
    assert parse_assignment("a=1e300") == ("a", 1e300)
    assert parse_assignment("a=−2.5") == ("a", -2.5)


# -- fuzz: nothing but the project's own errors ----------------------------------------------------
hypothesis = pytest.importorskip("hypothesis")
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

_PIECES = [
    "a",
    "b",
    "x",
    "1",
    "0",
    "2.5",
    ".5",
    "1e3",
    "1e400",
    "+",
    "-",
    "−",
    "*",
    "/",
    "**",
    "(",
    ")",
    ",",
    "exp(",
    "log(",
    "sigmoid(",
    "relu(",
    "tanh(",
    "open(",
    " ",
    "=",
    "@",
    "é",
    "\x00",
    "nan",
    "9" * 30,
]


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.one_of(
        st.text(max_size=60),
        st.lists(st.sampled_from(_PIECES), max_size=80).map("".join),
        st.integers(0, 300).map(lambda n: "(" * n + "a" + ")" * n),
    )
)
def test_fuzz_parser_raises_only_its_own_errors(text):
    try:
        expression = parse_expression(text)
    except ExpressionError:
        return
    values = dict.fromkeys(expression.names, 0.5)
    try:
        with __import__("numpy").errstate(all="ignore"):
            out = expression.build(values)
            out.backward()
    except LayerpropError:
        return


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=40))
def test_fuzz_assignment_raises_only_its_own_errors(text):
    try:
        name, value = parse_assignment(text)
    except ExpressionError:
        return
    assert name.isidentifier() and math.isfinite(value)


def test_variable_backward_with_a_wrong_seed_is_a_shape_error():
    from layerprop.errors import ShapeError

    x = Variable([1.0, 2.0])
    y = x * 2.0
    with pytest.raises(ShapeError, match=r"Variable.backward: grad must have the Variable's shape \(2,\), got \(3,\)"):
        y.backward([1.0, 1.0, 1.0])


@pytest.mark.parametrize("value", [float("nan"), float("inf"), "abc", None, 10**400])
def test_build_refuses_non_finite_values_like_set_does(value):
    with pytest.raises(ExpressionError, match="the value for 'a' must be a finite number"):
        parse_expression("a*2").build({"a": value})
