"""Pooling layers: MaxPool2d, AvgPool2d and AdaptiveAvgPool2d.

Each keeps its arguments as given (so its repr is torch's) and calls the function of the same
name in nn.functional, which computes the windows, the ceil_mode sizes and the gradients.
"""
from . import functional as F
from .module import Module


class MaxPool2d(Module):
    """Applies 2-D max pooling: the maximum of each kernel_size window of each channel.

        out(N_i, C_j, h, w) = max over m < kH, n < kW of
            input(N_i, C_j, stride[0]*h + dilation[0]*m, stride[1]*w + dilation[1]*n)

    on the input padded with -inf (``padding`` on every side). The gradient goes to the first
    maximum of each window in row-major order, as in torch.

    Args:
        kernel_size (int or (int, int)): the window size (kH, kW).
        stride (int or (int, int), optional): the step between windows. Default: kernel_size.
        padding (int or (int, int)): -inf rows/columns added on both sides; at most half of
            kernel_size. Default: 0.
        dilation (int or (int, int)): the spacing between window elements. Default: 1.
        return_indices (bool): if True, forward also returns the flat index h * W_in + w of
            each maximum in its plane. Default: False.
        ceil_mode (bool): if True, H_out and W_out round up instead of down, so that a last,
            partial window is pooled too (one that would start in the right padding is
            dropped). Default: False.

    Shape:
        - Input: (N, C, H_in, W_in) or (C, H_in, W_in).
        - Output: (N, C, H_out, W_out) or (C, H_out, W_out), where

          H_out = floor((H_in + 2*padding[0] - dilation[0]*(kernel_size[0] - 1) - 1)
                        / stride[0] + 1)
          W_out = floor((W_in + 2*padding[1] - dilation[1]*(kernel_size[1] - 1) - 1)
                        / stride[1] + 1)

          (ceil instead of floor with ceil_mode=True; an int argument counts for both dims).

    Examples::

        >>> m = mg.nn.MaxPool2d(3, stride=2)
        >>> m(mg.randn(20, 16, 50, 32)).shape
        (20, 16, 24, 15)
        >>> mg.nn.MaxPool2d((3, 2), stride=(2, 1), ceil_mode=True)(mg.randn(16, 50, 32)).shape
        (16, 25, 31)
        >>> x = mg.arange(16.).reshape(1, 1, 4, 4)
        >>> y, indices = mg.nn.MaxPool2d(2, return_indices=True)(x)
        >>> y
        tensor([[[[ 5.,  7.], [13., 15.]]]])
        >>> indices
        tensor([[[[ 5,  7], [13, 15]]]])
    """

    def __init__(self, kernel_size, stride=None, padding=0, dilation=1, return_indices=False,
                 ceil_mode=False):
        super().__init__()
        self.kernel_size = kernel_size
        self.stride = stride if stride is not None else kernel_size
        self.padding, self.dilation = padding, dilation
        self.return_indices, self.ceil_mode = return_indices, ceil_mode

    def forward(self, input):
        return F.max_pool2d(input, self.kernel_size, self.stride, self.padding, self.dilation,
                            ceil_mode=self.ceil_mode, return_indices=self.return_indices)

    def extra_repr(self):
        return (f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}, "
                f"dilation={self.dilation}, ceil_mode={self.ceil_mode}")


class AvgPool2d(Module):
    """Applies 2-D average pooling: the mean of each kernel_size window of each channel.

        out(N_i, C_j, h, w) = 1 / divisor * sum over m < kH, n < kW of
            input(N_i, C_j, stride[0]*h + m, stride[1]*w + n)

    on the input padded with zeros, where the divisor is kH * kW; with count_include_pad=False
    it is the number of input (not padding) elements in the window, and ``divisor_override``
    replaces it. A last, partial window of ceil_mode divides by the part of it inside the padded
    input, as in torch. The gradient spreads each output's g evenly, by the same divisor.

    Args:
        kernel_size (int or (int, int)): the window size (kH, kW).
        stride (int or (int, int), optional): the step between windows. Default: kernel_size.
        padding (int or (int, int)): zero rows/columns added on both sides; at most half of
            kernel_size. Default: 0.
        ceil_mode (bool): if True, H_out and W_out round up instead of down (as in
            MaxPool2d). Default: False.
        count_include_pad (bool): if True, padded zeros count in the mean. Default: True.
        divisor_override (int, optional): if given, every window sum is divided by it.
            Default: None.

    Shape:
        - Input: (N, C, H_in, W_in) or (C, H_in, W_in).
        - Output: (N, C, H_out, W_out) or (C, H_out, W_out), where

          H_out = floor((H_in + 2*padding[0] - kernel_size[0]) / stride[0] + 1)
          W_out = floor((W_in + 2*padding[1] - kernel_size[1]) / stride[1] + 1)

          (ceil instead of floor with ceil_mode=True; an int argument counts for both dims).

    Examples::

        >>> m = mg.nn.AvgPool2d((3, 2), stride=(2, 1))
        >>> m(mg.randn(20, 16, 50, 32)).shape
        (20, 16, 24, 31)
        >>> x = mg.ones(1, 1, 3, 3)
        >>> mg.nn.AvgPool2d(2, padding=1)(x)    # the padding counts: corners are 1/4
        tensor([[[[0.25, 0.5 ], [0.5 , 1.  ]]]])
        >>> mg.nn.AvgPool2d(2, padding=1, count_include_pad=False)(x)
        tensor([[[[1., 1.], [1., 1.]]]])
    """

    def __init__(self, kernel_size, stride=None, padding=0, ceil_mode=False,
                 count_include_pad=True, divisor_override=None):
        super().__init__()
        self.kernel_size = kernel_size
        self.stride = stride if stride is not None else kernel_size
        self.padding, self.ceil_mode = padding, ceil_mode
        self.count_include_pad, self.divisor_override = count_include_pad, divisor_override

    def forward(self, input):
        return F.avg_pool2d(input, self.kernel_size, self.stride, self.padding, self.ceil_mode,
                            self.count_include_pad, self.divisor_override)

    def extra_repr(self):
        return f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}"


class AdaptiveAvgPool2d(Module):
    """Applies 2-D adaptive average pooling: averages each channel to a fixed output size.

    Output row i averages the input rows floor(i * H_in / H_out) to ceil((i + 1) * H_in / H_out)
    - 1, and output column j the matching columns, so the bins tile the input (equal and
    disjoint when H_out divides H_in, overlapping by at most a row otherwise).
    AdaptiveAvgPool2d(1) is global average pooling, the mean over H and W.

    Args:
        output_size (int, (int, int) or (int or None, int or None)): (H_out, W_out); an int
            is used for both, and None keeps the input's size in that dim.

    Shape:
        - Input: (N, C, H_in, W_in) or (C, H_in, W_in).
        - Output: (N, C, H_out, W_out) or (C, H_out, W_out), where (H_out, W_out) =
          output_size.

    Examples::

        >>> mg.nn.AdaptiveAvgPool2d((5, 7))(mg.randn(1, 64, 8, 9)).shape
        (1, 64, 5, 7)
        >>> mg.nn.AdaptiveAvgPool2d(1)(mg.randn(64, 10, 9)).shape   # global average pooling
        (64, 1, 1)
        >>> mg.nn.AdaptiveAvgPool2d((None, 7))(mg.randn(1, 64, 10, 9)).shape
        (1, 64, 10, 7)
    """

    def __init__(self, output_size):
        super().__init__()
        self.output_size = output_size

    def forward(self, input):
        return F.adaptive_avg_pool2d(input, self.output_size)

    def extra_repr(self):
        return f"output_size={self.output_size}"
