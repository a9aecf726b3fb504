"""A neutral description of a drawn computational graph: nodes, edges, forward values, gradients.

Every output format (DOT in :mod:`.dot`, the step-through page in :mod:`.html`, the self-laid-out
SVG in :mod:`.svg`) is written from one :class:`GraphModel`, built by :func:`build_model` from

- a :class:`~layerprop.graph.Variable` (the output of recorded operations),
- several Variables (a list, or a dict ``{cluster title: Variable}``), drawn side by side,
- a network (anything with ``layers`` and ``last_layer``, e.g. ``TwoLayerNet``), whose forward
  pass is recorded layer by layer (see :func:`model_from_network`), or
- a :class:`GraphModel` (returned unchanged).

The picture follows the notes: **nodes** are the operations — the layers (``×``, ``+``, ``exp``,
``/``, ``Affine``, ``Relu``, ``SoftmaxWithLoss`` …) — and **edges** are the values flowing between
them. Inputs are small nodes labelled by their Variables' names, constants (Variables with
``requires_grad=False`` such as the 1 in ``1 + x``, and a layer's fixed arguments such as the labels
``t`` of a loss) are small nodes labelled by their value, and each output ends in a node labelled by
its name. Each edge carries its forward value and, once ``backward`` has run, its gradient.

Where does an edge's gradient come from? The gradient along the edge *into* a node is what that
node's own layer sends back: ``node.backward(dout)`` with ``dout`` the gradient of the node's
output (stored by ``Variable.backward``). Asking the layer again is what makes a branch readable:
when a value feeds two nodes, each edge shows its own share and the Variable's ``grad`` is their sum.
(Calling a layer's ``backward`` again only recomputes what it computed before, e.g. Affine's dW.)
"""

from __future__ import annotations

import copy
import dataclasses
from dataclasses import dataclass, field

import numpy as np

from .values import DEFAULT_DIGITS, describe_value

INPUT, PARAM, CONSTANT, OP, OUTPUT = "input", "param", "constant", "op", "output"
#: A network of more layers than this is drawn with its first and last :data:`DRAWN_AT_EACH_END`
#: layers and one node standing for the layers between them: a drawing of thousands of layers
#: cannot be read, and laying it out would take minutes.
MAX_DRAWN_LAYERS = 40
DRAWN_AT_EACH_END = 16


@dataclass
class DrawnNode:
    """One node of the drawing.

    ``kind``  'op' (a layer), 'input' (a Variable with a name), 'param' (a layer's parameter such
              as W1), 'constant' (a value that receives no gradient) or 'output' (where an output
              edge ends)
    ``label`` what is written in it: the layer's ``symbol``, the input's name, the constant's value
    ``layer`` the layer object (op nodes); ``rule`` and ``forward_rule`` its class's
              ``backward_rule`` and ``forward_rule``
    ``cluster`` index into :attr:`GraphModel.clusters`, or ``None``
    ``verdict`` with ``check=True``: the doctor's :class:`~layerprop.doctor.NodeVerdict` of an op
              node (``ok``, ``mark()`` — ``✓`` or ``✗ rel. error 0.5``, ``problems``)
    """

    id: str
    kind: str
    label: str
    layer: object = None
    layer_name: str = ""
    rule: str = ""
    forward_rule: str = ""
    cluster: int | None = None
    step: int | None = None  # forward position of an op node (0, 1, …)
    value: object = None  # a constant's value (its label is this value written out)
    verdict: object = None  # the doctor's NodeVerdict of an op node, when the drawing was checked


@dataclass
class DrawnEdge:
    """One edge: a value going from ``source`` to ``target`` (node ids).

    ``role``  the name the target's layer gives this input in its rules: 'x', 'y', 'W', 'b', 't', …
              ('out' for an edge into an output node)
    ``name``  the Variable's name, if it has one
    ``value``/``grad`` the arrays; ``value_text``/``grad_text`` how they are written (``grad_text``
              is ``None`` when there is no gradient: before backward, or for a constant)
    """

    id: str
    source: str
    target: str
    role: str
    name: str | None
    value: object
    grad: object
    value_text: str
    grad_text: str | None
    constant: bool = False


