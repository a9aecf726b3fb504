"""layerprop.doctor: a learner's own layers, checked.

Every problem code is found on a deliberately wrong layer (tests/doctor_files/wrong_layers.py) and
not on its right twin (right_layers.py); the study notes' three buggy cells (notes_cells.py) are
diagnosed by name; correct layers in the book's style pass, and so does every layer of layerprop's
own contract suite; the notes stay notes (``report.ok`` True); the doctor never raises because of
a layer; ``check_graph`` judges each node at its own input values; and ``graph.apply`` takes a
learner's layers, with or without parameters.
"""

import inspect
import json
import sys
from pathlib import Path

import numpy as np
import pytest

from layerprop import doctor
from layerprop.doctor import PROBLEM_CODES, check_graph, check_layer
from layerprop.graph import Variable, apply

sys.path.insert(0, str(Path(__file__).parent / "doctor_files"))
import notes_cells
import right_layers as right
import wrong_layers as wrong

#: problem code → (a layer with that mistake, its right twin)
TWINS = {
    "not-a-layer": (wrong.NoBackward, right.Identity),
    "cannot-build": (wrong.NeedsFactor, wrong.NeedsFactor(2.0)),
    "init-error": (wrong.BrokenInit, right.MulLayer),
    "forward-error": (wrong.TypoRelu, right.Relu),
    "backward-error": (wrong.TypoSigmoid, right.Sigmoid),
    "no-output": (wrong.NoReturnSigmoid, right.Sigmoid),
    "missing-gradient": (wrong.HalfMulLayer, right.MulLayer),
    "mutates-input": (wrong.ClampingRelu, right.Relu),
    "mutates-dout": (notes_cells.InPlaceRelu, right.Relu),
    "wrong-shape": (wrong.ScalarBiasAffine, right.Affine),
    "wrong-gradient": (wrong.SameSideMulLayer, right.MulLayer),
    "stale-state": (wrong.FirstCallMulLayer, right.MulLayer),
    "unstable": (wrong.NaiveSoftmaxWithLoss, right.SoftmaxWithLoss),
}
#: more mistakes of the same kinds
MORE = {
    "missing-gradient": (wrong.AffineWithoutDb, right.Affine),
    "stale-state": (wrong.AccumulatingAffine, right.Affine),
}


def classes_of(module):
    return [obj for obj in vars(module).values() if inspect.isclass(obj) and obj.__module__ == module.__name__]


def test_every_problem_code_has_a_wrong_layer():
    assert set(TWINS) == set(PROBLEM_CODES)


@pytest.mark.parametrize("code", [*TWINS, *(f"{code} (2)" for code in MORE)])
def test_each_code_is_found_on_its_wrong_layer_and_not_on_its_twin(code):
    name = code.split(" ")[0]
    bad, good = (MORE if code.endswith("(2)") else TWINS)[name]
    report = check_layer(bad)
    assert not report.ok and name in report.codes, str(report)
    found = report.problem(name)
    assert found.message and found.message_ko and found.message != found.message_ko
    twin = check_layer(good)
    assert twin.ok and name not in twin.codes, str(twin)


def test_wrong_gradient_names_the_worst_element_and_both_values():
    report = check_layer(wrong.SameSideMulLayer)
    problems = [p for p in report.problems if p.code == "wrong-gradient"]
    assert {p.where for p in problems} == {"x", "y"}
    for p in problems:
        assert p.rel_error > 0.1 and len(p.index) == 2
        row = next(g for g in report.gradients if g.name == p.where)
        assert (p.analytic, p.numerical, p.index) == (row.analytic, row.numerical, row.worst)
        assert abs(p.analytic - p.numerical) > 0.1
        index = "[" + ", ".join(map(str, p.index)) + "]"
        assert f"{p.where}{index}" in p.message and f"{p.where}{index}" in p.message_ko


def test_mutations_say_what_changed():
    relu = check_layer(notes_cells.InPlaceRelu).problem("mutates-dout")
    assert relu.where == "dout" and "3 of 6 elements" in relu.message and "→ 0" in relu.message
    clamp = check_layer(wrong.ClampingRelu).problem("mutates-input")
    assert clamp.where == "x" and "x.copy()" in clamp.message


