"""Indexing, concatenation and padding.

``x[index]`` (getitem) and ``scatter_add`` are each other's backward: the gradient of reading
elements is adding the incoming gradient back at the positions read. An integer index array may
repeat a position, so the scatter adds with ``add.at`` (plain assignment would keep only one of
the repeated contributions). ``cat`` and ``pad`` send gradients back by slicing.
"""
import numpy as np

from .. import backend
from ..autograd import Function
from ..tensor import Tensor
from .elementwise import common_dtype
from .shape import normalize_dim, unsqueeze


def raw_index(index):
    """The index with Tensors and lists turned into arrays (what NumPy's indexing takes)."""
    if not isinstance(index, tuple):
        index = (index,)
    out = []
    for i in index:
        if isinstance(i, Tensor):
            i = i.data
        elif isinstance(i, list):
            i = np.asarray(i)
        if hasattr(i, "dtype") and i.dtype.kind not in "biu":
            raise IndexError(f"tensors used as indices must be integer or bool, got dtype {i.dtype}")
        out.append(i)
    return tuple(out)


def _has_int_array(index):
    return any(hasattr(i, "dtype") and i.dtype.kind in "iu" and i.ndim > 0 for i in index)


class GetItem(Function):
    def forward(self, x):
        self.in_shape = x.shape
        return x[self.index]

    def backward(self, g):
        return ScatterAdd.apply(g, index=self.index, shape=self.in_shape)


class ScatterAdd(Function):
    """A zero tensor of ``shape`` with ``g`` added at ``index`` (repeated positions add up)."""

    def forward(self, g):
        xp = backend.get_array_module(g)
        out = xp.zeros(self.shape, dtype=g.dtype)
        if _has_int_array(self.index):
            if xp is np:
                np.add.at(out, self.index, g)
            else:
                xp.add.at(out, self.index, g)
        else:
            out[self.index] = g
        return out

    def backward(self, gg):
        return GetItem.apply(gg, index=self.index)


def getitem(x, index):
    index = raw_index(index)
    if x.device == "cuda":
        index = tuple(backend.to_device(i, "cuda") if hasattr(i, "dtype") else i for i in index)
    try:
        steps = _torch_steps(index, x.ndim)
        if steps is None:
            return GetItem.apply(x, index=index)
        return GetItem.apply(GetItem.apply(x, index=steps[0]), index=steps[1])
    except IndexError as exc:
        raise IndexError(f"cannot index a tensor of shape {x.shape} with {_describe(index)}: "
                         f"{exc}") from None


def _is_array(i):
    return hasattr(i, "ndim") and i.ndim > 0


def _is_int(i):
    if hasattr(i, "ndim"):
        return i.ndim == 0 and i.dtype.kind in "iu"
    return isinstance(i, (int, np.integer)) and not isinstance(i, bool)


def _torch_steps(index, ndim):
    """An index that mixes ints with index arrays, split in two steps as torch applies it.

    torch selects with the ints first and then indexes with the arrays what is left; NumPy takes
    an int among arrays as one more (broadcast) array, which can move the result's dims: for x
    of shape (1, 1, 1), NumPy's x[0, :, [0, 0]] has shape (2, 1), torch's (1, 2). Returns
    (ints, slices and None; arrays replaced by full slices) and (the arrays where they now are),
    or None when the index has no such mix and one NumPy step gives torch's result.
    """
    if not (any(map(_is_array, index)) and any(map(_is_int, index))):
        return None
    width = [i.ndim if _is_array(i) and i.dtype.kind == "b" else
             0 if i is None or i is Ellipsis else 1 for i in index]
    first, second = [], []
    for i, w in zip(index, width):
        if _is_array(i):
            first += [slice(None)] * w
            second.append(i)
        elif _is_int(i):
            first.append(int(i))
        elif i is Ellipsis:
            rest = ndim - sum(width)
            first += [slice(None)] * rest
            second += [slice(None)] * rest
        else:  # a slice or None: one dim of the first step's result
            first.append(i)
            second.append(slice(None))
    return tuple(first), tuple(second)


def _describe(index):
    return "[" + ", ".join(f"array of shape {i.shape}" if hasattr(i, "shape") and i.ndim
                           else repr(i) for i in index) + "]"


def scatter_add(g, index, shape):
    return ScatterAdd.apply(g, index=raw_index(index), shape=tuple(shape))


class Cat(Function):
    def forward(self, *arrays):
        return backend.get_array_module(*arrays).concatenate(arrays, axis=self.dim)

    def backward(self, g):
        grads, start = [], 0
        for t, need in zip(self.inputs, self.needs_input_grad):
            stop = start + t.shape[self.dim]
            if need:
                grads.append(g[(slice(None),) * self.dim + (slice(start, stop),)])
            else:
                grads.append(None)
            start = stop
        return tuple(grads)


