"""The array kernels behind conv2d, conv_transpose2d and their weight gradient (raw arrays only).

A convolution is a matrix product once the input is unfolded: ``windows`` is a strided *view* of
the padded input with shape (N, C, kh, kw, H_out, W_out), where element (n, c, a, b, i, j) is
xpad[n, c, i*s + a*d, j*s + b*d]. Copying that view gives the "im2col" matrix of each image,
(C*kh*kw, H_out*W_out), and then

    conv            y_n = W @ cols_n                    W: (C_out, C*kh*kw)
    weight grad     dW = sum_n g_n @ cols_n^T           g_n: (C_out, H_out*W_out)
    transposed conv dcols_n = W^T @ g_n, then every tap (a, b) of dcols is added back at the input
                    positions it was read from ("col2im"), the adjoint of the unfolding.

With stride 1 the transposed conv is itself a conv: of g with the flipped, channel-swapped kernel
and padding d*(k-1) - p, which is faster than col2im's kh*kw scattered additions.

Why in blocks of images: the unfolded matrix is kh*kw times larger than the input (115 MB for a
batch of 64 images of 64x28x28 and a 3x3 kernel). Unfolding a few images at a time, sized to stay
in the CPU cache, and multiplying at once is faster than one giant copy (the copy is then read from
cache, not from memory) and bounds the extra memory to one block. The loop runs over blocks of
``_BLOCK_BYTES``, not over images: small images make large blocks.

Geometry: ``pads`` is ((top, bottom), (left, right)); a negative pad crops. Groups split the
channels: group k of the output reads input channels [k*C/groups, (k+1)*C/groups).
"""
from collections import namedtuple

from .. import backend

ConvGeometry = namedtuple("ConvGeometry", "stride pads dilation groups")
ConvGeometry.__doc__ = """How a kernel slides: stride (sh, sw), pads ((top, bottom), (left, right)),
dilation (dh, dw) and groups; shared by a conv and its two adjoints."""

# Unfolded-block budgets. CPU: about a core's L2 cache (measured on the conv benchmark: 2-4 MB
# blocks beat 16 MB and whole-batch unfolding). GPU: no cache to fit; large blocks keep the
# number of kernel launches small.
_BLOCK_BYTES = {"cpu": 4 << 20, "cuda": 1 << 30}


def out_size(size, kernel, stride, pad_lo, pad_hi, dilation):
    """Output length of a convolution along one axis: floor((L + pads - d*(k-1) - 1) / s) + 1."""
    return (size + pad_lo + pad_hi - dilation * (kernel - 1) - 1) // stride + 1


def pad_hw(x, pads):
    """Zero-pad (positive) or crop (negative) the last two axes by ((top, bottom), (left, right))."""
    (t, b), (l, r) = pads
    if min(t, b, l, r) < 0:
        h, w = x.shape[-2:]
        x = x[..., max(-t, 0):h - max(-b, 0), max(-l, 0):w - max(-r, 0)]
    if max(t, b, l, r) > 0:
        xp = backend.get_array_module(x)
        widths = [(0, 0)] * (x.ndim - 2) + [(max(t, 0), max(b, 0)), (max(l, 0), max(r, 0))]
        x = xp.pad(x, widths)
    return x


def windows(xpad, kernel, out_hw, stride, dilation):
    """The strided view (N, C, kh, kw, H_out, W_out) of xpad[n, c, i*s + a*d, j*s + b*d] (no copy)."""
    xp = backend.get_array_module(xpad)
    sn, sc, sh, sw = xpad.strides
    shape = xpad.shape[:2] + tuple(kernel) + tuple(out_hw)
    strides = (sn, sc, sh * dilation[0], sw * dilation[1], sh * stride[0], sw * stride[1])
    return xp.lib.stride_tricks.as_strided(xpad, shape=shape, strides=strides)