def test_missing_parameter_gradient_names_the_attribute():
    problem = check_layer(wrong.AffineWithoutDb).problem("missing-gradient")
    assert problem.where == "b" and "self.db" in problem.message


def test_accumulating_gradients_are_stale_state_after_two_backward_calls():
    problem = check_layer(wrong.AccumulatingAffine).problem("stale-state")
    assert "twice" in problem.message and "self.dW +=" in problem.message


def test_first_call_only_state_is_named():
    problem = check_layer(wrong.FirstCallMulLayer).problem("stale-state")
    assert "forward(a) then forward(b)" in problem.message


def test_unstable_softmax_hints_at_the_max():
    problem = check_layer(wrong.NaiveSoftmaxWithLoss).problem("unstable")
    assert "nan" in problem.message and "max" in problem.message and "최댓값" in problem.message_ko


# -- the notes' three buggy cells --------------------------------------------------------------------
def test_notes_maks_relu():
    report = check_layer(notes_cells.Relu)
    assert report.codes == ["forward-error"]
    problem = report.problems[0]
    assert "self.maks — did you mean self.mask?" in problem.message
    assert "out[self.maks] = 0" in problem.message  # the line it happened on
    assert "self.mask의 오타" in problem.message_ko


def test_notes_in_place_relu():
    report = check_layer(notes_cells.InPlaceRelu)
    assert report.codes == ["mutates-dout"]
    assert "dout" in report.problems[0].message and "dout.copy()" in report.problems[0].message


def test_notes_softmax_without_self():
    report = check_layer(notes_cells.SoftmaxWithLoss)
    assert report.codes == ["forward-error"]
    message = report.problems[0].message
    assert "softmax(x) has no self" in message and "def softmax(self, x)" in message
    assert "self가 없어서" in report.problems[0].message_ko


def test_notes_softmax_once_self_is_added_names_the_exp_x_sum_typo():
    class Fixed(notes_cells.SoftmaxWithLoss):
        def softmax(self, x):  # self added; the note's other typo stays
            max_x = np.max(x)
            exp_x = np.exp(x - max_x)
            exp_X_sum = np.sum(exp_x)  # noqa: F841
            return exp_x / exp_x_sum  # noqa: F821

    message = check_layer(Fixed).problem("forward-error").message
    assert "exp_x_sum — did you mean exp_X_sum?" in message


# -- right layers pass -------------------------------------------------------------------------------
@pytest.mark.parametrize("cls", classes_of(right), ids=lambda c: c.__name__)
def test_correct_book_style_layers_pass(cls):
    report = check_layer(cls)
    assert report.ok, str(report)
    assert report.gradients and all(g.rel_error < doctor.TOLERANCE for g in report.gradients)


def test_layerprop_layers_pass_built_from_their_classes():
    from layerprop import AddLayer, Affine, MulLayer, Relu, Sigmoid, SoftmaxWithLoss, Tanh

    for cls in (AddLayer, Affine, MulLayer, Relu, Sigmoid, SoftmaxWithLoss, Tanh):
        report = check_layer(cls)
        assert report.ok and not report.notes, str(report)


def test_the_book_loss_that_ignores_dout_passes_with_a_note():
    class BookSoftmaxWithLoss(right.SoftmaxWithLoss):
        def backward(self, dout=1):
            return (self.y - self.t) / self.t.shape[0]  # the book's: dout is not used

    report = check_layer(BookSoftmaxWithLoss)
    assert report.ok and [n.code for n in report.notes] == ["ignores-dout"]


# -- notes do not make a report fail ------------------------------------------------------------------
def test_notes_leave_ok_true():
    class Float64Sigmoid(right.Sigmoid):
        def forward(self, x):
            return super().forward(np.asarray(x, dtype=np.float64))

    class AliasingAdd:
        def forward(self, x, y):
            return x + y

        def backward(self, dout):
            return dout, dout

    from layerprop import Dropout, Relu

    cases = {
        "dtype-change": check_layer(Float64Sigmoid),
        "warning": check_layer(right.Sigmoid),  # exp(1000) overflows, the result is still 0
        "returns-dout": check_layer(AliasingAdd),
        "kink": check_layer(Relu(), np.array([[0.0, 1.0], [-1.0, 2.0]])),
        "not-deterministic": check_layer(Dropout(0.5)),
    }
    for code, report in cases.items():
        assert report.ok, (code, str(report))
        assert code in [n.code for n in report.notes], (code, str(report))
        note = next(n for n in report.notes if n.code == code)
        assert note.message and note.message_ko


