"""Branch sums in every drawing, the layers' rules written once, the import-free display hook,
``layerprop graph --expr "-x**2"``, the label input ``t``, the two-layer example, ``layerprop curves``."""

import json
import shutil

import numpy as np
import pytest
from optional import need

import layerprop.layers as L
from layerprop import viz
from layerprop.cli import main
from layerprop.graph import Variable
from layerprop.layers.base import RULE_LANGUAGES, Layer
from layerprop.nets import TwoLayerNet
from layerprop.viz.steps import build_steps


def three_uses(x=2.0):
    x = Variable(x, name="x")
    y = x * x + 3 * x
    y.name = "y"
    y.backward()
    return y


def test_branch_sum_model_dot_svg_and_steps():
    y = three_uses()
    model = viz.build_model(y)
    (branch,) = model.branch_sums()
    assert branch.text == "x.grad = 2 + 2 + 3 = 7"
    assert 'xlabel=<<font color="#d62728" point-size="11">x.grad = 2 + 2 + 3 = 7</font>>' in viz.to_dot(y)
    assert "x.grad = 2 + 2 + 3 = 7</text>" in viz.to_inline_svg(y)
    last = build_steps(model)[-1]
    assert last["phase"] == "sum" and last["numbers"] == "x.grad = 2 + 2 + 3 = 7"
    assert "x.grad = 2 + 2 + 3 = 7" in viz.to_html(y)
    assert viz.build_model(viz.example("apple-orange")).branch_sums() == []


@pytest.mark.skipif(shutil.which("dot") is None, reason="Graphviz's dot is not installed")
def test_branch_sum_in_rendered_svg():
    assert "x.grad = 2 + 2 + 3 = 7" in viz.to_svg(three_uses())


def test_every_layer_states_its_rules_once_in_both_languages():
    classes = [getattr(L, name) for name in L.__all__ if isinstance(getattr(L, name), type)]
    classes = [c for c in classes if issubclass(c, Layer) and c.backward_rule]
    assert len(classes) >= 20
    for cls in classes:
        for language in RULE_LANGUAGES:
            forward, backward = cls.rules(language)
            assert forward and backward, cls
        assert cls.backward_rule in cls.__doc__ and cls.forward_rule in cls.__doc__  # the docstring reads them
        assert cls.rules("ko")[1] in cls.__doc__
    assert L.Relu.rules("ko") == ("y = x (x > 0인 곳), 그 밖은 0", "dx = dout (x > 0인 곳), 그 밖은 0")
    with pytest.raises(ValueError, match="language"):
        L.Relu.rules("fr")


def test_drawings_read_the_rules_from_the_layers():
    model = viz.build_model(viz.example("apple"))
    op = model.ops[0]
    assert (op.forward_rule, op.rule) == L.MulLayer.rules("en")
    steps = build_steps(viz.build_model(viz.example("two-layer-net")), "ko")
    assert any("x > 0인 곳" in step["rule"] for step in steps)


def test_network_lists_its_parameters_by_layer():
    net = TwoLayerNet(3, 4, 2, seed=0)
    listing = net.parameters_by_layer()
    assert [(name, keys) for name, _, keys in listing] == [
        ("Affine1", {"W": "W1", "b": "b1"}),
        ("Relu1", {}),
        ("Affine2", {"W": "W2", "b": "b2"}),
    ]
    first_layer = listing[0][1]
    assert first_layer.params["W"] is net.params["W1"]


def test_viz_attaches_the_notebook_display():
    import layerprop.graph.variable as variable_module
    import layerprop.nets.base as nets_base

    for module in (variable_module, nets_base):
        with open(module.__file__, encoding="utf-8") as f:
            source = f.read()
        assert "viz" not in source
    assert Variable._repr_html_ is viz.repr_html and Variable._repr_svg_ is viz.repr_svg
    assert TwoLayerNet._repr_html_ is viz.repr_html


