"""Pooling, resizing and 1-D convolution of images, composites of the primitive ops (re-exported by
nn.functional).

Every function here is a composite: it decides *where* to read on raw arrays (which window
element is the maximum, which source pixel is nearest) and then reads with Tensor ops (getitem,
reshape, mean, conv2d), so gradients of every order come from those ops:

    max_pool2d           the window maxima, gathered with getitem; the gradient is a scatter-add
                         to the argmax positions (ties: the first maximum in row-major window
                         order, as torch), whose own gradient is the gather again
    avg_pool2d           a sum over each window divided by kh*kw (count_include_pad=True, torch's
                         default), as a conv2d with a constant kernel of ones; non-overlapping
                         windows (stride = kernel, no padding) use reshape + mean instead
    adaptive_avg_pool2d  torch's bins [floor(i*L/O), ceil((i+1)*L/O)); equal bins are avg_pool2d,
                         unequal ones a product with a constant averaging matrix on each side
    interpolate          'nearest' reads source pixel floor(i * scale); 'bilinear' blends the two
                         nearest source rows, then columns, with torch's weights

    conv1d               conv2d of (N, C, 1, L) with a (C_out, C_in, 1, k) kernel

Output sizes follow torch: floor((L + 2p - d*(k-1) - 1) / s) + 1, or with ceil_mode=True
ceil(...) + 1, less one when the last window would start beyond the input and its left padding;
such a last window reads padding on the right that counts as -inf (max) or is left out of the
mean (avg, whose divisor is then the window's part inside the padded input, as in torch).
Gathers use one flat index into the flattened tensor: the scatter-add of a 1-D index is a fast
path in NumPy, while scatters along an inner axis are about 100x slower.
"""
import math

import numpy as np

from .. import backend
from ..ops.conv import _batched, _pair, conv2d
from ..ops.im2col import windows
from ..ops.join import pad as _pad_op
from ..ops.index import take_flat
from ..tensor import Tensor


