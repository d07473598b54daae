"""Gradient clipping: torch.nn.utils.clip_grad_norm_ and clip_grad_value_.

clip_grad_norm_ treats all gradients as one long vector g and rescales it when its norm is above
max_norm:

    total_norm = || (||g_1||_p, ||g_2||_p, ...) ||_p        (= ||g||_p)
    g_i <- g_i * min(1, max_norm / (total_norm + 1e-6))

so the direction of the update is kept and only its length is capped (useful for RNNs, GANs and
in the first steps of any run). clip_grad_value_ clamps every entry to [-clip_value, clip_value].
Both change the ``.grad`` of the given parameters (the same Tensor objects, holding new arrays) and
skip parameters without a gradient.
"""
import math

import numpy as np

from .. import backend
from ..tensor import Tensor


def _grads(parameters):
    if isinstance(parameters, Tensor):
        parameters = [parameters]
    grads = []
    for i, p in enumerate(parameters):
        if not isinstance(p, Tensor):
            raise TypeError(f"gradient clipping takes Tensors, but parameter {i} is a "
                            f"{type(p).__name__}")
        if p.grad is not None:
            grads.append(p.grad)
    return grads


def vector_norm(array, ord):
    """The p-norm of all entries of a raw array, as torch.linalg.vector_norm: inf is the largest
    absolute value, -inf the smallest, 0 the number of non-zero entries."""
    xp = backend.get_array_module(array)
    a = xp.abs(array)
    if ord == math.inf:
        return a.max() if a.size else xp.zeros((), a.dtype)
    if ord == -math.inf:
        return a.min() if a.size else xp.asarray(math.inf, a.dtype)
    if ord == 0:
        return (a != 0).sum().astype(a.dtype)
    if ord == 1:
        return a.sum()
    if ord == 2:
        return xp.sqrt((a * a).sum())
    return (a ** ord).sum() ** (1.0 / ord)


def clip_grad_norm_(parameters, max_norm, norm_type=2.0, error_if_nonfinite=False, foreach=None):
    """Rescale the gradients of ``parameters`` so that their joint ``norm_type``-norm is at most
    ``max_norm``; return that norm, measured before clipping, as a 0-d Tensor.

    ``norm_type`` may be ``float('inf')`` (or ``'inf'``). With ``error_if_nonfinite`` a NaN or
    infinite total norm raises instead of scaling the gradients by it. ``foreach`` is accepted
    for torch's signature and ignored."""
    grads = _grads(parameters)
    max_norm, norm_type = float(max_norm), float(norm_type)
    if not grads:
        return Tensor(np.zeros((), np.float32))
    xp = backend.get_array_module(grads[0].data)
    dtype = np.result_type(*[g.dtype for g in grads])
    norms = xp.stack([vector_norm(g.data, norm_type).astype(dtype) for g in grads])
    total = vector_norm(norms, norm_type)
    if error_if_nonfinite and not bool(xp.isfinite(total)):
        raise RuntimeError(
            f"The total norm of order {norm_type} for gradients from `parameters` is non-finite "
            f"({float(total)}), so it cannot be clipped. To disable this error and scale the "
            "gradients by the non-finite norm anyway, set `error_if_nonfinite=False`")
    coef = xp.minimum(max_norm / (total + 1e-6), 1.0)
    for g in grads:
        # a new array, not an in-place product: a gradient array may be shared with another
        g.data = g.data * coef.astype(g.dtype)
    return Tensor(total)


def clip_grad_value_(parameters, clip_value, foreach=None):
    """Clamp every gradient entry of ``parameters`` to [-clip_value, clip_value]."""
    clip_value = float(clip_value)
    for g in _grads(parameters):
        xp = backend.get_array_module(g.data)
        g.data = xp.clip(g.data, -clip_value, clip_value)