def test_expression_starting_with_a_minus(capsys):
    assert main(["graph", "--expr", "-x**2", "--set", "x=3"]) == 0
    dot = capsys.readouterr().out
    assert "-9" in dot and "−6" not in dot and "-6" in dot  # value −9, gradient −2x = −6


def test_label_input_is_named_t():
    model = viz.example("two-layer-net")
    labels = [n.label for n in model.nodes if n.kind == "constant"]
    assert labels == ["t = (2,) [0, 1]"]


def test_two_layer_example_has_no_dead_units():
    model = viz.example("two-layer-net")
    relu_in = next(e for e in model.edges if model.node(e.target).layer_name == "Relu")
    assert np.all((np.asarray(relu_in.value) > 0).any(axis=0))  # every hidden unit fires for a sample
    w1 = next(e for e in model.edges if e.name == "W1")
    assert np.all(np.abs(np.asarray(w1.grad)).sum(axis=0) > 0)  # so every column of W1 learns


def test_curves_redraws_from_history(tmp_path, capsys):
    pytest.importorskip("matplotlib")
    history = {
        "train_loss_list": [2.3, 1.0, 0.5, 0.3],
        "train_acc_list": [0.8, 0.9],
        "test_acc_list": [0.79, 0.88],
        "settings": {"model": "two-layer", "dataset": "mnist"},
    }
    (tmp_path / "history.json").write_text(json.dumps(history))
    assert main(["curves", str(tmp_path)]) == 0
    picture = tmp_path / "curves.png"
    assert picture.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert [p.name for p in tmp_path.iterdir()] != [] and not list(tmp_path.glob("*.tmp"))
    assert "wrote" in capsys.readouterr().out


@pytest.mark.parametrize(
    "content, message",
    [
        ("[1, 2]", "JSON object"),
        ('{"train_loss_list": ["a"]}', "list of finite numbers"),
        ('{"train_loss_list": [NaN]}', "list of finite numbers"),
        ("{}", "no curve"),
        ("{", "not valid JSON"),
    ],
)
def test_curves_refuses_bad_history(tmp_path, capsys, content, message):
    (tmp_path / "history.json").write_text(content)
    with pytest.raises(SystemExit) as exit_:
        main(["curves", str(tmp_path)])
    assert exit_.value.code == 2
    assert message in capsys.readouterr().err


def test_curves_needs_a_run_folder(tmp_path, capsys):
    with pytest.raises(SystemExit):
        main(["curves", str(tmp_path / "missing")])
    assert "not a folder" in capsys.readouterr().err


def test_a_variable_draws_itself_in_a_notebook_without_importing_the_drawings():
    """The notebook display works whatever was imported first (IPython after layerprop, or a front
    end without IPython): the drawing code is imported on the first display, not before."""
    import subprocess
    import sys

    code = (
        "import sys; from layerprop.graph import Variable; from layerprop.nets import TwoLayerNet; "
        "x = Variable(3.0, name='x'); y = x * x; y.backward(); "
        "print('layerprop.viz' in sys.modules); "
        "markup = y._repr_svg_() or y._repr_html_(); print('<svg' in markup, 'layerprop.viz' in sys.modules); "
        "print('<svg' in (TwoLayerNet(3, 4, 2, seed=0)._repr_svg_() or TwoLayerNet(3, 4, 2, seed=0)._repr_html_())); "
        "print(Variable(1.0)._repr_svg_(), Variable(1.0)._repr_html_())"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True)
    assert out.stdout.split("\n")[:4] == ["False", "True True", "True", "None None"], out.stdout + out.stderr
    code = "import sys, layerprop; print('numpy' in sys.modules, 'layerprop.notebook' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True)
    assert out.stdout.strip() == "False True"  # registering the painters imports neither NumPy nor the layers


