"""Indexing: ``x[index]``, gather, scatter, scatter_add, index_select, masked_fill.

``x[index]`` (GetItemOp) and ScatterAddOp are each other's backward: the gradient of reading
elements is adding the incoming gradient back at the positions read. An integer index array may
repeat a position, so the scatter adds with ``add.at`` (plain assignment would keep only one of
the repeated contributions). torch's gather(input, dim, index) is one such read, with the index
array in ``dim`` and a broadcast arange in every other dim; scatter_add is the matching add.
"""
import numpy as np

from .. import backend
from ..autograd import Function
from ..tensor import Tensor
from .elementwise import as_tensor_like
from .piecewise import attach, where
from .shape import broadcast_shapes, normalize_dim, reshape


def raw_index(index):
    """The index with Tensors, lists and tuples inside it turned into arrays (what NumPy's
    indexing takes). A tuple inside an index is a sequence of integers, as in torch: in
    ``x[1, (2, 1, 0)]`` the inner tuple means the same as the list [2, 1, 0]."""
    if not isinstance(index, tuple):
        index = (index,)
    out = []
    for i in index:
        if isinstance(i, Tensor):
            i = i.data
        elif isinstance(i, (list, tuple)):
            i = np.asarray(i) if len(i) else np.zeros(0, dtype=np.int64)
        if hasattr(i, "dtype") and i.dtype.kind not in "biu":
            raise IndexError(f"tensors used as indices must be integer or bool, got dtype {i.dtype}")
        out.append(i)
    return tuple(out)


def _has_int_array(index):
    return any(hasattr(i, "dtype") and i.dtype.kind in "iu" and i.ndim > 0 for i in index)


class GetItemOp(Function):
    """x[index]. With ``by_value=True`` the positions were chosen by comparing x's values (max
    over a dim, sort, max pooling): the gradient then stays attached to x (piecewise.attach), so
    a second derivative is zero rather than an error."""

    by_value = False

    def forward(self, x):
        self.in_shape = x.shape
        return x[self.index]

    def backward(self, g):
        gx = ScatterAddOp.apply(g, index=self.index, shape=self.in_shape)
        return attach(gx, self.inputs[0]) if self.by_value else gx


class ScatterAddOp(Function):
    """A zero tensor of ``shape`` with ``g`` added at ``index`` (repeated positions add up)."""

    def forward(self, g):
        xp = backend.get_array_module(g)
        out = xp.zeros(self.shape, dtype=g.dtype)
        if _has_int_array(self.index):
            xp.add.at(out, self.index, g)
        else:
            out[self.index] = g  # basic indexing never repeats a position: assignment is exact
        return out

    def backward(self, gg):
        return GetItemOp.apply(gg, index=self.index)


def getitem(x, index):
    steps = _steps(index, x.ndim, x.device)
    try:
        out = x
        for step in steps:
            out = GetItemOp.apply(out, index=step)
        return out
    except IndexError as exc:
        raise IndexError(f"cannot index a tensor of shape {x.shape} with "
                         f"{_describe(raw_index(index))}: {exc}") from None


def setitem(data, index, value):
    """``data[index] = value`` on a raw array, with the index read as torch reads it: the first
    of two steps (see _torch_steps) selects with ints and slices, which gives a view of data, and
    the second writes through that view."""
    steps = _steps(index, data.ndim, backend.device_of(data))
    for step in steps[:-1]:
        data = data[step]
    data[steps[-1]] = value


def _steps(index, ndim, device):
    """The index as torch reads it, as one or two NumPy indices to apply in turn."""
    index = raw_index(index)
    if device == "cuda":
        index = tuple(backend.to_device(i, "cuda") if hasattr(i, "dtype") else i for i in index)
    index = _expand_ellipsis(index, ndim)
    steps = _torch_steps(index, ndim)
    return (index,) if steps is None else steps


def _width(i):
    """How many dims of the indexed tensor an index entry consumes."""
    if _is_array(i) and i.dtype.kind == "b":
        return i.ndim
    return 0 if i is None or i is Ellipsis else 1


def _expand_ellipsis(index, ndim):
    """The Ellipsis written out as full slices. torch reads x[:, :, [0], ..., [0]] with the
    Ellipsis standing for no dims as two adjacent arrays (their dim stays in place); NumPy
    takes any Ellipsis as a separator and moves the arrays' dim to the front."""
    if sum(i is Ellipsis for i in index) != 1:
        return index  # none, or several (NumPy's error says so)
    k = next(n for n, i in enumerate(index) if i is Ellipsis)
    rest = max(ndim - sum(map(_width, index)), 0)
    return index[:k] + (slice(None),) * rest + index[k + 1:]


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
    first, second = [], []
    for i in index:
        if _is_array(i):
            first += [slice(None)] * _width(i)
            second.append(i)
        elif _is_int(i):
            first.append(int(i))
        else:  # a slice or None: one dim of the first step's result
            first.append(i)
            second.append(slice(None))
    return tuple(first), tuple(second)


