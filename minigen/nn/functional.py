"""nn.functional (imported as F): the stateless functions that layers are built from.

Names, argument names, defaults and semantics are torch.nn.functional's. Almost everything here is
a composite of the primitive ops in minigen.ops, so its gradient (of any order) comes from theirs;
the exceptions are erf and softplus (nn/primitives.py, for accuracy) and the convolution and
pooling primitives of minigen/ops/conv.py and ops/pool.py, re-exported here. The losses live in
nn/functional_losses.py and are re-exported at the end.

Activations (x elementwise):
  relu(x) = max(x, 0)                      leaky_relu(x) = x if x > 0 else negative_slope * x
  elu(x) = x if x > 0 else alpha (exp(x) - 1)          silu(x) = x sigmoid(x)
  gelu(x) = x Phi(x) = 0.5 x (1 + erf(x / sqrt(2)))    (approximate='tanh':
            0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))))
  softplus(x) = log(1 + exp(beta x)) / beta, and x itself where beta x > threshold
Normalizations (statistics over the dims named, biased variance, then an optional affine map):
  y = (x - mean) / sqrt(var + eps) * weight + bias
"""
import math
import warnings

import numpy as np

from .. import backend, creation
from ..autograd import no_grad
from ..ops import index as _index
from ..ops.conv import conv2d, conv_transpose2d  # noqa: F401  (re-exported)
from ..ops.normalization import group_norm, layer_norm  # noqa: F401  (fused primitives)
from ..ops.pool import adaptive_avg_pool2d, avg_pool2d, interpolate, max_pool2d  # noqa: F401
from ..ops import reduce as _reduce
from ..ops.elementwise import as_tensor_like, where
from ..tensor import Tensor
from . import primitives

# --------------------------------------------------------------------------- linear, padding


def linear(input, weight, bias=None):
    """y = x W^T + b, for x of shape (..., in_features) and W (out_features, in_features)."""
    if input.shape[-1:] != weight.shape[1:]:
        raise ValueError(f"linear: input of shape {input.shape} has {input.shape[-1]} features but "
                         f"the weight of shape {weight.shape} expects {weight.shape[1]}")
    if input.ndim == 2:
        return primitives.linear(input, weight, bias)  # one fused node (nn/primitives.py)
    # other ranks as one 2-D product, so the weight gradient is one product, not a batch of them
    out = primitives.linear(input.reshape(-1, input.shape[-1]), weight, bias)
    return out.reshape(input.shape[:-1] + (weight.shape[0],))


def pad(input, pad, mode="constant", value=None):
    """Pad the last dims; ``pad`` lists (left, right) widths from the last dim backwards."""
    return _index.pad(input, pad, mode, 0.0 if value is None else value)


# --------------------------------------------------------------------------- activations


def relu(input, inplace=False):
    return input.relu()


def leaky_relu(input, negative_slope=0.01, inplace=False):
    # one multiply by a constant slope array: its derivative is that array (negative_slope at 0,
    # as torch), and a second derivative of zero
    slope = backend.get_array_module(input.data).where(input.data > 0, 1.0, negative_slope)
    return input * Tensor(slope.astype(input.dtype, copy=False))


def elu(input, alpha=1.0, inplace=False):
    # exp of min(x, 0): the branch that where() drops must not overflow, or its zero gradient
    # times an infinite exp would give NaN
    negative = (input.clamp(max=0.0).exp() - 1.0) * alpha
    return where(input.data > 0, input, negative)


def silu(input, inplace=False):
    return primitives.silu(input)


def gelu(input, approximate="none"):
    if approximate == "none":
        return input * 0.5 * (primitives.erf(input * (1.0 / math.sqrt(2.0))) + 1.0)
    if approximate == "tanh":
        inner = (input + input * input * input * 0.044715) * math.sqrt(2.0 / math.pi)
        return input * 0.5 * (inner.tanh() + 1.0)
    raise ValueError(f"gelu: approximate must be 'none' or 'tanh', got {approximate!r}")


def sigmoid(input):
    return input.sigmoid()


def tanh(input):
    return input.tanh()


def softplus(input, beta=1.0, threshold=20.0):
    scaled = input * beta if beta != 1 else input
    soft = primitives.softplus(scaled)
    if beta != 1:
        soft = soft / beta
    return where(scaled.data > threshold, input, soft)


def logsigmoid(input):
    """log(sigmoid(x)) = -softplus(-x), finite for any x."""
    return -primitives.softplus(-input)


def _softmax_dim(input, dim, name):
    if dim is None:  # torch's legacy implicit choice, with its warning
        warnings.warn(f"Implicit dimension choice for {name} has been deprecated. Change the call "
                      "to include dim=X as an argument.", stacklevel=3)
        dim = 0 if input.ndim in (0, 1, 3) else 1
    return dim


def softmax(input, dim=None, dtype=None):
    """exp(x_i) / sum_j exp(x_j) along ``dim`` (computed after subtracting the max)."""
    if dtype is not None:
        input = input.to(dtype)
    return _reduce.softmax(input, _softmax_dim(input, dim, "softmax"))


def log_softmax(input, dim=None, dtype=None):
    """x_i - logsumexp_j(x_j) along ``dim``."""
    if dtype is not None:
        input = input.to(dtype)
    return _reduce.log_softmax(input, _softmax_dim(input, dim, "log_softmax"))