def test_tensor_edges_carry_heatmaps():
    model = viz.example("two-layer-net")  # W1 (3, 4): too large to write out
    dot = viz.to_dot(model)
    assert dot.count('FIXEDSIZE="TRUE"') >= 12 and 'BGCOLOR="#' in dot
    svg = viz.to_inline_svg(model)
    assert 'class="heat heat-value"' in svg and 'class="heat heat-grad"' in svg
    small = viz.to_inline_svg(viz.example("apple-orange"))  # scalars: no heatmap
    assert 'class="heat heat-value"' not in small


@pytest.mark.parametrize(
    "history",
    [
        {"train_loss_list": [0.0, 0.0], "test_acc_list": [0.5]},  # a loss of 0: no log scale
        {"test_acc_list": [0.5, 0.6]},  # no loss: no empty legend
        {"train_loss_list": [1.0, 0.5]},  # no accuracy: no empty legend
    ],
)
def test_curves_draw_without_matplotlib_warnings(tmp_path, capsys, history):
    """'Also': matplotlib's warnings (no positive values to log-scale, a legend without lines)
    reached stderr; their causes are gone, and any warning now fails this test."""
    pytest.importorskip("matplotlib")
    import warnings

    (tmp_path / "history.json").write_text(json.dumps(history))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert main(["curves", str(tmp_path)]) == 0
    assert capsys.readouterr().err == ""


def test_a_network_of_thousands_of_layers_is_drawn_summarised():
    """Item 17.5: a 6000-layer drawing took more than 120 s; now the first and last layers are
    drawn, with one node standing for the layers between them."""
    from layerprop.nets import MultiLayerNet
    from layerprop.viz import build_model, to_html
    from layerprop.viz.model import DRAWN_AT_EACH_END

    net = MultiLayerNet(6, [3] * 1000, 2, dtype="float64", seed=0)
    model = build_model(net)
    labels = [node.label for node in model.ops]
    assert len(labels) == 2 * DRAWN_AT_EACH_END + 2  # ends, the summary and the loss
    assert labels[DRAWN_AT_EACH_END] == f"⋯ {2001 - 2 * DRAWN_AT_EACH_END} layers"
    summary = model.ops[DRAWN_AT_EACH_END]
    assert "Affine ×" in summary.layer_name and "Relu ×" in summary.layer_name
    assert len(model.in_edges(summary.id)) == 1 and len(model.out_edges(summary.id)) == 1
    assert "⋯ 1969 layers" in to_html(net)
    small = build_model(MultiLayerNet(6, [3] * 10, 2, dtype="float64", seed=0))
    assert not any(node.label.startswith("⋯") for node in small.ops)  # short networks are drawn whole


def test_heatmaps_of_huge_tensors_copy_only_what_they_draw():
    """Item 17.5: the heatmap of an 84,000-column weight matrix made a float64 copy of all of it."""
    import tracemalloc

    from layerprop.viz.heatmap import MAX_COLUMNS, MAX_ROWS, cells

    weights = np.ones((784, 84_000), np.float32)
    tracemalloc.start()
    grid = cells(weights)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert grid.shape == (MAX_ROWS, MAX_COLUMNS) and peak < 8 << 20  # (the whole in float64: 527 MB)


def test_ipython_started_after_layerprop_shows_the_drawing():
    """The audit's case: layerprop imported first, IPython after (the old check at import missed it)."""
    import subprocess
    import sys

    need("IPython", "pip install ipykernel, in the [test] extra")
    code = (
        "from layerprop.graph import Variable; x = Variable(2.0, name='x'); y = x * x + x; y.backward(); "
        "from IPython.core.interactiveshell import InteractiveShell; "
        "data, _ = InteractiveShell.instance().display_formatter.format(y); "
        "print(sorted(k for k in data if k in ('image/svg+xml', 'text/html')))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True)
    assert out.stdout.strip() in ("['image/svg+xml']", "['text/html']"), out.stdout + out.stderr