def _describe(index):
    return "[" + ", ".join(f"array of shape {i.shape}" if hasattr(i, "shape") and i.ndim
                           else repr(i) for i in index) + "]"


# ----------------------------------------------------------------------------- torch's gather family
def _along(who, x, dim, index):
    """Where ``x`` is read at ``index`` along ``dim`` by torch's gather rule (out[i][j][k] =
    x[index[i][j][k]][j][k] for dim 0), as positions in the flattened x (a 1-D index: NumPy's
    scatter-add of a 1-D index is about 100x faster than one along an inner axis). Returns the
    flat positions (1-D) and the index array."""
    d = normalize_dim(dim, x.ndim)
    idx = index.data if isinstance(index, Tensor) else np.asarray(index)
    if idx.dtype.kind not in "iu":
        raise TypeError(f"{who}: index must be an int64 tensor, got dtype {idx.dtype}")
    if idx.ndim != x.ndim:
        raise ValueError(f"{who}: index of shape {idx.shape} must have as many dims as the "
                         f"input of shape {x.shape}")
    for k, (n, m) in enumerate(zip(idx.shape, x.shape)):
        if k != d and n > m:
            raise ValueError(f"{who}: index of shape {idx.shape} is larger than the input of "
                             f"shape {x.shape} in dim {k}")
    size = x.shape[d] if x.ndim else 1
    if idx.size and (int(idx.min()) < 0 or int(idx.max()) >= size):
        raise IndexError(f"{who}: index values from {int(idx.min())} to {int(idx.max())} are out "
                         f"of range for dim {d} of size {size} (shape {x.shape})")
    xp = backend.get_array_module(x.data)
    idx = backend.to_device(idx, x.device)
    strides = [int(np.prod(x.shape[k + 1:])) for k in range(x.ndim)]
    flat = xp.zeros(idx.shape, dtype=np.int64)
    for k, n in enumerate(idx.shape):
        position = idx if k == d else xp.arange(n).reshape((-1,) + (1,) * (idx.ndim - k - 1))
        flat = flat + position * strides[k]
    return flat.reshape(-1), idx


def take_flat(x, flat, shape, by_value=False):
    """x's elements at the flat positions ``flat`` (1-D), reshaped to ``shape``; see GetItemOp
    for ``by_value``."""
    return reshape(GetItemOp.apply(reshape(x, (-1,)), index=(flat,), by_value=by_value), shape)


def gather(input, dim, index):
    """torch.gather: values of ``input`` read along ``dim`` at the positions in ``index``:
    out[i][j][k] = input[index[i][j][k]][j][k] for dim 0, and likewise for the other dims.

    ``index`` is an int64 tensor with input's number of dims, no larger than input in the other
    dims; the output has index's shape. The gradient adds g back at the positions read (a
    scatter-add: positions read twice get both contributions).

        >>> mg.gather(mg.tensor([[1., 2.], [3., 4.]]), 1, mg.tensor([[1, 1], [0, 1]]))
        tensor([[2., 2.],
                [3., 4.]])
    """
    flat, idx = _along("gather", input, dim, index)
    return take_flat(input, flat, idx.shape)


def select_by_value(x, dim, index):
    """gather for positions chosen from x's own values (argmax, argsort): the gradient stays
    attached to x, so a second derivative is zero (see GetItemOp)."""
    flat, idx = _along("gather", x, dim, index)
    return take_flat(x, flat, idx.shape, by_value=True)


def scatter_add(input, dim, index, src):
    """torch.scatter_add: ``input`` with src[i][j][k] added at [index[i][j][k]][j][k] (dim 0;
    likewise for the other dims); repeated positions add up.

    index is int64 with input's number of dims; src is at least index's shape and only its
    index-shaped leading block is read. The output has input's shape. The gradient of input is
    g, that of src is g gathered at index (0 where src is not read).

        >>> mg.zeros(3).scatter_add(0, mg.tensor([0, 2, 0]), mg.tensor([1., 2., 3.]))
        tensor([4., 0., 2.])
    """
    flat, idx = _along("scatter_add", input, dim, index)
    part = reshape(_source_part("scatter_add", src, idx, input), (-1,))
    added = ScatterAddOp.apply(part, index=(flat,), shape=(input.numel(),))
    return input + reshape(added, input.shape)


class ScatterOp(Function):
    """x (flattened) with src written at the positions ``index`` (the last write wins where a
    position repeats, as in NumPy; torch leaves that order undefined)."""

    def forward(self, x, src):
        out = x.copy()
        out[self.index] = src
        return out

    def backward(self, g):
        zero = Tensor(backend.get_array_module(g.data).zeros((), dtype=g.dtype))
        need = self.needs_input_grad
        return (where(Tensor(self.hit), zero, g) if need[0] else None,
                GetItemOp.apply(g, index=self.index) if need[1] else None)


