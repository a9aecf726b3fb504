"""Make the site's drawings with layerprop's own viz: docs/images/drawings/*.svg (and curves.png).

    python docs/make_drawings.py [OUTPUT_FOLDER]     (needs Graphviz's dot; curves.png needs matplotlib)

Each drawing is made twice: NAME.svg with an English title and legend for the English pages, and
NAME.ko.svg with a Korean title for the Korean ones (the site's i18n plugin picks NAME.ko.svg for a
Korean page that shows NAME.svg). tests/test_docs.py runs this script into a temporary folder and
checks that it makes exactly the files committed here.
"""

from __future__ import annotations

import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
DRAWINGS = HERE / "images" / "drawings"


def apple(backward: bool = True):
    """The notes' first graph: 2 apples at 100 with tax 1.1."""
    from layerprop.graph import Variable

    apple_, apple_num, tax = Variable(100, name="apple"), Variable(2, name="apple_num"), Variable(1.1, name="tax")
    apple_price = apple_ * apple_num
    apple_price.name = "apple_price"
    price = apple_price * tax
    price.name = "price"
    if backward:
        price.backward()
    return price


def apple_orange():
    from layerprop import viz

    return viz.example("apple-orange")


def node(op: str):
    """One × or + node with the notes' numbers: the local rule on its own."""
    from layerprop.graph import Variable

    x, y = Variable(100, name="x"), Variable(2, name="y")
    out = x * y if op == "mul" else x + y
    out.name = "out"
    out.backward(Variable(1.1).data)  # dout = 1.1: the gradient that comes from the tax node
    return out


def branch():
    """A value used three times: its gradient is the sum of what each use sends back."""
    from layerprop.graph import Variable

    x = Variable(2.0, name="x")
    y = x * x + 3 * x
    y.name = "y"
    y.backward()
    return y


def relu():
    """Relu on the notes' array: the switch is on where x > 0."""
    import numpy as np

    from layerprop.graph import Variable
    from layerprop.graph import relu as relu_fn

    x = Variable(np.array([[1.0, -0.5], [-2.0, 3.0]]), name="x")
    y = relu_fn(x)
    y.name = "y"
    y.backward(np.ones((2, 2)))
    return y


def sigmoid():
    from layerprop import viz

    return viz.example("sigmoid")


def two_layer_net():
    from layerprop import viz

    return viz.example("two-layer-net")


#: name → (what to draw, English title, Korean title)
FIGURES = {
    "apple-forward": (lambda: apple(backward=False), "Buying apples: the forward pass", "사과 쇼핑: 순전파"),
    "apple": (apple, "Buying apples: forward and backward", "사과 쇼핑: 순전파와 역전파"),
    "apple-orange": (apple_orange, "Buying apples and oranges", "사과와 오렌지 쇼핑"),
    "mul-node": (lambda: node("mul"), "A multiplication node (dout = 1.1)", "곱셈 노드 (dout = 1.1)"),
    "add-node": (lambda: node("add"), "An addition node (dout = 1.1)", "덧셈 노드 (dout = 1.1)"),
    "branch": (branch, "y = x·x + 3·x at x = 2: a value used three times", "y = x·x + 3·x (x = 2): 세 번 쓰인 값"),
    "relu": (relu, "Relu on the notes' array", "노트의 배열에 Relu"),
    "sigmoid": (sigmoid, "Sigmoid: four nodes and one layer (x = 2)", "시그모이드: 노드 네 개와 계층 하나 (x = 2)"),
    "two-layer-net": (
        two_layer_net,
        "TwoLayerNet: Affine → Relu → Affine → SoftmaxWithLoss",
        "TwoLayerNet: Affine → Relu → Affine → SoftmaxWithLoss",
    ),
}


def draw_all(folder: Path) -> list[Path]:
    """Write every drawing in both languages into ``folder``; returns the paths written."""
    from layerprop import viz

    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for name, (make, title_en, title_ko) in FIGURES.items():
        written.append(viz.render(make(), folder / f"{name}.svg", title=title_en))
        written.append(viz.render(make(), folder / f"{name}.ko.svg", title=title_ko, legend=False))
    return written


def training_curves(folder: Path) -> Path:
    """The learning curves of the notes' network, trained as tutorial 5 does (a few epochs)."""
    from layerprop.datasets import load_mnist
    from layerprop.nets import TwoLayerNet
    from layerprop.training import Trainer, plot_history

    (x_train, t_train), (x_test, t_test) = load_mnist(normalize=True)
    net = TwoLayerNet(input_size=784, hidden_size=50, output_size=10, dtype="float32", seed=0)
    trainer = Trainer(
        net,
        x_train.astype("float32"),
        t_train,
        x_test.astype("float32"),
        t_test,
        epochs=5,
        mini_batch_size=100,
        optimizer="SGD",
        optimizer_param={"lr": 0.1},
        seed=0,
        verbose=False,
    )
    trainer.train()
    path = folder / "curves.png"
    plot_history(trainer.history, path, title="TwoLayerNet 784-50-10, SGD lr 0.1, 5 epochs")
    return path


def main(argv=None) -> int:
    args = sys.argv[1:] if argv is None else argv
    folder = Path(args[0]) if args else DRAWINGS
    for path in draw_all(folder):
        print(f"wrote {path}")
    print(f"wrote {training_curves(folder)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