@dataclass
class BranchSum:
    """A value used more than once: its gradient is the sum of its edges' gradients.

    ``node`` the id of the node the value comes from; ``name`` the value's name; ``edges`` and
    ``shares`` the outgoing edges and their gradient texts; ``total`` the sum written out.
    """

    node: str
    name: str
    edges: list
    shares: list
    total: str

    @property
    def text(self) -> str:
        """``x.grad = 2 + 2 + 3 = 7`` (a negative share is subtracted: ``1 + 3 − 0.5 = 3.5``)."""
        terms = self.shares[0]
        for share in self.shares[1:]:
            terms += f" − {share[1:]}" if share.startswith("-") else f" + {share}"
        return f"{self.name}.grad = {terms} = {self.total}"


@dataclass
class GraphModel:
    """Nodes, edges and cluster titles of one drawing, plus ``title`` and the forward order of ops."""

    nodes: list = field(default_factory=list)
    edges: list = field(default_factory=list)
    clusters: list = field(default_factory=list)
    title: str | None = None
    digits: int = DEFAULT_DIGITS

    def node(self, node_id: str) -> DrawnNode:
        return self._by_id()[node_id]

    def _by_id(self):
        return {n.id: n for n in self.nodes}

    def in_edges(self, node_id: str) -> list:
        return [e for e in self.edges if e.target == node_id]

    def out_edges(self, node_id: str) -> list:
        return [e for e in self.edges if e.source == node_id]

    @property
    def ops(self) -> list:
        """The op nodes in forward (topological) order."""
        return sorted((n for n in self.nodes if n.kind == OP), key=lambda n: n.step)

    @property
    def checked(self) -> bool:
        """True when the doctor's verdicts are on the op nodes (``check=True``)."""
        return any(n.verdict is not None for n in self.nodes)

    @property
    def has_gradients(self) -> bool:
        return any(e.grad_text is not None for e in self.edges)

    def branch_sums(self) -> list:
        """Every value used more than once, with the sum that forms its gradient (the notes' branch node).

        A list of :class:`BranchSum` — e.g. for ``x*x + 3*x`` at x = 1: ``x.grad = 1 + 1 + 3 = 5``.
        The shares are the gradients on the value's outgoing edges (in drawing order); the total
        is their sum, which is what ``Variable.backward`` stores in ``grad``.
        """
        sums = []
        for node in self.nodes:
            if node.kind in (CONSTANT, OUTPUT):
                continue
            shares = [
                e for e in self.out_edges(node.id) if e.grad_text is not None and self.node(e.target).kind != OUTPUT
            ]
            if len(shares) < 2:
                continue
            total = shares[0].grad
            for edge in shares[1:]:
                total = np.asarray(total) + np.asarray(edge.grad)
            name = next((e.name for e in self.out_edges(node.id) if e.name), None) or node.label
            sums.append(
                BranchSum(
                    node.id,
                    name,
                    [e.id for e in shares],
                    [e.grad_text for e in shares],
                    describe_value(total, self.digits),
                )
            )
        return sums

    def find_edges(self, name: str) -> list:
        """Edges whose Variable is called ``name`` (handy in tests and notebooks)."""
        return [e for e in self.edges if e.name == name]


def forward_rule_of(layer, language: str = "en") -> str:
    """A layer's forward rule (e.g. ``out = x · y``), from its class attributes; '' if it has none."""
    rules = getattr(layer, "rules", None)
    return rules(language)[0] if rules else ""


def backward_rule_of(layer, language: str = "en") -> str:
    """A layer's backward rule (e.g. ``dx = dout·y, dy = dout·x``); '' if it has none."""
    rules = getattr(layer, "rules", None)
    return rules(language)[1] if rules else ""


