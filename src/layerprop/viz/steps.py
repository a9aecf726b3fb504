"""The walk through a graph that the HTML page plays: forward node by node, then backward.

Step 0 shows the inputs' values. Then one step per operation in forward (topological) order: the
node is highlighted, its rule is shown with the actual numbers, and its output's value appears on
the outgoing edges. If ``backward`` has run, one step seeds the output's gradient (1), and one step
per operation in reverse order shows the node's ``backward_rule`` with ``dout`` and the gradients it
sends to each input, which then appear under those edges.

Each step is a plain dict (JSON for the page): ``phase`` ('start', 'forward', 'seed', 'backward'),
``node`` (id or None), ``heading``, ``rule``, ``numbers`` (the rule's numbers as text), and the
edge ids whose ``values``/``grads`` this step reveals. A last step (phase 'sum', with the ``sums``
it reveals: node ids) shows each value used more than once with the sum that forms its gradient.
"""

from __future__ import annotations

from .model import CONSTANT, INPUT, OUTPUT, PARAM


def _who(edge, model) -> str:
    """Who an edge feeds or comes from, for the step text: a Variable's name if it has one."""
    if edge.name:
        return edge.name
    source = model.node(edge.source)
    return source.label if source.kind in (INPUT, PARAM) else ""


def build_steps(model) -> list:
    """The list of steps (see the module docstring)."""
    steps = []
    first_values = [e.id for e in model.edges if model.node(e.source).kind in (INPUT, PARAM, CONSTANT)]
    shown_inputs = []
    for e in model.edges:
        source = model.node(e.source)
        if source.kind in (INPUT, PARAM) and e.value_text and source.label not in [s[0] for s in shown_inputs]:
            shown_inputs.append((source.label, e.value_text))
    steps.append(
        {
            "phase": "start",
            "node": None,
            "heading": "Inputs",
            "rule": "The inputs enter from the left; press → (or Next) to run the forward pass node by node.",
            "numbers": ", ".join(f"{name} = {value}" for name, value in shown_inputs),
            "values": first_values,
            "grads": [],
        }
    )
    ops = model.ops
    for i, node in enumerate(ops):
        ins, outs = model.in_edges(node.id), model.out_edges(node.id)
        args = ", ".join(f"{e.role} = {e.value_text}" for e in ins)
        result = outs[0].value_text if outs else ""
        rule = f"{node.label} node ({node.layer_name})"
        if node.forward_rule:
            rule += f": {node.forward_rule}"
        steps.append(
            {
                "phase": "forward",
                "node": node.id,
                "heading": f"Forward {i + 1} of {len(ops)}",
                "rule": rule,
                "numbers": f"{args} → {result}" if args else result,
                "values": [e.id for e in outs],
                "grads": [],
            }
        )
    if not model.has_gradients:
        return steps
    sinks = [e for e in model.edges if model.node(e.target).kind == OUTPUT and e.grad_text is not None]
    steps.append(
        {
            "phase": "seed",
            "node": None,
            "heading": "Backward starts",
            "rule": "The gradient of the output with respect to itself is 1: it enters from the right.",
            "numbers": ", ".join(f"d{e.name or 'out'}/d{e.name or 'out'} = {e.grad_text}" for e in sinks),
            "values": [],
            "grads": [e.id for e in sinks],
        }
    )
    backward_ops = [n for n in reversed(ops) if any(e.grad_text is not None for e in model.out_edges(n.id))]
    for i, node in enumerate(backward_ops):
        ins, outs = model.in_edges(node.id), model.out_edges(node.id)
        douts = [e.grad_text for e in outs if e.grad_text is not None]
        dout = douts[0] if len(douts) == 1 else " + ".join(douts)
        sent = []
        for e in ins:
            if e.grad_text is None:
                continue
            who = _who(e, model)
            sent.append(f"d{e.role} = {e.grad_text}" + (f" (→ {who})" if who else ""))
        rule = f"{node.label} node ({node.layer_name})"
        if node.rule:
            rule += f": {node.rule}"
        steps.append(
            {
                "phase": "backward",
                "node": node.id,
                "heading": f"Backward {i + 1} of {len(backward_ops)}",
                "rule": rule,
                "numbers": f"dout = {dout}" + (": " + ", ".join(sent) if sent else ""),
                "values": [],
                "grads": [e.id for e in ins if e.grad_text is not None],
            }
        )
    sums = model.branch_sums()
    if sums:
        steps.append(
            {
                "phase": "sum",
                "node": None,
                "heading": "Branch sums",
                "rule": "A value used more than once receives the sum of the gradients of its uses.",
                "numbers": "; ".join(branch.text for branch in sums),
                "values": [],
                "grads": [],
                "sums": [branch.node for branch in sums],
            }
        )
    return steps
