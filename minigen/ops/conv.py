"""2-D convolution, transposed convolution and the kernel gradient: three primitives, closed under
differentiation.

For one geometry (stride s, padding p, dilation d, groups) take the number

    T(x, w, y) = <conv2d(x, w), y>
               = sum_{n,o,i,j,c,a,b} y[n,o,i,j] w[o,c,a,b] xpad[n, c', i*s + a*d, j*s + b*d]

(c' is channel c of the group of o). T is linear in each of x, w and y, and its three partial
derivatives are the three ops of this module:

    dT/dy = conv2d(x, w)            Conv2dOp            the convolution (a correlation, as torch)
    dT/dx = conv_transpose(y, w)    ConvTranspose2dOp   its adjoint in x ("deconvolution")
    dT/dw = conv_weight_grad(x, y)  Conv2dWeightGradOp  its adjoint in w

So the gradient of each op with respect to each input is another op of the set:

    Conv2dOp            y = conv2d(x, w):          dx = conv_transpose(g, w)  dw = weight_grad(x, g)
    ConvTranspose2dOp   x = conv_transpose(y, w):  dy = conv2d(g, w)          dw = weight_grad(g, y)
    Conv2dWeightGradOp  w = weight_grad(x, y):     dx = conv_transpose(y, g)  dy = conv2d(x, g)

and gradients of any order (WGAN-GP's penalty on the critic's input gradient, lecture §5.2) never
leave it. The array kernels (im2col + matrix products) are in ``im2col.py``. Conv2dOp and
ConvTranspose2dOp take an optional bias as a third input, added per output channel inside the
kernel (one pass over the output less); its gradient is the sum of g over N, H and W.
"""
from ..autograd import Function
from ..tensor import Tensor
from . import im2col
from .im2col import ConvGeometry


class Conv2dOp(Function):
    """y = conv2d(x, w) (+ bias) for the geometry ``geom``; inputs (x, w) or (x, w, bias)."""

    def forward(self, x, w, bias=None):
        return im2col.conv2d_forward(x, w, self.geom, bias)

    def backward(self, g):
        x, w = self.inputs[:2]
        need = self.needs_input_grad
        gx = ConvTranspose2dOp.apply(g, w, geom=self.geom, out_hw=x.shape[2:]) if need[0] else None
        gw = Conv2dWeightGradOp.apply(x, g, geom=self.geom, kernel=w.shape[2:]) if need[1] else None
        return (gx, gw) + _bias_grad(g, need)


class ConvTranspose2dOp(Function):
    """x = conv_transpose(y, w) (+ bias): the adjoint of conv2d(., w) for inputs of spatial size
    ``out_hw``; inputs (y, w) or (y, w, bias)."""

    def forward(self, y, w, bias=None):
        return im2col.conv_transpose2d_forward(y, w, self.geom, self.out_hw, bias)

    def backward(self, g):
        y, w = self.inputs[:2]
        need = self.needs_input_grad
        gy = Conv2dOp.apply(g, w, geom=self.geom) if need[0] else None
        gw = Conv2dWeightGradOp.apply(g, y, geom=self.geom, kernel=w.shape[2:]) if need[1] else None
        return (gy, gw) + _bias_grad(g, need)


def _bias_grad(g, need):
    """The gradient of a per-channel bias: the sum over N, H and W (none when there is no bias)."""
    if len(need) < 3:
        return ()
    return (g.sum(dim=(0, 2, 3)) if need[2] else None,)


class Conv2dWeightGradOp(Function):
    """w = weight_grad(x, y):
    w[o, c, a, b] = sum_{n,i,j} y[n, o, i, j] xpad[n, c', i*s + a*d, j*s + b*d]."""

    def forward(self, x, y):
        return im2col.conv2d_weight_grad(x, y, self.kernel, self.geom)

    def backward(self, g):
        x, y = self.inputs
        gx = gy = None
        if self.needs_input_grad[0]:
            gx = ConvTranspose2dOp.apply(y, g, geom=self.geom, out_hw=x.shape[2:])
        if self.needs_input_grad[1]:
            gy = Conv2dOp.apply(x, g, geom=self.geom)
        return gx, gy


