"""Reductions against finite differences and torch: sum, mean, var, std, amax/amin, max/min over
a dim, logsumexp, softmax, log_softmax; argmax/argmin and all/any (forward only, over int, tuple
and negative dims with keepdim); and how ties share the gradient (as in torch)."""
import math

import hypothesis.strategies as st
import numpy as np
import torch
from hypothesis import assume, given

import minigen as mg
from minigen.testing import arrays, broadcastable_shapes, grid, shapes
from oracle import assert_close, torch_from
from test_ops_harness import OpSpec, forward_tests, one_dim, reduction, spec_tests


def _all_dims(dim):
    """torch's amax/amin take dim=() for 'every dim' where minigen takes None."""
    return () if dim is None else dim


@st.composite
def var_case(draw, min_count=1):
    """A reduction and a correction below the number of elements it combines (at least
    ``min_count`` of them: std has no derivative where the variance is 0)."""
    (shape,), params = draw(reduction())
    dims = range(len(shape)) if params["dim"] is None else \
        [d % max(len(shape), 1) for d in np.atleast_1d(params["dim"])]
    count = math.prod(shape[d] for d in dims) if shape else 1
    assume(count >= min_count)
    params["correction"] = draw(st.sampled_from([0, 1] if count > 1 else [0]))
    return (shape,), params


distinct = dict(elements=grid(), unique=True)  # no ties: the gradient of a max is a kink there
# one dim of size > 1 (the unbiased variance divides by n - 1)
sized_dim = one_dim(keepdim=False).filter(lambda c: c[0][0] != () and c[0][0][c[1]["dim"]] > 1)

SPECS = [
    OpSpec("sum", lambda x, **p: x.sum(**p), lambda x, **p: x.sum(**p), reduction()),
    OpSpec("mean", lambda x, **p: x.mean(**p), lambda x, **p: x.mean(**p), reduction()),
    OpSpec("var", lambda x, dim, keepdim, correction: x.var(dim, keepdim=keepdim,
                                                            correction=correction),
           lambda x, **p: x.var(**p), var_case()),
    OpSpec("var_unbiased", lambda x, dim: x.var(dim), lambda x, dim: x.var(dim), sized_dim),
    OpSpec("std", lambda x, dim: x.std(dim), lambda x, dim: x.std(dim), sized_dim,
           **distinct),  # distinct: std has no derivative at 0
    OpSpec("std_correction", lambda x, **p: mg.std(x, **p), lambda x, **p: torch.std(x, **p),
           var_case(min_count=2), **distinct),
    OpSpec("amax", lambda x, dim, keepdim: x.amax(dim, keepdim),
           lambda x, dim, keepdim: x.amax(_all_dims(dim), keepdim), reduction(), **distinct),
    OpSpec("amin", lambda x, dim, keepdim: mg.amin(x, dim, keepdim),
           lambda x, dim, keepdim: x.amin(_all_dims(dim), keepdim), reduction(), **distinct),
    OpSpec("max_dim", lambda x, dim, keepdim: x.max(dim, keepdim).values,
           lambda x, dim, keepdim: x.max(dim, keepdim).values, one_dim(), **distinct),
    OpSpec("min_dim", lambda x, dim, keepdim: x.min(dim, keepdim)[0],
           lambda x, dim, keepdim: x.min(dim, keepdim)[0], one_dim(), **distinct),
    OpSpec("max_all", lambda x: x.max(), lambda x: x.max(),
           reduction().map(lambda c: (c[0], {})), **distinct),
    OpSpec("logsumexp", lambda x, dim, keepdim: mg.logsumexp(x, dim, keepdim),
           lambda x, dim, keepdim: torch.logsumexp(x, dim, keepdim),
           reduction(allow_none=False)),
    OpSpec("softmax", lambda x, dim: mg.softmax(x, dim), lambda x, dim: torch.softmax(x, dim),
           one_dim(keepdim=False)),
    OpSpec("log_softmax", lambda x, dim: x.log_softmax(dim),
           lambda x, dim: torch.log_softmax(x, dim), one_dim(keepdim=False)),
    OpSpec("logsumexp_large_values", lambda x, dim: mg.logsumexp(x, dim),
           lambda x, dim: torch.logsumexp(x, dim), one_dim(keepdim=False),
           st.sampled_from([-800.0, -700.0, 700.0, 750.0])),
]
test_reduce_gradients_match_finite_differences, test_reduce_agrees_with_torch = spec_tests(SPECS)


