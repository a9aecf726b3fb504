"""A define-by-run computational graph whose nodes are layerprop's layers.

>>> from layerprop.graph import Variable
>>> apple, apple_num, tax = Variable(100, name="apple"), Variable(2, name="apple_num"), Variable(1.1, name="tax")
>>> price = apple * apple_num * tax
>>> price.backward()
>>> apple.grad, apple_num.grad, tax.grad    # 2.2, 110, 200

Operators: ``+ - * / ** @`` and unary ``-`` (numbers allowed on either side); functions: ``exp``,
``log``, ``sum``, ``mean``, ``max``, ``min``, ``reshape``, ``transpose``, ``relu``, ``sigmoid``, ``tanh``, ``affine``,
``softmax_cross_entropy`` (see :mod:`layerprop.graph.functions`); :func:`no_grad` switches
recording off; :meth:`Variable.cleargrad` and :func:`clear_grads` clear gradients.
"""

from .config import is_recording, no_grad
from .functions import (
    add,
    affine,
    div,
    exp,
    log,
    matmul,
    max,
    mean,
    min,
    mul,
    neg,
    power,
    relu,
    reshape,
    sigmoid,
    softmax_cross_entropy,
    sub,
    sum,
    tanh,
    transpose,
)
from .variable import Node, Variable, apply, as_variable, clear_grads

__all__ = [
    "Variable",
    "Node",
    "apply",
    "as_variable",
    "clear_grads",
    "no_grad",
    "is_recording",
    "add",
    "sub",
    "mul",
    "div",
    "neg",
    "power",
    "matmul",
    "exp",
    "log",
    "sum",
    "mean",
    "max",
    "min",
    "reshape",
    "transpose",
    "relu",
    "sigmoid",
    "tanh",
    "affine",
    "softmax_cross_entropy",
]