def _roles(node) -> list:
    """Names of a node's inputs as its layer's rules call them: x, y … then the parameter keys."""
    n_data = len(node.inputs) - len(node.params)
    if n_data == 1:
        data = ["x"]
    elif n_data == 2:
        data = ["x", "y"]
    else:
        data = [f"x{i + 1}" for i in range(n_data)]
    return data + list(node.params)


def _constant_roles(node) -> list:
    count = len(node.constants)
    return ["t"] if count == 1 else [f"t{i + 1}" for i in range(count)]


class _Builder:
    def __init__(self, digits: int, verdicts=None):
        self.model = GraphModel(digits=digits)
        self.verdicts = verdicts or {}  # id(graph Node) → the doctor's verdict
        self.op_ids: dict = {}  # id(graph Node) → node id
        self.source_ids: dict = {}  # id(Variable) → node id of an input/param/constant
        self.node_clusters: dict = {}  # node id → set of cluster indices
        self.counter = {"n": 0, "in": 0, "c": 0, "out": 0, "e": 0}

    def new_id(self, prefix: str) -> str:
        number = self.counter[prefix]
        self.counter[prefix] += 1
        return f"{prefix}{number}"

    def text(self, value) -> str:
        return describe_value(value, self.model.digits)

    def add_targets(self, targets):
        from ..graph import Variable

        for cluster, var in targets:
            if not isinstance(var, Variable):
                raise TypeError(f"cannot draw a {type(var).__name__}: expected a Variable or a network")
            self.add_graph(var, cluster)
        # a node reached from several clusters is drawn outside them
        for node in self.model.nodes:
            clusters = self.node_clusters.get(node.id, set())
            node.cluster = next(iter(clusters)) if len(clusters) == 1 else None

    def mark(self, node_id: str, cluster):
        if cluster is not None:
            self.node_clusters.setdefault(node_id, set()).add(cluster)

    def source_of(self, var, cluster, param_names: dict) -> str:
        """Node id of what produces ``var``: its op node, or an input/param/constant node."""
        if var.creator is not None and id(var.creator) in self.op_ids:
            return self.op_ids[id(var.creator)]
        key = id(var)
        if key not in self.source_ids:
            if not var.requires_grad:
                node = DrawnNode(self.new_id("c"), CONSTANT, self.text(var.data), value=var.data)
            elif key in param_names:
                node = DrawnNode(self.new_id("in"), PARAM, var.name or param_names[key])
            else:
                node_id = self.new_id("in")
                node = DrawnNode(node_id, INPUT, var.name or node_id.replace("in", "input "))
            self.model.nodes.append(node)
            self.source_ids[key] = node.id
        self.mark(self.source_ids[key], cluster)
        return self.source_ids[key]

    def add_graph(self, output, cluster):
        graph_nodes = output.nodes()
        for gnode in graph_nodes:
            if id(gnode) in self.op_ids:  # shared with an output drawn before
                self.mark(self.op_ids[id(gnode)], cluster)
                for var in gnode.inputs:
                    if id(var) in self.source_ids:
                        self.mark(self.source_ids[id(var)], cluster)
                continue
            layer = gnode.layer
            node = DrawnNode(
                self.new_id("n"),
                OP,
                gnode.label,
                layer=layer,
                layer_name=type(layer).__name__,
                rule=backward_rule_of(layer),
                forward_rule=forward_rule_of(layer),
                step=len(self.op_ids),
                verdict=self.verdicts.get(id(gnode)),
            )
            self.model.nodes.append(node)
            self.mark(node.id, cluster)
            param_names = {id(v): k for k, v in gnode.params.items()}
            grads = self.input_gradients(gnode)
            for role, var, grad in zip(_roles(gnode), gnode.inputs, grads):
                source = self.source_of(var, cluster, param_names)
                wanted = var.requires_grad and grad is not None
                self.add_edge(
                    source, node.id, role, var.name, var.data, grad if wanted else None, constant=not var.requires_grad
                )
            for role, value in zip(_constant_roles(gnode), gnode.constants):
                const = DrawnNode(self.new_id("c"), CONSTANT, f"{role} = {self.text(value)}", value=value)
                self.model.nodes.append(const)
                self.mark(const.id, cluster)
                self.add_edge(const.id, node.id, role, None, value, None, constant=True)
            self.op_ids[id(gnode)] = node.id
        source = self.source_of(output, cluster, {})
        sink = DrawnNode(self.new_id("out"), OUTPUT, output.name or "out")
        self.model.nodes.append(sink)
        self.mark(sink.id, cluster)
        self.add_edge(source, sink.id, "out", output.name, output.data, output.grad)

    def add_edge(self, source, target, role, name, value, grad, constant=False):
        edge = DrawnEdge(
            id=self.new_id("e"),
            source=source,
            target=target,
            role=role,
            name=name,
            value=value,
            grad=grad,
            value_text=self.text(value),
            grad_text=None if grad is None else self.text(grad),
            constant=constant,
        )
        self.model.edges.append(edge)

    @staticmethod
    def input_gradients(gnode) -> list:
        """What the node's layer sends back to each input, given its output's stored gradient."""
        gy = gnode.output.grad
        if gy is None:
            return [None] * len(gnode.inputs)
        grads = [gx for _, gx in gnode.backward(gy.copy())]  # a copy: a learner's layer may write into dout
        return grads + [None] * (len(gnode.inputs) - len(grads))


