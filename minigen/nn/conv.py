"""Convolution layers: Conv1d, Conv2d, ConvTranspose2d and the masked convolution of PixelCNN.

MaskedConv2d ("Лекция 12: Генеративные модели", §2.3) multiplies its kernel by a fixed 0/1
mask so that the output at a pixel sees only pixels that come before it in raster order (rows top
to bottom, each row left to right). With the kernel centre at (kH // 2, kW // 2) the mask keeps

  every row above the centre row, and the positions left of the centre in the centre row;
  the centre itself: mask 'A' (first layer) excludes it, mask 'B' (later layers) includes it.

With ``color_groups=3`` the channels of input and output are split into three contiguous blocks R,
G, B (as in the PixelCNN paper), and the centre tap connects input block i to output block o when
i < o (mask 'A': R sees nothing of the current pixel, G sees R, B sees R and G) or i <= o
(mask 'B': each block also sees its own block's features). So an output with 3 * K channels
reshapes to (N, 3, K, H, W) with R's K values first.
"""
import numpy as np

from .. import backend
from ..tensor import Tensor
from . import functional as F
from .layers import empty_parameter, reset_fan_in_uniform
from .module import Module


def _ntuple(value, name, n):
    """An int, or n ints, as a tuple of n ints (the form torch keeps in a layer's attributes)."""
    if isinstance(value, int):
        return (value,) * n
    value = tuple(value)
    if len(value) != n or not all(isinstance(v, int) for v in value):
        what = "a pair of ints" if n == 2 else f"a tuple of {n} int{'s' * (n > 1)}"
        raise ValueError(f"{name} must be an int or {what}, got {value!r}")
    return value


def _pair(value, name):
    return _ntuple(value, name, 2)


def _check_channels(in_channels, out_channels, groups):
    if in_channels % groups or out_channels % groups:
        raise ValueError(f"in_channels ({in_channels}) and out_channels ({out_channels}) must "
                         f"both be divisible by groups ({groups})")


class _ConvNd(Module):
    """What the convolutions share: settings, parameters, initialization, repr. ``n`` is the
    number of spatial dims (1 for Conv1d, 2 for the others)."""
    n = 2

    def __init__(self, in_channels, out_channels, kernel_size, stride, padding, dilation,
                 groups, bias, padding_mode, output_padding, weight_shape, device, dtype):
        super().__init__()
        _check_channels(in_channels, out_channels, groups)
        if padding_mode not in ("zeros", "reflect", "replicate", "circular"):
            raise ValueError(f"padding_mode must be 'zeros', 'reflect', 'replicate' or "
                             f"'circular', got {padding_mode!r}")
        self.in_channels, self.out_channels = in_channels, out_channels
        n = self.n
        self.kernel_size = _ntuple(kernel_size, "kernel_size", n)
        self.stride = _ntuple(stride, "stride", n)
        self.padding = padding if isinstance(padding, str) else _ntuple(padding, "padding", n)
        self.dilation = _ntuple(dilation, "dilation", n)
        self.output_padding = _ntuple(output_padding, "output_padding", n)
        self.groups, self.padding_mode = groups, padding_mode
        self.weight = empty_parameter(*weight_shape, *self.kernel_size, device=device, dtype=dtype)
        if bias:
            self.bias = empty_parameter(out_channels, device=device, dtype=dtype)
        else:
            self.register_parameter("bias", None)
        self.reset_parameters()

    def reset_parameters(self):
        reset_fan_in_uniform(self.weight, self.bias)

    def extra_repr(self):
        s = (f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, "
             f"stride={self.stride}")
        zeros, ones = (0,) * self.n, (1,) * self.n
        if isinstance(self.padding, str) or self.padding != zeros:
            s += f", padding={self.padding}"
        if self.dilation != ones:
            s += f", dilation={self.dilation}"
        if self.output_padding != zeros:
            s += f", output_padding={self.output_padding}"
        if self.groups != 1:
            s += f", groups={self.groups}"
        if self.bias is None:
            s += ", bias=False"
        if self.padding_mode != "zeros":
            s += f", padding_mode={self.padding_mode}"
        return s


