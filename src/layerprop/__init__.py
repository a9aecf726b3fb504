"""layerprop: backpropagation through layers.

The layers of chapter 5 of *Deep Learning from Scratch* (MulLayer, AddLayer, Relu, Sigmoid, Affine,
SoftmaxWithLoss, …) as one primitive that stacks into networks, records into define-by-run graphs,
is checked by numerical gradients, and trains real networks.
"""

__version__ = "0.1.0"


def __getattr__(name):
    """The layers are imported on first use (PEP 562): ``import layerprop`` then costs no NumPy
    import, so the ``layerprop`` command answers Ctrl-C with one line from its first moments."""
    if name.startswith("__") and name != "__all__":
        raise AttributeError(name)
    import importlib

    layers = importlib.import_module(f"{__name__}.layers")  # sets layerprop.layers

    if name == "__all__":
        return ["__version__", "layers", *layers.__all__]
    if name == "layers":
        return layers
    if name in layers.__all__:
        return getattr(layers, name)
    raise AttributeError(f"module 'layerprop' has no attribute {name!r}")


def __dir__():
    return sorted({*globals(), *__getattr__("__all__")})


def _painter(mime: str):
    """The notebook painter for ``mime``: it imports the drawing code on the first display."""

    def paint(obj):
        from . import viz

        return getattr(viz, f"repr_{mime}")(obj)

    return paint


# Variables and networks draw themselves in notebooks. ("from .notebook import", not "from . import
# notebook": the latter asks this module's __getattr__ first, which would import the layers and NumPy.)
from .notebook import register as _register_painter  # noqa: E402

for _mime in ("svg", "html"):
    _register_painter(_mime, _painter(_mime))