def scatter(input, dim, index, src=None, value=None):
    """torch.scatter: ``input`` with src[i][j][k] (or the number ``value``) written at
    [index[i][j][k]][j][k] (dim 0; likewise for the other dims).

    Give exactly one of src and value. index and src follow scatter_add's rules; where index
    repeats a position the last write wins (torch leaves that order undefined). The gradient of
    input is g with the written positions zeroed; that of src is g read at them.

        >>> mg.zeros(3).scatter(0, mg.tensor([2]), value=5.0)
        tensor([0., 0., 5.])
    """
    if (src is None) == (value is None):
        raise TypeError("scatter needs exactly one of src (a tensor) and value (a number)")
    flat, idx = _along("scatter", input, dim, index)
    xp = backend.get_array_module(input.data)
    if isinstance(src, Tensor):
        part = _source_part("scatter", src, idx, input)
    else:
        number = as_tensor_like(value if src is None else src, input).to(input.dtype)
        part = Tensor(xp.broadcast_to(number.data, idx.shape))
    hit = xp.zeros(input.numel(), dtype=bool)
    hit[flat] = True
    out = ScatterOp.apply(reshape(input, (-1,)), reshape(part, (-1,)), index=(flat,), hit=hit)
    return reshape(out, input.shape)


def _source_part(who, src, idx, input):
    """The leading index-shaped block of src (torch reads src only where index has entries)."""
    if src.ndim != idx.ndim or any(s < n for s, n in zip(src.shape, idx.shape)):
        raise ValueError(f"{who}: src of shape {src.shape} must have the dims of index "
                         f"{idx.shape} and be at least as large in each")
    if src.dtype != input.dtype:
        raise RuntimeError(f"{who}: src has dtype {src.dtype} but input has {input.dtype}; "
                           "they must agree, as in torch")
    if src.shape == idx.shape:
        return src
    return src[tuple(slice(0, n) for n in idx.shape)]


def index_select(input, dim, index):
    """torch.index_select: the entries of ``input`` along ``dim`` at the positions in the 1-D
    (or 0-d) int64 ``index``, in that order, repeats allowed.

    The output has input's shape with index's length in dim (a 0-d input takes the one index 0
    and stays 0-d). The gradient adds g back at the positions read.

        >>> mg.index_select(mg.tensor([[1., 2.], [3., 4.]]), 0, mg.tensor([1, 1]))
        tensor([[3., 4.],
                [3., 4.]])
    """
    idx = index.data if isinstance(index, Tensor) else np.asarray(index)
    if idx.ndim > 1 or idx.dtype.kind not in "iu":
        raise ValueError(f"index_select: index must be a 1-D integer tensor, got shape "
                         f"{idx.shape} and dtype {idx.dtype}")
    d = normalize_dim(dim, input.ndim)
    if input.ndim == 0:  # torch: a 0-d input takes one index, 0, and stays 0-d
        if idx.size != 1 or int(idx.reshape(-1)[0]) != 0:
            raise IndexError(f"index_select: a 0-d input takes the one index 0, got "
                             f"{idx.tolist()}")
        return getitem(input, ())
    return getitem(input, (slice(None),) * d + (idx.reshape(-1),))


def masked_fill(input, mask, value):
    """torch.masked_fill: ``input`` with ``value`` where the bool ``mask`` holds.

    mask broadcasts to input's shape (not the other way round); value is a number or a 0-d
    tensor, cast to input's dtype. The gradient of input is g where mask is False and 0 where
    it is True; a value tensor gets the sum of g over the filled positions.

        >>> mg.tensor([1., 2., 3.]).masked_fill(mg.tensor([True, False, True]), 0.0)
        tensor([0., 2., 0.])
    """
    m = mask.data if isinstance(mask, Tensor) else np.asarray(mask)
    if m.dtype != bool:
        raise TypeError(f"masked_fill: mask must be a bool tensor, got dtype {m.dtype}")
    if isinstance(value, Tensor) and value.ndim != 0:
        raise ValueError(f"masked_fill: value must be a number or a 0-d tensor, got shape "
                         f"{value.shape}")
    if broadcast_shapes(m.shape, input.shape) != input.shape:
        raise ValueError(f"masked_fill: mask of shape {m.shape} does not broadcast to the "
                         f"input's shape {input.shape}")
    value = as_tensor_like(value, input)
    if value.dtype != input.dtype:
        value = value.to(input.dtype)
    return where(Tensor(m), value, input)




# joins and padding live in join.py; modules written before the split import them from here
from .join import cat, chunk, pad, split, stack  # noqa: E402,F401
