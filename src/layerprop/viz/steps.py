"""The walk through a graph that the HTML page plays: forward node by node, then backward.

Step 0 shows the inputs' values. Then one step per operation in forward (topological) order: the
node is highlighted, its rule is shown with the actual numbers, and its output's value appears on
the outgoing edges. If ``backward`` has run, one step seeds the output's gradient (1), and one step
per operation in reverse order shows the node's ``backward_rule`` with ``dout`` and the gradients it
sends to each input, which then appear under those edges.

Each step is a plain dict (JSON for the page): ``phase`` ('start', 'forward', 'seed', 'backward'),
``node`` (id or None), ``heading``, ``rule``, ``numbers`` (the rule's numbers as text), the
edge ids whose ``values``/``grads`` this step reveals, and for an operation of a drawing made with
``check=True`` the doctor's ``verdict`` on its layer (otherwise ''). A last step (phase 'sum', with the ``sums``
it reveals: node ids) shows each value used more than once with the sum that forms its gradient.
"""

from __future__ import annotations

from .model import CONSTANT, INPUT, OUTPUT, PARAM, backward_rule_of, forward_rule_of

#: the words of the steps, in each language the layers state their rules in
WORDS = {
    "en": {
        "inputs": "Inputs",
        "inputs_rule": "The inputs enter from the left; press → (or Next) to run the forward pass node by node.",
        "forward": "Forward {i} of {n}",
        "node": "{label} node ({layer})",
        "seed": "Backward starts",
        "seed_rule": "The gradient of the output with respect to itself is 1: it enters from the right.",
        "backward": "Backward {i} of {n}",
        "sums": "Branch sums",
        "sums_rule": "A value used more than once receives the sum of the gradients of its uses.",
        "doctor": "doctor",
    },
    "ko": {
        "inputs": "입력",
        "inputs_rule": "입력이 왼쪽에서 들어옵니다. → (또는 다음)을 누르면 순전파가 노드 하나씩 진행됩니다.",
        "forward": "순전파 {i} / {n}",
        "node": "{label} 노드 ({layer})",
        "seed": "역전파 시작",
        "seed_rule": "출력을 출력 자신으로 미분하면 1: 오른쪽에서 1이 들어옵니다.",
        "backward": "역전파 {i} / {n}",
        "sums": "분기 노드의 합",
        "sums_rule": "여러 번 쓰인 값은 쓰인 곳마다 돌아온 기울기를 모두 더한 값을 기울기로 받습니다.",
        "doctor": "닥터",
    },
}


def _who(edge, model) -> str:
    """Who an edge feeds or comes from, for the step text: a Variable's name if it has one."""
    if edge.name:
        return edge.name
    source = model.node(edge.source)
    return source.label if source.kind in (INPUT, PARAM) else ""


def verdict_text(node, language: str = "en") -> str:
    """``doctor: ✓ ok`` or ``doctor: ✗ rel. error 0.52 — wrong-gradient: dx is wrong: …`` for a
    checked op node ('' when the drawing was not checked)."""
    verdict = getattr(node, "verdict", None)
    if verdict is None:
        return ""
    head = f"{WORDS[language]['doctor']}: {verdict.mark(language)}"
    if verdict.ok:
        return f"{head} {verdict.report.verdict(language)}"
    first = verdict.problems[0]
    return f"{head} — {first.code}: {first.text(language)}"


def build_steps(model, language: str = "en") -> list:
    """The list of steps (see the module docstring), worded in ``language`` ('en' or 'ko')."""
    if language not in WORDS:
        raise ValueError(f"build_steps: language must be one of {', '.join(WORDS)}, got {language!r}")
    words = WORDS[language]
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
            "heading": words["inputs"],
            "rule": words["inputs_rule"],
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
        rule = words["node"].format(label=node.label, layer=node.layer_name)
        forward_rule = forward_rule_of(node.layer, language) if node.layer is not None else node.forward_rule
        if forward_rule:
            rule += f": {forward_rule}"
        steps.append(
            {
                "phase": "forward",
                "node": node.id,
                "heading": words["forward"].format(i=i + 1, n=len(ops)),
                "rule": rule,
                "numbers": f"{args} → {result}" if args else result,
                "values": [e.id for e in outs],
                "grads": [],
                "verdict": verdict_text(node, language),
            }
        )
    if not model.has_gradients:
        return steps
    sinks = [e for e in model.edges if model.node(e.target).kind == OUTPUT and e.grad_text is not None]
    steps.append(
        {
            "phase": "seed",
            "node": None,
            "heading": words["seed"],
            "rule": words["seed_rule"],
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
        rule = words["node"].format(label=node.label, layer=node.layer_name)
        backward_rule = backward_rule_of(node.layer, language) if node.layer is not None else node.rule
        if backward_rule:
            rule += f": {backward_rule}"
        steps.append(
            {
                "phase": "backward",
                "node": node.id,
                "heading": words["backward"].format(i=i + 1, n=len(backward_ops)),
                "rule": rule,
                "numbers": f"dout = {dout}" + (": " + ", ".join(sent) if sent else ""),
                "values": [],
                "grads": [e.id for e in ins if e.grad_text is not None],
                "verdict": verdict_text(node, language),
            }
        )
    sums = model.branch_sums()
    if sums:
        steps.append(
            {
                "phase": "sum",
                "node": None,
                "heading": words["sums"],
                "rule": words["sums_rule"],
                "numbers": "; ".join(branch.text for branch in sums),
                "values": [],
                "grads": [],
                "sums": [branch.node for branch in sums],
            }
        )
    return steps
