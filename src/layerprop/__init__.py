"""layerprop: backpropagation through layers.

The layers of chapter 5 of *Deep Learning from Scratch* (MulLayer, AddLayer, Relu, Sigmoid, Affine,
SoftmaxWithLoss, …) as one primitive that stacks into networks, records into define-by-run graphs,
is checked by numerical gradients, and trains real networks.
"""

__version__ = "0.1.0"

from . import layers  # noqa: E402
from .layers import *  # noqa: E402,F401,F403

__all__ = ["__version__", "layers", *layers.__all__]

import sys as _sys  # noqa: E402

if "IPython" in _sys.modules:  # in a notebook: let Variables and networks draw themselves
    from . import viz as _viz  # noqa: E402,F401
