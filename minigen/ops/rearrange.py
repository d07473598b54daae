"""Rearranging elements: flip, roll, tril, triu, sort, topk.

  flip, roll: permutations of the elements; the gradient is the inverse permutation of g
              (flip again, roll back).
  tril, triu: where(mask, x, 0); the gradient is g under the same mask.
  sort, topk: the values are x read at argsort's indices (a gather), so the gradient goes back
              to the positions they came from; it stays attached to x (zero second derivative).
"""
from collections import namedtuple

import numpy as np

from .. import backend
from ..autograd import Function
from ..tensor import Tensor
from .index import select_by_value
from .piecewise import where
from .shape import normalize_dim, normalize_dims, reshape


class FlipOp(Function):
    def forward(self, x):
        return backend.get_array_module(x).flip(x, axis=self.dims).copy()

    def backward(self, g):
        return FlipOp.apply(g, dims=self.dims)


class RollOp(Function):
    def forward(self, x):
        return backend.get_array_module(x).roll(x, self.shifts, axis=self.dims)

    def backward(self, g):
        return RollOp.apply(g, shifts=tuple(-s for s in self.shifts), dims=self.dims)


def flip(x, dims):
    """torch.flip: the order of the elements reversed along each of ``dims``."""
    dims = normalize_dims((dims,) if isinstance(dims, int) else tuple(dims), x.ndim)
    return FlipOp.apply(x, dims=dims) if dims else x


def roll(x, shifts, dims=None):
    """torch.roll: elements shifted by ``shifts`` along ``dims``, wrapping around; with dims None
    the tensor is rolled as if flattened."""
    if dims is None:
        if not isinstance(shifts, int):
            if len(shifts) != 1:
                raise ValueError(f"roll without dims takes one shift, got {shifts}")
            shifts = shifts[0]
        return reshape(roll(reshape(x, (-1,)), shifts, 0), x.shape)
    shifts = (shifts,) if isinstance(shifts, int) else tuple(shifts)
    dims = (dims,) if isinstance(dims, int) else tuple(dims)
    if len(shifts) != len(dims):
        raise ValueError(f"roll needs one shift per dim, got shifts {shifts} and dims {dims}")
    dims = tuple(normalize_dim(d, x.ndim) for d in dims)
    return RollOp.apply(x, shifts=tuple(int(s) for s in shifts), dims=dims)


def _triangle(x, diagonal, lower):
    if x.ndim < 2:
        raise ValueError(f"{'tril' if lower else 'triu'} needs a tensor of at least 2 dims, got "
                         f"shape {x.shape}")
    xp = backend.get_array_module(x.data)
    n, m = x.shape[-2:]
    rows, cols = xp.arange(n).reshape(-1, 1), xp.arange(m)
    keep = (cols - rows <= diagonal) if lower else (cols - rows >= diagonal)
    return where(Tensor(keep), x, Tensor(xp.zeros((), dtype=x.dtype)))


def tril(x, diagonal=0):
    """torch.tril: the elements on and below the ``diagonal``-th diagonal of the last two dims
    (the others are 0); diagonal > 0 keeps that many diagonals above the main one."""
    return _triangle(x, diagonal, True)


def triu(x, diagonal=0):
    """torch.triu: the elements on and above the ``diagonal``-th diagonal of the last two dims."""
    return _triangle(x, diagonal, False)


Sorted = namedtuple("Sorted", ["values", "indices"])


def sort(x, dim=-1, descending=False, stable=False):
    """torch.sort: (values, indices) along ``dim``; equal elements keep their order (a stable
    sort, whatever ``stable`` says), NaN counts as the largest value, as in torch."""
    if x.ndim == 0:
        normalize_dim(dim, 0)
        return Sorted(x, Tensor(backend.get_array_module(x.data).zeros((), dtype=np.int64)))
    d = normalize_dim(dim, x.ndim)
    xp = backend.get_array_module(x.data)
    if descending:  # ties keep their order: sort the flipped array, flip back, map positions
        n = x.shape[d]
        order = n - 1 - xp.flip(xp.argsort(xp.flip(x.data, d), axis=d, kind="stable"), d)
    else:
        order = xp.argsort(x.data, axis=d, kind="stable")
    indices = Tensor(order.astype(np.int64))
    return Sorted(select_by_value(x, d, indices), indices)


def topk(x, k, dim=-1, largest=True, sorted=True):
    """torch.topk: the k largest (or smallest) elements along ``dim``, as (values, indices),
    largest first."""
    d = normalize_dim(dim, x.ndim)
    n = x.shape[d] if x.ndim else 1
    if not 0 <= k <= n:
        raise ValueError(f"topk: k = {k} must lie in [0, {n}] for dim {dim} of shape {x.shape}")
    values, indices = sort(x, d, descending=largest)
    if x.ndim == 0:
        return Sorted(values, indices)
    first = (slice(None),) * d + (slice(0, k),)
    return Sorted(values[first], Tensor(indices.data[first]))
