"""Tests of layerprop.viz: drawings of computational graphs with forward values and gradients.

The apple/orange graph must show exactly the notes' numbers (and no round-off tails), the DOT text
must be valid Graphviz (checked with ``dot`` when it is installed — on CI it must be), the
expression parser must follow Python's precedence and point at mistakes, and the CLI must write
files and fail with one line and exit 2 on bad input.
"""

import json
import os
import re
import shutil
import subprocess
import sys
from html.parser import HTMLParser

import numpy as np
import pytest

import layerprop.graph as G
from layerprop import viz
from layerprop.cli import main
from layerprop.graph import Variable
from layerprop.viz import ExpressionError, parse_assignment, parse_expression
from layerprop.viz.model import CONSTANT, INPUT, OUTPUT, PARAM
from layerprop.viz.rendering import GraphvizNotFoundError
from layerprop.viz.values import describe_value

FORWARD = ["100", "2", "150", "3", "200", "450", "650", "1.1", "715"]
GRADIENTS = ["1", "1.1", "650", "2.2", "110", "3.3", "165"]
ROUND_OFF = [
    "2.2000000000000006",
    "110.00000000000001",
    "3.3000000000000003",
    "715.0000000000001",
    "0000000",
    "9999999",
]


def need_dot():
    """Skip without Graphviz's dot — except on CI (CI set), which installs it: there, fail."""
    if shutil.which("dot") is None:
        if os.environ.get("CI"):
            pytest.fail("Graphviz 'dot' is missing on CI (apt-get install graphviz)")
        pytest.skip("Graphviz 'dot' is not installed")


def apple_orange():
    return viz.example("apple-orange")


# -- the model: what is drawn --------------------------------------------------------------------
def test_model_of_apple_orange_has_the_notes_values_and_gradients():
    model = viz.build_model(apple_orange())
    by_name = {e.name: e for e in model.edges if e.name}
    expected = {
        "apple": ("100", "2.2"),
        "apple_num": ("2", "110"),
        "orange": ("150", "3.3"),
        "orange_num": ("3", "165"),
        "tax": ("1.1", "650"),
        "apple_price": ("200", "1.1"),
        "orange_price": ("450", "1.1"),
        "all_price": ("650", "1.1"),
        "price": ("715", "1"),
    }
    for name, (value, grad) in expected.items():
        assert (by_name[name].value_text, by_name[name].grad_text) == (value, grad), name
    assert [n.label for n in model.ops] == ["×", "×", "+", "×"]
    assert sorted(n.label for n in model.nodes if n.kind == INPUT) == sorted(
        ["apple", "apple_num", "orange", "orange_num", "tax"]
    )
    assert [n.label for n in model.nodes if n.kind == OUTPUT] == ["price"]
    assert model.ops[0].rule == "dx = dout·y, dy = dout·x"  # the layer's own backward_rule


def test_model_before_backward_has_values_only():
    a, b = Variable(3.0, name="a"), Variable(4.0, name="b")
    model = viz.build_model(a * b)
    assert [e.value_text for e in model.edges] == ["3", "4", "12"]
    assert all(e.grad_text is None for e in model.edges)
    assert not model.has_gradients


def test_constants_are_small_nodes_labelled_by_value_without_gradient():
    x = Variable(2.0, name="x")
    y = 1 + x
    y.backward()
    model = viz.build_model(y)
    constants = [n for n in model.nodes if n.kind == CONSTANT]
    assert [c.label for c in constants] == ["1"]
    edge = model.out_edges(constants[0].id)[0]
    assert edge.constant and edge.grad_text is None
    assert model.find_edges("x")[0].grad_text == "1"


def test_branch_edges_show_their_own_share_of_the_gradient():
    x = Variable(3.0, name="x")
    y = x * x + x  # x feeds × twice and + once: each edge carries its share, x.grad is their sum
    y.backward()
    model = viz.build_model(y)
    shares = sorted(e.grad_text for e in model.find_edges("x"))
    assert shares == ["1", "3", "3"]
    assert x.grad == pytest.approx(7.0)


