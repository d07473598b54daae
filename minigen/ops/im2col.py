"""The array kernels behind conv2d, conv_transpose2d and their weight gradient (raw arrays only).

A convolution is a matrix product once the input is unfolded: ``windows`` is a strided *view* of
the padded input with shape (N, C, kh, kw, H_out, W_out), where element (n, c, a, b, i, j) is
xpad[n, c, i*s + a*d, j*s + b*d]. Copying that view (images moved next to the pixels) gives the
"im2col" matrix cols of a block of images, (C*kh*kw, images*H_out*W_out), and then

    conv            y = W @ cols                        W: (C_out, C*kh*kw)
    weight grad     dW^T = cols @ g^T                   g: (C_out, images*H_out*W_out), summed
                                                        over the blocks
    transposed conv dcols = W^T @ g, then every tap (a, b) of dcols is added back at the input
                    positions it was read from ("col2im"), the adjoint of the unfolding.

With stride 1 the transposed conv is itself a conv: of g with the flipped, channel-swapped kernel
and padding d*(k-1) - p, which is faster than col2im's kh*kw scattered additions. With groups,
each product is batched over the groups.

Why in blocks of images: the unfolded matrix is kh*kw times larger than the input (115 MB for a
batch of 64 images of 64x28x28 and a 3x3 kernel). Unfolding a few images at a time, sized to stay
in the CPU cache, and multiplying at once is faster than one giant copy (the product then reads
the copy from cache, not from memory) and bounds the extra memory to one block. The loop runs over
blocks of ``_BLOCK_BYTES`` (see ``_cpu_block_bytes``), not over images: small images make large
blocks. The alternative to
unfolding, one product (N*H*W, C) @ (C, C_out) per kernel offset, was slower (kh*kw passes over
the output; see benchmarks/bench_conv.py --approaches).

Geometry: ``pads`` is ((top, bottom), (left, right)); a negative pad crops. Groups split the
channels: group k of the output reads input channels [k*C/groups, (k+1)*C/groups).
"""
import os
from collections import namedtuple

from .. import backend

ConvGeometry = namedtuple("ConvGeometry", "stride pads dilation groups")
ConvGeometry.__doc__ = """How a kernel slides: stride (sh, sw), pads ((top, bottom), (left, right)),
dilation (dh, dw) and groups; shared by a conv and its two adjoints."""



