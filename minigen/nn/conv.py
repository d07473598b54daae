"""Convolution layers: Conv2d, ConvTranspose2d and the masked convolution of PixelCNN.

MaskedConv2d (lecture §2.3) multiplies its kernel by a fixed 0/1 mask so that the output at a
pixel sees only pixels that come before it in raster order (rows top to bottom, each row left to
right). With the kernel centre at (kH // 2, kW // 2) the mask keeps

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


def _pair(value, name):
    if isinstance(value, int):
        return (value, value)
    value = tuple(value)
    if len(value) != 2 or not all(isinstance(v, int) for v in value):
        raise ValueError(f"{name} must be an int or a pair of ints, got {value!r}")
    return value


def _check_channels(in_channels, out_channels, groups):
    if in_channels % groups or out_channels % groups:
        raise ValueError(f"in_channels ({in_channels}) and out_channels ({out_channels}) must "
                         f"both be divisible by groups ({groups})")


class _ConvNd(Module):
    """What Conv2d and ConvTranspose2d share: settings, parameters, initialization, repr."""

    def __init__(self, in_channels, out_channels, kernel_size, stride, padding, dilation,
                 groups, bias, padding_mode, output_padding, weight_shape, device, dtype):
        super().__init__()
        _check_channels(in_channels, out_channels, groups)
        if padding_mode not in ("zeros", "reflect", "replicate", "circular"):
            raise ValueError(f"padding_mode must be 'zeros', 'reflect', 'replicate' or "
                             f"'circular', got {padding_mode!r}")
        self.in_channels, self.out_channels = in_channels, out_channels
        self.kernel_size = _pair(kernel_size, "kernel_size")
        self.stride = _pair(stride, "stride")
        self.padding = padding if isinstance(padding, str) else _pair(padding, "padding")
        self.dilation = _pair(dilation, "dilation")
        self.output_padding = _pair(output_padding, "output_padding")
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
        if isinstance(self.padding, str) or self.padding != (0, 0):
            s += f", padding={self.padding}"
        if self.dilation != (1, 1):
            s += f", dilation={self.dilation}"
        if self.output_padding != (0, 0):
            s += f", output_padding={self.output_padding}"
        if self.groups != 1:
            s += f", groups={self.groups}"
        if self.bias is None:
            s += ", bias=False"
        if self.padding_mode != "zeros":
            s += f", padding_mode={self.padding_mode}"
        return s


class Conv2d(_ConvNd):
    """2-D convolution of (N, C_in, H, W); weight (C_out, C_in / groups, kH, kW).

    ``padding`` is an int, a pair, 'valid' (none) or 'same' (output size = input size, stride 1);
    ``padding_mode`` 'zeros' (default), 'reflect', 'replicate' or 'circular'.
    """

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0, dilation=1,
                 groups=1, bias=True, padding_mode="zeros", device=None, dtype=None):
        if isinstance(padding, str):
            if padding not in ("same", "valid"):
                raise ValueError(f"padding must be an int, a pair, 'same' or 'valid', got "
                                 f"{padding!r}")
            if padding == "same" and _pair(stride, "stride") != (1, 1):
                raise ValueError("padding='same' is not supported for strided convolutions")
        super().__init__(in_channels, out_channels, kernel_size, stride, padding, dilation,
                         groups, bias, padding_mode, 0, (out_channels, in_channels // groups),
                         device, dtype)

    def _conv_forward(self, input, weight):
        if self.padding_mode == "zeros":
            return F.conv2d(input, weight, self.bias, self.stride, self.padding, self.dilation,
                            self.groups)
        # other modes pad explicitly (as torch does) and convolve without padding
        if self.padding == "valid":
            widths = (0, 0, 0, 0)
        elif self.padding == "same":
            totals = [d * (k - 1) for k, d in zip(self.kernel_size, self.dilation)]
            widths = (totals[1] // 2, totals[1] - totals[1] // 2,
                      totals[0] // 2, totals[0] - totals[0] // 2)
        else:
            widths = (self.padding[1], self.padding[1], self.padding[0], self.padding[0])
        input = F.pad(input, widths, mode=self.padding_mode)
        return F.conv2d(input, weight, self.bias, self.stride, 0, self.dilation, self.groups)

    def forward(self, input):
        return self._conv_forward(input, self.weight)


class ConvTranspose2d(_ConvNd):
    """Transposed convolution (the gradient of Conv2d with respect to its input), which upsamples
    by ``stride``; weight (C_in, C_out / groups, kH, kW). ``forward(input, output_size)`` picks
    the output_padding that gives that size."""

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
        for d in range(2):
            smallest = ((input.shape[d + 2] - 1) * self.stride[d] - 2 * self.padding[d]
                        + self.dilation[d] * (self.kernel_size[d] - 1) + 1)
            largest = smallest + max(self.stride[d], self.dilation[d]) - 1
            if not smallest <= output_size[d] <= largest:
                raise ValueError(f"requested an output size of {output_size}, but valid sizes "
                                 f"range from {smallest} to {largest} in dim {d + 2} (for an "
                                 f"input with shape {input.shape})")
            result.append(output_size[d] - smallest)
        return tuple(result)

    def forward(self, input, output_size=None):
        return F.conv_transpose2d(input, self.weight, self.bias, self.stride, self.padding,
                                  self._output_padding(input, output_size), self.groups,
                                  self.dilation)


def causal_mask(out_channels, in_channels, kernel_size, mask_type, color_groups=1):
    """The 0/1 PixelCNN mask of shape (out, in, kH, kW) described at the top of this file."""
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
    """A Conv2d whose kernel is multiplied by ``causal_mask`` in forward (the mask is a buffer,
    so it moves with ``to(device)`` and is saved in the state_dict). ``mask_type`` has no
    default: 'A' for the first layer (which must not see the pixel it predicts), 'B' after it.
    ``padding`` defaults to the one that keeps H and W (dilation * (k // 2))."""

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
        return self._conv_forward(input, self.weight * self.mask)

    def extra_repr(self):
        extra = f", color_groups={self.color_groups}" if self.color_groups != 1 else ""
        return f"{super().extra_repr()}, mask_type={self.mask_type!r}{extra}"