def _targets(target) -> list:
    """Normalise what may be drawn into [(cluster title or None, Variable), …]."""
    if isinstance(target, dict):
        return list(target.items())
    if isinstance(target, (list, tuple)):
        return [(None, v) for v in target]
    return [(None, target)]


def is_network(obj) -> bool:
    """Duck test for a network: an ordered ``layers`` dict and a ``last_layer``."""
    return hasattr(obj, "layers") and hasattr(obj, "last_layer") and hasattr(obj.layers, "items")


def node_verdicts(targets, check) -> dict:
    """{id(graph Node): the doctor's verdict} for ``check``: True (run :func:`layerprop.doctor.check_graph`
    on each target), a :class:`~layerprop.doctor.GraphCheck` (or a list of them) already made, or False."""
    if check is False or check is None:
        return {}
    checks = check if isinstance(check, (list, tuple)) else [check]
    if check is True:
        from ..doctor import check_graph

        checks = [check_graph(var) for _, var in targets if getattr(var, "creator", None) is not None]
    return {id(verdict.node): verdict for graph_check in checks for verdict in graph_check}


def build_model(
    target, *, title: str | None = None, digits: int = DEFAULT_DIGITS, x=None, t=None, check=False
) -> GraphModel:
    """Describe ``target``'s computational graph (see the module docstring for what it may be).

    ``digits`` — significant digits of the numbers on the edges; ``x``, ``t`` — the batch to push
    through a network (default: a small fixed random batch, see :func:`model_from_network`);
    ``check`` — True to have :mod:`layerprop.doctor` examine every node's layer at its own input
    values (the drawings then mark a wrong node in red with its relative error, a right one with a
    check mark), or a :class:`~layerprop.doctor.GraphCheck` already made.
    """
    if isinstance(target, GraphModel):
        return _restyled(target, title, digits)
    if is_network(target):
        return model_from_network(target, x, t, title=title, digits=digits, check=check)
    targets = _targets(target)
    builder = _Builder(digits, node_verdicts(targets, check))
    titled = [(title_ is not None) for title_, _ in targets]
    if any(titled):
        builder.model.clusters = [str(title_) for title_, _ in targets]
        builder.add_targets([(i, var) for i, (_, var) in enumerate(targets)])
    else:
        builder.add_targets([(None, var) for _, var in targets])
    builder.model.title = title
    return builder.model