def cat(tensors, dim=0):
    """Join tensors along an existing dim; all other dims must agree."""
    tensors = list(tensors)
    if not tensors:
        raise ValueError("cat needs at least one tensor")
    first = tensors[0]
    d = normalize_dim(dim, first.ndim)
    for i, t in enumerate(tensors):
        if t.ndim != first.ndim or t.shape[:d] + t.shape[d + 1:] != first.shape[:d] + first.shape[d + 1:]:
            raise ValueError(f"cat along dim {dim}: tensor {i} has shape {t.shape} but tensor 0 has "
                             f"shape {first.shape}; all dims but {dim} must match")
    if len(tensors) == 1:
        return first
    if any(t.dtype != first.dtype for t in tensors):
        dtype = common_dtype(tensors)
        tensors = [t.to(dtype) for t in tensors]  # differentiable casts
    return Cat.apply(*tensors, dim=d)


def stack(tensors, dim=0):
    """Join tensors of equal shape along a new dim."""
    tensors = list(tensors)
    if not tensors:
        raise ValueError("stack needs at least one tensor")
    for i, t in enumerate(tensors):
        if t.shape != tensors[0].shape:
            raise ValueError(f"stack needs tensors of equal shape; tensor {i} has shape {t.shape} "
                             f"but tensor 0 has shape {tensors[0].shape}")
    d = normalize_dim(dim, tensors[0].ndim + 1)
    return cat([unsqueeze(t, d) for t in tensors], d) if len(tensors) > 1 else unsqueeze(tensors[0], d)


def split(x, split_size, dim=0):
    """torch.split: pieces of ``split_size`` (the last may be smaller), or of the listed sizes."""
    d = normalize_dim(dim, x.ndim)
    n = x.shape[d]
    if isinstance(split_size, int) and split_size < 1:
        raise ValueError(f"split_size must be a positive int, got {split_size}")
    sizes = [split_size] * (n // split_size) + ([n % split_size] if n % split_size else []) \
        if isinstance(split_size, int) else list(split_size)
    if sum(sizes) != n:
        raise ValueError(f"split sizes {sizes} do not add up to dim {dim}'s size {n}")
    out, start = [], 0
    for s in sizes:
        out.append(x[(slice(None),) * d + (slice(start, start + s),)])
        start += s
    return tuple(out)


def chunk(x, chunks, dim=0):
    if not isinstance(chunks, int) or chunks < 1:
        raise ValueError(f"chunk needs a positive number of chunks, got {chunks!r}")
    n = x.shape[normalize_dim(dim, x.ndim)]
    return split(x, -(-n // chunks), dim)


class Pad(Function):
    """Constant padding; the gradient is the un-padded slice of g."""

    def forward(self, x):
        xp = backend.get_array_module(x)
        return xp.pad(x, self.widths, mode="constant", constant_values=self.value)

    def backward(self, g):
        return g[tuple(slice(lo, g.shape[i] - hi) for i, (lo, hi) in enumerate(self.widths))]


def _reflect_index(n, lo, hi, mode):
    i = np.arange(-lo, n + hi)
    if mode == "replicate":
        return np.clip(i, 0, n - 1)
    if mode == "circular":
        return i % n
    period = 2 * (n - 1)  # reflect: ... 2 1 | 0 1 2 ... n-1 | n-2 ...
    i = np.abs(i) % period
    return np.where(i >= n, period - i, i)


def pad(x, pad, mode="constant", value=0.0):
    """torch.nn.functional.pad: ``pad`` lists (left, right) pairs from the last dim backwards."""
    pad = tuple(int(p) for p in pad)
    if len(pad) % 2 or len(pad) // 2 > x.ndim:
        raise ValueError(f"pad needs an even number of widths, at most 2 per dim of the tensor "
                         f"(shape {x.shape}), got {pad}")
    if any(p < 0 for p in pad):
        raise ValueError(f"pad widths must be non-negative, got {pad}")
    k = len(pad) // 2
    widths = [(0, 0)] * (x.ndim - k) + [(pad[2 * j], pad[2 * j + 1]) for j in reversed(range(k))]
    if mode == "constant":
        return Pad.apply(x, widths=tuple(widths), value=value)
    if mode not in ("reflect", "replicate", "circular"):
        raise ValueError(f"pad mode must be 'constant', 'reflect', 'replicate' or 'circular', "
                         f"got {mode!r}")
    for d, (lo, hi) in enumerate(widths):
        if lo or hi:
            if mode == "reflect" and max(lo, hi) >= x.shape[d]:
                raise ValueError(f"reflect padding of {max(lo, hi)} needs dim {d} larger than "
                                 f"that, but the tensor has shape {x.shape}")
            x = x[(slice(None),) * d + (_reflect_index(x.shape[d], lo, hi, mode),)]
    return x
