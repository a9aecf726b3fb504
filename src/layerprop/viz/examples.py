"""The notes' graphs, ready to draw: forward and backward already run.

============== ================================================================================
name           what it is
============== ================================================================================
apple          2 apples at 100 with tax 1.1: price 220; d price/d apple = 2.2
apple-orange   2 apples at 100 and 3 oranges at 150, tax 1.1: price 715; gradients 2.2, 110,
               3.3, 165 and 650 (the notes' shopping graph)
sigmoid        y = 1/(1 + exp(−x)) at x = 2, twice: as the notes' four nodes (× −1, exp, + 1,
               /) and as the one Sigmoid layer — the same y = 0.880797 and dy/dx = 0.104994
two-layer-net  a small TwoLayerNet (3 → 4 → 2) on a batch of 2: Affine1, Relu1, Affine2 and
               SoftmaxWithLoss recorded layer by layer
============== ================================================================================

:func:`example` returns what the drawing functions take: a Variable, a ``{title: Variable}`` dict
(drawn as clusters) or, for the network, a :class:`~layerprop.viz.model.GraphModel`.
"""

from __future__ import annotations

import numpy as np

#: the title each example is drawn with
TITLES = {
    "apple": "Buying apples (notes: MulLayer)",
    "apple-orange": "Buying apples and oranges (notes: MulLayer and AddLayer)",
    "sigmoid": "Sigmoid: the four-node derivation and the fused layer (x = 2)",
    "two-layer-net": "TwoLayerNet: Affine → Relu → Affine → SoftmaxWithLoss",
}


def apple():
    """price = apple · apple_num · tax = 100 · 2 · 1.1 = 220, after backward."""
    from ..graph import Variable

    apple_, apple_num, tax = Variable(100.0, name="apple"), Variable(2.0, name="apple_num"), Variable(1.1, name="tax")
    apple_price = apple_ * apple_num
    apple_price.name = "apple_price"
    price = apple_price * tax
    price.name = "price"
    price.backward()
    return price


def apple_orange():
    """price = (apple · apple_num + orange · orange_num) · tax = 715, after backward."""
    from ..graph import Variable

    apple_, apple_num = Variable(100.0, name="apple"), Variable(2.0, name="apple_num")
    orange, orange_num = Variable(150.0, name="orange"), Variable(3.0, name="orange_num")
    tax = Variable(1.1, name="tax")
    apple_price = apple_ * apple_num
    apple_price.name = "apple_price"
    orange_price = orange * orange_num
    orange_price.name = "orange_price"
    all_price = apple_price + orange_price
    all_price.name = "all_price"
    price = all_price * tax
    price.name = "price"
    price.backward()
    return price


def sigmoid(x: float = 2.0) -> dict:
    """The sigmoid at ``x`` as the notes' four nodes and as the fused layer, each after backward.

    The two graphs have separate inputs of the same value (a shared input would sum both
    gradients); the drawing shows equal gradients on them.
    """
    from .. import graph as G

    x1 = G.Variable(float(x), name="x")
    y1 = 1 / (1 + G.exp(-1 * x1))  # × −1, exp, + 1, / (the '/' node computes 1/x)
    y1.name = "y"
    y1.backward()
    x2 = G.Variable(float(x), name="x")
    y2 = G.sigmoid(x2)
    y2.name = "y"
    y2.backward()
    return {"four nodes: ×(−1), exp, +1, 1/x": y1, "one Sigmoid layer": y2}


def two_layer_net_inputs() -> dict:
    """The two-layer example's tensors: the batch ``x``, its labels ``t`` and W1, b1, W2, b2.

    A 3 → 4 → 2 TwoLayerNet (seed 5: each of the 4 hidden units is active, x·W1 + b1 > 0, for at
    least one sample, so no Relu is dead and every weight has a gradient to show), a batch of two
    samples with labels t = 0 and 1.
    """
    from ..nets import TwoLayerNet

    net = TwoLayerNet(input_size=3, hidden_size=4, output_size=2, weight_init_std=0.5, seed=5)
    tensors = {"x": np.array([[1.0, -0.5, 2.0], [0.5, 1.5, -1.0]], dtype=net.dtype)}
    tensors.update({key: value.copy() for key, value in net.params.items()})
    return tensors


def two_layer_net_network(tensors: dict):
    """``(net, x, t)``: the two-layer example's network holding ``tensors`` (see :func:`two_layer_net_inputs`)."""
    from ..nets import TwoLayerNet

    net = TwoLayerNet(input_size=3, hidden_size=4, output_size=2, seed=5)
    for key in ("W1", "b1", "W2", "b2"):
        net.params[key][...] = tensors[key]
    return net, np.asarray(tensors["x"], dtype=net.dtype), np.array([0, 1])


def two_layer_net_model(tensors: dict | None = None):
    """The two-layer example drawn: its forward and backward pass recorded layer by layer."""
    from .model import model_from_network

    net, x, t = two_layer_net_network(tensors or two_layer_net_inputs())
    return model_from_network(net, x, t, title=TITLES["two-layer-net"])


def two_layer_net():
    """A 3 → 4 → 2 TwoLayerNet (seeded, no dead hidden unit) on a fixed batch of two samples, labels t = 0 and 1."""
    return two_layer_net_model()


EXAMPLES = {
    "apple": apple,
    "apple-orange": apple_orange,
    "sigmoid": sigmoid,
    "two-layer-net": two_layer_net,
}


def example(name: str):
    """Build the example called ``name`` (one of :data:`EXAMPLES`), after forward and backward."""
    try:
        build = EXAMPLES[name]
    except KeyError:
        raise ValueError(f"unknown example {name!r}; known: {', '.join(EXAMPLES)}") from None
    return build()
