"""GroupNorm and LayerNorm as one fused primitive: normalize rows, then scale and shift.

Both normalizations view the input as rows of B numbers and normalize each row,

    mean = sum_k x_k / B      var = sum_k (x_k - mean)^2 / B      (the biased variance)
    rstd = 1 / sqrt(var + eps)          xhat = (x - mean) * rstd
    y    = xhat * weight + bias         (weight and bias broadcast against x)

group_norm: x (N, C, *S) in N*G rows of C/G * prod(S) numbers (G groups of channels); weight
and bias per channel, shape (1, C, 1, ...). layer_norm: x (..., *D) in rows of prod(D) numbers;
weight and bias of shape D.

With g the gradient arriving at y and gxhat = g * weight, the backward pass is

    dx      = rstd * (gxhat - mean_k(gxhat) - xhat * mean_k(gxhat * xhat))     per row
    dweight = g * xhat summed over the dims that weight broadcasts along
    dbias   = g summed likewise

(the two means remove the components of gxhat along the directions that normalization takes
out: a shift of the row and a scaling of it). As a composite of its parts one normalization costs
about fifteen graph nodes, each a pass over the activation in forward and again in backward; the
U-Net of DDPM (lecture §6.1) has thirteen of them per call. This op is one node whose forward
and first-order backward run on arrays. The backward formula is written once and applied to
arrays (first order: xhat and rstd saved by forward) or, when the backward pass is itself
recorded (create_graph=True), to Tensors recomputed from the inputs, so gradients of gradients
are exact (as ops/lstm.py does for the LSTM's gates).
"""
from .. import backend
from ..autograd import Function, is_grad_enabled
from ..tensor import Tensor
from .shape import reshape, sum_to


def _row_mean(a):
    """Mean over the last axis, kept as an axis of size 1; for arrays and Tensors alike."""
    if isinstance(a, Tensor):
        return a.mean(dim=-1, keepdim=True)
    return a.mean(axis=-1, keepdims=True)


def _input_gradient(gxhat, xhat, rstd):
    """dx for rows (A, B) of gxhat and xhat and rstd (A, 1), by the formula above."""
    return (gxhat - _row_mean(gxhat) - xhat * _row_mean(gxhat * xhat)) * rstd


class NormalizeOp(Function):
    """(x, weight?, bias?) -> y = xhat * weight + bias with rows of ``rows`` = (A, B) over x;
    ``affine_shape`` is the shape that weight and bias take to broadcast against x."""

    def forward(self, x, *affine):
        xp = backend.get_array_module(x)
        rows = x.reshape(self.rows)
        centred = rows - rows.mean(axis=1, keepdims=True)
        # the row sums of squares as one product per row: no squared temporary
        var = xp.einsum("ij,ij->i", centred, centred)[:, None] * (1.0 / self.rows[1])
        rstd = 1.0 / xp.sqrt(var + self.eps)
        xhat = centred
        xhat *= rstd
        xhat = xhat.reshape(x.shape)
        self.saved = (xhat, rstd)
        if not affine:
            return xhat
        weight, bias = self._weight_bias(affine)
        y = xhat * weight.reshape(self.affine_shape) if weight is not None else xhat.copy()
        if bias is not None:
            y += bias.reshape(self.affine_shape)
        return y

    def _weight_bias(self, affine):
        weight = affine[0] if self.has_weight else None
        bias = affine[-1] if self.has_bias else None
        return weight, bias

    def _array_gradients(self, gd, weight, need):
        """First-order gradients on arrays, with as few passes over the activation as possible
        (each pass costs about as much as the arithmetic: these arrays do not fit in cache)."""
        xp = backend.get_array_module(gd)
        xhat, rstd = self.saved
        gx = gw = gb = None
        if need[0]:
            gxhat = gd * weight.data.reshape(self.affine_shape) if weight is not None \
                else gd.copy()
            rows, xrows = gxhat.reshape(self.rows), xhat.reshape(self.rows)
            scale = 1.0 / self.rows[1]
            m1 = rows.sum(axis=1, keepdims=True) * scale
            m2 = xp.einsum("ij,ij->i", rows, xrows)[:, None] * scale
            rows -= m1                  # rows becomes (gxhat - m1 - xhat m2) rstd in place
            m2 *= -1.0
            rows += xrows * m2
            rows *= rstd
            # rows, not gxhat: a gradient that arrives transposed gives a gxhat in its memory
            # order, and reshaping that copies
            gx = Tensor(rows.reshape(gd.shape))
        if weight is not None and need[1]:
            gw = Tensor(_channel_sums(gd, xhat, self.affine_shape))
        if self.has_bias and need[-1]:
            gb = Tensor(_channel_sums(gd, None, self.affine_shape))
        return gx, gw, gb

    def backward(self, g):
        x, *affine = self.inputs
        weight, bias = self._weight_bias(affine)
        need = self.needs_input_grad
        if is_grad_enabled():
            # create_graph: xhat and rstd as functions of x in the recorded graph
            rows = reshape(x, self.rows)
            centred = rows - _row_mean(rows)
            rstd = (_row_mean(centred * centred) + self.eps) ** -0.5
            xhat_rows = centred * rstd
            xhat = reshape(xhat_rows, x.shape)
            gxhat = g * reshape(weight, self.affine_shape) if weight is not None else g
            gx = reshape(_input_gradient(reshape(gxhat, self.rows), xhat_rows, rstd), x.shape) \
                if need[0] else None
            gw = sum_to(g * xhat, self.affine_shape) if weight is not None and need[1] else None
            gb = sum_to(g, self.affine_shape) if bias is not None and need[-1] else None
        else:
            gx, gw, gb = self._array_gradients(g.data, weight, need)
        grads = (gx,)
        if weight is not None:
            grads += (None if gw is None else reshape(gw, weight.shape),)
        if bias is not None:
            grads += (None if gb is None else reshape(gb, bias.shape),)
        return grads