def _cpu_block_bytes():
    """The unfolded-block budget on the CPU.

    With one BLAS thread, blocks of about a core's L2 cache are fastest (conv benchmark, forward
    + backward: 4 MB blocks 153 ms, 32 MB 209 ms, the whole batch 223 ms). A multi-threaded BLAS
    call ends with its threads waiting for each other; when other processes compete for the
    cores, each such wait can cost a scheduler time slice, so with several BLAS threads fewer,
    larger products are far safer (2 threads on 2 busy cores: 4 MB 640-1750 ms, 24 MB 306 ms).
    """
    single = any(os.environ.get(name, "").strip() == "1"
                 for name in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"))
    return 4 << 20 if single or (os.cpu_count() or 1) == 1 else 24 << 20


# GPU: no cache to fit; large blocks keep the number of kernel launches small.
_BLOCK_BYTES = {"cpu": _cpu_block_bytes(), "cuda": 1 << 30}


def out_size(size, kernel, stride, pad_lo, pad_hi, dilation):
    """Output length of a convolution along one axis: floor((L + pads - d*(k-1) - 1) / s) + 1."""
    return (size + pad_lo + pad_hi - dilation * (kernel - 1) - 1) // stride + 1


def pad_hw(x, pads):
    """Zero-pad (positive) or crop (negative) the last two axes by ((top, bottom), (left, right)).
    """
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
    """The strided view (N, C, kh, kw, H_out, W_out) of xpad[n, c, i*s + a*d, j*s + b*d]; no copy.
    """
    xp = backend.get_array_module(xpad)
    sn, sc, sh, sw = xpad.strides
    shape = xpad.shape[:2] + tuple(kernel) + tuple(out_hw)
    strides = (sn, sc, sh * dilation[0], sw * dilation[1], sh * stride[0], sw * stride[1])
    return xp.lib.stride_tricks.as_strided(xpad, shape=shape, strides=strides)


def _blocks(n, bytes_per_image, array):
    """Ranges [lo, hi) over the batch, each unfolding at most one block budget (at least 1 image).
    """
    budget = _BLOCK_BYTES[backend.device_of(array)]
    step = max(1, min(n, budget // max(bytes_per_image, 1)))
    return [(lo, min(lo + step, n)) for lo in range(0, n, step)]


def _unfolded_blocks(x, kernel, out_hw, geom):
    """Yield (lo, hi, cols) over the batch: cols is the im2col matrix of images lo:hi, shaped
    (groups, C/groups*kh*kw, images*H_out*W_out), so that one matrix product per group covers the
    whole block. Each block is padded into a reused buffer, so that padding, unfolding and the
    product that follows all work on data still in cache."""
    xp = backend.get_array_module(x)
    n, c = x.shape[:2]
    x = pad_hw(x, tuple((min(lo, 0), min(hi, 0)) for lo, hi in geom.pads))  # the crops
    (t, b), (l, r) = tuple((max(lo, 0), max(hi, 0)) for lo, hi in geom.pads)
    h, w = x.shape[2:]
    blocks = _blocks(n, c * kernel[0] * kernel[1] * out_hw[0] * out_hw[1] * x.itemsize, x)
    padded = t or b or l or r
    if padded:  # zero borders, written once; only the interior changes from block to block
        buf = xp.zeros((blocks[0][1], c, h + t + b, w + l + r), dtype=x.dtype)
    for lo, hi in blocks:
        if padded:
            xpad = buf[:hi - lo]
            xpad[:, :, t:t + h, l:l + w] = x[lo:hi]
        else:
            xpad = x[lo:hi]
        view = windows(xpad, kernel, out_hw, geom.stride, geom.dilation).transpose(1, 2, 3, 0, 4, 5)
        cols = xp.ascontiguousarray(view)
        yield lo, hi, cols.reshape(geom.groups, -1, (hi - lo) * out_hw[0] * out_hw[1])


def _by_group(a, groups):
    """(images, C, H, W) -> (groups, C/groups, images*H*W): the layout of the block products."""
    n, c = a.shape[:2]
    a = a.reshape(n, groups, c // groups, -1).transpose(1, 2, 0, 3)
    return a.reshape(groups, c // groups, -1)


def _out_hw(in_hw, kernel, geom):
    return tuple(out_size(in_hw[i], kernel[i], geom.stride[i], *geom.pads[i], geom.dilation[i])
                 for i in range(2))


def _pointwise(w, geom):
    """True for a 1x1 kernel with stride 1, no padding and one group: then the unfolded matrix
    is the input itself, and the products run on (N, C, H*W) views with no copy."""
    return tuple(w.shape[2:]) == (1, 1) and geom.stride == (1, 1) and geom.groups == 1 \
        and geom.pads == ((0, 0), (0, 0))


def conv2d_forward(x, w, geom, bias=None):
    """y[n, o, i, j] = bias[o] + sum_{c,a,b} w[o, c, a, b] xpad[n, c', i*s + a*d, j*s + b*d],
    c' = group(o)*C_g + c."""
    xp = backend.get_array_module(x, w)
    if _pointwise(w, geom):   # one product per image, written straight into the (N, C_out, HW)
        n, c, h, wd = x.shape
        y = xp.matmul(w.reshape(w.shape[0], c), x.reshape(n, c, h * wd))
        if bias is not None:
            y += bias.reshape(-1, 1)
        return y.reshape(n, -1, h, wd)
    n, c = x.shape[:2]
    c_out, kernel, g = w.shape[0], w.shape[2:], geom.groups
    out_hw = _out_hw(x.shape[2:], kernel, geom)
    y = xp.empty((n, c_out) + out_hw, dtype=x.dtype)
    w_mat = w.reshape(g, c_out // g, -1)
    for lo, hi, cols in _unfolded_blocks(x, kernel, out_hw, geom):
        y_block = xp.matmul(w_mat, cols).reshape(c_out, hi - lo, -1)   # (C_out, images, HW)
        if bias is not None:  # added while the block is in cache
            y_block += bias.reshape(c_out, 1, 1)
        y[lo:hi] = y_block.transpose(1, 0, 2).reshape((hi - lo, c_out) + out_hw)
    return y


def conv2d_weight_grad(x, gy, kernel, geom):
    """dw[o, c, a, b] = sum_{n,i,j} gy[n, o, i, j] xpad[n, c', i*s + a*d, j*s + b*d],
    c' = group(o)*C_g + c."""
    xp = backend.get_array_module(x, gy)
    n, c = x.shape[:2]
    c_out, out_hw, g = gy.shape[1], gy.shape[2:], geom.groups
    if tuple(kernel) == (1, 1) and geom.stride == (1, 1) and g == 1 \
            and geom.pads == ((0, 0), (0, 0)):   # sum over images of gy_n x_n^T
        dw = xp.matmul(gy.reshape(n, c_out, -1), x.reshape(n, c, -1).transpose(0, 2, 1))
        return dw.sum(axis=0).reshape(c_out, c, 1, 1)
    # accumulated transposed, dw^T = cols @ gy^T: the product with both operands in row order,
    # which OpenBLAS runs fastest here
    dw_t = xp.zeros((g, c // g * kernel[0] * kernel[1], c_out // g), dtype=x.dtype)
    for lo, hi, cols in _unfolded_blocks(x, kernel, out_hw, geom):
        g_t = xp.ascontiguousarray(_by_group(gy[lo:hi], g).transpose(0, 2, 1))
        dw_t += xp.matmul(cols, g_t)
    dw = xp.ascontiguousarray(dw_t.transpose(0, 2, 1))
    return dw.reshape((c_out, c // g) + tuple(kernel))


def conv_transpose2d_forward(gy, w, geom, in_hw, bias=None):
    """The adjoint of x -> conv2d(x, w) for inputs x of spatial size ``in_hw``: the x-shaped array
    dx with <conv2d(x, w), gy> = <x, dx> for every x (plus bias[c] in channel c). Stride 1: a conv
    with the flipped kernel; otherwise col2im."""
    if geom.stride == (1, 1):
        return _transpose_as_conv(gy, w, geom, bias)
    dx = _col2im(gy, w, geom, in_hw)
    if bias is not None:
        dx += bias.reshape(-1, 1, 1)
    return dx


def flip_kernel(w, groups):
    """The kernel of the stride-1 transposed conv as a conv: input and output channels swapped
    within each group and both spatial axes reversed: (C_out, C_g, kh, kw) -> (C, C_out_g, kh, kw).
    """
    c_out, c_g, kh, kw = w.shape
    w = w.reshape(groups, c_out // groups, c_g, kh, kw).transpose(0, 2, 1, 3, 4)[..., ::-1, ::-1]
    w = backend.get_array_module(w).ascontiguousarray(w)
    return w.reshape(groups * c_g, c_out // groups, kh, kw)


def _transpose_as_conv(gy, w, geom, bias):
    # Input row r of the conv was read by output rows r + top - a*d; with a' = k-1-a that is a
    # correlation of gy, padded by d*(k-1) - top above (likewise below), with the flipped kernel.
    kh, kw = w.shape[2:]
    span = (geom.dilation[0] * (kh - 1), geom.dilation[1] * (kw - 1))
    pads = tuple((span[i] - geom.pads[i][0], span[i] - geom.pads[i][1]) for i in range(2))
    return conv2d_forward(gy, flip_kernel(w, geom.groups), geom._replace(pads=pads), bias)


def _phases(kernel, stride, dilation, pad, size):
    """Taps of one axis grouped by the input phase they write (stride > 1): tap a reads input
    position i*s + a*d - pad = s*(i + m) + p with phase p = (a*d - pad) mod s. Yields
    (p, Q, [(a, m), ...]) with Q the number of input positions of phase p (p, p + s, ... < size)."""
    taps = {}
    for a in range(kernel):
        p, m = (a * dilation - pad) % stride, (a * dilation - pad) // stride
        taps.setdefault(p, []).append((a, m))
    for p, group in sorted(taps.items()):
        if p < size:
            yield p, -(-(size - p) // stride), group


def _col2im(gy, w, geom, in_hw):
    """dcols = W^T @ gy, then each tap added back where it was read. The taps are gathered phase
    by phase: with stride s, input row s*q + p is written only by the taps of phase p, each
    shifted by a whole number of rows and columns, so the additions run on contiguous arrays and
    every input element is written once (one strided write per phase, not one per tap).

    Where a phase is as wide as gy (the usual stride-2 geometries), a tap's rows are added as one
    run, shifted by its column offset: the columns that would wrap into the next row are zeroed
    first. Short rows (7 wide at 7x7) would otherwise cost one NumPy inner loop each."""
    xp = backend.get_array_module(gy, w)
    n, c_out = gy.shape[:2]
    g, c_g, (kh, kw) = geom.groups, w.shape[1], w.shape[2:]
    out_h, out_w = gy.shape[2:]
    dx = xp.zeros((n, g * c_g) + tuple(in_hw), dtype=gy.dtype)
    # rows ordered (tap a, tap b, channel) so that each tap's slice of dcols is one contiguous block
    w_t = xp.ascontiguousarray(
        w.reshape(g, c_out // g, c_g, kh, kw).transpose(0, 3, 4, 2, 1)).reshape(g, -1, c_out // g)
    (sh, sw), (dh, dw) = geom.stride, geom.dilation
    rows = list(_phases(kh, sh, dh, geom.pads[0][0], in_hw[0]))
    cols = list(_phases(kw, sw, dw, geom.pads[1][0], in_hw[1]))
    per_image = g * c_g * kh * kw * out_h * out_w * gy.itemsize
    for lo, hi in _blocks(n, per_image, gy):
        dcols = xp.matmul(w_t, _by_group(gy[lo:hi], g))
        dcols = dcols.reshape(g, kh, kw, c_g * (hi - lo), out_h, out_w)
        target = dx[lo:hi].reshape(hi - lo, g, c_g, *in_hw).transpose(1, 2, 0, 3, 4)
        for p, q_h, taps_h in rows:
            for pc, q_w, taps_w in cols:
                phase = xp.zeros((g, c_g * (hi - lo), q_h, q_w), dtype=gy.dtype)
                for a, m in taps_h:
                    i0, i1 = max(0, -m), min(out_h, q_h - m)     # output rows i with 0 <= i+m < Q
                    for b, mc in taps_w:
                        j0, j1 = max(0, -mc), min(out_w, q_w - mc)
                        if i0 < i1 and j0 < j1:
                            _add_tap(phase[..., i0 + m:i1 + m, :], dcols[:, a, b, :, i0:i1],
                                     mc, j0, j1)
                target[..., p::sh, pc::sw] = phase.reshape(g, c_g, hi - lo, q_h, q_w)
    return dx


def _add_tap(dst, src, mc, j0, j1):
    """dst[..., i, j + mc] += src[..., i, j] for j in [j0, j1); src (a scratch slice) may be
    overwritten."""
    if dst.shape[-1] != src.shape[-1]:
        dst[..., j0 + mc:j1 + mc] += src[..., j0:j1]
        return
    src[..., :j0] = 0          # the columns that would wrap into the neighbouring rows
    src[..., j1:] = 0
    d = dst.reshape(dst.shape[:2] + (-1,))
    s = src.reshape(src.shape[:2] + (-1,))
    length = s.shape[-1]
    d[..., max(mc, 0):length + min(mc, 0)] += s[..., max(-mc, 0):length - max(mc, 0)]
