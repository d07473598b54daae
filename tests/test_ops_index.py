"""Indexing, joining and padding against finite differences and torch: getitem with ints,
slices, None, Ellipsis, integer arrays (repeated positions add up) and boolean masks; cat, stack,
split, chunk; pad in the constant, reflect, replicate and circular modes. And matmul, and einsum
(implicit outputs, "...", size-1 dims that broadcast)."""
import hypothesis.strategies as st
import numpy as np
import torch
import torch.nn.functional as F

import minigen as mg
from minigen.ops.join import pad
from minigen.testing import arrays, broadcastable_shapes, shapes
from test_ops_harness import OpSpec, spec_tests

sides = st.integers(1, 4)


@st.composite
def slice_of(draw, size):
    start = draw(st.one_of(st.none(), st.integers(-size - 1, size)))
    stop = draw(st.one_of(st.none(), st.integers(-size - 1, size + 1)))
    return slice(start, stop, draw(st.sampled_from([None, 1, 2, 3])))  # torch: no negative steps


@st.composite
def basic_index(draw):
    """Ints, slices and None on the leading dims, sometimes after an Ellipsis instead."""
    shape = draw(shapes(1, 3, max_side=4))
    n = draw(st.integers(1, len(shape)))
    trailing = draw(st.booleans())
    dims = shape[-n:] if trailing else shape[:n]
    index = [draw(st.one_of(st.integers(-s, s - 1), slice_of(s))) for s in dims]
    for _ in range(draw(st.integers(0, 2))):
        index.insert(draw(st.integers(0, len(index))), None)
    if trailing:
        index.insert(0, Ellipsis)
    return (shape,), {"index": tuple(index) if len(index) > 1 or draw(st.booleans())
                      else index[0]}


@st.composite
def array_index(draw):
    """Integer arrays (with repeats) on one or two dims, full slices elsewhere; the two arrays
    broadcast together, and may sit apart (then numpy and torch put their dims first)."""
    shape = draw(shapes(1, 3, max_side=4))
    count = draw(st.integers(1, min(2, len(shape))))
    where = sorted(draw(st.lists(st.integers(0, len(shape) - 1), min_size=count, max_size=count,
                                 unique=True)))
    index_shapes = draw(broadcastable_shapes(count, min_dims=1, max_dims=2, max_side=4))
    index = [slice(None)] * len(shape)
    for d, s in zip(where, index_shapes):
        index[d] = draw(arrays(s, np.int64, st.integers(-shape[d], shape[d] - 1)))
    return (shape,), {"index": tuple(index[:max(where) + 1])}


@st.composite
def mask_index(draw):
    """A boolean mask over the leading dims (x[mask]) or over dim 1 (x[:, mask])."""
    shape = draw(shapes(1, 3, max_side=3))
    if len(shape) > 1 and draw(st.booleans()):
        return (shape,), {"index": (slice(None), draw(arrays((shape[1],), np.bool_)))}
    k = draw(st.integers(1, len(shape)))
    return (shape,), {"index": draw(arrays(shape[:k], np.bool_))}


def _convert(index, to):
    if isinstance(index, tuple):
        return tuple(_convert(i, to) for i in index)
    return to(index) if isinstance(index, np.ndarray) else index


def _mg_getitem(x, index):
    return x[_convert(index, mg.tensor)]


def _torch_getitem(x, index):
    return x[_convert(index, torch.from_numpy)]


@st.composite
def join_case(draw, new_dim=False):
    """Shapes for cat (equal but along ``dim``) or stack (equal); 1 to 3 tensors."""
    shape = list(draw(shapes(0 if new_dim else 1, 3, max_side=3)))
    n = len(shape) + (1 if new_dim else 0)
    dim = draw(st.integers(-n, n - 1))
    count = draw(st.integers(1, 3))
    if new_dim:
        return (tuple(shape),) * count, {"dim": dim}
    group = []
    for _ in range(count):
        shape[dim] = draw(sides)
        group.append(tuple(shape))
    return tuple(group), {"dim": dim}


@st.composite
def split_case(draw, chunks=False):
    shape = draw(shapes(1, 3, max_side=4))
    dim = draw(st.integers(-len(shape), len(shape) - 1))
    if chunks:
        return (shape,), {"chunks": draw(st.integers(1, 4)), "dim": dim}
    n, sizes = shape[dim], []
    while sum(sizes) < n:
        sizes.append(draw(st.integers(1, n - sum(sizes))))
    return (shape,), {"split_size": draw(st.one_of(st.integers(1, 4), st.just(sizes))),
                      "dim": dim}


