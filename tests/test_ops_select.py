"""torch's selection ops against finite differences and torch: gather, scatter (src or value),
scatter_add (repeated positions add up), index_select (repeats, 0-d inputs) and masked_fill
(a mask that broadcasts, a number or a 0-d tensor that is differentiable too)."""
import hypothesis.strategies as st
import numpy as np
import torch

import minigen as mg
from minigen.testing import arrays, broadcastable_shapes, shapes
from test_ops_harness import OpSpec, spec_tests


def _dim(draw, ndim):
    n = max(ndim, 1)
    return draw(st.integers(-n, n - 1))


@st.composite
def gather_case(draw):
    """An index with the input's dims, no larger than it except along ``dim``, with repeats."""
    shape = draw(shapes(0, 3, max_side=3))
    dim = _dim(draw, len(shape))
    d = dim % max(len(shape), 1)
    index_shape = tuple(draw(st.integers(1, 3)) if k == d else draw(st.integers(1, s))
                        for k, s in enumerate(shape))
    size = shape[d] if shape else 1
    return (shape,), {"dim": dim, "index": draw(arrays(index_shape, np.int64,
                                                       st.integers(0, size - 1)))}


@st.composite
def scatter_case(draw, repeats):
    """Input, src (at least the index's shape) and index; without ``repeats`` no position is
    written twice (torch leaves the order of repeated writes undefined)."""
    shape = draw(shapes(0, 3, max_side=3))
    dim = _dim(draw, len(shape))
    d = dim % max(len(shape), 1)
    size = shape[d] if shape else 1
    index_shape = tuple(draw(st.integers(1, 3 if repeats else s)) if k == d
                        else draw(st.integers(1, s)) for k, s in enumerate(shape))
    if repeats:
        index = draw(arrays(index_shape, np.int64, st.integers(0, size - 1)))
    else:  # distinct positions along dim: the first entries of a random permutation
        keys = draw(arrays(index_shape[:d] + (size,) + index_shape[d + 1:], np.float64,
                           unique=True))
        index = np.argsort(keys, axis=d)[(slice(None),) * d + (slice(0, index_shape[d]),)] \
            if shape else np.zeros((), dtype=np.int64)
    src_shape = tuple(n + draw(st.integers(0, 1)) for n in index.shape)
    return (shape, src_shape), {"dim": dim, "index": index}


@st.composite
def index_select_case(draw):
    shape = draw(shapes(0, 3, max_side=3))
    dim = _dim(draw, len(shape))
    size = shape[dim] if shape else 1
    index = draw(st.one_of(arrays(st.integers(1, 4).map(lambda n: (n,)), np.int64,
                                  st.integers(0, size - 1)),
                           st.integers(0, size - 1).map(lambda i: np.array(i))))
    if not shape:  # a 0-d input takes one index, as in torch
        index = index.reshape(-1)[:1].reshape(index.shape if index.ndim == 0 else (1,))
    return (shape,), {"dim": dim, "index": index}


@st.composite
def masked_fill_case(draw, tensor_value=False):
    """The mask broadcasts to the input (not the other way round, as torch requires)."""
    full, mask_shape = draw(broadcastable_shapes(2, max_dims=3, max_side=3))
    full = np.broadcast_shapes(full, mask_shape)
    mask = draw(arrays(mask_shape, np.bool_))
    if tensor_value:
        return (full, ()), {"mask": mask}
    return (full,), {"mask": mask, "value": draw(st.sampled_from([-1.5, 0.0, 2.0, 3]))}


def _mg(index):
    return mg.tensor(index)


def _torch(index):
    return torch.from_numpy(np.array(index))


def _read_part(src, index):
    """The part of src that scatter reads: torch's own gradient of a larger src is refused
    ("ScatterBackward0 returned an invalid gradient"), so its reference reads the part first."""
    return src[tuple(slice(0, n) for n in index.shape)]


SPECS = [
    OpSpec("gather", lambda x, dim, index: mg.gather(x, dim, _mg(index)),
           lambda x, dim, index: torch.gather(x, dim, _torch(index)), gather_case()),
    OpSpec("gather_method", lambda x, dim, index: x.gather(dim, _mg(index)),
           lambda x, dim, index: x.gather(dim, _torch(index)), gather_case()),
    OpSpec("scatter_src", lambda x, src, dim, index: mg.scatter(x, dim, _mg(index), src),
           lambda x, src, dim, index: torch.scatter(x, dim, _torch(index),
                                                    _read_part(src, index)),
           scatter_case(repeats=False)),
    OpSpec("scatter_value", lambda x, dim, index, value: x.scatter(dim, _mg(index), value=value),
           lambda x, dim, index, value: x.scatter(dim, _torch(index), value),
           scatter_case(repeats=False).map(
               lambda c: (c[0][:1], dict(c[1], value=-2.5)))),
    OpSpec("scatter_add", lambda x, src, dim, index: mg.scatter_add(x, dim, _mg(index), src),
           lambda x, src, dim, index: torch.scatter_add(x, dim, _torch(index),
                                                      _read_part(src, index)),
           scatter_case(repeats=True)),
    OpSpec("scatter_add_method", lambda x, src, dim, index: x.scatter_add(dim, _mg(index), src),
           lambda x, src, dim, index: x.scatter_add(dim, _torch(index),
                                                     _read_part(src, index)),
           scatter_case(repeats=True)),
    OpSpec("index_select", lambda x, dim, index: mg.index_select(x, dim, _mg(index)),
           lambda x, dim, index: torch.index_select(x, dim, _torch(index)),
           index_select_case()),
    OpSpec("index_select_method", lambda x, dim, index: x.index_select(dim, _mg(index)),
           lambda x, dim, index: x.index_select(dim, _torch(index)), index_select_case()),
    OpSpec("masked_fill", lambda x, mask, value: mg.masked_fill(x, _mg(mask), value),
           lambda x, mask, value: x.masked_fill(_torch(mask), value), masked_fill_case()),
    OpSpec("masked_fill_tensor_value", lambda x, v, mask: x.masked_fill(_mg(mask), v),
           lambda x, v, mask: x.masked_fill(_torch(mask), v),
           masked_fill_case(tensor_value=True)),
]
test_select_gradients_match_finite_differences, test_select_agrees_with_torch = \
    spec_tests(SPECS)
