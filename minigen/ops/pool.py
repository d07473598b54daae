"""Pooling and resizing of (N, C, H, W) images, built from differentiable ops.

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

Output sizes follow torch with ceil_mode=False: floor((L + 2p - d*(k-1) - 1) / s) + 1.
Gathers use one flat index into the flattened tensor: the scatter-add of a 1-D index is a fast
path in NumPy, while scatters along an inner axis are about 100x slower.
"""
import numpy as np

from .. import backend
from ..tensor import Tensor
from .conv import Conv2dOp, _batched, _pair
from .im2col import ConvGeometry, out_size, windows


def max_pool2d(input, kernel_size, stride=None, padding=0, dilation=1):
    """torch.nn.functional.max_pool2d (ceil_mode=False): the maximum of each kh x kw window.

    Padding counts as -inf and never takes the gradient: where the maximum of a window is -inf,
    the gradient goes to its first real pixel, as in torch. Two corner cases differ from torch:
    a window that (through dilation) covers only padding outputs -inf and passes no gradient
    (torch sends it to a pixel outside the window), and among several NaNs the first one takes
    the gradient (torch: the last one).
    """
    x, squeeze = _batched("max_pool2d", input)
    kernel, stride, padding, dilation, out_hw = _window_args(
        "max_pool2d", x, kernel_size, stride, padding, dilation)
    xp = backend.get_array_module(x.data)
    real_hw = x.shape[2:]
    if padding != (0, 0):
        x = _pad(x, padding, -np.inf)
    n, c, h, w = x.shape
    win = windows(x.data, kernel, out_hw, stride, dilation)           # (N, C, kh, kw, Ho, Wo)
    win = xp.ascontiguousarray(win.transpose(0, 1, 4, 5, 2, 3)).reshape(n, c, *out_hw, -1)
    arg = win.argmax(axis=-1)                                         # the first maximum
    if padding != (0, 0):
        arg = _first_real_where_max_is_minus_inf(win, arg, real_hw, kernel, stride, padding,
                                                 dilation, out_hw)
    rows = xp.arange(out_hw[0]).reshape(-1, 1) * stride[0] + (arg // kernel[1]) * dilation[0]
    cols = xp.arange(out_hw[1]) * stride[1] + (arg % kernel[1]) * dilation[1]
    planes = xp.arange(n * c).reshape(n, c, 1, 1) * (h * w)
    flat = (planes + rows * w + cols).reshape(-1)
    y = x.reshape(-1)[flat].reshape(n, c, *out_hw)
    return y.squeeze(0) if squeeze else y


def _first_real_where_max_is_minus_inf(win, arg, real_hw, kernel, stride, padding, dilation,
                                       out_hw):
    """Where a window's maximum is -inf, argmax may have picked a padding position; use the
    window's first real pixel instead (the rule torch follows)."""
    xp = backend.get_array_module(win)
    at_max = xp.take_along_axis(win, arg[..., None], axis=-1)[..., 0]
    hopeless = at_max == -np.inf
    if not bool(hopeless.any()):
        return arg
    real = np.pad(np.ones((1, 1) + tuple(real_hw), dtype=bool),
                  ((0, 0), (0, 0), (padding[0],) * 2, (padding[1],) * 2))
    real = windows(real, kernel, out_hw, stride, dilation)[0, 0].transpose(2, 3, 0, 1)
    first_real = xp.asarray(real.reshape(*out_hw, -1).argmax(axis=-1))  # 0 if none is real
    return xp.where(hopeless, first_real, arg)


def avg_pool2d(input, kernel_size, stride=None, padding=0, count_include_pad=True):
    """torch.nn.functional.avg_pool2d (ceil_mode=False): the mean of each kh x kw window; with
    count_include_pad=True (the default) padded zeros count in the mean, otherwise each window is
    divided by the number of real pixels it covers."""
    x, squeeze = _batched("avg_pool2d", input)
    kernel, stride, padding, _, out_hw = _window_args(
        "avg_pool2d", x, kernel_size, stride, padding, 1)
    if stride == kernel and padding == (0, 0):
        y = _block_mean(x, kernel, out_hw)
    else:
        ones = _constant(np.ones((1, 1) + kernel), x)
        y = _window_sum(x, ones, stride, padding)
        if count_include_pad or padding == (0, 0):
            y = y / float(kernel[0] * kernel[1])
        else:
            counts = _window_sum(_constant(np.ones((1, 1) + x.shape[2:]), x), ones, stride, padding)
            y = y / counts
    return y.squeeze(0) if squeeze else y


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
    """torch.nn.functional.interpolate for (N, C, H, W) inputs, modes 'nearest' and 'bilinear'.

    Output size: ``size``, or floor(L * scale_factor). Source coordinate of output index i, with
    scale = 1/scale_factor when scale_factor is given and L_in/L_out otherwise:
      nearest                         floor(i * scale), at most L_in - 1
      bilinear, align_corners=False   max((i + 0.5) * scale - 0.5, 0)
      bilinear, align_corners=True    i * (L_in - 1) / (L_out - 1)
    bilinear blends source columns floor(src) and floor(src) + 1 (the last column for both at the
    edge) with weights 1 - frac(src) and frac(src), then rows the same way. As in torch, an axis
    whose size does not change is copied, in both modes, even when scale_factor is not 1.
    """
    x, squeeze = _batched("interpolate", input)
    if mode not in ("nearest", "bilinear"):
        raise ValueError(f"interpolate: mode must be 'nearest' or 'bilinear', got {mode!r}")
    if mode == "nearest" and align_corners is not None:
        raise ValueError("interpolate: align_corners can only be set with mode='bilinear'")
    in_hw = x.shape[2:]
    out_hw, scales = _resize_args(in_hw, size, scale_factor)
    if mode == "nearest":
        for axis in (2, 3):
            i = axis - 2
            x = _take(x, _nearest_source(in_hw[i], out_hw[i], scales[i]), axis)
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


# ----------------------------------------------------------------------------- building blocks
def _block_mean(x, block, out_hw):
    """Mean over non-overlapping block_h x block_w tiles (the input's leftover rows are dropped)."""
    n, c = x.shape[:2]
    used = (out_hw[0] * block[0], out_hw[1] * block[1])
    if x.shape[2:] != used:
        x = x[:, :, :used[0], :used[1]]
    return x.reshape(n, c, out_hw[0], block[0], out_hw[1], block[1]).mean(dim=(3, 5))


def _window_sum(x, ones, stride, padding):
    """Sum over each window: one-channel conv2d of every (n, c) plane with a kernel of ones."""
    n, c, h, w = x.shape
    geom = ConvGeometry(stride, tuple((p, p) for p in padding), (1, 1), 1)
    y = Conv2dOp.apply(x.reshape(n * c, 1, h, w), ones, geom=geom)
    return y.reshape(n, c, *y.shape[2:])


def _pad(x, padding, value):
    from .index import pad
    return pad(x, (padding[1], padding[1], padding[0], padding[0]), value=value)


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


def _nearest_source(n_in, n_out, scale):
    if n_out == n_in:
        return np.arange(n_out)
    if n_out == 2 * n_in:
        return np.arange(n_out) // 2
    # torch computes this in float32 whatever the input dtype
    scale = np.float32(1.0 / scale if scale is not None else n_in / n_out)
    src = np.floor(np.arange(n_out, dtype=np.float32) * scale).astype(np.int64)
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
def _window_args(who, x, kernel_size, stride, padding, dilation):
    kernel = _pair(who, "kernel_size", kernel_size, 1)
    stride = kernel if stride is None or stride == () else _pair(who, "stride", stride, 1)
    padding = _pair(who, "padding", padding, 0)
    dilation = _pair(who, "dilation", dilation, 1)
    if padding[0] > kernel[0] // 2 or padding[1] > kernel[1] // 2:
        raise ValueError(f"{who}: padding {padding} must be at most half of kernel_size {kernel}")
    out_hw = tuple(out_size(x.shape[2 + i], kernel[i], stride[i], padding[i], padding[i],
                            dilation[i]) for i in range(2))
    if min(out_hw) < 1:
        raise ValueError(f"{who}: input {x.shape} is too small for kernel_size {kernel} with "
                         f"padding {padding} and dilation {dilation}: the output would be {out_hw}")
    return kernel, stride, padding, dilation, out_hw


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