def conv2d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    """torch.nn.functional.conv2d: input (N, C_in, H, W) or (C_in, H, W), weight
    (C_out, C_in/groups, kH, kW), bias (C_out,) or None. ``padding`` is an int, a pair, 'valid'
    (no padding) or 'same' (output as large as the input; stride 1 only; an odd total padding puts
    the extra row/column at the bottom/right, as torch does); beyond torch, also per side
    ((top, bottom), (left, right)), a negative side cropping. Output size per axis:
    floor((L + 2p - d*(k-1) - 1) / s) + 1 (with p_lo + p_hi for 2p)."""
    x, squeeze = _batched("conv2d", input, weight, bias)
    w = weight
    if w.ndim != 4:
        raise ValueError(f"conv2d: expected a 4-D weight (C_out, C_in/groups, kH, kW), "
                         f"got shape {w.shape}")
    groups = _groups("conv2d", groups)
    if w.shape[0] % groups:
        raise ValueError(f"conv2d: weight {w.shape} has {w.shape[0]} output channels, which "
                         f"groups={groups} does not divide")
    if x.shape[1] != w.shape[1] * groups:
        per_group = f" ({w.shape[1]} per group x {groups} groups)" if groups > 1 else ""
        raise ValueError(f"conv2d: input {x.shape} has {x.shape[1]} channels but weight "
                         f"{w.shape} expects {w.shape[1] * groups}{per_group}")
    stride = _pair("conv2d", "stride", stride, 1)
    dilation = _pair("conv2d", "dilation", dilation, 1)
    kernel = w.shape[2:]
    if isinstance(padding, str):
        pads = _string_padding(padding, stride, dilation, kernel)
    elif _is_pad_pairs(padding):        # ((top, bottom), (left, right)): minigen's extension
        pads = tuple((int(a), int(b)) for a, b in padding)
    else:
        pads = tuple((p, p) for p in _pair("conv2d", "padding", padding, 0))
    span = tuple(dilation[i] * (kernel[i] - 1) + 1 for i in range(2))
    padded = tuple(x.shape[2 + i] + sum(pads[i]) for i in range(2))
    if span[0] > padded[0] or span[1] > padded[1]:
        raise ValueError(f"conv2d: the kernel {tuple(kernel)} with dilation {dilation} spans "
                         f"{span}, more than the padded input {padded} (input {x.shape}, "
                         f"padding {padding})")
    tensors = _with_bias(x, w, bias, w.shape[0], "conv2d")
    y = Conv2dOp.apply(*tensors, geom=ConvGeometry(stride, pads, dilation, groups))
    return y.squeeze(0) if squeeze else y


def _is_pad_pairs(padding):
    """True for ((top, bottom), (left, right)), the per-side padding conv2d also takes (a
    negative side crops): MaskedConv2d drops the kernel rows and columns its mask zeroes."""
    return isinstance(padding, (tuple, list)) and len(padding) == 2 and all(
        isinstance(side, (tuple, list)) and len(side) == 2 for side in padding)


