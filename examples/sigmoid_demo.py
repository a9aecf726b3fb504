"""The Sigmoid layer (Sigmoid 계층) — notes 000, 001 and 002.

forward y = 1 / (1 + exp(-x)); backward dx = dout · y · (1 - y), using only the saved output y.
Note 001 feeds an array of 0s and 2s forward, then the same array back as dout.
"""

import numpy as np

from layerprop import Sigmoid
from layerprop.display import format_number


def show(a, digits=8):
    """A list of numbers rounded to ``digits`` significant digits: [0.88079708, 0.5]."""
    return "[" + ", ".join(format_number(v, digits) for v in np.ravel(a)) + "]"


sigmoid = Sigmoid()
y = sigmoid.forward(2.0)
print("sigmoid(2) =", format_number(y, 8))
dx = sigmoid.backward(2.0)
print("backward with dout = 2:", format_number(dx, 8))
print("check: dout * y * (1 - y) =", format_number(2.0 * y * (1 - y), 8))

# note 001: ten 0s and ten 2s, shuffled; here six values in a fixed order
datas = np.array([2.0, 0.0, 2.0, 0.0, 0.0, 2.0])
sig_layer = Sigmoid()
print("Input -", show(datas))
print("Forward Propagation -", show(sig_layer.forward(datas)))
print("Backward Propagation (dout = input) -", show(sig_layer.backward(datas)))

# very large inputs: exactly 0 and 1, no overflow warning
print("sigmoid([-1000, 1000]) =", show(Sigmoid().forward(np.array([-1000.0, 1000.0]))))