@st.composite
def pad_case(draw):
    """torch pads k of the last dims of a (k+1)- or (k+2)-dim input in the non-constant modes;
    reflect needs widths below the size, circular at most the size."""
    mode = draw(st.sampled_from(["constant", "reflect", "replicate", "circular"]))
    if mode == "constant":
        shape = draw(shapes(1, 3, max_side=3))
        k = draw(st.integers(1, len(shape)))
    else:
        k = draw(st.integers(1, 2))
        shape = draw(shapes(k + 1, min(k + 2, 3), min_side=2, max_side=3))
    widths = []
    for s in reversed(shape[-k:]):
        top = {"reflect": s - 1, "circular": s}.get(mode, 2)
        widths += [draw(st.integers(0, top)), draw(st.integers(0, top))]
    params = {"pad": tuple(widths), "mode": mode}
    if mode == "constant":
        params["value"] = draw(st.sampled_from([0.0, 1.5]))
    return (shape,), params


@st.composite
def matmul_case(draw):
    """Vectors, matrices and batches of matrices whose batch dims broadcast."""
    m, k, n = draw(sides), draw(sides), draw(sides)
    batch_a, batch_b = draw(broadcastable_shapes(2, max_dims=2, max_side=3))
    a = (k,) if draw(st.booleans()) else batch_a + (m, k)
    b = (k,) if draw(st.booleans()) else batch_b + (k, n)
    return (a, b), {}


EQUATIONS = ["ij,jk->ik", "bij,bjk->bik", "ij,jk", "i,j->ij", "ij->j", "ij->ji", "ij->",
             "i,i", "ij,jk,kl->il", "bi,bi->b", "...ij,...jk->...ik", "...i->...", "i...->..."]


@st.composite
def einsum_case(draw):
    """Sizes per letter; "..." for 0 to 2 dims that broadcast; any dim of an operand may be 1
    where the others are larger (it broadcasts, as in torch)."""
    equation = draw(st.sampled_from(EQUATIONS))
    lhs = equation.split("->")[0].split(",")
    size = {c: draw(sides) for c in set(equation) if c.isalpha()}
    batch = draw(broadcastable_shapes(len(lhs), max_dims=2, max_side=3))
    operands = []
    for subs, b in zip(lhs, batch):
        head, _, tail = subs.partition("...")
        own = [1 if draw(st.booleans()) and draw(st.booleans()) else size[c]
               for c in head + tail]
        operands.append(tuple(own[:len(head)]) + (b if "..." in subs else ()) +
                        tuple(own[len(head):]))
    return tuple(operands), {"equation": equation}


SPECS = [
    OpSpec("getitem_basic", _mg_getitem, _torch_getitem, basic_index()),
    OpSpec("getitem_int_arrays", _mg_getitem, _torch_getitem, array_index()),
    OpSpec("getitem_bool_mask", _mg_getitem, _torch_getitem, mask_index()),
    OpSpec("getitem_list", lambda x, index: x[list(index)], lambda x, index: x[list(index)],
           shapes(1, 3, max_side=3).flatmap(lambda s: st.tuples(
               st.just((s,)), st.fixed_dictionaries({"index": st.lists(
                   st.integers(-s[0], s[0] - 1), min_size=1, max_size=4)})))),
    OpSpec("cat", lambda *xs, dim: mg.cat(xs, dim), lambda *xs, dim: torch.cat(xs, dim),
           join_case()),
    OpSpec("stack", lambda *xs, dim: mg.stack(xs, dim=dim),
           lambda *xs, dim: torch.stack(xs, dim), join_case(new_dim=True)),
    OpSpec("split", lambda x, split_size, dim: x.split(split_size, dim),
           lambda x, split_size, dim: torch.split(x, split_size, dim), split_case()),
    OpSpec("chunk", lambda x, chunks, dim: mg.chunk(x, chunks, dim),
           lambda x, chunks, dim: x.chunk(chunks, dim), split_case(chunks=True)),
    OpSpec("pad", lambda x, **p: pad(x, **p), lambda x, **p: F.pad(x, **p), pad_case()),
    OpSpec("matmul", lambda a, b: a @ b, lambda a, b: a @ b, matmul_case()),
    OpSpec("matmul_method", lambda a, b: mg.matmul(a, b) + a.matmul(b),
           lambda a, b: 2 * torch.matmul(a, b), matmul_case()),
    OpSpec("einsum", lambda *xs, equation: mg.einsum(equation, *xs),
           lambda *xs, equation: torch.einsum(equation, *xs), einsum_case()),
    OpSpec("einsum_list", lambda *xs, equation: mg.einsum(equation, list(xs)),
           lambda *xs, equation: torch.einsum(equation, list(xs)), einsum_case()),
]
test_index_gradients_match_finite_differences, test_index_agrees_with_torch = spec_tests(SPECS)
