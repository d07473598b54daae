"""Normalization layers: BatchNorm1d/2d, LayerNorm, GroupNorm (formulas in nn.functional).

BatchNorm keeps running estimates of each channel's mean and variance as buffers
(``running_mean``, ``running_var``, ``num_batches_tracked``, torch's names): training mode
normalizes with the batch's statistics and updates the estimates,
  running = (1 - momentum) * running + momentum * batch statistic   (momentum=None: the plain
  average of all batches so far), the variance estimate being unbiased;
evaluation mode normalizes with the estimates, so a single example gives a deterministic output.
"""
import numpy as np

from .. import backend
from ..tensor import Tensor
from . import functional as F
from . import init
from .layers import empty_parameter
from .module import Module


class _BatchNorm(Module):
    expected_ndims = ()

    def __init__(self, num_features, eps=1e-5, momentum=0.1, affine=True,
                 track_running_stats=True, device=None, dtype=None, *, bias=True):
        super().__init__()
        self.num_features, self.eps, self.momentum = num_features, eps, momentum
        self.affine, self.track_running_stats = affine, track_running_stats
        if affine:
            self.weight = empty_parameter(num_features, device=device, dtype=dtype)
        else:
            self.register_parameter("weight", None)
        if affine and bias:
            self.bias = empty_parameter(num_features, device=device, dtype=dtype)
        else:
            self.register_parameter("bias", None)
        if track_running_stats:
            stats = empty_parameter(num_features, device=device, dtype=dtype)
            self.register_buffer("running_mean", Tensor(stats.data.copy()))
            self.register_buffer("running_var", Tensor(stats.data.copy()))
            self.register_buffer("num_batches_tracked", Tensor(backend.to_device(
                np.array(0, dtype=np.int64), device or "cpu")))
        else:
            for name in ("running_mean", "running_var", "num_batches_tracked"):
                self.register_buffer(name, None)
        self.reset_parameters()

    def reset_running_stats(self):
        if self.track_running_stats:
            init.zeros_(self.running_mean)
            init.ones_(self.running_var)
            init.zeros_(self.num_batches_tracked)

    def reset_parameters(self):
        self.reset_running_stats()
        if self.weight is not None:
            init.ones_(self.weight)
        if self.bias is not None:
            init.zeros_(self.bias)

    def forward(self, input):
        if input.ndim not in self.expected_ndims:
            raise ValueError(f"{type(self).__name__} expected "
                             f"{' or '.join(f'{d}D' for d in self.expected_ndims)} input (got "
                             f"{input.ndim}D input of shape {input.shape})")
        factor = 0.0 if self.momentum is None else self.momentum
        if self.training and self.track_running_stats and self.num_batches_tracked is not None:
            self.num_batches_tracked.add_(1)
            if self.momentum is None:  # cumulative average: the k-th batch gets weight 1/k
                factor = 1.0 / float(self.num_batches_tracked.item())
        use_batch_stats = self.training or (self.running_mean is None
                                            and self.running_var is None)
        track = not self.training or self.track_running_stats
        return F.batch_norm(input, self.running_mean if track else None,
                            self.running_var if track else None, self.weight, self.bias,
                            use_batch_stats, factor, self.eps)

    def extra_repr(self):
        return (f"{self.num_features}, eps={self.eps}, momentum={self.momentum}, "
                f"affine={self.affine}, bias={self.bias is not None}, "
                f"track_running_stats={self.track_running_stats}")


class BatchNorm1d(_BatchNorm):
    """Batch normalization of (N, C) or (N, C, L) inputs over N (and L), per channel C."""
    expected_ndims = (2, 3)


class BatchNorm2d(_BatchNorm):
    """Batch normalization of (N, C, H, W) inputs over N, H and W, per channel C."""
    expected_ndims = (4,)


class LayerNorm(Module):
    """Normalize each example over its last dims (normalized_shape), then scale and shift
    elementwise (weight ones, bias zeros, both of normalized_shape)."""

    def __init__(self, normalized_shape, eps=1e-5, elementwise_affine=True, bias=True,
                 device=None, dtype=None):
        super().__init__()
        self.normalized_shape = (normalized_shape,) if isinstance(normalized_shape, int) \
            else tuple(normalized_shape)
        self.eps, self.elementwise_affine = eps, elementwise_affine
        if elementwise_affine:
            self.weight = empty_parameter(*self.normalized_shape, device=device, dtype=dtype)
            init.ones_(self.weight)
        else:
            self.register_parameter("weight", None)
        if elementwise_affine and bias:
            self.bias = empty_parameter(*self.normalized_shape, device=device, dtype=dtype)
        else:
            self.register_parameter("bias", None)

    def forward(self, input):
        return F.layer_norm(input, self.normalized_shape, self.weight, self.bias, self.eps)

    def extra_repr(self):
        return (f"{self.normalized_shape}, eps={self.eps}, "
                f"elementwise_affine={self.elementwise_affine}, bias={self.bias is not None}")


class GroupNorm(Module):
    """Normalize each example over groups of channels (and all positions); per-channel affine."""

    def __init__(self, num_groups, num_channels, eps=1e-5, affine=True, device=None, dtype=None,
                 *, bias=True):
        super().__init__()
        if num_channels % num_groups:
            raise ValueError(f"num_channels ({num_channels}) must be divisible by num_groups "
                             f"({num_groups})")
        self.num_groups, self.num_channels, self.eps, self.affine = \
            num_groups, num_channels, eps, affine
        if affine:
            self.weight = empty_parameter(num_channels, device=device, dtype=dtype)
            init.ones_(self.weight)
        else:
            self.register_parameter("weight", None)
        if affine and bias:
            self.bias = empty_parameter(num_channels, device=device, dtype=dtype)
        else:
            self.register_parameter("bias", None)

    def forward(self, input):
        return F.group_norm(input, self.num_groups, self.weight, self.bias, self.eps)

    def extra_repr(self):
        return (f"{self.num_groups}, {self.num_channels}, eps={self.eps}, affine={self.affine}, "
                f"bias={self.bias is not None}")
