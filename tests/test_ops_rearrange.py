"""Rearranging ops against finite differences and torch: flip, roll, tril, triu, and the values of
sort and topk (distinct elements: the gradient goes back to where each value came from); the
indices of sort, argsort and topk, with ties kept in order by a stable sort."""
import hypothesis.strategies as st
import numpy as np
import torch

import minigen as mg
from minigen.testing import grid, shapes
from test_ops_harness import OpSpec, forward_tests, spec_tests


@st.composite
def flip_case(draw):
    shape = draw(shapes(1, 3, max_side=3))
    n = len(shape)
    dims = draw(st.lists(st.integers(0, n - 1), min_size=1, max_size=n, unique=True))
    return (shape,), {"dims": tuple(d - n if draw(st.booleans()) else d for d in dims)}


@st.composite
def roll_case(draw):
    """Shifts of either sign, past the size too; dims an int, a tuple, or None (flattened)."""
    shape = draw(shapes(1, 3, max_side=3))
    n = len(shape)
    form = draw(st.sampled_from(["none", "int", "tuple"]))
    if form == "none":
        return (shape,), {"shifts": draw(st.integers(-5, 5)), "dims": None}
    dims = draw(st.lists(st.integers(-n, n - 1), min_size=1, max_size=n))
    shifts = [draw(st.integers(-5, 5)) for _ in dims]
    if form == "int":
        return (shape,), {"shifts": shifts[0], "dims": dims[0]}
    return (shape,), {"shifts": tuple(shifts), "dims": tuple(dims)}


def triangle_case():
    return st.tuples(shapes(2, 4, max_side=3, max_numel=36).map(lambda s: (s,)),
                     st.fixed_dictionaries({"diagonal": st.integers(-3, 3)}))


@st.composite
def sort_case(draw, min_dims=0):
    shape = draw(shapes(min_dims, 3, max_side=4))
    n = max(len(shape), 1)
    return (shape,), {"dim": draw(st.integers(-n, n - 1)), "descending": draw(st.booleans())}


@st.composite
def topk_case(draw):
    (shape,), params = draw(sort_case())
    size = shape[params["dim"]] if shape else 1
    return (shape,), {"k": draw(st.integers(0, size)), "dim": params["dim"],
                      "largest": params["descending"]}


distinct = dict(elements=grid(), unique=True)
SPECS = [
    OpSpec("flip", lambda x, dims: mg.flip(x, dims), lambda x, dims: torch.flip(x, dims),
           flip_case()),
    OpSpec("flip_method", lambda x, dims: x.flip(*dims), lambda x, dims: x.flip(dims),
           flip_case()),
    OpSpec("roll", lambda x, **p: mg.roll(x, **p), lambda x, **p: torch.roll(x, **p),
           roll_case()),
    OpSpec("tril", lambda x, diagonal: mg.tril(x, diagonal),
           lambda x, diagonal: torch.tril(x, diagonal), triangle_case()),
    OpSpec("triu", lambda x, diagonal: x.triu(diagonal), lambda x, diagonal: x.triu(diagonal),
           triangle_case()),
    OpSpec("sort_values", lambda x, **p: mg.sort(x, **p).values,
           lambda x, **p: torch.sort(x, **p).values, sort_case(), **distinct),
    OpSpec("topk_values", lambda x, **p: x.topk(**p).values,
           lambda x, **p: x.topk(**p).values, topk_case(), **distinct),
]
test_rearrange_gradients_match_finite_differences, test_rearrange_agrees_with_torch = \
    spec_tests(SPECS)

ties = st.sampled_from([-1.0, 0.0, 0.0, 2.0])
INDICES = [  # with ties, torch's order is defined only for a stable sort
    OpSpec("sort_stable", lambda x, **p: mg.sort(x, stable=True, **p),
           lambda x, **p: torch.sort(x, stable=True, **p), sort_case(), ties,
           dtypes=(np.float64, np.int64)),
    OpSpec("argsort_stable", lambda x, **p: x.argsort(stable=True, **p),
           lambda x, **p: x.argsort(stable=True, **p), sort_case(), ties,
           dtypes=(np.float64, np.float32, np.int64)),
    OpSpec("argsort", lambda x, **p: x.argsort(**p), lambda x, **p: x.argsort(**p),
           sort_case(), **distinct),
    OpSpec("topk", lambda x, **p: mg.topk(x, **p), lambda x, **p: torch.topk(x, **p),
           topk_case(), **distinct),
    OpSpec("sort_nan_is_largest", lambda x, **p: x.sort(stable=True, **p),
           lambda x, **p: x.sort(stable=True, **p), sort_case(),
           st.sampled_from([np.nan, 1.0, -1.0]), dtypes=(np.float64,)),
]
test_sort_indices_agree_with_torch = forward_tests(INDICES)
