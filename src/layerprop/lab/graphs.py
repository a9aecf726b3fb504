"""What the graph page computes: a graph from an expression or a preset, its drawing and its check.

:func:`evaluate` takes the page's request — ``{"expr": …, "values": {name: number}}`` or
``{"preset": …, "values": …}`` — records the graph with :mod:`layerprop.graph`, runs ``backward``
and answers with everything the page shows: the SVG drawing (:mod:`layerprop.viz.svg`), the inputs
with their values and gradients, the steps of the stepper and each node's rules in English and
Korean, and the branch sums (``x.grad = 2 + 2 + 3 = 7``). :func:`check` compares each input's
gradient with the numerical one (:func:`layerprop.gradcheck.check_graph`).

Several expressions separated by ``;`` are drawn side by side, each with its own inputs (the
sigmoid preset draws the notes' four nodes beside the fused layer, both at the same x). An
expression may name its output: ``price = (apple*n + orange*m)*tax`` calls it ``price`` (else it is
``out``). A request may give the ``width`` of the page's drawing box (CSS pixels): a wider
drawing is laid out in rows that fit it (:func:`layerprop.viz.layout.layout`).
Every request is held to :data:`~layerprop.lab.limits.LIMITS`; every mistake in one raises an
error with a Korean wording (``message_ko``) too.
"""

from __future__ import annotations

import numpy as np

from ..graph.expression import Binary, Call, Unary, parse_expression
from ..viz.layout import layout
from ..viz.model import OP, backward_rule_of, build_model, forward_rule_of
from ..viz.steps import build_steps
from ..viz.svg import svg_markup
from ..viz.values import describe_value
from .limits import LIMITS, LabLimitError, check_limit
from .names import layer_titles

#: the presets: expression(s) and starting values (the notes' graphs)
PRESETS = {
    "apple": ("price = apple * apple_num * tax", {"apple": 100, "apple_num": 2, "tax": 1.1}),
    "apple-orange": (
        "price = (apple * apple_num + orange * orange_num) * tax",
        {"apple": 100, "apple_num": 2, "orange": 150, "orange_num": 3, "tax": 1.1},
    ),
    "sigmoid": ("y = 1 / (1 + exp(-1 * x)); y = sigmoid(x)", {"x": 2.0}),
    "branch": ("y = x * x + 3 * x", {"x": 2.0}),
    "two-layer-net": (None, {}),
}

#: slider range of an input: value ± max(|value|, 1) · SLIDER_SPAN
SLIDER_SPAN = 2.0
#: the page shows the drawing this much larger than its layout units ...
SCALE = 1.25
#: ... or less, down to this, when that lets it fit the box in one piece (the text stays 13-16 px);
#: a drawing wider than that is laid out in rows at this scale
MIN_SCALE = 1.0
#: the narrowest drawing box a request may ask the layout to fit (CSS pixels)
MIN_WIDTH = 240


def _depth(tree) -> int:
    """Nesting depth of a parsed expression (iterative: a deep tree cannot exhaust the stack)."""
    deepest, stack = 0, [(tree, 1)]
    while stack:
        node, depth = stack.pop()
        deepest = max(deepest, depth)
        if isinstance(node, Unary):
            stack.append((node.operand, depth + 1))
        elif isinstance(node, Binary):
            stack.extend([(node.left, depth + 1), (node.right, depth + 1)])
        elif isinstance(node, Call):
            stack.append((node.argument, depth + 1))
    return deepest


def parse_all(text: str) -> list:
    """The ``;``-separated expressions of ``text``, parsed and held to the limits."""
    if not isinstance(text, str) or not text.strip():
        raise LabLimitError("type an expression, e.g. (a*b + c*d)*t", "수식을 입력하세요. 예: (a*b + c*d)*t")
    check_limit("expression_length", len(text), "expression length (characters)")
    expressions, seen = [], set()
    for part in text.split(";"):
        if part.strip():
            if part.strip() in seen:
                raise LabLimitError(
                    f"the expression {part.strip()!r} is given twice; separate different expressions with ';'",
                    f"수식 {part.strip()!r}이(가) 두 번 나옵니다. ';'는 서로 다른 수식을 나눌 때 쓰세요",
                )
            seen.add(part.strip())
            expression = parse_expression(part.strip())
            check_limit("expression_depth", _depth(expression.tree), f"nesting depth of {part.strip()!r}")
            expressions.append(expression)
    names = {name for e in expressions for name in e.names}
    check_limit("expression_names", len(names), "number of inputs")
    return expressions


def _number(name: str, value) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not np.isfinite(value):
        raise LabLimitError(
            f"the value of {name} must be a finite number, got {value!r}",
            f"{name}의 값은 유한한 숫자여야 합니다 (받은 값: {value!r})",
        )
    return float(value)