def max_pool2d(input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False,
               return_indices=False):
    """torch.nn.functional.max_pool2d: the maximum of each kh x kw window of (N, C, H, W) or
    (C, H, W) input, float or integer. Output size per axis floor((L + 2p - d(k-1) - 1)/s) + 1
    (ceil with ceil_mode=True; see the module docstring).

    Padding counts as -inf (the smallest integer for integer input) and never takes the
    gradient: where the maximum of a window is -inf, the gradient goes to its first real pixel,
    as in torch. Two corner cases differ from torch: a window that (through dilation) covers only
    padding outputs -inf and passes no gradient (torch sends it to a pixel outside the window),
    and among several NaNs the first one takes the gradient (torch: the last one). With
    ``return_indices`` the flat index h * W + w of each maximum in its plane comes too.

        >>> F.max_pool2d(mg.arange(16.).reshape(1, 1, 4, 4), 2)
        tensor([[[[ 5.,  7.], [13., 15.]]]])
    """
    x, squeeze = _batched_any("max_pool2d", input)
    kernel, stride, padding, dilation, out_hw, extra = _window_args(
        "max_pool2d", x, kernel_size, stride, padding, dilation, ceil_mode)
    xp = backend.get_array_module(x.data)
    real_hw = x.shape[2:]
    pads = tuple((padding[i], padding[i] + extra[i]) for i in range(2))
    if pads != ((0, 0), (0, 0)):
        low = -np.inf if x.dtype.kind == "f" else np.iinfo(x.dtype).min
        x = _pad_op(x, (pads[1][0], pads[1][1], pads[0][0], pads[0][1]), value=low)
    n, c, h, w = x.shape
    win = windows(x.data, kernel, out_hw, stride, dilation)           # (N, C, kh, kw, Ho, Wo)
    win = xp.ascontiguousarray(win.transpose(0, 1, 4, 5, 2, 3)).reshape(n, c, *out_hw, -1)
    arg = win.argmax(axis=-1)                                         # the first maximum
    if pads != ((0, 0), (0, 0)) and x.dtype.kind == "f":
        arg = _first_real_where_max_is_minus_inf(win, arg, real_hw, kernel, stride, pads,
                                                 dilation, out_hw)
    rows = xp.arange(out_hw[0]).reshape(-1, 1) * stride[0] + (arg // kernel[1]) * dilation[0]
    cols = xp.arange(out_hw[1]) * stride[1] + (arg % kernel[1]) * dilation[1]
    planes = xp.arange(n * c).reshape(n, c, 1, 1) * (h * w)
    flat = (planes + rows * w + cols).reshape(-1)
    y = take_flat(x, flat, (n, c) + out_hw, by_value=True)
    if return_indices:
        index = Tensor(((rows - pads[0][0]) * real_hw[1] + cols - pads[1][0]).astype(np.int64))
        return (y.squeeze(0), index.squeeze(0)) if squeeze else (y, index)
    return y.squeeze(0) if squeeze else y


def _batched_any(who, x):
    """(N, C, H, W) from a 3-D or 4-D input of any real dtype (max pooling takes integers)."""
    if not isinstance(x, Tensor):
        raise TypeError(f"{who}: input must be a Tensor, got {type(x).__name__}")
    if x.dtype.kind == "f":
        return _batched(who, x)
    if x.dtype.kind not in "iu":
        raise TypeError(f"{who}: expected a float or integer input, got dtype {x.dtype}")
    if x.ndim not in (3, 4):
        raise ValueError(f"{who}: expected a 4-D input (N, C, H, W) or a 3-D unbatched input "
                         f"(C, H, W), got shape {x.shape}")
    return (x.unsqueeze(0), True) if x.ndim == 3 else (x, False)


def _first_real_where_max_is_minus_inf(win, arg, real_hw, kernel, stride, pads, dilation,
                                       out_hw):
    """Where a window's maximum is -inf, argmax may have picked a padding position; use the
    window's first real pixel instead (the rule torch follows)."""
    xp = backend.get_array_module(win)
    at_max = xp.take_along_axis(win, arg[..., None], axis=-1)[..., 0]
    hopeless = at_max == -np.inf
    if not bool(hopeless.any()):
        return arg
    real = np.pad(np.ones((1, 1) + tuple(real_hw), dtype=bool), ((0, 0), (0, 0)) + pads)
    real = windows(real, kernel, out_hw, stride, dilation)[0, 0].transpose(2, 3, 0, 1)
    first_real = xp.asarray(real.reshape(*out_hw, -1).argmax(axis=-1))  # 0 if none is real
    return xp.where(hopeless, first_real, arg)


def avg_pool2d(input, kernel_size, stride=None, padding=0, ceil_mode=False,
               count_include_pad=True, divisor_override=None):
    """torch.nn.functional.avg_pool2d: the mean of each kh x kw window of (N, C, H, W) or
    (C, H, W) input; output size per axis floor((L + 2p - k)/s) + 1 (ceil with ceil_mode).
    With count_include_pad=True (the default) padded zeros count in the mean, otherwise each
    window is divided by the number of real pixels it covers; ``divisor_override`` replaces the
    divisor. The gradient spreads g evenly (by the same divisor) over each window.

        >>> F.avg_pool2d(mg.arange(16.).reshape(1, 1, 4, 4), 2)
        tensor([[[[ 2.5,  4.5], [10.5, 12.5]]]])
    """
    x, squeeze = _batched("avg_pool2d", input)
    kernel, stride, padding, _, out_hw, extra = _window_args(
        "avg_pool2d", x, kernel_size, stride, padding, 1, ceil_mode)
    if divisor_override is not None and (not isinstance(divisor_override, int)
                                         or divisor_override < 1):
        raise ValueError(f"avg_pool2d: divisor_override must be a positive int, got "
                         f"{divisor_override!r}")
    plain = extra == (0, 0) and (count_include_pad or padding == (0, 0))
    if stride == kernel and padding == (0, 0) and extra == (0, 0) and divisor_override is None:
        y = _block_mean(x, kernel, out_hw)
    else:
        y = _window_sum(x, kernel, stride, padding, extra)
        if divisor_override is not None:
            y = y / float(divisor_override)
        elif plain:
            y = y / float(kernel[0] * kernel[1])
        else:
            y = y / _constant(_window_counts(x.shape[2:], kernel, stride, padding, out_hw,
                                             count_include_pad), x)
    return y.squeeze(0) if squeeze else y


def _window_counts(hw, kernel, stride, padding, out_hw, count_include_pad):
    """torch's divisor per output pixel: the window's size inside the padded input (or inside
    the input itself without count_include_pad), an outer product of one count per axis."""
    counts = []
    for i in range(2):
        start = np.arange(out_hw[i]) * stride[i] - padding[i]
        end = np.minimum(start + kernel[i], hw[i] + padding[i])
        if not count_include_pad:
            start, end = np.maximum(start, 0), np.minimum(end, hw[i])
        counts.append(end - start)
    return np.outer(counts[0], counts[1])


def adaptive_avg_pool2d(input, output_size):
    """torch.nn.functional.adaptive_avg_pool2d: output (O_h, O_w), where output (i, j) averages
    rows [floor(i*H/O_h), ceil((i+1)*H/O_h)) and the matching columns; None keeps a size.
    Unequal bins are computed as A_h @ x @ A_w^T with averaging matrices, so an inf or NaN in
    the input spreads to its whole output row and column there (0 * inf), not only to its bins."""
    x, squeeze = _batched("adaptive_avg_pool2d", input)
    size = (output_size, output_size) if isinstance(output_size, int) else tuple(output_size)
    if len(size) != 2:
        raise ValueError(f"adaptive_avg_pool2d: output_size must be an int or a pair, "
                         f"got {output_size!r}")
    size = tuple(x.shape[2 + i] if s is None else s for i, s in enumerate(size))
    if min(size) < 1:
        raise ValueError(f"adaptive_avg_pool2d: output_size must be positive, got {output_size!r}")
    h, w = x.shape[2:]
    if h % size[0] == 0 and w % size[1] == 0:
        y = _block_mean(x, (h // size[0], w // size[1]), size)
    else:
        rows = _constant(_averaging_matrix(h, size[0]), x)        # (O_h, H)
        cols = _constant(_averaging_matrix(w, size[1]).T, x)      # (W, O_w)
        y = rows @ x @ cols
    return y.squeeze(0) if squeeze else y


def interpolate(input, size=None, scale_factor=None, mode="nearest", align_corners=None):
    """torch.nn.functional.interpolate for (N, C, L) inputs (modes 'nearest', 'nearest-exact'
    and 'linear') and (N, C, H, W) inputs (modes 'nearest', 'nearest-exact' and 'bilinear').

    Output size: ``size``, or floor(L * scale_factor). Source coordinate of output index i, with
    scale = 1/scale_factor when scale_factor is given and L_in/L_out otherwise:
      nearest                         floor(i * scale), at most L_in - 1 (torch's, which shifts
                                      the image by up to half a pixel when shrinking)
      nearest-exact                   floor((i + 0.5) * scale), at most L_in - 1 (centred)
      (bi)linear, align_corners=False max((i + 0.5) * scale - 0.5, 0)
      (bi)linear, align_corners=True  i * (L_in - 1) / (L_out - 1)
    bilinear blends source columns floor(src) and floor(src) + 1 (the last column for both at the
    edge) with weights 1 - frac(src) and frac(src), then rows the same way. As in torch, an axis
    whose size does not change is copied, in both modes, even when scale_factor is not 1. A 3-D
    input is resized along L, as an (N, C, 1, L) image whose height stays.
    """
    if not isinstance(input, Tensor) or input.ndim not in (3, 4):
        raise ValueError(f"interpolate: expected a 3-D input (N, C, L) or a 4-D input "
                         f"(N, C, H, W), got {getattr(input, 'shape', type(input).__name__)}")
    modes = ("nearest", "nearest-exact", "linear" if input.ndim == 3 else "bilinear")
    if mode not in modes:
        raise ValueError(f"interpolate: mode must be 'nearest', 'nearest-exact' or 'bilinear' "
                         f"('linear' for 3-D inputs); for a {input.ndim}-D input of shape "
                         f"{input.shape} that is one of {modes}, got {mode!r}")
    if input.ndim == 3:
        one = lambda v: v[0] if isinstance(v, (tuple, list)) and len(v) == 1 else v  # noqa
        size, scale_factor = one(size), one(scale_factor)
        if isinstance(size, (tuple, list)) or isinstance(scale_factor, (tuple, list)):
            raise ValueError(f"interpolate: a 3-D input takes one size or scale_factor, got "
                             f"size={size!r}, scale_factor={scale_factor!r}")
        out = interpolate(input.unsqueeze(2), None if size is None else (1, size),
                          None if scale_factor is None else (1.0, scale_factor),
                          "bilinear" if mode == "linear" else mode, align_corners)
        return out.squeeze(2)
    x, squeeze = _batched("interpolate", input)
    if mode != "bilinear" and align_corners is not None:
        raise ValueError("interpolate: align_corners can only be set with mode='bilinear'")
    in_hw = x.shape[2:]
    out_hw, scales = _resize_args(in_hw, size, scale_factor)
    if mode in ("nearest", "nearest-exact"):
        for axis in (2, 3):
            i = axis - 2
            x = _take(x, _nearest_source(in_hw[i], out_hw[i], scales[i], mode == "nearest-exact"),
                      axis)
    else:
        dtype = x.dtype
        for axis in (3, 2):  # columns first, then rows: torch's order of the four products
            i = axis - 2
            if out_hw[i] == in_hw[i]:  # torch copies such an axis, whatever the scale_factor
                continue
            lo, hi, frac = _linear_source(in_hw[i], out_hw[i], scales[i], bool(align_corners),
                                          dtype)
            shape = (-1, 1) if axis == 2 else (-1,)
            x = _take(x, lo, axis) * _constant((1 - frac).reshape(shape), x) \
                + _take(x, hi, axis) * _constant(frac.reshape(shape), x)
    return x.squeeze(0) if squeeze else x


def conv1d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    """torch.nn.functional.conv1d: input (N, C_in, L) or (C_in, L), weight (C_out, C_in/groups,
    k), bias (C_out,) or None; output length floor((L + 2p - d(k-1) - 1)/s) + 1. Computed as
    conv2d of (N, C_in, 1, L) with a (C_out, C_in/groups, 1, k) kernel, so it is
    differentiable in input, weight and bias to any order. ``padding`` is an int, 'valid' or
    'same'; stride and dilation an int or a 1-tuple.

        >>> F.conv1d(mg.ones(1, 2, 5), mg.ones(3, 2, 3)).shape
        (1, 3, 3)
    """
    if not isinstance(input, Tensor) or input.ndim not in (2, 3):
        raise ValueError(f"conv1d: expected a 3-D input (N, C, L) or a 2-D unbatched input "
                         f"(C, L), got {getattr(input, 'shape', type(input).__name__)}")
    if weight.ndim != 3:
        raise ValueError(f"conv1d: expected a 3-D weight (C_out, C_in/groups, k), got shape "
                         f"{weight.shape}")
    one = lambda v, name: v if isinstance(v, str) else (  # noqa: E731
        (v[0] if isinstance(v, (tuple, list)) and len(v) == 1 else v)
        if isinstance(v, (int, tuple, list)) else v)
    stride, padding, dilation = one(stride, "stride"), one(padding, "padding"), \
        one(dilation, "dilation")
    for name, v in (("stride", stride), ("dilation", dilation)) + (
            () if isinstance(padding, str) else (("padding", padding),)):
        if not isinstance(v, int) or isinstance(v, bool):
            raise TypeError(f"conv1d: {name} must be an int or a 1-tuple, got {v!r}")
    x = input.unsqueeze(-2)
    y = conv2d(x, weight.unsqueeze(2), bias,
               stride=(1, stride), dilation=(1, dilation), groups=groups,
               padding=padding if isinstance(padding, str) else (0, padding))
    return y.squeeze(-2)


# ----------------------------------------------------------------------------- building blocks
def _block_mean(x, block, out_hw):
    """Mean over non-overlapping block_h x block_w tiles (the input's leftover rows are dropped)."""
    n, c = x.shape[:2]
    used = (out_hw[0] * block[0], out_hw[1] * block[1])
    if x.shape[2:] != used:
        x = x[:, :, :used[0], :used[1]]
    return x.reshape(n, c, out_hw[0], block[0], out_hw[1], block[1]).mean(dim=(3, 5))


def _window_sum(x, kernel, stride, padding, extra):
    """Sum over each window: a one-channel conv2d of every (n, c) plane with a kernel of ones
    (``extra`` zero rows and columns at the bottom and right for ceil_mode's last window)."""
    n, c, h, w = x.shape
    planes = x.reshape(n * c, 1, h, w)
    if extra != (0, 0):
        planes = _pad_op(planes, (padding[1], padding[1] + extra[1],
                                  padding[0], padding[0] + extra[0]))
        padding = (0, 0)
    y = conv2d(planes, _constant(np.ones((1, 1) + kernel), x), stride=stride, padding=padding)
    return y.reshape(n, c, *y.shape[2:])


def _take(x, index, axis):
    """x with ``axis`` (2 or 3) re-indexed by the integer array ``index``: a repeat when each
    source element is read r times in a row, a slice when the reads are evenly spaced, a gather
    otherwise."""
    n_in, n_out = x.shape[axis], len(index)
    if np.array_equal(index, np.arange(n_in)):
        return x
    if n_out % n_in == 0 and np.array_equal(index, np.arange(n_out) // (n_out // n_in)):
        r = n_out // n_in
        shape = list(x.shape)
        x = x.unsqueeze(axis + 1)
        expanded = list(x.shape)
        expanded[axis + 1] = r
        shape[axis] = n_out
        return x.expand(*expanded).reshape(shape)
    step = int(index[1] - index[0]) if n_out > 1 else 1
    if step > 0 and np.array_equal(index, index[0] + step * np.arange(n_out)):
        sl = slice(int(index[0]), int(index[0]) + step * (n_out - 1) + 1, step)
        return x[(slice(None),) * axis + (sl,)]
    shape = x.shape
    strides = np.cumprod((1,) + shape[::-1])[::-1][1:]   # element strides of a C-ordered array
    grid = [np.arange(s).reshape((-1,) + (1,) * (3 - d)) * strides[d] for d, s in enumerate(shape)]
    grid[axis] = index.reshape((-1,) + (1,) * (3 - axis)) * strides[axis]
    flat = sum(grid).reshape(-1)
    out_shape = shape[:axis] + (n_out,) + shape[axis + 1:]
    return x.reshape(-1)[flat].reshape(out_shape)


def _nearest_source(n_in, n_out, scale, exact=False):
    if n_out == n_in:
        return np.arange(n_out)
    if n_out == 2 * n_in:
        return np.arange(n_out) // 2
    # torch computes this in float32 whatever the input dtype
    scale = np.float32(1.0 / scale if scale is not None else n_in / n_out)
    i = np.arange(n_out, dtype=np.float32)
    src = np.floor((i + np.float32(0.5)) * scale if exact else i * scale).astype(np.int64)
    return np.minimum(src, n_in - 1)


def _linear_source(n_in, n_out, scale, align_corners, dtype):
    """Indices of the two source elements and the weight of the second, in torch's arithmetic
    (float32 for float32 inputs)."""
    real = np.float32 if dtype == np.float32 else np.float64
    i = np.arange(n_out)
    if align_corners:
        ratio = real((n_in - 1) / (n_out - 1)) if n_out > 1 else real(0)
        src = ratio * i.astype(real)
    else:
        ratio = real(1.0 / scale) if scale is not None else real(n_in / n_out)
        src = np.maximum(ratio * (i + 0.5) - 0.5, 0).astype(real)
    lo = np.minimum(np.floor(src).astype(np.int64), n_in - 1)
    hi = np.minimum(lo + 1, n_in - 1)
    frac = np.clip(src - lo, 0, 1).astype(dtype)
    return lo, hi, frac


def _averaging_matrix(n_in, n_out):
    """(n_out, n_in) matrix whose row i averages torch's adaptive bin i."""
    m = np.zeros((n_out, n_in))
    for i in range(n_out):
        lo, hi = (i * n_in) // n_out, -((-(i + 1) * n_in) // n_out)
        m[i, lo:hi] = 1.0 / (hi - lo)
    return m


def _constant(array, like):
    """A constant Tensor (no gradient) with ``like``'s dtype, on its device."""
    return Tensor(backend.to_device(np.asarray(array, dtype=like.dtype), like.device))


# ----------------------------------------------------------------------------- argument checks
def _window_args(who, x, kernel_size, stride, padding, dilation, ceil_mode):
    kernel = _pair(who, "kernel_size", kernel_size, 1)
    stride = kernel if stride is None or stride == () else _pair(who, "stride", stride, 1)
    padding = _pair(who, "padding", padding, 0)
    dilation = _pair(who, "dilation", dilation, 1)
    if padding[0] > kernel[0] // 2 or padding[1] > kernel[1] // 2:
        raise ValueError(f"{who}: padding {padding} must be at most half of kernel_size {kernel}")
    out_hw, extra = [], []
    for i in range(2):
        size, span = x.shape[2 + i] + 2 * padding[i], dilation[i] * (kernel[i] - 1) + 1
        steps = (size - span) / stride[i]
        out = (math.ceil(steps) if ceil_mode else math.floor(steps)) + 1
        if ceil_mode and (out - 1) * stride[i] >= x.shape[2 + i] + padding[i]:
            out -= 1  # the last window must start inside the input or its left padding
        out_hw.append(out)
        extra.append(max(0, (out - 1) * stride[i] + span - size))
    out_hw = tuple(out_hw)
    if min(out_hw) < 1:
        raise ValueError(f"{who}: input {x.shape} is too small for kernel_size {kernel} with "
                         f"padding {padding} and dilation {dilation}: the output would be {out_hw}")
    return kernel, stride, padding, dilation, out_hw, tuple(extra)


def _resize_args(in_hw, size, scale_factor):
    """The output size, and the scale factors to compute source indices from (None: from sizes)."""
    if (size is None) == (scale_factor is None):
        raise ValueError("interpolate: give exactly one of size and scale_factor")
    if size is not None:
        out_hw = (size, size) if isinstance(size, int) else tuple(size)
        if len(out_hw) != 2 or min(out_hw) < 1:
            raise ValueError(f"interpolate: size must be a positive int or pair, got {size!r}")
        return tuple(int(s) for s in out_hw), (None, None)
    scales = (scale_factor,) * 2 if isinstance(scale_factor, (int, float)) else tuple(scale_factor)
    if len(scales) != 2 or min(scales) <= 0:
        raise ValueError(f"interpolate: scale_factor must be a positive number or pair, "
                         f"got {scale_factor!r}")
    out_hw = tuple(int(np.floor(in_hw[i] * float(scales[i]))) for i in range(2))
    if min(out_hw) < 1:
        raise ValueError(f"interpolate: scale_factor {scale_factor!r} shrinks the input {in_hw} "
                         f"to nothing ({out_hw})")
    return out_hw, tuple(float(s) for s in scales)