def _restyled(model: GraphModel, title, digits) -> GraphModel:
    """``model`` itself, or a copy with another title and its numbers rewritten with ``digits``."""
    if (title is None or title == model.title) and digits == model.digits:
        return model
    copy_ = dataclasses.replace(model, title=model.title if title is None else title, digits=digits)
    if digits != model.digits:
        copy_.nodes = [
            dataclasses.replace(n, label=_constant_label(n, describe_value(n.value, digits)))
            if n.kind == CONSTANT and n.value is not None
            else n
            for n in model.nodes
        ]
        copy_.edges = [
            dataclasses.replace(
                e,
                value_text=describe_value(e.value, digits),
                grad_text=None if e.grad_text is None else describe_value(e.grad, digits),
            )
            for e in model.edges
        ]
    return copy_


def _constant_label(node, text: str) -> str:
    """A constant's label with new digits, keeping its role name (``t = …``) when it has one."""
    head, sep, _ = node.label.partition(" = ")
    return f"{head} = {text}" if sep else text


def record_network(net, x=None, t=None):
    """Record one forward pass of ``net``'s layers and loss as a graph; run backward; return the loss.

    Each layer is recorded with :func:`layerprop.graph.apply` on the output of the one before —
    a layer with parameters (Affine) gets them as named Variables (``W1``, ``b1`` … from
    ``net.params``) through ``params=``, so their gradients come from the layer itself. The loss
    layer (``net.last_layer``) gets the targets ``t`` as a constant. The network is copied first
    (``copy.deepcopy``): drawing never changes its arrays or its layers' saved state.

    Without ``x``, a fixed batch of 2 random samples (seed 0) is used; without ``t``, the labels
    0, 1, … (modulo the number of classes).
    """
    return _record_network(net, x, t)[0]


def _record_network(net, x=None, t=None):
    """:func:`record_network`, also returning {id(layer): the network's name for it}."""
    from ..graph import Variable, apply

    if x is None:
        first = next(iter(net.layers.values()), None)
        weights = getattr(first, "W", None)
        if getattr(weights, "ndim", None) != 2:  # only a fully connected first layer tells the input size
            raise ValueError("cannot guess the input shape of this network: pass x=… to draw it")
        dtype = getattr(net, "dtype", weights.dtype)
        x = np.random.default_rng(0).standard_normal((2, weights.shape[0])).astype(dtype)
    _check_recording_memory(net, np.shape(x))
    net = copy.deepcopy(net)
    layers = list(net.layers.items())
    names = {}
    listing = net.parameters_by_layer() if hasattr(net, "parameters_by_layer") else []
    for _, layer, keys in listing:
        for layer_key, key in keys.items():
            names[(id(layer), layer_key)] = key
    if layers and hasattr(layers[0][1], "input_grad"):
        layers[0][1].input_grad = True  # show dx at the input too (training skips it)
    h = Variable(np.asarray(x), name="x")
    for layer_name, layer in layers:
        params = {
            key: Variable(array, name=names.get((id(layer), key), f"{layer_name}.{key}"))
            for key, array in layer.params.items()
        }
        constants = (True,) if getattr(layer, "has_train_mode", False) else ()
        h = apply(layer, h, constants=constants, params=params or None)
        h.name = None
    if t is None:
        classes = h.shape[-1] if h.ndim else 1
        t = np.arange(h.shape[0] if h.ndim > 1 else 1) % max(classes, 1)
    loss = apply(net.last_layer, h, constants=(np.asarray(t),))
    loss.name = "loss"
    loss.backward()
    layer_names = {id(layer): name for name, layer in layers}
    return loss, layer_names


