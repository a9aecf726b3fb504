"""The ReLU layer (ReLU 계층) on note 000's example — notes 000–004.

The notes' Relu has two mistakes, both absent from layerprop's:
- note 000 writes ``out[self.maks] = 0`` (a typo for ``mask``), so its forward fails;
- every note's backward does ``dout[self.mask] = 0``, zeroing the caller's dout in place: a dout
  that two branches share is corrupted. layerprop's backward returns a new array.
"""

import numpy as np

from layerprop import Relu
from layerprop.display import format_number


def show(a):
    """A (nested) list of readably rounded numbers: [[1, 0], [0, 3]]."""
    a = np.asarray(a)
    if a.ndim == 0:
        return format_number(a)
    return "[" + ", ".join(show(row) for row in a) + "]"


x = np.array([[1, -0.5], [-2, 3]])
print("x:", show(x))

relu = Relu()
out = relu.forward(x)
print("mask (x <= 0):", relu.mask.tolist())
print("forward out (순전파 출력):", show(out))

dout = np.array([[1.0, 2.0], [3.0, 4.0]])
dx = relu.backward(dout)
print("dout:", show(dout))
print("backward dx (역전파 출력):", show(dx))
print("dout after backward (unchanged, 그대로):", show(dout))

# a gradient shared by two branches: the second Relu still sees all of it
other = Relu()
other.forward(np.array([[-1.0, 1.0], [1.0, -1.0]]))
print("second branch dx (same dout):", show(other.backward(dout)))