def _channel_sums(a, b, affine_shape):
    """sum of a * b (or of a, when b is None) over every dim but those of ``affine_shape``
    that are not 1, as one einsum (no product array): (N, C, ...) -> (C,) for group_norm,
    (..., *D) -> D for layer_norm."""
    lead = a.ndim - len(affine_shape)
    letters = "abcdefghijklmnopqrstuvwxyz"[:a.ndim]
    kept = "".join(letters[lead + i] for i, s in enumerate(affine_shape) if s != 1)
    spec = letters if b is None else f"{letters},{letters}"
    xp = backend.get_array_module(a)
    operands = (a,) if b is None else (a, b)
    return xp.einsum(f"{spec}->{kept}", *operands).reshape(affine_shape)


def _normalize(x, rows, affine_shape, weight, bias, eps):
    inputs = (x,) + tuple(t for t in (weight, bias) if t is not None)
    return NormalizeOp.apply(*inputs, rows=rows, affine_shape=affine_shape, eps=float(eps),
                             has_weight=weight is not None, has_bias=bias is not None)


def _check_affine(who, name, t, shape, x):
    if t is None:
        return
    if not isinstance(t, Tensor):
        raise TypeError(f"{who}: {name} must be a Tensor or None, got {type(t).__name__}")
    if tuple(t.shape) != tuple(shape):
        raise ValueError(f"{who}: {name} must have shape {tuple(shape)} for an input of shape "
                         f"{x.shape}, got {t.shape}")
    if t.dtype != x.dtype:
        raise TypeError(f"{who}: the input has dtype {x.dtype} but {name} has dtype {t.dtype}; "
                        "convert one of them with .to(dtype)")


def _check_input(who, x):
    if not isinstance(x, Tensor):
        raise TypeError(f"{who}: input must be a Tensor, got {type(x).__name__}")
    if x.dtype.kind != "f":
        raise TypeError(f"{who}: expected a floating point input, got dtype {x.dtype}")


def group_norm(input, num_groups, weight=None, bias=None, eps=1e-5):
    """Split the C channels of (N, C, ...) into num_groups groups and normalize each group of
    each example over its channels and positions; weight and bias (C,) scale and shift each
    channel."""
    _check_input("group_norm", input)
    if input.ndim < 2 or not isinstance(num_groups, int) or num_groups < 1 \
            or input.shape[1] % num_groups:
        raise ValueError(f"group_norm: the {input.shape[1] if input.ndim > 1 else 'missing'} "
                         f"channels of an input of shape {input.shape} cannot be split into "
                         f"{num_groups} groups")
    n, c = input.shape[:2]
    for name, t in (("weight", weight), ("bias", bias)):
        _check_affine("group_norm", name, t, (c,), input)
    size = input.numel() // max(n, 1)
    rows = (n * num_groups, size // num_groups)
    return _normalize(input, rows, (1, c) + (1,) * (input.ndim - 2), weight, bias, eps)


def layer_norm(input, normalized_shape, weight=None, bias=None, eps=1e-5):
    """Normalize over the last len(normalized_shape) dims of each example; weight and bias of
    normalized_shape scale and shift elementwise."""
    _check_input("layer_norm", input)
    normalized_shape = (normalized_shape,) if isinstance(normalized_shape, int) \
        else tuple(normalized_shape)
    k = len(normalized_shape)
    if k > input.ndim or input.shape[input.ndim - k:] != normalized_shape:
        raise ValueError(f"layer_norm: the input's last dims {input.shape[input.ndim - k:]} (shape "
                         f"{input.shape}) differ from normalized_shape {normalized_shape}")
    for name, t in (("weight", weight), ("bias", bias)):
        _check_affine("layer_norm", name, t, normalized_shape, input)
    size = 1
    for s in normalized_shape:
        size *= s
    rows = (input.numel() // size if size else 0, size)
    return _normalize(input, rows, normalized_shape, weight, bias, eps)
