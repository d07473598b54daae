"""The table-driven harness behind tests/test_ops_*.py, and tests that it catches wrong gradients.

Each op is one ``OpSpec``: the minigen call, the torch call, a strategy that draws the input
shapes and the op's parameters, and the element strategies (the op's safe domain). From a table
of specs, ``spec_tests`` makes two parametrized tests:

  gradients_match_finite_differences  gradcheck and gradgradcheck in float64, on inputs that are
                                      sometimes non-contiguous
  agrees_with_torch                   forward value and dtype, gradient and gradient of gradient
                                      (random cotangents), in float64 (1e-7) and float32 (1e-4)

Ops without a gradient (argmax, isnan, all, casts to int) use ``forward_tests``: value, dtype and
shape against torch, for inputs of each of the spec's ``dtypes``.
"""
import dataclasses
from typing import Any, Callable

import hypothesis.strategies as st
import numpy as np
import pytest
import torch
from hypothesis import given

import minigen as mg
from minigen.autograd import Function
from minigen.testing import arrays, floats, gradcheck, gradgradcheck, non_contiguous, shapes
from oracle import assert_close, numpy_dtype, torch_from


@dataclasses.dataclass(frozen=True)
class OpSpec:
    name: str
    mg: Callable            # (*mg tensors, **params) -> Tensor or tuple of Tensors
    torch: Callable         # (*torch tensors, **params) -> the same in torch
    case: Any               # strategy of (tuple of input shapes, params dict)
    elements: Any = None    # one element strategy for all inputs, or a tuple, one per input
    unique: bool = False    # distinct elements within each input (no ties)
    dtypes: tuple = (np.float64, np.float32)   # input dtypes for forward_tests

    def __repr__(self):
        return self.name

    def element_strategy(self, i):
        if isinstance(self.elements, tuple):
            return self.elements[i]
        return self.elements if self.elements is not None else floats()


# --------------------------------------------------------------------------- case strategies
def unary(min_dims=0, max_dims=3, max_side=3, **params):
    """One input of any small shape; ``params`` maps names to strategies."""
    return st.tuples(shapes(min_dims, max_dims, max_side=max_side).map(lambda s: (s,)),
                     st.fixed_dictionaries(params))


@st.composite
def dims_of(draw, ndim, allow_none=True, allow_tuple=True):
    """A ``dim=`` argument for a tensor of ``ndim`` dims: None, an int (maybe negative) or a
    tuple of distinct dims. 0-d tensors take dim 0 or -1, as in torch."""
    n = max(ndim, 1)
    options = [st.integers(-n, n - 1)]
    if allow_none:
        options.append(st.none())
    if allow_tuple and ndim >= 1:
        options.append(st.lists(st.integers(0, ndim - 1), min_size=1, max_size=ndim, unique=True)
                       .flatmap(lambda ds: st.tuples(*[st.sampled_from([d, d - ndim])
                                                       for d in ds])))
    return draw(st.one_of(*options))


@st.composite
def reduction(draw, allow_none=True, allow_tuple=True, keepdim=True, min_dims=0):
    shape = draw(shapes(min_dims, 3, max_side=3))
    params = {"dim": draw(dims_of(len(shape), allow_none, allow_tuple))}
    if keepdim:
        params["keepdim"] = draw(st.booleans())
    return (shape,), params


@st.composite
def one_dim(draw, keepdim=True, min_dims=0):
    """One input and one int ``dim`` (maybe negative), and ``keepdim`` when asked for."""
    shape = draw(shapes(min_dims, 3, max_side=3))
    params = {"dim": draw(dims_of(len(shape), allow_none=False, allow_tuple=False))}
    if keepdim:
        params["keepdim"] = draw(st.booleans())
    return (shape,), params


def broadcast(n=2, **params):
    from minigen.testing import broadcastable_shapes
    return st.tuples(broadcastable_shapes(n, max_dims=3, max_side=3),
                     st.fixed_dictionaries(params))


# --------------------------------------------------------------------------- running one case
@st.composite
def drawn_case(draw, spec, dtype=np.float64):
    """Input arrays (some non-contiguous) and params for ``spec``."""
    shape_tuple, params = draw(spec.case)
    inputs = []
    for i, shape in enumerate(shape_tuple):
        a = draw(arrays(shape, dtype, spec.element_strategy(i), unique=spec.unique))
        inputs.append(non_contiguous(a) if draw(st.booleans()) else a)
    return inputs, params


def _outputs(out):
    return tuple(out) if isinstance(out, (tuple, list)) else (out,)


def _zeros_for_none(grads, like):
    return tuple(g if g is not None else np.zeros(x.shape, dtype=_np_dtype(x.dtype))
                 for g, x in zip(grads, like))


def _np_dtype(dtype):
    return numpy_dtype(dtype) if isinstance(dtype, torch.dtype) else dtype


def _derivatives(lib, fn, xs, params, seed):
    """Outputs, J^T v and the gradient of <J^T v, u> w.r.t. the inputs, with v and u random.
    ``lib`` is minigen.autograd or torch.autograd; the two get the same v and u."""
    outs = _outputs(fn(*xs, **params))
    rng = np.random.default_rng(seed)
    make = (lambda a, like: mg.tensor(a, dtype=like.dtype)) if lib is mg.autograd \
        else (lambda a, like: torch.from_numpy(a.astype(_np_dtype(like.dtype))))
    vs = [make(rng.standard_normal(tuple(o.shape)), o) for o in outs]
    us = [make(rng.standard_normal(tuple(x.shape)), x) for x in xs]
    grads = lib.grad(outs, xs, vs, create_graph=True, allow_unused=True)
    live = [(g, u) for g, u in zip(grads, us) if g is not None and g.requires_grad]
    if live:
        second = lib.grad([g for g, _ in live], xs, [u for _, u in live], allow_unused=True)
    else:
        second = (None,) * len(xs)
    return outs, _zeros_for_none(grads, xs), _zeros_for_none(second, xs)