class _Conv(_ConvNd):
    """What Conv1d and Conv2d share: the 'same'/'valid' padding and the forward, which pads
    explicitly for the padding modes other than zeros (as torch does)."""
    convolve = None  # F.conv1d or F.conv2d

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0, dilation=1,
                 groups=1, bias=True, padding_mode="zeros", device=None, dtype=None):
        if isinstance(padding, str):
            if padding not in ("same", "valid"):
                raise ValueError(f"padding must be an int, a tuple, 'same' or 'valid', got "
                                 f"{padding!r}")
            if padding == "same" and set(_ntuple(stride, "stride", self.n)) != {1}:
                raise ValueError("padding='same' is not supported for strided convolutions")
        super().__init__(in_channels, out_channels, kernel_size, stride, padding, dilation,
                         groups, bias, padding_mode, 0, (out_channels, in_channels // groups),
                         device, dtype)

    def _pad_widths(self):
        """F.pad's (left, right) widths, last dim first, of the padding."""
        if self.padding == "valid":
            return (0, 0) * self.n
        if self.padding == "same":  # an odd total puts the extra one at the end, as torch
            totals = [d * (k - 1) for k, d in zip(self.kernel_size, self.dilation)]
            return tuple(w for t in reversed(totals) for w in (t // 2, t - t // 2))
        return tuple(w for p in reversed(self.padding) for w in (p, p))

    def _conv_forward(self, input, weight):
        if self.padding_mode == "zeros":
            return self.convolve(input, weight, self.bias, self.stride, self.padding, self.dilation,
                            self.groups)
        input = F.pad(input, self._pad_widths(), mode=self.padding_mode)
        return self.convolve(input, weight, self.bias, self.stride, 0, self.dilation, self.groups)

    def forward(self, input):
        return self._conv_forward(input, self.weight)


class Conv2d(_Conv):
    """Applies a 2-D convolution over an input image of C_in channels.

    With * the 2-D cross-correlation (the kernel is not flipped),

        out(N_i, C_out_j) = bias(C_out_j) + sum_k weight(C_out_j, k) * input(N_i, k)

    where k runs over the C_in / groups input channels of output channel j's group.

    Args:
        in_channels (int): C_in, the channels of the input.
        out_channels (int): C_out, the channels of the output.
        kernel_size (int or (int, int)): the size (kH, kW) of the kernel.
        stride (int or (int, int)): the step between windows. Default: 1.
        padding (int, (int, int) or str): rows/columns added on both sides, or 'valid' (none)
            or 'same' (output size = input size; stride 1 only; an odd total puts the extra
            row/column at the bottom/right, as torch). Default: 0.
        dilation (int or (int, int)): the spacing between kernel taps. Default: 1.
        groups (int): splits the channels into this many groups, each convolved separately;
            in_channels and out_channels must be divisible by it. Default: 1.
        bias (bool): if False, no bias is added. Default: True.
        padding_mode (str): 'zeros', 'reflect', 'replicate' or 'circular'. Default: 'zeros'.
        device, dtype: where and in which floating dtype the parameters are created.

    Shape:
        - Input: (N, C_in, H_in, W_in) or (C_in, H_in, W_in).
        - Output: (N, C_out, H_out, W_out) or (C_out, H_out, W_out), where

          H_out = floor((H_in + 2*padding[0] - dilation[0]*(kernel_size[0] - 1) - 1)
                        / stride[0] + 1)
          W_out = floor((W_in + 2*padding[1] - dilation[1]*(kernel_size[1] - 1) - 1)
                        / stride[1] + 1)

          (padding='valid' is padding 0; padding='same' gives H_out = H_in, W_out = W_in).

    Attributes:
        weight (Parameter): of shape (out_channels, in_channels / groups, kH, kW), initialized
            from U(-sqrt(k), sqrt(k)) with k = groups / (C_in * kH * kW).
        bias (Parameter or None): of shape (out_channels,), from the same distribution.

    Examples::

        >>> m = mg.nn.Conv2d(16, 33, 3, stride=2)
        >>> m(mg.randn(20, 16, 50, 100)).shape
        (20, 33, 24, 49)
        >>> m = mg.nn.Conv2d(16, 33, (3, 5), stride=(2, 1), padding=(4, 2), dilation=(3, 1))
        >>> m(mg.randn(2, 16, 50, 100)).shape
        (2, 33, 26, 100)
        >>> mg.nn.Conv2d(16, 33, 3, padding="same")(mg.randn(16, 9, 7)).shape
        (33, 9, 7)
    """

    convolve = staticmethod(F.conv2d)


class Conv1d(_Conv):
    """Applies a 1-D convolution over an input signal of C_in channels.

    With * the 1-D cross-correlation (the kernel is not flipped),

        out(N_i, C_out_j) = bias(C_out_j) + sum_k weight(C_out_j, k) * input(N_i, k)

    where k runs over the C_in / groups input channels of output channel j's group. It is
    computed as a Conv2d of (N, C_in, 1, L) inputs with (C_out, C_in / groups, 1, kL) kernels.

    Args:
        in_channels (int): C_in, the channels of the input.
        out_channels (int): C_out, the channels of the output.
        kernel_size (int or (int,)): the size of the kernel.
        stride (int or (int,)): the step between windows. Default: 1.
        padding (int, (int,) or str): elements added on both sides, or 'valid' (none) or
            'same' (output length = input length; stride 1 only; an odd total puts the extra
            element at the end, as torch). Default: 0.
        dilation (int or (int,)): the spacing between kernel taps. Default: 1.
        groups=1, bias=True, padding_mode='zeros', device=None, dtype=None: as in Conv2d.

    Shape:
        - Input: (N, C_in, L_in) or (C_in, L_in).
        - Output: (N, C_out, L_out) or (C_out, L_out), where

          L_out = floor((L_in + 2*padding[0] - dilation[0]*(kernel_size[0] - 1) - 1)
                        / stride[0] + 1)

          (padding='valid' is padding 0; padding='same' gives L_out = L_in).

    Attributes:
        weight (Parameter): of shape (out_channels, in_channels / groups, kernel_size),
            initialized from U(-sqrt(k), sqrt(k)) with k = groups / (C_in * kernel_size).
        bias (Parameter or None): of shape (out_channels,), from the same distribution.

    Examples::

        >>> m = mg.nn.Conv1d(16, 33, 3, stride=2)
        >>> m(mg.randn(20, 16, 50)).shape
        (20, 33, 24)
        >>> m
        Conv1d(16, 33, kernel_size=(3,), stride=(2,))
        >>> mg.nn.Conv1d(16, 33, 4, padding="same", padding_mode="reflect")(mg.randn(16, 9)).shape
        (33, 9)
    """
    n = 1
    convolve = staticmethod(F.conv1d)


class ConvTranspose2d(_ConvNd):
    """Applies a 2-D transposed convolution, which upsamples by ``stride``.

    It is the gradient of a Conv2d (with the same kernel_size, stride, padding, dilation and
    groups) with respect to its input: each input pixel adds the kernel, scaled by its value,
    into the output. With groups=1, (s0, s1) = stride, (p0, p1) = padding and (d0, d1) = dilation,

        out[n, j, s0*y + d0*u - p0, s1*x + d1*v - p1] += input[n, i, y, x] * weight[i, j, u, v]

    summed over input channels i, positions (y, x) and kernel taps (u, v), plus bias[j]
    (contributions that land outside the output are dropped).

    A strided Conv2d maps several input sizes to one output size; ``output_padding`` (or the
    ``output_size`` argument of forward) picks which of them to produce.

    Args:
        in_channels (int): C_in, the channels of the input.
        out_channels (int): C_out, the channels of the output.
        kernel_size (int or (int, int)): the size (kH, kW) of the kernel.
        stride (int or (int, int)): the upsampling step. Default: 1.
        padding (int or (int, int)): the padding of the matching Conv2d:
            dilation * (kernel_size - 1) - padding zero rows/columns are added to the input on
            both sides. Default: 0.
        output_padding (int or (int, int)): rows/columns added at the bottom/right of the
            output; each must be smaller than stride or dilation. Default: 0.
        groups (int): as in Conv2d. Default: 1.
        bias (bool): if False, no bias is added. Default: True.
        dilation (int or (int, int)): the spacing between kernel taps. Default: 1.
        padding_mode (str): only 'zeros' (as torch). Default: 'zeros'.
        device, dtype: where and in which floating dtype the parameters are created.

    ``forward(input, output_size=None)``: ``output_size`` ((H, W) or a full shape ending in it)
    chooses output_padding so that the output has that size.

    Shape:
        - Input: (N, C_in, H_in, W_in) or (C_in, H_in, W_in).
        - Output: (N, C_out, H_out, W_out) or (C_out, H_out, W_out), where

          H_out = (H_in - 1)*stride[0] - 2*padding[0] + dilation[0]*(kernel_size[0] - 1)
                  + output_padding[0] + 1
          W_out = (W_in - 1)*stride[1] - 2*padding[1] + dilation[1]*(kernel_size[1] - 1)
                  + output_padding[1] + 1

    Attributes:
        weight (Parameter): of shape (in_channels, out_channels / groups, kH, kW), initialized
            from U(-sqrt(k), sqrt(k)) with k = groups / (C_out * kH * kW).
        bias (Parameter or None): of shape (out_channels,), from the same distribution.

    Examples::

        >>> m = mg.nn.ConvTranspose2d(16, 33, 3, stride=2)
        >>> m(mg.randn(20, 16, 50, 100)).shape
        (20, 33, 101, 201)
        >>> # the inverse of a strided Conv2d, to the exact input size
        >>> x = mg.randn(1, 16, 12, 12)
        >>> downsample = mg.nn.Conv2d(16, 16, 3, stride=2, padding=1)
        >>> upsample = mg.nn.ConvTranspose2d(16, 16, 3, stride=2, padding=1)
        >>> h = downsample(x)
        >>> h.shape
        (1, 16, 6, 6)
        >>> upsample(h).shape
        (1, 16, 11, 11)
        >>> upsample(h, output_size=x.shape).shape
        (1, 16, 12, 12)
    """

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0,
                 output_padding=0, groups=1, bias=True, dilation=1, padding_mode="zeros",
                 device=None, dtype=None):
        if padding_mode != "zeros":
            raise ValueError(f"Only 'zeros' padding mode is supported for ConvTranspose2d, got "
                             f"{padding_mode!r}")
        super().__init__(in_channels, out_channels, kernel_size, stride, padding, dilation,
                         groups, bias, padding_mode, output_padding,
                         (in_channels, out_channels // groups), device, dtype)

    def _output_padding(self, input, output_size):
        if output_size is None:
            return self.output_padding
        output_size = tuple(output_size)[-2:]
        result = []
        input_size = input.shape[-2:]  # (H_in, W_in), batched or not
        for d in range(2):
            smallest = ((input_size[d] - 1) * self.stride[d] - 2 * self.padding[d]
                        + self.dilation[d] * (self.kernel_size[d] - 1) + 1)
            largest = smallest + max(self.stride[d], self.dilation[d]) - 1
            if not smallest <= output_size[d] <= largest:
                raise ValueError(f"requested an output size of {output_size}, but valid sizes "
                                 f"range from {smallest} to {largest} in dim {d - 2} (for an "
                                 f"input with shape {input.shape})")
            result.append(output_size[d] - smallest)
        return tuple(result)

    def forward(self, input, output_size=None):
        return F.conv_transpose2d(input, self.weight, self.bias, self.stride, self.padding,
                                  self._output_padding(input, output_size), self.groups,
                                  self.dilation)


def causal_mask(out_channels, in_channels, kernel_size, mask_type, color_groups=1):
    """The 0/1 PixelCNN mask of shape (out, in, kH, kW) described at the top of this file.

        >>> causal_mask(1, 1, (3, 5), "B")[0, 0]
        array([[1., 1., 1., 1., 1.],
               [1., 1., 1., 0., 0.],
               [0., 0., 0., 0., 0.]])
    """
    if mask_type not in ("A", "B"):
        raise ValueError(f"mask_type must be 'A' or 'B', got {mask_type!r}")
    if in_channels % color_groups or out_channels % color_groups:
        raise ValueError(f"in_channels ({in_channels}) and out_channels ({out_channels}) must be "
                         f"divisible by color_groups ({color_groups})")
    kh, kw = _pair(kernel_size, "kernel_size")
    ch, cw = kh // 2, kw // 2
    mask = np.zeros((out_channels, in_channels, kh, kw))
    mask[:, :, :ch, :] = 1  # rows above the centre
    mask[:, :, ch, :cw] = 1  # left of the centre in its row
    out_group = np.arange(out_channels) * color_groups // out_channels
    in_group = np.arange(in_channels) * color_groups // in_channels
    if mask_type == "A":
        mask[:, :, ch, cw] = out_group[:, None] > in_group[None, :]
    else:
        mask[:, :, ch, cw] = out_group[:, None] >= in_group[None, :]
    return mask


class MaskedConv2d(Conv2d):
    """The masked convolution of PixelCNN ("Лекция 12: Генеративные модели", §2.3).

    A Conv2d whose kernel is multiplied by a fixed 0/1 causal mask,

        out = conv2d(input, weight * mask) + bias,

    so that the output at pixel (r, c) depends only on the pixels before it in raster order
    (the rows above, and the pixels left of it in its row) and, with mask 'B', on the pixel
    itself (the module docstring gives the mask and its colour groups).

    Args:
        in_channels, out_channels, kernel_size, stride, dilation, groups, bias, padding_mode,
            device, dtype: as in Conv2d.
        mask_type (str): 'A' for the first layer, which must not see the pixel it predicts;
            'B' for the layers after it. No default.
        padding (int, (int, int) or None): as in Conv2d; None (the default) means
            dilation * (kernel_size // 2), which keeps H and W for odd kernels and stride 1.
        color_groups (int): 3 splits input and output channels into R, G, B blocks, so that
            the centre tap of mask 'A' lets G see R and B see R and G (mask 'B' also lets each
            block see itself). Needs groups=1. Default: 1.

    Shape:
        - Input: (N, C_in, H_in, W_in) or (C_in, H_in, W_in).
        - Output: (N, C_out, H_out, W_out) or (C_out, H_out, W_out), with H_out and W_out as in
          Conv2d; with the default padding, an odd kernel and stride 1, H_out = H_in and
          W_out = W_in.

    Attributes:
        weight, bias (Parameter): as in Conv2d (the unmasked kernel).
        mask (buffer): the 0/1 ``causal_mask`` of shape (out_channels, in_channels / groups,
            kH, kW), in the state_dict and moved by ``to(device)``.

    Examples::

        >>> mg.nn.MaskedConv2d(1, 1, 3, mask_type="A").mask[0, 0]
        tensor([[1., 1., 1.],
                [1., 0., 0.],
                [0., 0., 0.]])
        >>> mg.nn.MaskedConv2d(1, 1, 3, mask_type="B").mask[0, 0]
        tensor([[1., 1., 1.],
                [1., 1., 0.],
                [0., 0., 0.]])
        >>> m = mg.nn.MaskedConv2d(3, 48, 7, mask_type="A", color_groups=3)
        >>> m(mg.randn(8, 3, 28, 28)).shape
        (8, 48, 28, 28)
    """

    def __init__(self, in_channels, out_channels, kernel_size, mask_type, stride=1,
                 padding=None, dilation=1, groups=1, bias=True, padding_mode="zeros",
                 color_groups=1, device=None, dtype=None):
        if color_groups > 1 and groups != 1:
            raise ValueError(f"color_groups={color_groups} needs groups=1, got groups={groups}")
        if padding is None:
            padding = tuple(d * (k // 2) for k, d in zip(_pair(kernel_size, "kernel_size"),
                                                         _pair(dilation, "dilation")))
        super().__init__(in_channels, out_channels, kernel_size, stride, padding, dilation,
                         groups, bias, padding_mode, device, dtype)
        self.mask_type, self.color_groups = mask_type, color_groups
        mask = causal_mask(out_channels, in_channels // groups, kernel_size, mask_type,
                           color_groups)
        self.register_buffer("mask", Tensor(backend.to_device(
            mask.astype(self.weight.dtype), self.weight.device)))

    def forward(self, input):
        weight = self.weight * self.mask
        cropped = self._cropped_to_mask()
        if cropped is None:
            return self._conv_forward(input, weight)
        (r0, r1, c0, c1), pads = cropped
        return F.conv2d(input, weight[:, :, r0:r1, c0:c1], self.bias, self.stride, pads,
                        self.dilation, self.groups)

    def _cropped_to_mask(self):
        """The rows and columns of the kernel that the mask leaves (any channel), and the
        per-side padding that keeps the output as it is, when the mask zeroes some: mask B of a
        3x3 kernel zeroes its bottom row, a third of the products, which a conv of the 2x3 part
        with one row less padding at the bottom skips. None when nothing is zero (or the
        padding is a mode or a string)."""
        if self.padding_mode != "zeros" or isinstance(self.padding, str):
            return None
        support = backend.to_numpy(self.mask.data).any(axis=(0, 1))
        rows, cols = np.flatnonzero(support.any(axis=1)), np.flatnonzero(support.any(axis=0))
        kh, kw = support.shape
        if len(rows) == 0 or (len(rows), len(cols)) == (kh, kw):
            return None
        r0, r1, c0, c1 = int(rows[0]), int(rows[-1]) + 1, int(cols[0]), int(cols[-1]) + 1
        (ph, pw), (dh, dw) = self.padding, self.dilation
        pads = ((ph - r0 * dh, ph - (kh - r1) * dh), (pw - c0 * dw, pw - (kw - c1) * dw))
        return (r0, r1, c0, c1), pads

    def extra_repr(self):
        extra = f", color_groups={self.color_groups}" if self.color_groups != 1 else ""
        return f"{super().extra_repr()}, mask_type={self.mask_type!r}{extra}"
