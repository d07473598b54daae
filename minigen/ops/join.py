"""Joining and padding: cat, stack, split, chunk, pad.

``cat`` and constant ``pad`` send gradients back by slicing; split and chunk are slices; the
reflect, replicate and circular modes of pad read the input with an index array (a gather), so
their gradient is a scatter-add.
"""
import numpy as np

from .. import backend
from ..autograd import Function
from .elementwise import common_dtype
from .shape import normalize_dim, unsqueeze


class CatOp(Function):
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
    return CatOp.apply(*tensors, dim=d)


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
    """torch.split: x cut along ``dim`` into a tuple of views.

    ``split_size`` is an int (pieces of that size, the last one smaller if the size does not
    divide) or a list of sizes that add up to the dim's size. Each piece's gradient goes back
    to its slice of x.

        >>> [p.shape for p in mg.split(mg.zeros(5, 2), 2)]
        [(2, 2), (2, 2), (1, 2)]
    """
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
    """torch.chunk: x cut along ``dim`` into at most ``chunks`` pieces of ceil(size / chunks)
    each (the last may be smaller, and there may be fewer pieces), as split does; each piece's
    gradient goes back to its slice of x.

        >>> [p.shape for p in mg.chunk(mg.zeros(5, 2), 3)]
        [(2, 2), (2, 2), (1, 2)]
    """
    if not isinstance(chunks, int) or chunks < 1:
        raise ValueError(f"chunk needs a positive number of chunks, got {chunks!r}")
    n = x.shape[normalize_dim(dim, x.ndim)]
    return split(x, -(-n // chunks), dim)


class PadOp(Function):
    """Constant padding (non-negative widths); the gradient is the un-padded slice of g."""

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
    if n == 1:  # reflect of one element: only crops reach here
        return np.zeros(len(i), dtype=np.int64)
    period = 2 * (n - 1)  # reflect: ... 2 1 | 0 1 2 ... n-1 | n-2 ...
    i = np.abs(i) % period
    return np.where(i >= n, period - i, i)


def pad(x, pad, mode="constant", value=0.0):
    """torch.nn.functional.pad: ``pad`` lists (left, right) widths from the last dim backwards.

    A negative width crops that many elements, as in torch: 'constant' and 'circular' crop
    first and pad what is left; 'reflect' and 'replicate' read output position i at input
    position i - left (mirrored or clamped), so the padding of one side is read from the
    uncropped input (F.pad(x, (2, -3), mode="reflect") of [1, 2, 3, 4] is [3, 2, 1]), and at
    least one of the padded dims must keep an element.

    'constant' fills with ``value`` and pads any dims; 'reflect' (mirror without repeating the
    edge), 'replicate' (repeat the edge) and 'circular' (wrap around) pad the last 1, 2 or 3
    dims of a batched input, as torch allows: 2 widths for a 2-D or 3-D
    input, 4 for 3-D or 4-D, 6 for 4-D or 5-D. Reflect widths must be smaller than the dim,
    circular ones at most its size after the crops (wrapping once).
    """
    pad = tuple(int(p) for p in pad)
    if len(pad) % 2 or len(pad) // 2 > x.ndim:
        raise ValueError(f"pad needs an even number of widths, at most 2 per dim of the tensor "
                         f"(shape {x.shape}), got {pad}")
    k = len(pad) // 2
    widths = [(0, 0)] * (x.ndim - k) + [(pad[2 * j], pad[2 * j + 1]) for j in reversed(range(k))]
    if mode not in ("constant", "reflect", "replicate", "circular"):
        raise ValueError(f"pad mode must be 'constant', 'reflect', 'replicate' or 'circular', "
                         f"got {mode!r}")
    if mode != "constant":
        _check_mode_widths(x, pad, widths, mode)
    if mode in ("reflect", "replicate"):
        # torch reads output position i at input position i - lo, mirrored or clamped into the
        # input: a crop on one side leaves the other side padding from the uncropped input.
        # The result may be empty in some of the padded dims, as in torch, but not in all
        padded = [n + lo + hi for n, (lo, hi) in zip(x.shape[x.ndim - k:], widths[x.ndim - k:])]
        if min(padded) < 0 or max(padded) < 1:
            raise ValueError(f"{mode} pad widths {pad} leave nothing of the tensor of shape "
                             f"{x.shape} (the padded dims would have sizes {tuple(padded)})")
        for d, (lo, hi) in enumerate(widths):
            if lo or hi:
                x = x[(slice(None),) * d + (_reflect_index(x.shape[d], lo, hi, mode),)]
        return x
    kept = [n + min(lo, 0) + min(hi, 0) for n, (lo, hi) in zip(x.shape, widths)]
    if min(kept, default=0) < 0:
        raise ValueError(f"pad widths {pad} crop more than the tensor of shape {x.shape} holds "
                         f"(what is left would have sizes {tuple(kept)})")
    if any(lo < 0 or hi < 0 for lo, hi in widths):  # constant, circular: crop first
        x = x[tuple(slice(max(-lo, 0), n - max(-hi, 0)) for n, (lo, hi) in zip(x.shape, widths))]
        widths = [(max(lo, 0), max(hi, 0)) for lo, hi in widths]
    if all(lo == 0 and hi == 0 for lo, hi in widths):
        return x
    if mode == "constant":
        return PadOp.apply(x, widths=tuple(widths), value=value)
    for d, (lo, hi) in enumerate(widths):
        if max(lo, hi) > x.shape[d]:  # torch raises, or reads memory outside the input
            raise ValueError(f"circular padding of {max(lo, hi)} would wrap around dim {d} of "
                             f"size {x.shape[d]} (shape {x.shape}, after the crops) more than "
                             "once")
        if lo or hi:
            x = x[(slice(None),) * d + (_reflect_index(x.shape[d], lo, hi, mode),)]
    return x


def _check_mode_widths(x, pad, widths, mode):
    """torch's limits for the non-constant modes."""
    allowed = {2: (2, 3), 4: (3, 4), 6: (4, 5)}.get(len(pad), ())
    if x.ndim not in allowed:
        raise NotImplementedError(
            f"pad mode {mode!r} with {len(pad)} widths needs a "
            f"{' or '.join(f'{n}-D' for n in allowed) or '2-D to 5-D'} input, got shape "
            f"{x.shape} (as in torch: 2 widths for 2-D or 3-D, 4 for 3-D or 4-D, 6 for 4-D or "
            "5-D)")
    for d, (lo, hi) in enumerate(widths):
        n = x.shape[d]
        if mode == "reflect" and max(lo, hi) >= n:
            raise ValueError(f"reflect padding of {max(lo, hi)} needs dim {d} larger than that, "
                             f"but the tensor has shape {x.shape}")

