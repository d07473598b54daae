"""nn.functional (imported as F): the stateless functions that layers are built from.

Names, argument names, defaults and semantics are torch.nn.functional's. The rule of the house:
primitive ops (a forward on arrays and a backward in Tensor ops) live in minigen/ops/, and
everything here is a composite of them, so its gradient of any order comes from theirs. Some
functions are re-exported primitives (linear, conv2d, conv_transpose2d, relu, leaky_relu, silu,
softplus's core, erf); pooling, resizing and conv1d are in nn/functional_pool.py, the losses in
nn/functional_losses.py, both re-exported here. The reductions that torch has as Tensor methods
but that are composites (var, std, logsumexp, softmax, log_softmax) are here too, and the Tensor
methods call them.

Activations (x elementwise):
  relu(x) = max(x, 0)                      leaky_relu(x) = x if x > 0 else negative_slope * x
  elu(x) = x if x > 0 else alpha (exp(x) - 1)          silu(x) = x sigmoid(x)
  gelu(x) = x Phi(x) = 0.5 x (1 + erf(x / sqrt(2)))    (approximate='tanh':
            0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))))
  softplus(x) = log(1 + exp(beta x)) / beta, and x itself where beta x > threshold
Reductions:
  var = sum((x - mean)^2) / (n - correction);   std = sqrt(var)
  logsumexp(x) = m + log(sum(exp(x - m))) with m = max(x) held constant (numerical stability)
  softmax(x)_i = exp(x_i - m) / sum_j exp(x_j - m);   log_softmax = x - logsumexp(x)
Normalizations (statistics over the dims named, biased variance, then an optional affine map):
  y = (x - mean) / sqrt(var + eps) * weight + bias
"""
import math
import warnings

import numpy as np

from .. import backend, creation
from ..autograd import no_grad
from ..ops import activation as _activation
from ..ops import join as _join
from ..ops import linalg as _linalg
from ..ops.normalization import group_norm, layer_norm  # noqa: F401  (fused primitives)
from ..ops import reduce as _reduce
from ..ops.conv import conv2d, conv_transpose2d  # noqa: F401  (re-exported)
from ..ops.elementwise import as_tensor_like
from ..ops.piecewise import leaky_relu as _leaky_relu
from ..ops.piecewise import where
from ..ops.shape import normalize_dims
from ..tensor import Tensor
from .functional_pool import (adaptive_avg_pool2d, avg_pool2d, conv1d,  # noqa: F401
                              interpolate, max_pool2d)

# --------------------------------------------------------------------------- linear, padding


def linear(input, weight, bias=None):
    """y = x W^T + b, for x of shape (..., in_features) and W (out_features, in_features)."""
    if input.shape[-1:] != weight.shape[1:]:
        raise ValueError(f"linear: input of shape {input.shape} has {input.shape[-1]} features but "
                         f"the weight of shape {weight.shape} expects {weight.shape[1]}")
    if input.ndim == 2:
        return _linalg.linear(input, weight, bias)  # one fused node (ops/linalg.py)
    # other ranks as one 2-D product, so the weight gradient is one product, not a batch of them
    out = _linalg.linear(input.reshape(-1, input.shape[-1]), weight, bias)
    return out.reshape(input.shape[:-1] + (weight.shape[0],))


def pad(input, pad, mode="constant", value=None):
    """Pad the last dims; ``pad`` lists (left, right) widths from the last dim backwards, and a
    negative width crops. Modes 'constant' (``value``, default 0), 'reflect', 'replicate' and
    'circular', with torch's limits (see minigen.ops.join.pad).

        >>> F.pad(mg.ones(1, 2), (1, 2)).shape     # (1, 2 + 1 + 2)
        (1, 5)
    """
    return _join.pad(input, pad, mode, 0.0 if value is None else value)


# --------------------------------------------------------------------------- activations


def relu(input, inplace=False):
    """torch.nn.functional.relu: max(x, 0) elementwise; the gradient is g where x > 0, else 0.
    ``inplace`` is accepted for torch compatibility; a new tensor is returned."""
    return input.relu()


def leaky_relu(input, negative_slope=0.01, inplace=False):
    """torch.nn.functional.leaky_relu: x where x > 0, else negative_slope * x; the gradient is g
    or negative_slope * g. ``inplace`` is accepted for torch compatibility."""
    return _leaky_relu(input, negative_slope)


def elu(input, alpha=1.0, inplace=False):
    """torch.nn.functional.elu: x where x > 0, else alpha * (exp(x) - 1); the gradient is g, or
    g * alpha * exp(x) for x <= 0. ``inplace`` is accepted for torch compatibility."""
    # exp of min(x, 0): the branch that where() drops must not overflow, or its zero gradient
    # times an infinite exp would give NaN
    negative = (input.clamp(max=0.0).exp() - 1.0) * alpha
    return where(input.data > 0, input, negative)


