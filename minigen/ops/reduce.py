"""Reductions: sum, mean, amax/amin (primitives); max/min over a dim, argmax/argmin, all/any.

  sum:  the gradient of each element is g, broadcast back over the reduced dims.
  mean: g / n, broadcast back (one node rather than a sum and a division).
  amax: the gradient goes to the elements equal to the maximum, shared evenly among ties.
  max(dim): (values, indices); the gradient goes to the returned index of each slice only.
A ``dim`` of None or () reduces over every dim, as in torch. The composites built from these
(var, std, logsumexp, softmax) are in nn/functional.py.
"""
from collections import namedtuple

import numpy as np

from .. import backend
from ..autograd import Function
from ..tensor import Tensor
from .piecewise import masked
from .shape import broadcast_to, normalize_dims, reshape, squeeze


def _kept_shape(shape, dims):
    return tuple(1 if i in dims else s for i, s in enumerate(shape))


def reduced_dims(dim, ndim):
    """The dims a reduction runs over: None and () mean all of them (torch's convention)."""
    if isinstance(dim, (tuple, list)) and len(dim) == 0:
        dim = None
    return normalize_dims(dim, ndim)


class SumOp(Function):
    def forward(self, x):
        self.in_shape = x.shape
        return backend.array_sum(x, self.dims, self.keepdim)

    def backward(self, g):
        return broadcast_to(reshape(g, _kept_shape(self.in_shape, self.dims)), self.in_shape)


class MeanOp(Function):
    def forward(self, x):
        self.in_shape = x.shape
        if x.dtype in (np.float32, np.float64):
            return backend.array_sum(x, self.dims, self.keepdim) / x.dtype.type(self.count)
        return x.mean(axis=self.dims, keepdims=self.keepdim)

    def backward(self, g):
        return broadcast_to(reshape(g / float(self.count), _kept_shape(self.in_shape, self.dims)),
                            self.in_shape)


class ExtremeOp(Function):
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
        return masked(g, self.share, self.inputs[0])


def check_float(x, what):
    if x.dtype.kind not in "fc":
        raise TypeError(f"{what} needs a floating point tensor, got dtype {x.dtype}")


def sum(x, dim=None, keepdim=False):
    """The sum over ``dim`` (an int, a tuple, or None / () for all dims); bool tensors count
    (int64), as in torch."""
    dims = reduced_dims(dim, x.ndim)
    if x.dtype.kind == "b":
        x = x.long()
    return SumOp.apply(x, dims=dims, keepdim=keepdim)


def count(x, dims):
    """The number of elements a reduction over ``dims`` combines."""
    n = 1
    for d in dims:
        n *= x.shape[d]
    return n


def mean(x, dim=None, keepdim=False):
    """The mean over ``dim`` (None / () for all dims) of a floating tensor."""
    check_float(x, "mean")
    dims = reduced_dims(dim, x.ndim)
    return MeanOp.apply(x, dims=dims, keepdim=keepdim, count=count(x, dims))


def amax(x, dim=None, keepdim=False):
    """The largest value over ``dim``; tied elements share the gradient evenly (torch)."""
    return _extreme(x, dim, keepdim, True)


def amin(x, dim=None, keepdim=False):
    """The smallest value over ``dim``; tied elements share the gradient evenly (torch)."""
    return _extreme(x, dim, keepdim, False)


def _extreme(x, dim, keepdim, largest):
    if x.numel() == 0:
        raise ValueError(f"cannot take the {'max' if largest else 'min'} of an empty tensor "
                         f"(shape {x.shape})")
    return ExtremeOp.apply(x, dims=reduced_dims(dim, x.ndim), keepdim=keepdim, largest=largest)


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
    from .index import select_by_value
    values = select_by_value(x, d, indices)
    if not keepdim:
        values, indices = squeeze(values, d), Tensor(indices.data.squeeze(d))
    return MaxMin(values, indices)


def argext(x, dim, keepdim, largest):
    """argmax (largest) or argmin: int64 indices of the first extreme element, no gradient."""
    xp = backend.get_array_module(x.data)
    find = xp.argmax if largest else xp.argmin
    if dim is None:
        out = xp.asarray(find(x.data)).astype(np.int64)
        return Tensor(out.reshape((1,) * x.ndim) if keepdim else out)
    if x.ndim == 0:  # a 0-d tensor takes dim 0 or -1 and its only element is at index 0
        normalize_dims(dim, 0)
        return Tensor(xp.zeros((), dtype=np.int64))
    (d,) = normalize_dims(dim, x.ndim)
    return Tensor(find(x.data, axis=d, keepdims=keepdim).astype(np.int64))


def all_or_any(x, dim, keepdim, every):
    """all (every=True) or any over ``dim`` (None: all dims): a bool tensor, no gradient; for a
    uint8 tensor a uint8 tensor of 0s and 1s, as in torch. Unlike sum, torch's all and any take
    ``dim=()`` as no dims at all: each element is tested on its own (x != 0), nothing reduced."""
    xp = backend.get_array_module(x.data)
    if isinstance(dim, (tuple, list)) and len(dim) == 0:
        out = x.data != 0
    else:
        out = xp.asarray((xp.all if every else xp.any)(x.data, axis=reduced_dims(dim, x.ndim),
                                                       keepdims=keepdim))
    return Tensor(out.astype(np.uint8) if x.dtype == np.uint8 else out)