def check_gradients(spec, inputs, params):
    xs = [mg.Tensor(a, requires_grad=True) for a in inputs]
    fn = lambda *t: spec.mg(*t, **params)  # noqa: E731
    gradcheck(fn, xs)
    gradgradcheck(fn, xs)


def check_against_torch(spec, inputs, params, dtype):
    seed = len(inputs)
    xs = [mg.Tensor(a if a.dtype == dtype else a.astype(dtype), requires_grad=True)
          for a in inputs]
    ts = [torch_from(a.astype(dtype)) for a in inputs]
    ours = _derivatives(mg.autograd, spec.mg, xs, params, seed)
    theirs = _derivatives(torch.autograd, spec.torch, ts, params, seed)
    for o, t in zip(ours[0], theirs[0]):
        assert o.dtype == _np_dtype(t.dtype), f"output dtype {o.dtype}, torch gives {t.dtype}"
    for g, x in zip(ours[1], xs):
        assert g.dtype == x.dtype, f"gradient dtype {g.dtype} for an input of dtype {x.dtype}"
    for what, o, t in zip(("forward", "gradient", "gradient of gradient"), ours, theirs):
        assert_close(o, t, dtype, what=what)


def spec_tests(specs):
    """The two parametrized tests over a table of specs (assign them to test_* names)."""
    ids = [s.name for s in specs]

    @pytest.mark.parametrize("spec", specs, ids=ids)
    @given(data=st.data())
    def gradients_match_finite_differences(spec, data):
        check_gradients(spec, *data.draw(drawn_case(spec)))

    @pytest.mark.parametrize("spec", specs, ids=ids)
    @pytest.mark.parametrize("dtype", [np.float64, np.float32], ids=["float64", "float32"])
    @given(data=st.data())
    def agrees_with_torch(spec, dtype, data):
        check_against_torch(spec, *data.draw(drawn_case(spec)), np.dtype(dtype))

    return gradients_match_finite_differences, agrees_with_torch


def check_forward(spec, inputs, params, dtype):
    """Value, dtype and shape of the outputs against torch, for inputs cast to ``dtype``."""
    inputs = [a.astype(dtype, copy=False) for a in inputs]  # (still non-contiguous)
    ours = _outputs(spec.mg(*[mg.Tensor(a) for a in inputs], **params))
    theirs = _outputs(spec.torch(*[torch.from_numpy(a) for a in inputs], **params))
    assert len(ours) == len(theirs), f"{len(ours)} outputs, torch gives {len(theirs)}"
    for o, t in zip(ours, theirs):
        assert not o.requires_grad, "an op without a gradient gave a tensor that requires grad"
        assert o.dtype == _np_dtype(t.dtype), f"output dtype {o.dtype}, torch gives {t.dtype}"
    assert_close(ours, theirs, dtype if dtype.kind == "f" else None, what="forward")


def forward_tests(specs):
    """One parametrized test over specs of ops without a gradient, each run for every dtype in
    its ``dtypes``."""
    cases = [(s, np.dtype(d)) for s in specs for d in s.dtypes]

    @pytest.mark.parametrize("spec,dtype", cases, ids=[f"{s.name}-{d}" for s, d in cases])
    @given(data=st.data())
    def agrees_with_torch_forward(spec, dtype, data):
        check_forward(spec, *data.draw(drawn_case(spec)), dtype)

    return agrees_with_torch_forward


# --------------------------------------------------------------------------- the harness can fail
class _ExpWrongFirstOrder(Function):
    def forward(self, x):
        return np.exp(x)

    def backward(self, g):
        return g * self.inputs[0]  # wrong: d exp(x) = exp(x)


class _ExpWrongSecondOrder(Function):
    def forward(self, x):
        return np.exp(x)

    def backward(self, g):
        return g * mg.Tensor(self.output.data)  # right values, but a constant: no 2nd derivative


def _spec(op):
    return OpSpec(op.__name__, lambda x: op.apply(x), torch.exp, unary(min_dims=1))


@pytest.mark.parametrize("op", [_ExpWrongFirstOrder, _ExpWrongSecondOrder])
def test_harness_rejects_a_wrong_gradient(op):
    inputs, params = [np.array([0.3, -1.2, 2.0])], {}
    with pytest.raises(AssertionError, match="input 0"):
        check_gradients(_spec(op), inputs, params)
    with pytest.raises(AssertionError, match="gradient"):
        check_against_torch(_spec(op), inputs, params, np.dtype(np.float64))


def test_harness_accepts_a_right_gradient():
    spec = OpSpec("exp", lambda x: x.exp(), torch.exp, unary())
    check_gradients(spec, [np.array([[0.3, -1.2]])], {})
    check_against_torch(spec, [np.array([[0.3, -1.2]])], {}, np.dtype(np.float32))


@pytest.mark.parametrize("ours,message", [
    (lambda x: x.argmin(), "forward"),               # a wrong value
    (lambda x: x.argmax().to(mg.int32), "dtype"),    # the right value in the wrong dtype
])
def test_forward_check_rejects_a_wrong_value_or_dtype(ours, message):
    spec = OpSpec("argmax", ours, lambda x: x.argmax(), unary(min_dims=1))
    with pytest.raises(AssertionError, match=message):
        check_forward(spec, [np.array([0.3, -1.2, 2.0])], {}, np.dtype(np.float64))