def _blocks(n, bytes_per_image, array):
    """Ranges [lo, hi) over the batch, each unfolding at most one block budget (at least 1 image)."""
    budget = _BLOCK_BYTES[backend.device_of(array)]
    step = max(1, min(n, budget // max(bytes_per_image, 1)))
    return [(lo, min(lo + step, n)) for lo in range(0, n, step)]


def _unfold(xpad, lo, hi, kernel, out_hw, geom):
    """im2col of images lo:hi as (images, groups, C/groups*kh*kw, H_out*W_out), contiguous."""
    xp = backend.get_array_module(xpad)
    cols = xp.ascontiguousarray(windows(xpad[lo:hi], kernel, out_hw, geom.stride, geom.dilation))
    return cols.reshape(hi - lo, geom.groups, -1, out_hw[0] * out_hw[1])


def _out_hw(in_hw, kernel, geom):
    return tuple(out_size(in_hw[i], kernel[i], geom.stride[i], *geom.pads[i], geom.dilation[i])
                 for i in range(2))


def conv2d_forward(x, w, geom):
    """y[n, o, i, j] = sum_{c, a, b} w[o, c, a, b] xpad[n, group(o)*C_g + c, i*s + a*d, j*s + b*d]."""
    xp = backend.get_array_module(x, w)
    n, c = x.shape[:2]
    c_out, kernel, g = w.shape[0], w.shape[2:], geom.groups
    out_hw = _out_hw(x.shape[2:], kernel, geom)
    xpad = pad_hw(x, geom.pads)
    y = xp.empty((n, c_out) + out_hw, dtype=x.dtype)
    w_mat = w.reshape(g, c_out // g, -1)
    per_image = c * kernel[0] * kernel[1] * out_hw[0] * out_hw[1] * x.itemsize
    for lo, hi in _blocks(n, per_image, x):
        cols = _unfold(xpad, lo, hi, kernel, out_hw, geom)
        xp.matmul(w_mat, cols, out=y[lo:hi].reshape(hi - lo, g, c_out // g, -1))
    return y


def conv2d_weight_grad(x, gy, kernel, geom):
    """dw[o, c, a, b] = sum_{n, i, j} gy[n, o, i, j] xpad[n, group(o)*C_g + c, i*s + a*d, j*s + b*d]."""
    xp = backend.get_array_module(x, gy)
    n, c = x.shape[:2]
    c_out, out_hw, g = gy.shape[1], gy.shape[2:], geom.groups
    xpad = pad_hw(x, geom.pads)
    dw = xp.zeros((g, c_out // g, c // g * kernel[0] * kernel[1]), dtype=x.dtype)
    per_image = c * kernel[0] * kernel[1] * out_hw[0] * out_hw[1] * x.itemsize
    for lo, hi in _blocks(n, per_image, x):
        cols = _unfold(xpad, lo, hi, kernel, out_hw, geom)
        g_mat = gy[lo:hi].reshape(hi - lo, g, c_out // g, -1)
        dw += xp.matmul(g_mat, cols.transpose(0, 1, 3, 2)).sum(axis=0)
    return dw.reshape((c_out, c // g) + tuple(kernel))


def conv_transpose2d_forward(gy, w, geom, in_hw):
    """The adjoint of x -> conv2d(x, w) for inputs x of spatial size ``in_hw``: the x-shaped array
    dx with <conv2d(x, w), gy> = <x, dx> for every x. Stride 1: a conv with the flipped kernel;
    otherwise col2im."""
    if geom.stride == (1, 1):
        return _transpose_as_conv(gy, w, geom)
    return _col2im(gy, w, geom, in_hw)


def flip_kernel(w, groups):
    """The kernel of the stride-1 transposed conv as a conv: input and output channels swapped
    within each group and both spatial axes reversed, (C_out, C_g, kh, kw) -> (C, C_out_g, kh, kw)."""
    c_out, c_g, kh, kw = w.shape
    w = w.reshape(groups, c_out // groups, c_g, kh, kw).transpose(0, 2, 1, 3, 4)[..., ::-1, ::-1]
    return backend.get_array_module(w).ascontiguousarray(w).reshape(groups * c_g, c_out // groups, kh, kw)


def _transpose_as_conv(gy, w, geom):
    # Input row r of the conv was read by output rows r + top - a*d; with a' = k-1-a that is a
    # correlation of gy, padded by d*(k-1) - top above (and likewise below), with the flipped kernel.
    kh, kw = w.shape[2:]
    span = (geom.dilation[0] * (kh - 1), geom.dilation[1] * (kw - 1))
    pads = tuple((span[i] - geom.pads[i][0], span[i] - geom.pads[i][1]) for i in range(2))
    return conv2d_forward(gy, flip_kernel(w, geom.groups), geom._replace(pads=pads))


def _col2im(gy, w, geom, in_hw):
    xp = backend.get_array_module(gy, w)
    n, c_out = gy.shape[:2]
    g, c_g, (kh, kw) = geom.groups, w.shape[1], w.shape[2:]
    out_h, out_w = gy.shape[2:]
    (t, b), (l, r) = geom.pads
    pad_h, pad_w = in_hw[0] + t + b, in_hw[1] + l + r
    buf = xp.zeros((n, g, c_g, pad_h, pad_w), dtype=gy.dtype)
    # rows ordered (tap a, tap b, channel) so that each tap's slice of dcols is one contiguous block
    w_t = xp.ascontiguousarray(
        w.reshape(g, c_out // g, c_g, kh, kw).transpose(0, 3, 4, 2, 1)).reshape(g, -1, c_out // g)
    (sh, sw), (dh, dw) = geom.stride, geom.dilation
    per_image = g * c_g * kh * kw * out_h * out_w * gy.itemsize
    for lo, hi in _blocks(n, per_image, gy):
        dcols = xp.matmul(w_t, gy[lo:hi].reshape(hi - lo, g, c_out // g, -1))
        dcols = dcols.reshape(hi - lo, g, kh, kw, c_g, out_h, out_w)
        for a in range(kh):
            for bb in range(kw):
                buf[lo:hi, :, :, a * dh:a * dh + sh * (out_h - 1) + 1:sh,
                    bb * dw:bb * dw + sw * (out_w - 1) + 1:sw] += dcols[:, :, a, bb]
    buf = buf.reshape(n, g * c_g, pad_h, pad_w)
    return xp.ascontiguousarray(pad_hw(buf, tuple((-p0, -p1) for p0, p1 in geom.pads)))