def test_arrays_are_shown_by_shape_plus_small_values():
    assert describe_value(np.zeros((3, 4))) == "(3, 4)"
    assert describe_value(np.array([0.5, -1.0])) == "(2,) [0.5, -1]"
    assert describe_value(np.array([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]])) == "(2, 3) [[1, 2, 3], [4, 5, 6]]"
    assert describe_value(0.1 + 0.2) == "0.3"
    assert describe_value(100 * 2 * 1.1) == "220"


def test_network_is_drawn_from_its_layers_with_parameter_gradients():
    from layerprop.nets import TwoLayerNet

    net = TwoLayerNet(3, 4, 2, weight_init_std=0.5, seed=1)
    x = np.array([[1.0, -0.5, 2.0], [0.5, 1.5, -1.0]])
    t = np.array([0, 1])
    before = {k: v.copy() for k, v in net.params.items()}
    model = viz.build_model(net, x=x, t=t)
    assert [n.label for n in model.ops] == ["Affine1", "Relu1", "Affine2", "SoftmaxWithLoss"]
    params = {n.label for n in model.nodes if n.kind == PARAM}
    assert params == {"W1", "b1", "W2", "b2"}
    grads = net.gradient(x, t)
    edge_of = {e.name: e for e in model.edges if e.name}
    for key in ("W1", "b1", "W2", "b2"):
        np.testing.assert_allclose(edge_of[key].grad, grads[key], rtol=1e-10, atol=1e-12)
    assert edge_of["W1"].value_text == "(3, 4)"  # 12 elements: the shape only
    assert edge_of["b2"].value_text.startswith("(2,) [")  # small: shape and values
    assert edge_of["loss"].grad_text == "1"
    for key, value in before.items():  # drawing works on a copy: the network is unchanged
        np.testing.assert_array_equal(net.params[key], value)


# -- DOT -----------------------------------------------------------------------------------------
def dot_label_numbers(dot_text):
    """Numbers in the edge labels, split into (values, gradients) by their colour."""
    values = re.findall(r'<FONT COLOR="#1f4e9c">([^<]*)</FONT>', dot_text)
    grads = re.findall(r'<FONT COLOR="#d62728">([^<]*)</FONT>', dot_text)
    return values, grads


def test_dot_of_apple_orange_shows_exactly_the_notes_numbers():
    text = viz.to_dot(apple_orange())
    values, grads = dot_label_numbers(text)
    assert sorted(values) == sorted(FORWARD)
    assert sorted(set(grads)) == sorted(set(GRADIENTS))
    assert sorted(grads) == sorted(["2.2", "110", "3.3", "165", "650", "1.1", "1.1", "1.1", "1"])
    for tail in ROUND_OFF:
        assert tail not in text
    assert text.startswith("digraph") and "rankdir=LR" in text
    for name in ("apple", "apple_num", "orange", "orange_num", "tax", "price"):
        assert f'label="{name}"' in text


def test_dot_is_valid_graphviz():
    need_dot()
    for name in viz.EXAMPLES:
        done = subprocess.run(
            ["dot", "-Tsvg"], input=viz.to_dot(viz.example(name)).encode(), capture_output=True, timeout=60, check=False
        )
        assert done.returncode == 0, done.stderr.decode()
        assert b"<svg" in done.stdout


def test_svg_of_apple_orange_shows_the_numbers():
    need_dot()
    svg = viz.to_svg(apple_orange())
    texts = re.findall(r"<text[^>]*>([^<]*)</text>", svg)
    for number in FORWARD + GRADIENTS:
        assert number in texts, number
    for tail in ROUND_OFF:
        assert tail not in svg
    assert 'fill="#d62728"' in svg  # gradients in the second colour