def test_a_relu_at_its_kink_is_not_called_wrong():
    from layerprop import Relu

    report = check_layer(Relu(), np.array([0.0, 0.0, 1.5, -2.0]))
    assert report.ok and report.gradients[0].kinks == 2


# -- the interface ---------------------------------------------------------------------------------------
def test_the_notes_apple_example_with_python_numbers():
    report = check_layer(right.MulLayer(), 100, 2)
    assert report.ok and report.inputs == "x = 100, y = 2"
    assert report.called == "forward(x, y) → backward(dout) → (dx, dy)"


def test_a_built_affine_and_the_inputs_it_gets():
    report = check_layer(right.Affine)
    assert report.called.startswith("Affine(W (4, 3), b (3,))")
    assert "dW, db" in report.called and report.inputs == "x (2, 4)"
    assert [g.name for g in report.gradients] == ["x", "W", "b"]
    sized = check_layer(right.Affine, np.ones((5, 7)))
    assert sized.ok and sized.called.startswith("Affine(W (7, 3), b (3,))")


def test_a_loss_gets_one_hot_targets_and_backward_of_one():
    report = check_layer(right.SoftmaxWithLoss)
    assert report.inputs == "x (3, 4), t one-hot (3, 4)"
    assert report.called == "SoftmaxWithLoss(): forward(x, t) → backward(1) → dx"
    labels = check_layer(right.SoftmaxWithLoss(), np.zeros((2, 3)), np.eye(3)[[0, 2]])
    assert labels.ok


def test_input_names_come_from_the_layers_own_forward():
    class Product:
        def forward(self, a, c):
            self.a, self.c = a, c
            return a * c

        def backward(self, dout):
            return dout * self.c, dout * self.a

    report = check_layer(Product)
    assert report.ok and [g.name for g in report.gradients] == ["a", "c"]


def test_a_log_layer_gets_positive_inputs():
    class Log:
        def forward(self, x):
            self.x = x
            return np.log(x)

        def backward(self, dout):
            return dout / self.x

    assert check_layer(Log).ok


def test_the_doctor_never_raises_on_a_layer():
    class ExitingForward:
        def forward(self, x):
            sys.exit(3)

        def backward(self, dout):
            return dout

    class StringForward:
        def forward(self, x):
            return "out"

        def backward(self, dout):
            return dout

    class TupleBackward:
        def forward(self, x):
            return x * 2

        def backward(self, dout):
            return dout * 2, dout * 2, dout

    class ObjectGradient:
        def forward(self, x):
            return x * 2

        def backward(self, dout):
            return object()

    for cls, code in (
        (ExitingForward, "forward-error"),
        (StringForward, "no-output"),
        (TupleBackward, "wrong-shape"),
        (ObjectGradient, "wrong-shape"),
        (42, "not-a-layer"),
        (object(), "not-a-layer"),
    ):
        report = check_layer(cls)
        assert not report.ok and report.codes[0] == code, (cls, str(report))


def test_a_bad_language_is_the_callers_error():
    with pytest.raises(ValueError, match="lang"):
        check_layer(right.Relu, lang="fr")


# -- the report ------------------------------------------------------------------------------------------
def test_report_table_html_and_dict():
    report = check_layer(wrong.SameSideMulLayer, lang="ko")
    text = str(report)
    assert text.startswith("SameSideMulLayer: ✗ 문제 2개") and "상대 오차" in text and "wrong-gradient" in text
    assert "problems" in report.text("en") and "dx" in report.text("en")
    html = report._repr_html_()
    assert 'data-ok="false"' in html and "wrong-gradient" in html and "<table" in html
    data = json.loads(json.dumps(report.to_dict()))
    assert data["layer"] == "SameSideMulLayer" and data["ok"] is False
    assert {"code", "message", "message_ko", "where", "index", "analytic", "numerical", "rel_error"} <= set(
        data["problems"][0]
    )
    ok = check_layer(right.Relu)
    assert str(ok).startswith("Relu: ✓ ok") and ok.summary() == "ok" and 'data-ok="true"' in ok._repr_html_()