def silu(input, inplace=False):
    """torch.nn.functional.silu (swish): x * sigmoid(x); the gradient is
    g * sigmoid(x) * (1 + x * (1 - sigmoid(x)))."""
    return _activation.silu(input)


def gelu(input, approximate="none"):
    """torch.nn.functional.gelu: x * Phi(x), Phi the standard normal CDF, 0.5 * (1 + erf(x /
    sqrt(2))); with approximate='tanh', 0.5 * x * (1 + tanh(sqrt(2 / pi) * (x + 0.044715 x^3))).
    Differentiable through erf (or tanh)."""
    if approximate == "none":
        return input * 0.5 * (_activation.erf(input * (1.0 / math.sqrt(2.0))) + 1.0)
    if approximate == "tanh":
        inner = (input + input * input * input * 0.044715) * math.sqrt(2.0 / math.pi)
        return input * 0.5 * (inner.tanh() + 1.0)
    raise ValueError(f"gelu: approximate must be 'none' or 'tanh', got {approximate!r}")


def sigmoid(input):
    """torch.nn.functional.sigmoid: 1 / (1 + exp(-x)); the gradient is g * y * (1 - y)."""
    return input.sigmoid()


def tanh(input):
    """torch.nn.functional.tanh: the hyperbolic tangent; the gradient is g * (1 - y^2)."""
    return input.tanh()


def softplus(input, beta=1.0, threshold=20.0):
    """torch.nn.functional.softplus: log(1 + exp(beta x)) / beta, and x itself where
    beta x > threshold (where the two agree to float precision); the gradient is
    g * sigmoid(beta x)."""
    scaled = input * beta if beta != 1 else input
    soft = _activation.softplus(scaled)
    if beta != 1:
        soft = soft / beta
    return where(scaled.data > threshold, input, soft)


def logsigmoid(input):
    """log(sigmoid(x)) = -softplus(-x), finite for any x."""
    return -_activation.softplus(-input)


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
    dim = _softmax_dim(input, dim, "softmax")
    _reduce.check_float(input, "softmax")
    dims = normalize_dims(dim, input.ndim)
    e = (input - Tensor(backend.get_array_module(input.data).amax(
        input.data, axis=dims, keepdims=True))).exp()
    return e / e.sum(dims, keepdim=True)


def log_softmax(input, dim=None, dtype=None):
    """x_i - logsumexp_j(x_j) along ``dim``."""
    if dtype is not None:
        input = input.to(dtype)
    dim = _softmax_dim(input, dim, "log_softmax")
    return input - logsumexp(input, dim, keepdim=True)


# --------------------------------------------------------------------------- reductions (Tensor methods)


def logsumexp(input, dim, keepdim=False):
    """log(sum(exp(x))) over ``dim``, computed as m + log(sum(exp(x - m))) with m the maximum,
    so it neither overflows nor underflows; rows of -inf give -inf."""
    _reduce.check_float(input, "logsumexp")
    dims = _reduce.reduced_dims(dim, input.ndim)
    xp = backend.get_array_module(input.data)
    m = xp.amax(input.data, axis=dims, keepdims=True)
    m = Tensor(xp.where(xp.isfinite(m), m, 0))  # all -inf rows give -inf, not NaN
    out = (input - m).exp().sum(dims, keepdim=True).log() + m
    return out if keepdim else out.squeeze(dims)


def var(input, dim=None, correction=1, keepdim=False):
    """The variance over ``dim``: sum((x - mean)^2) / (n - correction); correction=1 (torch's
    unbiased=True, the default) is Bessel's correction, 0 the biased (population) variance."""
    _reduce.check_float(input, "var")
    dims = _reduce.reduced_dims(dim, input.ndim)
    d = input - input.mean(dims, keepdim=True)
    n = _reduce.count(input, dims)
    return (d * d).sum(dims, keepdim) / float(max(n - int(correction), 0))


def std(input, dim=None, correction=1, keepdim=False):
    """torch.std: the standard deviation over ``dim``, sqrt(var(input, dim, correction)).

    ``dim`` is an int, a tuple or None (all dims); the reduced dims are dropped unless
    ``keepdim``; correction=1 (the default) divides by n - 1, 0 by n. The gradient is
    (x - mean) / ((n - correction) * std), so it has none where std is 0.

        >>> mg.std(mg.tensor([[1., 3.], [2., 6.]]), dim=1, correction=0)
        tensor([1., 2.])
    """
    return var(input, dim, correction, keepdim).sqrt()


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