# --------------------------------------------------------------------------- dropout, embedding


def dropout(input, p=0.5, training=True, inplace=False):
    """Zero each element with probability p and scale the rest by 1 / (1 - p), so the expected
    value is unchanged; the identity when not training. Uses minigen's seeded generator."""
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"dropout probability has to be between 0 and 1, but got {p}")
    if not training or p == 0.0:
        return input
    if p == 1.0:
        return input * 0.0
    u = creation.rand(*input.shape, dtype=input.dtype, device=input.device).data
    keep = (u < 1.0 - p).astype(input.dtype) * input.dtype.type(1.0 / (1.0 - p))
    return input * Tensor(keep)


def embedding(input, weight, padding_idx=None, max_norm=None, norm_type=2.0,
              scale_grad_by_freq=False, sparse=False):
    """Rows of ``weight`` (num_embeddings, dim) picked by the integer tensor ``input``; rows at
    ``padding_idx`` get no gradient."""
    if max_norm is not None or scale_grad_by_freq or sparse:
        raise ValueError("embedding: max_norm, scale_grad_by_freq and sparse are not supported")
    idx = input.data if isinstance(input, Tensor) else np.asarray(input)
    if idx.dtype.kind not in "iu":
        raise TypeError(f"embedding: indices must be an integer tensor, got dtype {idx.dtype}")
    n = weight.shape[0]
    if idx.size and (int(idx.min()) < 0 or int(idx.max()) >= n):
        raise IndexError(f"embedding: indices must lie in [0, {n}) for a weight of shape "
                         f"{weight.shape}; got values from {int(idx.min())} to {int(idx.max())}")
    out = weight[Tensor(idx)]
    if padding_idx is not None and out.requires_grad:
        xp = backend.get_array_module(out.data)
        blocked = xp.broadcast_to((idx == padding_idx % n)[..., None], out.shape)
        out = where(blocked, out.detach(), out)
    return out


def one_hot(tensor, num_classes=-1):
    """(..., num_classes) int64 indicator of the integer tensor's values."""
    idx = tensor.data
    if num_classes < 0:
        num_classes = int(idx.max()) + 1 if idx.size else 0
    xp = backend.get_array_module(idx)
    return Tensor((idx[..., None] == xp.arange(num_classes)).astype(np.int64))


# --------------------------------------------------------------------------- normalization


def _normalize(x, dims, eps):
    """(x - mean) / sqrt(var + eps) over ``dims``, with the biased variance."""
    centred = x - x.mean(dims, keepdim=True)
    var = (centred * centred).mean(dims, keepdim=True)
    return centred / (var + eps).sqrt(), var


def _affine(y, weight, bias, shape):
    if weight is not None:
        y = y * weight.reshape(shape)
    if bias is not None:
        y = y + bias.reshape(shape)
    return y


def batch_norm(input, running_mean, running_var, weight=None, bias=None, training=False,
               momentum=0.1, eps=1e-5):
    """Normalize each channel (dim 1) of (N, C, ...) over the batch and all other dims.

    training: batch statistics are used and, when running_mean/var are given, updated in place:
      running = (1 - momentum) running + momentum batch_stat, with the unbiased batch variance
      var * n / (n - 1) for running_var (as torch).
    otherwise: the running statistics are used (constants, no gradient).
    """
    if input.ndim < 2:
        raise ValueError(f"batch_norm needs input of shape (N, C, ...), got shape {input.shape}")
    channels = input.shape[1]
    for name, t in (("running_mean", running_mean), ("running_var", running_var),
                    ("weight", weight), ("bias", bias)):
        if t is not None and t.shape != (channels,):
            raise ValueError(f"batch_norm: the input of shape {input.shape} has {channels} "
                             f"channels but {name} has shape {t.shape}; expected ({channels},)")
    shape = (1, channels) + (1,) * (input.ndim - 2)
    dims = (0,) + tuple(range(2, input.ndim))
    if training:
        n = input.numel() // channels
        if n <= 1:
            raise ValueError(f"Expected more than 1 value per channel when training, got input "
                             f"size {input.shape}")
        y, var = _normalize(input, dims, eps)
        with no_grad():
            if running_mean is not None:
                mean = input.data.mean(axis=dims)
                running_mean.data[...] = (1 - momentum) * running_mean.data + momentum * mean
            if running_var is not None:
                unbiased = var.data.reshape(channels) * (n / (n - 1))
                running_var.data[...] = (1 - momentum) * running_var.data + momentum * unbiased
        return _affine(y, weight, bias, shape)
    if running_mean is None or running_var is None:
        raise ValueError("batch_norm in evaluation mode (training=False) needs running_mean and "
                         "running_var")
    # y = x * scale + shift with the constants folded: two ops instead of four
    scale = as_tensor_like(1.0 / backend.get_array_module(input.data).sqrt(
        running_var.data + eps), input)
    if weight is not None:
        scale = scale * weight
    shift = -(Tensor(running_mean.data) * scale)
    if bias is not None:
        shift = shift + bias
    return input * scale.reshape(shape) + shift.reshape(shape)


from .functional_losses import (binary_cross_entropy, binary_cross_entropy_with_logits,  # noqa
                                cross_entropy, gaussian_kl, l1_loss, mse_loss, nll_loss)