def test_every_message_exists_in_both_languages():
    from layerprop.doctor.messages import MESSAGES, NOTE_CODES, WORDS

    for table in (MESSAGES, WORDS, PROBLEM_CODES, NOTE_CODES):
        for key, pair in table.items():
            assert len(pair) == 2 and all(pair), key
            assert any("\uac00" <= ch <= "\ud7a3" for ch in pair[1]) or pair[0] == pair[1] or "{" in pair[1], key


# -- graphs of a learner's layers ---------------------------------------------------------------------------
class Exp:
    def forward(self, x):
        self.out = np.exp(x)
        return self.out

    def backward(self, dout):
        return dout * self.out


class Reciprocal:  # the notes' '/' node: y = 1/x
    def forward(self, x):
        self.out = 1 / x
        return self.out

    def backward(self, dout):
        return dout * (-(self.out**2))


class WrongReciprocal(Reciprocal):
    def backward(self, dout):
        return dout * self.out**2  # the minus sign forgotten


def sigmoid_graph(reciprocal):
    """The notes' sigmoid from four nodes: ×(−1), exp, +1, / — each a learner's layer."""
    x = Variable(np.array([[0.5, -1.0], [2.0, -0.3]]), name="x")
    minus_x = apply(right.MulLayer(), x, -1.0)
    e = apply(Exp(), minus_x)
    denominator = apply(right.AddLayer(), e, 1.0)
    y = apply(reciprocal, denominator)
    y.name = "y"
    return x, y


def test_apply_runs_parameter_free_learner_layers_through_backward():
    x, y = sigmoid_graph(Reciprocal())
    y.backward()
    s = 1 / (1 + np.exp(-x.data))
    np.testing.assert_allclose(y.data, s)
    np.testing.assert_allclose(x.grad, s * (1 - s))


def test_apply_with_a_learners_parameters_by_the_books_names():
    rng = np.random.default_rng(0)
    x = Variable(rng.standard_normal((2, 4)), name="x")
    for layer_class in (right.Affine, right.ParamsDictAffine):
        W, b = Variable(rng.standard_normal((4, 3)), name="W"), Variable(rng.standard_normal(3), name="b")
        out = apply(layer_class(W.data, b.data), x, params={"W": W, "b": b})
        out.backward(np.ones((2, 3)))
        np.testing.assert_allclose(W.grad, x.data.T @ np.ones((2, 3)))
        np.testing.assert_allclose(b.grad, [2.0, 2.0, 2.0])
        x.cleargrad()


def test_apply_names_a_forward_that_returns_none():
    with pytest.raises(TypeError, match="NoReturnSigmoid.forward returned None"):
        apply(wrong.NoReturnSigmoid(), Variable(np.ones(2)))


def test_check_graph_gives_one_verdict_per_node():
    _, y = sigmoid_graph(WrongReciprocal())
    y.backward()
    verdicts = check_graph(y)
    assert len(verdicts) == 4 and not verdicts.ok
    assert [v.label for v in verdicts] == ["MulLayer", "Exp", "AddLayer", "WrongReciprocal"]
    assert [v.ok for v in verdicts] == [True, True, True, False]
    wrong_node = verdicts.wrong[0]
    assert wrong_node.report.codes == ["wrong-gradient"] and wrong_node.rel_error > 1
    assert wrong_node.mark().startswith("✗ rel. error") and verdicts[0].mark() == "✓"
    assert verdicts.verdict_for(y.creator) is wrong_node
    assert "nodes: 4, with problems: 1" in str(verdicts)
    assert json.loads(json.dumps(verdicts.to_dict()))["ok"] is False


