"""Running sums and products along a dim: cumsum, cumprod, and prod built from cumprod.

  cumsum: y_j = sum_{i <= j} x_i;   dx_k = sum_{j >= k} g_j  (a cumsum of g from the end)
  cumprod: y_j = prod_{i <= j} x_i; dx_k = sum_{j >= k} g_j y_j / x_k where no x is 0;
      where one is, dx_k = sum_{j >= k} g_j prod_{i <= j, i != k} x_i, computed as the cumprod
      of the n copies of x that have a 1 in place k (O(n^2) memory, only in that case)
Both backwards are Tensor ops (cumsum and cumprod again), so gradients of any order work.
"""
import numpy as np

from .. import backend
from ..autograd import Function
from ..tensor import Tensor
from .piecewise import where
from .shape import normalize_dim, transpose


class CumsumOp(Function):
    """cumsum along ``dim``; ``reverse=True`` sums from the end (the backward of cumsum)."""

    reverse = False

    def forward(self, x):
        xp = backend.get_array_module(x)
        if self.reverse:
            return xp.flip(xp.cumsum(xp.flip(x, self.dim), axis=self.dim), self.dim).copy()
        return xp.cumsum(x, axis=self.dim)

    def backward(self, g):
        return CumsumOp.apply(g, dim=self.dim, reverse=not self.reverse)


class CumprodOp(Function):
    def forward(self, x):
        return backend.get_array_module(x).cumprod(x, axis=self.dim)

    def backward(self, g):
        (x,), d = self.inputs, self.dim
        if not bool((x.data == 0).any()):
            return CumsumOp.apply(g * self.output, dim=d, reverse=True) / x
        return _cumprod_grad_with_zeros(x, g, d)


def _cumprod_grad_with_zeros(x, g, d):
    xp = backend.get_array_module(x.data)
    xt, gt = transpose(x, d, -1), transpose(g, d, -1)            # (..., n)
    n = xt.shape[-1]
    eye = Tensor(xp.eye(n, dtype=bool))
    one = Tensor(xp.ones((), dtype=x.dtype))
    copies = where(eye, one, xt.unsqueeze(-2))                  # (..., k, j): x with x_k = 1
    partial = CumprodOp.apply(copies, dim=copies.ndim - 1)      # prod_{i <= j, i != k} x_i
    later = Tensor(xp.triu(xp.ones((n, n), dtype=x.dtype)))      # [j >= k]
    grad = (partial * later * gt.unsqueeze(-2)).sum(-1)
    return transpose(grad, d, -1)


def _integer_sum_dtype(x):
    """torch accumulates bool and integer tensors in int64."""
    return x.long() if x.dtype.kind in "biu" and x.dtype != np.int64 else x


def cumsum(x, dim):
    """torch.cumsum: the running sum along ``dim``, y_j = x_0 + ... + x_j.

    The output has x's shape (a 0-d x is returned as it is; dim is 0 or -1 there); int and bool
    inputs sum in int64. The gradient is the running sum of g taken from the end,
    dx_k = g_k + ... + g_{n-1}.

        >>> mg.cumsum(mg.tensor([1., 2., 3.]), 0)
        tensor([1., 3., 6.])
    """
    x = _integer_sum_dtype(x)
    if x.ndim == 0:
        normalize_dim(dim, 0)
        return x
    return CumsumOp.apply(x, dim=normalize_dim(dim, x.ndim))


def cumprod(x, dim):
    """torch.cumprod: the running product along ``dim``, y_j = x_0 * ... * x_j.

    The output has x's shape; int and bool inputs multiply in int64. The gradient is
    dx_k = sum_{j >= k} g_j y_j / x_k, computed without the division where an element is 0 (so
    it is right there too); gradients of any order work.

        >>> mg.cumprod(mg.tensor([1., 2., 3.]), 0)
        tensor([1., 2., 6.])
    """
    x = _integer_sum_dtype(x)
    if x.ndim == 0:
        normalize_dim(dim, 0)
        return x
    return CumprodOp.apply(x, dim=normalize_dim(dim, x.ndim))


def prod(x, dim=None, keepdim=False):
    """torch.prod: the product of the elements over ``dim`` (one int), or of all of them when
    dim is None.

    The reduced dim is dropped unless ``keepdim``; an empty product is 1; int and bool inputs
    give int64. The gradient is prod / x_k for each element (taken from cumprod, so it is right
    where elements are 0).

        >>> mg.prod(mg.tensor([[1., 2.], [3., 4.]]), 1)
        tensor([ 2., 12.])
    """
    if dim is None:
        out = cumprod(x.reshape(-1), 0)[-1] if x.numel() else _integer_sum_dtype(x).sum() + 1
        return out.reshape((1,) * x.ndim) if keepdim else out
    if x.ndim == 0:
        normalize_dim(dim, 0)
        return _integer_sum_dtype(x)
    d = normalize_dim(dim, x.ndim)
    if x.shape[d] == 0:
        ones = backend.get_array_module(x.data).ones(
            x.shape[:d] + ((1,) if keepdim else ()) + x.shape[d + 1:], dtype=x.dtype)
        return _integer_sum_dtype(Tensor(ones))
    y = cumprod(x, d)
    last = (slice(None),) * d + (slice(-1, None) if keepdim else -1,)
    return y[last]
