"""A learner's file for ``layerprop lab --layers`` (tests/test_lab_layers.py and its browser twin): a right
MulLayer, a MulLayer whose gradients are not swapped, a Sigmoid with a typo in backward, and a layer
the lab cannot build (it needs an argument). It prints at its top level, as learners' files do."""

import right_layers
import wrong_layers

print("the learner's file runs its top level")


class MulLayer(right_layers.MulLayer):
    """The book's MulLayer (right)."""


class SameSideMulLayer(wrong_layers.SameSideMulLayer):
    """dx = dout·x: the forward inputs are not swapped (wrong-gradient)."""


class TypoSigmoid(wrong_layers.TypoSigmoid):
    """self.outt in backward (backward-error)."""


class NeedsFactor(wrong_layers.NeedsFactor):
    """A constructor argument: the doctor and the lab cannot build it."""