def record(expressions, values: dict):
    """Build every expression with ``values``; return ``({title: output}, [(name, Variable), …])``."""
    outputs, inputs = {}, []
    for expression in expressions:
        chosen = {name: _number(name, values.get(name, 1.0)) for name in expression.names}
        out = expression.build(chosen, output_name="out" if len(expressions) == 1 else "y")
        outputs[expression.text] = out
        for node in out.nodes():
            for var in node.inputs:
                if var.requires_grad and var.name and all(n != var.name for n, _ in inputs):
                    inputs.append((var.name, var))
    check_limit("expression_nodes", sum(len(out.nodes()) for out in outputs.values()), "operations in the graph")
    for out in outputs.values():
        out.backward()
    return outputs, inputs


def _two_layer_net(values: dict):
    """The notes' two-layer network (3 → 4 → 2) with tensors from ``values`` where given."""
    from ..viz.examples import two_layer_net_inputs, two_layer_net_model

    tensors = two_layer_net_inputs()
    for name, array in tensors.items():
        if name in values:
            given = np.asarray(values[name], dtype=np.float64)
            check_limit("tensor_elements", given.size, f"elements of {name}")
            if given.shape != array.shape or not np.all(np.isfinite(given)):
                raise LabLimitError(
                    f"{name} must be finite numbers of shape {array.shape}, got shape {given.shape}",
                    f"{name}은(는) 모양이 {array.shape}인 유한한 숫자여야 하는데 모양이 {given.shape}입니다",
                )
            tensors[name] = given
    model = two_layer_net_model(tensors)
    titles = layer_titles([(n.id, n.layer) for n in model.ops])
    for node in model.ops:  # "Affine 1", "ReLU 1", … as on the train page
        node.label = titles[node.id]
    return model, tensors


def _node_rules(model) -> dict:
    return {
        n.id: {
            "label": n.label,
            "layer": n.layer_name,
            "forward": {"en": forward_rule_of(n.layer, "en"), "ko": forward_rule_of(n.layer, "ko")},
            "backward": {"en": backward_rule_of(n.layer, "en"), "ko": backward_rule_of(n.layer, "ko")},
        }
        for n in model.nodes
        if n.kind == OP
    }


def _scalar(x) -> float | None:
    """A scalar value as a float (None for a tensor, inf or NaN: JSON has neither)."""
    return _finite(x) if np.ndim(x) == 0 else None


def _finite(x) -> float | None:
    """``x`` as a float, or None (JSON has no inf or NaN)."""
    x = float(x)
    return x if np.isfinite(x) else None


def _slider(value: float) -> dict:
    span = max(abs(value), 1.0) * SLIDER_SPAN
    return {"min": value - span, "max": value + span, "step": span / 200}


def _values(request: dict) -> dict:
    """The request's ``values``: an object {name: number or tensor}."""
    values = request.get("values") or {}
    if not isinstance(values, dict):
        raise LabLimitError(
            f"values must be an object {{name: number}}, got {type(values).__name__}",
            f"values는 {{이름: 숫자}} 꼴이어야 하는데 {type(values).__name__}입니다",
        )
    return values


def evaluate(request: dict) -> dict:
    """The graph page's answer to one request (see the module docstring)."""
    values = _values(request)
    with np.errstate(all="ignore"):  # exp(1000) is inf: shown as such, not warned about
        return _evaluate(request, values)


def _evaluate(request: dict, values: dict) -> dict:
    preset = request.get("preset")
    if preset == "two-layer-net":
        model, tensors = _two_layer_net(values)
        inputs = [
            {
                "name": name,
                "value": array.tolist(),
                "shape": list(array.shape),
                "grad": describe_value(_grad_of(model, name)),
                "tensor": True,
            }
            for name, array in tensors.items()
        ]
        text = None
    else:
        text, values = expression_of(request, values)
        outputs, variables = record(parse_all(text), values)
        model = build_model(drawn(outputs), title=None)
        inputs = scalar_inputs(variables)
    return answer(model, inputs, text, preset, request)


def expression_of(request: dict, values: dict) -> tuple:
    """``(expression text, values)`` of a request: its ``expr``, or a preset's with its starting values."""
    preset, text = request.get("preset"), request.get("expr")
    if preset is not None:
        if preset not in PRESETS:
            raise LabLimitError(
                f"unknown preset {preset!r}; choose one of {', '.join(PRESETS)}",
                f"모르는 예제 {preset!r}: {', '.join(PRESETS)} 중에서 고르세요",
            )
        text, defaults = PRESETS[preset]
        values = {**defaults, **values}
    return text, values


def drawn(outputs: dict):
    """What is drawn of ``{title: output}``: the one output, or all of them side by side."""
    return outputs if len(outputs) > 1 else next(iter(outputs.values()))


