"""Primitive differentiable ops, one family per module.

Each op is a ``Function`` whose ``forward`` works on raw arrays and whose ``backward`` returns
gradients written in Tensor ops (so they are differentiable again); its name ends in ``Op``
(``TanhOp``, ``GetItemOp``) so that it is never mistaken for the nn layer of the same name. The
plain functions next to them (``add``, ``sum_to``, ``getitem`` ...) turn Python arguments into
Tensors, check them and apply the op. Composites (softmax, norms, pooling, losses) are in
minigen/nn/functional.

  shape        reshape, permute, broadcast_to / sum_to (each the other's backward), expand ...
  elementwise  arithmetic with torch's promotion, smooth unary math, casts, comparisons, bitwise
  piecewise    relu, leaky_relu, abs, clamp, sign, rounding, maximum/minimum, where
  activation   erf, softplus, silu
  reduce       sum, mean, amax/amin, max/min over a dim, argmax/argmin, all/any
  scan         cumsum, cumprod, prod
  index        x[index], gather, scatter, scatter_add, index_select, masked_fill
  join         cat, stack, split, chunk, pad
  rearrange    flip, roll, tril, triu, sort, topk
  linalg       matmul, linear, einsum
  conv, im2col conv2d, conv_transpose2d and their array kernels
"""
from . import shape, elementwise, piecewise, activation, reduce, scan  # noqa: F401  (order matters)
from . import index, join, rearrange, linalg  # noqa: F401
from .reversal import GradientReversalOp, gradient_reversal  # noqa: F401  (lecture §5.5, DANN)
