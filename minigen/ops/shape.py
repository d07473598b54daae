"""Shape ops: reshape, permute, and the broadcast_to / sum_to pair.

``broadcast_to`` and ``sum_to`` are each other's backward; every op that broadcasts its inputs
reduces its gradients with ``sum_to`` — the one place where broadcasting is undone.
"""
from .. import backend
from ..autograd import Function


def normalize_dim(dim, ndim, what="dim"):
    """A dim in [-ndim, ndim) as a non-negative int, or an IndexError naming both."""
    n = max(ndim, 1)
    if not isinstance(dim, int) or isinstance(dim, bool):
        raise TypeError(f"{what} must be an int, got {dim!r}")
    if not -n <= dim < n:
        raise IndexError(f"{what} {dim} is out of range for a tensor with {ndim} dimensions "
                         f"(expected a value in [{-n}, {n - 1}])")
    return dim % n


def normalize_dims(dim, ndim):
    """None -> all dims; int or tuple -> a sorted tuple of distinct non-negative dims."""
    if dim is None:
        return tuple(range(ndim))
    dims = (dim,) if isinstance(dim, int) else tuple(dim)
    out = tuple(sorted({normalize_dim(d, ndim) for d in dims}))
    if len(out) != len(dims):
        raise ValueError(f"dim {dim} repeats a dimension")
    return out if ndim else ()


class ReshapeOp(Function):
    def forward(self, x):
        self.in_shape = x.shape
        return x.reshape(self.shape)

    def backward(self, g):
        return reshape(g, self.in_shape)


class PermuteOp(Function):
    def forward(self, x):
        return x.transpose(self.dims)

    def backward(self, g):
        inverse = [0] * len(self.dims)
        for i, d in enumerate(self.dims):
            inverse[d] = i
        return permute(g, tuple(inverse))


class BroadcastToOp(Function):
    def forward(self, x):
        self.in_shape = x.shape
        xp = _xp(x)
        return xp.broadcast_to(x, self.shape)

    def backward(self, g):
        return sum_to(g, self.in_shape)


class SumToOp(Function):
    def forward(self, x):
        self.in_shape = x.shape
        lead = x.ndim - len(self.shape)
        axes = tuple(range(lead)) + tuple(
            lead + i for i, s in enumerate(self.shape) if s == 1 and x.shape[lead + i] != 1)
        y = backend.array_sum(x, axes, keepdims=True)
        return y.reshape(self.shape) if lead else y

    def backward(self, g):
        return broadcast_to(g, self.in_shape)


def _xp(a):
    from ..backend import get_array_module
    return get_array_module(a)



def broadcast_shapes(*shapes):
    """The broadcast shape, or a ValueError naming all the shapes."""
    ndim = max(len(s) for s in shapes)
    out = []
    for i in range(ndim):
        sizes = {s[len(s) - ndim + i] for s in shapes if len(s) - ndim + i >= 0} - {1}
        if len(sizes) > 1:
            raise ValueError("shapes " + ", ".join(str(tuple(s)) for s in shapes)
                             + " cannot be broadcast together")
        out.append(sizes.pop() if sizes else 1)
    return tuple(out)


def broadcast_to(x, shape):
    shape = tuple(shape)
    if x.shape == shape:
        return x
    if broadcast_shapes(x.shape, shape) != shape:
        raise ValueError(f"cannot broadcast a tensor of shape {x.shape} to shape {shape}")
    return BroadcastToOp.apply(x, shape=shape)


def sum_to(x, shape):
    """Sum ``x`` down to ``shape`` (the gradient of broadcasting to x.shape)."""
    shape = tuple(shape)
    if x.shape == shape:
        return x
    return SumToOp.apply(x, shape=shape)


def reshape(x, shape):
    shape = tuple(int(s) for s in shape)
    if shape == x.shape:
        return x
    known = 1
    for s in shape:
        if s != -1:
            known *= s
    n = x.numel()
    if shape.count(-1) > 1 or any(s < -1 for s in shape):
        bad = True
    elif -1 in shape:
        bad = known == 0 or n % known != 0
    else:
        bad = known != n
    if bad:
        raise ValueError(f"cannot reshape a tensor of shape {x.shape} ({n} elements) "
                         f"into shape {shape}")
    return ReshapeOp.apply(x, shape=shape)


