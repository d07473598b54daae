"""Activation primitives, made primitive for accuracy or speed (their composites lose digits or
spend time on extra nodes):

  erf(x) = 2/sqrt(pi) * integral_0^x exp(-t^2) dt      d/dx = 2/sqrt(pi) * exp(-x^2)
      (the exact GELU, x * Phi(x) = 0.5 x (1 + erf(x / sqrt(2))), needs it)
  softplus(x) = log(1 + exp(x)), computed as logaddexp(0, x)      d/dx = sigmoid(x)
      (a composite of exp and log overflows for large x and loses all digits for very negative
      x; logaddexp does neither, so binary_cross_entropy_with_logits stays finite at +-100)
  silu(x) = x sigmoid(x)      d/dx = s (1 + x (1 - s)),  s = sigmoid(x)
      (one node instead of two, and no sigmoid kept beside the product: the U-Net of DDPM
      applies it to every activation)

All backwards are written in Tensor ops, so they are differentiable again. relu and leaky_relu
are in ``piecewise.py`` with the other piecewise-linear ops.
"""
import math

from .. import backend
from ..autograd import Function
from .elementwise import float_unary, sigmoid_array

_TWO_OVER_SQRT_PI = 2.0 / math.sqrt(math.pi)


class ErfOp(Function):
    def forward(self, x):
        special = backend.special_functions(backend.get_array_module(x))
        return special.erf(x).astype(x.dtype, copy=False)

    def backward(self, g):
        (x,) = self.inputs
        return g * ((-(x * x)).exp() * _TWO_OVER_SQRT_PI)


class SoftplusOp(Function):
    def forward(self, x):
        xp = backend.get_array_module(x)
        return xp.logaddexp(x.dtype.type(0), x)

    def backward(self, g):
        return g * self.inputs[0].sigmoid()


class SiLUOp(Function):
    def forward(self, x):
        s = sigmoid_array(x)
        s *= x
        return s

    def backward(self, g):
        (x,) = self.inputs
        s = x.sigmoid()
        return g * (s * (1.0 + x * (1.0 - s)))


def erf(x):
    """The error function, elementwise (differentiable any number of times)."""
    return float_unary(ErfOp, x)


def softplus(x):
    """log(1 + exp(x)) elementwise, without overflow or underflow."""
    return float_unary(SoftplusOp, x)


def silu(x):
    """x sigmoid(x) elementwise (the swish of Ramachandran et al.), one autograd node; integer
    input is cast to the default float dtype first, as sigmoid does."""
    return float_unary(SiLUOp, x)
