"""Reductions: sum (primitive), amax/amin (primitive), and what is built from them.

  sum:  the gradient of each element is g, broadcast back over the reduced dims.
  amax: the gradient goes to the elements equal to the maximum, shared evenly among ties.
  mean = sum / n;  var = sum((x - mean)^2) / (n - correction);
  logsumexp(x) = m + log(sum(exp(x - m))) with m = max(x) held constant (numerical stability).
"""
from collections import namedtuple

import numpy as np

from .. import backend
from ..autograd import Function
from ..tensor import Tensor
from .shape import broadcast_to, normalize_dims, reshape, squeeze


def _kept_shape(shape, dims):
    return tuple(1 if i in dims else s for i, s in enumerate(shape))


class Sum(Function):
    def forward(self, x):
        self.in_shape = x.shape
        return x.sum(axis=self.dims, keepdims=self.keepdim)

    def backward(self, g):
        return broadcast_to(reshape(g, _kept_shape(self.in_shape, self.dims)), self.in_shape)


class Extreme(Function):
    """amax (largest=True) or amin over ``dims``."""

    def forward(self, x):
        xp = backend.get_array_module(x)
        y = (xp.amax if self.largest else xp.amin)(x, axis=self.dims, keepdims=True)
        hits = (x == y).astype(x.dtype)
        self.share = hits / hits.sum(axis=self.dims, keepdims=True)
        self.in_shape = x.shape
        return y if self.keepdim else y.reshape(tuple(
            s for i, s in enumerate(x.shape) if i not in self.dims))

    def backward(self, g):
        g = broadcast_to(reshape(g, _kept_shape(self.in_shape, self.dims)), self.in_shape)
        return g * Tensor(self.share)


def _check_float(x, what):
    if x.dtype.kind not in "fc":
        raise TypeError(f"{what} needs a floating point tensor, got dtype {x.dtype}")


def sum(x, dim=None, keepdim=False):
    dims = normalize_dims(dim, x.ndim)
    if x.dtype.kind == "b":
        x = x.long()
    return Sum.apply(x, dims=dims, keepdim=keepdim)


def _count(x, dims):
    n = 1
    for d in dims:
        n *= x.shape[d]
    return n


def mean(x, dim=None, keepdim=False):
    _check_float(x, "mean")
    dims = normalize_dims(dim, x.ndim)
    return sum(x, dims, keepdim) / float(_count(x, dims))


def var(x, dim=None, keepdim=False, correction=1):
    """Variance with Bessel's correction by default (``unbiased=True``), as torch."""
    _check_float(x, "var")
    dims = normalize_dims(dim, x.ndim)
    d = x - mean(x, dims, keepdim=True)
    return sum(d * d, dims, keepdim) / float(max(_count(x, dims) - int(correction), 0))


def amax(x, dim=None, keepdim=False):
    return _extreme(x, dim, keepdim, True)


def amin(x, dim=None, keepdim=False):
    return _extreme(x, dim, keepdim, False)


def _extreme(x, dim, keepdim, largest):
    if x.numel() == 0:
        raise ValueError(f"cannot take the {'max' if largest else 'min'} of an empty tensor "
                         f"(shape {x.shape})")
    return Extreme.apply(x, dims=normalize_dims(dim, x.ndim), keepdim=keepdim, largest=largest)


MaxMin = namedtuple("MaxMin", ["values", "indices"])


def max_or_min(x, dim, keepdim, largest):
    """``x.max()`` is the largest element (tied elements share its gradient, as in amax);
    ``x.max(dim)`` is (values, indices) as in torch, and the gradient of the values goes to the
    returned indices only (one element per slice, even where several tie)."""
    if dim is None:
        return _extreme(x, None, False, largest)
    if x.numel() == 0:
        _extreme(x, dim, keepdim, largest)  # raises naming the empty shape
    indices = argext(x, dim, True, largest)
    if x.ndim == 0:
        return MaxMin(x, indices)
    (d,) = normalize_dims(dim, x.ndim)
    xp = backend.get_array_module(x.data)
    # index every other dim with a broadcastable arange, dim d with the indices: a gather
    index = tuple(indices.data if i == d else
                  xp.arange(s).reshape(tuple(s if j == i else 1 for j in range(x.ndim)))
                  for i, s in enumerate(x.shape))
    values = x[index]
    if not keepdim:
        values, indices = squeeze(values, d), Tensor(indices.data.squeeze(d))
    return MaxMin(values, indices)


def argext(x, dim, keepdim, largest):
    xp = backend.get_array_module(x.data)
    find = xp.argmax if largest else xp.argmin
    if dim is None:
        return Tensor(xp.asarray(find(x.data)).astype(np.int64))
    if x.ndim == 0:  # a 0-d tensor takes dim 0 or -1 and its only element is at index 0
        normalize_dims(dim, 0)
        return Tensor(xp.zeros((), dtype=np.int64))
    (d,) = normalize_dims(dim, x.ndim)
    return Tensor(find(x.data, axis=d, keepdims=keepdim).astype(np.int64))


def logsumexp(x, dim, keepdim=False):
    _check_float(x, "logsumexp")
    dims = normalize_dims(dim, x.ndim)
    xp = backend.get_array_module(x.data)
    m = xp.amax(x.data, axis=dims, keepdims=True)
    m = Tensor(xp.where(xp.isfinite(m), m, 0))  # all -inf rows give -inf, not NaN
    out = sum((x - m).exp(), dims, keepdim=True).log() + m
    return out if keepdim else squeeze(out, dims)


def softmax(x, dim):
    _check_float(x, "softmax")
    dims = normalize_dims(dim, x.ndim)
    e = (x - Tensor(backend.get_array_module(x.data).amax(x.data, axis=dims, keepdims=True))).exp()
    return e / sum(e, dims, keepdim=True)


def log_softmax(x, dim):
    return x - logsumexp(x, dim, keepdim=True)
