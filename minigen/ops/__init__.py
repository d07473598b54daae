"""Primitive differentiable ops, one family per module.

Each op is a ``Function`` whose ``forward`` works on raw arrays and whose ``backward`` returns
gradients written in Tensor ops (so they are differentiable again). The plain functions next to
them (``add``, ``sum_to``, ``getitem`` ...) turn Python arguments into Tensors and check them.
"""
from . import shape, elementwise, reduce, index, linalg  # noqa: F401  (order matters: shape first)
from .reversal import GradientReversalOp, gradient_reversal  # noqa: F401  (lecture §5.5, DANN)