# --------------------------------------------------------------------------- no gradient
few = st.sampled_from([-1.0, 0.0, 2.0])  # ties are common: argmax returns the first of them
ints = (np.float64, np.float32, np.int64)
NO_GRADIENT = [
    OpSpec("argmax", lambda x, **p: x.argmax(**p), lambda x, **p: x.argmax(**p),
           reduction(allow_tuple=False), few, dtypes=ints),
    OpSpec("argmin", lambda x, **p: mg.argmin(x, **p), lambda x, **p: torch.argmin(x, **p),
           reduction(allow_tuple=False), few, dtypes=ints),
    OpSpec("argmax_nan", lambda x, dim, keepdim: mg.argmax(x, dim, keepdim),
           lambda x, dim, keepdim: torch.argmax(x, dim, keepdim), reduction(allow_tuple=False),
           st.sampled_from([-1.0, 2.0, np.nan])),  # NaN counts as the largest, as in torch
    OpSpec("all", lambda x, **p: x.all(**p), lambda x, **p: x.all(**p), reduction(), few,
           dtypes=ints + (np.bool_,)),
    OpSpec("any", lambda x, **p: mg.any(x, **p), lambda x, **p: torch.any(x, **p), reduction(),
           st.sampled_from([0.0, 0.0, 0.5]), dtypes=ints + (np.bool_,)),
]
test_reductions_without_gradient_agree_with_torch = forward_tests(NO_GRADIENT)


# --------------------------------------------------------------------------- ties
TIED = {
    "amax": (lambda x, d: x.amax(d), lambda x, d: x.amax(d)),
    "amin": (lambda x, d: x.amin(d, keepdim=True), lambda x, d: x.amin(d, keepdim=True)),
    "max_dim": (lambda x, d: x.max(d).values, lambda x, d: x.max(d).values),
    "min_dim": (lambda x, d: x.min(d, keepdim=True).values,
                lambda x, d: x.min(d, keepdim=True).values),
    "max_all": (lambda x, d: x.max(), lambda x, d: x.max()),
}


@given(shape=shapes(1, 3, max_side=4), data=st.data(), name=st.sampled_from(sorted(TIED)))
def test_tied_extremes_share_the_gradient_as_torch_does(shape, data, name):
    # amax/amin/max() split the gradient evenly among tied elements; max(dim) sends all of it
    # to the index it returns
    x = data.draw(arrays(shape, np.float64, st.sampled_from([0.0, 1.0])))
    dim = data.draw(st.integers(-len(shape), len(shape) - 1))
    ours, theirs = mg.tensor(x, requires_grad=True), torch_from(x)
    _backward_both(TIED[name][0](ours, dim), TIED[name][1](theirs, dim))
    assert_close(ours.grad, theirs.grad)


@given(shapes2=broadcastable_shapes(2, max_dims=3), data=st.data(),
       op=st.sampled_from(["maximum", "minimum"]))
def test_tied_maximum_and_minimum_split_the_gradient_in_half_as_torch_does(shapes2, data, op):
    a, b = (data.draw(arrays(s, np.float64, st.sampled_from([0.0, 1.0]))) for s in shapes2)
    ours = [mg.tensor(a, requires_grad=True), mg.tensor(b, requires_grad=True)]
    theirs = [torch_from(a), torch_from(b)]
    _backward_both(getattr(ours[0], op)(ours[1]), getattr(torch, op)(*theirs))
    assert_close([t.grad for t in ours], [t.grad for t in theirs])


def _backward_both(out, torch_out):
    g = np.random.default_rng(1).standard_normal(out.shape)
    out.backward(mg.tensor(g))
    torch_out.backward(torch.from_numpy(g))