def _check_recording_memory(net, batch_shape) -> None:
    """Refuse, before anything is copied or computed, a drawing whose forward values and
    gradients would exceed :data:`layerprop.nets.memory.FORWARD_BUDGET` (a convolution of a
    million filters drawn on one sample); the weights themselves are the network's own."""
    from ..errors import LayerpropError, MemoryBudgetError
    from ..nets.memory import FORWARD_BUDGET, forward_bytes

    if len(batch_shape) < 1:
        return
    try:
        needed = 2 * forward_bytes(net, batch_shape[1:]) * batch_shape[0]  # values, then their gradients
    except (LayerpropError, ValueError, TypeError):  # a batch the layers do not take: forward says why
        return
    if needed > FORWARD_BUDGET:
        raise MemoryBudgetError(
            f"drawing this network on a batch of shape {tuple(batch_shape)} would take {needed >> 20} MB for its "
            f"values and gradients, more than the {FORWARD_BUDGET >> 20} MB allowed"
        )


def model_from_network(
    net, x=None, t=None, *, title: str | None = None, digits: int = DEFAULT_DIGITS, check=False
) -> GraphModel:
    """Draw a network: record its forward pass (:func:`record_network`), then describe the graph.

    Its layers are labelled with the network's names for them (``Affine1``, ``Relu1`` …); ``check``
    as for :func:`build_model`.
    """
    loss, layer_names = _record_network(net, x, t)
    model = build_model(loss, title=title if title is not None else type(net).__name__, digits=digits, check=check)
    for node in model.nodes:  # the network's own names: Affine1, Relu1, …
        if node.kind == OP and id(node.layer) in layer_names:
            node.label = layer_names[id(node.layer)]
    # the train flag passed to Dropout/BatchNorm is a detail, not a value worth a node
    flags = {e.source for e in model.edges if e.constant and e.role.startswith("t") and e.value is True}
    if flags:
        model.edges = [e for e in model.edges if e.source not in flags]
        model.nodes = [n for n in model.nodes if n.id not in flags]
    if len(layer_names) > MAX_DRAWN_LAYERS:
        model = _summarised(model, DRAWN_AT_EACH_END)
    return model


def _summarised(model: GraphModel, keep: int) -> GraphModel:
    """``model`` with the layers between its first and last ``keep`` ones (the loss not counted)
    replaced by one node, ``⋯ N layers``, whose tooltip counts them by kind. The values entering
    and leaving that stretch stay on their edges; the stretch's parameters are not drawn."""
    ops = model.ops
    middle = ops[keep : len(ops) - 1 - keep]
    if len(middle) < 2:
        return model
    middle_ids = {node.id for node in middle}
    targets: dict = {}
    for edge in model.edges:
        targets.setdefault(edge.source, set()).add(edge.target)
    gone = middle_ids | {
        node.id for node in model.nodes if node.kind != OP and targets.get(node.id, {None}) <= middle_ids
    }
    kinds: dict = {}
    for node in middle:
        kinds[node.layer_name] = kinds.get(node.layer_name, 0) + 1
    summary = DrawnNode(
        f"{middle[0].id}-{middle[-1].id}",
        OP,
        f"⋯ {len(middle)} layers",
        layer_name=", ".join(f"{kind} ×{count}" for kind, count in kinds.items()),
        step=middle[0].step,
    )
    edges = []
    for edge in model.edges:
        if edge.target == middle[0].id and edge.source not in gone:
            edges.append(dataclasses.replace(edge, target=summary.id))  # what enters the stretch
        elif edge.source == middle[-1].id and edge.target not in gone:
            edges.append(dataclasses.replace(edge, source=summary.id))  # what leaves it
        elif edge.source not in gone and edge.target not in gone:
            edges.append(edge)
    nodes = [node for node in model.nodes if node.id not in gone]
    nodes.insert(next(i for i, node in enumerate(nodes) if node.kind == OP and node.step > summary.step), summary)
    return dataclasses.replace(model, nodes=nodes, edges=edges)
