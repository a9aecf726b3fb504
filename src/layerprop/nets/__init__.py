"""Networks with the book's interface: ``params``, ``predict``, ``loss``, ``accuracy``,
``numerical_gradient``, ``gradient`` — built from layerprop's layers.

- :class:`TwoLayerNet` — note 003's network (Affine → Relu → Affine → SoftmaxWithLoss);
- :class:`MultiLayerNet`, :class:`MultiLayerNetExtend` — any depth, with weight decay, dropout and
  batch normalisation;
- :class:`Sequential` — any stack of layers plus a loss layer;
- :class:`SimpleConvNet`, :class:`DeepConvNet` — the book's convolutional networks (ch. 7, 8);
- :class:`ThreeLayerNet` — the book's chapter-3 network 784-50-100-10 with sigmoid (``sample_weight.pkl``);

and :func:`build_network` to rebuild any of them from its saved configuration.
"""

from .base import Network
from .chapter3 import ThreeLayerNet
from .convnet import DeepConvNet, SimpleConvNet
from .multi_layer import MultiLayerNet, MultiLayerNetExtend
from .registry import NETWORKS, build_network, register_network
from .sequential import Sequential
from .two_layer import TwoLayerNet

__all__ = [
    "Network",
    "TwoLayerNet",
    "MultiLayerNet",
    "MultiLayerNetExtend",
    "Sequential",
    "SimpleConvNet",
    "DeepConvNet",
    "ThreeLayerNet",
    "build_network",
    "register_network",
    "NETWORKS",
]
