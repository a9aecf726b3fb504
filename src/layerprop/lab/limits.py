"""The lab's stated limits: what one request or one job may ask for, and the message when it asks more.

Each limit is enforced on the server (the page only mirrors them); breaking one raises
:class:`LabLimitError`, whose one-line message the page shows as it is.
"""

from __future__ import annotations

from ..errors import LayerpropError

#: every limit, by name (the page receives this table and shows it)
LIMITS = {
    "expression_length": 300,  # characters of one expression
    "expression_depth": 40,  # nesting of operations in one expression
    "expression_nodes": 120,  # operations recorded for one drawing
    "expression_names": 16,  # inputs (sliders) of one expression
    "tensor_elements": 64,  # elements of one tensor input on the graph page
    "toy_samples": 2000,  # points of a toy data set
    "mnist_samples": 6000,  # training images of the MNIST subset
    "hidden_layers": 4,  # hidden layers of a trained network
    "hidden_units": 256,  # units of one hidden layer
    "batch_size": 1000,
    "jobs": 2,  # training jobs running at once (one per open train page)
    "steps_per_second": 2000,  # the fastest a job may be asked to run
}


class LabLimitError(LayerpropError, ValueError):
    """A request asks for more than a stated limit allows (the message names the limit and the value)."""


def check_limit(name: str, value: int, what: str) -> int:
    """``value`` if it is within ``LIMITS[name]``, else :class:`LabLimitError` saying so."""
    limit = LIMITS[name]
    if value > limit:
        raise LabLimitError(f"{what}: {value} is more than the limit of {limit}")
    return value
