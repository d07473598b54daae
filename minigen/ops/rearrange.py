"""Rearranging elements: flip, roll, tril, triu, sort, argsort, topk.

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
    """torch.flip: x with the order of its elements reversed along each of ``dims`` (an int or
    a sequence; negative dims count from the end). Same shape; the gradient is g flipped back.

        >>> mg.flip(mg.tensor([[1, 2], [3, 4]]), [1])
        tensor([[2, 1],
                [4, 3]])
    """
    dims = normalize_dims((dims,) if isinstance(dims, int) else tuple(dims), x.ndim)
    return FlipOp.apply(x, dims=dims) if dims else x


def roll(x, shifts, dims=None):
    """torch.roll: elements moved ``shifts`` places along ``dims``, those that fall off the end
    coming back at the start.

    ``shifts`` and ``dims`` are ints or equal-length sequences (one shift per dim, any sign or
    size); with dims None the tensor is rolled as if flattened. Same shape; the gradient is g
    rolled back.

        >>> mg.roll(mg.tensor([1, 2, 3, 4]), 1)
        tensor([4, 1, 2, 3])
    """
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
    """torch.tril: the lower triangle of the last two dims (any leading dims are a batch):
    elements on and below the ``diagonal``-th diagonal are kept, the others are 0.

    diagonal > 0 keeps that many diagonals above the main one, < 0 drops that many below. Same
    shape; the gradient is g under the same mask.

        >>> mg.tril(mg.ones(2, 3))
        tensor([[1., 0., 0.],
                [1., 1., 0.]])
    """
    return _triangle(x, diagonal, True)


def triu(x, diagonal=0):
    """torch.triu: the upper triangle of the last two dims: elements on and above the
    ``diagonal``-th diagonal are kept, the others are 0 (see tril). The gradient is g under the
    same mask.

        >>> mg.triu(mg.ones(2, 3), 1)
        tensor([[0., 1., 1.],
                [0., 0., 1.]])
    """
    return _triangle(x, diagonal, False)


Sorted = namedtuple("Sorted", ["values", "indices"])


def sort(x, dim=-1, descending=False, stable=False):
    """torch.sort: the elements along ``dim`` in ascending (or ``descending``) order, as a
    named tuple (values, indices) of x's shape; indices are int64 positions along dim.

    Equal elements keep their order (the sort is stable, whatever ``stable`` says) and NaN
    counts as the largest value, as in torch. The gradient of the values goes back to the
    positions they came from (a scatter of g by the indices); the indices have none.

        >>> mg.sort(mg.tensor([3., 1., 2.]), descending=True)
        Sorted(values=tensor([3., 2., 1.]), indices=tensor([0, 2, 1]))
    """
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


def argsort(x, dim=-1, descending=False, stable=False):
    """torch.argsort: the int64 indices that sort x along ``dim`` (sort's indices; stable, so
    ties keep their order). No gradient.

        >>> mg.argsort(mg.tensor([3., 1., 2.]))
        tensor([1, 2, 0])
    """
    return sort(x, dim, descending, stable).indices


def topk(x, k, dim=-1, largest=True, sorted=True):
    """torch.topk: the ``k`` largest (or, with largest=False, smallest) elements along ``dim``,
    as a named tuple (values, indices), largest (smallest) first.

    Both have x's shape with size k in dim (0 <= k <= that size); ties keep their order. The
    gradient of the values goes back to the positions they came from.

        >>> mg.topk(mg.tensor([1., 5., 3., 4.]), 2)
        Sorted(values=tensor([5., 4.]), indices=tensor([1, 3]))
    """
    d = normalize_dim(dim, x.ndim)
    n = x.shape[d] if x.ndim else 1
    if not 0 <= k <= n:
        raise ValueError(f"topk: k = {k} must lie in [0, {n}] for dim {dim} of shape {x.shape}")
    values, indices = sort(x, d, descending=largest)
    if x.ndim == 0:
        return Sorted(values, indices)
    first = (slice(None),) * d + (slice(0, k),)
    return Sorted(values[first], Tensor(indices.data[first]))
