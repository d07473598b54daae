"""Piecewise-linear ops: relu, leaky_relu, abs, clamp, sign, floor/ceil/round/trunc, maximum,
minimum, where.

Each is linear between kinks, so its derivative is a constant factor per element read off the
input (y is the output, g the incoming gradient):

  relu: g [not x <= 0]  leaky_relu: g (1 if x > 0 else slope)     abs: g sign(x)
  clamp: g [lo <= x <= hi]      sign, floor, ceil, round, trunc: 0
  maximum(a, b): g to the larger (half to each on a tie)      where(c, a, b): g to a where c

The second derivative of such an op is zero almost everywhere. For that zero to come out of
``autograd.grad`` rather than an error, the gradient ``g * factor`` must stay attached to x in
the graph (with a zero derivative): ``masked`` builds it as a node with x as an input, as torch's
threshold_backward does for relu. So a Hessian-vector product through a ReLU network, or a
gradient penalty taken with respect to the input of a ReLU critic, is zero where it should be.
"""
import numpy as np

from .. import backend, modes
from ..autograd import Function
from ..tensor import Tensor, get_default_dtype
from .elementwise import _pair, as_tensor_like
from .shape import broadcast_shapes, sum_to


class MaskOp(Function):
    """g * mask, for a constant ``mask`` read off x: the gradient of a piecewise-linear op of x.
    x is an input only to keep the result attached to it; the derivative in x is zero."""

    def forward(self, g, x):
        return g * self.mask

    def backward(self, gg):
        g, x = self.inputs
        return (masked(gg, self.mask, x) if self.needs_input_grad[0] else None,
                _zeros(x) if self.needs_input_grad[1] else None)


class AttachOp(Function):
    """g itself, attached to x with a zero derivative (the gradient of a selection by value:
    max over a dim, max pooling, sort)."""

    def forward(self, g, x):
        return g

    def backward(self, gg):
        return gg, (_zeros(self.inputs[1]) if self.needs_input_grad[1] else None)


def _zeros(x):
    return Tensor(backend.get_array_module(x.data).zeros_like(x.data))


def masked(g, mask, x):
    """g * mask as the gradient of a piecewise-linear op of x (attached to x when a graph of the
    backward pass is recorded)."""
    if modes.is_grad_enabled() and x.requires_grad:
        return MaskOp.apply(g, x, mask=mask)
    return g * Tensor(mask)


def attach(g, x):
    """g, attached to x with a zero derivative when a graph of the backward pass is recorded."""
    if modes.is_grad_enabled() and x.requires_grad:
        return AttachOp.apply(g, x)
    return g


class _PiecewiseLinear(Function):
    """Forward sets ``self.factor`` (the derivative per element); backward is g * factor."""

    def backward(self, g):
        return masked(g, self.factor, self.inputs[0])


class ReluOp(_PiecewiseLinear):
    def forward(self, x):
        xp = backend.get_array_module(x)
        # torch's rule: the gradient passes unless x <= 0 (so it passes at NaN), and the output
        # is x itself unless x < 0 (NaN stays NaN, -inf and negatives give +0, -0 stays -0);
        # a product x * [x > 0] would give NaN at -inf and -0 for negatives
        # maximum(x, 0) is all of that but for -0, which it turns into +0: copied back. (where(x
        # < 0, 0, x) is 15x slower on a random sign pattern: a branch per element.)
        self.factor = ~(x <= 0)      # bool: g * factor keeps g's dtype, a quarter of the bytes
        y = xp.maximum(x, 0, out=xp.empty_like(x))
        xp.copyto(y, x, where=(x == 0))
        return y


class LeakyReluOp(_PiecewiseLinear):
    def forward(self, x):
        # factor = 1 where x > 0, else the slope: (x > 0) * (1 - slope) + slope, in place, is
        # four times faster than xp.where on the CPU
        if x.dtype.kind == "f":
            slope = x.dtype.type(self.negative_slope)
            factor = (x > 0).astype(x.dtype)
            factor *= 1 - slope
            factor += slope
        else:
            xp = backend.get_array_module(x)
            factor = xp.where(x > 0, 1.0, self.negative_slope).astype(x.dtype, copy=False)
        self.factor = factor
        return x * factor


class AbsOp(_PiecewiseLinear):
    def forward(self, x):
        xp = backend.get_array_module(x)
        self.factor = xp.sign(x)
        return xp.abs(x)


class ClampOp(_PiecewiseLinear):
    def forward(self, x):
        xp = backend.get_array_module(x)
        y = xp.clip(x, self.lo, self.hi)
        inside = xp.ones(x.shape, dtype=bool)
        if self.lo is not None:
            inside &= x >= self.lo
        if self.hi is not None:
            inside &= x <= self.hi
        self.factor = inside.astype(x.dtype)
        return y


class StepOp(_PiecewiseLinear):
    """sign, floor, ceil, round (half to even, as torch) and trunc: gradient zero."""

    def forward(self, x):
        xp = backend.get_array_module(x)
        self.factor = xp.zeros((), dtype=x.dtype)
        return {"round": xp.round, "sign": xp.sign, "floor": xp.floor, "ceil": xp.ceil,
                "trunc": xp.trunc}[self.kind](x)


