"""Normalization layers: BatchNorm1d/2d, InstanceNorm2d, LayerNorm, GroupNorm (formulas in
nn.functional).

BatchNorm keeps running estimates of each channel's mean and variance as buffers
(``running_mean``, ``running_var``, ``num_batches_tracked``, torch's names): training mode
normalizes with the batch's statistics and updates the estimates,
  running = (1 - momentum) * running + momentum * batch statistic   (momentum=None: the plain
  average of all batches so far), the variance estimate being unbiased;
evaluation mode normalizes with the estimates, so a single example gives a deterministic output.
InstanceNorm2d with track_running_stats=True keeps the same buffers, from the batch average of
each example's statistics.
"""
import warnings

import numpy as np

from .. import backend
from ..tensor import Tensor
from . import functional as F
from . import init
from .layers import empty_parameter
from .module import Module


class _NormBase(Module):
    """What BatchNorm and InstanceNorm share: the per-channel parameters and running
    estimates, their initialization, and the repr."""

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

    def extra_repr(self):
        return (f"{self.num_features}, eps={self.eps}, momentum={self.momentum}, "
                f"affine={self.affine}, bias={self.bias is not None}, "
                f"track_running_stats={self.track_running_stats}")


class _BatchNorm(_NormBase):
    expected_ndims = ()

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


class BatchNorm1d(_BatchNorm):
    """Applies batch normalization over a 2-D or 3-D input, per channel C.

        y = (x - E[x]) / sqrt(Var[x] + eps) * gamma + beta

    where mean and (biased) variance are taken per channel over N (and L) in training mode
    (updating the running estimates), and the running estimates are used in evaluation mode.

    Args:
        num_features (int): C, the channels of the input.
        eps (float): added to the variance for numerical stability. Default: 1e-5.
        momentum (float or None): the weight of the current batch in the running estimates,
            running = (1 - momentum) * running + momentum * batch statistic; None gives the
            cumulative average of all batches so far. Default: 0.1.
        affine (bool): if True, the layer learns gamma and beta. Default: True.
        track_running_stats (bool): if True, the layer keeps running estimates and normalizes
            with them in evaluation mode; if False, it always uses the batch statistics.
            Default: True.
        device, dtype: where and in which floating dtype the parameters are created.
        bias (bool, keyword-only): minigen's extra: False learns gamma but no beta.
            Default: True.

    Shape:
        - Input: (N, C) or (N, C, L).
        - Output: (N, C) or (N, C, L), the shape of the input.

    Attributes:
        weight (Parameter or None): gamma, of shape (C,), initialized to ones.
        bias (Parameter or None): beta, of shape (C,), initialized to zeros.
        running_mean (buffer or None): of shape (C,), initialized to zeros.
        running_var (buffer or None): of shape (C,), initialized to ones (an unbiased estimate).
        num_batches_tracked (buffer or None): int64 scalar, the training batches seen so far.

    Examples::

        >>> m = mg.nn.BatchNorm1d(100)
        >>> y = m(mg.randn(20, 100) * 3 + 1)
        >>> y.shape
        (20, 100)
        >>> bool(y.mean(0).abs().max() < 1e-5), round(float(y.var(0, correction=0).mean()), 3)
        (True, 1.0)
        >>> m.num_batches_tracked
        tensor(1)
        >>> mg.nn.BatchNorm1d(100, affine=False)(mg.randn(20, 100, 7)).shape
        (20, 100, 7)
    """
    expected_ndims = (2, 3)


class BatchNorm2d(_BatchNorm):
    """Applies batch normalization over a 4-D input (a batch of images), per channel C.

        y = (x - E[x]) / sqrt(Var[x] + eps) * gamma + beta

    where mean and (biased) variance are taken per channel over N, H and W in training mode
    (updating the running estimates), and the running estimates are used in evaluation mode.

    Args:
        num_features, eps=1e-5, momentum=0.1, affine=True, track_running_stats=True,
            device=None, dtype=None, bias=True: as in BatchNorm1d, with num_features = C.

    Shape:
        - Input: (N, C, H, W).
        - Output: (N, C, H, W), the shape of the input.

    Attributes:
        weight, bias, running_mean, running_var, num_batches_tracked: as in BatchNorm1d, each
            per-channel one of shape (C,).

    Examples::

        >>> m = mg.nn.BatchNorm2d(16)
        >>> m(mg.randn(8, 16, 5, 5)).shape
        (8, 16, 5, 5)
        >>> m.eval()(mg.randn(1, 16, 5, 5)).shape  # the running estimates: one image is enough
        (1, 16, 5, 5)
    """
    expected_ndims = (4,)


