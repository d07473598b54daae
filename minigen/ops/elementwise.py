"""Elementwise ops: arithmetic with broadcasting and torch's type promotion, smooth unary math,
casts, comparisons and bitwise operators (piecewise-linear ops are in ``piecewise.py``).

The local derivatives, as a table (y is the output, g the incoming gradient):
  a + b: g, g          a - b: g, -g          a * b: g b, g a         a / b: g / b, -g y / b
  a ** c: g c a^(c-1)  a ** b: g b a^(b-1), g y log(a)   exp: g y   log: g / x
  sqrt: g / (2 y)      tanh: g (1 - y^2)     sigmoid: g y (1 - y)    sin: g cos(x)   cos: -g sin(x)
Binary gradients pass through ``sum_to`` to undo broadcasting.
"""
import numpy as np

from .. import backend
from ..autograd import Function
from ..tensor import Tensor, get_default_dtype
from .shape import broadcast_shapes, sum_to


def as_tensor_like(value, like):
    """Wrap a Python number or array as a constant Tensor on ``like``'s device.

    Python numbers take ``like``'s dtype, so ``x * 2.0`` stays float32 for a float32 x (a float
    with an integer tensor gives the default float dtype, as in torch); arrays keep their dtype.
    """
    if isinstance(value, Tensor):
        return value
    xp = backend.get_array_module(like.data)
    if isinstance(value, (bool, int, float)):
        dtype = like.dtype
        if isinstance(value, float) and dtype.kind not in "fc":
            dtype = get_default_dtype()
        elif isinstance(value, int) and not isinstance(value, bool) and dtype.kind == "b":
            dtype = np.dtype("int64")
        return Tensor(xp.asarray(value, dtype=dtype))
    return Tensor(backend.to_device(value, like.device))


_CATEGORY = {"b": 0, "u": 1, "i": 1, "f": 2, "c": 3}


def result_dtype(a, b):
    """torch's type promotion of two tensors (NumPy's differs for ints with floats and 0-d).

    A higher category (bool < int < float) wins outright: int64 with float32 gives float32.
    Within a category a tensor with dims beats a 0-d one (float32 data times a float64 0-d
    tensor stays float32); otherwise the wider dtype wins.
    """
    ka, kb = _CATEGORY[a.dtype.kind], _CATEGORY[b.dtype.kind]
    if ka != kb:
        return (a if ka > kb else b).dtype
    if (a.ndim == 0) != (b.ndim == 0):
        return (b if a.ndim == 0 else a).dtype
    return np.result_type(a.dtype, b.dtype)


def common_dtype(tensors):
    """torch's promotion of several tensors with dims (as cat does): the highest category wins,
    then the widest dtype within it; int64 with float32 gives float32."""
    top = max(_CATEGORY[t.dtype.kind] for t in tensors)
    return np.result_type(*[t.dtype for t in tensors if _CATEGORY[t.dtype.kind] == top])


def _pair(a, b):
    if not isinstance(a, Tensor):
        a = as_tensor_like(a, b)
    elif not isinstance(b, Tensor):
        b = as_tensor_like(b, a)
    if a.shape != b.shape:
        broadcast_shapes(a.shape, b.shape)  # raises a ValueError naming both shapes
    if a.dtype != b.dtype:
        dtype = result_dtype(a, b)
        a, b = a.to(dtype), b.to(dtype)  # casts are differentiable: gradients come back cast
    return a, b


def _need(fn, i):
    return fn.needs_input_grad[i]


class AddOp(Function):
    def forward(self, a, b):
        return a + b

    def backward(self, g):
        a, b = self.inputs
        return (sum_to(g, a.shape) if _need(self, 0) else None,
                sum_to(g, b.shape) if _need(self, 1) else None)


class SubOp(Function):
    def forward(self, a, b):
        return a - b

    def backward(self, g):
        a, b = self.inputs
        return (sum_to(g, a.shape) if _need(self, 0) else None,
                sum_to(-g, b.shape) if _need(self, 1) else None)


class MulOp(Function):
    def forward(self, a, b):
        return a * b

    def backward(self, g):
        a, b = self.inputs
        return (sum_to(g * b, a.shape) if _need(self, 0) else None,
                sum_to(g * a, b.shape) if _need(self, 1) else None)