def conv_transpose2d(input, weight, bias=None, stride=1, padding=0, output_padding=0, groups=1,
                     dilation=1):
    """torch.nn.functional.conv_transpose2d: the gradient of conv2d with respect to its input, as
    an op. input (N, C_in, H, W) or (C_in, H, W), weight (C_in, C_out/groups, kH, kW). Output size
    per axis: (L - 1)*s - 2p + d*(k-1) + output_padding + 1; output_padding (< stride or
    < dilation) adds rows/columns at the bottom/right that an ambiguous size needs."""
    x, squeeze = _batched("conv_transpose2d", input, weight, bias)
    w = weight
    if w.ndim != 4:
        raise ValueError(f"conv_transpose2d: expected a 4-D weight (C_in, C_out/groups, kH, kW), "
                         f"got shape {w.shape}")
    groups = _groups("conv_transpose2d", groups)
    if x.shape[1] != w.shape[0]:
        raise ValueError(f"conv_transpose2d: input {x.shape} has {x.shape[1]} channels but weight "
                         f"{w.shape} expects {w.shape[0]}")
    if w.shape[0] % groups:
        raise ValueError(f"conv_transpose2d: weight {w.shape} has {w.shape[0]} input channels, "
                         f"which groups={groups} does not divide")
    stride = _pair("conv_transpose2d", "stride", stride, 1)
    dilation = _pair("conv_transpose2d", "dilation", dilation, 1)
    padding = _pair("conv_transpose2d", "padding", padding, 0)
    output_padding = _pair("conv_transpose2d", "output_padding", output_padding, 0)
    for i in range(2):
        if output_padding[i] >= max(stride[i], dilation[i]):
            raise ValueError(f"conv_transpose2d: output_padding {output_padding} must be smaller "
                             f"than either stride {stride} or dilation {dilation}")
    kernel = w.shape[2:]
    out_hw = tuple((x.shape[2 + i] - 1) * stride[i] - 2 * padding[i]
                   + dilation[i] * (kernel[i] - 1) + output_padding[i] + 1 for i in range(2))
    if min(out_hw) < 1:
        raise ValueError(f"conv_transpose2d: input {x.shape} with kernel {tuple(kernel)}, stride "
                         f"{stride}, padding {padding}, dilation {dilation} gives an empty output "
                         f"{out_hw}")
    # The conv whose adjoint this is: output_padding rows sit below its bottom padding (a negative
    # pad, i.e. rows the conv does not read, whose transposed-conv output is zero).
    pads = tuple((padding[i], padding[i] - output_padding[i]) for i in range(2))
    tensors = _with_bias(x, w, bias, w.shape[1] * groups, "conv_transpose2d")
    y = ConvTranspose2dOp.apply(*tensors, geom=ConvGeometry(stride, pads, dilation, groups),
                              out_hw=out_hw)
    return y.squeeze(0) if squeeze else y


# ----------------------------------------------------------------------------- argument checks
def _batched(who, x, w=None, bias=None):
    """Check types and dtypes; return x as (N, C, H, W) and whether to drop the batch dim again.
    Pooling and resizing (pool.py) use it without a weight and bias."""
    for name, t in (("input", x), ("weight", w), ("bias", bias)):
        if t is not None and not isinstance(t, Tensor):
            raise TypeError(f"{who}: {name} must be a Tensor, got {type(t).__name__}")
    for name, t in (("weight", w), ("bias", bias)):
        if t is not None and t.dtype != x.dtype:
            raise TypeError(f"{who}: input has dtype {x.dtype} but {name} has dtype {t.dtype}; "
                            "convert one of them with .to(dtype)")
    if x.dtype.kind != "f":
        raise TypeError(f"{who}: expected a floating point input, got dtype {x.dtype}")
    if x.ndim == 3:
        return x.unsqueeze(0), True
    if x.ndim != 4:
        raise ValueError(f"{who}: expected a 4-D input (N, C, H, W) or a 3-D unbatched input "
                         f"(C, H, W), got shape {x.shape}")
    return x, False


def _with_bias(x, w, bias, channels, who):
    if bias is None:
        return x, w
    if bias.shape != (channels,):
        raise ValueError(f"{who}: bias must have shape ({channels},), one value per output "
                         f"channel, got {bias.shape}")
    return x, w, bias


def _pair(who, name, value, minimum):
    """An int or a pair of ints, as a pair; each at least ``minimum``."""
    pair = (value, value) if isinstance(value, int) else tuple(value) \
        if isinstance(value, (tuple, list)) else None
    if pair is None or len(pair) != 2 or not all(
            isinstance(v, int) and not isinstance(v, bool) for v in pair):
        raise TypeError(f"{who}: {name} must be an int or a pair of ints, got {value!r}")
    if min(pair) < minimum:
        raise ValueError(f"{who}: {name} must be at least {minimum}, got {value!r}")
    return pair


def _groups(who, groups):
    if not isinstance(groups, int) or isinstance(groups, bool) or groups < 1:
        raise ValueError(f"{who}: groups must be a positive int, got {groups!r}")
    return groups


def _string_padding(padding, stride, dilation, kernel):
    if padding == "valid":
        return ((0, 0), (0, 0))
    if padding != "same":
        raise ValueError(f"conv2d: padding must be an int, a pair, 'valid' or 'same', "
                         f"got {padding!r}")
    if stride != (1, 1):
        raise ValueError(f"conv2d: padding='same' is not supported for strided convolutions "
                         f"(stride {stride})")
    totals = (dilation[0] * (kernel[0] - 1), dilation[1] * (kernel[1] - 1))
    return tuple((t // 2, t - t // 2) for t in totals)