class InstanceNorm2d(_NormBase):
    """Applies instance normalization over a 4-D input: each channel of each image on its own.

        y = (x - E[x]) / sqrt(Var[x] + eps) * gamma + beta

    where mean and (biased) variance are taken over H and W, separately for each example and
    channel, and gamma and beta (with affine=True) are per channel. As GroupNorm with one group
    per channel, in training and evaluation mode alike, unless track_running_stats=True: then
    training mode also updates running estimates of each channel's mean and variance (the batch
    averages of the examples' statistics, the variance unbiased), and evaluation mode normalizes
    with them, as BatchNorm2d.

    Args:
        num_features (int): C, the channels of the input.
        eps (float): added to the variance for numerical stability. Default: 1e-5.
        momentum (float or None): the weight of the current batch in the running estimates,
            running = (1 - momentum) * running + momentum * batch statistic; None leaves them
            as they are (torch's rule for instance norm). Default: 0.1.
        affine (bool): if True, the layer learns gamma and beta. Default: False.
        track_running_stats (bool): if True, the layer keeps running estimates and normalizes
            with them in evaluation mode. Default: False.
        device, dtype: where and in which floating dtype the parameters are created.
        bias (bool, keyword-only): False learns gamma but no beta. Default: True.

    Shape:
        - Input: (N, C, H, W) or (C, H, W).
        - Output: (N, C, H, W) or (C, H, W), the shape of the input.

    Attributes:
        weight, bias (Parameter or None): gamma and beta with affine=True, of shape (C,),
            initialized to ones and zeros.
        running_mean, running_var, num_batches_tracked (buffer or None): with
            track_running_stats=True, as in BatchNorm1d (num_batches_tracked stays 0, as in
            torch).

    Examples::

        >>> m = mg.nn.InstanceNorm2d(100)
        >>> m
        InstanceNorm2d(100, eps=1e-05, momentum=0.1, affine=False, bias=False,
                       track_running_stats=False)
        >>> y = m(mg.randn(20, 100, 35, 45) * 3 + 1)
        >>> y.shape
        (20, 100, 35, 45)
        >>> bool(y.mean((2, 3)).abs().max() < 1e-4)
        True
        >>> m = mg.nn.InstanceNorm2d(100, affine=True, track_running_stats=True)
        >>> list(m.state_dict())
        ['weight', 'bias', 'running_mean', 'running_var', 'num_batches_tracked']
        >>> m(mg.randn(100, 35, 45)).shape      # an unbatched (C, H, W) image
        (100, 35, 45)
    """

    def __init__(self, num_features, eps=1e-5, momentum=0.1, affine=False,
                 track_running_stats=False, device=None, dtype=None, *, bias=True):
        super().__init__(num_features, eps, momentum, affine, track_running_stats, device, dtype,
                         bias=bias)

    def forward(self, input):
        if input.ndim not in (3, 4):
            raise ValueError(f"InstanceNorm2d expected 3D or 4D input (got {input.ndim}D input "
                             f"of shape {input.shape})")
        channels = input.shape[-3]
        if channels != self.num_features:
            message = (f"the input of shape {input.shape} has {channels} channels (dim "
                       f"{input.ndim - 3}) but num_features is {self.num_features}")
            if self.affine:
                raise ValueError(f"InstanceNorm2d: {message}")
            warnings.warn(f"InstanceNorm2d: {message}; num_features is not used with "
                          f"affine=False", stacklevel=2)
        x = input.unsqueeze(0) if input.ndim == 3 else input
        y = self._normalize(x)
        return y.squeeze(0) if input.ndim == 3 else y

    def _normalize(self, x):
        if self.training or not self.track_running_stats:
            if x.shape[2] * x.shape[3] <= 1:
                raise ValueError(f"InstanceNorm2d: expected more than 1 spatial element when "
                                 f"using the input's statistics, got input of shape {x.shape}")
            if self.track_running_stats:
                self._update_running_stats(x.data)
            return F.group_norm(x, x.shape[1], self.weight, self.bias, self.eps)
        return F.batch_norm(x, self.running_mean, self.running_var, self.weight, self.bias,
                            False, 0.0, self.eps)

    def _update_running_stats(self, x):
        """running = (1 - momentum) running + momentum * (the batch mean of each example's
        statistic), with each example's variance unbiased."""
        momentum = 0.0 if self.momentum is None else self.momentum
        mean = x.mean(axis=(2, 3)).mean(axis=0)
        var = x.var(axis=(2, 3), ddof=1).mean(axis=0)
        for running, batch in ((self.running_mean, mean), (self.running_var, var)):
            running.data[...] = (1 - momentum) * running.data + momentum * batch