def test_render_writes_by_extension(tmp_path):
    price = apple_orange()
    assert viz.render(price, tmp_path / "g.dot").read_text().startswith("digraph")
    assert "<!DOCTYPE html>" in viz.render(price, tmp_path / "g.html").read_text()
    with pytest.raises(ValueError, match="extension"):
        viz.render(price, tmp_path / "g.txt")
    if shutil.which("dot"):
        assert viz.render(price, tmp_path / "g.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        assert "<svg" in viz.render(price, tmp_path / "g.svg").read_text()


def test_missing_dot_gives_an_install_message(monkeypatch, tmp_path):
    monkeypatch.setenv("PATH", str(tmp_path))  # no dot anywhere
    monkeypatch.delenv("LAYERPROP_DOT", raising=False)
    assert not viz.dot_available()
    with pytest.raises(GraphvizNotFoundError) as info:
        viz.to_svg(apple_orange())
    message = str(info.value)
    assert "apt-get install graphviz" in message and "brew install graphviz" in message
    assert isinstance(info.value, ImportError)
    # DOT and HTML still work, and notebooks fall back to the self-laid-out drawing
    price = apple_orange()
    assert viz.to_dot(price).startswith("digraph")
    assert price._repr_svg_() is None
    assert "<svg" in price._repr_html_()


def test_jupyter_reprs(monkeypatch):
    price = apple_orange()
    assert Variable(1.0)._repr_svg_() is None and Variable(1.0)._repr_html_() is None  # nothing to draw
    if shutil.which("dot"):
        svg = price._repr_svg_()
        assert svg.lstrip().startswith("<?xml") or "<svg" in svg
        assert price._repr_html_() is None  # Jupyter prefers HTML: leave the SVG to Graphviz
        from layerprop.nets import TwoLayerNet

        assert "<svg" in TwoLayerNet(3, 4, 2, seed=0)._repr_svg_()


# -- the HTML page -------------------------------------------------------------------------------
class _Texts(HTMLParser):
    """Collect the text of <text class="value"> and <text class="grad"> elements."""

    def __init__(self):
        super().__init__()
        self.values, self.grads, self._current, self.scripts = [], [], None, []
        self._in_script = False

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        classes = (attrs.get("class") or "").split()
        if tag == "text" and "value" in classes:
            self._current = self.values
        elif tag == "text" and "grad" in classes:
            self._current = self.grads
        if tag == "script":
            self._in_script = True
            self.scripts.append(attrs)

    def handle_endtag(self, tag):
        self._current = None
        if tag == "script":
            self._in_script = False

    def handle_data(self, data):
        if self._current is not None:
            self._current.append(data)


def test_html_page_is_self_contained_and_has_every_number():
    page = viz.to_html(apple_orange(), title="Apple and orange")
    parser = _Texts()
    parser.feed(page)
    assert sorted(parser.values) == sorted(FORWARD)
    assert sorted(parser.grads) == sorted(["2.2", "110", "3.3", "165", "650", "1.1", "1.1", "1.1", "1"])
    for tail in ROUND_OFF:
        assert tail not in page
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", page)  # nothing fetched from the network
    assert "@import" not in page and "url(http" not in page
    assert all("src" not in attrs for attrs in parser.scripts)  # inline scripts only
    assert 'id="status"' in page and 'data-step="0"' in page
    assert "ArrowRight" in page and "ArrowLeft" in page


def test_html_steps_go_forward_then_backward_with_the_rules():
    page = viz.to_html(apple_orange())
    data = json.loads(
        re.search(r'<script type="application/json" id="layerprop-steps">(.*?)</script>', page, re.DOTALL).group(1)
    )
    steps = data["steps"]
    phases = [s["phase"] for s in steps]
    assert phases == ["start"] + ["forward"] * 4 + ["seed"] + ["backward"] * 4
    assert steps[1]["rule"].startswith("× node (MulLayer)")
    last_forward = steps[4]
    assert last_forward["numbers"] == "x = 650, y = 1.1 → 715"
    first_backward = steps[6]
    assert first_backward["rule"] == "× node (MulLayer): dx = dout·y, dy = dout·x"
    assert first_backward["numbers"] == "dout = 1: dx = 1.1 (→ all_price), dy = 650 (→ tax)"
    assert "dx = 2.2 (→ apple), dy = 110 (→ apple_num)" in [s["numbers"].split(": ", 1)[-1] for s in steps]
    revealed = {g for s in steps for g in s["grads"]}
    model = viz.build_model(apple_orange())
    assert revealed == {e.id for e in model.edges if e.grad_text is not None}


def test_html_exp_node_rule():
    x = Variable(0.0, name="x")
    y = G.exp(x)
    y.backward()
    steps_json = re.search(r'id="layerprop-steps">(.*?)</script>', viz.to_html(y), re.DOTALL).group(1)
    steps = json.loads(steps_json)["steps"]
    assert steps[-1]["rule"] == "exp node (ExpLayer): dx = dout·exp(x)"
    assert steps[-1]["numbers"] == "dout = 1: dx = 1 (→ x)"


def test_html_before_backward_steps_through_the_forward_pass_only():
    a, b = Variable(3.0, name="a"), Variable(4.0, name="b")
    page = viz.to_html(a * b)
    steps = json.loads(re.search(r'id="layerprop-steps">(.*?)</script>', page, re.DOTALL).group(1))["steps"]
    assert [s["phase"] for s in steps] == ["start", "forward"]
    assert steps[1]["numbers"] == "x = 3, y = 4 → 12"
    assert "run backward()" in page


def test_inline_svg_shows_everything_without_graphviz():
    svg = viz.to_inline_svg(apple_orange())
    parser = _Texts()
    parser.feed(svg)
    assert sorted(parser.values) == sorted(FORWARD)
    assert svg.count('class="grad visible"') == 9
    assert svg.count('class="value visible"') == 9
    assert "<svg" in svg and "url(#layerprop-" in svg


def test_a_model_can_be_redrawn_with_other_digits_and_title():
    model = viz.example("two-layer-net")
    assert isinstance(model, viz.GraphModel)
    short = viz.build_model(model, digits=2, title="short")
    assert short.title == "short" and model.title != "short"
    loss = short.find_edges("loss")[0]
    assert loss.value_text == describe_value(loss.value, 2) and len(loss.value_text) <= 4


# -- the sigmoid example -------------------------------------------------------------------------
def test_sigmoid_example_has_equal_gradients_in_both_graphs():
    graphs = viz.example("sigmoid")
    (four_title, four), (fused_title, fused) = graphs.items()
    assert [n.label for n in four.nodes()] == ["×", "exp", "+", "/"]
    assert [n.label for n in fused.nodes()] == ["sigmoid"]
    assert four.item() == pytest.approx(0.8807970779778823) and fused.item() == pytest.approx(four.item())
    x_four, x_fused = four.nodes()[0].inputs[1], fused.nodes()[0].inputs[0]
    assert x_four.grad == pytest.approx(0.10499358540350662, rel=1e-12)
    assert x_fused.grad == pytest.approx(x_four.grad, rel=1e-12)
    model = viz.build_model(graphs)
    assert model.clusters == [four_title, fused_title]
    x_edges = model.find_edges("x")
    assert len(x_edges) == 2 and {e.grad_text for e in x_edges} == {"0.104994"}
    assert {e.value_text for e in model.find_edges("y")} == {"0.880797"}
    dot_text = viz.to_dot(graphs)
    assert dot_text.count("subgraph cluster_") == 2
    assert sorted(n.label for n in model.nodes if n.kind == CONSTANT) == ["-1", "1", "1"]


# -- the expression parser -----------------------------------------------------------------------
def value_of(text, **values):
    return parse_expression(text).build(values).item()


@pytest.mark.parametrize(
    "text, values, expected",
    [
        ("1 + 2*3", {}, 7.0),
        ("(1 + 2)*3", {}, 9.0),
        ("a - b - c", dict(a=10, b=3, c=2), 5.0),  # left-associative
        ("a / b / c", dict(a=8, b=2, c=2), 2.0),
        ("2**3**2", {}, 512.0),  # ** is right-associative
        ("-2**2", {}, -4.0),  # ** binds tighter than a unary minus on its left
        ("2**-1", {}, 0.5),  # … and looser than one on its right
        ("-x**2", dict(x=3), -9.0),
        ("--x", dict(x=2), 2.0),
        ("-x*y", dict(x=2, y=3), -6.0),
        ("1e-3*x + .5", dict(x=1000), 1.5),
        ("exp(0) + log(1) + tanh(0) + relu(-3) + sigmoid(0)", {}, 1.5),
        ("(a*b + c*d)*t", dict(a=100, b=2, c=150, d=3, t=1.1), 715.0),
        ("x ** 0.5", dict(x=16), 4.0),
        ("2 ** (1 + 1) * x", dict(x=1), 4.0),
        ("a − b", dict(a=5, b=2), 3.0),  # the notes' minus sign
    ],
)
def test_parser_precedence_and_associativity(text, values, expected):
    assert value_of(text, **values) == pytest.approx(expected)


def test_parser_builds_a_real_graph_with_shared_names():
    expression = parse_expression("(a*b + c*d)*t")
    assert expression.names == ["a", "b", "c", "d", "t"]
    out = expression.build(dict(a=100, b=2, c=150, d=3, t=1.1))
    assert [n.label for n in out.nodes()] == ["×", "×", "+", "×"]
    out.backward()
    grads = {v.name: v.grad for n in out.nodes() for v in n.inputs if v.name}
    assert grads == pytest.approx(dict(a=2.2, b=110, c=3.3, d=165, t=650))
    square = parse_expression("x*x").build({"x": 3.0})
    square.backward()
    assert square.nodes()[0].inputs[0] is square.nodes()[0].inputs[1]
    assert square.nodes()[0].inputs[0].grad == pytest.approx(6.0)


def test_minus_before_a_number_is_a_constant_like_the_notes():
    out = parse_expression("-1*x").build({"x": 2.0})
    node = out.nodes()[0]
    assert node.label == "×" and node.inputs[0].data == -1 and not node.inputs[0].requires_grad
    assert [n.label for n in parse_expression("-x").build({"x": 2.0}).nodes()] == ["−x"]


@pytest.mark.parametrize(
    "text, message, column",
    [
        ("(a*b))", "unexpected ')'", 6),
        ("(a*b", "missing ')'", 1),
        ("a $ b", "unexpected character '$'", 3),
        ("foo(a)", "unknown function 'foo'", 1),
        ("a*", "missing operand after '*'", 2),
        ("a+*b", "missing operand after '+'", 2),
        ("*a", "missing operand before '*'", 1),
        ("a b", "unexpected name 'b'", 3),
        ("2a", "unexpected name 'a'", 2),
        ("exp()", "needs one argument", 4),
        ("exp(a, b)", "unexpected ','", 6),
        ("exp a", "function 'exp' without '('", 1),
        ("()", "missing operand inside '()'", 1),
        (")", "unexpected ')'", 1),
        ("a*(b+)", "missing operand after '+'", 5),
        ("a**b", "exponent of '**' must be a number", 2),
    ],
)
def test_parser_errors_point_at_the_mistake(text, message, column):
    with pytest.raises(ExpressionError) as info:
        parse_expression(text).build({"a": 1.0, "b": 2.0})
    error = info.value
    assert message in str(error)
    assert error.column == column
    assert f"at column {column} in {text!r}" in str(error)
    assert "\n" not in str(error)


def test_parser_error_for_a_name_without_value_and_empty_text():
    with pytest.raises(
        ExpressionError, match=re.escape("no value for 'c' at column 5 in 'a*b+c': give one with --set c=NUMBER")
    ):
        parse_expression("a*b+c").build({"a": 1, "b": 2})
    with pytest.raises(ExpressionError, match="empty expression"):
        parse_expression("   ")
    with pytest.raises(ExpressionError, match="nothing to draw"):
        parse_expression("a").build({"a": 1})


@pytest.mark.parametrize("text", ["a", "a=", "=1", "1=2", "a=b", "a=1=2", "a=1e", "a b=1"])
def test_bad_assignments(text):
    with pytest.raises(ExpressionError, match="expected NAME=NUMBER"):
        parse_assignment(text)


def test_good_assignments():
    assert parse_assignment("t=1.1") == ("t", 1.1)
    assert parse_assignment(" x = -2.5e-3 ") == ("x", -0.0025)
    assert parse_assignment("y=.5") == ("y", 0.5)


def test_the_parser_never_evaluates_python():
    with pytest.raises(ExpressionError):
        parse_expression("__import__('os').system('true')")
    with pytest.raises(ExpressionError, match="unknown function"):
        parse_expression("open(a)")


# -- the command line ----------------------------------------------------------------------------
SHOP = ["--expr", "(a*b + c*d)*t", "--set", "a=100", "b=2", "c=150", "d=3", "t=1.1"]


def test_cli_expr_writes_a_dot_file(tmp_path, capsys):
    out = tmp_path / "x.dot"
    assert main(["graph", *SHOP, "-o", str(out)]) == 0
    text = out.read_text()
    values, grads = dot_label_numbers(text)
    assert sorted(values) == sorted(FORWARD)
    assert {"2.2", "110", "3.3", "165", "650", "1"} <= set(grads)
    assert "wrote" in capsys.readouterr().out


def test_cli_without_output_prints_dot(capsys):
    assert main(["graph", "--example", "apple"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("digraph")
    assert "220" in out and "2.2" in out and "110" in out and "200" in out


@pytest.mark.parametrize("name", ["apple", "apple-orange", "sigmoid", "two-layer-net"])
def test_cli_examples_write_html(name, tmp_path):
    out = tmp_path / f"{name}.html"
    assert main(["graph", "--example", name, "-o", str(out)]) == 0
    assert out.read_text().startswith("<!DOCTYPE html>")


@pytest.mark.parametrize(
    "argv, fragment",
    [
        (["--expr", "(a*b))", "--set", "a=1", "b=2"], "unexpected ')' at column 6 in '(a*b))'"),
        (["--expr", "(a*b", "--set", "a=1", "b=2"], "missing ')'"),
        (["--expr", "a ? b", "--set", "a=1", "b=2"], "unexpected character '?' at column 3"),
        (["--expr", "foo(a)", "--set", "a=1"], "unknown function 'foo' at column 1"),
        (["--expr", "a*", "--set", "a=1"], "missing operand after '*' at column 2"),
        (["--expr", "a*b"], "no value for 'a' at column 1"),
        (["--expr", "a*b", "--set", "a=1", "b"], "expected NAME=NUMBER"),
        (["--expr", "a*b", "--set", "a=1", "b=x"], "expected NAME=NUMBER"),
        (["--expr", "a*b", "--set", "a=1", "b=2", "e=3"], "--set e=… is not used"),
        (["--example", "apple", "--set", "a=1"], "--set goes with --expr"),
        (["--example", "apple", "-o", "x.txt"], "cannot tell the format"),
    ],
)
def test_cli_bad_input_exits_2_with_one_line(argv, fragment, capsys):
    with pytest.raises(SystemExit) as info:
        main(["graph", *argv])
    assert info.value.code == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1, err
    assert err.startswith("layerprop graph: error: ")
    assert fragment in err


def test_cli_subprocess_python_m(tmp_path):
    out = tmp_path / "shop.dot"
    done = subprocess.run(
        [sys.executable, "-m", "layerprop", "graph", *SHOP, "-o", str(out)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "715" in out.read_text()
    bad = subprocess.run(
        [sys.executable, "-m", "layerprop", "graph", "--expr", "(a*b))", "--set", "a=1", "b=2"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert bad.returncode == 2
    assert bad.stderr == "layerprop graph: error: unexpected ')' at column 6 in '(a*b))': no '(' to close\n"


def test_cli_png_needs_dot_or_says_how_to_install(tmp_path, monkeypatch, capsys):
    out = tmp_path / "g.png"
    if shutil.which("dot"):
        assert main(["graph", "--example", "apple-orange", "-o", str(out)]) == 0
        assert out.read_bytes()[:4] == b"\x89PNG"
    monkeypatch.setenv("PATH", str(tmp_path))
    assert main(["graph", "--example", "apple-orange", "-o", str(tmp_path / "h.png")]) == 1
    err = capsys.readouterr().err
    assert "apt-get install graphviz" in err and err.count("\n") == 1