class ExtremumOp(Function):
    """maximum / minimum of two tensors; a tie sends half the gradient to each (as torch)."""

    def forward(self, a, b):
        xp = backend.get_array_module(a, b)
        first = (a > b) if self.largest else (a < b)
        self.share = first.astype(a.dtype) + 0.5 * (a == b).astype(a.dtype)
        return xp.maximum(a, b) if self.largest else xp.minimum(a, b)

    def backward(self, g):
        a, b = self.inputs
        need = self.needs_input_grad
        return (sum_to(masked(g, self.share, a), a.shape) if need[0] else None,
                sum_to(masked(g, 1.0 - self.share, b), b.shape) if need[1] else None)


class WhereOp(Function):
    """where(cond, a, b); the condition is a constant (a boolean array)."""

    def forward(self, a, b):
        return backend.get_array_module(a, b).where(self.cond, a, b)

    def backward(self, g):
        a, b = self.inputs
        zero = as_tensor_like(0.0, g)
        need = self.needs_input_grad
        return (sum_to(WhereOp.apply(g, zero, cond=self.cond), a.shape) if need[0] else None,
                sum_to(WhereOp.apply(zero, g, cond=self.cond), b.shape) if need[1] else None)


# ----------------------------------------------------------------------------- the functions
def relu(x):
    """max(x, 0) elementwise; the gradient at 0 is 0, as in torch."""
    return ReluOp.apply(x)


def leaky_relu(x, negative_slope=0.01):
    """x where x > 0, else negative_slope * x (the slope at 0 is negative_slope, as in torch)."""
    return LeakyReluOp.apply(x, negative_slope=negative_slope)


def abs(x):
    """|x| elementwise; the gradient at 0 is 0 (sign(0)), as in torch."""
    return AbsOp.apply(x)


def sign(x):
    """-1, 0 or 1 elementwise; its gradient is zero, as in torch. A bool tensor is its own
    sign (NumPy has no sign of bools)."""
    if x.dtype.kind == "b":
        return x
    return StepOp.apply(x, kind="sign")


def rounding(kind, x):
    """floor, ceil, round (half to even) or trunc elementwise; gradient zero; integer tensors
    are returned as they are (already whole), as in torch."""
    if x.dtype.kind in "biu":
        return x
    return StepOp.apply(x, kind=kind)


def clamp(x, min=None, max=None):
    """x limited to [min, max] (either may be None, or a Tensor that broadcasts to x); the
    gradient is g inside the bounds (bounds included) and 0 outside, as in torch."""
    if min is None and max is None:
        raise ValueError("clamp needs at least one of min and max")
    if x.dtype.kind in "biu" and (isinstance(min, float) or isinstance(max, float)):
        x = x.to(get_default_dtype())  # a float bound makes the result float, as in torch
    if isinstance(min, Tensor) or isinstance(max, Tensor):
        out = x if min is None else maximum(x, min)
        return out if max is None else minimum(out, max)
    return ClampOp.apply(x, lo=min, hi=max)


def maximum(a, b):
    """torch.maximum: the elementwise larger of a and b, which broadcast together (either may
    be a Python number). The gradient goes to the larger one; a tie sends half to each, as in
    torch.

        >>> mg.maximum(mg.tensor([1., 5.]), mg.tensor([[3.], [4.]]))
        tensor([[3., 5.],
                [4., 5.]])
    """
    return ExtremumOp.apply(*_pair(a, b), largest=True)


def minimum(a, b):
    """torch.minimum: the elementwise smaller of a and b, which broadcast together; the
    gradient goes to the smaller one, half to each on a tie (see maximum)."""
    return ExtremumOp.apply(*_pair(a, b), largest=False)


def where(condition, input, other):
    """Elements of ``input`` where the bool tensor ``condition`` holds, else of ``other``, all
    three broadcast together (differentiable in input and other). Python numbers are allowed for
    both: ``where(c, 4, 2)`` is int64 and ``where(c, 1.0, 0)`` the default float dtype, as in
    torch."""
    cond = condition.data if isinstance(condition, Tensor) else condition
    if not isinstance(input, Tensor) and not isinstance(other, Tensor):
        input = _scalar_tensor(input, other, cond)
    a, b = _pair(input, other)
    xp = backend.get_array_module(a.data, b.data)
    cond = xp.asarray(cond)
    if cond.dtype != bool:
        raise TypeError(f"where's condition must be a bool tensor, got dtype {cond.dtype}")
    broadcast_shapes(cond.shape, a.shape, b.shape)  # raises naming the three shapes
    return WhereOp.apply(a, b, cond=cond)


def _scalar_tensor(value, other, cond):
    """The first of two Python numbers given to where, as a 0-d tensor of their common dtype."""
    numbers = (value, other)
    if not all(isinstance(v, (bool, int, float)) for v in numbers):
        raise TypeError(f"where needs tensors or Python numbers for input and other, got "
                        f"{type(value).__name__} and {type(other).__name__}")
    if any(isinstance(v, float) for v in numbers):
        dtype = get_default_dtype()
    elif all(isinstance(v, bool) for v in numbers):
        dtype = np.dtype(bool)
    else:
        dtype = np.dtype(np.int64)
    device = backend.device_of(cond.data if isinstance(cond, Tensor) else cond)
    return Tensor(backend.to_device(np.asarray(value, dtype=dtype), device))