class LayerNorm(Module):
    """Applies layer normalization over the last dims of each example (``normalized_shape``).

        y = (x - E[x]) / sqrt(Var[x] + eps) * gamma + beta

    where mean and (biased) variance are taken over the last len(normalized_shape) dims, and
    gamma and beta, of shape normalized_shape, scale and shift elementwise. The same
    computation in training and evaluation mode.

    Args:
        normalized_shape (int or tuple of ints): the trailing dims to normalize over.
        eps (float): added to the variance for numerical stability. Default: 1e-5.
        elementwise_affine (bool): if True, the layer learns gamma (and beta). Default: True.
        bias (bool): if False, no beta is learned. Default: True.
        device, dtype: where and in which floating dtype the parameters are created.

    Shape:
        - Input: (N, *), whose last dims are normalized_shape.
        - Output: (N, *), the shape of the input.

    Attributes:
        weight (Parameter or None): gamma, of shape normalized_shape, initialized to ones.
        bias (Parameter or None): beta, of shape normalized_shape, initialized to zeros.

    Examples::

        >>> m = mg.nn.LayerNorm([5, 10, 10])
        >>> m(mg.randn(20, 5, 10, 10)).shape
        (20, 5, 10, 10)
        >>> y = mg.nn.LayerNorm(10)(mg.randn(20, 5, 10) * 4)
        >>> bool(y.mean(-1).abs().max() < 1e-5)
        True
    """

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
    """Applies group normalization: each example is normalized over groups of channels.

        y = (x - E[x]) / sqrt(Var[x] + eps) * gamma + beta

    where the C channels are split into num_groups groups of consecutive channels, mean and
    (biased) variance are taken per example over each group's channels and all positions,
    and gamma and beta are per channel. The same computation in training and evaluation mode.
    num_groups=1 normalizes like LayerNorm over (C, *); num_groups=C is instance normalization.

    Args:
        num_groups (int): the number of groups; must divide num_channels.
        num_channels (int): C, the channels of the input.
        eps (float): added to the variance for numerical stability. Default: 1e-5.
        affine (bool): if True, the layer learns per-channel gamma and beta. Default: True.
        device, dtype: where and in which floating dtype the parameters are created.
        bias (bool, keyword-only): minigen's extra: False learns gamma but no beta.
            Default: True.

    Shape:
        - Input: (N, C, *).
        - Output: (N, C, *), the shape of the input.

    Attributes:
        weight (Parameter or None): gamma, of shape (C,), initialized to ones.
        bias (Parameter or None): beta, of shape (C,), initialized to zeros.

    Examples::

        >>> x = mg.randn(20, 6, 10, 10)
        >>> mg.nn.GroupNorm(3, 6)(x).shape   # 3 groups of 2 channels
        (20, 6, 10, 10)
        >>> mg.nn.GroupNorm(6, 6)(x).shape   # as InstanceNorm
        (20, 6, 10, 10)
    """

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