class DivOp(Function):
    def forward(self, a, b):
        y = a / b
        if a.dtype.kind not in "fc":  # int / int gives the default float dtype, as in torch
            y = y.astype(get_default_dtype())  # (NumPy's is float64)
        return y

    def backward(self, g):
        a, b = self.inputs
        return (sum_to(g / b, a.shape) if _need(self, 0) else None,
                sum_to(-g * self.output / b, b.shape) if _need(self, 1) else None)


class PowScalarOp(Function):
    def forward(self, x):
        with np.errstate(divide="ignore", invalid="ignore"):  # 0 ** -1 = inf, silently (torch)
            return x ** self.exponent

    def backward(self, g):
        (x,), c = self.inputs, self.exponent
        if c == 0:
            return g * 0.0
        if c == 1:
            return g
        return g * (c * pow(x, c - 1))


class PowOp(Function):
    """a ** b with both tensors, with torch's values where the formulas meet 0 * inf:

      d/da = b a^(b-1), and 0 wherever b == 0 (so 0 ** 0 has gradient 0 in a)
      d/db = a^b log(a), and 0 where a == 0 and b >= 0; where a == 0 and b < 0 it is
             inf * log(0) = -inf, and for a < 0 NaN (log of a negative number), as in torch

    Being zero there, d/db has second derivative d2/db2 = 0 where a == 0 and b >= 0 (0 ** b
    is flat), where torch's chain rule forms 0 * log(0) = NaN; elsewhere both agree.
    """

    def forward(self, a, b):
        with np.errstate(divide="ignore", invalid="ignore"):  # 0 ** -1 = inf, silently (torch)
            return a ** b

    def backward(self, g):
        a, b = self.inputs
        ga = gb = None
        zero = as_tensor_like(0.0, g)
        # the masked branches compute 0 * inf and log(0) where where() then drops them
        with np.errstate(divide="ignore", invalid="ignore"):
            if _need(self, 0):
                ga = sum_to(_where(b.data == 0, zero, g * (b * a ** (b - 1))), a.shape)
            if _need(self, 1):
                flat = (a.data == 0) & (b.data >= 0)
                gb = sum_to(_where(flat, zero, g * (self.output * a.log())), b.shape)
        return ga, gb


def _where(cond, a, b):
    from .piecewise import where
    return where(cond, a, b)


class NegOp(Function):
    def forward(self, x):
        return -x

    def backward(self, g):
        return -g


class ExpOp(Function):
    def forward(self, x):
        return backend.get_array_module(x).exp(x)

    def backward(self, g):
        return g * self.output


class LogOp(Function):
    def forward(self, x):
        return backend.get_array_module(x).log(x)

    def backward(self, g):
        return g / self.inputs[0]


class SqrtOp(Function):
    def forward(self, x):
        return backend.get_array_module(x).sqrt(x)

    def backward(self, g):
        return g / (2.0 * self.output)


class TanhOp(Function):
    def forward(self, x):
        return backend.get_array_module(x).tanh(x)

    def backward(self, g):
        y = self.output
        return g * (1.0 - y * y)


def sigmoid_array(x):
    """1 / (1 + exp(-x)) of a float array; the sum and the reciprocal are taken in place in
    exp's result.

    exp(-x) keeps its relative precision, so the result does too, far into both tails (a
    1 - ... or tanh form rounds the negative tail to 0); where exp(-x) overflows (x < -88 in
    float32) the result is 0, as the true value is below the smallest normal number anyway.
    """
    xp = backend.get_array_module(x)
    with np.errstate(over="ignore"):
        s = xp.asarray(xp.exp(-x))  # asarray: a 0-d input gives a NumPy scalar
    s += 1
    return xp.reciprocal(s, out=s)


class SigmoidOp(Function):
    def forward(self, x):
        return sigmoid_array(x)

    def backward(self, g):
        y = self.output
        return g * (y * (1.0 - y))


class SinOp(Function):
    def forward(self, x):
        return backend.get_array_module(x).sin(x)

    def backward(self, g):
        return g * self.inputs[0].cos()


class CosOp(Function):
    def forward(self, x):
        return backend.get_array_module(x).cos(x)

    def backward(self, g):
        return -g * self.inputs[0].sin()


class CastOp(Function):
    def forward(self, x):
        self.in_dtype = x.dtype
        return x.astype(self.dtype)

    def backward(self, g):
        return g.to(self.in_dtype)