def scalar_inputs(variables) -> list:
    """The page's input rows (value, gradient, slider range) of ``[(name, Variable), …]``."""
    inputs = []
    for name, var in variables:
        value = float(var.data)
        grad = float(var.grad)
        inputs.append(
            {
                "name": name,
                "value": value,
                "shape": [],
                "grad": describe_value(grad),
                "grad_value": grad if np.isfinite(grad) else None,
                "tensor": False,
                **_slider(value),
            }
        )
    return inputs


def answer(model, inputs: list, text, preset, request: dict | None = None) -> dict:
    """Everything the graph page shows of ``model``: drawing, inputs, outputs, sums, rules, steps; the
    drawing laid out to fit the request's ``width`` (see :func:`_fit`)."""
    request = request or {}
    sums = model.branch_sums()
    outputs_text = [
        {"name": model.node(e.target).label, "value": e.value_text, "number": _scalar(e.value)}
        for e in model.edges
        if model.node(e.target).kind == "output"
    ]
    return {
        "expr": text,
        "preset": preset,
        "svg": svg_markup(model, reveal=False, element_id=_element_id(request), **_fit(model, request)),
        "inputs": inputs,
        "outputs": outputs_text,
        "branch_sums": [{"node": b.node, "name": b.name, "text": b.text} for b in sums],
        "rules": _node_rules(model),
        "steps": {"en": build_steps(model, "en"), "ko": build_steps(model, "ko")},
        "limits": LIMITS,
    }


def _fit(model, request: dict) -> dict:
    """The scale and the layout width (layout units) that fit ``model`` into the page's drawing box:
    as large as :data:`SCALE` in one piece, or smaller down to :data:`MIN_SCALE`, or in rows at that."""
    width = request.get("width")
    if isinstance(width, bool) or not isinstance(width, (int, float)) or not np.isfinite(width):
        return {"scale": SCALE, "max_width": None}
    width = max(float(width), MIN_WIDTH)
    natural = layout(model).width
    if natural * MIN_SCALE <= width:
        return {"scale": min(SCALE, width / natural), "max_width": None}
    return {"scale": MIN_SCALE, "max_width": width / MIN_SCALE}


def _element_id(request: dict) -> str:
    """The drawing's id (the notebook widgets give each drawing its own, since one page holds several)."""
    given = request.get("element_id")
    return given if isinstance(given, str) and given.replace("-", "").isalnum() and len(given) <= 40 else "lab-graph"


def _grad_of(model, name: str):
    edges = [e for e in model.edges if model.node(e.source).label == name and e.grad is not None]
    if not edges:
        return np.zeros(0)
    total = np.asarray(edges[0].grad, dtype=np.float64)
    for edge in edges[1:]:
        total = total + edge.grad
    return total


def check(request: dict) -> dict:
    """Numerical gradient of every input against backprop: ``{"inputs": [{name, rel_error, ok, …}]}``.

    For an expression, each input's d output / d input by central differences (h = 1e-4, float64)
    against ``backward``; for the network, :func:`~layerprop.gradcheck.check_network`. ``ok`` means a
    relative error below 1e-6.
    """
    with np.errstate(all="ignore"):
        return _check(request)


def _check(request: dict) -> dict:
    from ..gradcheck import check_network, compare_gradients, numerical_gradient

    values = _values(request)
    if request.get("preset") == "two-layer-net":
        from ..viz.examples import two_layer_net_network

        _, tensors = _two_layer_net(values)
        net, x, t = two_layer_net_network(tensors)
        report = check_network(net, x, t)
        rows = list(report.rows)
    else:
        text = request.get("expr")
        if request.get("preset") in PRESETS:
            text, defaults = PRESETS[request["preset"]]
            values = {**defaults, **values}
        from ..graph import Variable, no_grad

        rows = []
        for expression in parse_all(text):
            chosen = {name: _number(name, values.get(name, 1.0)) for name in expression.names}
            variables = {name: Variable(np.float64(chosen[name]), name=name) for name in expression.names}
            expression.build_from(variables).backward()

            def output(_=None, expression=expression, variables=variables):
                with no_grad():
                    return float(expression.build_from(variables).data)

            for name, var in variables.items():  # d output / d input, numerically and by backprop
                rows.append(compare_gradients(name, var.grad, numerical_gradient(output, var.data)))
    return {
        "inputs": [
            {
                "name": row.name,
                "rel_error": _finite(row.rel_error),
                "abs_error": _finite(row.max_abs_error),
                "ok": bool(row.rel_error < 1e-6),
                "numeric": describe_value(row.numeric),
                "backprop": describe_value(row.analytic),
            }
            for row in rows
        ]
    }