def view(x, shape):
    """torch's view: reshape without copying, which raises when the tensor's memory layout does
    not allow it (a transposed or expanded tensor whose dims would have to be merged); use
    reshape (which copies) or .contiguous() first, as in torch."""
    out = reshape(x, shape)
    if out is not x and not _reshapes_without_copy(x.data, out.shape):
        raise RuntimeError(
            f"view size is not compatible with input tensor's size and stride (a tensor of shape "
            f"{x.shape} with strides {tuple(x.data.strides)} cannot be viewed as {out.shape}: at "
            "least one dimension spans across two contiguous subspaces). Use .reshape(...) "
            "instead, or .contiguous() first.")
    return out


def _reshapes_without_copy(a, shape):
    trial = a.view()
    try:
        trial.shape = shape  # NumPy and CuPy refuse this exactly when a copy would be needed
    except AttributeError:
        return False
    return True


def permute(x, dims):
    dims = tuple(normalize_dim(d, x.ndim) for d in dims)
    if sorted(dims) != list(range(x.ndim)):
        raise ValueError(f"permute needs a permutation of range({x.ndim}) for a tensor of shape "
                         f"{x.shape}, got {dims}")
    if dims == tuple(range(x.ndim)):
        return x
    return PermuteOp.apply(x, dims=dims)


def transpose(x, dim0, dim1):
    dims = list(range(x.ndim))
    a, b = normalize_dim(dim0, x.ndim), normalize_dim(dim1, x.ndim)
    if x.ndim == 0:  # a 0-d tensor has only "dim 0" (or -1), and swapping it with itself is x
        return x
    dims[a], dims[b] = dims[b], dims[a]
    return permute(x, dims)


def unsqueeze(x, dim):
    dim = normalize_dim(dim, x.ndim + 1)
    return reshape(x, x.shape[:dim] + (1,) + x.shape[dim:])


def squeeze(x, dim=None):
    if dim is None:
        return reshape(x, tuple(s for s in x.shape if s != 1))
    dims = normalize_dims(dim, x.ndim)
    return reshape(x, tuple(s for i, s in enumerate(x.shape) if not (i in dims and s == 1)))


def flatten(x, start_dim=0, end_dim=-1):
    if x.ndim == 0:
        return reshape(x, (1,))
    s, e = normalize_dim(start_dim, x.ndim), normalize_dim(end_dim, x.ndim)
    if s > e:
        raise ValueError(f"flatten: start_dim {start_dim} comes after end_dim {end_dim}")
    return reshape(x, x.shape[:s] + (-1,) + x.shape[e + 1:])


def expand(x, sizes):
    """torch's expand: -1 keeps a size; new leading dims may be added."""
    sizes = tuple(sizes)
    if len(sizes) < x.ndim:
        raise ValueError(f"expand: the number of sizes {sizes} is smaller than the tensor's "
                         f"{x.ndim} dimensions (shape {x.shape})")
    lead = len(sizes) - x.ndim
    shape = tuple(x.shape[i - lead] if s == -1 and i >= lead else s for i, s in enumerate(sizes))
    return broadcast_to(x, shape)


def repeat(x, repeats):
    """torch's repeat (NumPy's tile) as reshape -> broadcast -> reshape, so its gradient is free."""
    repeats = tuple(int(r) for r in repeats)
    if len(repeats) < x.ndim:
        raise ValueError(f"repeat needs at least {x.ndim} repeat counts for a tensor of shape "
                         f"{x.shape}, got {repeats}")
    shape = (1,) * (len(repeats) - x.ndim) + x.shape
    x = reshape(x, tuple(d for s in shape for d in (1, s)))
    x = broadcast_to(x, tuple(d for r, s in zip(repeats, shape) for d in (r, s)))
    return reshape(x, tuple(r * s for r, s in zip(repeats, shape)))
