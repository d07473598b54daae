"""Elementwise ops: arithmetic with broadcasting, unary math, where, comparisons.

The local derivatives, as a table (y is the output, g the incoming gradient):
  a + b: g, g          a - b: g, -g          a * b: g b, g a         a / b: g / b, -g y / b
  a ** c: g c a^(c-1)  exp: g y   log: g / x   sqrt: g / (2 y)   tanh: g (1 - y^2)
  sigmoid: g y (1 - y)   relu: g [x > 0]   abs: g sign(x)   clamp: g [lo <= x <= hi]
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


class Add(Function):
    def forward(self, a, b):
        return a + b

    def backward(self, g):
        a, b = self.inputs
        return (sum_to(g, a.shape) if _need(self, 0) else None,
                sum_to(g, b.shape) if _need(self, 1) else None)


class Sub(Function):
    def forward(self, a, b):
        return a - b

    def backward(self, g):
        a, b = self.inputs
        return (sum_to(g, a.shape) if _need(self, 0) else None,
                sum_to(-g, b.shape) if _need(self, 1) else None)


class Mul(Function):
    def forward(self, a, b):
        return a * b

    def backward(self, g):
        a, b = self.inputs
        return (sum_to(g * b, a.shape) if _need(self, 0) else None,
                sum_to(g * a, b.shape) if _need(self, 1) else None)


class Div(Function):
    def forward(self, a, b):
        y = a / b
        if a.dtype.kind not in "fc":  # int / int gives the default float dtype, as in torch
            y = y.astype(get_default_dtype())  # (NumPy's is float64)
        return y

    def backward(self, g):
        a, b = self.inputs
        return (sum_to(g / b, a.shape) if _need(self, 0) else None,
                sum_to(-g * self.output / b, b.shape) if _need(self, 1) else None)


class PowScalar(Function):
    def forward(self, x):
        return x ** self.exponent

    def backward(self, g):
        (x,), c = self.inputs, self.exponent
        if c == 0:
            return g * 0.0
        if c == 1:
            return g
        return g * (c * pow(x, c - 1))


class Pow(Function):
    """a ** b with both tensors; d/db = y log(a), taken as 0 where a == 0 (as torch does)."""

    def forward(self, a, b):
        return a ** b

    def backward(self, g):
        a, b = self.inputs
        ga = gb = None
        if _need(self, 0):
            # at a == b == 0 the factor b * a^(b-1) is 0 * inf; its value is 0 (as in torch)
            base = where((a.data == 0) & (b.data == 0), 1.0, a)
            ga = sum_to(g * b * base ** (b - 1), a.shape)
        if _need(self, 1):
            # log(a) is taken as 0 where a == 0 (log of 1), so 0 ** b has no NaN gradient in b
            gb = sum_to(g * self.output * where(a.data == 0, 1.0, a).log(), b.shape)
        return ga, gb


class Neg(Function):
    def forward(self, x):
        return -x

    def backward(self, g):
        return -g


class Exp(Function):
    def forward(self, x):
        return backend.get_array_module(x).exp(x)

    def backward(self, g):
        return g * self.output


class Log(Function):
    def forward(self, x):
        return backend.get_array_module(x).log(x)

    def backward(self, g):
        return g / self.inputs[0]


class Sqrt(Function):
    def forward(self, x):
        return backend.get_array_module(x).sqrt(x)

    def backward(self, g):
        return g / (2.0 * self.output)


class Tanh(Function):
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


class Sigmoid(Function):
    def forward(self, x):
        return sigmoid_array(x)

    def backward(self, g):
        y = self.output
        return g * (y * (1.0 - y))


class Sin(Function):
    def forward(self, x):
        return backend.get_array_module(x).sin(x)

    def backward(self, g):
        return g * self.inputs[0].cos()


class Cos(Function):
    def forward(self, x):
        return backend.get_array_module(x).cos(x)

    def backward(self, g):
        return -g * self.inputs[0].sin()


class _Masked(Function):
    """An op whose derivative is a constant factor per element (relu, abs, clamp): g * factor."""

    def backward(self, g):
        return g * Tensor(self.factor)


class Relu(_Masked):
    def forward(self, x):
        self.factor = (x > 0).astype(x.dtype)
        return x * self.factor


class Abs(_Masked):
    def forward(self, x):
        xp = backend.get_array_module(x)
        self.factor = xp.sign(x)
        return xp.abs(x)


class Clamp(_Masked):
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


class Extremum(Function):
    """maximum / minimum of two tensors; a tie sends half the gradient to each (as torch)."""

    def forward(self, a, b):
        xp = backend.get_array_module(a, b)
        first = (a > b) if self.largest else (a < b)
        self.share = first.astype(a.dtype) + 0.5 * (a == b).astype(a.dtype)
        return xp.maximum(a, b) if self.largest else xp.minimum(a, b)

    def backward(self, g):
        a, b = self.inputs
        s = Tensor(self.share)
        return (sum_to(g * s, a.shape) if _need(self, 0) else None,
                sum_to(g * (1.0 - s), b.shape) if _need(self, 1) else None)


class Where(Function):
    """where(cond, a, b); the condition is a constant (a boolean array)."""

    def forward(self, a, b):
        return backend.get_array_module(a, b).where(self.cond, a, b)

    def backward(self, g):
        a, b = self.inputs
        zero = as_tensor_like(0.0, g)
        return (sum_to(Where.apply(g, zero, cond=self.cond), a.shape) if _need(self, 0) else None,
                sum_to(Where.apply(zero, g, cond=self.cond), b.shape) if _need(self, 1) else None)


class Cast(Function):
    def forward(self, x):
        self.in_dtype = x.dtype
        return x.astype(self.dtype)

    def backward(self, g):
        return g.to(self.in_dtype)


class ToDevice(Function):
    def forward(self, x):
        self.in_device = backend.device_of(x)
        return backend.to_device(x, self.device)

    def backward(self, g):
        return g.to(self.in_device)


class Clone(Function):
    def forward(self, x):
        return x.copy()

    def backward(self, g):
        return g


def add(a, b):
    return Add.apply(*_pair(a, b))


def sub(a, b):
    return Sub.apply(*_pair(a, b))


def mul(a, b):
    return Mul.apply(*_pair(a, b))


def div(a, b):
    return Div.apply(*_pair(a, b))


def pow(a, b):
    if isinstance(a, Tensor) and isinstance(b, (int, float)) and not isinstance(b, bool):
        if a.dtype.kind in "biu" and (isinstance(b, float) or b < 0):
            a = a.to(get_default_dtype())
        return PowScalar.apply(a, exponent=b)
    return Pow.apply(*_pair(a, b))


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
    return Neg.apply(x)


def clamp(x, min=None, max=None):
    if min is None and max is None:
        raise ValueError("clamp needs at least one of min and max")
    if x.dtype.kind in "biu" and (isinstance(min, float) or isinstance(max, float)):
        x = x.to(get_default_dtype())  # a float bound makes the result float, as in torch
    if isinstance(min, Tensor) or isinstance(max, Tensor):
        out = x if min is None else maximum(x, min)
        return out if max is None else minimum(out, max)
    return Clamp.apply(x, lo=min, hi=max)


def maximum(a, b):
    return Extremum.apply(*_pair(a, b), largest=True)


def minimum(a, b):
    return Extremum.apply(*_pair(a, b), largest=False)


def where(condition, input, other):
    """Elements of ``input`` where ``condition`` holds, else of ``other`` (differentiable in both)."""
    cond = condition.data if isinstance(condition, Tensor) else condition
    if not isinstance(input, Tensor) and not isinstance(other, Tensor):
        raise TypeError("where needs at least one of input and other to be a Tensor")
    a, b = _pair(input, other)
    xp = backend.get_array_module(a.data, b.data)
    cond = xp.asarray(cond)
    if cond.dtype != bool:
        raise TypeError(f"where's condition must be a bool tensor, got dtype {cond.dtype}")
    broadcast_shapes(cond.shape, a.shape, b.shape)  # raises naming the three shapes
    return Where.apply(a, b, cond=cond)


def compare(name, a, b):
    """A comparison: a bool Tensor, outside the graph (comparisons have no gradient)."""
    a, b = _pair(a, b)
    return Tensor(getattr(backend.get_array_module(a.data), name)(a.data, b.data))


def logical(name, a, b=None):
    xp = backend.get_array_module(a.data)
    if b is None:
        return Tensor(getattr(xp, name)(a.data))
    a, b = _pair(a, b)
    return Tensor(getattr(xp, name)(a.data, b.data))


def sign(x):
    return Tensor(backend.get_array_module(x.data).sign(x.data))