class ToDeviceOp(Function):
    def forward(self, x):
        self.in_device = backend.device_of(x)
        return backend.to_device(x, self.device)

    def backward(self, g):
        return g.to(self.in_device)


class CloneOp(Function):
    def forward(self, x):
        return x.copy()

    def backward(self, g):
        return g


def add(a, b):
    return AddOp.apply(*_pair(a, b))


def sub(a, b):
    return SubOp.apply(*_pair(a, b))


def mul(a, b):
    return MulOp.apply(*_pair(a, b))


def div(a, b):
    return DivOp.apply(*_pair(a, b))


def pow(a, b):
    """a ** b. Integers to negative integer powers raise, as in torch (a float exponent, or a
    float base, gives a float result instead); a Python number as the exponent is one node with
    the gradient c a^(c-1)."""
    if isinstance(a, Tensor) and isinstance(b, (int, float)) and not isinstance(b, bool):
        if a.dtype.kind in "biu":
            if isinstance(b, float):
                a = a.to(get_default_dtype())
            elif b < 0:
                raise RuntimeError(f"Integers to negative integer powers are not allowed "
                                   f"(an {a.dtype} tensor to the power {b}); use a float "
                                   f"exponent such as {float(b)} or convert with .float()")
        return PowScalarOp.apply(a, exponent=b)
    a, b = _pair(a, b)
    if a.dtype.kind in "biu":
        return Tensor(_integer_power(a.data, b.data))
    return PowOp.apply(a, b)


def _integer_power(a, b):
    """Integer a ** b elementwise, with torch's values for negative exponents (NumPy raises):
    1 ** b = 1, (-1) ** b = +-1, and 0 for any other base (the integer part of a^b)."""
    xp = backend.get_array_module(a, b)
    if a.dtype == bool:
        return xp.logical_or(a, b == 0) if b.dtype == bool else xp.power(a.astype(b.dtype), b)
    negative = b < 0
    if not bool(negative.any()):
        return xp.power(a, b)
    y = xp.power(a, xp.where(negative, 0, b))
    odd = (b % 2) != 0
    small = xp.where(a == 1, 1, xp.where(a == -1, xp.where(odd, -1, 1), 0)).astype(y.dtype)
    return xp.where(negative, small, y)


def float_unary(op, x):
    """A unary math op (exp, log, sqrt, tanh, sigmoid, sin, cos) on ``x``; an integer or bool
    tensor is first cast to the default float dtype, so the result is float32 as in torch
    (NumPy's would be float64)."""
    if x.dtype.kind in "biu":
        x = x.to(get_default_dtype())
    return op.apply(x)


def neg(x):
    if x.dtype.kind == "b":
        raise TypeError("negation (-) of a bool tensor is not supported; to invert a mask use "
                        "~mask")
    return NegOp.apply(x)


def compare(name, a, b):
    """A comparison: a bool Tensor, outside the graph (comparisons have no gradient)."""
    a, b = _pair(a, b)
    return Tensor(getattr(backend.get_array_module(a.data), name)(a.data, b.data))


def bitwise(name, a, b=None):
    """``& | ^ ~`` as in torch: bitwise on integer tensors, logical on bool tensors (a bool with an
    integer is promoted to the integer dtype first); floating tensors raise a TypeError."""
    symbol = {"and": "&", "or": "|", "xor": "^", "not": "~"}[name]
    if b is not None:
        a, b = _pair(a, b)
    for t in (a,) if b is None else (a, b):
        if t.dtype.kind not in "biu":
            raise TypeError(f"{symbol} needs integer or bool tensors, got dtype {t.dtype}; for "
                            "masks compare first (x > 0), for floats there is no bitwise "
                            f"{symbol}")
    xp = backend.get_array_module(a.data)
    if b is None:
        return Tensor(xp.invert(a.data))
    return Tensor(getattr(xp, f"bitwise_{name}")(a.data, b.data))


def logical(name, a, b=None):
    """isnan, isinf, isfinite and logical_and/or/xor/not: bool Tensors outside the graph."""
    xp = backend.get_array_module(a.data)
    if b is None:
        return Tensor(getattr(xp, name)(a.data))
    a, b = _pair(a, b)
    return Tensor(getattr(xp, name)(a.data, b.data))


# the piecewise-linear ops live in piecewise.py; code written before the split imports them here
from .piecewise import clamp, maximum, minimum, sign, where  # noqa: E402,F401