def test_check_graph_uses_each_nodes_own_inputs_and_changes_nothing():
    class PassThroughRelu:  # right only where every x is positive
        def forward(self, x):
            self.x = x
            return np.maximum(x, 0)

        def backward(self, dout):
            return dout * 1

    positive = Variable(np.array([1.0, 2.0]), name="x")
    assert check_graph(apply(PassThroughRelu(), positive)).ok
    mixed = Variable(np.array([-1.0, 2.0]), name="x")
    out = apply(PassThroughRelu(), mixed)
    out.backward()
    before = mixed.grad.copy()
    verdict = check_graph(out)[0]
    assert not verdict.ok and verdict.report.inputs == "x (2,)"
    assert out.creator.layer.x is mixed.data  # the recorded layer was not touched
    mixed.cleargrad()
    out.cleargrad()
    out.backward()
    np.testing.assert_array_equal(mixed.grad, before)


def test_check_graph_of_layerprop_layers_with_labels():
    from layerprop import graph

    rng = np.random.default_rng(1)
    x = Variable(rng.standard_normal((3, 4)), name="x")
    W, b = Variable(rng.standard_normal((4, 5)), name="W"), Variable(np.zeros(5), name="b")
    loss = graph.softmax_cross_entropy(graph.relu(graph.affine(x, W, b)), np.array([0, 4, 2]))
    verdicts = check_graph(loss)
    assert verdicts.ok and [v.report.layer for v in verdicts] == ["Affine", "Relu", "SoftmaxWithLoss"]


def test_check_graph_wants_a_variable():
    with pytest.raises(TypeError, match="check_graph"):
        check_graph(np.ones(3))


# -- the drawings mark the verdicts ----------------------------------------------------------------------
def checked_sigmoid():
    _, y = sigmoid_graph(WrongReciprocal())
    y.backward()
    return y


def test_dot_marks_the_wrong_node_red_and_the_right_ones_with_a_check():
    from layerprop import viz

    dot = viz.to_dot(checked_sigmoid(), check=True)
    wrong_line = next(line for line in dot.splitlines() if 'label="WrongReciprocal"' in line)
    assert 'color="#c62828"' in wrong_line and "✗ rel. error" in wrong_line and "wrong-gradient" in wrong_line
    right_line = next(line for line in dot.splitlines() if 'label="Exp"' in line)
    assert "✓" in right_line and "#c62828" not in right_line
    assert "doctor:" in dot
    assert "✓" not in viz.to_dot(checked_sigmoid())  # only when asked


def test_inline_svg_and_html_page_carry_the_verdicts():
    from layerprop import viz

    y = checked_sigmoid()
    svg = viz.to_inline_svg(y, check=True)
    assert svg.count('data-verdict="right"') == 3 and svg.count('data-verdict="wrong"') == 1
    assert 'class="verdict wrong"' in svg and "✗ rel. error" in svg
    page = viz.to_html(y, check=True)
    steps = json.loads(page.split('id="layerprop-steps">', 1)[1].split("</script>", 1)[0])["steps"]
    verdicts = [step["verdict"] for step in steps if step["phase"] == "forward"]
    assert verdicts[0] == "doctor: ✓ ok" and verdicts[-1].startswith("doctor: ✗ rel. error")
    assert "wrong-gradient" in verdicts[-1] and 'id="step-verdict"' in page


def test_render_with_check_writes_the_marks(tmp_path):
    from layerprop import viz

    path = viz.render(checked_sigmoid(), tmp_path / "sigmoid.dot", check=True)
    assert "✗ rel. error" in path.read_text(encoding="utf-8")


def test_a_networks_drawing_can_be_checked():
    from layerprop import viz
    from layerprop.nets import TwoLayerNet

    model = viz.build_model(TwoLayerNet(4, 3, 2, seed=0), check=True)
    ops = model.ops
    assert ops and all(node.verdict is not None and node.verdict.ok for node in ops)


def test_graph_check_displays_as_the_marked_drawing_in_a_notebook():
    import layerprop.viz  # noqa: F401 - attaches the notebook display (as importing layerprop in IPython does)

    html = check_graph(checked_sigmoid())._repr_html_()
    assert "<svg" in html and 'data-verdict="wrong"' in html and "<table>" in html
